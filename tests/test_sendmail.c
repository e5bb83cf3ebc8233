/*
 * Unit tests for engine/sendmail: one test per rule of the parser (lines in
 * the form Sendmail 8.15+ writes them), and a robustness run (every line cut
 * at every length, exact-size heap copies, mutated bytes) meant to be run
 * under ASan/UBSan, over the lines of the rule tests and
 * tests/data/sendmail-statuses.log.  The corpus tier adds the fail2ban
 * fixtures and the fluent-plugin-sendmail expected records as peer suites, a
 * sweep over every Sendmail line of the corpus (none may be ML_EV_UNKNOWN),
 * the robustness run over those lines, and the parse speed (printed, not
 * asserted: budgets are measured by bench/).
 *
 * Files are read in place.  Syslog lines are split here with a crude scan
 * for the program token; the fluent peer reads the timestamps with
 * engine/syslog.
 */
#include "testlib.h"
#include "tests/parse_table.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/rcpts.h"
#include "engine/sendmail.h"
#include "engine/syslog.h"

/* ---- helpers ----------------------------------------------------------- */

static const char *const KIND_NAMES[] = {
	"UNKNOWN", "SKIP", "CLIENT", "PICKUP", "MSGID", "HEADER", "HOLD", "CLEANUP_REJECT",
	"QMGR_FROM", "REMOVED", "EXPIRED", "DELIVERY", "NOQUEUE_REJECT", "RCPT_REJECT",
	"BOUNCE_NDN", "RELEASED", "DELETED", "INFO", "ARRIVAL", "FILTER",
};
#define NKINDS ML_ARRAY_LEN(KIND_NAMES)

static const char *kind_name(ml_event_kind_t k)
{
	return (unsigned)k < NKINDS ? KIND_NAMES[k] : "?";
}

/* Parse one message part; the line is kept for robustness_written. */
static ml_event_t E(const char *msg)
{
	ml_event_t ev;
	tl_written_add(NULL, msg, strlen(msg));
	ml_sendmail_parse(ml_slice_cstr(msg), &ev);
	return ev;
}

/* The table runs (tests/parse_table.h). */
static void parse_row(const char *program, const char *msg, ml_event_t *ev)
{
	(void)program;
	*ev = E(msg);
}

/* slice assertions: tests/testlib.h */
#define slice_is tl_slice_is
#define expect_slice tl_expect_slice
#define EQ(s, want) tl_expect_slice((s), (want), #s, __LINE__)

static int inside(ml_slice_t s, const char *m, size_t n)
{
	return s.n == 0 || (s.p && s.p >= m && s.p + s.n <= m + n);
}

/* Every slice of ev lies inside [m, m + n); the invariants of event.h hold. */
static int event_ok(const ml_event_t *ev, const char *m, size_t n)
{
	const ml_slice_t *s[] = {
		&ev->qid, &ev->other_qid, &ev->from, &ev->to, &ev->orig_to, &ev->relay, &ev->dsn,
		&ev->reason_text, &ev->msgid, &ev->header_name, &ev->subject, &ev->client_name,
		&ev->client_ip, &ev->sasl_user, &ev->helo, &ev->proto, &ev->rcpt_list, &ev->router,
		&ev->transport, &ev->verdict, &ev->filter_rcpts, &ev->quarantine, &ev->score, &ev->to_list,
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(s); i++)
		if (!inside(*s[i], m, n))
			return 0;
	if ((ev->kind == ML_EV_SKIP || ev->kind == ML_EV_UNKNOWN) && (!ev->reason || ev->qid.n))
		return 0;
	if (ev->qid.n && !ml_sendmail_is_qid(ev->qid))
		return 0;
	if (ev->other_qid.n && !ml_sendmail_is_qid(ev->other_qid))
		return 0;
	if (ev->kind == ML_EV_NOQUEUE_REJECT && (ev->qid.n || ev->status != ML_ST_BLOCKED))
		return 0;
	if ((ev->kind == ML_EV_RCPT_REJECT || ev->kind == ML_EV_DELIVERY || ev->kind == ML_EV_ARRIVAL ||
	     ev->kind == ML_EV_INFO || ev->kind == ML_EV_BOUNCE_NDN || ev->kind == ML_EV_HOLD ||
	     ev->kind == ML_EV_REMOVED || ev->kind == ML_EV_CLIENT) && !ev->qid.n)
		return 0;
	/* the to_list walk stays inside the list and yields `to` first */
	ml_slice_t list = ev->to_list, a;
	int first = 1;
	while (ml_rcpts_next(&list, ',', &a)) {
		if (!inside(a, ev->to_list.p, ev->to_list.n) || !a.n)
			return 0;
		if (first && ev->kind == ML_EV_DELIVERY && (a.p != ev->to.p || a.n != ev->to.n))
			return 0;
		first = 0;
	}
	return (unsigned)ev->kind < NKINDS && (unsigned)ev->status < ML_ST__COUNT;
}

/* A corpus file as lines with exact lengths. */
/* the corpus as lines: tests/testlib.h */
typedef tl_lines_t lines_t;
#define lines_load tl_lines_load
#define lines_free tl_lines_free

/* The message part of a syslog line whose program token (one of the first
 * eight) is a Sendmail tag ("sm-mta[123]:", "sendmail:").  0 when none. */
static int sendmail_msg(const char *l, size_t n, const char **msg, size_t *msgn)
{
	size_t i = 0;
	for (int tok = 0; tok < 8 && i < n; tok++) {
		while (i < n && l[i] == ' ')
			i++;
		size_t s = i;
		while (i < n && l[i] != ' ')
			i++;
		if (i - s >= 2 && l[i - 1] == ':' && ml_sendmail_is_program(ml_slice(l + s, i - s - 1))) {
			if (i < n)
				i++;
			*msg = l + i;
			*msgn = n - i;
			return 1;
		}
	}
	return 0;
}

/* Every file of the corpus with Sendmail lines (the fixtures' comment lines
 * are no syslog lines and are passed over). */
static const char *const CORPUS_FILES[] = {
	"fluent-plugin-sendmail/data.log",
	"fail2ban/sendmail-auth.log",
	"fail2ban/sendmail-reject.log",
	"fail2ban/sendmail-auth",
	"fail2ban/sendmail-reject",
};

/* The project's own Sendmail log, written by hand. */
static const char *const OWN_FILES[] = { "tests/data/sendmail-statuses.log" };

typedef void (*line_fn)(const char *msg, size_t n, const char *file, void *arg);

/* Calls fn for every Sendmail line of the files (paths of the corpus when
 * corpus is set); *other counts the other lines. */
static size_t each_sendmail_line(const char *const *files, size_t nfiles, int corpus, line_fn fn, void *arg,
				 size_t *other)
{
	size_t total = 0;
	if (other)
		*other = 0;
	for (size_t f = 0; f < nfiles; f++) {
		lines_t L_;
		if (lines_load(&L_, corpus ? tl_corpus(files[f]) : files[f]) != 0)
			fail_msg("cannot read %s", files[f]);
		for (size_t i = 0; i < L_.count; i++) {
			const char *m;
			size_t mn;
			if (L_.n[i] == 0)
				continue;
			if (!sendmail_msg(L_.line[i], L_.n[i], &m, &mn)) {
				if (other)
					(*other)++;
				continue;
			}
			fn(m, mn, files[f], arg);
			total++;
		}
		lines_free(&L_);
	}
	return total;
}

