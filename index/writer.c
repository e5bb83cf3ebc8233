#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>

#include "index/tokens.h"

#define DICT_MIN_SAMPLES 400
#define DICT_MAX_SAMPLES 2000
#define DICT_BYTES (64u << 10)

typedef struct {
	uint64_t pfx;    /* the key's first 8 bytes, big-endian: most comparisons end here */
	uint64_t docid;
	uint32_t off;    /* into w->pkeys: 2-byte length + key */
} posting_t;

typedef struct {
	ml_message_t *m;
	uint64_t old_docid;
} put_t;

/* What the encoding phase prepares for one put (reused across batches). */
typedef struct {
	uint32_t old_flags;       /* the stored message's flags */
	ml_keys_t keys, oldkeys;  /* term keys of the message now, and as stored */
	ml_buf_t enc;             /* the stored form */
	const void *old;          /* the stored record (a pointer into the map), or NULL */
	size_t oldn;
} prep_t;

/* The encoding phase runs on two threads, each with its own codec. */
#define PREP_THREADS 2

struct ml_writer {
	ml_store_t *s;
	MDB_txn *txn;
	ml_codec_t *codec;
	ml_codec_t *codec2;     /* the second encoding thread's */
	put_t *puts;
	size_t nputs, puts_cap;
	prep_t *preps;
	size_t preps_cap;
	ml_buf_t bookkeeping;   /* queued meta writes: [klen u16][vlen u32][op u8] key val */
	ml_buf_t enc;
	ml_buf_t pkeys;
	posting_t *posts;
	size_t nposts, posts_cap;
	int64_t rows_delta[ML_ST__COUNT];
	ml_buf_t dict;          /* the dictionary trained by this writer */
	int64_t last_t;         /* docid cache: second and last docid used in it */
	uint64_t last_docid;
	uint64_t last_appended; /* largest docid put with MDB_APPEND in this batch */
	int rebuild;            /* between ml_writer_rebuild_begin and the commit */
	int retrain;            /* rebuild: train a new dictionary at the next flush */
	uint32_t retrained_id;  /* rebuild: the dictionary trained, 0 if none */
};

enum { OP_PUT = 1, OP_ADD = 2, OP_TALLY = 3, OP_IFNEW = 4 };

int ml_writer_new(ml_writer_t **out, ml_store_t *s)
{
	ml_writer_t *w = calloc(1, sizeof *w);
	if (!w)
		return ML_ENOMEM;
	w->s = s;
	int rc = ml_codec_new(&w->codec, 3);
	if (!rc)
		rc = ml_codec_new(&w->codec2, 3);
	MDB_txn *txn;
	if (!rc)
		rc = ml_store_read_begin(s, &txn);
	if (!rc) {
		rc = ml_store_load_dicts(s, txn, w->codec);
		if (!rc)
			rc = ml_store_load_dicts(s, txn, w->codec2);
		mdb_txn_abort(txn);
	}
	if (rc) {
		ml_writer_free(w);
		return rc;
	}
	*out = w;
	return ML_OK;
}

void ml_writer_free(ml_writer_t *w)
{
	if (!w)
		return;
	if (w->txn)
		ml_writer_abort(w);
	ml_codec_free(w->codec);
	ml_codec_free(w->codec2);
	for (size_t i = 0; i < w->preps_cap; i++) {
		ml_keys_free(&w->preps[i].keys);
		ml_keys_free(&w->preps[i].oldkeys);
		ml_buf_free(&w->preps[i].enc);
	}
	free(w->preps);
	free(w->puts);
	free(w->posts);
	ml_buf_free(&w->bookkeeping);
	ml_buf_free(&w->enc);
	ml_buf_free(&w->pkeys);
	ml_buf_free(&w->dict);
	free(w);
}

ml_codec_t *ml_writer_codec(ml_writer_t *w)
{
	return w->codec;
}

MDB_txn *ml_writer_txn(ml_writer_t *w)
{
	return w->txn;
}

