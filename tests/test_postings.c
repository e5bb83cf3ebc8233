/*
 * Unit tests for index/postings: the term and list blocks against a model
 * (a plain set of (term, docid) pairs) under random batches of additions and
 * removals, term by term, then every term read back by seeks and in order
 * (ml_post_each) and met with others (ml_plist_meet), prefix walks, the
 * encoded sizes, and corrupt values.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "index/postings.h"
#include "index/store.h"
#include "index/tokens.h"

typedef struct {
	char key[64];
	size_t n;
	uint64_t docid;
} pair_t;

typedef struct {
	pair_t *p;
	size_t n, cap;
} model_t;

/* The table's order: tag, day, term, docid. */
static int cmp_pair(const void *a, const void *b)
{
	const pair_t *x = a, *y = b;
	int c = (unsigned char)x->key[0] - (unsigned char)y->key[0];
	if (!c) {
		uint32_t bx = ml_docid_bucket(x->docid), by = ml_docid_bucket(y->docid);
		c = (bx > by) - (bx < by);
	}
	if (!c)
		c = memcmp(x->key, y->key, ML_MIN(x->n, y->n));
	if (!c)
		c = (x->n > y->n) - (x->n < y->n);
	if (!c)
		c = (x->docid > y->docid) - (x->docid < y->docid);
	return c;
}

static long model_find(model_t *m, const char *key, size_t n, uint64_t d)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->p[i].n == n && m->p[i].docid == d && memcmp(m->p[i].key, key, n) == 0)
			return (long)i;
	return -1;
}

static void model_apply(model_t *m, const char *key, size_t n, uint64_t d, int del)
{
	long i = model_find(m, key, n, d);
	if (del && i >= 0)
		m->p[i] = m->p[--m->n];
	if (!del && i < 0) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 1024;
			m->p = realloc(m->p, m->cap * sizeof *m->p);
		}
		memcpy(m->p[m->n].key, key, n);
		m->p[m->n].n = n;
		m->p[m->n].docid = d;
		m->n++;
	}
}

static ml_store_t *open_store(const char *name)
{
	ml_store_t *s;
	char err[256];
	assert_int_equal(ml_store_open(&s, tl_path(tl_dir, name), ML_STORE_CREATE | ML_STORE_NOSYNC, err, sizeof err), 0);
	return s;
}

static uint64_t rnd_state = 12345;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Terms of different frequencies: a few with thousands of docids (list
 * blocks), many with one or two (inline), long ones, ones sharing prefixes,
 * short binary ones. */
static void term_of(uint64_t r, char *key, size_t *n)
{
	static const char tags[] = "tTsq";
	int kind = (int)(r % 10);
	key[0] = tags[(r >> 8) % 4];
	if (kind < 2)
		*n = 1 + (size_t)snprintf(key + 1, 60, "hot%d", (int)((r >> 16) % 3));
	else if (kind < 5)
		*n = 1 + (size_t)snprintf(key + 1, 60, "warm.%d@example.com", (int)((r >> 16) % 40));
	else if (kind == 5)
		*n = 1 + (size_t)snprintf(key + 1, 60, "a-rather-long-address-of-someone-%d@x.example", (int)((r >> 16) % 500));
	else if (kind == 6) {
		/* short terms of 'a', 0x01 and NUL bytes: some a prefix of others
		 * ("a" and "a\0"), padded alike in the sort's 8-byte words */
		size_t len = (size_t)((r >> 16) % 13);
		for (size_t i = 0; i < len; i++)
			key[1 + i] = "a\1\0"[(r >> (24 + 2 * i % 36)) % 3];
		*n = 1 + len;
	} else
		*n = 1 + (size_t)snprintf(key + 1, 60, "cold%u", (unsigned)(r >> 16) % 20000);
}

/* Docids over three days, several per second at times. */
static uint64_t docid_of(uint64_t r)
{
	uint64_t sec = 1760000000ull + (r % (3 * 86400));
	return ml_docid_make(sec, (uint32_t)((r >> 40) % 5 == 0 ? (r >> 20) % 6 : 0));
}

typedef struct {
	model_t got;
	int bad;
} walk_t;

