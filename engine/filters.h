/*
 * filters.h — the parser for the content filters and milters that run beside
 * an MTA: the message part of one of their syslog lines made into one
 * ml_event_t.
 *
 * A content filter sees a message between two passes through the MTA (amavis:
 * Postfix hands it over under one queue ID and gets it back under another);
 * a milter sees it while the MTA still holds it (one queue ID).  The filter's
 * line is an event of that message: ML_EV_FILTER (event.h), keyed by the
 * queue ID the filter names, else by the message-id.  A line that names
 * neither is chatter.
 *
 * ml_filters_parse() is a pure function of (program, msg): no state, no
 * allocation, no NUL-termination assumed; every slice of the event points into
 * msg, or to a static string (`reason` keys; spamd's verdicts "spam" /
 * "clean").
 *
 * Programs (the syslog tag without "[pid]", or its last '/' component):
 *
 *   amavis, amavisd, amavisd-new
 *     "(PID-NN) VERB CATEGORY[ (DETAILS)] {ACTIONS}, [IP]:PORT [IP] [PROTO] <FROM> ->
 *      <A>,<B>, [quarantine: Q, ]Queue-ID: QID, Message-ID: <ID>, mail_id: M, Hits: H,
 *      size: N, queued_as: NEWQID, Subject: ..., NNN ms"      (fields optional)
 *       VERB Passed, Released                → FILTER delivered
 *       VERB Blocked, Not-Delivered          → FILTER blocked; quarantined when ACTIONS
 *                                              holds "Quarantined" or there is a quarantine:
 *       verdict = "VERB CATEGORY" ("Passed CLEAN", "Blocked INFECTED"); reason_text = the
 *       same with DETAILS ("Blocked INFECTED (Eicar-Test-Signature)"); client_ip = the
 *       "[IP]:PORT" (the MTA's SMTP client; else the first "[IP]"); from (empty for "<>",
 *       from_set = 1); filter_rcpts = "<A>,<B>"; quarantine; qid = Queue-ID; msgid;
 *       score = Hits ("-" → empty); size; other_qid = queued_as (its first ID when
 *       several are joined by '/').  Keys are read only before ", Subject: " (the
 *       header values after it are free text).  A line with no Queue-ID, Message-ID nor
 *       queued_as → SKIP "amavis no message key".
 *     amavis splits a long line: the first part ends in "...", the rest follows as
 *     "(PID-NN) ...TEXT" → SKIP "amavis continuation".  A value cut by the split is
 *     dropped (a key that lands in the continuation is not seen).
 *     Any other "(PID-NN) ..." line (Checking:, p.path, SPAM-TAG, ...) → SKIP "amavis";
 *     daemon chatter without the "(PID-NN)" prefix → SKIP "amavis"; else UNKNOWN.
 *   rspamd, rspamd_proxy
 *     "[<UID>; ][MODULE; ]rspamd_task_write_log: id: <ID>, qid: <QID>, ip: IP,
 *      [user: U, ]from: <A>, (default: F (ACTION): [SCORE/REQUIRED] [SYMBOLS]), len: N,
 *      time: T, ..., rcpts: <A,B>, ..."  (also "(ACTION): [..] [..]" without "default:";
 *      the file log's "YYYY-MM-DD HH:MM:SS[.fff] #PID(PROCESS) " prefix is skipped)
 *       → FILTER: qid, msgid ("undef" → empty), client_ip, from, filter_rcpts = "A,B",
 *         verdict = ACTION, score = SCORE, reason_text = SYMBOLS; status: reject, soft
 *         reject, greylist, discard → blocked; quarantine → quarantined; no action, add
 *         header, rewrite subject → delivered.  No qid and no id → SKIP.
 *     other "<UID>; MODULE; FUNCTION: ..." lines → SKIP "rspamd"; else UNKNOWN.
 *   spamd
 *     "spamd: result: Y|. SCORE - SYMBOLS scantime=..,size=N,user=..,uid=..,
 *      required_score=..,rhost=..,raddr=..,rport=..,mid=<ID>,autolearn=.."
 *       → FILTER keyed by msgid (no queue ID): verdict "spam" (Y) or "clean", score,
 *         reason_text = SYMBOLS, size; status none (the caller of spamd decides).
 *         mid=(unknown) → SKIP "spamd no message-id".
 *     "spamd: identified spam ...", "clean message ...", "connection from", "processing
 *     message", "prefork: ..." and other "word: " lines → SKIP "spamd"; else UNKNOWN.
 *   clamav-milter
 *     "[QID: ]Message [QID ]from <A> to <B>[ with subject ...] infected by VIRUS",
 *     "Message QID infected by VIRUS"          → FILTER blocked, verdict "infected",
 *                                                reason_text "infected by VIRUS"
 *     "[QID: ]Clean message [QID ][from <A> to <B>...]", "QID: clean" → FILTER delivered
 *     any other "QID: TEXT" → FILTER status none, verdict TEXT; else SKIP "clamav-milter".
 *   opendkim, opendmarc
 *     "QID: TEXT" → FILTER status none, verdict = TEXT ("DKIM-Signature field added
 *     (s=.., d=..)", "s=sel d=example.com SSL error..."), reason_text = TEXT; opendmarc
 *     "QID: DOMAIN RESULT" → verdict RESULT ("pass", "fail", "none").  Lines without a
 *     queue ID → SKIP "opendkim" / "opendmarc".
 *   policyd-spf
 *     A policy server before the queue: its lines name no queue ID.  "prepend
 *     Received-SPF: ...", results, reject replies, start-up → SKIP "policyd-spf"; else
 *     UNKNOWN.
 *   MailScanner
 *     "Message QID from IP (FROM) to DOMAINS is VERDICT[, DETAILS]" → FILTER status
 *       none: qid, client_ip, from, filter_rcpts = DOMAINS, verdict ("spam", "not spam"),
 *       reason_text = from VERDICT to the end, score = "score=" of the details.
 *     "Requeue: QID[.X] to NEWQID" → FILTER delivered, other_qid = NEWQID.
 *     "Spam Actions: message QID actions are LIST" → FILTER, verdict = LIST: delete or
 *       bounce → blocked, store without deliver → quarantined, deliver → delivered.
 *     anything else → SKIP "MailScanner".
 *
 * Queue IDs: a labelled value (Queue-ID:, qid:, queued_as:) is taken when it is a
 * token of 1 to 64 characters of [A-Za-z0-9._-] (ml_filters_is_qid); a "QID: " line
 * prefix needs the stricter shape of an MTA queue ID (6 to 32 of [A-Za-z0-9-] with a
 * digit), so that "ERROR: " is not one.
 */
#ifndef ML_FILTERS_H
#define ML_FILTERS_H

#include "event.h"
#include "util.h"

/* 1 when program (a syslog tag, "[pid]" allowed) is one of the programs above. */
int ml_filters_is_program(ml_slice_t program);

/* Parse msg (the text after "program[pid]: ").  Always fills ev; ev->kind is
 * ML_EV_UNKNOWN with ev->reason "<program>: unrecognised" when the line is not
 * understood. */
void ml_filters_parse(ml_slice_t program, ml_slice_t msg, ml_event_t *ev);

/* 1 when s is acceptable as a labelled queue ID (see above). */
int ml_filters_is_qid(ml_slice_t s);


#endif
