/*
 * Unit tests for engine/filters: one test per rule of the parser, the
 * recipient iterator, and a robustness run (every line cut at every length,
 * exact-size heap copies) meant to be run under ASan/UBSan, over the lines
 * of the rule tests, the filter lines of tests/data/filters.log and odd
 * inputs.  The corpus tier adds crowdsec's amavis and MailScanner fixtures
 * as a peer suite, the amavis chain of the pixelpark log (every Queue-ID is
 * a Postfix queue ID of that log, every queued_as is a Postfix queue ID born
 * after it), a sweep over every filter line of the corpus (none may be
 * ML_EV_UNKNOWN) and the robustness run over those lines (parse speed is
 * bench/'s).
 *
 * Files are read in place.  Syslog lines are split here with a crude scan
 * for the program token, independent of engine/syslog.
 */
#include "testlib.h"
#include "tests/parse_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/rcpts.h"
#include "engine/filters.h"
#include "engine/postfix.h"

/* ---- helpers ----------------------------------------------------------- */

/* Parse one message part; the line is kept for robustness_written. */
static ml_event_t F(const char *prog, const char *msg)
{
	ml_event_t ev;
	tl_written_add(prog, msg, strlen(msg));
	ml_filters_parse(ml_slice_cstr(prog), ml_slice_cstr(msg), &ev);
	return ev;
}

/* The table runs (tests/parse_table.h). */
static void parse_row(const char *program, const char *msg, ml_event_t *ev)
{
	*ev = F(program, msg);
}

/* slice assertions: tests/testlib.h */
#define slice_is tl_slice_is
#define expect_slice tl_expect_slice
#define EQ(s, want) tl_expect_slice((s), (want), #s, __LINE__)

static void expect_kind(const ml_event_t *ev, ml_event_kind_t k, int line)
{
	if (ev->kind != k)
		fail_msg("line %d: kind %d (reason %s), want %d", line, (int)ev->kind,
			 ev->reason ? ev->reason : "-", (int)k);
}
#define KIND(ev, k) expect_kind(&(ev), (k), __LINE__)

static void expect_skip(const ml_event_t *ev, const char *reason, int line)
{
	expect_kind(ev, ML_EV_SKIP, line);
	if (!ev->reason || strcmp(ev->reason, reason) != 0)
		fail_msg("line %d: skip reason [%s], want [%s]", line, ev->reason ? ev->reason : "", reason);
	if (ev->qid.n)
		fail_msg("line %d: a skip carries no queue ID", line);
}
#define SKIPPED(ev, reason) expect_skip(&(ev), (reason), __LINE__)

static int inside(ml_slice_t s, const char *m, size_t n)
{
	if (s.n == 0)
		return 1;
	if (s.p && s.p >= m && s.p + s.n <= m + n)
		return 1;
	/* spamd's static verdicts. */
	return s.p && (slice_is(s, "spam") || slice_is(s, "clean"));
}

/* Every slice of ev lies inside [m, m + n) and the kind's invariants hold. */
static int event_ok(const ml_event_t *ev, const char *m, size_t n)
{
	const ml_slice_t *s[] = {
		&ev->qid, &ev->other_qid, &ev->from, &ev->to, &ev->orig_to, &ev->relay, &ev->dsn,
		&ev->reason_text, &ev->msgid, &ev->header_name, &ev->subject, &ev->client_name,
		&ev->client_ip, &ev->sasl_user, &ev->helo, &ev->proto, &ev->rcpt_list, &ev->router,
		&ev->transport, &ev->filter_rcpts, &ev->quarantine, &ev->score,
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(s); i++)
		if (!inside(*s[i], m, n))
			return 0;
	if (!inside(ev->verdict, m, n))
		return 0;
	if ((ev->kind == ML_EV_SKIP || ev->kind == ML_EV_UNKNOWN) && (!ev->reason || ev->qid.n))
		return 0;
	if (ev->kind != ML_EV_SKIP && ev->kind != ML_EV_UNKNOWN && ev->kind != ML_EV_FILTER)
		return 0;
	if (ev->kind == ML_EV_FILTER && !ev->qid.n && !ev->msgid.n && !ev->other_qid.n)
		return 0;
	if (ev->qid.n && !ml_filters_is_qid(ev->qid))
		return 0;
	if (ev->other_qid.n && !ml_filters_is_qid(ev->other_qid))
		return 0;
	return (unsigned)ev->status < ML_ST__COUNT;
}

/* A corpus file as lines with exact lengths. */
/* the corpus as lines: tests/testlib.h */
typedef tl_lines_t lines_t;
#define lines_load tl_lines_load
#define lines_free tl_lines_free

/*
 * The program token of a syslog line (one of the first eight tokens, ending
 * in ':') and the message part after it.  0 when none of them is a filter
 * program.
 */
static int filter_msg(const char *l, size_t n, ml_slice_t *prog, ml_slice_t *msg)
{
	size_t i = 0;
	for (int tok = 0; tok < 8 && i < n; tok++) {
		while (i < n && l[i] == ' ')
			i++;
		size_t s = i;
		while (i < n && l[i] != ' ')
			i++;
		if (i - s >= 2 && l[i - 1] == ':' && ml_filters_is_program(ml_slice(l + s, i - s - 1))) {
			*prog = ml_slice(l + s, i - s - 1);
			if (i < n)
				i++;
			*msg = ml_slice(l + i, n - i);
			return 1;
		}
	}
	return 0;
}

/* ---- programs ----------------------------------------------------------- */

static const tl_pt_row_t PROGRAM_NAMES_ROWS[] = {
	/* Not a filter program: UNKNOWN, never a crash. */
	TL_ROW("postfix/smtpd", "(1-01) Passed CLEAN", ML_EV_UNKNOWN),
};

static void program_names(void **state)
{
	(void)state;
	/* ml_filters_is_program and ml_filters_is_qid themselves, in code: no line is parsed */
	const char *yes[] = { "amavis", "amavis[4051607]", "amavisd", "amavisd-new", "/usr/sbin/amavisd",
			      "rspamd", "rspamd_proxy", "spamd", "clamav-milter", "opendkim", "opendmarc",
			      "policyd-spf", "MailScanner", "MailScanner[1803828]" };
	const char *no[] = { "", "postfix/smtpd", "postfix/amavis/smtp", "exim", "amavis-x", "spam",
			     "sendmail", "dovecot", "clamd" };
	for (size_t i = 0; i < ML_ARRAY_LEN(yes); i++)
		if (!ml_filters_is_program(ml_slice_cstr(yes[i])))
			fail_msg("%s is a filter program", yes[i]);
	for (size_t i = 0; i < ML_ARRAY_LEN(no); i++)
		if (ml_filters_is_program(ml_slice_cstr(no[i])))
			fail_msg("%s is not a filter program", no[i]);
	assert_true(ml_filters_is_qid(ml_slice_cstr("4PbC4x469Jz3tBr")));
	assert_true(ml_filters_is_qid(ml_slice_cstr("1rYEqu-00000000PJq-1Iu0")));
	assert_false(ml_filters_is_qid(ml_slice_cstr("a b")));
	assert_false(ml_filters_is_qid(ML_SLICE_NULL));
	TL_PT_RUN(PROGRAM_NAMES_ROWS, parse_row, NULL);
}

/* ---- amavis ------------------------------------------------------------- */

