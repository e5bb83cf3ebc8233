/*
 * serve.c — `mtalog serve` (see serve.h for the endpoints and the cursor).
 *
 * Each request is answered whole from memory: the search runs, its rows
 * become one JSON (or CSV) buffer, libmicrohttpd sends it.  Nothing of a
 * request outlives it except the borrowed ml_search_t, which goes back to
 * the free list.
 *
 * The map.  When `ingest` grows the database map, a reader's next
 * transaction gets MDB_MAP_RESIZED and must remap (ml_store_read_begin does
 * it), which LMDB allows only while no other transaction of the process is
 * open.  So the server maps far more than the file (ML_SERVE_MAP, address
 * space only), which a writer rarely outgrows, and every request holds a
 * read lock on `maplock`; a request that still sees MDB_MAP_RESIZED remaps
 * under the write lock, with no other request inside.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/query.h"
#include "index/store.h"
#include "tools/output.h"

#define ML_SERVE_MAP ((size_t)1 << 40)   /* 1 TiB of address space */
#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))

/* The CSV header when a search has no rows (ml_out writes it with the first row). */
static const char csv_header[] =
	"id,time,host,queue_id,direction,from,to,orig_to,subject,status,dsn,relay,delay,"
	"reason,message_id,client_ip,size\r\n";

typedef struct {
	ml_store_t *store;
	int verbose;
	pthread_mutex_t pool_lock;
	ml_search_t **pool;      /* free search objects */
	size_t npool, cappool;
	pthread_rwlock_t maplock;
} server_t;

/* ---- cursor ---- */

int ml_cursor_parse(const char *s, ml_cursor_t *c)
{
	const char *dot = strchr(s, '.');
	char head[32];
	size_t n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof head)
		return ML_EINVAL;
	memcpy(head, s, n);
	head[n] = '\0';
	if (ml_docid_parse(head, &c->docid) || c->docid == 0 || c->docid == UINT64_MAX)
		return ML_EINVAL;
	c->skip = 0;
	if (dot) {
		uint64_t k;
		if (ml_docid_parse(dot + 1, &k) || k == 0 || k > UINT32_MAX)
			return ML_EINVAL;
		c->skip = (uint32_t)k;
	}
	return ML_OK;
}

void ml_cursor_format(const ml_cursor_t *c, char *buf, size_t len)
{
	if (c->skip)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu32, c->docid, c->skip);
	else
		snprintf(buf, len, "%" PRIu64, c->docid);
}

/* ---- search objects, one per request ---- */

static ml_search_t *search_borrow(server_t *sv)
{
	ml_search_t *se = NULL;
	pthread_mutex_lock(&sv->pool_lock);
	if (sv->npool)
		se = sv->pool[--sv->npool];
	pthread_mutex_unlock(&sv->pool_lock);
	if (!se && ml_search_new(&se, sv->store))
		return NULL;
	return se;
}

static void search_return(server_t *sv, ml_search_t *se)
{
	if (!se)
		return;
	pthread_mutex_lock(&sv->pool_lock);
	if (sv->npool == sv->cappool) {
		size_t cap = sv->cappool ? sv->cappool * 2 : 8;
		ml_search_t **p = realloc(sv->pool, cap * sizeof *p);
		if (!p) {
			pthread_mutex_unlock(&sv->pool_lock);
			ml_search_free(se);
			return;
		}
		sv->pool = p;
		sv->cappool = cap;
	}
	sv->pool[sv->npool++] = se;
	pthread_mutex_unlock(&sv->pool_lock);
}

/* Enter the database (read lock); remap first if the writer grew the map
 * beyond ours. */
static void db_enter(server_t *sv)
{
	pthread_rwlock_rdlock(&sv->maplock);
	MDB_txn *txn;
	int rc = mdb_txn_begin(sv->store->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		mdb_txn_abort(txn);
		return;
	}
	if (rc != MDB_MAP_RESIZED)
		return;  /* the search reports the error */
	pthread_rwlock_unlock(&sv->maplock);
	pthread_rwlock_wrlock(&sv->maplock);
	mdb_env_set_mapsize(sv->store->env, 0);
	pthread_rwlock_unlock(&sv->maplock);
	pthread_rwlock_rdlock(&sv->maplock);
}