/* ml_post_each's postings, collected (the open days' part of the table,
 * then the sealed days' part: compared as a set) */
static int check_each(void *ctx, const char *key, size_t n, uint32_t bucket, uint64_t docid)
{
	walk_t *w = ctx;
	if (ml_docid_bucket(docid) != bucket || n > sizeof w->got.p[0].key) {
		w->bad = 1;
		return 1;
	}
	if (w->got.n == w->got.cap) {
		w->got.cap = w->got.cap ? w->got.cap * 2 : 1024;
		w->got.p = realloc(w->got.p, w->got.cap * sizeof *w->got.p);
		assert_non_null(w->got.p);
	}
	pair_t *p = &w->got.p[w->got.n++];
	memcpy(p->key, key, n);
	p->n = n;
	p->docid = docid;
	return 0;
}

/* Every (term, bucket) of the model read back by seeks, newest first. */
static void check_seeks(ml_store_t *s, model_t *m)
{
	MDB_txn *txn;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	size_t i = 0;
	while (i < m->n) {
		size_t j = i + 1;
		uint32_t b = ml_docid_bucket(m->p[i].docid);
		while (j < m->n && m->p[j].n == m->p[i].n && !memcmp(m->p[j].key, m->p[i].key, m->p[i].n) &&
		       ml_docid_bucket(m->p[j].docid) == b)
			j++;
		ml_plist_t it;
		assert_int_equal(ml_plist_open(&it, txn, s->post, m->p[i].key, m->p[i].n, b), 0);
		assert_int_equal(it.count, j - i);
		/* every docid, newest first, each seek one below the last answer */
		uint64_t target = UINT64_MAX;
		for (size_t k = j; k > i; k--) {
			uint64_t d = ml_plist_seek(&it, target);
			assert_int_equal(d, m->p[k - 1].docid);
			target = d - 1;
		}
		assert_int_equal(ml_plist_seek(&it, target), 0);
		ml_plist_close(&it);
		/* a seek into the middle lands on the greatest docid <= target */
		if (j - i > 2) {
			size_t mid = i + (j - i) / 2;
			assert_int_equal(ml_plist_open(&it, txn, s->post, m->p[i].key, m->p[i].n, b), 0);
			assert_int_equal(ml_plist_seek(&it, m->p[mid].docid + 1 == m->p[mid + 1].docid ? m->p[mid].docid
			                                                                                   : m->p[mid].docid + 1),
			                 m->p[mid].docid);
			ml_plist_close(&it);
		}
		i = j;
	}
	/* a term that is not there */
	ml_plist_t it;
	assert_int_equal(ml_plist_open(&it, txn, s->post, "tnobody@nowhere", 15, ml_docid_bucket(docid_of(0))), 0);
	assert_int_equal(it.count, 0);
	assert_int_equal(ml_plist_seek(&it, UINT64_MAX), 0);
	ml_plist_close(&it);
	mdb_txn_abort(txn);
}

/* The docids that both groups [i, j) and [k, l) of the model hold (one
 * bucket; model sorted), newest first, by ml_plist_meet, against a merge of
 * the model's. */
static void check_meet(MDB_txn *txn, ml_store_t *s, const model_t *m, size_t i, size_t j, size_t k, size_t l)
{
	uint32_t b = ml_docid_bucket(m->p[i].docid);
	ml_plist_t x, y;
	assert_int_equal(ml_plist_open(&x, txn, s->post, m->p[i].key, m->p[i].n, b), 0);
	assert_int_equal(ml_plist_open(&y, txn, s->post, m->p[k].key, m->p[k].n, b), 0);
	size_t a = j, c = l;
	uint64_t target = UINT64_MAX;
	for (;;) {
		/* the model's next, newest first */
		uint64_t want = 0;
		while (a > i && c > k) {
			uint64_t u = m->p[a - 1].docid, v = m->p[c - 1].docid;
			if (u == v) {
				want = u;
				a--;
				c--;
				break;
			}
			if (u > v)
				a--;
			else
				c--;
		}
		uint64_t got = 0;
		while (target && !(got = ml_plist_meet(&x, &y, &target)))
			;
		assert_int_equal(got, want);
		if (!got)
			break;
		target = got - 1;
	}
	ml_plist_close(&x);
	ml_plist_close(&y);
}

