/*
 * Unit tests for engine/correlate: lines of tests/data/statuses.log folded
 * into messages, with the batch cut after every k lines and the in-flight
 * messages kept by a stand-in store (ml_record_plain of each, in memory),
 * so the reload path is exercised without LMDB.  Every cut must give the
 * same final messages as one batch.  Then queue IDs used again, and lines
 * of Exim and content filters that take the correlator's other paths.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine/correlate.h"
#include "engine/exim.h"
#include "engine/filters.h"
#include "engine/postfix.h"
#include "engine/syslog.h"
#include "index/record.h"

#define MAXM 64

typedef struct {
	char key[128][128];
	ml_buf_t rec[128];
	uint64_t docid[128];
	int n;
	uint64_t next_docid;
} fake_store_t;

static void key_of(char *out, size_t len, ml_slice_t host, ml_slice_t qid)
{
	snprintf(out, len, "%.*s/%.*s", (int)host.n, host.p, (int)qid.n, qid.p);
}

static int fake_load(void *ctx, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	fake_store_t *s = ctx;
	char k[128];
	key_of(k, sizeof k, host, qid);
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->key[i], k) && s->rec[i].len) {
			int rc = ml_record_from_plain(s->rec[i].data, s->rec[i].len, m);
			m->docid = s->docid[i];
			return rc;
		}
	return ML_ENOTFOUND;
}

/* Store the dirty messages: in-flight ones by key (replacing), all in `all`. */
static void store_batch(fake_store_t *s, ml_corr_t *c, ml_buf_t *all, int *nall)
{
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(c, &msgs);
	for (size_t i = 0; i < n; i++) {
		ml_message_t *m = msgs[i];
		if (!m->docid)
			m->docid = ++s->next_docid;
		char k[128];
		key_of(k, sizeof k, ml_message_str(m, m->host), ml_message_str(m, m->queue_id));
		int slot = -1;
		for (int j = 0; j < s->n; j++)
			if (!strcmp(s->key[j], k))
				slot = j;
		if (slot < 0 && m->queue_id.len) {
			slot = s->n++;
			snprintf(s->key[slot], sizeof s->key[slot], "%s", k);
		}
		if (slot >= 0) {
			ml_buf_reset(&s->rec[slot]);
			s->docid[slot] = m->docid;
			if (!(m->flags & ML_MSG_CLOSED))
				ml_record_plain(m, &s->rec[slot]);
		}
		/* the latest version of each docid */
		ml_buf_reset(&all[m->docid]);
		ml_record_plain(m, &all[m->docid]);
		if ((int)m->docid > *nall)
			*nall = (int)m->docid;
	}
	ml_corr_done(c);
}

/* The event of a syslog line, by the parser of its program. */
static void parse_any(const ml_syslog_t *h, ml_event_t *ev)
{
	if (ml_postfix_is_program(h->program))
		ml_postfix_parse(h->program, h->msg, ev);
	else if (ml_exim_is_program(h->program))
		ml_exim_parse(h->msg, ev);
	else
		ml_filters_parse(h->program, h->msg, ev);
}

/* Fold lines with a cut every k lines (k = 0: one batch); the final
 * version of each message in all[docid]; returns the last docid. */
static int run_lines(char **lines, size_t n, int k, ml_buf_t *all)
{
	fake_store_t *s = calloc(1, sizeof *s);
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, fake_load, s), 0);
	ml_corr_local_domain(c, "example.com", 11, 0);
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, 0, 2026);
	int nall = 0;
	for (size_t i = 0; i < n; i++) {
		ml_syslog_t h;
		const char *why;
		size_t ln = strlen(lines[i]);
		if (!ln)
			continue;
		assert_int_equal(ml_syslog_parse(&sc, lines[i], ln, &h, &why), 0);
		ml_event_t ev;
		parse_any(&h, &ev);
		assert_int_not_equal(ev.kind, ML_EV_UNKNOWN);
		assert_int_equal(ml_corr_add(c, &h, &ev, lines[i], ln), 0);
		if (k && (i + 1) % (size_t)k == 0)
			store_batch(s, c, all, &nall);
	}
	store_batch(s, c, all, &nall);
	ml_corr_free(c);
	for (int i = 0; i < 128; i++)
		ml_buf_free(&s->rec[i]);
	free(s);
	return nall;
}

/* Fold lines as one batch into ref (the number of messages), then with a
 * cut every k lines for k = 1 .. kmax: every cut must give the same final
 * messages. */
