#include "query.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/dynlib.h"
#include "engine/syslog.h"
#include "index/postings.h"
#include "index/record.h"
#include "index/relit.h"
#include "index/reports.h"
#include "index/rowsum.h"
#include "index/tokens.h"

/* An address prefix that stands for more terms than this in a day is read
 * as one gathered list (ml_post_prefix_ids) rather than a union of one
 * iterator a term (each seek asks every one) */
#define PREFIX_KIDS 16
/* Subject words under one prefix ("invoic*"), in one day: past this many the
 * prefix is checked on the records of the other filters' candidates instead
 * (info->prefix_capped) */
#define MAX_WORD_PREFIX_KEYS ML_QUERY_WORD_PREFIX_MAX
/* Words of a day that may hold a weak literal of a regex past their start
 * (index/relit.h): past this many the literal is not looked up (the regex
 * is checked on the other filters' candidates, info->prefix_capped) */
#define MAX_INNER_TERMS 64
#define MAX_ITERS 64

const char *const ml_query_params[] = {
	"from", "to", "subject", "subject_re", "status", "direction", "since", "until",
	"msgid", "ip", "host", "queue_id", "limit", NULL
};

/* PCRE2, loaded by the first search by regular expression
 * (engine/dynlib.h): its functions, by the names its header maps to */
#ifndef ML_PCRE2_SONAME
#define ML_PCRE2_SONAME "libpcre2-8.so.0"
#define ML_PCRE2_PACKAGE "libpcre2-8-0"   /* Debian's package of that soname */
#endif
#define ML_PCRE2_FUNCS(X)                                                                          \
	X(compile) X(get_error_message) X(code_free) X(jit_compile) X(match_data_create_from_pattern) \
	X(match_data_free) X(match_context_create) X(match_context_free) X(set_match_limit)           \
	X(set_depth_limit) X(match)
static struct {
#define ML_PCRE2_MEMBER(f) __typeof__(pcre2_##f) *f;
	ML_PCRE2_FUNCS(ML_PCRE2_MEMBER)
#undef ML_PCRE2_MEMBER
} pc;
static const char *const pc_names[] = {
#define ML_PCRE2_NAME(f) "pcre2_" #f "_8",
	ML_PCRE2_FUNCS(ML_PCRE2_NAME)
#undef ML_PCRE2_NAME
};
static void **const pc_fns[] = {
#define ML_PCRE2_SLOT(f) ML_DYNLIB_SLOT(pc.f),
	ML_PCRE2_FUNCS(ML_PCRE2_SLOT)
#undef ML_PCRE2_SLOT
};

/* PCRE2 loaded: ML_OK, or ML_EIO with err set (and a line on stderr, once) */
static int pc_load(char *err, size_t errlen)
{
	static ml_dynlib_once_t once;
	static const ml_dynlib_t lib = { ML_PCRE2_SONAME, ML_PCRE2_PACKAGE, "mtalog" };
	int rc = ml_dynlib_need(&once, &lib, pc_names, pc_fns, ML_ARRAY_LEN(pc_names));
	if (rc)
		snprintf(err, errlen, "subject_re: a search by regular expression needs %s, which cannot be loaded",
		         ML_PCRE2_SONAME);
	return rc;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? ML_OK : ML_ENOMEM;
}

static int parse_status(const char *v, uint32_t *mask, char *err, size_t errlen)
{
	*mask = 0;
	const char *p = v;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && *p == ' ') { p++; n--; }
		while (n && p[n - 1] == ' ') n--;
		ml_status_t st = ml_status_parse(p, n);
		if (st)
			*mask |= 1u << st;
		else if (n == 7 && memcmp(p, "cleared", 7) == 0)
			*mask |= 1u << ML_ST_DELIVERED | 1u << ML_ST_DELAYED | 1u << ML_ST_BOUNCED |
			         1u << ML_ST_EXPIRED | 1u << ML_ST_QUEUED;
		else if (n == 8 && memcmp(p, "released", 8) == 0)
			*mask |= ML_QUERY_RELEASED;
		else if (n == 8 && memcmp(p, "reported", 8) == 0)
			*mask |= ML_QUERY_REPORTED;
		else if (n == 3 && memcmp(p, "any", 3) == 0)
			*mask |= 0;
		else {
			snprintf(err, errlen, "status: unknown status '%.*s' (delivered, delayed, bounced, "
			         "expired, queued, quarantined, blocked, cleared, released, reported)", (int)n, p);
			return ML_EINVAL;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return ML_OK;
}

int ml_query_set(ml_query_t *q, const char *name, const char *v, char *err, size_t errlen)
{
	int64_t t;
	if (!strcmp(name, "from"))
		return set_str(&q->from, v);
	if (!strcmp(name, "to"))
		return set_str(&q->to, v);
	if (!strcmp(name, "subject"))
		return set_str(&q->subject, v);
	if (!strcmp(name, "msgid")) {
		size_t n = strlen(v);
		if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
			free(q->msgid);
			q->msgid = strndup(v + 1, n - 2);
			return q->msgid ? ML_OK : ML_ENOMEM;
		}
		return set_str(&q->msgid, v);
	}
	if (!strcmp(name, "ip"))
		return set_str(&q->ip, v);
	if (!strcmp(name, "host"))
		return set_str(&q->host, v);
	if (!strcmp(name, "queue_id"))
		return set_str(&q->queue_id, v);
	if (!strcmp(name, "subject_re")) {
		int ec;
		PCRE2_SIZE off;
		if (pc_load(err, errlen))
			return ML_EIO;
		pcre2_code *re = pc.compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED,
		                            PCRE2_UTF | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[256];
			pc.get_error_message(ec, msg, sizeof msg);
			snprintf(err, errlen, "subject_re: %s at offset %zu", (char *)msg, (size_t)off);
			return ML_EINVAL;
		}
		pc.code_free(re);
		return set_str(&q->subject_re, v);
	}
	if (!strcmp(name, "status"))
		return parse_status(v, &q->status_mask, err, errlen);
	if (!strcmp(name, "direction")) {
		if (!strcmp(v, "in") || !strcmp(v, "inbound"))
			q->direction = ML_DIR_INBOUND;
		else if (!strcmp(v, "out") || !strcmp(v, "outbound"))
			q->direction = ML_DIR_OUTBOUND;
		else if (!strcmp(v, "internal"))
			q->direction = ML_DIR_INTERNAL;
		else if (!strcmp(v, "both") || !strcmp(v, "any") || !*v)
			q->direction = 0;
		else {
			snprintf(err, errlen, "direction: '%s' is not in, out, internal or both", v);
			return ML_EINVAL;
		}
		return ML_OK;
	}
	if (!strcmp(name, "since") || !strcmp(name, "until")) {
		if (ml_time_parse_user(v, time(NULL), &t)) {
			snprintf(err, errlen, "%s: '%s' is not a time (2024-01-02, 2024-01-02T03:04:05Z, 2h, 7d)", name, v);
			return ML_EINVAL;
		}
		if (name[0] == 's')
			q->since_us = t;
		else
			q->until_us = t > 0 ? t : -1;  /* until before 1970: no row (0 is "open") */
		return ML_OK;
	}
	if (!strcmp(name, "limit")) {
		char *end;
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 1 || n > (long)ML_QUERY_MAX_LIMIT) {
			snprintf(err, errlen, "limit: '%s' is not a number from 1 to %u", v, ML_QUERY_MAX_LIMIT);
			return ML_EINVAL;
		}
		q->limit = (unsigned)n;
		return ML_OK;
	}
	snprintf(err, errlen, "unknown parameter '%s'", name);
	return ML_ENOTFOUND;
}

void ml_query_free(ml_query_t *q)
{
	free(q->from); free(q->to); free(q->subject); free(q->subject_re);
	free(q->msgid); free(q->ip); free(q->host); free(q->queue_id);
	memset(q, 0, sizeof *q);
}

/* ---- matching ---- */

static int ieq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || strncasecmp(a, b, an) == 0);
}

int ml_addr_match(const char *p, ml_slice_t a)
{
	size_t pn = strlen(p);
	if (pn == 0 || !strcmp(p, "<>"))
		return a.n == 0;
	if (p[pn - 1] == '*') {
		if (p[0] == '@') {
			ml_slice_t d = ml_addr_domain(a);
			return d.n >= pn - 2 && strncasecmp(d.p, p + 1, pn - 2) == 0;
		}
		return a.n >= pn - 1 && strncasecmp(a.p, p, pn - 1) == 0;
	}
	if (p[0] == '@' || !strchr(p, '@')) {
		const char *dp = p[0] == '@' ? p + 1 : p;
		ml_slice_t d = ml_addr_domain(a);
		return ieq(d.p, d.n, dp, strlen(dp));
	}
	return ieq(a.p, a.n, p, pn);
}

/* ---- postings iterators ---- */

/* One term's docids in one bucket, or the union of several. */
typedef struct iter {
	ml_plist_t pl;
	struct iter *kids;      /* union of kids when nkids > 0 */
	unsigned nkids, kcap;
	ml_ids_t ids;           /* or, when gathered, the union's docids, newest first */
	size_t pos;             /* the next of ids to look at */
	int gathered;
	uint64_t val;           /* last answer (largest docid <= last target) */
	int state;              /* 0 fresh, 1 positioned, 2 exhausted */
	uint64_t count;
} iter_t;

static void iter_free(iter_t *it)
{
	ml_plist_close(&it->pl);
	for (unsigned i = 0; i < it->nkids; i++)
		iter_free(&it->kids[i]);
	free(it->kids);
	free(it->ids.v);
	memset(it, 0, sizeof *it);
}

static int iter_key(iter_t *it, MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, uint32_t bucket)
{
	memset(it, 0, sizeof *it);
	int rc = ml_plist_open(&it->pl, txn, dbi, key, n, bucket);
	it->count = it->pl.count;
	it->state = it->count ? 0 : 2;
	return rc;
}

