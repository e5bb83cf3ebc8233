#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/correlate.h"
#include "engine/exim.h"
#include "engine/filters.h"
#include "engine/sendmail.h"
#include "engine/postfix.h"
#include "engine/reader.h"
#include "engine/syslog.h"
#include "index/query.h"
#include "index/reindex.h"
#include "index/store.h"
#include "index/writer.h"
#include "tools/report.h"

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

/* SIGINT / SIGTERM: stop reading, commit what was read. */
static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* --follow: one file being read.  The file a name names now, or one rotated
 * away, read (by its descriptor) until it has been quiet a while. */
typedef struct {
	char *path;              /* the name given (not owned) */
	ml_reader_t *r;          /* NULL: the name names no file yet */
	ml_input_id_t id;        /* of the open file */
	uint64_t offset;         /* end of the last line read (committed or not) */
	uint64_t lines;          /* lines of this input read, checkpointed ones included */
	uint64_t lineno;         /* the reader's number of the last line read */
	uint64_t size_seen;      /* its size when last read to its end */
	double quiet_since;      /* when it last gave a line (monotonic) */
	int at_end;              /* read to its end; read again when it grows */
	int partial;             /* a last line without '\n' is waiting */
	int retired;             /* the name now names another file */
	int dirty;               /* lines read since the last commit */
	int64_t since;           /* last commit under this name before this run; -1: none */
	ml_syslog_ctx_t sc;
	ml_exim_time_t et;
} fol_t;

/* A rotated copy looked at: not again until it changes. */
typedef struct {
	uint64_t dev, ino, size;
	int64_t mtime;
} seen_t;

typedef struct {
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
	ml_ingest_result_t *res;
	struct timespec batch_start;
	int progress;           /* a progress line on the terminal (stderr is one, not --quiet) */
	double last_progress, t0;
	fol_t *fol;             /* --follow */
	size_t nfol, fol_cap;
	seen_t *seen;
	size_t nseen, seen_cap;
	char err[512];
} ing_t;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The writer's transaction, begun when none is open (--follow leaves none
 * open while it waits, so that other writers, prune or reindex, get their
 * turn). */
static int txn_open(ing_t *g)
{
	return ml_writer_active(g->w) ? ML_OK : ml_writer_begin(g->w);
}

static void tally(ing_t *g, const char *kind, const char *reason, const char *path,
                  uint64_t lineno, uint64_t off, const char *line, size_t n)
{
	tally_t *t = NULL;
	for (unsigned i = 0; i < g->ntallies; i++)
		if (!strcmp(g->tallies[i].reason, reason) && !strcmp(g->tallies[i].kind, kind)) {
			t = &g->tallies[i];
			break;
		}
	if (!t) {
		if (g->ntallies == MAX_REASONS)
			t = &g->tallies[MAX_REASONS - 1];  /* the last slot takes the overflow */
		else {
			t = &g->tallies[g->ntallies++];
			memset(t, 0, sizeof *t);
			snprintf(t->kind, sizeof t->kind, "%s", kind);
			snprintf(t->reason, sizeof t->reason, "%s", reason);
		}
	}
	if (!t->total) {
		ml_buf_t s = ML_BUF_INIT;
		ml_buf_printf(&s, "%s:%llu (byte %llu): ", path, (unsigned long long)lineno,
		              (unsigned long long)off);
		ml_utf8_sanitize(&s, line, ML_MIN(n, (size_t)SAMPLE_MAX));
		snprintf(t->sample, sizeof t->sample, "%s", ml_buf_cstr(&s));
		ml_buf_free(&s);
		t->has_sample = 1;
	}
	t->count++;
	t->total++;
	if (kind[0] == 's')
		g->skipped++;
	else
		g->bad++;
}

static int load_open(void *ctx, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	ing_t *g = ctx;
	int rc = txn_open(g);
	return rc ? rc : ml_writer_open_lookup(g->w, host, qid, m);
}

static int add_local_domain(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	ing_t *g = ctx;
	size_t pn = strlen(ML_META_LOCALDOM_PFX);
	(void)v;
	(void)vn;
	if (kn > pn)
		ml_corr_local_domain(g->corr, key + pn, kn - pn, 0);
	return 0;
}

/* The local domains stored in the database, into the correlator. */
static int load_local_domains(ing_t *g)
{
	return ml_writer_meta_each(g->w, ML_META_LOCALDOM_PFX, add_local_domain, g);
}

static void put_domain(void *ctx, const char *d, size_t n)
{
	ml_writer_local_domain(ctx, d, n);
}

/* Queue everything of this batch into the writer (again, after a retry). */
static int queue_batch(ing_t *g)
{
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(g->corr, &msgs);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = ml_writer_put(g->w, msgs[i]);
	for (unsigned i = 0; i < g->nckpts && !rc; i++)
		rc = ml_writer_checkpoint(g->w, &g->ckpts[i]);
	if (!rc) rc = ml_writer_count(g->w, "lines_parsed", g->parsed);
	if (!rc) rc = ml_writer_count(g->w, "lines_skipped", g->skipped);
	if (!rc) rc = ml_writer_count(g->w, "lines_bad", g->bad);
	if (!rc && g->seq_delta) rc = ml_writer_count(g->w, "line_seq", g->seq_delta);
	for (unsigned i = 0; i < g->ntallies && !rc; i++) {
		tally_t *t = &g->tallies[i];
		if (t->count)
			rc = ml_writer_tally(g->w, t->kind, t->reason, t->count,
			                     t->has_sample ? t->sample : "", t->has_sample ? strlen(t->sample) : 0);
	}
	return rc;
}

static void follow_ckpts(ing_t *g);

