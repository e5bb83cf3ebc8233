/*
 * End-to-end tests of chains across hosts: a mail relayed by one MTA to the
 * next (edge → inner tiers), followed to its last hop.
 *
 * Data:
 *   tests/data/chains-edge.log, chains-inner.log  two real Postfix 3.7
 *       instances in network namespaces of their own (edge 10.77.0.1, inner
 *       10.77.0.2, the client 10.77.1.2), each logging to its own file
 *       (maillog_file): `KEEP=1 make test-chains` writes them to
 *       tests/chains/out/ (namespaces-*.log); the only change is the
 *       configuration path of the "daemon started" line.
 *   tests/data/chains-loopback.log  the same two instances in one namespace
 *       on loopback (the inner on 127.0.0.1:2525), one host name, one file
 *       (loopback-edge.log there).
 *   tests/data/chains-exim-edge.log, chains-exim-inner.log  a real Exim 4.96
 *       edge (Debian's exim4-daemon-light; its own main log) relaying to the
 *       same Postfix inner, in the same namespaces: `KEEP=1 EDGE=exim make
 *       test-chains` writes them (exim-namespaces-*.log); the only change is
 *       the configuration path of the inner's "daemon started" line.
 *   tests/data/chains-mixed.log  written by hand after each MTA's documented
 *       lines: Exim → Postfix (LMTP bounce after an alias), Postfix → Exim
 *       ("250 OK id="), Sendmail → Postfix, Postfix → Sendmail ("Message
 *       accepted for delivery"), a BDAT reply ("1900 bytes queued as") whose
 *       queue ID a third host uses at the same time for another message, and
 *       a next hop whose log is not there.
 *
 * Each is ingested in one run, host by host in either order (separate runs),
 * and the checks are the same: every recipient's final status, the first
 * hop's client, sender and subject on the final row, both hops' queue IDs
 * and the message-id finding the final rows, show listing the hops, stats
 * counting a chain once.
 */
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static char db[4200];

/* The rows of a search, each as "field=value" of the fields asked for
 * (comma-separated), sorted, joined by "; ".  malloc'd. */
