/*
 * Reports of messages (engine/learn.h, index/reports.h, tools/report.h):
 * rspamd's learning lines (tests/data/rspamd-learn.log, written by rspamd
 * 3.4) parsed into reports; the reports table and its posting through the
 * index API (a rebuild that gives a message another docid moves its
 * reports); and the command: ingest of the learning lines, `mtalog report`,
 * --status reported, show, reindex, reparse, prune.
 */
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/filters.h"
#include "engine/learn.h"
#include "index/query.h"
#include "index/reports.h"
#include "index/store.h"
#include "index/writer.h"

#define STATUSES "tests/data/statuses.log"
#define LEARN "tests/data/rspamd-learn.log"

/* The lines of rspamd's own log file, as ingest reads them: the time, then
 * the rest to the filters' parser. */
static void learn_lines(void **state)
{
	(void)state;
	size_t len;
	char *buf = tl_read_file(LEARN, &len), **lines;
	assert_non_null(buf);
	size_t n = tl_lines(buf, len, &lines);
	assert_true(n > 20);
	const char *want[] = { "m1@sender.example", "m8@example.org" };
	size_t reports = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(lines[i]) > 20 && lines[i][19] == ' ');
		ml_event_t ev;
		ml_filters_parse(ml_slice_cstr("rspamd"), ml_slice_cstr(lines[i] + 20), &ev);
		if (ev.kind != ML_EV_REPORT)
			continue;  /* rspamd's chatter, the ham learning, the refused second learning */
		assert_true(reports < 2);
		tl_expect_slice(ev.msgid, want[reports], "msgid", __LINE__);
		tl_expect_slice(ev.client_ip, "127.0.0.1", "client_ip", __LINE__);
		tl_expect_slice(ev.verdict, "spam", "verdict", __LINE__);
		assert_string_equal(ev.reason, ML_LEARN_SOURCE_RSPAMD);
		assert_null(ev.qid.p);
		reports++;
		/* cut anywhere: never a crash, never a report with a wrong id */
		for (size_t k = 20; k < strlen(lines[i]); k++) {
			ml_event_t cut;
			ml_filters_parse(ml_slice_cstr("rspamd"), ml_slice(lines[i] + 20, k - 20), &cut);
			if (cut.kind == ML_EV_REPORT)
				assert_true(cut.msgid.n && !memcmp(cut.msgid.p, want[reports - 1], cut.msgid.n));
		}
	}
	assert_int_equal(reports, 2);
	free(lines);
	free(buf);
	/* through syslog (rspamd's logging type = "syslog"): the same text after
	 * the tag; a message-id in angle brackets; none */
	ml_event_t ev;
	ml_filters_parse(ml_slice_cstr("rspamd[22746]"),
	                 ml_slice_cstr("<d5cb3b>; csession; rspamd_controller_learn_fin_task: <10.0.0.7> learned message as spam: <a@b.example>"), &ev);
	assert_int_equal(ev.kind, ML_EV_REPORT);
	tl_expect_slice(ev.msgid, "a@b.example", "msgid", __LINE__);
	tl_expect_slice(ev.client_ip, "10.0.0.7", "client_ip", __LINE__);
	ml_filters_parse(ml_slice_cstr("rspamd"),
	                 ml_slice_cstr("<d5cb3b>; csession; rspamd_controller_learn_fin_task: <127.0.0.1> learned message as spam: undef"), &ev);
	assert_int_equal(ev.kind, ML_EV_SKIP);
	/* not rspamd: not a report */
	ml_filters_parse(ml_slice_cstr("amavis"),
	                 ml_slice_cstr("rspamd_controller_learn_fin_task: <127.0.0.1> learned message as spam: a@b"), &ev);
	assert_true(ev.kind != ML_EV_REPORT);
}

static void make_message(ml_message_t *m, int i, int64_t first_us)
{
	char buf[128];
	ml_message_init(m);
	m->first_us = first_us;
	m->last_us = first_us + 1000000;
	ml_message_set(m, &m->host, "mx1", 3);
	snprintf(buf, sizeof buf, "QID%07d", i);
	ml_message_set(m, &m->queue_id, buf, strlen(buf));
	snprintf(buf, sizeof buf, "id%d@example.org", i);
	ml_message_set(m, &m->message_id, buf, strlen(buf));
	ml_message_set(m, &m->from, "a@example.org", 13);
	m->flags = ML_MSG_CLOSED;
	int k = ml_message_add_rcpt(m);
	ml_message_set(m, &m->rcpts[k].to, "b@example.com", 13);
	m->rcpts[k].status = ML_ST_DELIVERED;
	snprintf(buf, sizeof buf, "Mar  3 10:00:00 mx1 postfix/qmgr[1]: QID%07d: removed", i);
	ml_message_add_line(m, buf, strlen(buf), 0);
}

