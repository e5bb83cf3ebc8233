#include "page.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tools/histogram.h"
#include "tools/report.h"

int ml_cursor_parse(const char *s, ml_cursor_t *c)
{
	const char *dot = strchr(s, '.');
	char head[32];
	size_t n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof head)
		return ML_EINVAL;
	memcpy(head, s, n);
	head[n] = '\0';
	if (ml_docid_parse(head, &c->docid) || c->docid == 0 || c->docid == UINT64_MAX)
		return ML_EINVAL;
	c->skip = 0;
	if (dot) {
		uint64_t k;
		if (ml_docid_parse(dot + 1, &k) || k == 0 || k > UINT32_MAX)
			return ML_EINVAL;
		c->skip = (uint32_t)k;
	}
	return ML_OK;
}

void ml_cursor_format(const ml_cursor_t *c, char *buf, size_t len)
{
	if (c->skip)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu32, c->docid, c->skip);
	else
		snprintf(buf, len, "%" PRIu64, c->docid);
}

static int user_has_addr(const ml_user_t *u, ml_slice_t a)
{
	if (a.n == 0)
		return 0;
	for (size_t i = 0; i < u->naddrs; i++)
		if (ml_addr_match(u->addrs[i], a))
			return 1;
	return 0;
}

/* May u see row `row` of m?  NULL (no --users) and admins see every row; a
 * user the rows whose sender, recipient or original recipient is theirs. */
int ml_row_visible(void *ctx, const ml_message_t *m, int row)
{
	const ml_user_t *u = ctx;
	if (!u || u->role == ML_ROLE_ADMIN)
		return 1;
	if (user_has_addr(u, ml_message_str(m, m->from)))
		return 1;
	if (row < 0 || (uint32_t)row >= m->nrcpts)
		return 0;
	return user_has_addr(u, ml_message_str(m, m->rcpts[row].to)) ||
	       user_has_addr(u, ml_message_str(m, m->rcpts[row].orig_to));
}



/* The row at which a page that ends after row pos of m goes on: the next
 * one; for a user, the next one they may see, so that a cursor names only
 * rows of theirs (the hidden rows between are passed); m's row count when
 * there is none.  Each row of m is looked at once. */
static uint32_t page_next_row(ml_page_t *p, const ml_message_t *m, uint32_t pos)
{
	if (!p->user || p->user->role == ML_ROLE_ADMIN)
		return pos + 1;
	if (p->vis_docid != m->docid || p->vis_next <= pos) {
		uint32_t nrows = m->nrcpts ? m->nrcpts : 1, j = pos + 1;
		while (j < nrows && !ml_row_visible((void *)p->user, m, (int)j))
			j++;
		p->vis_docid = m->docid;
		p->vis_next = j;
	}
	return p->vis_next;
}

int ml_page_row(void *ctx, const ml_message_t *m, int row)
{
	ml_page_t *p = ctx;
	uint32_t pos = row < 0 ? 0 : (uint32_t)row;
	if (p->skip.skip && m->docid == p->skip.docid && pos < p->skip.skip)
		return 0;
	int visible = ml_row_visible((void *)p->user, m, row);
	if (visible && p->n == p->limit) {
		p->more = 1;
		return 1;
	}
	if (visible) {
		if (p->json) {
			/* written directly: a jansson object a row costs more than the search */
			if ((p->n && ml_buf_putc(&p->rows, ',')) || ml_row_json_write(&p->rows, &p->tmp, m, row)) {
				p->failed = 1;
				return 1;
			}
		} else if (ml_out_row(p->out, m, row)) {
			p->failed = 1;
			return 1;
		}
		p->n++;
	}
	p->seen++;
	p->last_docid = m->docid;
	p->last_pos = pos;
	p->last_nrows = m->nrcpts ? m->nrcpts : 1;
	p->last_next = page_next_row(p, m, pos);
	if (visible && p->given)
		p->given(p->given_ctx, p);
	return 0;
}

