/*
 * event.h — what a parser makes of one log line: an ml_event_t.
 *
 * An event is a flat bag of optional fields plus a kind.  Every ml_slice_t
 * in it points into the line the parser was given (or into the static
 * strings of the parser) and is valid only until that line's buffer is
 * reused: the correlator copies what it keeps.  Fields the line does not
 * carry are empty slices (n == 0).
 *
 * Kinds that belong to a message carry its queue ID in `qid`; the host comes
 * from the syslog header, not from the event.  ML_EV_SKIP and ML_EV_UNKNOWN
 * carry no message: `reason` names the kind of line (a short constant string,
 * used as the key of the skip / not-understood tallies).
 *
 * Exim (engine/exim.h has the full mapping) reuses the kinds above where
 * they fit: DELIVERY for "=>", "->", "*>", "**", "==" (router/transport in
 * the fields below), REMOVED for "Completed", HOLD for "frozen by ACL",
 * RELEASED for "Unfrozen by ..." (Exim also unfreezes messages that were
 * frozen for other reasons: a release counts only on a held message),
 * DELETED for "removed by ...", NOQUEUE_REJECT / RCPT_REJECT for rejects.
 * It adds ARRIVAL and the fields after local_delivery.
 *
 * Sendmail (engine/sendmail.h has the full mapping) reuses ARRIVAL for
 * "from=..., nrcpts=N, msgid=..., relay=CLIENT" (rcpt_list empty: Sendmail
 * names no recipients there; nrcpt carries nrcpts=), DELIVERY for "to=...,
 * stat=..." (several recipients on one line: to_list, below), CLIENT for
 * "AUTH=server, ..., authid=U", BOUNCE_NDN for "QID: NEWQID: DSN: ..." (also
 * "return to sender", "sender notify", "postmaster notify"; its status says
 * whether the notice reports an expiry), REMOVED for "done", HOLD for a
 * quarantine, NOQUEUE_REJECT / RCPT_REJECT for ruleset and milter rejects.
 * It adds to_list.
 */
#ifndef ML_EVENT_H
#define ML_EVENT_H

#include "message.h"
#include "util.h"

typedef enum {
	ML_EV_UNKNOWN = 0,  /* not understood; reason says why */
	ML_EV_SKIP,         /* understood, carries nothing we keep (reason says what) */
	ML_EV_CLIENT,       /* smtpd "QID: client=NAME[IP](, sasl_username=U)" */
	ML_EV_PICKUP,       /* pickup "QID: uid=N from=<A>" (local submission) */
	ML_EV_MSGID,        /* cleanup "QID: message-id=<X>" (also resent-message-id) */
	ML_EV_HEADER,       /* cleanup "info|warning: header NAME: VALUE from ..." (subject in `subject`
	                       when NAME is Subject; from/to/client of the trailer filled) */
	ML_EV_HOLD,         /* cleanup "hold: ..." : quarantined; from/to from the trailer */
	ML_EV_CLEANUP_REJECT, /* cleanup "reject:" / "discard:" / milter-reject / milter-discard:
	                       blocked; reason = reply text; from/to from the trailer */
	ML_EV_QMGR_FROM,    /* qmgr "QID: from=<A>, size=N, nrcpt=N (queue active)" */
	ML_EV_REMOVED,      /* qmgr "QID: removed" */
	ML_EV_EXPIRED,      /* qmgr "QID: from=<A>, status=expired, returned to sender" */
	ML_EV_DELIVERY,     /* smtp/lmtp/local/virtual/pipe/error/discard/retry
	                       "QID: to=<A>, orig_to=<B>, relay=R, delay=D, delays=.., dsn=X, status=S (reason)" */
	ML_EV_NOQUEUE_REJECT, /* smtpd "NOQUEUE: reject: RCPT from NAME[IP]: reply; from=<> to=<> proto= helo=<>"
	                       (also "NOQUEUE: discard:" / milter-reject) */
	ML_EV_RCPT_REJECT,  /* smtpd "QID: reject: RCPT from ...": a blocked row of message QID */
	ML_EV_BOUNCE_NDN,   /* bounce "QID: sender non-delivery notification: NEWQID" (also delay
	                       notification / delivery status notification); other_qid = NEWQID */
	ML_EV_RELEASED,     /* postsuper "QID: released from hold" */
	ML_EV_DELETED,      /* postsuper "QID: removed" (deleted by the administrator) */
	ML_EV_INFO,         /* a line about message QID that changes nothing we model
	                       (e.g. smtpd "QID: filter: ...", warnings); kept as raw line */
	ML_EV_ARRIVAL,      /* Exim "QID <= SENDER H=.. A=.. P=.. S=.. id=.. T=\"..\" for A B":
	                       the message was accepted.  from/from_set, client_name/ip, helo,
	                       sasl_user, proto, size, msgid, subject (subject_escaped = 1),
	                       rcpt_list; other_qid = R= (a bounce: the message it reports on) */
	ML_EV_FILTER,       /* a content filter's or milter's verdict on a message (engine/filters.h:
	                       amavis, rspamd, spamd, clamav-milter, opendkim, opendmarc, MailScanner).
	                       qid = the queue ID the message had when it entered the filter (same
	                       host); other_qid = the queue ID it was re-injected under (amavis
	                       queued_as, MailScanner Requeue), empty when blocked.  Keyed by qid, else
	                       by msgid (spamd; amavis without Queue-ID): at least one of qid, msgid,
	                       other_qid is set.  verdict, filter_rcpts, quarantine, score below;
	                       status = what the filter did: delivered (passed it on), blocked,
	                       quarantined, or none (a check that decides nothing by itself) */
	ML_EV_REPORT,       /* a recipient reported the message (a spam filter learned it as spam
	                       on their word: engine/learn.h).  Not a line of the message: it
	                       joins stored messages by msgid (or qid when set), and changes no
	                       status.  verdict = "spam" or "phishing"; reason = the source
	                       ("rspamd"); client_ip, sasl_user (who, when named) */
} ml_event_kind_t;

