/*
 * index/counts.c, index/rowsum.c and the histogram's use of them
 * (tools/histogram.c): for
 * generated logs ingested piece by piece in small batches (a message's
 * lines split across ingests, so that stored records are replaced), the
 * histogram of every plain query read from the table counts is the
 * counting walk's to the byte (the walk forced with $MTALOG_HIST_WALK):
 * all rows, each recipient domain, each status and sets of them, time
 * ranges on hour boundaries and not, the group "released"; and the table
 * did answer them.  Likewise every query whose other filters are the
 * message's (each sender domain, senders, prefixes of them, subject words
 * and prefixes, directions, hosts, client IPs, with statuses and time
 * ranges) from the summaries of the table rowsum, and the queries they
 * cannot answer (a phrase, a regex, a recipient address, a message-id, the
 * mark "reported") by the walk.  The same after prune, compact, reindex and
 * reindex --reparse; a database without the tables (an older one, or one
 * with counts and without rowsum) is
 * answered by the walk, even after more ingests, until `reindex` builds
 * them; tables found wrong by a writer are no longer used; an upgraded
 * schema-5 database has them.
 */
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/syslog.h"
#include "index/counts.h"
#include "index/query.h"
#include "index/rowsum.h"
#include "index/tokens.h"
#include "tools/histogram.h"

#define PIECES 6
#define MAX_DOMAINS 48

/* Distinct values (any case), at most MAX_DOMAINS. */
typedef struct {
	char *v[MAX_DOMAINS];
	size_t n;
} names_t;

/* What the database of a test holds: its recipient domains, the senders,
 * their domains, subject words, hosts and client IPs, and its hours. */
typedef struct {
	names_t to_domains, from, from_domains, words, hosts, ips;
	names_t to_prefixes;   /* the first two bytes of recipients' addresses */
	uint64_t first_hour, last_hour;
} span_t;

static void names_free(names_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void span_free(span_t *sp)
{
	names_t *all[] = { &sp->to_domains, &sp->from, &sp->from_domains, &sp->words, &sp->hosts, &sp->ips,
	                   &sp->to_prefixes };
	for (size_t i = 0; i < ML_ARRAY_LEN(all); i++)
		names_free(all[i]);
	memset(sp, 0, sizeof *sp);
}

static void note(names_t *l, ml_slice_t d)
{
	if (!d.n || l->n == MAX_DOMAINS)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == d.n && !strncasecmp(l->v[i], d.p, d.n))
			return;
	l->v[l->n++] = strndup(d.p, d.n);
}

static void note_word(void *ctx, const char *w, size_t n)
{
	if (n >= 3)
		note(ctx, ml_slice(w, n));
}

static int note_message(void *ctx, const ml_message_t *m)
{
	span_t *sp = ctx;
	uint64_t hour = ml_docid_sec(m->docid) / 3600;
	if (!sp->first_hour || hour < sp->first_hour)
		sp->first_hour = hour;
	if (hour > sp->last_hour)
		sp->last_hour = hour;
	for (uint32_t i = 0; i < m->nrcpts; i++) {
		note(&sp->to_domains, ml_addr_domain(ml_message_str(m, m->rcpts[i].to)));
		note(&sp->to_domains, ml_addr_domain(ml_message_str(m, m->rcpts[i].orig_to)));
		ml_slice_t to = ml_message_str(m, m->rcpts[i].to);
		if (to.n >= 2)
			note(&sp->to_prefixes, ml_slice(to.p, 2));
	}
	ml_slice_t from = ml_message_str(m, m->from), subj = ml_message_str(m, m->subject);
	note(&sp->from, from);
	note(&sp->from_domains, ml_addr_domain(from));
	ml_tokens_words(subj.p, subj.n, note_word, &sp->words);
	note(&sp->hosts, ml_message_str(m, m->host));
	note(&sp->ips, ml_message_str(m, m->client_ip));
	return 0;
}

enum { BY_WALK, BY_COUNTS, BY_ROWSUM };
static const char *const by_name[] = { "walk", "counts", "rowsum" };

/* The histogram of q as JSON text (malloc'd), by the walk or as ml_hist_run
 * chooses; *by: what answered (BY_*). */
