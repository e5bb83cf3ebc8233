/*
 * exim.c — the Exim parser: Exim's log line → time + message part →
 * ml_event_t (the mapping is in exim.h).
 *
 * A pure function over bytes: no allocation, no state, no NUL-termination
 * assumed; every scan is bounded by the end of the message.  Slices in the
 * event point into the message or, for `reason` keys and the "*>" reason,
 * to string constants.
 *
 * Exim writes a line as "[ID ]BODY".  BODY is either a flag ("<=", "=>",
 * "->", "*>", "**", "==") and an address followed by space-separated
 * KEY=value items, or free text, often after the same KEY=value items
 * ("H=... F=<...> rejected RCPT <...>: text").  Items are read by one
 * tokenizer (next_item): a value runs to the next space, except
 *   H=   "name (helo) [ip]:port" in any of its partial forms,
 *   "..." a quoted value (T=, C=, DN=) with backslash escapes,
 * and an item followed by ':' then a space or the end closes the list:
 * what follows is the free text (the reason of a failure or deferral).
 */
#include "exim.h"
#include "scan.h"

#include <stdint.h>
#include <string.h>

/* ---- time -------------------------------------------------------------- */

void ml_exim_time_init(ml_exim_time_t *t)
{
	memset(t, 0, sizeof *t);
	ml_hourcache_init(&t->hours);
}

static int num2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ml_is_digit((unsigned char)p[i]))
			return 0;
	return 1;
}

/*
 * "YYYY-MM-DD HH:MM:SS" at p (19 bytes), optional ".fff" fraction.  Fills the
 * parts; returns the end, NULL when there is no valid timestamp.
 */
typedef struct {
	int year, mon, day, hour, min, sec;
	int64_t us;
} tparts_t;

static const char *parse_stamp(const char *p, const char *e, tparts_t *t)
{
	if (e - p < 19 || p[4] != '-' || p[7] != '-' || p[10] != ' ' || p[13] != ':' || p[16] != ':')
		return NULL;
	if (!all_digits(p, 4) || !all_digits(p + 5, 2) || !all_digits(p + 8, 2) || !all_digits(p + 11, 2) ||
	    !all_digits(p + 14, 2) || !all_digits(p + 17, 2))
		return NULL;
	t->year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + num2(p + 2);
	t->mon = num2(p + 5);
	t->day = num2(p + 8);
	t->hour = num2(p + 11);
	t->min = num2(p + 14);
	t->sec = num2(p + 17);
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (t->mon < 1 || t->mon > 12 || t->day < 1 || t->day > mdays[t->mon - 1] || t->hour > 23 ||
	    t->min > 59 || t->sec > 60)
		return NULL;
	p += 19;
	t->us = 0;
	if (p < e && *p == '.' && p + 1 < e && ml_is_digit((unsigned char)p[1])) {
		p++;
		int64_t scale = 100000;
		for (; p < e && ml_is_digit((unsigned char)*p); p++) {
			t->us += (*p - '0') * scale;
			scale /= 10;
		}
	}
	return p;
}

/* " +hhmm" / " -hhmm" at p → minutes east; 1 when present. */
static int parse_zone(const char *p, const char *e, int *minutes)
{
	if (e - p < 6 || p[0] != ' ' || (p[1] != '+' && p[1] != '-') || !all_digits(p + 2, 4))
		return 0;
	if (p + 6 < e && p[6] != ' ')
		return 0;
	int m = num2(p + 2) * 60 + num2(p + 4);
	*minutes = p[1] == '-' ? -m : m;
	return 1;
}

/* "[digits] " at p: the pid; returns the pointer after it, or p. */
static const char *parse_pid(const char *p, const char *e, ml_slice_t *pid)
{
	if (p < e && *p == '[') {
		const char *q = p + 1;
		while (q < e && q - p < 24 && *q != ']')
			q++;
		if (q < e && *q == ']' && q > p + 1 && (q + 1 == e || q[1] == ' ')) {
			*pid = ml_sl(p + 1, q);
			return ML_HAS(q, e, "] ") ? ML_AFTER(q, "] ") : e;
		}
	}
	*pid = ML_SLICE_NULL;
	return p;
}

/*
 * "host exim[pid]: " after the timestamp (a syslog header written after
 * Exim's own timestamp by some forwarders): skipped.
 */
static const char *skip_foreign_tag(const char *p, const char *e)
{
	const char *sp = memchr(p, ' ', (size_t)(e - p) < 256 ? (size_t)(e - p) : 256);
	if (!sp || sp == p)
		return p;
	const char *t = sp + 1;
	if (!ML_HAS(t, e, "exim"))
		return p;
	const char *c = memchr(t, ':', (size_t)(e - t) < 32 ? (size_t)(e - t) : 32);
	if (!c || !ML_HAS(c, e, ": "))
		return p;
	for (const char *q = t; q < c; q++)
		if (*q == ' ')
			return p;
	return ML_AFTER(c, ": ");
}

