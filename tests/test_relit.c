/*
 * index/relit.c: the literals a subject regex needs at the start of a word
 * (patterns that give them, many that must give nothing), their forms, the
 * words that may hold a weak one; and the search that looks them up gives
 * the rows of a search that reads every subject, for some hundreds of
 * regexes over a generated log and subjects made to trip it (letters
 * outside ASCII against ASCII ones, '_', digits, KELVIN SIGN, LONG S,
 * RFC 2047, punctuation, CJK, words cut at ML_WORD_MAX), histograms too.
 */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "index/query.h"
#include "index/relit.h"
#include "index/store.h"
#include "index/tokens.h"
#include "tools/histogram.h"

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

/* ---- the search with the literals looked up, against the scan ---- */

/* Subjects made to trip the literals: each a message of its own */
static const char *const TRICKY[] = {
	"\xc3\xbc" "invoice 12 due",                      /* üinvoice: \binvoice matches, no word starts with it */
	"Rechnung\xc3\xbc" "invoice 7",
	"=?UTF-8?Q?=C3=BCinvoice_44?=",                /* the same, RFC 2047 */
	"\xfc" "invoice 45 latin1",                       /* Latin-1 outside an encoded word */
	"\xe2\x84\xaa" "elvin report",                    /* KELVIN SIGN + elvin */
	"the \xe2\x84\xaaIT list",                     /* "kit" with KELVIN SIGN */
	"a\xe2\x84\xaaIT list",                        /* \bkit matches after 'a' */
	"=?UTF-8?B?4oSqZWx2aW4gZW5jb2RlZA==?=",        /* KELVIN SIGN, base64 */
	"\xc5\xbftatus update",                        /* LONG S + tatus */
	"re\xc5\xbfult 5",
	"foo_bar baz",
	"foo_invoice_99",
	"invoice_12",
	"_invoice 3",
	"x_status report",
	"2024invoice",
	"invoice2024 and 2024 q1",
	"Re: meeting at noon",
	"RE:meeting",
	"Re:  meeting",
	"re-meeting",
	"Fwd: Re: invoice 101",
	"invoice\xe2\x80\x94" "due",                  /* em dash splits words */
	"\xe2\x80\x94" "invoice 5",
	"\xc2\xa0" "invoice nbsp",
	"\xe4\xbc\x9a\xe8\xad\xb0" "invoice",           /* CJK then ASCII */
	"\xe4\xbc\x9a" "invoice 9",
	"\xce\x91\xce\xb2" "invoice greek",
	"\xd0\x96" "invoice cyr",
	"caf\xc3\xa9 meeting",
	"e-mail update",
	"email-update",
	"e.mail update",
	"Status: OK",
	"status:ok",
	"STATUS REPORT",
	"\xf0\x9f\x93\xa7 newsletter",                 /* an emoji before */
	"\xf0\x9f\x93\xa7" "newsletter",
	"word\xc3\xbc" "word word",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xbc" "invoice 1",  /* cut inside "invoice" (ML_WORD_MAX) */
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaainvoice 2",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x84\xaaitchen",  /* cut inside "kitchen" */
	"\xe2\x84\xaa\xe2\x84\xaa\xe2\x84\xaa",
	"invoice", "Invoice", "INVOICE #5", "#invoice", "(invoice)", "[invoice] x", "invoice.", "in voice",
	"kiss me", "\xe2\x84\xaa" "iss", "ki\xc5\xbf\xc5\xbf", "askew", "desk report", "tasks",
	"Meeting?", "meeting!!", "pre-meeting", "premeeting", "meetings", "ameeting",
	"",
};

