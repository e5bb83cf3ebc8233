/*
 * message.h — the domain model: one message (one pass of a mail through one
 * MTA, from queue ID assigned to queue entry removed) and its rows (one per
 * recipient delivery attempt outcome).
 *
 * Ownership: an ml_message_t owns two buffers.  `strs` holds every string
 * field; fields are ml_str_t {off, len} into it, so growing the buffer never
 * invalidates a field.  `raw` holds the message's raw log lines, each ending
 * in '\n', in the order they were seen.  Invariants: every ml_str_t lies
 * inside strs; raw.len == 0 or raw ends with '\n'; nlines counts the lines in
 * raw; rcpts[0..nrcpts) are the rows in the order they first appeared.
 *
 * A message taken up again from storage to go on (in flight at a commit)
 * need not carry the lines already stored: raw_base > 0 says that its first
 * raw_base lines (raw_base_bytes bytes) are those of its stored version,
 * and raw, seqs and nlines hold only the lines after them.  The writer joins
 * the two when it stores the message again (index/writer.h).  A message read
 * to be shown or searched always has raw_base 0.
 *
 * A chain: a message handed to a content filter on the same host comes back
 * under a new queue ID; one relayed to the next MTA (another host, another
 * instance) gets a queue ID there (engine/correlate.h says when two are
 * linked).  The first hop's rows that went on are flagged ML_RCPT_HANDED_ON
 * and its next_qid names the next hop, whose prev_qid names it back and
 * which is ML_MSG_CONTINUED: the rows a user sees are the last hop's, and
 * the chain counts as one message.  next_qid set with no row handed on: a
 * delivery's reply named the next hop, not seen yet (its row shows as
 * delivered meanwhile).
 *
 * A row (ml_rcpt_t) carries its final-recipient address `to`, the address
 * before alias expansion `orig_to` (may be empty), its status and the latest
 * reason, DSN, relay, delay.  A message with no row yet (accepted, nothing
 * delivered) shows one row with an empty `to` and status `queued` in search
 * output; that row is not stored.
 *
 * Times are microseconds since the Unix epoch, UTC.
 */
#ifndef ML_MESSAGE_H
#define ML_MESSAGE_H

#include <stdint.h>

#include "util.h"

typedef enum {
	ML_ST_NONE = 0,
	ML_ST_DELIVERED,
	ML_ST_DELAYED,
	ML_ST_BOUNCED,
	ML_ST_EXPIRED,
	ML_ST_QUEUED,
	ML_ST_QUARANTINED,
	ML_ST_BLOCKED,
	ML_ST__COUNT
} ml_status_t;

/* "delivered", ... ; "" for ML_ST_NONE. */
const char *ml_status_name(ml_status_t st);
/* Status from its name; ML_ST_NONE when unknown. */
ml_status_t ml_status_parse(const char *name, size_t n);

typedef enum {
	ML_DIR_UNKNOWN = 0,
	ML_DIR_INBOUND,
	ML_DIR_OUTBOUND,
	ML_DIR_INTERNAL,  /* the sender and every recipient local (engine/correlate.h) */
} ml_direction_t;
const char *ml_direction_name(ml_direction_t d);

/* Message flags. */
enum {
	ML_MSG_CLOSED = 1u << 0,    /* queue entry removed: no more lines expected */
	ML_MSG_NOQUEUE = 1u << 1,   /* a NOQUEUE reject: never had a queue ID */
	ML_MSG_HELD = 1u << 2,      /* put on hold (quarantine) */
	ML_MSG_RELEASED = 1u << 3,  /* released from hold */
	ML_MSG_DELETED = 1u << 4,   /* deleted by the administrator (postsuper -d) */
	ML_MSG_EXPIRED = 1u << 5,   /* qmgr: status=expired, returned to sender */
	ML_MSG_REJECTED = 1u << 6,  /* cleanup reject:/discard:/milter-reject */
	ML_MSG_CONTINUED = 1u << 7, /* the continuation of prev_qid (after a content
	                               filter): not counted as a message of its own */
	ML_MSG_REPORTED = 1u << 8,  /* a recipient reported it (spam, phishing): never
	                               stored in the row; set when a search reads it,
	                               from the reports table (index/reports.h) */
};

