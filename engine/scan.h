/*
 * scan.h — the one low-level vocabulary of the line parsers (postfix.c,
 * exim.c, sendmail.c, filters.c) and of the syslog header (syslog.c):
 * bounded byte scans over [p, e).
 *
 * Every function takes the end of the bytes it may read and never reads past
 * it; none assumes NUL termination, none allocates.  A literal is matched
 * with its length taken by sizeof, never counted by hand: ML_HAS(p, e, "x")
 * tests for it, ML_SKIP(p, e, "x") answers the byte after it (NULL when p
 * does not start with it), ML_AFTER(q, "x") the byte after the literal that
 * q points at (q from ML_HAS or ML_FIND), ML_LEN("x") its length; ML_IS
 * and ML_ENDS compare a whole word or its end; an ml_prefix_t table lists
 * literals a line may start with.  Slices returned point into the scanned
 * bytes.
 */
#ifndef ML_SCAN_H
#define ML_SCAN_H

#include <stdint.h>
#include <string.h>

#include "util.h"

#define ML_LIT(s) (s), (sizeof(s) - 1)
#define ML_LEN(s) (sizeof(s) - 1)

static inline int ml_is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10u;
}
static inline int ml_is_lower(unsigned char c)
{
	return (unsigned)(c - 'a') < 26u;
}
static inline int ml_is_alpha(unsigned char c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u;
}
static inline int ml_is_alnum(unsigned char c)
{
	return ml_is_digit(c) || ml_is_alpha(c);
}

static inline ml_slice_t ml_sl(const char *p, const char *e)
{
	return ml_slice(p, (size_t)(e - p));
}

/* 1 when [p, e) starts with lit[0..n). */
static inline int ml_scan_has(const char *p, const char *e, const char *lit, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}
#define ML_HAS(p, e, s) ml_scan_has((p), (e), ML_LIT(s))

/* 1 when the n bytes at p are lit[0..ln) exactly. */
static inline int ml_scan_is(const char *p, size_t n, const char *lit, size_t ln)
{
	return n == ln && memcmp(p, lit, n) == 0;
}
#define ML_IS(p, n, s) ml_scan_is((p), (n), ML_LIT(s))

/* 1 when the n bytes at p end with lit[0..ln). */
static inline int ml_scan_ends(const char *p, size_t n, const char *lit, size_t ln)
{
	return n >= ln && memcmp(p + n - ln, lit, ln) == 0;
}
#define ML_ENDS(p, n, s) ml_scan_ends((p), (n), ML_LIT(s))

/* The byte after lit when [p, e) starts with it, else NULL. */
static inline const char *ml_scan_skip(const char *p, const char *e, const char *lit, size_t n)
{
	return ml_scan_has(p, e, lit, n) ? p + n : NULL;
}
#define ML_SKIP(p, e, s) ml_scan_skip((p), (e), ML_LIT(s))

/* q points at literal s: the byte after it. */
#define ML_AFTER(q, s) ((q) + ML_LEN(s))

/* The first occurrence of lit[0..n) in [p, e), or NULL. */
static inline const char *ml_scan_find(const char *p, const char *e, const char *lit, size_t n)
{
	if (p >= e || (size_t)(e - p) < n)
		return NULL;
	return memmem(p, (size_t)(e - p), lit, n);
}
#define ML_FIND(p, e, s) ml_scan_find((p), (e), ML_LIT(s))

/* The first byte c in [p, e), or NULL. */
static inline const char *ml_scan_findc(const char *p, const char *e, int c)
{
	return p < e ? memchr(p, c, (size_t)(e - p)) : NULL;
}

/* The last occurrence of lit[0..n) (n >= 1) in [p, e), or NULL. */
static inline const char *ml_scan_rfind(const char *p, const char *e, const char *lit, size_t n)
{
	if ((size_t)(e - p) < n)
		return NULL;
	const char *q = e - n;  /* the last possible start */
	for (;;) {
		q = memrchr(p, lit[0], (size_t)(q - p) + 1);
		if (!q)
			return NULL;
		if (memcmp(q, lit, n) == 0)
			return q;
		if (q == p)
			return NULL;
		q--;
	}
}
#define ML_RFIND(p, e, s) ml_scan_rfind((p), (e), ML_LIT(s))

/* Past the spaces at p. */
static inline const char *ml_scan_skip_sp(const char *p, const char *e)
{
	while (p < e && *p == ' ')
		p++;
	return p;
}

/* The unsigned decimal at p (its digits up to e); saturates at UINT64_MAX. */
static inline uint64_t ml_scan_u64(const char *p, const char *e)
{
	uint64_t v = 0;
	for (; p < e && ml_is_digit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return UINT64_MAX;
		v = v * 10 + d;
	}
	return v;
}

/* A table of literals, ended by { NULL, 0 }: ML_PREFIX("x") is one. */
typedef struct {
	const char *s;
	size_t n;
} ml_prefix_t;
#define ML_PREFIX(lit) { (lit), sizeof(lit) - 1 }

/* 1 when [p, e) starts with one of the list's literals. */
static inline int ml_scan_starts_any(const char *p, const char *e, const ml_prefix_t *list)
{
	for (; list->s; list++)
		if (ml_scan_has(p, e, list->s, list->n))
			return 1;
	return 0;
}

/* The enhanced status code (RFC 3463: class 2, 4 or 5, then subject and
 * detail of one to three digits) at the start of a reply, past its optional
 * "NNN " or "NNN-": "550 5.7.1 ...", "550-5.7.1 ...", "4.7.1 ...".  It ends
 * the bytes or is followed by one of ends (" ;," for most; Exim's quoted
 * replies add '"' and '\\').  Empty when there is none. */
static inline ml_slice_t ml_scan_dsn(const char *p, const char *e, const char *ends)
{
	const char *q = p;
	if (e - q >= 4 && ml_is_digit((unsigned char)q[0]) && ml_is_digit((unsigned char)q[1]) &&
	    ml_is_digit((unsigned char)q[2]) && (q[3] == ' ' || q[3] == '-'))
		q += 4;
	const char *s = q;
	if (q == e || (*q != '2' && *q != '4' && *q != '5'))
		return ML_SLICE_NULL;
	q++;
	for (int part = 0; part < 2; part++) {
		if (q == e || *q != '.')
			return ML_SLICE_NULL;
		q++;
		const char *d = q;
		while (q < e && ml_is_digit((unsigned char)*q) && q - d < 3)
			q++;
		if (q == d)
			return ML_SLICE_NULL;
	}
	if (q < e && !memchr(ends, *q, strlen(ends)))
		return ML_SLICE_NULL;
	return ml_sl(s, q);
}

/* The text of a line's message part as a parser reads it: *p its start, the
 * answer its end, past which trailing blanks and line ends are cut; a NULL
 * slice reads as empty. */
static inline const char *ml_scan_message(ml_slice_t msg, const char **p)
{
	const char *s = msg.p ? msg.p : "", *e = s + (msg.p ? msg.n : 0);
	while (e > s && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\n' || e[-1] == '\t'))
		e--;
	*p = s;
	return e;
}

#endif