int ml_writer_begin(ml_writer_t *w)
{
	if (w->txn)
		return ML_EINVAL;
	w->nputs = 0;
	w->nposts = 0;
	ml_buf_reset(&w->bookkeeping);
	ml_buf_reset(&w->pkeys);
	memset(w->rows_delta, 0, sizeof w->rows_delta);
	w->last_t = -1;
	w->last_appended = 0;
	int rc = ml_store_write_begin(w->s, &w->txn);
	if (rc)
		return rc;
	/* a dictionary stored since this writer loaded its own (by a reindex) */
	uint32_t id = ml_store_dict_id(w->txn, w->s);
	if (id && id != ml_codec_dict_id(w->codec)) {
		rc = ml_store_load_dicts(w->s, w->txn, w->codec);
		if (!rc)
			rc = ml_store_load_dicts(w->s, w->txn, w->codec2);
		if (rc)
			ml_writer_abort(w);
	}
	return rc;
}

int ml_writer_rebuild_begin(ml_writer_t *w, int retrain)
{
	int rc = ml_writer_begin(w);
	if (rc)
		return rc;
	int r2 = mdb_drop(w->txn, w->s->rec, 0);
	if (!r2)
		r2 = mdb_drop(w->txn, w->s->post, 0);
	if (!r2)
		r2 = mdb_drop(w->txn, w->s->open, 0);
	for (int st = 0; st < ML_ST__COUNT && !r2; st++) {
		char key[64];
		if (st == 0)
			snprintf(key, sizeof key, "count:messages");
		else
			snprintf(key, sizeof key, "rows:%s", ml_status_name((ml_status_t)st));
		MDB_val k = { strlen(key), key };
		r2 = mdb_del(w->txn, w->s->meta, &k, NULL);
		if (r2 == MDB_NOTFOUND)
			r2 = 0;
	}
	if (r2) {
		ml_writer_abort(w);
		return ml_store_errcode(r2);
	}
	w->rebuild = 1;
	w->retrain = retrain;
	w->retrained_id = 0;
	return ML_OK;
}

static int open_key(ml_buf_t *b, ml_slice_t host, ml_slice_t qid)
{
	ml_buf_reset(b);
	int rc = ml_buf_append_lower(b, host.p, host.n);
	if (!rc)
		rc = ml_buf_putc(b, 0);
	if (!rc)
		rc = ml_buf_append(b, qid.p, qid.n);
	return rc;
}

int ml_writer_open_lookup(ml_writer_t *w, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	int rc = open_key(&w->enc, host, qid);
	if (rc)
		return rc;
	MDB_val k = { w->enc.len, w->enc.data }, v;
	rc = mdb_get(w->txn, w->s->open, &k, &v);
	if (rc)
		return ml_store_errcode(rc);
	if (v.mv_size != 8)
		return ML_CORRUPT_BKPT;
	uint64_t docid = ml_get_be64(v.mv_data);
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	MDB_val rk = { 8, kb }, rv;
	rc = mdb_get(w->txn, w->s->rec, &rk, &rv);
	if (rc)
		return rc == MDB_NOTFOUND ? ML_CORRUPT_BKPT : ml_store_errcode(rc);
	rc = ml_record_decode(w->codec, rv.mv_data, rv.mv_size, m);
	if (rc)
		return rc;
	m->docid = docid;
	return ML_OK;
}