int ml_exim_parse_line(const char *line, size_t n, ml_exim_time_t *t, ml_slice_t *msg)
{
	const char *p = line ? line : "", *e = p + (line ? n : 0);
	while (e > p && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	if (p < e && (*p == ' ' || *p == '\t')) {
		*msg = ml_sl(p, e);
		return ML_EXIM_CONTINUATION;
	}
	tparts_t tp;
	const char *q = parse_stamp(p, e, &tp);
	if (!q)
		return ML_EPARSE;
	int zone = 0;
	t->has_zone = parse_zone(q, e, &zone);
	if (t->has_zone)
		q += 6;
	int64_t secs = t->has_zone
		? ml_utc_seconds(tp.year, tp.mon, tp.day, tp.hour, tp.min, tp.sec) - (int64_t)zone * 60
		: ml_local_seconds_cached(&t->hours, tp.year, tp.mon, tp.day, tp.hour, tp.min, tp.sec);
	t->time_us = secs * 1000000 + tp.us;
	if (q < e && *q == ' ')
		q++;
	else if (q != e)
		return ML_EPARSE;
	q = parse_pid(q, e, &t->pid);
	q = skip_foreign_tag(q, e);
	*msg = ml_sl(q, e);
	return 0;
}

int ml_exim_is_program(ml_slice_t program)
{
	if (!program.p)
		return 0;
	size_t n = program.n;
	const char *b = memchr(program.p, '[', n);
	if (b)
		n = (size_t)(b - program.p);
	return ML_IS(program.p, n, "exim") || ML_IS(program.p, n, "exim4");
}

/* ---- message IDs ------------------------------------------------------- */

static int alnum_run(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ml_is_alnum((unsigned char)p[i]))
			return 0;
	return 1;
}

int ml_exim_is_msgid(ml_slice_t s)
{
	const char *p = s.p;
	if (!p)
		return 0;
	if (s.n == 16)
		return p[6] == '-' && p[13] == '-' && alnum_run(p, 6) && alnum_run(p + 7, 6) && alnum_run(p + 14, 2);
	if (s.n == 23)
		return p[6] == '-' && p[18] == '-' && alnum_run(p, 6) && alnum_run(p + 7, 11) && alnum_run(p + 19, 4);
	return 0;
}

/* An ID at p followed by a space or the end: its length, else 0. */
static size_t take_id(const char *p, const char *e)
{
	size_t avail = (size_t)(e - p);
	if (avail < 16 || p[6] != '-')
		return 0;
	size_t n = p[13] == '-' ? 16 : 23;
	if (avail < n || (avail > n && p[n] != ' '))
		return 0;
	return ml_exim_is_msgid(ml_slice(p, n)) ? n : 0;
}

/* ---- event outcomes ---------------------------------------------------- */

/* ---- values -------------------------------------------------------------- */

/* A quoted value at p ('"'): the end after the closing quote (or e); *in the
 * bytes between the quotes. */
static const char *quoted(const char *p, const char *e, ml_slice_t *in)
{
	const char *q = p + 1;
	while (q < e) {
		if (*q == '\\') {
			q += 2;
			continue;
		}
		if (*q == '"')
			break;
		q++;
	}
	if (q > e)
		q = e;
	*in = ml_sl(p + 1, q);
	return q < e ? q + 1 : e;
}

/* The end of a word at p: the next space, or a ':' followed by a space or the
 * end (that colon closes the item list). */
static const char *word_end(const char *p, const char *e)
{
	const char *q = p;
	while (q < e && *q != ' ') {
		if (*q == ':' && (q + 1 == e || q[1] == ' '))
			break;
		q++;
	}
	return q;
}

typedef struct {
	ml_slice_t name, helo, ip, all;
} host_t;

/* H= value: "name", "(helo)", "[ip]", ":port" in that order, parts optional,
 * separated by single spaces.  Returns the end. */
static const char *parse_host(const char *p, const char *e, host_t *h)
{
	memset(h, 0, sizeof *h);
	const char *s = p, *q = p, *end = p;
	if (q < e && *q != '(' && *q != '[') {
		const char *w = q;
		while (w < e && *w != ' ' && *w != '[')
			w++;
		/* A trailing ':' of the last item is not part of the name. */
		if (w > q && w[-1] == ':' && (w == e || *w == ' '))
			w--;
		h->name = ml_sl(q, w);
		end = q = w;
		if (q < e && *q == ' ')
			q++;
	}
	if (q < e && *q == '(') {
		const char *c = memchr(q, ')', (size_t)(e - q));
		if (c) {
			h->helo = ml_sl(q + 1, c);
			end = q = c + 1;
			if (q < e && *q == ' ')
				q++;
		}
	}
	if (q < e && *q == '[') {
		const char *c = memchr(q, ']', (size_t)(e - q));
		if (c) {
			h->ip = ml_sl(q + 1, c);
			end = q = c + 1;
			if (q + 1 < e && *q == ':' && q[1] != ' ') {
				while (q < e && *q != ' ')
					q++;
				if (q[-1] == ':' && q > c + 2)
					q--;
				end = q;
			}
		}
	}
	h->all = ml_sl(s, end);
	return end;
}

/* An address at p: "<...>" (the first '>' followed by a space, ':' or the
 * end), a quoted local part ("a b"@x), or a bare word.  Returns the end
 * (after '>'), *a without the brackets. */
static const char *parse_addr(const char *p, const char *e, ml_slice_t *a)
{
	if (p < e && *p == '<') {
		const char *q = p + 1;
		while (q < e && (q = memchr(q, '>', (size_t)(e - q))) != NULL) {
			if (q + 1 == e || q[1] == ' ' || q[1] == ':' || q[1] == ',') {
				*a = ml_sl(p + 1, q);
				return q + 1;
			}
			q++;
		}
		*a = ml_sl(p + 1, e);
		return e;
	}
	const char *q = p;
	if (q < e && *q == '"') {
		ml_slice_t in;
		q = quoted(q, e, &in);
	}
	q = word_end(q, e);
	*a = ml_sl(p, q);
	return q;
}

