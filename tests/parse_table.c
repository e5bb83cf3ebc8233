/*
 * parse_table.c — the runner of the parser tests' tables (tests/parse_table.h).
 */
#include "tests/parse_table.h"
#include "testlib.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rcpts.h"

/* The slices of ml_event_t, by name; sep: how a recipient list splits
 * (ml_rcpts_next), 0 for a slice that is no list. */
static const struct {
	const char *name;
	size_t off;
	char sep;
} PT_SLICES[] = {
#define S(f) { #f, offsetof(ml_event_t, f), 0 }
#define L(f, sep) { #f, offsetof(ml_event_t, f), (sep) }
	S(qid), S(other_qid), S(from), S(to), S(orig_to), S(relay), S(dsn), S(reason_text), S(msgid),
	S(header_name), S(subject), S(client_name), S(client_ip), S(sasl_user), S(helo), S(proto),
	L(rcpt_list, ' '), S(router), S(transport), S(verdict), L(filter_rcpts, ','), S(quarantine),
	S(score), L(to_list, ','),
#undef S
#undef L
};

/* The items of a recipient list as ml_rcpts_next yields them, joined by
 * '|', into out (cut at cap). */
static void pt_items(ml_slice_t list, char sep, char *out, size_t cap)
{
	size_t o = 0;
	ml_slice_t a;
	out[0] = '\0';
	while (ml_rcpts_next(&list, sep, &a)) {
		int w = snprintf(out + o, cap - o, "%s%.*s", o ? "|" : "", (int)a.n, a.p ? a.p : "");
		if (w < 0 || (size_t)w >= cap - o)
			return;
		o += (size_t)w;
	}
}

/* A slice field: "NAME" (equal), "NAME^" (starts with), "NAME[]" (the
 * list's items).  1 when f names a slice (checked), 0 when not. */
static int pt_check_slice(const tl_pt_row_t *r, const ml_event_t *ev, const tl_pt_field_t *f)
{
	size_t n = strlen(f->name);
	int prefix = n > 1 && f->name[n - 1] == '^';
	int items = n > 2 && !strcmp(f->name + n - 2, "[]");
	size_t base = n - (size_t)prefix - (items ? 2 : 0);
	for (size_t i = 0; i < ML_ARRAY_LEN(PT_SLICES); i++) {
		if (strlen(PT_SLICES[i].name) != base || memcmp(f->name, PT_SLICES[i].name, base) != 0)
			continue;
		const ml_slice_t *s = (const ml_slice_t *)((const char *)ev + PT_SLICES[i].off);
		if (items) {
			if (!PT_SLICES[i].sep)
				fail_msg("line %d: %s is no list", r->line, PT_SLICES[i].name);
			char got[1024];
			pt_items(*s, PT_SLICES[i].sep, got, sizeof got);
			if (strcmp(got, f->want))
				fail_msg("line %d: %s: got [%s], want [%s]", r->line, f->name, got, f->want);
		} else if (prefix ? !ml_slice_starts(*s, f->want) : !tl_slice_is(*s, f->want)) {
			fail_msg("line %d: %s: got [%.*s], want %s[%s]", r->line, f->name, (int)s->n,
			         s->p ? s->p : "", prefix ? "a start of " : "", f->want);
		}
		return 1;
	}
	return 0;
}

static void pt_check(const tl_pt_row_t *r, const ml_event_t *ev, const tl_pt_field_t *f)
{
	if (pt_check_slice(r, ev, f))
		return;
	unsigned long long got;
	if (!strcmp(f->name, "size"))
		got = ev->size;
	else if (!strcmp(f->name, "nrcpt"))
		got = ev->nrcpt;
	else if (!strcmp(f->name, "delay_ms"))
		got = ev->delay_ms;
	else if (!strcmp(f->name, "from_set"))
		got = (unsigned)ev->from_set;
	else if (!strcmp(f->name, "subject_escaped"))
		got = (unsigned)ev->subject_escaped;
	else if (!strcmp(f->name, "local_delivery"))
		got = (unsigned)ev->local_delivery;
	else if (!strcmp(f->name, "status")) {
		if (strcmp(ml_status_name(ev->status), f->want))
			fail_msg("line %d: status %s, want %s", r->line, ml_status_name(ev->status), f->want);
		return;
	} else if (!strcmp(f->name, "reason")) {
		if (!ev->reason || strcmp(ev->reason, f->want))
			fail_msg("line %d: reason %s, want %s", r->line, ev->reason ? ev->reason : "-", f->want);
		return;
	} else {
		fail_msg("line %d: no field %s", r->line, f->name);
		return;
	}
	if (got != strtoull(f->want, NULL, 10))
		fail_msg("line %d: %s: got %llu, want %s", r->line, f->name, got, f->want);
}

void tl_pt_run(const tl_pt_row_t *rows, size_t n, tl_pt_parse_fn parse, const char *(*kind_name)(ml_event_kind_t))
{
	for (size_t i = 0; i < n; i++) {
		const tl_pt_row_t *r = &rows[i];
		ml_event_t ev;
		parse(r->program, r->msg, &ev);
		if (r->kind != TL_ANY_KIND && ev.kind != r->kind) {
			if (kind_name)
				fail_msg("line %d: kind %s (reason %s), want %s", r->line, kind_name(ev.kind),
				         ev.reason ? ev.reason : "-", kind_name(r->kind));
			fail_msg("line %d: kind %d (reason %s), want %d", r->line, ev.kind, ev.reason ? ev.reason : "-",
			         r->kind);
		}
		for (size_t k = 0; k < TL_PT_FIELDS && r->f[k].name; k++)
			pt_check(r, &ev, &r->f[k]);
	}
}
