/*
 * postings.h — the inverted index: for each term (index/tokens.h: a tag byte
 * and the term's bytes) and each day, the docids of the messages that have
 * it, delta-coded in blocks.
 *
 * Table "postings" (index/store.h), two kinds of keys, both beginning with
 * the tag and the day bucket, so that one day's postings of a field are
 * adjacent (a batch of new messages touches only the newest day's pages) and
 * a search walks the days newest first:
 *
 *   term block   tag | bucket (2, BE) | 0x00 | the block's first term
 *                -> a run of consecutive terms, each with its docids, or with
 *                   "in list blocks" when it has many
 *   list block   tag | bucket (2, BE) | 0x01 | term length (2, BE) | term |
 *                first docid (8, BE)
 *                -> the docids of one term from the first docid on
 *
 * Two parts.  The keys above are the open part.  A day that has ended
 * (ml_post_seal_due) is sealed: its keys move to the sealed part, the same
 * keys with 0xff | bucket | tag in place of tag | bucket, which sort after
 * every open key and by day: days are sealed in order, so a seal appends
 * its keys at the table's end, in order, and the pages they fill are full
 * (the open part's pages, where blocks grow in place and split in half, are
 * two thirds full).  What a later batch adds to a sealed day (a message that
 * closed late, an older log read later) goes to the open part; its removals
 * are made where the posting is.  A reader of a day joins the two parts.
 *
 * Term block value:
 *   varint  nterms (>= 1)
 *   per term, ascending, distinct:
 *     varint shared   bytes in common with the previous term (0 for the first)
 *     varint rest     then `rest` bytes: the term is the previous term's first
 *                     `shared` bytes and these
 *     varint n        n >= 1: n docids follow, delta-coded from the bucket's
 *                     first docid; n = 0: the docids are in list blocks, and a
 *                     varint with their number follows
 * List block value:
 *   varint  n, the docids after the key's first docid; then n deltas
 *
 * Delta code of docid d after prev (docid: index/store.h, second << 20 | seq):
 *   ds = second(d) - second(prev); v = ds << 2 | c, as a varint, where
 *   - for the first docid of a list (prev = the bucket's first docid), and
 *     when ds > 0: c = min(seq(d), 3)
 *   - otherwise (same second): c = min(seq(d) - seq(prev) - 1, 3)
 *   and when c = 3 a varint with the excess over 3 follows.  A docid costs one
 *   byte when its term is frequent, about three when rare.
 *
 * Limits: a term keeps its docids in its term block while they take at most
 * ML_POST_INLINE_MAX bytes; past that they move to list blocks of at most
 * ML_POST_BLOCK_MAX bytes.  Term blocks are split at ML_POST_BLOCK_MAX bytes,
 * so every value fits in a B-tree page (no overflow pages).
 *
 * Invariants: the term blocks of a (tag, bucket) partition its terms in
 * order (a term is in the block with the greatest first term <= it); a term
 * is in exactly one block; list blocks of a term hold ascending, disjoint
 * docid ranges; every count stored is the number of docids stored.
 *
 * Writing: a batch (ml_post_batch_t) collects additions and removals of
 * (term, docid), sorts them and merges them in, one read and one write of
 * each block touched.  Reading: ml_plist_t walks one term's docids in one
 * bucket, newest first, by seeks (largest docid <= a target).
 *
 * Ownership: iterators copy what they keep; nothing returned points into the
 * map after the call returns, except where said.
 */
#ifndef ML_POSTINGS_H
#define ML_POSTINGS_H

#include <lmdb.h>
#include <stdint.h>

#include "engine/util.h"
#include "index/store.h"

#define ML_BUCKET_SECONDS 86400u
#define ML_POST_INLINE_MAX 32u
#define ML_POST_BLOCK_MAX 1024u

/* The bucket (day) of a docid, and the first docid of a bucket. */
static inline uint32_t ml_docid_bucket(uint64_t docid)
{
	uint64_t b = ml_docid_sec(docid) / ML_BUCKET_SECONDS;
	return b > 0xffff ? 0xffff : (uint32_t)b;
}
static inline uint64_t ml_bucket_first(uint32_t bucket)
{
	return ml_docid_make((uint64_t)bucket * ML_BUCKET_SECONDS, 0);
}
static inline uint64_t ml_bucket_last(uint32_t bucket)
{
	return bucket == 0xffff ? UINT64_MAX : ml_bucket_first(bucket + 1) - 1;
}

/* ---- writing ---- */

typedef struct ml_post_batch ml_post_batch_t;

int ml_post_batch_new(ml_post_batch_t **out);
void ml_post_batch_free(ml_post_batch_t *b);
void ml_post_batch_reset(ml_post_batch_t *b);
/* Queue the addition (del = 0) or removal (del = 1) of docid under term key
 * (tag byte + term, n bytes, 1 <= n <= 1 + ML_TERM_MAX: the term may be empty). */
int ml_post_batch_add(ml_post_batch_t *b, const char *key, size_t n, uint64_t docid, int del);
size_t ml_post_batch_count(const ml_post_batch_t *b);
/* Merge everything queued into the table, then reset the batch.  Adding a
 * docid present, or removing one absent, changes nothing; *delta (may be
 * NULL) gets the docids added less those removed. */
