/*
 * Unit tests for index/: record encoding (round trip, dictionary, corrupt
 * bytes), tokens (words, lowercasing, domains, keys), address matching and
 * query parameters, and the store + writer + query on a scratch database.
 */
#include "testlib.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/message.h"
#include "index/prune.h"
#include "index/query.h"
#include "index/record.h"
#include "index/store.h"
#include "index/tokens.h"
#include "index/writer.h"

static void make_message(ml_message_t *m, int i)
{
	char buf[256];
	ml_message_init(m);
	m->first_us = 1760000000000000LL + (int64_t)i * 1000000;
	m->last_us = m->first_us + 5000000;
	ml_message_set(m, &m->host, "mx1", 3);
	snprintf(buf, sizeof buf, "%010X", 0x1000 + i);
	ml_message_set(m, &m->queue_id, buf, strlen(buf));
	snprintf(buf, sizeof buf, "sender%d@example.org", i % 7);
	ml_message_set(m, &m->from, buf, strlen(buf));
	snprintf(buf, sizeof buf, "Invoice %d für Müller", i);
	ml_message_set(m, &m->subject, buf, strlen(buf));
	ml_message_set(m, &m->client_ip, "192.0.2.1", 9);
	snprintf(buf, sizeof buf, "msg%d@example.org", i);
	ml_message_set(m, &m->message_id, buf, strlen(buf));
	m->size = 1000 + (uint64_t)i;
	m->flags = ML_MSG_CLOSED;
	m->direction = ML_DIR_INBOUND;
	for (int r = 0; r < 1 + i % 3; r++) {
		int k = ml_message_add_rcpt(m);
		snprintf(buf, sizeof buf, "user%d@example.com", (i + r) % 11);
		ml_message_set(m, &m->rcpts[k].to, buf, strlen(buf));
		ml_message_set(m, &m->rcpts[k].relay, "local", 5);
		m->rcpts[k].status = (uint8_t)(r == 2 ? ML_ST_BOUNCED : ML_ST_DELIVERED);
		m->rcpts[k].time_us = m->first_us + 1000;
		m->rcpts[k].delay_ms = 120;
	}
	snprintf(buf, sizeof buf, "Mar  3 10:00:%02d mx1 postfix/qmgr[1]: %010X: removed", i % 60, 0x1000 + i);
	ml_message_add_line(m, buf, strlen(buf), 0);
}

/* Equal fields, rows and lines (row records spelled out compare the fields). */
static void same_message(const ml_message_t *a, const ml_message_t *b)
{
	ml_buf_t x = ML_BUF_INIT, y = ML_BUF_INIT;
	ml_row_encode(NULL, a, &x);
	ml_row_encode(NULL, b, &y);
	/* where the lines are stored is not a field */
	ml_row_locate(&x, a->docid, 0);
	ml_row_locate(&y, b->docid, 0);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	ml_buf_free(&x);
	ml_buf_free(&y);
}

static void same_lines(const ml_message_t *a, const ml_message_t *b)
{
	assert_int_equal(a->nlines, b->nlines);
	assert_int_equal(a->raw.len, b->raw.len);
	assert_memory_equal(a->raw.data, b->raw.data, a->raw.len);
	for (uint32_t i = 0; i < a->nlines; i++)
		assert_int_equal(a->seqs ? a->seqs[i] : 0, b->seqs ? b->seqs[i] : 0);
}

/* A string table trained on messages like make_message's. */
static void train_table(ml_strtab_t *t, int n)
{
	ml_message_t *ms = calloc((size_t)n, sizeof *ms);
	ml_message_t **v = calloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		make_message(&ms[i], i);
		v[i] = &ms[i];
	}
	ml_buf_t out = ML_BUF_INIT;
	assert_int_equal(ml_strtab_train(v, (size_t)n, 1, &out), 0);
	assert_int_equal(ml_strtab_copy(t, out.data, out.len), 0);
	assert_int_equal(ml_strtab_index(t), 0);
	for (int i = 0; i < n; i++)
		ml_message_free(&ms[i]);
	free(ms);
	free(v);
	ml_buf_free(&out);
}

