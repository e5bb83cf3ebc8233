/*
 * writer.h — one write transaction that stores a batch of messages with their
 * postings, plus the ingest bookkeeping that must commit with them
 * (checkpoints, counters, tallies), so that a crash at any point loses or
 * doubles nothing.
 *
 * Life of a batch:
 *   ml_writer_begin        opens the write transaction (lookups may use it)
 *   ml_writer_open_lookup  finds a message still in flight (the `open` table)
 *   ml_writer_put ...      queues messages (pointers: they must stay alive and
 *                          unchanged until commit or abort returns)
 *   ml_writer_checkpoint / _count / _tally / _local_domain   queue bookkeeping
 *   ml_writer_commit       trains the dictionary if none exists yet and the
 *                          batch is large enough, then encodes and writes
 *                          every record, replaces the postings of messages
 *                          stored before (old terms from the old record),
 *                          writes new postings sorted by key, updates `open`,
 *                          writes the bookkeeping, and commits.
 *   ml_writer_abort        drops the transaction and restores the docids that
 *                          the failed commit assigned.
 * When commit returns ML_EFULL because the map filled, the caller calls
 * ml_writer_abort, ml_store_grow and runs the same batch again.
 */
#ifndef ML_WRITER_H
#define ML_WRITER_H

#include "engine/message.h"
#include "index/record.h"
#include "index/store.h"

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
/* The transaction, for reads between begin and commit. */
MDB_txn *ml_writer_txn(ml_writer_t *w);
/* Load the in-flight message (host, qid) into m.  ML_ENOTFOUND if none. */
int ml_writer_open_lookup(ml_writer_t *w, ml_slice_t host, ml_slice_t qid, ml_message_t *m);
int ml_writer_put(ml_writer_t *w, ml_message_t *m);
int ml_writer_checkpoint(ml_writer_t *w, const ml_ckpt_t *c);
int ml_writer_count(ml_writer_t *w, const char *name, uint64_t delta);
/* kind "skip" or "bad"; sample kept only when the reason is new. */
int ml_writer_tally(ml_writer_t *w, const char *kind, const char *reason, uint64_t count,
                    const char *sample, size_t samplen);
int ml_writer_local_domain(ml_writer_t *w, const char *domain, size_t n);
int ml_writer_commit(ml_writer_t *w);
void ml_writer_abort(ml_writer_t *w);

/*
 * Rebuild (reindex): one write transaction that first empties rec, post,
 * open and the message and row counters; the caller puts every message
 * again (docid 0: numbered anew, in the order put), writing each batch with
 * ml_writer_flush (the transaction stays open), and ends with
 * ml_writer_commit: readers see the old database until that commit and the
 * new one after it; an abort (or a crash) leaves the old one.  retrain: the
 * first flush of at least DICT_MIN_SAMPLES messages trains a new dictionary
 * under the next id, and the commit deletes the older dictionaries.
 */
int ml_writer_rebuild_begin(ml_writer_t *w, int retrain);
/* Write the messages put so far into the open transaction. */
int ml_writer_flush(ml_writer_t *w);

/* Read a checkpoint (any transaction). ML_ENOTFOUND when none. */
int ml_ckpt_get(ml_store_t *s, MDB_txn *txn, uint64_t hash, ml_ckpt_t *out);
/* The codec, with the store's dictionaries loaded. */
ml_codec_t *ml_writer_codec(ml_writer_t *w);

#endif
