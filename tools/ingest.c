#include "ingest.h"
#include "follow.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
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

/* SIGINT / SIGTERM: stop reading, commit what was read. */
volatile sig_atomic_t ml_ing_stop;

static void on_stop(int sig)
{
	(void)sig;
	ml_ing_stop = 1;
}


double ml_ing_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The writer's transaction, begun when none is open (--follow leaves none
 * open while it waits, so that other writers, prune or reindex, get their
 * turn). */
int ml_ing_txn(ing_t *g)
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

int ml_ing_load_open(void *ctx, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	ing_t *g = ctx;
	int rc = ml_ing_txn(g);
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
int ml_ing_load_local_domains(ing_t *g)
{
	return ml_writer_meta_each(g->w, ML_META_LOCALDOM_PFX, add_local_domain, g);
}

void ml_ing_put_domain(void *ctx, const char *d, size_t n)
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
	if (!rc && g->o->pre_commit)
		rc = g->o->pre_commit(g, g->o->hook_ctx);
	return rc;
}

int ml_ing_commit(ing_t *g, int reopen)
{
	int rc0 = ml_ing_txn(g);
	if (rc0)
		return rc0;
	if (g->before_commit)
		g->before_commit(g);
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(g->corr, &msgs);
	ml_corr_new_domains(g->corr, ml_ing_put_domain, g->w);
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
	if (g->o->post_commit)
		g->o->post_commit(g, g->o->hook_ctx);
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
		if (g->after_commit)
			g->after_commit(g);
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
void ml_ing_progress(ing_t *g, const char *path, uint64_t offset, uint64_t size, int final)
{
	double now = ml_ing_now();
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
double ml_ing_batch_age_ms(const ing_t *g)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec - g->batch_start.tv_sec) * 1e3 + (ts.tv_nsec - g->batch_start.tv_nsec) / 1e6;
}

int ml_ing_batch_due(ing_t *g)
{
	if (g->batch_lines >= g->o->batch_lines)
		return 1;
	return (g->batch_lines & 4095) == 0 && ml_ing_batch_age_ms(g) >= g->o->batch_ms;
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
int ml_ing_line(ing_t *g, ml_syslog_ctx_t *sc, ml_exim_time_t *et, const char *path, const ml_line_t *l)
{
	const char *p = l->p;
	size_t n = l->n;
	g->seq++;
	g->seq_delta++;
	g->batch_lines++;
	g->res->lines++;
	g->res->bytes += l->end - l->off;
	if (g->o->sink)
		return g->o->sink(g->o->hook_ctx, g->input, path, l);
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
	return ml_corr_add(g->corr, &h, &ev, p, n);
}

ml_ckpt_t *ml_ing_ckpt_slot(ing_t *g, uint64_t hash)
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
void ml_ing_ckpt_set(ing_t *g, const ml_input_id_t *id, uint64_t offset, uint64_t lines, const char *path)
{
	ml_ckpt_t *c = ml_ing_ckpt_slot(g, id->first_hash);
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
uint64_t ml_ing_shrunk(const char *path, const ml_input_id_t *id, uint64_t ckpt)
{
	fprintf(stderr, "mtalog: %s: shrank below its checkpoint: %llu bytes now, checkpoint at byte %llu "
	        "(cut in place, first line unchanged): not read again; reading on from byte %llu\n", path,
	        (unsigned long long)id->size, (unsigned long long)ckpt, (unsigned long long)id->size);
	return id->size;
}

int ml_ing_input(ing_t *g, const char *path)
{
	char err[512] = "";
	ml_reader_t *r;
	int rc = ml_ing_txn(g);
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
		start = ml_ing_shrunk(path, &id, start);
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
	while (!ml_ing_stop) {
		if (id.is_stdin) {
			/* a pipe (tail -F | mtalog ingest -) may go quiet: its lines
			 * are committed once they are ML_STDIN_QUIET_MS old */
			double age = g->batch_lines ? ml_ing_batch_age_ms(g) : 0;
			int wait = age >= ML_STDIN_QUIET_MS ? 0 : ML_STDIN_QUIET_MS - (int)age;
			if (!ml_reader_wait(r, wait)) {
				if (g->batch_lines && ml_ing_batch_age_ms(g) >= ML_STDIN_QUIET_MS) {
					ml_ing_ckpt_set(g, &id, offset, lines, path);
					if ((rc = ml_ing_commit(g, 1)))
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
		g->input = &id;
		rc = ml_ing_line(g, &sc, &et, path, &l);
		if (rc) {
			snprintf(g->err, sizeof g->err, "%s:%llu: %s", path, (unsigned long long)l.lineno, ml_strerror(rc));
			break;
		}
		offset = l.end;
		lines++;
		if (g->progress && (lines & 4095) == 0)
			ml_ing_progress(g, path, offset, id.compressed || id.is_stdin ? 0 : id.size, 0);
		if (ml_ing_batch_due(g)) {
			ml_ing_ckpt_set(g, &id, offset, lines, path);
			rc = ml_ing_commit(g, 1);
			if (rc)
				break;
		}
	}
	if (g->progress)
		ml_ing_progress(g, path, offset, id.compressed || id.is_stdin ? 0 : id.size, 1);
	if (got < 0) {
		fprintf(stderr, "mtalog: %s\n", err);
		g->res->inputs_failed++;
	}
	if (!rc && (offset > start || shrunk)) {
		/* (shrunk: the checkpoint moves back to its end, read or not;
		 * no slot left: commit the others first) */
		if (!ml_ing_ckpt_slot(g, id.first_hash))
			rc = ml_ing_commit(g, 1);
		if (!rc)
			ml_ing_ckpt_set(g, &id, offset, lines, path);
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

int ml_ingest_run(const ml_ingest_opts_t *o, char **paths, int npaths, ml_ingest_result_t *res)
{
	ing_t *g = calloc(1, sizeof *g);
	if (!g)
		return 2;
	memset(res, 0, sizeof *res);
	g->o = o;
	g->res = res;
	double t0 = ml_ing_now();
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
		rc = ml_corr_new(&g->corr, ml_ing_load_open, g);
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
		rc = ml_ing_load_local_domains(g);
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
	ml_ing_stop = 0;
	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;   /* no SA_RESTART: a sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (o->source)
		rc = o->source(g, o->hook_ctx);
	else if (o->follow)
		rc = ml_follow(g, paths, npaths);
	else
		for (int i = 0; i < npaths && !rc && !ml_ing_stop; i++)
			rc = ml_ing_input(g, paths[i]);
	if (!rc && !o->follow)   /* (--follow commits its own last batch) */
		rc = ml_ing_commit(g, 0);
	if (ml_ing_stop && !o->quiet)
		fprintf(stderr, "mtalog: stopped by a signal; what was read is saved\n");
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc) {
		fprintf(stderr, "mtalog: %s\n", g->err[0] ? g->err : ml_strerror(rc));
		ret = 2;
	}
	res->seconds = ml_ing_now() - t0;
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
	ml_writer_free(g->w);
	ml_corr_free(g->corr);
	ml_store_close(g->store);
	free(g);
	return ret;
}

