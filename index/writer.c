#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>

#include "index/counts.h"
#include "index/rowsum.h"
#include "index/postings.h"
#include "index/reports.h"
#include "index/tokens.h"

#define TRAIN_MESSAGES 40000      /* messages the string table is trained on, at most (an
                                     ingest's first batch of 500,000 lines holds ~37,000) */
#define DICT_SAMPLES 4000         /* raw records the dictionary is trained on, at most */
#define DICT_BYTES (128u << 10)

typedef struct {
	ml_message_t *m;
	uint64_t old_docid;
	int place;                /* where to store it, or -1: as its state says */
} put_t;

/* What the encoding phase prepares for one put (buffers reused across batches). */
typedef struct {
	uint32_t old_flags;       /* the stored message's flags */
	int has_old;              /* a row was stored under its docid */
	int old_place;            /* where (ML_PLACE_*) */
	int target;               /* where it goes now */
	int late;                 /* target is the open tables, as a late row (store.h): its
	                             lines go to a block all the same */
	int raw_plain;            /* raw holds the masked plain form (check in check), not a record */
	uint32_t check;
	ml_keys_t keys, oldkeys;  /* term keys of the message now, and as stored */
	ml_buf_t row, raw;        /* the stored forms */
	const void *old;          /* the stored row (a pointer into the map), or NULL */
	size_t oldn;
	ml_buf_t oldlines;        /* a put with raw_base lines stored (engine/message.h):
	                             the stored value that holds them */
} prep_t;

/* The encoding phase runs on two threads, each with its own codec. */
#define PREP_THREADS 2

struct ml_writer {
	ml_store_t *s;
	MDB_txn *txn;
	ml_codec_t *codec[PREP_THREADS];
	ml_strtab_t tab;          /* the stored string table, owned and indexed */
	put_t *puts;
	size_t nputs, puts_cap;
	prep_t *preps;
	size_t preps_cap;
	ml_buf_t bookkeeping;     /* queued meta writes: [klen u16][vlen u32][op u8] key val */
	ml_buf_t kb;
	ml_post_batch_t *post;
	int64_t rows_delta[ML_ST__COUNT];
	int counts_on;            /* the table counts is kept (complete, or being rebuilt) */
	int counts_more;          /* ... with the keys added later (index/counts.h) */
	ml_counts_delta_t *counts[PREP_THREADS];  /* its changes, one set a prep thread */
	int rowsum_on;            /* the table rowsum is kept (complete, or being rebuilt) */
	ml_rowsum_delta_t *rowsum;
	int64_t post_delta;
	int flushing;             /* commit_inner runs for ml_writer_flush */
	int post_kept;            /* ... and left the postings queued (a rebuild's) */
	size_t defer_max;         /* ML_REBUILD_DEFER_POSTINGS: write past this many */
	int64_t last_t;           /* docid cache: second and last docid used in it */
	uint64_t last_docid;
	void (*on_docids)(void *ctx, ml_message_t *const *msgs, size_t n);  /* ml_writer_on_docids */
	void *docids_ctx;
	ml_message_t **dmsgs;     /* the puts' messages, for on_docids */
	size_t dmsgs_cap;
	uint64_t last_row[ML_PLACES];  /* largest docid appended to each place's rows in this transaction */
	size_t *order;            /* puts in docid order, for the writes */
	size_t order_cap;
	ml_buf_t rawbuf, enc, blk, blk2;
	uint64_t *closed;         /* docids of the batch's closed puts, sorted */
	size_t nclosed, closed_cap;
	struct held *held;        /* closed messages moving out of the open tables */
	size_t nheld, held_cap;
	struct bpart_s *bparts;   /* the raw blocks of the commit: their parts, */
	size_t nbparts, bparts_cap;
	struct bplan_s *bplans;   /* ... the blocks, */
	size_t nbplans, bplans_cap;
	ml_buf_t *bout;           /* ... each compressed */
	size_t bout_cap;
	ml_buf_t pool;            /* plain forms the commit holds itself */
	struct rop *rops;         /* the changes of the commit to raw.open, applied at its end */
	size_t nrops, rops_cap;
	ml_buf_t ropdata;         /* ... the values they put */
	int rebuild;              /* flags of ml_writer_rebuild_begin, while one runs; -1 none */
	int retrain;              /* a string table to train at the next flush */
	int retrain_dict;         /* a raw dictionary too */
	uint32_t new_dict;        /* rebuild: the dictionary trained, 0 if none */
	int dict_unstored;        /* a dictionary trained in the open transaction */
	int tab_unstored;         /* a string table trained in the open transaction */
	int (*before_commit)(void *ctx, MDB_txn *txn);
	void *before_ctx;
	ml_buf_t reports;         /* reports from log lines, joined at the next commit: each an
	                             ml_report_t, u16 n, message-id, u16 qn, queue ID; kept
	                             until a commit succeeds (an aborted one's retry joins them) */
};

enum { OP_PUT = 1, OP_ADD = 2, OP_TALLY = 3, OP_IFNEW = 4 };

/* A change to raw.open: the records of its own of the messages in flight
 * (and held) are rewritten at nearly every commit of an ingest; they are
 * gathered and applied together (ml_store_raw_apply), so that a commit that
 * rewrites most of them writes the table anew, its pages full. */
struct rop {
	uint64_t docid;
	size_t seq;               /* order of the calls: the last one on a docid wins */
	size_t off, n;            /* the value, in w->ropdata */
	int del, fresh;
};

/* Adopt the string table and dictionaries stored in the open transaction. */
static int load_tables(ml_writer_t *w)
{
	MDB_val v;
	int rc = ml_meta_get(w->txn, w->s, ML_META_STRTAB, strlen(ML_META_STRTAB), &v);
	if (rc == ML_ENOTFOUND) {
		ml_strtab_free(&w->tab);
		rc = ML_OK;
	} else if (!rc) {
		uint32_t gen = 0;
		if (v.mv_size >= 8)
			memcpy(&gen, (const char *)v.mv_data + 4, 4);
		if (gen != w->tab.gen) {
			rc = ml_strtab_copy(&w->tab, v.mv_data, v.mv_size);
			if (!rc)
				rc = ml_strtab_index(&w->tab);
		}
	}
	uint32_t id = ml_store_dict_id(w->txn, w->s);
	for (int t = 0; t < PREP_THREADS && !rc; t++)
		if (id && !ml_codec_has_dict(w->codec[t], id))
			rc = ml_store_load_dicts(w->s, w->txn, w->codec[t]);
	return rc;
}

int ml_writer_new(ml_writer_t **out, ml_store_t *s)
{
	ml_writer_t *w = calloc(1, sizeof *w);
	if (!w)
		return ML_ENOMEM;
	w->s = s;
	w->rebuild = -1;
	int rc = ml_post_batch_new(&w->post);
	for (int t = 0; t < PREP_THREADS && !rc; t++)
		rc = ml_codec_new(&w->codec[t]);
	for (int t = 0; t < PREP_THREADS && !rc; t++)
		rc = ml_counts_delta_new(&w->counts[t]);
	if (!rc)
		rc = ml_rowsum_delta_new(&w->rowsum);
	if (rc) {
		ml_writer_free(w);
		return rc;
	}
	*out = w;
	return ML_OK;
}

static void preps_shrink(ml_writer_t *w)
{
	for (size_t i = 0; i < w->preps_cap; i++) {
		prep_t *p = &w->preps[i];
		ml_buf_free(&p->row);
		ml_buf_free(&p->raw);
		ml_keys_free(&p->keys);
		ml_keys_free(&p->oldkeys);
		ml_buf_free(&p->oldlines);
	}
}

void ml_writer_free(ml_writer_t *w)
{
	if (!w)
		return;
	if (w->txn)
		ml_writer_abort(w);
	for (int t = 0; t < PREP_THREADS; t++) {
		ml_codec_free(w->codec[t]);
		ml_counts_delta_free(w->counts[t]);
	}
	ml_rowsum_delta_free(w->rowsum);
	preps_shrink(w);
	free(w->preps);
	free(w->dmsgs);
	free(w->puts);
	ml_buf_free(&w->bookkeeping);
	ml_buf_free(&w->reports);
	ml_buf_free(&w->kb);
	ml_buf_free(&w->rawbuf);
	ml_buf_free(&w->enc);
	ml_buf_free(&w->blk);
	ml_buf_free(&w->blk2);
	ml_buf_free(&w->pool);
	free(w->rops);
	ml_buf_free(&w->ropdata);
	free(w->bparts);
	free(w->bplans);
	for (size_t i = 0; i < w->bout_cap; i++)
		ml_buf_free(&w->bout[i]);
	free(w->bout);
	free(w->order);
	free(w->closed);
	free(w->held);
	ml_post_batch_free(w->post);
	ml_strtab_free(&w->tab);
	free(w);
}

void ml_writer_defer_max(ml_writer_t *w, size_t n)
{
	w->defer_max = n;
}

int ml_writer_active(const ml_writer_t *w)
{
	return w->txn != NULL;
}

static void batch_reset(ml_writer_t *w)
{
	w->nputs = 0;
	w->nrops = 0;
	ml_buf_reset(&w->bookkeeping);
	if (!w->post_kept)
		ml_post_batch_reset(w->post);
	w->post_kept = 0;
	memset(w->rows_delta, 0, sizeof w->rows_delta);
	for (int t = 0; t < PREP_THREADS; t++)
		if (w->counts[t])
			ml_counts_delta_reset(w->counts[t]);
	if (w->rowsum)
		ml_rowsum_delta_reset(w->rowsum);
}

