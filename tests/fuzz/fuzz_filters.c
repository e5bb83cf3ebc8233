/*
 * fuzz_filters.c — libFuzzer target for ml_filters_parse.
 *
 * When the input is a syslog line whose program token (one of its first
 * eight tokens, ending in ':') is a filter program, that program and the text
 * after it are parsed, so that real log lines replay as they are ingested.
 * Otherwise the first byte picks the program tag from a fixed list (every
 * program the parser knows, one with a pid, one path, one unknown) and the
 * rest is the message part.  The input is copied to an exactly-sized heap
 * block so that ASan sees any read past its end.  Invariants checked on every
 * run, any violation aborts: the kind is UNKNOWN, SKIP or FILTER and the
 * status is in range; SKIP and UNKNOWN carry a reason and no queue ID; every
 * slice of the event lies inside the message (but spamd's two static
 * verdicts); a FILTER event carries a queue ID, a message-id or a new queue
 * ID; queue IDs have the accepted shape; a recipient list splits into
 * addresses inside it.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_filters.c engine/filters.c engine/util.c -o fuzz_filters
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/rcpts.h"
#include "engine/filters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PROGRAMS[] = {
	"amavis", "amavisd", "amavisd-new", "rspamd", "rspamd_proxy", "spamd", "clamav-milter",
	"opendkim", "opendmarc", "policyd-spf", "MailScanner", "amavis[4242]", "/usr/sbin/amavisd",
	"postfix/smtpd",
};

static int inside(ml_slice_t s, const char *m, size_t n)
{
	if (s.n == 0)
		return 1;
	if (s.p && s.p >= m && s.p + s.n <= m + n)
		return 1;
	return s.p && ((s.n == 4 && !memcmp(s.p, "spam", 4)) || (s.n == 5 && !memcmp(s.p, "clean", 5)));
}

/* The program token of a syslog line and the message after it. */
static int split_syslog(const char *l, size_t n, ml_slice_t *prog, ml_slice_t *msg)
{
	size_t i = 0;
	for (int tok = 0; tok < 8 && i < n; tok++) {
		while (i < n && l[i] == ' ')
			i++;
		size_t s = i;
		while (i < n && l[i] != ' ')
			i++;
		if (i - s >= 2 && l[i - 1] == ':' && ml_filters_is_program(ml_slice(l + s, i - s - 1))) {
			*prog = ml_slice(l + s, i - s - 1);
			if (i < n)
				i++;
			*msg = ml_slice(l + i, n - i);
			return 1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = malloc(size ? size : 1);
	if (!m)
		return 0;
	memcpy(m, data, size);
	ml_slice_t prog, msg;
	if (!split_syslog(m, size, &prog, &msg)) {
		if (size == 0) {
			free(m);
			return 0;
		}
		prog = ml_slice_cstr(PROGRAMS[(unsigned char)m[0] % (sizeof PROGRAMS / sizeof PROGRAMS[0])]);
		msg = ml_slice(m + 1, size - 1);
	}

	ml_event_t ev;
	ml_filters_parse(prog, msg, &ev);

	if ((ev.kind != ML_EV_UNKNOWN && ev.kind != ML_EV_SKIP && ev.kind != ML_EV_FILTER) ||
	    (unsigned)ev.status >= ML_ST__COUNT)
		abort();
	if (ev.kind == ML_EV_SKIP || ev.kind == ML_EV_UNKNOWN) {
		if (!ev.reason || ev.qid.n)
			abort();
	}
	const ml_slice_t s[] = {
		ev.qid, ev.other_qid, ev.from, ev.to, ev.orig_to, ev.relay, ev.dsn, ev.reason_text,
		ev.msgid, ev.header_name, ev.subject, ev.client_name, ev.client_ip, ev.sasl_user, ev.helo,
		ev.proto, ev.rcpt_list, ev.router, ev.transport, ev.verdict, ev.filter_rcpts,
		ev.quarantine, ev.score,
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (!inside(s[i], msg.p, msg.n))
			abort();
	if (ev.kind == ML_EV_FILTER && !ev.qid.n && !ev.msgid.n && !ev.other_qid.n)
		abort();
	if (ev.qid.n && !ml_filters_is_qid(ev.qid))
		abort();
	if (ev.other_qid.n && !ml_filters_is_qid(ev.other_qid))
		abort();
	ml_slice_t list = ev.filter_rcpts, a;
	size_t guard = 0;
	while (ml_rcpts_next(&list, ',', &a)) {
		if (!inside(a, ev.filter_rcpts.p, ev.filter_rcpts.n) || ++guard > ev.filter_rcpts.n)
			abort();
	}
	free(m);
	return 0;
}
