/*
 * maint.c — `mtalog prune` and `mtalog compact`: the command side of
 * index/prune.h (options, the progress line, the report).
 */
#include "maint.h"

#include <getopt.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/syslog.h"
#include "index/prune.h"
#include "index/reindex.h"
#include "index/upgrade.h"
#include "tools/ingest.h"
#include "tools/reparse.h"
#include "index/store.h"

typedef struct {
	int tty;                   /* progress line on stderr */
	struct timespec start, last;
	uint64_t before_s;         /* the cutoff, in seconds */
} progress_t;

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static int show_progress(void *ctx, const ml_prune_progress_t *p)
{
	progress_t *pr = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&pr->last, &now) < 0.2)
		return 0;
	pr->last = now;
	double el = since(&pr->start, &now);
	double rate = el > 0 ? (double)p->examined / el : 0;
	/* docids are time-ordered: the fraction of the time span walked */
	double frac = 0;
	uint64_t first_s = ml_docid_sec(p->first_docid), at_s = ml_docid_sec(p->next_docid);
	if (pr->before_s > first_s && at_s > first_s)
		frac = (double)(at_s - first_s) / (double)(pr->before_s - first_s);
	if (frac > 1)
		frac = 1;
	char eta[32] = "?";
	if (frac > 0.001) {
		long s = (long)(el / frac - el);
		snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
	}
	fprintf(stderr, "\rprune: %llu examined, %llu deleted, %.0f/s, %3.0f%%, ETA %s   ",
	        (unsigned long long)p->examined, (unsigned long long)p->deleted, rate,
	        frac * 100, eta);
	fflush(stderr);
	return 0;
}

static void mb(char *buf, size_t len, uint64_t bytes)
{
	snprintf(buf, len, "%.1f MB", (double)bytes / 1e6);
}

/* compact's progress: LMDB's copy has no callback, so a thread watches the
 * copy grow towards the pages in use. */
typedef struct {
	char tmp[4200];
	uint64_t total;          /* bytes in use: about what the copy will be */
	volatile int done;
	struct timespec start;
} cp_progress_t;

