#include "reindex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/record.h"
#include "index/writer.h"

int ml_reindex_mark(ml_store_t *s)
{
	MDB_txn *t;
	int rc = ml_store_write_begin(s, &t);
	if (rc)
		return rc;
	uint64_t now = (uint64_t)time(NULL);
	rc = ml_meta_put(t, s, ML_META_REINDEX, strlen(ML_META_REINDEX), &now, 8);
	if (rc) {
		mdb_txn_abort(t);
		return rc;
	}
	return ml_store_errcode(mdb_txn_commit(t));
}

typedef struct {
	ml_store_t *s;
	ml_writer_t *w;
	ml_message_t *msgs;        /* one batch */
	int *places;               /* where each is stored (its raw record stays there) */
	size_t batch;              /* messages a flush: ML_REINDEX_BATCH, or fewer for tests */
	ml_reindex_progress_t p;
} rx_t;

/* Put the n messages of the batch, write them, free them. */
static int put_batch(rx_t *x, size_t n)
{
	int rc = ML_OK;
	for (size_t i = 0; i < n && !rc; i++)
		rc = ml_writer_put_at(x->w, &x->msgs[i], x->places[i]);
	if (!rc)
		rc = ml_writer_flush(x->w);
	/* the batch's messages give their memory back: reused, each slot would
	 * keep the largest message it ever held */
	for (size_t i = 0; i < n; i++) {
		ml_message_free(&x->msgs[i]);
		ml_message_init(&x->msgs[i]);
	}
	return rc;
}

/* One whole run in one write transaction.  ML_EFULL: the map filled.  The
 * rows are read from a snapshot taken before the rebuild starts, with that
 * snapshot's string table; the raw records stay as they are. */
static int run_once(rx_t *x, ml_reindex_fn fn, void *ctx)
{
	MDB_txn *rt = NULL;
	ml_rowcur_t cur;
	memset(&cur, 0, sizeof cur);
	ml_strtab_t tab = ML_STRTAB_INIT;
	int rc = ml_store_read_begin(x->s, &rt);
	if (rc)
		return rc;
	MDB_stat st;
	x->p.total = 0;
	for (int p = 0; p < 2; p++)
		if (!mdb_stat(rt, ml_store_rows_dbi(x->s, p), &st))
			x->p.total += st.ms_entries;
	x->p.done = x->p.bytes_before = 0;
	rc = ml_store_strtab(rt, x->s, &tab);
	if (!rc)
		rc = ml_writer_rebuild_begin(x->w, ML_REBUILD_RETRAIN | ML_REBUILD_KEEP_RAW | ML_REBUILD_DEFER_POSTINGS);
	if (!rc)
		rc = ml_rowcur_open(&cur, rt, x->s);
	if (!rc)
		rc = ml_rowcur_seek(&cur, 0, 0);
	size_t n = 0;
	uint64_t d;
	MDB_val v;
	int place;
	int more = !rc && ml_rowcur_get(&cur, &d, &v, &place);
	while (!rc && (more || n)) {
		if (more) {
			x->p.bytes_before += v.mv_size;
			x->places[n] = place;
			rc = ml_row_decode(&tab, v.mv_data, v.mv_size, d, &x->msgs[n++]);
			if (!rc)
				rc = ml_rowcur_next(&cur);
			if (rc)
				break;
			more = ml_rowcur_get(&cur, &d, &v, &place);
		}
		if (n == x->batch || (!more && n)) {
			rc = put_batch(x, n);
			x->p.done += n;
			n = 0;
			if (!rc && fn && fn(ctx, &x->p))
				rc = ML_EINTR;
		}
	}
	if (cur.c[0])
		ml_rowcur_close(&cur);
	if (!rc)
		rc = ml_writer_commit(x->w);
	else
		ml_writer_abort(x->w);
	ml_strtab_free(&tab);
	mdb_txn_abort(rt);
	return rc;
}

int ml_reindex_prepare(ml_store_t *s, ml_reindex_progress_t *p)
{
	memset(p, 0, sizeof *p);
	int rc = ml_reindex_mark(s);
	MDB_txn *t;
	if (!rc && !(rc = ml_store_read_begin(s, &t))) {
		p->dict_before = ml_store_dict_id(t, s);
		p->table_before = ml_store_strtab_gen(t, s);
		mdb_txn_abort(t);
	}
	/* room for a second copy of everything, and some */
	uint64_t used = ml_store_file_bytes(s);
	return rc ? rc : ml_store_reserve(s, used + used / 4 + (64u << 20));
}

int ml_reindex_finish(ml_store_t *s, ml_reindex_progress_t *p)
{
	MDB_txn *t;
	int rc = ml_store_read_begin(s, &t);
	if (rc)
		return rc;
	p->dict_after = ml_store_dict_id(t, s);
	p->table_after = ml_store_strtab_gen(t, s);
	p->bytes_after = 0;
	ml_rowcur_t c;
	if (ml_rowcur_open(&c, t, s) == 0) {
		uint64_t d;
		MDB_val v;
		int r = ml_rowcur_seek(&c, 0, 0);
		while (!r && ml_rowcur_get(&c, &d, &v, NULL)) {
			p->bytes_after += v.mv_size;
			r = ml_rowcur_next(&c);
		}
		ml_rowcur_close(&c);
	}
	mdb_txn_abort(t);
	return ML_OK;
}

void ml_reindex_error(const ml_store_t *s, const char *what, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s failed: %s%s; the database is as it was%s", s->path, what, ml_strerror(rc),
	         rc == ML_EFULL || rc == ML_EIO ? " (is the disk full?)" : "",
	         rc == ML_ENOSPC ? " (free some space, then run it again)" : "");
}

int ml_reindex_run(ml_store_t *s, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *out,
                   char *err, size_t errlen)
{
	rx_t x;
	memset(&x, 0, sizeof x);
	x.s = s;
	int rc = ml_writer_new(&x.w, s);
	/* for tests: smaller flushes (MTALOG_REINDEX_BATCH), and postings
	 * written past fewer of them (MTALOG_REINDEX_DEFER), so that a small
	 * database takes every path a large one does */
	const char *env = getenv("MTALOG_REINDEX_BATCH");
	x.batch = env && atoi(env) > 0 && atoi(env) < (int)ML_REINDEX_BATCH ? (size_t)atoi(env) : ML_REINDEX_BATCH;
	env = getenv("MTALOG_REINDEX_DEFER");
	if (!rc && env && atoi(env) > 0)
		ml_writer_defer_max(x.w, (size_t)atoi(env));
	x.msgs = calloc(ML_REINDEX_BATCH, sizeof *x.msgs);
	x.places = calloc(ML_REINDEX_BATCH, sizeof *x.places);
	if (!rc && (!x.msgs || !x.places))
		rc = ML_ENOMEM;
	if (!rc)
		rc = ml_reindex_prepare(s, &x.p);
	for (int tries = 0; !rc || rc == ML_EFULL; tries++) {
		rc = run_once(&x, fn, ctx);
		if (rc != ML_EFULL || tries == 6)
			break;
		x.p.restarts++;
		rc = ml_store_grow(s);
	}
	if (!rc)
		rc = ml_reindex_finish(s, &x.p);
	if (rc)
		ml_reindex_error(s, "reindex", rc, err, errlen);
	if (out)
		*out = x.p;
	for (unsigned i = 0; x.msgs && i < ML_REINDEX_BATCH; i++)
		ml_message_free(&x.msgs[i]);
	free(x.msgs);
	free(x.places);
	ml_writer_free(x.w);
	return rc;
}