static int same_for_every_cut(char **lines, size_t n, int kmax, ml_buf_t *ref)
{
	ml_buf_t got[MAXM];
	int nref = run_lines(lines, n, 0, ref);
	for (int k = 1; k <= kmax; k++) {
		memset(got, 0, sizeof got);
		int ng = run_lines(lines, n, k, got);
		assert_int_equal(ng, nref);
		for (int i = 1; i <= ng; i++) {
			if (got[i].len != ref[i].len || memcmp(got[i].data, ref[i].data, ref[i].len))
				fail_msg("cut every %d lines: message %d differs", k, i);
			ml_buf_free(&got[i]);
		}
	}
	return nref;
}

static void cuts_change_nothing(void **state)
{
	(void)state;
	ml_buf_t ref[MAXM];
	memset(ref, 0, sizeof ref);
	size_t len;
	char *buf = tl_read_file("tests/data/statuses.log", &len);
	assert_non_null(buf);
	char **lines;
	size_t n = tl_lines(buf, len, &lines);
	int nref = same_for_every_cut(lines, n, 9, ref);
	free(lines);
	free(buf);
	assert_int_equal(nref, 12);
	/* what the messages say */
	ml_message_t m;
	ml_message_init(&m);
	int seen_alias = 0, seen_bounce = 0;
	for (int i = 1; i <= nref; i++) {
		assert_int_equal(ml_record_from_plain(ref[i].data, ref[i].len, &m), 0);
		ml_slice_t q = ml_message_str(&m, m.queue_id);
		if (ml_slice_eq(q, "0D1E2F3A4B")) {
			assert_int_equal(m.nrcpts, 3);
			assert_true(ml_slice_eq(ml_message_str(&m, m.rcpts[1].orig_to), "sales@example.com"));
			assert_int_equal(m.rcpts[0].status, ML_ST_BLOCKED);
			assert_int_equal(m.direction, ML_DIR_INBOUND);
			assert_true(m.flags & ML_MSG_CLOSED);
			seen_alias = 1;
		}
		if (ml_slice_eq(q, "4D5E6F7A8B")) {
			assert_true(ml_slice_eq(ml_message_str(&m, m.orig_qid), "3C4D5E6F7A"));
			assert_int_equal(m.from.len, 0);
			seen_bounce = 1;
		}
		if (ml_slice_eq(q, "2B3C4D5E6F")) {
			assert_false(m.flags & ML_MSG_CLOSED);  /* still deferred */
			assert_int_equal(m.nlines, 6);
			assert_int_equal(m.direction, ML_DIR_OUTBOUND);
		}
		if (ml_slice_eq(q, "8B9C0D1E2F"))
			assert_int_equal(ml_message_row_status(&m, &m.rcpts[0]), ML_ST_QUARANTINED);
		ml_buf_free(&ref[i]);
	}
	assert_true(seen_alias && seen_bounce);
	ml_message_free(&m);
}

/* Fold syslog lines of 2026 into c, each read by the parser of its program
 * (Postfix, Exim, a content filter); none may be not understood. */
static void fold(ml_corr_t *c, const char *const *lines, size_t n)
{
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, 0, 2026);
	for (size_t i = 0; i < n; i++) {
		ml_syslog_t h;
		const char *why;
		size_t ln = strlen(lines[i]);
		assert_int_equal(ml_syslog_parse(&sc, lines[i], ln, &h, &why), 0);
		ml_event_t ev;
		parse_any(&h, &ev);
		if (ev.kind == ML_EV_UNKNOWN)
			fail_msg("not understood: %s", lines[i]);
		assert_int_equal(ml_corr_add(c, &h, &ev, lines[i], ln), 0);
	}
}

/* The newest message of queue ID qid among those c changed; fails if none. */
static ml_message_t *changed(ml_corr_t *c, const char *qid)
{
	ml_message_t **msgs, *m = NULL;
	size_t n = ml_corr_dirty(c, &msgs);
	for (size_t i = 0; i < n; i++)
		if (ml_slice_eq(ml_message_str(msgs[i], msgs[i]->queue_id), qid))
			m = msgs[i];
	if (!m)
		fail_msg("no message %s", qid);
	return m;
}

