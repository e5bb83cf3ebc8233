/*
 * fuzz_syslog.c — libFuzzer target for the syslog header parser and the
 * user time parser.
 *
 * The input is one line, copied to an exactly-sized heap block so that ASan
 * sees any read past its end.  It goes through ml_syslog_parse with two
 * contexts: the year inferred from a reference time, and a forced year.
 * Invariants checked on every run, any violation aborts: the result is 0 or
 * ML_EPARSE; a failure names one of the documented reasons; on success the
 * host, program, pid and message slices lie inside the line, in that order,
 * the program is not empty and the pid is digits; a time of years 1 to 9999
 * formats (ml_time_format) to an RFC 3339 string that ml_time_parse_user
 * reads back to the same second.  The line, NUL-terminated, also goes through
 * ml_time_parse_user (a --since value), which must answer 0 or ML_EINVAL.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_syslog.c engine/syslog.c engine/timeconv.c engine/util.c -o fuzz_syslog
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const REASONS[] = {
	"no timestamp", "bad timestamp", "no host", "no program tag", "bad priority", "bad version",
	"no procid", "no msgid", "no structured data", "bad structured data",
};

static int inside(ml_slice_t s, const char *m, size_t n)
{
	return s.n == 0 || (s.p && s.p >= m && s.p + s.n <= m + n);
}

static void check(ml_syslog_ctx_t *ctx, const char *m, size_t n)
{
	ml_syslog_t h;
	const char *why = NULL;
	int rc = ml_syslog_parse(ctx, m, n, &h, &why);
	if (rc == ML_EPARSE) {
		size_t i = 0;
		while (why && i < sizeof REASONS / sizeof REASONS[0] && strcmp(why, REASONS[i]))
			i++;
		if (!why || i == sizeof REASONS / sizeof REASONS[0])
			abort();
		return;
	}
	if (rc != 0)
		abort();
	if (!inside(h.host, m, n) || !inside(h.program, m, n) || !inside(h.pid, m, n) || !inside(h.msg, m, n))
		abort();
	if (!h.program.n)
		abort();
	for (size_t i = 0; i < h.pid.n; i++)
		if (h.pid.p[i] < '0' || h.pid.p[i] > '9')
			abort();
	if (h.host.n && h.program.p < h.host.p + h.host.n)
		abort();
	if (h.msg.n && h.msg.p < h.program.p + h.program.n)
		abort();
	/* 0001-01-01 .. 9999-12-31 */
	if (h.time_us >= -62135596800LL * 1000000 && h.time_us < 253402300800LL * 1000000) {
		char buf[64];
		ml_time_format(h.time_us, buf, sizeof buf);
		int64_t back;
		int64_t sec = h.time_us / 1000000 - (h.time_us % 1000000 < 0);
		if (h.time_us >= 0 && (ml_time_parse_user(buf, 0, &back) != 0 || back != sec * 1000000))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	ml_syslog_ctx_t inferred, forced;
	ml_syslog_ctx_init(&inferred, 1772539200, 0);  /* 2026-03-03 */
	ml_syslog_ctx_init(&forced, 0, 2024);
	check(&inferred, line, size);
	check(&forced, line, size);
	free(line);
	/* the same bytes as a --since value */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t us;
	int rc = ml_time_parse_user(s, 1772539200, &us);
	if (rc != 0 && rc != ML_EINVAL)
		abort();
	free(s);
	return 0;
}
