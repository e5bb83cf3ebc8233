/* Unit tests for engine/rfc2047: encoded words in logged header values.  The
 * corpus tier adds the subjects and message-ids of real Postfix and amavis
 * logs. */
#include "testlib.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/rfc2047.h"

/* Decode in[0..n) from an exact-size heap copy (so that ASan sees any read
 * past n) into a fresh buffer; check the invariants every output keeps. */
static char *decode_n(const char *in, size_t n)
{
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, in, n);
	ml_buf_t b = ML_BUF_INIT;
	assert_int_equal(ml_rfc2047_decode(&b, copy, n), ML_OK);
	free(copy);
	assert_true(ml_utf8_valid(b.data, b.len));
	ml_buf_cstr(&b);
	/* NUL-terminated text with no NUL inside: controls became '?'. */
	assert_int_equal(strlen(b.data), b.len);
	return b.data;
}

static char *decode(const char *in)
{
	return decode_n(in, strlen(in));
}

static void check(const char *in, const char *want)
{
	char *got = decode(in);
	if (strcmp(got, want) != 0)
		fail_msg("decode(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, got, want);
	free(got);
}

static void check_n(const char *in, size_t n, const char *want)
{
	char *got = decode_n(in, n);
	assert_string_equal(got, want);
	free(got);
}

static int have_charset(const char *name)
{
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

/* ---- encodings ---- */

static void utf8_b_and_q(void **state)
{
	(void)state;
	check("=?UTF-8?B?w4RwZmVs?= und Birnen", "Äpfel und Birnen");
	check("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Grüße aus Köln");
	check("=?utf-8?b?w4RwZmVs?=", "Äpfel");
	check("=?utf-8?q?=c3=a4?=", "ä");			/* lowercase hex */
	check("=?Utf8?Q?=C3=A4?=", "ä");			/* label spelling */
	check("=?UTF-8?B?8J+OgQ==?=", "\xf0\x9f\x8e\x81");	/* U+1F381 */
	check("=?UTF-8?B?w4Q?=", "Ä");				/* padding missing */
	check("=?UTF-8?B?" "?=", "");			/* split: no trigraph */
	check("=?UTF-8?Q?" "?=", "");
}

static void q_details(void **state)
{
	(void)state;
	check("=?UTF-8?Q?a_b=5Fc?=", "a b_c");			/* '_' is space, =5F is '_' */
	check("=?UTF-8?Q?50=_off?=", "50= off");		/* lone '=' stands for itself */
	check("=?UTF-8?Q?x=4?=", "x=4");
	check("=?UTF-8?Q?=3D=3F?=", "=?");
	/* 8-bit bytes inside a Q word are taken as they are. */
	check("=?UTF-8?Q?\xc3\xa4?=", "ä");
}

static void latin1(void **state)
{
	(void)state;
	check("=?ISO-8859-1?Q?Gr=FC=DFe?=", "Grüße");
	check("=?iso-8859-1?B?R3L832U=?=", "Grüße");
	check("=?latin1?q?=E9t=E9?=", "été");
	check("=?ISO_8859-1:1987?Q?=E9?=", "é");
	/* Read as Windows-1252, as mail readers do: 0x80 is the euro sign. */
	check("=?ISO-8859-1?Q?=80?=", "€");
}

static void latin9(void **state)
{
	(void)state;
	check("=?ISO-8859-15?Q?=A4_5?=", "€ 5");
	check("=?iso-8859-15?Q?=A6=A8=B4=B8=BC=BD=BE?=", "ŠšŽžŒœŸ");
	check("=?ISO-8859-1?Q?=A4?=", "¤");		/* same byte, other charset */
	check("=?ISO-8859-15?Q?=E4?=", "ä");
	check("=?ISO-8859-15?Q?a=85b?=", "a?b");	/* C1 control in Latin-9 */
}

static void windows1252(void **state)
{
	(void)state;
	check("=?windows-1252?Q?=93Hallo=94_=96_sagte_er=85?=",
	      "“Hallo” – sagte er…");
	check("=?cp1252?Q?=91a=92_=80=99?=", "‘a’ €™");
	/* The five bytes Windows-1252 leaves undefined. */
	check("=?windows-1252?Q?=81=8D=8F=90=9D?=",
	      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void us_ascii(void **state)
{
	(void)state;
	check("=?us-ascii?Q?Keith_Moore?=", "Keith Moore");
	check("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");	/* RFC 2231 */
	check("=?us-ascii?Q?a=E9b?=", "a\xef\xbf\xbd" "b");	/* not ASCII */
}

static void language_tag(void **state)
{
	(void)state;
	check("=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=", "Grüße");
	check("=?utf-8*de-DE?B?w4RwZmVs?=", "Äpfel");
	check("=?*de?Q?abc?=", "=?*de?Q?abc?=");		/* no charset */
}

/* One iconv charset: decoded when iconv has it, else kept as written. */
static void check_iconv(const char *iconv_name, const char *in, const char *want)
{
	if (have_charset(iconv_name))
		check(in, want);
	else
		check(in, in);
}

static void iconv_charsets(void **state)
{
	(void)state;
	check_iconv("KOI8-R", "=?KOI8-R?B?8NLJ18XU?=", "Привет");
	check_iconv("KOI8-R", "=?koi8-r?Q?=F0=D2=C9=D7=C5=D4_=D7=D3=C5=CD?=", "Привет всем");
	check_iconv("ISO-2022-JP-2", "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト");
	check_iconv("CP932", "=?Shift_JIS?Q?=83e=83X=83g?=", "テスト");
	check_iconv("GBK", "=?GB2312?B?1tDOxA==?=", "中文");
	check_iconv("ISO-8859-2", "=?ISO-8859-2?Q?=A3=F3d=BC?=", "Łódź");
	check_iconv("CP949", "=?ks_c_5601-1987?B?x9GxucH2?=", "한국지");
	check_iconv("BIG5-HKSCS", "=?big5?B?pKSk5Q==?=", "中文");
	check_iconv("UTF-16BE", "=?UTF-16BE?B?AEEAQgBD?=", "ABC");
	check_iconv("UTF-7", "=?UTF-7?Q?Hi_+AKM-1?=", "Hi £1");
	/* A byte invalid in the charset becomes U+FFFD, the rest stays. */
	check_iconv("GBK", "=?GBK?Q?a=FFb?=", "a\xef\xbf\xbd" "b");
	check_iconv("CP932", "=?Shift_JIS?Q?a=83?=", "a\xef\xbf\xbd");
	/* ISO-2022-JP split across two words: the second starts in the shift
	 * state the first left, which only works on the joined bytes. */
	check_iconv("ISO-2022-JP-2",
		    "=?ISO-2022-JP?B?GyRCJUYl?= =?ISO-2022-JP?B?OSVIGyhC?=", "テスト");
	/* An ISO-2022 run that ends shifted still ends cleanly. */
	check_iconv("ISO-2022-JP-2", "=?ISO-2022-JP?Q?=1B$B%F?= x", "テ x");
	/* Not on the allowlist: kept as written even if iconv knows it. */
	check("=?IBM930?Q?abc?=", "=?IBM930?Q?abc?=");
	check("=?UTF-8//IGNORE?Q?abc?=", "=?UTF-8//IGNORE?Q?abc?=");
}

/* ---- white space, folding, adjacency ---- */

static void whitespace(void **state)
{
	(void)state;
	/* Between two encoded words: dropped, however much. */
	check("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab");
	check("=?UTF-8?Q?a?=   \t =?UTF-8?Q?b?=", "ab");
	check("=?UTF-8?Q?a?==?UTF-8?Q?b?=", "ab");
	check("=?UTF-8?Q?a_?= =?UTF-8?Q?b?=", "a b");		/* encoded space stays */
	/* Next to plain text: kept. */
	check("x =?UTF-8?Q?a?= y", "x a y");
	check("=?UTF-8?Q?a?= b =?UTF-8?Q?c?=", "a b c");
	check("x  =?UTF-8?Q?a?=  ", "x  a  ");
	/* Different charsets next to each other are adjacent words too. */
	check("=?UTF-8?Q?=C3=A4?= =?ISO-8859-1?Q?=E4?=", "ää");
	/* A word we cannot decode is plain text: the space before it stays. */
	check("=?UTF-8?Q?a?= =?UTF-8?B?!!?=", "a =?UTF-8?B?!!?=");
}

static void postfix_folding(void **state)
{
	(void)state;
	/* Postfix logs the line break of a folded header as '?'. */
	check("=?UTF-8?Q?a?=? =?UTF-8?Q?b?=", "ab");
	check("=?UTF-8?Q?a?=?\t=?UTF-8?Q?b?=", "ab");
	check("=?UTF-8?Q?a?=?? =?UTF-8?Q?b?=", "ab");		/* CR LF */
	check("=?UTF-8?B?w4Rw?=? =?UTF-8?B?ZmVs?=? =?UTF-8?Q?_und_Birnen?=",
	      "Äpfel und Birnen");
	/* '?' with no white space after it is not a line break. */
	check("=?UTF-8?Q?a?=?=?UTF-8?Q?b?=", "a?b");
	check("=?UTF-8?Q?a?=?x", "a?x");
	/* Between a word and plain text the '?' could be a question mark. */
	check("=?UTF-8?Q?a?=? b", "a? b");
	check("attachment;? filename=x", "attachment;? filename=x");
	/* Three '?' are not folding. */
	check("=?UTF-8?Q?a?=??? =?UTF-8?Q?b?=", "a??? b");
}

static void split_characters(void **state)
{
	(void)state;
	/* "Ä" = C3 84 cut between two B words, and between Q words. */
	check("=?UTF-8?B?ww==?= =?UTF-8?B?hHBmZWw=?=", "Äpfel");
	check("=?UTF-8?Q?=C3?= =?UTF-8?Q?=84pfel?=", "Äpfel");
	check("=?UTF-8?Q?=C3?=? =?UTF-8?B?hHBmZWw=?=", "Äpfel");	/* folded, B after Q */
	/* A four-byte character over three words. */
	check("=?UTF-8?Q?=F0?= =?UTF-8?Q?=9F=8E?= =?UTF-8?Q?=81?=", "\xf0\x9f\x8e\x81");
	check("=?utf-8?Q?=F0?= =?UTF8?B?n46B?=", "\xf0\x9f\x8e\x81");
	/* Cut and not continued: U+FFFD per stray byte. */
	check("=?UTF-8?Q?=C3?= x", "\xef\xbf\xbd x");
	check("=?UTF-8?Q?=C3?= =?ISO-8859-1?Q?x?=", "\xef\xbf\xbdx");
	check("=?UTF-8?Q?=C3?= y =?UTF-8?Q?=84?=", "\xef\xbf\xbd y \xef\xbf\xbd");
	check("=?UTF-8?Q?a=FFb?=", "a\xef\xbf\xbd" "b");
	check("=?UTF-8?Q?=ED=A0=80?=", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");	/* surrogate */
}

/* ---- bad input ---- */

static void malformed_kept(void **state)
{
	(void)state;
	const char *same[] = {
		"=?UTF-8?B?w4R!wZmVs?=",	/* not base64 */
		"=?UTF-8?B?w4RwZ?=",		/* one sextet left over */
		"=?UTF-8?B?w4==Rw?=",		/* padding inside */
		"=?UTF-8?B?QQ===?=",		/* three '=' */
		"=?x-unknown?Q?abc?=",		/* unknown charset */
		"=?UTF-8?Q?abc",		/* no "?=" */
		"=?UTF-8?Q?abc?",
		"=?UTF-8?Q?ab cd?=",		/* word cut by a space */
		"=?UTF-8?Q?a?b?=",		/* '?' inside */
		"=?UTF-8?X?abc?=",		/* no such encoding */
		"=?UTF-8?QQ?abc?=",
		"=??Q?abc?=",			/* no charset */
		"=?UTF-8??abc?=",
		"=?UTF 8?Q?abc?=",
		"=?UTF-8",
		"=?",
		"=",
		"?=",
		"=?=?",
		"=?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?Q?x?=",	/* long name */
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(same); i++)
		check(same[i], same[i]);
	/* A good word after a broken start is still found. */
	check("=?=?UTF-8?Q?a?=", "=?a");
	check("=?UTF-8?Q?abc =?UTF-8?Q?d?=", "=?UTF-8?Q?abc d");
	/* A word cut across a line: both halves stay as they are. */
	check("=?UTF-8?Q?Gr=C3=BC? =C3=9Fe?=", "=?UTF-8?Q?Gr=C3=BC? =C3=9Fe?=");
}

static void plain_latin1(void **state)
{
	(void)state;
	check("Gr\xfc\xdf" "e =?UTF-8?Q?=C3=A4?=", "Grüße ä");
	check("caf\xc3\xa9 na\xefve", "café naïve");		/* UTF-8 and Latin-1 mixed */
	check("\x93quoted\x94 \x80 5", "“quoted” € 5");		/* Windows-1252 */
	check("a\x81z", "a\xef\xbf\xbdz");			/* undefined in 1252 */
	check("\xe9\xab", "é«");				/* not a UTF-8 sequence */
	check("\xc3", "Ã");
	check("Äpfel und Birnen", "Äpfel und Birnen");		/* valid UTF-8 as is */
}

static void controls(void **state)
{
	(void)state;
	check("a\x01" "b\x7f" "c\x1b[0m", "a?b?c?[0m");
	check_n("a\0b", 3, "a?b");
	check("=?UTF-8?Q?a=09b=0Dc=00d=7Fe?=", "a\tb?c?d?e");	/* decoded TAB stays */
	check("=?UTF-8?Q?=C2=85=C2=9B?=", "??");		/* C1 controls */
	check("x\ty", "x\ty");
	check("\xc2\x85", "?");					/* C1 in plain text */
	check("=?ISO-8859-1?Q?=81?=", "\xef\xbf\xbd");
}

static void empty_and_append(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	assert_int_equal(ml_rfc2047_decode(&b, "", 0), ML_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(ml_rfc2047_decode(&b, NULL, 0), ML_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(ml_buf_puts(&b, "Subject: "), ML_OK);
	assert_int_equal(ml_rfc2047_decode(&b, "=?UTF-8?Q?=C3=A4?=", 18), ML_OK);
	assert_string_equal(ml_buf_cstr(&b), "Subject: ä");
	ml_buf_free(&b);
	check("", "");
	check(" ", " ");
}

static void bounded_by_n(void **state)
{
	(void)state;
	const char *w = "=?UTF-8?Q?abc?=xyz";
	check_n(w, 15, "abc");
	check_n(w, 14, "=?UTF-8?Q?abc?");
	check_n(w, 13, "=?UTF-8?Q?abc");
	check_n(w, 2, "=?");
	check_n(w, 1, "=");
	check_n("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", 14, "a ");
	check_n("=?UTF-8?Q?a?=? =?UTF-8?Q?b?=", 15, "a? ");
	check_n("=?UTF-8?Q?=C3=A4?=", 16, "=?UTF-8?Q?=C3=A4");
	check_n("\xc3\xa4", 1, "Ã");
}

static void very_long(void **state)
{
	(void)state;
	/* 100 KB of adjacent words: one run, one subject. */
	const char *word = "=?UTF-8?B?w4RwZmVs?= ";
	size_t wl = strlen(word), reps = 100 * 1024 / wl + 1;
	ml_buf_t in = ML_BUF_INIT, want = ML_BUF_INIT;
	for (size_t i = 0; i < reps; i++) {
		assert_int_equal(ml_buf_append(&in, word, wl), ML_OK);
		assert_int_equal(ml_buf_puts(&want, "Äpfel"), ML_OK);
	}
	assert_int_equal(ml_buf_puts(&want, " "), ML_OK);	/* before the end */
	char *got = decode_n(in.data, in.len);
	assert_string_equal(got, ml_buf_cstr(&want));
	free(got);

	/* One 100 KB Q word, and 100 KB of plain Latin-1. */
	ml_buf_reset(&in);
	ml_buf_reset(&want);
	assert_int_equal(ml_buf_puts(&in, "=?ISO-8859-1?Q?"), ML_OK);
	for (size_t i = 0; i < 100 * 1024 / 3; i++) {
		assert_int_equal(ml_buf_puts(&in, "=E4"), ML_OK);
		assert_int_equal(ml_buf_puts(&want, "ä"), ML_OK);
	}
	assert_int_equal(ml_buf_puts(&in, "?="), ML_OK);
	got = decode_n(in.data, in.len);
	assert_string_equal(got, ml_buf_cstr(&want));
	free(got);

	ml_buf_reset(&in);
	ml_buf_reset(&want);
	for (size_t i = 0; i < 100 * 1024; i++) {
		assert_int_equal(ml_buf_putc(&in, i % 2 ? 0xfc : 'x'), ML_OK);
		assert_int_equal(ml_buf_puts(&want, i % 2 ? "ü" : "x"), ML_OK);
	}
	got = decode_n(in.data, in.len);
	assert_string_equal(got, ml_buf_cstr(&want));
	free(got);
	ml_buf_free(&in);
	ml_buf_free(&want);
}

/* ---- robustness ---- */

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* No C0 control but TAB, no DEL, no C1 control in the output. */
static void assert_no_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		assert_false((c < 0x20 && c != '\t') || c == 0x7f);
		if (c == 0xc2 && i + 1 < n)
			assert_false((unsigned char)s[i + 1] < 0xa0);
	}
}

static void random_inputs(void **state)
{
	(void)state;
	static const char *const frag[] = {
		"=?", "?=", "?", "=", " ", "\t", "? ", "_", "UTF-8", "utf-8*de",
		"ISO-8859-1", "iso-8859-15", "windows-1252", "us-ascii",
		"ISO-2022-JP", "KOI8-R", "Shift_JIS", "GB2312", "UTF-16", "UTF-7",
		"big5", "x-bad", "?B?", "?Q?", "?b?", "?q?", "=C3", "=84", "=F0",
		"=9F", "=1B$B", "=1B(B", "w4Rw", "ww==", "hHBm", "==", "+AKM-",
		"\xc3", "\xa4", "\xff", "\x1b", "\x00", "=?UTF-8?B?",
		"=?UTF-8?Q?", "=?ISO-2022-JP?B?GyRC", "?= =?",
	};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	ml_buf_t in = ML_BUF_INIT;
	for (int iter = 0; iter < 20000; iter++) {
		ml_buf_reset(&in);
		size_t parts = xorshift64(&seed) % 24;
		for (size_t k = 0; k < parts; k++) {
			uint64_t r = xorshift64(&seed);
			if (r % 3 == 0) {
				unsigned char c = (unsigned char)(r >> 8);
				assert_int_equal(ml_buf_append(&in, &c, 1), ML_OK);
			} else {
				const char *f = frag[(r >> 8) % ML_ARRAY_LEN(frag)];
				size_t fl = f[0] ? strlen(f) : 1;	/* "\x00" is one NUL */
				assert_int_equal(ml_buf_append(&in, f, fl), ML_OK);
			}
		}
		char *got = decode_n(in.data, in.len);
		assert_no_controls(got, strlen(got));
		free(got);
	}
	/* Pure random bytes too. */
	for (int iter = 0; iter < 2000; iter++) {
		ml_buf_reset(&in);
		size_t len = xorshift64(&seed) % 300;
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)xorshift64(&seed);
			assert_int_equal(ml_buf_append(&in, &c, 1), ML_OK);
		}
		char *got = decode_n(in.data, in.len);
		assert_no_controls(got, strlen(got));
		free(got);
	}
	ml_buf_free(&in);
}

/* ---- real logs ---- */

static char *read_corpus(const char *rel, size_t *len)
{
	char *s = tl_read_file(tl_corpus(rel), len);
	if (!s)
		fail_msg("cannot read %s", tl_corpus(rel));
	return s;
}

/* Postfix header_checks lines: "header Subject: VALUE from HOST; from=<...". */
static void corpus_postfix_subjects(void **state)
{
	(void)state;
	size_t len, nsubj = 0, nmsgid = 0;
	char *log = read_corpus("postfix-grok-patterns/messages-cleanup.log", &len);
	char **lines;
	size_t nl = tl_lines(log, len, &lines);
	for (size_t i = 0; i < nl; i++) {
		const char *h = strstr(lines[i], "header Subject: ");
		const char *m = strstr(lines[i], ": message-id=");
		const char *c = strstr(lines[i], "header Content-Disposition: ");
		const char *v, *end;
		if (h) {
			v = h + strlen("header Subject: ");
		} else if (m) {
			v = m + strlen(": message-id=");
		} else if (c) {
			v = c + strlen("header Content-Disposition: ");
		} else {
			continue;
		}
		end = strstr(v, "; from=");
		if (!end)
			end = v + strlen(v);
		if (h || c) {
			/* The value ends where Postfix appends " from CLIENT". */
			const char *f = NULL;
			for (const char *q = v; (q = strstr(q, " from ")) && q < end; q++)
				f = q;
			if (f)
				end = f;
		}
		char *got = decode_n(v, (size_t)(end - v));
		if (h) {
			nsubj++;
			if (strstr(v, "=?utf-8?Q?Gr=C3=BC") == v)
				assert_string_equal(got, "Grüße ‒ test");	/* U+2012 */
			if (strstr(v, "https://drive.google.com/") == v)
				assert_string_equal(got, "https://drive.google.com/file/d/"
						    "0B8wxcvprDYVdlVsdf1kzOVkdisarmed/view?usp=sharing");
		} else if (m) {
			nmsgid++;
			/* Folded encoded message-ids: "?=? =?" between words. */
			if (strstr(v, "=?UTF-8?B?PDE5?=") == v)
				assert_string_equal(got, "<1912201129166"
						    "11@Client-045.rubinetterie.local>");
			if (strstr(v, "=?utf-8?B?PDIwMjAw") == v)
				assert_string_equal(got, "<20200613_143152_1072f5ad7ef543d49d4"
						    "7418ed3f28ac8@news-aigle.com?" "?>");	/* CR LF */
		} else {
			/* Truncated by Postfix after two words and a half. */
			assert_string_equal(got, "attachment;? filename=\"INVOICE_ö_ä_ü_€_"
					    "dhkfjs_jdofkajsldkfj_lsjdalkfjh_adjkfsahfdjk_"
					    "Grüße_ihkfhsakj_dfahs_ =?UTF-8?B?");
		}
		free(got);
	}
	assert_true(nsubj >= 2);
	assert_true(nmsgid >= 2);
	free(lines);
	free(log);
}

/* amavis logs each subject twice: decoded by itself, and the header as it
 * came, escaped ('\t' for TAB, '\\' for a backslash) and cut at some length:
 *   Subject: "DECODED (raw: RAW)", From: ...
 * Undo the escaping of RAW. */
static char *amavis_unescape(const char *s, size_t n, size_t *outlen)
{
	ml_buf_t b = ML_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			char e = s[i + 1];
			if (e == 't' || e == 'n' || e == 'r' || e == '\\') {
				c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : '\\';
				i++;
			}
		}
		assert_int_equal(ml_buf_putc(&b, c), ML_OK);
	}
	*outlen = b.len;
	ml_buf_cstr(&b);
	return b.data;
}

/* Subjects taken from the amavis lines of postfix-logsums/mail.log, decoded
 * by hand. */
static const struct {
	const char *raw;	/* as it stands in the log */
	const char *want;
} amavis_cases[] = {
	{ "Backup von BackEnd =?iso-8859-1?Q?durchgef=FChrt?=",
	  "Backup von BackEnd durchgeführt" },
	{ "=?utf-8?q?W=C3=B6chentlicher_Aktivit=C3=A4tsbericht_f=C3=BCr?= Tobias",
	  "Wöchentlicher Aktivitätsbericht für Tobias" },
	{ "=?UTF-8?B?8J+OgTdmYWNoIFB1bmt0ZS1HZXNjaGVuayBmw7xyIGRpY2gsIEQ=?=\\t"
	  "=?UTF-8?B?b3JpcyE=?=",
	  "\xf0\x9f\x8e\x81" "7fach Punkte-Geschenk für dich, Doris!" },
	{ "=?UTF-8?B?44GK6I2354mp44GK5bGK44GR44Gu44GU5qGI5YaF?=",
	  "お荷物お届けのご案内" },
	{ "=?utf-8?B?TnVyIOKCrCA4OSwwMCBzdGF0dCDigqwgMjk2LDY3?=",
	  "Nur € 89,00 statt € 296,67" },
	{ "=?UTF-8?Q?Herr_Brehm,_komplett_online_zu_Ihrem_Finanzierungs-Angebot_=F0=9F=92=B0?=",
	  "Herr Brehm, komplett online zu Ihrem Finanzierungs-Angebot \xf0\x9f\x92\xb0" },
	/* The log cut the last word short: it stays as written, and so does
	 * the space before it. */
	{ "=?UTF-8?b?4oCeTcO2YmVsIGF1cyBwYWxldHRlbuKAnCwg4oCeQXXDn2VubcO2YmVs4oCc?= "
	  "=?UTF-8?b?IHVuZCA4IGFuZGVyZ",
	  "„Möbel aus paletten“, „Außenmöbel“ =?UTF-8?b?IHVuZCA4IGFuZGVyZ" },
	{ "=?UTF-8?B?RHUgaGFzdCAxOCBCZW5h?= =?UTF-8?B?Y2hyaWNodGlndW5nZW4g?= "
	  "=?UTF-8?B?w7xiZXIgR2lzZWxhIHVuZA==",
	  "Du hast 18 Benachrichtigungen  =?UTF-8?B?w7xiZXIgR2lzZWxhIHVuZA==" },
	{ "=?UTF-8?Q?=E2=98=80=EF=B8=8F=20Da=20kommen=20Fr=C3=BChlingsgef=C3=BChle?= "
	  "=?UTF-8?Q?=20auf=3A=20=32=",
	  "☀️ Da kommen Frühlingsgefühle =?UTF-8?Q?=20auf=3A=20=32=" },
};

static void corpus_amavis_subjects(void **state)
{
	(void)state;
	size_t len, nraw = 0, ncompared = 0, nplain = 0;
	char *log = read_corpus("postfix-logsums/mail.log", &len);

	for (size_t k = 0; k < ML_ARRAY_LEN(amavis_cases); k++) {
		const char *raw = amavis_cases[k].raw;
		char needle[512];
		snprintf(needle, sizeof needle, "(raw: %s)\", From: ", raw);
		if (!strstr(log, needle))
			fail_msg("not in the corpus: %s", needle);
		size_t n;
		char *in = amavis_unescape(raw, strlen(raw), &n);
		char *got = decode_n(in, n);
		if (strcmp(got, amavis_cases[k].want) != 0)
			fail_msg("decode(\"%s\")\n  got  \"%s\"\n  want \"%s\"",
				 raw, got, amavis_cases[k].want);
		free(got);
		free(in);
	}

	/* Every subject amavis logged: the raw header decodes to valid UTF-8,
	 * and where the raw header is complete (ends with "?="), to the same
	 * text amavis made of it.  A subject without encoded words is itself. */
	char **lines;
	size_t nl = tl_lines(log, len, &lines);
	for (size_t i = 0; i < nl; i++) {
		const char *s = strstr(lines[i], "Subject: \"");
		if (!s)
			continue;
		s += strlen("Subject: \"");
		const char *e = strstr(s, "\", From: ");
		assert_non_null(e);
		const char *r = strstr(s, " (raw: ");
		if (r && r < e) {
			const char *raw = r + strlen(" (raw: ");
			size_t rawlen = (size_t)(e - 1 - raw);	/* without ")" */
			assert_int_equal(e[-1], ')');
			size_t n;
			char *in = amavis_unescape(raw, rawlen, &n);
			char *got = decode_n(in, n);
			nraw++;
			if (n >= 2 && memcmp(in + n - 2, "?=", 2) == 0) {
				ncompared++;
				size_t dl = (size_t)(r - s);
				if (strlen(got) != dl || memcmp(got, s, dl) != 0)
					fail_msg("line %zu: got \"%s\", amavis \"%.*s\"",
						 i + 1, got, (int)dl, s);
			}
			free(got);
			free(in);
		} else if (!memmem(s, (size_t)(e - s), "=?", 2)) {
			char *got = decode_n(s, (size_t)(e - s));
			assert_int_equal(strlen(got), (size_t)(e - s));
			assert_memory_equal(got, s, (size_t)(e - s));
			free(got);
			nplain++;
		}
	}
	print_message("amavis subjects: %zu raw (%zu compared), %zu plain\n",
		      nraw, ncompared, nplain);
	assert_true(nraw >= 50);
	assert_true(ncompared >= 30);
	assert_true(nplain >= 50);
	free(lines);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_b_and_q),
		cmocka_unit_test(q_details),
		cmocka_unit_test(latin1),
		cmocka_unit_test(latin9),
		cmocka_unit_test(windows1252),
		cmocka_unit_test(us_ascii),
		cmocka_unit_test(language_tag),
		cmocka_unit_test(iconv_charsets),
		cmocka_unit_test(whitespace),
		cmocka_unit_test(postfix_folding),
		cmocka_unit_test(split_characters),
		cmocka_unit_test(malformed_kept),
		cmocka_unit_test(plain_latin1),
		cmocka_unit_test(controls),
		cmocka_unit_test(empty_and_append),
		cmocka_unit_test(bounded_by_n),
		cmocka_unit_test(very_long),
		cmocka_unit_test(random_inputs),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(corpus_postfix_subjects),
		cmocka_unit_test(corpus_amavis_subjects),
	};
	return TL_RUN("rfc2047", tests, corpus_tests, NULL, NULL);
}