int ml_writer_begin(ml_writer_t *w)
{
	if (w->txn)
		return ML_EINVAL;
	batch_reset(w);
	w->last_t = -1;
	memset(w->last_row, 0, sizeof w->last_row);
	int rc = ml_store_write_begin(w->s, &w->txn);
	if (rc)
		return rc;
	w->counts_on = ml_counts_ready(w->txn, w->s);
	w->counts_more = ml_counts_more(w->txn, w->s);
	w->rowsum_on = ml_rowsum_ready(w->txn, w->s);
	/* a table or dictionary stored since this writer loaded its own (a reindex) */
	rc = load_tables(w);
	if (rc)
		ml_writer_abort(w);
	return rc;
}

static int drop_counters(ml_writer_t *w)
{
	int rc = ml_meta_del(w->txn, w->s, ML_META_MESSAGES, strlen(ML_META_MESSAGES));
	for (int st = 1; st < ML_ST__COUNT && !rc; st++) {
		char key[64];
		snprintf(key, sizeof key, "%s%s", ML_META_ROWS_PFX, ml_status_name((ml_status_t)st));
		rc = ml_meta_del(w->txn, w->s, key, strlen(key));
	}
	return rc;
}

int ml_writer_rebuild_begin(ml_writer_t *w, int flags)
{
	int rc = ml_writer_begin(w);
	if (rc)
		return rc;
	int r2 = 0;
	for (int p = 0; p < ML_PLACES && !r2; p++) {
		r2 = mdb_drop(w->txn, ml_store_rows_dbi(w->s, p), 0);
		if (!r2 && !(flags & ML_REBUILD_KEEP_RAW))
			r2 = mdb_drop(w->txn, ml_store_raw_dbi(w->s, p), 0);
	}
	if (!r2)
		r2 = mdb_drop(w->txn, w->s->post, 0);
	if (!r2)
		r2 = mdb_drop(w->txn, w->s->open, 0);
	if (!r2)
		r2 = ml_meta_del(w->txn, w->s, ML_META_SEALED, strlen(ML_META_SEALED));
	if (!r2)
		r2 = ml_meta_del(w->txn, w->s, ML_META_POSTINGS, strlen(ML_META_POSTINGS));
	rc = r2 ? ml_store_errcode(r2) : drop_counters(w);
	/* filled again by the puts; complete at the commit */
	if (!rc)
		rc = ml_counts_clear(w->txn, w->s);
	if (!rc)
		rc = ml_rowsum_clear(w->txn, w->s);
	w->counts_on = 1;
	w->counts_more = 1;
	w->rowsum_on = 1;
	if (rc) {
		ml_writer_abort(w);
		return rc;
	}
	w->rebuild = flags;
	w->retrain = (flags & ML_REBUILD_RETRAIN) != 0;
	w->retrain_dict = (flags & ML_REBUILD_RAW_DICT) && !(flags & ML_REBUILD_KEEP_RAW);
	w->new_dict = 0;
	return ML_OK;
}

int ml_writer_open_lookup(ml_writer_t *w, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	if (!w->txn)
		return ML_EINVAL;
	int rc = ml_store_open_key(&w->kb, host, qid);
	if (rc)
		return rc;
	MDB_val k = { w->kb.len, w->kb.data }, v;
	rc = mdb_get(w->txn, w->s->open, &k, &v);
	if (rc)
		return ml_store_errcode(rc);
	if (v.mv_size != 8)
		return ML_CORRUPT_BKPT;
	rc = ml_writer_get(w, ml_get_be64(v.mv_data), 1, m);
	return rc == ML_ENOTFOUND ? ML_CORRUPT_BKPT : rc;
}

int ml_writer_get(ml_writer_t *w, uint64_t docid, int lines, ml_message_t *m)
{
	if (!w->txn)
		return ML_EINVAL;
	MDB_val rv;
	int place;
	int rc = ml_store_row_get(w->txn, w->s, docid, &rv, &place);
	if (rc)
		return rc;
	rc = ml_row_decode(&w->tab, rv.mv_data, rv.mv_size, docid, m);
	if (rc || !lines)
		return rc;
	rc = ml_store_lines_get(w->txn, w->s, docid, m->raw_key, &w->rawbuf);
	if (rc)
		return rc == ML_ENOTFOUND ? ML_CORRUPT_BKPT : rc;
	return ml_raw_decode(w->codec[0], w->rawbuf.data, w->rawbuf.len, m);
}

int ml_writer_find(ml_writer_t *w, const char *key, size_t n, int64_t since_us, int64_t until_us,
                   uint64_t *ids, size_t cap, size_t *count)
{
	*count = 0;
	if (!w->txn)
		return ML_EINVAL;
	return ml_post_find(w->txn, w->s->post, key, n, since_us, until_us, ids, cap, count);
}

int ml_writer_put_at(ml_writer_t *w, ml_message_t *m, int place)
{
	int rc = ml_array_grow((void **)&w->puts, &w->puts_cap, sizeof *w->puts, w->nputs + 1, 1024);
	if (rc)
		return rc;
	w->puts[w->nputs++] = (put_t){ m, m->docid, place };
	return ML_OK;
}

int ml_writer_put(ml_writer_t *w, ml_message_t *m)
{
	return ml_writer_put_at(w, m, -1);
}

static int queue_meta(ml_writer_t *w, int op, const void *k, size_t kn, const void *v, size_t vn)
{
	unsigned char hdr[7] = { (unsigned char)kn, (unsigned char)(kn >> 8),
		(unsigned char)vn, (unsigned char)(vn >> 8), (unsigned char)(vn >> 16),
		(unsigned char)(vn >> 24), (unsigned char)op };
	int rc = ml_buf_append(&w->bookkeeping, hdr, 7);
	if (!rc)
		rc = ml_buf_append(&w->bookkeeping, k, kn);
	if (!rc)
		rc = ml_buf_append(&w->bookkeeping, v, vn);
	return rc;
}

static void ckpt_key(unsigned char k[13], uint64_t hash)
{
	memcpy(k, ML_META_CKPT_PFX, 5);
	ml_put_be64(k + 5, hash);
}

int ml_writer_checkpoint(ml_writer_t *w, const ml_ckpt_t *c)
{
	unsigned char k[13];
	ckpt_key(k, c->hash);
	ml_ckpt_t copy = *c;
	copy.updated = (int64_t)time(NULL);
	return queue_meta(w, OP_PUT, k, 13, &copy, sizeof copy);
}

int ml_ckpt_parse(const char *key, size_t klen, const void *v, size_t vlen, ml_ckpt_t *out)
{
	if (klen != 13 || memcmp(key, ML_META_CKPT_PFX, 5) != 0 || vlen != sizeof *out)
		return ML_CORRUPT_BKPT;
	memcpy(out, v, sizeof *out);
	return ML_OK;
}

int ml_ckpt_get(ml_store_t *s, MDB_txn *txn, uint64_t hash, ml_ckpt_t *out)
{
	unsigned char k[13];
	ckpt_key(k, hash);
	MDB_val v;
	int rc = ml_meta_get(txn, s, k, 13, &v);
	return rc ? rc : ml_ckpt_parse((const char *)k, 13, v.mv_data, v.mv_size, out);
}

int ml_writer_ckpt_get(ml_writer_t *w, uint64_t hash, ml_ckpt_t *out)
{
	return w->txn ? ml_ckpt_get(w->s, w->txn, hash, out) : ML_EINVAL;
}

uint64_t ml_writer_meta_u64(ml_writer_t *w, const char *key)
{
	return w->txn ? ml_meta_get_u64(w->txn, w->s, key) : 0;
}

int ml_writer_meta_put(ml_writer_t *w, const char *key, const void *v, size_t n)
{
	return w->txn ? ml_meta_put(w->txn, w->s, key, strlen(key), v, n) : ML_EINVAL;
}

int ml_writer_meta_each(ml_writer_t *w, const char *prefix,
                        int (*fn)(void *ctx, const char *key, size_t klen, const void *v, size_t vlen),
                        void *ctx)
{
	return w->txn ? ml_meta_each(w->txn, w->s, prefix, fn, ctx) : ML_EINVAL;
}

int ml_writer_count(ml_writer_t *w, const char *name, uint64_t delta)
{
	char k[128];
	int n = snprintf(k, sizeof k, "%s%s", ML_META_COUNT_PFX, name);
	if (n < 0 || n >= (int)sizeof k)
		return ML_EINVAL;
	return queue_meta(w, OP_ADD, k, (size_t)n, &delta, 8);
}

int ml_writer_tally(ml_writer_t *w, const char *kind, const char *reason, uint64_t count,
                    const char *sample, size_t samplen)
{
	char k[256];
	int n = snprintf(k, sizeof k, "%s%s:%s", ML_META_TALLY_PFX, kind, reason);
	if (n < 0)
		return ML_EINVAL;
	if (n >= (int)sizeof k)
		n = sizeof k - 1;
	ml_buf_t v = ML_BUF_INIT;
	int rc = ml_buf_append(&v, &count, 8);
	if (!rc)
		rc = ml_buf_append(&v, sample, ML_MIN(samplen, 1024));
	if (!rc)
		rc = queue_meta(w, OP_TALLY, k, (size_t)n, v.data, v.len);
	ml_buf_free(&v);
	return rc;
}

int ml_writer_local_domain(ml_writer_t *w, const char *domain, size_t n)
{
	char k[300];
	size_t pn = strlen(ML_META_LOCALDOM_PFX);
	if (n > 255)
		return ML_EINVAL;
	memcpy(k, ML_META_LOCALDOM_PFX, pn);
	for (size_t i = 0; i < n; i++)
		k[pn + i] = (domain[i] >= 'A' && domain[i] <= 'Z') ? domain[i] + 32 : domain[i];
	return queue_meta(w, OP_IFNEW, k, pn + n, "", 0);
}

