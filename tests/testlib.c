#include "testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tl_corpus(const char *rel)
{
	static char path[4096];
	const char *base = getenv("MTALOG_CORPUS");
	snprintf(path, sizeof path, "%s/%s", base ? base : "../shared/corpus", rel);
	return path;
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
