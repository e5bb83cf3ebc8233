/*
 * page.h — the rows a user may see, and a search cut into pages: what
 * `serve` answers and what a cluster's shard answers the coordinator
 * (tools/coord.h), one implementation for both.
 *
 * Visibility.  NULL (no --users) and an admin see every row; a user
 * (tools/auth.h) the rows whose sender, recipient or original recipient is
 * one of their addresses.  A message none of whose rows they may see does
 * not exist for them; one they see some rows of only (a recipient, not the
 * sender) is redacted: their recipients only, the events and lines naming
 * no other recipient, no chain.
 *
 * Cursor.  Rows come as whole messages, newest docid first, and a message's
 * rows in recipient order.  The cursor names the last row returned: "D" when
 * that row was its message's last (the next page starts below docid D), or
 * "D.K" when the message had more rows (the next page is the search again
 * from docid D inclusive, skipping that message's rows with index < K).  So
 * a message whose rows straddle the page boundary is neither cut nor
 * repeated.  For a user who sees some rows only, K is the next row of D they
 * may see (D when there is none): a cursor names only messages and rows of
 * theirs.
 *
 * A page (ml_page_t) collects up to `limit` visible rows as JSON text or
 * through a CSV writer; the cursor follows the last row the search handed
 * over (last_*), whether it was given or hidden from the user: the hidden
 * rows are passed, never given later, so the pages have no gaps and no
 * repeats.  ml_page_fill runs the search (for a user, again after the last
 * row seen until the page is full, at most ML_PAGE_USER_PASSES times).
 * The caller owns the page's buffers (ml_page_free) and its query.
 */
#ifndef ML_PAGE_H
#define ML_PAGE_H

#include <jansson.h>
#include <stdint.h>

#include "index/query.h"
#include "tools/auth.h"
#include "tools/output.h"

/* A page cursor: docid of the last row's message and the number of its
 * rows already returned (0: all of them).  Parse returns ML_EINVAL on
 * anything else. */
typedef struct {
	uint64_t docid;
	uint32_t skip;
} ml_cursor_t;

int ml_cursor_parse(const char *s, ml_cursor_t *c);
void ml_cursor_format(const ml_cursor_t *c, char *buf, size_t len);

/* May u see row `row` of m?  (ctx: the user; an ml_hist_filter_fn.) */
int ml_row_visible(void *u, const ml_message_t *m, int row);
/* May u (NULL: no --users) see message m?  *whole: all of it (an admin,
 * the sender). */
int ml_message_visible(const ml_user_t *u, const ml_message_t *m, int *whole);
/* A message's JSON (ml_message_json) for u who may see part of it only. */
void ml_message_redact(json_t *j, const ml_user_t *u, const ml_message_t *m);
/* u sees some rows only: their addresses into q's plan; returns 1 (0 for
 * NULL or an admin, q untouched). */
int ml_page_restrict(ml_query_t *q, const ml_user_t *u);

#define ML_PAGE_USER_PASSES 50   /* searches (of up to 1000 rows each) one page of a
                                    user may run to fill itself */

typedef struct ml_page ml_page_t;
struct ml_page {
	int json;               /* JSON: the rows, as text, comma-separated in rows */
	ml_buf_t rows, tmp;
	ml_out_t *out;          /* CSV: the writer */
	const ml_user_t *user;  /* whose rows; NULL: every row */
	unsigned limit;         /* rows wanted */
	unsigned n;             /* rows given */
	unsigned seen;          /* rows handed over by the searches (given or hidden) */
	int more;               /* a row beyond the limit was seen */
	int failed;             /* out of memory writing a row */
	ml_cursor_t skip;       /* rows of a message already given on the previous page */
	uint64_t last_docid;
	uint32_t last_pos, last_nrows;
	uint32_t last_next;     /* the row of last_docid the next page starts at */
	uint64_t vis_docid;     /* for a user: in message vis_docid, vis_next is the */
	uint32_t vis_next;      /* first row they may see after the last handed over */
	/* NULL, or called after each row given, with the cursor after it
	 * (ml_page_cursor) known */
	void (*given)(void *ctx, const ml_page_t *p);
	void *given_ctx;
};

/* The search callback (ml_search_fn) that fills a page. */
int ml_page_row(void *ctx, const ml_message_t *m, int row);
/* The cursor after the last row handed over. */
ml_cursor_t ml_page_cursor(const ml_page_t *p);
/* Start q after cursor c. */
void ml_page_after(ml_query_t *q, ml_page_t *p, const ml_cursor_t *c);
void ml_page_free(ml_page_t *p);

/* What the searches of a page found out. */
typedef struct {
	int truncated;          /* more rows than the page */
	int scanned, capped;    /* ml_search_info_t's scanned, prefix_capped of any pass */
	int stopped;            /* ML_SEARCH_DEADLINE, _CANCELLED: stopped with the page not full */
	uint64_t resume;        /* then: where to go on (info.resume_docid) */
	uint64_t examined, re_limited;
} ml_page_run_t;

/* Around each search: a server's lock of the database map (NULL: none). */
typedef struct {
	void (*enter)(void *ctx);
	void (*leave)(void *ctx);
	void *ctx;
} ml_page_lock_t;

/* Fill p from q (its limit set by the caller: the page's, or the maximum
 * for a restricted user).  err: one line on error. */
int ml_page_fill(ml_page_t *p, ml_search_t *se, ml_query_t *q, int restricted, const ml_page_lock_t *lock,
                 ml_page_run_t *res, char *err, size_t errlen);
/* The cursor of the next page into *c: 1, or 0 when the match ended. */
int ml_page_next(const ml_page_t *p, const ml_page_run_t *res, ml_cursor_t *c);

/* The count of a search's whole match (q's cursor and limit aside), when
 * the page does not hold all of it: within ML_PAGE_TOTAL_NS or until q's
 * deadline, whichever is first (a page of 1000 rows takes a few ms, so a
 * page costs at most that much more); beyond, *total is a lower bound and
 * *exact 0.  u: whose rows (NULL: every row).  *total and *exact are left
 * as they are when the count fails or was cancelled. */
#define ML_PAGE_TOTAL_NS 10000000u
void ml_page_total(ml_search_t *se, const ml_query_t *q, const ml_user_t *u, const ml_page_lock_t *lock,
                   uint64_t *total, int *exact);

/* Message m as u may see it (whole: ml_message_visible's): its JSON with its
 * reports, and its chain when whole, else redacted (new reference). */
json_t *ml_page_message(ml_search_t *se, const ml_message_t *m, const ml_user_t *u, int whole,
                        const ml_page_lock_t *lock);

#endif