static void *compact_progress(void *arg)
{
	cp_progress_t *c = arg;
	while (!c->done) {
		struct stat st;
		uint64_t at = stat(c->tmp, &st) == 0 ? (uint64_t)st.st_size : 0;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el = since(&c->start, &now), rate = el > 0 ? (double)at / el : 0;
		double frac = c->total ? (double)at / (double)c->total : 0;
		if (frac > 1)
			frac = 1;
		char eta[32] = "?";
		if (rate > 0 && c->total > at) {
			long s = (long)((double)(c->total - at) / rate);
			snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
		}
		fprintf(stderr, "\rcompact: %.1f of %.1f MB written, %.1f MB/s, %3.0f%%, ETA %s   ",
		        (double)at / 1e6, (double)c->total / 1e6, rate / 1e6, frac * 100, eta);
		fflush(stderr);
		for (int i = 0; i < 4 && !c->done; i++) {
			struct timespec ts = { 0, 50000000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int do_compact(const char *db, int quiet)
{
	char err[1024], a[32], b[32];
	uint64_t before, after;
	cp_progress_t cp;
	memset(&cp, 0, sizeof cp);
	pthread_t th;
	int watching = 0;
	if (!quiet && isatty(2)) {
		ml_store_t *s;
		uint64_t file = 0, freeb = 0;
		if (ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err) == 0) {
			ml_prune_space(s, &file, &freeb);
			ml_store_close(s);
		}
		snprintf(cp.tmp, sizeof cp.tmp, "%s.compact-tmp", db);
		cp.total = file > freeb ? file - freeb : file;
		clock_gettime(CLOCK_MONOTONIC, &cp.start);
		watching = pthread_create(&th, NULL, compact_progress, &cp) == 0;
	}
	int rc = ml_prune_compact(db, &before, &after, err, sizeof err);
	if (watching) {
		cp.done = 1;
		pthread_join(th, NULL);
		fprintf(stderr, "\r%*s\r", 78, "");
	}
	if (rc) {
		fprintf(stderr, "mtalog compact: %s\n", err);
		return 2;
	}
	if (!quiet) {
		mb(a, sizeof a, before);
		mb(b, sizeof b, after);
		fprintf(stderr, "compacted %s: %s -> %s (%llu bytes -> %llu bytes)\n", db, a, b,
		        (unsigned long long)before, (unsigned long long)after);
	}
	return 0;
}

static int cmd_prune(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "older-than", required_argument, 0, 'o' },
		{ "batch", required_argument, 0, 'b' },
		{ "compact", no_argument, 0, 'c' },
		{ "no-sync", no_argument, 0, 'n' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *older = NULL;
	unsigned batch = 0;
	int quiet = 0, compact = 0, nosync = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'o': older = optarg; break;
		case 'b': batch = (unsigned)strtoul(optarg, NULL, 10); if (!batch) batch = 1; break;
		case 'c': compact = 1; break;
		case 'n': nosync = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
			puts("usage: mtalog prune --older-than T [--compact] [--quiet]\n"
			     "  delete the messages first seen before T (30d, 12h, 2024-01-02, RFC 3339),\n"
			     "  except those still in flight; --compact then rewrites the file smaller");
			return 0;
		default: return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtalog prune: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	if (!older) {
		fprintf(stderr, "mtalog prune: give --older-than T (e.g. 30d, 12h, or a date: 2024-01-02)\n");
		return 1;
	}
	int64_t cut_us;
	if (ml_time_parse_user(older, time(NULL), &cut_us) != 0) {
		fprintf(stderr, "mtalog prune: --older-than: '%s' is not a time (30d, 12h, 2024-01-02, "
		        "2024-01-02T03:04:05Z)\n", older);
		return 1;
	}
	uint64_t cut_s = cut_us > 0 ? (uint64_t)(cut_us / 1000000) : 0;
	if (cut_s > ML_DOCID_SEC_MAX)
		cut_s = ML_DOCID_SEC_MAX;
	char err[1024];
	ml_store_t *s;
	int rc = ml_store_open(&s, db, nosync ? ML_STORE_NOSYNC : 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "mtalog prune: %s\n", err);
		return 2;
	}
	uint64_t file0, free0, file1, free1;
	ml_prune_space(s, &file0, &free0);

	progress_t pr;
	memset(&pr, 0, sizeof pr);
	pr.tty = !quiet && isatty(2);
	pr.before_s = cut_s;
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	ml_prune_opts_t o = { .before_docid = ml_docid_make(cut_s, 0), .batch = batch };
	if (pr.tty) {
		o.progress = show_progress;
		o.ctx = &pr;
	}
	ml_prune_progress_t res;
	rc = ml_prune_run(s, &o, &res);
	if (pr.tty)
		fprintf(stderr, "\r%*s\r", 78, "");
	ml_prune_space(s, &file1, &free1);
	ml_store_close(s);
	char when[40];
	ml_time_format((int64_t)cut_s * 1000000, when, sizeof when);
	if (rc) {
		fprintf(stderr, "mtalog prune: %s: %s%s (%llu messages deleted before the error; "
		        "run prune again to go on)\n", db, ml_strerror(rc),
		        rc == ML_EFULL || rc == ML_EIO ? " (is the disk full?)" : "", (unsigned long long)res.deleted);
		return 2;
	}
	if (!quiet) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		char a[32], b[32], f0[32], f1[32];
		mb(a, sizeof a, file0);
		mb(b, sizeof b, file1);
		mb(f0, sizeof f0, free0);
		mb(f1, sizeof f1, free1);
		fprintf(stderr, "pruned %llu messages first seen before %s (%llu index entries) in %.2f s; "
		        "kept %llu still in flight\n",
		        (unsigned long long)res.deleted, when, (unsigned long long)res.postings,
		        since(&pr.start, &now), (unsigned long long)res.kept_in_flight);
		fprintf(stderr, "database %s: %s (%s free) before, %s (%s free) after%s\n", db, a, f0, b, f1,
		        compact || free1 == 0 ? "" : "; mtalog compact gives the free pages back");
	}
	return compact ? do_compact(db, quiet) : 0;
}

static int cmd_compact(const char *db, int argc, char **argv)
{
	int quiet = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			quiet = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			puts("usage: mtalog compact [--quiet]\n"
			     "  rewrite the database without its free pages (the space prune freed);\n"
			     "  needs the database to itself: stop ingest and serve first");
			return 0;
		} else {
			fprintf(stderr, "mtalog compact: unexpected argument '%s'\n", argv[i]);
			return 1;
		}
	}
	return do_compact(db, quiet);
}

