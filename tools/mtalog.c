/*
 * mtalog — the command: ingest, search, show, stats, dump, serve.
 *
 * The database is --db PATH, else $MTALOG_DB, else ./mtalog.db.
 * Exit status: 0 success, 1 bad usage or input problems, 2 database errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "index/query.h"
#include "index/tokens.h"
#include "index/store.h"
#include "tools/auth.h"
#include "tools/cluster.h"
#include "tools/coord.h"
#include "tools/ingest.h"
#include "tools/output.h"
#include "tools/histogram.h"
#include "tools/report.h"
#include "tools/maint.h"
#include "tools/serve.h"
#include "tools/shard.h"
#include "tools/ship.h"

#define VERSION "0.2.0"

static const char *db_path(const char *opt)
{
	if (opt)
		return opt;
	const char *e = getenv("MTALOG_DB");
	return e && *e ? e : "mtalog.db";
}

static void usage(FILE *f)
{
	fputs(
	"usage: mtalog [--db PATH] COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  ingest FILE...      read mail logs (plain, rotated, .gz; - for stdin)\n"
	"      --year Y              year of traditional syslog timestamps (default: from the file's time)\n"
	"      --local-domains D,..  domains that are local (inbound mail); also learned from local deliveries\n"
	"      --format F            auto (default: each line by its program or shape), or\n"
	"                            postfix, exim, sendmail: every syslog line read as that MTA's\n"
	"      --host NAME           the host that wrote the files, for lines that name none\n"
	"                            (Exim's own mainlog, rspamd's own log): shown and searchable\n"
	"      --follow              keep reading the files as they grow, across rotation (rename\n"
	"                            and create, copytruncate, NAME.1 / NAME.1.gz next to them);\n"
	"                            a line is searchable within a second; stop with SIGINT/SIGTERM\n"
	"      --quiet               no report at the end\n"
	"  ingest --nats URL --shard K/N  a shard node of a cluster (docs/cluster.md)\n"
	"  search|show|stats --nats URL ...  ask every shard of a cluster, answers merged\n"
	"  ship --nats URL FILE...  follow logs and publish their lines to a cluster's\n"
	"                      stream (docs/cluster.md; mtalog ship --help)\n"
	"  search [filters]    rows (message x recipient), newest first\n"
	"      --from A  --to A      address, @domain, domain, or prefix* (--to also matches the original recipient)\n"
	"      --subject WORDS       all words must appear; \"a phrase\" must appear as written;\n"
	"                            invoic* a word that starts with invoic\n"
	"      --subject-re RE       PCRE2 regular expression on the subject (case-insensitive)\n"
	"      --status S[,S]        delivered delayed bounced expired queued quarantined blocked,\n"
	"                            or the groups cleared, released; reported (a recipient\n"
	"                            reported the message as spam or phishing)\n"
	"      --direction in|out|internal  --since T  --until T (2024-01-02, RFC 3339, or 2h, 7d ago)\n"
	"      --msgid ID  --ip IP  --host H  --queue-id Q  --limit N (max 1000)\n"
	"      --timeout S           stop after S seconds with the rows found so far (default: none)\n"
	"      --json | --csv        JSON Lines or CSV instead of a table (times in UTC)\n"
	"      --histogram           the whole match by hour or day and status: a bar chart\n"
	"                            (with --json: {bucket_seconds, buckets, total})\n"
	"      --utc | --local       times in the table in UTC (default) or local time\n"
	"  show ID [--json] [--local]  one message whole: fields, recipients, events (of\n"
	"                      every hop when it passed a content filter), raw lines\n"
	"  report ID [--reason spam|phishing] [--by NAME]  mark a message reported by a\n"
	"                      recipient (its rows keep their status; --status reported finds them)\n"
	"  stats [--json]      counts, lines skipped and not understood, database size\n"
	"  dump [--postings]   every message as JSON Lines, oldest first (with --postings:\n"
	"                      every index entry as \"tag:day:term<TAB>id\" after the messages)\n"
	"  prune --older-than T  delete the messages first seen before T (30d, 12h, a date),\n"
	"                      except those still in flight; --compact: compact after; --quiet\n"
	"  reindex [--reparse [--format F]]  rebuild every index entry and retrain compression from the stored\n"
	"                      messages (searches go on; they see the new index when it is done);\n"
	"                      --reparse: parse the stored log lines again first (a parser fix\n"
	"                      reaches history)\n"
	"  compact             rewrite the file without the space prune freed (needs the\n"
	"                      database to itself: stop ingest and serve first)\n"
	"  serve               the Email Logs page and the JSON API over HTTP, beside ingest\n"
	"      --listen HOST:PORT    default " ML_SERVE_DEFAULT_LISTEN " (port 0: a free one)\n"
	"      --verbose             one line per request on stderr\n"
	"      --users FILE          log in; each user sees their own rows (README: Web page)\n"
	"      --hash-password       read a password on stdin, print its hash for --users\n"
	"      --secure-cookie       the session cookie is Secure on loopback too (https proxy)\n"
	"      --search-timeout S    a search answers within S seconds with what it found (default 5)\n"
	"      --allowed-hosts NAMES the host names (comma-separated) the page is reached by, besides\n"
	"                            addresses and localhost; requests naming others get 421\n"
	"      --max-client-connections N  connections one client address may hold (default 64)\n"
	"      --header-timeout S    a request head must be whole within S seconds (default 10)\n"
	"      --max-scans N         searches without an indexed filter, or with a regex, at once\n"
	"                            (default: the processors; one more waits 2 s, then 503)\n"
	"      --max-searches N      searches of any kind at once, whatever the connections\n"
	"                            (default: max-scans + 2 a processor; more wait in line\n"
	"                            within the search time budget, then 503)\n"
	"      --nats URL            the page and the API over a cluster's shards (docs/cluster.md):\n"
	"                            every shard asked, the answers merged; one that does not answer\n"
	"                            within the search time budget + 1 s: \"partial\" and a warning\n"
	"\n"
	"The database is --db PATH, else $MTALOG_DB, else ./mtalog.db.  Every command\n"
	"and option: man mtalog (docs/mtalog.1 in the source tree).\n", f);
}

/* A whole number from lo to hi for option `opt` of command `cmd`; says
 * what is wrong and returns -1 otherwise. */
