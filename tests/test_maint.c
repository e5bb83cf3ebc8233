/*
 * Maintenance tests of the mtalog command: prune (exactly the old closed
 * messages go, with their postings and counts; messages in flight stay
 * whatever their age; a SIGKILL at any point leaves a consistent database
 * that a second prune finishes) and compact (same contents, no larger; a
 * SIGKILL leaves the database whole; a leftover temporary file is ignored,
 * then removed; refused while another process has the database open).
 * What is not an mtalog database (another program's LMDB file, a newer
 * schema, an empty file, random bytes, a directory, a database cut short)
 * is refused by every command, compact too, with one line, and left byte
 * for byte as it was.
 *
 * "The same database contents" is `mtalog dump --postings` plus `stats
 * --json` without the file size, as in test_ingest.c.
 */
#include "testlib.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "index/store.h"

#define STATUSES "tests/data/statuses.log"
#define OPTS "--year 2026 --local-domains example.com --no-sync"
#define SAMPLE "sample/mail.log"
#define SAMPLE_OPTS "--year 2025 --no-sync --quiet"
#define SAMPLE_CUT "2025-11-01T12:00:00Z"
#define SAMPLE_CUT_S 1761998400ull   /* the same, in seconds */

/* Messages of a later day than statuses.log: one closed, one in flight. */
static const char later_log[] =
	"Mar 10 09:00:00 mx1 postfix/smtpd[3001]: AA11BB22CC: client=mail.sender.example[192.0.2.10]\n"
	"Mar 10 09:00:00 mx1 postfix/cleanup[3002]: AA11BB22CC: message-id=<n1@sender.example>\n"
	"Mar 10 09:00:00 mx1 postfix/cleanup[3002]: AA11BB22CC: info: header Subject: Quarterly figures from mail.sender.example[192.0.2.10]; from=<alice@sender.example> to=<bob@example.com> proto=ESMTP helo=<mail.sender.example>\n"
	"Mar 10 09:00:00 mx1 postfix/qmgr[3003]: AA11BB22CC: from=<alice@sender.example>, size=1000, nrcpt=1 (queue active)\n"
	"Mar 10 09:00:01 mx1 postfix/lmtp[3004]: AA11BB22CC: to=<bob@example.com>, relay=mailstore.example.com[private/dovecot-lmtp], delay=0.3, delays=0.1/0.01/0.04/0.2, dsn=2.0.0, status=sent (250 2.0.0 <bob@example.com> Saved)\n"
	"Mar 10 09:00:01 mx1 postfix/qmgr[3003]: AA11BB22CC: removed\n"
	"Mar 10 09:05:00 mx2 postfix/smtpd[3011]: DD33EE44FF: client=laptop.example.com[198.51.100.20], sasl_method=PLAIN, sasl_username=carol@example.com\n"
	"Mar 10 09:05:00 mx2 postfix/cleanup[3012]: DD33EE44FF: message-id=<n2@example.com>\n"
	"Mar 10 09:05:00 mx2 postfix/qmgr[3013]: DD33EE44FF: from=<carol@example.com>, size=2000, nrcpt=1 (queue active)\n"
	"Mar 10 09:05:30 mx2 postfix/smtp[3014]: DD33EE44FF: to=<zed@slow.example>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.slow.example[203.0.113.5]:25: Connection timed out)\n";

/* Later still: the two messages of statuses.log still in flight end. */
static const char closing_log[] =
	"Mar 12 10:00:00 mx1 postfix/lmtp[1004]: 7A8B9C0D1E: to=<henry@example.com>, relay=mailstore.example.com[private/dovecot-lmtp], delay=0.2, delays=0/0.01/0.09/0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)\n"
	"Mar 12 10:00:00 mx1 postfix/qmgr[1003]: 7A8B9C0D1E: removed\n"
	"Mar 12 10:01:00 mx2 postfix/smtp[2004]: 2B3C4D5E6F: to=<dave@slow.example>, relay=mx.slow.example[203.0.113.5]:25, delay=777600, delays=777599/0.01/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
	"Mar 12 10:01:00 mx2 postfix/qmgr[2003]: 2B3C4D5E6F: removed\n";

