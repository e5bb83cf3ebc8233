/*
 * exim.h — the Exim parser: one line of Exim's main log (its own file, or
 * the message part of a syslog line) made into one ml_event_t.
 *
 * Two entry points, so that both ways Exim logs can be read:
 *
 *   Exim's own log file     "2024-01-02 03:04:05[.mmm] [+0100] [[pid]] MSG"
 *     ml_exim_parse_line() reads the timestamp (milliseconds with
 *     log_selector +millisec, the zone with log_timezone = true, the pid
 *     with +pid) and gives back MSG.
 *   syslog                  "Jan  2 03:04:05 host exim[123]: MSG"
 *     engine/syslog parses the header; ml_exim_is_program() tells the
 *     program tag ("exim", "exim4") and MSG goes to ml_exim_parse().
 *
 * ml_exim_parse() is a pure function of MSG: no state, no allocation; every
 * slice of the event points into MSG or to a static string.  A MSG that still
 * starts with Exim's own timestamp (syslog_timestamp left on, or journald
 * forwarding) has it skipped first.
 *
 * Message IDs: classic "1abcDE-0001Ab-Cd" (6-6-2 base-62 characters, 16 in
 * all) and Exim 4.97+ "1rYEqu-00000000PJq-1Iu0" (6-11-4, 23 in all).  A line
 * is about a message when it starts with an ID followed by a space (or ends).
 *
 * The mapping (kinds in event.h):
 *
 *   ID <= SENDER fields [for A B ...]             → ARRIVAL
 *        SENDER "<>" → from empty, from_set = 1; a quoted local part ("a b"@x)
 *        is kept whole.  H=[name ][(helo) ][[ip]][:port] → client_name, helo,
 *        client_ip; A=authenticator[:id] → sasl_user (the id, else the
 *        authenticator); P= → proto; S= → size; id= → msgid; T="..." → subject
 *        (raw, still escaped; subject_escaped = 1); R=ID (a bounce) →
 *        other_qid; "for ..." → rcpt_list (the rest of the line).
 *   ID => ADDR [<ORIG>] fields                   → DELIVERY delivered
 *   ID -> ADDR ...   (another address of the same delivery)   → DELIVERY delivered
 *   ID *> ADDR ...   (delivery suppressed by -N)               → DELIVERY delivered,
 *        reason_text "delivery suppressed by -N" unless the line has a C=
 *   ID ** ADDR ... [: TEXT]                     → DELIVERY bounced
 *        (expired when TEXT is "retry timeout exceeded" or "all hosts for '...'
 *        have been failing for a long time (and retry time not reached)")
 *   ID == ADDR ... [defer (N)][: TEXT]          → DELIVERY delayed (expired on the
 *        "have been failing for a long time" text)
 *        ADDR: "a@x", "\"a b\"@x", "/path", "|command", ":blackhole:", "userx"
 *        (a local part); <ORIG>: the original (pre-routing) address → to is
 *        ORIG's child ADDR, orig_to ORIG; for a file or pipe ADDR (which is no
 *        address) to is ORIG and orig_to is empty.  R= → router, T= →
 *        transport, H=host [ip][:port] → relay ("host [ip]:port" as written;
 *        the transport when there is no H=), C="250 ..." → reason_text
 *        (dsn when it holds an enhanced code), TEXT after ": " → reason_text
 *        and dsn.  local_delivery = 1 when the transport is appendfile,
 *        local_delivery, *lmtp*, *dovecot*, *maildir*, *mailbox* or
 *        address_file/address_directory (Exim's stock local transports).
 *        "=> :blackhole: <a@x>" and "=> blackhole (X ACL discarded
 *        recipients)" → status blocked (the recipient was thrown away).
 *   ID Completed                                 → REMOVED (the message is done)
 *   ID frozen by ACL                             → HOLD quarantined
 *   ID Frozen / Frozen (delivery error message) / frozen by root /
 *      Frozen by the system filter ... / Message is frozen        → INFO (not a quarantine)
 *   ID Unfrozen by ... / unfrozen by ...         → RELEASED (see event.h: Exim unfreezes
 *                                                  non-quarantined messages too)
 *   ID removed by USER / ID Message removed      → DELETED
 *   [ID ]fields [temporarily ]rejected WHAT[: TEXT]    a refusal:
 *        WHAT = RCPT <a@x> | RCPT a@x              → to = a@x
 *               after DATA | DATA | by local_scan() | by non-SMTP ACL |
 *               during MIME ACL checks | DKIM ...   → to empty (the whole message)
 *               MAIL <a@x> | from <a@x>             → from = a@x
 *               connection in "connect" ACL | EHLO or HELO x
 *        → RCPT_REJECT with an ID, NOQUEUE_REJECT without; status blocked;
 *        client from H=, from from F=<...> (or F=bare), reason_text = TEXT
 *        (for "temporarily rejected" the slice starts at "temporarily", so the
 *        row says so).  Also "rejected EHLO|HELO from CLIENT: TEXT" and
 *        "rejected MAIL FROM:<a@x> ...: TEXT".  Refused VRFY, EXPN, ETRN,
 *        ATRN, AUTH, STARTTLS, WELLKNOWN, XCLIENT → SKIP "exim command rejected"
 *        (no mail was refused).
 *   any other ID line (DKIM, TLS, ACL logwrite, "no immediate delivery", ...)
 *                                                → INFO
 *
 *   Lines without an ID: connection chatter ("SMTP connection from",
 *   "SMTP call from", "no host name found", "unexpected disconnection",
 *   "SMTP command timeout", "SMTP protocol ...") → SKIP "exim connection";
 *   "... authenticator failed for ..." → SKIP "exim auth"; "sender verify fail"
 *   and other verification notes → SKIP "exim verify"; TLS errors → SKIP
 *   "exim tls"; "Start queue run", "End queue run" → SKIP "exim queue run";
 *   "exim x.yz daemon started", "daemon ..." → SKIP "exim daemon"; tick,
 *   spool, configuration and retry notes → SKIP "exim internal"; anything
 *   else → UNKNOWN "exim: unrecognised".
 *
 *   Continuation lines (Exim writes a multi-line message as the first line
 *   then lines indented by whitespace) → SKIP "exim continuation".  The parser
 *   keeps no state, so it cannot attach them to the message of the line above;
 *   what they hold (the rest of a long reply, headers in the reject log) is not
 *   modelled.  ml_exim_parse_line() returns ML_EXIM_CONTINUATION for them.
 */
