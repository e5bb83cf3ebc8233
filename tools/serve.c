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
 *
 * libmicrohttpd is loaded at run time (dlopen) when `serve` starts, not
 * linked.  Linked, it was loaded by every mtalog process, and with it GnuTLS
 * and eight more libraries (p11-kit, nettle, hogweed, gmp, tasn1, idn2,
 * unistring, ffi): loading and relocating them doubled the start of a
 * process (an empty program takes 1 ms, 2 ms linked with libmicrohttpd),
 * and every `mtalog search` paid it, a command support staff and scripts
 * run thousands of times, for a library only serve uses.  The header still
 * gives the types and constants, and the table `mhd` below takes each
 * function's type from its declaration there, so a call through it is
 * checked as a direct call would be.  Without the library every other
 * command runs; serve says what to install and exits 2.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "index/query.h"
#include "index/relit.h"
#include "index/store.h"
#include "tools/auth.h"
#include "engine/dynlib.h"
#include "tools/histogram.h"
#include "tools/output.h"
#include "tools/page.h"
#include "tools/seal.h"
#include "tools/report.h"

#define ML_SERVE_MAP ((size_t)1 << 40)   /* 1 TiB of address space */
#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))

/* The CSV header when a search has no rows (ml_out writes it with the first row). */
static const char csv_header[] =
	"id,time,host,queue_id,direction,from,to,orig_to,subject,status,dsn,relay,delay,"
	"reason,message_id,client_ip,size,released,reported\r\n";

/* ---- users and sessions (tools/auth.h) ---- */

#define SESSION_COOKIE "mtalog_session"
#define BODY_MAX 8192               /* a login body; more is 413 */

/* A bounded number of places (search objects, costly searches, password
 * checks): take one, waiting up to a time, in line: the places go to the
 * waiters oldest first, and one who comes while others wait joins the end
 * (so that under load every wait is about as long as the line, none ends
 * in a 503 by bad luck).  Each waiter has its own condition, on its stack,
 * linked in the line while it waits: a place given back wakes the first
 * only.  The server's stop wakes every waiter. */
typedef struct place_waiter {
	pthread_cond_t cv;
	struct place_waiter *prev, *next;
} place_waiter_t;

typedef struct {
	pthread_mutex_t mu;
	unsigned used, max;
	place_waiter_t *first, *last;   /* the line */
} places_t;

#define PLACE_WAIT_NS 2000000000u   /* the longest wait for a place */

typedef struct {
	ml_store_t *store;       /* NULL with a backend */
	const ml_serve_backend_t *backend;   /* serve --nats: the answers are its */
	int verbose;
	ml_auth_t *auth;         /* NULL: no --users, the page is open */
	char **hosts;            /* --allowed-hosts: names the Host header may give */
	size_t nhosts;
	int secure_cookie;       /* not on loopback: the cookie says Secure */
	pthread_mutex_t pool_lock;
	ml_search_t **pool;      /* free search objects: room for searches.max */
	size_t npool;
	places_t searches;       /* search objects lent (at most --max-searches) */
	ml_seal_t seal;          /* with users: the key of the cursors handed out */
	pthread_rwlock_t maplock;
	uint64_t search_ns;      /* a search's time budget */
	places_t scans;          /* costly searches running (at most --max-scans) */
	places_t logins;         /* password checks running (at most LOGIN_CHECKS) */
	/* connections (see "connections" below) */
	pthread_mutex_t conn_lock;
	struct conn *conns;      /* open connections, a list */
	atomic_uint nconns;
	int64_t header_ms;       /* a request's head must be whole within this */
	pthread_t watch;
	int watching;
} server_t;

#define CONN_LIMIT 1024       /* connections at once (a thread each) */
#define CONN_BUSY 1000        /* from this many on, a request gets 503 */
/* Password checks at once: a yescrypt check holds 16 MB and ~25 ms of CPU,
 * so logins side by side on hundreds of connections would take gigabytes
 * for no more logins a second.  More wait up to 2 s, then get 503. */
#define LOGIN_CHECKS 4

/* Set when the server is told to stop: searches running end at once. */
static atomic_int stopping;

/* ---- libmicrohttpd, loaded by serve (see the top) ---- */

/* The library's soname; a build may name another (a test of the message
 * when it is missing). */
#ifndef ML_MHD_SONAME
#define ML_MHD_SONAME "libmicrohttpd.so.12"
#endif
#define ML_MHD_PACKAGE "libmicrohttpd12"   /* Debian's package of that soname */

/* The functions serve calls, without their MHD_ prefix. */
#define ML_MHD_FUNCS(X) \
	X(start_daemon) \
	X(stop_daemon) \
	X(get_daemon_info) \
	X(get_connection_info) \
	X(get_connection_values) \
	X(lookup_connection_value) \
	X(create_response_from_buffer) \
	X(create_response_from_callback) \
	X(add_response_header) \
	X(queue_response) \
	X(destroy_response)

/* mhd.start_daemon is MHD_start_daemon, with the prototype of <microhttpd.h>
 * (__typeof__ of the declaration, which links nothing).  Filled once by
 * mhd_load, before the daemon and its threads exist; read only after. */
static struct {
#define ML_MHD_MEMBER(f) __typeof__(MHD_##f) *f;
	ML_MHD_FUNCS(ML_MHD_MEMBER)
#undef ML_MHD_MEMBER
} mhd;

static const char *const mhd_names[] = {
#define ML_MHD_NAME(f) "MHD_" #f,
	ML_MHD_FUNCS(ML_MHD_NAME)
#undef ML_MHD_NAME
};
static void **const mhd_fns[] = {
#define ML_MHD_SLOT(f) ML_DYNLIB_SLOT(mhd.f),
	ML_MHD_FUNCS(ML_MHD_SLOT)
#undef ML_MHD_SLOT
};

/* Load the library and every function of the table (engine/dynlib.h); on
 * failure one line on stderr naming what is missing and the package to
 * install. */
static int mhd_load(void)
{
	static ml_dynlib_once_t once;
	static const ml_dynlib_t lib = { ML_MHD_SONAME, ML_MHD_PACKAGE, "mtalog serve" };
	return ml_dynlib_need(&once, &lib, mhd_names, mhd_fns, ML_ARRAY_LEN(mhd_names));
}

/* ---- places ---- */

static void places_init(places_t *p, unsigned max)
{
	pthread_mutex_init(&p->mu, NULL);
	p->used = 0;
	p->max = max;
	p->first = p->last = NULL;
}

static void places_destroy(places_t *p)
{
	pthread_mutex_destroy(&p->mu);
}

/* Take a place, waiting at most wait_ns: 0 when none came (the server
 * answers 503) or the server is stopping. */
static int places_enter(places_t *p, uint64_t wait_ns)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(wait_ns / 1000000000u);
	until.tv_nsec += (long)(wait_ns % 1000000000u);
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->mu);
	int got = p->used < p->max && !p->first;
	if (!got && wait_ns && !atomic_load(&stopping)) {
		place_waiter_t w = { .prev = p->last, .next = NULL };
		pthread_cond_init(&w.cv, NULL);
		*(p->last ? &p->last->next : &p->first) = &w;
		p->last = &w;
		int rc = 0;
		while (!(got = p->first == &w && p->used < p->max) && rc != ETIMEDOUT && !atomic_load(&stopping))
			rc = pthread_cond_timedwait(&w.cv, &p->mu, &until);
		*(w.prev ? &w.prev->next : &p->first) = w.next;
		*(w.next ? &w.next->prev : &p->last) = w.prev;
		pthread_cond_destroy(&w.cv);
	}
	if (got)
		p->used++;
	/* a place still free (this waiter gave up, or more were free): the
	 * next in line */
	if (p->first && p->used < p->max)
		pthread_cond_signal(&p->first->cv);
	pthread_mutex_unlock(&p->mu);
	return got;
}