static iter_t *iter_kid(iter_t *it)
{
	if (it->nkids == it->kcap) {
		unsigned cap = it->kcap ? it->kcap * 2 : 8;
		iter_t *nk = realloc(it->kids, cap * sizeof *nk);
		if (!nk)
			return NULL;
		it->kids = nk;
		it->kcap = cap;
	}
	return &it->kids[it->nkids++];
}

/* Largest docid <= target, or 0 when none.  Targets only go down. */
static uint64_t iter_seek(iter_t *it, uint64_t target)
{
	if (it->state == 2)
		return 0;
	if (it->state == 1 && target >= it->val)
		return it->val;
	uint64_t best = 0;
	if (it->gathered) {
		/* newest first: gallop past the docids above target, then halve */
		const uint64_t *v = it->ids.v;
		size_t n = it->ids.n, lo = it->pos, step = 1;
		while (lo + step < n && v[lo + step] > target) {
			lo += step;
			step *= 2;
		}
		size_t hi = ML_MIN(lo + step, n);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (v[mid] > target)
				lo = mid + 1;
			else
				hi = mid;
		}
		it->pos = lo;
		best = lo < n ? v[lo] : 0;
	} else if (it->nkids) {
		for (unsigned i = 0; i < it->nkids; i++) {
			uint64_t v = iter_seek(&it->kids[i], target);
			if (v > best)
				best = v;
		}
	} else {
		best = ml_plist_seek(&it->pl, target);
	}
	it->val = best;
	it->state = best ? 1 : 2;
	return best;
}

/* Union of every term under a prefix (tag included), in one bucket. */
typedef struct {
	iter_t *it;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t bucket;
	unsigned max;
	int too_many, rc;
} prefix_t;

/* One more kid of the union it: the docids of term key in bucket. */
static int add_kid(iter_t *it, MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, uint32_t bucket)
{
	iter_t *kid = iter_kid(it);
	if (!kid)
		return ML_ENOMEM;
	int rc = iter_key(kid, txn, dbi, key, n, bucket);
	if (!rc)
		it->count += kid->count;
	return rc;
}

static int add_prefix_term(void *ctx, const char *key, size_t n)
{
	prefix_t *p = ctx;
	if (p->it->nkids >= p->max) {
		p->too_many = 1;
		return 1;
	}
	p->rc = add_kid(p->it, p->txn, p->dbi, key, n, p->bucket);
	return p->rc != 0;
}

/* With gather, a prefix of more than max terms is gathered (*too_many not set). */
static int iter_prefix(iter_t *it, MDB_txn *txn, MDB_dbi dbi, const char *prefix, size_t n, uint32_t bucket,
                       unsigned max, int gather, int *too_many)
{
	memset(it, 0, sizeof *it);
	prefix_t p = { it, txn, dbi, bucket, max, 0, 0 };
	int rc = ml_post_terms(txn, dbi, prefix, n, bucket, add_prefix_term, &p);
	if (p.too_many && gather && rc >= 0 && !p.rc) {
		iter_free(it);
		rc = ml_post_prefix_ids(txn, dbi, prefix, n, bucket, &it->ids);
		it->gathered = 1;
		it->count = it->ids.n;
		it->state = it->count ? 0 : 2;
		return rc;
	}
	if (p.too_many)
		*too_many = 1;
	if (rc < 0)
		return rc;
	if (p.rc)
		return p.rc;
	if (!it->count)
		it->state = 2;
	return ML_OK;
}

/* ---- the search ---- */

struct ml_search {
	ml_store_t *s;
	ml_codec_t *codec;      /* raw records: made at the first need */
	ml_strtab_t tab;        /* the snapshot's string table (a view into the map) */
	ml_message_t msg;
	ml_buf_t tmp;
	struct slot *slots;     /* two batches of rows (2 x BATCH_MAX), made at the first search */
	struct worker *worker;  /* the second thread, started at the first large batch */
	int reports;            /* the snapshot has reports: rows decoded are looked up there */
};

int ml_search_new(ml_search_t **out, ml_store_t *s)
{
	ml_search_t *se = calloc(1, sizeof *se);
	if (!se)
		return ML_ENOMEM;
	se->s = s;
	ml_message_init(&se->msg);
	*out = se;
	return ML_OK;
}


ml_store_t *ml_search_store(const ml_search_t *se)
{
	return se->s;
}

/* A read snapshot with its string table. */
static int snap_begin(ml_search_t *se, MDB_txn **txn)
{
	int rc = ml_store_read_begin(se->s, txn);
	if (rc)
		return rc;
	rc = ml_store_strtab(*txn, se->s, &se->tab);
	if (rc) {
		mdb_txn_abort(*txn);
		*txn = NULL;
	}
	return rc;
}

static void snap_end(ml_search_t *se, MDB_txn *txn)
{
	/* the table views the map: kept for the next snapshot, which uses it
	 * only when the table there is the same (ml_store_strtab) */
	(void)se;
	mdb_txn_abort(txn);
}

/* The raw lines of m (its row decoded, stored in place) from the snapshot. */
static int load_raw(ml_search_t *se, MDB_txn *txn, ml_message_t *m)
{
	if (!se->codec) {
		int rc = ml_codec_new(&se->codec);
		if (!rc)
			rc = ml_store_load_dicts(se->s, txn, se->codec);
		if (rc) {
			ml_codec_free(se->codec);
			se->codec = NULL;
			return rc;
		}
	}
	int rc = ml_store_lines_get(txn, se->s, m->docid, m->raw_key, &se->tmp);
	if (rc)
		return rc == ML_ENOTFOUND ? ML_CORRUPT_BKPT : rc;
	rc = ml_raw_decode(se->codec, se->tmp.data, se->tmp.len, m);
	if (rc == ML_ENOTFOUND) {
		/* a dictionary newer than this codec: load and retry */
		rc = ml_store_load_dicts(se->s, txn, se->codec);
		if (!rc)
			rc = ml_raw_decode(se->codec, se->tmp.data, se->tmp.len, m);
	}
	return rc;
}

int ml_search_get(ml_search_t *se, uint64_t docid, ml_message_t *m)
{
	MDB_txn *txn;
	int rc = snap_begin(se, &txn);
	if (rc)
		return rc;
	MDB_val v;
	int place;
	rc = ml_store_row_get(txn, se->s, docid, &v, &place);
	if (rc == 0)
		rc = ml_row_decode(&se->tab, v.mv_data, v.mv_size, docid, m);
	if (!rc && ml_reports_has(txn, se->s, docid))
		m->flags |= ML_MSG_REPORTED;
	if (!rc)
		rc = load_raw(se, txn, m);
	snap_end(se, txn);
	return rc;
}

typedef struct {
	ml_report_t *v;
	size_t n, cap;
	int rc;
} reports_t;

static int keep_report(void *ctx, const ml_report_t *r)
{
	reports_t *x = ctx;
	x->rc = ml_array_grow((void **)&x->v, &x->cap, sizeof *x->v, x->n + 1, 4);
	if (!x->rc)
		x->v[x->n++] = *r;
	return x->rc;
}

int ml_search_reports(ml_search_t *se, uint64_t docid, ml_report_t **out, size_t *n)
{
	MDB_txn *txn;
	*out = NULL;
	*n = 0;
	int rc = snap_begin(se, &txn);
	if (rc)
		return rc;
	reports_t x = { NULL, 0, 0, 0 };
	rc = ml_reports_each(txn, se->s, docid, keep_report, &x);
	snap_end(se, txn);
	if (!rc)
		rc = x.rc;
	if (rc) {
		free(x.v);
		return rc;
	}
	*out = x.v;
	*n = x.n;
	return ML_OK;
}

typedef struct {
	const ml_query_t *q;
	pcre2_code *re;
	pcre2_match_context *mctx;    /* the match and depth limits */
	pcre2_match_data *md, *md2;   /* md2: the second thread's (see batches) */
	char **words;       /* subject words (lowercased), all must be among the subject's */
	size_t nwords;
	int words_indexed;  /* every word is a postings spec: rows found have them */
	char **phrases;     /* lowercased phrases, substring of the lowercased subject */
	size_t nphrases;
	char **prefixes;    /* lowercased word prefixes ("invoic*"): a subject word starts with each */
	size_t nprefixes;
	char *words_text;   /* the subject filter without its prefixes: the words the plan looks up */
	ml_relit_t lits[ML_RELIT_MAX];   /* literals the regex needs in the subject's words, */
	size_t nlits;                     /* those the plan looks up (index/relit.h) */
	uint32_t keep;      /* the strings a record is decoded with (ml_row_decode_some) */
	const char *to_dom; /* q->to is a whole domain ("@d" or "d"): d, and its length */
	size_t to_domn;     /*   (row_ok compares the address's end, each row of each message) */
} check_t;

typedef struct {
	char **v;
	size_t n;
	ml_buf_t *b;
} words_t;

static void collect_word(void *ctx, const char *w, size_t n)
{
	words_t *ws = ctx;
	char **nv = realloc(ws->v, (ws->n + 1) * sizeof *nv);
	if (!nv)
		return;
	ws->v = nv;
	ws->v[ws->n] = strndup(w, n);
	if (ws->v[ws->n])
		ws->n++;
}

static void check_free(check_t *c)
{
	for (size_t i = 0; i < c->nwords; i++)
		free(c->words[i]);
	for (size_t i = 0; i < c->nphrases; i++)
		free(c->phrases[i]);
	for (size_t i = 0; i < c->nprefixes; i++)
		free(c->prefixes[i]);
	free(c->words);
	free(c->phrases);
	free(c->prefixes);
	free(c->words_text);
	/* (each set only when PCRE2 was loaded) */
	if (c->md)
		pc.match_data_free(c->md);
	if (c->md2)
		pc.match_data_free(c->md2);
	if (c->re)
		pc.code_free(c->re);
	if (c->mctx)
		pc.match_context_free(c->mctx);
}

