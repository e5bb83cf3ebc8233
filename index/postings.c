#include "postings.h"

#include <stdlib.h>
#include <xxhash.h>

#include "index/tokens.h"

enum { KIND_TERMS = 0x00, KIND_LIST = 0x01 };
#define SEALED 0xFF   /* first byte of the keys of the sealed days (above every tag) */

/* ---- docid lists ---- */

static int put_id(ml_buf_t *b, uint64_t prev, uint64_t d, int first)
{
	/* docids ascend and are distinct (the first of a term block is coded
	 * from the bucket's first docid, which it may be): the deltas below
	 * would wrap otherwise */
	ML_ASSERT(first ? d >= prev : d > prev);
	uint64_t ds = ml_docid_sec(d) - ml_docid_sec(prev);
	uint64_t x = first || ds ? ml_docid_seq(d) : (uint64_t)ml_docid_seq(d) - ml_docid_seq(prev) - 1;
	uint64_t c = x < 3 ? x : 3;
	int rc = ml_buf_put_varint(b, ds << 2 | c);
	if (!rc && c == 3)
		rc = ml_buf_put_varint(b, x - 3);
	return rc;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t id_size(uint64_t prev, uint64_t d, int first)
{
	uint64_t ds = ml_docid_sec(d) - ml_docid_sec(prev);
	uint64_t x = first || ds ? ml_docid_seq(d) : (uint64_t)ml_docid_seq(d) - ml_docid_seq(prev) - 1;
	return varint_len(ds << 2 | (x < 3 ? x : 3)) + (x >= 3 ? varint_len(x - 3) : 0);
}

/* n docids after prev (the first coded absolute when first). */
static int put_ids(ml_buf_t *b, uint64_t prev, const uint64_t *ids, size_t n, int first)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = put_id(b, prev, ids[i], first && i == 0);
		prev = ids[i];
	}
	return rc;
}

static size_t ids_size(uint64_t prev, const uint64_t *ids, size_t n, int first)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++) {
		s += id_size(prev, ids[i], first && i == 0);
		prev = ids[i];
	}
	return s;
}

/* Read n docids after prev into out; each must exceed the one before (the
 * first: not below prev) and stay below limit.  0 or ML_ECORRUPT. */
static int get_ids(const unsigned char **p, const unsigned char *end, uint64_t prev, uint64_t limit,
                   size_t n, uint64_t *out, int first)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v, x;
		if (ml_get_varint(p, end, &v))
			return ML_CORRUPT_BKPT;
		x = v & 3;
		if (x == 3) {
			uint64_t ex;
			if (ml_get_varint(p, end, &ex) || ex > ML_DOCID_SEQ_MAX)
				return ML_CORRUPT_BKPT;
			x += ex;
		}
		uint64_t ds = v >> 2, sec = ml_docid_sec(prev) + ds, seq;
		if ((first && i == 0) || ds)
			seq = x;
		else
			seq = (uint64_t)ml_docid_seq(prev) + 1 + x;
		if (ds > ML_BUCKET_SECONDS * 2 || seq > ML_DOCID_SEQ_MAX)
			return ML_CORRUPT_BKPT;
		uint64_t d = ml_docid_make(sec, (uint32_t)seq);
		if (d > limit || (d <= prev && !(first && i == 0 && d == prev)))
			return ML_CORRUPT_BKPT;
		out[i] = prev = d;
	}
	return ML_OK;
}

/* ---- keys ---- */

/* The prefix of the keys of (tag, bucket), with the kind byte: tag | bucket
 * | kind in the open part, SEALED | bucket | tag | kind in the sealed part.
 * Returns its length. */
static size_t key_pre(unsigned char *h, int tag, uint32_t bucket, int sealed, int kind)
{
	size_t n = 0;
	if (sealed)
		h[n++] = SEALED;
	else
		h[n++] = (unsigned char)tag;
	h[n++] = (unsigned char)(bucket >> 8);
	h[n++] = (unsigned char)bucket;
	if (sealed)
		h[n++] = (unsigned char)tag;
	h[n++] = (unsigned char)kind;
	return n;
}

static int terms_key(ml_buf_t *b, const char *key, size_t n, uint32_t bucket, int sealed)
{
	unsigned char h[5];
	size_t hn = key_pre(h, key[0], bucket, sealed, KIND_TERMS);
	ml_buf_reset(b);
	int rc = ml_buf_append(b, h, hn);
	if (!rc)
		rc = ml_buf_append(b, key + 1, n - 1);
	return rc;
}

/* prefix | len | term, and the first docid when first != NULL */
static int list_key(ml_buf_t *b, int tag, uint32_t bucket, const char *term, size_t tn, const uint64_t *first,
                    int sealed)
{
	unsigned char h[7];
	size_t hn = key_pre(h, tag, bucket, sealed, KIND_LIST);
	h[hn++] = (unsigned char)(tn >> 8);
	h[hn++] = (unsigned char)tn;
	ml_buf_reset(b);
	int rc = ml_buf_append(b, h, hn);
	if (!rc)
		rc = ml_buf_append(b, term, tn);
	if (!rc && first) {
		unsigned char d[8];
		ml_put_be64(d, *first);
		rc = ml_buf_append(b, d, 8);
	}
	return rc;
}

static int has_prefix(const MDB_val *k, const void *p, size_t n)
{
	return k->mv_size >= n && memcmp(k->mv_data, p, n) == 0;
}

/* ---- term blocks ---- */

typedef struct {
	uint32_t toff, tlen;   /* the term in blk_t.text */
	uint32_t n;            /* docids inline (in blk_t.ids from ioff), 0: in list blocks */
	uint32_t ioff;
	uint64_t total;        /* docids in list blocks */
} tent_t;

typedef struct {
	ml_buf_t text;
	tent_t *e;
	size_t ne, ecap;
	uint64_t *ids;
	size_t nids, icap;
} blk_t;

static void blk_reset(blk_t *b)
{
	ml_buf_reset(&b->text);
	b->ne = b->nids = 0;
}

static void blk_free(blk_t *b)
{
	ml_buf_free(&b->text);
	free(b->e);
	free(b->ids);
	memset(b, 0, sizeof *b);
}

static tent_t *blk_add(blk_t *b, const char *term, size_t tn)
{
	if (ml_array_grow((void **)&b->e, &b->ecap, sizeof *b->e, b->ne + 1, 64))
		return NULL;
	tent_t *e = &b->e[b->ne];
	memset(e, 0, sizeof *e);
	e->toff = (uint32_t)b->text.len;
	e->tlen = (uint32_t)tn;
	if (ml_buf_append(&b->text, term, tn))
		return NULL;
	b->ne++;
	return e;
}

static uint64_t *blk_ids(blk_t *b, size_t n)
{
	if (ml_array_grow((void **)&b->ids, &b->icap, sizeof *b->ids, b->nids + n, 256))
		return NULL;
	uint64_t *p = b->ids + b->nids;
	b->nids += n;
	return p;
}

/* Decode a term block value (tag and bucket given) into b (appending). */
static int blk_decode(blk_t *b, const void *data, size_t len, uint32_t bucket)
{
	const unsigned char *p = data, *end = p + len;
	uint64_t nt;
	if (ml_get_varint(&p, end, &nt) || nt == 0 || nt > len)
		return ML_CORRUPT_BKPT;
	size_t prev_off = 0, prev_len = 0;
	uint64_t base = ml_bucket_first(bucket), limit = ml_bucket_last(bucket);
	for (uint64_t i = 0; i < nt; i++) {
		uint64_t shared, rest, n;
		if (ml_get_varint(&p, end, &shared) || ml_get_varint(&p, end, &rest) || shared > prev_len ||
		    rest > (uint64_t)(end - p) || shared + rest > ML_TERM_MAX || (i && shared + rest == 0))
			return ML_CORRUPT_BKPT;
		char term[ML_TERM_MAX + 1];
		if (shared)
			memcpy(term, b->text.data + prev_off, (size_t)shared);
		memcpy(term + shared, p, (size_t)rest);
		p += rest;
		size_t tn = (size_t)(shared + rest);
		if (i) {
			/* ascending and distinct */
			int c = memcmp(b->text.data + prev_off, term, ML_MIN(prev_len, tn));
			if (c > 0 || (c == 0 && prev_len >= tn))
				return ML_CORRUPT_BKPT;
		}
		tent_t *e = blk_add(b, term, tn);
		if (!e)
			return ML_ENOMEM;
		prev_off = e->toff;
		prev_len = tn;
		if (ml_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
			return ML_CORRUPT_BKPT;
		if (n == 0) {
			if (ml_get_varint(&p, end, &e->total) || e->total == 0)
				return ML_CORRUPT_BKPT;
			continue;
		}
		uint64_t *ids = blk_ids(b, (size_t)n);
		if (!ids)
			return ML_ENOMEM;
		e = &b->e[b->ne - 1];
		e->n = (uint32_t)n;
		e->ioff = (uint32_t)(ids - b->ids);
		int rc = get_ids(&p, end, base, limit, (size_t)n, ids, 1);
		if (rc)
			return rc;
	}
	return p == end ? ML_OK : ML_CORRUPT_BKPT;
}

static const char *ent_term(const blk_t *b, const tent_t *e)
{
	return b->text.data + e->toff;
}

static int term_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, ML_MIN(an, bn));
	return c ? c : (an > bn) - (an < bn);
}

