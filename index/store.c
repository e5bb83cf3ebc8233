#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/legacy.h"
#include "index/record.h"

int ml_store_errcode(int rc)
{
	switch (rc) {
	case 0: return ML_OK;
	case MDB_NOTFOUND: return ML_ENOTFOUND;
	case MDB_MAP_FULL: return ML_EFULL;
	/* a full disk is not a full map: growing the map and writing again
	 * would fail again, after as much work */
	case ENOSPC: case EDQUOT: case EFBIG: return ML_ENOSPC;
	case ENOMEM: return ML_ENOMEM;
	case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID: case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return ML_CORRUPT_BKPT;
	default: return ML_EIO;
	}
}

/* The tables, by the names they have in the main table of the environment.
 * Every layout mtalog ever wrote used only these: schema 6's, and schema 5's
 * rec and post (schemas 1 to 4 had the same four as 5). */
#define TABLE_META      "meta"
#define TABLE_ROWS      "rows"
#define TABLE_RAW       "raw"
#define TABLE_ROWS_OPEN "rows.open"
#define TABLE_RAW_OPEN  "raw.open"
#define TABLE_POSTINGS  "postings"
#define TABLE_OPEN      "open"
#define TABLE_REPORTS   "reports"
#define TABLE_COUNTS    "counts"
#define TABLE_ROWSUM    "rowsum"
#define TABLE_LEGACY_REC  "rec"
#define TABLE_LEGACY_POST "post"

static int is_table_name(const MDB_val *k)
{
	static const char *const names[] = {
		TABLE_META, TABLE_ROWS, TABLE_RAW, TABLE_ROWS_OPEN, TABLE_RAW_OPEN, TABLE_POSTINGS,
		TABLE_OPEN, TABLE_REPORTS, TABLE_COUNTS, TABLE_ROWSUM, TABLE_LEGACY_REC, TABLE_LEGACY_POST,
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(names); i++)
		if (k->mv_size == strlen(names[i]) && !memcmp(k->mv_data, names[i], k->mv_size))
			return 1;
	return 0;
}

/* The schema a file says it is (0: none written yet). */
static int read_schema(MDB_txn *txn, MDB_dbi meta, uint32_t *ver)
{
	MDB_val k = { strlen(ML_META_SCHEMA), ML_META_SCHEMA }, v;
	int rc = mdb_get(txn, meta, &k, &v);
	*ver = 0;
	if (rc == MDB_NOTFOUND)
		return ML_OK;
	if (rc)
		return ml_store_errcode(rc);
	if (v.mv_size != 4)
		return ML_ECORRUPT;
	memcpy(ver, v.mv_data, 4);
	return ML_OK;
}

/* A key of another program's file, for a message: at most 40 bytes, what
 * is not printable ASCII as '?'. */
static void key_text(const MDB_val *k, char *out, size_t n)
{
	size_t len = k->mv_size < 40 ? k->mv_size : 40, o = 0;
	const unsigned char *p = k->mv_data;
	for (size_t i = 0; i < len && o + 1 < n; i++)
		out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[o] = '\0';
	if (k->mv_size > len && o + 4 < n)
		memcpy(out + o, "...", 4);
}

/* The one judgment of what an LMDB environment holds, made before anything
 * is written to it.  An mtalog database's main table holds only the names
 * of its tables, meta among them with a schema record (every mtalog wrote
 * it in the transaction that made the tables).  The environment is
 *   - new: its main table is empty: *ver = 0, the caller makes the tables;
 *   - refused, naming the file in err: a file shorter than its pages
 *     (ML_ECORRUPT), keys of another program (ML_EINVAL: not an mtalog
 *     database), a schema this mtalog does not read (ML_EINVAL), schema 5
 *     unless flags has ML_STORE_UPGRADE (ML_EINVAL, naming `mtalog upgrade`);
 *   - ours: *ver its schema, *meta the meta table (open in txn).
 * A newer schema is reported as such even with tables this one does not
 * know: a later mtalog may add some. */
