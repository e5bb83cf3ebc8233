/*
 * `mtalog upgrade`: a database of schema 5 (tests/data/schema5.db.gz, which
 * the mtalog of that layout wrote from the three statuses logs of
 * tests/data) is refused by every other command with one line naming
 * `upgrade`; upgraded, it holds exactly what a fresh ingest of the same logs
 * makes (every message, every index entry, the counters); an upgrade killed
 * at any point leaves either the old database whole or the new one whole.
 */
#include "testlib.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "index/upgrade.h"

#define LOGS "tests/data/statuses.log tests/data/exim-statuses.log tests/data/sendmail-statuses.log"

/* The schema-5 database, unpacked to path. */
static void unpack(const char *path)
{
	tl_gunzip("tests/data/schema5.db.gz", path);
	char lock[4200];
	snprintf(lock, sizeof lock, "%s-lock", path);
	unlink(lock);
}

static char *fresh(void)
{
	const char *db = tl_path(tl_dir, "fresh.db");
	unlink(db);
	char *err;
	int rc = tl_mtalog(NULL, &err, "--db %s ingest --quiet --no-sync --year 2025 --local-domains example.com %s",
	                   db, LOGS);
	if (rc)
		fail_msg("fresh ingest: %s", err);
	free(err);
	return tl_db_contents(db);
}

/* 1 when the database is still of schema 5: refused, with the command named. */
static int still_old(const char *db)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, "--db %s search --limit 1", db);
	int old = rc != 0;
	if (old) {
		assert_int_equal(rc, 2);
		assert_non_null(strstr(err, "schema 5"));
		assert_non_null(strstr(err, "upgrade"));
		assert_true(strchr(err, '\n') == err + strlen(err) - 1);  /* one line */
	}
	free(out);
	free(err);
	return old;
}

static void refused_then_upgraded(void **state)
{
	(void)state;
	const char *db = tl_path(tl_dir, "old.db");
	unpack(db);
	assert_true(still_old(db));
	/* read-only commands and writers alike */
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet %s", db, LOGS), 2);
	assert_non_null(strstr(err, "upgrade"));
	free(out);
	free(err);
	/* and compact, which leaves the file as it was */
	size_t n0, n1;
	char *before = tl_read_file(db, &n0);
	assert_non_null(before);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s compact", db), 2);
	assert_non_null(strstr(err, "schema 5"));
	assert_non_null(strstr(err, "upgrade"));
	free(out);
	free(err);
	char *after = tl_read_file(db, &n1);
	assert_non_null(after);
	assert_true(n0 == n1 && !memcmp(before, after, n0));
	free(before);
	free(after);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s upgrade --no-sync", db), 0);
	assert_non_null(strstr(err, "upgraded"));
	free(out);
	free(err);
	char *want = fresh();
	tl_expect_db(db, want, "after the upgrade");
	/* again: nothing to do */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s upgrade", db), 0);
	assert_non_null(strstr(err, "up to date"));
	free(out);
	free(err);
	/* an ingest of the same logs after it adds nothing: the checkpoints came over */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet --no-sync --year 2025 "
	                           "--local-domains example.com %s", db, LOGS), 0);
	free(out);
	free(err);
	tl_expect_db(db, want, "after ingesting the same logs again");
	free(want);
}

/* A full disk (a file size limit at the old file's size) stops the upgrade
 * at once, naming the database and the full disk, without runs started
 * again on a larger map; the old database is whole, and the next upgrade
 * completes. */
static void full_disk_stops_at_once(void **state)
{
	(void)state;
	const char *db = tl_path(tl_dir, "full.db");
	unpack(db);
	ml_store_t *s;
	char err[1024];
	assert_int_equal(ml_store_open(&s, db, ML_STORE_UPGRADE, err, sizeof err), 0);
	ml_reindex_progress_t p;
	memset(&p, 0, sizeof p);
	err[0] = '\0';
	tl_fsize_limit(tl_file_size(db));
	int rc = ml_upgrade_run(s, NULL, NULL, &p, err, sizeof err);
	tl_fsize_unlimit();
	ml_store_close(s);
	if (rc != ML_ENOSPC || p.restarts != 0)
		fail_msg("upgrade on a full disk: %s (%d), %u restarts: %s", ml_strerror(rc), rc, p.restarts, err);
	assert_non_null(strstr(err, db));
	assert_non_null(strstr(err, "the disk is full"));
	assert_true(still_old(db));
	char *out;
	char *e2;
	assert_int_equal(tl_mtalog(&out, &e2, "--db %s upgrade --quiet --no-sync", db), 0);
	free(out);
	free(e2);
	char *want = fresh();
	tl_expect_db(db, want, "after an upgrade on a full disk, then one with room");
	free(want);
}

static void killed_upgrade_leaves_one_whole(void **state)
{
	(void)state;
	const char *db = tl_path(tl_dir, "kill.db");
	char *want = fresh();
	const int delays_us[] = { 500, 2000, 5000, 10000, 20000, 40000, 80000 };
	int killed_old = 0, done_new = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(delays_us); i++) {
		unpack(db);
		pid_t pid = tl_spawn_mtalog("--db", db, "upgrade", "--quiet", (char *)NULL);
		struct timespec ts = { 0, (long)delays_us[i] * 1000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		if (still_old(db)) {
			killed_old++;
			char *out, *err;
			assert_int_equal(tl_mtalog(&out, &err, "--db %s upgrade --quiet --no-sync", db), 0);
			free(out);
			free(err);
		} else {
			done_new++;
		}
		tl_expect_db(db, want, "after an upgrade killed (and run again if it had not ended)");
	}
	print_message("killed before the end %d times, after it %d\n", killed_old, done_new);
	assert_true(killed_old > 0);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_then_upgraded),
		cmocka_unit_test(full_disk_stops_at_once),
		cmocka_unit_test(killed_upgrade_leaves_one_whole),
	};
	return TL_RUN_DEFAULT("upgrade", tests, tl_dir_setup, tl_dir_teardown);
}