static void row_roundtrip(void **state)
{
	(void)state;
	ml_strtab_t t = ML_STRTAB_INIT;
	train_table(&t, 500);
	assert_int_equal(t.gen, 1);
	assert_true(t.count[ML_SC_ADDR] > 0 && t.count[ML_SC_SUBJECT] == 0);  /* every subject differs */
	ml_message_t m, back;
	ml_message_init(&back);
	ml_buf_t enc = ML_BUF_INIT, spelled = ML_BUF_INIT;
	make_message(&m, 5);
	/* IDs, UUIDs, hex runs (one as long as a UUID), NUL bytes and the
	 * recipient inside a reply survive */
	const char *odd[] = { "0123abcd-89ef-4a1b-8c2d-0123456789ab@mx.example.com", "3F2A9C1B00E7D",
		"250 2.0.0 <user5@example.com> 9f8e7d6c5b4a39281706 Saved", "a\0b\x01" "c",
		"0123456789abcdef0123456789abcdef0123 ok" };
	ml_message_set(&m, &m.message_id, odd[0], strlen(odd[0]));
	ml_message_set(&m, &m.queue_id, odd[1], strlen(odd[1]));
	ml_message_set(&m, &m.rcpts[0].reason, odd[2], strlen(odd[2]));
	ml_message_set(&m, &m.helo, odd[3], 5);
	ml_message_set(&m, &m.subject, odd[4], strlen(odd[4]));
	/* a reply longer than any buffer on the stack, the recipient inside */
	char longreply[3000];
	int ln = snprintf(longreply, sizeof longreply, "550 5.7.1 <user5@example.com>");
	while (ln < 2900)
		ln += snprintf(longreply + ln, sizeof longreply - (size_t)ln, " blocked by policy %d", ln);
	ml_message_set(&m, &m.rcpts[1].reason, longreply, (size_t)ln);
	m.docid = ml_docid_make((uint64_t)(m.first_us / 1000000), 7);
	m.first_seq = 4242;
	m.raw_key = m.docid - 5;   /* its lines in a block five docids back */
	assert_int_equal(ml_row_encode(&t, &m, &enc), 0);
	assert_int_equal(ml_row_locate(&enc, m.docid, m.raw_key), 0);
	assert_int_equal(ml_row_encode(NULL, &m, &spelled), 0);
	assert_int_equal(ml_row_locate(&spelled, m.docid, m.raw_key), 0);
	assert_true(enc.len < spelled.len);  /* the table pays */
	assert_int_equal(ml_row_decode(&t, enc.data, enc.len, m.docid, &back), 0);
	same_message(&m, &back);
	ml_slice_t subj = ml_message_str(&back, back.subject);
	assert_int_equal(subj.n, strlen(odd[4]));
	assert_memory_equal(subj.p, odd[4], subj.n);
	ml_slice_t lr = ml_message_str(&back, back.rcpts[1].reason);
	assert_int_equal(lr.n, (size_t)ln);
	assert_memory_equal(lr.p, longreply, lr.n);
	assert_int_equal(back.first_seq, 4242);
	assert_int_equal(back.raw_key, m.docid - 5);
	assert_int_equal(back.first_us, m.first_us);
	/* in part: what is kept is as whole, the rest empty; numbers all there */
	static const uint32_t keeps[] = { 0, ML_DEC_SUBJECT, ML_DEC_RCPT_ADDR, ML_DEC_FROM | ML_DEC_QUEUE_ID,
	                                  ML_DEC_RCPT_TEXT };
	for (size_t k = 0; k < ML_ARRAY_LEN(keeps); k++) {
		ml_message_t part;
		ml_message_init(&part);
		assert_int_equal(ml_row_decode_some(&t, enc.data, enc.len, m.docid, &part, keeps[k], NULL), 0);
		assert_int_equal(part.nrcpts, back.nrcpts);
		assert_int_equal(part.flags, back.flags);
		assert_int_equal(part.size, back.size);
		assert_int_equal(part.raw_key, back.raw_key);
		ml_slice_t ps = ml_message_str(&part, part.subject), bs = ml_message_str(&back, back.subject);
		assert_int_equal(ps.n, keeps[k] & ML_DEC_SUBJECT ? bs.n : 0);
		assert_memory_equal(ps.p, bs.p, ps.n);
		assert_int_equal(part.from.len, keeps[k] & ML_DEC_FROM ? back.from.len : 0);
		assert_int_equal(part.queue_id.len, keeps[k] & ML_DEC_QUEUE_ID ? back.queue_id.len : 0);
		assert_int_equal(part.message_id.len, 0);
		for (uint32_t r = 0; r < part.nrcpts; r++) {
			int addr = (keeps[k] & (ML_DEC_RCPT_ADDR | ML_DEC_RCPT_TEXT)) != 0;
			ml_slice_t pt = ml_message_str(&part, part.rcpts[r].to), bt = ml_message_str(&back, back.rcpts[r].to);
			assert_int_equal(pt.n, addr ? bt.n : 0);
			assert_memory_equal(pt.p, bt.p, pt.n);
			ml_slice_t pr = ml_message_str(&part, part.rcpts[r].reason);
			ml_slice_t br = ml_message_str(&back, back.rcpts[r].reason);
			assert_int_equal(pr.n, keeps[k] & ML_DEC_RCPT_TEXT ? br.n : 0);
			assert_memory_equal(pr.p, br.p, pr.n);   /* unmasked as whole */
			assert_int_equal(part.rcpts[r].status, back.rcpts[r].status);
			assert_int_equal(part.rcpts[r].time_us, back.rcpts[r].time_us);
		}
		ml_message_free(&part);
	}
	uint32_t flags;
	assert_int_equal(ml_row_peek_flags(enc.data, enc.len, &flags), 0);
	assert_int_equal(flags, m.flags);
	/* a row without a table reads with any; one with a table needs it */
	assert_int_equal(ml_row_decode(&t, spelled.data, spelled.len, m.docid, &back), 0);
	same_message(&m, &back);
	assert_int_equal(ml_row_decode(NULL, enc.data, enc.len, m.docid, &back), ML_ECORRUPT);
	/* every truncation and many bit flips are detected, never a crash */
	for (size_t n = 0; n < enc.len; n++)
		assert_int_not_equal(ml_row_decode(&t, enc.data, n, m.docid, &back), 0);
	for (size_t i = 0; i < enc.len; i++) {
		enc.data[i] ^= 0x5a;
		ml_row_decode(&t, enc.data, enc.len, m.docid, &back);
		enc.data[i] ^= 0x5a;
	}
	ml_buf_free(&enc);
	ml_buf_free(&spelled);
	ml_message_free(&m);
	ml_message_free(&back);
	ml_strtab_free(&t);
}

static void raw_roundtrip(void **state)
{
	(void)state;
	ml_buf_t samples = ML_BUF_INIT, dict = ML_BUF_INIT, enc = ML_BUF_INIT, enc2 = ML_BUF_INIT;
	size_t sizes[1000];
	for (int i = 0; i < 1000; i++) {
		ml_message_t m;
		make_message(&m, i);
		size_t before = samples.len;
		ml_raw_plain(&m, &samples, NULL);
		sizes[i] = samples.len - before;
		ml_message_free(&m);
	}
	assert_int_equal(ml_codec_train(samples.data, sizes, 1000, 16384, &dict), 0);
	assert_true(dict.len > 0);
	ml_codec_t *with, *without;
	ml_codec_new(&with);
	ml_codec_new(&without);
	assert_int_equal(ml_codec_add_dict(with, 1, dict.data, dict.len), 0);
	assert_int_equal(ml_codec_dict_id(with), 1);
	ml_message_t m, back;
	make_message(&m, 1234);
	/* a line with the escape byte in it */
	ml_message_add_line(&m, "odd \x01 byte 0x01", 16, 0);
	ml_message_init(&back);
	ml_row_encode(NULL, &m, &enc);
	ml_row_locate(&enc, m.docid, 0);
	assert_int_equal(ml_row_decode(NULL, enc.data, enc.len, m.docid, &back), 0);
	assert_int_equal(ml_raw_encode(with, &m, &enc), 0);
	assert_int_equal(ml_raw_encode(without, &m, &enc2), 0);
	assert_true(enc.len < enc2.len);  /* the dictionary pays */
	assert_int_equal(ml_raw_decode(with, enc.data, enc.len, &back), 0);
	same_lines(&m, &back);
	/* a codec without that dictionary says so */
	assert_int_equal(ml_raw_decode(without, enc.data, enc.len, &back), ML_ENOTFOUND);
	/* read against another message's row: refused */
	ml_message_t other;
	make_message(&other, 77);
	assert_int_equal(ml_raw_decode(with, enc.data, enc.len, &other), ML_ECORRUPT);
	for (size_t n = 0; n < enc.len; n++)
		assert_int_not_equal(ml_raw_decode(with, enc.data, n, &back), 0);
	/* a block of messages, each found in it */
	ml_message_t ms[20];
	ml_rawblk_begin(with);
	for (int i = 0; i < 20; i++) {
		make_message(&ms[i], 300 + i);
		ms[i].docid = 1000 + (uint64_t)i * 3;
		ml_buf_t pl = ML_BUF_INIT;
		uint32_t check;
		assert_int_equal(ml_raw_plain(&ms[i], &pl, &check), 0);
		assert_int_equal(ml_rawblk_add(with, ms[i].docid, pl.data, pl.len, check), 0);
		ml_buf_free(&pl);
	}
	assert_int_equal(ml_rawblk_add(with, 1000, "x", 1, 0), ML_EINVAL);  /* not after the last */
	assert_int_equal(ml_rawblk_first(with), 1000);
	assert_int_equal(ml_rawblk_last(with), 1057);
	assert_int_equal(ml_rawblk_finish(with, &enc), 0);
	for (int i = 19; i >= 0; i--) {
		ml_message_t b2;
		ml_message_init(&b2);
		ml_buf_t row = ML_BUF_INIT;
		ml_row_encode(NULL, &ms[i], &row);
		ml_row_locate(&row, ms[i].docid, 1000);
		assert_int_equal(ml_row_decode(NULL, row.data, row.len, ms[i].docid, &b2), 0);
		assert_int_equal(b2.raw_key, 1000);
		assert_int_equal(ml_raw_decode(with, enc.data, enc.len, &b2), 0);
		same_lines(&ms[i], &b2);
		ml_buf_free(&row);
		ml_message_free(&b2);
	}
	/* a docid the block does not hold */
	back.docid = 1001;
	assert_int_equal(ml_raw_decode(with, enc.data, enc.len, &back), ML_ECORRUPT);
	for (size_t n = 0; n < enc.len; n += 7)
		ml_raw_decode(with, enc.data, n, &back);
	for (int i = 0; i < 20; i++)
		ml_message_free(&ms[i]);
	ml_message_free(&other);
	ml_message_free(&m);
	ml_message_free(&back);
	ml_codec_free(with);
	ml_codec_free(without);
	ml_buf_free(&samples);
	ml_buf_free(&dict);
	ml_buf_free(&enc);
	ml_buf_free(&enc2);
}

