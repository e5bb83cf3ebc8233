#include "coord.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/util.h"

#ifdef ML_NATS

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>

#include "index/query.h"
#include "index/store.h"
#include "tools/histogram.h"
#include "tools/output.h"
#include "tools/page.h"
#include "tools/serve.h"

/* ---- the shard's side ---- */

/*
 * The questions of the three subjects go into one queue, which a few worker
 * threads take from, each with a search object of its own: a long search
 * (a regex over every subject, a histogram) does not hold the others up.
 * A question that finds the queue full is answered at once that the shard
 * is busy.
 */
#define RESP_QUEUE_MAX 256

typedef struct job {
	natsMsg *msg;
	struct job *next;
} job_t;

typedef struct {
	pthread_mutex_t mu;       /* the queue; the store's opening */
	pthread_cond_t cv;
	job_t *head, *tail;
	unsigned queued;
	int workers;
	unsigned answering, answering_max;  /* questions being answered; the most at once */
	uint64_t refused;                   /* answered "busy" */
	const char *db;
	int k;
	ml_store_t *store;        /* opened at the first question that finds the database */
	natsConnection *nc;
} resp_t;

typedef struct {
	resp_t *r;
	ml_search_t *se;          /* this worker's */
} worker_t;

static int resp_open(resp_t *r, worker_t *w, char *err, size_t errlen)
{
	if (w->se)
		return ML_OK;
	pthread_mutex_lock(&r->mu);
	int rc = r->store ? ML_OK : ml_store_open(&r->store, r->db, ML_STORE_RDONLY, err, errlen);
	pthread_mutex_unlock(&r->mu);
	if (rc)
		return rc;
	if ((rc = ml_search_new(&w->se, r->store)))
		snprintf(err, errlen, "%s: %s", r->db, ml_strerror(rc));
	return rc;
}

/* "K-docid" in place of the docid of a row or message JSON. */
static void cluster_id(json_t *j, int k)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	if (!id)
		return;
	char buf[48];
	snprintf(buf, sizeof buf, "%d-%s", k, id);
	json_object_set_new(j, "id", json_string(buf));
}

static void reply(resp_t *r, natsMsg *req, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && natsMsg_GetReply(req))
		natsConnection_Publish(r->nc, natsMsg_GetReply(req), s, (int)strlen(s));
	free(s);
	json_decref(j);
}

static json_t *error_json(int k, const char *err)
{
	return json_pack("{s:i, s:s}", "shard", k, "error", err);
}

/* A user of the request ("user": [address, ...]: one who sees their rows
 * only) into u, its addresses pointing into req (u->addrs malloc'd: free
 * it); NULL when there is none.  *bad: out of memory (then NULL too). */
