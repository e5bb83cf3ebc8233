/*
 * rfc2047.c — a logged header value made into UTF-8 text (see rfc2047.h).
 *
 * One pass, left to right.  The input is a sequence of
 *
 *   encoded word  "=?" charset ["*" lang] "?" B|Q "?" encoded-text "?="
 *   gap           what separates two encoded words; dropped.  Either nothing,
 *                 or SP/HTAB, or the folding mark "?" (or "??" for CR LF)
 *                 followed by at least one SP/HTAB
 *   plain text    everything else, copied
 *
 * What makes an encoded word (anything less is plain text, kept as written):
 *   - charset: 1..CHARSET_MAX printable ASCII bytes; the part from '*' on is
 *     an RFC 2231 language tag and is ignored.  The name is looked up in
 *     labels[] below, case-insensitively and ignoring '-' and '_'; a name not
 *     in the table, or one whose iconv(3) converter cannot be opened, is
 *     unknown.  The table is an allowlist on purpose: charset names come from
 *     whoever sent the mail, and the exotic converters are where iconv's
 *     decoding bugs have been.
 *   - B: base64 alphabet, at most two '=' at the end, and not one lone sextet
 *     left over (length without padding % 4 != 1).  Missing padding and
 *     nonzero spare bits are tolerated.
 *   - Q: bytes 0x21..0x7e except '?', and 8-bit bytes; '_' is a space, =XX a
 *     byte (hex digits in either case), a '=' not followed by two hex digits
 *     stands for itself.
 *   - the encoded text ends at the first '?', which must be followed by '=';
 *     a space or control byte before it breaks the word.  So a word cut by a
 *     line break, by a log truncation or by a stray space is plain text.
 *
 * Words are recognized wherever they start, also inside a run of text:
 * RFC 2047 wants white space around them, but not every mailer complies.
 *
 * Adjacent encoded words (only a gap between them) that name the same charset
 * form a run: their decoded bytes are collected in a scratch buffer and
 * converted together when the run ends, so that a UTF-8 character or an
 * ISO-2022 shift sequence split across two words comes out whole.  Decoded
 * bytes never outnumber the input bytes, so the scratch needs at most n bytes:
 * a stack array for usual subjects, one malloc(n) beyond.
 *
 * Conversion to UTF-8:
 *   - UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15 and Windows-1252 natively.
 *     ISO-8859-1 is read as Windows-1252, as mail readers and browsers do
 *     (WHATWG Encoding Standard): 0x80..0x9f carry smart quotes and the euro
 *     sign far more often than C1 controls.
 *   - the other charsets in labels[] through iconv(3), opened and closed per
 *     run (about 0.1 µs with glibc): no handle outlives a call, nothing is
 *     shared between threads.
 *   - a decoded byte that is invalid in its charset becomes U+FFFD, one per
 *     byte; US-ASCII has no bytes above 0x7f; Windows-1252 leaves 0x81, 0x8d,
 *     0x8f, 0x90 and 0x9d undefined.
 *   - in plain text, a valid UTF-8 sequence is kept and every other byte is
 *     read as Windows-1252 (which covers Latin-1).
 *   - everywhere, C0 controls but TAB, DEL and the C1 controls (U+0080..
 *     U+009F) become '?', as Postfix itself does when it logs.
 *
 * Whitespace between an encoded word and plain text is plain text and kept;
 * so is a folding '?' there (it cannot be told from a question mark).
 */
#include "rfc2047.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>

#define CHARSET_MAX 40
#define SCRATCH_STACK 1024
#define ICONV_CHUNK 1024