typedef struct {
	char out[512];
} join_t;

static void join_word(void *ctx, const char *w, size_t n)
{
	join_t *j = ctx;
	size_t l = strlen(j->out);
	snprintf(j->out + l, sizeof j->out - l, "%s%.*s", l ? "|" : "", (int)n, w);
}

static void tokens_words(void **state)
{
	(void)state;
	struct { const char *in, *want; } cases[] = {
		{ "Quarterly Report: Q3/2026", "quarterly|report|q3|2026" },
		{ "ÄPFEL und Birnen", "äpfel|und|birnen" },
		{ "Réunion de l'équipe", "réunion|de|l|équipe" },
		{ "ПРИВЕТ мир", "привет|мир" },
		{ "“quoted” — dash", "quoted|dash" },
		{ "", "" },
		{ "!!!", "" },
		/* no spaces between words: pairs of neighbouring characters */
		{ "会議のお知らせ", "会議|議の|のお|お知|知ら|らせ" },
		{ "【重要】パスワード変更", "重要|パス|スワ|ワー|ード|ド変|変更" },
		{ "ご注文の確認（注文番号：12345）", "ご注|注文|文の|の確|確認|注文|文番|番号|12345" },
		{ "Windows10のアップデート", "windows10|のア|アッ|ップ|プデ|デー|ート" },
		{ "第3四半期 報告", "第|3|四半|半期|報告" },
		{ "회의 안내", "회의|안내" },
		{ "請求書・見積書", "請求|求書|見積|積書" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		join_t j = { "" };
		ml_tokens_words(cases[i].in, strlen(cases[i].in), join_word, &j);
		assert_string_equal(j.out, cases[i].want);
	}
	/* a very long word is cut, not overflowed */
	char longw[1000];
	memset(longw, 'a', sizeof longw - 1);
	longw[sizeof longw - 1] = '\0';
	join_t j = { "" };
	assert_true(ml_tokens_words(longw, strlen(longw), join_word, &j) >= 1);
	ml_slice_t d = ml_addr_domain(ml_slice_cstr("\"a@b\"@Example.COM"));
	assert_int_equal(d.n, 11);
	assert_int_equal(ml_addr_domain(ml_slice_cstr("postmaster")).n, 0);
}

static void tokens_message_keys(void **state)
{
	(void)state;
	ml_message_t m;
	make_message(&m, 4);  /* two recipients */
	/* and some that share their first 8 bytes and more, one twice */
	static const char *const more[] = { "longprefix-a@example.com", "longprefix-a@example.co",
	                                    "longprefix@example.com", "longprefix-a@example.com", "long@x" };
	for (size_t i = 0; i < ML_ARRAY_LEN(more); i++) {
		int r = ml_message_add_rcpt(&m);
		assert_true(r >= 0);
		assert_int_equal(ml_message_set(&m, &m.rcpts[r].to, more[i], strlen(more[i])), 0);
	}
	ml_keys_t k = { ML_BUF_INIT, 0 };
	assert_int_equal(ml_tokens_message(&m, &k), 0);
	size_t pos = 0, len;
	const char *key;
	int have_to = 0, have_dom = 0, have_word = 0, have_status = 0, prev_ok = 1, nlong = 0;
	char prev[512] = "";
	size_t prevn = 0;
	while (ml_keys_next(&k, &pos, &key, &len)) {
		if (len == 18 && !memcmp(key, "tuser4@example.com", 18)) have_to = 1;
		if (len == 12 && !memcmp(key, "Texample.com", 12)) have_dom = 1;
		if (len == 7 && !memcmp(key, "smüller", 7 + 0) ) have_word = 1;
		if (len == 10 && !memcmp(key, "Sdelivered", 10)) have_status = 1;
		nlong += len > 10 && !memcmp(key, "tlongprefix", 11);
		int c = memcmp(prev, key, ML_MIN(prevn, len));
		if (prevn && (c > 0 || (c == 0 && prevn >= len)))
			prev_ok = 0;  /* sorted, unique */
		memcpy(prev, key, len);
		prevn = len;
	}
	assert_true(have_to && have_dom && have_status && prev_ok);
	assert_int_equal(nlong, 3);   /* the one given twice is there once */
	(void)have_word;
	ml_keys_free(&k);
	ml_message_free(&m);
}

static void addr_match_rules(void **state)
{
	(void)state;
	ml_slice_t a = ml_slice_cstr("Bob.Smith@Example.COM");
	assert_true(ml_addr_match("bob.smith@example.com", a));
	assert_true(ml_addr_match("@example.com", a));
	assert_true(ml_addr_match("example.com", a));
	assert_true(ml_addr_match("bob*", a));
	assert_true(ml_addr_match("@exam*", a));
	assert_false(ml_addr_match("bob@example.com", a));
	assert_false(ml_addr_match("@example.org", a));
	assert_false(ml_addr_match("<>", a));
	assert_true(ml_addr_match("<>", ml_slice("", 0)));
}

static void query_params(void **state)
{
	(void)state;
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	assert_int_equal(ml_query_set(&q, "status", "bounced,cleared", err, sizeof err), 0);
	assert_true(q.status_mask & (1u << ML_ST_BOUNCED));
	assert_true(q.status_mask & (1u << ML_ST_QUEUED));
	assert_false(q.status_mask & (1u << ML_ST_BLOCKED));
	assert_int_equal(ml_query_set(&q, "status", "released", err, sizeof err), 0);
	assert_int_equal(q.status_mask, ML_QUERY_RELEASED);
	assert_int_equal(ml_query_set(&q, "status", "lost", err, sizeof err), ML_EINVAL);
	assert_non_null(strstr(err, "status"));
	assert_int_equal(ml_query_set(&q, "limit", "0", err, sizeof err), ML_EINVAL);
	assert_int_equal(ml_query_set(&q, "limit", "1001", err, sizeof err), ML_EINVAL);
	assert_int_equal(ml_query_set(&q, "limit", "1000", err, sizeof err), 0);
	assert_int_equal(ml_query_set(&q, "direction", "sideways", err, sizeof err), ML_EINVAL);
	assert_int_equal(ml_query_set(&q, "subject_re", "a(b", err, sizeof err), ML_EINVAL);
	assert_non_null(strstr(err, "subject_re"));
	assert_int_equal(ml_query_set(&q, "since", "2026-13-45", err, sizeof err), ML_EINVAL);
	assert_int_equal(ml_query_set(&q, "msgid", "<a@b>", err, sizeof err), 0);
	assert_string_equal(q.msgid, "a@b");
	assert_int_equal(ml_query_set(&q, "nonsense", "x", err, sizeof err), ML_ENOTFOUND);
	ml_query_free(&q);
}

typedef struct {
	unsigned n;
	uint64_t last;
	int ordered;
} collect_t;

static int collect(void *ctx, const ml_message_t *m, int row)
{
	(void)row;
	collect_t *c = ctx;
	if (c->n && m->docid > c->last)
		c->ordered = 0;
	c->last = m->docid;
	c->n++;
	return 0;
}

static unsigned run(ml_search_t *se, const char *name, const char *value, const char *name2, const char *value2)
{
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	if (name)
		assert_int_equal(ml_query_set(&q, name, value, err, sizeof err), 0);
	if (name2)
		assert_int_equal(ml_query_set(&q, name2, value2, err, sizeof err), 0);
	collect_t c = { 0, 0, 1 };
	ml_search_info_t info;
	assert_int_equal(ml_search_run(se, &q, collect, &c, &info, err, sizeof err), 0);
	assert_true(c.ordered);
	assert_int_equal(info.rows, c.n);
	ml_query_free(&q);
	return c.n;
}

/* A new database in a scratch folder, with a writer. */
typedef struct {
	const char *dir;
	ml_store_t *s;
	ml_writer_t *w;
} scratch_t;

static void scratch_open(scratch_t *x, const char *name)
{
	char path[4200], err[512];
	x->dir = tl_tmpdir();
	snprintf(path, sizeof path, "%s/%s", x->dir, name);
	assert_int_equal(ml_store_open(&x->s, path, ML_STORE_CREATE | ML_STORE_NOSYNC, err, sizeof err), 0);
	assert_int_equal(ml_writer_new(&x->w, x->s), 0);
}

/* ... and its end: the test's n messages and search freed too. */
static void scratch_close(scratch_t *x, ml_message_t *ms, int n, ml_search_t *se)
{
	for (int i = 0; i < n; i++)
		ml_message_free(&ms[i]);
	free(ms);
	ml_search_free(se);
	ml_writer_free(x->w);
	ml_store_close(x->s);
	if (!getenv("KEEP"))
		tl_rmdir(x->dir);
}

static void store_write_search(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "x.db");
	ml_store_t *s = x.s;
	ml_writer_t *w = x.w;
	enum { N = 3000 };
	ml_message_t *ms = calloc(N, sizeof *ms);
	assert_int_equal(ml_writer_begin(w), 0);
	for (int i = 0; i < N; i++) {
		make_message(&ms[i], i);
		assert_int_equal(ml_writer_put(w, &ms[i]), 0);
	}
	assert_int_equal(ml_writer_commit(w), 0);
	for (int i = 1; i < N; i++)
		assert_true(ms[i].docid > ms[i - 1].docid);
	/* rewrite one: a new recipient and status; old postings go */
	assert_int_equal(ml_writer_begin(w), 0);
	ms[10].rcpts[0].status = ML_ST_DELAYED;
	ml_message_set(&ms[10], &ms[10].rcpts[0].to, "late@example.net", 16);
	assert_int_equal(ml_writer_put(w, &ms[10]), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, s), 0);
	/* rows: message i has 1 + i%3 recipients */
	assert_int_equal(run(se, "to", "late@example.net", NULL, NULL), 1);
	assert_int_equal(run(se, "status", "delayed", NULL, NULL), 1);
	unsigned want = 0;
	for (int i = 0; i < N; i++)
		for (uint32_t r = 0; r < ms[i].nrcpts; r++) {
			ml_slice_t t = ml_message_str(&ms[i], ms[i].rcpts[r].to);
			want += t.n == 18 && !memcmp(t.p, "user10@example.com", 18);
		}
	assert_int_equal(run(se, "to", "user10@example.com", NULL, NULL), want);
	/* more rows match than a search returns */
	assert_int_equal(run(se, "to", "@example.com", NULL, NULL), 1000);
	assert_int_equal(run(se, "status", "bounced", NULL, NULL), N / 3);
	assert_int_equal(run(se, "from", "sender3@example.org", "status", "bounced"), 143);
	assert_int_equal(run(se, "subject", "müller 1234", NULL, NULL), 2);  /* two recipients */
	assert_int_equal(run(se, "subject", "MÜLLER invoice", "limit", "7"), 7);
	assert_int_equal(run(se, "queue_id", "00000010FF", NULL, NULL), 1);
	assert_int_equal(run(se, "msgid", "msg2999@example.org", NULL, NULL), 3);
	assert_int_equal(run(se, "subject_re", "^invoice 29[0-9]{2} ", NULL, NULL), 201);
	ml_message_t got;
	ml_message_init(&got);
	assert_int_equal(ml_search_get(se, ms[7].docid, &got), 0);
	same_message(&ms[7], &got);
	assert_int_equal(ml_search_get(se, 12345, &got), ML_ENOTFOUND);
	ml_message_free(&got);
	scratch_close(&x, ms, N, se);
}