static int commit(ing_t *g, int reopen)
{
	int rc0 = txn_open(g);
	if (rc0)
		return rc0;
	if (g->o->follow)
		follow_ckpts(g);
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(g->corr, &msgs);
	ml_corr_new_domains(g->corr, put_domain, g->w);
	int rc = queue_batch(g);
	if (!rc)
		rc = ml_writer_commit(g->w);
	for (int tries = 0; rc == ML_EFULL && tries < 8; tries++) {
		/* The map filled: grow it and write the same batch again. */
		ml_writer_abort(g->w);
		rc = ml_store_grow(g->store);
		if (!rc)
			rc = ml_writer_begin(g->w);
		if (!rc)
			rc = queue_batch(g);
		if (!rc)
			rc = ml_writer_commit(g->w);
	}
	if (rc) {
		ml_writer_abort(g->w);
		snprintf(g->err, sizeof g->err, "%s: cannot write: %s%s", g->store->path, ml_strerror(rc),
		         rc == ML_EFULL || rc == ML_EIO ? " (is the disk full?)" : "");
		return rc;
	}
	g->res->messages_written += n;
	g->res->commits++;
	ml_corr_done(g->corr);
	ml_heap_trim();
	for (unsigned i = 0; i < g->ntallies; i++) {
		g->tallies[i].count = 0;
		g->tallies[i].has_sample = 0;
	}
	g->parsed = g->skipped = g->bad = 0;
	g->seq_delta = 0;
	g->batch_lines = 0;
	if (g->o->follow) {
		/* every followed file's position is set again before each commit */
		for (size_t i = 0; i < g->nfol; i++)
			g->fol[i].dirty = 0;
		g->nckpts = 0;
	} else if (g->nckpts > 1) {
		/* keep only the checkpoint of the input being read */
		g->ckpts[0] = g->ckpts[g->nckpts - 1];
		g->nckpts = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &g->batch_start);
	return reopen ? ml_writer_begin(g->w) : ML_OK;
}

/* The progress line: done, rate, ETA (when the input's size is known). */
static void progress(ing_t *g, const char *path, uint64_t offset, uint64_t size, int final)
{
	double now = now_s();
	if (!g->progress || (!final && now - g->last_progress < 0.5))
		return;
	g->last_progress = now;
	double el = now - g->t0, rate = el > 0 ? g->res->lines / el : 0;
	char eta[32] = "";
	if (size && offset <= size && el > 0 && g->res->bytes) {
		double bps = g->res->bytes / el;
		snprintf(eta, sizeof eta, ", %3.0f%%, ETA %.0f s", 100.0 * (double)offset / (double)size,
		         bps > 0 ? (double)(size - offset) / bps : 0.0);
	}
	fprintf(stderr, "\r%s: %llu lines, %.0f lines/s%s\033[K%s", path, (unsigned long long)g->res->lines,
	        rate, eta, final ? "\n" : "");
}

/* Milliseconds since the batch began. */
static double batch_age_ms(const ing_t *g)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec - g->batch_start.tv_sec) * 1e3 + (ts.tv_nsec - g->batch_start.tv_nsec) / 1e6;
}

static int batch_due(ing_t *g)
{
	if (g->batch_lines >= g->o->batch_lines)
		return 1;
	return (g->batch_lines & 4095) == 0 && batch_age_ms(g) >= g->o->batch_ms;
}

static const char *const other_programs[] = {
	"dovecot", "spamc", "clamd", "postgrey", "saslauthd", "milter-greylist", "spamass-milter",
	"courier", "imapd", "pop3d", "roundcube", "sympa", NULL
};

static void classify_other(ing_t *g, ml_slice_t prog, const char *path, const ml_line_t *l)
{
	char reason[96];
	size_t n = prog.n;
	for (size_t i = 0; i < prog.n; i++)
		if (prog.p[i] == '/') {
			n = i;
			break;
		}
	for (int i = 0; other_programs[i]; i++)
		if (strlen(other_programs[i]) == n && memcmp(other_programs[i], prog.p, n) == 0) {
			snprintf(reason, sizeof reason, "%.*s (not parsed)", (int)n, prog.p);
			tally(g, "skip", reason, path, l->lineno, l->off, l->p, l->n);
			return;
		}
	tally(g, "skip", "not a mail program", path, l->lineno, l->off, l->p, l->n);
}