static const tl_pt_row_t AMAVIS_PASSED_ROWS[] = {
	/* postfix-logsums/mail.log: a message through amavis, re-injected. */
	TL_ROW("amavis", "(237978-11) Passed CLEAN {RelayedInbound}, [185.31.160.120]:41695 [45.141.85.146] ESMTP/ESMTP <ajmyjyz@nistoresio.co.cz> -> <user01.test@uhu-banane.net>, (ESMTP://[185.31.160.120]:41695 < ESMTPA://45.141.85.146), Queue-ID: 4PbC4x469Jz3tBr, Message-ID: <71816687N65284230Y01410375Q67285060N@ajmyjyz>, mail_id: VQpGETLS8yJc, b: _dAm-dg2M, Hits: 2.913, size: 175061, queued_as: 4PbC4z6W5Qz3tG3, Subject: \"Individuelle Prognose f\xc3\xbcr den Gewichtsverlust (raw: =?utf-8?B?SW5kaXZpZHVlbGxlIFByb2dub3NlIGbDvHIgZGVuIEdld2ljaHRzdmVybHVzdA==?=)\", From: <ajmyjyz@nistoresio.co.cz>, helo=mail.nistoresio.co.cz, Tests: [BAYES_20=-0.001,HTML_IMAGE_ONLY_08=1.651,HTML_IMAGE_RATIO_02=0.001,HTML_MESSAGE=0.001,HTML_SHORT_LINK_IMG_1=0.001,SPF_HELO_NONE=0.001,SPF_PASS=-0.001,T_TVD_MIME_EPI=0.01,URIBL_ABUSE_SURBL=1.25], autolearn=no autolearn_force=no, autolearnscore=3.881, 2131 ms", ML_EV_FILTER, { "status", "delivered" }, { "qid", "4PbC4x469Jz3tBr" }, { "other_qid", "4PbC4z6W5Qz3tG3" }, { "verdict", "Passed CLEAN" }, { "reason_text", "Passed CLEAN" }, { "client_ip", "185.31.160.120" }, { "from", "ajmyjyz@nistoresio.co.cz" }, { "from_set", "1" }, { "filter_rcpts", "<user01.test@uhu-banane.net>" }, { "msgid", "71816687N65284230Y01410375Q67285060N@ajmyjyz" }, { "score", "2.913" }, { "quarantine", "" }, { "size", "175061" }),
	/* SPAMMY / SPAM passed with a tag. */
	TL_ROW("amavis", "(233291-20) Passed SPAM {RelayedTaggedInbound}, [66.96.185.3]:43837 [41.138.104.60] ESMTP/ESMTP <SRS0=GoEQ2z=7G=mohamslamaw.com=insmaokn@eigbox.net> -> <user01.test@uhu-banane.net>, (ESMTPS://[66.96.185.3]:43837 < HTTP://41.138.104.60), Queue-ID: 4PbV786tKMz3tBr, Message-ID: <75144a6fa38acfa69f247b6a466c7e3e@mohamslamaw.com>, mail_id: mQN7GhSkDX2H, b: hFgkBQOdR, Hits: 16.684, size: 6258, queued_as: 4PbV7C2D3gz3tG3, Subject: \"Greeting My Dear Friend,\", From: <insmaokn@mohamslamaw.com>, User-Agent: Roundcube_Webmail/1.3.14, helo=bosmailout03.eigbox.net, Tests: [ADVANCE_FEE_5_NEW_MONEY=3,BAYES_50=0.8,DKIM_INVALID=0.1,DKIM_SIGNED=0.1,FORM_FR...", ML_EV_FILTER, { "status", "delivered" }, { "verdict", "Passed SPAM" }, { "qid", "4PbV786tKMz3tBr" }, { "other_qid", "4PbV7C2D3gz3tG3" }, { "score", "16.684" }),
	/* Hand-written: several recipients, several queued_as joined by '/'. */
	TL_ROW("amavis", "(12345-01) Passed CLEAN {RelayedInbound}, [192.0.2.1]:4711 [192.0.2.1] <from@example.org> -> <a@example.com>,<b@example.net>, Queue-ID: 4Xy3Fh1Lm8zJfK, Message-ID: <id@example.org>, mail_id: AbCdEf012345, Hits: -1.2, size: 2345, queued_as: 4Xy3Fj2Nn9zJfL/4Xy3Fj3Pq0zJfM, 1234 ms", ML_EV_FILTER, { "filter_rcpts", "<a@example.com>,<b@example.net>" }, { "other_qid", "4Xy3Fj2Nn9zJfL" }, { "score", "-1.2" }, { "filter_rcpts[]", "a@example.com|b@example.net" }),
};

TL_PT_TEST(amavis_passed, AMAVIS_PASSED_ROWS, parse_row, NULL)

static const tl_pt_row_t AMAVIS_BLOCKED_ROWS[] = {
	/* crowdsec-hub/amavis-logs: quarantined virus. */
	TL_ROW("amavis", "(4051607-09) Blocked INFECTED (Porcupine.Phishing.55542.UNOFFICIAL) {DiscardedInbound,Quarantined}, [192.168.0.1]:1434 [192.168.0.1] <someone1@something1.com> -> <someon2@something2.com>, quarantine: 2/virus-26W2lJY63nCZ, Queue-ID: 83B741009CD35, Message-ID: <20240223075525.8CD9941B67@xxx.xxx.shop>, mail_id: 26W2lJY63nCZ, Hits: -, size: 28646, 104 ms", ML_EV_FILTER, { "status", "quarantined" }, { "qid", "83B741009CD35" }, { "other_qid", "" }, { "verdict", "Blocked INFECTED" }, { "reason_text", "Blocked INFECTED (Porcupine.Phishing.55542.UNOFFICIAL)" }, { "quarantine", "2/virus-26W2lJY63nCZ" }, { "score", "" }, { "client_ip", "192.168.0.1" }, { "size", "28646" }),
	/* postfix-logsums: banned file names (the details hold spaces and commas). */
	TL_ROW("amavis", "(351462-17) Blocked BANNED (.exe,.exe-ms,Purchase Order-20230315-pdf.scr) {DiscardedInbound,Quarantined}, [212.227.15.19]:46759 [35.188.35.122] ESMTP/ESMTP <user01.test@gmx.de> -> <user01.test@uhu-banane.net>, (ESMTPS://[212.227.15.19]:46759 < ESMTPS://67.220.184.242 < esmtpsa___tls_TLS_AES_256_GCM_SHA384://35.188.35.122), quarantine: t3d7qJkAoigg, Queue-ID: 4Pc3ZX1jFxz3tBr, Message-ID: <20230315083320.C472106BAA31721C@howunited.com>, mail_id: t3d7qJkAoigg, b: yBZPxzWx2, Hits: -, size: 3233426, Subject: \"Re: New Order\", From: <bassam.elmasri@howunited.com>, helo=mout.gmx.net, 2680 ms", ML_EV_FILTER, { "status", "quarantined" }, { "verdict", "Blocked BANNED" }, { "reason_text", "Blocked BANNED (.exe,.exe-ms,Purchase Order-20230315-pdf.scr)" }, { "quarantine", "t3d7qJkAoigg" }, { "qid", "4Pc3ZX1jFxz3tBr" }),
	/* Hand-written: discarded without quarantine → blocked. */
	TL_ROW("amavis", "(12345-02) Blocked SPAM {DiscardedInbound}, [192.0.2.1]:4711 [192.0.2.1] <spam@example.org> -> <a@example.com>, Queue-ID: 4Xy3Fh1Lm8zJfK, Message-ID: <s@example.org>, mail_id: AbC, Hits: 27.3, size: 2345, 1234 ms", ML_EV_FILTER, { "status", "blocked" }, { "verdict", "Blocked SPAM" }),
	/* ... quarantined by name alone, and the other verbs. */
	TL_ROW("amavisd", "(12345-03) Blocked SPAM {DiscardedInbound}, [192.0.2.1]:4711 <spam@example.org> -> <a@example.com>, quarantine: spam-AbC.gz, Queue-ID: 4Xy3Fh1Lm8zJfK, Hits: 27.3, 1234 ms", TL_ANY_KIND, { "status", "quarantined" }, { "quarantine", "spam-AbC.gz" }),
	TL_ROW("amavisd-new", "(12345-04) Not-Delivered SPAM {DiscardedOutbound}, LOCAL [192.0.2.9]:4711 <a@example.com> -> <x@example.org>, Queue-ID: 4Xy3Fh1Lm8zJfK, Hits: 9, 10 ms", ML_EV_FILTER, { "status", "blocked" }, { "verdict", "Not-Delivered SPAM" }),
	TL_ROW("amavis", "(12345-05) Blocked INFECTED (Eicar-Test-Signature) {DiscardedInbound,Quarantined}, [192.0.2.1]:4711 [192.0.2.1] <a@example.org> -> <b@example.com>, quarantine: virus-AbCdEf, Queue-ID: 4Xy3Fh1Lm8zJfK, Message-ID: <e@example.org>, mail_id: AbCdEf, Hits: -, size: 700, 50 ms", TL_ANY_KIND, { "reason_text", "Blocked INFECTED (Eicar-Test-Signature)" }),
	TL_ROW("amavis", "(12345-06) Released CLEAN {Relayed}, <a@example.org> -> <b@example.com>, Queue-ID: 4Xy3Fh1Lm8zJfK, queued_as: 4Xy3Fk1Lm8zJfN, 5 ms", TL_ANY_KIND, { "status", "delivered" }, { "other_qid", "4Xy3Fk1Lm8zJfN" }),
};

