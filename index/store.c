#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "record.h"

int ml_store_errcode(int rc)
{
	switch (rc) {
	case 0: return ML_OK;
	case MDB_NOTFOUND: return ML_ENOTFOUND;
	case MDB_MAP_FULL: case ENOSPC: case EDQUOT: case EFBIG: return ML_EFULL;
	case ENOMEM: return ML_ENOMEM;
	case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID: case MDB_VERSION_MISMATCH:
		return ML_CORRUPT_BKPT;
	default: return ML_EIO;
	}
}

static int open_dbs(ml_store_t *s, char *err, size_t errlen)
{
	MDB_txn *txn;
	int ro = s->flags & ML_STORE_RDONLY;
	int rc = mdb_txn_begin(s->env, NULL, ro ? MDB_RDONLY : 0, &txn);
	if (rc)
		goto fail;
	unsigned cf = ro ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "rec", cf, &s->rec)) ||
	    (rc = mdb_dbi_open(txn, "post", cf | MDB_DUPSORT | MDB_DUPFIXED, &s->post)) ||
	    (rc = mdb_dbi_open(txn, "open", cf, &s->open)) ||
	    (rc = mdb_dbi_open(txn, "meta", cf, &s->meta))) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND) {
			snprintf(err, errlen, "%s: not an mtalog database (no index tables)", s->path);
			return ML_ECORRUPT;
		}
		goto fail;
	}
	MDB_val v;
	rc = ml_meta_get(txn, s, "schema", 6, &v);
	if (rc == ML_ENOTFOUND && !ro) {
		uint32_t ver = ML_SCHEMA_VERSION;
		rc = ml_meta_put(txn, s, "schema", 6, &ver, 4);
		if (rc) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: cannot write: %s", s->path, ml_strerror(rc));
			return rc;
		}
	} else if (rc == ML_ENOTFOUND) {
		/* read-only open of a database nobody wrote to yet: empty */
	} else if (rc || v.mv_size != 4) {
		mdb_txn_abort(txn);
		snprintf(err, errlen, "%s: not an mtalog database (no schema version)", s->path);
		return ML_ECORRUPT;
	} else {
		uint32_t ver;
		memcpy(&ver, v.mv_data, 4);
		if (ver != ML_SCHEMA_VERSION) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: schema version %u, this mtalog reads %u", s->path,
			         ver, ML_SCHEMA_VERSION);
			return ML_EINVAL;
		}
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		goto fail;
	return ML_OK;
fail:
	snprintf(err, errlen, "%s: %s", s->path, mdb_strerror(rc));
	return ml_store_errcode(rc);
}

int ml_store_open(ml_store_t **out, const char *path, int flags, char *err, size_t errlen)
{
	struct stat st;
	int rc;
	ml_store_t *s = calloc(1, sizeof *s);
	if (!s)
		return ML_ENOMEM;
	s->path = strdup(path);
	s->flags = flags;
	if (!s->path) {
		free(s);
		return ML_ENOMEM;
	}
	if (stat(path, &st) != 0) {
		if (errno != ENOENT || !(flags & ML_STORE_CREATE)) {
			snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			         errno == ENOENT ? " (nothing ingested yet? run: mtalog ingest FILE)" : "");
			rc = errno == ENOENT ? ML_ENOTFOUND : ML_EIO;
			goto fail;
		}
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = ML_EINVAL;
		goto fail;
	}
	if ((rc = mdb_env_create(&s->env)))
		goto fail_mdb;
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_maxreaders(s->env, 512);
	size_t map = ML_STORE_MAP_INIT;
	const char *env = getenv("MTALOG_MAP_SIZE");  /* a smaller first map, for tests */
	if (env && strtoull(env, NULL, 10) >= ((size_t)1 << 20))
		map = (size_t)strtoull(env, NULL, 10);
	if (stat(path, &st) == 0)
		while (map < (size_t)st.st_size + (size_t)st.st_size / 2 + ((size_t)64 << 20))
			map *= 2;
	if ((rc = mdb_env_set_mapsize(s->env, map)))
		goto fail_mdb;
	unsigned ef = MDB_NOSUBDIR | MDB_NOTLS;
	if (flags & ML_STORE_RDONLY)
		ef |= MDB_RDONLY;
	if (flags & ML_STORE_NOSYNC)
		ef |= MDB_NOSYNC;
	if ((rc = mdb_env_open(s->env, path, ef, 0644)))
		goto fail_mdb;
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	s->mapsize = info.me_mapsize;
	if ((rc = open_dbs(s, err, errlen)))
		goto fail;
	*out = s;
	return ML_OK;
