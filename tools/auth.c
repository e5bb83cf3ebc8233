/*
 * auth.c — users, passwords, sessions and the brakes on guessing (see
 * auth.h).
 */
#include "auth.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/util.h"
#include "engine/dynlib.h"
#include "tools/seal.h"

typedef struct {
	char id[AUTH_SESSION_ID_LEN + 1];
	const ml_user_t *user;
	time_t expires;
} session_t;

/* Failed logins of one account or one client. */
typedef struct {
	uint64_t key;           /* XXH3 of the name or the address; 0: free */
	unsigned fails;
	time_t last;            /* the last failure */
} fails_t;

struct ml_auth {
	ml_user_t *users;
	size_t nusers;
	time_t (*now)(void);
	pthread_mutex_t session_lock;
	session_t *sessions;    /* oldest first */
	size_t nsessions;
	pthread_mutex_t fail_lock;
	fails_t accounts[AUTH_SLOTS], clients[AUTH_SLOTS];
};

static time_t clock_now(ml_auth_t *a)
{
	return a->now ? a->now() : time(NULL);
}

/* ---- passwords (libcrypt) ---- */

/* libcrypt is loaded by the commands that need it (engine/dynlib.h): serve
 * with --users and --hash-password, not every command's start. */
#ifndef ML_CRYPT_SONAME
#define ML_CRYPT_SONAME "libcrypt.so.1"
#define ML_CRYPT_PACKAGE "libcrypt1"   /* Debian's package of that soname */
#endif

static struct {
	__typeof__(crypt_r) *crypt_r;
	__typeof__(crypt_gensalt_rn) *crypt_gensalt_rn;
	__typeof__(crypt_checksalt) *crypt_checksalt;
} lc;
static const char *const lc_names[] = { "crypt_r", "crypt_gensalt_rn", "crypt_checksalt" };
static void **const lc_fns[] = { ML_DYNLIB_SLOT(lc.crypt_r), ML_DYNLIB_SLOT(lc.crypt_gensalt_rn),
	                         ML_DYNLIB_SLOT(lc.crypt_checksalt) };
_Static_assert(ML_ARRAY_LEN(lc_names) == ML_ARRAY_LEN(lc_fns), "a slot a name");

/* libcrypt loaded: ML_OK, else ML_EIO (said on stderr, once) */
static int lc_load(void)
{
	static ml_dynlib_once_t once;
	static const ml_dynlib_t lib = { ML_CRYPT_SONAME, ML_CRYPT_PACKAGE, "mtalog serve" };
	return ml_dynlib_need(&once, &lib, lc_names, lc_fns, ML_ARRAY_LEN(lc_names));
}

/* Constant time over the length of a. */
static int same_str(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned char d = n != m;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ (i < m ? b[i] : 0));
	return d == 0;
}

static int password_check(const char *hash, const char *password)
{
	struct crypt_data *cd = lc_load() ? NULL : calloc(1, sizeof *cd);
	if (!cd)
		return 0;
	const char *h = lc.crypt_r(password, hash, cd);
	int ok = h && h[0] != '*' && same_str(h, hash);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

int ml_auth_hash_password(const char *password, char *out, size_t len, char *err, size_t errlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (lc_load()) {
		snprintf(err, errlen, "cannot load %s", ML_CRYPT_SONAME);
		return ML_EIO;
	}
	/* yescrypt at its default cost; SHA-512 where libcrypt lacks it */
	if (!lc.crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt) &&
	    !lc.crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof salt)) {
		snprintf(err, errlen, "cannot make a salt: %s", strerror(errno));
		return ML_EIO;
	}
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd) {
		snprintf(err, errlen, "out of memory");
		return ML_ENOMEM;
	}
	const char *h = lc.crypt_r(password, salt, cd);
	int rc = ML_OK;
	if (!h || h[0] == '*' || strlen(h) >= len) {
		snprintf(err, errlen, "cannot hash the password: %s", strerror(errno));
		rc = ML_EIO;
	} else {
		snprintf(out, len, "%s", h);
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return rc;
}