TL_PT_TEST(amavis_blocked, AMAVIS_BLOCKED_ROWS, parse_row, NULL)

static const tl_pt_row_t AMAVIS_KEYS_ROWS[] = {
	/* modoboa/mail.log: no Queue-ID; keyed by Message-ID, linked by queued_as. */
	TL_ROW("amavis", "(14540-10) Passed CLEAN {RelayedInbound}, [185.5.53.87]:58092 [185.5.53.87] <> -> <noreply@modoboa.org>, Message-ID: <201711161006.vAGA6jpH019527@main.nope.org.es>, Hits: -1.889, size: 2718, queued_as: AA3E6E00C3, 5178 ms", ML_EV_FILTER, { "qid", "" }, { "msgid", "201711161006.vAGA6jpH019527@main.nope.org.es" }, { "other_qid", "AA3E6E00C3" }, { "from", "" }, { "from_set", "1" }),
	TL_ROW("amavis", "(21816-19) Passed CLEAN {RelayedInternal}, MYNETS LOCAL [127.0.0.1]:53903 <root@localhost> -> <admin@test.com>, Message-ID: <20171116100432.10564.83744@server.ngyn.org>, Hits: -, size: 18043, queued_as: 8D1B3E008E, 102 ms", TL_ANY_KIND, { "client_ip", "127.0.0.1" }, { "from", "root@localhost" }),
	/* postfix-logsums: a local message (no port, no Queue-ID). */
	TL_ROW("amavis", "(237812-15) Passed CLEAN {RelayedInternal}, ORIGINATING LOCAL [127.0.0.1] /ESMTP <root@mail.uhu-banane.de> -> <root@mail.uhu-banane.de>, (), Message-ID: <4PbMVG6Tmjz3tG3@mail.brehm-berlin.de>, mail_id: FA9oR2gGK5AT, b: cUicTv7fd, Hits: -, size: 210936, queued_as: 4PbMVH1gW1z3tBr, Subject: \"Logwatch for helga (Linux)\", From: <logwatch@mail.brehm-berlin.de>, helo=, dkim_new=dkim:uhu-banane.net, 299 ms", ML_EV_FILTER, { "client_ip", "127.0.0.1" }, { "other_qid", "4PbMVH1gW1z3tBr" }),
	/* Keys after Subject are header text, not keys. */
	TL_ROW("amavis", "(1-01) Passed CLEAN {Relayed}, <a@b> -> <c@d>, Queue-ID: 4Xy3Fh1Lm8zJfK, Subject: \"x, queued_as: FAKE1, Hits: 99\", 1 ms", TL_ANY_KIND, { "other_qid", "" }, { "score", "" }),
	/* Nothing to key the verdict by. */
	TL_ROW("amavis", "(1-01) Passed CLEAN {Relayed}, <a@b> -> <c@d>, Hits: 1, 1 ms", ML_EV_SKIP, { "reason", "amavis no message key" }, { "qid", "" }),
};

TL_PT_TEST(amavis_keys, AMAVIS_KEYS_ROWS, parse_row, NULL)

static const tl_pt_row_t AMAVIS_SPLIT_ROWS[] = {
	/* postfix-logsums: the first part of a split line ends in "..." ... */
	TL_ROW("amavis", "(237978-12) Passed CLEAN {RelayedInbound}, [62.138.228.42]:59024 [62.138.228.42] ESMTP/ESMTP <postmaster@mailer-service.de> -> <user01.test@uhu-banane.net>, (ESMTPS://[62.138.228.42]:59024), Queue-ID: 4PbCmQ39hpz3tBr, Message-ID: <KkbdvF4aUSGDJbeMtYbjNH7FN0FOPPOmnwPFcnSAVA@mailer-service.de>, mail_id: cJPteEqJgtrF, b: -RaoHT9Rk, Hits: -1.751, size: 55178, queued_as: 4PbCmS6582z3tG3, Subject: \"70x im Jahr die Chance, Million\xc3\xa4r zu werden! (raw: =?UTF-8?Q?70x_im_Jahr_die_Chance,_Million=C3=A4r_zu_werden!?=)\", From: <digitalpost@preissturz-offer.de> (dkim:AUTHOR), X-Mailer: PHPMailer_6.1.6_(https://github.com/PHPMailer/PHPMailer), helo=srv542.mailer-service.de, Tests: [BAYES_00=-1.9,DKIM_SIGNED=0.1], autolearn=no autolearn_force=no, autolearnscore=0.151, dkim_i=@preissturz-of...", ML_EV_FILTER, { "qid", "4PbCmQ39hpz3tBr" }, { "other_qid", "4PbCmS6582z3tG3" }),
	/* ... and the rest follows as a continuation. */
	TL_ROW("amavis", "(237978-12) ...fer.de, dkim_sd=default:preissturz-offer.de, 2368 ms", ML_EV_SKIP, { "reason", "amavis continuation" }, { "qid", "" }),
	/* Hand-written: a cut inside a value drops the value. */
	TL_ROW("amavis", "(1-01) Passed CLEAN {Relayed}, <a@b> -> <c@d>, Queue-ID: 4Xy3Fh1Lm8zJfK, Message-ID: <id@example.org>, queued_as: 4Xy3F...", ML_EV_FILTER, { "qid", "4Xy3Fh1Lm8zJfK" }, { "other_qid", "" }),
};

TL_PT_TEST(amavis_split, AMAVIS_SPLIT_ROWS, parse_row, NULL)

static const tl_pt_row_t AMAVIS_CHATTER_ROWS[] = {
	TL_ROW("amavis", "(12345-01) Checking: HrT7MKtb2Y7f [192.0.2.1] <a@example.org> -> <b@example.com>", ML_EV_SKIP, { "reason", "amavis" }, { "qid", "" }),
	TL_ROW("amavis", "(12345-01) p.path BANNED:1 b@example.com: \"P=p003,L=1,M=multipart/mixed | P=p002,L=1/2,T=exe,N=x.exe\"", ML_EV_SKIP, { "reason", "amavis" }, { "qid", "" }),
	TL_ROW("amavis", "(12345-01) SPAM-TAG, <a@example.org> -> <b@example.com>, No, score=-1.2 required=5", ML_EV_SKIP, { "reason", "amavis" }, { "qid", "" }),
	TL_ROW("amavis", "extra modules loaded after daemonizing/chrooting: Mail/SPF/Query.pm", ML_EV_SKIP, { "reason", "amavis" }, { "qid", "" }),
	TL_ROW("amavis", "starting. /usr/sbin/amavisd at mx.example.com amavisd-new-2.11.0 (20160426), Unicode aware", ML_EV_SKIP, { "reason", "amavis" }, { "qid", "" }),
	TL_ROW("amavis", "SA info: pyzor: check failed: internal error", ML_EV_SKIP, { "reason", "amavis" }, { "qid", "" }),
	TL_ROW("amavis", "what amavis never writes", ML_EV_UNKNOWN, { "reason", "amavis: unrecognised" }),
};

