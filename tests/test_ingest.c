/*
 * Ingest tests of the mtalog command: exactly once (re-ingest, appended
 * lines, rotated and .gz files, stdin, batch boundaries, restarts), SIGKILL
 * at many points, bad input, and errors that must be one clear line.  The
 * long logs are the one bench/gen makes (with tests/data/filters.log: mail
 * through content filters); the corpus tier kills an ingest of a real log
 * too.
 *
 * The reference for "the same database contents" is `mtalog dump
 * --postings` (every message and every index entry) plus `stats --json`
 * without the file size.
 */
#include "testlib.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define STATUSES "tests/data/statuses.log"
#define OPTS "--year 2026 --local-domains example.com --no-sync"

#define dir tl_dir

#define path(name) tl_path(dir, (name))

static void ingest_ok(const char *db, const char *args)
{
	char *err;
	int rc = tl_mtalog(NULL, &err, "--db %s ingest " OPTS " %s", db, args);
	if (rc != 0)
		fail_msg("ingest %s: exit %d: %s", args, rc, err);
	free(err);
}

static char *reference(void)
{
	const char *db = path("ref.db");
	unlink(db);
	ingest_ok(db, STATUSES);
	return tl_db_contents(db);
}

static void reingest_adds_nothing(void **state)
{
	(void)state;
	char *ref = reference();
	const char *db = path("re.db");
	ingest_ok(db, STATUSES);
	ingest_ok(db, STATUSES);
	ingest_ok(db, STATUSES " " STATUSES);
	/* the same file twice in one run, into a fresh database */
	const char *db2 = path("twice.db");
	ingest_ok(db2, STATUSES " " STATUSES);
	char *got2 = tl_db_contents(db2);
	assert_string_equal(got2, ref);
	free(got2);
	char *got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	free(ref);
}

/* Split the statuses log after line k into a.log and b.log. */
static void split(int k, const char *a, const char *b, size_t *alen)
{
	size_t n;
	char *buf = tl_read_file(STATUSES, &n);
	size_t off = 0;
	for (int i = 0; i < k; i++)
		off = (size_t)((char *)memchr(buf + off, '\n', n - off) - buf) + 1;
	tl_write_file(a, buf, off);
	if (b)
		tl_write_file(b, buf + off, n - off);
	if (alen)
		*alen = off;
	free(buf);
}

static void appended_lines_and_restarts(void **state)
{
	(void)state;
	char *ref = reference();
	size_t n;
	char *buf = tl_read_file(STATUSES, &n);
	/* grow one file line by line in steps, ingesting after each step: every
	 * message crosses a restart */
	for (int step = 1; step <= 13; step += 6) {
		const char *db = path("grow.db"), *log = path("grow.log");
		unlink(db);
		unlink(log);
		size_t off = 0;
		while (off < n) {
			size_t end = off;
			for (int i = 0; i < step && end < n; i++)
				end = (size_t)((char *)memchr(buf + end, '\n', n - end) - buf) + 1;
			tl_append_file(log, buf + off, end - off);
			ingest_ok(db, log);
			off = end;
		}
		char *got = tl_db_contents(db);
		assert_string_equal(got, ref);
		free(got);
	}
	free(buf);
	free(ref);
}

static int cmp_json_text(const void *a, const void *b)
{
	char *x = json_dumps(*(json_t *const *)a, JSON_SORT_KEYS | JSON_COMPACT);
	char *y = json_dumps(*(json_t *const *)b, JSON_SORT_KEYS | JSON_COMPACT);
	int c = strcmp(x ? x : "", y ? y : "");
	free(x);
	free(y);
	return c;
}

/* Database contents (tl_db_contents) with each message's rows in one order
 * (malloc'd; text freed). */
static char *rows_sorted(char *text)
{
	ml_buf_t b = ML_BUF_INIT;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = l[0] == '{' ? json_loads(l, 0, NULL) : NULL;
		json_t *rows = json_object_get(j, "recipients");
		if (json_is_array(rows) && json_array_size(rows) > 1) {
			size_t n = json_array_size(rows);
			json_t **v = malloc(n * sizeof *v);
			assert_non_null(v);
			for (size_t i = 0; i < n; i++)
				v[i] = json_incref(json_array_get(rows, i));
			qsort(v, n, sizeof *v, cmp_json_text);
			json_array_clear(rows);
			for (size_t i = 0; i < n; i++)
				json_array_append_new(rows, v[i]);
			free(v);
			char *t = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
			ml_buf_puts(&b, t);
			free(t);
		} else {
			ml_buf_puts(&b, l);
		}
		ml_buf_puts(&b, "\n");
		json_decref(j);
	}
	free(text);
	return (char *)ml_buf_cstr(&b);
}

