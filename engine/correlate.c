#include "correlate.h"

#include <stdlib.h>
#include <xxhash.h>

#include "engine/exim.h"
#include "engine/filters.h"
#include "engine/rcpts.h"
#include "engine/nexthop.h"
#include "engine/sendmail.h"
#include "engine/rfc2047.h"

/* A queue ID not seen for this long is a new message, whatever the table says. */
#define REUSE_US (30LL * 86400 * 1000000)
/* A chain's next hop is first seen at most this long before the delivery
 * line that names it (the transfer), or after it (the clocks of two hosts);
 * the message waiting for it, at most HOP_WAIT_US before. */
#define HOP_BEFORE_US (30LL * 60 * 1000000)
#define HOP_AFTER_US (10LL * 60 * 1000000)
#define HOP_WAIT_US (86400LL * 1000000)
#define HOP_CANDIDATES 16

typedef struct {
	uint64_t hash;
	ml_message_t *m;   /* NULL: empty slot */
} slot_t;

typedef struct {
	uint64_t hash;
	char *name;        /* NULL: empty */
} dom_t;

/* A message-id seen on a host: the queue IDs that had it last and, when
 * another, before (a content filter passes the message on under a new
 * queue ID with the same message-id). */
#define MID_QID_MAX 47
typedef struct {
	uint64_t hash;     /* of host '\0' message-id; 0: empty slot */
	uint8_t qn[2];     /* qn[1] = 0: none before */
	char qid[2][MID_QID_MAX];
} mid_t;

/* A filter line keyed by a message-id no message had yet: a copy of the
 * line and where its header's parts are in it. */
typedef struct {
	uint64_t hash;     /* as mid_t */
	char *line;
	size_t n;
	uint32_t host_off, host_n, prog_off, prog_n, msg_off, msg_n;
	int64_t time_us;
	uint64_t seq;
} pend_t;

#define MID_SLOTS (1u << 16)       /* the message-id cache: direct-mapped */
#define PEND_MAX 16384u            /* filter lines waiting for their message */
#define PEND_US (3600LL * 1000000) /* how long (log time) one waits */
/* The batch's messages for linking hops: a multimap from the hash of (kind,
 * key) to the message; kinds below (by queue ID, by the next hop a row waits
 * for, by docid, by the recipient of a bounced row with a reply, by the
 * recipient of a NOQUEUE reject).  Entries may be stale (a row linked
 * since): whoever looks a message up checks it. */
enum { HOP_BY_QID = 1, HOP_BY_NEXT = 2, HOP_BY_DOCID = 3, HOP_BY_BOUNCED = 4, HOP_BY_REJECT = 5 };

struct ml_corr {
	ml_corr_load_fn load;
	void *load_ctx;
	slot_t *slots;
	size_t nslots, used;          /* power of two; used includes tombstones */
	ml_message_t **dirty;
	size_t ndirty, dirty_cap;
	size_t ndirected;             /* dirty[0..ndirected) have their direction set */
	dom_t *doms;
	size_t ndoms_slots, ndoms;
	char **learned;
	size_t nlearned, learned_cap;
	ml_buf_t scratch;
	mid_t *mids;                  /* MID_SLOTS, kept across batches */
	pend_t *pend;                 /* kept across batches, up to PEND_US old */
	size_t npend, pend_cap;
	int64_t newest_us;            /* of every line folded */
	ml_corr_hops_t store;         /* where stored hops are found (find NULL: nowhere) */
	slot_t *hops;                 /* (the table's slots, never a tombstone) */
	size_t nhop_slots, nhops;     /* power of two (0: none yet) */
	size_t hops_indexed;          /* dirty[0..hops_indexed) are in hops */
	size_t nlinked;               /* dirty[0..nlinked) had their hops looked for */
};

static ml_message_t TOMBSTONE;

int ml_corr_new(ml_corr_t **out, ml_corr_load_fn load, void *ctx)
{
	ml_corr_t *c = calloc(1, sizeof *c);
	if (!c)
		return ML_ENOMEM;
	c->load = load;
	c->load_ctx = ctx;
	c->nslots = 1024;
	c->slots = calloc(c->nslots, sizeof *c->slots);
	c->ndoms_slots = 64;
	c->doms = calloc(c->ndoms_slots, sizeof *c->doms);
	c->mids = calloc(MID_SLOTS, sizeof *c->mids);
	if (!c->slots || !c->doms || !c->mids) {
		ml_corr_free(c);
		return ML_ENOMEM;
	}
	*out = c;
	return ML_OK;
}

void ml_corr_set_hops(ml_corr_t *c, const ml_corr_hops_t *hops)
{
	c->store = *hops;
}

void ml_corr_free(ml_corr_t *c)
{
	if (!c)
		return;
	ml_corr_done(c);
	free(c->hops);
	free(c->slots);
	free(c->dirty);
	for (size_t i = 0; i < c->ndoms_slots; i++)
		free(c->doms[i].name);
	free(c->doms);
	for (size_t i = 0; i < c->nlearned; i++)
		free(c->learned[i]);
	free(c->learned);
	ml_buf_free(&c->scratch);
	free(c->mids);
	for (size_t i = 0; i < c->npend; i++)
		free(c->pend[i].line);
	free(c->pend);
	free(c);
}

size_t ml_corr_count(const ml_corr_t *c)
{
	return c->ndirty;
}

/* ---- local domains ---- */

static uint64_t dom_hash(const char *d, size_t n)
{
	char tmp[256];
	n = ML_MIN(n, sizeof tmp);
	for (size_t i = 0; i < n; i++)
		tmp[i] = (d[i] >= 'A' && d[i] <= 'Z') ? d[i] + 32 : d[i];
	return XXH3_64bits(tmp, n);
}

static int dom_has(const ml_corr_t *c, ml_slice_t d)
{
	if (!d.n || !c->ndoms)
		return 0;
	uint64_t h = dom_hash(d.p, d.n);
	for (size_t i = h & (c->ndoms_slots - 1);; i = (i + 1) & (c->ndoms_slots - 1)) {
		const dom_t *e = &c->doms[i];
		if (!e->name)
			return 0;
		if (e->hash == h && ml_slice_ieq(d, e->name))
			return 1;
	}
}

static int dom_insert(ml_corr_t *c, const char *d, size_t n)
{
	if ((c->ndoms + 1) * 2 > c->ndoms_slots) {
		size_t ns = c->ndoms_slots * 2;
		dom_t *nd = calloc(ns, sizeof *nd);
		if (!nd)
			return ML_ENOMEM;
		for (size_t i = 0; i < c->ndoms_slots; i++) {
			if (!c->doms[i].name)
				continue;
			size_t j = c->doms[i].hash & (ns - 1);
			while (nd[j].name)
				j = (j + 1) & (ns - 1);
			nd[j] = c->doms[i];
		}
		free(c->doms);
		c->doms = nd;
		c->ndoms_slots = ns;
	}
	uint64_t h = dom_hash(d, n);
	size_t i = h & (c->ndoms_slots - 1);
	while (c->doms[i].name)
		i = (i + 1) & (c->ndoms_slots - 1);
	char *s = strndup(d, n);
	if (!s)
		return ML_ENOMEM;
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	c->doms[i] = (dom_t){ h, s };
	c->ndoms++;
	return ML_OK;
}

int ml_corr_local_domain(ml_corr_t *c, const char *d, size_t n, int learned)
{
	if (!n || n > 255 || dom_has(c, ml_slice(d, n)))
		return ML_OK;
	int rc = dom_insert(c, d, n);
	if (rc || !learned)
		return rc;
	rc = ml_array_grow((void **)&c->learned, &c->learned_cap, sizeof *c->learned, c->nlearned + 1, 16);
	if (rc)
		return rc;
	c->learned[c->nlearned] = strndup(d, n);
	if (!c->learned[c->nlearned])
		return ML_ENOMEM;
	c->nlearned++;
	return ML_OK;
}

int ml_corr_copy_domains(ml_corr_t *dst, const ml_corr_t *src)
{
	int rc = ML_OK;
	for (size_t i = 0; i < src->ndoms_slots && !rc; i++)
		if (src->doms[i].name)
			rc = ml_corr_local_domain(dst, src->doms[i].name, strlen(src->doms[i].name), 0);
	return rc;
}

void ml_corr_new_domains(ml_corr_t *c, void (*fn)(void *ctx, const char *d, size_t n), void *ctx)
{
	for (size_t i = 0; i < c->nlearned; i++) {
		fn(ctx, c->learned[i], strlen(c->learned[i]));
		free(c->learned[i]);
	}
	c->nlearned = 0;
}

static ml_slice_t domain_of(ml_slice_t a)
{
	for (size_t i = a.n; i > 0; i--)
		if (a.p[i - 1] == '@')
			return ml_slice(a.p + i, a.n - i);
	return ML_SLICE_NULL;
}

static int rcpt_is_local(const ml_corr_t *c, const ml_message_t *m, const ml_rcpt_t *r)
{
	return dom_has(c, domain_of(ml_message_str(m, r->to))) ||
	       dom_has(c, domain_of(ml_message_str(m, r->orig_to)));
}

static void set_direction(const ml_corr_t *c, ml_message_t *m)
{
	uint32_t nlocal = 0;
	for (uint32_t i = 0; i < m->nrcpts; i++)
		nlocal += (uint32_t)rcpt_is_local(c, m, &m->rcpts[i]);
	int sender_local = dom_has(c, domain_of(ml_message_str(m, m->from))) || m->sasl_user.len;
	if (nlocal && nlocal == m->nrcpts && sender_local)
		m->direction = ML_DIR_INTERNAL;
	else if (nlocal)
		m->direction = ML_DIR_INBOUND;
	else if (sender_local)
		m->direction = ML_DIR_OUTBOUND;
	else if (m->nrcpts)
		m->direction = ML_DIR_UNKNOWN;
}

ml_direction_t ml_corr_direction(const ml_corr_t *c, ml_message_t *m)
{
	set_direction(c, m);
	return (ml_direction_t)m->direction;
}

/* ---- the message table ---- */

