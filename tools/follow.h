/*
 * follow.h — `ingest --follow`: tail files through the ingest pipeline.
 *
 * Every path is read to its end, then watched (inotify on its
 * folder, and every poll_ms): lines appended are read as they come and
 * committed as soon as the files are quiet, or every batch_ms under a
 * steady stream; no write transaction is held while waiting.  Rotation:
 *   - rename and create: the old file stays open (by descriptor) and is read
 *     until it has been quiet for ML_PARTIAL_WAIT_S seconds (a daemon still
 *     writing to it until it reopens its log); the new file under the name is
 *     read from its start;
 *   - copytruncate: the file under the name shrinks below what was read: it
 *     is read again from its start (a new input: its first line differs);
 *   - the rotated copies next to it (NAME.1, NAME-20240102, NAME.1.gz, ...):
 *     a copy whose first line is that of an input already checkpointed and
 *     that holds more than the checkpoint (the lines written between the last
 *     read and a copytruncate, or a file compressed before it was drained) is
 *     read on from the checkpoint.  Copies never read are left alone (ingest
 *     them by name).  A compressed copy written to in the last
 *     ML_PARTIAL_WAIT_S seconds may still be being written (gzip): one that
 *     ends early is read to its last whole line, and on when it changes.
 * A last line without '\n' waits for its end (taken as complete once the
 * file has been quiet ML_PARTIAL_WAIT_S seconds).  SIGINT or SIGTERM stops
 * the loop; what was read is committed (also without --follow).
 *
 * State: one fol_t a file being read (the one a name names now, or one
 * rotated away and read by descriptor until quiet), and the rotated copies
 * already looked at (seen_t: not again until they change).  Before each
 * commit every file read since the last one sets its checkpoint.
 */
#ifndef ML_FOLLOW_H
#define ML_FOLLOW_H

#include "tools/ingest.h"

/* Follow the paths until ml_ing_stop; commits the last batch.  ML_OK or an error. */
int ml_follow(ing_t *g, char **paths, int npaths);

#endif
