/*
 * reader.c — lines out of a plain file, a gzip file or a stream (see reader.h).
 *
 * The block buffer.  One allocation of ML_READ_BLOCK + ML_LINE_MAX bytes:
 *
 *     buf[0 .. pos)      already returned
 *     buf[pos .. len)    read, not yet returned
 *     buf[len .. cap)    free
 *
 * and buf[i] is the byte at stream offset buf_off + i.  ml_reader_next looks
 * for '\n' in buf[pos..len) with memchr and returns the line in place.  When
 * none is there, the unreturned tail is shorter than ML_LINE_MAX (else the
 * line is too long, below), so moving it to the front leaves at least
 * ML_READ_BLOCK bytes for the next read(2) or inflate.
 *
 * A line longer than ML_LINE_MAX: its first ML_LINE_MAX bytes are moved to
 * buf[0..ML_LINE_MAX) and stay there while the rest of the line is read into
 * buf[ML_LINE_MAX..cap) and dropped, block by block, until its '\n'.  The
 * bytes after that '\n' stay in the buffer for the next call.  (buf_off keeps
 * its meaning for buf[ML_LINE_MAX..), which is all that is used afterwards.)
 *
 * Sources.  A regular file that is not gzip is "growable": read with read(2),
 * resumed with lseek, and its last line without '\n' is ML_LINE_PARTIAL.
 * Everything else — gzip files, stdin, pipes and devices — is a stream that
 * cannot grow: resumed by reading and discarding, last line ML_LINE_NOEOL.
 * gzip input is inflated with zlib (gzip wrapper, every member of a
 * multi-member file); bytes after the last member that do not start another
 * member are ignored, as gzip(1) and zlib's gzread do.
 *
 * Errors.  A read or inflate error is remembered in the reader (code and
 * message).  Bytes produced before the error are returned first; after that
 * every call returns the error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

#include "dynlib.h"
#include "reader.h"

#define ML_HASH_MAX 4096u          /* first_hash covers at most this much */
#define ML_ZIN_SIZE (256u * 1024)  /* compressed input buffer */

struct ml_reader {
	char *buf;
	size_t pos, len, cap;
	uint64_t buf_off;     /* stream offset of buf[0] */
	uint64_t lineno;      /* lines returned */
	int fd;
	int own_fd;           /* 0 for stdin */
	int growable;         /* regular plain file: PARTIAL, lseek */
	int eof;              /* the source has no more bytes */
	int err;              /* 0, or the error every later call returns */
	int truncated;        /* that error is a gzip stream that ends early */
	char *path;
	ml_input_id_t id;
	/* gzip */
	int gz;
	z_stream zs;
	int zs_ready;         /* inflateInit2 done */
	int z_between;        /* a member ended; the next has not started */
	int zin_eof;          /* read(2) of the compressed file returned 0 */
	unsigned char *zin;
	uint64_t zin_total;   /* compressed bytes read from fd */
	char errmsg[320];
};

uint64_t ml_first_line_hash(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n > ML_HASH_MAX)
		n = ML_HASH_MAX;
	const char *nl = memchr(p, '\n', n);
	if (nl)
		n = (size_t)(nl - p);
	return XXH3_64bits(p, n);
}

static void put_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* Record the sticky error; returns code. */
static int fail_with(ml_reader_t *r, int code, const char *what, int errnum)
{
	snprintf(r->errmsg, sizeof r->errmsg, "%s: %s: %s", r->path, what,
	         strerror(errnum));
	r->err = code;
	return code;
}

static ssize_t read_retry(int fd, void *p, size_t n)
{
	ssize_t k;
	do
		k = read(fd, p, n);
	while (k < 0 && errno == EINTR);
	return k;
}

static ssize_t pread_retry(int fd, void *p, size_t n, off_t at)
{
	ssize_t k;
	do
		k = pread(fd, p, n, at);
	while (k < 0 && errno == EINTR);
	return k;
}