/* Encode entries [from, to) of b as one term block value. */
static int blk_encode(const blk_t *b, size_t from, size_t to, uint32_t bucket, ml_buf_t *out)
{
	ml_buf_reset(out);
	int rc = ml_buf_put_varint(out, to - from);
	const char *prev = NULL;
	size_t pn = 0;
	uint64_t base = ml_bucket_first(bucket);
	for (size_t i = from; i < to && !rc; i++) {
		const tent_t *e = &b->e[i];
		/* a term has docids, inline or counted in list blocks (a count of 0
		 * reads as corrupt) */
		ML_ASSERT(e->n || e->total);
		const char *t = ent_term(b, e);
		size_t sh = 0;
		if (prev)
			while (sh < pn && sh < e->tlen && prev[sh] == t[sh])
				sh++;
		rc = ml_buf_put_varint(out, sh);
		if (!rc)
			rc = ml_buf_put_varint(out, e->tlen - sh);
		if (!rc)
			rc = ml_buf_append(out, t + sh, e->tlen - sh);
		if (!rc)
			rc = ml_buf_put_varint(out, e->n);
		if (!rc && e->n)
			rc = put_ids(out, base, b->ids + e->ioff, e->n, 1);
		else if (!rc)
			rc = ml_buf_put_varint(out, e->total);
		prev = t;
		pn = e->tlen;
	}
	return rc;
}

/* Encoded size of one entry (upper bound: no shared prefix). */
static size_t ent_size(const blk_t *b, const tent_t *e, uint32_t bucket)
{
	size_t s = 2 + varint_len(e->tlen) + e->tlen + varint_len(e->n);
	return s + (e->n ? ids_size(ml_bucket_first(bucket), b->ids + e->ioff, e->n, 1) : varint_len(e->total));
}

/* ---- the batch ---- */

typedef struct {
	uint64_t pfx;      /* tag | bucket | the term's rank among the batch's terms (at the sort) */
	uint64_t docid;
	uint32_t off;      /* the term key in keys: u16 length, then tag + term */
	uint32_t term;     /* the term's number in the batch */
	uint32_t seq;      /* queue order: the last operation on (term, docid) wins */
	uint8_t del;
	uint8_t done;      /* an addition the sealed part has already: nothing for the open part */
} chg_t;

struct ml_post_batch {
	chg_t *c;
	size_t n, cap;
	ml_buf_t keys;            /* each distinct term key once: u16 length, key */
	uint32_t *toff;           /* term number -> its offset in keys */
	size_t nterms, tcap;
	uint32_t *slots;          /* hash table of term numbers + 1 */
	size_t nslots;
	uint32_t *rank;           /* term number -> rank in key order (at the sort) */
	size_t rcap;
	/* scratch of the merge */
	blk_t old, nb;
	ml_buf_t kb, kb2, val, enc, okey;
	int64_t delta;            /* docids added less docids removed, by the write in progress */
	int sealed;               /* the write in progress is to the sealed part ... */
	int dels_only;            /* ... and applies the removals only */
	int changed;              /* the block in hand changed */
	uint64_t *ids;
	size_t icap;
};

int ml_post_batch_new(ml_post_batch_t **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? ML_OK : ML_ENOMEM;
}

void ml_post_batch_free(ml_post_batch_t *b)
{
	if (!b)
		return;
	free(b->c);
	ml_buf_free(&b->keys);
	blk_free(&b->old);
	blk_free(&b->nb);
	ml_buf_free(&b->kb);
	ml_buf_free(&b->kb2);
	ml_buf_free(&b->val);
	ml_buf_free(&b->enc);
	ml_buf_free(&b->okey);
	free(b->ids);
	free(b->toff);
	free(b->slots);
	free(b->rank);
	free(b);
}

void ml_post_batch_reset(ml_post_batch_t *b)
{
	b->n = 0;
	ml_buf_reset(&b->keys);
	if (b->nterms && b->slots)
		memset(b->slots, 0, b->nslots * sizeof *b->slots);
	b->nterms = 0;
}

static const char *term_key(const ml_post_batch_t *b, uint32_t t, size_t *n)
{
	const unsigned char *p = (const unsigned char *)b->keys.data + b->toff[t];
	*n = (size_t)p[0] | (size_t)p[1] << 8;
	return (const char *)p + 2;
}

/* The number of term key[0..n) in the batch, added when new. */
static int intern(ml_post_batch_t *b, const char *key, size_t n, uint32_t *out)
{
	if (2 * (b->nterms + 1) > b->nslots) {
		size_t ns = b->nslots ? b->nslots * 2 : 1 << 16;
		uint32_t *sl = calloc(ns, sizeof *sl);
		if (!sl)
			return ML_ENOMEM;
		for (uint32_t t = 0; t < b->nterms; t++) {
			size_t tn;
			const char *tk = term_key(b, t, &tn);
			size_t h = XXH3_64bits(tk, tn) & (ns - 1);
			while (sl[h])
				h = (h + 1) & (ns - 1);
			sl[h] = t + 1;
		}
		free(b->slots);
		b->slots = sl;
		b->nslots = ns;
	}
	size_t h = XXH3_64bits(key, n) & (b->nslots - 1);
	for (; b->slots[h]; h = (h + 1) & (b->nslots - 1)) {
		size_t tn;
		const char *tk = term_key(b, b->slots[h] - 1, &tn);
		if (tn == n && memcmp(tk, key, n) == 0) {
			*out = b->slots[h] - 1;
			return ML_OK;
		}
	}
	if (ml_array_grow((void **)&b->toff, &b->tcap, sizeof *b->toff, b->nterms + 1, 4096))
		return ML_ENOMEM;
	b->toff[b->nterms] = (uint32_t)b->keys.len;
	unsigned char hdr[2] = { (unsigned char)n, (unsigned char)(n >> 8) };
	int rc = ml_buf_append(&b->keys, hdr, 2);
	if (!rc)
		rc = ml_buf_append(&b->keys, key, n);
	if (rc)
		return rc;
	b->slots[h] = (uint32_t)b->nterms + 1;
	*out = (uint32_t)b->nterms++;
	return ML_OK;
}

size_t ml_post_batch_count(const ml_post_batch_t *b)
{
	return b->n;
}

int ml_post_batch_add(ml_post_batch_t *b, const char *key, size_t n, uint64_t docid, int del)
{
	if (n < 1 || n > 1 + ML_TERM_MAX || b->keys.len > UINT32_MAX - 1024)
		return ML_EINVAL;
	int rc = ml_array_grow((void **)&b->c, &b->cap, sizeof *b->c, b->n + 1, 4096);
	if (rc)
		return rc;
	uint32_t t;
	rc = intern(b, key, n, &t);
	if (rc)
		return rc;
	chg_t *c = &b->c[b->n];
	c->off = b->toff[t];
	c->term = t;
	c->docid = docid;
	c->seq = (uint32_t)b->n;
	c->del = (uint8_t)(del != 0);
	c->done = 0;
	c->pfx = (uint64_t)(unsigned char)key[0] << 56 | (uint64_t)ml_docid_bucket(docid) << 40;
	b->n++;
	return ML_OK;
}

static const char *chg_key(const ml_post_batch_t *b, const chg_t *c, size_t *n)
{
	const unsigned char *p = (const unsigned char *)b->keys.data + c->off;
	*n = (size_t)p[0] | (size_t)p[1] << 8;
	return (const char *)p + 2;
}

static int cmp_term(const void *pa, const void *pb, void *ctx)
{
	const ml_post_batch_t *b = ctx;
	size_t xn, yn;
	const char *xk = term_key(b, *(const uint32_t *)pa, &xn), *yk = term_key(b, *(const uint32_t *)pb, &yn);
	return term_cmp(xk, xn, yk, yn);
}

/* A term and 8 of its bytes, from some depth on, as a big-endian number
 * (zeros past its end): for the radix sort of the batch's terms. */
typedef struct {
	uint64_t k;
	uint32_t t;
} tkey_t;

static uint64_t term_word(const ml_post_batch_t *b, uint32_t t, size_t depth)
{
	size_t n;
	const unsigned char *p = (const unsigned char *)term_key(b, t, &n);
	uint64_t k = 0;
	for (size_t i = 0; i < 8; i++)
		k = k << 8 | (depth + i < n ? p[depth + i] : 0);
	return k;
}

static int cmp_tkey_term(const void *pa, const void *pb, void *ctx)
{
	return cmp_term(&((const tkey_t *)pa)->t, &((const tkey_t *)pb)->t, ctx);
}

/*
 * Sort v[0..n) (tmp: room for n more) in key order without comparing whole
 * keys: a least-significant-first radix sort on the 8 bytes at `depth`,
 * 8 bits a pass (passes where every item has the same digit are skipped), then
 * each run of items equal in those bytes sorted again on the next 8 (most
 * significant first), down to runs short enough to compare.  Terms that end
 * inside the 8 bytes are padded with zeros, so "ab" and "ab\0" tie there: the
 * compare of whole keys at the leaves puts them in order.
 */
