/*
 * Unit tests for engine/postfix: one test per rule of the parser, and
 * robustness runs (every line cut at every length, mutated bytes) meant to
 * be run under ASan/UBSan: over the lines of the rule tests, the project's
 * own logs (tests/data/statuses.log, sample/mail.log) and random fragments.
 * The corpus tier adds the postfix-grok-patterns fixtures as a peer suite, a
 * sweep over every Postfix line of the corpus (none may be ML_EV_UNKNOWN) and
 * the robustness run over those lines.
 *
 * Files are read in place; full syslog lines are split here with a crude
 * header scan, independent of engine/syslog.
 */
#include "testlib.h"
#include "tests/parse_table.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/postfix.h"

/* ---- helpers ----------------------------------------------------------- */

static const char *const KIND_NAMES[] = {
	"UNKNOWN", "SKIP", "CLIENT", "PICKUP", "MSGID", "HEADER", "HOLD", "CLEANUP_REJECT",
	"QMGR_FROM", "REMOVED", "EXPIRED", "DELIVERY", "NOQUEUE_REJECT", "RCPT_REJECT",
	"BOUNCE_NDN", "RELEASED", "DELETED", "INFO",
};
#define NKINDS ML_ARRAY_LEN(KIND_NAMES)

static const char *kind_name(ml_event_kind_t k)
{
	return (unsigned)k < NKINDS ? KIND_NAMES[k] : "?";
}

/* Parse one message part; the line is kept for robustness_written. */
static ml_event_t P(const char *program, const char *msg)
{
	ml_event_t ev;
	tl_written_add(program, msg, strlen(msg));
	ml_postfix_parse(ml_slice_cstr(program), ml_slice_cstr(msg), &ev);
	return ev;
}

/* The table runs (tests/parse_table.h). */
static void parse_row(const char *program, const char *msg, ml_event_t *ev)
{
	*ev = P(program, msg);
}

/* s equals lit (an empty slice may have a NULL pointer). */
/* slice assertions: tests/testlib.h */
#define slice_is tl_slice_is
#define expect_slice tl_expect_slice
#define EQ(s, want) tl_expect_slice((s), (want), #s, __LINE__)

static void expect_kind(const ml_event_t *ev, ml_event_kind_t k, int line)
{
	if (ev->kind != k)
		fail_msg("line %d: kind %s (reason %s), want %s", line, kind_name(ev->kind),
			 ev->reason ? ev->reason : "-", kind_name(k));
}
#define KIND(ev, k) expect_kind(&(ev), (k), __LINE__)


/* Every slice of ev lies inside [m, m + n). */
static int event_in_bounds(const ml_event_t *ev, const char *m, size_t n)
{
	const ml_slice_t *s[] = {
		&ev->qid, &ev->other_qid, &ev->from, &ev->to, &ev->orig_to, &ev->relay, &ev->dsn,
		&ev->reason_text, &ev->msgid, &ev->header_name, &ev->subject, &ev->client_name,
		&ev->client_ip, &ev->sasl_user, &ev->helo,
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(s); i++) {
		if (s[i]->n == 0)
			continue;
		if (!s[i]->p || s[i]->p < m || s[i]->p + s[i]->n > m + n)
			return 0;
	}
	if ((ev->kind == ML_EV_SKIP || ev->kind == ML_EV_UNKNOWN) && !ev->reason)
		return 0;
	return (unsigned)ev->kind < NKINDS && (unsigned)ev->status < ML_ST__COUNT;
}

/* A corpus file as lines with exact lengths (lines may hold NUL bytes). */
/* the corpus as lines: tests/testlib.h */
typedef tl_lines_t lines_t;
#define lines_load tl_lines_load
#define lines_free tl_lines_free

/*
 * Crude syslog split: the program is the first of the first eight tokens
 * that starts with "postfix" and holds a '/' ("postfix/smtpd[123]:",
 * "postfix/smtpd[123]", "postfix-out/smtp:"), or "./smtpd_check:" (the
 * Postfix test driver, whose lines are smtpd's).  The message follows the
 * token and one space.  0 when the line is not a Postfix line.
 */
static int split_syslog(const char *l, size_t n, char *prog, size_t progcap, const char **msg,
			size_t *msgn)
{
	size_t i = 0;
	for (int tok = 0; tok < 8 && i < n; tok++) {
		while (i < n && l[i] == ' ')
			i++;
		size_t s = i;
		while (i < n && l[i] != ' ')
			i++;
		size_t tl = i - s;
		const char *t = l + s;
		if (tl == 14 && memcmp(t, "./smtpd_check:", 14) == 0) {
			snprintf(prog, progcap, "postfix/smtpd");
		} else if (tl > 8 && memcmp(t, "postfix", 7) == 0 && memchr(t, '/', tl)) {
			size_t pl = 0;
			while (pl < tl && t[pl] != '[' && t[pl] != ':')
				pl++;
			snprintf(prog, progcap, "%.*s", (int)pl, t);
		} else {
			continue;
		}
		if (i < n)
			i++;
		*msg = l + i;
		*msgn = n - i;
		return 1;
	}
	return 0;
}

/* Daemon of a postfix-grok-patterns "messages-DAEMON.log" file. */
static void grok_program(const char *daemon, char *prog, size_t cap)
{
	if (strcmp(daemon, "script") == 0)
		daemon = "postfix-script";
	else if (strcmp(daemon, "trivial_rewrite") == 0)
		daemon = "trivial-rewrite";
	snprintf(prog, cap, "postfix/%s", daemon);
}

/* Calls fn for every Postfix line of one file: a full syslog line, or in
 * the message-part files of postfix-grok-patterns the message part.
 * "<queue id>" placeholders of the smtpd_check reference output become
 * "NOQUEUE" (in a copy).  Returns the number of lines; a file that cannot be
 * read has none. */
typedef void (*line_fn)(const char *prog, const char *msg, size_t n, const char *file, void *arg);

static size_t each_postfix_line_of(const char *path, line_fn fn, void *arg)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	int grok = strstr(path, "postfix-grok-patterns/") && strncmp(base, "messages-", 9) == 0;
	char gprog[64] = "";
	if (grok) {
		char d[48];
		snprintf(d, sizeof d, "%.*s", (int)(strlen(base) - 9 - 4), base + 9);
		grok_program(d, gprog, sizeof gprog);
	}
	lines_t L;
	if (lines_load(&L, path) != 0)
		return 0;
	size_t total = 0;
	char *copy = NULL;
	size_t copycap = 0;
	for (size_t i = 0; i < L.count; i++) {
		char prog[128];
		const char *msg;
		size_t mn;
		if (grok) {
			if (L.n[i] == 0)
				continue;
			snprintf(prog, sizeof prog, "%s", gprog);
			msg = L.line[i];
			mn = L.n[i];
		} else if (!split_syslog(L.line[i], L.n[i], prog, sizeof prog, &msg, &mn)) {
			continue;
		}
		if (mn >= 12 && memcmp(msg, "<queue id>: ", 12) == 0) {
			if (copycap < mn + 16) {
				copycap = mn + 16;
				copy = realloc(copy, copycap);
			}
			memcpy(copy, "NOQUEUE: ", 9);
			memcpy(copy + 9, msg + 12, mn - 12);
			msg = copy;
			mn = mn - 12 + 9;
		}
		fn(prog, msg, mn, path, arg);
		total++;
	}
	lines_free(&L);
	free(copy);
	return total;
}

/* Calls fn for every Postfix line of the corpus. */
static size_t for_each_postfix_line(line_fn fn, void *arg)
{
	static const char *const patterns[] = { "*/*.log", "*/*/*.log" };
	size_t total = 0;
	for (size_t pi = 0; pi < ML_ARRAY_LEN(patterns); pi++) {
		glob_t g;
		char pat[4096];
		snprintf(pat, sizeof pat, "%s", tl_corpus(patterns[pi]));
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t fi = 0; fi < g.gl_pathc; fi++)
			total += each_postfix_line_of(g.gl_pathv[fi], fn, arg);
		globfree(&g);
	}
	return total;
}

/* The project's own Postfix logs: written by hand, and made by bench/gen. */
static const char *const OWN_LOGS[] = { "tests/data/statuses.log", "sample/mail.log" };

/* ---- rules ------------------------------------------------------------- */

static const tl_pt_row_t DAEMON_FROM_PROGRAM_ROWS[] = {
	/* The same line under seven tags: the daemon is the last component. */
	TL_ROW("postfix/smtpd", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix/submission/smtpd", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix-incoming/smtpd", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix/10025/smtpd", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix-smo/submission/smtpd", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix/smtpd[4711]", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix/submission", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }),
	TL_ROW("postfix-out/smtp", "7EE668039: to=<admin@example.com>, relay=127.0.0.1[127.0.0.1]:2525, delay=3.6, delays=0.2/0.02/0.04/3.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 153053D)", ML_EV_DELIVERY),
	TL_ROW("postfix/nonesuch", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_UNKNOWN, { "reason", "unknown postfix daemon" }),
	TL_ROW("", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_UNKNOWN),
	TL_ROW("postfix/smtpd", "", ML_EV_UNKNOWN),
};

static void daemon_from_program(void **state)
{
	(void)state;
	/* ml_postfix_is_program itself, in code: no line is parsed */
	assert_true(ml_postfix_is_program(ml_slice_cstr("postfix/smtpd")));
	assert_true(ml_postfix_is_program(ml_slice_cstr("postfix/submission/smtpd")));
	assert_true(ml_postfix_is_program(ml_slice_cstr("postfix-out/smtp")));
	assert_false(ml_postfix_is_program(ml_slice_cstr("postfix")));
	assert_false(ml_postfix_is_program(ml_slice_cstr("postfix/")));
	assert_false(ml_postfix_is_program(ml_slice_cstr("postgrey")));
	assert_false(ml_postfix_is_program(ml_slice_cstr("sendmail")));
	assert_false(ml_postfix_is_program(ml_slice_cstr("amavis/postfix")));
	assert_false(ml_postfix_is_program(ML_SLICE_NULL));
	TL_PT_RUN(DAEMON_FROM_PROGRAM_ROWS, parse_row, kind_name);
}

static const tl_pt_row_t QUEUE_ID_SHAPES_ROWS[] = {
	/* Only a queue-ID-shaped token makes a line about a message. */
	TL_ROW("postfix/cleanup", "warning: dict_ldap_get_values[1]: DN uid=mguiraud,ou=people,dc=neotion,dc=com not found, skipping ", ML_EV_SKIP, { "reason", "cleanup warning" }, { "qid", "" }),
	TL_ROW("postfix/qmgr", "QUEUEID: removed", ML_EV_UNKNOWN),
	TL_ROW("postfix/qmgr", "ED06590130AA1C9D6D862: skipped, still being delivered", ML_EV_INFO, { "qid", "ED06590130AA1C9D6D862" }),
	TL_ROW("postfix/cleanup", "48rT2v1hQrz1J0N: message-id=<x@y>", ML_EV_MSGID, { "qid", "48rT2v1hQrz1J0N" }),
};

static void queue_id_shapes(void **state)
{
	(void)state;
	/* ml_postfix_is_qid itself, in code: no line is parsed */
	const char *yes[] = {
		"0F5383D", "C6E0DDB74006", "ED06590130AA1C9D6D862", "D4F2023DB", "00ADB3C0899",
		"4Qx3Fh1Lm8zJfK", "48rT2v1hQrz1J0N", "3mPVKl0Mhjz7sXv", "44JCRG5tYPzCqt2",
		"4PbMVG6Tmjz3tG3", "3mPVKl3YVXz2pS5Z",
	};
	const char *no[] = {
		"", "0F538", "NOQUEUE", "DISCONNECT", "warning", "statistics", "0f5383d",
		"ED06590130AA1C9D6D8621", /* 22 hex digits: longer than a 64-bit inode allows */
		"4Qx3Fh1Lm8zJfKz",        /* nothing after the last 'z' */
		"4Qx3Fh1Lmz",              /* 'z' before ten time digits */
		"4Qx3Fh1Lm8zJfA",          /* a vowel */
		"4Qx3Fh1Lm8zJf-", "<queue id>", "C6E0DDB74006 ",
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(yes); i++)
		if (!ml_postfix_is_qid(ml_slice_cstr(yes[i])))
			fail_msg("%s should be a queue ID", yes[i]);
	for (size_t i = 0; i < ML_ARRAY_LEN(no); i++)
		if (ml_postfix_is_qid(ml_slice_cstr(no[i])))
			fail_msg("%s should not be a queue ID", no[i]);
	TL_PT_RUN(QUEUE_ID_SHAPES_ROWS, parse_row, kind_name);
}

