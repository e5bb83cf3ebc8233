/*
 * dispatch.h — which parser reads a log line: one line in; its syslog
 * header, its event and the parser family out, or why it is skipped or not
 * understood.  The reader (tools/) only feeds lines, folds events and counts
 * the reasons.
 *
 * The order (first that applies):
 *   leading NUL bytes are dropped; nothing left: skip "empty line" (an empty
 *   line) or bad "NUL bytes only"; a NUL byte inside: bad "NUL byte inside
 *   the line";
 *   a syslog line (engine/syslog.h) is read by the parser its program tag
 *   names (postfix/..., exim, sendmail, a content filter: engine/filters.h),
 *   or, with a format other than ML_FORMAT_AUTO, every syslog line but a
 *   content filter's by that MTA's parser; another program: skip "NAME (not
 *   parsed)" for the mail-related programs we know, else skip "not a mail
 *   program";
 *   else a line of Exim's own log file (engine/exim.h; a continuation: skip
 *   "exim: continuation"), or of rspamd's own log file (same timestamp) when
 *   the Exim parser does not understand it, its host the context's (such
 *   files name none); else bad with the syslog
 *   parser's reason ("no timestamp", "bad timestamp", ...).
 * An event of kind SKIP or UNKNOWN is counted as "FAMILY: REASON" (its
 * reason without a leading "FAMILY " or "FAMILY: "; "not understood" /
 * "other" when it has none): skip, or bad for UNKNOWN.
 *
 * Ownership: the header's and the event's slices point into the line (or to
 * string constants); out->reason is the caller's buffer.  Pure but for the
 * timestamp contexts, which carry the year inference and the conversion
 * caches from one line to the next.
 */
#ifndef ML_DISPATCH_H
#define ML_DISPATCH_H

#include "engine/event.h"
#include "engine/exim.h"
#include "engine/syslog.h"

/* --format: auto decides per line by program tag or shape; a named one reads
 * every syslog line with that MTA's parser whatever its tag (an unusual
 * syslog_name). */
enum { ML_FORMAT_AUTO = 0, ML_FORMAT_POSTFIX, ML_FORMAT_EXIM, ML_FORMAT_SENDMAIL };

typedef enum {
	ML_DISP_EVENT = 0,  /* *h and *ev are a line to fold */
	ML_DISP_SKIP,       /* understood, nothing to keep: reason */
	ML_DISP_BAD,        /* not understood: reason */
} ml_disp_kind_t;

typedef struct {
	const char *p;       /* the line without its leading NUL bytes (the whole
	                        line for "NUL bytes only"): what to fold and sample */
	size_t n;
	const char *family;  /* "postfix", "exim", "sendmail", "filter"; NULL before a parser */
	char reason[96];     /* ML_DISP_SKIP / ML_DISP_BAD */
} ml_disp_t;

typedef struct {
	int format;              /* ML_FORMAT_* */
	ml_syslog_ctx_t *sc;     /* syslog timestamps */
	ml_exim_time_t *et;      /* Exim's own log timestamps */
	ml_slice_t host;         /* the host of lines that name none (Exim's and
	                            rspamd's own log files: ingest --host); empty:
	                            none */
} ml_disp_ctx_t;

ml_disp_kind_t ml_dispatch(const ml_disp_ctx_t *dc, const char *line, size_t n, ml_syslog_t *h,
                           ml_event_t *ev, ml_disp_t *out);

#endif
