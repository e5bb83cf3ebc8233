#include "histogram.h"

#include <stdlib.h>
#include <string.h>

#include "engine/syslog.h"
#include "index/store.h"

typedef struct {
	ml_hist_t *h;
	ml_hist_filter_fn filter;
	void *fctx;
} walk_t;

static int count_row(void *ctx, const ml_message_t *m, int row)
{
	walk_t *w = ctx;
	ml_hist_t *h = w->h;
	if (w->filter && !w->filter(w->fctx, m, row))
		return 0;
	h->total++;
	uint64_t hour = ml_docid_sec(m->docid) / 3600;
	if (!h->nhours) {
		h->newest_hour = hour;
	}
	if (hour > h->newest_hour)   /* rows come newest first: never */
		hour = h->newest_hour;
	uint64_t i = h->newest_hour - hour;
	if (i >= ML_HIST_MAX_HOURS)
		return 0;
	if (i >= h->nhours) {
		if (ml_array_grow((void **)&h->hours, &h->cap, sizeof *h->hours, (size_t)i + 1, 256)) {
			h->failed = 1;
			return 1;
		}
		memset(h->hours + h->nhours, 0, (size_t)(i + 1 - h->nhours) * sizeof *h->hours);
		h->nhours = i + 1;
	}
	const ml_rcpt_t *r = row >= 0 ? &m->rcpts[row] : NULL;
	h->hours[i][ml_message_row_status(m, r)]++;
	return 0;
}

int ml_hist_run(ml_hist_t *h, ml_search_t *se, const ml_query_t *q, ml_hist_filter_fn filter, void *fctx,
                char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	ml_query_t cq = *q;   /* shares q's strings; not freed here */
	cq.unlimited = 1;
	cq.limit = 0;
	cq.before_docid = 0;
	cq.before_row = 0;
	walk_t w = { h, filter, fctx };
	ml_search_info_t info;
	int rc = ml_search_run(se, &cq, count_row, &w, &info, err, errlen);
	if (!rc && h->failed)
		rc = ML_ENOMEM;
	h->stopped = info.stopped;
	h->complete = !rc && !info.stopped;
	return rc;
}

void ml_hist_free(ml_hist_t *h)
{
	free(h->hours);
	memset(h, 0, sizeof *h);
}

uint64_t ml_hist_bucket_seconds(const ml_hist_t *h)
{
	if (h->nhours <= ML_HIST_MAX_BUCKETS - 1)
		return 3600;
	uint64_t days = (h->nhours + 23) / 24;
	if (days <= ML_HIST_MAX_BUCKETS - 1)
		return 86400;
	return 86400 * ((days + ML_HIST_MAX_BUCKETS - 2) / (ML_HIST_MAX_BUCKETS - 1));
}

/* Buckets oldest first: *n of them, each ML_ST__COUNT counts (malloc'd);
 * *first the start (seconds) of the first. */
static uint64_t (*gather(const ml_hist_t *h, uint64_t bs, size_t *n, uint64_t *first))[ML_ST__COUNT]
{
	*n = 0;
	*first = 0;
	if (!h->nhours)
		return NULL;
	uint64_t hb = bs / 3600;
	uint64_t oldest = h->newest_hour - (h->nhours - 1);
	uint64_t b0 = oldest / hb, b1 = h->newest_hour / hb;
	size_t nb = (size_t)(b1 - b0 + 1);
	uint64_t (*b)[ML_ST__COUNT] = calloc(nb, sizeof *b);
	if (!b)
		return NULL;
	for (uint64_t i = 0; i < h->nhours; i++) {
		uint64_t k = (h->newest_hour - i) / hb - b0;
		for (int st = 0; st < ML_ST__COUNT; st++)
			b[k][st] += h->hours[i][st];
	}
	*n = nb;
	*first = b0 * bs;
	return b;
}

json_t *ml_hist_json(const ml_hist_t *h)
{
	uint64_t bs = ml_hist_bucket_seconds(h), first;
	size_t n;
	uint64_t (*b)[ML_ST__COUNT] = gather(h, bs, &n, &first);
	json_t *j = json_object(), *arr = json_array();
	json_object_set_new(j, "bucket_seconds", json_integer((json_int_t)bs));
	for (size_t i = 0; i < n; i++) {
		char t[40];
		ml_time_format((int64_t)(first + i * bs) * 1000000, t, sizeof t);
		json_t *o = json_object(), *c = json_object();
		json_object_set_new(o, "start", json_string(t));
		for (int st = 1; st < ML_ST__COUNT; st++)
			if (b[i][st])
				json_object_set_new(c, ml_status_name((ml_status_t)st), json_integer((json_int_t)b[i][st]));
		json_object_set_new(o, "counts", c);
		json_array_append_new(arr, o);
	}
	free(b);
	json_object_set_new(j, "buckets", arr);
	json_object_set_new(j, "total", json_integer((json_int_t)h->total));
	if (!h->complete) {
		json_object_set_new(j, "complete", json_false());
		json_object_set_new(j, "stopped", json_string(h->stopped ? ml_search_stopped_name(h->stopped) : "error"));
	}
	return j;
}

void ml_hist_print(FILE *f, const ml_hist_t *h, unsigned width)
{
	uint64_t bs = ml_hist_bucket_seconds(h), first, max = 0;
	size_t n;
	uint64_t (*b)[ML_ST__COUNT] = gather(h, bs, &n, &first);
	for (size_t i = 0; i < n; i++) {
		uint64_t sum = 0;
		for (int st = 1; st < ML_ST__COUNT; st++)
			sum += b[i][st];
		if (sum > max)
			max = sum;
	}
	/* one letter a status, as the bar's fill: d delivered, y delayed, ... */
	static const char mark[ML_ST__COUNT] = { ' ', '#', 'y', 'b', 'e', 'q', 'Q', 'x' };
	fprintf(f, "%-17s %8s  one row a %s; # delivered y delayed b bounced e expired q queued Q quarantined x blocked\n",
	        bs == 3600 ? "HOUR (UTC)" : "DAY (UTC)", "ROWS", bs == 3600 ? "hour" : bs == 86400 ? "day" : "period");
	for (size_t i = 0; i < n; i++) {
		char t[40];
		ml_time_format((int64_t)(first + i * bs) * 1000000, t, sizeof t);
		t[16] = '\0';
		t[10] = ' ';
		uint64_t sum = 0;
		for (int st = 1; st < ML_ST__COUNT; st++)
			sum += b[i][st];
		fprintf(f, "%-17s %8llu  ", bs == 3600 ? t : (t[10] = '\0', t), (unsigned long long)sum);
		/* each status's share of the bar, rounded so that the bar is the row's */
		unsigned len = max ? (unsigned)((sum * width + max - 1) / max) : 0, done = 0;
		uint64_t acc = 0;
		for (int st = 1; st < ML_ST__COUNT; st++) {
			acc += b[i][st];
			unsigned upto = sum ? (unsigned)((acc * len + sum / 2) / sum) : 0;
			for (; done < upto; done++)
				fputc(mark[st], f);
		}
		fputc('\n', f);
	}
	free(b);
	fprintf(f, "%llu row%s%s\n", (unsigned long long)h->total, h->total == 1 ? "" : "s",
	        h->complete ? "" : " at least (the count stopped at the time limit)");
}