/*
 * Word prefixes of a subject filter: outside quotes, a run of non-spaces
 * ending in '*' ("invoic*").  Its words (ml_tokens_words) but the last are
 * plain words; the last is the prefix.  *text gets the filter with each such
 * run replaced by its plain words; c->prefixes the prefixes.
 */
static int split_prefixes(check_t *c, const char *subject)
{
	ml_buf_t t = ML_BUF_INIT;
	int quoted = 0, rc = ML_OK;
	const char *s = subject;
	while (*s && !rc) {
		if (*s == '"')
			quoted = !quoted;
		size_t n = quoted || *s == ' ' || *s == '\t' ? 1 : strcspn(s, " \t\"");
		if (n > 1 && s[n - 1] == '*' && !quoted) {
			words_t ws = { 0 };
			size_t k = n;
			while (k && s[k - 1] == '*')
				k--;
			ml_tokens_words(s, k, collect_word, &ws);
			for (size_t i = 0; i + 1 < ws.n; i++) {
				ml_buf_putc(&t, ' ');
				ml_buf_puts(&t, ws.v[i]);
				ml_buf_putc(&t, ' ');
				free(ws.v[i]);
			}
			if (ws.n) {
				char **np = realloc(c->prefixes, (c->nprefixes + 1) * sizeof *np);
				if (np) {
					c->prefixes = np;
					c->prefixes[c->nprefixes++] = ws.v[ws.n - 1];
				} else {
					free(ws.v[ws.n - 1]);
					rc = ML_ENOMEM;
				}
			}
			free(ws.v);
		} else if (ml_buf_append(&t, s, n)) {
			rc = ML_ENOMEM;
		}
		s += n;
	}
	c->words_text = strdup(ml_buf_cstr(&t));
	ml_buf_free(&t);
	return rc || !c->words_text ? ML_ENOMEM : ML_OK;
}

/*
 * The literals of the regex the plan looks up: every strong one of three
 * characters or more (a word starts with it: one prefix of the index each);
 * else the longest weak one of three or more (its prefix, and the words of
 * each day that may hold it: a walk of the day's words); else the longest
 * of two characters, strong ones first (many words share a two-letter
 * prefix, but fewer than every subject).
 */
static void pick_literals(check_t *c, const char *re)
{
	ml_relit_t all[ML_RELIT_MAX];
	size_t n = ml_relit_find(re, all, ML_RELIT_MAX), best = n;
	for (size_t i = 0; i < n; i++)
		if (!all[i].weak && all[i].n >= 3)
			c->lits[c->nlits++] = all[i];
	if (c->nlits)
		return;
	for (size_t i = 0; i < n; i++) {
		/* longer first, then strong first */
		if (best == n || all[i].n > all[best].n || (all[i].n == all[best].n && all[best].weak && !all[i].weak))
			best = i;
	}
	if (best < n)
		c->lits[c->nlits++] = all[best];
}