static void db_leave(server_t *sv)
{
	pthread_rwlock_unlock(&sv->maplock);
}

/* ---- responses ---- */

typedef struct {
	server_t *sv;
	struct MHD_Connection *conn;
	const char *method, *url;
	struct timespec t0;
} req_t;

static int64_t elapsed_us(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

/* Queue a response of len bytes of body (copied).  extra: NULL-terminated
 * header name/value pairs. */
static enum MHD_Result respond(req_t *r, unsigned status, const char *type, const void *body,
                               size_t len, const char *const *extra)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (; extra && extra[0]; extra += 2)
		MHD_add_response_header(resp, extra[0], extra[1]);
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (r->sv->verbose)
		fprintf(stderr, "mtalog serve: %s %s %u %zu bytes %" PRId64 " us\n", r->method, r->url,
		        status, len, elapsed_us(&r->t0));
	return ret;
}

static enum MHD_Result respond_json(req_t *r, unsigned status, json_t *j)
{
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };
	char *s = j ? json_dumps(j, JSON_FLAGS) : NULL;
	json_decref(j);
	if (!s) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		return respond(r, 500, "application/json", oom, sizeof oom - 1, hdr);
	}
	enum MHD_Result ret = respond(r, status, "application/json", s, strlen(s), hdr);
	free(s);
	return ret;
}

/* {"error": text, "parameter": name} (name may be NULL).  Text is sanitized:
 * it may quote what the user sent. */
static enum MHD_Result respond_error(req_t *r, unsigned status, const char *param, const char *text)
{
	ml_buf_t b = ML_BUF_INIT;
	ml_utf8_sanitize(&b, text, strlen(text));
	json_t *j = json_object();
	json_object_set_new(j, "error", json_stringn(b.data ? b.data : "", b.len));
	if (param) {
		ml_buf_reset(&b);
		ml_utf8_sanitize(&b, param, strlen(param));
		json_object_set_new(j, "parameter", json_stringn(b.data ? b.data : "", b.len));
	}
	ml_buf_free(&b);
	return respond_json(r, status, j);
}

/* ---- /api/search ---- */

typedef struct {
	ml_query_t q;
	ml_cursor_t cursor;
	int has_cursor;
	char seen[32];          /* parameters given, by index in ml_query_params */
	char bad_param[64];     /* first bad parameter */
	char err[512];
	unsigned status;        /* 0, or the error status */
} args_t;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	args_t *a = cls;
	if (!value)
		value = "";
	if (!*key && !*value)
		return MHD_YES;  /* "?&to=x" */
	if (!strcmp(key, "cursor")) {
		if (!*value)
			return MHD_YES;
		if (a->has_cursor || ml_cursor_parse(value, &a->cursor)) {
			snprintf(a->bad_param, sizeof a->bad_param, "cursor");
			snprintf(a->err, sizeof a->err, a->has_cursor ? "cursor: given twice"
			         : "cursor: '%.200s' is not a cursor (give back the \"next\" of a search)", value);
			a->status = 400;
			return MHD_NO;
		}
		a->has_cursor = 1;
		return MHD_YES;
	}
	size_t i = 0;
	while (ml_query_params[i] && strcmp(ml_query_params[i], key))
		i++;
	snprintf(a->bad_param, sizeof a->bad_param, "%s", key);
	a->status = 400;
	if (!ml_query_params[i]) {
		snprintf(a->err, sizeof a->err, "unknown parameter '%.100s' (known: from, to, subject, subject_re, "
		         "status, direction, since, until, msgid, ip, host, queue_id, limit, cursor)", key);
		return MHD_NO;
	}
	if (i < sizeof a->seen && a->seen[i]++) {
		snprintf(a->err, sizeof a->err, "%s: given twice", key);
		return MHD_NO;
	}
	if (*value && ml_query_set(&a->q, key, value, a->err, sizeof a->err))
		return MHD_NO;
	a->status = 0;
	a->bad_param[0] = '\0';
	return MHD_YES;
}

