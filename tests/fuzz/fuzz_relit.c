/*
 * fuzz_relit.c — libFuzzer target for ml_relit_find (index/relit.h), the
 * reading of a subject regex for the literals it needs in a subject word.
 *
 * The input is a pattern, then optionally a NUL byte and a subject (without
 * one, the pattern is its own subject).  Each is copied to an exactly-sized
 * heap block so that ASan sees any read past its end.  Checked, any
 * violation aborts: each literal is ML_RELIT_MIN to ML_RELIT_LEN lowercase
 * ASCII letters and digits, its forms are 1 to ML_RELIT_VARIANTS; and when
 * the pattern compiles as index/query.c compiles it and matches the subject
 * (valid UTF-8, as stored subjects are), every literal is where the module
 * says: a word of the subject (ml_tokens_words) starts with one of its
 * forms, or, for a weak literal, a word may hold it
 * (ml_relit_term_may_hold).  That last check is the promise the search
 * relies on to find the same rows as a scan of every subject.
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "index/relit.h"
#include "index/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	const ml_relit_t *l;
	char forms[ML_RELIT_VARIANTS][ML_RELIT_VAR_BYTES + 1];
	size_t nf;
	int found;
} seek_t;

static void look(void *ctx, const char *w, size_t n)
{
	seek_t *s = ctx;
	for (size_t i = 0; i < s->nf; i++) {
		size_t k = strlen(s->forms[i]);
		if (n >= k && memcmp(w, s->forms[i], k) == 0)
			s->found = 1;
	}
	if (s->l->weak && ml_relit_term_may_hold(s->l, w, n))
		s->found = 1;
}

/* Is p[0..n) valid UTF-8 (no surrogates, no overlong forms)? */
static int valid_utf8(const unsigned char *p, size_t n)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR) "", 0, PCRE2_UTF, &ec, &off, NULL);
	if (!re)
		abort();
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	int r = pcre2_match(re, p, n, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return r >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t pn = nul ? (size_t)(nul - data) : size;
	size_t sn = nul ? size - pn - 1 : size;
	char *pat = malloc(pn + 1), *subj = malloc(sn + 1);
	if (!pat || !subj)
		abort();
	memcpy(pat, data, pn);
	pat[pn] = 0;
	memcpy(subj, nul ? nul + 1 : data, sn);
	subj[sn] = 0;
	ml_relit_t l[ML_RELIT_MAX];
	size_t n = ml_relit_find(pat, l, ML_RELIT_MAX);
	if (n > ML_RELIT_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (l[i].n < ML_RELIT_MIN || l[i].n > ML_RELIT_LEN || strlen(l[i].text) != l[i].n)
			abort();
		for (size_t j = 0; j < l[i].n; j++)
			if (!((l[i].text[j] >= 'a' && l[i].text[j] <= 'z') || (l[i].text[j] >= '0' && l[i].text[j] <= '9')))
				abort();
	}
	if (n && valid_utf8((const unsigned char *)subj, sn)) {
		int ec;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
		                               PCRE2_UTF | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
		if (re) {
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
			pcre2_match_context *mc = pcre2_match_context_create(NULL);
			pcre2_set_match_limit(mc, 100000);
			if (!md || !mc)
				abort();
			if (pcre2_match(re, (PCRE2_SPTR)subj, sn, 0, 0, md, mc) >= 0) {
				for (size_t i = 0; i < n; i++) {
					seek_t s = { &l[i], { { 0 } }, 0, 0 };
					s.nf = ml_relit_variants(&l[i], s.forms);
					if (s.nf < 1 || s.nf > ML_RELIT_VARIANTS)
						abort();
					ml_tokens_words(subj, sn, look, &s);
					if (!s.found)
						abort();
				}
			}
			pcre2_match_context_free(mc);
			pcre2_match_data_free(md);
			pcre2_code_free(re);
		}
	}
	free(pat);
	free(subj);
	return 0;
}