int ml_auth_hash_password_main(FILE *in, FILE *out)
{
	struct termios old, quiet;
	int tty = isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
	if (tty) {
		fputs("password: ", stderr);
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fileno(in), TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, in);
	if (tty) {
		tcsetattr(fileno(in), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	int rc = 1;
	char hash[CRYPT_OUTPUT_SIZE], err[256];
	if (n <= 0)
		fprintf(stderr, "mtalog serve: --hash-password: no password on standard input\n");
	else if (ml_auth_hash_password(line, hash, sizeof hash, err, sizeof err))
		fprintf(stderr, "mtalog serve: --hash-password: %s\n", err);
	else {
		fprintf(out, "%s\n", hash);
		rc = 0;
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	return rc;
}


/* Why a users file's hash is refused, or NULL: yescrypt and SHA-512 crypt
 * only, and whole (libcrypt makes a hash of the same shape from it). */
static const char *hash_refused(const char *h)
{
	if (strncmp(h, "$y$", 3) && strncmp(h, "$6$", 3))
		return "the hash is not yescrypt ($y$) or SHA-512 ($6$); make one with `mtalog serve --hash-password`";
	if (lc.crypt_checksalt(h) != CRYPT_SALT_OK)
		return "the hash is malformed or too cheap; make one with `mtalog serve --hash-password`";
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (!cd)
		return "out of memory";
	const char *again = lc.crypt_r("", h, cd);
	/* the same setting (all before the last '$') and the same length */
	const char *dollar = strrchr(h, '$');
	int ok = again && again[0] != '*' && strlen(again) == strlen(h) && dollar &&
	         strncmp(again, h, (size_t)(dollar - h + 1)) == 0;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok ? NULL : "the hash is malformed (cut or altered?); make one with `mtalog serve --hash-password`";
}

/* ---- users ---- */

static void users_free(ml_user_t *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].hash);
		for (size_t k = 0; k < u[i].naddrs; k++)
			free(u[i].addrs[k]);
		free(u[i].addrs);
	}
	free(u);
}

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._@+-", s[i]))
			return 0;
	return 1;
}

/* An address of a users file: local@domain or @domain, no blanks, no '*'. */
static int addr_ok(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || strchr(at + 1, '@') || !at[1] || strlen(s) > 255)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("*<>\",;", *p))
			return 0;
	return 1;
}

/* Read the users file (format in serve.h).  ML_EINVAL with "FILE:LINE: why"
 * in err on the first bad line. */
static int users_load(const char *path, ml_user_t **out, size_t *nout, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "--users %s: %s", path, strerror(errno));
		return ML_EIO;
	}
	ml_user_t *u = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	int rc = ML_OK;
	while ((len = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		const char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		char *field[4];
		char *p = line;
		int nf = 0;
		for (; nf < 4; nf++) {
			field[nf] = p;
			char *colon = nf < 3 ? strchr(p, ':') : NULL;
			if (!colon)
				break;
			*colon = '\0';
			p = colon + 1;
		}
		const char *why = NULL;
		if (nf < 3)
			why = "want NAME:HASH:ROLE:ADDRESSES";
		else if (!name_ok(field[0], strlen(field[0])))
			why = "a name is 1 to 64 letters, digits and . _ @ + -";
		else if ((why = hash_refused(field[1])) != NULL)
			;
		else if (strcmp(field[2], "admin") && strcmp(field[2], "user") && strcmp(field[2], "silent"))
			why = "the role is admin, user or silent";
		for (size_t i = 0; !why && i < n; i++)
			if (!strcmp(u[i].name, field[0]))
				why = "this name is given twice";
		if (why) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
			rc = ML_EINVAL;
			goto fail;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			ml_user_t *nu = realloc(u, nc * sizeof *nu);
			if (!nu) {
				rc = ML_ENOMEM;
				goto fail;
			}
			u = nu;
			cap = nc;
		}
		ml_user_t *x = &u[n++];
		memset(x, 0, sizeof *x);
		x->name = strdup(field[0]);
		x->hash = strdup(field[1]);
		x->role = !strcmp(field[2], "admin") ? ML_ROLE_ADMIN : !strcmp(field[2], "user") ? ML_ROLE_USER : ML_ROLE_SILENT;
		if (!x->name || !x->hash) {
			rc = ML_ENOMEM;
			goto fail;
		}
		char *save = NULL;
		for (char *a = strtok_r(field[3], ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			while (*a == ' ' || *a == '\t')
				a++;
			size_t al = strlen(a);
			while (al && (a[al - 1] == ' ' || a[al - 1] == '\t'))
				a[--al] = '\0';
			if (!al)
				continue;
			if (!addr_ok(a)) {
				snprintf(err, errlen, "%s:%zu: '%.100s' is not an address (name@domain) or @domain",
				         path, lineno, a);
				rc = ML_EINVAL;
				goto fail;
			}
			char **na = realloc(x->addrs, (x->naddrs + 1) * sizeof *na);
			if (!na || !(na[x->naddrs] = strdup(a))) {
				if (na)
					x->addrs = na;
				rc = ML_ENOMEM;
				goto fail;
			}
			x->addrs = na;
			x->naddrs++;
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "--users %s: no users in the file", path);
		rc = ML_EINVAL;
		goto fail;
	}
	free(line);
	fclose(f);
	*out = u;
	*nout = n;
	return ML_OK;
fail:
	if (rc == ML_ENOMEM)
		snprintf(err, errlen, "--users %s: out of memory", path);
	free(line);
	fclose(f);
	users_free(u, n);
	return rc;
}


