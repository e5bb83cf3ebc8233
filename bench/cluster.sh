#!/bin/sh
# A brief measurement of the cluster (docs/cluster.md) on this machine: one
# NATS server (JetStream, file storage, 1 replica) on a 127.0.0.1 port of
# its own, bench/gen's log of MESSAGES messages on HOSTS hosts.
#   - lines/s of one shipper (ship --once of the whole log, every line
#     acknowledged by the stream);
#   - for 1, 2 and 3 shards (the server's partition mapping made for each):
#     lines/s until the shards hold every line (started after the lines are
#     in the stream: the shards' own speed);
#   - lines/s of one node ingesting the same files (ingest, no NATS), the
#     whole command;
#   - search through the coordinator (search --nats, a process each time:
#     connect, find the shards, ask, merge) over the 3 shards against search
#     on one database holding the same lines (search --json), for each query
#     class of bench/bench_search (recipient address, recipient domain, two
#     subject words, status + domain, time range + domain, message-id, queue
#     ID): RUNS values of each class, sampled from the one database by
#     bench_search --out-values, each asked once of both, alternating; p50,
#     p99 and mean of whole commands, and the difference (what the fan-out
#     adds).  The rows of the two answers are compared (host, queue ID,
#     recipient, status, time).
# Writes the report to bench/results/<UTC time>-cluster.md and prints it;
# progress on stderr.  The figures are of a short run on a shared machine
# (the load average at start and end is in the report): an order of size,
# not a benchmark.  Stops what it started, by pid.
#   MESSAGES=5000 HOSTS=6 RUNS=30 sh bench/cluster.sh
set -eu
cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-5000}
HOSTS=${HOSTS:-6}
RUNS=${RUNS:-30}
BUILD=${BUILD:-build}
make -s "$BUILD/mtalog" "$BUILD/bench/gen" "$BUILD/bench/bench_search"
BIN=$PWD/$BUILD/mtalog
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out=bench/results/$stamp-cluster.md
load0=$(cut -d ' ' -f 1-3 /proc/loadavg)
rev=$(git rev-parse --short HEAD 2>/dev/null) || rev=unknown
[ "$rev" = unknown ] || git diff --quiet HEAD -- || rev="$rev, with changes not committed"
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
rate() { echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / ($3 - $2) }'; }   # lines t0 t1
port=$((24000 + ($$ % 1000) * 7))
URL=nats://127.0.0.1:$port
"$BUILD/bench/gen" --messages "$MESSAGES" --hosts "$HOSTS" --seed 3 --out "$tmp/gen.log" 2>/dev/null
awk -v d="$tmp" '{ print > (d "/" $4 ".log") }' "$tmp/gen.log"
lines=$(wc -l < "$tmp/gen.log")
bytes=$(wc -c < "$tmp/gen.log")
echo "log: $lines lines, $HOSTS hosts ($(date -u +%Y-%m-%d), $(nproc) cores)" >&2

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
	if [ "$n" -eq 1 ]; then
		ship_rate=$(rate "$lines" "$1" "$2")
		echo "one shipper at a time, ship --once: $ship_rate lines/s" >&2
	fi
	t0=$(now)
	shard_pids=""
	for k in $(seq 0 $((n - 1))); do
		"$BIN" --db "$tmp/s$n-$k.db" ingest --nats "$URL" --shard "$k/$n" --quiet > "$tmp/s$n-$k.log" 2>&1 &
		shard_pids="$shard_pids $!"
		pids="$pids $!"
	done
	while [ "$(held "$n")" -lt "$lines" ]; do sleep 0.2; done
	t1=$(now)
	eval "shard_rate_$n=$(rate "$lines" "$t0" "$t1")"
	echo "$n shard(s): $(rate "$lines" "$t0" "$t1") lines/s until every line is held (counting polled every 0.2 s)" >&2
	[ "$n" -eq 3 ] || { for p in $shard_pids; do kill "$p"; wait "$p" 2>/dev/null || true; done; }
done

# one node: the same files into one database, the whole command
t0=$(now)
"$BIN" --db "$tmp/one.db" ingest --quiet "$tmp"/mx*.log
t1=$(now)
one_rate=$(rate "$lines" "$t0" "$t1")
echo "one node, ingest of the same files: $one_rate lines/s" >&2