#define dir tl_dir

#define path(name) tl_path(dir, (name))

static void remove_db(const char *db)
{
	char p[4300];
	unlink(db);
	snprintf(p, sizeof p, "%s-lock", db);
	unlink(p);
	snprintf(p, sizeof p, "%s.compact-tmp", db);
	unlink(p);
}

static void copy_file(const char *from, const char *to)
{
	size_t n;
	char *b = tl_read_file(from, &n);
	assert_non_null(b);
	remove_db(to);
	tl_write_file(to, b, n);
	free(b);
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static uint64_t file_size(const char *p)
{
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	return (uint64_t)st.st_size;
}

static void run_ok(const char *what, int rc, char *err)
{
	if (rc != 0)
		fail_msg("%s: exit %d: %s", what, rc, err ? err : "");
	free(err);
}

/* Run mtalog; fail the test unless it exits 0.  stdout to *out when out != NULL. */
#define MTALOG_OK(what, out, ...) do { \
		char *err_; \
		int rc_ = tl_mtalog(out, &err_, __VA_ARGS__); \
		run_ok(what, rc_, err_); \
	} while (0)

static void ingest(const char *db, const char *opts, const char *log)
{
	MTALOG_OK("ingest", NULL, "--db %s ingest %s %s", db, opts, log);
}

static void prune(const char *db, const char *args)
{
	MTALOG_OK("prune", NULL, "--db %s prune --no-sync --quiet %s", db, args);
}

static char *stats_json(const char *db)
{
	char *out;
	MTALOG_OK("stats", &out, "--db %s stats --json", db);
	return out;
}

/* A dump split into its message lines and its posting lines. */
typedef struct {
	char *buf;
	char **line;
	size_t n;
	size_t nmsg;        /* line[0..nmsg) messages, the rest postings */
} dump_t;

static void dump_load(const char *db, dump_t *d)
{
	MTALOG_OK("dump", &d->buf, "--db %s dump --postings", db);
	d->n = tl_lines(d->buf, strlen(d->buf), &d->line);
	d->nmsg = 0;
	while (d->nmsg < d->n && d->line[d->nmsg][0] == '{')
		d->nmsg++;
}

static void dump_free(dump_t *d)
{
	free(d->buf);
	free(d->line);
}

static json_t *msg_json(const char *line)
{
	json_error_t je;
	json_t *j = json_loads(line, 0, &je);
	if (!j)
		fail_msg("dump line is not JSON: %s", line);
	return j;
}

static uint64_t msg_docid(const char *line)
{
	json_t *j = msg_json(line);
	uint64_t id = strtoull(json_string_value(json_object_get(j, "id")), NULL, 10);
	json_decref(j);
	return id;
}

static int msg_in_flight(const char *line)
{
	json_t *j = msg_json(line);
	int r = strstr(json_string_value(json_object_get(j, "flags")), "in flight") != NULL;
	json_decref(j);
	return r;
}

static uint64_t posting_docid(const char *line)
{
	const char *tab = strrchr(line, '\t');
	assert_non_null(tab);
	return strtoull(tab + 1, NULL, 10);
}

static int kept(uint64_t docid, int in_flight, uint64_t cut_s)
{
	return (docid >> 20) >= cut_s || in_flight;
}

/*
 * after must be exactly before without the closed messages first seen
 * before cut_s, and without their postings.  Returns how many went.
 */
