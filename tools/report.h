/*
 * report.h — reports of messages (index/reports.h) from the tools' side: a
 * spam filter's learning line read by ingest (engine/learn.h), and a
 * person's report: `mtalog report ID [--reason spam|phishing] [--by NAME]`,
 * which the server's POST /api/messages/ID/report runs as a process of its
 * own (the server opens the database read-only and holds no write
 * transaction; a report waits for an ingest's commit like any writer).
 */
#ifndef ML_REPORT_H
#define ML_REPORT_H

#include <jansson.h>

#include "engine/event.h"
#include "engine/syslog.h"
#include "index/query.h"
#include "index/writer.h"

/* The report of an ML_EV_REPORT event (line header h); ML_EINVAL when its
 * source or kind is not known. */
int ml_report_of_event(const ml_syslog_t *h, const ml_event_t *ev, ml_report_t *r);
/* The same, queued in w. */
int ml_ingest_report(ml_writer_t *w, const ml_syslog_t *h, const ml_event_t *ev);

/* Report message docid in a write transaction of its own: kind, source
 * (ML_REPORT_*), by ("" not known), at_us (0: now).  *added: 1 when new.
 * ML_ENOTFOUND when there is no such message; err gets one line on error. */
int ml_report_message(ml_store_t *s, uint64_t docid, int kind, int source, const char *by, int64_t at_us,
                      int *added, char *err, size_t errlen);

/* Add "reports" to a message's JSON: [{"by", "at", "source", "kind"}],
 * oldest first ("by" null when not known); nothing when none. */
int ml_message_add_reports(json_t *j, ml_search_t *se, uint64_t docid);

/* `mtalog report` (argv[0] is "report"). */
int ml_report_cmd(const char *db, int argc, char **argv);

#endif