static int opt_number(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < lo || n > hi) {
		fprintf(stderr, "mtalog %s: --%s: '%s' is not a number from %ld to %ld\n", cmd, opt, v, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

/* Seconds for option `opt`: above 0 (0 too when zero_ok: "none"), at most
 * hi; says what is wrong and returns -1 otherwise. */
static int opt_seconds(const char *cmd, const char *opt, const char *v, int zero_ok, double hi, double *out)
{
	char *end;
	double t = strtod(v, &end);
	if (end == v || *end || !((zero_ok ? t >= 0 : t > 0) && t <= hi)) {
		fprintf(stderr, "mtalog %s: --%s: '%s' is not a number of seconds (%s, at most %g%s)\n", cmd, opt, v,
		        zero_ok ? "0 or more" : "above 0", hi, zero_ok ? "; 0: none" : "");
		return -1;
	}
	*out = t;
	return 0;
}

static int cmd_ingest(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "year", required_argument, 0, 'y' },
		{ "local-domains", required_argument, 0, 'l' },
		{ "batch-lines", required_argument, 0, 'b' },
		{ "no-sync", no_argument, 0, 'n' },
		{ "quiet", no_argument, 0, 'q' },
		{ "format", required_argument, 0, 'f' },
		{ "follow", no_argument, 0, 'F' },
		{ "host", required_argument, 0, 'H' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	ml_ingest_opts_t o = { .db_path = db, .batch_lines = 500000, .batch_ms = 2000, .report = stderr,
	                       .poll_ms = 100 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'y': {
			long y;
			if (opt_number("ingest", "year", optarg, 1970, 9999, &y))
				return 1;
			o.year = (int)y;
			break;
		}
		case 'l': o.local_domains = optarg; break;
		case 'b': o.batch_lines = strtoull(optarg, NULL, 10); if (!o.batch_lines) o.batch_lines = 1; break;
		case 'n': o.nosync = 1; break;
		case 'q': o.quiet = 1; break;
		case 'F': o.follow = 1; o.batch_ms = 500; break;
		case 'H':
			if (!ml_valid_host_name(optarg)) {
				fprintf(stderr, "mtalog ingest: --host: '%s' is not a host name (letters, digits, '-', '_' "
				        "and '.', at most 253)\n", optarg);
				return 1;
			}
			o.host = optarg;
			break;
		case 'f':
			o.format = ml_ingest_format(optarg);
			if (o.format < 0) {
				fprintf(stderr, "mtalog ingest: --format: '%s' is not auto, postfix, exim or sendmail\n", optarg);
				return 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "mtalog ingest: no input (give log files, or - for stdin)\n");
		return 1;
	}
	ml_ingest_result_t res;
	return ml_ingest_run(&o, argv + optind, argc - optind, &res);
}

typedef struct {
	ml_out_t *out;
} search_ctx_t;

static int print_row(void *ctx, const ml_message_t *m, int row)
{
	search_ctx_t *s = ctx;
	return ml_out_row(s->out, m, row);
}

static int open_db(const char *db, ml_store_t **s)
{
	char err[512];
	int rc = ml_store_open(s, db, ML_STORE_RDONLY, err, sizeof err);
	if (rc)
		fprintf(stderr, "mtalog: %s\n", err);
	return rc;
}

static int cmd_search(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, 0, 0 }, { "to", required_argument, 0, 0 },
		{ "subject", required_argument, 0, 0 }, { "subject-re", required_argument, 0, 0 },
		{ "status", required_argument, 0, 0 }, { "direction", required_argument, 0, 0 },
		{ "since", required_argument, 0, 0 }, { "until", required_argument, 0, 0 },
		{ "msgid", required_argument, 0, 0 }, { "ip", required_argument, 0, 0 },
		{ "host", required_argument, 0, 0 }, { "queue-id", required_argument, 0, 0 },
		{ "limit", required_argument, 0, 0 }, { "timeout", required_argument, 0, 'T' },
		{ "json", no_argument, 0, 'j' }, { "csv", no_argument, 0, 'c' },
		{ "local", no_argument, 0, 'L' }, { "utc", no_argument, 0, 'U' },
		{ "histogram", no_argument, 0, 'H' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	ml_query_t q;
	memset(&q, 0, sizeof q);
	ml_out_format_t fmt = ML_OUT_TABLE;
	int c, idx, ret = 1, histogram = 0;
	char err[512] = "";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (c == 'H') { histogram = 1; continue; }
		if (c == 'j') { fmt = ML_OUT_JSON; continue; }
		if (c == 'c') { fmt = ML_OUT_CSV; continue; }
		if (c == 'L' || c == 'U') { ml_out_local_time(c == 'L'); continue; }
		if (c == 'h') { usage(stdout); ml_query_free(&q); return 0; }
		if (c == 'T') {
			double t;
			if (opt_seconds("search", "timeout", optarg, 1, 86400, &t)) {
				ml_query_free(&q);
				return 1;
			}
			q.deadline_ns = t > 0 ? ml_search_clock_ns() + (uint64_t)(t * 1e9) : 0;
			continue;
		}
		if (c != 0) { ml_query_free(&q); return 1; }
		char name[32];
		snprintf(name, sizeof name, "%s", opts[idx].name);
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if (ml_query_set(&q, name, optarg, err, sizeof err)) {
			fprintf(stderr, "mtalog search: --%s\n", err);
			ml_query_free(&q);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtalog search: unexpected argument '%s' (filters are options: --to, --from, ...)\n", argv[optind]);
		ml_query_free(&q);
		return 1;
	}
	ml_store_t *s;
	if (open_db(db, &s)) {
		ml_query_free(&q);
		return 2;
	}
	ml_search_t *se;
	if (histogram && ml_search_new(&se, s) == 0) {
		/* the whole match by time and status */
		ml_hist_t h;
		int rc = ml_hist_run(&h, se, &q, NULL, NULL, err, sizeof err);
		if (rc) {
			fprintf(stderr, "mtalog search: %s\n", err);
			ret = rc == ML_EINVAL ? 1 : 2;
		} else if (fmt == ML_OUT_JSON) {
			json_t *j = ml_hist_json(&h);
			json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(j);
			ret = 0;
		} else {
			ml_hist_print(stdout, &h, 60);
			ret = 0;
		}
		ml_hist_free(&h);
		ml_search_free(se);
	} else if (!histogram && ml_search_new(&se, s) == 0) {
		search_ctx_t ctx = { ml_out_new(stdout, fmt) };
		ml_search_info_t info;
		int rc = ml_search_run(se, &q, print_row, &ctx, &info, err, sizeof err);
		ml_out_finish(ctx.out);
		if (rc) {
			fprintf(stderr, "mtalog search: %s\n", err);
			ret = rc == ML_EINVAL ? 1 : 2;
		} else {
			ret = 0;
			fflush(stdout);
			if (info.stopped)
				fprintf(stderr, "mtalog search: stopped at the --timeout after %" PRIu64 " messages: the rows above are "
				        "those found so far (newest first); the rest was not searched: narrow the search, add an "
				        "indexed filter (--to, --from, --subject, --status) or raise --timeout\n", info.decoded);
			if (info.re_limited)
				fprintf(stderr, "mtalog search: --subject-re gave up on %" PRIu64 " subject%s (too much backtracking): "
				        "rows may be missing; simplify the pattern\n", info.re_limited,
				        info.re_limited == 1 ? "" : "s");
			if (info.prefix_capped)
				fprintf(stderr, "mtalog search: a prefix* stands for more than %u words (or 4096 addresses) "
				        "in a day: it was checked on the rows the other filters found (the rows are all "
				        "there; a longer prefix is faster)\n", ML_QUERY_WORD_PREFIX_MAX);
			char of[64] = "";
			if (fmt == ML_OUT_TABLE && info.truncated && !info.stopped) {
				/* how many the whole match holds: counted within the
				 * --timeout, else within 2 s (then "at least") */
				ml_hist_t h;
				ml_query_t cq = q;
				if (!cq.deadline_ns)
					cq.deadline_ns = ml_search_clock_ns() + 2000000000u;
				if (ml_hist_run(&h, se, &cq, NULL, NULL, err, sizeof err) == 0)
					snprintf(of, sizeof of, " of %s%" PRIu64, h.complete ? "" : "at least ", h.total);
				ml_hist_free(&h);
			}
			if (fmt == ML_OUT_TABLE)
				fprintf(stderr, "%u%s row%s%s%s\n", info.rows, of, info.rows == 1 && !of[0] ? "" : "s",
				        info.truncated ? " (limit reached: narrow the search or raise --limit)" : "",
				        info.scanned ? " (read message by message, newest first: --to, --from, --subject or --status find rows faster)" : "");
		}
		ml_search_free(se);
	}
	ml_store_close(s);
	ml_query_free(&q);
	return ret;
}

static int cmd_show(const char *db, int argc, char **argv)
{
	int json = 0;
	const char *id = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--local") || !strcmp(argv[i], "--utc"))
			ml_out_local_time(argv[i][2] == 'l');
		else if (!id)
			id = argv[i];
		else {
			fprintf(stderr, "mtalog show: unexpected argument '%s'\n", argv[i]);
			return 1;
		}
	}
	uint64_t docid;
	if (!id || ml_docid_parse(id, &docid)) {
		fprintf(stderr, "mtalog show: give the id of a message (the id column of search)\n");
		return 1;
	}
	ml_store_t *s;
	if (open_db(db, &s))
		return 2;
	ml_search_t *se;
	ml_message_t m;
	ml_message_init(&m);
	int ret = 2;
	if (ml_search_new(&se, s) == 0) {
		int rc = ml_search_get(se, docid, &m);
		if (rc == ML_ENOTFOUND) {
			fprintf(stderr, "mtalog show: no message %s in %s\n", id, db);
			ret = 1;
		} else if (rc) {
			fprintf(stderr, "mtalog show: %s: %s\n", db, ml_strerror(rc));
		} else {
			json_t *j = ml_message_json(&m);
			ml_message_add_chain(j, se, &m);
			ml_message_add_reports(j, se, m.docid);
			if (json) {
				json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
				fputc('\n', stdout);
			} else {
				ml_message_print_json(stdout, j);
			}
			json_decref(j);
			ret = 0;
		}
		ml_search_free(se);
	}
	ml_message_free(&m);
	ml_store_close(s);
	return ret;
}

static int cmd_stats(const char *db, int argc, char **argv)
{
	int json = argc > 1 && !strcmp(argv[1], "--json");
	ml_store_t *s;
	if (open_db(db, &s))
		return 2;
	json_t *j = ml_stats_json(s);
	ml_store_close(s);
	if (!j) {
		fprintf(stderr, "mtalog stats: %s: cannot read\n", db);
		return 2;
	}
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		ml_stats_print(stdout, j);
	}
	json_decref(j);
	return 0;
}