static int check_layout(MDB_txn *txn, const char *path, int flags, MDB_dbi *meta, uint32_t *ver,
                        char *err, size_t errlen)
{
	MDB_dbi main_dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	char stranger[48] = "";
	size_t keys = 0;
	*ver = 0;
	/* LMDB reads its pages in the map without looking at the file's size:
	 * a page past the end of a file cut short is a SIGBUS */
	MDB_env *env = mdb_txn_env(txn);
	MDB_envinfo info;
	MDB_stat est;
	mdb_filehandle_t fd;
	struct stat fst;
	int rc = mdb_env_info(env, &info);
	if (!rc)
		rc = mdb_env_stat(env, &est);
	if (!rc)
		rc = mdb_env_get_fd(env, &fd);
	if (!rc && fstat(fd, &fst) != 0)
		rc = errno;
	if (rc)
		goto fail;
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * est.ms_psize;
	if ((uint64_t)fst.st_size < need) {
		snprintf(err, errlen, "%s: damaged: cut short (%llu bytes; its pages reach %llu); left unchanged",
		         path, (unsigned long long)fst.st_size, (unsigned long long)need);
		return ML_CORRUPT_BKPT;
	}
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)))
		goto fail;
	if ((rc = mdb_cursor_open(txn, main_dbi, &cur)))
		goto fail;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		keys++;
		if (!stranger[0] && !is_table_name(&k))
			key_text(&k, stranger, sizeof stranger);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto fail;
	if (!keys)
		return ML_OK;
	/* a plain key "meta" (not a table) is MDB_INCOMPATIBLE */
	rc = mdb_dbi_open(txn, TABLE_META, 0, meta);
	if (rc && rc != MDB_NOTFOUND && rc != MDB_INCOMPATIBLE)
		goto fail;
	if (rc || read_schema(txn, *meta, ver) != ML_OK || !*ver) {
		*ver = 0;
		goto foreign;
	}
	if (*ver != ML_SCHEMA_VERSION && *ver != ML_LEGACY_SCHEMA) {
		snprintf(err, errlen, "%s: schema version %u, this mtalog reads %u", path, *ver,
		         ML_SCHEMA_VERSION);
		return ML_EINVAL;
	}
	if (stranger[0])
		goto foreign;
	if (*ver == ML_LEGACY_SCHEMA && !(flags & ML_STORE_UPGRADE)) {
		snprintf(err, errlen, "%s: written by an older mtalog (schema %u); run `mtalog --db %s upgrade` "
		         "to convert it", path, *ver, path);
		return ML_EINVAL;
	}
	return ML_OK;
foreign:
	if (stranger[0])
		snprintf(err, errlen, "%s: not an mtalog database (an LMDB file that holds '%s', which mtalog "
		         "never writes); left unchanged", path, stranger);
	else
		snprintf(err, errlen, "%s: not an mtalog database (an LMDB file without mtalog's schema "
		         "record); left unchanged", path);
	return ML_EINVAL;
fail:
	snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
	return ml_store_errcode(rc);
}

static int open_dbs(ml_store_t *s, char *err, size_t errlen)
{
	MDB_txn *txn;
	int ro = s->flags & ML_STORE_RDONLY;
	uint32_t ver;
	int rc = mdb_txn_begin(s->env, NULL, ro ? MDB_RDONLY : 0, &txn);
	if (rc)
		goto fail;
	/* nothing is written before the environment is known to be ours */
	if ((rc = check_layout(txn, s->path, s->flags, &s->meta, &ver, err, errlen))) {
		mdb_txn_abort(txn);
		return rc;
	}
	if (!ver && ro) {
		/* a file nobody wrote to yet: empty, nothing to read */
		mdb_txn_abort(txn);
		snprintf(err, errlen, "%s: empty database (nothing ingested yet? run: mtalog ingest FILE)", s->path);
		return ML_ENOTFOUND;
	}
	if (!ver && (rc = mdb_dbi_open(txn, TABLE_META, MDB_CREATE, &s->meta)))
		goto fail_txn;
	s->schema = ver ? ver : ML_SCHEMA_VERSION;
	unsigned cf = ro ? 0 : MDB_CREATE;
	if (ver == ML_LEGACY_SCHEMA) {
		/* the old tables stay as they are for the upgrade to read; this
		 * schema's are made beside them (empty until it commits) */
		if ((rc = mdb_dbi_open(txn, TABLE_OPEN, 0, &s->open)) ||
		    (rc = mdb_dbi_open(txn, TABLE_LEGACY_REC, 0, &s->legacy_rec)) ||
		    (rc = mdb_dbi_open(txn, TABLE_LEGACY_POST, MDB_DUPSORT | MDB_DUPFIXED, &s->legacy_post)))
			goto fail_txn;
		if (!ro && ((rc = mdb_dbi_open(txn, TABLE_ROWS, cf, &s->rows)) ||
		            (rc = mdb_dbi_open(txn, TABLE_RAW, cf, &s->raw)) ||
		            (rc = mdb_dbi_open(txn, TABLE_ROWS_OPEN, cf, &s->rows_open)) ||
		            (rc = mdb_dbi_open(txn, TABLE_RAW_OPEN, cf, &s->raw_open)) ||
		            (rc = mdb_dbi_open(txn, TABLE_POSTINGS, cf, &s->post))))
			goto fail_txn;
	} else if ((rc = mdb_dbi_open(txn, TABLE_ROWS, cf, &s->rows)) ||
	           (rc = mdb_dbi_open(txn, TABLE_RAW, cf, &s->raw)) ||
	           (rc = mdb_dbi_open(txn, TABLE_ROWS_OPEN, cf, &s->rows_open)) ||
	           (rc = mdb_dbi_open(txn, TABLE_RAW_OPEN, cf, &s->raw_open)) ||
	           (rc = mdb_dbi_open(txn, TABLE_POSTINGS, cf, &s->post)) ||
	           (rc = mdb_dbi_open(txn, TABLE_OPEN, cf, &s->open))) {
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND) {
			snprintf(err, errlen, "%s: not an mtalog database (no index tables)", s->path);
			return ML_ECORRUPT;
		}
		goto fail;
	}
	/* tables added since schema 6 began: reports (index/reports.h), counts
	 * (index/counts.h) and rowsum (index/rowsum.h), made by the first writer
	 * of a database older than them; a reader of such a file sees none (0).
	 * counts and rowsum are complete in a new database (no row yet), built
	 * by `reindex` in an older one. */
	struct { const char *name; MDB_dbi *dbi; } later[] = {
		{ TABLE_REPORTS, &s->reports }, { TABLE_COUNTS, &s->counts }, { TABLE_ROWSUM, &s->rowsum },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(later) && (ver != ML_LEGACY_SCHEMA || !ro); i++) {
		rc = mdb_dbi_open(txn, later[i].name, cf, later[i].dbi);
		if (rc == MDB_NOTFOUND && ro) {
			*later[i].dbi = 0;
			rc = 0;
		}
		if (rc)
			goto fail_txn;
	}
	if (!ver && !ro) {
		uint32_t v = ML_SCHEMA_VERSION;
		rc = ml_store_errcode(ml_meta_put(txn, s, ML_META_SCHEMA, strlen(ML_META_SCHEMA), &v, 4));
		if (!rc)
			rc = ml_meta_set_flag(txn, s, ML_META_COUNTS_READY, 1);
		if (!rc)
			rc = ml_meta_set_flag(txn, s, ML_META_COUNTS_MORE, 1);
		if (!rc)
			rc = ml_meta_set_flag(txn, s, ML_META_ROWSUM_READY, 1);
		if (rc) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: cannot write: %s", s->path, ml_strerror(rc));
			return rc;
		}
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		goto fail;
	return ML_OK;