/* The first enhanced status code in text: at its start or after a space,
 * a ':' or '"'. */
static ml_slice_t find_dsn(ml_slice_t text)
{
	if (!text.n)
		return ML_SLICE_NULL;
	const char *p = text.p, *e = p + text.n;
	for (const char *q = p; q < e; q++) {
		unsigned char c = (unsigned char)*q;
		if ((c != '2' && c != '4' && c != '5') || (q > p && q[-1] != ' ' && q[-1] != ':' && q[-1] != '"'))
			continue;
		ml_slice_t d = ml_scan_dsn(q, e, " ;,\"\\");
		if (d.n)
			return d;
	}
	return ML_SLICE_NULL;
}

/* ---- the item list ------------------------------------------------------- */

/*
 * One item at p (no leading space): *key / *val (key empty for a plain word);
 * H= values go through parse_host into *h when h is not NULL.  Returns the
 * end of the item; *closes = 1 when a ':' after it ends the list (the text
 * then starts after ": ").
 */
typedef struct {
	ml_slice_t key, val;
	host_t host;
	int is_host;
} item_t;

static const char *next_item(const char *p, const char *e, item_t *it)
{
	memset(it, 0, sizeof *it);
	const char *k = p;
	while (k < e && k - p < 16 && (ml_is_alnum((unsigned char)*k) || *k == '_'))
		k++;
	if (k > p && k < e && *k == '=') {
		it->key = ml_sl(p, k);
		const char *v = k + 1;
		if (it->key.n == 1 && *p == 'H') {
			it->is_host = 1;
			const char *end = parse_host(v, e, &it->host);
			it->val = it->host.all;
			return end;
		}
		if (v < e && *v == '"') {
			const char *end = quoted(v, e, &it->val);
			return end;
		}
		if (v < e && *v == '<') {
			const char *end = parse_addr(v, e, &it->val);
			return end;
		}
		const char *end = word_end(v, e);
		it->val = ml_sl(v, end);
		return end;
	}
	const char *end = word_end(p, e);
	it->val = ml_sl(p, end);
	return end;
}

/* After an item: ": " or ":" at the end → the text after it (and 1). */
static int item_closes(const char *q, const char *e, const char **text)
{
	if (ML_HAS(q, e, ": ") || (ML_HAS(q, e, ":") && ML_AFTER(q, ":") == e)) {
		*text = ML_HAS(q, e, ": ") ? ML_AFTER(q, ": ") : e;
		return 1;
	}
	if (ML_HAS(q, e, " : ") || (ML_HAS(q, e, " :") && ML_AFTER(q, " :") == e)) {
		*text = ML_HAS(q, e, " : ") ? ML_AFTER(q, " : ") : e;
		return 1;
	}
	return 0;
}

static int key_is(ml_slice_t k, const char *lit)
{
	return ml_slice_eq(k, lit);
}

/* ---- arrivals ------------------------------------------------------------ */

static void parse_arrival(const char *p, const char *e, ml_event_t *ev)
{
	ev->kind = ML_EV_ARRIVAL;
	ml_slice_t from;
	p = parse_addr(p, e, &from);
	ev->from = from;  /* "<>" gives the empty slice */
	ev->from_set = 1;
	while (p < e) {
		p = ml_scan_skip_sp(p, e);
		if (p >= e)
			break;
		if (ML_HAS(p, e, "for ") ) {
			ev->rcpt_list = ml_sl(ml_scan_skip_sp(ML_AFTER(p, "for "), e), e);
			return;
		}
		item_t it;
		const char *q = next_item(p, e, &it);
		if (it.key.n == 1) {
			switch (it.key.p[0]) {
			case 'H':
				ev->client_name = it.host.name;
				ev->helo = it.host.helo;
				ev->client_ip = it.host.ip;
				break;
			case 'A': {
				const char *c = it.val.n ? memchr(it.val.p, ':', it.val.n) : NULL;
				ev->sasl_user = c ? ml_sl(c + 1, it.val.p + it.val.n) : it.val;
				break;
			}
			case 'P': ev->proto = it.val; break;
			case 'S': ev->size = ml_scan_u64(it.val.p, it.val.p + it.val.n); break;
			case 'T':
				ev->subject = it.val;
				ev->subject_escaped = 1;
				break;
			case 'R':
				if (ml_exim_is_msgid(it.val))
					ev->other_qid = it.val;
				break;
			}
		} else if (key_is(it.key, "id")) {
			ev->msgid = it.val;
		}
		if (q <= p)
			q = p + 1;
		p = q;
		if (p < e && *p == ':')
			p++;
	}
}

/* ---- deliveries ---------------------------------------------------------- */

static int is_local_transport(ml_slice_t t)
{
	if (!t.n)
		return 0;
	const char *p = t.p, *e = p + t.n;
	return ml_slice_eq(t, "appendfile") || ml_slice_eq(t, "local_delivery") || ml_slice_eq(t, "address_file") ||
	       ml_slice_eq(t, "address_directory") || ML_FIND(p, e, "lmtp") || ML_FIND(p, e, "dovecot") ||
	       ML_FIND(p, e, "maildir") || ML_FIND(p, e, "mailbox");
}

static int looks_like_mail_address(ml_slice_t a)
{
	if (!a.n || a.p[0] == '/' || a.p[0] == '|' || a.p[0] == '>' || a.p[0] == ':')
		return 0;
	return memchr(a.p, '@', a.n) != NULL;
}

