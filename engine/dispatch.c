#include "dispatch.h"

#include <stdio.h>

#include "engine/filters.h"
#include "engine/postfix.h"
#include "engine/sendmail.h"

/* Mail-related programs whose lines carry nothing mtalog models. */
static const char *const other_programs[] = {
	"dovecot", "spamc", "clamd", "postgrey", "saslauthd", "milter-greylist", "spamass-milter",
	"courier", "imapd", "pop3d", "roundcube", "sympa", NULL
};

static ml_disp_kind_t other_program(ml_slice_t prog, ml_disp_t *out)
{
	size_t n = prog.n;
	for (size_t i = 0; i < prog.n; i++)
		if (prog.p[i] == '/') {
			n = i;
			break;
		}
	for (int i = 0; other_programs[i]; i++)
		if (strlen(other_programs[i]) == n && memcmp(other_programs[i], prog.p, n) == 0) {
			snprintf(out->reason, sizeof out->reason, "%.*s (not parsed)", (int)n, prog.p);
			return ML_DISP_SKIP;
		}
	snprintf(out->reason, sizeof out->reason, "not a mail program");
	return ML_DISP_SKIP;
}

static ml_disp_kind_t say(ml_disp_t *out, ml_disp_kind_t k, const char *reason)
{
	snprintf(out->reason, sizeof out->reason, "%s", reason);
	return k;
}

/* A SKIP or UNKNOWN event, as "family: reason". */
static ml_disp_kind_t event_reason(const ml_event_t *ev, ml_disp_t *out)
{
	int bad = ev->kind == ML_EV_UNKNOWN;
	const char *r = ev->reason ? ev->reason : bad ? "not understood" : "other";
	size_t pn = strlen(out->family);
	/* "exim connection" → "exim: connection"; "postscreen" → "postfix: postscreen" */
	if (!strncmp(r, out->family, pn) && (r[pn] == ' ' || r[pn] == ':'))
		r += pn + (r[pn] == ':' ? 2 : 1);
	snprintf(out->reason, sizeof out->reason, "%s: %s", out->family, r);
	return bad ? ML_DISP_BAD : ML_DISP_SKIP;
}

ml_disp_kind_t ml_dispatch(const ml_disp_ctx_t *dc, const char *line, size_t n, ml_syslog_t *h,
                           ml_event_t *ev, ml_disp_t *out)
{
	const char *p = line;
	out->family = NULL;
	out->reason[0] = '\0';
	while (n && *p == '\0') {
		p++;
		n--;
	}
	out->p = p;
	out->n = n;
	if (n == 0) {
		if (p == line)
			return say(out, ML_DISP_SKIP, "empty line");
		out->p = line;
		out->n = (size_t)(p - line);
		return say(out, ML_DISP_BAD, "NUL bytes only");
	}
	if (memchr(p, '\0', n))
		return say(out, ML_DISP_BAD, "NUL byte inside the line");
	const char *why = "not a syslog line";
	int fmt = dc->format;
	if (ml_syslog_parse(dc->sc, p, n, h, &why) == 0) {
		if (fmt == ML_FORMAT_POSTFIX || (!fmt && ml_postfix_is_program(h->program))) {
			out->family = "postfix";
			ml_postfix_parse(h->program, h->msg, ev);
		} else if (fmt == ML_FORMAT_EXIM || (!fmt && ml_exim_is_program(h->program))) {
			out->family = "exim";
			ml_exim_parse(h->msg, ev);
		} else if (fmt == ML_FORMAT_SENDMAIL || (!fmt && ml_sendmail_is_program(h->program))) {
			out->family = "sendmail";
			ml_sendmail_parse(h->msg, ev);
		} else if (ml_filters_is_program(h->program)) {
			out->family = "filter";
			ml_filters_parse(h->program, h->msg, ev);
		} else {
			return other_program(h->program, out);
		}
	} else {
		/* Exim's own log file: "2024-01-02 03:04:05 [+0100] [pid] ID ..." */
		ml_slice_t msg;
		int er = ml_exim_parse_line(p, n, dc->et, &msg);
		if (er == ML_EXIM_CONTINUATION)
			return say(out, ML_DISP_SKIP, "exim: continuation");
		if (er)
			return say(out, ML_DISP_BAD, why);
		out->family = "exim";
		memset(h, 0, sizeof *h);
		h->time_us = dc->et->time_us;
		h->host = dc->host;
		h->program = ml_slice_cstr("exim");
		h->msg = msg;
		ml_exim_parse(msg, ev);
		if (ev->kind == ML_EV_UNKNOWN) {
			/* rspamd's own log file has the same timestamp */
			ml_event_t fev;
			ml_filters_parse(ml_slice_cstr("rspamd"), msg, &fev);
			if (fev.kind != ML_EV_UNKNOWN) {
				*ev = fev;
				out->family = "filter";
				h->program = ml_slice_cstr("rspamd");
			}
		}
	}
	if (ev->kind == ML_EV_UNKNOWN || ev->kind == ML_EV_SKIP)
		return event_reason(ev, out);
	return ML_DISP_EVENT;
}