static const ml_user_t *request_user(json_t *req, ml_user_t *u, int *bad)
{
	json_t *a = json_object_get(req, "user");
	memset(u, 0, sizeof *u);
	*bad = 0;
	if (!json_is_array(a))
		return NULL;
	u->name = "";
	u->role = ML_ROLE_USER;
	u->addrs = calloc(json_array_size(a) + 1, sizeof *u->addrs);
	if (!u->addrs) {
		*bad = 1;
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			u->addrs[u->naddrs++] = (char *)json_string_value(v);
	return u;
}

/* Each row's cursor after it, in the order of the rows. */
static void after_row(void *ctx, const ml_page_t *p)
{
	ml_cursor_t c = ml_page_cursor(p);
	char buf[48];
	ml_cursor_format(&c, buf, sizeof buf);
	json_array_append_new(ctx, json_string(buf));
}

/* The hours of a counting walk: {"newest_hour", "nhours", "counts": [[i,
 * status, n], ...] (the non-zero ones), "total", "complete", "stopped"}. */
static json_t *hist_json_hours(const ml_hist_t *h)
{
	json_t *counts = json_array();
	for (uint64_t i = 0; i < h->nhours; i++)
		for (int st = 0; st < ML_ST__COUNT; st++)
			if (h->hours[i][st])
				json_array_append_new(counts, json_pack("[I, i, I]", (json_int_t)i, st,
				                                        (json_int_t)h->hours[i][st]));
	return json_pack("{s:I, s:I, s:o, s:I, s:b, s:i}", "newest_hour", (json_int_t)h->newest_hour, "nhours",
	                 (json_int_t)h->nhours, "counts", counts, "total", (json_int_t)h->total, "complete",
	                 h->complete, "stopped", h->stopped);
}

/* mtalog.search.K: {"q": {param: value}, "cursor": "D[.K]", "user": [...],
 * "budget_ms": n, "total": bool, "hist": bool} (tools/coord.h) */
static json_t *answer_search(worker_t *w, const char *data, int len)
{
	resp_t *r = w->r;
	char err[512] = "";
	json_error_t je;
	json_t *in = json_loadb(data, (size_t)len, 0, &je), *out = NULL, *after = NULL;
	json_t *qj = json_object_get(in, "q");
	if (!json_is_object(qj)) {
		json_decref(in);
		return error_json(r->k, "the request is not {\"q\": {...}}");
	}
	ml_query_t q;
	memset(&q, 0, sizeof q);
	ml_page_t p;
	memset(&p, 0, sizeof p);
	ml_user_t ub;   /* (its addrs freed at the end) */
	memset(&ub, 0, sizeof ub);
	const char *name;
	json_t *v;
	json_object_foreach(qj, name, v) {
		const char *val = json_string_value(v);
		if (!val || ml_query_set(&q, name, val, err, sizeof err)) {
			if (!err[0])
				snprintf(err, sizeof err, "%s: not a string", name);
			out = json_pack("{s:i, s:s, s:i}", "shard", r->k, "error", err, "status", 400);
			goto done;
		}
	}
	int bad;
	const ml_user_t *u = request_user(in, &ub, &bad);
	if (bad) {
		out = error_json(r->k, "out of memory");
		goto done;
	}
	const char *cursor = json_string_value(json_object_get(in, "cursor"));
	ml_cursor_t c;
	if (cursor && ml_cursor_parse(cursor, &c)) {
		out = json_pack("{s:i, s:s, s:i}", "shard", r->k, "error", "cursor: not a cursor", "status", 400);
		goto done;
	}
	/* (search --nats: no budget, as search) */
	json_int_t budget = json_integer_value(json_object_get(in, "budget_ms"));
	if (budget > 0)
		q.deadline_ns = ml_search_clock_ns() + (uint64_t)budget * 1000000;
	if (resp_open(r, w, err, sizeof err)) {
		out = error_json(r->k, err);
		goto done;
	}
	int restricted = ml_page_restrict(&q, u);
	if (json_is_true(json_object_get(in, "hist"))) {
		ml_hist_t h;
		int rc = ml_hist_run(&h, w->se, &q, restricted ? ml_row_visible : NULL, (void *)u, err, sizeof err);
		out = rc ? json_pack("{s:i, s:s, s:i}", "shard", r->k, "error", err, "status", rc == ML_EINVAL ? 400 : 500)
		         : json_pack("{s:i, s:o}", "shard", r->k, "hist", hist_json_hours(&h));
		ml_hist_free(&h);
		goto done;
	}
	p.json = 1;
	p.user = u;
	p.limit = q.limit ? q.limit : ML_QUERY_MAX_LIMIT;
	q.limit = restricted ? ML_QUERY_MAX_LIMIT : p.limit;
	if (cursor)
		ml_page_after(&q, &p, &c);
	after = json_array();
	p.given = after_row;
	p.given_ctx = after;
	ml_page_run_t run;
	int rc = ml_page_fill(&p, w->se, &q, restricted, NULL, &run, err, sizeof err);
	if (rc) {
		out = json_pack("{s:i, s:s, s:i}", "shard", r->k, "error", err[0] ? err : ml_strerror(rc), "status",
		                rc == ML_EINVAL ? 400 : 500);
		goto done;
	}
	uint64_t total = p.n;
	int total_exact = !cursor && !run.truncated && !run.stopped;
	if (json_is_true(json_object_get(in, "total")) && !run.stopped && !total_exact)
		ml_page_total(w->se, &q, u, NULL, &total, &total_exact);
	ml_buf_t text = ML_BUF_INIT;
	ml_buf_putc(&text, '[');
	if (p.rows.len)
		ml_buf_append(&text, p.rows.data, p.rows.len);
	ml_buf_putc(&text, ']');
	json_t *rows = json_loadb(text.data, text.len, 0, &je);
	ml_buf_free(&text);
	size_t i;
	json_array_foreach(rows, i, v)
		cluster_id(v, r->k);
	ml_cursor_t nc;
	char next[48] = "";
	if (ml_page_next(&p, &run, &nc))
		ml_cursor_format(&nc, next, sizeof next);
	out = json_pack("{s:i, s:o, s:O, s:b, s:s?, s:I, s:b, s:b, s:b, s:b, s:I, s:s*}", "shard", r->k, "rows",
	                rows ? rows : json_array(), "after", after, "truncated", run.truncated, "next",
	                next[0] ? next : NULL, "total", (json_int_t)total, "total_exact", total_exact, "scanned",
	                run.scanned, "prefix_capped", run.capped, "complete", !run.stopped && !run.re_limited,
	                "examined", (json_int_t)run.examined, "stopped",
	                run.stopped ? "deadline" : run.re_limited ? "regex limit" : NULL);
done:
	free(ub.addrs);
	json_decref(after);
	ml_page_free(&p);
	ml_query_free(&q);
	json_decref(in);
	return out;
}

/* mtalog.show.K: the docid (decimal), or {"id": docid, "user": [...]}. */
static json_t *answer_show(worker_t *w, const char *data, int len)
{
	resp_t *r = w->r;
	char err[512] = "", id[32];
	json_error_t je;
	json_t *in = len && data[0] == '{' ? json_loadb(data, (size_t)len, 0, &je) : NULL;
	ml_user_t ub;
	int bad;
	const ml_user_t *u = request_user(in, &ub, &bad);
	if (in)
		snprintf(id, sizeof id, "%s", json_string_value(json_object_get(in, "id")) ? json_string_value(json_object_get(in, "id")) : "");
	else
		snprintf(id, sizeof id, "%.*s", ML_MIN(len, 31), data);
	uint64_t docid;
	json_t *j;
	ml_message_t m;
	ml_message_init(&m);
	int whole = 1;
	if (bad) {
		j = error_json(r->k, "out of memory");
	} else if (ml_docid_parse(id, &docid)) {
		j = error_json(r->k, "not a message id");
	} else if (resp_open(r, w, err, sizeof err)) {
		j = error_json(r->k, err);
	} else {
		int rc = ml_search_get(w->se, docid, &m);
		if (rc == 0 && !ml_message_visible(u, &m, &whole))
			rc = ML_ENOTFOUND;
		if (rc) {
			j = rc == ML_ENOTFOUND ? json_pack("{s:i, s:s, s:i}", "shard", r->k, "error", "no such message", "status", 404)
			                       : error_json(r->k, ml_strerror(rc));
		} else {
			j = ml_page_message(w->se, &m, u, whole, NULL);
			cluster_id(j, r->k);
			json_t *chain = json_object_get(j, "chain");
			size_t i;
			json_t *hop;
			json_array_foreach(chain, i, hop)
				cluster_id(hop, r->k);
			json_object_set_new(j, "shard", json_integer(r->k));
		}
	}
	ml_message_free(&m);
	free(ub.addrs);
	json_decref(in);
	return j;
}

/* One question, answered (by worker w). */
static void answer(worker_t *w, natsMsg *msg)
{
	resp_t *r = w->r;
	const char *subj = natsMsg_GetSubject(msg);
	const char *data = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);
	if (!data)
		data = "";
	json_t *j;
	char err[512] = "";
	if (!strncmp(subj, "mtalog.search.", 14))
		j = answer_search(w, data, len);
	else if (!strncmp(subj, "mtalog.show.", 12))
		j = answer_show(w, data, len);
	else if (resp_open(r, w, err, sizeof err))
		j = error_json(r->k, err);
	else if (!(j = ml_stats_json(r->store)))
		j = error_json(r->k, "cannot read the statistics");
	else {
		json_object_set_new(j, "shard", json_integer(r->k));
		pthread_mutex_lock(&r->mu);
		json_object_set_new(j, "questions", json_pack("{s:i, s:i, s:I}", "workers", r->workers,
		                                              "at_once_max", (int)r->answering_max, "refused_busy",
		                                              (json_int_t)r->refused));
		pthread_mutex_unlock(&r->mu);
	}
	reply(r, msg, j);
	natsMsg_Destroy(msg);
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	resp_t *r = w->r;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (!r->head)
			pthread_cond_wait(&r->cv, &r->mu);
		job_t *job = r->head;
		r->head = job->next;
		if (!r->head)
			r->tail = NULL;
		r->queued--;
		if (++r->answering > r->answering_max)
			r->answering_max = r->answering;
		pthread_mutex_unlock(&r->mu);
		answer(w, job->msg);
		free(job);
		pthread_mutex_lock(&r->mu);
		r->answering--;
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

/* A question (the subscriptions' threads): queued for the workers. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	resp_t *r = closure;
	job_t *job = malloc(sizeof *job);
	pthread_mutex_lock(&r->mu);
	int busy = !job || r->queued >= RESP_QUEUE_MAX;
	r->refused += (uint64_t)busy;
	if (!busy) {
		job->msg = msg;
		job->next = NULL;
		if (r->tail)
			r->tail->next = job;
		else
			r->head = job;
		r->tail = job;
		r->queued++;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	if (busy) {
		free(job);
		/* (no status: the coordinator counts the shard as missing) */
		reply(r, msg, error_json(r->k, "busy: too many questions waiting"));
		natsMsg_Destroy(msg);
	}
}

