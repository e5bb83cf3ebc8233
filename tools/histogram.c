#include "histogram.h"

#include <stdlib.h>
#include <string.h>

#include "engine/syslog.h"
#include "index/counts.h"
#include "index/store.h"

typedef struct {
	ml_hist_t *h;
	ml_hist_filter_fn filter;
	void *fctx;
} walk_t;

/* The counts of the hour of docid (rows come newest first); NULL when it
 * is too old to keep (counted in the total alone) or on failure
 * (h->failed). */
static uint64_t *hour_of(ml_hist_t *h, uint64_t docid)
{
	uint64_t hour = ml_docid_sec(docid) / 3600;
	if (!h->nhours) {
		h->newest_hour = hour;
	}
	if (hour > h->newest_hour)   /* rows come newest first: never */
		hour = h->newest_hour;
	uint64_t i = h->newest_hour - hour;
	if (i >= ML_HIST_MAX_HOURS)
		return NULL;
	if (i >= h->nhours) {
		if (ml_array_grow((void **)&h->hours, &h->cap, sizeof *h->hours, (size_t)i + 1, 256)) {
			h->failed = 1;
			return NULL;
		}
		memset(h->hours + h->nhours, 0, (size_t)(i + 1 - h->nhours) * sizeof *h->hours);
		h->nhours = i + 1;
	}
	return h->hours[i];
}

static int count_row(void *ctx, const ml_message_t *m, int row)
{
	walk_t *w = ctx;
	ml_hist_t *h = w->h;
	if (w->filter && !w->filter(w->fctx, m, row))
		return 0;
	h->total++;
	uint64_t *n = hour_of(h, m->docid);
	const ml_rcpt_t *r = row >= 0 ? &m->rcpts[row] : NULL;
	if (n)
		n[ml_message_row_status(m, r)]++;
	return h->failed;
}

/* q to its end: no limit, no cursor (shares q's strings; not freed). */
static ml_query_t to_the_end(const ml_query_t *q)
{
	ml_query_t cq = *q;
	cq.unlimited = 1;
	cq.limit = 0;
	cq.before_docid = 0;
	cq.before_row = 0;
	return cq;
}

/* The counting walk: the search run to its end. */
static int walk(ml_hist_t *h, ml_search_t *se, const ml_query_t *q, ml_hist_filter_fn filter, void *fctx,
                char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	ml_query_t cq = to_the_end(q);
	cq.counts_only = filter == NULL;   /* count_row reads the row's status alone */
	walk_t w = { h, filter, fctx };
	ml_search_info_t info;
	int rc = ml_search_run(se, &cq, count_row, &w, &info, err, errlen);
	if (!rc && h->failed)
		rc = ML_ENOMEM;
	h->stopped = info.stopped;
	h->complete = !rc && !info.stopped;
	return rc;
}

/* ---- the same from the messages' summaries (index/rowsum.h) ---- */

typedef struct {
	ml_hist_t *h;
	uint32_t status_mask;
} sums_t;

static int count_summary(void *ctx, const ml_rowsum_t *r)
{
	sums_t *sc = ctx;
	ml_hist_t *h = sc->h;
	uint64_t n[ML_ST__COUNT], sum = 0;
	ml_rowsum_match(r, sc->status_mask, n);
	for (int st = 1; st < ML_ST__COUNT; st++)
		sum += n[st];
	if (!sum)
		return 0;   /* no row of the message handed over */
	h->total += sum;
	uint64_t *hn = hour_of(h, r->docid);
	for (int st = 1; st < ML_ST__COUNT && hn; st++)
		hn[st] += n[st];
	return h->failed;
}

/* The histogram of q from the postings and the summaries (ml_search_rowsums):
 * ML_ENOTFOUND, nothing kept, when q has a filter they do not answer. */
static int from_rowsums(ml_hist_t *h, ml_search_t *se, const ml_query_t *q, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	ml_query_t cq = to_the_end(q);
	sums_t sc = { h, q->status_mask };
	ml_search_info_t info;
	int rc = ml_search_rowsums(se, &cq, count_summary, &sc, &info, err, errlen);
	if (rc == ML_ENOTFOUND)
		return rc;
	if (!rc && h->failed)
		rc = ML_ENOMEM;
	h->from_rowsum = 1;
	h->stopped = info.stopped;
	h->complete = !rc && !info.stopped;
	return rc;
}

/* ---- the same from the table counts (index/counts.h) ---- */

/* A query the table answers: all rows or one recipient domain, some
 * statuses and maybe the group "released", seconds lo .. hi of the docids
 * (inclusive). */
typedef struct {
	const char *domain;      /* NULL: all rows */
	int direction;           /* ml_direction_t; 0: any (not with a domain or released) */
	const char *prefix;      /* a recipient prefix of prefix_n bytes (not with the others) */
	size_t prefix_n;
	uint32_t mask;           /* 1u << status; 0: every status (unless released) */
	int released;            /* and every row of a released message */
	uint64_t lo, hi;
} plain_t;