TL_PT_TEST(amavis_chatter, AMAVIS_CHATTER_ROWS, parse_row, NULL)

/* ---- rspamd ------------------------------------------------------------- */

static const tl_pt_row_t RSPAMD_ROWS[] = {
	/* rspamd/logstats_test.data.log: the file log, prefix and all. */
	TL_ROW("rspamd", "2026-02-01 10:00:02.200 #1001(normal) <d4e5f6>; rspamd_task_write_log: id: <msg002@test.com>, qid: <Q002>, ip: 10.0.0.2, (reject): [18.5/15.0] [BAYES_SPAM(5.0),RBL_SPAMHAUS(4.0),SURBL_MULTI(5.5),FORGED_SENDER(3.0),MISSING_MID(1.0)], len: 2345, time: 15.30ms", ML_EV_FILTER, { "status", "blocked" }, { "qid", "Q002" }, { "msgid", "msg002@test.com" }, { "client_ip", "10.0.0.2" }, { "verdict", "reject" }, { "score", "18.5" }, { "reason_text", "BAYES_SPAM(5.0),RBL_SPAMHAUS(4.0),SURBL_MULTI(5.5),FORGED_SENDER(3.0),MISSING_MID(1.0)" }, { "size", "2345" }),
	TL_ROW("rspamd", "2026-02-01 10:00:03.300 #1001(normal) <g7h8i9>; rspamd_task_write_log: id: <msg003@test.com>, qid: <Q003>, ip: 10.0.0.3, (add header): [8.2/15.0] [BAYES_SPAM(5.0),RBL_SPAMHAUS(4.0),R_SPF_SOFTFAIL(1.0),MISSING_MID(1.0)], len: 3456, time: 12.10ms", TL_ANY_KIND, { "status", "delivered" }, { "verdict", "add header" }),
	TL_ROW("rspamd", "2026-02-01 10:00:06.600 #1001(normal) <p6q7r8>; rspamd_task_write_log: id: <msg006@test.com>, qid: <Q006>, ip: 10.0.0.6, (greylist): [4.5/15.0] [BAYES_SPAM(5.0),R_SPF_ALLOW(-1.0),MIME_GOOD(-0.1)], len: 6789, time: 8.40ms", TL_ANY_KIND, { "status", "blocked" }, { "verdict", "greylist" }),
	TL_ROW("rspamd", "2026-02-01 10:00:07.700 #1001(normal) <s9t0u1>; rspamd_task_write_log: id: <msg007@test.com>, qid: <Q007>, ip: 10.0.0.7, (no action): [-1.0/15.0] [R_SPF_ALLOW(-1.0),R_DKIM_ALLOW(-0.5),BAYES_HAM(-3.0),MIME_GOOD(-0.1),DKIM_TRACE(0.0)], len: 7890, time: 4.60ms", TL_ANY_KIND, { "score", "-1.0" }, { "status", "delivered" }),
	/* Hand-written syslog form (rspamd's default log format): "default:" metric,
	 * options in braces (with brackets and commas inside), recipients. */
	TL_ROW("rspamd", "<8ae27d>; proxy; rspamd_task_write_log: id: <5afa242e.hP5p@example.com>, qid: <A785B308622AB>, ip: 192.0.2.17, from: <no-reply@example.com>, (default: F (soft reject): [6.64/20.00] [BAYES_HAM(-3.00){100.00%;},MIME_GOOD(-0.10){text/plain;},ASN(0.00){asn:14061, ipnet:192.0.2.0/24, country:US;},URL(1.00){[x], y;}]), len: 2348, time: 350.123ms, dns req: 12, digest: <b1035f4fb07162ba88053d9e38df9c93>, rcpts: <a@example.org,b@example.org>, mime_rcpts: <a@example.org>", ML_EV_FILTER, { "status", "blocked" }, { "qid", "A785B308622AB" }, { "from", "no-reply@example.com" }, { "verdict", "soft reject" }, { "score", "6.64" }, { "reason_text", "BAYES_HAM(-3.00){100.00%;},MIME_GOOD(-0.10){text/plain;},ASN(0.00){asn:14061, ipnet:192.0.2.0/24, country:US;},URL(1.00){[x], y;}" }, { "filter_rcpts", "a@example.org,b@example.org" }, { "size", "2348" }, { "filter_rcpts[]", "a@example.org|b@example.org" }),
	/* Without a queue ID (rspamc, the controller): keyed by the message-id; with
	 * neither, a skip. */
	TL_ROW("rspamd", "<cf1261>; csession; rspamd_task_write_log: id: <157c12f9@gmail.com>, ip: 10.3.53.226, from: <x@gmail.com>, (default: T (add header): [6.10/25.00] [BAYES_SPAM(5.10){100.00%;}]), len: 10, time: 5ms", ML_EV_FILTER, { "qid", "" }, { "msgid", "157c12f9@gmail.com" }),
	TL_ROW("rspamd", "<cf1261>; task; rspamd_task_write_log: id: <undef>, ip: 10.3.53.226, (default: F (no action): [0.00/15.00] []), len: 10, time: 5ms", ML_EV_SKIP, { "reason", "rspamd no message key" }, { "qid", "" }),
	TL_ROW("rspamd_proxy", "<5a0f13>; quarantine; rspamd_task_write_log: id: <q@example.org>, qid: <4Xy3Fh1Lm8zJfK>, (default: T (quarantine): [30.00/15.00] [GTUBE(0.00)]), len: 100", TL_ANY_KIND, { "status", "quarantined" }),
	/* Other rspamd lines. */
	TL_ROW("rspamd", "<8ae27d>; proxy; rspamd_message_parse: loaded message; id: <5afa242e@example.com>; queue-id: <A785B308622AB>; size: 2348; checksum: <b1035f4fb07162ba88053d9e38df9c93>", ML_EV_SKIP, { "reason", "rspamd" }, { "qid", "" }),
	TL_ROW("rspamd", "2023-09-08 01:03:21 #3892999(controller) <115a78>; csession; rspamd_controller_learn_fin_task: <127.0.0.1> learned message as ham: ace2d1c5@gmail.com", ML_EV_SKIP, { "reason", "rspamd" }, { "qid", "" }),
	TL_ROW("rspamd", "main; rspamd_main: rspamd 3.7.5 is loading configuration, build id: release", ML_EV_SKIP, { "reason", "rspamd" }, { "qid", "" }),
	TL_ROW("rspamd", "something else entirely", ML_EV_UNKNOWN, { "reason", "rspamd: unrecognised" }),
};

TL_PT_TEST(rspamd, RSPAMD_ROWS, parse_row, NULL)

/* ---- spamd -------------------------------------------------------------- */

