#include "ingest.h"
#include "follow.h"

#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "engine/correlate.h"
#include "engine/exim.h"
#include "engine/reader.h"
#include "engine/syslog.h"
#include "index/query.h"
#include "index/reindex.h"
#include "index/store.h"
#include "index/tokens.h"
#include "index/writer.h"
#include "tools/report.h"

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

static int piped_lookup(ing_t *g, ml_slice_t host, ml_slice_t qid, ml_message_t *m);

/* A message in flight taken up again: without the lines already stored,
 * which the writer joins to the new ones when it stores it again
 * (engine/message.h), so that a message deferred for days does not carry
 * its lines through every batch. */
int ml_ing_load_open(void *ctx, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	ing_t *g = ctx;
	int rc = g->pipe ? piped_lookup(g, host, qid, m) : ml_ing_txn(g);
	if (!rc && !g->pipe)
		rc = ml_writer_open_lookup(g->w, host, qid, m);
	if (!rc)
		ml_message_drop_lines(m);
	return rc;
}

/* The chains' hops in storage (engine/correlate.h): by the queue ID term,
 * the term of the next hop waited for, the recipient's or the message-id's. */
static int pipe_find(ing_t *g, const char *key, size_t n, int64_t since_us, int64_t until_us,
                     uint64_t *ids, size_t cap, size_t *count);
static int pipe_get(ing_t *g, uint64_t docid, int lines, ml_message_t *m);

/* Stored messages under a term: from the writer's transaction, or beside
 * the writer thread from a snapshot (which has every batch handed over:
 * hops are looked for once the writer is done, ml_corr_link). */
static int find_term(ing_t *g, const char *key, size_t n, int64_t since_us, int64_t until_us,
                     uint64_t *ids, size_t cap, size_t *count)
{
	if (g->pipe)
		return pipe_find(g, key, n, since_us, until_us, ids, cap, count);
	int rc = ml_ing_txn(g);
	return rc ? rc : ml_writer_find(g->w, key, n, since_us, until_us, ids, cap, count);
}

static int find_hops(void *ctx, int by, ml_slice_t key, int64_t since_us, int64_t until_us,
                     uint64_t *docids, size_t cap, size_t *n)
{
	ing_t *g = ctx;
	int rc;
	if (by == ML_HOP_BY_RCPT) {
		ml_buf_t k = ML_BUF_INIT;
		rc = ml_buf_putc(&k, ML_TAG_TO);
		if (!rc)
			rc = ml_buf_append_lower(&k, key.p, ML_MIN(key.n, (size_t)ML_TERM_MAX));
		if (!rc)
			rc = find_term(g, k.data, k.len, since_us, until_us, docids, cap, n);
		ml_buf_free(&k);
		return rc;
	}
	char term[1 + ML_ID_TERM_BYTES];
	term[0] = by == ML_HOP_BY_MSGID ? ML_TAG_MSGID : by == ML_HOP_BY_NEXT ? ML_TAG_NEXT_QID : ML_TAG_QID;
	if (by == ML_HOP_BY_MSGID)
		ml_msgid_term(key.p, key.n, (unsigned char *)term + 1);
	else
		ml_qid_term(key.p, key.n, (unsigned char *)term + 1);
	return find_term(g, term, sizeof term, since_us, until_us, docids, cap, n);
}

static int get_hop(void *ctx, uint64_t docid, int lines, ml_message_t *m)
{
	ing_t *g = ctx;
	if (g->pipe)
		return pipe_get(g, docid, lines, m);
	int rc = ml_ing_txn(g);
	return rc ? rc : ml_writer_get(g->w, docid, lines, m);
}

void ml_ing_set_hops(ing_t *g)
{
	ml_corr_hops_t h = { find_hops, get_hop, g };
	ml_corr_set_hops(g->corr, &h);
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
	ing_t *g = ctx;
	if (ml_buf_append(&g->learned, d, n) || ml_buf_append(&g->learned, "", 1))
		g->learned.len = 0;  /* out of memory: the domain is stored by the next batch that sees it */
}

static int decide_direction(void *ctx, ml_message_t *m)
{
	return (int)ml_corr_direction(ctx, m);
}

/* The domains of `learned` into the writer's transaction (as ml_ing_learned). */
static int learned_into(ing_t *g, const ml_buf_t *learned, ml_corr_t *dirs)
{
	int rc = ML_OK;
	char key[1 + 256];
	for (size_t off = 0; off < learned->len && !rc;) {
		const char *d = learned->data + off;
		size_t n = strlen(d);
		off += n + 1;
		rc = ml_writer_local_domain(g->w, d, n);
		/* recipient domains, then sender domains (lowercase terms) */
		for (int i = 0; i < 2 && !rc && n < sizeof key - 1; i++) {
			key[0] = i ? ML_TAG_FROM_DOMAIN : ML_TAG_TO_DOMAIN;
			for (size_t k = 0; k < n; k++)
				key[1 + k] = (d[k] >= 'A' && d[k] <= 'Z') ? d[k] + 32 : d[k];
			rc = ml_writer_redecide(g->w, key, n + 1, decide_direction, dirs, NULL);
		}
	}
	return rc;
}

