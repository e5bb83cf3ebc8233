/*
 * `mtalog ingest --follow`: a live log is appended to, rotated by rename and
 * create (with a late write to the old file), the follower is killed and
 * restarted, the log is rotated by copytruncate twice with lines written
 * between the last read and the truncation (once into a copy that is then
 * compressed), and the follower is stopped by SIGTERM; then the log is
 * rotated twice while no follower runs (the file in between was never read).  Every line must be
 * read exactly once: the database ends up as a single ingest of the same
 * lines in the order they were written (`dump --postings` and `stats`).
 *
 * The lines are those of a log made by bench/gen and tests/data/filters.log;
 * the corpus tier does the same with a real log.
 *
 * Also: a line written to a followed file is searchable within a second or
 * so (the bound here is loose, for busy machines and sanitizers; the lag
 * figures come from bench/lag.sh), and SIGINT stops a follower cleanly; the
 * lines of a pipe into `ingest -` are committed when it goes quiet.
 */
#include "testlib.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define YEAR "--year 2025"

#define dir tl_dir

#define path(name) tl_path(dir, (name))

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Lines committed, over every input's checkpoint. */
static long lines_committed(const char *db)
{
	char *out = NULL, *err = NULL;
	long sum = -1;
	if (tl_mtalog(&out, &err, "--db %s stats --json", db) == 0) {
		json_error_t je;
		json_t *s = json_loads(out, 0, &je);
		json_t *in = s ? json_object_get(s, "inputs") : NULL;
		size_t i;
		json_t *v;
		sum = 0;
		json_array_foreach(in, i, v)
			sum += (long)json_integer_value(json_object_get(v, "lines"));
		json_decref(s);
	}
	free(out);
	free(err);
	return sum;
}

static pid_t child;   /* the follower running, killed by teardown after a failure */
static int stop(pid_t pid, int sig);

/* Wait (at most 30 s) until `want` lines are committed; fails otherwise. */
static void wait_lines(const char *db, long want, const char *when)
{
	double t0 = now_s();
	long got = -1;
	while (now_s() - t0 < 30) {
		got = lines_committed(db);
		if (got == want)
			return;
		if (got > want)
			break;
		sleep_ms(50);
	}
	if (child > 0)
		stop(child, SIGKILL);
	fail_msg("%s: %ld lines committed, expected %ld", when, got, want);
}

static pid_t spawn_follow(const char *db, const char *log)
{
	pid_t pid = tl_spawn_mtalog("--db", db, "ingest", "--follow", "--no-sync", "--year", "2025", log,
	                            (char *)NULL);
	child = pid;
	return pid;
}

static int stop(pid_t pid, int sig)
{
	int st = 0;
	kill(pid, sig);
	waitpid(pid, &st, 0);
	child = 0;
	return st;
}

typedef struct {
	char *buf;
	size_t n;
	size_t *starts;   /* byte offset of each line, and n at the end */
	size_t nlines;
} log_t;

static void load(log_t *L, const char *file)
{
	L->buf = tl_read_file(file, &L->n);
	assert_non_null(L->buf);
	L->starts = malloc((L->n + 2) * sizeof *L->starts);
	L->nlines = 0;
	size_t off = 0;
	while (off < L->n) {
		L->starts[L->nlines++] = off;
		char *nl = memchr(L->buf + off, '\n', L->n - off);
		off = nl ? (size_t)(nl - L->buf) + 1 : L->n;
	}
	L->starts[L->nlines] = L->n;
}

/* Lines [a, b) of L. */
static void put(const log_t *L, const char *file, size_t a, size_t b, int append)
{
	const char *p = L->buf + L->starts[a];
	size_t n = L->starts[b] - L->starts[a];
	if (append)
		tl_append_file(file, p, n);
	else
		tl_write_file(file, p, n);
}

static void gzip_file(const char *file)
{
	char cmd[8600];
	snprintf(cmd, sizeof cmd, "gzip -f '%s'", file);
	assert_int_equal(system(cmd), 0);
}

/* The lines written: a log made by bench/gen followed by mail through
 * content filters; in the corpus tier (*state: a corpus file), a real log. */
