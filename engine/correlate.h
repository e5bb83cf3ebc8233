/*
 * correlate.h — folding events into messages.
 *
 * The correlator keeps the messages of the current batch in a hash table
 * keyed by xxh3 of (lowercased host, '\0', queue ID).  A line about a queue
 * ID that is not in the table is first looked up through the caller's `load`
 * function (the messages still in flight from earlier batches or runs, kept
 * by the store); if that finds nothing, a new message starts.  A message is
 * closed by Postfix's "removed", Exim's "Completed" or an administrator's
 * delete: it stays in the table until the batch ends (so that nothing loads
 * the version stored before it closed), and the next line about its queue ID
 * starts a new message.  A cleanup or milter reject closes it too (no
 * "removed" follows) but it keeps taking the lines cleanup writes after the
 * reject.  A NOQUEUE reject is a closed message of its own.  The one line
 * about a closed message's queue ID that still joins it: its original's
 * "sender non-delivery notification: QID" up to a minute after the notice
 * began, in the same batch (the bounce daemon logs it after it queued the
 * notice, which a discard can deliver and remove first).
 *
 * Filter lines that name a message-id and no queue ID (spamd, amavis and
 * rspamd in some setups) join the message that has that message-id on the
 * same host: the correlator keeps, across batches, which queue ID last had
 * each message-id (a direct-mapped cache of 65536 entries: a collision
 * forgets the older one), and finds the message in this batch or, through
 * `load`, in flight in storage; when the cache does not know the message-id
 * (a run that began after the message did, a collision), the newest message
 * in flight in storage with it on that host (ML_HOP_BY_MSGID), so that where
 * a run was stopped does not change which message a line joins.  A filter line that comes before the
 * message's message-id waits (a copy of it, up to 16384 lines, for up to an
 * hour of log time, across batches) and is folded into the message when a
 * line gives it that message-id.  A message already closed in an earlier
 * batch is not reopened: a line about it after that stays apart.
 *
 * Chains (engine/message.h): a delivery whose reply names the next hop's
 * queue ID (engine/nexthop.h: "queued as NEXT", "id=NEXT", "NEXT Message
 * accepted") links the row to the message NEXT, on this host (a content
 * filter, a second instance) or another (the next tier), once both are
 * known: when the dirty messages are asked for, each row naming a next hop
 * looks for it in the batch, then in storage (`hops`, below); each new
 * message that came in from a client looks for a message waiting for it
 * (next_qid set, no row handed on yet) the same way (a waiting message
 * first seen up to a day before); and a next hop stored before the batch,
 * linked already, whose first hop is not in the batch, looks for that first
 * hop's rows that name it and are not handed on yet (a row of a recipient
 * the next hop had no row of when they were linked), so that where a run
 * stopped does not change the links.  A candidate (a message of that queue ID
 * on any host) is the next hop only when it was first seen from 30 minutes
 * before to 10 minutes after the delivery; was not rejected; has no rows
 * yet or one of the recipient; is on loopback (its client) exactly when
 * the relay is; has the same message-id when both have one; and is not
 * named against twice (its client name not the first hop's host, the
 * relay's name not its host).  The message-ids agreeing and the names
 * agreeing make a candidate surer; of two as sure, neither is linked.  (A
 * client's address and the relay's are of two hosts: they are not
 * compared.)  Until it is found the row shows its own status (delivered to
 * the next hop).  Linked, the row is
 * handed on and the next hop continues the message: it takes the first
 * hop's client, and its sender, message-id and subject when it has none,
 * and its row of the recipient gets the original address.  A recipient
 * the next hop refused at RCPT is the first hop's bounced row (whose reply
 * holds the refusal): the next hop's row of it (blocked, a NOQUEUE reject
 * or a row of the message) is handed on to that row, and a NOQUEUE reject
 * continues the first hop (found the same way, by the recipient, the time
 * and the reply).  Stored messages a link changes join the dirty ones
 * (with their docids: stored again).
 *
 * Every message touched since the last ml_corr_done() is on the dirty list,
 * once.  The caller stores the dirty messages, then calls ml_corr_done(),
 * which frees every message: in-flight ones are reloaded through `load` when
 * their next line comes.  So memory is bounded by one batch.
 *
 * Direction is set on each dirty message by ml_corr_dirty(): the sender is
 * local when its domain is a local domain or it authenticated with SASL, a
 * recipient when its to or orig_to is in a local domain; internal when the
 * sender and every recipient (at least one) are local, else inbound when a
 * recipient is, else outbound when the sender is.  Local domains are
 * configured (ml_corr_local_domain) and learned from local deliveries (local,
 * virtual, lmtp agents); newly learned ones are reported by
 * ml_corr_new_domains() so the caller can store them with the batch and
 * decide again, with ml_corr_direction(), the messages it stored before.
 *
 * Ownership: the correlator owns every message it hands out; the pointers
 * from ml_corr_dirty() are valid until ml_corr_done().
 */