static const tl_pt_row_t SPAMD_ROWS[] = {
	/* Hand-written in spamd's format (the corpus has only the line after it). */
	TL_ROW("spamd", "spamd: result: Y 7 - BAYES_99,HTML_MESSAGE,URIBL_BLACK scantime=1.2,size=3456,user=amavis,uid=110,required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=54321,mid=<20240223075525.8CD9941B67@example.org>,bayes=1.000000,autolearn=spam", ML_EV_FILTER, { "qid", "" }, { "msgid", "20240223075525.8CD9941B67@example.org" }, { "verdict", "spam" }, { "score", "7" }, { "reason_text", "BAYES_99,HTML_MESSAGE,URIBL_BLACK" }, { "size", "3456" }, { "status", "" }),
	TL_ROW("spamd", "spamd: result: . -1 - BAYES_00,SPF_PASS scantime=0.5, size=2345, user=x, uid=1, required_score=5.0, rhost=localhost, raddr=127.0.0.1, rport=45678, mid=<id@example.com>, autolearn=no", ML_EV_FILTER, { "verdict", "clean" }, { "msgid", "id@example.com" }, { "size", "2345" }),
	TL_ROW("spamd", "spamd: result: . 0 - NO_RELAYS scantime=0.1,size=5,user=nagios,uid=1209,required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=51234,mid=(unknown),autolearn=no", ML_EV_SKIP, { "reason", "spamd no message-id" }, { "qid", "" }),
	/* msimerson-log-ship-elastic-postfix/mail.log */
	TL_ROW("spamd", "spamd: identified spam (9.3/5.0) for nagios:1209 in 0.8 seconds, 5 bytes.", ML_EV_SKIP, { "reason", "spamd" }, { "qid", "" }),
	TL_ROW("spamd", "spamd: clean message (-0.1/5.0) for x:1 in 0.2 seconds, 123 bytes.", ML_EV_SKIP, { "reason", "spamd" }, { "qid", "" }),
	TL_ROW("spamd", "prefork: child states: II", ML_EV_SKIP, { "reason", "spamd" }, { "qid", "" }),
	TL_ROW("spamd", "???", ML_EV_UNKNOWN),
};

TL_PT_TEST(spamd, SPAMD_ROWS, parse_row, NULL)

/* ---- milters ------------------------------------------------------------ */

static const tl_pt_row_t CLAMAV_MILTER_ROWS[] = {
	/* Hand-written in clamav-milter's formats. */
	TL_ROW("clamav-milter", "4Xy3Fh1Lm8zJfK: Message from <a@example.org> to <b@example.com> infected by Eicar-Test-Signature", ML_EV_FILTER, { "qid", "4Xy3Fh1Lm8zJfK" }, { "from", "a@example.org" }, { "filter_rcpts", "<b@example.com>" }, { "verdict", "infected" }, { "reason_text", "infected by Eicar-Test-Signature" }, { "status", "blocked" }),
	TL_ROW("clamav-milter", "Message 0F5383D from <a@example.org> to <b@example.com> with subject 'hi' message-id '<x@y>' date 'Mon, 1 Jan 2024 00:00:00 +0000' infected by Win.Test.EICAR_HDB-1", TL_ANY_KIND, { "qid", "0F5383D" }, { "status", "blocked" }),
	TL_ROW("clamav-milter", "Message 0F5383D infected by Win.Test.EICAR_HDB-1", TL_ANY_KIND, { "qid", "0F5383D" }, { "verdict", "infected" }),
	TL_ROW("clamav-milter", "Clean message 0F5383D from <a@example.org> to <b@example.com> with subject 'hi' message-id '<x@y>' date 'Mon'", ML_EV_FILTER, { "status", "delivered" }, { "verdict", "Clean" }),
	TL_ROW("clamav-milter", "4Xy3Fh1Lm8zJfK: clean", ML_EV_FILTER, { "status", "delivered" }),
	TL_ROW("clamav-milter", "clamav-milter version 1.0.3 started at Mon Jan  1 00:00:00 2024", ML_EV_SKIP, { "reason", "clamav-milter" }, { "qid", "" }),
	TL_ROW("clamav-milter", "Message NOQUEUE infected by X", ML_EV_SKIP, { "reason", "clamav-milter no queue id" }, { "qid", "" }),
};

TL_PT_TEST(clamav_milter, CLAMAV_MILTER_ROWS, parse_row, NULL)

static const tl_pt_row_t OPENDKIM_OPENDMARC_ROWS[] = {
	/* Hand-written in opendkim's and opendmarc's formats. */
	TL_ROW("opendkim", "4Xy3Fh1Lm8zJfK: DKIM-Signature field added (s=mail, d=example.com)", ML_EV_FILTER, { "qid", "4Xy3Fh1Lm8zJfK" }, { "verdict", "DKIM-Signature field added (s=mail, d=example.com)" }, { "status", "" }),
	TL_ROW("opendkim", "0F5383D: s=sel d=example.com SSL error:04091068:rsa routines:INT_RSA_VERIFY:bad signature", TL_ANY_KIND, { "qid", "0F5383D" }),
	TL_ROW("opendkim", "OpenDKIM Filter v2.11.0 starting (args: -x /etc/opendkim.conf)", ML_EV_SKIP, { "reason", "opendkim" }, { "qid", "" }),
	TL_ROW("opendkim", "ERROR: no key", ML_EV_SKIP, { "reason", "opendkim" }, { "qid", "" }),
	TL_ROW("opendmarc", "4Xy3Fh1Lm8zJfK: example.com pass", ML_EV_FILTER, { "verdict", "pass" }, { "reason_text", "example.com pass" }),
	TL_ROW("opendmarc", "0F5383D: example.org fail", TL_ANY_KIND, { "verdict", "fail" }),
	/* modoboa/mail.log */
	TL_ROW("opendmarc", "ignoring connection from localhost.localdomain", ML_EV_SKIP, { "reason", "opendmarc" }, { "qid", "" }),
};

TL_PT_TEST(opendkim_opendmarc, OPENDKIM_OPENDMARC_ROWS, parse_row, NULL)

static const tl_pt_row_t POLICYD_SPF_ROWS[] = {
	/* modoboa/mail.log */
	TL_ROW("policyd-spf", "prepend Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=207.154.235.157; helo=misas5.babino.pl; envelope-from=zwroty@babino.pl; receiver=<UNKNOWN>", ML_EV_SKIP, { "reason", "policyd-spf" }, { "qid", "" }),
	TL_ROW("policyd-spf", "prepend Received-SPF: None (no SPF record) identity=no SPF record; client-ip=185.5.53.87; helo=main.nope.org.es; envelope-from=<>; receiver=<UNKNOWN>", ML_EV_SKIP, { "reason", "policyd-spf" }, { "qid", "" }),
	/* Hand-written: a reject reply. */
	TL_ROW("policyd-spf", "550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=a@example.org;ip=192.0.2.1;r=<UNKNOWN>", ML_EV_SKIP, { "reason", "policyd-spf" }, { "qid", "" }),
	TL_ROW("policyd-spf", "xyzzy", ML_EV_UNKNOWN, { "reason", "policyd-spf: unrecognised" }),
};

TL_PT_TEST(policyd_spf, POLICYD_SPF_ROWS, parse_row, NULL)

static const tl_pt_row_t MAILSCANNER_ROWS[] = {
	/* crowdsec-hub/mailscanner-logs */
	TL_ROW("MailScanner", "Message 4bsM5k4xJmz4rT6 from 192.168.1.50 (bounces@enbounce.hsi-europe.org) to brandlehner.at is spam, SpamAssassin (not cached, score=7.181, required 4, BAYES_40 -0.20, DKIM_SIGNED 0.01, DKIM_VALID -0.21, DKIM_VALID_AU -0.21", ML_EV_FILTER, { "qid", "4bsM5k4xJmz4rT6" }, { "client_ip", "192.168.1.50" }, { "from", "bounces@enbounce.hsi-europe.org" }, { "filter_rcpts", "brandlehner.at" }, { "verdict", "spam" }, { "score", "7.181" }),
	TL_ROW("MailScanner", "Message 5ctN6m5yKmz5sU7 from 192.168.1.100 (attacker@malicious.com) to brandlehner.at is spam (blacklisted)", TL_ANY_KIND, { "verdict", "spam" }, { "reason_text", "spam (blacklisted)" }),
	/* Hand-written: the re-queue (the chain), the actions. */
	TL_ROW("MailScanner", "Requeue: 1B8C16B5C5.A1D4D to 3C87C6B5C8", ML_EV_FILTER, { "qid", "1B8C16B5C5" }, { "other_qid", "3C87C6B5C8" }, { "status", "delivered" }),
	TL_ROW("MailScanner", "Spam Actions: message 4bsM5k4xJmz4rT6 actions are store", TL_ANY_KIND, { "status", "quarantined" }),
	TL_ROW("MailScanner", "Spam Actions: message 4bsM5k4xJmz4rT6 actions are delete", TL_ANY_KIND, { "status", "blocked" }),
	TL_ROW("MailScanner", "Spam Actions: message 4bsM5k4xJmz4rT6 actions are deliver,header", TL_ANY_KIND, { "status", "delivered" }),
	TL_ROW("MailScanner", "New Batch: Scanning 1 messages, 2345 bytes", ML_EV_SKIP, { "reason", "MailScanner" }, { "qid", "" }),
};

