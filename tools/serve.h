/*
 * serve.h — `mtalog serve`: the JSON API and the Email Logs page over HTTP
 * (libmicrohttpd), read-only, beside a running `mtalog ingest`.
 *
 * Endpoints (GET and HEAD only):
 *
 *   /api/search?PARAMS      {"rows": [...], "truncated": bool, "next": cursor|null,
 *                            "took_us": n, "scanned": bool}
 *                           PARAMS are the names of ml_query_params (from, to, ...,
 *                           limit) plus cursor=; an empty value is no filter.  Rows
 *                           have the keys of `mtalog search --json`.
 *   /api/search.csv?PARAMS  the same rows as CSV (the columns of `search --csv`);
 *                           the next cursor in the header X-Mtalog-Next
 *   /api/messages/ID        the message as `mtalog show --json` gives it
 *   /, /m/ID                the page (index.html; the page routes itself)
 *   /NAME                   the other embedded files of tools/web/
 *
 * Errors: a bad parameter is 400 with {"error": text, "parameter": name};
 * an unknown message or path is 404; 500 only when the database fails.
 *
 *   POST /login             name and password (form or JSON) → the session cookie
 *   POST /logout            ends the session
 *   /api/me                 who the session is
 *
 * Users (--users FILE), passwords, sessions and the brakes on guessing:
 * tools/auth.h.  With users, every /api/ path needs a session (else 401);
 * rows a user may not see are left out of search pages and CSV (the cursor
 * passes over them, so a page may be short), and a message without one of
 * their rows is 404.  A login or logout whose Origin (or Referer) names
 * another site is 403; too many failed logins are 429 with Retry-After.
 * At most 4 passwords are checked at once (yescrypt holds 16 MB a check):
 * a login that finds no place within 2 s is 503 with Retry-After.
 * The session is in an HttpOnly, SameSite=Strict cookie, Secure unless the
 * server listens on loopback (or with secure_cookie).
 *
 * Cursor: tools/page.h ("D" or "D.K"); a page is one consistent snapshot:
 * messages ingested later have newer docids and do not shift the pages
 * already seen.  The rows a user sees, and how their cursor passes over the
 * others: tools/page.h too.
 *
 * Those are the cursors of an open server (and of `mtalog search`).  A
 * server with users hands each user their cursor sealed (tools/seal.h:
 * encrypted and authenticated under a key of the process, bound to the
 * user's name), at most ML_CURSOR_TEXT - 1 characters: opaque to the
 * client, and a cursor changed, another user's, or from before a restart
 * is a bad parameter (400, "cursor"), never a position.
 *
 * Bounded work: a search has a time budget (--search-timeout, default 5 s)
 * and stops early when its client goes away or the server stops; it then
 * answers with the rows found, "complete": false and a cursor that goes on
 * from where it stopped.  Searches that read message by message (no
 * indexed filter, or subject_re) run at most --max-scans at once; one more
 * waits up to 2 s for a place, then gets 503 with Retry-After.
 *
 * Threads: one per connection (libmicrohttpd's); the session table has its
 * own lock.  Each request borrows an ml_search_t (a search object is not
 * thread-safe; it may hold a second thread and a batch of decoded rows)
 * from a pool of at most --max-searches, shared by every connection, and
 * runs its search in one read transaction (ml_search_run opens it); more
 * wait in line, first come first served, for what is left of their time
 * budget, then get 503 with Retry-After.  So memory does not grow with the
 * connections: a thousand idle or waiting connections hold a thread stack
 * each and no search.  A costly search takes its place among --max-scans
 * first (the line there is 2 s at most), then a search object.
 */
#ifndef ML_SERVE_H
#define ML_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "tools/page.h"

#define ML_SERVE_DEFAULT_LISTEN "127.0.0.1:8025"
#define ML_SERVE_SEARCH_TIMEOUT 5   /* seconds */

/* A server of a cluster (`serve --nats`, tools/coord.h): the answers come
 * from the shards, not from db_path.  Each call fills *out with the JSON
 * answer, in the shape the endpoint has on a single node plus "partial":
 * true and "missing": [K, ...] when shards did not answer, and returns its
 * HTTP status (an error: {"error": text[, "parameter": name]}).  The
 * cursor is the backend's text (at most ML_SEAL_MAX characters), handed
 * to a user sealed as any other.  Called from any thread. */
typedef struct {
	json_t *params;          /* {name: value}: the search parameters given (ml_query_params) */
	const ml_user_t *user;   /* the session's user (NULL: no --users) */
	const char *cursor;      /* the "next" of the page before, or NULL */
	unsigned limit;          /* rows wanted, 1..ML_QUERY_MAX_LIMIT */
	double timeout;          /* seconds a shard has to answer */
} ml_serve_ask_t;

typedef struct {
	void *ctx;
	const char *name;        /* what the server serves, for its first line */
	unsigned (*search)(void *ctx, const ml_serve_ask_t *ask, json_t **out);      /* /api/search */
	unsigned (*histogram)(void *ctx, const ml_serve_ask_t *ask, json_t **out);   /* /api/histogram */
	unsigned (*message)(void *ctx, const char *id, const ml_serve_ask_t *ask, json_t **out);
} ml_serve_backend_t;

typedef struct {
	const char *db_path;
	const ml_serve_backend_t *backend;   /* NULL: the database at db_path */
	const char *listen;     /* HOST:PORT, [V6]:PORT, :PORT or PORT; NULL: the default */
	unsigned max_scans;     /* costly searches (no indexed filter, or a regex) at once;
	                           0: the processors.  More wait up to 2 s, then 503 */
	unsigned max_searches;  /* searches of any kind at once (search objects); 0:
	                           max_scans + 2 a processor.  More wait in line within
	                           their time budget, then 503 */
	double search_timeout;  /* seconds a search may take (it then answers with what it
	                           found, "complete": false); 0: ML_SERVE_SEARCH_TIMEOUT */
	int verbose;            /* one line per request on stderr */
	const char *users_path; /* --users FILE: log in, see one's own rows; NULL: open */
	int secure_cookie;      /* the session cookie says Secure even on loopback (behind
	                           an https proxy); elsewhere it always does */
	unsigned max_client_conns;  /* connections one client address may hold; 0: 64 */
	double header_timeout;  /* seconds a request head may take, from the connection's
	                           start or its last answer; 0: 10 */
	const char *allowed_hosts;  /* host names (comma-separated) the Host header may give
	                               besides addresses and localhost; others get 421 */
} ml_serve_opts_t;

/* Serve until SIGINT or SIGTERM.  Prints "listening on http://HOST:PORT/"
 * on stdout once ready (port 0 picks a free one, shown there).  Returns 0
 * after a clean stop, 1 for bad options, 2 when libmicrohttpd cannot be
 * loaded (it is loaded here, not linked: see serve.c) or the database or the
 * socket cannot be opened. */
int ml_serve_run(const ml_serve_opts_t *o);

/* The embedded files of tools/web/, generated at build time
 * (tools/web/embed.sh); the table ends with a NULL path. */
typedef struct {
	const char *path;           /* "/index.html" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
} ml_web_asset_t;

extern const ml_web_asset_t ml_web_assets[];

/* Room for a cursor as text, plain or sealed, and its NUL. */
#define ML_CURSOR_TEXT 96

#endif