/* Each (term, bucket) of the model met with the largest three of its
 * bucket (the model sorted). */
static void check_meets(ml_store_t *s, model_t *m)
{
	MDB_txn *txn;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	size_t *start = malloc((m->n + 1) * sizeof *start), ng = 0;
	for (size_t i = 0; i < m->n; i++)
		if (!i || m->p[i].n != m->p[i - 1].n || memcmp(m->p[i].key, m->p[i - 1].key, m->p[i].n) ||
		    ml_docid_bucket(m->p[i].docid) != ml_docid_bucket(m->p[i - 1].docid))
			start[ng++] = i;
	start[ng] = m->n;
	for (size_t g = 0; g < ng; g++) {
		uint32_t b = ml_docid_bucket(m->p[start[g]].docid);
		size_t big[3] = { ng, ng, ng };
		for (size_t h = 0; h < ng; h++) {
			if (ml_docid_bucket(m->p[start[h]].docid) != b)
				continue;
			size_t len = start[h + 1] - start[h];
			for (int t = 0; t < 3; t++)
				if (big[t] == ng || len > start[big[t] + 1] - start[big[t]]) {
					for (int u = 2; u > t; u--)
						big[u] = big[u - 1];
					big[t] = h;
					break;
				}
		}
		for (int t = 0; t < 3; t++)
			if (big[t] < ng)
				check_meet(txn, s, m, start[g], start[g + 1], start[big[t]], start[big[t] + 1]);
	}
	free(start);
	mdb_txn_abort(txn);
}

static void check_all(ml_store_t *s, model_t *m)
{
	qsort(m->p, m->n, sizeof *m->p, cmp_pair);
	MDB_txn *txn;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	walk_t w = { { 0 }, 0 };
	assert_int_equal(ml_post_each(txn, s->post, check_each, &w), 0);
	assert_false(w.bad);
	qsort(w.got.p, w.got.n, sizeof *w.got.p, cmp_pair);
	assert_int_equal(w.got.n, m->n);
	for (size_t i = 0; i < m->n; i++)
		if (cmp_pair(&w.got.p[i], &m->p[i]) != 0)
			fail_msg("each: at %zu got %.*s %llu, want %.*s %llu", i, (int)w.got.p[i].n, w.got.p[i].key,
			         (unsigned long long)w.got.p[i].docid, (int)m->p[i].n, m->p[i].key,
			         (unsigned long long)m->p[i].docid);
	free(w.got.p);
	mdb_txn_abort(txn);
	check_seeks(s, m);
}