static void rotation_restart_and_copytruncate(void **state)
{
	log_t L;
	if (*state) {
		load(&L, tl_corpus((const char *)*state));
	} else {
		const char *src = path("source.log");
		tl_gen_log(src, 3000);
		size_t n;
		char *more = tl_read_file("tests/data/filters.log", &n);
		assert_non_null(more);
		tl_append_file(src, more, n);
		free(more);
		load(&L, src);
	}
	size_t N = L.nlines;
	assert_true(N > 100);
	/* slices s0..s9 of the log, written in this order */
	size_t cut[11];
	for (int i = 0; i <= 10; i++)
		cut[i] = N * (size_t)i / 10;

	const char *log = path("mail.log"), *db = path("f.db");
	char log1[4300], log2[4300], log3[4300];
	snprintf(log1, sizeof log1, "%s.1", log);
	snprintf(log2, sizeof log2, "%s-20250102", log);
	snprintf(log3, sizeof log3, "%s.3", log);

	put(&L, log, cut[0], cut[1], 0);
	pid_t pid = spawn_follow(db, log);
	wait_lines(db, (long)cut[1], "first lines");

	put(&L, log, cut[1], cut[2], 1);
	wait_lines(db, (long)cut[2], "appended lines");

	/* rename and create; the daemon writes to the old file before reopening */
	assert_int_equal(rename(log, log1), 0);
	put(&L, log1, cut[2], cut[3], 1);
	put(&L, log, cut[3], cut[4], 0);
	wait_lines(db, (long)cut[4], "rename and create");

	/* killed, and started again: resumes at the checkpoint */
	stop(pid, SIGKILL);
	put(&L, log, cut[4], cut[5], 1);
	pid = spawn_follow(db, log);
	wait_lines(db, (long)cut[5], "after SIGKILL and restart");

	/* copytruncate, with lines written after the last read: they are only
	 * in the copy */
	kill(pid, SIGSTOP);
	put(&L, log, cut[5], cut[6], 1);
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", log, log2);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(truncate(log, 0), 0);
	put(&L, log, cut[6], cut[7], 1);
	kill(pid, SIGCONT);
	wait_lines(db, (long)cut[7], "copytruncate");

	/* the same, and the copy is compressed before the follower looks */
	kill(pid, SIGSTOP);
	put(&L, log, cut[7], cut[8], 1);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", log, log3);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(truncate(log, 0), 0);
	put(&L, log, cut[8], cut[9], 1);
	gzip_file(log3);
	kill(pid, SIGCONT);
	wait_lines(db, (long)cut[9], "copytruncate into a compressed copy");

	put(&L, log, cut[9], cut[10] - 40, 1);
	wait_lines(db, (long)(cut[10] - 40), "the last lines but 40");
	int st = stop(pid, SIGTERM);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* two rotations while stopped: mail.log.1 is written and rotated away
	 * (to .2) without a follower; the old mail.log.1 was read (now .3, as
	 * mail.log.3.gz stays) */
	char log4[4300], log5[4300];
	snprintf(log4, sizeof log4, "%s.4", log);
	snprintf(log5, sizeof log5, "%s.5", log);
	/* the oldest copy is days old (and copies differ in their mtime's seconds) */
	struct timespec old[2] = { { 1735776000, 0 }, { 1735776000, 0 } };  /* 2025-01-02 */
	assert_int_equal(utimensat(AT_FDCWD, log1, old, 0), 0);
	put(&L, log, cut[10] - 40, cut[10] - 30, 1);     /* the tail the follower missed */
	assert_int_equal(rename(log, log4), 0);
	sleep_ms(20);
	put(&L, log5, cut[10] - 30, cut[10] - 15, 0);   /* never seen by a follower */
	sleep_ms(20);
	put(&L, log, cut[10] - 15, cut[10], 0);
	pid = spawn_follow(db, log);
	wait_lines(db, (long)N, "two rotations while stopped");
	st = stop(pid, SIGTERM);
	assert_int_equal(WEXITSTATUS(st), 0);

	/* the same lines in one ingest */
	const char *all = path("all.log"), *ref_db = path("ref.db");
	put(&L, all, 0, N, 0);
	char *err;
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --no-sync " YEAR " %s", ref_db, all), 0);
	free(err);
	char *want = tl_db_contents(ref_db), *got = tl_db_contents(db);
	assert_string_equal(got, want);
	free(want);
	free(got);

	/* a later restart reads nothing again */
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --no-sync " YEAR " %s %s %s.gz %s %s",
	                           db, log, log1, log3, log4, log5), 0);
	free(err);
	got = tl_db_contents(db);
	want = tl_db_contents(ref_db);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(L.buf);
	free(L.starts);
}