static void places_leave(places_t *p)
{
	pthread_mutex_lock(&p->mu);
	ML_ASSERT(p->used > 0);
	p->used--;
	if (p->first)
		pthread_cond_signal(&p->first->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Wake every waiter (the server is stopping). */
static void places_wake(places_t *p)
{
	pthread_mutex_lock(&p->mu);
	for (place_waiter_t *w = p->first; w; w = w->next)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&p->mu);
}

/* ---- search objects, one per request ---- */

/* A search object for a request, one of at most --max-searches (each may
 * hold its second thread and a batch of decoded rows, so that hundreds of
 * connections cost what a few searches cost): waits up to wait_ns for one,
 * what is left of the request's time budget (so that a request waits in
 * line rather than being turned away while the server keeps up).
 * ML_EAGAIN when none came (the server answers 503) or the server is
 * stopping; ML_ENOMEM. */
static int search_borrow(server_t *sv, uint64_t wait_ns, ml_search_t **out)
{
	*out = NULL;
	if (!places_enter(&sv->searches, wait_ns))
		return ML_EAGAIN;
	ml_search_t *se = NULL;
	pthread_mutex_lock(&sv->pool_lock);
	if (sv->npool)
		se = sv->pool[--sv->npool];
	pthread_mutex_unlock(&sv->pool_lock);
	if (!se && ml_search_new(&se, sv->store)) {
		places_leave(&sv->searches);
		return ML_ENOMEM;
	}
	*out = se;
	return ML_OK;
}

/* Back to the free list (never fuller than the places: one a place). */
static void search_return(server_t *sv, ml_search_t *se)
{
	if (!se)
		return;
	pthread_mutex_lock(&sv->pool_lock);
	ML_ASSERT(sv->npool < sv->searches.max);
	sv->pool[sv->npool++] = se;
	pthread_mutex_unlock(&sv->pool_lock);
	places_leave(&sv->searches);
}

/* Enter the database (read lock); remap first if the writer grew the map
 * beyond ours. */
static void db_enter(server_t *sv)
{
	pthread_rwlock_rdlock(&sv->maplock);
	if (!ml_store_map_grown(sv->store))
		return;  /* (or an error, which the search reports) */
	pthread_rwlock_unlock(&sv->maplock);
	pthread_rwlock_wrlock(&sv->maplock);
	ml_store_set_map(sv->store, 0);
	pthread_rwlock_unlock(&sv->maplock);
	pthread_rwlock_rdlock(&sv->maplock);
}

static void db_leave(server_t *sv)
{
	pthread_rwlock_unlock(&sv->maplock);
}

static void db_enter_cb(void *sv)
{
	db_enter(sv);
}

static void db_leave_cb(void *sv)
{
	db_leave(sv);
}

/* ---- responses ---- */

typedef struct {
	server_t *sv;
	struct MHD_Connection *conn;
	const char *method, *url;
	struct timespec t0;
	const ml_user_t *user;     /* the session's user; NULL without --users */
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
	struct MHD_Response *resp = mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (; extra && extra[0]; extra += 2)
		mhd.add_response_header(resp, extra[0], extra[1]);
	enum MHD_Result ret = mhd.queue_response(r->conn, status, resp);
	mhd.destroy_response(resp);
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

/* {"error": text, "parameter": name, "param": name} (name may be NULL; the
 * two keys say the same, "param" the short name the page maps to a field's
 * label).  Text is sanitized: it may quote what the user sent. */
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
		json_object_set_new(j, "param", json_stringn(b.data ? b.data : "", b.len));
	}
	ml_buf_free(&b);
	return respond_json(r, status, j);
}

/* The answer when search_borrow failed with rc. */
static enum MHD_Result respond_no_search(req_t *r, int rc)
{
	if (rc != ML_EAGAIN)
		return respond_error(r, 500, NULL, ml_strerror(rc));
	static const char busy[] = "{\"error\":\"busy: as many searches as the server runs at once are running; retry\"}";
	static const char *const hdr[] = { "Retry-After", "2", "Cache-Control", "no-store", NULL };
	return respond(r, 503, "application/json", busy, sizeof busy - 1, hdr);
}

/* ---- cursors handed to clients ---- */

/* A server with users seals the cursors it hands out (tools/seal.h) with
 * the user's name: a client learns nothing from one (a docid tells a time)
 * and can give back only a cursor it was given, by this process; anything
 * else is a bad cursor.  The position sealed is the 8 bytes of the docid
 * and the 4 of the row, big-endian.  An open server's cursors are the plain
 * text of ml_cursor_format, as `mtalog search` prints them. */
#define CURSOR_SEALED 12

static void cursor_give(const req_t *r, const ml_cursor_t *c, char *buf, size_t len)
{
	if (!r->sv->auth) {
		ml_cursor_format(c, buf, len);
		return;
	}
	unsigned char pos[CURSOR_SEALED];
	ml_put_be64(pos, c->docid);
	for (int i = 0; i < 4; i++)
		pos[8 + i] = (unsigned char)(c->skip >> (24 - 8 * i));
	const char *who = r->user ? r->user->name : "";
	/* (fails only when getrandom(2) gives no nonce: no cursor then, and
	 * the client searches again) */
	if (ml_seal(&r->sv->seal, who, strlen(who), pos, sizeof pos, buf, len))
		buf[0] = '\0';
}

/* ML_EINVAL for anything cursor_give did not hand to this user. */
static int cursor_take(const req_t *r, const char *text, ml_cursor_t *c)
{
	if (!r->sv->auth)
		return ml_cursor_parse(text, c);
	unsigned char pos[CURSOR_SEALED];
	const char *who = r->user ? r->user->name : "";
	if (ml_seal_open(&r->sv->seal, who, strlen(who), text, pos, sizeof pos))
		return ML_EINVAL;
	c->docid = ml_get_be64(pos);
	c->skip = (uint32_t)pos[8] << 24 | (uint32_t)pos[9] << 16 | (uint32_t)pos[10] << 8 | pos[11];
	return c->docid && c->docid != UINT64_MAX ? ML_OK : ML_EINVAL;
}

_Static_assert(ML_SEAL_TEXT_LEN(CURSOR_SEALED) < ML_CURSOR_TEXT, "a sealed cursor fits its buffers");

/* A backend's cursor (text) as handed to the client: sealed for a user, as
 * cursor_give does; NULL when it does not fit or no nonce came (no cursor:
 * the client searches again).  The caller frees it. */
static char *ext_cursor_give(const req_t *r, const char *text)
{
	size_t n = strlen(text);
	if (!r->sv->auth)
		return strdup(text);
	char *out = n <= ML_SEAL_MAX ? malloc(ML_SEAL_TEXT_LEN(n) + 1) : NULL;
	const char *who = r->user ? r->user->name : "";
	if (out && ml_seal(&r->sv->seal, who, strlen(who), text, n, out, ML_SEAL_TEXT_LEN(n) + 1)) {
		free(out);
		out = NULL;
	}
	return out;
}

/* The backend's cursor given back (malloc'd), or NULL when it is not one
 * ext_cursor_give handed to this user. */
static char *ext_cursor_take(const req_t *r, const char *text)
{
	if (!r->sv->auth)
		return strlen(text) <= ML_SEAL_MAX ? strdup(text) : NULL;
	size_t len = strlen(text);
	if (len % 2 || len / 2 <= ML_SEAL_OVERHEAD || len / 2 - ML_SEAL_OVERHEAD > ML_SEAL_MAX)
		return NULL;
	size_t n = len / 2 - ML_SEAL_OVERHEAD;
	char *out = malloc(n + 1);
	const char *who = r->user ? r->user->name : "";
	if (out && ml_seal_open(&r->sv->seal, who, strlen(who), text, out, n)) {
		free(out);
		return NULL;
	}
	if (out)
		out[n] = '\0';
	return out;
}

/* ---- /api/search ---- */

typedef struct {
	const req_t *req;       /* whose request (the cursor is theirs) */
	ml_query_t q;
	ml_cursor_t cursor;
	int has_cursor;
	char seen[32];          /* parameters given, by index in ml_query_params */
	char bad_param[64];     /* first bad parameter */
	char err[512];
	unsigned status;        /* 0, or the error status */
	int all;                /* all=1: every row of the match (search.csv only) */
	json_t *given;          /* with a backend: the parameters given, {name: value} */
	char *ext_cursor;       /* with a backend: its cursor, opened (malloc'd) */
} args_t;

static void args_free(args_t *a)
{
	ml_query_free(&a->q);
	json_decref(a->given);
	free(a->ext_cursor);
	a->given = NULL;
	a->ext_cursor = NULL;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	args_t *a = cls;
	if (!value)
		value = "";
	if (!*key && !*value)
		return MHD_YES;  /* "?&to=x" */
	if (!strcmp(key, "all")) {
		if (!strcmp(value, "1") || !strcmp(value, "0") || !*value) {
			a->all = !strcmp(value, "1");
			return MHD_YES;
		}
		snprintf(a->bad_param, sizeof a->bad_param, "all");
		snprintf(a->err, sizeof a->err, "all: '%.100s' is not 1 or 0", value);
		a->status = 400;
		return MHD_NO;
	}
	if (!strcmp(key, "cursor")) {
		if (!*value)
			return MHD_YES;
		if (a->has_cursor || (a->req->sv->backend ? !(a->ext_cursor = ext_cursor_take(a->req, value))
		                                          : cursor_take(a->req, value, &a->cursor))) {
			snprintf(a->bad_param, sizeof a->bad_param, "cursor");
			if (a->has_cursor)
				snprintf(a->err, sizeof a->err, "cursor: given twice");
			else if (a->req->sv->auth)
				snprintf(a->err, sizeof a->err, "cursor: not a cursor this server gave you (changed, "
				         "another user's, or from before the server restarted); search again");
			else
				snprintf(a->err, sizeof a->err,
				         "cursor: '%.200s' is not a cursor (give back the \"next\" of a search)", value);
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
		         "status, direction, since, until, msgid, ip, host, queue_id, limit, cursor, all)", key);
		return MHD_NO;
	}
	if (i < sizeof a->seen && a->seen[i]++) {
		snprintf(a->err, sizeof a->err, "%s: given twice", key);
		return MHD_NO;
	}
	if (*value && ml_query_set(&a->q, key, value, a->err, sizeof a->err))
		return MHD_NO;
	if (*value && a->req->sv->backend) {
		if (!a->given)
			a->given = json_object();
		json_t *v = json_string(value);
		if (!v) {
			snprintf(a->err, sizeof a->err, "%s: not UTF-8", key);
			return MHD_NO;
		}
		json_object_set_new(a->given, key, v);
	}
	a->status = 0;
	a->bad_param[0] = '\0';
	return MHD_YES;
}

/* The query's stop callback: the client closed its connection, or the
 * server is stopping. */