typedef struct {
	struct timespec start, last;
	const char *what;
} rx_progress_t;

static int reindex_progress(void *ctx, const ml_reindex_progress_t *p)
{
	rx_progress_t *pr = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&pr->last, &now) < 0.2 && p->done < p->total)
		return 0;
	pr->last = now;
	double el = since(&pr->start, &now), rate = el > 0 ? (double)p->done / el : 0;
	char eta[32] = "?";
	if (rate > 0 && p->total >= p->done) {
		long s = (long)((double)(p->total - p->done) / rate);
		snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
	}
	fprintf(stderr, "\r%s: %llu of %llu messages, %.0f/s, %3.0f%%, ETA %s   ", pr->what,
	        (unsigned long long)p->done, (unsigned long long)p->total, rate,
	        p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, eta);
	fflush(stderr);
	return 0;
}

static int cmd_reindex(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reparse", no_argument, 0, 'r' },
		{ "format", required_argument, 0, 'f' },
		{ "no-sync", no_argument, 0, 'n' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int quiet = 0, nosync = 0, reparse = 0, format = -1, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reparse = 1; break;
		case 'f':
			format = ml_ingest_format(optarg);
			if (format < 0) {
				fprintf(stderr, "mtalog reindex: --format: '%s' is not auto, postfix, exim or sendmail\n", optarg);
				return 1;
			}
			break;
		case 'n': nosync = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
			puts("usage: mtalog reindex [--reparse [--format F]] [--quiet]\n"
			     "  rebuild every index entry and retrain the compression dictionary from the\n"
			     "  stored messages, in one transaction (searches go on, and see the new index\n"
			     "  when it is done; an ingest waits); --reparse: first parse the stored log\n"
			     "  lines again with this version's parsers (--format: by default the one\n"
			     "  the logs were ingested with)");
			return 0;
		default: return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtalog reindex: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	char err[1024];
	ml_store_t *s;
	int rc = ml_store_open(&s, db, nosync ? ML_STORE_NOSYNC : 0, err, sizeof err);
	if (rc) {
		fprintf(stderr, "mtalog reindex: %s\n", err);
		return 2;
	}
	uint64_t file0 = ml_store_file_bytes(s);
	if (format < 0) {
		/* the --format the logs were ingested with, if one was named */
		char name[16];
		format = ML_FORMAT_AUTO;
		if (ml_store_meta_string(s, ML_META_FORMAT, name, sizeof name) == 0 && ml_ingest_format(name) > 0)
			format = ml_ingest_format(name);
	}
	rx_progress_t pr;
	memset(&pr, 0, sizeof pr);
	pr.what = reparse ? "reparse" : "reindex";
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	int tty = !quiet && isatty(2);
	ml_reindex_progress_t res;
	err[0] = 0;
	if (reparse)
		rc = ml_ingest_reparse(s, format, tty ? reindex_progress : NULL, &pr, &res, err, sizeof err);
	else
		rc = ml_reindex_run(s, tty ? reindex_progress : NULL, &pr, &res, err, sizeof err);
	if (tty)
		fprintf(stderr, "\r%*s\r", 78, "");
	uint64_t file1 = ml_store_file_bytes(s);
	ml_store_close(s);
	if (rc) {
		fprintf(stderr, "mtalog reindex: %s\n", err[0] ? err : ml_strerror(rc));
		return 2;
	}
	if (!quiet) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el = since(&pr.start, &now);
		char a[32], b[32], f0[32], f1[32];
		mb(a, sizeof a, res.bytes_before);
		mb(b, sizeof b, res.bytes_after);
		mb(f0, sizeof f0, file0);
		mb(f1, sizeof f1, file1);
		fprintf(stderr, "%s %llu messages in %.2f s: %.0f messages/s; stored messages %s -> %s "
		        "(compression dictionary %u -> %u); file %s -> %s%s\n", reparse ? "reparsed" : "reindexed",
		        (unsigned long long)res.done, el, el > 0 ? (double)res.done / el : 0.0, a, b,
		        res.dict_before, res.dict_after, f0, f1,
		        file1 > file0 ? " (the old copy's pages are free: mtalog compact gives them back)" : "");
	}
	return 0;
}

