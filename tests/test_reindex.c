/*
 * `mtalog reindex` and `reindex --reparse`: the database after either is
 * the database a fresh ingest of the same logs makes (every message, every
 * index entry, the counters), with a new string table (and after --reparse
 * a new dictionary for the raw lines, which reindex keeps); a stored message whose
 * fields an older parser got wrong is put right by --reparse from its raw
 * lines; searches running beside a reindex always see a whole index; a
 * reindex killed at any point leaves the database as it was.  The corpus
 * tier runs the same with a real log.
 */
#include "testlib.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "index/query.h"
#include "index/store.h"
#include "index/writer.h"
#include "tools/ingest.h"
#include "tools/reparse.h"

#define INPUTS "tests/data/statuses.log tests/data/exim-statuses.log tests/data/sendmail-statuses.log"

#define dir tl_dir

#define path(name) tl_path(dir, (name))

static void mtalog_ok(const char *what, const char *fmt, const char *db, const char *more)
{
	char *err;
	int rc = tl_mtalog(NULL, &err, fmt, db, more);
	if (rc != 0)
		fail_msg("%s: exit %d: %s", what, rc, err);
	free(err);
}

static long stat_num(const char *db, const char *key)
{
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	long v = (long)json_integer_value(json_object_get(s, key));
	json_decref(s);
	free(out);
	free(err);
	return v;
}

/* The logs of ingest_all: Postfix (a log made by bench/gen, mail through
 * content filters), Exim and Sendmail; in the corpus tier (state: a corpus
 * file) a real Postfix log with amavis in place of the first two. */
static const char *all_logs(void *state)
{
	static char logs[8600];
	if (state) {
		snprintf(logs, sizeof logs, "%s %s", INPUTS, tl_corpus((const char *)state));
	} else {
		const char *gen = path("gen.log");
		if (access(gen, F_OK) != 0)
			tl_gen_log(gen, 500);
		snprintf(logs, sizeof logs, "%s tests/data/filters.log %s", INPUTS, gen);
	}
	return logs;
}

/* Those logs, in small batches so that messages span commits, into one
 * database. */
static void ingest_all(const char *db, void *state)
{
	unlink(db);
	mtalog_ok("ingest", "--db %s ingest --quiet --no-sync --batch-lines 300 --year 2025 "
	          "--local-domains example.com %s", db, all_logs(state));
}

static void same_as_fresh_ingest(void **state)
{
	const char *db = path("r.db");
	ingest_all(db, *state);
	char *ref = tl_db_contents(db);
	long dict0 = stat_num(db, "dictionary");
	assert_true(stat_num(db, "messages") > 100);
	/* batches of 300 lines hold fewer messages than a dictionary needs: the
	 * stored ones count too */
	assert_true(dict0 >= 1);

	mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after reindex");
	/* the rows anew, with a new string table; the raw lines kept as they were */
	long dict1 = stat_num(db, "dictionary");
	assert_int_equal(dict1, dict0);
	assert_true(stat_num(db, "string_table") >= 2);

	/* in batches of 37 messages, the postings written past 700 of them
	 * (each time in the middle of a day) or kept to the commit: the same */
	setenv("MTALOG_REINDEX_BATCH", "37", 1);
	setenv("MTALOG_REINDEX_DEFER", "700", 1);
	mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after reindex in small batches, postings written past 700");
	setenv("MTALOG_REINDEX_DEFER", "100000000", 1);
	mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after reindex in small batches, postings written at the commit");
	unsetenv("MTALOG_REINDEX_DEFER");
	mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after reindex in small batches, postings written past the default");
	unsetenv("MTALOG_REINDEX_BATCH");

	mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after reindex --reparse");
	assert_true(stat_num(db, "dictionary") > dict1);

	/* an ingest after them goes on as before: re-reading adds nothing */
	mtalog_ok("ingest again", "--db %s ingest --quiet --no-sync --year 2025 "
	          "--local-domains example.com %s", db, all_logs(*state));
	tl_expect_db(db, ref, "after ingesting the same logs again");
	free(ref);
}

/* Messages in flight when a log is cut in two, each half ingested in its
 * run, with nothing, a reindex or a reparse between the runs: the second
 * run takes them up again (their lines counted in the table open, or, as a
 * reindex leaves it, not counted) and stores every line of theirs, as one
 * ingest of the whole log does. */