/* Stopped after any line of log_src, then run again over the whole file:
 * the database one run gives (with rows_any_order, a message's rows may
 * come in another order: see restarts_inside_chains). */
static void every_stop_point(const char *log_src, const char *ref, int rows_any_order)
{
	size_t n;
	char *buf = tl_read_file(log_src, &n);
	size_t off = 0;
	for (int k = 1; off < n; k++) {
		const char *db = path("stops.db"), *log = path("stops.log");
		unlink(db);
		size_t cut = (size_t)((char *)memchr(buf + off, '\n', n - off) - buf) + 1;
		tl_write_file(log, buf, cut);
		ingest_ok(db, log);
		tl_write_file(log, buf, n);
		ingest_ok(db, log);
		char *got = tl_db_contents(db);
		if (rows_any_order)
			got = rows_sorted(got);
		if (strcmp(got, ref) != 0) {
			tl_print_db_diff(ref, got);
			fail_msg("%s: a run stopped after line %d, then the rest: not what one run gives", log_src, k);
		}
		free(got);
		off = cut;
	}
	free(buf);
}

static char *one_run(const char *log_src)
{
	const char *db = path("onerun.db");
	unlink(db);
	ingest_ok(db, log_src);
	return tl_db_contents(db);
}

/* Whatever line a run stops after, the next run joins what it reads to the
 * messages of the earlier one as one run does, where the correlator's
 * memory of the lines before is gone: an amavis line that names its
 * message by the message-id alone (mail a local user sent through amavis
 * and back, then forwarded by a .forward) joins the message before the
 * filter, found in storage; Sendmail's "DSN:" line names the notice of a
 * message closed and stored already, which takes it; a first hop's row
 * that names a next hop linked already (its other row) is linked when the
 * next hop gains the row of its recipient, the first hop stored. */
static void restarts_inside_chains(void **state)
{
	(void)state;
	char *ref = one_run("tests/data/amavis-local.log");
	/* the one run links the chain: the first hop's row handed on to the second */
	const char *second = strstr(ref, "\"queue_id\":\"4Pc0RZ0V1Dz3tBr\"");
	assert_non_null(second);
	const char *eol = strchr(second, '\n');
	const char *prev = strstr(second, "\"previous_queue_id\":\"4Pc0RY4stSz3tG3\"");
	assert_true(prev && (!eol || prev < eol));
	every_stop_point("tests/data/amavis-local.log", ref, 0);
	free(ref);
	ref = one_run("tests/data/sendmail-statuses.log");
	assert_non_null(strstr(ref, "\"bounce_queue_id\":\"s23A02cd001022\""));
	every_stop_point("tests/data/sendmail-statuses.log", ref, 0);
	free(ref);
	/* an edge's two rows to the next hop (loopback), linked one in each run:
	 * the second when the next hop gains the row of its recipient.  The rows
	 * of a next hop linked before its own deliveries are logged come in
	 * another order than in one run (a row made by the link comes first): the
	 * rows are compared in any order */
	ref = rows_sorted(one_run("tests/data/chains-loopback.log"));
	every_stop_point("tests/data/chains-loopback.log", ref, 1);
	free(ref);
}

static void rotated_gz_and_stdin(void **state)
{
	(void)state;
	char *ref = reference();
	/* mail.log.1 (older half, later gzipped) and mail.log (newer half) */
	const char *db = path("rot.db"), *old = path("mail.log.1"), *cur = path("mail.log");
	unlink(db);
	split(30, old, cur, NULL);
	ingest_ok(db, old);
	ingest_ok(db, cur);
	/* rotation: mail.log.1 becomes mail.log.2.gz; ingesting everything again adds nothing */
	size_t n;
	char *buf = tl_read_file(old, &n);
	gzFile gz = gzopen(path("mail.log.2.gz"), "wb");
	gzwrite(gz, buf, (unsigned)n);
	gzclose(gz);
	free(buf);
	char args[9000];
	snprintf(args, sizeof args, "%s %s", path("mail.log.2.gz"), cur);
	ingest_ok(db, args);
	char *got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	/* the .gz first, then the plain one, into a fresh database */
	db = path("gz.db");
	ingest_ok(db, args);
	got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	/* stdin */
	db = path("stdin.db");
	char *err;
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest " OPTS " - < " STATUSES, db), 0);
	free(err);
	got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	free(ref);
}