/* Top up the compressed input: keep what inflate has not consumed, read more. */
static int zin_more(ml_reader_t *r)
{
	z_stream *zs = &r->zs;
	if (zs->avail_in && zs->next_in != r->zin)
		memmove(r->zin, zs->next_in, zs->avail_in);
	zs->next_in = r->zin;
	ssize_t k = read_retry(r->fd, r->zin + zs->avail_in, ML_ZIN_SIZE - zs->avail_in);
	if (k < 0)
		return fail_with(r, ML_EIO, "read error", errno);
	if (k == 0)
		r->zin_eof = 1;
	zs->avail_in += (uInt)k;
	r->zin_total += (uint64_t)k;
	return 0;
}

/* zlib, loaded by the first gzip input (engine/dynlib.h) */
#ifndef ML_ZLIB_SONAME
#define ML_ZLIB_SONAME "libz.so.1"
#define ML_ZLIB_PACKAGE "zlib1g"   /* Debian's package of that soname */
#endif
static struct {
	__typeof__(inflateInit2_) *init2;
	__typeof__(inflate) *inflate;
	__typeof__(inflateReset) *reset;
	__typeof__(inflateEnd) *end;
} zl;
static const char *const zl_names[] = { "inflateInit2_", "inflate", "inflateReset", "inflateEnd" };
static void **const zl_fns[] = { ML_DYNLIB_SLOT(zl.init2), ML_DYNLIB_SLOT(zl.inflate), ML_DYNLIB_SLOT(zl.reset),
	                         ML_DYNLIB_SLOT(zl.end) };
_Static_assert(ML_ARRAY_LEN(zl_names) == ML_ARRAY_LEN(zl_fns), "a slot a name");

static int gz_error(ml_reader_t *r, int code, const char *what)
{
	uint64_t zoff = r->zin_total - r->zs.avail_in;
	uint64_t doff = r->buf_off + (uint64_t)((char *)r->zs.next_out - r->buf);
	snprintf(r->errmsg, sizeof r->errmsg,
	         "%s: %s at compressed byte offset %" PRIu64
	         " (decompressed offset %" PRIu64 ")",
	         r->path, what, zoff, doff);
	r->err = code;
	return code;
}

/*
 * Inflate into buf[len..cap) (never empty) until it is full or the input ends.
 * 1 when bytes were added, 0 at the end of the input, < 0 on error.
 */
static int gz_fill(ml_reader_t *r)
{
	z_stream *zs = &r->zs;
	zs->next_out = (Bytef *)r->buf + r->len;
	zs->avail_out = (uInt)(r->cap - r->len);
	int rc = 0;
	while (zs->avail_out > 0) {
		if (r->z_between) {
			/* Another member follows only if the next bytes are its magic. */
			while (zs->avail_in < 2 && !r->zin_eof)
				if ((rc = zin_more(r)) < 0)
					goto out;
			if (zs->avail_in < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b) {
				r->eof = 1;
				break;
			}
			if (zl.reset(zs) != Z_OK) {
				rc = gz_error(r, ML_EIO, "cannot restart inflate");
				goto out;
			}
			r->z_between = 0;
		}
		if (zs->avail_in == 0) {
			if (!r->zin_eof && (rc = zin_more(r)) < 0)
				goto out;
			if (zs->avail_in == 0) {
				rc = gz_error(r, ML_EIO, "truncated gzip data");
				r->truncated = 1;
				goto out;
			}
		}
		int z = zl.inflate(zs, Z_NO_FLUSH);
		if (z == Z_STREAM_END) {
			r->z_between = 1;
		} else if (z == Z_MEM_ERROR) {
			rc = gz_error(r, ML_ENOMEM, "out of memory in inflate");
			goto out;
		} else if (z != Z_OK && !(z == Z_BUF_ERROR && zs->avail_in == 0)) {
			char what[160];
			snprintf(what, sizeof what, "corrupt gzip data (%s)",
			         zs->msg ? zs->msg : "inflate failed");
			rc = gz_error(r, ML_EIO, what);  /* damaged input, not our store */
			goto out;
		}
	}
out:;
	size_t got = (size_t)((char *)zs->next_out - (r->buf + r->len));
	r->len += got;
	if (got > 0)
		return 1;  /* an error, if any, is returned by the next call */
	return rc;
}