static const tl_pt_row_t SMTPD_CLIENT_ROWS[] = {
	TL_ROW("postfix/smtpd", "4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]", ML_EV_CLIENT, { "qid", "4104E3D" }, { "client_name", "061238241086.static.ctinets.com" }, { "client_ip", "61.238.241.86" }, { "sasl_user", "" }),
	TL_ROW("postfix/smtpd", "838FC8A5F: client=unknown[fe80::1:2:3:4], sasl_method=PLAIN, sasl_username=out@example.org", ML_EV_CLIENT, { "client_name", "unknown" }, { "client_ip", "fe80::1:2:3:4" }, { "sasl_user", "out@example.org" }),
	TL_ROW("postfix/submission/smtpd", "2D19728491: client=unknown[10.11.12.13], sasl_method=PLAIN, sasl_username=user1@domain.example.com", TL_ANY_KIND, { "sasl_user", "user1@domain.example.com" }, { "client_ip", "10.11.12.13" }),
	/* After a content filter: the client that sent the mail is orig_client. */
	TL_ROW("postfix/smtpd", "1FEB7E00C4: client=localhost.localdomain[127.0.0.1], orig_client=misas5.babino.pl[207.154.235.157]", ML_EV_CLIENT, { "client_name", "misas5.babino.pl" }, { "client_ip", "207.154.235.157" }),
	TL_ROW("postfix/smtpd", "4PcbP55qZcz3tG3: client=localhost[127.0.0.1]:40116, orig_queue_id=4PcbP55FHKz3tBr, orig_client=mail.example.com[2001:db8::25]", TL_ANY_KIND, { "client_ip", "2001:db8::25" }, { "client_name", "mail.example.com" }),
	/* smtpd_client_port_logging */
	TL_ROW("postfix/smtpd", "C6E0DDB74006: client=mail.example.com[192.0.2.1]:51234, sasl_method=LOGIN, sasl_username=bob", TL_ANY_KIND, { "client_ip", "192.0.2.1" }, { "sasl_user", "bob" }),
	/* Before a queue ID exists (before-queue filter): nothing to attach to. */
	TL_ROW("postfix/smtpd", "NOQUEUE: client=misas5.babino.pl[207.154.235.157]", ML_EV_SKIP, { "reason", "smtpd noqueue client" }, { "qid", "" }),
};

TL_PT_TEST(smtpd_client, SMTPD_CLIENT_ROWS, parse_row, kind_name)