static void sort_terms(const ml_post_batch_t *b, tkey_t *v, tkey_t *tmp, size_t n, size_t depth)
{
	if (n <= 32 || depth > ML_TERM_MAX + 1) {
		if (n > 1)
			qsort_r(v, n, sizeof *v, cmp_tkey_term, (void *)b);
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i].k = term_word(b, v[i].t, depth);
	size_t cnt[257];
	for (unsigned sh = 0; sh < 64; sh += 8) {
		memset(cnt, 0, sizeof cnt);
		for (size_t i = 0; i < n; i++)
			cnt[((v[i].k >> sh) & 0xff) + 1]++;
		if (cnt[((v[0].k >> sh) & 0xff) + 1] == n)
			continue;   /* one digit for all: nothing to move */
		for (size_t d = 1; d <= 256; d++)
			cnt[d] += cnt[d - 1];
		for (size_t i = 0; i < n; i++)
			tmp[cnt[(v[i].k >> sh) & 0xff]++] = v[i];
		memcpy(v, tmp, n * sizeof *v);
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && v[j].k == v[i].k)
			j++;
		if (j - i > 1)
			sort_terms(b, v + i, tmp, j - i, depth + 8);
		i = j;
	}
}

/* One stable counting-sort pass of n changes from src to dst by key(c) < nkeys. */
static int count_pass(const chg_t *src, chg_t *dst, size_t n, size_t nkeys, uint32_t (*key)(const chg_t *))
{
	size_t *at = calloc(nkeys + 1, sizeof *at);
	if (!at)
		return ML_ENOMEM;
	for (size_t i = 0; i < n; i++)
		at[key(&src[i]) + 1]++;
	for (size_t k = 1; k <= nkeys; k++)
		at[k] += at[k - 1];
	for (size_t i = 0; i < n; i++)
		dst[at[key(&src[i])]++] = src[i];
	free(at);
	return ML_OK;
}

static uint32_t key_rank(const chg_t *c) { return (uint32_t)(c->pfx & 0xffffffffu); }
static uint32_t key_bucket(const chg_t *c) { return (uint32_t)(c->pfx >> 40) & 0xffff; }
static uint32_t key_tag(const chg_t *c) { return (uint32_t)(c->pfx >> 56); }

/* (tag, bucket, term rank) then docid then queue order: integers only */
static int cmp_chg(const void *pa, const void *pb)
{
	const chg_t *x = pa, *y = pb;
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	if (x->docid != y->docid)
		return x->docid < y->docid ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Rank the batch's terms in key order, then sort the changes by (tag, day,
 * term, docid, queue order). */
static int sort_changes(ml_post_batch_t *b)
{
	if (ml_array_grow((void **)&b->rank, &b->rcap, sizeof *b->rank, b->nterms, 4096))
		return ML_ENOMEM;
	tkey_t *ord = malloc((b->nterms + 1) * 2 * sizeof *ord);
	if (!ord)
		return ML_ENOMEM;
	for (uint32_t t = 0; t < b->nterms; t++)
		ord[t].t = t;
	sort_terms(b, ord, ord + b->nterms + 1, b->nterms, 0);
	for (uint32_t r = 0; r < b->nterms; r++)
		b->rank[ord[r].t] = r;
	free(ord);
	int sorted_ids = 1;   /* queued in (docid, queue order) order, as the writer queues them */
	for (size_t i = 0; i < b->n; i++) {
		b->c[i].pfx = (b->c[i].pfx & ~((1ull << 40) - 1)) | b->rank[b->c[i].term];
		if (i && (b->c[i].docid < b->c[i - 1].docid))
			sorted_ids = 0;
	}
	if (b->n < 2)
		return ML_OK;
	if (!sorted_ids || b->n < 1024) {
		qsort(b->c, b->n, sizeof *b->c, cmp_chg);
		return ML_OK;
	}
	/* least significant first, each pass stable: rank, day, tag */
	chg_t *tmp = malloc(b->n * sizeof *tmp);
	if (!tmp)
		return ML_ENOMEM;
	int rc = count_pass(b->c, tmp, b->n, b->nterms, key_rank);
	if (!rc)
		rc = count_pass(tmp, b->c, b->n, 0x10000, key_bucket);
	if (!rc)
		rc = count_pass(b->c, tmp, b->n, 256, key_tag);
	if (!rc)
		memcpy(b->c, tmp, b->n * sizeof *tmp);
	free(tmp);
	return rc;
}

/* Changes [i, j) are one term's, sorted by docid: apply them to the sorted
 * ids (n of them) into out (cap >= n + (j - i)); returns the new count. */
static size_t merge_ids(ml_post_batch_t *b, size_t i, size_t j, const uint64_t *ids, size_t n,
                        uint64_t *out)
{
	size_t k = 0, a = 0;
	while (i < j) {
		uint64_t d = b->c[i].docid;
		/* the last operation on d wins */
		size_t last = i;
		while (last + 1 < j && b->c[last + 1].docid == d)
			last++;
		int del = b->c[last].del;
		while (a < n && ids[a] < d)
			out[k++] = ids[a++];
		int had = a < n && ids[a] == d;
		if (had)
			a++;
		if (b->c[last].done) {
			/* added where it was, in the sealed part */
			if (had)
				out[k++] = d;
			i = last + 1;
			continue;
		}
		/* (removals only: an addition leaves d as it was, and when it was
		 * there, the open part need not have it) */
		int keep = b->dels_only ? had && !del : !del;
		if (keep)
			out[k++] = d;
		if (keep != had)
			b->changed = 1;
		if (b->dels_only && had && !del)
			b->c[last].done = 1;
		i = last + 1;
	}
	while (a < n)
		out[k++] = ids[a++];
	return k;
}

static int grow_ids(ml_post_batch_t *b, size_t need)
{
	return ml_array_grow((void **)&b->ids, &b->icap, sizeof *b->ids, need, 1024);
}

static int put_val(MDB_cursor *cur, const ml_buf_t *k, const ml_buf_t *v)
{
	MDB_val kk = { k->len, k->data }, vv = { v->len, v->data };
	return ml_store_errcode(mdb_cursor_put(cur, &kk, &vv, 0));
}

static int del_key(MDB_cursor *cur, const void *k, size_t n)
{
	MDB_val kk = { n, (void *)k }, v;
	int rc = mdb_cursor_get(cur, &kk, &v, MDB_SET);
	if (rc == 0)
		rc = mdb_cursor_del(cur, 0);
	return rc == MDB_NOTFOUND ? ML_OK : ml_store_errcode(rc);
}

/* Write docids ids[0..n) of a term as list blocks of at most
 * ML_POST_BLOCK_MAX bytes each (keys from prefix in b->kb2). */
static int write_lists(ml_post_batch_t *b, MDB_cursor *cur, int tag, uint32_t bucket, const char *term,
                       size_t tn, const uint64_t *ids, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i + 1, size = 0;
		while (j < n && size + id_size(ids[j - 1], ids[j], 0) <= ML_POST_BLOCK_MAX - 8) {
			size += id_size(ids[j - 1], ids[j], 0);
			j++;
		}
		int rc = list_key(&b->kb2, tag, bucket, term, tn, &ids[i], b->sealed);
		ml_buf_reset(&b->enc);
		if (!rc)
			rc = ml_buf_put_varint(&b->enc, j - i - 1);
		if (!rc)
			rc = put_ids(&b->enc, ids[i], ids + i + 1, j - i - 1, 0);
		/* the count is the docids that follow it, and the value fits */
		ML_ASSERT(rc || (b->enc.len == varint_len(j - i - 1) + size && b->enc.len <= ML_POST_BLOCK_MAX));
		if (!rc)
			rc = put_val(cur, &b->kb2, &b->enc);
		if (rc)
			return rc;
		i = j;
	}
	return ML_OK;
}

/* Decode a list block value whose first docid is first into ids (grown). */
static int list_decode(const void *data, size_t len, uint64_t first, uint32_t bucket, uint64_t **ids,
                       size_t *cap, size_t *n)
{
	const unsigned char *p = data, *end = p + len;
	uint64_t k;
	if (ml_get_varint(&p, end, &k) || k > len)
		return ML_CORRUPT_BKPT;
	if (ml_array_grow((void **)ids, cap, sizeof **ids, (size_t)k + 1, 256))
		return ML_ENOMEM;
	(*ids)[0] = first;
	int rc = get_ids(&p, end, first, ml_bucket_last(bucket), (size_t)k, *ids + 1, 0);
	if (rc)
		return rc;
	*n = (size_t)k + 1;
	return p == end ? ML_OK : ML_CORRUPT_BKPT;
}

/* Apply changes [i, j) of one term to its list blocks; *total is the count
 * before and after. */
