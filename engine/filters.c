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

#include <string.h>

/* ---- bounded byte helpers ---------------------------------------------- */

#define LIT(s) (s), (sizeof(s) - 1)

static inline int has(const char *p, const char *e, const char *lit, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}
#define HAS(p, e, s) has((p), (e), LIT(s))

static inline ml_slice_t sl(const char *p, const char *e)
{
	return ml_slice(p, (size_t)(e - p));
}

static inline const char *find(const char *p, const char *e, const char *lit, size_t n)
{
	if (p >= e || (size_t)(e - p) < n)
		return NULL;
	return memmem(p, (size_t)(e - p), lit, n);
}
#define FIND(p, e, s) find((p), (e), LIT(s))

static inline const char *findc(const char *p, const char *e, int c)
{
	return p < e ? memchr(p, c, (size_t)(e - p)) : NULL;
}

static inline int is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10u;
}
static inline int is_alpha(unsigned char c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u;
}
static inline int is_alnum(unsigned char c)
{
	return is_digit(c) || is_alpha(c);
}

static uint64_t parse_u64(const char *p, const char *e)
{
	uint64_t v = 0;
	for (; p < e && is_digit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return UINT64_MAX;
		v = v * 10 + d;
	}
	return v;
}

static const char *skip_sp(const char *p, const char *e)
{
	while (p < e && *p == ' ')
		p++;
	return p;
}