int ml_ingest_format(const char *s)
{
	static const char *const names[] = { "auto", "postfix", "exim", "sendmail" };
	for (int i = 0; i < (int)ML_ARRAY_LEN(names); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* Count a skipped or not-understood event under "prefix: reason". */
static void tally_event(ing_t *g, const char *prefix, const ml_event_t *ev, const char *path,
                        const ml_line_t *l, const char *p, size_t n)
{
	char reason[96];
	int bad = ev->kind == ML_EV_UNKNOWN;
	const char *r = ev->reason ? ev->reason : bad ? "not understood" : "other";
	size_t pn = strlen(prefix);
	/* "exim connection" → "exim: connection"; "postscreen" → "postfix: postscreen" */
	if (!strncmp(r, prefix, pn) && (r[pn] == ' ' || r[pn] == ':'))
		r += pn + (r[pn] == ':' ? 2 : 1);
	snprintf(reason, sizeof reason, "%s: %s", prefix, r);
	tally(g, bad ? "bad" : "skip", reason, path, l->lineno, l->off, p, n);
}

/* One line: classify, parse, fold. */
static int do_line(ing_t *g, ml_syslog_ctx_t *sc, ml_exim_time_t *et, const char *path, const ml_line_t *l)
{
	const char *p = l->p;
	size_t n = l->n;
	g->seq++;
	g->seq_delta++;
	g->batch_lines++;
	g->res->lines++;
	g->res->bytes += l->end - l->off;
	if (l->flags & ML_LINE_TOOLONG) {
		tally(g, "bad", "line too long", path, l->lineno, l->off, p, n);
		return ML_OK;
	}
	while (n && *p == '\0') {
		p++;
		n--;
	}
	if (n == 0) {
		if (l->n)
			tally(g, "bad", "NUL bytes only", path, l->lineno, l->off, l->p, l->n);
		else
			tally(g, "skip", "empty line", path, l->lineno, l->off, p, n);
		return ML_OK;
	}
	if (memchr(p, '\0', n)) {
		tally(g, "bad", "NUL byte inside the line", path, l->lineno, l->off, p, n);
		return ML_OK;
	}
	ml_syslog_t h;
	ml_event_t ev;
	const char *why = "not a syslog line", *family;
	int fmt = g->o->format;
	if (ml_syslog_parse(sc, p, n, &h, &why) == 0) {
		if (fmt == ML_FORMAT_POSTFIX || (!fmt && ml_postfix_is_program(h.program))) {
			family = "postfix";
			ml_postfix_parse(h.program, h.msg, &ev);
		} else if (fmt == ML_FORMAT_EXIM || (!fmt && ml_exim_is_program(h.program))) {
			family = "exim";
			ml_exim_parse(h.msg, &ev);
		} else if (fmt == ML_FORMAT_SENDMAIL || (!fmt && ml_sendmail_is_program(h.program))) {
			family = "sendmail";
			ml_sendmail_parse(h.msg, &ev);
		} else if (ml_filters_is_program(h.program)) {
			family = "filter";
			ml_filters_parse(h.program, h.msg, &ev);
		} else {
			classify_other(g, h.program, path, l);
			return ML_OK;
		}
	} else {
		/* Exim's own log file: "2024-01-02 03:04:05 [+0100] [pid] ID ..." */
		ml_slice_t msg;
		int er = ml_exim_parse_line(p, n, et, &msg);
		if (er == ML_EXIM_CONTINUATION) {
			tally(g, "skip", "exim: continuation", path, l->lineno, l->off, p, n);
			return ML_OK;
		}
		if (er) {
			tally(g, "bad", why, path, l->lineno, l->off, p, n);
			return ML_OK;
		}
		family = "exim";
		memset(&h, 0, sizeof h);
		h.time_us = et->time_us;
		h.program = ml_slice_cstr("exim");
		h.msg = msg;
		ml_exim_parse(msg, &ev);
		if (ev.kind == ML_EV_UNKNOWN) {
			/* rspamd's own log file has the same timestamp */
			ml_event_t fev;
			ml_filters_parse(ml_slice_cstr("rspamd"), msg, &fev);
			if (fev.kind != ML_EV_UNKNOWN) {
				ev = fev;
				family = "filter";
				h.program = ml_slice_cstr("rspamd");
			}
		}
	}
	if (ev.kind == ML_EV_UNKNOWN || ev.kind == ML_EV_SKIP) {
		tally_event(g, family, &ev, path, l, p, n);
		return ML_OK;
	}
	h.seq = g->replay_seq ? g->replay_seq : g->seq;
	g->parsed++;
	g->res->parsed++;
	if (ev.kind == ML_EV_REPORT)   /* no line of a message: joined at the commit */
		return ml_ingest_report(g->w, &h, &ev);
	return ml_corr_add(g->corr, &h, &ev, p, n);
}

static ml_ckpt_t *ckpt_slot(ing_t *g, uint64_t hash)
{
	for (unsigned i = 0; i < g->nckpts; i++)
		if (g->ckpts[i].hash == hash)
			return &g->ckpts[i];
	if (g->nckpts == ML_ARRAY_LEN(g->ckpts))
		return NULL;
	ml_ckpt_t *c = &g->ckpts[g->nckpts++];
	memset(c, 0, sizeof *c);
	c->hash = hash;
	return c;
}

/* Where an input has been read to, for the next commit. */
static void ckpt_set(ing_t *g, const ml_input_id_t *id, uint64_t offset, uint64_t lines, const char *path)
{
	ml_ckpt_t *c = ckpt_slot(g, id->first_hash);
	if (!c)
		return;
	c->offset = offset; c->lines = lines; c->dev = id->dev; c->ino = id->ino; c->mtime = id->mtime;
	snprintf(c->path, sizeof c->path, "%s", path);
}

/*
 * A plain file shorter than its checkpoint whose first line is unchanged was
 * cut in place (truncate -s, a copytruncate that kept a prefix): what it
 * holds now was read already, so it is read on from its end, and only what
 * is written after that is new.  (A file emptied and written anew starts
 * with another first line: another input, read from byte 0.)  Says so on
 * stderr; returns where to read on from.
 */
static uint64_t shrunk_below_ckpt(const char *path, const ml_input_id_t *id, uint64_t ckpt)
{
	fprintf(stderr, "mtalog: %s: shrank below its checkpoint: %llu bytes now, checkpoint at byte %llu "
	        "(cut in place, first line unchanged): not read again; reading on from byte %llu\n", path,
	        (unsigned long long)id->size, (unsigned long long)ckpt, (unsigned long long)id->size);
	return id->size;
}

static int do_input(ing_t *g, const char *path)
{
	char err[512] = "";
	ml_reader_t *r;
	int rc = txn_open(g);
	if (rc)
		return rc;
	rc = ml_reader_open(&r, path, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "mtalog: %s\n", err);
		g->res->inputs_failed++;
		return ML_OK;
	}
	ml_input_id_t id = *ml_reader_id(r);
	if (id.first_hash == 0) {
		ml_reader_close(r);
		return ML_OK;
	}
	ml_ckpt_t prev;
	uint64_t start = 0, lines_before = 0;
	/* the same input read earlier in this run, not committed yet */
	const ml_ckpt_t *pending = NULL;
	for (unsigned i = 0; i < g->nckpts; i++)
		if (g->ckpts[i].hash == id.first_hash)
			pending = &g->ckpts[i];
	if (pending || ml_writer_ckpt_get(g->w, id.first_hash, &prev) == 0) {
		if (pending)
			prev = *pending;
		start = prev.offset;
		lines_before = prev.lines;
	}
	/* shorter than what was read of it, with the same first line */
	int shrunk = !id.compressed && !id.is_stdin && id.size < start;
	if (shrunk)
		start = shrunk_below_ckpt(path, &id, start);
	if (start && !id.compressed && !id.is_stdin) {
		ml_reader_close(r);
		rc = ml_reader_open(&r, path, start, err, sizeof err);
		if (rc) {
			fprintf(stderr, "mtalog: %s\n", err);
			g->res->inputs_failed++;
			return ML_OK;
		}
	}
	/* If a commit happened since the hash was read, the slot must be found again. */
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, id.is_stdin ? time(NULL) : (time_t)id.mtime, g->o->year);
	ml_exim_time_t et;
	ml_exim_time_init(&et);
	ml_line_t l;
	uint64_t offset = start, lines = lines_before;
	int got = 0;
	while (!stop_flag) {
		if (id.is_stdin) {
			/* a pipe (tail -F | mtalog ingest -) may go quiet: its lines
			 * are committed once they are ML_STDIN_QUIET_MS old */
			double age = g->batch_lines ? batch_age_ms(g) : 0;
			int wait = age >= ML_STDIN_QUIET_MS ? 0 : ML_STDIN_QUIET_MS - (int)age;
			if (!ml_reader_wait(r, wait)) {
				if (g->batch_lines && batch_age_ms(g) >= ML_STDIN_QUIET_MS) {
					ckpt_set(g, &id, offset, lines, path);
					if ((rc = commit(g, 1)))
						break;
				}
				continue;
			}
		}
		if ((got = ml_reader_next(r, &l, err, sizeof err)) <= 0)
			break;
		if (l.end <= start)
			continue;  /* before the checkpoint (gz and stdin resume by skipping) */
		if ((l.flags & ML_LINE_PARTIAL) && time(NULL) - id.mtime < ML_PARTIAL_WAIT_S) {
			/* a log being written: its writer will finish the line */
			if (!g->o->quiet)
				fprintf(g->o->report, "mtalog: %s: last line has no newline yet (%zu bytes at byte %llu): "
				        "left for the next run\n", path, l.full_len, (unsigned long long)l.off);
			break;
		}
		if ((l.flags & ML_LINE_PARTIAL) && !g->o->quiet)
			fprintf(g->o->report, "mtalog: %s: last line has no newline (%zu bytes at byte %llu); "
			        "the file is not being written to: taken as complete\n", path, l.full_len,
			        (unsigned long long)l.off);
		rc = do_line(g, &sc, &et, path, &l);
		if (rc) {
			snprintf(g->err, sizeof g->err, "%s:%llu: %s", path, (unsigned long long)l.lineno, ml_strerror(rc));
			break;
		}
		offset = l.end;
		lines++;
		if (g->progress && (lines & 4095) == 0)
			progress(g, path, offset, id.compressed || id.is_stdin ? 0 : id.size, 0);
		if (batch_due(g)) {
			ckpt_set(g, &id, offset, lines, path);
			rc = commit(g, 1);
			if (rc)
				break;
		}
	}
	if (g->progress)
		progress(g, path, offset, id.compressed || id.is_stdin ? 0 : id.size, 1);
	if (got < 0) {
		fprintf(stderr, "mtalog: %s\n", err);
		g->res->inputs_failed++;
	}
	if (!rc && (offset > start || shrunk)) {
		/* (shrunk: the checkpoint moves back to its end, read or not;
		 * no slot left: commit the others first) */
		if (!ckpt_slot(g, id.first_hash))
			rc = commit(g, 1);
		if (!rc)
			ckpt_set(g, &id, offset, lines, path);
	}
	ml_reader_close(r);
	return rc;
}

