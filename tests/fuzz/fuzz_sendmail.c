/*
 * fuzz_sendmail.c — libFuzzer target for the Sendmail parser.
 *
 * The input is one line, copied to an exactly-sized heap block so that ASan
 * sees any read past its end.  It goes through ml_sendmail_parse twice: as a
 * whole (a message part), and, when it holds "]: " (a syslog line), from
 * after it.  Invariants checked on every run, any violation aborts: the kind
 * and status are in range; SKIP and UNKNOWN carry a reason and no queue ID;
 * every slice of the event lies inside the message; a queue ID (and
 * other_qid) has a Sendmail queue ID's shape; kinds about a message carry
 * one; NOQUEUE_REJECT carries none and is blocked; walking to_list with
 * ml_rcpts_next stays inside it, ends, and yields `to` first on a
 * delivery; ml_sendmail_is_program never reads past its slice.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_sendmail.c engine/sendmail.c engine/util.c -o fuzz_sendmail
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/rcpts.h"
#include "engine/sendmail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(ml_slice_t s, const char *m, size_t n)
{
	return s.n == 0 || (s.p && s.p >= m && s.p + s.n <= m + n);
}

static void check(const char *m, size_t n)
{
	ml_event_t ev;
	ml_sendmail_parse(ml_slice(m, n), &ev);
	if ((unsigned)ev.kind > ML_EV_FILTER || (unsigned)ev.status >= ML_ST__COUNT)
		abort();
	if (ev.kind == ML_EV_SKIP || ev.kind == ML_EV_UNKNOWN) {
		if (!ev.reason || ev.qid.n)
			abort();
	}
	const ml_slice_t s[] = {
		ev.qid, ev.other_qid, ev.from, ev.to, ev.orig_to, ev.relay, ev.dsn, ev.reason_text,
		ev.msgid, ev.header_name, ev.subject, ev.client_name, ev.client_ip, ev.sasl_user, ev.helo,
		ev.proto, ev.rcpt_list, ev.router, ev.transport, ev.verdict, ev.filter_rcpts, ev.quarantine,
		ev.score, ev.to_list,
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (!inside(s[i], m, n))
			abort();
	if (ev.qid.n && !ml_sendmail_is_qid(ev.qid))
		abort();
	if (ev.other_qid.n && !ml_sendmail_is_qid(ev.other_qid))
		abort();
	switch (ev.kind) {
	case ML_EV_ARRIVAL: case ML_EV_DELIVERY: case ML_EV_REMOVED: case ML_EV_HOLD: case ML_EV_CLIENT:
	case ML_EV_RELEASED: case ML_EV_RCPT_REJECT: case ML_EV_INFO: case ML_EV_BOUNCE_NDN:
		if (!ev.qid.n)
			abort();
		break;
	case ML_EV_NOQUEUE_REJECT:
		if (ev.qid.n || ev.status != ML_ST_BLOCKED)
			abort();
		break;
	default:
		break;
	}
	ml_slice_t list = ev.to_list, a;
	size_t steps = 0;
	while (ml_rcpts_next(&list, ',', &a)) {
		if (!a.n || !inside(a, ev.to_list.p, ev.to_list.n) || ++steps > ev.to_list.n)
			abort();
		if (steps == 1 && ev.kind == ML_EV_DELIVERY && (a.p != ev.to.p || a.n != ev.to.n))
			abort();
	}
	if (ev.kind == ML_EV_DELIVERY && ev.to_list.n && !steps && ev.to.n)
		abort();
	(void)ml_sendmail_is_program(ml_slice(m, n < 32 ? n : 32));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	check(line, size);
	const char *t = size >= 3 ? memmem(line, size, "]: ", 3) : NULL;
	if (t)
		check(t + 3, size - (size_t)(t + 3 - line));
	free(line);
	return 0;
}
