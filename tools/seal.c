/*
 * seal.c — sealed texts: ChaCha20-Poly1305 of nettle, in hex (see seal.h).
 *
 * nettle is the library GnuTLS is built on; libmicrohttpd, which serve
 * loads, brings it into the process anyway.  It is loaded by the first
 * seal (engine/dynlib.h), not by every command's start.
 */
#include "seal.h"

#include <errno.h>
#include <nettle/chacha-poly1305.h>
#include <nettle/memops.h>
#include <string.h>
#include <sys/random.h>

#include "engine/util.h"
#include "engine/dynlib.h"

_Static_assert(CHACHA_POLY1305_NONCE_SIZE + CHACHA_POLY1305_DIGEST_SIZE == ML_SEAL_OVERHEAD,
               "the overhead of a seal is its nonce and its tag");
_Static_assert(CHACHA_POLY1305_KEY_SIZE == ML_SEAL_KEY_LEN, "a seal's key is ChaCha20's");

#ifndef ML_NETTLE_SONAME
#define ML_NETTLE_SONAME "libnettle.so.8"
#define ML_NETTLE_PACKAGE "libnettle8"   /* Debian's package of that soname */
#endif

/* nettle's functions (the names its headers map to) */
static struct {
	__typeof__(chacha_poly1305_set_key) *set_key;
	__typeof__(chacha_poly1305_set_nonce) *set_nonce;
	__typeof__(chacha_poly1305_update) *update;
	__typeof__(chacha_poly1305_encrypt) *encrypt;
	__typeof__(chacha_poly1305_decrypt) *decrypt;
	__typeof__(chacha_poly1305_digest) *digest;
	__typeof__(memeql_sec) *memeql_sec;
} nt;
static const char *const nt_names[] = {
	"nettle_chacha_poly1305_set_key", "nettle_chacha_poly1305_set_nonce", "nettle_chacha_poly1305_update",
	"nettle_chacha_poly1305_encrypt", "nettle_chacha_poly1305_decrypt", "nettle_chacha_poly1305_digest",
	"nettle_memeql_sec",
};
static void **const nt_fns[] = {
	ML_DYNLIB_SLOT(nt.set_key), ML_DYNLIB_SLOT(nt.set_nonce), ML_DYNLIB_SLOT(nt.update),
	ML_DYNLIB_SLOT(nt.encrypt), ML_DYNLIB_SLOT(nt.decrypt),   ML_DYNLIB_SLOT(nt.digest),
	ML_DYNLIB_SLOT(nt.memeql_sec),
};
_Static_assert(ML_ARRAY_LEN(nt_names) == ML_ARRAY_LEN(nt_fns), "a slot a name");

/* nettle loaded: ML_OK, else ML_EIO (said on stderr, once) */
static int nt_load(void)
{
	static ml_dynlib_once_t once;
	static const ml_dynlib_t lib = { ML_NETTLE_SONAME, ML_NETTLE_PACKAGE, "mtalog" };
	return ml_dynlib_need(&once, &lib, nt_names, nt_fns, ML_ARRAY_LEN(nt_names));
}

int ml_seal_random(void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t k = getrandom(p + got, n - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ML_EIO;
		got += (size_t)k;
	}
	return ML_OK;
}

int ml_seal_init(ml_seal_t *s)
{
	return nt_load() ? ML_EIO : ml_seal_random(s->key, sizeof s->key);
}

void ml_seal_wipe(ml_seal_t *s)
{
	explicit_bzero(s->key, sizeof s->key);
}

int ml_seal(const ml_seal_t *s, const void *ad, size_t adlen, const void *msg, size_t n,
            char *out, size_t outlen)
{
	if (n > ML_SEAL_MAX || outlen < ML_SEAL_TEXT_LEN(n) + 1)
		return ML_EINVAL;
	if (nt_load())
		return ML_EIO;
	uint8_t raw[ML_SEAL_MAX + ML_SEAL_OVERHEAD];
	uint8_t *nonce = raw, *ct = raw + CHACHA_POLY1305_NONCE_SIZE, *tag = ct + n;
	if (ml_seal_random(nonce, CHACHA_POLY1305_NONCE_SIZE))
		return ML_EIO;
	struct chacha_poly1305_ctx ctx;
	nt.set_key(&ctx, s->key);
	nt.set_nonce(&ctx, nonce);
	nt.update(&ctx, adlen, ad);
	nt.encrypt(&ctx, n, ct, msg);
	nt.digest(&ctx, CHACHA_POLY1305_DIGEST_SIZE, tag);
	explicit_bzero(&ctx, sizeof ctx);
	static const char hex[] = "0123456789abcdef";
	size_t len = n + ML_SEAL_OVERHEAD;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * len] = '\0';
	return ML_OK;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ml_seal_open(const ml_seal_t *s, const void *ad, size_t adlen, const char *text, void *msg, size_t n)
{
	memset(msg, 0, n);
	size_t len = n + ML_SEAL_OVERHEAD;
	if (n > ML_SEAL_MAX || strnlen(text, 2 * len + 1) != 2 * len)
		return ML_EINVAL;
	if (nt_load())
		return ML_EIO;
	uint8_t raw[ML_SEAL_MAX + ML_SEAL_OVERHEAD];
	for (size_t i = 0; i < len; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ML_EINVAL;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	const uint8_t *nonce = raw, *ct = raw + CHACHA_POLY1305_NONCE_SIZE, *tag = ct + n;
	uint8_t plain[ML_SEAL_MAX], want[CHACHA_POLY1305_DIGEST_SIZE];
	struct chacha_poly1305_ctx ctx;
	nt.set_key(&ctx, s->key);
	nt.set_nonce(&ctx, nonce);
	nt.update(&ctx, adlen, ad);
	nt.decrypt(&ctx, n, plain, ct);
	nt.digest(&ctx, sizeof want, want);
	explicit_bzero(&ctx, sizeof ctx);
	int ok = nt.memeql_sec(want, tag, sizeof want);
	if (ok)
		memcpy(msg, plain, n);
	explicit_bzero(plain, sizeof plain);
	return ok ? ML_OK : ML_EINVAL;
}
