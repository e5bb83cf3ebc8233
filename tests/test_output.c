/* Unit tests for tools/output: durations as a person reads them (the delay
 * of a recipient in `show`, the age of the newest message in `stats`). */
#include "testlib.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations),
	};
	return TL_RUN_DEFAULT("output", tests, NULL, NULL);
}