static uint64_t key_hash(ml_slice_t host, ml_slice_t qid)
{
	char tmp[512];
	size_t hn = ML_MIN(host.n, (size_t)255), qn = ML_MIN(qid.n, (size_t)255);
	for (size_t i = 0; i < hn; i++)
		tmp[i] = (host.p[i] >= 'A' && host.p[i] <= 'Z') ? host.p[i] + 32 : host.p[i];
	tmp[hn] = '\0';
	memcpy(tmp + hn + 1, qid.p, qn);
	return XXH3_64bits(tmp, hn + 1 + qn);
}

static int same_key(const ml_message_t *m, ml_slice_t host, ml_slice_t qid)
{
	ml_slice_t q = ml_message_str(m, m->queue_id);
	ml_slice_t h = ml_message_str(m, m->host);
	return q.n == qid.n && memcmp(q.p, qid.p, q.n) == 0 && h.n == host.n && ml_memieq(h.p, host.p, h.n);
}

static slot_t *find_slot(ml_corr_t *c, uint64_t h, ml_slice_t host, ml_slice_t qid)
{
	for (size_t i = h & (c->nslots - 1);; i = (i + 1) & (c->nslots - 1)) {
		slot_t *s = &c->slots[i];
		if (!s->m)
			return NULL;
		if (s->m != &TOMBSTONE && s->hash == h && same_key(s->m, host, qid))
			return s;
	}
}

/* The slots moved into a table of ns slots (a power of two), tombstones
 * dropped; *kept gets how many there are. */
static int slots_resize(slot_t **slots, size_t *nslots, size_t ns, size_t *kept)
{
	slot_t *n = calloc(ns, sizeof *n);
	if (!n)
		return ML_ENOMEM;
	size_t used = 0;
	for (size_t i = 0; i < *nslots; i++) {
		slot_t *s = &(*slots)[i];
		if (!s->m || s->m == &TOMBSTONE)
			continue;
		size_t j = s->hash & (ns - 1);
		while (n[j].m)
			j = (j + 1) & (ns - 1);
		n[j] = *s;
		used++;
	}
	free(*slots);
	*slots = n;
	*nslots = ns;
	*kept = used;
	return ML_OK;
}

static int table_insert(ml_corr_t *c, uint64_t h, ml_message_t *m)
{
	if ((c->used + 1) * 4 > c->nslots * 3) {
		int rc = slots_resize(&c->slots, &c->nslots, c->nslots * 2, &c->used);
		if (rc)
			return rc;
	}
	size_t i = h & (c->nslots - 1);
	while (c->slots[i].m && c->slots[i].m != &TOMBSTONE)
		i = (i + 1) & (c->nslots - 1);
	if (!c->slots[i].m)
		c->used++;
	c->slots[i] = (slot_t){ h, m };
	return ML_OK;
}

/* Removed (or deleted): no more lines belong to it.  A rejected message is
 * closed too but still takes the lines cleanup writes after the reject. */
static int is_done(const ml_message_t *m)
{
	return (m->flags & ML_MSG_CLOSED) && !(m->flags & ML_MSG_REJECTED);
}

static int mark_dirty(ml_corr_t *c, ml_message_t *m)
{
	int rc = ml_array_grow((void **)&c->dirty, &c->dirty_cap, sizeof *c->dirty, c->ndirty + 1, 4096);
	if (rc)
		return rc;
	c->dirty[c->ndirty++] = m;
	return ML_OK;
}

static ml_message_t *new_message(ml_corr_t *c)
{
	ml_message_t *m = malloc(sizeof *m);
	if (!m)
		return NULL;
	ml_message_init(m);
	if (mark_dirty(c, m)) {
		free(m);
		return NULL;
	}
	return m;
}

/* The message (host, qid): in the table, in storage, or new (when create;
 * else *out = NULL when there is none).  FIND_ANNOTATE: also a message of
 * this batch that is done (a line that only adds to it: a notice, "done"),
 * but never a new one. */
#define FIND_ANNOTATE 2
static int find_message(ml_corr_t *c, ml_slice_t host, ml_slice_t qid, int64_t t, int create,
                        ml_message_t **out)
{
	uint64_t h = key_hash(host, qid);
	slot_t *s = find_slot(c, h, host, qid);
	if (s && (!is_done(s->m) || create == FIND_ANNOTATE) && t - s->m->last_us < REUSE_US) {
		*out = s->m;
		return ML_OK;
	}
	if (create == FIND_ANNOTATE)
		create = 0;
	*out = NULL;
	/* A slot that is done (removed) or stale means this queue ID's message in
	 * storage, if any, is older than what this batch saw: it is not loaded. */
	if (s && !create)
		return ML_OK;
	if (s)
		s->m = &TOMBSTONE;  /* a reused queue ID: a new message */
	ml_message_t tmp, *m = &tmp;
	int rc = ML_ENOTFOUND;
	ml_message_init(&tmp);
	if (c->load && !s) {
		rc = c->load(c->load_ctx, host, qid, &tmp);
		if (rc == 0 && t - tmp.last_us >= REUSE_US)
			rc = ML_ENOTFOUND;  /* stays in storage as it was; this is a new one */
		if (rc && rc != ML_ENOTFOUND) {
			ml_message_free(&tmp);
			return rc;
		}
	}
	if (rc == ML_ENOTFOUND && !create) {
		ml_message_free(&tmp);
		return ML_OK;
	}
	m = new_message(c);
	if (!m) {
		ml_message_free(&tmp);
		return ML_ENOMEM;
	}
	*m = tmp;  /* the message takes over tmp's buffers */
	if (rc == ML_ENOTFOUND) {
		ml_message_reset(m);
		if (ml_message_set(m, &m->host, host.p, host.n) ||
		    ml_message_set(m, &m->queue_id, qid.p, qid.n))
			return ML_ENOMEM;
		m->first_us = m->last_us = t;
	}
	rc = table_insert(c, h, m);
	if (rc)
		return rc;
	*out = m;
	return ML_OK;
}

static int get_message(ml_corr_t *c, ml_slice_t host, ml_slice_t qid, int64_t t, ml_message_t **out)
{
	return find_message(c, host, qid, t, 1, out);
}

/* The notice qid that its original's bounce line names: the message in
 * flight, or one of this batch done already when it began at most
 * NOTICE_LATE_US before the line (the bounce daemon logs the notice's queue
 * ID after it queued it: a notice delivered at once, discarded say, can be
 * removed first); else a new one. */
#define NOTICE_LATE_US (60LL * 1000000)
static int notice_message(ml_corr_t *c, ml_slice_t host, ml_slice_t qid, int64_t t, ml_message_t **out)
{
	int rc = find_message(c, host, qid, t, FIND_ANNOTATE, out);
	if (rc || (*out && (!is_done(*out) || t - (*out)->first_us <= NOTICE_LATE_US)))
		return rc;
	return get_message(c, host, qid, t, out);
}

/* Closed for good: the next line about this queue ID is a new message.  It
 * stays in the table until the batch ends, so that no lookup loads the
 * version stored before it closed. */
static void close_message(ml_corr_t *c, ml_message_t *m)
{
	(void)c;
	m->flags |= ML_MSG_CLOSED;
}

static int set_if(ml_message_t *m, ml_str_t *f, ml_slice_t v)
{
	return v.n ? ml_message_set(m, f, v.p, v.n) : ML_OK;
}

static int row_for(ml_message_t *m, ml_slice_t to, ml_slice_t orig_to)
{
	int i = ml_message_find_rcpt(m, to, orig_to);
	if (i >= 0)
		return i;
	i = ml_message_add_rcpt(m);
	if (i < 0)
		return i;
	ml_rcpt_t *r = &m->rcpts[i];
	int rc = ml_message_set(m, &r->to, to.p, to.n);
	if (!rc)
		rc = ml_message_set(m, &m->rcpts[i].orig_to, orig_to.p, orig_to.n);
	return rc ? rc : i;
}

static int set_row(ml_message_t *m, int i, const ml_event_t *ev, int64_t t, ml_status_t st)
{
	ml_rcpt_t *r = &m->rcpts[i];
	r->status = (uint8_t)st;
	r->time_us = t;
	if (ev->delay_ms)
		r->delay_ms = ev->delay_ms;
	int rc = ml_message_set(m, &m->rcpts[i].relay, ev->relay.p, ev->relay.n);
	if (!rc)
		rc = ml_message_set(m, &m->rcpts[i].dsn, ev->dsn.p, ev->dsn.n);
	if (!rc)
		rc = ml_message_set(m, &m->rcpts[i].reason, ev->reason_text.p, ev->reason_text.n);
	return rc;
}

static int trailer_row(ml_message_t *m, const ml_event_t *ev, int64_t t, ml_status_t st)
{
	int rc = 0;
	if (ev->from_set && !m->from.len)
		rc = set_if(m, &m->from, ev->from);
	if (!rc && ev->to.n) {
		int i = row_for(m, ev->to, ML_SLICE_NULL);
		if (i < 0)
			return i;
		rc = set_row(m, i, ev, t, st);
	}
	return rc;
}

#define ST(s) (1u << (s))

/* Every row whose status is in `from` (ST() bits) becomes `to`; its time
 * becomes t when stamp. */
static void settle(ml_message_t *m, unsigned from, ml_status_t to, int stamp, int64_t t)
{
	for (uint32_t i = 0; i < m->nrcpts; i++)
		if (from & ST(m->rcpts[i].status)) {
			m->rcpts[i].status = (uint8_t)to;
			if (stamp)
				m->rcpts[i].time_us = t;
		}
}

/* Every row not settled yet takes the event's outcome st (set_row). */
static int settle_rows(ml_message_t *m, const ml_event_t *ev, int64_t t, ml_status_t st)
{
	int rc = ML_OK;
	for (uint32_t i = 0; i < m->nrcpts && !rc; i++)
		if (m->rcpts[i].status == ML_ST_NONE)
			rc = set_row(m, (int)i, ev, t, st);
	return rc;
}

