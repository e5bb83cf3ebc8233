#include "relit.h"

#include <string.h>

#include "index/tokens.h"

#define RELIT_DEPTH 32

/* What is known of the character before the next item: nothing, \b's
 * boundary, a character that splits words (or the start). */
enum { B_NONE, B_WEAK, B_STRONG };

static int meet(int a, int b)
{
	return a < b ? a : b;
}

typedef struct {
	const char *p;          /* the next byte */
	ml_relit_t *out;
	size_t max, n;
	int bad;                /* something not known: the answer is nothing */
	char run[ML_RELIT_LEN + 1];   /* the run of letters and digits in hand */
	size_t rn;
	int open;               /* a run is in hand */
	int rb;                 /* what came before it */
} relit_t;

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The run in hand is over: kept when it counts. */
static void run_end(relit_t *r, int skip)
{
	if (r->open && !skip && r->rb != B_NONE && r->n < r->max) {
		/* cut before the fourth k or s */
		size_t n = 0;
		for (unsigned ks = 0; n < r->rn; n++)
			if ((r->run[n] == 'k' || r->run[n] == 's') && ++ks > 3)
				break;
		if (n >= ML_RELIT_MIN) {
			ml_relit_t *l = &r->out[r->n++];
			memcpy(l->text, r->run, n);
			l->text[n] = 0;
			l->n = n;
			l->weak = r->rb == B_WEAK;
		}
	}
	r->open = 0;
	r->rn = 0;
}

