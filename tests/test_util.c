/* Unit tests for engine/util: buffers, varints, UTF-8 sanitizing. */
#include "testlib.h"

#include "engine/util.h"

static void varint_roundtrip(void **state)
{
	(void)state;
	uint64_t vals[] = { 0, 1, 127, 128, 300, 1ull << 32, UINT64_MAX };
	ml_buf_t b = ML_BUF_INIT;
	for (size_t i = 0; i < ML_ARRAY_LEN(vals); i++)
		assert_int_equal(ml_buf_put_varint(&b, vals[i]), 0);
	const unsigned char *p = (const unsigned char *)b.data, *end = p + b.len;
	for (size_t i = 0; i < ML_ARRAY_LEN(vals); i++) {
		uint64_t v;
		assert_int_equal(ml_get_varint(&p, end, &v), 0);
		assert_true(v == vals[i]);
	}
	uint64_t v;
	assert_int_equal(ml_get_varint(&p, end, &v), ML_ECORRUPT);
	/* A truncated varint is corrupt, not a read past the end. */
	unsigned char bad[2] = { 0x80, 0x80 };
	p = bad;
	assert_int_equal(ml_get_varint(&p, bad + 2, &v), ML_ECORRUPT);
	ml_buf_free(&b);
}

static void utf8_sanitize(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	const char in[] = "caf\xc3\xa9 \xff\x00x\xe2\x82";
	assert_int_equal(ml_utf8_sanitize(&b, in, sizeof in - 1), 0);
	assert_string_equal(ml_buf_cstr(&b), "caf\xc3\xa9 \xef\xbf\xbd?x\xef\xbf\xbd\xef\xbf\xbd");
	assert_true(ml_utf8_valid(b.data, b.len));
	/* tabs stay; DEL and other controls at either end of an ASCII run go */
	ml_buf_reset(&b);
	const char in2[] = "\x1b" "a\tb\x7f" "\xc3\xa9" "c\r";
	assert_int_equal(ml_utf8_sanitize(&b, in2, sizeof in2 - 1), 0);
	assert_string_equal(ml_buf_cstr(&b), "?a\tb?\xc3\xa9" "c?");
	assert_false(ml_utf8_valid("\xc0\xaf", 2)); /* overlong */
	assert_false(ml_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	ml_buf_free(&b);
}

static void buf_cap(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	assert_int_equal(ml_buf_reserve(&b, ML_BUF_MAX + 1), ML_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(ml_buf_printf(&b, "%s-%d", "abc", 42), 0);
	assert_string_equal(ml_buf_cstr(&b), "abc-42");
	ml_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(varint_roundtrip),
		cmocka_unit_test(utf8_sanitize),
		cmocka_unit_test(buf_cap),
	};
	return TL_RUN_DEFAULT("util", tests, NULL, NULL);
}