enum charset_id {
	/* native */
	CS_UTF8,
	CS_ASCII,
	CS_CP1252,	/* also ISO-8859-1 */
	CS_LATIN9,	/* ISO-8859-15 */
	CS_NATIVE_COUNT,
	/* through iconv, by iconv_names[] */
	CS_ISO8859_2 = CS_NATIVE_COUNT,
	CS_ISO8859_3,
	CS_ISO8859_4,
	CS_ISO8859_5,
	CS_ISO8859_6,
	CS_ISO8859_7,
	CS_ISO8859_8,
	CS_ISO8859_10,
	CS_ISO8859_13,
	CS_ISO8859_14,
	CS_ISO8859_16,
	CS_CP1250,
	CS_CP1251,
	CS_CP1253,
	CS_CP1254,	/* also ISO-8859-9, of which it is a superset */
	CS_CP1255,
	CS_CP1256,
	CS_CP1257,
	CS_CP1258,
	CS_CP874,	/* also TIS-620, ISO-8859-11 */
	CS_KOI8R,
	CS_KOI8U,
	CS_CP866,
	CS_CP437,
	CS_CP850,
	CS_CP852,
	CS_MACROMAN,
	CS_MACCYRILLIC,
	CS_GBK,		/* also GB2312, of which it is a superset */
	CS_GB18030,
	CS_BIG5HKSCS,	/* also Big5 */
	CS_EUCJP,
	CS_ISO2022JP,
	CS_CP932,	/* also Shift_JIS */
	CS_CP949,	/* also EUC-KR, ks_c_5601-1987 */
	CS_ISO2022KR,
	CS_UTF16,
	CS_UTF16BE,
	CS_UTF16LE,
	CS_UTF32,
	CS_UTF32BE,
	CS_UTF32LE,
	CS_UTF7,
	CS_VISCII,
	CS_COUNT
};

static const char *const iconv_names[CS_COUNT] = {
	[CS_ISO8859_2] = "ISO-8859-2",
	[CS_ISO8859_3] = "ISO-8859-3",
	[CS_ISO8859_4] = "ISO-8859-4",
	[CS_ISO8859_5] = "ISO-8859-5",
	[CS_ISO8859_6] = "ISO-8859-6",
	[CS_ISO8859_7] = "ISO-8859-7",
	[CS_ISO8859_8] = "ISO-8859-8",
	[CS_ISO8859_10] = "ISO-8859-10",
	[CS_ISO8859_13] = "ISO-8859-13",
	[CS_ISO8859_14] = "ISO-8859-14",
	[CS_ISO8859_16] = "ISO-8859-16",
	[CS_CP1250] = "CP1250",
	[CS_CP1251] = "CP1251",
	[CS_CP1253] = "CP1253",
	[CS_CP1254] = "CP1254",
	[CS_CP1255] = "CP1255",
	[CS_CP1256] = "CP1256",
	[CS_CP1257] = "CP1257",
	[CS_CP1258] = "CP1258",
	[CS_CP874] = "CP874",
	[CS_KOI8R] = "KOI8-R",
	[CS_KOI8U] = "KOI8-U",
	[CS_CP866] = "CP866",
	[CS_CP437] = "CP437",
	[CS_CP850] = "CP850",
	[CS_CP852] = "CP852",
	[CS_MACROMAN] = "MACINTOSH",
	[CS_MACCYRILLIC] = "MAC-CYRILLIC",
	[CS_GBK] = "GBK",
	[CS_GB18030] = "GB18030",
	[CS_BIG5HKSCS] = "BIG5-HKSCS",
	[CS_EUCJP] = "EUC-JP",
	/* ISO-2022-JP-2 reads all of ISO-2022-JP and the RFC 1554 extensions. */
	[CS_ISO2022JP] = "ISO-2022-JP-2",
	[CS_CP932] = "CP932",
	[CS_CP949] = "CP949",
	[CS_ISO2022KR] = "ISO-2022-KR",
	[CS_UTF16] = "UTF-16",
	[CS_UTF16BE] = "UTF-16BE",
	[CS_UTF16LE] = "UTF-16LE",
	[CS_UTF32] = "UTF-32",
	[CS_UTF32BE] = "UTF-32BE",
	[CS_UTF32LE] = "UTF-32LE",
	[CS_UTF7] = "UTF-7",
	[CS_VISCII] = "VISCII",
};

/* Charset labels, lowercase, '-' and '_' removed.  The common ones first:
 * the lookup is a linear scan. */