fail_mdb:
	snprintf(err, errlen, "%s: %s", path,
	         rc == MDB_INVALID ? "not an LMDB database (corrupt, or another kind of file)"
	                           : mdb_strerror(rc));
	rc = ml_store_errcode(rc);
fail:
	if (s->env)
		mdb_env_close(s->env);
	free(s->path);
	free(s);
	return rc;
}

void ml_store_close(ml_store_t *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	free(s->path);
	free(s);
}

int ml_store_read_begin(ml_store_t *s, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	}
	return ml_store_errcode(rc);
}

int ml_store_grow(ml_store_t *s)
{
	size_t next = s->mapsize * 2;
	int rc = mdb_env_set_mapsize(s->env, next);
	if (rc)
		return ml_store_errcode(rc);
	s->mapsize = next;
	return ML_OK;
}

int ml_store_write_begin(ml_store_t *s, MDB_txn **txn)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	if (info.me_mapsize > s->mapsize)
		s->mapsize = info.me_mapsize;  /* another process grew it */
	size_t used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	while (used > s->mapsize - s->mapsize / 4) {
		int rc = ml_store_grow(s);
		if (rc)
			return rc;
	}
	int rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, 0, txn);
	}
	return ml_store_errcode(rc);
}

int ml_meta_get(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen, MDB_val *val)
{
	MDB_val k = { klen, (void *)key };
	return ml_store_errcode(mdb_get(txn, s->meta, &k, val));
}

int ml_meta_put(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen, const void *v, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, d = { vlen, (void *)v };
	return ml_store_errcode(mdb_put(txn, s->meta, &k, &d, 0));
}

uint64_t ml_meta_get_u64(MDB_txn *txn, ml_store_t *s, const char *key)
{
	MDB_val v;
	uint64_t x = 0;
	if (ml_meta_get(txn, s, key, strlen(key), &v) == 0 && v.mv_size >= 8)
		memcpy(&x, v.mv_data, 8);
	return x;
}

int ml_meta_add(MDB_txn *txn, ml_store_t *s, const char *key, int64_t delta)
{
	if (!delta)
		return ML_OK;
	uint64_t x = ml_meta_get_u64(txn, s, key) + (uint64_t)delta;
	return ml_meta_put(txn, s, key, strlen(key), &x, 8);
}

int ml_store_load_dicts(ml_store_t *s, MDB_txn *txn, ml_codec_t *c)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, s->meta, &cur);
	if (rc)
		return ml_store_errcode(rc);
	MDB_val k = { 5, "dict:" }, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == 9 && memcmp(k.mv_data, "dict:", 5) == 0) {
		const unsigned char *kp = k.mv_data;
		uint32_t id = (uint32_t)kp[5] << 24 | (uint32_t)kp[6] << 16 | (uint32_t)kp[7] << 8 | kp[8];
		int r2 = ml_codec_add_dict(c, id, v.mv_data, v.mv_size);
		if (r2) {
			mdb_cursor_close(cur);
			return r2;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? ML_OK : ml_store_errcode(rc);
}

uint32_t ml_store_dict_id(MDB_txn *txn, ml_store_t *s)
{
	MDB_val v;
	uint32_t id = 0;
	if (ml_meta_get(txn, s, "dict", 4, &v) == 0 && v.mv_size == 4)
		memcpy(&id, v.mv_data, 4);
	return id;
}

uint64_t ml_store_file_bytes(const ml_store_t *s)
{
	struct stat st;
	return stat(s->path, &st) == 0 ? (uint64_t)st.st_size : 0;
}