static int cmd_upgrade(const char *db, int argc, char **argv)
{
	int quiet = 0, nosync = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			quiet = 1;
		} else if (!strcmp(argv[i], "--no-sync")) {
			nosync = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			puts("usage: mtalog upgrade [--no-sync] [--quiet]\n"
			     "  carry a database written by an older mtalog (schema 5) over to this one's\n"
			     "  layout, in one transaction: killed, it leaves the old database whole");
			return 0;
		} else {
			fprintf(stderr, "mtalog upgrade: unexpected argument '%s'\n", argv[i]);
			return 1;
		}
	}
	char err[1024];
	ml_store_t *s;
	int rc = ml_store_open(&s, db, ML_STORE_UPGRADE | (nosync ? ML_STORE_NOSYNC : 0), err, sizeof err);
	if (rc) {
		fprintf(stderr, "mtalog upgrade: %s\n", err);
		return 2;
	}
	if (s->schema == ML_SCHEMA_VERSION) {
		ml_store_close(s);
		if (!quiet)
			fprintf(stderr, "mtalog upgrade: %s is up to date\n", db);
		return 0;
	}
	uint64_t file0 = ml_store_file_bytes(s);
	rx_progress_t pr;
	memset(&pr, 0, sizeof pr);
	pr.what = "upgrade";
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	int tty = !quiet && isatty(2);
	ml_reindex_progress_t res;
	err[0] = 0;
	rc = ml_upgrade_run(s, tty ? reindex_progress : NULL, &pr, &res, err, sizeof err);
	if (tty)
		fprintf(stderr, "\r%*s\r", 78, "");
	uint64_t file1 = ml_store_file_bytes(s);
	ml_store_close(s);
	if (rc) {
		fprintf(stderr, "mtalog upgrade: %s\n", err[0] ? err : ml_strerror(rc));
		return 2;
	}
	if (!quiet) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		char f0[32], f1[32];
		mb(f0, sizeof f0, file0);
		mb(f1, sizeof f1, file1);
		fprintf(stderr, "upgraded %llu messages in %.2f s; file %s -> %s%s\n", (unsigned long long)res.done,
		        since(&pr.start, &now), f0, f1,
		        file1 > file0 ? " (the old layout's pages are free: mtalog compact gives them back)" : "");
	}
	return 0;
}

int ml_maint_main(const char *db, const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "upgrade"))
		return cmd_upgrade(db, argc, argv);
	if (!strcmp(cmd, "reindex"))
		return cmd_reindex(db, argc, argv);
	if (!strcmp(cmd, "prune"))
		return cmd_prune(db, argc, argv);
	if (!strcmp(cmd, "compact"))
		return cmd_compact(db, argc, argv);
	return -1;
}
