/*
 * Unit tests for engine/correlate: lines of tests/data/statuses.log folded
 * into messages, with the batch cut after every k lines and the in-flight
 * messages kept by a stand-in store (their plain record encoding in memory),
 * so the reload path is exercised without LMDB.  Every cut must give the
 * same final messages as one batch.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine/correlate.h"
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
			int rc = ml_record_decode_plain(s->rec[i].data, s->rec[i].len, m);
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
				ml_record_encode_plain(m, &s->rec[slot]);
		}
		/* the latest version of each docid */
		ml_buf_reset(&all[m->docid]);
		ml_record_encode_plain(m, &all[m->docid]);
		if ((int)m->docid > *nall)
			*nall = (int)m->docid;
	}
	ml_corr_done(c);
}

/* Run the whole file with a cut every k lines (k = 0: one batch). */
static int run(int k, ml_buf_t *all)
{
	size_t len;
	char *buf = tl_read_file("tests/data/statuses.log", &len);
	assert_non_null(buf);
	char **lines;
	size_t n = tl_lines(buf, len, &lines);
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
		ml_postfix_parse(h.program, h.msg, &ev);
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
	free(lines);
	free(buf);
	return nall;
}

static void cuts_change_nothing(void **state)
{
	(void)state;
	ml_buf_t ref[MAXM], got[MAXM];
	memset(ref, 0, sizeof ref);
	int nref = run(0, ref);
	assert_int_equal(nref, 12);
	for (int k = 1; k <= 9; k++) {
		memset(got, 0, sizeof got);
		int n = run(k, got);
		assert_int_equal(n, nref);
		for (int i = 1; i <= n; i++) {
			assert_int_equal(got[i].len, ref[i].len);
			assert_memory_equal(got[i].data, ref[i].data, ref[i].len);
			ml_buf_free(&got[i]);
		}
	}
	/* what the messages say */
	ml_message_t m;
	ml_message_init(&m);
	int seen_alias = 0, seen_bounce = 0;
	for (int i = 1; i <= nref; i++) {
		assert_int_equal(ml_record_decode_plain(ref[i].data, ref[i].len, &m), 0);
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

static void queue_id_reuse(void **state)
{
	(void)state;
	/* the same queue ID after "removed" is a new message */
	const char *lines[] = {
		"Mar  3 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: from=<a@x.example>, size=1, nrcpt=1 (queue active)",
		"Mar  3 10:00:01 mx1 postfix/qmgr[1]: ABCDEF1234: removed",
		"Mar  3 11:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: from=<b@y.example>, size=2, nrcpt=1 (queue active)",
		"Mar  3 11:00:00 mx2 postfix/qmgr[1]: ABCDEF1234: from=<c@z.example>, size=3, nrcpt=1 (queue active)",
	};
	ml_corr_t *c;
	assert_int_equal(ml_corr_new(&c, NULL, NULL), 0);
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, 0, 2026);
	for (size_t i = 0; i < ML_ARRAY_LEN(lines); i++) {
		ml_syslog_t h;
		const char *why;
		assert_int_equal(ml_syslog_parse(&sc, lines[i], strlen(lines[i]), &h, &why), 0);
		ml_event_t ev;
		ml_postfix_parse(h.program, h.msg, &ev);
		assert_int_equal(ml_corr_add(c, &h, &ev, lines[i], strlen(lines[i])), 0);
	}
	ml_message_t **msgs;
	assert_int_equal(ml_corr_dirty(c, &msgs), 3);  /* two on mx1, one on mx2 */
	assert_true(msgs[0]->flags & ML_MSG_CLOSED);
	assert_true(ml_slice_eq(ml_message_str(msgs[1], msgs[1]->from), "b@y.example"));
	assert_true(ml_slice_eq(ml_message_str(msgs[2], msgs[2]->host), "mx2"));
	ml_corr_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cuts_change_nothing),
		cmocka_unit_test(queue_id_reuse),
	};
	return TL_RUN_DEFAULT("correlate", tests, NULL, NULL);
}
