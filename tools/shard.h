/*
 * shard.h — `mtalog ingest --nats URL --shard K/N`: a shard node.  It reads
 * the lines of the hosts in partition K of the cluster's stream
 * (mtalog.part.K.*, tools/cluster.h) and stores them in its own database
 * through the ingest pipeline (tools/ingest.h), as a local ingest of those
 * hosts' logs would.
 *
 * Partitioning is the NATS server's: the subject mapping
 * mtalog.lines.* -> mtalog.part.{{partition(N,1)}}.{{wildcard(1)}} puts
 * every line of one host into one partition, so each message is correlated
 * in one place.  N of --shard must be the N of that mapping.
 *
 * Exactly once: the stream sequence of the last line of a batch is stored
 * in the database (meta ML_META_STREAM_SEQ) in the transaction that stores
 * the batch's messages.  At start the node makes its durable pull consumer
 * (mtalog-shard-K-N, AckAll) afresh, starting at that sequence + 1, so the
 * database alone says where to resume: lines before it were stored, lines
 * after it were not.  A line whose sequence is at or below the last one fed
 * (a redelivery) is skipped.  A delivery missing (the consumer's delivery
 * numbers jump: messages sent while a server went away) or a failed fetch
 * makes the consumer again from the last sequence fed.  So does a consumer
 * led by a NATS server that is behind the stream (started again and not
 * caught up yet, or its catch-up stalled: nats-server 2.9.10 was seen
 * retrying one for minutes), as it delivers only what that server holds
 * (a consumer's leader is any server of the stream's): checked when
 * the consumer is made (the server does not hold the last sequence fed,
 * which the stream's leader holds) and every SHARD_CHECK_MS while nothing
 * comes (the server says nothing is pending but has not reached the
 * stream's last sequence of the check before).  That check also makes the
 * consumer again when it says it delivered more than the node got and
 * nothing more came since the check before (deliveries lost with none
 * after them to show the gap).  The last message of a consumer made before
 * is not acknowledged (AckAll by its delivery number would acknowledge the
 * new consumer's).  After each commit
 * the batch's last message is acknowledged (AckAll: the batch with it),
 * which shows the consumer's lag to the operator but decides nothing.
 *
 * Order and duplicates of one input: a shipper that saw a publish fail sends
 * every line from that one again (tools/ship.h), so the stream may hold a
 * line twice, or a line before the one that precedes it in the log.  Each
 * input (first-line hash, from the message id) has a position in the
 * database (meta ML_META_STREAM_INPUT_PFX + hash: the end of its last line
 * stored, written with the batch); a line is taken only when it starts
 * there (or at 0 for an input never seen, or where a shipper says it resumes
 * after a restart, Mtalog-Resume); others are skipped and counted.  A node down for a while resumes from
 * its sequence as long as the stream keeps the lines (--retention-age,
 * --retention-bytes); when the stream has dropped some of them, the node
 * says how many sequences it skipped.
 *
 * Searches: before it connects, the node forks the process that answers
 * the cluster's questions about its database (tools/coord.h); it stops it
 * when it stops, and a node killed takes it along (PR_SET_PDEATHSIG).
 *
 * State: one shard_t a run: the connection, the pull subscription, the last
 * sequence stored and fed, the last message fed (kept to be acknowledged),
 * and a syslog context per host (the year of traditional timestamps is
 * inferred per host as a local ingest does per file).
 */
#ifndef ML_SHARD_H
#define ML_SHARD_H

/* `mtalog ingest --nats URL --shard K/N [options]`; argv[0] is "ingest". */
int ml_shard_main(const char *db, int argc, char **argv);

#endif
