/*
 * Tests of `mtalog serve`: the JSON API (every search parameter, every
 * error), the message endpoint, CSV export, the page cursor (over 1000 rows,
 * and while ingest adds messages), the embedded page, a clean stop.
 *
 * Two servers run on free loopback ports: one on a database of
 * tests/data/statuses.log (one message per status), one on sample/mail.log
 * (3439 rows).  The client is a plain socket: GET, Connection: close, read to
 * the end (the server always sends Content-Length, never chunks).
 *
 * Who sees what: two more servers with --users on the same two databases;
 * users log in (POST /login), carry the session cookie, and see only their
 * rows through every API path; the rest is 401, or 404 for a message.
 */
#include "testlib.h"

#include "engine/syslog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUSES "tests/data/statuses.log"
#define SAMPLE "sample/mail.log"
#define SAMPLE_ROWS 3439

static char dir[4096];
static char db[4200], bigdb[4200], users[4200];

typedef struct {
	pid_t pid;
	unsigned port;
} server_t;

static server_t small, big, small_u, big_u;

/* Every server started and not yet stopped: a failing test longjmps past its
 * own stop, so the group teardown and exit stop what is left. */
static pid_t running[16];

static void track(pid_t pid, int on)
{
	for (size_t i = 0; i < ML_ARRAY_LEN(running); i++)
		if (on ? running[i] == 0 : running[i] == pid) {
			running[i] = on ? pid : 0;
			return;
		}
}

static void stop_all(void)
{
	for (size_t i = 0; i < ML_ARRAY_LEN(running); i++)
		if (running[i] > 0) {
			kill(running[i], SIGTERM);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
}

/* Run sh -c cmd with stdout to fd_out (-1: inherited); the child gets
 * SIGTERM if this test program dies first, so no server outlives it. */
static pid_t spawn(const char *cmd, int fd_out, int fd_close)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd_out >= 0) {
			dup2(fd_out, 1);
			close(fd_out);
		}
		if (fd_close >= 0)
			close(fd_close);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		fail_msg("fork");
	return pid;
}

static const char *bin(void)
{
	const char *b = getenv("MTALOG_BIN");
	return b ? b : "build/mtalog";
}

/* Start `mtalog serve` on a free port; the port is read from its first line. */
static server_t serve_start(const char *dbpath, const char *extra)
{
	int fd[2];
	if (pipe(fd))
		fail_msg("pipe");
	char cmd[9000];
	char more[4400] = "";
	if (extra && !strncmp(extra, "--users USERS", 13))
		snprintf(more, sizeof more, "--users %s%s", users, extra + 13);
	else if (extra)
		snprintf(more, sizeof more, "%s", extra);
	snprintf(cmd, sizeof cmd, "exec %s --db %s serve --listen 127.0.0.1:0 %s", bin(), dbpath, more);
	pid_t pid = spawn(cmd, fd[1], fd[0]);
	track(pid, 1);
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	char line[1024] = "";
	if (!fgets(line, sizeof line, f))
		fail_msg("serve printed nothing: %s", cmd);
	fclose(f);
	const char *p = strstr(line, "http://127.0.0.1:");
	if (!p)
		fail_msg("serve: unexpected first line: %s", line);
	server_t s = { pid, (unsigned)atoi(p + 17) };
	assert_true(s.port > 0);
	return s;
}

/* SIGTERM; the exit status. */
static int serve_stop(server_t *s)
{
	int st;
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	track(s->pid, 0);
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

typedef struct {
	int status;
	char *head;   /* status line and headers */
	char *body;
	size_t body_len;
} resp_t;

static void resp_free(resp_t *r)
{
	free(r->head);
	free(r->body);
}

/* One request; raw is the whole request text. */
static resp_t http_raw(unsigned port, const char *raw)
{
	resp_t r = { 0, NULL, NULL, 0 };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a))
		fail_msg("connect to port %u", port);
	size_t n = strlen(raw), off = 0;
	while (off < n) {
		ssize_t w = write(s, raw + off, n - off);
		if (w <= 0)
			fail_msg("write");
		off += (size_t)w;
	}
	ml_buf_t b = ML_BUF_INIT;
	char tmp[65536];
	ssize_t k;
	while ((k = read(s, tmp, sizeof tmp)) > 0)
		ml_buf_append(&b, tmp, (size_t)k);
	close(s);
	ml_buf_cstr(&b);
	char *sep = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
	if (!sep)
		fail_msg("no HTTP response to: %s", raw);
	r.head = strndup(b.data, (size_t)(sep - b.data));
	r.body_len = b.len - (size_t)(sep + 4 - b.data);
	r.body = malloc(r.body_len + 1);
	memcpy(r.body, sep + 4, r.body_len);
	r.body[r.body_len] = '\0';
	if (sscanf(r.head, "HTTP/1.%*d %d", &r.status) != 1)
		fail_msg("bad status line: %s", r.head);
	ml_buf_free(&b);
	return r;
}

static resp_t http_get(unsigned port, const char *path)
{
	ml_buf_t req = ML_BUF_INIT;
	ml_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	resp_t r = http_raw(port, ml_buf_cstr(&req));
	ml_buf_free(&req);
	return r;
}

/* A header's value (static buffer), or NULL. */
static const char *header(const resp_t *r, const char *name)
{
	static char val[512];
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;
			while (*v == ' ')
				v++;
			size_t len = strcspn(v, "\r\n");
			snprintf(val, sizeof val, "%.*s", (int)len, v);
			return val;
		}
	}
	return NULL;
}

/* Percent-encode a query value. */
static void urlenc(char *out, size_t len, const char *s)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, len - o, "%%%02X", *p);
	}
	out[o] = '\0';
}

/* GET path, expect status, parse the JSON body. */
static json_t *get_json(unsigned port, const char *path, int want_status)
{
	resp_t r = http_get(port, path);
	if (r.status != want_status)
		fail_msg("GET %s: status %d, want %d: %s", path, r.status, want_status, r.body);
	const char *ct = header(&r, "Content-Type");
	if (!ct || strcmp(ct, "application/json"))
		fail_msg("GET %s: content type %s", path, ct ? ct : "(none)");
	json_error_t je;
	json_t *j = json_loads(r.body, 0, &je);
	if (!j)
		fail_msg("GET %s: bad JSON: %s", path, r.body);
	resp_free(&r);
	return j;
}

/* /api/search with one parameter (value encoded), the rows. */
static json_t *search1(const char *name, const char *value)
{
	char enc[2048], path[4096];
	urlenc(enc, sizeof enc, value);
	snprintf(path, sizeof path, "/api/search?%s=%s", name, enc);
	json_t *j = get_json(small.port, path, 200);
	json_t *rows = json_incref(json_object_get(j, "rows"));
	assert_true(json_is_array(rows));
	assert_true(json_is_boolean(json_object_get(j, "truncated")));
	assert_true(json_is_integer(json_object_get(j, "took_us")));
	json_decref(j);
	return rows;
}

/* The rows of `mtalog search --json ARGS` as an array. */
static json_t *cli_rows(const char *dbpath, const char *args)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, "--db %s search --json %s", dbpath, args);
	if (rc)
		fail_msg("search %s: %s", args, err);
	json_t *arr = json_array();
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_array_append_new(arr, json_loads(line, 0, &je));
	}
	free(out);
	free(err);
	return arr;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s", tl_tmpdir());
	snprintf(db, sizeof db, "%s/t.db", dir);
	snprintf(bigdb, sizeof bigdb, "%s/big.db", dir);
	char *err;
	if (tl_mtalog(NULL, &err, "--db %s ingest --quiet --year 2026 --local-domains example.com %s", db, STATUSES))
		fail_msg("ingest: %s", err);
	free(err);
	if (tl_mtalog(NULL, &err, "--db %s ingest --quiet %s", bigdb, SAMPLE))
		fail_msg("ingest: %s", err);
	free(err);
	small = serve_start(db, NULL);
	big = serve_start(bigdb, NULL);
	/* the users: two passwords, hashed by the command */
	char *h1, *h2, pw1[4300], pw2[4300];
	snprintf(pw1, sizeof pw1, "%s/pw1", dir);
	snprintf(pw2, sizeof pw2, "%s/pw2", dir);
	tl_write_file(pw1, "right-1\n", 8);
	tl_write_file(pw2, "right-2\n", 8);
	if (tl_mtalog(&h1, &err, "serve --hash-password < %s", pw1) || tl_mtalog(&h2, NULL, "serve --hash-password < %s", pw2))
		fail_msg("--hash-password: %s", err);
	free(err);
	h1[strcspn(h1, "\n")] = '\0';
	h2[strcspn(h2, "\n")] = '\0';
	char text[4096];
	snprintf(text, sizeof text,
	         "# name:hash:role:addresses\n"
	         "root:%s:admin:\n"
	         "bob:%s:user:bob@example.com\n"
	         "carol:%s:user:Carol@Example.com, @partner.example\n"
	         "free:%s:user:@freemail.example\n"
	         "mute:%s:silent:mute@example.com\n",
	         h1, h2, h1, h1, h1);
	free(h1);
	free(h2);
	snprintf(users, sizeof users, "%s/users", dir);
	tl_write_file(users, text, strlen(text));
	small_u = serve_start(db, "--users USERS");
	big_u = serve_start(bigdb, "--users USERS");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	int a = serve_stop(&small) | serve_stop(&small_u), b = serve_stop(&big) | serve_stop(&big_u);
	stop_all();
	tl_rmdir(dir);
	if (a || b)
		fail_msg("serve exited %d and %d after SIGTERM", a, b);
	return 0;
}

