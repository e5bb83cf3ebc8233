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

/* Ingest the given paths ("-" = stdin).  Returns 0 when every input was read
 * (bad lines are not errors), 1 when some input could not be read, 2 when
 * the database failed (message already printed). */
int ml_ingest_run(const ml_ingest_opts_t *o, char **paths, int npaths, ml_ingest_result_t *res);

#endif
