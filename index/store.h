/*
 * store.h — the LMDB environment of one mtalog database and its layout.
 *
 * One file (MDB_NOSUBDIR: PATH, and its lock file PATH-lock) holds four named
 * databases:
 *
 *   rec   key: docid, 8 bytes big-endian      value: record (index/record.h)
 *   post  MDB_DUPSORT|MDB_DUPFIXED
 *         key: tag byte + day bucket (2 bytes) + normalized term
 *                                             dup: docid, 8 bytes big-endian
 *         (tags, terms and buckets: index/tokens.h)
 *   open  key: host '\0' queue ID             value: docid, 8 bytes big-endian
 *         the messages still in flight (no "removed" seen yet)
 *   meta  key: name                           value: see below
 *
 * docid = first-seen time in seconds << 20 | sequence within that second, so
 * the natural key order is time order; newest first is a backward walk and a
 * time range is a key range.
 *
 * meta keys:
 *   "schema"                 u32 little-endian, ML_SCHEMA_VERSION
 *   "dict"                   u32: id of the current zstd dictionary (absent: none)
 *   "dict:" u32 BE id        the dictionary bytes
 *   "ckpt:" u64 BE hash      checkpoint of one input (ml_ckpt_t, packed)
 *   "count:" name            u64: lines_parsed, lines_skipped, lines_bad, messages ...
 *   "tally:" kind ':' reason u64 count, then a sample line (kind: skip|bad)
 *   "localdom:" domain       empty: a local domain (configured or learned)
 *   "count:line_seq"         u64: lines numbered by ingest so far (each stored raw line
 *                            keeps its number, for reindex --reparse)
 *   "ingest:format"          the --format an ingest was given, when not auto
 *   "reindex:last"           u64: unix time of the last reindex's start
 *
 * Map size: starts at ML_STORE_MAP_INIT ($MTALOG_MAP_SIZE bytes when set,
 * at least 1 MiB: tests use it to fill a small map) and doubles whenever a write finds
 * less than a quarter free (ml_store_write_begin) or hits MDB_MAP_FULL (the
 * caller retries the whole transaction after ml_store_grow).  Readers adopt a
 * grown map on MDB_MAP_RESIZED.
 *
 * Ownership: values returned by mdb_get/mdb_cursor_get point into the map and
 * are valid until the transaction ends (LMDB's rule).
 */
#ifndef ML_STORE_H
#define ML_STORE_H

#include <lmdb.h>
#include <stdint.h>

#include "engine/util.h"

#define ML_SCHEMA_VERSION 5u
#define ML_STORE_MAP_INIT ((size_t)256 << 20)

enum {
	ML_STORE_RDONLY = 1 << 0,
	ML_STORE_CREATE = 1 << 1,   /* create the file when missing */
	ML_STORE_NOSYNC = 1 << 2,   /* for tests only: no fsync at commit */
};

typedef struct {
	MDB_env *env;
	MDB_dbi rec, post, open, meta;
	int flags;
	size_t mapsize;
	char *path;
} ml_store_t;

/* Open (or create) the database at path.  On error writes one line naming
 * the file into err. */
int ml_store_open(ml_store_t **out, const char *path, int flags, char *err, size_t errlen);
void ml_store_close(ml_store_t *s);

int ml_store_read_begin(ml_store_t *s, MDB_txn **txn);
int ml_store_write_begin(ml_store_t *s, MDB_txn **txn);
/* Double the map; no transaction of this process may be open. */
int ml_store_grow(ml_store_t *s);
/* LMDB error → ML_E* (MDB_MAP_FULL and ENOSPC → ML_EFULL). */
int ml_store_errcode(int mdb_rc);

/* meta helpers */
int ml_meta_get(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen, MDB_val *val);
int ml_meta_put(MDB_txn *txn, ml_store_t *s, const void *key, size_t klen, const void *v, size_t vlen);
uint64_t ml_meta_get_u64(MDB_txn *txn, ml_store_t *s, const char *key);
int ml_meta_add(MDB_txn *txn, ml_store_t *s, const char *key, int64_t delta);

/* Load every stored dictionary into the codec. */
struct ml_codec;
int ml_store_load_dicts(ml_store_t *s, MDB_txn *txn, struct ml_codec *c);

/* Id of the dictionary new records are compressed with (meta "dict"; 0: none). */
uint32_t ml_store_dict_id(MDB_txn *txn, ml_store_t *s);

/* Size of the database file in bytes. */
uint64_t ml_store_file_bytes(const ml_store_t *s);

#endif
