/*
 * upgrade.h — carrying a database of schema 5 (the layout before this one:
 * records in `rec`, two zstd frames each; one posting a duplicate in `post`)
 * over to this schema, in place.
 *
 * ml_upgrade_run, on a store opened with ML_STORE_UPGRADE:
 *   1. creates this schema's tables (a small transaction; the file still
 *      says schema 5, so every other command keeps refusing it);
 *   2. reads every old record from one read snapshot, oldest first, with the
 *      old dictionaries (index/legacy.h), and puts each message through a
 *      writer in rebuild mode (index/writer.h) under its own docid: rows,
 *      raw blocks, postings, the in-flight table and the counters made anew,
 *      a string table and a dictionary trained on them;
 *   3. in the same write transaction, before its commit: drops `rec` and
 *      `post`, deletes the old dictionaries, writes schema 6.
 * So a crash or a kill at any point leaves schema 5 whole (step 1's empty
 * tables are ignored by it) or schema 6 whole.  Checkpoints, line counters,
 * tallies and local domains are kept as they are: an ingest goes on where
 * the old one stopped.
 *
 * Ownership: nothing returned points into the map.
 */
#ifndef ML_UPGRADE_H
#define ML_UPGRADE_H

#include "index/reindex.h"
#include "index/store.h"

/* Upgrade s (opened with ML_STORE_UPGRADE); fn as for reindex.  On error
 * writes one line into err; the database is left as it was.  A full map is
 * grown and the run started again; a full disk (ML_ENOSPC) stops it at once.  ML_EINVAL when
 * the file is not of schema 5 (already upgraded: nothing to do). */
int ml_upgrade_run(ml_store_t *s, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *out,
                   char *err, size_t errlen);

#endif
