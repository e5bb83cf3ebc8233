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
 *
 * Threads: a batch run (not --follow, not a reparse) writes batch N on a
 * writer thread while this thread reads, parses and folds batch N+1 (see
 * "the writer thread" in ingest.c); at most two batches are in memory.
 * --follow and reindex --reparse write each batch in turn.
 */
#ifndef ML_INGEST_H
#define ML_INGEST_H

#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "engine/correlate.h"
#include "engine/dispatch.h"
#include "engine/exim.h"
#include "engine/reader.h"
#include "engine/syslog.h"
#include "index/reindex.h"
#include "index/store.h"
#include "index/writer.h"

struct ing;

typedef struct {
	const char *db_path;
	int year;                  /* --year; 0 = infer */
	const char *local_domains; /* comma-separated, or NULL */
	uint64_t batch_lines;      /* commit after this many lines (default 500000) */
	unsigned batch_ms;         /* ... or this many milliseconds (default 2000) */
	int nosync;                /* tests: no fsync per commit */
	int quiet;
	int format;                /* ML_FORMAT_*: which parser reads a syslog line */
	const char *host;          /* --host: the host of lines that name none, or NULL */
	FILE *report;              /* where the end-of-run report goes (stderr) */
	int follow;                /* --follow: tail the files until SIGINT/SIGTERM */
	unsigned poll_ms;          /* --follow: how often a quiet file is looked at (100) */
	/* The cluster's hooks (tools/ship.c, tools/shard.c); all NULL for a plain
	 * ingest.  sink: each line read goes there instead of the parser (input:
	 * the input it was read from).  source: feeds the pipeline
	 * instead of the paths (ml_ing_line, ml_ing_commit).  pre_commit: in the
	 * batch's transaction just before it commits, again when a full map
	 * makes the batch be written again (meta puts, or a wait for what must
	 * be true first; an error aborts the commit).  post_commit: after it
	 * committed. */
	int (*sink)(void *ctx, const ml_input_id_t *input, const char *path, const ml_line_t *l);
	int (*source)(struct ing *g, void *ctx);
	int (*pre_commit)(struct ing *g, void *ctx);
	void (*post_commit)(struct ing *g, void *ctx);
	void *hook_ctx;
} ml_ingest_opts_t;

/* --format: ML_FORMAT_* (engine/dispatch.h).  The format named s; -1 when unknown. */
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

/* ---- Inside the pipeline: what tools/follow.c and tools/reparse.c drive ----
 *
 * One ing_t is one run: the store, the writer's open batch, the correlator,
 * the tallies of skipped and not-understood lines since the last commit and
 * in the whole run, and the checkpoints the next commit stores.  A line goes
 * in through ml_ing_line (classified, parsed, folded into the correlator);
 * ml_ing_commit writes the correlator's dirty messages, the checkpoints,
 * counters and tallies in one transaction and starts a new batch.  Invariant:
 * what a commit stores is exactly the lines read since the previous one, and
 * the checkpoints name the end of the last of them.
 */
#define MAX_REASONS 256
#define SAMPLE_MAX 300
/* A last line without '\n' in a file written to less than this long ago is
 * left for the next run; in an older file it is taken as complete. */
#define ML_PARTIAL_WAIT_S 10
/* stdin: lines this old are committed when the pipe goes quiet */
#define ML_STDIN_QUIET_MS 500

typedef struct {
	char kind[8];          /* "skip" or "bad" */
	char reason[96];
	uint64_t count;        /* since the last commit */
	uint64_t total;        /* this run */
	char sample[SAMPLE_MAX + 200];
	int has_sample;        /* sample not yet stored */
} tally_t;

typedef struct ing {
	const ml_ingest_opts_t *o;
	ml_store_t *store;
	ml_writer_t *w;
	ml_corr_t *corr;
	tally_t tallies[MAX_REASONS];
	unsigned ntallies;
	ml_ckpt_t ckpts[64];
	unsigned nckpts;
	uint64_t batch_lines, parsed, skipped, bad;   /* since the last commit */
	uint64_t seq;           /* number of the last line read, in the stream of every run */
	uint64_t seq_delta;     /* lines numbered since the last commit */
	uint64_t replay_seq;    /* reparse: the number the line being replayed had */
	ml_slice_t line_host;   /* reparse: the host of the next line if it names
	                           none (the replayed message's), before --host */
	const ml_input_id_t *input; /* the input whose lines are being read (for o->sink) */
	ml_ingest_result_t *res;
	struct timespec batch_start;
	int progress;           /* a progress line on the terminal (stderr is one, not --quiet) */
	double last_progress, t0;
	struct ml_follow *fol;  /* --follow's files (tools/follow.c) */
	int unfinished_gz;      /* the input is a compressed copy gzip may still be writing: a
	                           stream that ends early ends at its last whole line, with no
	                           error (ml_ing_input; read on from there later) */
	struct ml_pipe *pipe;   /* the writer thread, when batches are written beside the reading */
	ml_buf_t reports;       /* beside the writer thread: the batch's reports read from lines */
	ml_buf_t learned;       /* local domains learned in this batch, each ending in '\0' */
	/* called before a commit queues the checkpoints, and after it succeeded */
	void (*before_commit)(struct ing *g);
	void (*after_commit)(struct ing *g);
	char err[512];
} ing_t;

/* SIGINT/SIGTERM seen: readers stop, what was read is committed. */
extern volatile sig_atomic_t ml_ing_stop;

double ml_ing_now(void);   /* monotonic seconds */
/* The writer's transaction, begun when none is open. */
int ml_ing_txn(ing_t *g);
/* One line: classify, parse, fold into the correlator (path names it in tallies). */
int ml_ing_line(ing_t *g, ml_syslog_ctx_t *sc, ml_exim_time_t *et, const char *path, const ml_line_t *l);
/* Commit the batch; reopen: begin the next transaction at once. */
int ml_ing_commit(ing_t *g, int reopen);
int ml_ing_batch_due(ing_t *g);
double ml_ing_batch_age_ms(const ing_t *g);
/* Read one input ("-" = stdin) from its checkpoint to its end. */
int ml_ing_input(ing_t *g, const char *path);
ml_ckpt_t *ml_ing_ckpt_slot(ing_t *g, uint64_t hash);
/* Where an input has been read to, for the next commit. */
void ml_ing_ckpt_set(ing_t *g, const ml_input_id_t *id, uint64_t offset, uint64_t lines, const char *path);
/* A plain file cut below its checkpoint: says so, returns where to read on from. */
uint64_t ml_ing_shrunk(const char *path, const ml_input_id_t *id, uint64_t ckpt);
void ml_ing_progress(ing_t *g, const char *path, uint64_t offset, uint64_t size, int final);
/* The correlator's callbacks: an open message of an earlier batch, a local
 * domain learned (ctx: the ing_t; kept in `learned` until the commit). */
/* Let the correlator find the chains' hops in the store (ml_corr_set_hops). */
void ml_ing_set_hops(ing_t *g);
int ml_ing_load_open(void *ctx, ml_slice_t host, ml_slice_t qid, ml_message_t *m);
void ml_ing_put_domain(void *ctx, const char *d, size_t n);
/* The domains learned in this batch, into the writer's transaction (after
 * the batch's puts): each stored, and every stored message of an earlier
 * batch whose sender or a recipient is in one has its direction decided
 * again, so that a domain learned late applies to messages seen before it. */
int ml_ing_learned(ing_t *g);
/* The local domains stored in the database, into the correlator. */
int ml_ing_load_local_domains(ing_t *g);

#endif