/* The cursor after the last row handed over. */
ml_cursor_t ml_page_cursor(const ml_page_t *p)
{
	ml_cursor_t nc;
	if (p->seen == 0) {
		/* only rows of the cursor's message came, all skipped: it has more
		 * matching rows than one search returns; go on below it */
		nc.docid = p->skip.docid;
		nc.skip = 0;
	} else {
		nc.docid = p->last_docid;
		nc.skip = p->last_next >= p->last_nrows ? 0 : p->last_next;
	}
	return nc;
}

/* Start the search after cursor c. */
void ml_page_after(ml_query_t *q, ml_page_t *p, const ml_cursor_t *c)
{
	p->skip = *c;
	p->vis_docid = 0;   /* (the message may have changed since) */
	/* "D.K": from D inclusive, skipping K rows of D; "D": below D.  The rows
	 * of the cursor's message given already are skipped by the search
	 * itself: they do not count against its limit */
	q->before_docid = c->skip ? c->docid + 1 : c->docid;
	q->before_row = c->skip;
}

/* Does any element of arr (strings, or objects with a string under key)
 * name one of the hidden addresses?  Drop it. */
static void drop_naming(json_t *arr, const char *key, json_t *hidden)
{
	for (size_t i = json_array_size(arr); i-- > 0;) {
		json_t *e = json_array_get(arr, i);
		const char *text = json_string_value(key ? json_object_get(e, key) : e);
		if (!text)
			continue;
		for (size_t k = 0; k < json_array_size(hidden); k++)
			if (strcasestr(text, json_string_value(json_array_get(hidden, k)))) {
				json_array_remove(arr, i);
				break;
			}
	}
}

/* Is a the to or orig_to of a row u sees (an alias they share with others)? */
static int in_visible_row(const ml_user_t *u, const ml_message_t *m, ml_slice_t a)
{
	for (uint32_t i = 0; i < m->nrcpts; i++) {
		if (!ml_row_visible((void *)u, m, (int)i))
			continue;
		ml_slice_t to = ml_message_str(m, m->rcpts[i].to), orig = ml_message_str(m, m->rcpts[i].orig_to);
		if ((to.n == a.n && !strncasecmp(to.p, a.p, a.n)) || (orig.n == a.n && !strncasecmp(orig.p, a.p, a.n)))
			return 1;
	}
	return 0;
}

/* A message for a user who is among its recipients, not its sender: only
 * their own recipients, and only the events and log lines that name no
 * other recipient; no chain (the other hops and a bounce are the sender's). */
void ml_message_redact(json_t *j, const ml_user_t *u, const ml_message_t *m)
{
	json_t *rcpts = json_object_get(j, "recipients");
	json_t *hidden = json_array();
	size_t nhidden = 0;
	for (uint32_t i = m->nrcpts; i-- > 0;) {
		if (ml_row_visible((void *)u, m, (int)i))
			continue;
		nhidden++;
		json_array_remove(rcpts, i);
		ml_slice_t addrs[2] = { ml_message_str(m, m->rcpts[i].to), ml_message_str(m, m->rcpts[i].orig_to) };
		for (int k = 0; k < 2; k++)
			if (addrs[k].n && !user_has_addr(u, addrs[k]) && !in_visible_row(u, m, addrs[k]))
				json_array_append_new(hidden, json_stringn(addrs[k].p, addrs[k].n));
	}
	drop_naming(json_object_get(j, "events"), "text", hidden);
	drop_naming(json_object_get(j, "raw"), NULL, hidden);
	json_object_del(j, "chain");
	json_object_set_new(j, "recipients_hidden", json_integer((json_int_t)nhidden));
	/* "1 of 4 recipients shown" */
	json_object_set_new(j, "recipients_total", json_integer((json_int_t)m->nrcpts));
	json_decref(hidden);
}

/* May user u (NULL: no --users) see message m?  A message none of whose
 * rows they may see does not exist for them.  *whole: they see all of it
 * (an admin, the sender). */