static kvStore *shards_bucket(jsCtx *js, const ml_cluster_opts_t *co)
{
	kvStore *kv = NULL;
	if (js_KeyValue(&kv, js, ML_COORD_BUCKET) == NATS_OK)
		return kv;
	kvConfig kc;
	kvConfig_Init(&kc);
	kc.Bucket = ML_COORD_BUCKET;
	kc.TTL = (int64_t)ML_COORD_TTL_S * 1000000000;   /* nanoseconds */
	kc.Replicas = co->replicas;
	kc.History = 1;
	if (js_CreateKeyValue(&kv, js, &kc) == NATS_OK)
		return kv;
	return js_KeyValue(&kv, js, ML_COORD_BUCKET) == NATS_OK ? kv : NULL;
}

void ml_coord_responder(const char *db, const ml_cluster_opts_t *co, int k, int n)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	pid_t parent = getppid();
	resp_t r = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .db = db, .k = k };
	jsCtx *js = NULL;
	char err[512], name[64];
	snprintf(name, sizeof name, "mtalog shard %d/%d answers", k, n);
	/* a put not answered within a second fails and is tried again soon: a
	 * NATS server lost while the bucket elects its leader must not leave
	 * the entry without a put for its whole lifetime */
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = ML_COORD_PUT_WAIT_MS;
	if (ml_cluster_connect(co, name, &jo, &r.nc, &js, err, sizeof err)) {
		fprintf(stderr, "mtalog ingest: shard %d/%d cannot answer searches: %s\n", k, n, err);
		_exit(2);
	}
	/* the workers: one a processor, from 2 to 8 */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nworkers = ncpu < 2 ? 2 : ncpu > 8 ? 8 : (int)ncpu, started = 0;
	static worker_t workers[8];
	for (int i = 0; i < nworkers; i++) {
		pthread_t th;
		workers[i].r = &r;
		if (pthread_create(&th, NULL, worker_main, &workers[i]) == 0) {
			pthread_detach(th);
			started++;
		}
	}
	if (!started) {
		fprintf(stderr, "mtalog ingest: shard %d/%d cannot answer searches: no thread\n", k, n);
		_exit(2);
	}
	r.workers = started;
	natsSubscription *subs[3] = { 0 };
	const char *kinds[3] = { "search", "show", "stats" };
	for (int i = 0; i < 3; i++) {
		char subj[64];
		snprintf(subj, sizeof subj, "mtalog.%s.%d", kinds[i], k);
		natsConnection_Subscribe(&subs[i], r.nc, subj, on_request, &r);
	}
	/* the subscriptions at the server before the shard is announced */
	natsConnection_Flush(r.nc);
	char key[16], val[32];
	snprintf(key, sizeof key, "%d", k);
	snprintf(val, sizeof val, "%d/%d", k, n);
	kvStore *kv = NULL;
	while (getppid() == parent) {
		if (!kv)
			kv = shards_bucket(js, co);
		if (kv && kvStore_PutString(NULL, kv, key, val) == NATS_OK) {
			nats_Sleep(ML_COORD_ANNOUNCE_S * 1000);
			continue;
		}
		kvStore_Destroy(kv);
		kv = NULL;
		nats_Sleep(ML_COORD_RETRY_MS);
	}
	_exit(0);
}

/* ---- the coordinator's side ---- */

typedef struct {
	int n;                    /* shards expected: 0..n-1 */
	json_t **answers;         /* answers[k], NULL: none */
} gather_t;

/* The shards announced; 0 when none.  The bucket is read through its
 * stream's leader (the subjects it holds, then the last message of each):
 * a bucket's keys and direct gets are answered by any server holding it,
 * and one started again may not have caught up (an entry put since is
 * missing there, or has expired there). */