static void random_batches(void **state)
{
	(void)state;
	ml_store_t *s = open_store("random.db");
	ml_post_batch_t *b;
	assert_int_equal(ml_post_batch_new(&b), 0);
	model_t m = { 0 };
	for (int round = 0; round < 40; round++) {
		int nops = round < 20 ? 3000 : 500;
		MDB_txn *txn;
		assert_int_equal(ml_store_write_begin(s, &txn), 0);
		size_t before = m.n;
		for (int op = 0; op < nops; op++) {
			uint64_t r = rnd();
			char key[64];
			size_t n;
			term_of(r, key, &n);
			uint64_t d = docid_of(rnd());
			/* removals of what is there, about a fifth of the time after a while */
			int del = round > 5 && r % 5 == 0 && m.n;
			if (del) {
				const pair_t *p = &m.p[rnd() % m.n];
				memcpy(key, p->key, p->n);
				n = p->n;
				d = p->docid;
			}
			/* now and then the same pair twice in a batch: the last wins */
			assert_int_equal(ml_post_batch_add(b, key, n, d, del), 0);
			model_apply(&m, key, n, d, del);
			if (r % 97 == 0) {
				assert_int_equal(ml_post_batch_add(b, key, n, d, !del), 0);
				model_apply(&m, key, n, d, !del);
			}
		}
		int64_t delta;
		assert_int_equal(ml_post_batch_write(b, txn, s->post, &delta), 0);
		assert_int_equal(delta, (int64_t)m.n - (int64_t)before);
		/* the first day sealed after round 10, the second after round 25:
		 * later batches add to and remove from sealed days */
		if (round == 10 || round == 25) {
			uint32_t day = ml_docid_bucket(docid_of(0)) + (round == 25);
			assert_int_equal(ml_post_seal(txn, s->post, day), 0);
			/* its keys went to the sealed part (first byte 0xff), in order
			 * at the table's end; none of that day is left in the open part */
			MDB_cursor *c;
			assert_int_equal(mdb_cursor_open(txn, s->post, &c), 0);
			MDB_val k, v;
			size_t sealed = 0, open_day = 0;
			int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
			for (; r == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
				const unsigned char *kp = k.mv_data;
				uint32_t kb = (uint32_t)kp[1] << 8 | kp[2];
				if (kp[0] == 0xff)
					sealed += kb == day;
				else
					open_day += kb == day;
			}
			mdb_cursor_close(c);
			assert_true(sealed > 0);
			assert_int_equal(open_day, 0);
		}
		assert_int_equal(mdb_txn_commit(txn), 0);
		if (round == 10 || round == 25) {
			check_all(s, &m);
			check_meets(s, &m);   /* (sorted by check_all) */
		}
		if (round % 8 == 7 || round == 39)
			check_all(s, &m);
		if (round == 39)
			check_meets(s, &m);
	}
	/* remove everything: the table empties */
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(ml_post_batch_add(b, m.p[i].key, m.p[i].n, m.p[i].docid, 1), 0);
	int64_t gone;
	assert_int_equal(ml_post_batch_write(b, txn, s->post, &gone), 0);
	assert_int_equal(gone, -(int64_t)m.n);
	MDB_stat st;
	assert_int_equal(mdb_stat(txn, s->post, &st), 0);
	assert_int_equal(st.ms_entries, 0);
	mdb_txn_abort(txn);
	free(m.p);
	ml_post_batch_free(b);
	ml_store_close(s);
}

typedef struct {
	char seen[64][64];
	int n;
} terms_t;

static int collect_term(void *ctx, const char *key, size_t n)
{
	terms_t *t = ctx;
	if (t->n < 64)
		snprintf(t->seen[t->n++], 64, "%.*s", (int)n, key);
	return 0;
}

static void prefix_walk(void **state)
{
	(void)state;
	ml_store_t *s = open_store("prefix.db");
	ml_post_batch_t *b;
	assert_int_equal(ml_post_batch_new(&b), 0);
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	uint64_t d = ml_docid_make(1760000000, 0);
	char key[64];
	/* enough terms for several blocks, some with many docids */
	for (int i = 0; i < 400; i++) {
		int n = snprintf(key, sizeof key, "t%s%03d@example.com", i % 2 ? "sales" : "info", i);
		for (int k = 0; k < (i % 50 == 0 ? 300 : 1); k++)
			assert_int_equal(ml_post_batch_add(b, key, (size_t)n, d + (uint64_t)k * 4096, 0), 0);
	}
	assert_int_equal(ml_post_batch_write(b, txn, s->post, NULL), 0);
	terms_t t = { .n = 0 };
	assert_int_equal(ml_post_terms(txn, s->post, "tsales01", 8, ml_docid_bucket(d), collect_term, &t), 0);
	/* sales011, 013, ..., 019 */
	assert_int_equal(t.n, 5);
	assert_string_equal(t.seen[0], "tsales011@example.com");
	assert_string_equal(t.seen[4], "tsales019@example.com");
	t.n = 0;
	assert_int_equal(ml_post_terms(txn, s->post, "tinfo", 5, ml_docid_bucket(d), collect_term, &t), 0);
	assert_int_equal(t.n, 64);  /* capped by the collector: 200 match */
	t.n = 0;
	assert_int_equal(ml_post_terms(txn, s->post, "ta", 2, ml_docid_bucket(d), collect_term, &t), 0);
	assert_int_equal(t.n, 0);
	t.n = 0;
	assert_int_equal(ml_post_terms(txn, s->post, "tinfo000", 8, ml_docid_bucket(d) + 1, collect_term, &t), 0);
	assert_int_equal(t.n, 0);
	ml_post_stat_t ps;
	assert_int_equal(ml_post_stat(txn, s->post, &ps), 0);
	assert_true(ps.term_blocks > 1);
	assert_true(ps.list_blocks >= 8);
	assert_int_equal(ps.terms, 400);
	/* the values all fit in a page: no overflow pages */
	MDB_stat st;
	assert_int_equal(mdb_stat(txn, s->post, &st), 0);
	assert_int_equal(st.ms_overflow_pages, 0);
	mdb_txn_abort(txn);
	ml_post_batch_free(b);
	ml_store_close(s);
}