static void queue_id_reuse(void **state)
{
	(void)state;
	/* the same queue ID after "removed" is a new message; a second
	 * "removed" starts nothing */
	const char *lines[] = {
		"Mar  3 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: from=<a@x.example>, size=1, nrcpt=1 (queue active)",
		"Mar  3 10:00:01 mx1 postfix/qmgr[1]: ABCDEF1234: removed",
		"Mar  3 10:00:02 mx1 postfix/qmgr[1]: ABCDEF1234: removed",
		"Mar  3 11:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: from=<b@y.example>, size=2, nrcpt=1 (queue active)",
		"Mar  3 11:00:00 mx2 postfix/qmgr[1]: ABCDEF1234: from=<c@z.example>, size=3, nrcpt=1 (queue active)",
		/* 43 days on: the end of a later message whose start was not read */
		"Apr 15 11:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: removed",
	};
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, NULL, NULL), 0);
	fold(c, lines, ML_ARRAY_LEN(lines));
	ml_message_t **msgs;
	assert_int_equal(ml_corr_dirty(c, &msgs), 3);  /* two on mx1, one on mx2 */
	assert_true(msgs[0]->flags & ML_MSG_CLOSED);
	assert_true(ml_slice_eq(ml_message_str(msgs[1], msgs[1]->from), "b@y.example"));
	assert_false(msgs[1]->flags & ML_MSG_CLOSED);
	assert_true(ml_slice_eq(ml_message_str(msgs[2], msgs[2]->host), "mx2"));
	ml_corr_free(c);
}

/* A notice delivered at once (discarded) is removed before the bounce
 * daemon logs its queue ID: the original's line names the notice that is
 * done already, which it annotates; a notice of the same queue ID a minute
 * later is a new message.  Real Postfix 3.7 lines. */
static void notice_removed_first(void **state)
{
	(void)state;
	const char *lines[] = {
		"Dec 04 05:49:19 edge postfix-edge/smtpd[26866]: 05A1CA98832: client=unknown[10.77.1.2]",
		"Dec 04 05:49:19 edge postfix-edge/cleanup[26869]: 05A1CA98832: message-id=<chain3@sender.example>",
		"Dec 04 05:49:19 edge postfix-edge/qmgr[26680]: 05A1CA98832: from=<alice@sender.example>, size=299, nrcpt=1 (queue active)",
		"Dec 04 05:49:19 edge postfix-edge/smtp[26870]: 05A1CA98832: to=<nouser@example.com>, relay=10.77.0.2[10.77.0.2]:25, "
		"delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced (host 10.77.0.2[10.77.0.2] said: 550 5.1.1 "
		"<nouser@example.com>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
		"Dec 04 05:49:19 edge postfix-edge/cleanup[26869]: 08DA9A98822: message-id=<20261204054919.08DA9A98822@edge.test>",
		"Dec 04 05:49:19 edge postfix-edge/qmgr[26680]: 08DA9A98822: from=<>, size=2259, nrcpt=1 (queue active)",
		"Dec 04 05:49:19 edge postfix-edge/discard[26896]: 08DA9A98822: to=<alice@sender.example>, relay=none, delay=0, "
		"delays=0/0/0/0, dsn=2.0.0, status=sent (sender.example)",
		"Dec 04 05:49:19 edge postfix-edge/qmgr[26680]: 08DA9A98822: removed",
		"Dec 04 05:49:19 edge postfix-edge/bounce[26888]: 05A1CA98832: sender non-delivery notification: 08DA9A98822",
		"Dec 04 05:49:19 edge postfix-edge/qmgr[26680]: 05A1CA98832: removed",
		/* the same queue ID reused later: its original names it as it comes */
		"Dec 04 05:51:00 edge postfix-edge/qmgr[26680]: 0A0A0A0A0A: from=<b@sender.example>, size=299, nrcpt=1 (queue active)",
		"Dec 04 05:51:00 edge postfix-edge/smtp[26870]: 0A0A0A0A0A: to=<x@example.com>, relay=none, delay=0, "
		"delays=0/0/0/0, dsn=5.4.4, status=bounced (Host or domain name not found)",
		"Dec 04 05:51:00 edge postfix-edge/bounce[26888]: 0A0A0A0A0A: sender non-delivery notification: 08DA9A98822",
	};
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, NULL, NULL), 0);
	fold(c, lines, ML_ARRAY_LEN(lines));
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(c, &msgs), notices = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ml_slice_eq(ml_message_str(msgs[i], msgs[i]->queue_id), "08DA9A98822"))
			continue;
		notices++;
		if (notices == 1) {
			/* the notice, done, knows its original */
			assert_true(msgs[i]->flags & ML_MSG_CLOSED);
			assert_int_equal(msgs[i]->nrcpt, 1);
			assert_true(ml_slice_eq(ml_message_str(msgs[i], msgs[i]->orig_qid), "05A1CA98832"));
		} else {
			assert_true(ml_slice_eq(ml_message_str(msgs[i], msgs[i]->orig_qid), "0A0A0A0A0A"));
			assert_int_equal(msgs[i]->nrcpt, 0);
		}
	}
	assert_int_equal(notices, 2);
	assert_true(ml_slice_eq(ml_message_str(changed(c, "05A1CA98832"), changed(c, "05A1CA98832")->bounce_qid), "08DA9A98822"));
	ml_corr_free(c);
}