static char *tricky_log(void)
{
	ml_buf_t b = ML_BUF_INIT;
	char line[1024];
	for (size_t i = 0; i < ML_ARRAY_LEN(TRICKY); i++) {
		/* three days, so that a day sealed and one open are both read */
		int day = 3 + (int)(i % 3), mi = (int)(i / 60), se = (int)(i % 60);
		char qid[16], ts[32];
		snprintf(qid, sizeof qid, "9%09zX", i + 1);
		snprintf(ts, sizeof ts, "Mar  %d 10:%02d:%02d", day, mi, se);
		snprintf(line, sizeof line,
		         "%s mx1 postfix/cleanup[1002]: %s: message-id=<tricky%zu@example.com>\n"
		         "%s mx1 postfix/cleanup[1002]: %s: info: header Subject: %s from mail.sender.example[192.0.2.10]; "
		         "from=<alice@sender.example> to=<bob@example.com> proto=ESMTP helo=<mail.sender.example>\n"
		         "%s mx1 postfix/qmgr[1003]: %s: from=<alice@sender.example>, size=2048, nrcpt=1 (queue active)\n"
		         "%s mx1 postfix/smtp[1004]: %s: to=<bob@example.com>, relay=mx.example.com[192.0.2.1]:25, "
		         "delay=0.3, delays=0.1/0.01/0.1/0.1, dsn=2.0.0, status=sent (250 ok)\n"
		         "%s mx1 postfix/qmgr[1003]: %s: removed\n",
		         ts, qid, i, ts, qid, TRICKY[i], ts, qid, ts, qid, ts, qid);
		ml_buf_puts(&b, line);
	}
	return b.data;
}

/* The hand-listed regexes; more are made from the words of the log */
static const char *const HAND[] = {
	"\\binvoice", "\\binvoice\\s+\\d+", "^invoice", " invoice", "\\binvoice\\b", "_invoice", "\\bfoo_bar",
	"^foo_bar", "\\bbar", "_bar", "\\bkelvin", "^kelvin", "\\bkit", " kit", "^kit", "\\bkitchen",
	"\\bstatus", "^status", "\\bresult", "re\\bsult", "\\bkiss", "^kiss", "\\bmeeting", "^Re: meeting",
	"^re:\\s*meeting", "^(?:Re:\\s*)?meeting", "\\bre\\W+meeting", "\\bmail", "e-mail", "\\be-mail",
	"\\bnewsletter", " newsletter", "\\bword", "\\bword\\W+\\w", "\\binvoice\\W+\\w", "\\b2024",
	"^2024", "\\bq1", "\\bdue", "\\bnbsp", "\\bgreek", "\\bcyr", "\\bupdate", "\\bitchen", "\\belvin",
	"\\btatus", "\\baaaa", "\\binvoic", "\\bINVOICE", "\\bInVoIcE\\s*#?\\d", "\\bok\\b", "\\s+ok",
	"^(invoice)", "(?:^|\\s)invoice", "invoice|meeting", "[i]nvoice", "\\bin\\s?voice", "\\bdesk",
	"\\btask", "\\bskew", "\\bsk", "\\bre", "^re", "\\bpre-meeting", "meeting\\b", "\\bmeetings?",
	"\\b(?:pre-)?meeting", "^\\W*invoice", "\\b\\w+invoice", "invoice$", "^.{0,3}invoice",
};

typedef struct {
	uint64_t n, h;
} rows_t;

static int hash_row(void *ctx, const ml_message_t *m, int row)
{
	rows_t *r = ctx;
	r->n++;
	r->h = (r->h ^ (m->docid * 64 + (uint64_t)(row + 1))) * 0x100000001b3ull;
	return 0;
}

/* The rows of subject_re = re (and name = value, when name), in order,
 * hashed; *used: the literals were looked up (no scan of every subject). */