static const struct {
	const char *label;
	enum charset_id id;
} labels[] = {
	{ "utf8", CS_UTF8 },
	{ "iso88591", CS_CP1252 },
	{ "usascii", CS_ASCII },
	{ "windows1252", CS_CP1252 },
	{ "iso885915", CS_LATIN9 },
	{ "iso88592", CS_ISO8859_2 },
	{ "koi8r", CS_KOI8R },
	{ "windows1251", CS_CP1251 },
	{ "iso2022jp", CS_ISO2022JP },
	{ "shiftjis", CS_CP932 },
	{ "gb2312", CS_GBK },
	{ "big5", CS_BIG5HKSCS },
	{ "euckr", CS_CP949 },
	{ "ksc56011987", CS_CP949 },
	{ "gbk", CS_GBK },
	{ "gb18030", CS_GB18030 },
	{ "eucjp", CS_EUCJP },
	{ "windows1250", CS_CP1250 },
	/* UTF-8 */
	{ "unicode11utf8", CS_UTF8 },
	{ "xunicode20utf8", CS_UTF8 },
	/* US-ASCII */
	{ "ascii", CS_ASCII },
	{ "us", CS_ASCII },
	{ "ansix3.41968", CS_ASCII },
	{ "iso646us", CS_ASCII },
	{ "isoir6", CS_ASCII },
	{ "csascii", CS_ASCII },
	{ "cp367", CS_ASCII },
	{ "ibm367", CS_ASCII },
	/* Windows-1252, ISO-8859-1 */
	{ "cp1252", CS_CP1252 },
	{ "xcp1252", CS_CP1252 },
	{ "latin1", CS_CP1252 },
	{ "l1", CS_CP1252 },
	{ "iso88591:1987", CS_CP1252 },
	{ "isoir100", CS_CP1252 },
	{ "csisolatin1", CS_CP1252 },
	{ "cp819", CS_CP1252 },
	{ "ibm819", CS_CP1252 },
	/* ISO-8859-15 */
	{ "latin9", CS_LATIN9 },
	{ "l9", CS_LATIN9 },
	{ "latin0", CS_LATIN9 },
	{ "csisolatin9", CS_LATIN9 },
	/* ISO-8859-x through iconv */
	{ "latin2", CS_ISO8859_2 },
	{ "l2", CS_ISO8859_2 },
	{ "csisolatin2", CS_ISO8859_2 },
	{ "iso88593", CS_ISO8859_3 },
	{ "latin3", CS_ISO8859_3 },
	{ "l3", CS_ISO8859_3 },
	{ "iso88594", CS_ISO8859_4 },
	{ "latin4", CS_ISO8859_4 },
	{ "l4", CS_ISO8859_4 },
	{ "iso88595", CS_ISO8859_5 },
	{ "cyrillic", CS_ISO8859_5 },
	{ "iso88596", CS_ISO8859_6 },
	{ "iso88596i", CS_ISO8859_6 },
	{ "iso88596e", CS_ISO8859_6 },
	{ "arabic", CS_ISO8859_6 },
	{ "iso88597", CS_ISO8859_7 },
	{ "greek", CS_ISO8859_7 },
	{ "iso88598", CS_ISO8859_8 },
	{ "iso88598i", CS_ISO8859_8 },
	{ "iso88598e", CS_ISO8859_8 },
	{ "hebrew", CS_ISO8859_8 },
	{ "iso88599", CS_CP1254 },
	{ "latin5", CS_CP1254 },
	{ "l5", CS_CP1254 },
	{ "iso885910", CS_ISO8859_10 },
	{ "latin6", CS_ISO8859_10 },
	{ "l6", CS_ISO8859_10 },
	{ "iso885911", CS_CP874 },
	{ "iso885913", CS_ISO8859_13 },
	{ "latin7", CS_ISO8859_13 },
	{ "l7", CS_ISO8859_13 },
	{ "iso885914", CS_ISO8859_14 },
	{ "latin8", CS_ISO8859_14 },
	{ "l8", CS_ISO8859_14 },
	{ "iso885916", CS_ISO8859_16 },
	{ "latin10", CS_ISO8859_16 },
	{ "l10", CS_ISO8859_16 },
	/* Windows code pages */
	{ "cp1250", CS_CP1250 },
	{ "cp1251", CS_CP1251 },
	{ "windows1253", CS_CP1253 },
	{ "cp1253", CS_CP1253 },
	{ "windows1254", CS_CP1254 },
	{ "cp1254", CS_CP1254 },
	{ "windows1255", CS_CP1255 },
	{ "cp1255", CS_CP1255 },
	{ "windows1256", CS_CP1256 },
	{ "cp1256", CS_CP1256 },
	{ "windows1257", CS_CP1257 },
	{ "cp1257", CS_CP1257 },
	{ "windows1258", CS_CP1258 },
	{ "cp1258", CS_CP1258 },
	{ "windows874", CS_CP874 },
	{ "cp874", CS_CP874 },
	{ "tis620", CS_CP874 },
	/* Cyrillic, DOS, Mac */
	{ "koi8", CS_KOI8R },
	{ "cskoi8r", CS_KOI8R },
	{ "koi8u", CS_KOI8U },
	{ "koi8ru", CS_KOI8U },
	{ "cp866", CS_CP866 },
	{ "ibm866", CS_CP866 },
	{ "cp437", CS_CP437 },
	{ "ibm437", CS_CP437 },
	{ "cp850", CS_CP850 },
	{ "ibm850", CS_CP850 },
	{ "cp852", CS_CP852 },
	{ "ibm852", CS_CP852 },
	{ "macintosh", CS_MACROMAN },
	{ "macroman", CS_MACROMAN },
	{ "xmacroman", CS_MACROMAN },
	{ "xmaccyrillic", CS_MACCYRILLIC },
	{ "xmacukrainian", CS_MACCYRILLIC },
	/* Chinese */
	{ "cp936", CS_GBK },
	{ "xgbk", CS_GBK },
	{ "euccn", CS_GBK },
	{ "chinese", CS_GBK },
	{ "csgb2312", CS_GBK },
	{ "gb231280", CS_GBK },
	{ "big5hkscs", CS_BIG5HKSCS },
	{ "cnbig5", CS_BIG5HKSCS },
	{ "csbig5", CS_BIG5HKSCS },
	{ "xxbig5", CS_BIG5HKSCS },
	{ "cp950", CS_BIG5HKSCS },
	/* Japanese */
	{ "csiso2022jp", CS_ISO2022JP },
	{ "iso2022jp2", CS_ISO2022JP },
	{ "sjis", CS_CP932 },
	{ "xsjis", CS_CP932 },
	{ "mskanji", CS_CP932 },
	{ "csshiftjis", CS_CP932 },
	{ "windows31j", CS_CP932 },
	{ "cp932", CS_CP932 },
	{ "xeucjp", CS_EUCJP },
	/* Korean */
	{ "cseuckr", CS_CP949 },
	{ "ksc5601", CS_CP949 },
	{ "ksc56011989", CS_CP949 },
	{ "csksc56011987", CS_CP949 },
	{ "korean", CS_CP949 },
	{ "cp949", CS_CP949 },
	{ "windows949", CS_CP949 },
	{ "uhc", CS_CP949 },
	{ "iso2022kr", CS_ISO2022KR },
	{ "csiso2022kr", CS_ISO2022KR },
	/* Unicode */
	{ "utf16", CS_UTF16 },
	{ "utf16be", CS_UTF16BE },
	{ "utf16le", CS_UTF16LE },
	{ "utf32", CS_UTF32 },
	{ "utf32be", CS_UTF32BE },
	{ "utf32le", CS_UTF32LE },
	{ "utf7", CS_UTF7 },
	{ "unicode11utf7", CS_UTF7 },
	{ "csunicode11utf7", CS_UTF7 },
	/* Vietnamese */
	{ "viscii", CS_VISCII },
};

