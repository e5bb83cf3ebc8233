/*
 * bench_search — search latency, in process, on an existing database.
 *
 *   bench_search --db PATH [--queries N] [--seed S] [--out-values FILE]
 *                [--latencies FILE] [--cold] [--only PREFIX]
 *
 * Unless --cold, every page of the database is first read once, so that the
 * figures are those of a long-running reader (the server) whose map is
 * populated; a fresh process instead takes a page fault on each page it
 * touches first (measured apart with --cold).
 *
 * Classes: recipient address, recipient domain, two subject words, status +
 * domain, time range + domain, message-id, queue ID, no match; "1000 rows
 * printed": a recipient domain whose rows are each written as `search --json`
 * writes them (to /dev/null); "subject regex + a word": an indexed subject
 * word and a PCRE2 expression on the subject around it (WORD\W+\w);
 * "histogram: recipient domain", "histogram: status", "histogram: sender
 * domain", "histogram: direction", "histogram: subject word", "histogram:
 * recipient prefix", "histogram: subject regex": the whole match of a
 * domain, of one status, of a sender's domain, of a direction, of one
 * subject word, of the first letter of a recipient address (L*), of the
 * regex of the class "subject regex + a word" alone (\bWORD\W+\w, no
 * subject filter: the search looks up the word the regex needs,
 * index/relit.h), counted by hour and status (tools/histogram.h, what
 * /api/histogram and the total of /api/search run), at most HIST_QUERIES
 * values each (rows: the rows counted); stderr says how many the table
 * counts and the summaries answered ($MTALOG_HIST_WALK=1: none, the
 * counting walk).
 * --only PREFIX runs the classes whose name begins with PREFIX
 * ("histogram").
 *
 * Query values are sampled from the database itself (random records, so
 * popular addresses and domains come up as often as users ask for them).
 * Each query class runs N different values once each; every returned row is
 * decoded (that is part of the search).  Prints, per class, p50, p95, p99 and
 * max in microseconds, and rows returned on average.  With --out-values the
 * sampled addresses are written one per line ("CLASS<TAB>value", and for
 * "status + domain" a third column, the status), so that the baselines (grep,
 * exigrep, SQLite FTS5) can answer the same questions.  With --latencies every
 * measured latency is written, one per line ("CLASS<TAB>microseconds"), for
 * the plots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "index/query.h"
#include "index/store.h"
#include "index/tokens.h"
#include "tools/histogram.h"
#include "tools/output.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int count_row(void *ctx, const ml_message_t *m, int row)
{
	(void)m;
	(void)row;
	(*(unsigned *)ctx)++;
	return 0;
}

typedef struct {
	char *words[64];
	int n;
} words_t;

static void add_word(void *ctx, const char *w, size_t n)
{
	words_t *ws = ctx;
	if (ws->n < 64 && n >= 3)
		ws->words[ws->n++] = strndup(w, n);
}

enum { C_ADDR, C_DOMAIN, C_WORDS, C_STATUS_DOMAIN, C_TIME_DOMAIN, C_MSGID, C_QID, C_NOTHING,
       C_PRINTED, C_REGEX, C_HIST_DOMAIN, C_HIST_STATUS, C_HIST_FROM, C_HIST_DIRECTION, C_HIST_WORD,
       C_HIST_PREFIX, C_HIST_REGEX, C__N };
#define HIST_QUERIES 20   /* histograms count every row of the match: fewer of them */
static const char *const class_names[C__N] = {
	"recipient address", "recipient domain", "two subject words", "status + domain",
	"time range + domain", "message-id", "queue ID", "no match",
	"1000 rows printed (JSON)", "subject regex + a word",
	"histogram: recipient domain", "histogram: status", "histogram: sender domain", "histogram: direction",
	"histogram: subject word", "histogram: recipient prefix", "histogram: subject regex",
};

/* The "printed" class: each row written as `mtalog search --json` writes it. */
static ml_out_t *printer;

static int print_row(void *ctx, const ml_message_t *m, int row)
{
	(*(unsigned *)ctx)++;
	return ml_out_row(printer, m, row);
}