fail_txn:
	mdb_txn_abort(txn);
fail:
	snprintf(err, errlen, "%s: %s", s->path, mdb_strerror(rc));
	return ml_store_errcode(rc);
}

int ml_store_check_env(MDB_env *env, const char *path, int flags, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_dbi meta;
	uint32_t ver;
	int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return ml_store_env_error(rc, path, err, errlen);
	rc = check_layout(txn, path, flags, &meta, &ver, err, errlen);
	mdb_txn_abort(txn);
	return rc;
}

int ml_store_env_error(int mdb_rc, const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", path,
	         mdb_rc == MDB_INVALID ? "not an mtalog database (not an LMDB file: damaged, or another kind of file)"
	                               : mdb_strerror(mdb_rc));
	return ml_store_errcode(mdb_rc);
}

int ml_store_check_file(const char *path, int flags, struct stat *st, char *err, size_t errlen)
{
	if (stat(path, st) != 0) {
		int e = errno;
		if (e == ENOENT && (flags & ML_STORE_CREATE))
			return ML_OK;
		snprintf(err, errlen, "%s: %s%s", path, strerror(e),
		         e == ENOENT ? " (nothing ingested yet? run: mtalog ingest FILE)" : "");
		return e == ENOENT ? ML_ENOTFOUND : ML_EIO;
	}
	if (S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "%s: a directory, not a regular file (--db names the database file itself)",
		         path);
		return ML_EINVAL;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file, not an mtalog database", path);
		return ML_EINVAL;
	}
	/* LMDB would take it for a new environment and write one into it */
	if (st->st_size == 0) {
		snprintf(err, errlen, "%s: an empty file (0 bytes), not an mtalog database; left unchanged "
		         "(to start a new database, give a path that does not exist)", path);
		return ML_EINVAL;
	}
	return ML_OK;
}

static int store_open(ml_store_t **out, const char *path, int flags, char *err, size_t errlen);

int ml_store_sync_dir(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return ML_ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';   /* "/x": "/" */
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? ML_OK : ML_EIO;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* A new database is made whole under a name of its own (PATH.new-PID), its
 * tables and schema record committed, then linked to PATH: a process
 * killed while it makes one leaves no file at PATH that the next run would
 * refuse (an empty file, or an environment without its schema record),
 * only that stray name.  When another process made PATH meanwhile, the
 * link fails and its database is opened. */
static int store_create(const char *path, int flags, char *err, size_t errlen)
{
	size_t n = strlen(path) + 40;
	char *tmp = malloc(n), *tlock = malloc(n + 8);
	if (!tmp || !tlock) {
		free(tmp);
		free(tlock);
		return ML_ENOMEM;
	}
	snprintf(tmp, n, "%s.new-%ld", path, (long)getpid());
	snprintf(tlock, n + 8, "%s-lock", tmp);
	unlink(tmp);
	unlink(tlock);
	ml_store_t *t;
	int rc = store_open(&t, tmp, flags | ML_STORE_CREATE, err, errlen);
	size_t tn = strlen(tmp);
	if (rc && errlen && !strncmp(err, tmp, tn)) {
		/* the error said of the path asked for */
		char *e = strdup(err + tn);
		if (e) {
			snprintf(err, errlen, "%s%s", path, e);
			free(e);
		}
	}
	if (!rc) {
		ml_store_close(t);
		if (link(tmp, path) != 0 && errno != EEXIST) {
			/* a file system without hard links: renamed, when PATH is
			 * still free a moment before */
			struct stat st;
			if (stat(path, &st) != 0 && (errno != ENOENT || rename(tmp, path) != 0)) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				rc = ML_EIO;
			}
		}
		/* the directory's new entry made durable */
		if (!(flags & ML_STORE_NOSYNC))
			ml_store_sync_dir(path);
	}
	unlink(tmp);
	unlink(tlock);
	free(tmp);
	free(tlock);
	return rc;
}