static void batch_boundaries(void **state)
{
	(void)state;
	char *ref = reference();
	for (int b = 1; b <= 7; b += 3) {
		const char *db = path("batch.db");
		unlink(db);
		char args[256];
		snprintf(args, sizeof args, "--batch-lines %d %s", b, STATUSES);
		ingest_ok(db, args);
		char *got = tl_db_contents(db);
		assert_string_equal(got, ref);
		free(got);
	}
	free(ref);
}

/* A long log (72,000 lines, 11 MB) made by bench/gen, once. */
static const char *gen_log(void)
{
	static char log[4200];
	if (!log[0]) {
		snprintf(log, sizeof log, "%s", path("gen.log"));
		tl_gen_log(log, 6000);
	}
	return log;
}

/* Ingest log (and more, when not NULL) in the background. */
static pid_t spawn_ingest(const char *db, const char *log, const char *more, const char *batch)
{
	return tl_spawn_mtalog("--db", db, "ingest", "--quiet", "--batch-lines", batch, log, more, (char *)NULL);
}

/* An ingest killed while it makes a new database leaves nothing at the
 * path that the next run refuses: no file, or a whole database.  The kills
 * come from the first instant on, 100 µs apart; each is followed by a run
 * that must complete. */
static void killed_while_creating(void **state)
{
	(void)state;
	const char *log = "tests/data/filters.log";
	const char *db = path("new.db");
	char lock[4300];
	snprintf(lock, sizeof lock, "%s-lock", db);
	for (int i = 0; i < 40; i++) {
		unlink(db);
		unlink(lock);
		pid_t pid = spawn_ingest(db, log, NULL, "400");
		struct timespec ts = { 0, (long)i * 100000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		char *err;
		if (tl_mtalog(NULL, &err, "--db %s ingest --quiet %s", db, log) != 0)
			fail_msg("after a kill at %d µs: %s", i * 100, err);
		free(err);
	}
}

/* The inputs: the generated log and mail through content filters; in the
 * corpus tier (*state: a corpus file), a real log. */
static void sigkill_at_many_points(void **state)
{
	const char *log = *state ? tl_corpus((const char *)*state) : gen_log();
	const char *more = *state ? NULL : "tests/data/filters.log";
	char logs[8600];
	snprintf(logs, sizeof logs, "%s %s", log, more ? more : "");
	const char *ref_db = path("kill-ref.db");
	char *err;
	unlink(ref_db);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --batch-lines 400 %s", ref_db, logs), 0);
	free(err);
	char *ref = tl_db_contents(ref_db);
	/* kill after different delays; some runs are killed twice before finishing */
	const int delays_ms[] = { 5, 30, 80, 150, 300 };
	int killed = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(delays_ms); i++) {
		const char *db = path("kill.db");
		char lock[4300];
		unlink(db);
		snprintf(lock, sizeof lock, "%s-lock", db);
		unlink(lock);
		for (int round = 0; round < 2; round++) {
			pid_t pid = spawn_ingest(db, log, more, round ? "250" : "400");
			struct timespec ts = { 0, (long)(delays_ms[i] * (round + 1)) * 1000000L };
			nanosleep(&ts, NULL);
			int st;
			if (kill(pid, SIGKILL) == 0)
				killed++;
			waitpid(pid, &st, 0);
		}
		int rc = tl_mtalog(NULL, &err, "--db %s ingest --quiet --batch-lines 400 %s", db, logs);
		if (rc != 0)
			fail_msg("ingest after SIGKILL at %d ms: exit %d: %s", delays_ms[i], rc, err);
		free(err);
		char *got = tl_db_contents(db);
		if (strcmp(got, ref) != 0) {
			tl_print_db_diff(ref, got);
			fail_msg("database after SIGKILL at %d ms differs from an uninterrupted run", delays_ms[i]);
		}
		free(got);
	}
	assert_true(killed > 0);
	free(ref);
}

