/*
 * writer.h — one write transaction that stores a batch of messages (row and
 * raw records, postings, the in-flight table) with the ingest bookkeeping
 * that must commit with them (checkpoints, counters, tallies), so that a
 * crash at any point loses or doubles nothing.
 *
 * Life of a batch:
 *   ml_writer_begin        opens the write transaction (lookups may use it)
 *   ml_writer_open_lookup  finds a message still in flight (the `open` table)
 *   ml_writer_put ...      queues messages (pointers: they must stay alive and
 *                          unchanged until commit or abort returns)
 *   ml_writer_checkpoint / _count / _tally / _local_domain   queue bookkeeping
 *   ml_writer_commit       trains the string table and the raw-record
 *                          dictionary if there are none yet and enough
 *                          messages are stored; gives new messages their
 *                          docids; encodes rows and raw records (two threads);
 *                          replaces the postings of messages stored before
 *                          (old terms from the stored row); writes records,
 *                          postings, `open`, the bookkeeping, the changes
 *                          to the table counts (index/counts.h: the rows of
 *                          each message put, less those of the stored
 *                          version it replaces; when the table is complete),
 *                          the summary of each message put to the table
 *                          rowsum (index/rowsum.h; likewise); and commits.
 *   ml_writer_abort        drops the transaction and restores the docids that
 *                          the failed commit assigned.
 * When commit returns ML_EFULL because the map filled, the caller calls
 * ml_writer_abort, ml_store_grow and runs the same batch again.
 *
 * The string table and the dictionary are trained once, from the first
 * ML_WRITER_TRAIN_MIN or more messages; rows and raw records written before
 * that spell every value and use no dictionary (readable ever after).
 */
#ifndef ML_WRITER_H
#define ML_WRITER_H

#include "engine/message.h"
#include "index/record.h"
#include "index/reports.h"
#include "index/store.h"

#define ML_WRITER_TRAIN_MIN 400

/* The checkpoint of one input, keyed by the hash of its first line. */
typedef struct {
	uint64_t hash;
	uint64_t offset;     /* end of the last line committed */
	uint64_t lines;      /* lines committed from this input */
	uint64_t dev, ino;
	int64_t mtime;
	int64_t updated;     /* unix seconds of the commit */
	char path[256];      /* as given on the command line, for stats */
} ml_ckpt_t;

typedef struct ml_writer ml_writer_t;

int ml_writer_new(ml_writer_t **out, ml_store_t *s);
void ml_writer_free(ml_writer_t *w);
int ml_writer_begin(ml_writer_t *w);
/* 1 between begin and commit/abort. */
int ml_writer_active(const ml_writer_t *w);
/* Load the in-flight message (host, qid) into m, whole.  ML_ENOTFOUND if none. */
int ml_writer_open_lookup(ml_writer_t *w, ml_slice_t host, ml_slice_t qid, ml_message_t *m);
/* The stored message docid (closed or in flight) into m: whole, or its row
 * only (lines = 0: fields and recipients, no lines).  ML_ENOTFOUND if none. */
int ml_writer_get(ml_writer_t *w, uint64_t docid, int lines, ml_message_t *m);
/* The docids of the stored messages under term key (tag + term, n bytes;
 * index/tokens.h) first seen from since_us to until_us, newest first, at
 * most cap, into ids (*count of them).  Messages put in this batch are not
 * there before the commit. */
int ml_writer_find(ml_writer_t *w, const char *key, size_t n, int64_t since_us, int64_t until_us,
                   uint64_t *ids, size_t cap, size_t *count);
/* A message with raw_base > 0 (engine/message.h) has its first raw_base
 * lines in its stored version (its docid): the commit reads them there and
 * stores them with its own; no stored version, or one whose lines do not
 * number raw_base (raw_base_bytes bytes), fails the commit (ML_ECORRUPT). */
int ml_writer_put(ml_writer_t *w, ml_message_t *m);
/* The same, stored in place (ML_PLACE_*) whatever its state: a rebuild that
 * keeps the raw records puts each row where its raw record is. */
int ml_writer_put_at(ml_writer_t *w, ml_message_t *m, int place);
int ml_writer_checkpoint(ml_writer_t *w, const ml_ckpt_t *c);
int ml_writer_count(ml_writer_t *w, const char *name, uint64_t delta);
/* kind "skip" or "bad"; sample kept only when the reason is new. */
int ml_writer_tally(ml_writer_t *w, const char *kind, const char *reason, uint64_t count,
                    const char *sample, size_t samplen);
int ml_writer_local_domain(ml_writer_t *w, const char *domain, size_t n);
/*
 * Decide again the direction of every stored message that has term key (tag
 * + term, index/tokens.h) on any day, but those put in this batch (call it
 * after the puts): decide(ctx, m) gets the message's row decoded (no raw
 * lines) and returns its direction.  A row whose direction changes is
 * rewritten in place (its direction is one byte) and its direction posting
 * moved, in this transaction.  *changed (may be NULL) gets how many.
 */
