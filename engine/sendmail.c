/*
 * sendmail.c — the Sendmail parser: the message part of a Sendmail syslog
 * line → ml_event_t (the mapping is in sendmail.h).
 *
 * A pure function over bytes: no allocation, no state, no NUL-termination
 * assumed; every scan is bounded by the end of the message.  Slices in the
 * event point into the message; `reason` keys are string constants.
 *
 * A line is "[QID: ]BODY".  BODY is mostly a list of "key=value" items
 * separated by ", " (next_item); the few free-text forms ("<a@x>... User
 * unknown", "QID2: DSN: ...", "done", chatter) are told by their first bytes.
 * All the items of a line are read once into a fields_t, then the line's
 * form decides which of them become the event.
 */
#include "sendmail.h"
#include "scan.h"
#include "rcpts.h"

#include <stdint.h>
#include <string.h>

/* ---- helpers beyond engine/scan.h -------------------------------------- */

/* The end of a slice; an empty slice may have a NULL start, and adding even
 * 0 to a NULL pointer is undefined in C. */
static inline const char *end_of(ml_slice_t s)
{
	return s.n ? s.p + s.n : s.p;
}

static ml_slice_t trim(ml_slice_t s)
{
	const char *p = s.p, *e = end_of(s);
	while (p < e && *p == ' ')
		p++;
	while (e > p && e[-1] == ' ')
		e--;
	return ml_sl(p, e);
}

/* ---- program, queue IDs ------------------------------------------------ */

int ml_sendmail_is_program(ml_slice_t program)
{
	if (!program.p)
		return 0;
	size_t n = program.n;
	const char *b = memchr(program.p, '[', n);
	if (b)
		n = (size_t)(b - program.p);
	ml_slice_t t = ml_slice(program.p, n);
	return ml_slice_eq(t, "sendmail") || ml_slice_eq(t, "sm-mta") || ml_slice_eq(t, "sm-msp-queue") ||
	       ml_slice_eq(t, "sm-acceptingconnections");
}

int ml_sendmail_is_qid(ml_slice_t s)
{
	if (!s.p || s.n < 12 || s.n > 20)
		return 0;
	for (size_t i = 0; i < s.n; i++)
		if (!ml_is_alnum((unsigned char)s.p[i]))
			return 0;
	for (size_t i = s.n - 5; i < s.n; i++)
		if (!ml_is_digit((unsigned char)s.p[i]))
			return 0;
	/* at least one letter: the date part of a real ID has one but for
	 * a few seconds a year, a number (a pid, a port) has none */
	for (size_t i = 0; i < s.n - 5; i++)
		if (ml_is_alpha((unsigned char)s.p[i]))
			return 1;
	return 0;
}

/* A queue ID at p followed by ": " (or ':' at the end): its length, else 0. */
static size_t take_qid(const char *p, const char *e)
{
	size_t avail = (size_t)(e - p);
	size_t lim = avail < 21 ? avail : 21;
	const char *c = memchr(p, ':', lim);
	if (!c)
		return 0;
	size_t n = (size_t)(c - p);
	if (c + 1 < e && c[1] != ' ')
		return 0;
	return ml_sendmail_is_qid(ml_slice(p, n)) ? n : 0;
}

/* ---- event outcomes ---------------------------------------------------- */

/* ---- values ------------------------------------------------------------- */

/* "key=" at p (a letter or '_', then up to 23 letters, digits or '_'): the
 * '=', else NULL. */
static const char *key_at(const char *p, const char *e)
{
	if (p >= e || !(ml_is_alpha((unsigned char)*p) || *p == '_'))
		return NULL;
	const char *q = p + 1;
	while (q < e && q - p < 24 && (ml_is_alnum((unsigned char)*q) || *q == '_'))
		q++;
	return q < e && *q == '=' ? q : NULL;
}

/* A bare word at p ("discard", "tempfail", "data"): letters up to the end
 * or a ','. */
static int bare_word_at(const char *p, const char *e)
{
	const char *q = p;
	while (q < e && ml_is_alpha((unsigned char)*q))
		q++;
	return q > p && (q == e || *q == ',');
}

/* The end of a value at v: the next ", " followed by a key or a bare word,
 * or e. */
