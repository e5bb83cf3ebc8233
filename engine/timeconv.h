/*
 * timeconv.h — calendar arithmetic and wall-clock conversion for the
 * timestamp readers (engine/syslog.c, engine/exim.c) and the time helpers of
 * output and --since/--until.
 *
 * UTC dates are converted with integer arithmetic on the proleptic Gregorian
 * calendar (H. Hinnant's days-from-civil), no libc.  Local time (the TZ of
 * the process) goes through mktime(3), which is slow: a reader converts one
 * wall-clock hour once and keeps it in an ml_hourcache_t (one per stream of
 * lines: the hour of the previous line is the likely one of the next).  A
 * local time that does not exist or is ambiguous (a DST change) is what
 * mktime makes of it with tm_isdst = -1; minutes and seconds are added to
 * the UTC second of the hour's start.
 */
#ifndef ML_TIMECONV_H
#define ML_TIMECONV_H

#include <stdint.h>

/* Days since 1970-01-01 of year y, month m (1-12), day d. */
int64_t ml_days_from_civil(int64_t y, int m, int d);
/* The date of day z since 1970-01-01. */
void ml_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
int ml_is_leap(int64_t y);
int ml_days_in_month(int64_t y, int m);

/* Seconds since the epoch of a UTC wall clock. */
static inline int64_t ml_utc_seconds(int64_t y, int mon, int day, int hour, int min, int sec)
{
	return ml_days_from_civil(y, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
}

/* Seconds since the epoch of a local wall clock (mktime). */
int64_t ml_local_seconds(int64_t y, int mon, int day, int hour, int min, int sec);

/* The last local hour converted: key (-1: none) and the UTC second of its
 * hh:00:00.  Owned by the reader that converts through it. */
typedef struct {
	int64_t key;
	int64_t base;
} ml_hourcache_t;

static inline void ml_hourcache_init(ml_hourcache_t *c)
{
	c->key = -1;
	c->base = 0;
}

/* ml_local_seconds, one mktime per hour of input. */
static inline int64_t ml_local_seconds_cached(ml_hourcache_t *c, int64_t y, int mon, int day, int hour,
                                              int min, int sec)
{
	int64_t key = ((y * 16 + mon) * 32 + day) * 32 + hour;
	if (key != c->key) {
		c->base = ml_local_seconds(y, mon, day, hour, 0, 0);
		c->key = key;
	}
	return c->base + min * 60 + sec;
}

#endif
