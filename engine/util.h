/*
 * util.h — small things every module uses: byte slices, growable buffers,
 * error codes, the corruption and assertion macros.
 *
 * ml_slice_t is a borrowed view {p, n}: it owns nothing and is valid only as
 * long as the bytes it points into.  Parsers return slices into the line they
 * were given; whoever keeps a value past that line copies it.
 *
 * ml_buf_t is an owned, growable byte buffer.  Invariants: len <= cap; data is
 * NULL only while cap == 0; data[len] is not guaranteed to be NUL unless
 * ml_buf_cstr() was called.  A buffer never grows past ML_BUF_MAX: the append
 * that would do so fails with ML_ETOOBIG and leaves the buffer unchanged.
 *
 * Errors are values: 0 on success, a negative ML_E* code on failure.
 */
#ifndef ML_UTIL_H
#define ML_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
	ML_OK = 0,
	ML_EIO = -1,       /* read/write failure of a file or the database */
	ML_ENOMEM = -2,
	ML_EINVAL = -3,    /* bad argument or bad user input */
	ML_ECORRUPT = -4,  /* stored bytes are not what we wrote */
	ML_ENOTFOUND = -5,
	ML_EFULL = -6,     /* the database's map is full: grow it, write again */
	ML_EPARSE = -7,    /* a line we do not understand */
	ML_ETOOBIG = -8,   /* a capped buffer would overflow */
	ML_EINTR = -9,     /* stopped on request */
	ML_EPERM = -10,    /* refused: not who they say, or not allowed */
	ML_EAGAIN = -11,   /* refused for now: try again later */
	ML_ENOSPC = -12,   /* the disk is full: no space left on the device, over
	                      the quota or the file size limit; writing again
	                      will not help (ENOSPC, EDQUOT, EFBIG) */
};

const char *ml_strerror(int err);

/* Every detection of corrupt stored bytes goes through here: one place to
 * break on in a debugger, never an abort. */
int ml_corrupt_at(const char *file, int line);
#define ML_CORRUPT_BKPT ml_corrupt_at(__FILE__, __LINE__)

/* ML_ASSERT(cond): an invariant the code establishes or relies on.  In a
 * debug build (ML_DEBUG defined: the sanitizer build that `make test` runs)
 * a false one prints where and what to stderr and aborts; otherwise cond is
 * not evaluated, so it must have no side effects.  Never for stored bytes,
 * which may be anything: those go through ML_CORRUPT_BKPT. */
#ifdef ML_DEBUG
#define ML_ASSERT(cond) ((cond) ? (void)0 : ml_assert_fail(__FILE__, __LINE__, #cond))
#else
#define ML_ASSERT(cond) ((void)sizeof(!(cond)))
#endif
void ml_assert_fail(const char *file, int line, const char *cond) __attribute__((noreturn));

typedef struct {
	const char *p;
	size_t n;
} ml_slice_t;

#define ML_SLICE_NULL ((ml_slice_t){ NULL, 0 })
static inline ml_slice_t ml_slice(const char *p, size_t n)
{
	return (ml_slice_t){ p, n };
}
static inline ml_slice_t ml_slice_cstr(const char *s)
{
	return (ml_slice_t){ s, s ? strlen(s) : 0 };
}
static inline int ml_slice_eq(ml_slice_t a, const char *lit)
{
	size_t n = strlen(lit);
	return a.n == n && memcmp(a.p, lit, n) == 0;
}
/* ASCII case-insensitive equality of n bytes. */
int ml_memieq(const char *a, const char *b, size_t n);
int ml_slice_ieq(ml_slice_t a, const char *lit);
int ml_slice_starts(ml_slice_t a, const char *lit);

#define ML_BUF_MAX ((size_t)1 << 30)

typedef struct {
	char *data;
	size_t len, cap;
} ml_buf_t;

#define ML_BUF_INIT { NULL, 0, 0 }