/* Every Sendmail line of the corpus. */
static size_t for_each_sendmail_line(line_fn fn, void *arg, size_t *other)
{
	return each_sendmail_line(CORPUS_FILES, ML_ARRAY_LEN(CORPUS_FILES), 1, fn, arg, other);
}

/* ---- program, queue IDs -------------------------------------------------- */

static const tl_pt_row_t PROGRAM_AND_QIDS_ROWS[] = {
	/* "QID: " starts a line about a message; "QIDx: " does not. */
	TL_ROW(NULL, "u31FFPtp032300: done", ML_EV_REMOVED, { "qid", "u31FFPtp032300" }),
	TL_ROW(NULL, "u31FFPtp032300:done", ML_EV_UNKNOWN),
	TL_ROW(NULL, "u31FFPtp032300x: done", ML_EV_UNKNOWN, { "qid", "" }),
};

static void program_and_qids(void **state)
{
	(void)state;
	/* ml_sendmail_is_program and ml_sendmail_is_qid themselves, in code: no line is parsed */
	assert_true(ml_sendmail_is_program(ml_slice_cstr("sendmail")));
	assert_true(ml_sendmail_is_program(ml_slice_cstr("sm-mta")));
	assert_true(ml_sendmail_is_program(ml_slice_cstr("sm-mta[2794]")));
	assert_true(ml_sendmail_is_program(ml_slice_cstr("sm-msp-queue")));
	assert_true(ml_sendmail_is_program(ml_slice_cstr("sm-acceptingconnections")));
	assert_false(ml_sendmail_is_program(ml_slice_cstr("postfix/sendmail")));
	assert_false(ml_sendmail_is_program(ml_slice_cstr("sendmail-milter")));
	assert_false(ml_sendmail_is_program(ml_slice_cstr("exim4")));
	assert_false(ml_sendmail_is_program(ML_SLICE_NULL));

	assert_true(ml_sendmail_is_qid(ml_slice_cstr("r0GFR6M9018519")));
	assert_true(ml_sendmail_is_qid(ml_slice_cstr("x1HBOhe0012345")));
	assert_true(ml_sendmail_is_qid(ml_slice_cstr("xA32R2PQ3529566")));  /* seven-digit pid */
	assert_true(ml_sendmail_is_qid(ml_slice_cstr("06I02CNi016764")));
	assert_true(ml_sendmail_is_qid(ml_slice_cstr("f1GFR6M18519")));    /* 12 characters */
	assert_false(ml_sendmail_is_qid(ml_slice_cstr("NOQUEUE")));
	assert_false(ml_sendmail_is_qid(ml_slice_cstr("r0GFR6M901851X")));
	assert_false(ml_sendmail_is_qid(ml_slice_cstr("r0GFR6M9-18519")));
	assert_false(ml_sendmail_is_qid(ml_slice_cstr("12345678901234")));  /* no letter: a number */
	assert_false(ml_sendmail_is_qid(ml_slice_cstr("r0GFR6M9018519r0GFR6M9")));
	TL_PT_RUN(PROGRAM_AND_QIDS_ROWS, parse_row, kind_name);
}

/* ---- arrivals ------------------------------------------------------------ */

static const tl_pt_row_t ARRIVAL_ROWS[] = {
	/* fluent-plugin-sendmail/data.log */
	TL_ROW(NULL, "u31FFPtp032300: from=<grandeur09@gmail.com>, size=5938, class=0, nrcpts=7, msgid=<201604011515.u31FFIAj012911@gmail.com>, proto=ESMTP, daemon=MTA, relay=[64.233.187.27]", ML_EV_ARRIVAL, { "qid", "u31FFPtp032300" }, { "from", "grandeur09@gmail.com" }, { "from_set", "1" }, { "size", "5938" }, { "nrcpt", "7" }, { "msgid", "201604011515.u31FFIAj012911@gmail.com" }, { "proto", "ESMTP" }, { "client_name", "" }, { "client_ip", "64.233.187.27" }, { "rcpt_list", "" }),
	/* fail2ban/sendmail-reject */
	TL_ROW(NULL, "rA37ZTSC026254: from=<davaojk25@domain.com>, size=0, class=0, nrcpts=0, bodytype=8BITMIME, proto=ESMTP, daemon=MTA, relay=163.23.32.95.dsl-dynamic.vsi.ru [95.32.23.163]", ML_EV_ARRIVAL, { "nrcpt", "0" }, { "client_name", "163.23.32.95.dsl-dynamic.vsi.ru" }, { "client_ip", "95.32.23.163" }),
	TL_ROW(NULL, "55HIbcGI002794: from=<root@yourhost.com>, size=108, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=[192.168.1.45]", TL_ANY_KIND, { "client_ip", "192.168.1.45" }),
	/* A bounce's null sender; a local submission; a forged name; IPv6. */
	TL_ROW(NULL, "r0GFR6M9018519: from=<>, size=2345, class=0, nrcpts=1, msgid=<201301161527.r0GFR6M9018518@mx.example.com>, proto=ESMTP, daemon=MTA, relay=mail.example.org [192.0.2.7] (may be forged)", TL_ANY_KIND, { "from", "" }, { "from_set", "1" }, { "client_name", "mail.example.org" }, { "client_ip", "192.0.2.7" }),
	TL_ROW(NULL, "u1FFT1S6011761: from=root, size=416, class=0, nrcpts=1, msgid=<201602151529.u1FFT1S6011761@r11b05038.example.com>, relay=root@localhost", TL_ANY_KIND, { "from", "root" }, { "client_name", "localhost" }, { "client_ip", "" }),
	TL_ROW(NULL, "x1HBOhe0012345: from=<alice@example.org>, size=812, class=0, nrcpts=2, msgid=<abc@example.org>, bodytype=8BITMIME, proto=ESMTPSA, daemon=MTA, relay=ident@client.example.org [IPv6:2001:db8::25]", TL_ANY_KIND, { "proto", "ESMTPSA" }, { "client_name", "client.example.org" }, { "client_ip", "2001:db8::25" }, { "nrcpt", "2" }),
	TL_ROW(NULL, "x1HBOhe0012345: from=Vasya <unixappdev@example.com>, size=1, class=0, nrcpts=1, relay=vasya@localhost", TL_ANY_KIND, { "from", "unixappdev@example.com" }),
};

TL_PT_TEST(arrival, ARRIVAL_ROWS, parse_row, kind_name)

/* ---- deliveries ----------------------------------------------------------- */

