/*
 * Tests of tools/auth: the users file's hashes, logins answered alike, the
 * brakes on guessing (per account, per client, their waits, bounded
 * tables), and sessions (a user's cap evicts only that user's own).
 *
 * The clock is the test's (ml_auth_set_clock), so that the waits are
 * checked as counts of seconds, never slept.  The users' hashes are SHA-512
 * crypt, cheap enough for a few hundred logins.
 */
#include "testlib.h"

#include <crypt.h>

#include "tools/auth.h"

static char dir[4096], users[4200];
static time_t fake_now = 1800000000;

static time_t fake_clock(void)
{
	return fake_now;
}

static void sha512(const char *pw, char *out, size_t len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	memset(&cd, 0, sizeof cd);
	if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof salt))
		fail_msg("crypt_gensalt");
	const char *h = crypt_r(pw, salt, &cd);
	if (!h || h[0] == '*')
		fail_msg("crypt");
	snprintf(out, len, "%s", h);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s", tl_tmpdir());
	snprintf(users, sizeof users, "%s/users", dir);
	char h1[256], h2[256], h3[256], text[2048];
	sha512("alice-pw", h1, sizeof h1);
	sha512("bob-pw", h2, sizeof h2);
	sha512("mute-pw", h3, sizeof h3);
	snprintf(text, sizeof text, "alice:%s:admin:\nbob:%s:user:bob@example.com\nmute:%s:silent:mute@example.com\n",
	         h1, h2, h3);
	tl_write_file(users, text, strlen(text));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_rmdir(dir);
	return 0;
}

static ml_auth_t *open_auth(void)
{
	ml_auth_t *a;
	char err[512];
	if (ml_auth_open(&a, users, err, sizeof err))
		fail_msg("open: %s", err);
	ml_auth_set_clock(a, fake_clock);
	return a;
}

static int try(ml_auth_t *a, const char *name, const char *pw, const char *client, unsigned *wait)
{
	char id[AUTH_SESSION_ID_LEN + 1];
	const ml_user_t *u;
	unsigned w = 0;
	int rc = ml_auth_login(a, name, pw, strlen(pw), client, id, &u, &w);
	if (wait)
		*wait = w;
	return rc;
}

/* Wrong password, unknown name and silent account: one answer; a NUL in
 * the password is refused before any check. */
static void answers_alike(void **state)
{
	(void)state;
	ml_auth_t *a = open_auth();
	assert_int_equal(try(a, "bob", "bob-pw", "192.0.2.1", NULL), ML_OK);
	assert_int_equal(try(a, "bob", "wrong", "192.0.2.2", NULL), ML_EPERM);
	assert_int_equal(try(a, "nobody", "bob-pw", "192.0.2.3", NULL), ML_EPERM);
	assert_int_equal(try(a, "mute", "mute-pw", "192.0.2.4", NULL), ML_EPERM);
	assert_int_equal(try(a, "mute", "wrong", "192.0.2.5", NULL), ML_EPERM);
	char id[AUTH_SESSION_ID_LEN + 1];
	const ml_user_t *u;
	unsigned w;
	assert_int_equal(ml_auth_login(a, "bob", "bob-pw\0x", 8, "192.0.2.6", id, &u, &w), ML_EINVAL);
	assert_int_equal(ml_auth_login(a, "bob", "bob-pw", 6, "192.0.2.6", id, &u, &w), ML_OK);
	assert_string_equal(u->name, "bob");
	assert_ptr_equal(ml_auth_session(a, id), u);
	ml_auth_logout(a, id);
	assert_null(ml_auth_session(a, id));
	ml_auth_free(a);
}

/* An account that fails waits 1, 2, 4 ... s from its AUTH_FREE_FAILS-th
 * failure on, whatever the client; an early try is not checked (even with
 * the right password); a success clears the count. */