typedef struct {
	json_t *rows;           /* JSON: the rows */
	ml_out_t *out;          /* CSV: the writer */
	unsigned limit;         /* rows wanted */
	unsigned n;             /* rows given */
	int more;               /* a row beyond the limit was seen */
	ml_cursor_t skip;       /* rows of a message already given on the previous page */
	uint64_t last_docid;
	uint32_t last_pos, last_nrows;
} page_t;

static int page_row(void *ctx, const ml_message_t *m, int row)
{
	page_t *p = ctx;
	uint32_t pos = row < 0 ? 0 : (uint32_t)row;
	if (p->skip.skip && m->docid == p->skip.docid && pos < p->skip.skip)
		return 0;
	if (p->n == p->limit) {
		p->more = 1;
		return 1;
	}
	if (p->rows) {
		json_t *j = ml_row_json(m, row);
		if (!j || json_array_append_new(p->rows, j))
			return ML_ENOMEM;
	} else if (ml_out_row(p->out, m, row)) {
		return ML_ENOMEM;
	}
	p->n++;
	p->last_docid = m->docid;
	p->last_pos = pos;
	p->last_nrows = m->nrcpts ? m->nrcpts : 1;
	return 0;
}

static enum MHD_Result api_search(req_t *r, int csv)
{
	args_t a;
	memset(&a, 0, sizeof a);
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.status) {
		ml_query_free(&a.q);
		return respond_error(r, a.status, a.bad_param, a.err);
	}
	page_t p;
	memset(&p, 0, sizeof p);
	p.limit = a.q.limit ? a.q.limit : ML_QUERY_MAX_LIMIT;
	if (a.has_cursor) {
		p.skip = a.cursor;
		/* "D.K": from D inclusive, skipping K rows of D; "D": below D */
		a.q.before_docid = a.cursor.skip ? a.cursor.docid + 1 : a.cursor.docid;
	}
	/* the rows of the cursor's message given already are skipped by the
	 * search itself: a page holds the full limit */
	a.q.before_row = a.cursor.skip;
	a.q.limit = p.limit;

	char *csvbuf = NULL;
	size_t csvlen = 0;
	FILE *mem = NULL;
	if (csv) {
		mem = open_memstream(&csvbuf, &csvlen);
		p.out = mem ? ml_out_new(mem, ML_OUT_CSV) : NULL;
	} else {
		p.rows = json_array();
	}
	ml_search_t *se = search_borrow(r->sv);
	if (!se || !(csv ? (void *)p.out : (void *)p.rows)) {
		search_return(r->sv, se);
		if (p.out)
			ml_out_finish(p.out);
		if (mem)
			fclose(mem);
		free(csvbuf);
		json_decref(p.rows);
		ml_query_free(&a.q);
		return respond_error(r, 500, NULL, "out of memory");
	}
	ml_search_info_t info;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	db_enter(r->sv);
	int rc = ml_search_run(se, &a.q, page_row, &p, &info, a.err, sizeof a.err);
	db_leave(r->sv);
	int64_t took = elapsed_us(&t0);
	search_return(r->sv, se);
	ml_query_free(&a.q);

	int truncated = p.more || info.truncated;
	char next[48] = "";
	if (!rc && truncated) {
		ml_cursor_t nc;
		if (p.n == 0) {
			/* only rows of the cursor's message came, all skipped: it has more
			 * matching rows than one search returns; go on below it */
			nc.docid = p.skip.docid;
			nc.skip = 0;
		} else {
			nc.docid = p.last_docid;
			nc.skip = p.last_pos + 1 >= p.last_nrows ? 0 : p.last_pos + 1;
		}
		ml_cursor_format(&nc, next, sizeof next);
	}
	if (csv) {
		ml_out_finish(p.out);
		if (!rc && p.n == 0)
			fputs(csv_header, mem);
		fclose(mem);
	}
	if (rc) {
		free(csvbuf);
		json_decref(p.rows);
		if (rc == ML_EINVAL) {
			/* the message starts with the parameter's name */
			char name[32];
			size_t k = strcspn(a.err, ":");
			snprintf(name, sizeof name, "%.*s", (int)ML_MIN(k, sizeof name - 1), a.err);
			return respond_error(r, 400, name, a.err);
		}
		return respond_error(r, 500, NULL, a.err[0] ? a.err : ml_strerror(rc));
	}
	if (csv) {
		const char *hdr[] = { "Cache-Control", "no-store",
			"Content-Disposition", "attachment; filename=\"mtalog-search.csv\"",
			next[0] ? "X-Mtalog-Next" : NULL, next, NULL };
		enum MHD_Result ret = respond(r, 200, "text/csv; charset=utf-8", csvbuf, csvlen, hdr);
		free(csvbuf);
		return ret;
	}
	json_t *j = json_object();
	json_object_set_new(j, "rows", p.rows);
	json_object_set_new(j, "truncated", json_boolean(truncated));
	json_object_set_new(j, "next", next[0] ? json_string(next) : json_null());
	json_object_set_new(j, "took_us", json_integer((json_int_t)took));
	json_object_set_new(j, "scanned", json_boolean(info.scanned));
	return respond_json(r, 200, j);
}