static void in_flight_across_runs(void **state)
{
	(void)state;
	const char *gen = path("flight-gen.log");
	tl_gen_log(gen, 1500);
	size_t n;
	char *all = tl_read_file(gen, &n);
	/* the cut: after the line that ends the first half */
	size_t cut = n / 2;
	while (cut < n && all[cut - 1] != '\n')
		cut++;
	const char *log = path("flight.log");
	const char *ref_db = path("flight-ref.db");
	tl_write_file(log, all, n);
	unlink(ref_db);
	mtalog_ok("ingest", "--db %s ingest --quiet --no-sync --batch-lines 700 %s", ref_db, log);
	char *ref = tl_db_contents(ref_db);
	const char *between[] = { NULL, "reindex --quiet --no-sync", "reindex --reparse --quiet --no-sync" };
	for (int i = 0; i < 3; i++) {
		const char *db = path("flight.db");
		unlink(db);
		tl_write_file(log, all, cut);
		mtalog_ok("ingest the first half", "--db %s ingest --quiet --no-sync --batch-lines 700 %s", db, log);
		/* some are in flight at the cut */
		assert_true(stat_num(db, "messages_in_flight") > 10);
		if (between[i])
			mtalog_ok(between[i], "--db %s %s", db, between[i]);
		tl_write_file(log, all, n);
		mtalog_ok("ingest the rest", "--db %s ingest --quiet --no-sync --batch-lines 700 %s", db, log);
		char what[128];
		snprintf(what, sizeof what, "the log in two runs, %s between them", between[i] ? between[i] : "nothing");
		tl_expect_db(db, ref, what);
	}
	free(ref);
	free(all);
}

/* Logs ingested with --format (an unusual syslog tag) are reparsed with it. */
static void reparse_with_format(void **state)
{
	(void)state;
	size_t len;
	char *text = tl_read_file("tests/data/sendmail-statuses.log", &len);
	for (char *p = text; (p = strstr(p, " sm-mta[")); p++)
		memcpy(p, " mysmta[", 8);
	const char *log = path("renamed.log"), *db = path("renamed.db");
	tl_write_file(log, text, len);
	free(text);
	mtalog_ok("ingest", "--db %s ingest --quiet --no-sync --year 2026 --format sendmail %s", db, log);
	char *ref = tl_db_contents(db);
	assert_true(stat_num(db, "messages") > 3);
	mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync %s", db, "--format sendmail");
	tl_expect_db(db, ref, "reparsed with the format of the ingest");
	/* by default: the format the ingest was given */
	mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "reparsed with the format kept by the ingest");
	/* auto does not know the tag: without --format the lines are dropped */
	mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync %s", db, "--format auto");
	assert_int_equal(stat_num(db, "messages"), 0);
	free(ref);
}

/*
 * A record as an older parser might have stored it: the right raw lines (with
 * their numbers), wrong fields (no sender, no subject, the delivery taken for a
 * bounce).  --reparse rebuilds it from the lines.
 */
static void reparse_puts_history_right(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"2025-03-03T10:00:01+00:00 mx1 postfix/smtpd[1001]: 7F1A2B3C4D: client=mail.sender.example[192.0.2.10]",
		"2025-03-03T10:00:01+00:00 mx1 postfix/cleanup[1002]: 7F1A2B3C4D: message-id=<history@sender.example>",
		"2025-03-03T10:00:01+00:00 mx1 postfix/cleanup[1002]: 7F1A2B3C4D: info: header Subject: Minutes of the board from mail.sender.example[192.0.2.10]; from=<alice@sender.example> to=<bob@example.com> proto=ESMTP helo=<mail.sender.example>",
		"2025-03-03T10:00:01+00:00 mx1 postfix/qmgr[1003]: 7F1A2B3C4D: from=<alice@sender.example>, size=2048, nrcpt=1 (queue active)",
		"2025-03-03T10:00:02+00:00 mx1 postfix/lmtp[1004]: 7F1A2B3C4D: to=<bob@example.com>, relay=mailstore.example.com[private/dovecot-lmtp], delay=0.35, delays=0.1/0.01/0.04/0.2, dsn=2.0.0, status=sent (250 2.0.0 <bob@example.com> Saved)",
		"2025-03-03T10:00:02+00:00 mx1 postfix/qmgr[1003]: 7F1A2B3C4D: removed",
	};
	const char *db = path("old.db");
	unlink(db);
	char err[512];
	ml_store_t *s;
	assert_int_equal(ml_store_open(&s, db, ML_STORE_CREATE | ML_STORE_NOSYNC, err, sizeof err), 0);
	ml_writer_t *w;
	assert_int_equal(ml_writer_new(&w, s), 0);
	assert_int_equal(ml_writer_begin(w), 0);
	ml_message_t m;
	ml_message_init(&m);
	m.first_us = 1741082401000000LL;   /* 2025-03-03T10:00:01Z */
	m.last_us = m.first_us + 1000000;
	m.flags = ML_MSG_CLOSED;
	assert_int_equal(ml_message_set(&m, &m.host, "mx1", 3), 0);
	assert_int_equal(ml_message_set(&m, &m.queue_id, "7F1A2B3C4D", 10), 0);
	int r = ml_message_add_rcpt(&m);
	assert_true(r >= 0);
	assert_int_equal(ml_message_set(&m, &m.rcpts[r].to, "bob@example.com", 15), 0);
	m.rcpts[r].status = ML_ST_BOUNCED;
	m.rcpts[r].time_us = m.last_us;
	for (size_t i = 0; i < ML_ARRAY_LEN(lines); i++)
		assert_int_equal(ml_message_add_line(&m, lines[i], strlen(lines[i]), 1000 + i * 3), 0);
	assert_int_equal(ml_writer_put(w, &m), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	ml_message_free(&m);
	ml_writer_free(w);
	ml_store_close(s);

	char *out, *e2;
	assert_int_equal(tl_mtalog(&out, &e2, "--db %s search --queue-id 7F1A2B3C4D --csv", db), 0);
	assert_non_null(strstr(out, "bounced"));
	assert_null(strstr(out, "Minutes of the board"));
	free(out);
	free(e2);

	mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync%s", db, "");
	assert_int_equal(tl_mtalog(&out, &e2, "--db %s search --queue-id 7F1A2B3C4D --csv", db), 0);
	assert_null(strstr(out, "bounced"));
	assert_non_null(strstr(out, "delivered"));
	assert_non_null(strstr(out, "alice@sender.example"));
	assert_non_null(strstr(out, "Minutes of the board"));
	free(out);
	free(e2);
	assert_int_equal(tl_mtalog(&out, &e2, "--db %s search --from alice@sender.example --subject board --csv", db), 0);
	assert_int_equal(tl_count_lines(out), 2);   /* the header and the row */
	free(out);
	free(e2);
	assert_int_equal(stat_num(db, "messages"), 1);
}