int ml_auth_open(ml_auth_t **out, const char *users_path, char *err, size_t errlen)
{
	ml_auth_t *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return ML_ENOMEM;
	}
	int rc = lc_load();
	if (rc)
		snprintf(err, errlen, "cannot load %s (the users' passwords)", ML_CRYPT_SONAME);
	else
		rc = users_load(users_path, &a->users, &a->nusers, err, errlen);
	if (!rc && !(a->sessions = calloc(AUTH_SESSIONS, sizeof *a->sessions))) {
		snprintf(err, errlen, "out of memory");
		rc = ML_ENOMEM;
	}
	if (rc) {
		users_free(a->users, a->nusers);
		free(a);
		return rc;
	}
	pthread_mutex_init(&a->session_lock, NULL);
	pthread_mutex_init(&a->fail_lock, NULL);
	*out = a;
	return ML_OK;
}

void ml_auth_free(ml_auth_t *a)
{
	if (!a)
		return;
	users_free(a->users, a->nusers);
	explicit_bzero(a->sessions, AUTH_SESSIONS * sizeof *a->sessions);
	free(a->sessions);
	pthread_mutex_destroy(&a->session_lock);
	pthread_mutex_destroy(&a->fail_lock);
	free(a);
}

void ml_auth_set_clock(ml_auth_t *a, time_t (*now)(void))
{
	a->now = now;
}

/* ---- the brakes ---- */

#define FAILS_FORGET 3600   /* a count with no failure for this long starts again */

/* The entry of key in t: found, else a free one, else the oldest (forgotten). */
static fails_t *fails_slot(fails_t *t, uint64_t key)
{
	fails_t *oldest = &t[0];
	for (size_t i = 0; i < AUTH_SLOTS; i++) {
		if (t[i].key == key)
			return &t[i];
		if (t[i].key == 0 || t[i].last < oldest->last)
			oldest = &t[i];
		if (t[i].key == 0)
			break;
	}
	memset(oldest, 0, sizeof *oldest);
	oldest->key = key;
	return oldest;
}

static uint64_t fails_key(const char *s)
{
	uint64_t k = XXH3_64bits(s, strlen(s));
	return k ? k : 1;
}

/* Seconds before the next try of this entry may be checked; 0: now. */
static unsigned fails_wait(const fails_t *f, time_t now)
{
	if (f->fails < AUTH_FREE_FAILS || now - f->last >= FAILS_FORGET)
		return 0;
	unsigned shift = f->fails - AUTH_FREE_FAILS;
	time_t wait = shift >= 9 ? AUTH_MAX_WAIT : ML_MIN((time_t)1 << shift, (time_t)AUTH_MAX_WAIT);
	return f->last + wait > now ? (unsigned)(f->last + wait - now) : 0;
}

static void fails_add(fails_t *f, time_t now)
{
	if (now - f->last >= FAILS_FORGET)
		f->fails = 0;
	f->fails++;
	f->last = now;
}

/* ---- sessions ---- */

/* Drop session i, keeping the order. */
static void session_drop(ml_auth_t *a, size_t i)
{
	memmove(&a->sessions[i], &a->sessions[i + 1], (a->nsessions - i - 1) * sizeof *a->sessions);
	a->nsessions--;
	explicit_bzero(&a->sessions[a->nsessions], sizeof *a->sessions);
}

/* The oldest session of u (or of the user with the most, when u is NULL). */
static size_t session_oldest_of(ml_auth_t *a, const ml_user_t *u)
{
	if (!u) {
		size_t best = 0, most = 0;
		for (size_t i = 0; i < a->nsessions; i++) {
			size_t n = 0;
			for (size_t k = 0; k < a->nsessions; k++)
				n += a->sessions[k].user == a->sessions[i].user;
			if (n > most) {
				most = n;
				best = i;
			}
		}
		u = a->sessions[best].user;
	}
	for (size_t i = 0; i < a->nsessions; i++)
		if (a->sessions[i].user == u)
			return i;
	return 0;
}

