#include "record.h"

#include <stdlib.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zdict.h>

struct ml_codec {
	int level;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	uint32_t ids[ML_DICT_MAX_IDS];
	ZSTD_CDict *cdicts[ML_DICT_MAX_IDS];       /* at c->level, for the raw lines */
	ZSTD_CDict *cdicts_fast[ML_DICT_MAX_IDS];  /* at ML_SUMMARY_LEVEL, for the summary */
	ZSTD_DDict *ddicts[ML_DICT_MAX_IDS];
	unsigned ndicts;
	uint32_t cur;      /* index into the arrays + 1 of the dictionary in use; 0 none */
	ml_buf_t scratch;  /* plain encoding during encode/decode */
	ml_buf_t scratch2; /* the summary frame during encode */
};

int ml_codec_new(ml_codec_t **out, int level)
{
	ml_codec_t *c = calloc(1, sizeof *c);
	if (!c)
		return ML_ENOMEM;
	c->level = level;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx) {
		ml_codec_free(c);
		return ML_ENOMEM;
	}
	*out = c;
	return ML_OK;
}

void ml_codec_free(ml_codec_t *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	for (unsigned i = 0; i < c->ndicts; i++) {
		ZSTD_freeCDict(c->cdicts[i]);
		ZSTD_freeCDict(c->cdicts_fast[i]);
		ZSTD_freeDDict(c->ddicts[i]);
	}
	ml_buf_free(&c->scratch);
	ml_buf_free(&c->scratch2);
	free(c);
}

int ml_codec_add_dict(ml_codec_t *c, uint32_t id, const void *dict, size_t n)
{
	if (id == 0)
		return ML_EINVAL;
	for (unsigned i = 0; i < c->ndicts; i++)
		if (c->ids[i] == id)
			return ML_OK;
	if (c->ndicts >= ML_DICT_MAX_IDS) {
		/* full (a long-running reader across many reindexes, each of which
		 * deletes the dictionaries before it): the oldest goes */
		unsigned lo = 0;
		for (unsigned i = 1; i < c->ndicts; i++)
			if (c->ids[i] < c->ids[lo])
				lo = i;
		ZSTD_freeCDict(c->cdicts[lo]);
		ZSTD_freeCDict(c->cdicts_fast[lo]);
		ZSTD_freeDDict(c->ddicts[lo]);
		unsigned last = --c->ndicts;
		c->ids[lo] = c->ids[last];
		c->cdicts[lo] = c->cdicts[last];
		c->cdicts_fast[lo] = c->cdicts_fast[last];
		c->ddicts[lo] = c->ddicts[last];
		c->cur = 0;
		for (unsigned i = 0; i < c->ndicts; i++)
			if (!c->cur || c->ids[c->cur - 1] < c->ids[i])
				c->cur = i + 1;
	}
	ZSTD_CDict *cd = ZSTD_createCDict(dict, n, c->level);
	ZSTD_CDict *cf = ZSTD_createCDict(dict, n, ML_SUMMARY_LEVEL);
	ZSTD_DDict *dd = ZSTD_createDDict(dict, n);
	if (!cd || !cf || !dd) {
		ZSTD_freeCDict(cd);
		ZSTD_freeCDict(cf);
		ZSTD_freeDDict(dd);
		return ML_ENOMEM;
	}
	unsigned i = c->ndicts++;
	c->ids[i] = id;
	c->cdicts[i] = cd;
	c->cdicts_fast[i] = cf;
	c->ddicts[i] = dd;
	if (!c->cur || c->ids[c->cur - 1] < id)
		c->cur = i + 1;
	return ML_OK;
}

uint32_t ml_codec_dict_id(const ml_codec_t *c)
{
	return c->cur ? c->ids[c->cur - 1] : 0;
}