static rows_t search(ml_search_t *se, const char *re, int scan, int *used, const char *name, const char *value)
{
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	assert_int_equal(ml_query_set(&q, "subject_re", re, err, sizeof err), 0);
	if (name)
		assert_int_equal(ml_query_set(&q, name, value, err, sizeof err), 0);
	q.unlimited = 1;
	q.re_scan = scan;
	rows_t r = { 0, 0 };
	ml_search_info_t info;
	assert_int_equal(ml_search_run(se, &q, hash_row, &r, &info, err, sizeof err), 0);
	assert_int_equal(info.rows, r.n);
	assert_int_equal(info.re_limited, 0);
	if (used)
		*used = !info.scanned;
	ml_hist_t h;
	memset(&h, 0, sizeof h);
	assert_int_equal(ml_hist_run(&h, se, &q, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(h.total, r.n);
	assert_true(h.complete);
	ml_hist_free(&h);
	ml_query_free(&q);
	return r;
}

typedef struct {
	char **v;
	size_t n, cap;
} vocab_t;

static void keep_word(void *ctx, const char *w, size_t n)
{
	vocab_t *v = ctx;
	if (n < 2 || n > 12 || v->n >= 4000)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80)
			return;
	if (ml_array_grow((void **)&v->v, &v->cap, sizeof *v->v, v->n + 1, 64) == 0)
		v->v[v->n++] = strndup(w, n);
}

static int each_subject(void *ctx, const ml_message_t *m)
{
	ml_slice_t s = ml_message_str(m, m->subject);
	ml_tokens_words(s.p, s.n, keep_word, ctx);
	return 0;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A regex from a word of the log and pieces around it */
static void compose(char *out, size_t cap, const char *word)
{
	static const char *const before[] = {
		"", "^", "\\b", " ", "\\s", "\\s+", "(?:re:\\s*)?", "\\b-?", "_", ":\\s*", "^\\s*", "\\W", "\\B", ".",
		"(?:\\b)", "(?:x)?", "^(?:fwd?:\\s*)?", "\\b(?:", "[a-z]", "a|", "(?:\\d+\\s)?\\b",
	};
	static const char *const after[] = {
		"", "\\b", "\\W+\\w", "s?", "\\d*", ".", "+", "\\s+\\d", "(?:x)?", "\\w*\\b", ")", "?", "\\s", "$",
	};
	char w[64];
	snprintf(w, sizeof w, "%s", word);
	size_t n = strlen(w);
	switch (rnd() % 6) {
	case 0:   /* a prefix of it */
		if (n > 3)
			w[2 + rnd() % (n - 2)] = 0;
		break;
	case 1:   /* its case changed */
		for (size_t i = 0; i < n; i++)
			if (rnd() % 2 && w[i] >= 'a' && w[i] <= 'z')
				w[i] = (char)(w[i] - 32);
		break;
	case 2:   /* a character left optional */
		if (n > 2) {
			size_t k = 1 + rnd() % (n - 1);
			memmove(w + k + 1, w + k, n - k + 1);
			w[k] = '?';
		}
		break;
	default:
		break;
	}
	const char *b = before[rnd() % ML_ARRAY_LEN(before)], *a = after[rnd() % ML_ARRAY_LEN(after)];
	int open = strchr(b, '(') && !strchr(b, ')');
	snprintf(out, cap, "%s%s%s%s", b, w, a, open && !strchr(a, ')') ? ")" : "");
	/* an after piece that closes nothing: dropped */
	if (!open && strchr(a, ')') && !strchr(a, '('))
		snprintf(out, cap, "%s%s", b, w);
}

static void same_rows(void **state)
{
	(void)state;
	const char *dir = tl_tmpdir();
	char gen[4200], tricky[4200], db[4200];
	snprintf(gen, sizeof gen, "%s/gen.log", dir);
	snprintf(tricky, sizeof tricky, "%s/tricky.log", dir);
	snprintf(db, sizeof db, "%s/re.db", dir);
	tl_gen_log(gen, 3000);
	char *t = tricky_log();
	tl_write_file(tricky, t, strlen(t));
	free(t);
	char *err = NULL;
	int rc = tl_mtalog(NULL, &err, "--db %s ingest --year 2026 %s %s", db, tricky, gen);
	if (rc)
		fail_msg("ingest: %s", err ? err : "");
	free(err);
	ml_store_t *s;
	ml_search_t *se;
	char e[512];
	assert_int_equal(ml_store_open(&s, db, ML_STORE_RDONLY, e, sizeof e), 0);
	assert_int_equal(ml_search_new(&se, s), 0);

	/* the tricky subjects are found where they must be (so that the
	 * comparison below covers them); PCRE2's \b sees no boundary between
	 * the start or a space and KELVIN SIGN (not a word character without
	 * UCP), but one between 'a' and it */
	static const struct { const char *re; unsigned min; } found[] = {
		{ "\\binvoice", 20 }, { "^kelvin", 2 }, { "\\bkit", 2 }, { " kit", 1 }, { "\\bstatus", 3 },
		{ "\\bword", 1 }, { "\\bkiss", 2 }, { "\\bresult", 1 }, { "^Re: meeting", 1 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(found); i++) {
		rows_t r = search(se, found[i].re, 1, NULL, NULL, NULL);
		if (r.n < found[i].min)
			fail_msg("%s: %llu rows, at least %u expected", found[i].re, (unsigned long long)r.n, found[i].min);
	}

	unsigned used = 0, total = 0, nonempty = 0;
	char re[256];
	vocab_t v = { 0 };
	assert_int_equal(ml_search_each(se, each_subject, &v), 0);
	assert_true(v.n > 100);
	for (size_t i = 0; i < ML_ARRAY_LEN(HAND) + 400; i++) {
		if (i < ML_ARRAY_LEN(HAND))
			snprintf(re, sizeof re, "%s", HAND[i]);
		else
			compose(re, sizeof re, v.v[rnd() % v.n]);
		ml_query_t q;
		memset(&q, 0, sizeof q);
		if (ml_query_set(&q, "subject_re", re, e, sizeof e)) {
			ml_query_free(&q);
			continue;   /* a piece made it no regex */
		}
		ml_query_free(&q);
		int u;
		rows_t a = search(se, re, 0, &u, NULL, NULL), b = search(se, re, 1, NULL, NULL, NULL);
		if (a.n != b.n || a.h != b.h)
			fail_msg("%s: %llu rows with the index, %llu by the scan", re, (unsigned long long)a.n,
			         (unsigned long long)b.n);
		if (i % 4 == 0) {
			/* with another filter: a status, a subject word or prefix */
			static const char *const other[][2] = {
				{ "status", "delivered" }, { "subject", "invoice" }, { "subject", "re" }, { "subject", "meet*" },
				{ "status", "bounced,delayed" },
			};
			const char *const *o = other[(i / 4) % ML_ARRAY_LEN(other)];
			a = search(se, re, 0, NULL, o[0], o[1]);
			b = search(se, re, 1, NULL, o[0], o[1]);
			if (a.n != b.n || a.h != b.h)
				fail_msg("%s and %s=%s: %llu rows with the index, %llu by the scan", re, o[0], o[1],
				         (unsigned long long)a.n, (unsigned long long)b.n);
		}
		total++;
		used += (unsigned)u;
		nonempty += b.n > 0;
	}
	/* most regexes had a literal to look up, most found rows */
	if (used < total / 3 || nonempty < total / 3)
		fail_msg("%u regexes: %u looked up the index, %u found rows", total, used, nonempty);
	for (size_t i = 0; i < v.n; i++)
		free(v.v[i]);
	free(v.v);
	ml_search_free(se);
	ml_store_close(s);
	tl_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literals_found),
		cmocka_unit_test(literals_refused),
		cmocka_unit_test(literals_any_bytes),
		cmocka_unit_test(forms_and_words),
		cmocka_unit_test(same_rows),
	};
	return TL_RUN_DEFAULT("relit", tests, NULL, NULL);
}
