/*
 * syslog.c — the header of a log line (see syslog.h), and the time helpers
 * for output and for --since/--until.
 *
 * Parsing walks the line once, left to right, with every access checked
 * against its end.  Calendar arithmetic and local time are engine/timeconv.h's:
 * UTC without libc, local time through mktime once per hour of input (the
 * cache in ml_syslog_ctx_t).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scan.h"
#include "syslog.h"
#include "timeconv.h"

static inline int isdig(char c)
{
	return (unsigned)(c - '0') < 10;
}

/* Two digits at p (caller checked p+2 <= end); -1 if not digits. */
static inline int dig2(const char *p)
{
	if (!isdig(p[0]) || !isdig(p[1]))
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Month from a three-letter English abbreviation, any case; 0 if none. */
static int month_of(const char *p)
{
	unsigned k = (unsigned)(p[0] | 0x20) << 16 | (unsigned)(p[1] | 0x20) << 8 |
	             (unsigned)(p[2] | 0x20);
#define M3(a, b, c) ((unsigned)(a) << 16 | (unsigned)(b) << 8 | (unsigned)(c))
	switch (k) {
	case M3('j', 'a', 'n'): return 1;
	case M3('f', 'e', 'b'): return 2;
	case M3('m', 'a', 'r'): return 3;
	case M3('a', 'p', 'r'): return 4;
	case M3('m', 'a', 'y'): return 5;
	case M3('j', 'u', 'n'): return 6;
	case M3('j', 'u', 'l'): return 7;
	case M3('a', 'u', 'g'): return 8;
	case M3('s', 'e', 'p'): return 9;
	case M3('o', 'c', 't'): return 10;
	case M3('n', 'o', 'v'): return 11;
	case M3('d', 'e', 'c'): return 12;
	}
#undef M3
	return 0;
}

/* A broken-down time as read from text; zone_s is valid when has_zone. */
typedef struct {
	int64_t year;
	int mon, day, hour, min, sec;
	int usec;
	int has_zone;
	int zone_s;   /* seconds east of UTC */
} ml_tparts_t;

/* Optional ".digits": microseconds, extra digits dropped.  Returns the new p. */
static const char *parse_frac(const char *p, const char *e, int *usec)
{
	*usec = 0;
	if (p < e && *p == '.' && p + 1 < e && isdig(p[1])) {
		int scale = 100000;
		for (p++; p < e && isdig(*p); p++) {
			*usec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	return p;
}

/* "HH:MM" then ":SS" (required unless secs_optional); NULL if malformed. */
static const char *parse_clock(const char *p, const char *e, ml_tparts_t *t,
                               int secs_optional)
{
	if (e - p < 5 || p[2] != ':')
		return NULL;
	t->hour = dig2(p);
	t->min = dig2(p + 3);
	t->sec = 0;
	p += 5;
	if (e - p >= 3 && *p == ':') {
		t->sec = dig2(p + 1);
		p += 3;
	} else if (!secs_optional) {
		return NULL;
	}
	if (t->hour < 0 || t->hour > 23 || t->min < 0 || t->min > 59 ||
	    t->sec < 0 || t->sec > 60)
		return NULL;
	return parse_frac(p, e, &t->usec);
}

enum {
	ISO_LOG = 0,          /* a log line: 'T' and seconds required */
	ISO_USER = 1,         /* --since: date alone, ' ' or 'T', seconds optional */
};

/*
 * "YYYY-MM-DD[Thh:mm:ss[.frac]][Z|±hh:mm|±hhmm]" at p.  Returns the end of what
 * was read, NULL if malformed.
 */
static const char *parse_iso(const char *p, const char *e, ml_tparts_t *t, int mode)
{
	memset(t, 0, sizeof *t);
	if (e - p < 10 || p[4] != '-' || p[7] != '-')
		return NULL;
	int hi = dig2(p), lo = dig2(p + 2);
	t->mon = dig2(p + 5);
	t->day = dig2(p + 8);
	if (hi < 0 || lo < 0 || t->mon < 1 || t->mon > 12 || t->day < 1)
		return NULL;
	t->year = hi * 100 + lo;
	if (t->day > ml_days_in_month(t->year, t->mon))
		return NULL;
	p += 10;
	if (p == e && mode == ISO_USER)
		return p;
	if (p == e || !(*p == 'T' || *p == 't' || (mode == ISO_USER && *p == ' ')))
		return NULL;
	p = parse_clock(p + 1, e, t, mode == ISO_USER);
	if (!p)
		return NULL;
	if (p < e && (*p == 'Z' || *p == 'z')) {
		t->has_zone = 1;
		return p + 1;
	}
	if (p < e && (*p == '+' || *p == '-')) {
		int sign = *p == '-' ? -1 : 1, zh, zm;
		if (e - p >= 6 && p[3] == ':') {
			zh = dig2(p + 1);
			zm = dig2(p + 4);
			p += 6;
		} else if (e - p >= 5) {
			zh = dig2(p + 1);
			zm = dig2(p + 3);
			p += 5;
		} else {
			return NULL;
		}
		if (zh < 0 || zh > 23 || zm < 0 || zm > 59)
			return NULL;
		t->has_zone = 1;
		t->zone_s = sign * (zh * 3600 + zm * 60);
	}
	return p;
}

/* The UTC second of a local wall clock: through ctx's hour cache. */
static int64_t local_seconds_cached(ml_syslog_ctx_t *ctx, const ml_tparts_t *t)
{
	return ml_local_seconds_cached(&ctx->hours, t->year, t->mon, t->day, t->hour, t->min, t->sec);
}

static int64_t pack_wall(int64_t y, int mon, int day, int hour, int min, int sec)
{
	return ((((y * 13 + mon) * 32 + day) * 24 + hour) * 60 + min) * 61 + sec;
}

static void prepare_ref(ml_syslog_ctx_t *ctx)
{
	struct tm tm;
	time_t t = ctx->ref_time;
	localtime_r(&t, &tm);
	ctx->ref_year = tm.tm_year + 1900;
	t += 86400;
	localtime_r(&t, &tm);
	ctx->ref_limit = pack_wall(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                           tm.tm_hour, tm.tm_min, tm.tm_sec);
	ctx->ref_seen = ctx->ref_time;
	ctx->ref_ready = 1;
}

void ml_syslog_ctx_init(ml_syslog_ctx_t *ctx, time_t ref_time, int forced_year)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->year = forced_year;
	ctx->ref_time = ref_time;
	ml_hourcache_init(&ctx->hours);
	prepare_ref(ctx);
}

/*
 * "Mmm dd hh:mm:ss[.frac]" at p (the day space-padded, zero-padded or one
 * digit).  Sets t->year by the inference rule.  End of what was read, or NULL.
 */
static const char *parse_traditional(ml_syslog_ctx_t *ctx, const char *p,
                                     const char *e, ml_tparts_t *t)
{
	memset(t, 0, sizeof *t);
	t->mon = month_of(p);            /* caller checked 3 bytes */
	p += 3;
	if (!t->mon || p == e || *p != ' ')
		return NULL;
	p++;
	if (p < e && *p == ' ')
		p++;
	if (p == e || !isdig(*p))
		return NULL;
	t->day = *p++ - '0';
	if (p < e && isdig(*p))
		t->day = t->day * 10 + (*p++ - '0');
	if (p == e || *p != ' ' || t->day < 1 || t->day > 31)
		return NULL;
	p = parse_clock(p + 1, e, t, 0);
	if (!p)
		return NULL;
	if (ctx->year) {
		t->year = ctx->year;
	} else {
		if (!ctx->ref_ready || ctx->ref_seen != ctx->ref_time)
			prepare_ref(ctx);
		t->year = ctx->ref_year;
		if (pack_wall(t->year, t->mon, t->day, t->hour, t->min, t->sec) > ctx->ref_limit)
			t->year--;
	}
	if (t->day > ml_days_in_month(t->year, t->mon))
		return NULL;
	return p;
}

/* Time-of-day "d:dd:dd" near the start of a line that has no timestamp we
 * know: then the timestamp is there but damaged. */
static int has_clock_near_start(const char *p, const char *e)
{
	const char *lim = e - p > 40 ? p + 40 : e;
	for (const char *q = p; q + 7 <= lim; q++)
		if (isdig(q[0]) && q[2] == ':' && q[5] == ':' && dig2(q) >= 0 &&
		    dig2(q + 3) >= 0 && isdig(q[6]))
			return 1;
	return 0;
}

/* A field of an RFC 5424 header at p: the bytes up to the next space (or e).
 * Returns its end; the caller checks that it is not empty. */
static const char *field_end(const char *p, const char *e)
{
	while (p < e && *p != ' ')
		p++;
	return p;
}

/* The nil value "-" of RFC 5424. */
static inline int is_nil(const char *p, const char *q)
{
	return q - p == 1 && *p == '-';
}

/* An SD-NAME (SD-ID or PARAM-NAME): 1 to 32 printable ASCII but '=', ' ',
 * ']' and '"'.  Returns its end, NULL if empty or too long. */
static const char *sd_name(const char *p, const char *e)
{
	const char *q = p;
	while (q < e && *q > ' ' && *q < 127 && *q != '=' && *q != ']' && *q != '"')
		q++;
	return q > p && q - p <= 32 ? q : NULL;
}

/*
 * RFC 5424 STRUCTURED-DATA at p (not the nil value): one or more
 * "[id name=\"value\" ...]" elements, back to back.  In a value, a backslash
 * escapes the byte after it ('"', '\\' and ']' must be escaped; other escapes
 * are kept as written), so neither an escaped '"' nor any ']' in quotes ends
 * anything.  Returns the end of the last element, NULL if malformed.
 */
static const char *skip_sd(const char *p, const char *e)
{
	do {
		p = sd_name(p + 1, e);          /* p was at '[' */
		if (!p)
			return NULL;
		while (p < e && *p == ' ') {
			p = sd_name(p + 1, e);
			if (!p || !ML_HAS(p, e, "=\""))
				return NULL;
			for (p = ML_AFTER(p, "=\""); p < e && *p != '"'; p++)
				if (*p == '\\' && ++p == e)
					return NULL;
			if (p == e)
				return NULL;
			p++;                    /* the closing '"' */
		}
		if (p == e || *p != ']')
			return NULL;
		p++;
	} while (p < e && *p == '[');
	return p;
}

/*
 * A line that does not start with a date.  When it starts with '<': a syslog
 * PRI "<0>" to "<191>", then either an RFC 5424 header (VERSION "1") or a
 * traditional or RFC 3339 header, which ml_syslog_parse reads from after the
 * PRI.  Kept out of line so that the common forms pay nothing for it.
 */
static __attribute__((noinline)) int parse_no_date(ml_syslog_ctx_t *ctx, const char *line,
                                                  size_t n, ml_syslog_t *out,
                                                  const char **why)
{
	const char *p = line, *e = line + n, *q;
	const char *msg = NULL;
	ml_tparts_t t;
	int64_t secs;
	int pri = 0;

	if (p == e || *p != '<') {
		msg = has_clock_near_start(p, e) ? "bad timestamp" : "no timestamp";
		goto fail;
	}
	for (q = ++p; p < e && isdig(*p) && p - q < 3; p++)
		pri = pri * 10 + (*p - '0');
	if (p == q || p == e || *p != '>' || pri > 191) {
		msg = "bad priority";
		goto fail;
	}
	p++;

	/* VERSION: 1 to 3 digits, then a space (or the end of a cut line);
	 * digits followed by anything else are an RFC 3339 year. */
	for (q = p; p < e && isdig(*p) && p - q < 4; p++)
		;
	if (p == q || p - q > 3 || (p < e && *p != ' ')) {
		if (q < e && *q == '<') {
			msg = "no timestamp";
			goto fail;
		}
		return ml_syslog_parse(ctx, q, (size_t)(e - q), out, why);
	}
	if (p - q != 1 || *q != '1') {
		msg = "bad version";
		goto fail;
	}

	/* TIMESTAMP */
	if (p < e)
		p++;
	q = field_end(p, e);
	if (p == q || is_nil(p, q)) {
		msg = "no timestamp";
		goto fail;
	}
	if (parse_iso(p, q, &t, ISO_LOG) != q) {
		msg = "bad timestamp";
		goto fail;
	}
	secs = t.has_zone
		? ml_utc_seconds(t.year, t.mon, t.day, t.hour, t.min, t.sec) - t.zone_s
		: local_seconds_cached(ctx, &t);
	out->time_us = secs * 1000000 + t.usec;

	/* HOSTNAME */
	p = q < e ? q + 1 : q;
	q = field_end(p, e);
	if (p == q) {
		msg = "no host";
		goto fail;
	}
	out->host = is_nil(p, q) ? ml_slice(p, 0) : ml_slice(p, (size_t)(q - p));

	/* APP-NAME */
	p = q < e ? q + 1 : q;
	q = field_end(p, e);
	if (p == q || is_nil(p, q)) {
		msg = "no program tag";
		goto fail;
	}
	out->program = ml_slice(p, (size_t)(q - p));

	/* PROCID: the pid when it is digits, else (nil, a name) empty */
	p = q < e ? q + 1 : q;
	q = field_end(p, e);
	if (p == q) {
		msg = "no procid";
		goto fail;
	}
	out->pid = ml_slice(p, 0);
	{
		const char *d = p;
		while (d < q && isdig(*d))
			d++;
		if (d == q)
			out->pid.n = (size_t)(q - p);
	}

	/* MSGID: not kept */
	p = q < e ? q + 1 : q;
	q = field_end(p, e);
	if (p == q) {
		msg = "no msgid";
		goto fail;
	}

	/* STRUCTURED-DATA: not kept */
	p = q < e ? q + 1 : q;
	if (p == e) {
		msg = "no structured data";
		goto fail;
	}
	if (*p == '-')
		q = p + 1;
	else if (*p == '[')
		q = skip_sd(p, e);
	else
		q = NULL;
	if (!q || (q < e && *q != ' ')) {
		msg = "bad structured data";
		goto fail;
	}

	/* MSG, without a UTF-8 byte order mark */
	p = q < e ? q + 1 : q;
	if (ML_HAS(p, e, "\xEF\xBB\xBF"))
		p = ML_AFTER(p, "\xEF\xBB\xBF");
	out->msg = ml_slice(p, (size_t)(e - p));
	return 0;

fail:
	if (why)
		*why = msg;
	return ML_EPARSE;
}

int ml_syslog_parse(ml_syslog_ctx_t *ctx, const char *line, size_t n,
                    ml_syslog_t *out, const char **why)
{
	const char *p = line, *e = line + n, *q;
	const char *msg = NULL;
	ml_tparts_t t;
	int64_t secs;

	out->seq = 0;
	if (n >= 3 && isdig(p[0])) {
		q = parse_iso(p, e, &t, ISO_LOG);
		if (!q) {
			msg = "bad timestamp";
			goto fail;
		}
		secs = t.has_zone
			? ml_utc_seconds(t.year, t.mon, t.day, t.hour, t.min, t.sec) - t.zone_s
			: local_seconds_cached(ctx, &t);
	} else if (n >= 3 && month_of(p)) {
		q = parse_traditional(ctx, p, e, &t);
		if (!q) {
			msg = "bad timestamp";
			goto fail;
		}
		secs = local_seconds_cached(ctx, &t);
	} else {
		return parse_no_date(ctx, line, n, out, why);
	}
	p = q;
	if (p < e && *p != ' ') {
		msg = "bad timestamp";
		goto fail;
	}
	out->time_us = secs * 1000000 + t.usec;

	/* host, after an optional "<facility.level>" (syslog-ng's and some
	 * rsyslog templates' $PRI text) */
	while (p < e && *p == ' ')
		p++;
	if (p < e && *p == '<') {
		const char *gt = memchr(p, '>', (size_t)(e - p));
		if (gt && gt - p < 32 && gt + 1 < e && gt[1] == ' ') {
			p = gt + 1;
			while (p < e && *p == ' ')
				p++;
		}
	}
	q = p;
	while (p < e && *p != ' ')
		p++;
	if (p == q) {
		msg = "no host";
		goto fail;
	}
	out->host = ml_slice(q, (size_t)(p - q));

	/* program[pid]: */
	while (p < e && *p == ' ')
		p++;
	q = p;
	while (p < e && *p != '[' && *p != ':' && *p != ' ')
		p++;
	if (p == q || p == e || *p == ' ') {
		msg = "no program tag";
		goto fail;
	}
	out->program = ml_slice(q, (size_t)(p - q));
	out->pid = ml_slice(p, 0);
	if (*p == '[') {
		q = ++p;
		while (p < e && isdig(*p))
			p++;
		if (p == e || *p != ']') {
			msg = "no program tag";
			goto fail;
		}
		out->pid = ml_slice(q, (size_t)(p - q));
		p++;
		if (p < e && *p == ':')
			p++;
		else if (p < e && *p != ' ') {
			msg = "no program tag";
			goto fail;
		}
	} else {
		p++;   /* ':' */
	}
	if (p < e && *p == ' ')
		p++;
	out->msg = ml_slice(p, (size_t)(e - p));
	return 0;

fail:
	if (why)
		*why = msg;
	return ML_EPARSE;
}

char *ml_time_format(int64_t time_us, char *buf, size_t len)
{
	int64_t s = time_us / 1000000;
	if (time_us % 1000000 < 0)
		s--;
	int64_t days = s / 86400, rem = s % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	ml_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999 || len < 21) {
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
		         (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
		return buf;
	}
	/* (the same, by hand: rows are written by the thousand) */
	int v[7] = { (int)(y / 100), (int)(y % 100), m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60) };
	static const char before[7] = { 0, 0, '-', '-', 'T', ':', ':' };
	char *o = buf;
	for (int i = 0; i < 7; i++) {
		if (before[i])
			*o++ = before[i];
		*o++ = (char)('0' + v[i] / 10);
		*o++ = (char)('0' + v[i] % 10);
	}
	*o++ = 'Z';
	*o = '\0';
	return buf;
}

/* The longest relative time: half of what microseconds in an int64_t hold
 * (about 146,000 years), so that now minus it still fits. */
#define REL_MAX_S (INT64_MAX / 1000000 / 2)

int ml_time_parse_user(const char *s, time_t now, int64_t *out_us)
{
	size_t n = strlen(s);
	const char *e = s + n;
	ml_tparts_t t;

	/* relative: digits and one unit */
	if (n >= 2 && n <= 12 && strchr("smhdw", s[n - 1])) {
		int64_t k = 0;
		const char *p = s;
		while (p < e - 1 && isdig(*p))
			k = k * 10 + (*p++ - '0');
		if (p == e - 1 && p > s) {
			static const struct { char u; int64_t secs; } units[] = {
				{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
				{ 'w', 7 * 86400 },
			};
			for (size_t i = 0; i < ML_ARRAY_LEN(units); i++)
				if (units[i].u == *p) {
					/* 11 digits of weeks do not fit in microseconds */
					if (k > REL_MAX_S / units[i].secs)
						return ML_EINVAL;
					*out_us = ((int64_t)now - k * units[i].secs) * 1000000;
					return 0;
				}
		}
		return ML_EINVAL;
	}
	const char *q = parse_iso(s, e, &t, ISO_USER);
	if (!q || q != e)
		return ML_EINVAL;
	int64_t secs = t.has_zone
		? ml_utc_seconds(t.year, t.mon, t.day, t.hour, t.min, t.sec) - t.zone_s
		: ml_local_seconds(t.year, t.mon, t.day, t.hour, t.min, t.sec);
	*out_us = secs * 1000000 + t.usec;
	return 0;
}
