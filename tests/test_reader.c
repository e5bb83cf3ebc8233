/* Unit tests for engine/reader: plain, gzip and stdin input, block
 * boundaries, resuming, long and truncated lines, errors, input identity.
 *
 * Most tests compare the reader with a byte-by-byte reference splitter
 * (ref_lines) over the same bytes, whatever the source. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

#include "testlib.h"

#include "engine/reader.h"

static char g_dir[4096];

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "%s", tl_tmpdir());
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_rmdir(g_dir);
	return 0;
}

static const char *tmp_path(const char *name)
{
	static char path[4][4200];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof path[k], "%s/%s", g_dir, name);
	return path[k];
}

/* Write data as one gzip member (mode "wb") or append a member ("ab"). */
static void gz_write(const char *path, const char *mode, const void *data, size_t n)
{
	gzFile g = gzopen(path, mode);
	assert_non_null(g);
	const char *p = data;
	while (n) {
		unsigned k = n > (1u << 30) ? 1u << 30 : (unsigned)n;
		assert_int_equal(gzwrite(g, p, k), (int)k);
		p += k;
		n -= k;
	}
	assert_int_equal(gzclose(g), Z_OK);
}

/* The line splitting reader.h describes, one byte at a time. */
typedef struct {
	size_t off, end, full;
	int flags;
} ref_line_t;

static size_t ref_lines(const char *s, size_t len, size_t start, int last_flag,
                        ref_line_t **out)
{
	size_t cap = 1024, n = 0;
	ref_line_t *v = malloc(cap * sizeof *v);
	size_t i = start;
	while (i < len) {
		size_t j = i;
		while (j < len && s[j] != '\n')
			j++;
		ref_line_t l = { .off = i };
		if (j < len) {
			l.full = j - i;
			if (l.full && s[j - 1] == '\r')
				l.full--;
			l.end = j + 1;
		} else {
			l.full = len - i;
			l.end = len;
			l.flags = last_flag;
		}
		if (l.full > ML_LINE_MAX)
			l.flags |= ML_LINE_TOOLONG;
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = l;
		i = l.end;
	}
	*out = v;
	return n;
}

/* Read all of r and compare with the reference; returns the line count. */
static size_t check_lines(ml_reader_t *r, const char *s, size_t len, size_t start,
                          int last_flag)
{
	ref_line_t *want;
	size_t nwant = ref_lines(s, len, start, last_flag, &want);
	ml_line_t l;
	char err[512];
	size_t k = 0;
	int rc;
	while ((rc = ml_reader_next(r, &l, err, sizeof err)) == 1) {
		if (k >= nwant)
			fail_msg("extra line at offset %llu", (unsigned long long)l.off);
		const ref_line_t *w = &want[k];
		size_t wn = w->full > ML_LINE_MAX ? ML_LINE_MAX : w->full;
		if (l.off != w->off || l.end != w->end || l.full_len != w->full ||
		    l.n != wn || l.flags != w->flags || l.lineno != k + 1)
			fail_msg("line %zu: got off %llu end %llu full %zu n %zu flags %d lineno %llu; "
			         "want off %zu end %zu full %zu n %zu flags %d",
			         k + 1, (unsigned long long)l.off, (unsigned long long)l.end,
			         l.full_len, l.n, l.flags, (unsigned long long)l.lineno,
			         w->off, w->end, w->full, wn, w->flags);
		if (memcmp(l.p, s + w->off, wn) != 0)
			fail_msg("line %zu: content differs", k + 1);
		k++;
	}
	if (rc != 0)
		fail_msg("reader error %d: %s", rc, err);
	assert_int_equal(k, nwant);
	/* the end stays the end */
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
	free(want);
	return k;
}

static void check_file(const char *path, const char *s, size_t len, size_t start,
                       int last_flag)
{
	ml_reader_t *r;
	char err[512];
	int rc = ml_reader_open(&r, path, start, err, sizeof err);
	if (rc != 0)
		fail_msg("open %s at %zu: %s", path, start, err);
	check_lines(r, s, len, start, last_flag);
	ml_reader_close(r);
}

