/*
 * Unit tests for engine/dispatch: every outcome of one line, with the exact
 * reason strings the ingest counts lines under (the tallies of `stats`).
 *
 * The corpus tier adds the fidelity sweep: every line of every *.log file
 * of the corpus goes through the dispatcher as the ingest reads it; a line
 * that a parser (an MTA's or a content filter's) was given and did not
 * understand fails the test, unless the table of exceptions below names its
 * file and reason with why it is not a fault.  Lines that are no syslog line
 * and no Exim or rspamd own-log line (no parser reads them) are counted
 * apart.
 */
#include "testlib.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
		ml_disp_ctx_t dc = { c->format, &sc, &et, ML_SLICE_NULL };
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

/* ---- the corpus fidelity sweep ----------------------------------------- */

/* Lines a parser does not understand, and why that is right. */
static const struct {
	const char *file;     /* path under the corpus */
	const char *reason;   /* the tally's reason, as a prefix */
	const char *why;
} EXCEPTIONS[] = {
	{ "exim/test-log-", "exim: ", "the configurations of Exim's test suite write their own text "
	  "(ACL logwrite, log_message, debugging event handlers): no shape to recognise; each such "
	  "line is held to the first words tests/test_exim.c's corpus sweep allows" },
	{ "exim/test-paniclog-HEAD.log", "exim: ", "the panic log: the daemon's internal failures, no mail event" },
	{ "exim/test-rejectlog-HEAD.log", "exim: ", "the reject log: the header lines Exim dumps after a reject" },
	{ "postfix-grok-patterns/messages-", "bad timestamp", "the grok fixtures' inputs are bare message "
	  "parts (what follows \"postfix/daemon[pid]: \"), without a syslog header: tests/test_postfix.c "
	  "reads them as such (the peer suite)" },
	{ "modoboa/mail.log", "bad timestamp", "a template: the day is a placeholder, \"%(day)s 11:00:20\", "
	  "that modoboa's tests fill in" },
	{ "youyo-postfix-log-parser/test-milter.log", "bad timestamp", "one line's year is cut to three "
	  "digits (\"021-02-06T10:57:57\"): a damaged timestamp, rightly not read" },
	{ "sshguard/tests-mail.log", "no program tag", "sshguard's own test input writes the tag in "
	  "brackets (\"[exim] LOGIN ...\"), no syslog shape" },
};

#define SWEEP_MAX 256

typedef struct {
	char file[160];
	char reason[96];
	char sample[200];
	unsigned long count;
	int excused;
} bad_t;

static struct {
	size_t root;             /* length of the corpus path */
	bad_t bad[SWEEP_MAX];
	int nbad;
	unsigned long files, lines, events, skips, bads, excused, foreign;
} sw;

static int excused(const char *file, const char *reason)
{
	for (size_t i = 0; i < ML_ARRAY_LEN(EXCEPTIONS); i++)
		if (!strncmp(file, EXCEPTIONS[i].file, strlen(EXCEPTIONS[i].file)) &&
		    !strncmp(reason, EXCEPTIONS[i].reason, strlen(EXCEPTIONS[i].reason)))
			return 1;
	return 0;
}

static void note_bad(const char *file, const char *reason, const char *p, size_t n)
{
	int x = excused(file, reason);
	if (x)
		sw.excused++;
	else
		sw.bads++;
	for (int i = 0; i < sw.nbad; i++)
		if (!strcmp(sw.bad[i].file, file) && !strcmp(sw.bad[i].reason, reason)) {
			sw.bad[i].count++;
			return;
		}
	if (sw.nbad == SWEEP_MAX)
		return;
	bad_t *b = &sw.bad[sw.nbad++];
	snprintf(b->file, sizeof b->file, "%s", file);
	snprintf(b->reason, sizeof b->reason, "%s", reason);
	snprintf(b->sample, sizeof b->sample, "%.*s", (int)ML_MIN(n, (size_t)150), p);
	b->count = 1;
	b->excused = x;
}

static int sweep_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	size_t pl = strlen(path);
	if (type != FTW_F || pl < 4 || strcmp(path + pl - 4, ".log") || st->st_size > (64 << 20))
		return 0;
	size_t len;
	char *buf = tl_read_file(path, &len);
	if (!buf)
		return 0;
	const char *rel = path + sw.root + (path[sw.root] == '/');
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, st->st_mtime, 0);
	ml_exim_time_t et;
	ml_exim_time_init(&et);
	ml_disp_ctx_t dc = { ML_FORMAT_AUTO, &sc, &et, ML_SLICE_NULL };
	sw.files++;
	for (char *p = buf, *end = buf + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		ml_syslog_t h;
		ml_event_t ev;
		ml_disp_t d;
		sw.lines++;
		ml_disp_kind_t k = ml_dispatch(&dc, p, n, &h, &ev, &d);
		if (k == ML_DISP_EVENT)
			sw.events++;
		else if (k == ML_DISP_SKIP)
			sw.skips++;
		else if (d.family || strcmp(d.reason, "no timestamp"))
			note_bad(rel, d.reason, d.p, d.n);
		else
			sw.foreign++;
		p = nl ? nl + 1 : end;
	}
	free(buf);
	return 0;
}

static void corpus_fidelity(void **state)
{
	(void)state;
	const char *root = tl_corpus("");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", root);
	sw.root = strlen(dir);
	while (sw.root > 1 && dir[sw.root - 1] == '/')
		dir[--sw.root] = '\0';
	assert_int_equal(nftw(dir, sweep_file, 16, FTW_PHYS), 0);
	printf("fidelity: %lu files, %lu lines: %lu events, %lu skipped, %lu not understood "
	       "(%lu of them excused), %lu read by no parser\n",
	       sw.files, sw.lines, sw.events, sw.skips, sw.bads + sw.excused, sw.excused, sw.foreign);
	for (int i = 0; i < sw.nbad; i++)
		printf("fidelity: %-9s %6lu  %s: %s\n", sw.bad[i].excused ? "excused" : "NOT OK", sw.bad[i].count,
		       sw.bad[i].file, sw.bad[i].reason);
	for (int i = 0; i < sw.nbad; i++)
		if (!sw.bad[i].excused)
			printf("fidelity: sample of %s (%s): %s\n", sw.bad[i].file, sw.bad[i].reason, sw.bad[i].sample);
	assert_true(sw.files >= 40 && sw.events > 10000);
	if (sw.bads)
		fail_msg("%lu lines of MTAs or filters not understood (see above)", sw.bads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(outcomes),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(corpus_fidelity),
	};
	return TL_RUN("dispatch", tests, corpus_tests, NULL, NULL);
}
