/*
 * postfix.c — the Postfix parser: (program tag, message part) → ml_event_t.
 *
 * A pure function over bytes: no allocation, no state, no NUL-termination
 * assumed; every scan is bounded by the end of the message.  Slices in the
 * event point into the message, or (the `reason` keys) to string constants.
 *
 * Dispatch is on the daemon, the last component of the program tag
 * ("postfix/submission/smtpd" → "smtpd"), then on the shape of the line:
 *
 *   QID: ...            about message QID (short or long queue ID shape)
 *   NOQUEUE: ...        smtpd / postscreen, before a queue ID exists
 *   warning: QID: ...   a warning about message QID → ML_EV_INFO
 *   warning: ...        (also fatal:, error:, panic:) → ML_EV_SKIP "<daemon> warning"
 *   anything else       daemon-specific: known chatter → ML_EV_SKIP, else ML_EV_UNKNOWN
 *
 * The mapping, by daemon (kinds in event.h):
 *
 *   smtpd (also submission, submissions, smtps, qmqpd)
 *     QID: client=NAME[IP][:PORT][, sasl_method=M, sasl_username=U][, orig_client=NAME[IP]]
 *                                  → CLIENT.  With orig_client (an after-filter smtpd) the
 *                                    client fields come from orig_client: that is the host
 *                                    that sent the mail; the direct client is the filter.
 *     NOQUEUE: ACTION: STAGE from NAME[IP][:PORT]: REPLY; from=<A> to=<B> proto=P helo=<H>
 *       reject, discard, milter-reject, milter-discard → NOQUEUE_REJECT (blocked)
 *       reject_warning, filter, hold, redirect, warn, info, bcc, milter-hold
 *                                  → SKIP "smtpd noqueue action" (nothing to attach to)
 *     QID: ACTION: ... (same shape)
 *       reject, milter-reject at RCPT (or any stage but DATA, BDAT, END-OF-MESSAGE)
 *                                  → RCPT_REJECT: recipient `to` refused, the message goes on
 *       reject, milter-reject at DATA, BDAT or END-OF-MESSAGE; discard, milter-discard
 *                                  → CLEANUP_REJECT: the whole message is blocked (note:
 *                                    after a discard at RCPT, cleanup still logs the
 *                                    message-id of the message it then throws away)
 *       hold, milter-hold          → HOLD (quarantined)
 *       the others                 → INFO
 *     proxy-reject: STAGE: REPLY; trailer   (before-queue filter refused) → NOQUEUE_REJECT
 *     proxy-accept: STAGE: REPLY; trailer   → SKIP "smtpd proxy" (the message is logged
 *                                    again under the queue ID of the after-filter smtpd)
 *     connect/disconnect/lost connection/timeout/TLS/... → SKIP
 *   postscreen: NOQUEUE: reject: RCPT ... with from=/to= → NOQUEUE_REJECT (a mail was
 *     refused: it belongs in the blocked rows); everything else → SKIP "postscreen".
 *   cleanup
 *     QID: message-id=<X> / resent-message-id=<X>          → MSGID
 *     QID: ACTION: header NAME: VALUE from ORIGIN; trailer[: TEXT]   (also body, *-header)
 *       info, warning               → HEADER
 *       hold, milter-hold           → HOLD (quarantined), reason_text = TEXT
 *       reject, discard, milter-reject, milter-discard → CLEANUP_REJECT (blocked), reason = TEXT
 *       replace, prepend, redirect, filter, bcc, strip, milter-header-redirect, ... → INFO
 *     QID: milter-ACTION: STAGE from ORIGIN: REPLY; trailer  → as above, reason = REPLY
 *     For header lines: header_name = NAME; the VALUE goes to `subject` when NAME is
 *     "Subject" (any case), else to `reason_text` (HEADER and INFO only; HOLD and
 *     CLEANUP_REJECT keep reason_text for their TEXT); every action carries the subject
 *     (the correlator keeps it whatever the action).  VALUE ends at the last " from "
 *     followed by ORIGIN, ';' and a trailer (cleanup truncates VALUE to 200 bytes and
 *     it may itself hold " from ", "; " or a whole " from h[ip]; from=<x> to=<y>").
 *     ORIGIN is NAME[IP][:PORT] or "local".
 *   qmgr, oqmgr, nqmgr
 *     QID: from=<A>, size=N, nrcpt=N (queue active)         → QMGR_FROM
 *     QID: from=<A>, status=expired, returned to sender      → EXPIRED (also force-expired)
 *     QID: removed                                           → REMOVED
 *     QID: to=<B>, ... status=deferred (...)                 → DELIVERY
 *     QID: skipped, still being delivered                    → INFO
 *   delivery agents: smtp, lmtp, local, virtual, pipe, error, discard, retry, relay
 *     QID: to=<B>[, orig_to=<C>], relay=R[, conn_use=N], delay=D, delays=a/b/c/d, dsn=X,
 *          status=S (REASON)                                 → DELIVERY
 *       S: sent, deliverable → delivered; deferred, SOFTBOUNCE → delayed;
 *          bounced, undeliverable* → bounced; expired → expired; else UNKNOWN.
 *       REASON is the text between the '(' after S and the line's final ')'.
 *       delay_ms saturates at UINT32_MAX.
 *       local_delivery = 1 when the agent is local, virtual or lmtp; when relay= names a
 *       unix-domain socket ("host[private/dovecot-lmtp]"); or for pipe when relay= is a
 *       mailbox-delivery transport (dovecot, maildrop, cyrus).  Content filters
 *       (smtp to 127.0.0.1:10024) are not local: they see outbound mail too.
 *     QID: host X[IP] said: REPLY (in reply to C command)    → INFO, relay = X[IP],
 *          (any "... X[IP] said: REPLY", and                   reason_text = REPLY, dsn
 *          "host X[IP] refused to talk to me: REPLY")
 *     any other QID: line                                    → INFO
 *   bounce: QID: (sender|postmaster) ... notification: NEWQID → BOUNCE_NDN, other_qid
 *   postsuper: QID: removed → DELETED; released from hold → RELEASED;
 *     placed on hold → HOLD (quarantined); requeued → INFO; totals → SKIP "postsuper"
 *   pickup: QID: uid=N from=<A> → PICKUP
 *   dnsblog, anvil, tlsmgr, tlsproxy, master, scache, verify, postlogd, postmap,
 *   postalias, postfix-script, sendmail, postdrop, trivial-rewrite, proxymap,
 *   showq, flush, spawn, postqueue, ... → SKIP, reason = the daemon name.
 *   An unknown daemon → UNKNOWN "unknown postfix daemon".
 *
 * Addresses are returned without angle brackets; "<>" gives an empty slice
 * (from_set says from= was there).  A bracketed address ends at the first '>'
 * followed by what may follow an address there (end, ", key=", " key=", and
 * in a trailer ": "), so quoted local parts with spaces, commas or '>'
 * survive; a bare address (older versions, local) ends at ',' or ' '.
 *
 * The trailer "; from=<A> to=<B> proto=P helo=<H>" of rejects and header
 * actions is found as the first ';' from which the rest of the line parses
 * as a trailer in Postfix's own shape (those keys, in that order, each
 * address closed by its first '>'); failing that, leniently (any key=value,
 * an address may hold '>').  The reply before it may itself hold "; ".
 */