int ml_message_visible(const ml_user_t *u, const ml_message_t *m, int *whole)
{
	*whole = 1;
	if (!u || u->role == ML_ROLE_ADMIN)
		return 1;
	*whole = user_has_addr(u, ml_message_str(m, m->from));
	int visible = *whole;
	for (uint32_t i = 0; !visible && i < m->nrcpts; i++)
		visible = ml_row_visible((void *)u, m, (int)i);
	return visible;
}

int ml_page_restrict(ml_query_t *q, const ml_user_t *u)
{
	if (!u || u->role == ML_ROLE_ADMIN)
		return 0;
	/* the user's addresses are part of the plan: the search reads only
	 * messages of theirs, and costs what they cost */
	q->visible = u->addrs;
	q->nvisible = u->naddrs;
	if (!q->nvisible)
		q->until_us = -1;  /* no address, no row: nothing to read */
	return 1;
}

void ml_page_free(ml_page_t *p)
{
	ml_buf_free(&p->rows);
	ml_buf_free(&p->tmp);
}

int ml_page_fill(ml_page_t *p, ml_search_t *se, ml_query_t *q, int restricted, const ml_page_lock_t *lock,
                 ml_page_run_t *res, char *err, size_t errlen)
{
	int rc;
	memset(res, 0, sizeof *res);
	for (int pass = 1;; pass++) {
		ml_search_info_t info;
		if (lock)
			lock->enter(lock->ctx);
		rc = ml_search_run(se, q, ml_page_row, p, &info, err, errlen);
		if (lock)
			lock->leave(lock->ctx);
		res->scanned |= info.scanned;
		res->capped |= info.prefix_capped;
		res->examined += info.decoded;
		res->re_limited += info.re_limited;
		if (!rc && p->failed)
			rc = ML_ENOMEM;
		res->truncated = p->more || info.truncated;
		/* stopped with the page not full: the next page goes on from
		 * where the search stopped */
		if (info.stopped && !p->more) {
			res->stopped = info.stopped;
			res->resume = info.resume_docid;
		}
		/* a user's page that is not full yet: search on after the last row
		 * seen (a bounded number of times; the page may end short, with a
		 * cursor) */
		if (rc || res->stopped || !restricted || !res->truncated || p->more || p->n >= p->limit ||
		    pass >= ML_PAGE_USER_PASSES)
			break;
		ml_cursor_t nc = ml_page_cursor(p);
		ml_page_after(q, p, &nc);
		p->seen = 0;
	}
	return rc;
}

int ml_page_next(const ml_page_t *p, const ml_page_run_t *res, ml_cursor_t *c)
{
	if (res->stopped && res->resume > 1) {
		c->docid = res->resume;
		c->skip = 0;
		return 1;
	}
	if (res->truncated) {
		*c = ml_page_cursor(p);
		return 1;
	}
	return 0;
}

void ml_page_total(ml_search_t *se, const ml_query_t *q, const ml_user_t *u, const ml_page_lock_t *lock,
                   uint64_t *total, int *exact)
{
	ml_hist_t h;
	ml_query_t cq = *q;
	cq.deadline_ns = ML_MIN(q->deadline_ns, ml_search_clock_ns() + ML_PAGE_TOTAL_NS);
	char err[256];
	int restricted = u && u->role != ML_ROLE_ADMIN;
	if (lock)
		lock->enter(lock->ctx);
	if (ml_hist_run(&h, se, &cq, restricted ? ml_row_visible : NULL, (void *)u, err, sizeof err) == 0 &&
	    h.stopped != ML_SEARCH_CANCELLED) {
		*total = h.total;
		*exact = h.complete;
	}
	if (lock)
		lock->leave(lock->ctx);
	ml_hist_free(&h);
}

json_t *ml_page_message(ml_search_t *se, const ml_message_t *m, const ml_user_t *u, int whole,
                        const ml_page_lock_t *lock)
{
	json_t *j = ml_message_json(m);
	if (lock)
		lock->enter(lock->ctx);
	ml_message_add_reports(j, se, m->docid);
	if (whole)
		ml_message_add_chain(j, se, m);
	if (lock)
		lock->leave(lock->ctx);
	if (!whole)
		ml_message_redact(j, u, m);
	return j;
}