TL_PT_TEST(mailscanner, MAILSCANNER_ROWS, parse_row, NULL)

/* Code, not a table: ml_rcpts_next and ml_rcpts_addr are functions beside the
 * line parser. */
static void rcpt_iterator(void **state)
{
	(void)state;
	ml_slice_t list = ml_slice_cstr(" x.org, <y@z>,,w@v "), a;
	assert_true(ml_rcpts_next(&list, ',', &a));
	EQ(a, "x.org");
	assert_true(ml_rcpts_next(&list, ',', &a));
	EQ(a, "y@z");
	assert_true(ml_rcpts_next(&list, ',', &a));
	EQ(a, "w@v");
	assert_false(ml_rcpts_next(&list, ',', &a));
	/* "<>" is no recipient; an unclosed '<' runs to the end */
	list = ml_slice_cstr("<>,<unterminated, still");
	assert_true(ml_rcpts_next(&list, ',', &a));
	EQ(a, "unterminated, still");
	assert_false(ml_rcpts_next(&list, ',', &a));
	list = ML_SLICE_NULL;
	assert_false(ml_rcpts_next(&list, ',', &a));
	/* Exim's "for" list: separated by spaces, a quoted local part holds one */
	list = ml_slice_cstr("kim@example.com \"john doe\"@example.com  x@y");
	assert_true(ml_rcpts_next(&list, ' ', &a));
	EQ(a, "kim@example.com");
	assert_true(ml_rcpts_next(&list, ' ', &a));
	EQ(a, "\"john doe\"@example.com");
	assert_true(ml_rcpts_next(&list, ' ', &a));
	EQ(a, "x@y");
	assert_false(ml_rcpts_next(&list, ' ', &a));
	/* an item's address */
	EQ(ml_rcpts_addr(ml_slice_cstr(" Name <a@x> ")), "a@x");
	EQ(ml_rcpts_addr(ml_slice_cstr("<>")), "");
	EQ(ml_rcpts_addr(ml_slice_cstr("root")), "root");
}

/* ---- peers: crowdsec's parser.assert ------------------------------------- */

typedef struct {
	const char *name;
	int lines, fields, agree, differ, unmodelled;
} peer_row_t;

/* "results["s01-parse"]["X"][N].Evt.Parsed["KEY"] == "VALUE"" → (N, KEY, VALUE). */
static int assert_line(const char *l, int *idx, char *key, size_t kn, char *val, size_t vn)
{
	const char *p = strstr(l, "[\"s01-parse\"]");
	const char *b = p ? strstr(p + 13, "][") : NULL;
	const char *k = p ? strstr(p, ".Evt.Parsed[\"") : NULL;
	if (!p || !b || !k)
		return 0;
	*idx = atoi(b + 2);
	const char *ks = k + 13, *ke = strchr(ks, '"');
	if (!ke)
		return 0;
	snprintf(key, kn, "%.*s", (int)(ke - ks), ks);
	const char *eq = strstr(ke, "== ");
	const char *vs = eq ? strchr(eq, '"') : NULL;
	size_t o = 0;
	if (vs)
		for (vs++; *vs && *vs != '"' && o + 1 < vn; vs++) {
			if (*vs == '\\' && vs[1])
				vs++;
			val[o++] = *vs;
		}
	val[o] = '\0';
	return 1;
}

/* The text inside the last "(...)" of s, or s. */
static ml_slice_t paren(ml_slice_t s)
{
	const char *o = NULL;
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] == '(')
			o = s.p + i;
	const char *c = o ? memchr(o, ')', (size_t)(s.p + s.n - o)) : NULL;
	return o && c ? ml_slice(o + 1, (size_t)(c - o - 1)) : s;
}

static ml_slice_t word(ml_slice_t s, int nth)
{
	const char *p = s.p, *e = s.p + s.n;
	for (int i = 0; p && p < e; i++) {
		const char *sp = memchr(p, ' ', (size_t)(e - p));
		const char *we = sp ? sp : e;
		if (i == nth)
			return ml_slice(p, (size_t)(we - p));
		p = sp ? sp + 1 : e;
	}
	return ML_SLICE_NULL;
}

static void peer_compare(peer_row_t *r, int *d, const char *key, ml_slice_t got, const char *want,
			 const char *line)
{
	r->fields++;
	if (slice_is(got, want)) {
		r->agree++;
		return;
	}
	r->differ++;
	(*d)++;
	print_message("peer %s: %s: got [%.*s], want [%s]: %s\n", r->name, key, (int)got.n, got.p ? got.p : "",
		      want, line);
}

static void peer_file(const char *rel, const char *prog, peer_row_t *r, int *diffs)
{
	lines_t L_;
	if (lines_load(&L_, tl_corpus(rel)) != 0)
		fail_msg("cannot read %s", rel);
	enum { MAXN = 8, MAXK = 24 };
	static char msg[MAXN][2048], key[MAXN][MAXK][40], val[MAXN][MAXK][256];
	int nk[MAXN] = { 0 };
	memset(msg, 0, sizeof msg);
	int maxi = -1;
	for (size_t i = 0; i < L_.count; i++) {
		char *l = strndup(L_.line[i], L_.n[i]);
		int idx;
		char k[40], v[2048];
		if (assert_line(l, &idx, k, sizeof k, v, sizeof v) && idx >= 0 && idx < MAXN) {
			if (idx > maxi)
				maxi = idx;
			if (!strcmp(k, "message"))
				snprintf(msg[idx], sizeof msg[idx], "%s", v);
			else if (nk[idx] < MAXK && strcmp(k, "logsource") && strcmp(k, "pid") && strcmp(k, "program") &&
				 strcmp(k, "timestamp")) {
				snprintf(key[idx][nk[idx]], 40, "%s", k);
				snprintf(val[idx][nk[idx]], 256, "%.255s", v);
				nk[idx]++;
			}
		}
		free(l);
	}
	for (int i = 0; i <= maxi; i++) {
		if (!msg[i][0])
			continue;
		r->lines++;
		ml_event_t ev;
		ml_filters_parse(ml_slice_cstr(prog), ml_slice_cstr(msg[i]), &ev);
		if (ev.kind != ML_EV_FILTER)
			fail_msg("peer %s: not a filter event: %s", r->name, msg[i]);
		int d = 0;
		for (int j = 0; j < nk[i]; j++) {
			const char *k = key[i][j], *v = val[i][j];
			char num[64];
			if (!strcmp(k, "amavis_action"))
				peer_compare(r, &d, k, word(ev.verdict, 0), v, msg[i]);
			else if (!strcmp(k, "amavis_category"))
				peer_compare(r, &d, k, word(ev.verdict, 1), v, msg[i]);
			else if (!strcmp(k, "amavis_match"))
				peer_compare(r, &d, k, paren(ev.reason_text), v, msg[i]);
			else if (!strcmp(k, "amavis_from") || !strcmp(k, "from_email"))
				peer_compare(r, &d, k, ev.from, v, msg[i]);
			else if (!strcmp(k, "amavis_to")) {
				ml_slice_t list = ev.filter_rcpts, a = ML_SLICE_NULL;
				ml_rcpts_next(&list, ',', &a);
				peer_compare(r, &d, k, a, v, msg[i]);
			} else if (!strcmp(k, "amavis_quarantine"))
				peer_compare(r, &d, k, ev.quarantine, v, msg[i]);
			else if (!strcmp(k, "amavis_size")) {
				snprintf(num, sizeof num, "%llu", (unsigned long long)ev.size);
				peer_compare(r, &d, k, ml_slice_cstr(num), v, msg[i]);
			} else if (!strcmp(k, "amavis_relay_ip") || !strcmp(k, "source_ip"))
				peer_compare(r, &d, k, ev.client_ip, v, msg[i]);
			else if (!strcmp(k, "message_id"))
				peer_compare(r, &d, k, ev.qid, v, msg[i]);
			else if (!strcmp(k, "to_domain"))
				peer_compare(r, &d, k, ev.filter_rcpts, v, msg[i]);
			else if (!strcmp(k, "spam_score")) {
				/* crowdsec prints the float with %f. */
				char sc[32];
				snprintf(sc, sizeof sc, "%.*s", (int)ev.score.n, ev.score.p ? ev.score.p : "");
				snprintf(num, sizeof num, "%f", ev.score.n ? strtod(sc, NULL) : -1.0);
				peer_compare(r, &d, k, ml_slice_cstr(num), v, msg[i]);
			} else if (!strcmp(k, "spam_reason"))
				peer_compare(r, &d, k, paren(ev.reason_text), v, msg[i]);
			else {
				/* amavis_id, amavis_acions, amavis_amavis_origin_ip, amavis_elapsedtime,
				 * src_port: not modelled by the event. */
				r->unmodelled++;
			}
		}
		*diffs += d;
	}
	lines_free(&L_);
}