typedef struct {
	uint64_t ids[8];
	size_t n;
} ids_t;

static int keep_id(void *ctx, const ml_message_t *m, int row)
{
	(void)row;
	ids_t *x = ctx;
	assert_true(m->flags & ML_MSG_REPORTED);
	if (x->n < 8)
		x->ids[x->n++] = m->docid;
	return 0;
}

static ids_t reported(ml_store_t *s)
{
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, s), 0);
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	assert_int_equal(ml_query_set(&q, "status", "reported", err, sizeof err), 0);
	ids_t x = { { 0 }, 0 };
	ml_search_info_t info;
	assert_int_equal(ml_search_run(se, &q, keep_id, &x, &info, err, sizeof err), 0);
	ml_query_free(&q);
	ml_search_free(se);
	return x;
}

static int count_one(void *ctx, const ml_report_t *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static int reports_of(ml_store_t *s, uint64_t docid)
{
	MDB_txn *txn;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	int n = 0;
	assert_int_equal(ml_reports_each(txn, s, docid, count_one, &n), 0);
	mdb_txn_abort(txn);
	return n;
}

/* The table and its posting: add, again (nothing), the filter, a rebuild
 * that gives the reported message another docid, drop. */
static void table_and_posting(void **state)
{
	(void)state;
	const char *dir = tl_tmpdir();
	char path[4200], err[512];
	snprintf(path, sizeof path, "%s/r.db", dir);
	ml_store_t *s;
	assert_int_equal(ml_store_open(&s, path, ML_STORE_CREATE | ML_STORE_NOSYNC, err, sizeof err), 0);
	ml_writer_t *w;
	assert_int_equal(ml_writer_new(&w, s), 0);
	/* two messages in one second: docids seq 0 (A) and 1 (B) */
	ml_message_t a, b;
	make_message(&a, 1, 1760000000000000LL);
	make_message(&b, 2, 1760000000500000LL);
	assert_int_equal(ml_writer_begin(w), 0);
	assert_int_equal(ml_writer_put(w, &a), 0);
	assert_int_equal(ml_writer_put(w, &b), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	uint64_t old_a = a.docid;
	assert_true(a.docid < b.docid);
	assert_int_equal(reported(s).n, 0);

	ml_report_t r = { a.docid, 1770000000000000LL, ML_REPORT_SRC_USER, ML_REPORT_PHISHING, "bob" };
	MDB_txn *txn;
	int added;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	assert_int_equal(ml_reports_add(txn, s, &r, &a, &added), 0);
	assert_int_equal(added, 1);
	r.at_us += 5000000;   /* the same person again, later: the first stands */
	assert_int_equal(ml_reports_add(txn, s, &r, &a, &added), 0);
	assert_int_equal(added, 0);
	r.kind = ML_REPORT_SPAM;   /* another kind is another report */
	assert_int_equal(ml_reports_add(txn, s, &r, &a, &added), 0);
	assert_int_equal(added, 1);
	ml_report_t bad = r;
	bad.source = 9;
	assert_int_equal(ml_reports_add(txn, s, &bad, &a, &added), ML_EINVAL);
	assert_int_equal(mdb_txn_commit(txn), 0);
	ids_t x = reported(s);
	assert_int_equal(x.n, 1);
	assert_true(x.ids[0] == a.docid);
	assert_int_equal(reports_of(s, a.docid), 2);

	/* a rebuild (as a reparse) that sees A later in the same second: B
	 * takes A's docid, A the next; the reports follow A (its queue ID and
	 * host) */
	assert_int_equal(ml_writer_rebuild_begin(w, 0), 0);
	b.docid = a.docid = 0;
	a.first_us = 1760000000900000LL;
	assert_int_equal(ml_writer_put(w, &b), 0);
	assert_int_equal(ml_writer_put(w, &a), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	assert_true(b.docid == old_a);
	assert_true(a.docid != old_a);
	x = reported(s);
	assert_int_equal(x.n, 1);
	assert_true(x.ids[0] == a.docid);
	assert_int_equal(reports_of(s, a.docid), 2);
	assert_int_equal(reports_of(s, b.docid), 0);

	/* drop: no report, no posting */
	uint64_t n;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	assert_int_equal(ml_reports_drop(txn, s, a.docid, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ml_reports_count(txn, s), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(reported(s).n, 0);

	/* a learning line joins by message-id at the commit; one whose message
	 * is not stored is tallied */
	ml_report_t lr = { 0, 1770000000000000LL, ML_REPORT_SRC_RSPAMD, ML_REPORT_SPAM, "" };
	assert_int_equal(ml_writer_begin(w), 0);
	assert_int_equal(ml_writer_report(w, ml_slice_cstr("id2@example.org"), ML_SLICE_NULL, &lr), 0);
	assert_int_equal(ml_writer_report(w, ml_slice_cstr("nobody@example.org"), ML_SLICE_NULL, &lr), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	x = reported(s);
	assert_int_equal(x.n, 1);
	assert_true(x.ids[0] == b.docid);
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	MDB_val v;
	const char *tk = ML_META_TALLY_PFX "skip:rspamd report: message not stored";
	assert_int_equal(ml_meta_get(txn, s, tk, strlen(tk), &v), 0);
	mdb_txn_abort(txn);

	ml_writer_free(w);
	ml_store_close(s);
	ml_message_free(&a);
	ml_message_free(&b);
	tl_rmdir(dir);
}

static char dir[4096], db[4200];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s", tl_tmpdir());
	snprintf(db, sizeof db, "%s/t.db", dir);
	char *err;
	if (tl_mtalog(NULL, &err, "--db %s ingest --quiet --year 2026 --local-domains example.com %s %s", db, STATUSES, LEARN))
		fail_msg("ingest: %s", err);
	free(err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_rmdir(dir);
	return 0;
}

/* `search --status reported --json`: the ids and recipients, one line each. */
static char *reported_rows(const char *dbpath)
{
	char *out, *err;
	if (tl_mtalog(&out, &err, "--db %s search --status reported --json", dbpath))
		fail_msg("search: %s", err);
	free(err);
	ml_buf_t b = ML_BUF_INIT;
	char *save = NULL;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *j = json_loads(l, 0, &je);
		assert_non_null(j);
		assert_true(json_is_true(json_object_get(j, "reported")));
		ml_buf_printf(&b, "%s %s %s\n", json_string_value(json_object_get(j, "id")),
		              json_string_value(json_object_get(j, "message_id")), json_string_value(json_object_get(j, "to")));
		json_decref(j);
	}
	free(out);
	return (char *)ml_buf_cstr(&b);
}

static json_t *show_json(const char *id)
{
	char *out, *err;
	if (tl_mtalog(&out, &err, "--db %s show --json %s", db, id))
		fail_msg("show: %s", err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	assert_non_null(j);
	free(out);
	free(err);
	return j;
}

/* The command: learning lines ingested mark their messages; a person's
 * report; the filter, the rows, show; kept by reindex and reparse; gone
 * with prune. */
static void command(void **state)
{
	(void)state;
	char *rows = reported_rows(db);
	assert_int_equal(tl_count_lines(rows), 2);
	assert_non_null(strstr(rows, " m1@sender.example bob@example.com\n"));
	assert_non_null(strstr(rows, " m8@example.org judy@example.com\n"));
	/* the other rows are not reported; statuses are as they were */
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --status delivered --json", db), 0);
	assert_int_equal(tl_count_lines(out), 5);
	size_t n = 0;
	for (const char *p = out; (p = strstr(p, "\"reported\":true")); p++)
		n++;
	assert_int_equal(n, 2);
	free(out); free(err);
	/* with another status: a union; with a recipient: an AND */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --status reported,bounced --json", db), 0);
	assert_int_equal(tl_count_lines(out), 3);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --status reported --to @example.com --json", db), 0);
	assert_int_equal(tl_count_lines(out), 2);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --status reported --to judy@example.com", db), 0);
	assert_non_null(strstr(out, "delivered (released, reported)"));
	free(out); free(err);

	/* show: the report, its time from the line, no one named */
	char id[32];
	snprintf(id, sizeof id, "%.*s", (int)strcspn(rows, " "), rows);
	const char *l1 = strstr(rows, "m1@sender.example");
	const char *start = l1;
	while (start > rows && start[-1] != '\n')
		start--;
	char id1[32];
	snprintf(id1, sizeof id1, "%.*s", (int)strcspn(start, " "), start);
	json_t *j = show_json(id1);
	json_t *rep = json_object_get(j, "reports");
	assert_int_equal(json_array_size(rep), 1);
	json_t *r0 = json_array_get(rep, 0);
	assert_true(json_is_null(json_object_get(r0, "by")));
	assert_string_equal(json_string_value(json_object_get(r0, "at")), "2026-12-04T02:01:55Z");
	assert_string_equal(json_string_value(json_object_get(r0, "source")), "rspamd");
	assert_string_equal(json_string_value(json_object_get(r0, "kind")), "spam");
	json_decref(j);

	/* a person's report: recorded with who and when; again: nothing more */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s report %s --reason phishing --by bob", db, id1), 0);
	assert_non_null(strstr(out, "reported as phishing by bob"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s report %s --reason phishing --by bob", db, id1), 0);
	assert_non_null(strstr(out, "already"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s report 12345", db), 1);
	assert_non_null(strstr(err, "no message 12345"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s report %s --reason ham", db, id1), 1);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s show %s", db, id1), 0);
	assert_non_null(strstr(out, "as spam, 2026-12-04 02:01:55 (rspamd)"));
	assert_non_null(strstr(out, "as phishing by bob, "));
	free(out); free(err);
	/* a third message, reported by the command only */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s search --json --status bounced", db), 0);
	json_error_t je;
	json_t *bj = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
	char id3[32];
	snprintf(id3, sizeof id3, "%s", json_string_value(json_object_get(bj, "id")));
	json_decref(bj);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s report %s", db, id3), 0);
	free(out); free(err);
	char *before = reported_rows(db);
	assert_int_equal(tl_count_lines(before), 3);
	/* stats: every report (two of rspamd's, bob's, the third message's) */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db), 0);
	json_t *st = json_loads(out, 0, &je);
	assert_int_equal(json_integer_value(json_object_get(st, "reports")), 4);
	json_decref(st);
	free(out); free(err);
	json_t *shown = show_json(id1);
	json_t *reports_before = json_incref(json_object_get(shown, "reports"));
	json_decref(shown);

	/* reindex, reparse and compact keep every report */
	static const char *const rebuilds[] = { "reindex --quiet", "reindex --reparse --quiet", "compact --quiet" };
	for (size_t i = 0; i < ML_ARRAY_LEN(rebuilds); i++) {
		assert_int_equal(tl_mtalog(&out, &err, "--db %s %s", db, rebuilds[i]), 0);
		free(out); free(err);
		char *after = reported_rows(db);
		assert_string_equal(after, before);
		free(after);
		json_t *sj = show_json(id1);
		assert_true(json_equal(json_object_get(sj, "reports"), reports_before));
		json_decref(sj);
	}
	/* prune: the messages go, and their reports with them */
	assert_int_equal(tl_mtalog(&out, &err, "--db %s dump --postings", db), 0);
	assert_non_null(strstr(out, ":reported\t"));
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s prune --older-than 2026-03-04 --quiet", db), 0);
	free(out); free(err);
	char *after = reported_rows(db);
	assert_string_equal(after, "");
	free(after);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s dump --postings", db), 0);
	assert_null(strstr(out, ":reported\t"));
	free(out); free(err);
	json_decref(reports_before);
	free(before);
	free(rows);
}

/* A learning line before its message is ingested: tallied, not kept. */
static void learn_before_message(void **state)
{
	(void)state;
	char db2[4300], *out, *err;
	snprintf(db2, sizeof db2, "%s/first.db", dir);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --year 2026 %s", db2, LEARN), 0);
	free(out); free(err);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s ingest --quiet --year 2026 %s", db2, STATUSES), 0);
	free(out); free(err);
	char *rows = reported_rows(db2);
	assert_string_equal(rows, "");
	free(rows);
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", db2), 0);
	assert_non_null(strstr(out, "rspamd report: message not stored"));
	free(out); free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(learn_lines),
		cmocka_unit_test(table_and_posting),
		cmocka_unit_test(command),
		cmocka_unit_test(learn_before_message),
	};
	return TL_RUN_DEFAULT("reports", tests, setup, teardown);
}