int ml_post_batch_write(ml_post_batch_t *b, MDB_txn *txn, MDB_dbi dbi, int64_t *delta);

/* Seal one day (every tag): its postings move from the open part to the
 * sealed part, term blocks packed up to ML_POST_BLOCK_MAX, in key order (a
 * day's blocks grew in place while it was the newest, and a page that
 * overflowed split in half).  The answers do not change.  A (tag, day)
 * sealed before keeps what came since in the open part.  For a day no
 * batch adds to any more, the days in order (ml_post_seal_due). */
int ml_post_seal(MDB_txn *txn, MDB_dbi dbi, uint32_t bucket);
/* The days to seal when the newest docid is `newest` and the days up to
 * `sealed` are: [*from, *to), empty when none.  A day is sealed once the
 * newest docid is ML_POST_SEAL_AFTER seconds past its end. */
#define ML_POST_SEAL_AFTER 3600u
void ml_post_seal_due(uint64_t oldest, uint64_t newest, int64_t sealed, uint32_t *from, uint32_t *to);

/* ---- reading ---- */

/* The docids of one term in one bucket, newest first. */
typedef struct ml_plist_t {
	MDB_cursor *cur;         /* NULL when the docids were all in the term block */
	ml_buf_t key;            /* list key prefix: tag | bucket | 0x01 | len | term */
	uint64_t *ids;           /* the block in hand, ascending */
	size_t nids, cap;
	uint64_t lo_first;       /* first docid of the block in hand */
	uint64_t val;            /* last answer */
	size_t pos;              /* its index in ids */
	int state;               /* 0 fresh, 1 positioned, 2 exhausted */
	int inline_only;
	uint64_t count;          /* docids of the term in this bucket */
	struct ml_plist_t *other;   /* the sealed part's, when the term is in both parts */
} ml_plist_t;

/* Open term key (tag + term) in bucket (both parts).  count is 0 (and every
 * seek answers 0) when the term has no docid there. */
int ml_plist_open(ml_plist_t *it, MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, uint32_t bucket);
/* The largest docid <= target, or 0 when none.  Targets must not grow. */
uint64_t ml_plist_seek(ml_plist_t *it, uint64_t target);
void ml_plist_close(ml_plist_t *it);
/* The largest docid <= *target that both a and b hold: as seeking each in
 * turn until they agree (targets must not grow, for both), but walking the
 * two blocks in hand side by side where both are dense.  Returns it, or 0:
 * none (*target = 0), or ML_MEET_STEPS rounds taken without one (*target
 * the next target: the caller looks at its budget, then goes on). */
#define ML_MEET_STEPS 1024u
uint64_t ml_plist_meet(ml_plist_t *a, ml_plist_t *b, uint64_t *target);

/* Call fn for every term of tag in bucket whose bytes begin with prefix
 * (term key: tag + prefix, n bytes), in order in each part (the sealed
 * part, then the open part: a term in both comes twice), with the term key; stops
 * (returning that value) when fn returns non-zero. */
int ml_post_terms(MDB_txn *txn, MDB_dbi dbi, const char *prefix, size_t n, uint32_t bucket,
                  int (*fn)(void *ctx, const char *key, size_t n), void *ctx);

/* A growable array of docids. */
typedef struct {
	uint64_t *v;
	size_t n, cap;
} ml_ids_t;

/* The docids of every term of tag in bucket whose bytes begin with prefix
 * (as ml_post_terms; both parts), into out: newest first, each once (out's
 * array is reused and grown; the caller frees out->v).  Reads each block
 * under the prefix once, in key order: for a prefix that stands for many
 * terms, where a union of one iterator a term would seek each for every
 * docid. */
int ml_post_prefix_ids(MDB_txn *txn, MDB_dbi dbi, const char *prefix, size_t n, uint32_t bucket, ml_ids_t *out);

/* Every (term key, bucket, docid) of the table in key order (the open part,
 * then the sealed part); fn returns non-zero to stop.  For dump --postings
 * and the tests. */
int ml_post_each(MDB_txn *txn, MDB_dbi dbi,
                 int (*fn)(void *ctx, const char *key, size_t n, uint32_t bucket, uint64_t docid), void *ctx);

/* Check one stored value (a term block when list = 0, else a list block),
 * as the reader decodes it: 0, or ML_ECORRUPT.  A term block is read both
 * ways (whole, as a writer does; term by term, as a search does), and
 * ML_EINVAL says they disagree: a bug.  For the fuzz target and tests. */
int ml_post_check_value(const void *p, size_t n, int list, uint64_t first);

/* Bytes of the table, by kind, for stats. */
typedef struct {
	uint64_t term_blocks, list_blocks, terms, postings, key_bytes, value_bytes;
} ml_post_stat_t;
int ml_post_stat(MDB_txn *txn, MDB_dbi dbi, ml_post_stat_t *st);

/* The docids under term key (tag + term, n bytes) of the messages first
 * seen from since_us to until_us, newest first, at most cap, into ids
 * (*count of them). */
int ml_post_find(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, int64_t since_us, int64_t until_us,
                 uint64_t *ids, size_t cap, size_t *count);

#endif
