/*
 * relit.h — the literals a subject regex needs at the start of a subject
 * word, so that a search by regex (index/query.h: subject_re) looks up the
 * subject words of the index instead of reading every subject.
 *
 * ml_relit_find reads a PCRE2 pattern as index/query.c compiles it (UTF,
 * caseless, no UCP) and gives strings L such that every subject the pattern
 * matches has a word (index/tokens.h: ml_tokens_words) that starts with L,
 * or, for a literal marked weak, a word that holds L after a non-ASCII
 * character (below).  It knows a small part of the syntax and gives nothing
 * for the rest; nothing is always a right answer (the search reads every
 * subject, as without this module).
 *
 * What it reads: a sequence of
 *   - ASCII letters and digits (a literal: a run of them);
 *   - other ASCII characters that are not metacharacters, escaped ASCII
 *     punctuation (\. \- \  ...), \t \n \r \f \e \a, \s: characters that are
 *     not part of a word for the tokenizer (it splits words at every ASCII
 *     character but letters and digits, '_' too), and that PCRE2 matches
 *     only as themselves (caseless matching gives these no other form);
 *   - . \d \D \w \W \S \h \H \v \V \N \R: some character(s), unknown;
 *   - ^ and \A (the start of the subject: no multiline flag can be set),
 *     $ \z \Z, \b, \B;
 *   - groups ( ) and (?: ), each followed or not by a quantifier;
 *   - quantifiers ? * + {n} {n,} {n,m}, lazy or possessive.
 * Anything else makes the answer nothing: character classes, alternation
 * outside a group that may be skipped, (? groups but (?:, that is option
 * settings such as (?i) (?x) (?m), lookarounds, named groups, comments,
 * recursion; (* verbs and options such as (*UTF) (*UCP); backreferences,
 * \Q..\E, \x \o \c \p \P \X \K \G \g \k and other escapes; bytes outside
 * ASCII; a quantifier on an assertion; groups nested more than 32 deep.
 *
 * Which literals count.  A run of letters and digits, all required (no
 * quantifier of minimum 0 on it or on a group around it; a quantifier of
 * minimum >= 1 keeps the run up to its character and ends it), and only
 * when what comes before it is known:
 *   - strong: the start of the subject (^, \A), or a required character that
 *     splits words (above).  The tokenizer then starts a word where the run
 *     starts, so a word starts with L.
 *   - weak: \b alone.  PCRE2's \b (ASCII without UCP) sees a boundary after
 *     any character outside ASCII, where the tokenizer may go on with the
 *     same word ("üword" is one word; \bword matches it).  The word then
 *     holds L right after a byte >= 0x80 (ml_relit_term_may_hold says which
 *     words of the index may be such words).
 *   - else the run is not used (after an unknown character, an optional
 *     one, or another run).
 * A character optional in front of a run (^\s*, \b-?) gives the weaker of
 * the two cases with and without it.  In a group that is entered (minimum
 * >= 1) the run's case is that of its first pass; a group that may be
 * skipped gives nothing of its own (its content is checked for what is
 * refused; it may hold alternation), and what follows it has the weaker of
 * the cases before and after it.
 *
 * Case.  Under PCRE2_CASELESS|PCRE2_UTF an ASCII letter matches its two
 * ASCII cases, and also: 'k' U+212A (KELVIN SIGN), 's' U+017F (LONG S).
 * The tokenizer lowercases ASCII but keeps those two as they are, inside
 * the word (they are not punctuation).  So a literal stands for its
 * variants, each k or s either ASCII or that character
 * (ml_relit_variants); a literal is cut before its fourth k or s (at most
 * eight variants), and at ML_RELIT_LEN characters (a variant's bytes then
 * fit in a word's ML_WORD_MAX: a word is cut only past its 60th byte).
 * Literals are kept lowercased, of ML_RELIT_MIN characters or more.
 *
 * The subject a regex is matched on is the subject the index has the words
 * of: decoded, valid UTF-8 (engine/rfc2047.h).
 */
#ifndef ML_RELIT_H
#define ML_RELIT_H

#include <stddef.h>

#define ML_RELIT_MIN 2          /* characters of a literal at least */
#define ML_RELIT_LEN 20         /* characters of a literal kept at most */
#define ML_RELIT_MAX 8          /* literals given at most */
#define ML_RELIT_VARIANTS 8     /* forms of a literal (k, s: two each, three of them at most) */
#define ML_RELIT_VAR_BYTES (3 * ML_RELIT_LEN)

typedef struct {
	char text[ML_RELIT_LEN + 1];   /* lowercase ASCII letters and digits, NUL-terminated */
	size_t n;
	int weak;                      /* 0: a word starts with it; 1: see above */
} ml_relit_t;

/* The literals of pattern (NUL-terminated, any bytes), at most max into
 * out, in the order of the pattern: their number, 0 when none is known. */
size_t ml_relit_find(const char *pattern, ml_relit_t *out, size_t max);

/* The forms of l a subject word may start with: the bytes of each into
 * out[i] (NUL-terminated), their number (1 to ML_RELIT_VARIANTS). */
size_t ml_relit_variants(const ml_relit_t *l, char out[][ML_RELIT_VAR_BYTES + 1]);

/* For a weak literal: may word w (n bytes, as the index has it) be the word
 * that holds a match of l not at its start?  1 when it holds a form of l
 * right after a byte >= 0x80, or a form of l that begins with U+212A or
 * U+017F (\b before it then follows an ASCII letter or digit) anywhere past
 * its start, or when it is long enough to have been cut (a match may
 * straddle the cut) and holds a byte >= 0x80. */
int ml_relit_term_may_hold(const ml_relit_t *l, const char *w, size_t n);

#endif
