#include "rowsum.h"

#include <stdlib.h>
#include <string.h>

#include "index/counts.h"
#include "index/query.h"

int ml_rowsum_of(ml_rowsum_t *r, const ml_message_t *m)
{
	int64_t n[ML_ST__COUNT] = { 0 };
	ml_counts_rows(n, m, +1);
	memset(r, 0, sizeof *r);
	r->docid = m->docid;
	r->released = (m->flags & ML_MSG_RELEASED) != 0;
	int any = 0;
	for (int st = 1; st < ML_ST__COUNT; st++) {
		r->n[st] = (uint64_t)n[st];
		any |= n[st] != 0;
	}
	return any;
}

void ml_rowsum_match(const ml_rowsum_t *r, uint32_t status_mask, uint64_t n[ML_ST__COUNT])
{
	/* as the row check of a search: the row's status asked for, or the
	 * group "released" and a released message */
	int all = !status_mask || ((status_mask & ML_QUERY_RELEASED) && r->released);
	n[0] = 0;
	for (int st = 1; st < ML_ST__COUNT; st++)
		n[st] = all || (status_mask & (1u << st)) ? r->n[st] : 0;
}

/* ---- a block in memory ---- */

/* A block's summaries v[0 .. n), decoded from its value up to p (the rest:
 * p .. end, after docid last). */
typedef struct {
	ml_rowsum_t *v;
	size_t n, cap;
	const unsigned char *p, *end;
	uint64_t last;
} sums_t;

/* Start decoding value v of the block under key (nothing decoded yet). */
static int block_start(sums_t *b, const MDB_val *v, uint64_t key)
{
	b->n = 0;
	b->p = v->mv_data;
	b->end = b->p + v->mv_size;
	b->last = key;
	/* a message takes 3 bytes at the least */
	return ml_array_grow((void **)&b->v, &b->cap, sizeof *b->v, v->mv_size / 3 + 1, 256) ? ML_ENOMEM : ML_OK;
}

/* Decode on until the summary of a docid at or past upto (or the end). */
static int block_more(sums_t *b, uint64_t upto)
{
	while (b->p < b->end && (!b->n || b->v[b->n - 1].docid < upto)) {
		uint64_t delta;
		unsigned rel;
		ml_rowsum_t *r = &b->v[b->n];
		if (b->n >= b->cap || ml_get_varint(&b->p, b->end, &delta) || delta > UINT64_MAX - b->last ||
		    ml_counts_set_get(&b->p, b->end, r->n, &rel))
			return ML_CORRUPT_BKPT;
		b->last += delta;
		if (b->n && b->last <= b->v[b->n - 1].docid)
			return ML_CORRUPT_BKPT;
		r->docid = b->last;
		r->released = (int)rel;
		b->n++;
	}
	return ML_OK;
}

/* The summaries of value v (block key key), all of them, into b. */
static int block_decode(const MDB_val *v, uint64_t key, sums_t *b)
{
	int rc = block_start(b, v, key);
	return rc ? rc : block_more(b, UINT64_MAX);
}

static int sum_put(ml_buf_t *b, const ml_rowsum_t *r, uint64_t prev)
{
	int rc = ml_buf_put_varint(b, r->docid - prev);
	return rc ? rc : ml_counts_set_put(b, r->n, (unsigned)r->released);
}

/* ---- the delta ---- */

typedef struct {
	ml_rowsum_t sum;
	size_t order;        /* the order given: the last word on a docid wins */
	int del;
} change_t;

struct ml_rowsum_delta {
	change_t *v;
	size_t n, cap;
	sums_t blk;          /* the block being rewritten */
	ml_buf_t val;
};

int ml_rowsum_delta_new(ml_rowsum_delta_t **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? ML_OK : ML_ENOMEM;
}

void ml_rowsum_delta_free(ml_rowsum_delta_t *d)
{
	if (!d)
		return;
	free(d->v);
	free(d->blk.v);
	ml_buf_free(&d->val);
	free(d);
}

void ml_rowsum_delta_reset(ml_rowsum_delta_t *d)
{
	d->n = 0;
}

static int change_add(ml_rowsum_delta_t *d, const ml_rowsum_t *sum, int del)
{
	if (ml_array_grow((void **)&d->v, &d->cap, sizeof *d->v, d->n + 1, 1024))
		return ML_ENOMEM;
	change_t *c = &d->v[d->n];
	c->sum = *sum;
	c->order = d->n++;
	c->del = del;
	return ML_OK;
}

int ml_rowsum_delta_put(ml_rowsum_delta_t *d, const ml_message_t *m)
{
	ml_rowsum_t r;
	int any = ml_rowsum_of(&r, m);
	return change_add(d, &r, !any);
}