/* The subject of an event, decoded to UTF-8 into the message. */
static int set_subject(ml_corr_t *c, ml_message_t *m, const ml_event_t *ev)
{
	ml_slice_t raw = ev->subject;
	ml_buf_t unescaped = ML_BUF_INIT;
	int rc = 0;
	if (ev->subject_escaped) {
		rc = ml_exim_unescape_subject(&unescaped, raw.p, raw.n);
		raw = ml_slice(unescaped.data ? unescaped.data : "", unescaped.len);
	}
	ml_buf_reset(&c->scratch);
	if (!rc)
		rc = ml_rfc2047_decode(&c->scratch, raw.p, raw.n);
	if (!rc)
		rc = ml_message_set(m, &m->subject, c->scratch.data, c->scratch.len);
	ml_buf_free(&unescaped);
	return rc;
}

/* The row a delivery line is about: (to, orig_to) when it exists; else the
 * row an arrival listed for orig_to (Exim: "=> final <original>"), which
 * becomes (to, orig_to); else a new row. */
static int delivery_row(ml_message_t *m, ml_slice_t to, ml_slice_t orig_to)
{
	int i = ml_message_find_rcpt(m, to, orig_to);
	if (i >= 0)
		return i;
	if (!orig_to.n) {
		/* a row waiting for this recipient, whatever its original address
		 * (the next hop of a filter chain knows only the final one) */
		for (uint32_t k = 0; k < m->nrcpts; k++) {
			ml_slice_t t = ml_message_str(m, m->rcpts[k].to);
			if (m->rcpts[k].status == ML_ST_NONE && t.n == to.n && ml_memieq(t.p, to.p, to.n))
				return (int)k;
		}
	}
	if (orig_to.n) {
		i = ml_message_find_rcpt(m, orig_to, ML_SLICE_NULL);
		if (i >= 0 && m->rcpts[i].status == ML_ST_NONE) {
			int rc = ml_message_set(m, &m->rcpts[i].to, to.p, to.n);
			if (!rc)
				rc = ml_message_set(m, &m->rcpts[i].orig_to, orig_to.p, orig_to.n);
			return rc ? rc : i;
		}
	}
	return row_for(m, to, orig_to);
}

/* The recipients of an arrival's "for" list: rows with no status yet. */
static int arrival_rows(ml_message_t *m, ml_slice_t list)
{
	ml_slice_t a;
	while (ml_rcpts_next(&list, ' ', &a)) {
		int k = row_for(m, a, ML_SLICE_NULL);
		if (k < 0)
			return k;
	}
	return ML_OK;
}

static int is_loopback(ml_slice_t ip)
{
	return ip.n == 0 || ml_slice_starts(ip, "127.") || ml_slice_eq(ip, "::1");
}

/*
 * Row i of m went to a content filter on this host, which queued the mail
 * again as next: link the two hops (the next one only while it is in flight:
 * a next hop already removed is not reopened).  The row is handed on; the next hop
 * continues this message (its rows get the recipient with its original
 * address, its client is the real one, not the filter's loopback).
 */
static int chain(ml_corr_t *c, ml_message_t *m, int i, ml_slice_t host, ml_slice_t next, int64_t t)
{
	/* host and next point into the line, not into m, whose strings move
	 * when a field is set */
	ml_slice_t self = ml_message_str(m, m->queue_id);
	if (!next.n || (next.n == self.n && memcmp(next.p, self.p, next.n) == 0))
		return ML_OK;
	m->rcpts[i].flags |= ML_RCPT_HANDED_ON;
	int rc = ml_message_set(m, &m->next_qid, next.p, next.n);
	/* the next hop is in flight (its first lines come before this reply);
	 * when it is already done, only this side of the link is kept */
	ml_message_t *b;
	if (!rc)
		rc = find_message(c, host, next, t, 0, &b);
	if (rc || !b)
		return rc;
	self = ml_message_str(m, m->queue_id);
	b->flags |= ML_MSG_CONTINUED;
	rc = ml_message_set(b, &b->prev_qid, self.p, self.n);
	if (!rc && is_loopback(ml_message_str(b, b->client_ip))) {
		rc = ml_message_set(b, &b->client_ip, m->strs.data + m->client_ip.off, m->client_ip.len);
		if (!rc)
			rc = ml_message_set(b, &b->client_name, m->strs.data + m->client_name.off, m->client_name.len);
	}
	/* the recipient, with the address it had before expansion */
	ml_slice_t to = ml_message_str(m, m->rcpts[i].to);
	ml_slice_t orig = ml_message_str(m, m->rcpts[i].orig_to);
	int k = -1;
	for (uint32_t j = 0; j < b->nrcpts && k < 0; j++) {
		ml_slice_t bt = ml_message_str(b, b->rcpts[j].to);
		if (bt.n == to.n && ml_memieq(bt.p, to.p, to.n))
			k = (int)j;
	}
	if (!rc && k < 0) {
		k = ml_message_add_rcpt(b);
		if (k < 0)
			return k;
		rc = ml_message_set(b, &b->rcpts[k].to, to.p, to.n);
	}
	if (!rc && orig.n && !b->rcpts[k].orig_to.len)
		rc = ml_message_set(b, &b->rcpts[k].orig_to, orig.p, orig.n);
	return rc;
}

/*
 * A content filter's verdict: blocked or quarantined mail is so for the
 * recipients the filter names (every row not settled yet when it names none
 * we know); a message passed on under a new queue ID continues there.
 */
static int filter_verdict(ml_corr_t *c, ml_message_t *m, const ml_event_t *ev, ml_slice_t host, int64_t t)
{
	int rc = 0;
	if (!m->message_id.len)
		rc = set_if(m, &m->message_id, ev->msgid);
	if (ev->status == ML_ST_BLOCKED || ev->status == ML_ST_QUARANTINED) {
		if (ev->status == ML_ST_QUARANTINED)
			m->flags |= ML_MSG_HELD;
		else
			m->flags |= ML_MSG_REJECTED;
		ml_slice_t list = ev->filter_rcpts, a;
		int named = 0;
		while (!rc && ml_rcpts_next(&list, ',', &a)) {
			int k = delivery_row(m, a, ML_SLICE_NULL);
			if (k < 0)
				return k;
			rc = set_row(m, k, ev, t, ev->status);
			named = 1;
		}
		return !rc && !named ? settle_rows(m, ev, t, ev->status) : rc;
	}
	if (ev->status == ML_ST_DELIVERED && ev->other_qid.n) {
		/* passed on: each recipient the filter names continues as other_qid */
		ml_slice_t list = ev->filter_rcpts, a;
		while (!rc && ml_rcpts_next(&list, ',', &a)) {
			int k = delivery_row(m, a, ML_SLICE_NULL);
			if (k < 0)
				return k;
			if (m->rcpts[k].status == ML_ST_NONE) {
				m->rcpts[k].status = ML_ST_DELIVERED;
				m->rcpts[k].time_us = t;
			}
			rc = chain(c, m, k, host, ev->other_qid, t);
		}
	}
	return rc;
}

/* A delivery whose reply names the next hop's queue ID: m waits for that
 * hop (ml_corr_dirty links it when it is found). */
static int wait_next(ml_message_t *m, const ml_event_t *ev)
{
	ml_slice_t next;
	if (ev->status != ML_ST_DELIVERED || m->next_qid.len || !ml_nexthop_qid(ev->reason_text, &next))
		return ML_OK;
	ml_slice_t self = ml_message_str(m, m->queue_id);
	if (next.n == self.n && memcmp(next.p, self.p, next.n) == 0)
		return ML_OK;
	return ml_message_set(m, &m->next_qid, next.p, next.n);
}

static int learn(ml_corr_t *c, ml_slice_t addr)
{
	ml_slice_t d = domain_of(addr);
	return d.n ? ml_corr_local_domain(c, d.p, d.n, 1) : ML_OK;
}