static int apply_lists(ml_post_batch_t *b, MDB_cursor *cur, int tag, uint32_t bucket, const char *term,
                       size_t tn, size_t i, size_t j, uint64_t *total)
{
	int rc = list_key(&b->kb, tag, bucket, term, tn, NULL, b->sealed);
	if (rc)
		return rc;
	size_t plen = b->kb.len;
	uint64_t *blockids = NULL;
	size_t bcap = 0, bn = 0;
	while (i < j && !rc) {
		uint64_t d = b->c[i].docid;
		/* the block holding d: the greatest first docid <= d (else the first block) */
		unsigned char kd[8];
		ml_put_be64(kd, d == UINT64_MAX ? d : d + 1);
		b->kb.len = plen;
		if ((rc = ml_buf_append(&b->kb, kd, 8)))
			break;
		MDB_val k = { b->kb.len, b->kb.data }, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		int found = 0;
		if (r == 0 || r == MDB_NOTFOUND) {
			r = r == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
			if (r == 0 && k.mv_size == plen + 8 && has_prefix(&k, b->kb.data, plen))
				found = 1;
			else if (r == 0 || r == MDB_NOTFOUND) {
				/* none at or below d: the term's first block, if any */
				b->kb.len = plen;
				k = (MDB_val){ plen, b->kb.data };
				r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
				if (r == 0 && k.mv_size == plen + 8 && has_prefix(&k, b->kb.data, plen))
					found = 1;
			}
		}
		if (r && r != MDB_NOTFOUND) {
			rc = ml_store_errcode(r);
			break;
		}
		uint64_t first = 0, next_first = UINT64_MAX;
		bn = 0;
		if (found) {
			first = ml_get_be64((const unsigned char *)k.mv_data + plen);
			ml_buf_reset(&b->val);
			if ((rc = ml_buf_append(&b->val, v.mv_data, v.mv_size)))
				break;
			rc = list_decode(b->val.data, b->val.len, first, bucket, &blockids, &bcap, &bn);
			if (rc)
				break;
			/* the next block's first docid bounds what this block takes */
			MDB_val k2, v2;
			r = mdb_cursor_get(cur, &k2, &v2, MDB_NEXT);
			if (r == 0 && k2.mv_size == plen + 8 && has_prefix(&k2, b->kb.data, plen))
				next_first = ml_get_be64((const unsigned char *)k2.mv_data + plen);
			else if (r && r != MDB_NOTFOUND) {
				rc = ml_store_errcode(r);
				break;
			}
		}
		size_t e = i;
		while (e < j && b->c[e].docid < next_first)
			e++;
		if ((rc = grow_ids(b, bn + (e - i))))
			break;
		int before = b->changed;
		b->changed = 0;
		size_t nn = merge_ids(b, i, e, blockids, bn, b->ids);
		int changed = b->changed;
		b->changed = before || changed;
		*total = *total - bn + nn;
		b->delta += (int64_t)nn - (int64_t)bn;
		if (!changed) {
			/* nothing to write: the block stays as it is */
			i = e;
			continue;
		}
		if (found) {
			b->kb.len = plen;
			unsigned char kf[8];
			ml_put_be64(kf, first);
			if ((rc = ml_buf_append(&b->kb, kf, 8)) || (rc = del_key(cur, b->kb.data, b->kb.len)))
				break;
		}
		if (nn)
			rc = write_lists(b, cur, tag, bucket, term, tn, b->ids, nn);
		i = e;
	}
	free(blockids);
	return rc;
}

/* Changes [i, j) of one (tag, bucket), sorted by term then docid: merge them
 * into the term blocks, block by block. */
static int apply_bucket(ml_post_batch_t *b, MDB_cursor *cur, int tag, uint32_t bucket, size_t i, size_t j)
{
	int rc = 0;
	unsigned char pre[5];
	size_t pn = key_pre(pre, tag, bucket, b->sealed, KIND_TERMS);
	while (i < j && !rc) {
		size_t tn;
		const char *tk = chg_key(b, &b->c[i], &tn);
		/* the block holding the term: the greatest first term <= it */
		if ((rc = terms_key(&b->kb, tk, tn, bucket, b->sealed)))
			break;
		MDB_val k = { b->kb.len, b->kb.data }, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		int found = 0;
		if (r == 0 && k.mv_size == b->kb.len && memcmp(k.mv_data, b->kb.data, k.mv_size) == 0) {
			found = 1;
		} else if (r == 0 || r == MDB_NOTFOUND) {
			MDB_val k1 = k;
			int r1 = r;
			r = r == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
			if (r == 0 && has_prefix(&k, pre, pn)) {
				found = 1;
			} else if (r1 == 0 && has_prefix(&k1, pre, pn)) {
				/* below the first block: into the first block */
				k = k1;
				r = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
				found = r == 0;
			}
			if (r == MDB_NOTFOUND)
				r = 0;
		}
		if (r) {
			rc = ml_store_errcode(r);
			break;
		}
		blk_reset(&b->old);
		ml_buf_reset(&b->okey);
		const char *upper = NULL;
		size_t un = 0;
		ml_buf_t ub = ML_BUF_INIT;
		if (found) {
			if ((rc = ml_buf_append(&b->okey, k.mv_data, k.mv_size)))
				break;
			if ((rc = blk_decode(&b->old, v.mv_data, v.mv_size, bucket)))
				break;
			MDB_val k2, v2;
			r = mdb_cursor_get(cur, &k2, &v2, MDB_NEXT);
			if (r == 0 && has_prefix(&k2, pre, pn)) {
				if ((rc = ml_buf_append(&ub, (const char *)k2.mv_data + pn, k2.mv_size - pn))) {
					ml_buf_free(&ub);
					break;
				}
				upper = ub.data;
				un = ub.len;
			} else if (r && r != MDB_NOTFOUND) {
				rc = ml_store_errcode(r);
				ml_buf_free(&ub);
				break;
			}
		}
		/* the changes this block takes: terms below the next block's first */
		size_t e = i;
		while (e < j) {
			size_t en;
			const char *ek = chg_key(b, &b->c[e], &en);
			if (upper && term_cmp(ek + 1, en - 1, upper, un) >= 0)
				break;
			e++;
		}
		/* merge old entries and the changed terms into nb */
		blk_reset(&b->nb);
		b->changed = 0;
		size_t a = 0;
		while (!rc && (a < b->old.ne || i < e)) {
			size_t cn = 0;
			const char *ck = i < e ? chg_key(b, &b->c[i], &cn) : NULL;
			const tent_t *oe = a < b->old.ne ? &b->old.e[a] : NULL;
			int c = !ck ? -1 : !oe ? 1 : term_cmp(ent_term(&b->old, oe), oe->tlen, ck + 1, cn - 1);
			if (c < 0) {
				/* an old term, unchanged */
				tent_t *ne = blk_add(&b->nb, ent_term(&b->old, oe), oe->tlen);
				if (!ne) {
					rc = ML_ENOMEM;
					break;
				}
				ne->n = oe->n;
				ne->total = oe->total;
				if (oe->n) {
					uint64_t *ids = blk_ids(&b->nb, oe->n);
					if (!ids) {
						rc = ML_ENOMEM;
						break;
					}
					memcpy(ids, b->old.ids + oe->ioff, oe->n * sizeof *ids);
					b->nb.e[b->nb.ne - 1].ioff = (uint32_t)(ids - b->nb.ids);
				}
				a++;
				continue;
			}
			/* a changed term: its changes are [i, t) */
			size_t t = i + 1;
			while (t < e && b->c[t].term == b->c[i].term)
				t++;
			const char *term = ck + 1;
			size_t termn = cn - 1;
			uint64_t total = 0;
			size_t oldn = 0;
			const uint64_t *oldids = NULL;
			int listed = 0;
			if (c == 0) {
				listed = oe->n == 0;
				total = oe->total;
				oldn = oe->n;
				oldids = b->old.ids + oe->ioff;
				a++;
			}
			if (listed) {
				rc = apply_lists(b, cur, tag, bucket, term, termn, i, t, &total);
				if (!rc && total) {
					tent_t *ne = blk_add(&b->nb, term, termn);
					if (!ne)
						rc = ML_ENOMEM;
					else
						ne->total = total;
				}
			} else {
				if ((rc = grow_ids(b, oldn + (t - i))))
					break;
				size_t nn = merge_ids(b, i, t, oldids, oldn, b->ids);
				b->delta += (int64_t)nn - (int64_t)oldn;
				if (nn && ids_size(ml_bucket_first(bucket), b->ids, nn, 1) > ML_POST_INLINE_MAX) {
					/* too many for the term block: list blocks */
					rc = write_lists(b, cur, tag, bucket, term, termn, b->ids, nn);
					tent_t *ne = rc ? NULL : blk_add(&b->nb, term, termn);
					if (!rc && !ne)
						rc = ML_ENOMEM;
					if (ne)
						ne->total = nn;
				} else if (nn) {
					tent_t *ne = blk_add(&b->nb, term, termn);
					uint64_t *ids = ne ? blk_ids(&b->nb, nn) : NULL;
					if (!ids) {
						rc = ML_ENOMEM;
						break;
					}
					memcpy(ids, b->ids, nn * sizeof *ids);
					ne = &b->nb.e[b->nb.ne - 1];
					ne->n = (uint32_t)nn;
					ne->ioff = (uint32_t)(ids - b->nb.ids);
				}
			}
			i = t;
		}
		ml_buf_free(&ub);
		if (rc)
			break;
		if (!b->changed)
			continue;   /* the block stays as it is */
#ifdef ML_DEBUG
		/* the old block's terms (ascending: blk_decode checks) and the
		 * changed ones (sorted), merged: ascending and distinct */
		for (size_t x = 1; x < b->nb.ne; x++)
			ML_ASSERT(term_cmp(ent_term(&b->nb, &b->nb.e[x - 1]), b->nb.e[x - 1].tlen,
			                   ent_term(&b->nb, &b->nb.e[x]), b->nb.e[x].tlen) < 0);
#endif
		/* the old block goes; its entries come back split by size */
		if (found && (rc = del_key(cur, b->okey.data, b->okey.len)))
			break;
		size_t s = 0;
		while (s < b->nb.ne && !rc) {
			size_t t = s + 1, size = ent_size(&b->nb, &b->nb.e[s], bucket);
			while (t < b->nb.ne && size + ent_size(&b->nb, &b->nb.e[t], bucket) <= ML_POST_BLOCK_MAX) {
				size += ent_size(&b->nb, &b->nb.e[t], bucket);
				t++;
			}
			const tent_t *fe = &b->nb.e[s];
			ml_buf_reset(&b->kb);
			rc = ml_buf_append(&b->kb, pre, pn);
			if (!rc)
				rc = ml_buf_append(&b->kb, ent_term(&b->nb, fe), fe->tlen);
			if (!rc)
				rc = blk_encode(&b->nb, s, t, bucket, &b->enc);
			/* ent_size is an upper bound, so a block of several terms is
			 * within the limit; a term alone is too, unless it came so from
			 * a stored block */
			ML_ASSERT(rc || t == s + 1 || b->enc.len <= ML_POST_BLOCK_MAX);
			if (!rc)
				rc = put_val(cur, &b->kb, &b->enc);
			s = t;
		}
	}
	return rc;
}