/* A cleanup line naming message-id <TAGi@example.org> (line i of a probe). */
static int probe_line(char *line, size_t cap, const char *tag, int i)
{
	return snprintf(line, cap, "Jan  5 10:00:%02d mx1 postfix/cleanup[12]: 4F00%d1234: message-id=<%s%d@example.org>\n",
	                i + 1, i, tag, i);
}

/* Search db for probe line i until it is found (at most 10 s; the child is
 * killed and the test fails otherwise): seconds since t0.  With strict, every
 * search must succeed (the database exists already). */
static double wait_searchable(const char *db, const char *tag, int i, double t0, int strict)
{
	for (;;) {
		char *out = NULL, *err = NULL;
		int rc = tl_mtalog(&out, &err, "--db %s search --msgid %s%d@example.org --csv", db, tag, i);
		if (strict)
			assert_int_equal(rc, 0);
		int found = rc == 0 && strstr(out, tag) != NULL;
		free(out);
		free(err);
		if (found)
			return now_s() - t0;
		if (now_s() - t0 > 10) {
			if (child > 0)
				stop(child, SIGKILL);
			fail_msg("line %d (%s) not searchable after 10 s", i, tag);
		}
		sleep_ms(20);
	}
}

/* A line appended to a followed file is searchable soon after. */
static void searchable_soon_and_sigint(void **state)
{
	(void)state;
	const char *log = path("live.log"), *db = path("live.db");
	const char *first = "Jan  5 10:00:00 mx1 postfix/smtpd[11]: connect from a.example[192.0.2.1]\n";
	tl_write_file(log, first, strlen(first));
	pid_t pid = spawn_follow(db, log);
	wait_lines(db, 1, "the first line");
	double worst = 0;
	for (int i = 0; i < 5; i++) {
		char line[512];
		int n = probe_line(line, sizeof line, "live", i);
		double t0 = now_s();
		tl_append_file(log, line, (size_t)n);
		double lag = wait_searchable(db, "live", i, t0, 1);
		if (lag > worst)
			worst = lag;
	}
	print_message("worst lag from append to search: %.3f s\n", worst);
	int st = stop(pid, SIGINT);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(lines_committed(db), 6);
}

/* `tail -F log | mtalog ingest -`: the lines of a pipe that goes quiet are
 * committed (searchable) without waiting for more input or its end, and
 * SIGINT stops the ingest while the pipe is open and silent. */
static void stdin_pipe_goes_quiet(void **state)
{
	(void)state;
	const char *db = path("pipe.db");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		const char *bin = getenv("MTALOG_BIN");
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(bin ? bin : "build/mtalog", "mtalog", "--db", db, "ingest", "--no-sync", "--year", "2025", "-",
		      (char *)NULL);
		_exit(127);
	}
	child = pid;
	close(fds[0]);
	for (int i = 0; i < 3; i++) {
		char line[512];
		int n = probe_line(line, sizeof line, "pipe", i);
		double t0 = now_s();
		assert_int_equal(write(fds[1], line, (size_t)n), n);
		print_message("line %d searchable after %.3f s\n", i, wait_searchable(db, "pipe", i, t0, 0));
	}
	sleep_ms(100);
	int st = stop(pid, SIGINT);
	close(fds[1]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(lines_committed(db), 3);
}

/* The offset of the checkpoint of the one input of db; -1 when none. */
static long long input_offset(const char *db)
{
	char *out = NULL, *err = NULL;
	long long off = -1;
	if (tl_mtalog(&out, &err, "--db %s stats --json", db) == 0) {
		json_error_t je;
		json_t *s = json_loads(out, 0, &je);
		json_t *in = s ? json_object_get(s, "inputs") : NULL;
		if (json_array_size(in) == 1)
			off = (long long)json_integer_value(json_object_get(json_array_get(in, 0), "offset"));
		json_decref(s);
	}
	free(out);
	free(err);
	return off;
}

