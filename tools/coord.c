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
#include "tools/output.h"
#include "tools/report.h"

/* ---- the shard's side ---- */

typedef struct {
	pthread_mutex_t mu;       /* one question at a time (the three subjects' threads) */
	const char *db;
	int k;
	ml_store_t *store;        /* opened at the first question that finds the database */
	ml_search_t *se;
	natsConnection *nc;
} resp_t;

static int resp_open(resp_t *r, char *err, size_t errlen)
{
	if (r->se)
		return ML_OK;
	int rc = ml_store_open(&r->store, r->db, ML_STORE_RDONLY, err, errlen);
	if (rc)
		return rc;
	if ((rc = ml_search_new(&r->se, r->store))) {
		ml_store_close(r->store);
		r->store = NULL;
		snprintf(err, errlen, "%s: %s", r->db, ml_strerror(rc));
	}
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

typedef struct {
	json_t *rows;
	int k;
} rows_ctx_t;

static int add_row(void *ctx, const ml_message_t *m, int row)
{
	rows_ctx_t *c = ctx;
	json_t *j = ml_row_json(m, row);
	cluster_id(j, c->k);
	json_array_append_new(c->rows, j);
	return 0;
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

static json_t *answer_search(resp_t *r, const char *data, int len)
{
	char err[512] = "";
	json_error_t je;
	json_t *in = json_loadb(data, (size_t)len, 0, &je);
	json_t *qj = json_object_get(in, "q");
	if (!json_is_object(qj)) {
		json_decref(in);
		return error_json(r->k, "the request is not {\"q\": {...}}");
	}
	ml_query_t q;
	memset(&q, 0, sizeof q);
	const char *name;
	json_t *v;
	json_object_foreach(qj, name, v) {
		const char *val = json_string_value(v);
		if (!val || ml_query_set(&q, name, val, err, sizeof err)) {
			if (!err[0])
				snprintf(err, sizeof err, "%s: not a string", name);
			ml_query_free(&q);
			json_decref(in);
			return error_json(r->k, err);
		}
	}
	json_decref(in);
	if (resp_open(r, err, sizeof err)) {
		ml_query_free(&q);
		return error_json(r->k, err);
	}
	rows_ctx_t c = { json_array(), r->k };
	ml_search_info_t info;
	int rc = ml_search_run(r->se, &q, add_row, &c, &info, err, sizeof err);
	ml_query_free(&q);
	if (rc) {
		json_decref(c.rows);
		return error_json(r->k, err);
	}
	return json_pack("{s:i, s:o, s:b}", "shard", r->k, "rows", c.rows, "truncated", info.truncated);
}

static json_t *answer_show(resp_t *r, const char *data, int len)
{
	char err[512] = "", id[32];
	snprintf(id, sizeof id, "%.*s", ML_MIN(len, 31), data);
	uint64_t docid;
	if (ml_docid_parse(id, &docid))
		return error_json(r->k, "not a message id");
	if (resp_open(r, err, sizeof err))
		return error_json(r->k, err);
	ml_message_t m;
	ml_message_init(&m);
	int rc = ml_search_get(r->se, docid, &m);
	json_t *j;
	if (rc) {
		j = error_json(r->k, rc == ML_ENOTFOUND ? "no such message" : ml_strerror(rc));
	} else {
		j = ml_message_json(&m);
		ml_message_add_chain(j, r->se, &m);
		ml_message_add_reports(j, r->se, m.docid);
		cluster_id(j, r->k);
		json_t *chain = json_object_get(j, "chain");
		size_t i;
		json_t *hop;
		json_array_foreach(chain, i, hop)
			cluster_id(hop, r->k);
		json_object_set_new(j, "shard", json_integer(r->k));
	}
	ml_message_free(&m);
	return j;
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	resp_t *r = closure;
	const char *subj = natsMsg_GetSubject(msg);
	const char *data = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);
	if (!data)
		data = "";
	json_t *j;
	char err[512] = "";
	pthread_mutex_lock(&r->mu);
	if (!strncmp(subj, "mtalog.search.", 14))
		j = answer_search(r, data, len);
	else if (!strncmp(subj, "mtalog.show.", 12))
		j = answer_show(r, data, len);
	else if (resp_open(r, err, sizeof err))
		j = error_json(r->k, err);
	else if (!(j = ml_stats_json(r->store)))
		j = error_json(r->k, "cannot read the statistics");
	else
		json_object_set_new(j, "shard", json_integer(r->k));
	pthread_mutex_unlock(&r->mu);
	reply(r, msg, j);
	natsMsg_Destroy(msg);
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
	resp_t r = { .mu = PTHREAD_MUTEX_INITIALIZER, .db = db, .k = k };
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

/* Ask shards (all when only < 0) kind with payload; answers into g. */
static int gather(natsConnection *nc, gather_t *g, const char *kind, int only, const char *payload, int64_t deadline_ms)
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
		if (only >= 0 && k != only)
			continue;
		char subj[64];
		snprintf(subj, sizeof subj, "mtalog.%s.%d", kind, k);
		if (natsConnection_PublishRequestString(nc, subj, inbox_s, payload) == NATS_OK)
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
	gather(nc, &g, cmd, only, payload, (int64_t)(timeout * 1000));
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

int ml_coord_main(const char *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "mtalog %s: --nats: this mtalog was built without NATS (libnats-dev); see docs/cluster.md\n", cmd);
	return 1;
}

#endif