static int dump_message(void *ctx, const ml_message_t *m)
{
	(void)ctx;
	json_t *j = ml_message_json(m);
	json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	fputc('\n', stdout);
	json_decref(j);
	return 0;
}

static int dump_posting(void *ctx, const char *key, size_t n, uint32_t bucket, uint64_t docid)
{
	ml_buf_t *b = ctx;
	ml_buf_reset(b);
	if (n < 1)
		return 0;
	/* message-id and queue-ID terms are hashes: in hex */
	if (key[0] == ML_TAG_MSGID || key[0] == ML_TAG_QID) {
		for (size_t i = 1; i < n; i++)
			ml_buf_printf(b, "%02x", (unsigned char)key[i]);
	} else {
		ml_utf8_sanitize(b, key + 1, n - 1);
	}
	/* tag:day:term */
	printf("%c:%u:%s\t%llu\n", key[0], (unsigned)bucket, ml_buf_cstr(b), (unsigned long long)docid);
	return 0;
}

static int cmd_dump(const char *db, int argc, char **argv)
{
	int postings = argc > 1 && !strcmp(argv[1], "--postings");
	ml_store_t *s;
	if (open_db(db, &s))
		return 2;
	ml_search_t *se;
	int rc = ml_search_new(&se, s);
	if (!rc)
		rc = ml_search_each(se, dump_message, NULL);
	if (!rc && postings) {
		ml_buf_t b = ML_BUF_INIT;
		rc = ml_search_each_posting(se, dump_posting, &b);
		ml_buf_free(&b);
	}
	if (rc)
		fprintf(stderr, "mtalog dump: %s: %s\n", db, ml_strerror(rc));
	ml_search_free(se);
	ml_store_close(s);
	return rc ? 2 : 0;
}