static char *hist(ml_search_t *se, const ml_query_t *q, int walk, int *by)
{
	if (walk)
		setenv("MTALOG_HIST_WALK", "1", 1);
	else
		unsetenv("MTALOG_HIST_WALK");
	ml_hist_t h;
	char err[256] = "";
	int rc = ml_hist_run(&h, se, q, NULL, NULL, err, sizeof err);
	unsetenv("MTALOG_HIST_WALK");
	if (rc)
		fail_msg("histogram: %s: %s", ml_strerror(rc), err);
	assert_true(h.complete);
	*by = h.from_counts ? BY_COUNTS : h.from_rowsum ? BY_ROWSUM : BY_WALK;
	json_t *j = ml_hist_json(&h);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	ml_hist_free(&h);
	return s;
}

static void set(ml_query_t *q, const char *name, const char *v)
{
	char err[256];
	if (v && ml_query_set(q, name, v, err, sizeof err))
		fail_msg("%s=%s: %s", name, v, err);
}

static void at(char *buf, size_t n, uint64_t sec)
{
	ml_time_format((int64_t)sec * 1000000, buf, n);
}

typedef struct {
	ml_search_t *se;
	int want_table;          /* the table counts must answer (1) or must not (0) the plain queries;
	                          * 2: it answers them but those of the keys added later
	                          * (direction, recipient prefix): made before them */
	int want_rowsum;         /* the same of rowsum and the queries of the message's filters */
	unsigned compared, by[3];
	unsigned empty[3];       /* answers of no row, by what answered */
} run_t;

/* Compare the query of the parameters kv (name, value, ..., NULL; a NULL
 * value: not set) both ways; `by` must have answered it. */
static void compare_kv(run_t *r, const char *const *kv, int by)
{
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char what[1024] = "";
	for (size_t i = 0; kv[i]; i += 2) {
		set(&q, kv[i], kv[i + 1]);
		if (kv[i + 1])
			snprintf(what + strlen(what), sizeof what - strlen(what), " %s=%s", kv[i], kv[i + 1]);
	}
	int by_walk, by_run;
	char *a = hist(r->se, &q, 1, &by_walk);
	char *b = hist(r->se, &q, 0, &by_run);
	if (strcmp(a, b))
		fail_msg("%s (%s):\nwalk: %s\n%s: %s", what, by_name[by_run], a, by_name[by_run], b);
	assert_int_equal(by_walk, BY_WALK);
	if (by_run != by)
		fail_msg("%s: answered by the %s, not the %s", what, by_name[by_run], by_name[by]);
	r->compared++;
	r->by[by_run]++;
	r->empty[by_run] += strstr(a, "\"total\":0}") != NULL;
	ml_query_free(&q);
	free(a);
	free(b);
}

/* Compare one query both ways.  whole: the query is plain and its range
 * holds a whole hour (the table counts answers it when it is there); else
 * the summaries answer it when it has no recipient nor "reported". */
static void compare(run_t *r, const char *to, const char *status, const char *since, const char *until,
                    const char *from, int whole)
{
	const char *kv[] = { "to", to, "status", status, "since", since, "until", until, "from", from, NULL };
	int rowsum = r->want_rowsum && !to && !(status && strstr(status, "reported"));
	compare_kv(r, kv, whole && r->want_table && !from ? BY_COUNTS : rowsum ? BY_ROWSUM : BY_WALK);
}

/* Recipient prefixes of one and two characters (of the table's keys added
 * later: answered there when the table has them), and of three (walked). */