/*
 * "ADDR [(PARENT)] [<ORIG>] items [: TEXT]" after the flag.  flag: one of
 * '=', '-', '*' (delivered, suppressed), '!' ("**"), '~' ("==").
 */
static void parse_delivery(char flag, const char *p, const char *e, ml_event_t *ev)
{
	ev->kind = ML_EV_DELIVERY;
	const char *a = p, *ae;
	if (p < e && *p == '|') {
		/* A pipe command may hold spaces: it ends before " <", " (" or the items. */
		ae = NULL;
		for (const char *q = p; q < e && (q = memchr(q, ' ', (size_t)(e - q))) != NULL; q++) {
			if (ML_HAS(q, e, " <") || ML_HAS(q, e, " (") || ML_HAS(q, e, " R=") || ML_HAS(q, e, " T=")) {
				ae = q;
				break;
			}
		}
		if (!ae)
			ae = word_end(p, e);
	} else if (ML_HAS(p, e, "blackhole (")) {
		const char *c = memchr(p, ')', (size_t)(e - p));
		ae = c ? c + 1 : e;
		ev->status = ML_ST_BLOCKED;
		ev->reason_text = ml_sl(ML_AFTER(p, "blackhole ("), c ? c : e);
		const char *t;
		if (item_closes(ae, e, &t))
			ev->reason_text = ml_sl(t, e);
		return;
	} else if (ML_HAS(p, e, ":blackhole:")) {
		ae = ML_AFTER(p, ":blackhole:");
	} else {
		ml_slice_t tmp;
		ae = parse_addr(p, e, &tmp);
	}
	ml_slice_t addr = ml_sl(a, ae), parent = ML_SLICE_NULL, orig = ML_SLICE_NULL;
	p = ae;
	if (ML_HAS(p, e, " (")) {
		const char *c = memchr(p, ')', (size_t)(e - p));
		if (c) {
			parent = ml_sl(ML_AFTER(p, " ("), c);
			p = c + 1;
		}
	}
	if (ML_HAS(p, e, " <"))
		p = parse_addr(p + 1, e, &orig);
	if (looks_like_mail_address(addr) || (!parent.n && !orig.n)) {
		ev->to = addr;
		ev->orig_to = orig;
	} else if (parent.n) {
		ev->to = parent;
		if (orig.n && !(orig.n == parent.n && memcmp(orig.p, parent.p, orig.n) == 0))
			ev->orig_to = orig;
	} else {
		ev->to = orig;
	}
	if (ml_slice_eq(addr, ":blackhole:"))
		ev->status = ML_ST_BLOCKED;

	ml_slice_t text = ML_SLICE_NULL, confirm = ML_SLICE_NULL;
	int have_text = 0;
	const char *t;
	if (item_closes(p, e, &t)) {
		text = ml_sl(t, e);
		have_text = 1;
	}
	while (!have_text && p < e) {
		p = ml_scan_skip_sp(p, e);
		if (p >= e)
			break;
		item_t it;
		const char *q = next_item(p, e, &it);
		if (it.key.n == 1) {
			switch (it.key.p[0]) {
			case 'R': ev->router = it.val; break;
			case 'T': ev->transport = it.val; break;
			case 'H': ev->relay = it.host.all; break;
			case 'C': confirm = it.val; break;
			}
		}
		if (q <= p)
			q = p + 1;
		if (item_closes(q, e, &t)) {
			text = ml_sl(t, e);
			have_text = 1;
			break;
		}
		p = q;
	}
	if (!ev->relay.n)
		ev->relay = ev->transport;
	ev->local_delivery = is_local_transport(ev->transport);
	if (ev->status == ML_ST_BLOCKED) {
		ev->reason_text = have_text ? text : ML_SLICE_NULL;
		return;
	}
	switch (flag) {
	case '=':
	case '-':
		ev->status = ML_ST_DELIVERED;
		ev->reason_text = confirm;
		break;
	case '*':
		ev->status = ML_ST_DELIVERED;
		ev->reason_text = confirm.n ? confirm : ml_slice_cstr("delivery suppressed by -N");
		break;
	case '!':
	case '~': {
		ev->status = flag == '!' ? ML_ST_BOUNCED : ML_ST_DELAYED;
		ev->reason_text = have_text ? text : confirm;
		const char *tp = text.p, *te = text.n ? text.p + text.n : text.p;
		if (have_text && ((flag == '!' && ML_HAS(tp, te, "retry timeout exceeded")) ||
				  (ML_FIND(tp, te, "have been failing for a long time") && ML_HAS(tp, te, "all hosts for "))))
			ev->status = ML_ST_EXPIRED;
		break;
	}
	}
	if (ev->reason_text.n)
		ev->dsn = find_dsn(ev->reason_text);
	if (flag == '*' && !confirm.n)
		ev->dsn = ML_SLICE_NULL;
}

/* ---- rejects ------------------------------------------------------------- */

/*
 * The leading items of a line (H=, U=, F=, P=, I=, X=, ...): client and
 * sender into ev.  Returns where the free text starts.
 */