static int client_gone(void *ctx)
{
	req_t *r = ctx;
	if (atomic_load(&stopping))
		return 1;
	const union MHD_ConnectionInfo *ci = mhd.get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	struct pollfd pf = { ci->connect_fd, POLLIN | POLLRDHUP, 0 };
	if (poll(&pf, 1, 0) <= 0)
		return 0;
	if (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	/* readable: the next request of the connection, or its end (0) */
	char c;
	return recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* A search that may read message by message: no indexed filter, or a
 * regex that needs no word the index has (it reads every subject of the
 * range; one that needs words, index/relit.h, walks their messages, as a
 * search of subject words does). */
static int search_costly(const ml_query_t *q)
{
	ml_relit_t lits[ML_RELIT_MAX];
	if (q->subject_re && !ml_relit_find(q->subject_re, lits, ML_RELIT_MAX))
		return 1;
	int words = q->subject_re != NULL;
	if (q->subject)
		for (const char *c = q->subject; *c && !words; c++)
			words = isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80;
	return !(q->from || q->to || words || q->status_mask || q->direction || q->msgid || q->ip ||
	         q->host || q->queue_id);
}

/* ---- /api/search.csv?all=1: every row of the match, streamed ----
 *
 * The rows the cursor of /api/search walks to its end, page after page,
 * each page a search of its own (up to 1000 rows, the request's time budget,
 * a place among the costly searches when it is one), written as CSV into a
 * buffer that libmicrohttpd sends before the next page is searched: memory
 * holds one page, whatever the number of rows.  A user's rows only, as for
 * every search.  The last line, after the rows, is a count line (a trailer
 * header would be lost by most clients, and the count is known only at the
 * end): "# N rows", or "# N rows; stopped: deadline (the rest: cursor=C)"
 * when a page's search ran out of its budget, "# N rows; stopped: busy
 * (...)" when no place came for it.  A page borrows a search object for
 * its search only: a client that reads slowly holds none.  A spreadsheet shows it as one more
 * line; a program drops the line that starts with '#'.
 */
typedef struct {
	req_t r;                /* the request's server and connection */
	args_t a;
	ml_page_t p;
	FILE *f;                /* writes into buf */
	ml_out_t *out;         /* the CSV writer on f (writes the header with the first row) */
	ml_buf_t buf;
	size_t off;             /* of buf, sent */
	uint64_t rows;
	int done, restricted, costly;
} stream_t;

static ssize_t stream_write(void *cookie, const char *p, size_t n)
{
	stream_t *st = cookie;
	return ml_buf_append(&st->buf, p, n) ? -1 : (ssize_t)n;
}

/* The rows of a stream written: the CSV header when there were none; the
 * count line follows. */
static void stream_end(stream_t *st)
{
	st->done = 1;
	ml_out_finish(st->out);
	st->out = NULL;
	if (!st->rows)
		fputs(csv_header, st->f);
}

/* The last line of a stream that found no place for its next page's
 * search (why: what was busy). */
static void stream_busy(stream_t *st, const char *why)
{
	ml_query_t *q = &st->a.q;
	/* where the next page would have started (query_after, backwards) */
	char next[ML_CURSOR_TEXT] = "";
	if (q->before_docid) {
		ml_cursor_t nc = { q->before_row ? q->before_docid - 1 : q->before_docid, q->before_row };
		cursor_give(&st->r, &nc, next, sizeof next);
	}
	stream_end(st);
	fprintf(st->f, "# %" PRIu64 " rows; stopped: busy (%s; the rest: cursor=%s)\r\n", st->rows, why, next);
	fflush(st->f);
}

static int stream_page_ext(stream_t *st);

/* One page of rows into buf; 0, or -1 when the stream must end at once (the
 * client went away, the server stops). */
static int stream_page(stream_t *st)
{
	if (st->r.sv->backend)
		return stream_page_ext(st);
	server_t *sv = st->r.sv;
	ml_query_t *q = &st->a.q;
	ml_page_t *p = &st->p;
	uint64_t now = ml_search_clock_ns();
	q->deadline_ns = now + sv->search_ns;
	uint64_t wait_ns = ML_MIN(sv->search_ns, PLACE_WAIT_NS);
	if (st->costly && !places_enter(&sv->scans, wait_ns)) {
		stream_busy(st, "other searches that read message by message are running");
		return 0;
	}
	ml_search_t *se;
	now = ml_search_clock_ns();
	int rc = search_borrow(sv, q->deadline_ns > now ? q->deadline_ns - now : 0, &se);
	if (rc == ML_EAGAIN) {
		if (st->costly)
			places_leave(&sv->scans);
		stream_busy(st, "as many searches as the server runs at once are running");
		return 0;
	}
	ml_search_info_t info;
	memset(&info, 0, sizeof info);
	p->n = 0;
	p->more = 0;
	p->seen = 0;
	if (!rc) {
		db_enter(sv);
		rc = ml_search_run(se, q, ml_page_row, p, &info, st->a.err, sizeof st->a.err);
		db_leave(sv);
		search_return(sv, se);
	}
	if (st->costly)
		places_leave(&sv->scans);
	st->rows += p->n;
	if (info.stopped == ML_SEARCH_CANCELLED)
		return -1;
	if (!rc && p->failed)
		rc = ML_ENOMEM;
	int more = p->more || info.truncated;
	char next[ML_CURSOR_TEXT] = "";
	if (!rc && info.stopped && !p->more && info.resume_docid > 1) {
		ml_cursor_t nc = { info.resume_docid, 0 };
		cursor_give(&st->r, &nc, next, sizeof next);
	}
	if (rc || next[0] || !more) {
		stream_end(st);
		if (rc)
			fprintf(st->f, "# %" PRIu64 " rows; stopped: error: %s\r\n", st->rows, st->a.err[0] ? st->a.err : ml_strerror(rc));
		else if (next[0])
			fprintf(st->f, "# %" PRIu64 " rows; stopped: deadline (the rest: cursor=%s)\r\n", st->rows, next);
		else
			fprintf(st->f, "# %" PRIu64 " rows\r\n", st->rows);
	} else {
		ml_cursor_t nc = ml_page_cursor(p);
		ml_page_after(q, p, &nc);
	}
	fflush(st->f);
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	stream_t *st = cls;
	while (st->off == st->buf.len && !st->done) {
		ml_buf_reset(&st->buf);
		st->off = 0;
		if (stream_page(st))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (st->off == st->buf.len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = ML_MIN(max, st->buf.len - st->off);
	memcpy(out, st->buf.data + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	stream_t *st = cls;
	if (st->out)
		ml_out_finish(st->out);
	if (st->f)
		fclose(st->f);
	args_free(&st->a);
	ml_buf_free(&st->buf);
	free(st);
}

static enum MHD_Result api_search_all(req_t *r, args_t *a)
{
	stream_t *st = calloc(1, sizeof *st);
	if (!st) {
		args_free(a);
		return respond_error(r, 500, NULL, "out of memory");
	}
	st->r = *r;
	st->a = *a;   /* owns the query's strings now */
	ml_query_t *q = &st->a.q;
	ml_page_t *p = &st->p;
	p->limit = ML_QUERY_MAX_LIMIT;
	p->user = r->user;
	if (st->a.has_cursor)
		ml_page_after(q, p, &st->a.cursor);
	q->limit = ML_QUERY_MAX_LIMIT;
	st->restricted = ml_page_restrict(q, r->user);
	q->stop = client_gone;
	q->stop_ctx = &st->r;
	st->costly = search_costly(q);
	static const cookie_io_functions_t io = { NULL, stream_write, NULL, NULL };
	st->f = fopencookie(st, "w", io);
	st->out = st->f ? ml_out_new(st->f, ML_OUT_CSV) : NULL;
	p->out = st->out;
	struct MHD_Response *resp = st->out
		? mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, st, stream_free) : NULL;
	if (!resp) {
		stream_free(st);
		return respond_error(r, 500, NULL, "out of memory");
	}
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
	mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	mhd.add_response_header(resp, "Cache-Control", "no-store");
	mhd.add_response_header(resp, "Content-Disposition", "attachment; filename=\"mtalog-search-all.csv\"");
	enum MHD_Result ret = mhd.queue_response(r->conn, 200, resp);
	mhd.destroy_response(resp);
	if (r->sv->verbose)
		fprintf(stderr, "mtalog serve: %s %s 200 streamed\n", r->method, r->url);
	return ret;
}

/* ---- a backend's answers (serve --nats; serve.h) ---- */

static ml_serve_ask_t ext_ask(const req_t *r, const args_t *a, unsigned limit)
{
	ml_serve_ask_t ask = { a->given, r->user, a->ext_cursor, limit, (double)r->sv->search_ns / 1e9 };
	return ask;
}

/* The backend's "next" in j as the client gets it (sealed for a user);
 * the text (malloc'd) or NULL. */
static char *ext_next(const req_t *r, json_t *j)
{
	const char *n = json_string_value(json_object_get(j, "next"));
	char *give = n ? ext_cursor_give(r, n) : NULL;
	json_object_set_new(j, "next", give ? json_string(give) : json_null());
	return give;
}

/* "1, 2": the shards an answer misses, into b. */
static void ext_missing(json_t *j, ml_buf_t *b)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(j, "missing"), i, k)
		ml_buf_printf(b, "%s%" JSON_INTEGER_FORMAT, i ? ", " : "", json_integer_value(k));
	ml_buf_cstr(b);
}

/* One page of a stream (search.csv?all=1) from the backend; a shard that
 * does not answer ends the stream (its rows would be a gap), with the
 * cursor of the rest. */
static int stream_page_ext(stream_t *st)
{
	const ml_serve_backend_t *be = st->r.sv->backend;
	ml_serve_ask_t ask = ext_ask(&st->r, &st->a, ML_QUERY_MAX_LIMIT);
	json_t *j = NULL;
	unsigned status = be->search(be->ctx, &ask, &j);
	int partial = json_is_true(json_object_get(j, "partial"));
	size_t i;
	json_t *row;
	if (status == 200 && !partial)
		json_array_foreach(json_object_get(j, "rows"), i, row) {
			ml_out_csv_row(st->out, row);
			st->rows++;
		}
	const char *next = json_string_value(json_object_get(j, "next"));
	if (status != 200 || partial || !next) {
		stream_end(st);
		if (status != 200) {
			const char *e = json_string_value(json_object_get(j, "error"));
			fprintf(st->f, "# %" PRIu64 " rows; stopped: error: %s\r\n", st->rows, e ? e : "out of memory");
		} else if (partial) {
			ml_buf_t b = ML_BUF_INIT;
			ext_missing(j, &b);
			char *give = ext_cursor_give(&st->r, st->a.ext_cursor ? st->a.ext_cursor : "");
			fprintf(st->f, "# %" PRIu64 " rows; stopped: shards %s did not answer (the rest: cursor=%s)\r\n",
			        st->rows, b.data ? b.data : "", give ? give : "");
			free(give);
			ml_buf_free(&b);
		} else {
			fprintf(st->f, "# %" PRIu64 " rows\r\n", st->rows);
		}
	} else {
		free(st->a.ext_cursor);
		st->a.ext_cursor = strdup(next);
	}
	json_decref(j);
	fflush(st->f);
	return 0;
}

/* /api/search and /api/search.csv (csv 1), /api/histogram (csv -1). */
static enum MHD_Result ext_search(req_t *r, args_t *a, int csv)
{
	const ml_serve_backend_t *be = r->sv->backend;
	if (a->status) {
		args_free(a);
		return respond_error(r, a->status, a->bad_param, a->err);
	}
	if (a->all && csv != 1) {
		args_free(a);
		return respond_error(r, 400, "all", "all: only /api/search.csv streams every row");
	}
	if (a->all)
		return api_search_all(r, a);
	ml_serve_ask_t ask = ext_ask(r, a, a->q.limit ? a->q.limit : ML_QUERY_MAX_LIMIT);
	json_t *j = NULL;
	unsigned status = csv < 0 ? be->histogram(be->ctx, &ask, &j) : be->search(be->ctx, &ask, &j);
	args_free(a);
	if (!j)
		return respond_error(r, 500, NULL, "out of memory");
	char *next = csv < 0 ? NULL : ext_next(r, j);
	if (status != 200 || csv != 1) {
		free(next);
		return respond_json(r, status, j);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	ml_out_t *o = mem ? ml_out_new(mem, ML_OUT_CSV) : NULL;
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(j, "rows"), i, row)
		if (o)
			ml_out_csv_row(o, row);
	if (o)
		ml_out_finish(o);
	if (o && !json_array_size(json_object_get(j, "rows")))
		fputs(csv_header, mem);
	if (mem)
		fclose(mem);
	ml_buf_t missing = ML_BUF_INIT;
	const char *hdr[11] = { "Cache-Control", "no-store",
		"Content-Disposition", "attachment; filename=\"mtalog-search.csv\"" };
	size_t h = 4;
	if (json_is_true(json_object_get(j, "partial"))) {
		ml_buf_puts(&missing, "shards ");
		ext_missing(j, &missing);
		ml_buf_puts(&missing, " did not answer");
		hdr[h++] = "X-Mtalog-Partial";
		hdr[h++] = ml_buf_cstr(&missing);
	}
	const char *stopped = json_string_value(json_object_get(j, "stopped"));
	if (stopped) {
		hdr[h++] = "X-Mtalog-Incomplete";
		hdr[h++] = stopped;
	}
	if (next) {
		hdr[h++] = "X-Mtalog-Next";
		hdr[h++] = next;
	}
	enum MHD_Result ret = o ? respond(r, 200, "text/csv; charset=utf-8", buf, len, hdr)
	                        : respond_error(r, 500, NULL, "out of memory");
	free(buf);
	free(next);
	ml_buf_free(&missing);
	json_decref(j);
	return ret;
}

static enum MHD_Result ext_message(req_t *r, const char *id)
{
	const ml_serve_backend_t *be = r->sv->backend;
	ml_serve_ask_t ask = { NULL, r->user, NULL, 0, (double)r->sv->search_ns / 1e9 };
	json_t *j = NULL;
	unsigned status = be->message(be->ctx, id, &ask, &j);
	return j ? respond_json(r, status, j) : respond_error(r, 500, NULL, "out of memory");
}

/* /api/histogram?(the parameters of /api/search): the whole match by hour
 * or day and status (tools/histogram.h), within the search budget; a
 * user's rows only. */
static enum MHD_Result api_histogram(req_t *r)
{
	args_t a;
	memset(&a, 0, sizeof a);
	a.req = r;
	mhd.get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (r->sv->backend)
		return ext_search(r, &a, -1);
	if (a.status) {
		ml_query_free(&a.q);
		return respond_error(r, a.status, a.bad_param, a.err);
	}
	int restricted = ml_page_restrict(&a.q, r->user);
	a.q.deadline_ns = ml_search_clock_ns() + r->sv->search_ns;
	a.q.stop = client_gone;
	a.q.stop_ctx = r;
	int costly = search_costly(&a.q);
	if (costly && !places_enter(&r->sv->scans, ML_MIN(r->sv->search_ns, PLACE_WAIT_NS))) {
		ml_query_free(&a.q);
		static const char busy[] = "{\"error\":\"busy: other searches that read message by message are running; retry\"}";
		static const char *const hdr[] = { "Retry-After", "2", "Cache-Control", "no-store", NULL };
		return respond(r, 503, "application/json", busy, sizeof busy - 1, hdr);
	}
	ml_search_t *se;
	uint64_t now = ml_search_clock_ns();
	int rc = search_borrow(r->sv, a.q.deadline_ns > now ? a.q.deadline_ns - now : 0, &se);
	if (rc) {
		if (costly)
			places_leave(&r->sv->scans);
		ml_query_free(&a.q);
		return respond_no_search(r, rc);
	}
	ml_hist_t h;
	memset(&h, 0, sizeof h);
	db_enter(r->sv);
	rc = ml_hist_run(&h, se, &a.q, restricted ? ml_row_visible : NULL, (void *)r->user, a.err, sizeof a.err);
	db_leave(r->sv);
	search_return(r->sv, se);
	if (costly)
		places_leave(&r->sv->scans);
	ml_query_free(&a.q);
	enum MHD_Result ret;
	if (!rc && h.stopped == ML_SEARCH_CANCELLED) {
		ret = MHD_NO;
	} else if (rc == ML_EINVAL) {
		char name[32];
		snprintf(name, sizeof name, "%.*s", (int)ML_MIN(strcspn(a.err, ":"), sizeof name - 1), a.err);
		ret = respond_error(r, 400, name, a.err);
	} else if (rc) {
		ret = respond_error(r, 500, NULL, a.err[0] ? a.err : ml_strerror(rc));
	} else {
		ret = respond_json(r, 200, ml_hist_json(&h));
	}
	ml_hist_free(&h);
	return ret;
}

static enum MHD_Result api_search(req_t *r, int csv)
{
	args_t a;
	memset(&a, 0, sizeof a);
	a.req = r;
	mhd.get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (r->sv->backend)
		return ext_search(r, &a, csv);
	if (a.status) {
		ml_query_free(&a.q);
		return respond_error(r, a.status, a.bad_param, a.err);
	}
	if (a.all) {
		if (!csv) {
			ml_query_free(&a.q);
			return respond_error(r, 400, "all", "all: only /api/search.csv streams every row");
		}
		return api_search_all(r, &a);
	}
	ml_page_t p;
	memset(&p, 0, sizeof p);
	p.limit = a.q.limit ? a.q.limit : ML_QUERY_MAX_LIMIT;
	if (a.has_cursor)
		ml_page_after(&a.q, &p, &a.cursor);
	/* a user's rows are a subset: each search reads as many rows as it may,
	 * ml_page_row keeps the user's */
	int restricted = ml_page_restrict(&a.q, r->user);
	p.user = r->user;
	a.q.limit = restricted ? ML_QUERY_MAX_LIMIT : p.limit;

	char *csvbuf = NULL;
	size_t csvlen = 0;
	FILE *mem = NULL;
	if (csv) {
		mem = open_memstream(&csvbuf, &csvlen);
		p.out = mem ? ml_out_new(mem, ML_OUT_CSV) : NULL;
	} else {
		p.json = 1;
	}
	if (csv && !p.out) {
		if (mem)
			fclose(mem);
		free(csvbuf);
		ml_query_free(&a.q);
		return respond_error(r, 500, NULL, "out of memory");
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the request's budget: its deadline, the client still there, the
	 * server not stopping */
	a.q.deadline_ns = ml_search_clock_ns() + r->sv->search_ns;
	a.q.stop = client_gone;
	a.q.stop_ctx = r;
	int costly = search_costly(&a.q);
	/* a place among the costly searches, waited for until the deadline or 2 s */
	uint64_t now = ml_search_clock_ns();
	int placed = !costly || places_enter(&r->sv->scans, a.q.deadline_ns > now
	                                     ? ML_MIN(a.q.deadline_ns - now, PLACE_WAIT_NS) : 0);
	/* then a search object (the same order everywhere: a costly search
	 * waiting for its place holds no search object) */
	ml_search_t *se = NULL;
	now = ml_search_clock_ns();
	int rc = placed ? search_borrow(r->sv, a.q.deadline_ns > now ? a.q.deadline_ns - now : 0, &se) : ML_EAGAIN;
	if (rc) {
		if (costly && placed)
			places_leave(&r->sv->scans);
		if (p.out)
			ml_out_finish(p.out);
		if (mem)
			fclose(mem);
		free(csvbuf);
		ml_query_free(&a.q);
		if (placed)
			return respond_no_search(r, rc);
		static const char busy[] = "{\"error\":\"busy: other searches that read message by message are running "
		                           "(no indexed filter, or a subject_re that needs no word); retry, or add to, from, subject or status\"}";
		static const char *const hdr[] = { "Retry-After", "2", "Cache-Control", "no-store", NULL };
		return respond(r, 503, "application/json", busy, sizeof busy - 1, hdr);
	}
	ml_page_run_t run;
	ml_page_lock_t lock = { db_enter_cb, db_leave_cb, r->sv };
	rc = ml_page_fill(&p, se, &a.q, restricted, &lock, &run, a.err, sizeof a.err);
	int truncated = run.truncated, scanned = run.scanned, stopped = run.stopped, capped = run.capped;
	uint64_t examined = run.examined, re_limited = run.re_limited;
	/* the total of the whole match: exact when the page holds all of it,
	 * else counted (ml_page_total) */
	uint64_t total = p.n;
	int total_exact = !a.has_cursor && !truncated && !stopped && !rc;
	if (!rc && !stopped && !total_exact && !csv) {
		ml_page_total(se, &a.q, r->user, &lock, &total, &total_exact);
	}
	search_return(r->sv, se);
	if (costly)
		places_leave(&r->sv->scans);
	int64_t took = elapsed_us(&t0);
	ml_query_free(&a.q);
	if (stopped == ML_SEARCH_CANCELLED) {
		/* nobody to answer (the client went away) or the server is stopping */
		if (r->sv->verbose)
			fprintf(stderr, "mtalog serve: %s %s: search stopped after %" PRId64 " us, %" PRIu64
			        " messages read: %s\n", r->method, r->url, took, examined,
			        atomic_load(&stopping) ? "the server is stopping" : "the client went away");
		free(csvbuf);
		ml_buf_free(&p.rows);
		ml_buf_free(&p.tmp);
		return MHD_NO;
	}

	char next[ML_CURSOR_TEXT] = "";
	ml_cursor_t nc;
	if (!rc && ml_page_next(&p, &run, &nc))
		cursor_give(r, &nc, next, sizeof next);
	if (csv) {
		ml_out_finish(p.out);
		if (!rc && p.n == 0)
			fputs(csv_header, mem);
		fclose(mem);
	}
	if (rc) {
		free(csvbuf);
		ml_buf_free(&p.rows);
		ml_buf_free(&p.tmp);
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
		const char *hdr[9] = { "Cache-Control", "no-store",
			"Content-Disposition", "attachment; filename=\"mtalog-search.csv\"" };
		size_t h = 4;
		if (stopped || re_limited) {
			hdr[h++] = "X-Mtalog-Incomplete";
			hdr[h++] = stopped ? "deadline" : "regex limit";
		}
		if (next[0]) {
			hdr[h++] = "X-Mtalog-Next";
			hdr[h++] = next;
		}
		enum MHD_Result ret = respond(r, 200, "text/csv; charset=utf-8", csvbuf, csvlen, hdr);
		free(csvbuf);
		return ret;
	}
	/* {"rows":[...],"truncated":..,"next":..,"took_us":..,"scanned":..}: the
	 * rows as written, the rest by jansson */
	json_t *j = json_object();
	json_object_set_new(j, "truncated", json_boolean(truncated));
	json_object_set_new(j, "next", next[0] ? json_string(next) : json_null());
	/* (not to a user who sees some rows only: the time would tell of
	 * what the index holds for others) */
	if (!restricted)
		json_object_set_new(j, "took_us", json_integer((json_int_t)took));
	json_object_set_new(j, "scanned", json_boolean(scanned));
	/* "1000 of 23,456": the rows of the whole match, or at least so many */
	json_object_set_new(j, "total", json_integer((json_int_t)total));
	json_object_set_new(j, "total_exact", json_boolean(total_exact));
	/* a prefix* stood for too many words to walk in the index: checked on
	 * the records instead (the rows are the same) */
	if (capped)
		json_object_set_new(j, "prefix_capped", json_true());
	/* complete: every message the filters select was examined; when not,
	 * why (the search's deadline, or the regex gave up on some subjects)
	 * and how many were */
	json_object_set_new(j, "complete", json_boolean(!stopped && !re_limited));
	/* messages read: a user's own only (their addresses are in the plan) */
	json_object_set_new(j, "examined", json_integer((json_int_t)examined));
	if (stopped || re_limited) {
		json_object_set_new(j, "stopped", json_string(stopped ? "deadline" : "regex limit"));
		if (re_limited)
			json_object_set_new(j, "regex_gave_up", json_integer((json_int_t)re_limited));
	}
	char *rest = json_dumps(j, JSON_FLAGS);
	json_decref(j);
	ml_buf_t body = ML_BUF_INIT;
	int bad = !rest || ml_buf_puts(&body, "{\"rows\":[") ||
	          (p.rows.len && ml_buf_append(&body, p.rows.data, p.rows.len)) ||
	          ml_buf_puts(&body, "],") || ml_buf_puts(&body, rest + 1);
	free(rest);
	ml_buf_free(&p.rows);
	ml_buf_free(&p.tmp);
	if (bad) {
		ml_buf_free(&body);
		return respond_error(r, 500, NULL, "out of memory");
	}
	static const char *const hdr[] = { "Cache-Control", "no-store", NULL };
	enum MHD_Result ret = respond(r, 200, "application/json", body.data, body.len, hdr);
	ml_buf_free(&body);
	return ret;
}

/* ---- /api/messages/ID ---- */


/* Message docid into m, as the request's user may see it: ML_ENOTFOUND
 * for one that does not exist or that they may not see. */
static int message_get(req_t *r, ml_search_t *se, uint64_t docid, ml_message_t *m, int *whole)
{
	db_enter(r->sv);
	int rc = ml_search_get(se, docid, m);
	db_leave(r->sv);
	if (rc == 0 && !ml_message_visible(r->user, m, whole))
		rc = ML_ENOTFOUND;
	return rc;
}

/* The answer to an id that is not a message id. */
static enum MHD_Result bad_id(req_t *r, const char *id)
{
	char err[256];
	snprintf(err, sizeof err, "id: '%.100s' is not a message id (the id of a search row)", id);
	return respond_error(r, 400, "id", err);
}

/* The answer when message_get failed with rc: none (or not the user's), or an error. */
static enum MHD_Result message_failed(req_t *r, const char *id, int rc)
{
	char err[256];
	if (rc != ML_ENOTFOUND)
		return respond_error(r, 500, NULL, ml_strerror(rc));
	snprintf(err, sizeof err, "no message %.100s", id);
	return respond_error(r, 404, "id", err);
}

static enum MHD_Result api_message(req_t *r, const char *id)
{
	if (r->sv->backend)
		return ext_message(r, id);
	uint64_t docid;
	if (ml_docid_parse(id, &docid))
		return bad_id(r, id);
	ml_search_t *se;
	int rc = search_borrow(r->sv, r->sv->search_ns, &se);
	if (rc)
		return respond_no_search(r, rc);
	ml_message_t m;
	ml_message_init(&m);
	int whole = 1;
	rc = message_get(r, se, docid, &m, &whole);
	enum MHD_Result ret;
	if (rc)
		ret = message_failed(r, id, rc);
	else {
		ml_page_lock_t lock = { db_enter_cb, db_leave_cb, r->sv };
		ret = respond_json(r, 200, ml_page_message(se, &m, r->user, whole, &lock));
	}
	search_return(r->sv, se);
	ml_message_free(&m);
	return ret;
}

/* ---- login, logout, me ---- */

/* A request body being read (POST): kept in *con_cls until the last call. */
typedef struct {
	char buf[BODY_MAX];
	size_t len;
	int toobig;
} body_t;

static void cookie_header(const server_t *sv, const char *id, char *out, size_t len)
{
	snprintf(out, len, SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
	         id ? id : "", id ? AUTH_SESSION_TTL : 0, sv->secure_cookie ? "; Secure" : "");
}

static json_t *me_json(const ml_user_t *u)
{
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(u->name));
	json_object_set_new(j, "role", json_string(u->role == ML_ROLE_ADMIN ? "admin" : "user"));
	json_t *a = json_array();
	for (size_t i = 0; u->role != ML_ROLE_ADMIN && i < u->naddrs; i++)
		json_array_append_new(a, json_string(u->addrs[i]));
	json_object_set_new(j, "addresses", a);
	return j;
}

/* Percent-decode a form value in place ('+' is a space). */
/* Decode a form value in place; its length (it may hold a NUL). */
static size_t form_decode(char *s)
{
	char *o = s, *start = s;
	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char h[3] = { s[1], s[2], 0 };
			*o++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return (size_t)(o - start);
}

/* The values of keys[0..n) in the form body b (decoded in place): vals[i]
 * and lens[i] (a value may hold a NUL), NULL when absent. */
static void form_fields(body_t *b, const char *const *keys, const char **vals, size_t *lens, int n)
{
	b->buf[b->len] = '\0';
	char *save = NULL;
	for (char *kv = strtok_r(b->buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = '\0';
		form_decode(kv);
		size_t len = form_decode(eq + 1);
		for (int i = 0; i < n; i++)
			if (!strcmp(kv, keys[i])) {
				vals[i] = eq + 1;
				lens[i] = len;
			}
	}
}

/* name and password (pwlen bytes) from a JSON object or a form; pointers
 * into b or j. */
static int login_fields(req_t *r, body_t *b, json_t **j, const char **name, const char **pw, size_t *pwlen)
{
	*name = *pw = NULL;
	*pwlen = 0;
	size_t namelen = 0;
	const char *ct = mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct && !strncasecmp(ct, "application/json", 16)) {
		json_error_t je;
		*j = json_loadb(b->buf, b->len, JSON_ALLOW_NUL, &je);
		json_t *n = json_object_get(*j, "name"), *p = json_object_get(*j, "password");
		*name = json_string_value(n);
		namelen = json_string_length(n);
		*pw = json_string_value(p);
		*pwlen = json_string_length(p);
	} else {
		const char *keys[2] = { "name", "password" }, *vals[2] = { NULL, NULL };
		size_t lens[2] = { 0, 0 };
		form_fields(b, keys, vals, lens, 2);
		*name = vals[0];
		namelen = lens[0];
		*pw = vals[1];
		*pwlen = lens[1];
	}
	/* a name with a NUL is no name */
	return *name && *pw && namelen && *pwlen && strlen(*name) == namelen;
}

/* Does the Origin (else the Referer) of a POST name this server?  Neither
 * (a client that is not a browser): yes.  Scheme, host and port must be
 * those the request came to: http or https, and its Host. */
static int same_origin(req_t *r)
{
	const char *origin = mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *host = mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!origin)
		origin = mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, "Referer");
	if (!origin)
		return 1;
	size_t skip = !strncasecmp(origin, "http://", 7) ? 7 : !strncasecmp(origin, "https://", 8) ? 8 : 0;
	if (!skip || !host)
		return 0;
	const char *o = origin + skip;
	size_t hl = strlen(host);
	/* the Origin is scheme://host[:port]; a Referer goes on with a path */
	return !strncasecmp(o, host, hl) && (o[hl] == '\0' || o[hl] == '/');
}

