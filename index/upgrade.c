#include "upgrade.h"

#include <stdio.h>
#include <stdlib.h>

#include "index/legacy.h"
#include "index/writer.h"

#define LEGACY_DICT_PFX "dict:"   /* + u32 BE id: schema 5's dictionaries */
#define LEGACY_DICT_ID "dict"

static int load_legacy_dict(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	if (kn != 9)
		return 0;
	const unsigned char *k = (const unsigned char *)key + 5;
	uint32_t id = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
	return ml_legacy_codec_add_dict(ctx, id, v, vn);
}

typedef struct {
	char keys[64][9];
	unsigned n;
} dict_keys_t;

static int note_legacy_dict(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	(void)v;
	(void)vn;
	dict_keys_t *d = ctx;
	if (kn == 9 && d->n < 64)
		memcpy(d->keys[d->n++], key, 9);
	return 0;
}

/* The last step, in the rebuild's transaction: the old tables and
 * dictionaries go, and the file says schema 6. */
static int finish(void *ctx, MDB_txn *txn)
{
	ml_store_t *s = ctx;
	int rc = ml_store_errcode(mdb_drop(txn, s->legacy_rec, 1));
	if (!rc)
		rc = ml_store_errcode(mdb_drop(txn, s->legacy_post, 1));
	dict_keys_t d = { .n = 0 };
	if (!rc)
		rc = ml_meta_each(txn, s, LEGACY_DICT_PFX, note_legacy_dict, &d);
	for (unsigned i = 0; i < d.n && !rc; i++)
		rc = ml_meta_del(txn, s, d.keys[i], 9);
	if (!rc)
		rc = ml_meta_del(txn, s, LEGACY_DICT_ID, strlen(LEGACY_DICT_ID));
	uint32_t v = ML_SCHEMA_VERSION;
	if (!rc)
		rc = ml_meta_put(txn, s, ML_META_SCHEMA, strlen(ML_META_SCHEMA), &v, 4);
	return rc;
}

static int run_once(ml_store_t *s, ml_writer_t *w, ml_legacy_codec_t *lc, ml_message_t *msgs,
                    ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *p)
{
	MDB_txn *rt;
	int rc = ml_store_read_begin(s, &rt);
	if (rc)
		return rc;
	MDB_stat st;
	p->total = mdb_stat(rt, s->legacy_rec, &st) == 0 ? st.ms_entries : 0;
	p->done = p->bytes_before = 0;
	rc = ml_meta_each(rt, s, LEGACY_DICT_PFX, load_legacy_dict, lc);
	if (!rc)
		rc = ml_writer_rebuild_begin(w, ML_REBUILD_RETRAIN | ML_REBUILD_RAW_DICT);
	MDB_cursor *cur = NULL;
	if (!rc)
		rc = ml_store_errcode(mdb_cursor_open(rt, s->legacy_rec, &cur));
	MDB_val k, v;
	int r = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	size_t n = 0;
	while (!rc && (r == 0 || n)) {
		if (r == 0) {
			if (k.mv_size != 8) {
				rc = ML_CORRUPT_BKPT;
				break;
			}
			p->bytes_before += v.mv_size;
			rc = ml_legacy_decode(lc, v.mv_data, v.mv_size, &msgs[n]);
			if (rc)
				break;
			msgs[n].docid = ml_get_be64(k.mv_data);
			rc = ml_writer_put(w, &msgs[n]);
			n++;
			r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			if (r && r != MDB_NOTFOUND) {
				rc = ml_store_errcode(r);
				break;
			}
		}
		if (!rc && (n == ML_REINDEX_BATCH || (r && n))) {
			rc = ml_writer_flush(w);
			p->done += n;
			for (size_t i = 0; i < n; i++) {
				ml_message_free(&msgs[i]);
				ml_message_init(&msgs[i]);
			}
			n = 0;
			if (!rc && fn && fn(ctx, p))
				rc = ML_EINTR;
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	if (!rc) {
		ml_writer_before_commit(w, finish, s);
		rc = ml_writer_commit(w);
	} else {
		ml_writer_abort(w);
	}
	for (size_t i = 0; i < n; i++) {
		ml_message_free(&msgs[i]);
		ml_message_init(&msgs[i]);
	}
	mdb_txn_abort(rt);
	return rc;
}

int ml_upgrade_run(ml_store_t *s, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *out,
                   char *err, size_t errlen)
{
	ml_reindex_progress_t p;
	memset(&p, 0, sizeof p);
	if (s->schema != ML_LEGACY_SCHEMA) {
		snprintf(err, errlen, "%s: already of schema %u: nothing to upgrade", s->path, s->schema);
		return ML_EINVAL;
	}
	ml_writer_t *w = NULL;
	ml_legacy_codec_t *lc = NULL;
	ml_message_t *msgs = calloc(ML_REINDEX_BATCH, sizeof *msgs);
	int rc = msgs ? ML_OK : ML_ENOMEM;
	if (!rc)
		rc = ml_writer_new(&w, s);
	if (!rc)
		rc = ml_legacy_codec_new(&lc);
	/* room for the new copy beside the old */
	uint64_t used = ml_store_file_bytes(s);
	if (!rc)
		rc = ml_store_reserve(s, used + used / 4 + (64u << 20));
	for (int tries = 0; !rc || rc == ML_EFULL; tries++) {
		rc = run_once(s, w, lc, msgs, fn, ctx, &p);
		if (rc != ML_EFULL || tries == 6)
			break;
		p.restarts++;
		rc = ml_store_grow(s);
	}
	if (!rc) {
		s->schema = ML_SCHEMA_VERSION;
		MDB_txn *t;
		if (ml_store_read_begin(s, &t) == 0) {
			p.dict_after = ml_store_dict_id(t, s);
			p.table_after = ml_store_strtab_gen(t, s);
			mdb_txn_abort(t);
		}
	} else {
		ml_reindex_error(s, "upgrade", rc, err, errlen);
	}
	if (out)
		*out = p;
	for (unsigned i = 0; msgs && i < ML_REINDEX_BATCH; i++)
		ml_message_free(&msgs[i]);
	free(msgs);
	ml_writer_free(w);
	ml_legacy_codec_free(lc);
	return rc;
}
