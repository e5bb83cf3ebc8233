/*
 * replay.c — runs a fuzz target without libFuzzer, so that its seeds and
 * every crash it ever found run under plain `make check` (and under the
 * sanitizers with `make test`).
 *
 *   replay_NAME FILE|DIR...          each file is one input
 *   replay_NAME --lines FILE...      each line of each file is one input
 *
 * Prints "N inputs" and exits 0; a failed check in the target aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long inputs;

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	*n = len;
	return buf;
}

/* One input in an exactly-sized block, so that ASan sees any overread. */
static void run(const char *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	inputs++;
}

static int do_path(const char *path, int lines)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		int rc = 0;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char sub[4096];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rc |= do_path(sub, lines);
		}
		if (d)
			closedir(d);
		return rc;
	}
	size_t n;
	char *buf = slurp(path, &n);
	if (!buf) {
		perror(path);
		return 1;
	}
	if (!lines) {
		run(buf, n);
	} else {
		size_t i = 0;
		while (i < n) {
			char *nl = memchr(buf + i, '\n', n - i);
			size_t e = nl ? (size_t)(nl - buf) : n;
			run(buf + i, e - i);
			i = e + 1;
		}
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int lines = 0, rc = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--lines"))
			lines = 1;
		else
			rc |= do_path(argv[i], lines);
	}
	printf("%lu inputs\n", inputs);
	return rc;
}
