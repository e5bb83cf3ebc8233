/*
 * index/relit.c: the literals a subject regex needs at the start of a word
 * (patterns that give them, many that must give nothing), their forms, the
 * words that may hold a weak one.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "index/relit.h"
#include "index/tokens.h"

/* The literals of p as one string: "invoice re(w)". */
static const char *lits(const char *p)
{
	static char out[512];
	ml_relit_t l[ML_RELIT_MAX];
	size_t n = ml_relit_find(p, l, ML_RELIT_MAX);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(out);
		snprintf(out + k, sizeof out - k, "%s%s%s", i ? " " : "", l[i].text, l[i].weak ? "(w)" : "");
	}
	return out;
}

static void literals_found(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "^Re: meeting", "re meeting" },
		{ "\\binvoice\\s+\\d+", "invoice(w)" },
		{ "\\bword\\W+\\w", "word(w)" },
		{ "^invoice", "invoice" },
		{ "\\Ainvoice", "invoice" },
		{ " invoice", "invoice" },
		{ "e-mail", "mail" },
		{ "\\be-mail", "mail" },                 /* "e" alone is too short */
		{ "^foo_bar", "foo bar" },                /* '_' splits words */
		{ "\\bfoo_bar", "foo(w) bar" },
		{ "^(?:Re:\\s*)?invoice", "invoice" },    /* the weaker of ^ and \s: both split */
		{ "^(?:Re|Fwd):\\s*)?", "" },
		{ "^(?:(?:Re|Fwd):\\s*)?invoice", "invoice" },
		{ "^\\s*hello", "hello" },
		{ "\\b-?hello", "hello(w)" },
		{ "\\bhello\\b world", "hello(w) world" },
		{ "\\w hello", "hello" },
		{ "\\B hello", "hello" },
		{ "^foo?", "fo" },                        /* the optional 'o' is not required */
		{ "^fo+bar", "fo" },                      /* past o+ the next character may be another o */
		{ "^abc{2}d", "abc" },
		{ "^(foo)", "foo" },
		{ "(^foo)+", "foo" },
		{ "^(?:foo)bar", "foo" },
		{ "^status report", "status report" },
		{ "^kkkks", "kkk" },                      /* cut before the fourth k or s */
		{ "^INVOICE", "invoice" },
		{ "^2024-q1", "2024 q1" },
		{ "^[abc] invoice", "" },                 /* a class: nothing at all */
		{ "\\.invoice\\.", "invoice" },
		{ "\\tinvoice", "invoice" },
		{ "#invoice", "invoice" },
		{ "^abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrst" },
		{ "^re:\\s+(?:\\d+)?invoice", "re" },     /* \d may come before: not known */
		{ "^ab+", "ab" },
		{ "\\bab{1,}", "ab(w)" },
		{ "^a", "" },                             /* too short */
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		const char *got = lits(cases[i][0]);
		if (strcmp(got, cases[i][1]))
			fail_msg("%s: got '%s', want '%s'", cases[i][0], got, cases[i][1]);
	}
}

static void literals_refused(void **state)
{
	(void)state;
	static const char *const cases[] = {
		"invoice", "\\Binvoice", "xinvoice", "foo|bar", "^foo|^bar", "^(?:foo|bar)", "(?i)^foo", "(?x)^ foo",
		"(?m)^foo", "(?s)^foo", "(?-i)^foo", "(?i:^foo)", "(?=^foo)", "(?!x)^foo", "(?<=x) foo", "(?<!x) foo",
		"(?<n>^foo)", "(?P<n>^foo)", "(?#c)^foo", "(?>^foo)", "(?|^foo)", "(?R)", "(?1)^foo", "(*UTF)^foo",
		"(*UCP)\\bfoo", "(*ACCEPT)^foo", "(?:(*ACCEPT))?^foo", "(*LIMIT_MATCH=10)^foo", "^(foo)\\1", "^\\Qfoo\\E",
		"^\\x41bc", "^\\x{41}bc", "^\\101bc", "^\\o{101}bc", "^\\cAbc", "^\\p{L}foo", "^\\P{L}foo", "^\\Xfoo",
		"^a\\Kbcd", "\\Gfoo", "^\\g1foo", "^\\k<n>foo", "^[a-z]oo", "^f[o]o", "^[^x] foo", "^äfoo", "^foo ä",
		"\xc3\xa4 foo", "\xff foo", "^foo)", ")^foo", "^(foo", "^abc{", "^abc{2", "^abc{,2}", "^abc{2,1}",
		"^abc{x}", "^ab\\", "^a*?", "^\\b?foo", "^?foo", "*foo", "+foo", "^foo]", "^foo}", "\\b(?:a|b)?cde",
		"^a{2,3}bc", "^ab{0,3}c", "^.hello", "abc$def", "^f\\Eoo", "^\\uabc", "^\\N{U+41}bc", "\\Sfoo", "\\Wfoo",
		"\\dfoo", "\\hfoo", "\\vfoo", "(^foo)*bar", "(^foo)?bar", "(^foo){0}bar", "(^foo){0,2}bar", "^\\R?foo",
		"",
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		const char *got = lits(cases[i]);
		if (*got)
			fail_msg("%s: got '%s', want nothing", cases[i], got);
	}
	/* nesting deeper than the parser follows: nothing */
	char deep[200];
	memset(deep, '(', 60);
	memcpy(deep + 60, "^abc", 4);
	memset(deep + 64, ')', 60);
	deep[124] = 0;
	assert_string_equal(lits(deep), "");
}

