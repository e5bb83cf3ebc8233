#include "reports.h"

#include <stdlib.h>
#include <string.h>

#include "index/postings.h"
#include "index/record.h"
#include "index/tokens.h"

#define KEY_FIXED 18   /* docid, at, source, kind */

static const char *const source_names[] = { NULL, "user", "rspamd", "spamassassin" };
static const char *const kind_names[] = { NULL, "spam", "phishing" };

const char *ml_report_source_name(int source)
{
	return source > 0 && source < (int)ML_ARRAY_LEN(source_names) ? source_names[source] : NULL;
}

const char *ml_report_kind_name(int kind)
{
	return kind > 0 && kind < (int)ML_ARRAY_LEN(kind_names) ? kind_names[kind] : NULL;
}

static int name_of(const char *const *names, size_t count, const char *p, size_t n)
{
	for (size_t i = 1; i < count; i++)
		if (strlen(names[i]) == n && !memcmp(names[i], p, n))
			return (int)i;
	return 0;
}

int ml_report_source_parse(const char *name, size_t n)
{
	return name_of(source_names, ML_ARRAY_LEN(source_names), name, n);
}

int ml_report_kind_parse(const char *name, size_t n)
{
	return name_of(kind_names, ML_ARRAY_LEN(kind_names), name, n);
}

static size_t key_make(unsigned char *k, const ml_report_t *r)
{
	size_t bn = strnlen(r->by, ML_REPORT_BY_MAX);
	ml_put_be64(k, r->docid);
	ml_put_be64(k + 8, (uint64_t)r->at_us);
	k[16] = (unsigned char)r->source;
	k[17] = (unsigned char)r->kind;
	memcpy(k + KEY_FIXED, r->by, bn);
	return KEY_FIXED + bn;
}

static int key_parse(const MDB_val *k, ml_report_t *r)
{
	if (k->mv_size < KEY_FIXED || k->mv_size > KEY_FIXED + ML_REPORT_BY_MAX)
		return ML_CORRUPT_BKPT;
	const unsigned char *p = k->mv_data;
	r->docid = ml_get_be64(p);
	r->at_us = (int64_t)ml_get_be64(p + 8);
	r->source = p[16];
	r->kind = p[17];
	size_t bn = k->mv_size - KEY_FIXED;
	memcpy(r->by, p + KEY_FIXED, bn);
	r->by[bn] = '\0';
	return ML_OK;
}

/* Add (del = 0) or remove the 'S' "reported" posting of docid. */
static int posting(MDB_txn *txn, ml_store_t *s, uint64_t docid, int del)
{
	ml_post_batch_t *b;
	int rc = ml_post_batch_new(&b);
	if (rc)
		return rc;
	char key[1 + sizeof ML_REPORT_TERM];
	key[0] = ML_TAG_STATUS;
	memcpy(key + 1, ML_REPORT_TERM, sizeof ML_REPORT_TERM - 1);
	int64_t delta = 0;
	rc = ml_post_batch_add(b, key, sizeof key - 1, docid, del);
	if (!rc)
		rc = ml_post_batch_write(b, txn, s->post, &delta);
	if (!rc && delta)
		rc = ml_meta_add(txn, s, ML_META_POSTINGS, delta);
	ml_post_batch_free(b);
	return rc;
}

/* The first report key of docid at or after the cursor's seek: 1 when c is
 * on one of docid's. */
static int seek_docid(MDB_cursor *c, uint64_t docid, MDB_val *k, MDB_val *v)
{
	unsigned char kb[8];
	ml_put_be64(kb, docid);
	k->mv_data = kb;
	k->mv_size = 8;
	int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	return rc == 0 && k->mv_size >= 8 && ml_get_be64(k->mv_data) == docid;
}

int ml_reports_has(MDB_txn *txn, ml_store_t *s, uint64_t docid)
{
	if (!s->reports)
		return 0;
	MDB_cursor *c;
	if (mdb_cursor_open(txn, s->reports, &c))
		return 0;
	MDB_val k, v;
	int has = seek_docid(c, docid, &k, &v);
	mdb_cursor_close(c);
	return has;
}