/* Every parameter: the API answers what the command answers. */
static void every_parameter(void **state)
{
	(void)state;
	static const struct { const char *name, *value, *cli; size_t n; } cases[] = {
		{ "from", "alice@sender.example", "--from alice@sender.example", 1 },
		{ "from", "@example.com", "--from @example.com", 3 },
		{ "from", "car*", "--from 'car*'", 1 },
		{ "from", "<>", "--from '<>'", 2 },
		{ "to", "bob@example.com", "--to bob@example.com", 2 },
		{ "to", "sales@example.com", "--to sales@example.com", 2 },
		{ "to", "@example.com", "--to @example.com", 9 },
		{ "subject", "quarterly report", "--subject 'quarterly report'", 1 },
		{ "subject", "\"report äpfel\"", "--subject '\"report äpfel\"'", 1 },
		{ "subject", "réunion", "--subject réunion", 1 },
		{ "subject", "quart* äpf*", "--subject 'quart* äpf*'", 1 },
		{ "subject", "r*", "--subject 'r*'", 2 },
		{ "subject_re", "^r.union", "--subject-re '^r.union'", 1 },
		{ "status", "delivered", "--status delivered", 5 },
		{ "status", "delayed", "--status delayed", 1 },
		{ "status", "bounced", "--status bounced", 1 },
		{ "status", "expired", "--status expired", 1 },
		{ "status", "queued", "--status queued", 2 },
		{ "status", "quarantined", "--status quarantined", 1 },
		{ "status", "blocked", "--status blocked", 3 },
		{ "status", "cleared", "--status cleared", 10 },
		{ "status", "released", "--status released", 1 },
		{ "status", "bounced,expired", "--status bounced,expired", 2 },
		{ "direction", "in", "--direction in", 9 },
		{ "direction", "outbound", "--direction out", 3 },
		{ "direction", "internal", "--direction internal", 0 },
		{ "direction", "both", "", 14 },
		{ "since", "2026-03-03T10:06:00Z", "--since 2026-03-03T10:06:00Z", 6 },
		{ "until", "2026-03-03T10:02:00Z", "--until 2026-03-03T10:02:00Z", 3 },
		{ "since", "2026-03-04", "--since 2026-03-04", 0 },
		{ "msgid", "<m3@example.com>", "--msgid m3@example.com", 1 },
		{ "ip", "192.0.2.10", "--ip 192.0.2.10", 1 },
		{ "host", "MX2", "--host mx2", 6 },
		{ "queue_id", "0D1E2F3A4B", "--queue-id 0D1E2F3A4B", 3 },
		{ "limit", "2", "--limit 2", 2 },
		{ "to", "", "", 14 },  /* an empty value is no filter */
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		json_t *api = search1(cases[i].name, cases[i].value);
		json_t *cli = cli_rows(db, cases[i].cli);
		if (json_array_size(api) != cases[i].n)
			fail_msg("%s=%s: %zu rows, want %zu", cases[i].name, cases[i].value, json_array_size(api), cases[i].n);
		if (!json_equal(api, cli))
			fail_msg("%s=%s: the API's rows differ from the command's", cases[i].name, cases[i].value);
		json_decref(api);
		json_decref(cli);
	}
	/* several filters AND together; '+' is a space */
	json_t *j = get_json(small.port, "/api/search?from=%40example.com&to=%40slow.example&status=delayed", 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
	json_decref(j);
	j = get_json(small.port, "/api/search?subject=quarterly+report&direction=in", 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
	assert_true(json_is_null(json_object_get(j, "next")));
	assert_false(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);
	/* the keys of search --json, in order */
	static const char *const keys[] = { "id", "time", "host", "queue_id", "direction", "from", "to",
		"orig_to", "subject", "status", "dsn", "relay", "delay", "reason", "message_id", "client_ip", "size",
		"released", "reported" };
	json_t *rows = search1("queue_id", "1A2B3C4D5E");
	json_t *row = json_array_get(rows, 0);
	assert_int_equal(json_object_size(row), ML_ARRAY_LEN(keys));
	size_t k = 0;
	const char *key;
	json_t *v;
	json_object_foreach(row, key, v)
		assert_string_equal(key, keys[k++]);
	assert_string_equal(json_string_value(json_object_get(row, "subject")), "Quarterly report äpfel");
	assert_true(json_is_false(json_object_get(row, "released")));
	json_decref(rows);
	/* the row of a message released from quarantine says so, and no other does */
	rows = search1("status", "released");
	assert_int_equal(json_array_size(rows), 1);
	assert_true(json_is_true(json_object_get(json_array_get(rows, 0), "released")));
	json_decref(rows);
	rows = search1("status", "cleared");
	size_t released = 0;
	for (size_t i = 0; i < json_array_size(rows); i++)
		released += json_is_true(json_object_get(json_array_get(rows, i), "released"));
	assert_int_equal(released, 1);
	json_decref(rows);
}

/* Bad input: 400 naming the parameter, 404, 405; never 500. */
static void errors(void **state)
{
	(void)state;
	static const struct { const char *query, *param; } bad[] = {
		{ "status=nonsense", "status" },
		{ "status=delivered,nope", "status" },
		{ "direction=sideways", "direction" },
		{ "since=yesterdayish", "since" },
		{ "until=2026-13-45", "until" },
		{ "limit=0", "limit" },
		{ "limit=1001", "limit" },
		{ "limit=abc", "limit" },
		{ "limit=-1", "limit" },
		{ "subject_re=(", "subject_re" },
		{ "subject_re=%5B", "subject_re" },
		{ "cursor=abc", "cursor" },
		{ "cursor=12.x", "cursor" },
		{ "cursor=0", "cursor" },
		{ "cursor=5.0", "cursor" },
		{ "cursor=99999999999999999999999", "cursor" },
		{ "nonsense=1", "nonsense" },
		{ "to=a&to=b", "to" },
		{ "cursor=1&cursor=2", "cursor" },
		{ "from=x&status=%FF%FE", "status" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(bad); i++) {
		for (int csv = 0; csv < 2; csv++) {
			char path[1024];
			snprintf(path, sizeof path, "/api/search%s?%s", csv ? ".csv" : "", bad[i].query);
			json_t *j = get_json(small.port, path, 400);
			const char *p = json_string_value(json_object_get(j, "parameter"));
			const char *p2 = json_string_value(json_object_get(j, "param"));
			const char *e = json_string_value(json_object_get(j, "error"));
			if (!p || strcmp(p, bad[i].param) || !p2 || strcmp(p2, bad[i].param) || !e || !strstr(e, bad[i].param))
				fail_msg("%s: parameter %s, error %s", path, p ? p : "-", e ? e : "-");
			json_decref(j);
		}
	}
	/* messages: a malformed id is 400, an unknown one 404 */
	json_t *j = get_json(small.port, "/api/messages/abc", 400);
	assert_string_equal(json_string_value(json_object_get(j, "parameter")), "id");
	json_decref(j);
	j = get_json(small.port, "/api/messages/", 400);
	json_decref(j);
	j = get_json(small.port, "/api/messages/12/34", 400);
	json_decref(j);
	j = get_json(small.port, "/api/messages/99999999999999999999999", 400);
	json_decref(j);
	j = get_json(small.port, "/api/messages/12345", 404);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "12345"));
	json_decref(j);
	j = get_json(small.port, "/api/nothing", 404);
	json_decref(j);
	resp_t r = http_get(small.port, "/no-such-file.js");
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = http_raw(small.port, "POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
	assert_int_equal(r.status, 405);
	resp_free(&r);
	r = http_raw(small.port, "DELETE /api/messages/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(r.status, 405);
	resp_free(&r);
	/* odd input never makes a 500 */
	static const char *const odd[] = {
		"/api/search?to=%FF%FE%00x", "/api/search?from=", "/api/search?subject=%22", "/api/search?subject=%22%22",
		"/api/search?to=*", "/api/search?to=%40", "/api/search?from=%2A%2A", "/api/search?msgid=%3C%3E",
		"/api/search?subject_re=%5Cp%7BL%7D%2B", "/api/search?ip=not-an-ip", "/api/search?since=1s",
		"/api/search?since=2026-03-04&until=2026-03-01", "/api/search?status=,", "/api/search?to",
		"/api/search?&&&", "/api/search?=x", "/api/messages/0", "/api/messages/18446744073709551615",
		"/api/search?cursor=18446744073709551614.4294967295",
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(odd); i++) {
		r = http_get(small.port, odd[i]);
		if (r.status >= 500 || r.status < 200)
			fail_msg("GET %s: %d %s", odd[i], r.status, r.body);
		resp_free(&r);
	}
	/* a query of 256 parameters is read and gets its 400; more get 414,
	 * never a closed connection (MHD's pool would run out at some
	 * thousands); until before 1970 finds nothing */
	ml_buf_t q = ML_BUF_INIT;
	ml_buf_puts(&q, "/api/search?");
	for (int i = 0; i < 256; i++)
		ml_buf_printf(&q, "%sto=%d", i ? "&" : "", i);
	r = http_get(small.port, ml_buf_cstr(&q));
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "given twice"));
	resp_free(&r);
	ml_buf_reset(&q);
	ml_buf_puts(&q, "/api/search?");
	for (int i = 0; i < 256; i++)
		ml_buf_printf(&q, "%sp%d=", i ? "&" : "", i);
	r = http_get(small.port, ml_buf_cstr(&q));
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "unknown parameter"));
	resp_free(&r);
	static const int many[] = { 257, 1000, 5000, 20000 };
	for (size_t k = 0; k < sizeof many / sizeof many[0]; k++) {
		ml_buf_reset(&q);
		ml_buf_puts(&q, "/api/search?");
		for (int i = 0; i < many[k]; i++)
			ml_buf_printf(&q, "%sp%d=", i ? "&" : "", i);
		r = http_get(small.port, ml_buf_cstr(&q));
		if (r.status != 414 || !strstr(r.body, "too many parameters"))
			fail_msg("%d parameters: %d %s", many[k], r.status, r.body);
		resp_free(&r);
	}
	r = http_get(small.port, "/api/search?to=x");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	ml_buf_free(&q);
	static const char *const before1970[] = { "until=1969-12-31", "until=1960-01-01", "until=2999999w" };
	for (size_t i = 0; i < ML_ARRAY_LEN(before1970); i++) {
		char path[128];
		snprintf(path, sizeof path, "/api/search?%s", before1970[i]);
		json_t *none = get_json(small.port, path, 200);
		assert_int_equal(json_array_size(json_object_get(none, "rows")), 0);
		json_decref(none);
	}
}

/* /api/messages/ID is `mtalog show --json`. */
static void message(void **state)
{
	(void)state;
	json_t *rows = search1("queue_id", "3C4D5E6F7A");
	const char *id = json_string_value(json_object_get(json_array_get(rows, 0), "id"));
	char path[256], *out, *err;
	snprintf(path, sizeof path, "/api/messages/%s", id);
	json_t *api = get_json(small.port, path, 200);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", db, id), 0);
	json_error_t je;
	json_t *cli = json_loads(out, 0, &je);
	assert_non_null(cli);
	assert_true(json_equal(api, cli));
	assert_int_equal(json_array_size(json_object_get(api, "raw")), 7);
	assert_string_equal(json_string_value(json_object_get(api, "bounce_queue_id")), "4D5E6F7A8B");
	free(out);
	free(err);
	json_decref(api);
	json_decref(cli);
	json_decref(rows);
}

/* /api/search.csv is `mtalog search --csv`. */
static void csv_export(void **state)
{
	(void)state;
	static const char *const q[][2] = {
		{ "host=mx2", "--host mx2" }, { "", "" }, { "queue_id=3C4D5E6F7A", "--queue-id 3C4D5E6F7A" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(q); i++) {
		char path[256], *out, *err;
		snprintf(path, sizeof path, "/api/search.csv?%s", q[i][0]);
		resp_t r = http_get(small.port, path);
		assert_int_equal(r.status, 200);
		assert_string_equal(header(&r, "Content-Type"), "text/csv; charset=utf-8");
		assert_non_null(strstr(header(&r, "Content-Disposition"), "attachment"));
		assert_int_equal(tl_mtalog(&out, &err, "--db %s search --csv %s", db, q[i][1]), 0);
		assert_string_equal(r.body, out);
		free(out);
		free(err);
		resp_free(&r);
	}
	/* no rows: the header alone */
	resp_t r = http_get(small.port, "/api/search.csv?to=nobody%40nowhere.example");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "id,time,host,queue_id,direction,from,to,orig_to,subject,status,dsn,relay,"
	                            "delay,reason,message_id,client_ip,size,released,reported\r\n");
	resp_free(&r);
	/* a page: the next cursor in a header, and it continues */
	r = http_get(small.port, "/api/search.csv?limit=2");
	assert_int_equal(tl_count_lines(r.body), 3);
	const char *next = header(&r, "X-Mtalog-Next");
	assert_non_null(next);
	char path[256];
	snprintf(path, sizeof path, "/api/search.csv?limit=20&cursor=%s", next);
	resp_t r2 = http_get(small.port, path);
	assert_int_equal(tl_count_lines(r2.body), 13);  /* header + the other 12 */
	assert_null(header(&r2, "X-Mtalog-Next"));
	resp_free(&r);
	resp_free(&r2);
}