int ml_store_open(ml_store_t **out, const char *path, int flags, char *err, size_t errlen)
{
	struct stat st;
	if ((flags & ML_STORE_CREATE) && stat(path, &st) != 0 && errno == ENOENT) {
		int rc = store_create(path, flags, err, errlen);
		if (rc)
			return rc;
	}
	return store_open(out, path, flags, err, errlen);
}

static int store_open(ml_store_t **out, const char *path, int flags, char *err, size_t errlen)
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
	if ((rc = ml_store_check_file(path, flags, &st, err, errlen)))
		goto fail;
	if ((rc = mdb_env_create(&s->env)))
		goto fail_mdb;
	mdb_env_set_maxdbs(s->env, 16);
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
	/* MDB_NORDAHEAD: the map is read at random (a search's rows are
	 * scattered over the table, its postings over the days); the kernel's
	 * read-ahead around each page not in memory (up to read_ahead_kb: 128
	 * KiB commonly, megabytes on some virtual disks) would read much that is
	 * not wanted and push out what is, once the database is larger than the
	 * memory that caches it.  Pages in memory are mapped as before. */
	unsigned ef = MDB_NOSUBDIR | MDB_NOTLS | MDB_NORDAHEAD;
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
	rc = ml_store_env_error(rc, path, err, errlen);
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

int ml_store_map_grown(ml_store_t *s)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		mdb_txn_abort(txn);
	return rc == MDB_MAP_RESIZED;
}

int ml_store_set_map(ml_store_t *s, size_t bytes)
{
	int rc = mdb_env_set_mapsize(s->env, bytes);
	if (rc)
		return ml_store_errcode(rc);
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) == 0)
		s->mapsize = info.me_mapsize;
	return ML_OK;
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

static uint64_t used_bytes(ml_store_t *s)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	if (info.me_mapsize > s->mapsize)
		s->mapsize = info.me_mapsize;  /* another process grew it */
	return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

int ml_store_reserve(ml_store_t *s, uint64_t need)
{
	uint64_t used = used_bytes(s);
	while (s->mapsize < used + need) {
		int rc = ml_store_grow(s);
		if (rc)
			return rc;
	}
	return ML_OK;
}