int ml_ing_learned(ing_t *g)
{
	return learned_into(g, &g->learned, g->corr);
}

/* A batch's checkpoints, line counters and tallies (those with a count)
 * into the writer's transaction. */
static int queue_bookkeeping(ing_t *g, const ml_ckpt_t *ckpts, unsigned nckpts, const uint64_t counts[4],
                             const tally_t *tallies, unsigned ntallies)
{
	int rc = ML_OK;
	for (unsigned i = 0; i < nckpts && !rc; i++)
		rc = ml_writer_checkpoint(g->w, &ckpts[i]);
	static const char *const names[4] = { "lines_parsed", "lines_skipped", "lines_bad", "line_seq" };
	for (int i = 0; i < 4 && !rc; i++)
		if (counts[i] || i < 3)
			rc = ml_writer_count(g->w, names[i], counts[i]);
	for (unsigned i = 0; i < ntallies && !rc; i++) {
		const tally_t *t = &tallies[i];
		if (t->count)
			rc = ml_writer_tally(g->w, t->kind, t->reason, t->count,
			                     t->has_sample ? t->sample : "", t->has_sample ? strlen(t->sample) : 0);
	}
	return rc;
}

/* Queue everything of this batch into the writer (again, after a retry). */
static int queue_batch(ing_t *g)
{
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(g->corr, &msgs);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = ml_writer_put(g->w, msgs[i]);
	if (!rc)
		rc = ml_ing_learned(g);
	uint64_t counts[4] = { g->parsed, g->skipped, g->bad, g->seq_delta };
	if (!rc)
		rc = queue_bookkeeping(g, g->ckpts, g->nckpts, counts, g->tallies, g->ntallies);
	if (!rc && g->o->pre_commit)
		rc = g->o->pre_commit(g, g->o->hook_ctx);
	return rc;
}

static int hand_off(ing_t *g);

/* After a commit (or a hand-off): a new batch of lines begins. */
static void batch_begun(ing_t *g)
{
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
}