static void peer_crowdsec(void **state)
{
	(void)state;
	peer_row_t rows[] = {
		{ "crowdsec/amavis-logs", 0, 0, 0, 0, 0 },
		{ "crowdsec/mailscanner-logs", 0, 0, 0, 0, 0 },
	};
	int diffs = 0;
	peer_file("crowdsec-hub/amavis-logs/parser.assert", "amavis", &rows[0], &diffs);
	peer_file("crowdsec-hub/mailscanner-logs/parser.assert", "MailScanner", &rows[1], &diffs);
	print_message("peer: %-26s %5s %6s %6s %6s %11s\n", "fixture", "lines", "fields", "agree", "differ",
		      "unmodelled");
	for (size_t i = 0; i < ML_ARRAY_LEN(rows); i++)
		print_message("peer: %-26s %5d %6d %6d %6d %11d\n", rows[i].name, rows[i].lines, rows[i].fields,
			      rows[i].agree, rows[i].differ, rows[i].unmodelled);
	assert_int_equal(rows[0].lines, 1);
	assert_int_equal(rows[1].lines, 2);
	assert_true(rows[0].fields >= 8 && rows[1].fields >= 10);
	assert_int_equal(diffs, 0);
}

/* ---- the amavis chain of postfix-logsums --------------------------------- */

typedef struct {
	char id[24];
	size_t first, last;  /* line indexes of its first and last Postfix line */
} qid_seen_t;

static int qid_cmp(const void *a, const void *b)
{
	return strcmp(((const qid_seen_t *)a)->id, ((const qid_seen_t *)b)->id);
}

static const qid_seen_t *qid_find(const qid_seen_t *tab, size_t n, ml_slice_t id)
{
	qid_seen_t k;
	if (id.n >= sizeof k.id)
		return NULL;
	memcpy(k.id, id.p, id.n);
	k.id[id.n] = '\0';
	return bsearch(&k, tab, n, sizeof *tab, qid_cmp);
}

static void amavis_chain(void **state)
{
	(void)state;
	lines_t L_;
	if (lines_load(&L_, tl_corpus("postfix-logsums/mail.log")) != 0)
		fail_msg("cannot read postfix-logsums/mail.log");
	/* Every Postfix queue ID of the log: "postfix/...[pid]: QID: ". */
	qid_seen_t *tab = calloc(L_.count, sizeof *tab);
	size_t nt = 0;
	for (size_t i = 0; i < L_.count; i++) {
		const char *l = L_.line[i], *e = l + L_.n[i];
		const char *pf = memmem(l, L_.n[i], " postfix", 8);
		const char *c = pf ? memmem(pf, (size_t)(e - pf), "]: ", 3) : NULL;
		if (!c)
			continue;
		const char *q = c + 3, *qe = memchr(q, ':', (size_t)(e - q));
		if (!qe || !ml_postfix_is_qid(ml_slice(q, (size_t)(qe - q))) || qe - q >= 24)
			continue;
		memcpy(tab[nt].id, q, (size_t)(qe - q));
		tab[nt].id[qe - q] = '\0';
		tab[nt].first = tab[nt].last = i;
		nt++;
	}
	qsort(tab, nt, sizeof *tab, qid_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nt; i++) {
		if (u && !strcmp(tab[u - 1].id, tab[i].id)) {
			tab[u - 1].first = ML_MIN(tab[u - 1].first, tab[i].first);
			tab[u - 1].last = ML_MAX(tab[u - 1].last, tab[i].last);
		} else {
			tab[u++] = tab[i];
		}
	}
	nt = u;
	size_t events = 0, with_qid = 0, with_new = 0, linked = 0, bad = 0;
	for (size_t i = 0; i < L_.count; i++) {
		ml_slice_t prog, msg;
		if (!filter_msg(L_.line[i], L_.n[i], &prog, &msg))
			continue;
		ml_event_t ev;
		ml_filters_parse(prog, msg, &ev);
		if (ev.kind != ML_EV_FILTER)
			continue;
		events++;
		const qid_seen_t *o = NULL, *n = NULL;
		if (ev.qid.n) {
			with_qid++;
			o = qid_find(tab, nt, ev.qid);
			/* The original entered the filter before amavis logged its verdict. */
			if (!o || o->first >= i) {
				bad++;
				print_message("chain: Queue-ID %.*s not a Postfix queue ID before line %zu\n",
					      (int)ev.qid.n, ev.qid.p, i + 1);
			}
		}
		if (ev.other_qid.n) {
			with_new++;
			n = qid_find(tab, nt, ev.other_qid);
			/* The re-injected message is born after the original and is still
			 * handled by Postfix after the verdict (its delivery). */
			if (!n || n->last <= i || (o && n->first <= o->first)) {
				bad++;
				print_message("chain: queued_as %.*s not a later Postfix queue ID (line %zu)\n",
					      (int)ev.other_qid.n, ev.other_qid.p, i + 1);
			} else if (o) {
				linked++;
			}
		}
		if (ev.status == ML_ST_DELIVERED && !ev.other_qid.n)
			fail_msg("chain: a passed message without queued_as at line %zu", i + 1);
	}
	print_message("chain: %zu amavis verdicts, %zu with Queue-ID, %zu with queued_as, %zu linked "
		      "original -> re-injected, %zu Postfix queue IDs, %zu broken\n",
		      events, with_qid, with_new, linked, nt, bad);
	assert_int_equal(bad, 0);
	assert_true(events >= 180);
	assert_true(linked >= 170);
	free(tab);
	lines_free(&L_);
}

/* ---- every filter line of the corpus -------------------------------------- */

/* Files with syslog lines of filter programs.  (Exim's test-suite logs quote
 * spamd inside Exim's own lines, "spam acl condition: spamd: failed to
 * connect ...": those are Exim's, not spamd's, and are left out.) */