/* The client's address as text, for the brake on guessing; "" when unknown
 * or on loopback: there every client of a reverse proxy on the same host
 * has the one address, and one guesser would lock them all out (the brake
 * per account still holds). */
static void client_addr(req_t *r, char *out, size_t len)
{
	out[0] = '\0';
	const union MHD_ConnectionInfo *ci = mhd.get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct in_addr *a4 = &((const struct sockaddr_in *)sa)->sin_addr;
		if ((ntohl(a4->s_addr) >> 24) != 127)
			inet_ntop(AF_INET, a4, out, (socklen_t)len);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (!IN6_IS_ADDR_LOOPBACK(a6))
			inet_ntop(AF_INET6, a6, out, (socklen_t)len);
	}
}

/* A place among the password checks, waiting up to 2 s: 0 when none came. */
static enum MHD_Result do_login(req_t *r, body_t *b)
{
	server_t *sv = r->sv;
	if (!sv->auth)
		return respond_error(r, 404, NULL, "this server has no users (it runs without --users)");
	if (b->toobig)
		return respond_error(r, 413, NULL, "the login is too long");
	if (!same_origin(r))
		return respond_error(r, 403, NULL, "a login from another site");
	json_t *j = NULL;
	const char *name, *pw;
	size_t pwlen;
	if (!login_fields(r, b, &j, &name, &pw, &pwlen)) {
		json_decref(j);
		explicit_bzero(b->buf, sizeof b->buf);
		return respond_error(r, 400, NULL, "give a name and a password (JSON or a form)");
	}
	char client[INET6_ADDRSTRLEN], id[AUTH_SESSION_ID_LEN + 1];
	client_addr(r, client, sizeof client);
	const ml_user_t *u = NULL;
	unsigned wait_s = 0;
	if (!places_enter(&sv->logins, PLACE_WAIT_NS)) {
		json_decref(j);
		explicit_bzero(b->buf, sizeof b->buf);
		static const char busy[] = "{\"error\":\"busy: other logins are being checked; retry\"}";
		static const char *const hdr[] = { "Retry-After", "2", "Cache-Control", "no-store", NULL };
		return respond(r, 503, "application/json", busy, sizeof busy - 1, hdr);
	}
	int rc = ml_auth_login(sv->auth, name, pw, pwlen, client, id, &u, &wait_s);
	places_leave(&sv->logins);
	if (sv->verbose)
		fprintf(stderr, "mtalog serve: login from %s: %s\n", client[0] ? client : "loopback",
		        rc == ML_OK ? "ok" : rc == ML_EAGAIN ? "too many failures, must wait" : "refused");
	json_decref(j);
	explicit_bzero(b->buf, sizeof b->buf);
	if (rc == ML_EINVAL)
		return respond_error(r, 400, NULL, "a password may not hold a NUL byte");
	if (rc == ML_EAGAIN) {
		char secs[16];
		snprintf(secs, sizeof secs, "%u", wait_s);
		const char *hdr[] = { "Retry-After", secs, "Cache-Control", "no-store", NULL };
		char msg[160];
		int n = snprintf(msg, sizeof msg, "{\"error\":\"too many failed logins: wait %u s\"}", wait_s);
		return respond(r, 429, "application/json", msg, (size_t)n, hdr);
	}
	if (rc == ML_EPERM)
		return respond_error(r, 401, NULL, "wrong name or password");
	if (rc)
		return respond_error(r, 500, NULL, "cannot make a session");
	char cookie[256];
	cookie_header(sv, id, cookie, sizeof cookie);
	explicit_bzero(id, sizeof id);
	const char *hdr[] = { "Set-Cookie", cookie, "Cache-Control", "no-store", NULL };
	json_t *me = me_json(u);
	char *s = json_dumps(me, JSON_FLAGS);
	json_decref(me);
	enum MHD_Result ret = s ? respond(r, 200, "application/json", s, strlen(s), hdr)
	                        : respond_error(r, 500, NULL, "out of memory");
	free(s);
	return ret;
}

