#include "report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/learn.h"
#include "index/record.h"
#include "index/reports.h"
#include "tools/output.h"

int ml_report_of_event(const ml_syslog_t *h, const ml_event_t *ev, ml_report_t *r)
{
	memset(r, 0, sizeof *r);
	r->at_us = h->time_us > 0 ? h->time_us : 0;
	r->source = ml_report_source_parse(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0);
	r->kind = ml_report_kind_parse(ev->verdict.p ? ev->verdict.p : "", ev->verdict.n);
	size_t bn = ML_MIN(ev->sasl_user.n, (size_t)ML_REPORT_BY_MAX);
	if (bn)
		memcpy(r->by, ev->sasl_user.p, bn);
	return r->source && r->kind ? ML_OK : ML_EINVAL;
}

int ml_ingest_report(ml_writer_t *w, const ml_syslog_t *h, const ml_event_t *ev)
{
	ml_report_t r;
	int rc = ml_report_of_event(h, ev, &r);
	return rc ? rc : ml_writer_report(w, ev->msgid, ev->qid, &r);
}

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int report_once(ml_store_t *s, const ml_report_t *r, int *added)
{
	MDB_txn *txn;
	int rc = ml_store_write_begin(s, &txn);
	if (rc)
		return rc;
	MDB_val v;
	ml_strtab_t tab = ML_STRTAB_INIT;
	ml_message_t m;
	ml_message_init(&m);
	rc = ml_store_row_get(txn, s, r->docid, &v, NULL);
	if (!rc)
		rc = ml_store_strtab(txn, s, &tab);
	if (!rc)
		rc = ml_row_decode(&tab, v.mv_data, v.mv_size, r->docid, &m);
	if (!rc)
		rc = ml_reports_add(txn, s, r, &m, added);
	if (!rc)
		rc = ml_store_errcode(mdb_txn_commit(txn));
	else
		mdb_txn_abort(txn);
	ml_message_free(&m);
	ml_strtab_free(&tab);
	return rc;
}

int ml_report_message(ml_store_t *s, uint64_t docid, int kind, int source, const char *by, int64_t at_us,
                      int *added, char *err, size_t errlen)
{
	ml_report_t r;
	memset(&r, 0, sizeof r);
	r.docid = docid;
	r.at_us = at_us ? at_us : now_us();
	r.kind = kind;
	r.source = source;
	if (strlen(by) > ML_REPORT_BY_MAX) {
		snprintf(err, errlen, "by: longer than %d bytes", ML_REPORT_BY_MAX);
		return ML_EINVAL;
	}
	snprintf(r.by, sizeof r.by, "%s", by);
	int rc;
	for (int tries = 0;; tries++) {
		rc = report_once(s, &r, added);
		if (rc != ML_EFULL || tries == 3)
			break;
		if ((rc = ml_store_grow(s)))
			break;
	}
	if (rc == ML_ENOTFOUND)
		snprintf(err, errlen, "no message %llu in %s", (unsigned long long)docid, s->path);
	else if (rc)
		snprintf(err, errlen, "%s: %s%s", s->path, ml_strerror(rc),
		         rc == ML_EFULL || rc == ML_EIO ? " (is the disk full?)" : "");
	return rc;
}

int ml_message_add_reports(json_t *j, ml_search_t *se, uint64_t docid)
{
	ml_report_t *v;
	size_t n;
	int rc = ml_search_reports(se, docid, &v, &n);
	if (rc)
		return rc;
	json_t *arr = json_array();   /* [] when none: the field is always there */
	for (size_t i = 0; i < n; i++) {
		char t[40];
		ml_time_format(v[i].at_us, t, sizeof t);
		json_t *o = json_object();
		ml_buf_t b = ML_BUF_INIT;
		ml_utf8_sanitize(&b, v[i].by, strlen(v[i].by));
		json_object_set_new(o, "by", v[i].by[0] ? json_stringn(b.data, b.len) : json_null());
		ml_buf_free(&b);
		json_object_set_new(o, "at", json_string(t));
		json_object_set_new(o, "source", json_string(ml_report_source_name(v[i].source)));
		json_object_set_new(o, "kind", json_string(ml_report_kind_name(v[i].kind)));
		json_array_append_new(arr, o);
	}
	free(v);
	json_object_set_new(j, "reports", arr);
	return ML_OK;
}

int ml_report_cmd(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, 0, 'r' }, { "by", required_argument, 0, 'b' },
		{ "quiet", no_argument, 0, 'q' }, { 0, 0, 0, 0 },
	};
	int c, quiet = 0, kind = ML_REPORT_SPAM;
	const char *by = "";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r') {
			kind = ml_report_kind_parse(optarg, strlen(optarg));
			if (!kind) {
				fprintf(stderr, "mtalog report: --reason: '%s' is not spam or phishing\n", optarg);
				return 1;
			}
		} else if (c == 'b') {
			by = optarg;
		} else if (c == 'q') {
			quiet = 1;
		} else {
			return 1;
		}
	}
	uint64_t docid;
	if (optind + 1 != argc || ml_docid_parse(argv[optind], &docid)) {
		fprintf(stderr, "mtalog report: give the id of one message (the id column of search)\n");
		return 1;
	}
	char err[512];
	ml_store_t *s;
	int rc = ml_store_open(&s, db, 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "mtalog report: %s\n", err);
		return 2;
	}
	int added = 0;
	rc = ml_report_message(s, docid, kind, ML_REPORT_SRC_USER, by, 0, &added, err, sizeof err);
	ml_store_close(s);
	if (rc) {
		fprintf(stderr, "mtalog report: %s\n", err);
		return rc == ML_ENOTFOUND || rc == ML_EINVAL ? 1 : 2;
	}
	if (!quiet)
		printf("message %s reported as %s%s%s%s\n", argv[optind], ml_report_kind_name(kind), by[0] ? " by " : "",
		       by, added ? "" : " (already so reported)");
	return 0;
}