int ml_buf_reserve(ml_buf_t *b, size_t extra);
/* ml_buf_reserve, the case where the room is there already inline */
static inline int ml_buf_room(ml_buf_t *b, size_t extra)
{
	return b->cap - b->len > extra ? 0 : ml_buf_reserve(b, extra);
}
int ml_buf_append(ml_buf_t *b, const void *p, size_t n);
static inline int ml_buf_puts(ml_buf_t *b, const char *s)
{
	return ml_buf_append(b, s, strlen(s));
}
int ml_buf_putc(ml_buf_t *b, int c);
int ml_buf_printf(ml_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NUL-terminate (not counted in len) and return data; never NULL. */
const char *ml_buf_cstr(ml_buf_t *b);
void ml_buf_reset(ml_buf_t *b);  /* len = 0, keeps memory */
void ml_buf_free(ml_buf_t *b);   /* back to ML_BUF_INIT */
void ml_buf_fit(ml_buf_t *b);    /* memory cut to what len needs (kept if realloc fails) */

/* Varints (LEB128, unsigned) for record encoding. */
int ml_buf_put_varint(ml_buf_t *b, uint64_t v);
/* v in decimal, as "%llu" writes it (appends). */
int ml_buf_put_u64(ml_buf_t *b, uint64_t v);
/* v in decimal into buf (at least 21 bytes), NUL-terminated; its length. */
size_t ml_u64_dec(uint64_t v, char *buf);
/* Reads one varint from *p (< end); advances *p.  ML_ECORRUPT on overrun. */
int ml_get_varint_slow(const unsigned char **p, const unsigned char *end, uint64_t *v);
static inline int ml_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return ml_get_varint_slow(p, end, v);
}

/* Big-endian 64-bit for keys that must sort as numbers. */
static inline void ml_put_be64(unsigned char *d, uint64_t v)
{
	for (int i = 7; i >= 0; i--) { d[i] = (unsigned char)v; v >>= 8; }
}
static inline uint64_t ml_get_be64(const unsigned char *s)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) v = v << 8 | s[i];
	return v;
}
static inline void ml_put_be32(unsigned char *d, uint32_t v)
{
	for (int i = 3; i >= 0; i--) { d[i] = (unsigned char)v; v >>= 8; }
}
static inline uint32_t ml_get_be32(const unsigned char *s)
{
	return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
}

/* Copy s (n bytes) to out as valid UTF-8: invalid sequences become U+FFFD,
 * NUL and other C0 controls but TAB become '?'.  Appends to out. */
int ml_utf8_sanitize(ml_buf_t *out, const char *s, size_t n);
/* Decode one UTF-8 character at s (n > 0 bytes left): its length, with the
 * code point in *cp; 0 when the bytes are not valid UTF-8 (overlong forms and
 * surrogates included). */
size_t ml_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* 1 if s[0..n) is valid UTF-8. */
int ml_utf8_valid(const char *s, size_t n);

/* Grow a malloc'd array *arr of elem-sized items, whose capacity is *cap,
 * to hold at least need items (doubling; starting at first). */
int ml_array_grow(void **arr, size_t *cap, size_t elem, size_t need, size_t first);

/* After a batch: give the heap's free memory back to the system when more
 * than ML_TRIM_FREE_BYTES of it is held free.  Without this the holes a
 * batch's messages leave keep a long run growing with its input; trimming
 * after every batch instead costs the next batch a page fault (and a zeroed
 * page) for each page it touches. */
#define ML_TRIM_FREE_BYTES ((size_t)256 << 20)
void ml_heap_trim(void);

/* ASCII lowercase copy into out (appends). */
int ml_buf_append_lower(ml_buf_t *b, const char *p, size_t n);

/* A name a syslog header could carry as its host: 1 to 253 letters, digits,
 * '-', '_' and '.'. */
int ml_valid_host_name(const char *s);

#define ML_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ML_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ML_MAX(a, b) ((a) > (b) ? (a) : (b))

#include "banned.h"

#endif
