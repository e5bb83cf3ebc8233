/*
 * syslog.h — the header of one log line: time, host, program, pid, and the
 * message part that follows "program[pid]: ".
 *
 * Accepted timestamp forms:
 *   traditional syslog  "Jan  2 03:04:05 host prog[pid]: msg"  (optionally with
 *                       ".123456" fractions, as Postfix's maillog_file writes);
 *                       no year and no zone: local time of the machine (TZ), the
 *                       year inferred by ml_syslog_ctx_t (see below)
 *   RFC 3339            "2024-01-02T03:04:05.123456+01:00 host prog[pid]: msg"
 *                       (rsyslog's high-precision format; 'Z' or ±hh:mm)
 *   RFC 5424            "<34>1 2024-01-02T03:04:05.123456+01:00 host prog 1234 - - msg"
 *                       PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
 *                       STRUCTURED-DATA MSG, one space apart (see below)
 *   PRI only            "<22>Jan  2 03:04:05 host prog[pid]: msg", "<22>2024-01-02T..."
 *                       (rsyslog forwarding without the RFC 5424 template):
 *                       a traditional or RFC 3339 line after its PRI
 *
 * RFC 5424: PRI is "<0>" to "<191>" (facility and severity are not kept);
 * VERSION must be "1".  Any field may be the nil value "-": a nil TIMESTAMP
 * is "no timestamp", a nil HOSTNAME an empty host, a nil APP-NAME "no program
 * tag", a nil PROCID an empty pid.  APP-NAME is the program ("postfix/smtpd");
 * PROCID is the pid when it is all digits, else the pid is empty.  MSGID and
 * STRUCTURED-DATA ("-" or "[id name=\"value\" ...]" elements back to back,
 * with '"', '\' and ']' escaped by a backslash in values) are checked and
 * skipped.  MSG is what follows the space after STRUCTURED-DATA (empty when
 * the line ends there), without a leading UTF-8 BOM (EF BB BF).  The
 * TIMESTAMP is read as RFC 3339 above.
 *
 * Year inference for traditional timestamps: the year is ctx->year when set
 * (--year); else the year of ctx->ref_time (the file's modification time, or
 * now for stdin), minus one when that would put the line more than a day after
 * ref_time (a file written across New Year: December lines of last year).
 *
 * Traditional timestamps are converted with the TZ of the process, through a
 * cache of one (year, month, day, hour) in the ctx: the zone's offset is
 * taken as constant within an hour (clocks change on the hour in today's
 * zones; the hour that repeats when clocks go back maps to the one mktime
 * picks).  A ctx is per input and per thread; after changing TZ, init it
 * again.  The year inference compares local wall clocks.  RFC 3339 with 'Z'
 * or an offset is converted exactly, without the TZ; without a zone it is
 * local.  Fractions of any length are kept to the microsecond (truncated).
 *
 * Program tag: the text after the host up to '[' or ':' (no spaces), e.g.
 * "postfix/submission/smtpd".  "prog[pid]: msg", "prog: msg" and, as some
 * relays write it, "prog[pid] msg" are accepted.
 *
 * All output slices point into the line.  The parser never reads past n and
 * never writes to the line.
 */
#ifndef ML_SYSLOG_H
#define ML_SYSLOG_H

#include <stdint.h>
#include <time.h>

#include "timeconv.h"
#include "util.h"

typedef struct {
	int year;          /* forced year (--year), 0 = infer */
	time_t ref_time;   /* the file's mtime, or now */
	/* Owned by the parser.  Derived from ref_time (recomputed when it
	 * changes): its local year, and the local wall clock one day after it,
	 * packed so that a later wall clock compares greater. */
	int ref_ready;
	time_t ref_seen;
	int ref_year;
	int64_t ref_limit;
	/* Local-time conversion cache (engine/timeconv.h). */
	ml_hourcache_t hours;
} ml_syslog_ctx_t;

void ml_syslog_ctx_init(ml_syslog_ctx_t *ctx, time_t ref_time, int forced_year);

typedef struct {
	int64_t time_us;     /* UTC microseconds since the epoch */
	ml_slice_t host;     /* empty only for an RFC 5424 nil HOSTNAME */
	ml_slice_t program;  /* "postfix/smtpd", "amavis", "postfix-out/smtp" */
	ml_slice_t pid;      /* digits, may be empty */
	ml_slice_t msg;      /* what follows "program[pid]: " (RFC 5424: MSG) */
	uint64_t seq;        /* set by the caller: the line's number in the stream of
	                        lines ingested (0: none); kept with the raw line */
} ml_syslog_t;

/*
 * Parse the header of line[0..n).  0 on success.  ML_EPARSE when the line has
 * no recognisable header; then *why (when why is not NULL) is set to a short
 * constant string: "no timestamp" (nothing like one: a blank or foreign line),
 * "bad timestamp" (a damaged one, an impossible date, a placeholder before a
 * time of day), "no host", "no program tag"; for lines that start with '<'
 * also "bad priority" (not "<0>" to "<191>"), "bad version" (RFC 5424 other
 * than 1), "no procid", "no msgid", "no structured data", "bad structured
 * data".  *out is undefined on failure.
 */
int ml_syslog_parse(ml_syslog_ctx_t *ctx, const char *line, size_t n,
                    ml_syslog_t *out, const char **why);

/* Format time_us as RFC 3339 UTC with seconds ("2024-01-02T03:04:05Z"),
 * into buf (at least 32 bytes).  Returns buf. */
char *ml_time_format(int64_t time_us, char *buf, size_t len);

/*
 * Parse a user-supplied time for --since / --until: RFC 3339 ("2024-01-02T03:04:05Z",
 * with offset or without zone = local), a date ("2024-01-02" = local midnight),
 * "YYYY-MM-DD HH:MM[:SS]", or relative to now ("30m", "2h", "7d", "1w", "90s").
 * 0 on success, ML_EINVAL otherwise.
 */
int ml_time_parse_user(const char *s, time_t now, int64_t *out_us);

#endif