/* Run check_lines on "-" with data fed through a pipe by a child process. */
static void check_stdin(const void *data, size_t n, const char *s, size_t len,
                        size_t start)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		const char *p = data;
		while (n) {
			ssize_t k = write(fds[1], p, n);
			if (k <= 0)
				_exit(1);
			p += k;
			n -= (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	int saved = dup(STDIN_FILENO);
	assert_true(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
	close(fds[0]);

	ml_reader_t *r;
	char err[512];
	int rc = ml_reader_open(&r, "-", start, err, sizeof err);
	if (rc != 0)
		fail_msg("open stdin: %s", err);
	assert_true(ml_reader_id(r)->is_stdin);
	assert_string_equal(ml_reader_path(r), "-");
	check_lines(r, s, len, start, ML_LINE_NOEOL);
	ml_reader_close(r);

	assert_true(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	close(saved);
	int status;
	assert_true(waitpid(pid, &status, 0) == pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Reproducible text: log-like lines, some empty, some CRLF. */
static void gen_lines(ml_buf_t *b, size_t target, unsigned seed)
{
	srand(seed);
	size_t i = 0;
	while (b->len < target) {
		int len = rand() % 300;
		if (rand() % 50 == 0)
			len = 0;
		ml_buf_printf(b, "%zu ", i++);
		for (int j = 0; j < len; j++)
			ml_buf_putc(b, 'a' + rand() % 26);
		if (rand() % 20 == 0)
			ml_buf_putc(b, '\r');
		ml_buf_putc(b, '\n');
	}
}

/* Everything awkward at once: long lines at block edges, CRLF, NUL, no final '\n'. */
static void gen_mixed(ml_buf_t *b)
{
	gen_lines(b, ML_READ_BLOCK - 1000, 1);
	/* a 1 MB line crossing the first block boundary */
	for (size_t i = 0; i < (1u << 20); i++)
		ml_buf_putc(b, 'A' + (char)(i % 23));
	ml_buf_puts(b, "\n");
	ml_buf_puts(b, "after the long line\r\n\r\n");
	ml_buf_append(b, "nul\0in\0line\n", 12);
	/* exactly ML_LINE_MAX, with and without '\r', and one byte more */
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < ML_LINE_MAX + (k == 2); i++)
			ml_buf_putc(b, 'x');
		ml_buf_puts(b, k == 1 ? "\r\n" : "\n");
	}
	gen_lines(b, b->len + 2 * ML_READ_BLOCK, 2);
	ml_buf_puts(b, "last line, no newline");
}

/* Offsets that are line ends in s (and 0), for resuming. */
static size_t checkpoints(const char *s, size_t len, size_t *out, size_t max)
{
	ref_line_t *v;
	size_t n = ref_lines(s, len, 0, 0, &v), k = 0;
	out[k++] = 0;
	for (size_t i = 0; i < n && k < max; i += 1 + n / (max - 1))
		out[k++] = v[i].end;
	/* just before and just after the 1 MB line, and the last line */
	for (size_t i = 0; i + 1 < n && k + 3 <= max; i++)
		if (v[i + 1].full > ML_LINE_MAX && v[i + 1].full >= (1u << 20)) {
			out[k++] = v[i].end;
			out[k++] = v[i + 1].end;
		}
	if (k < max && n)
		out[k++] = v[n - 1].off;
	free(v);
	return k;
}

/* A plain file read whole: its lines (want of them) and its identity;
 * returns the file's bytes (malloc'd), *len their number. */
static char *check_plain(const char *path, size_t want, size_t *len)
{
	char *s = tl_read_file(path, len);
	assert_non_null(s);
	ml_reader_t *r;
	char err[256];
	assert_int_equal(ml_reader_open(&r, path, 0, err, sizeof err), 0);
	assert_int_equal(check_lines(r, s, *len, 0, ML_LINE_PARTIAL), want);
	const ml_input_id_t *id = ml_reader_id(r);
	assert_false(id->compressed);
	assert_false(id->is_stdin);
	assert_true(id->size == *len);
	assert_true(id->first_hash == ml_first_line_hash(s, *len));
	ml_reader_close(r);
	return s;
}

static void plain_corpus(void **state)
{
	(void)state;
	size_t len;
	free(check_plain(tl_corpus("digineo-postfix_exporter/mail.log"), 53, &len));

	/* The big one, and one whose last line has no '\n'. */
	const char *path = tl_corpus("postfix-logsums/mail.log");
	char *s = tl_read_file(path, &len);
	check_file(path, s, len, 0, ML_LINE_PARTIAL);
	free(s);
	path = tl_corpus("inqueue-postfix-ecs-pipeline/mail.log");
	s = tl_read_file(path, &len);
	check_file(path, s, len, 0, ML_LINE_PARTIAL);
	free(s);
}

/* The project's own logs: the bench/gen sample (4 MB, over ML_READ_BLOCK),
 * a hand-written log, and the same without its last '\n'. */
static void plain_own_logs(void **state)
{
	(void)state;
	size_t len;
	char *s = check_plain("tests/data/statuses.log", 59, &len);
	assert_true(len > 1 && s[len - 1] == '\n');
	const char *cut = tmp_path("no-newline.log");
	tl_write_file(cut, s, len - 1);
	check_file(cut, s, len - 1, 0, ML_LINE_PARTIAL);
	free(s);

	const char *path = "sample/mail.log";
	s = tl_read_file(path, &len);
	assert_non_null(s);
	assert_true(len > 2 * ML_READ_BLOCK);
	check_file(path, s, len, 0, ML_LINE_PARTIAL);
	free(s);
}

static void plain_blocks(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	gen_lines(&b, 3 * ML_READ_BLOCK + 12345, 3);
	const char *path = tmp_path("blocks.log");
	tl_write_file(path, b.data, b.len);
	check_file(path, b.data, b.len, 0, ML_LINE_PARTIAL);
	/* the same bytes with lines just at the block size */
	ml_buf_reset(&b);
	while (b.len < 2 * ML_READ_BLOCK + 10) {
		ml_buf_putc(&b, 'z');
		if (b.len == ML_READ_BLOCK || b.len == ML_READ_BLOCK + ML_LINE_MAX - 1 ||
		    b.len == 2 * ML_READ_BLOCK - 1)
			ml_buf_putc(&b, '\n');
	}
	ml_buf_putc(&b, '\n');
	tl_write_file(path, b.data, b.len);
	check_file(path, b.data, b.len, 0, ML_LINE_PARTIAL);
	ml_buf_free(&b);
}

static void mixed_all_sources(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	gen_mixed(&b);
	const char *plain = tmp_path("mixed.log"), *gz = tmp_path("mixed.log.gz");
	tl_write_file(plain, b.data, b.len);
	gz_write(gz, "wb", b.data, b.len);
	check_file(plain, b.data, b.len, 0, ML_LINE_PARTIAL);
	check_file(gz, b.data, b.len, 0, ML_LINE_NOEOL);
	check_stdin(b.data, b.len, b.data, b.len, 0);
	size_t gzlen;
	char *gzdata = tl_read_file(gz, &gzlen);
	check_stdin(gzdata, gzlen, b.data, b.len, 0);
	free(gzdata);
	ml_buf_free(&b);
}

static void gz_multi_member(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	gen_lines(&b, 2 * ML_READ_BLOCK + 777, 4);
	ml_buf_puts(&b, "tail without newline");
	const char *gz = tmp_path("multi.log.gz");
	/* members cut mid-line, a tiny one, and an empty one */
	size_t cuts[] = { 0, 100, 101, ML_READ_BLOCK / 2 + 3, ML_READ_BLOCK / 2 + 3, b.len };
	for (size_t i = 0; i + 1 < ML_ARRAY_LEN(cuts); i++)
		gz_write(gz, i ? "ab" : "wb", b.data + cuts[i], cuts[i + 1] - cuts[i]);
	check_file(gz, b.data, b.len, 0, ML_LINE_NOEOL);
	/* trailing zeros after the last member are ignored, as gzip does */
	char zeros[1000] = { 0 };
	tl_append_file(gz, zeros, sizeof zeros);
	check_file(gz, b.data, b.len, 0, ML_LINE_NOEOL);
	/* a gzip file whose name says nothing */
	const char *odd = tmp_path("mail.log.1");
	gz_write(odd, "wb", "one\ntwo\n", 8);
	check_file(odd, "one\ntwo\n", 8, 0, ML_LINE_NOEOL);
	ml_buf_free(&b);
}

static void stdin_plain(void **state)
{
	(void)state;
	const char *s = "Jan  2 03:04:05 h p[1]: one\nJan  2 03:04:06 h p[1]: two\nthree";
	check_stdin(s, strlen(s), s, strlen(s), 0);
	check_stdin("", 0, "", 0, 0);
	check_stdin("x", 1, "x", 1, 0);
	ml_buf_t b = ML_BUF_INIT;
	gen_lines(&b, ML_READ_BLOCK * 2, 5);
	check_stdin(b.data, b.len, b.data, b.len, 0);
	ml_buf_free(&b);
}

static void resume(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	gen_mixed(&b);
	const char *plain = tmp_path("resume.log"), *gz = tmp_path("resume.log.gz");
	tl_write_file(plain, b.data, b.len);
	gz_write(gz, "wb", b.data, b.len);
	size_t gzlen;
	char *gzdata = tl_read_file(gz, &gzlen);
	size_t cp[16];
	size_t ncp = checkpoints(b.data, b.len, cp, ML_ARRAY_LEN(cp));
	assert_true(ncp >= 10);
	for (size_t i = 0; i < ncp; i++) {
		check_file(plain, b.data, b.len, cp[i], ML_LINE_PARTIAL);
		check_file(gz, b.data, b.len, cp[i], ML_LINE_NOEOL);
		if (i % 3 == 0)
			check_stdin(b.data, b.len, b.data, b.len, cp[i]);
		if (i % 3 == 1)
			check_stdin(gzdata, gzlen, b.data, b.len, cp[i]);
	}
	/* at the very end: nothing */
	check_file(plain, b.data, b.len, b.len, ML_LINE_PARTIAL);
	check_file(gz, b.data, b.len, b.len, ML_LINE_NOEOL);
	/* past the end: an error that says so */
	ml_reader_t *r;
	char err[512];
	assert_int_equal(ml_reader_open(&r, plain, b.len + 1, err, sizeof err), ML_EINVAL);
	assert_non_null(strstr(err, plain));
	assert_int_equal(ml_reader_open(&r, gz, b.len + 1, err, sizeof err), ML_EINVAL);
	assert_non_null(strstr(err, "resume"));
	/* resuming keeps the identity of the whole input */
	assert_int_equal(ml_reader_open(&r, gz, cp[5], err, sizeof err), 0);
	assert_true(ml_reader_id(r)->first_hash == ml_first_line_hash(b.data, b.len));
	ml_reader_close(r);
	assert_int_equal(ml_reader_open(&r, plain, cp[5], err, sizeof err), 0);
	assert_true(ml_reader_id(r)->first_hash == ml_first_line_hash(b.data, b.len));
	ml_reader_close(r);
	free(gzdata);
	ml_buf_free(&b);
}

static void crlf(void **state)
{
	(void)state;
	const char s[] = "a\r\nb\r\n\r\nc\nx\ry\n\r\r\nend\r";
	const char *path = tmp_path("crlf.log");
	tl_write_file(path, s, sizeof s - 1);
	ml_reader_t *r;
	char err[256];
	assert_int_equal(ml_reader_open(&r, path, 0, err, sizeof err), 0);
	const char *want[] = { "a", "b", "", "c", "x\ry", "\r", "end\r" };
	ml_line_t l;
	for (size_t i = 0; i < ML_ARRAY_LEN(want); i++) {
		assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
		assert_int_equal(l.n, strlen(want[i]));
		assert_memory_equal(l.p, want[i], l.n);
	}
	/* a last line ending in '\r' (no '\n' yet) keeps it, and is partial */
	assert_int_equal(l.flags, ML_LINE_PARTIAL);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
	ml_reader_close(r);
	check_file(path, s, sizeof s - 1, 0, ML_LINE_PARTIAL);
}

static void long_line(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	ml_buf_puts(&b, "first\n");
	size_t big = 1u << 20;
	for (size_t i = 0; i < big; i++)
		ml_buf_putc(&b, (char)('0' + i % 10));
	ml_buf_puts(&b, "\r\nsecond\nthird\n");
	const char *path = tmp_path("long.log"), *gz = tmp_path("long.log.gz");
	tl_write_file(path, b.data, b.len);
	gz_write(gz, "wb", b.data, b.len);
	const char *paths[] = { path, gz };
	for (size_t f = 0; f < 2; f++) {
		ml_reader_t *r;
		char err[256];
		ml_line_t l;
		assert_int_equal(ml_reader_open(&r, paths[f], 0, err, sizeof err), 0);
		assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
		assert_int_equal(l.n, 5);
		assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
		assert_int_equal(l.flags, ML_LINE_TOOLONG);
		assert_int_equal(l.n, ML_LINE_MAX);
		assert_int_equal(l.full_len, big);
		assert_int_equal(l.off, 6);
		assert_int_equal(l.end, 6 + big + 2);
		assert_memory_equal(l.p, b.data + 6, ML_LINE_MAX);
		assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
		assert_int_equal(l.n, 6);
		assert_memory_equal(l.p, "second", 6);
		assert_int_equal(l.flags, 0);
		assert_int_equal(l.lineno, 3);
		assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
		assert_memory_equal(l.p, "third", 5);
		assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
		ml_reader_close(r);
	}
	/* a long line that is also the unfinished last one */
	ml_buf_reset(&b);
	for (size_t i = 0; i < 3 * ML_LINE_MAX; i++)
		ml_buf_putc(&b, 'q');
	tl_write_file(path, b.data, b.len);
	gz_write(gz, "wb", b.data, b.len);
	check_file(path, b.data, b.len, 0, ML_LINE_PARTIAL);
	check_file(gz, b.data, b.len, 0, ML_LINE_NOEOL);
	/* many long lines in a row: 20 MB through a ~1 MB buffer */
	ml_buf_reset(&b);
	for (int k = 0; k < 20; k++) {
		for (size_t i = 0; i < big - 1; i++)
			ml_buf_putc(&b, (char)('a' + k));
		ml_buf_putc(&b, '\n');
	}
	tl_write_file(path, b.data, b.len);
	check_file(path, b.data, b.len, 0, ML_LINE_PARTIAL);
	ml_buf_free(&b);
}

static void nul_bytes(void **state)
{
	(void)state;
	const char s[] = "ab\0cd\n\0\n\0\0\0";
	const char *path = tmp_path("nul.log");
	tl_write_file(path, s, sizeof s - 1);
	ml_reader_t *r;
	char err[256];
	ml_line_t l;
	assert_int_equal(ml_reader_open(&r, path, 0, err, sizeof err), 0);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(l.n, 5);
	assert_memory_equal(l.p, "ab\0cd", 5);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.p[0], '\0');
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.flags, ML_LINE_PARTIAL);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
	ml_reader_close(r);
}

static void truncated_last_line(void **state)
{
	(void)state;
	const char s[] = "one\ntwo\nthr";
	const char *path = tmp_path("trunc.log"), *gz = tmp_path("trunc.log.gz");
	tl_write_file(path, s, sizeof s - 1);
	gz_write(gz, "wb", s, sizeof s - 1);
	ml_reader_t *r;
	char err[256];
	ml_line_t l;

	/* plain: returned as PARTIAL, end = off + length, and the caller that
	 * leaves it resumes at its off and gets the completed line */
	assert_int_equal(ml_reader_open(&r, path, 0, err, sizeof err), 0);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(l.flags, ML_LINE_PARTIAL);
	assert_int_equal(l.n, 3);
	assert_memory_equal(l.p, "thr", 3);
	assert_int_equal(l.off, 8);
	assert_int_equal(l.end, 11);
	uint64_t checkpoint = l.off;
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
	ml_reader_close(r);
	tl_append_file(path, "ee\nfour\n", 8);
	assert_int_equal(ml_reader_open(&r, path, checkpoint, err, sizeof err), 0);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(l.flags, 0);
	assert_int_equal(l.n, 5);
	assert_memory_equal(l.p, "three", 5);
	assert_int_equal(l.lineno, 1);
	assert_int_equal(l.off, 8);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_memory_equal(l.p, "four", 4);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
	ml_reader_close(r);

	/* gz: cannot grow, so NOEOL */
	assert_int_equal(ml_reader_open(&r, gz, 0, err, sizeof err), 0);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 1);
	assert_int_equal(l.flags, ML_LINE_NOEOL);
	assert_memory_equal(l.p, "thr", 3);
	assert_int_equal(l.end, 11);
	assert_int_equal(ml_reader_next(r, &l, err, sizeof err), 0);
	ml_reader_close(r);
}