static void compare_prefixes(run_t *r, const span_t *sp, const char *since, const char *until)
{
	for (size_t i = 0; i < sp->to_prefixes.n && i < 16; i++) {
		const char *p = sp->to_prefixes.v[i];
		char one[8], two[8], up[8], three[8];
		snprintf(one, sizeof one, "%c*", p[0]);
		snprintf(two, sizeof two, "%.2s*", p);
		snprintf(up, sizeof up, "%.2s*", p);
		for (char *c = up; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		snprintf(three, sizeof three, "%.2se*", p);
		int table = r->want_table == 1 ? BY_COUNTS : BY_WALK;
		const char *kv1[] = { "to", one, NULL };
		compare_kv(r, kv1, table);
		const char *kv2[] = { "to", two, "status", i % 2 ? "delivered" : "bounced,delayed,blocked", NULL };
		compare_kv(r, kv2, table);
		const char *kv3[] = { "to", up, "since", since, "until", until, NULL };
		compare_kv(r, kv3, table);
		/* not from the table: three characters, a domain prefix, with "released" */
		const char *kv4[] = { "to", three, NULL };
		compare_kv(r, kv4, BY_WALK);
		const char *kv5[] = { "to", one, "status", "released", NULL };
		compare_kv(r, kv5, BY_WALK);
	}
	const char *kv6[] = { "to", "@e*", NULL };
	compare_kv(r, kv6, BY_WALK);
}

/* The queries of the message's filters: each with statuses and time
 * ranges (since .. until), the summaries' (or, without them, the walk's);
 * and some they cannot answer. */
static void compare_message_filters(run_t *r, const span_t *sp, const char *since, const char *until)
{
	static const char *const statuses[] = {
		NULL, "delivered", "bounced,delayed,delivered", "blocked,quarantined,expired,delivered", "released,delivered",
		"bounced,released", "delayed,queued,expired",
	};
	int by = r->want_rowsum ? BY_ROWSUM : BY_WALK;
	unsigned k = 0;
	const struct { const char *name; const names_t *l; } lists[] = {
		{ "from", &sp->from_domains }, { "from", &sp->from }, { "subject", &sp->words },
		{ "host", &sp->hosts }, { "ip", &sp->ips },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(lists); i++)
		for (size_t j = 0; j < lists[i].l->n && j < 12; j++, k++) {
			char v[400];
			const char *st = statuses[k % ML_ARRAY_LEN(statuses)];
			snprintf(v, sizeof v, "%s%s", lists[i].l == &sp->from_domains ? "@" : "", lists[i].l->v[j]);
			const char *kv[] = { lists[i].name, v, "status", st, NULL };
			compare_kv(r, kv, by);
			const char *kv2[] = { lists[i].name, v, "status", st, "since", since, "until", until, NULL };
			compare_kv(r, kv2, by);
			/* a prefix of it */
			size_t half = ML_MAX(strlen(v) / 2, 2);
			v[half] = '*';
			v[half + 1] = '\0';
			const char *kv3[] = { lists[i].name, v, "since", k % 2 ? since : NULL, NULL };
			if (strcmp(lists[i].name, "host") && strcmp(lists[i].name, "ip"))
				compare_kv(r, kv3, by);
		}
	const char *const dirs[] = { "inbound", "outbound", "internal" };
	for (size_t i = 0; i < ML_ARRAY_LEN(dirs); i++) {
		/* a direction and statuses alone: the table counts, when it counts directions */
		const char *kv[] = { "direction", dirs[i], "status", statuses[i + 1], NULL };
		compare_kv(r, kv, r->want_table == 1 ? BY_COUNTS : by);
		const char *kv1[] = { "direction", dirs[i], "since", since, "until", until, NULL };
		compare_kv(r, kv1, r->want_table == 1 ? BY_COUNTS : by);
		/* with "released" or a domain: not from the table */
		const char *kv0[] = { "direction", dirs[i], "status", "released", NULL };
		compare_kv(r, kv0, by);
		const char *kv2[] = { "direction", dirs[i], "since", since, "until", until, "subject",
		                      sp->words.n ? sp->words.v[i % sp->words.n] : NULL, NULL };
		compare_kv(r, kv2, by);
	}
	if (sp->words.n > 1 && sp->from_domains.n) {
		char two[300], dom[300];
		snprintf(two, sizeof two, "%s %s", sp->words.v[0], sp->words.v[1]);
		snprintf(dom, sizeof dom, "@%s", sp->from_domains.v[0]);
		const char *kv[] = { "subject", two, "from", dom, "direction", "outbound", NULL };
		compare_kv(r, kv, by);
		/* what the summaries do not answer: a phrase, a regex, a recipient
		 * address, a message-id, "reported" */
		snprintf(two, sizeof two, "\"%s %s\"", sp->words.v[0], sp->words.v[1]);
		const char *kv2[] = { "subject", two, NULL };
		compare_kv(r, kv2, BY_WALK);
		const char *kv3[] = { "subject_re", sp->words.v[0], "from", dom, NULL };
		compare_kv(r, kv3, BY_WALK);
		const char *kv4[] = { "from", dom, "status", "delivered,reported", NULL };
		compare_kv(r, kv4, BY_WALK);
		const char *kv5[] = { "from", dom, "to", "someone@example.org", NULL };
		compare_kv(r, kv5, BY_WALK);
		const char *kv6[] = { "msgid", "abc@example.org", NULL };
		compare_kv(r, kv6, BY_WALK);
	}
}

/* The summaries of the messages stored, oldest first. */
typedef struct {
	ml_rowsum_t *v;
	size_t n, cap;
} sums_t;

static int add_sum(void *ctx, const ml_rowsum_t *r)
{
	sums_t *l = ctx;
	assert_int_equal(ml_array_grow((void **)&l->v, &l->cap, sizeof *l->v, l->n + 1, 256), 0);
	l->v[l->n++] = *r;
	return 0;
}

static int add_message_sum(void *ctx, const ml_message_t *m)
{
	ml_rowsum_t r;
	return ml_rowsum_of(&r, m) ? add_sum(ctx, &r) : 0;
}

/* The table rowsum holds the summary of every message stored with rows,
 * and nothing else. */
static void check_summaries(ml_store_t *s, ml_search_t *se)
{
	sums_t want = { NULL, 0, 0 }, got = { NULL, 0, 0 };
	assert_int_equal(ml_search_each(se, add_message_sum, &want), 0);
	MDB_txn *txn;
	assert_int_equal(ml_store_read_begin(s, &txn), 0);
	assert_true(ml_rowsum_ready(txn, s));
	assert_int_equal(ml_rowsum_each(txn, s, add_sum, &got), 0);
	mdb_txn_abort(txn);
	assert_true(want.n > 100);
	assert_int_equal(got.n, want.n);
	for (size_t i = 0; i < want.n; i++) {
		assert_int_equal(got.v[i].docid, want.v[i].docid);
		assert_int_equal(got.v[i].released, want.v[i].released);
		assert_memory_equal(got.v[i].n, want.v[i].n, sizeof want.v[i].n);
	}
	free(want.v);
	free(got.v);
}

/* Every kind of query on db, both ways. */
static void check_db(const char *db, int want_table, int want_rowsum, const char *what)
{
	ml_store_t *s;
	ml_search_t *se;
	char err[512];
	if (ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err))
		fail_msg("%s: %s", what, err);
	assert_int_equal(ml_search_new(&se, s), 0);
	span_t sp;
	memset(&sp, 0, sizeof sp);
	assert_int_equal(ml_search_each(se, note_message, &sp), 0);
	assert_true(sp.to_domains.n > 3 && sp.last_hour > sp.first_hour + 12);
	assert_true(sp.from_domains.n > 3 && sp.words.n > 3 && sp.hosts.n && sp.ips.n);
	assert_true(sp.to_prefixes.n > 3);
	if (want_rowsum)
		check_summaries(s, se);
	run_t r = { se, want_table, want_rowsum, 0, { 0 }, { 0 } };
	static const char *const statuses[] = {
		"delivered", "delayed", "bounced", "expired", "queued", "quarantined", "blocked",
		"cleared", "delivered,bounced", "blocked,quarantined,expired",
		"released", "bounced,released", "released,delivered,delayed,bounced,expired,queued,quarantined,blocked",
	};
	compare(&r, NULL, NULL, NULL, NULL, NULL, 1);
	for (size_t i = 0; i < ML_ARRAY_LEN(statuses); i++)
		compare(&r, NULL, statuses[i], NULL, NULL, NULL, 1);
	for (size_t i = 0; i < sp.to_domains.n; i++) {
		char to[300];
		snprintf(to, sizeof to, "@%s", sp.to_domains.v[i]);
		compare(&r, to, NULL, NULL, NULL, NULL, 1);
		compare(&r, to, statuses[i % ML_ARRAY_LEN(statuses)], NULL, NULL, NULL, 1);
	}
	/* a domain as a bare word, and in capitals */
	char up[300];
	snprintf(up, sizeof up, "@%s", sp.to_domains.v[0]);
	for (char *p = up; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	compare(&r, up, NULL, NULL, NULL, NULL, 1);
	compare(&r, sp.to_domains.v[1], "delivered", NULL, NULL, NULL, 1);
	/* time ranges: on hour boundaries, inside hours, within one hour, across
	 * two hours with no whole one between, open at one end, empty */
	uint64_t h0 = sp.first_hour + 3, h1 = sp.last_hour - 3;
	char a[40], b[40], c[40], d[40], e[40], f[40], g[40], k[40];
	at(a, sizeof a, h0 * 3600);
	at(b, sizeof b, h1 * 3600 + 3599);
	at(c, sizeof c, h0 * 3600 + 1234);
	at(d, sizeof d, h1 * 3600 + 77);
	at(e, sizeof e, (h0 + 2) * 3600 + 100);
	at(f, sizeof f, (h0 + 2) * 3600 + 200);
	at(g, sizeof g, (h0 + 3) * 3600 + 50);
	at(k, sizeof k, (h0 + 9) * 3600 + 1800);
	const struct { const char *since, *until; int whole; } ranges[] = {
		{ a, b, 1 }, { c, d, 1 }, { a, d, 1 }, { c, b, 1 }, { e, f, 0 }, { e, g, 0 },
		{ c, NULL, 1 }, { NULL, k, 1 }, { d, c, 0 },
	};
	const char *dom = up;
	for (size_t i = 0; i < ML_ARRAY_LEN(ranges); i++) {
		compare(&r, NULL, NULL, ranges[i].since, ranges[i].until, NULL, ranges[i].whole);
		compare(&r, NULL, "delivered", ranges[i].since, ranges[i].until, NULL, ranges[i].whole);
		compare(&r, dom, NULL, ranges[i].since, ranges[i].until, NULL, ranges[i].whole);
		compare(&r, dom, "bounced,delayed", ranges[i].since, ranges[i].until, NULL, ranges[i].whole);
		compare(&r, NULL, "blocked,released", ranges[i].since, ranges[i].until, NULL, ranges[i].whole);
	}
	/* not plain: the walk answers, the same */
	compare(&r, NULL, "delivered,reported", NULL, NULL, NULL, 0);
	compare(&r, NULL, NULL, NULL, NULL, dom, 0);
	compare(&r, "@example*", NULL, NULL, NULL, NULL, 0);
	compare_message_filters(&r, &sp, c, d);
	compare_prefixes(&r, &sp, c, d);
	if (want_table)
		assert_true(r.by[BY_COUNTS] > 50);
	else
		assert_int_equal(r.by[BY_COUNTS], 0);
	if (want_rowsum) {
		assert_true(r.by[BY_ROWSUM] > 100);
		/* most of them match rows: the counts compared are not all 0 */
		assert_true(r.empty[BY_ROWSUM] < r.by[BY_ROWSUM] / 2);
	}
	else
		assert_int_equal(r.by[BY_ROWSUM], 0);
	span_free(&sp);
	ml_search_free(se);
	ml_store_close(s);
}

static void mtalog_ok(const char *what, const char *fmt, const char *db, const char *arg)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, fmt, db, arg);
	if (rc)
		fail_msg("%s: exit %d: %s", what, rc, err);
	free(out);
	free(err);
}

