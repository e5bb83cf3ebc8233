#include "legacy.h"

#include <stdlib.h>
#include <zstd.h>

struct ml_legacy_codec {
	ZSTD_DCtx *dctx;
	uint32_t ids[ML_LEGACY_DICTS];
	ZSTD_DDict *ddicts[ML_LEGACY_DICTS];
	unsigned ndicts;
	ml_buf_t scratch;  /* the raw frame during decode */
};

int ml_legacy_codec_new(ml_legacy_codec_t **out)
{
	ml_legacy_codec_t *c = calloc(1, sizeof *c);
	if (!c)
		return ML_ENOMEM;
	c->dctx = ZSTD_createDCtx();
	if (!c->dctx) {
		ml_legacy_codec_free(c);
		return ML_ENOMEM;
	}
	*out = c;
	return ML_OK;
}

void ml_legacy_codec_free(ml_legacy_codec_t *c)
{
	if (!c)
		return;
	ZSTD_freeDCtx(c->dctx);
	for (unsigned i = 0; i < c->ndicts; i++)
		ZSTD_freeDDict(c->ddicts[i]);
	ml_buf_free(&c->scratch);
	free(c);
}

int ml_legacy_codec_add_dict(ml_legacy_codec_t *c, uint32_t id, const void *dict, size_t n)
{
	if (id == 0 || c->ndicts >= ML_LEGACY_DICTS)
		return ML_EINVAL;
	ZSTD_DDict *dd = ZSTD_createDDict(dict, n);
	if (!dd)
		return ML_ENOMEM;
	c->ids[c->ndicts] = id;
	c->ddicts[c->ndicts++] = dd;
	return ML_OK;
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

typedef struct {
	const unsigned char *base, *p, *end;
	int err;
} rd_t;

static uint64_t rd_u(rd_t *r)
{
	uint64_t v = 0;
	if (!r->err && ml_get_varint(&r->p, r->end, &v))
		r->err = ML_CORRUPT_BKPT;
	return v;
}

/* A string field: an offset into the buffer being parsed (no copy). */
static void rd_str(rd_t *r, ml_str_t *s)
{
	uint64_t n = rd_u(r);
	if (r->err)
		return;
	if (n > (uint64_t)(r->end - r->p)) {
		r->err = ML_CORRUPT_BKPT;
		return;
	}
	s->off = (uint32_t)(r->p - r->base);
	s->len = (uint32_t)n;
	r->p += n;
}

/*
 * Parse the summary at the start of m->strs (len bytes of it) in place: the
 * string fields become offsets into m->strs, so decoding copies nothing.
 * *used gets the summary's length.
 */
static int parse_summary(ml_message_t *m, size_t len, size_t *used)
{
	const unsigned char *base = (const unsigned char *)m->strs.data;
	rd_t r = { base, base, base + len, 0 };
	uint64_t version = rd_u(&r);
	if (version != 3 && version != 2)
		return r.err ? r.err : ML_CORRUPT_BKPT;
	m->flags = (uint32_t)rd_u(&r);
	m->direction = (uint8_t)rd_u(&r);
	m->first_us = (int64_t)rd_u(&r);
	m->last_us = m->first_us + unzigzag(rd_u(&r));
	ml_str_t *strs[] = { &m->host, &m->queue_id, &m->from, &m->message_id,
		&m->subject, &m->client_ip, &m->client_name, &m->sasl_user, &m->helo,
		&m->bounce_qid, &m->orig_qid, &m->prev_qid, &m->next_qid };
	for (size_t i = 0; i < ML_ARRAY_LEN(strs); i++)
		rd_str(&r, strs[i]);
	m->size = rd_u(&r);
	m->nrcpt = (uint32_t)rd_u(&r);
	uint64_t nr = rd_u(&r);
	if (r.err)
		return r.err;
	if (nr > ML_MSG_RCPT_MAX || nr > (uint64_t)(r.end - r.p))
		return ML_CORRUPT_BKPT;
	for (uint64_t i = 0; i < nr && !r.err; i++) {
		int k = ml_message_add_rcpt(m);
		if (k < 0)
			return k;
		ml_rcpt_t *rc = &m->rcpts[k];
		rd_str(&r, &rc->to);
		rd_str(&r, &rc->orig_to);
		rd_str(&r, &rc->relay);
		rd_str(&r, &rc->dsn);
		rd_str(&r, &rc->reason);
		rc->time_us = m->first_us + unzigzag(rd_u(&r));
		rc->delay_ms = (uint32_t)rd_u(&r);
		uint64_t st = rd_u(&r);
		if (st >= ML_ST__COUNT)
			r.err = ML_CORRUPT_BKPT;
		rc->status = (uint8_t)st;
		rc->flags = (uint8_t)rd_u(&r);
	}
	m->first_seq = version >= 3 ? rd_u(&r) : 0;
	*used = (size_t)(r.p - base);
	return r.err;
}

/* Parse the raw part (data, n bytes) into m->raw and the line counts. */
static int parse_raw(ml_message_t *m, const void *data, size_t n)
{
	const unsigned char *p = data;
	rd_t r = { p, p, p + n, 0 };
	m->nlines = (uint32_t)rd_u(&r);
	m->raw_dropped = (uint32_t)rd_u(&r);
	uint64_t rl = rd_u(&r);
	if (r.err)
		return r.err;
	if (rl > (uint64_t)(r.end - r.p))
		return ML_CORRUPT_BKPT;
	ml_buf_reset(&m->raw);
	if (rl && ml_buf_append(&m->raw, r.p, (size_t)rl))
		return ML_ENOMEM;
	r.p += rl;
	/* version 3: each line's number in the stream, zigzag deltas */
	uint64_t ns = r.p < r.end ? rd_u(&r) : 0;
	if (ns && ns != m->nlines)
		return ML_CORRUPT_BKPT;
	if (ns > m->seqs_cap) {
		size_t cap = m->seqs_cap;
		if (ml_array_grow((void **)&m->seqs, &cap, sizeof *m->seqs, (size_t)ns, 16))
			return ML_ENOMEM;
		m->seqs_cap = (uint32_t)cap;
	}
	uint64_t prev = 0;
	for (uint64_t i = 0; i < ns && !r.err; i++) {
		prev += (uint64_t)unzigzag(rd_u(&r));
		m->seqs[i] = prev;
	}
	if (r.err)
		return r.err;
	for (uint64_t i = ns; i < m->nlines && i < m->seqs_cap; i++)
		m->seqs[i] = 0;
	return r.p == r.end ? ML_OK : ML_CORRUPT_BKPT;
}

static int decode_plain(const void *data, size_t n, ml_message_t *m, int summary_only)
{
	ml_message_reset(m);
	if (ml_buf_append(&m->strs, data, n))
		return ML_ENOMEM;
	size_t used;
	int rc = parse_summary(m, n, &used);
	if (rc)
		return rc;
	m->strs.len = used;
	if (summary_only)
		return used == n ? ML_OK : ML_CORRUPT_BKPT;
	return parse_raw(m, (const char *)data + used, n - used);
}

/* Decompress one frame at p (n bytes) into out (replacing its contents). */
static int decompress_into(ml_legacy_codec_t *c, const ZSTD_DDict *dd, const unsigned char *p, size_t n,
                           ml_buf_t *out)
{
	unsigned long long sz = ZSTD_getFrameContentSize(p, n);
	if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz > ML_BUF_MAX)
		return ML_CORRUPT_BKPT;
	ml_buf_reset(out);
	if (ml_buf_reserve(out, (size_t)sz))
		return ML_ENOMEM;
	size_t got = dd ? ZSTD_decompress_usingDDict(c->dctx, out->data, (size_t)sz, p, n, dd)
	                : ZSTD_decompressDCtx(c->dctx, out->data, (size_t)sz, p, n);
	if (ZSTD_isError(got) || got != sz)
		return ML_CORRUPT_BKPT;
	out->len = got;
	return ML_OK;
}

