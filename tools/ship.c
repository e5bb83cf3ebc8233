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
	"      --host NAME           the host the lines come from (default: this host's name)\n"
	"      --state PATH          the shipper's checkpoints (default mtalog-ship.db)\n"
	"      --window N            lines published and not yet acknowledged, at most (default 4096)\n"
	"      --once                read the files to their end, then stop\n"
	"      --quiet               no report at the end\n";

#ifdef ML_NATS

#include <pthread.h>

#define SHIP_ACK_WAIT_MS 5000   /* an acknowledgement not there by then: publish again */

typedef struct {
	jsCtx *js;
	natsConnection *nc;
	char subject[300];
	jsPubOptions po;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t inflight;        /* published, not acknowledged (the retry list included) */
	natsMsg **retry;          /* acknowledgement failed: publish again */
	size_t nretry, cap;
	uint64_t errors;          /* failed acknowledgements, reported now and then */
	natsStatus last_err;
	int64_t mtime_cached;     /* stdin: now, once a second */
	double mtime_at;
} ship_t;

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	ship_t *s = closure;
	pthread_mutex_lock(&s->mu);
	if (pa) {
		s->inflight--;
		natsMsg_Destroy(msg);
		if (!s->inflight)
			pthread_cond_broadcast(&s->cv);
	} else {
		/* kept (same Nats-Msg-Id header) for the main thread to publish again */
		s->errors++;
		s->last_err = pae ? pae->Err : NATS_ERR;
		if (ml_array_grow((void **)&s->retry, &s->cap, sizeof *s->retry, s->nretry + 1, 64) == 0)
			s->retry[s->nretry++] = msg;
		else
			natsMsg_Destroy(msg);   /* (inflight stays: the commit cannot happen) */
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Publish msg (ours until it is taken); on a stall or a connection being
 * re-established, try again until it is taken or a stop is asked. */
static int publish(ship_t *s, natsMsg **msg)
{
	for (int tries = 0;; tries++) {
		natsStatus st = js_PublishMsgAsync(s->js, msg, &s->po);
		if (st == NATS_OK)
			return ML_OK;
		if (ml_ing_stop && tries > 50)
			return ML_EINTR;
		if (st != NATS_TIMEOUT)
			nats_Sleep(100);
	}
}

/* Publish again the lines whose acknowledgement failed. */
static int republish(ship_t *s)
{
	pthread_mutex_lock(&s->mu);
	natsMsg **list = s->retry;
	size_t n = s->nretry;
	s->retry = NULL;
	s->nretry = s->cap = 0;
	natsStatus last = s->last_err;
	uint64_t errors = s->errors;
	pthread_mutex_unlock(&s->mu);
	int rc = ML_OK;
	if (n) {
		fprintf(stderr, "mtalog ship: %zu lines not acknowledged (%s; %llu so far): published again\n", n,
		        natsStatus_GetText(last), (unsigned long long)errors);
		nats_Sleep(200);   /* a server down: give the cluster a moment */
	}
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = publish(s, &list[i]);
		natsMsg_Destroy(list[i]);   /* NULL when taken */
	}
	free(list);
	return rc;
}

static int ship_line(void *ctx, const ml_input_id_t *in, const char *path, const ml_line_t *l)
{
	ship_t *s = ctx;
	natsMsg *m = NULL;
	char id[64], v[32];
	if (natsMsg_Create(&m, s->subject, NULL, l->p, (int)l->n) != NATS_OK)
		return ML_ENOMEM;
	int64_t mtime = in->mtime;
	if (in->is_stdin) {
		double now = ml_ing_now();
		if (!s->mtime_cached || now - s->mtime_at >= 1) {
			s->mtime_cached = (int64_t)time(NULL);
			s->mtime_at = now;
		}
		mtime = s->mtime_cached;
	}
	snprintf(id, sizeof id, "%016llx-%llu", (unsigned long long)in->first_hash, (unsigned long long)l->off);
	snprintf(v, sizeof v, "%lld", (long long)mtime);
	natsStatus st = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
	if (st == NATS_OK)
		st = natsMsgHeader_Set(m, ML_CLUSTER_HDR_MTIME, v);
	if (st == NATS_OK && (l->flags & ML_LINE_TOOLONG)) {
		snprintf(v, sizeof v, "%zu", l->full_len);
		st = natsMsgHeader_Set(m, ML_CLUSTER_HDR_LONG, v);
	}
	if (st != NATS_OK) {
		natsMsg_Destroy(m);
		return ML_ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	s->inflight++;
	int again = s->nretry != 0;
	pthread_mutex_unlock(&s->mu);
	int rc = publish(s, &m);
	if (rc) {
		natsMsg_Destroy(m);
		pthread_mutex_lock(&s->mu);
		s->inflight--;
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	return again ? republish(s) : ML_OK;
}

/* Before the checkpoints commit: every line published is acknowledged.  A
 * stop asked while the stream does not answer gives up after a while: the
 * checkpoints stay where they were (the lines go again next time). */
static int ship_pre_commit(ing_t *g, void *ctx)
{
	ship_t *s = ctx;
	double t0 = ml_ing_now();
	for (;;) {
		int rc = republish(s);
		if (rc)
			return rc;
		pthread_mutex_lock(&s->mu);
		if (!s->inflight && !s->nretry) {
			pthread_mutex_unlock(&s->mu);
			return ML_OK;
		}
		if (!s->nretry) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
		uint64_t left = s->inflight;
		pthread_mutex_unlock(&s->mu);
		if (ml_ing_stop && ml_ing_now() - t0 > 2.0 * SHIP_ACK_WAIT_MS / 1000) {
			snprintf(g->err, sizeof g->err, "%llu lines not acknowledged by the stream; "
			         "they are published again at the next start", (unsigned long long)left);
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
	if (!host) {
		gethostname(hostname, sizeof hostname - 1);
		char *dot = strchr(hostname, '.');
		if (dot)
			*dot = 0;
		host = hostname;
	}
	ship_t s;
	memset(&s, 0, sizeof s);
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
	                       .poll_ms = 100, .quiet = quiet, .follow = !once && !stdin_only,
	                       .sink = ship_line, .pre_commit = ship_pre_commit, .hook_ctx = &s };
	ml_ingest_result_t res;
	int ret = ml_ingest_run(&o, paths, npaths, &res);
	if (!quiet)
		fprintf(stderr, "mtalog ship: %llu lines published as %s\n", (unsigned long long)res.lines, s.subject);
	/* what is still waiting (a failed last commit) is dropped: its lines go again */
	pthread_mutex_lock(&s.mu);
	for (size_t i = 0; i < s.nretry; i++)
		natsMsg_Destroy(s.retry[i]);
	free(s.retry);
	s.retry = NULL;
	pthread_mutex_unlock(&s.mu);
	natsConnection_Close(s.nc);
	ml_cluster_close(s.nc, s.js);
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
	(void)argc;
	(void)argv;
	fprintf(stderr, "mtalog ship: this mtalog was built without NATS (libnats-dev); see docs/cluster.md\n");
	return 1;
}

#endif