static int apply(ml_corr_t *c, ml_message_t *m, const ml_event_t *ev, ml_slice_t host, int64_t t)
{
	int rc = ML_OK;
	switch (ev->kind) {
	case ML_EV_CLIENT:
		rc = set_if(m, &m->client_ip, ev->client_ip);
		if (!rc)
			rc = set_if(m, &m->client_name, ev->client_name);
		if (!rc)
			rc = set_if(m, &m->sasl_user, ev->sasl_user);
		break;
	case ML_EV_PICKUP:
		if (ev->from_set)
			rc = ml_message_set(m, &m->from, ev->from.p, ev->from.n);
		break;
	case ML_EV_MSGID:
		rc = set_if(m, &m->message_id, ev->msgid);
		break;
	case ML_EV_HEADER:
		if (ml_slice_ieq(ev->header_name, "subject") && !m->subject.len)
			rc = set_subject(c, m, ev);
		if (!rc && ev->from_set && !m->from.len)
			rc = set_if(m, &m->from, ev->from);
		if (!rc && !m->client_ip.len)
			rc = set_if(m, &m->client_ip, ev->client_ip);
		break;
	case ML_EV_HOLD:
		m->flags |= ML_MSG_HELD;
		m->flags &= ~ML_MSG_RELEASED;
		if (ml_slice_ieq(ev->header_name, "subject") && !m->subject.len)
			rc = set_subject(c, m, ev);
		if (!rc)
			rc = trailer_row(m, ev, t, ML_ST_QUARANTINED);
		settle(m, ST(ML_ST_NONE) | ST(ML_ST_DELAYED), ML_ST_QUARANTINED, 0, t);
		break;
	case ML_EV_CLEANUP_REJECT:
		m->flags |= ML_MSG_REJECTED;
		if (ml_slice_ieq(ev->header_name, "subject") && !m->subject.len)
			rc = set_subject(c, m, ev);
		if (!rc)
			rc = trailer_row(m, ev, t, ML_ST_BLOCKED);
		settle(m, ST(ML_ST_NONE), ML_ST_BLOCKED, 0, t);
		if (!rc && !m->client_ip.len)
			rc = set_if(m, &m->client_ip, ev->client_ip);
		/* Rejected: no "removed" will follow, so the message is closed; it
		 * stays in this batch's table, since an smtpd discard at RCPT time is
		 * followed by cleanup's lines for the same queue ID. */
		m->flags |= ML_MSG_CLOSED;
		break;
	case ML_EV_QMGR_FROM:
		if (ev->from_set)
			rc = ml_message_set(m, &m->from, ev->from.p, ev->from.n);
		if (ev->size)
			m->size = ev->size;
		if (ev->nrcpt)
			m->nrcpt = ev->nrcpt;
		break;
	case ML_EV_ARRIVAL:
		if (ev->from_set)
			rc = ml_message_set(m, &m->from, ev->from.p, ev->from.n);
		if (ev->size)
			m->size = ev->size;
		if (ev->nrcpt)
			m->nrcpt = ev->nrcpt;
		if (!rc)
			rc = set_if(m, &m->message_id, ev->msgid);
		if (!rc)
			rc = set_if(m, &m->client_ip, ev->client_ip);
		if (!rc)
			rc = set_if(m, &m->client_name, ev->client_name);
		if (!rc)
			rc = set_if(m, &m->helo, ev->helo);
		if (!rc)
			rc = set_if(m, &m->sasl_user, ev->sasl_user);
		if (!rc)
			rc = set_if(m, &m->orig_qid, ev->other_qid);
		if (!rc && ev->subject.n && !m->subject.len)
			rc = set_subject(c, m, ev);
		if (!rc)
			rc = arrival_rows(m, ev->rcpt_list);
		break;
	case ML_EV_REMOVED:
		/* rows nothing was logged for (Exim: a duplicate an alias delivered)
		 * are settled with the message */
		settle(m, ST(ML_ST_NONE), ML_ST_DELIVERED, 1, t);
		close_message(c, m);
		break;
	case ML_EV_EXPIRED:
		m->flags |= ML_MSG_EXPIRED;
		if (ev->from_set && !m->from.len)
			rc = ml_message_set(m, &m->from, ev->from.p, ev->from.n);
		settle(m, ST(ML_ST_NONE) | ST(ML_ST_DELAYED), ML_ST_EXPIRED, 1, t);
		break;
	case ML_EV_DELIVERY: {
		if (!ev->to.n) {
			/* about every recipient not settled yet (Exim: "=> blackhole (DATA
			 * ACL discarded recipients)") */
			rc = settle_rows(m, ev, t, ev->status);
			if (!m->nrcpts && ev->status == ML_ST_BLOCKED)
				m->flags |= ML_MSG_REJECTED;
			break;
		}
		if (ev->to_list.n) {
			/* Sendmail: one status for every recipient of the line */
			ml_slice_t list = ev->to_list, a;
			while (!rc && ml_rcpts_next(&list, ',', &a)) {
				int k = delivery_row(m, a, ev->orig_to);
				if (k < 0)
					return k;
				rc = set_row(m, k, ev, t, ev->status);
			}
			if (!rc)
				rc = wait_next(m, ev);
			/* Sendmail logs "done" only at LogLevel 10 and up: the message is
			 * done when every recipient its from= line counted is settled */
			uint32_t settled = 0;
			for (uint32_t k = 0; k < m->nrcpts; k++)
				settled += m->rcpts[k].status == ML_ST_DELIVERED || m->rcpts[k].status == ML_ST_BOUNCED ||
				           m->rcpts[k].status == ML_ST_EXPIRED || m->rcpts[k].status == ML_ST_BLOCKED;
			if (m->nrcpt && settled >= m->nrcpt)
				close_message(c, m);
			break;
		}
		int i = delivery_row(m, ev->to, ev->orig_to);
		if (i < 0)
			return i;
		rc = set_row(m, i, ev, t, ev->status);
		if (!rc)
			rc = wait_next(m, ev);
		if (!rc && ev->local_delivery && ev->status == ML_ST_DELIVERED) {
			rc = learn(c, ev->to);
			if (!rc)
				rc = learn(c, ev->orig_to);
		}
		break;
	}
	case ML_EV_RCPT_REJECT:
		if (!m->client_ip.len)
			rc = set_if(m, &m->client_ip, ev->client_ip);
		if (!rc)
			rc = trailer_row(m, ev, t, ML_ST_BLOCKED);
		if (!ev->to.n)
			m->flags |= ML_MSG_REJECTED;  /* the whole message (Exim: after DATA) */
		break;
	case ML_EV_BOUNCE_NDN:
		rc = set_if(m, &m->bounce_qid, ev->other_qid);
		if (ev->status == ML_ST_EXPIRED) {
			/* Sendmail: the notice of a message that timed out */
			m->flags |= ML_MSG_EXPIRED;
			settle(m, ST(ML_ST_NONE) | ST(ML_ST_DELAYED), ML_ST_EXPIRED, 1, t);
		}
		break;
	case ML_EV_FILTER:
		rc = filter_verdict(c, m, ev, host, t);
		break;
	case ML_EV_RELEASED:
		/* released from quarantine; Exim also unfreezes messages that were
		 * frozen for other reasons, which is no release */
		if (m->flags & ML_MSG_HELD)
			m->flags |= ML_MSG_RELEASED;
		settle(m, ST(ML_ST_QUARANTINED), ML_ST_NONE, 0, t);
		break;
	case ML_EV_DELETED:
		m->flags |= ML_MSG_DELETED;
		close_message(c, m);
		break;
	case ML_EV_INFO:
		/* a header action that changes nothing we model (redirect, filter,
		 * replace, prepend, bcc, ...) still names the subject */
		if (ev->subject.n && ml_slice_ieq(ev->header_name, "subject") && !m->subject.len)
			rc = set_subject(c, m, ev);
		break;
	default:
		break;
	}
	return rc ? (rc < 0 ? rc : ML_ENOMEM) : ML_OK;
}

/* ---- filter lines keyed by message-id ---- */

static uint64_t mid_hash(ml_slice_t host, ml_slice_t msgid)
{
	uint64_t h = key_hash(host, msgid);
	return h ? h : 1;
}

/* Queue ID qid on host has message-id msgid (the last one seen wins: a
 * message passed on by a content filter keeps its message-id). */
static void note_msgid(ml_corr_t *c, ml_slice_t host, ml_slice_t msgid, ml_slice_t qid)
{
	uint64_t h = mid_hash(host, msgid);
	mid_t *e = &c->mids[h & (MID_SLOTS - 1)];
	if (qid.n > MID_QID_MAX || (e->hash == h && e->qn[0] == qid.n && memcmp(e->qid[0], qid.p, qid.n) == 0))
		return;
	if (e->hash == h) {
		memcpy(e->qid[1], e->qid[0], e->qn[0]);
		e->qn[1] = e->qn[0];
	} else {
		e->qn[1] = 0;
	}
	e->hash = h;
	memcpy(e->qid[0], qid.p, qid.n);
	e->qn[0] = (uint8_t)qid.n;
}

/* A line of message m (in the table, on the dirty list). */
static int fold_into(ml_corr_t *c, ml_message_t *m, const ml_syslog_t *h, const ml_event_t *ev,
                     const char *line, size_t n)
{
	int64_t t = h->time_us;
	if (t < m->first_us)
		m->first_us = t;
	if (t > m->last_us)
		m->last_us = t;
	ml_message_add_line(m, line, n, h->seq);  /* a message over its raw cap counts the line in raw_dropped */
	return apply(c, m, ev, h->host, t);
}

/* The message (this batch's, or in flight in storage) that last had msgid
 * on host, but not `after` (the queue ID a filter passed it on under: the
 * line is about the message that entered the filter); *out = NULL when none
 * is known. */
static int msgid_stored(ml_corr_t *c, ml_slice_t host, ml_slice_t msgid, ml_slice_t after, int64_t t,
                        char qid[MID_QID_MAX], size_t *qn);

static int msgid_message(ml_corr_t *c, ml_slice_t host, ml_slice_t msgid, ml_slice_t after, int64_t t,
                         ml_message_t **out)
{
	*out = NULL;
	uint64_t h = mid_hash(host, msgid);
	const mid_t *e = &c->mids[h & (MID_SLOTS - 1)];
	int k = e->hash == h && after.n && e->qn[0] == after.n && memcmp(e->qid[0], after.p, after.n) == 0;
	char qb[MID_QID_MAX];
	ml_slice_t qid = e->hash == h && e->qn[k] ? ml_slice(e->qid[k], e->qn[k]) : ML_SLICE_NULL;
	if (!qid.n) {
		/* not in the cache: in flight in storage? */
		size_t qn = 0;
		int rc = msgid_stored(c, host, msgid, after, t, qb, &qn);
		if (rc || !qn)
			return rc;
		qid = ml_slice(qb, qn);
	}
	int rc = find_message(c, host, qid, t, FIND_ANNOTATE, out);
	if (!rc && *out) {
		ml_slice_t have = ml_message_str(*out, (*out)->message_id);
		if (have.n != msgid.n || memcmp(have.p, msgid.p, msgid.n) != 0)
			*out = NULL;
	}
	return rc;
}

/* The newest stored message found under key (by: ML_HOP_BY_*) first seen
 * from since to until that ok(ctx, x) takes, its fields and rows (no lines)
 * into x; *found 0 when none. */
static int stored_newest(ml_corr_t *c, int by, ml_slice_t key, int64_t since, int64_t until,
                         int (*ok)(const ml_corr_t *c, const ml_message_t *x, void *ctx), void *ctx,
                         ml_message_t *x, int *found)
{
	*found = 0;
	if (!c->store.find)
		return ML_OK;
	uint64_t ids[HOP_CANDIDATES];
	size_t nids = 0;
	int rc = c->store.find(c->store.ctx, by, key, since, until, ids, HOP_CANDIDATES, &nids);
	for (size_t k = 0; k < nids && !rc && !*found; k++) {
		ml_message_reset(x);
		rc = c->store.get(c->store.ctx, ids[k], 0, x);
		if (rc == ML_ENOTFOUND || rc == ML_ECORRUPT)
			rc = ML_OK;   /* gone, or unreadable */
		else if (!rc)
			*found = ok(c, x, ctx);
	}
	return rc;
}

typedef struct {
	ml_slice_t host, key, after;
	int64_t t;
} want_t;

