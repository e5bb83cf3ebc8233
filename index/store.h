/*
 * store.h — the LMDB environment of one mtalog database and its layout: the
 * tables, the docid, the meta keys.  Nothing outside index/ shifts a docid,
 * spells a meta key or opens a cursor.
 *
 * One file (MDB_NOSUBDIR: PATH, and its lock file PATH-lock) holds these
 * named tables (schema ML_SCHEMA_VERSION):
 *
 *   rows      key: docid (8, BE)        value: row record (index/record.h) of a
 *                                       closed message; it names the raw block
 *                                       that holds its lines
 *   raw       key: block number (8, BE) value: raw block: the log lines of some
 *                                       messages closed in one commit (record.h);
 *                                       numbers grow: blocks are appended
 *   rows.open key: docid                value: row record of a message still in
 *                                       flight, or of a closed one held back or
 *                                       late (below)
 *   raw.open  key: docid                value: its raw record (its lines alone)
 *   postings  key: see index/postings.h value: term block or list block
 *   open      key: host '\0' queue ID   value: docid (8, BE): the messages still
 *                                       in flight, to find them by queue ID
 *   meta      key: name                 value: see ML_META_* below
 *   reports   key: docid | time | source | kind | by    value: the message as
 *                                       reported: what recipients reported
 *                                       (index/reports.h)
 *   counts    key: term | hour          value: rows by status (index/counts.h)
 *   rowsum    key: docid (8, BE)        value: the rows by status of the messages
 *                                       from that docid to the next key's
 *                                       (index/rowsum.h)
 *
 * A raw value over ML_RAW_CHUNK bytes is cut in chunks of one size that a
 * B-tree leaf holds, three to a page (no overflow pages): the first under its
 * key alone, chunk i >= 1 under the key and i (2 bytes, BE).
 *
 * Why two places.  A message still in flight gets a line at every retry,
 * for hours or days: in the small open tables these rewrites touch a few
 * pages (copy on write frees every page it replaces, and the last commits'
 * stay free in the file).  It goes to `rows` and to a block of `raw` once,
 * when it closes.  A closed message younger than ML_HOLD_SECONDS before the
 * youngest still in flight waits in the open tables too, so that the
 * messages of a log read in order go to `rows` in docid order: appended,
 * pages full.  `rows` only grows at its end: a message that closes below
 * its last docid (deferred for longer than that, or in an older log read
 * later) stays in the open tables, a late row, rather than split a full
 * page in two (each such insert left half a page empty: 18% of `rows` at
 * 1M messages).  The records of raw.open are rewritten at nearly every
 * commit of an ingest (a message in flight gets lines at each retry): a
 * commit that changes most of them writes that table anew, appended, its
 * pages full (ml_store_raw_apply), where changed in place every page would
 * be copied and left half full.  Postings are in one place for both
 * (index/postings.h): they change only when a status does.
 * ml_store_row_get and ml_rowcur_t read the two places as one table.
 *
 * docid = first-seen second << ML_DOCID_SEQ_BITS | sequence within that
 * second, so key order is time order: newest first is a backward walk, a
 * time range is a key range.
 *
 * Schema 5 (the layout before this one: tables rec and post) is read only by
 * `mtalog upgrade` (index/upgrade.h); any other open of it is refused with a
 * line that names that command.
 *
 * Whose file.  The main table of an mtalog database holds only the names of
 * these tables (and of schema 5's), meta among them with its schema record,
 * written in the transaction that made the tables.  An LMDB environment
 * with any other key in its main table, or without meta's schema record, is
 * another program's: every open refuses it before writing anything.
 *
 * Map size: starts at ML_STORE_MAP_INIT ($MTALOG_MAP_SIZE bytes when set, at
 * least 1 MiB: tests use it to fill a small map) and doubles whenever a write
 * finds less than a quarter free (ml_store_write_begin) or hits MDB_MAP_FULL
 * (the caller retries the whole transaction after ml_store_grow).  Readers
 * adopt a grown map on MDB_MAP_RESIZED.
 *
 * Ownership: values returned by LMDB point into the map and are valid until
 * the transaction ends (LMDB's rule); functions here say when they copy.
 */
#ifndef ML_STORE_H
#define ML_STORE_H

#include <lmdb.h>
#include <stdint.h>

#include "engine/util.h"
#include "index/strtab.h"

#define ML_SCHEMA_VERSION 6u
#define ML_STORE_MAP_INIT ((size_t)256 << 20)

/* ---- docids ---- */
#define ML_DOCID_SEQ_BITS 20
#define ML_DOCID_SEQ_MAX ((1u << ML_DOCID_SEQ_BITS) - 1)