static void bad_input(void **state)
{
	(void)state;
	const char *log = path("bad.log"), *db = path("bad.db");
	unlink(db);
	size_t n;
	char *good = tl_read_file(STATUSES, &n);
	/* first 8 lines: message 1 complete */
	size_t off = 0;
	for (int i = 0; i < 8; i++)
		off = (size_t)((char *)memchr(good + off, '\n', n - off) - good) + 1;
	tl_write_file(log, good, off);
	/* binary garbage */
	unsigned char junk[5000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	tl_append_file(log, junk, sizeof junk);
	tl_append_file(log, "\n", 1);
	/* NUL bytes, leading (as after a crash) and inside */
	const char nul1[] = "\0\0\0\0Mar  3 10:20:00 mx1 postfix/qmgr[1003]: AAAA1111BB: removed\n";
	tl_append_file(log, nul1, sizeof nul1 - 1);
	const char nul2[] = "Mar  3 10:20:01 mx1 postfix/qmgr[1003]: BBBB\0" "2222CC: removed\n";
	tl_append_file(log, nul2, sizeof nul2 - 1);
	/* a 1 MB line */
	char *big = malloc(1 << 20);
	memset(big, 'x', 1 << 20);
	memcpy(big, "Mar  3 10:20:02 mx1 postfix/smtpd[1]: ", 38);
	tl_append_file(log, big, 1 << 20);
	tl_append_file(log, "\n", 1);
	free(big);
	/* invalid UTF-8 in a subject, other programs, an unknown Postfix line */
	const char more[] =
		"Mar  3 10:21:00 mx1 postfix/smtpd[1101]: CCCC3333DD: client=x.example[192.0.2.77]\n"
		"Mar  3 10:21:00 mx1 sshd[77]: Accepted publickey for root from 192.0.2.1 port 22 ssh2\n"
		"Mar  3 10:21:00 mx1 CRON[78]: (root) CMD (run-parts /etc/cron.hourly)\n"
		"Mar  3 10:21:01 mx1 postfix/cleanup[1002]: CCCC3333DD: info: header Subject: caf\xe9 \xff\xfe bad from x.example[192.0.2.77]; from=<z@x.example> to=<bob@example.com> proto=ESMTP helo=<x>\n"
		"Mar  3 10:21:01 mx1 postfix/qmgr[1003]: CCCC3333DD: from=<z@x.example>, size=10, nrcpt=1 (queue active)\n"
		"Mar  3 10:21:02 mx1 postfix/lmtp[1004]: CCCC3333DD: to=<bob@example.com>, relay=mailstore.example.com[private/dovecot-lmtp], delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Saved)\n"
		"Mar  3 10:21:02 mx1 postfix/qmgr[1003]: CCCC3333DD: removed\n"
		"Not a log line at all\n"
		"Mar  3 10:22:00 mx1 postfix/smtpd[1101]: DDDD4444EE: client=y.example[192.0.2.78]";
	tl_append_file(log, more, sizeof more - 1);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s", db, log), 0);
	/* the report names the reasons, with file, line and byte offset */
	assert_non_null(strstr(err, "line too long"));
	assert_non_null(strstr(err, "NUL byte"));
	assert_non_null(strstr(err, "last line has no newline yet"));
	assert_non_null(strstr(err, "bad.log:"));
	assert_non_null(strstr(err, "(byte "));
	free(out); free(err);
	/* both messages are whole */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --to bob@example.com", db), 0);
	assert_int_equal(tl_count_lines(out), 2);
	/* bytes that are not UTF-8 are read as Latin-1 */
	assert_non_null(strstr(out, "\"subject\":\"caf\xc3\xa9 \xc3\xbf\xc3\xbe bad\""));
	free(out); free(err);
	/* stats: not understood by reason, with a sample; other programs skipped */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	json_t *bad = json_object_get(json_object_get(s, "lines_not_understood"), "by_reason");
	assert_non_null(json_object_get(bad, "line too long"));
	assert_non_null(json_object_get(bad, "NUL byte inside the line"));
	json_t *skip = json_object_get(json_object_get(s, "lines_skipped"), "by_reason");
	assert_int_equal(json_integer_value(json_object_get(skip, "not a mail program")), 2);
	assert_true(json_integer_value(json_object_get(json_object_get(s, "lines_not_understood"), "total")) >= 4);
	const char *sample = json_string_value(json_object_get(json_object_get(bad, "line too long"), "sample"));
	assert_non_null(strstr(sample, "bad.log:"));
	json_decref(s);
	free(out); free(err);
	/* the held-back last line is taken once it is complete */
	tl_append_file(log, "\n", 1);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s", db, log), 0);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --ip 192.0.2.78", db), 0);
	assert_int_equal(tl_count_lines(out), 1);
	free(out); free(err);
	free(good);
}

