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
 */
#ifndef ML_RFC2047_H
#define ML_RFC2047_H

#include "util.h"

int ml_rfc2047_decode(ml_buf_t *out, const char *p, size_t n);

#endif