/*
 * Paths the statuses log does not take: a filter's verdict that names no
 * recipient (every row of the message), Exim's rows (a quoted local part)
 * and its blackhole, a hop to a local filter whose next hop is not in the
 * log, a message whose first line is a header line, a line older than the
 * message's first, lines with nothing to fold (information), a verdict keyed
 * by message-id alone (joined to the message that has it), and local domains
 * past the first table.
 */
static void other_paths(void **state)
{
	(void)state;
	const char *lines[] = {
		"Mar  3 12:00:00 mx2 exim[500]: 1vQrSt-000001-AB <= news@shop.example H=mail.shop.example [192.0.2.41] P=esmtp S=5120 id=n1@shop.example for kim@example.com \"john doe\"@example.com",
		"Mar  3 12:00:01 mx2 rspamd[600]: <a1b2c3>; task; rspamd_task_write_log: id: <n1@shop.example>, qid: <1vQrSt-000001-AB>, ip: 192.0.2.41, from: <news@shop.example>, (default: T (quarantine): [31.00/15.00] [GTUBE(0.00)]), len: 5120, time: 20.000ms",
		"Mar  3 12:01:00 mx2 exim[501]: 1vQrSu-000002-AB <= promo@bulk.example H=bulk.example [203.0.113.120] P=esmtp S=900",
		"Mar  3 12:01:00 mx2 exim[501]: 1vQrSu-000002-AB => blackhole (DATA ACL discarded recipients): spam",
		"Mar  3 12:01:00 mx2 exim[501]: 1vQrSu-000002-AB Completed",
		"Mar  3 12:02:00 mx1 postfix/qmgr[10]: 0A1B2C3D4E: from=<a@x.example>, size=100, nrcpt=1 (queue active)",
		"Mar  3 12:02:01 mx1 postfix/smtp[11]: 0A1B2C3D4E: to=<x@example.com>, relay=127.0.0.1[127.0.0.1]:10026, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F8E7D6C5B)",
		"Mar  3 12:02:01 mx1 postfix/qmgr[10]: 0A1B2C3D4E: removed",
		"Mar  3 12:03:05 mx1 postfix/cleanup[12]: 1B2C3D4E5F: info: header Subject: Hello from mail.x.example[192.0.2.50]; from=<a@x.example> to=<b@example.com> proto=ESMTP helo=<mail.x.example>",
		"Mar  3 12:03:04 mx1 postfix/cleanup[12]: 1B2C3D4E5F: message-id=<h1@x.example>",
		"Mar  3 12:03:06 mx1 postfix/qmgr[10]: 1B2C3D4E5F: skipped, still being delivered",
		"Mar  3 12:03:07 mx1 spamd[700]: spamd: result: Y 9 - BAYES_99 scantime=0.3,size=900,user=amavis,uid=110,required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=40000,mid=<h1@x.example>,autolearn=spam",
		"Mar  3 12:04:00 mx1 postfix/cleanup[12]: 2C3D4E5F6A: reject: header Subject: WIN BIG from mail.y.example[192.0.2.51]; from=<s@y.example> to=<b@example.com> proto=ESMTP helo=<mail.y.example>: 5.7.1 Message content rejected",
		/* host names in any case are one host; a deferred message put on hold */
		"Mar  3 12:05:00 mx3 postfix/qmgr[20]: 3D4E5F6A7B: from=<ops@example.com>, size=300, nrcpt=1 (queue active)",
		"Mar  3 12:05:01 MX3 postfix/smtp[21]: 3D4E5F6A7B: to=<Lee@Partner.EXAMPLE>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.partner.example[198.51.100.9]:25: Connection refused)",
		"Mar  3 12:06:00 Mx3 postfix/postsuper[22]: 3D4E5F6A7B: placed on hold",
		/* Exim: a message frozen for no quarantine, then unfrozen */
		"Mar  3 12:07:00 mx2 exim[502]: 1vQrSv-000003-AB <= ann@example.com U=ann P=local S=200 for ron@Example.COM",
		"Mar  3 12:07:01 mx2 exim[502]: 1vQrSv-000003-AB Unfrozen by forced delivery",
	};
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, NULL, NULL), 0);
	/* enough local domains that the table grows and their slots collide */
	char d[32];
	for (int i = 0; i < 300; i++) {
		int n = snprintf(d, sizeof d, "dom%d.example", i);
		assert_int_equal(ml_corr_local_domain(c, d, (size_t)n, 0), 0);
	}
	assert_int_equal(ml_corr_local_domain(c, "example.com", 11, 0), 0);
	fold(c, lines, ML_ARRAY_LEN(lines));

	ml_message_t *m = changed(c, "1vQrSt-000001-AB");
	assert_int_equal(m->nrcpts, 2);
	assert_true(ml_slice_eq(ml_message_str(m, m->rcpts[1].to), "\"john doe\"@example.com"));
	assert_int_equal(m->rcpts[0].status, ML_ST_QUARANTINED);
	assert_int_equal(m->rcpts[1].status, ML_ST_QUARANTINED);
	assert_true(m->flags & ML_MSG_HELD);
	assert_int_equal(m->direction, ML_DIR_INBOUND);

	m = changed(c, "1vQrSu-000002-AB");
	assert_int_equal(m->nrcpts, 0);
	assert_true(m->flags & ML_MSG_REJECTED);

	/* the next hop is not there: the row stays as delivered, waiting */
	m = changed(c, "0A1B2C3D4E");
	assert_int_equal(m->nrcpts, 1);
	assert_false(m->rcpts[0].flags & ML_RCPT_HANDED_ON);
	assert_int_equal(m->rcpts[0].status, ML_ST_DELIVERED);
	assert_true(ml_slice_eq(ml_message_str(m, m->next_qid), "9F8E7D6C5B"));

	m = changed(c, "1B2C3D4E5F");
	assert_true(ml_slice_eq(ml_message_str(m, m->client_ip), "192.0.2.50"));
	assert_true(ml_slice_eq(ml_message_str(m, m->message_id), "h1@x.example"));
	assert_int_equal(m->first_us, 1772539384LL * 1000000);  /* 12:03:04, the older line */
	assert_int_equal(m->last_us, 1772539387LL * 1000000);   /* the spamd verdict, joined by message-id */
	assert_int_equal(m->nlines, 4);

	m = changed(c, "3D4E5F6A7B");
	assert_int_equal(m->nrcpts, 1);
	assert_int_equal(m->nlines, 3);
	assert_int_equal(m->rcpts[0].status, ML_ST_QUARANTINED);
	assert_true(m->flags & ML_MSG_HELD);
	assert_int_equal(m->direction, ML_DIR_OUTBOUND);

	m = changed(c, "1vQrSv-000003-AB");
	assert_false(m->flags & ML_MSG_RELEASED);
	assert_int_equal(m->direction, ML_DIR_INTERNAL);  /* Example.COM is example.com */

	/* a reject is the first line read of its message: its client is known */
	m = changed(c, "2C3D4E5F6A");
	assert_true(ml_slice_eq(ml_message_str(m, m->client_ip), "192.0.2.51"));
	assert_int_equal(m->rcpts[0].status, ML_ST_BLOCKED);
	ml_corr_free(c);
}