typedef struct {
	const ml_report_t *r;
	int same;
} same_t;

static int same_report(void *ctx, const ml_report_t *o)
{
	same_t *x = ctx;
	x->same = o->source == x->r->source && o->kind == x->r->kind && !strcmp(o->by, x->r->by);
	return x->same;
}

int ml_reports_add(MDB_txn *txn, ml_store_t *s, const ml_report_t *r, const ml_message_t *m, int *added)
{
	if (added)
		*added = 0;
	if (!s->reports)
		return ML_EINVAL;
	if (!ml_report_source_name(r->source) || !ml_report_kind_name(r->kind) || r->at_us < 0 ||
	    strnlen(r->by, ML_REPORT_BY_MAX + 1) > ML_REPORT_BY_MAX || !r->docid)
		return ML_EINVAL;
	int first = !ml_reports_has(txn, s, r->docid);
	/* the same source, kind and person again: the first report stands */
	same_t x = { r, 0 };
	int rc0 = first ? ML_OK : ml_reports_each(txn, s, r->docid, same_report, &x);
	if (rc0 || x.same)
		return rc0;
	unsigned char kb[KEY_FIXED + ML_REPORT_BY_MAX];
	MDB_val k = { key_make(kb, r), kb }, v;
	ml_buf_t val = ML_BUF_INIT;
	ml_slice_t f[3] = { ml_message_str(m, m->host), ml_message_str(m, m->queue_id),
	                    ml_message_str(m, m->message_id) };
	int rc = ML_OK;
	for (int i = 0; i < 3 && !rc; i++)
		rc = ml_buf_append(&val, f[i].p, f[i].n) || (i < 2 && ml_buf_putc(&val, '\0')) ? ML_ENOMEM : ML_OK;
	v.mv_data = val.data ? val.data : "";
	v.mv_size = val.len;
	if (!rc) {
		int mrc = mdb_put(txn, s->reports, &k, &v, MDB_NOOVERWRITE);
		if (mrc == MDB_KEYEXIST)
			mrc = 0;
		else if (!mrc && added)
			*added = 1;
		rc = ml_store_errcode(mrc);
	}
	ml_buf_free(&val);
	if (!rc && first)
		rc = posting(txn, s, r->docid, 0);
	return rc;
}

int ml_reports_each(MDB_txn *txn, ml_store_t *s, uint64_t docid,
                    int (*fn)(void *ctx, const ml_report_t *r), void *ctx)
{
	if (!s->reports)
		return ML_OK;
	MDB_cursor *c;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->reports, &c));
	if (rc)
		return rc;
	MDB_val k, v;
	int on = seek_docid(c, docid, &k, &v);
	while (on && !rc) {
		ml_report_t r;
		rc = key_parse(&k, &r);
		if (!rc && fn(ctx, &r))
			break;
		on = !rc && mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0 && k.mv_size >= 8 &&
		     ml_get_be64(k.mv_data) == docid;
	}
	mdb_cursor_close(c);
	return rc;
}

int ml_reports_drop(MDB_txn *txn, ml_store_t *s, uint64_t docid, uint64_t *n)
{
	if (n)
		*n = 0;
	if (!s->reports)
		return ML_OK;
	MDB_cursor *c;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->reports, &c));
	if (rc)
		return rc;
	MDB_val k, v;
	uint64_t dropped = 0;
	while (!rc && seek_docid(c, docid, &k, &v)) {
		rc = ml_store_errcode(mdb_cursor_del(c, 0));
		dropped++;
	}
	mdb_cursor_close(c);
	if (!rc && dropped)
		rc = posting(txn, s, docid, 1);
	if (n)
		*n = dropped;
	return rc;
}

/* The messages of one 'm' or 'q' term, newest first; each decoded (its row
 * alone) and offered to fn, which returns non-zero to stop. */
typedef int (*msg_fn)(void *ctx, const ml_message_t *m);