static size_t check_pruned(const dump_t *before, const dump_t *after, uint64_t cut_s)
{
	size_t k = 0, gone = 0;
	uint64_t *keep = calloc(before->nmsg + 1, sizeof *keep);
	size_t nkeep = 0;
	for (size_t i = 0; i < before->nmsg; i++) {
		uint64_t id = msg_docid(before->line[i]);
		if (!kept(id, msg_in_flight(before->line[i]), cut_s)) {
			gone++;
			continue;
		}
		keep[nkeep++] = id;
		if (k >= after->nmsg || strcmp(after->line[k], before->line[i]) != 0)
			fail_msg("message %llu should have been kept as it was", (unsigned long long)id);
		k++;
	}
	if (k != after->nmsg)
		fail_msg("%zu messages left, %zu expected", after->nmsg, k);
	k = after->nmsg;
	for (size_t i = before->nmsg; i < before->n; i++) {
		uint64_t id = posting_docid(before->line[i]);
		int keep_it = 0;
		for (size_t j = 0; j < nkeep && !keep_it; j++)
			keep_it = keep[j] == id;
		if (!keep_it)
			continue;
		if (k >= after->n || strcmp(after->line[k], before->line[i]) != 0)
			fail_msg("posting '%s' should have been kept", before->line[i]);
		k++;
	}
	if (k != after->n)
		fail_msg("posting '%s' should have gone", after->line[k]);
	free(keep);
	return gone;
}

/* stats must count what dump shows: messages (a continuation counts with
 * its first hop), rows by status (not those handed on), in flight, postings. */
static void check_stats_agree(const char *db)
{
	dump_t d;
	dump_load(db, &d);
	json_int_t messages = 0, in_flight = 0, rows[16] = { 0 };
	const char *names[] = { "delivered", "delayed", "bounced", "expired", "queued",
	                        "quarantined", "blocked" };
	for (size_t i = 0; i < d.nmsg; i++) {
		json_t *j = msg_json(d.line[i]);
		const char *prev = json_string_value(json_object_get(j, "previous_queue_id"));
		if (!prev || !*prev)
			messages++;
		const char *qid = json_string_value(json_object_get(j, "queue_id"));
		if (strstr(json_string_value(json_object_get(j, "flags")), "in flight") && qid && *qid)
			in_flight++;
		size_t ri;
		json_t *r;
		json_array_foreach(json_object_get(j, "recipients"), ri, r) {
			if (json_object_get(r, "handed_on_to"))
				continue;
			const char *st = json_string_value(json_object_get(r, "status"));
			for (size_t s = 0; s < ML_ARRAY_LEN(names); s++)
				if (!strcmp(st, names[s]))
					rows[s]++;
		}
		json_decref(j);
	}
	char *sj = stats_json(db);
	json_error_t je;
	json_t *s = json_loads(sj, 0, &je);
	assert_non_null(s);
	assert_int_equal(json_integer_value(json_object_get(s, "messages")), messages);
	assert_int_equal(json_integer_value(json_object_get(s, "messages_in_flight")), in_flight);
	assert_int_equal(json_integer_value(json_object_get(s, "posting_keys")), (json_int_t)(d.n - d.nmsg));
	json_t *rs = json_object_get(s, "rows_by_status");
	for (size_t i = 0; i < ML_ARRAY_LEN(names); i++)
		if (json_integer_value(json_object_get(rs, names[i])) != rows[i])
			fail_msg("stats: %s rows %lld, dump shows %lld", names[i],
			         (long long)json_integer_value(json_object_get(rs, names[i])), (long long)rows[i]);
	json_decref(s);
	free(sj);
	dump_free(&d);
}

/* Rows a search finds (JSON Lines). */
static size_t search_rows(const char *db, const char *filters)
{
	char *out;
	MTALOG_OK(filters, &out, "--db %s search --json %s", db, filters);
	size_t n = tl_count_lines(out);
	free(out);
	return n;
}

/* statuses.log, then the later day. */
static void two_days(const char *db)
{
	const char *later = path("later.log");
	tl_write_file(later, later_log, sizeof later_log - 1);
	remove_db(db);
	ingest(db, OPTS, STATUSES);
	ingest(db, OPTS, later);
}

