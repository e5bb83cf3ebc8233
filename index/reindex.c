#include "reindex.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/record.h"
#include "index/writer.h"

int ml_store_reserve(ml_store_t *s, uint64_t need)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	if (info.me_mapsize > s->mapsize)
		s->mapsize = info.me_mapsize;
	uint64_t used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	while (s->mapsize < used + need) {
		int rc = ml_store_grow(s);
		if (rc)
			return rc;
	}
	return ML_OK;
}

int ml_reindex_mark(ml_store_t *s)
{
	MDB_txn *t;
	int rc = ml_store_write_begin(s, &t);
	if (rc)
		return rc;
	uint64_t now = (uint64_t)time(NULL);
	rc = ml_meta_put(t, s, "reindex:last", 12, &now, 8);
	if (rc) {
		mdb_txn_abort(t);
		return rc;
	}
	return ml_store_errcode(mdb_txn_commit(t));
}

#define RX_THREADS 2

typedef struct {
	ml_store_t *s;
	ml_writer_t *w;
	ml_codec_t *codec[RX_THREADS];   /* decode the old records */
	ml_message_t *msgs;        /* one batch */
	MDB_val *vals;             /* its stored records (pointers into the read snapshot) */
	ml_reindex_progress_t p;
} rx_t;

typedef struct {
	rx_t *x;
	ml_codec_t *codec;
	size_t from, to;
	int rc;
} rx_part_t;

/* Decode records [from, to) of the batch. */
static void *decode_part(void *arg)
{
	rx_part_t *pt = arg;
	pt->rc = ML_OK;
	for (size_t i = pt->from; i < pt->to && !pt->rc; i++) {
		pt->rc = ml_record_decode(pt->codec, pt->x->vals[i].mv_data, pt->x->vals[i].mv_size,
		                          &pt->x->msgs[i]);
		pt->x->msgs[i].docid = 0;
	}
	return NULL;
}

/* Decode the n records of the batch on RX_THREADS threads, then put them. */
static int put_batch(rx_t *x, size_t n)
{
	rx_part_t parts[RX_THREADS];
	pthread_t th[RX_THREADS];
	int started[RX_THREADS] = { 0 };
	for (int t = 0; t < RX_THREADS; t++) {
		parts[t] = (rx_part_t){ x, x->codec[t], n * (size_t)t / RX_THREADS,
		                        n * (size_t)(t + 1) / RX_THREADS, 0 };
		if (t > 0)
			started[t] = pthread_create(&th[t], NULL, decode_part, &parts[t]) == 0;
	}
	decode_part(&parts[0]);
	int rc = parts[0].rc;
	for (int t = 1; t < RX_THREADS; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			decode_part(&parts[t]);
		if (!rc)
			rc = parts[t].rc;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = ml_writer_put(x->w, &x->msgs[i]);
	if (!rc)
		rc = ml_writer_flush(x->w);
	/* the batch's messages give their memory back: reused, each slot would
	 * keep the largest message it ever held, and a reindex of 10M messages
	 * held gigabytes */
	for (size_t i = 0; i < n; i++) {
		ml_message_free(&x->msgs[i]);
		ml_message_init(&x->msgs[i]);
	}
	return rc;
}

/* One whole run in one write transaction.  ML_EFULL: the map filled. */
static int run_once(rx_t *x, ml_reindex_fn fn, void *ctx)
{
	MDB_txn *rt = NULL;
	MDB_cursor *cur = NULL;
	int rc = ml_store_read_begin(x->s, &rt);
	if (rc)
		return rc;
	MDB_stat st;
	if (!mdb_stat(rt, x->s->rec, &st))
		x->p.total = st.ms_entries;
	x->p.done = x->p.bytes_before = 0;
	for (int t = 0; t < RX_THREADS && !rc; t++)
		rc = ml_store_load_dicts(x->s, rt, x->codec[t]);
	if (!rc)
		rc = ml_writer_rebuild_begin(x->w, 1);
	if (!rc)
		rc = ml_store_errcode(mdb_cursor_open(rt, x->s->rec, &cur));
	size_t n = 0;
	MDB_val k, v;
	int r2 = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (!rc && (r2 == 0 || n)) {
		if (r2 == 0) {
			x->p.bytes_before += v.mv_size;
			x->vals[n++] = v;
			r2 = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			if (r2 && r2 != MDB_NOTFOUND) {
				rc = ml_store_errcode(r2);
				break;
			}
		}
		if (n == ML_REINDEX_BATCH || (r2 && n)) {
			rc = put_batch(x, n);
			x->p.done += n;
			n = 0;
			if (!rc && fn && fn(ctx, &x->p))
				rc = ML_EINTR;
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	if (!rc)
		rc = ml_writer_commit(x->w);
	else
		ml_writer_abort(x->w);
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
	p->bytes_after = 0;
	MDB_val k, v;
	MDB_cursor *c;
	if (mdb_cursor_open(t, s->rec, &c) == 0) {
		int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		while (r == 0) {
			p->bytes_after += v.mv_size;
			r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(t);
	return ML_OK;
}

int ml_reindex_run(ml_store_t *s, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *out,
                   char *err, size_t errlen)
{
	rx_t x;
	memset(&x, 0, sizeof x);
	x.s = s;
	int rc = ML_OK;
	for (int t = 0; t < RX_THREADS && !rc; t++)
		rc = ml_codec_new(&x.codec[t], 3);
	if (!rc)
		rc = ml_writer_new(&x.w, s);
	x.msgs = calloc(ML_REINDEX_BATCH, sizeof *x.msgs);
	x.vals = calloc(ML_REINDEX_BATCH, sizeof *x.vals);
	if (!rc && (!x.msgs || !x.vals))
		rc = ML_ENOMEM;
	for (unsigned i = 0; x.msgs && i < ML_REINDEX_BATCH; i++)
		ml_message_init(&x.msgs[i]);
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
		snprintf(err, errlen, "%s: reindex failed: %s%s; the database is as it was", s->path,
		         ml_strerror(rc), rc == ML_EFULL ? " (is the disk full?)" : "");
	if (out)
		*out = x.p;
	for (unsigned i = 0; x.msgs && i < ML_REINDEX_BATCH; i++)
		ml_message_free(&x.msgs[i]);
	free(x.msgs);
	free(x.vals);
	ml_writer_free(x.w);
	for (int t = 0; t < RX_THREADS; t++)
		ml_codec_free(x.codec[t]);
	return rc;
}