static int cmp_tally(const void *a, const void *b)
{
	const tally_t *x = a, *y = b;
	return (x->total < y->total) - (x->total > y->total);
}

static void report(ing_t *g)
{
	FILE *f = g->o->report;
	ml_ingest_result_t *r = g->res;
	if (g->o->quiet || !f)
		return;
	fprintf(f, "ingested %llu lines (%.1f MB) in %.2f s: %.0f lines/s, %.1f MB/s; %llu parsed, "
	        "%llu skipped, %llu not understood; %llu messages stored (new or updated)\n",
	        (unsigned long long)r->lines, r->bytes / 1e6, r->seconds,
	        r->seconds > 0 ? r->lines / r->seconds : 0.0, r->seconds > 0 ? r->bytes / 1e6 / r->seconds : 0.0,
	        (unsigned long long)r->parsed, (unsigned long long)r->skipped, (unsigned long long)r->bad,
	        (unsigned long long)r->messages_written);
	if (g->ntallies > 1)
		qsort(g->tallies, g->ntallies, sizeof g->tallies[0], cmp_tally);
	int header = 0;
	for (unsigned i = 0; i < g->ntallies; i++) {
		tally_t *t = &g->tallies[i];
		if (t->kind[0] != 'b' || !t->total)
			continue;
		if (!header++)
			fprintf(f, "lines not understood, by reason:\n");
		fprintf(f, "  %8llu  %s\n            e.g. %s\n", (unsigned long long)t->total, t->reason, t->sample);
	}
}

/* ---- --follow ---- */

static double wall_s(void)
{
	return (double)time(NULL);
}

static void follow_ckpts(ing_t *g)
{
	for (size_t i = 0; i < g->nfol; i++) {
		fol_t *f = &g->fol[i];
		if (!f->dirty || !f->r)
			continue;
		ckpt_set(g, &f->id, f->offset, f->lines, f->path);
	}
}

static fol_t *fol_add(ing_t *g, char *path)
{
	if (ml_array_grow((void **)&g->fol, &g->fol_cap, sizeof *g->fol, g->nfol + 1, 4))
		return NULL;
	fol_t *f = &g->fol[g->nfol++];
	memset(f, 0, sizeof *f);
	f->path = path;
	f->quiet_since = now_s();
	return f;
}

/* The checkpoint of an input: one not committed yet, else the stored one. */
static int ckpt_find(ing_t *g, uint64_t hash, ml_ckpt_t *out)
{
	for (unsigned i = 0; i < g->nckpts; i++)
		if (g->ckpts[i].hash == hash) {
			*out = g->ckpts[i];
			return ML_OK;
		}
	int rc = txn_open(g);
	return rc ? rc : ml_writer_ckpt_get(g->w, hash, out);
}

/* Open the file the name of f names now, at its checkpoint.  0 when the
 * name names no file yet (f->r stays NULL), ML_EINVAL when it is not a
 * plain file (read once by do_input instead). */
static int fol_open(ing_t *g, fol_t *f)
{
	char err[512] = "";
	ml_reader_t *r;
	if (ml_reader_open(&r, f->path, 0, err, sizeof err)) {
		if (access(f->path, F_OK) == 0)
			fprintf(stderr, "mtalog: %s\n", err);
		return ML_OK;
	}
	ml_input_id_t id = *ml_reader_id(r);
	if (id.compressed || id.is_stdin) {
		ml_reader_close(r);
		return ML_EINVAL;
	}
	uint64_t start = 0, lines = 0;
	ml_ckpt_t prev;
	int shrunk = 0;
	if (id.first_hash && ckpt_find(g, id.first_hash, &prev) == 0) {
		start = prev.offset;
		lines = prev.lines;
		if ((shrunk = id.size < start))
			start = shrunk_below_ckpt(f->path, &id, start);
	}
	if (ml_reader_seek(r, start, 0)) {
		ml_reader_close(r);
		return ML_OK;
	}
	f->r = r;
	f->id = id;
	f->offset = start;
	f->lines = lines;
	f->lineno = 0;
	f->size_seen = 0;
	f->at_end = f->partial = f->retired = f->dirty = 0;
	if (shrunk) {
		/* the checkpoint moves back to the end, whether more comes or not */
		f->dirty = 1;
		ckpt_set(g, &id, start, lines, f->path);
	}
	f->quiet_since = now_s();
	ml_syslog_ctx_init(&f->sc, (time_t)id.mtime, g->o->year);
	ml_exim_time_init(&f->et);
	return ML_OK;
}

/* Read what f has beyond what was read.  Returns lines read, or < 0 for a
 * database error (g->err set). */