static int each_with_term(MDB_txn *txn, ml_store_t *s, const char *key, size_t kn, msg_fn fn, void *ctx)
{
	uint64_t first, last;
	int rc = ml_store_docid_range(txn, s, &first, &last);
	if (rc || !last)
		return rc;
	ml_strtab_t tab = ML_STRTAB_INIT;
	ml_message_t m;
	ml_message_init(&m);
	rc = ml_store_strtab(txn, s, &tab);
	int stop = 0;
	for (int64_t b = ml_docid_bucket(last); !rc && !stop && b >= (int64_t)ml_docid_bucket(first); b--) {
		ml_plist_t pl;
		rc = ml_plist_open(&pl, txn, s->post, key, kn, (uint32_t)b);
		for (uint64_t d = rc || !pl.count ? 0 : ml_plist_seek(&pl, UINT64_MAX); d && !rc && !stop;
		     d = d > 1 ? ml_plist_seek(&pl, d - 1) : 0) {
			MDB_val v;
			int r = ml_store_row_get(txn, s, d, &v, NULL);
			if (r == ML_ENOTFOUND)
				continue;
			rc = r ? r : ml_row_decode(&tab, v.mv_data, v.mv_size, d, &m);
			if (!rc)
				stop = fn(ctx, &m);
		}
		ml_plist_close(&pl);
	}
	ml_message_free(&m);
	ml_strtab_free(&tab);
	return rc;
}

typedef struct {
	MDB_txn *txn;
	ml_store_t *s;
	const char *msgid, *qid, *host;
	size_t n, qn, hn;
	ml_report_t r;
	unsigned found;
	uint64_t docid;    /* reapply: the message found (0: none) */
	int rc;
} join_t;

static int slice_is(ml_slice_t a, const char *p, size_t n)
{
	return a.n == n && (n == 0 || memcmp(a.p, p, n) == 0);
}

static int join_one(void *ctx, const ml_message_t *m)
{
	join_t *j = ctx;
	int match = j->qn ? slice_is(ml_message_str(m, m->queue_id), j->qid, j->qn)
	                  : slice_is(ml_message_str(m, m->message_id), j->msgid, j->n);
	if (!match)
		return 0;
	j->r.docid = m->docid;
	j->rc = ml_reports_add(j->txn, j->s, &j->r, m, NULL);
	j->found++;
	return j->rc != 0;
}

static void id_key(ml_buf_t *b, int tag, const char *id, size_t n)
{
	unsigned char h[8];
	if (tag == ML_TAG_QID)
		ml_qid_term(id, n, h);
	else
		ml_msgid_term(id, n, h);
	ml_buf_reset(b);
	ml_buf_putc(b, (char)tag);
	ml_buf_append(b, (const char *)h, ML_ID_TERM_BYTES);
}

int ml_reports_join(MDB_txn *txn, ml_store_t *s, const char *msgid, size_t n, const char *qid, size_t qn,
                    const ml_report_t *r, unsigned *found)
{
	*found = 0;
	if (!qn && !n)
		return ML_EINVAL;
	join_t j = { txn, s, msgid, qid, NULL, n, qn, 0, *r, 0, 0, 0 };
	ml_buf_t key = ML_BUF_INIT;
	id_key(&key, qn ? ML_TAG_QID : ML_TAG_MSGID, qn ? qid : msgid, qn ? qn : n);
	int rc = key.len == 1 + ML_ID_TERM_BYTES ? each_with_term(txn, s, key.data, key.len, join_one, &j) : ML_ENOMEM;
	ml_buf_free(&key);
	*found = j.found;
	return rc ? rc : j.rc;
}

/* reapply: the message with this host and queue ID, else this message-id */
static int find_one(void *ctx, const ml_message_t *m)
{
	join_t *j = ctx;
	int match = j->qn ? slice_is(ml_message_str(m, m->queue_id), j->qid, j->qn) &&
	                    slice_is(ml_message_str(m, m->host), j->host, j->hn)
	                  : slice_is(ml_message_str(m, m->message_id), j->msgid, j->n);
	if (match)
		j->docid = m->docid;
	return match;
}

typedef struct {
	ml_report_t r;
	ml_buf_t val;
} held_t;