static enum MHD_Result do_logout(req_t *r)
{
	if (!same_origin(r))
		return respond_error(r, 403, NULL, "a logout from another site");
	ml_auth_logout(r->sv->auth, mhd.lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE));
	char cookie[256];
	cookie_header(r->sv, NULL, cookie, sizeof cookie);
	const char *hdr[] = { "Set-Cookie", cookie, "Cache-Control", "no-store", NULL };
	static const char ok[] = "{\"ok\":true}";
	return respond(r, 200, "application/json", ok, sizeof ok - 1, hdr);
}

/* The report's reason from a JSON object or a form ("reason"): its kind,
 * spam when none is given, 0 when it is not a kind. */
static int report_reason(req_t *r, body_t *b)
{
	const char *ct = mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	char reason[32] = "spam";
	if (b->len && ct && !strncasecmp(ct, "application/json", 16)) {
		json_error_t je;
		json_t *j = json_loadb(b->buf, b->len, 0, &je);
		json_t *v = json_object_get(j, "reason");
		if (v && !json_is_string(v))
			reason[0] = '\0';
		else if (v)
			snprintf(reason, sizeof reason, "%s", json_string_value(v));
		json_decref(j);
	} else if (b->len) {
		const char *key = "reason", *val = NULL;
		size_t n = 0;
		form_fields(b, &key, &val, &n, 1);
		if (val)
			snprintf(reason, sizeof reason, "%.*s", (int)ML_MIN(n, sizeof reason - 1), val);
	}
	return ml_report_kind_parse(reason, strlen(reason));
}

