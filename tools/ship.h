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
 * published before it is acknowledged by the stream.  When an
 * acknowledgement fails or times out (SHIP_ACK_WAIT_MS), the shipper waits
 * for the others in flight, then publishes every line from the failed one
 * on again, in order (go-back-N), with a message id of this attempt (~gen):
 * lines after the failed one may have been stored already, and the shard
 * takes a line only where the one before it ended (tools/shard.h), so the
 * log's order survives and the copies are skipped.  A shipper killed at any
 * point restarts from checkpoints at or behind what the stream holds; its
 * first line of each input says so (Mtalog-Resume); the lines it publishes
 * again carry the first attempt's Nats-Msg-Id (first-line hash, byte offset
 * and length) and the stream drops them within its duplicate window (the
 * shard skips any that get through).
 *
 * State: one ship_t a run: the connection, the subject, the publish options,
 * and a ring of the last --window lines published (their bytes, kept until
 * they and every line before them are acknowledged), under a mutex since
 * acknowledgements arrive on the NATS library's thread.
 */
#ifndef ML_SHIP_H
#define ML_SHIP_H

/* `mtalog ship [options] PATH...`; argv[0] is "ship".  Exit status as ingest. */
int ml_ship_main(int argc, char **argv);

#endif