int ml_store_write_begin(ml_store_t *s, MDB_txn **txn)
{
	uint64_t used = used_bytes(s);
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

int ml_meta_del(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int rc = mdb_del(txn, s->meta, &k, NULL);
	return rc == MDB_NOTFOUND ? ML_OK : ml_store_errcode(rc);
}

int ml_meta_flag(MDB_txn *txn, ml_store_t *s, const char *key)
{
	MDB_val v;
	return ml_meta_get(txn, s, key, strlen(key), &v) == 0;
}

int ml_meta_set_flag(MDB_txn *txn, ml_store_t *s, const char *key, int on)
{
	if (on)
		return ml_meta_put(txn, s, key, strlen(key), "", 0);
	int rc = ml_meta_del(txn, s, key, strlen(key));
	return rc == ML_ENOTFOUND ? ML_OK : rc;
}

int ml_meta_table_ready(MDB_txn *txn, ml_store_t *s, MDB_dbi dbi, const char *flag)
{
	return dbi && ml_meta_flag(txn, s, flag);
}

int ml_meta_table_clear(MDB_txn *txn, ml_store_t *s, MDB_dbi dbi, const char *flag)
{
	int rc = ml_store_errcode(mdb_drop(txn, dbi, 0));
	return rc ? rc : ml_meta_set_flag(txn, s, flag, 0);
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

int ml_store_meta_string(ml_store_t *s, const char *key, char *out, size_t n)
{
	MDB_txn *txn;
	MDB_val v;
	int rc = ml_store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = ml_meta_get(txn, s, key, strlen(key), &v);
	if (!rc && v.mv_size >= n)
		rc = ML_ETOOBIG;
	if (!rc) {
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = '\0';
	}
	mdb_txn_abort(txn);
	return rc;
}

int ml_meta_each(MDB_txn *txn, ml_store_t *s, const char *prefix,
                 int (*fn)(void *ctx, const char *key, size_t klen, const void *v, size_t vlen), void *ctx)
{
	MDB_cursor *cur;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->meta, &cur));
	if (rc)
		return rc;
	size_t pn = strlen(prefix);
	MDB_val k = { pn, (void *)prefix }, v;
	int r = mdb_cursor_get(cur, &k, &v, pn ? MDB_SET_RANGE : MDB_FIRST);
	while (r == 0 && k.mv_size >= pn && memcmp(k.mv_data, prefix, pn) == 0) {
		rc = fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		if (rc)
			break;
		r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (!rc && r && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	mdb_cursor_close(cur);
	return rc;
}

static void dict_key(unsigned char key[12], uint32_t id)
{
	memcpy(key, ML_META_RAWDICT_PFX, 8);
	ml_put_be32(key + 8, id);
}

static uint32_t dict_key_id(const unsigned char *k)
{
	return ml_get_be32(k + 8);
}

static int load_dict(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	if (kn != 12)
		return ML_CORRUPT_BKPT;
	return ml_codec_add_dict(ctx, dict_key_id((const unsigned char *)key), v, vn);
}

int ml_store_load_dicts(ml_store_t *s, MDB_txn *txn, struct ml_codec *c)
{
	return ml_meta_each(txn, s, ML_META_RAWDICT_PFX, load_dict, c);
}

uint32_t ml_store_dict_id(MDB_txn *txn, ml_store_t *s)
{
	MDB_val v;
	uint32_t id = 0;
	if (ml_meta_get(txn, s, ML_META_RAWDICT, strlen(ML_META_RAWDICT), &v) == 0 && v.mv_size == 4)
		memcpy(&id, v.mv_data, 4);
	return id;
}

int ml_store_put_dict(MDB_txn *txn, ml_store_t *s, uint32_t id, const void *dict, size_t n)
{
	unsigned char key[12];
	dict_key(key, id);
	int rc = ml_meta_put(txn, s, key, 12, dict, n);
	if (!rc)
		rc = ml_meta_put(txn, s, ML_META_RAWDICT, strlen(ML_META_RAWDICT), &id, 4);
	return rc;
}

typedef struct {
	uint32_t keep;
	uint32_t ids[256];
	unsigned n;
} drop_t;

static int note_dict(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	(void)v;
	(void)vn;
	drop_t *d = ctx;
	if (kn == 12 && d->n < ML_ARRAY_LEN(d->ids) && dict_key_id((const unsigned char *)key) != d->keep)
		d->ids[d->n++] = dict_key_id((const unsigned char *)key);
	return 0;
}

int ml_store_drop_dicts(MDB_txn *txn, ml_store_t *s, uint32_t keep)
{
	drop_t d = { keep, { 0 }, 0 };
	int rc = ml_meta_each(txn, s, ML_META_RAWDICT_PFX, note_dict, &d);
	for (unsigned i = 0; i < d.n && !rc; i++) {
		unsigned char key[12];
		dict_key(key, d.ids[i]);
		rc = ml_meta_del(txn, s, key, 12);
	}
	return rc;
}

int ml_store_open_key(ml_buf_t *b, ml_slice_t host, ml_slice_t qid)
{
	ml_buf_reset(b);
	int rc = ml_buf_append_lower(b, host.p, host.n);
	if (!rc)
		rc = ml_buf_putc(b, 0);
	if (!rc)
		rc = ml_buf_append(b, qid.p, qid.n);
	return rc;
}

int ml_store_strtab(MDB_txn *txn, ml_store_t *s, ml_strtab_t *tab)
{
	MDB_val v;
	int rc = ml_meta_get(txn, s, ML_META_STRTAB, strlen(ML_META_STRTAB), &v);
	if (rc == ML_ENOTFOUND) {
		ml_strtab_free(tab);
		return ML_OK;
	}
	if (rc)
		return rc;
	/* The same bytes at the same place as the table in hand: checked when
	 * it was viewed, not again (a search views it once per snapshot, and
	 * the checks read every entry).  A table is never rewritten under the
	 * same generation, so the same place and generation are the same bytes. */
	uint32_t gen;
	if (!tab->own.data && tab->gen && tab->src == v.mv_data && tab->src_n == v.mv_size && v.mv_size >= 8) {
		memcpy(&gen, (const char *)v.mv_data + 4, 4);
		if (gen == tab->gen)
			return ML_OK;
	}
	return ml_strtab_view(tab, v.mv_data, v.mv_size);
}

uint32_t ml_store_strtab_gen(MDB_txn *txn, ml_store_t *s)
{
	MDB_val v;
	uint32_t gen = 0;
	if (ml_meta_get(txn, s, ML_META_STRTAB, strlen(ML_META_STRTAB), &v) == 0 && v.mv_size >= 8)
		memcpy(&gen, (const char *)v.mv_data + 4, 4);
	return gen;
}

int ml_store_docid_range(MDB_txn *txn, ml_store_t *s, uint64_t *first, uint64_t *last)
{
	*first = *last = 0;
	for (int place = 0; place < ML_PLACES; place++) {
		MDB_cursor *c;
		int rc = ml_store_errcode(mdb_cursor_open(txn, ml_store_rows_dbi(s, place), &c));
		if (rc)
			return rc;
		MDB_val k, v;
		int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (r == 0 && k.mv_size == 8) {
			uint64_t d = ml_get_be64(k.mv_data);
			if (!*first || d < *first)
				*first = d;
			r = mdb_cursor_get(c, &k, &v, MDB_LAST);
			if (r == 0 && k.mv_size == 8 && ml_get_be64(k.mv_data) > *last)
				*last = ml_get_be64(k.mv_data);
		}
		mdb_cursor_close(c);
		if (r == 0 && k.mv_size != 8)
			return ML_CORRUPT_BKPT;
		if (r && r != MDB_NOTFOUND)
			return ml_store_errcode(r);
	}
	return ML_OK;
}

int ml_store_row_get(MDB_txn *txn, ml_store_t *s, uint64_t docid, MDB_val *v, int *place)
{
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	for (int p = 0; p < ML_PLACES; p++) {
		MDB_val k = { 8, kb };
		int rc = mdb_get(txn, ml_store_rows_dbi(s, p), &k, v);
		if (rc == 0) {
			if (place)
				*place = p;
			return ML_OK;
		}
		if (rc != MDB_NOTFOUND)
			return ml_store_errcode(rc);
	}
	return ML_ENOTFOUND;
}

/* Join the chunks of the value under the cursor (on its first chunk, key kb). */
static int join_chunks(MDB_cursor *c, const unsigned char kb[8], MDB_val *v, ml_buf_t *out)
{
	MDB_val k;
	unsigned next = 1;
	int rc = ML_OK, r = 0;
	while (r == 0 && !rc) {
		rc = ml_buf_append(out, v->mv_data, v->mv_size);
		r = mdb_cursor_get(c, &k, v, MDB_NEXT);
		/* the next chunk, if it is this key's */
		const unsigned char *kp = k.mv_data;
		if (r == 0 && !(k.mv_size == 10 && memcmp(kp, kb, 8) == 0 && ((unsigned)kp[8] << 8 | kp[9]) == next))
			break;
		next++;
	}
	if (rc)
		return rc;
	return r == 0 || r == MDB_NOTFOUND ? ML_OK : ml_store_errcode(r);
}

int ml_store_raw_get(MDB_txn *txn, ml_store_t *s, int place, uint64_t key, ml_buf_t *out)
{
	MDB_cursor *c;
	ml_buf_reset(out);
	int rc = ml_store_errcode(mdb_cursor_open(txn, ml_store_raw_dbi(s, place), &c));
	if (rc)
		return rc;
	unsigned char kb[8];
	ml_put_be64(kb, key);
	MDB_val k = { 8, kb }, v;
	int r = mdb_cursor_get(c, &k, &v, MDB_SET);
	if (r == 0)
		rc = join_chunks(c, kb, &v, out);
	else
		rc = r == MDB_NOTFOUND ? ML_ENOTFOUND : ml_store_errcode(r);
	mdb_cursor_close(c);
	return rc;
}

int ml_store_raw_last(MDB_txn *txn, ml_store_t *s, ml_buf_t *out, uint64_t *key)
{
	MDB_cursor *c;
	ml_buf_reset(out);
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->raw, &c));
	if (rc)
		return rc;
	MDB_val k, v;
	int r = mdb_cursor_get(c, &k, &v, MDB_LAST);
	while (r == 0 && k.mv_size == 10)
		r = mdb_cursor_get(c, &k, &v, MDB_PREV);
	if (r == 0 && k.mv_size == 8) {
		unsigned char kb[8];
		memcpy(kb, k.mv_data, 8);
		*key = ml_get_be64(kb);
		rc = join_chunks(c, kb, &v, out);
	} else {
		rc = r == MDB_NOTFOUND ? ML_ENOTFOUND : r ? ml_store_errcode(r) : ML_CORRUPT_BKPT;
	}
	mdb_cursor_close(c);
	return rc;
}