/* Follow "next" from path (a query without cursor); every row in order. */
static json_t *all_pages(unsigned port, const char *query, size_t *pages)
{
	json_t *all = json_array();
	char cursor[128] = "";
	*pages = 0;
	for (;;) {
		char path[1024];
		snprintf(path, sizeof path, "/api/search?%s%s%s", query, cursor[0] ? "&cursor=" : "", cursor);
		json_t *j = get_json(port, path, 200);
		json_array_extend(all, json_object_get(j, "rows"));
		(*pages)++;
		json_t *next = json_object_get(j, "next");
		assert_true(json_is_true(json_object_get(j, "truncated")) == json_is_string(next));
		if (!json_is_string(next)) {
			json_decref(j);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		json_decref(j);
		if (*pages > 5000)
			fail_msg("%s: the cursor does not end", query);
	}
	return all;
}

/* Rows are identified by (id, to). */
static void assert_same_rows(json_t *a, json_t *b, const char *what)
{
	if (json_array_size(a) != json_array_size(b))
		fail_msg("%s: %zu rows, want %zu", what, json_array_size(a), json_array_size(b));
	for (size_t i = 0; i < json_array_size(a); i++)
		if (!json_equal(json_array_get(a, i), json_array_get(b, i)))
			fail_msg("%s: row %zu differs", what, i);
}

/* Pages of any size give every row once, in order; a message whose rows
 * straddle a page boundary is neither cut nor repeated. */
static void cursor_small(void **state)
{
	(void)state;
	json_t *whole = cli_rows(db, "");
	assert_int_equal(json_array_size(whole), 14);
	for (unsigned lim = 1; lim <= 15; lim++) {
		char q[64], what[64];
		size_t pages;
		snprintf(q, sizeof q, "limit=%u", lim);
		json_t *paged = all_pages(small.port, q, &pages);
		snprintf(what, sizeof what, "pages of %u", lim);
		assert_same_rows(paged, whole, what);
		assert_int_equal(pages, (14 + lim - 1) / lim);
		json_decref(paged);
	}
	/* with a filter: the three rows of one message, one at a time */
	size_t pages;
	json_t *paged = all_pages(small.port, "limit=1&queue_id=0D1E2F3A4B", &pages);
	json_t *cli = cli_rows(db, "--queue-id 0D1E2F3A4B");
	assert_same_rows(paged, cli, "one message, pages of 1");
	json_decref(paged);
	json_decref(cli);
	json_decref(whole);
}

/* Over 1000 rows: pages of 1000 cover the sample's 3439 rows, in order, with
 * no duplicates, and agree with pages of 7. */
static void cursor_past_1000(void **state)
{
	(void)state;
	size_t pages;
	json_t *thousands = all_pages(big.port, "", &pages);
	assert_int_equal(json_array_size(thousands), SAMPLE_ROWS);
	assert_int_equal(pages, 4);
	json_t *sevens = all_pages(big.port, "limit=7", &pages);
	assert_same_rows(sevens, thousands, "pages of 7 and of 1000");
	/* newest first; (id, to) unique */
	json_t *seen = json_object();
	for (size_t i = 0; i < json_array_size(thousands); i++) {
		json_t *row = json_array_get(thousands, i);
		char key[600];
		snprintf(key, sizeof key, "%s %s %s", json_string_value(json_object_get(row, "id")),
		         json_string_value(json_object_get(row, "to")), json_string_value(json_object_get(row, "status")));
		if (json_object_get(seen, key))
			fail_msg("row %zu repeated: %s", i, key);
		json_object_set_new(seen, key, json_true());
		if (i) {
			unsigned long long a = strtoull(json_string_value(json_object_get(json_array_get(thousands, i - 1), "id")), NULL, 10);
			unsigned long long b = strtoull(json_string_value(json_object_get(row, "id")), NULL, 10);
			assert_true(a >= b);
		}
	}
	json_decref(seen);
	json_decref(sevens);
	/* a filtered search past 1000 rows */
	json_t *d = all_pages(big.port, "status=delivered", &pages);
	assert_int_equal(json_array_size(d), 3181);
	assert_int_equal(pages, 4);
	json_decref(d);
	json_decref(thousands);
}

/* Ingest adds newer messages between two pages: the pages after the cursor
 * are the ones the first snapshot would have given.  And searches go on
 * while an ingest grows the map many times over. */
static void cursor_while_ingesting(void **state)
{
	(void)state;
	char ldb[4300], log2[4300];
	snprintf(ldb, sizeof ldb, "%s/live.db", dir);
	snprintf(log2, sizeof log2, "%s/later.log", dir);
	char *err;
	assert_int_equal(tl_mtalog(NULL, NULL, "--db %s ingest --quiet --year 2026 %s", ldb, STATUSES), 0);
	server_t live = serve_start(ldb, NULL);
	json_t *before = cli_rows(ldb, "");
	json_t *j = get_json(live.port, "/api/search?limit=4", 200);
	json_t *got = json_incref(json_object_get(j, "rows"));
	char cursor[128];
	snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(j, "next")));
	json_decref(j);
	/* the same log a day later from two other hosts: new messages with newer
	 * docids (other hosts, so nothing joins a message still in flight) */
	size_t n;
	char *text = tl_read_file(STATUSES, &n);
	ml_buf_t b = ML_BUF_INIT;
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (len > 19 && !strncmp(p, "Mar  3", 6) && !strncmp(p + 15, " mx", 3)) {
			ml_buf_puts(&b, "Mar  4");
			ml_buf_append(&b, p + 6, 12);
			ml_buf_puts(&b, p[18] == '1' ? "3" : "4");
			ml_buf_append(&b, p + 19, len - 19);
		}
		p += len;
	}
	tl_write_file(log2, b.data, b.len);
	ml_buf_free(&b);
	free(text);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --year 2026 %s", ldb, log2), 0);
	free(err);
	json_t *now = cli_rows(ldb, "");
	assert_int_equal(json_array_size(now), 28);
	json_decref(now);
	for (;;) {
		char path[256];
		snprintf(path, sizeof path, "/api/search?limit=4&cursor=%s", cursor);
		j = get_json(live.port, path, 200);
		json_array_extend(got, json_object_get(j, "rows"));
		json_t *next = json_object_get(j, "next");
		if (!json_is_string(next)) {
			json_decref(j);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		json_decref(j);
	}
	assert_same_rows(got, before, "pages across an ingest");
	json_decref(got);
	json_decref(before);

	/* searches during an ingest that grows a 1 MiB map many times */
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "MTALOG_MAP_SIZE=1048576 exec %s --db %s ingest --quiet --batch-lines 500 %s",
	         bin(), ldb, SAMPLE);
	pid_t pid = spawn(cmd, -1, -1);
	int requests = 0, st;
	while (waitpid(pid, &st, WNOHANG) == 0 || requests < 20) {
		j = get_json(live.port, requests % 2 ? "/api/search?to=%40example.com" : "/api/search", 200);
		assert_true(json_array_size(json_object_get(j, "rows")) > 0);
		json_decref(j);
		requests++;
		if (requests > 100000)
			fail_msg("ingest does not end");
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	size_t pages;
	json_t *all = all_pages(live.port, "", &pages);
	assert_int_equal(json_array_size(all), 28 + SAMPLE_ROWS);
	json_decref(all);
	assert_int_equal(serve_stop(&live), 0);
}

/* The page: /, /m/ID and the files it loads are embedded. */
static void page(void **state)
{
	(void)state;
	resp_t r = http_get(small.port, "/");
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "text/html; charset=utf-8");
	assert_non_null(strstr(r.body, "Email Logs"));
	resp_t m = http_get(small.port, "/m/1858634515480576");
	assert_int_equal(m.status, 200);
	assert_string_equal(m.body, r.body);
	resp_free(&m);
	/* every local file the page names is there */
	static const char *const files[] = { "/app.js", "/style.css" };
	for (size_t i = 0; i < ML_ARRAY_LEN(files); i++) {
		assert_non_null(strstr(r.body, files[i]));
		resp_t f = http_get(small.port, files[i]);
		assert_int_equal(f.status, 200);
		assert_true(f.body_len > 100);
		resp_free(&f);
	}
	assert_null(strstr(r.body, "http://"));
	assert_null(strstr(r.body, "https://"));
	resp_free(&r);
	r = http_raw(small.port, "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	resp_free(&r);
}

/* Options: a missing database, a bad --listen; the default address. */
static void options(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s/none.db serve --listen 127.0.0.1:0", dir), 2);
	assert_non_null(strstr(err, "none.db"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s serve --listen 127.0.0.1:99999", db), 1);
	assert_non_null(strstr(err, "listen"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s serve --listen '[::1'", db), 1);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s serve extra", db), 1);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s serve --help", db), 0);
	assert_non_null(strstr(out, "--listen"));
	free(out); free(err);
	/* a port alone listens on 127.0.0.1; SIGINT stops it cleanly */
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "exec %s --db %s serve --listen 0 --verbose 2>/dev/null", bin(), db);
	pid_t pid = spawn(cmd, fd[1], fd[0]);
	track(pid, 1);
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	char line[512] = "";
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_non_null(strstr(line, "http://127.0.0.1:"));
	server_t s = { pid, (unsigned)atoi(strstr(line, "127.0.0.1:") + 10) };
	resp_t r = http_get(s.port, "/api/search?limit=1");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	kill(pid, SIGINT);
	int st;
	waitpid(pid, &st, 0);
	track(pid, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A request must name the server by an address, localhost or a name of
 * --allowed-hosts: a rebinding name (a page of another site whose name now
 * points here) is refused, the API and the page alike. */
static void host_names(void **state)
{
	(void)state;
	server_t s = serve_start(db, "--allowed-hosts 'mail-logs.example, logs.example.net'");
	static const struct { const char *host; int want; } cases[] = {
		{ "127.0.0.1", 200 }, { "127.0.0.1:8025", 200 }, { "localhost", 200 }, { "LOCALHOST:1", 200 },
		{ "[::1]:8025", 200 }, { "[::1]", 200 }, { "mail-logs.example", 200 }, { "Logs.Example.NET:443", 200 },
		{ "evil.example", 421 }, { "evil.example:8025", 421 }, { "mail-logs.example.evil.example", 421 },
		{ "127.0.0.1.nip.example", 421 }, { "[::1", 421 }, { "127.0.0.1:x", 421 }, { "[zz]:1", 421 },
	};
	static const char *const paths[] = { "/api/search?limit=1", "/", "/api/messages/1" };
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++)
		for (size_t k = 0; k < ML_ARRAY_LEN(paths); k++) {
			char req[512];
			snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", paths[k], cases[i].host);
			resp_t r = http_raw(s.port, req);
			int ok = cases[i].want == 421 ? r.status == 421 : r.status != 421;
			if (!ok)
				fail_msg("Host: %s, GET %s: %d", cases[i].host, paths[k], r.status);
			resp_free(&r);
		}
	resp_t r = http_raw(s.port, "POST /login HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
	assert_int_equal(r.status, 421);
	resp_free(&r);
	/* HTTP/1.0 without Host is answered */
	r = http_raw(s.port, "GET /api/search?limit=1 HTTP/1.0\r\n\r\n");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(serve_stop(&s), 0);
}

static int http_status(int s, char *head, size_t len);

/* A connection from a client address other than the test's. */
static int connect_from(unsigned port, const char *from)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in src = { .sin_family = AF_INET }, a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	inet_pton(AF_INET, from, &src.sin_addr);
	if (s < 0 || bind(s, (struct sockaddr *)&src, sizeof src) || connect(s, (struct sockaddr *)&a, sizeof a))
		fail_msg("connect from %s", from);
	return s;
}

/* Is the server done with s (closed, or reset)?  Waits up to ms. */
static int closed_by_server(int s, int ms)
{
	struct pollfd pf = { s, POLLIN, 0 };
	if (poll(&pf, 1, ms) <= 0)
		return 0;
	char b[256];
	ssize_t k = recv(s, b, sizeof b, MSG_DONTWAIT);
	return k <= 0;
}

/* Slowloris: one client address holds many connections and feeds each a
 * byte of its head now and then.  It gets --max-client-connections of
 * them; each is closed at the head's deadline though it keeps sending;
 * another client is served meanwhile. */
static void slow_clients(void **state)
{
	(void)state;
	server_t s = serve_start(db, "--max-client-connections 8 --header-timeout 1");
	enum { N = 24 };
	int c[N], refused = 0;
	for (int i = 0; i < N; i++) {
		c[i] = connect_from(s.port, "127.0.0.2");
		(void)!write(c[i], "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", 34);
	}
	usleep(200000);
	for (int i = 0; i < N; i++)
		if (closed_by_server(c[i], 0)) {
			refused++;
			close(c[i]);
			c[i] = -1;
		}
	assert_int_equal(refused, N - 8);
	/* another client is answered */
	json_t *j = get_json(s.port, "/api/search?limit=1", 200);
	json_decref(j);
	/* a header line every 200 ms: the connections still end within a few
	 * deadlines (idle time alone would never end them) */
	int open_left = 8;
	for (int tick = 0; tick < 40 && open_left; tick++) {
		usleep(200000);
		for (int i = 0; i < N; i++) {
			if (c[i] < 0)
				continue;
			if (closed_by_server(c[i], 0) || write(c[i], "X-Slow: 1\r\n", 11) < 0) {
				close(c[i]);
				c[i] = -1;
				open_left--;
			}
		}
	}
	for (int i = 0; i < N; i++)
		if (c[i] >= 0)
			close(c[i]);
	if (open_left)
		fail_msg("%d slow connections still open after 8 s with a head deadline of 1 s", open_left);
	/* the client address may connect again, and is served */
	int k = connect_from(s.port, "127.0.0.2");
	const char req[] = "GET /api/search?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	assert_int_equal(write(k, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
	char head[8192];
	assert_int_equal(http_status(k, head, sizeof head), 200);
	assert_int_equal(serve_stop(&s), 0);
}

/* ---- bounded work ---- */

/* The request of a search that backtracks without end on every subject:
 * subject_re=((.+)+)+#$ */
#define COSTLY "/api/search?subject_re=((.%2B)%2B)%2B%23%24&limit=1"

/* A connection with a request sent, its answer not read yet. */
static int http_send(unsigned port, const char *path)
{
	char req[4096];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) || write(s, req, strlen(req)) != (ssize_t)strlen(req))
		fail_msg("send to port %u", port);
	return s;
}

