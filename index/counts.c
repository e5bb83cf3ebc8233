#include "counts.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "index/tokens.h"

#define HOUR_BYTES 4
#define KEY_MAX (HOUR_BYTES + 1 + ML_COUNTS_DOMAIN_MAX)

/* A docid the writer gives has a second of at most INT64_MAX / 10^6
 * (first_us / 10^6): its hour fits in 32 bits (the year 490,000). */
static void put_hour(unsigned char *k, uint64_t hour)
{
	ml_put_be32(k, hour > UINT32_MAX ? UINT32_MAX : (uint32_t)hour);
}

void ml_counts_rows(int64_t delta[ML_ST__COUNT], const ml_message_t *m, int sign)
{
	if (!m->nrcpts)
		delta[ml_message_row_status(m, NULL)] += sign;
	for (uint32_t i = 0; i < m->nrcpts; i++)
		if (!(m->rcpts[i].flags & ML_RCPT_HANDED_ON))
			delta[ml_message_row_status(m, &m->rcpts[i])] += sign;
}

/* ---- the deltas of a transaction: an open-addressing hash of keys ---- */

typedef struct {
	uint64_t hash;
	size_t off;               /* the key in pool */
	uint16_t len;
	int64_t d[ML_ST__COUNT];
} entry_t;

struct ml_counts_delta {
	entry_t *ents;
	size_t n, cap;
	uint32_t *slots;          /* entry index + 1; 0: empty */
	size_t nslots;            /* a power of two, at least twice n */
	ml_buf_t pool;
	int more;                 /* the keys added later counted too (directions, prefixes) */
};

int ml_counts_delta_new(ml_counts_delta_t **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? ML_OK : ML_ENOMEM;
}

void ml_counts_delta_free(ml_counts_delta_t *d)
{
	if (!d)
		return;
	free(d->ents);
	free(d->slots);
	ml_buf_free(&d->pool);
	free(d);
}

void ml_counts_delta_reset(ml_counts_delta_t *d)
{
	if (d->n && d->slots)
		memset(d->slots, 0, d->nslots * sizeof *d->slots);
	d->n = 0;
	ml_buf_reset(&d->pool);
}

static int rehash(ml_counts_delta_t *d)
{
	size_t ns = d->nslots ? d->nslots * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof *s);
	if (!s)
		return ML_ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		size_t j = (size_t)d->ents[i].hash & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(d->slots);
	d->slots = s;
	d->nslots = ns;
	return ML_OK;
}

/* The entry of key (made, zero, when new). */
static int entry_of(ml_counts_delta_t *d, const unsigned char *key, size_t len, entry_t **out)
{
	if (2 * (d->n + 1) > d->nslots) {
		int rc = rehash(d);
		if (rc)
			return rc;
	}
	uint64_t h = XXH3_64bits(key, len);
	size_t j = (size_t)h & (d->nslots - 1);
	for (; d->slots[j]; j = (j + 1) & (d->nslots - 1)) {
		entry_t *e = &d->ents[d->slots[j] - 1];
		if (e->hash == h && e->len == len && !memcmp(d->pool.data + e->off, key, len)) {
			*out = e;
			return ML_OK;
		}
	}
	int rc = ml_array_grow((void **)&d->ents, &d->cap, sizeof *d->ents, d->n + 1, 1024);
	size_t off = d->pool.len;
	if (!rc)
		rc = ml_buf_append(&d->pool, key, len);
	if (rc)
		return rc;
	entry_t *e = &d->ents[d->n];
	memset(e, 0, sizeof *e);
	e->hash = h;
	e->off = off;
	e->len = (uint16_t)len;
	d->slots[j] = (uint32_t)++d->n;
	*out = e;
	return ML_OK;
}

/* The key of term (n bytes; tag included) and hour into k: its length. */
static size_t make_key(unsigned char *k, const char *term, size_t n, uint64_t hour)
{
	put_hour(k, hour);
	memcpy(k + HOUR_BYTES, term, n);
	return HOUR_BYTES + n;
}

/* The key of the rows to domain d in hour (of released messages only:
 * released): 0 when d is not counted. */
static size_t domain_key(unsigned char *k, ml_slice_t d, int released, uint64_t hour)
{
	if (!d.n || d.n > ML_COUNTS_DOMAIN_MAX)
		return 0;
	char term[1 + ML_COUNTS_DOMAIN_MAX];
	term[0] = released ? ML_COUNTS_TAG_RELEASED : ML_TAG_TO_DOMAIN;
	for (size_t i = 0; i < d.n; i++)
		term[1 + i] = d.p[i] >= 'A' && d.p[i] <= 'Z' ? (char)(d.p[i] + 32) : d.p[i];
	return make_key(k, term, 1 + d.n, hour);
}

