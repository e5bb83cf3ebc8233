/*
 * learn.h — the lines a spam filter writes when it learns a message as spam
 * because a recipient said so (moved it to the Junk folder, pressed "report
 * spam"): made into ML_EV_REPORT events (engine/event.h), which mark the
 * message reported without changing any row's status.
 *
 * ml_learn_parse() is a pure function of (program, msg), as the filters'
 * parser is (engine/filters.h), whose dispatch calls it first: it returns 1
 * when the line is a report (ev filled), 0 when it is not (ev untouched; the
 * filters' parser goes on, and skips the other learning lines as chatter).  Every slice of the event
 * points into msg or to a static string.
 *
 * Lines (after the filters' prefixes: the file log's "YYYY-MM-DD HH:MM:SS
 * #PID(PROCESS) ", then "<UID>; MODULE; "):
 *
 *   rspamd, rspamd_proxy (the controller, which `rspamc learn_spam`, the web
 *   interface and Dovecot IMAPSieve's scripts talk to)
 *     "rspamd_controller_learn_fin_task: <IP> learned message as spam: MSGID"
 *       → REPORT: msgid = MSGID (angle brackets, if any, dropped), client_ip =
 *         IP, verdict "spam", reason "rspamd"; MSGID "undef" (no Message-ID
 *         header): not a report (0)
 *     "... learned message as ham: MSGID": not a report (0): the user took it
 *       out of Junk; no report is made or undone
 *
 * SpamAssassin: spamd's learning line (spamc -L spam, the TELL command) is
 * "spamd: Tell: Setting local for USER:UID in T seconds, N bytes": it names
 * neither the message-id nor whether it learned spam or ham (spamd parses the
 * Message-ID but does not log it, in SpamAssassin 4.0), and sa-learn logs
 * nothing by default (its debug output names SpamAssassin's own hash of the
 * body, "…@sa_generated").  No line of it can be joined to a message: spamd's
 * lines stay the filters' parser's (SKIP "spamd").
 */
#ifndef ML_LEARN_H
#define ML_LEARN_H

#include "event.h"
#include "util.h"

/* Source names of reports (also a report's "source" in JSON). */
#define ML_LEARN_SOURCE_RSPAMD "rspamd"

int ml_learn_parse(ml_slice_t program, ml_slice_t msg, ml_event_t *ev);

#endif