static const tl_pt_row_t DELIVERY_SENT_ROWS[] = {
	TL_ROW(NULL, "u31FFPtp032300: to=<sent1@example.com>,<sent2@example.com>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=245938, relay=[93.184.216.34] [93.184.216.34], dsn=2.0.0, stat=Sent (ok:  Message 40279894 accepted)", ML_EV_DELIVERY, { "status", "delivered" }, { "to", "sent1@example.com" }, { "to_list", "<sent1@example.com>,<sent2@example.com>" }, { "orig_to", "" }, { "relay", "[93.184.216.34] [93.184.216.34]" }, { "dsn", "2.0.0" }, { "reason_text", "ok:  Message 40279894 accepted" }, { "delay_ms", "0" }, { "local_delivery", "0" }),
	/* spaces around values (a relay that kept the line's trailing space) */
	TL_ROW(NULL, "x1HBOhe0012345: to=<bob@example.com> , delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120, relay=mx.example.com. [192.0.2.1], dsn=2.0.0, stat=Sent (Ok: queued as 1A2B3C) ", ML_EV_DELIVERY, { "to", "bob@example.com" }, { "reason_text", "Ok: queued as 1A2B3C" }, { "delay_ms", "1000" }),
	/* Local mailer, bare addresses, ctladdr (not the original recipient). */
	TL_ROW(NULL, "u31FFPtp032300: to=root@localhost.localdomain, ctladdr=root@localhost.localdomain (0/0), delay=00:00:00, xdelay=00:00:00, mailer=local, pri=245938, dsn=2.0.0, stat=Sent", TL_ANY_KIND, { "status", "delivered" }, { "to", "root@localhost.localdomain" }, { "orig_to", "" }, { "reason_text", "" }, { "relay", "" }, { "local_delivery", "1" }),
	TL_ROW(NULL, "r0GFR6M9018519: to=<bob@example.com>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120345, relay=mx.example.com. [203.0.113.5], dsn=2.0.0, stat=Sent (Ok: queued as 4Qx9Kq0Zc5z9rxl)", TL_ANY_KIND, { "relay", "mx.example.com. [203.0.113.5]" }, { "reason_text", "Ok: queued as 4Qx9Kq0Zc5z9rxl" }, { "delay_ms", "1000" }),
	TL_ROW(NULL, "r0GFR6M9018519: to=\"Bob, Jr.\" <bob@example.com>,carol, ctladdr=<www-data@example.com> (33/33), delay=00:00:02, xdelay=00:00:01, mailer=lmtp, pri=30365, relay=localhost, dsn=2.0.0, stat=Sent (<abc@example.com> Message accepted for delivery)", TL_ANY_KIND, { "to", "bob@example.com" }, { "to_list", "\"Bob, Jr.\" <bob@example.com>,carol" }, { "local_delivery", "1" }, { "reason_text", "<abc@example.com> Message accepted for delivery" }),
};

TL_PT_TEST(delivery_sent, DELIVERY_SENT_ROWS, parse_row, kind_name)

static const tl_pt_row_t DELIVERY_DELAYED_ROWS[] = {
	TL_ROW(NULL, "u31FFPtp032300: to=<deferred1@example.com>, delay=00:00:15, xdelay=00:00:15, mailer=esmtp, pri=34527, relay=[93.184.216.34] [93.184.216.34], dsn=4.3.5, stat=Deferred: 451 4.3.5 Server configuration problem", ML_EV_DELIVERY, { "status", "delayed" }, { "to", "deferred1@example.com" }, { "dsn", "4.3.5" }, { "reason_text", "451 4.3.5 Server configuration problem" }, { "delay_ms", "15000" }),
	TL_ROW(NULL, "u31FFPtp032300: to=<deferred2@example.com>, delay=1+00:00:15, xdelay=00:00:15, mailer=esmtp, pri=34527, relay=[93.184.216.34] [93.184.216.34], dsn=4.3.5, stat=Deferred: 451 4.3.5 Server configuration problem", TL_ANY_KIND, { "delay_ms", "86415000" }),
	TL_ROW(NULL, "o0T401sX008943: to=webmaster, delay=11:40:00, xdelay=00:00:00, mailer=relay, pri=3271745, relay=[127.0.0.1] [127.0.0.1], dsn=4.0.0, stat=Deferred: Connection refused by [127.0.0.1]", TL_ANY_KIND, { "status", "delayed" }, { "to", "webmaster" }, { "reason_text", "Connection refused by [127.0.0.1]" }, { "delay_ms", "42000000" }),
	TL_ROW(NULL, "mB72JLu5013099: to=ben@example.net, delay=00:56:51, xdelay=00:00:01, mailer=esmtp, pri=570000, relay=smtp-in-2.example.net. [192.0.2.1], dsn=4.5.0, stat=Operating system error", TL_ANY_KIND, { "status", "delayed" }, { "reason_text", "Operating system error" }),
	/* Queue-only mode: no attempt yet. */
	TL_ROW(NULL, "r0GFR6M9018519: to=<bob@example.com>, delay=00:00:00, mailer=esmtp, pri=30345, stat=queued", TL_ANY_KIND, { "status", "delayed" }, { "reason_text", "queued" }),
	/* A long delay is capped. */
	TL_ROW(NULL, "r0GFR6M9018519: to=<bob@example.com>, delay=99999+00:00:00, mailer=esmtp, dsn=4.0.0, stat=Deferred", TL_ANY_KIND, { "delay_ms", "4294967295" }, { "reason_text", "Deferred" }),
};

TL_PT_TEST(delivery_delayed, DELIVERY_DELAYED_ROWS, parse_row, kind_name)

static const tl_pt_row_t DELIVERY_FAILED_ROWS[] = {
	TL_ROW(NULL, "v9PDh53r007087: to=postmaster, delay=00:00:00, mailer=local, pri=30000, dsn=5.1.1, stat=User unknown", ML_EV_DELIVERY, { "status", "bounced" }, { "reason_text", "User unknown" }, { "dsn", "5.1.1" }),
	TL_ROW(NULL, "r0GFR6M9018519: to=<nobody@example.net>, delay=00:00:02, xdelay=00:00:02, mailer=esmtp, pri=30345, relay=mx.example.net. [198.51.100.4], dsn=5.0.0, stat=Service unavailable", TL_ANY_KIND, { "status", "bounced" }, { "reason_text", "Service unavailable" }),
	TL_ROW(NULL, "r0GFR6M9018519: to=<a@nx.example>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30345, relay=nx.example, dsn=5.1.2, stat=Host unknown (Name server: nx.example: host not found)", TL_ANY_KIND, { "status", "bounced" }, { "reason_text", "Host unknown (Name server: nx.example: host not found)" }),
	/* No mailer=: refused during the dialogue (after a milter reject). */
	TL_ROW(NULL, "j73H4I2N015245: to=<a@example.org>, delay=00:00:02, pri=100560, stat=virus Worm.Mydoom.I detected by ClamAV - http://www.clamav.net", TL_ANY_KIND, { "status", "blocked" }, { "reason_text", "virus Worm.Mydoom.I detected by ClamAV - http://www.clamav.net" }),
};

TL_PT_TEST(delivery_failed, DELIVERY_FAILED_ROWS, parse_row, kind_name)

/* Code, not a table: ml_rcpts_next is a function beside the line parser. */
static void rcpt_list(void **state)
{
	(void)state;
	ml_slice_t list = ml_slice_cstr("<a@x>,b@y,, \"c, d\"@z,Name <e@w>,<>,<f@v>"), a;
	const char *want[] = { "a@x", "b@y", "\"c, d\"@z", "e@w", "f@v" };
	for (size_t i = 0; i < ML_ARRAY_LEN(want); i++) {
		assert_true(ml_rcpts_next(&list, ',', &a));
		EQ(a, want[i]);
	}
	assert_false(ml_rcpts_next(&list, ',', &a));
	assert_false(ml_rcpts_next(&list, ',', &a));
	list = ML_SLICE_NULL;
	assert_false(ml_rcpts_next(&list, ',', &a));
	list = ml_slice_cstr("kalle.elmer@example.com,test");
	assert_true(ml_rcpts_next(&list, ',', &a));
	EQ(a, "kalle.elmer@example.com");
	assert_true(ml_rcpts_next(&list, ',', &a));
	EQ(a, "test");
}

/* ---- notices, message state ------------------------------------------------ */

