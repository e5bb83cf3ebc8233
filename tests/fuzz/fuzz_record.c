/*
 * fuzz_record.c — libFuzzer target for the stored forms a search and `show`
 * read back (index/record.h, index/strtab.h): row records, raw records, raw
 * blocks and string tables.  A corrupt database must give an error, never a
 * crash.
 *
 * The first byte picks what the rest is:
 *   0  a row record, decoded with a fixed string table (the table of
 *      tl-like messages built at the first call) and docid 1 << 40, whole
 *      and then as a search of a domain decodes it (ml_row_filter_t);
 *   1  a row record decoded without a table, the same two ways;
 *   2  a raw record or raw block, decoded against a fixed message's row;
 *   3  a string table: viewed, and every entry of every class looked up;
 *   4  the plain form of a message (ml_record_from_plain).
 * Invariants, any violation aborts: the result is 0, ML_ECORRUPT or (2 only)
 * ML_ENOTFOUND; a row that decodes encodes again to bytes that decode to the
 * same fields (the encoding is stable); a row that decodes whole decodes
 * with a filter, the rows of the filter's domain with their addresses (and
 * their text when wanted), the others without, and no row not wanted with
 * its text; a string table that views gives
 * entries inside its bytes.
 *
 * Linked with tests/fuzz/replay.c instead of libFuzzer, it replays files
 * (seeds, crashes) through the same checks: `make check` does that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/record.h"
#include "index/store.h"
#include "index/strtab.h"
#include "index/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ml_strtab_t table;
static ml_codec_t *codec;
static ml_message_t fixed;

static void make(ml_message_t *m, int i)
{
	char buf[128];
	ml_message_init(m);
	m->docid = (uint64_t)1 << 40;
	m->first_us = (int64_t)(m->docid >> 20) * 1000000;
	m->last_us = m->first_us + 1000;
	ml_message_set(m, &m->host, "mx1", 3);
	snprintf(buf, sizeof buf, "%010X", 0x1000 + i);
	ml_message_set(m, &m->queue_id, buf, strlen(buf));
	snprintf(buf, sizeof buf, "sender%d@example.org", i % 5);
	ml_message_set(m, &m->from, buf, strlen(buf));
	snprintf(buf, sizeof buf, "0123abcd-89ef-4a1b-8c2d-%012d@example.org", i);
	ml_message_set(m, &m->message_id, buf, strlen(buf));
	int k = ml_message_add_rcpt(m);
	snprintf(buf, sizeof buf, "user%d@example.com", i % 3);
	ml_message_set(m, &m->rcpts[k].to, buf, strlen(buf));
	snprintf(buf, sizeof buf, "250 2.0.0 <user%d@example.com> Saved", i % 3);
	ml_message_set(m, &m->rcpts[k].reason, buf, strlen(buf));
	m->rcpts[k].status = ML_ST_DELIVERED;
	snprintf(buf, sizeof buf, "Mar  3 10:00:01 mx1 postfix/qmgr[1]: %010X: removed", 0x1000 + i);
	ml_message_add_line(m, buf, strlen(buf), 7);
}

static void setup(void)
{
	ml_message_t ms[40], *v[40];
	for (int i = 0; i < 40; i++) {
		make(&ms[i], i);
		v[i] = &ms[i];
	}
	ml_buf_t out = ML_BUF_INIT;
	if (ml_strtab_train(v, 40, 1, &out) || ml_strtab_copy(&table, out.data, out.len) || ml_strtab_index(&table) ||
	    ml_codec_new(&codec))
		abort();
	ml_buf_free(&out);
	for (int i = 0; i < 40; i++)
		ml_message_free(&ms[i]);
	make(&fixed, 7);
}

static void check_rc(int rc, int notfound_ok)
{
	if (rc != 0 && rc != ML_ECORRUPT && !(notfound_ok && rc == ML_ENOTFOUND)) {
		fprintf(stderr, "fuzz_record: unexpected result %d\n", rc);
		abort();
	}
}

/* A row that decodes encodes again to one that decodes the same. */
static void stable(const ml_strtab_t *t, const ml_message_t *m)
{
	ml_buf_t a = ML_BUF_INIT, b = ML_BUF_INIT;
	ml_message_t again;
	ml_message_init(&again);
	if (ml_row_encode(t, m, &a) || ml_row_locate(&a, m->docid, m->raw_key) ||
	    ml_row_decode(t, a.data, a.len, m->docid, &again) || ml_row_encode(t, &again, &b) ||
	    ml_row_locate(&b, again.docid, again.raw_key) || a.len != b.len || memcmp(a.data, b.data, a.len)) {
		fprintf(stderr, "fuzz_record: a decoded row does not encode stably\n");
		abort();
	}
	ml_buf_free(&a);
	ml_buf_free(&b);
	ml_message_free(&again);
}