static inline uint64_t ml_docid_make(uint64_t sec, uint32_t seq)
{
	return sec << ML_DOCID_SEQ_BITS | seq;
}
static inline uint64_t ml_docid_sec(uint64_t docid)
{
	return docid >> ML_DOCID_SEQ_BITS;
}
static inline uint32_t ml_docid_seq(uint64_t docid)
{
	return (uint32_t)(docid & ML_DOCID_SEQ_MAX);
}
/* The largest second a docid can hold. */
#define ML_DOCID_SEC_MAX (UINT64_MAX >> ML_DOCID_SEQ_BITS)

/* ---- meta keys ---- */
#define ML_META_SCHEMA      "schema"        /* u32 LE */
#define ML_META_STRTAB      "strtab"        /* the string table (index/strtab.h) */
#define ML_META_RAWDICT     "rawdict"       /* u32 LE: id of the current raw-record dictionary */
#define ML_META_RAWDICT_PFX "rawdict:"      /* + u32 BE id: a dictionary's bytes */
#define ML_META_CKPT_PFX    "ckpt:"         /* + u64 BE hash: an input's checkpoint (ml_ckpt_t) */
#define ML_META_COUNT_PFX   "count:"        /* + name: u64 LE counters */
#define ML_META_MESSAGES    "count:messages"
#define ML_META_LINE_SEQ    "count:line_seq" /* lines numbered by ingest so far */
#define ML_META_POSTINGS    "count:postings" /* (term, docid) entries of the index */
#define ML_META_ROWS_PFX    "rows:"         /* + status name: u64 LE rows */
#define ML_META_TALLY_PFX   "tally:"        /* + kind ':' reason: u64 LE count, then a sample line */
#define ML_META_LOCALDOM_PFX "localdom:"    /* + domain: empty value */
#define ML_META_FORMAT      "ingest:format" /* the --format logs were ingested with, when not auto */
#define ML_META_REINDEX     "reindex:last"  /* u64 LE: unix time of the last rebuild's start */
#define ML_META_COUNTS_READY "counts:ready" /* empty: the table counts is complete (index/counts.h) */
#define ML_META_COUNTS_MORE "counts:more" /* empty: ... and has the keys of directions and recipient prefixes */
#define ML_META_ROWSUM_READY "rowsum:ready" /* empty: the table rowsum is complete (index/rowsum.h) */
#define ML_META_SEALED      "post:sealed"   /* u64 LE: 1 + the last day whose postings are sealed */
#define ML_META_STREAM_SEQ  "stream:seq"    /* u64 LE: a shard's last stream sequence stored (tools/shard.h) */
#define ML_META_STREAM_SHARD "stream:shard" /* "K/N": the shard of the stream this database holds */
#define ML_META_STREAM_INPUT_PFX "stream:in:" /* + 16 hex (a shipped input's first-line hash): u64 LE, end of its last line stored */

enum {
	ML_STORE_RDONLY = 1 << 0,
	ML_STORE_CREATE = 1 << 1,   /* create the file when missing */
	ML_STORE_NOSYNC = 1 << 2,   /* for tests only: no fsync at commit */
	ML_STORE_UPGRADE = 1 << 3,  /* also open a schema-5 database (for upgrade) */
};

enum { ML_PLACE_MAIN = 0, ML_PLACE_OPEN = 1, ML_PLACES = 2 };
#define ML_RAW_CHUNK 1330u   /* bytes of a raw chunk: three and their nodes fill a 4 KiB page */
#define ML_HOLD_SECONDS 600  /* closed messages younger than this before the youngest in flight wait */

typedef struct {
	MDB_env *env;
	MDB_dbi rows, raw, rows_open, raw_open, post, open, meta;
	MDB_dbi reports;       /* index/reports.h; 0 when a reader opened a file without it */
	MDB_dbi counts;        /* index/counts.h; 0 when a reader opened a file without it */
	MDB_dbi rowsum;        /* index/rowsum.h; 0 when a reader opened a file without it */
	MDB_dbi legacy_rec, legacy_post;   /* schema 5's tables, opened for an upgrade */
	int flags;
	uint32_t schema;       /* of the file as opened */
	size_t mapsize;
	char *path;
} ml_store_t;

/* Open (or create) the database at path.  On error writes one line naming
 * the file into err.  Refused, the file left as it was: what is not a
 * regular file, an empty file (LMDB would make a new environment in it),
 * what is not an LMDB file, and an LMDB file that is not an mtalog database
 * or of a schema flags do not allow (ml_store_check_env).  A path that does
 * not exist is created with ML_STORE_CREATE. */
int ml_store_open(ml_store_t **out, const char *path, int flags, char *err, size_t errlen);
void ml_store_close(ml_store_t *s);

