#include "ship.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/util.h"
#include "tools/cluster.h"
#include "tools/ingest.h"

static const char ship_usage[] =
	"usage: mtalog ship --nats URL [options] PATH...   (- for stdin)\n"
	"  follow the mail logs as `ingest --follow` does and publish each line to the\n"
	"  cluster's stream (docs/cluster.md); SIGINT/SIGTERM stops it\n"
	"      --host NAME           the host the lines come from (default: this host's name);\n"
	"                            given, also the host of lines that name none (Exim's own\n"
	"                            log), as ingest --host\n"
	"      --state PATH          the shipper's checkpoints (default mtalog-ship.db)\n"
	"      --window N            lines published and not yet acknowledged, at most (default 4096)\n"
	"      --once                read the files to their end, then stop\n"
	"      --quiet               no report at the end\n";

#ifdef ML_NATS

#include <pthread.h>

#define SHIP_ACK_WAIT_MS 5000   /* an acknowledgement not there by then: the line failed */

/* A line published and not yet released: its bytes, kept until it and every
 * line before it are acknowledged (they may have to go again). */
typedef struct {
	uint64_t input, off, end;   /* the input's first-line hash; the line's byte range */
	int64_t mtime;
	size_t full_len;
	int flags;                  /* ML_LINE_* */
	int resume;                 /* the first line of an input read from its checkpoint */
	int state;                  /* SLOT_* */
	natsMsg *m;                 /* while the library has it (to find the slot) */
	char *data;
	size_t n;
} slot_t;

enum { SLOT_PENDING, SLOT_ACKED, SLOT_FAILED };

typedef struct {
	jsCtx *js;
	natsConnection *nc;
	char subject[300];
	const char *host;           /* --host: sent with each line (ML_CLUSTER_HDR_HOST) */
	jsPubOptions po;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	slot_t *ring;               /* window slots: ring[(head + i) % cap], i < count */
	size_t cap, head, count, hint;
	size_t pending;             /* slots PENDING */
	int failed;                 /* some slot FAILED: go back to the first */
	unsigned gen;               /* times gone back in this run: the id suffix of a line sent again */
	uint64_t errors;
	natsStatus last_err;
	uint64_t *inputs;           /* the inputs of which a line was published in this run */
	size_t ninputs, inputs_cap;
	int64_t mtime_cached;       /* stdin: now, once a second */
	double mtime_at;
} ship_t;

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	ship_t *s = closure;
	pthread_mutex_lock(&s->mu);
	slot_t *e = NULL;
	for (size_t i = 0; i < s->count && !e; i++) {
		slot_t *x = &s->ring[(s->head + (s->hint + i) % s->count) % s->cap];
		if (x->m == msg)
			e = x;
	}
	if (e) {
		s->hint = ((size_t)(e - s->ring) + s->cap - s->head) % s->cap + 1;
		e->m = NULL;
		e->state = pa ? SLOT_ACKED : SLOT_FAILED;
		s->pending--;
		if (!pa) {
			s->failed = 1;
			s->errors++;
			s->last_err = pae ? pae->Err : NATS_ERR;
		}
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	natsMsg_Destroy(msg);
}

/* The message of slot e (under the mutex or from the main thread only). */
static natsMsg *slot_msg(ship_t *s, const slot_t *e)
{
	natsMsg *m = NULL;
	char id[96], v[32];
	if (natsMsg_Create(&m, s->subject, NULL, e->data, (int)e->n) != NATS_OK)
		return NULL;
	/* hash-offset+length: the stream drops the same line sent again after a
	 * restart; ~gen: a line sent again in this run after a failure (the
	 * lines after it went again too, and must not be dropped) */
	int k = snprintf(id, sizeof id, "%016llx-%llu+%llu", (unsigned long long)e->input,
	                 (unsigned long long)e->off, (unsigned long long)(e->end - e->off));
	if (s->gen)
		snprintf(id + k, sizeof id - (size_t)k, "~%u", s->gen);
	snprintf(v, sizeof v, "%lld", (long long)e->mtime);
	natsStatus st = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
	if (st == NATS_OK)
		st = natsMsgHeader_Set(m, ML_CLUSTER_HDR_MTIME, v);
	if (st == NATS_OK && (e->flags & ML_LINE_TOOLONG)) {
		snprintf(v, sizeof v, "%zu", e->full_len);
		st = natsMsgHeader_Set(m, ML_CLUSTER_HDR_LONG, v);
	}
	if (st == NATS_OK && e->resume)
		st = natsMsgHeader_Set(m, ML_CLUSTER_HDR_RESUME, "1");
	if (st == NATS_OK && s->host)
		st = natsMsgHeader_Set(m, ML_CLUSTER_HDR_HOST, s->host);
	if (st != NATS_OK) {
		natsMsg_Destroy(m);
		return NULL;
	}
	return m;
}

/* Publish slot e (pending); on a stall or while the connection is
 * re-established, again until the library takes it or a stop is asked. */