static int shards_expected(jsCtx *js)
{
	char stream[64], filter[64];
	snprintf(stream, sizeof stream, "KV_%s", ML_COORD_BUCKET);
	snprintf(filter, sizeof filter, "$KV.%s.>", ML_COORD_BUCKET);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Stream.Info.SubjectsFilter = filter;
	jsStreamInfo *si = NULL;
	int n = 0;
	if (js_GetStreamInfo(&si, js, stream, &jo, NULL) != NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	jsStreamStateSubjects *subjects = si->State.Subjects;
	for (int i = 0; subjects && i < subjects->Count; i++) {
		natsMsg *m = NULL;
		const char *op = NULL;
		if (js_GetLastMsg(&m, js, stream, subjects->List[i].Subject, NULL, NULL) != NATS_OK)
			continue;
		/* (a key deleted or purged: a message with KV-Operation) */
		if (natsMsgHeader_Get(m, "KV-Operation", &op) != NATS_OK) {
			char v[32];
			snprintf(v, sizeof v, "%.*s", natsMsg_GetDataLength(m), natsMsg_GetData(m) ? natsMsg_GetData(m) : "");
			const char *slash = strchr(v, '/');
			if (slash && atoi(slash + 1) > n)
				n = atoi(slash + 1);
		}
		natsMsg_Destroy(m);
	}
	jsStreamInfo_Destroy(si);
	return n;
}

/* Ask each shard k whose payloads[k] is not NULL, kind; answers into g. */
static int gather(natsConnection *nc, gather_t *g, const char *kind, char *const *payloads, int64_t deadline_ms)
{
	char inbox_s[128];
	natsInbox *inbox = NULL;
	natsSubscription *sub = NULL;
	if (natsInbox_Create(&inbox) != NATS_OK)
		return ML_ENOMEM;
	snprintf(inbox_s, sizeof inbox_s, "%s", (const char *)inbox);
	natsInbox_Destroy(inbox);
	if (natsConnection_SubscribeSync(&sub, nc, inbox_s) != NATS_OK)
		return ML_EIO;
	int asked = 0;
	for (int k = 0; k < g->n; k++) {
		if (!payloads[k])
			continue;
		char subj[64];
		snprintf(subj, sizeof subj, "mtalog.%s.%d", kind, k);
		if (natsConnection_PublishRequestString(nc, subj, inbox_s, payloads[k]) == NATS_OK)
			asked++;
	}
	natsConnection_Flush(nc);
	int64_t end = nats_Now() + deadline_ms;
	int got = 0;
	while (got < asked) {
		int64_t left = end - nats_Now();
		natsMsg *m = NULL;
		if (left <= 0)
			break;
		natsStatus st = natsSubscription_NextMsg(&m, sub, left);
		if (st == NATS_TIMEOUT)
			break;
		if (st != NATS_OK || !m)
			continue;   /* (a shard with no one answering: the server's 503) */
		if (natsMsg_IsNoResponders(m) || !natsMsg_GetDataLength(m)) {
			natsMsg_Destroy(m);
			continue;
		}
		json_error_t je;
		json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &je);
		natsMsg_Destroy(m);
		json_t *ks = json_object_get(j, "shard");
		int k = json_is_integer(ks) ? (int)json_integer_value(ks) : -1;
		if (k < 0 || k >= g->n || g->answers[k]) {
			json_decref(j);
			continue;
		}
		g->answers[k] = j;
		got++;
	}
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	return ML_OK;
}

/* Shards that did not answer (or answered an error): named on stderr. */
static int report_missing(const char *cmd, gather_t *g, int only, json_t *missing)
{
	int n = 0;
	for (int k = 0; k < g->n; k++) {
		if (only >= 0 && k != only)
			continue;
		const char *e = g->answers[k] ? json_string_value(json_object_get(g->answers[k], "error")) : NULL;
		if (g->answers[k] && !e)
			continue;
		fprintf(stderr, "mtalog %s: shard %d/%d: %s\n", cmd, k, g->n, e ? e : "no answer within the deadline");
		if (missing)
			json_array_append_new(missing, json_integer(k));
		n++;
	}
	return n;
}

/* rows newest first: time, then the id (shard, docid) */
static int cmp_rows(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *tx = json_string_value(json_object_get(x, "time"));
	const char *ty = json_string_value(json_object_get(y, "time"));
	int c = strcmp(ty ? ty : "", tx ? tx : "");
	if (c)
		return c;
	const char *ix = json_string_value(json_object_get(x, "id"));
	const char *iy = json_string_value(json_object_get(y, "id"));
	return strcmp(iy ? iy : "", ix ? ix : "");
}

/* Numbers added, strings the greatest (times), objects merged the same way. */
static void merge_stats(json_t *into, json_t *from)
{
	const char *key;
	json_t *v;
	json_object_foreach(from, key, v) {
		json_t *cur = json_object_get(into, key);
		if (!cur) {
			json_object_set(into, key, v);
		} else if (json_is_integer(cur) && json_is_integer(v)) {
			json_object_set_new(into, key, json_integer(json_integer_value(cur) + json_integer_value(v)));
		} else if (json_is_string(cur) && json_is_string(v)) {
			if (strcmp(json_string_value(v), json_string_value(cur)) > 0)
				json_object_set(into, key, v);
		} else if (json_is_object(cur) && json_is_object(v)) {
			json_t *c = json_deep_copy(cur);
			merge_stats(c, v);
			json_object_set_new(into, key, c);
		} else if (json_is_array(cur) && json_is_array(v)) {
			json_t *c = json_copy(cur);
			json_array_extend(c, v);
			json_object_set_new(into, key, c);
		}
	}
}

/* ---- serve --nats: the page and the API over the shards ---- */

typedef struct {
	natsConnection *nc;
	jsCtx *js;
} coord_serve_t;

/* {"error": text, "parameter": name, "param": name} (name may be NULL), as
 * serve answers a bad parameter. */
static json_t *serve_error(const char *param, const char *text)
{
	json_t *j = json_pack("{s:s}", "error", text);
	if (param) {
		json_object_set_new(j, "parameter", json_string(param));
		json_object_set_new(j, "param", json_string(param));
	}
	return j;
}

/* The shards now (0 when none has announced itself): *out the answer then. */
static int serve_shards(coord_serve_t *c, json_t **out)
{
	int n = shards_expected(c->js);
	if (!n)
		*out = serve_error(NULL, "no shard has announced itself in " ML_COORD_BUCKET);
	return n;
}

/* The request every shard gets: the parameters, the user who sees their
 * rows only (an admin and no --users: every row), the budget. */