int ml_rowsum_delta_del(ml_rowsum_delta_t *d, uint64_t docid)
{
	ml_rowsum_t r;
	memset(&r, 0, sizeof r);
	r.docid = docid;
	return change_add(d, &r, 1);
}

static int cmp_change(const void *a, const void *b)
{
	const change_t *x = a, *y = b;
	if (x->sum.docid != y->sum.docid)
		return x->sum.docid < y->sum.docid ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

/* The block that holds docid: its key (*key) and the next block's (*next;
 * UINT64_MAX when none); *found 0 when no key is at or below docid (then
 * *key = docid, a new block). */
static int block_find(MDB_cursor *c, uint64_t docid, uint64_t *key, uint64_t *next, int *found,
                      MDB_val *val)
{
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	MDB_val k = { 8, kb }, v;
	int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (r && r != MDB_NOTFOUND)
		return ml_store_errcode(r);
	if (!r && k.mv_size != 8)
		return ML_CORRUPT_BKPT;
	uint64_t at = r ? UINT64_MAX : ml_get_be64(k.mv_data);
	if (!r && at == docid) {
		*key = at;
		*found = 1;
		*val = v;
		r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		*next = r ? UINT64_MAX : ml_get_be64(k.mv_data);
		return r && r != MDB_NOTFOUND ? ml_store_errcode(r) : ML_OK;
	}
	/* at is above docid (or there is none): the block before it */
	*next = at;
	r = mdb_cursor_get(c, &k, &v, r ? MDB_LAST : MDB_PREV);
	if (r == MDB_NOTFOUND) {
		*key = docid;
		*found = 0;
		return ML_OK;
	}
	if (r)
		return ml_store_errcode(r);
	if (k.mv_size != 8)
		return ML_CORRUPT_BKPT;
	*key = ml_get_be64(k.mv_data);
	*found = 1;
	*val = v;
	return ML_OK;
}

/* The block d->blk written under key (and, cut, under its pieces' first
 * docids), or deleted when empty.  last: no block after it; its new pieces
 * are appended (MDB_APPEND: a full page is left full, not split in two). */
static int block_write(ml_rowsum_delta_t *d, MDB_txn *txn, ml_store_t *s, uint64_t key, int found, int last)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	if (!d->blk.n) {
		ml_put_be64(kb, key);
		int r = found ? mdb_del(txn, s->rowsum, &k, NULL) : 0;
		return ml_store_errcode(r == MDB_NOTFOUND ? 0 : r);
	}
	size_t i = 0;
	int rc = ML_OK;
	while (i < d->blk.n && !rc) {
		uint64_t at = i ? d->blk.v[i].docid : key, prev = at;
		ml_buf_reset(&d->val);
		for (; i < d->blk.n && !rc && (d->val.len < ML_ROWSUM_BLOCK || !d->val.len); i++) {
			rc = sum_put(&d->val, &d->blk.v[i], prev);
			prev = d->blk.v[i].docid;
		}
		ml_put_be64(kb, at);
		v = (MDB_val){ d->val.len, d->val.data };
		if (!rc)
			rc = ml_store_errcode(mdb_put(txn, s->rowsum, &k, &v, at != key && last ? MDB_APPEND : 0));
	}
	return rc;
}

int ml_rowsum_delta_write(ml_rowsum_delta_t *d, MDB_txn *txn, ml_store_t *s, int *dropped)
{
	*dropped = 0;
	if (!d->n)
		return ML_OK;
	qsort(d->v, d->n, sizeof *d->v, cmp_change);
	MDB_cursor *c = NULL;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->rowsum, &c));
	size_t i = 0;
	while (i < d->n && !rc) {
		uint64_t key, next;
		int found;
		MDB_val val;
		rc = block_find(c, d->v[i].sum.docid, &key, &next, &found, &val);
		if (rc)
			break;
		/* the block (copied out of the map before it is written) */
		sums_t old = d->blk;
		old.n = 0;
		if (found && (rc = block_decode(&val, key, &old)) == ML_ECORRUPT) {
			*dropped = 1;
			d->blk = old;
			break;
		}
		/* merged with the changes in its range, in docid order */
		size_t nold = old.n, j = 0;
		sums_t out = { NULL, 0, 0, NULL, NULL, 0 };
		while (!rc && (j < nold || (i < d->n && d->v[i].sum.docid < next))) {
			int take_change = i < d->n && d->v[i].sum.docid < next &&
			                  (j >= nold || d->v[i].sum.docid <= old.v[j].docid);
			const ml_rowsum_t *r = NULL;
			if (take_change) {
				size_t last = i;
				while (last + 1 < d->n && d->v[last + 1].sum.docid == d->v[i].sum.docid)
					last++;
				if (j < nold && old.v[j].docid == d->v[i].sum.docid)
					j++;   /* replaced */
				r = d->v[last].del ? NULL : &d->v[last].sum;
				i = last + 1;
			} else {
				r = &old.v[j++];
			}
			if (r && !(rc = ml_array_grow((void **)&out.v, &out.cap, sizeof *out.v, out.n + 1, 256)))
				out.v[out.n++] = *r;
		}
		free(old.v);
		d->blk = out;
		if (!rc)
			rc = block_write(d, txn, s, key, found, next == UINT64_MAX);
	}
	if (c)
		mdb_cursor_close(c);
	d->n = 0;
	if (*dropped)
		rc = ml_rowsum_set_ready(txn, s, 0);
	return rc;
}