/* Does the table answer q the way the walk would?  Only when q is no more
 * than an exact recipient domain, a direction or a recipient prefix of one
 * or two characters (`j*`), statuses (the group "released" too, with a
 * domain or nothing; not the mark "reported": reports are joined to stored
 * rows without putting them again) and a time range, and no caller's
 * filter hides rows. */
static int plain_query(const ml_query_t *q, ml_hist_filter_fn filter, plain_t *pl)
{
	const uint32_t statuses = ((1u << ML_ST__COUNT) - 1) & ~1u;
	if (filter || q->from || q->subject || q->subject_re || q->msgid || q->ip || q->host || q->queue_id ||
	    q->handed_on || q->nvisible || q->until_us < 0 ||
	    (q->status_mask & ~(statuses | ML_QUERY_RELEASED)))
		return 0;
	pl->domain = pl->prefix = NULL;
	pl->prefix_n = 0;
	size_t n = q->to ? strlen(q->to) : 0;
	if (n >= 2 && n - 1 <= ML_COUNTS_PREFIX_MAX && q->to[n - 1] == '*' && q->to[0] != '@') {
		/* "j*", "jo*": the rows whose to= or orig_to= starts with it */
		pl->prefix = q->to;
		pl->prefix_n = n - 1;
	} else if (q->to) {
		/* "@example.org" or "example.org", as ml_addr_match takes them;
		 * not an address, a longer prefix or the null sender's "<>" */
		const char *d = q->to[0] == '@' ? q->to + 1 : q->to;
		if (!n || q->to[n - 1] == '*' || !strcmp(q->to, "<>") || !*d || strchr(d, '@') ||
		    strlen(d) > ML_COUNTS_DOMAIN_MAX)
			return 0;
		pl->domain = d;
	}
	pl->mask = q->status_mask & statuses;
	pl->released = (q->status_mask & ML_QUERY_RELEASED) != 0;
	pl->direction = q->direction;
	if ((pl->direction || pl->prefix) && (pl->domain || pl->released || (pl->direction && pl->prefix)))
		return 0;
	pl->lo = q->since_us > 0 ? (uint64_t)(q->since_us / 1000000) : 0;
	pl->hi = q->until_us > 0 ? (uint64_t)(q->until_us / 1000000) : UINT64_MAX;
	return 1;
}

/* Hours with rows, oldest first, the statuses of the query only. */
typedef struct {
	struct hour_s { uint64_t hour, n[ML_ST__COUNT]; } *v;
	size_t n, cap;
	uint32_t mask;
} hours_t;

static int hours_add(void *ctx, uint64_t hour, const uint64_t n[ML_ST__COUNT])
{
	hours_t *l = ctx;
	uint64_t sum = 0, keep[ML_ST__COUNT] = { 0 };
	for (int st = 1; st < ML_ST__COUNT; st++)
		if (!l->mask || (l->mask & (1u << st)))
			sum += keep[st] = n[st];
	if (!sum)
		return 0;
	if (ml_array_grow((void **)&l->v, &l->cap, sizeof *l->v, l->n + 1, 64))
		return ML_ENOMEM;
	l->v[l->n].hour = hour;
	memcpy(l->v[l->n++].n, keep, sizeof keep);
	return 0;
}

/* The hours of a and b (oldest first) added to l, an hour's counts in both summed. */
static int hours_merge(hours_t *l, const hours_t *a, const hours_t *b)
{
	size_t i = 0, j = 0;
	int rc = 0;
	while (!rc && (i < a->n || j < b->n)) {
		uint64_t ha = i < a->n ? a->v[i].hour : UINT64_MAX, hb = j < b->n ? b->v[j].hour : UINT64_MAX;
		uint64_t hour = ML_MIN(ha, hb), n[ML_ST__COUNT];
		for (int st = 0; st < ML_ST__COUNT; st++)
			n[st] = (ha == hour ? a->v[i].n[st] : 0) + (hb == hour ? b->v[j].n[st] : 0);
		i += ha == hour;
		j += hb == hour;
		rc = hours_add(l, hour, n);
	}
	return rc;
}

/* The walk over seconds lo .. hi (part of one hour), its hours added to l. */
static int walk_part(ml_hist_t *h, hours_t *l, ml_search_t *se, const ml_query_t *q, uint64_t lo, uint64_t hi,
                     char *err, size_t errlen)
{
	ml_query_t cq = *q;
	ml_hist_t part;
	/* until is inclusive to the microsecond (never 0, "open"); seconds
	 * past what the microseconds of an int64_t hold are none's */
	const uint64_t max_sec = (uint64_t)INT64_MAX / 1000000 - 1;
	cq.since_us = (int64_t)(ML_MIN(lo, max_sec) * 1000000);
	cq.until_us = (int64_t)(ML_MIN(hi, max_sec) * 1000000 + 999999);
	int rc = walk(&part, se, &cq, NULL, NULL, err, errlen);
	for (uint64_t i = part.nhours; i-- > 0 && !rc;)
		rc = hours_add(l, part.newest_hour - i, part.hours[i]);
	if (!part.complete && !h->stopped)
		h->stopped = part.stopped;
	ml_hist_free(&part);
	return rc;
}