/* Each row a search returns whole: its relay, dsn and reason as written,
 * though a search reads them only for the rows it returns (a message of
 * three recipients, one of which a search of a domain wants). */
typedef struct {
	const ml_message_t *ms;
	int n;
	unsigned rows;
} whole_t;

static void same_str(const ml_message_t *a, ml_str_t x, const ml_message_t *b, ml_str_t y)
{
	ml_slice_t u = ml_message_str(a, x), v = ml_message_str(b, y);
	assert_int_equal(u.n, v.n);
	assert_memory_equal(u.p, v.p, u.n);
}

static int row_whole(void *ctx, const ml_message_t *m, int row)
{
	whole_t *w = ctx;
	int i = 0;
	while (i < w->n && w->ms[i].docid != m->docid)
		i++;
	assert_true(i < w->n && row >= 0);
	const ml_message_t *o = &w->ms[i];
	const ml_rcpt_t *a = &o->rcpts[row], *b = &m->rcpts[row];
	same_str(o, a->to, m, b->to);
	same_str(o, a->orig_to, m, b->orig_to);
	same_str(o, a->relay, m, b->relay);
	same_str(o, a->dsn, m, b->dsn);
	same_str(o, a->reason, m, b->reason);
	assert_int_equal(a->status, b->status);
	w->rows++;
	return 0;
}