#include "postfix.h"
#include "scan.h"

#include <stdint.h>
#include <string.h>

/* ---- helpers beyond engine/scan.h -------------------------------------- */

static inline int is_hexu(unsigned char c)
{
	return (unsigned)(c - '0') < 10u || (unsigned)(c - 'A') < 6u;
}
/* The long queue ID alphabet: digits and ASCII letters but the vowels. */
static inline int is_lqid(unsigned char c)
{
	if ((unsigned)(c - '0') < 10u)
		return 1;
	unsigned char l = c | 0x20;
	if ((unsigned)(l - 'a') >= 26u)
		return 0;
	return l != 'a' && l != 'e' && l != 'i' && l != 'o' && l != 'u';
}

/* Length of "key" when p starts with [a-z_-]+ '='; 0 otherwise. */
static size_t key_len(const char *p, const char *e)
{
	const char *q = p;
	while (q < e && (ml_is_lower((unsigned char)*q) || *q == '_' || *q == '-'))
		q++;
	return (q > p && q < e && *q == '=') ? (size_t)(q - p) : 0;
}

/* "151541", "0.12", ".5" (seconds) → milliseconds; saturates at UINT32_MAX. */
static uint32_t parse_delay_ms(const char *p, const char *e)
{
	uint64_t sec = 0, ms = 0;
	for (; p < e && ml_is_digit((unsigned char)*p); p++) {
		sec = sec * 10 + (unsigned)(*p - '0');
		if (sec > UINT32_MAX)
			return UINT32_MAX;
	}
	if (p < e && *p == '.') {
		p++;
		unsigned scale = 100;
		for (; p < e && ml_is_digit((unsigned char)*p); p++) {
			ms += (unsigned)(*p - '0') * scale;
			scale /= 10;
		}
	}
	uint64_t v = sec * 1000 + ms;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* ---- queue IDs --------------------------------------------------------- */

/*
 * Short: the microseconds (5 hex digits) then the inode number in hex:
 * 6 to 21 upper-case hex digits.  Long (enable_long_queue_ids): the time
 * in base 52 (6+ digits of seconds, exactly 4 of microseconds), 'z', the
 * inode in base 51 (an alphabet without 'z'); digits and letters but the
 * vowels.  So: at least 10 alphabet characters, the last 'z', at least one
 * more character.
 */
int ml_postfix_is_qid(ml_slice_t s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t n = s.n, i;
	if (!p || n < 6)
		return 0;
	if (n <= 21) {
		for (i = 0; i < n && is_hexu(p[i]); i++)
			;
		if (i == n)
			return 1;
	}
	if (n < 12 || n > 40)
		return 0;
	size_t lastz = 0;
	for (i = 0; i < n; i++) {
		if (!is_lqid(p[i]))
			return 0;
		if (p[i] == 'z')
			lastz = i;
	}
	return lastz >= 10 && lastz + 1 < n;
}

/* "QID: rest" → rest (qid set); NULL when the line does not start so. */
static const char *take_qid(const char *p, const char *e, ml_slice_t *qid)
{
	size_t lim = (size_t)(e - p) < 42 ? (size_t)(e - p) : 42;
	const char *c = memchr(p, ':', lim);
	if (!c || c - p < 6)
		return NULL;
	if (c + 1 < e && c[1] != ' ')
		return NULL;
	ml_slice_t t = ml_sl(p, c);
	if (!ml_postfix_is_qid(t))
		return NULL;
	*qid = t;
	return ML_HAS(c, e, ": ") ? ML_AFTER(c, ": ") : e;
}

/* ---- daemons ----------------------------------------------------------- */

typedef enum {
	D_UNKNOWN = 0,
	D_SKIP,        /* everything it logs is chatter */
	D_SMTPD,
	D_POSTSCREEN,
	D_CLEANUP,
	D_QMGR,
	D_AGENT,       /* delivery agents */
	D_BOUNCE,
	D_POSTSUPER,
	D_PICKUP,
} dkind_t;

enum { F_LOCAL = 1, F_PIPE = 2 };

typedef struct {
	dkind_t kind;
	unsigned flags;
	const char *warn;  /* reason for warning:/fatal: lines (the daemon name for D_SKIP) */
	const char *unk;   /* reason for lines not understood */
	const char *conn;  /* reason for connection chatter */
} daemon_t;

#define DAEMON(name, k, f, warn, unk, conn) \
	static const daemon_t name = { k, f, warn, unk, conn }
DAEMON(DM_SMTPD, D_SMTPD, 0, "smtpd warning", "smtpd: unrecognised", "smtpd connection");
DAEMON(DM_POSTSCREEN, D_POSTSCREEN, 0, "postscreen", "postscreen", "postscreen");
DAEMON(DM_CLEANUP, D_CLEANUP, 0, "cleanup warning", "cleanup: unrecognised", NULL);
DAEMON(DM_QMGR, D_QMGR, 0, "qmgr warning", "qmgr: unrecognised", NULL);
DAEMON(DM_SMTP, D_AGENT, 0, "smtp warning", "smtp: unrecognised", "smtp connection");
DAEMON(DM_LMTP, D_AGENT, F_LOCAL, "lmtp warning", "lmtp: unrecognised", "lmtp connection");
DAEMON(DM_LOCAL, D_AGENT, F_LOCAL, "local warning", "local: unrecognised", NULL);
DAEMON(DM_VIRTUAL, D_AGENT, F_LOCAL, "virtual warning", "virtual: unrecognised", NULL);
DAEMON(DM_PIPE, D_AGENT, F_PIPE, "pipe warning", "pipe: unrecognised", NULL);
DAEMON(DM_ERROR, D_AGENT, 0, "error warning", "error: unrecognised", NULL);
DAEMON(DM_DISCARD, D_AGENT, 0, "discard warning", "discard: unrecognised", NULL);
DAEMON(DM_RETRY, D_AGENT, 0, "retry warning", "retry: unrecognised", NULL);
DAEMON(DM_BOUNCE, D_BOUNCE, 0, "bounce warning", "bounce: unrecognised", NULL);
DAEMON(DM_POSTSUPER, D_POSTSUPER, 0, "postsuper", "postsuper: unrecognised", NULL);
DAEMON(DM_PICKUP, D_PICKUP, 0, "pickup warning", "pickup: unrecognised", NULL);
DAEMON(DM_UNKNOWN, D_UNKNOWN, 0, NULL, "unknown postfix daemon", NULL);

#define SKIPD(name, s) DAEMON(name, D_SKIP, 0, s, s, s)
SKIPD(DM_DNSBLOG, "dnsblog");
SKIPD(DM_ANVIL, "anvil");
SKIPD(DM_TLSMGR, "tlsmgr");
SKIPD(DM_TLSPROXY, "tlsproxy");
SKIPD(DM_MASTER, "master");
SKIPD(DM_SCACHE, "scache");
SKIPD(DM_VERIFY, "verify");
SKIPD(DM_POSTLOGD, "postlogd");
SKIPD(DM_POSTLOG, "postlog");
SKIPD(DM_POSTMAP, "postmap");
SKIPD(DM_POSTALIAS, "postalias");
SKIPD(DM_SCRIPT, "postfix-script");
SKIPD(DM_SENDMAIL, "sendmail");
SKIPD(DM_POSTDROP, "postdrop");
SKIPD(DM_REWRITE, "trivial-rewrite");
SKIPD(DM_PROXYMAP, "proxymap");
SKIPD(DM_SHOWQ, "showq");
SKIPD(DM_FLUSH, "flush");
SKIPD(DM_SPAWN, "spawn");
SKIPD(DM_POSTQUEUE, "postqueue");
SKIPD(DM_POSTCONF, "postconf");
SKIPD(DM_POSTMULTI, "postmulti");
SKIPD(DM_POSTKICK, "postkick");
SKIPD(DM_POSTFIX, "postfix");

static const daemon_t *daemon_lookup(const char *s, size_t n)
{
#define IS(lit) ML_IS(s, n, lit)
	if (n < 4)
		return &DM_UNKNOWN;
	switch (n) {
	case 4:
		if (IS("smtp")) return &DM_SMTP;
		if (IS("qmgr")) return &DM_QMGR;
		if (IS("lmtp")) return &DM_LMTP;
		if (IS("pipe")) return &DM_PIPE;
		break;
	case 5:
		switch (s[0]) {
		case 's':
			if (IS("smtpd")) return &DM_SMTPD;
			if (IS("smtps")) return &DM_SMTPD;
			if (IS("showq")) return &DM_SHOWQ;
			if (IS("spawn")) return &DM_SPAWN;
			break;
		case 'a': if (IS("anvil")) return &DM_ANVIL; break;
		case 'l': if (IS("local")) return &DM_LOCAL; break;
		case 'e': if (IS("error")) return &DM_ERROR; break;
		case 'r':
			if (IS("relay")) return &DM_SMTP;
			if (IS("retry")) return &DM_RETRY;
			break;
		case 'o': if (IS("oqmgr")) return &DM_QMGR; break;
		case 'n': if (IS("nqmgr")) return &DM_QMGR; break;
		case 'f': if (IS("flush")) return &DM_FLUSH; break;
		case 'q': if (IS("qmqpd")) return &DM_SMTPD; break;
		}
		break;
	case 6:
		switch (s[0]) {
		case 'b': if (IS("bounce")) return &DM_BOUNCE; break;
		case 'p': if (IS("pickup")) return &DM_PICKUP; break;
		case 'm': if (IS("master")) return &DM_MASTER; break;
		case 's': if (IS("scache")) return &DM_SCACHE; break;
		case 'v': if (IS("verify")) return &DM_VERIFY; break;
		case 't': if (IS("tlsmgr")) return &DM_TLSMGR; break;
		}
		break;
	case 7:
		switch (s[0]) {
		case 'c': if (IS("cleanup")) return &DM_CLEANUP; break;
		case 'v': if (IS("virtual")) return &DM_VIRTUAL; break;
		case 'd':
			if (IS("discard")) return &DM_DISCARD;
			if (IS("dnsblog")) return &DM_DNSBLOG;
			break;
		case 'p':
			if (IS("postmap")) return &DM_POSTMAP;
			if (IS("postlog")) return &DM_POSTLOG;
			if (IS("postfix")) return &DM_POSTFIX;
			break;
		}
		break;
	case 8:
		switch (s[0]) {
		case 't': if (IS("tlsproxy")) return &DM_TLSPROXY; break;
		case 's': if (IS("sendmail")) return &DM_SENDMAIL; break;
		case 'p':
			if (IS("postdrop")) return &DM_POSTDROP;
			if (IS("proxymap")) return &DM_PROXYMAP;
			if (IS("postlogd")) return &DM_POSTLOGD;
			if (IS("postconf")) return &DM_POSTCONF;
			if (IS("postkick")) return &DM_POSTKICK;
			break;
		}
		break;
	case 9:
		if (IS("postsuper")) return &DM_POSTSUPER;
		if (IS("postalias")) return &DM_POSTALIAS;
		if (IS("postqueue")) return &DM_POSTQUEUE;
		if (IS("postmulti")) return &DM_POSTMULTI;
		break;
	case 10:
		if (IS("postscreen")) return &DM_POSTSCREEN;
		if (IS("submission")) return &DM_SMTPD;
		break;
	case 11:
		if (IS("submissions")) return &DM_SMTPD;
		break;
	case 14:
		if (IS("postfix-script")) return &DM_SCRIPT;
		break;
	case 15:
		if (IS("trivial-rewrite")) return &DM_REWRITE;
		break;
	}
	return &DM_UNKNOWN;
#undef IS
}

int ml_postfix_is_program(ml_slice_t program)
{
	return program.p && program.n > ML_LEN("postfix/") && memcmp(program.p, ML_LIT("postfix")) == 0 &&
	       memchr(ML_AFTER(program.p, "postfix"), '/', program.n - ML_LEN("postfix")) != NULL;
}

/* ---- event outcomes ---------------------------------------------------- */

/* ---- addresses, clients, DSNs ------------------------------------------ */

/* What may follow an address or value inside a reject/header trailer:
 * end, " key=", ", key=", ": text". */
static int trailer_cont_ok(const char *q, const char *e)
{
	if (q == e)
		return 1;
	if (*q == ':')
		return q + 1 == e || q[1] == ' ';
	if (*q == ',')
		q++;
	if (q == e || *q != ' ')
		return 0;
	q++;
	return key_len(q, e) > 0;
}

/* What may follow an address in a delivery/qmgr/pickup record: end,
 * ", key=" or " key=". */
static int list_cont_ok(const char *q, const char *e)
{
	if (q == e)
		return 1;
	if (*q == ',')
		q++;
	if (q == e || *q != ' ')
		return 0;
	return key_len(q + 1, e) > 0;
}

/*
 * Address at p: "<...>" or a bare word.  The closing '>' is the first one
 * after which cont_ok accepts what follows (with first_only, the first '>'
 * must be it); a bare address ends at ',' or ' '.  Returns the pointer
 * after the address, NULL when there is no acceptable closing '>'.
 */
static const char *parse_addr(const char *p, const char *e, ml_slice_t *out,
			      int (*cont_ok)(const char *, const char *), int first_only)
{
	if (p < e && *p == '<') {
		const char *q = p + 1;
		while (q < e && (q = memchr(q, '>', (size_t)(e - q))) != NULL) {
			if (cont_ok(q + 1, e)) {
				*out = ml_sl(p + 1, q);
				return q + 1;
			}
			if (first_only)
				return NULL;
			q++;
		}
		return NULL;
	}
	const char *q = p;
	while (q < e && *q != ',' && *q != ' ')
		q++;
	*out = ml_sl(p, q);
	return q;
}

/* Client "NAME[IP]" with optional ":PORT", or a bare word ("local"). */
static const char *parse_client(const char *p, const char *e, ml_slice_t *name, ml_slice_t *ip)
{
	const char *q = p;
	while (q < e && *q != '[' && *q != ' ' && *q != ':' && *q != ';' && *q != ',')
		q++;
	if (q < e && *q == '[') {
		const char *rb = memchr(q, ']', (size_t)(e - q));
		if (!rb)
			return NULL;
		*name = ml_sl(p, q);
		*ip = ml_sl(q + 1, rb);
		q = rb + 1;
		if (q + 1 < e && *q == ':' && ml_is_digit((unsigned char)q[1]))
			for (q++; q < e && ml_is_digit((unsigned char)*q); q++)
				;
		return q;
	}
	*name = ml_sl(p, q);
	*ip = ML_SLICE_NULL;
	return q;
}

static ml_slice_t dsn_of(ml_slice_t reply)
{
	return reply.n ? ml_scan_dsn(reply.p, reply.p + reply.n, " ;,") : ML_SLICE_NULL;
}

/* ---- the "; from=<A> to=<B> proto=P helo=<H>[: text]" trailer ---------- */

typedef struct {
	ml_slice_t from, to, helo, text;
	int from_set;
} trailer_t;

/*
 * s points at the ';' that may start a trailer.  1 when everything from s
 * to e is a trailer (postscreen separates its items with ", ").  Strict:
 * only from, to, proto, helo, in that order, each at most once, and every
 * address ends at its first '>' — the shape Postfix writes.  Lenient: any
 * key=value items, and an address may hold '>' (a quoted local part).
 */
static int parse_trailer(const char *s, const char *e, trailer_t *t, int strict)
{
	memset(t, 0, sizeof *t);
	const char *p = s + 1;
	int n = 0, rank = 0;
	for (;;) {
		if (p == e)
			return 1;
		if (*p == ':') {
			if (p + 1 == e)
				return 1;
			if (!ML_HAS(p, e, ": "))
				return 0;
			t->text = ml_sl(ML_AFTER(p, ": "), e);
			return 1;
		}
		if (n > 0 && *p == ',')
			p++;
		if (p == e || *p != ' ')
			return 0;
		p++;
		size_t k = key_len(p, e);
		if (!k)
			return 0;
		const char *key = p;
		int r = ML_IS(key, k, "from") ? 1 :
			ML_IS(key, k, "to") ? 2 :
			ML_IS(key, k, "proto") ? 3 :
			ML_IS(key, k, "helo") ? 4 : 0;
		if (strict) {
			if (r <= rank)
				return 0;
			rank = r;
		}
		p += k + 1;
		ml_slice_t v;
		if (p < e && *p == '<') {
			p = parse_addr(p, e, &v, trailer_cont_ok, strict);
			if (!p)
				return 0;
		} else {
			const char *q = p;
			while (q < e && *q != ' ' && *q != ',' && *q != ':')
				q++;
			v = ml_sl(p, q);
			p = q;
			if (!trailer_cont_ok(p, e))
				return 0;
		}
		if (r == 1) {
			t->from = v;
			t->from_set = 1;
		} else if (r == 2) {
			t->to = v;
		} else if (r == 4) {
			t->helo = v;
		}
		n++;
	}
}

/*
 * The trailer of [p, e): the first ';' from which the rest of the line is a
 * strict trailer, else the first from which it is a lenient one.  So a reply
 * text holding "; from=<x> ..." does not swallow the real trailer, and an
 * address holding "> " or "; to=<" still parses.
 */
static const char *find_trailer(const char *p, const char *e, trailer_t *t)
{
	for (int strict = 1; strict >= 0; strict--) {
		const char *s = p;
		while (s < e && (s = memchr(s, ';', (size_t)(e - s))) != NULL) {
			if (parse_trailer(s, e, t, strict))
				return s;
			s++;
		}
	}
	return NULL;
}

static void apply_trailer(ml_event_t *ev, const trailer_t *t)
{
	ev->from = t->from;
	ev->from_set = t->from_set;
	ev->to = t->to;
	ev->helo = t->helo;
}

/* REPLY[; trailer] at p: reason_text, dsn and the trailer fields. */
static void parse_reply_trailer(const char *p, const char *e, ml_event_t *ev)
{
	trailer_t t;
	const char *s = find_trailer(p, e, &t);
	if (s) {
		apply_trailer(ev, &t);
		ev->reason_text = ml_sl(p, s);
	} else {
		ev->reason_text = ml_sl(p, e);
	}
	ev->dsn = dsn_of(ev->reason_text);
}

/*
 * "STAGE from CLIENT: REPLY; trailer" (smtpd, postscreen, cleanup milter).
 * Returns 0 when the line does not have that shape.
 */
static int parse_stage_line(const char *p, const char *e, ml_event_t *ev, ml_slice_t *stage)
{
	const char *sp = memchr(p, ' ', (size_t)(e - p));
	if (!sp || sp == p)
		return 0;
	*stage = ml_sl(p, sp);
	p = sp + 1;
	if (!ML_HAS(p, e, "from "))
		return 0;
	p = parse_client(ML_AFTER(p, "from "), e, &ev->client_name, &ev->client_ip);
	if (!p)
		return 0;
	if (ML_HAS(p, e, ": "))
		p = ML_AFTER(p, ": ");
	else if (p != e)
		return 0;
	parse_reply_trailer(p, e, ev);
	return 1;
}

/* ---- actions (smtpd access/milter, cleanup header_checks/milter) ------- */

typedef enum { A_NONE = 0, A_REJECT, A_DISCARD, A_HOLD, A_INFO, A_PROXY_ACCEPT, A_PROXY_REJECT } act_t;

/* "ACTION: " at p → its kind; *next after ": ". */
static act_t take_action(const char *p, const char *e, const char **next)
{
	size_t lim = (size_t)(e - p) < 24 ? (size_t)(e - p) : 24;
	const char *c = memchr(p, ':', lim);
	if (!c || c + 1 >= e || c[1] != ' ')
		return A_NONE;
	const char *s = p;
	size_t n = (size_t)(c - p);
	*next = c + 2;
	if (n > ML_LEN("milter-") && memcmp(s, ML_LIT("milter-")) == 0) {
		s = ML_AFTER(s, "milter-");
		n -= ML_LEN("milter-");
		if (ML_IS(s, n, "reject")) return A_REJECT;
		if (ML_IS(s, n, "discard")) return A_DISCARD;
		if (ML_IS(s, n, "hold")) return A_HOLD;
		return A_INFO;  /* milter-header-redirect, milter-redirect, ... */
	}
#define W(lit) ML_IS(s, n, lit)
	if (W("reject")) return A_REJECT;
	if (W("discard")) return A_DISCARD;
	if (W("hold")) return A_HOLD;
	if (W("reject_warning") || W("filter") || W("redirect") || W("warn") || W("warning") ||
	    W("info") || W("bcc") || W("replace") || W("prepend") || W("strip") || W("ignore") ||
	    W("dunno") || W("defer_if_permit") || W("defer_if_reject"))
		return A_INFO;
	if (W("proxy-accept")) return A_PROXY_ACCEPT;
	if (W("proxy-reject")) return A_PROXY_REJECT;
#undef W
	return A_NONE;
}

static int stage_is_data(ml_slice_t st)
{
	return ml_slice_eq(st, "DATA") || ml_slice_eq(st, "BDAT") || ml_slice_eq(st, "END-OF-MESSAGE");
}

/* "proxy-xxx: STAGE: REPLY; trailer". */
static void parse_proxy(const char *p, const char *e, ml_event_t *ev)
{
	const char *c = ML_FIND(p, e, ": ");
	if (c && memchr(p, ' ', (size_t)(c - p)) == NULL)
		p = ML_AFTER(c, ": ");
	parse_reply_trailer(p, e, ev);
}

/* ---- warnings and chatter common to daemons ---------------------------- */

/* "warning: ", "fatal: ", "error: ", "panic: " → length, else 0. */
static size_t level_len(const char *p, const char *e)
{
	if (p == e)
		return 0;
	switch (*p) {
	case 'w': return ML_HAS(p, e, "warning: ") ? ML_LEN("warning: ") : ML_HAS(p, e, "warning:") && ML_AFTER(p, "warning:") == e ? 8 : 0;
	case 'f': return ML_HAS(p, e, "fatal: ") ? ML_LEN("fatal: ") : 0;
	case 'e': return ML_HAS(p, e, "error: ") ? ML_LEN("error: ") : 0;
	case 'p': return ML_HAS(p, e, "panic: ") ? ML_LEN("panic: ") : 0;
	}
	return 0;
}

/* A warning line: INFO for "warning: QID: ...", SKIP otherwise.  0 if p is no warning. */
static int warning_line(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	size_t l = level_len(p, e);
	if (!l)
		return 0;
	if (take_qid(p + l, e, &ev->qid)) {
		ev->kind = ML_EV_INFO;
		return 1;
	}
	ml_event_skip(ev, d->warn);
	return 1;
}

static const ml_prefix_t TLS_PREFIXES[] = {
	ML_PREFIX("Anonymous TLS connection"), ML_PREFIX("Untrusted TLS connection"), ML_PREFIX("Trusted TLS connection"),
	ML_PREFIX("Verified TLS connection"), ML_PREFIX("TLS handshake failed"), ML_PREFIX("SSL_accept error"), ML_PREFIX("SSL_connect error"),
	ML_PREFIX("certificate verification failed"), ML_PREFIX("server certificate verification failed"),
	ML_PREFIX("client certificate verification failed"), ML_PREFIX("Host offered STARTTLS"), ML_PREFIX("TLS library problem"),
	ML_PREFIX("setting up TLS connection"), ML_PREFIX("DANE"), ML_PREFIX("TLSA"), ML_PREFIX("STARTTLS"),
	{ NULL, 0 }
};

/* ---- smtpd ------------------------------------------------------------- */

static const ml_prefix_t SMTPD_CONN_PREFIXES[] = {
	ML_PREFIX("connect from "), ML_PREFIX("disconnect from "), ML_PREFIX("lost connection after "), ML_PREFIX("timeout after "),
	ML_PREFIX("too many errors after "), ML_PREFIX("improper command pipelining"), ML_PREFIX("bare <LF> received"),
	ML_PREFIX("discarding EHLO keywords"), ML_PREFIX("Connection rate limit"), ML_PREFIX("statistics:"), ML_PREFIX("non-SMTP command"),
	{ NULL, 0 }
};

static const ml_prefix_t SMTPD_DIAG_PREFIXES[] = {
	ML_PREFIX("mapping DSN status"), ML_PREFIX("ignoring DNS RR"), ML_PREFIX("dict_"), ML_PREFIX("match_"), ML_PREFIX("generic_checks"), ML_PREFIX("xclient"),
	ML_PREFIX("xforward"), ML_PREFIX("milter"), ML_PREFIX("proxy_"), ML_PREFIX("smtpd_"), ML_PREFIX("dns_"), ML_PREFIX("uid="), ML_PREFIX("valid_hostname"), ML_PREFIX("table "),
	ML_PREFIX("cache "), ML_PREFIX("address verification"),
	{ NULL, 0 }
};

static void parse_client_line(const char *p, const char *e, ml_event_t *ev, const daemon_t *d)
{
	ml_slice_t name, ip;
	const char *q = parse_client(p, e, &name, &ip);
	if (!q) {
		ml_event_unknown(ev, d->unk);
		return;
	}
	ev->kind = ML_EV_CLIENT;
	ev->client_name = name;
	ev->client_ip = ip;
	while (ML_HAS(q, e, ", ")) {
		q = ML_AFTER(q, ", ");
		size_t k = key_len(q, e);
		if (!k)
			break;
		const char *key = q, *v = q + k + 1;
		const char *ve = ML_FIND(v, e, ", ");
		if (!ve)
			ve = e;
		if (ML_IS(key, k, "sasl_username")) {
			ev->sasl_user = ml_sl(v, ve);
		} else if (ML_IS(key, k, "orig_client")) {
			ml_slice_t on, oi;
			if (parse_client(v, ve, &on, &oi) && oi.n) {
				ev->client_name = on;
				ev->client_ip = oi;
			}
		}
		q = ve;
	}
}

/* smtpd "ACTION: STAGE from ..." with or without a queue ID. */
static void smtpd_action(const daemon_t *d, act_t a, const char *p, const char *e, ml_event_t *ev)
{
	int noq = ev->qid.n == 0;
	if (a == A_PROXY_ACCEPT || a == A_PROXY_REJECT) {
		parse_proxy(p, e, ev);
		if (a == A_PROXY_ACCEPT) {
			if (noq) {
				ml_event_skip(ev, "smtpd proxy");
				return;
			}
			ev->kind = ML_EV_INFO;
			return;
		}
		ev->status = ML_ST_BLOCKED;
		ev->kind = noq ? ML_EV_NOQUEUE_REJECT : ML_EV_CLEANUP_REJECT;
		return;
	}
	ml_slice_t stage;
	if (!parse_stage_line(p, e, ev, &stage)) {
		if (noq) {
			ml_event_unknown(ev, d->unk);
			return;
		}
		ml_slice_t qid = ev->qid;
		ml_event_clear(ev);
		ev->qid = qid;
		ev->kind = ML_EV_INFO;
		return;
	}
	switch (a) {
	case A_REJECT:
	case A_DISCARD:
		ev->status = ML_ST_BLOCKED;
		if (noq)
			ev->kind = ML_EV_NOQUEUE_REJECT;
		else if (a == A_REJECT && !stage_is_data(stage))
			ev->kind = ML_EV_RCPT_REJECT;
		else
			ev->kind = ML_EV_CLEANUP_REJECT;
		return;
	case A_HOLD:
		if (noq) {
			ml_event_skip(ev, "smtpd noqueue action");
			return;
		}
		ev->status = ML_ST_QUARANTINED;
		ev->kind = ML_EV_HOLD;
		return;
	default:
		if (noq) {
			ml_event_skip(ev, "smtpd noqueue action");
			return;
		}
		ev->kind = ML_EV_INFO;
		return;
	}
}

static void parse_smtpd(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (r) {
		if (ML_HAS(r, e, "client=")) {
			parse_client_line(ML_AFTER(r, "client="), e, ev, d);
			return;
		}
		const char *n;
		act_t a = take_action(r, e, &n);
		if (a != A_NONE) {
			smtpd_action(d, a, n, e, ev);
			return;
		}
		ml_event_unknown(ev, d->unk);
		return;
	}
	if (ML_HAS(p, e, "NOQUEUE: ")) {
		r = ML_AFTER(p, "NOQUEUE: ");
		if (ML_HAS(r, e, "client=")) {
			ml_event_skip(ev, "smtpd noqueue client");
			return;
		}
		if (ML_HAS(r, e, "lost connection") || ML_HAS(r, e, "timeout after")) {
			ml_event_skip(ev, d->conn);
			return;
		}
		const char *n;
		act_t a = take_action(r, e, &n);
		if (a != A_NONE) {
			smtpd_action(d, a, n, e, ev);
			return;
		}
		ml_event_unknown(ev, d->unk);
		return;
	}
	if (warning_line(d, p, e, ev))
		return;
	if (p < e && *p == 'p') {
		const char *n;
		act_t a = take_action(p, e, &n);
		if (a == A_PROXY_ACCEPT || a == A_PROXY_REJECT) {
			smtpd_action(d, a, n, e, ev);
			return;
		}
	}
	if (ml_scan_starts_any(p, e, SMTPD_CONN_PREFIXES)) {
		ml_event_skip(ev, d->conn);
		return;
	}
	if (ml_scan_starts_any(p, e, TLS_PREFIXES)) {
		ml_event_skip(ev, "smtpd tls");
		return;
	}
	if (ml_scan_starts_any(p, e, SMTPD_DIAG_PREFIXES)) {
		ml_event_skip(ev, "smtpd diagnostic");
		return;
	}
	ml_event_unknown(ev, d->unk);
}

/* ---- postscreen -------------------------------------------------------- */

static void parse_postscreen(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	if (ML_HAS(p, e, "NOQUEUE: reject: RCPT from ")) {
		ml_slice_t stage;
		if (parse_stage_line(ML_AFTER(p, "NOQUEUE: reject: "), e, ev, &stage) && (ev->from_set || ev->to.n)) {
			ev->kind = ML_EV_NOQUEUE_REJECT;
			ev->status = ML_ST_BLOCKED;
			return;
		}
		ml_event_clear(ev);
	}
	ml_event_skip(ev, d->warn);
}

/* ---- cleanup ----------------------------------------------------------- */

/* Message-ID value: "<x>" → x, else the raw value. */
static ml_slice_t msgid_value(const char *p, const char *e)
{
	if (p < e && *p == '<') {
		const char *g = memchr(p, '>', (size_t)(e - p));
		if (g)
			return ml_sl(p + 1, g);
	}
	return ml_sl(p, e);
}

/*
 * "header NAME: VALUE from ORIGIN; trailer[: TEXT]" (and "body TEXT from ...").
 * p is after the class word and its space; cls is the class word.
 */
static void parse_content(ml_slice_t cls, const char *p, const char *e, ml_event_t *ev,
			  ml_slice_t *value, ml_slice_t *text)
{
	const char *ce = e;
	trailer_t t;
	*text = ML_SLICE_NULL;
	/* The value ends at the last " from ORIGIN" that is followed by ';' and
	 * a trailer (strict, else lenient): the value may itself hold " from ",
	 * "; " and even a whole " from host[ip]; from=<x> to=<y>". */
	for (int strict = 1; strict >= 0 && ce == e; strict--) {
		const char *end = e;
		const char *fr;
		while ((fr = ML_RFIND(p, end, " from ")) != NULL) {
			ml_slice_t name, ip;
			const char *s = parse_client(ML_AFTER(fr, " from "), e, &name, &ip);
			if (s && s < e && *s == ';' && name.n && parse_trailer(s, e, &t, strict)) {
				ce = fr;
				ev->client_name = name;
				ev->client_ip = ip;
				if (ml_slice_eq(ev->client_name, "local") && !ev->client_ip.n)
					ev->client_name = ML_SLICE_NULL;
				apply_trailer(ev, &t);
				*text = t.text;
				break;
			}
			end = ML_AFTER(fr, " from ") - 1;  /* the next candidate starts before fr */
		}
	}
	if (ML_ENDS(cls.p, cls.n, "header")) {
		const char *c = memchr(p, ':', (size_t)(ce - p));
		if (c) {
			ev->header_name = ml_sl(p, c);
			c++;
			if (c < ce && *c == ' ')
				c++;
			*value = ml_sl(c, ce);
			return;
		}
		ev->header_name = ML_SLICE_NULL;
		*value = ml_sl(p, ce);
		return;
	}
	ev->header_name = cls;  /* "body" */
	*value = ml_sl(p, ce);
}

static void parse_cleanup(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (!r) {
		if (warning_line(d, p, e, ev))
			return;
		ml_event_unknown(ev, d->unk);
		return;
	}
	if (ML_HAS(r, e, "message-id=")) {
		ev->kind = ML_EV_MSGID;
		ev->msgid = msgid_value(ML_AFTER(r, "message-id="), e);
		return;
	}
	if (ML_HAS(r, e, "resent-message-id=")) {
		ev->kind = ML_EV_MSGID;
		ev->msgid = msgid_value(ML_AFTER(r, "resent-message-id="), e);
		return;
	}
	const char *n;
	act_t a = take_action(r, e, &n);
	if (a == A_NONE || a == A_PROXY_ACCEPT || a == A_PROXY_REJECT) {
		ml_event_unknown(ev, d->unk);
		return;
	}
	/* The class word: "header", "body", "mime-header", "nested-header", ... */
	const char *sp = memchr(n, ' ', (size_t)(e - n));
	ml_slice_t cls = sp ? ml_sl(n, sp) : ML_SLICE_NULL;
	int content = cls.n && (ml_slice_eq(cls, "body") ||
				(ML_ENDS(cls.p, cls.n, "header")));
	if (content) {
		ml_slice_t value, text;
		parse_content(cls, sp + 1, e, ev, &value, &text);
		int is_subject = ml_slice_ieq(ev->header_name, "subject");
		if (is_subject)
			ev->subject = value;
		int is_warn = ML_HAS(r, n, "info: ") || ML_HAS(r, n, "warning: ");
		switch (a) {
		case A_REJECT:
		case A_DISCARD:
			ev->kind = ML_EV_CLEANUP_REJECT;
			ev->status = ML_ST_BLOCKED;
			ev->reason_text = text;
			ev->dsn = dsn_of(text);
			return;
		case A_HOLD:
			ev->kind = ML_EV_HOLD;
			ev->status = ML_ST_QUARANTINED;
			ev->reason_text = text;
			return;
		default:
			ev->kind = is_warn ? ML_EV_HEADER : ML_EV_INFO;
			if (!is_subject)
				ev->reason_text = value;
			return;
		}
	}
	ml_slice_t stage;
	ml_slice_t qid = ev->qid;
	if (!parse_stage_line(n, e, ev, &stage)) {
		ml_event_clear(ev);
		ev->qid = qid;
		ev->kind = ML_EV_INFO;
		return;
	}
	if (ml_slice_eq(ev->client_name, "local") && !ev->client_ip.n)
		ev->client_name = ML_SLICE_NULL;
	switch (a) {
	case A_REJECT:
	case A_DISCARD:
		ev->kind = ML_EV_CLEANUP_REJECT;
		ev->status = ML_ST_BLOCKED;
		return;
	case A_HOLD:
		ev->kind = ML_EV_HOLD;
		ev->status = ML_ST_QUARANTINED;
		return;
	default:
		ev->kind = ML_EV_INFO;
		return;
	}
}

/* ---- delivery records (agents and qmgr) -------------------------------- */

static ml_status_t delivery_status(const char *p, const char *e)
{
	size_t n = (size_t)(e - p);
#define S(lit) ML_IS(p, n, lit)
	if (S("sent") || S("deliverable"))
		return ML_ST_DELIVERED;
	if (S("deferred") || S("SOFTBOUNCE"))
		return ML_ST_DELAYED;
	if (S("bounced") || ML_HAS(p, p + n, "undeliverable"))
		return ML_ST_BOUNCED;
	if (S("expired") || S("force-expired"))
		return ML_ST_EXPIRED;
#undef S
	return ML_ST_NONE;
}

/* See the top of the file: local, virtual, lmtp; a unix-domain socket relay;
 * pipe to a mailbox-delivery transport. */
static int is_local_delivery(const daemon_t *d, ml_slice_t relay)
{
	if (d->flags & F_LOCAL)
		return 1;
	if (!relay.n)
		return 0;
	const char *e = relay.p + relay.n;
	if (ML_FIND(relay.p, e, "[private/") || ML_FIND(relay.p, e, "[public/"))
		return 1;
	return (d->flags & F_PIPE) &&
	       (ml_slice_eq(relay, "dovecot") || ml_slice_eq(relay, "maildrop") || ml_slice_eq(relay, "cyrus"));
}

/* "to=<B>, orig_to=<C>, relay=R, ..., status=S (REASON)" at p (after "to="). */
static int parse_delivery(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	p = parse_addr(p, e, &ev->to, list_cont_ok, 0);
	if (!p)
		return 0;
	while (ML_HAS(p, e, ", ")) {
		p = ML_AFTER(p, ", ");
		size_t k = key_len(p, e);
		if (!k)
			return 0;
		const char *key = p, *v = p + k + 1;
		if (ML_IS(key, k, "status")) {
			const char *q = v;
			while (q < e && *q != ' ' && *q != '(')
				q++;
			ev->status = delivery_status(v, q);
			if (ev->status == ML_ST_NONE)
				return 0;
			if (q < e && *q == ' ')
				q++;
			if (q < e && *q == '(') {
				q++;
				const char *re = e;
				if (re > q && re[-1] == ')')
					re--;
				ev->reason_text = ml_sl(q, re);
			}
			ev->kind = ML_EV_DELIVERY;
			ev->local_delivery = is_local_delivery(d, ev->relay);
			return 1;
		}
		if (ML_IS(key, k, "orig_to")) {
			p = parse_addr(v, e, &ev->orig_to, list_cont_ok, 0);
			if (!p)
				return 0;
			continue;
		}
		const char *ve = ML_FIND(v, e, ", ");
		if (!ve)
			ve = e;
		if (ML_IS(key, k, "relay"))
			ev->relay = ml_sl(v, ve);
		else if (ML_IS(key, k, "delay"))
			ev->delay_ms = parse_delay_ms(v, ve);
		else if (ML_IS(key, k, "dsn"))
			ev->dsn = ml_sl(v, ve);
		p = ve;
	}
	return 0;
}

/*
 * "host X[IP] said: REPLY (in reply to C command)", "host X[IP] refused to
 * talk to me: REPLY", "SASL authentication failed; server X[IP] said: REPLY":
 * relay = X[IP] (the word before w, the " said: " or " refused..."),
 * reason_text = REPLY (from c), dsn.
 */
static void parse_said(const char *r, const char *w, const char *c, const char *e, ml_event_t *ev)
{
	const char *ws = w;
	while (ws > r && ws[-1] != ' ')
		ws--;
	if (w > ws && w[-1] == ']')
		ev->relay = ml_sl(ws, w);
	const char *re = e;
	if ((size_t)(e - c) > ML_LEN(" command)") && ML_ENDS(c, (size_t)(e - c), " command)")) {
		const char *ir = ML_RFIND(c, e, " (in reply to ");
		if (ir)
			re = ir;
	}
	ev->reason_text = ml_sl(c, re);
	ev->dsn = ml_scan_dsn(c, re, " ;,");
}

static const ml_prefix_t AGENT_CONN_PREFIXES[] = {
	ML_PREFIX("connect to "), ML_PREFIX("statistics:"), ML_PREFIX("enabling PIX"), ML_PREFIX("lost connection with "),
	ML_PREFIX("conversation with "), ML_PREFIX("host "), ML_PREFIX("SASL authentication failed"),
	{ NULL, 0 }
};

static void parse_agent(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (r) {
		if (ML_HAS(r, e, "to=")) {
			if (!parse_delivery(d, ML_AFTER(r, "to="), e, ev))
				ml_event_unknown(ev, d->unk);
			return;
		}
		ev->kind = ML_EV_INFO;
		const char *c = ML_FIND(r, e, " said: ");
		if (c)
			parse_said(r, c, ML_AFTER(c, " said: "), e, ev);
		else if ((c = ML_FIND(r, e, " refused to talk to me: ")) != NULL)
			parse_said(r, c, ML_AFTER(c, " refused to talk to me: "), e, ev);
		return;
	}
	if (warning_line(d, p, e, ev))
		return;
	if (d->conn && (ml_scan_starts_any(p, e, AGENT_CONN_PREFIXES) || ml_scan_starts_any(p, e, TLS_PREFIXES))) {
		ml_event_skip(ev, d->conn);
		return;
	}
	ml_event_unknown(ev, d->unk);
}

/* ---- qmgr -------------------------------------------------------------- */

static void parse_qmgr(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (!r) {
		if (warning_line(d, p, e, ev))
			return;
		if (ML_HAS(p, e, "statistics:") || ML_HAS(p, e, "status:")) {
			ml_event_skip(ev, "qmgr");
			return;
		}
		ml_event_unknown(ev, d->unk);
		return;
	}
	if (ML_HAS(r, e, "removed") && (ML_AFTER(r, "removed") == e || !ml_is_lower((unsigned char)r[ML_LEN("removed")]))) {
		ev->kind = ML_EV_REMOVED;
		return;
	}
	if (ML_HAS(r, e, "from=")) {
		const char *q = parse_addr(ML_AFTER(r, "from="), e, &ev->from, list_cont_ok, 0);
		if (!q) {
			ml_event_unknown(ev, d->unk);
			return;
		}
		ev->from_set = 1;
		if (ML_HAS(q, e, ", status=")) {
			const char *v = ML_AFTER(q, ", status="), *ve = v;
			while (ve < e && *ve != ',' && *ve != ' ')
				ve++;
			if (delivery_status(v, ve) == ML_ST_EXPIRED) {
				ev->kind = ML_EV_EXPIRED;
				ev->status = ML_ST_EXPIRED;
				return;
			}
			ml_event_unknown(ev, d->unk);
			return;
		}
		ev->kind = ML_EV_QMGR_FROM;
		while (ML_HAS(q, e, ", ")) {
			q = ML_AFTER(q, ", ");
			if (ML_HAS(q, e, "size=")) {
				q = ML_AFTER(q, "size=");
				ev->size = ml_scan_u64(q, e);
			} else if (ML_HAS(q, e, "nrcpt=")) {
				q = ML_AFTER(q, "nrcpt=");
				uint64_t v = ml_scan_u64(q, e);
				ev->nrcpt = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			}
			const char *ve = ML_FIND(q, e, ", ");
			q = ve ? ve : e;
		}
		return;
	}
	if (ML_HAS(r, e, "to=")) {
		if (!parse_delivery(d, ML_AFTER(r, "to="), e, ev))
			ml_event_unknown(ev, d->unk);
		return;
	}
	if (ML_HAS(r, e, "skipped, still being delivered")) {
		ev->kind = ML_EV_INFO;
		return;
	}
	ml_event_unknown(ev, d->unk);
}

/* ---- bounce, postsuper, pickup ----------------------------------------- */

static void parse_bounce(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (!r) {
		if (warning_line(d, p, e, ev))
			return;
		ml_event_unknown(ev, d->unk);
		return;
	}
	const char *c = ML_RFIND(r, e, " notification: ");
	if (c && (ML_HAS(r, e, "sender ") || ML_HAS(r, e, "postmaster "))) {
		ml_slice_t nq = ml_sl(ML_AFTER(c, " notification: "), e);
		if (ml_postfix_is_qid(nq)) {
			ev->kind = ML_EV_BOUNCE_NDN;
			ev->other_qid = nq;
			return;
		}
	}
	ml_event_unknown(ev, d->unk);
}

static void parse_postsuper(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (!r) {
		if (warning_line(d, p, e, ev))
			return;
		static const ml_prefix_t totals[] = {
			ML_PREFIX("Deleted: "), ML_PREFIX("Requeued: "), ML_PREFIX("Placed on hold: "), ML_PREFIX("Released from hold: "),
			ML_PREFIX("Expired: "), ML_PREFIX("Renamed to match inode number: "), { NULL, 0 }
		};
		if (ml_scan_starts_any(p, e, totals)) {
			ml_event_skip(ev, "postsuper");
			return;
		}
		ml_event_unknown(ev, d->unk);
		return;
	}
	size_t n = (size_t)(e - r);
#define S(lit) ML_IS(r, n, lit)
	if (S("removed")) {
		ev->kind = ML_EV_DELETED;
	} else if (S("released from hold")) {
		ev->kind = ML_EV_RELEASED;
	} else if (S("placed on hold")) {
		ev->kind = ML_EV_HOLD;
		ev->status = ML_ST_QUARANTINED;
	} else if (S("requeued")) {
		ev->kind = ML_EV_INFO;
	} else {
		ml_event_unknown(ev, d->unk);
	}
#undef S
}

static void parse_pickup(const daemon_t *d, const char *p, const char *e, ml_event_t *ev)
{
	const char *r = take_qid(p, e, &ev->qid);
	if (!r) {
		if (warning_line(d, p, e, ev))
			return;
		ml_event_unknown(ev, d->unk);
		return;
	}
	if (ML_HAS(r, e, "uid=")) {
		const char *f = ML_FIND(r, e, " from=");
		if (f) {
			const char *q = parse_addr(ML_AFTER(f, " from="), e, &ev->from, list_cont_ok, 0);
			if (q) {
				ev->kind = ML_EV_PICKUP;
				ev->from_set = 1;
				return;
			}
		}
	}
	ml_event_unknown(ev, d->unk);
}

/* ---- entry point ------------------------------------------------------- */

void ml_postfix_parse(ml_slice_t program, ml_slice_t msg, ml_event_t *ev)
{
	ml_event_clear(ev);
	const char *p, *e = ml_scan_message(msg, &p);

	/* The daemon: the last '/'-component of the tag, without any "[pid]". */
	const char *tp = program.p ? program.p : "";
	const char *te = tp + (program.p ? program.n : 0);
	const char *b = te > tp ? memchr(tp, '[', (size_t)(te - tp)) : NULL;
	if (b)
		te = b;
	const char *ds = te > tp ? memrchr(tp, '/', (size_t)(te - tp)) : NULL;
	ds = ds ? ds + 1 : tp;
	const daemon_t *d = daemon_lookup(ds, (size_t)(te - ds));

	switch (d->kind) {
	case D_SMTPD: parse_smtpd(d, p, e, ev); return;
	case D_POSTSCREEN: parse_postscreen(d, p, e, ev); return;
	case D_CLEANUP: parse_cleanup(d, p, e, ev); return;
	case D_QMGR: parse_qmgr(d, p, e, ev); return;
	case D_AGENT: parse_agent(d, p, e, ev); return;
	case D_BOUNCE: parse_bounce(d, p, e, ev); return;
	case D_POSTSUPER: parse_postsuper(d, p, e, ev); return;
	case D_PICKUP: parse_pickup(d, p, e, ev); return;
	case D_SKIP: ml_event_skip(ev, d->warn); return;
	case D_UNKNOWN: break;
	}
	ml_event_unknown(ev, d->unk);
}