/* Run a command on db (fmt with db and arg), then compare every query
 * (want: both tables answer, or neither). */
static void then_check(const char *db, int want, const char *what, const char *fmt, const char *arg)
{
	mtalog_ok(what, fmt, db, arg);
	check_db(db, want, want, what);
}

/* A log of bench/gen (seed, messages) cut into PIECES pieces of lines;
 * pieces[i] malloc'd, the caller's. */
static void gen_pieces(const char *dir, unsigned seed, unsigned messages, char *pieces[PIECES], size_t sizes[PIECES])
{
	const char *build = getenv("BUILD");
	const char *log = tl_path(dir, "gen.log");
	char cmd[8400];
	snprintf(cmd, sizeof cmd, "ASAN_OPTIONS=detect_leaks=0 %s/bench/gen --messages %u --seed %u --days 2 --out '%s' 2>/dev/null",
	         build && *build ? build : "build", messages, seed, log);
	if (system(cmd) != 0)
		fail_msg("bench/gen could not write %s", log);
	size_t n;
	char *buf = tl_read_file(log, &n);
	assert_non_null(buf);
	size_t from = 0;
	for (int i = 0; i < PIECES; i++) {
		size_t to = i == PIECES - 1 ? n : n / PIECES * (size_t)(i + 1);
		while (to < n && buf[to - 1] != '\n')
			to++;
		sizes[i] = to - from;
		pieces[i] = malloc(sizes[i] + 1);
		memcpy(pieces[i], buf + from, sizes[i]);
		from = to;
	}
	free(buf);
}