static int decode(ml_legacy_codec_t *c, const void *data, size_t n, ml_message_t *m, int summary_only)
{
	const unsigned char *p = data, *end = p + n;
	if (n < 1)
		return ML_CORRUPT_BKPT;
	if (p[0] == 0x00)
		return decode_plain(p + 1, n - 1, m, summary_only);
	if (p[0] != 0x02)
		return ML_CORRUPT_BKPT;
	p++;
	uint64_t id, zlen;
	if (ml_get_varint(&p, end, &id) || ml_get_varint(&p, end, &zlen) || zlen > (uint64_t)(end - p))
		return ML_CORRUPT_BKPT;
	const ZSTD_DDict *dd = NULL;
	if (id) {
		for (unsigned i = 0; i < c->ndicts; i++)
			if (c->ids[i] == id)
				dd = c->ddicts[i];
		if (!dd)
			return ML_ENOTFOUND;
	}
	ml_message_reset(m);
	/* the summary straight into the message's string buffer: fields point into it */
	int rc = decompress_into(c, dd, p, (size_t)zlen, &m->strs);
	size_t used;
	if (!rc)
		rc = parse_summary(m, m->strs.len, &used);
	if (!rc && used != m->strs.len)
		rc = ML_CORRUPT_BKPT;
	if (rc || summary_only)
		return rc;
	rc = decompress_into(c, dd, p + zlen, (size_t)(end - p - zlen), &c->scratch);
	if (!rc)
		rc = parse_raw(m, c->scratch.data, c->scratch.len);
	return rc;
}

int ml_legacy_decode(ml_legacy_codec_t *c, const void *data, size_t n, ml_message_t *m)
{
	return decode(c, data, n, m, 0);
}