/* A frequent term costs about a byte a docid; a rare one a few bytes. */
static void sizes(void **state)
{
	(void)state;
	ml_store_t *s = open_store("sizes.db");
	ml_post_batch_t *b;
	assert_int_equal(ml_post_batch_new(&b), 0);
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	uint64_t base = 1760054400ull;  /* a day's start */
	for (uint64_t i = 0; i < 20000; i++)
		assert_int_equal(ml_post_batch_add(b, "Sdelivered", 10, ml_docid_make(base + i * 4, (uint32_t)(i % 3)), 0), 0);
	assert_int_equal(ml_post_batch_write(b, txn, s->post, NULL), 0);
	ml_post_stat_t ps;
	assert_int_equal(ml_post_stat(txn, s->post, &ps), 0);
	print_message("20000 docids of one term: %llu bytes of values, %llu list blocks\n",
	              (unsigned long long)ps.value_bytes, (unsigned long long)ps.list_blocks);
	assert_true(ps.value_bytes < 20000 * 1.2);
	mdb_txn_abort(txn);
	ml_post_batch_free(b);
	ml_store_close(s);
}

static void corrupt_values(void **state)
{
	(void)state;
	uint64_t first = ml_docid_make(1760054400ull, 0);
	/* truncated, trailing bytes, terms out of order, a count past the end */
	const unsigned char bad_terms[][12] = {
		{ 0x01, 0x00, 0x03, 'a', 'b' },
		{ 0x02, 0x00, 0x01, 'b', 0x01, 0x04, 0x00, 0x01, 'a', 0x01, 0x04 },
		{ 0x01, 0x00, 0x01, 'a', 0x09, 0x04 },
		{ 0x00 },
	};
	const size_t bad_len[] = { 5, 11, 6, 1 };
	for (size_t i = 0; i < ML_ARRAY_LEN(bad_terms); i++)
		assert_int_equal(ml_post_check_value(bad_terms[i], bad_len[i], 0, first), ML_ECORRUPT);
	const unsigned char good[] = { 0x01, 0x00, 0x01, 'a', 0x01, 0x04 };
	assert_int_equal(ml_post_check_value(good, sizeof good, 0, first), 0);
	/* a list shorter than its count; one past its day */
	const unsigned char bad_list[] = { 0x02, 0x04 };
	assert_int_equal(ml_post_check_value(bad_list, sizeof bad_list, 1, first), ML_ECORRUPT);
	const unsigned char past_day[] = { 0x01, 0x80, 0x8c, 0x15 };  /* 86400 s on */
	assert_int_equal(ml_post_check_value(past_day, sizeof past_day, 1, first), ML_ECORRUPT);
	const unsigned char good_list[] = { 0x02, 0x04, 0x01 };
	assert_int_equal(ml_post_check_value(good_list, sizeof good_list, 1, first), 0);
	/* random bytes never crash */
	unsigned char junk[64];
	for (int k = 0; k < 20000; k++) {
		size_t n = rnd() % sizeof junk;
		for (size_t i = 0; i < n; i++)
			junk[i] = (unsigned char)rnd();
		ml_post_check_value(junk, n, (int)(k & 1), first);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_batches),
		cmocka_unit_test(prefix_walk),
		cmocka_unit_test(sizes),
		cmocka_unit_test(corrupt_values),
	};
	return cmocka_run_group_tests(tests, tl_dir_setup, tl_dir_teardown);
}