static const char *value_end(const char *v, const char *e)
{
	const char *q = v;
	while (q < e && (q = memchr(q, ',', (size_t)(e - q))) != NULL) {
		if (ML_HAS(q, e, ", ") && (key_at(ML_AFTER(q, ", "), e) || bare_word_at(ML_AFTER(q, ", "), e)))
			return q;
		q++;
	}
	return e;
}

/* relay= of a client: "name [ip]", "[ip]", "name [ip] (may be forged)",
 * "user@name [ip]", "user@localhost", "name". */
static void parse_client(ml_slice_t v, ml_slice_t *name, ml_slice_t *ip)
{
	const char *p = v.p, *e = end_of(v);
	*name = *ip = ML_SLICE_NULL;
	if (p == e)
		return;
	const char *b = p;
	if (*p != '[') {
		const char *w = p;
		while (w < e && *w != ' ' && *w != '[')
			w++;
		const char *at = w;
		while (at > p && at[-1] != '@')
			at--;
		*name = ml_sl(at, w);
		b = w;
		while (b < e && *b == ' ')
			b++;
	}
	if (b < e && *b == '[') {
		const char *c = memchr(b, ']', (size_t)(e - b));
		if (c) {
			const char *s = b + 1;
			if (ML_HAS(s, c, "IPv6:") || ML_HAS(s, c, "ipv6:"))
				s = ML_AFTER(s, "ipv6:");
			*ip = ml_sl(s, c);
		}
	}
}