static long fol_pump(ing_t *g, fol_t *f)
{
	if (!f->r)
		return 0;
	struct stat st;
	if (ml_reader_fstat(f->r, &st) < 0)
		return 0;
	/* before the first line is known, first_hash is 0: wait for a line */
	if (f->id.first_hash == 0) {
		if (st.st_size == 0)
			return 0;
		ml_reader_close(f->r);
		f->r = NULL;
		int rc = fol_open(g, f);
		if (rc || !f->r || f->id.first_hash == 0)
			return 0;
	}
	int quiet = wall_s() - (double)st.st_mtime >= ML_PARTIAL_WAIT_S;
	if (f->at_end) {
		if ((uint64_t)st.st_size == f->size_seen && !(f->partial && quiet))
			return 0;
		/* shrunk, or written anew from its start: the rotation check
		 * sees to it */
		if ((uint64_t)st.st_size < f->offset || ml_reader_rehash(f->r) != f->id.first_hash)
			return 0;
		if (ml_reader_seek(f->r, f->offset, f->lineno))
			return 0;
		f->at_end = 0;
	}
	f->partial = 0;
	char err[512] = "";
	ml_line_t l;
	long n = 0;
	int got = 0;
	while (!stop_flag && (got = ml_reader_next(f->r, &l, err, sizeof err)) > 0) {
		if ((l.flags & ML_LINE_PARTIAL) && !quiet) {
			f->partial = 1;   /* its writer will finish it */
			break;
		}
		int rc = do_line(g, &f->sc, &f->et, f->path, &l);
		if (rc) {
			snprintf(g->err, sizeof g->err, "%s:%llu: %s", f->path, (unsigned long long)l.lineno,
			         ml_strerror(rc));
			return -1;
		}
		f->offset = l.end;
		f->lineno = l.lineno;
		f->lines++;
		f->dirty = 1;
		n++;
		if (batch_due(g) && commit(g, 1))
			return -1;
	}
	if (got < 0) {
		fprintf(stderr, "mtalog: %s\n", err);
		g->res->inputs_failed++;
		f->at_end = 1;
	}
	if (stop_flag)
		return n;
	if (got == 0 || f->partial) {
		f->at_end = 1;
		f->size_seen = (uint64_t)st.st_size;
		if (ml_reader_fstat(f->r, &st) == 0)
			f->size_seen = (uint64_t)st.st_size;
	}
	if (n)
		f->quiet_since = now_s();
	return n;
}

/* The name of f names another file (rename and create), or the same file
 * shorter than what was read (copytruncate).  Returns 1 when rotated, 0 when
 * not, < 0 on a database error. */
static int fol_check_rotation(ing_t *g, size_t i)
{
	fol_t *f = &g->fol[i];
	struct stat st;
	if (stat(f->path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;   /* renamed away and not created yet: wait */
	if (!f->r) {
		fol_open(g, &g->fol[i]);
		return 0;
	}
	if ((uint64_t)st.st_dev == f->id.dev && (uint64_t)st.st_ino == f->id.ino) {
		if ((uint64_t)st.st_size >= f->offset &&
		    ((uint64_t)st.st_size == f->size_seen || ml_reader_rehash(f->r) == f->id.first_hash))
			return 0;
		/* copytruncate: what was read is committed under the old input,
		 * then the file is read from its start as a new one */
		if (commit(g, 1))
			return -1;
		f = &g->fol[i];
		ml_reader_close(f->r);
		f->r = NULL;
		fol_open(g, f);
		return 1;
	}
	/* rename and create: the old file is drained while its writer may still
	 * write to it; the name is followed in a new slot */
	char *path = f->path;
	f->retired = 1;
	f->quiet_since = now_s();
	int64_t since = f->since;
	fol_t *nf = fol_add(g, path);
	if (!nf)
		return ML_ENOMEM;
	nf->since = since;
	fol_open(g, nf);
	return 1;
}

static int seen_before(ing_t *g, const struct stat *st)
{
	for (size_t i = 0; i < g->nseen; i++) {
		seen_t *s = &g->seen[i];
		if (s->dev == (uint64_t)st->st_dev && s->ino == (uint64_t)st->st_ino) {
			int same = s->size == (uint64_t)st->st_size && s->mtime == (int64_t)st->st_mtime;
			s->size = (uint64_t)st->st_size;
			s->mtime = (int64_t)st->st_mtime;
			return same;
		}
	}
	if (ml_array_grow((void **)&g->seen, &g->seen_cap, sizeof *g->seen, g->nseen + 1, 8) == 0)
		g->seen[g->nseen++] = (seen_t){ (uint64_t)st->st_dev, (uint64_t)st->st_ino,
		                                (uint64_t)st->st_size, (int64_t)st->st_mtime };
	return 0;
}

/* The folder of path ("." when none), into dir. */
static void path_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(dir, len, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	else
		snprintf(dir, len, ".");
}

typedef struct {
	const char *path;
	int64_t best;
} last_commit_t;

static int newer_commit(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	last_commit_t *lc = ctx;
	ml_ckpt_t c;
	if (ml_ckpt_parse(key, kn, v, vn, &c) == 0 && !strcmp(c.path, lc->path) && c.updated > lc->best)
		lc->best = c.updated;
	return 0;
}

/* The last commit time of a checkpoint of an input followed under this name;
 * -1 when none. */
static int64_t last_commit_of(ing_t *g, const char *path)
{
	last_commit_t lc = { path, -1 };
	if (!txn_open(g))
		ml_writer_meta_each(g->w, ML_META_CKPT_PFX, newer_commit, &lc);
	return lc.best;
}

typedef struct {
	char *path;
	struct timespec mtime;
} cand_t;

static int cmp_cand(const void *a, const void *b)
{
	const cand_t *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

/*
 * The rotated copies next to a followed name (NAME.1, NAME-20240102.gz, ...),
 * oldest first: a copy of an input read before is read on from its
 * checkpoint when it holds more; a copy never read is read whole when it was
 * written since the last commit under this name (`since`: rotated twice while
 * the follower was stopped).  Older copies are history, not ours to read.
 */
static int scan_siblings(ing_t *g, const char *path, int64_t since)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : path;
	path_dir(path, dir, sizeof dir);
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		return ML_OK;
	cand_t *cands = NULL;
	size_t ncand = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, base, blen) || !e->d_name[blen] || !strchr(".-_", e->d_name[blen]))
			continue;
		char full[4096 + 256];
		snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		int open_now = 0;
		for (size_t i = 0; i < g->nfol; i++)
			if (g->fol[i].r && g->fol[i].id.dev == (uint64_t)st.st_dev &&
			    g->fol[i].id.ino == (uint64_t)st.st_ino)
				open_now = 1;
		if (open_now || seen_before(g, &st))
			continue;
		if (ml_array_grow((void **)&cands, &cap, sizeof *cands, ncand + 1, 8))
			break;
		cands[ncand].path = strdup(full);
		cands[ncand].mtime = st.st_mtim;
		if (cands[ncand].path)
			ncand++;
	}
	closedir(d);
	if (ncand)
		qsort(cands, ncand, sizeof *cands, cmp_cand);
	int rc = ML_OK;
	for (size_t i = 0; i < ncand && !rc && !stop_flag; i++) {
		ml_reader_t *r;
		if (ml_reader_open(&r, cands[i].path, 0, NULL, 0))
			continue;
		ml_input_id_t id = *ml_reader_id(r);
		ml_reader_close(r);
		ml_ckpt_t prev;
		if (!id.first_hash)
			continue;
		if (ckpt_find(g, id.first_hash, &prev)) {
			if (since < 0 || cands[i].mtime.tv_sec < since)
				continue;
		} else if (!id.compressed && id.size <= prev.offset) {
			continue;
		}
		rc = do_input(g, cands[i].path);
	}
	for (size_t i = 0; i < ncand; i++)
		free(cands[i].path);
	free(cands);
	return rc;
}