/* Row flags. */
enum {
	ML_RCPT_HANDED_ON = 1u << 0,  /* handed to a content filter or the next MTA,
	                                 which queued the mail again as next_qid: the
	                                 row's fate is that message's; not shown, not
	                                 counted (also a next hop's RCPT reject that
	                                 the previous hop's bounced row tells) */
};

typedef struct {
	uint32_t off, len;
} ml_str_t;

typedef struct {
	ml_str_t to, orig_to, relay, dsn, reason;
	int64_t time_us;     /* time of the line that set the status */
	uint32_t delay_ms;   /* Postfix delay=, in milliseconds */
	uint8_t status;      /* ml_status_t */
	uint8_t flags;       /* ML_RCPT_* */
} ml_rcpt_t;

typedef struct ml_message {
	uint64_t docid;          /* 0 until first stored */
	uint64_t raw_key;        /* where the stored lines are (index/record.h); 0: not in a block */
	int64_t first_us, last_us;
	ml_str_t host, queue_id, from, message_id, subject;
	ml_str_t client_ip, client_name, sasl_user, helo;
	ml_str_t bounce_qid;     /* the queue ID of the bounce this message caused */
	ml_str_t orig_qid;       /* for a bounce: the queue ID of the original */
	ml_str_t prev_qid;       /* the queue ID this message continues (before a filter) */
	ml_str_t next_qid;       /* the queue ID that continues this message (after a filter) */
	uint64_t size;
	uint32_t nrcpt;          /* qmgr nrcpt= */
	uint32_t flags;          /* ML_MSG_* */
	uint8_t direction;       /* ml_direction_t */

	ml_rcpt_t *rcpts;
	uint32_t nrcpts, rcpts_cap;

	ml_buf_t strs;
	ml_buf_t raw;
	uint32_t nlines;
	uint32_t raw_dropped;    /* lines not kept because raw hit ML_MSG_RAW_MAX */
	uint32_t raw_base;       /* lines before raw's, in the stored version (above) */
	uint32_t raw_base_bytes; /* ... their bytes */
	/* Where each raw line came in the ingest's stream of lines (numbered
	 * across runs), so that a reparse can replay every stored line in its
	 * first order: seqs[i] for line i (0: not known), first_seq the
	 * smallest (also after a summary-only decode). */
	uint64_t *seqs;
	uint32_t seqs_cap;
	uint64_t first_seq;
} ml_message_t;

#define ML_MSG_RAW_MAX (4u << 20)
#define ML_MSG_RCPT_MAX 100000u

void ml_message_init(ml_message_t *m);
void ml_message_reset(ml_message_t *m);  /* empty, keeps memory */
void ml_message_free(ml_message_t *m);
/* dst (initialised; freed first) becomes a deep copy of src. */
int ml_message_copy(ml_message_t *dst, const ml_message_t *src);
/* The same without the lines: dst's raw_base counts every line of src
 * (src's stored ones and its own), which must all be stored by the time dst
 * is stored again. */
int ml_message_copy_row(ml_message_t *dst, const ml_message_t *src);
/* m's lines counted in raw_base and dropped (m taken up again from storage,
 * where they are). */
void ml_message_drop_lines(ml_message_t *m);

/* The bytes of a string field (not NUL-terminated). */
static inline ml_slice_t ml_message_str(const ml_message_t *m, ml_str_t s)
{
	return ml_slice(m->strs.data ? m->strs.data + s.off : "", s.len);
}
/* Store bytes as a string field. */
int ml_message_set(ml_message_t *m, ml_str_t *field, const char *p, size_t n);
/* Append a raw line (without its '\n'), number seq in the stream (0: none). */
int ml_message_add_line(ml_message_t *m, const char *p, size_t n, uint64_t seq);
/* A new row; returns its index or a negative error. */
int ml_message_add_rcpt(ml_message_t *m);
/* Index of the row whose to (and orig_to, when given) match; -1 if none. */
int ml_message_find_rcpt(const ml_message_t *m, ml_slice_t to, ml_slice_t orig_to);

/* 1 when a row of m is handed on to the next hop (ML_RCPT_HANDED_ON). */
int ml_message_handed_on(const ml_message_t *m);

/* The status a row shows; r may be NULL for a message with no row (the
 * status of its one implicit row: from the message's flags). */
ml_status_t ml_message_row_status(const ml_message_t *m, const ml_rcpt_t *r);

#endif