int ml_writer_put(ml_writer_t *w, ml_message_t *m)
{
	int rc = ml_array_grow((void **)&w->puts, &w->puts_cap, sizeof *w->puts, w->nputs + 1, 1024);
	if (rc)
		return rc;
	w->puts[w->nputs++] = (put_t){ m, m->docid };
	return ML_OK;
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

int ml_writer_checkpoint(ml_writer_t *w, const ml_ckpt_t *c)
{
	unsigned char k[13] = "ckpt:";
	ml_put_be64(k + 5, c->hash);
	ml_ckpt_t copy = *c;
	copy.updated = (int64_t)time(NULL);
	return queue_meta(w, OP_PUT, k, 13, &copy, sizeof copy);
}

int ml_ckpt_get(ml_store_t *s, MDB_txn *txn, uint64_t hash, ml_ckpt_t *out)
{
	unsigned char k[13] = "ckpt:";
	ml_put_be64(k + 5, hash);
	MDB_val v;
	int rc = ml_meta_get(txn, s, k, 13, &v);
	if (rc)
		return rc;
	if (v.mv_size != sizeof *out)
		return ML_CORRUPT_BKPT;
	memcpy(out, v.mv_data, sizeof *out);
	return ML_OK;
}

int ml_writer_count(ml_writer_t *w, const char *name, uint64_t delta)
{
	char k[128];
	int n = snprintf(k, sizeof k, "count:%s", name);
	return queue_meta(w, OP_ADD, k, (size_t)n, &delta, 8);
}

int ml_writer_tally(ml_writer_t *w, const char *kind, const char *reason, uint64_t count,
                    const char *sample, size_t samplen)
{
	char k[256];
	int n = snprintf(k, sizeof k, "tally:%s:%s", kind, reason);
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
	if (n > 255)
		return ML_EINVAL;
	memcpy(k, "localdom:", 9);
	for (size_t i = 0; i < n; i++)
		k[9 + i] = (domain[i] >= 'A' && domain[i] <= 'Z') ? domain[i] + 32 : domain[i];
	return queue_meta(w, OP_IFNEW, k, 9 + n, "", 0);
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
			if (ml_meta_get(w->txn, w->s, k, kn, &cur) == ML_ENOTFOUND)
				rc = ml_meta_put(w->txn, w->s, k, kn, v, vn);
		} else if (op == OP_TALLY) {
			if (ml_meta_get(w->txn, w->s, k, kn, &cur) == 0 && cur.mv_size >= 8) {
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
			} else {
				rc = ml_meta_put(w->txn, w->s, k, kn, v, vn);
			}
		}
	}
	return rc;
}

/* A fresh docid for a message first seen at time_us, inside this transaction. */
static int assign_docid(ml_writer_t *w, MDB_cursor *cur, int64_t time_us, uint64_t *out)
{
	int64_t t = time_us / 1000000;
	if (t < 0)
		t = 0;
	if (t == w->last_t && (w->last_docid & 0xfffff) != 0xfffff) {
		*out = ++w->last_docid;
		return ML_OK;
	}
	unsigned char kb[8];
	ml_put_be64(kb, (uint64_t)(t + 1) << 20);
	MDB_val k = { 8, kb }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	uint64_t d = (uint64_t)t << 20;
	if (rc == 0) {
		if (k.mv_size != 8)
			return ML_CORRUPT_BKPT;
		uint64_t last = ml_get_be64(k.mv_data);
		if (last >= d)
			d = last + 1;
	} else if (rc != MDB_NOTFOUND) {
		return ml_store_errcode(rc);
	}
	w->last_t = (int64_t)(d >> 20);
	w->last_docid = d;
	*out = d;
	return ML_OK;
}

static int add_postings(ml_writer_t *w, const ml_keys_t *keys, uint64_t docid,
                        const ml_keys_t *skip)
{
	size_t pos = 0, spos = 0;
	const char *key, *sk = NULL;
	size_t len, slen = 0;
	int shave = skip ? ml_keys_next(skip, &spos, &sk, &slen) : 0;
	while (ml_keys_next(keys, &pos, &key, &len)) {
		/* both lists are sorted: skip keys present in `skip` */
		while (shave) {
			int c = memcmp(sk, key, ML_MIN(slen, len));
			if (!c)
				c = (slen > len) - (slen < len);
			if (c >= 0) {
				if (c == 0)
					goto next;
				break;
			}
			shave = ml_keys_next(skip, &spos, &sk, &slen);
		}
		int rc = ml_array_grow((void **)&w->posts, &w->posts_cap, sizeof *w->posts, w->nposts + 1, 65536);
		if (rc)
			return rc;
		posting_t *pp = &w->posts[w->nposts++];
		pp->off = (uint32_t)w->pkeys.len;
		pp->docid = docid;
		size_t plen = len + 2;  /* with the bucket */
		unsigned char hdr[2] = { (unsigned char)plen, (unsigned char)(plen >> 8) };
		if (ml_buf_append(&w->pkeys, hdr, 2) || ml_post_key(&w->pkeys, key, len, ml_docid_bucket(docid)))
			return ML_ENOMEM;
		unsigned char first[8] = { 0 };
		memcpy(first, w->pkeys.data + pp->off + 2, ML_MIN(plen, (size_t)8));
		pp->pfx = ml_get_be64(first);
	next:;
	}
	return ML_OK;
}