/*
 * Append source bytes at buf[len..cap).  > 0 bytes were added, 0 at the end of
 * the input (r->eof set), < 0 error (r->errmsg set).
 */
static int src_fill(ml_reader_t *r)
{
	if (r->err)
		return r->err;
	if (r->eof)
		return 0;
	if (r->gz)
		return gz_fill(r);
	ssize_t k = read_retry(r->fd, r->buf + r->len, r->cap - r->len);
	if (k < 0)
		return fail_with(r, ML_EIO, "read error", errno);
	if (k == 0) {
		r->eof = 1;
		return 0;
	}
	r->len += (size_t)k;
	return 1;
}

/* Move the unreturned tail to the front and read more after it. */
static int refill(ml_reader_t *r)
{
	if (r->pos) {
		size_t avail = r->len - r->pos;
		memmove(r->buf, r->buf + r->pos, avail);
		r->buf_off += r->pos;
		r->pos = 0;
		r->len = avail;
	}
	return src_fill(r);
}

static int last_line_flag(const ml_reader_t *r)
{
	return r->growable ? ML_LINE_PARTIAL : ML_LINE_NOEOL;
}

/*
 * buf[pos..len) holds at least ML_LINE_MAX bytes of one line and no '\n'.
 * Keep the first ML_LINE_MAX, drop the rest up to the '\n'.
 */
static int next_long(ml_reader_t *r, ml_line_t *line)
{
	uint64_t off = r->buf_off + r->pos;
	uint64_t seen = r->len - r->pos;       /* bytes of the line so far */
	char last = r->buf[r->len - 1];
	uint64_t full;
	int flags = 0;

	memmove(r->buf, r->buf + r->pos, ML_LINE_MAX);
	for (;;) {
		r->buf_off = off + seen - ML_LINE_MAX;
		r->pos = r->len = ML_LINE_MAX;
		int rc = src_fill(r);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			full = seen;
			line->end = off + seen;
			flags = last_line_flag(r);
			break;
		}
		char *q = r->buf + ML_LINE_MAX;
		size_t got = r->len - ML_LINE_MAX;
		char *nl = memchr(q, '\n', got);
		if (nl) {
			size_t k = (size_t)(nl - q);
			if (k)
				last = nl[-1];
			seen += k;
			full = seen - (last == '\r');
			line->end = off + seen + 1;
			r->pos = (size_t)(nl - r->buf) + 1;
			break;
		}
		seen += got;
		last = q[got - 1];
	}
	if (full > ML_LINE_MAX)
		flags |= ML_LINE_TOOLONG;
	line->p = r->buf;
	line->n = full > ML_LINE_MAX ? ML_LINE_MAX : (size_t)full;
	line->full_len = (size_t)full;
	line->off = off;
	line->lineno = ++r->lineno;
	line->flags = flags;
	return 1;
}

int ml_reader_wait(ml_reader_t *r, int timeout_ms)
{
	if (r->eof || r->err || memchr(r->buf + r->pos, '\n', r->len - r->pos))
		return 1;
	if (r->gz && r->zs_ready && r->zs.avail_in)
		return 1;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	int k = poll(&p, 1, timeout_ms);
	if (k < 0 && errno == EINTR)
		return 0;   /* a signal: the caller looks at why, then waits again */
	return k != 0;  /* readable, hung up, or poll failed: let read(2) tell */
}