/* A file nobody writes to any more: its last line without '\n' is complete. */
/* Exim through syslog and in its own format (with a continuation line),
 * an empty line and a line Exim never writes: each counted by its reason. */
static void exim_and_odd_lines(void **state)
{
	(void)state;
	const char *sys = path("exim-syslog.log"), *own = path("exim-main.log"), *db = path("odd.db");
	const char syslog_lines[] =
		"Mar  3 10:30:00 mx3 exim[801]: 1vAbCd-000001-XY <= ann@x.example H=mail.x.example [192.0.2.61] P=esmtp S=700 for bob@example.com\n"
		"Mar  3 10:30:01 mx3 exim[801]: 1vAbCd-000001-XY => bob@example.com R=local_user T=local_delivery\n"
		"Mar  3 10:30:01 mx3 exim[801]: 1vAbCd-000001-XY Completed\n"
		"\n"
		"Mar  3 10:30:02 mx3 exim[801]: this is not something exim writes\n";
	const char own_lines[] =
		"2026-03-03 10:31:00 1vAbCe-000002-XY <= ann@x.example H=mail.x.example [192.0.2.61] P=esmtp S=700 for carl@example.com\n"
		"2026-03-03 10:31:01 1vAbCe-000002-XY ** carl@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.62]: SMTP error from remote mail server after RCPT TO:<carl@example.com>: 550 5.1.1 unknown user\n"
		"2026-03-03 10:31:01 1vAbCe-000002-XY Completed\n"
		"2026-03-03 10:31:05 TLS error on connection from mail.x.example [192.0.2.61] (SSL_accept): error:0A000076:SSL routines::no suitable signature algorithm\n"
		"  Suggested action: check the certificate and the key of the TLS configuration\n";
	tl_write_file(sys, syslog_lines, sizeof syslog_lines - 1);
	tl_write_file(own, own_lines, sizeof own_lines - 1);
	char args[8800];
	snprintf(args, sizeof args, "%s %s", sys, own);
	ingest_ok(db, args);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --to bob@example.com --status delivered", db), 0);
	assert_int_equal(tl_count_lines(out), 1);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --to carl@example.com --status bounced", db), 0);
	assert_int_equal(tl_count_lines(out), 1);
	assert_non_null(strstr(out, "\"dsn\":\"5.1.1\""));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_error_t je;
	json_t *st = json_loads(out, 0, &je);
	assert_non_null(st);
	json_t *skip = json_object_get(json_object_get(st, "lines_skipped"), "by_reason");
	assert_int_equal(json_integer_value(json_object_get(skip, "empty line")), 1);
	assert_int_equal(json_integer_value(json_object_get(skip, "exim: continuation")), 1);
	json_t *bad = json_object_get(json_object_get(st, "lines_not_understood"), "by_reason");
	json_t *unrec = json_object_get(bad, "exim: unrecognised");
	assert_int_equal(json_integer_value(json_object_get(unrec, "count")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(unrec, "sample")), "not something exim writes"));
	json_decref(st);
	free(out); free(err);
}