static void returned_rows_whole(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "x.db");
	/* enough messages for a string table: the first recipients' addresses
	 * are in it whole, the second's by their domain, the third's are spelled */
	enum { N = 600 };
	ml_message_t *ms = calloc(N, sizeof *ms);
	char buf[256];
	assert_int_equal(ml_writer_begin(x.w), 0);
	for (int i = 0; i < N; i++) {
		ml_message_t *m = &ms[i];
		make_message(m, i);
		m->nrcpts = 0;
		for (int r = 0; r < 3; r++) {
			int k = ml_message_add_rcpt(m);
			ml_rcpt_t *row = &m->rcpts[k];
			if (r == 0)
				snprintf(buf, sizeof buf, "u%d@D0.test", i % 50);
			else if (r == 1)
				snprintf(buf, sizeof buf, "u%d_1@D1.test", i);
			else
				snprintf(buf, sizeof buf, "u%d_2@d2-%d.test", i, i);
			ml_message_set(m, &row->to, buf, strlen(buf));
			if (r == 1 && i % 2) {
				snprintf(buf, sizeof buf, "alias%d@d3.test", i);
				ml_message_set(m, &row->orig_to, buf, strlen(buf));
			}
			snprintf(buf, sizeof buf, "mx.d%d.test[192.0.2.%d]:25", r, r + 1);
			ml_message_set(m, &row->relay, buf, strlen(buf));
			snprintf(buf, sizeof buf, "%d.0.%d", r == 1 ? 5 : 2, r);
			ml_message_set(m, &row->dsn, buf, strlen(buf));
			snprintf(buf, sizeof buf, "%s <%.*s>: %X", r == 1 ? "550 no such user" : "250 ok for",
			         (int)row->to.len, m->strs.data + row->to.off, 0xabc00 + i);
			ml_message_set(m, &row->reason, buf, strlen(buf));
			row->status = (uint8_t)(r == 1 ? ML_ST_BOUNCED : ML_ST_DELIVERED);
			row->time_us = m->first_us + 1000 * r;
		}
		assert_int_equal(ml_writer_put(x.w, m), 0);
	}
	assert_int_equal(ml_writer_commit(x.w), 0);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, x.s), 0);
	static const char *const qs[][4] = {
		{ "to", "@d1.TEST", NULL, NULL },        /* a domain: one row of three */
		{ "to", "d0.test", NULL, NULL },
		{ "to", "@D2-7.test", NULL, NULL },
		{ "to", "@d3.test", NULL, NULL },        /* the original recipient's */
		{ "to", "u7@d0.test", NULL, NULL },
		{ "status", "bounced", NULL, NULL },     /* a status: the same */
		{ "to", "@d0.test", "status", "delivered" },
		{ "to", "@d0.test", "status", "bounced" },
		{ "to", "@test", NULL, NULL },           /* not a domain of theirs */
		{ "to", "0.test", NULL, NULL },
		{ "from", "sender3@example.org", NULL, NULL },   /* every row */
	};
	static const unsigned want[] = { N, N, 1, N / 2, N / 50, N, N, 0, 0, 0, 3 * ((N - 4) / 7 + 1) };
	for (size_t k = 0; k < ML_ARRAY_LEN(qs); k++) {
		ml_query_t q;
		memset(&q, 0, sizeof q);
		char err[256];
		for (int j = 0; j < 4 && qs[k][j]; j += 2)
			assert_int_equal(ml_query_set(&q, qs[k][j], qs[k][j + 1], err, sizeof err), 0);
		whole_t w = { ms, N, 0 };
		ml_search_info_t info;
		assert_int_equal(ml_search_run(se, &q, row_whole, &w, &info, err, sizeof err), 0);
		assert_int_equal(w.rows, want[k]);
		ml_query_free(&q);
	}
	scratch_close(&x, ms, N, se);
}

/* Every row of a search: docid << 8 | row + 1. */
typedef struct {
	uint64_t *v;
	size_t n, cap;
} rows_t;

static int keep_row(void *ctx, const ml_message_t *m, int row)
{
	rows_t *r = ctx;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->v = realloc(r->v, r->cap * sizeof *r->v);
		assert_non_null(r->v);
	}
	r->v[r->n++] = m->docid << 8 | (uint64_t)(row + 1);
	return 0;
}

/* A search of two lists (two subject words) stopped at its budget again
 * and again, each time resumed where it stopped, gives the rows of the
 * search that is never stopped: none missed, none twice. */
static void budget_resumes(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "x.db");
	enum { N = 3000 };
	ml_message_t *ms = calloc(N, sizeof *ms);
	assert_int_equal(ml_writer_begin(x.w), 0);
	for (int i = 0; i < N; i++) {
		make_message(&ms[i], i);
		/* three a second: docids one apart, where a run may stop */
		ms[i].first_us = 1760000000000000LL + (int64_t)(i / 3) * 1000000;
		assert_int_equal(ml_writer_put(x.w, &ms[i]), 0);
	}
	assert_int_equal(ml_writer_commit(x.w), 0);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, x.s), 0);
	static const char *const words[] = { "invoice müller", "müller für", "invoice 2999" };
	for (size_t k = 0; k < ML_ARRAY_LEN(words); k++) {
		char err[256];
		ml_query_t q;
		memset(&q, 0, sizeof q);
		assert_int_equal(ml_query_set(&q, "subject", words[k], err, sizeof err), 0);
		q.unlimited = 1;
		rows_t all = { 0 }, got = { 0 };
		ml_search_info_t info;
		assert_int_equal(ml_search_run(se, &q, keep_row, &all, &info, err, sizeof err), 0);
		assert_true(all.n > 0);
		/* a deadline passed already: each run stops at its first look */
		unsigned runs = 0;
		q.deadline_ns = 1;
		for (;;) {
			runs++;
			assert_int_equal(ml_search_run(se, &q, keep_row, &got, &info, err, sizeof err), 0);
			if (!info.stopped)
				break;
			assert_true(info.resume_docid > 0);
			assert_true(!q.before_docid || info.resume_docid < q.before_docid);
			q.before_docid = info.resume_docid;
			assert_true(runs < 100000);
		}
		assert_true(runs > 1 || all.n < 8);
		assert_int_equal(got.n, all.n);
		assert_memory_equal(got.v, all.v, all.n * sizeof all.v[0]);
		/* deadlines that come later, while batches are in the pipeline
		 * of the two threads (one decoded, one emitted): wherever a run
		 * stops, the runs together give every row once */
		for (unsigned us = 20; us <= 2560; us *= 2) {
			got.n = 0;
			q.before_docid = 0;
			for (runs = 1;; runs++) {
				q.deadline_ns = ml_search_clock_ns() + us * 1000ull;
				assert_int_equal(ml_search_run(se, &q, keep_row, &got, &info, err, sizeof err), 0);
				if (!info.stopped)
					break;
				assert_true(!q.before_docid || info.resume_docid < q.before_docid);
				q.before_docid = info.resume_docid;
				assert_true(runs < 100000);
			}
			assert_int_equal(got.n, all.n);
			assert_memory_equal(got.v, all.v, all.n * sizeof all.v[0]);
		}
		free(all.v);
		free(got.v);
		ml_query_free(&q);
	}
	scratch_close(&x, ms, N, se);
}

/* The rows of every status a counting walk hands over (query.counts_only:
 * records decoded in part), and the rows of a search to its end. */
typedef struct {
	unsigned n, by_status[ML_ST__COUNT];
	uint64_t last;
	int ordered;
} count_t;

static int count_rows(void *ctx, const ml_message_t *m, int row)
{
	count_t *c = ctx;
	if (c->n && m->docid > c->last)
		c->ordered = 0;
	c->last = m->docid;
	c->n++;
	c->by_status[ml_message_row_status(m, row >= 0 ? &m->rcpts[row] : NULL)]++;
	return 0;
}

static count_t walk_all(ml_search_t *se, const char *name, const char *value, const char *name2,
                        const char *value2, int counts_only)
{
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	assert_int_equal(ml_query_set(&q, name, value, err, sizeof err), 0);
	if (name2)
		assert_int_equal(ml_query_set(&q, name2, value2, err, sizeof err), 0);
	q.unlimited = 1;
	q.counts_only = counts_only;
	count_t c = { .ordered = 1 };
	ml_search_info_t info;
	assert_int_equal(ml_search_run(se, &q, count_rows, &c, &info, err, sizeof err), 0);
	assert_true(c.ordered);
	ml_query_free(&q);
	return c;
}

/* Address prefixes that stand for many addresses in a day (read as one
 * gathered list of docids) and for few (one iterator an address): every
 * row whose to or from starts with the prefix, newest first, as the rows
 * checked one by one give them (not those handed on to a content filter);
 * the same counts from a walk that decodes only what its filters need. */