/* Rows of one search through the library, or -1 on an error. */
static int rows_cb(void *ctx, const ml_message_t *m, int row)
{
	(void)m;
	(void)row;
	(*(long *)ctx)++;
	return 0;
}

static long search_rows(ml_store_t *s, const char *name, const char *value)
{
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	if (ml_query_set(&q, name, value, err, sizeof err))
		return -1;
	ml_search_t *se;
	if (ml_search_new(&se, s)) {
		ml_query_free(&q);
		return -1;
	}
	long n = 0;
	ml_search_info_t info;
	int rc = ml_search_run(se, &q, rows_cb, &n, &info, err, sizeof err);
	ml_search_free(se);
	ml_query_free(&q);
	return rc ? -1 : n;
}

/* A reader process searches again and again while reindexes run. */
static void readers_see_a_whole_index(void **state)
{
	const char *db = path("busy.db");
	ingest_all(db, *state);
	char err[512];
	ml_store_t *s;
	assert_int_equal(ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err), 0);
	long want_dom = search_rows(s, "to", "example.com");
	long want_st = search_rows(s, "status", "delivered");
	ml_store_close(s);
	assert_true(want_dom > 0 && want_st > 0);

	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		ml_store_t *rs;
		long bad = 0, runs = 0;
		if (ml_store_open(&rs, db, ML_STORE_RDONLY, err, sizeof err))
			_exit(2);
		/* until the parent says stop */
		for (;;) {
			struct timespec ts = { 0, 1000000 };
			if (search_rows(rs, "to", "example.com") != want_dom ||
			    search_rows(rs, "status", "delivered") != want_st)
				bad++;
			runs++;
			if (access(path("stop"), F_OK) == 0)
				break;
			nanosleep(&ts, NULL);
		}
		ml_store_close(rs);
		dprintf(pfd[1], "%ld %ld\n", runs, bad);
		_exit(0);
	}
	close(pfd[1]);
	for (int i = 0; i < 3; i++) {
		mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
		mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync%s", db, "");
	}
	tl_write_file(path("stop"), "", 0);
	char buf[64] = "";
	ssize_t k = read(pfd[0], buf, sizeof buf - 1);
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	assert_true(k > 0);
	long runs = 0, bad = -1;
	assert_int_equal(sscanf(buf, "%ld %ld", &runs, &bad), 2);
	print_message("%ld searches beside 6 reindexes, %ld wrong\n", runs, bad);
	assert_true(runs > 0);
	assert_int_equal(bad, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* One search object kept across more reindexes than a codec holds
 * dictionaries (each reindex adds one): it keeps answering. */
static void long_lived_reader_across_reindexes(void **state)
{
	const char *db = path("long.db");
	ingest_all(db, *state);
	char err[512];
	ml_store_t *s;
	assert_int_equal(ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err), 0);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, s), 0);
	ml_query_t q;
	memset(&q, 0, sizeof q);
	assert_int_equal(ml_query_set(&q, "to", "example.com", err, sizeof err), 0);
	long want = -1;
	for (int i = 0; i < 20; i++) {
		long n = 0;
		ml_search_info_t info;
		assert_int_equal(ml_search_run(se, &q, rows_cb, &n, &info, err, sizeof err), 0);
		if (want < 0)
			want = n;
		assert_true(n > 0);
		assert_int_equal(n, want);
		mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	}
	assert_true(stat_num(db, "string_table") >= 20);
	ml_query_free(&q);
	ml_search_free(se);
	ml_store_close(s);
}