static int same_host(const ml_message_t *x, ml_slice_t host)
{
	ml_slice_t xh = ml_message_str(x, x->host);
	return xh.n == host.n && ml_memieq(xh.p, host.p, host.n);
}

/* In flight, on the host, with the message-id, a queue ID other than after. */
static int msgid_ok(const ml_corr_t *c, const ml_message_t *x, void *ctx)
{
	(void)c;
	const want_t *w = ctx;
	ml_slice_t xm = ml_message_str(x, x->message_id), xq = ml_message_str(x, x->queue_id);
	return !(x->flags & ML_MSG_CLOSED) && same_host(x, w->host) && xm.n == w->key.n &&
	       memcmp(xm.p, w->key.p, xm.n) == 0 && xq.n && xq.n <= MID_QID_MAX &&
	       !(xq.n == w->after.n && memcmp(xq.p, w->after.p, xq.n) == 0);
}

/* The queue ID of the newest message in flight in storage on host with
 * msgid, first seen up to MSGID_STORED_US before t, other than `after`;
 * *qn = 0 when none. */
#define MSGID_STORED_US (7LL * 86400 * 1000000)
static int msgid_stored(ml_corr_t *c, ml_slice_t host, ml_slice_t msgid, ml_slice_t after, int64_t t,
                        char qid[MID_QID_MAX], size_t *qn)
{
	want_t w = { host, msgid, after, t };
	ml_message_t x;
	ml_message_init(&x);
	int found;
	int rc = stored_newest(c, ML_HOP_BY_MSGID, msgid, t - MSGID_STORED_US, t, msgid_ok, &w, &x, &found);
	*qn = 0;
	if (!rc && found) {
		memcpy(qid, ml_message_str(&x, x.queue_id).p, x.queue_id.len);
		*qn = x.queue_id.len;
	}
	ml_message_free(&x);
	return rc;
}

static int inside(const char *line, size_t n, ml_slice_t s)
{
	return s.p >= line && s.p + s.n <= line + n;
}

/* Keep a filter line until a message has its message-id. */
static int pend_add(ml_corr_t *c, const ml_syslog_t *h, const ml_event_t *ev, const char *line, size_t n)
{
	if (c->npend >= PEND_MAX || !inside(line, n, h->host) || !inside(line, n, h->program) ||
	    !inside(line, n, h->msg) || n > UINT32_MAX)
		return ML_OK;  /* not kept: the line stays apart, as it would without a message-id */
	int rc = ml_array_grow((void **)&c->pend, &c->pend_cap, sizeof *c->pend, c->npend + 1, 64);
	if (rc)
		return rc;
	char *copy = malloc(n ? n : 1);
	if (!copy)
		return ML_ENOMEM;
	memcpy(copy, line, n);
	c->pend[c->npend++] = (pend_t){
		mid_hash(h->host, ev->msgid), copy, n,
		(uint32_t)(h->host.p - line), (uint32_t)h->host.n,
		(uint32_t)(h->program.p - line), (uint32_t)h->program.n,
		(uint32_t)(h->msg.p - line), (uint32_t)h->msg.n,
		h->time_us, h->seq,
	};
	return ML_OK;
}

/* The waiting filter lines of (host, msgid), folded into m in the order
 * they came. */
static int pend_apply(ml_corr_t *c, ml_message_t *m, ml_slice_t host, ml_slice_t msgid)
{
	uint64_t hh = mid_hash(host, msgid);
	int rc = ML_OK;
	for (size_t i = 0; i < c->npend && !rc;) {
		pend_t *p = &c->pend[i];
		if (p->hash != hh) {
			i++;
			continue;
		}
		ml_syslog_t h = { p->time_us, ml_slice(p->line + p->host_off, p->host_n),
		                  ml_slice(p->line + p->prog_off, p->prog_n), ML_SLICE_NULL,
		                  ml_slice(p->line + p->msg_off, p->msg_n), p->seq };
		ml_event_t ev;
		ml_filters_parse(h.program, h.msg, &ev);
		ml_slice_t self = ml_message_str(m, m->queue_id);
		if (ev.other_qid.n == self.n && memcmp(ev.other_qid.p, self.p, self.n) == 0) {
			i++;  /* about the message before the filter, not this one after it */
			continue;
		}
		if (ev.kind == ML_EV_FILTER && ev.msgid.n == msgid.n && memcmp(ev.msgid.p, msgid.p, msgid.n) == 0 &&
		    h.host.n == host.n && ml_memieq(h.host.p, host.p, host.n))
			rc = fold_into(c, m, &h, &ev, p->line, p->n);
		free(p->line);
		memmove(p, p + 1, (c->npend - i - 1) * sizeof *p);
		c->npend--;
	}
	return rc;
}

/* A filter line that names a message-id and no queue ID. */
static int by_msgid(ml_corr_t *c, const ml_syslog_t *h, const ml_event_t *ev, const char *line, size_t n)
{
	ml_message_t *m;
	int rc = msgid_message(c, h->host, ev->msgid, ev->other_qid, h->time_us, &m);
	if (rc)
		return rc;
	return m ? fold_into(c, m, h, ev, line, n) : pend_add(c, h, ev, line, n);
}

/* m has a message-id now (the event named one): remember it, and fold the
 * filter lines that waited for it. */
static int msgid_seen(ml_corr_t *c, ml_message_t *m, ml_slice_t host)
{
	char mid[1024];
	ml_slice_t v = ml_message_str(m, m->message_id);
	if (!v.n || v.n > sizeof mid || !m->queue_id.len)
		return ML_OK;
	memcpy(mid, v.p, v.n);  /* m's strings move when a waiting line is folded */
	ml_slice_t msgid = ml_slice(mid, v.n);
	note_msgid(c, host, msgid, ml_message_str(m, m->queue_id));
	return c->npend ? pend_apply(c, m, host, msgid) : ML_OK;
}

static int noqueue(ml_corr_t *c, const ml_syslog_t *h, const ml_event_t *ev, const char *line, size_t n)
{
	ml_message_t *m = new_message(c);
	if (!m)
		return ML_ENOMEM;
	int rc = ml_message_set(m, &m->host, h->host.p, h->host.n);
	m->first_us = m->last_us = h->time_us;
	m->flags = ML_MSG_NOQUEUE | ML_MSG_CLOSED | ML_MSG_REJECTED;
	if (!rc)
		rc = set_if(m, &m->client_ip, ev->client_ip);
	if (!rc)
		rc = set_if(m, &m->client_name, ev->client_name);
	if (!rc)
		rc = set_if(m, &m->helo, ev->helo);
	if (!rc && ev->from_set)
		rc = ml_message_set(m, &m->from, ev->from.p, ev->from.n);
	if (rc)
		return rc;
	int i = row_for(m, ev->to, ML_SLICE_NULL);
	if (i < 0)
		return i;
	rc = set_row(m, i, ev, h->time_us, ML_ST_BLOCKED);
	if (!rc)
		ml_message_add_line(m, line, n, h->seq);
	return rc;
}

static int closed_stored(ml_corr_t *c, ml_slice_t host, ml_slice_t qid, int64_t t, ml_message_t **out);
static int in_batch(const ml_corr_t *c, uint64_t docid);
static int adopt(ml_corr_t *c, ml_message_t *tmp, ml_message_t **out);

int ml_corr_add(ml_corr_t *c, const ml_syslog_t *h, const ml_event_t *ev, const char *line, size_t n)
{
	if (ev->kind == ML_EV_UNKNOWN || ev->kind == ML_EV_SKIP)
		return ML_OK;
	if (ev->kind == ML_EV_NOQUEUE_REJECT)
		return noqueue(c, h, ev, line, n);
	if (h->time_us > c->newest_us)
		c->newest_us = h->time_us;
	if (!ev->qid.n)
		return ev->kind == ML_EV_FILTER && ev->msgid.n ? by_msgid(c, h, ev, line, n) : ML_OK;
	ml_message_t *m;
	int64_t t = h->time_us;
	/* "removed" / "done" of a message not in flight (closed already, or its
	 * start is in a log not read) starts nothing */
	int annotate = ev->kind == ML_EV_REMOVED || ev->kind == ML_EV_BOUNCE_NDN;
	int rc = find_message(c, h->host, ev->qid, t, annotate ? FIND_ANNOTATE : 1, &m);
	if (!rc && !m && ev->kind == ML_EV_BOUNCE_NDN && ev->other_qid.n)
		rc = closed_stored(c, h->host, ev->qid, t, &m);   /* closed in an earlier run or batch */
	if (rc)
		return rc;
	if (!m) {
		if (ev->kind != ML_EV_BOUNCE_NDN || !ev->other_qid.n)
			return ML_OK;
		/* the original is done: the notice still knows what it reports on */
		ml_message_t *b;
		rc = notice_message(c, h->host, ev->other_qid, t, &b);
		if (!rc && !b->orig_qid.len)
			rc = ml_message_set(b, &b->orig_qid, ev->qid.p, ev->qid.n);
		/* kept with the notice, so that a reparse replays it */
		if (!rc)
			ml_message_add_line(b, line, n, h->seq);
		return rc;
	}
	rc = fold_into(c, m, h, ev, line, n);
	if (!rc && ev->msgid.n)
		rc = msgid_seen(c, m, h->host);
	if (rc)
		return rc;
	if (ev->kind == ML_EV_ARRIVAL && ev->other_qid.n) {
		/* an Exim bounce names its original: link both ways */
		ml_message_t *o;
		rc = find_message(c, h->host, ev->other_qid, t, 0, &o);
		if (!rc && o && !o->bounce_qid.len)
			rc = ml_message_set(o, &o->bounce_qid, ev->qid.p, ev->qid.n);
		return rc;
	}
	if (ev->kind == ML_EV_BOUNCE_NDN && ev->other_qid.n) {
		ml_message_t *b;
		rc = notice_message(c, h->host, ev->other_qid, t, &b);
		if (!rc && !b->orig_qid.len)
			rc = ml_message_set(b, &b->orig_qid, ev->qid.p, ev->qid.n);
	}
	return rc;
}

