#include "message.h"

#include <stdlib.h>

static const char *const status_names[ML_ST__COUNT] = {
	[ML_ST_NONE] = "",
	[ML_ST_DELIVERED] = "delivered",
	[ML_ST_DELAYED] = "delayed",
	[ML_ST_BOUNCED] = "bounced",
	[ML_ST_EXPIRED] = "expired",
	[ML_ST_QUEUED] = "queued",
	[ML_ST_QUARANTINED] = "quarantined",
	[ML_ST_BLOCKED] = "blocked",
};

const char *ml_status_name(ml_status_t st)
{
	return (unsigned)st < ML_ST__COUNT ? status_names[st] : "";
}

ml_status_t ml_status_parse(const char *name, size_t n)
{
	for (int i = 1; i < ML_ST__COUNT; i++)
		if (strlen(status_names[i]) == n && memcmp(status_names[i], name, n) == 0)
			return (ml_status_t)i;
	return ML_ST_NONE;
}

const char *ml_direction_name(ml_direction_t d)
{
	switch (d) {
	case ML_DIR_INBOUND: return "inbound";
	case ML_DIR_OUTBOUND: return "outbound";
	case ML_DIR_INTERNAL: return "internal";
	default: return "";
	}
}

void ml_message_init(ml_message_t *m)
{
	memset(m, 0, sizeof *m);
}

void ml_message_reset(ml_message_t *m)
{
	ml_rcpt_t *r = m->rcpts;
	uint32_t cap = m->rcpts_cap;
	ml_buf_t s = m->strs, raw = m->raw;
	uint64_t *seqs = m->seqs;
	uint32_t seqs_cap = m->seqs_cap;
	memset(m, 0, sizeof *m);
	m->rcpts = r;
	m->rcpts_cap = cap;
	m->seqs = seqs;
	m->seqs_cap = seqs_cap;
	m->strs = s;
	m->raw = raw;
	m->strs.len = 0;
	m->raw.len = 0;
}

void ml_message_free(ml_message_t *m)
{
	free(m->rcpts);
	free(m->seqs);
	ml_buf_free(&m->strs);
	ml_buf_free(&m->raw);
	memset(m, 0, sizeof *m);
}

/* A malloc'd copy of n elements of size sz at p (NULL when n is 0). */
static int dup_array(void **out, const void *p, size_t n, size_t sz)
{
	*out = NULL;
	if (!n || !p)
		return ML_OK;
	if (!(*out = malloc(n * sz)))
		return ML_ENOMEM;
	memcpy(*out, p, n * sz);
	return ML_OK;
}

static int copy(ml_message_t *dst, const ml_message_t *src, int lines)
{
	ml_message_t c = *src;
	c.strs = (ml_buf_t)ML_BUF_INIT;
	c.raw = (ml_buf_t)ML_BUF_INIT;
	c.rcpts_cap = src->nrcpts;
	c.seqs_cap = lines && src->seqs ? src->nlines : 0;
	if (!lines) {
		c.raw_base += src->nlines;
		c.raw_base_bytes += (uint32_t)src->raw.len;
		c.nlines = 0;
	}
	int rc = dup_array((void **)&c.rcpts, src->rcpts, src->nrcpts, sizeof *c.rcpts);
	c.seqs = NULL;
	if (!rc)
		rc = dup_array((void **)&c.seqs, src->seqs, c.seqs_cap, sizeof *c.seqs);
	if (!rc && src->strs.len)
		rc = ml_buf_append(&c.strs, src->strs.data, src->strs.len);
	if (!rc && lines && src->raw.len)
		rc = ml_buf_append(&c.raw, src->raw.data, src->raw.len);
	if (rc) {
		ml_message_free(&c);
		return rc;
	}
	ml_message_free(dst);
	*dst = c;
	return ML_OK;
}

int ml_message_copy(ml_message_t *dst, const ml_message_t *src)
{
	return copy(dst, src, 1);
}

int ml_message_copy_row(ml_message_t *dst, const ml_message_t *src)
{
	return copy(dst, src, 0);
}