/* Every other row wanted whole. */
static int odd_rows(void *ctx, const ml_message_t *m, int row)
{
	(void)ctx;
	(void)m;
	return row % 2;
}

static int same_str(const ml_message_t *a, ml_str_t x, const ml_message_t *b, ml_str_t y)
{
	ml_slice_t u = ml_message_str(a, x), v = ml_message_str(b, y);
	return u.n == v.n && (!u.n || !memcmp(u.p, v.p, u.n));
}

/* The same row decoded with a filter (a search's): no crash whatever the
 * bytes; when the whole row decodes (m, rc 0), the rows of the domain have
 * their addresses as whole, the rows wanted their text, the others
 * nothing. */
static void filtered(const ml_strtab_t *t, const uint8_t *p, size_t n, const ml_message_t *m, int rc)
{
	static const char *const doms[] = { "example.com", "EXAMPLE.org", "b" };
	for (size_t k = 0; k < 3; k++) {
		ml_row_filter_t f = { doms[k], strlen(doms[k]), odd_rows, NULL };
		ml_message_t x;
		ml_message_init(&x);
		int xr = ml_row_decode_some(t, p, n, (uint64_t)1 << 40, &x, ML_DEC_ALL, &f);
		check_rc(xr, 0);
		if (!rc && (xr || x.nrcpts != m->nrcpts)) {
			fprintf(stderr, "fuzz_record: a row that decodes whole does not decode filtered\n");
			abort();
		}
		for (uint32_t i = 0; !rc && i < m->nrcpts; i++) {
			const ml_rcpt_t *a = &m->rcpts[i], *b = &x.rcpts[i];
			int in = ml_addr_in_domain(ml_message_str(m, a->to), f.to_dom, f.to_domn) ||
			         ml_addr_in_domain(ml_message_str(m, a->orig_to), f.to_dom, f.to_domn);
			int ok = in ? same_str(m, a->to, &x, b->to) && same_str(m, a->orig_to, &x, b->orig_to)
			            : !b->to.len && !b->orig_to.len;
			/* (a row of another domain wanted: its reply unmasked with no
			 * recipient, which a search never asks for) */
			if (in && i % 2)
				ok = ok && same_str(m, a->relay, &x, b->relay) && same_str(m, a->dsn, &x, b->dsn) &&
				     same_str(m, a->reason, &x, b->reason);
			else if (!(i % 2))
				ok = ok && !b->relay.len && !b->dsn.len && !b->reason.len;
			if (!ok || a->status != b->status || a->time_us != b->time_us) {
				fprintf(stderr, "fuzz_record: row %u decoded with a filter differs\n", i);
				abort();
			}
		}
		ml_message_free(&x);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!codec)
		setup();
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	ml_message_t m;
	ml_message_init(&m);
	int rc;
	switch (data[0] % 5) {
	case 0:
	case 1: {
		const ml_strtab_t *t = data[0] % 5 ? NULL : &table;
		rc = ml_row_decode(t, p, n, (uint64_t)1 << 40, &m);
		check_rc(rc, 0);
		if (!rc)
			stable(t, &m);
		filtered(t, p, n, &m, rc);
		break;
	}
	case 2:
		{
			ml_buf_t row = ML_BUF_INIT;
			if (ml_row_encode(NULL, &fixed, &row) || ml_row_locate(&row, fixed.docid, 0) ||
			    ml_row_decode(NULL, row.data, row.len, fixed.docid, &m))
				abort();
			ml_buf_free(&row);
		}
		check_rc(ml_raw_decode(codec, p, n, &m), 1);
		break;
	case 3: {
		ml_strtab_t t = ML_STRTAB_INIT;
		rc = ml_strtab_view(&t, p, n);
		check_rc(rc, 0);
		for (int c = 0; !rc && c < ML_SC__COUNT; c++)
			for (uint32_t k = 0; k < t.count[c]; k++) {
				ml_slice_t v;
				if (ml_strtab_get(&t, c, k, &v) ||
				    (v.n && ((const uint8_t *)v.p < p || (const uint8_t *)v.p + v.n > p + n)))
					abort();
			}
		ml_strtab_free(&t);
		break;
	}
	default:
		check_rc(ml_record_from_plain(p, n, &m), 0);
		break;
	}
	ml_message_free(&m);
	return 0;
}
