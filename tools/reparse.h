/*
 * reparse.h — `reindex --reparse` through the ingest pipeline.
 *
 * The raw lines of every stored message, in the order
 * they were first read (each line's number in the stream, kept in the
 * record), go through today's parsers and correlator into a rebuild of the
 * database (index/reindex.h: one write transaction; readers see the old
 * database until it commits, a kill leaves it as it was).  Syslog lines are
 * read as `format` says (ML_FORMAT_*: give the --format the logs were
 * ingested with, else a line whose tag auto does not know is dropped as it
 * would be by such an ingest); a traditional timestamp gets its year from the
 * time the message had.  Line counters, tallies, checkpoints and local
 * domains stay as they were.  A record written before line numbers were kept
 * cannot be replayed: it is put again as it is (counted in `kept`); one
 * without lines (made by another message's line) is made again by the replay.
 * Lines never stored with a message (noise, other programs, lines the
 * parsers of the time did not tie to a queue ID) are not there to reparse.
 *
 * How: pass 1 reads every row's first line number; pass 2 opens the records
 * in that order and merges their lines through a heap keyed by each line's
 * number, so the parsers and the correlator see the lines in the order they
 * were first read.
 */
#ifndef ML_REPARSE_H
#define ML_REPARSE_H

#include "tools/ingest.h"

int ml_ingest_reparse(ml_store_t *s, int format, ml_reindex_fn fn, void *ctx,
                      ml_reindex_progress_t *out, char *err, size_t errlen);

#endif
