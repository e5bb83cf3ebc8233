/*
 * query.h — a search: an AND of filters over rows (message × recipient),
 * answered newest first from the postings, at most ML_QUERY_MAX_LIMIT rows.
 *
 * ml_query_t holds the filters as the user gave them (strings are owned by
 * the query, freed by ml_query_free).  ml_query_set() parses one named
 * parameter — the same names for the command line (--to), the JSON API
 * (?to=) and tests — and reports a bad value with the parameter's name.
 *
 * Plan: each indexed filter becomes a spec: the term keys whose union is
 * the filter (one key; the statuses of a group, with 'S' "released" and 'S'
 * "reported" (index/reports.h) for those marks; every key under an address
 * prefix or a subject word prefix, "invoic*"); a status together with a
 * recipient domain or address uses the row-level 'X' keys (index/tokens.h);
 * a subject regex adds the literals it needs in the subject's words
 * (index/relit.h: "^Re: meeting" needs words that start with "re" and
 * "meeting"), each the union of the words under its forms, and for a
 * literal after \b alone ("\binvoice\s+\d") also the words of the day that
 * may hold it after a letter outside ASCII (only when no other filter is
 * indexed: that costs a walk of the day's subject words); the regex is still
 * matched on every subject found.  The day buckets of the time range are
 * walked newest first; in each, every spec becomes a postings iterator (the
 * docids of its keys in that bucket: index/postings.h), the iterators are
 * ordered by their counts and intersected by leapfrog seeking from the newest
 * docid down.  Each surviving docid's row record is decoded (plain bytes, no
 * decompression: index/record.h) and every row checked against every filter
 * (row level: recipient and status; message level: the rest, plus the phrase
 * and regex checks on the subject).  The walk stops at the limit.  Without
 * any indexed filter the rows are scanned newest first within the time range
 * (info->scanned).  The docids found are fetched and decoded in batches, on
 * two threads when the batch is large, the process runs no other search and
 * the machine has a second core; rows are emitted in order all the same
 * (index/query.c, "rows in batches").
 *
 * A search's work is bounded: a deadline and a stop callback in the query
 * (serve: the request's time budget, the client gone, the server stopping)
 * end it between batches, with the rows found so far, info->stopped and the
 * docid to go on from; a subject regex gives up on a subject after
 * ML_QUERY_RE_MATCH_LIMIT steps (info->re_limited).
 *
 * Rows are handed to a callback as (message, row index; -1 for the one
 * implicit row of a message without recipients).  The message is valid only
 * during the call.
 */
#ifndef ML_QUERY_H
#define ML_QUERY_H

#include <stdint.h>

#include "engine/message.h"
#include "index/reports.h"
#include "index/rowsum.h"
#include "index/store.h"

#define ML_QUERY_MAX_LIMIT 1000u
#define ML_QUERY_WORD_PREFIX_MAX 256u
#define ML_QUERY_RELEASED (1u << 31)   /* status_mask bit: the "released" group */
#define ML_QUERY_REPORTED (1u << 30)   /* status_mask bit: "reported" (index/reports.h): the
                                          rows of messages a recipient reported, whatever
                                          their status */