static int follow_loop(ing_t *g, char **paths, int npaths, int ifd);

/* Watch the folders of the followed names: a write, a create or a rename
 * there ends the wait at once (the poll interval stays the fallback). */
static int watch_folders(char **paths, int npaths)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	for (int i = 0; i < npaths; i++) {
		char dir[4096];
		path_dir(paths[i], dir, sizeof dir);
		inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
		                  IN_CLOSE_WRITE | IN_ATTRIB);
	}
	return fd;
}

static void wait_for_change(int ifd, unsigned ms)
{
	if (ifd < 0) {
		struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
		return;
	}
	struct pollfd p = { ifd, POLLIN, 0 };
	if (poll(&p, 1, (int)ms) > 0) {
		char buf[8192];
		while (read(ifd, buf, sizeof buf) > 0)
			;
	}
}

static int follow(ing_t *g, char **paths, int npaths)
{
	int ifd = watch_folders(paths, npaths);
	int rc = follow_loop(g, paths, npaths, ifd);
	if (ifd >= 0)
		close(ifd);
	return rc;
}

static int follow_loop(ing_t *g, char **paths, int npaths, int ifd)
{
	for (int i = 0; i < npaths; i++) {
		if (!strcmp(paths[i], "-")) {
			fprintf(stderr, "mtalog: --follow reads files; stdin is read to its end\n");
			int rc = do_input(g, paths[i]);
			if (rc)
				return rc;
			continue;
		}
		fol_t *f = fol_add(g, paths[i]);
		if (!f)
			return ML_ENOMEM;
		f->since = last_commit_of(g, paths[i]);
		if (fol_open(g, f) == ML_EINVAL) {
			/* compressed: it cannot grow */
			g->nfol--;
			int rc = do_input(g, paths[i]);
			if (rc)
				return rc;
		} else if (!f->r && !g->o->quiet) {
			fprintf(stderr, "mtalog: %s: not there yet; waiting for it\n", paths[i]);
		}
	}
	double last_scan = 0;
	int rotated = 1;   /* the copies first: written before the file under the name */
	while (!stop_flag) {
		double now = now_s();
		if (rotated || now - last_scan >= 2.0) {
			last_scan = now;
			for (size_t i = 0; i < g->nfol; i++) {
				if (g->fol[i].retired)
					continue;
				int dup = 0;   /* one scan per name */
				for (size_t j = 0; j < i; j++)
					dup |= !g->fol[j].retired && !strcmp(g->fol[j].path, g->fol[i].path);
				if (!dup && scan_siblings(g, g->fol[i].path, g->fol[i].since))
					return ML_EIO;
			}
		}
		long got = 0;
		for (size_t i = 0; i < g->nfol && !stop_flag; i++) {
			long n = fol_pump(g, &g->fol[i]);
			if (n < 0)
				return ML_EIO;
			got += n;
		}
		if (stop_flag)
			break;
		rotated = 0;
		for (size_t i = 0, n = g->nfol; i < n; i++) {
			if (g->fol[i].retired)
				continue;
			int r = fol_check_rotation(g, i);
			if (r < 0)
				return r == -1 ? ML_EIO : r;
			rotated |= r;
		}
		now = now_s();
		/* drop rotated-away files that have been quiet long enough */
		for (size_t i = 0; i < g->nfol;) {
			fol_t *f = &g->fol[i];
			if (f->retired && !f->dirty && f->at_end && now - f->quiet_since >= ML_PARTIAL_WAIT_S) {
				if (f->r)
					ml_reader_close(f->r);
				g->fol[i] = g->fol[--g->nfol];
				continue;
			}
			i++;
		}
		if (g->batch_lines || g->nckpts) {
			/* quiet inputs: commit now (and hold no transaction while
			 * waiting); a steady stream: every batch_ms */
			if ((!got || batch_age_ms(g) >= g->o->batch_ms) && commit(g, got != 0))
				return ML_EIO;
		} else if (!got && ml_writer_active(g->w)) {
			ml_writer_abort(g->w);   /* nothing in it */
		}
		if (!got)
			wait_for_change(ifd, g->o->poll_ms ? g->o->poll_ms : 100);
	}
	return ML_OK;
}