static void address_prefixes(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "p.db");
	ml_store_t *s = x.s;
	ml_writer_t *w = x.w;
	char buf[128];
	enum { N = 2400 };
	ml_message_t *ms = calloc(N, sizeof *ms);
	assert_int_equal(ml_writer_begin(w), 0);
	for (int i = 0; i < N; i++) {
		make_message(&ms[i], i);
		ms[i].first_us += (int64_t)i * 60 * 1000000;   /* 40 hours: two days */
		for (uint32_t r = 0; r < ms[i].nrcpts; r++) {
			/* 300 addresses: p0 .. p299, and an original address now and then */
			snprintf(buf, sizeof buf, "P%d@Example.com", (i * 7 + (int)r * 131) % 300);
			ml_message_set(&ms[i], &ms[i].rcpts[r].to, buf, strlen(buf));
			if (i % 5 == 0) {
				snprintf(buf, sizeof buf, "q%d@example.net", i % 40);
				ml_message_set(&ms[i], &ms[i].rcpts[r].orig_to, buf, strlen(buf));
			}
		}
		snprintf(buf, sizeof buf, "s%d@example.org", i % 97);
		ml_message_set(&ms[i], &ms[i].from, buf, strlen(buf));
		if (i % 13 == 0)
			ms[i].rcpts[0].flags |= ML_RCPT_HANDED_ON;   /* to a content filter: not a row shown */
		assert_int_equal(ml_writer_put(w, &ms[i]), 0);
	}
	assert_int_equal(ml_writer_commit(w), 0);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, s), 0);
	static const struct { const char *name, *value, *name2, *value2; } qs[] = {
		{ "to", "p1*", NULL, NULL },          /* 111 addresses */
		{ "to", "P2*", "status", "bounced" },
		{ "to", "p12*", NULL, NULL },         /* 11 */
		{ "to", "p*", NULL, NULL },           /* every row */
		{ "to", "q1*", NULL, NULL },          /* original addresses */
		{ "to", "@example.c*", NULL, NULL },
		{ "from", "s1*", NULL, NULL },        /* 11 senders */
		{ "from", "s*", "to", "p29*" },
		{ "to", "p1*", "subject_re", "invoice 1[0-9]{3} " },
		{ "to", "x*", NULL, NULL },           /* none */
	};
	for (size_t k = 0; k < ML_ARRAY_LEN(qs); k++) {
		/* what the rows say, one by one */
		unsigned want[ML_ST__COUNT] = { 0 }, nwant = 0;
		for (int i = 0; i < N; i++) {
			const ml_message_t *m = &ms[i];
			const char *names[2] = { qs[k].name, qs[k].name2 }, *vals[2] = { qs[k].value, qs[k].value2 };
			int msg_ok = 1;
			for (int f = 0; f < 2; f++) {
				if (names[f] && !strcmp(names[f], "from"))
					msg_ok &= ml_addr_match(vals[f], ml_message_str(m, m->from));
				if (names[f] && !strcmp(names[f], "subject_re")) {
					unsigned n = (unsigned)i;
					msg_ok &= n >= 1000 && n <= 1999;
				}
			}
			for (uint32_t r = 0; r < m->nrcpts && msg_ok; r++) {
				const ml_rcpt_t *row = &m->rcpts[r];
				int ok = !(row->flags & ML_RCPT_HANDED_ON);
				for (int f = 0; f < 2; f++) {
					if (names[f] && !strcmp(names[f], "to"))
						ok &= ml_addr_match(vals[f], ml_message_str(m, row->to)) ||
						      (row->orig_to.len && ml_addr_match(vals[f], ml_message_str(m, row->orig_to)));
					if (names[f] && !strcmp(names[f], "status"))
						ok &= !strcmp(ml_status_name((ml_status_t)row->status), vals[f]);
				}
				if (ok) {
					want[row->status]++;
					nwant++;
				}
			}
		}
		for (int co = 0; co < 2; co++) {
			count_t c = walk_all(se, qs[k].name, qs[k].value, qs[k].name2, qs[k].value2, co);
			if (c.n != nwant)
				fail_msg("%s=%s %s=%s (counts_only %d): %u rows, not %u", qs[k].name, qs[k].value,
				         qs[k].name2 ? qs[k].name2 : "", qs[k].value2 ? qs[k].value2 : "", co, c.n, nwant);
			assert_memory_equal(c.by_status, want, sizeof want);
		}
		if (!strcmp(qs[k].value, "p1*"))
			assert_true(nwant > 500);
	}
	scratch_close(&x, ms, N, se);
}

/* The rows of a search in order, with a commit in the middle of it. */
typedef struct {
	uint64_t docid[1000];
	int row[1000];
	unsigned n;
	ml_writer_t *w;        /* at the 100th row: commit `change` */
	ml_message_t *change;
} seq_t;

static int record_row(void *ctx, const ml_message_t *m, int row)
{
	seq_t *q = ctx;
	if (q->n < 1000) {
		q->docid[q->n] = m->docid;
		q->row[q->n] = row;
	}
	q->n++;
	if (q->n == 100 && q->w) {
		assert_int_equal(ml_writer_begin(q->w), 0);
		assert_int_equal(ml_writer_put(q->w, q->change), 0);
		assert_int_equal(ml_writer_commit(q->w), 0);
	}
	return 0;
}

/* Rows are fetched and decoded in batches, on a second thread when there
 * are many: the answer is still every row in order, from one snapshot,
 * also when a writer commits while the search runs. */
static void batches_and_snapshots(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "b.db");
	ml_store_t *s = x.s;
	ml_writer_t *w = x.w;
	char err[512];
	enum { N = 3000 };
	ml_message_t *ms = calloc(N, sizeof *ms);
	assert_int_equal(ml_writer_begin(w), 0);
	for (int i = 0; i < N; i++) {
		make_message(&ms[i], i);
		assert_int_equal(ml_writer_put(w, &ms[i]), 0);
	}
	assert_int_equal(ml_writer_commit(w), 0);
	/* what a row-by-row walk gives: newest first, rows in order */
	seq_t want = { .n = 0 };
	for (int i = N - 1; i >= 0 && want.n < 1000; i--)
		for (uint32_t r = 0; r < ms[i].nrcpts && want.n < 1000; r++) {
			ml_slice_t t = ml_message_str(&ms[i], ms[i].rcpts[r].to);
			if (t.n > 12 && !memcmp(t.p + t.n - 12, "@example.com", 12)) {
				want.docid[want.n] = ms[i].docid;
				want.row[want.n++] = (int)r;
			}
		}
	assert_int_equal(want.n, 1000);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, s), 0);
	ml_query_t q;
	memset(&q, 0, sizeof q);
	assert_int_equal(ml_query_set(&q, "to", "@example.com", err, sizeof err), 0);
	/* the row of a message further down the answer, its first recipient */
	int victim = -1, vi = -1;
	for (int k = 500; k < 1000 && victim < 0; k++)
		if (want.row[k] == 0)
			victim = k;
	assert_true(victim >= 0);
	for (vi = 0; vi < N && ms[vi].docid != want.docid[victim]; vi++)
		;
	assert_true(vi < N);
	seq_t *got = calloc(1, sizeof *got);
	ml_search_info_t info;
	/* the second thread took part (when there is a core for it; it may be
	 * late to wake for one search, on a busy machine for many: not for a
	 * thousand) */
	uint64_t helped = 0;
	for (int tries = 0; tries < 1000 && !helped; tries++) {
		got->n = 0;
		assert_int_equal(ml_search_run(se, &q, record_row, got, &info, err, sizeof err), 0);
		assert_int_equal(got->n, 1000);
		assert_memory_equal(got->docid, want.docid, sizeof want.docid);
		assert_memory_equal(got->row, want.row, sizeof want.row);
		helped = info.helped;
	}
	/* (the processors this process may run on, as the search counts them) */
	cpu_set_t cpus;
	if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1)
		assert_true(helped > 0);
	/* the 100th row commits a change to the victim: this search does not
	 * see it (its snapshot began before), the next one does */
	ml_message_set(&ms[vi], &ms[vi].rcpts[0].to, "moved@example.net", 17);
	got->n = 0;
	got->w = w;
	got->change = &ms[vi];
	assert_int_equal(ml_search_run(se, &q, record_row, got, &info, err, sizeof err), 0);
	assert_int_equal(got->n, 1000);
	assert_memory_equal(got->docid, want.docid, sizeof want.docid);
	assert_memory_equal(got->row, want.row, sizeof want.row);
	got->n = 0;
	got->w = NULL;
	assert_int_equal(ml_search_run(se, &q, record_row, got, &info, err, sizeof err), 0);
	assert_int_equal(got->n, 1000);
	for (unsigned k = 0; k < 1000; k++)
		assert_false(got->docid[k] == want.docid[victim] && got->row[k] == 0);
	free(got);
	ml_query_free(&q);
	scratch_close(&x, ms, N, se);
}