typedef struct {
	char *from, *to;        /* address, @domain, domain, prefix* ; "<>" the null sender */
	char *subject;          /* words, "quoted phrases", and word prefixes: invoic* (outside
	                           quotes) is a subject word that starts with "invoic"; the
	                           index's words under it, at most ML_QUERY_WORD_PREFIX_MAX
	                           a day (more: checked on the records, info->prefix_capped) */
	char *subject_re;       /* PCRE2, case-insensitive, UTF-8 */
	int re_scan;            /* the regex's literals not looked up in the index: every
	                           subject the other filters select is matched (the tests
	                           compare the two) */
	uint32_t status_mask;   /* 1u << ml_status_t, ML_QUERY_RELEASED, ML_QUERY_REPORTED */
	int direction;          /* ml_direction_t, 0 = any */
	int64_t since_us, until_us;  /* inclusive; 0 = open; until_us < 0: before 1970, no row */
	char *msgid, *ip, *host, *queue_id;
	unsigned limit;         /* 1..ML_QUERY_MAX_LIMIT; 0 means the maximum */
	uint64_t before_docid;  /* continue below this docid (cursor); 0 = from the newest */
	uint32_t before_row;    /* with before_docid = D + 1: the rows of message D whose index is
	                           below this were given already; skipped, not counted */
	int unlimited;          /* a counting walk (totals, histograms): no limit; the callback
	                           sees every row to the end, or the budget's */
	int counts_only;        /* the callback looks at no string of the message (a count by
	                           status and time): records are decoded only as far as the
	                           filters need (ml_row_decode_some) */
	int handed_on;          /* also the rows handed on to a content filter (which searches
	                           hide: their fate is the next hop's); for chain lookups */
	/* With nvisible > 0: only messages whose sender, a recipient or an
	 * original recipient is one of these (name@domain, or @domain): one
	 * more spec of the plan, so that a search costs what the messages of
	 * these addresses cost (serve: a user who sees their own rows).  Not
	 * owned by the query. */
	char *const *visible;
	size_t nvisible;
	/* Bounds on the work, not filters: the search stops at the deadline
	 * (CLOCK_MONOTONIC, ns; 0 = none) or when stop(stop_ctx) returns
	 * non-zero (polled between batches, at most every few milliseconds),
	 * and answers with the rows found so far (info->stopped). */
	uint64_t deadline_ns;
	int (*stop)(void *ctx);
	void *stop_ctx;
} ml_query_t;

/* A subject_re match gives up on one subject after this many steps of
 * PCRE2 (its match limit; the default is 10,000,000): a pattern that
 * backtracks without end costs a bounded time a row. */
#define ML_QUERY_RE_MATCH_LIMIT 200000u
#define ML_QUERY_RE_DEPTH_LIMIT 10000u

/* Parameter names ml_query_set knows, NULL-terminated. */
extern const char *const ml_query_params[];

/* Set one parameter from its text.  ML_EINVAL with a message naming the
 * parameter in err when the value is bad; ML_ENOTFOUND for an unknown name. */
int ml_query_set(ml_query_t *q, const char *name, const char *value, char *err, size_t errlen);
void ml_query_free(ml_query_t *q);

typedef struct {
	unsigned rows;
	int truncated;          /* more rows matched than the limit */
	uint64_t last_docid;    /* docid of the last row returned (for a cursor) */
	uint64_t decoded;       /* records decoded */
	uint64_t helped;        /* of them, fetched and decoded by the second thread */
	int scanned;            /* 1 when no index could be used */
	int stopped;            /* ML_SEARCH_DEADLINE or ML_SEARCH_CANCELLED: the answer holds
	                           the rows found before; 0: the search went to its end */
	uint64_t resume_docid;  /* when stopped: every docid at or above it was examined; a
	                           search with before_docid = resume_docid goes on from there */
	uint64_t re_limited;    /* subjects the regex gave up on (its match limit): taken as
	                           not matching, so rows may be missing */
	int prefix_capped;      /* a prefix (an address's, a subject word's "invoic*") stood for
	                           more terms than a search walks in the index (in some day):
	                           it was checked on the records of the other filters'
	                           candidates instead (the answer is the same; it cost more) */
} ml_search_info_t;

#define ML_SEARCH_DEADLINE 1
#define ML_SEARCH_CANCELLED 2

/* "deadline", "cancelled" (info->stopped), or NULL. */
const char *ml_search_stopped_name(int stopped);
/* The time now on the clock of deadline_ns. */
uint64_t ml_search_clock_ns(void);

typedef struct ml_search ml_search_t;

/* A row: message m, row index (-1: the implicit row). Return non-zero to stop. */
typedef int (*ml_row_fn)(void *ctx, const ml_message_t *m, int row);

int ml_search_new(ml_search_t **out, ml_store_t *s);
void ml_search_free(ml_search_t *se);
/* The database se reads. */
ml_store_t *ml_search_store(const ml_search_t *se);
/* The message still in flight under (host, queue ID), whole (row and raw
 * lines), from a snapshot of its own: what ml_writer_open_lookup finds, for
 * a reader beside the writer.  ML_ENOTFOUND when none. */