static void old_file_last_line(void **state)
{
	(void)state;
	const char *log = path("old.log"), *db = path("old.db");
	const char text[] =
		"Mar  3 10:21:00 mx1 postfix/smtpd[1101]: EEEE5555FF: client=x.example[192.0.2.91]\n"
		"Mar  3 10:21:01 mx1 postfix/qmgr[1003]: EEEE5555FF: from=<z@x.example>, size=10, nrcpt=1 (queue active)";
	tl_write_file(log, text, sizeof text - 1);
	struct timespec old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, log, old, 0), 0);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s", db, log), 0);
	assert_non_null(strstr(err, "taken as complete"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --from z@x.example", db), 0);
	assert_int_equal(tl_count_lines(out), 1);
	free(out); free(err);
}

static void errors_are_one_line(void **state)
{
	(void)state;
	char *out, *err;
	const char *db = path("err.db");
	/* a missing input: named, non-zero exit, the other inputs still read */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s " STATUSES, db, path("missing.log")), 1);
	assert_non_null(strstr(err, "missing.log: cannot open: No such file or directory"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --host mx2", db), 0);
	assert_int_equal(tl_count_lines(out), 6);
	free(out); free(err);
	/* no database yet */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search", path("none.db")), 2);
	assert_non_null(strstr(err, "none.db"));
	assert_int_equal(tl_count_lines(err), 1);
	free(out); free(err);
	/* a new database in a folder that is not there: the path asked for, once */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s/no-such-folder/new.db ingest " OPTS " " STATUSES, tl_dir), 2);
	assert_non_null(strstr(err, "no-such-folder/new.db: No such file or directory"));
	assert_null(strstr(err, ".new-"));
	assert_int_equal(tl_count_lines(err), 1);
	free(out); free(err);
	/* a corrupt database file */
	const char *junk = path("junk.db");
	char garbage[65536];
	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (char)(i * 7919 % 251);
	tl_write_file(junk, garbage, sizeof garbage);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search", junk), 2);
	assert_non_null(strstr(err, "junk.db"));
	assert_int_equal(tl_count_lines(err), 1);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " " STATUSES, junk), 2);
	assert_non_null(strstr(err, "junk.db"));
	free(out); free(err);
	/* a folder where the database should be */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats", dir), 2);
	assert_non_null(strstr(err, "not a regular file"));
	free(out); free(err);
	/* a full disk (file size limit): a clear error, non-zero exit */
	const char *full = path("full.db");
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "sh -c 'trap \"\" XFSZ; ulimit -f 200; exec %s --db %s ingest --quiet %s' 2>%s",
	         getenv("MTALOG_BIN") ? getenv("MTALOG_BIN") : "build/mtalog", full,
	         gen_log(), path("full.err"));
	int st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	char *msg = tl_read_file(path("full.err"), NULL);
	assert_non_null(strstr(msg, "full.db"));
	assert_non_null(strstr(msg, "cannot write"));
	/* EFBIG: "the disk is full"; a short write, LMDB's EIO: "is the disk full?" */
	assert_true(strstr(msg, "the disk is full") || strstr(msg, "(is the disk full?)"));
	free(msg);
}

/* A log cut in place below its checkpoint, its first line unchanged
 * (truncate -s, a copytruncate that kept a prefix), at a line's end and in
 * the middle of a line: what is left was read, and is not read again (a
 * line on stderr says the file shrank); the lines written after the cut
 * are read once.  Emptied and written anew, it is read from its start. */
static void truncated_in_place(void **state)
{
	(void)state;
	size_t n;
	char *full = tl_read_file(gen_log(), &n);
	assert_non_null(full);
	for (int mid = 0; mid < 2; mid++) {
		const char *log = path("cut.log"), *db = path("cut.db"), *ref_db = path("cut-ref.db");
		unlink(db);
		unlink(ref_db);
		tl_write_file(log, full, n);
		ingest_ok(db, log);
		char *before = tl_db_contents(db);
		long msgs = tl_messages(db);
		size_t cut = (size_t)((char *)memchr(full + n / 2, '\n', n - n / 2) - full) + 1;
		if (mid)
			cut += 40;   /* into the next line */
		assert_int_equal(truncate(log, (off_t)cut), 0);
		char *out, *err;
		assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s", db, log), 0);
		char want[300];
		snprintf(want, sizeof want, "%s: shrank below its checkpoint: %zu bytes now, checkpoint at byte %zu",
		         log, cut, n);
		if (!strstr(err, want))
			fail_msg("no word of the shrink (%s) in: %s", want, err);
		free(out); free(err);
		char *after = tl_db_contents(db);
		assert_string_equal(after, before);
		free(after);
		/* new lines after the cut: read once */
		size_t an;
		char *add = tl_new_messages(100 * (mid + 1), 5, &an);
		tl_append_file(log, add, an);
		for (int again = 0; again < 2; again++) {
			assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s", db, log), 0);
			assert_null(strstr(err, "shrank"));
			free(out); free(err);
		}
		assert_int_equal(tl_messages(db), msgs + 5);
		/* as one ingest of the whole log and the new lines */
		const char *ref_log = path("cut-ref.log");
		tl_write_file(ref_log, full, n);
		tl_append_file(ref_log, add, an);
		ingest_ok(ref_db, ref_log);
		char *want_db = tl_db_contents(ref_db);
		tl_expect_db(db, want_db, "a log cut in place and written on");
		free(want_db);
		/* emptied and written anew (copytruncate): another first line,
		 * read from byte 0 */
		free(add);
		add = tl_new_messages(1000 * (mid + 1), 3, &an);
		assert_int_equal(truncate(log, 0), 0);
		tl_append_file(log, add, an);
		assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest " OPTS " %s", db, log), 0);
		assert_null(strstr(err, "shrank"));
		free(out); free(err);
		assert_int_equal(tl_messages(db), msgs + 8);
		free(add);
		free(before);
	}
	free(full);
}