static int add(ml_counts_delta_t *d, const unsigned char *key, size_t len, ml_status_t st, int sign)
{
	entry_t *e;
	int rc = entry_of(d, key, len, &e);
	if (!rc)
		e->d[st] += sign;
	return rc;
}

/* The key of the rows of direction dir in hour: 0 when it is not one counted. */
static size_t direction_key(unsigned char *k, int dir, uint64_t hour)
{
	if (dir < ML_DIR_INBOUND || dir > ML_DIR_INTERNAL)
		return 0;
	const char term[2] = { ML_TAG_DIRECTION, (char)dir };
	return make_key(k, term, 2, hour);
}

/* The key of the rows whose address starts with the first n bytes of a, in
 * hour: 0 when a is shorter. */
static size_t prefix_key(unsigned char *k, ml_slice_t a, size_t n, uint64_t hour)
{
	if (a.n < n || !n || n > ML_COUNTS_PREFIX_MAX)
		return 0;
	char term[1 + ML_COUNTS_PREFIX_MAX];
	term[0] = ML_COUNTS_TAG_PREFIX;
	for (size_t i = 0; i < n; i++)
		term[1 + i] = a.p[i] >= 'A' && a.p[i] <= 'Z' ? (char)(a.p[i] + 32) : a.p[i];
	return make_key(k, term, 1 + n, hour);
}

/* Row r's prefix keys (to= and orig_to=, each distinct key once), +sign. */
static int add_prefixes(ml_counts_delta_t *d, const ml_message_t *m, const ml_rcpt_t *r, uint64_t hour,
                        ml_status_t st, int sign)
{
	ml_slice_t to = ml_message_str(m, r->to), orig = r->orig_to.len ? ml_message_str(m, r->orig_to) : ML_SLICE_NULL;
	int rc = ML_OK;
	for (size_t n = 1; n <= ML_COUNTS_PREFIX_MAX && !rc; n++) {
		unsigned char k[KEY_MAX], k2[KEY_MAX];
		size_t kn = prefix_key(k, to, n, hour), k2n = prefix_key(k2, orig, n, hour);
		if (kn)
			rc = add(d, k, kn, st, sign);
		if (!rc && k2n && (k2n != kn || memcmp(k, k2, kn)))
			rc = add(d, k2, k2n, st, sign);
	}
	return rc;
}

/* m's rows under the keys of all rows or of the released ones (released),
 * and of its direction and its recipients' prefixes (not released ones). */
static int add_rows(ml_counts_delta_t *d, const ml_message_t *m, int released, int sign)
{
	uint64_t hour = ml_docid_sec(m->docid) / 3600;
	unsigned char all[KEY_MAX], k[KEY_MAX], k2[KEY_MAX], dk[KEY_MAX];
	const char rel = ML_COUNTS_TAG_RELEASED;
	size_t an = make_key(all, &rel, released ? 1 : 0, hour);
	int more = d->more && !released;
	size_t dn = more ? direction_key(dk, m->direction, hour) : 0;
	int rc = ML_OK;
	if (!m->nrcpts)
		rc = add(d, all, an, ml_message_row_status(m, NULL), sign);
	if (!m->nrcpts && !rc && dn)
		rc = add(d, dk, dn, ml_message_row_status(m, NULL), sign);
	for (uint32_t i = 0; i < m->nrcpts && !rc; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		if (r->flags & ML_RCPT_HANDED_ON)
			continue;
		ml_status_t st = ml_message_row_status(m, r);
		rc = add(d, all, an, st, sign);
		if (!rc && dn)
			rc = add(d, dk, dn, st, sign);
		if (!rc && more)
			rc = add_prefixes(d, m, r, hour, st, sign);
		/* to= and orig_to=: a search by domain matches the row by either */
		size_t kn = domain_key(k, ml_addr_domain(ml_message_str(m, r->to)), released, hour);
		size_t k2n = r->orig_to.len ? domain_key(k2, ml_addr_domain(ml_message_str(m, r->orig_to)), released, hour)
		                            : 0;
		if (!rc && kn)
			rc = add(d, k, kn, st, sign);
		if (!rc && k2n && (k2n != kn || memcmp(k, k2, kn)))
			rc = add(d, k2, k2n, st, sign);
	}
	return rc;
}

void ml_counts_delta_more(ml_counts_delta_t *d, int on)
{
	d->more = on;
}

int ml_counts_message(ml_counts_delta_t *d, const ml_message_t *m, int sign)
{
	int rc = add_rows(d, m, 0, sign);
	if (!rc && (m->flags & ML_MSG_RELEASED))
		rc = add_rows(d, m, 1, sign);
	return rc;
}