static char *summary(const char *fields, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *summary(const char *fields, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	char *items[64];
	size_t n = 0, i;
	json_t *arr = tl_search_json(db, args), *j;
	json_array_foreach(arr, i, j) {
		if (n == 64)
			break;
		ml_buf_t b = ML_BUF_INIT;
		char f[256];
		snprintf(f, sizeof f, "%s", fields);
		char *fs = NULL;
		for (char *k = strtok_r(f, ",", &fs); k; k = strtok_r(NULL, ",", &fs)) {
			json_t *v = json_object_get(j, k);
			const char *vs = json_is_string(v) ? json_string_value(v) : "";
			ml_buf_printf(&b, "%s%s", b.len ? " " : "", *vs ? vs : "-");
		}
		items[n++] = strdup(ml_buf_cstr(&b));
		ml_buf_free(&b);
	}
	json_decref(arr);
	for (i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(items[k - 1], items[k]) > 0; k--) {
			char *t = items[k];
			items[k] = items[k - 1];
			items[k - 1] = t;
		}
	ml_buf_t all = ML_BUF_INIT;
	for (i = 0; i < n; i++) {
		ml_buf_printf(&all, "%s%s", i ? "; " : "", items[i]);
		free(items[i]);
	}
	char *s = strdup(ml_buf_cstr(&all));
	ml_buf_free(&all);
	return s;
}

#define EXPECT(want, ...)                                                          \
	do {                                                                       \
		char *got_ = summary(__VA_ARGS__);                                 \
		if (strcmp(got_, (want)) != 0)                                     \
			fail_msg("%s: got \"%s\", want \"%s\"", db, got_, (want)); \
		free(got_);                                                        \
	} while (0)

/* A fresh database of the given files, each ingested by its own run (a
 * single argument may name several files: one run). */
static void ingest(const char *name, const char *const *runs, size_t n)
{
	snprintf(db, sizeof db, "%s/%s.db", tl_dir, name);
	for (size_t i = 0; i < n; i++) {
		char *err;
		int rc = tl_mtalog(NULL, &err, "--db %s ingest -q --year 2026 %s", db, runs[i]);
		if (rc != 0)
			fail_msg("ingest %s: exit %d: %s", runs[i], rc, err);
		free(err);
	}
}

/* The lines of path whose syslog host (4th field) is one of hosts into
 * file `in`, the others into `out` (both in tl_dir); their paths. */
static void split_hosts(const char *path, const char *const *hosts, size_t nh, char *in, char *out, size_t cap)
{
	size_t len;
	char *buf = tl_read_file(path, &len);
	assert_non_null(buf);
	char **lines;
	size_t n = tl_lines(buf, len, &lines);
	ml_buf_t b[2] = { ML_BUF_INIT, ML_BUF_INIT };
	for (size_t i = 0; i < n; i++) {
		char h[64] = "";
		sscanf(lines[i], "%*s %*s %*s %63s", h);
		int hit = 0;
		for (size_t k = 0; k < nh; k++)
			hit |= strcmp(h, hosts[k]) == 0;
		ml_buf_printf(&b[hit ? 0 : 1], "%s\n", lines[i]);
	}
	snprintf(in, cap, "%s/hosts-in.log", tl_dir);
	snprintf(out, cap, "%s/hosts-out.log", tl_dir);
	tl_write_file(in, b[0].data, b[0].len);
	tl_write_file(out, b[1].data, b[1].len);
	ml_buf_free(&b[0]);
	ml_buf_free(&b[1]);
	free(lines);
	free(buf);
}

static char *show_hops(const char *qid)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, "--db %s search --json --queue-id %s", db, qid);
	assert_int_equal(rc, 0);
	json_error_t je;
	json_t *r = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
	assert_non_null(r);
	char id[64];
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "id")));
	json_decref(r);
	free(out);
	free(err);
	rc = tl_mtalog(&out, &err, "--db %s show %s --json", db, id);
	assert_int_equal(rc, 0);
	json_t *m = json_loads(out, 0, &je);
	assert_non_null(m);
	ml_buf_t b = ML_BUF_INIT;
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(m, "chain"), i, h)
		ml_buf_printf(&b, "%s%s %s/%s", i ? ", " : "", json_string_value(json_object_get(h, "relation")),
		              json_string_value(json_object_get(h, "host")), json_string_value(json_object_get(h, "queue_id")));
	json_decref(m);
	free(out);
	free(err);
	char *s = strdup(ml_buf_cstr(&b));
	ml_buf_free(&b);
	return s;
}

#define EDGE "tests/data/chains-edge.log"
#define INNER "tests/data/chains-inner.log"
#define LOOPBACK "tests/data/chains-loopback.log"
#define MIXED "tests/data/chains-mixed.log"
#define EXIM_EDGE "tests/data/chains-exim-edge.log"
#define EXIM_INNER "tests/data/chains-exim-inner.log"

/* The mails of the real runs (each sends the same three); blocked: the
 * rows thrown away (the Exim edge blackholes the notices, the Postfix edge
 * discards them unlogged as rows). */
static void check_pair(const char *client, const char *blocked)
{
	EXPECT("bob@example.com delivered; bob@example.com delivered", "to,status", "--to bob@example.com");
	EXPECT("carol@example.com team@example.com delivered", "to,orig_to,status", "--to carol@example.com");
	EXPECT("bob@example.com team@example.com delivered; carol@example.com team@example.com delivered",
	       "to,orig_to,status", "--to team@example.com");
	EXPECT("fail@example.com bounced", "to,status", "--to fail@example.com");
	EXPECT("far@example.com expired", "to,status", "--to far@example.com");
	/* refused at RCPT by the inner: the edge's row bounced with its reply
	 * (the inner's NOQUEUE reject continues it) */
	EXPECT("nouser@example.com bounced Chain test 3", "to,status,subject", "--to nouser@example.com");
	EXPECT(blocked, "to,status", "--status blocked");
	/* the first hop's client and the subject only the edge logged */
	char want[512];
	snprintf(want, sizeof want, "%s Chain test 1 alice@sender.example; %s Chain test 1 alice@sender.example",
	         client, client);
	EXPECT(want, "client_ip,subject,from", "--msgid chain1@sender.example");
	snprintf(want, sizeof want,
	         "%s Chain test 1 alice@sender.example; %s Chain test 1 alice@sender.example; "
	         "%s Chain test 2 alice@sender.example; %s Chain test 2 alice@sender.example; "
	         "%s Chain test 2 alice@sender.example; %s Chain test 3 alice@sender.example",
	         client, client, client, client, client, client);
	EXPECT(want, "client_ip,subject,from", "--subject \"chain test\" --status delivered,bounced,expired "
	       "--to @example.com --from alice@sender.example --ip %s", client);
}

