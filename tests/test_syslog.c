/* Unit tests for engine/syslog: line headers (traditional, RFC 3339,
 * RFC 5424, PRI-prefixed), year inference, time zones, output and
 * user-supplied times; and an RFC 5424 log through the mtalog command.  The
 * corpus tier adds every Postfix log of the corpus, header by header. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#include "engine/syslog.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int setup_utc(void **state)
{
	(void)state;
	set_tz("UTC");
	return 0;
}

/* Parse a C string; fails the test on error. */
static ml_syslog_t parse_ok(ml_syslog_ctx_t *ctx, const char *line)
{
	ml_syslog_t h;
	const char *why = NULL;
	int rc = ml_syslog_parse(ctx, line, strlen(line), &h, &why);
	if (rc != 0)
		fail_msg("parse failed (%s): %s", why ? why : "?", line);
	return h;
}

static const char *parse_why(ml_syslog_ctx_t *ctx, const char *line)
{
	ml_syslog_t h;
	const char *why = NULL;
	assert_int_equal(ml_syslog_parse(ctx, line, strlen(line), &h, &why), ML_EPARSE);
	assert_non_null(why);
	return why;
}

static void assert_slice(ml_slice_t s, const char *want)
{
	if (!ml_slice_eq(s, want))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.n, s.p, want);
}

static void rfc3339(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);

	ml_syslog_t h = parse_ok(&ctx, "2024-01-02T03:04:05.123456+01:00 mx1 postfix/smtpd[123]: connect from x[1.2.3.4]");
	assert_true(h.time_us == 1704161045LL * 1000000 + 123456);  /* 02:04:05Z */
	assert_slice(h.host, "mx1");
	assert_slice(h.program, "postfix/smtpd");
	assert_slice(h.pid, "123");
	assert_slice(h.msg, "connect from x[1.2.3.4]");

	h = parse_ok(&ctx, "2024-01-02T03:04:05Z mx1 postfix/qmgr[9]: ABC: removed");
	assert_true(h.time_us == 1704164645LL * 1000000);
	h = parse_ok(&ctx, "2024-01-02T03:04:05.5Z mx1 p[1]: m");
	assert_true(h.time_us == 1704164645LL * 1000000 + 500000);
	/* nanoseconds: digits past the microsecond are dropped */
	h = parse_ok(&ctx, "2024-01-02T03:04:05.123456789-00:30 mx1 p[1]: m");
	assert_true(h.time_us == (1704164645LL + 1800) * 1000000 + 123456);
	h = parse_ok(&ctx, "2024-01-02T03:04:05+0100 mx1 p[1]: m");
	assert_true(h.time_us == 1704161045LL * 1000000);
	/* an offset that crosses a day and a year */
	h = parse_ok(&ctx, "2025-01-01T00:30:00+01:00 mx1 p[1]: m");
	char buf[32];
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2024-12-31T23:30:00Z");
	/* a leap day */
	h = parse_ok(&ctx, "2024-02-29T12:00:00Z mx1 p: m");
	assert_true(h.time_us == 1709208000LL * 1000000);
	/* the corpus's first line (postfix-logsums) */
	h = parse_ok(&ctx, "2023-03-14T00:00:31.185246+01:00 helga postfix/postscreen[3163107]: CONNECT from [185.48.118.128]:36942 to [188.34.187.246]:25");
	assert_true(h.time_us == (1678752031LL - 3600) * 1000000 + 185246);
	assert_slice(h.program, "postfix/postscreen");
	/* no zone: local time (UTC here) */
	h = parse_ok(&ctx, "2024-01-02T03:04:05 mx1 p[1]: m");
	assert_true(h.time_us == 1704164645LL * 1000000);
}

static void traditional(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 0, 2024);

	ml_syslog_t h = parse_ok(&ctx, "Jan  2 03:04:05 host prog[42]: hello world");
	assert_true(h.time_us == 1704164645LL * 1000000);
	assert_slice(h.host, "host");
	assert_slice(h.program, "prog");
	assert_slice(h.pid, "42");
	assert_slice(h.msg, "hello world");
	/* Postfix maillog_file: microseconds after the seconds */
	h = parse_ok(&ctx, "Jan  2 03:04:05.123456 host postfix/smtpd[42]: m");
	assert_true(h.time_us == 1704164645LL * 1000000 + 123456);
	/* zero-padded, two-digit and unpadded one-digit days */
	h = parse_ok(&ctx, "Jan 02 03:04:05 host prog[42]: m");
	assert_true(h.time_us == 1704164645LL * 1000000);
	h = parse_ok(&ctx, "Jan 2 03:04:05 host prog[42]: m");
	assert_true(h.time_us == 1704164645LL * 1000000);
	h = parse_ok(&ctx, "Feb 29 12:00:00 host prog[42]: m");
	assert_true(h.time_us == 1709208000LL * 1000000);
	/* the "<facility.level>" text some templates write before the host */
	h = parse_ok(&ctx, "Jan  2 03:04:05 <mail.info>  mx1 postfix/qmgr[7]: m");
	assert_true(h.time_us == 1704164645LL * 1000000);
	assert_slice(h.host, "mx1");
	assert_slice(h.program, "postfix/qmgr");
	assert_slice(h.msg, "m");
	/* every month name, and any case */
	static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	for (int i = 0; i < 12; i++) {
		char line[64];
		snprintf(line, sizeof line, "%s  1 00:00:00 h p: m", mon[i]);
		h = parse_ok(&ctx, line);
		int64_t days = 0;
		static const int dim[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		for (int j = 0; j < i; j++)
			days += dim[j];
		assert_true(h.time_us == (1704067200LL + days * 86400) * 1000000);
	}
	h = parse_ok(&ctx, "JAN  2 03:04:05 host prog: m");
	assert_true(h.time_us == 1704164645LL * 1000000);
}