/* Closed at most ANNOTATE_STORED_US before t, on the host, with the queue
 * ID, not in the batch. */
#define ANNOTATE_STORED_US (600LL * 1000000)
static int closed_ok(const ml_corr_t *c, const ml_message_t *x, void *ctx)
{
	const want_t *w = ctx;
	ml_slice_t xq = ml_message_str(x, x->queue_id);
	return !in_batch(c, x->docid) && (x->flags & ML_MSG_CLOSED) && w->t - x->last_us <= ANNOTATE_STORED_US &&
	       same_host(x, w->host) && xq.n == w->key.n && memcmp(xq.p, w->key.p, xq.n) == 0;
}

/* The message (host, qid) closed and stored at most ANNOTATE_STORED_US
 * before t, the newest, taken into the batch (stored again with what the
 * line adds); *out = NULL when there is none.  The line that names its
 * notice (Sendmail's "DSN:", Postfix's "sender non-delivery notification")
 * joins it as it would in the batch it closed in. */
static int closed_stored(ml_corr_t *c, ml_slice_t host, ml_slice_t qid, int64_t t, ml_message_t **out)
{
	want_t w = { host, qid, ML_SLICE_NULL, t };
	ml_message_t x;
	ml_message_init(&x);
	int found;
	int rc = stored_newest(c, ML_HOP_BY_QID, qid, t - REUSE_US, t, closed_ok, &w, &x, &found);
	*out = NULL;
	if (!rc && found) {
		/* whole, to be stored again */
		uint64_t docid = x.docid;
		ml_message_reset(&x);
		rc = c->store.get(c->store.ctx, docid, 1, &x);
		if (!rc)
			rc = adopt(c, &x, out);
	}
	ml_message_free(&x);
	return rc;
}

/* ---- hops of a chain across hosts and instances ---- */

static uint64_t hop_hash(int kind, const void *p, size_t n)
{
	return XXH3_64bits_withSeed(p, n, (uint64_t)kind);
}

static int hop_put(ml_corr_t *c, uint64_t h, ml_message_t *m)
{
	if ((c->nhops + 1) * 2 > c->nhop_slots) {
		int rc = slots_resize(&c->hops, &c->nhop_slots, c->nhop_slots ? c->nhop_slots * 2 : 1024, &c->nhops);
		if (rc)
			return rc;
	}
	size_t i = h & (c->nhop_slots - 1);
	while (c->hops[i].m)
		i = (i + 1) & (c->nhop_slots - 1);
	c->hops[i] = (slot_t){ h, m };
	c->nhops++;
	return ML_OK;
}

/* The next hop row r of m names and still waits for (a slice into m), or
 * empty. */
static ml_slice_t row_next(const ml_message_t *m, const ml_rcpt_t *r)
{
	ml_slice_t q;
	if (r->status != ML_ST_DELIVERED || (r->flags & ML_RCPT_HANDED_ON) ||
	    !ml_nexthop_qid(ml_message_str(m, r->reason), &q))
		return ML_SLICE_NULL;
	ml_slice_t self = ml_message_str(m, m->queue_id);
	return q.n == self.n && memcmp(q.p, self.p, q.n) == 0 ? ML_SLICE_NULL : q;
}

/* The hash of (kind, an address lowercased). */
static uint64_t hop_hash_addr(int kind, ml_slice_t a)
{
	char tmp[256];
	size_t n = ML_MIN(a.n, sizeof tmp);
	for (size_t i = 0; i < n; i++)
		tmp[i] = (a.p[i] >= 'A' && a.p[i] <= 'Z') ? a.p[i] + 32 : a.p[i];
	return hop_hash(kind, tmp, n);
}

/* Every dirty message into the multimap. */
static int hop_sync(ml_corr_t *c)
{
	for (; c->hops_indexed < c->ndirty; c->hops_indexed++) {
		ml_message_t *m = c->dirty[c->hops_indexed];
		ml_slice_t q = ml_message_str(m, m->queue_id);
		int rc = q.n ? hop_put(c, hop_hash(HOP_BY_QID, q.p, q.n), m) : ML_OK;
		if (!rc && m->docid)
			rc = hop_put(c, hop_hash(HOP_BY_DOCID, &m->docid, sizeof m->docid), m);
		for (uint32_t i = 0; i < m->nrcpts && !rc; i++) {
			const ml_rcpt_t *r = &m->rcpts[i];
			ml_slice_t n = row_next(m, r);
			if (n.n)
				rc = hop_put(c, hop_hash(HOP_BY_NEXT, n.p, n.n), m);
			if (!rc && r->status == ML_ST_BOUNCED && r->reason.len)
				rc = hop_put(c, hop_hash_addr(HOP_BY_BOUNCED, ml_message_str(m, r->to)), m);
			if (!rc && (m->flags & ML_MSG_NOQUEUE))
				rc = hop_put(c, hop_hash_addr(HOP_BY_REJECT, ml_message_str(m, r->to)), m);
		}
		if (rc)
			return rc;
	}
	return ML_OK;
}

/* The batch's messages under (kind, key): call with *pos = 0, then again
 * while it returns non-NULL.  A message may come more than once. */
static ml_message_t *hop_next(const ml_corr_t *c, uint64_t h, size_t *pos)
{
	if (!c->nhop_slots)
		return NULL;
	size_t mask = c->nhop_slots - 1;
	for (size_t i = *pos ? *pos : (h & mask) + 1; c->hops[(i - 1) & mask].m; i++) {
		const slot_t *e = &c->hops[(i - 1) & mask];
		if (e->hash == h) {
			*pos = i + 1;
			return e->m;
		}
	}
	return NULL;
}

static int in_batch(const ml_corr_t *c, uint64_t docid)
{
	size_t pos = 0;
	uint64_t h = hop_hash(HOP_BY_DOCID, &docid, sizeof docid);
	for (ml_message_t *m; (m = hop_next(c, h, &pos));)
		if (m->docid == docid)
			return 1;
	return 0;
}

static int str_eq(const ml_message_t *a, ml_str_t x, const ml_message_t *b, ml_str_t y, int icase)
{
	ml_slice_t p = ml_message_str(a, x), q = ml_message_str(b, y);
	return p.n == q.n && (icase ? ml_memieq(p.p, q.p, p.n) : memcmp(p.p, q.p, p.n) == 0);
}

/* The first labels of two host names agree ("mx1" and "MX1.example.com");
 * -1 when either is unknown (empty, "unknown", an address). */
static int same_host_name(ml_slice_t a, ml_slice_t b)
{
	ml_slice_t v[2] = { a, b };
	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		while (n < v[k].n && v[k].p[n] != '.')
			n++;
		int digits = 1;
		for (size_t i = 0; i < v[k].n && digits; i++)
			digits = (v[k].p[i] >= '0' && v[k].p[i] <= '9') || v[k].p[i] == '.' || v[k].p[i] == ':';
		if (!n || digits || ml_slice_ieq(v[k], "unknown"))
			return -1;
		v[k].n = n;
	}
	return v[0].n == v[1].n && ml_memieq(v[0].p, v[1].p, v[0].n);
}

static int is_loopback_ip(ml_slice_t ip)
{
	return ml_slice_starts(ip, "127.") || ml_slice_eq(ip, "::1");
}

/* Has e a row handed on to n already (another row of the same delivery, or
 * a content filter's verdict)?  (n's prev_qid alone does not tell: queue
 * IDs come again.) */
static int handed_to(const ml_message_t *e, const ml_message_t *n)
{
	ml_slice_t nq = ml_message_str(n, n->queue_id), q;
	int named = str_eq(e, e->next_qid, n, n->queue_id, 0);  /* a filter's verdict named it */
	for (uint32_t k = 0; k < e->nrcpts; k++) {
		if (!(e->rcpts[k].flags & ML_RCPT_HANDED_ON))
			continue;
		if (named || (ml_nexthop_qid(ml_message_str(e, e->rcpts[k].reason), &q) && q.n == nq.n &&
		              memcmp(q.p, nq.p, q.n) == 0))
			return 1;
	}
	return 0;
}

/* Has n a row of the recipient of e's row r (its address or the one before
 * e expanded it, as n's final or original address)? */
static int hop_has_rcpt(const ml_message_t *n, const ml_message_t *e, const ml_rcpt_t *r)
{
	for (uint32_t j = 0; j < n->nrcpts; j++) {
		const ml_rcpt_t *x = &n->rcpts[j];
		if ((r->to.len && (str_eq(n, x->to, e, r->to, 1) || str_eq(n, x->orig_to, e, r->to, 1))) ||
		    (r->orig_to.len && (str_eq(n, x->to, e, r->orig_to, 1) || str_eq(n, x->orig_to, e, r->orig_to, 1))))
			return 1;
	}
	return 0;
}

/*
 * Is n the next hop of row i of e (whose reply named n's queue ID)?  0 no;
 * else a score, the higher the surer: 1 nothing speaks against it; +1 the
 * next hop's client name is e's host, +1 the relay's name is n's host, +2
 * the message-ids agree; 8 linked already.  No when n was first seen out of
 * the window around the delivery; when it was rejected; when it has rows
 * and none of the recipient; when one side is on loopback and the other
 * not; when both have a message-id and they differ; when both names are
 * known and neither agrees.
 */
