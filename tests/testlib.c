#include "testlib.h"

#include <dirent.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static int corpus_tier(void)
{
	const char *tier = getenv("MTALOG_TIER");
	return tier && !strcmp(tier, "corpus");
}

const char *tl_corpus(const char *rel)
{
	/* the default tier reads nothing from outside the project */
	if (!corpus_tier())
		fail_msg("a default test reads the corpus (%s): it belongs to the corpus tier", rel);
	static char path[4096];
	const char *base = getenv("MTALOG_CORPUS");
	snprintf(path, sizeof path, "%s/%s", base ? base : "../shared/corpus", rel);
	return path;
}

int tl_run(const char *name, const struct CMUnitTest *tests, size_t ntests,
           const struct CMUnitTest *corpus_tests, size_t ncorpus,
           CMFixtureFunction setup, CMFixtureFunction teardown)
{
	if (corpus_tier()) {
		if (!ncorpus)
			return 0;
		char group[128];
		snprintf(group, sizeof group, "%s (corpus)", name);
		return _cmocka_run_group_tests(group, corpus_tests, ncorpus, setup, teardown);
	}
	return _cmocka_run_group_tests(name, tests, ntests, setup, teardown);
}

void tl_gen_log(const char *path, unsigned messages)
{
	const char *build = getenv("BUILD");
	char cmd[8400];
	/* under the sanitizers, gen's blocks still allocated at exit are no
	 * failure of the test */
	snprintf(cmd, sizeof cmd, "ASAN_OPTIONS=detect_leaks=0 %s/bench/gen --messages %u --seed 1 --out '%s' 2>/dev/null",
	         build && *build ? build : "build", messages, path);
	if (system(cmd) != 0)
		fail_msg("bench/gen could not write %s", path);
}

void tl_gunzip(const char *gz, const char *path)
{
	gzFile in = gzopen(gz, "rb");
	assert_non_null(in);
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	char buf[65536];
	int n;
	while ((n = gzread(in, buf, sizeof buf)) > 0)
		assert_int_equal(fwrite(buf, 1, (size_t)n, out), (size_t)n);
	assert_int_equal(n, 0);
	gzclose(in);
	fclose(out);
}

char *tl_new_messages(int first, int k, size_t *len)
{
	size_t n;
	char *buf = tl_read_file("tests/data/statuses.log", &n);
	if (!buf)
		fail_msg("cannot read tests/data/statuses.log");
	size_t end = 0;
	for (int i = 0; i < 8; i++)
		end = (size_t)((char *)memchr(buf + end, '\n', n - end) - buf) + 1;
	ml_buf_t b = ML_BUF_INIT;
	for (int m = first; m < first + k; m++) {
		char qid[16], msgid[32];
		snprintf(qid, sizeof qid, "F0%08X", (unsigned)m);
		snprintf(msgid, sizeof msgid, "new%d@sender.example", m);
		for (size_t i = 0; i < end;) {
			if (!strncmp(buf + i, "1A2B3C4D5E", 10)) {
				ml_buf_append(&b, qid, 10);
				i += 10;
			} else if (!strncmp(buf + i, "m1@sender.example", 17)) {
				ml_buf_append(&b, msgid, strlen(msgid));
				i += 17;
			} else {
				ml_buf_append(&b, buf + i, 1);
				i++;
			}
		}
	}
	free(buf);
	*len = b.len;
	return (char *)ml_buf_cstr(&b);
}

char *tl_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	ml_buf_t b = ML_BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		ml_buf_append(&b, tmp, n);
	fclose(f);
	ml_buf_cstr(&b);
	if (len)
		*len = b.len;
	return b.data ? b.data : calloc(1, 1);
}

size_t tl_lines(char *buf, size_t len, char ***lines)
{
	size_t cap = 64, n = 0;
	char **v = malloc(cap * sizeof *v);
	size_t i = 0;
	while (i < len) {
		char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = buf + i;
		if (nl)
			*nl = '\0';
		i = e + 1;
	}
	*lines = v;
	return n;
}

const char *tl_tmpdir(void)
{
	static char dir[4096];
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/mtalog-test-XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(dir))
		fail_msg("mkdtemp failed");
	return dir;
}

