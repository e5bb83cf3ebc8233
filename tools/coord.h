/*
 * coord.h — searching a cluster's shards (docs/cluster.md): each shard node
 * answers on NATS request-reply, and `search`, `show` and `stats` with
 * --nats fan a question out to every shard and merge the answers.
 *
 * The shard's side (ml_coord_responder): a process beside the shard node's
 * ingest (forked by it before either connects; it ends with its parent)
 * that opens the shard database read-only, as `serve` does beside `ingest`,
 * and answers on
 *   mtalog.search.<K>   request: {"q": {param: value, ...}} with the names of
 *                       ml_query_params, and optionally "cursor": "D[.K]" (the
 *                       page after it), "user": [address, ...] (a user who
 *                       sees those rows only, tools/page.h), "budget_ms": n
 *                       (the search's time; none without), "total": true (count the
 *                       whole match), "hist": true (count it by hour only);
 *                       reply: {"shard": K, "rows": [row, ...], "after":
 *                       [cursor after each row], "truncated": bool, "next":
 *                       cursor|null, "total", "total_exact", "scanned",
 *                       "complete", "examined", "stopped"?} (a page as
 *                       serve makes it, tools/page.h), or with "hist":
 *                       {"shard": K, "hist": {"newest_hour", "nhours",
 *                       "counts": [[hour index, status, n], ...], "total",
 *                       "complete", "stopped"}}; or {"shard": K, "error": s,
 *                       "status"?: 400 (a bad parameter) | 404 (no message)}
 *   mtalog.show.<K>     request: the docid (decimal), or {"id": docid, "user":
 *                       [...]}; reply: the message's JSON (ml_message_json,
 *                       with its chain; redacted for a user, tools/page.h)
 *                       or {"error"}
 *   mtalog.stats.<K>    reply: ml_stats_json of the shard
 * A row's and a message's "id" is the cluster's id "K-docid": `show --nats`
 * goes to the shard it names.  Every ML_COORD_ANNOUNCE_S the responder puts
 * key "K" = "K/N" into the JetStream key-value bucket ML_COORD_BUCKET, whose
 * entries live ML_COORD_TTL_S: a shard is known while it answers, and a
 * new one is found without restarting anything.  A put waits
 * ML_COORD_PUT_WAIT_MS for the bucket's answer; a failed one (a NATS server
 * lost, the bucket's leader elected again) is tried again after
 * ML_COORD_RETRY_MS, so that the entry is put again within its lifetime.
 *
 * The coordinator's side: the shards expected are 0..N-1, N from the
 * bucket's entries (the largest), read through the bucket stream's leader
 * (a server started again may be behind); the request goes to each at once, the
 * replies are gathered on one inbox until all are in or the deadline
 * (--timeout, default 5 s).  search: rows merged newest first (time, then
 * shard and docid), cut at the limit.  stats: numbers added up (newest
 * times: the latest).  A shard that did not answer makes the answer partial
 * ("partial": true, "missing": [K, ...] on stderr, or in the JSON of stats;
 * exit status 3).
 *
 * `serve --nats` (ml_coord_serve): serve.h's backend over the same
 * questions; the merged cursor, one position a shard, and how pages are
 * merged: docs/cluster.md.  The connection is shared by the server's
 * threads (the NATS client's is thread-safe); each question has its own
 * inbox.
 */
#ifndef ML_COORD_H
#define ML_COORD_H

#include "tools/cluster.h"
#include "tools/serve.h"

#define ML_COORD_BUCKET "mtalog_shards"
#define ML_COORD_TTL_S 10
#define ML_COORD_ANNOUNCE_S 3
#define ML_COORD_PUT_WAIT_MS 1000
#define ML_COORD_RETRY_MS 500

/* The shard's answering process: does not return (exits). */
void ml_coord_responder(const char *db, const ml_cluster_opts_t *co, int k, int n);

/* `mtalog serve --nats URL`: serve (o, its db_path unused) with the
 * cluster's shards as its backend until stopped; ml_serve_run's status. */
int ml_coord_serve(ml_serve_opts_t *o, const char *url);

/* `mtalog search|show|stats --nats URL ...`; argv[0] is the command. */
int ml_coord_main(const char *cmd, int argc, char **argv);

#endif