int ml_counts_delta_merge(ml_counts_delta_t *d, const ml_counts_delta_t *from)
{
	int rc = ML_OK;
	for (size_t i = 0; i < from->n && !rc; i++) {
		const entry_t *f = &from->ents[i];
		entry_t *e;
		rc = entry_of(d, (const unsigned char *)from->pool.data + f->off, f->len, &e);
		for (int st = 0; st < ML_ST__COUNT && !rc; st++)
			e->d[st] += f->d[st];
	}
	return rc;
}

static int cmp_entry(const void *a, const void *b, void *ctx)
{
	const ml_buf_t *pool = ctx;
	const entry_t *x = a, *y = b;
	int c = memcmp(pool->data + x->off, pool->data + y->off, ML_MIN(x->len, y->len));
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

int ml_counts_set_get(const unsigned char **p, const unsigned char *end, uint64_t n[ML_ST__COUNT],
                      unsigned *extra)
{
	memset(n, 0, ML_ST__COUNT * sizeof *n);
	unsigned set = *p < end ? *(*p)++ : 0;
	unsigned st_bits = set & ((1u << (ML_ST__COUNT - 1)) - 1);
	if (!st_bits || (set >> (ML_ST__COUNT - 1)) > (extra ? 1u : 0u))
		return ML_ECORRUPT;
	if (extra)
		*extra = set >> (ML_ST__COUNT - 1);
	for (; st_bits; st_bits &= st_bits - 1) {
		int st = __builtin_ctz(st_bits) + 1;
		if (ml_get_varint(p, end, &n[st]) || !n[st])
			return ML_ECORRUPT;
	}
	return ML_OK;
}

int ml_counts_set_put(ml_buf_t *out, const uint64_t n[ML_ST__COUNT], unsigned extra)
{
	unsigned set = extra << (ML_ST__COUNT - 1);
	for (int st = 1; st < ML_ST__COUNT; st++)
		if (n[st])
			set |= 1u << (st - 1);
	int rc = ml_buf_putc(out, (int)set);
	for (int st = 1; st < ML_ST__COUNT && !rc; st++)
		if (n[st])
			rc = ml_buf_put_varint(out, n[st]);
	return rc;
}

/* A stored value into n (index 0 left 0); ML_ECORRUPT (n all 0) when it
 * does not decode. */
static int value_decode(const MDB_val *v, uint64_t n[ML_ST__COUNT])
{
	const unsigned char *p = v->mv_data, *end = p + v->mv_size;
	int rc = ml_counts_set_get(&p, end, n, NULL);
	if (!rc && p != end)
		rc = ML_ECORRUPT;
	if (rc)
		memset(n, 0, ML_ST__COUNT * sizeof *n);
	return rc;
}

/* n as a value: the bitmap of the statuses counted, then their counts. */
static int value_encode(ml_buf_t *out, const uint64_t n[ML_ST__COUNT])
{
	ml_buf_reset(out);
	return ml_counts_set_put(out, n, 0);
}

int ml_counts_delta_write(ml_counts_delta_t *d, MDB_txn *txn, ml_store_t *s, int *dropped)
{
	*dropped = 0;
	if (!d->n)
		return ML_OK;
	/* in key order: the B-tree is walked once, left to right */
	qsort_r(d->ents, d->n, sizeof *d->ents, cmp_entry, &d->pool);
	ml_buf_t val = ML_BUF_INIT;
	int rc = ML_OK, bad = 0;
	for (size_t i = 0; i < d->n && !rc; i++) {
		const entry_t *e = &d->ents[i];
		int zero = 1;
		for (int st = 1; st < ML_ST__COUNT; st++)
			zero &= e->d[st] == 0;
		if (zero)
			continue;
		MDB_val k = { e->len, d->pool.data + e->off }, v;
		uint64_t n[ML_ST__COUNT] = { 0 };
		int r = mdb_get(txn, s->counts, &k, &v);
		if (r == 0 && value_decode(&v, n))
			bad = 1;
		else if (r && r != MDB_NOTFOUND)
			rc = ml_store_errcode(r);
		int empty = 1;
		for (int st = 1; st < ML_ST__COUNT && !rc; st++) {
			int64_t x = (int64_t)n[st] + e->d[st];
			if (x < 0) {
				bad = 1;
				x = 0;
			}
			empty &= x == 0;
			n[st] = (uint64_t)x;
		}
		if (rc || (rc = value_encode(&val, n)))
			break;
		if (empty) {
			r = r == 0 ? mdb_del(txn, s->counts, &k, NULL) : 0;
		} else {
			v = (MDB_val){ val.len, val.data };
			r = mdb_put(txn, s->counts, &k, &v, 0);
		}
		rc = ml_store_errcode(r);
	}
	ml_buf_free(&val);
	/* the entries are out of hash order now: start again empty */
	ml_counts_delta_reset(d);
	if (!rc && bad) {
		rc = ml_counts_set_ready(txn, s, 0);
		*dropped = 1;
	}
	return rc;
}

/* ---- the flag, and reading ---- */

int ml_counts_ready(MDB_txn *txn, ml_store_t *s)
{
	return ml_meta_table_ready(txn, s, s->counts, ML_META_COUNTS_READY);
}

int ml_counts_more(MDB_txn *txn, ml_store_t *s)
{
	return ml_counts_ready(txn, s) && ml_meta_flag(txn, s, ML_META_COUNTS_MORE);
}

int ml_counts_set_ready(MDB_txn *txn, ml_store_t *s, int ready)
{
	int rc = ml_meta_set_flag(txn, s, ML_META_COUNTS_READY, ready);
	return rc ? rc : ml_meta_set_flag(txn, s, ML_META_COUNTS_MORE, ready);
}

int ml_counts_clear(MDB_txn *txn, ml_store_t *s)
{
	int rc = ml_meta_table_clear(txn, s, s->counts, ML_META_COUNTS_READY);
	return rc ? rc : ml_meta_set_flag(txn, s, ML_META_COUNTS_MORE, 0);
}

void ml_counts_term_all(ml_counts_term_t *t, int released)
{
	t->t[0] = ML_COUNTS_TAG_RELEASED;
	t->n = released ? 1 : 0;
	t->more = 0;
}

/* t from a key made for hour 0, kn bytes (0: none, ML_ENOTFOUND). */
static int term_from_key(ml_counts_term_t *t, const unsigned char *k, size_t kn, int more)
{
	if (!kn)
		return ML_ENOTFOUND;
	t->n = kn - HOUR_BYTES;
	memcpy(t->t, k + HOUR_BYTES, t->n);
	t->more = more;
	return ML_OK;
}

int ml_counts_term_domain(ml_counts_term_t *t, const char *domain, size_t n, int released)
{
	unsigned char k[KEY_MAX];
	size_t kn = domain_key(k, ml_slice(domain, n), released, 0);
	return term_from_key(t, k, kn, 0);
}

int ml_counts_term_direction(ml_counts_term_t *t, int dir)
{
	unsigned char k[KEY_MAX];
	size_t kn = direction_key(k, dir, 0);
	return term_from_key(t, k, kn, 1);
}

int ml_counts_term_prefix(ml_counts_term_t *t, const char *p, size_t n)
{
	unsigned char k[KEY_MAX];
	size_t kn = prefix_key(k, ml_slice(p, n), n, 0);
	return term_from_key(t, k, kn, 1);
}

int ml_counts_read(ml_store_t *s, const ml_counts_term_t *t, uint64_t hour_lo, uint64_t hour_hi,
                   ml_counts_fn fn, void *ctx)
{
	unsigned char want[KEY_MAX];
	size_t kn = make_key(want, t->t, t->n, hour_lo);
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	int rc = ml_store_read_begin(s, &txn);
	if (rc)
		return rc;
	if (!(t->more ? ml_counts_more(txn, s) : ml_counts_ready(txn, s))) {
		rc = ML_ENOTFOUND;
		goto done;
	}
	rc = ml_store_errcode(mdb_cursor_open(txn, s->counts, &c));
	/* a seek an hour: to the term in that hour, or past it to the next
	 * hour that has any key (hours without rows are skipped) */
	uint64_t top = ML_MIN(hour_hi, (uint64_t)UINT32_MAX);
	for (uint64_t hour = hour_lo; !rc && hour <= top;) {
		put_hour(want, hour);
		MDB_val k = { kn, want }, v;
		int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (r) {
			rc = r == MDB_NOTFOUND ? ML_OK : ml_store_errcode(r);
			break;
		}
		if (k.mv_size < HOUR_BYTES) {
			rc = ML_CORRUPT_BKPT;
			break;
		}
		uint64_t kh = ml_get_be32(k.mv_data), cnt[ML_ST__COUNT];
		if (kh > hour) {
			hour = kh;   /* nothing of the term between */
			continue;
		}
		if (k.mv_size == kn && !memcmp(k.mv_data, want, kn)) {
			if (value_decode(&v, cnt))
				rc = ML_CORRUPT_BKPT;
			else
				rc = fn(ctx, hour, cnt);
		}
		hour++;
	}
done:
	if (c)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}