static json_t *serve_request(const ml_serve_ask_t *ask)
{
	json_t *req = json_object();
	json_object_set_new(req, "q", ask->params ? json_deep_copy(ask->params) : json_object());
	if (ask->user && ask->user->role != ML_ROLE_ADMIN) {
		json_t *a = json_array();
		for (size_t i = 0; i < ask->user->naddrs; i++)
			json_array_append_new(a, json_string(ask->user->addrs[i]));
		json_object_set_new(req, "user", a);
	}
	json_object_set_new(req, "budget_ms", json_integer((json_int_t)(ask->timeout * 1000)));
	return req;
}

/* Wait for the shards a little longer than their budget: they answer when
 * it runs out, with what they found. */
static int64_t serve_wait_ms(const ml_serve_ask_t *ask)
{
	return (int64_t)(ask->timeout * 1000) + 1000;
}

/* The answers of g into partial/missing of out; a shard's error with a
 * status (a bad parameter: 400) is the answer's: *status. */
static void serve_missing(gather_t *g, char *const *asked, json_t *out, unsigned *status, json_t **err)
{
	json_t *missing = json_array();
	for (int k = 0; k < g->n; k++) {
		if (!asked[k])
			continue;
		json_t *a = g->answers[k];
		const char *e = json_string_value(json_object_get(a, "error"));
		json_int_t st = json_integer_value(json_object_get(a, "status"));
		if (e && st && st != 500 && *status == 200) {
			*status = (unsigned)st;
			char name[32];
			snprintf(name, sizeof name, "%.*s", (int)ML_MIN(strcspn(e, ":"), sizeof name - 1), e);
			*err = serve_error(st == 400 ? name : st == 404 ? "id" : NULL, e);
		}
		if (!a || (e && !st) || (e && st == 500)) {
			if (e)
				fprintf(stderr, "mtalog serve: shard %d: %s\n", k, e);
			json_array_append_new(missing, json_integer(k));
		}
	}
	json_object_set_new(out, "partial", json_boolean(json_array_size(missing)));
	json_object_set_new(out, "missing", missing);
	json_object_set_new(out, "shards", json_integer(g->n));
}

static void gather_free(gather_t *g, char **payloads)
{
	for (int k = 0; k < g->n; k++) {
		json_decref(g->answers[k]);
		if (payloads)
			free(payloads[k]);
	}
	free(g->answers);
	free(payloads);
}

/* A merged cursor: one position a shard, '_' between: "-" from its newest,
 * "x" ended, or its own cursor (tools/page.h).  Into pos[0..n); a cursor of
 * fewer shards (one added since) starts the others from their newest.
 * ML_EINVAL for anything else. */
#define POS_LEN 48
static int merged_cursor_parse(const char *s, int n, char (*pos)[POS_LEN])
{
	for (int k = 0; k < n; k++)
		snprintf(pos[k], POS_LEN, "-");
	if (!s)
		return ML_OK;
	for (int k = 0;; k++) {
		size_t len = strcspn(s, "_");
		ml_cursor_t c;
		if (k >= n || len >= POS_LEN)
			return ML_EINVAL;
		snprintf(pos[k], POS_LEN, "%.*s", (int)len, s);
		if (strcmp(pos[k], "-") && strcmp(pos[k], "x") && ml_cursor_parse(pos[k], &c))
			return ML_EINVAL;
		if (!s[len])
			return ML_OK;
		s += len + 1;
	}
}

/* The rows of the shards' answers, merged newest first (cmp_rows) as long
 * as the order is known: a shard with more rows than it sent, all of whose
 * rows are taken, stops the merge (its next rows may come before the
 * others').  Up to limit rows into rows; pos[k] the cursor after the last
 * row taken from shard k. */
static void merge_pages(gather_t *g, unsigned limit, json_t *rows, char (*pos)[POS_LEN])
{
	size_t *taken = calloc((size_t)g->n, sizeof *taken);
	if (!taken)
		return;
	for (;;) {
		int best = -1, blocked = 0;
		for (int k = 0; k < g->n; k++) {
			json_t *a = g->answers[k];
			if (!a || json_object_get(a, "error"))
				continue;
			json_t *r = json_object_get(a, "rows");
			if (taken[k] == json_array_size(r)) {
				blocked |= json_is_string(json_object_get(a, "next"));
				continue;
			}
			json_t *head = json_array_get(r, taken[k]);
			if (best < 0 || cmp_rows(&head, &(json_t *){ json_array_get(json_object_get(g->answers[best], "rows"),
			                                                             taken[best]) }) < 0)
				best = k;
		}
		if (blocked || best < 0 || json_array_size(rows) >= limit)
			break;
		json_array_append(rows, json_array_get(json_object_get(g->answers[best], "rows"), taken[best]++));
	}
	for (int k = 0; k < g->n; k++) {
		json_t *a = g->answers[k];
		if (!a || json_object_get(a, "error"))
			continue;   /* (not asked, or no answer: asked again from where it was) */
		size_t nrows = json_array_size(json_object_get(a, "rows"));
		const char *next = json_string_value(json_object_get(a, "next"));
		if (taken[k] == nrows)
			snprintf(pos[k], POS_LEN, "%s", next ? next : "x");
		else if (taken[k])
			snprintf(pos[k], POS_LEN, "%s", json_string_value(json_array_get(json_object_get(a, "after"), taken[k] - 1)));
	}
	free(taken);
}