static int hop_fits(const ml_message_t *e, int i, const ml_message_t *n)
{
	const ml_rcpt_t *r = &e->rcpts[i];
	if (n == e || (n->host.len == e->host.len && str_eq(n, n->host, e, e->host, 1) &&
	               str_eq(n, n->queue_id, e, e->queue_id, 0)))
		return 0;
	if (n->prev_qid.len)
		return str_eq(n, n->prev_qid, e, e->queue_id, 0) && handed_to(e, n) ? 8 : 0;
	if (n->first_us < r->time_us - HOP_BEFORE_US || n->first_us > r->time_us + HOP_AFTER_US)
		return 0;
	if (n->flags & ML_MSG_REJECTED)
		return 0;  /* the next hop took the mail: e's row is delivered */
	if (n->nrcpts && !hop_has_rcpt(n, e, r))
		return 0;  /* its recipients are known, and not this one */
	ml_slice_t relay = ml_message_str(e, r->relay);
	ml_slice_t ip = ml_nexthop_relay_ip(relay), nip = ml_message_str(n, n->client_ip);
	if (!ip.n && !ml_nexthop_relay_name(relay).n)
		return 0;  /* a relay naming no host ("local", a transport): no MTA behind it */
	if (ip.n && nip.n && is_loopback_ip(ip) != is_loopback_ip(nip))
		return 0;
	int score = 1;
	if (e->message_id.len && n->message_id.len) {
		if (!str_eq(e, e->message_id, n, n->message_id, 0))
			return 0;
		score += 2;
	}
	int by_client = same_host_name(ml_message_str(n, n->client_name), ml_message_str(e, e->host));
	int by_relay = same_host_name(ml_nexthop_relay_name(relay), ml_message_str(n, n->host));
	if (by_client == 0 && by_relay == 0 && score == 1)
		return 0;
	return score + (by_client == 1) + (by_relay == 1);
}

/* A stored message loaded for a link joins the batch. */
static int adopt(ml_corr_t *c, ml_message_t *tmp, ml_message_t **out)
{
	ml_message_t *m = new_message(c);
	if (!m)
		return ML_ENOMEM;
	*m = *tmp;  /* takes over tmp's buffers */
	ml_message_init(tmp);
	ml_slice_t host = ml_message_str(m, m->host), qid = ml_message_str(m, m->queue_id);
	uint64_t h = key_hash(host, qid);
	/* lines of this batch about its queue ID went to a newer message */
	int rc = !qid.n || find_slot(c, h, host, qid) ? ML_OK : table_insert(c, h, m);
	*out = m;
	return rc ? rc : hop_sync(c);  /* found by the next lookups, not loaded again */
}

/* The addresses of the recipient, the next hop's row of it, with the
 * address it had at the first hop. */
static int hop_row(ml_message_t *n, ml_slice_t to, ml_slice_t orig)
{
	int found = 0, rc = 0;
	for (uint32_t j = 0; j < n->nrcpts && !rc; j++) {
		ml_slice_t t = ml_message_str(n, n->rcpts[j].to), o = ml_message_str(n, n->rcpts[j].orig_to);
		if (t.n == to.n && ml_memieq(t.p, to.p, to.n)) {
			found = 1;
			if (orig.n && !o.n)
				rc = ml_message_set(n, &n->rcpts[j].orig_to, orig.p, orig.n);
		} else if (o.n == to.n && ml_memieq(o.p, to.p, to.n)) {
			found = 1;  /* expanded at the next hop (an alias) */
		}
	}
	if (rc || found)
		return rc;
	int k = ml_message_add_rcpt(n);
	if (k < 0)
		return k;
	rc = ml_message_set(n, &n->rcpts[k].to, to.p, to.n);
	if (!rc)
		rc = ml_message_set(n, &n->rcpts[k].orig_to, orig.p, orig.n);
	return rc;
}

/* Row i of e went on as message n: link them. */
static int hop_link(ml_message_t *e, int i, ml_message_t *n)
{
	e->rcpts[i].flags |= ML_RCPT_HANDED_ON;
	int rc = 0;
	if (!e->next_qid.len)
		rc = set_if(e, &e->next_qid, ml_message_str(n, n->queue_id));
	n->flags |= ML_MSG_CONTINUED;
	if (!rc && !n->prev_qid.len) {
		rc = set_if(n, &n->prev_qid, ml_message_str(e, e->queue_id));
		/* the first hop's client is the one a search asks about */
		if (!rc && e->client_ip.len) {
			rc = ml_message_set(n, &n->client_ip, e->strs.data + e->client_ip.off, e->client_ip.len);
			if (!rc)
				rc = ml_message_set(n, &n->client_name, e->strs.data + e->client_name.off,
				                    e->client_name.len);
			if (!rc && e->helo.len)
				rc = set_if(n, &n->helo, ml_message_str(e, e->helo));
		}
	}
	struct { ml_str_t *to; ml_str_t from; } take[] = {
		{ &n->from, e->from }, { &n->message_id, e->message_id }, { &n->subject, e->subject },
		{ &n->sasl_user, e->sasl_user },
	};
	for (size_t k = 0; k < ML_ARRAY_LEN(take) && !rc; k++)
		if (!take[k].to->len)
			rc = set_if(n, take[k].to, ml_message_str(e, take[k].from));
	if (!rc)
		rc = hop_row(n, ml_message_str(e, e->rcpts[i].to), ml_message_str(e, e->rcpts[i].orig_to));
	/* a recipient the next hop refused at RCPT (in a transaction it took
	 * others of): the first hop's row, bounced with that reply, tells it */
	for (uint32_t j = 0; j < n->nrcpts && !rc; j++) {
		if (n->rcpts[j].status != ML_ST_BLOCKED)
			continue;
		for (uint32_t k = 0; k < e->nrcpts; k++)
			if (e->rcpts[k].status == ML_ST_BOUNCED && str_eq(e, e->rcpts[k].to, n, n->rcpts[j].to, 1))
				n->rcpts[j].flags |= ML_RCPT_HANDED_ON;
	}
	return rc;
}

typedef struct {
	ml_message_t *m;     /* in the batch, or NULL */
	ml_message_t tmp;    /* loaded from storage (m NULL) */
	int loaded, score, row;
	int ties;            /* other candidates as good: none is linked */
} hop_best_t;

/* Candidate x (of the batch, or loaded: then kept only when better). */
static void hop_consider(hop_best_t *b, ml_message_t *x, int loaded, int score, int row)
{
	if (!score || (!loaded && x == b->m) || (loaded && b->loaded && x->docid == b->tmp.docid))
		return;  /* no, or the best again */
	if (score == b->score)
		b->ties++;
	if (score <= b->score)
		return;
	b->score = score;
	b->row = row;
	b->ties = 0;
	if (loaded) {
		ml_message_t t = b->tmp;
		b->tmp = *x;
		*x = t;  /* the one it replaces is reset by the caller */
		b->m = NULL;
		b->loaded = 1;
	} else {
		b->m = x;
		b->loaded = 0;
	}
}

static int hop_take(ml_corr_t *c, hop_best_t *b, ml_message_t **out)
{
	if (!b->loaded) {
		*out = b->m;
		return ML_OK;
	}
	/* scored on its row: now whole, to be stored again */
	uint64_t docid = b->tmp.docid;
	ml_message_reset(&b->tmp);
	int rc = c->store.get(c->store.ctx, docid, 1, &b->tmp);
	b->loaded = 0;
	return rc ? rc : adopt(c, &b->tmp, out);
}

/* A queue ID copied into qb (64 bytes), or empty when longer. */
static ml_slice_t qid_copy(char *qb, ml_slice_t q)
{
	if (!q.n || q.n > 64)
		return ML_SLICE_NULL;
	memcpy(qb, q.p, q.n);
	return ml_slice(qb, q.n);
}

/* Candidate x, a next hop of queue ID q for row i of m: its score. */
static int score_next(const ml_message_t *m, int i, const ml_message_t *x, ml_slice_t q, int *row)
{
	ml_slice_t xq = ml_message_str(x, x->queue_id);
	*row = 0;
	return xq.n == q.n && memcmp(xq.p, q.p, q.n) == 0 ? hop_fits(m, i, x) : 0;
}

/* Candidate x, waiting for m (of queue ID q): the score of its best row. */
static int score_waiting(const ml_message_t *m, int i, const ml_message_t *x, ml_slice_t q, int *row)
{
	(void)i;
	int best = 0;
	for (uint32_t k = 0; k < x->nrcpts; k++) {
		ml_slice_t n = row_next(x, &x->rcpts[k]);
		int sc = n.n == q.n && memcmp(n.p, q.p, q.n) == 0 ? hop_fits(x, (int)k, m) : 0;
		if (sc > best) {
			best = sc;
			*row = (int)k;
		}
	}
	return best;
}

typedef int (*hop_score_fn)(const ml_message_t *m, int i, const ml_message_t *x, ml_slice_t q, int *row);

/* The batch's messages under (kind, q), then, when none fits, the stored
 * ones (find by: ML_HOP_BY_*) not in the batch: each scored by fn, the best
 * in b. */
static int hop_search(ml_corr_t *c, int kind, int by, ml_slice_t q, int64_t since, int64_t until,
                      hop_score_fn fn, const ml_message_t *m, int i, hop_best_t *b)
{
	size_t pos = 0;
	int row = 0;
	uint64_t h = kind == HOP_BY_BOUNCED || kind == HOP_BY_REJECT ? hop_hash_addr(kind, q) : hop_hash(kind, q.p, q.n);
	for (ml_message_t *x; (x = hop_next(c, h, &pos));) {
		int sc = x != m ? fn(m, i, x, q, &row) : 0;
		hop_consider(b, x, 0, sc, row);
	}
	if (b->score || !c->store.find)
		return ML_OK;
	uint64_t ids[HOP_CANDIDATES];
	size_t nids = 0;
	int rc = c->store.find(c->store.ctx, by, q, since, until, ids, HOP_CANDIDATES, &nids);
	ml_message_t x;
	ml_message_init(&x);
	for (size_t k = 0; k < nids && !rc; k++) {
		if (in_batch(c, ids[k]))
			continue;
		ml_message_reset(&x);
		rc = c->store.get(c->store.ctx, ids[k], 0, &x);
		if (!rc) {
			int sc = fn(m, i, &x, q, &row);
			hop_consider(b, &x, 1, sc, row);
		}
		if (rc == ML_ENOTFOUND || rc == ML_ECORRUPT)
			rc = ML_OK;  /* gone, or unreadable: not a hop to link */
	}
	ml_message_free(&x);
	return rc;
}