/* The status of the answer on s, read to the end; s closed. */
static int http_status(int s, char *head, size_t len)
{
	ml_buf_t b = ML_BUF_INIT;
	char tmp[4096];
	ssize_t k;
	while ((k = read(s, tmp, sizeof tmp)) > 0)
		ml_buf_append(&b, tmp, (size_t)k);
	close(s);
	int st = 0;
	if (b.len && sscanf(ml_buf_cstr(&b), "HTTP/1.%*d %d", &st) != 1)
		st = 0;
	snprintf(head, len, "%s", b.len ? b.data : "");
	ml_buf_free(&b);
	return st;
}

/* Processor time of a process so far, in clock ticks (user + system). */
static unsigned long cpu_ticks(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	size_t n;
	char *t = tl_read_file(path, &n);
	unsigned long ut = 0, st = 0;
	/* after "pid (comm) ": fields 3.. ; utime and stime are 14 and 15 */
	const char *p = t ? strrchr(t, ')') : NULL;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		fail_msg("cannot read %s", path);
	free(t);
	return ut + st;
}

/* A search that would take minutes answers within its budget with what
 * it found, says so, and its cursor goes on; many of them at once hold up
 * no other search; a client that goes away and a SIGTERM end its search. */
static void bounded_work(void **state)
{
	(void)state;
	char log[4300], gdb[4300];
	snprintf(log, sizeof log, "%s/gen.log", dir);
	snprintf(gdb, sizeof gdb, "%s/gen.db", dir);
	tl_gen_log(log, 20000);
	char *err;
	if (tl_mtalog(NULL, &err, "--db %s ingest --quiet %s", gdb, log))
		fail_msg("ingest: %s", err);
	free(err);

	/* the CLI: --timeout */
	char *out;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --subject-re '((.+)+)+#$' --timeout 0.02", gdb), 0);
	assert_non_null(strstr(err, "stopped at the --timeout after"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --to x --timeout soon", gdb), 1);
	assert_non_null(strstr(err, "--timeout"));
	free(out); free(err);

	server_t s = serve_start(gdb, "--search-timeout 0.02 --max-scans 2");
	json_t *j = get_json(s.port, COSTLY, 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 0);
	assert_true(json_is_false(json_object_get(j, "complete")));
	assert_string_equal(json_string_value(json_object_get(j, "stopped")), "deadline");
	json_int_t examined = json_integer_value(json_object_get(j, "examined"));
	assert_true(examined > 0 && examined < 20000);
	/* the cursor goes on below what was examined */
	const char *next = json_string_value(json_object_get(j, "next"));
	assert_non_null(next);
	char path[512];
	snprintf(path, sizeof path, "%s&cursor=%s", COSTLY, next);
	json_t *j2 = get_json(s.port, path, 200);
	assert_true(json_is_false(json_object_get(j2, "complete")));
	const char *next2 = json_string_value(json_object_get(j2, "next"));
	assert_non_null(next2);
	assert_true(strtoull(next2, NULL, 10) < strtoull(next, NULL, 10));
	json_decref(j2);
	json_decref(j);
	assert_int_equal(serve_stop(&s), 0);

	/* pages of searches stopped at their budget, followed by their
	 * cursors, give the rows of the whole search: none missed, none twice */
	s = serve_start(gdb, "--search-timeout 0.004");
	json_t *want = cli_rows(gdb, "--subject-re 'q[a-z]*r'");
	assert_true(json_array_size(want) > 100);
	json_t *got = json_array();
	char cursor[128] = "";
	int stops = 0;
	for (int k = 0; k < 20000; k++) {
		snprintf(path, sizeof path, "/api/search?subject_re=q%%5Ba-z%%5D*r%s%s", cursor[0] ? "&cursor=" : "", cursor);
		j = get_json(s.port, path, 200);
		json_array_extend(got, json_object_get(j, "rows"));
		stops += json_is_false(json_object_get(j, "complete"));
		const char *nx = json_string_value(json_object_get(j, "next"));
		snprintf(cursor, sizeof cursor, "%s", nx ? nx : "");
		json_decref(j);
		if (!nx)
			break;
	}
	assert_true(stops > 0);
	assert_same_rows(want, got, "pages of a search stopped at its budget");
	json_decref(want);
	json_decref(got);
	assert_int_equal(serve_stop(&s), 0);
	s = serve_start(gdb, "--search-timeout 0.02 --max-scans 2");

	/* CSV says it too */
	resp_t r = http_get(s.port, "/api/search.csv?subject_re=((.%2B)%2B)%2B%23%24");
	assert_int_equal(r.status, 200);
	assert_non_null(header(&r, "X-Mtalog-Incomplete"));
	assert_non_null(header(&r, "X-Mtalog-Next"));
	resp_free(&r);
	/* a search with an indexed filter is complete, and says so */
	j = get_json(s.port, "/api/search?status=bounced&limit=5", 200);
	assert_true(json_is_true(json_object_get(j, "complete")));
	assert_null(json_object_get(j, "stopped"));
	json_decref(j);

	/* sixteen at once: two run, the others get 503 with Retry-After, and
	 * a search with an index is answered in its own time meanwhile */
	int conns[16];
	for (int i = 0; i < 16; i++)
		conns[i] = http_send(s.port, COSTLY);
	j = get_json(s.port, "/api/search?status=bounced&limit=5", 200);
	assert_true(json_is_true(json_object_get(j, "complete")));
	json_decref(j);
	/* a regex that needs a word of the index is not one of the costly
	 * ones: answered, not made to wait for a place (then 503) */
	j = get_json(s.port, "/api/search?subject_re=%5Cbinvoice%5Cb&limit=5", 200);
	assert_true(json_is_true(json_object_get(j, "complete")));
	json_decref(j);
	int ok = 0, busy = 0;
	for (int i = 0; i < 16; i++) {
		char head[8192];
		int st = http_status(conns[i], head, sizeof head);
		if (st == 200)
			ok++;
		else if (st == 503 && strstr(head, "Retry-After: "))
			busy++;
		else
			fail_msg("costly search %d: %s", i, head);
	}
	assert_true(ok >= 2);
	assert_int_equal(ok + busy, 16);
	assert_int_equal(serve_stop(&s), 0);

	/* a client that goes away ends its search (the server says so with
	 * --verbose); the next costly search gets its place */
	char slog[4300];
	snprintf(slog, sizeof slog, "--search-timeout 60 --max-scans 1 --verbose 2>%s/serve.err", dir);
	s = serve_start(gdb, slog);
	snprintf(slog, sizeof slog, "%s/serve.err", dir);
	int c = http_send(s.port, COSTLY);
	usleep(20000);  /* the search started (it takes well over 20 ms) */
	close(c);
	char *text = NULL;
	for (int k = 0; k < 100; k++) {
		free(text);
		size_t n;
		text = tl_read_file(slog, &n);
		if (text && strstr(text, "the client went away"))
			break;
		usleep(50000);
	}
	if (!text || !strstr(text, "search stopped after") || !strstr(text, "the client went away"))
		fail_msg("the search of a client gone was not stopped: %s", text ? text : "(no log)");
	free(text);
	j = get_json(s.port, "/api/search?subject_re=.&limit=1", 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
	json_decref(j);

	/* SIGTERM ends a search running: sent once the server has spent 30 ms
	 * of processor time on it (the search needs several times that) */
	unsigned long base = cpu_ticks(s.pid);
	c = http_send(s.port, COSTLY);
	for (int k = 0; k < 1000 && cpu_ticks(s.pid) < base + 3; k++)
		usleep(2000);
	kill(s.pid, SIGTERM);
	int st = 0;
	waitpid(s.pid, &st, 0);
	track(s.pid, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(c);
	text = tl_read_file(slog, &(size_t){ 0 });
	if (!text || !strstr(text, "the server is stopping"))
		fail_msg("SIGTERM did not stop the search running: %s", text ? text : "(no log)");
	free(text);
}

/* ---- who sees what (--users) ---- */

/* A request with a session cookie (NULL: none) and a body (NULL: none). */
static resp_t http_req(unsigned port, const char *method, const char *path, const char *cookie,
                       const char *ctype, const char *body, const char *extra_header)
{
	char req[16384], ck[256] = "", ct[256] = "";
	if (cookie)
		snprintf(ck, sizeof ck, "Cookie: mtalog_session=%s\r\n", cookie);
	if (body)
		snprintf(ct, sizeof ct, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, strlen(body));
	snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s%s%s\r\n%s",
	         method, path, port, ck, ct, extra_header ? extra_header : "", body ? body : "");
	return http_raw(port, req);
}

/* Log in (form); the session id from Set-Cookie (static buffer), or NULL. */
static const char *login(unsigned port, const char *name, const char *pw, int want_status)
{
	static char id[128];
	char body[256];
	snprintf(body, sizeof body, "name=%s&password=%s", name, pw);
	resp_t r = http_req(port, "POST", "/login", NULL, "application/x-www-form-urlencoded", body, NULL);
	if (r.status != want_status)
		fail_msg("login %s: %d, want %d: %s", name, r.status, want_status, r.body);
	const char *sc = header(&r, "Set-Cookie");
	const char *ret = NULL;
	if (sc && !strncmp(sc, "mtalog_session=", 15)) {
		snprintf(id, sizeof id, "%.*s", (int)strcspn(sc + 15, ";"), sc + 15);
		ret = id;
	}
	resp_free(&r);
	return ret;
}

/* GET path as the session, expect status, the JSON body. */
/* A request (http_req's arguments); the JSON answer, checked for its status. */
static json_t *req_json(unsigned port, const char *method, const char *path, const char *cookie,
                        const char *ctype, const char *body, const char *extra, int want_status)
{
	resp_t r = http_req(port, method, path, cookie, ctype, body, extra);
	if (r.status != want_status)
		fail_msg("%s %s: status %d, want %d: %s", method, path, r.status, want_status, r.body);
	json_error_t je;
	json_t *j = json_loads(r.body, 0, &je);
	if (!j)
		fail_msg("%s %s: bad JSON: %s", method, path, r.body);
	resp_free(&r);
	return j;
}

static json_t *get_as(unsigned port, const char *cookie, const char *path, int want_status)
{
	return req_json(port, "GET", path, cookie, NULL, NULL, NULL, want_status);
}

/* Does address a end in the pattern (an address or @domain), any case? */
static int addr_is(const char *a, const char *pat)
{
	size_t n = strlen(a), k = strlen(pat);
	return a && n >= k && !strcasecmp(a + n - k, pat) && (pat[0] == '@' || n == k);
}

/* The rule, client side: from, to or orig_to is one of pats. */
static int row_is_theirs(json_t *row, const char *const *pats)
{
	static const char *const keys[] = { "from", "to", "orig_to" };
	for (size_t k = 0; k < 3; k++) {
		const char *v = json_string_value(json_object_get(row, keys[k]));
		for (size_t i = 0; v && pats[i]; i++)
			if (addr_is(v, pats[i]))
				return 1;
	}
	return 0;
}

static json_t *rows_of(json_t *all, const char *const *pats)
{
	json_t *out = json_array();
	for (size_t i = 0; i < json_array_size(all); i++)
		if (row_is_theirs(json_array_get(all, i), pats))
			json_array_append(out, json_array_get(all, i));
	return out;
}

/* Login, the cookie's attributes, /api/me, logout; bad logins. */
static void login_logout(void **state)
{
	(void)state;
	unsigned port = small_u.port;
	/* no session: every API path is 401 with a JSON error; the page loads */
	static const char *const api[] = { "/api/search", "/api/search.csv", "/api/messages/1858634515480576",
		"/api/me", "/api/nothing" };
	for (size_t i = 0; i < ML_ARRAY_LEN(api); i++) {
		json_t *j = get_as(port, NULL, api[i], 401);
		assert_non_null(json_string_value(json_object_get(j, "error")));
		json_decref(j);
	}
	resp_t r = http_get(port, "/");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* a form login: the cookie is HttpOnly, SameSite=Strict, not Secure on loopback */
	r = http_req(port, "POST", "/login", NULL, "application/x-www-form-urlencoded", "name=bob&password=right-2", NULL);
	assert_int_equal(r.status, 200);
	const char *sc = header(&r, "Set-Cookie");
	assert_non_null(sc);
	assert_int_equal(strcspn(sc + 15, ";"), 64);
	assert_non_null(strstr(sc, "; HttpOnly"));
	assert_non_null(strstr(sc, "; SameSite=Strict"));
	assert_non_null(strstr(sc, "; Path=/"));
	assert_null(strstr(sc, "Secure"));
	char bob[128];
	snprintf(bob, sizeof bob, "%.64s", sc + 15);
	json_error_t je;
	json_t *j = json_loads(r.body, 0, &je);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "bob");
	assert_string_equal(json_string_value(json_object_get(j, "role")), "user");
	json_decref(j);
	resp_free(&r);
	j = get_as(port, bob, "/api/me", 200);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "bob");
	json_decref(j);
	/* a JSON login; each login its own session */
	r = http_req(port, "POST", "/login", NULL, "application/json", "{\"name\":\"root\",\"password\":\"right-1\"}", NULL);
	assert_int_equal(r.status, 200);
	assert_null(strstr(header(&r, "Set-Cookie"), bob));
	resp_free(&r);
	/* logout ends the session and clears the cookie */
	r = http_req(port, "POST", "/logout", bob, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(header(&r, "Set-Cookie"), "Max-Age=0"));
	resp_free(&r);
	json_decref(get_as(port, bob, "/api/me", 401));
	json_decref(get_as(port, bob, "/api/search", 401));
	/* bad logins: 401 with a JSON error, no cookie */
	static const char *const bad[][2] = { { "bob", "right-1" }, { "bob", "" }, { "nobody", "right-1" },
		{ "BOB", "right-2" }, { "bob", "right-2x" } };
	for (size_t i = 0; i < ML_ARRAY_LEN(bad); i++) {
		char body[128];
		snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", bad[i][0], bad[i][1]);
		r = http_req(port, "POST", "/login", NULL, "application/json", body, NULL);
		if (r.status != (bad[i][1][0] ? 401 : 400))
			fail_msg("login %s/%s: %d", bad[i][0], bad[i][1], r.status);
		assert_null(header(&r, "Set-Cookie"));
		j = json_loads(r.body, 0, &je);
		assert_non_null(json_string_value(json_object_get(j, "error")));
		assert_string_equal(header(&r, "Content-Type"), "application/json");
		json_decref(j);
		resp_free(&r);
	}
	/* a silent user is refused even with the right password, exactly as
	 * with a wrong one (the answer does not confirm the password) */
	resp_t rs = http_req(port, "POST", "/login", NULL, "application/json", "{\"name\":\"mute\",\"password\":\"right-1\"}", NULL);
	resp_t rw = http_req(port, "POST", "/login", NULL, "application/json", "{\"name\":\"mute\",\"password\":\"wrong-1\"}", NULL);
	assert_int_equal(rs.status, 401);
	assert_int_equal(rw.status, rs.status);
	assert_string_equal(rs.body, rw.body);
	resp_free(&rs);
	resp_free(&rw);
	/* a NUL in a password is refused, not cut there (bob's is right-2) */
	r = http_req(port, "POST", "/login", NULL, "application/x-www-form-urlencoded", "name=bob&password=right-2%00x", NULL);
	assert_int_equal(r.status, 400);
	assert_null(header(&r, "Set-Cookie"));
	resp_free(&r);
	r = http_req(port, "POST", "/login", NULL, "application/json", "{\"name\":\"bob\",\"password\":\"right-2\\u0000x\"}", NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	/* another site's page cannot log out a session: Origin, else Referer,
	 * with the scheme */
	static const char *const foreign[] = { "Origin: https://evil.example\r\n", "Referer: http://evil.example/x\r\n",
		"Origin: evil://127.0.0.1\r\n", "Origin: http://127.0.0.1.evil.example\r\n" };
	for (size_t i = 0; i < ML_ARRAY_LEN(foreign); i++) {
		r = http_req(port, "POST", "/logout", NULL, NULL, NULL, foreign[i]);
		if (r.status != 403)
			fail_msg("POST /logout with %s: %d", foreign[i], r.status);
		resp_free(&r);
		r = http_req(port, "POST", "/login", NULL, "application/x-www-form-urlencoded", "name=bob&password=right-2", foreign[i]);
		if (r.status != 403)
			fail_msg("POST /login with %s: %d", foreign[i], r.status);
		resp_free(&r);
	}
	assert_null(login(port, "mute", "wrong", 401));
	/* a made-up session, GET /login, another site's page */
	json_decref(get_as(port, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "/api/search", 401));
	r = http_req(port, "GET", "/login", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 405);
	resp_free(&r);
	r = http_req(port, "POST", "/login", NULL, "application/x-www-form-urlencoded", "name=bob&password=right-2",
	             "Origin: https://evil.example\r\n");
	assert_int_equal(r.status, 403);
	assert_null(header(&r, "Set-Cookie"));
	resp_free(&r);
	/* without --users: /api/me says so, /login is 404 */
	j = get_json(small.port, "/api/me", 200);
	assert_true(json_is_false(json_object_get(j, "users")));
	json_decref(j);
	assert_null(login(small.port, "bob", "right-2", 404));
	/* --secure-cookie: Secure on loopback too */
	server_t sec = serve_start(db, "--users USERS --secure-cookie");
	r = http_req(sec.port, "POST", "/login", NULL, "application/x-www-form-urlencoded", "name=bob&password=right-2", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(header(&r, "Set-Cookie"), "; Secure"));
	resp_free(&r);
	assert_int_equal(serve_stop(&sec), 0);
}

/* A user sees their rows and no one else's through search, CSV and
 * messages; an admin sees every row. */
static void users_see_their_rows(void **state)
{
	(void)state;
	unsigned port = small_u.port;
	char bob[128], carol[128], root[128];
	snprintf(bob, sizeof bob, "%s", login(port, "bob", "right-2", 200));
	snprintf(carol, sizeof carol, "%s", login(port, "carol", "right-1", 200));
	snprintf(root, sizeof root, "%s", login(port, "root", "right-1", 200));
	json_t *all = cli_rows(db, "");
	static const char *const bob_pats[] = { "bob@example.com", NULL };
	static const char *const carol_pats[] = { "carol@example.com", "@partner.example", NULL };
	json_t *bob_want = rows_of(all, bob_pats), *carol_want = rows_of(all, carol_pats);
	assert_int_equal(json_array_size(bob_want), 2);
	assert_int_equal(json_array_size(carol_want), 2);
	/* search */
	json_t *j = get_as(port, bob, "/api/search", 200);
	assert_same_rows(json_object_get(j, "rows"), bob_want, "bob's rows");
	json_decref(j);
	j = get_as(port, carol, "/api/search", 200);
	assert_same_rows(json_object_get(j, "rows"), carol_want, "carol's rows");
	json_decref(j);
	j = get_as(port, root, "/api/search", 200);
	assert_same_rows(json_object_get(j, "rows"), all, "the admin's rows");
	json_decref(j);
	/* searching for carol's rows as bob finds nothing, and reads nothing:
	 * bob's addresses are part of the plan, so the messages of others are
	 * not even read; no time is given that would tell of them */
	j = get_as(port, bob, "/api/search?to=dave%40slow.example", 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "examined")), 0);
	assert_null(json_object_get(j, "took_us"));
	json_decref(j);
	j = get_as(port, bob, "/api/search?to=nobody%40nowhere.example", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "examined")), 0);
	json_decref(j);
	/* all of bob's: the messages read are his (2 rows, each of one message) */
	j = get_as(port, bob, "/api/search?status=delivered,bounced,blocked,expired,delayed,queued,quarantined", 200);
	assert_true(json_integer_value(json_object_get(j, "examined")) <= 2);
	json_decref(j);
	j = get_as(port, root, "/api/search?to=dave%40slow.example", 200);
	assert_true(json_integer_value(json_object_get(j, "examined")) >= 1);
	assert_true(json_is_integer(json_object_get(j, "took_us")));
	json_decref(j);
	j = get_as(port, bob, "/api/search?from=carol%40example.com", 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 0);
	json_decref(j);
	/* CSV: the same rule */
	resp_t r = http_req(port, "GET", "/api/search.csv", bob, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(tl_count_lines(r.body), 3);
	assert_null(strstr(r.body, "carol@"));
	assert_null(strstr(r.body, "ghost@"));
	resp_free(&r);
	r = http_req(port, "GET", "/api/search.csv?from=carol%40example.com", bob, NULL, NULL, NULL);
	assert_int_equal(tl_count_lines(r.body), 1);
	resp_free(&r);
	/* messages: carol's is a 404 for bob, just like one that does not exist */
	const char *cid = json_string_value(json_object_get(json_array_get(carol_want, 0), "id"));
	char path[256];
	snprintf(path, sizeof path, "/api/messages/%s", cid);
	j = get_as(port, bob, path, 404);
	json_t *none = get_as(port, bob, "/api/messages/12345", 404);
	assert_true(json_equal(json_object_get(j, "parameter"), json_object_get(none, "parameter")));
	json_decref(j);
	json_decref(none);
	j = get_as(port, carol, path, 200);
	assert_string_equal(json_string_value(json_object_get(j, "id")), cid);
	json_decref(j);
	/* a message bob shares with others (sales@ went to alice and bob, ghost@
	 * was refused): only his recipient, no line naming the others */
	json_t *rows = search1("queue_id", "0D1E2F3A4B");
	snprintf(path, sizeof path, "/api/messages/%s", json_string_value(json_object_get(json_array_get(rows, 0), "id")));
	json_decref(rows);
	j = get_as(port, bob, path, 200);
	json_t *rc = json_object_get(j, "recipients");
	assert_int_equal(json_array_size(rc), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rc, 0), "to")), "bob@example.com");
	assert_int_equal(json_integer_value(json_object_get(j, "recipients_hidden")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "recipients_total")), 3);
	char *dump = json_dumps(j, 0);
	assert_null(strstr(dump, "ghost@"));
	assert_null(strstr(dump, "alice@example.com"));
	assert_non_null(strstr(dump, "to=<bob@example.com>, orig_to=<sales@example.com>"));
	free(dump);
	json_decref(j);
	j = get_as(port, root, path, 200);
	assert_int_equal(json_array_size(json_object_get(j, "recipients")), 3);
	json_decref(j);
	/* after logout, nothing */
	r = http_req(port, "POST", "/logout", bob, NULL, NULL, NULL);
	resp_free(&r);
	json_decref(get_as(port, bob, "/api/search.csv", 401));
	snprintf(path, sizeof path, "/api/messages/%s", cid);
	json_decref(get_as(port, bob, path, 401));
	json_decref(all);
	json_decref(bob_want);
	json_decref(carol_want);
}

