/*
 * counts.h — rows counted by hour and status, kept by the writer in the
 * table `counts`, so that a timeline or a total of a plain query (all rows,
 * or the rows to one recipient domain, any statuses, a time range) is read
 * from a few keys instead of by decoding every record it counts
 * (tools/histogram.h).
 *
 * Key (bytes, in LMDB's order):
 *
 *   offset  size  meaning
 *   0       4     hour: the docid's second / 3600 (big-endian; the docids
 *                 the writer gives stay below hour 2^32, the year 490,000)
 *   4       n     the term: none for "all rows"; else the recipient-domain
 *                 term key of index/tokens.h: 'T' and the domain lowercased
 *                 (ASCII), at most ML_COUNTS_DOMAIN_MAX bytes of domain;
 *                 or the same of the rows of released messages alone:
 *                 ML_COUNTS_TAG_RELEASED alone, or it and the domain; or
 *                 the rows of messages of one direction: ML_TAG_DIRECTION
 *                 and the direction's number (ml_direction_t, 1 to 3); or
 *                 the rows whose recipient address starts with a prefix of
 *                 one or two bytes: ML_COUNTS_TAG_PREFIX and the bytes,
 *                 ASCII lowercased
 *
 * Hour first: the keys a batch changes are those of the hours its messages
 * came in, a few adjacent runs of the table (the pages a commit copies are
 * few); a read seeks once an hour that has rows.  Value: one byte, bit
 * st - 1 set for each status st (1 .. ML_ST__COUNT - 1, engine/message.h)
 * that has rows, then the rows of each of those statuses in that order, a
 * varint each (not 0).  A key whose counts are all 0 is not stored.
 *
 * What is counted: the rows a search hands over (index/query.h), the same
 * that the counters "rows:<status>" count: each recipient of a message but
 * those handed on to a content filter (ML_RCPT_HANDED_ON), or the one
 * implicit row of a message without recipients; each under its status
 * (ml_message_row_status), in the hour of its message's docid (the time the
 * search orders and filters rows by).  Every row counts under "all rows";
 * a recipient's row also under each DISTINCT domain of its to= and orig_to=
 * (a row whose two addresses share a domain counts once there), since a
 * search `--to @domain` matches a row by either.  An implicit row has no
 * domain.  The rows of a message released from quarantine (ML_MSG_RELEASED)
 * count again under the 'R' keys: a search of the status group "released"
 * matches every row of such a message, whatever its status.  Domains longer than ML_COUNTS_DOMAIN_MAX are not counted under a
 * term (a query for one is not answered from the table).  The keys added
 * later ("more"): every row of a message of a known direction counts again
 * under its direction's key, and a recipient's row under the first byte and
 * the first two bytes of its to= and orig_to= (each distinct key once:
 * `--to 'j*'` matches a row by either address); not those of released rows.
 * Only in a table that has the flag ML_META_COUNTS_MORE besides the other,
 * which a new database and a rebuild set (a table made before is kept
 * without them, and a query by direction or prefix is answered otherwise,
 * until a reindex).
 *
 * Invariant: while meta ML_META_COUNTS_READY is set, every key holds
 * exactly what the rows stored in `rows` and `rows.open` give.  Who keeps it:
 *   - the writer (index/writer.h), in the transaction of the rows: a put
 *     adds its message's counts and subtracts those of the version it
 *     replaces (decoded from the stored row);
 *   - prune (index/prune.h) subtracts what it deletes, in its transactions;
 *   - a rebuild (reindex, reindex --reparse, upgrade) empties the table,
 *     puts every message again, and sets the flag at its commit;
 *   - a new database starts empty and complete (the flag set when it is
 *     made); compact copies the table with the rest.
 * A database made before the table (or whose table a writer found
 * inconsistent: a count below 0, a value that does not decode) has no flag:
 * writers leave the table alone, readers answer by the walk, and the next
 * `reindex` builds it.
 *
 * Ownership: ml_counts_delta_t owns its memory; nothing returned points
 * into the map.
 */
#ifndef ML_COUNTS_H
#define ML_COUNTS_H

#include <stdint.h>

#include "engine/message.h"
#include "index/store.h"

#define ML_COUNTS_DOMAIN_MAX 255u   /* bytes of a domain counted under its term */
#define ML_COUNTS_TAG_RELEASED 'R'  /* the terms of the rows of released messages */
#define ML_COUNTS_TAG_PREFIX 'P'    /* the terms of recipient prefixes */
#define ML_COUNTS_PREFIX_MAX 2u     /* bytes of a prefix counted at most */