static void run_add(relit_t *r, unsigned char c, int b)
{
	if (!r->open) {
		r->open = 1;
		r->rb = b;
		r->rn = 0;
	}
	if (r->rn < ML_RELIT_LEN)
		r->run[r->rn++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* A quantifier at r->p, if any: *min its least count.  0 when none, 1 when
 * read, -1 when it is not one known ('{' that is not a quantifier). */
static int quantifier(relit_t *r, unsigned long *min)
{
	const char *p = r->p;
	if (*p == '?' || *p == '*') {
		*min = 0;
		p++;
	} else if (*p == '+') {
		*min = 1;
		p++;
	} else if (*p == '{') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -1;
		unsigned long lo = 0, hi;
		for (int d = 0; *p >= '0' && *p <= '9'; p++, d++) {
			if (d > 5)
				return -1;
			lo = lo * 10 + (unsigned long)(*p - '0');
		}
		if (*p == ',') {
			p++;
			if (*p >= '0' && *p <= '9') {
				hi = 0;
				for (int d = 0; *p >= '0' && *p <= '9'; p++, d++) {
					if (d > 5)
						return -1;
					hi = hi * 10 + (unsigned long)(*p - '0');
				}
				if (hi < lo)
					return -1;
			}
		}
		if (*p != '}')
			return -1;
		p++;
		*min = lo;
	} else {
		return 0;
	}
	if (*p == '?' || *p == '+')
		p++;   /* lazy, possessive */
	/* a quantifier after a quantifier */
	if (*p == '?' || *p == '*' || *p == '+' || *p == '{')
		return -1;
	r->p = p;
	return 1;
}

/* Kinds of item */
enum { I_ALNUM, I_SPLIT, I_ANY, I_START, I_END, I_WORDB, I_NOTWORDB };

/* One item that is not a group at r->p: its kind, *c the letter or digit. */
static int item(relit_t *r, unsigned char *c)
{
	unsigned char x = (unsigned char)*r->p;
	if (x >= 0x80)
		return -1;
	r->p++;
	if (is_alnum(x)) {
		*c = x;
		return I_ALNUM;
	}
	switch (x) {
	case '.': return I_ANY;
	case '^': return I_START;
	case '$': return I_END;
	case '[': case ']': case '{': case '}': case '*': case '+': case '?': case '|': case '(': case ')':
		return -1;
	case '\\':
		break;
	default:
		return I_SPLIT;   /* space, punctuation, a control character */
	}
	unsigned char e = (unsigned char)*r->p;
	if (e == 0 || e >= 0x80)
		return -1;
	r->p++;
	if (!is_alnum(e))
		return I_SPLIT;   /* escaped punctuation: itself */
	switch (e) {
	case 't': case 'n': case 'r': case 'f': case 'e': case 'a': case 's':
		return I_SPLIT;
	case 'd': case 'D': case 'w': case 'W': case 'S': case 'h': case 'H': case 'v': case 'V': case 'N': case 'R':
		return I_ANY;
	case 'A': return I_START;
	case 'z': case 'Z': return I_END;
	case 'b': return I_WORDB;
	case 'B': return I_NOTWORDB;
	default: return -1;
	}
}

/*
 * A sequence up to ')' or the end, from what is known before it (*b), to
 * what is known after it (*b).  skip: the sequence is in a group that may be
 * skipped: nothing kept, alternation allowed.
 */
static void seq(relit_t *r, int skip, int depth, int *b)
{
	if (depth > RELIT_DEPTH) {
		r->bad = 1;
		return;
	}
	int entry = *b, branches = -1;   /* the meet of the ends of the branches before */
	while (!r->bad && *r->p && *r->p != ')') {
		if (*r->p == '|') {
			if (!skip) {
				r->bad = 1;
				return;
			}
			r->p++;
			run_end(r, skip);
			branches = branches < 0 ? *b : meet(branches, *b);
			*b = entry;
			continue;
		}
		unsigned long min = 1;
		if (*r->p == '(') {
			r->p++;
			if (*r->p == '?') {
				if (r->p[1] != ':') {
					r->bad = 1;
					return;
				}
				r->p += 2;
			} else if (*r->p == '*') {
				r->bad = 1;
				return;
			}
			run_end(r, skip);
			if (skip) {
				/* nothing kept: read once, what is known after it from
				 * its quantifier */
				int lb = *b;
				seq(r, 1, depth + 1, &lb);
				if (r->bad || *r->p != ')') {
					r->bad = 1;
					return;
				}
				r->p++;
				int q = quantifier(r, &min);
				if (q < 0) {
					r->bad = 1;
					return;
				}
				*b = q && min == 0 ? meet(*b, lb) : lb;
				continue;
			}
			/* the quantifier after the group says how to read it: look
			 * past the group once, keeping nothing */
			relit_t look = *r;
			int lb = *b;
			seq(&look, 1, depth + 1, &lb);
			if (look.bad || *look.p != ')') {
				r->bad = 1;
				return;
			}
			look.p++;
			int q = quantifier(&look, &min);
			if (q < 0) {
				r->bad = 1;
				return;
			}
			if (q && min == 0) {
				/* may be skipped: what follows has the weaker of before and after */
				*b = meet(*b, lb);
				r->p = look.p;
				continue;
			}
			seq(r, 0, depth + 1, b);
			if (r->bad)
				return;
			run_end(r, 0);
			r->p = look.p;   /* past ')' and the quantifier */
			continue;
		}
		unsigned char c = 0;
		int k = item(r, &c);
		if (k < 0) {
			r->bad = 1;
			return;
		}
		int q = quantifier(r, &min);
		if (q < 0) {
			r->bad = 1;
			return;
		}
		if (q == 0)
			min = 1;
		switch (k) {
		case I_ALNUM:
			if (min > 0) {
				run_add(r, c, *b);
				if (q)
					run_end(r, skip);   /* the next character may be this one again */
			} else {
				run_end(r, skip);
			}
			*b = B_NONE;
			break;
		case I_SPLIT:
			run_end(r, skip);
			*b = min > 0 ? B_STRONG : meet(*b, B_STRONG);
			break;
		case I_ANY:
			run_end(r, skip);
			*b = B_NONE;
			break;
		default:
			/* assertions: no quantifier */
			if (q) {
				r->bad = 1;
				return;
			}
			run_end(r, skip);
			if (k == I_START)
				*b = B_STRONG;
			else if (k == I_WORDB)
				*b = *b == B_STRONG ? B_STRONG : B_WEAK;
			else
				*b = B_NONE;
			break;
		}
	}
	run_end(r, skip);
	if (branches >= 0)
		*b = meet(branches, *b);
}

size_t ml_relit_find(const char *pattern, ml_relit_t *out, size_t max)
{
	relit_t r;
	memset(&r, 0, sizeof r);
	r.p = pattern;
	r.out = out;
	r.max = max;
	int b = B_NONE;
	seq(&r, 0, 0, &b);
	if (r.bad || *r.p)   /* an unknown item, or a ')' with no '(' */
		return 0;
	return r.n;
}

/* The bytes of U+212A (KELVIN SIGN) and U+017F (LONG S) in UTF-8 */
static const char KELVIN[] = "\xe2\x84\xaa", LONG_S[] = "\xc5\xbf";

size_t ml_relit_variants(const ml_relit_t *l, char out[][ML_RELIT_VAR_BYTES + 1])
{
	size_t nv = 1;
	out[0][0] = 0;
	size_t len[ML_RELIT_VARIANTS] = { 0 };
	for (size_t i = 0; i < l->n; i++) {
		char c = l->text[i];
		const char *alt = c == 'k' ? KELVIN : c == 's' ? LONG_S : NULL;
		size_t have = nv;
		if (alt && nv * 2 <= ML_RELIT_VARIANTS) {
			for (size_t v = 0; v < have; v++) {
				memcpy(out[nv], out[v], len[v]);
				len[nv] = len[v];
				memcpy(out[nv] + len[nv], alt, strlen(alt));
				len[nv] += strlen(alt);
				nv++;
			}
		}
		for (size_t v = 0; v < have; v++)
			out[v][len[v]++] = c;
	}
	for (size_t v = 0; v < nv; v++)
		out[v][len[v]] = 0;
	return nv;
}

/* Does a form of l start at w[i]?  *first: it starts with U+212A or U+017F. */
static int form_at(const ml_relit_t *l, const char *w, size_t n, size_t i, int *first)
{
	*first = 0;
	for (size_t j = 0; j < l->n; j++) {
		char c = l->text[j];
		if (i < n && w[i] == c) {
			i++;
			continue;
		}
		const char *alt = c == 'k' ? KELVIN : c == 's' ? LONG_S : NULL;
		size_t an = alt ? strlen(alt) : 0;
		if (!alt || i + an > n || memcmp(w + i, alt, an) != 0)
			return 0;
		if (j == 0)
			*first = 1;
		i += an;
	}
	return 1;
}

int ml_relit_term_may_hold(const ml_relit_t *l, const char *w, size_t n)
{
	int high = 0;
	for (size_t i = 0; i < n; i++)
		high |= (unsigned char)w[i] >= 0x80;
	if (!high)
		return 0;   /* every form of l in w is at a word start, or after a letter or digit */
	if (n + 3 >= ML_WORD_MAX)
		return 1;
	for (size_t i = 1; i < n; i++) {
		int first;
		if (form_at(l, w, n, i, &first) && (first || (unsigned char)w[i - 1] >= 0x80))
			return 1;
	}
	return 0;
}
