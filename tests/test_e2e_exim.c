/*
 * End-to-end tests of the mtalog command on the other MTAs and filters:
 * Exim's main log, Sendmail, and rspamd's own log file.  Exim:
 * tests/data/exim-statuses.log (Exim's own format: one message per status,
 * an alias expansion, a duplicate settled at Completed, a bounce naming its
 * original with R=, frozen by ACL then removed, frozen then unfrozen and
 * delivered, rejects with and without a message ID, a blackhole).  Sendmail:
 * tests/data/sendmail-statuses.log.  rspamd: tests/data/rspamd.log.  The
 * corpus tier ingests the Exim files of the corpus through `stats`, and
 * Sendmail, amavis and rspamd logs of the corpus.
 */
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[4096];
static char db[4200];

static json_t *rows(const char *args)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, "--db %s search --json %s", db, args);
	if (rc != 0)
		fail_msg("search %s: exit %d: %s", args, rc, err);
	json_t *arr = json_array();
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		if (!j)
			fail_msg("bad JSON line: %s", line);
		json_array_append_new(arr, j);
	}
	free(out);
	free(err);
	return arr;
}

static size_t count(const char *args)
{
	json_t *r = rows(args);
	size_t n = json_array_size(r);
	json_decref(r);
	return n;
}

static const char *sget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* A count of `stats --json` of db: key's number, or its "total". */
static long stat_of(const char *key)
{
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	json_t *v = json_object_get(s, key);
	long n = (long)json_integer_value(json_is_object(v) ? json_object_get(v, "total") : v);
	json_decref(s);
	free(out);
	free(err);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s", tl_tmpdir());
	snprintf(db, sizeof db, "%s/exim.db", dir);
	char *err;
	int rc = tl_mtalog(NULL, &err, "--db %s ingest --local-domains example.com tests/data/exim-statuses.log", db);
	if (rc != 0)
		fail_msg("ingest failed: %s", err);
	free(err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_rmdir(dir);
	return 0;
}

static void every_status(void **state)
{
	(void)state;
	struct { const char *st; size_t n; } want[] = {
		{ "delivered", 6 }, { "delayed", 1 }, { "bounced", 1 }, { "expired", 1 },
		{ "queued", 1 }, { "quarantined", 1 }, { "blocked", 3 }, { "released", 1 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(want); i++) {
		char args[64];
		snprintf(args, sizeof args, "--status %s", want[i].st);
		size_t n = count(args);
		if (n != want[i].n)
			fail_msg("--status %s: %zu rows, want %zu", want[i].st, n, want[i].n);
	}
	/* retry timeout exceeded: expired, not bounced */
	json_t *r = rows("--status expired");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "judy@faraway.example");
	json_decref(r);
	/* frozen by ACL then removed by root: stays quarantined */
	r = rows("--status quarantined");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "kate@example.com");
	json_decref(r);
	/* frozen, unfrozen, delivered: delivered, in the released group */
	r = rows("--status released");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "leo@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "delivered");
	json_decref(r);
	/* rejected after DATA: one blocked row with no recipient */
	r = rows("--queue-id 1vABCD-000009-AA");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(sget(json_array_get(r, 0), "to"), "");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "blocked");
	assert_string_equal(sget(json_array_get(r, 0), "from"), "win@spam.example");
	json_decref(r);
	/* blackhole: blocked, not delivered */
	r = rows("--to trap@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "blocked");
	json_decref(r);
	/* a rejected RCPT without a message: a row of its own */
	r = rows("--to mike@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "queue_id"), "");
	assert_string_equal(sget(json_array_get(r, 0), "client_ip"), "203.0.113.99");
	assert_string_equal(sget(json_array_get(r, 0), "reason"), "relay not permitted");
	json_decref(r);
}

static void aliases_and_fields(void **state)
{
	(void)state;
	/* "=> dave <sales@>" and "-> erin <sales@>": the listed recipient becomes
	 * two rows with orig_to; dup@ had no line of its own: settled delivered */
	assert_int_equal(count("--to sales@example.com"), 2);
	json_t *r = rows("--to dup@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "delivered");
	json_decref(r);
	r = rows("--queue-id 1vABCD-000001-AA");
	json_t *row = json_array_get(r, 0);
	assert_string_equal(sget(row, "subject"), "Quarterly report äpfel");
	assert_string_equal(sget(row, "message_id"), "e1@sender.example");
	assert_string_equal(sget(row, "client_ip"), "192.0.2.10");
	assert_string_equal(sget(row, "time"), "2026-03-03T10:00:00Z");
	assert_string_equal(sget(row, "direction"), "inbound");
	assert_int_equal(json_integer_value(json_object_get(row, "size")), 2048);
	json_decref(r);
	/* T="..." with \" and octal Latin-1 */
	assert_int_equal(count("--subject '\"sales lead\"'"), 3);
	r = rows("--subject urgent --limit 1");
	assert_string_equal(sget(json_array_get(r, 0), "subject"), "Sales lead \"urgent\"");
	json_decref(r);
	assert_int_equal(count("--subject réunion"), 1);
	assert_int_equal(count("--from @example.com --direction out"), 4);
	assert_int_equal(count("--msgid e3@example.com"), 1);
	assert_int_equal(count("--ip 198.51.100.21"), 1);
	assert_int_equal(count("--from '<>'"), 1);
	r = rows("--status delayed");
	assert_string_equal(sget(json_array_get(r, 0), "reason"), "Connection timed out");
	json_decref(r);
}

static void bounce_links_original(void **state)
{
	(void)state;
	json_t *r = rows("--queue-id 1vABCD-000004-AA");
	const char *id = sget(json_array_get(r, 0), "id");
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", db, id), 0);
	json_error_t je;
	json_t *m = json_loads(out, 0, &je);
	assert_non_null(m);
	assert_string_equal(sget(m, "bounce_queue_id"), "1vABCD-000005-AA");
	assert_int_equal(json_array_size(json_object_get(m, "raw")), 3);
	json_decref(m);
	free(out);
	free(err);
	json_decref(r);
	r = rows("--queue-id 1vABCD-000005-AA");
	id = sget(json_array_get(r, 0), "id");
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", db, id), 0);
	m = json_loads(out, 0, &je);
	assert_string_equal(sget(m, "original_queue_id"), "1vABCD-000004-AA");
	json_decref(m);
	free(out);
	free(err);
	json_decref(r);
}

/* Every line of the Exim files of the corpus is an event or a known skip,
 * but for what Exim's own test suite writes with logwrite (its configurations'
 * lines, not Exim's messages; counted under "exim: unrecognised") and one
 * fail2ban line that carries no timestamp. */
static void corpus_stats(void **state)
{
	(void)state;
	char cdb[4300];
	snprintf(cdb, sizeof cdb, "%s/corpus.db", dir);
	char *out, *err;
	static const char *const files[] = { "exim/test-log-4.96.2.log", "fail2ban/exim.log",
		"fail2ban/exim-spam.log", "crowdsec-hub/exim-logs/exim-logs.log",
		"crowdsec-hub/exim-syslog-logs/exim-logs.log" };
	char args[8192] = "";
	for (size_t i = 0; i < ML_ARRAY_LEN(files); i++) {
		size_t l = strlen(args);
		snprintf(args + l, sizeof args - l, " %s", tl_corpus(files[i]));
	}
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet %s", cdb, args), 0);
	free(out);
	free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", cdb), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	json_t *by = json_object_get(json_object_get(s, "lines_not_understood"), "by_reason");
	const char *k;
	json_t *v;
	json_object_foreach(by, k, v) {
		if (strcmp(k, "exim: unrecognised") && strcmp(k, "no timestamp"))
			fail_msg("not understood: %s (%s)", k, json_string_value(json_object_get(v, "sample")));
	}
	assert_true(json_integer_value(json_object_get(json_object_get(by, "no timestamp"), "count")) <= 1);
	/* (about 1600 passes through Exim, of which some hundred are the next
	 * hop of another: Exim's tests deliver to an Exim on loopback, and a
	 * chain counts once) */
	assert_true(json_integer_value(json_object_get(s, "messages")) > 1400);
	json_decref(s);
	free(out);
	free(err);
}

/* Sendmail, every status (tests/data/sendmail-statuses.log): one to= line for
 * two recipients, a deferral, a bounce and its DSN, an expiry notice, a
 * message with no delivery yet, a milter quarantine, a check_rcpt reject. */
static void sendmail_statuses(void **state)
{
	(void)state;
	char sdb[sizeof db];
	snprintf(sdb, sizeof sdb, "%.*s/sendmail.db", (int)(sizeof db - 14), dir);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet --year 2026 --local-domains example.com "
	                           "tests/data/sendmail-statuses.log", sdb), 0);
	free(out);
	free(err);
	char *save_db = strdup(db);
	snprintf(db, sizeof db, "%s", sdb);
	struct { const char *st; size_t n; } want[] = {
		{ "delivered", 3 }, { "delayed", 1 }, { "bounced", 1 }, { "expired", 1 },
		{ "queued", 2 }, { "quarantined", 1 }, { "blocked", 1 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(want); i++) {
		char args[64];
		snprintf(args, sizeof args, "--status %s", want[i].st);
		size_t n = count(args);
		if (n != want[i].n)
			fail_msg("sendmail --status %s: %zu rows, want %zu", want[i].st, n, want[i].n);
	}
	assert_int_equal(count("--queue-id s23A00aa001001"), 2);
	assert_int_equal(count("--msgid s2@example.com --status delayed"), 1);
	assert_int_equal(count("--ip 198.51.100.21"), 1);
	assert_int_equal(count("--from @example.com --direction out"), 3);
	json_t *r = rows("--status expired");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "henry@faraway.example");
	json_decref(r);
	r = rows("--status bounced");
	assert_string_equal(sget(json_array_get(r, 0), "dsn"), "5.1.1");
	const char *id = sget(json_array_get(r, 0), "id");
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", db, id), 0);
	json_error_t je;
	json_t *m = json_loads(out, 0, &je);
	assert_string_equal(sget(m, "bounce_queue_id"), "s23A02cd001022");
	json_decref(m);
	free(out);
	free(err);
	json_decref(r);
	r = rows("--to judy@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "blocked");
	assert_non_null(strstr(sget(json_array_get(r, 0), "reason"), "Relaying denied"));
	json_decref(r);
	/* --format sendmail: the same log under another syslog tag */
	size_t len;
	char *text = tl_read_file("tests/data/sendmail-statuses.log", &len);
	for (char *p = text; (p = strstr(p, " sm-mta[")); p++)
		memcpy(p, " mysmta[", 8);
	char renamed[sizeof db], rdb[sizeof db];
	snprintf(renamed, sizeof renamed, "%.*s/renamed.log", (int)(sizeof db - 14), dir);
	snprintf(rdb, sizeof rdb, "%.*s/renamed.db", (int)(sizeof db - 14), dir);
	tl_write_file(renamed, text, len);
	free(text);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet --year 2026 --format sendmail %s", rdb, renamed), 0);
	free(out);
	free(err);
	snprintf(db, sizeof db, "%s", rdb);
	assert_int_equal(count("--status delivered"), 3);
	assert_int_equal(count("--status expired"), 1);
	snprintf(db, sizeof db, "%s", save_db);
	free(save_db);
}

/* rspamd's own log file (no syslog header): every line understood, each
 * verdict keyed by its queue ID. */
static void rspamd_file_log(void **state)
{
	(void)state;
	char rdb[sizeof db];
	snprintf(rdb, sizeof rdb, "%.*s/rspamd.db", (int)(sizeof db - 12), dir);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet tests/data/rspamd.log", rdb), 0);
	free(out);
	free(err);
	char *save_db = strdup(db);
	snprintf(db, sizeof db, "%s", rdb);
	json_t *r = rows("--status blocked");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(sget(json_array_get(r, 0), "to"), "lee@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "queue_id"), "3F8A9B0C1D");
	assert_string_equal(sget(json_array_get(r, 0), "message_id"), "r2@bulk.example");
	assert_non_null(strstr(sget(json_array_get(r, 0), "reason"), "RBL_SPAMHAUS_ZEN"));
	json_decref(r);
	assert_int_equal(count("--queue-id 2E7F8A9B0C"), 1);
	assert_int_equal(stat_of("lines_parsed"), 3);
	assert_int_equal(stat_of("lines_not_understood"), 0);
	snprintf(db, sizeof db, "%s", save_db);
	free(save_db);
}

/* Sendmail (one to= line for several recipients, a deferral), amavis
 * (a quarantined virus) and rspamd's own log file, from the corpus. */
static void sendmail_and_filters(void **state)
{
	(void)state;
	char odb[sizeof db];
	snprintf(odb, sizeof odb, "%.*s/other.db", (int)(sizeof db - 10), dir);
	char *out, *err;
	/* tl_corpus returns one static buffer: one path at a time */
	static const char *const files[] = { "fluent-plugin-sendmail/data.log", "fail2ban/sendmail-reject.log",
		"crowdsec-hub/amavis-logs/amavis.log", "rspamd/logstats_test.data.log" };
	char args[8192] = "";
	for (size_t i = 0; i < ML_ARRAY_LEN(files); i++) {
		size_t l = strlen(args);
		snprintf(args + l, sizeof args - l, " %s", tl_corpus(files[i]));
	}
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet --year 2016 %s", odb, args), 0);
	free(out);
	free(err);
	char *save_db = strdup(db);
	snprintf(db, sizeof db, "%s", odb);
	/* to=<sent1@example.com>,<sent2@example.com> ... stat=Sent: both delivered */
	json_t *r = rows("--queue-id u31FFPtp032300 --status delivered --to @example.com");
	size_t n = json_array_size(r);
	int sent1 = 0, sent2 = 0;
	for (size_t i = 0; i < n; i++) {
		sent1 |= !strcmp(sget(json_array_get(r, i), "to"), "sent1@example.com");
		sent2 |= !strcmp(sget(json_array_get(r, i), "to"), "sent2@example.com");
	}
	assert_true(sent1 && sent2);
	json_decref(r);
	r = rows("--queue-id u31FFPtp032300 --status delayed");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(sget(json_array_get(r, 0), "to"), "deferred2@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "dsn"), "4.3.5");
	json_decref(r);
	/* ruleset=check_rcpt ... reject=550 5.1.1 ... User unknown: blocked */
	assert_true(count("--status blocked --to @example.com") >= 1);
	/* amavis: Blocked INFECTED {DiscardedInbound,Quarantined} */
	r = rows("--status quarantined --to someon2@something2.com");
	assert_int_equal(json_array_size(r), 1);
	assert_non_null(strstr(sget(json_array_get(r, 0), "reason"), "Blocked INFECTED"));
	json_decref(r);
	/* rspamd's file log: every line understood */
	assert_int_equal(stat_of("lines_not_understood"), 0);
	snprintf(db, sizeof db, "%s", save_db);
	free(save_db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_status),
		cmocka_unit_test(aliases_and_fields),
		cmocka_unit_test(bounce_links_original),
		cmocka_unit_test(sendmail_statuses),
		cmocka_unit_test(rspamd_file_log),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(corpus_stats),
		cmocka_unit_test(sendmail_and_filters),
	};
	return TL_RUN("e2e-exim", tests, corpus_tests, setup, teardown);
}