/* ---- /api/messages/ID ---- */

static enum MHD_Result api_message(req_t *r, const char *id)
{
	uint64_t docid;
	char err[256];
	if (ml_docid_parse(id, &docid)) {
		snprintf(err, sizeof err, "id: '%.100s' is not a message id (the id of a search row)", id);
		return respond_error(r, 400, "id", err);
	}
	ml_search_t *se = search_borrow(r->sv);
	if (!se)
		return respond_error(r, 500, NULL, "out of memory");
	ml_message_t m;
	ml_message_init(&m);
	db_enter(r->sv);
	int rc = ml_search_get(se, docid, &m);
	db_leave(r->sv);
	enum MHD_Result ret;
	if (rc == ML_ENOTFOUND) {
		snprintf(err, sizeof err, "no message %s", id);
		ret = respond_error(r, 404, "id", err);
	} else if (rc) {
		ret = respond_error(r, 500, NULL, ml_strerror(rc));
	} else {
		json_t *j = ml_message_json(&m);
		db_enter(r->sv);
		ml_message_add_chain(j, se, &m);
		db_leave(r->sv);
		ret = respond_json(r, 200, j);
	}
	search_return(r->sv, se);
	ml_message_free(&m);
	return ret;
}

/* ---- files ---- */

static const ml_web_asset_t *asset(const char *path)
{
	for (const ml_web_asset_t *a = ml_web_assets; a->path; a++)
		if (!strcmp(a->path, path))
			return a;
	return NULL;
}

static enum MHD_Result serve_asset(req_t *r, const ml_web_asset_t *a)
{
	static const char *const hdr[] = {
		"Cache-Control", "no-cache",
		"Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
		"Referrer-Policy", "no-referrer",
		NULL,
	};
	return respond(r, 200, a->content_type, a->data, a->len, hdr);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version; (void)upload; (void)con_cls;
	req_t r = { cls, conn, method, url, { 0, 0 } };
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		if (*upload_size) {
			*upload_size = 0;  /* ignore a body */
			return MHD_YES;
		}
		static const char *const allow[] = { "Allow", "GET, HEAD", NULL };
		static const char msg[] = "{\"error\":\"only GET and HEAD\"}";
		return respond(&r, 405, "application/json", msg, sizeof msg - 1, allow);
	}
	if (!strcmp(url, "/api/search"))
		return api_search(&r, 0);
	if (!strcmp(url, "/api/search.csv"))
		return api_search(&r, 1);
	if (!strncmp(url, "/api/messages/", 14))
		return api_message(&r, url + 14);
	if (!strncmp(url, "/api/", 5) || !strcmp(url, "/api"))
		return respond_error(&r, 404, NULL, "no such endpoint (/api/search, /api/search.csv, /api/messages/ID)");
	const ml_web_asset_t *a = NULL;
	if (!strcmp(url, "/") || !strncmp(url, "/m/", 3))
		a = asset("/index.html");
	else
		a = asset(url);
	if (a)
		return serve_asset(&r, a);
	return respond_error(&r, 404, NULL, "not found");
}