static const tl_pt_row_t NOTICES_ROWS[] = {
	TL_ROW(NULL, "u24Ds0UC009915: u24Ds0UC009917: DSN: User unknown", ML_EV_BOUNCE_NDN, { "qid", "u24Ds0UC009915" }, { "other_qid", "u24Ds0UC009917" }, { "reason_text", "User unknown" }, { "status", "" }),
	TL_ROW(NULL, "v9PDh53r007087: v9PDh53s007087: return to sender: User unknown", ML_EV_BOUNCE_NDN, { "other_qid", "v9PDh53s007087" }),
	/* Expiry: the queue lifetime ran out. */
	TL_ROW(NULL, "mAO2tx04010773: mB26PuEl004811: sender notify: Cannot send message for 5 days", ML_EV_BOUNCE_NDN, { "status", "expired" }, { "reason_text", "Cannot send message for 5 days" }),
	TL_ROW(NULL, "r0GFR6M9018519: r0LAB1c2018519: return to sender: Cannot send message for 5 days", TL_ANY_KIND, { "status", "expired" }),
	TL_ROW(NULL, "r0GFR6M9018519: r0LAB1c2018519: DSN: Cannot send message for 5 days", TL_ANY_KIND, { "status", "expired" }),
	/* A delay warning. */
	TL_ROW(NULL, "r0GFR6M9018519: r0GJR6N1018601: sender notify: Warning: could not send message for past 4 hours", ML_EV_BOUNCE_NDN, { "status", "delayed" }),
	TL_ROW(NULL, "r0GFR6M9018519: r0GJR6N1018602: postmaster notify: User unknown", ML_EV_BOUNCE_NDN),
	/* Envelope split by owner. */
	TL_ROW(NULL, "r0GFR6M9018519: r0GFR6MA018519: clone: owner=owner-list@example.com", ML_EV_INFO, { "other_qid", "r0GFR6MA018519" }),
	TL_ROW(NULL, "r0GFR6M9018519: clone r0GFR6MA018519, owner=owner-list@example.com", ML_EV_INFO, { "other_qid", "r0GFR6MA018519" }),
};

TL_PT_TEST(notices, NOTICES_ROWS, parse_row, kind_name)

static const tl_pt_row_t MESSAGE_STATE_ROWS[] = {
	TL_ROW(NULL, "u31FFPtp032300: done; delay=00:00:00, ntries=2", ML_EV_REMOVED, { "qid", "u31FFPtp032300" }),
	TL_ROW(NULL, "u31FFPtp032300: done", ML_EV_REMOVED),
	TL_ROW(NULL, "u31FFPtp032300: doneX", ML_EV_INFO),
	TL_ROW(NULL, "r0GFR6M9018519: quarantine=Spam score 12.3", ML_EV_HOLD, { "status", "quarantined" }, { "reason_text", "Spam score 12.3" }),
	TL_ROW(NULL, "r0GFR6M9018519: Milter: data, quarantine=suspicious attachment", ML_EV_HOLD, { "reason_text", "suspicious attachment" }),
	TL_ROW(NULL, "r0GFR6M9018519: milter=mimedefang, quarantine=held for review", ML_EV_HOLD),
	TL_ROW(NULL, "r0GFR6M9018519: unquarantine", ML_EV_RELEASED),
	TL_ROW(NULL, "p79DwHsd012345: discarded", ML_EV_RCPT_REJECT, { "status", "blocked" }, { "to", "" }),
	TL_ROW(NULL, "r0GFR6M9018519: alias postmaster => root,admin@example.com", ML_EV_INFO, { "orig_to", "postmaster" }, { "to_list", "root,admin@example.com" }),
	/* Other lines about a message: INFO (data.log). */
	TL_ROW(NULL, "u31FFPtp032300: Milter: no active filter", ML_EV_INFO, { "qid", "u31FFPtp032300" }),
	TL_ROW(NULL, "u31FFPtp032300: SMTP outgoing connect on [192.168.198.81]", ML_EV_INFO),
	TL_ROW(NULL, "j73H4I2N015245: Milter add: header: X-Virus-Status: Infected with Worm.Mydoom.I", ML_EV_INFO),
	TL_ROW(NULL, "v9PDh53r007087: Saved message in /var/lib/sendmail/dead.letter", ML_EV_INFO),
	TL_ROW(NULL, "u31FFPtp032300:", ML_EV_INFO),
};

TL_PT_TEST(message_state, MESSAGE_STATE_ROWS, parse_row, kind_name)

/* ---- rejects ----------------------------------------------------------------- */

static const tl_pt_row_t REJECTS_RULESET_ROWS[] = {
	/* fail2ban/sendmail-reject */
	TL_ROW(NULL, "s1P819mk027713: ruleset=check_rcpt, arg1=<asservnew@freemailhost.ru>, relay=128-68-136-133.broadband.corbina.ru [128.68.136.133], reject=550 5.7.1 <asservnew@freemailhost.ru>... Relaying denied. Proper authentication required.", ML_EV_RCPT_REJECT, { "status", "blocked" }, { "qid", "s1P819mk027713" }, { "to", "asservnew@freemailhost.ru" }, { "from_set", "0" }, { "client_name", "128-68-136-133.broadband.corbina.ru" }, { "client_ip", "128.68.136.133" }, { "reason_text", "550 5.7.1 <asservnew@freemailhost.ru>... Relaying denied. Proper authentication required." }, { "dsn", "5.7.1" }),
	TL_ROW(NULL, "s1NLaDQT022248: ruleset=check_rcpt, arg1=<dautareuk2@hotmail.it>, relay=int0.client.access.azadnet.net [80.253.155.119] (may be forged), reject=550 5.7.1 <dautareuk2@hotmail.it>... Relaying denied. IP name possibly forged [80.253.155.119]", TL_ANY_KIND, { "client_ip", "80.253.155.119" }, { "client_name", "int0.client.access.azadnet.net" }),
	TL_ROW(NULL, "s1N9csSZ016772: ruleset=check_rcpt, arg1=<user@host.com>, relay=[203.229.186.250], reject=550 5.7.1 <user@host.com>... Rejected: IP in Barracuda RBL, see: http://www.barracudacentral.org/reputation?ip=203.229.186.250", TL_ANY_KIND, { "reason_text", "550 5.7.1 <user@host.com>... Rejected: IP in Barracuda RBL, see: http://www.barracudacentral.org/reputation?ip=203.229.186.250" }),
	TL_ROW(NULL, "55IC59VD017002: ruleset=check_rcpt, arg1=<spameri@tiscali.it>, relay=[45.125.66.67], reject=450 4.4.0 <spameri@tiscali.it>... Relaying temporarily denied. Cannot resolve PTR record for 45.125.66.67", TL_ANY_KIND, { "status", "blocked" }, { "dsn", "4.4.0" }),
	/* check_relay: no queue ID. */
	TL_ROW(NULL, "ruleset=check_relay, arg1=leased-line-54-82.telecom.by, arg2=217.21.54.82, relay=leased-line-54-82.telecom.by [217.21.54.82], reject=421 4.3.2 Connection rate limit exceeded.", ML_EV_NOQUEUE_REJECT, { "qid", "" }, { "to", "" }, { "from_set", "0" }, { "client_ip", "217.21.54.82" }, { "reason_text", "421 4.3.2 Connection rate limit exceeded." }),
	TL_ROW(NULL, "ruleset=check_relay, arg1=[192.0.2.123], arg2=192.0.2.123, relay=host.example.com [192.0.2.123] (may be forged), reject=421 4.3.2 Connection rate limit exceeded.", TL_ANY_KIND, { "client_ip", "192.0.2.123" }),
	/* The older "NOQUEUE: " prefix. */
	TL_ROW(NULL, "NOQUEUE: ruleset=check_relay, arg1=adsl.example.net, arg2=127.0.0.3, relay=adsl.example.net [196.206.91.97], reject=553 5.3.0 Rejected due to abuse", ML_EV_NOQUEUE_REJECT, { "client_ip", "196.206.91.97" }),
	/* check_mail: the sender. */
	TL_ROW(NULL, "r0GFR6M9018519: ruleset=check_mail, arg1=<spam@bad.example>, relay=bad.example [198.51.100.9], reject=553 5.1.8 <spam@bad.example>... Domain of sender address spam@bad.example does not exist", ML_EV_RCPT_REJECT, { "from", "spam@bad.example" }, { "from_set", "1" }, { "to", "" }, { "dsn", "5.1.8" }),
	TL_ROW(NULL, "r0GFR6M9018519: ruleset=check_compat, arg1=<a@x.example>, arg2=<b@y.example>, relay=x.example [198.51.100.9], reject=550 5.7.1 Access denied", TL_ANY_KIND, { "from", "a@x.example" }, { "to", "b@y.example" }),
	/* discard, quarantine, command rulesets. */
	TL_ROW(NULL, "r0GFR6M9018519: ruleset=check_rcpt, arg1=<x@example.com>, relay=[198.51.100.9], discard", ML_EV_RCPT_REJECT, { "reason_text", "discard" }),
	TL_ROW(NULL, "r0GFR6M9018519: ruleset=check_mail, arg1=<x@example.com>, relay=[198.51.100.9], quarantine=sender on watch list", ML_EV_HOLD, { "status", "quarantined" }, { "reason_text", "sender on watch list" }),
	TL_ROW(NULL, "r0GFR6M9018519: ruleset=check_vrfy, arg1=root, relay=[198.51.100.9], reject=550 5.7.1 VRFY denied", ML_EV_SKIP, { "reason", "sendmail command rejected" }, { "qid", "" }),
};

