/*
 * sendmail.h — the Sendmail parser: the message part of one Sendmail syslog
 * line ("QID: from=..., ..."; engine/syslog parses the header) made into one
 * ml_event_t.
 *
 * ml_sendmail_is_program() tells Sendmail's syslog tags: "sendmail", "sm-mta"
 * (Debian's MTA daemon), "sm-msp-queue" (the client queue runner), and
 * "sm-acceptingconnections" (the daemon's process title, which some systems
 * log as the tag), each with or without "[pid]".  Postfix's compatibility
 * command logs as "postfix/sendmail": not ours.
 *
 * ml_sendmail_parse() is a pure function of the message: no state, no
 * allocation, no NUL-termination assumed; every slice of the event points
 * into the message (or is empty).  A line is about a message when it starts
 * with a queue ID followed by ": ".  Sendmail 8.12+ queue IDs are eight
 * base-60 characters (year, month, day, hour, minute, second, sequence)
 * followed by the pid, at least six digits ("r0GFR6M9018519", 14 characters;
 * "xA32R2PQ3529566" with a seven-digit pid); older releases wrote 12.
 * ml_sendmail_is_qid() accepts 12 to 20 letters and digits ending in at
 * least five digits.  The older "NOQUEUE: " prefix means "no queue ID".
 *
 * Most lines are "key=value, key=value, ..." lists.  A value runs to the next
 * ", " that is followed by a key and '='; reject=, stat= and quarantine= are
 * always last and run to the end of the line (their text may hold ", ").
 *
 * The mapping (kinds in event.h):
 *
 *   QID: from=<A>, size=N, class=N, nrcpts=N, msgid=<X>, bodytype=.., proto=P,
 *        daemon=D, relay=CLIENT                                   → ARRIVAL
 *        from: "<>" → empty with from_set = 1; "root" (a local user) as
 *        written; "Name <a@x>" → a@x.  size, nrcpt (nrcpts=), msgid without
 *        brackets, proto.  CLIENT: "name [ip]", "[ip]", "name [ip] (may be
 *        forged)", "user@name [ip]" (ident) and "user@localhost" (a local
 *        submission) → client_name (without "user@"), client_ip (without an
 *        "IPv6:" prefix).  rcpt_list stays empty: Sendmail does not name the
 *        recipients on this line.
 *   QID: to=A[,B...], ctladdr=C (uid/gid), delay=D, xdelay=X, mailer=M, pri=N,
 *        relay=R, dsn=N.N.N, stat=S                              → DELIVERY
 *        to = the first recipient without brackets; to_list = the whole to=
 *        value (ml_rcpts_next with ',' splits it: engine/rcpts.h): the status is every one's.
 *        ctladdr is the controlling user (whose uid runs a program or file
 *        delivery, or the owner of an :include: list), not the original
 *        recipient: it is not modelled, and orig_to stays empty (Sendmail logs
 *        the alias expansion as "alias A => B" only at LogLevel 9 and up; see
 *        below).  relay as written ("mx.example.com. [192.0.2.1]",
 *        "[127.0.0.1] [127.0.0.1]"), dsn, delay in ms from delay=
 *        ("DD+HH:MM:SS" or "HH:MM:SS"; capped at UINT32_MAX), local_delivery
 *        = 1 for mailer local, lmtp, cyrus, cyrusv2, procmail, dovecot,
 *        maildrop.  Status from stat=:
 *          "Sent" / "Sent (REPLY)"           → delivered; reason_text = REPLY
 *          "Deferred" / "Deferred: TEXT"     → delayed; reason_text = TEXT
 *          "queued" (queue-only delivery mode, no attempt yet) → delayed;
 *                                              reason_text = "queued"
 *          anything else ("User unknown", "Service unavailable", "Host unknown
 *          (...)", "Data format error", ...): the dsn decides: 4.x.x → delayed,
 *          2.x.x → delivered, 5.x.x or none → bounced, except that a line
 *          without mailer= (the message was refused during the SMTP dialogue,
 *          e.g. after a milter reject, no delivery was tried) is blocked;
 *          reason_text = the stat text.
 *   QID: NEWQID: DSN: TEXT                   → BOUNCE_NDN, other_qid = NEWQID
 *   QID: NEWQID: return to sender: TEXT        (the notice NEWQID was created
 *   QID: NEWQID: sender notify: TEXT            for message QID); reason_text =
 *   QID: NEWQID: postmaster notify: TEXT        TEXT.  status: expired when TEXT
 *        is "Cannot send message for N days" (the queue lifetime ran out: the
 *        rows still delayed become expired; there is no separate EXPIRED
 *        event, so that the one line both links the notice and expires the
 *        message), delayed when it is "Warning: could not send message for
 *        past N hours" (a delay warning), else ML_ST_NONE (the failed rows
 *        have their own to= lines).
 *   QID: NEWQID: clone: owner=O / QID: clone NEWQID, owner=O
 *                                            → INFO, other_qid = NEWQID (the
 *        recipients of one owner split off into a new envelope)
 *   QID: done / QID: done; delay=D, ntries=N → REMOVED (LogLevel 10 and up)
 *   QID: alias A => B                        → INFO, orig_to = A, to_list = B
 *   QID: AUTH=server, relay=CLIENT, authid=U, mech=M, bits=N
 *                                            → CLIENT: sasl_user = U, client
 *   [QID: |NOQUEUE: ]ruleset=R, arg1=A[, arg2=B], relay=CLIENT, reject=TEXT
 *        → RCPT_REJECT with a queue ID (a blocked row of that envelope),
 *        NOQUEUE_REJECT without; status blocked; reason_text = TEXT ("550
 *        5.7.1 <a@x>... Relaying denied"), dsn from it; client from relay=.
 *        R check_rcpt, tls_rcpt → to = A; check_mail → from = A (from_set);
 *        check_compat → from = A, to = B; check_relay, check_data, check_eoh,
 *        check_eom, tls_client, tls_server and others: neither.  "..., discard"
 *        instead of reject= → the same, reason_text "discard".  Rulesets that
 *        guard commands (check_vrfy, check_expn, check_etrn) → SKIP "sendmail
 *        command rejected".  "quarantine=TEXT" instead of reject= → HOLD
 *        quarantined, reason_text = TEXT.
 *   QID: <A>... TEXT (a recipient refused in the SMTP dialogue: "User
 *        unknown", "No such user here") → RCPT_REJECT to = A, blocked,
 *        reason_text = TEXT (NOQUEUE_REJECT without a queue ID).
 *   QID: Milter: data, reject=TEXT           → RCPT_REJECT, whole message
 *   QID: Milter: to=<A>, reject=TEXT         → RCPT_REJECT, to = A
 *   QID: Milter: from=<A>, reject=TEXT       → RCPT_REJECT, from = A
 *   QID: Milter: connect: host=H, addr=IP, reject=TEXT / helo=H, reject=TEXT
 *        → RCPT_REJECT with client (NOQUEUE_REJECT without a queue ID);
 *        "tempfail" and "discard" instead of reject= likewise (reason_text is
 *        the word).  All blocked.
 *   QID: Milter: ..., quarantine=TEXT, QID: milter=NAME, quarantine=TEXT,
 *   QID: quarantine=TEXT, QID: quarantine: TEXT
 *                                            → HOLD quarantined, reason_text
 *   QID: unquarantine / QID: unquarantine: TEXT → RELEASED
 *   QID: discarded                           → RCPT_REJECT blocked, whole message
 *   QID: any other text (Milter add/change/insert/delete, "Milter: no active
 *        filter", "SMTP outgoing connect on", "Saved message in ...", SYSERR,
 *        "headers too large", ...)          → INFO
 *
 *   Session chatter, with or without a queue ID (a SKIP carries none):
 *   "lost input channel", "timeout waiting for input", "did not issue
 *   MAIL/EXPN/VRFY/ETRN", "possible SMTP attack", "rejecting commands from",
 *   "Null connection", "collect: ...", "Broken pipe", "... [ip]: VRFY|EXPN
 *   ..." → SKIP "sendmail connection" (or "sendmail command rejected");
 *   "STARTTLS=...", "STARTTLS: ...", "TLS ..." → SKIP "sendmail tls";
 *   "AUTH=server" without a queue ID, "AUTH=client", "AUTH failure ...",
 *   "AUTH: ..." → SKIP "sendmail auth"; "Authentication-Warning: ..." → SKIP
 *   "sendmail warning"; "starting daemon", "restarting", "stopping daemon",
 *   "started as", "accepting connections again", "rejecting connections on
 *   daemon", "grew WorkList" → SKIP "sendmail daemon"; "alias database ...
 *   rebuilt", "/etc/mail/aliases: N aliases, ..." → SKIP "sendmail aliases";
 *   "SYSERR(...)" and "NOQUEUE: SYSERR" → SKIP "sendmail error";
 *   "NOQUEUE: connect from ..." → SKIP "sendmail connection"; "NOQUEUE:
 *   tcpwrappers (NAME, IP) rejection" → NOQUEUE_REJECT (client refused).
 *   Anything else without a queue ID → UNKNOWN "sendmail: unrecognised".
 */
#ifndef ML_SENDMAIL_H
#define ML_SENDMAIL_H

#include "event.h"
#include "util.h"

/* 1 when program is one of Sendmail's syslog tags (see above). */
int ml_sendmail_is_program(ml_slice_t program);

/* Parse msg, the message part of a Sendmail syslog line.  Always fills ev;
 * ev->kind is ML_EV_UNKNOWN with ev->reason set when the line is not
 * understood.  Slices point into msg. */
void ml_sendmail_parse(ml_slice_t msg, ml_event_t *ev);

/* 1 when s has the shape of a Sendmail queue ID. */
int ml_sendmail_is_qid(ml_slice_t s);


#endif