static int check_init(check_t *c, const ml_query_t *q, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->q = q;
	if (q->to && q->to[0] && strcmp(q->to, "<>") && q->to[strlen(q->to) - 1] != '*' &&
	    (q->to[0] == '@' || !strchr(q->to, '@'))) {
		c->to_dom = q->to[0] == '@' ? q->to + 1 : q->to;
		c->to_domn = strlen(c->to_dom);
	}
	c->keep = ML_DEC_ALL;
	if (q->counts_only) {
		/* what message_ok and row_ok read */
		c->keep = (q->host ? ML_DEC_HOST : 0) | (q->queue_id ? ML_DEC_QUEUE_ID | ML_DEC_PREV_QID : 0) |
		          (q->from ? ML_DEC_FROM : 0) | (q->msgid ? ML_DEC_MSGID : 0) |
		          (q->subject || q->subject_re ? ML_DEC_SUBJECT : 0) | (q->ip ? ML_DEC_IP : 0) |
		          (q->to ? ML_DEC_RCPT_ADDR : 0);
	}
	if (q->subject) {
		if (split_prefixes(c, q->subject))
			return ML_ENOMEM;
		words_t ws = { 0 };
		const char *s = c->words_text;
		while (*s) {
			const char *qt = strchr(s, '"');
			size_t n = qt ? (size_t)(qt - s) : strlen(s);
			ml_tokens_words(s, n, collect_word, &ws);
			if (!qt)
				break;
			const char *end = strchr(qt + 1, '"');
			size_t pn = end ? (size_t)(end - qt - 1) : strlen(qt + 1);
			ml_tokens_words(qt + 1, pn, collect_word, &ws);
			ml_buf_t low = ML_BUF_INIT;
			ml_tokens_lower(&low, qt + 1, pn);
			char **np = realloc(c->phrases, (c->nphrases + 1) * sizeof *np);
			if (np) {
				c->phrases = np;
				c->phrases[c->nphrases++] = strdup(ml_buf_cstr(&low));
			}
			ml_buf_free(&low);
			s = end ? end + 1 : qt + 1 + pn;
		}
		c->words = ws.v;
		c->nwords = ws.n;
	}
	if (q->subject_re) {
		int ec;
		PCRE2_SIZE off;
		if (pc_load(err, errlen))
			return ML_EIO;
		c->re = pc.compile((PCRE2_SPTR)q->subject_re, PCRE2_ZERO_TERMINATED,
		                   PCRE2_UTF | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
		if (!c->re) {
			snprintf(err, errlen, "subject_re: invalid pattern");
			return ML_EINVAL;
		}
		pc.jit_compile(c->re, PCRE2_JIT_COMPLETE);
		c->md = pc.match_data_create_from_pattern(c->re, NULL);
		c->md2 = pc.match_data_create_from_pattern(c->re, NULL);
		c->mctx = pc.match_context_create(NULL);
		if (!c->md || !c->md2 || !c->mctx)
			return ML_ENOMEM;
		pc.set_match_limit(c->mctx, ML_QUERY_RE_MATCH_LIMIT);
		pc.set_depth_limit(c->mctx, ML_QUERY_RE_DEPTH_LIMIT);
		if (!q->re_scan)
			pick_literals(c, q->subject_re);
	}
	return ML_OK;
}

typedef struct {
	const char *w;
	int found;
} has_word_t;

static void has_word(void *ctx, const char *w, size_t n)
{
	has_word_t *h = ctx;
	if (!h->found && strlen(h->w) == n && memcmp(h->w, w, n) == 0)
		h->found = 1;
}

static void has_prefix(void *ctx, const char *w, size_t n)
{
	has_word_t *h = ctx;
	size_t k = strlen(h->w);
	if (!h->found && n >= k && memcmp(h->w, w, k) == 0)
		h->found = 1;
}

/* The message-level filters: 1 pass, 0 not, -1 not known (the regex gave
 * up on the subject: its match limit).  tmp and md: the calling thread's
 * scratch. */
static int message_ok(const check_t *c, const ml_message_t *m, ml_buf_t *tmp, pcre2_match_data *md)
{
	const ml_query_t *q = c->q;
	if (q->from && !ml_addr_match(q->from, ml_message_str(m, m->from)))
		return 0;
	if (q->direction && m->direction != q->direction)
		return 0;
	ml_slice_t v;
#define EXACT(field, val, icase) \
	(v = ml_message_str(m, m->field), \
	 v.n == strlen(val) && ((icase) ? strncasecmp(v.p, val, v.n) == 0 : memcmp(v.p, val, v.n) == 0))
	if (q->msgid && !EXACT(message_id, q->msgid, 0))
		return 0;
	if (q->ip && !EXACT(client_ip, q->ip, 1))
		return 0;
	if (q->host && !EXACT(host, q->host, 1))
		return 0;
	if (q->queue_id && !EXACT(queue_id, q->queue_id, 0) && !EXACT(prev_qid, q->queue_id, 0))
		return 0;
#undef EXACT
	ml_slice_t subj = ml_message_str(m, m->subject);
	for (size_t i = 0; i < c->nwords && !c->words_indexed; i++) {
		has_word_t h = { c->words[i], 0 };
		ml_tokens_words(subj.p, subj.n, has_word, &h);
		if (!h.found)
			return 0;
	}
	for (size_t i = 0; i < c->nprefixes; i++) {
		has_word_t h = { c->prefixes[i], 0 };
		ml_tokens_words(subj.p, subj.n, has_prefix, &h);
		if (!h.found)
			return 0;
	}
	if (c->nphrases) {
		ml_buf_reset(tmp);
		ml_tokens_lower(tmp, subj.p, subj.n);
		ml_buf_cstr(tmp);
		for (size_t i = 0; i < c->nphrases; i++)
			if (!strstr(tmp->data, c->phrases[i]))
				return 0;
	}
	if (c->re) {
		int r = pc.match(c->re, (PCRE2_SPTR)subj.p, subj.n, 0, 0, md, c->mctx);
		if (r == PCRE2_ERROR_MATCHLIMIT || r == PCRE2_ERROR_DEPTHLIMIT || r == PCRE2_ERROR_HEAPLIMIT ||
		    r == PCRE2_ERROR_JIT_STACKLIMIT)
			return -1;
		if (r < 0)
			return 0;
	}
	return 1;
}

/* (flags: m's, and what is known of m beside its record: reported) */
static int row_ok(const check_t *c, const ml_message_t *m, uint32_t flags, int row)
{
	const ml_query_t *q = c->q;
	const ml_rcpt_t *r = row >= 0 ? &m->rcpts[row] : NULL;
	if (r && (r->flags & ML_RCPT_HANDED_ON) && !q->handed_on)
		return 0;  /* its fate is the next hop's row */
	if (c->to_dom) {
		if (!r || (!ml_addr_in_domain(ml_message_str(m, r->to), c->to_dom, c->to_domn) &&
		           !ml_addr_in_domain(ml_message_str(m, r->orig_to), c->to_dom, c->to_domn)))
			return 0;
	} else if (q->to) {
		if (!r)
			return 0;
		if (!ml_addr_match(q->to, ml_message_str(m, r->to)) &&
		    !(r->orig_to.len && ml_addr_match(q->to, ml_message_str(m, r->orig_to))))
			return 0;
	}
	if (q->status_mask) {
		ml_status_t st = ml_message_row_status(m, r);
		int ok = (q->status_mask & (1u << st)) != 0;
		if (!ok && (q->status_mask & ML_QUERY_RELEASED) && (flags & ML_MSG_RELEASED))
			ok = 1;
		if (!ok && (q->status_mask & ML_QUERY_REPORTED) && (flags & ML_MSG_REPORTED))
			ok = 1;
		if (!ok)
			return 0;
	}
	return 1;
}

/*
 * The plan: one spec per indexed filter, each a set of posting keys (tag +
 * term, without the bucket) whose union is the filter, or one key prefix.
 * Iterators are made from the specs for one bucket at a time.
 */
typedef struct {
	ml_keys_t keys;
	int prefix;         /* the one key is a prefix: every key that starts with it */
	unsigned max;       /* with prefix: the most keys it may stand for in one day */
	int gather;         /* ... past which it is gathered (an address prefix), not unindexed */
	int unindexed;      /* a prefix too broad to walk: checked on the records only */
	const ml_relit_t *lit;   /* a literal of the regex instead of keys (lit_iter) */
} spec_t;

typedef struct {
	spec_t specs[MAX_ITERS];
	unsigned n;
	int overflow;       /* a filter did not fit: the row checks must do all */
	ml_buf_t kb;
} plan_t;

static spec_t *plan_add(plan_t *p)
{
	if (p->n >= MAX_ITERS) {
		p->overflow = 1;
		return NULL;
	}
	spec_t *sp = &p->specs[p->n++];
	memset(sp, 0, sizeof *sp);
	return sp;
}

static void plan_free(plan_t *p)
{
	for (unsigned i = 0; i < p->n; i++)
		ml_keys_free(&p->specs[i].keys);
	ml_buf_free(&p->kb);
}

static void plan_addr(plan_t *p, const char *a, int tag, int dtag)
{
	spec_t *sp = plan_add(p);
	if (!sp)
		return;
	size_t n = strlen(a);
	if (n == 0 || !strcmp(a, "<>")) {
		ml_keys_add(&sp->keys, tag, "", 0, 0);
	} else if (a[n - 1] == '*') {
		int at = a[0] == '@';
		ml_keys_add(&sp->keys, at ? dtag : tag, a + at, n - 1 - (size_t)at, 1);
		sp->prefix = 1;
		sp->max = PREFIX_KIDS;
		sp->gather = 1;
	} else if (a[0] == '@' || !strchr(a, '@')) {
		const char *d = a[0] == '@' ? a + 1 : a;
		ml_keys_add(&sp->keys, dtag, d, strlen(d), 1);
	} else {
		ml_keys_add(&sp->keys, tag, a, n, 1);
	}
}

static void plan_word(void *ctx, const char *w, size_t n)
{
	spec_t *sp = plan_add(ctx);
	if (sp)
		ml_keys_add(&sp->keys, ML_TAG_SUBJECT, w, n, 0);
}

/* The recipient domain of --to when it names one exactly (an address or a
 * domain, not a prefix), else NULL. */
static const char *to_domain(const char *to, int *is_address)
{
	size_t n = strlen(to);
	*is_address = 0;
	if (n == 0 || to[n - 1] == '*' || !strcmp(to, "<>"))
		return NULL;
	const char *at = strrchr(to, '@');
	if (!at)
		return to;
	*is_address = at != to;
	return at[1] ? at + 1 : NULL;
}

static void plan_build(plan_t *p, const ml_query_t *q, const check_t *chk)
{
	int is_address = 0;
	const char *dom = q->to ? to_domain(q->to, &is_address) : NULL;
	/* status and recipient domain together: the 'X' keys answer for the row */
	int combined = q->status_mask && !(q->status_mask & (ML_QUERY_RELEASED | ML_QUERY_REPORTED)) && dom;
	spec_t *sp;
	if (q->from)
		plan_addr(p, q->from, ML_TAG_FROM, ML_TAG_FROM_DOMAIN);
	if (q->to && (!combined || is_address))
		plan_addr(p, q->to, ML_TAG_TO, ML_TAG_TO_DOMAIN);
	if (chk->words_text)
		ml_tokens_words(chk->words_text, strlen(chk->words_text), plan_word, p);
	for (size_t i = 0; i < chk->nprefixes; i++)
		if ((sp = plan_add(p))) {
			ml_keys_add(&sp->keys, ML_TAG_SUBJECT, chk->prefixes[i], strlen(chk->prefixes[i]), 0);
			sp->prefix = 1;
			sp->max = MAX_WORD_PREFIX_KEYS;
		}
	if (combined && (sp = plan_add(p))) {
		for (int st = 1; st < ML_ST__COUNT; st++)
			if (q->status_mask & (1u << st)) {
				ml_buf_reset(&p->kb);
				ml_status_domain_term(&p->kb, ml_status_name((ml_status_t)st), dom, strlen(dom));
				ml_keys_add(&sp->keys, ML_TAG_STATUS_DOMAIN, p->kb.data, p->kb.len, 0);
			}
	} else if (q->status_mask && (sp = plan_add(p))) {
		for (int st = 1; st < ML_ST__COUNT; st++)
			if (q->status_mask & (1u << st)) {
				const char *name = ml_status_name((ml_status_t)st);
				ml_keys_add(&sp->keys, ML_TAG_STATUS, name, strlen(name), 0);
			}
		if (q->status_mask & ML_QUERY_RELEASED)
			ml_keys_add(&sp->keys, ML_TAG_STATUS, "released", 8, 0);
		if (q->status_mask & ML_QUERY_REPORTED)
			ml_keys_add(&sp->keys, ML_TAG_STATUS, ML_REPORT_TERM, strlen(ML_REPORT_TERM), 0);
	}
	struct { const char *v; int tag; int lower; } ex[] = {
		{ q->direction ? ml_direction_name(q->direction) : NULL, ML_TAG_DIRECTION, 0 },
		{ q->ip, ML_TAG_IP, 1 },
		{ q->host, ML_TAG_HOST, 1 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(ex); i++)
		if (ex[i].v && (sp = plan_add(p)))
			ml_keys_add(&sp->keys, ex[i].tag, ex[i].v, strlen(ex[i].v), ex[i].lower);
	if (q->nvisible && (sp = plan_add(p))) {
		/* the union of the addresses' keys, as senders and as recipients */
		for (size_t i = 0; i < q->nvisible; i++) {
			const char *v = q->visible[i];
			int at = v[0] == '@';
			ml_keys_add(&sp->keys, at ? ML_TAG_FROM_DOMAIN : ML_TAG_FROM, v + at, strlen(v + at), 1);
			ml_keys_add(&sp->keys, at ? ML_TAG_TO_DOMAIN : ML_TAG_TO, v + at, strlen(v + at), 1);
		}
	}
	unsigned char h[8];  /* the first ML_ID_TERM_BYTES are the term */
	if (q->msgid && (sp = plan_add(p))) {
		ml_msgid_term(q->msgid, strlen(q->msgid), h);
		ml_keys_add(&sp->keys, ML_TAG_MSGID, (const char *)h, ML_ID_TERM_BYTES, 0);
	}
	if (q->queue_id && (sp = plan_add(p))) {
		ml_qid_term(q->queue_id, strlen(q->queue_id), h);
		ml_keys_add(&sp->keys, ML_TAG_QID, (const char *)h, ML_ID_TERM_BYTES, 0);
	}
	/* the regex's literals: a weak one only when nothing else is indexed
	 * (its walk of each day's words costs more than the candidates of
	 * another filter, a subject word's, would) */
	int alone = p->n == 0;
	for (size_t i = 0; i < chk->nlits; i++)
		if ((alone || !chk->lits[i].weak) && (sp = plan_add(p)))
			sp->lit = &chk->lits[i];
}

/* The words of a day that may hold a weak literal past their start. */
typedef struct {
	iter_t *it;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t bucket;
	const ml_relit_t *lit;
	unsigned found;
	int too_many, rc;
} inner_t;

static int add_inner_term(void *ctx, const char *key, size_t n)
{
	inner_t *t = ctx;
	if (!ml_relit_term_may_hold(t->lit, key + 1, n - 1))
		return 0;
	if (++t->found > MAX_INNER_TERMS) {
		t->too_many = 1;
		return 1;
	}
	t->rc = add_kid(t->it, t->txn, t->dbi, key, n, t->bucket);
	return t->rc != 0;
}

/*
 * The docids of a literal of the regex in one bucket (index/relit.h): the
 * union of the words that start with one of its forms (each form a prefix,
 * gathered when it stands for many words), and for a weak literal the words
 * of the day that may hold it past their start (a walk of the day's
 * subject words).  *too_many when those are more than MAX_INNER_TERMS.
 */
static int lit_iter(iter_t *it, MDB_txn *txn, MDB_dbi dbi, const ml_relit_t *lit, uint32_t bucket, int *too_many)
{
	memset(it, 0, sizeof *it);
	char forms[ML_RELIT_VARIANTS][ML_RELIT_VAR_BYTES + 1];
	char key[ML_RELIT_VAR_BYTES + 2];
	size_t nf = ml_relit_variants(lit, forms);
	key[0] = ML_TAG_SUBJECT;
	for (size_t i = 0; i < nf; i++) {
		size_t n = strlen(forms[i]);
		memcpy(key + 1, forms[i], n);
		iter_t *kid = iter_kid(it);
		if (!kid)
			return ML_ENOMEM;
		int unused = 0;
		int rc = iter_prefix(kid, txn, dbi, key, n + 1, bucket, PREFIX_KIDS, 1, &unused);
		if (rc)
			return rc;
		it->count += kid->count;
		if (!kid->count) {
			iter_free(kid);
			it->nkids--;
		}
	}
	if (lit->weak) {
		inner_t t = { it, txn, dbi, bucket, lit, 0, 0, 0 };
		int rc = ml_post_terms(txn, dbi, key, 1, bucket, add_inner_term, &t);
		if (rc < 0)
			return rc;
		if (t.rc)
			return t.rc;
		if (t.too_many)
			*too_many = 1;
	}
	if (!it->count)
		it->state = 2;
	return ML_OK;
}

/* The iterator of one spec in one bucket. */
static int spec_iter(iter_t *it, MDB_txn *txn, MDB_dbi dbi, spec_t *sp, uint32_t bucket)
{
	size_t pos = 0, len;
	const char *key;
	if (sp->lit) {
		int too_many = 0;
		int rc = lit_iter(it, txn, dbi, sp->lit, bucket, &too_many);
		if (too_many)
			sp->unindexed = 1;
		return rc;
	}
	if (sp->prefix) {
		ml_keys_next(&sp->keys, &pos, &key, &len);
		int too_many = 0;
		int rc = iter_prefix(it, txn, dbi, key, len, bucket, sp->max, sp->gather, &too_many);
		if (too_many)
			sp->unindexed = 1;
		return rc;
	}
	if (sp->keys.count == 1) {
		ml_keys_next(&sp->keys, &pos, &key, &len);
		return iter_key(it, txn, dbi, key, len, bucket);
	}
	memset(it, 0, sizeof *it);
	while (ml_keys_next(&sp->keys, &pos, &key, &len)) {
		int rc = add_kid(it, txn, dbi, key, len, bucket);
		if (rc)
			return rc;
	}
	if (!it->count)
		it->state = 2;
	return ML_OK;
}

static int cmp_iter(const void *a, const void *b)
{
	const iter_t *x = a, *y = b;
	return (x->count > y->count) - (x->count < y->count);
}

/* ---- rows in batches, fetched and decoded on two threads ----
 *
 * The docids a walk finds are gathered in a batch, in the order found
 * (newest first).  The batch is then fetched (a B-tree lookup a row: rows,
 * else rows.open), decoded and checked at the message level, and only then
 * emitted in order on the calling thread (row checks, the callback, the
 * limit), so that the answer is the one a row-by-row walk gives.  A row of
 * an answer costs a lookup and a decode, most of it waiting for memory when
 * the rows are scattered over the table.  From BATCH_PAR rows on, a second
 * thread helps: both take CHUNK slots at a time from one counter, so that
 * the calling thread does whatever the other has not taken (a helper that
 * is slow to wake costs nothing).  The helper reads with a read transaction
 * of its own, renewed for each batch and checked to be on the calling
 * thread's snapshot (mdb_txn_id); when a writer committed in between it
 * takes nothing.  The rows a scan found are handed over as pointers into
 * the calling thread's snapshot, which stays open while the batch runs.
 * Batches grow from BATCH_FIRST to BATCH_MAX, so that a search of a few
 * rows decodes no more rows than it needs and starts no thread.  With the
 * helper, batches go through a pipeline of two (batch_flush): one decoded
 * while the one before is emitted and the next gathered; past the limit,
 * at most two batches were decoded for nothing.
 *
 * The helper is for a search alone in its process on a machine with a core
 * to spare: when searches run side by side (serve under load) each runs on
 * its own thread, and no core spins for another.
 *
 * The counter: batch number << 32 | slots in it << 16 | next slot, one
 * atomic word, so that a helper late for a batch can never take a slot of
 * the next one, nor a slot past its batch.
 */
#define BATCH_FIRST 8
#define BATCH_PAR 16
#define BATCH_MAX 64
#define CHUNK 4
#define HELPER_SPIN_NS 50000    /* a helper waits this long for the next batch, then sleeps */

typedef struct slot {
	uint64_t docid;
	MDB_val v;          /* the row, when the walk had it (scans); else fetched */
	int have_v;
	int rc;             /* 0, ML_ENOTFOUND (no such row), or an error */
	int ok;             /* message_ok */
	int limited;        /* message_ok could not tell (the regex's limit) */
	ml_message_t m;
} slot_t;

typedef struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic uint64_t next;   /* batch number << 32 | slots << 16 | next slot to take */
	atomic_size_t done;      /* slots of the batch done, by both threads */
	atomic_uint inside;      /* the batch the helper is reading LMDB for; 0 none */
	int sleeping, quit;      /* under mu */
	/* the batch: written before the batch number is raised (a helper
	 * late for it may read the next batch's: it then takes nothing) */
	ml_search_t *_Atomic se;
	const check_t *_Atomic chk;
	slot_t *_Atomic base;    /* the batch's slots (one half of ml_search_t.slots) */
	atomic_size_t txnid;     /* the snapshot of the calling thread */
	MDB_txn *txn;            /* the helper's own, reset between batches */
	ml_buf_t tmp;
} worker_t;

static atomic_int searches_running;   /* ml_search_run calls in progress, in the process */
static int cores;                     /* processors online; 0 until read */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

typedef struct {
	const check_t *chk;
	uint32_t flags;     /* of the message beside its record (reported) */
} want_t;

static int want_row(void *ctx, const ml_message_t *m, int row)
{
	const want_t *w = ctx;
	return row_ok(w->chk, m, m->flags | w->flags, row);
}

/* Fetch, decode and check slots [from, to). */
static void slots_run(ml_search_t *se, const check_t *chk, MDB_txn *txn, MDB_cursor *rows, slot_t *slots,
                      size_t from, size_t to, ml_buf_t *tmp, pcre2_match_data *md)
{
	/* the lookups first, each row's first lines prefetched: the next
	 * lookup overlaps the wait for them */
	for (size_t i = from; i < to; i++) {
		slot_t *sl = &slots[i];
		if (!sl->have_v) {
			unsigned char kb[8];
			ml_put_be64(kb, sl->docid);
			MDB_val k = { 8, kb };
			/* a cursor, not mdb_get: MDB_SET stays on the current leaf page
			 * when the docid is there, and docids come in descending order */
			int r = mdb_cursor_get(rows, &k, &sl->v, MDB_SET);
			if (r == MDB_NOTFOUND) {
				/* a message still in flight */
				k = (MDB_val){ 8, kb };
				r = mdb_get(txn, se->s->rows_open, &k, &sl->v);
			}
			if (r) {
				sl->rc = r == MDB_NOTFOUND ? ML_ENOTFOUND : ml_store_errcode(r);
				continue;
			}
		}
		const char *p = sl->v.mv_data;
		for (size_t o = 0; o < sl->v.mv_size && o < 256; o += 64)
			__builtin_prefetch(p + o);
	}
	for (size_t i = from; i < to; i++) {
		slot_t *sl = &slots[i];
		if (sl->rc)
			continue;
		/* a row's relay, dsn and reason read only when it is returned */
		want_t wr = { chk, se->reports && ml_reports_has(txn, se->s, sl->docid) ? ML_MSG_REPORTED : 0 };
		/* (the rows of another domain than the filter's not read whole) */
		ml_row_filter_t f = { chk->to_dom, chk->to_domn, want_row, &wr };
		sl->rc = ml_row_decode_some(&se->tab, sl->v.mv_data, sl->v.mv_size, sl->docid, &sl->m, chk->keep, &f);
		if (!sl->rc)
			sl->m.flags |= wr.flags;
		int ok = sl->rc ? 0 : message_ok(chk, &sl->m, tmp, md);
		sl->ok = ok > 0;
		sl->limited = ok < 0;
	}
}

/* Take the next chunk of batch `batch`: 1 with [*from, *to), 0 when none
 * is left (or the batch is over). */
static int take(worker_t *w, uint32_t batch, size_t *from, size_t *to)
{
	uint64_t x = atomic_load_explicit(&w->next, memory_order_acquire);
	for (;;) {
		size_t i = (size_t)(x & 0xffff), n = (size_t)(x >> 16 & 0xffff);
		if ((uint32_t)(x >> 32) != batch || i >= n)
			return 0;
		size_t j = ML_MIN(i + CHUNK, n);
		if (atomic_compare_exchange_weak_explicit(&w->next, &x, x + (j - i), memory_order_acq_rel,
		                                          memory_order_acquire)) {
			*from = i;
			*to = j;
			return 1;
		}
	}
}

static void helper_part(worker_t *w, ml_search_t *se, const check_t *chk, slot_t *base, uint32_t batch);

/* Is batch `batch` open (slots left to take)? */
static int batch_open(worker_t *w, uint32_t batch)
{
	uint64_t x = atomic_load(&w->next);
	return (uint32_t)(x >> 32) == batch && (x & 0xffff) < (x >> 16 & 0xffff);
}

/* The helper's part of batch `batch`.  It says it is inside before it
 * touches the environment, and goes in only while the batch is open: the
 * calling thread, once the batch is over, waits until it is out, so that no
 * transaction of the helper's is begun or renewed after the search (serve
 * may then remap the environment). */
static void helper_batch(worker_t *w, uint32_t batch)
{
	atomic_store(&w->inside, batch);
	if (!batch_open(w, batch)) {
		atomic_store(&w->inside, 0);
		return;
	}
	ml_search_t *se = atomic_load_explicit(&w->se, memory_order_relaxed);
	const check_t *chk = atomic_load_explicit(&w->chk, memory_order_relaxed);
	helper_part(w, se, chk, atomic_load_explicit(&w->base, memory_order_relaxed), batch);
	atomic_store(&w->inside, 0);
}

static void helper_part(worker_t *w, ml_search_t *se, const check_t *chk, slot_t *base, uint32_t batch)
{
	int r = w->txn ? mdb_txn_renew(w->txn) : mdb_txn_begin(se->s->env, NULL, MDB_RDONLY, &w->txn);
	if (r) {
		if (w->txn)
			mdb_txn_abort(w->txn);
		w->txn = NULL;
		return;
	}
	MDB_cursor *cur;
	size_t from, to;
	if (mdb_txn_id(w->txn) == atomic_load_explicit(&w->txnid, memory_order_relaxed) &&
	    mdb_cursor_open(w->txn, se->s->rows, &cur) == 0) {
		while (take(w, batch, &from, &to)) {
			slots_run(se, chk, w->txn, cur, base, from, to, &w->tmp, chk->md2);
			atomic_fetch_add_explicit(&w->done, to - from, memory_order_release);
		}
		mdb_cursor_close(cur);
	}
	/* no snapshot held between batches: the writer reuses its pages */
	mdb_txn_reset(w->txn);
}

static void *helper_main(void *arg)
{
	worker_t *w = arg;
	uint32_t seen = 0;
	for (;;) {
		/* a short spin first: a search's next batch comes soon */
		uint64_t until = now_ns() + HELPER_SPIN_NS;
		unsigned i = 0;
		while ((uint32_t)(atomic_load_explicit(&w->next, memory_order_acquire) >> 32) == seen &&
		       (++i % 64 || now_ns() < until))
			cpu_relax();
		if ((uint32_t)(atomic_load_explicit(&w->next, memory_order_acquire) >> 32) == seen) {
			pthread_mutex_lock(&w->mu);
			while ((uint32_t)(atomic_load(&w->next) >> 32) == seen && !w->quit) {
				w->sleeping = 1;
				pthread_cond_wait(&w->cv, &w->mu);
				w->sleeping = 0;
			}
			int quit = w->quit;
			pthread_mutex_unlock(&w->mu);
			if (quit)
				break;
		}
		seen = (uint32_t)(atomic_load_explicit(&w->next, memory_order_acquire) >> 32);
		helper_batch(w, seen);
	}
	if (w->txn)
		mdb_txn_abort(w->txn);
	return NULL;
}

static worker_t *helper_start(void)
{
	worker_t *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, helper_main, w)) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return NULL;
	}
	return w;
}