static void account_brake(void **state)
{
	(void)state;
	ml_auth_t *a = open_auth();
	char client[32];
	unsigned w;
	for (int i = 0; i < AUTH_FREE_FAILS; i++) {
		snprintf(client, sizeof client, "198.51.100.%d", i + 1);
		assert_int_equal(try(a, "bob", "guess", client, &w), ML_EPERM);
	}
	for (unsigned want = 1; want <= 8; want *= 2) {
		assert_int_equal(try(a, "bob", "bob-pw", "203.0.113.9", &w), ML_EAGAIN);
		assert_int_equal(w, want);
		fake_now += want;
		assert_int_equal(try(a, "bob", "guess", "203.0.113.9", &w), ML_EPERM);
	}
	/* the wait has a ceiling */
	for (int i = 0; i < 20; i++) {
		fake_now += AUTH_MAX_WAIT;
		assert_int_equal(try(a, "bob", "guess", "203.0.113.10", &w), ML_EPERM);
	}
	assert_int_equal(try(a, "bob", "bob-pw", "203.0.113.9", &w), ML_EAGAIN);
	assert_int_equal(w, AUTH_MAX_WAIT);
	/* other accounts are not held */
	assert_int_equal(try(a, "alice", "alice-pw", "203.0.113.11", &w), ML_OK);
	/* after the wait, the right password; then the count starts again */
	fake_now += AUTH_MAX_WAIT;
	assert_int_equal(try(a, "bob", "bob-pw", "203.0.113.9", &w), ML_OK);
	assert_int_equal(try(a, "bob", "guess", "203.0.113.9", &w), ML_EPERM);
	assert_int_equal(try(a, "bob", "bob-pw", "203.0.113.9", &w), ML_OK);
	/* unknown names are held the same way */
	for (int i = 0; i < AUTH_FREE_FAILS; i++) {
		snprintf(client, sizeof client, "198.51.101.%d", i + 1);
		assert_int_equal(try(a, "nobody", "x", client, &w), ML_EPERM);
	}
	assert_int_equal(try(a, "nobody", "x", "198.51.102.1", &w), ML_EAGAIN);
	ml_auth_free(a);
}

/* A client that fails on many names waits; other clients do not; a client
 * given as "" (loopback) is held by the accounts' brake alone; thousands
 * of clients fit in the bounded tables. */
static void client_brake(void **state)
{
	(void)state;
	ml_auth_t *a = open_auth();
	fake_now += 100000;
	unsigned w;
	char name[32];
	for (int i = 0; i < AUTH_FREE_FAILS; i++) {
		snprintf(name, sizeof name, "user%d", i);
		assert_int_equal(try(a, name, "x", "192.0.2.77", &w), ML_EPERM);
	}
	assert_int_equal(try(a, "alice", "alice-pw", "192.0.2.77", &w), ML_EAGAIN);
	assert_int_equal(w, 1);
	assert_int_equal(try(a, "alice", "alice-pw", "192.0.2.78", &w), ML_OK);
	for (int i = 0; i < 3 * AUTH_FREE_FAILS; i++) {
		snprintf(name, sizeof name, "other%d", i);
		assert_int_equal(try(a, name, "x", "", &w), ML_EPERM);
	}
	assert_int_equal(try(a, "alice", "alice-pw", "", &w), ML_OK);
	/* more clients than the table holds: the oldest are forgotten */
	char client[48];
	for (int i = 0; i < AUTH_SLOTS + 64; i++) {
		snprintf(client, sizeof client, "2001:db8::%x", i);
		snprintf(name, sizeof name, "n%d", i);
		assert_int_equal(try(a, name, "x", client, &w), ML_EPERM);
	}
	ml_auth_free(a);
}

/* One user's many logins end that user's own oldest sessions only. */
static void session_cap(void **state)
{
	(void)state;
	ml_auth_t *a = open_auth();
	fake_now += 200000;
	char alice[AUTH_SESSION_ID_LEN + 1], first[AUTH_SESSION_ID_LEN + 1], last[AUTH_SESSION_ID_LEN + 1];
	const ml_user_t *u, *bob = NULL;
	unsigned w;
	assert_int_equal(ml_auth_login(a, "alice", "alice-pw", 8, "192.0.2.1", alice, &u, &w), ML_OK);
	for (int i = 0; i < AUTH_USER_SESSIONS + 40; i++) {
		char *id = i == 0 ? first : last;
		assert_int_equal(ml_auth_login(a, "bob", "bob-pw", 6, "192.0.2.2", id, &bob, &w), ML_OK);
	}
	assert_non_null(ml_auth_session(a, alice));
	assert_null(ml_auth_session(a, first));
	assert_ptr_equal(ml_auth_session(a, last), bob);
	assert_int_equal(ml_auth_sessions(a, bob), AUTH_USER_SESSIONS);
	assert_int_equal(ml_auth_sessions(a, NULL), AUTH_USER_SESSIONS + 1);
	/* sessions end after their time */
	fake_now += AUTH_SESSION_TTL;
	assert_null(ml_auth_session(a, alice));
	assert_null(ml_auth_session(a, last));
	ml_auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_alike),
		cmocka_unit_test(account_brake),
		cmocka_unit_test(client_brake),
		cmocka_unit_test(session_cap),
	};
	return TL_RUN_DEFAULT("auth", tests, setup, teardown);
}