/* Windows-1252 0x80..0x9f; 0 where the code page leaves the byte undefined. */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static uint32_t cp1252_to_ucs(unsigned char c)
{
	if (c < 0x80 || c >= 0xa0)
		return c;
	return cp1252_c1[c - 0x80] ? cp1252_c1[c - 0x80] : 0xfffd;
}

static uint32_t latin9_to_ucs(unsigned char c)
{
	switch (c) {
	case 0xa4: return 0x20ac;
	case 0xa6: return 0x0160;
	case 0xa8: return 0x0161;
	case 0xb4: return 0x017d;
	case 0xb8: return 0x017e;
	case 0xbc: return 0x0152;
	case 0xbd: return 0x0153;
	case 0xbe: return 0x0178;
	default: return c;
	}
}

/* ---- output: every byte appended to out goes through here ---- */

static int is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0);
}

/* Append code point cp as UTF-8; a control becomes '?'. */
static int put_ucs(ml_buf_t *out, uint32_t cp)
{
	unsigned char u[4];
	size_t k;
	if (is_control(cp))
		cp = '?';
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	return ml_buf_append(out, u, k);
}

enum text_kind {
	TEXT_DECODED,	/* declared UTF-8: an invalid byte is U+FFFD */
	TEXT_PLAIN,	/* undeclared: an invalid byte is read as Windows-1252 */
};

