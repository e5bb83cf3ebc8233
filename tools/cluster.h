/*
 * cluster.h — what the shipper (tools/ship.h) and the shard nodes
 * (tools/shard.h) share: the NATS connection, the JetStream stream of log
 * lines, its subjects and the options that name them.
 *
 * Subjects:
 *   mtalog.lines.<host>        what a shipper publishes: one message a line
 *                              (the line without its '\n'), host = the
 *                              shipper's --host with '.', '*', '>' and
 *                              blanks written '_'
 *   mtalog.part.<P>.<host>     what the stream stores: the NATS server maps
 *                              the first to the second with
 *                              {{partition(N,1)}} (docs/cluster.md), so every
 *                              line of one host lands in one partition P in
 *                              0..N-1, and shard K of N reads mtalog.part.K.>
 * Headers of a line's message:
 *   Nats-Msg-Id    "<first-line hash, 16 hex>-<byte offset>+<bytes>" of the
 *                  line in its input (bytes: to the next line's start),
 *                  and "~<n>" after it when sent again after a failed
 *                  publish (tools/ship.h): the same line published again
 *                  after a crash before the checkpoint moved is a duplicate
 *                  the stream drops within its duplicate window
 *   Mtalog-Resume  on the first line of an input a shipper publishes after
 *                  starting from a checkpoint (not at byte 0)
 *   Mtalog-Mtime   the input's modification time (unix seconds): the year of
 *                  a traditional syslog timestamp is inferred from it, as a
 *                  local ingest of the file does
 *   Mtalog-Long    present when the line was cut at ML_LINE_MAX (its full
 *                  length)
 *
 * The stream (default name MTALOG) is created by the first shipper or shard
 * that finds none, with --replicas, --retention-age, --retention-bytes and
 * --dup-window; an existing stream is used as it is.
 *
 * Built without libnats (no ML_NATS), every entry point says so and fails.
 */
#ifndef ML_CLUSTER_H
#define ML_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define ML_CLUSTER_STREAM "MTALOG"
#define ML_CLUSTER_LINES_PFX "mtalog.lines."
#define ML_CLUSTER_PART_PFX "mtalog.part."
#define ML_CLUSTER_HDR_MTIME "Mtalog-Mtime"
#define ML_CLUSTER_HDR_LONG "Mtalog-Long"
#define ML_CLUSTER_HDR_RESUME "Mtalog-Resume"
#define ML_CLUSTER_HDR_HOST "Mtalog-Host"   /* ship --host NAME: the host of lines naming none */

/* The options of the NATS connection and of the stream, as given. */
typedef struct {
	const char *url;           /* --nats: one URL or several, comma-separated */
	const char *stream;        /* --stream (ML_CLUSTER_STREAM) */
	int replicas;              /* --replicas (1) */
	int64_t max_age_s;         /* --retention-age (0: none) */
	int64_t max_bytes;         /* --retention-bytes (0: none) */
	int64_t dup_window_s;      /* --dup-window (120) */
} ml_cluster_opts_t;

/* Defaults into o. */
void ml_cluster_opts_init(ml_cluster_opts_t *o);
/* If argv[*i] is one of the options above, take it (and its value) and
 * return 1; 0 when it is not one; -1 with a message when its value is bad. */
int ml_cluster_opt(ml_cluster_opts_t *o, const char *cmd, int argc, char **argv, int *i);
/* The usage lines of those options. */
extern const char ml_cluster_usage[];

/* 1 when a command line (argv[0]: the command) names --nats: the command
 * goes to the cluster (ingest: a shard node; search, show, stats: ask the
 * shards). */
int ml_cluster_asked(int argc, char **argv);

/* 1 when this build has the cluster (libnats). */
int ml_cluster_available(void);

/* host written as a subject token into out (len bytes): '.', '*', '>' and
 * blanks become '_'; an empty host becomes "_". */
void ml_cluster_host_token(const char *host, char *out, size_t len);

#ifdef ML_NATS
#include <nats/nats.h>

/* Connect (reconnecting for ever, a buffer for what is published while
 * disconnected) and find or create the stream.  name: the client's name;
 * jo: the JetStream context's options (NULL: the defaults; Wait is set to
 * 10 s when 0).  On failure returns an ML_E code, writes why into err and
 * leaves *nc and *js NULL. */
int ml_cluster_connect(const ml_cluster_opts_t *o, const char *name, jsOptions *jo, natsConnection **nc,
                       jsCtx **js, char *err, size_t errlen);
void ml_cluster_close(natsConnection *nc, jsCtx *js);
#endif

#endif