/* Run `mtalog report` (this program) on the database: the server holds no
 * write transaction of its own.  0, 1 (no such message, bad value) or 2,
 * and what it said on stderr into err. */
static int run_report(server_t *sv, const char *id, const char *kind, const char *by, char *err, size_t errlen)
{
	int fd[2];
	err[0] = '\0';
	if (pipe(fd))
		return 2;
	char *argv[] = { "mtalog", "--db", sv->store->path, "report", (char *)id, "--reason", (char *)kind,
		"--by", (char *)by, "--quiet", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	extern char **environ;
	int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(fd[1]);
	size_t n = 0;
	ssize_t k;
	while (n < errlen - 1 && (k = read(fd[0], err + n, errlen - 1 - n)) > 0)
		n += (size_t)k;
	err[n] = '\0';
	char sink[256];   /* the rest, so that the child never waits on a full pipe */
	while (read(fd[0], sink, sizeof sink) > 0)
		;
	err[strcspn(err, "\n")] = '\0';
	close(fd[0]);
	if (rc)
		return 2;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

/* POST /api/messages/ID/report: the session's user (none without --users)
 * reports a message they can see; {"ok": true, "reports": [...]}. */
static enum MHD_Result do_report(req_t *r, body_t *b, const char *id)
{
	if (!same_origin(r))
		return respond_error(r, 403, NULL, "a report from another site");
	if (r->sv->auth) {
		r->user = ml_auth_session(r->sv->auth, mhd.lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE));
		if (!r->user)
			return respond_error(r, 401, NULL, "log in first (POST /login)");
	}
	if (r->sv->backend)
		return respond_error(r, 501, NULL, "reports are not taken through a cluster's coordinator (serve --nats): "
		                     "run `mtalog report` on the shard node that holds the message");
	char err[512];
	uint64_t docid;
	if (ml_docid_parse(id, &docid))
		return bad_id(r, id);
	if (b->toobig)
		return respond_error(r, 413, NULL, "body too large");
	int kind = report_reason(r, b);
	if (!kind)
		return respond_error(r, 400, "reason", "reason: not spam or phishing");
	ml_search_t *se;
	int rc = search_borrow(r->sv, r->sv->search_ns, &se);
	if (rc)
		return respond_no_search(r, rc);
	ml_message_t m;
	ml_message_init(&m);
	int whole = 1;
	rc = message_get(r, se, docid, &m, &whole);
	ml_message_free(&m);
	enum MHD_Result ret;
	if (rc)
		ret = message_failed(r, id, rc);
	else if ((rc = run_report(r->sv, id, ml_report_kind_name(kind), r->user ? r->user->name : "", err,
	                            sizeof err))) {
		ret = respond_error(r, rc == 1 ? 404 : 500, rc == 1 ? "id" : NULL, err[0] ? err : "the report failed");
	} else {
		json_t *j = json_object();
		json_object_set_new(j, "ok", json_true());
		db_enter(r->sv);
		ml_message_add_reports(j, se, docid);
		db_leave(r->sv);
		ret = respond_json(r, 200, j);
	}
	search_return(r->sv, se);
	return ret;
}

/* /api/me: who the session is; {"name": null, "role": "admin", "users": false}
 * without --users. */
static enum MHD_Result api_me(req_t *r)
{
	if (!r->sv->auth) {
		json_t *j = json_object();
		json_object_set_new(j, "name", json_null());
		json_object_set_new(j, "role", json_string("admin"));
		json_object_set_new(j, "users", json_false());
		return respond_json(r, 200, j);
	}
	json_t *j = me_json(r->user);
	json_object_set_new(j, "users", json_true());
	return respond_json(r, 200, j);
}

/* ---- connections ----
 *
 * libmicrohttpd's own timeout counts idleness: a client that sends a byte
 * of its head every few seconds (slowloris) keeps its connection, and with
 * enough of them holds every place.  So each connection's head has a
 * deadline of its own: a watcher thread shuts down a connection whose
 * request head is not whole --header-timeout after it opened or after its
 * last answer (an idle keep-alive connection ends the same way).  A client
 * address holds at most --max-client-connections (libmicrohttpd refuses
 * the next), and when the server holds CONN_BUSY connections a request is
 * answered 503 with Retry-After. */
typedef struct conn {
	struct conn *next, **pprev;
	int fd;
	atomic_int busy;             /* a request is being answered */
	_Atomic int64_t since_ms;    /* opened, or answered last */
} conn_t;

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
	server_t *sv = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_t *k = calloc(1, sizeof *k);
		const union MHD_ConnectionInfo *ci = mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!k)
			return;
		k->fd = ci ? ci->connect_fd : -1;
		atomic_store(&k->since_ms, mono_ms());
		pthread_mutex_lock(&sv->conn_lock);
		k->next = sv->conns;
		k->pprev = &sv->conns;
		if (sv->conns)
			sv->conns->pprev = &k->next;
		sv->conns = k;
		sv->nconns++;
		pthread_mutex_unlock(&sv->conn_lock);
		*socket_context = k;
	} else if (*socket_context) {
		/* (before libmicrohttpd closes the socket: the watcher, which
		 * holds the lock, never shuts down a number reused since) */
		conn_t *k = *socket_context;
		pthread_mutex_lock(&sv->conn_lock);
		*k->pprev = k->next;
		if (k->next)
			k->next->pprev = k->pprev;
		sv->nconns--;
		pthread_mutex_unlock(&sv->conn_lock);
		free(k);
		*socket_context = NULL;
	}
}