static const char *lead_items(const char *p, const char *e, ml_event_t *ev)
{
	for (;;) {
		p = ml_scan_skip_sp(p, e);
		if (p >= e)
			return e;
		const char *k = p;
		while (k < e && k - p < 8 && (ml_is_alnum((unsigned char)*k) || *k == '_'))
			k++;
		if (k == p || k >= e || *k != '=')
			return p;
		item_t it;
		const char *q = next_item(p, e, &it);
		if (it.key.n == 1) {
			switch (it.key.p[0]) {
			case 'H':
				ev->client_name = it.host.name;
				ev->helo = it.host.helo;
				ev->client_ip = it.host.ip;
				break;
			case 'F':
				ev->from = it.val;
				ev->from_set = 1;
				break;
			case 'P': ev->proto = it.val; break;
			case 'A': {
				const char *c = it.val.n ? memchr(it.val.p, ':', it.val.n) : NULL;
				ev->sasl_user = c ? ml_sl(c + 1, it.val.p + it.val.n) : it.val;
				break;
			}
			}
		}
		if (q <= p)
			q = p + 1;
		p = q;
	}
}

/* The text after the first ": " at or after p, else empty. */
static ml_slice_t text_after_colon(const char *p, const char *e)
{
	const char *c = ML_FIND(p, e, ": ");
	if (c)
		return ml_sl(ML_AFTER(c, ": "), e);
	if (e > p && e[-1] == ':')
		return ml_sl(e, e);
	return ML_SLICE_NULL;
}

static const ml_prefix_t CMD_REJECTS[] = {
	ML_PREFIX("VRFY"), ML_PREFIX("EXPN"), ML_PREFIX("ETRN"), ML_PREFIX("ATRN"), ML_PREFIX("AUTH"), ML_PREFIX("STARTTLS"), ML_PREFIX("WELLKNOWN"),
	ML_PREFIX("XCLIENT"), ML_PREFIX("\""), { NULL, 0 }
};

/*
 * r at "rejected " (temp: the line says "temporarily rejected", which starts
 * at ts).  1 when the line was made into an event.
 */
static int reject_line(const char *ts, const char *r, const char *e, int temp, ml_event_t *ev)
{
	const char *w = ML_AFTER(r, "rejected ");
	int have_id = ev->qid.n > 0;
	if (ml_scan_starts_any(w, e, CMD_REJECTS)) {
		ml_event_skip(ev, "exim command rejected");
		return 1;
	}
	if (ML_HAS(w, e, "RCPT ")) {
		const char *q = parse_addr(ML_AFTER(w, "RCPT "), e, &ev->to);
		ev->reason_text = text_after_colon(q, e);
	} else if (ML_HAS(w, e, "MAIL ") || ML_HAS(w, e, "from ")) {
		const char *a = ML_AFTER(w, "MAIL ");
		if (a < e && *a == '<') {
			const char *q = parse_addr(a, e, &ev->from);
			ev->from_set = 1;
			ev->reason_text = text_after_colon(q, e);
		} else {
			ev->reason_text = text_after_colon(a, e);
		}
	} else if (ML_HAS(w, e, "after ") || ML_HAS(w, e, "DATA") || ML_HAS(w, e, "by ") || ML_HAS(w, e, "during ") ||
		   ML_HAS(w, e, "DKIM") || ML_HAS(w, e, "connection") || ML_HAS(w, e, "EHLO") || ML_HAS(w, e, "HELO") ||
		   ML_HAS(w, e, "BDAT") || ML_HAS(w, e, "(size ") || ML_HAS(w, e, "but ")) {
		ev->to = ML_SLICE_NULL;
		ev->reason_text = text_after_colon(w, e);
	} else {
		return 0;
	}
	if (temp)
		ev->reason_text = ml_sl(ts, e);
	ev->dsn = find_dsn(ev->reason_text);
	ev->status = ML_ST_BLOCKED;
	ev->kind = have_id ? ML_EV_RCPT_REJECT : ML_EV_NOQUEUE_REJECT;
	return 1;
}

/* "rejected EHLO from CLIENT: TEXT", "rejected MAIL FROM:<a@x> ...: TEXT",
 * "rejected MAIL from [ip]: ...", "rejected MAIL command ...". */
static int leading_reject(const char *p, const char *e, ml_event_t *ev)
{
	const char *w = ML_AFTER(p, "rejected ");
	if (ML_HAS(w, e, "EHLO from ") || ML_HAS(w, e, "HELO from ") || ML_HAS(w, e, "MAIL from ")) {
		host_t h;
		parse_host(ML_AFTER(w, "EHLO from "), e, &h);
		ev->client_name = h.name;
		ev->helo = h.helo;
		ev->client_ip = h.ip;
	} else if (ML_HAS(w, e, "MAIL FROM:<")) {
		parse_addr(ML_AFTER(w, "MAIL FROM:"), e, &ev->from);
		ev->from_set = 1;
	} else if (!ML_HAS(w, e, "MAIL ")) {
		ml_event_skip(ev, "exim command rejected");
		return 1;
	}
	ev->reason_text = text_after_colon(w, e);
	ev->dsn = find_dsn(ev->reason_text);
	ev->status = ML_ST_BLOCKED;
	ev->kind = ev->qid.n ? ML_EV_RCPT_REJECT : ML_EV_NOQUEUE_REJECT;
	return 1;
}

/* ---- lines without a message ID ------------------------------------------ */