int ml_ingest_run(const ml_ingest_opts_t *o, char **paths, int npaths, ml_ingest_result_t *res)
{
	ing_t *g = calloc(1, sizeof *g);
	if (!g)
		return 2;
	memset(res, 0, sizeof *res);
	g->o = o;
	g->res = res;
	double t0 = now_s();
	g->t0 = t0;
	g->progress = !o->quiet && isatty(2);
	int ret = 0;
	char err[512];
	int rc = ml_store_open(&g->store, o->db_path, ML_STORE_CREATE | (o->nosync ? ML_STORE_NOSYNC : 0),
	                       err, sizeof err);
	if (rc) {
		fprintf(stderr, "mtalog: %s\n", err);
		free(g);
		return 2;
	}
	rc = ml_writer_new(&g->w, g->store);
	if (!rc)
		rc = ml_corr_new(&g->corr, load_open, g);
	if (!rc)
		rc = ml_writer_begin(g->w);
	if (rc) {
		fprintf(stderr, "mtalog: %s: %s\n", o->db_path, ml_strerror(rc));
		ret = 2;
		goto out;
	}
	g->seq = ml_writer_meta_u64(g->w, ML_META_LINE_SEQ);
	/* a named format is kept, for reindex --reparse */
	static const char *const fnames[] = { "auto", "postfix", "exim", "sendmail" };
	if (o->format > 0 && o->format < (int)ML_ARRAY_LEN(fnames))
		rc = ml_writer_meta_put(g->w, ML_META_FORMAT, fnames[o->format], strlen(fnames[o->format]));
	/* local domains: stored ones, then configured ones (stored with this run) */
	if (!rc)
		rc = load_local_domains(g);
	if (o->local_domains) {
		const char *p = o->local_domains;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (n && *p == '@') { p++; n--; }
			if (n) {
				ml_corr_local_domain(g->corr, p, n, 0);
				ml_writer_local_domain(g->w, p, n);
			}
			if (!e)
				break;
			p = e + 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &g->batch_start);
	stop_flag = 0;
	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;   /* no SA_RESTART: a sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (o->follow)
		rc = follow(g, paths, npaths);
	else
		for (int i = 0; i < npaths && !rc && !stop_flag; i++)
			rc = do_input(g, paths[i]);
	if (!rc)
		rc = commit(g, 0);
	if (stop_flag && !o->quiet)
		fprintf(stderr, "mtalog: stopped by a signal; what was read is saved\n");
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc) {
		fprintf(stderr, "mtalog: %s\n", g->err[0] ? g->err : ml_strerror(rc));
		ret = 2;
	}
	res->seconds = now_s() - t0;
	res->skipped = 0;
	res->bad = 0;
	for (unsigned i = 0; i < g->ntallies; i++) {
		if (g->tallies[i].kind[0] == 's')
			res->skipped += g->tallies[i].total;
		else
			res->bad += g->tallies[i].total;
	}
	report(g);
	if (!ret && res->inputs_failed)
		ret = 1;
out:
	for (size_t i = 0; i < g->nfol; i++)
		if (g->fol[i].r)
			ml_reader_close(g->fol[i].r);
	free(g->fol);
	free(g->seen);
	ml_writer_free(g->w);
	ml_corr_free(g->corr);
	ml_store_close(g->store);
	free(g);
	return ret;
}

/* ---- reindex --reparse ---- */

typedef struct {
	uint64_t first_seq, docid;
} rp_ord_t;

/* A record being replayed: its lines from `pos` on. */
typedef struct {
	ml_message_t m;
	size_t pos;        /* byte offset of the next line in m.raw */
	uint32_t line;     /* its index */
	int64_t ref;       /* reference time for traditional timestamps */
} rp_rec_t;

typedef struct {
	rp_rec_t **h;
	size_t n, cap;
} rp_heap_t;

static uint64_t rp_key(const rp_rec_t *r)
{
	return r->m.seqs[r->line];
}

static void rp_sift_down(rp_heap_t *hp, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		if (l < hp->n && rp_key(hp->h[l]) < rp_key(hp->h[best]))
			best = l;
		if (l + 1 < hp->n && rp_key(hp->h[l + 1]) < rp_key(hp->h[best]))
			best = l + 1;
		if (best == i)
			return;
		rp_rec_t *t = hp->h[i];
		hp->h[i] = hp->h[best];
		hp->h[best] = t;
		i = best;
	}
}

