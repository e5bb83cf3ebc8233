/*
 * fuzz_rfc2047.c — libFuzzer target for ml_rfc2047_decode.
 *
 * The input is a header value.  Invariants checked on every run: the call
 * succeeds (bad input is never an error), the output is valid UTF-8, holds
 * no control character but TAB, and the bytes already in the buffer are left
 * alone.  Any violation aborts.
 *
 *   clang -fsanitize=fuzzer,address -I. -D_GNU_SOURCE tests/fuzz/fuzz_rfc2047.c \
 *         engine/rfc2047.c engine/util.c -o fuzz_rfc2047
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine/rfc2047.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "Subject: ";
	ml_buf_t out = ML_BUF_INIT;
	if (ml_buf_append(&out, prefix, sizeof prefix - 1))
		abort();
	if (ml_rfc2047_decode(&out, (const char *)data, size) != ML_OK)
		abort();
	if (out.len < sizeof prefix - 1 || memcmp(out.data, prefix, sizeof prefix - 1))
		abort();
	const unsigned char *s = (const unsigned char *)out.data;
	if (!ml_utf8_valid(out.data, out.len))
		abort();
	for (size_t i = 0; i < out.len; i++) {
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			abort();
		if (s[i] == 0xc2 && i + 1 < out.len && s[i + 1] < 0xa0)
			abort();	/* C1 control */
	}
	ml_buf_free(&out);
	return 0;
}
