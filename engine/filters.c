/*
 * filters.c — content filters and milters beside the MTA: (program tag,
 * message part) → ml_event_t (the mapping is in filters.h).
 *
 * A pure function over bytes: no allocation, no state, no NUL-termination
 * assumed; every scan is bounded by the end of the message.  Slices in the
 * event point into the message or, for `reason` keys and spamd's verdicts, to
 * string constants.
 *
 * Each program has its own reader; they share the bounded helpers below.
 * Key/value lists (amavis's ", Key: value", rspamd's ", key: value", spamd's
 * ",key=value") are walked once from left to right, never searched for a key
 * from the start again.
 */
#include "filters.h"
#include "learn.h"
#include "scan.h"

#include <string.h>

/* ---- helpers beyond engine/scan.h -------------------------------------- */

/* The end of a value at p: the next ',' (or e). */
static const char *to_comma(const char *p, const char *e)
{
	const char *c = ml_scan_findc(p, e, ',');
	return c ? c : e;
}

/* "<...>" at p: the inside in *in, returns the end after '>' (the first '>'
 * followed by ',', ' ', ';' or the end); NULL when p is not at '<' or the
 * bracket is not closed. */
static const char *angle(const char *p, const char *e, ml_slice_t *in)
{
	if (p >= e || *p != '<')
		return NULL;
	const char *q = p + 1;
	while ((q = ml_scan_findc(q, e, '>')) != NULL) {
		if (q + 1 == e || q[1] == ',' || q[1] == ' ' || q[1] == ';') {
			*in = ml_sl(p + 1, q);
			return q + 1;
		}
		q++;
	}
	return NULL;
}

/* ---- outcomes ------------------------------------------------------------ */

/* ---- queue IDs ----------------------------------------------------------- */