/* Append piece i to the log and ingest it (the checkpoint resumes where
 * the last ingest ended), in batches of a few hundred lines. */
static void ingest_piece(const char *db, const char *log, char *pieces[PIECES], size_t sizes[PIECES], int i)
{
	tl_append_file(log, pieces[i], sizes[i]);
	mtalog_ok("ingest", "--db %s ingest --quiet --no-sync --batch-lines 300 %s", db, log);
}

/* A database built piece by piece from the log of a seed, but its last
 * piece (last_piece). */
typedef struct {
	const char *db, *log;
	char *pieces[PIECES];
	size_t sizes[PIECES];
} fixture_t;

static void build(fixture_t *f, const char *name, unsigned seed)
{
	char n[64];
	snprintf(n, sizeof n, "%s.db", name);
	f->db = tl_path(tl_dir, n);
	snprintf(n, sizeof n, "%s.log", name);
	f->log = tl_path(tl_dir, n);
	unlink(f->db);
	unlink(f->log);
	gen_pieces(tl_dir, seed, 1500, f->pieces, f->sizes);
	for (int i = 0; i < PIECES - 1; i++)
		ingest_piece(f->db, f->log, f->pieces, f->sizes, i);
}

static void last_piece(fixture_t *f)
{
	ingest_piece(f->db, f->log, f->pieces, f->sizes, PIECES - 1);
}