static void year_inference(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	/* ref_time = 2025-01-03T12:00:00Z (a file's mtime just after New Year) */
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	ml_syslog_t h = parse_ok(&ctx, "Dec 30 10:00:00 h p[1]: m");
	assert_true(h.time_us == 1735552800LL * 1000000);   /* 2024-12-30 */
	h = parse_ok(&ctx, "Jan  2 23:30:00 h p[1]: m");
	assert_true(h.time_us == 1735860600LL * 1000000);   /* 2025-01-02 */
	/* up to one day after ref_time: still this year */
	h = parse_ok(&ctx, "Jan  4 11:59:59 h p[1]: m");
	assert_true(h.time_us == 1735991999LL * 1000000);
	/* more than one day after: last year */
	h = parse_ok(&ctx, "Jan  4 12:00:01 h p[1]: m");
	assert_true(h.time_us == 1704369601LL * 1000000);
	/* ref_time changed after init is noticed */
	ctx.ref_time = 1704164645;   /* 2024-01-02 */
	h = parse_ok(&ctx, "Jan  2 03:04:05 h p[1]: m");
	assert_true(h.time_us == 1704164645LL * 1000000);
	/* Feb 29 in a year that has none */
	ml_syslog_ctx_init(&ctx, 1740787200 + 86400 * 30, 0);  /* 2025-03-31 */
	assert_string_equal(parse_why(&ctx, "Feb 29 12:00:00 h p[1]: m"), "bad timestamp");
}

static void forced_year(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 2020);
	ml_syslog_t h = parse_ok(&ctx, "Dec 30 10:00:00 h p[1]: m");
	assert_true(h.time_us == 1609322400LL * 1000000);   /* 2020-12-30 */
	/* a forced year is not rolled back, however far after ref_time */
	ml_syslog_ctx_init(&ctx, 0, 2024);
	h = parse_ok(&ctx, "Dec 30 10:00:00 h p[1]: m");
	char buf[32];
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2024-12-30T10:00:00Z");
}

static void berlin(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	set_tz("Europe/Berlin");
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 0, 2024);
	char buf[32];
	struct { const char *line, *utc; } cases[] = {
		{ "Jan  2 03:04:05 h p[1]: m", "2024-01-02T02:04:05Z" },   /* CET */
		{ "Jul  5 06:52:01 h p[1]: m", "2024-07-05T04:52:01Z" },   /* CEST */
		/* the spring change, at 02:00 CET, within consecutive lines */
		{ "Mar 31 01:59:59 h p[1]: m", "2024-03-31T00:59:59Z" },
		{ "Mar 31 03:00:00 h p[1]: m", "2024-03-31T01:00:00Z" },
		{ "Mar 31 03:59:59 h p[1]: m", "2024-03-31T01:59:59Z" },
		/* the hour cache must not carry an offset to the next hour */
		{ "Oct 27 01:30:00 h p[1]: m", "2024-10-26T23:30:00Z" },
		{ "Oct 27 04:30:00 h p[1]: m", "2024-10-27T03:30:00Z" },
		/* RFC 3339 with an offset ignores TZ */
		{ "2024-01-02T03:04:05Z h p[1]: m", "2024-01-02T03:04:05Z" },
		/* without a zone it is local */
		{ "2024-01-02T03:04:05 h p[1]: m", "2024-01-02T02:04:05Z" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		ml_syslog_t h = parse_ok(&ctx, cases[i].line);
		assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), cases[i].utc);
	}
	/* Year inference in local time: ref 2024-12-31T23:30Z is already
	 * 2025-01-01 00:30 in Berlin, so the year is 2025 and the limit is
	 * Jan 2 00:30 local. */
	ml_syslog_ctx_init(&ctx, 1735687800, 0);
	ml_syslog_t h = parse_ok(&ctx, "Jan  1 12:00:00 h p[1]: m");
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2025-01-01T11:00:00Z");
	h = parse_ok(&ctx, "Jan  2 00:29:00 h p[1]: m");
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2025-01-01T23:29:00Z");
	h = parse_ok(&ctx, "Jan  2 00:31:00 h p[1]: m");
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2024-01-01T23:31:00Z");
	h = parse_ok(&ctx, "Dec 31 23:00:00 h p[1]: m");
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2024-12-31T22:00:00Z");
	int64_t us;
	assert_int_equal(ml_time_parse_user("2024-07-05", 0, &us), 0);
	assert_string_equal(ml_time_format(us, buf, sizeof buf), "2024-07-04T22:00:00Z");
	set_tz("UTC");
}

static void programs(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 2024);
	struct { const char *line, *host, *prog, *pid, *msg; } cases[] = {
		{ "Jan  2 03:04:05 mx postfix/submission/smtpd[7]: connect from a",
		  "mx", "postfix/submission/smtpd", "7", "connect from a" },
		{ "Jan  2 03:04:05 mx postfix-out/smtp[12345]: ABC: to=<a@b>",
		  "mx", "postfix-out/smtp", "12345", "ABC: to=<a@b>" },
		{ "Jan  2 03:04:05 mx amavis[4051607]: (4051607-09) Passed CLEAN",
		  "mx", "amavis", "4051607", "(4051607-09) Passed CLEAN" },
		{ "Jan  2 03:04:05 mx opendkim[99]: ABC: DKIM-Signature field added",
		  "mx", "opendkim", "99", "ABC: DKIM-Signature field added" },
		/* no pid */
		{ "Jan  2 03:04:05 mx prog: msg text", "mx", "prog", "", "msg text" },
		{ "Jan 30 00:10:11 imac27 madeup: Gobbely Gook", "imac27", "madeup", "", "Gobbely Gook" },
		/* no space after the colon, an empty message */
		{ "Jan  2 03:04:05 mx prog[1]:msg", "mx", "prog", "1", "msg" },
		{ "Jan  2 03:04:05 mx prog[1]:", "mx", "prog", "1", "" },
		{ "Jan  2 03:04:05 mx prog[1]: ", "mx", "prog", "1", "" },
		/* "prog[pid] msg" without the colon, as in youyo-postfix-log-parser */
		{ "2021-02-06T09:58:59.184925+01:00 mail.server.com postfix/submission/smtpd[99525] 2D19728491: client=unknown",
		  "mail.server.com", "postfix/submission/smtpd", "99525", "2D19728491: client=unknown" },
		/* a message with its own colons and brackets */
		{ "Jan  2 03:04:05 mx postfix/smtp[1]: A: to=<x@y>, relay=r[1.2.3.4]:25",
		  "mx", "postfix/smtp", "1", "A: to=<x@y>, relay=r[1.2.3.4]:25" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		ml_syslog_t h = parse_ok(&ctx, cases[i].line);
		assert_slice(h.host, cases[i].host);
		assert_slice(h.program, cases[i].prog);
		assert_slice(h.pid, cases[i].pid);
		assert_slice(h.msg, cases[i].msg);
	}
}