/* ---- the flag ---- */

int ml_rowsum_ready(MDB_txn *txn, ml_store_t *s)
{
	return ml_meta_table_ready(txn, s, s->rowsum, ML_META_ROWSUM_READY);
}

int ml_rowsum_set_ready(MDB_txn *txn, ml_store_t *s, int ready)
{
	return ml_meta_set_flag(txn, s, ML_META_ROWSUM_READY, ready);
}

int ml_rowsum_clear(MDB_txn *txn, ml_store_t *s)
{
	return ml_meta_table_clear(txn, s, s->rowsum, ML_META_ROWSUM_READY);
}

/* ---- reading ---- */

struct ml_rowsum_cur {
	MDB_cursor *c;
	uint64_t key, next;   /* the block decoded: [key, next); next 0: none yet */
	sums_t blk;
	size_t pos;           /* where the last docid asked for was looked up */
};

int ml_rowsum_cur_open(ml_rowsum_cur_t **out, MDB_txn *txn, ml_store_t *s)
{
	*out = NULL;
	if (!ml_rowsum_ready(txn, s))
		return ML_ENOTFOUND;
	ml_rowsum_cur_t *c = calloc(1, sizeof *c);
	if (!c)
		return ML_ENOMEM;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->rowsum, &c->c));
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return ML_OK;
}

void ml_rowsum_cur_close(ml_rowsum_cur_t *c)
{
	if (!c)
		return;
	if (c->c)
		mdb_cursor_close(c->c);
	free(c->blk.v);
	free(c);
}

int ml_rowsum_cur_get(ml_rowsum_cur_t *c, uint64_t docid, const ml_rowsum_t **r)
{
	if (!c->next || docid < c->key || docid >= c->next) {
		int found;
		MDB_val v;
		c->blk.n = 0;
		c->next = 0;
		int rc = block_find(c->c, docid, &c->key, &c->next, &found, &v);
		/* decoded from its start as far as the docids asked for: half
		 * a block on average for a query of scattered messages */
		if (!rc && found)
			rc = block_start(&c->blk, &v, c->key);
		if (rc) {
			c->next = 0;
			return rc;
		}
		if (!found) {
			c->next = 0;
			return ML_ENOTFOUND;
		}
		c->pos = 0;
	}
	if (!c->blk.n || c->blk.v[c->blk.n - 1].docid < docid) {
		int rc = block_more(&c->blk, docid);
		if (rc) {
			c->next = 0;
			return rc;
		}
		c->pos = c->blk.n;
	}
	/* docids come newest first: down from the last one looked up; else
	 * by halves */
	const ml_rowsum_t *v = c->blk.v;
	size_t lo = c->pos;
	if (lo < c->blk.n && v[lo].docid < docid)
		lo = c->blk.n;
	else if (lo > 0 && v[lo - 1].docid == docid)
		lo--;   /* the next one down: a query of most messages */
	if (lo == c->blk.n || v[lo].docid > docid) {
		size_t hi = lo;
		lo = 0;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (v[mid].docid < docid)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	c->pos = lo;
	if (lo >= c->blk.n || v[lo].docid != docid)
		return ML_ENOTFOUND;
	*r = &v[lo];
	return ML_OK;
}

int ml_rowsum_each(MDB_txn *txn, ml_store_t *s, int (*fn)(void *ctx, const ml_rowsum_t *r), void *ctx)
{
	MDB_cursor *c;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->rowsum, &c));
	if (rc)
		return rc;
	sums_t blk = { NULL, 0, 0, NULL, NULL, 0 };
	MDB_val k, v;
	int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; !r && !rc; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		rc = k.mv_size == 8 ? block_decode(&v, ml_get_be64(k.mv_data), &blk) : ML_CORRUPT_BKPT;
		for (size_t i = 0; i < blk.n && !rc; i++)
			rc = fn(ctx, &blk.v[i]);
	}
	if (!rc && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	free(blk.v);
	mdb_cursor_close(c);
	return rc;
}
