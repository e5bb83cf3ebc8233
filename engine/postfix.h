/*
 * postfix.h — the Postfix parser: the message part of one line written by a
 * Postfix daemon, made into one ml_event_t.
 *
 * Postfix's program tag is "postfix/DAEMON", or with a multi-instance or
 * per-service syslog_name "postfix-out/DAEMON", "postfix/submission/smtpd":
 * the daemon is the last path component.  The parser is a pure function of
 * (program, msg): no state, no allocation; the event's slices point into msg
 * or to static strings.
 *
 * Queue IDs: short (hex, 6+ characters, "0F5383D") and long
 * (enable_long_queue_ids: 10+ base-52 characters, then 'z' and more, e.g.
 * "4Qx3Fh1Lm8zJfK").  A token before ": " is a queue ID only when it has one
 * of these shapes.
 */
#ifndef ML_POSTFIX_H
#define ML_POSTFIX_H

#include "event.h"
#include "util.h"

/* 1 when program is a Postfix daemon tag ("postfix/...", "postfix-xyz/..."). */
int ml_postfix_is_program(ml_slice_t program);

/* Parse msg (the text after "program[pid]: ").  Always fills ev; ev->kind is
 * ML_EV_UNKNOWN with ev->reason set when the line is not understood. */
void ml_postfix_parse(ml_slice_t program, ml_slice_t msg, ml_event_t *ev);

/* 1 when s has the shape of a Postfix queue ID (short or long). */
int ml_postfix_is_qid(ml_slice_t s);

#endif