static void postfix_pair(void **state)
{
	(void)state;
	const char *both[] = { EDGE " " INNER }, *edge_first[] = { EDGE, INNER }, *inner_first[] = { INNER, EDGE };
	struct { const char *name; const char *const *runs; size_t n; } ways[] = {
		{ "both", both, 1 }, { "edge-first", edge_first, 2 }, { "inner-first", inner_first, 2 },
	};
	for (size_t w = 0; w < ML_ARRAY_LEN(ways); w++) {
		ingest(ways[w].name, ways[w].runs, ways[w].n);
		check_pair("10.77.1.2", "");
		/* the edge's queue ID, the inner's and the message-id: the final rows */
		const char *fin = "bob@example.com delivered; fail@example.com bounced";
		EXPECT(fin, "to,status", "--msgid chain1@sender.example");
		EXPECT(fin, "to,status", "--queue-id 5D6F1A82241");
		EXPECT(fin, "to,status", "--queue-id 691D6A82248");
		char *h = show_hops("5D6F1A82241");
		assert_string_equal(h, "previous hop edge/5D6F1A82241, this inner/691D6A82248, bounce inner/7103BA82262");
		free(h);
		/* 3 mails, the inner's 2 notices through the edge, the edge's 1 */
		assert_int_equal(tl_messages(db), 6);
	}
	/* a reparse replays the lines of both runs and links them again */
	char *out, *err;
	assert_int_equal(tl_mtalog(&out, &err, "--db %s reindex --reparse --quiet", db), 0);
	free(out);
	free(err);
	check_pair("10.77.1.2", "");
	EXPECT("bob@example.com delivered; fail@example.com bounced", "to,status", "--queue-id 5D6F1A82241");
	assert_int_equal(tl_messages(db), 6);
}

/* Both instances on one host name, one file: the inner's rows do not go
 * for a content filter's hand-off, and nothing of the edge vanishes. */
static void postfix_pair_loopback(void **state)
{
	(void)state;
	const char *one[] = { LOOPBACK };
	ingest("loopback", one, 1);
	check_pair("127.0.0.9", "");
	const char *fin = "bob@example.com delivered; fail@example.com bounced";
	EXPECT(fin, "to,status", "--queue-id BAF12A82385");
	EXPECT(fin, "to,status", "--queue-id C07E3A82388");
	char *h = show_hops("BAF12A82385");
	assert_non_null(strstr(h, "before filter mx/BAF12A82385, this mx/C07E3A82388"));
	free(h);
	assert_int_equal(tl_messages(db), 6);
}

/* A real Exim 4.96 edge (its own log file: no host name) relaying to the
 * Postfix inner over BDAT ("312 bytes queued as"); the inner's notices go
 * back to the edge ("250 OK id="), which blackholes them. */
