#!/bin/sh
# A brief measurement of the cluster (docs/cluster.md) on this machine: one
# NATS server (JetStream, file storage, 1 replica) on a 127.0.0.1 port of
# its own, bench/gen's log of MESSAGES messages on HOSTS hosts.
#   - lines/s of one shipper (ship --once of the whole log, every line
#     acknowledged by the stream);
#   - for 1, 2 and 3 shards (the server's partition mapping made for each):
#     lines/s until the shards hold every line (started after the lines are
#     in the stream: the shards' own speed);
#   - search through the coordinator (search --nats, a process each time:
#     connect, find the shards, ask, merge) against search on one database
#     holding the same lines: p50 and p99 of RUNS runs of each, whole
#     commands.
# The figures are of a short run on a shared machine: an order of size, not
# a benchmark.  Stops what it started, by pid.
#   MESSAGES=5000 HOSTS=6 RUNS=30 sh bench/cluster.sh
set -eu
cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-5000}
HOSTS=${HOSTS:-6}
RUNS=${RUNS:-30}
BUILD=${BUILD:-build}
make -s "$BUILD/mtalog" "$BUILD/bench/gen"
BIN=$PWD/$BUILD/mtalog
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-cluster-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }
port=$((24000 + ($$ % 1000) * 7))
URL=nats://127.0.0.1:$port
"$BUILD/bench/gen" --messages "$MESSAGES" --hosts "$HOSTS" --seed 3 --out "$tmp/gen.log" 2>/dev/null
awk -v d="$tmp" '{ print > (d "/" $4 ".log") }' "$tmp/gen.log"
lines=$(wc -l < "$tmp/gen.log")
echo "log: $lines lines, $HOSTS hosts ($(date -u +%Y-%m-%d), $(nproc) cores)"

server=""
start_server() {   # partitions
	[ -n "$server" ] && { kill "$server"; wait "$server" 2>/dev/null || true; }
	rm -rf "$tmp/js"
	cat > "$tmp/n.conf" <<EOF
listen: 127.0.0.1:$port
jetstream { store_dir: "$tmp/js" }
mappings: { "mtalog.lines.*": "mtalog.part.{{partition($1,1)}}.{{wildcard(1)}}" }
EOF
	nats-server -c "$tmp/n.conf" > "$tmp/n.log" 2>&1 &
	server=$!
	pids="$pids $server"
	sleep 0.5
}
ship_all() {
	t0=$(now)
	for f in "$tmp"/mx*.log; do
		h=$(basename "$f" .log)
		rm -f "$tmp/ship-$h.db"*
		"$BIN" ship --nats "$URL" --host "$h" --state "$tmp/ship-$h.db" --once --quiet "$f"
	done
	t1=$(now)
	echo "$t0 $t1"
}
held() {   # shards: lines the shard databases hold
	t=0
	for k in $(seq 0 $(($1 - 1))); do
		n=$("$BIN" --db "$tmp/s$1-$k.db" stats --json 2>/dev/null |
			jq '.lines_parsed + .lines_skipped.total + .lines_not_understood.total' 2>/dev/null || echo 0)
		t=$((t + n))
	done
	echo "$t"
}
for n in 1 2 3; do
	start_server "$n"
	set -- $(ship_all)
	[ "$n" -eq 1 ] && echo "one shipper at a time, ship --once: $(echo "$lines $1 $2" | awk '{ printf "%.0f", $1 / ($3 - $2) }') lines/s"
	t0=$(now)
	shard_pids=""
	for k in $(seq 0 $((n - 1))); do
		"$BIN" --db "$tmp/s$n-$k.db" ingest --nats "$URL" --shard "$k/$n" --quiet > "$tmp/s$n-$k.log" 2>&1 &
		shard_pids="$shard_pids $!"
		pids="$pids $!"
	done
	while [ "$(held "$n")" -lt "$lines" ]; do sleep 0.2; done
	t1=$(now)
	echo "$n shard(s): $(echo "$lines $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }') lines/s until every line is held (counting polled every 0.2 s)"
	[ "$n" -eq 3 ] || { for p in $shard_pids; do kill "$p"; wait "$p" 2>/dev/null || true; done; }
done

# search: the coordinator over the 3 shards against one database
"$BIN" --db "$tmp/one.db" ingest --quiet "$tmp"/mx*.log
sleep 4   # the shards announce themselves
pct() {   # file of seconds: p50 p99 in ms
	sort -n "$1" | awk '{ a[NR] = $1 } END { i50 = int(NR * 0.5 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1;
		printf "p50 %.1f ms, p99 %.1f ms", a[i50] * 1000, a[i99] * 1000 }'
}
: > "$tmp/t.coord"
: > "$tmp/t.one"
for i in $(seq "$RUNS"); do
	t0=$(now); "$BIN" search --nats "$URL" --to @example.com --status bounced > /dev/null; t1=$(now)
	echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/t.coord"
	t0=$(now); "$BIN" --db "$tmp/one.db" search --json --to @example.com --status bounced > /dev/null; t1=$(now)
	echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/t.one"
done
echo "search --to @example.com --status bounced, whole command, $RUNS runs: coordinator over 3 shards $(pct "$tmp/t.coord"); one database $(pct "$tmp/t.one")"