static void worker_stop(worker_t *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	ml_buf_free(&w->tmp);
	free(w);
}

typedef struct {
	ml_search_t *se;
	const check_t *chk;
	ml_row_fn fn;
	void *ctx;
	ml_search_info_t *info;
	unsigned limit;
	ml_rowsum_fn sfn;          /* a walk of summaries (ml_search_rowsums): no batch */
	ml_rowsum_cur_t *sums;
	MDB_txn *txn;
	MDB_cursor *rows;
	slot_t *g;          /* the batch being gathered: a half of se->slots */
	size_t n, cap;      /* slots in the batch; the batch's size now */
	/* the batch handed to the helper and not emitted yet (pend): its
	 * slots (the other half), size, number, and the slots the calling
	 * thread took of it */
	int pend;
	slot_t *pb;
	size_t pn, pmine;
	uint32_t pbatch;
	unsigned steps;     /* leapfrog steps since the last look at the budget */
	int ran;            /* a batch ran: a search stopped early has made progress */
	uint64_t polled_ns; /* when the query's stop callback was last asked */
} emit_t;

#define POLL_EVERY_NS 5000000u   /* the stop callback at most this often */
#define STEPS_EVERY 4096u        /* leapfrog steps between looks at the budget */

/* Is the search's budget spent (deadline, stop callback)?  Sets
 * info->stopped. */