/* The rows of m that name a next hop, each linked to it when it is found. */
static int link_forward(ml_corr_t *c, ml_message_t *m)
{
	int rc = 0;
	for (uint32_t i = 0; i < m->nrcpts && !rc; i++) {
		char qb[64];
		ml_slice_t q = qid_copy(qb, row_next(m, &m->rcpts[i]));
		if (!q.n)
			continue;
		hop_best_t b = { .score = 0 };
		ml_message_init(&b.tmp);
		int64_t t = m->rcpts[i].time_us;
		rc = hop_search(c, HOP_BY_QID, ML_HOP_BY_QID, q, t - HOP_BEFORE_US, t + HOP_AFTER_US, score_next, m, (int)i, &b);
		ml_message_t *n = NULL;
		if (!rc && b.score && !b.ties)
			rc = hop_take(c, &b, &n);
		if (!rc && n)
			rc = hop_link(m, (int)i, n);
		ml_message_free(&b.tmp);
	}
	return rc;
}

/* m as the next hop of the best first hop found under key q (kind, by)
 * that fn scores, first seen up to HOP_WAIT_US before m. */
static int link_to_first(ml_corr_t *c, ml_message_t *m, int kind, int by, ml_slice_t q, hop_score_fn fn)
{
	hop_best_t b = { .score = 0 };
	ml_message_init(&b.tmp);
	int rc = hop_search(c, kind, by, q, m->first_us - HOP_WAIT_US, m->first_us + HOP_AFTER_US, fn, m, 0, &b);
	ml_message_t *e = NULL;
	if (!rc && b.score && !b.ties)
		rc = hop_take(c, &b, &e);
	if (!rc && e)
		rc = hop_link(e, b.row, m);
	ml_message_free(&b.tmp);
	return rc;
}

/* m, new in this batch and come from a client, as the next hop of a
 * message waiting for it. */
static int link_back(ml_corr_t *c, ml_message_t *m)
{
	if (m->docid || (m->flags & ML_MSG_CONTINUED) || m->prev_qid.len || !m->client_ip.len)
		return ML_OK;
	char qb[64];
	ml_slice_t q = qid_copy(qb, ml_message_str(m, m->queue_id));
	if (!q.n)
		return ML_OK;
	return link_to_first(c, m, HOP_BY_NEXT, ML_HOP_BY_NEXT, q, score_waiting);
}

/* Does row k of e (bounced with the next hop's reply) tell the refusal
 * that NOQUEUE reject x logged?  Its one row of the same recipient,
 * blocked, in the window around the bounce, its reply in e's. */
static int refusal_fits(const ml_message_t *e, int k, const ml_message_t *x)
{
	if (x == e || !(x->flags & ML_MSG_NOQUEUE) || (x->flags & ML_MSG_CONTINUED) || x->nrcpts != 1 ||
	    (e->flags & ML_MSG_NOQUEUE))
		return 0;
	const ml_rcpt_t *r = &e->rcpts[k], *xr = &x->rcpts[0];
	if (r->status != ML_ST_BOUNCED || (r->flags & ML_RCPT_HANDED_ON) || xr->status != ML_ST_BLOCKED ||
	    (xr->flags & ML_RCPT_HANDED_ON) || !str_eq(e, r->to, x, xr->to, 1))
		return 0;
	if (xr->time_us < r->time_us - HOP_BEFORE_US || xr->time_us > r->time_us + HOP_AFTER_US)
		return 0;
	if (e->from.len && x->from.len && !str_eq(e, e->from, x, x->from, 1))
		return 0;
	ml_slice_t said = ml_message_str(e, r->reason), reply = ml_message_str(x, xr->reason);
	if (reply.n < 8 || reply.n > said.n)
		return 0;
	for (size_t i = 0; i + reply.n <= said.n; i++)
		if (memcmp(said.p + i, reply.p, reply.n) == 0)
			return 1;
	return 0;
}

static int score_refused(const ml_message_t *m, int i, const ml_message_t *x, ml_slice_t q, int *row)
{
	(void)q;
	*row = 0;
	return refusal_fits(m, i, x);
}

static int score_refuser(const ml_message_t *m, int i, const ml_message_t *x, ml_slice_t q, int *row)
{
	(void)i;
	(void)q;
	for (uint32_t k = 0; k < x->nrcpts; k++)
		if (refusal_fits(x, (int)k, m)) {
			*row = (int)k;
			return 1;
		}
	return 0;
}

/* The NOQUEUE reject x is the refusal row k of e bounced with. */
static int refusal_link(ml_message_t *e, ml_message_t *x)
{
	x->rcpts[0].flags |= ML_RCPT_HANDED_ON;
	x->flags |= ML_MSG_CONTINUED;
	return set_if(x, &x->prev_qid, ml_message_str(e, e->queue_id));
}

/* m's bounced rows whose reply is a next hop's NOQUEUE reject, and m as such
 * a reject (new in this batch): linked. */
static int link_refused(ml_corr_t *c, ml_message_t *m)
{
	int rc = 0;
	int noqueue = (m->flags & ML_MSG_NOQUEUE) != 0;
	if (noqueue && (m->docid || m->nrcpts != 1 || (m->flags & ML_MSG_CONTINUED)))
		return ML_OK;
	for (uint32_t i = 0; i < m->nrcpts && !rc; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		if (!noqueue && (r->status != ML_ST_BOUNCED || !r->reason.len || (r->flags & ML_RCPT_HANDED_ON)))
			continue;
		char ab[256];
		ml_slice_t to = ml_message_str(m, r->to);
		if (!to.n || to.n > sizeof ab)
			continue;
		memcpy(ab, to.p, to.n);
		to = ml_slice(ab, to.n);
		hop_best_t b = { .score = 0 };
		ml_message_init(&b.tmp);
		int64_t t = r->time_us;
		rc = hop_search(c, noqueue ? HOP_BY_BOUNCED : HOP_BY_REJECT, ML_HOP_BY_RCPT, to, t - HOP_BEFORE_US,
		                t + HOP_AFTER_US, noqueue ? score_refuser : score_refused, m, (int)i, &b);
		ml_message_t *o = NULL;
		if (!rc && b.score && !b.ties)
			rc = hop_take(c, &b, &o);
		if (!rc && o)
			rc = noqueue ? refusal_link(o, m) : refusal_link(m, o);
		ml_message_free(&b.tmp);
	}
	return rc;
}

/* Candidate x, the first hop m continues (m->prev_qid is x's queue ID q):
 * the score of x's best row that names m and is not handed on yet. */
static int score_first(const ml_message_t *m, int i, const ml_message_t *x, ml_slice_t q, int *row)
{
	ml_slice_t xq = ml_message_str(x, x->queue_id);
	if (xq.n != q.n || memcmp(xq.p, q.p, q.n) != 0)
		return 0;
	/* its rows that name m, as those of a message waiting for m */
	return score_waiting(m, i, x, ml_message_str(m, m->queue_id), row);
}

/* m, a next hop stored before this batch and linked already, whose first
 * hop is not in the batch: a row of the first hop that names m and was not
 * linked then (m had no row of its recipient yet) is linked now, as one run
 * would have linked it (the first hop, closed and stored, is not looked at
 * again otherwise). */
static int link_rest(ml_corr_t *c, ml_message_t *m)
{
	if (!m->docid || !m->prev_qid.len || !c->store.find)
		return ML_OK;
	char qb[64];
	ml_slice_t q = qid_copy(qb, ml_message_str(m, m->prev_qid));
	if (!q.n)
		return ML_OK;
	size_t pos = 0;
	for (ml_message_t *x; (x = hop_next(c, hop_hash(HOP_BY_QID, q.p, q.n), &pos));)
		if (x != m)
			return ML_OK;   /* in the batch: its own link_forward looks */
	return link_to_first(c, m, HOP_BY_QID, ML_HOP_BY_QID, q, score_first);
}

/* Every dirty message not looked at yet: its hops, both ways.  Messages
 * loaded for a link are dirty too, and looked at in turn. */
static int link_hops(ml_corr_t *c)
{
	int rc = 0;
	while (!rc && c->nlinked < c->ndirty) {
		rc = hop_sync(c);
		ml_message_t *m = c->dirty[c->nlinked];
		if (!rc && !(m->flags & ML_MSG_NOQUEUE))
			rc = link_forward(c, m);
		if (!rc && !(m->flags & ML_MSG_NOQUEUE))
			rc = link_back(c, m);
		if (!rc && !(m->flags & ML_MSG_NOQUEUE))
			rc = link_rest(c, m);
		if (!rc)
			rc = link_refused(c, m);
		if (!rc)
			c->nlinked++;
	}
	return rc;
}

int ml_corr_link(ml_corr_t *c)
{
	return link_hops(c);
}

size_t ml_corr_dirty(ml_corr_t *c, ml_message_t ***msgs)
{
	(void)link_hops(c);  /* the caller that wants its error calls ml_corr_link first */
	for (; c->ndirected < c->ndirty; c->ndirected++)
		set_direction(c, c->dirty[c->ndirected]);
	*msgs = c->dirty;
	return c->ndirty;
}

/* The batch's tables emptied (its messages freed or handed over). */
static void forget(ml_corr_t *c)
{
	c->ndirty = 0;
	c->ndirected = 0;
	c->nlinked = c->hops_indexed = 0;
	if (c->nhops)
		memset(c->hops, 0, c->nhop_slots * sizeof *c->hops);
	c->nhops = 0;
	memset(c->slots, 0, c->nslots * sizeof *c->slots);
	c->used = 0;
	/* filter lines that waited too long for their message are dropped */
	size_t k = 0;
	for (size_t i = 0; i < c->npend; i++) {
		if (c->newest_us - c->pend[i].time_us > PEND_US)
			free(c->pend[i].line);
		else
			c->pend[k++] = c->pend[i];
	}
	c->npend = k;
}

size_t ml_corr_detach(ml_corr_t *c, ml_message_t ***msgs)
{
	size_t n = ml_corr_dirty(c, msgs);
	c->dirty = NULL;
	c->dirty_cap = 0;
	forget(c);
	return n;
}

void ml_corr_done(ml_corr_t *c)
{
	for (size_t i = 0; i < c->ndirty; i++) {
		ml_message_free(c->dirty[i]);
		free(c->dirty[i]);
	}
	forget(c);
}
