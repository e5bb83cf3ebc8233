/*
 * fuzz_postings.c — libFuzzer target for the values of the postings table
 * (index/postings.h): term blocks and list blocks as a search reads them.
 * A corrupt database must give an error, never a crash.
 *
 * The first byte picks the kind (even: term block, odd: list block), the
 * next 8 the first docid (big-endian: the day the block is of, and a list
 * block's first docid), the rest is the value.  Invariant, any violation
 * aborts: ml_post_check_value answers 0 or ML_ECORRUPT.
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "index/postings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9)
		return 0;
	uint64_t first = ml_get_be64(data + 1);
	int rc = ml_post_check_value(data + 9, size - 9, data[0] & 1, first);
	if (rc != 0 && rc != ML_ECORRUPT) {
		fprintf(stderr, "fuzz_postings: unexpected result %d\n", rc);
		abort();
	}
	return 0;
}