int ml_store_raw_del(MDB_txn *txn, ml_store_t *s, int place, uint64_t docid)
{
	MDB_cursor *c;
	int rc = ml_store_errcode(mdb_cursor_open(txn, ml_store_raw_dbi(s, place), &c));
	if (rc)
		return rc;
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	MDB_val k = { 8, kb }, v;
	int r = mdb_cursor_get(c, &k, &v, MDB_SET);
	while (r == 0) {
		if ((r = mdb_cursor_del(c, 0)))
			break;
		r = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
		if (r == 0 && !(k.mv_size == 10 && memcmp(k.mv_data, kb, 8) == 0))
			break;
	}
	mdb_cursor_close(c);
	return r == 0 || r == MDB_NOTFOUND || r == EINVAL ? ML_OK : ml_store_errcode(r);
}

/* Store n bytes under key in chunks (store.h); append: try MDB_APPEND
 * first (keys coming in order). */
static int put_chunks(MDB_txn *txn, MDB_dbi dbi, uint64_t key, const void *data, size_t n, int append)
{
	const char *p = data;
	/* chunks of one size: three fill a page */
	size_t nch = n ? (n + ML_RAW_CHUNK - 1) / ML_RAW_CHUNK : 1;
	if (nch > 0xffff)
		return ML_ETOOBIG;
	size_t each = n ? (n + nch - 1) / nch : 0;
	int rc = ML_OK;
	for (unsigned i = 0; !rc && (i == 0 || n); i++) {
		unsigned char kb[10];
		ml_put_be64(kb, key);
		kb[8] = (unsigned char)(i >> 8);
		kb[9] = (unsigned char)i;
		size_t take = n < each ? n : each;
		/* a chunk fits three to a page, and its number in two bytes */
		ML_ASSERT(take <= ML_RAW_CHUNK && i < nch);
		MDB_val k = { i ? 10 : 8, kb }, v = { take, (void *)p };
		int r = MDB_KEYEXIST;
		if (append)
			r = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
		if (r == MDB_KEYEXIST)
			r = mdb_put(txn, dbi, &k, &v, 0);
		rc = ml_store_errcode(r);
		p += take;
		n -= take;
	}
	return rc;
}