void ml_message_drop_lines(ml_message_t *m)
{
	m->raw_base += m->nlines;
	m->raw_base_bytes += (uint32_t)m->raw.len;
	m->nlines = 0;
	ml_buf_free(&m->raw);
	free(m->seqs);
	m->seqs = NULL;
	m->seqs_cap = 0;
}

int ml_message_set(ml_message_t *m, ml_str_t *field, const char *p, size_t n)
{
	if (n > UINT32_MAX)
		return ML_ETOOBIG;
	/* Same bytes as now: nothing to store. */
	if (field->len == n && n && memcmp(m->strs.data + field->off, p, n) == 0)
		return ML_OK;
	if (n == 0) {
		field->off = field->len = 0;
		return ML_OK;
	}
	size_t off = m->strs.len;
	int rc = ml_buf_append(&m->strs, p, n);
	if (rc)
		return rc;
	field->off = (uint32_t)off;
	field->len = (uint32_t)n;
	return ML_OK;
}

int ml_message_add_line(ml_message_t *m, const char *p, size_t n, uint64_t seq)
{
	if ((size_t)m->raw_base_bytes + m->raw.len + n + 1 > ML_MSG_RAW_MAX) {
		m->raw_dropped++;
		return ML_ETOOBIG;
	}
	int rc = ml_buf_reserve(&m->raw, n + 1);
	if (!rc && m->nlines >= m->seqs_cap) {
		size_t cap = m->seqs_cap;
		rc = ml_array_grow((void **)&m->seqs, &cap, sizeof *m->seqs, (size_t)m->nlines + 1, 16);
		m->seqs_cap = (uint32_t)cap;
	}
	if (rc)
		return rc;
	m->seqs[m->nlines] = seq;
	if (seq && (!m->first_seq || seq < m->first_seq))
		m->first_seq = seq;
	memcpy(m->raw.data + m->raw.len, p, n);
	m->raw.len += n;
	m->raw.data[m->raw.len++] = '\n';
	m->nlines++;
	return ML_OK;
}

int ml_message_add_rcpt(ml_message_t *m)
{
	if (m->nrcpts >= ML_MSG_RCPT_MAX)
		return ML_ETOOBIG;
	if (m->nrcpts == m->rcpts_cap) {
		uint32_t cap = m->rcpts_cap ? m->rcpts_cap * 2 : 4;
		ml_rcpt_t *r = realloc(m->rcpts, cap * sizeof *r);
		if (!r)
			return ML_ENOMEM;
		m->rcpts = r;
		m->rcpts_cap = cap;
	}
	memset(&m->rcpts[m->nrcpts], 0, sizeof m->rcpts[0]);
	return (int)m->nrcpts++;
}

static int str_ieq(const ml_message_t *m, ml_str_t s, ml_slice_t v)
{
	return s.len == v.n && ml_memieq(ml_message_str(m, s).p, v.p, v.n);
}

int ml_message_find_rcpt(const ml_message_t *m, ml_slice_t to, ml_slice_t orig_to)
{
	for (uint32_t i = 0; i < m->nrcpts; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		if (str_ieq(m, r->to, to) && str_ieq(m, r->orig_to, orig_to))
			return (int)i;
	}
	return -1;
}

int ml_message_handed_on(const ml_message_t *m)
{
	for (uint32_t i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].flags & ML_RCPT_HANDED_ON)
			return 1;
	return 0;
}

ml_status_t ml_message_row_status(const ml_message_t *m, const ml_rcpt_t *r)
{
	if (r && r->status)
		return (ml_status_t)r->status;
	if ((m->flags & ML_MSG_HELD) && !(m->flags & ML_MSG_RELEASED))
		return ML_ST_QUARANTINED;
	if (m->flags & ML_MSG_REJECTED)
		return ML_ST_BLOCKED;
	if (m->flags & ML_MSG_EXPIRED)
		return ML_ST_EXPIRED;
	return ML_ST_QUEUED;
}
