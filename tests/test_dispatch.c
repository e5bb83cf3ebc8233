/*
 * Unit tests for engine/dispatch: every outcome of one line, with the exact
 * reason strings the ingest counts lines under (the tallies of `stats`).
 */
#include "testlib.h"

#include <stdio.h>
#include <string.h>

#include "engine/dispatch.h"

typedef struct {
	const char *line;
	size_t n;            /* 0: strlen(line) */
	int format;
	ml_disp_kind_t kind;
	const char *reason;  /* ML_DISP_SKIP / BAD */
	const char *family;  /* NULL: none */
	ml_event_kind_t ev;  /* ML_DISP_EVENT */
} case_t;
#define L(s) s, sizeof(s) - 1

static void outcomes(void **state)
{
	(void)state;
	static const case_t cases[] = {
		{ "", 0, 0, ML_DISP_SKIP, "empty line", NULL, 0 },
		{ L("\0\0\0"), 0, ML_DISP_BAD, "NUL bytes only", NULL, 0 },
		{ L("Mar  3 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: re\0moved"), 0, ML_DISP_BAD,
		  "NUL byte inside the line", NULL, 0 },
		{ "Mar  3 10:00:00 mx1 kernel: eth0 up", 0, 0, ML_DISP_SKIP, "not a mail program", NULL, 0 },
		{ "Mar  3 10:00:00 mx1 dovecot: imap-login: Login: user=<bob>", 0, 0, ML_DISP_SKIP,
		  "dovecot (not parsed)", NULL, 0 },
		{ "Mar  3 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: removed", 0, 0, ML_DISP_EVENT, NULL,
		  "postfix", ML_EV_REMOVED },
		/* leading NUL bytes (a hole in a log file) are dropped */
		{ L("\0\0Mar  3 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: removed"), 0, ML_DISP_EVENT, NULL,
		  "postfix", ML_EV_REMOVED },
		{ "Mar  3 10:00:00 mx1 postfix/postscreen[1]: CONNECT from [192.0.2.1]:4000 to [192.0.2.2]:25",
		  0, 0, ML_DISP_SKIP, "postfix: postscreen", "postfix", 0 },
		{ "Mar  3 10:00:00 mx1 postfix/nosuchd[1]: hello", 0, 0, ML_DISP_BAD,
		  "postfix: unknown postfix daemon", "postfix", 0 },
		{ "Mar  3 10:00:00 mx1 exim[5]: 1vABCD-000001-AA Completed", 0, 0, ML_DISP_EVENT, NULL, "exim",
		  ML_EV_REMOVED },
		{ "Mar  3 10:00:00 mx1 spamd[7]: spamd: connection from localhost [127.0.0.1]:4000 to port 783, fd 5",
		  0, 0, ML_DISP_SKIP, "filter: spamd", "filter", 0 },
		/* --format postfix: an unusual syslog_name is Postfix's */
		{ "Mar  3 10:00:00 mx1 mymta/qmgr[1]: ABCDEF1234: removed", 0, ML_FORMAT_POSTFIX, ML_DISP_EVENT,
		  NULL, "postfix", ML_EV_REMOVED },
		/* Exim's and rspamd's own log files */
		{ "2026-03-03 10:00:01 1vABCD-000001-AA Completed", 0, 0, ML_DISP_EVENT, NULL, "exim",
		  ML_EV_REMOVED },
		{ "  continued header text", 0, 0, ML_DISP_SKIP, "exim: continuation", NULL, 0 },
		{ "2026-03-03 12:00:01 #4101(normal) <d3e4f5>; task; rspamd_task_write_log: id: <r1@shop.example>, qid: <2E7F8A9B0C>, ip: 192.0.2.41, from: <news@shop.example>, (default: F (no action): [-0.80/15.00] [BAYES_HAM(-3.00){98.70%;}]), len: 5120, time: 88.410ms",
		  0, 0, ML_DISP_EVENT, NULL, "filter", ML_EV_FILTER },
		{ "hello world", 0, 0, ML_DISP_BAD, "no timestamp", NULL, 0 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		const case_t *c = &cases[i];
		ml_syslog_ctx_t sc;
		ml_syslog_ctx_init(&sc, 0, 2026);
		ml_exim_time_t et;
		ml_exim_time_init(&et);
		ml_disp_ctx_t dc = { c->format, &sc, &et };
		ml_syslog_t h;
		ml_event_t ev;
		ml_disp_t d;
		size_t n = c->n ? c->n : strlen(c->line);
		ml_disp_kind_t k = ml_dispatch(&dc, c->line, n, &h, &ev, &d);
		if (k != c->kind)
			fail_msg("case %zu: kind %d, want %d (%s)", i, k, c->kind, d.reason);
		if (c->reason && strcmp(d.reason, c->reason))
			fail_msg("case %zu: reason \"%s\", want \"%s\"", i, d.reason, c->reason);
		if (!c->family != !d.family || (c->family && strcmp(d.family, c->family)))
			fail_msg("case %zu: family %s, want %s", i, d.family ? d.family : "-", c->family ? c->family : "-");
		if (k == ML_DISP_EVENT && ev.kind != c->ev)
			fail_msg("case %zu: event %d, want %d", i, ev.kind, c->ev);
		/* what is folded or sampled lies in the line, without leading NULs */
		assert_true(d.p >= c->line && d.p + d.n <= c->line + n);
		if (k == ML_DISP_EVENT)
			assert_true(d.n && d.p[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(outcomes),
	};
	return TL_RUN_DEFAULT("dispatch", tests, NULL, NULL);
}
