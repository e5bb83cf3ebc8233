/*
 * reader.h — reading one input (a file, a rotated file, a .gz file or stdin)
 * as lines, in large blocks, without a copy per line.
 *
 * ml_reader_t owns a block buffer.  ml_reader_next() returns a line as a slice
 * into that buffer, valid until the next call.  Lines are split with memchr
 * on '\n'; the '\n' (and a '\r' before it) is not part of the line.
 *
 * Offsets are byte offsets in the (decompressed) input stream: line.off is
 * where the line starts, line.end where the next one starts.  A checkpoint is
 * an offset that is the end of a line (or the end of a file cut in place,
 * which may be inside a line); ml_reader_open(.., start, ..) resumes there
 * (for .gz by decompressing and discarding, for stdin by discarding).
 *
 * Limits: a line longer than ML_LINE_MAX is returned cut to its first
 * ML_LINE_MAX bytes with ML_LINE_TOOLONG set (the rest is consumed, and
 * line.end is past the whole line).  Memory is bounded by the block size plus
 * ML_LINE_MAX whatever the input.
 *
 * Truncated last line: for a plain file, a last line without '\n' is held
 * back (ml_reader_next returns ML_LINE_PARTIAL in flags and the line, and the
 * caller decides: the ingest leaves it for the next run, since a log being
 * written may complete it); for .gz and stdin, which cannot grow, it is
 * returned as a normal line with ML_LINE_NOEOL set.  Either way its line.end
 * is line.off + line.full_len (no '\n' counted), and a '\r' at its end is
 * kept, since the '\n' that would make it a line ending has not been seen.
 *
 * What is a stream: gzip input (any name; every member of a multi-member
 * file, bytes after the last member that do not start another are ignored as
 * gzip(1) does), stdin, pipes and devices.  A regular plain file is the only
 * input that can grow.
 *
 * Errors: a read error, or a corrupt or truncated gzip stream (ML_EIO, with
 * the file and the byte offset in the message), is reported after the
 * complete lines decoded before it, and then by every later call.  Deflate
 * damage may only show at the member's checksum, after damaged lines.
 */
#ifndef ML_READER_H
#define ML_READER_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util.h"

#define ML_LINE_MAX (64u * 1024)
#define ML_READ_BLOCK (1u << 20)

enum {
	ML_LINE_TOOLONG = 1 << 0,
	ML_LINE_NOEOL = 1 << 1,    /* last line of a stream that cannot grow, no '\n' */
	ML_LINE_PARTIAL = 1 << 2,  /* last line of a plain file, no '\n' (yet) */
};

typedef struct {
	const char *p;
	size_t n;          /* bytes in p (capped at ML_LINE_MAX) */
	uint64_t off;      /* stream offset of the first byte */
	uint64_t end;      /* stream offset just past the line and its '\n' */
	uint64_t lineno;   /* 1-based; counts from the start of the stream only when
	                      the reader started at offset 0, else from the resume point */
	size_t full_len;   /* length before capping (without the "\r\n" or "\n") */
	int flags;         /* ML_LINE_* */
} ml_line_t;

/* What identifies an input across runs and renames. */
typedef struct {
	uint64_t dev, ino;
	uint64_t first_hash;   /* xxh3 of the first line (up to 4 KiB), 0 when empty;
	                          see ml_first_line_hash */
	uint64_t size;         /* size on disk (compressed size for .gz) */
	int64_t mtime;
	int compressed;        /* 1 for gzip input */
	int is_stdin;
} ml_input_id_t;

typedef struct ml_reader ml_reader_t;

/*
 * Open path ("-" is stdin; gzip is detected by its magic bytes, whatever the
 * name) and position it at offset `start` (0 for the beginning).  On failure
 * returns a negative code (ML_ENOTFOUND for a missing file, ML_EIO when it
 * cannot be read, ML_EINVAL for a directory or a `start` past the end of the
 * input) and writes a one-line message naming the file and the cause into err
 * (errlen bytes; err may be NULL).  err is left untouched on success.
 * A stream (gzip, stdin) is read from its start at open, for first_hash and to
 * skip to `start`.  The reader owns its file descriptor but not stdin's.
 */
int ml_reader_open(ml_reader_t **out, const char *path, uint64_t start,
                   char *err, size_t errlen);
/* Identity of the open input (computed at open, before any read). */
const ml_input_id_t *ml_reader_id(const ml_reader_t *r);
const char *ml_reader_path(const ml_reader_t *r);
/*
 * Next line.  1 when a line was returned, 0 at end of input, negative on a
 * read or decompression error (message in err; the lines returned so far stay
 * valid input).
 */
int ml_reader_next(ml_reader_t *r, ml_line_t *line, char *err, size_t errlen);
/* 1 when the error ml_reader_next returned is a gzip stream that ends
 * before its end (a damaged file, or one gzip is still writing). */
int ml_reader_truncated(const ml_reader_t *r);
void ml_reader_close(ml_reader_t *r);
/*
 * Whether ml_reader_next can return without waiting for its source: 1 when a
 * whole line (or the end of input, or an error) is already buffered, or when
 * the source has bytes to read within timeout_ms (always at once for a
 * regular file); 0 when a pipe or terminal stayed silent that long, or a
 * signal came while waiting.  A gzip stream with compressed bytes in hand
 * counts as ready.
 */
int ml_reader_wait(ml_reader_t *r, int timeout_ms);

/*
 * Following a growing file: a regular plain file only (ML_EINVAL otherwise).
 * Read on from byte `offset` (the end of a line, at most the file's size),
 * numbering the next line lineno + 1; clears the end of input, so lines
 * written since are read.  The descriptor is kept, so a file renamed away
 * (log rotation) goes on being read.
 */
int ml_reader_seek(ml_reader_t *r, uint64_t offset, uint64_t lineno);
/* fstat(2) of the open file (its size now, and whether it is still the file
 * its path names); -1 with errno set on failure. */
int ml_reader_fstat(const ml_reader_t *r, struct stat *st);
/* first_hash of what the open plain file holds now (its first line may have
 * changed: truncated and written anew); 0 when empty or unreadable. */
uint64_t ml_reader_rehash(const ml_reader_t *r);

/* xxh3-64 of the first line of a file, as ml_input_id_t.first_hash computes it:
 * of the bytes of p[0..n) before the first '\n', at most the first 4 KiB;
 * 0 when n == 0.  (A first line still being written hashes what is there.) */
uint64_t ml_first_line_hash(const char *p, size_t n);

#endif