#ifndef ML_CORRELATE_H
#define ML_CORRELATE_H

#include "engine/event.h"
#include "engine/message.h"
#include "engine/syslog.h"

typedef struct ml_corr ml_corr_t;

/* Fill m (reset, empty) with the in-flight message (host, qid) from storage:
 * 0 when found, ML_ENOTFOUND when not, another negative code on error. */
typedef int (*ml_corr_load_fn)(void *ctx, ml_slice_t host, ml_slice_t qid, ml_message_t *m);

int ml_corr_new(ml_corr_t **out, ml_corr_load_fn load, void *ctx);

/* Storage of the hops a chain links to.  find: the docids (newest first, at
 * most cap, *n of them) of the stored messages first seen from since_us to
 * until_us whose queue ID is key (ML_HOP_BY_QID), that wait for a next hop
 * of queue ID key (ML_HOP_BY_NEXT), with a recipient key (ML_HOP_BY_RCPT),
 * or with message-id key (ML_HOP_BY_MSGID: a filter line's message when the
 * correlator's cache does not know it, as after a restart);
 * get: one of them into m (reset, empty), whole, or its fields and rows
 * only (lines = 0: no lines, cheaper).  Both return 0 or a negative code. */
enum { ML_HOP_BY_QID = 0, ML_HOP_BY_NEXT = 1, ML_HOP_BY_RCPT = 2, ML_HOP_BY_MSGID = 3 };
typedef struct {
	int (*find)(void *ctx, int by, ml_slice_t key, int64_t since_us, int64_t until_us,
	            uint64_t *docids, size_t cap, size_t *n);
	int (*get)(void *ctx, uint64_t docid, int lines, ml_message_t *m);
	void *ctx;
} ml_corr_hops_t;
/* Without it, hops are linked within a batch only. */
void ml_corr_set_hops(ml_corr_t *c, const ml_corr_hops_t *hops);
void ml_corr_free(ml_corr_t *c);

/* Fold one parsed line (h its header, ev its event, line the raw bytes). */
int ml_corr_add(ml_corr_t *c, const ml_syslog_t *h, const ml_event_t *ev,
                const char *line, size_t n);

/* Link the hops of the dirty messages (above); ml_corr_dirty does it too,
 * and this gives its error: 0, or a negative code (what was linked stays). */
int ml_corr_link(ml_corr_t *c);
/* The dirty messages (links their hops and sets their direction first). */
size_t ml_corr_dirty(ml_corr_t *c, ml_message_t ***msgs);
/* Forget every message (after the dirty ones were stored). */
void ml_corr_done(ml_corr_t *c);
/* Forget every message as ml_corr_done does, but hand the dirty ones over
 * instead of freeing them (directions set): the caller owns the array
 * (free) and each message (ml_message_free, free).  A writer that stores
 * them while the next batch is folded; the load function must then find
 * the ones still in flight among them (the store has them only later). */
size_t ml_corr_detach(ml_corr_t *c, ml_message_t ***msgs);
/* Messages held now (dirty ones). */
size_t ml_corr_count(const ml_corr_t *c);

/* The direction of m under the local domains known now (set in m too): for
 * a message stored before a domain was learned. */
ml_direction_t ml_corr_direction(const ml_corr_t *c, ml_message_t *m);

/* A local domain; learned = 1 when it comes from a delivery (reported by
 * ml_corr_new_domains), 0 when configured or loaded. */
int ml_corr_local_domain(ml_corr_t *c, const char *d, size_t n, int learned);
/* Every local domain of src into dst (as configured ones): a copy of the
 * set for a thread that decides directions (ml_corr_direction on dst)
 * while src goes on learning. */
int ml_corr_copy_domains(ml_corr_t *dst, const ml_corr_t *src);
/* Call fn for each domain learned since the last call. */
void ml_corr_new_domains(ml_corr_t *c, void (*fn)(void *ctx, const char *d, size_t n), void *ctx);

#endif