int ml_post_batch_write(ml_post_batch_t *b, MDB_txn *txn, MDB_dbi dbi, int64_t *delta)
{
	b->delta = 0;
	if (delta)
		*delta = 0;
	if (!b->n)
		return ML_OK;
	MDB_cursor *cur = NULL;
	int rc = sort_changes(b);
#ifdef ML_DEBUG
	/* the merge takes each (tag, day) and term as one run, docids ascending */
	for (size_t i = 1; i < b->n && !rc; i++)
		ML_ASSERT(cmp_chg(&b->c[i - 1], &b->c[i]) < 0);
#endif
	if (!rc)
		rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &cur));
	size_t i = 0;
	while (i < b->n && !rc) {
		uint64_t tb = b->c[i].pfx >> 40;
		size_t j = i + 1;
		while (j < b->n && b->c[j].pfx >> 40 == tb)
			j++;
		int tag = (int)(tb >> 16);
		uint32_t bucket = (uint32_t)(tb & 0xffff);
		/* a sealed day: its removals there first; what is added goes to
		 * the open part, which a reader joins to it (postings.h) */
		unsigned char pre[5];
		size_t pn = key_pre(pre, tag, bucket, 1, KIND_TERMS) - 1;
		MDB_val k = { pn, pre }, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (r == 0 && has_prefix(&k, pre, pn)) {
			b->sealed = b->dels_only = 1;
			rc = apply_bucket(b, cur, tag, bucket, i, j);
			b->sealed = b->dels_only = 0;
		} else if (r && r != MDB_NOTFOUND) {
			rc = ml_store_errcode(r);
		}
		if (!rc)
			rc = apply_bucket(b, cur, tag, bucket, i, j);
		i = j;
	}
	if (cur)
		mdb_cursor_close(cur);
	if (!rc && delta)
		*delta = b->delta;
	if (!rc)
		ml_post_batch_reset(b);
	return rc;
}

/* ---- sealing a day ---- */

void ml_post_seal_due(uint64_t oldest, uint64_t newest, int64_t sealed, uint32_t *from, uint32_t *to)
{
	*from = *to = 0;
	if (!newest)
		return;
	uint64_t first = sealed >= 0 ? (uint64_t)sealed + 1 : ml_docid_bucket(oldest);
	uint64_t nsec = ml_docid_sec(newest);
	uint64_t last = nsec < ML_POST_SEAL_AFTER ? 0 : (nsec - ML_POST_SEAL_AFTER) / ML_BUCKET_SECONDS;
	/* days [first, last) have ended ML_POST_SEAL_AFTER ago */
	if (last > first && last <= 0xffff) {
		*from = (uint32_t)first;
		*to = (uint32_t)last;
	}
}

/* A (key, value) copied out. */
typedef struct {
	size_t koff, kn, voff, vn;
} kv_t;

/* Put a key of the sealed part: appended when it is the largest of the
 * table (a day sealed after the ones before it), else put where it goes. */
static int put_sealed(MDB_cursor *cur, const ml_buf_t *k, const void *v, size_t vn)
{
	MDB_val kk = { k->len, k->data }, vv = { vn, (void *)v };
	int r = mdb_cursor_put(cur, &kk, &vv, MDB_APPEND);
	if (r == MDB_KEYEXIST)
		r = mdb_cursor_put(cur, &kk, &vv, 0);
	return ml_store_errcode(r);
}

/* Move the keys of one (tag, bucket) from the open part to the sealed part:
 * term blocks packed full, list blocks as they were, in key order. */
static int seal_one(MDB_cursor *cur, const unsigned char pre[3])
{
	ml_buf_t data = ML_BUF_INIT, enc = ML_BUF_INIT, key = ML_BUF_INIT;
	kv_t *kv = NULL;
	size_t n = 0, cap = 0;
	blk_t all = { 0 };
	int rc = 0;
	uint32_t bucket = (uint32_t)pre[1] << 8 | pre[2];
	unsigned char spre[5];
	size_t spn = key_pre(spre, pre[0], bucket, 1, KIND_TERMS) - 1;
	MDB_val k = { spn, spre }, v;
	int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (r == 0 && has_prefix(&k, spre, spn))
		return ML_OK;   /* sealed before: what came since stays in the open part */
	if (r && r != MDB_NOTFOUND)
		return ml_store_errcode(r);
	k = (MDB_val){ 3, (void *)pre };
	r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (r == 0 && !rc && has_prefix(&k, pre, 3)) {
		rc = ml_array_grow((void **)&kv, &cap, sizeof *kv, n + 1, 256);
		if (rc)
			break;
		kv[n] = (kv_t){ data.len, k.mv_size, data.len + k.mv_size, v.mv_size };
		rc = ml_buf_append(&data, k.mv_data, k.mv_size);
		if (!rc)
			rc = ml_buf_append(&data, v.mv_data, v.mv_size);
		n++;
		r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (!rc && r && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	/* every term block's entries, in order */
	for (size_t i = 0; i < n && !rc; i++) {
		const unsigned char *kp = (const unsigned char *)data.data + kv[i].koff;
		if (kv[i].kn >= 4 && kp[3] == KIND_TERMS)
			rc = blk_decode(&all, data.data + kv[i].voff, kv[i].vn, bucket);
	}
	/* out with the old keys */
	for (size_t i = 0; i < n && !rc; i++) {
		MDB_val dk = { kv[i].kn, data.data + kv[i].koff };
		int r2 = mdb_del(mdb_cursor_txn(cur), mdb_cursor_dbi(cur), &dk, NULL);
		if (r2 && r2 != MDB_NOTFOUND)
			rc = ml_store_errcode(r2);
	}
	/* in key order: the term blocks, packed full, then the list blocks as they were */
	size_t s = 0;
	while (s < all.ne && !rc) {
		size_t t = s + 1, size = ent_size(&all, &all.e[s], bucket);
		while (t < all.ne && size + ent_size(&all, &all.e[t], bucket) <= ML_POST_BLOCK_MAX) {
			size += ent_size(&all, &all.e[t], bucket);
			t++;
		}
		ml_buf_reset(&key);
		unsigned char h[5];
		rc = ml_buf_append(&key, h, key_pre(h, pre[0], bucket, 1, KIND_TERMS));
		if (!rc)
			rc = ml_buf_append(&key, ent_term(&all, &all.e[s]), all.e[s].tlen);
		if (!rc)
			rc = blk_encode(&all, s, t, bucket, &enc);
		ML_ASSERT(rc || t == s + 1 || enc.len <= ML_POST_BLOCK_MAX);
		if (!rc)
			rc = put_sealed(cur, &key, enc.data, enc.len);
		s = t;
	}
	/* the list blocks: the same key after the prefix (length, term, first docid) */
	for (size_t i = 0; i < n && !rc; i++) {
		const unsigned char *kp = (const unsigned char *)data.data + kv[i].koff;
		if (kv[i].kn >= 4 && kp[3] == KIND_LIST) {
			ml_buf_reset(&key);
			unsigned char h[5];
			rc = ml_buf_append(&key, h, key_pre(h, pre[0], bucket, 1, KIND_LIST));
			if (!rc)
				rc = ml_buf_append(&key, kp + 4, kv[i].kn - 4);
			if (!rc)
				rc = put_sealed(cur, &key, data.data + kv[i].voff, kv[i].vn);
		}
	}
	free(kv);
	blk_free(&all);
	ml_buf_free(&data);
	ml_buf_free(&enc);
	ml_buf_free(&key);
	return rc;
}

int ml_post_seal(MDB_txn *txn, MDB_dbi dbi, uint32_t bucket)
{
	MDB_cursor *cur;
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &cur));
	unsigned t = 0;
	while (!rc && t < SEALED) {
		unsigned char pre[3] = { (unsigned char)t, (unsigned char)(bucket >> 8), (unsigned char)bucket };
		MDB_val k = { 3, pre }, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (r == MDB_NOTFOUND)
			break;
		if (r) {
			rc = ml_store_errcode(r);
			break;
		}
		const unsigned char *kp = k.mv_data;
		if (k.mv_size < 3) {
			rc = ML_CORRUPT_BKPT;
			break;
		}
		unsigned kt = kp[0];
		uint32_t kb = (uint32_t)kp[1] << 8 | kp[2];
		if (kt == t && kb == bucket)
			rc = seal_one(cur, pre);
		if (kt > t)
			t = kt;
		else
			t++;
	}
	mdb_cursor_close(cur);
	return rc;
}