static void bad_lines(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	struct { const char *line, *why; } cases[] = {
		{ "", "no timestamp" },
		{ "   ", "no timestamp" },
		{ "statistics: max cache size 1", "no timestamp" },
		{ "authenticator failed for XYZ [6.6.6.0]:14432", "no timestamp" },
		/* the damaged first line of youyo-postfix-log-parser/test-milter.log */
		{ "021-02-06T10:57:57+01:00 mail.server.com postfix/smtpd[59633]: D6DDA23B0F: client=unknown[99.88.77.66]", "bad timestamp" },
		/* modoboa's template placeholder */
		{ "%(day)s 11:00:20 server postfix/cleanup[28945]: A0320E00C3: message-id=<x@y>", "bad timestamp" },
		{ "2024-13-02T03:04:05Z h p[1]: m", "bad timestamp" },
		{ "2024-02-30T03:04:05Z h p[1]: m", "bad timestamp" },
		{ "2024-01-02T24:04:05Z h p[1]: m", "bad timestamp" },
		{ "2024-01-02T03:04:05+25:00 h p[1]: m", "bad timestamp" },
		{ "2024-01-02T03:04:05X h p[1]: m", "bad timestamp" },
		{ "2024-01-02 03:04:05 1abcde-000001-AB <= a@b", "bad timestamp" },
		{ "Jan 32 03:04:05 h p[1]: m", "bad timestamp" },
		{ "Jan  0 03:04:05 h p[1]: m", "bad timestamp" },
		{ "Jan  2 03:60:05 h p[1]: m", "bad timestamp" },
		{ "Jan  2 3:04:05 h p[1]: m", "bad timestamp" },
		{ "Jan  2 03:04:05h p[1]: m", "bad timestamp" },
		{ "Jan  2 03:04:05", "no host" },
		{ "Jan  2 03:04:05 ", "no host" },
		{ "2024-01-02T03:04:05Z", "no host" },
		{ "Jan  2 03:04:05 host", "no program tag" },
		{ "Jan  2 03:04:05 host ", "no program tag" },
		{ "Jan  2 03:04:05 host kernel message without tag", "no program tag" },
		{ "Jan  2 03:04:05 host prog[12", "no program tag" },
		{ "Jan  2 03:04:05 host prog[x]: m", "no program tag" },
		{ "Jan  2 03:04:05 host prog[1]x", "no program tag" },
		{ "Jan  2 03:04:05 host [exim] LOGIN", "no program tag" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		const char *why = parse_why(&ctx, cases[i].line);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].line, why, cases[i].why);
	}
}

/* Every prefix of valid lines, each in a buffer of exactly its size, so that
 * the sanitizer build catches a read past n; and random bytes. */
static void never_reads_past_n(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	const char *lines[] = {
		"2024-01-02T03:04:05.123456+01:00 host postfix/smtpd[123]: connect from x",
		"Jan  2 03:04:05.123456 host postfix/smtpd[123]: connect",
		"Jan 2 03:04:05 host prog: m",
		"2024-01-02T03:04:05Z host prog[1] m",
		"%(day)s 11:00:20 server p[1]: m",
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(lines); i++) {
		size_t len = strlen(lines[i]);
		for (size_t n = 0; n <= len; n++) {
			char *b = malloc(n ? n : 1);
			memcpy(b, lines[i], n);
			ml_syslog_t h;
			const char *why = NULL;
			int rc = ml_syslog_parse(&ctx, b, n, &h, &why);
			if (rc == 0) {
				assert_true(h.msg.p + h.msg.n == b + n);
				assert_true(h.host.p >= b && h.host.p + h.host.n <= b + n);
			} else {
				assert_int_equal(rc, ML_EPARSE);
				assert_non_null(why);
			}
			free(b);
		}
	}
	srand(12345);
	const char alphabet[] = "0123456789-:T.Z+ []JanFebDecz\t%a";
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand() % 48);
		char *b = malloc(n ? n : 1);
		for (size_t j = 0; j < n; j++)
			b[j] = rand() % 4 ? alphabet[rand() % (sizeof alphabet - 1)] : (char)rand();
		/* half of them start with a valid timestamp */
		const char *ts = round % 2 ? "Jan  2 03:04:05 " : "2024-01-02T03:04:05Z ";
		size_t tl = strlen(ts);
		if (round % 4 < 2 && n >= tl)
			memcpy(b, ts, tl);
		ml_syslog_t h;
		const char *why = NULL;
		int rc = ml_syslog_parse(&ctx, b, n, &h, &why);
		assert_true(rc == 0 || (rc == ML_EPARSE && why));
		free(b);
	}
}

/*
 * Every postfix log of the corpus in syslog form, line by line.  The only
 * lines that do not parse are the damaged ones, counted by inspection:
 *   modoboa/mail.log: all 519 lines have "%(day)s" (a template placeholder)
 *     where the month and day belong: "bad timestamp".
 *   youyo-postfix-log-parser/test-milter.log: line 1 lost the first digit
 *     of its year ("021-02-06T..."): "bad timestamp"; lines 7, 8 and 16 are
 *     empty: "no timestamp".
 *   msimerson-log-ship-elastic-postfix/mail.log: line 1 is empty.  (Its
 *     junk line "madeup: Gobbely Gook" has a well-formed header.)
 *   crowdsec-hub/postfix-spam/postfix-spam.log: line 7 is empty.
 * inqueue-postfix-ecs-pipeline/mail.log's damage (a stray quote, a truncated
 * last line) is in the message part, so its headers all parse.
 */