static unsigned serve_search(void *ctx, const ml_serve_ask_t *ask, json_t **out)
{
	coord_serve_t *c = ctx;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	gather_t g = { serve_shards(c, out), NULL };
	if (!g.n)
		return 503;
	char (*pos)[POS_LEN] = calloc((size_t)g.n, sizeof *pos);
	char **payloads = calloc((size_t)g.n, sizeof *payloads);
	g.answers = calloc((size_t)g.n, sizeof *g.answers);
	json_t *req = serve_request(ask);
	unsigned status = 200;
	if (!pos || !payloads || !g.answers) {
		*out = serve_error(NULL, "out of memory");
		status = 500;
		goto done;
	}
	if (merged_cursor_parse(ask->cursor, g.n, pos)) {
		*out = serve_error("cursor", "cursor: not a cursor of this cluster (give back the \"next\" of a search)");
		status = 400;
		goto done;
	}
	/* every shard is asked, an ended one for its total only */
	json_object_set_new(req, "total", json_true());
	for (int k = 0; k < g.n; k++) {
		json_t *q = json_deep_copy(req);
		int ended = !strcmp(pos[k], "x");
		char lim[16];
		snprintf(lim, sizeof lim, "%u", ended ? 1 : ask->limit);
		json_object_set_new(json_object_get(q, "q"), "limit", json_string(lim));
		if (!ended && strcmp(pos[k], "-"))
			json_object_set_new(q, "cursor", json_string(pos[k]));
		payloads[k] = json_dumps(q, JSON_COMPACT);
		json_decref(q);
	}
	gather(c->nc, &g, "search", payloads, serve_wait_ms(ask));
	json_t *err = NULL;
	*out = json_object();
	serve_missing(&g, payloads, *out, &status, &err);
	if (err) {
		json_decref(*out);
		*out = err;
		goto done;
	}
	/* an ended shard's rows are not merged again */
	for (int k = 0; k < g.n; k++)
		if (!strcmp(pos[k], "x") && g.answers[k] && !json_object_get(g.answers[k], "error")) {
			json_object_set_new(g.answers[k], "rows", json_array());
			json_object_del(g.answers[k], "next");
		}
	json_t *rows = json_array();
	merge_pages(&g, ask->limit, rows, pos);
	ml_buf_t next = ML_BUF_INIT;
	int ended = 1;
	for (int k = 0; k < g.n; k++) {
		ml_buf_printf(&next, "%s%s", k ? "_" : "", pos[k]);
		ended &= !strcmp(pos[k], "x");
	}
	json_int_t total = 0, examined = 0;
	int exact = !json_is_true(json_object_get(*out, "partial")), scanned = 0, capped = 0, complete = 1;
	const char *stopped = NULL;
	for (int k = 0; k < g.n; k++) {
		json_t *a = g.answers[k];
		if (!a || json_object_get(a, "error"))
			continue;
		total += json_integer_value(json_object_get(a, "total"));
		examined += json_integer_value(json_object_get(a, "examined"));
		exact &= json_is_true(json_object_get(a, "total_exact")) || !strcmp(pos[k], "x");
		scanned |= json_is_true(json_object_get(a, "scanned"));
		capped |= json_is_true(json_object_get(a, "prefix_capped"));
		complete &= json_is_true(json_object_get(a, "complete"));
		if (!stopped)
			stopped = json_string_value(json_object_get(a, "stopped"));
	}
	json_t *body = json_object();
	json_object_set_new(body, "rows", rows);
	json_object_set_new(body, "truncated", json_boolean(!ended));
	json_object_set_new(body, "next", ended ? json_null() : json_string(ml_buf_cstr(&next)));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ask->user || ask->user->role == ML_ROLE_ADMIN)
		json_object_set_new(body, "took_us", json_integer((json_int_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
		                                                  (t1.tv_nsec - t0.tv_nsec) / 1000));
	json_object_set_new(body, "scanned", json_boolean(scanned));
	json_object_set_new(body, "total", json_integer(total));
	json_object_set_new(body, "total_exact", json_boolean(exact));
	if (capped)
		json_object_set_new(body, "prefix_capped", json_true());
	json_object_set_new(body, "complete", json_boolean(complete));
	json_object_set_new(body, "examined", json_integer(examined));
	if (stopped)
		json_object_set_new(body, "stopped", json_string(stopped));
	json_object_update(body, *out);
	json_decref(*out);
	*out = body;
	ml_buf_free(&next);
done:
	json_decref(req);
	gather_free(&g, payloads);
	free(pos);
	return status;
}

static unsigned serve_histogram(void *ctx, const ml_serve_ask_t *ask, json_t **out)
{
	coord_serve_t *c = ctx;
	gather_t g = { serve_shards(c, out), NULL };
	if (!g.n)
		return 503;
	char **payloads = calloc((size_t)g.n, sizeof *payloads);
	g.answers = calloc((size_t)g.n, sizeof *g.answers);
	json_t *req = serve_request(ask);
	json_object_set_new(req, "hist", json_true());
	char *payload = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	unsigned status = 200;
	if (!payloads || !g.answers || !payload) {
		free(payload);
		gather_free(&g, payloads);
		*out = serve_error(NULL, "out of memory");
		return 500;
	}
	for (int k = 0; k < g.n; k++)
		payloads[k] = k ? strdup(payload) : payload;
	gather(c->nc, &g, "search", payloads, serve_wait_ms(ask));
	json_t *err = NULL, *info = json_object();
	serve_missing(&g, payloads, info, &status, &err);
	if (err) {
		json_decref(info);
		*out = err;
		gather_free(&g, payloads);
		return status;
	}
	/* the shards' hours added up, then the buckets as one node makes them */
	ml_hist_t h;
	memset(&h, 0, sizeof h);
	h.complete = 1;
	uint64_t oldest = UINT64_MAX;
	for (int k = 0; k < g.n; k++) {
		json_t *a = json_object_get(g.answers[k], "hist");
		uint64_t newest = (uint64_t)json_integer_value(json_object_get(a, "newest_hour"));
		uint64_t nh = (uint64_t)json_integer_value(json_object_get(a, "nhours"));
		if (!a)
			continue;
		h.total += (uint64_t)json_integer_value(json_object_get(a, "total"));
		h.complete &= json_is_true(json_object_get(a, "complete"));
		if (!h.stopped)
			h.stopped = (int)json_integer_value(json_object_get(a, "stopped"));
		if (!nh || nh > ML_HIST_MAX_HOURS || newest + 1 < nh)
			continue;
		if (newest > h.newest_hour || !h.nhours)
			h.newest_hour = h.nhours && h.newest_hour > newest ? h.newest_hour : newest;
		if (newest + 1 - nh < oldest)
			oldest = newest + 1 - nh;
		h.nhours = 1;   /* (some hours: sized below) */
	}
	if (h.nhours) {
		h.nhours = h.newest_hour + 1 - oldest;
		h.hours = h.nhours <= ML_HIST_MAX_HOURS ? calloc(h.nhours, sizeof *h.hours) : NULL;
		h.cap = h.hours ? h.nhours : 0;
		if (!h.hours)
			h.nhours = 0;
	}
	for (int k = 0; k < g.n && h.hours; k++) {
		json_t *a = json_object_get(g.answers[k], "hist");
		uint64_t shift = h.newest_hour - (uint64_t)json_integer_value(json_object_get(a, "newest_hour"));
		size_t i;
		json_t *cnt;
		json_array_foreach(json_object_get(a, "counts"), i, cnt) {
			uint64_t hour = (uint64_t)json_integer_value(json_array_get(cnt, 0)) + shift;
			json_int_t st = json_integer_value(json_array_get(cnt, 1));
			if (hour < h.nhours && st >= 0 && st < ML_ST__COUNT)
				h.hours[hour][st] += (uint64_t)json_integer_value(json_array_get(cnt, 2));
		}
	}
	h.complete &= !json_is_true(json_object_get(info, "partial"));
	*out = ml_hist_json(&h);
	/* (incomplete for want of shards only: not "stopped") */
	if (!h.stopped)
		json_object_del(*out, "stopped");
	json_object_update(*out, info);
	json_decref(info);
	ml_hist_free(&h);
	gather_free(&g, payloads);
	return status;
}