/* Append s[0..n) as UTF-8 text, controls made '?'. */
static int put_utf8(ml_buf_t *out, const unsigned char *s, size_t n, enum text_kind kind)
{
	size_t i = 0;
	int rc = ml_buf_reserve(out, n);
	while (rc == ML_OK && i < n) {
		size_t start = i;
		while (i < n && s[i] >= 0x20 && s[i] < 0x7f)
			i++;
		if (i > start && (rc = ml_buf_append(out, s + start, i - start)))
			break;
		if (i == n)
			break;
		uint32_t cp;
		size_t k = ml_utf8_decode(s + i, n - i, &cp);
		if (k) {
			if (is_control(cp))
				rc = ml_buf_putc(out, '?');
			else
				rc = ml_buf_append(out, s + i, k);
			i += k;
		} else {
			rc = put_ucs(out, kind == TEXT_PLAIN ? cp1252_to_ucs(s[i]) : 0xfffd);
			i++;
		}
	}
	return rc;
}

/* Append bytes of a single-byte charset: ASCII as is, the upper half by map. */
static int put_8bit(ml_buf_t *out, const unsigned char *s, size_t n,
		    uint32_t (*upper)(unsigned char))
{
	size_t i = 0;
	int rc = ml_buf_reserve(out, n);
	while (rc == ML_OK && i < n) {
		size_t start = i;
		while (i < n && s[i] < 0x80)
			i++;
		if (i > start && (rc = put_utf8(out, s + start, i - start, TEXT_DECODED)))
			break;
		if (i < n) {
			uint32_t cp = upper ? upper(s[i]) : 0xfffd;
			rc = put_ucs(out, cp);
			i++;
		}
	}
	return rc;
}

static int put_iconv(ml_buf_t *out, iconv_t cd, const char *s, size_t n)
{
	char buf[ICONV_CHUNK];
	char *in = (char *)s;	/* iconv's prototype; it does not write there */
	size_t inleft = n;
	int rc = ML_OK, flushing = 0;
	while (rc == ML_OK) {
		char *o = buf;
		size_t oleft = sizeof buf, r;
		if (inleft) {
			r = iconv(cd, &in, &inleft, &o, &oleft);
		} else {
			/* All read: return to the initial shift state and emit
			 * whatever the converter still holds. */
			r = iconv(cd, NULL, NULL, &o, &oleft);
			flushing = 1;
		}
		int err = r == (size_t)-1 ? errno : 0;
		if (o > buf)
			rc = put_utf8(out, (const unsigned char *)buf, (size_t)(o - buf),
				      TEXT_DECODED);
		if (rc)
			break;
		if (err == E2BIG && o > buf)
			continue;	/* buffer full, progress made */
		if (err) {
			/* EILSEQ, EINVAL (incomplete at the end), or no progress
			 * at all: U+FFFD for one byte, and on after it. */
			rc = put_ucs(out, 0xfffd);
			if (inleft) {
				in++;
				inleft--;
				continue;
			}
		}
		if (flushing)
			break;
	}
	return rc;
}

