#include "learn.h"

#include <string.h>

#include "scan.h"

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
	const char *q = ML_FIND(p, e, "rspamd_controller_learn_fin_task: ");
	if (!q)
		return 0;
	q = ML_AFTER(q, "rspamd_controller_learn_fin_task: ");
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
	if (!(q = ML_SKIP(q, e, "learned message as ")))
		return 0;
	int spam;
	const char *r;
	if ((r = ML_SKIP(q, e, "spam: "))) {
		spam = 1;
		q = r;
	} else if ((r = ML_SKIP(q, e, "ham: "))) {
		spam = 0;
		q = r;
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
