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
 * (a redelivery) is skipped.  After each commit the batch's last message is
 * acknowledged (AckAll: the batch with it), which shows the consumer's lag
 * to the operator but decides nothing.  A node down for a while resumes from
 * its sequence as long as the stream keeps the lines (--retention-age,
 * --retention-bytes); when the stream has dropped some of them, the node
 * says how many sequences it skipped.
 *
 * State: one shard_t a run: the connection, the pull subscription, the last
 * sequence stored and fed, the last message fed (kept to be acknowledged),
 * and a syslog context per host (the year of traditional timestamps is
 * inferred per host as a local ingest does per file).
 */
#ifndef ML_SHARD_H
#define ML_SHARD_H

/* 1 when the ingest command line asks for a shard node (--nats). */
int ml_shard_wanted(int argc, char **argv);
/* `mtalog ingest --nats URL --shard K/N [options]`; argv[0] is "ingest". */
int ml_shard_main(const char *db, int argc, char **argv);

#endif