static unsigned serve_message(void *ctx, const char *id, const ml_serve_ask_t *ask, json_t **out)
{
	coord_serve_t *c = ctx;
	char err[256];
	const char *dash = strchr(id, '-');
	uint64_t docid;
	int k = dash ? atoi(id) : -1;
	char head[16];
	snprintf(head, sizeof head, "%.*s", dash ? (int)ML_MIN((size_t)(dash - id), sizeof head - 1) : 0, id);
	if (!dash || k < 0 || ml_docid_parse(head, &(uint64_t){ 0 }) || ml_docid_parse(dash + 1, &docid)) {
		snprintf(err, sizeof err, "id: '%.100s' is not a message id (the id of a search row: K-ID)", id);
		*out = serve_error("id", err);
		return 400;
	}
	gather_t g = { serve_shards(c, out), NULL };
	if (!g.n)
		return 503;
	if (k >= g.n) {
		snprintf(err, sizeof err, "no message %.100s (there is no shard %d)", id, k);
		*out = serve_error("id", err);
		return 404;
	}
	char **payloads = calloc((size_t)g.n, sizeof *payloads);
	g.answers = calloc((size_t)g.n, sizeof *g.answers);
	json_t *req = serve_request(ask);
	json_object_del(req, "q");
	json_object_set_new(req, "id", json_string(dash + 1));
	if (payloads && g.answers)
		payloads[k] = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!payloads || !g.answers || !payloads[k]) {
		gather_free(&g, payloads);
		*out = serve_error(NULL, "out of memory");
		return 500;
	}
	gather(c->nc, &g, "show", payloads, serve_wait_ms(ask));
	unsigned status = 200;
	json_t *info = json_object(), *e = NULL;
	serve_missing(&g, payloads, info, &status, &e);
	if (e) {
		snprintf(err, sizeof err, "no message %.100s", id);
		json_decref(e);
		*out = serve_error("id", err);
	} else if (json_is_true(json_object_get(info, "partial"))) {
		snprintf(err, sizeof err, "shard %d did not answer within the deadline", k);
		*out = serve_error(NULL, err);
		json_object_update(*out, info);
		status = 504;
	} else {
		*out = json_incref(g.answers[k]);
		json_object_del(*out, "shard");
	}
	json_decref(info);
	gather_free(&g, payloads);
	return status;
}

int ml_coord_serve(ml_serve_opts_t *o, const char *url)
{
	ml_cluster_opts_t co;
	ml_cluster_opts_init(&co);
	co.url = url;
	coord_serve_t c;
	char err[512];
	if (ml_cluster_connect(&co, "mtalog serve", NULL, &c.nc, &c.js, err, sizeof err)) {
		fprintf(stderr, "mtalog serve: %s\n", err);
		return 2;
	}
	ml_serve_backend_t be = { &c, url, serve_search, serve_histogram, serve_message };
	o->backend = &be;
	int rc = ml_serve_run(o);
	o->backend = NULL;
	ml_cluster_close(c.nc, c.js);
	return rc;
}

static const char coord_usage[] =
	"usage: mtalog search --nats URL [filters] [--limit N] [--timeout S]   (JSON Lines)\n"
	"       mtalog show --nats URL K-ID\n"
	"       mtalog stats --nats URL\n"
	"  ask every shard of a cluster (docs/cluster.md) and merge the answers; a shard\n"
	"  that does not answer within --timeout (5 s) makes the answer partial (exit 3)\n";