static int publish(ship_t *s, slot_t *e)
{
	natsMsg *m = slot_msg(s, e);
	if (!m)
		return ML_ENOMEM;
	pthread_mutex_lock(&s->mu);
	e->m = m;
	e->state = SLOT_PENDING;
	s->pending++;
	pthread_mutex_unlock(&s->mu);
	for (int tries = 0;; tries++) {
		natsMsg *mm = m;
		natsStatus st = js_PublishMsgAsync(s->js, &mm, &s->po);
		if (st == NATS_OK)
			return ML_OK;
		if (ml_ing_stop && tries > 50) {
			pthread_mutex_lock(&s->mu);
			e->m = NULL;
			e->state = SLOT_FAILED;
			s->pending--;
			s->failed = 1;
			pthread_mutex_unlock(&s->mu);
			natsMsg_Destroy(m);
			return ML_EINTR;
		}
		if (st != NATS_TIMEOUT)
			nats_Sleep(100);
	}
}

/* Wait (mutex held) until cond or 200 ms. */
static void wait_a_while(ship_t *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 200 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Drop the acknowledged slots at the head (mutex held). */
static void release_head(ship_t *s)
{
	while (s->count && s->ring[s->head].state == SLOT_ACKED) {
		free(s->ring[s->head].data);
		s->ring[s->head].data = NULL;
		s->head = (s->head + 1) % s->cap;
		s->count--;
		s->hint = s->hint ? s->hint - 1 : 0;
	}
}

/* A line failed: once nothing is in flight, every line from the first one
 * not acknowledged goes again, in order (the stream keeps a host's lines in
 * the order of its log; the shard takes a line only at the end of the one
 * before it, tools/shard.h). */
static int go_back(ship_t *s)
{
	/* every line in flight is answered within SHIP_ACK_WAIT_MS (or times out) */
	pthread_mutex_lock(&s->mu);
	while (s->pending)
		wait_a_while(s);
	release_head(s);
	size_t n = s->count;
	uint64_t errors = s->errors;
	natsStatus last = s->last_err;
	s->failed = 0;
	s->gen++;
	pthread_mutex_unlock(&s->mu);
	fprintf(stderr, "mtalog ship: a line was not acknowledged (%s; %llu so far): the last %zu lines go again\n",
	        natsStatus_GetText(last), (unsigned long long)errors, n);
	nats_Sleep(200);   /* a server down: give the cluster a moment */
	for (size_t i = 0; i < n; i++) {
		int rc = publish(s, &s->ring[(s->head + i) % s->cap]);
		if (rc)
			return rc;
	}
	return ML_OK;
}

static int ship_line(void *ctx, const ml_input_id_t *in, const char *path, const ml_line_t *l)
{
	ship_t *s = ctx;
	int64_t mtime = in->mtime;
	if (in->is_stdin) {
		double now = ml_ing_now();
		if (!s->mtime_cached || now - s->mtime_at >= 1) {
			s->mtime_cached = (int64_t)time(NULL);
			s->mtime_at = now;
		}
		mtime = s->mtime_cached;
	}
	pthread_mutex_lock(&s->mu);
	release_head(s);
	while (s->count == s->cap && !s->failed) {
		wait_a_while(s);
		release_head(s);
	}
	int failed = s->failed;
	pthread_mutex_unlock(&s->mu);
	if (failed) {
		int rc = go_back(s);
		if (rc)
			return rc;
		return ship_line(ctx, in, path, l);
	}
	char *data = malloc(l->n ? l->n : 1);
	if (!data)
		return ML_ENOMEM;
	memcpy(data, l->p, l->n);
	pthread_mutex_lock(&s->mu);
	slot_t *e = &s->ring[(s->head + s->count) % s->cap];
	*e = (slot_t){ .input = in->first_hash, .off = l->off, .end = l->end, .mtime = mtime,
	               .full_len = l->full_len, .flags = l->flags, .state = SLOT_PENDING, .data = data, .n = l->n };
	/* a line not at the start of its input, first of it in this run: the
	 * shard takes it as where this input goes on */
	int known = 0;
	for (size_t i = s->ninputs; i-- > 0 && !known;)
		known = s->inputs[i] == in->first_hash;
	if (!known && ml_array_grow((void **)&s->inputs, &s->inputs_cap, sizeof *s->inputs, s->ninputs + 1, 16) == 0)
		s->inputs[s->ninputs++] = in->first_hash;
	e->resume = !known && l->off != 0;
	s->count++;
	pthread_mutex_unlock(&s->mu);
	return publish(s, e);
}

/* Before the checkpoints commit: every line published is acknowledged.  A
 * stop asked while the stream does not answer gives up after a while: the
 * checkpoints stay where they were (the lines go again next time). */
static int ship_pre_commit(ing_t *g, void *ctx)
{
	ship_t *s = ctx;
	double t0 = ml_ing_now();
	for (;;) {
		pthread_mutex_lock(&s->mu);
		release_head(s);
		int failed = s->failed, done = !s->count;
		size_t left = s->count;
		if (!failed && !done)
			wait_a_while(s);
		pthread_mutex_unlock(&s->mu);
		if (done)
			return ML_OK;
		if (failed) {
			int rc = go_back(s);
			if (rc)
				return rc;
		}
		if (ml_ing_stop && ml_ing_now() - t0 > 2.0 * SHIP_ACK_WAIT_MS / 1000) {
			snprintf(g->err, sizeof g->err, "%zu lines not acknowledged by the stream; "
			         "they are published again at the next start", left);
			return ML_EINTR;
		}
	}
}

int ml_ship_main(int argc, char **argv)
{
	ml_cluster_opts_t co;
	ml_cluster_opts_init(&co);
	const char *host = NULL, *state = "mtalog-ship.db";
	long window = 4096;
	int once = 0, quiet = 0;
	char **paths = calloc((size_t)argc + 1, sizeof *paths);
	int npaths = 0;
	if (!paths)
		return 2;
	for (int i = 1; i < argc; i++) {
		int r = ml_cluster_opt(&co, "ship", argc, argv, &i);
		if (r < 0)
			goto usage_err;
		if (r)
			continue;
		const char *a = argv[i];
		if (!strcmp(a, "--host") && i + 1 < argc) {
			host = argv[++i];
		} else if (!strcmp(a, "--state") && i + 1 < argc) {
			state = argv[++i];
		} else if (!strcmp(a, "--window") && i + 1 < argc) {
			window = atol(argv[++i]);
			if (window < 1 || window > 1000000) {
				fprintf(stderr, "mtalog ship: --window: '%s' is not a number from 1 to 1000000\n", argv[i]);
				goto usage_err;
			}
		} else if (!strcmp(a, "--once")) {
			once = 1;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(ship_usage, stdout);
			fputs(ml_cluster_usage, stdout);
			free(paths);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "mtalog ship: unknown option '%s'\n", a);
			goto usage_err;
		} else {
			paths[npaths++] = argv[i];
		}
	}
	if (!co.url || !npaths) {
		fprintf(stderr, "mtalog ship: give --nats URL and the logs to follow (or - for stdin)\n");
		goto usage_err;
	}
	char hostname[256] = "";
	const char *given = host;   /* (NULL: the lines name their hosts) */
	if (!host) {
		gethostname(hostname, sizeof hostname - 1);
		char *dot = strchr(hostname, '.');
		if (dot)
			*dot = 0;
		host = hostname;
	}
	ship_t s;
	memset(&s, 0, sizeof s);
	s.host = given;
	s.cap = (size_t)window;
	s.ring = calloc(s.cap, sizeof *s.ring);
	if (!s.ring) {
		free(paths);
		return 2;
	}
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	char tok[256];
	ml_cluster_host_token(host, tok, sizeof tok);
	snprintf(s.subject, sizeof s.subject, ML_CLUSTER_LINES_PFX "%s", tok);
	jsPubOptions_Init(&s.po);
	s.po.MaxWait = SHIP_ACK_WAIT_MS;
	char err[512];
	char name[300];
	snprintf(name, sizeof name, "mtalog ship %s", tok);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = window;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = &s;
	if (ml_cluster_connect(&co, name, &jo, &s.nc, &s.js, err, sizeof err)) {
		fprintf(stderr, "mtalog ship: %s\n", err);
		free(paths);
		return 2;
	}
	int stdin_only = npaths == 1 && !strcmp(paths[0], "-");
	ml_ingest_opts_t o = { .db_path = state, .batch_lines = 200000, .batch_ms = 1000, .report = stderr,
	                       .poll_ms = 100, .quiet = 1, .follow = !once && !stdin_only,
	                       .sink = ship_line, .pre_commit = ship_pre_commit, .hook_ctx = &s };
	ml_ingest_result_t res;
	int ret = ml_ingest_run(&o, paths, npaths, &res);
	if (!quiet)
		fprintf(stderr, "mtalog ship: %llu lines (%.1f MB) published as %s in %.1f s: %.0f lines/s\n",
		        (unsigned long long)res.lines, res.bytes / 1e6, s.subject, res.seconds,
		        res.seconds > 0 ? res.lines / res.seconds : 0.0);
	/* what is still waiting (a failed last commit) is dropped: its lines go
	 * again at the next start */
	natsConnection_Close(s.nc);
	ml_cluster_close(s.nc, s.js);
	for (size_t i = 0; i < s.cap; i++)
		free(s.ring[i].data);
	free(s.ring);
	free(s.inputs);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	free(paths);
	return ret;
usage_err:
	fputs(ship_usage, stderr);
	free(paths);
	return 1;
}

#else

int ml_ship_main(int argc, char **argv)
{
	(void)ship_usage;
	(void)argc;
	(void)argv;
	fprintf(stderr, "mtalog ship: this mtalog was built without NATS (libnats-dev); see docs/cluster.md\n");
	return 1;
}

#endif