/* Wait (at most 30 s) until the checkpoint is at byte want. */
static void wait_offset(const char *db, long long want, const char *when)
{
	double t0 = now_s();
	long long got = -1;
	while (now_s() - t0 < 30) {
		if ((got = input_offset(db)) == want)
			return;
		sleep_ms(50);
	}
	if (child > 0)
		stop(child, SIGKILL);
	fail_msg("%s: checkpoint at byte %lld, expected %lld", when, got, want);
}

/* A follower with its stderr into errfile. */
static pid_t spawn_follow_err(const char *db, const char *log, const char *errfile)
{
	pid_t pid = fork();
	if (pid == 0) {
		const char *bin = getenv("MTALOG_BIN");
		if (!freopen(errfile, "w", stderr))
			_exit(127);
		execl(bin ? bin : "build/mtalog", "mtalog", "--db", db, "ingest", "--follow", "--no-sync", "--year",
		      "2025", log, (char *)NULL);
		_exit(127);
	}
	child = pid;
	return pid;
}

static size_t count_str(const char *s, const char *sub)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
		n++;
	return n;
}

/* A followed log cut in place below what was read, its first line
 * unchanged (truncate -s, a copytruncate that kept a prefix), at a line's
 * end and then in the middle of a line: what is left is not read again
 * (stderr says the file shrank), and the lines written after each cut are
 * read once. */
static void truncated_in_place_while_followed(void **state)
{
	(void)state;
	log_t L;
	const char *src = path("cut-source.log");
	tl_gen_log(src, 2000);
	load(&L, src);
	size_t N = L.nlines, half = N / 2;
	const char *log = path("cut.log"), *db = path("cut.db"), *errf = path("cut.err");
	put(&L, log, 0, N, 0);
	pid_t pid = spawn_follow_err(db, log, errf);
	wait_lines(db, (long)N, "the whole log");

	size_t na, nb;
	char *a = tl_new_messages(500, 4, &na), *b = tl_new_messages(600, 3, &nb);
	size_t la = tl_count_lines(a), lb = tl_count_lines(b);
	/* at a line's end */
	assert_int_equal(truncate(log, (off_t)L.starts[half]), 0);
	wait_offset(db, (long long)L.starts[half], "cut at a line's end");
	tl_append_file(log, a, na);
	wait_lines(db, (long)(N + la), "the lines written after the cut");
	/* in the middle of a line (the first written after the first cut) */
	off_t cut = (off_t)L.starts[half] + 30;
	assert_int_equal(truncate(log, cut), 0);
	wait_offset(db, (long long)cut, "cut in the middle of a line");
	tl_append_file(log, b, nb);
	wait_lines(db, (long)(N + la + lb), "the lines written after the second cut");
	int st = stop(pid, SIGTERM);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	char *err = tl_read_file(errf, NULL);
	assert_non_null(err);
	if (count_str(err, "shrank below its checkpoint") != 2)
		fail_msg("two shrinks expected on stderr: %s", err);
	char want[300];
	snprintf(want, sizeof want, "%s: shrank below its checkpoint: %zu bytes now, checkpoint at byte %zu", log,
	         L.starts[half], L.n);
	assert_non_null(strstr(err, want));
	free(err);

	/* the same lines in one ingest */
	const char *all = path("cut-all.log"), *ref_db = path("cut-ref.db");
	put(&L, all, 0, N, 0);
	tl_append_file(all, a, na);
	tl_append_file(all, b, nb);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --no-sync " YEAR " %s", ref_db, all), 0);
	free(err);
	char *want_db = tl_db_contents(ref_db);
	tl_expect_db(db, want_db, "a followed log cut in place and written on");
	free(want_db);
	free(a);
	free(b);
	free(L.buf);
	free(L.starts);
}

static int teardown(void **state)
{
	(void)state;
	if (child > 0)
		stop(child, SIGKILL);
	return tl_dir_teardown(state);
}

/* A follower waits without holding the write transaction: a reindex and a
 * reindex --reparse beside it finish, and it goes on after them. */