static int budget_spent(emit_t *e)
{
	const ml_query_t *q = e->chk->q;
	if (!q->deadline_ns && !q->stop)
		return 0;
	uint64_t now = now_ns();
	if (q->deadline_ns && now >= q->deadline_ns) {
		e->info->stopped = ML_SEARCH_DEADLINE;
		return 1;
	}
	if (q->stop && now - e->polled_ns >= POLL_EVERY_NS) {
		e->polled_ns = now;
		if (q->stop(q->stop_ctx)) {
			e->info->stopped = ML_SEARCH_CANCELLED;
			return 1;
		}
	}
	return 0;
}

/* Emit the rows of one message that passed message_ok. 1 when the search
 * should stop. */
static int emit_rows(emit_t *e, const ml_message_t *m)
{
	int nrows = m->nrcpts ? (int)m->nrcpts : 1;
	const ml_query_t *q = e->chk->q;
	int first = q->before_row && m->docid + 1 == q->before_docid ? (int)q->before_row : 0;
	for (int i = first; i < nrows; i++) {
		int row = m->nrcpts ? i : -1;
		if (!row_ok(e->chk, m, m->flags, row))
			continue;
		if (e->info->rows >= e->limit && !q->unlimited) {
			e->info->truncated = 1;
			return 1;
		}
		e->info->rows++;
		e->info->last_docid = m->docid;
		if (e->fn(e->ctx, m, row))
			return 1;
	}
	return 0;
}

/* Emit the rows of slots [0, n) of b, in order.  As batch_flush. */
static int slots_emit(emit_t *e, slot_t *b, size_t n)
{
	e->ran = 1;
	for (size_t i = 0; i < n; i++) {
		slot_t *sl = &b[i];
		if (sl->rc == ML_ENOTFOUND)
			continue;
		if (sl->rc)
			return sl->rc;
		e->info->decoded++;
		e->info->re_limited += (uint64_t)sl->limited;
		if (sl->ok && emit_rows(e, &sl->m))
			return 1;
	}
	return 0;
}

/* Hand slots [0, n) of b to the helper as its next batch (pending). */
static void pending_start(emit_t *e, slot_t *b, size_t n)
{
	worker_t *w = e->se->worker;
	atomic_store_explicit(&w->se, e->se, memory_order_relaxed);
	atomic_store_explicit(&w->chk, e->chk, memory_order_relaxed);
	atomic_store_explicit(&w->base, b, memory_order_relaxed);
	atomic_store_explicit(&w->txnid, mdb_txn_id(e->txn), memory_order_relaxed);
	atomic_store_explicit(&w->done, 0, memory_order_relaxed);
	uint32_t batch = (uint32_t)(atomic_load(&w->next) >> 32) + 1;
	pthread_mutex_lock(&w->mu);
	atomic_store_explicit(&w->next, (uint64_t)batch << 32 | (uint64_t)n << 16, memory_order_release);
	if (w->sleeping)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	e->pend = 1;
	e->pb = b;
	e->pn = n;
	e->pbatch = batch;
	e->pmine = 0;
}

/* The pending batch done: the calling thread takes the chunks the helper
 * has not (and runs them; with skip, a batch given up, only takes them),
 * then waits for the helper's chunks and for the helper to be out of the
 * environment. */
static void pending_finish(emit_t *e, int skip)
{
	worker_t *w = e->se->worker;
	size_t from, to;
	while (take(w, e->pbatch, &from, &to)) {
		if (!skip)
			slots_run(e->se, e->chk, e->txn, e->rows, e->pb, from, to, &e->se->tmp, e->chk->md);
		e->pmine += to - from;
	}
	for (unsigned i = 0; atomic_load_explicit(&w->done, memory_order_acquire) + e->pmine < e->pn ||
	                     atomic_load(&w->inside) == e->pbatch; i++)
		if (i < 4096)
			cpu_relax();
		else
			sched_yield();
	e->info->helped += e->pn - e->pmine;
	e->pend = 0;
}

/* The pending batch (none: 0) finished and emitted.  As batch_flush. */
static int pending_emit(emit_t *e)
{
	if (!e->pend)
		return 0;
	pending_finish(e, 0);
	return slots_emit(e, e->pb, e->pn);
}

/* The pending batch (if any) given up: the helper out of it. */
static void pending_cancel(emit_t *e)
{
	if (e->pend)
		pending_finish(e, 1);
}

/* The budget ran out before the batch being gathered (its first row, or
 * else target, where the walk is) was examined: the pending batch, examined
 * already, is emitted, and the search goes on from there next time.  As
 * batch_flush (1: stopped). */
static int stop_here(emit_t *e, uint64_t target)
{
	e->info->resume_docid = e->n ? e->g[0].docid + 1 : target + 1;
	e->n = 0;
	int st = pending_emit(e);
	if (st > 0)
		e->info->stopped = 0;   /* the limit came first: truncated, not stopped */
	return st ? st : 1;
}

/* Run the batch gathered and emit it.  1 when the search should stop, 0 to
 * go on, negative on error.
 *
 * With the helper, a pipeline: the batch is handed to it and the calling
 * thread emits the batch before (decoded by then: it takes what the helper
 * has not begun of it), then goes back to the walk for the next one while
 * the helper decodes, and takes its share of that batch at the next flush.
 * So the walk and the emission (the callback: a row written as JSON) run
 * beside the decoding.  Past the limit, the batch handed over is given up:
 * at most two batches are decoded for nothing. */
static int batch_flush(emit_t *e)
{
	ml_search_t *se = e->se;
	size_t n = e->n;
	slot_t *g = e->g;
	if (!n)
		return 0;
	if ((e->ran || e->pend) && budget_spent(e))
		/* this batch not examined: the search goes on from its first (the
		 * first batch always runs, so that a search resumed on a busy
		 * machine still moves) */
		return stop_here(e, 0);
	e->n = 0;
	if (!cores) {
		/* the processors this process may run on (taskset, cgroups) */
		cpu_set_t set;
		long c = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
		cores = c > 0 ? (int)c : 1;
	}
	int help = e->pend || (n >= BATCH_PAR && cores > 1 && atomic_load(&searches_running) == 1);
	if (help && !se->worker)
		se->worker = helper_start();
	if (e->cap < BATCH_MAX)
		e->cap *= 2;
	if (!help || !se->worker) {
		slots_run(se, e->chk, e->txn, e->rows, g, 0, n, &se->tmp, e->chk->md);
		return slots_emit(e, g, n);
	}
	int had = e->pend;
	if (had)
		pending_finish(e, 0);
	slot_t *pb = e->pb;
	size_t pn = e->pn;
	pending_start(e, g, n);
	/* the next batch gathered in the other half (that of the batch
	 * emitted now: emitted before the walk goes on) */
	e->g = g == se->slots ? se->slots + BATCH_MAX : se->slots;
	if (had) {
		int st = slots_emit(e, pb, pn);
		if (st) {
			pending_cancel(e);
			return st;
		}
	}
	return 0;
}

