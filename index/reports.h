/*
 * reports.h — what recipients reported: a message marked as spam or phishing
 * by a person (the page's POST /api/messages/ID/report, `mtalog report`) or
 * by a spam filter that learned it as spam on their word (engine/learn.h).
 * A report changes no status: it is a mark that the status filter
 * "reported" selects, shown beside the rows and in the message.
 *
 * Table "reports" (index/store.h), one entry a report:
 *
 *   key    docid (8, BE) | at: microseconds since the epoch (8, BE) |
 *          source (1: ML_REPORT_SRC_*) | kind (1: ML_REPORT_*) |
 *          by (0 .. ML_REPORT_BY_MAX bytes: who, as given; empty: not known)
 *   value  host '\0' queue ID '\0' message-id: the message as it was when
 *          reported, to find it again should a reparse give it another docid
 *
 * A message has at most one report of each (source, kind, by): the same
 * again (a learning line read again, a second click) changes nothing, the
 * first stands.
 *
 * Index: a message with at least one report has the posting 'S' "reported"
 * (index/tokens.h's status tag, in its docid's day), added with its first
 * report and removed with its last (prune).  tokens.c does not make it, so
 * the writer, which replaces a message's postings by the difference between
 * its old and new terms, never touches it; a rebuild (reindex, reparse),
 * which empties the postings, calls ml_reports_reapply before it commits.
 *
 * Reading: ml_reports_has is one cursor seek; searches set ML_MSG_REPORTED
 * (engine/message.h: never stored in a row) on the messages they decode.
 * A database written before this table existed has none until it is opened
 * for writing; readers then see no report (s->reports == 0).
 *
 * Ownership: nothing returned points into the map after a call returns.
 */
#ifndef ML_REPORTS_H
#define ML_REPORTS_H

#include <lmdb.h>
#include <stdint.h>

#include "engine/message.h"
#include "index/store.h"

enum { ML_REPORT_SRC_USER = 1, ML_REPORT_SRC_RSPAMD = 2, ML_REPORT_SRC_SPAMASSASSIN = 3 };
enum { ML_REPORT_SPAM = 1, ML_REPORT_PHISHING = 2 };
#define ML_REPORT_BY_MAX 64
#define ML_REPORT_TERM "reported"   /* the 'S' term of a reported message */

typedef struct {
	uint64_t docid;
	int64_t at_us;
	int source;                     /* ML_REPORT_SRC_* */
	int kind;                       /* ML_REPORT_* */
	char by[ML_REPORT_BY_MAX + 1];  /* NUL-terminated; "" not known */
} ml_report_t;

/* "user", "rspamd", "spamassassin"; "spam", "phishing" (NULL: unknown). */
const char *ml_report_source_name(int source);
const char *ml_report_kind_name(int kind);
/* The number of a name (0: unknown). */
int ml_report_source_parse(const char *name, size_t n);
int ml_report_kind_parse(const char *name, size_t n);

/* Store report r of message m (decoded: its host, queue ID and message-id
 * are kept; m->docid must be r->docid) in the write transaction txn, with
 * the posting when it is the message's first.  *added (may be NULL): 1 when
 * the report is new.  ML_EINVAL for a bad source, kind or `by`. */
int ml_reports_add(MDB_txn *txn, ml_store_t *s, const ml_report_t *r, const ml_message_t *m, int *added);

/* 1 when docid has a report, 0 when not (or on a read error). */
int ml_reports_has(MDB_txn *txn, ml_store_t *s, uint64_t docid);

/* Each report of docid, oldest first; fn returns non-zero to stop. */
int ml_reports_each(MDB_txn *txn, ml_store_t *s, uint64_t docid,
                    int (*fn)(void *ctx, const ml_report_t *r), void *ctx);

/* Delete every report of docid and its posting (prune deletes the message).
 * *n (may be NULL): the reports deleted. */
int ml_reports_drop(MDB_txn *txn, ml_store_t *s, uint64_t docid, uint64_t *n);

/* Report every stored message whose message-id is msgid (n bytes), or,
 * when qn > 0, whose queue ID is qid: r without its docid (set for each).
 * *found: the messages reported (0: none known; the caller tallies it). */
int ml_reports_join(MDB_txn *txn, ml_store_t *s, const char *msgid, size_t n, const char *qid, size_t qn,
                    const ml_report_t *r, unsigned *found);

/* After a rebuild emptied the postings (same transaction): each report's
 * posting again.  A report whose docid no longer holds the message it was
 * made on (a reparse gave the message another docid) moves to the docid that
 * does, found by queue ID and host, else by message-id; one whose message is
 * found nowhere stays as it is, without a posting.  *moved (may be NULL):
 * the reports moved. */
int ml_reports_reapply(MDB_txn *txn, ml_store_t *s, uint64_t *moved);

/* Reports stored (stats). */
uint64_t ml_reports_count(MDB_txn *txn, ml_store_t *s);

#endif
