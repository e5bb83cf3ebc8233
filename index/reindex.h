/*
 * reindex.h — rebuilding the index of a database from its own records.
 *
 * ml_reindex_run reads every row record of one read snapshot, oldest first,
 * and puts it again through a writer in rebuild mode (index/writer.h): one
 * write transaction that empties rows, postings, open and the message and
 * row counters, writes every row anew (its postings made by today's
 * tokens.c, the row encoded with a string table trained on the first batch,
 * the next generation) under its own docid.  The raw records are not read
 * or rewritten: they stay as they are, each still its docid's.  The rows
 * are written a batch (ML_REINDEX_BATCH) at a time, their postings when
 * some ML_WRITER_DEFER_MAX wait (ML_REBUILD_DEFER_POSTINGS): a day's
 * posting blocks are merged a few times, not once a batch.
 *
 * Atomic: readers (search, serve) keep reading the old snapshot until the
 * commit and the new one after it; a reindex killed at any point leaves the
 * database as it was.  Writers wait: an ingest blocks at its next batch
 * until the reindex commits (LMDB has one writer), then goes on.
 *
 * Space: the old pages cannot be reused inside the transaction, so the file
 * grows to hold both copies of the rows and postings (pages freed earlier are reused: ml_reindex_mark); after the commit the old copy's pages are free
 * (reused by later writes; `mtalog compact` gives them back).  The map is
 * grown before the start to twice what is used; should it fill anyway, the
 * reindex starts again on a map twice as large.
 *
 * Ownership: nothing returned points into the map.
 */
#ifndef ML_REINDEX_H
#define ML_REINDEX_H

#include <stdint.h>

#include "index/store.h"

#define ML_REINDEX_BATCH 20000u

typedef struct {
	uint64_t total;            /* records in the snapshot */
	uint64_t done;             /* records put again */
	uint64_t bytes_before;     /* sum of the row record sizes before */
	uint64_t bytes_after;      /* ... and after */
	uint32_t dict_before, dict_after;  /* raw-record dictionary ids */
	uint32_t table_before, table_after;  /* string table generations */
	unsigned restarts;         /* runs started again on a larger map */
	uint64_t kept;             /* reparse: records put again as they were (no line numbers) */
} ml_reindex_progress_t;

/* Called after each batch; a non-zero return stops the reindex (aborted). */
typedef int (*ml_reindex_fn)(void *ctx, const ml_reindex_progress_t *p);

/* Rebuild the index of s (opened writable).  On error writes one line into
 * err (ml_reindex_error); the database is left as it was.  A full map is
 * grown and the run started again (restarts); a full disk (ML_ENOSPC)
 * stops it at once, since a run again would fail as late. */
int ml_reindex_run(ml_store_t *s, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *out,
                   char *err, size_t errlen);

/* The line of a failed rebuild (what: "reindex", "reparse", "upgrade") into
 * err: the database, the error, that the database is as it was, and for a
 * full disk what to do. */
void ml_reindex_error(const ml_store_t *s, const char *what, int rc, char *err, size_t errlen);

/*
 * Commit a small write (meta "reindex:last", the time) so that the rebuild's
 * read snapshot is newer than every page freed so far: pages the last
 * rebuild freed are then reused by this one instead of growing the file.
 */
int ml_reindex_mark(ml_store_t *s);

/* The steps every rebuild takes (reindex here, reindex --reparse in
 * tools/ingest.c): before, ml_reindex_mark, the dictionary id, the table
 * generation and room for a second copy (p zeroed first); after, the rows'
 * bytes, the new dictionary id and table generation. */
int ml_reindex_prepare(ml_store_t *s, ml_reindex_progress_t *p);
int ml_reindex_finish(ml_store_t *s, ml_reindex_progress_t *p);


#endif
