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
 * reject.  A NOQUEUE reject is a closed message of its own.
 *
 * Filter lines that name a message-id and no queue ID (spamd, amavis and
 * rspamd in some setups) join the message that has that message-id on the
 * same host: the correlator keeps, across batches, which queue ID last had
 * each message-id (a direct-mapped cache of 65536 entries: a collision
 * forgets the older one), and finds the message in this batch or, through
 * `load`, in flight in storage.  A filter line that comes before the
 * message's message-id waits (a copy of it, up to 16384 lines, for up to an
 * hour of log time, across batches) and is folded into the message when a
 * line gives it that message-id.  A message already closed in an earlier
 * batch is not reopened: a line about it after that stays apart.
 *
 * Chains: a delivery to a content filter on loopback whose reply says
 * "queued as NEXT" links the message to NEXT while NEXT is in flight (see
 * engine/message.h).
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
void ml_corr_free(ml_corr_t *c);

/* Fold one parsed line (h its header, ev its event, line the raw bytes). */
int ml_corr_add(ml_corr_t *c, const ml_syslog_t *h, const ml_event_t *ev,
                const char *line, size_t n);

/* The dirty messages (sets their direction first). */
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
/* Call fn for each domain learned since the last call. */
void ml_corr_new_domains(ml_corr_t *c, void (*fn)(void *ctx, const char *d, size_t n), void *ctx);

#endif