/* reindex, and the table answers again */
static void reindex_then_table(fixture_t *f)
{
	then_check(f->db, 1, "reindex", "--db %s reindex --quiet%s", "");
	for (int i = 0; i < PIECES; i++)
		free(f->pieces[i]);
}

/* A value that does not decode under each key of the table rowsum. */
static void spoil_rowsum(MDB_txn *txn, ml_store_t *s)
{
	MDB_cursor *c;
	assert_int_equal(mdb_cursor_open(txn, s->rowsum, &c), 0);
	MDB_val k, v, bad = { 1, "\xff" };
	unsigned n = 0;
	for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++)
		assert_int_equal(mdb_cursor_put(c, &k, &bad, MDB_CURRENT), 0);
	assert_true(n > 3);
	mdb_cursor_close(c);
}

/* Take the tables out of db: old, as a database made before them (no
 * tables, no flags; with 2, the table rowsum alone: a database made between
 * the two); else wrong (counts emptied, rowsum's values spoilt, still
 * marked complete). */
static void spoil_table(const char *db, int old)
{
	ml_store_t *s;
	char err[512];
	if (ml_store_open(&s, db, 0, err, sizeof err))
		fail_msg("%s", err);
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	if (old != 2)
		assert_int_equal(mdb_drop(txn, s->counts, old), 0);
	if (old == 1)
		assert_int_equal(ml_counts_set_ready(txn, s, 0), 0);
	if (old) {
		assert_int_equal(mdb_drop(txn, s->rowsum, 1), 0);
		assert_int_equal(ml_rowsum_set_ready(txn, s, 0), 0);
	} else {
		spoil_rowsum(txn, s);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	ml_store_close(s);
}

static void maintained_through_everything(void **state)
{
	(void)state;
	fixture_t f;
	build(&f, "c", 7);
	check_db(f.db, 1, 1, "ingested in pieces");
	last_piece(&f);
	check_db(f.db, 1, 1, "the last piece");
	/* prune the first day, in small transactions */
	then_check(f.db, 1, "prune", "--db %s prune --quiet --no-sync --batch 100 --older-than %s",
	           "2026-11-01T17:30:00Z");
	then_check(f.db, 1, "compact", "--db %s compact%s", "");
	then_check(f.db, 1, "reindex --reparse", "--db %s reindex --reparse --quiet%s", "");
	reindex_then_table(&f);
}

/* A database without the tables (old 1: made before them) or without
 * rowsum alone (old 2: made between the two): what they would answer is
 * walked, after an ingest and a prune too, until reindex builds them. */
static void walks_until_reindex(const char *name, unsigned seed, int old)
{
	fixture_t f;
	build(&f, name, seed);
	spoil_table(f.db, old);
	int counts = old == 2;
	check_db(f.db, counts, 0, "without the tables");
	/* a writer makes the tables, empty, and leaves them alone */
	last_piece(&f);
	check_db(f.db, counts, 0, "without the tables, after an ingest");
	mtalog_ok("prune", "--db %s prune --quiet --no-sync --older-than %s", f.db, "2026-11-01T06:00:00Z");
	check_db(f.db, counts, 0, "prune without the tables");
	reindex_then_table(&f);
}

/* Take the keys added later (directions, recipient prefixes) out of the
 * table counts of db, and their flag: a database whose table was made
 * before them. */
static void table_without_later_keys(const char *db)
{
	ml_store_t *s;
	char err[512];
	if (ml_store_open(&s, db, 0, err, sizeof err))
		fail_msg("%s", err);
	MDB_txn *txn;
	assert_int_equal(ml_store_write_begin(s, &txn), 0);
	MDB_cursor *c;
	assert_int_equal(mdb_cursor_open(txn, s->counts, &c), 0);
	MDB_val k, v;
	unsigned n = 0;
	for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if ((k.mv_size == 6 && ((const char *)k.mv_data)[4] == ML_TAG_DIRECTION) ||
		    (k.mv_size > 4 && ((const char *)k.mv_data)[4] == ML_COUNTS_TAG_PREFIX)) {
			assert_int_equal(mdb_cursor_del(c, 0), 0);
			n++;
		}
	assert_true(n > 10);
	mdb_cursor_close(c);
	assert_int_equal(ml_meta_set_flag(txn, s, ML_META_COUNTS_MORE, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	ml_store_close(s);
}

/* A table made before the keys of directions and prefixes: the plain
 * queries are read there, those by direction walk the summaries and those
 * by prefix the rows; ingest and prune keep it as it is (a prune that took
 * such keys out of it would find it wrong and drop it); reindex makes
 * them. */
static void table_made_before_later_keys(void **state)
{
	(void)state;
	fixture_t f;
	build(&f, "d", 17);
	table_without_later_keys(f.db);
	check_db(f.db, 2, 1, "a table without the later keys");
	last_piece(&f);
	check_db(f.db, 2, 1, "a table without the later keys, after an ingest");
	mtalog_ok("prune", "--db %s prune --quiet --no-sync --older-than %s", f.db, "2026-11-01T06:00:00Z");
	check_db(f.db, 2, 1, "a table without the later keys, after a prune");
	reindex_then_table(&f);
}

static void older_database_walks_until_reindex(void **state)
{
	(void)state;
	walks_until_reindex("o", 11, 1);
}

static void database_without_rowsum_walks_until_reindex(void **state)
{
	(void)state;
	walks_until_reindex("n", 13, 2);
}

static void wrong_table_left_alone(void **state)
{
	(void)state;
	fixture_t f;
	build(&f, "w", 5);
	spoil_table(f.db, 0);
	/* the last piece updates messages stored before: their old rows
	 * cannot be taken from counts that are not there */
	last_piece(&f);
	check_db(f.db, 0, 0, "after a writer found the table wrong");
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s stats --json", f.db), 0);
	assert_non_null(strstr(out, "counts table inconsistent"));
	assert_non_null(strstr(out, "rowsum table inconsistent"));
	free(out);
	free(err);
	reindex_then_table(&f);
}

static void upgraded_database_has_the_table(void **state)
{
	(void)state;
	const char *db = tl_path(tl_dir, "u.db");
	tl_gunzip("tests/data/schema5.db.gz", db);
	char lock[4200];
	snprintf(lock, sizeof lock, "%s-lock", db);
	unlink(lock);
	mtalog_ok("upgrade", "--db %s upgrade --quiet --no-sync%s", db, "");
	ml_store_t *s;
	ml_search_t *se;
	char err[512];
	if (ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(ml_search_new(&se, s), 0);
	static const char *const queries[][2] = {
		{ NULL, NULL }, { NULL, "bounced" }, { "@example.com", NULL }, { "@example.net", "cleared" },
		{ NULL, "released" }, { NULL, "delivered,released" }, { "@example.com", "released" },
	};
	run_t r = { se, 1, 1, 0, { 0 }, { 0 } };
	for (size_t i = 0; i < ML_ARRAY_LEN(queries); i++)
		compare(&r, queries[i][0], queries[i][1], NULL, NULL, NULL, 1);
	ml_search_free(se);
	ml_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(maintained_through_everything),
		cmocka_unit_test(older_database_walks_until_reindex),
		cmocka_unit_test(database_without_rowsum_walks_until_reindex),
		cmocka_unit_test(wrong_table_left_alone),
		cmocka_unit_test(table_made_before_later_keys),
		cmocka_unit_test(upgraded_database_has_the_table),
	};
	return TL_RUN_DEFAULT("counts", tests, tl_dir_setup, tl_dir_teardown);
}