static int session_new(ml_auth_t *a, const ml_user_t *u, char *id)
{
	unsigned char rnd[AUTH_SESSION_ID_LEN / 2];
	if (ml_seal_random(rnd, sizeof rnd))
		return ML_EIO;
	static const char hex[] = "0123456789abcdef";
	session_t s;
	for (size_t i = 0; i < sizeof rnd; i++) {
		s.id[2 * i] = hex[rnd[i] >> 4];
		s.id[2 * i + 1] = hex[rnd[i] & 15];
	}
	s.id[AUTH_SESSION_ID_LEN] = '\0';
	explicit_bzero(rnd, sizeof rnd);
	s.user = u;
	time_t now = clock_now(a);
	s.expires = now + AUTH_SESSION_TTL;
	pthread_mutex_lock(&a->session_lock);
	size_t k = 0, mine = 0;
	for (size_t i = 0; i < a->nsessions; i++)
		if (a->sessions[i].expires > now)
			a->sessions[k++] = a->sessions[i];
	a->nsessions = k;
	for (size_t i = 0; i < a->nsessions; i++)
		mine += a->sessions[i].user == u;
	/* the user's own oldest first; a full table, the oldest of whoever
	 * holds the most */
	if (mine >= AUTH_USER_SESSIONS)
		session_drop(a, session_oldest_of(a, u));
	else if (a->nsessions == AUTH_SESSIONS)
		session_drop(a, session_oldest_of(a, NULL));
	a->sessions[a->nsessions++] = s;
	pthread_mutex_unlock(&a->session_lock);
	memcpy(id, s.id, sizeof s.id);
	explicit_bzero(&s, sizeof s);
	return ML_OK;
}

const ml_user_t *ml_auth_session(ml_auth_t *a, const char *id)
{
	if (!a || !id || strlen(id) != AUTH_SESSION_ID_LEN)
		return NULL;
	const ml_user_t *u = NULL;
	time_t now = clock_now(a);
	pthread_mutex_lock(&a->session_lock);
	for (size_t i = 0; i < a->nsessions; i++)
		if (same_str(a->sessions[i].id, id)) {
			if (a->sessions[i].expires > now)
				u = a->sessions[i].user;
			break;
		}
	pthread_mutex_unlock(&a->session_lock);
	return u;
}

void ml_auth_logout(ml_auth_t *a, const char *id)
{
	if (!a || !id)
		return;
	pthread_mutex_lock(&a->session_lock);
	for (size_t i = 0; i < a->nsessions; i++)
		if (same_str(a->sessions[i].id, id)) {
			session_drop(a, i);
			break;
		}
	pthread_mutex_unlock(&a->session_lock);
}

size_t ml_auth_sessions(ml_auth_t *a, const ml_user_t *of)
{
	size_t n = 0;
	time_t now = clock_now(a);
	pthread_mutex_lock(&a->session_lock);
	for (size_t i = 0; i < a->nsessions; i++)
		n += a->sessions[i].expires > now && (!of || a->sessions[i].user == of);
	pthread_mutex_unlock(&a->session_lock);
	return n;
}

/* ---- login ---- */

int ml_auth_login(ml_auth_t *a, const char *name, const char *pw, size_t pwlen, const char *client,
                  char *id, const ml_user_t **user, unsigned *wait_s)
{
	*user = NULL;
	*wait_s = 0;
	if (memchr(pw, '\0', pwlen))
		return ML_EINVAL;
	time_t now = clock_now(a);
	int by_client = client && *client;
	uint64_t ak = fails_key(name), ck = fails_key(by_client ? client : "");
	/* every try counts as a failure from its start, so that tries sent
	 * side by side wait too; a success clears the counts */
	pthread_mutex_lock(&a->fail_lock);
	fails_t *fa = fails_slot(a->accounts, ak);
	unsigned w = fails_wait(fa, now);
	if (!w) {
		fails_t *fc = by_client ? fails_slot(a->clients, ck) : NULL;
		w = fc ? fails_wait(fc, now) : 0;
		if (!w) {
			fails_add(fa, now);
			if (fc)
				fails_add(fc, now);
		}
	}
	pthread_mutex_unlock(&a->fail_lock);
	if (w) {
		*wait_s = w;
		return ML_EAGAIN;
	}
	const ml_user_t *u = NULL;
	for (size_t i = 0; i < a->nusers && !u; i++)
		if (!strcmp(a->users[i].name, name))
			u = &a->users[i];
	/* an unknown name costs what the first user's password costs (the
	 * same method, cost and salt); a silent account is a wrong password */
	int ok = password_check(u ? u->hash : a->users[0].hash, pw) && u && u->role != ML_ROLE_SILENT;
	if (!ok)
		return ML_EPERM;
	pthread_mutex_lock(&a->fail_lock);
	fails_slot(a->accounts, ak)->fails = 0;
	if (by_client)
		fails_slot(a->clients, ck)->fails = 0;
	pthread_mutex_unlock(&a->fail_lock);
	int rc = session_new(a, u, id);
	if (!rc)
		*user = u;
	return rc;
}