static void open_errors(void **state)
{
	(void)state;
	ml_reader_t *r = (ml_reader_t *)1;
	char err[512] = "";
	const char *missing = tmp_path("no-such-file.log");
	assert_int_equal(ml_reader_open(&r, missing, 0, err, sizeof err), ML_ENOTFOUND);
	assert_null(r);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_null(strchr(err, '\n'));

	/* a directory */
	assert_true(ml_reader_open(&r, g_dir, 0, err, sizeof err) < 0);
	assert_non_null(strstr(err, g_dir));
	assert_non_null(strstr(err, strerror(EISDIR)));

	/* unreadable (root reads anything, so only as another user) */
	if (geteuid() != 0) {
		const char *path = tmp_path("secret.log");
		tl_write_file(path, "x\n", 2);
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(ml_reader_open(&r, path, 0, err, sizeof err), ML_EIO);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, strerror(EACCES)));
	}

	/* a message that does not fit is cut, not overrun; NULL err is fine */
	char tiny[8];
	assert_int_equal(ml_reader_open(&r, missing, 0, tiny, sizeof tiny), ML_ENOTFOUND);
	assert_int_equal(strlen(tiny), 7);
	assert_int_equal(ml_reader_open(&r, missing, 0, NULL, 0), ML_ENOTFOUND);
	ml_reader_close(NULL);
}