void tl_rmdir(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void write_mode(const char *path, const void *data, size_t n, const char *mode)
{
	FILE *f = fopen(path, mode);
	if (!f)
		fail_msg("cannot open %s", path);
	if (n && fwrite(data, 1, n, f) != n)
		fail_msg("cannot write %s", path);
	fclose(f);
}

void tl_write_file(const char *path, const void *data, size_t n)
{
	write_mode(path, data, n, "wb");
}

void tl_append_file(const char *path, const void *data, size_t n)
{
	write_mode(path, data, n, "ab");
}

int tl_mtalog(char **out, char **err, const char *fmt, ...)
{
	const char *bin = getenv("MTALOG_BIN");
	char args[8192], cmd[9000], errpath[64] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	if (err) {
		snprintf(errpath, sizeof errpath, "/tmp/mtalog-err-%d", (int)getpid());
		snprintf(cmd, sizeof cmd, "%s %s 2>%s", bin ? bin : "build/mtalog", args, errpath);
	} else {
		snprintf(cmd, sizeof cmd, "%s %s", bin ? bin : "build/mtalog", args);
	}
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	ml_buf_t b = ML_BUF_INIT;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
		ml_buf_append(&b, tmp, n);
	int st = pclose(p);
	ml_buf_cstr(&b);
	if (out)
		*out = b.data ? b.data : calloc(1, 1);
	else
		ml_buf_free(&b);
	if (err) {
		*err = tl_read_file(errpath, NULL);
		if (!*err)
			*err = calloc(1, 1);
		unlink(errpath);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

size_t tl_count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

int tl_lines_load(tl_lines_t *L, const char *path)
{
	memset(L, 0, sizeof *L);
	L->buf = tl_read_file(path, &L->len);
	if (!L->buf)
		return -1;
	size_t cap = 64;
	L->line = malloc(cap * sizeof *L->line);
	L->n = malloc(cap * sizeof *L->n);
	size_t i = 0;
	while (i < L->len) {
		const char *nl = memchr(L->buf + i, '\n', L->len - i);
		size_t e = nl ? (size_t)(nl - L->buf) : L->len;
		if (L->count == cap) {
			cap *= 2;
			L->line = realloc(L->line, cap * sizeof *L->line);
			L->n = realloc(L->n, cap * sizeof *L->n);
		}
		L->line[L->count] = L->buf + i;
		L->n[L->count] = e - i;
		L->count++;
		i = e + 1;
	}
	return 0;
}

void tl_lines_free(tl_lines_t *L)
{
	free(L->buf);
	free(L->line);
	free(L->n);
	memset(L, 0, sizeof *L);
}

static struct written {
	const char *prog;
	const char *msg;
	size_t n;
} *written;
static size_t nwritten, written_cap;

void tl_written_add(const char *prog, const char *msg, size_t n)
{
	if (ml_array_grow((void **)&written, &written_cap, sizeof *written, nwritten + 1, 64))
		fail_msg("out of memory");
	char *m = malloc(n ? n : 1);
	if (n)
		memcpy(m, msg, n);
	written[nwritten++] = (struct written){ prog ? strdup(prog) : NULL, m, n };
}

size_t tl_written_each(tl_line_fn fn, void *arg)
{
	for (size_t i = 0; i < nwritten; i++)
		fn(written[i].prog, written[i].msg, written[i].n, "rule tests", arg);
	return nwritten;
}

int tl_slice_is(ml_slice_t s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

void tl_expect_slice(ml_slice_t s, const char *want, const char *what, int line)
{
	if (want == NULL) {
		if (s.n != 0)
			fail_msg("line %d: %s: got [%.*s], want empty", line, what, (int)s.n, s.p);
		return;
	}
	if (!tl_slice_is(s, want))
		fail_msg("line %d: %s: got [%.*s], want [%s]", line, what, (int)s.n, s.p ? s.p : "", want);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted (the text is cut into them). */
static void sort_lines(char *text, ml_buf_t *out)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = realloc(v, cap * sizeof *v);
			assert_non_null(v);
		}
		v[n++] = l;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_line);
	for (size_t i = 0; i < n; i++) {
		ml_buf_puts(out, v[i]);
		ml_buf_puts(out, "\n");
	}
	free(v);
}

/* What a database holds, as text to compare: its dump (messages and
 * postings, one per line, sorted: the postings of a day come in the order
 * of the part of the table they are in, open or sealed) and its stats
 * without what says where and how the bytes are. */
char *tl_db_contents(const char *db)
{
	char *dump, *stats, *err;
	int rc = tl_mtalog(&dump, &err, "--db %s dump --postings", db);
	if (rc != 0)
		fail_msg("dump of %s: exit %d: %s", db, rc, err);
	free(err);
	rc = tl_mtalog(&stats, &err, "--db %s stats --json", db);
	if (rc != 0)
		fail_msg("stats of %s: exit %d: %s", db, rc, err);
	free(err);
	json_error_t je;
	json_t *s = json_loads(stats, 0, &je);
	assert_non_null(s);
	static const char *const volatile_keys[] = { "db_bytes", "map_bytes", "map_used_bytes",
		"lag_seconds", "inputs", "dictionary", "string_table", "space" };
	for (size_t i = 0; i < ML_ARRAY_LEN(volatile_keys); i++)
		json_object_del(s, volatile_keys[i]);
	char *st = json_dumps(s, JSON_SORT_KEYS);
	json_decref(s);
	ml_buf_t b = ML_BUF_INIT;
	sort_lines(dump, &b);
	ml_buf_puts(&b, st);
	free(dump);
	free(stats);
	free(st);
	return (char *)ml_buf_cstr(&b);
}

const char *tl_path(const char *dir, const char *name)
{
	static char p[16][4200];
	static int k;
	k = (k + 1) % 16;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

/* Print the lines of want missing from got and those of got not in want
 * (both sorted, as tl_db_contents gives them), at most 10 of each. */
void tl_print_db_diff(const char *want, const char *got)
{
	int shown[2] = { 0, 0 };
	const char *a = want, *b = got;
	while ((*a || *b) && (shown[0] < 10 || shown[1] < 10)) {
		const char *ae = strchr(a, '\n'), *be = strchr(b, '\n');
		size_t an = ae ? (size_t)(ae - a) : strlen(a), bn = be ? (size_t)(be - b) : strlen(b);
		int c = !*a ? 1 : !*b ? -1 : strncmp(a, b, an < bn ? an : bn);
		if (c == 0 && an != bn)
			c = an < bn ? -1 : 1;
		if (c <= 0 && *a && c != 0 && shown[0]++ < 10)
			print_error("  only in the reference: %.*s\n", (int)(an > 300 ? 300 : an), a);
		if (c >= 0 && *b && c != 0 && shown[1]++ < 10)
			print_error("  only in this database: %.*s\n", (int)(bn > 300 ? 300 : bn), b);
		if (c <= 0 && *a)
			a += an + (ae != NULL);
		if (c >= 0 && *b)
			b += bn + (be != NULL);
	}
}

void tl_expect_db(const char *db, const char *want, const char *what)
{
	char *got = tl_db_contents(db);
	int same = strcmp(got, want) == 0;
	if (!same)
		tl_print_db_diff(want, got);
	free(got);
	if (!same)
		fail_msg("%s: the database differs from what it should hold", what);
}

char tl_dir[4096];

int tl_dir_setup(void **state)
{
	(void)state;
	snprintf(tl_dir, sizeof tl_dir, "%s", tl_tmpdir());
	return 0;
}

int tl_dir_teardown(void **state)
{
	(void)state;
	tl_rmdir(tl_dir);
	return 0;
}

pid_t tl_spawn_mtalog(const char *arg, ...)
{
	const char *argv[64];
	int n = 0;
	argv[n++] = "mtalog";
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		const char *bin = getenv("MTALOG_BIN");
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(bin ? bin : "build/mtalog", (char *const *)argv);
		_exit(127);
	}
	return pid;
}

char *tl_mtalog_on_tty(const char *args)
{
	if (system("command -v script > /dev/null 2>&1") != 0)
		return NULL;
	char out[4200], cmd[12000];
	snprintf(out, sizeof out, "%s/tty-%d.out", tl_tmpdir(), (int)getpid());
	snprintf(cmd, sizeof cmd, "script -qec '%s %s' /dev/null > %s 2>&1",
	         getenv("MTALOG_BIN") ? getenv("MTALOG_BIN") : "build/mtalog", args, out);
	int rc = system(cmd);
	char *text = tl_read_file(out, NULL);
	unlink(out);
	if (rc != 0)
		fail_msg("on a terminal: mtalog %s: exit %d: %s", args, rc, text ? text : "");
	return text;
}

void *tl_json_lines(const char *out)
{
	json_t *arr = json_array();
	const char *p = out;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n) {
			json_error_t je;
			json_t *j = json_loadb(p, n, 0, &je);
			if (!j)
				fail_msg("bad JSON line: %.*s", (int)n, p);
			json_array_append_new(arr, j);
		}
		p += n + (e != NULL);
	}
	return arr;
}