/* ---- charsets ---- */

/* The charset named by name[0..n) (without language tag), or -1. */
static int charset_lookup(const char *name, size_t n)
{
	char key[CHARSET_MAX + 1];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '-' || c == '_')
			continue;
		key[k++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	key[k] = '\0';
	for (size_t i = 0; i < ML_ARRAY_LEN(labels); i++)
		if (strcmp(labels[i].label, key) == 0)
			return (int)labels[i].id;
	return -1;
}

static iconv_t charset_open(int cs)
{
	return iconv_open("UTF-8", iconv_names[cs]);
}

/* ---- encoded words ---- */

typedef struct {
	int cs;			/* enum charset_id */
	char enc;		/* 'b' or 'q' */
	const char *text;	/* encoded-text, borrowed from the input */
	size_t text_len;
	size_t len;		/* the whole word, "=?" through "?=" */
} word_t;

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Length of the base64 text without its padding, or (size_t)-1 if bad. */
static size_t b64_body(const char *t, size_t n)
{
	size_t k = n;
	while (k > 0 && n - k < 2 && t[k - 1] == '=')
		k--;
	if (k % 4 == 1)
		return (size_t)-1;
	for (size_t i = 0; i < k; i++)
		if (b64_value((unsigned char)t[i]) < 0)
			return (size_t)-1;
	return k;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* Is p[0..n) (p[0] == '=') an encoded word we can decode?  Fills *w. */
static int word_parse(const char *p, size_t n, word_t *w)
{
	size_t i = 2, cs_end, lang = 0;
	if (n < 2 || p[0] != '=' || p[1] != '?')
		return 0;
	for (; i < n && p[i] != '?'; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || i - 2 >= CHARSET_MAX)
			return 0;
		if (c == '*' && !lang)
			lang = i;
	}
	cs_end = lang ? lang : i;
	if (cs_end == 2 || i + 2 >= n || p[i + 2] != '?')
		return 0;
	char enc = (char)(p[i + 1] | 0x20);
	if (enc != 'b' && enc != 'q')
		return 0;
	size_t t = i + 3;
	for (i = t; i < n && p[i] != '?'; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	if (i + 1 >= n || p[i + 1] != '=')
		return 0;
	w->enc = enc;
	w->text = p + t;
	w->text_len = i - t;
	w->len = i + 2;
	if (enc == 'b' && b64_body(w->text, w->text_len) == (size_t)-1)
		return 0;
	w->cs = charset_lookup(p + 2, cs_end - 2);
	if (w->cs < 0)
		return 0;
	if (w->cs >= CS_NATIVE_COUNT) {
		iconv_t cd = charset_open(w->cs);
		if (cd == (iconv_t)-1)
			return 0;
		iconv_close(cd);
	}
	return 1;
}

/* The decoded bytes of the current run.  Lives on the stack until it needs
 * more; then one heap block of the input's size, which always suffices. */
typedef struct {
	char *p;
	size_t len, cap;
	char *heap;
} run_t;

/* Append the decoded bytes of w to the run; limit is the input length. */
static int word_decode(run_t *r, const word_t *w, size_t limit)
{
	if (r->len + w->text_len > r->cap) {
		char *h = malloc(limit);
		if (!h)
			return ML_ENOMEM;
		memcpy(h, r->p, r->len);
		r->p = r->heap = h;
		r->cap = limit;
	}
	const unsigned char *t = (const unsigned char *)w->text;
	unsigned char *d = (unsigned char *)r->p + r->len;
	if (w->enc == 'q') {
		for (size_t i = 0; i < w->text_len; i++) {
			int hi, lo;
			if (t[i] == '_') {
				*d++ = ' ';
			} else if (t[i] == '=' && i + 2 < w->text_len &&
				   (hi = hex_value(t[i + 1])) >= 0 &&
				   (lo = hex_value(t[i + 2])) >= 0) {
				*d++ = (unsigned char)(hi << 4 | lo);
				i += 2;
			} else {
				*d++ = t[i];
			}
		}
	} else {
		size_t k = b64_body(w->text, w->text_len);
		uint32_t acc = 0;
		int bits = 0;
		for (size_t i = 0; i < k; i++) {
			acc = acc << 6 | (uint32_t)b64_value(t[i]);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				*d++ = (unsigned char)(acc >> bits);
			}
		}
	}
	r->len = (size_t)((char *)d - r->p);
	return ML_OK;
}