static void prune_removes_exactly_the_old(void **state)
{
	(void)state;
	const char *db = path("two.db");
	two_days(db);
	check_stats_agree(db);
	assert_int_equal(search_rows(db, "--from alice@sender.example"), 2);
	assert_int_equal(search_rows(db, "--to bob@example.com"), 3);
	assert_int_equal(search_rows(db, "--status bounced"), 1);
	dump_t before, after;
	dump_load(db, &before);

	prune(db, "--older-than 2026-03-05T00:00:00Z");
	dump_load(db, &after);
	/* 12 messages of statuses.log, 3 of them still in flight */
	assert_int_equal(check_pruned(&before, &after, 1772668800ull), 9);
	assert_int_equal(after.nmsg, 5);
	check_stats_agree(db);
	/* the old ones are not found by any index */
	assert_int_equal(search_rows(db, "--from alice@sender.example"), 1);
	assert_int_equal(search_rows(db, "--to bob@example.com"), 1);
	assert_int_equal(search_rows(db, "--status bounced"), 0);
	assert_int_equal(search_rows(db, "--subject watches"), 0);
	assert_int_equal(search_rows(db, "--host mx1 --until 2026-03-05T00:00:00Z"), 1);
	/* those in flight are, whatever their age */
	assert_int_equal(search_rows(db, "--to dave@slow.example"), 1);
	assert_int_equal(search_rows(db, "--from henry@partner.example"), 1);
	assert_int_equal(search_rows(db, "--to zed@slow.example"), 1);

	/* a second prune finds nothing more */
	char *c1 = tl_db_contents(db);
	prune(db, "--older-than 2026-03-05T00:00:00Z");
	char *c2 = tl_db_contents(db);
	assert_string_equal(c1, c2);
	free(c1);
	free(c2);
	dump_free(&before);
	dump_free(&after);
}

static void in_flight_kept_whatever_age(void **state)
{
	(void)state;
	const char *db = path("flight.db");
	two_days(db);
	dump_t before, after;
	dump_load(db, &before);
	/* relative syntax: everything older than a day before now */
	prune(db, "--older-than 1d");
	dump_load(db, &after);
	check_pruned(&before, &after, (uint64_t)time(NULL) - 86400);
	check_stats_agree(db);
	dump_free(&before);
	dump_free(&after);

	/* a date far ahead: only the messages in flight are left */
	prune(db, "--older-than 2100-01-01");
	dump_load(db, &after);
	assert_int_equal(after.nmsg, 4);
	for (size_t i = 0; i < after.nmsg; i++)
		assert_true(msg_in_flight(after.line[i]));
	check_stats_agree(db);
	dump_free(&after);

	/* they still take their later lines: the two old ones end now */
	const char *closing = path("closing.log");
	tl_write_file(closing, closing_log, sizeof closing_log - 1);
	ingest(db, OPTS, closing);
	check_stats_agree(db);
	assert_int_equal(search_rows(db, "--to dave@slow.example --status delivered"), 1);
	assert_int_equal(search_rows(db, "--from henry@partner.example --status delivered"), 1);
	char *err;
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s prune --no-sync --older-than 2100-01-01", db), 0);
	assert_non_null(strstr(err, "pruned 2 messages"));
	free(err);
	dump_load(db, &after);
	assert_int_equal(after.nmsg, 2);   /* a bounce never delivered, and zed's, still deferred */
	dump_free(&after);
	check_stats_agree(db);
	assert_int_equal(search_rows(db, "--to dave@slow.example"), 0);
}

static void prune_arguments(void **state)
{
	(void)state;
	const char *db = path("args.db");
	remove_db(db);
	ingest(db, OPTS, STATUSES);
	char *ref = tl_db_contents(db), *err;
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s prune", db), 1);
	assert_non_null(strstr(err, "--older-than"));
	free(err);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s prune --older-than yesterday", db), 1);
	assert_non_null(strstr(err, "yesterday"));
	free(err);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s prune --older-than 30d extra", db), 1);
	free(err);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s prune --older-than 30d", path("none.db")), 2);
	assert_non_null(strstr(err, "none.db"));
	assert_false(exists(path("none.db")));
	free(err);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s compact extra", db), 1);
	free(err);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s compact", path("none.db")), 2);
	free(err);
	/* before every message: nothing goes */
	prune(db, "--older-than 2020-01-01");
	char *got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	free(ref);
}