/* Delete postings in `old` that are not in `keep`. */
static int del_postings(ml_writer_t *w, const ml_keys_t *old, const ml_keys_t *keep, uint64_t docid)
{
	size_t pos = 0, kpos = 0;
	const char *key, *kk = NULL;
	size_t len, klen = 0;
	int khave = ml_keys_next(keep, &kpos, &kk, &klen);
	unsigned char db[8];
	ml_put_be64(db, docid);
	while (ml_keys_next(old, &pos, &key, &len)) {
		int c = 1;
		while (khave) {
			c = memcmp(kk, key, ML_MIN(klen, len));
			if (!c)
				c = (klen > len) - (klen < len);
			if (c >= 0)
				break;
			khave = ml_keys_next(keep, &kpos, &kk, &klen);
		}
		if (khave && c == 0)
			continue;
		ml_buf_reset(&w->enc);
		if (ml_post_key(&w->enc, key, len, ml_docid_bucket(docid)))
			return ML_ENOMEM;
		MDB_val k = { w->enc.len, w->enc.data }, v = { 8, db };
		int rc = mdb_del(w->txn, w->s->post, &k, &v);
		if (rc && rc != MDB_NOTFOUND)
			return ml_store_errcode(rc);
	}
	return ML_OK;
}

static const ml_writer_t *sort_w;
static int cmp_posting(const void *a, const void *b)
{
	const posting_t *x = a, *y = b;
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	const unsigned char *kx = (const unsigned char *)sort_w->pkeys.data + x->off;
	const unsigned char *ky = (const unsigned char *)sort_w->pkeys.data + y->off;
	size_t nx = (size_t)kx[0] | (size_t)kx[1] << 8, ny = (size_t)ky[0] | (size_t)ky[1] << 8;
	int c = memcmp(kx + 2, ky + 2, ML_MIN(nx, ny));
	if (!c)
		c = (nx > ny) - (nx < ny);
	if (!c)
		c = (x->docid > y->docid) - (x->docid < y->docid);
	return c;
}

static void rows_count(int64_t *delta, const ml_message_t *m, int sign)
{
	if (!m->nrcpts)
		delta[ml_message_row_status(m, NULL)] += sign;
	for (uint32_t i = 0; i < m->nrcpts; i++)
		if (!(m->rcpts[i].flags & ML_RCPT_HANDED_ON))
			delta[ml_message_row_status(m, &m->rcpts[i])] += sign;
}

typedef struct {
	ml_writer_t *w;
	ml_codec_t *codec;
	size_t first, step;      /* this thread prepares puts first, first + step, ... */
	ml_message_t old;
	int64_t rows_delta[ML_ST__COUNT];
	int rc;
} prep_worker_t;

/* Term keys (now and as stored), row counts and the stored form of each put:
 * the CPU-heavy part of a commit, which touches no LMDB state. */
static void *prep_run(void *arg)
{
	prep_worker_t *wk = arg;
	ml_writer_t *w = wk->w;
	for (size_t i = wk->first; i < w->nputs && !wk->rc; i += wk->step) {
		prep_t *p = &w->preps[i];
		ml_message_t *m = w->puts[i].m;
		int rc = ml_tokens_message(m, &p->keys);
		if (!rc && p->old) {
			rc = ml_record_decode_summary(wk->codec, p->old, p->oldn, &wk->old);
			p->old_flags = wk->old.flags;
			if (!rc)
				rc = ml_tokens_message(&wk->old, &p->oldkeys);
			if (!rc)
				rows_count(wk->rows_delta, &wk->old, -1);
		}
		if (!rc) {
			rows_count(wk->rows_delta, m, +1);
			rc = ml_record_encode(wk->codec, m, &p->enc);
		}
		wk->rc = rc;
	}
	return NULL;
}

