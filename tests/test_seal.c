/*
 * Tests of tools/seal: a sealed text opens under its key and associated
 * data only, to the bytes sealed; every change of it, another key, other
 * associated data, a text too short or too long, not hex, opens as
 * nothing; two seals of the same bytes differ (a new nonce each).
 */
#include "testlib.h"

#include <stdio.h>

#include "tools/seal.h"

static void round_trip(void **state)
{
	(void)state;
	ml_seal_t k;
	assert_int_equal(ml_seal_init(&k), ML_OK);
	const unsigned char msg[12] = { 0, 6, 0xb0, 0x1d, 0xfa, 0xce, 0, 1, 0, 0, 0, 3 };
	char a[ML_SEAL_TEXT_LEN(12) + 1], b[sizeof a];
	assert_int_equal(ml_seal(&k, "bob", 3, msg, sizeof msg, a, sizeof a), ML_OK);
	assert_int_equal(strlen(a), ML_SEAL_TEXT_LEN(12));
	assert_int_equal(strspn(a, "0123456789abcdef"), strlen(a));
	assert_int_equal(ml_seal(&k, "bob", 3, msg, sizeof msg, b, sizeof b), ML_OK);
	assert_string_not_equal(a, b);
	unsigned char out[12];
	assert_int_equal(ml_seal_open(&k, "bob", 3, a, out, sizeof out), ML_OK);
	assert_memory_equal(out, msg, sizeof msg);
	assert_int_equal(ml_seal_open(&k, "bob", 3, b, out, sizeof out), ML_OK);
	assert_memory_equal(out, msg, sizeof msg);
	/* no associated data */
	assert_int_equal(ml_seal(&k, "", 0, msg, sizeof msg, b, sizeof b), ML_OK);
	assert_int_equal(ml_seal_open(&k, "", 0, b, out, sizeof out), ML_OK);
	assert_memory_equal(out, msg, sizeof msg);
	/* the text does not hold the bytes in the clear */
	assert_null(strstr(a, "0006b01dface"));
	/* out of bounds */
	char small[ML_SEAL_TEXT_LEN(12)];
	assert_int_equal(ml_seal(&k, "", 0, msg, sizeof msg, small, sizeof small), ML_EINVAL);
	unsigned char big[ML_SEAL_MAX + 1] = { 0 };
	char room[2 * (ML_SEAL_MAX + 1 + ML_SEAL_OVERHEAD) + 1];
	assert_int_equal(ml_seal(&k, "", 0, big, sizeof big, room, sizeof room), ML_EINVAL);
	ml_seal_wipe(&k);
}

static void refused(void **state)
{
	(void)state;
	ml_seal_t k, other;
	assert_int_equal(ml_seal_init(&k), ML_OK);
	assert_int_equal(ml_seal_init(&other), ML_OK);
	const unsigned char msg[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	char t[ML_SEAL_TEXT_LEN(12) + 1];
	assert_int_equal(ml_seal(&k, "bob", 3, msg, sizeof msg, t, sizeof t), ML_OK);
	unsigned char out[12];
	/* every digit changed, one at a time, to every other hex digit */
	size_t len = strlen(t);
	for (size_t i = 0; i < len; i++) {
		char c = t[i];
		for (const char *d = "0123456789abcdef"; *d; d++) {
			if (*d == c)
				continue;
			t[i] = *d;
			memset(out, 0xee, sizeof out);
			if (ml_seal_open(&k, "bob", 3, t, out, sizeof out) != ML_EINVAL)
				fail_msg("digit %zu changed to %c opens", i, *d);
			for (size_t b = 0; b < sizeof out; b++)
				assert_int_equal(out[b], 0);
		}
		t[i] = c;
	}
	assert_int_equal(ml_seal_open(&k, "bob", 3, t, out, sizeof out), ML_OK);
	/* another key; other associated data; another length asked */
	assert_int_equal(ml_seal_open(&other, "bob", 3, t, out, sizeof out), ML_EINVAL);
	assert_int_equal(ml_seal_open(&k, "bo", 2, t, out, sizeof out), ML_EINVAL);
	assert_int_equal(ml_seal_open(&k, "carol", 5, t, out, sizeof out), ML_EINVAL);
	assert_int_equal(ml_seal_open(&k, "bob", 3, t, out, 11), ML_EINVAL);
	/* cut, lengthened, upper case, not hex, empty */
	char u[sizeof t + 2];
	snprintf(u, sizeof u, "%.*s", (int)len - 2, t);
	assert_int_equal(ml_seal_open(&k, "bob", 3, u, out, sizeof out), ML_EINVAL);
	snprintf(u, sizeof u, "%s00", t);
	assert_int_equal(ml_seal_open(&k, "bob", 3, u, out, sizeof out), ML_EINVAL);
	snprintf(u, sizeof u, "%s", t);
	for (char *c = u; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	if (strcmp(u, t))
		assert_int_equal(ml_seal_open(&k, "bob", 3, u, out, sizeof out), ML_EINVAL);
	snprintf(u, sizeof u, "%s", t);
	u[5] = 'g';
	assert_int_equal(ml_seal_open(&k, "bob", 3, u, out, sizeof out), ML_EINVAL);
	assert_int_equal(ml_seal_open(&k, "bob", 3, "", out, sizeof out), ML_EINVAL);
	assert_int_equal(ml_seal_open(&k, "bob", 3, "12345.6", out, sizeof out), ML_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