static int rp_push(rp_heap_t *hp, rp_rec_t *r)
{
	if (ml_array_grow((void **)&hp->h, &hp->cap, sizeof *hp->h, hp->n + 1, 256))
		return ML_ENOMEM;
	size_t i = hp->n++;
	hp->h[i] = r;
	while (i > 0 && rp_key(hp->h[(i - 1) / 2]) > rp_key(hp->h[i])) {
		rp_rec_t *t = hp->h[i];
		hp->h[i] = hp->h[(i - 1) / 2];
		hp->h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	return ML_OK;
}

static int cmp_ord(const void *a, const void *b)
{
	const rp_ord_t *x = a, *y = b;
	if (x->first_seq != y->first_seq)
		return x->first_seq < y->first_seq ? -1 : 1;
	return (x->docid > y->docid) - (x->docid < y->docid);
}

/* The messages of the batch into the rebuild's transaction. */
static int rp_flush(ing_t *g)
{
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(g->corr, &msgs);
	ml_corr_new_domains(g->corr, put_domain, g->w);
	int rc = ML_OK;
	for (size_t i = 0; i < n && !rc; i++)
		rc = ml_writer_put(g->w, msgs[i]);
	if (!rc)
		rc = ml_writer_flush(g->w);
	ml_corr_done(g->corr);
	g->batch_lines = 0;
	return rc;
}

typedef struct {
	rp_ord_t **ord, **legacy;
	size_t *nord, *ord_cap, *nleg, *leg_cap;
	ml_reindex_progress_t *p;
} rp_pass1_t;

/* Pass 1: each message's first line number, from its row. */
static int rp_note(void *ctx, const ml_message_t *m, size_t bytes)
{
	rp_pass1_t *x = ctx;
	x->p->bytes_before += bytes;
	rp_ord_t o = { m->first_seq, m->docid };
	rp_ord_t **arr = o.first_seq ? x->ord : x->legacy;
	size_t *n = o.first_seq ? x->nord : x->nleg, *cap = o.first_seq ? x->ord_cap : x->leg_cap;
	int rc = ml_array_grow((void **)arr, cap, sizeof **arr, *n + 1, 4096);
	if (!rc)
		(*arr)[(*n)++] = o;
	return rc;
}

/* One whole reparse in one write transaction (ML_EFULL: the map filled). */
static int rp_once(ing_t *g, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *p)
{
	ml_store_t *s = g->store;
	ml_snap_t *sn = NULL;
	rp_ord_t *ord = NULL, *legacy = NULL;
	size_t nord = 0, ord_cap = 0, nleg = 0, leg_cap = 0;
	rp_heap_t hp = { 0 };
	rp_rec_t **pool = NULL;
	size_t npool = 0, pool_cap = 0;
	ml_message_t tmp;
	ml_message_init(&tmp);
	p->done = p->kept = p->bytes_before = 0;

	int rc = ml_snap_open(&sn, s);
	rp_pass1_t x = { &ord, &legacy, &nord, &ord_cap, &nleg, &leg_cap, p };
	if (!rc)
		rc = ml_snap_each_row(sn, rp_note, &x);
	p->total = nord + nleg;
	if (!rc && nord)
		qsort(ord, nord, sizeof *ord, cmp_ord);

	if (!rc)
		rc = ml_writer_rebuild_begin(g->w, ML_REBUILD_RETRAIN | ML_REBUILD_RAW_DICT);
	if (!rc)
		rc = load_local_domains(g);   /* as stored */

	/* pass 2: every line, in the order of its number */
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, time(NULL), 0);
	ml_exim_time_t et;
	ml_exim_time_init(&et);
	size_t next = 0;
	uint64_t last_report = 0;
	while (!rc && (hp.n || next < nord)) {
		/* open the records whose first line comes before the heap's next */
		while (!rc && next < nord && (!hp.n || ord[next].first_seq < rp_key(hp.h[0]))) {
			rp_rec_t *r;
			if (npool) {
				r = pool[--npool];
			} else {
				r = calloc(1, sizeof *r);
				if (!r) {
					rc = ML_ENOMEM;
					break;
				}
				ml_message_init(&r->m);
			}
			rc = ml_snap_get(sn, ord[next].docid, &r->m);
			next++;
			p->done++;
			int usable = !rc && r->m.nlines && r->m.seqs && r->m.seqs[0];
			if (!rc && !usable) {
				/* lines without numbers: put again as it is, at the end */
				p->done--;
				rc = ml_array_grow((void **)&legacy, &leg_cap, sizeof *legacy, nleg + 1, 64);
				if (!rc)
					legacy[nleg++] = ord[next - 1];
			}
			if (usable) {
				r->pos = 0;
				r->line = 0;
				r->ref = r->m.last_us / 1000000 / 86400 * 86400 + 2 * 86400;
				rc = rp_push(&hp, r);
			} else if (ml_array_grow((void **)&pool, &pool_cap, sizeof *pool, npool + 1, 256) == 0) {
				pool[npool++] = r;
			} else {
				ml_message_free(&r->m);
				free(r);
			}
		}
		if (rc || !hp.n)
			break;
		rp_rec_t *r = hp.h[0];
		const char *line = r->m.raw.data + r->pos;
		const char *nl = memchr(line, '\n', r->m.raw.len - r->pos);
		size_t n = nl ? (size_t)(nl - line) : r->m.raw.len - r->pos;
		ml_line_t l = { .p = line, .n = n, .off = 0, .end = n, .lineno = r->line + 1, .full_len = n };
		if (sc.ref_time != (time_t)r->ref)
			sc.ref_time = (time_t)r->ref;
		g->replay_seq = r->m.seqs[r->line];
		rc = do_line(g, &sc, &et, "(stored lines)", &l);
		g->replay_seq = 0;
		if (rc)
			break;
		r->pos += n + 1;
		r->line++;
		if (r->line < r->m.nlines && r->pos < r->m.raw.len && r->m.seqs[r->line]) {
			rp_sift_down(&hp, 0);
		} else {
			/* done with this record */
			hp.h[0] = hp.h[--hp.n];
			if (hp.n)
				rp_sift_down(&hp, 0);
			if (ml_array_grow((void **)&pool, &pool_cap, sizeof *pool, npool + 1, 256) == 0)
				pool[npool++] = r;
			else {
				ml_message_free(&r->m);
				free(r);
			}
		}
		if (g->batch_lines >= g->o->batch_lines) {
			rc = rp_flush(g);
			if (!rc && fn && p->done - last_report >= 1000) {
				last_report = p->done;
				if (fn(ctx, p))
					rc = ML_EINTR;
			}
		}
	}
	if (!rc)
		rc = rp_flush(g);
	/* records without line numbers: put again as they are; those without
	 * lines were made by another message's lines (a bounce a delivery
	 * notice announces) and the replay has made them again */
	for (size_t i = 0; i < nleg && !rc; i++) {
		rc = ml_snap_get(sn, legacy[i].docid, &tmp);
		p->done++;
		if (rc || !tmp.nlines)
			continue;
		tmp.docid = 0;
		rc = ml_writer_put(g->w, &tmp);
		if (!rc)
			rc = ml_writer_flush(g->w);
		p->kept++;
	}
	if (!rc)
		rc = ml_writer_commit(g->w);
	else
		ml_writer_abort(g->w);
	ml_corr_done(g->corr);
	if (fn && !rc)
		fn(ctx, p);
	for (size_t i = 0; i < hp.n; i++) {
		ml_message_free(&hp.h[i]->m);
		free(hp.h[i]);
	}
	for (size_t i = 0; i < npool; i++) {
		ml_message_free(&pool[i]->m);
		free(pool[i]);
	}
	free(hp.h);
	free(pool);
	free(ord);
	free(legacy);
	ml_message_free(&tmp);
	ml_snap_close(sn);
	return rc;
}

int ml_ingest_reparse(ml_store_t *s, int format, ml_reindex_fn fn, void *ctx,
                      ml_reindex_progress_t *out, char *err, size_t errlen)
{
	ml_ingest_opts_t o = { .db_path = s->path, .batch_lines = 200000, .batch_ms = 1000000,
	                       .quiet = 1, .format = format };
	ml_ingest_result_t res;
	memset(&res, 0, sizeof res);
	ml_reindex_progress_t p;
	memset(&p, 0, sizeof p);
	ing_t *g = calloc(1, sizeof *g);
	if (!g)
		return ML_ENOMEM;
	g->o = &o;
	g->res = &res;
	g->store = s;
	int rc = ml_reindex_prepare(s, &p);
	if (!rc)
		rc = ml_writer_new(&g->w, s);
	for (int tries = 0; !rc; tries++) {
		ml_corr_free(g->corr);
		g->corr = NULL;
		rc = ml_corr_new(&g->corr, load_open, g);
		if (!rc)
			rc = rp_once(g, fn, ctx, &p);
		if (rc != ML_EFULL || tries == 6)
			break;
		p.restarts++;
		rc = ml_store_grow(s);
	}
	if (!rc)
		rc = ml_reindex_finish(s, &p);
	if (rc)
		snprintf(err, errlen, "%s: reparse failed: %s%s; the database is as it was", s->path,
		         ml_strerror(rc), rc == ML_EFULL || rc == ML_EIO ? " (is the disk full?)" : "");
	if (out)
		*out = p;
	ml_writer_free(g->w);
	ml_corr_free(g->corr);
	free(g);
	return rc;
}