/* The sample ingested once; each test starts from a copy. */
static const char *sample_db(void)
{
	const char *db = path("sample-base.db");
	if (!exists(db))
		ingest(db, SAMPLE_OPTS, SAMPLE);
	return db;
}

static pid_t spawn(const char *db, const char *cmd, const char *a1, const char *a2, const char *a3)
{
	return tl_spawn_mtalog("--db", db, cmd, "--quiet", a1, a2, a3, (char *)NULL);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static json_int_t messages_of(const char *db)
{
	char *sj = stats_json(db);
	json_error_t je;
	json_t *s = json_loads(sj, 0, &je);
	json_int_t n = json_integer_value(json_object_get(s, "messages"));
	json_decref(s);
	free(sj);
	return n;
}

static void sigkill_during_prune(void **state)
{
	(void)state;
	const char *base = sample_db();
	const char *ref_db = path("prune-ref.db");
	copy_file(base, ref_db);
	dump_t before, after;
	dump_load(base, &before);
	prune(ref_db, "--batch 5 --older-than " SAMPLE_CUT);
	dump_load(ref_db, &after);
	assert_true(check_pruned(&before, &after, SAMPLE_CUT_S) > 500);
	dump_free(&before);
	dump_free(&after);
	check_stats_agree(ref_db);
	char *ref = tl_db_contents(ref_db);
	json_int_t all = messages_of(base), left = messages_of(ref_db);

	const long delays_us[] = { 2000, 5000, 10000, 20000, 40000, 80000 };
	int midway = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(delays_us); i++) {
		const char *db = path("prune-kill.db");
		copy_file(base, db);
		pid_t pid = spawn(db, "prune", "--batch", "5", "--older-than=" SAMPLE_CUT);
		sleep_us(delays_us[i]);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		/* whatever was committed is consistent */
		check_stats_agree(db);
		json_int_t n = messages_of(db);
		midway += n < all && n > left;
		/* and a second prune ends where an uninterrupted one does */
		prune(db, "--older-than " SAMPLE_CUT);
		char *got = tl_db_contents(db);
		if (strcmp(got, ref) != 0)
			fail_msg("database after SIGKILL at %ld us and a second prune differs", delays_us[i]);
		free(got);
	}
	if (!midway)
		print_message("note: no kill landed in the middle of a prune on this machine\n");
	free(ref);
}

static void compact_keeps_contents(void **state)
{
	(void)state;
	const char *base = sample_db();
	const char *db = path("compact.db"), *plain = path("plain.db");
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.compact-tmp", db);
	copy_file(base, db);
	/* compacting a database with nothing freed changes nothing, grows nothing */
	uint64_t s0 = file_size(db);
	char *c0 = tl_db_contents(db), *err;
	MTALOG_OK("compact", NULL, "--db %s compact --quiet", db);
	assert_true(file_size(db) <= s0);
	char *got = tl_db_contents(db);
	assert_string_equal(got, c0);
	free(got);
	free(c0);

	prune(db, "--older-than " SAMPLE_CUT);
	copy_file(db, plain);
	uint64_t s1 = file_size(db);
	char *c1 = tl_db_contents(db);
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s compact", db), 0);
	assert_non_null(strstr(err, "compacted"));
	free(err);
	uint64_t s2 = file_size(db);
	assert_true(s2 < s1);
	assert_false(exists(tmp));
	got = tl_db_contents(db);
	assert_string_equal(got, c1);
	free(got);
	free(c1);
	check_stats_agree(db);

	/* the compacted database takes new data as the original does */
	const char *later = path("later.log");
	tl_write_file(later, later_log, sizeof later_log - 1);
	ingest(db, OPTS, later);
	ingest(plain, OPTS, later);
	char *a = tl_db_contents(db), *b = tl_db_contents(plain);
	assert_string_equal(a, b);
	free(a);
	free(b);
	print_message("sample: %llu bytes, after prune %llu, after compact %llu\n",
	              (unsigned long long)s0, (unsigned long long)s1, (unsigned long long)s2);

	/* prune --compact does both */
	copy_file(base, plain);
	MTALOG_OK("prune --compact", NULL, "--db %s prune --quiet --compact --older-than "
	                                    SAMPLE_CUT, plain);
	assert_true(file_size(plain) < s0);
}

