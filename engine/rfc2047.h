/*
 * rfc2047.h — a Subject header value, as Postfix (or another MTA) logged it,
 * made into UTF-8 text.
 *
 * Input: the header value bytes.  RFC 2047 encoded words
 * (=?charset?B|Q?text?=, charset case-insensitive, optional *language) are
 * decoded; linear white space between two adjacent encoded words is dropped.
 * Postfix logs control characters as '?', so the line break of a folded header
 * between two encoded words shows as "?=? =?" — that '?' is folding and is
 * dropped too.  Charsets: UTF-8, US-ASCII, ISO-8859-1/-15, Windows-1252
 * natively; others through iconv(3); an encoded word whose charset cannot be
 * converted or whose encoding is broken is kept as it was written.  Bytes
 * outside encoded words that are not valid UTF-8 are read as Latin-1.
 *
 * Output: valid UTF-8 appended to out; never fails on bad input (only on
 * memory).
 *
 * Details (engine/rfc2047.c has the full rules):
 *   - exactly n bytes of p are read; p need not be NUL-terminated and may be
 *     NULL when n is 0.
 *   - adjacent encoded words in the same charset are decoded as one string,
 *     so a character split across two words comes out whole.
 *   - bytes invalid in a word's charset become U+FFFD; C0 controls but TAB,
 *     DEL and C1 controls become '?'.
 *   - iconv is used only for the charsets on an allowlist of names seen in
 *     mail; other names count as unknown.
 *   - returns 0, or ML_ENOMEM / ML_ETOOBIG with out left as it was before
 *     the call.  Keeps no state between calls: safe from several threads on
 *     different buffers.
 */
#ifndef ML_RFC2047_H
#define ML_RFC2047_H

#include "util.h"

int ml_rfc2047_decode(ml_buf_t *out, const char *p, size_t n);

#endif