/* Random text that compresses badly, so the .gz is large. */
static void gen_noise(ml_buf_t *b, size_t target)
{
	srand(9);
	size_t i = 0;
	while (b->len < target) {
		ml_buf_printf(b, "%08zu ", i++);
		for (int j = 0; j < 120; j++)
			ml_buf_putc(b, "0123456789abcdef"[rand() % 16]);
		ml_buf_putc(b, '\n');
	}
}

static void gz_corrupt(void **state)
{
	(void)state;
	ml_buf_t b = ML_BUF_INIT;
	gen_noise(&b, 6 * ML_READ_BLOCK);
	const char *gz = tmp_path("corrupt.log.gz");
	gz_write(gz, "wb", b.data, b.len);
	size_t zlen;
	char *z = tl_read_file(gz, &zlen);
	assert_true(zlen > 2 * ML_READ_BLOCK);
	size_t at = zlen / 2;
	for (size_t i = 0; i < 64; i++)
		z[at + i] ^= 0x55;
	tl_write_file(gz, z, zlen);

	ml_reader_t *r;
	char err[512] = "";
	ml_line_t l;
	assert_int_equal(ml_reader_open(&r, gz, 0, err, sizeof err), 0);
	size_t good = 0;
	int rc;
	while ((rc = ml_reader_next(r, &l, err, sizeof err)) == 1) {
		/* lines before the damage are intact */
		if (l.end < b.len / 3) {
			assert_memory_equal(l.p, b.data + l.off, l.n);
			good++;
		}
	}
	assert_int_equal(rc, ML_EIO);
	assert_true(good > 1000);
	assert_non_null(strstr(err, gz));
	assert_non_null(strstr(err, "offset"));
	assert_null(strchr(err, '\n'));
	/* the error is sticky */
	char err2[512];
	assert_int_equal(ml_reader_next(r, &l, err2, sizeof err2), rc);
	assert_string_equal(err, err2);
	ml_reader_close(r);

	/* cut short: an error, not a silent end */
	gz_write(gz, "wb", b.data, b.len);
	free(z);
	z = tl_read_file(gz, &zlen);
	tl_write_file(gz, z, zlen / 2);
	assert_int_equal(ml_reader_open(&r, gz, 0, err, sizeof err), 0);
	while ((rc = ml_reader_next(r, &l, err, sizeof err)) == 1)
		;
	assert_int_equal(rc, ML_EIO);
	assert_non_null(strstr(err, gz));
	assert_non_null(strstr(err, "truncated"));
	assert_non_null(strstr(err, "offset"));
	ml_reader_close(r);

	/* damaged at once: the error comes from open (which reads the first
	 * line for the identity) or from the first next */
	tl_write_file(gz, "\x1f\x8b\x08\x00garbage-garbage-garbage", 27);
	rc = ml_reader_open(&r, gz, 0, err, sizeof err);
	if (rc == 0) {
		while ((rc = ml_reader_next(r, &l, err, sizeof err)) == 1)
			;
		ml_reader_close(r);
	}
	assert_true(rc < 0);
	assert_non_null(strstr(err, gz));
	free(z);
	ml_buf_free(&b);
}