int ml_writer_redecide(ml_writer_t *w, const char *key, size_t n,
                       int (*decide)(void *ctx, ml_message_t *m), void *ctx, size_t *changed);
int ml_writer_commit(ml_writer_t *w);
void ml_writer_abort(ml_writer_t *w);

/* Call fn in each commit (not a rebuild's) as soon as every message put
 * has its docid, before anything is encoded or written; msgs in put order.
 * A commit that fails gives the new messages their docid 0 back; the same
 * batch put again on the same database gets the same docids. */
void ml_writer_on_docids(ml_writer_t *w, void (*fn)(void *ctx, ml_message_t *const *msgs, size_t n), void *ctx);

/* A report read from a log line (engine/learn.h): joined at the next
 * commit, in its transaction, to every stored message whose message-id is
 * msgid (or, when qid is given, whose queue ID is qid), r's docid set for
 * each (index/reports.h); when none is stored, a "skip" tally.  Kept across
 * an abort, until a commit succeeds. */
int ml_writer_report(ml_writer_t *w, ml_slice_t msgid, ml_slice_t qid, const ml_report_t *r);

/* Reads and writes of meta inside the open transaction (begin first). */
uint64_t ml_writer_meta_u64(ml_writer_t *w, const char *key);
int ml_writer_meta_put(ml_writer_t *w, const char *key, const void *v, size_t n);
int ml_writer_meta_each(ml_writer_t *w, const char *prefix,
                        int (*fn)(void *ctx, const char *key, size_t klen, const void *v, size_t vlen),
                        void *ctx);
/* A checkpoint, in the open transaction.  ML_ENOTFOUND when none. */
int ml_writer_ckpt_get(ml_writer_t *w, uint64_t hash, ml_ckpt_t *out);

/*
 * Rebuild (reindex): one write transaction that first empties rows,
 * postings, open, the tables counts and rowsum and the message and row counters (and
 * raw, unless ML_REBUILD_KEEP_RAW); the caller puts every message again, writing each
 * batch with ml_writer_flush (the transaction stays open), and ends with
 * ml_writer_commit: readers see the old database until that commit and the
 * new one after it; an abort (or a crash) leaves the old one.  The commit
 * marks the tables counts and rowsum complete (they were filled by the puts).  A message put
 * with its docid keeps it (its raw record, kept, stays its own); docid 0
 * gives a new one.
 *   ML_REBUILD_RETRAIN    a new string table (the next generation), trained
 *                         on the first flush of ML_WRITER_TRAIN_MIN messages
 *   ML_REBUILD_KEEP_RAW   the raw records stay as they are (not rewritten)
 *   ML_REBUILD_RAW_DICT   a new raw-record dictionary too; the older ones are
 *                         deleted at the commit (needs the raw records rewritten)
 *   ML_REBUILD_DEFER_POSTINGS  a flush keeps the postings it queued (and the
 *                         sealing of days) for a later flush, until about
 *                         ML_WRITER_DEFER_MAX of them wait, or the commit: a
 *                         day's blocks are then merged a few times instead
 *                         of once a flush.  Only for a rebuild that looks
 *                         nothing up in the postings while it runs (reindex;
 *                         a reparse finds chain hops there).
 */
enum { ML_REBUILD_RETRAIN = 1, ML_REBUILD_KEEP_RAW = 2, ML_REBUILD_RAW_DICT = 4, ML_REBUILD_DEFER_POSTINGS = 8 };
#define ML_WRITER_DEFER_MAX (1u << 20)
/* The number of postings past which a flush writes them (0: the default,
 * ML_WRITER_DEFER_MAX; tests set a small one). */
void ml_writer_defer_max(ml_writer_t *w, size_t n);
int ml_writer_rebuild_begin(ml_writer_t *w, int flags);
/* Write the messages put so far into the open transaction. */
int ml_writer_flush(ml_writer_t *w);
/* Run fn in the open transaction just before ml_writer_commit commits it
 * (once; an upgrade drops the old tables there). */
void ml_writer_before_commit(ml_writer_t *w, int (*fn)(void *ctx, MDB_txn *txn), void *ctx);

/* Read a checkpoint (any transaction). ML_ENOTFOUND when none. */
int ml_ckpt_get(ml_store_t *s, MDB_txn *txn, uint64_t hash, ml_ckpt_t *out);
/* Parse a checkpoint's meta key and value (ml_meta_each). */
int ml_ckpt_parse(const char *key, size_t klen, const void *v, size_t vlen, ml_ckpt_t *out);

#endif