/* h from the hours of l, as count_row would have made it. */
static int hours_fill(ml_hist_t *h, const hours_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (int st = 1; st < ML_ST__COUNT; st++)
			h->total += l->v[i].n[st];
	if (!l->n)
		return ML_OK;
	h->newest_hour = l->v[l->n - 1].hour;
	size_t first = 0;   /* the oldest hour kept: older ones count in the total alone */
	while (h->newest_hour - l->v[first].hour >= ML_HIST_MAX_HOURS)
		first++;
	h->nhours = h->newest_hour - l->v[first].hour + 1;
	if (ml_array_grow((void **)&h->hours, &h->cap, sizeof *h->hours, (size_t)h->nhours, 256))
		return ML_ENOMEM;
	memset(h->hours, 0, (size_t)h->nhours * sizeof *h->hours);
	for (size_t i = first; i < l->n; i++)
		memcpy(h->hours[h->newest_hour - l->v[i].hour], l->v[i].n, sizeof l->v[i].n);
	return ML_OK;
}

/* The histogram of a plain query from the table: its whole hours read
 * there, the part of an hour at either end of the time range walked.
 * ML_ENOTFOUND, nothing done, when the table cannot answer: not complete,
 * or not one whole hour in the range. */
static int from_counts(ml_hist_t *h, ml_search_t *se, const ml_query_t *q, const plain_t *pl, char *err,
                       size_t errlen)
{
	memset(h, 0, sizeof *h);
	uint64_t hlo = pl->lo / 3600, hhi = pl->hi == UINT64_MAX ? UINT64_MAX : pl->hi / 3600;
	int lo_part = pl->lo % 3600 != 0, hi_part = pl->hi != UINT64_MAX && pl->hi % 3600 != 3599;
	if (pl->lo > pl->hi || (hi_part && hhi == 0) || hlo + lo_part > hhi - hi_part)
		return ML_ENOTFOUND;
	/* the rows of the statuses asked for, and with "released" those of
	 * released messages in the other statuses */
	const uint32_t all = ((1u << ML_ST__COUNT) - 1) & ~1u;
	hours_t whole = { NULL, 0, 0, pl->mask }, rel = { NULL, 0, 0, all & ~pl->mask }, l = { NULL, 0, 0, 0 };
	ml_counts_term_t t, trel;
	int rc = ML_OK;
	if (pl->prefix)
		rc = ml_counts_term_prefix(&t, pl->prefix, pl->prefix_n);
	else if (pl->direction)
		rc = ml_counts_term_direction(&t, pl->direction);
	else if (pl->domain)
		rc = ml_counts_term_domain(&t, pl->domain, strlen(pl->domain), 0);
	else
		ml_counts_term_all(&t, 0);
	if (!rc && pl->released && pl->domain)
		rc = ml_counts_term_domain(&trel, pl->domain, strlen(pl->domain), 1);
	else if (!rc && pl->released)
		ml_counts_term_all(&trel, 1);
	if (!rc && (!pl->released || pl->mask))
		rc = ml_counts_read(ml_search_store(se), &t, hlo + lo_part, hhi - hi_part, hours_add, &whole);
	if (!rc && pl->released && rel.mask)
		rc = ml_counts_read(ml_search_store(se), &trel, hlo + lo_part, hhi - hi_part, hours_add, &rel);
	/* oldest first: the part of the first hour, the whole hours, the part of the last */
	if (!rc && lo_part)
		rc = walk_part(h, &l, se, q, pl->lo, hlo * 3600 + 3599, err, errlen);
	if (!rc)
		rc = hours_merge(&l, &whole, &rel);
	if (!rc && hi_part)
		rc = walk_part(h, &l, se, q, hhi * 3600, pl->hi, err, errlen);
	if (!rc)
		rc = hours_fill(h, &l);
	free(whole.v);
	free(rel.v);
	free(l.v);
	if (rc == ML_ENOTFOUND)
		return rc;
	h->from_counts = 1;
	h->complete = !rc && !h->stopped;
	return rc;
}

int ml_hist_run(ml_hist_t *h, ml_search_t *se, const ml_query_t *q, ml_hist_filter_fn filter, void *fctx,
                char *err, size_t errlen)
{
	plain_t pl;
	const char *force = getenv("MTALOG_HIST_WALK");
	if (!(force && *force && strcmp(force, "0")) && plain_query(q, filter, &pl)) {
		int rc = from_counts(h, se, q, &pl, err, errlen);
		if (rc != ML_ENOTFOUND)
			return rc;
		ml_hist_free(h);
	}
	if (!(force && *force && strcmp(force, "0")) && !filter) {
		int rc = from_rowsums(h, se, q, err, errlen);
		if (rc != ML_ENOTFOUND)
			return rc;
		ml_hist_free(h);
	}
	return walk(h, se, q, filter, fctx, err, errlen);
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