static int cmd_serve(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, 0, 'l' },
		{ "max-scans", required_argument, 0, 'm' },
		{ "max-searches", required_argument, 0, 'M' },
		{ "allowed-hosts", required_argument, 0, 'A' },
		{ "max-client-connections", required_argument, 0, 'C' },
		{ "header-timeout", required_argument, 0, 'D' },
		{ "search-timeout", required_argument, 0, 'T' },
		{ "verbose", no_argument, 0, 'v' },
		{ "users", required_argument, 0, 'u' },
		{ "hash-password", no_argument, 0, 'H' },
		{ "secure-cookie", no_argument, 0, 'S' },
		{ "nats", required_argument, 0, 'N' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	ml_serve_opts_t o = { .db_path = db };
	const char *nats = NULL;
	int hash_password = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = optarg; break;
		case 'm': {
			long n;
			if (opt_number("serve", "max-scans", optarg, 1, 1024, &n))
				return 1;
			o.max_scans = (unsigned)n;
			break;
		}
		case 'M': {
			long n;
			if (opt_number("serve", "max-searches", optarg, 1, 1024, &n))
				return 1;
			o.max_searches = (unsigned)n;
			break;
		}
		case 'T':
			if (opt_seconds("serve", "search-timeout", optarg, 0, 3600, &o.search_timeout))
				return 1;
			break;
		case 'v': o.verbose = 1; break;
		case 'A': o.allowed_hosts = optarg; break;
		case 'C': {
			long n;
			if (opt_number("serve", "max-client-connections", optarg, 1, 1000, &n))
				return 1;
			o.max_client_conns = (unsigned)n;
			break;
		}
		case 'D':
			if (opt_seconds("serve", "header-timeout", optarg, 0, 600, &o.header_timeout))
				return 1;
			break;
		case 'u': o.users_path = optarg; break;
		case 'H': hash_password = 1; break;
		case 'S': o.secure_cookie = 1; break;
		case 'N': nats = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mtalog serve: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	if (hash_password)
		return ml_auth_hash_password_main(stdin, stdout);
	if (nats)
		return ml_coord_serve(&o, nats);
	return ml_serve_run(&o);
}

