#include "learn.h"

#include <string.h>

#define LIT(s) (s), (sizeof(s) - 1)

static const char *find(const char *p, const char *e, const char *lit, size_t n)
{
	if (p >= e || (size_t)(e - p) < n)
		return NULL;
	return memmem(p, (size_t)(e - p), lit, n);
}

static int is_rspamd(ml_slice_t program)
{
	const char *p = program.p ? program.p : "";
	size_t n = program.n;
	const char *b = memchr(p, '[', n);
	if (b)
		n = (size_t)(b - p);
	const char *slash = n ? memrchr(p, '/', n) : NULL;
	if (slash) {
		n -= (size_t)(slash + 1 - p);
		p = slash + 1;
	}
	return (n == 6 && !memcmp(p, "rspamd", 6)) || (n == 12 && !memcmp(p, "rspamd_proxy", 12));
}

/* "rspamd_controller_learn_fin_task: <IP> learned message as CLASS: MSGID" */
static int parse_rspamd(const char *p, const char *e, ml_event_t *ev)
{
	static const char fn[] = "rspamd_controller_learn_fin_task: ";
	const char *q = find(p, e, LIT(fn));
	if (!q)
		return 0;
	q += sizeof fn - 1;
	const char *ip = NULL, *ipe = NULL;
	if (q < e && *q == '<') {
		ip = q + 1;
		ipe = memchr(ip, '>', (size_t)(e - ip));
		if (!ipe)
			return 0;
		q = ipe + 1;
		while (q < e && *q == ' ')
			q++;
	}
	static const char learned[] = "learned message as ";
	if ((size_t)(e - q) < sizeof learned - 1 || memcmp(q, learned, sizeof learned - 1))
		return 0;
	q += sizeof learned - 1;
	int spam;
	if ((size_t)(e - q) >= 6 && !memcmp(q, "spam: ", 6)) {
		spam = 1;
		q += 6;
	} else if ((size_t)(e - q) >= 5 && !memcmp(q, "ham: ", 5)) {
		spam = 0;
		q += 5;
	} else {
		return 0;
	}
	if (!spam)
		return 0;   /* out of Junk: no report made or undone; the filters' SKIP "rspamd" */
	const char *id = q, *ide = e;
	while (ide > id && ide[-1] == ' ')
		ide--;
	if (ide - id >= 2 && *id == '<' && ide[-1] == '>') {
		id++;
		ide--;
	}
	if (id == ide || (ide - id == 5 && !memcmp(id, "undef", 5)) || memchr(id, ' ', (size_t)(ide - id)))
		return 0;   /* no Message-ID header: nothing to join (the filters' SKIP "rspamd") */
	ml_event_clear(ev);
	ev->kind = ML_EV_REPORT;
	ev->reason = ML_LEARN_SOURCE_RSPAMD;
	ev->verdict = ml_slice_cstr("spam");
	ev->msgid = ml_slice(id, (size_t)(ide - id));
	if (ip)
		ev->client_ip = ml_slice(ip, (size_t)(ipe - ip));
	return 1;
}

int ml_learn_parse(ml_slice_t program, ml_slice_t msg, ml_event_t *ev)
{
	const char *p = msg.p ? msg.p : "";
	const char *e = p + (msg.p ? msg.n : 0);
	while (e > p && (e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (is_rspamd(program))
		return parse_rspamd(p, e, ev);
	return 0;
}