/* A full disk (here a file size limit at the file's size: no page may be
 * added) stops reindex and reindex --reparse at once, with the database
 * named and "the disk is full", without runs started again on a larger map
 * (which would fail as late); the database is as it was, and the next run
 * without the limit completes. */
static void full_disk_stops_at_once(void **state)
{
	(void)state;
	const char *db = path("full.db");
	ingest_all(db, NULL);
	/* no free pages: a rebuild must add pages to the file */
	mtalog_ok("compact", "--db %s compact --quiet%s", db, "");
	char *ref = tl_db_contents(db);
	for (int reparse = 0; reparse < 2; reparse++) {
		ml_store_t *s;
		char err[1024];
		assert_int_equal(ml_store_open(&s, db, 0, err, sizeof err), 0);
		ml_reindex_progress_t p;
		memset(&p, 0, sizeof p);
		err[0] = '\0';
		tl_fsize_limit(tl_file_size(db));
		int rc = reparse ? ml_ingest_reparse(s, ML_FORMAT_AUTO, NULL, NULL, &p, err, sizeof err)
		                 : ml_reindex_run(s, NULL, NULL, &p, err, sizeof err);
		tl_fsize_unlimit();
		ml_store_close(s);
		if (rc != ML_ENOSPC || p.restarts != 0)
			fail_msg("%s on a full disk: %s (%d), %u restarts: %s", reparse ? "reparse" : "reindex",
			         ml_strerror(rc), rc, p.restarts, err);
		assert_non_null(strstr(err, db));
		assert_non_null(strstr(err, "the disk is full"));
		assert_non_null(strstr(err, "the database is as it was"));
		tl_expect_db(db, ref, reparse ? "after a reparse on a full disk" : "after a reindex on a full disk");
	}
	mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after a reindex with room");
	mtalog_ok("reparse", "--db %s reindex --reparse --quiet --no-sync%s", db, "");
	free(ref);
}

static void killed_reindex_changes_nothing(void **state)
{
	const char *db = path("kill.db");
	ingest_all(db, *state);
	char *ref = tl_db_contents(db);
	const int delays_ms[] = { 2, 10, 30, 60, 120 };
	int killed = 0;
	for (size_t i = 0; i < 2 * ML_ARRAY_LEN(delays_ms); i++) {
		int reparse = i % 2;
		pid_t pid = tl_spawn_mtalog("--db", db, "reindex", "--quiet", reparse ? "--reparse" : "--quiet",
		                            (char *)NULL);
		struct timespec ts = { 0, (long)delays_ms[i / 2] * 1000000L };
		nanosleep(&ts, NULL);
		int st;
		if (kill(pid, SIGKILL) == 0)
			killed++;
		waitpid(pid, &st, 0);
		tl_expect_db(db, ref, reparse ? "after a reparse killed" : "after a reindex killed");
	}
	assert_true(killed > 0);
	mtalog_ok("reindex", "--db %s reindex --quiet --no-sync%s", db, "");
	tl_expect_db(db, ref, "after a whole reindex");
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(same_as_fresh_ingest, NULL),
		cmocka_unit_test(reparse_puts_history_right),
		cmocka_unit_test(in_flight_across_runs),
		cmocka_unit_test(reparse_with_format),
		cmocka_unit_test_prestate(readers_see_a_whole_index, NULL),
		cmocka_unit_test_prestate(long_lived_reader_across_reindexes, NULL),
		cmocka_unit_test_prestate(killed_reindex_changes_nothing, NULL),
		cmocka_unit_test(full_disk_stops_at_once),
	};
	/* the same with a real log */
	void *real = (void *)"postfix-logsums/mail.log";
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test_prestate(same_as_fresh_ingest, real),
		cmocka_unit_test_prestate(readers_see_a_whole_index, real),
		cmocka_unit_test_prestate(long_lived_reader_across_reindexes, real),
		cmocka_unit_test_prestate(killed_reindex_changes_nothing, real),
	};
	return TL_RUN("reindex", tests, corpus_tests, tl_dir_setup, tl_dir_teardown);
}