static const ml_prefix_t CONN_PREFIXES[] = {
	ML_PREFIX("SMTP connection "), ML_PREFIX("SMTP call from "), ML_PREFIX("no host name found"), ML_PREFIX("no IP address found"),
	ML_PREFIX("unexpected disconnection"), ML_PREFIX("SMTP command timeout"), ML_PREFIX("SMTP data timeout"),
	ML_PREFIX("SMTP protocol"), ML_PREFIX("SMTP syntax error"), ML_PREFIX("SMTP incomplete transaction"),
	ML_PREFIX("Connection from "), ML_PREFIX("refused connection from "), ML_PREFIX("connection from "),
	ML_PREFIX("Connection refused"), ML_PREFIX("incomplete transaction"), ML_PREFIX("too many "), ML_PREFIX("ident connection"),
	ML_PREFIX("host name alias list truncated"), ML_PREFIX("SMTP input line too long"), ML_PREFIX("SMTP command"),
	ML_PREFIX("SMTP data"), ML_PREFIX("SMTP session"), ML_PREFIX("SMTP "), ML_PREFIX("ETRN "), ML_PREFIX("ATRN "), ML_PREFIX("ODMR "),
	ML_PREFIX("proxy "), ML_PREFIX("PROXY "), ML_PREFIX("Non-SMTP "), ML_PREFIX("ignoring AUTH="), ML_PREFIX("call from "),
	ML_PREFIX("bad HELO"), ML_PREFIX("multiple "), ML_PREFIX("LOG: "), ML_PREFIX("H="), ML_PREFIX("no MAIL in "),
	ML_PREFIX("overlong message"), ML_PREFIX("NOTQUIT"), { NULL, 0 }
};

static const ml_prefix_t QUEUE_PREFIXES[] = {
	ML_PREFIX("Start queue run"), ML_PREFIX("End queue run"), ML_PREFIX("Start ODMR queue"), ML_PREFIX("End ODMR queue"),
	ML_PREFIX("Start "), ML_PREFIX("End "), ML_PREFIX("queue run"), ML_PREFIX("Queue run"), ML_PREFIX("queue_run"),
	{ NULL, 0 }
};

static const ml_prefix_t TLS_PREFIXES[] = {
	ML_PREFIX("TLS error"), ML_PREFIX("TLS session"), ML_PREFIX("TLS "), ML_PREFIX("SSL "), ML_PREFIX("SSL_"), ML_PREFIX("STARTTLS "),
	ML_PREFIX("DANE "), ML_PREFIX("OCSP "), ML_PREFIX("GnuTLS"), ML_PREFIX("gnutls"), ML_PREFIX("OpenSSL"), ML_PREFIX("certificate "),
	ML_PREFIX("Peer "), ML_PREFIX("peer "), ML_PREFIX("tls"), ML_PREFIX("dane"), ML_PREFIX("(SSL_"), ML_PREFIX("(gnutls_"), { NULL, 0 }
};

static const ml_prefix_t DAEMON_PREFIXES[] = {
	ML_PREFIX("exim "), ML_PREFIX("daemon "), ML_PREFIX("pid "), ML_PREFIX("SIGHUP"), ML_PREFIX("Exim "), ML_PREFIX("exec of "), ML_PREFIX("re-exec"),
	ML_PREFIX("cwd="), ML_PREFIX("listening "), ML_PREFIX("Listening "), ML_PREFIX("daemon"), ML_PREFIX("Daemon "), { NULL, 0 }
};

static const ml_prefix_t INTERNAL_PREFIXES[] = {
	ML_PREFIX("spool file "), ML_PREFIX("Spool file "), ML_PREFIX("tick check"), ML_PREFIX("Warning: "), ML_PREFIX("WARNING: "),
	ML_PREFIX("warning: "), ML_PREFIX("Exim configuration error"), ML_PREFIX("Failed to "), ML_PREFIX("failed to "),
	ML_PREFIX("spool directory"), ML_PREFIX("Spool directory"), ML_PREFIX("Message "), ML_PREFIX("message "),
	ML_PREFIX("lookup of "), ML_PREFIX("Lookup "), ML_PREFIX("DNS "), ML_PREFIX("dns"), ML_PREFIX("retry "), ML_PREFIX("Retry "),
	ML_PREFIX("malware "), ML_PREFIX("spam "), ML_PREFIX("DKIM"), ML_PREFIX("dkim"), ML_PREFIX("DMARC"), ML_PREFIX("SPF"), ML_PREFIX("ARC"),
	ML_PREFIX("arc"), ML_PREFIX("local_scan"), ML_PREFIX("cannot "), ML_PREFIX("Cannot "), ML_PREFIX("unable to "), ML_PREFIX("Unable to "),
	ML_PREFIX("Error "), ML_PREFIX("error "), ML_PREFIX("ACL "), ML_PREFIX("acl"), ML_PREFIX("expansion "), ML_PREFIX("Tainted "),
	ML_PREFIX("tainted "), ML_PREFIX("invalid "), ML_PREFIX("Memory "), ML_PREFIX("Unfrozen "), ML_PREFIX("frozen "),
	ML_PREFIX("user "), ML_PREFIX("User "), ML_PREFIX("EHLO/HELO "), ML_PREFIX("writing "), ML_PREFIX("moved from "), ML_PREFIX("Moved "),
	ML_PREFIX("rejected"), ML_PREFIX("deferred "), ML_PREFIX("Deferred "), ML_PREFIX("Delivery "), ML_PREFIX("delivery "),
	ML_PREFIX("Completed"), ML_PREFIX("redirect"), ML_PREFIX("Temporary "), ML_PREFIX("temporary "), ML_PREFIX("fork "),
	ML_PREFIX("process "), ML_PREFIX("Process "), ML_PREFIX("IPv6 "), ML_PREFIX("socket "), ML_PREFIX("bind"), ML_PREFIX("select"),
	ML_PREFIX("read "), ML_PREFIX("write "), ML_PREFIX("dbfn_"), ML_PREFIX("Domain "), ML_PREFIX("domain "), ML_PREFIX("sender "),
	ML_PREFIX("recipient "), ML_PREFIX("host "), ML_PREFIX("all hosts"), ML_PREFIX("Host "), ML_PREFIX("event "), ML_PREFIX("Event "),
	ML_PREFIX("configured error code"), ML_PREFIX("unqualified "), ML_PREFIX("Expansion of "), ML_PREFIX("expansion of "),
	{ NULL, 0 }
};