/* ---- reading ---- */

/* The term block holding term key (tag + term) in bucket, copied into val;
 * 1 when found (the term may still be absent from it), 0 when none. */
static int find_block_at(MDB_cursor *cur, const char *key, size_t n, uint32_t bucket, int sealed, ml_buf_t *kb,
                         MDB_val *out, int *err)
{
	*err = terms_key(kb, key, n, bucket, sealed);
	if (*err)
		return 0;
	size_t pn = sealed ? 5 : 4;
	MDB_val k = { kb->len, kb->data }, v;
	int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (!(r == 0 && k.mv_size == kb->len && memcmp(k.mv_data, kb->data, kb->len) == 0)) {
		if (r && r != MDB_NOTFOUND) {
			*err = ml_store_errcode(r);
			return 0;
		}
		r = r == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
		if (r == MDB_NOTFOUND || (r == 0 && !has_prefix(&k, kb->data, pn)))
			return 0;
		if (r) {
			*err = ml_store_errcode(r);
			return 0;
		}
	}
	*out = v;
	return 1;
}

/* The same, the value copied (the cursor may move on). */
static int find_block(MDB_cursor *cur, const char *key, size_t n, uint32_t bucket, int sealed, ml_buf_t *kb,
                      ml_buf_t *val, int *err)
{
	MDB_val v;
	if (!find_block_at(cur, key, n, bucket, sealed, kb, &v, err))
		return 0;
	ml_buf_reset(val);
	*err = ml_buf_append(val, v.mv_data, v.mv_size);
	return *err ? 0 : 1;
}

/* Skip n docid codes (get_ids' format) without decoding them. */
static int skip_ids(const unsigned char **p, const unsigned char *end, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v, ex;
		if (ml_get_varint(p, end, &v) || ((v & 3) == 3 && ml_get_varint(p, end, &ex)))
			return ML_CORRUPT_BKPT;
	}
	return ML_OK;
}

/* Term (tn bytes) in the term block data[0..len) of bucket, as a search
 * reads it: the terms before it are walked, not kept, and only its own
 * docids are decoded.  1 when found, with its docids in *ids (*nids of
 * them; *cap grown) or, *nids = 0, their number in list blocks in *total;
 * 0 when absent; ML_ECORRUPT or ML_ENOMEM.  Every length is checked
 * against the block's bounds. */
static int blk_lookup(const void *data, size_t len, uint32_t bucket, const char *term, size_t tn,
                      uint64_t **ids, size_t *cap, size_t *nids, uint64_t *total)
{
	const unsigned char *p = data, *end = p + len;
	uint64_t nt;
	if (ml_get_varint(&p, end, &nt) || nt == 0 || nt > len)
		return ML_CORRUPT_BKPT;
	char cur[ML_TERM_MAX + 1];
	size_t cn = 0;
	for (uint64_t i = 0; i < nt; i++) {
		uint64_t shared, rest, n;
		if (ml_get_varint(&p, end, &shared) || ml_get_varint(&p, end, &rest) || shared > cn ||
		    rest > (uint64_t)(end - p) || shared + rest > ML_TERM_MAX || (i && shared + rest == 0))
			return ML_CORRUPT_BKPT;
		/* (the order of the terms is not checked here: a block out of
		 * order can only make a term look absent) */
		for (size_t k = 0; k < rest; k++)
			cur[shared + k] = (char)p[k];
		p += rest;
		cn = (size_t)(shared + rest);
		if (ml_get_varint(&p, end, &n) || n > (uint64_t)(end - p))
			return ML_CORRUPT_BKPT;
		/* terms are short: a plain loop beats memcmp's call */
		int c = 0;
		for (size_t k = 0, m = ML_MIN(cn, tn); k < m && !c; k++)
			c = (unsigned char)cur[k] - (unsigned char)term[k];
		if (!c)
			c = (cn > tn) - (cn < tn);
		if (c > 0)
			return 0;
		if (c < 0) {
			int rc = n ? skip_ids(&p, end, n) : ml_get_varint(&p, end, &n) ? ML_CORRUPT_BKPT : ML_OK;
			if (rc)
				return rc;
			continue;
		}
		if (n == 0) {
			if (ml_get_varint(&p, end, total) || *total == 0)
				return ML_CORRUPT_BKPT;
			*nids = 0;
			return 1;
		}
		if (ml_array_grow((void **)ids, cap, sizeof **ids, (size_t)n, 16))
			return ML_ENOMEM;
		int rc = get_ids(&p, end, ml_bucket_first(bucket), ml_bucket_last(bucket), (size_t)n, *ids, 1);
		if (rc)
			return rc;
		*nids = (size_t)n;
		*total = n;
		return 1;
	}
	return 0;
}