static int cmp_u64(const void *a, const void *b);

static int redecide_one(ml_writer_t *w, uint64_t docid, ml_message_t *m,
                        int (*decide)(void *ctx, ml_message_t *m), void *ctx, size_t *changed)
{
	MDB_val v;
	int place;
	int rc = ml_store_row_get(w->txn, w->s, docid, &v, &place);
	if (rc)
		return rc == ML_ENOTFOUND ? ML_OK : rc;  /* a posting of a message pruned since */
	rc = ml_row_decode(&w->tab, v.mv_data, v.mv_size, docid, m);
	if (rc)
		return rc;
	uint8_t old = m->direction;
	int d = decide(ctx, m);
	if (d < 0 || d == old)
		return d < 0 ? d : ML_OK;
	/* its rows move from one direction's counts to the other's */
	if (w->counts_on && w->counts_more) {
		ml_counts_delta_more(w->counts[0], 1);
		m->direction = old;
		rc = ml_counts_message(w->counts[0], m, -1);
		m->direction = (uint8_t)d;
		if (!rc)
			rc = ml_counts_message(w->counts[0], m, +1);
		if (rc)
			return rc;
	}
	ml_buf_reset(&w->blk2);
	rc = ml_buf_append(&w->blk2, v.mv_data, v.mv_size);
	if (!rc)
		rc = ml_row_set_direction(w->blk2.data, w->blk2.len, (uint8_t)d);
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	MDB_val k = { 8, kb }, nv = { w->blk2.len, w->blk2.data };
	if (!rc)
		rc = ml_store_errcode(mdb_put(w->txn, ml_store_rows_dbi(w->s, place), &k, &nv, 0));
	char pk[16];
	const uint8_t dirs[2] = { old, (uint8_t)d };
	for (int del = 1; del >= 0 && !rc; del--) {
		if (!dirs[!del])
			continue;  /* no direction, no posting */
		const char *name = ml_direction_name((ml_direction_t)dirs[!del]);
		size_t nn = strlen(name);
		pk[0] = ML_TAG_DIRECTION;
		memcpy(pk + 1, name, nn);
		rc = ml_post_batch_add(w->post, pk, nn + 1, docid, del);
	}
	if (!rc && changed)
		(*changed)++;
	return rc;
}

int ml_writer_redecide(ml_writer_t *w, const char *key, size_t n,
                       int (*decide)(void *ctx, ml_message_t *m), void *ctx, size_t *changed)
{
	if (!w->txn)
		return ML_EINVAL;
	uint64_t first, last;
	int rc = ml_store_docid_range(w->txn, w->s, &first, &last);
	if (rc || !last)
		return rc;
	/* the batch's own messages are decided by the caller */
	uint64_t *put = malloc((w->nputs + 1) * sizeof *put);
	if (!put)
		return ML_ENOMEM;
	size_t nput = 0;
	for (size_t i = 0; i < w->nputs; i++)
		if (w->puts[i].m->docid)
			put[nput++] = w->puts[i].m->docid;
	qsort(put, nput, sizeof *put, cmp_u64);
	ml_message_t m;
	ml_message_init(&m);
	for (uint32_t b = ml_docid_bucket(last) + 1; b-- > ml_docid_bucket(first) && !rc;) {
		ml_plist_t it;
		rc = ml_plist_open(&it, w->txn, w->s->post, key, n, b);
		if (rc)
			break;
		for (uint64_t d = ml_plist_seek(&it, UINT64_MAX); d && !rc; d = d > 1 ? ml_plist_seek(&it, d - 1) : 0)
			if (!bsearch(&d, put, nput, sizeof *put, cmp_u64))
				rc = redecide_one(w, d, &m, decide, ctx, changed);
		ml_plist_close(&it);
	}
	ml_message_free(&m);
	free(put);
	return rc;
}

static int write_bookkeeping(ml_writer_t *w)
{
	const unsigned char *p = (const unsigned char *)w->bookkeeping.data;
	const unsigned char *end = p + w->bookkeeping.len;
	int rc = 0;
	while (p < end && !rc) {
		size_t kn = (size_t)p[0] | (size_t)p[1] << 8;
		size_t vn = (size_t)p[2] | (size_t)p[3] << 8 | (size_t)p[4] << 16 | (size_t)p[5] << 24;
		int op = p[6];
		const unsigned char *k = p + 7, *v = k + kn;
		p = v + vn;
		MDB_val cur;
		if (op == OP_PUT) {
			rc = ml_meta_put(w->txn, w->s, k, kn, v, vn);
		} else if (op == OP_ADD) {
			int64_t d;
			memcpy(&d, v, 8);
			char key[256];
			snprintf(key, sizeof key, "%.*s", (int)kn, (const char *)k);
			rc = ml_meta_add(w->txn, w->s, key, d);
		} else if (op == OP_IFNEW) {
			int r = ml_meta_get(w->txn, w->s, k, kn, &cur);
			if (r == ML_ENOTFOUND)
				rc = ml_meta_put(w->txn, w->s, k, kn, v, vn);
			else
				rc = r;
		} else if (op == OP_TALLY) {
			int r = ml_meta_get(w->txn, w->s, k, kn, &cur);
			if (r == 0 && cur.mv_size >= 8) {
				ml_buf_t nv = ML_BUF_INIT;
				uint64_t c, d;
				memcpy(&c, cur.mv_data, 8);
				memcpy(&d, v, 8);
				c += d;
				rc = ml_buf_append(&nv, &c, 8);
				if (!rc)
					rc = ml_buf_append(&nv, (const char *)cur.mv_data + 8, cur.mv_size - 8);
				if (!rc)
					rc = ml_meta_put(w->txn, w->s, k, kn, nv.data, nv.len);
				ml_buf_free(&nv);
			} else if (r == 0 || r == ML_ENOTFOUND) {
				rc = ml_meta_put(w->txn, w->s, k, kn, v, vn);
			} else {
				rc = r;
			}
		}
	}
	return rc;
}

/* The largest docid stored below `below` in any place (0: none). */
static int last_below(MDB_cursor *const cur[ML_PLACES], uint64_t below, uint64_t *out)
{
	*out = 0;
	for (int p = 0; p < ML_PLACES; p++) {
		unsigned char kb[8];
		ml_put_be64(kb, below);
		MDB_val k = { 8, kb }, v;
		int rc = mdb_cursor_get(cur[p], &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(cur[p], &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur[p], &k, &v, MDB_LAST);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc)
			return ml_store_errcode(rc);
		if (k.mv_size != 8)
			return ML_CORRUPT_BKPT;
		uint64_t d = ml_get_be64(k.mv_data);
		if (d < below && d > *out)
			*out = d;
	}
	return ML_OK;
}

/* A fresh docid for a message first seen at time_us, inside this transaction. */
static int assign_docid(ml_writer_t *w, MDB_cursor *const cur[ML_PLACES], int64_t time_us, uint64_t *out)
{
	int64_t t = time_us / 1000000;
	if (t < 0)
		t = 0;
	if ((uint64_t)t > ML_DOCID_SEC_MAX - 1)
		t = (int64_t)(ML_DOCID_SEC_MAX - 1);
	if (t == w->last_t && ml_docid_seq(w->last_docid) != ML_DOCID_SEQ_MAX) {
		*out = ++w->last_docid;
		return ML_OK;
	}
	uint64_t last, d = ml_docid_make((uint64_t)t, 0);
	int rc = last_below(cur, ml_docid_make((uint64_t)t + 1, 0), &last);
	if (rc)
		return rc;
	if (last >= d)
		d = last + 1;
	/* above the docids of its second, stored or given in this transaction;
	 * never 0, which means none (a message put with docid 0 is new) */
	ML_ASSERT(d != 0 && (t != w->last_t || d > w->last_docid));
	w->last_t = (int64_t)ml_docid_sec(d);
	w->last_docid = d;
	*out = d;
	return ML_OK;
}

static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, ML_MIN(an, bn));
	return c ? c : (an > bn) - (an < bn);
}

/* Queue the postings of keys for docid: additions (del = 0) of the keys not
 * in `other`, or removals (del = 1) of the keys not in `other`. */
static int queue_postings(ml_writer_t *w, const ml_keys_t *keys, const ml_keys_t *other, uint64_t docid, int del)
{
	size_t pos = 0, opos = 0;
	const char *key, *ok = NULL, *prev = NULL;
	size_t len, olen = 0, plen = 0;
	int ohave = other ? ml_keys_next(other, &opos, &ok, &olen) : 0;
	while (ml_keys_next(keys, &pos, &key, &len)) {
		/* both lists are sorted and unique (ml_tokens_message): skip keys
		 * present in `other` */
		ML_ASSERT(!prev || key_cmp(prev, plen, key, len) < 0);
		prev = key;
		plen = len;
		int same = 0;
		while (ohave) {
			int c = key_cmp(ok, olen, key, len);
			if (c >= 0) {
				same = c == 0;
				break;
			}
			ohave = ml_keys_next(other, &opos, &ok, &olen);
		}
		if (same)
			continue;
		int rc = ml_post_batch_add(w->post, key, len, docid, del);
		if (rc)
			return rc;
	}
	return ML_OK;
}