/* A message that closes below the last row of `rows` (deferred for longer,
 * or from an older log read later) is a late row: its row stays in the open
 * tables rather than split a full page of `rows`, its lines go to a block;
 * searches, show and prune find it there as anywhere. */
static void late_rows(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "l.db");
	ml_store_t *s = x.s;
	ml_writer_t *w = x.w;
	enum { N = 600 };
	ml_message_t *ms = calloc(N + 1, sizeof *ms);
	assert_int_equal(ml_writer_begin(w), 0);
	for (int i = 0; i < N; i++) {
		make_message(&ms[i], i + 100);
		assert_int_equal(ml_writer_put(w, &ms[i]), 0);
	}
	assert_int_equal(ml_writer_commit(w), 0);
	/* first seen before all of them, closed now */
	ml_message_t *late = &ms[N];
	make_message(late, 7);
	ml_message_set(late, &late->rcpts[0].to, "late@example.net", 16);
	assert_int_equal(ml_writer_begin(w), 0);
	assert_int_equal(ml_writer_put(w, late), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	assert_true(late->docid < ms[0].docid);
	MDB_txn *txn;
	MDB_val v;
	int place = -1;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	assert_int_equal(ml_store_row_get(txn, s, late->docid, &v, &place), 0);
	assert_int_equal(place, ML_PLACE_OPEN);
	assert_int_equal(ml_store_row_get(txn, s, ms[5].docid, &v, &place), 0);
	assert_int_equal(place, ML_PLACE_MAIN);
	mdb_txn_abort(txn);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, s), 0);
	assert_int_equal(run(se, "to", "late@example.net", NULL, NULL), 1);
	ml_message_t got;
	ml_message_init(&got);
	assert_int_equal(ml_search_get(se, late->docid, &got), 0);
	same_message(late, &got);
	same_lines(late, &got);
	/* its lines in a block of `raw`, as a closed message's are */
	uint64_t block = got.raw_key;
	assert_true(block != 0);
	/* pruned as the closed rows are: row, lines and postings */
	ml_prune_opts_t po = { .before_docid = ms[0].docid };
	ml_prune_progress_t pp;
	assert_int_equal(ml_prune_run(s, &po, &pp), 0);
	assert_int_equal(pp.deleted, 1);
	assert_int_equal(ml_search_get(se, late->docid, &got), ML_ENOTFOUND);
	assert_int_equal(run(se, "to", "late@example.net", NULL, NULL), 0);
	ml_buf_t raw = ML_BUF_INIT;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	assert_int_equal(ml_store_raw_get(txn, s, ML_PLACE_OPEN, late->docid, &raw), ML_ENOTFOUND);
	assert_int_equal(ml_store_raw_get(txn, s, ML_PLACE_MAIN, block, &raw), ML_ENOTFOUND);
	mdb_txn_abort(txn);
	ml_buf_free(&raw);
	assert_int_equal(run(se, "to", "@example.com", "limit", "1000"), 1000);
	ml_message_free(&got);
	scratch_close(&x, ms, N + 1, se);
}

/* A message in flight taken up again without its stored lines (raw_base,
 * engine/message.h): the writer joins them, decoded as they were stored,
 * with the new ones; a count that disagrees with storage is an error, never
 * lines lost. */
static void lines_joined(void **state)
{
	(void)state;
	scratch_t x;
	scratch_open(&x, "j.db");
	ml_writer_t *w = x.w;
	enum { N = 300 };
	ml_message_t *ms = calloc(N, sizeof *ms);
	assert_int_equal(ml_writer_begin(w), 0);
	for (int i = 0; i < N; i++) {
		make_message(&ms[i], i);
		if (i == 0) {
			/* in flight, two lines that name its subject and sender */
			ms[i].flags = 0;
			ms[i].raw.len = 0;
			ms[i].nlines = 0;
			ms[i].first_seq = 0;
			const char *a = "Mar  3 10:00:00 mx1 postfix/cleanup[2]: 0000001000: warning: header Subject: Invoice 0 f\xc3\xbcr M\xc3\xbcller";
			const char *b = "Mar  3 10:00:01 mx1 postfix/qmgr[1]: 0000001000: from=<sender0@example.org>, size=1000, nrcpt=1";
			ml_message_add_line(&ms[i], a, strlen(a), 5);
			ml_message_add_line(&ms[i], b, strlen(b), 6);
		}
		assert_int_equal(ml_writer_put(w, &ms[i]), 0);
	}
	assert_int_equal(ml_writer_commit(w), 0);
	ml_message_t whole, m, got, cp;
	ml_message_init(&whole);
	ml_message_init(&m);
	ml_message_init(&got);
	ml_message_init(&cp);
	/* taken up again: its fields and rows, the lines counted */
	assert_int_equal(ml_writer_begin(w), 0);
	assert_int_equal(ml_writer_open_lookup(w, ml_slice("mx1", 3), ml_slice("0000001000", 10), &whole), 0);
	assert_int_equal(whole.nlines, 2);
	assert_int_equal(ml_message_copy(&m, &whole), 0);
	ml_message_drop_lines(&m);
	assert_int_equal(m.raw_base, 2);
	assert_int_equal(m.raw_base_bytes, whole.raw.len);
	assert_int_equal(m.nlines, 0);
	/* a copy of the row counts its lines with the stored ones */
	const char *c = "Mar  3 10:05:00 mx1 postfix/smtp[3]: 0000001000: to=<user0@example.com>, status=sent";
	assert_int_equal(ml_message_add_line(&m, c, strlen(c), 9), 0);
	assert_int_equal(ml_message_copy_row(&cp, &m), 0);
	assert_int_equal(cp.raw_base, 3);
	assert_int_equal(cp.nlines, 0);
	assert_int_equal(cp.raw_base_bytes, whole.raw.len + strlen(c) + 1);
	/* stored again, closed, with another sender and relay: the stored
	 * lines are read with the strings they were masked with */
	ml_message_set(&m, &m.from, "other@example.org", 17);
	ml_message_set(&m, &m.rcpts[0].relay, "mx.example.com[192.0.2.9]:25", 28);
	m.flags |= ML_MSG_CLOSED;
	assert_int_equal(ml_writer_put(w, &m), 0);
	assert_int_equal(ml_writer_commit(w), 0);
	ml_search_t *se;
	assert_int_equal(ml_search_new(&se, x.s), 0);
	assert_int_equal(ml_search_get(se, m.docid, &got), 0);
	assert_int_equal(got.nlines, 3);
	assert_int_equal(got.raw_base, 0);
	ml_buf_t want = ML_BUF_INIT;
	ml_buf_append(&want, whole.raw.data, whole.raw.len);
	ml_buf_append(&want, c, strlen(c));
	ml_buf_putc(&want, '\n');
	assert_int_equal(got.raw.len, want.len);
	assert_memory_equal(got.raw.data, want.data, want.len);
	assert_int_equal(got.seqs[0], 5);
	assert_int_equal(got.seqs[1], 6);
	assert_int_equal(got.seqs[2], 9);
	assert_int_equal(got.first_seq, 5);
	/* more lines counted than are stored: refused, nothing written */
	ml_message_t bad;
	ml_message_init(&bad);
	assert_int_equal(ml_message_copy(&bad, &got), 0);
	ml_message_drop_lines(&bad);
	bad.raw_base = 4;
	assert_int_equal(ml_writer_begin(w), 0);
	assert_int_equal(ml_writer_put(w, &bad), 0);
	assert_int_equal(ml_writer_commit(w), ML_ECORRUPT);
	ml_writer_abort(w);
	/* ... as are stored lines of a message never stored */
	bad.docid = 0;
	bad.raw_base = 1;
	assert_int_equal(ml_writer_begin(w), 0);
	assert_int_equal(ml_writer_put(w, &bad), 0);
	assert_int_equal(ml_writer_commit(w), ML_ECORRUPT);
	ml_writer_abort(w);
	ml_message_reset(&got);
	assert_int_equal(ml_search_get(se, m.docid, &got), 0);
	assert_int_equal(got.nlines, 3);
	ml_buf_free(&want);
	ml_message_free(&bad);
	ml_message_free(&cp);
	ml_message_free(&got);
	ml_message_free(&m);
	ml_message_free(&whole);
	scratch_close(&x, ms, N, se);
}