static int put_str(ml_buf_t *b, const ml_message_t *m, ml_str_t s)
{
	int rc = ml_buf_put_varint(b, s.len);
	if (!rc && s.len)
		rc = ml_buf_append(b, m->strs.data + s.off, s.len);
	return rc;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int ml_record_encode_parts(const ml_message_t *m, ml_buf_t *b, size_t *split)
{
	int rc = 0;
	size_t start = b->len;
	rc |= ml_buf_put_varint(b, ML_RECORD_VERSION);
	rc |= ml_buf_put_varint(b, m->flags);
	rc |= ml_buf_put_varint(b, m->direction);
	rc |= ml_buf_put_varint(b, (uint64_t)m->first_us);
	rc |= ml_buf_put_varint(b, zigzag(m->last_us - m->first_us));
	const ml_str_t *strs[] = { &m->host, &m->queue_id, &m->from, &m->message_id,
		&m->subject, &m->client_ip, &m->client_name, &m->sasl_user, &m->helo,
		&m->bounce_qid, &m->orig_qid, &m->prev_qid, &m->next_qid };
	for (size_t i = 0; i < ML_ARRAY_LEN(strs); i++)
		rc |= put_str(b, m, *strs[i]);
	rc |= ml_buf_put_varint(b, m->size);
	rc |= ml_buf_put_varint(b, m->nrcpt);
	rc |= ml_buf_put_varint(b, m->nrcpts);
	for (uint32_t i = 0; i < m->nrcpts; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		rc |= put_str(b, m, r->to);
		rc |= put_str(b, m, r->orig_to);
		rc |= put_str(b, m, r->relay);
		rc |= put_str(b, m, r->dsn);
		rc |= put_str(b, m, r->reason);
		rc |= ml_buf_put_varint(b, zigzag(r->time_us - m->first_us));
		rc |= ml_buf_put_varint(b, r->delay_ms);
		rc |= ml_buf_put_varint(b, r->status);
		rc |= ml_buf_put_varint(b, r->flags);
	}
	rc |= ml_buf_put_varint(b, m->first_seq);
	*split = b->len - start;
	rc |= ml_buf_put_varint(b, m->nlines);
	rc |= ml_buf_put_varint(b, m->raw_dropped);
	rc |= ml_buf_put_varint(b, m->raw.len);
	if (m->raw.len)
		rc |= ml_buf_append(b, m->raw.data, m->raw.len);
	/* the lines' numbers, when every line has one */
	int all = m->nlines > 0 && m->seqs;
	for (uint32_t i = 0; all && i < m->nlines; i++)
		all = m->seqs[i] != 0;
	rc |= ml_buf_put_varint(b, all ? m->nlines : 0);
	uint64_t prev = 0;
	for (uint32_t i = 0; all && i < m->nlines; i++) {
		rc |= ml_buf_put_varint(b, zigzag((int64_t)(m->seqs[i] - prev)));
		prev = m->seqs[i];
	}
	return rc ? ML_ENOMEM : ML_OK;
}

int ml_record_encode_plain(const ml_message_t *m, ml_buf_t *b)
{
	size_t split;
	return ml_record_encode_parts(m, b, &split);
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
	if (version != ML_RECORD_VERSION && version != 2)
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

int ml_record_decode_plain(const void *data, size_t n, ml_message_t *m)
{
	return decode_plain(data, n, m, 0);
}

/* Compress src into out (appending one zstd frame); fast: the summary's level. */
static int compress_into(ml_codec_t *c, const char *src, size_t n, ml_buf_t *out, int fast)
{
	size_t bound = ZSTD_compressBound(n);
	int rc = ml_buf_reserve(out, bound);
	if (rc)
		return rc;
	size_t z = c->cur ? ZSTD_compress_usingCDict(c->cctx, out->data + out->len, bound, src, n,
	                                             fast ? c->cdicts_fast[c->cur - 1] : c->cdicts[c->cur - 1])
	                  : ZSTD_compressCCtx(c->cctx, out->data + out->len, bound, src, n,
	                                      fast ? ML_SUMMARY_LEVEL : c->level);
	if (ZSTD_isError(z))
		return ML_ENOMEM;
	out->len += z;
	return ML_OK;
}

int ml_record_encode(ml_codec_t *c, const ml_message_t *m, ml_buf_t *out)
{
	ml_buf_reset(&c->scratch);
	size_t split;
	int rc = ml_record_encode_parts(m, &c->scratch, &split);
	if (rc)
		return rc;
	ml_buf_reset(out);
	/* the summary frame's length goes before it: compress it aside first */
	ml_buf_t *z = &c->scratch2;
	ml_buf_reset(z);
	rc = compress_into(c, c->scratch.data, split, z, 1);
	if (!rc) rc = ml_buf_putc(out, 0x02);
	if (!rc) rc = ml_buf_put_varint(out, ml_codec_dict_id(c));
	if (!rc) rc = ml_buf_put_varint(out, z->len);
	if (!rc) rc = ml_buf_append(out, z->data, z->len);
	if (!rc) rc = compress_into(c, c->scratch.data + split, c->scratch.len - split, out, 0);
	return rc;
}

/* Decompress one frame at p (n bytes) into out (replacing its contents). */
static int decompress_into(ml_codec_t *c, const ZSTD_DDict *dd, const unsigned char *p, size_t n,
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

static int decode(ml_codec_t *c, const void *data, size_t n, ml_message_t *m, int summary_only)
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

int ml_record_decode(ml_codec_t *c, const void *data, size_t n, ml_message_t *m)
{
	return decode(c, data, n, m, 0);
}

int ml_record_decode_summary(ml_codec_t *c, const void *data, size_t n, ml_message_t *m)
{
	return decode(c, data, n, m, 1);
}

int ml_codec_train(const void *samples, const size_t *sizes, unsigned nsamples,
                   size_t dict_cap, ml_buf_t *out)
{
	if (nsamples < 16)
		return ML_EINVAL;
	ml_buf_reset(out);
	if (ml_buf_reserve(out, dict_cap))
		return ML_ENOMEM;
	size_t n = ZDICT_trainFromBuffer(out->data, dict_cap, samples, sizes, nsamples);
	if (ZDICT_isError(n))
		return ML_EINVAL;
	out->len = n;
	return ML_OK;
}