static int prepare(ml_writer_t *w)
{
	size_t cap = w->preps_cap;
	int rc = ml_array_grow((void **)&w->preps, &cap, sizeof *w->preps, w->nputs, 1024);
	if (rc)
		return rc;
	if (cap > w->preps_cap)
		memset(w->preps + w->preps_cap, 0, (cap - w->preps_cap) * sizeof *w->preps);
	w->preps_cap = cap;
	/* the stored records, read here: the transaction is this thread's */
	for (size_t i = 0; i < w->nputs; i++) {
		prep_t *p = &w->preps[i];
		p->old = NULL;
		if (!w->puts[i].m->docid)
			continue;
		unsigned char kb[8];
		ml_put_be64(kb, w->puts[i].m->docid);
		MDB_val k = { 8, kb }, v;
		int r2 = mdb_get(w->txn, w->s->rec, &k, &v);
		if (r2 == 0) {
			p->old = v.mv_data;
			p->oldn = v.mv_size;
		} else if (r2 != MDB_NOTFOUND) {
			return ml_store_errcode(r2);
		}
	}
	prep_worker_t wk[PREP_THREADS];
	ml_codec_t *codecs[PREP_THREADS] = { w->codec, w->codec2 };
	pthread_t th[PREP_THREADS];
	int started[PREP_THREADS] = { 0 };
	/* small batches are not worth a thread */
	int nthreads = w->nputs >= 256 ? PREP_THREADS : 1;
	for (int t = 0; t < PREP_THREADS; t++) {
		memset(&wk[t], 0, sizeof wk[t]);
		wk[t].w = w;
		wk[t].codec = codecs[t];
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
	rc = 0;
	for (int t = 0; t < PREP_THREADS; t++) {
		if (!rc)
			rc = wk[t].rc;
		for (int st = 0; st < ML_ST__COUNT; st++)
			w->rows_delta[st] += wk[t].rows_delta[st];
		ml_message_free(&wk[t].old);
	}
	return rc;
}

static int store_dict(ml_writer_t *w, uint32_t id)
{
	unsigned char key[9] = "dict:";
	key[5] = (unsigned char)(id >> 24); key[6] = (unsigned char)(id >> 16);
	key[7] = (unsigned char)(id >> 8); key[8] = (unsigned char)id;
	int rc = ml_meta_put(w->txn, w->s, key, 9, w->dict.data, w->dict.len);
	if (!rc)
		rc = ml_meta_put(w->txn, w->s, "dict", 4, &id, 4);
	return rc;
}

static int maybe_train(ml_writer_t *w)
{
	MDB_val v;
	uint32_t id = 1;
	if (w->retrain) {
		/* a rebuild: a new dictionary from the first batch, under a new id */
		if (w->nputs < DICT_MIN_SAMPLES)
			return ML_OK;
		w->retrain = 0;
		id = ml_codec_dict_id(w->codec) + 1;
		ml_buf_reset(&w->dict);
	} else if (ml_meta_get(w->txn, w->s, "dict", 4, &v) == 0)
		return ML_OK;
	/* trained by a commit of ours that did not land: store it again */
	else if (ml_codec_dict_id(w->codec))
		return w->dict.len ? store_dict(w, ml_codec_dict_id(w->codec)) : ML_OK;
	/* small batches (a follower commits every half second): the messages
	 * stored without a dictionary count too, the newest first */
	MDB_stat st;
	size_t stored = 0;
	if (!w->rebuild && w->nputs < DICT_MIN_SAMPLES && mdb_stat(w->txn, w->s->rec, &st) == 0)
		stored = ML_MIN(st.ms_entries, (size_t)DICT_MAX_SAMPLES);
	if (w->nputs + stored < DICT_MIN_SAMPLES)
		return ML_OK;
	/* two samples a message: its summary and its raw lines, the two frames */
	size_t n = ML_MIN(w->nputs, (size_t)DICT_MAX_SAMPLES);
	size_t *sizes = malloc(2 * (n + stored) * sizeof *sizes);
	ml_buf_t samples = ML_BUF_INIT;
	int rc = sizes ? ML_OK : ML_ENOMEM;
	size_t step = n ? w->nputs / n : 1, k = 0;
	for (size_t i = 0; i < n && !rc && samples.len < (64u << 20); i++) {
		size_t before = samples.len, split;
		rc = ml_record_encode_parts(w->puts[i * step].m, &samples, &split);
		sizes[k++] = split;
		sizes[k++] = samples.len - before - split;
	}
	MDB_cursor *cur = NULL;
	if (!rc && stored && mdb_cursor_open(w->txn, w->s->rec, &cur) == 0) {
		ml_message_t m;
		ml_message_init(&m);
		MDB_val key, val;
		int r2 = mdb_cursor_get(cur, &key, &val, MDB_LAST);
		for (size_t i = 0; i < stored && r2 == 0 && !rc && samples.len < (64u << 20); i++) {
			size_t before = samples.len, split;
			if (ml_record_decode(w->codec, val.mv_data, val.mv_size, &m) == 0 &&
			    (rc = ml_record_encode_parts(&m, &samples, &split)) == 0) {
				sizes[k++] = split;
				sizes[k++] = samples.len - before - split;
			}
			r2 = mdb_cursor_get(cur, &key, &val, MDB_PREV);
		}
		ml_message_free(&m);
		mdb_cursor_close(cur);
	}
	if (!rc && ml_codec_train(samples.data, sizes, (unsigned)k, DICT_BYTES, &w->dict) == 0) {
		rc = store_dict(w, id);
		if (!rc)
			rc = ml_codec_add_dict(w->codec, id, w->dict.data, w->dict.len);
		if (!rc)
			rc = ml_codec_add_dict(w->codec2, id, w->dict.data, w->dict.len);
		if (!rc && id > 1)
			w->retrained_id = id;
	}
	free(sizes);
	ml_buf_free(&samples);
	return rc;
}

static int commit_inner(ml_writer_t *w)
{
	MDB_cursor *rc_cur = NULL, *pcur = NULL;
	int rc = maybe_train(w);
	if (rc)
		return rc;
	rc = ml_store_errcode(mdb_cursor_open(w->txn, w->s->rec, &rc_cur));
	if (rc)
		return rc;
	rc = prepare(w);
	int64_t new_msgs = 0;  /* a chain counts once: its continuations do not */
	for (size_t i = 0; i < w->nputs && !rc; i++) {
		ml_message_t *m = w->puts[i].m;
		prep_t *p = &w->preps[i];
		unsigned char kb[8];
		int cont = (m->flags & ML_MSG_CONTINUED) != 0;
		if (p->old) {
			/* stored before: replace the postings that changed */
			rc = del_postings(w, &p->oldkeys, &p->keys, m->docid);
			if (!rc)
				rc = add_postings(w, &p->keys, m->docid, &p->oldkeys);
			new_msgs += ((p->old_flags & ML_MSG_CONTINUED) != 0) - cont;
		} else {
			if (!m->docid) {
				rc = assign_docid(w, rc_cur, m->first_us, &m->docid);
				new_msgs += !cont;
			}
			if (!rc)
				rc = add_postings(w, &p->keys, m->docid, NULL);
		}
		if (rc)
			break;
		ml_put_be64(kb, m->docid);
		MDB_val k = { 8, kb }, v = { p->enc.len, p->enc.data };
		/* a new docid is usually the largest: append (full pages) */
		int r2 = MDB_KEYEXIST;
		if (m->docid > w->last_appended)
			r2 = mdb_cursor_put(rc_cur, &k, &v, MDB_APPEND);
		if (r2 == MDB_KEYEXIST)
			r2 = mdb_cursor_put(rc_cur, &k, &v, 0);
		else if (r2 == 0)
			w->last_appended = m->docid;
		rc = ml_store_errcode(r2);
		if (rc)
			break;
		/* in-flight table */
		if (m->queue_id.len) {
			ml_buf_t ok = ML_BUF_INIT;
			rc = open_key(&ok, ml_message_str(m, m->host), ml_message_str(m, m->queue_id));
			MDB_val okv = { ok.len, ok.data };
			if (!rc && !(m->flags & ML_MSG_CLOSED)) {
				MDB_val dv = { 8, kb };
				rc = ml_store_errcode(mdb_put(w->txn, w->s->open, &okv, &dv, 0));
			} else if (!rc) {
				r2 = mdb_del(w->txn, w->s->open, &okv, NULL);
				if (r2 && r2 != MDB_NOTFOUND)
					rc = ml_store_errcode(r2);
			}
			ml_buf_free(&ok);
		}
	}
	mdb_cursor_close(rc_cur);
	if (rc)
		return rc;
	/* Postings, sorted by (key, docid). */
	sort_w = w;
	if (w->nposts)
		qsort(w->posts, w->nposts, sizeof *w->posts, cmp_posting);
	rc = ml_store_errcode(mdb_cursor_open(w->txn, w->s->post, &pcur));
	for (size_t i = 0; i < w->nposts && !rc; i++) {
		const unsigned char *kp = (const unsigned char *)w->pkeys.data + w->posts[i].off;
		unsigned char db[8];
		ml_put_be64(db, w->posts[i].docid);
		MDB_val k = { (size_t)kp[0] | (size_t)kp[1] << 8, (void *)(kp + 2) }, v = { 8, db };
		/* New docids are mostly the largest of their key: appending fills
		 * pages instead of splitting them in half. */
		int r2 = mdb_cursor_put(pcur, &k, &v, MDB_APPENDDUP);
		if (r2 == MDB_KEYEXIST)
			r2 = mdb_cursor_put(pcur, &k, &v, MDB_NODUPDATA);
		if (r2 && r2 != MDB_KEYEXIST)
			rc = ml_store_errcode(r2);
	}
	if (pcur)
		mdb_cursor_close(pcur);
	if (rc)
		return rc;
	if (new_msgs)
		rc = ml_meta_add(w->txn, w->s, "count:messages", new_msgs);
	for (int st = 1; st < ML_ST__COUNT && !rc; st++) {
		char key[64];
		snprintf(key, sizeof key, "rows:%s", ml_status_name((ml_status_t)st));
		rc = ml_meta_add(w->txn, w->s, key, w->rows_delta[st]);
	}
	if (!rc)
		rc = write_bookkeeping(w);
	return rc;
}

/* After a batch, the preparation buffers go: kept, every slot would in time
 * hold the largest record it ever saw, and memory would grow with the input. */
static void preps_shrink(ml_writer_t *w)
{
	for (size_t i = 0; i < w->preps_cap; i++) {
		prep_t *p = &w->preps[i];
		ml_buf_free(&p->enc);
		ml_keys_free(&p->keys);
		ml_keys_free(&p->oldkeys);
	}
}

int ml_writer_flush(ml_writer_t *w)
{
	if (!w->txn)
		return ML_EINVAL;
	int rc = commit_inner(w);
	if (rc)
		return rc;
	w->nputs = 0;
	w->nposts = 0;
	preps_shrink(w);
	ml_heap_trim();
	ml_buf_reset(&w->bookkeeping);
	ml_buf_reset(&w->pkeys);
	memset(w->rows_delta, 0, sizeof w->rows_delta);
	return ML_OK;
}

/* The end of a rebuild: the dictionaries no record uses any more go. */
static int rebuild_finish(ml_writer_t *w)
{
	if (!w->retrained_id)
		return ML_OK;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(w->txn, w->s->meta, &cur);
	if (rc)
		return ml_store_errcode(rc);
	MDB_val k = { 5, "dict:" }, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == 9 && memcmp(k.mv_data, "dict:", 5) == 0) {
		const unsigned char *kp = k.mv_data;
		uint32_t id = (uint32_t)kp[5] << 24 | (uint32_t)kp[6] << 16 | (uint32_t)kp[7] << 8 | kp[8];
		if (id != w->retrained_id && (rc = mdb_cursor_del(cur, 0)))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? ML_OK : ml_store_errcode(rc);
}

int ml_writer_commit(ml_writer_t *w)
{
	if (!w->txn)
		return ML_EINVAL;
	int rc = commit_inner(w);
	if (!rc && w->rebuild)
		rc = rebuild_finish(w);
	if (rc)
		return rc;
	w->rebuild = w->retrain = 0;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	preps_shrink(w);
	if (rc) {
		/* the transaction is gone; restore docids as abort would */
		for (size_t i = 0; i < w->nputs; i++)
			w->puts[i].m->docid = w->puts[i].old_docid;
		return ml_store_errcode(rc);
	}
	w->nputs = 0;
	return ML_OK;
}

void ml_writer_abort(ml_writer_t *w)
{
	if (w->txn)
		mdb_txn_abort(w->txn);
	w->txn = NULL;
	w->rebuild = w->retrain = 0;
	preps_shrink(w);
	for (size_t i = 0; i < w->nputs; i++)
		w->puts[i].m->docid = w->puts[i].old_docid;
	w->nputs = 0;
}