/* The checks of ml_store_open, for what opens the environment itself
 * (compact).  ml_store_check_file: path is a regular file and not empty
 * (or, with ML_STORE_CREATE in flags, does not exist: *st is not set);
 * *st its stat.
 * ml_store_check_env: env (opened on path) is an mtalog database that an
 * open with flags may use (of this schema, of schema 5 with
 * ML_STORE_UPGRADE), or an environment nobody wrote to yet; it reads in a
 * transaction of its own.  Each returns 0 or an ML_E* code with one line
 * naming the file in err. */
struct stat;
int ml_store_check_file(const char *path, int flags, struct stat *st, char *err, size_t errlen);
int ml_store_check_env(MDB_env *env, const char *path, int flags, char *err, size_t errlen);
/* The line for an LMDB error of mdb_env_open on path, into err; the ML_E* code. */
int ml_store_env_error(int mdb_rc, const char *path, char *err, size_t errlen);

int ml_store_read_begin(ml_store_t *s, MDB_txn **txn);
int ml_store_write_begin(ml_store_t *s, MDB_txn **txn);
/* Double the map; no transaction of this process may be open. */
int ml_store_grow(ml_store_t *s);
/* Grow the map (no transaction open) until `need` bytes are free beyond use. */
int ml_store_reserve(ml_store_t *s, uint64_t need);
/* 1 when another process grew the map past this one's (a read transaction
 * would get MDB_MAP_RESIZED); the caller then calls ml_store_set_map(s, 0)
 * with no transaction of this process open. */
int ml_store_map_grown(ml_store_t *s);
/* Set the map size (0: adopt the size the file's writer set). */
int ml_store_set_map(ml_store_t *s, size_t bytes);
/* LMDB error -> ML_E* (MDB_MAP_FULL -> ML_EFULL: grow the map and write again;
 * ENOSPC, EDQUOT, EFBIG -> ML_ENOSPC: the disk is full, stop). */
int ml_store_errcode(int mdb_rc);

/* meta */
int ml_meta_get(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen, MDB_val *val);
int ml_meta_put(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen, const void *v, size_t vlen);
int ml_meta_del(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen);
uint64_t ml_meta_get_u64(MDB_txn *txn, ml_store_t *s, const char *key);
/* A flag: a meta key with an empty value, set or not. */
int ml_meta_flag(MDB_txn *txn, ml_store_t *s, const char *key);
int ml_meta_set_flag(MDB_txn *txn, ml_store_t *s, const char *key, int on);
/* A table kept complete while flag is set (index/counts.h, index/rowsum.h):
 * is it (0 too when the file has no such table: dbi 0)?  _clear empties it
 * and clears the flag (a rebuild's start). */
int ml_meta_table_ready(MDB_txn *txn, ml_store_t *s, MDB_dbi dbi, const char *flag);
int ml_meta_table_clear(MDB_txn *txn, ml_store_t *s, MDB_dbi dbi, const char *flag);
int ml_meta_add(MDB_txn *txn, ml_store_t *s, const char *key, int64_t delta);
/* A meta value as a C string (its own snapshot); ML_ENOTFOUND when absent,
 * ML_ETOOBIG when it does not fit in n bytes with its NUL. */
int ml_store_meta_string(ml_store_t *s, const char *key, char *out, size_t n);
/* Call fn for every meta key beginning with prefix (in key order); fn returns
 * non-zero to stop (that value is returned).  Values point into the map. */
int ml_meta_each(MDB_txn *txn, ml_store_t *s, const char *prefix,
                 int (*fn)(void *ctx, const char *key, size_t klen, const void *v, size_t vlen), void *ctx);

/* Raw-record dictionaries: load every stored one into the codec; the id new
 * records use (0: none). */
struct ml_codec;
int ml_store_load_dicts(ml_store_t *s, MDB_txn *txn, struct ml_codec *c);
uint32_t ml_store_dict_id(MDB_txn *txn, ml_store_t *s);
int ml_store_put_dict(MDB_txn *txn, ml_store_t *s, uint32_t id, const void *dict, size_t n);
/* Delete every dictionary but `keep`. */
int ml_store_drop_dicts(MDB_txn *txn, ml_store_t *s, uint32_t keep);

/* The key of (host, queue ID) in the table open: host lowercased, '\0', queue ID. */
int ml_store_open_key(ml_buf_t *b, ml_slice_t host, ml_slice_t qid);

/* The string table of the snapshot (a view into the map: valid while txn is;
 * the empty table, gen 0, when none). */
int ml_store_strtab(MDB_txn *txn, ml_store_t *s, ml_strtab_t *tab);
/* The generation of the stored string table (0: none). */
uint32_t ml_store_strtab_gen(MDB_txn *txn, ml_store_t *s);

/* Newest and oldest docid stored, in either place (0 when none). */
int ml_store_docid_range(MDB_txn *txn, ml_store_t *s, uint64_t *first, uint64_t *last);