int main(int argc, char **argv)
{
	const char *db = NULL, *values_out = NULL, *lat_out = NULL;
	int nq = 200, cold = 0;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc) db = argv[++i];
		else if (!strcmp(argv[i], "--queries") && i + 1 < argc) nq = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc) rng_state = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--out-values") && i + 1 < argc) values_out = argv[++i];
		else if (!strcmp(argv[i], "--latencies") && i + 1 < argc) lat_out = argv[++i];
		else if (!strcmp(argv[i], "--cold")) cold = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
		else { fprintf(stderr, "usage: bench_search --db PATH [--queries N] [--seed S] [--out-values FILE] [--latencies FILE] [--cold] [--only PREFIX]\n"); return 1; }
	}
	if (!db || nq < 1) {
		fprintf(stderr, "bench_search: --db is required\n");
		return 1;
	}
	char err[512];
	ml_store_t *s;
	if (ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err)) {
		fprintf(stderr, "bench_search: %s\n", err);
		return 1;
	}
	ml_search_t *se;
	FILE *devnull = fopen("/dev/null", "w");
	printer = devnull ? ml_out_new(devnull, ML_OUT_JSON) : NULL;
	if (!printer) {
		fprintf(stderr, "bench_search: cannot open /dev/null\n");
		return 1;
	}
	ml_search_new(&se, s);
	/* every page read once: the map is populated */
	if (!cold)
		ml_store_warm(s);
	ml_snap_t *sn;
	uint64_t lo, hi;
	if (ml_snap_open(&sn, s) || ml_snap_range(sn, &lo, &hi) || !hi) {
		fprintf(stderr, "bench_search: empty database\n");
		return 1;
	}
	/* sample queries */
	ml_query_t *qs = calloc((size_t)C__N * nq, sizeof *qs);
	char *ok = calloc((size_t)C__N * nq, 1);
	FILE *vf = values_out ? fopen(values_out, "w") : NULL;
	FILE *lf = lat_out ? fopen(lat_out, "w") : NULL;
	if ((values_out && !vf) || (lat_out && !lf)) {
		fprintf(stderr, "bench_search: cannot write %s\n", values_out && !vf ? values_out : lat_out);
		return 1;
	}
	ml_message_t m;
	ml_message_init(&m);
	for (int c = 0; c < C__N; c++) {
		if (only && strncmp(class_names[c], only, strlen(only)))
			continue;
		for (int i = 0; i < nq; i++) {
			ml_query_t *q = &qs[c * nq + i];
			if (c >= C_HIST_DOMAIN && i >= HIST_QUERIES)
				break;
			for (int tries = 0; tries < 1000; tries++) {
				if (ml_snap_get_from(sn, lo + rnd() % (hi - lo + 1), &m))
					continue;
				if (!m.nrcpts)
					continue;
				const ml_rcpt_t *r = &m.rcpts[rnd() % m.nrcpts];
				ml_slice_t to = ml_message_str(&m, r->to);
				ml_slice_t dom = ml_addr_domain(to);
				char buf[1024];
				if (!to.n || !dom.n || to.n > 500)
					continue;
				if (c == C_ADDR) {
					snprintf(buf, sizeof buf, "%.*s", (int)to.n, to.p);
					ml_query_set(q, "to", buf, err, sizeof err);
				} else if (c == C_PRINTED) {
					/* the newest 1000 rows of any recipient: every row decoded and printed */
					snprintf(buf, sizeof buf, "@%.*s", (int)dom.n, dom.p);
					ml_query_set(q, "to", buf, err, sizeof err);
				} else if (c == C_HIST_FROM) {
					ml_slice_t fd = ml_addr_domain(ml_message_str(&m, m.from));
					if (!fd.n || fd.n > 300)
						continue;
					snprintf(buf, sizeof buf, "@%.*s", (int)fd.n, fd.p);
					ml_query_set(q, "from", buf, err, sizeof err);
				} else if (c == C_HIST_DIRECTION) {
					if (!m.direction)
						continue;
					snprintf(buf, sizeof buf, "%s", ml_direction_name(m.direction));
					ml_query_set(q, "direction", buf, err, sizeof err);
				} else if (c == C_HIST_WORD) {
					ml_slice_t subj = ml_message_str(&m, m.subject);
					words_t ws = { .n = 0 };
					ml_tokens_words(subj.p, subj.n, add_word, &ws);
					if (ws.n)
						snprintf(buf, sizeof buf, "%s", ws.words[rnd() % ws.n]);
					for (int w = 0; w < ws.n; w++) free(ws.words[w]);
					if (!ws.n)
						continue;
					ml_query_set(q, "subject", buf, err, sizeof err);
				} else if (c == C_HIST_PREFIX) {
					/* the first letter of an address: some 1/20 of the rows */
					snprintf(buf, sizeof buf, "%.1s*", to.p);
					ml_query_set(q, "to", buf, err, sizeof err);
				} else if (c == C_HIST_STATUS) {
					ml_query_set(q, "status", ml_status_name(ml_message_row_status(&m, r)), err, sizeof err);
				} else if (c == C_DOMAIN || c == C_STATUS_DOMAIN || c == C_TIME_DOMAIN || c == C_HIST_DOMAIN) {
					snprintf(buf, sizeof buf, "@%.*s", (int)dom.n, dom.p);
					ml_query_set(q, "to", buf, err, sizeof err);
					if (c == C_STATUS_DOMAIN)
						ml_query_set(q, "status", ml_status_name(ml_message_row_status(&m, r)), err, sizeof err);
					if (c == C_TIME_DOMAIN) {
						/* the hour either side, to the second (as --since/--until take them) */
						q->since_us = (m.first_us / 1000000 - 3600) * 1000000;
						q->until_us = (m.first_us / 1000000 + 3600) * 1000000;
					}
				} else if (c == C_WORDS) {
					ml_slice_t subj = ml_message_str(&m, m.subject);
					words_t ws = { .n = 0 };
					ml_tokens_words(subj.p, subj.n, add_word, &ws);
					if (ws.n < 2) {
						for (int w = 0; w < ws.n; w++) free(ws.words[w]);
						continue;
					}
					int a = (int)(rnd() % ws.n), b = (int)(rnd() % ws.n);
					if (a == b) b = (a + 1) % ws.n;
					snprintf(buf, sizeof buf, "%s %s", ws.words[a], ws.words[b]);
					ml_query_set(q, "subject", buf, err, sizeof err);
					for (int w = 0; w < ws.n; w++) free(ws.words[w]);
				} else if (c == C_REGEX || c == C_HIST_REGEX) {
					/* an indexed word, and a regular expression on the subject around it */
					ml_slice_t subj = ml_message_str(&m, m.subject);
					words_t ws = { .n = 0 };
					ml_tokens_words(subj.p, subj.n, add_word, &ws);
					int pick = -1;
					for (int w = 0; w < ws.n && pick < 0; w++) {
						int plain = 1;
						for (const char *p = ws.words[w]; *p; p++)
							plain &= (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
						if (plain)
							pick = w;
					}
					if (pick >= 0) {
						char re[256];
						snprintf(buf, sizeof buf, "%s", ws.words[pick]);
						snprintf(re, sizeof re, "\\b%s\\W+\\w", ws.words[pick]);
						if (c == C_REGEX)
							ml_query_set(q, "subject", buf, err, sizeof err);
						ml_query_set(q, "subject_re", re, err, sizeof err);
					}
					for (int w = 0; w < ws.n; w++) free(ws.words[w]);
					if (pick < 0) continue;
				} else if (c == C_MSGID) {
					ml_slice_t id = ml_message_str(&m, m.message_id);
					if (!id.n) continue;
					snprintf(buf, sizeof buf, "%.*s", (int)id.n, id.p);
					ml_query_set(q, "msgid", buf, err, sizeof err);
				} else if (c == C_QID) {
					ml_slice_t id = ml_message_str(&m, m.queue_id);
					if (!id.n) continue;
					snprintf(buf, sizeof buf, "%.*s", (int)id.n, id.p);
					ml_query_set(q, "queue_id", buf, err, sizeof err);
				} else {
					snprintf(buf, sizeof buf, "nobody-%llu@%.*s", (unsigned long long)rnd(), (int)dom.n, dom.p);
					ml_query_set(q, "to", buf, err, sizeof err);
				}
				if (vf && c == C_STATUS_DOMAIN) {
					fprintf(vf, "%s\t%s\t%s\n", class_names[c], buf,
					        ml_status_name(ml_message_row_status(&m, r)));
				} else if (vf && c == C_TIME_DOMAIN) {
					char since[32], until[32];
					time_t a = (time_t)(q->since_us / 1000000), b = (time_t)(q->until_us / 1000000);
					strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", gmtime(&a));
					strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", gmtime(&b));
					fprintf(vf, "%s\t%s\t%s\t%s\n", class_names[c], buf, since, until);
				} else if (vf && c != C_HIST_STATUS && c < C_HIST_FROM) {
					fprintf(vf, "%s\t%s\n", class_names[c], buf);
				}
				ok[c * nq + i] = 1;
				break;
			}
		}
	}
	if (vf)
		fclose(vf);
	ml_snap_close(sn);
	ml_message_free(&m);
	double *lat = malloc(sizeof(double) * nq);
	printf("| query class | queries | rows (mean) | p50 µs | p95 µs | p99 µs | max µs |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|\n");
	unsigned hists = 0, from_counts = 0, from_rowsum = 0;
	for (int c = 0; c < C__N; c++) {
		if (only && strncmp(class_names[c], only, strlen(only)))
			continue;
		double rows = 0;
		int done = 0;
		for (int i = 0; i < nq; i++) {
			if (!ok[c * nq + i])
				continue;
			unsigned n = 0;
			ml_search_info_t info;
			double t0 = now_us();
			if (c >= C_HIST_DOMAIN) {
				ml_hist_t h;
				int hrc = ml_hist_run(&h, se, &qs[c * nq + i], NULL, NULL, err, sizeof err);
				n = (unsigned)h.total;
				hists++;
				from_counts += (unsigned)h.from_counts;
				from_rowsum += (unsigned)h.from_rowsum;
				memset(&info, 0, sizeof info);
				ml_hist_free(&h);
				if (hrc) {
					fprintf(stderr, "bench_search: %s\n", err);
					return 1;
				}
			} else if (ml_search_run(se, &qs[c * nq + i], c == C_PRINTED ? print_row : count_row, &n, &info,
			                         err, sizeof err)) {
				fprintf(stderr, "bench_search: %s\n", err);
				return 1;
			}
			lat[done++] = now_us() - t0;
			rows += n;
			if (lf)
				fprintf(lf, "%s\t%.1f\n", class_names[c], lat[done - 1]);
			if (getenv("BENCH_SLOW") && lat[done - 1] > atof(getenv("BENCH_SLOW"))) {
				const ml_query_t *q = &qs[c * nq + i];
				fprintf(stderr, "slow %.0f us: %s to=%s subject=%s status=%x rows=%u decoded=%llu\n",
				        lat[done - 1], class_names[c], q->to ? q->to : "", q->subject ? q->subject : "",
				        q->status_mask, n, (unsigned long long)info.decoded);
			}
		}
		if (!done) {
			printf("| %s | 0 | - | - | - | - | - |\n", class_names[c]);
			continue;
		}
		qsort(lat, (size_t)done, sizeof *lat, cmp_d);
		printf("| %s | %d | %.1f | %.0f | %.0f | %.0f | %.0f |\n", class_names[c], done, rows / done,
		       lat[done / 2], lat[(int)(done * 0.95)], lat[(int)(done * 0.99)], lat[done - 1]);
	}
	if (lf)
		fclose(lf);
	if (hists)
		fprintf(stderr, "bench_search: of %u histograms, %u answered from the table counts, %u from the summaries\n",
		        hists, from_counts, from_rowsum);
	for (int i = 0; i < C__N * nq; i++)
		ml_query_free(&qs[i]);
	free(qs);
	free(ok);
	free(lat);
	ml_out_finish(printer);
	fclose(devnull);
	ml_search_free(se);
	ml_store_close(s);
	return 0;
}