/* Convert the run's bytes (charset cs) to out and empty the run. */
static int run_flush(ml_buf_t *out, run_t *r, int cs)
{
	const unsigned char *s = (const unsigned char *)r->p;
	int rc;
	switch (cs) {
	case CS_UTF8:
		rc = put_utf8(out, s, r->len, TEXT_DECODED);
		break;
	case CS_ASCII:
		rc = put_8bit(out, s, r->len, NULL);
		break;
	case CS_CP1252:
		rc = put_8bit(out, s, r->len, cp1252_to_ucs);
		break;
	case CS_LATIN9:
		rc = put_8bit(out, s, r->len, latin9_to_ucs);
		break;
	default: {
		iconv_t cd = charset_open(cs);
		if (cd == (iconv_t)-1) {
			/* Opened a moment ago in word_parse; a failure now is
			 * memory.  Keep the text rather than lose the subject. */
			rc = put_utf8(out, s, r->len, TEXT_PLAIN);
			break;
		}
		rc = put_iconv(out, cd, r->p, r->len);
		iconv_close(cd);
		break;
	}
	}
	r->len = 0;
	return rc;
}

/* Length of the gap at p (n bytes left) that may separate two encoded words. */
static size_t gap_len(const char *p, size_t n)
{
	size_t q = 0, k;
	while (q < n && q < 2 && p[q] == '?')
		q++;
	for (k = q; k < n && (p[k] == ' ' || p[k] == '\t'); k++)
		;
	if (q && k == q)
		return 0;	/* a '?' not followed by white space is text */
	return k;
}

int ml_rfc2047_decode(ml_buf_t *out, const char *p, size_t n)
{
	char stack[SCRATCH_STACK];
	run_t run = { stack, 0, sizeof stack, NULL };
	size_t len0 = out->len, i = 0;
	int run_cs = -1, have_word = 0, rc;
	word_t w = { 0 };

	rc = ml_buf_reserve(out, n);
	while (rc == ML_OK && i < n) {
		if (have_word || (p[i] == '=' && word_parse(p + i, n - i, &w))) {
			have_word = 0;
			if (run_cs >= 0 && w.cs != run_cs &&
			    (rc = run_flush(out, &run, run_cs)))
				break;
			run_cs = w.cs;
			if ((rc = word_decode(&run, &w, n)))
				break;
			i += w.len;
			size_t g = gap_len(p + i, n - i);
			if (i + g < n && p[i + g] == '=' &&
			    word_parse(p + i + g, n - i - g, &w)) {
				have_word = 1;
				i += g;
				continue;
			}
			rc = run_flush(out, &run, run_cs);
			run_cs = -1;
			continue;
		}
		/* Plain text up to the next '=' that might open a word.  '=' is
		 * ASCII, so no UTF-8 sequence spans the cut. */
		const char *eq = i + 1 < n ? memchr(p + i + 1, '=', n - i - 1) : NULL;
		size_t end = eq ? (size_t)(eq - p) : n;
		rc = put_utf8(out, (const unsigned char *)p + i, end - i, TEXT_PLAIN);
		i = end;
	}
	free(run.heap);
	if (rc)
		out->len = len0;
	return rc;
}