typedef struct {
	ml_event_kind_t kind;
	const char *reason;     /* ML_EV_SKIP / ML_EV_UNKNOWN: short constant key (ML_EV_REPORT:
	                           the report's source),
	                           e.g. "postscreen", "no queue id", "unknown program" */
	ml_slice_t qid;         /* queue ID, empty for NOQUEUE and skips */
	ml_slice_t other_qid;   /* ML_EV_BOUNCE_NDN: the new (bounce) queue ID */
	ml_slice_t from, to, orig_to;  /* addresses without the angle brackets;
	                                  from of "<>" is the empty slice with from_set=1 */
	int from_set;           /* 1 when the line had from=<...> (even empty) */
	ml_slice_t relay;       /* "mx.example.com[192.0.2.1]:25", "local", "none" */
	ml_slice_t dsn;         /* "2.0.0" */
	ml_slice_t reason_text; /* delivery: text inside the final parentheses;
	                           rejects: the reply text ("554 5.7.1 ...: Relay access denied") */
	ml_slice_t msgid;       /* message-id without angle brackets */
	ml_slice_t header_name; /* ML_EV_HEADER: "Subject", "From", ... */
	ml_slice_t subject;     /* raw header value as logged (RFC 2047 not yet decoded) */
	ml_slice_t client_name, client_ip;  /* "mail.example.com", "192.0.2.1" / "2001:db8::1" */
	ml_slice_t sasl_user;
	ml_slice_t helo;
	ml_status_t status;     /* ML_EV_DELIVERY: delivered / delayed / bounced / expired;
	                           rejects: blocked; hold: quarantined */
	uint64_t size;          /* qmgr size= */
	uint32_t nrcpt;         /* qmgr nrcpt= */
	uint32_t delay_ms;      /* delay= in milliseconds */
	int local_delivery;     /* 1 when the delivering agent is local, virtual, lmtp or a
	                           relay= naming a local transport (learning local domains) */
	ml_slice_t proto;       /* Exim P= of an arrival: "esmtps", "local", "local-smtp" */
	ml_slice_t rcpt_list;   /* ML_EV_ARRIVAL: the "for" list as written, addresses separated
	                           by single spaces ("a@x b@y"); a quoted local part may hold a
	                           space ("\"a b\"@x"): split outside double quotes */
	int subject_escaped;    /* 1 when `subject` is written with Exim's escapes (\ooo, \",
	                           \\, \n, \t): decode it with ml_exim_unescape_subject before
	                           ml_rfc2047_decode */
	ml_slice_t router, transport;  /* Exim R= and T= of a delivery line ("dnslookup",
	                                  "remote_smtp"); relay is H= (or the transport when
	                                  the delivery names no host) */
	/* ML_EV_FILTER (engine/filters.h has the mapping per program). */
	ml_slice_t verdict;     /* the verdict as written: amavis "Passed CLEAN", "Blocked SPAM";
	                           rspamd's action "add header"; clamav-milter "infected"; opendmarc
	                           "pass"; spamd "spam" / "clean" (static) */
	ml_slice_t filter_rcpts; /* the recipients as written, comma-separated, each optionally in
	                           angle brackets ("<a@x>,<b@y>", "a@x,b@y"); MailScanner lists
	                           domains ("x.org, y.org"); split with ml_filters_next_rcpt */
	ml_slice_t quarantine;  /* amavis "quarantine: NAME" ("spam-AbC.gz", "2/virus-26W2lJY63nCZ") */
	ml_slice_t score;       /* spam score as written ("2.913", "-1.2", "18.5"); empty when none */
	ml_slice_t to_list;     /* Sendmail ML_EV_DELIVERY: the to= value as written, one or more
	                           recipients separated by ',' ("<a@x>,<b@y>", "root",
	                           "Name <a@x>", "\"a,b\"@x"); `to` is the first of them without
	                           brackets, and the line's status applies to every one.  Split it
	                           with ml_sendmail_next_rcpt (engine/sendmail.h).  Also set on a
	                           Sendmail "alias A => B" INFO line: B, what A expands to */
} ml_event_t;

static inline void ml_event_clear(ml_event_t *ev)
{
	memset(ev, 0, sizeof *ev);
}

/* The outcomes every parser ends a line with: a known skip, a line not
 * understood (reason: a short constant), an INFO about the message whose
 * queue ID ev->qid already holds. */
static inline void ml_event_skip(ml_event_t *ev, const char *reason)
{
	ml_event_clear(ev);
	ev->kind = ML_EV_SKIP;
	ev->reason = reason;
}

static inline void ml_event_unknown(ml_event_t *ev, const char *reason)
{
	ml_event_clear(ev);
	ev->kind = ML_EV_UNKNOWN;
	ev->reason = reason;
}

static inline void ml_event_info(ml_event_t *ev)
{
	ml_slice_t qid = ev->qid;
	ml_event_clear(ev);
	ev->qid = qid;
	ev->kind = ML_EV_INFO;
}

#endif