/* The rows of m by status, each +sign, into delta (the counters
 * "rows:<status>" of the writer and of prune). */
void ml_counts_rows(int64_t delta[ML_ST__COUNT], const ml_message_t *m, int sign);

/* A set of statuses and their rows, the form of a value here and of a
 * message in the table rowsum (index/rowsum.h): one byte, bit st - 1 set
 * for each status st with rows (n[st] > 0; at least one), the bits above
 * the statuses' `extra` (0 or 1, the caller's), then n[st] of each such st
 * in that order, a varint each.  _put appends to out; _get reads one at *p
 * (moved past it), ML_ECORRUPT when it does not decode or has an extra bit
 * and extra is NULL. */
int ml_counts_set_put(ml_buf_t *out, const uint64_t n[ML_ST__COUNT], unsigned extra);
int ml_counts_set_get(const unsigned char **p, const unsigned char *end, uint64_t n[ML_ST__COUNT],
                      unsigned *extra);

/* Changes to the table gathered in memory (a hash of key → delta by
 * status), written at once. */
typedef struct ml_counts_delta ml_counts_delta_t;
int ml_counts_delta_new(ml_counts_delta_t **out);
void ml_counts_delta_free(ml_counts_delta_t *d);
void ml_counts_delta_reset(ml_counts_delta_t *d);
/* Count the keys added later too (the table has them: ml_counts_more). */
void ml_counts_delta_more(ml_counts_delta_t *d, int on);
/* Add m's rows (docid set), each +sign (index/counts.h, "What is counted"). */
int ml_counts_message(ml_counts_delta_t *d, const ml_message_t *m, int sign);
/* Add the deltas of from into d. */
int ml_counts_delta_merge(ml_counts_delta_t *d, const ml_counts_delta_t *from);
/* Apply d to the table in txn (then d is empty).  A stored count that would
 * go below 0, or a value that does not decode, means the table was not
 * exact: the flag is deleted (the table is no longer read) and *dropped
 * set; the write goes on. */
int ml_counts_delta_write(ml_counts_delta_t *d, MDB_txn *txn, ml_store_t *s, int *dropped);

/* Is the table complete in txn?  (0 also when the file has no table.) */
int ml_counts_ready(MDB_txn *txn, ml_store_t *s);
/* ... and does it have the keys added later (directions, prefixes)? */
int ml_counts_more(MDB_txn *txn, ml_store_t *s);
/* Set or clear the flags in txn (set: the table was filled with every key,
 * those added later too). */
int ml_counts_set_ready(MDB_txn *txn, ml_store_t *s, int ready);
/* Empty the table in txn and clear the flags (a rebuild's start). */
int ml_counts_clear(MDB_txn *txn, ml_store_t *s);

/* One hour's counts, by status (index 0 unused). */
typedef int (*ml_counts_fn)(void *ctx, uint64_t hour, const uint64_t n[ML_ST__COUNT]);
/* What a read counts: the term of its keys. */
typedef struct {
	char t[1 + ML_COUNTS_DOMAIN_MAX];
	size_t n;
	int more;               /* a key added later (needs ml_counts_more) */
} ml_counts_term_t;
/* All rows (of released messages only: released). */
void ml_counts_term_all(ml_counts_term_t *t, int released);
/* The rows to domain (n bytes, any case; of released messages only:
 * released); ML_ENOTFOUND when it is not counted (empty, longer than
 * ML_COUNTS_DOMAIN_MAX). */
int ml_counts_term_domain(ml_counts_term_t *t, const char *domain, size_t n, int released);
/* The rows of messages of direction dir (ml_direction_t, 1 to 3); ML_ENOTFOUND else. */
int ml_counts_term_direction(ml_counts_term_t *t, int dir);
/* The rows whose to= or orig_to= starts with p (n bytes, 1 to
 * ML_COUNTS_PREFIX_MAX, ASCII in any case); ML_ENOTFOUND else. */
int ml_counts_term_prefix(ml_counts_term_t *t, const char *p, size_t n);

/* Call fn for each stored hour from hour_lo to hour_hi (inclusive), oldest
 * first, of the rows of term t, in one read snapshot of its own.
 * ML_ENOTFOUND when the table is not complete (no flag), or has not the keys
 * added later and t is one: the caller counts otherwise.  fn returns
 * non-zero to stop (that value is returned). */
int ml_counts_read(ml_store_t *s, const ml_counts_term_t *t, uint64_t hour_lo, uint64_t hour_hi,
                   ml_counts_fn fn, void *ctx);

#endif
