/*
 * rowsum.h — each message's rows counted by status, kept by the writer in
 * the table `rowsum`, so that a timeline or a total of a query whose only
 * row-level condition is the status set (every other filter about the
 * message: sender, subject words, direction, host, ...) is counted from the
 * docids its postings give and these summaries, without decoding one record
 * (tools/histogram.h).
 *
 * Key: a docid (8 bytes, big-endian): the block's lower bound.  A block
 * holds the summaries of the messages whose docids are at least its key and
 * below the next key (none: no bound), in docid order:
 *
 *   per message   size  meaning
 *                 v     docid - the previous message's (the first: - the
 *                       key), a varint
 *                 1+v   its rows as a status set (index/counts.h,
 *                       ml_counts_set_put), the extra bit set when the
 *                       message was released from quarantine (ML_MSG_RELEASED)
 *
 * A message of one row is 3 to 5 bytes; a block is cut at ML_ROWSUM_BLOCK
 * bytes, so the table is a few bytes a message where a key a message would
 * cost some 20 (the key and node of a block are 18 bytes: 0.3 a message).
 * A block is small so that a query of few messages, scattered, decodes
 * little more than theirs: a lookup decodes its whole block once; the
 * lookups that follow, of lower docids, walk down from there.  New blocks at
 * the end of the table are appended (MDB_APPEND), so that the pages an
 * ingest fills stay full.  Blocks are
 * read newest first by a cursor that decodes one block at a time.  A
 * message without rows (all of its recipients handed on) has no summary.
 *
 * What a summary counts: the rows of index/counts.h ("What is counted"),
 * those a search hands over, each under ml_message_row_status.
 *
 * Writing: the puts and deletions of a transaction are gathered (the last
 * word on a docid wins), sorted, and applied a block at a time: the block
 * that holds a docid is the one with the greatest key at or below it (a
 * docid below every key starts a block of its own); a block whose value
 * grows past ML_ROWSUM_BLOCK is cut in pieces, the first under its key, the
 * others under their first docid; a block left empty is deleted.  Appends in
 * docid order (an ingest) fill the last block and start the next.
 *
 * Invariant: while meta ML_META_ROWSUM_READY is set, the table holds the
 * summary of every message in `rows` and `rows.open` that has rows, and no
 * other.  Kept as index/counts.h's table is: the writer in the transaction
 * of the rows (a put replaces the summary), prune deletes, rebuilds empty it
 * and set the flag at their commit, a new database starts complete, compact
 * copies it.  A database made before it (or whose table a writer found not
 * to decode) has no flag: writers leave it alone, readers do without.
 *
 * Ownership: the delta owns its memory; a cursor's summaries are copies
 * (valid until the next call on the cursor).
 */
#ifndef ML_ROWSUM_H
#define ML_ROWSUM_H

#include <stdint.h>

#include "engine/message.h"
#include "index/store.h"

#define ML_ROWSUM_BLOCK 256u     /* bytes of a block's value before it is cut (and the last
                                    message, at most 81 bytes): some 60 messages, a dozen
                                    blocks to a 4 KiB page */

typedef struct {
	uint64_t docid;
	int released;                /* ML_MSG_RELEASED */
	uint64_t n[ML_ST__COUNT];    /* rows by status (index 0 unused) */
} ml_rowsum_t;

/* m's summary (docid set); 0 when m has no rows. */
int ml_rowsum_of(ml_rowsum_t *r, const ml_message_t *m);
/* The rows of r that a search with status_mask (index/query.h: statuses,
 * ML_QUERY_RELEASED; 0: any) hands over, by status, into n. */
void ml_rowsum_match(const ml_rowsum_t *r, uint32_t status_mask, uint64_t n[ML_ST__COUNT]);

/* The changes of a transaction. */
typedef struct ml_rowsum_delta ml_rowsum_delta_t;
int ml_rowsum_delta_new(ml_rowsum_delta_t **out);
void ml_rowsum_delta_free(ml_rowsum_delta_t *d);
void ml_rowsum_delta_reset(ml_rowsum_delta_t *d);
/* m stored (docid set): its summary replaces any; removed: deleted. */
int ml_rowsum_delta_put(ml_rowsum_delta_t *d, const ml_message_t *m);
int ml_rowsum_delta_del(ml_rowsum_delta_t *d, uint64_t docid);
/* Apply d in txn (then d is empty).  A block that does not decode means the
 * table is not exact: the flag is deleted and *dropped set. */
int ml_rowsum_delta_write(ml_rowsum_delta_t *d, MDB_txn *txn, ml_store_t *s, int *dropped);

int ml_rowsum_ready(MDB_txn *txn, ml_store_t *s);
int ml_rowsum_set_ready(MDB_txn *txn, ml_store_t *s, int ready);
/* Empty the table and clear the flag (a rebuild's start). */
int ml_rowsum_clear(MDB_txn *txn, ml_store_t *s);

/* A reader in txn, for docids asked newest first (any order works; that
 * one decodes each block once). */
typedef struct ml_rowsum_cur ml_rowsum_cur_t;
/* ML_ENOTFOUND when the table is not complete in txn. */
int ml_rowsum_cur_open(ml_rowsum_cur_t **out, MDB_txn *txn, ml_store_t *s);
void ml_rowsum_cur_close(ml_rowsum_cur_t *c);
/* The summary of docid (*r points into the cursor: valid until its next
 * call); ML_ENOTFOUND when it has none (no such message, or no rows). */
int ml_rowsum_cur_get(ml_rowsum_cur_t *c, uint64_t docid, const ml_rowsum_t **r);

/* Every summary stored in txn, oldest first (the flag not looked at). */
int ml_rowsum_each(MDB_txn *txn, ml_store_t *s, int (*fn)(void *ctx, const ml_rowsum_t *r), void *ctx);

#endif