/* The docids of the term in one part of the table. */
static int plist_open_one(ml_plist_t *it, MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, uint32_t bucket,
                          int sealed)
{
	memset(it, 0, sizeof *it);
	it->state = 2;
	if (n < 1 || n > 1 + ML_TERM_MAX)
		return ML_OK;
	MDB_cursor *cur;
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &cur));
	if (rc)
		return rc;
	ml_buf_t kb = ML_BUF_INIT;
	MDB_val v;
	int err = 0;
	if (find_block_at(cur, key, n, bucket, sealed, &kb, &v, &err)) {
		uint64_t total = 0;
		int r = blk_lookup(v.mv_data, v.mv_size, bucket, key + 1, n - 1, &it->ids, &it->cap, &it->nids,
		                   &total);
		if (r < 0) {
			err = r;
		} else if (r && it->nids) {
			it->inline_only = 1;
			it->count = it->nids;
			it->state = 0;
		} else if (r) {
			it->count = total;
			it->state = 0;
			err = list_key(&it->key, key[0], bucket, key + 1, n - 1, NULL, sealed);
			it->cur = cur;
			cur = NULL;
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	ml_buf_free(&kb);
	if (err) {
		ml_plist_close(it);
		it->state = 2;
	}
	return err;
}

int ml_plist_open(ml_plist_t *it, MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, uint32_t bucket)
{
	ml_plist_t sealed;
	int rc = plist_open_one(it, txn, dbi, key, n, bucket, 0);
	if (!rc)
		rc = plist_open_one(&sealed, txn, dbi, key, n, bucket, 1);
	if (rc) {
		ml_plist_close(it);
		return rc;
	}
	if (!sealed.count)
		return ML_OK;
	if (!it->count) {
		ml_plist_close(it);
		*it = sealed;
		return ML_OK;
	}
	/* in both parts: the open part's list, joined to the sealed part's */
	it->other = malloc(sizeof *it->other);
	if (!it->other) {
		ml_plist_close(&sealed);
		ml_plist_close(it);
		return ML_ENOMEM;
	}
	*it->other = sealed;
	it->count += sealed.count;
	return ML_OK;
}

void ml_plist_close(ml_plist_t *it)
{
	if (it->cur)
		mdb_cursor_close(it->cur);
	if (it->other) {
		ml_plist_close(it->other);
		free(it->other);
	}
	ml_buf_free(&it->key);
	free(it->ids);
	memset(it, 0, sizeof *it);
	it->state = 2;
}

/* Load the list block holding target (greatest first <= target).  0 when
 * there is none (every docid is above target). */
static int plist_load(ml_plist_t *it, uint64_t target)
{
	size_t plen = it->key.len;
	unsigned char kd[8];
	ml_put_be64(kd, target == UINT64_MAX ? target : target + 1);
	if (ml_buf_append(&it->key, kd, 8))
		return 0;
	MDB_val k = { it->key.len, it->key.data }, v;
	int r = mdb_cursor_get(it->cur, &k, &v, MDB_SET_RANGE);
	it->key.len = plen;
	r = r == 0 ? mdb_cursor_get(it->cur, &k, &v, MDB_PREV) : r == MDB_NOTFOUND
	               ? mdb_cursor_get(it->cur, &k, &v, MDB_LAST) : r;
	if (r || k.mv_size != plen + 8 || !has_prefix(&k, it->key.data, plen))
		return 0;
	uint64_t first = ml_get_be64((const unsigned char *)k.mv_data + plen);
	const unsigned char *kp = (const unsigned char *)it->key.data;
	uint32_t bucket = (uint32_t)kp[1] << 8 | kp[2];
	if (list_decode(v.mv_data, v.mv_size, first, bucket, &it->ids, &it->cap, &it->nids))
		return 0;
	it->lo_first = first;
	return 1;
}

static uint64_t plist_seek_one(ml_plist_t *it, uint64_t target);

uint64_t ml_plist_seek(ml_plist_t *it, uint64_t target)
{
	if (!it->other)
		return plist_seek_one(it, target);
	uint64_t a = plist_seek_one(it, target), b = plist_seek_one(it->other, target);
	return a > b ? a : b;
}

static uint64_t plist_seek_one(ml_plist_t *it, uint64_t target)
{
	if (it->state == 2)
		return 0;
	if (it->state == 1 && target >= it->val) {
		/* still the answer: the docid after it is above every target so
		 * far, and targets do not grow */
		ML_ASSERT(it->pos + 1 >= it->nids || it->ids[it->pos + 1] > target);
		return it->val;
	}
	size_t hi;   /* ids[hi] is the first candidate from the top */
	if (!it->nids || it->ids[0] > target) {
		/* the block below the one in hand (targets only go down) */
		if (it->inline_only || !plist_load(it, target) || !it->nids || it->ids[0] > target) {
			it->state = 2;
			return 0;
		}
		hi = it->nids - 1;
	} else {
		hi = it->state == 1 ? it->pos : it->nids - 1;
	}
	/* targets come down a little at a time: gallop down from the last
	 * answer, then halve (ids[0] <= target here) */
	size_t lo = hi, step = 1;
	while (lo > 0 && it->ids[lo] > target) {
		hi = lo;
		lo = lo > step ? lo - step : 0;
		step *= 2;
	}
	while (lo < hi) {    /* ids[lo] <= target; the answer is in [lo, hi] */
		size_t mid = lo + (hi - lo + 1) / 2;
		if (it->ids[mid] <= target)
			lo = mid;
		else
			hi = mid - 1;
	}
	it->pos = lo;
	it->val = it->ids[lo];
	it->state = 1;
	return it->val;
}

/* Side by side: from the answers in hand (a->val > b->val or the other
 * way), step the higher list down one docid at a time while the two lists
 * interleave closely; a list that runs past its block, or steps WALK times
 * in a row, goes back to seeking (its gallop skips a sparse run). */
#define WALK 8

uint64_t ml_plist_meet(ml_plist_t *a, ml_plist_t *b, uint64_t *tp)
{
	uint64_t target = *tp;
	for (unsigned round = 0;; round++) {
		if (round == ML_MEET_STEPS) {
			*tp = target;
			return 0;
		}
		uint64_t x = ml_plist_seek(a, target);
		uint64_t y = x ? ml_plist_seek(b, x) : 0;
		if (!y) {
			*tp = 0;
			return 0;
		}
		if (y == x)
			return x;
		/* y < x: a steps down to y or below */
		if (!a->other && !b->other && a->state == 1 && b->state == 1) {
			size_t i = a->pos, j = b->pos;
			unsigned run = 0;
			uint64_t u = a->ids[i], v = b->ids[j];
			while (run < WALK) {
				if (u > v) {
					if (!i)
						break;
					u = a->ids[--i];
				} else if (v > u) {
					if (!j)
						break;
					v = b->ids[--j];
				} else {
					break;
				}
				run++;
			}
			/* both answers as seeks to min(u, v) would leave them:
			 * ids[pos] <= target < ids[pos + 1] */
			uint64_t t = u < v ? u : v;
			if (a->ids[i] <= t) {
				a->pos = i;
				a->val = a->ids[i];
			}
			if (b->ids[j] <= t) {
				b->pos = j;
				b->val = b->ids[j];
			}
			if (u == v)
				return u;
			target = t;
			continue;
		}
		target = y;
	}
}

/* The docids of the terms ml_post_prefix_ids gathers. */
typedef struct {
	ml_ids_t *out;
	MDB_cursor *lc;         /* list blocks */
	ml_buf_t lk;
	uint64_t *tmp;
	size_t tcap;
} gather_t;

/* Append the docids of entry e of blk (tag, bucket, part) to g->out. */
static int gather_entry(gather_t *g, const blk_t *blk, const tent_t *e, int tag, uint32_t bucket, int sealed)
{
	ml_ids_t *o = g->out;
	if (e->n) {
		if (ml_array_grow((void **)&o->v, &o->cap, sizeof *o->v, o->n + e->n, 1024))
			return ML_ENOMEM;
		memcpy(o->v + o->n, blk->ids + e->ioff, e->n * sizeof *o->v);
		o->n += e->n;
		return ML_OK;
	}
	int rc = list_key(&g->lk, tag, bucket, ent_term(blk, e), e->tlen, NULL, sealed);
	size_t plen = g->lk.len;
	MDB_val k = { plen, g->lk.data }, v;
	int r = rc ? MDB_NOTFOUND : mdb_cursor_get(g->lc, &k, &v, MDB_SET_RANGE);
	while (r == 0 && !rc && k.mv_size == plen + 8 && has_prefix(&k, g->lk.data, plen)) {
		size_t nids;
		uint64_t first = ml_get_be64((const unsigned char *)k.mv_data + plen);
		rc = list_decode(v.mv_data, v.mv_size, first, bucket, &g->tmp, &g->tcap, &nids);
		if (!rc && ml_array_grow((void **)&o->v, &o->cap, sizeof *o->v, o->n + nids, 1024))
			rc = ML_ENOMEM;
		if (!rc) {
			memcpy(o->v + o->n, g->tmp, nids * sizeof *o->v);
			o->n += nids;
		}
		r = rc ? 0 : mdb_cursor_get(g->lc, &k, &v, MDB_NEXT);
	}
	if (!rc && r && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	return rc;
}

/* ml_post_terms in one part of the table; with g, the terms' docids are
 * gathered instead of fn called. */
static int terms_one(MDB_txn *txn, MDB_dbi dbi, const char *prefix, size_t n, uint32_t bucket, int sealed,
                     int (*fn)(void *ctx, const char *key, size_t n), void *ctx, gather_t *g)
{
	size_t pn = sealed ? 5 : 4;
	MDB_cursor *cur;
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &cur));
	if (rc)
		return rc;
	ml_buf_t kb = ML_BUF_INIT, val = ML_BUF_INIT;
	blk_t blk = { 0 };
	char key[ML_TERM_MAX + 2];
	int err = 0, stop = 0;
	int r;
	/* the block holding the prefix, then the blocks after it while they may match */
	if (!find_block(cur, prefix, n, bucket, sealed, &kb, &val, &err)) {
		if (err)
			goto done;
		/* every block starts above the prefix: from the first */
		MDB_val k = { pn, kb.data }, v;
		r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (r || !has_prefix(&k, kb.data, pn))
			goto done;
		ml_buf_reset(&val);
		if ((err = ml_buf_append(&val, v.mv_data, v.mv_size)))
			goto done;
	}
	unsigned char pre[5];
	memcpy(pre, kb.data, pn);
	for (;;) {
		blk_reset(&blk);
		if ((err = blk_decode(&blk, val.data, val.len, bucket)))
			break;
		int past = 0;
		for (size_t i = 0; i < blk.ne && !stop; i++) {
			const tent_t *e = &blk.e[i];
			const char *t = ent_term(&blk, e);
			if (e->tlen >= n - 1 && memcmp(t, prefix + 1, n - 1) == 0) {
				if (g) {
					if ((err = gather_entry(g, &blk, e, (unsigned char)prefix[0], bucket, sealed)))
						break;
					continue;
				}
				key[0] = prefix[0];
				memcpy(key + 1, t, e->tlen);
				stop = fn(ctx, key, e->tlen + 1);
			} else if (term_cmp(t, e->tlen, prefix + 1, n - 1) > 0) {
				past = 1;
				break;
			}
		}
		if (stop || past || err)
			break;
		MDB_val k, v;
		r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		if (r || !has_prefix(&k, pre, pn))
			break;
		ml_buf_reset(&val);
		if ((err = ml_buf_append(&val, v.mv_data, v.mv_size)))
			break;
	}
done:
	mdb_cursor_close(cur);
	ml_buf_free(&kb);
	ml_buf_free(&val);
	blk_free(&blk);
	return err ? err : stop;
}

