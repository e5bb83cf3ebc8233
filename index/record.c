#include "record.h"

#include <stdlib.h>
#include <xxhash.h>
#include <zstd.h>
#include <zdict.h>

#include "index/store.h"
#include "index/tokens.h"

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* a + b wrapping (stored bytes may be anything; a time read from them must
 * not be undefined) */
static int64_t add_us(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t sub_us(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

/* ---- packed text: runs of hex digits two to a byte ---- */

static int hexval(unsigned char c, int upper)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (!upper && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (upper && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the run of hex digits of one case at p (at most max). */
static size_t hexrun(const unsigned char *p, size_t n, int upper, size_t max)
{
	size_t i = 0;
	while (i < n && i < max && hexval(p[i], upper) >= 0)
		i++;
	return i;
}

static int is_uuid(const unsigned char *p, size_t n, int upper)
{
	static const unsigned char groups[] = { 8, 4, 4, 4, 12 };
	if (n < 36)
		return 0;
	for (size_t g = 0, i = 0; g < 5; g++) {
		if (hexrun(p + i, 36 - i, upper, groups[g]) != groups[g])
			return 0;
		i += groups[g];
		if (g < 4 && p[i++] != '-')
			return 0;
	}
	return 1;
}

static int put_nibbles(ml_buf_t *out, const unsigned char *p, size_t n, int upper)
{
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(p[i], upper), lo = i + 1 < n ? hexval(p[i + 1], upper) : 0;
		if (ml_buf_putc(out, hi << 4 | lo))
			return ML_ENOMEM;
	}
	return ML_OK;
}

/* Append the packed form of p[0..n) to out. */
static int pack_text(ml_buf_t *out, const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t lit = 0, i = 0;
	int rc = 0;
	while (i < n && !rc) {
		int upper = -1, uuid = 0;
		size_t run = 0;
		if (p[i] == 0) {
			upper = 2;
		} else if (hexval(p[i], 0) >= 0 || hexval(p[i], 1) >= 0) {
			if (is_uuid(p + i, n - i, 0))
				upper = 0, run = 36, uuid = 1;
			else if (is_uuid(p + i, n - i, 1))
				upper = 1, run = 36, uuid = 1;
			else {
				size_t lo = hexrun(p + i, n - i, 0, 63), up = hexrun(p + i, n - i, 1, 63);
				upper = up > lo;
				run = up > lo ? up : lo;
				if (run < 8) {
					/* too short: past it (a run starts after a non-digit) */
					i += run > 1 ? run : 1;
					continue;
				}
			}
		}
		if (upper < 0) {
			i++;
			continue;
		}
		rc = ml_buf_append(out, p + lit, i - lit);
		if (rc)
			break;
		if (upper == 2) {
			rc = ml_buf_append(out, "\0\0", 2);
			i++;
		} else if (uuid) {
			unsigned char digits[32], hdr[2] = { 0, (unsigned char)(128 + upper) };
			for (size_t j = 0, d = 0; j < 36; j++)
				if (p[i + j] != '-')
					digits[d++] = p[i + j];
			rc = ml_buf_append(out, hdr, 2);
			if (!rc)
				rc = put_nibbles(out, digits, 32, upper);
			i += 36;
		} else {
			unsigned char hdr[2] = { 0, (unsigned char)(run + (upper ? 64 : 0)) };
			rc = ml_buf_append(out, hdr, 2);
			if (!rc)
				rc = put_nibbles(out, p + i, run, upper);
			i += run;
		}
		lit = i;
	}
	if (!rc)
		rc = ml_buf_append(out, p + lit, n - lit);
	return rc;
}

/* Append the text of packed p[0..n) to out (room for it reserved here). */
static int unpack_text(ml_buf_t *out, const unsigned char *p, size_t n)
{
	static const char lower[] = "0123456789abcdef", upperd[] = "0123456789ABCDEF";
	if (ml_buf_reserve(out, 2 * n + 40))
		return ML_ENOMEM;
	const unsigned char *end = p + n;
	char *o = out->data + out->len;
	while (p < end) {
		/* short texts: a plain loop beats a call; eight bytes at a time
		 * while none of them is 0 (out has room: 2n + 40) */
		const unsigned char *z = p;
		while (end - z >= 8) {
			uint64_t v;
			memcpy(&v, z, 8);
			if ((v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull)
				break;
			memcpy(o, &v, 8);
			o += 8;
			z += 8;
		}
		while (z < end && *z)
			*o++ = (char)*z++;
		if (z == end)
			break;
		if (z + 1 >= end)
			return ML_CORRUPT_BKPT;
		unsigned t = z[1];
		p = z + 2;
		if (t == 0) {
			*o++ = 0;
			continue;
		}
		int up = t == 129 || (t >= 64 && t < 128);
		const char *dig = up ? upperd : lower;
		size_t nd = t >= 128 ? 32 : t & 63;
		if (t > 129 || nd == 0 || (size_t)(end - p) < (nd + 1) / 2)
			return ML_CORRUPT_BKPT;
		/* two digits a byte; a UUID's dashes after its bytes 4, 6, 8 and 10 */
		for (size_t j = 0; j < nd / 2; j++) {
			if (t >= 128 && (j == 4 || j == 6 || j == 8 || j == 10))
				*o++ = '-';
			unsigned b = p[j];
			o[0] = dig[b >> 4];
			o[1] = dig[b & 15];
			o += 2;
		}
		if (nd & 1)
			*o++ = dig[p[nd / 2] >> 4];
		p += (nd + 1) / 2;
	}
	out->len = (size_t)(o - out->data);
	return ML_OK;
}

/* ---- row records: writing ---- */

typedef struct {
	ml_buf_t *b;
	const ml_strtab_t *t;
	ml_buf_t pk;       /* packed text, before its length goes out */
	int rc;
} wr_t;

static void wr_u(wr_t *w, uint64_t v)
{
	if (!w->rc)
		w->rc = ml_buf_put_varint(w->b, v);
}


/* Packed text with its length: as a spelled str (tag 2) or a bare length
 * (tag 0).  Packed in place after room for the length, then moved up. */
static void wr_packed(wr_t *w, const char *p, size_t n, int spelled)
{
	if (w->rc)
		return;
	ml_buf_t *b = w->b;
	size_t at = b->len;
	if ((w->rc = ml_buf_reserve(b, n + n / 8 + 32)) != 0)
		return;
	b->len = at + 10;
	if ((w->rc = pack_text(b, p, n)) != 0)
		return;
	size_t pn = b->len - at - 10;
	unsigned char hdr[10];
	uint64_t v = spelled ? (uint64_t)pn << 2 | 2 : pn;
	size_t hn = 0;
	while (v >= 0x80) {
		hdr[hn++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	hdr[hn++] = (unsigned char)v;
	memcpy(b->data + at, hdr, hn);
	memmove(b->data + at + hn, b->data + at + 10, pn);
	b->len = at + hn + pn;
}

static void wr_spelled(wr_t *w, const char *p, size_t n)
{
	wr_packed(w, p, n, 1);
}

/* A string of class cls (-1: none). */
static void wr_str(wr_t *w, int cls, const char *p, size_t n)
{
	uint32_t code;
	if (n == 0) {
		wr_u(w, 0);
		return;
	}
	if (cls < 0 || !w->t) {
		wr_spelled(w, p, n);
		return;
	}
	if (cls != ML_SC_MSGDOM && ml_strtab_find(w->t, cls, p, n, &code)) {
		wr_u(w, (uint64_t)code << 1 | 1);
		return;
	}
	if (cls == ML_SC_ADDR || cls == ML_SC_MSGDOM) {
		const char *at = memrchr(p, '@', n);
		int dom = cls == ML_SC_ADDR ? ML_SC_DOMAIN : ML_SC_MSGDOM;
		if (at && ml_strtab_find(w->t, dom, at + 1, (size_t)(p + n - at - 1), &code)) {
			wr_u(w, ((uint64_t)code + 1) << 2);
			wr_packed(w, p, (size_t)(at - p), 0);
			return;
		}
	} else if (cls == ML_SC_REPLY) {
		/* the longest beginning in the table that ends before a space */
		for (size_t j = n - 1; j > 0; j--)
			if (p[j] == ' ' && ml_strtab_find(w->t, ML_SC_REPLY, p, j, &code)) {
				wr_u(w, ((uint64_t)code + 1) << 2);
				wr_packed(w, p + j, n - j, 0);
				return;
			}
	}
	wr_spelled(w, p, n);
}

static void wr_field(wr_t *w, int cls, const ml_message_t *m, ml_str_t s)
{
	ml_slice_t v = ml_message_str(m, s);
	wr_str(w, cls, v.p, v.n);
}

/* The string fields of a message in stored order, with their classes. */
#define MSG_FIELDS(m) { \
	{ &(m)->host, ML_SC_HOST }, { &(m)->queue_id, -1 }, { &(m)->from, ML_SC_ADDR }, \
	{ &(m)->message_id, ML_SC_MSGDOM }, { &(m)->subject, ML_SC_SUBJECT }, { &(m)->client_ip, ML_SC_IP }, \
	{ &(m)->client_name, ML_SC_NAME }, { &(m)->sasl_user, ML_SC_ADDR }, { &(m)->helo, ML_SC_NAME }, \
	{ &(m)->bounce_qid, -1 }, { &(m)->orig_qid, -1 }, { &(m)->prev_qid, -1 }, { &(m)->next_qid, -1 } }

int ml_row_encode(const ml_strtab_t *t, const ml_message_t *m, ml_buf_t *out)
{
	wr_t w = { out, t && t->gen ? t : NULL, ML_BUF_INIT, 0 };
	char stack[1024];
	ml_buf_t mask = { stack, 0, sizeof stack };   /* replaced by a heap one past it */
	int heap = 0;
	ml_buf_reset(out);
	wr_u(&w, ML_ROW_FORMAT);
	wr_u(&w, w.t ? w.t->gen : 0);
	wr_u(&w, m->flags & ~(uint32_t)ML_MSG_REPORTED);   /* a read-time mark, never stored */
	wr_u(&w, m->direction);
	int64_t sec_us = (int64_t)ml_docid_sec(m->docid) * 1000000;
	wr_u(&w, zigzag(sub_us(m->first_us, sec_us)));
	wr_u(&w, zigzag(sub_us(m->last_us, m->first_us)));
	struct { const ml_str_t *s; int cls; } f[] = MSG_FIELDS(m);
	for (size_t i = 0; i < ML_ARRAY_LEN(f); i++)
		wr_field(&w, f[i].cls, m, *f[i].s);
	wr_u(&w, m->size);
	wr_u(&w, m->nrcpt);
	wr_u(&w, m->nrcpts);
	for (uint32_t i = 0; i < m->nrcpts && !w.rc; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		wr_field(&w, ML_SC_ADDR, m, r->to);
		wr_field(&w, ML_SC_ADDR, m, r->orig_to);
		wr_field(&w, ML_SC_RELAY, m, r->relay);
		wr_field(&w, ML_SC_DSN, m, r->dsn);
		ml_buf_reset(&mask);
		/* the masked reply is at most twice the reply: past the stack
		 * buffer, a heap one (a stack one must never be realloc'd) */
		if (mask.data == stack && 2 * (size_t)r->reason.len > sizeof stack)
			mask = (ml_buf_t)ML_BUF_INIT;
		if (!w.rc)
			w.rc = ml_strtab_reply_mask(m, r, &mask);
		if (!w.rc)
			wr_str(&w, ML_SC_REPLY, mask.data, mask.len);
		wr_u(&w, zigzag(sub_us(r->time_us, m->first_us)));
		wr_u(&w, r->delay_ms);
		wr_u(&w, r->status);
		wr_u(&w, r->flags);
	}
	wr_u(&w, m->first_seq);
	heap = mask.data != stack;
	if (heap)
		ml_buf_free(&mask);
	ml_buf_free(&w.pk);
	return w.rc;
}

int ml_row_locate(ml_buf_t *row, uint64_t docid, uint64_t raw_key)
{
	(void)docid;
	return ml_buf_put_varint(row, raw_key);
}

int ml_row_relocate(ml_buf_t *row, uint64_t docid, uint64_t raw_key)
{
	if (!row->len || row->data[row->len - 1] != 0)
		return ML_CORRUPT_BKPT;
	row->len--;
	return ml_row_locate(row, docid, raw_key);
}

/* ---- row records: reading ---- */

typedef struct {
	const unsigned char *p, *end;
	const ml_strtab_t *t;
	ml_message_t *m;
	int err;
} rd_t;

static inline uint64_t rd_u(rd_t *r)
{
	if (r->p < r->end && *r->p < 0x80)
		return *r->p++;
	if (r->end - r->p >= 2 && r->p[1] < 0x80) {
		uint64_t v = (uint64_t)(r->p[0] & 0x7f) | (uint64_t)r->p[1] << 7;
		r->p += 2;
		return v;
	}
	uint64_t v = 0;
	if (ml_get_varint_slow(&r->p, r->end, &v) && !r->err)
		r->err = ML_CORRUPT_BKPT;
	return v;
}

/* Append n bytes to the message's strings; the field gets them. */
static inline void rd_put(rd_t *r, ml_str_t *s, const char *p, size_t n)
{
	ml_buf_t *b = &r->m->strs;
	if (b->cap - b->len < n && ml_buf_reserve(b, n)) {
		r->err = ML_ENOMEM;
		return;
	}
	memcpy(b->data + b->len, p, n);
	s->off = (uint32_t)b->len;
	s->len = (uint32_t)n;
	b->len += n;
}

static inline const char *rd_take(rd_t *r, uint64_t n)
{
	if (n > (uint64_t)(r->end - r->p)) {
		if (!r->err)
			r->err = ML_CORRUPT_BKPT;
		return NULL;
	}
	const char *p = (const char *)r->p;
	r->p += n;
	return p;
}

static inline void rd_entry(rd_t *r, int cls, uint64_t code, ml_slice_t *v)
{
	if (!r->t || cls < 0 || code > UINT32_MAX || ml_strtab_get(r->t, cls, (uint32_t)code, v)) {
		if (!r->err)
			r->err = ML_CORRUPT_BKPT;
		*v = ML_SLICE_NULL;
	}
}

/* A string of class cls into field s; for a reply, the masked text (the
 * caller unmasks it). */
static inline void rd_str(rd_t *r, int cls, ml_str_t *s)
{
	uint64_t v = rd_u(r);
	s->off = s->len = 0;
	if (v == 0 || r->err)
		return;
	if ((v & 3) == 2) {
		uint64_t n = v >> 2;
		const char *p = rd_take(r, n);
		if (!p)
			return;
		ml_buf_t *b = &r->m->strs;
		s->off = (uint32_t)b->len;
		int rc = unpack_text(b, (const unsigned char *)p, (size_t)n);
		if (rc)
			r->err = rc;
		s->len = (uint32_t)(b->len - s->off);
		return;
	}
	ml_slice_t e = ML_SLICE_NULL;
	if (v & 1) {
		rd_entry(r, cls, v >> 1, &e);
		if (!r->err)
			rd_put(r, s, e.p, e.n);
		return;
	}
	/* composed */
	uint64_t code = (v >> 2) - 1, n = rd_u(r);
	const char *p = rd_take(r, n);
	if (cls == ML_SC_ADDR)
		rd_entry(r, ML_SC_DOMAIN, code, &e);
	else if (cls == ML_SC_MSGDOM || cls == ML_SC_REPLY)
		rd_entry(r, cls, code, &e);
	else if (!r->err)
		r->err = ML_CORRUPT_BKPT;
	if (r->err)
		return;
	ml_buf_t *b = &r->m->strs;
	s->off = (uint32_t)b->len;
	int rc = 0;
	if (cls == ML_SC_REPLY) {
		rc = ml_buf_append(b, e.p, e.n);
		if (!rc)
			rc = unpack_text(b, (const unsigned char *)p, (size_t)n);
	} else {
		rc = unpack_text(b, (const unsigned char *)p, (size_t)n);
		if (!rc)
			rc = ml_buf_putc(b, '@');
		if (!rc)
			rc = ml_buf_append(b, e.p, e.n);
	}
	if (rc)
		r->err = rc;
	s->len = (uint32_t)(b->len - s->off);
}

/* Past a string (as rd_str reads it) without reading it: s empty. */
static inline void rd_skip(rd_t *r, ml_str_t *s)
{
	uint64_t v = rd_u(r);
	s->off = s->len = 0;
	if (v == 0 || r->err || (v & 3) == 1 || (v & 3) == 3)
		return;   /* none, or an entry of the table */
	rd_take(r, (v & 3) == 2 ? v >> 2 : rd_u(r));
}

/* Past an address (as rd_str reads it): 1 when its domain, what follows
 * its last '@', is d (n bytes, no '@'), without case; 0 when not (or none).
 * A composed address is compared by its domain's entry alone; an address
 * spelled out is unpacked at the end of the message's strings, then taken
 * back. */
static int rd_in_domain(rd_t *r, const char *d, size_t n)
{
	uint64_t v = rd_u(r);
	if (v == 0 || r->err)
		return 0;
	ml_slice_t a = ML_SLICE_NULL;
	if ((v & 3) == 2) {
		const char *p = rd_take(r, v >> 2);
		ml_buf_t *b = &r->m->strs;
		size_t len = b->len;
		if (!p || unpack_text(b, (const unsigned char *)p, (size_t)(v >> 2)))
			return 0;
		int in = ml_addr_in_domain(ml_slice(b->data + len, b->len - len), d, n);
		b->len = len;
		return in;
	}
	if (v & 1) {
		rd_entry(r, ML_SC_ADDR, v >> 1, &a);
		return !r->err && ml_addr_in_domain(a, d, n);
	}
	uint64_t code = (v >> 2) - 1, ln = rd_u(r);
	rd_take(r, ln);
	rd_entry(r, ML_SC_DOMAIN, code, &a);
	return !r->err && a.n == n && !strncasecmp(a.p, d, n) && !memchr(a.p, '@', n);
}

/* Put back the recipient a reply was masked with (only when masked). */
static void rd_unmask(rd_t *r, ml_rcpt_t *row)
{
	ml_message_t *m = r->m;
	if (r->err || !row->reason.len)
		return;
	if (!memchr(m->strs.data + row->reason.off, 1, row->reason.len))
		return;
	/* the unmasked text goes to the end of strs (room made first, so that the
	 * masked one, which stays unused, does not move) */
	size_t esc = 0;
	for (const char *q = m->strs.data + row->reason.off, *e = q + row->reason.len;
	     (q = memchr(q, 1, (size_t)(e - q))) != NULL; q++)
		esc++;
	if (ml_buf_reserve(&m->strs, row->reason.len + esc * row->to.len + 1)) {
		r->err = ML_ENOMEM;
		return;
	}
	size_t off = m->strs.len;
	int rc = ml_strtab_reply_unmask(m->strs.data + row->reason.off, row->reason.len,
	                                ml_message_str(m, row->to), &m->strs);
	if (rc) {
		r->err = rc;
	} else {
		row->reason.off = (uint32_t)off;
		row->reason.len = (uint32_t)(m->strs.len - off);
	}
}

int ml_row_decode(const ml_strtab_t *t, const void *data, size_t n, uint64_t docid, ml_message_t *m)
{
	return ml_row_decode_some(t, data, n, docid, m, ML_DEC_ALL, NULL);
}

int ml_row_decode_some(const ml_strtab_t *t, const void *data, size_t n, uint64_t docid, ml_message_t *m,
                       uint32_t keep, const ml_row_filter_t *f)
{
	if (keep & ML_DEC_RCPT_TEXT)
		keep |= ML_DEC_RCPT_ADDR;   /* a reply is unmasked with its recipient */
	ml_message_reset(m);
	m->docid = docid;
	rd_t r = { data, (const unsigned char *)data + n, t, m, 0 };
	if (rd_u(&r) != ML_ROW_FORMAT)
		return ML_CORRUPT_BKPT;
	uint64_t gen = rd_u(&r);
	if (gen && (!t || gen != t->gen))
		return ML_CORRUPT_BKPT;
	if (!gen)
		r.t = NULL;
	if (ml_buf_reserve(&m->strs, n + 256))
		return ML_ENOMEM;
	m->flags = (uint32_t)rd_u(&r);
	m->direction = (uint8_t)rd_u(&r);
	m->first_us = add_us((int64_t)ml_docid_sec(docid) * 1000000, unzigzag(rd_u(&r)));
	m->last_us = add_us(m->first_us, unzigzag(rd_u(&r)));
	struct { ml_str_t *s; int cls; } fs[] = MSG_FIELDS(m);
	for (size_t i = 0; i < ML_ARRAY_LEN(fs); i++) {
		if (keep & (1u << i))
			rd_str(&r, fs[i].cls, fs[i].s);
		else
			rd_skip(&r, fs[i].s);
	}
	m->size = rd_u(&r);
	m->nrcpt = (uint32_t)rd_u(&r);
	uint64_t nr = rd_u(&r);
	if (r.err)
		return r.err;
	if (nr > ML_MSG_RCPT_MAX || nr > (uint64_t)(r.end - r.p))
		return ML_CORRUPT_BKPT;
	if (nr > m->rcpts_cap) {
		ml_rcpt_t *rc = realloc(m->rcpts, (size_t)nr * sizeof *rc);
		if (!rc)
			return ML_ENOMEM;
		m->rcpts = rc;
		m->rcpts_cap = (uint32_t)nr;
	}
	for (uint64_t i = 0; i < nr && !r.err; i++) {
		ml_rcpt_t *row = &m->rcpts[i];
		if ((keep & ML_DEC_RCPT_ADDR) && f && f->to_dom) {
			/* both looked at where they are first: read when one is of the domain */
			const unsigned char *a = r.p;
			int hit = rd_in_domain(&r, f->to_dom, f->to_domn);
			hit |= rd_in_domain(&r, f->to_dom, f->to_domn);
			row->to = row->orig_to = (ml_str_t){ 0, 0 };
			if (hit && !r.err) {
				rd_t ar = { a, r.p, r.t, m, 0 };
				rd_str(&ar, ML_SC_ADDR, &row->to);
				rd_str(&ar, ML_SC_ADDR, &row->orig_to);
				r.err = ar.err;
			}
		} else if (keep & ML_DEC_RCPT_ADDR) {
			rd_str(&r, ML_SC_ADDR, &row->to);
			rd_str(&r, ML_SC_ADDR, &row->orig_to);
		} else {
			rd_skip(&r, &row->to);
			rd_skip(&r, &row->orig_to);
		}
		/* the text passed first; read from here when wanted */
		const unsigned char *text = r.p;
		rd_skip(&r, &row->relay);
		rd_skip(&r, &row->dsn);
		rd_skip(&r, &row->reason);
		const unsigned char *text_end = r.p;
		row->time_us = add_us(m->first_us, unzigzag(rd_u(&r)));
		row->delay_ms = (uint32_t)rd_u(&r);
		uint64_t st = rd_u(&r);
		if (st >= ML_ST__COUNT && !r.err)
			r.err = ML_CORRUPT_BKPT;
		row->status = (uint8_t)st;
		row->flags = (uint8_t)rd_u(&r);
		m->nrcpts = (uint32_t)i + 1;
		if ((keep & ML_DEC_RCPT_TEXT) && !r.err && (!f || !f->want || f->want(f->ctx, m, (int)i))) {
			rd_t tr = { text, text_end, r.t, m, 0 };
			rd_str(&tr, ML_SC_RELAY, &row->relay);
			rd_str(&tr, ML_SC_DSN, &row->dsn);
			rd_str(&tr, ML_SC_REPLY, &row->reason);
			rd_unmask(&tr, row);   /* (needs row->to) */
			r.err = tr.err;
		}
	}
	m->first_seq = rd_u(&r);
	m->raw_key = rd_u(&r);
	if (!r.err && r.p != r.end)
		r.err = ML_CORRUPT_BKPT;
	return r.err;
}

int ml_row_peek_flags(const void *data, size_t n, uint32_t *flags)
{
	const unsigned char *p = data, *end = p + n;
	uint64_t fmt, gen, f;
	if (ml_get_varint(&p, end, &fmt) || fmt != ML_ROW_FORMAT || ml_get_varint(&p, end, &gen) ||
	    ml_get_varint(&p, end, &f) || f > UINT32_MAX)
		return ML_CORRUPT_BKPT;
	*flags = (uint32_t)f;
	return ML_OK;
}

int ml_row_peek_raw_key(const void *data, size_t n, uint64_t *raw_key)
{
	/* the last varint: its bytes but the last have the high bit set, and
	 * the varint before it (first_seq) ends in one that has not */
	const unsigned char *p = data;
	if (n < 2 || p[n - 1] >= 0x80)
		return ML_CORRUPT_BKPT;
	size_t at = n - 1;
	while (at > 0 && p[at - 1] >= 0x80)
		at--;
	if (at == 0 || n - at > 10)
		return ML_CORRUPT_BKPT;
	const unsigned char *q = p + at;
	uint64_t v;
	if (ml_get_varint(&q, p + n, &v) || q != p + n)
		return ML_CORRUPT_BKPT;
	*raw_key = v;
	return ML_OK;
}

int ml_row_set_direction(void *data, size_t n, uint8_t direction)
{
	unsigned char *p = data, *end = p + n;
	const unsigned char *q = p;
	uint64_t fmt, gen, f;
	if (direction >= 0x80 || ml_get_varint(&q, end, &fmt) || fmt != ML_ROW_FORMAT ||
	    ml_get_varint(&q, end, &gen) || ml_get_varint(&q, end, &f) || q == end || *q >= 0x80)
		return ML_CORRUPT_BKPT;
	p[q - p] = direction;
	return ML_OK;
}

/* ---- raw records ---- */

typedef struct {
	uint64_t docid;
	uint32_t len, check;
} part_t;

struct ml_codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	uint32_t ids[ML_DICT_MAX_IDS];
	ZSTD_CDict *cdicts[ML_DICT_MAX_IDS];   /* at ML_RAW_LEVEL (records) */
	ZSTD_CDict *bdicts[ML_DICT_MAX_IDS];   /* at ML_RAWBLOCK_LEVEL, made by the first block */
	ml_buf_t dicts[ML_DICT_MAX_IDS];       /* the bytes, for bdicts */
	ZSTD_DDict *ddicts[ML_DICT_MAX_IDS];
	unsigned ndicts;
	uint32_t cur;      /* index + 1 of the dictionary in use; 0 none */
	ml_buf_t plain;    /* masked lines during encode and decode */
	ml_buf_t frame;
	/* the block being built */
	part_t *parts;
	size_t nparts, pcap;
	ml_buf_t bplain;
	/* the last block decoded: the hash of its stored bytes, its parts, its plain */
	uint64_t last_hash;
	part_t *lparts;
	size_t nlparts, lcap;
	ml_buf_t lplain;
};

int ml_codec_new(ml_codec_t **out)
{
	ml_codec_t *c = calloc(1, sizeof *c);
	if (!c)
		return ML_ENOMEM;
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
		ZSTD_freeCDict(c->bdicts[i]);
		ml_buf_free(&c->dicts[i]);
		ZSTD_freeDDict(c->ddicts[i]);
	}
	ml_buf_free(&c->plain);
	ml_buf_free(&c->frame);
	free(c->parts);
	ml_buf_free(&c->bplain);
	free(c->lparts);
	ml_buf_free(&c->lplain);
	free(c);
}

int ml_codec_has_dict(const ml_codec_t *c, uint32_t id)
{
	for (unsigned i = 0; i < c->ndicts; i++)
		if (c->ids[i] == id)
			return 1;
	return 0;
}

int ml_codec_add_dict(ml_codec_t *c, uint32_t id, const void *dict, size_t n)
{
	if (id == 0)
		return ML_EINVAL;
	if (ml_codec_has_dict(c, id))
		return ML_OK;
	if (c->ndicts >= ML_DICT_MAX_IDS) {
		/* full (a reader living across many reindexes): the oldest goes */
		unsigned lo = 0;
		for (unsigned i = 1; i < c->ndicts; i++)
			if (c->ids[i] < c->ids[lo])
				lo = i;
		ZSTD_freeCDict(c->cdicts[lo]);
		ZSTD_freeCDict(c->bdicts[lo]);
		ml_buf_free(&c->dicts[lo]);
		ZSTD_freeDDict(c->ddicts[lo]);
		unsigned last = --c->ndicts;
		c->ids[lo] = c->ids[last];
		c->cdicts[lo] = c->cdicts[last];
		c->bdicts[lo] = c->bdicts[last];
		c->dicts[lo] = c->dicts[last];
		c->dicts[last] = (ml_buf_t)ML_BUF_INIT;
		c->ddicts[lo] = c->ddicts[last];
		c->cur = 0;
		for (unsigned i = 0; i < c->ndicts; i++)
			if (!c->cur || c->ids[c->cur - 1] < c->ids[i])
				c->cur = i + 1;
	}
	ZSTD_CDict *cd = ZSTD_createCDict(dict, n, ML_RAW_LEVEL);
	ZSTD_DDict *dd = ZSTD_createDDict(dict, n);
	ml_buf_t bytes = ML_BUF_INIT;
	if (!cd || !dd || ml_buf_append(&bytes, dict, n)) {
		ZSTD_freeCDict(cd);
		ZSTD_freeDDict(dd);
		ml_buf_free(&bytes);
		return ML_ENOMEM;
	}
	unsigned i = c->ndicts++;
	c->ids[i] = id;
	c->cdicts[i] = cd;
	c->bdicts[i] = NULL;
	c->dicts[i] = bytes;
	c->ddicts[i] = dd;
	if (!c->cur || c->ids[c->cur - 1] < id)
		c->cur = i + 1;
	return ML_OK;
}

uint32_t ml_codec_dict_id(const ml_codec_t *c)
{
	return c->cur ? c->ids[c->cur - 1] : 0;
}

/* The strings that mask a message's lines: index + 1 is the byte after 0x01. */
typedef struct {
	ml_slice_t s[8 + 4 * ML_ROW_MASK_ROWS];
	unsigned n;
	uint32_t check;
} masks_t;

static void masks_of(const ml_message_t *m, masks_t *k)
{
	const ml_str_t f[] = { m->queue_id, m->message_id, m->from, m->client_name, m->client_ip,
		m->helo, m->sasl_user, m->host };
	k->n = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(f); i++)
		k->s[k->n++] = ml_message_str(m, f[i]);
	for (uint32_t i = 0; i < m->nrcpts && i < ML_ROW_MASK_ROWS; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		k->s[k->n++] = ml_message_str(m, r->to);
		k->s[k->n++] = ml_message_str(m, r->orig_to);
		k->s[k->n++] = ml_message_str(m, r->relay);
		k->s[k->n++] = ml_message_str(m, r->reason);
	}
	/* each string's length and bytes, chained */
	uint32_t h = 0;
	for (unsigned i = 0; i < k->n; i++) {
		uint32_t len = (uint32_t)k->s[i].n;
		h = XXH32(&len, 4, h);
		if (k->s[i].n)
			h = XXH32(k->s[i].p, k->s[i].n, h);
	}
	k->check = h;
}

/* Mask lines p[0..n) into out. */
/* The first three bytes of p as a number, and its slot in the filter. */
static inline uint32_t key3(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}
static inline uint32_t slot3(uint32_t k)
{
	return (k * 2654435761u) >> 20;   /* 12 bits */
}

/* The bytes before which a mask may begin (1: not a letter, digit or one
 * of "._-+%": the masks begin their fields), and the escape byte (2). */
static const unsigned char mask_class[256] = {
	1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
	1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0,
	1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int mask_lines(const masks_t *k, const char *text, size_t n, ml_buf_t *out)
{
	/* the candidates: distinct strings of 3 bytes or more, longest first */
	unsigned char order[ML_ARRAY_LEN(k->s)];
	uint32_t keys[ML_ARRAY_LEN(k->s)];
	unsigned no = 0;
	for (unsigned i = 0; i < k->n; i++) {
		if (k->s[i].n < 3)
			continue;
		int dup = 0;
		for (unsigned j = 0; j < no && !dup; j++)
			dup = k->s[order[j]].n == k->s[i].n && memcmp(k->s[order[j]].p, k->s[i].p, k->s[i].n) == 0;
		if (!dup)
			order[no++] = (unsigned char)i;
	}
	for (unsigned i = 1; i < no; i++)
		for (unsigned j = i; j > 0 && k->s[order[j - 1]].n < k->s[order[j]].n; j--) {
			unsigned char x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	uint64_t filter[64] = { 0 };
	for (unsigned i = 0; i < no; i++) {
		keys[i] = key3((const unsigned char *)k->s[order[i]].p);
		uint32_t sl = slot3(keys[i]);
		filter[sl >> 6] |= 1ull << (sl & 63);
	}
	const unsigned char *p = (const unsigned char *)text;
	int rc = ml_buf_reserve(out, n + n / 8 + 16);
	size_t lit = 0, i = 0;

	/* i: a place where a mask may begin (the start, or after a delimiter) */
	while (i < n && !rc) {
		int hit = -1;
		if (p[i] == 1) {
			hit = 256;
		} else if (i + 3 <= n) {
			uint32_t kk = key3(p + i), sl = slot3(kk);
			if (filter[sl >> 6] >> (sl & 63) & 1)
				for (unsigned j = 0; j < no; j++) {
					ml_slice_t c = k->s[order[j]];
					if (keys[j] == kk && n - i >= c.n && memcmp(p + i, c.p, c.n) == 0) {
						hit = order[j];
						break;
					}
				}
		}
		if (hit < 0) {
			/* on to the byte after the next delimiter, or the next escape byte */
			unsigned cl = mask_class[p[i]];
			i++;
			while (i < n && !cl)
				cl = mask_class[p[i++]];
			if (cl == 2)
				i--;
			continue;
		}
		rc = ml_buf_append(out, p + lit, i - lit);
		unsigned char esc[2] = { 1, hit == 256 ? 0 : (unsigned char)(hit + 1) };
		if (!rc)
			rc = ml_buf_append(out, esc, 2);
		i += hit == 256 ? 1 : k->s[hit].n;
		lit = i;
	}
	if (!rc)
		rc = ml_buf_append(out, p + lit, n - lit);
	return rc;
}

static int unmask_lines(const masks_t *k, const char *p, size_t n, ml_buf_t *out)
{
	const char *end = p + n;
	int rc = ml_buf_reserve(out, n + n / 2);
	while (p < end && !rc) {
		const char *e = memchr(p, 1, (size_t)(end - p));
		size_t lit = e ? (size_t)(e - p) : (size_t)(end - p);
		rc = ml_buf_append(out, p, lit);
		if (rc || !e)
			break;
		if (e + 1 >= end)
			return ML_CORRUPT_BKPT;
		unsigned x = (unsigned char)e[1];
		if (x == 0)
			rc = ml_buf_putc(out, 1);
		else if (x - 1 < k->n)
			rc = ml_buf_append(out, k->s[x - 1].p, k->s[x - 1].n);
		else
			return ML_CORRUPT_BKPT;
		p = e + 2;
	}
	return rc;
}

static int raw_plain(const ml_message_t *m, const masks_t *k, ml_buf_t *out)
{
	int rc = ml_buf_put_varint(out, m->nlines);
	if (!rc)
		rc = ml_buf_put_varint(out, m->raw_dropped);
	/* the masked lines' length goes first: masked after room for it, then moved up */
	size_t at = out->len;
	if (!rc)
		rc = ml_buf_reserve(out, m->raw.len + m->raw.len / 8 + 32);
	if (!rc) {
		out->len = at + 10;
		rc = mask_lines(k, m->raw.data, m->raw.len, out);
	}
	if (!rc) {
		size_t ln = out->len - at - 10;
		out->len = at;
		rc = ml_buf_put_varint(out, ln);
		if (!rc) {
			memmove(out->data + out->len, out->data + at + 10, ln);
			out->len += ln;
		}
	}
	int all = m->nlines > 0 && m->seqs;
	for (uint32_t i = 0; all && i < m->nlines; i++)
		all = m->seqs[i] != 0;
	if (!rc)
		rc = ml_buf_put_varint(out, all ? m->nlines : 0);
	uint64_t prev = 0;
	for (uint32_t i = 0; all && i < m->nlines && !rc; i++) {
		rc = ml_buf_put_varint(out, zigzag((int64_t)(m->seqs[i] - prev)));
		prev = m->seqs[i];
	}
	return rc;
}

int ml_raw_plain(const ml_message_t *m, ml_buf_t *out, uint32_t *check)
{
	masks_t k;
	masks_of(m, &k);
	if (check)
		*check = k.check;
	return raw_plain(m, &k, out);
}

/* One zstd frame of src (with the current dictionary), appended to out: a
 * block's (at ML_RAWBLOCK_LEVEL) or a record's (ML_RAW_LEVEL). */
static int compress_append(ml_codec_t *c, const void *src, size_t n, ml_buf_t *out, int block)
{
	size_t bound = ZSTD_compressBound(n);
	int rc = ml_buf_reserve(out, bound);
	if (rc)
		return rc;
	const ZSTD_CDict *cd = NULL;
	if (c->cur && !block) {
		cd = c->cdicts[c->cur - 1];
	} else if (c->cur) {
		unsigned i = c->cur - 1;
		if (!c->bdicts[i])
			c->bdicts[i] = ZSTD_createCDict(c->dicts[i].data, c->dicts[i].len, ML_RAWBLOCK_LEVEL);
		if (!c->bdicts[i])
			return ML_ENOMEM;
		cd = c->bdicts[i];
	}
	size_t z = cd ? ZSTD_compress_usingCDict(c->cctx, out->data + out->len, bound, src, n, cd)
	              : ZSTD_compressCCtx(c->cctx, out->data + out->len, bound, src, n,
	                                  block ? ML_RAWBLOCK_LEVEL : ML_RAW_LEVEL);
	if (ZSTD_isError(z))
		return ML_ENOMEM;
	out->len += z;
	return ML_OK;
}

/* Decompress the frame p[0..n) with dictionary id into out (replaced). */
static int decompress(ml_codec_t *c, uint64_t id, const unsigned char *p, size_t n, ml_buf_t *out)
{
	const ZSTD_DDict *dd = NULL;
	if (id) {
		for (unsigned i = 0; i < c->ndicts; i++)
			if (c->ids[i] == id)
				dd = c->ddicts[i];
		if (!dd)
			return ML_ENOTFOUND;
	}
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

int ml_raw_encode_plain(ml_codec_t *c, const void *plain, size_t n, uint32_t check, ml_buf_t *out)
{
	ml_buf_reset(out);
	int rc = ml_buf_putc(out, ML_RAW_FORMAT);
	if (!rc)
		rc = ml_buf_put_varint(out, ml_codec_dict_id(c));
	unsigned char ck[4];
	memcpy(ck, &check, 4);
	if (!rc)
		rc = ml_buf_append(out, ck, 4);
	if (!rc)
		rc = compress_append(c, plain, n, out, 0);
	return rc;
}

int ml_raw_encode(ml_codec_t *c, const ml_message_t *m, ml_buf_t *out)
{
	masks_t k;
	masks_of(m, &k);
	ml_buf_reset(&c->plain);
	int rc = raw_plain(m, &k, &c->plain);
	return rc ? rc : ml_raw_encode_plain(c, c->plain.data, c->plain.len, k.check, out);
}

/* The header of a raw record: dictionary id, check, and where its frame starts. */
static int single_head(const unsigned char *p, size_t n, uint64_t *id, uint32_t *check, size_t *frame)
{
	const unsigned char *q = p + 1, *end = p + n;
	if (n < 1 || p[0] != ML_RAW_FORMAT || ml_get_varint(&q, end, id) || end - q < 4)
		return ML_CORRUPT_BKPT;
	memcpy(check, q, 4);
	*frame = (size_t)(q + 4 - p);
	return ML_OK;
}

int ml_raw_plain_of(ml_codec_t *c, const void *data, size_t n, ml_buf_t *out, uint32_t *check)
{
	uint64_t id = 0;
	size_t f = 0;
	int rc = single_head(data, n, &id, check, &f);
	if (!rc)
		rc = decompress(c, id, (const unsigned char *)data + f, n - f, &c->frame);
	if (!rc)
		rc = ml_buf_append(out, c->frame.data, c->frame.len);
	return rc;
}

void ml_rawblk_begin(ml_codec_t *c)
{
	c->nparts = 0;
	ml_buf_reset(&c->bplain);
}

int ml_rawblk_add(ml_codec_t *c, uint64_t docid, const void *plain, size_t n, uint32_t check)
{
	if (c->nparts && docid <= c->parts[c->nparts - 1].docid)
		return ML_EINVAL;
	if (n > UINT32_MAX)
		return ML_ETOOBIG;
	int rc = ml_array_grow((void **)&c->parts, &c->pcap, sizeof *c->parts, c->nparts + 1, 64);
	if (!rc)
		rc = ml_buf_append(&c->bplain, plain, n);
	if (rc)
		return rc;
	c->parts[c->nparts++] = (part_t){ docid, (uint32_t)n, check };
	return ML_OK;
}

size_t ml_rawblk_plain_bytes(const ml_codec_t *c)
{
	return c->bplain.len;
}

size_t ml_rawblk_count(const ml_codec_t *c)
{
	return c->nparts;
}

uint64_t ml_rawblk_first(const ml_codec_t *c)
{
	return c->nparts ? c->parts[0].docid : 0;
}

uint64_t ml_rawblk_last(const ml_codec_t *c)
{
	return c->nparts ? c->parts[c->nparts - 1].docid : 0;
}

int ml_rawblk_finish(ml_codec_t *c, ml_buf_t *out)
{
	ml_buf_reset(out);
	if (!c->nparts)
		return ML_EINVAL;
	unsigned char first[8];
	ml_put_be64(first, c->parts[0].docid);
	int rc = ml_buf_putc(out, ML_RAWBLOCK_FORMAT);
	if (!rc)
		rc = ml_buf_put_varint(out, ml_codec_dict_id(c));
	if (!rc)
		rc = ml_buf_append(out, first, 8);
	if (!rc)
		rc = ml_buf_put_varint(out, c->nparts);
	uint64_t prev = c->parts[0].docid;
	for (size_t i = 0; i < c->nparts && !rc; i++) {
		unsigned char ck[2] = { (unsigned char)(c->parts[i].check >> 24), (unsigned char)(c->parts[i].check >> 16) };
		rc = ml_buf_put_varint(out, c->parts[i].docid - prev);
		if (!rc)
			rc = ml_buf_put_varint(out, c->parts[i].len);
		if (!rc)
			rc = ml_buf_append(out, ck, 2);
		prev = c->parts[i].docid;
	}
	if (!rc)
		rc = compress_append(c, c->bplain.data, c->bplain.len, out, 1);
	return rc;
}

/* Parse a block's header into parts (grown); *frame: where its frame starts. */
static int block_head(const unsigned char *p, size_t n, uint64_t *id, part_t **parts, size_t *cap,
                      size_t *np, size_t *frame, size_t *plain)
{
	const unsigned char *q = p + 1, *end = p + n;
	uint64_t cnt;
	if (n < 10 || p[0] != ML_RAWBLOCK_FORMAT || ml_get_varint(&q, end, id) || end - q < 8)
		return ML_CORRUPT_BKPT;
	uint64_t d = ml_get_be64(q);
	q += 8;
	if (ml_get_varint(&q, end, &cnt) || cnt == 0 || cnt > n)
		return ML_CORRUPT_BKPT;
	if (ml_array_grow((void **)parts, cap, sizeof **parts, (size_t)cnt, 64))
		return ML_ENOMEM;
	*plain = 0;
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t delta, len;
		if (ml_get_varint(&q, end, &delta) || ml_get_varint(&q, end, &len) || end - q < 2 ||
		    (i && delta == 0) || len > ML_BUF_MAX || d + delta < d)
			return ML_CORRUPT_BKPT;
		d += delta;
		(*parts)[i] = (part_t){ d, (uint32_t)len, (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 };
		q += 2;
		*plain += (size_t)len;
	}
	*np = (size_t)cnt;
	*frame = (size_t)(q - p);
	return ML_OK;
}

/* Decode a block into the codec's last-block cache (unless it is there). */
static int block_load(ml_codec_t *c, const unsigned char *p, size_t n)
{
	uint64_t h = XXH3_64bits(p, n);
	if (h == c->last_hash && c->nlparts)
		return ML_OK;
	c->nlparts = 0;
	uint64_t id = 0;
	size_t frame = 0, plain = 0;
	int rc = block_head(p, n, &id, &c->lparts, &c->lcap, &c->nlparts, &frame, &plain);
	if (!rc)
		rc = decompress(c, id, p + frame, n - frame, &c->lplain);
	if (!rc && c->lplain.len != plain)
		rc = ML_CORRUPT_BKPT;
	if (rc) {
		c->nlparts = 0;
		return rc;
	}
	c->last_hash = h;
	return ML_OK;
}

int ml_rawblk_each(ml_codec_t *c, const void *p, size_t n,
                   int (*fn)(void *ctx, uint64_t docid, const void *plain, size_t len, uint32_t check), void *ctx)
{
	int rc = block_load(c, p, n);
	size_t off = 0;
	for (size_t i = 0; i < c->nlparts && !rc; i++) {
		rc = fn(ctx, c->lparts[i].docid, c->lplain.data + off, c->lparts[i].len, c->lparts[i].check);
		off += c->lparts[i].len;
	}
	return rc;
}

int ml_rawblk_add_block(ml_codec_t *c, const void *p, size_t n)
{
	int rc = block_load(c, p, n);
	size_t off = 0;
	for (size_t i = 0; i < c->nlparts && !rc; i++) {
		rc = ml_rawblk_add(c, c->lparts[i].docid, c->lplain.data + off, c->lparts[i].len, c->lparts[i].check);
		off += c->lparts[i].len;
	}
	return rc;
}

/* Parse a masked plain form into m (its row decoded: the mask strings). */
static int plain_to_message(const masks_t *k, const char *data, size_t n, ml_message_t *m)
{
	const unsigned char *q = (const unsigned char *)data, *qe = q + n;
	uint64_t nlines, dropped, len, ns;
	if (ml_get_varint(&q, qe, &nlines) || ml_get_varint(&q, qe, &dropped) || ml_get_varint(&q, qe, &len) ||
	    len > (uint64_t)(qe - q) || nlines > UINT32_MAX || dropped > UINT32_MAX)
		return ML_CORRUPT_BKPT;
	ml_buf_reset(&m->raw);
	int rc = unmask_lines(k, (const char *)q, (size_t)len, &m->raw);
	if (rc)
		return rc;
	q += len;
	/* each line ends in a newline: no more lines than bytes */
	if (ml_get_varint(&q, qe, &ns) || (ns && ns != nlines) || nlines > m->raw.len)
		return ML_CORRUPT_BKPT;
	m->nlines = (uint32_t)nlines;
	m->raw_dropped = (uint32_t)dropped;
	size_t need = (size_t)ML_MAX(ns, nlines);
	if (need > m->seqs_cap) {
		size_t cap = m->seqs_cap;
		if (ml_array_grow((void **)&m->seqs, &cap, sizeof *m->seqs, need, 16))
			return ML_ENOMEM;
		m->seqs_cap = (uint32_t)cap;
	}
	uint64_t prev = 0;
	for (uint64_t i = 0; i < ns; i++) {
		uint64_t d;
		if (ml_get_varint(&q, qe, &d))
			return ML_CORRUPT_BKPT;
		prev += (uint64_t)unzigzag(d);
		m->seqs[i] = prev;
	}
	for (uint64_t i = ns; i < nlines; i++)
		m->seqs[i] = 0;
	/* the lines must be nlines lines */
	size_t count = 0;
	for (const char *s = m->raw.data, *e = s + m->raw.len; s < e; s++) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		if (!nl)
			return ML_CORRUPT_BKPT;
		count++;
		s = nl;
	}
	return count == nlines && q == qe ? ML_OK : ML_CORRUPT_BKPT;
}

int ml_raw_dict_of(const void *data, size_t n, uint32_t *id)
{
	const unsigned char *p = data, *end = p + n;
	uint64_t v;
	if (n < 1 || (p[0] != ML_RAW_FORMAT && p[0] != ML_RAWBLOCK_FORMAT))
		return ML_CORRUPT_BKPT;
	p++;
	if (ml_get_varint(&p, end, &v) || v > UINT32_MAX)
		return ML_CORRUPT_BKPT;
	*id = (uint32_t)v;
	return ML_OK;
}

int ml_raw_decode(ml_codec_t *c, const void *data, size_t n, ml_message_t *m)
{
	const unsigned char *p = data;
	masks_t k;
	masks_of(m, &k);
	if (n >= 1 && p[0] == ML_RAWBLOCK_FORMAT) {
		int rc = block_load(c, p, n);
		if (rc)
			return rc;
		size_t off = 0;
		for (size_t i = 0; i < c->nlparts; i++) {
			if (c->lparts[i].docid == m->docid) {
				if ((c->lparts[i].check ^ k.check) >> 16)
					return ML_CORRUPT_BKPT;
				return plain_to_message(&k, c->lplain.data + off, c->lparts[i].len, m);
			}
			off += c->lparts[i].len;
		}
		return ML_CORRUPT_BKPT;
	}
	uint64_t id = 0;
	uint32_t check = 0;
	size_t f = 0;
	int rc = single_head(p, n, &id, &check, &f);
	if (!rc && k.check != check)
		rc = ML_CORRUPT_BKPT;
	if (!rc)
		rc = decompress(c, id, p + f, n - f, &c->plain);
	return rc ? rc : plain_to_message(&k, c->plain.data, c->plain.len, m);
}

int ml_record_plain(const ml_message_t *m, ml_buf_t *out)
{
	ml_message_t c = *m;   /* shallow: the encoders only read */
	c.docid = 0;           /* times absolute */
	ml_buf_t row = ML_BUF_INIT;
	int rc = ml_row_encode(NULL, &c, &row);
	if (!rc)
		rc = ml_row_locate(&row, 0, 0);
	if (!rc)
		rc = ml_buf_put_varint(out, row.len);
	if (!rc)
		rc = ml_buf_append(out, row.data, row.len);
	if (!rc)
		rc = ml_raw_plain(m, out, NULL);
	ml_buf_free(&row);
	return rc;
}

int ml_record_from_plain(const void *data, size_t n, ml_message_t *m)
{
	const unsigned char *p = data, *end = p + n;
	uint64_t rn;
	if (ml_get_varint(&p, end, &rn) || rn > (uint64_t)(end - p))
		return ML_CORRUPT_BKPT;
	int rc = ml_row_decode(NULL, p, (size_t)rn, 0, m);
	if (rc)
		return rc;
	masks_t k;
	masks_of(m, &k);
	p += rn;
	return plain_to_message(&k, (const char *)p, (size_t)(end - p), m);
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

int ml_rawblk_last_of(const void *data, size_t n, uint64_t *last)
{
	part_t *parts = NULL;
	size_t cap = 0, np = 0, frame, plain;
	uint64_t id;
	int rc = block_head(data, n, &id, &parts, &cap, &np, &frame, &plain);
	if (!rc)
		*last = parts[np - 1].docid;
	free(parts);
	return rc;
}