int ml_reports_reapply(MDB_txn *txn, ml_store_t *s, uint64_t *moved)
{
	if (moved)
		*moved = 0;
	if (!s->reports)
		return ML_OK;
	/* read every report first (they are few: one a person's click), then
	 * write: a move deletes and adds keys */
	held_t *held = NULL;
	size_t nheld = 0, cap = 0;
	MDB_cursor *c = NULL;
	int rc = ml_store_errcode(mdb_cursor_open(txn, s->reports, &c));
	MDB_val k, v;
	int mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (!rc && mrc == 0) {
		rc = ml_array_grow((void **)&held, &cap, sizeof *held, nheld + 1, 64);
		if (!rc) {
			held_t *h = &held[nheld++];
			memset(h, 0, sizeof *h);
			rc = key_parse(&k, &h->r);
			if (!rc && ml_buf_append(&h->val, v.mv_data, v.mv_size))
				rc = ML_ENOMEM;
		}
		mrc = rc ? 0 : mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (!rc && mrc != MDB_NOTFOUND)
		rc = ml_store_errcode(mrc);
	if (c)
		mdb_cursor_close(c);
	ml_strtab_t tab = ML_STRTAB_INIT;
	ml_message_t m;
	ml_message_init(&m);
	if (!rc)
		rc = ml_store_strtab(txn, s, &tab);
	uint64_t last_posted = 0;
	ml_buf_t key = ML_BUF_INIT;
	for (size_t i = 0; i < nheld && !rc; i++) {
		held_t *h = &held[i];
		const char *p = h->val.data ? h->val.data : "", *e = p + h->val.len;
		const char *z1 = memchr(p, '\0', (size_t)(e - p));
		const char *z2 = z1 ? memchr(z1 + 1, '\0', (size_t)(e - z1 - 1)) : NULL;
		if (!z2) {
			rc = ML_CORRUPT_BKPT;
			break;
		}
		join_t j = { txn, s, z2 + 1, z1 + 1, p, (size_t)(e - z2 - 1), (size_t)(z2 - z1 - 1),
		             (size_t)(z1 - p), h->r, 0, 0, 0 };
		/* still where it was? */
		MDB_val rv;
		int r = ml_store_row_get(txn, s, h->r.docid, &rv, NULL);
		if (r && r != ML_ENOTFOUND) {
			rc = r;
			break;
		}
		if (!r && !(rc = ml_row_decode(&tab, rv.mv_data, rv.mv_size, h->r.docid, &m)))
			find_one(&j, &m);
		if (rc)
			break;
		uint64_t to = j.docid;
		if (!to && j.qn) {
			id_key(&key, ML_TAG_QID, j.qid, j.qn);
			rc = each_with_term(txn, s, key.data, key.len, find_one, &j);
			to = j.docid;
		}
		if (!rc && !to && j.n) {
			j.qn = 0;
			id_key(&key, ML_TAG_MSGID, j.msgid, j.n);
			rc = each_with_term(txn, s, key.data, key.len, find_one, &j);
			to = j.docid;
		}
		if (rc || !to)
			continue;  /* its message is gone: kept as it is, no posting */
		if (to != h->r.docid) {
			unsigned char kb[KEY_FIXED + ML_REPORT_BY_MAX];
			MDB_val ok = { key_make(kb, &h->r), kb };
			rc = ml_store_errcode(mdb_del(txn, s->reports, &ok, NULL));
			h->r.docid = to;
			MDB_val nk = { key_make(kb, &h->r), kb }, nv = { h->val.len, h->val.data };
			if (!rc)
				rc = ml_store_errcode(mdb_put(txn, s->reports, &nk, &nv, 0));
			if (moved)
				(*moved)++;
		}
		if (!rc && to != last_posted)
			rc = posting(txn, s, to, 0);
		last_posted = to;
	}
	ml_buf_free(&key);
	ml_message_free(&m);
	ml_strtab_free(&tab);
	for (size_t i = 0; i < nheld; i++)
		ml_buf_free(&held[i].val);
	free(held);
	return rc;
}

uint64_t ml_reports_count(MDB_txn *txn, ml_store_t *s)
{
	MDB_stat st;
	if (!s->reports || mdb_stat(txn, s->reports, &st))
		return 0;
	return st.ms_entries;
}