static const ml_prefix_t VERIFY_PREFIXES[] = {
	ML_PREFIX("sender verify "), ML_PREFIX("recipient verify "), ML_PREFIX("Sender verify "), ML_PREFIX("Recipient verify "),
	ML_PREFIX("verify "), ML_PREFIX("callout "), ML_PREFIX("Callout "), ML_PREFIX("VRFY "), ML_PREFIX("EXPN "), { NULL, 0 }
};

/* "... authenticator failed for ..." (also "authenticator cancelled"). */
static int auth_line(const char *p, const char *e)
{
	const char *sp = memchr(p, ' ', (size_t)(e - p) < 64 ? (size_t)(e - p) : 64);
	if (!sp)
		return 0;
	return ML_HAS(sp + 1, e, "authenticator ") || ML_HAS(p, e, "authenticator ");
}

/* Text that follows the leading items of a line (no ID, or an ID but no
 * flag).  0 when not recognised. */
static int text_line(const char *lead, const char *p, const char *e, ml_event_t *ev)
{
	/* "[temporarily ]rejected ..." anywhere among the first words after the items. */
	if (ML_HAS(p, e, "rejected "))
		return reject_line(p, p, e, 0, ev);
	if (ML_HAS(p, e, "temporarily rejected "))
		return reject_line(p, ML_AFTER(p, "temporarily "), e, 1, ev);
	(void)lead;
	/* An ACL "discard" of a recipient ("RCPT <a@x>: discarded by RCPT ACL")
	 * or a "drop" of the connection: refused like a reject. */
	if (ML_HAS(p, e, "RCPT ")) {
		const char *q = parse_addr(ML_AFTER(p, "RCPT "), e, &ev->to);
		if (ML_HAS(q, e, ": discarded by ")) {
			ev->reason_text = ml_sl(ML_AFTER(q, ": "), e);
			ev->status = ML_ST_BLOCKED;
			ev->kind = ev->qid.n ? ML_EV_RCPT_REJECT : ML_EV_NOQUEUE_REJECT;
			return 1;
		}
		ev->to = ML_SLICE_NULL;
		return 0;
	}
	if (ML_HAS(p, e, "dropped by ")) {
		ev->reason_text = text_after_colon(p, e);
		ev->dsn = find_dsn(ev->reason_text);
		ev->status = ML_ST_BLOCKED;
		ev->kind = ev->qid.n ? ML_EV_RCPT_REJECT : ML_EV_NOQUEUE_REJECT;
		return 1;
	}
	return 0;
}

/* ---- entry point ----------------------------------------------------------- */

/* The flags after a message ID, each with the flag parse_delivery takes
 * (0: an arrival). */
static const struct {
	ml_prefix_t lit;
	char flag;
} ID_FLAGS[] = {
	{ ML_PREFIX("<= "), 0 }, { ML_PREFIX("=> "), '=' }, { ML_PREFIX("-> "), '-' },
	{ ML_PREFIX("*> "), '*' }, { ML_PREFIX("** "), '!' }, { ML_PREFIX("== "), '~' },
};

static void parse_id_line(const char *p, const char *e, ml_event_t *ev)
{
	for (size_t i = 0; i < ML_ARRAY_LEN(ID_FLAGS); i++) {
		const char *v = ml_scan_skip(p, e, ID_FLAGS[i].lit.s, ID_FLAGS[i].lit.n);
		if (!v)
			continue;
		if (ID_FLAGS[i].flag)
			parse_delivery(ID_FLAGS[i].flag, v, e, ev);
		else
			parse_arrival(v, e, ev);
		return;
	}
	size_t n = (size_t)(e - p);
	if (ML_HAS(p, e, "Completed") && (n == ML_LEN("Completed") || p[ML_LEN("Completed")] == ' ')) {
		ev->kind = ML_EV_REMOVED;
		return;
	}
	if (ML_HAS(p, e, "frozen by ACL")) {
		ev->kind = ML_EV_HOLD;
		ev->status = ML_ST_QUARANTINED;
		ev->reason_text = text_after_colon(p, e);
		return;
	}
	if (ML_HAS(p, e, "Unfrozen by ") || ML_HAS(p, e, "unfrozen by ")) {
		ev->kind = ML_EV_RELEASED;
		return;
	}
	if (ML_HAS(p, e, "removed by ") || (ML_HAS(p, e, "Message removed") && (n == ML_LEN("Message removed") || p[ML_LEN("Message removed")] == ' '))) {
		ev->kind = ML_EV_DELETED;
		return;
	}
	/* Rejects about the message: "[items ][temporarily ]rejected ...", or a
	 * free-text prefix then "rejected" ("local_scan() function timed out -
	 * message temporarily rejected (size 29)" stays INFO). */
	const char *t = lead_items(p, e, ev);
	if (ML_HAS(t, e, "rejected ") || ML_HAS(t, e, "temporarily rejected ")) {
		if (text_line(p, t, e, ev))
			return;
	}
	ml_event_info(ev);
}