static void sigkill_during_compact(void **state)
{
	(void)state;
	const char *base = sample_db();
	const char *pruned = path("pruned.db");
	copy_file(base, pruned);
	prune(pruned, "--older-than " SAMPLE_CUT);
	char *ref = tl_db_contents(pruned);
	const long delays_us[] = { 0, 500, 1000, 2000, 3000, 5000, 8000, 15000 };
	for (size_t i = 0; i < ML_ARRAY_LEN(delays_us); i++) {
		const char *db = path("compact-kill.db");
		copy_file(pruned, db);
		pid_t pid = spawn(db, "compact", NULL, NULL, NULL);
		sleep_us(delays_us[i]);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		/* the database is whole, old or new, leftover or not */
		char *got = tl_db_contents(db);
		if (strcmp(got, ref) != 0)
			fail_msg("database after SIGKILL of compact at %ld us differs", delays_us[i]);
		free(got);
		MTALOG_OK("compact", NULL, "--db %s compact --quiet", db);
		char tmp[4300];
		snprintf(tmp, sizeof tmp, "%s.compact-tmp", db);
		assert_false(exists(tmp));
		got = tl_db_contents(db);
		assert_string_equal(got, ref);
		free(got);
	}
	free(ref);
}

static void leftover_temp_file(void **state)
{
	(void)state;
	const char *db = path("left.db");
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.compact-tmp", db);
	remove_db(db);
	ingest(db, OPTS, STATUSES);
	char *ref = tl_db_contents(db);
	tl_write_file(tmp, "half a copy", 11);
	/* ignored by everything else */
	char *got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	ingest(db, OPTS, STATUSES);
	/* removed by the next compact */
	MTALOG_OK("compact", NULL, "--db %s compact --quiet", db);
	assert_false(exists(tmp));
	got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	free(ref);
}

static void compact_refused_while_open(void **state)
{
	(void)state;
	const char *db = path("busy.db");
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.compact-tmp", db);
	remove_db(db);
	ingest(db, OPTS, STATUSES);
	uint64_t size = file_size(db);
	/* this process holds the database open, as serve would */
	ml_store_t *s;
	char e[512];
	assert_int_equal(ml_store_open(&s, db, ML_STORE_RDONLY, e, sizeof e), 0);
	char *err;
	assert_int_equal(tl_mtalog(NULL, &err, "--db %s compact", db), 2);
	assert_non_null(strstr(err, "in use by another process"));
	free(err);
	assert_false(exists(tmp));
	assert_int_equal(file_size(db), size);
	/* prune goes on beside a reader */
	prune(db, "--older-than 2100-01-01");
	ml_store_close(s);
	char *ref = tl_db_contents(db);
	MTALOG_OK("compact", NULL, "--db %s compact --quiet", db);
	char *got = tl_db_contents(db);
	assert_string_equal(got, ref);
	free(got);
	free(ref);
}

/* Long work shows a progress line on a terminal, and none otherwise. */
static void progress_on_a_terminal(void **state)
{
	(void)state;
	const char *db = path("tty.db");
	remove_db(db);
	ingest(db, "--quiet", "sample/mail.log");
	static const char *const cmds[][2] = {
		{ "reindex", "reindex: " }, { "reindex --reparse", "reparse: " },
		{ "prune --older-than 2000-01-01", "prune: " }, { "compact", "compact: " },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cmds); i++) {
		char *out;
		MTALOG_OK(cmds[i][0], NULL, "--db %s %s", db, cmds[i][0]);
		char args[4400];
		snprintf(args, sizeof args, "--db %s %s", db, cmds[i][0]);
		char *tty = tl_mtalog_on_tty(args);
		if (!tty)
			skip();
		if (!strchr(tty, '\r') || !strstr(tty, cmds[i][1]))
			fail_msg("%s on a terminal: no progress line in: %s", cmds[i][0], tty);
		free(tty);
		/* not a terminal: no progress line */
		char *err;
		assert_int_equal(tl_mtalog(&out, &err, "--db %s %s", db, cmds[i][0]), 0);
		if (strchr(err, '\r'))
			fail_msg("%s not on a terminal printed a progress line: %s", cmds[i][0], err);
		free(out);
		free(err);
	}
}

