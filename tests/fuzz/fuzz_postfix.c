/*
 * fuzz_postfix.c — libFuzzer target for ml_postfix_parse.
 *
 * The first input byte picks the program tag from a fixed list (every
 * daemon the parser knows, a multi-instance and a per-service tag, one
 * unknown daemon); the rest is the message part, copied to an exactly-sized
 * heap block so that ASan sees any read past its end.  Invariants checked on
 * every run, any violation aborts: the kind and status are in range; SKIP and
 * UNKNOWN carry a reason and no queue ID; every slice of the event lies
 * inside the message; a queue ID has a queue ID's shape; kinds about a
 * message carry one.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_postfix.c engine/postfix.c engine/util.c -o fuzz_postfix
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/postfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PROGRAMS[] = {
	"postfix/smtpd", "postfix/submission/smtpd", "postfix/postscreen", "postfix/cleanup",
	"postfix/qmgr", "postfix/oqmgr", "postfix/smtp", "postfix-out/smtp", "postfix/lmtp",
	"postfix/local", "postfix/virtual", "postfix/pipe", "postfix/error", "postfix/discard",
	"postfix/retry", "postfix/relay", "postfix/bounce", "postfix/postsuper", "postfix/pickup",
	"postfix/dnsblog", "postfix/anvil", "postfix/tlsproxy", "postfix/master", "postfix/verify",
	"postfix/qmqpd", "postfix/nonesuch", "", "postfix/smtpd[1234]",
};

static int inside(ml_slice_t s, const char *m, size_t n)
{
	return s.n == 0 || (s.p && s.p >= m && s.p + s.n <= m + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *prog = PROGRAMS[data[0] % (sizeof PROGRAMS / sizeof PROGRAMS[0])];
	size_t n = size - 1;
	char *m = malloc(n ? n : 1);
	if (!m)
		return 0;
	memcpy(m, data + 1, n);

	ml_event_t ev;
	ml_postfix_parse(ml_slice_cstr(prog), ml_slice(m, n), &ev);

	if ((unsigned)ev.kind > ML_EV_INFO || (unsigned)ev.status >= ML_ST__COUNT)
		abort();
	if (ev.kind == ML_EV_SKIP || ev.kind == ML_EV_UNKNOWN) {
		if (!ev.reason || ev.qid.n)
			abort();
	}
	const ml_slice_t s[] = {
		ev.qid, ev.other_qid, ev.from, ev.to, ev.orig_to, ev.relay, ev.dsn, ev.reason_text,
		ev.msgid, ev.header_name, ev.subject, ev.client_name, ev.client_ip, ev.sasl_user, ev.helo,
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (!inside(s[i], m, n))
			abort();
	if (ev.qid.n && !ml_postfix_is_qid(ev.qid))
		abort();
	if (ev.other_qid.n && !ml_postfix_is_qid(ev.other_qid))
		abort();
	switch (ev.kind) {
	case ML_EV_CLIENT: case ML_EV_PICKUP: case ML_EV_MSGID: case ML_EV_HEADER:
	case ML_EV_HOLD: case ML_EV_CLEANUP_REJECT: case ML_EV_QMGR_FROM: case ML_EV_REMOVED:
	case ML_EV_EXPIRED: case ML_EV_DELIVERY: case ML_EV_RCPT_REJECT: case ML_EV_BOUNCE_NDN:
	case ML_EV_RELEASED: case ML_EV_DELETED: case ML_EV_INFO:
		/* smtpd's proxy-reject carries no queue ID but is a NOQUEUE_REJECT. */
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
	free(m);
	return 0;
}