int ml_reader_next(ml_reader_t *r, ml_line_t *line, char *err, size_t errlen)
{
	for (;;) {
		char *s = r->buf + r->pos;
		size_t avail = r->len - r->pos;
		char *nl = memchr(s, '\n', avail);
		if (nl) {
			size_t n = (size_t)(nl - s);
			line->off = r->buf_off + r->pos;
			r->pos += n + 1;
			line->end = r->buf_off + r->pos;
			line->lineno = ++r->lineno;
			line->p = s;
			if (n && s[n - 1] == '\r')
				n--;
			line->full_len = n;
			if (__builtin_expect(n > ML_LINE_MAX, 0)) {
				line->n = ML_LINE_MAX;
				line->flags = ML_LINE_TOOLONG;
			} else {
				line->n = n;
				line->flags = 0;
			}
			return 1;
		}
		int rc;
		if (avail >= ML_LINE_MAX) {
			rc = next_long(r, line);
			if (rc < 0)
				break;
			return rc;
		}
		if (r->eof) {
			if (avail == 0)
				return 0;
			line->p = s;
			line->n = line->full_len = avail;
			line->off = r->buf_off + r->pos;
			line->end = line->off + avail;
			line->lineno = ++r->lineno;
			line->flags = last_line_flag(r);
			r->pos = r->len;
			return 1;
		}
		rc = refill(r);
		if (rc < 0)
			break;
	}
	put_err(err, errlen, r->errmsg);
	return r->err;
}

int ml_reader_seek(ml_reader_t *r, uint64_t offset, uint64_t lineno)
{
	if (!r->growable || r->err)
		return r->err ? r->err : ML_EINVAL;
	if (lseek(r->fd, (off_t)offset, SEEK_SET) < 0)
		return fail_with(r, ML_EIO, "cannot seek", errno);
	r->buf_off = offset;
	r->pos = r->len = 0;
	r->eof = 0;
	r->lineno = lineno;
	return ML_OK;
}

int ml_reader_fstat(const ml_reader_t *r, struct stat *st)
{
	return fstat(r->fd, st);
}

uint64_t ml_reader_rehash(const ml_reader_t *r)
{
	char head[ML_HASH_MAX];
	if (!r->growable)
		return r->id.first_hash;
	ssize_t k = pread_retry(r->fd, head, sizeof head, 0);
	return k > 0 ? ml_first_line_hash(head, (size_t)k) : 0;
}