static void exim_postfix_pair(void **state)
{
	(void)state;
	const char *both[] = { EXIM_EDGE " " EXIM_INNER }, *edge_first[] = { EXIM_EDGE, EXIM_INNER },
		   *inner_first[] = { EXIM_INNER, EXIM_EDGE };
	struct { const char *name; const char *const *runs; size_t n; } ways[] = {
		{ "exim-both", both, 1 }, { "exim-edge-first", edge_first, 2 }, { "exim-inner-first", inner_first, 2 },
	};
	const char *blocked = "alice@sender.example blocked; alice@sender.example blocked; alice@sender.example blocked";
	for (size_t w = 0; w < ML_ARRAY_LEN(ways); w++) {
		ingest(ways[w].name, ways[w].runs, ways[w].n);
		check_pair("10.77.1.2", blocked);
		const char *fin = "bob@example.com delivered; fail@example.com bounced";
		EXPECT(fin, "to,status", "--msgid chain1@sender.example");
		EXPECT(fin, "to,status", "--queue-id 1xZM62-0004cB-1p");
		EXPECT(fin, "to,status", "--queue-id 9E844A9C094");
		char *h = show_hops("1xZM62-0004cB-1p");
		assert_string_equal(h, "previous hop /1xZM62-0004cB-1p, this inner/9E844A9C094, bounce inner/A1432A9C09C");
		free(h);
		/* the inner's notice continues at the edge, thrown away there */
		EXPECT("alice@sender.example blocked 1xZM62-0004cy-2H", "to,status,queue_id", "--queue-id A1432A9C09C");
		/* refused at RCPT by the inner: the edge's row */
		EXPECT("nouser@example.com bounced 1xZM63-0004ea-0E", "to,status,queue_id", "--to nouser@example.com");
		/* 3 mails, the inner's 2 notices through the edge, the edge's 1 */
		assert_int_equal(tl_messages(db), 6);
	}
}

/* The same pair with the edge's host named (ingest --host): its hop shows
 * it, a search by host finds the edge's rows, the inner's syslog lines keep
 * their own host, and reindex --reparse keeps it. */
static void exim_host_given(void **state)
{
	(void)state;
	const char *both[] = { "--host exedge " EXIM_EDGE " " EXIM_INNER },
		   *inner_first[] = { EXIM_INNER, "--host exedge " EXIM_EDGE };
	struct { const char *name; const char *const *runs; size_t n; } ways[] = {
		{ "exim-host-both", both, 1 }, { "exim-host-inner-first", inner_first, 2 },
	};
	const char *hops = "previous hop exedge/1xZM62-0004cB-1p, this inner/9E844A9C094, bounce inner/A1432A9C09C";
	for (size_t w = 0; w < ML_ARRAY_LEN(ways); w++) {
		ingest(ways[w].name, ways[w].runs, ways[w].n);
		for (int pass = 0; pass < 2; pass++) {
			char *h = show_hops("1xZM62-0004cB-1p");
			assert_string_equal(h, hops);
			free(h);
			EXPECT("nouser@example.com bounced exedge", "to,status,host", "--to nouser@example.com");
			EXPECT("alice@sender.example blocked exedge", "to,status,host", "--queue-id A1432A9C09C");
			EXPECT("bob@example.com delivered inner; fail@example.com bounced inner", "to,status,host",
			       "--msgid chain1@sender.example");
			char *err;
			assert_int_equal(tl_mtalog(NULL, &err, "--db %s reindex --reparse", db), 0);
			free(err);
		}
	}
	char *err;
	assert_int_not_equal(tl_mtalog(NULL, &err, "--db %s/bad-host.db ingest --host 'a b' %s", tl_dir, EXIM_EDGE), 0);
	assert_non_null(strstr(err, "--host: 'a b' is not a host name"));
	free(err);
}

static void check_mixed(void)
{
	/* Exim → Postfix: bounced by the mailbox server after an alias */
	EXPECT("dana.d@example.org dana@example.org bounced 192.0.2.10 Quarterly numbers", "to,orig_to,status,client_ip,subject",
	       "--to dana@example.org");
	EXPECT("dana.d@example.org bounced", "to,status", "--queue-id 1vXaAa-000001-AB");
	/* Postfix → Exim */
	EXPECT("frank@example.net bounced 198.51.100.7 Invoice 42 exinner", "to,status,client_ip,subject,host",
	       "--queue-id 5A6B7C8D9E");
	/* Sendmail → Postfix, Postfix → Sendmail */
	EXPECT("hank@example.com delivered 198.51.100.8 pfinner", "to,status,client_ip,host", "--queue-id x3AAA0a0000500");
	EXPECT("ivy@example.com delivered 198.51.100.7 sminner", "to,status,client_ip,host", "--queue-id 6C7D8E9F0A");
	/* a queue ID two hosts used at once: the one with the message-id */
	EXPECT("kim@example.com delivered 198.51.100.7 pfinner", "to,status,client_ip,host", "--queue-id 1D2E3F4A5B");
	EXPECT("kim@example.com delivered pfinner; zed.local@elsewhere.example delivered other", "to,status,host",
	       "--queue-id 9C9C9C9C9C");
	EXPECT("zed.local@elsewhere.example 203.0.113.50", "to,client_ip", "--host other");
	/* the next hop's log is not there: the edge's row stays delivered */
	EXPECT("max@remote.example delivered pfedge", "to,status,host", "--queue-id 2E3F4A5B6C");
	/* 6 mails, the other host's 1 */
	assert_int_equal(tl_messages(db), 7);
}