/*
 * A message stopped (or only touched) by a header rule keeps the subject of
 * the rule's line, decoded, whatever the action.
 */
static void header_rule_subjects(void **state)
{
	(void)state;
	static const char *const acts[] = { "reject", "discard", "hold", "warning", "info",
		"redirect", "filter", "replace", "prepend", "bcc" };
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, NULL, NULL), 0);
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, 0, 2026);
	char line[1024], qid[16];
	for (size_t a = 0; a < ML_ARRAY_LEN(acts); a++) {
		snprintf(qid, sizeof qid, "5A5B5C5D%02zu", a);
		snprintf(line, sizeof line,
			 "Mar  3 12:10:00 mx1 postfix/cleanup[12]: %s: %s: header Subject: "
			 "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from a[192.0.2.1]; from=<x@y> to=<z@w> "
			 "from mail.q.example[192.0.2.60]; from=<s@q.example> to=<bob@example.com> "
			 "proto=ESMTP helo=<mail.q.example>: 5.7.1 rule", qid, acts[a]);
		size_t ln = strlen(line);
		ml_syslog_t h;
		const char *why;
		assert_int_equal(ml_syslog_parse(&sc, line, ln, &h, &why), 0);
		ml_event_t ev;
		ml_postfix_parse(h.program, h.msg, &ev);
		assert_int_equal(ml_corr_add(c, &h, &ev, line, ln), 0);
		ml_message_t *m = changed(c, qid);
		ml_slice_t subj = ml_message_str(m, m->subject);
		if (!ml_slice_eq(subj, "Grüße from a[192.0.2.1]; from=<x@y> to=<z@w>"))
			fail_msg("%s: subject \"%.*s\"", acts[a], (int)subj.n, subj.p);
	}
	ml_corr_free(c);
}