TL_PT_TEST(rejects_ruleset, REJECTS_RULESET_ROWS, parse_row, kind_name)

static const tl_pt_row_t REJECTS_OTHER_ROWS[] = {
	/* fail2ban/sendmail-reject: a recipient refused in the dialogue. */
	TL_ROW(NULL, "rA37ZTSC026250: <arhipov@domain.com>... No such user here", ML_EV_RCPT_REJECT, { "status", "blocked" }, { "to", "arhipov@domain.com" }, { "reason_text", "No such user here" }),
	TL_ROW(NULL, "55HIbcGI002794: <baduser@yourhost.com>... User unknown", TL_ANY_KIND, { "to", "baduser@yourhost.com" }, { "reason_text", "User unknown" }),
	TL_ROW(NULL, "v9PDh53r007087: nobody... User unknown", ML_EV_RCPT_REJECT, { "to", "nobody" }),
	/* Milters. */
	TL_ROW(NULL, "k876hJS0063495: Milter: data, reject=550 5.7.1 Blocked by SpamAssassin", ML_EV_RCPT_REJECT, { "status", "blocked" }, { "to", "" }, { "reason_text", "550 5.7.1 Blocked by SpamAssassin" }, { "dsn", "5.7.1" }),
	TL_ROW(NULL, "j73H4I2N015245: Milter: data, reject=554 5.7.1 virus Worm.Mydoom.I detected by ClamAV - http://www.clamav.net", TL_ANY_KIND, { "dsn", "5.7.1" }),
	TL_ROW(NULL, "r0GFR6M9018519: Milter: to=<bob@example.com>, reject=550 5.7.1 Command rejected", TL_ANY_KIND, { "to", "bob@example.com" }),
	TL_ROW(NULL, "r0GFR6M9018519: Milter: from=<spam@bad.example>, reject=451 4.7.1 Greylisting in action, please come back later", TL_ANY_KIND, { "from", "spam@bad.example" }, { "from_set", "1" }, { "dsn", "4.7.1" }),
	TL_ROW(NULL, "r0GFR6M9018519: Milter: connect: host=bad.example, addr=198.51.100.9, reject=554 5.7.1 Blacklisted", ML_EV_RCPT_REJECT, { "client_name", "bad.example" }, { "client_ip", "198.51.100.9" }),
	TL_ROW(NULL, "Milter: connect: host=bad.example, addr=198.51.100.9, reject=554 5.7.1 Blacklisted", ML_EV_NOQUEUE_REJECT),
	TL_ROW(NULL, "p79DwHsd012345: Milter: data, discard", ML_EV_RCPT_REJECT, { "reason_text", "discard" }),
	TL_ROW(NULL, "r0GFR6M9018519: Milter: to=<bob@example.com>, tempfail", ML_EV_RCPT_REJECT, { "reason_text", "tempfail" }),
	/* tcpwrappers. */
	TL_ROW(NULL, "NOQUEUE: tcpwrappers (bad.example, 198.51.100.9) rejection", ML_EV_NOQUEUE_REJECT, { "client_name", "bad.example" }, { "client_ip", "198.51.100.9" }),
};

TL_PT_TEST(rejects_other, REJECTS_OTHER_ROWS, parse_row, kind_name)