static void parse_free_line(const char *p, const char *e, ml_event_t *ev)
{
	if (ML_HAS(p, e, "rejected ")) {
		leading_reject(p, e, ev);
		return;
	}
	const char *t = lead_items(p, e, ev);
	if (t != p || ML_HAS(t, e, "temporarily rejected ") || ML_HAS(t, e, "RCPT ")) {
		if (text_line(p, t, e, ev))
			return;
	}
	ml_event_clear(ev);
	if (ml_scan_starts_any(t, e, VERIFY_PREFIXES) || ML_FIND(t, e, " verify fail") || ML_FIND(t, e, " verify defer")) {
		ml_event_skip(ev, "exim verify");
		return;
	}
	if (auth_line(t, e)) {
		ml_event_skip(ev, "exim auth");
		return;
	}
	if (ml_scan_starts_any(t, e, QUEUE_PREFIXES)) {
		ml_event_skip(ev, "exim queue run");
		return;
	}
	if (ml_scan_starts_any(t, e, CONN_PREFIXES)) {
		ml_event_skip(ev, "exim connection");
		return;
	}
	if (ml_scan_starts_any(t, e, TLS_PREFIXES)) {
		ml_event_skip(ev, "exim tls");
		return;
	}
	if (ml_scan_starts_any(t, e, DAEMON_PREFIXES)) {
		ml_event_skip(ev, "exim daemon");
		return;
	}
	if (ml_scan_starts_any(t, e, INTERNAL_PREFIXES) || ML_FIND(t, e, " verb not allowed in ")) {
		ml_event_skip(ev, "exim internal");
		return;
	}
	ml_event_unknown(ev, "exim: unrecognised");
}

void ml_exim_parse(ml_slice_t msg, ml_event_t *ev)
{
	ml_event_clear(ev);
	const char *p, *e = ml_scan_message(msg, &p);
	if (p < e && (*p == ' ' || *p == '\t')) {
		ml_event_skip(ev, "exim continuation");
		return;
	}
	if (p == e) {
		ml_event_skip(ev, "exim empty line");
		return;
	}
	/* Exim's own timestamp left in a syslog message, then "[pid] ". */
	if (e - p >= 19 && p[4] == '-' && p[10] == ' ') {
		tparts_t tp;
		const char *q = parse_stamp(p, e, &tp);
		if (q) {
			int zone;
			if (parse_zone(q, e, &zone))
				q += 6;
			if (q < e && *q == ' ')
				q++;
			ml_slice_t pid;
			p = parse_pid(q, e, &pid);
		}
	} else if (*p == '[') {
		ml_slice_t pid;
		p = parse_pid(p, e, &pid);
	}
	size_t idn = take_id(p, e);
	if (idn) {
		ev->qid = ml_sl(p, p + idn);
		p += idn;
		if (p < e)
			p++;
		parse_id_line(p, e, ev);
		return;
	}
	parse_free_line(p, e, ev);
}

/* ---- subjects ---------------------------------------------------------------- */

/* Length of an incomplete UTF-8 sequence at the end of [s, s+n), 0 if none. */
static size_t cut_tail(const unsigned char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		unsigned char c = s[n - k];
		if ((c & 0xC0) == 0x80)
			continue;
		size_t need = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
		if (c >= 0xF5)
			need = 0;
		return need > k ? k : 0;
	}
	return 0;
}

int ml_exim_unescape_subject(ml_buf_t *out, const char *p, size_t n)
{
	size_t start = out->len;
	int rc = ml_buf_reserve(out, n);
	if (rc)
		return rc;
	const char *e = p + n;
	char *d = out->data + out->len;
	while (p < e) {
		const char *bs = memchr(p, '\\', (size_t)(e - p));
		const char *stop = bs ? bs : e;
		memcpy(d, p, (size_t)(stop - p));
		d += stop - p;
		p = stop;
		if (!bs)
			break;
		if (p + 1 >= e) {
			*d++ = '\\';
			p++;
			break;
		}
		char c = p[1];
		if (c >= '0' && c <= '7') {
			unsigned v = 0;
			const char *q = p + 1;
			for (int i = 0; i < 3 && q < e && *q >= '0' && *q <= '7'; i++, q++)
				v = v * 8 + (unsigned)(*q - '0');
			*d++ = (char)(v & 0xFF);
			p = q;
			continue;
		}
		p += 2;
		switch (c) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case 't': *d++ = '\t'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'v': *d++ = '\v'; break;
		case 'e': *d++ = '\033'; break;
		case 'n':
		case 'r':
			if (p < e && (*p == ' ' || *p == '\t'))
				break;  /* folding: unfold */
			if (p + 1 < e && *p == '\\' && (p[1] == 'n' || p[1] == 'r'))
				break;  /* "\r\n": the second one decides */
			*d++ = ' ';
			break;
		default:
			*d++ = '\\';
			*d++ = c;
			break;
		}
	}
	size_t len = (size_t)(d - out->data);
	size_t got = len - start;
	if (got >= ML_EXIM_SUBJECT_MAX) {
		const unsigned char *s = (const unsigned char *)out->data + start;
		size_t cut = cut_tail(s, got);
		if (cut && ml_utf8_valid((const char *)s, got - cut))
			len -= cut;
	}
	out->len = len;
	return 0;
}