/* A user's pages: fewer rows than the limit may come, but the cursor gives
 * every row of theirs once, in order, at any page size. */
static void users_cursor(void **state)
{
	(void)state;
	char free_[128], path[512];
	snprintf(free_, sizeof free_, "%s", login(big_u.port, "free", "right-1", 200));
	static const char *const pats[] = { "@freemail.example", NULL };
	size_t pages;
	json_t *all = all_pages(big.port, "", &pages);
	json_t *want = rows_of(all, pats);
	assert_true(json_array_size(want) > 150);
	static const unsigned limits[] = { 1000, 7, 50, 1 };
	for (size_t li = 0; li < ML_ARRAY_LEN(limits); li++) {
		json_t *got = json_array();
		char cursor[128] = "";
		for (pages = 0;; pages++) {
			snprintf(path, sizeof path, "/api/search?limit=%u%s%s", limits[li], cursor[0] ? "&cursor=" : "", cursor);
			json_t *j = get_as(big_u.port, free_, path, 200);
			assert_true(json_array_size(json_object_get(j, "rows")) <= limits[li]);
			json_array_extend(got, json_object_get(j, "rows"));
			json_t *next = json_object_get(j, "next");
			if (!json_is_string(next)) {
				json_decref(j);
				break;
			}
			snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
			json_decref(j);
			assert_true(pages < 1000);
		}
		char what[64];
		snprintf(what, sizeof what, "free's rows in pages of %u", limits[li]);
		assert_same_rows(got, want, what);
		json_decref(got);
	}
	/* with a filter of their own */
	json_t *j = get_as(big_u.port, free_, "/api/search?status=delivered", 200);
	for (size_t i = 0; i < json_array_size(json_object_get(j, "rows")); i++)
		assert_true(row_is_theirs(json_array_get(json_object_get(j, "rows"), i), pats));
	json_decref(j);
	json_decref(want);
	json_decref(all);
}