int ml_filters_is_qid(ml_slice_t s)
{
	if (!s.p || s.n == 0 || s.n > 64)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (!ml_is_alnum(c) && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* A labelled queue ID value: kept when it has the shape, else empty. */
static ml_slice_t qid_value(const char *p, const char *e)
{
	ml_slice_t s = ml_sl(p, e);
	return ml_filters_is_qid(s) ? s : ML_SLICE_NULL;
}

/* [p, c) has the shape of an MTA queue ID: 6 to 32 of [A-Za-z0-9-], a digit. */
static int mta_qid_shape(const char *p, const char *c)
{
	size_t n = (size_t)(c - p);
	if (n < 6 || n > 32)
		return 0;
	int digit = 0;
	for (const char *q = p; q < c; q++) {
		unsigned char ch = (unsigned char)*q;
		if (ml_is_digit(ch))
			digit = 1;
		else if (!ml_is_alpha(ch) && ch != '-')
			return 0;
	}
	return digit;
}

/* "QID: " at the start of a milter's line: the length of QID, else 0. */
static size_t qid_prefix(const char *p, const char *e)
{
	size_t lim = (size_t)(e - p) < 34 ? (size_t)(e - p) : 34;
	const char *c = memchr(p, ':', lim);
	if (!c || !ML_HAS(c, e, ": "))
		return 0;
	return mta_qid_shape(p, c) ? (size_t)(c - p) : 0;
}

/* ---- programs -------------------------------------------------------------- */

typedef enum {
	P_NONE = 0,
	P_AMAVIS,
	P_RSPAMD,
	P_SPAMD,
	P_CLAMAV,
	P_OPENDKIM,
	P_OPENDMARC,
	P_POLICYD_SPF,
	P_MAILSCANNER,
} prog_t;

static prog_t program_of(ml_slice_t program)
{
	if (!program.p || !program.n)
		return P_NONE;
	const char *p = program.p, *e = p + program.n;
	const char *b = ml_scan_findc(p, e, '[');
	if (b)
		e = b;
	for (const char *q = e; q > p; q--)
		if (q[-1] == '/') {
			p = q;
			break;
		}
	ml_slice_t s = ml_sl(p, e);
	if (ml_slice_eq(s, "amavis") || ml_slice_eq(s, "amavisd") || ml_slice_eq(s, "amavisd-new"))
		return P_AMAVIS;
	if (ml_slice_eq(s, "rspamd") || ml_slice_eq(s, "rspamd_proxy"))
		return P_RSPAMD;
	if (ml_slice_eq(s, "spamd"))
		return P_SPAMD;
	if (ml_slice_eq(s, "clamav-milter"))
		return P_CLAMAV;
	if (ml_slice_eq(s, "opendkim"))
		return P_OPENDKIM;
	if (ml_slice_eq(s, "opendmarc"))
		return P_OPENDMARC;
	if (ml_slice_eq(s, "policyd-spf"))
		return P_POLICYD_SPF;
	if (ml_slice_eq(s, "MailScanner") || ml_slice_eq(s, "mailscanner"))
		return P_MAILSCANNER;
	return P_NONE;
}

int ml_filters_is_program(ml_slice_t program)
{
	return program_of(program) != P_NONE;
}

/* ---- amavis -------------------------------------------------------------- */

/* Daemon lines of amavis without the "(PID-NN)" log ID. */
static const ml_prefix_t AMAVIS_CHATTER[] = {
	ML_PREFIX("starting"), ML_PREFIX("Net::Server"), ML_PREFIX("extra modules loaded"), ML_PREFIX("Found "), ML_PREFIX("No "),
	ML_PREFIX("Using "), ML_PREFIX("Module "), ML_PREFIX("SpamControl"), ML_PREFIX("SpamAssassin"), ML_PREFIX("Amavis::"),
	ML_PREFIX("(!)"), ML_PREFIX("TROUBLE"), ML_PREFIX("Requesting"), ML_PREFIX("Perl version"), ML_PREFIX("user="),
	ML_PREFIX("initializing"), ML_PREFIX("ANTI-VIRUS"), ML_PREFIX("ANTI-SPAM"), ML_PREFIX("Creating db"), ML_PREFIX("config files"),
	ML_PREFIX("logging"), ML_PREFIX("amavisd"), ML_PREFIX("Amavisd"), ML_PREFIX("_WARN"), ML_PREFIX("_DIE"), ML_PREFIX("Deleting db"),
	ML_PREFIX("DKIM"), ML_PREFIX("Internal decoder"), ML_PREFIX("Unicode"), ML_PREFIX("dkim"), ML_PREFIX("Net::"), ML_PREFIX("Ignoring"),
	ML_PREFIX("socket"), ML_PREFIX("Socket"), ML_PREFIX("Decoder"), ML_PREFIX("SA info"), ML_PREFIX("SA dbg"), ML_PREFIX("SA warn"),
	ML_PREFIX("Lookup"), ML_PREFIX("lookup"), ML_PREFIX("Initializing"), ML_PREFIX("AM.PDP"), ML_PREFIX("ClamAV"), ML_PREFIX("Daemon"),
	ML_PREFIX("daemon"), ML_PREFIX("Process"), ML_PREFIX("process"), ML_PREFIX("Exiting"), ML_PREFIX("Server closing"),
	ML_PREFIX("Sending SIGTERM"), ML_PREFIX("release"), ML_PREFIX("Quarantined message"), ML_PREFIX("Reloading"),
	ML_PREFIX("Log"), ML_PREFIX("warning"), ML_PREFIX("WARN"), ML_PREFIX("Error"), ML_PREFIX("error"), ML_PREFIX("INFO"), ML_PREFIX("Info"),
	ML_PREFIX("child"), ML_PREFIX("Child"), { NULL, 0 }
};

static void parse_amavis(const char *p, const char *e, ml_event_t *ev)
{
	/* The log ID "(PID-NN) " (also "(!!)" / "(!)" markers follow it). */
	int has_id = 0;
	if (p < e && *p == '(') {
		const char *c = ml_scan_findc(p, p + ML_MIN((size_t)(e - p), 48), ')');
		if (c && c > p + 1 && ML_HAS(c, e, ") ")) {
			has_id = 1;
			for (const char *q = p + 1; q < c; q++)
				if (!ml_is_alnum((unsigned char)*q) && *q != '-')
					has_id = 0;
		}
		if (has_id)
			p = ML_AFTER(c, ") ");
	}
	if (!has_id) {
		if (ml_scan_starts_any(p, e, AMAVIS_CHATTER))
			ml_event_skip(ev, "amavis");
		else
			ml_event_unknown(ev, "amavis: unrecognised");
		return;
	}
	if (ML_HAS(p, e, "...")) {
		ml_event_skip(ev, "amavis continuation");
		return;
	}
	size_t vn = ML_HAS(p, e, "Passed") ? ML_LEN("Passed") : ML_HAS(p, e, "Blocked") ? ML_LEN("Blocked") : ML_HAS(p, e, "Not-Delivered") ? ML_LEN("Not-Delivered")
		: ML_HAS(p, e, "Released") ? ML_LEN("Released") : 0;
	if (!vn || (p + vn < e && p[vn] != ' ' && p[vn] != ',')) {
		ml_event_skip(ev, "amavis");
		return;
	}
	/* A line split by amavis ends in "...": values reaching the cut are partial. */
	int cut = ML_ENDS(p, (size_t)(e - p), "...");
	const char *end = cut ? e - ML_LEN("...") : e;
	const char *verb = p;
	int blocked = *p == 'B' || *p == 'N';
	ev->kind = ML_EV_FILTER;

	/* CATEGORY[ (DETAILS)] */
	const char *q = p + vn, *vend = q, *rend = q;
	if (q < end && *q == ' ' && q + 1 < end && q[1] != '{') {
		q++;
		while (q < end && *q != ' ' && *q != ',')
			q++;
		vend = rend = q;
		if (ML_HAS(q, end, " (")) {
			const char *r = ML_AFTER(q, " (");
			while ((r = ml_scan_findc(r, end, ')')) != NULL && r + 1 < end && r[1] != ' ' && r[1] != ',')
				r++;
			if (r) {
				rend = r + 1;
				q = rend;
			}
		}
	}
	ev->verdict = ml_sl(verb, vend);
	ev->reason_text = ml_sl(verb, rend);

	/* {ACTIONS} */
	q = ml_scan_skip_sp(q, end);
	int quarantined = 0;
	if (q < end && *q == '{') {
		const char *c = ml_scan_findc(q, end, '}');
		if (c) {
			quarantined = ML_FIND(q, c, "Quarantined") != NULL;
			q = c + 1;
		}
	}
	if (q < end && *q == ',')
		q++;

	/* Client items, then "<FROM> -> <A>,<B>" */
	int have_port = 0;
	while (q < end) {
		q = ml_scan_skip_sp(q, end);
		if (q >= end || *q == '<')
			break;
		const char *w = q;
		while (q < end && *q != ' ')
			q++;
		if (*w == '[') {
			const char *rb = ml_scan_findc(w, q, ']');
			int port = rb && rb + 1 < q && rb[1] == ':';
			if (rb && (port ? !have_port : !ev->client_ip.n))
				ev->client_ip = ml_sl(w + 1, rb);
			have_port |= port;
		}
		if (q < end && *q == ',')
			break;
	}
	if (q < end && *q == '<') {
		const char *arrow = ML_FIND(q, end, "> -> ");
		if (arrow) {
			ev->from = ml_sl(q + 1, arrow);
			ev->from_set = 1;
			const char *r = ML_AFTER(arrow, "> -> "), *rs = r;
			while (r < end) {
				if (*r != '<') {
					r = to_comma(r, end);
					break;
				}
				const char *gt = ml_scan_findc(r, end, '>');
				if (!gt) {
					r = end;
					break;
				}
				r = gt + 1;
				if (r + 1 < end && *r == ',' && r[1] == '<')
					r++;
				else
					break;
			}
			if (!(cut && r == end))
				ev->filter_rcpts = ml_sl(rs, r);
			q = r;
		}
	}

	/* ", Key: value" items up to ", Subject: " */
	const char *c;
	while ((c = ML_FIND(q, end, ", ")) != NULL) {
		const char *k = ML_AFTER(c, ", ");
		q = k;
		if (ML_HAS(k, end, "Subject: ") || ML_HAS(k, end, "From: ") || ML_HAS(k, end, "Tests: "))
			break;
		const char *v;
		if ((v = ML_SKIP(k, end, "Queue-ID: ")) != NULL) {
			q = to_comma(v, end);
			if (!(cut && q == end))
				ev->qid = qid_value(v, q);
		} else if (ML_HAS(k, end, "Message-ID: ")) {
			ml_slice_t in;
			const char *a = angle(ML_AFTER(k, "Message-ID: "), end, &in);
			if (a && !(cut && a == end)) {
				ev->msgid = in;
				q = a;
			}
		} else if ((v = ML_SKIP(k, end, "queued_as: ")) != NULL) {
			q = to_comma(v, end);
			if (!(cut && q == end)) {
				const char *t = ML_FIND(v, q, "queued as ");
				const char *s = t ? ML_AFTER(t, "queued as ") : v;
				const char *slash = ml_scan_findc(s, q, '/');
				const char *sp = ml_scan_findc(s, q, ' ');
				const char *x = slash ? slash : q;
				if (sp && sp < x)
					x = sp;
				ev->other_qid = qid_value(s, x);
			}
		} else if ((v = ML_SKIP(k, end, "quarantine: ")) != NULL) {
			q = to_comma(v, end);
			if (!(cut && q == end))
				ev->quarantine = ml_sl(v, q);
			quarantined = 1;
		} else if ((v = ML_SKIP(k, end, "Hits: ")) != NULL) {
			q = to_comma(v, end);
			if (!(cut && q == end) && !(q - v == 1 && *v == '-'))
				ev->score = ml_sl(v, q);
		} else if ((v = ML_SKIP(k, end, "size: ")) != NULL) {
			q = to_comma(v, end);
			if (!(cut && q == end))
				ev->size = ml_scan_u64(v, q);
		}
	}
	ev->status = !blocked ? ML_ST_DELIVERED : quarantined ? ML_ST_QUARANTINED : ML_ST_BLOCKED;
	if (!ev->qid.n && !ev->msgid.n && !ev->other_qid.n)
		ml_event_skip(ev, "amavis no message key");
}

/* ---- rspamd ---------------------------------------------------------------- */

/* The file log's "YYYY-MM-DD HH:MM:SS[.fff] #PID(PROCESS) " prefix. */
static const char *skip_rspamd_stamp(const char *p, const char *e)
{
	if (e - p < 20 || p[4] != '-' || p[7] != '-' || p[10] != ' ' || p[13] != ':' || p[16] != ':' ||
	    !ml_is_digit((unsigned char)p[0]))
		return p;
	const char *q = p + 19;
	while (q < e && (*q == '.' || ml_is_digit((unsigned char)*q)))
		q++;
	q = ml_scan_skip_sp(q, e);
	if (q < e && *q == '#') {
		const char *sp = ml_scan_findc(q, e, ' ');
		q = sp ? sp + 1 : e;
	}
	return q;
}

static ml_status_t rspamd_status(ml_slice_t a)
{
	if (ml_slice_eq(a, "reject") || ml_slice_eq(a, "soft reject") || ml_slice_eq(a, "greylist") ||
	    ml_slice_eq(a, "discard"))
		return ML_ST_BLOCKED;
	if (ml_slice_eq(a, "quarantine"))
		return ML_ST_QUARANTINED;
	if (ml_slice_eq(a, "no action") || ml_slice_eq(a, "add header") || ml_slice_eq(a, "rewrite subject"))
		return ML_ST_DELIVERED;
	return ML_ST_NONE;
}

/*
 * The metric block at p ('('): "(default: F (ACTION): [S/R] [SYMS])" or
 * "(ACTION): [S/R] [SYMS]".  Returns the end of the block.
 */
static const char *rspamd_metric(const char *p, const char *e, ml_event_t *ev)
{
	const char *q = p + 1;
	if (ML_HAS(q, e, "default: ")) {
		q = ML_AFTER(q, "default: ");
		while (q < e && *q != '(' && *q != ',')
			q++;
		if (q >= e || *q != '(')
			return q;
		q++;
	}
	const char *a = q, *c = ml_scan_findc(q, e, ')');
	if (!c || !ML_HAS(c, e, "):"))
		return c ? c + 1 : e;
	ev->verdict = ml_sl(a, c);
	ev->status = rspamd_status(ev->verdict);
	q = ml_scan_skip_sp(ML_AFTER(c, "):"), e);
	if (q < e && *q == '[') {
		const char *rb = ml_scan_findc(q, e, ']');
		if (!rb)
			return e;
		const char *sl_ = ml_scan_findc(q, rb, '/');
		ev->score = ml_sl(q + 1, sl_ ? sl_ : rb);
		q = ml_scan_skip_sp(rb + 1, e);
	}
	if (q < e && *q == '[') {
		/* Symbols: "NAME(score){options;}" separated by ','; options may hold
		 * brackets: the list ends at the first ']' outside braces. */
		const char *s = q + 1;
		int brace = 0;
		for (q = s; q < e; q++) {
			if (*q == '{')
				brace++;
			else if (*q == '}' && brace)
				brace--;
			else if (*q == ']' && !brace)
				break;
		}
		ev->reason_text = ml_sl(s, q);
		if (q < e)
			q++;
	}
	if (q < e && *q == ')')
		q++;
	return q;
}

static void parse_rspamd(const char *p, const char *e, ml_event_t *ev)
{
	p = skip_rspamd_stamp(p, e);
	size_t lim = ML_MIN((size_t)(e - p), 96);
	const char *t = ML_FIND(p, p + lim, "rspamd_task_write_log: ");
	if (!t) {
		/* "<uid>; module; function: text" or "module; function: text". */
		const char *semi = ml_scan_findc(p, p + lim, ';');
		if (semi && semi + 1 < e && semi[1] == ' ' && (*p == '<' || ml_is_alpha((unsigned char)*p)))
			ml_event_skip(ev, "rspamd");
		else if (ML_HAS(p, e, "rspamd ") || ML_HAS(p, e, "main; ") || ML_HAS(p, e, "lua; "))
			ml_event_skip(ev, "rspamd");
		else
			ml_event_unknown(ev, "rspamd: unrecognised");
		return;
	}
	ev->kind = ML_EV_FILTER;
	const char *q = ML_AFTER(t, "rspamd_task_write_log: ");
	while (q < e) {
		q = ml_scan_skip_sp(q, e);
		if (q >= e)
			break;
		if (*q == '(') {
			q = rspamd_metric(q, e, ev);
		} else {
			const char *colon = NULL;
			for (const char *k = q; k < e && k - q < 24; k++) {
				if (*k == ':') {
					colon = k;
					break;
				}
				if (!ml_is_alnum((unsigned char)*k) && *k != '_' && *k != ' ')
					break;
			}
			if (!colon || !ML_HAS(colon, e, ": ")) {
				q = to_comma(q, e);
			} else {
				ml_slice_t key = ml_sl(q, colon), in = ML_SLICE_NULL;
				const char *v = ML_AFTER(colon, ": "), *ve;
				int bracketed = v < e && *v == '<';
				if (bracketed) {
					ve = angle(v, e, &in);
					if (!ve) {
						ve = to_comma(v, e);
						bracketed = 0;
					}
				} else {
					ve = to_comma(v, e);
				}
				ml_slice_t val = bracketed ? in : ml_sl(v, ve);
				if (ml_slice_eq(key, "id")) {
					if (!ml_slice_eq(val, "undef") && !ml_slice_eq(val, "<undef>"))
						ev->msgid = val;
				} else if (ml_slice_eq(key, "qid")) {
					ev->qid = qid_value(val.p, val.p + val.n);
				} else if (ml_slice_eq(key, "ip")) {
					ev->client_ip = val;
				} else if (ml_slice_eq(key, "from")) {
					ev->from = val;
					ev->from_set = 1;
				} else if (ml_slice_eq(key, "rcpts") || ml_slice_eq(key, "rcpt")) {
					ev->filter_rcpts = val;
				} else if (ml_slice_eq(key, "len")) {
					ev->size = ml_scan_u64(val.p, val.p + val.n);
				}
				q = ve;
			}
		}
		if (q < e && *q == ',')
			q++;
	}
	if (!ev->qid.n && !ev->msgid.n)
		ml_event_skip(ev, "rspamd no message key");
}

/* ---- spamd ----------------------------------------------------------------- */

static void parse_spamd(const char *p, const char *e, ml_event_t *ev)
{
	int tagged = 0;
	if (ML_HAS(p, e, "spamd: ")) {
		p = ML_AFTER(p, "spamd: ");
		tagged = 1;
	}
	if (!ML_HAS(p, e, "result: ")) {
		const char *c = ml_scan_findc(p, p + ML_MIN((size_t)(e - p), 24), ':');
		int word = c && c > p && c + 1 <= e;
		for (const char *q = p; word && q < c; q++)
			if (!ml_is_alnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != ' ')
				word = 0;
		if (tagged || word || ML_HAS(p, e, "server ") || ML_HAS(p, e, "child ") || ML_HAS(p, e, "spamd "))
			ml_event_skip(ev, "spamd");
		else
			ml_event_unknown(ev, "spamd: unrecognised");
		return;
	}
	p = ML_AFTER(p, "result: ");
	ev->kind = ML_EV_FILTER;
	int spam = p < e && *p == 'Y';
	ev->verdict = ml_slice_cstr(spam ? "spam" : "clean");
	const char *q = ml_scan_findc(p, e, ' ');
	q = q ? ml_scan_skip_sp(q, e) : e;
	const char *s = q;
	while (q < e && *q != ' ')
		q++;
	ev->score = ml_sl(s, q);
	q = ml_scan_skip_sp(q, e);
	if (ML_HAS(q, e, "- ")) {
		const char *y = ML_AFTER(q, "- "), *ye = ml_scan_findc(y, e, ' ');
		ye = ye ? ye : e;
		ev->reason_text = ml_sl(y, ye);
		q = ye;
	}
	/* key=value items separated by ',' (", " in some versions). */
	while (q < e) {
		q = ml_scan_skip_sp(q, e);
		if (q < e && *q == ',')
			q = ml_scan_skip_sp(q + 1, e);
		const char *k = q;
		while (q < e && *q != '=' && *q != ',' && *q != ' ')
			q++;
		if (q >= e || *q != '=') {
			q = to_comma(q, e);
			continue;
		}
		ml_slice_t key = ml_sl(k, q);
		const char *v = q + 1, *ve;
		ml_slice_t in;
		if (ml_slice_eq(key, "mid") && (ve = angle(v, e, &in)) != NULL) {
			ev->msgid = in;
			q = ve;
			continue;
		}
		ve = to_comma(v, e);
		if (ml_slice_eq(key, "size"))
			ev->size = ml_scan_u64(v, ve);
		q = ve;
	}
	if (!ev->msgid.n)
		ml_event_skip(ev, "spamd no message-id");
}

/* ---- milters with "QID: TEXT" lines ------------------------------------------- */

/* "from <A> to <B>" at p: from, filter_rcpts; returns the end. */
static const char *from_to(const char *p, const char *e, ml_event_t *ev)
{
	ml_slice_t in;
	const char *q;
	if (ML_HAS(p, e, "from ") && (q = angle(ML_AFTER(p, "from "), e, &in)) != NULL) {
		ev->from = in;
		ev->from_set = 1;
		p = q;
		if (ML_HAS(p, e, " to <")) {
			const char *rs = ML_AFTER(p, " to <");
			const char *r = ml_scan_findc(rs, e, '>');
			if (r) {
				ev->filter_rcpts = ml_sl(rs - 1, r + 1);
				p = r + 1;
			}
		}
	}
	return p;
}

static void parse_clamav(const char *p, const char *e, ml_event_t *ev)
{
	size_t qn = qid_prefix(p, e);
	if (qn) {
		ev->qid = ml_sl(p, p + qn);
		p = ML_AFTER(p + qn, ": ");
	}
	int clean = 0;
	const char *q = NULL;
	if (ML_HAS(p, e, "Message "))
		q = ML_AFTER(p, "Message ");
	else if (ML_HAS(p, e, "Clean message")) {
		q = ML_AFTER(p, "Clean message");
		clean = 1;
	}
	if (q) {
		q = ml_scan_skip_sp(q, e);
		/* "Message QID from ..." / "Message QID infected by ..." */
		if (!ML_HAS(q, e, "from ")) {
			const char *w = q;
			while (q < e && *q != ' ')
				q++;
			if (!ev->qid.n && mta_qid_shape(w, q))
				ev->qid = ml_sl(w, q);
			q = ml_scan_skip_sp(q, e);
		}
		q = from_to(q, e, ev);
		const char *inf = ML_FIND(q, e, "infected by ");
		if (inf && !clean) {
			ev->kind = ML_EV_FILTER;
			ev->verdict = ml_sl(inf, inf + ML_LEN("infected"));
			ev->reason_text = ml_sl(inf, e);
			ev->status = ML_ST_BLOCKED;
		} else if (clean) {
			ev->kind = ML_EV_FILTER;
			ev->verdict = ml_sl(p, p + ML_LEN("Clean"));
			ev->status = ML_ST_DELIVERED;
		}
		if (ev->kind == ML_EV_FILTER && ev->qid.n)
			return;
		if (ev->kind == ML_EV_FILTER) {
			ml_event_skip(ev, "clamav-milter no queue id");
			return;
		}
	}
	if (ev->qid.n) {
		ml_slice_t qid = ev->qid;
		ml_event_clear(ev);
		ev->qid = qid;
		ev->kind = ML_EV_FILTER;
		ev->verdict = ev->reason_text = ml_sl(p, e);
		if (ml_slice_ieq(ev->verdict, "clean"))
			ev->status = ML_ST_DELIVERED;
		return;
	}
	ml_event_skip(ev, "clamav-milter");
}

static void parse_qid_milter(prog_t prog, const char *p, const char *e, ml_event_t *ev)
{
	size_t qn = qid_prefix(p, e);
	if (!qn) {
		ml_event_skip(ev, prog == P_OPENDKIM ? "opendkim" : "opendmarc");
		return;
	}
	ev->kind = ML_EV_FILTER;
	ev->qid = ml_sl(p, p + qn);
	p = ML_AFTER(p + qn, ": ");
	ev->verdict = ev->reason_text = ml_sl(p, e);
	if (prog == P_OPENDMARC) {
		/* "DOMAIN RESULT": the result word. */
		const char *sp = ml_scan_findc(p, e, ' ');
		if (sp && !ml_scan_findc(sp + 1, e, ' ') && sp + 1 < e && ml_scan_findc(p, sp, '.'))
			ev->verdict = ml_sl(sp + 1, e);
	}
}

/* ---- policyd-spf ------------------------------------------------------------- */

static const ml_prefix_t SPF_PREFIXES[] = {
	ML_PREFIX("prepend "), ML_PREFIX("Received-SPF"), ML_PREFIX("action="), ML_PREFIX("Policy action="), ML_PREFIX("550 "),
	ML_PREFIX("450 "), ML_PREFIX("451 "), ML_PREFIX("554 "), ML_PREFIX("Starting"), ML_PREFIX("Config"), ML_PREFIX("SPF "), ML_PREFIX("None"),
	ML_PREFIX("Pass"), ML_PREFIX("Fail"), ML_PREFIX("Softfail"), ML_PREFIX("Neutral"), ML_PREFIX("Temperror"), ML_PREFIX("Permerror"),
	ML_PREFIX("Not "), ML_PREFIX("Debug"), ML_PREFIX("ERROR"), ML_PREFIX("Exception"), ML_PREFIX("DUNNO"), ML_PREFIX("PREPEND"),
	ML_PREFIX("REJECT"), ML_PREFIX("DEFER"), ML_PREFIX("Hello "), ML_PREFIX("HELO "), ML_PREFIX("Mail From"), ML_PREFIX("skip"),
	ML_PREFIX("Skip"), ML_PREFIX("Whitelist"), ML_PREFIX("whitelist"), ML_PREFIX("sender_policy"), ML_PREFIX("Header"),
	ML_PREFIX("Using "), ML_PREFIX("Read "), ML_PREFIX("spfcheck"), ML_PREFIX("Result"), { NULL, 0 }
};

static void parse_policyd_spf(const char *p, const char *e, ml_event_t *ev)
{
	if (ml_scan_starts_any(p, e, SPF_PREFIXES) || ML_FIND(p, e, "identity=") || ML_FIND(p, e, "Received-SPF"))
		ml_event_skip(ev, "policyd-spf");
	else
		ml_event_unknown(ev, "policyd-spf: unrecognised");
}

/* ---- MailScanner --------------------------------------------------------------- */

static void parse_mailscanner(const char *p, const char *e, ml_event_t *ev)
{
	if (ML_HAS(p, e, "Message ")) {
		const char *q = ML_AFTER(p, "Message "), *w = q;
		while (q < e && *q != ' ')
			q++;
		ml_slice_t qid = qid_value(w, q);
		if (!qid.n || !ML_HAS(q, e, " from ")) {
			ml_event_skip(ev, "MailScanner");
			return;
		}
		const char *is = ML_FIND(q, e, " is ");
		if (!is) {
			ml_event_skip(ev, "MailScanner");
			return;
		}
		ev->kind = ML_EV_FILTER;
		ev->qid = qid;
		q = ML_AFTER(q, " from ");
		const char *ip = q;
		while (q < is && *q != ' ')
			q++;
		ev->client_ip = ml_sl(ip, q);
		q = ml_scan_skip_sp(q, is);
		if (q < is && *q == '(') {
			const char *c = ml_scan_findc(q, is, ')');
			if (c) {
				ev->from = ml_sl(q + 1, c);
				ev->from_set = 1;
				q = c + 1;
			}
		}
		if (ML_HAS(q, is, " to "))
			ev->filter_rcpts = ml_sl(ML_AFTER(q, " to "), is);
		const char *v = ML_AFTER(is, " is "), *ve = v;
		while (ve < e && *ve != ',' && *ve != '(')
			ve++;
		while (ve > v && ve[-1] == ' ')
			ve--;
		ev->verdict = ml_sl(v, ve);
		ev->reason_text = ml_sl(v, e);
		const char *sc = ML_FIND(ve, e, "score=");
		if (sc)
			ev->score = ml_sl(ML_AFTER(sc, "score="), to_comma(ML_AFTER(sc, "score="), e));
		return;
	}
	if (ML_HAS(p, e, "Requeue: ")) {
		const char *q = ML_AFTER(p, "Requeue: "), *w = q;
		while (q < e && *q != ' ' && *q != '.')
			q++;
		ml_slice_t qid = qid_value(w, q);
		const char *to = ML_FIND(q, e, " to ");
		if (qid.n && to) {
			const char *n = ML_AFTER(to, " to "), *ne = n;
			while (ne < e && *ne != ' ' && *ne != ',')
				ne++;
			ev->kind = ML_EV_FILTER;
			ev->qid = qid;
			ev->other_qid = qid_value(n, ne);
			ev->verdict = ml_sl(p, p + ML_LEN("Requeue"));
			ev->status = ML_ST_DELIVERED;
			return;
		}
	}
	if (ML_HAS(p, e, "Spam Actions: message ")) {
		const char *q = ML_AFTER(p, "Spam Actions: message "), *w = q;
		while (q < e && *q != ' ')
			q++;
		ml_slice_t qid = qid_value(w, q);
		if (qid.n && ML_HAS(q, e, " actions are ")) {
			ev->kind = ML_EV_FILTER;
			ev->qid = qid;
			const char *a = ML_AFTER(q, " actions are ");
			ev->verdict = ev->reason_text = ml_sl(a, e);
			int deliver = ML_FIND(a, e, "deliver") != NULL || ML_FIND(a, e, "forward") != NULL;
			if (ML_FIND(a, e, "delete") || ML_FIND(a, e, "bounce"))
				ev->status = ML_ST_BLOCKED;
			else if (ML_FIND(a, e, "store") && !deliver)
				ev->status = ML_ST_QUARANTINED;
			else if (deliver)
				ev->status = ML_ST_DELIVERED;
			return;
		}
	}
	ml_event_skip(ev, "MailScanner");
}

/* ---- entry point ------------------------------------------------------------------ */

void ml_filters_parse(ml_slice_t program, ml_slice_t msg, ml_event_t *ev)
{
	ml_event_clear(ev);
	const char *p, *e = ml_scan_message(msg, &p);
	p = ml_scan_skip_sp(p, e);
	prog_t prog = program_of(program);
	if (prog == P_NONE) {
		ml_event_unknown(ev, "unknown program");
		return;
	}
	if (p == e) {
		ml_event_skip(ev, "filter empty line");
		return;
	}
	if (ml_learn_parse(program, ml_sl(p, e), ev))
		return;  /* a learning line: engine/learn.h */
	switch (prog) {
	case P_AMAVIS: parse_amavis(p, e, ev); break;
	case P_RSPAMD: parse_rspamd(p, e, ev); break;
	case P_SPAMD: parse_spamd(p, e, ev); break;
	case P_CLAMAV: parse_clamav(p, e, ev); break;
	case P_OPENDKIM:
	case P_OPENDMARC: parse_qid_milter(prog, p, e, ev); break;
	case P_POLICYD_SPF: parse_policyd_spf(p, e, ev); break;
	case P_MAILSCANNER: parse_mailscanner(p, e, ev); break;
	case P_NONE: break;
	}
}
