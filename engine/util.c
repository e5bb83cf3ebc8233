#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>

const char *ml_strerror(int err)
{
	switch (err) {
	case ML_OK: return "success";
	case ML_EIO: return "input/output error";
	case ML_ENOMEM: return "out of memory";
	case ML_EINVAL: return "invalid argument";
	case ML_ECORRUPT: return "corrupt data";
	case ML_ENOTFOUND: return "not found";
	case ML_EFULL: return "the database's map is full";
	case ML_EPARSE: return "not understood";
	case ML_ETOOBIG: return "too big";
	case ML_EINTR: return "interrupted";
	case ML_EPERM: return "not permitted";
	case ML_EAGAIN: return "try again later";
	case ML_ENOSPC: return "the disk is full (no space left on the device, or over the quota or the file size limit)";
	}
	return "unknown error";
}

int ml_corrupt_at(const char *file, int line)
{
	(void)file;
	(void)line;
	return ML_ECORRUPT;
}

void ml_assert_fail(const char *file, int line, const char *cond)
{
	fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
	abort();
}

int ml_memieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z') x += 32;
		if (y >= 'A' && y <= 'Z') y += 32;
		if (x != y)
			return 0;
	}
	return 1;
}

int ml_slice_ieq(ml_slice_t a, const char *lit)
{
	size_t n = strlen(lit);
	return a.n == n && ml_memieq(a.p, lit, n);
}

int ml_slice_starts(ml_slice_t a, const char *lit)
{
	size_t n = strlen(lit);
	return a.n >= n && memcmp(a.p, lit, n) == 0;
}

int ml_buf_reserve(ml_buf_t *b, size_t extra)
{
	ML_ASSERT(b->len <= b->cap && (b->data || !b->cap));
	if (extra > ML_BUF_MAX || b->len > ML_BUF_MAX - extra)
		return ML_ETOOBIG;
	size_t need = b->len + extra + 1; /* room for a NUL */
	if (need <= b->cap)
		return ML_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return ML_ENOMEM;
	b->data = d;
	b->cap = cap;
	return ML_OK;
}

void ml_buf_fit(ml_buf_t *b)
{
	if (!b->data || b->cap <= b->len + 1)
		return;
	char *d = realloc(b->data, b->len + 1);
	if (d) {
		b->data = d;
		b->cap = b->len + 1;
	}
}

int ml_buf_append(ml_buf_t *b, const void *p, size_t n)
{
	int rc = ml_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return ML_OK;
}

int ml_buf_putc(ml_buf_t *b, int c)
{
	char ch = (char)c;
	return ml_buf_append(b, &ch, 1);
}

size_t ml_u64_dec(uint64_t v, char *buf)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

int ml_buf_put_u64(ml_buf_t *b, uint64_t v)
{
	char tmp[24];
	return ml_buf_append(b, tmp, ml_u64_dec(v, tmp));
}

int ml_buf_printf(ml_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[256];
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ML_EINVAL;
	if ((size_t)n < sizeof tmp)
		return ml_buf_append(b, tmp, (size_t)n);
	int rc = ml_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ML_OK;
}

const char *ml_buf_cstr(ml_buf_t *b)
{
	if (ml_buf_reserve(b, 0))
		return "";
	b->data[b->len] = '\0';
	return b->data;
}

void ml_buf_reset(ml_buf_t *b)
{
	b->len = 0;
}

void ml_buf_free(ml_buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int ml_buf_put_varint(ml_buf_t *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	return ml_buf_append(b, tmp, n);
}

int ml_get_varint_slow(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t r = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return ML_CORRUPT_BKPT;
		unsigned char c = *p++;
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*pp = p;
			*v = r;
			return ML_OK;
		}
	}
	return ML_CORRUPT_BKPT;
}

size_t ml_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t min, v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; v = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; v = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; v = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	return ml_utf8_decode(s, n, &cp);
}

int ml_array_grow(void **arr, size_t *cap, size_t elem, size_t need, size_t first)
{
	if (need <= *cap)
		return ML_OK;
	size_t c = *cap ? *cap : first;
	while (c < need)
		c *= 2;
	if (c > ML_BUF_MAX / elem)
		return ML_ETOOBIG;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return ML_ENOMEM;
	*arr = p;
	*cap = c;
	return ML_OK;
}

int ml_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

int ml_utf8_sanitize(ml_buf_t *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int rc = ml_buf_reserve(out, n);
	if (rc)
		return rc;
	while (i < n) {
		/* a run of printable ASCII (most of a mail log) goes as it is */
		size_t j = i;
		while (j < n && ((p[j] >= 0x20 && p[j] < 0x7f) || p[j] == '\t'))
			j++;
		if (j > i) {
			if ((rc = ml_buf_append(out, p + i, j - i)))
				return rc;
			i = j;
			continue;
		}
		size_t k = utf8_seq(p + i, n - i);
		if (k == 1 && p[i] < 0x20 && p[i] != '\t') {
			rc = ml_buf_putc(out, '?');
		} else if (k == 1 && p[i] == 0x7f) {
			rc = ml_buf_putc(out, '?');
		} else if (k) {
			rc = ml_buf_append(out, p + i, k);
		} else {
			rc = ml_buf_append(out, "\xef\xbf\xbd", 3);
			k = 1;
		}
		if (rc)
			return rc;
		i += k;
	}
	return ML_OK;
}

int ml_buf_append_lower(ml_buf_t *b, const char *p, size_t n)
{
	int rc = ml_buf_reserve(b, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c += 32;
		b->data[b->len++] = c;
	}
	return ML_OK;
}

void ml_heap_trim(void)
{
	struct mallinfo2 mi = mallinfo2();
	if (mi.fordblks > ML_TRIM_FREE_BYTES)
		malloc_trim(0);
}

int ml_valid_host_name(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '_' && s[n] != '.')
			return 0;
	return n >= 1 && n <= 253;
}