/* Add docid (v: its row, when in hand) to the batch; runs it when full.
 * As batch_flush. */
static int batch_add(emit_t *e, uint64_t docid, const MDB_val *v)
{
	if (e->sfn) {
		/* the summary instead of the record; the budget looked at as
		 * leapfrog does (a scan passes here alone) */
		if (++e->steps >= STEPS_EVERY) {
			e->steps = 0;
			if (budget_spent(e)) {
				e->info->resume_docid = docid + 1;
				return 1;
			}
		}
		const ml_rowsum_t *r;
		int rc = ml_rowsum_cur_get(e->sums, docid, &r);
		if (rc == ML_ENOTFOUND)
			return 0;
		if (rc)
			return rc;
		e->info->rows++;
		return e->sfn(e->ctx, r) ? 1 : 0;
	}
	slot_t *sl = &e->g[e->n++];
	sl->docid = docid;
	sl->have_v = v != NULL;
	if (v)
		sl->v = *v;
	sl->rc = 0;
	sl->ok = 0;
	sl->limited = 0;
	return e->n >= e->cap ? batch_flush(e) : 0;
}

/* Scan rows [lo, hi] newest first. 1 when the search should stop, 0 to go
 * on, negative on error. */
static int scan_range(emit_t *e, ml_rowcur_t *c, uint64_t lo, uint64_t hi)
{
	int rc = ml_rowcur_seek(c, hi, 1);
	uint64_t d;
	MDB_val v;
	while (!rc && ml_rowcur_get(c, &d, &v, NULL) && d >= lo) {
		int st = batch_add(e, d, &v);
		if (st)
			return st;
		rc = ml_rowcur_next(c);
	}
	return rc;
}

/* Intersect the iterators (sorted by count) over [lo, hi], newest first. 1
 * when the search should stop; *rc set on error. */
static int leapfrog(emit_t *e, iter_t *its, unsigned n, uint64_t lo, uint64_t hi, int *rc)
{
	uint64_t target = hi;
	if (n == 2 && !its[0].nkids && !its[0].gathered && !its[1].nkids && !its[1].gathered &&
	    its[0].state != 2 && its[1].state != 2) {
		/* two lists: met side by side (ml_plist_meet), in rounds between
		 * looks at the budget */
		while (target >= lo) {
			/* (a call takes at most ML_MEET_STEPS rounds) */
			if (++e->steps >= STEPS_EVERY / ML_MEET_STEPS) {
				e->steps = 0;
				if ((e->ran || e->pend || !e->n) && budget_spent(e)) {
					int st = stop_here(e, target);
					if (st < 0)
						*rc = st;
					return 1;
				}
			}
			uint64_t d = ml_plist_meet(&its[0].pl, &its[1].pl, &target);
			if (!d) {
				if (!target)
					return 0;
				continue;
			}
			ML_ASSERT(d <= hi);
			if (d < lo)
				return 0;
			int st = batch_add(e, d, NULL);
			if (st < 0)
				*rc = st;
			if (st)
				return 1;
			target = d - 1;
		}
		return 0;
	}
	while (target >= lo) {
		if (++e->steps >= STEPS_EVERY) {
			e->steps = 0;
			if ((e->ran || e->pend || !e->n) && budget_spent(e)) {
				/* the rows batched so far are not examined yet */
				int st = stop_here(e, target);
				if (st < 0)
					*rc = st;
				return 1;
			}
		}
		uint64_t d = iter_seek(&its[0], target);
		/* a seek answers at or below its target: the walk only goes down */
		ML_ASSERT(d <= target);
		if (!d || d < lo)
			return 0;
		uint64_t next = d;
		for (unsigned i = 1; i < n; i++) {
			uint64_t x = iter_seek(&its[i], d);
			ML_ASSERT(x <= d);
			if (!x || x < lo)
				return 0;
			if (x < d) {
				next = x;
				break;
			}
		}
		if (next < d) {
			target = next;
			continue;
		}
		int st = batch_add(e, d, NULL);
		if (st < 0)
			*rc = st;
		if (st)
			return 1;
		if (d == 0)
			return 0;
		target = d - 1;
	}
	return 0;
}

void ml_search_free(ml_search_t *se)
{
	if (!se)
		return;
	worker_stop(se->worker);
	for (size_t i = 0; se->slots && i < 2 * BATCH_MAX; i++)
		ml_message_free(&se->slots[i].m);
	free(se->slots);
	ml_codec_free(se->codec);
	ml_strtab_free(&se->tab);
	ml_message_free(&se->msg);
	ml_buf_free(&se->tmp);
	free(se);
}

/*
 * Which filters a walk of summaries answers: those the postings answer
 * exactly, so that every docid the plan's walk gives is a message that
 * message_ok would pass.  Not: a recipient (it selects rows), the mark
 * "reported" (joined to rows later), the rows handed on, a phrase or a
 * regex (checked on the subject), a message-id or queue ID (hashed terms),
 * a value longer than a term keeps (cut), the null sender; a prefix that
 * stands for too many terms in some day is found out during the walk.
 */
static int summaries_answer(const ml_query_t *q, const check_t *chk, const plan_t *p)
{
	if (p->overflow || q->to || q->subject_re || q->msgid || q->queue_id || q->handed_on || chk->nphrases ||
	    (q->status_mask & ML_QUERY_REPORTED))
		return 0;
	const char *vals[] = { q->from, q->ip, q->host };
	for (size_t i = 0; i < ML_ARRAY_LEN(vals); i++)
		if (vals[i] && (!*vals[i] || !strcmp(vals[i], "<>") || strlen(vals[i]) >= ML_TERM_MAX))
			return 0;
	return 1;
}

static int run(ml_search_t *se, const ml_query_t *q, ml_row_fn fn, ml_rowsum_fn sfn, void *ctx,
               ml_search_info_t *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	check_t chk;
	int rc = check_init(&chk, q, err, errlen);
	if (rc) {
		check_free(&chk);
		return rc;
	}
	MDB_txn *txn;
	rc = snap_begin(se, &txn);
	if (rc) {
		check_free(&chk);
		snprintf(err, errlen, "%s: cannot read: %s", se->s->path, ml_strerror(rc));
		return rc;
	}
	atomic_fetch_add(&searches_running, 1);
	if (q->until_us < 0) {
		/* until a time before the first docid's: nothing */
		atomic_fetch_sub(&searches_running, 1);
		snap_end(se, txn);
		check_free(&chk);
		return ML_OK;
	}
	uint64_t lo = q->since_us > 0 ? ml_docid_make((uint64_t)(q->since_us / 1000000), 0) : 0;
	uint64_t hi = q->until_us > 0 ? ml_docid_make((uint64_t)(q->until_us / 1000000) + 1, 0) - 1 : UINT64_MAX - 1;
	if (q->before_docid && q->before_docid - 1 < hi)
		hi = q->before_docid - 1;
	if (!se->slots) {
		se->slots = calloc(2 * BATCH_MAX, sizeof *se->slots);
		if (!se->slots) {
			atomic_fetch_sub(&searches_running, 1);
			snap_end(se, txn);
			check_free(&chk);
			return ML_ENOMEM;
		}
		for (size_t i = 0; i < 2 * BATCH_MAX; i++)
			ml_message_init(&se->slots[i].m);
	}
	/* ml_query_set keeps the limit in range; a search returns at most the maximum */
	ML_ASSERT(q->limit <= ML_QUERY_MAX_LIMIT);
	emit_t e = { .se = se, .chk = &chk, .fn = fn, .ctx = ctx, .info = info,
		     .limit = q->limit ? q->limit : ML_QUERY_MAX_LIMIT, .sfn = sfn, .txn = txn, .g = se->slots,
		     .cap = BATCH_FIRST };
	if (q->unlimited)
		e.cap = BATCH_MAX;   /* every row is wanted: full batches from the start */
	se->reports = ml_reports_count(txn, se->s) > 0;
	plan_t p;
	memset(&p, 0, sizeof p);
	plan_build(&p, q, &chk);
	chk.words_indexed = !p.overflow;
	iter_t its[MAX_ITERS];
	memset(its, 0, sizeof its);
	MDB_cursor *c = NULL;
	ml_rowcur_t rcur;
	memset(&rcur, 0, sizeof rcur);
	if (sfn && !summaries_answer(q, &chk, &p)) {
		rc = ML_ENOTFOUND;
		goto done;
	}
	if (sfn && (rc = ml_rowsum_cur_open(&e.sums, txn, se->s)))
		goto done;
	/* the docids that exist, within [lo, hi] */
	uint64_t first, last;
	rc = ml_store_docid_range(txn, se->s, &first, &last);
	if (rc || !last)
		goto done;
	lo = ML_MAX(lo, first);
	hi = ML_MIN(hi, last);
	rc = ml_store_errcode(mdb_cursor_open(txn, se->s->rows, &c));
	e.rows = c;
	if (!rc)
		rc = ml_rowcur_open(&rcur, txn, se->s);
	if (rc)
		goto done;
	if (p.n == 0) {
		/* No index applies: scan the rows newest first. */
		info->scanned = 1;
		int st = lo <= hi ? scan_range(&e, &rcur, lo, hi) : 0;
		if (st < 0)
			rc = st;
		goto done;
	}
	for (int64_t b = (int64_t)ml_docid_bucket(hi); lo <= hi && b >= (int64_t)ml_docid_bucket(lo); b--) {
		uint64_t blo = ML_MAX(lo, ml_bucket_first((uint32_t)b));
		uint64_t bhi = ML_MIN(hi, ml_bucket_last((uint32_t)b));
		unsigned n = 0;
		int empty = 0;
		for (unsigned i = 0; i < p.n && !rc && !empty; i++) {
			if (p.specs[i].unindexed)
				continue;
			rc = spec_iter(&its[n], txn, se->s->post, &p.specs[i], (uint32_t)b);
			if (p.specs[i].unindexed && sfn) {
				iter_free(&its[n]);
				rc = ML_ENOTFOUND;   /* the records would have to say */
			} else if (p.specs[i].unindexed) {
				info->prefix_capped = 1;
				iter_free(&its[n]);
				continue;
			}
			if (its[n].count == 0)
				empty = 1;
			n++;
		}
		int stop = 0;
		if (!rc && !empty) {
			if (n == 0) {
				info->scanned = 1;
				stop = scan_range(&e, &rcur, blo, bhi);
				if (stop < 0)
					rc = stop;
			} else {
				qsort(its, n, sizeof its[0], cmp_iter);
				stop = leapfrog(&e, its, n, blo, bhi, &rc);
			}
		}
		for (unsigned i = 0; i < n; i++)
			iter_free(&its[i]);
		if (rc || stop > 0)
			break;
	}
done:
	/* the rows still in the batch */
	if (!rc && e.rows && !info->stopped && !sfn) {
		int st = batch_flush(&e);
		if (!st)
			st = pending_emit(&e);
		if (st < 0)
			rc = st;
	}
	/* (stopped or failed with a batch handed over: the helper out of it) */
	pending_cancel(&e);
	atomic_fetch_sub(&searches_running, 1);
	ml_rowsum_cur_close(e.sums);
	if (c)
		mdb_cursor_close(c);
	if (rcur.c[0])
		ml_rowcur_close(&rcur);
	plan_free(&p);
	snap_end(se, txn);
	check_free(&chk);
	if (rc && rc != ML_ENOTFOUND && !*err)
		snprintf(err, errlen, "%s: %s", se->s->path, ml_strerror(rc));
	return rc;
}