/*
 * Filter lines that name a message-id and no queue ID join the message that
 * has it, whether they come before its message-id line (spamd, called by a
 * milter before the queue) or after it (amavis without Queue-ID, whose
 * queued_as names the next hop: the line is the first hop's), in one batch
 * or with the batch cut anywhere (the message loaded back from the store).
 */
static void filters_by_message_id(void **state)
{
	(void)state;
	static const char *const src[] = {
		"Mar  3 13:00:00 mx1 spamd[700]: spamd: result: . 1 - BAYES_20 scantime=0.3,size=900,user=amavis,uid=110,required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=40000,mid=<early@x.example>,autolearn=no",
		"Mar  3 13:00:01 mx1 postfix/smtpd[10]: 6A7B8C9D0E: client=mail.x.example[192.0.2.70]",
		"Mar  3 13:00:01 mx1 postfix/cleanup[11]: 6A7B8C9D0E: message-id=<early@x.example>",
		"Mar  3 13:00:02 mx1 postfix/qmgr[12]: 6A7B8C9D0E: from=<s@x.example>, size=900, nrcpt=1 (queue active)",
		"Mar  3 13:00:03 mx1 postfix/smtpd[13]: 7B8C9D0E1F: client=localhost[127.0.0.1]",
		"Mar  3 13:00:03 mx1 postfix/cleanup[11]: 7B8C9D0E1F: message-id=<early@x.example>",
		"Mar  3 13:00:03 mx1 amavis[14540]: (14540-09) Passed CLEAN {RelayedInbound}, [192.0.2.70]:56540 [192.0.2.70] <s@x.example> -> <bob@example.com>, Message-ID: <early@x.example>, Hits: -1.481, size: 900, queued_as: 7B8C9D0E1F, 101 ms",
		"Mar  3 13:00:03 mx1 postfix/smtp[14]: 6A7B8C9D0E: to=<bob@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok, id=14540-09, from MTA([127.0.0.1]:10025): 250 2.0.0 Ok: queued as 7B8C9D0E1F)",
		"Mar  3 13:00:03 mx1 postfix/qmgr[12]: 6A7B8C9D0E: removed",
		"Mar  3 13:00:04 mx1 postfix/qmgr[12]: 7B8C9D0E1F: from=<s@x.example>, size=1200, nrcpt=1 (queue active)",
		"Mar  3 13:00:05 mx1 spamd[701]: spamd: result: Y 9 - BAYES_99 scantime=0.3,size=900,user=amavis,uid=110,required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=40001,mid=<late@y.example>,autolearn=spam",
		"Mar  3 13:00:06 mx1 postfix/local[15]: 7B8C9D0E1F: to=<bob@example.com>, relay=local, delay=2, delays=0/0/0/2, dsn=2.0.0, status=sent (delivered to mailbox)",
		"Mar  3 13:00:06 mx1 postfix/qmgr[12]: 7B8C9D0E1F: removed",
		/* its message-id comes in a later batch than the verdict (any cut) */
		"Mar  3 13:00:07 mx1 postfix/cleanup[11]: 8C9D0E1F2A: message-id=<late@y.example>",
		"Mar  3 13:00:08 mx1 postfix/qmgr[12]: 8C9D0E1F2A: from=<t@y.example>, size=500, nrcpt=1 (queue active)",
		/* after it, in flight: found in the store when the batch was cut */
		"Mar  3 13:00:09 mx1 amavis[14541]: (14541-01) Blocked SPAM {DiscardedInbound}, [192.0.2.71]:5000 [192.0.2.71] <t@y.example> -> <ann@example.com>, Message-ID: <late@y.example>, Hits: 9, size: 500, 80 ms",
	};
	char *lines[ML_ARRAY_LEN(src)];
	for (size_t i = 0; i < ML_ARRAY_LEN(src); i++)
		lines[i] = (char *)src[i];
	ml_buf_t ref[MAXM];
	memset(ref, 0, sizeof ref);
	int nref = same_for_every_cut(lines, ML_ARRAY_LEN(src), (int)ML_ARRAY_LEN(src), ref);
	assert_int_equal(nref, 3);
	ml_message_t m;
	ml_message_init(&m);
	int seen = 0;
	for (int i = 1; i <= nref; i++) {
		assert_int_equal(ml_record_from_plain(ref[i].data, ref[i].len, &m), 0);
		ml_slice_t q = ml_message_str(&m, m.queue_id);
		if (ml_slice_eq(q, "6A7B8C9D0E")) {
			/* spamd's line before, amavis's after the message-id */
			assert_int_equal(m.nlines, 7);
			assert_int_equal(m.first_us, 1772542800LL * 1000000);
			assert_true(ml_slice_eq(ml_message_str(&m, m.next_qid), "7B8C9D0E1F"));
			seen++;
		}
		if (ml_slice_eq(q, "7B8C9D0E1F")) {
			assert_int_equal(m.nlines, 5);  /* not amavis's line: that is the first hop's */
			seen++;
		}
		if (ml_slice_eq(q, "8C9D0E1F2A")) {
			assert_int_equal(m.nlines, 4);
			assert_int_equal(m.rcpts[0].status, ML_ST_BLOCKED);
			assert_true(ml_slice_eq(ml_message_str(&m, m.rcpts[0].to), "ann@example.com"));
			seen++;
		}
		ml_buf_free(&ref[i]);
	}
	assert_int_equal(seen, 3);
	ml_message_free(&m);
}