int ml_ing_commit(ing_t *g, int reopen)
{
	if (g->pipe)
		return hand_off(g);
	int rc0 = ml_ing_txn(g);
	if (rc0)
		return rc0;
	if (g->before_commit)
		g->before_commit(g);
	ml_message_t **msgs;
	int rc = ml_corr_link(g->corr);
	size_t n = ml_corr_dirty(g->corr, &msgs);
	ml_corr_new_domains(g->corr, ml_ing_put_domain, g);
	if (!rc)
		rc = queue_batch(g);
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
	ml_buf_reset(&g->learned);
	if (g->o->post_commit)
		g->o->post_commit(g, g->o->hook_ctx);
	ml_corr_done(g->corr);
	ml_heap_trim();
	batch_begun(g);
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

int ml_ingest_format(const char *s)
{
	static const char *const names[] = { "auto", "postfix", "exim", "sendmail" };
	for (int i = 0; i < (int)ML_ARRAY_LEN(names); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* A report read beside the writer thread: kept with the batch (the report,
 * then the message-id and the queue ID, each as a u16 length and bytes),
 * queued into the writer by its thread. */
static int queue_report(ing_t *g, const ml_syslog_t *h, const ml_event_t *ev)
{
	ml_report_t r;
	int rc = ml_report_of_event(h, ev, &r);
	if (rc)
		return rc;
	size_t mn = ML_MIN(ev->msgid.n, (size_t)UINT16_MAX), qn = ML_MIN(ev->qid.n, (size_t)UINT16_MAX);
	unsigned char len[2] = { (unsigned char)mn, (unsigned char)(mn >> 8) };
	rc = ml_buf_append(&g->reports, &r, sizeof r);
	if (!rc)
		rc = ml_buf_append(&g->reports, len, 2);
	if (!rc && mn)
		rc = ml_buf_append(&g->reports, ev->msgid.p, mn);
	len[0] = (unsigned char)qn;
	len[1] = (unsigned char)(qn >> 8);
	if (!rc)
		rc = ml_buf_append(&g->reports, len, 2);
	if (!rc && qn)
		rc = ml_buf_append(&g->reports, ev->qid.p, qn);
	return rc;
}

/* One line: classify and parse (engine/dispatch.h), count or fold. */
int ml_ing_line(ing_t *g, ml_syslog_ctx_t *sc, ml_exim_time_t *et, const char *path, const ml_line_t *l)
{
	g->seq++;
	g->seq_delta++;
	g->batch_lines++;
	g->res->lines++;
	g->res->bytes += l->end - l->off;
	if (g->o->sink)
		return g->o->sink(g->o->hook_ctx, g->input, path, l);
	if (l->flags & ML_LINE_TOOLONG) {
		tally(g, "bad", "line too long", path, l->lineno, l->off, l->p, l->n);
		return ML_OK;
	}
	ml_disp_ctx_t dc = { g->o->format, sc, et, g->line_host };
	if (!dc.host.n && g->o->host)
		dc.host = ml_slice_cstr(g->o->host);
	ml_syslog_t h;
	ml_event_t ev;
	ml_disp_t d;
	ml_disp_kind_t k = ml_dispatch(&dc, l->p, l->n, &h, &ev, &d);
	if (k != ML_DISP_EVENT) {
		tally(g, k == ML_DISP_BAD ? "bad" : "skip", d.reason, path, l->lineno, l->off, d.p, d.n);
		return ML_OK;
	}
	h.seq = g->replay_seq ? g->replay_seq : g->seq;
	g->parsed++;
	g->res->parsed++;
	if (ev.kind == ML_EV_REPORT && g->pipe)   /* for the writer thread, with the batch */
		return queue_report(g, &h, &ev);
	if (ev.kind == ML_EV_REPORT)   /* no line of a message: joined at the commit */
		return ml_ingest_report(g->w, &h, &ev);
	return ml_corr_add(g->corr, &h, &ev, d.p, d.n);
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

static int pipe_drain(ing_t *g);

/* The stored checkpoint of an input (ML_ENOTFOUND: none).  Beside the
 * writer thread: once every batch handed over is committed, from a
 * snapshot. */
static int ckpt_get(ing_t *g, uint64_t hash, ml_ckpt_t *out)
{
	if (!g->pipe)
		return ml_writer_ckpt_get(g->w, hash, out);
	int rc = pipe_drain(g);
	MDB_txn *txn;
	if (!rc)
		rc = ml_store_read_begin(g->store, &txn);
	if (rc)
		return rc;
	rc = ml_ckpt_get(g->store, txn, hash, out);
	mdb_txn_abort(txn);
	return rc;
}

int ml_ing_input(ing_t *g, const char *path)
{
	char err[512] = "";
	ml_reader_t *r;
	int rc = g->pipe ? ML_OK : ml_ing_txn(g);
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
	if (pending || ckpt_get(g, id.first_hash, &prev) == 0) {
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
	ml_buf_t held = ML_BUF_INIT;   /* a last line, while the stream's end is checked */
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
		if ((l.flags & ML_LINE_NOEOL) && g->unfinished_gz) {
			/* the last line of a stream: whole only if the stream ends
			 * there, not if gzip has not written the rest yet */
			ml_buf_reset(&held);
			if (ml_buf_append(&held, l.p, l.n)) {
				rc = ML_ENOMEM;
				break;
			}
			ml_line_t next;
			if ((got = ml_reader_next(r, &next, err, sizeof err)) < 0)
				break;
			l.p = held.data;
		}
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
	if (got < 0 && g->unfinished_gz && ml_reader_truncated(r)) {
		if (!g->o->quiet)
			fprintf(g->o->report, "mtalog: %s: compressed copy not whole yet (still being written?): "
			        "read to byte %llu, the rest later\n", path, (unsigned long long)offset);
	} else if (got < 0) {
		fprintf(stderr, "mtalog: %s\n", err);
		g->res->inputs_failed++;
	}
	ml_buf_free(&held);
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

/* ---- the writer thread ----
 *
 * Batch N is written (encoded, committed) by the writer thread while this
 * thread reads, parses and folds the lines of batch N+1.  A hand-off waits
 * for batch N-1 to be committed, takes the correlator's messages
 * (ml_corr_detach) with the batch's checkpoints, counters, tallies and
 * learned domains, and waits until the writer has given the new messages
 * their docids (ml_writer_on_docids): from then on a message of batch N
 * still in flight is found by its next line in batch N (copied, with its
 * docid), one closed in N is not found (its next line starts a new message,
 * as after a commit), and any other in the store, read from a snapshot of
 * its own, which has batches N-1 and before (the messages batch N changes
 * are in batch N).  So two batches are in memory: the one written and the
 * one read.  Only the writer thread writes; the map is grown (no
 * transaction may be open in the process) under maplock, which a lookup
 * holds for its snapshot.  The batch's messages are freed by the next
 * hand-off, after the writer is done with them.
 */

typedef struct {
	ml_message_t **msgs;
	uint64_t *docids;         /* msgs[i]'s docid, as the writer gave it */
	size_t n;
	uint32_t *slots;          /* (host, qid) -> index + 1, open addressing */
	size_t nslots;
	ml_ckpt_t ckpts[64];
	unsigned nckpts;
	uint64_t parsed, skipped, bad, seq_delta;
	tally_t *tallies;         /* those with a count in this batch */
	unsigned ntallies;
	ml_buf_t domains;         /* learned domains, each NUL-terminated */
	ml_buf_t reports;         /* reports read from lines (queue_report) */
	/* The messages by the keys the chains' hops are found by
	 * (ml_tokens_hop_keys; hash -> index, a multimap) and by docid, for
	 * linking the next batch beside the writer (hops_from_batch) */
	struct hop_slot { uint64_t h; uint32_t i; } *hop_slots, *id_slots;
	size_t nhop_slots, nid_slots;
} pbatch_t;

struct ml_pipe {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_rwlock_t maplock;
	pbatch_t b[1];
	int cur;                  /* the batch the writer has or had last (0) */
	int busy;                 /* the writer has b[cur] */
	int docids_ready;         /* ... and has given its messages their docids */
	int docids_moved;         /* a retry gave other docids (an error) */
	int quit;
	int from_batch;           /* hops are looked for in b[cur] too (hand_off) */
	ml_corr_t *dirs;          /* the local domains as of the last hand-off: the
	                             writer decides stored messages' directions again
	                             with them while the reader learns more */
	int rc;                   /* the writer's first error */
	ml_search_t *se;          /* lookups of messages in flight in the store */
	ml_buf_t kb;
	/* The hashes of (host, queue ID) of every message that may be in flight
	 * in the store: those there when the run began and those handed over
	 * unclosed since (never removed: one closed since costs a lookup that
	 * finds nothing).  Any other is not in the store: a new message, found
	 * without a lookup. */
	uint64_t *maybe;
	size_t nmaybe, maybe_slots;
};

/* Add h (not 0) to the set of maybe-stored messages. */
static int maybe_add(struct ml_pipe *p, uint64_t h)
{
	h |= 1;   /* 0 marks an empty slot */
	if (2 * (p->nmaybe + 1) > p->maybe_slots) {
		size_t ns = p->maybe_slots ? 2 * p->maybe_slots : 4096;
		uint64_t *t = calloc(ns, sizeof *t);
		if (!t)
			return ML_ENOMEM;
		for (size_t i = 0; i < p->maybe_slots; i++)
			if (p->maybe[i]) {
				size_t j = p->maybe[i] & (ns - 1);
				while (t[j])
					j = (j + 1) & (ns - 1);
				t[j] = p->maybe[i];
			}
		free(p->maybe);
		p->maybe = t;
		p->maybe_slots = ns;
	}
	size_t j = h & (p->maybe_slots - 1);
	for (; p->maybe[j]; j = (j + 1) & (p->maybe_slots - 1))
		if (p->maybe[j] == h)
			return ML_OK;
	p->maybe[j] = h;
	p->nmaybe++;
	return ML_OK;
}

static int maybe_has(const struct ml_pipe *p, uint64_t h)
{
	h |= 1;
	if (!p->maybe_slots)
		return 0;
	for (size_t j = h & (p->maybe_slots - 1); p->maybe[j]; j = (j + 1) & (p->maybe_slots - 1))
		if (p->maybe[j] == h)
			return 1;
	return 0;
}

static uint64_t msg_key_hash(ml_slice_t host, ml_slice_t qid, ml_buf_t *kb)
{
	if (ml_store_open_key(kb, host, qid))
		return 0;
	return XXH3_64bits(kb->data, kb->len);
}

static void pbatch_free_msgs(pbatch_t *b)
{
	for (size_t i = 0; i < b->n; i++) {
		ml_message_free(b->msgs[i]);
		free(b->msgs[i]);
	}
	free(b->msgs);
	b->msgs = NULL;
	b->n = 0;
}

static void pbatch_free(pbatch_t *b)
{
	pbatch_free_msgs(b);
	free(b->hop_slots);
	free(b->id_slots);
	free(b->docids);
	free(b->slots);
	free(b->tallies);
	ml_buf_free(&b->domains);
	ml_buf_free(&b->reports);
	memset(b, 0, sizeof *b);
}

/* The table of the batch's messages by (host, queue ID). */
static int pbatch_index(pbatch_t *b, ml_buf_t *kb)
{
	size_t ns = 64;
	while (ns < 2 * b->n + 2)
		ns *= 2;
	if (ns > b->nslots) {
		free(b->slots);
		b->slots = malloc(ns * sizeof *b->slots);
		b->nslots = b->slots ? ns : 0;
		if (!b->slots)
			return ML_ENOMEM;
	}
	memset(b->slots, 0, b->nslots * sizeof *b->slots);
	for (size_t i = 0; i < b->n; i++) {
		const ml_message_t *m = b->msgs[i];
		size_t h = msg_key_hash(ml_message_str(m, m->host), ml_message_str(m, m->queue_id), kb) & (b->nslots - 1);
		while (b->slots[h])
			h = (h + 1) & (b->nslots - 1);
		b->slots[h] = (uint32_t)i + 1;
	}
	return ML_OK;
}

/* The message (host, qid) of batch b: its index, or -1. */
static long pbatch_find(const pbatch_t *b, ml_slice_t host, ml_slice_t qid, ml_buf_t *kb)
{
	if (!b->nslots || !b->n)
		return -1;
	size_t h = msg_key_hash(host, qid, kb) & (b->nslots - 1);
	long found = -1;
	for (; b->slots[h]; h = (h + 1) & (b->nslots - 1)) {
		const ml_message_t *m = b->msgs[b->slots[h] - 1];
		ml_slice_t mh = ml_message_str(m, m->host), mq = ml_message_str(m, m->queue_id);
		if (mh.n == host.n && mq.n == qid.n && ml_memieq(mh.p, host.p, host.n) && !memcmp(mq.p, qid.p, qid.n))
			found = (long)(b->slots[h] - 1);   /* the last put wins (none twice, in fact) */
	}
	return found;
}

/* ---- hops in the batch being written ----
 *
 * The chains' hops of batch N+1 are looked for (ml_corr_link) while the
 * writer still writes batch N: in the store's snapshot, which has every
 * batch before N (and N once it is committed), and in batch N itself,
 * through two tables made at its hand-off: its messages by hop key and by
 * docid.  What a lookup finds is what the store will have once N is
 * committed: the union, newest first, each docid once, the batch's copy
 * where both have it.  Not when batch N learned local domains: the writer
 * then changes stored messages (their direction) that the snapshot still
 * has as they were; those hops are looked for after N is committed. */

static int slot_put(struct hop_slot *t, size_t n, uint64_t h, uint32_t i)
{
	size_t j = h & (n - 1);
	while (t[j].i)
		j = (j + 1) & (n - 1);
	t[j] = (struct hop_slot){ h, i + 1 };
	return ML_OK;
}

static int slots_alloc(struct hop_slot **t, size_t *n, size_t want)
{
	size_t ns = 64;
	while (ns < 2 * want + 2)
		ns *= 2;
	if (ns > *n) {
		free(*t);
		*t = malloc(ns * sizeof **t);
		*n = *t ? ns : 0;
		if (!*t)
			return ML_ENOMEM;
	}
	memset(*t, 0, *n * sizeof **t);
	return ML_OK;
}

static int pbatch_index_hops(pbatch_t *b)
{
	ml_keys_t k = { ML_BUF_INIT, 0 };
	size_t nkeys = 0;
	int rc = ML_OK;
	ml_buf_t all = ML_BUF_INIT;   /* (hash, index) pairs, then the table */
	for (size_t i = 0; i < b->n && !rc; i++) {
		rc = ml_tokens_hop_keys(b->msgs[i], &k);
		const char *key;
		size_t kn, pos = 0;
		while (!rc && ml_keys_next(&k, &pos, &key, &kn)) {
			struct hop_slot e = { XXH3_64bits(key, kn), (uint32_t)i };
			rc = ml_buf_append(&all, &e, sizeof e);
			nkeys++;
		}
	}
	ml_keys_free(&k);
	if (!rc)
		rc = slots_alloc(&b->hop_slots, &b->nhop_slots, nkeys);
	const struct hop_slot *e = (const struct hop_slot *)all.data;
	for (size_t i = 0; i < nkeys && !rc; i++)
		rc = slot_put(b->hop_slots, b->nhop_slots, e[i].h, e[i].i);
	ml_buf_free(&all);
	return rc;
}

/* (after the writer gave the batch its docids) */
static int pbatch_index_ids(pbatch_t *b)
{
	int rc = slots_alloc(&b->id_slots, &b->nid_slots, b->n);
	for (size_t i = 0; i < b->n && !rc; i++)
		rc = slot_put(b->id_slots, b->nid_slots, XXH3_64bits(&b->docids[i], 8), (uint32_t)i);
	return rc;
}

static long pbatch_by_docid(const pbatch_t *b, uint64_t docid)
{
	if (!b->nid_slots)
		return -1;
	uint64_t h = XXH3_64bits(&docid, 8);
	for (size_t j = h & (b->nid_slots - 1); b->id_slots[j].i; j = (j + 1) & (b->nid_slots - 1))
		if (b->id_slots[j].h == h && b->docids[b->id_slots[j].i - 1] == docid)
			return (long)b->id_slots[j].i - 1;
	return -1;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* ids[0..*count) found in the store: with the batch's messages under key in
 * the window added, newest first, each once, at most cap. */
static int batch_find(const pbatch_t *b, const char *key, size_t n, int64_t since_us, int64_t until_us,
                      uint64_t *ids, size_t cap, size_t *count, uint64_t *more)
{
	if (!b->nhop_slots || since_us > until_us)
		return ML_OK;
	uint64_t lo = ml_docid_make((uint64_t)ML_MAX(since_us, 0) / 1000000, 0);
	uint64_t hi = ml_docid_make((uint64_t)ML_MAX(until_us, 0) / 1000000 + 1, 0) - 1;
	uint64_t h = XXH3_64bits(key, n);
	size_t nm = 0;
	ml_keys_t k = { ML_BUF_INIT, 0 };
	int rc = ML_OK;
	for (size_t j = h & (b->nhop_slots - 1); b->hop_slots[j].i && !rc; j = (j + 1) & (b->nhop_slots - 1)) {
		uint32_t i = b->hop_slots[j].i - 1;
		uint64_t d = b->docids[i];
		if (b->hop_slots[j].h != h || d < lo || d > hi)
			continue;
		/* the hash agreed: the key itself */
		rc = ml_tokens_hop_keys(b->msgs[i], &k);
		const char *key2;
		size_t kn, pos = 0;
		int has = 0;
		while (!rc && !has && ml_keys_next(&k, &pos, &key2, &kn))
			has = kn == n && memcmp(key2, key, n) == 0;
		if (has)
			more[nm++] = d;
		if (nm == cap)
			break;
	}
	ml_keys_free(&k);
	if (rc || !nm)
		return rc;
	memcpy(more + nm, ids, *count * sizeof *ids);
	size_t all = nm + *count;
	qsort(more, all, sizeof *more, cmp_desc);
	size_t out = 0;
	for (size_t i = 0; i < all && out < cap; i++)
		if (!out || ids[out - 1] != more[i])
			ids[out++] = more[i];
	*count = out;
	return ML_OK;
}

static int piped_lookup(ing_t *g, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	struct ml_pipe *p = g->pipe;
	const pbatch_t *b = &p->b[p->cur];   /* the batch being written (docids given) */
	long i = pbatch_find(b, host, qid, &p->kb);
	if (i >= 0) {
		const ml_message_t *x = b->msgs[i];
		if (x->flags & ML_MSG_CLOSED)
			return ML_ENOTFOUND;   /* as the store will have it */
		int rc = ml_message_copy_row(m, x);
		if (!rc)
			m->docid = b->docids[i];
		return rc;
	}
	if (!maybe_has(p, msg_key_hash(host, qid, &p->kb)))
		return ML_ENOTFOUND;
	pthread_rwlock_rdlock(&p->maplock);
	int rc = ml_search_open_lookup(p->se, host, qid, m);
	pthread_rwlock_unlock(&p->maplock);
	return rc;
}

static int pipe_find(ing_t *g, const char *key, size_t n, int64_t since_us, int64_t until_us,
                     uint64_t *ids, size_t cap, size_t *count)
{
	struct ml_pipe *p = g->pipe;
	pthread_rwlock_rdlock(&p->maplock);
	int rc = ml_search_find(p->se, key, n, since_us, until_us, ids, cap, count);
	pthread_rwlock_unlock(&p->maplock);
	if (!rc && p->from_batch) {
		uint64_t *more = malloc(2 * (cap + 1) * sizeof *more);
		rc = more ? batch_find(&p->b[p->cur], key, n, since_us, until_us, ids, cap, count, more) : ML_ENOMEM;
		free(more);
	}
	return rc;
}

static int pipe_get(ing_t *g, uint64_t docid, int lines, ml_message_t *m)
{
	struct ml_pipe *p = g->pipe;
	long i = p->from_batch ? pbatch_by_docid(&p->b[p->cur], docid) : -1;
	if (i >= 0) {
		/* its lines, every one, are stored when this batch is */
		int rc = ml_message_copy_row(m, p->b[p->cur].msgs[i]);
		if (!rc)
			m->docid = docid;
		return rc;
	}
	pthread_rwlock_rdlock(&p->maplock);
	int rc = ml_search_get_row(p->se, docid, lines, m);
	pthread_rwlock_unlock(&p->maplock);
	return rc;
}

/* The writer's callback: the batch's docids are known. */
static void docids_given(void *ctx, ml_message_t *const *msgs, size_t n)
{
	struct ml_pipe *p = ctx;
	pbatch_t *b = &p->b[p->cur];
	pthread_mutex_lock(&p->mu);
	if (!p->docids_ready) {
		for (size_t i = 0; i < n && i < b->n; i++)
			b->docids[i] = msgs[i]->docid;
		p->docids_ready = 1;
		pthread_cond_broadcast(&p->cv);
	} else {
		/* a retry after the map grew: the docids the reader may have
		 * handed on must come again */
		for (size_t i = 0; i < n && i < b->n; i++)
			p->docids_moved |= b->docids[i] != msgs[i]->docid;
	}
	pthread_mutex_unlock(&p->mu);
}

/* Queue batch b into the writer's open transaction. */
static int pbatch_queue(ing_t *g, const pbatch_t *b)
{
	int rc = ML_OK;
	for (size_t i = 0; i < b->n && !rc; i++)
		rc = ml_writer_put(g->w, b->msgs[i]);
	uint64_t counts[4] = { b->parsed, b->skipped, b->bad, b->seq_delta };
	if (!rc)
		rc = queue_bookkeeping(g, b->ckpts, b->nckpts, counts, b->tallies, b->ntallies);
	if (!rc)
		rc = learned_into(g, &b->domains, g->pipe->dirs);
	for (size_t off = 0; off + sizeof(ml_report_t) + 4 <= b->reports.len && !rc;) {
		ml_report_t r;
		memcpy(&r, b->reports.data + off, sizeof r);
		const unsigned char *p = (const unsigned char *)b->reports.data + off + sizeof r;
		size_t mn = (size_t)p[0] | (size_t)p[1] << 8;
		ml_slice_t msgid = ml_slice((const char *)p + 2, mn);
		p += 2 + mn;
		size_t qn = (size_t)p[0] | (size_t)p[1] << 8;
		ml_slice_t qid = ml_slice((const char *)p + 2, qn);
		rc = ml_writer_report(g->w, msgid, qid, &r);
		off += sizeof r + 4 + mn + qn;
	}
	return rc;
}

static int writer_begin(ing_t *g, int grow)
{
	struct ml_pipe *p = g->pipe;
	pthread_rwlock_wrlock(&p->maplock);
	int rc = grow ? ml_store_grow(g->store) : ML_OK;
	if (!rc)
		rc = ml_writer_begin(g->w);   /* (may grow the map too) */
	pthread_rwlock_unlock(&p->maplock);
	return rc;
}

/* The writer thread: one batch at a time. */
static void *writer_main(void *arg)
{
	ing_t *g = arg;
	struct ml_pipe *p = g->pipe;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->busy && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->busy)
			break;
		pbatch_t *b = &p->b[p->cur];
		pthread_mutex_unlock(&p->mu);
		int rc = writer_begin(g, 0);
		if (!rc)
			rc = pbatch_queue(g, b);
		if (!rc)
			rc = ml_writer_commit(g->w);
		for (int tries = 0; rc == ML_EFULL && tries < 8; tries++) {
			/* The map filled: grow it and write the same batch again (the
			 * same docids: those handed to the reader stay right) */
			ml_writer_abort(g->w);
			rc = writer_begin(g, 1);
			if (!rc)
				rc = pbatch_queue(g, b);
			if (!rc)
				rc = ml_writer_commit(g->w);
			pthread_mutex_lock(&p->mu);
			if (!rc && p->docids_moved)
				rc = ML_CORRUPT_BKPT;   /* cannot be: the store was as before */
			pthread_mutex_unlock(&p->mu);
		}
		if (rc) {
			ml_writer_abort(g->w);
			snprintf(g->err, sizeof g->err, "%s: cannot write: %s%s", g->store->path, ml_strerror(rc),
			         rc == ML_EFULL || rc == ML_EIO ? " (is the disk full?)" : "");
		} else {
			g->res->messages_written += b->n;
			g->res->commits++;
		}
		pthread_mutex_lock(&p->mu);
		if (rc && !p->rc)
			p->rc = rc;
		p->busy = 0;
		p->docids_ready = 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Wait until the writer has committed what it was given; its error if any. */
static int pipe_drain(ing_t *g)
{
	struct ml_pipe *p = g->pipe;
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->cv, &p->mu);
	int rc = p->rc;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int hand_off(ing_t *g)
{
	struct ml_pipe *p = g->pipe;
	int rc = ML_OK;
	/* the chains' hops, while the writer still writes the batch before
	 * (see "hops in the batch being written") */
	const pbatch_t *w = &p->b[p->cur];
	if (w->n && w->nhop_slots && !w->domains.len) {
		rc = pbatch_index_ids(&p->b[p->cur]);
		p->from_batch = 1;
		if (!rc)
			rc = ml_corr_link(g->corr);
		p->from_batch = 0;
	}
	if (!rc)
		rc = pipe_drain(g);
	if (rc)
		return rc;
	/* the batch written last is done with: freed, and its place takes
	 * this one */
	int next = p->cur;
	pbatch_t *b = &p->b[next];
	pbatch_free_msgs(b);
	ml_heap_trim();
	if (g->before_commit)
		g->before_commit(g);
	/* the chains' hops: in the batch, or in the store, which has every
	 * batch before this one now */
	if ((rc = ml_corr_link(g->corr)))
		return rc;
	b->n = ml_corr_detach(g->corr, &b->msgs);
	free(b->docids);
	b->docids = calloc(b->n + 1, sizeof *b->docids);
	if (!b->docids)
		return ML_ENOMEM;
	if ((rc = pbatch_index(b, &p->kb)) || (rc = pbatch_index_hops(b)))
		return rc;
	for (size_t i = 0; i < b->n && !rc; i++)
		if (!(b->msgs[i]->flags & ML_MSG_CLOSED))
			rc = maybe_add(p, msg_key_hash(ml_message_str(b->msgs[i], b->msgs[i]->host),
			                               ml_message_str(b->msgs[i], b->msgs[i]->queue_id), &p->kb));
	if (rc)
		return rc;
	/* the domains learned in the batch: stored, and the stored messages
	 * they concern decided again, with the batch (by the set as it is now:
	 * the writer is idle) */
	ml_corr_new_domains(g->corr, ml_ing_put_domain, g);
	if (g->learned.len && (rc = ml_corr_copy_domains(p->dirs, g->corr)))
		return rc;
	ml_buf_t dt = b->domains;
	b->domains = g->learned;
	g->learned = dt;
	ml_buf_reset(&g->learned);
	ml_buf_t t = b->reports;   /* the batch's reports go with it */
	b->reports = g->reports;
	g->reports = t;
	ml_buf_reset(&g->reports);
	memcpy(b->ckpts, g->ckpts, g->nckpts * sizeof *g->ckpts);
	b->nckpts = g->nckpts;
	b->parsed = g->parsed;
	b->skipped = g->skipped;
	b->bad = g->bad;
	b->seq_delta = g->seq_delta;
	free(b->tallies);
	b->tallies = malloc((g->ntallies + 1) * sizeof *b->tallies);
	if (!b->tallies)
		return ML_ENOMEM;
	b->ntallies = 0;
	for (unsigned i = 0; i < g->ntallies; i++)
		if (g->tallies[i].count)
			b->tallies[b->ntallies++] = g->tallies[i];
	pthread_mutex_lock(&p->mu);
	p->cur = next;
	p->busy = 1;
	p->docids_ready = p->docids_moved = 0;
	pthread_cond_broadcast(&p->cv);
	while (!p->docids_ready)
		pthread_cond_wait(&p->cv, &p->mu);
	rc = p->busy ? ML_OK : p->rc;
	pthread_mutex_unlock(&p->mu);
	batch_begun(g);
	return rc;
}

static int pipe_start(ing_t *g)
{
	struct ml_pipe *p = calloc(1, sizeof *p);
	if (!p)
		return ML_ENOMEM;
	int rc = ml_search_new(&p->se, g->store);
	if (!rc)
		rc = ml_corr_new(&p->dirs, NULL, NULL);
	if (!rc)
		rc = ml_corr_copy_domains(p->dirs, g->corr);
	if (rc) {
		ml_search_free(p->se);
		ml_corr_free(p->dirs);
		free(p);
		return rc;
	}
	/* the messages in flight in the store now */
	MDB_txn *txn;
	rc = ml_store_read_begin(g->store, &txn);
	if (!rc) {
		MDB_cursor *cur;
		rc = ml_store_errcode(mdb_cursor_open(txn, g->store->open, &cur));
		if (!rc) {
			MDB_val k, v;
			int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			for (; r == 0 && !rc; r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
				rc = maybe_add(p, XXH3_64bits(k.mv_data, k.mv_size));
			if (!rc && r != MDB_NOTFOUND)
				rc = ml_store_errcode(r);
			mdb_cursor_close(cur);
		}
		mdb_txn_abort(txn);
	}
	if (rc) {
		ml_search_free(p->se);
		ml_corr_free(p->dirs);
		free(p->maybe);
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_rwlock_init(&p->maplock, NULL);
	g->pipe = p;
	ml_writer_on_docids(g->w, docids_given, p);
	if (pthread_create(&p->th, NULL, writer_main, g)) {
		ml_writer_on_docids(g->w, NULL, NULL);
		ml_search_free(p->se);
		ml_corr_free(p->dirs);
		free(p->maybe);
		free(p);
		g->pipe = NULL;   /* no thread to be had: written in turn */
	}
	return ML_OK;
}

/* Wait for the last batch, stop the thread.  The writer's error, if any. */
static int pipe_stop(ing_t *g)
{
	struct ml_pipe *p = g->pipe;
	if (!p)
		return ML_OK;
	int rc = pipe_drain(g);
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	ml_writer_on_docids(g->w, NULL, NULL);
	pbatch_free(&p->b[0]);
	ml_search_free(p->se);
	ml_corr_free(p->dirs);
	ml_buf_free(&p->kb);
	free(p->maybe);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_rwlock_destroy(&p->maplock);
	free(p);
	g->pipe = NULL;
	return rc;
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
		ml_ing_set_hops(g);
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
	if (o->source) {
		rc = o->source(g, o->hook_ctx);
	} else if (o->follow) {
		rc = ml_follow(g, paths, npaths);
	} else {
		/* what the set-up queued is committed here; then the batches are
		 * written beside the reading */
		if (!rc)
			rc = ml_writer_commit(g->w);
		if (!rc && !o->sink && !o->pre_commit && !o->post_commit)
			rc = pipe_start(g);   /* (a run with hooks commits in turn) */
		for (int i = 0; i < npaths && !rc && !ml_ing_stop; i++)
			rc = ml_ing_input(g, paths[i]);
		if (!rc)
			rc = ml_ing_commit(g, 0);
		int rc2 = pipe_stop(g);
		if (!rc)
			rc = rc2;
	}
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
	ml_buf_free(&g->reports);
	ml_writer_free(g->w);
	ml_corr_free(g->corr);
	ml_buf_free(&g->learned);
	ml_store_close(g->store);
	free(g);
	return ret;
}