int ml_store_raw_put(MDB_txn *txn, ml_store_t *s, int place, uint64_t docid, const void *data, size_t n,
                     int fresh)
{
	int rc = fresh ? ML_OK : ml_store_raw_del(txn, s, place, docid);
	/* the blocks of `raw` come in key order: appended, pages fill */
	return rc ? rc : put_chunks(txn, ml_store_raw_dbi(s, place), docid, data, n, place == ML_PLACE_MAIN);
}

/* The table written anew: the values no op names, copied out, the table
 * emptied, then they and the ops' puts appended in key order (pages full). */
static int raw_rewrite(MDB_txn *txn, MDB_dbi dbi, const ml_raw_op_t *ops, size_t nops)
{
	ml_buf_t keep = ML_BUF_INIT;   /* [klen 1][vlen 4] key value, in key order */
	MDB_cursor *c;
	int rc = ml_store_errcode(mdb_cursor_open(txn, dbi, &c));
	if (rc)
		return rc;
	MDB_val k, v;
	size_t j = 0;
	int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (r == 0 && !rc) {
		if (k.mv_size != 8 && k.mv_size != 10) {
			rc = ML_CORRUPT_BKPT;
			break;
		}
		uint64_t key = ml_get_be64(k.mv_data);
		while (j < nops && ops[j].key < key)
			j++;
		if (j == nops || ops[j].key != key) {
			unsigned char h[5] = { (unsigned char)k.mv_size };
			memcpy(h + 1, &(uint32_t){ (uint32_t)v.mv_size }, 4);
			rc = ml_buf_append(&keep, h, 5);
			if (!rc)
				rc = ml_buf_append(&keep, k.mv_data, k.mv_size);
			if (!rc)
				rc = ml_buf_append(&keep, v.mv_data, v.mv_size);
		}
		r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (!rc && r != MDB_NOTFOUND)
		rc = ml_store_errcode(r);
	if (!rc)
		rc = ml_store_errcode(mdb_drop(txn, dbi, 0));
	/* the kept values and the puts, merged by key (no key is in both) */
	size_t off = 0;
	j = 0;
	while (!rc && (off < keep.len || j < nops)) {
		uint64_t kept = UINT64_MAX;
		if (off < keep.len)
			kept = ml_get_be64((const unsigned char *)keep.data + off + 5);
		if (j < nops && (off == keep.len || ops[j].key < kept)) {
			if (!ops[j].del)
				rc = put_chunks(txn, dbi, ops[j].key, ops[j].p, ops[j].n, 1);
			j++;
			continue;
		}
		const unsigned char *h = (const unsigned char *)keep.data + off;
		uint32_t vn;
		memcpy(&vn, h + 1, 4);
		MDB_val kk = { h[0], (void *)(h + 5) }, vv = { vn, (void *)(h + 5 + h[0]) };
		rc = ml_store_errcode(mdb_put(txn, dbi, &kk, &vv, MDB_APPEND));
		off += 5 + h[0] + vn;
	}
	ml_buf_free(&keep);
	return rc;
}

int ml_store_raw_apply(MDB_txn *txn, ml_store_t *s, int place, const ml_raw_op_t *ops, size_t n, int rewrite)
{
	MDB_dbi dbi = ml_store_raw_dbi(s, place);
	MDB_stat st;
	int rc = ML_OK;
	if (rewrite && n) {
		rc = ml_store_errcode(mdb_stat(txn, dbi, &st));
		if (!rc && n * ML_RAW_REWRITE >= st.ms_entries)
			return raw_rewrite(txn, dbi, ops, n);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		ML_ASSERT(!i || ops[i - 1].key < ops[i].key);
		if (ops[i].del) {
			rc = ml_store_raw_del(txn, s, place, ops[i].key);
			rc = rc == ML_ENOTFOUND ? ML_OK : rc;
		} else {
			rc = ml_store_raw_put(txn, s, place, ops[i].key, ops[i].p, ops[i].n, ops[i].fresh);
		}
	}
	return rc;
}

/* ---- both places as one sequence ---- */

int ml_rowcur_open(ml_rowcur_t *rc, MDB_txn *txn, ml_store_t *s)
{
	memset(rc, 0, sizeof *rc);
	for (int p = 0; p < ML_PLACES; p++) {
		int r = mdb_cursor_open(txn, ml_store_rows_dbi(s, p), &rc->c[p]);
		if (r) {
			ml_rowcur_close(rc);
			return ml_store_errcode(r);
		}
	}
	return ML_OK;
}

void ml_rowcur_close(ml_rowcur_t *rc)
{
	for (int p = 0; p < ML_PLACES; p++)
		if (rc->c[p])
			mdb_cursor_close(rc->c[p]);
	memset(rc, 0, sizeof *rc);
}

/* Note the row under cursor p after an operation that returned r. */
static int rowcur_note(ml_rowcur_t *rc, int p, int r, MDB_val *k)
{
	rc->d[p] = 0;
	if (r == MDB_NOTFOUND)
		return ML_OK;
	if (r)
		return ml_store_errcode(r);
	if (k->mv_size != 8)
		return ML_CORRUPT_BKPT;
	rc->d[p] = ml_get_be64(k->mv_data);
	return ML_OK;
}

int ml_rowcur_seek(ml_rowcur_t *rc, uint64_t docid, int back)
{
	rc->back = back;
	unsigned char kb[8];
	for (int p = 0; p < ML_PLACES; p++) {
		/* backward: the first row above docid, then one back */
		uint64_t at = back ? (docid == UINT64_MAX ? docid : docid + 1) : docid;
		ml_put_be64(kb, at);
		MDB_val k = { 8, kb };
		int r = mdb_cursor_get(rc->c[p], &k, &rc->v[p], MDB_SET_RANGE);
		if (back) {
			if (r == 0 && !(docid == UINT64_MAX && ml_get_be64(k.mv_data) == docid))
				r = mdb_cursor_get(rc->c[p], &k, &rc->v[p], MDB_PREV);
			else if (r == MDB_NOTFOUND)
				r = mdb_cursor_get(rc->c[p], &k, &rc->v[p], MDB_LAST);
		}
		int e = rowcur_note(rc, p, r, &k);
		if (e)
			return e;
	}
	return ML_OK;
}

/* The cursor whose row comes first in the walk's direction, or -1. */
static int rowcur_pick(const ml_rowcur_t *rc)
{
	int best = -1;
	for (int p = 0; p < ML_PLACES; p++)
		if (rc->d[p] && (best < 0 || (rc->back ? rc->d[p] > rc->d[best] : rc->d[p] < rc->d[best])))
			best = p;
	return best;
}

int ml_rowcur_get(const ml_rowcur_t *rc, uint64_t *docid, MDB_val *v, int *place)
{
	int p = rowcur_pick(rc);
	if (p < 0)
		return 0;
	*docid = rc->d[p];
	*v = rc->v[p];
	if (place)
		*place = p;
	return 1;
}

int ml_rowcur_next(ml_rowcur_t *rc)
{
	int p = rowcur_pick(rc);
	if (p < 0)
		return ML_OK;
	MDB_val k;
	int r = mdb_cursor_get(rc->c[p], &k, &rc->v[p], rc->back ? MDB_PREV : MDB_NEXT);
	return rowcur_note(rc, p, r, &k);
}

uint64_t ml_store_file_bytes(const ml_store_t *s)
{
	struct stat st;
	return stat(s->path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t dbi_pages(MDB_txn *txn, MDB_dbi dbi, uint64_t *entries)
{
	MDB_stat st;
	if (mdb_stat(txn, dbi, &st))
		return 0;
	if (entries)
		*entries = st.ms_entries;
	return (uint64_t)st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

int ml_store_stat(ml_store_t *s, MDB_txn *txn, ml_store_stat_t *st)
{
	memset(st, 0, sizeof *st);
	MDB_envinfo info;
	MDB_stat est;
	if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &est))
		return ML_EIO;
	st->page_size = est.ms_psize;
	st->pages_used = info.me_last_pgno + 1;
	st->map_size = info.me_mapsize;
	st->rows_pages = dbi_pages(txn, s->rows, &st->rows) + dbi_pages(txn, s->rows_open, NULL);
	st->raw_pages = dbi_pages(txn, s->raw, NULL) + dbi_pages(txn, s->raw_open, NULL);
	st->post_pages = dbi_pages(txn, s->post, NULL);
	st->open_pages = dbi_pages(txn, s->open, &st->open);
	st->meta_pages = dbi_pages(txn, s->meta, NULL);
	/* free pages: the freelist (dbi 0) holds page numbers; count them */
	MDB_cursor *c;
	if (mdb_cursor_open(txn, 0, &c) == 0) {
		MDB_val k, v;
		int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		while (r == 0) {
			if (v.mv_size >= sizeof(size_t)) {
				size_t n;
				memcpy(&n, v.mv_data, sizeof n);
				st->pages_free += n;
			}
			r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(c);
	}
	return ML_OK;
}

int ml_store_warm(ml_store_t *s)
{
	/* the file read in order first, so that its pages are in memory (the
	 * map itself is read without read-ahead: MDB_NORDAHEAD) */
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		static char chunk[1 << 20];
		while (read(fd, chunk, sizeof chunk) > 0)
			;
		close(fd);
	}
	MDB_txn *txn;
	int rc = ml_store_read_begin(s, &txn);
	if (rc)
		return rc;
	MDB_dbi dbis[] = { s->rows, s->rows_open, s->raw, s->raw_open, s->post, s->open, s->meta };
	volatile unsigned char sink = 0;
	for (size_t d = 0; d < ML_ARRAY_LEN(dbis) && !rc; d++) {
		MDB_cursor *c;
		rc = ml_store_errcode(mdb_cursor_open(txn, dbis[d], &c));
		if (rc)
			break;
		MDB_val k, v;
		int r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		while (r == 0) {
			const unsigned char *p = v.mv_data;
			for (size_t i = 0; i < v.mv_size; i += 4096)
				sink ^= p[i];
			if (v.mv_size)
				sink ^= p[v.mv_size - 1];
			r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	(void)sink;
	return rc;
}