int ml_search_open_lookup(ml_search_t *se, ml_slice_t host, ml_slice_t qid, ml_message_t *m);
/* As ml_writer_get and ml_writer_find (index/writer.h), from a snapshot of
 * their own. */
int ml_search_get_row(ml_search_t *se, uint64_t docid, int lines, ml_message_t *m);
int ml_search_find(ml_search_t *se, const char *key, size_t n, int64_t since_us, int64_t until_us,
                   uint64_t *ids, size_t cap, size_t *count);
/* Run q in one read snapshot. err gets a message on failure (bad regex, ...). */
int ml_search_run(ml_search_t *se, const ml_query_t *q, ml_row_fn fn, void *ctx,
                  ml_search_info_t *info, char *err, size_t errlen);
/* A message's summary (index/rowsum.h): its rows by status, valid during
 * the call.  Return non-zero to stop. */
typedef int (*ml_rowsum_fn)(void *ctx, const ml_rowsum_t *r);
/* The messages q matches, as summaries instead of rows (to count them
 * without decoding a record: tools/histogram.h), newest first, in one read
 * snapshot: the plan's docids walked as ml_search_run walks them, each
 * message's summary handed over whole (the caller picks the rows of the
 * statuses it asked for: ml_rowsum_match), info->rows the messages.  Only
 * for a query whose every filter but the statuses the postings answer
 * exactly (message-level: sender, subject words and prefixes, direction,
 * ip, host, time range, visible); ML_ENOTFOUND, and nothing counted that
 * the caller should keep, when q has another (a recipient, a phrase, a
 * regex, a message-id or queue ID, "reported", handed-on rows, a prefix
 * too broad in some day) or the table rowsum is not complete.  The budget
 * of q applies (info->stopped). */
int ml_search_rowsums(ml_search_t *se, const ml_query_t *q, ml_rowsum_fn fn, void *ctx, ml_search_info_t *info,
                      char *err, size_t errlen);
/* One message by docid (a fresh snapshot). ML_ENOTFOUND when absent. */
int ml_search_get(ml_search_t *se, uint64_t docid, ml_message_t *m);
/* The reports of docid, oldest first (a fresh snapshot): *out malloc'd (NULL
 * when none), *n of them. */
int ml_search_reports(ml_search_t *se, uint64_t docid, ml_report_t **out, size_t *n);

/* Every message in docid order (oldest first), in one snapshot. */
int ml_search_each(ml_search_t *se, int (*fn)(void *ctx, const ml_message_t *m), void *ctx);
/* Every posting (term key, day bucket, docid) in key order, in one snapshot. */
int ml_search_each_posting(ml_search_t *se,
                           int (*fn)(void *ctx, const char *key, size_t n, uint32_t bucket, uint64_t docid),
                           void *ctx);

/*
 * A read snapshot held open for a batch job (reparse, upgrade checks): rows
 * decoded from it, whole messages on demand.  Messages handed to callbacks
 * are valid only during the call.
 */
typedef struct ml_snap ml_snap_t;
int ml_snap_open(ml_snap_t **out, ml_store_t *s);
void ml_snap_close(ml_snap_t *sn);
/* Messages stored in the snapshot. */
uint64_t ml_snap_count(ml_snap_t *sn);
/* Every row, oldest first (no raw lines); fn gets the row record's size. */
int ml_snap_each_row(ml_snap_t *sn, int (*fn)(void *ctx, const ml_message_t *m, size_t bytes), void *ctx);
/* One message whole (row and raw lines).  ML_ECORRUPT when absent. */
int ml_snap_get(ml_snap_t *sn, uint64_t docid, ml_message_t *m);
/* The first message at or after docid, whole.  ML_ENOTFOUND past the last. */
int ml_snap_get_from(ml_snap_t *sn, uint64_t docid, ml_message_t *m);
/* The docids stored: oldest and newest (0 when none). */
int ml_snap_range(ml_snap_t *sn, uint64_t *first, uint64_t *last);

/* Does address `a` match pattern p (address / @domain / domain / prefix*)? */
int ml_addr_match(const char *p, ml_slice_t a);

#endif