/* ---- the records of a message ---- */
static inline MDB_dbi ml_store_rows_dbi(const ml_store_t *s, int place)
{
	return place == ML_PLACE_OPEN ? s->rows_open : s->rows;
}
static inline MDB_dbi ml_store_raw_dbi(const ml_store_t *s, int place)
{
	return place == ML_PLACE_OPEN ? s->raw_open : s->raw;
}
/* The row record of docid, in whichever place: *v points into the map,
 * *place says where (may be NULL).  ML_ENOTFOUND when none. */
int ml_store_row_get(MDB_txn *txn, ml_store_t *s, uint64_t docid, MDB_val *v, int *place);
/* The raw value under key in place (a block of `raw`, a record of raw.open),
 * its chunks joined, into out (reset first).  ML_ENOTFOUND when none. */
int ml_store_raw_get(MDB_txn *txn, ml_store_t *s, int place, uint64_t key, ml_buf_t *out);
/* The raw value that holds the lines of the row of docid whose locator is
 * raw_key (index/record.h): block raw_key of `raw`, or, raw_key = 0, the
 * record of its own in raw.open. */
static inline int ml_store_lines_get(MDB_txn *txn, ml_store_t *s, uint64_t docid, uint64_t raw_key, ml_buf_t *out)
{
	return ml_store_raw_get(txn, s, raw_key ? ML_PLACE_MAIN : ML_PLACE_OPEN, raw_key ? raw_key : docid, out);
}
/* The last block of `raw` (ML_ENOTFOUND when none). */
int ml_store_raw_last(MDB_txn *txn, ml_store_t *s, ml_buf_t *out, uint64_t *key);
/* Store a raw value under key (cut in chunks); fresh: nothing is stored
 * under key yet. */
int ml_store_raw_put(MDB_txn *txn, ml_store_t *s, int place, uint64_t key, const void *p, size_t n,
                     int fresh);
/* Delete the value under key with its chunks (none: 0). */
int ml_store_raw_del(MDB_txn *txn, ml_store_t *s, int place, uint64_t key);
/* A change to the raw value under key: deleted (del), or replaced by the n
 * bytes at p; fresh: nothing is stored under key yet. */
typedef struct {
	uint64_t key;
	const void *p;
	size_t n;
	int del, fresh;
} ml_raw_op_t;
/* Apply ops (n of them, in ascending key order, one a key) to the raw values
 * of place.  With rewrite, when the ops are at least 1/ML_RAW_REWRITE of the
 * table's entries, the table is written anew instead: what no op names and
 * what the ops put, appended in key order into the emptied table, so that
 * its pages are full and a commit copies the table once (changed in place, a
 * table whose records are rewritten at every commit, as raw.open's of the
 * messages in flight, has every page copied and its pages half full). */
#define ML_RAW_REWRITE 4
int ml_store_raw_apply(MDB_txn *txn, ml_store_t *s, int place, const ml_raw_op_t *ops, size_t n, int rewrite);

/* The rows of the two places as one sequence in docid order. */
typedef struct {
	MDB_cursor *c[ML_PLACES];
	uint64_t d[ML_PLACES];   /* docid under each cursor; 0 when it is past its end */
	MDB_val v[ML_PLACES];
	int back;                /* walking newest first */
} ml_rowcur_t;
int ml_rowcur_open(ml_rowcur_t *rc, MDB_txn *txn, ml_store_t *s);
void ml_rowcur_close(ml_rowcur_t *rc);
/* Position on the first row at or after docid (back = 0), or the last at or
 * before it (back = 1); then ml_rowcur_next steps the same way. */
int ml_rowcur_seek(ml_rowcur_t *rc, uint64_t docid, int back);
/* The row in hand: 1 with docid, value and place set, 0 at the end. */
int ml_rowcur_get(const ml_rowcur_t *rc, uint64_t *docid, MDB_val *v, int *place);
int ml_rowcur_next(ml_rowcur_t *rc);

/* fsync the folder that holds path, so that an entry just made or renamed
 * there survives a crash.  ML_EIO when it cannot be opened or synced. */
int ml_store_sync_dir(const char *path);

/* Size of the database file in bytes. */
uint64_t ml_store_file_bytes(const ml_store_t *s);

/* Read the file in order, then every page of the database once through
 * the map (a long-running reader's warm map; for the benchmark). */
int ml_store_warm(ml_store_t *s);

/* What the file holds, for stats: pages of each table, free pages. */
typedef struct {
	uint64_t page_size, pages_used, pages_free, map_size;
	uint64_t rows_pages, raw_pages, post_pages, open_pages, meta_pages;
	uint64_t rows, open;     /* rows of closed messages; messages in flight */
} ml_store_stat_t;
int ml_store_stat(ml_store_t *s, MDB_txn *txn, ml_store_stat_t *st);

#endif