static const tl_pt_row_t AUTH_CLIENT_ROWS[] = {
	TL_ROW(NULL, "r0GFR6M9018519: AUTH=server, relay=client.example.org [192.0.2.44], authid=alice@example.org, mech=PLAIN, bits=0", ML_EV_CLIENT, { "sasl_user", "alice@example.org" }, { "client_name", "client.example.org" }, { "client_ip", "192.0.2.44" }),
	TL_ROW(NULL, "AUTH=server, relay=client.example.org [192.0.2.44], authid=alice, mech=PLAIN, bits=0", ML_EV_SKIP, { "reason", "sendmail auth" }, { "qid", "" }),
	TL_ROW(NULL, "r0GFR6M9018519: AUTH=client, relay=smtp.example.net, mech=PLAIN, bits=0", ML_EV_SKIP, { "reason", "sendmail auth" }, { "qid", "" }),
	/* fail2ban/sendmail-auth */
	TL_ROW(NULL, "06I02CNi016764: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=user@example.com, relay=example.com [192.0.2.3] (may be forged)", ML_EV_SKIP, { "reason", "sendmail auth" }, { "qid", "" }),
	TL_ROW(NULL, "s1GNXHYB005133: [190.5.230.178]: possible SMTP attack: command=AUTH, count=5", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
};

TL_PT_TEST(auth_client, AUTH_CLIENT_ROWS, parse_row, kind_name)

static const tl_pt_row_t CHATTER_ROWS[] = {
	TL_ROW(NULL, "v26LtRA0020949: some-host-24.example.org [192.0.2.194] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
	TL_ROW(NULL, "56VFYCxS024291: lost input channel from mail.aqicn.org [139.162.120.196] to MTA-v4 after rcpt", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
	TL_ROW(NULL, "s1R9r60D044307: rejecting commands from  [209.15.212.253] due to pre-greeting traffic after 0 seconds", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
	TL_ROW(NULL, "n2HBoYaC006978: timeout waiting for input from localhost during server cmd read", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
	TL_ROW(NULL, "s1NKIkZa093301: [76.72.174.70]: EXPN root [rejected]", ML_EV_SKIP, { "reason", "sendmail command rejected" }, { "qid", "" }),
	TL_ROW(NULL, "s1MD2hsd004030: rrcs-24-73-201-194.se.biz.rr.com [24.73.201.194]: VRFY root [rejected]", ML_EV_SKIP, { "reason", "sendmail command rejected" }, { "qid", "" }),
	TL_ROW(NULL, "NOQUEUE: Null connection from [192.0.2.5]", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
	TL_ROW(NULL, "NOQUEUE: connect from mail.example.org [192.0.2.5]", ML_EV_SKIP, { "reason", "sendmail connection" }, { "qid", "" }),
	TL_ROW(NULL, "STARTTLS=client, relay=mx.example.com., version=TLSv1.2, verify=FAIL, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256/256", ML_EV_SKIP, { "reason", "sendmail tls" }, { "qid", "" }),
	TL_ROW(NULL, "r0GFR6M9018519: STARTTLS=server, relay=client.example.org [192.0.2.44], version=TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256", ML_EV_SKIP, { "reason", "sendmail tls" }, { "qid", "" }),
	TL_ROW(NULL, "r0GFR6M9018519: Authentication-Warning: mx.example.com: www-data set sender to info@example.com using -f", ML_EV_SKIP, { "reason", "sendmail warning" }, { "qid", "" }),
	TL_ROW(NULL, "starting daemon (8.15.2): SMTP+queueing@00:10:00", ML_EV_SKIP, { "reason", "sendmail daemon" }, { "qid", "" }),
	TL_ROW(NULL, "alias database /etc/mail/aliases rebuilt by root", ML_EV_SKIP, { "reason", "sendmail aliases" }, { "qid", "" }),
	TL_ROW(NULL, "/etc/mail/aliases: 22 aliases, longest 10 bytes, 244 bytes total", ML_EV_SKIP, { "reason", "sendmail aliases" }, { "qid", "" }),
	TL_ROW(NULL, "NOQUEUE: SYSERR(root): QueueDirectory (Q) option must be set", ML_EV_SKIP, { "reason", "sendmail error" }, { "qid", "" }),
	TL_ROW(NULL, "", ML_EV_SKIP, { "reason", "sendmail empty line" }, { "qid", "" }),
	TL_ROW(NULL, "NOQUEUE:", ML_EV_SKIP, { "reason", "sendmail empty line" }, { "qid", "" }),
	TL_ROW(NULL, "something else entirely", ML_EV_UNKNOWN, { "reason", "sendmail: unrecognised" }),
};

TL_PT_TEST(chatter, CHATTER_ROWS, parse_row, kind_name)

/* ---- peers: fixtures with expected values ------------------------------------ */

typedef struct {
	const char *name;
	int lines, agree, differ, skipped, fields;
} peer_row_t;

static void peer_check(peer_row_t *r, int *diff, const char *field, ml_slice_t got, const char *want,
		       const char *line)
{
	r->fields++;
	if (!slice_is(got, want)) {
		(*diff)++;
		print_message("peer %s: %s: got [%.*s], want [%s]: %s\n", r->name, field, (int)got.n,
			      got.p ? got.p : "", want, line);
	}
}

static void peer_num(peer_row_t *r, int *diff, const char *field, long long got, long long want,
		     const char *line)
{
	r->fields++;
	if (got != want) {
		(*diff)++;
		print_message("peer %s: %s: got %lld, want %lld: %s\n", r->name, field, got, want, line);
	}
}

/* A string value after "key": in s. */
static int json_str(const char *s, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\"", key);
	const char *p = strstr(s, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p != '"')
		return 0;
	size_t o = 0;
	for (p++; *p && *p != '"' && o + 1 < cap; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[o++] = *p;
	}
	out[o] = '\0';
	return 1;
}

/* fail2ban: "# failJSON: { "time": ..., "match": ..., "host": "IP" }" then the
 * line.  Compared: the time (engine/syslog, TZ=UTC, the year inferred
 * from 2005-08-01 as fail2ban's tests do from their own "now") where the header parses, and the host as client_ip where the event
 * models the client (arrivals, rejects, CLIENT).  Lines the parser skips
 * (AUTH failures, "did not issue", "possible SMTP attack": fail2ban's whole
 * subject, no message of ours) count as skipped. */
static void peer_fail2ban(const char *rel, peer_row_t *r, int *diffs)
{
	lines_t L_;
	assert_int_equal(lines_load(&L_, tl_corpus(rel)), 0);
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, (time_t)1122854400, 0);  /* 2005-08-01: Nov 3 is 2004's */
	char js[1024] = "";
	for (size_t i = 0; i < L_.count; i++) {
		char *l = strndup(L_.line[i], L_.n[i]);
		if (strncmp(l, "# failJSON:", 11) == 0) {
			snprintf(js, sizeof js, "%s", l);
			free(l);
			continue;
		}
		if (l[0] == '#' || l[0] == '\0' || !js[0]) {
			free(l);
			continue;
		}
		r->lines++;
		int d = 0, before = r->fields;
		const char *m;
		size_t mn;
		if (!sendmail_msg(l, strlen(l), &m, &mn))
			fail_msg("peer %s: not a Sendmail line: %s", r->name, l);
		ml_event_t ev;
		ml_sendmail_parse(ml_slice(m, mn), &ev);
		if (ev.kind == ML_EV_UNKNOWN)
			fail_msg("peer %s: UNKNOWN: %s", r->name, l);
		char want[256];
		ml_syslog_t h;
		if (json_str(js, "time", want, sizeof want) && ml_syslog_parse(&ctx, l, strlen(l), &h, NULL) == 0) {
			char got[64];
			time_t s = (time_t)(h.time_us / 1000000);
			struct tm tm;
			gmtime_r(&s, &tm);
			strftime(got, sizeof got, "%Y-%m-%dT%H:%M:%S", &tm);
			peer_check(r, &d, "time", ml_slice_cstr(got), want, l);
		}
		int client = ev.kind == ML_EV_NOQUEUE_REJECT || ev.kind == ML_EV_RCPT_REJECT ||
			     ev.kind == ML_EV_ARRIVAL || ev.kind == ML_EV_CLIENT;
		if (client && ev.client_ip.n && json_str(js, "host", want, sizeof want))
			peer_check(r, &d, "host", ev.client_ip, want, l);
		if (ev.kind == ML_EV_SKIP && r->fields - before <= 1)
			r->skipped++;
		else if (d)
			r->differ++;
		else
			r->agree++;
		*diffs += d;
		js[0] = '\0';
		free(l);
	}
	lines_free(&L_);
}

/*
 * fluent-plugin-sendmail: data.log and the records the plugin makes of it
 * (one per delivery line, merged with the message's from= line), compared
 * field by field: qid, from, size, nrcpts, msgid, proto, the client of the
 * arrival (relay_from), every recipient of to=, dsn, delay_in_sec, the
 * status (sent / deferred / sent_local), the next hop's ip and host
 * (relay_to), the stat text (our reason_text: the reply of Sent, the text
 * after "Deferred: "), the time (TZ JST-9, the plugin's test zone, year
 * 2016).  The plugin's "canonical_status": "bounced" on a deferral older
 * than a day is its own policy (Sendmail still retries): reported, not
 * compared.
 */
static void peer_fluent(peer_row_t *r, int *diffs)
{
	lines_t D, R;
	assert_int_equal(lines_load(&D, tl_corpus("fluent-plugin-sendmail/data.log")), 0);
	assert_int_equal(lines_load(&R, tl_corpus("fluent-plugin-sendmail/result")), 0);
	setenv("TZ", "JST-9", 1);
	tzset();
	ml_syslog_ctx_t ctx;
	ml_syslog_ctx_init(&ctx, time(NULL), 2016);
	ml_event_t arr;
	memset(&arr, 0, sizeof arr);
	size_t rec = 0;
	for (size_t i = 0; i < D.count; i++) {
		const char *m;
		size_t mn;
		if (!D.n[i] || !sendmail_msg(D.line[i], D.n[i], &m, &mn))
			continue;
		char *l = strndup(D.line[i], D.n[i]);
		ml_event_t ev;
		ml_sendmail_parse(ml_slice(m, mn), &ev);
		r->lines++;
		if (ev.kind == ML_EV_ARRIVAL)
			arr = ev;  /* slices into D, which lives on */
		if (ev.kind != ML_EV_DELIVERY) {
			if (ev.kind == ML_EV_UNKNOWN)
				fail_msg("peer %s: UNKNOWN: %s", r->name, l);
			r->skipped += ev.kind == ML_EV_SKIP;
			r->agree += ev.kind != ML_EV_SKIP;  /* folded into the records below */
			free(l);
			continue;
		}
		if (rec >= R.count)
			fail_msg("peer %s: more deliveries than records", r->name);
		char *js = strndup(R.line[rec], R.n[rec]);
		rec++;
		json_error_t jerr;
		json_t *o = json_loads(js, 0, &jerr);
		assert_non_null(o);
		int d = 0;
		char want[512];
		ml_syslog_t h;
		assert_int_equal(ml_syslog_parse(&ctx, l, strlen(l), &h, NULL), 0);
		peer_num(r, &d, "time", h.time_us / 1000000, json_integer_value(json_object_get(o, "time")), l);
		peer_check(r, &d, "qid", ev.qid, json_string_value(json_object_get(o, "qid")), l);
		snprintf(want, sizeof want, "<%.*s>", (int)arr.from.n, arr.from.p);
		peer_check(r, &d, "from", ml_slice_cstr(want), json_string_value(json_object_get(o, "from")), l);
		peer_num(r, &d, "size", (long long)arr.size, atoll(json_string_value(json_object_get(o, "size"))), l);
		peer_num(r, &d, "nrcpts", arr.nrcpt, atoll(json_string_value(json_object_get(o, "nrcpts"))), l);
		snprintf(want, sizeof want, "<%.*s>", (int)arr.msgid.n, arr.msgid.p);
		peer_check(r, &d, "msgid", ml_slice_cstr(want), json_string_value(json_object_get(o, "msgid")), l);
		peer_check(r, &d, "proto", arr.proto, json_string_value(json_object_get(o, "proto")), l);
		json_t *rf = json_object_get(o, "relay_from");
		peer_check(r, &d, "relay_from.ip", arr.client_ip, json_string_value(json_object_get(rf, "ip")), l);
		const char *host = json_string_value(json_object_get(rf, "host"));
		peer_check(r, &d, "relay_from.host", arr.client_name, host ? host : "", l);
		/* every recipient, in order */
		json_t *to = json_object_get(o, "to");
		ml_slice_t list = ev.to_list, a;
		size_t k = 0;
		while (ml_rcpts_next(&list, ',', &a)) {
			const char *w = json_string_value(json_array_get(to, k++));
			char wb[256];
			snprintf(wb, sizeof wb, "%s", w ? w : "");
			size_t wl = strlen(wb);
			const char *wa = wb;
			if (wl >= 2 && wb[0] == '<' && wb[wl - 1] == '>') {
				wb[wl - 1] = '\0';
				wa = wb + 1;
			}
			peer_check(r, &d, "to", a, wa, l);
		}
		peer_num(r, &d, "to count", (long long)k, (long long)json_array_size(to), l);
		peer_check(r, &d, "dsn", ev.dsn, json_string_value(json_object_get(o, "dsn")), l);
		peer_num(r, &d, "delay_in_sec", ev.delay_ms / 1000,
			 json_integer_value(json_object_get(o, "delay_in_sec")), l);
		const char *sc = json_string_value(json_object_get(o, "status_canonical"));
		const char *ours = ev.status == ML_ST_DELIVERED ? (ev.local_delivery ? "sent_local" : "sent")
				   : ev.status == ML_ST_DELAYED ? "deferred" : ml_status_name(ev.status);
		peer_check(r, &d, "status", ml_slice_cstr(ours), sc, l);
		json_t *rt = json_object_get(o, "relay_to");
		if (rt) {
			/* relay as written: "[ip] [ip]" or "host [ip]" */
			ml_slice_t rn, rip;
			const char *rp = ev.relay.p, *re = rp + ev.relay.n;
			rip = ML_SLICE_NULL;
			rn = ML_SLICE_NULL;
			const char *lb = rp < re ? memchr(rp, ' ', (size_t)(re - rp)) : NULL;
			if (lb && lb + 2 < re && lb[1] == '[' && re[-1] == ']')
				rip = ml_slice(lb + 2, (size_t)(re - lb - 3));
			if (rp < re && *rp != '[')
				rn = ml_slice(rp, (size_t)((lb ? lb : re) - rp));
			peer_check(r, &d, "relay_to.ip", rip, json_string_value(json_object_get(rt, "ip")), l);
			const char *rh = json_string_value(json_object_get(rt, "host"));
			peer_check(r, &d, "relay_to.host", rn, rh ? rh : "", l);
		}
		/* stat: ours is the reply of Sent / the text after "Deferred: " */
		const char *stat = json_string_value(json_object_get(o, "stat"));
		char sb[512];
		snprintf(sb, sizeof sb, "%s", stat ? stat : "");
		const char *sw = sb;
		if (!strncmp(sb, "Sent (", 6) && sb[strlen(sb) - 1] == ')') {
			sb[strlen(sb) - 1] = '\0';
			sw = sb + 6;
		} else if (!strcmp(sb, "Sent")) {
			sw = "";
		} else if (!strncmp(sb, "Deferred: ", 10)) {
			sw = sb + 10;
		}
		peer_check(r, &d, "stat", ev.reason_text, sw, l);
		if (json_object_get(o, "canonical_status"))
			print_message("peer %s: not compared: canonical_status \"%s\" (the plugin's policy for a "
				      "deferral over a day; ours: %s): %s\n", r->name,
				      json_string_value(json_object_get(o, "canonical_status")),
				      ml_status_name(ev.status), l);
		if (d)
			r->differ++;
		else
			r->agree++;
		*diffs += d;
		json_decref(o);
		free(js);
		free(l);
	}
	assert_int_equal(rec, R.count);
	lines_free(&D);
	lines_free(&R);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void peer_fixtures(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	peer_row_t rows[] = {
		{ "fail2ban/sendmail-auth", 0, 0, 0, 0, 0 },
		{ "fail2ban/sendmail-reject", 0, 0, 0, 0, 0 },
		{ "fluent-plugin-sendmail", 0, 0, 0, 0, 0 },
	};
	int diffs = 0;
	peer_fail2ban("fail2ban/sendmail-auth", &rows[0], &diffs);
	peer_fail2ban("fail2ban/sendmail-reject", &rows[1], &diffs);
	peer_fluent(&rows[2], &diffs);
	print_message("peer: %-26s %5s %6s %6s %6s %6s\n", "fixture", "lines", "agree", "differ", "skip", "fields");
	int tl = 0, tf = 0;
	for (size_t i = 0; i < ML_ARRAY_LEN(rows); i++) {
		print_message("peer: %-26s %5d %6d %6d %6d %6d\n", rows[i].name, rows[i].lines, rows[i].agree,
			      rows[i].differ, rows[i].skipped, rows[i].fields);
		tl += rows[i].lines;
		tf += rows[i].fields;
	}
	assert_true(tl >= 55);
	assert_true(tf >= 150);
	assert_int_equal(diffs, 0);
}

/* ---- every Sendmail line of the corpus ---------------------------------------- */

typedef struct {
	size_t kinds[NKINDS];
	size_t unknown, bad;
} sweep_t;

static void sweep_line(const char *msg, size_t n, const char *file, void *arg)
{
	sweep_t *s = arg;
	ml_event_t ev;
	ml_sendmail_parse(ml_slice(msg, n), &ev);
	s->kinds[(unsigned)ev.kind < NKINDS ? ev.kind : 0]++;
	if (!event_ok(&ev, msg, n)) {
		s->bad++;
		print_message("event invariant broken: %.*s\n", (int)n, msg);
	}
	if (ev.kind == ML_EV_UNKNOWN) {
		s->unknown++;
		print_message("UNKNOWN (%s) %s: %.*s\n", ev.reason, file, (int)n, msg);
	}
}

static void corpus_sweep(void **state)
{
	(void)state;
	sweep_t s;
	memset(&s, 0, sizeof s);
	size_t other;
	size_t total = for_each_sendmail_line(sweep_line, &s, &other);
	print_message("corpus sweep: %zu Sendmail lines, %zu other lines (fixture comments)\n", total, other);
	for (size_t k = 0; k < NKINDS; k++)
		if (s.kinds[k])
			print_message("corpus sweep: %-15s %5zu\n", KIND_NAMES[k], s.kinds[k]);
	assert_true(total >= 100);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.unknown, 0);
	assert_true(s.kinds[ML_EV_DELIVERY] >= 6);
	assert_true(s.kinds[ML_EV_ARRIVAL] >= 5);
	assert_true(s.kinds[ML_EV_RCPT_REJECT] >= 30);
	assert_true(s.kinds[ML_EV_NOQUEUE_REJECT] >= 8);
}

/* ---- robustness: every line cut at every length (run under ASan) --------------- */

/* Hand-written lines of the tests above that the corpus lacks, cut too. */
static const char *const EXTRA_LINES[] = {
	"u24Ds0UC009915: u24Ds0UC009917: DSN: User unknown",
	"mAO2tx04010773: mB26PuEl004811: sender notify: Cannot send message for 5 days",
	"r0GFR6M9018519: r0GFR6MA018519: clone: owner=owner-list@example.com",
	"r0GFR6M9018519: clone r0GFR6MA018519, owner=owner-list@example.com",
	"r0GFR6M9018519: to=\"Bob, Jr.\" <bob@example.com>,carol, ctladdr=<www-data@example.com> (33/33), delay=00:00:02, xdelay=00:00:01, mailer=lmtp, pri=30365, relay=localhost, dsn=2.0.0, stat=Sent (<abc@example.com> Message accepted for delivery)",
	"r0GFR6M9018519: to=<bob@example.com>, delay=99999+00:00:00, mailer=esmtp, dsn=4.0.0, stat=Deferred",
	"x1HBOhe0012345: from=<alice@example.org>, size=812, class=0, nrcpts=2, msgid=<abc@example.org>, bodytype=8BITMIME, proto=ESMTPSA, daemon=MTA, relay=ident@client.example.org [IPv6:2001:db8::25]",
	"r0GFR6M9018519: AUTH=server, relay=client.example.org [192.0.2.44], authid=alice@example.org, mech=PLAIN, bits=0",
	"r0GFR6M9018519: Milter: connect: host=bad.example, addr=198.51.100.9, reject=554 5.7.1 Blacklisted",
	"r0GFR6M9018519: ruleset=check_compat, arg1=<a@x.example>, arg2=<b@y.example>, relay=x.example [198.51.100.9], reject=550 5.7.1 Access denied",
	"r0GFR6M9018519: Milter: data, quarantine=suspicious attachment",
	"r0GFR6M9018519: alias postmaster => root,admin@example.com",
	"NOQUEUE: tcpwrappers (bad.example, 198.51.100.9) rejection",
	"v9PDh53r007087: nobody... User unknown",
};

typedef struct {
	size_t lines, parses, bad;
	unsigned seed;
} cut_t;

static void cut_line(const char *msg, size_t n, const char *file, void *arg)
{
	(void)file;
	cut_t *c = arg;
	c->lines++;
	char *b = malloc(n ? n : 1);
	for (size_t k = 0; k <= n; k++) {
		/* the first k bytes, and the last k bytes, each at the end of the block */
		char *m = b + (n - k);
		memcpy(m, msg, k);
		ml_event_t ev;
		ml_sendmail_parse(ml_slice(m, k), &ev);
		c->parses++;
		if (!event_ok(&ev, m, k))
			c->bad++;
		memcpy(m, msg + (n - k), k);
		ml_sendmail_parse(ml_slice(m, k), &ev);
		c->parses++;
		if (!event_ok(&ev, m, k))
			c->bad++;
	}
	/* mutated bytes */
	if (n) {
		memcpy(b, msg, n);
		static const char bytes[] = { '\0', '\xff', '<', '>', '"', ',', ':', ' ', '[', ']', '=', '+', '(', ')' };
		for (int round = 0; round < 64; round++) {
			c->seed = c->seed * 1103515245u + 12345u;
			size_t at = (c->seed >> 8) % n;
			char old = b[at];
			b[at] = bytes[(c->seed >> 20) % sizeof bytes];
			ml_event_t ev;
			ml_sendmail_parse(ml_slice(b, n), &ev);
			c->parses++;
			if (!event_ok(&ev, b, n))
				c->bad++;
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
	for_each_sendmail_line(cut_line, &c, NULL);
	for (size_t i = 0; i < ML_ARRAY_LEN(EXTRA_LINES); i++)
		cut_line(EXTRA_LINES[i], strlen(EXTRA_LINES[i]), "extra", &c);
	print_message("robustness: %zu lines, %zu parses\n", c.lines, c.parses);
	assert_true(c.parses > 30000);
	assert_int_equal(c.bad, 0);
}

static void cut_written(const char *prog, const char *msg, size_t n, const char *file, void *arg)
{
	(void)prog;
	cut_line(msg, n, file, arg);
}

/* The same over the lines of the rule tests above and the project's log. */
static void robustness_written(void **state)
{
	(void)state;
	cut_t c = { .seed = 1 };
	size_t n = tl_written_each(cut_written, &c);
	size_t own = each_sendmail_line(OWN_FILES, ML_ARRAY_LEN(OWN_FILES), 0, cut_line, &c, NULL);
	print_message("robustness: %zu lines of the rule tests, %zu of the project's log, %zu parses\n", n, own,
		      c.parses);
	assert_true(n > 60);
	assert_true(own >= 16);
	assert_int_equal(c.bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(program_and_qids),
		cmocka_unit_test(arrival),
		cmocka_unit_test(delivery_sent),
		cmocka_unit_test(delivery_delayed),
		cmocka_unit_test(delivery_failed),
		cmocka_unit_test(rcpt_list),
		cmocka_unit_test(notices),
		cmocka_unit_test(message_state),
		cmocka_unit_test(rejects_ruleset),
		cmocka_unit_test(rejects_other),
		cmocka_unit_test(auth_client),
		cmocka_unit_test(chatter),
		cmocka_unit_test(robustness_written),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(peer_fixtures),
		cmocka_unit_test(corpus_sweep),
		cmocka_unit_test(robustness_cuts),
	};
	return TL_RUN("sendmail", tests, corpus_tests, NULL, NULL);
}