/* "[D+]HH:MM:SS" → milliseconds (capped at UINT32_MAX); 0 when malformed. */
static uint32_t parse_delay(ml_slice_t v)
{
	const char *p = v.p, *e = end_of(v);
	uint64_t days = 0;
	const char *plus = v.n ? memchr(p, '+', v.n) : NULL;
	if (plus) {
		if (plus == p || !ml_is_digit((unsigned char)*p))
			return 0;
		days = ml_scan_u64(p, plus);
		p = plus + 1;
	}
	uint64_t part[3];
	for (int i = 0; i < 3; i++) {
		const char *d = p;
		while (p < e && ml_is_digit((unsigned char)*p) && p - d < 6)
			p++;
		if (p == d)
			return 0;
		part[i] = ml_scan_u64(d, p);
		if (i < 2) {
			if (p == e || *p != ':')
				return 0;
			p++;
		}
	}
	if (days > 50000)
		return UINT32_MAX;
	uint64_t ms = (((days * 24 + part[0]) * 60 + part[1]) * 60 + part[2]) * 1000;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* ---- the item list ------------------------------------------------------ */

/* The items of one line that any form uses. */
typedef struct {
	ml_slice_t from, to, relay, reject, quarantine, ruleset, arg1, arg2, host, addr, helo, authid,
		size, nrcpts, msgid, proto, delay, mailer, dsn, stat, auth;
	int has_from, has_to, discard, tempfail, data;
} fields_t;

static int key_is(ml_slice_t k, const char *lit)
{
	return ml_slice_eq(k, lit);
}

/*
 * Reads "key=value, key=value, ..." from p into f.  Bare words "discard",
 * "tempfail", "data" set their flags.  reject=, stat= and quarantine= run to
 * the end of the line.
 */
static void read_items(const char *p, const char *e, fields_t *f)
{
	while (p < e) {
		while (p < e && *p == ' ')
			p++;
		if (p >= e)
			break;
		const char *eq = key_at(p, e);
		if (!eq) {
			const char *end = value_end(p, e);
			ml_slice_t w = trim(ml_sl(p, end));
			if (ml_slice_eq(w, "discard"))
				f->discard = 1;
			else if (ml_slice_eq(w, "tempfail"))
				f->tempfail = 1;
			else if (ml_slice_eq(w, "data"))
				f->data = 1;
			p = end < e ? ML_AFTER(end, ", ") : e;
			continue;
		}
		ml_slice_t k = ml_sl(p, eq);
		const char *v = eq + 1;
		int last = key_is(k, "reject") || key_is(k, "stat") || key_is(k, "quarantine");
		const char *end = last ? e : value_end(v, e);
		ml_slice_t val = ml_sl(v, end);
		switch (k.n) {
		case 2:
			if (key_is(k, "to")) {
				f->to = val;
				f->has_to = 1;
			}
			break;
		case 3:
			if (key_is(k, "dsn"))
				f->dsn = val;
			break;
		case 4:
			if (key_is(k, "from")) {
				f->from = val;
				f->has_from = 1;
			} else if (key_is(k, "arg1")) {
				f->arg1 = val;
			} else if (key_is(k, "arg2")) {
				f->arg2 = val;
			} else if (key_is(k, "size")) {
				f->size = val;
			} else if (key_is(k, "host")) {
				f->host = val;
			} else if (key_is(k, "addr")) {
				f->addr = val;
			} else if (key_is(k, "helo")) {
				f->helo = val;
			} else if (key_is(k, "stat")) {
				f->stat = val;
			} else if (key_is(k, "AUTH")) {
				f->auth = val;
			}
			break;
		case 5:
			if (key_is(k, "relay"))
				f->relay = val;
			else if (key_is(k, "msgid"))
				f->msgid = val;
			else if (key_is(k, "proto"))
				f->proto = val;
			else if (key_is(k, "delay"))
				f->delay = val;
			break;
		case 6:
			if (key_is(k, "reject"))
				f->reject = val;
			else if (key_is(k, "nrcpts"))
				f->nrcpts = val;
			else if (key_is(k, "mailer"))
				f->mailer = val;
			else if (key_is(k, "authid"))
				f->authid = val;
			break;
		case 7:
			if (key_is(k, "ruleset"))
				f->ruleset = val;
			break;
		case 10:
			if (key_is(k, "quarantine"))
				f->quarantine = val;
			break;
		}
		p = end < e ? ML_AFTER(end, ", ") : e;
	}
}

/* ---- arrivals and deliveries -------------------------------------------- */

static void arrival(const fields_t *f, ml_event_t *ev)
{
	ev->kind = ML_EV_ARRIVAL;
	ev->from = ml_rcpts_addr(f->from);
	ev->from_set = 1;
	ev->size = ml_scan_u64(f->size.p, end_of(f->size));
	uint64_t n = ml_scan_u64(f->nrcpts.p, end_of(f->nrcpts));
	ev->nrcpt = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	ev->msgid = ml_rcpts_addr(f->msgid);
	ev->proto = f->proto;
	parse_client(trim(f->relay), &ev->client_name, &ev->client_ip);
}

static int is_local_mailer(ml_slice_t m)
{
	return ml_slice_eq(m, "local") || ml_slice_eq(m, "lmtp") || ml_slice_eq(m, "cyrus") ||
	       ml_slice_eq(m, "cyrusv2") || ml_slice_eq(m, "procmail") || ml_slice_eq(m, "dovecot") ||
	       ml_slice_eq(m, "maildrop");
}

static void delivery(const fields_t *f, ml_event_t *ev)
{
	ev->kind = ML_EV_DELIVERY;
	ev->to_list = trim(f->to);
	ml_slice_t list = ev->to_list, first;
	if (ml_rcpts_next(&list, ',', &first))
		ev->to = first;
	ev->relay = trim(f->relay);
	ev->dsn = trim(f->dsn);
	ev->delay_ms = parse_delay(trim(f->delay));
	ev->local_delivery = is_local_mailer(f->mailer);
	ml_slice_t st = trim(f->stat);
	const char *p = st.p, *e = end_of(st);
	if (ML_IS(p, st.n, "Sent") || ML_HAS(p, e, "Sent ") || ML_HAS(p, e, "Sent(")) {
		ev->status = ML_ST_DELIVERED;
		const char *o = memchr(p, '(', st.n);
		if (o) {
			const char *c = e;
			if (c > o + 1 && c[-1] == ')')
				c--;
			ev->reason_text = ml_sl(o + 1, c);
		}
		return;
	}
	if (ML_HAS(p, e, "Deferred")) {
		ev->status = ML_ST_DELAYED;
		ev->reason_text = ML_HAS(p, e, "Deferred: ") ? trim(ml_sl(ML_AFTER(p, "Deferred: "), e)) : st;
		return;
	}
	if (ml_slice_eq(st, "queued")) {
		ev->status = ML_ST_DELAYED;
		ev->reason_text = st;
		return;
	}
	ev->reason_text = st;
	char cls = ev->dsn.n ? ev->dsn.p[0] : 0;
	if (cls == '4')
		ev->status = ML_ST_DELAYED;
	else if (cls == '2')
		ev->status = ML_ST_DELIVERED;
	else if (!f->mailer.n)
		ev->status = ML_ST_BLOCKED;
	else
		ev->status = ML_ST_BOUNCED;
}

/* ---- rejects --------------------------------------------------------------- */

static void blocked(ml_event_t *ev, ml_slice_t text)
{
	ev->kind = ev->qid.n ? ML_EV_RCPT_REJECT : ML_EV_NOQUEUE_REJECT;
	ev->status = ML_ST_BLOCKED;
	ev->reason_text = trim(text);
	ev->dsn = ml_scan_dsn(ev->reason_text.p, ev->reason_text.p + ev->reason_text.n, " ;,");
}

/* The word "discard" / "tempfail" of a line, as a slice of it. */
static ml_slice_t word_in(const char *p, const char *e, const char *w, size_t n)
{
	const char *q = ml_scan_find(p, e, w, n);
	return q ? ml_slice(q, n) : ML_SLICE_NULL;
}

static void ruleset_line(const char *p, const char *e, ml_event_t *ev)
{
	fields_t f;
	memset(&f, 0, sizeof f);
	read_items(p, e, &f);
	ml_slice_t rs = trim(f.ruleset);
	if (ml_slice_eq(rs, "check_vrfy") || ml_slice_eq(rs, "check_expn") || ml_slice_eq(rs, "check_etrn")) {
		ml_event_skip(ev, "sendmail command rejected");
		return;
	}
	parse_client(trim(f.relay), &ev->client_name, &ev->client_ip);
	if (ml_slice_eq(rs, "check_rcpt") || ml_slice_eq(rs, "tls_rcpt")) {
		ev->to = ml_rcpts_addr(f.arg1);
	} else if (ml_slice_eq(rs, "check_mail")) {
		ev->from = ml_rcpts_addr(f.arg1);
		ev->from_set = 1;
	} else if (ml_slice_eq(rs, "check_compat")) {
		ev->from = ml_rcpts_addr(f.arg1);
		ev->from_set = 1;
		ev->to = ml_rcpts_addr(f.arg2);
	}
	if (f.reject.n) {
		blocked(ev, f.reject);
	} else if (f.discard) {
		blocked(ev, word_in(p, e, ML_LIT("discard")));
	} else if (f.quarantine.n && ev->qid.n) {
		ev->kind = ML_EV_HOLD;
		ev->status = ML_ST_QUARANTINED;
		ev->reason_text = trim(f.quarantine);
	} else if (ev->qid.n) {
		ml_event_info(ev);
	} else {
		ml_event_skip(ev, "sendmail ruleset");
	}
}

/* After "Milter" (or "milter="): rejects, discards, quarantines; the rest
 * (header changes, "no active filter", errors) is INFO. */
static void milter_line(const char *p, const char *e, ml_event_t *ev)
{
	const char *b = p;
	if (ML_HAS(b, e, "Milter: "))
		b = ML_AFTER(b, "Milter: ");
	if (ML_HAS(b, e, "connect: "))
		b = ML_AFTER(b, "connect: ");
	fields_t f;
	memset(&f, 0, sizeof f);
	read_items(b, e, &f);
	int refused = f.reject.n || f.discard || f.tempfail;
	if (refused && ML_HAS(p, e, "Milter: ")) {
		if (f.has_to)
			ev->to = ml_rcpts_addr(f.to);
		if (f.has_from) {
			ev->from = ml_rcpts_addr(f.from);
			ev->from_set = 1;
		}
		ev->client_name = trim(f.host);
		ev->client_ip = trim(f.addr);
		ev->helo = trim(f.helo);
		if (f.reject.n)
			blocked(ev, f.reject);
		else if (f.discard)
			blocked(ev, word_in(b, e, ML_LIT("discard")));
		else
			blocked(ev, word_in(b, e, ML_LIT("tempfail")));
		return;
	}
	if (f.quarantine.n && ev->qid.n) {
		ev->kind = ML_EV_HOLD;
		ev->status = ML_ST_QUARANTINED;
		ev->reason_text = trim(f.quarantine);
		return;
	}
	if (ev->qid.n)
		ml_event_info(ev);
	else
		ml_event_skip(ev, "sendmail milter");
}

/* "<a@x>... TEXT" or "a@x... TEXT": a recipient refused in the dialogue.
 * 1 when the line has that shape. */
static int refused_rcpt(const char *p, const char *e, ml_event_t *ev)
{
	const char *d = ML_FIND(p, e, "... ");
	if (!d || d == p)
		return 0;
	ml_slice_t a = ml_sl(p, d);
	if (*p == '<') {
		if (d[-1] != '>')
			return 0;
	} else if (memchr(a.p, ' ', a.n)) {
		return 0;
	}
	ev->to = ml_rcpts_addr(a);
	blocked(ev, ml_sl(ML_AFTER(d, "... "), e));
	return 1;
}

/* ---- chatter ---------------------------------------------------------------- */

static const ml_prefix_t CONN_PREFIXES[] = {
	ML_PREFIX("lost input channel"), ML_PREFIX("timeout waiting for input"), ML_PREFIX("rejecting commands from "),
	ML_PREFIX("Null connection from"), ML_PREFIX("collect: "), ML_PREFIX("Broken pipe"), ML_PREFIX("connect from "),
	ML_PREFIX("Connection reset"), ML_PREFIX("Connection rate limit"), ML_PREFIX("too many "), ML_PREFIX("SMTP protocol error"),
	ML_PREFIX("Possible SMTP RCPT flood"), ML_PREFIX("discarding "), ML_PREFIX("ETRN "), ML_PREFIX("error: "),
	{ NULL, 0 }
};

static const ml_prefix_t DAEMON_PREFIXES[] = {
	ML_PREFIX("starting daemon"), ML_PREFIX("restarting "), ML_PREFIX("stopping daemon"), ML_PREFIX("started as: "),
	ML_PREFIX("accepting connections again"), ML_PREFIX("rejecting connections on daemon"), ML_PREFIX("grew WorkList"),
	ML_PREFIX("runqueue"), ML_PREFIX("daemon "), ML_PREFIX("Daemon"), ML_PREFIX("sendmail "), ML_PREFIX("Sendmail "),
	ML_PREFIX("My unqualified host name"), ML_PREFIX("unable to qualify my own domain name"), ML_PREFIX("gethostbyaddr"),
	ML_PREFIX("getrequests"), ML_PREFIX("Warning: "), ML_PREFIX("WARNING: "), ML_PREFIX("setsender"), ML_PREFIX("dropenvelope"),
	ML_PREFIX("queueup"), ML_PREFIX("Unable to "), ML_PREFIX("unable to "), ML_PREFIX("Cannot "), ML_PREFIX("cannot "),
	ML_PREFIX("QueueDirectory"), ML_PREFIX("readcf"), ML_PREFIX("hash map"), ML_PREFIX("dbm map"), ML_PREFIX("ldap"),
	ML_PREFIX("Permission denied"), ML_PREFIX("makeconnection"), ML_PREFIX("deliver: "), ML_PREFIX("opendaemonsocket"),
	ML_PREFIX("NOQUEUE "), ML_PREFIX("clone "), ML_PREFIX("savemail"), ML_PREFIX("Losing "), ML_PREFIX("queue "),
	{ NULL, 0 }
};

/*
 * Session chatter (with or without a queue ID): the skip reason, or NULL.
 */
static const char *chatter(const char *p, const char *e)
{
	if (ml_scan_starts_any(p, e, CONN_PREFIXES) || ML_FIND(p, e, " did not issue MAIL/EXPN/VRFY/ETRN") ||
	    ML_FIND(p, e, "possible SMTP attack") || ML_FIND(p, e, "lost input channel") ||
	    ML_FIND(p, e, "timeout waiting for input") || ML_FIND(p, e, "Null connection"))
		return "sendmail connection";
	if ((ML_FIND(p, e, ": EXPN ") || ML_FIND(p, e, ": expn ") || ML_FIND(p, e, ": VRFY ") || ML_FIND(p, e, ": vrfy ") ||
	     ML_FIND(p, e, ": ETRN ")) &&
	    (p < e && (*p == '[' || ML_FIND(p, e, " ["))))
		return "sendmail command rejected";
	if (ML_HAS(p, e, "STARTTLS") || ML_HAS(p, e, "TLS ") || ML_HAS(p, e, "TLS:") || ML_HAS(p, e, "tls_") ||
	    ML_HAS(p, e, "SSL"))
		return "sendmail tls";
	if (ML_HAS(p, e, "AUTH=") || ML_HAS(p, e, "AUTH ") || ML_HAS(p, e, "AUTH:") || ML_HAS(p, e, "SASL"))
		return "sendmail auth";
	if (ML_HAS(p, e, "Authentication-Warning:"))
		return "sendmail warning";
	if (ML_HAS(p, e, "SYSERR"))
		return "sendmail error";
	return NULL;
}

/* ---- lines of a message ------------------------------------------------------ */

/* "NEWQID: KIND: TEXT" after "QID: " (b at NEWQID, n its length). */
static void notify_line(const char *b, size_t n, const char *e, ml_event_t *ev)
{
	ml_slice_t other = ml_slice(b, n);
	const char *t = b + n + 1;
	while (t < e && *t == ' ')
		t++;
	ml_slice_t text = ML_SLICE_NULL;
	int ndn = 1;
	if (ML_HAS(t, e, "DSN: "))
		text = ml_sl(ML_AFTER(t, "DSN: "), e);
	else if (ML_HAS(t, e, "return to sender: "))
		text = ml_sl(ML_AFTER(t, "return to sender: "), e);
	else if (ML_HAS(t, e, "sender notify: "))
		text = ml_sl(ML_AFTER(t, "sender notify: "), e);
	else if (ML_HAS(t, e, "postmaster notify: "))
		text = ml_sl(ML_AFTER(t, "postmaster notify: "), e);
	else
		ndn = 0;
	if (!ndn) {
		ml_event_info(ev);
		ev->other_qid = other;
		return;
	}
	ev->kind = ML_EV_BOUNCE_NDN;
	ev->other_qid = other;
	ev->reason_text = trim(text);
	const char *p = ev->reason_text.p, *te = p + ev->reason_text.n;
	if (ML_HAS(p, te, "Cannot send message for ") || ML_HAS(p, te, "Cannot send message within "))
		ev->status = ML_ST_EXPIRED;
	else if (ML_HAS(p, te, "Warning: could not send message for past "))
		ev->status = ML_ST_DELAYED;
}

static void qid_line(const char *p, const char *e, ml_event_t *ev)
{
	size_t n2 = take_qid(p, e);
	if (n2) {
		notify_line(p, n2, e, ev);
		return;
	}
	if (ML_HAS(p, e, "from=") || ML_HAS(p, e, "to=")) {
		fields_t f;
		memset(&f, 0, sizeof f);
		read_items(p, e, &f);
		if (*p == 'f')
			arrival(&f, ev);
		else
			delivery(&f, ev);
		return;
	}
	if (ML_HAS(p, e, "ruleset=")) {
		ruleset_line(p, e, ev);
		return;
	}
	if (ML_HAS(p, e, "Milter") || ML_HAS(p, e, "milter=")) {
		milter_line(p, e, ev);
		return;
	}
	if (ML_HAS(p, e, "AUTH=server")) {
		fields_t f;
		memset(&f, 0, sizeof f);
		read_items(p, e, &f);
		if (f.authid.n) {
			ev->kind = ML_EV_CLIENT;
			ev->sasl_user = trim(f.authid);
			parse_client(trim(f.relay), &ev->client_name, &ev->client_ip);
			return;
		}
	}
	size_t n = (size_t)(e - p);
	if (ML_IS(p, n, "done") || ML_HAS(p, e, "done;") || ML_HAS(p, e, "done ")) {
		ev->kind = ML_EV_REMOVED;
		return;
	}
	if (ML_IS(p, n, "discarded")) {
		blocked(ev, ml_sl(p, e));
		return;
	}
	if (ML_HAS(p, e, "quarantine=") || ML_HAS(p, e, "quarantine: ")) {
		ev->kind = ML_EV_HOLD;
		ev->status = ML_ST_QUARANTINED;
		ev->reason_text = trim(ml_sl(ML_AFTER(p, "quarantine="), e));
		return;
	}
	if (ML_HAS(p, e, "unquarantine") && (n == ML_LEN("unquarantine") || p[ML_LEN("unquarantine")] == ':' || p[ML_LEN("unquarantine")] == ' ' || p[ML_LEN("unquarantine")] == '=')) {
		ev->kind = ML_EV_RELEASED;
		return;
	}
	if (ML_HAS(p, e, "alias ")) {
		const char *a = ML_FIND(ML_AFTER(p, "alias "), e, " => ");
		if (a) {
			ml_event_info(ev);
			ev->orig_to = ml_rcpts_addr(ml_sl(ML_AFTER(p, "alias "), a));
			ev->to_list = trim(ml_sl(ML_AFTER(a, " => "), e));
			return;
		}
	}
	if (ML_HAS(p, e, "clone ")) {
		/* "clone NEWQID, owner=O" (before 8.12) */
		const char *c = ML_AFTER(p, "clone "), *w = c;
		while (w < e && ml_is_alnum((unsigned char)*w))
			w++;
		ml_event_info(ev);
		if (ml_sendmail_is_qid(ml_sl(c, w)))
			ev->other_qid = ml_sl(c, w);
		return;
	}
	if ((*p == '<' || ml_is_alnum((unsigned char)*p)) && refused_rcpt(p, e, ev))
		return;
	const char *why = chatter(p, e);
	if (why) {
		ml_event_skip(ev, why);
		return;
	}
	ml_event_info(ev);
}

/* ---- lines without a queue ID ------------------------------------------------- */

/* "tcpwrappers (NAME, IP) rejection". */
static void tcpwrappers(const char *p, const char *e, ml_event_t *ev)
{
	const char *o = memchr(p, '(', (size_t)(e - p));
	const char *c = o ? memchr(o, ')', (size_t)(e - o)) : NULL;
	if (o && c) {
		const char *comma = memchr(o, ',', (size_t)(c - o));
		if (comma) {
			ev->client_name = trim(ml_sl(o + 1, comma));
			ev->client_ip = trim(ml_sl(comma + 1, c));
		}
	}
	blocked(ev, ml_sl(p, e));
}

static void free_line(const char *p, const char *e, ml_event_t *ev)
{
	if (p == e) {
		ml_event_skip(ev, "sendmail empty line");
		return;
	}
	if (ML_HAS(p, e, "ruleset=")) {
		ruleset_line(p, e, ev);
		return;
	}
	if (ML_HAS(p, e, "Milter")) {
		milter_line(p, e, ev);
		return;
	}
	if (ML_HAS(p, e, "tcpwrappers (")) {
		tcpwrappers(p, e, ev);
		return;
	}
	if (*p == '<' && refused_rcpt(p, e, ev))
		return;
	const char *why = chatter(p, e);
	if (why) {
		ml_event_skip(ev, why);
		return;
	}
	if (ML_HAS(p, e, "alias database ") || (ML_FIND(p, e, " aliases, longest ") && *p == '/')) {
		ml_event_skip(ev, "sendmail aliases");
		return;
	}
	if (ml_scan_starts_any(p, e, DAEMON_PREFIXES)) {
		ml_event_skip(ev, "sendmail daemon");
		return;
	}
	ml_event_unknown(ev, "sendmail: unrecognised");
}

/* ---- entry point ----------------------------------------------------------------- */

void ml_sendmail_parse(ml_slice_t msg, ml_event_t *ev)
{
	ml_event_clear(ev);
	const char *p, *e = ml_scan_message(msg, &p);
	while (p < e && *p == ' ')
		p++;
	if (p == e) {
		ml_event_skip(ev, "sendmail empty line");
		return;
	}
	if (ML_HAS(p, e, "NOQUEUE:")) {
		p = ML_AFTER(p, "NOQUEUE:");
		while (p < e && *p == ' ')
			p++;
		free_line(p, e, ev);
		return;
	}
	size_t n = take_qid(p, e);
	if (n) {
		ev->qid = ml_sl(p, p + n);
		p += n + 1;
		while (p < e && *p == ' ')
			p++;
		if (p == e) {
			ml_event_info(ev);
			return;
		}
		qid_line(p, e, ev);
		return;
	}
	free_line(p, e, ev);
}