static void identity(void **state)
{
	(void)state;
	const char *a = tmp_path("id-a.log"), *c = tmp_path("id-c.log"), *e = tmp_path("id-e.log");
	const char *agz = tmp_path("id-a.log.gz");
	const char s[] = "Jan  2 03:04:05 h p[1]: first\nJan  2 03:04:06 h p[1]: second\n";
	tl_write_file(a, s, sizeof s - 1);
	tl_write_file(c, "Jan  2 03:04:05 h p[1]: other\nJan  2 03:04:06 h p[1]: second\n", sizeof s - 1);
	tl_write_file(e, "", 0);
	gz_write(agz, "wb", s, sizeof s - 1);

	ml_reader_t *r1, *r2, *r3;
	char err[256];
	assert_int_equal(ml_reader_open(&r1, a, 0, err, sizeof err), 0);
	assert_int_equal(ml_reader_open(&r2, a, 0, err, sizeof err), 0);
	assert_int_equal(ml_reader_open(&r3, c, 0, err, sizeof err), 0);
	const ml_input_id_t *i1 = ml_reader_id(r1), *i2 = ml_reader_id(r2), *i3 = ml_reader_id(r3);
	assert_true(memcmp(i1, i2, sizeof *i1) == 0);
	assert_true(i1->first_hash != 0);
	assert_true(i1->first_hash == XXH3_64bits(s, 29));  /* the first line, no '\n' */
	assert_true(i1->first_hash != i3->first_hash);
	assert_true(i1->ino != i3->ino);
	assert_true(i1->size == sizeof s - 1);
	struct stat st;
	assert_int_equal(stat(a, &st), 0);
	assert_true(i1->mtime == (int64_t)st.st_mtime);
	assert_true(i1->dev == (uint64_t)st.st_dev && i1->ino == (uint64_t)st.st_ino);
	/* computing it did not move the reader */
	ml_line_t l;
	assert_int_equal(ml_reader_next(r1, &l, err, sizeof err), 1);
	assert_int_equal(l.off, 0);
	assert_int_equal(l.n, 29);
	ml_reader_close(r1);
	ml_reader_close(r2);
	ml_reader_close(r3);

	/* gzip: the hash of the decompressed first line, the compressed size */
	assert_int_equal(ml_reader_open(&r1, agz, 0, err, sizeof err), 0);
	assert_int_equal(stat(agz, &st), 0);
	assert_true(ml_reader_id(r1)->compressed);
	assert_true(ml_reader_id(r1)->first_hash == XXH3_64bits(s, 29));
	assert_true(ml_reader_id(r1)->size == (uint64_t)st.st_size);
	assert_int_equal(ml_reader_next(r1, &l, err, sizeof err), 1);
	assert_int_equal(l.off, 0);
	ml_reader_close(r1);

	/* empty file: hash 0, no lines */
	assert_int_equal(ml_reader_open(&r1, e, 0, err, sizeof err), 0);
	assert_true(ml_reader_id(r1)->first_hash == 0);
	assert_int_equal(ml_reader_next(r1, &l, err, sizeof err), 0);
	ml_reader_close(r1);

	/* the hash covers at most 4 KiB of a long first line */
	char big[8192];
	memset(big, 'k', sizeof big);
	assert_true(ml_first_line_hash(big, sizeof big) == XXH3_64bits(big, 4096));
	assert_true(ml_first_line_hash(big, 100) == XXH3_64bits(big, 100));
	assert_true(ml_first_line_hash("\nx", 2) == XXH3_64bits("", 0));
	assert_true(ml_first_line_hash("", 0) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_own_logs),
		cmocka_unit_test(plain_blocks),
		cmocka_unit_test(mixed_all_sources),
		cmocka_unit_test(gz_multi_member),
		cmocka_unit_test(stdin_plain),
		cmocka_unit_test(resume),
		cmocka_unit_test(crlf),
		cmocka_unit_test(long_line),
		cmocka_unit_test(nul_bytes),
		cmocka_unit_test(truncated_last_line),
		cmocka_unit_test(open_errors),
		cmocka_unit_test(gz_corrupt),
		cmocka_unit_test(identity),
	};
	const struct CMUnitTest corpus_tests[] = {
		cmocka_unit_test(plain_corpus),
	};
	return TL_RUN("reader", tests, corpus_tests, group_setup, group_teardown);
}