/* The cluster's commands are mtalog-cluster's, next to this executable
 * (built with libnats; the Makefile): started in its place with the same
 * arguments.  Returns only when there is none (a build without libnats),
 * and the command then says so itself. */
#ifndef ML_NATS
static void start_cluster(char **argv)
{
	char self[4096], path[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	const char *slash = strrchr(self, '/');
	if (!slash)
		return;
	snprintf(path, sizeof path, "%.*s/mtalog-cluster", (int)(slash - self), self);
	execv(path, argv);
}
#endif

int main(int argc, char **argv)
{
	const char *db = NULL;
	int i = 1;
#ifndef ML_NATS
	/* the arguments as given, for mtalog-cluster (the command's are moved
	 * about below); kept to the exit, as argv is */
	static char **given;
	given = malloc(((size_t)argc + 1) * sizeof *given);
	if (!given)
		return 2;
	memcpy(given, argv, ((size_t)argc + 1) * sizeof *given);
#endif
	/* A write past the file size limit (ulimit -f, LimitFSIZE=) fails with
	 * EFBIG, which the commands report as a full disk and after which the
	 * database is as its last commit left it; SIGXFSZ would kill the process
	 * without a word instead. */
	signal(SIGXFSZ, SIG_IGN);
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			db = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--db=", 5)) {
			db = argv[i] + 5;
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			puts("mtalog " VERSION);
			return 0;
		} else {
			fprintf(stderr, "mtalog: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 1;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 1;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i;
	char **sub_argv = argv + i;
	/* --db may also follow the command */
	for (int k = 1; k < sub_argc; k++) {
		if (!strcmp(sub_argv[k], "--db") && k + 1 < sub_argc) {
			db = sub_argv[k + 1];
			memmove(&sub_argv[k], &sub_argv[k + 2], (size_t)(sub_argc - k - 2) * sizeof *sub_argv);
			sub_argc -= 2;
			k--;
		}
	}
	sub_argv[sub_argc] = NULL;
	const char *path = db_path(db);
#ifndef ML_NATS
	if ((!strcmp(cmd, "ship") || ml_cluster_asked(sub_argc, sub_argv)) &&
	    (!strcmp(cmd, "ingest") || !strcmp(cmd, "ship") || !strcmp(cmd, "search") || !strcmp(cmd, "show") ||
	     !strcmp(cmd, "stats") || !strcmp(cmd, "serve")))
		start_cluster(given);
#endif
	if (!strcmp(cmd, "ingest") && ml_cluster_asked(sub_argc, sub_argv))
		return ml_shard_main(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "ingest"))
		return cmd_ingest(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "ship"))
		return ml_ship_main(sub_argc, sub_argv);
	if ((!strcmp(cmd, "search") || !strcmp(cmd, "show") || !strcmp(cmd, "stats")) &&
	    ml_cluster_asked(sub_argc, sub_argv))
		return ml_coord_main(cmd, sub_argc, sub_argv);
	if (!strcmp(cmd, "search"))
		return cmd_search(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "show"))
		return cmd_show(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(path, sub_argc, sub_argv);
	if (!strcmp(cmd, "report"))
		return ml_report_cmd(path, sub_argc, sub_argv);
	int mrc = ml_maint_main(path, cmd, sub_argc, sub_argv);
	if (mrc >= 0)
		return mrc;
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "mtalog: unknown command '%s'\n", cmd);
	usage(stderr);
	return 1;
}