/* Any bytes: no crash, and what comes out is well formed. */
static void literals_any_bytes(void **state)
{
	(void)state;
	static const char alphabet[] = "^$\\|()[]{}?*+.:-_ #abksKSz019bBwWsdAzZ,\x80\xc3\xa4";
	uint64_t x = 88172645463325252ull;
	for (int t = 0; t < 200000; t++) {
		char p[40];
		size_t n = (size_t)(t % 39);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[i] = t & 1 ? (char)(x % 255 + 1) : alphabet[x % (sizeof alphabet - 1)];
		}
		p[n] = 0;
		ml_relit_t l[ML_RELIT_MAX];
		size_t k = ml_relit_find(p, l, ML_RELIT_MAX);
		assert_true(k <= ML_RELIT_MAX);
		for (size_t i = 0; i < k; i++) {
			assert_true(l[i].n >= ML_RELIT_MIN && l[i].n <= ML_RELIT_LEN);
			assert_int_equal(strlen(l[i].text), l[i].n);
			for (size_t j = 0; j < l[i].n; j++)
				assert_true((l[i].text[j] >= 'a' && l[i].text[j] <= 'z') ||
				            (l[i].text[j] >= '0' && l[i].text[j] <= '9'));
		}
	}
}

static void forms_and_words(void **state)
{
	(void)state;
	char f[ML_RELIT_VARIANTS][ML_RELIT_VAR_BYTES + 1];
	ml_relit_t l = { "kiss", 4, 1 };
	assert_int_equal(ml_relit_variants(&l, f), 8);
	int seen = 0;
	for (int i = 0; i < 8; i++) {
		seen |= !strcmp(f[i], "kiss") << 0;
		seen |= !strcmp(f[i], "\xe2\x84\xaa" "iss") << 1;
		seen |= !strcmp(f[i], "ki\xc5\xbf\xc5\xbf") << 2;
		seen |= !strcmp(f[i], "\xe2\x84\xaai\xc5\xbfs") << 3;
	}
	assert_int_equal(seen, 15);
	ml_relit_t w = { "word", 4, 1 };
	assert_int_equal(ml_relit_variants(&w, f), 1);
	assert_string_equal(f[0], "word");
	static const struct { const char *w; int may; } cases[] = {
		{ "word", 0 },                   /* at the start: the prefix finds it */
		{ "password", 0 },               /* after a letter: \b is not there */
		{ "\xc3\xbc" "word", 1 },           /* üword */
		{ "ab\xc3\xbc" "wordy", 1 },
		{ "\xc3\xbc" "wor", 0 },
		{ "\xd0\xb6x", 0 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++)
		assert_int_equal(ml_relit_term_may_hold(&w, cases[i].w, strlen(cases[i].w)), cases[i].may);
	/* a word long enough to have been cut, with a byte outside ASCII */
	char longw[ML_WORD_MAX + 1];
	memset(longw, 'a', ML_WORD_MAX);
	longw[10] = (char)0xc3;
	longw[11] = (char)0xbc;
	assert_int_equal(ml_relit_term_may_hold(&w, longw, ML_WORD_MAX), 1);
	longw[10] = longw[11] = 'a';
	assert_int_equal(ml_relit_term_may_hold(&w, longw, ML_WORD_MAX), 0);
	/* a form that begins with KELVIN SIGN, past the start */
	ml_relit_t k = { "kit", 3, 1 };
	assert_int_equal(ml_relit_term_may_hold(&k, "a\xe2\x84\xaait", 6), 1);
	assert_int_equal(ml_relit_term_may_hold(&k, "akit", 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals_found),
		cmocka_unit_test(literals_refused),
		cmocka_unit_test(literals_any_bytes),
		cmocka_unit_test(forms_and_words),
	};
	return TL_RUN_DEFAULT("relit", tests, NULL, NULL);
}