static void corpus(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		size_t lines, bad_ts, no_ts;
	} files[] = {
		{ "postfix-logsums/mail.log", 69861, 0, 0 },
		{ "digineo-postfix_exporter/mail.log", 53, 0, 0 },
		{ "youyo-postfix-log-parser/test.log", 22, 0, 0 },
		{ "youyo-postfix-log-parser/test-iso8601.log", 47, 0, 0 },
		{ "youyo-postfix-log-parser/test-milter.log", 16, 1, 3 },
		{ "inqueue-postfix-ecs-pipeline/mail.log", 20, 0, 0 },
		{ "msimerson-log-ship-elastic-postfix/mail.log", 6, 0, 1 },
		{ "modoboa/mail.log", 519, 519, 0 },
		{ "maillogger/maillog.log", 8, 0, 0 },
		{ "datadog-integrations-core/postfix_tests.log", 6, 0, 0 },
		{ "fail2ban/postfix.log", 63, 0, 0 },
		{ "wazuh/postfix.log", 2, 0, 0 },
		{ "ossec-hids/postfix.log", 4, 0, 0 },
		{ "crowdsec-hub/postfix-helo/postfix-spam.log", 2, 0, 0 },
		{ "crowdsec-hub/postfix-honeypot-users/postfix-honeypot-users.log", 9, 0, 0 },
		{ "crowdsec-hub/postfix-logs/postfix-logs.log", 7, 0, 0 },
		{ "crowdsec-hub/postfix-non-smtp/postfix-non-smtp.log", 1, 0, 0 },
		{ "crowdsec-hub/postfix-relay/postfix-spam.log", 2, 0, 0 },
		{ "crowdsec-hub/postfix-sasl-bf/postfix-sasl-bf.log", 3, 0, 0 },
		{ "crowdsec-hub/postfix-spam/postfix-spam.log", 7, 0, 1 },
		{ "crowdsec-hub/postscreen-logs/postscreen-logs.log", 2, 0, 0 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(files); i++) {
		size_t len;
		char *buf = tl_read_file(tl_corpus(files[i].file), &len);
		if (!buf)
			fail_msg("cannot read %s", tl_corpus(files[i].file));
		char **lines;
		size_t n = tl_lines(buf, len, &lines);
		ml_syslog_ctx_t ctx;
		ml_syslog_ctx_init(&ctx, 1735905600, 0);
		size_t bad_ts = 0, no_ts = 0, other = 0;
		for (size_t j = 0; j < n; j++) {
			ml_syslog_t h;
			const char *why = NULL;
			if (ml_syslog_parse(&ctx, lines[j], strlen(lines[j]), &h, &why) == 0) {
				assert_true(h.program.n > 0 && h.host.n > 0);
				continue;
			}
			if (strcmp(why, "bad timestamp") == 0)
				bad_ts++;
			else if (strcmp(why, "no timestamp") == 0)
				no_ts++;
			else {
				other++;
				print_message("%s:%zu: %s\n", files[i].file, j + 1, why);
			}
		}
		if (n != files[i].lines || bad_ts != files[i].bad_ts ||
		    no_ts != files[i].no_ts || other)
			fail_msg("%s: %zu lines, %zu bad timestamp, %zu no timestamp, %zu other",
			         files[i].file, n, bad_ts, no_ts, other);
		free(lines);
		free(buf);
	}
	/* Spot check: a BSD line of digineo with a forced year. */
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 2017);
	ml_syslog_t h = parse_ok(&ctx, "Apr 26 10:55:19 tcc1 postfix/smtpd[21126]: warning: SASL authentication failure: Password verification failed");
	char tb[32];
	assert_string_equal(ml_time_format(h.time_us, tb, sizeof tb), "2017-04-26T10:55:19Z");
	assert_slice(h.msg, "warning: SASL authentication failure: Password verification failed");
}