/*
 * Hops across hosts, in one batch: a delivery whose reply names a queue ID
 * links to the message of that queue ID only when it fits: first seen in the
 * window around the delivery, the same message-id when both have one, both
 * or neither on loopback, the host names not both against it.
 */
static void hops_confirmed(void **state)
{
	(void)state;
	const char *lines[] = {
		/* 1: two hosts hold queue ID 1111111111 at once: the one with the message-id */
		"Mar  3 09:00:00 edge postfix/smtpd[1]: AAAAAAAAA1: client=mail.a.example[192.0.2.1]",
		"Mar  3 09:00:00 edge postfix/cleanup[2]: AAAAAAAAA1: message-id=<m1@a.example>",
		"Mar  3 09:00:01 inner1 postfix/smtpd[3]: 1111111111: client=edge.example.com[10.0.0.1]",
		"Mar  3 09:00:01 inner1 postfix/cleanup[4]: 1111111111: message-id=<other@b.example>",
		"Mar  3 09:00:01 inner2 postfix/smtpd[3]: 1111111111: client=edge.example.com[10.0.0.1]",
		"Mar  3 09:00:01 inner2 postfix/cleanup[4]: 1111111111: message-id=<m1@a.example>",
		"Mar  3 09:00:02 edge postfix/smtp[5]: AAAAAAAAA1: to=<u1@example.com>, relay=inner.example.com[10.0.0.2]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1111111111)",
		/* 2: the queue ID seen on another host two hours later: not the next hop */
		"Mar  3 09:10:00 edge postfix/smtpd[1]: AAAAAAAAA2: client=mail.a.example[192.0.2.1]",
		"Mar  3 09:10:01 edge postfix/smtp[5]: AAAAAAAAA2: to=<u2@example.com>, relay=inner.example.com[10.0.0.2]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2222222222)",
		"Mar  3 11:10:01 inner1 postfix/smtpd[3]: 2222222222: client=edge.example.com[10.0.0.1]",
		/* 3: a relay on loopback, the candidate's client is not */
		"Mar  3 09:20:00 edge postfix/smtpd[1]: AAAAAAAAA3: client=mail.a.example[192.0.2.1]",
		"Mar  3 09:20:01 inner1 postfix/smtpd[3]: 3333333333: client=edge.example.com[10.0.0.1]",
		"Mar  3 09:20:01 edge postfix/smtp[5]: AAAAAAAAA3: to=<u3@example.com>, relay=127.0.0.1[127.0.0.1]:10025, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3333333333)",
		/* 4: both names known and against it: the client is not the edge, the relay not inner1 */
		"Mar  3 09:30:00 edge postfix/smtpd[1]: AAAAAAAAA4: client=mail.a.example[192.0.2.1]",
		"Mar  3 09:30:01 inner1 postfix/smtpd[3]: 4444444444: client=stranger.example.net[198.51.100.3]",
		"Mar  3 09:30:01 edge postfix/smtp[5]: AAAAAAAAA4: to=<u4@example.com>, relay=mx.other.example[10.0.0.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4444444444)",
		/* 5: an Exim edge to Postfix, whose inner expands an alias; the inner's line first */
		"Mar  3 09:40:01 inner1 postfix/smtpd[3]: 5555555555: client=unknown[10.0.0.1]",
		"Mar  3 09:40:00 exedge exim[6]: 1vQaaa-000005-AB <= s@a.example H=mail.a.example [192.0.2.1] P=esmtp S=100 id=m5@a.example T=\"Hi there\" for team@example.com",
		"Mar  3 09:40:01 exedge exim[7]: 1vQaaa-000005-AB => team@example.com R=dnslookup T=remote_smtp H=inner1.example.com [10.0.0.2] C=\"250 2.0.0 Ok: queued as 5555555555\"",
		"Mar  3 09:40:02 inner1 postfix/local[8]: 5555555555: to=<ann@example.com>, orig_to=<team@example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=5.2.2, status=bounced (mailbox full)",
	};
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, NULL, NULL), 0);
	fold(c, lines, ML_ARRAY_LEN(lines));
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(c, &msgs);
	ml_message_t *in1 = NULL, *in2 = NULL;
	for (size_t i = 0; i < n; i++)
		if (ml_slice_eq(ml_message_str(msgs[i], msgs[i]->queue_id), "1111111111"))
			*(ml_slice_eq(ml_message_str(msgs[i], msgs[i]->host), "inner1") ? &in1 : &in2) = msgs[i];
	assert_non_null(in1);
	assert_non_null(in2);
	assert_false(in1->flags & ML_MSG_CONTINUED);
	assert_true(in2->flags & ML_MSG_CONTINUED);
	assert_true(ml_slice_eq(ml_message_str(in2, in2->prev_qid), "AAAAAAAAA1"));
	assert_true(ml_slice_eq(ml_message_str(in2, in2->client_ip), "192.0.2.1"));
	assert_true(changed(c, "AAAAAAAAA1")->rcpts[0].flags & ML_RCPT_HANDED_ON);
	const char *unlinked[] = { "AAAAAAAAA2", "AAAAAAAAA3", "AAAAAAAAA4" };
	for (size_t i = 0; i < ML_ARRAY_LEN(unlinked); i++) {
		ml_message_t *e = changed(c, unlinked[i]);
		assert_false(e->rcpts[0].flags & ML_RCPT_HANDED_ON);
		assert_int_equal(e->rcpts[0].status, ML_ST_DELIVERED);
	}
	const char *alone[] = { "2222222222", "3333333333", "4444444444" };
	for (size_t i = 0; i < ML_ARRAY_LEN(alone); i++)
		assert_false(changed(c, alone[i])->flags & ML_MSG_CONTINUED);
	ml_message_t *e = changed(c, "1vQaaa-000005-AB"), *x = changed(c, "5555555555");
	assert_true(e->rcpts[0].flags & ML_RCPT_HANDED_ON);
	assert_true(x->flags & ML_MSG_CONTINUED);
	assert_true(ml_slice_eq(ml_message_str(x, x->subject), "Hi there"));
	assert_true(ml_slice_eq(ml_message_str(x, x->from), "s@a.example"));
	assert_true(ml_slice_eq(ml_message_str(x, x->message_id), "m5@a.example"));
	assert_int_equal(x->nrcpts, 1);  /* the alias's row, not one more for team@ */
	assert_true(ml_slice_eq(ml_message_str(x, x->rcpts[0].orig_to), "team@example.com"));
	assert_int_equal(x->rcpts[0].status, ML_ST_BOUNCED);
	ml_corr_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cuts_change_nothing),
		cmocka_unit_test(queue_id_reuse),
		cmocka_unit_test(notice_removed_first),
		cmocka_unit_test(other_paths),
		cmocka_unit_test(header_rule_subjects),
		cmocka_unit_test(filters_by_message_id),
		cmocka_unit_test(hops_confirmed),
	};
	return TL_RUN_DEFAULT("correlate", tests, NULL, NULL);
}