/* The connection's state, marked busy: its request head is whole. */
static conn_t *conn_busy(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = mhd.get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_t *k = ci ? ci->socket_context : NULL;
	if (k)
		atomic_store(&k->busy, 1);
	return k;
}

/* libmicrohttpd's messages, at most one a second (a client refused for
 * holding too many connections is one each time): those in between are
 * counted and the count said with the next. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int64_t last;
	static unsigned quiet;
	int64_t now = mono_ms();
	pthread_mutex_lock(&mu);
	if (last && now - last < 1000) {
		quiet++;
		pthread_mutex_unlock(&mu);
		return;
	}
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (quiet)
		fprintf(stderr, "mtalog serve: %s (and %u more messages in the last second)\n", msg, quiet);
	else
		fprintf(stderr, "mtalog serve: %s\n", msg);
	last = now;
	quiet = 0;
	pthread_mutex_unlock(&mu);
}

static void *conn_watch(void *arg)
{
	server_t *sv = arg;
	while (!atomic_load(&stopping)) {
		struct timespec t = { 0, 100 * 1000000 };
		nanosleep(&t, NULL);
		int64_t now = mono_ms();
		pthread_mutex_lock(&sv->conn_lock);
		for (conn_t *k = sv->conns; k; k = k->next)
			if (!atomic_load(&k->busy) && k->fd >= 0 && now - atomic_load(&k->since_ms) > sv->header_ms) {
				shutdown(k->fd, SHUT_RDWR);
				atomic_store(&k->since_ms, INT64_MAX / 2);  /* once */
				if (sv->verbose)
					fprintf(stderr, "mtalog serve: a connection sent no whole request in %" PRId64
					        " ms: closed\n", sv->header_ms);
			}
		pthread_mutex_unlock(&sv->conn_lock);
	}
	return NULL;
}

/* A query string of more than PARAMS_MAX parameters.  MHD keeps every
 * parameter of a query in its connection's memory pool, and a query of some
 * thousands of them exhausts it: MHD then closes the connection without an
 * answer.  Its URI log callback sees the request's target before MHD splits
 * the query (in the request line's own buffer, which MHD itself cuts at the
 * '?'): past PARAMS_MAX parameters the query is ended right after its '?', so
 * that MHD keeps none, and the request's context is this marker, which the
 * handler answers with 414.  No path of this server takes more than a few
 * dozen parameters. */
#define PARAMS_MAX 256
static char too_many_params;

