/*
 * auth.h — who may use `mtalog serve`: the users file, passwords, sessions,
 * and the brakes on guessing.
 *
 * Users (--users FILE).  One user a line, NAME:HASH:ROLE:ADDRESSES; '#'
 * lines and blank lines are skipped.  HASH is crypt(3) output of libcrypt,
 * yescrypt ("$y$") or SHA-512 ("$6$") only, well formed (the file is
 * refused at start, with its line, for any other: MD5 "$1$" and DES fall to
 * a GPU in hours); ml_auth_hash_password makes one.  ROLE is admin (every
 * row), user (the rows whose from, to or orig_to matches one of ADDRESSES,
 * comma-separated name@domain or @domain, any case) or silent (no login).
 * The file is read once, at start; the users are then read-only.
 *
 * Login (ml_auth_login) answers a wrong name, a wrong password and a silent
 * account alike, with the same work: an unknown name is checked against a
 * hash of the same method and cost as the first user's.  A password with a
 * NUL byte is refused before any check.
 *
 * Brakes: failed logins are counted per account (by name, known or not)
 * and per client address, in two fixed tables of AUTH_SLOTS entries each
 * (bounded memory: a full table forgets its oldest entry).  From the
 * AUTH_FREE_FAILS-th failure on, the account (or the client) must wait
 * before its next try: 1 s, doubling with each failure, at most
 * AUTH_MAX_WAIT s; a try that comes early is refused without checking the
 * password (ML_EAGAIN, with the seconds to wait), so that guessing costs
 * the server nothing and the guesser time.  A success clears the account's
 * count and the client's.
 *
 * Sessions: an in-memory table (at most AUTH_SESSIONS, 12 hours each, lost
 * on stop) of random IDs from getrandom(2), 64 hex digits.  One user holds
 * at most AUTH_USER_SESSIONS: a login past that ends the user's own oldest
 * session, never another user's; when the table is full, the expired go
 * first, then the oldest session of the user who holds the most.
 *
 * Threads: every function may be called from any thread; the tables have
 * one lock each.  Users handed out stay valid until ml_auth_free.
 */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#define AUTH_SESSIONS 4096
#define AUTH_USER_SESSIONS 32
#define AUTH_SESSION_TTL (12 * 3600)
#define AUTH_SESSION_ID_LEN 64      /* hex digits */
#define AUTH_SLOTS 1024
#define AUTH_FREE_FAILS 5
#define AUTH_MAX_WAIT 300

typedef enum { ML_ROLE_ADMIN, ML_ROLE_USER, ML_ROLE_SILENT } ml_role_t;

typedef struct {
	char *name, *hash;
	ml_role_t role;
	char **addrs;           /* "bob@example.com" or "@example.com" */
	size_t naddrs;
} ml_user_t;

typedef struct ml_auth ml_auth_t;

/* Read the users file.  ML_EINVAL with "FILE:LINE: why" in err on the first
 * bad line; ML_EIO when it cannot be read. */
int ml_auth_open(ml_auth_t **out, const char *users_path, char *err, size_t errlen);
void ml_auth_free(ml_auth_t *a);

/* A login by name and password (pwlen bytes: a NUL among them is refused)
 * from client (its address as text; "" when unknown).  ML_OK with the
 * session id (AUTH_SESSION_ID_LEN + 1 bytes) and *user; ML_EPERM for a
 * wrong name, a wrong password or a silent account, alike; ML_EAGAIN when
 * the account or the client must wait *wait_s seconds first; ML_EINVAL for
 * a NUL in the password. */
int ml_auth_login(ml_auth_t *a, const char *name, const char *pw, size_t pwlen, const char *client,
                  char *id, const ml_user_t **user, unsigned *wait_s);
/* The user of a live session, or NULL. */
const ml_user_t *ml_auth_session(ml_auth_t *a, const char *id);
void ml_auth_logout(ml_auth_t *a, const char *id);

/* Sessions alive now (for tests and stats). */
size_t ml_auth_sessions(ml_auth_t *a, const ml_user_t *of);

/* Hash a password for a users file: yescrypt with a random salt, else
 * SHA-512.  ML_EIO with err on failure. */
int ml_auth_hash_password(const char *password, char *out, size_t len, char *err, size_t errlen);
/* `serve --hash-password`: a password from in (no echo on a terminal), its
 * hash to out.  The exit status. */
int ml_auth_hash_password_main(FILE *in, FILE *out);

/* Set the clock auth reads (tests of the waits); NULL: time(2). */
void ml_auth_set_clock(ml_auth_t *a, time_t (*now)(void));

#endif