/* The end of a value at p: the next ',' (or e). */
static const char *to_comma(const char *p, const char *e)
{
	const char *c = findc(p, e, ',');
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
	while ((q = findc(q, e, '>')) != NULL) {
		if (q + 1 == e || q[1] == ',' || q[1] == ' ' || q[1] == ';') {
			*in = sl(p + 1, q);
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
		if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* A labelled queue ID value: kept when it has the shape, else empty. */
static ml_slice_t qid_value(const char *p, const char *e)
{
	ml_slice_t s = sl(p, e);
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
		if (is_digit(ch))
			digit = 1;
		else if (!is_alpha(ch) && ch != '-')
			return 0;
	}
	return digit;
}

/* "QID: " at the start of a milter's line: the length of QID, else 0. */
static size_t qid_prefix(const char *p, const char *e)
{
	size_t lim = (size_t)(e - p) < 34 ? (size_t)(e - p) : 34;
	const char *c = memchr(p, ':', lim);
	if (!c || c + 1 >= e || c[1] != ' ')
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
	const char *b = findc(p, e, '[');
	if (b)
		e = b;
	for (const char *q = e; q > p; q--)
		if (q[-1] == '/') {
			p = q;
			break;
		}
	ml_slice_t s = sl(p, e);
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

int ml_filters_next_rcpt(ml_slice_t *list, ml_slice_t *addr)
{
	const char *p = list->p, *e = p ? p + list->n : p;
	while (p < e && (*p == ' ' || *p == ','))
		p++;
	if (p >= e) {
		*list = ml_slice(e, 0);
		*addr = ML_SLICE_NULL;
		return 0;
	}
	const char *q;
	if (*p == '<') {
		const char *gt = findc(p, e, '>');
		q = gt ? gt + 1 : e;
		*addr = sl(p + 1, gt ? gt : e);
	} else {
		q = to_comma(p, e);
		const char *t = q;
		while (t > p && t[-1] == ' ')
			t--;
		*addr = sl(p, t);
	}
	*list = sl(q, e);
	return 1;
}

/* ---- amavis -------------------------------------------------------------- */

typedef struct {
	const char *s;
	size_t n;
} prefix_t;
#define PFX(lit) { (lit), sizeof(lit) - 1 }

static int starts_any(const char *p, const char *e, const prefix_t *list)
{
	for (; list->s; list++)
		if (has(p, e, list->s, list->n))
			return 1;
	return 0;
}

/* Daemon lines of amavis without the "(PID-NN)" log ID. */
static const prefix_t AMAVIS_CHATTER[] = {
	PFX("starting"), PFX("Net::Server"), PFX("extra modules loaded"), PFX("Found "), PFX("No "),
	PFX("Using "), PFX("Module "), PFX("SpamControl"), PFX("SpamAssassin"), PFX("Amavis::"),
	PFX("(!)"), PFX("TROUBLE"), PFX("Requesting"), PFX("Perl version"), PFX("user="),
	PFX("initializing"), PFX("ANTI-VIRUS"), PFX("ANTI-SPAM"), PFX("Creating db"), PFX("config files"),
	PFX("logging"), PFX("amavisd"), PFX("Amavisd"), PFX("_WARN"), PFX("_DIE"), PFX("Deleting db"),
	PFX("DKIM"), PFX("Internal decoder"), PFX("Unicode"), PFX("dkim"), PFX("Net::"), PFX("Ignoring"),
	PFX("socket"), PFX("Socket"), PFX("Decoder"), PFX("SA info"), PFX("SA dbg"), PFX("SA warn"),
	PFX("Lookup"), PFX("lookup"), PFX("Initializing"), PFX("AM.PDP"), PFX("ClamAV"), PFX("Daemon"),
	PFX("daemon"), PFX("Process"), PFX("process"), PFX("Exiting"), PFX("Server closing"),
	PFX("Sending SIGTERM"), PFX("release"), PFX("Quarantined message"), PFX("Reloading"),
	PFX("Log"), PFX("warning"), PFX("WARN"), PFX("Error"), PFX("error"), PFX("INFO"), PFX("Info"),
	PFX("child"), PFX("Child"), { NULL, 0 }
};

static void parse_amavis(const char *p, const char *e, ml_event_t *ev)
{
	/* The log ID "(PID-NN) " (also "(!!)" / "(!)" markers follow it). */
	int has_id = 0;
	if (p < e && *p == '(') {
		const char *c = findc(p, p + ML_MIN((size_t)(e - p), 48), ')');
		if (c && c > p + 1 && c + 1 < e && c[1] == ' ') {
			has_id = 1;
			for (const char *q = p + 1; q < c; q++)
				if (!is_alnum((unsigned char)*q) && *q != '-')
					has_id = 0;
		}
		if (has_id)
			p = c + 2;
	}
	if (!has_id) {
		if (starts_any(p, e, AMAVIS_CHATTER))
			ml_event_skip(ev, "amavis");
		else
			ml_event_unknown(ev, "amavis: unrecognised");
		return;
	}
	if (HAS(p, e, "...")) {
		ml_event_skip(ev, "amavis continuation");
		return;
	}
	size_t vn = HAS(p, e, "Passed") ? 6 : HAS(p, e, "Blocked") ? 7 : HAS(p, e, "Not-Delivered") ? 13
		: HAS(p, e, "Released") ? 8 : 0;
	if (!vn || (p + vn < e && p[vn] != ' ' && p[vn] != ',')) {
		ml_event_skip(ev, "amavis");
		return;
	}
	/* A line split by amavis ends in "...": values reaching the cut are partial. */
	int cut = (size_t)(e - p) >= 3 && !memcmp(e - 3, "...", 3);
	const char *end = cut ? e - 3 : e;
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
		if (HAS(q, end, " (")) {
			const char *r = q + 2;
			while ((r = findc(r, end, ')')) != NULL && r + 1 < end && r[1] != ' ' && r[1] != ',')
				r++;
			if (r) {
				rend = r + 1;
				q = rend;
			}
		}
	}
	ev->verdict = sl(verb, vend);
	ev->reason_text = sl(verb, rend);

	/* {ACTIONS} */
	q = skip_sp(q, end);
	int quarantined = 0;
	if (q < end && *q == '{') {
		const char *c = findc(q, end, '}');
		if (c) {
			quarantined = FIND(q, c, "Quarantined") != NULL;
			q = c + 1;
		}
	}
	if (q < end && *q == ',')
		q++;

	/* Client items, then "<FROM> -> <A>,<B>" */
	int have_port = 0;
	while (q < end) {
		q = skip_sp(q, end);
		if (q >= end || *q == '<')
			break;
		const char *w = q;
		while (q < end && *q != ' ')
			q++;
		if (*w == '[') {
			const char *rb = findc(w, q, ']');
			int port = rb && rb + 1 < q && rb[1] == ':';
			if (rb && (port ? !have_port : !ev->client_ip.n))
				ev->client_ip = sl(w + 1, rb);
			have_port |= port;
		}
		if (q < end && *q == ',')
			break;
	}
	if (q < end && *q == '<') {
		const char *arrow = FIND(q, end, "> -> ");
		if (arrow) {
			ev->from = sl(q + 1, arrow);
			ev->from_set = 1;
			const char *r = arrow + 5, *rs = r;
			while (r < end) {
				if (*r != '<') {
					r = to_comma(r, end);
					break;
				}
				const char *gt = findc(r, end, '>');
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
				ev->filter_rcpts = sl(rs, r);
			q = r;
		}
	}

	/* ", Key: value" items up to ", Subject: " */
	const char *c;
	while ((c = FIND(q, end, ", ")) != NULL) {
		const char *k = c + 2;
		q = k;
		if (HAS(k, end, "Subject: ") || HAS(k, end, "From: ") || HAS(k, end, "Tests: "))
			break;
		const char *v;
		if (HAS(k, end, "Queue-ID: ")) {
			v = k + 10;
			q = to_comma(v, end);
			if (!(cut && q == end))
				ev->qid = qid_value(v, q);
		} else if (HAS(k, end, "Message-ID: ")) {
			ml_slice_t in;
			const char *a = angle(k + 12, end, &in);
			if (a && !(cut && a == end)) {
				ev->msgid = in;
				q = a;
			}
		} else if (HAS(k, end, "queued_as: ")) {
			v = k + 11;
			q = to_comma(v, end);
			if (!(cut && q == end)) {
				const char *t = FIND(v, q, "queued as ");
				const char *s = t ? t + 10 : v;
				const char *slash = findc(s, q, '/');
				const char *sp = findc(s, q, ' ');
				const char *x = slash ? slash : q;
				if (sp && sp < x)
					x = sp;
				ev->other_qid = qid_value(s, x);
			}
		} else if (HAS(k, end, "quarantine: ")) {
			v = k + 12;
			q = to_comma(v, end);
			if (!(cut && q == end))
				ev->quarantine = sl(v, q);
			quarantined = 1;
		} else if (HAS(k, end, "Hits: ")) {
			v = k + 6;
			q = to_comma(v, end);
			if (!(cut && q == end) && !(q - v == 1 && *v == '-'))
				ev->score = sl(v, q);
		} else if (HAS(k, end, "size: ")) {
			v = k + 6;
			q = to_comma(v, end);
			if (!(cut && q == end))
				ev->size = parse_u64(v, q);
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
	    !is_digit((unsigned char)p[0]))
		return p;
	const char *q = p + 19;
	while (q < e && (*q == '.' || is_digit((unsigned char)*q)))
		q++;
	q = skip_sp(q, e);
	if (q < e && *q == '#') {
		const char *sp = findc(q, e, ' ');
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
	if (HAS(q, e, "default: ")) {
		q += 9;
		while (q < e && *q != '(' && *q != ',')
			q++;
		if (q >= e || *q != '(')
			return q;
		q++;
	}
	const char *a = q, *c = findc(q, e, ')');
	if (!c || c + 1 >= e || c[1] != ':')
		return c ? c + 1 : e;
	ev->verdict = sl(a, c);
	ev->status = rspamd_status(ev->verdict);
	q = skip_sp(c + 2, e);
	if (q < e && *q == '[') {
		const char *rb = findc(q, e, ']');
		if (!rb)
			return e;
		const char *sl_ = findc(q, rb, '/');
		ev->score = sl(q + 1, sl_ ? sl_ : rb);
		q = skip_sp(rb + 1, e);
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
		ev->reason_text = sl(s, q);
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
	const char *t = FIND(p, p + lim, "rspamd_task_write_log: ");
	if (!t) {
		/* "<uid>; module; function: text" or "module; function: text". */
		const char *semi = findc(p, p + lim, ';');
		if (semi && semi + 1 < e && semi[1] == ' ' && (*p == '<' || is_alpha((unsigned char)*p)))
			ml_event_skip(ev, "rspamd");
		else if (HAS(p, e, "rspamd ") || HAS(p, e, "main; ") || HAS(p, e, "lua; "))
			ml_event_skip(ev, "rspamd");
		else
			ml_event_unknown(ev, "rspamd: unrecognised");
		return;
	}
	ev->kind = ML_EV_FILTER;
	const char *q = t + 23;
	while (q < e) {
		q = skip_sp(q, e);
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
				if (!is_alnum((unsigned char)*k) && *k != '_' && *k != ' ')
					break;
			}
			if (!colon || colon + 1 >= e || colon[1] != ' ') {
				q = to_comma(q, e);
			} else {
				ml_slice_t key = sl(q, colon), in = ML_SLICE_NULL;
				const char *v = colon + 2, *ve;
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
				ml_slice_t val = bracketed ? in : sl(v, ve);
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
					ev->size = parse_u64(val.p, val.p + val.n);
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
	if (HAS(p, e, "spamd: ")) {
		p += 7;
		tagged = 1;
	}
	if (!HAS(p, e, "result: ")) {
		const char *c = findc(p, p + ML_MIN((size_t)(e - p), 24), ':');
		int word = c && c > p && c + 1 <= e;
		for (const char *q = p; word && q < c; q++)
			if (!is_alnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != ' ')
				word = 0;
		if (tagged || word || HAS(p, e, "server ") || HAS(p, e, "child ") || HAS(p, e, "spamd "))
			ml_event_skip(ev, "spamd");
		else
			ml_event_unknown(ev, "spamd: unrecognised");
		return;
	}
	p += 8;
	ev->kind = ML_EV_FILTER;
	int spam = p < e && *p == 'Y';
	ev->verdict = ml_slice_cstr(spam ? "spam" : "clean");
	const char *q = findc(p, e, ' ');
	q = q ? skip_sp(q, e) : e;
	const char *s = q;
	while (q < e && *q != ' ')
		q++;
	ev->score = sl(s, q);
	q = skip_sp(q, e);
	if (HAS(q, e, "- ")) {
		const char *y = q + 2, *ye = findc(y, e, ' ');
		ye = ye ? ye : e;
		ev->reason_text = sl(y, ye);
		q = ye;
	}
	/* key=value items separated by ',' (", " in some versions). */
	while (q < e) {
		q = skip_sp(q, e);
		if (q < e && *q == ',')
			q = skip_sp(q + 1, e);
		const char *k = q;
		while (q < e && *q != '=' && *q != ',' && *q != ' ')
			q++;
		if (q >= e || *q != '=') {
			q = to_comma(q, e);
			continue;
		}
		ml_slice_t key = sl(k, q);
		const char *v = q + 1, *ve;
		ml_slice_t in;
		if (ml_slice_eq(key, "mid") && (ve = angle(v, e, &in)) != NULL) {
			ev->msgid = in;
			q = ve;
			continue;
		}
		ve = to_comma(v, e);
		if (ml_slice_eq(key, "size"))
			ev->size = parse_u64(v, ve);
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
	if (HAS(p, e, "from ") && (q = angle(p + 5, e, &in)) != NULL) {
		ev->from = in;
		ev->from_set = 1;
		p = q;
		if (HAS(p, e, " to <")) {
			const char *rs = p + 5;
			const char *r = findc(rs, e, '>');
			if (r) {
				ev->filter_rcpts = sl(rs - 1, r + 1);
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
		ev->qid = sl(p, p + qn);
		p += qn + 2;
	}
	int clean = 0;
	const char *q = NULL;
	if (HAS(p, e, "Message "))
		q = p + 8;
	else if (HAS(p, e, "Clean message")) {
		q = p + 13;
		clean = 1;
	}
	if (q) {
		q = skip_sp(q, e);
		/* "Message QID from ..." / "Message QID infected by ..." */
		if (!HAS(q, e, "from ")) {
			const char *w = q;
			while (q < e && *q != ' ')
				q++;
			if (!ev->qid.n && mta_qid_shape(w, q))
				ev->qid = sl(w, q);
			q = skip_sp(q, e);
		}
		q = from_to(q, e, ev);
		const char *inf = FIND(q, e, "infected by ");
		if (inf && !clean) {
			ev->kind = ML_EV_FILTER;
			ev->verdict = sl(inf, inf + 8);
			ev->reason_text = sl(inf, e);
			ev->status = ML_ST_BLOCKED;
		} else if (clean) {
			ev->kind = ML_EV_FILTER;
			ev->verdict = sl(p, p + 5);
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
		ev->verdict = ev->reason_text = sl(p, e);
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
	ev->qid = sl(p, p + qn);
	p += qn + 2;
	ev->verdict = ev->reason_text = sl(p, e);
	if (prog == P_OPENDMARC) {
		/* "DOMAIN RESULT": the result word. */
		const char *sp = findc(p, e, ' ');
		if (sp && !findc(sp + 1, e, ' ') && sp + 1 < e && findc(p, sp, '.'))
			ev->verdict = sl(sp + 1, e);
	}
}

/* ---- policyd-spf ------------------------------------------------------------- */

static const prefix_t SPF_PREFIXES[] = {
	PFX("prepend "), PFX("Received-SPF"), PFX("action="), PFX("Policy action="), PFX("550 "),
	PFX("450 "), PFX("451 "), PFX("554 "), PFX("Starting"), PFX("Config"), PFX("SPF "), PFX("None"),
	PFX("Pass"), PFX("Fail"), PFX("Softfail"), PFX("Neutral"), PFX("Temperror"), PFX("Permerror"),
	PFX("Not "), PFX("Debug"), PFX("ERROR"), PFX("Exception"), PFX("DUNNO"), PFX("PREPEND"),
	PFX("REJECT"), PFX("DEFER"), PFX("Hello "), PFX("HELO "), PFX("Mail From"), PFX("skip"),
	PFX("Skip"), PFX("Whitelist"), PFX("whitelist"), PFX("sender_policy"), PFX("Header"),
	PFX("Using "), PFX("Read "), PFX("spfcheck"), PFX("Result"), { NULL, 0 }
};

static void parse_policyd_spf(const char *p, const char *e, ml_event_t *ev)
{
	if (starts_any(p, e, SPF_PREFIXES) || FIND(p, e, "identity=") || FIND(p, e, "Received-SPF"))
		ml_event_skip(ev, "policyd-spf");
	else
		ml_event_unknown(ev, "policyd-spf: unrecognised");
}

/* ---- MailScanner --------------------------------------------------------------- */

static void parse_mailscanner(const char *p, const char *e, ml_event_t *ev)
{
	if (HAS(p, e, "Message ")) {
		const char *q = p + 8, *w = q;
		while (q < e && *q != ' ')
			q++;
		ml_slice_t qid = qid_value(w, q);
		if (!qid.n || !HAS(q, e, " from ")) {
			ml_event_skip(ev, "MailScanner");
			return;
		}
		const char *is = FIND(q, e, " is ");
		if (!is) {
			ml_event_skip(ev, "MailScanner");
			return;
		}
		ev->kind = ML_EV_FILTER;
		ev->qid = qid;
		q += 6;
		const char *ip = q;
		while (q < is && *q != ' ')
			q++;
		ev->client_ip = sl(ip, q);
		q = skip_sp(q, is);
		if (q < is && *q == '(') {
			const char *c = findc(q, is, ')');
			if (c) {
				ev->from = sl(q + 1, c);
				ev->from_set = 1;
				q = c + 1;
			}
		}
		if (HAS(q, is, " to "))
			ev->filter_rcpts = sl(q + 4, is);
		const char *v = is + 4, *ve = v;
		while (ve < e && *ve != ',' && *ve != '(')
			ve++;
		while (ve > v && ve[-1] == ' ')
			ve--;
		ev->verdict = sl(v, ve);
		ev->reason_text = sl(v, e);
		const char *sc = FIND(ve, e, "score=");
		if (sc)
			ev->score = sl(sc + 6, to_comma(sc + 6, e));
		return;
	}
	if (HAS(p, e, "Requeue: ")) {
		const char *q = p + 9, *w = q;
		while (q < e && *q != ' ' && *q != '.')
			q++;
		ml_slice_t qid = qid_value(w, q);
		const char *to = FIND(q, e, " to ");
		if (qid.n && to) {
			const char *n = to + 4, *ne = n;
			while (ne < e && *ne != ' ' && *ne != ',')
				ne++;
			ev->kind = ML_EV_FILTER;
			ev->qid = qid;
			ev->other_qid = qid_value(n, ne);
			ev->verdict = sl(p, p + 7);
			ev->status = ML_ST_DELIVERED;
			return;
		}
	}
	if (HAS(p, e, "Spam Actions: message ")) {
		const char *q = p + 22, *w = q;
		while (q < e && *q != ' ')
			q++;
		ml_slice_t qid = qid_value(w, q);
		if (qid.n && HAS(q, e, " actions are ")) {
			ev->kind = ML_EV_FILTER;
			ev->qid = qid;
			const char *a = q + 13;
			ev->verdict = ev->reason_text = sl(a, e);
			int deliver = FIND(a, e, "deliver") != NULL || FIND(a, e, "forward") != NULL;
			if (FIND(a, e, "delete") || FIND(a, e, "bounce"))
				ev->status = ML_ST_BLOCKED;
			else if (FIND(a, e, "store") && !deliver)
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
	const char *p = msg.p ? msg.p : "";
	const char *e = p + (msg.p ? msg.n : 0);
	while (e > p && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\n' || e[-1] == '\t'))
		e--;
	p = skip_sp(p, e);
	prog_t prog = program_of(program);
	if (prog == P_NONE) {
		ml_event_unknown(ev, "unknown program");
		return;
	}
	if (p == e) {
		ml_event_skip(ev, "filter empty line");
		return;
	}
	if (ml_learn_parse(program, sl(p, e), ev))
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