typedef struct {
	ml_writer_t *w;
	ml_codec_t *codec;
	ml_counts_delta_t *counts;  /* NULL: the table counts is not kept */
	size_t first, step;      /* this thread prepares puts first, first + step, ... */
	ml_message_t old;
	ml_buf_t fullraw;        /* a put's stored lines and new ones, joined (join_lines) */
	uint64_t *fullseqs;
	size_t fullseqs_cap;
	int64_t rows_delta[ML_ST__COUNT];
	int rc;
} prep_worker_t;

/* *view: m with its stored lines (in old, decoded) before its own, joined
 * in wk's buffers (view owns nothing).  old must hold m->raw_base lines of
 * m->raw_base_bytes bytes. */
static int join_lines(prep_worker_t *wk, const ml_message_t *old, const ml_message_t *m, ml_message_t *view)
{
	if (old->nlines != m->raw_base || old->raw.len != m->raw_base_bytes)
		return ML_CORRUPT_BKPT;
	uint32_t n = old->nlines + m->nlines;
	ml_buf_reset(&wk->fullraw);
	int rc = ml_buf_reserve(&wk->fullraw, old->raw.len + m->raw.len);
	if (!rc)
		rc = ml_array_grow((void **)&wk->fullseqs, &wk->fullseqs_cap, sizeof *wk->fullseqs, (size_t)n + 1, 16);
	if (rc)
		return rc;
	ml_buf_append(&wk->fullraw, old->raw.data, old->raw.len);
	ml_buf_append(&wk->fullraw, m->raw.data, m->raw.len);
	for (uint32_t i = 0; i < old->nlines; i++)
		wk->fullseqs[i] = old->seqs ? old->seqs[i] : 0;
	for (uint32_t i = 0; i < m->nlines; i++)
		wk->fullseqs[old->nlines + i] = m->seqs ? m->seqs[i] : 0;
	*view = *m;
	view->raw = wk->fullraw;
	view->seqs = wk->fullseqs;
	view->seqs_cap = (uint32_t)wk->fullseqs_cap;
	view->nlines = n;
	view->raw_base = view->raw_base_bytes = 0;
	return ML_OK;
}

/* Term keys (now and as stored), row counts and the stored forms of each put:
 * the CPU-heavy part of a commit, which touches no LMDB state. */
static void *prep_run(void *arg)
{
	prep_worker_t *wk = arg;
	ml_writer_t *w = wk->w;
	int keep_raw = w->rebuild >= 0 && (w->rebuild & ML_REBUILD_KEEP_RAW);
	for (size_t i = wk->first; i < w->nputs && !wk->rc; i += wk->step) {
		prep_t *p = &w->preps[i];
		ml_message_t *m = w->puts[i].m;
		int rc = ml_tokens_message(m, &p->keys);
		ml_message_t view;
		const ml_message_t *lm = m;   /* with every line */
		if (!rc && p->old) {
			rc = ml_row_decode(&w->tab, p->old, p->oldn, m->docid, &wk->old);
			p->old_flags = wk->old.flags;
			if (!rc)
				rc = ml_tokens_message(&wk->old, &p->oldkeys);
			/* the lines stored before, joined with the new */
			if (!rc && m->raw_base)
				rc = ml_raw_decode(wk->codec, p->oldlines.data, p->oldlines.len, &wk->old);
			if (!rc && m->raw_base && !(rc = join_lines(wk, &wk->old, m, &view)))
				lm = &view;
			ml_counts_rows(wk->rows_delta, &wk->old, -1);
			/* the version replaced: its rows counted no more */
			if (!rc && wk->counts)
				rc = ml_counts_message(wk->counts, &wk->old, -1);
		}
		ml_counts_rows(wk->rows_delta, m, +1);
		if (!rc && wk->counts)
			rc = ml_counts_message(wk->counts, m, +1);
		if (!rc)
			rc = ml_row_encode(&w->tab, m, &p->row);
		/* a closed message's lines go into a block (the commit decides):
		 * its masked plain form; one in flight, a record of its own */
		p->raw_plain = (m->flags & ML_MSG_CLOSED) && w->puts[i].place < 0;
		if (!rc && !keep_raw && p->raw_plain) {
			ml_buf_reset(&p->raw);
			rc = ml_raw_plain(lm, &p->raw, &p->check);
			ml_buf_fit(&p->raw);
		} else if (!rc && !keep_raw) {
			/* a record of its own, kept till the writes: at its size */
			ml_buf_reset(&p->raw);
			rc = ml_raw_encode(wk->codec, lm, &p->raw);
			ml_buf_fit(&p->raw);
		}
		/* a long message's joined lines not kept for the next */
		if (lm != m && wk->fullraw.cap > (1u << 20))
			ml_buf_free(&wk->fullraw);
		wk->rc = rc;
	}
	return NULL;
}

/* First seen, then the order put. */
static int cmp_first_seen(const void *a, const void *b, void *ctx)
{
	const ml_writer_t *w = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t tx = w->puts[x].m->first_us, ty = w->puts[y].m->first_us;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return (x > y) - (x < y);
}

static int prepare(ml_writer_t *w)
{
	size_t cap = w->preps_cap;
	int rc = ml_array_grow((void **)&w->preps, &cap, sizeof *w->preps, w->nputs, 1024);
	if (!rc)
		rc = ml_array_grow((void **)&w->order, &w->order_cap, sizeof *w->order, w->nputs, 1024);
	if (rc)
		return rc;
	if (cap > w->preps_cap)
		memset(w->preps + w->preps_cap, 0, (cap - w->preps_cap) * sizeof *w->preps);
	w->preps_cap = cap;
	/* docids for new messages, and the stored rows of the others, here: the
	 * transaction is this thread's */
	MDB_cursor *cur[ML_PLACES] = { NULL, NULL };
	for (int p = 0; p < ML_PLACES && !rc; p++)
		rc = ml_store_errcode(mdb_cursor_open(w->txn, ml_store_rows_dbi(w->s, p), &cur[p]));
	/* new messages get docids in time order: each second's are then given
	 * one after another, and the cache of the last second covers them (the
	 * rows of this batch are not in the tables yet) */
	size_t nnew = 0;
	for (size_t i = 0; i < w->nputs; i++)
		if (!w->puts[i].m->docid)
			w->order[nnew++] = i;
	if (nnew > 1)
		qsort_r(w->order, nnew, sizeof *w->order, cmp_first_seen, w);
	for (size_t o = 0; o < nnew && !rc; o++)
		rc = assign_docid(w, cur, w->puts[w->order[o]].m->first_us, &w->puts[w->order[o]].m->docid);
	if (!rc && w->on_docids && w->rebuild < 0) {
		rc = ml_array_grow((void **)&w->dmsgs, &w->dmsgs_cap, sizeof *w->dmsgs, w->nputs, 1024);
		for (size_t i = 0; i < w->nputs && !rc; i++)
			w->dmsgs[i] = w->puts[i].m;
		if (!rc)
			w->on_docids(w->docids_ctx, w->dmsgs, w->nputs);
	}
	for (size_t i = 0; i < w->nputs && !rc; i++) {
		prep_t *p = &w->preps[i];
		ml_message_t *m = w->puts[i].m;
		p->old = NULL;
		p->has_old = 0;
		if (w->puts[i].old_docid == 0) {
			if (m->raw_base)
				rc = ML_CORRUPT_BKPT;   /* lines stored, and no stored version */
			continue;
		}
		MDB_val v;
		int r2 = ml_store_row_get(w->txn, w->s, m->docid, &v, &p->old_place);
		if (r2 == 0) {
			p->old = v.mv_data;
			p->oldn = v.mv_size;
			p->has_old = 1;
		} else if (r2 != ML_ENOTFOUND) {
			rc = r2;
		}
		/* the value that holds its lines stored before (joined in prep_run) */
		if (!rc && m->raw_base) {
			uint64_t raw_key = 0;
			rc = p->old ? ml_row_peek_raw_key(p->old, p->oldn, &raw_key) : ML_CORRUPT_BKPT;
			if (!rc)
				rc = ml_store_lines_get(w->txn, w->s, m->docid, raw_key, &p->oldlines);
			if (rc == ML_ENOTFOUND)
				rc = ML_CORRUPT_BKPT;
		}
	}
	for (int p = 0; p < ML_PLACES; p++)
		if (cur[p])
			mdb_cursor_close(cur[p]);
	if (rc)
		return rc;
	prep_worker_t wk[PREP_THREADS];
	pthread_t th[PREP_THREADS];
	int started[PREP_THREADS] = { 0 };
	/* small batches are not worth a thread */
	int nthreads = w->nputs >= 256 ? PREP_THREADS : 1;
	for (int t = 0; t < PREP_THREADS; t++) {
		memset(&wk[t], 0, sizeof wk[t]);
		wk[t].w = w;
		wk[t].codec = w->codec[t];
		wk[t].counts = w->counts_on ? w->counts[t] : NULL;
		ml_counts_delta_more(w->counts[t], w->counts_more);
		wk[t].first = (size_t)t;
		wk[t].step = (size_t)nthreads;
		ml_message_init(&wk[t].old);
	}
	for (int t = 1; t < nthreads; t++)
		started[t] = pthread_create(&th[t], NULL, prep_run, &wk[t]) == 0;
	prep_run(&wk[0]);
	for (int t = 1; t < nthreads; t++)
		if (!started[t])
			prep_run(&wk[t]);  /* no thread to be had: its share here */
	for (int t = 1; t < nthreads; t++)
		if (started[t])
			pthread_join(th[t], NULL);
	for (int t = 0; t < PREP_THREADS; t++) {
		if (!rc)
			rc = wk[t].rc;
		for (int st = 0; st < ML_ST__COUNT; st++)
			w->rows_delta[st] += wk[t].rows_delta[st];
		ml_message_free(&wk[t].old);
		ml_buf_free(&wk[t].fullraw);
		free(wk[t].fullseqs);
	}
	/* the counts of both threads as one set */
	for (int t = 1; t < nthreads && !rc && w->counts_on; t++) {
		rc = ml_counts_delta_merge(w->counts[0], w->counts[t]);
		ml_counts_delta_reset(w->counts[t]);
	}
	return rc;
}