/* The map fills many times over and grows on its own; nothing is lost. */
static void map_grows(void **state)
{
	(void)state;
	const char *log = "sample/mail.log";  /* a database of a few MB */
	const char *small = path("small-map.db"), *big = path("big-map.db");
	char *err;
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --batch-lines 5000 %s", big, log), 0);
	free(err);
	setenv("MTALOG_MAP_SIZE", "1048576", 1);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --batch-lines 5000 %s", small, log), 0);
	unsetenv("MTALOG_MAP_SIZE");
	free(err);
	struct stat st;
	assert_int_equal(stat(small, &st), 0);
	assert_true(st.st_size > 2 * 1048576);  /* it did outgrow the first map */
	char *a = tl_db_contents(big), *b = tl_db_contents(small);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* A progress line on a terminal only (and not with --quiet). */
static void progress_on_a_terminal(void **state)
{
	(void)state;
	const char *db = path("progress.db");
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest %s", db, "sample/mail.log"), 0);
	assert_null(strchr(err, '\r'));  /* not a terminal: no progress line */
	free(out);
	free(err);
	unlink(db);
	char args[4400];
	snprintf(args, sizeof args, "--db %s ingest sample/mail.log", db);
	char *tty = tl_mtalog_on_tty(args);
	if (!tty)
		skip();
	assert_non_null(strchr(tty, '\r'));
	assert_non_null(strstr(tty, "sample/mail.log: "));
	assert_non_null(strstr(tty, "100%"));
	free(tty);
}

static void search_while_ingesting(void **state)
{
	(void)state;
	const char *db = path("live.db");
	unlink(db);
	/* a first commit so that the database exists */
	ingest_ok(db, STATUSES);
	pid_t pid = spawn_ingest(db, gen_log(), NULL, "200");
	int searches = 0, st;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		char *out, *err;
		int rc = tl_mtalog(&out, &err, "--db %s search --json --status delivered", db);
		if (rc != 0)
			fail_msg("search during ingest: exit %d: %s", rc, err);
		searches++;
		free(out);
		free(err);
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(searches > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reingest_adds_nothing),
		cmocka_unit_test(appended_lines_and_restarts),
		cmocka_unit_test(restarts_inside_chains),
		cmocka_unit_test(rotated_gz_and_stdin),
		cmocka_unit_test(batch_boundaries),
		cmocka_unit_test_prestate(sigkill_at_many_points, NULL),
		cmocka_unit_test(killed_while_creating),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(exim_and_odd_lines),
		cmocka_unit_test(old_file_last_line),
		cmocka_unit_test(truncated_in_place),
		cmocka_unit_test(errors_are_one_line),
		cmocka_unit_test(map_grows),
		cmocka_unit_test(progress_on_a_terminal),
		cmocka_unit_test(search_while_ingesting),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test_prestate(sigkill_at_many_points, (void *)"postfix-logsums/mail.log"),
	};
	return TL_RUN("ingest", tests, corpus_tests, tl_dir_setup, tl_dir_teardown);
}