long tl_messages(const char *db)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, "--db %s stats --json", db);
	if (rc != 0)
		fail_msg("stats: exit %d: %s", rc, err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	if (!j)
		fail_msg("stats: not JSON: %s", out);
	long n = (long)json_integer_value(json_object_get(j, "messages"));
	json_decref(j);
	free(out);
	free(err);
	return n;
}

void *tl_search_json(const char *db, const char *args)
{
	char *out, *err;
	int rc = tl_mtalog(&out, &err, "--db %s search --json %s", db, args);
	if (rc != 0)
		fail_msg("search %s: exit %d: %s", args, rc, err);
	json_t *arr = tl_json_lines(out);
	free(out);
	free(err);
	return arr;
}

void tl_fsize_limit(uint64_t bytes)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_FSIZE, &rl))
		fail_msg("getrlimit");
	signal(SIGXFSZ, SIG_IGN);
	rl.rlim_cur = (rlim_t)bytes;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		fail_msg("setrlimit RLIMIT_FSIZE %llu", (unsigned long long)bytes);
}

void tl_fsize_unlimit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_FSIZE, &rl))
		fail_msg("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		fail_msg("setrlimit RLIMIT_FSIZE back");
}

uint64_t tl_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st))
		fail_msg("stat %s", path);
	return (uint64_t)st.st_size;
}