/* ---- training: the string table and the raw-record dictionary ---- */

typedef struct {
	ml_message_t **v;
	size_t n;
	ml_message_t *own;       /* messages read back from the table */
	size_t nown;
} sample_t;

static void sample_free(sample_t *sm)
{
	for (size_t i = 0; i < sm->nown; i++)
		ml_message_free(&sm->own[i]);
	free(sm->own);
	free(sm->v);
}

/* The messages to train on: the batch's (up to TRAIN_MESSAGES, spread), and
 * when the batch is small, the newest stored ones (a follower's batches). */
static int gather(ml_writer_t *w, sample_t *sm)
{
	memset(sm, 0, sizeof *sm);
	size_t want = ML_MIN(w->nputs, (size_t)TRAIN_MESSAGES);
	size_t stored = 0;
	MDB_stat st;
	if (w->rebuild < 0 && w->nputs < ML_WRITER_TRAIN_MIN) {
		for (int p = 0; p < ML_PLACES; p++)
			if (mdb_stat(w->txn, ml_store_rows_dbi(w->s, p), &st) == 0)
				stored += st.ms_entries;
		stored = ML_MIN(stored, (size_t)TRAIN_MESSAGES);
	}
	sm->v = calloc(want + stored + 1, sizeof *sm->v);
	sm->own = stored ? calloc(stored, sizeof *sm->own) : NULL;
	if (!sm->v || (stored && !sm->own))
		return ML_ENOMEM;
	size_t step = want ? w->nputs / want : 1;
	for (size_t i = 0; i < want; i++)
		sm->v[sm->n++] = w->puts[i * step].m;
	if (!stored)
		return ML_OK;
	/* the newest of each place (late rows and held ones are in the open
	 * tables, their lines in records of their own) */
	int rc = ML_OK;
	for (int p = 0; p < ML_PLACES && !rc && sm->nown < stored; p++) {
		MDB_cursor *cur;
		rc = ml_store_errcode(mdb_cursor_open(w->txn, ml_store_rows_dbi(w->s, p), &cur));
		if (rc)
			break;
		MDB_val k, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		while (r == 0 && sm->nown < stored) {
			ml_message_t *m = &sm->own[sm->nown];
			ml_message_init(m);
			uint64_t d = ml_get_be64(k.mv_data);
			if (ml_row_decode(&w->tab, v.mv_data, v.mv_size, d, m) == 0 &&
			    ml_store_lines_get(w->txn, w->s, d, m->raw_key, &w->rawbuf) == 0 &&
			    ml_raw_decode(w->codec[0], w->rawbuf.data, w->rawbuf.len, m) == 0)
				sm->v[sm->n++] = m;
			sm->nown++;
			r = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		}
		mdb_cursor_close(cur);
	}
	return rc;
}

static int train_dict(ml_writer_t *w, const sample_t *sm, uint32_t id)
{
	ml_buf_t samples = ML_BUF_INIT, dict = ML_BUF_INIT;
	size_t ns = ML_MIN(sm->n, (size_t)DICT_SAMPLES), step = ns ? sm->n / ns : 1;
	size_t *sizes = malloc((ns + 1) * sizeof *sizes);
	int rc = sizes ? ML_OK : ML_ENOMEM;
	unsigned k = 0;
	for (size_t i = 0; i < ns && !rc && samples.len < (64u << 20); i++) {
		size_t before = samples.len;
		rc = ml_raw_plain(sm->v[i * step], &samples, NULL);
		sizes[k++] = samples.len - before;
	}
	if (!rc && ml_codec_train(samples.data, sizes, k, DICT_BYTES, &dict) == 0) {
		rc = ml_store_put_dict(w->txn, w->s, id, dict.data, dict.len);
		for (int t = 0; t < PREP_THREADS && !rc; t++)
			rc = ml_codec_add_dict(w->codec[t], id, dict.data, dict.len);
		if (!rc && w->rebuild >= 0)
			w->new_dict = id;
		w->dict_unstored = 1;
	}
	free(sizes);
	ml_buf_free(&samples);
	ml_buf_free(&dict);
	return rc;
}

static int maybe_train(ml_writer_t *w)
{
	int table = w->retrain || (!w->tab.gen && w->rebuild < 0);
	int dict = w->retrain_dict || (!ml_codec_dict_id(w->codec[0]) &&
	                               !(w->rebuild >= 0 && (w->rebuild & ML_REBUILD_KEEP_RAW)));
	if (!table && !dict)
		return ML_OK;
	sample_t sm;
	int rc = gather(w, &sm);
	if (!rc && sm.n >= ML_WRITER_TRAIN_MIN) {
		if (table) {
			ml_buf_t out = ML_BUF_INIT;
			rc = ml_strtab_train(sm.v, sm.n, w->tab.gen + 1, &out);
			if (!rc)
				rc = ml_meta_put(w->txn, w->s, ML_META_STRTAB, strlen(ML_META_STRTAB), out.data, out.len);
			if (!rc)
				rc = ml_strtab_copy(&w->tab, out.data, out.len);
			if (!rc)
				rc = ml_strtab_index(&w->tab);
			ml_buf_free(&out);
			w->retrain = 0;
			w->tab_unstored = 1;
		}
		if (!rc && dict) {
			rc = train_dict(w, &sm, ml_store_dict_id(w->txn, w->s) + 1);
			w->retrain_dict = 0;
		}
	}
	sample_free(&sm);
	return rc;
}

/* ---- commit ---- */

static int set_open(ml_writer_t *w, const ml_message_t *m)
{
	if (!m->queue_id.len)
		return ML_OK;
	int rc = ml_store_open_key(&w->kb, ml_message_str(m, m->host), ml_message_str(m, m->queue_id));
	if (rc)
		return rc;
	MDB_val k = { w->kb.len, w->kb.data };
	if (!(m->flags & ML_MSG_CLOSED)) {
		unsigned char d[8];
		ml_put_be64(d, m->docid);
		MDB_val v = { 8, d };
		return ml_store_errcode(mdb_put(w->txn, w->s->open, &k, &v, 0));
	}
	int r = mdb_del(w->txn, w->s->open, &k, NULL);
	return r == MDB_NOTFOUND ? ML_OK : ml_store_errcode(r);
}