int ml_post_terms(MDB_txn *txn, MDB_dbi dbi, const char *prefix, size_t n, uint32_t bucket,
                  int (*fn)(void *ctx, const char *key, size_t n), void *ctx)
{
	/* the sealed part, then the open part (a term in both comes twice) */
	int rc = terms_one(txn, dbi, prefix, n, bucket, 1, fn, ctx, NULL);
	return rc ? rc : terms_one(txn, dbi, prefix, n, bucket, 0, fn, ctx, NULL);
}

/* v[0..n) in descending order: an LSD radix sort on the bits that differ
 * among them (a day's docids differ in their low 37 bits or so: four passes
 * of 11 bits), tmp as large as v. */
static void sort_ids_desc(uint64_t *v, uint64_t *tmp, size_t n)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	unsigned bits = hi > lo ? 64 - (unsigned)__builtin_clzll(hi - lo) : 0;
	uint64_t *src = v, *dst = tmp;
	for (unsigned shift = 0; shift < bits; shift += 11) {
		size_t count[2048] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[2047 - (((src[i] - lo) >> shift) & 2047)]++;
		size_t pos = 0;
		for (size_t d = 0; d < 2048; d++) {
			size_t c = count[d];
			count[d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[2047 - (((src[i] - lo) >> shift) & 2047)]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
}

int ml_post_prefix_ids(MDB_txn *txn, MDB_dbi dbi, const char *prefix, size_t n, uint32_t bucket, ml_ids_t *out)
{
	out->n = 0;
	gather_t g = { out, NULL, ML_BUF_INIT, NULL, 0 };
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &g.lc));
	for (int sealed = 1; sealed >= 0 && !rc; sealed--)
		rc = terms_one(txn, dbi, prefix, n, bucket, sealed, NULL, NULL, &g);
	if (g.lc)
		mdb_cursor_close(g.lc);
	ml_buf_free(&g.lk);
	free(g.tmp);
	if (rc < 0 || rc > 0)
		return rc < 0 ? rc : ML_OK;
	if (out->n > 1) {
		uint64_t *tmp = malloc(out->n * sizeof *tmp);
		if (!tmp)
			return ML_ENOMEM;
		sort_ids_desc(out->v, tmp, out->n);
		free(tmp);
		size_t k = 1;
		for (size_t i = 1; i < out->n; i++)
			if (out->v[i] != out->v[k - 1])
				out->v[k++] = out->v[i];
		out->n = k;
	}
	return ML_OK;
}

int ml_post_each(MDB_txn *txn, MDB_dbi dbi,
                 int (*fn)(void *ctx, const char *key, size_t n, uint32_t bucket, uint64_t docid), void *ctx)
{
	MDB_cursor *cur, *lc;
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &cur));
	if (rc)
		return rc;
	if ((rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &lc)))) {
		mdb_cursor_close(cur);
		return rc;
	}
	blk_t blk = { 0 };
	ml_buf_t lk = ML_BUF_INIT;
	uint64_t *ids = NULL;
	size_t cap = 0, nids;
	char key[ML_TERM_MAX + 2];
	MDB_val k, v;
	int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST), stop = 0;
	while (r == 0 && !rc && !stop) {
		const unsigned char *kp = k.mv_data;
		/* open part: tag | bucket | kind; sealed: SEALED | bucket | tag | kind */
		int sealed = k.mv_size >= 1 && kp[0] == SEALED;
		size_t hn = sealed ? 5 : 4;
		int tag = k.mv_size >= hn ? kp[sealed ? 3 : 0] : 0;
		int kind = k.mv_size >= hn ? kp[hn - 1] : -1;
		if (kind == KIND_TERMS) {
			uint32_t bucket = (uint32_t)kp[1] << 8 | kp[2];
			blk_reset(&blk);
			rc = blk_decode(&blk, v.mv_data, v.mv_size, bucket);
			for (size_t i = 0; i < blk.ne && !rc && !stop; i++) {
				const tent_t *e = &blk.e[i];
				key[0] = (char)tag;
				memcpy(key + 1, ent_term(&blk, e), e->tlen);
				if (e->n) {
					for (uint32_t x = 0; x < e->n && !stop; x++)
						stop = fn(ctx, key, e->tlen + 1, bucket, blk.ids[e->ioff + x]);
					continue;
				}
				/* its list blocks, in order */
				rc = list_key(&lk, tag, bucket, key + 1, e->tlen, NULL, sealed);
				size_t plen = lk.len;
				MDB_val k2 = { plen, lk.data }, v2;
				int r2 = rc ? MDB_NOTFOUND : mdb_cursor_get(lc, &k2, &v2, MDB_SET_RANGE);
				while (r2 == 0 && !rc && !stop && k2.mv_size == plen + 8 && has_prefix(&k2, lk.data, plen)) {
					uint64_t first = ml_get_be64((const unsigned char *)k2.mv_data + plen);
					rc = list_decode(v2.mv_data, v2.mv_size, first, bucket, &ids, &cap, &nids);
					for (size_t x = 0; x < nids && !rc && !stop; x++)
						stop = fn(ctx, key, e->tlen + 1, bucket, ids[x]);
					r2 = mdb_cursor_get(lc, &k2, &v2, MDB_NEXT);
				}
			}
		} else if (kind != KIND_LIST) {
			rc = ML_CORRUPT_BKPT;
		}
		if (!rc && !stop)
			r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (!rc && r && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	mdb_cursor_close(cur);
	mdb_cursor_close(lc);
	blk_free(&blk);
	ml_buf_free(&lk);
	free(ids);
	return rc;
}

int ml_post_check_value(const void *p, size_t n, int list, uint64_t first)
{
	uint32_t bucket = ml_docid_bucket(first);
	if (list) {
		uint64_t *ids = NULL;
		size_t cap = 0, nn;
		int rc = list_decode(p, n, first, bucket, &ids, &cap, &nn);
		free(ids);
		return rc;
	}
	blk_t b = { 0 };
	int rc = blk_decode(&b, p, n, bucket);
	/* a search's lookup of each term (and of terms around them) finds what
	 * the full decoding finds, or the same corruption */
	uint64_t *ids = NULL, total;
	size_t cap = 0, nids;
	for (size_t i = 0; i < b.ne && rc == 0; i++) {
		const tent_t *e = &b.e[i];
		int r = blk_lookup(p, n, bucket, ent_term(&b, e), e->tlen, &ids, &cap, &nids, &total);
		if (r != 1 || nids != e->n || (e->n && memcmp(ids, b.ids + e->ioff, e->n * sizeof *ids)) ||
		    (!e->n && total != e->total))
			rc = ML_EINVAL;
		char near[ML_TERM_MAX + 2];
		memcpy(near, ent_term(&b, e), e->tlen);
		near[e->tlen] = 0;
		if (blk_lookup(p, n, bucket, near, e->tlen + 1, &ids, &cap, &nids, &total) == 1 &&
		    !(i + 1 < b.ne && term_cmp(ent_term(&b, &b.e[i + 1]), b.e[i + 1].tlen, near, e->tlen + 1) == 0))
			rc = ML_EINVAL;
	}
	if (rc)   /* corrupt: the lookup may stop earlier, but must not crash */
		(void)blk_lookup(p, n, bucket, "zz", 2, &ids, &cap, &nids, &total);
	free(ids);
	blk_free(&b);
	return rc;
}

int ml_post_stat(MDB_txn *txn, MDB_dbi dbi, ml_post_stat_t *st)
{
	memset(st, 0, sizeof *st);
	MDB_cursor *cur;
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &cur));
	if (rc)
		return rc;
	MDB_val k, v;
	int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (r == 0) {
		const unsigned char *kp = k.mv_data;
		st->key_bytes += k.mv_size;
		st->value_bytes += v.mv_size;
		size_t hn = k.mv_size >= 1 && kp[0] == SEALED ? 5 : 4;
		if (k.mv_size >= hn && kp[hn - 1] == KIND_TERMS) {
			st->term_blocks++;
			const unsigned char *p = v.mv_data;
			uint64_t nt;
			if (ml_get_varint(&p, p + v.mv_size, &nt) == 0)
				st->terms += nt;
		} else {
			st->list_blocks++;
		}
		r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return r == MDB_NOTFOUND ? ML_OK : ml_store_errcode(r);
}

int ml_post_find(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, int64_t since_us, int64_t until_us,
                 uint64_t *ids, size_t cap, size_t *count)
{
	*count = 0;
	if (since_us < 0)
		since_us = 0;
	if (until_us < since_us)
		return ML_OK;
	uint64_t lo = ml_docid_make((uint64_t)since_us / 1000000, 0);
	uint64_t hi = ml_docid_make((uint64_t)until_us / 1000000 + 1, 0) - 1;
	for (uint32_t b = ml_docid_bucket(hi) + 1; b-- > ml_docid_bucket(lo) && *count < cap;) {
		ml_plist_t it;
		int rc = ml_plist_open(&it, txn, dbi, key, n, b);
		if (rc)
			return rc;
		for (uint64_t d = ml_plist_seek(&it, hi); d && d >= lo && *count < cap; d = d > 1 ? ml_plist_seek(&it, d - 1) : 0)
			ids[(*count)++] = d;
		ml_plist_close(&it);
	}
	return ML_OK;
}
