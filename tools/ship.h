/*
 * ship.h — `mtalog ship`: follow mail logs on an MTA host and publish each
 * line to the cluster's JetStream stream (tools/cluster.h), for the shard
 * nodes to store (tools/shard.h).
 *
 * The files are followed by the ingest pipeline itself (tools/follow.h:
 * rotation both ways, rotated and .gz copies, checkpoints, SIGINT/SIGTERM)
 * with a sink in place of the parser: each line becomes one message on
 * mtalog.lines.<host>, published asynchronously with at most --window
 * messages waiting for their JetStream acknowledgement.  The checkpoints
 * live in a small database of the shipper's own (--state, an mtalog
 * database that holds only checkpoints and counters).
 *
 * Exactly once, from the shipper's side: a commit of the state (which moves
 * the checkpoints to the end of the lines read) waits until every line
 * published before it is acknowledged by the stream; a line whose
 * acknowledgement failed or timed out is published again (same message id)
 * until it is.  A shipper killed at any point restarts from checkpoints
 * that are behind or at what the stream holds; the lines it publishes again
 * carry the same Nats-Msg-Id (first-line hash and byte offset) and the
 * stream drops them as duplicates within its duplicate window.
 *
 * State: one ship_t a run: the connection, the subject, the publish options,
 * the count of lines published and not yet acknowledged (inflight) and the
 * lines whose acknowledgement failed (retry: owned by the shipper until
 * published again), both under a mutex since acknowledgements arrive on the
 * NATS library's thread.
 */
#ifndef ML_SHIP_H
#define ML_SHIP_H

/* `mtalog ship [options] PATH...`; argv[0] is "ship".  Exit status as ingest. */
int ml_ship_main(int argc, char **argv);

#endif