int ml_coord_main(const char *cmd, int argc, char **argv)
{
	ml_cluster_opts_t co;
	ml_cluster_opts_init(&co);
	json_t *q = json_object();
	const char *id = NULL;
	double timeout = 5;
	unsigned limit = ML_QUERY_MAX_LIMIT;
	int ret = 1;
	for (int i = 1; i < argc; i++) {
		int r = ml_cluster_opt(&co, cmd, argc, argv, &i);
		if (r < 0)
			goto out;
		if (r)
			continue;
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(coord_usage, stdout);
			ret = 0;
			goto out;
		} else if (!strcmp(a, "--json")) {
			continue;   /* the answer is JSON anyway */
		} else if (!strcmp(a, "--timeout") && i + 1 < argc) {
			timeout = atof(argv[++i]);
			if (!(timeout > 0 && timeout <= 3600)) {
				fprintf(stderr, "mtalog %s: --timeout: '%s' is not a number of seconds above 0\n", cmd, argv[i]);
				goto out;
			}
		} else if (!strcmp(cmd, "search") && !strncmp(a, "--", 2) && a[2] && i + 1 < argc) {
			char name[32];
			snprintf(name, sizeof name, "%s", a + 2);
			for (char *p = name; *p; p++)
				if (*p == '-')
					*p = '_';
			/* checked here as the shards will */
			ml_query_t t;
			memset(&t, 0, sizeof t);
			char err[512];
			int rc = ml_query_set(&t, name, argv[i + 1], err, sizeof err);
			if (!rc && !strcmp(name, "limit") && t.limit)
				limit = t.limit;
			ml_query_free(&t);
			if (rc) {
				fprintf(stderr, "mtalog search: --%s\n", rc == ML_ENOTFOUND ? a + 2 : err);
				goto out;
			}
			json_object_set_new(q, name, json_string(argv[++i]));
		} else if (!strcmp(cmd, "show") && !id && a[0] != '-') {
			id = a;
		} else {
			fprintf(stderr, "mtalog %s: unexpected argument '%s'\n", cmd, a);
			fputs(coord_usage, stderr);
			goto out;
		}
	}
	int only = -1;
	uint64_t docid = 0;
	if (!strcmp(cmd, "show")) {
		char *dash = id ? strchr(id, '-') : NULL;
		only = dash ? atoi(id) : -1;
		if (!dash || only < 0 || ml_docid_parse(dash + 1, &docid)) {
			fprintf(stderr, "mtalog show: give the id of a message as the cluster's search shows it (K-ID)\n");
			goto out;
		}
	}
	natsConnection *nc;
	jsCtx *js;
	char err[512];
	ret = 2;
	if (ml_cluster_connect(&co, "mtalog coordinator", NULL, &nc, &js, err, sizeof err)) {
		fprintf(stderr, "mtalog %s: %s\n", cmd, err);
		goto out;
	}
	/* (the bucket's leader may be elected again just now: ask until the
	 * deadline) */
	int64_t t0 = nats_Now();
	gather_t g = { shards_expected(js), NULL };
	while (!g.n && nats_Now() - t0 < (int64_t)(timeout * 1000)) {
		nats_Sleep(250);
		g.n = shards_expected(js);
	}
	if (!g.n) {
		fprintf(stderr, "mtalog %s: no shard has announced itself in %s\n", cmd, ML_COORD_BUCKET);
		ml_cluster_close(nc, js);
		goto out;
	}
	if (only >= g.n) {
		fprintf(stderr, "mtalog show: there is no shard %d (shards 0 to %d)\n", only, g.n - 1);
		ml_cluster_close(nc, js);
		ret = 1;
		goto out;
	}
	g.answers = calloc((size_t)g.n, sizeof *g.answers);
	char *payload = NULL;
	if (!strcmp(cmd, "search")) {
		json_t *req = json_pack("{s:O}", "q", q);
		payload = json_dumps(req, JSON_COMPACT);
		json_decref(req);
	} else if (!strcmp(cmd, "show")) {
		char buf[32];
		ml_docid_format(docid, buf, sizeof buf);
		payload = strdup(buf);
	} else {
		payload = strdup("{}");
	}
	if (!g.answers || !payload) {
		free(payload);
		free(g.answers);
		ml_cluster_close(nc, js);
		goto out;
	}
	char **payloads = calloc((size_t)g.n, sizeof *payloads);
	for (int k = 0; payloads && k < g.n; k++)
		payloads[k] = only < 0 || k == only ? payload : NULL;
	if (payloads)
		gather(nc, &g, cmd, payloads, (int64_t)(timeout * 1000));
	free(payloads);
	free(payload);
	json_t *missing = json_array();
	int nmissing = report_missing(cmd, &g, only, missing);
	ret = nmissing ? 3 : 0;
	if (!strcmp(cmd, "search")) {
		size_t total = 0;
		for (int k = 0; k < g.n; k++)
			total += json_array_size(json_object_get(g.answers[k], "rows"));
		json_t **rows = calloc(total ? total : 1, sizeof *rows);
		size_t nr = 0;
		for (int k = 0; k < g.n && rows; k++) {
			size_t i;
			json_t *row;
			json_array_foreach(json_object_get(g.answers[k], "rows"), i, row)
				rows[nr++] = row;
		}
		if (nr > 1)
			qsort(rows, nr, sizeof *rows, cmp_rows);
		for (size_t i = 0; i < nr && i < limit; i++) {
			char *s = json_dumps(rows[i], JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (s)
				puts(s);
			free(s);
		}
		free(rows);
		if (nmissing)
			fprintf(stderr, "mtalog search: partial: %d of %d shards did not answer; the rows above are the "
			        "others'\n", nmissing, g.n);
	} else if (!strcmp(cmd, "show")) {
		if (g.answers[only] && !json_object_get(g.answers[only], "error")) {
			json_object_del(g.answers[only], "shard");
			json_dumpf(g.answers[only], stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
		} else if (g.answers[only]) {
			ret = 1;
		}
	} else {
		json_t *sum = json_object();
		for (int k = 0; k < g.n; k++)
			if (g.answers[k] && !json_object_get(g.answers[k], "error")) {
				json_object_del(g.answers[k], "shard");
				json_object_del(g.answers[k], "lag_seconds");
				merge_stats(sum, g.answers[k]);
			}
		json_object_set_new(sum, "shards", json_integer(g.n));
		json_object_set_new(sum, "partial", json_boolean(nmissing));
		json_object_set(sum, "missing", missing);
		json_dumpf(sum, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(sum);
	}
	json_decref(missing);
	for (int k = 0; k < g.n; k++)
		json_decref(g.answers[k]);
	free(g.answers);
	ml_cluster_close(nc, js);
out:
	json_decref(q);
	return ret;
}

#else

void ml_coord_responder(const char *db, const ml_cluster_opts_t *co, int k, int n)
{
	(void)db;
	(void)co;
	(void)k;
	(void)n;
	_exit(1);
}

int ml_coord_serve(ml_serve_opts_t *o, const char *url)
{
	(void)o;
	(void)url;
	fprintf(stderr, "mtalog serve: --nats: this mtalog was built without NATS (libnats-dev); see docs/cluster.md\n");
	return 1;
}

int ml_coord_main(const char *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mtalog %s: --nats: this mtalog was built without NATS (libnats-dev); see docs/cluster.md\n", cmd);
	return 1;
}

#endif
