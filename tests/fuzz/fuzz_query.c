/*
 * fuzz_query.c — libFuzzer target for ml_query_set, the parser of search
 * arguments shared by the command line and the JSON API.
 *
 * The input is a sequence of (name, value) pairs: one byte picks the name
 * from ml_query_params plus a few unknown ones, the bytes after it up to a
 * NUL byte (or the end) are the value; repeat.  Each value is copied to an
 * exactly-sized heap block so that ASan sees any read past its end, and is
 * applied to one query with ml_query_set; the query is freed at the end, so
 * that LeakSanitizer sees any string a repeated parameter leaks.  No
 * database is opened.  Invariants checked on every call, any violation
 * aborts: the result is 0, ML_EINVAL or ML_ENOTFOUND (for an unknown name
 * only); on ML_EINVAL the error message is not empty and starts with the
 * parameter's name; on success the error buffer is left untouched; after
 * every call the limit, direction and status mask are in range.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_query.c index/query.c ... -o fuzz_query
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names ml_query_set must refuse with ML_ENOTFOUND. */
static const char *const UNKNOWN[] = {
	"", "nonsense", "Limit", "status ", "subject_", "before", "cursor",
};

#define N_UNKNOWN (sizeof UNKNOWN / sizeof UNKNOWN[0])
#define ERR_SENTINEL '\x7f'
#define STATUS_BITS (((1u << ML_ST__COUNT) - 1) & ~1u)

static size_t n_params(void)
{
	size_t n = 0;
	while (ml_query_params[n])
		n++;
	return n;
}

static void check_query(const ml_query_t *q)
{
	if (q->limit > ML_QUERY_MAX_LIMIT)
		abort();
	if (q->direction != 0 && q->direction != ML_DIR_INBOUND && q->direction != ML_DIR_OUTBOUND &&
	    q->direction != ML_DIR_INTERNAL)
		abort();
	if (q->status_mask & ~(STATUS_BITS | ML_QUERY_RELEASED | ML_QUERY_REPORTED))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t np;
	if (!np)
		np = n_params();
	ml_query_t q;
	memset(&q, 0, sizeof q);
	size_t i = 0;
	while (i < size) {
		size_t pick = data[i++] % (np + N_UNKNOWN);
		int known = pick < np;
		const char *name = known ? ml_query_params[pick] : UNKNOWN[pick - np];
		const uint8_t *nul = memchr(data + i, 0, size - i);
		size_t n = nul ? (size_t)(nul - (data + i)) : size - i;
		char *v = malloc(n + 1);
		if (!v)
			abort();
		memcpy(v, data + i, n);
		v[n] = '\0';
		i += n + (nul != NULL);

		char err[256];
		memset(err, ERR_SENTINEL, sizeof err);
		int rc = ml_query_set(&q, name, v, err, sizeof err);
		size_t nn = strlen(name);
		switch (rc) {
		case 0:
			if (!known)
				abort();
			for (size_t k = 0; k < sizeof err; k++)
				if (err[k] != ERR_SENTINEL)
					abort();
			break;
		case ML_EINVAL:
			if (!known || !memchr(err, '\0', sizeof err) || !err[0] ||
			    strncmp(err, name, nn) != 0 || err[nn] != ':')
				abort();
			break;
		case ML_ENOTFOUND:
			if (known)
				abort();
			break;
		default:
			abort();
		}
		check_query(&q);
		free(v);
	}
	ml_query_free(&q);
	return 0;
}