#ifndef ML_EXIM_H
#define ML_EXIM_H

#include <stdint.h>

#include "event.h"
#include "timeconv.h"
#include "util.h"

/* The time of an Exim log line.  Out: time_us, pid.  The cache fields are
 * the parser's (one-hour cache of the local-time conversion for lines
 * without a zone, as in engine/syslog): init once per input and thread with
 * ml_exim_time_init, and again after TZ changes. */
typedef struct {
	int64_t time_us;    /* UTC microseconds since the epoch */
	int has_zone;       /* 1 when the line carried "+hhmm" */
	ml_slice_t pid;     /* digits of "[pid]", empty when absent; points into the line */
	ml_hourcache_t hours;  /* owned by the parser (engine/timeconv.h) */
} ml_exim_time_t;

void ml_exim_time_init(ml_exim_time_t *t);

/* Returned by ml_exim_parse_line for an indented continuation line. */
#define ML_EXIM_CONTINUATION 1

/* 1 when program is Exim's syslog tag: "exim", "exim4" (also "exim[123]"). */
int ml_exim_is_program(ml_slice_t program);

/*
 * line[0..n) in Exim's own log format.  0: *t has its time and pid, *msg the
 * message part after the timestamp, zone and "[pid] ".  ML_EXIM_CONTINUATION:
 * an indented continuation line; *msg is the whole line, *t is untouched (the
 * time is the previous line's).  ML_EPARSE: not Exim's format (no timestamp,
 * an impossible date).  Never reads past n.
 */
int ml_exim_parse_line(const char *line, size_t n, ml_exim_time_t *t, ml_slice_t *msg);

/* Parse msg.  Always fills ev; ev->kind is ML_EV_UNKNOWN with ev->reason set
 * when the line is not understood. */
void ml_exim_parse(ml_slice_t msg, ml_event_t *ev);

/* 1 when s has the shape of an Exim message ID (16 or 23 characters). */
int ml_exim_is_msgid(ml_slice_t s);

/*
 * The value of T="..." (p, n: the bytes between the quotes, as in
 * ev->subject) back to the header's bytes, appended to out:
 *   \ooo (1 to 3 octal digits) → that byte; \" → "; \\ → \; \t → TAB;
 *   \n and \r → dropped when whitespace follows (a folded header, unfolded),
 *   else a space; \b \f \v \e → that control byte; any other "\x" is kept
 *   as written; every other byte as written (Latin-1 stays Latin-1: the
 *   caller decodes with ml_rfc2047_decode).
 * Exim cuts a long subject at ML_EXIM_SUBJECT_MAX bytes, possibly inside a
 * UTF-8 character: when the result is that long, otherwise valid UTF-8 and
 * ends in an incomplete sequence, that partial character is dropped.
 * 0, or ML_ENOMEM / ML_ETOOBIG with out unchanged.
 */
#define ML_EXIM_SUBJECT_MAX 100
int ml_exim_unescape_subject(ml_buf_t *out, const char *p, size_t n);

#endif