/* The bytes of raw value i in version v (sizes from a few bytes to several
 * chunks), into b. */
static void raw_value(ml_buf_t *b, int i, int v)
{
	ml_buf_reset(b);
	size_t n = 40 + (size_t)(i * 397 + v * 1031) % 3600;
	for (size_t j = 0; j < n; j++)
		ml_buf_putc(b, (int)((j * 31 + (size_t)i * 7 + (size_t)v) & 0xff));
}

/* Version `v` of values 0 .. n-1 into raw.open in one transaction (every
 * `del`-th deleted instead; none when 0), with or without a rewrite. */
static void raw_apply_all(ml_store_t *s, int n, int v, int del, int rewrite)
{
	ml_raw_op_t *ops = calloc((size_t)n, sizeof *ops);
	ml_buf_t *vals = calloc((size_t)n, sizeof *vals);
	for (int i = 0; i < n; i++) {
		raw_value(&vals[i], i, v);
		ops[i] = (ml_raw_op_t){ 1000 + (uint64_t)i, vals[i].data, vals[i].len, del && i % del == 0, v == 0 };
	}
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	assert_int_equal(ml_store_raw_apply(txn, s, ML_PLACE_OPEN, ops, (size_t)n, rewrite), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	for (int i = 0; i < n; i++)
		ml_buf_free(&vals[i]);
	free(vals);
	free(ops);
}

static size_t raw_open_leaves(ml_store_t *s)
{
	MDB_txn *txn;
	MDB_stat st;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	assert_int_equal(mdb_stat(txn, s->raw_open, &st), 0);
	mdb_txn_abort(txn);
	return st.ms_leaf_pages;
}

/* A commit that changes most of raw.open writes the table anew, appended:
 * what it kept and what it put read back as they were given, and its pages
 * are full, where the same changes made in place leave them partly empty
 * (each page split in half as the values grow). */
static void raw_open_rewrite(void **state)
{
	(void)state;
	enum { N = 500 };
	scratch_t x, y;
	scratch_open(&x, "r.db");
	scratch_open(&y, "i.db");
	/* both: version 0 of every value, then version 1 (every 10th deleted) */
	raw_apply_all(x.s, N, 0, 0, 0);
	raw_apply_all(y.s, N, 0, 0, 0);
	raw_apply_all(x.s, N, 1, 10, 1);
	raw_apply_all(y.s, N, 1, 10, 0);
	size_t bytes = 0;
	ml_buf_t want = ML_BUF_INIT, got = ML_BUF_INIT;
	for (int i = 0; i < N; i++) {
		raw_value(&want, i, 1);
		bytes += i % 10 ? want.len : 0;
	}
	size_t rewritten = raw_open_leaves(x.s), in_place = raw_open_leaves(y.s);
	/* three chunks of ML_RAW_CHUNK fill a page */
	assert_true(rewritten * 3 * ML_RAW_CHUNK <= bytes * 12 / 10);
	assert_true(rewritten * 4 < in_place * 3);
	/* a few changes (fewer than a quarter of the values): in place */
	ml_raw_op_t few[3];
	ml_buf_t v2 = ML_BUF_INIT;
	raw_value(&v2, 5, 2);
	few[0] = (ml_raw_op_t){ 1000 + 5, v2.data, v2.len, 0, 0 };
	few[1] = (ml_raw_op_t){ 1000 + 10, v2.data, v2.len, 0, 0 };   /* deleted before: put again */
	few[2] = (ml_raw_op_t){ 1000 + 11, NULL, 0, 1, 0 };
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(x.s, &txn), 0);
	assert_int_equal(ml_store_raw_apply(txn, x.s, ML_PLACE_OPEN, few, 3, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(ml_store_read_begin(x.s, &txn), 0);
	for (int i = 0; i < N; i++) {
		int rc = ml_store_raw_get(txn, x.s, ML_PLACE_OPEN, 1000 + (uint64_t)i, &got);
		if (i == 11 || (i % 10 == 0 && i != 10)) {
			assert_int_equal(rc, ML_ENOTFOUND);
			continue;
		}
		assert_int_equal(rc, 0);
		if (i == 5 || i == 10)
			raw_value(&want, 5, 2);
		else
			raw_value(&want, i, 1);
		assert_int_equal(got.len, want.len);
		assert_memory_equal(got.data, want.data, want.len);
	}
	mdb_txn_abort(txn);
	ml_buf_free(&v2);
	ml_buf_free(&want);
	ml_buf_free(&got);
	scratch_close(&x, NULL, 0, NULL);
	scratch_close(&y, NULL, 0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(row_roundtrip),
		cmocka_unit_test(raw_roundtrip),
		cmocka_unit_test(tokens_words),
		cmocka_unit_test(tokens_message_keys),
		cmocka_unit_test(addr_match_rules),
		cmocka_unit_test(query_params),
		cmocka_unit_test(store_write_search),
		cmocka_unit_test(returned_rows_whole),
		cmocka_unit_test(budget_resumes),
		cmocka_unit_test(address_prefixes),
		cmocka_unit_test(batches_and_snapshots),
		cmocka_unit_test(late_rows),
		cmocka_unit_test(lines_joined),
		cmocka_unit_test(raw_open_rewrite),
	};
	return TL_RUN_DEFAULT("index", tests, NULL, NULL);
}