static void time_format(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(ml_time_format(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
	assert_string_equal(ml_time_format(1704164645LL * 1000000 + 999999, buf, sizeof buf),
	                    "2024-01-02T03:04:05Z");
	assert_string_equal(ml_time_format(-1, buf, sizeof buf), "1969-12-31T23:59:59Z");
	assert_string_equal(ml_time_format(-86400LL * 1000000, buf, sizeof buf), "1969-12-31T00:00:00Z");
	assert_string_equal(ml_time_format(1709208000LL * 1000000, buf, sizeof buf), "2024-02-29T12:00:00Z");
	assert_string_equal(ml_time_format(253402300799LL * 1000000, buf, sizeof buf), "9999-12-31T23:59:59Z");
	/* a short buffer is cut, not overrun */
	char small[8];
	ml_time_format(0, small, sizeof small);
	assert_string_equal(small, "1970-01");
}

static void user_times(void **state)
{
	(void)state;
	const time_t now = 1735905600;   /* 2025-01-03T12:00:00Z */
	int64_t us;
	struct { const char *s; int64_t secs; } rel[] = {
		{ "90s", 90 }, { "30m", 1800 }, { "2h", 7200 }, { "7d", 7 * 86400 },
		{ "1w", 7 * 86400 }, { "0s", 0 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(rel); i++) {
		assert_int_equal(ml_time_parse_user(rel[i].s, now, &us), 0);
		assert_true(us == (int64_t)(now - rel[i].secs) * 1000000);
	}
	struct { const char *s; int64_t secs; } abs_[] = {
		{ "2024-01-02", 1704153600 },                 /* local (UTC) midnight */
		{ "2024-01-02 03:04", 1704164640 },
		{ "2024-01-02 03:04:05", 1704164645 },
		{ "2024-01-02T03:04:05", 1704164645 },
		{ "2024-01-02T03:04:05Z", 1704164645 },
		{ "2024-01-02T03:04:05+01:00", 1704161045 },
		{ "2024-01-02T03:04:05-05:30", 1704164645 + 19800 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(abs_); i++) {
		assert_int_equal(ml_time_parse_user(abs_[i].s, now, &us), 0);
		if (us != abs_[i].secs * 1000000)
			fail_msg("%s: got %lld", abs_[i].s, (long long)us);
	}
	assert_int_equal(ml_time_parse_user("2024-01-02T03:04:05.25Z", now, &us), 0);
	assert_true(us == 1704164645LL * 1000000 + 250000);
	const char *bad[] = { "", "s", "5", "5x", "-5m", "5 m", "m5", "2024", "2024-13-01",
	                      "2024-02-30", "2024-01-02 25:00", "2024-01-02T03", "2024-01-02 03:04:05 ",
	                      "2024-01-02T03:04:05+01", "yesterday", "1234567890123d" };
	for (size_t i = 0; i < ML_ARRAY_LEN(bad); i++)
		if (ml_time_parse_user(bad[i], now, &us) != ML_EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
}

/* The hour cache gives what a fresh conversion gives, whatever the order. */
static void cache_consistent(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0)
		set_tz("Europe/Berlin");
	ml_syslog_ctx_t ctx, fresh;
	ml_syslog_ctx_init(&ctx, 1735905600, 2024);
	srand(7);
	static const char *mon[] = { "Jan", "Mar", "Oct", "Dec" };
	for (int i = 0; i < 2000; i++) {
		char line[64];
		snprintf(line, sizeof line, "%s %2d %02d:%02d:%02d h p[1]: m",
		         mon[rand() % 4], 25 + rand() % 4, rand() % 24, rand() % 60, rand() % 60);
		ml_syslog_ctx_init(&fresh, 1735905600, 2024);
		ml_syslog_t a = parse_ok(&ctx, line), b = parse_ok(&fresh, line);
		if (a.time_us != b.time_us)
			fail_msg("%s: cached %lld, fresh %lld", line, (long long)a.time_us, (long long)b.time_us);
	}
	set_tz("UTC");
}

/* The examples of RFC 5424 section 6.5, with mail programs. */
static void rfc5424(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	char buf[32];

	/* 1: a nil PROCID, a MSGID, no structured data, a BOM before MSG */
	ml_syslog_t h = parse_ok(&ctx, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com postfix/smtpd - ID47 - "
	                               "\xEF\xBB\xBF" "warning: SASL LOGIN authentication failed for lonvick");
	assert_true(h.time_us == 1065910455LL * 1000000 + 3000);
	assert_slice(h.host, "mymachine.example.com");
	assert_slice(h.program, "postfix/smtpd");
	assert_slice(h.pid, "");
	assert_slice(h.msg, "warning: SASL LOGIN authentication failed for lonvick");

	/* 2: an IP address as the host, a PROCID, no MSGID, a negative offset */
	h = parse_ok(&ctx, "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 postfix/qmgr 8710 - - 3C4D5E6F7A: removed");
	assert_true(h.time_us == 1061727255LL * 1000000 + 3);
	assert_slice(h.host, "192.0.2.1");
	assert_slice(h.program, "postfix/qmgr");
	assert_slice(h.pid, "8710");
	assert_slice(h.msg, "3C4D5E6F7A: removed");

	/* 3: one structured-data element, then a BOM and MSG */
	h = parse_ok(&ctx, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com postfix/cleanup 77 ID47 "
	                   "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
	                   "\xEF\xBB\xBF" "3C4D5E6F7A: message-id=<m3@example.com>");
	assert_slice(h.program, "postfix/cleanup");
	assert_slice(h.pid, "77");
	assert_slice(h.msg, "3C4D5E6F7A: message-id=<m3@example.com>");
	assert_string_equal(ml_time_format(h.time_us, buf, sizeof buf), "2003-10-11T22:14:15Z");

	/* 4: two elements and no MSG at all */
	h = parse_ok(&ctx, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com postfix/smtp 12 ID47 "
	                   "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
	                   "[examplePriority@32473 class=\"high\"]");
	assert_slice(h.program, "postfix/smtp");
	assert_int_equal(h.msg.n, 0);

	/* the brief's form: rsyslog's RFC 5424 template for Postfix */
	h = parse_ok(&ctx, "<22>1 2024-01-02T03:04:05.123456+01:00 mx1.example.com postfix/smtpd 1234 - - "
	                   "1A2B3C4D5E: client=mail.sender.example[192.0.2.10]");
	assert_true(h.time_us == 1704161045LL * 1000000 + 123456);
	assert_slice(h.host, "mx1.example.com");
	assert_slice(h.program, "postfix/smtpd");
	assert_slice(h.pid, "1234");
	assert_slice(h.msg, "1A2B3C4D5E: client=mail.sender.example[192.0.2.10]");

	/* PRI bounds, an empty MSG after its space, a message with brackets */
	h = parse_ok(&ctx, "<0>1 2024-01-02T03:04:05Z h p 1 - - ");
	assert_int_equal(h.msg.n, 0);
	h = parse_ok(&ctx, "<191>1 2024-01-02T03:04:05Z h p 1 - - [not structured data]");
	assert_slice(h.msg, "[not structured data]");
	h = parse_ok(&ctx, "<34>1 2024-01-02T03:04:05Z h p 1 - -  two spaces");
	assert_slice(h.msg, " two spaces");
	/* without a zone the timestamp is local, as in RFC 3339 lines */
	h = parse_ok(&ctx, "<34>1 2024-01-02T03:04:05 h p 1 - - m");
	assert_true(h.time_us == 1704164645LL * 1000000);
}

static void rfc5424_nil(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);

	/* nil HOSTNAME, PROCID, MSGID, STRUCTURED-DATA */
	ml_syslog_t h = parse_ok(&ctx, "<34>1 2024-01-02T03:04:05Z - postfix/pickup - - - A1: uid=0 from=<root>");
	assert_non_null(h.host.p);
	assert_int_equal(h.host.n, 0);
	assert_slice(h.program, "postfix/pickup");
	assert_slice(h.pid, "");
	assert_slice(h.msg, "A1: uid=0 from=<root>");
	/* a PROCID that is not a number gives no pid */
	h = parse_ok(&ctx, "<34>1 2024-01-02T03:04:05Z mx amavis worker-3 - - (1-09) Passed CLEAN");
	assert_slice(h.pid, "");
	assert_slice(h.program, "amavis");
	h = parse_ok(&ctx, "<34>1 2024-01-02T03:04:05Z mx p 12a - - m");
	assert_slice(h.pid, "");
	/* a field of more than one byte that starts with '-' is not nil */
	h = parse_ok(&ctx, "<34>1 2024-01-02T03:04:05Z -mx -p -1 -- - m");
	assert_slice(h.host, "-mx");
	assert_slice(h.program, "-p");
	assert_slice(h.pid, "");
	/* nil TIMESTAMP and nil APP-NAME are errors */
	assert_string_equal(parse_why(&ctx, "<34>1 - mx postfix/smtpd 1 - - m"), "no timestamp");
	assert_string_equal(parse_why(&ctx, "<34>1 2024-01-02T03:04:05Z mx - 1 - - m"), "no program tag");
}

static void rfc5424_structured_data(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	struct { const char *sd, *msg; } cases[] = {
		{ "[id]", "A: removed" },
		{ "[id@1 a=\"\"]", "A: removed" },
		/* escaped quote, backslash and bracket */
		{ "[id a=\"x\\\"y\"]", "A: removed" },
		{ "[id a=\"x\\\\\"]", "A: removed" },
		{ "[id a=\"x\\]y\"]", "A: removed" },
		/* an unescaped ']' in quotes does not end the element */
		{ "[id a=\"] \" b=\"]]\"]", "A: removed" },
		/* an escape RFC 5424 does not define is kept as written */
		{ "[id a=\"C:\\dir\\n\"]", "A: removed" },
		/* several elements and parameters, UTF-8 in a value */
		{ "[origin ip=\"192.0.2.1\" software=\"rsyslogd\" swVersion=\"8.2\"]"
		  "[meta sequenceId=\"17\"][timeQuality tzKnown=\"1\" isSynced=\"0\"]"
		  "[x@32473 note=\"gr\xC3\xBC\xC3\x9F [\\\"q\\\"] \\\\ end\"]", "A: removed" },
		/* a message that looks like structured data */
		{ "[id a=\"1\"]", "[id b=\"2\"] A: removed" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		char line[512];
		snprintf(line, sizeof line, "<34>1 2024-01-02T03:04:05Z mx postfix/qmgr 9 - %s %s",
		         cases[i].sd, cases[i].msg);
		ml_syslog_t h = parse_ok(&ctx, line);
		assert_slice(h.program, "postfix/qmgr");
		assert_slice(h.msg, cases[i].msg);
	}
	const char *bad[] = {
		"[", "[]", "[ a=\"1\"]", "[id", "[id a=\"1\"", "[id a=\"1]", "[id a=\"1\\\"]",
		"[id a=1]", "[id a]", "[id a=]", "[id =\"1\"]", "[id  a=\"1\"]", "[id a=\"1\" ]",
		"[id]x", "[i\"d]", "x", "-x", "--", "[id a=\"1\"]]",
		"[abcdefghijklmnopqrstuvwxyz0123456]",   /* an SD-ID of 33 bytes */
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(bad); i++) {
		char line[256];
		snprintf(line, sizeof line, "<34>1 2024-01-02T03:04:05Z mx p 9 - %s", bad[i]);
		const char *why = parse_why(&ctx, line);
		if (strcmp(why, "bad structured data") != 0)
			fail_msg("\"%s\": got \"%s\"", bad[i], why);
	}
}

static void rfc5424_bom(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	struct { const char *msg, *want; } cases[] = {
		{ "\xEF\xBB\xBF" "A: removed", "A: removed" },
		{ "\xEF\xBB\xBF", "" },
		/* only one BOM, only at the start, only a whole one */
		{ "\xEF\xBB\xBF\xEF\xBB\xBF" "A", "\xEF\xBB\xBF" "A" },
		{ "A \xEF\xBB\xBF", "A \xEF\xBB\xBF" },
		{ "\xEF\xBB" "A", "\xEF\xBB" "A" },
		{ "\xEF\xBB", "\xEF\xBB" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		char line[128];
		snprintf(line, sizeof line, "<34>1 2024-01-02T03:04:05Z mx p 1 - - %s", cases[i].msg);
		ml_syslog_t h = parse_ok(&ctx, line);
		assert_slice(h.msg, cases[i].want);
	}
	/* the BOM belongs to RFC 5424's MSG: other forms keep it */
	ml_syslog_t h = parse_ok(&ctx, "2024-01-02T03:04:05Z mx p[1]: \xEF\xBB\xBF" "A");
	assert_slice(h.msg, "\xEF\xBB\xBF" "A");
}

/* A PRI in front of a traditional or RFC 3339 line. */
static void pri_only(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 0, 2024);
	ml_syslog_t h = parse_ok(&ctx, "<22>Jan  2 03:04:05 host postfix/qmgr[1]: 3C4D5E6F7A: removed");
	assert_true(h.time_us == 1704164645LL * 1000000);
	assert_slice(h.host, "host");
	assert_slice(h.program, "postfix/qmgr");
	assert_slice(h.pid, "1");
	assert_slice(h.msg, "3C4D5E6F7A: removed");
	h = parse_ok(&ctx, "<22>2024-01-02T03:04:05Z host postfix/smtp[7]: A: to=<a@b>");
	assert_true(h.time_us == 1704164645LL * 1000000);
	assert_slice(h.program, "postfix/smtp");
	assert_slice(h.pid, "7");
	assert_slice(h.msg, "A: to=<a@b>");
	h = parse_ok(&ctx, "<0>2024-01-02T03:04:05.5+01:00 host p: m");
	assert_true(h.time_us == 1704161045LL * 1000000 + 500000);
	h = parse_ok(&ctx, "<191>Jan 2 03:04:05.25 host p: m");
	assert_true(h.time_us == 1704164645LL * 1000000 + 250000);
	/* the reasons are those of the line after the PRI */
	assert_string_equal(parse_why(&ctx, "<22>"), "no timestamp");
	assert_string_equal(parse_why(&ctx, "<22>hello"), "no timestamp");
	assert_string_equal(parse_why(&ctx, "<22>Jan 32 03:04:05 h p: m"), "bad timestamp");
	assert_string_equal(parse_why(&ctx, "<22>2024-01-02 03:04:05 h p: m"), "bad timestamp");
	assert_string_equal(parse_why(&ctx, "<22>1234 h p: m"), "bad timestamp");
	assert_string_equal(parse_why(&ctx, "<22>Jan  2 03:04:05"), "no host");
	assert_string_equal(parse_why(&ctx, "<22>Jan  2 03:04:05 host"), "no program tag");
	/* one PRI only */
	assert_string_equal(parse_why(&ctx, "<22><22>Jan  2 03:04:05 h p: m"), "no timestamp");
	assert_string_equal(parse_why(&ctx, "<22><22>1 2024-01-02T03:04:05Z h p 1 - - m"), "no timestamp");
}

static void rfc5424_bad(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	struct { const char *line, *why; } cases[] = {
		{ "<", "bad priority" },
		{ "<>", "bad priority" },
		{ "<>1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<34", "bad priority" },
		{ "<34 >1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<-1>1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<192>1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<999>1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<1000>1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<x>1 2024-01-02T03:04:05Z h p 1 - - m", "bad priority" },
		{ "<a@b> said hello", "bad priority" },
		{ "<34>2 2024-01-02T03:04:05Z h p 1 - - m", "bad version" },
		{ "<34>0 2024-01-02T03:04:05Z h p 1 - - m", "bad version" },
		{ "<34>10 2024-01-02T03:04:05Z h p 1 - - m", "bad version" },
		{ "<34>01 2024-01-02T03:04:05Z h p 1 - - m", "bad version" },
		{ "<34>999", "bad version" },
		{ "<34>1", "no timestamp" },
		{ "<34>1 ", "no timestamp" },
		{ "<34>1  2024-01-02T03:04:05Z h p 1 - - m", "no timestamp" },
		{ "<34>1 - h p 1 - - m", "no timestamp" },
		{ "<34>1 2024-01-02 h p 1 - - m", "bad timestamp" },
		{ "<34>1 2024-01-02T03:04:05Zx h p 1 - - m", "bad timestamp" },
		{ "<34>1 2024-02-30T03:04:05Z h p 1 - - m", "bad timestamp" },
		{ "<34>1 2024-01-02T03:04Z h p 1 - - m", "bad timestamp" },
		{ "<34>1 Jan  2 03:04:05 h p 1 - - m", "bad timestamp" },
		{ "<34>1 2024-01-02T03:04:05Z", "no host" },
		{ "<34>1 2024-01-02T03:04:05Z ", "no host" },
		{ "<34>1 2024-01-02T03:04:05Z  p 1 - - m", "no host" },
		{ "<34>1 2024-01-02T03:04:05Z h", "no program tag" },
		{ "<34>1 2024-01-02T03:04:05Z h ", "no program tag" },
		{ "<34>1 2024-01-02T03:04:05Z h - 1 - - m", "no program tag" },
		{ "<34>1 2024-01-02T03:04:05Z h p", "no procid" },
		{ "<34>1 2024-01-02T03:04:05Z h p ", "no procid" },
		{ "<34>1 2024-01-02T03:04:05Z h p 1", "no msgid" },
		{ "<34>1 2024-01-02T03:04:05Z h p 1 ", "no msgid" },
		{ "<34>1 2024-01-02T03:04:05Z h p 1 -", "no structured data" },
		{ "<34>1 2024-01-02T03:04:05Z h p 1 - ", "no structured data" },
		{ "<34>1 2024-01-02T03:04:05Z h p 1 -  m", "bad structured data" },
		{ "<34>1 2024-01-02T03:04:05Z h p 1 - m", "bad structured data" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		const char *why = parse_why(&ctx, cases[i].line);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].line, why, cases[i].why);
	}
}

/* Every prefix of RFC 5424 and PRI lines in a buffer of exactly its size
 * (the sanitizer build catches a read past n), and random bytes after a
 * valid header. */
static void rfc5424_never_reads_past_n(void **state)
{
	(void)state;
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, 1735905600, 0);
	const char *lines[] = {
		"<34>1 2024-01-02T03:04:05.123456+01:00 mx1.example.com postfix/smtpd 1234 - - A: client=x",
		"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com postfix/smtp - ID47 "
		"[exampleSDID@32473 iut=\"3\" a=\"\\\"]\\\\\"][examplePriority@32473 class=\"high\"] "
		"\xEF\xBB\xBF" "A: to=<a@b>",
		"<34>1 - - - - - -",
		"<22>Jan  2 03:04:05 host postfix/qmgr[1]: A: removed",
		"<22>2024-01-02T03:04:05Z host p[1] m",
		"<191>1 2024-01-02T03:04:05Z h p 1 - [id a=\"\\",
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(lines); i++) {
		size_t len = strlen(lines[i]);
		for (size_t n = 0; n <= len; n++) {
			char *b = malloc(n ? n : 1);
			memcpy(b, lines[i], n);
			ml_syslog_t h;
			const char *why = NULL;
			int rc = ml_syslog_parse(&ctx, b, n, &h, &why);
			if (rc == 0) {
				assert_true(h.msg.p >= b && h.msg.p + h.msg.n == b + n);
				assert_true(h.host.p >= b && h.host.p + h.host.n <= b + n);
				assert_true(h.program.p >= b && h.program.n > 0 &&
				            h.program.p + h.program.n <= b + n);
				assert_true(h.pid.p >= b && h.pid.p + h.pid.n <= b + n);
			} else {
				assert_int_equal(rc, ML_EPARSE);
				assert_non_null(why);
			}
			free(b);
		}
	}
	srand(54321);
	const char alphabet[] = "<>0123456789- []=\"\\@abT:Z.\xEF\xBB\xBF";
	const char *heads[] = { "<34>1 2024-01-02T03:04:05Z h p 1 - ", "<34>1 ", "<", "<22>" };
	for (int round = 0; round < 40000; round++) {
		size_t n = (size_t)(rand() % 64);
		char *b = malloc(n ? n : 1);
		for (size_t j = 0; j < n; j++)
			b[j] = rand() % 8 ? alphabet[rand() % (sizeof alphabet - 1)] : (char)rand();
		const char *hd = heads[round % 4];
		size_t hl = strlen(hd);
		if (n >= hl)
			memcpy(b, hd, hl);
		ml_syslog_t h;
		const char *why = NULL;
		int rc = ml_syslog_parse(&ctx, b, n, &h, &why);
		assert_true(rc == 0 || (rc == ML_EPARSE && why));
		if (rc == 0)
			assert_true(h.msg.p >= b && h.msg.p + h.msg.n == b + n);
		free(b);
	}
}

/* An RFC 5424 log of one delivered message, through the mtalog command. */
static void rfc5424_ingest(void **state)
{
	(void)state;
	static const char log[] =
		"<22>1 2024-03-03T10:00:00.000001+01:00 mx1.example.com postfix/smtpd 1001 - - connect from mail.sender.example[192.0.2.10]\n"
		"<22>1 2024-03-03T10:00:01+01:00 mx1.example.com postfix/smtpd 1001 - [origin ip=\"192.0.2.10\"] 1A2B3C4D5E: client=mail.sender.example[192.0.2.10]\n"
		"<22>1 2024-03-03T10:00:01+01:00 mx1.example.com postfix/cleanup 1002 - - \xEF\xBB\xBF" "1A2B3C4D5E: message-id=<m1@sender.example>\n"
		"<22>1 2024-03-03T10:00:01+01:00 mx1.example.com postfix/qmgr 1003 - [meta sequenceId=\"4\" note=\"a \\\"]\\\" b\"] 1A2B3C4D5E: from=<alice@sender.example>, size=2048, nrcpt=1 (queue active)\n"
		"<22>1 2024-03-03T10:00:02+01:00 mx1.example.com postfix/smtpd 1001 - - disconnect from mail.sender.example[192.0.2.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n"
		"<22>1 2024-03-03T10:00:02+01:00 mx1.example.com postfix/lmtp 1004 - - 1A2B3C4D5E: to=<bob@example.com>, relay=mailstore.example.com[private/dovecot-lmtp], delay=0.35, delays=0.1/0.01/0.04/0.2, dsn=2.0.0, status=sent (250 2.0.0 <bob@example.com> Saved)\n"
		"<22>1 2024-03-03T10:00:02+01:00 mx1.example.com postfix/qmgr 1003 - - 1A2B3C4D5E: removed\n";
	char dir[4096], path[4200], db[4200];
	snprintf(dir, sizeof dir, "%s", tl_tmpdir());
	snprintf(path, sizeof path, "%s/mail.log", dir);
	snprintf(db, sizeof db, "%s/t.db", dir);
	tl_write_file(path, log, sizeof log - 1);

	char *out = NULL, *err = NULL;
	int rc = tl_mtalog(&out, &err, "--db %s ingest %s", db, path);
	if (rc != 0)
		fail_msg("ingest: exit %d: %s", rc, err);
	free(out);
	free(err);
	rc = tl_mtalog(&out, &err, "--db %s search --json", db);
	if (rc != 0)
		fail_msg("search: exit %d: %s", rc, err);
	assert_int_equal(tl_count_lines(out), 1);
	json_error_t je;
	json_t *row = json_loads(out, 0, &je);
	if (!row)
		fail_msg("bad JSON: %s", out);
	struct { const char *key, *want; } want[] = {
		{ "time", "2024-03-03T09:00:01Z" },
		{ "host", "mx1.example.com" },
		{ "queue_id", "1A2B3C4D5E" },
		{ "from", "alice@sender.example" },
		{ "to", "bob@example.com" },
		{ "status", "delivered" },
		{ "dsn", "2.0.0" },
		{ "message_id", "m1@sender.example" },
		{ "client_ip", "192.0.2.10" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(want); i++) {
		json_t *v = json_object_get(row, want[i].key);
		if (!json_is_string(v) || strcmp(json_string_value(v), want[i].want) != 0)
			fail_msg("%s: got %s, want %s", want[i].key,
			         json_is_string(v) ? json_string_value(v) : "(none)", want[i].want);
	}
	json_decref(row);
	free(out);
	free(err);
	/* every line understood */
	rc = tl_mtalog(&out, &err, "--db %s stats --json", db);
	if (rc != 0)
		fail_msg("stats: exit %d: %s", rc, err);
	json_t *st = json_loads(out, 0, &je);
	if (!st)
		fail_msg("bad JSON: %s", out);
	json_t *nu = json_object_get(json_object_get(st, "lines_not_understood"), "total");
	assert_true(json_is_integer(nu));
	if (json_integer_value(nu) != 0)
		fail_msg("lines not understood: %s", out);
	json_decref(st);
	free(out);
	free(err);
	tl_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(rfc3339, setup_utc),
		cmocka_unit_test_setup(traditional, setup_utc),
		cmocka_unit_test_setup(year_inference, setup_utc),
		cmocka_unit_test_setup(forced_year, setup_utc),
		cmocka_unit_test_setup(berlin, setup_utc),
		cmocka_unit_test_setup(programs, setup_utc),
		cmocka_unit_test_setup(bad_lines, setup_utc),
		cmocka_unit_test_setup(never_reads_past_n, setup_utc),
		cmocka_unit_test_setup(time_format, setup_utc),
		cmocka_unit_test_setup(user_times, setup_utc),
		cmocka_unit_test_setup(cache_consistent, setup_utc),
		cmocka_unit_test_setup(rfc5424, setup_utc),
		cmocka_unit_test_setup(rfc5424_nil, setup_utc),
		cmocka_unit_test_setup(rfc5424_structured_data, setup_utc),
		cmocka_unit_test_setup(rfc5424_bom, setup_utc),
		cmocka_unit_test_setup(pri_only, setup_utc),
		cmocka_unit_test_setup(rfc5424_bad, setup_utc),
		cmocka_unit_test_setup(rfc5424_never_reads_past_n, setup_utc),
		cmocka_unit_test_setup(rfc5424_ingest, setup_utc),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test_setup(corpus, setup_utc),
	};
	return TL_RUN("syslog", tests, corpus_tests, NULL, NULL);
}