static int cmp_order(const void *a, const void *b, void *ctx)
{
	const ml_writer_t *w = ctx;
	uint64_t x = w->puts[*(const size_t *)a].m->docid, y = w->puts[*(const size_t *)b].m->docid;
	return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int closed_in_batch(const ml_writer_t *w, uint64_t docid)
{
	return w->nclosed && bsearch(&docid, w->closed, w->nclosed, sizeof *w->closed, cmp_u64) != NULL;
}

/* Is docid among the batch's puts?  (order is sorted by docid.) */
static int ml_writer_has_put(const ml_writer_t *w, uint64_t docid)
{
	size_t lo = 0, hi = w->nputs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t d = w->puts[w->order[mid]].m->docid;
		if (d == docid)
			return 1;
		if (d < docid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Queue a change to raw.open (the value copied). */
static int rop_add(ml_writer_t *w, uint64_t docid, const void *p, size_t n, int del, int fresh)
{
	int rc = ml_array_grow((void **)&w->rops, &w->rops_cap, sizeof *w->rops, w->nrops + 1, 1024);
	size_t off = w->ropdata.len;
	if (!rc && n)
		rc = ml_buf_append(&w->ropdata, p, n);
	if (!rc)
		w->rops[w->nrops] = (struct rop){ docid, w->nrops, off, n, del, fresh }, w->nrops++;
	return rc;
}

static int cmp_rop(const void *a, const void *b)
{
	const struct rop *x = a, *y = b;
	if (x->docid != y->docid)
		return x->docid < y->docid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Apply the queued changes to raw.open (the last on a docid wins); an
 * ingest's commit may write the table anew, a rebuild's (whose flushes
 * share one transaction) changes it in place. */
static int rops_apply(ml_writer_t *w)
{
	if (!w->nrops)
		return ML_OK;
	qsort(w->rops, w->nrops, sizeof *w->rops, cmp_rop);
	ml_raw_op_t *ops = malloc(w->nrops * sizeof *ops);
	if (!ops)
		return ML_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < w->nrops; i++) {
		const struct rop *r = &w->rops[i];
		if (i + 1 < w->nrops && w->rops[i + 1].docid == r->docid)
			continue;
		/* fresh says what the first call found; after others, not known */
		int fresh = r->fresh && !(i && w->rops[i - 1].docid == r->docid);
		ops[n++] = (ml_raw_op_t){ r->docid, w->ropdata.data + r->off, r->n, r->del, fresh };
	}
	int rc = ml_store_raw_apply(w->txn, w->s, ML_PLACE_OPEN, ops, n, w->rebuild < 0);
	free(ops);
	w->nrops = 0;
	ml_buf_reset(&w->ropdata);
	return rc;
}

/* A closed message held in the open tables, moving to the closed ones in
 * this commit. */
struct held {
	uint64_t docid;
	size_t row_off, row_len;  /* in w->enc */
	size_t raw_off, raw_len;  /* its raw record, in w->rawbuf */
};

/* The hold boundary: the oldest docid of the messages in flight that are
 * younger than ML_HOLD_SECONDS before the newest; a closed message from
 * there on waits in the open tables (UINT64_MAX: none waits). */
static int hold_boundary(ml_writer_t *w, uint64_t *out)
{
	uint64_t first, newest;
	int rc = ml_store_docid_range(w->txn, w->s, &first, &newest);
	if (rc)
		return rc;
	for (size_t i = 0; i < w->nputs; i++)
		if (w->puts[i].m->docid > newest)
			newest = w->puts[i].m->docid;
	uint64_t sec = ml_docid_sec(newest);
	uint64_t young = ml_docid_make(sec > ML_HOLD_SECONDS ? sec - ML_HOLD_SECONDS : 0, 0);
	uint64_t h = UINT64_MAX;
	for (size_t i = 0; i < w->nputs; i++) {
		const ml_message_t *m = w->puts[i].m;
		if (!(m->flags & ML_MSG_CLOSED) && m->docid >= young && m->docid < h)
			h = m->docid;
	}
	/* and the ones in flight that this batch did not touch */
	MDB_cursor *c;
	rc = ml_store_errcode(mdb_cursor_open(w->txn, w->s->open, &c));
	if (rc)
		return rc;
	MDB_val k, v;
	int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (r == 0) {
		if (v.mv_size == 8) {
			uint64_t d = ml_get_be64(v.mv_data);
			if (d >= young && d < h && !closed_in_batch(w, d))
				h = d;
		}
		r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	*out = h;
	return r == MDB_NOTFOUND ? ML_OK : ml_store_errcode(r);
}

/* The closed messages held in the open tables above `last` (the last row
 * of the closed table) and below the boundary, which this batch does not
 * put again: copied out (w->held) and taken out of the open tables, to go
 * to the closed ones (appended).  Those below `last` stay (late rows). */
static int collect_held(ml_writer_t *w, uint64_t last, uint64_t bound)
{
	w->nheld = 0;
	ml_buf_reset(&w->enc);
	ml_buf_reset(&w->rawbuf);
	MDB_cursor *c;
	int rc = ml_store_errcode(mdb_cursor_open(w->txn, w->s->rows_open, &c));
	if (rc)
		return rc;
	unsigned char kb[8];
	ml_put_be64(kb, last + 1);
	MDB_val k = { 8, kb }, v;
	int r = last == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	ml_buf_t raw = ML_BUF_INIT;
	while (r == 0 && !rc) {
		if (k.mv_size != 8) {
			rc = ML_CORRUPT_BKPT;
			break;
		}
		uint64_t d = ml_get_be64(k.mv_data);
		if (d >= bound)
			break;
		uint32_t flags;
		rc = ml_row_peek_flags(v.mv_data, v.mv_size, &flags);
		if (!rc && (flags & ML_MSG_CLOSED) && !ml_writer_has_put(w, d)) {
			rc = ml_array_grow((void **)&w->held, &w->held_cap, sizeof *w->held, w->nheld + 1, 256);
			struct held *h = rc ? NULL : &w->held[w->nheld];
			if (h) {
				h->docid = d;
				h->row_off = w->enc.len;
				h->row_len = v.mv_size;
				rc = ml_buf_append(&w->enc, v.mv_data, v.mv_size);
			}
			if (!rc)
				rc = ml_store_raw_get(w->txn, w->s, ML_PLACE_OPEN, d, &raw);
			if (!rc) {
				h->raw_off = w->rawbuf.len;
				h->raw_len = raw.len;
				rc = ml_buf_append(&w->rawbuf, raw.data, raw.len);
			}
			if (!rc)
				w->nheld++;
		}
		r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	ml_buf_free(&raw);
	if (!rc && r && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	for (size_t i = 0; i < w->nheld && !rc; i++) {
		ml_put_be64(kb, w->held[i].docid);
		MDB_val dk = { 8, kb };
		int r2 = mdb_del(w->txn, w->s->rows_open, &dk, NULL);
		rc = r2 ? ml_store_errcode(r2) : rop_add(w, w->held[i].docid, NULL, 0, 1, 0);
	}
	return rc;
}

/* The closed messages of a commit, in docid order: rows into `rows` and
 * their lines into blocks of `raw`, numbered in the order they are made;
 * each row names its block.  The blocks are planned as the rows go in, then
 * compressed on the encoding threads and stored (app_finish). */
typedef struct bpart_s {
	uint64_t docid;
	const char *p;            /* the plain form, or NULL: at off in w->pool */
	size_t off, len;
	uint32_t check;
} bpart_t;

typedef struct bplan_s {
	uint64_t key;
	size_t first, n, plain;   /* its parts: bparts[first, first + n) */
	int merged;               /* it replaces the stored block under key */
} bplan_t;

typedef struct {
	ml_writer_t *w;
	MDB_cursor *rows;
	uint64_t last;            /* the largest docid in `rows` (appends go after it) */
	uint64_t prev;            /* the docid added before */
	uint64_t next;            /* the number the next new block gets */
	int keep_raw;
} appender_t;

static int plan_part(ml_writer_t *w, uint64_t docid, const char *p, size_t off, size_t len, uint32_t check)
{
	int rc = ml_array_grow((void **)&w->bparts, &w->bparts_cap, sizeof *w->bparts, w->nbparts + 1, 4096);
	if (rc)
		return rc;
	w->bparts[w->nbparts++] = (bpart_t){ docid, p, off, len, check };
	w->bplans[w->nbplans - 1].n++;
	w->bplans[w->nbplans - 1].plain += len;
	return ML_OK;
}

static int plan_block(ml_writer_t *w, uint64_t key, int merged)
{
	/* block numbers start at 1 (a row naming block 0 names a record of its
	 * own) and only grow: blocks are appended */
	ML_ASSERT(key > 0 && (!w->nbplans || key > w->bplans[w->nbplans - 1].key));
	int rc = ml_array_grow((void **)&w->bplans, &w->bplans_cap, sizeof *w->bplans, w->nbplans + 1, 64);
	if (!rc)
		w->bplans[w->nbplans++] = (bplan_t){ key, w->nbparts, 0, 0, merged };
	return rc;
}

static int keep_part(void *ctx, uint64_t docid, const void *plain, size_t len, uint32_t check)
{
	ml_writer_t *w = ctx;
	size_t off = w->pool.len;
	int rc = ml_buf_append(&w->pool, plain, len);
	return rc ? rc : plan_part(w, docid, NULL, off, len, check);
}

/* The first message of the commit: a small last block of `raw` whose
 * messages all come before it (a follower's commits) takes the new ones,
 * instead of a new small block starting.  Its key, and its rows, stay. */
static int app_start(appender_t *a, uint64_t docid)
{
	ml_writer_t *w = a->w;
	uint64_t key;
	a->next = 1;
	int rc = ml_store_raw_last(w->txn, w->s, &w->blk, &key);
	if (rc == ML_ENOTFOUND)
		return ML_OK;
	if (!rc)
		a->next = key + 1;
	if (rc || w->blk.len >= ML_RAWBLOCK_PLAIN / 8)
		return rc;
	uint64_t last;
	rc = ml_rawblk_last_of(w->blk.data, w->blk.len, &last);
	if (rc || last >= docid)
		return rc;   /* not all before docid: left as it is */
	rc = plan_block(w, key, 1);
	if (!rc)
		rc = ml_rawblk_each(w->codec[1], w->blk.data, w->blk.len, keep_part, w);
	return rc;
}

/* One closed message: its row (the row bytes, without where its lines are)
 * and the masked plain form of its lines (plain, or at off in w->pool).
 * Its lines go to the block being planned, its row to `rows` (appended when
 * above the last), or, late, to rows.open. */
static int app_add(appender_t *a, uint64_t docid, ml_buf_t *row, const char *plain, size_t off, size_t pn,
                   uint32_t check, uint64_t keep_key, int late)
{
	ml_writer_t *w = a->w;
	int rc = ML_OK;
	uint64_t key = keep_key;
	/* the commit's closed messages come in docid order: their rows are
	 * appended, their lines go into blocks in that order */
	ML_ASSERT(docid > a->prev);
	a->prev = docid;
	if (!a->keep_raw) {
		bplan_t *b = w->nbplans ? &w->bplans[w->nbplans - 1] : NULL;
		if (!b || (b->n && b->plain + pn > ML_RAWBLOCK_PLAIN))
			rc = plan_block(w, a->next++, 0);
		if (!rc)
			rc = plan_part(w, docid, plain, off, pn, check);
		if (!rc)
			key = w->bplans[w->nbplans - 1].key;
	}
	if (!rc)
		rc = ml_row_locate(row, docid, key);
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	MDB_val k = { 8, kb }, v = { row->len, row->data };
	if (late)
		return rc ? rc : ml_store_errcode(mdb_put(w->txn, w->s->rows_open, &k, &v, 0));
	/* in docid order after the last: appended (full pages) */
	int r = MDB_KEYEXIST;
	if (!rc && docid > a->last)
		r = mdb_cursor_put(a->rows, &k, &v, MDB_APPEND);
	if (!rc && r == MDB_KEYEXIST)
		r = mdb_cursor_put(a->rows, &k, &v, 0);
	else if (!rc && r == 0)
		a->last = docid;
	return rc ? rc : ml_store_errcode(r);
}

typedef struct {
	ml_writer_t *w;
	ml_codec_t *c;
	size_t first, step;
	int rc;
} blk_worker_t;

static void *compress_blocks(void *arg)
{
	blk_worker_t *bw = arg;
	ml_writer_t *w = bw->w;
	for (size_t b = bw->first; b < w->nbplans && !bw->rc; b += bw->step) {
		const bplan_t *pl = &w->bplans[b];
		ml_rawblk_begin(bw->c);
		for (size_t i = pl->first; i < pl->first + pl->n && !bw->rc; i++) {
			const bpart_t *pt = &w->bparts[i];
			bw->rc = ml_rawblk_add(bw->c, pt->docid, pt->p ? pt->p : w->pool.data + pt->off, pt->len, pt->check);
		}
		if (!bw->rc)
			bw->rc = ml_rawblk_finish(bw->c, &w->bout[b]);
		/* room for zstd's bound of a block, twice over, cut to what it took:
		 * a batch's blocks are held until they are stored */
		ml_buf_fit(&w->bout[b]);
	}
	return NULL;
}

/* Compress the planned blocks (two threads) and store them. */
static int app_finish(ml_writer_t *w)
{
	if (!w->nbplans)
		return ML_OK;
	size_t cap = w->bout_cap;
	int rc = ml_array_grow((void **)&w->bout, &cap, sizeof *w->bout, w->nbplans, 16);
	if (rc)
		return rc;
	if (cap > w->bout_cap)
		memset(w->bout + w->bout_cap, 0, (cap - w->bout_cap) * sizeof *w->bout);
	w->bout_cap = cap;
	blk_worker_t bw[PREP_THREADS];
	pthread_t th;
	int nt = w->nbplans > 1 ? PREP_THREADS : 1, started = 0;
	for (int t = 0; t < PREP_THREADS; t++)
		bw[t] = (blk_worker_t){ w, w->codec[t], (size_t)t, (size_t)nt, 0 };
	if (nt > 1)
		started = pthread_create(&th, NULL, compress_blocks, &bw[1]) == 0;
	compress_blocks(&bw[0]);
	if (nt > 1 && started)
		pthread_join(th, NULL);
	else if (nt > 1)
		compress_blocks(&bw[1]);
	rc = bw[0].rc ? bw[0].rc : bw[1].rc;
	for (size_t b = 0; b < w->nbplans && !rc; b++)
		rc = ml_store_raw_put(w->txn, w->s, ML_PLACE_MAIN, w->bplans[b].key, w->bout[b].data, w->bout[b].len,
		                      !w->bplans[b].merged);
	/* not kept for the next batch */
	for (size_t b = 0; b < w->nbplans; b++)
		ml_buf_free(&w->bout[b]);
	return rc;
}

/* A row and its raw record into the open tables (overwriting). */
static int put_open(ml_writer_t *w, uint64_t docid, ml_buf_t *row, const ml_buf_t *raw, int fresh, int keep_raw,
                    uint64_t raw_key)
{
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	/* its lines in a record of its own, or, kept (a rebuild), where they were */
	int rc = ml_row_locate(row, docid, keep_raw ? raw_key : 0);
	MDB_val k = { 8, kb }, v = { row->len, row->data };
	if (!rc)
		rc = ml_store_errcode(mdb_put(w->txn, w->s->rows_open, &k, &v, 0));
	if (!rc && !keep_raw)
		rc = rop_add(w, docid, raw->data, raw->len, 0, fresh);
	return rc;
}

/* The record of its own in raw.open of docid, deleted if there is one (a
 * late row's lines are in a block). */
static int lines_unplace(ml_writer_t *w, uint64_t docid)
{
	return rop_add(w, docid, NULL, 0, 1, 0);
}

/* Take a put's row out of the place it was in (and its raw record from the
 * open ones; in a block of `raw` it stays, unread). */
static int unplace(ml_writer_t *w, int place, uint64_t docid, int keep_raw)
{
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	MDB_val k = { 8, kb };
	int r = mdb_del(w->txn, ml_store_rows_dbi(w->s, place), &k, NULL);
	int rc = r == MDB_NOTFOUND ? ML_OK : ml_store_errcode(r);
	if (!rc && !keep_raw && place == ML_PLACE_OPEN)
		rc = lines_unplace(w, docid);
	return rc;
}

/* Seal the postings of the days that ended a while before the newest
 * message (index/postings.h). */
static int seal_days(ml_writer_t *w)
{
	uint64_t oldest, newest;
	int rc = ml_store_docid_range(w->txn, w->s, &oldest, &newest);
	if (rc)
		return rc;
	uint64_t done = ml_meta_get_u64(w->txn, w->s, ML_META_SEALED);
	uint32_t from, to;
	ml_post_seal_due(oldest, newest, (int64_t)done - 1, &from, &to);
	for (uint32_t b = from; b < to && !rc; b++)
		rc = ml_post_seal(w->txn, w->s->post, b);
	if (!rc && to > from) {
		uint64_t v = to;
		rc = ml_meta_put(w->txn, w->s, ML_META_SEALED, strlen(ML_META_SEALED), &v, 8);
	}
	return rc;
}

static int commit_inner(ml_writer_t *w)
{
	int rc = maybe_train(w);
	if (!rc)
		rc = prepare(w);
	if (!rc)
		rc = ml_array_grow((void **)&w->order, &w->order_cap, sizeof *w->order, w->nputs, 1024);
	if (!rc)
		rc = ml_array_grow((void **)&w->closed, &w->closed_cap, sizeof *w->closed, w->nputs, 1024);
	if (rc)
		return rc;
	int keep_raw = w->rebuild >= 0 && (w->rebuild & ML_REBUILD_KEEP_RAW);
	/* in docid order: rows are appended (full pages) */
	for (size_t i = 0; i < w->nputs; i++)
		w->order[i] = i;
	if (w->nputs > 1)
		qsort_r(w->order, w->nputs, sizeof *w->order, cmp_order, w);
	w->nclosed = 0;
	for (size_t o = 0; o < w->nputs; o++) {
		/* each message is put once: docids distinct (bisected below) */
		ML_ASSERT(!o || w->puts[w->order[o - 1]].m->docid < w->puts[w->order[o]].m->docid);
		if (w->puts[w->order[o]].m->flags & ML_MSG_CLOSED)
			w->closed[w->nclosed++] = w->puts[w->order[o]].m->docid;
	}
	appender_t app = { w, NULL, 0, 0, 1, keep_raw };
	w->nbplans = w->nbparts = 0;
	ml_buf_reset(&w->pool);
	MDB_val k, v;
	rc = ml_store_errcode(mdb_cursor_open(w->txn, w->s->rows, &app.rows));
	int r = rc ? 0 : mdb_cursor_get(app.rows, &k, &v, MDB_LAST);
	if (!rc && r == 0 && k.mv_size == 8)
		app.last = ml_get_be64(k.mv_data);
	else if (!rc && r != MDB_NOTFOUND)
		rc = r ? ml_store_errcode(r) : ML_CORRUPT_BKPT;
	/* where each put goes */
	uint64_t bound = UINT64_MAX;
	if (!rc && w->rebuild < 0)
		rc = hold_boundary(w, &bound);
	for (size_t i = 0; i < w->nputs && !rc; i++) {
		prep_t *p = &w->preps[i];
		const ml_message_t *m = w->puts[i].m;
		p->late = 0;
		if (w->puts[i].place >= 0)
			p->target = w->puts[i].place;
		else if (!(m->flags & ML_MSG_CLOSED) || m->docid >= bound)
			p->target = ML_PLACE_OPEN;
		else if (m->docid < app.last && !(p->has_old && p->old_place == ML_PLACE_MAIN) && p->raw_plain) {
			p->target = ML_PLACE_OPEN;   /* late: rows only grows at its end (store.h) */
			p->late = 1;
		} else
			p->target = ML_PLACE_MAIN;
	}
	w->nheld = 0;
	if (!rc && w->rebuild < 0)
		rc = collect_held(w, app.last, bound);
	/* held messages and this batch's, merged in docid order */
	size_t hi = 0, o = 0;
	int started = 0;
	int64_t new_msgs = 0;  /* a chain counts once: its continuations do not */
	while (!rc && (hi < w->nheld || o < w->nputs)) {
		int take_held = hi < w->nheld &&
		                (o == w->nputs || w->held[hi].docid < w->puts[w->order[o]].m->docid);
		uint64_t docid = take_held ? w->held[hi].docid : w->puts[w->order[o]].m->docid;
		int to_main = take_held || w->preps[w->order[o]].target == ML_PLACE_MAIN || w->preps[w->order[o]].late;
		if (to_main && !started && !keep_raw) {
			rc = app_start(&app, docid);
			started = 1;
			if (rc)
				break;
		}
		if (take_held) {
			struct held *h = &w->held[hi++];
			ml_buf_reset(&w->blk2);
			uint32_t check;
			size_t off = w->pool.len;
			rc = ml_raw_plain_of(w->codec[1], w->rawbuf.data + h->raw_off, h->raw_len, &w->pool, &check);
			if (!rc)
				rc = ml_buf_append(&w->blk2, w->enc.data + h->row_off, h->row_len);
			/* its row named its own record: strip that, the block is named */
			if (!rc && (!w->blk2.len || w->blk2.data[w->blk2.len - 1] != 0))
				rc = ML_CORRUPT_BKPT;
			if (!rc) {
				w->blk2.len--;
				rc = app_add(&app, h->docid, &w->blk2, NULL, off, w->pool.len - off, check, 0, 0);
			}
			continue;
		}
		size_t i = w->order[o++];
		ml_message_t *m = w->puts[i].m;
		prep_t *p = &w->preps[i];
		int cont = (m->flags & ML_MSG_CONTINUED) != 0;
		if (p->has_old) {
			/* stored before: replace the postings that changed */
			rc = queue_postings(w, &p->oldkeys, &p->keys, m->docid, 1);
			if (!rc)
				rc = queue_postings(w, &p->keys, &p->oldkeys, m->docid, 0);
			new_msgs += ((p->old_flags & ML_MSG_CONTINUED) != 0) - cont;
		} else {
			new_msgs += !cont;
			rc = queue_postings(w, &p->keys, NULL, m->docid, 0);
		}
		int moved = p->has_old && p->old_place != p->target;
		if (!rc && moved)
			rc = unplace(w, p->old_place, m->docid, keep_raw);
		/* a late row that was in flight: its own record goes, its lines
		 * go to a block */
		if (!rc && p->late && p->has_old && !moved)
			rc = lines_unplace(w, m->docid);
		if (!rc && (p->target == ML_PLACE_MAIN || p->late)) {
			rc = app_add(&app, m->docid, &p->row, p->raw.data, 0, p->raw.len, p->check, m->raw_key, p->late);
		} else if (!rc) {
			/* a record of its own: a closed message's lines were prepared for a block */
			const ml_buf_t *raw = &p->raw;
			if (p->raw_plain && !keep_raw) {
				rc = ml_raw_encode_plain(w->codec[0], p->raw.data, p->raw.len, p->check, &w->blk);
				raw = &w->blk;
			}
			if (!rc)
				rc = put_open(w, m->docid, &p->row, raw, !p->has_old || moved, keep_raw, m->raw_key);
		}
		if (!rc)
			rc = set_open(w, m);
	}
	if (!rc)
		rc = app_finish(w);
	if (!rc)
		rc = rops_apply(w);
	w->nrops = 0;
	ml_buf_reset(&w->ropdata);
	if (app.rows)
		mdb_cursor_close(app.rows);
	/* a rebuild's flush may leave its postings queued for a later one */
	int defer = w->flushing && w->rebuild >= 0 && (w->rebuild & ML_REBUILD_DEFER_POSTINGS) &&
	            ml_post_batch_count(w->post) < (w->defer_max ? w->defer_max : ML_WRITER_DEFER_MAX);
	if (!rc && !defer)
		rc = ml_post_batch_write(w->post, w->txn, w->s->post, &w->post_delta);
	if (!rc && !defer)
		rc = ml_meta_add(w->txn, w->s, ML_META_POSTINGS, w->post_delta);
	if (!rc && !defer)
		rc = seal_days(w);
	w->post_kept = defer;
	if (!rc && new_msgs)
		rc = ml_meta_add(w->txn, w->s, ML_META_MESSAGES, new_msgs);
	for (int st = 1; st < ML_ST__COUNT && !rc; st++) {
		char key[64];
		snprintf(key, sizeof key, "%s%s", ML_META_ROWS_PFX, ml_status_name((ml_status_t)st));
		rc = ml_meta_add(w->txn, w->s, key, w->rows_delta[st]);
	}
	if (!rc && w->counts_on) {
		int dropped;
		rc = ml_counts_delta_write(w->counts[0], w->txn, w->s, &dropped);
		if (dropped) {
			/* not exact: no longer read, nor kept; reindex builds it again */
			w->counts_on = 0;
			if (!rc)
				rc = ml_writer_tally(w, "bad", "counts table inconsistent: not used until reindex", 1, "", 0);
		}
	}
	/* each message put: its summary replaces the one stored (made here from
	 * the puts, so that a commit tried again makes it again) */
	if (w->rowsum_on)
		ml_rowsum_delta_reset(w->rowsum);
	for (size_t i = 0; i < w->nputs && !rc && w->rowsum_on; i++)
		rc = ml_rowsum_delta_put(w->rowsum, w->puts[i].m);
	if (!rc && w->rowsum_on) {
		int dropped;
		rc = ml_rowsum_delta_write(w->rowsum, w->txn, w->s, &dropped);
		if (dropped) {
			w->rowsum_on = 0;
			if (!rc)
				rc = ml_writer_tally(w, "bad", "rowsum table inconsistent: not used until reindex", 1, "", 0);
		}
	}
	if (!rc)
		rc = write_bookkeeping(w);
	return rc;
}

void ml_writer_before_commit(ml_writer_t *w, int (*fn)(void *ctx, MDB_txn *txn), void *ctx)
{
	w->before_commit = fn;
	w->before_ctx = ctx;
}

int ml_writer_flush(ml_writer_t *w)
{
	if (!w->txn)
		return ML_EINVAL;
	w->flushing = 1;
	int rc = commit_inner(w);
	w->flushing = 0;
	if (rc)
		return rc;
	batch_reset(w);
	preps_shrink(w);
	ml_heap_trim();
	return ML_OK;
}

/* After a transaction that did not commit: what it trained is not stored;
 * the next begin loads the stored table and dictionaries again. */
static void forget_tables(ml_writer_t *w)
{
	if (w->tab_unstored)
		ml_strtab_free(&w->tab);
	w->tab_unstored = 0;
	if (!w->dict_unstored)
		return;
	for (int t = 0; t < PREP_THREADS; t++) {
		ml_codec_t *c;
		if (ml_codec_new(&c) == 0) {
			ml_codec_free(w->codec[t]);
			w->codec[t] = c;
		}
	}
	w->dict_unstored = 0;
}

int ml_writer_report(ml_writer_t *w, ml_slice_t msgid, ml_slice_t qid, const ml_report_t *r)
{
	if ((!msgid.n && !qid.n) || msgid.n > 0xffff || qid.n > 0xffff)
		return ML_EINVAL;
	uint16_t n = (uint16_t)msgid.n, qn = (uint16_t)qid.n;
	if (ml_buf_append(&w->reports, r, sizeof *r) || ml_buf_append(&w->reports, &n, 2) ||
	    ml_buf_append(&w->reports, msgid.p, n) || ml_buf_append(&w->reports, &qn, 2) ||
	    ml_buf_append(&w->reports, qid.p, qn))
		return ML_ENOMEM;
	return ML_OK;
}

/* The queued reports, each joined to its messages in the open transaction
 * (after the batch's messages are written: a learning line may follow its
 * message in the same batch).  One whose message is not stored is tallied. */
static int join_reports(ml_writer_t *w)
{
	const char *p = w->reports.data, *e = p + w->reports.len;
	int rc = ML_OK;
	while (p && p < e && !rc) {
		ml_report_t r;
		uint16_t n, qn;
		memcpy(&r, p, sizeof r);
		memcpy(&n, p + sizeof r, 2);
		const char *id = p + sizeof r + 2;
		memcpy(&qn, id + n, 2);
		const char *qid = id + n + 2;
		p = qid + qn;
		unsigned found = 0;
		rc = ml_reports_join(w->txn, w->s, id, n, qid, qn, &r, &found);
		if (!rc && !found) {
			char reason[64];
			snprintf(reason, sizeof reason, "%s report: message not stored", ml_report_source_name(r.source));
			rc = ml_writer_tally(w, "skip", reason, 1, qn ? qid : id, qn ? qn : n);
		}
	}
	return rc;
}

int ml_writer_commit(ml_writer_t *w)
{
	if (!w->txn)
		return ML_EINVAL;
	int rc = commit_inner(w);
	if (!rc && w->reports.len) {
		/* the bookkeeping is written: what the join tallies is written after */
		ml_buf_reset(&w->bookkeeping);
		rc = join_reports(w);
		if (!rc)
			rc = write_bookkeeping(w);
	}
	/* a rebuild emptied the postings: the reports' again, each on the
	 * docid its message has now */
	if (!rc && w->rebuild >= 0)
		rc = ml_reports_reapply(w->txn, w->s, NULL);
	/* the end of a rebuild: the table counts holds every row again */
	if (!rc && w->rebuild >= 0 && w->counts_on)
		rc = ml_counts_set_ready(w->txn, w->s, 1);
	if (!rc && w->rebuild >= 0 && w->rowsum_on)
		rc = ml_rowsum_set_ready(w->txn, w->s, 1);
	/* the end of a rebuild: the dictionaries no raw record uses any more go */
	if (!rc && w->rebuild >= 0 && w->new_dict)
		rc = ml_store_drop_dicts(w->txn, w->s, w->new_dict);
	if (!rc && w->before_commit)
		rc = w->before_commit(w->before_ctx, w->txn);
	w->before_commit = NULL;
	if (rc)
		return rc;
	w->rebuild = -1;
	w->retrain = w->retrain_dict = 0;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	preps_shrink(w);
	if (!rc)
		w->dict_unstored = w->tab_unstored = 0;
	else
		forget_tables(w);
	if (rc) {
		/* the transaction is gone; restore docids as abort would */
		for (size_t i = 0; i < w->nputs; i++)
			w->puts[i].m->docid = w->puts[i].old_docid;
		w->nputs = 0;
		return ml_store_errcode(rc);
	}
	w->nputs = 0;
	ml_buf_reset(&w->reports);
	return ML_OK;
}

void ml_writer_on_docids(ml_writer_t *w, void (*fn)(void *ctx, ml_message_t *const *msgs, size_t n), void *ctx)
{
	w->on_docids = fn;
	w->docids_ctx = ctx;
}

void ml_writer_abort(ml_writer_t *w)
{
	w->before_commit = NULL;
	if (w->txn)
		mdb_txn_abort(w->txn);
	w->txn = NULL;
	w->rebuild = -1;
	w->retrain = w->retrain_dict = 0;
	preps_shrink(w);
	for (size_t i = 0; i < w->nputs; i++)
		w->puts[i].m->docid = w->puts[i].old_docid;
	w->nputs = 0;
	ml_post_batch_reset(w->post);
	w->post_kept = 0;
	forget_tables(w);
}