/* Read a stream until buf holds its first line (or ML_HASH_MAX bytes, or all of it). */
static int fill_first_line(ml_reader_t *r)
{
	while (!r->eof && r->len < ML_HASH_MAX && !memchr(r->buf, '\n', r->len)) {
		int rc = src_fill(r);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int start_gz(ml_reader_t *r, const unsigned char *pre, size_t npre)
{
	static ml_dynlib_once_t once;
	static const ml_dynlib_t lib = { ML_ZLIB_SONAME, ML_ZLIB_PACKAGE, "mtalog" };
	if (ml_dynlib_need(&once, &lib, zl_names, zl_fns, ML_ARRAY_LEN(zl_names)))
		return ML_EIO;
	r->zin = malloc(ML_ZIN_SIZE);
	if (!r->zin)
		return ML_ENOMEM;
	if (zl.init2(&r->zs, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK)
		return ML_ENOMEM;
	r->zs_ready = 1;
	if (npre)
		memcpy(r->zin, pre, npre);
	r->zs.next_in = r->zin;
	r->zs.avail_in = (uInt)npre;
	r->zin_total = npre;
	r->gz = 1;
	r->id.compressed = 1;
	return 0;
}

int ml_reader_open(ml_reader_t **out, const char *path, uint64_t start,
                   char *err, size_t errlen)
{
	int rc = 0;
	struct stat st;
	unsigned char magic[2];
	size_t nmagic = 0;
	ml_reader_t *r = calloc(1, sizeof *r);

	*out = NULL;
	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return ML_ENOMEM;
	}
	r->fd = -1;
	if (!(r->path = strdup(path))) {
		rc = ML_ENOMEM;
		snprintf(r->errmsg, sizeof r->errmsg, "%s: out of memory", path);
		goto fail;
	}
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
		r->id.is_stdin = 1;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			rc = fail_with(r, errno == ENOENT ? ML_ENOTFOUND : ML_EIO,
			               "cannot open", errno);
			goto fail;
		}
		r->own_fd = 1;
	}
	if (fstat(r->fd, &st) < 0) {
		rc = fail_with(r, ML_EIO, "cannot stat", errno);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = fail_with(r, ML_EINVAL, "cannot read", EISDIR);
		goto fail;
	}
	r->id.dev = (uint64_t)st.st_dev;
	r->id.ino = (uint64_t)st.st_ino;
	r->id.size = (uint64_t)st.st_size;
	r->id.mtime = (int64_t)st.st_mtime;
	r->growable = S_ISREG(st.st_mode) && !r->id.is_stdin;

	r->cap = ML_READ_BLOCK + ML_LINE_MAX;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		rc = ML_ENOMEM;
		snprintf(r->errmsg, sizeof r->errmsg, "%s: out of memory", path);
		goto fail;
	}

	/* gzip magic: pread on a regular file, else the first bytes of the stream. */
	if (r->growable) {
		ssize_t k = pread_retry(r->fd, magic, 2, 0);
		if (k < 0) {
			rc = fail_with(r, ML_EIO, "read error", errno);
			goto fail;
		}
		nmagic = (size_t)k;
	} else {
		while (nmagic < 2) {
			ssize_t k = read_retry(r->fd, magic + nmagic, 2 - nmagic);
			if (k < 0) {
				rc = fail_with(r, ML_EIO, "read error", errno);
				goto fail;
			}
			if (k == 0)
				break;
			nmagic += (size_t)k;
		}
	}
	if (nmagic == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		/* A stream has consumed the magic: it goes to inflate first. */
		if ((rc = start_gz(r, magic, r->growable ? 0 : 2)) < 0) {
			snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", path,
			         rc == ML_EIO ? "gzip input needs zlib (" ML_ZLIB_SONAME "), which cannot be loaded"
			                      : "out of memory");
			goto fail;
		}
		r->growable = 0;
	} else if (!r->growable) {
		memcpy(r->buf, magic, nmagic);
		r->len = nmagic;
		if (nmagic < 2)
			r->eof = 1;  /* a stream that ended within two bytes */
	}

	if (r->growable) {
		char head[ML_HASH_MAX];
		ssize_t k = pread_retry(r->fd, head, sizeof head, 0);
		if (k < 0) {
			rc = fail_with(r, ML_EIO, "read error", errno);
			goto fail;
		}
		r->id.first_hash = ml_first_line_hash(head, (size_t)k);
		if (start > (uint64_t)st.st_size) {
			rc = ML_EINVAL;
			snprintf(r->errmsg, sizeof r->errmsg,
			         "%s: cannot resume at offset %" PRIu64 ": the file has %" PRIu64 " bytes",
			         path, start, (uint64_t)st.st_size);
			goto fail;
		}
		if (start && lseek(r->fd, (off_t)start, SEEK_SET) < 0) {
			rc = fail_with(r, ML_EIO, "cannot seek", errno);
			goto fail;
		}
		r->buf_off = start;
		(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	} else {
		if ((rc = fill_first_line(r)) < 0)
			goto fail;
		r->id.first_hash = ml_first_line_hash(r->buf, r->len);
		while (r->buf_off + r->len < start) {
			if (r->eof) {
				rc = ML_EINVAL;
				snprintf(r->errmsg, sizeof r->errmsg,
				         "%s: cannot resume at offset %" PRIu64 ": the input has %" PRIu64 " bytes",
				         path, start, r->buf_off + r->len);
				goto fail;
			}
			r->buf_off += r->len;
			r->pos = r->len = 0;
			if ((rc = src_fill(r)) < 0)
				goto fail;
		}
		r->pos = (size_t)(start - r->buf_off);
	}
	*out = r;
	return 0;

fail:
	put_err(err, errlen, r->errmsg);
	ml_reader_close(r);
	return rc < 0 ? rc : ML_EIO;
}

const ml_input_id_t *ml_reader_id(const ml_reader_t *r)
{
	return &r->id;
}

const char *ml_reader_path(const ml_reader_t *r)
{
	return r->path;
}

void ml_reader_close(ml_reader_t *r)
{
	if (!r)
		return;
	if (r->zs_ready)
		zl.end(&r->zs);
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->zin);
	free(r->buf);
	free(r->path);
	free(r);
}

int ml_reader_truncated(const ml_reader_t *r)
{
	return r->err && r->truncated;
}
