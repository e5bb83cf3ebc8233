/*
 * tools/histogram.c: the bucket length for the span of the rows counted
 * (hours up to 199 of them, then days, then several days: at most 200
 * buckets), and the buckets gathered from hours.
 */
#include "testlib.h"

#include <jansson.h>
#include <stdlib.h>

#include "tools/histogram.h"

/* A count of nhours hours ending at hour `newest`, one delivered row in
 * each and a bounced one in the newest. */
static void make(ml_hist_t *h, uint64_t newest, uint64_t nhours)
{
	memset(h, 0, sizeof *h);
	h->newest_hour = newest;
	h->nhours = nhours;
	h->cap = nhours;
	h->hours = calloc(nhours, sizeof *h->hours);
	for (uint64_t i = 0; i < nhours; i++)
		h->hours[i][ML_ST_DELIVERED] = 1;
	h->hours[0][ML_ST_BOUNCED] = 1;
	h->total = nhours + 1;
	h->complete = 1;
}

static void buckets(void **state)
{
	(void)state;
	static const struct { uint64_t nhours, seconds; } cases[] = {
		{ 1, 3600 }, { 199, 3600 }, { 200, 86400 }, { 24 * 199, 86400 },
		{ 24 * 199 + 1, 2 * 86400 }, { 24 * 366, 2 * 86400 }, { 24 * 3660, 19 * 86400 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(cases); i++) {
		ml_hist_t h;
		/* the newest hour: 2026-11-02 05:00 UTC */
		uint64_t newest = 1793595600 / 3600;
		make(&h, newest, cases[i].nhours);
		assert_int_equal(ml_hist_bucket_seconds(&h), cases[i].seconds);
		json_t *j = ml_hist_json(&h);
		json_t *b = json_object_get(j, "buckets");
		assert_true(json_array_size(b) <= ML_HIST_MAX_BUCKETS + 1);
		/* every row in a bucket, the buckets in order, aligned */
		size_t k;
		json_t *v;
		uint64_t sum = 0;
		json_array_foreach(b, k, v) {
			const char *st;
			json_t *n;
			json_object_foreach(json_object_get(v, "counts"), st, n)
				sum += (uint64_t)json_integer_value(n);
		}
		assert_int_equal(sum, h.total);
		assert_int_equal(json_integer_value(json_object_get(j, "total")), h.total);
		assert_null(json_object_get(j, "complete"));
		const char *last = json_string_value(json_object_get(json_array_get(b, json_array_size(b) - 1), "start"));
		if (cases[i].seconds == 3600)
			assert_string_equal(last, "2026-11-02T05:00:00Z");
		else if (cases[i].seconds == 86400)
			assert_string_equal(last, "2026-11-02T00:00:00Z");
		json_t *lastc = json_object_get(json_array_get(b, json_array_size(b) - 1), "counts");
		assert_int_equal(json_integer_value(json_object_get(lastc, "bounced")), 1);
		json_decref(j);
		h.complete = 0;
		h.stopped = ML_SEARCH_DEADLINE;
		j = ml_hist_json(&h);
		assert_true(json_is_false(json_object_get(j, "complete")));
		assert_string_equal(json_string_value(json_object_get(j, "stopped")), "deadline");
		json_decref(j);
		ml_hist_free(&h);
	}
	/* nothing counted: no bucket */
	ml_hist_t h;
	memset(&h, 0, sizeof h);
	h.complete = 1;
	json_t *j = ml_hist_json(&h);
	assert_int_equal(json_array_size(json_object_get(j, "buckets")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets),
	};
	return TL_RUN_DEFAULT("histogram", tests, NULL, NULL);
}