static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls; (void)conn;
	char *q = strchr(uri, '?');
	if (!q)
		return NULL;
	size_t n = 1;
	for (const char *p = q + 1; *p && n <= PARAMS_MAX; p++)
		n += *p == '&';
	if (n <= PARAMS_MAX)
		return NULL;
	q[1] = '\0';
	return &too_many_params;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode code)
{
	(void)cls; (void)code;
	const union MHD_ConnectionInfo *ci = mhd.get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn_t *k = ci ? ci->socket_context : NULL;
	if (k) {
		atomic_store(&k->since_ms, mono_ms());
		atomic_store(&k->busy, 0);
	}
	if (*con_cls && *con_cls != &too_many_params) {
		explicit_bzero(*con_cls, sizeof(body_t));
		free(*con_cls);
		*con_cls = NULL;
	}
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

/* May a request name this Host?  An address (IPv4, [IPv6]) or localhost,
 * with or without a port, and the names of --allowed-hosts; no Host at all
 * (HTTP/1.0).  A name the server was not told of is refused: a page of
 * another site that re-points its own name at this address (DNS
 * rebinding) sends that name. */
static int host_ok(const server_t *sv, const char *host)
{
	if (!host)
		return 1;
	size_t n = strlen(host);
	if (n == 0 || n > 255)
		return 0;
	char name[256];
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		if (!end || (end[1] && (end[1] != ':' || !end[2] || strspn(end + 2, "0123456789") != strlen(end + 2))))
			return 0;
		snprintf(name, sizeof name, "%.*s", (int)(end - host - 1), host + 1);
		struct in6_addr a6;
		return inet_pton(AF_INET6, name, &a6) == 1;
	}
	const char *colon = strchr(host, ':');
	if (colon && (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)))
		return 0;
	snprintf(name, sizeof name, "%.*s", (int)(colon ? (size_t)(colon - host) : n), host);
	struct in_addr a4;
	if (inet_pton(AF_INET, name, &a4) == 1 || !strcasecmp(name, "localhost"))
		return 1;
	for (size_t i = 0; i < sv->nhosts; i++)
		if (!strcasecmp(name, sv->hosts[i]))
			return 1;
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	req_t r = { cls, conn, method, url, { 0, 0 }, NULL };
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	conn_busy(conn);
	if (r.sv->nconns >= CONN_BUSY) {
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		static const char *const hdr[] = { "Retry-After", "5", "Connection", "close", NULL };
		static const char msg[] = "{\"error\":\"busy: too many connections; retry\"}";
		return respond(&r, 503, "application/json", msg, sizeof msg - 1, hdr);
	}
	if (!host_ok(r.sv, mhd.lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		return respond_error(&r, 421, NULL, "this server does not answer to that host name: "
		                     "start it with --allowed-hosts NAME to add it");
	}
	if (*con_cls == &too_many_params) {
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		char msg[80];
		snprintf(msg, sizeof msg, "too many parameters in the query (at most %d)", PARAMS_MAX);
		return respond_error(&r, 414, NULL, msg);
	}
	int is_login = !strcmp(url, "/login"), is_logout = !strcmp(url, "/logout");
	size_t ul = strlen(url);
	int is_report = !strncmp(url, "/api/messages/", 14) && ul > 21 && !strcmp(url + ul - 7, "/report");
	if ((is_login || is_logout || is_report) && !strcmp(method, "POST")) {
		/* read the body: the first call has none, the last has *upload_size 0 */
		body_t *b = *con_cls;
		if (!b) {
			if (!(b = calloc(1, sizeof *b)))
				return MHD_NO;
			*con_cls = b;
			return MHD_YES;
		}
		if (*upload_size) {
			size_t n = *upload_size;
			if (b->len + n >= sizeof b->buf)
				b->toobig = 1;
			else
				memcpy(b->buf + b->len, upload, n);
			if (!b->toobig)
				b->len += n;
			*upload_size = 0;
			return MHD_YES;
		}
		if (is_report) {
			char id[32];
			snprintf(id, sizeof id, "%.*s", (int)ML_MIN(ul - 21, sizeof id - 1), url + 14);
			return do_report(&r, b, id);
		}
		return is_login ? do_login(&r, b) : do_logout(&r);
	}
	if (is_login || is_logout || is_report) {
		static const char *const allow[] = { "Allow", "POST", NULL };
		static const char msg[] = "{\"error\":\"only POST\"}";
		return respond(&r, 405, "application/json", msg, sizeof msg - 1, allow);
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		if (*upload_size) {
			*upload_size = 0;  /* ignore a body */
			return MHD_YES;
		}
		static const char *const allow[] = { "Allow", "GET, HEAD", NULL };
		static const char msg[] = "{\"error\":\"only GET and HEAD\"}";
		return respond(&r, 405, "application/json", msg, sizeof msg - 1, allow);
	}
	if (!strncmp(url, "/api/", 5) && r.sv->auth) {
		/* every API path needs a session when the server has users */
		r.user = ml_auth_session(r.sv->auth, mhd.lookup_connection_value(conn, MHD_COOKIE_KIND, SESSION_COOKIE));
		if (!r.user)
			return respond_error(&r, 401, NULL, "log in first (POST /login)");
	}
	if (!strcmp(url, "/api/me"))
		return api_me(&r);
	if (!strcmp(url, "/api/search"))
		return api_search(&r, 0);
	if (!strcmp(url, "/api/search.csv"))
		return api_search(&r, 1);
	if (!strcmp(url, "/api/histogram"))
		return api_histogram(&r);
	if (!strncmp(url, "/api/messages/", 14))
		return api_message(&r, url + 14);
	if (!strncmp(url, "/api/", 5) || !strcmp(url, "/api"))
		return respond_error(&r, 404, NULL, "no such endpoint (/api/search, /api/search.csv, /api/histogram, /api/messages/ID, /api/me)");
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
	if (mhd_load())
		return 2;
	server_t sv;
	memset(&sv, 0, sizeof sv);
	sv.verbose = o->verbose;
	if (o->allowed_hosts) {
		char *list = strdup(o->allowed_hosts), *save = NULL;
		for (char *h = list ? strtok_r(list, ", ", &save) : NULL; h; h = strtok_r(NULL, ", ", &save)) {
			char **nh = realloc(sv.hosts, (sv.nhosts + 1) * sizeof *nh);
			if (!nh || !(nh[sv.nhosts] = strdup(h))) {
				if (nh)
					sv.hosts = nh;
				break;
			}
			sv.hosts = nh;
			sv.nhosts++;
		}
		free(list);
	}
	pthread_mutex_init(&sv.pool_lock, NULL);
	pthread_rwlock_init(&sv.maplock, NULL);
	pthread_mutex_init(&sv.conn_lock, NULL);
	sv.header_ms = (int64_t)((o->header_timeout > 0 ? o->header_timeout : 10) * 1000);
	atomic_store(&stopping, 0);
	sv.search_ns = (uint64_t)((o->search_timeout > 0 ? o->search_timeout : ML_SERVE_SEARCH_TIMEOUT) * 1e9);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	places_init(&sv.scans, o->max_scans ? o->max_scans : ncpu > 0 ? (unsigned)ncpu : 1);
	places_init(&sv.logins, LOGIN_CHECKS);
	/* search objects: one for each costly search, and two a processor for the others */
	places_init(&sv.searches, o->max_searches ? o->max_searches
	            : sv.scans.max + 2 * (ncpu > 0 ? (unsigned)ncpu : 1));
	struct MHD_Daemon *d = NULL;
	sv.pool = calloc(sv.searches.max, sizeof *sv.pool);
	if (!sv.pool || ml_seal_init(&sv.seal)) {
		/* (nettle that cannot be loaded said so already) */
		fprintf(stderr, "mtalog serve: %s\n", sv.pool ? "cannot make the cursors' key" : "out of memory");
		ret = 2;
		goto done;
	}
	int loopback = ss.ss_family == AF_INET6
		? IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr)
		: (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (o->users_path) {
		int urc = ml_auth_open(&sv.auth, o->users_path, err, sizeof err);
		if (urc) {
			fprintf(stderr, "mtalog serve: %s\n", err);
			ret = urc == ML_EINVAL ? 1 : 2;
			goto done;
		}
		/* a Secure cookie travels over https only; browsers hold loopback
		 * http for secure, and a server elsewhere sits behind https */
		sv.secure_cookie = o->secure_cookie || !loopback;
	} else if (!loopback) {
		fprintf(stderr, "mtalog serve: warning: without --users, anyone who reaches %s sees every message\n",
		        o->listen);
	}
	sv.backend = o->backend;
	if (!sv.backend && ml_store_open(&sv.store, o->db_path, ML_STORE_RDONLY, err, sizeof err)) {
		fprintf(stderr, "mtalog serve: %s\n", err);
		goto done;
	}
	/* address space for the writer to grow into (see the top) */
	if (sv.store && sv.store->mapsize < ML_SERVE_MAP && sizeof(size_t) >= 8)
		ml_store_set_map(sv.store, ML_SERVE_MAP);

	/* SIGINT and SIGTERM are taken by sigwait below; the daemon's threads
	 * inherit the blocked mask */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	signal(SIGPIPE, SIG_IGN);

	/* a thread a connection: a search that takes its whole budget holds
	 * up no other client (with a pool, every connection of its thread
	 * waited) */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
	                 MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = mhd.start_daemon(flags, 0, NULL, NULL, handle, &sv,
	                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1 << 20),
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	                     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(o->max_client_conns ? o->max_client_conns : 64),
	                     MHD_OPTION_NOTIFY_CONNECTION, conn_notify, &sv,
	                     /* room for a query of PARAMS_MAX parameters (each costs a
	                      * record of the pool) and long values */
	                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
	                     MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
	                     MHD_OPTION_URI_LOG_CALLBACK, uri_seen, NULL,
	                     MHD_OPTION_END);
	if (d)
		sv.watching = pthread_create(&sv.watch, NULL, conn_watch, &sv) == 0;
	if (!d) {
		fprintf(stderr, "mtalog serve: cannot listen on %s: %s\n",
		        o->listen ? o->listen : ML_SERVE_DEFAULT_LISTEN, strerror(errno));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto done;
	}
	const union MHD_DaemonInfo *di = mhd.get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char addr[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
	printf("mtalog serve: listening on http://%s%s%s:%u/ (%s %s)\n",
	       ss.ss_family == AF_INET6 ? "[" : "", addr, ss.ss_family == AF_INET6 ? "]" : "",
	       di ? (unsigned)di->port : 0u, sv.backend ? "cluster" : "database", sv.backend ? sv.backend->name : o->db_path);
	fflush(stdout);
	int sig = 0;
	sigwait(&sigs, &sig);
	if (o->verbose)
		fprintf(stderr, "mtalog serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* searches running stop at their next look at the budget */
	atomic_store(&stopping, 1);
	places_wake(&sv.scans);
	places_wake(&sv.logins);
	places_wake(&sv.searches);
	mhd.stop_daemon(d);
	if (sv.watching)
		pthread_join(sv.watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ret = 0;
done:
	for (size_t i = 0; i < sv.npool; i++)
		ml_search_free(sv.pool[i]);
	free(sv.pool);
	ml_store_close(sv.store);
	ml_auth_free(sv.auth);
	for (size_t i = 0; i < sv.nhosts; i++)
		free(sv.hosts[i]);
	free(sv.hosts);
	pthread_rwlock_destroy(&sv.maplock);
	pthread_mutex_destroy(&sv.pool_lock);
	places_destroy(&sv.scans);
	places_destroy(&sv.logins);
	places_destroy(&sv.searches);
	ml_seal_wipe(&sv.seal);
	pthread_mutex_destroy(&sv.conn_lock);
	return ret;
}