# search: the coordinator over the 3 shards against the one database, for
# each class, on values bench_search samples from the one database
"$BUILD/bench/bench_search" --db "$tmp/one.db" --queries "$RUNS" --out-values "$tmp/values.tsv" > /dev/null
sleep 4   # the shards announce themselves
ms3() {   # file of seconds: p50 p99 mean, in ms
	sort -n "$1" | awk '{ a[NR] = $1; s += $1 } END { i50 = int(NR * 0.5 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1;
		printf "%.1f %.1f %.1f", a[i50] * 1000, a[i99] * 1000, s * 1000 / NR }'
}
rows() {   # answer (JSON Lines): its rows, sorted
	jq -r '[.host, .queue_id, .to, .status, .time] | @tsv' "$1" | sort
}
: > "$tmp/table.md"
for class in "recipient address" "recipient domain" "two subject words" "status + domain" \
	"time range + domain" "message-id" "queue ID"; do
	grep "^$class	" "$tmp/values.tsv" | head -n "$RUNS" > "$tmp/q.tsv" || :
	nq=$(wc -l < "$tmp/q.tsv")
	[ "$nq" -gt 0 ] || { echo "| $class | 0 | | | | | | | | | | |" >> "$tmp/table.md"; continue; }
	distinct=$(cut -f 2- "$tmp/q.tsv" | sort -u | wc -l)
	echo "-- $class: $nq values" >&2
	: > "$tmp/t.coord"
	: > "$tmp/t.one"
	nrows=0 differ=0 partial=0
	while IFS='	' read -r c v a b; do
		case $c in
		"recipient address" | "recipient domain") set -- --to "$v" ;;
		"two subject words") set -- --subject "$v" ;;
		"status + domain") set -- --to "$v" --status "$a" ;;
		"time range + domain") set -- --to "$v" --since "$a" --until "$b" ;;
		"message-id") set -- --msgid "$v" ;;
		"queue ID") set -- --queue-id "$v" ;;
		esac
		rc=0
		t0=$(now); "$BIN" search --nats "$URL" "$@" < /dev/null > "$tmp/a.coord" || rc=$?; t1=$(now)
		echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/t.coord"
		[ "$rc" -eq 0 ] || partial=$((partial + 1))
		t0=$(now); "$BIN" --db "$tmp/one.db" search --json "$@" < /dev/null > "$tmp/a.one"; t1=$(now)
		echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/t.one"
		nrows=$((nrows + $(wc -l < "$tmp/a.one")))
		rows "$tmp/a.coord" > "$tmp/r.coord"
		rows "$tmp/a.one" > "$tmp/r.one"
		cmp -s "$tmp/r.coord" "$tmp/r.one" || differ=$((differ + 1))
	done < "$tmp/q.tsv"
	set -- $(ms3 "$tmp/t.coord") $(ms3 "$tmp/t.one")
	echo "$nq $distinct $nrows $differ $partial $*" | awk -v class="$class" '{
		printf "| %s | %d (%d) | %.1f | %s | %s | %+.1f | %s | %s | %s | %s | %+.1f | %s |\n", class, $1, $2, $3 / $1,
			$6, $9, $6 - $9, $7, $10, $8, $11, $8 - $11, ($4 || $5) ? $4 " differ, " $5 " partial" : "none" }' \
		>> "$tmp/table.md"
done
# what the clock adds: /bin/true timed the same way
: > "$tmp/t.true"
for i in $(seq "$RUNS"); do
	t0=$(now); /bin/true; t1=$(now)
	echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/t.true"
done
set -- $(ms3 "$tmp/t.true")
clock="p50 $1 ms, p99 $2 ms"
load1=$(cut -d ' ' -f 1-3 /proc/loadavg)

# the report
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)
mkdir -p bench/results
{
	echo "# mtalog cluster, briefly ($stamp)"
	echo
	echo "bench/cluster.sh (\`make bench-cluster\`): one NATS server (JetStream, file storage, 1 replica) on 127.0.0.1, and the shard nodes, the shipper, the coordinator and the one node on the same machine. A short run on a shared machine: an order of size, not a benchmark."
	echo
	echo "Machine: $cpu, $(nproc) cores (nproc), $mem. Load average (1, 5, 15 min): $load0 at the start, $load1 at the end."
	echo
	echo "Code: $rev."
	echo
	echo "Log: generated by bench/gen (seed 3), $MESSAGES messages on $HOSTS hosts, $lines lines, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB."
	echo
	echo "## Ingest"
	echo
	echo "| what | lines/s |"
	echo "|---|---:|"
	echo "| one shipper, \`ship --once\` of each host's file in turn, every line acknowledged by the stream | $ship_rate |"
	echo "| 1 shard catching up (lines already in the stream; until the shards hold every line, counted every 0.2 s) | $shard_rate_1 |"
	echo "| 2 shards | $shard_rate_2 |"
	echo "| 3 shards | $shard_rate_3 |"
	echo "| one node: \`ingest\` of the same files into one database (no NATS), whole command | $one_rate |"
	echo
	echo "## Search, whole commands: through the coordinator against one node"
	echo
	echo "Coordinator: \`mtalog search --nats URL [filters]\` over the 3 shards (a process each time: start, connect, find the shards, ask each, merge; JSON Lines). One node: \`mtalog --db one.db search --json [filters]\` on one database holding the same lines. The values of each class are those bench/bench_search samples from the one database (\`--out-values\`, random records: a popular domain comes up as often as it is asked); each is asked once of both, one after the other, answers to a file. Times in ms, from before the command starts to after it ends (date +%s.%N: /bin/true timed the same way takes $clock). p99 by nearest rank: of 50 runs or fewer, the slowest. \"Fan-out adds\": coordinator minus one node. \"Answers\": the rows of the two answers compared (host, queue ID, recipient, status, time; \"none\": every pair the same, none partial)."
	echo
	echo "| query class | queries (distinct values) | rows (mean) | p50, coordinator | p50, one node | fan-out adds, p50 | p99, coordinator | p99, one node | mean, coordinator | mean, one node | fan-out adds, mean | answers differing |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	cat "$tmp/table.md"
} > "$out"
cat "$out"
echo "report: $out" >&2