/* ---- listening ---- */

/* HOST:PORT, [V6]:PORT, :PORT, PORT → a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	char host[256] = "127.0.0.1";
	const char *port;
	const char *colon = strrchr(spec, ':');
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host) {
			snprintf(err, errlen, "--listen '%s': give [ADDRESS]:PORT", spec);
			return ML_EINVAL;
		}
		snprintf(host, sizeof host, "%.*s", (int)(close - spec - 1), spec + 1);
		port = close + 2;
	} else if (colon) {
		if ((size_t)(colon - spec) >= sizeof host) {
			snprintf(err, errlen, "--listen '%s': host name too long", spec);
			return ML_EINVAL;
		}
		if (colon > spec)
			snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
		port = colon + 1;
	} else {
		port = spec;
	}
	char *end;
	long pn = strtol(port, &end, 10);
	if (!*port || *end || pn < 0 || pn > 65535) {
		snprintf(err, errlen, "--listen '%s': '%s' is not a port", spec, port);
		return ML_EINVAL;
	}
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "--listen '%s': %s", spec, gai_strerror(gai));
		return ML_EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return ML_OK;
}

int ml_serve_run(const ml_serve_opts_t *o)
{
	int ret = 2;
	char err[512];
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (parse_listen(o->listen ? o->listen : ML_SERVE_DEFAULT_LISTEN, &ss, &sslen, err, sizeof err)) {
		fprintf(stderr, "mtalog serve: %s\n", err);
		return 1;
	}
	server_t sv;
	memset(&sv, 0, sizeof sv);
	sv.verbose = o->verbose;
	pthread_mutex_init(&sv.pool_lock, NULL);
	pthread_rwlock_init(&sv.maplock, NULL);
	struct MHD_Daemon *d = NULL;
	if (ml_store_open(&sv.store, o->db_path, ML_STORE_RDONLY, err, sizeof err)) {
		fprintf(stderr, "mtalog serve: %s\n", err);
		goto done;
	}
	/* address space for the writer to grow into (see the top) */
	if (sv.store->mapsize < ML_SERVE_MAP && sizeof(size_t) >= 8)
		mdb_env_set_mapsize(sv.store->env, ML_SERVE_MAP);

	/* SIGINT and SIGTERM are taken by sigwait below; the daemon's threads
	 * inherit the blocked mask */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	signal(SIGPIPE, SIG_IGN);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &sv,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 4),
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
	                     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mtalog serve: cannot listen on %s: %s\n",
		        o->listen ? o->listen : ML_SERVE_DEFAULT_LISTEN, strerror(errno));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto done;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char addr[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
	printf("mtalog serve: listening on http://%s%s%s:%u/ (database %s)\n",
	       ss.ss_family == AF_INET6 ? "[" : "", addr, ss.ss_family == AF_INET6 ? "]" : "",
	       di ? (unsigned)di->port : 0u, o->db_path);
	fflush(stdout);
	int sig = 0;
	sigwait(&sigs, &sig);
	if (o->verbose)
		fprintf(stderr, "mtalog serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	MHD_stop_daemon(d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ret = 0;
done:
	for (size_t i = 0; i < sv.npool; i++)
		ml_search_free(sv.pool[i]);
	free(sv.pool);
	ml_store_close(sv.store);
	pthread_rwlock_destroy(&sv.maplock);
	pthread_mutex_destroy(&sv.pool_lock);
	return ret;
}
