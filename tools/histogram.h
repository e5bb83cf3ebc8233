/*
 * histogram.h — the whole match of a search counted: its rows by time
 * bucket and status, and their total (the "1000 of 23,456" of a page).
 *
 * A counting walk: the search itself (index/query.h) run without a limit
 * (ml_query_t.unlimited), every row it hands over counted unless the
 * caller's filter hides it (serve: a user's rows only), so the counts are
 * those of the rows the search's cursor walks to its end, the same filters,
 * the same rows.  The walk has the query's budget (deadline, stop); stopped
 * early, the counts are those of the rows walked so far (newest first):
 * `complete` is 0 and the total a lower bound.
 *
 * Rows come newest first, so hours only go down: the counts are kept per
 * hour in an array from the newest hour of the walk down to the oldest (a
 * year of hours is 280 KB), then gathered into buckets of an hour, a day or
 * a number of days, whichever keeps them at most ML_HIST_MAX_BUCKETS, each
 * starting at a multiple of its length since the epoch (UTC).  A row's time
 * is its message's (the docid's second), as the search orders rows.
 *
 * From the table counts (index/counts.h) instead, when it is complete and
 * the query is plain: no filter but an exact recipient domain (`@example.org`
 * or `example.org`), statuses (and the group "released"; not the mark
 * "reported"), a time range, and no caller's filter.  The whole hours of the range are
 * read there (a key an hour), the part of an hour at either end of the
 * range is counted by the walk restricted to it; the answer is the walk's,
 * to the byte (from_counts says which answered).  The reads are snapshots
 * of their own: beside a writer, each part is exact at its own instant.
 * Else, when every filter of the query but the statuses is about the message
 * and answered exactly by the postings (sender, subject words and prefixes,
 * direction, ip, host, time range: index/query.h, ml_search_rowsums) and no
 * caller's filter hides rows: the docids the search's plan gives, each
 * message's rows by status read from its summary (index/rowsum.h) instead
 * of its record, bucketed as the walk does (from_rowsum says so).
 * Everything else is the walk.  $MTALOG_HIST_WALK set (not "0") forces the
 * walk, for tests and the benchmark to compare the two.
 */
#ifndef ML_HISTOGRAM_H
#define ML_HISTOGRAM_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "index/query.h"

#define ML_HIST_MAX_BUCKETS 200
#define ML_HIST_MAX_HOURS (24u * 366u * 30u)   /* 30 years: older rows count in the total alone */

typedef struct {
	uint64_t total;          /* rows counted */
	int complete;            /* 1: the walk went to the end (total exact) */
	int stopped;             /* ML_SEARCH_DEADLINE / ML_SEARCH_CANCELLED when not complete */
	uint64_t newest_hour;    /* hour (since the epoch) of hours[0] */
	uint64_t nhours;         /* hours[0 .. nhours): newest_hour - i */
	uint64_t (*hours)[ML_ST__COUNT];
	size_t cap;
	int failed;
	int from_counts;         /* 1: answered from the table counts (see above) */
	int from_rowsum;         /* 1: answered from the postings and the summaries (see above) */
} ml_hist_t;

/* Is row `row` of m counted?  NULL: every row. */
typedef int (*ml_hist_filter_fn)(void *ctx, const ml_message_t *m, int row);

/* Count the rows of q (copied: its limit and cursor are not used) with
 * search object se.  err gets one line on error (a bad regex: ML_EINVAL). */
int ml_hist_run(ml_hist_t *h, ml_search_t *se, const ml_query_t *q, ml_hist_filter_fn filter, void *fctx,
                char *err, size_t errlen);
void ml_hist_free(ml_hist_t *h);

/* The bucket length the rows counted call for (3600, 86400 or a multiple). */
uint64_t ml_hist_bucket_seconds(const ml_hist_t *h);
/* {"bucket_seconds": N, "buckets": [{"start": RFC 3339, "counts": {status: n}}],
 *  "total": n}, oldest bucket first, every bucket between the oldest and the
 * newest row's (empty ones with "counts": {}); "complete": false and
 * "stopped" added when the walk did not end. */
json_t *ml_hist_json(const ml_hist_t *h);
/* The same as a text bar chart for a terminal (width columns of bars). */
void ml_hist_print(FILE *f, const ml_hist_t *h, unsigned width);

#endif
