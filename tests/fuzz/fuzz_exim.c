/*
 * fuzz_exim.c — libFuzzer target for the Exim parser.
 *
 * The input is one line, copied to an exactly-sized heap block so that ASan
 * sees any read past its end.  It goes through ml_exim_parse_line; the
 * message part it yields (or, when the line is not Exim's format, the whole
 * input, as a syslog message part would be) goes through ml_exim_parse, and
 * an escaped subject through ml_exim_unescape_subject.  Invariants checked on
 * every run, any violation aborts: the kind and status are in range; SKIP and
 * UNKNOWN carry a reason and no queue ID; every slice of the event lies
 * inside the message (but the parser's one static reason); a queue ID has an
 * Exim message ID's shape; kinds about a message carry one; NOQUEUE_REJECT
 * carries none and is blocked.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_exim.c engine/exim.c engine/util.c -o fuzz_exim
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/exim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(ml_slice_t s, const char *m, size_t n)
{
	if (s.n == 0)
		return 1;
	if (s.n == 25 && s.p && memcmp(s.p, "delivery suppressed by -N", 25) == 0 &&
	    !(s.p >= m && s.p + s.n <= m + n))
		return 1;  /* the static reason of "*>" lines */
	return s.p && s.p >= m && s.p + s.n <= m + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);

	ml_exim_time_t t;
	ml_exim_time_init(&t);
	ml_slice_t msg;
	int rc = ml_exim_parse_line(line, size, &t, &msg);
	if (rc > 0 && rc != ML_EXIM_CONTINUATION)
		abort();
	if (rc >= 0 && !inside(msg, line, size))
		abort();
	if (rc == 0 && !inside(t.pid, line, size))
		abort();
	if (rc < 0)
		msg = ml_slice(line, size);

	ml_event_t ev;
	ml_exim_parse(msg, &ev);
	if ((unsigned)ev.kind > ML_EV_ARRIVAL || (unsigned)ev.status >= ML_ST__COUNT)
		abort();
	if (ev.kind == ML_EV_SKIP || ev.kind == ML_EV_UNKNOWN) {
		if (!ev.reason || ev.qid.n)
			abort();
	}
	const ml_slice_t s[] = {
		ev.qid, ev.other_qid, ev.from, ev.to, ev.orig_to, ev.relay, ev.dsn, ev.reason_text,
		ev.msgid, ev.header_name, ev.subject, ev.client_name, ev.client_ip, ev.sasl_user, ev.helo,
		ev.proto, ev.rcpt_list, ev.router, ev.transport,
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (!inside(s[i], msg.p, msg.n))
			abort();
	if (ev.qid.n && !ml_exim_is_msgid(ev.qid))
		abort();
	if (ev.other_qid.n && !ml_exim_is_msgid(ev.other_qid))
		abort();
	switch (ev.kind) {
	case ML_EV_ARRIVAL: case ML_EV_DELIVERY: case ML_EV_REMOVED: case ML_EV_HOLD:
	case ML_EV_RELEASED: case ML_EV_DELETED: case ML_EV_RCPT_REJECT: case ML_EV_INFO:
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
	if (ev.subject_escaped) {
		ml_buf_t b = ML_BUF_INIT;
		if (ml_exim_unescape_subject(&b, ev.subject.p, ev.subject.n) != 0 || b.len > ev.subject.n)
			abort();
		ml_buf_free(&b);
	}
	free(line);
	return 0;
}
