/*
 * testlib.h — what the test programs share: the two tiers, where the corpus
 * is, reading a file into lines, a scratch folder, running the mtalog
 * command, a generated log.
 *
 * Tests run from the top of the source tree.  The mtalog binary is
 * $MTALOG_BIN, else build/mtalog; the build folder (for bench/gen) is
 * $BUILD, else build.  Every returned string is malloc'd and owned by the
 * caller unless said otherwise.
 *
 * Tiers.  The default tests (`make check`, `make test`) use only what the
 * project itself writes: lines in the tests, tests/data/, sample/mail.log
 * and logs made by bench/gen.  The tests that read third-party logs and
 * fixtures (the corpus: $MTALOG_CORPUS, else ../shared/corpus) are the
 * corpus tier, `make check-corpus`, which tests/run.sh runs with
 * MTALOG_TIER=corpus.  Each program lists both kinds and TL_RUN runs those
 * of the tier; a program with no corpus tests prints nothing in that tier.
 */
#ifndef ML_TESTLIB_H
#define ML_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/util.h"

/* Path of a corpus file, e.g. tl_corpus("postfix-logsums/mail.log"); static buffer.
 * Only tests of the corpus tier may call it: in the default tier it fails
 * the test. */
const char *tl_corpus(const char *rel);

/* Run the tests of the tier (see the top of this file) as one cmocka group;
 * the result is cmocka's. */
int tl_run(const char *name, const struct CMUnitTest *tests, size_t ntests,
           const struct CMUnitTest *corpus_tests, size_t ncorpus,
           CMFixtureFunction setup, CMFixtureFunction teardown);
#define TL_RUN(name, tests, corpus_tests, setup, teardown) \
	tl_run((name), (tests), ML_ARRAY_LEN(tests), (corpus_tests), ML_ARRAY_LEN(corpus_tests), (setup), (teardown))
/* A program whose tests are all of the default tier. */
#define TL_RUN_DEFAULT(name, tests, setup, teardown) \
	tl_run((name), (tests), ML_ARRAY_LEN(tests), NULL, 0, (setup), (teardown))

/* Write to path the log bench/gen makes of `messages` messages with seed 1
 * (several Postfix hosts, every status, deferrals still in the queue);
 * fails the test when gen fails. */
void tl_gen_log(const char *path, unsigned messages);

/* Lines of k complete Postfix messages, never in a generated log: the first
 * message of tests/data/statuses.log again, numbered first .. first + k - 1
 * in its queue ID and message-id.  malloc'd; *len gets its size. */
char *tl_new_messages(int first, int k, size_t *len);

/* Whole file into a NUL-terminated malloc'd buffer; *len gets its size. NULL on error. */
char *tl_read_file(const char *path, size_t *len);

/* Split a buffer into lines in place ('\n' → NUL). Returns the count; *lines malloc'd. */
size_t tl_lines(char *buf, size_t len, char ***lines);

/* A fresh empty folder under $TMPDIR; static buffer.  Removed by tl_rmdir. */
const char *tl_tmpdir(void);
void tl_rmdir(const char *dir);

/* Unpack the gzip file gz to path (created/truncated); fails the test on error. */
void tl_gunzip(const char *gz, const char *path);

/* Write data to path (created/truncated). */
void tl_write_file(const char *path, const void *data, size_t n);
void tl_append_file(const char *path, const void *data, size_t n);

/* Run the mtalog binary with a printf-formatted argument string (passed to
 * /bin/sh).  Captures stdout into *out (malloc'd, NUL-terminated) and
 * returns the exit status (or -1).  stderr goes to *err when err != NULL. */
int tl_mtalog(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A temporary folder for a group of tests: tl_dir, made by tl_dir_setup and
 * removed by tl_dir_teardown (cmocka group setup and teardown). */
extern char tl_dir[4096];
int tl_dir_setup(void **state);
int tl_dir_teardown(void **state);

/* dir/name in one of 16 static buffers (a few may be live at once). */
const char *tl_path(const char *dir, const char *name);
/* The lines where two tl_db_contents texts differ, on stderr (at most 10
 * each way). */
void tl_print_db_diff(const char *want, const char *got);
/* Fail (naming what) unless database db holds what tl_db_contents gave as want. */
void tl_expect_db(const char *db, const char *want, const char *what);

/* What a database holds, as one string to compare: `dump --postings` (every
 * message and every index entry) and `stats --json` without what depends on
 * the file, the run or the clock (sizes, lag, inputs, dictionary id).
 * Fails the test when mtalog fails.  malloc'd. */
char *tl_db_contents(const char *db);

/* A full disk for this process: its writes past `bytes` of a file fail with
 * EFBIG (RLIMIT_FSIZE, SIGXFSZ ignored), until tl_fsize_unlimit.  Children
 * started meanwhile inherit it. */
void tl_fsize_limit(uint64_t bytes);
void tl_fsize_unlimit(void);
/* The size of a file in bytes (fails the test when it has none). */
uint64_t tl_file_size(const char *path);

/* Start the mtalog binary ($MTALOG_BIN, else build/mtalog) with args (a
 * NULL-terminated list, without the program name), stderr to /dev/null, in
 * the background: its pid. */
pid_t tl_spawn_mtalog(const char *arg, ...) __attribute__((sentinel));

/* Run mtalog with args (one string, for /bin/sh) on a terminal (script(1)),
 * and return what it wrote there (malloc'd); NULL when script(1) is missing.
 * Fails when the command fails. */
char *tl_mtalog_on_tty(const char *args);

/* A file as lines, for the corpus sweeps: line[i] (n[i] bytes, no '\n')
 * point into buf. */
typedef struct {
	char *buf;
	size_t len;
	const char **line;
	size_t *n;
	size_t count;
} tl_lines_t;

/* Load path; -1 when it cannot be read. */
int tl_lines_load(tl_lines_t *L, const char *path);
void tl_lines_free(tl_lines_t *L);

/* The lines a parser's rule tests parse, collected (copied) as they go, so
 * that the program's robustness test cuts every one of them too: each rule
 * tested is also tested cut short and with damaged bytes.  prog may be NULL
 * (a parser without program tags).  Kept until the program exits. */
void tl_written_add(const char *prog, const char *msg, size_t n);
/* Calls fn(prog, msg, n, "rule tests", arg) for each line collected so far;
 * returns their number. */
typedef void (*tl_line_fn)(const char *prog, const char *msg, size_t n, const char *file, void *arg);
size_t tl_written_each(tl_line_fn fn, void *arg);

/* 1 when slice s holds exactly lit. */
int tl_slice_is(ml_slice_t s, const char *lit);
/* Fail (naming what and the line) unless s holds want; want NULL: s empty. */
void tl_expect_slice(ml_slice_t s, const char *want, const char *what, int line);

/* Count lines in s. */
size_t tl_count_lines(const char *s);

/* JSON Lines (what search --json prints) as one JSON array (a json_t *,
 * the caller's); fails the test on a line that is not JSON. */
void *tl_json_lines(const char *out);
/* The rows of `mtalog --db DB search --json ARGS` as one JSON array (the
 * caller's); fails the test when the command does. */
void *tl_search_json(const char *db, const char *args);
/* The "messages" of `mtalog --db DB stats --json`; fails the test when the
 * command does. */
long tl_messages(const char *db);

#endif
