/*
 * seal.h — bytes handed to a client that it must give back unchanged and
 * must not read: the page cursors of a server with users (serve.h).
 *
 * A sealed text is the lowercase hex of
 *
 *   offset  size  meaning
 *   0       12    nonce: random (getrandom(2)), new for every seal
 *   12      n     the bytes, encrypted (ChaCha20)
 *   12+n    16    the Poly1305 tag over the associated data and the bytes
 *
 * so 2 * (n + 28) hex digits: ChaCha20-Poly1305 (RFC 8439) of nettle, under
 * the key of an ml_seal_t.  The associated data (a user's name) is not in
 * the text: a text opens only with the key and the associated data it was
 * sealed with, so that a text made by another process (another key: the
 * server restarted) or given to another user opens as nothing.  Anything
 * else — a digit changed, a text cut or lengthened, upper case, not hex —
 * also opens as nothing (ML_EINVAL), in time independent of where it
 * differs.  A client learns from a text its length only.
 *
 * Key: 32 random bytes from getrandom(2), made by ml_seal_init and kept in
 * memory only.  An ml_seal_t is read-only after ml_seal_init: seal and open
 * from any thread.
 */
#ifndef ML_SEAL_H
#define ML_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define ML_SEAL_KEY_LEN 32
#define ML_SEAL_OVERHEAD 28          /* nonce and tag, in bytes */
#define ML_SEAL_MAX 1024             /* bytes sealed at most */
/* hex digits of n bytes sealed, without the NUL */
#define ML_SEAL_TEXT_LEN(n) (2 * ((n) + ML_SEAL_OVERHEAD))

typedef struct {
	uint8_t key[ML_SEAL_KEY_LEN];
} ml_seal_t;

/* n random bytes from getrandom(2) (a key, a session id).  ML_EIO when the
 * kernel gives none. */
int ml_seal_random(void *buf, size_t n);

/* A new random key.  ML_EIO when no random bytes come, or nettle cannot
 * be loaded (said on stderr). */
int ml_seal_init(ml_seal_t *s);
void ml_seal_wipe(ml_seal_t *s);

/* Seal n bytes (at most ML_SEAL_MAX) of msg with associated data ad (adlen
 * bytes, may be 0) into out: ML_SEAL_TEXT_LEN(n) hex digits and a NUL.
 * ML_EINVAL when n or outlen is out of bounds, ML_EIO when no nonce comes
 * (or nettle cannot be loaded). */
int ml_seal(const ml_seal_t *s, const void *ad, size_t adlen, const void *msg, size_t n,
            char *out, size_t outlen);

/* Open text (NUL-terminated) into msg, n bytes: ML_OK only when it is a
 * seal of exactly n bytes under s's key and this ad; else ML_EINVAL (ML_EIO
 * when nettle cannot be loaded) and msg zeroed. */
int ml_seal_open(const ml_seal_t *s, const void *ad, size_t adlen, const char *text, void *msg, size_t n);

#endif
