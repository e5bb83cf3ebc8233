/* Unit tests for tools/cluster: the options of the stream and the NATS
 * connection, and a host as a subject token.  (The cluster itself runs in
 * tests/cluster/run.sh, `make test-cluster`, against NATS servers.) */
#include "testlib.h"

#include "tools/cluster.h"

/* Take argv as ml_cluster_opt would from a command line. */
static int take(ml_cluster_opts_t *o, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		int r = ml_cluster_opt(o, "test", argc, argv, &i);
		if (r != 1)
			return r;
	}
	return 1;
}

static void options(void **state)
{
	(void)state;
	ml_cluster_opts_t o;
	ml_cluster_opts_init(&o);
	assert_string_equal(o.stream, ML_CLUSTER_STREAM);
	assert_int_equal(o.replicas, 1);
	assert_int_equal(o.dup_window_s, 120);
	char *good[] = { "--nats", "nats://a:4222,nats://b:4222", "--replicas", "3", "--retention-age", "30d",
	                 "--retention-bytes=500G", "--dup-window", "5m", "--stream", "LOGS" };
	assert_int_equal(take(&o, (int)ML_ARRAY_LEN(good), good), 1);
	assert_string_equal(o.url, "nats://a:4222,nats://b:4222");
	assert_int_equal(o.replicas, 3);
	assert_true(o.max_age_s == 30 * 86400);
	assert_true(o.max_bytes == (int64_t)500 << 30);
	assert_true(o.dup_window_s == 300);
	assert_string_equal(o.stream, "LOGS");
	/* not ours: left for the command */
	char *other[] = { "--host", "mx1" };
	int i = 0;
	assert_int_equal(ml_cluster_opt(&o, "test", 2, other, &i), 0);
	assert_int_equal(i, 0);
	/* bad values: -1 (the message goes to stderr), nothing changed */
	char *bad[][2] = { { "--replicas", "0" }, { "--replicas", "6" }, { "--retention-age", "3x" },
	                   { "--retention-age", "-1d" }, { "--retention-bytes", "10Q" }, { "--dup-window", "" },
	                   { "--retention-bytes", "99999999999T" } };
	for (size_t k = 0; k < ML_ARRAY_LEN(bad); k++) {
		i = 0;
		assert_int_equal(ml_cluster_opt(&o, "test", 2, bad[k], &i), -1);
	}
	assert_int_equal(o.replicas, 3);
	assert_true(o.max_age_s == 30 * 86400);
	/* an option without its value */
	char *alone[] = { "--nats" };
	i = 0;
	assert_int_equal(ml_cluster_opt(&o, "test", 1, alone, &i), -1);
}

static void host_token(void **state)
{
	(void)state;
	char t[16];
	ml_cluster_host_token("mx1.example.com", t, sizeof t);
	assert_string_equal(t, "mx1_example_com");
	ml_cluster_host_token("a*b>c d\te", t, sizeof t);
	assert_string_equal(t, "a_b_c_d_e");
	ml_cluster_host_token("", t, sizeof t);
	assert_string_equal(t, "_");
	/* cut to the buffer, always terminated */
	ml_cluster_host_token("a-very-long-host-name", t, 8);
	assert_string_equal(t, "a-very-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options),
		cmocka_unit_test(host_token),
	};
	return TL_RUN_DEFAULT("cluster", tests, NULL, NULL);
}
