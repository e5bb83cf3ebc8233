/*
 * prune.h — dropping old messages from a database, and giving the space back.
 *
 * Prune deletes every message whose docid is below a cutoff docid
 * (ml_docid_make(cutoff seconds, 0): docids are time-ordered, so "first seen before the
 * cutoff" is "docid below it") and that is closed.  A message still in flight
 * (its flags lack ML_MSG_CLOSED; every message in the `open` table is one) is
 * kept whatever its age: a line arriving later must still find it.
 *
 * For each message deleted, in the same write transaction:
 *   - every posting of its term keys (ml_tokens_message of its stored row)
 *     in its day bucket (index/postings.h);
 *   - its records in `rows` and `raw`;
 *   - the counters: "count:messages" -1 (unless ML_MSG_CONTINUED: a chain
 *     counts once, as ingest counts it) and "rows:<status>" -1 for each row
 *     that ingest counted (every row not ML_RCPT_HANDED_ON; the one implicit
 *     row of a message without recipients);
 *   - the same rows from the table counts, when it is complete (index/counts.h);
 *   - its summary from the table rowsum, likewise (index/rowsum.h).
 * The walk goes through `rows` oldest first, ML_PRUNE_BATCH records examined
 * per write transaction.  Each transaction leaves a consistent database, so
 * a prune killed at any point can be run again and ends where an
 * uninterrupted one would.  Readers (search, serve) go on beside it; an
 * ingest alternates its transactions with prune's (LMDB has one writer).
 *
 * Deleting frees pages inside the file (LMDB reuses them for new data) but
 * does not shrink it.  ml_prune_compact rewrites the file without its free
 * pages: LMDB's compacting copy (mdb_env_copy2, MDB_CP_COMPACT) of one read
 * snapshot to PATH.compact-tmp, fsync, then rename over PATH (atomic: a kill
 * at any point leaves either the old file or the new one, whole).  A
 * leftover PATH.compact-tmp from a killed run is ignored by everything else
 * and removed by the next compact.
 *
 * Compact needs the database to itself: renaming a new file under a process
 * that has the old one open would leave that process writing to a file
 * nobody reads.  So it takes the exclusive lock LMDB itself takes when it is
 * the first to open PATH-lock (an fcntl write lock on its first byte):
 *   - when another process has the database open (ingest, serve, a search),
 *     compact refuses and changes nothing;
 *   - a process that opens the database while compact runs waits for it, then
 *     opens the compacted file (LMDB takes that lock before it opens the data
 *     file for writing); compact re-initializes PATH-lock for the new file
 *     (the copy starts its transaction ids again) before it lets them in.
 *   (A read-only open opens the data file first: a search started in the
 *   instant of compaction answers from the file as it was.)
 *
 * Ownership: nothing returned here points into the map.
 */
#ifndef ML_PRUNE_H
#define ML_PRUNE_H

#include <stdint.h>

#include "index/store.h"

#define ML_PRUNE_BATCH 10000u

typedef struct {
	uint64_t examined;          /* records looked at (below the cutoff) */
	uint64_t deleted;           /* messages deleted */
	uint64_t kept_in_flight;    /* below the cutoff but still in flight: kept */
	uint64_t postings;          /* postings deleted */
	uint64_t transactions;      /* write transactions committed */
	uint64_t first_docid;       /* the oldest docid when the walk began (0: none) */
	uint64_t next_docid;        /* the walk goes on from here */
} ml_prune_progress_t;

/* Called after each committed transaction; non-zero stops the walk (the
 * transactions committed stay). */
typedef int (*ml_prune_fn)(void *ctx, const ml_prune_progress_t *p);

typedef struct {
	uint64_t before_docid;      /* delete closed messages with a docid below this */
	unsigned batch;             /* records examined per transaction; 0: ML_PRUNE_BATCH */
	ml_prune_fn progress;       /* may be NULL */
	void *ctx;
} ml_prune_opts_t;

/* Prune s (opened for writing).  *out (may be NULL) gets the totals, also
 * when an error stops the walk.  Grows the map when it fills (ML_EFULL) and
 * splits a batch whose transaction grows too large.  ML_ECORRUPT when a
 * stored record cannot be decoded: what was committed before stays. */
int ml_prune_run(ml_store_t *s, const ml_prune_opts_t *o, ml_prune_progress_t *out);

/* The size of the database file and how much of it is free pages (pages
 * LMDB will reuse; what compact would give back), in bytes. */
int ml_prune_space(ml_store_t *s, uint64_t *file_bytes, uint64_t *free_bytes);

/* Rewrite the database at path without its free pages (see above).  The
 * file sizes before and after go to *before and *after.  On error, one line
 * naming the file in err; the database is as it was.  What ml_store_open
 * refuses is refused, untouched (ml_store_check_file, ml_store_check_env). */
int ml_prune_compact(const char *path, uint64_t *before, uint64_t *after, char *err, size_t errlen);

#endif