/* The next of a first page of limit rows, as the session (static buffer). */
static const char *first_next(unsigned port, const char *cookie, unsigned limit)
{
	static char next[128];
	char path[64];
	snprintf(path, sizeof path, "/api/search?limit=%u", limit);
	json_t *j = get_as(port, cookie, path, 200);
	const char *n = json_string_value(json_object_get(j, "next"));
	if (!n)
		fail_msg("GET %s: no next", path);
	snprintf(next, sizeof next, "%s", n);
	json_decref(j);
	return next;
}

/* A cursor given back to the server with users: 400 naming the cursor. */
static void cursor_refused(unsigned port, const char *cookie, const char *cursor, const char *what)
{
	char path[512];
	snprintf(path, sizeof path, "/api/search?limit=7&cursor=%s", cursor);
	resp_t r = http_req(port, "GET", path, cookie, NULL, NULL, NULL);
	if (r.status != 400 || !strstr(r.body, "\"param\":\"cursor\"") || !strstr(r.body, "not a cursor this server gave you"))
		fail_msg("%s: %d %s", what, r.status, r.body);
	resp_free(&r);
}

/* With users, a cursor tells a client nothing (no docid, no time, no row
 * count) and only the cursor the server handed that user goes on: one
 * changed anywhere, cut, another user's, one of another server process or
 * a plain "D.K" is a 400 on the cursor, never rows. */
static void users_cursor_sealed(void **state)
{
	(void)state;
	char free_[128], root[128], next[128], path[512];
	snprintf(free_, sizeof free_, "%s", login(big_u.port, "free", "right-1", 200));
	snprintf(root, sizeof root, "%s", login(big_u.port, "root", "right-1", 200));
	json_t *j = get_as(big_u.port, free_, "/api/search?limit=7", 200);
	json_t *rows = json_object_get(j, "rows");
	assert_int_equal(json_array_size(rows), 7);
	snprintf(next, sizeof next, "%s", json_string_value(json_object_get(j, "next")));
	/* 80 hex digits: 12 bytes sealed; no docid of the page in it */
	assert_int_equal(strlen(next), 80);
	assert_int_equal(strspn(next, "0123456789abcdef"), 80);
	for (size_t i = 0; i < json_array_size(rows); i++)
		assert_null(strstr(next, json_string_value(json_object_get(json_array_get(rows, i), "id"))));
	const char *last_id = json_string_value(json_object_get(json_array_get(rows, 6), "id"));
	char plain[64];
	snprintf(plain, sizeof plain, "%s", last_id);
	json_decref(j);
	/* the same page again: another cursor (a new nonce), the same next page */
	char again[128];
	snprintf(again, sizeof again, "%s", first_next(big_u.port, free_, 7));
	assert_string_not_equal(again, next);
	snprintf(path, sizeof path, "/api/search?limit=7&cursor=%s", next);
	json_t *p1 = get_as(big_u.port, free_, path, 200);
	snprintf(path, sizeof path, "/api/search?limit=7&cursor=%s", again);
	json_t *p2 = get_as(big_u.port, free_, path, 200);
	assert_true(json_equal(json_object_get(p1, "rows"), json_object_get(p2, "rows")));
	assert_int_equal(json_array_size(json_object_get(p1, "rows")), 7);
	json_decref(p1);
	json_decref(p2);
	/* changed: each of the nonce, the position, the tag */
	static const size_t at[] = { 0, 23, 24, 30, 47, 48, 79 };
	for (size_t i = 0; i < ML_ARRAY_LEN(at); i++) {
		char bad[128];
		snprintf(bad, sizeof bad, "%s", next);
		bad[at[i]] = bad[at[i]] == '0' ? '1' : '0';
		cursor_refused(big_u.port, free_, bad, "a cursor changed");
	}
	char bad[160];
	snprintf(bad, sizeof bad, "%.78s", next);
	cursor_refused(big_u.port, free_, bad, "a cursor cut");
	snprintf(bad, sizeof bad, "%s00", next);
	cursor_refused(big_u.port, free_, bad, "a cursor lengthened");
	for (char *c = bad; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	bad[80] = '\0';
	cursor_refused(big_u.port, free_, bad, "a cursor in upper case");
	cursor_refused(big_u.port, free_, plain, "a plain docid");
	snprintf(bad, sizeof bad, "%s.1", plain);
	cursor_refused(big_u.port, free_, bad, "a plain D.K");
	/* another user's, both ways */
	cursor_refused(big_u.port, root, next, "free's cursor given by root");
	cursor_refused(big_u.port, free_, first_next(big_u.port, root, 7), "root's cursor given by free");
	/* another server process (the same users, another key) */
	char root_small[128];
	snprintf(root_small, sizeof root_small, "%s", login(small_u.port, "root", "right-1", 200));
	cursor_refused(big_u.port, root, first_next(small_u.port, root_small, 1), "a cursor of another server");
	/* CSV: the cursor of its header is sealed the same way and goes on */
	resp_t r = http_req(big_u.port, "GET", "/api/search.csv?limit=7", free_, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	const char *h = header(&r, "X-Mtalog-Next");
	assert_non_null(h);
	assert_int_equal(strlen(h), 80);
	snprintf(path, sizeof path, "/api/search.csv?limit=7&cursor=%s", h);
	resp_free(&r);
	r = http_req(big_u.port, "GET", path, free_, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(tl_count_lines(r.body), 8);
	resp_free(&r);
	/* the open server's stay plain */
	j = get_json(big.port, "/api/search?limit=7", 200);
	const char *open_next = json_string_value(json_object_get(j, "next"));
	assert_non_null(open_next);
	assert_int_equal(strspn(open_next, "0123456789."), strlen(open_next));
	json_decref(j);
}

/* A number of /proc/PID/status ("Threads:", "VmHWM:" in kB); -1 when none. */
static long proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	long n = -1;
	size_t k = strlen(key);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, k))
			n = atol(line + k);
	if (f)
		fclose(f);
	return n;
}

static long threads_of(pid_t pid)
{
	return proc_status(pid, "Threads:");
}

struct search_try {
	unsigned port;
	int status;
	char retry;     /* a 503 said Retry-After */
};

static void *search_try(void *p)
{
	struct search_try *t = p;
	resp_t r = http_get(t->port, "/api/search?limit=1000");
	t->status = r.status;
	t->retry = header(&r, "Retry-After") != NULL;
	resp_free(&r);
	return NULL;
}

/* Connections share the search objects (each may keep a second thread and
 * a batch of rows): 32 searches of 1000 rows at once on a server with
 * --max-searches 2 leave it, once their connections are closed, with its
 * own threads and at most 2 search threads, not one per connection; every
 * search is answered, 200 or 503 with Retry-After. */
