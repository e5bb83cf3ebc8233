/* Unit tests for tools/output: durations as a person reads them (the delay
 * of a recipient in `show`, the age of the newest message in `stats`); the
 * rows written by hand (ml_row_json_write) byte for byte as jansson writes
 * ml_row_json. */
#include "testlib.h"

#include <jansson.h>

#include "tools/output.h"

static void durations(void **state)
{
	(void)state;
	static const struct {
		double seconds;
		const char *want;
	} cases[] = {
		{ 0, "0 s" }, { 0.05, "0.05 s" }, { 0.35, "0.35 s" }, { 1, "1 s" }, { 1.1, "1.1 s" },
		{ 9.96, "10 s" }, { 31, "31 s" }, { 95, "95 s" }, { 119, "119 s" }, { 120, "2 min" },
		{ 150, "2.5 min" }, { 2150, "35 min" }, { 7199, "119 min" }, { 7200, "2 h" },
		{ 19800, "5.5 h" }, { 172799, "47 h" }, { 172800, "2 d" }, { 777600, "9 d" },
		{ 2733200, "31 d" }, { 400 * 86400.0, "400 d" }, { -5, "0 s" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		char got[32];
		ml_out_duration(cases[i].seconds, got, sizeof got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%g s: got \"%s\", want \"%s\"", cases[i].seconds, got, cases[i].want);
	}
}

/* ml_row_json_write against jansson's compact dump of ml_row_json. */
static void same_row(const ml_message_t *m, int row, ml_buf_t *b, ml_buf_t *tmp, const char *what)
{
	ml_buf_reset(b);
	assert_int_equal(ml_row_json_write(b, tmp, m, row), 0);
	json_t *j = ml_row_json(m, row);
	char *want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(j);
	if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
		fail_msg("%s:\n got %.*s\nwant %s", what, (int)b->len, b->data, want);
	free(want);
}

static void rows_as_jansson_writes_them(void **state)
{
	(void)state;
	ml_message_t m;
	ml_message_init(&m);
	static const char *const texts[] = {
		"", "plain", "with \"quotes\" and \\", "tab\there", "nl\nand\rcr", "\x01\x1f\x7f",
		"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "bad \xff\xfe utf-8", "\xc3", "=cmd|' /C calc'!A0",
	};
	ml_buf_t b = ML_BUF_INIT, tmp = ML_BUF_INIT;
	assert_int_equal(ml_message_add_rcpt(&m), 0);
	for (size_t i = 0; i < ML_ARRAY_LEN(texts); i++) {
		const char *t = texts[i];
		assert_int_equal(ml_message_set(&m, &m.subject, t, strlen(t)), 0);
		assert_int_equal(ml_message_set(&m, &m.from, t, strlen(t)), 0);
		assert_int_equal(ml_message_set(&m, &m.rcpts[0].reason, t, strlen(t)), 0);
		m.rcpts[0].status = ML_ST_DELIVERED;
		same_row(&m, 0, &b, &tmp, t);
		same_row(&m, -1, &b, &tmp, t);
	}
	/* each byte that needs escaping or sanitizing at each place of a text
	 * longer than the 8 bytes that are looked at together */
	static const char *const odd[] = { "\x01", "\x1f", "\"", "\\", "\x7f", "\x80", "\xc3\xa9", "\xff", "\n" };
	for (size_t i = 0; i < ML_ARRAY_LEN(odd); i++)
		for (size_t at = 0; at <= 20; at++) {
			char t[40];
			memset(t, 'a' + (int)(at % 26), sizeof t);
			size_t k = strlen(odd[i]);
			memcpy(t + at, odd[i], k);
			size_t n = ML_MAX(at + k, 21);
			assert_int_equal(ml_message_set(&m, &m.subject, t, n), 0);
			m.flags = (uint32_t)(at % 4 == 1 ? ML_MSG_RELEASED : at % 4 == 2 ? ML_MSG_REPORTED : 0);
			same_row(&m, 0, &b, &tmp, "a byte of odd[] in a longer text");
		}
	m.flags = 0;
	/* every delay to the millisecond up to 1200 s, then larger ones */
	for (uint32_t ms = 0; ms < 1200000; ms++) {
		m.rcpts[0].delay_ms = ms;
		ml_buf_reset(&b);
		assert_int_equal(ml_row_json_write(&b, &tmp, &m, 0), 0);
		char *got = strstr(b.data, "\"delay\":");
		assert_non_null(got);
		got += 8;
		char want[64];
		json_t *r = json_real(ms / 1000.0);
		char *w = json_dumps(r, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
		snprintf(want, sizeof want, "%s,", w);
		free(w);
		json_decref(r);
		if (strncmp(got, want, strlen(want)) != 0)
			fail_msg("delay %u ms: got %.12s, want %s", ms, got, want);
	}
	static const uint32_t big[] = { 1200000, 3599999, 86400000, 432000123, 4294967295u };
	static const uint64_t sizes[] = { 0, 1, 9, 10, 1234567, 9223372036854775807ull };
	static const int64_t times[] = { 0, 1, 951782400000000, 1798761599999999, 253402300799000000, -1000000 };
	for (size_t i = 0; i < ML_ARRAY_LEN(big); i++) {
		m.rcpts[0].delay_ms = big[i];
		m.size = sizes[i % ML_ARRAY_LEN(sizes)];
		m.first_us = times[i % ML_ARRAY_LEN(times)];
		m.docid = (uint64_t)times[i % ML_ARRAY_LEN(times)] ^ big[i];
		same_row(&m, 0, &b, &tmp, "delay, size, time");
	}
	for (size_t i = 0; i < ML_ARRAY_LEN(sizes); i++) {
		m.size = sizes[i];
		m.first_us = times[i];
		m.docid = sizes[i];
		same_row(&m, 0, &b, &tmp, "size, time");
	}
	ml_buf_free(&b);
	ml_buf_free(&tmp);
	ml_message_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations),
		cmocka_unit_test(rows_as_jansson_writes_them),
	};
	return TL_RUN_DEFAULT("output", tests, NULL, NULL);
}