static void writers_beside_a_follower(void **state)
{
	(void)state;
	log_t L;
	load(&L, "tests/data/statuses.log");
	size_t N = L.nlines, half = N / 2;
	const char *log = path("beside.log"), *db = path("beside.db");
	put(&L, log, 0, half, 0);
	pid_t pid = spawn_follow(db, log);
	wait_lines(db, (long)half, "first half");
	char *err;
	for (int i = 0; i < 2; i++) {
		pid_t r = tl_spawn_mtalog("--db", db, "reindex", "--quiet", "--no-sync", i ? "--reparse" : NULL,
		                          (char *)NULL);
		int st = 0;
		double t0 = now_s();
		while (waitpid(r, &st, WNOHANG) == 0) {
			if (now_s() - t0 > 30) {
				kill(r, SIGKILL);
				waitpid(r, &st, 0);
				stop(pid, SIGKILL);
				fail_msg("a reindex beside a follower did not finish in 30 s");
			}
			sleep_ms(20);
		}
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	put(&L, log, half, N, 1);
	wait_lines(db, (long)N, "second half, after the reindexes");
	stop(pid, SIGTERM);
	const char *ref_db = path("beside-ref.db");
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s ingest --quiet --no-sync " YEAR " %s", ref_db, log), 0);
	free(err);
	char *want = tl_db_contents(ref_db);
	tl_expect_db(db, want, "a follower's database after reindexes beside it");
	free(want);
	free(L.buf);
	free(L.starts);
}

/* logrotate with copytruncate and compress: the copy of the lines written
 * after the last read is compressed next to the log while the follower
 * runs; gzip is still writing it when the follower first looks.  The
 * half-written .gz is not read as a damaged file (no error, exit 0), and
 * its lines are read once it is whole, each once.  (Its second half comes
 * after the log's newer lines, so messages across the two are not joined as
 * one ingest of the lines in order would join them.) */
static void compressed_copy_being_written(void **state)
{
	(void)state;
	log_t L;
	const char *src = path("gzw-source.log");
	tl_gen_log(src, 2000);
	load(&L, src);
	size_t N = L.nlines, a = N / 2, b = 3 * N / 4;
	const char *log = path("gzw.log"), *db = path("gzw.db"), *errf = path("gzw.err");
	char copy[4300], gz[4300], whole[4300], cmd[18000];
	snprintf(copy, sizeof copy, "%s.1", log);
	snprintf(gz, sizeof gz, "%s.1.gz", log);
	snprintf(whole, sizeof whole, "%s", path("gzw-whole.gz"));
	put(&L, log, 0, a, 0);
	pid_t pid = spawn_follow_err(db, log, errf);
	wait_lines(db, (long)a, "the first lines");
	/* lines a..b only in the copy; b..N in the log after the truncation */
	kill(pid, SIGSTOP);
	put(&L, log, a, b, 1);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && gzip -c '%s' > '%s' && rm '%s'", log, copy, copy, whole, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(truncate(log, 0), 0);
	put(&L, log, b, N, 1);
	size_t gn;
	char *gzb = tl_read_file(whole, &gn);
	assert_non_null(gzb);
	tl_write_file(gz, gzb, gn / 2);   /* gzip halfway */
	kill(pid, SIGCONT);
	wait_lines(db, (long)(a + N - b), "the lines after the truncation");
	sleep_ms(1500);                    /* scans of the siblings meanwhile */
	tl_write_file(gz, gzb, gn);        /* gzip done */
	free(gzb);
	wait_lines(db, (long)N, "the compressed copy, whole");
	int st = stop(pid, SIGTERM);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	size_t en;
	char *err = tl_read_file(errf, &en);
	assert_non_null(err);
	if (strstr(err, "gzip") || strstr(err, "truncated"))
		fail_msg("the half-written copy was read: %s", err);
	free(err);
	free(L.buf);
	free(L.starts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(rotation_restart_and_copytruncate, NULL),
		cmocka_unit_test(searchable_soon_and_sigint),
		cmocka_unit_test(writers_beside_a_follower),
		cmocka_unit_test(stdin_pipe_goes_quiet),
		cmocka_unit_test(truncated_in_place_while_followed),
		cmocka_unit_test(compressed_copy_being_written),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test_prestate(rotation_restart_and_copytruncate, (void *)"postfix-logsums/mail.log"),
	};
	return TL_RUN("follow", tests, corpus_tests, tl_dir_setup, teardown);
}