static void mixed_mtas(void **state)
{
	(void)state;
	const char *one[] = { MIXED };
	ingest("mixed", one, 1);
	check_mixed();
	char *h = show_hops("1vXaAa-000001-AB");
	assert_string_equal(h, "previous hop exedge/1vXaAa-000001-AB, this pfinner/4F1A2B3C4D");
	free(h);
	/* the next hops first, then the first hops (two runs), and the other way */
	char inner[4200], edges[4200];
	const char *first[] = { "pfedge", "exedge", "smedge" };
	split_hosts(MIXED, first, ML_ARRAY_LEN(first), edges, inner, sizeof edges);
	const char *inner_first[] = { inner, edges }, *edges_first[] = { edges, inner };
	ingest("mixed-inner-first", inner_first, 2);
	check_mixed();
	ingest("mixed-edges-first", edges_first, 2);
	check_mixed();
}

/* Hops that fall in different batches are linked as in one batch: the
 * batch before is still being written while the next one's hops are looked
 * for (tools/ingest.c, "hops in the batch being written").  (The rows of a
 * next hop linked before its own deliveries are logged may come in another
 * order than in one batch: the first hop's recipients first.) */
static void chains_across_batches(void **state)
{
	(void)state;
	static const int sizes[] = { 1, 2, 3, 5, 8, 13, 21 };
	for (size_t k = 0; k < ML_ARRAY_LEN(sizes); k++) {
		char run[4200];
		const char *one[] = { run };
		snprintf(run, sizeof run, "--batch-lines %d %s %s", sizes[k], EDGE, INNER);
		ingest("batches", one, 1);
		check_pair("10.77.1.2", "");
		EXPECT("bob@example.com delivered; fail@example.com bounced", "to,status", "--queue-id 5D6F1A82241");
		assert_int_equal(tl_messages(db), 6);
		snprintf(run, sizeof run, "--batch-lines %d %s %s", sizes[k], INNER, EDGE);
		ingest("batches-inner-first", one, 1);
		check_pair("10.77.1.2", "");
		assert_int_equal(tl_messages(db), 6);
		snprintf(run, sizeof run, "--batch-lines %d %s", sizes[k], LOOPBACK);
		ingest("batches-loopback", one, 1);
		check_pair("127.0.0.9", "");
		assert_int_equal(tl_messages(db), 6);
		snprintf(run, sizeof run, "--batch-lines %d %s %s", sizes[k], EXIM_EDGE, EXIM_INNER);
		ingest("batches-exim", one, 1);
		check_pair("10.77.1.2", "alice@sender.example blocked; alice@sender.example blocked; "
		           "alice@sender.example blocked");
		assert_int_equal(tl_messages(db), 6);
		snprintf(run, sizeof run, "--batch-lines %d %s", sizes[k], MIXED);
		ingest("batches-mixed", one, 1);
		check_mixed();
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(postfix_pair),
		cmocka_unit_test(postfix_pair_loopback),
		cmocka_unit_test(exim_postfix_pair),
		cmocka_unit_test(exim_host_given),
		cmocka_unit_test(mixed_mtas),
		cmocka_unit_test(chains_across_batches),
	};
	return TL_RUN_DEFAULT("chains", tests, tl_dir_setup, tl_dir_teardown);
}