int ml_search_run(ml_search_t *se, const ml_query_t *q, ml_row_fn fn, void *ctx, ml_search_info_t *info,
                  char *err, size_t errlen)
{
	return run(se, q, fn, NULL, ctx, info, err, errlen);
}

int ml_search_rowsums(ml_search_t *se, const ml_query_t *q, ml_rowsum_fn fn, void *ctx, ml_search_info_t *info,
                      char *err, size_t errlen)
{
	return run(se, q, NULL, fn, ctx, info, err, errlen);
}

const char *ml_search_stopped_name(int stopped)
{
	return stopped == ML_SEARCH_DEADLINE ? "deadline" : stopped == ML_SEARCH_CANCELLED ? "cancelled" : NULL;
}

uint64_t ml_search_clock_ns(void)
{
	return now_ns();
}

int ml_search_each(ml_search_t *se, int (*fn)(void *ctx, const ml_message_t *m), void *ctx)
{
	MDB_txn *txn;
	ml_rowcur_t c;
	int rc = snap_begin(se, &txn);
	if (rc)
		return rc;
	rc = ml_rowcur_open(&c, txn, se->s);
	if (rc) {
		snap_end(se, txn);
		return rc;
	}
	rc = ml_rowcur_seek(&c, 0, 0);
	uint64_t d;
	MDB_val v;
	int place;
	while (!rc && ml_rowcur_get(&c, &d, &v, &place)) {
		rc = ml_row_decode(&se->tab, v.mv_data, v.mv_size, d, &se->msg);
		if (!rc)
			rc = load_raw(se, txn, &se->msg);
		if (!rc && fn(ctx, &se->msg))
			break;
		if (!rc)
			rc = ml_rowcur_next(&c);
	}
	ml_rowcur_close(&c);
	snap_end(se, txn);
	return rc;
}

int ml_search_each_posting(ml_search_t *se,
                           int (*fn)(void *ctx, const char *key, size_t n, uint32_t bucket, uint64_t docid),
                           void *ctx)
{
	MDB_txn *txn;
	int rc = ml_store_read_begin(se->s, &txn);
	if (rc)
		return rc;
	rc = ml_post_each(txn, se->s->post, fn, ctx);
	mdb_txn_abort(txn);
	return rc;
}

/* ---- snapshots for batch jobs ---- */

struct ml_snap {
	ml_search_t *se;
	MDB_txn *txn;
};

int ml_snap_open(ml_snap_t **out, ml_store_t *s)
{
	ml_snap_t *sn = calloc(1, sizeof *sn);
	if (!sn)
		return ML_ENOMEM;
	int rc = ml_search_new(&sn->se, s);
	if (!rc)
		rc = snap_begin(sn->se, &sn->txn);
	if (rc) {
		ml_search_free(sn->se);
		free(sn);
		return rc;
	}
	*out = sn;
	return ML_OK;
}

void ml_snap_close(ml_snap_t *sn)
{
	if (!sn)
		return;
	if (sn->txn)
		snap_end(sn->se, sn->txn);
	ml_search_free(sn->se);
	free(sn);
}

uint64_t ml_snap_count(ml_snap_t *sn)
{
	MDB_stat st;
	uint64_t n = 0;
	for (int p = 0; p < 2; p++)
		if (mdb_stat(sn->txn, ml_store_rows_dbi(sn->se->s, p), &st) == 0)
			n += st.ms_entries;
	return n;
}

int ml_snap_each_row(ml_snap_t *sn, int (*fn)(void *ctx, const ml_message_t *m, size_t bytes), void *ctx)
{
	ml_rowcur_t c;
	int rc = ml_rowcur_open(&c, sn->txn, sn->se->s);
	if (!rc)
		rc = ml_rowcur_seek(&c, 0, 0);
	uint64_t d;
	MDB_val v;
	while (!rc && ml_rowcur_get(&c, &d, &v, NULL)) {
		rc = ml_row_decode(&sn->se->tab, v.mv_data, v.mv_size, d, &sn->se->msg);
		if (!rc && (rc = fn(ctx, &sn->se->msg, v.mv_size)) != 0)
			break;
		rc = ml_rowcur_next(&c);
	}
	if (c.c[0])
		ml_rowcur_close(&c);
	return rc;
}

/* The stored message docid in snapshot txn: its row, and its lines too. */
static int get_in(ml_search_t *se, MDB_txn *txn, uint64_t docid, int lines, ml_message_t *m)
{
	MDB_val v;
	int place;
	int rc = ml_store_row_get(txn, se->s, docid, &v, &place);
	if (!rc)
		rc = ml_row_decode(&se->tab, v.mv_data, v.mv_size, docid, m);
	if (!rc && lines)
		rc = load_raw(se, txn, m);
	return rc;
}

int ml_search_get_row(ml_search_t *se, uint64_t docid, int lines, ml_message_t *m)
{
	MDB_txn *txn;
	int rc = snap_begin(se, &txn);
	if (rc)
		return rc;
	rc = get_in(se, txn, docid, lines, m);
	snap_end(se, txn);
	return rc;
}

int ml_search_find(ml_search_t *se, const char *key, size_t n, int64_t since_us, int64_t until_us,
                   uint64_t *ids, size_t cap, size_t *count)
{
	*count = 0;
	MDB_txn *txn;
	int rc = snap_begin(se, &txn);
	if (rc)
		return rc;
	rc = ml_post_find(txn, se->s->post, key, n, since_us, until_us, ids, cap, count);
	snap_end(se, txn);
	return rc;
}

int ml_search_open_lookup(ml_search_t *se, ml_slice_t host, ml_slice_t qid, ml_message_t *m)
{
	MDB_txn *txn;
	int rc = snap_begin(se, &txn);
	if (rc)
		return rc;
	rc = ml_store_open_key(&se->tmp, host, qid);
	MDB_val k = { se->tmp.len, se->tmp.data }, v;
	if (!rc)
		rc = ml_store_errcode(mdb_get(txn, se->s->open, &k, &v));
	if (!rc && v.mv_size != 8)
		rc = ML_CORRUPT_BKPT;
	if (!rc) {
		rc = get_in(se, txn, ml_get_be64(v.mv_data), 1, m);
		if (rc == ML_ENOTFOUND)
			rc = ML_CORRUPT_BKPT;   /* in `open`, not in the rows */
	}
	snap_end(se, txn);
	return rc;
}

int ml_snap_get(ml_snap_t *sn, uint64_t docid, ml_message_t *m)
{
	MDB_val v;
	int place;
	int rc = ml_store_row_get(sn->txn, sn->se->s, docid, &v, &place);
	if (rc)
		return rc == ML_ENOTFOUND ? ML_CORRUPT_BKPT : rc;
	rc = ml_row_decode(&sn->se->tab, v.mv_data, v.mv_size, docid, m);
	return rc ? rc : load_raw(sn->se, sn->txn, m);
}

int ml_snap_get_from(ml_snap_t *sn, uint64_t docid, ml_message_t *m)
{
	ml_rowcur_t c;
	int rc = ml_rowcur_open(&c, sn->txn, sn->se->s);
	if (rc)
		return rc;
	uint64_t d;
	MDB_val v;
	int place;
	rc = ml_rowcur_seek(&c, docid, 0);
	if (!rc && !ml_rowcur_get(&c, &d, &v, &place))
		rc = ML_ENOTFOUND;
	if (!rc)
		rc = ml_row_decode(&sn->se->tab, v.mv_data, v.mv_size, d, m);
	ml_rowcur_close(&c);
	return rc ? rc : load_raw(sn->se, sn->txn, m);
}

int ml_snap_range(ml_snap_t *sn, uint64_t *first, uint64_t *last)
{
	return ml_store_docid_range(sn->txn, sn->se->s, first, last);
}