static const tl_pt_row_t SMTPD_NOQUEUE_REJECT_ROWS[] = {
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from 061238241086.static.ctinets.com[61.238.241.86]: 550 5.1.1 <toernooicommissie@example.com>: Recipient address rejected: User unknown in virtual mailbox table; from=<wumt5@cchfdc.com> to=<toernooicommissie@example.com> proto=ESMTP helo=<ecsolved.com>", ML_EV_NOQUEUE_REJECT, { "status", "blocked" }, { "qid", "" }, { "reason_text", "550 5.1.1 <toernooicommissie@example.com>: Recipient address rejected: User unknown in virtual mailbox table" }, { "dsn", "5.1.1" }, { "client_name", "061238241086.static.ctinets.com" }, { "client_ip", "61.238.241.86" }, { "from", "wumt5@cchfdc.com" }, { "from_set", "1" }, { "to", "toernooicommissie@example.com" }, { "helo", "ecsolved.com" }),
	/* The reply itself holds "; " several times: the trailer is what parses to the end. */
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from news.zihan-promo.com[192.36.205.58]: 554 5.7.1 Service unavailable; Helo command [news.zihan-promo.com] blocked using dbl.spamhaus.org; http://www.spamhaus.org/query/dbl?domain=zihan-promo.com; from=<mark.alexander@zihan-promo.com> to=<tom@example.com> proto=ESMTP helo=<news.zihan-promo.com>", ML_EV_NOQUEUE_REJECT, { "reason_text", "554 5.7.1 Service unavailable; Helo command [news.zihan-promo.com] blocked using dbl.spamhaus.org; http://www.spamhaus.org/query/dbl?domain=zihan-promo.com" }, { "from", "mark.alexander@zihan-promo.com" }, { "to", "tom@example.com" }),
	/* A reply that even holds "; from=<" but is no trailer. */
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from a.example[192.0.2.7]: 550 5.7.1 Bad; from=<x> is banned; from=<s@example.org> to=<r@example.net> proto=ESMTP helo=<a.example>", TL_ANY_KIND, { "reason_text", "550 5.7.1 Bad; from=<x> is banned" }, { "from", "s@example.org" }, { "to", "r@example.net" }),
	/* Quoted local parts with spaces, '>' and "; " in them. */
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from a.example[192.0.2.7]: 550 5.1.1 <\"john doe\"@example.com>: Recipient address rejected: User unknown; from=<\"a> b; to=<c\"@example.org> to=<\"john doe\"@example.com> proto=ESMTP helo=<a.example>", ML_EV_NOQUEUE_REJECT, { "from", "\"a> b; to=<c\"@example.org" }, { "to", "\"john doe\"@example.com" }, { "reason_text", "550 5.1.1 <\"john doe\"@example.com>: Recipient address rejected: User unknown" }),
	/* Other stages; IPv6; no from= (VRFY); no to= (MAIL, CONNECT, EHLO). */
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: VRFY from unknown[2001:968:9999:20:88b:9b7d:2a54:2bd2]: 454 4.7.1 <aap@henk.com>: Relay access denied; to=<aap@henk.com> proto=SMTP helo=<me>", ML_EV_NOQUEUE_REJECT, { "client_ip", "2001:968:9999:20:88b:9b7d:2a54:2bd2" }, { "from_set", "0" }, { "to", "aap@henk.com" }, { "dsn", "4.7.1" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: CONNECT from unknown[192.0.2.114]: 450 4.7.25 Client host rejected: cannot find your hostname, [178.215.236.114]; proto=SMTP", ML_EV_NOQUEUE_REJECT, { "dsn", "4.7.25" }, { "reason_text", "450 4.7.25 Client host rejected: cannot find your hostname, [178.215.236.114]" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: EHLO from astra4139.startdedicated.de[62.138.2.143]: 504 5.5.2 <User>: Helo command rejected: need fully-qualified hostname; proto=SMTP helo=<User>", ML_EV_NOQUEUE_REJECT, { "helo", "User" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: MAIL from localhost[127.0.0.1]: 550 5.1.0 <baz@example.com>: Sender address rejected: User unknown in local recipient table; from=<baz@example.com> proto=SMTP", ML_EV_NOQUEUE_REJECT, { "from", "baz@example.com" }, { "to", "" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from 201.130.128.222.ded.telnor.net[201.130.128.222]:59123: 554 5.7.1 <a@b.example>: Relay access denied; from=<> to=<a@b.example> proto=ESMTP helo=<x>", TL_ANY_KIND, { "client_ip", "201.130.128.222" }, { "from", "" }, { "from_set", "1" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: DATA from a.example[192.0.2.1]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce; from=<> to=<r@example.net> proto=ESMTP helo=<a>", ML_EV_NOQUEUE_REJECT),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: END-OF-MESSAGE from a.example[192.0.2.1]: 552 5.3.4 Message size exceeds fixed limit; from=<s@a> to=<r@b> proto=ESMTP helo=<a>", ML_EV_NOQUEUE_REJECT, { "dsn", "5.3.4" }),
	/* Truncated: no trailer at all, and a damaged bare helo=. */
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from unknown[1.2.3.4]: 554 5.7.1 Service unavailable", ML_EV_NOQUEUE_REJECT, { "reason_text", "554 5.7.1 Service unavailable" }, { "to", "" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject: RCPT from example.com[192.0.43.10]: 450 4.7.1 : Helo command rejected: Host not found; from=<> to=<> proto=ESMTP helo=", ML_EV_NOQUEUE_REJECT, { "reason_text", "450 4.7.1 : Helo command rejected: Host not found" }),
	/* discard and milter-reject block the mail too. */
	TL_ROW("postfix/smtpd", "NOQUEUE: discard: MAIL from ccm231.constantcontact.com[208.75.123.231]: <bsdbdsfbw==_4343_sdfbddw==@in.constantcontact.com>: Sender address SPAM; from=<bsdbdsfbw==_4343_sdfbddw==@in.constantcontact.com> proto=ESMTP helo=<ccm231.constantcontact.com>", ML_EV_NOQUEUE_REJECT, { "from", "bsdbdsfbw==_4343_sdfbddw==@in.constantcontact.com" }, { "dsn", "" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: milter-reject: RCPT from mailrelay.example.com[8.8.8.8]: 451 4.7.1 Greylisting in action, please come back later; from=<support@example.com> to=<example@example.org> proto=ESMTP helo=<mailrelay.example.com>", ML_EV_NOQUEUE_REJECT, { "dsn", "4.7.1" }),
	/* Actions that do not refuse the mail, logged before a queue ID exists. */
	TL_ROW("postfix/smtpd", "NOQUEUE: filter: RCPT from unknown[85.25.255.255]: <mail@sender.com>: Sender address triggers FILTER smtp-amavis:[127.0.0.1]:10024; from=<mail@sender.com> to=<user@domain.com> proto=ESMTP helo=<plutoapp.biz>", ML_EV_SKIP, { "reason", "smtpd noqueue action" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: reject_warning: RCPT from example.com[93.184.216.34]: 553 5.7.1 <sender@example.com>: Sender address rejected: not owned by user ph123; from=<sender@example.com> to=<recipient@example.com> proto=ESMTP helo=<example.com>", ML_EV_SKIP, { "reason", "smtpd noqueue action" }, { "qid", "" }),
	/* A before-queue filter refused the mail (no client on that line). */
	TL_ROW("postfix/smtpd", "proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, contact postmaster@example.com, id=31619-02 - spam; from=<> to=<user2@example2.com> proto=SMTP helo=<17.33.12.53>", ML_EV_NOQUEUE_REJECT, { "reason_text", "554 5.7.0 Reject, contact postmaster@example.com, id=31619-02 - spam" }, { "dsn", "5.7.0" }, { "to", "user2@example2.com" }),
	TL_ROW("postfix/smtpd", "proxy-accept: END-OF-MESSAGE: 250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as A0320E00C3; from=<visitbrussels-huticd1jyidyhxuy1y@cmail19.com> to=<user@test.com> proto=ESMTP helo=<mx139.g.outbound.createsend.com>", ML_EV_SKIP, { "reason", "smtpd proxy" }, { "qid", "" }),
	/* postscreen's dummy SMTP engine: ", "-separated trailer. */
	TL_ROW("postfix/postscreen", "NOQUEUE: reject: RCPT from [27.157.200.233]:4984: 550 5.7.1 Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org; from=<hcdvbnm@qhhn.com>, to=<4ECEA00F.9040306@example.com>, proto=ESMTP, helo=<qhhn.com>", ML_EV_NOQUEUE_REJECT, { "client_name", "" }, { "client_ip", "27.157.200.233" }, { "reason_text", "550 5.7.1 Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org" }, { "from", "hcdvbnm@qhhn.com" }, { "to", "4ECEA00F.9040306@example.com" }, { "helo", "qhhn.com" }),
	TL_ROW("postfix/postscreen", "NOQUEUE: reject: CONNECT from [1.2.3.4]:1337: too many connections", ML_EV_SKIP, { "reason", "postscreen" }, { "qid", "" }),
	/* A damaged postscreen line without trailer carries no mail: chatter. */
	TL_ROW("postfix/postscreen", "NOQUEUE: reject: RCPT from [157.122.148.242]:47407: 550 5.7.1 Service unavailable; client [157.122.148.242] blocked using bl.spamcop.net; f$", ML_EV_SKIP, { "reason", "postscreen" }, { "qid", "" }),
};

TL_PT_TEST(smtpd_noqueue_reject, SMTPD_NOQUEUE_REJECT_ROWS, parse_row, kind_name)

static const tl_pt_row_t SMTPD_QID_ACTIONS_ROWS[] = {
	TL_ROW("postfix/smtpd", "00ADB3C0899: reject: RCPT from example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address rejected: User unknown in local recipient table; from=<xxxxxx@example.com> to=<sales@server.com> proto=ESMTP helo=<mail.example.com>", ML_EV_RCPT_REJECT, { "qid", "00ADB3C0899" }, { "status", "blocked" }, { "to", "sales@server.com" }, { "from", "xxxxxx@example.com" }, { "dsn", "5.1.1" }, { "reason_text", "550 5.1.1 <sales@server.com>: Recipient address rejected: User unknown in local recipient table" }),
	/* Refused after the recipients were accepted: the whole message. */
	TL_ROW("postfix/smtpd", "44JCRG5tYPzCqt2: reject: BDAT from signing-milter.example.com[192.0.2.109]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce; from=<> to=<some@example.com> proto=ESMTP helo=<domain.tld>", ML_EV_CLEANUP_REJECT, { "qid", "44JCRG5tYPzCqt2" }, { "status", "blocked" }),
	TL_ROW("postfix/smtpd", "1D8CC1CA0A7F: milter-reject: DATA from 66-220-155-151.mail-mail.facebook.com[192.0.2.151]: 550 5.7.1 Command rejected; from=<security@mail.example.com> to=<hostmaster@example.com> proto=ESMTP helo=<192-0-2-151.mail-mail.example.com>", ML_EV_CLEANUP_REJECT, { "dsn", "5.7.1" }),
	TL_ROW("postfix/smtpd", "D6DDA23B0F: milter-reject: RCPT from a.example[192.0.2.1]: 550 5.7.1 No; from=<s@a> to=<r@b> proto=ESMTP helo=<a>", ML_EV_RCPT_REJECT),
	TL_ROW("postfix/smtpd", "D6DDA23B0F: discard: RCPT from a.example[192.0.2.1]: <r@b>: Recipient address triggers DISCARD action; from=<s@a> to=<r@b> proto=ESMTP helo=<a>", ML_EV_CLEANUP_REJECT, { "status", "blocked" }),
	/* check_*_access HOLD: quarantined. */
	TL_ROW("postfix/smtpd", "D6DDA23B0F: hold: RCPT from a.example[192.0.2.1]: <s@a>: Sender address triggers HOLD action; from=<s@a> to=<r@b> proto=ESMTP helo=<a>", ML_EV_HOLD, { "status", "quarantined" }, { "reason_text", "<s@a>: Sender address triggers HOLD action" }, { "to", "r@b" }),
	/* FILTER, REDIRECT, WARN: the message goes on; the line is kept. */
	TL_ROW("postfix/smtpd", "B42E77AB32: filter: RCPT from 42-64-53-170.subs.proxad.net[42.64.53.170]: <archive@senderdomain.com>: Recipient address triggers FILTER relay:[smtp01.example.org]; from=<youssefh@senderdomain.com> to=<archive@senderdomain.com> proto=ESMTP helo=<[172.18.0.2]>", ML_EV_INFO, { "qid", "B42E77AB32" }, { "helo", "[172.18.0.2]" }),
	TL_ROW("postfix/smtpd", "B42E77AB32: redirect: RCPT from a.example[192.0.2.1]: <r@b>: Recipient address triggers REDIRECT x@y; from=<s@a> to=<r@b> proto=ESMTP helo=<a>", ML_EV_INFO),
	TL_ROW("postfix/smtpd", "B42E77AB32: reject_warning: RCPT from a.example[192.0.2.1]: 554 5.7.1 <r@b>: Relay access denied; from=<s@a> to=<r@b> proto=ESMTP helo=<a>", ML_EV_INFO),
	/* A queue-ID line smtpd is not known to write. */
	TL_ROW("postfix/smtpd", "B42E77AB32: frobnicated", ML_EV_UNKNOWN, { "reason", "smtpd: unrecognised" }),
};

TL_PT_TEST(smtpd_qid_actions, SMTPD_QID_ACTIONS_ROWS, parse_row, kind_name)

static const tl_pt_row_t SMTPD_CHATTER_ROWS[] = {
	TL_ROW("postfix/smtpd", "connect from 061238241086.static.ctinets.com[61.238.241.86]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "disconnect from unknown[72.10.165.66] ehlo=2 starttls=1 mail=1 rcpt=0/1 data=0/1 quit=1 commands=5/7", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "lost connection after STARTTLS from unknown[72.13.58.7]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "lost connection after DATA (7774180 bytes) from unknown[72.13.58.7]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "timeout after END-OF-MESSAGE from unknown[72.13.58.7]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "improper command pipelining after EHLO from unknown[2001:968:9999:20:415c:cd2:da8e:d0cf]: MAIL FROM:<>\\nRCPT TO:<tom@example.net>\\nDATA\\n", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "too many errors after RCPT from example.com[192.0.2.11]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "bare <LF> received after CONNECT from example.net[1.2.3.4]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "discarding EHLO keywords: CHUNKING ETRN DSN 8BITMIME", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "NOQUEUE: lost connection after CONNECT from unknown[192.0.2.25]", ML_EV_SKIP, { "reason", "smtpd connection" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "Anonymous TLS connection established from julie.example.com[10.163.89.202]: TLSv1.2 with cipher AECDH-AES256-SHA (256/256 bits)", ML_EV_SKIP, { "reason", "smtpd tls" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "SSL_accept error from unknown[72.13.58.7]: lost connection", ML_EV_SKIP, { "reason", "smtpd tls" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "warning: hostname exemple.com does not resolve to address 185.14.29.32", ML_EV_SKIP, { "reason", "smtpd warning" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "warning: ec2-3-84-57-208.compute-1.amazonaws.com[3.84.57.208]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", ML_EV_SKIP, { "reason", "smtpd warning" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "warning: non-SMTP command from unknown[192.168.1.1]: GET / HTTP/1.1", ML_EV_SKIP, { "reason", "smtpd warning" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "fatal: no SASL authentication mechanisms", ML_EV_SKIP, { "reason", "smtpd warning" }, { "qid", "" }),
	/* Diagnostics the smtpd_check test driver writes. */
	TL_ROW("postfix/smtpd", "mapping DSN status 4.1.1 into Client host status 4.0.0", ML_EV_SKIP, { "reason", "smtpd diagnostic" }, { "qid", "" }),
	TL_ROW("postfix/smtpd", "ignoring DNS RR: xn--1xa.porcupine.org. TTL IN MX 10 spike.porcupine.org.", ML_EV_SKIP, { "reason", "smtpd diagnostic" }, { "qid", "" }),
	/* A warning about one message is kept with it. */
	TL_ROW("postfix/smtpd", "warning: 4104E3D: queue file size limit exceeded", ML_EV_INFO, { "qid", "4104E3D" }),
	TL_ROW("postfix/smtpd", "something smtpd never said", ML_EV_UNKNOWN, { "reason", "smtpd: unrecognised" }),
};

TL_PT_TEST(smtpd_chatter, SMTPD_CHATTER_ROWS, parse_row, kind_name)

static const tl_pt_row_t CLEANUP_MESSAGE_ID_ROWS[] = {
	TL_ROW("postfix/cleanup", "0F5383D: message-id=<544D2523.30609@rhsoft.net>", ML_EV_MSGID, { "qid", "0F5383D" }, { "msgid", "544D2523.30609@rhsoft.net" }),
	TL_ROW("postfix/cleanup", "4104E3D: message-id=<>", ML_EV_MSGID, { "msgid", "" }),
	TL_ROW("postfix/cleanup", "ADD961003206D: message-id==?UTF-8?B?PDE5?=? =?UTF-8?B?MTIyMDExMjkxNjYxMUBDbGllbnQtMDQ1LnJ1YmluZXR0ZXJpZS5sb2NhbD4=?=", ML_EV_MSGID, { "msgid", "=?UTF-8?B?PDE5?=? =?UTF-8?B?MTIyMDExMjkxNjYxMUBDbGllbnQtMDQ1LnJ1YmluZXR0ZXJpZS5sb2NhbD4=?=" }),
	TL_ROW("postfix/cleanup", "4Pbf065nmSz3tBr: message-id=<[9ff2fa8fe462473e88b0ea6ad10797e6-JFBVALKQOJXWILKNK4YVA7CGMFWWS3DZPRAWG5DJOZUXI6KSMVYG64TUIR4W4YLNNFRXYRLYN5JW25DQ@microsoft.com]>", TL_ANY_KIND, { "msgid", "[9ff2fa8fe462473e88b0ea6ad10797e6-JFBVALKQOJXWILKNK4YVA7CGMFWWS3DZPRAWG5DJOZUXI6KSMVYG64TUIR4W4YLNNFRXYRLYN5JW25DQ@microsoft.com]" }),
	/* A damaged line with a stray quote after the id. */
	TL_ROW("postfix/cleanup", "98AEDA06BC: message-id=<mx6uP6mfTTuDn6rxYiVTog@ismtpd0036p1iad1.sendgrid.net>\"", TL_ANY_KIND, { "msgid", "mx6uP6mfTTuDn6rxYiVTog@ismtpd0036p1iad1.sendgrid.net" }),
	TL_ROW("postfix/cleanup", "1234567890A: resent-message-id=<r1@example.com>", ML_EV_MSGID, { "msgid", "r1@example.com" }),
	TL_ROW("postfix/cleanup", "1234567890A: message-id=no-brackets@example.com", TL_ANY_KIND, { "msgid", "no-brackets@example.com" }),
};

TL_PT_TEST(cleanup_message_id, CLEANUP_MESSAGE_ID_ROWS, parse_row, kind_name)

static const tl_pt_row_t CLEANUP_HEADER_ROWS[] = {
	TL_ROW("postfix/cleanup", "D8B07E3DB6: warning: header Subject: https://drive.google.com/file/d/0B8wxcvprDYVdlVsdf1kzOVkdisarmed/view?usp=sharing from o1678917x173.outbound-mail.sendgrid.net[167.89.17.173]; from=<bounces+2320708-7653-frank.test=hsdjasdd.co.uk@sendgrid.net> to=<frank.test@hsdjasdd.co.uk> proto=ESMTP helo=<o1678917x173.outbound-mail.sendgrid.net>", ML_EV_HEADER, { "qid", "D8B07E3DB6" }, { "header_name", "Subject" }, { "subject", "https://drive.google.com/file/d/0B8wxcvprDYVdlVsdf1kzOVkdisarmed/view?usp=sharing" }, { "client_name", "o1678917x173.outbound-mail.sendgrid.net" }, { "client_ip", "167.89.17.173" }, { "from", "bounces+2320708-7653-frank.test=hsdjasdd.co.uk@sendgrid.net" }, { "to", "frank.test@hsdjasdd.co.uk" }),
	/* Encoded words untouched; trailer of a local submission. */
	TL_ROW("postfix/cleanup", "D95341E50350: info: header Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?Q?_=E2=80=92?= test from local; from=<from@example.com> to=<to@example.com>", ML_EV_HEADER, { "subject", "=?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?Q?_=E2=80=92?= test" }, { "client_name", "" }, { "from", "from@example.com" }, { "to", "to@example.com" }),
	/* The value itself holds " from " and "; ": the last " from ORIGIN;" ends it. */
	TL_ROW("postfix/cleanup", "C6E0DDB74006: info: header Subject: Re: mail from Bob; from the office from mail.example.com[2001:db8::1]; from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<mail.example.com>", ML_EV_HEADER, { "subject", "Re: mail from Bob; from the office" }, { "client_ip", "2001:db8::1" }, { "helo", "mail.example.com" }),
	/* Another header: the value is in reason_text, not subject. */
	TL_ROW("postfix/cleanup", "413E164734: info: header Content-Disposition: attachment;? filename=\"=?UTF-8?B?SU5WT0lDRV/Dtl/DpF/DvF/igqxfZGhrZmpzX2pkb2ZrYWpzbGRrZmpfbHNq?= =?UTF-8?B?ZGFsa2ZqaF9hZGprZnNhaGZkamtfR3LDvMOfZV9paGtmaHNha2pfZGZhaHNf?= =?UTF-8?B? from localhost[127.0.0.1]; from=<from@example.com> to=<to@example.com> proto=ESMTP helo=<localhost.localdomain>", ML_EV_HEADER, { "header_name", "Content-Disposition" }, { "subject", "" }, { "reason_text", "attachment;? filename=\"=?UTF-8?B?SU5WT0lDRV/Dtl/DpF/DvF/igqxfZGhrZmpzX2pkb2ZrYWpzbGRrZmpfbHNq?= =?UTF-8?B?ZGFsa2ZqaF9hZGprZnNhaGZkamtfR3LDvMOfZV9paGtmaHNha2pfZGZhaHNf?= =?UTF-8?B?" }, { "client_name", "localhost" }),
	/* "From:" header; body line; truncated line without trailer. */
	TL_ROW("postfix/cleanup", "C6E0DDB74006: info: header From: Alice <alice@example.com> from mx.example.com[192.0.2.9]; from=<alice@example.com> to=<bob@example.net> proto=ESMTP helo=<mx.example.com>", TL_ANY_KIND, { "header_name", "From" }, { "reason_text", "Alice <alice@example.com>" }),
	TL_ROW("postfix/cleanup", "C6E0DDB74006: warning: body Click here to win from mx.example.com[192.0.2.9]; from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<mx.example.com>", ML_EV_HEADER, { "header_name", "body" }, { "reason_text", "Click here to win" }),
	TL_ROW("postfix/cleanup", "C6E0DDB74006: info: header Subject: cut short fro", ML_EV_HEADER, { "subject", "cut short fro" }, { "from", "" }),
};

TL_PT_TEST(cleanup_header, CLEANUP_HEADER_ROWS, parse_row, kind_name)

/* a body rule carries no subject */
static const tl_pt_row_t CLEANUP_BODY_RULE_ROWS[] = {
	TL_ROW("postfix/cleanup", "3A4B5C6D7E: discard: body Subject: not a header from mx.spam.example[203.0.113.9]; from=<s@spam.example> to=<bob@example.com> proto=ESMTP helo=<mx.spam.example>: body rule", ML_EV_CLEANUP_REJECT, { "subject", "" }, { "reason_text", "body rule" }),
};

/*
 * Every cleanup action that logs a header names the subject (Postfix 3.7
 * shapes: "QID: ACTION: header Subject: VALUE from ORIGIN; trailer[: TEXT]"),
 * also when the value itself holds a whole " from h[ip]; from=<x> to=<y>".
 * Code, not a table: the lines are the product of the actions and the
 * subjects, made here.
 */
static void cleanup_subject_actions(void **state)
{
	(void)state;
	static const struct {
		const char *action, *text;
		ml_event_kind_t kind;
	} acts[] = {
		{ "reject", "5.7.1 Message content rejected", ML_EV_CLEANUP_REJECT },
		{ "discard", "spam rule 12", ML_EV_CLEANUP_REJECT },
		{ "hold", "quarantined by header_checks", ML_EV_HOLD },
		{ "warning", NULL, ML_EV_HEADER },
		{ "info", NULL, ML_EV_HEADER },
		{ "redirect", "trap@example.com", ML_EV_INFO },
		{ "filter", "smtp:[127.0.0.1]:10025", ML_EV_INFO },
		{ "replace", "Subject: [SPAM] Cheap pills", ML_EV_INFO },
		{ "prepend", "X-Flag: yes", ML_EV_INFO },
		{ "bcc", "archive@example.com", ML_EV_INFO },
	};
	static const char *const subjects[] = {
		"Cheap pills",
		"=?UTF-8?B?w5xiZXJ3ZWlzdW5n?= from mail.z.example[192.0.2.99]; from=<x@z.example> to=<y@example.com>",
		"Re: mail from Bob; from the office",
		"Fwd: from h.example[192.0.2.7]; from=<a@b.example> to=<c@d.example>: see below",
	};
	char line[1024];
	for (size_t a = 0; a < ML_ARRAY_LEN(acts); a++)
		for (size_t k = 0; k < ML_ARRAY_LEN(subjects); k++) {
			snprintf(line, sizeof line,
				 "3A4B5C6D7E: %s: header Subject: %s from mx.spam.example[203.0.113.9]; "
				 "from=<s@spam.example> to=<bob@example.com> proto=ESMTP helo=<mx.spam.example>%s%s",
				 acts[a].action, subjects[k], acts[a].text ? ": " : "", acts[a].text ? acts[a].text : "");
			ml_event_t ev = P("postfix/cleanup", line);
			if (ev.kind != acts[a].kind)
				fail_msg("%s: kind %s", line, kind_name(ev.kind));
			EQ(ev.qid, "3A4B5C6D7E");
			EQ(ev.header_name, "Subject");
			EQ(ev.subject, subjects[k]);
			EQ(ev.client_ip, "203.0.113.9");
			EQ(ev.from, "s@spam.example");
			EQ(ev.to, "bob@example.com");
			EQ(ev.helo, "mx.spam.example");
			if (acts[a].kind == ML_EV_CLEANUP_REJECT || acts[a].kind == ML_EV_HOLD)
				EQ(ev.reason_text, acts[a].text);
		}
	TL_PT_RUN(CLEANUP_BODY_RULE_ROWS, parse_row, kind_name);
}

static const tl_pt_row_t CLEANUP_HOLD_REJECT_ROWS[] = {
	TL_ROW("postfix/cleanup", "C6E0DDB74006: hold: header Subject: You won from mx.example.com[192.0.2.9]; from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<mx.example.com>: quarantined by header_checks", ML_EV_HOLD, { "status", "quarantined" }, { "subject", "You won" }, { "from", "a@example.com" }, { "to", "b@example.net" }, { "reason_text", "quarantined by header_checks" }),
	TL_ROW("postfix/cleanup", "C6E0DDB74006: hold: header X-Spam-Flag: YES from local; from=<a@example.com> to=<b@example.net>", ML_EV_HOLD, { "reason_text", "" }, { "header_name", "X-Spam-Flag" }),
	TL_ROW("postfix/cleanup", "C6E0DDB74006: reject: header Subject: Viagra from mx.example.com[192.0.2.9]; from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<mx.example.com>: 5.7.1 Message content rejected", ML_EV_CLEANUP_REJECT, { "status", "blocked" }, { "reason_text", "5.7.1 Message content rejected" }, { "dsn", "5.7.1" }, { "subject", "Viagra" }),
	TL_ROW("postfix/cleanup", "C6E0DDB74006: discard: body spam spam from mx.example.com[192.0.2.9]; from=<a@example.com> to=<b@example.net> proto=ESMTP helo=<mx.example.com>: go away", ML_EV_CLEANUP_REJECT, { "reason_text", "go away" }),
	TL_ROW("postfix/cleanup", "4104E3D: milter-reject: END-OF-MESSAGE from 061238241086.static.ctinets.com[61.238.241.86]: 5.7.1 Blocked by SpamAssassin; from=<wumt5@cchfdc.com> to=<voorzitter@example.com> proto=ESMTP helo=<ecsolved.com>", ML_EV_CLEANUP_REJECT, { "reason_text", "5.7.1 Blocked by SpamAssassin" }, { "dsn", "5.7.1" }, { "client_ip", "61.238.241.86" }, { "to", "voorzitter@example.com" }),
	TL_ROW("postfix/cleanup", "B42E77AB32: milter-reject: END-OF-MESSAGE from 42-64-53-170.subs.proxad.net[42.64.53.170]: 4.7.1 Ratelimit \"05\" exceeded; from=<youssefh@senderdomain.com> to=<archive@senderdomain.com> proto=ESMTP helo=<[172.18.0.2]>", TL_ANY_KIND, { "reason_text", "4.7.1 Ratelimit \"05\" exceeded" }),
	TL_ROW("postfix/cleanup", "E89FA2DEDA: milter-hold: END-OF-MESSAGE from srv05.source.com[10.11.12.13]: milter triggers HOLD action; from=<> to=<this_user@this.domain.com> proto=ESMTP helo=<this.domain.com>", ML_EV_HOLD, { "status", "quarantined" }, { "reason_text", "milter triggers HOLD action" }, { "to", "this_user@this.domain.com" }),
	TL_ROW("postfix/cleanup", "E89FA2DEDA: milter-discard: END-OF-MESSAGE from local: milter triggers DISCARD action; from=<a@b> to=<c@d>", ML_EV_CLEANUP_REJECT, { "client_name", "" }),
	/* Rewrites and redirects change nothing we model. */
	TL_ROW("postfix/cleanup", "4104E3D: milter-header-redirect: header X-Spam-Status: Yes, score=39.3 required=5.0 tests=ADVANCE_FE from 061238241086.static.ctinets.com[61.238.241.86]; from=<wumt5@cchfdc.com> to=<voorzitter@example.com> proto=ESMTP helo=<ecsolved.com>: tom@example.com", ML_EV_INFO, { "qid", "4104E3D" }),
	TL_ROW("postfix/cleanup", "48rT2v1hQrz1J0N: prepend: header X-Spam-Status: Yes, score=45.1 required=10.0 tests=ADVANCE_FE from mx2.example.org[192.0.2.41]; from=<SRS0=1sN3=5P=example.org=noreply@srs.example.org> to=<recipient@example.net> proto=ESMTP helo=<mx2.example.org>: X-Spam-Status: Yes", ML_EV_INFO, { "from", "SRS0=1sN3=5P=example.org=noreply@srs.example.org" }),
	TL_ROW("postfix/cleanup", "B42E77AB32: replace: header Received: from [172.18.0.2] (42-64-53-170.subs.proxad.net [42.64.53.170])?\?(Authenticated sender: user42@smtp01.example.com)?\?by smtp01.example.org (Postfix) with ESMTPA id D89B from 42-64-53-170.subs.proxad.net[42.64.53.170]; from=<youssefh@senderdomain.com> to=<archive@senderdomain.com> proto=ESMTP helo=<[172.18.0.2]>: Received: from [172.18.0.2]", ML_EV_INFO, { "header_name", "Received" }, { "client_ip", "42.64.53.170" }),
	/* Warnings: about a message → INFO; general → SKIP. */
	TL_ROW("postfix/cleanup", "warning: 9BECF3F19D: sender_canonical_maps map lookup problem for sender@example.com -- message not accepted, try again later", ML_EV_INFO, { "qid", "9BECF3F19D" }),
	TL_ROW("postfix/cleanup", "warning: dict_ldap_get_values[1]: DN uid=mguiraud,ou=people,dc=neotion,dc=com not found, skipping ", ML_EV_SKIP, { "reason", "cleanup warning" }, { "qid", "" }),
	TL_ROW("postfix/cleanup", "9BECF3F19D: something new", ML_EV_UNKNOWN, { "reason", "cleanup: unrecognised" }),
};

TL_PT_TEST(cleanup_hold_reject, CLEANUP_HOLD_REJECT_ROWS, parse_row, kind_name)

static const tl_pt_row_t QMGR_LINES_ROWS[] = {
	TL_ROW("postfix/qmgr", "0F5383D: from=<owner-postfix-users@postfix.org>, size=5360, nrcpt=1 (queue active)", ML_EV_QMGR_FROM, { "qid", "0F5383D" }, { "from", "owner-postfix-users@postfix.org" }, { "from_set", "1" }, { "size", "5360" }, { "nrcpt", "1" }),
	TL_ROW("postfix/qmgr", "1FEE23DED3: from=<>, size=22738, nrcpt=1 (queue active)", ML_EV_QMGR_FROM, { "from", "" }, { "from_set", "1" }, { "size", "22738" }),
	TL_ROW("postfix/qmgr", "1234567890A: from=user@example.com, size=1234, nrcpt=1 (queue active)", TL_ANY_KIND, { "from", "user@example.com" }),
	TL_ROW("postfix-secondary/qmgr", "3mPVKl0Mhjz7sXv: from=<>, size=2666, nrcpt=2 (queue active)", TL_ANY_KIND, { "nrcpt", "2" }),
	TL_ROW("postfix/qmgr", "0F5383D: removed", ML_EV_REMOVED, { "qid", "0F5383D" }),
	TL_ROW("postfix/qmgr", "98AEDA06BC: removed\"", ML_EV_REMOVED),  /* damaged in the corpus */
	TL_ROW("postfix/qmgr", "585BC3F: from=<>, status=expired, returned to sender", ML_EV_EXPIRED, { "from_set", "1" }, { "from", "" }),
	TL_ROW("postfix/qmgr", "66C15648577B: from=<uvnhbl@yahoo.com.tw>, status=expired, returned to sender", ML_EV_EXPIRED, { "from", "uvnhbl@yahoo.com.tw" }),
	TL_ROW("postfix/qmgr", "66C15648577B: from=<a@b>, status=force-expired, returned to sender", ML_EV_EXPIRED),
	TL_ROW("postfix/qmgr", "2DC5552A34: to=<user@yahoo.com>, relay=none, delay=63495, delays=63350/144/0/0, dsn=4.4.2, status=deferred (delivery temporarily suspended: lost connection with mta7.am0.yahoodns.net[98.136.216.22] while sending RCPT TO)", ML_EV_DELIVERY, { "status", "delayed" }, { "reason_text", "delivery temporarily suspended: lost connection with mta7.am0.yahoodns.net[98.136.216.22] while sending RCPT TO" }, { "delay_ms", "63495000" }),
	TL_ROW("postfix/qmgr", "ED06590130AA1C9D6D862: skipped, still being delivered", ML_EV_INFO),
	TL_ROW("postfix/qmgr", "warning: bounce_queue_lifetime is larger than maximal_queue_lifetime - adjusting bounce_queue_lifetime", ML_EV_SKIP, { "reason", "qmgr warning" }, { "qid", "" }),
	TL_ROW("postfix/qmgr", "0F5383D: from=<a@b>, status=mangled", ML_EV_UNKNOWN),
};

TL_PT_TEST(qmgr_lines, QMGR_LINES_ROWS, parse_row, kind_name)

static const tl_pt_row_t DELIVERY_LINES_ROWS[] = {
	TL_ROW("postfix/smtp", "0D9633D: to=<jos@example.com>, orig_to=<bestuur@example.com>, relay=mail1.example.net[10.74.103.11]:25, delay=11, delays=5.4/0.06/5.1/0.03, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as F12DF84004)", ML_EV_DELIVERY, { "qid", "0D9633D" }, { "to", "jos@example.com" }, { "orig_to", "bestuur@example.com" }, { "relay", "mail1.example.net[10.74.103.11]:25" }, { "delay_ms", "11000" }, { "dsn", "2.0.0" }, { "status", "delivered" }, { "reason_text", "250 2.0.0 Ok: queued as F12DF84004" }, { "local_delivery", "0" }),
	/* Nested parentheses: the reason runs to the line's final ')'. */
	TL_ROW("postfix/smtp", "A0E85200BD: to=<whatever-user@lists.example.org>, relay=open.example.nl[10.49.140.10]:25, delay=2.3, delays=0.25/0.05/2/0.04, dsn=4.2.0, status=deferred (host open.example.nl[10.49.140.10] said: 450 4.2.0 <whatever-user@lists.example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/lists.example.org.html (in reply to RCPT TO command))", TL_ANY_KIND, { "status", "delayed" }, { "delay_ms", "2300" }, { "reason_text", "host open.example.nl[10.49.140.10] said: 450 4.2.0 <whatever-user@lists.example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/lists.example.org.html (in reply to RCPT TO command)" }),
	TL_ROW("postfix/smtp", "1FEE23DED3: to=<dest@domain.com>, relay=relay.domain.com[22.33.44.55]:25, delay=0.06, delays=0/0/0.05/0.01, dsn=5.7.1, status=bounced (host relay.domain.com[22.33.44.55] said: 554 5.7.1 <dest@domain.com>: Relay access denied (in reply to RCPT TO command))", TL_ANY_KIND, { "status", "bounced" }, { "delay_ms", "60" }),
	/* An unbalanced ')' inside the remote reply does not end the reason. */
	TL_ROW("postfix/smtp", "1FEE23DED3: to=<d@x>, relay=x[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host x[192.0.2.1] said: 550 5.1.1 :-) no such user (in reply to RCPT TO command))", TL_ANY_KIND, { "reason_text", "host x[192.0.2.1] said: 550 5.1.1 :-) no such user (in reply to RCPT TO command)" }),
	/* Truncated: no closing parenthesis. */
	TL_ROW("postfix/smtp", "1FEE23DED3: to=<d@x>, relay=none, delay=315562, delays=315532/0/30/0, dsn=4.4.1, status=deferred (connect to gmail.cm[172.217.25.69]:25: Connection timed", ML_EV_DELIVERY, { "reason_text", "connect to gmail.cm[172.217.25.69]:25: Connection timed" }, { "delay_ms", "315562000" }),
	/* Saturation of an absurd delay. */
	TL_ROW("postfix/smtp", "1FEE23DED3: to=<d@x>, relay=none, delay=99999999999, delays=0/0/0/0, dsn=4.4.1, status=deferred (x)", TL_ANY_KIND, { "delay_ms", "4294967295" }),
	/* Bare addresses (local, older versions) and a quoted local part. */
	TL_ROW("postfix/local", "2A22C263F6: to=user@hostname.example.com, orig_to=root@localhost, relay=local, delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent (delivered to command: procmail -a \"$EXTENSION\")", TL_ANY_KIND, { "to", "user@hostname.example.com" }, { "orig_to", "root@localhost" }, { "reason_text", "delivered to command: procmail -a \"$EXTENSION\"" }, { "delay_ms", "70" }, { "local_delivery", "1" }),
	TL_ROW("postfix/smtp", "7EE668039: to=<\"john doe, jr\"@example.com>, relay=mx.example.com[192.0.2.5]:25, conn_use=2, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)", ML_EV_DELIVERY, { "to", "\"john doe, jr\"@example.com" }, { "relay", "mx.example.com[192.0.2.5]:25" }, { "delay_ms", "500" }),
	/* tls= (Postfix 3.10) between delays and dsn. */
	TL_ROW("postfix/smtp", "7EE668039: to=<user@example.com>, relay=mail.example.com[1.2.3.4]:25, delay=3.6, delays=0.08/0.02/0.85/0.14, tls=dane/!requiretls:nocertmatch, dsn=2.1.5, status=sent (250 2.0.0 Ok: queued as 153053D)", TL_ANY_KIND, { "dsn", "2.1.5" }),
	/* Status words. */
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=sent (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "delivered" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=deliverable (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "delivered" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=deferred (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "delayed" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=SOFTBOUNCE (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "delayed" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=bounced (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "bounced" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=undeliverable (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "bounced" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=undeliverable-but-not-cached (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "bounced" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=expired (User unknown in virtual alias table)", ML_EV_DELIVERY, { "status", "expired" }, { "reason_text", "User unknown in virtual alias table" }),
	TL_ROW("postfix/error", "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=weird (x)", ML_EV_UNKNOWN, { "reason", "error: unrecognised" }),
	TL_ROW("postfix/smtp", "3E29030F8637E: to=<user@yahoo.com>, relay=none", ML_EV_UNKNOWN),
	/* Verify probes (status=deliverable) and the discard transport. */
	TL_ROW("postfix/smtp", "F39BCE00C3: to=<info@test2.com>, relay=mail.domain.test[94.23.191.34]:25, delay=6.3, delays=0.04/0.01/6/0.19, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)", TL_ANY_KIND, { "status", "delivered" }),
	TL_ROW("postfix/discard", "25F2E5E061: to=<george.desantis@test.example.com>, relay=none, delay=0.05, delays=0.05/0/0/0, dsn=2.0.0, status=sent (test.example.com)", ML_EV_DELIVERY, { "reason_text", "test.example.com" }),
};

TL_PT_TEST(delivery_lines, DELIVERY_LINES_ROWS, parse_row, kind_name)

static const tl_pt_row_t LOCAL_DELIVERY_FLAG_ROWS[] = {
	TL_ROW("postfix/local", "4PbMVH1gW1z3tBr: to=<root@mail.uhu-banane.de>, relay=local, delay=0.05, delays=0.01/0.03/0/0.01, dsn=2.0.0, status=sent (forwarded as 4PbMVH1yTpz3tG3)", ML_EV_DELIVERY, { "local_delivery", "1" }),
	TL_ROW("postfix/virtual", "B657F2DB195D: to=<postmaster@example.com>, relay=virtual, delay=0.52, delays=0.51/0.01/0/0, dsn=2.0.0, status=sent (delivered to maildir)", ML_EV_DELIVERY, { "local_delivery", "1" }),
	TL_ROW("postfix/lmtp", "A0320E00C3: to=<user@test.com>, relay=mail.koalabs.org[private/dovecot-lmtp], delay=0.32, delays=0.11/0.01/0.01/0.2, dsn=2.0.0, status=sent (250 2.0.0 <user@test.com> z5FOLrRhDVpddgAABvoInA Saved)", ML_EV_DELIVERY, { "local_delivery", "1" }),
	TL_ROW("postfix/smtp", "AD6E41CDC05C: to=<admin@example.com>, relay=sub1.example.com[private/dovecot-lmtp], delay=0.15, delays=0.04/0/0.02/0.08, dsn=2.0.0, status=sent (250 2.0.0 <admin@example.com> qYyyBMsl9FRuZQAAA15QOA Saved)", ML_EV_DELIVERY, { "local_delivery", "1" }),
	TL_ROW("postfix/pipe", "0F5383D: to=<tom@example.com>, relay=dovecot, delay=4.3, delays=4.1/0.01/0/0.15, dsn=2.0.0, status=sent (delivered via dovecot service)", ML_EV_DELIVERY, { "local_delivery", "1" }),
	TL_ROW("postfix/pipe", "E8BF5E00C4: to=<dmarc-aggrep@ngyn.org>, relay=dmarc-rua, delay=0.04, delays=0.03/0.01/0/0.01, dsn=2.0.0, status=deliverable (delivers to command: /srv/modoboa/env/bin/python)", ML_EV_DELIVERY, { "local_delivery", "0" }),
	TL_ROW("postfix/amavis/smtp", "4PbT8Q6bKnz3tBr: to=<user01.test@uhu-banane.net>, orig_to=<frank@brehm-berlin.de>, relay=127.0.0.1[127.0.0.1]:10024, delay=2.3, delays=0.46/0.02/0.01/1.8, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4PbT8T0ZN5z3tG3)", ML_EV_DELIVERY, { "local_delivery", "0" }),
	TL_ROW("postfix/smtp", "5270320179: to=<hebj@telia.com>, relay=mail.telia.com[81.236.60.210]:25, delay=2017, delays=0.1/2017/0.03/0.05, dsn=2.0.0, status=sent (250 2.0.0 6FVIjIMwUJwU66FVIjAEB0 mail accepted for delivery)", ML_EV_DELIVERY, { "local_delivery", "0" }),
};

TL_PT_TEST(local_delivery_flag, LOCAL_DELIVERY_FLAG_ROWS, parse_row, kind_name)

static const tl_pt_row_t SMTP_INFO_AND_CHATTER_ROWS[] = {
	TL_ROW("postfix/smtp", "ED59C3D: host mail2.example.com[1.74.253.23] said: 450 4.7.1 <user@example.com>: Recipient address rejected: Greylisted for 5 minutes (in reply to RCPT TO command)", ML_EV_INFO, { "qid", "ED59C3D" }, { "relay", "mail2.example.com[1.74.253.23]" }, { "reason_text", "450 4.7.1 <user@example.com>: Recipient address rejected: Greylisted for 5 minutes" }, { "dsn", "4.7.1" }, { "status", "" }),
	TL_ROW("postfix/smtp", "40197AA: host mg2.egov.bg[213.91.191.86] refused to talk to me: 450 4.3.2 try again later", ML_EV_INFO, { "relay", "mg2.egov.bg[213.91.191.86]" }, { "reason_text", "450 4.3.2 try again later" }),
	TL_ROW("postfix/smtp", "B99FE3D: lost connection with mx3.hotmail.com[65.55.37.72] while receiving the initial server greeting", ML_EV_INFO, { "qid", "B99FE3D" }, { "status", "" }),
	TL_ROW("postfix/smtp", "78D6B41: conversation with mx00.gmx.com[74.208.5.4] timed out while receiving the initial server greeting", ML_EV_INFO, { "qid", "78D6B41" }, { "status", "" }),
	TL_ROW("postfix/smtp", "B0ADE20FC7: enabling PIX workarounds: disable_esmtp delay_dotcrlf for example.com[93.184.216.34]:25", ML_EV_INFO, { "qid", "B0ADE20FC7" }, { "status", "" }),
	TL_ROW("postfix/smtp", "D0F29603B4: SASL authentication failed; server xyz.example.com[1.2.3.4] said: 535 5.7.8 Error: authentication failed: authentication failure", ML_EV_INFO, { "qid", "D0F29603B4" }, { "status", "" }),
	TL_ROW("postfix/smtp", "connect to intern.nl[194.109.6.98]:25: Connection timed out", ML_EV_SKIP, { "reason", "smtp connection" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "connect to aspmx.l.google.com[2a00:1450:400b:c02::1a]:25: Network is unreachable", ML_EV_SKIP, { "reason", "smtp connection" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "Untrusted TLS connection established to mx4.hotmail.com[65.55.92.136]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-SHA384 (256/256 bits)", ML_EV_SKIP, { "reason", "smtp connection" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "Verified TLS connection established to mail.sys4.de[2001:1578:400:111::7]:25: TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)", ML_EV_SKIP, { "reason", "smtp connection" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "certificate verification failed for mail.example.com[113.169.17.115]:25: self-signed certificate.", ML_EV_SKIP, { "reason", "smtp connection" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "SSL_connect error to mail.example.org[112.63.65.2]:25: lost connection", ML_EV_SKIP, { "reason", "smtp connection" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "warning: problem talking to service private/scache: Connection timed out", ML_EV_SKIP, { "reason", "smtp warning" }, { "qid", "" }),
	TL_ROW("postfix/local", "warning: dict_nis_init: NIS domain name not set - NIS lookups disabled", ML_EV_SKIP, { "reason", "local warning" }, { "qid", "" }),
	TL_ROW("postfix/smtp", "a line smtp never wrote", ML_EV_UNKNOWN, { "reason", "smtp: unrecognised" }),
};

TL_PT_TEST(smtp_info_and_chatter, SMTP_INFO_AND_CHATTER_ROWS, parse_row, kind_name)

static const tl_pt_row_t BOUNCE_NOTIFICATIONS_ROWS[] = {
	TL_ROW("postfix/bounce", "17CCA8044: sender non-delivery notification: ADD2F8052", ML_EV_BOUNCE_NDN, { "qid", "17CCA8044" }, { "other_qid", "ADD2F8052" }),
	TL_ROW("postfix/bounce", "65AFB8B5: sender delivery status notification: 1DF35917", ML_EV_BOUNCE_NDN, { "qid", "65AFB8B5" }, { "other_qid", "1DF35917" }),
	TL_ROW("postfix/bounce", "264FE1A18: sender delay notification: 0A87A1A08", ML_EV_BOUNCE_NDN, { "qid", "264FE1A18" }, { "other_qid", "0A87A1A08" }),
	TL_ROW("postfix/bounce", "482E4404AC8: postmaster non-delivery notification: 47335405A44", ML_EV_BOUNCE_NDN, { "qid", "482E4404AC8" }, { "other_qid", "47335405A44" }),
	TL_ROW("postfix/bounce", "4PcV4K5FPLz3tBr: sender non-delivery notification: 4PcV4K5tFpz3tG5", ML_EV_BOUNCE_NDN, { "qid", "4PcV4K5FPLz3tBr" }, { "other_qid", "4PcV4K5tFpz3tG5" }),
	TL_ROW("postfix/bounce", "17CCA8044: sender non-delivery notification: not-a-qid", ML_EV_UNKNOWN),
	TL_ROW("postfix/bounce", "warning: mail_queue_enter: create file incoming/123: No space left on device", ML_EV_SKIP, { "reason", "bounce warning" }, { "qid", "" }),
};

TL_PT_TEST(bounce_notifications, BOUNCE_NOTIFICATIONS_ROWS, parse_row, kind_name)

static const tl_pt_row_t POSTSUPER_LINES_ROWS[] = {
	TL_ROW("postfix/postsuper", "D4F2023DB: removed", ML_EV_DELETED, { "qid", "D4F2023DB" }),
	TL_ROW("postfix/postsuper", "D4F2023DB: released from hold", ML_EV_RELEASED),
	TL_ROW("postfix/postsuper", "D4F2023DB: placed on hold", ML_EV_HOLD, { "status", "quarantined" }),
	TL_ROW("postfix/postsuper", "D4F2023DB: requeued", ML_EV_INFO),
	TL_ROW("postfix/postsuper", "Deleted: 115 messages", ML_EV_SKIP, { "reason", "postsuper" }, { "qid", "" }),
	TL_ROW("postfix/postsuper", "Requeued: 1 message", ML_EV_SKIP, { "reason", "postsuper" }, { "qid", "" }),
	TL_ROW("postfix/postsuper", "Placed on hold: 67 messages", ML_EV_SKIP, { "reason", "postsuper" }, { "qid", "" }),
	TL_ROW("postfix/postsuper", "Released from hold: 13 messages", ML_EV_SKIP, { "reason", "postsuper" }, { "qid", "" }),
	TL_ROW("postfix/postsuper", "D4F2023DB: transmogrified", ML_EV_UNKNOWN),
};

TL_PT_TEST(postsuper_lines, POSTSUPER_LINES_ROWS, parse_row, kind_name)

static const tl_pt_row_t PICKUP_LINES_ROWS[] = {
	TL_ROW("postfix/pickup", "D2FAE20586: uid=0 from=<fail2ban>", ML_EV_PICKUP, { "qid", "D2FAE20586" }, { "from", "fail2ban" }, { "from_set", "1" }),
	TL_ROW("postfix/pickup", "4PcV4H6fDlz3tG5: uid=2000 from=<bounce-no-reply@nebenan.de>", TL_ANY_KIND, { "from", "bounce-no-reply@nebenan.de" }),
	TL_ROW("postfix/pickup", "4PcV4H6fDlz3tG5: uid=0 from=<> orig_id=4PcV4H6fDlz3tG4", ML_EV_PICKUP, { "from", "" }, { "from_set", "1" }),
};

TL_PT_TEST(pickup_lines, PICKUP_LINES_ROWS, parse_row, kind_name)

static const tl_pt_row_t SKIP_DAEMONS_ROWS[] = {
	TL_ROW("postfix/postscreen", "CONNECT from [61.238.241.86]:53024 to [89.105.204.244]:25", ML_EV_SKIP, { "reason", "postscreen" }, { "qid", "" }),
	TL_ROW("postfix/postscreen", "PASS OLD [2604:8d00:0:1::3]:52237", ML_EV_SKIP, { "reason", "postscreen" }, { "qid", "" }),
	TL_ROW("postfix/postscreen", "PREGREET 6 after 1.2 from [216.81.72.72]:43421: RSET\\r\\n", ML_EV_SKIP, { "reason", "postscreen" }, { "qid", "" }),
	TL_ROW("postfix/dnsblog", "addr 61.238.241.86 listed by domain psbl.surriel.com as 127.0.0.2", ML_EV_SKIP, { "reason", "dnsblog" }, { "qid", "" }),
	TL_ROW("postfix/anvil", "statistics: max connection rate 1/60s for (smtpd:61.238.241.86) at Oct 26 18:13:50", ML_EV_SKIP, { "reason", "anvil" }, { "qid", "" }),
	TL_ROW("postfix/tlsmgr", "warning: request to update table btree:/var/spool/postfix/smtpd_scache in non-postfix directory /var/spool/postfix", ML_EV_SKIP, { "reason", "tlsmgr" }, { "qid", "" }),
	TL_ROW("postfix/tlsproxy", "DISCONNECT [82.118.17.142]:51637", ML_EV_SKIP, { "reason", "tlsproxy" }, { "qid", "" }),
	TL_ROW("postfix/master", "daemon started -- version 2.11.0, configuration /etc/postfix", ML_EV_SKIP, { "reason", "master" }, { "qid", "" }),
	TL_ROW("postfix/scache", "statistics: domain lookup hits=0 miss=1 success=0%", ML_EV_SKIP, { "reason", "scache" }, { "qid", "" }),
	TL_ROW("postfix/verify", "cache lmdb:/var/lib/postfix/verify_cache full cleanup: retained=724 dropped=6 entries", ML_EV_SKIP, { "reason", "verify" }, { "qid", "" }),
	TL_ROW("postfix/postmap", "warning: /etc/postfix/conf.d/users.db: duplicate entry: \"xxx@yyy.com\"", ML_EV_SKIP, { "reason", "postmap" }, { "qid", "" }),
	TL_ROW("postfix/postfix-script", "warning: symlink leaves directory: /etc/postfix/./makedefs.out", ML_EV_SKIP, { "reason", "postfix-script" }, { "qid", "" }),
	TL_ROW("postfix/sendmail", "fatal: root(0): message file too big", ML_EV_SKIP, { "reason", "sendmail" }, { "qid", "" }),
	TL_ROW("postfix/postdrop", "warning: uid=0: File too large", ML_EV_SKIP, { "reason", "postdrop" }, { "qid", "" }),
	TL_ROW("postfix/trivial-rewrite", "warning: virtual_alias_domains lookup failure", ML_EV_SKIP, { "reason", "trivial-rewrite" }, { "qid", "" }),
	TL_ROW("postfix/proxymap", "warning: dict_ldap_lookup: Search error -1", ML_EV_SKIP, { "reason", "proxymap" }, { "qid", "" }),
	TL_ROW("postfix/showq", "warning: cannot open", ML_EV_SKIP, { "reason", "showq" }, { "qid", "" }),
	TL_ROW("postfix/flush", "warning: x", ML_EV_SKIP, { "reason", "flush" }, { "qid", "" }),
	TL_ROW("postfix/postlogd", "warning: x", ML_EV_SKIP, { "reason", "postlogd" }, { "qid", "" }),
	TL_ROW("postfix/oqmgr", "warning: x", ML_EV_SKIP, { "reason", "qmgr warning" }, { "qid", "" }),
	TL_ROW("postfix/oqmgr", "0F5383D: removed", ML_EV_REMOVED),
};

TL_PT_TEST(skip_daemons, SKIP_DAEMONS_ROWS, parse_row, kind_name)

/* Services master.cf names after their job, and log levels: "relay" and
 * "retry" run smtp and error, "qmqpd" takes mail as smtpd does; a line of
 * level "error:" about a message is information, else a skip. */
static const tl_pt_row_t SERVICE_NAMES_ROWS[] = {
	TL_ROW("postfix/relay", "5C6D7E8F9A: to=<ann@partner.example>, relay=mx.partner.example[198.51.100.9]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 91C2D3E4F5)", ML_EV_DELIVERY, { "status", "delivered" }, { "relay", "mx.partner.example[198.51.100.9]:25" }),
	TL_ROW("postfix/retry", "5C6D7E8F9A: to=<ann@partner.example>, relay=none, delay=3600, delays=3600/0/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to mx.partner.example[198.51.100.9]:25: Connection refused)", ML_EV_DELIVERY, { "status", "delayed" }, { "dsn", "4.4.1" }),
	TL_ROW("postfix/qmqpd", "6D7E8F9A0B: client=list.example.org[192.0.2.80]", ML_EV_CLIENT, { "client_ip", "192.0.2.80" }),
	TL_ROW("postfix/qmgr", "error: 5C6D7E8F9A: queue file read error", ML_EV_INFO, { "qid", "5C6D7E8F9A" }),
	TL_ROW("postfix/smtpd", "error: open database /etc/postfix/helo_access.db: No such file or directory", ML_EV_SKIP, { "reason", "smtpd warning" }, { "qid", "" }),
};

TL_PT_TEST(service_names, SERVICE_NAMES_ROWS, parse_row, kind_name)

/* Code, not a table: the lines hold NUL bytes (a table row is a C string)
 * and the slices are NULL. */
static void hostile_bytes(void **state)
{
	(void)state;
	/* NULs and invalid UTF-8 inside fields; the slice holds them verbatim. */
	const char m[] = "0F5383D: message-id=<a\0b\xff\xfe@x>";
	ml_event_t ev;
	ml_postfix_parse(ml_slice_cstr("postfix/cleanup"), ml_slice(m, sizeof m - 1), &ev);
	KIND(ev, ML_EV_MSGID);
	assert_int_equal(ev.msgid.n, 7);
	assert_memory_equal(ev.msgid.p, "a\0b\xff\xfe@x", 7);
	const char d[] = "0F5383D: to=<\xc3\x28@x>, relay=none, delay=\0, delays=0, dsn=5.0.0, status=bounced (\0)";
	ml_postfix_parse(ml_slice_cstr("postfix/smtp"), ml_slice(d, sizeof d - 1), &ev);
	KIND(ev, ML_EV_DELIVERY);
	assert_int_equal(ev.reason_text.n, 1);
	/* Slices of NULL are empty input. */
	ml_postfix_parse(ML_SLICE_NULL, ML_SLICE_NULL, &ev);
	KIND(ev, ML_EV_UNKNOWN);
	ml_postfix_parse(ml_slice_cstr("postfix/smtpd"), ML_SLICE_NULL, &ev);
	KIND(ev, ML_EV_UNKNOWN);
}

/* ---- the postfix-grok-patterns fixtures as a peer suite ---------------- */

#define YV 4096
typedef struct {
	char key[64];
	char val[YV];
} ykv_t;
typedef struct {
	char pattern[64];
	char data[YV];
	ykv_t res[48];
	int nres;
} ycase_t;

/* Unquote a YAML scalar: "..." with \" and \\ (other escapes are kept as
 * written: Postfix logs "\r\n" as those four characters), '...' with '',
 * or plain (a trailing " #" comment dropped). */
static void yaml_scalar(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	while (*s == ' ')
		s++;
	if (*s == '"') {
		for (s++; *s && *s != '"' && o + 1 < cap; s++) {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			out[o++] = *s;
		}
	} else if (*s == '\'') {
		for (s++; *s && o + 1 < cap; s++) {
			if (*s == '\'') {
				if (s[1] != '\'')
					break;
				s++;
			}
			out[o++] = *s;
		}
	} else {
		for (; *s && o + 1 < cap; s++) {
			if (*s == ' ' && s[1] == '#')
				break;
			out[o++] = *s;
		}
		while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\r'))
			o--;
	}
	out[o] = '\0';
}

static int yaml_load(const char *path, ycase_t *c)
{
	memset(c, 0, sizeof *c);
	size_t len;
	char *buf = tl_read_file(path, &len);
	if (!buf)
		return -1;
	char **lines;
	size_t n = tl_lines(buf, len, &lines);
	int in_results = 0;
	for (size_t i = 0; i < n; i++) {
		char *l = lines[i];
		if (l[0] == '#' || l[0] == '\0')
			continue;
		if (strncmp(l, "pattern:", 8) == 0) {
			yaml_scalar(l + 8, c->pattern, sizeof c->pattern);
		} else if (strncmp(l, "data:", 5) == 0) {
			yaml_scalar(l + 5, c->data, sizeof c->data);
		} else if (strncmp(l, "results:", 8) == 0) {
			in_results = 1;
		} else if (in_results && l[0] == ' ') {
			char *k = l;
			while (*k == ' ')
				k++;
			if (*k == '#')
				continue;
			char *colon = strchr(k, ':');
			if (!colon || c->nres == (int)ML_ARRAY_LEN(c->res))
				continue;
			snprintf(c->res[c->nres].key, sizeof c->res[c->nres].key, "%.*s", (int)(colon - k), k);
			yaml_scalar(colon + 1, c->res[c->nres].val, YV);
			c->nres++;
		}
	}
	free(lines);
	free(buf);
	return 0;
}

static const char *yget(const ycase_t *c, const char *key)
{
	for (int i = 0; i < c->nres; i++)
		if (strcmp(c->res[i].key, key) == 0)
			return c->res[i].val;
	return NULL;
}

/* "%{POSTFIX_CLEANUP}" → "postfix/cleanup"; "" for sub-patterns (not log lines). */
static void yaml_program(const char *pattern, char *prog, size_t cap)
{
	prog[0] = '\0';
	const char *p = strstr(pattern, "%{POSTFIX_");
	if (!p)
		return;
	p += 10;
	char d[48];
	size_t n = 0;
	while (p[n] && p[n] != '}' && n + 1 < sizeof d) {
		d[n] = (char)(p[n] >= 'A' && p[n] <= 'Z' ? p[n] + 32 : p[n]);
		n++;
	}
	d[n] = '\0';
	if (!strcmp(d, "command_counter_data") || !strcmp(d, "delays") || !strcmp(d, "relay") ||
	    !strcmp(d, "tls_features"))
		return;
	grok_program(d, prog, cap);
}

/* From a "k=v, k=v" / "k=v k=v" keyvalue string: the value of key (angle
 * brackets stripped).  0 when absent. */
static int kv_get(const char *kv, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	for (const char *p = kv; (p = strstr(p, key)) != NULL; p++) {
		if ((p != kv && p[-1] != ' ') || p[kl] != '=')
			continue;
		p += kl + 1;
		const char *e;
		if (*p == '<') {
			p++;
			e = strchr(p, '>');
			if (!e)
				e = p + strlen(p);
		} else {
			e = p;
			while (*e && *e != ',' && *e != ' ')
				e++;
		}
		snprintf(out, cap, "%.*s", (int)(e - p), p);
		return 1;
	}
	return 0;
}

static ml_status_t grok_status(const char *s)
{
	if (!strcmp(s, "sent") || !strcmp(s, "deliverable")) return ML_ST_DELIVERED;
	if (!strcmp(s, "deferred") || !strcmp(s, "SOFTBOUNCE")) return ML_ST_DELAYED;
	if (!strcmp(s, "bounced") || !strncmp(s, "undeliverable", 13)) return ML_ST_BOUNCED;
	if (!strcmp(s, "expired")) return ML_ST_EXPIRED;
	return ML_ST_NONE;
}

typedef struct {
	int compared, differ;
	char diffs[1024];
} ycmp_t;

static void ydiff(ycmp_t *r, const char *field)
{
	r->differ++;
	size_t l = strlen(r->diffs);
	snprintf(r->diffs + l, sizeof r->diffs - l, "%s%s", l ? "," : "", field);
}

static void ycheck(ycmp_t *r, const char *field, ml_slice_t got, const char *want)
{
	r->compared++;
	if (!slice_is(got, want))
		ydiff(r, field);
}

/* Compare the fields we model; fields of lines we skip are not modelled. */
static void ycompare(const ycase_t *c, const ml_event_t *ev, ycmp_t *r)
{
	memset(r, 0, sizeof *r);
	const char *v;
	char kv[YV];
	if ((v = yget(c, "postfix_queueid"))) {
		if (!strcmp(v, "NOQUEUE")) {
			if (ev->kind != ML_EV_SKIP)
				ycheck(r, "queueid", ev->qid, "");
		} else {
			ycheck(r, "queueid", ev->qid, v);
		}
	}
	if (ev->kind == ML_EV_SKIP || ev->kind == ML_EV_UNKNOWN)
		return;
	int reject = ev->kind == ML_EV_NOQUEUE_REJECT || ev->kind == ML_EV_RCPT_REJECT ||
		     ev->kind == ML_EV_CLEANUP_REJECT || ev->kind == ML_EV_HOLD;
	if ((v = yget(c, "postfix_client_ip")))
		ycheck(r, "client_ip", ev->client_ip, v);
	if ((v = yget(c, "postfix_client_hostname")))
		ycheck(r, "client_hostname", ev->client_name, v);
	if ((v = yget(c, "postfix_message-id")))
		ycheck(r, "message-id", ev->msgid, v);
	if ((v = yget(c, "postfix_from")))
		ycheck(r, "from", ev->from, v);
	if ((v = yget(c, "postfix_bounce_queueid")))
		ycheck(r, "bounce_queueid", ev->other_qid, v);
	if ((v = yget(c, "postfix_status"))) {
		r->compared++;
		if (grok_status(v) != ev->status)
			ydiff(r, "status");
	}
	static const char *const responses[] = {
		"postfix_smtp_response", "postfix_local_response", "postfix_pipe_response",
		"postfix_error_response", "postfix_proxy_message", "postfix_lmtp_response",
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(responses); i++)
		if ((v = yget(c, responses[i])))
			ycheck(r, responses[i] + 8, ev->reason_text, v);
	if ((v = yget(c, "postfix_status_code_enhanced")) || (v = yget(c, "postfix_proxy_status_code_enhanced")))
		ycheck(r, "status_code_enhanced", ev->dsn, v);
	if (((v = yget(c, "postfix_status_code")) || (v = yget(c, "postfix_proxy_status_code"))) && reject) {
		r->compared++;
		if (ev->reason_text.n < strlen(v) || memcmp(ev->reason_text.p, v, strlen(v)) != 0)
			ydiff(r, "status_code");
	}
	const char *rh = yget(c, "postfix_relay_hostname"), *ri = yget(c, "postfix_relay_ip");
	if (rh && ri && ev->relay.n) {
		char want[512];
		snprintf(want, sizeof want, "%s[%s]", rh, ri);
		ycheck(r, "relay_host_ip", ev->relay, want);
	}
	/* Milter and header lines: the grok message is "STAGE from ORIGIN: REPLY" or
	 * "header NAME: VALUE from ORIGIN"; check our pieces against it. */
	const char *mm = yget(c, "postfix_milter_message");
	if (!mm)
		mm = yget(c, "postfix_message");
	if (mm && strncmp(mm, "header ", 7) == 0 && ev->header_name.n) {
		ml_slice_t value = ev->subject.n ? ev->subject : ev->reason_text;
		char want[YV + 256];
		snprintf(want, sizeof want, "header %.*s: %.*s from ", (int)ev->header_name.n,
			 ev->header_name.p, (int)value.n, value.p);
		r->compared++;
		if (strncmp(mm, want, strlen(want)) != 0)
			ydiff(r, "message");
	} else if (mm && ev->kind == ML_EV_CLEANUP_REJECT) {
		size_t ml = strlen(mm), rl = ev->reason_text.n;
		r->compared++;
		if (rl > ml || memcmp(mm + ml - rl, ev->reason_text.p, rl) != 0)
			ydiff(r, "milter_message");
	}
	if ((v = yget(c, "postfix_keyvalue_data"))) {
		static const struct { const char *key; size_t off; } fields[] = {
			{ "to", offsetof(ml_event_t, to) },
			{ "orig_to", offsetof(ml_event_t, orig_to) },
			{ "relay", offsetof(ml_event_t, relay) },
			{ "dsn", offsetof(ml_event_t, dsn) },
			{ "from", offsetof(ml_event_t, from) },
			{ "helo", offsetof(ml_event_t, helo) },
		};
		for (size_t i = 0; i < ML_ARRAY_LEN(fields); i++) {
			if (!kv_get(v, fields[i].key, kv, sizeof kv))
				continue;
			/* Modelled per kind: relay/dsn for deliveries, helo for the trailers. */
			int rel = !strcmp(fields[i].key, "relay") || !strcmp(fields[i].key, "dsn");
			if (rel && ev->kind != ML_EV_DELIVERY)
				continue;
			if (!strcmp(fields[i].key, "from") && !ev->from_set)
				continue;
			const ml_slice_t *s = (const ml_slice_t *)((const char *)ev + fields[i].off);
			ycheck(r, fields[i].key, *s, kv);
		}
	}
}

/*
 * Differences between the grok fixtures and us, each with why we are right.
 * The test fails when a difference is not listed here, or a listed one is gone.
 */
static const struct {
	const char *file, *fields, *why;
} YAML_EXPECTED_DIFFS[] = {
	{ NULL, NULL, NULL },
};

static void yaml_peer_suite(void **state)
{
	(void)state;
	glob_t g;
	char pat[4096];
	snprintf(pat, sizeof pat, "%s", tl_corpus("postfix-grok-patterns/test/*.yaml"));
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	struct cat {
		char name[32];
		int files, agree, differ, skipped, notline, fields;
	} cats[40];
	int ncat = 0, total = 0, unexpected = 0;
	int seen[ML_ARRAY_LEN(YAML_EXPECTED_DIFFS)] = { 0 };
	for (size_t i = 0; i < g.gl_pathc; i++) {
		ycase_t *c = malloc(sizeof *c);
		assert_int_equal(yaml_load(g.gl_pathv[i], c), 0);
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		char cat[32];
		snprintf(cat, sizeof cat, "%.*s", (int)(strrchr(base, '_') - base), base);
		int ci;
		for (ci = 0; ci < ncat && strcmp(cats[ci].name, cat) != 0; ci++)
			;
		if (ci == ncat) {
			memset(&cats[ci], 0, sizeof cats[ci]);
			snprintf(cats[ci].name, sizeof cats[ci].name, "%s", cat);
			ncat++;
		}
		cats[ci].files++;
		total++;
		char prog[64];
		yaml_program(c->pattern, prog, sizeof prog);
		if (!prog[0]) {
			cats[ci].notline++;
			free(c);
			continue;
		}
		ml_event_t ev;
		ml_postfix_parse(ml_slice_cstr(prog), ml_slice_cstr(c->data), &ev);
		if (ev.kind == ML_EV_UNKNOWN)
			fail_msg("%s: UNKNOWN (%s): %s", base, ev.reason, c->data);
		ycmp_t r;
		ycompare(c, &ev, &r);
		cats[ci].fields += r.compared;
		if (r.compared == 0 && ev.kind == ML_EV_SKIP) {
			cats[ci].skipped++;
		} else if (r.differ == 0) {
			cats[ci].agree++;
		} else {
			cats[ci].differ++;
			size_t k;
			for (k = 0; YAML_EXPECTED_DIFFS[k].file; k++)
				if (!strcmp(YAML_EXPECTED_DIFFS[k].file, base) &&
				    !strcmp(YAML_EXPECTED_DIFFS[k].fields, r.diffs))
					break;
			if (YAML_EXPECTED_DIFFS[k].file) {
				seen[k] = 1;
			} else {
				unexpected++;
				print_message("unexpected difference %s [%s]: %s\n", base, r.diffs, c->data);
			}
		}
		free(c);
	}
	globfree(&g);
	/* agree/differ: lines we model, by the fields compared; skip: lines we
	 * understand as carrying nothing we keep (SKIP), no field compared;
	 * not-line: fixtures of sub-patterns (delays=, command counters, ...). */
	print_message("grok peer suite: %-22s %5s %6s %6s %6s %8s %6s\n", "fixture", "files", "agree",
		      "differ", "skip", "not-line", "fields");
	int ta = 0, td = 0, ts = 0, tn = 0, tf = 0;
	for (int ci = 0; ci < ncat; ci++) {
		print_message("grok peer suite: %-22s %5d %6d %6d %6d %8d %6d\n", cats[ci].name,
			      cats[ci].files, cats[ci].agree, cats[ci].differ, cats[ci].skipped,
			      cats[ci].notline, cats[ci].fields);
		ta += cats[ci].agree;
		td += cats[ci].differ;
		ts += cats[ci].skipped;
		tn += cats[ci].notline;
		tf += cats[ci].fields;
	}
	print_message("grok peer suite: %-22s %5d %6d %6d %6d %8d %6d\n", "total", total, ta, td, ts,
		      tn, tf);
	assert_true(total > 150);
	assert_int_equal(unexpected, 0);
	for (size_t k = 0; YAML_EXPECTED_DIFFS[k].file; k++)
		if (!seen[k])
			fail_msg("expected difference no longer seen: %s [%s]", YAML_EXPECTED_DIFFS[k].file,
				 YAML_EXPECTED_DIFFS[k].fields);
}

/* ---- every Postfix line of the corpus ---------------------------------- */

/* Lines that must stay UNKNOWN, with the reason.  Empty: every line is understood. */
static const char *const SWEEP_UNKNOWN_ALLOWED[] = { NULL };

typedef struct {
	size_t kinds[NKINDS];
	size_t unknown_unexpected;
	size_t oob;
} sweep_t;

static void sweep_line(const char *prog, const char *msg, size_t n, const char *file, void *arg)
{
	sweep_t *s = arg;
	ml_event_t ev;
	ml_postfix_parse(ml_slice_cstr(prog), ml_slice(msg, n), &ev);
	s->kinds[ev.kind < NKINDS ? ev.kind : 0]++;
	if (!event_in_bounds(&ev, msg, n)) {
		s->oob++;
		print_message("event out of bounds: %s: %.*s\n", prog, (int)n, msg);
	}
	if (ev.kind == ML_EV_UNKNOWN) {
		for (size_t i = 0; SWEEP_UNKNOWN_ALLOWED[i]; i++)
			if (n == strlen(SWEEP_UNKNOWN_ALLOWED[i]) && !memcmp(msg, SWEEP_UNKNOWN_ALLOWED[i], n))
				return;
		s->unknown_unexpected++;
		const char *b = strrchr(file, '/');
		print_message("UNKNOWN (%s) %s %s: %.*s\n", ev.reason, b ? b + 1 : file, prog, (int)n, msg);
	}
}

static void corpus_sweep(void **state)
{
	(void)state;
	sweep_t s;
	memset(&s, 0, sizeof s);
	size_t total = for_each_postfix_line(sweep_line, &s);
	print_message("corpus sweep: %zu Postfix lines\n", total);
	for (size_t k = 0; k < NKINDS; k++)
		if (s.kinds[k])
			print_message("corpus sweep: %-15s %7zu\n", KIND_NAMES[k], s.kinds[k]);
	assert_true(total > 70000);
	assert_int_equal(s.oob, 0);
	assert_int_equal(s.unknown_unexpected, 0);
	/* The kinds the corpus is known to hold, so that a silent regression to SKIP shows. */
	assert_true(s.kinds[ML_EV_DELIVERY] >= 400);
	assert_true(s.kinds[ML_EV_NOQUEUE_REJECT] >= 300);
	assert_true(s.kinds[ML_EV_MSGID] >= 400);
	assert_true(s.kinds[ML_EV_CLIENT] >= 390);
	assert_true(s.kinds[ML_EV_QMGR_FROM] >= 400);
	assert_true(s.kinds[ML_EV_REMOVED] >= 430);
}

/* ---- robustness: cuts and mutations (run under ASan) ------------------- */

static const char *const ALL_PROGRAMS[] = {
	"postfix/smtpd", "postfix/postscreen", "postfix/cleanup", "postfix/qmgr", "postfix/smtp",
	"postfix/lmtp", "postfix/local", "postfix/virtual", "postfix/pipe", "postfix/error",
	"postfix/bounce", "postfix/postsuper", "postfix/pickup", "postfix/anvil", "postfix/nonesuch",
};

typedef struct {
	char *buf;     /* exactly the line's size: a cut is copied to its end */
	size_t cap;
	size_t parses, oob, lines;
	unsigned seed;
} cut_t;

static void cut_line(const char *prog, const char *msg, size_t n, const char *file, void *arg)
{
	(void)file;
	cut_t *c = arg;
	c->lines++;
	/* A right-sized buffer for this line, so that a read past the end of a
	 * cut message is a read past the end of a heap block. */
	char *b = malloc(n ? n : 1);
	for (size_t k = 0; k <= n; k++) {
		char *m = b + (n - k);
		memcpy(m, msg, k);
		ml_event_t ev;
		ml_postfix_parse(ml_slice_cstr(prog), ml_slice(m, k), &ev);
		c->parses++;
		if (!event_in_bounds(&ev, m, k))
			c->oob++;
	}
	/* Every 97th line: under every daemon, and with mutated bytes. */
	if (c->lines % 97 == 0) {
		memcpy(b, msg, n);
		for (size_t d = 0; d < ML_ARRAY_LEN(ALL_PROGRAMS); d++) {
			ml_event_t ev;
			ml_postfix_parse(ml_slice_cstr(ALL_PROGRAMS[d]), ml_slice(b, n), &ev);
			c->parses++;
			if (!event_in_bounds(&ev, b, n))
				c->oob++;
		}
		static const char bytes[] = { '\0', '\xff', '<', '>', ';', ':', ' ', ',', '(', ')', '[', ']', '=', '\n' };
		for (int round = 0; round < 64 && n; round++) {
			c->seed = c->seed * 1103515245u + 12345u;
			size_t at = (c->seed >> 8) % n;
			char old = b[at];
			b[at] = bytes[(c->seed >> 20) % sizeof bytes];
			ml_event_t ev;
			ml_postfix_parse(ml_slice_cstr(prog), ml_slice(b, n), &ev);
			c->parses++;
			if (!event_in_bounds(&ev, b, n))
				c->oob++;
			if (round & 1)
				b[at] = old;
		}
	}
	free(b);
}

static void robustness_cuts(void **state)
{
	(void)state;
	cut_t c;
	memset(&c, 0, sizeof c);
	c.seed = 1;
	for_each_postfix_line(cut_line, &c);
	print_message("robustness: %zu lines, %zu parses\n", c.lines, c.parses);
	assert_true(c.parses > 1000000);
	assert_int_equal(c.oob, 0);
}

/* The same over the lines of the rule tests above and the project's logs. */
static void robustness_written(void **state)
{
	(void)state;
	cut_t c = { .seed = 1 };
	size_t n = tl_written_each(cut_line, &c);
	size_t own = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(OWN_LOGS); i++)
		own += each_postfix_line_of(OWN_LOGS[i], cut_line, &c);
	print_message("robustness: %zu lines of the rule tests, %zu of the project's logs, %zu parses\n", n,
		      own, c.parses);
	assert_true(n > 150);
	assert_true(own > 20000);
	assert_int_equal(c.oob, 0);
}

/* Short random messages under every daemon, exact-sized so ASan sees any
 * read before or after. */
static void robustness_random(void **state)
{
	(void)state;
	static const char *const frags[] = {
		"0F5383D: ", "4Qx3Fh1Lm8zJfK: ", "NOQUEUE: ", "warning: ", "reject: ", "RCPT from ",
		"a[1.2.3.4]", "[::1]:25", ": ", "; ", "from=<", "to=<", ">", "<", " proto=ESMTP",
		" helo=<", ", ", "status=", "sent", "(", ")", "relay=", "delay=", "0.5", "header ",
		"Subject: ", " from ", "local", "client=", "orig_client=", "milter-reject: ",
		"message-id=", "uid=0 from=<", "notification: ", "proxy-reject: ", "hold: ", "\xff",
		"\0", "z", "\"", "removed",
	};
	unsigned seed = 7;
	char tmp[512];
	for (int iter = 0; iter < 200000; iter++) {
		size_t n = 0;
		int parts = 1 + (int)((seed >> 4) % 12);
		for (int i = 0; i < parts; i++) {
			seed = seed * 1103515245u + 12345u;
			const char *f = frags[(seed >> 8) % ML_ARRAY_LEN(frags)];
			size_t fl = f[0] ? strlen(f) : 1;
			if (n + fl > sizeof tmp)
				break;
			memcpy(tmp + n, f, fl);
			n += fl;
		}
		char *m = malloc(n ? n : 1);
		memcpy(m, tmp, n);
		ml_event_t ev;
		ml_postfix_parse(ml_slice_cstr(ALL_PROGRAMS[iter % ML_ARRAY_LEN(ALL_PROGRAMS)]), ml_slice(m, n), &ev);
		if (!event_in_bounds(&ev, m, n))
			fail_msg("event out of bounds for random input %d", iter);
		free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(daemon_from_program),
		cmocka_unit_test(queue_id_shapes),
		cmocka_unit_test(smtpd_client),
		cmocka_unit_test(smtpd_noqueue_reject),
		cmocka_unit_test(smtpd_qid_actions),
		cmocka_unit_test(smtpd_chatter),
		cmocka_unit_test(cleanup_message_id),
		cmocka_unit_test(cleanup_header),
		cmocka_unit_test(cleanup_hold_reject),
		cmocka_unit_test(cleanup_subject_actions),
		cmocka_unit_test(qmgr_lines),
		cmocka_unit_test(delivery_lines),
		cmocka_unit_test(local_delivery_flag),
		cmocka_unit_test(smtp_info_and_chatter),
		cmocka_unit_test(bounce_notifications),
		cmocka_unit_test(postsuper_lines),
		cmocka_unit_test(pickup_lines),
		cmocka_unit_test(skip_daemons),
		cmocka_unit_test(service_names),
		cmocka_unit_test(hostile_bytes),
		cmocka_unit_test(robustness_written),
		cmocka_unit_test(robustness_random),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(yaml_peer_suite),
		cmocka_unit_test(corpus_sweep),
		cmocka_unit_test(robustness_cuts),
	};
	return TL_RUN("postfix", tests, corpus_tests, NULL, NULL);
}
