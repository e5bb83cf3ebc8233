/*
 * ingest.h — the ingest pipeline: inputs → lines → syslog header → parser →
 * correlator → writer, in batches that commit the messages, their postings
 * and each input's checkpoint in one transaction.
 *
 * Exactly once: an input is known by the hash of its first line; its
 * checkpoint is the offset after the last line committed.  A run resumes
 * every input at its checkpoint, so re-ingesting adds nothing and a killed
 * run loses or doubles nothing.  A last line without '\n' in a plain file is
 * left for the next run when the file was written to in the last seconds (a
 * log being written will complete it), and taken as complete otherwise.
 *
 * Lines are classified as parsed (an event about a message), skipped (known
 * kinds of lines that carry nothing we keep, and other programs' lines) or
 * not understood; the last two are tallied by reason with one sample
 * (file:line (byte offset): text) and stored with the batch.
 */
#ifndef ML_INGEST_H
#define ML_INGEST_H

#include <stdint.h>
#include <stdio.h>

#include "index/reindex.h"
#include "index/store.h"

typedef struct {
	const char *db_path;
	int year;                  /* --year; 0 = infer */
	const char *local_domains; /* comma-separated, or NULL */
	uint64_t batch_lines;      /* commit after this many lines (default 500000) */
	unsigned batch_ms;         /* ... or this many milliseconds (default 2000) */
	int nosync;                /* tests: no fsync per commit */
	int quiet;
	int format;                /* ML_FORMAT_*: which parser reads a syslog line */
	FILE *report;              /* where the end-of-run report goes (stderr) */
	int follow;                /* --follow: tail the files until SIGINT/SIGTERM */
	unsigned poll_ms;          /* --follow: how often a quiet file is looked at (100) */
} ml_ingest_opts_t;

/* --format: auto decides per line by program tag (postfix/..., exim,
 * sendmail, amavis, ...) or shape (Exim's and rspamd's own log files); a
 * named one reads every syslog line with that MTA's parser whatever its tag
 * (for an unusual syslog_name). */
enum { ML_FORMAT_AUTO = 0, ML_FORMAT_POSTFIX, ML_FORMAT_EXIM, ML_FORMAT_SENDMAIL };
/* The format named s; -1 when unknown. */
int ml_ingest_format(const char *s);

typedef struct {
	uint64_t lines, bytes, parsed, skipped, bad, messages_written, commits;
	unsigned inputs_failed;
	double seconds;
} ml_ingest_result_t;

/*
 * --follow: every path is read to its end, then watched (inotify on its
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
 *     them by name).
 * A last line without '\n' waits for its end (taken as complete once the
 * file has been quiet ML_PARTIAL_WAIT_S seconds).  SIGINT or SIGTERM stops
 * the loop; what was read is committed (also without --follow).
 */

/* Ingest the given paths ("-" = stdin).  Returns 0 when every input was read
 * (bad lines are not errors), 1 when some input could not be read, 2 when
 * the database failed (message already printed). */
int ml_ingest_run(const ml_ingest_opts_t *o, char **paths, int npaths, ml_ingest_result_t *res);

/*
 * reindex --reparse: the raw lines of every stored message, in the order
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
 */
int ml_ingest_reparse(ml_store_t *s, int format, ml_reindex_fn fn, void *ctx,
                      ml_reindex_progress_t *out, char *err, size_t errlen);

#endif