static const char *const CORPUS_FILES[] = {
	"postfix-logsums/mail.log", "modoboa/mail.log", "msimerson-log-ship-elastic-postfix/mail.log",
	"crowdsec-hub/amavis-logs/amavis.log", "crowdsec-hub/mailscanner-logs/mailscanner-logs.log",
	"postfix-grok-patterns/messages-smtpd.log",
	"youyo-postfix-log-parser/test.log", "youyo-postfix-log-parser/test-milter.log",
	"youyo-postfix-log-parser/test-iso8601.log", "inqueue-postfix-ecs-pipeline/mail.log",
	"digineo-postfix_exporter/mail.log", "fail2ban/postfix.log",
};

/* rspamd's own file log has no syslog header: every line is rspamd's. */
static const char *const RSPAMD_FILES[] = { "rspamd/logstats_test.data.log" };

typedef void (*line_fn)(ml_slice_t prog, ml_slice_t msg, void *arg);

/* Calls fn for every filter line of a syslog file; the number of lines. */
static size_t each_filter_line_of(const char *path, line_fn fn, void *arg)
{
	lines_t L_;
	if (lines_load(&L_, path) != 0)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < L_.count; i++) {
		ml_slice_t prog, msg;
		if (filter_msg(L_.line[i], L_.n[i], &prog, &msg)) {
			fn(prog, msg, arg);
			n++;
		}
	}
	lines_free(&L_);
	return n;
}

static size_t each_filter_line(line_fn fn, void *arg)
{
	size_t n = 0;
	for (size_t f = 0; f < ML_ARRAY_LEN(CORPUS_FILES); f++)
		n += each_filter_line_of(tl_corpus(CORPUS_FILES[f]), fn, arg);
	for (size_t f = 0; f < ML_ARRAY_LEN(RSPAMD_FILES); f++) {
		lines_t L_;
		if (lines_load(&L_, tl_corpus(RSPAMD_FILES[f])) != 0)
			fail_msg("cannot read %s", RSPAMD_FILES[f]);
		for (size_t i = 0; i < L_.count; i++) {
			if (!L_.n[i])
				continue;
			fn(ml_slice_cstr("rspamd"), ml_slice(L_.line[i], L_.n[i]), arg);
			n++;
		}
		lines_free(&L_);
	}
	return n;
}

typedef struct {
	size_t kinds[3];  /* UNKNOWN, SKIP, FILTER */
	size_t unknown;
} sweep_t;

static void sweep_line(ml_slice_t prog, ml_slice_t msg, void *arg)
{
	sweep_t *s = arg;
	ml_event_t ev;
	ml_filters_parse(prog, msg, &ev);
	if (!event_ok(&ev, msg.p, msg.n))
		fail_msg("invariant broken: %.*s", (int)msg.n, msg.p);
	if (ev.kind == ML_EV_UNKNOWN) {
		s->unknown++;
		print_message("sweep: UNKNOWN %.*s: %.*s\n", (int)prog.n, prog.p, (int)msg.n, msg.p);
	}
	s->kinds[ev.kind == ML_EV_UNKNOWN ? 0 : ev.kind == ML_EV_SKIP ? 1 : 2]++;
}

static void corpus_sweep(void **state)
{
	(void)state;
	sweep_t s;
	memset(&s, 0, sizeof s);
	size_t n = each_filter_line(sweep_line, &s);
	print_message("sweep: %zu filter lines: %zu FILTER, %zu SKIP, %zu UNKNOWN\n", n, s.kinds[2], s.kinds[1],
		      s.kinds[0]);
	assert_true(n >= 300);
	assert_true(s.kinds[2] >= 200);
	assert_int_equal(s.unknown, 0);
}

/* ---- robustness: every line cut at every length (run under ASan) ---------- */

typedef struct {
	size_t lines, parses;
} cuts_t;

static void cut_line(ml_slice_t prog, ml_slice_t msg, void *arg)
{
	cuts_t *c = arg;
	c->lines++;
	for (size_t k = 0; k <= msg.n; k++) {
		char *m = malloc(k ? k : 1);
		memcpy(m, msg.p, k);
		ml_event_t ev;
		ml_filters_parse(prog, ml_slice(m, k), &ev);
		if (!event_ok(&ev, m, k))
			fail_msg("cut at %zu: invariant broken: %.*s", k, (int)msg.n, msg.p);
		free(m);
		c->parses++;
	}
}

static void robustness_cuts(void **state)
{
	(void)state;
	cuts_t c = { 0, 0 };
	each_filter_line(cut_line, &c);
	print_message("robustness: %zu lines, %zu parses\n", c.lines, c.parses);
	assert_true(c.parses > 100000);
}

static void cut_written(const char *prog, const char *msg, size_t n, const char *file, void *arg)
{
	(void)file;
	cut_line(ml_slice_cstr(prog), ml_slice(msg, n), arg);
}

/* The same over the lines of the rule tests above, the project's log and
 * odd inputs. */
static void robustness_written(void **state)
{
	(void)state;
	cuts_t c = { 0, 0 };
	size_t n = tl_written_each(cut_written, &c);
	size_t own = each_filter_line_of("tests/data/filters.log", cut_line, &c);
	/* Inputs no log has: empty, NULL, binary. */
	ml_event_t ev;
	ml_filters_parse(ml_slice_cstr("amavis"), ML_SLICE_NULL, &ev);
	SKIPPED(ev, "filter empty line");
	ml_filters_parse(ML_SLICE_NULL, ml_slice_cstr("x"), &ev);
	KIND(ev, ML_EV_UNKNOWN);
	static const char *const progs[] = { "amavis", "rspamd", "spamd", "clamav-milter", "opendkim",
					     "opendmarc", "policyd-spf", "MailScanner" };
	static const char *const odd[] = { "(1-1) Passed", "(1-1) Passed ", "(1-1) Blocked X (", "(1-1) Passed , <",
					   "(1-1) Passed C {", "(1-1) Passed C, [", "(1-1) Passed C, <a> -> <",
					   "rspamd_task_write_log: (", "rspamd_task_write_log: (default: ",
					   "rspamd_task_write_log: (x): [", "rspamd_task_write_log: (x): [1/2] [{",
					   "spamd: result: ", "spamd: result: Y", "result: Y 1 - ", "Message ",
					   "0F5383D: ", "Requeue: ", "Spam Actions: message ", "0F5383D: Message from <" };
	for (size_t i = 0; i < ML_ARRAY_LEN(progs); i++)
		for (size_t j = 0; j < ML_ARRAY_LEN(odd); j++)
			cut_line(ml_slice_cstr(progs[i]), ml_slice_cstr(odd[j]), &c);
	print_message("robustness: %zu lines of the rule tests, %zu of the project's log, %zu parses\n", n, own,
		      c.parses);
	assert_true(n > 60);
	assert_true(own >= 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(program_names),
		cmocka_unit_test(amavis_passed),
		cmocka_unit_test(amavis_blocked),
		cmocka_unit_test(amavis_keys),
		cmocka_unit_test(amavis_split),
		cmocka_unit_test(amavis_chatter),
		cmocka_unit_test(rspamd),
		cmocka_unit_test(spamd),
		cmocka_unit_test(clamav_milter),
		cmocka_unit_test(opendkim_opendmarc),
		cmocka_unit_test(policyd_spf),
		cmocka_unit_test(mailscanner),
		cmocka_unit_test(rcpt_iterator),
		cmocka_unit_test(robustness_written),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(peer_crowdsec),
		cmocka_unit_test(amavis_chain),
		cmocka_unit_test(corpus_sweep),
		cmocka_unit_test(robustness_cuts),
	};
	return TL_RUN("filters", tests, corpus_tests, NULL, NULL);
}