static void searches_shared(void **state)
{
	(void)state;
	server_t s = serve_start(bigdb, "--max-searches 2");
	long base = threads_of(s.pid);
	assert_true(base > 0);
	enum { N = 32 };
	pthread_t th[N];
	struct search_try t[N];
	for (int i = 0; i < N; i++) {
		t[i] = (struct search_try){ s.port, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, search_try, &t[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (t[i].status == 200)
			ok++;
		else if (t[i].status != 503 || !t[i].retry)
			fail_msg("search %d of %d at once: %d", i, N, t[i].status);
	}
	assert_true(ok >= 1);
	/* the connections' threads end with their connections */
	long now = threads_of(s.pid);
	for (int k = 0; k < 200 && now > base + 2; k++) {
		usleep(20000);
		now = threads_of(s.pid);
	}
	if (now > base + 2)
		fail_msg("%d searches at once left %ld threads (%ld at the start)", N, now, base);
	assert_int_equal(serve_stop(&s), 0);
	/* an answer of --max-searches */
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s serve --max-searches 0", bigdb), 1);
	assert_non_null(strstr(err, "--max-searches"));
	free(out);
	free(err);
}

/* Logins side by side: the server checks at most 4 passwords at once (a
 * yescrypt check holds 16 MB), so 24 logins sent at once take a few checks'
 * memory, not 24 (384 MB); each is answered, here 401 (no such names). */
struct login_try {
	unsigned port;
	int i, status;
};

static void *login_try(void *p)
{
	struct login_try *t = p;
	char body[64];
	snprintf(body, sizeof body, "name=ghost%d&password=x", t->i);
	resp_t r = http_req(t->port, "POST", "/login", NULL, "application/x-www-form-urlencoded", body, NULL);
	t->status = r.status;
	resp_free(&r);
	return NULL;
}

static long peak_kb(pid_t pid)
{
	return proc_status(pid, "VmHWM:");
}

static void logins_at_once(void **state)
{
	(void)state;
	server_t s = serve_start(db, "--users USERS");
	assert_non_null(login(s.port, "bob", "right-2", 200));
	long before = peak_kb(s.pid);
	assert_true(before > 0);
	enum { N = 24 };
	pthread_t th[N];
	struct login_try t[N];
	for (int i = 0; i < N; i++) {
		t[i] = (struct login_try){ s.port, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, login_try, &t[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	long after = peak_kb(s.pid);
	for (int i = 0; i < N; i++)
		if (t[i].status != 401)
			fail_msg("login %d of %d at once: %d, want 401", i, N, t[i].status);
	if (after - before > 6 * 16 * 1024)
		fail_msg("%d logins at once: the server's peak memory grew by %ld MB", N, (after - before) / 1024);
	assert_int_equal(serve_stop(&s), 0);
}

/* --users files that are refused; --hash-password. */
static void users_file(void **state)
{
	(void)state;
	/* H: a real hash; the lines are bad for another reason */
	static const struct { const char *text, *why; } bad[] = {
		{ "bob:H:boss:bob@example.com\n", "role" },
		{ "bob:plain:user:bob@example.com\n", "hash" },
		{ "bob:H:user\n", "NAME:HASH" },
		{ "bob:H:user:bob\n", "not an address" },
		{ "bob:H:user:*@example.com\n", "not an address" },
		{ "b b:H:user:bob@example.com\n", "name" },
		{ "a:H:user:a@x.example\na:H:user:a@x.example\n", "twice" },
		{ "# nobody\n\n", "no users" },
		/* only yescrypt and SHA-512 crypt, whole */
		{ "bob:$1$abcdefgh$0VoFUtn8NRzlE1HYXqpqW/:user:bob@example.com\n", "not yescrypt ($y$) or SHA-512 ($6$)" },
		{ "bob:abJnggxhB/yWI:user:bob@example.com\n", "not yescrypt" },
		{ "bob:$y$j9T$abc$defghijklmnop:user:bob@example.com\n", "malformed" },
		{ "bob:$6$saltsalt$short:user:bob@example.com\n", "malformed" },
		{ "bob:Hcut:user:bob@example.com\n", "malformed" },
	};
	char path[4300], pw[4300], *out, *err, *hash;
	snprintf(pw, sizeof pw, "%s/pw1", dir);
	assert_int_equal(tl_mtalog(&hash, NULL, "serve --hash-password < %s", pw), 0);
	hash[strcspn(hash, "\n")] = '\0';
	snprintf(path, sizeof path, "%s/bad-users", dir);
	for (size_t i = 0; i < ML_ARRAY_LEN(bad); i++) {
		ml_buf_t t = ML_BUF_INIT;
		for (const char *c = bad[i].text; *c; c++) {
			if (!strncmp(c, ":Hcut:", 6)) {
				ml_buf_printf(&t, ":%.*s:", (int)strlen(hash) - 3, hash);
				c += 5;
			} else if (!strncmp(c, ":H:", 3)) {
				ml_buf_printf(&t, ":%s:", hash);
				c += 2;
			} else {
				ml_buf_putc(&t, *c);
			}
		}
		tl_write_file(path, t.data, t.len);
		int rc = tl_mtalog(&out, &err, "--db %s serve --listen 127.0.0.1:0 --users %s", db, path);
		if (rc != 1 || !strstr(err, bad[i].why))
			fail_msg("users file %zu (%s): exit %d: %s", i, ml_buf_cstr(&t), rc, err);
		ml_buf_free(&t);
		free(out);
		free(err);
	}
	free(hash);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s serve --listen 127.0.0.1:0 --users %s/none", db, dir), 2);
	free(out); free(err);
	/* a hash is libcrypt's yescrypt, salted: the same password twice differs */
	char *h2;
	assert_int_equal(tl_mtalog(&out, NULL, "serve --hash-password < %s", pw), 0);
	assert_int_equal(tl_mtalog(&h2, NULL, "serve --hash-password < %s", pw), 0);
	assert_true(!strncmp(out, "$y$", 3) || !strncmp(out, "$6$", 3));
	assert_string_not_equal(out, h2);
	free(out); free(h2);
	assert_int_equal(tl_mtalog(&out, &err, "serve --hash-password < /dev/null"), 1);
	free(out); free(err);
}

/* GET path (HTTP/1.0: a streamed answer comes unchunked, to the close)
 * with a session cookie (may be NULL). */
static resp_t get10(unsigned port, const char *path, const char *cookie)
{
	char req[4096], ck[256] = "";
	if (cookie)
		snprintf(ck, sizeof ck, "Cookie: mtalog_session=%s\r\n", cookie);
	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n", path, ck);
	return http_raw(port, req);
}

/* The CSV rows of every page of /api/search.csv?QUERY, following
 * X-Mtalog-Next, without the headers (malloc'd). */
static char *csv_pages(unsigned port, const char *query, const char *cookie)
{
	ml_buf_t all = ML_BUF_INIT;
	char cursor[128] = "";
	for (int pages = 0;; pages++) {
		char path[1024];
		snprintf(path, sizeof path, "/api/search.csv?%s%s%s", query, cursor[0] ? "&cursor=" : "", cursor);
		resp_t r = get10(port, path, cookie);
		assert_int_equal(r.status, 200);
		const char *body = strstr(r.body, "\r\n");
		assert_non_null(body);
		ml_buf_puts(&all, body + 2);
		const char *next = header(&r, "X-Mtalog-Next");
		if (next)
			snprintf(cursor, sizeof cursor, "%s", next);
		resp_free(&r);
		if (!next)
			break;
		assert_true(pages < 100);
	}
	return (char *)ml_buf_cstr(&all);
}

/* /api/search.csv?all=1: every row the cursor walks to its end, in one
 * answer, then a count line; a user's rows only. */
static void csv_all(void **state)
{
	(void)state;
	static const char *const queries[] = { "", "to=%40example.com", "status=bounced,delayed", "subject=invoice",
		"to=nobody%40nowhere.example" };
	static const char header_line[] = "id,time,host,queue_id,direction,from,to,orig_to,subject,status,dsn,relay,"
	                                  "delay,reason,message_id,client_ip,size,released,reported\r\n";
	for (size_t i = 0; i < ML_ARRAY_LEN(queries); i++) {
		char path[512];
		snprintf(path, sizeof path, "/api/search.csv?all=1&limit=7&%s", queries[i]);
		resp_t r = get10(big.port, path, NULL);
		assert_int_equal(r.status, 200);
		assert_string_equal(header(&r, "Content-Type"), "text/csv; charset=utf-8");
		assert_null(header(&r, "Content-Length"));
		char *want = csv_pages(big.port, queries[i], NULL);
		size_t rows = tl_count_lines(want);
		char tail[64];
		snprintf(tail, sizeof tail, "# %zu rows\r\n", rows);
		ml_buf_t exp = ML_BUF_INIT;
		ml_buf_puts(&exp, header_line);
		ml_buf_puts(&exp, want);
		ml_buf_puts(&exp, tail);
		if (strcmp(r.body, ml_buf_cstr(&exp)))
			fail_msg("all=1 %s: %zu bytes, the pages %zu", queries[i], r.body_len, exp.len);
		if (i == 0)
			assert_int_equal(rows, SAMPLE_ROWS);
		ml_buf_free(&exp);
		free(want);
		resp_free(&r);
	}
	/* from a cursor: the rest */
	json_t *j = get_json(big.port, "/api/search?limit=1000", 200);
	char path[256];
	snprintf(path, sizeof path, "/api/search.csv?all=1&cursor=%s", json_string_value(json_object_get(j, "next")));
	json_decref(j);
	resp_t r = get10(big.port, path, NULL);
	char tail[64];
	snprintf(tail, sizeof tail, "\r\n# %d rows\r\n", SAMPLE_ROWS - 1000);
	assert_non_null(strstr(r.body, tail));
	resp_free(&r);
	/* a user: their rows, every one */
	char free_[128];
	snprintf(free_, sizeof free_, "%s", login(big_u.port, "free", "right-1", 200));
	r = get10(big_u.port, "/api/search.csv?all=1", free_);
	char *want = csv_pages(big_u.port, "", free_);
	assert_true(tl_count_lines(want) > 150);
	snprintf(tail, sizeof tail, "# %zu rows\r\n", tl_count_lines(want));
	assert_true(!strncmp(r.body, header_line, strlen(header_line)));
	assert_true(!strncmp(r.body + strlen(header_line), want, strlen(want)));
	assert_string_equal(r.body + strlen(header_line) + strlen(want), tail);
	resp_free(&r);
	free(want);
	r = get10(big_u.port, "/api/search.csv?all=1", NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	/* only the CSV streams; a bad value */
	json_decref(get_json(big.port, "/api/search?all=1", 400));
	j = get_json(big.port, "/api/search.csv?all=yes", 400);
	assert_string_equal(json_string_value(json_object_get(j, "param")), "all");
	json_decref(j);
}

/* The histogram of rows (an array of search rows): {hour start: {status: n}}. */
static json_t *hours_of(json_t *rows)
{
	json_t *h = json_object();
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);
		char hour[32];
		snprintf(hour, sizeof hour, "%.13s:00:00Z", json_string_value(json_object_get(row, "time")));
		json_t *c = json_object_get(h, hour);
		if (!c)
			json_object_set_new(h, hour, c = json_object());
		const char *st = json_string_value(json_object_get(row, "status"));
		json_object_set_new(c, st, json_integer(json_integer_value(json_object_get(c, st)) + 1));
	}
	return h;
}

/* /api/histogram: its buckets add up to the rows the search's cursor
 * walks to its end, bucket by bucket and status by status; the total of
 * /api/search is theirs; a user's only their rows'. */
static void histogram_and_total(void **state)
{
	(void)state;
	static const char *const queries[] = { "", "to=%40example.com", "status=bounced,delayed,blocked",
		"subject=invoic*", "from=%40freemail.example&direction=in", "to=nobody%40nowhere.example" };
	for (size_t i = 0; i < ML_ARRAY_LEN(queries); i++) {
		size_t pages;
		json_t *rows = all_pages(big.port, queries[i], &pages);
		json_t *want = hours_of(rows);
		char path[512];
		snprintf(path, sizeof path, "/api/histogram?%s", queries[i]);
		json_t *hj = get_json(big.port, path, 200);
		assert_int_equal(json_object_size(hj), 3);
		assert_int_equal(json_integer_value(json_object_get(hj, "bucket_seconds")), 3600);
		assert_int_equal(json_integer_value(json_object_get(hj, "total")), json_array_size(rows));
		json_t *got = json_object(), *b;
		size_t k, sum = 0;
		json_array_foreach(json_object_get(hj, "buckets"), k, b) {
			json_t *c = json_object_get(b, "counts");
			const char *st;
			json_t *v;
			json_object_foreach(c, st, v)
				sum += (size_t)json_integer_value(v);
			if (json_object_size(c))
				json_object_set(got, json_string_value(json_object_get(b, "start")), c);
			/* every hour from the first to the last, in order */
			if (k) {
				const char *prev = json_string_value(json_object_get(json_array_get(json_object_get(hj, "buckets"), k - 1), "start"));
				int64_t t0, t1;
				assert_int_equal(ml_time_parse_user(prev, 0, &t0), 0);
				assert_int_equal(ml_time_parse_user(json_string_value(json_object_get(b, "start")), 0, &t1), 0);
				assert_true(t1 - t0 == 3600000000LL);
			}
		}
		assert_int_equal(sum, json_array_size(rows));
		if (!json_equal(got, want))
			fail_msg("histogram?%s: the buckets differ from the cursor's rows", queries[i]);
		/* the total of a page: exact when the page holds every row; else
		 * counted within the server's short budget: exact, or a lower
		 * bound that says so */
		snprintf(path, sizeof path, "/api/search?limit=1000&%s", queries[i]);
		json_t *sj = get_json(big.port, path, 200);
		if (json_array_size(rows) <= 1000) {
			assert_int_equal(json_integer_value(json_object_get(sj, "total")), json_array_size(rows));
			assert_true(json_is_true(json_object_get(sj, "total_exact")));
		}
		json_decref(sj);
		snprintf(path, sizeof path, "/api/search?limit=10&%s", queries[i]);
		sj = get_json(big.port, path, 200);
		json_int_t total = json_integer_value(json_object_get(sj, "total"));
		if (json_is_true(json_object_get(sj, "total_exact")))
			assert_int_equal(total, json_array_size(rows));
		else
			assert_true(total >= (json_int_t)json_array_size(json_object_get(sj, "rows")) &&
			            total <= (json_int_t)json_array_size(rows));
		json_decref(sj);
		json_decref(got);
		json_decref(want);
		json_decref(hj);
		json_decref(rows);
	}
	/* the command's histogram is the same */
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --histogram --json --to @example.com", bigdb), 0);
	json_error_t je;
	json_t *cli = json_loads(out, 0, &je), *api = get_json(big.port, "/api/histogram?to=%40example.com", 200);
	assert_true(json_equal(cli, api));
	json_decref(cli);
	json_decref(api);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --histogram --to @example.com", bigdb), 0);
	assert_non_null(strstr(out, "2026-11-01 00:00 "));
	assert_non_null(strstr(out, " rows\n"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --limit 5", bigdb), 0);
	char footer[64];
	snprintf(footer, sizeof footer, "5 of %d rows", SAMPLE_ROWS);
	assert_non_null(strstr(err, footer));
	free(out); free(err);
	/* a user: their rows only */
	char free_[128];
	snprintf(free_, sizeof free_, "%s", login(big_u.port, "free", "right-1", 200));
	static const char *const pats[] = { "@freemail.example", NULL };
	size_t pages;
	json_t *all = all_pages(big.port, "", &pages);
	json_t *theirs = rows_of(all, pats);
	json_t *hj = get_as(big_u.port, free_, "/api/histogram", 200);
	assert_int_equal(json_integer_value(json_object_get(hj, "total")), json_array_size(theirs));
	json_decref(hj);
	hj = get_as(big_u.port, free_, "/api/search?limit=5", 200);
	if (json_is_true(json_object_get(hj, "total_exact")))
		assert_int_equal(json_integer_value(json_object_get(hj, "total")), json_array_size(theirs));
	else
		assert_true(json_integer_value(json_object_get(hj, "total")) <= (json_int_t)json_array_size(theirs));
	json_decref(hj);
	json_decref(theirs);
	json_decref(all);
	/* a bad parameter names it */
	json_t *j = get_json(big.port, "/api/histogram?status=nope", 400);
	assert_string_equal(json_string_value(json_object_get(j, "param")), "status");
	json_decref(j);
}

/* POST path as a user (cookie may be NULL); the JSON answer, checked for
 * its status. */
static json_t *post_as(unsigned port, const char *cookie, const char *path, const char *ctype, const char *body,
                       const char *extra, int want_status)
{
	return req_json(port, "POST", path, cookie, ctype, body, extra, want_status);
}

/* The id of the one row of /api/search?QUERY on port. */
static void one_id(unsigned port, const char *query, char *id, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "/api/search?%s", query);
	json_t *j = get_json(port, path, 200);
	json_t *rows = json_object_get(j, "rows");
	assert_int_equal(json_array_size(rows), 1);
	snprintf(id, n, "%s", json_string_value(json_object_get(json_array_get(rows, 0), "id")));
	json_decref(j);
}

/* POST /api/messages/ID/report: the report is recorded (who, when, kind),
 * shown in the message and the rows, found by status=reported; from
 * another site 403; a user reports only what they see (404 as for a
 * message that does not exist) and is named as who reported. */
static void report_endpoint(void **state)
{
	(void)state;
	char id[32], path[256];
	one_id(small.port, "queue_id=4D5E6F7A8B", id, sizeof id);
	json_t *j = get_json(small.port, "/api/search?status=reported", 200);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 0);
	json_decref(j);
	snprintf(path, sizeof path, "/api/messages/%s/report", id);
	j = post_as(small.port, NULL, path, "application/x-www-form-urlencoded", "reason=phishing", NULL, 200);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_t *rep = json_object_get(j, "reports");
	assert_int_equal(json_array_size(rep), 1);
	json_t *r0 = json_array_get(rep, 0);
	assert_true(json_is_null(json_object_get(r0, "by")));
	assert_string_equal(json_string_value(json_object_get(r0, "source")), "user");
	assert_string_equal(json_string_value(json_object_get(r0, "kind")), "phishing");
	assert_int_equal(strlen(json_string_value(json_object_get(r0, "at"))), 20);
	json_decref(j);
	/* the rows: reported, found by the filter; the status unchanged */
	j = get_json(small.port, "/api/search?status=reported", 200);
	json_t *rows = json_object_get(j, "rows");
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "id")), id);
	assert_true(json_is_true(json_object_get(json_array_get(rows, 0), "reported")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "status")), "delivered");
	json_decref(j);
	json_t *api = search1("status", "reported"), *cli = cli_rows(db, "--status reported");
	assert_true(json_equal(api, cli));
	json_decref(api);
	json_decref(cli);
	resp_t csv = http_get(small.port, "/api/search.csv?status=reported");
	assert_non_null(strstr(csv.body, ",false,true\r\n"));
	resp_free(&csv);
	snprintf(path, sizeof path, "/api/messages/%s", id);
	j = get_json(small.port, path, 200);
	assert_int_equal(json_array_size(json_object_get(j, "reports")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(j, "flags")), "reported"));
	json_decref(j);
	/* JSON body; bad reason; another site; GET; unknown message */
	snprintf(path, sizeof path, "/api/messages/%s/report", id);
	j = post_as(small.port, NULL, path, "application/json", "{\"reason\":\"spam\"}", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "reports")), 2);
	json_decref(j);
	j = post_as(small.port, NULL, path, "application/json", "{\"reason\":\"ham\"}", NULL, 400);
	assert_string_equal(json_string_value(json_object_get(j, "param")), "reason");
	json_decref(j);
	json_decref(post_as(small.port, NULL, path, NULL, NULL, "Origin: http://evil.example\r\n", 403));
	resp_t r = http_get(small.port, path);
	assert_int_equal(r.status, 405);
	resp_free(&r);
	j = post_as(small.port, NULL, "/api/messages/12345/report", NULL, NULL, NULL, 404);
	assert_string_equal(json_string_value(json_object_get(j, "param")), "id");
	json_decref(j);
	json_decref(post_as(small.port, NULL, "/api/messages/x1/report", NULL, NULL, NULL, 400));
	/* users: a session; only a message they see; named as who */
	char carol_id[32], bob_id[32];
	one_id(small.port, "from=carol%40example.com", carol_id, sizeof carol_id);
	one_id(small.port, "queue_id=1A2B3C4D5E", bob_id, sizeof bob_id);
	snprintf(path, sizeof path, "/api/messages/%s/report", bob_id);
	json_decref(post_as(small_u.port, NULL, path, NULL, NULL, NULL, 401));
	char bob[128];
	snprintf(bob, sizeof bob, "%s", login(small_u.port, "bob", "right-2", 200));
	j = post_as(small_u.port, bob, path, NULL, NULL, NULL, 200);
	rep = json_object_get(j, "reports");
	assert_int_equal(json_array_size(rep), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rep, 0), "by")), "bob");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rep, 0), "kind")), "spam");
	json_decref(j);
	snprintf(path, sizeof path, "/api/messages/%s/report", carol_id);
	json_t *none = post_as(small_u.port, bob, "/api/messages/12345/report", NULL, NULL, NULL, 404);
	j = post_as(small_u.port, bob, path, NULL, NULL, NULL, 404);
	assert_true(json_equal(json_object_get(j, "param"), json_object_get(none, "param")));
	json_decref(j);
	json_decref(none);
	/* carol's message was not reported by bob's try */
	snprintf(path, sizeof path, "/api/messages/%s", carol_id);
	j = get_json(small.port, path, 200);
	assert_true(json_is_array(json_object_get(j, "reports")));
	assert_int_equal(json_array_size(json_object_get(j, "reports")), 0);
	assert_null(strstr(json_string_value(json_object_get(j, "flags")), "reported"));
	json_decref(j);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	atexit(stop_all);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_parameter),
		cmocka_unit_test(errors),
		cmocka_unit_test(message),
		cmocka_unit_test(csv_export),
		cmocka_unit_test(cursor_small),
		cmocka_unit_test(cursor_past_1000),
		cmocka_unit_test(cursor_while_ingesting),
		cmocka_unit_test(page),
		cmocka_unit_test(options),
		cmocka_unit_test(bounded_work),
		cmocka_unit_test(host_names),
		cmocka_unit_test(slow_clients),
		cmocka_unit_test(login_logout),
		cmocka_unit_test(users_see_their_rows),
		cmocka_unit_test(users_cursor),
		cmocka_unit_test(users_cursor_sealed),
		cmocka_unit_test(logins_at_once),
		cmocka_unit_test(searches_shared),
		cmocka_unit_test(users_file),
		cmocka_unit_test(report_endpoint),
		cmocka_unit_test(csv_all),
		cmocka_unit_test(histogram_and_total),
	};
	return TL_RUN_DEFAULT("serve", tests, setup, teardown);
}