/* ---- files that are not mtalog databases ---- */

/* Put key = value into table `table` (NULL: the main table) of the LMDB
 * environment at db, made when missing, as another program would. */
static void lmdb_put(const char *db, const char *table, const void *key, size_t klen, const void *val,
                     size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, db, MDB_NOSUBDIR, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, table, table ? MDB_CREATE : 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Every command that opens a database refuses db: exit status 2, one line
 * that names it and says want (and want2 when not NULL), and its bytes as
 * they were.  A directory stays an empty directory. */
static void refused_untouched(const char *db, const char *want, const char *want2)
{
	static const char *const cmds[] = {
		"ingest --no-sync --quiet " STATUSES, "search", "stats", "dump", "compact",
		"prune --no-sync --quiet --older-than 2000-01-01", "reindex --no-sync --quiet",
		"upgrade --no-sync --quiet",
	};
	struct stat st;
	assert_int_equal(stat(db, &st), 0);
	int isdir = S_ISDIR(st.st_mode);
	size_t n0 = 0, n1;
	char *before = isdir ? NULL : tl_read_file(db, &n0);
	assert_true(isdir || before);
	for (size_t i = 0; i < ML_ARRAY_LEN(cmds); i++) {
		char *out, *err;
		int rc = tl_mtalog(&out, &err, "--db %s %s", db, cmds[i]);
		if (rc != 2 || !strstr(err, db) || !strstr(err, want) || (want2 && !strstr(err, want2)) ||
		    tl_count_lines(err) != 1)
			fail_msg("%s on %s: exit %d, want 2 and one line naming it that says '%s' (and '%s'): %s",
			         cmds[i], db, rc, want, want2 ? want2 : "", err);
		free(out);
		free(err);
		if (isdir) {
			char sub[4400];
			snprintf(sub, sizeof sub, "rmdir %s && mkdir %s", db, db);  /* fails unless empty */
			assert_int_equal(stat(db, &st), 0);
			assert_true(S_ISDIR(st.st_mode));
			assert_int_equal(system(sub), 0);
			continue;
		}
		char *after = tl_read_file(db, &n1);
		assert_non_null(after);
		if (n1 != n0 || memcmp(before, after, n0))
			fail_msg("%s changed %s (%zu bytes -> %zu)", cmds[i], db, n0, n1);
		free(after);
	}
	free(before);
}

/* Another program's LMDB file is refused by every command, never written:
 * keys in the main table, a table of its own, a meta table without the
 * schema record, a table of its own beside an mtalog database's. */
static void foreign_lmdb_refused(void **state)
{
	(void)state;
	const char *db = path("foreign.db");

	remove_db(db);
	lmdb_put(db, NULL, "hello", 5, "world", 5);
	refused_untouched(db, "not an mtalog database", "'hello'");

	remove_db(db);
	lmdb_put(db, "foo", "hello", 5, "world", 5);
	refused_untouched(db, "not an mtalog database", "'foo'");

	/* a key that is not text, shown without its bytes */
	remove_db(db);
	lmdb_put(db, NULL, "\x01\n\xff", 3, "", 0);
	refused_untouched(db, "not an mtalog database", "'\?\?\?'");

	remove_db(db);
	lmdb_put(db, "meta", "version", 7, "1", 1);
	refused_untouched(db, "not an mtalog database", "schema record");

	remove_db(db);
	ingest(db, OPTS, STATUSES);
	lmdb_put(db, "foo", "hello", 5, "world", 5);
	refused_untouched(db, "not an mtalog database", "'foo'");
	remove_db(db);
}

/* A schema this mtalog does not know (a newer one) is refused by compact
 * as by every other command. */
static void newer_schema_refused(void **state)
{
	(void)state;
	const char *db = path("newer.db");
	remove_db(db);
	ingest(db, OPTS, STATUSES);
	uint32_t ver = ML_SCHEMA_VERSION + 1;
	lmdb_put(db, "meta", ML_META_SCHEMA, strlen(ML_META_SCHEMA), &ver, 4);
	char want[64];
	snprintf(want, sizeof want, "schema version %u", ML_SCHEMA_VERSION + 1);
	refused_untouched(db, want, NULL);
	remove_db(db);
}

/* An empty file, a file of random bytes and a directory: a clear line, the
 * file as it was; the empty file gets no lock file beside it. */
static void not_lmdb_refused(void **state)
{
	(void)state;
	const char *db = path("notlmdb.db");
	char lock[4300];
	snprintf(lock, sizeof lock, "%s-lock", db);

	remove_db(db);
	tl_write_file(db, "", 0);
	refused_untouched(db, "empty file (0 bytes), not an mtalog database", NULL);
	assert_false(exists(lock));

	remove_db(db);
	char junk[3 * 4096 + 17];
	srand(7);
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(rand() & 0xff);
	tl_write_file(db, junk, sizeof junk);
	refused_untouched(db, "not an mtalog database", "not an LMDB file");

	/* an mtalog database cut short: after its first page (no second
	 * meta page: not LMDB), or after its meta pages (a page past the end
	 * would be a SIGBUS) */
	long page = sysconf(_SC_PAGESIZE);
	remove_db(db);
	ingest(db, OPTS, STATUSES);
	assert_true(file_size(db) > 3 * (uint64_t)page);
	assert_int_equal(truncate(db, 3 * page), 0);
	refused_untouched(db, "damaged: cut short", NULL);
	assert_int_equal(truncate(db, page), 0);
	refused_untouched(db, "not an mtalog database", "not an LMDB file");

	remove_db(db);
	const char *sub = path("notlmdb.d");
	assert_int_equal(mkdir(sub, 0755), 0);
	refused_untouched(sub, "a directory", "not a regular file");
	rmdir(sub);
	remove_db(db);
}

/* An LMDB environment nobody wrote to is a new database, as a missing file
 * is: ingest makes its tables. */
static void empty_environment_is_new(void **state)
{
	(void)state;
	const char *db = path("fresh.db");
	remove_db(db);
	MDB_env *env;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, db, MDB_NOSUBDIR, 0644), 0);
	mdb_env_close(env);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search", db), 2);
	assert_non_null(strstr(err, "empty database"));
	free(out);
	free(err);
	ingest(db, OPTS, STATUSES);
	const char *ref = path("fresh-ref.db");
	remove_db(ref);
	ingest(ref, OPTS, STATUSES);
	char *want = tl_db_contents(ref);
	tl_expect_db(db, want, "ingested into an empty LMDB environment");
	free(want);
	remove_db(db);
	remove_db(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prune_removes_exactly_the_old),
		cmocka_unit_test(in_flight_kept_whatever_age),
		cmocka_unit_test(prune_arguments),
		cmocka_unit_test(sigkill_during_prune),
		cmocka_unit_test(compact_keeps_contents),
		cmocka_unit_test(sigkill_during_compact),
		cmocka_unit_test(leftover_temp_file),
		cmocka_unit_test(compact_refused_while_open),
		cmocka_unit_test(progress_on_a_terminal),
		cmocka_unit_test(foreign_lmdb_refused),
		cmocka_unit_test(newer_schema_refused),
		cmocka_unit_test(not_lmdb_refused),
		cmocka_unit_test(empty_environment_is_new),
	};
	return TL_RUN_DEFAULT("maint", tests, tl_dir_setup, tl_dir_teardown);
}
