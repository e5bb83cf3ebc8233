#!/bin/sh
# The cluster (docs/cluster.md) against a single node: a NATS cluster of 3
# servers (JetStream, the stream with 3 replicas, the partition mapping of
# the doc) on 127.0.0.1 ports of its own, 3 shard nodes (ingest --nats
# --shard K/3), one shipper per host (ship --nats) following its host's log
# as lines are appended.  The logs: bench/gen's log of MESSAGES messages on 5
# hosts, split by host, and sample/mail.log split by host (its hosts
# renamed, so that no host is in both).
#
# Rounds, each followed by the same comparison with a single-node ingest of
# the same files (`compare`): every line stored once (the shards' counters
# sum to the single node's), the same messages (dump, ids aside), the same
# stats, and the same answers to searches of several kinds (the shards'
# answers merged newest first, capped at the limit, here and by the
# coordinator: search --nats), stats --nats, and show --nats of messages.
#   1. all logs shipped as they grow, one log rotated (rename and create)
#   2. kill -9 of a NATS server while lines are shipped (started again after)
#   3. kill -9 of a shard node in the middle of a batch, started again
#   4. kill -9 of a shipper while it ships, started again
#   Round 1 ends with four searches at once: a shard answers more than one
#   question at a time (stats --nats: "questions").  At the end, Exim's own
#   log (no host in its lines) shipped with --host: the same rows as
#   ingest --host on a single node.
#   5. a shard stopped (SIGSTOP) during a search: the answer of the others,
#      marked partial, naming it; then, once it goes on, complete again
# After round 1, `serve --nats` against `serve` on the single node (both
# with --users: an admin and a user who sees one domain): searches of
# several kinds paged through "next" to their end (the same rows, newest
# first), totals, histograms, CSV of every row, messages whole and
# redacted; in round 5, its answers partial, naming the shard stopped.
#
#   make test-cluster       (nats-server, jq: sh tools/install-deps.sh cluster)
#   MESSAGES=500 MTALOG_BIN=build/mtalog sh tests/cluster/run.sh
#   KEEP=1 keeps the temporary folder.
#   ROUNDS="2" runs only the rounds named (default "1 2 3 4 5"); REPEAT=N
#   runs round 2 N times in a row (the NATS server killed is n0, n1, n2 in
#   turn), each with its own two parts of the logs.
#   Each NATS server has its monitoring port (base + 6 + i): when a round
#   fails, its /jsz (stream and consumers) is kept in the temporary folder.
#
# Stops only the processes it started, by pid (trap on exit).
set -eu
cd "$(dirname "$0")/../.."
MESSAGES=${MESSAGES:-2000}
ROUNDS=${ROUNDS:-1 2 3 4 5}
REPEAT=${REPEAT:-1}
case "$REPEAT" in ''|*[!0-9]*|0) echo "REPEAT: '$REPEAT' is not a number from 1" >&2; exit 2 ;; esac
has_round() {
	case " $ROUNDS " in *" $1 "*) return 0 ;; esac
	return 1
}
# the parts of the logs the rounds append (round 1: 3, 2: 2 each time, 3: 1,
# 4: 2); MESSAGES are those of 8 parts (one day), more parts have more
# messages and days: each part holds about 3 hours, as the searches expect
NPARTS=0
has_round 1 && NPARTS=$((NPARTS + 3))
has_round 2 && NPARTS=$((NPARTS + 2 * REPEAT))
has_round 3 && NPARTS=$((NPARTS + 1))
has_round 4 && NPARTS=$((NPARTS + 2))
[ "$NPARTS" -gt 0 ] || NPARTS=1
command -v nats-server >/dev/null || { echo "nats-server is missing: sh tools/install-deps.sh cluster" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is missing: sh tools/install-deps.sh cluster" >&2; exit 2; }
if [ -z "${MTALOG_BIN:-}" ]; then
	make -s build/mtalog build/bench/gen
	MTALOG_BIN=build/mtalog
fi
case "$MTALOG_BIN" in /*) BIN=$MTALOG_BIN ;; *) BIN=$PWD/$MTALOG_BIN ;; esac
GEN=$(dirname "$BIN")/bench/gen
[ -x "$GEN" ] || make -s "$GEN"
"$BIN" ship --help >/dev/null 2>&1 || { echo "FAIL: $BIN was built without NATS (libnats-dev)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-cluster.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${KEEP:-}" ]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
	echo "FAIL: $*" >&2
	# where the lines are: the stream and the consumers as each server sees them
	if command -v curl >/dev/null; then
		for i in 0 1 2; do
			curl -s -m 5 "http://127.0.0.1:$((base + 6 + i))/jsz?consumers=true&config=true" > "$tmp/jsz$i.json" 2>/dev/null || true
		done
	fi
	exit 1
}
step() {
	echo "--- $*"
}

# ports: a base from the pid, below the ephemeral ports (a port the system
# gave a connection as its local end cannot be listened on), then the first
# free run of nine
base=$((10000 + ($$ % 2000) * 10))
while :; do
	busy=0
	for o in 0 1 2 3 4 5 6 7 8; do
		if (exec 3<>/dev/tcp/127.0.0.1/$((base + o))) 2>/dev/null; then busy=1; fi
	done
	[ $busy -eq 0 ] && break
	base=$((base + 10))
done
URL="nats://127.0.0.1:$base,nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2))"
LOCAL=example.com,example.net,example.org
CL="--nats $URL --replicas 3 --retention-age 1d"

# ---- the NATS cluster
for i in 0 1 2; do
	cat > "$tmp/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:$((base + i))
http: 127.0.0.1:$((base + 6 + i))
jetstream { store_dir: "$tmp/js$i" }
cluster {
  name: mtalog-test
  listen: 127.0.0.1:$((base + 3 + i))
  routes: [ nats-route://127.0.0.1:$((base + 3)), nats-route://127.0.0.1:$((base + 4)), nats-route://127.0.0.1:$((base + 5)) ]
}
mappings: { "mtalog.lines.*": "mtalog.part.{{partition(3,1)}}.{{wildcard(1)}}" }
EOF
done
nats_pid0="" nats_pid1="" nats_pid2=""
start_nats() {
	nats-server -c "$tmp/n$1.conf" >> "$tmp/n$1.log" 2>&1 &
	eval "nats_pid$1=$!"
	pids="$pids $!"
}
for i in 0 1 2; do start_nats $i; done

# ---- the logs
# (the generator is a test tool: its leaks at exit do not count under ASan)
ASAN_OPTIONS=detect_leaks=0 "$GEN" --messages $((MESSAGES * NPARTS / 8)) --days "$(awk "BEGIN { print $NPARTS / 8 }")" --hosts 5 --seed 7 --start 2026-11-01T00:00:00Z \
	--out "$tmp/gen.log" 2> "$tmp/gen.err" || fail "bench/gen: $(cat "$tmp/gen.err")"
mkdir -p "$tmp/src" "$tmp/logs"
awk -v d="$tmp/src" '{ print > (d "/" $4 ".log") }' "$tmp/gen.log"
awk -v d="$tmp/src" '{ $4 = "s" $4; print > (d "/" $4 ".log") }' sample/mail.log
HOSTS=$(cd "$tmp/src" && ls | sed 's/\.log$//' | sort)
nhosts=$(echo "$HOSTS" | wc -l)
[ "$nhosts" -ge 6 ] || fail "expected 6 or more hosts in the logs, got $nhosts"
# each host's log in NPARTS parts, appended one after the other
for h in $HOSTS; do
	n=$(wc -l < "$tmp/src/$h.log")
	split -l $(((n + NPARTS - 1) / NPARTS)) -d -a 3 "$tmp/src/$h.log" "$tmp/src/$h.part"
	: > "$tmp/logs/$h.log"
done
part=0
append_part() {   # append the next part of every host
	p=$(printf %03d $part)
	for h in $HOSTS; do
		[ -f "$tmp/src/$h.part$p" ] && cat "$tmp/src/$h.part$p" >> "$tmp/logs/$h.log"
	done
	part=$((part + 1))
	return 0
}

# ---- shard nodes and shippers
shard_pid0="" shard_pid1="" shard_pid2=""
start_shard() {
	"$BIN" ingest --db "$tmp/shard$1.db" $CL --shard "$1/3" --year 2026 --local-domains $LOCAL --no-sync --batch-lines 2000 \
		>> "$tmp/shard$1.log" 2>&1 &
	eval "shard_pid$1=$!"
	pids="$pids $!"
}
start_ship() {   # host
	"$BIN" ship $CL --host "$1" --state "$tmp/ship-$1.db" --window 512 "$tmp/logs/$1.log" \
		>> "$tmp/ship-$1.log" 2>&1 &
	eval "ship_pid_$(echo "$1" | tr -c 'a-zA-Z0-9\n' _)=$!"
	pids="$pids $!"
}
ship_pid() {
	eval "echo \$ship_pid_$(echo "$1" | tr -c 'a-zA-Z0-9\n' _)"
}
for i in 0 1 2; do start_shard $i; done
for h in $HOSTS; do start_ship "$h"; done
# every shipper following its log (its state made once it is connected and
# the stream is there; the cluster elects its leaders first)
i=0
for h in $HOSTS; do
	while [ ! -f "$tmp/ship-$h.db" ]; do
		i=$((i + 1))
		[ $i -le 600 ] || fail "the shipper of $h did not start within 60 s: $(cat "$tmp/ship-$h.log")"
		sleep 0.1
	done
done
sleep 0.5
# every shard answering questions (announced, subscribed, its database open)
i=0
until "$BIN" stats --nats "$URL" --timeout 2 > /dev/null 2>&1; do
	i=$((i + 1))
	[ $i -le 30 ] || fail "the shards do not all answer stats --nats after 60 s: $(cat "$tmp"/shard*.log)"
	sleep 1
done

# ---- the comparison with a single node
lines_in() {   # lines the shard databases hold (parsed, skipped, not understood)
	t=0
	for i in 0 1 2; do
		n=$("$BIN" --db "$tmp/shard$i.db" stats --json 2>/dev/null |
			jq '.lines_parsed + .lines_skipped.total + .lines_not_understood.total' 2>/dev/null || echo 0)
		t=$((t + n))
	done
	echo "$t"
}
wait_all_stored() {
	want=$(cat "$tmp"/logs/*.log* | wc -l)
	i=0
	while :; do
		got=$(lines_in)
		[ "$got" -eq "$want" ] && return 0
		[ "$got" -gt "$want" ] && fail "the shards hold $got lines, more than the $want lines of the logs"
		i=$((i + 1))
		[ $i -le 240 ] || fail "the shards hold $got lines of $want after 60 s"
		sleep 0.25
	done
}
# the rows of a search on the shards, merged newest first and capped, or on
# the single node; ids aside; rows of the same second in one order
merged_search() {   # limit, search options...
	limit=$1
	shift
	for i in 0 1 2; do
		"$BIN" --db "$tmp/shard$i.db" search --json --limit "$limit" "$@"
	done | jq -c 'del(.id)' | jq -s -c "sort_by(.time) | reverse | .[:$limit] | .[]" | sort_time_groups | at_cap "$limit"
}
single_search() {
	limit=$1
	shift
	"$BIN" --db "$tmp/single.db" search --json --limit "$limit" "$@" | jq -c 'del(.id)' | sort_time_groups | at_cap "$limit"
}
# an answer cut at the limit: which rows of the last second made it is the
# numbering's choice; of that second, only how many
at_cap() {
	jq -s -c --argjson l "$1" 'if length == $l then (.[-1].time) as $t |
		(map(select(.time != $t)) + [{ last_second: $t, rows: (map(select(.time == $t)) | length) }]) else . end | .[]'
}
# within rows of one second, a fixed order (a shard numbers the messages of
# a second in its own order, not the single node's)
sort_time_groups() {
	jq -c -s 'group_by(.time) | reverse | map(sort_by(tostring)) | .[][]'
}
stats_of() {   # database: the totals that must match
	"$BIN" --db "$1" stats --json | jq -c '{messages, rows_by_status, lines_parsed,
		skipped: .lines_skipped.by_reason, bad: .lines_not_understood.by_reason, messages_in_flight,
		newest_message}'
}
sum_stats() {
	for i in 0 1 2; do stats_of "$tmp/shard$i.db"; done | jq -s -c '{
		messages: (map(.messages) | add),
		rows_by_status: (map(.rows_by_status) | reduce .[] as $r ({}; reduce ($r | keys[]) as $k (.; .[$k] += $r[$k]))),
		lines_parsed: (map(.lines_parsed) | add),
		skipped: (map(.skipped) | reduce .[] as $r ({}; reduce ($r | keys[]) as $k (.; .[$k] += $r[$k]))),
		bad: (map(.bad) | reduce .[] as $r ({}; reduce ($r | keys[]) as $k (.; .[$k] += $r[$k]))),
		messages_in_flight: (map(.messages_in_flight) | add),
		newest_message: (map(.newest_message) | max)}'
}
compare() {   # round name
	round=$1
	wait_all_stored
	rm -f "$tmp/single.db" "$tmp/single.db-lock"
	# (the rotated copies first, as they were written first)
	"$BIN" --db "$tmp/single.db" ingest --quiet --year 2026 --local-domains $LOCAL --no-sync $(ls -tr "$tmp"/logs/*) || fail "$round: single ingest"
	for i in 0 1 2; do "$BIN" --db "$tmp/shard$i.db" dump; done | jq -c 'del(.id) | .recipients |= map(del(.id))' |
		sort > "$tmp/dump.cluster"
	"$BIN" --db "$tmp/single.db" dump | jq -c 'del(.id) | .recipients |= map(del(.id))' | sort > "$tmp/dump.single"
	[ -s "$tmp/dump.single" ] || fail "$round: the single node holds no message"
	cmp -s "$tmp/dump.cluster" "$tmp/dump.single" ||
		{ diff "$tmp/dump.single" "$tmp/dump.cluster" | head -5 >&2; fail "$round: the shards' messages differ from the single node's"; }
	sum_stats | jq -S -c . > "$tmp/stats.cluster"
	stats_of "$tmp/single.db" | jq -S -c . > "$tmp/stats.single"
	cmp -s "$tmp/stats.cluster" "$tmp/stats.single" ||
		{ cat "$tmp/stats.single" "$tmp/stats.cluster" >&2; fail "$round: stats differ"; }
	nq=0
	while IFS='|' read -r limit args; do
		# shellcheck disable=SC2086
		eval "set -- $args"
		merged_search "$limit" "$@" > "$tmp/q.cluster"
		single_search "$limit" "$@" > "$tmp/q.single"
		[ -s "$tmp/q.single" ] || fail "$round: search $args: no row on the single node"
		cmp -s "$tmp/q.cluster" "$tmp/q.single" ||
			{ diff "$tmp/q.single" "$tmp/q.cluster" | head -4 >&2; fail "$round: search $args differs"; }
		# the same through the shards' answers over NATS, merged by search --nats
		"$BIN" search --nats "$URL" --limit "$limit" "$@" > "$tmp/q.nats.raw" ||
			fail "$round: search --nats $args: status $?"
		jq -c 'del(.id)' "$tmp/q.nats.raw" | sort_time_groups | at_cap "$limit" > "$tmp/q.nats"
		cmp -s "$tmp/q.nats" "$tmp/q.single" ||
			{ diff "$tmp/q.single" "$tmp/q.nats" | head -4 >&2; fail "$round: search --nats $args differs"; }
		nq=$((nq + 1))
	done <<EOF
1000|--to @example.com
1000|--status bounced
1000|--status delayed,expired
1000|--from @example.com --status delivered
50|--subject report
1000|--host smx2 --status blocked
1000|--since 2026-11-01T06:00:00Z --until 2026-11-01T07:00:00Z
EOF
	# stats --nats: the shards' statistics added up by the coordinator
	"$BIN" stats --nats "$URL" > "$tmp/stats.nats.raw" || fail "$round: stats --nats: status $?"
	jq -S -c '{messages, rows_by_status, lines_parsed, skipped: .lines_skipped.by_reason,
		bad: .lines_not_understood.by_reason, messages_in_flight, newest_message}' "$tmp/stats.nats.raw" > "$tmp/stats.nats"
	cmp -s "$tmp/stats.nats" "$tmp/stats.single" ||
		{ cat "$tmp/stats.single" "$tmp/stats.nats" >&2; fail "$round: stats --nats differs"; }
	# show --nats of the messages of the last search, against show on the single node
	ns=0
	# (messages with a queue id: the single node's is found by host and queue id)
	for id in $(jq -r 'select(.queue_id != "") | .id' "$tmp/q.nats.raw" | head -3); do
		"$BIN" show --nats "$URL" "$id" > "$tmp/show.nats.raw" || fail "$round: show --nats $id: status $?"
		h=$(jq -r .host "$tmp/show.nats.raw")
		qid=$(jq -r .queue_id "$tmp/show.nats.raw")
		sid=$("$BIN" --db "$tmp/single.db" search --json --host "$h" --queue-id "$qid" | jq -r .id | head -1)
		"$BIN" --db "$tmp/single.db" show --json "$sid" | jq -S -c 'walk(if type == "object" then del(.id) else . end)' > "$tmp/show.single"
		jq -S -c 'walk(if type == "object" then del(.id) else . end)' "$tmp/show.nats.raw" > "$tmp/show.nats"
		cmp -s "$tmp/show.nats" "$tmp/show.single" || fail "$round: show --nats $id differs from show $sid"
		ns=$((ns + 1))
	done
	[ "$ns" -gt 0 ] || fail "$round: no message with a queue id in the answer to show with show --nats"
	echo "$round: identical: $(wc -l < "$tmp/dump.single") messages, $(jq .lines_parsed "$tmp/stats.single") lines parsed, $nq searches (on each shard, merged here, and merged by search --nats), stats --nats, $ns show --nats"
}

# ---- serve --nats against serve on the single node
# Both with the same users (an admin, and a user who sees the rows of one
# domain only); every search paged through its "next" to the end on both.
serve_start() {   # name, serve options...: the base URL into $tmp/NAME.url
	name=$1
	shift
	"$BIN" serve --listen 127.0.0.1:0 --users "$tmp/users" --search-timeout 2 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
	pids="$pids $!"
	eval "serve_pid_$name=$!"
	i=0
	until grep -q 'listening on' "$tmp/$name.out"; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "serve $name did not start: $(cat "$tmp/$name.err")"
		sleep 0.1
	done
	sed -n 's/.*listening on \(http:[^ ]*\)\/ .*/\1/p' "$tmp/$name.out" > "$tmp/$name.url"
}
login() {   # server name, user: the cookie jar $tmp/NAME.USER.jar
	curl -s -f -o /dev/null -c "$tmp/$1.$2.jar" --data-urlencode "name=$2" --data-urlencode "password=pw-$2" \
		"$(cat "$tmp/$1.url")/login" || fail "login of $2 on serve $1"
}
api() {   # server name, user, path?query: the answer (fails on a status >= 400)
	curl -s -f -b "$tmp/$1.$2.jar" "$(cat "$tmp/$1.url")$3"
}
page_through() {   # server name, user, query, limit: every row, ids aside
	next=""
	pages=0
	: > "$tmp/pt.rows"
	while :; do
		api "$1" "$2" "/api/search?$3&limit=$4${next:+&cursor=$next}" > "$tmp/pt.page" || fail "$1: /api/search?$3 (page $pages)"
		jq -c '.rows[] | del(.id)' "$tmp/pt.page" >> "$tmp/pt.rows"
		[ "$(jq .partial "$tmp/pt.page")" != true ] || fail "$1: /api/search?$3: partial with every shard up"
		pages=$((pages + 1))
		[ $pages -le 500 ] || fail "$1: /api/search?$3: more than 500 pages"
		next=$(jq -r '.next // empty' "$tmp/pt.page")
		[ -n "$next" ] || break
	done
	cat "$tmp/pt.rows"
}
compare_serve() {
	command -v curl >/dev/null || fail "curl is missing"
	if [ ! -f "$tmp/users" ]; then
		{
			echo "ada:$(echo pw-ada | "$BIN" serve --hash-password):admin:"
			echo "bob:$(echo pw-bob | "$BIN" serve --hash-password):user:@example.net"
		} > "$tmp/users"
		serve_start cluster --nats "$URL"
	fi
	serve_start single --db "$tmp/single.db"
	for s in single cluster; do login $s ada; login $s bob; done
	nq=0
	# (query|limit|user): several kinds, small pages so that many cursors are crossed
	while IFS='|' read -r query limit user; do
		page_through single "$user" "$query" "$limit" | sort_time_groups > "$tmp/s.single"
		page_through cluster "$user" "$query" "$limit" > "$tmp/s.cluster.raw"
		[ -s "$tmp/s.single" ] || fail "serve: $query ($user): no row on the single node"
		# newest first through every page, then the same rows as the single node's
		jq -s -e '[.[].time] as $t | $t == ($t | sort | reverse)' "$tmp/s.cluster.raw" > /dev/null ||
			fail "serve --nats: $query ($user): the rows through the pages are not newest first"
		sort_time_groups < "$tmp/s.cluster.raw" > "$tmp/s.cluster"
		cmp -s "$tmp/s.single" "$tmp/s.cluster" ||
			{ diff "$tmp/s.single" "$tmp/s.cluster" | head -4 >&2; fail "serve --nats: $query ($user) differs from serve"; }
		if [ "$user" = bob ]; then
			jq -e -s 'all(.[]; [.from, .to, .orig_to] | map(ascii_downcase | endswith("@example.net")) | any)' \
				"$tmp/s.cluster" > /dev/null || fail "serve --nats: bob sees a row not his"
		fi
		# the first page's total: the whole match's
		ts=$(api single "$user" "/api/search?$query&limit=$limit" | jq -c '[.total, .total_exact]')
		tc=$(api cluster "$user" "/api/search?$query&limit=$limit" | jq -c '[.total, .total_exact]')
		[ "$ts" = "$tc" ] || fail "serve --nats: $query ($user): total $tc, not $ts"
		# the histogram
		api single "$user" "/api/histogram?$query" | jq -S -c . > "$tmp/h.single"
		api cluster "$user" "/api/histogram?$query" | jq -S -c 'del(.partial, .missing, .shards)' > "$tmp/h.cluster"
		cmp -s "$tmp/h.single" "$tmp/h.cluster" || fail "serve --nats: /api/histogram?$query ($user) differs"
		nq=$((nq + 1))
	done <<EOF
to=@example.com|150|ada
status=bounced|40|ada
status=delayed,expired|1000|ada
from=@example.com&status=delivered|300|ada
subject=report|7|ada
since=2026-11-01T06:00:00Z&until=2026-11-01T07:00:00Z|25|ada
to=@example.com|60|bob
status=bounced|4|bob
EOF
	# every row as CSV (search.csv?all=1), ids aside
	for s in single cluster; do
		api $s ada "/api/search.csv?all=1&status=bounced" | sed 's/^[^,]*,//' | sort > "$tmp/csv.$s"
	done
	grep -q '^# [0-9]* rows' "$tmp/csv.cluster" || fail "serve --nats: search.csv?all=1 has no count line"
	cmp -s "$tmp/csv.single" "$tmp/csv.cluster" || fail "serve --nats: search.csv?all=1 differs"
	# messages: as ada (whole, with its chain) and as bob (redacted)
	nm=0
	for user in ada bob; do
		for id in $(api cluster $user "/api/search?status=bounced&limit=5" | jq -r '.rows[] | select(.queue_id != "") | .id' | head -3); do
			api cluster $user "/api/messages/$id" | jq -S -c 'walk(if type == "object" then del(.id) else . end)' > "$tmp/m.cluster" ||
				fail "serve --nats: /api/messages/$id ($user)"
			h=$(jq -r .host "$tmp/m.cluster")
			qid=$(jq -r .queue_id "$tmp/m.cluster")
			sid=$(api single ada "/api/search?host=$h&queue_id=$qid" | jq -r '.rows[0].id')
			api single $user "/api/messages/$sid" | jq -S -c 'walk(if type == "object" then del(.id) else . end)' > "$tmp/m.single"
			cmp -s "$tmp/m.single" "$tmp/m.cluster" || fail "serve --nats: /api/messages/$id ($user) differs from $sid on serve"
			nm=$((nm + 1))
		done
	done
	[ "$nm" -ge 2 ] || fail "serve --nats: only $nm messages compared"
	# a message that is not bob's does not exist for him, on both (404)
	n404=0
	for id in $(api cluster ada "/api/search?from=@example.com&limit=40" | jq -r '.rows[] | select(.queue_id != "") | .id' | uniq | head -8); do
		stc=$(curl -s -o "$tmp/m.cluster" -w '%{http_code}' -b "$tmp/cluster.bob.jar" "$(cat "$tmp/cluster.url")/api/messages/$id")
		q=$(api cluster ada "/api/messages/$id" | jq -r '"host=\(.host)&queue_id=\(.queue_id)"')
		sid=$(api single ada "/api/search?$q" | jq -r '.rows[0].id')
		sts=$(curl -s -o /dev/null -w '%{http_code}' -b "$tmp/single.bob.jar" "$(cat "$tmp/single.url")/api/messages/$sid")
		[ "$stc" = "$sts" ] || fail "serve --nats: bob gets $stc for message $id, serve $sts for $sid"
		[ "$stc" = 404 ] && n404=$((n404 + 1))
	done
	[ "$n404" -gt 0 ] || fail "serve --nats: no message of another than bob among those tried"
	kill "$serve_pid_single"
	wait "$serve_pid_single" 2>/dev/null || true
	echo "serve --nats: identical to serve on the single node: $nq searches paged to their end (2 users), histograms, CSV, $nm messages"
}

if has_round 1; then
	step "round 1: every log shipped as it grows; one log rotated"
	append_part
	sleep 1
	first=$(echo "$HOSTS" | head -1)
	append_part
	mv "$tmp/logs/$first.log" "$tmp/logs/$first.log.1"
	: > "$tmp/logs/$first.log"
	append_part
	compare "round 1"
	compare_serve
	# a shard answers several questions at once: four searches that read
	# every subject on every shard (a regex of no word, backtracking to its
	# limit on each), started together; stats --nats adds up the most each
	# shard answered at once: above 3, a shard answered two together
	qp=""
	for i in 1 2 3 4; do
		"$BIN" search --nats "$URL" --limit 10 --subject-re '((.+)+)+#$' > /dev/null 2>&1 &
		qp="$qp $!"
	done
	for p in $qp; do wait "$p" || true; done
	"$BIN" stats --nats "$URL" > "$tmp/stats.q" || fail "round 1: stats --nats: status $?"
	most=$(jq .questions.at_once_max "$tmp/stats.q")
	[ "$most" -gt 3 ] ||
		fail "round 1: no shard answered two questions at once (the most at once, added up: $most; $(jq -c .questions "$tmp/stats.q"))"
	echo "round 1: four searches together: up to $most questions answered at once (added up over the shards; $(jq .questions.workers "$tmp/stats.q") workers)"
fi

r=0
while has_round 2 && [ $r -lt "$REPEAT" ]; do
	k=$(((r + 1) % 3))
	of=""
	[ "$REPEAT" -gt 1 ] && of=" ($((r + 1)) of $REPEAT)"
	step "round 2$of: kill -9 of a NATS server (n$k) while lines are shipped"
	append_part
	eval "p=\$nats_pid$k"
	kill -9 "$p"
	wait "$p" 2>/dev/null || true
	append_part
	sleep 2
	start_nats $k
	compare "round 2$of"
	r=$((r + 1))
done

if has_round 3; then
	step "round 3: kill -9 of a shard node in the middle of a batch"
	append_part
	sleep 0.3
	kill -9 "$shard_pid0"
	wait "$shard_pid0" 2>/dev/null || true
	start_shard 0
	compare "round 3"
fi

if has_round 4; then
	step "round 4: kill -9 of a shipper while it ships"
	second=$(echo "$HOSTS" | sed -n 2p)
	append_part
	p=$(ship_pid "$second")
	kill -9 "$p"
	wait "$p" 2>/dev/null || true
	append_part
	start_ship "$second"
	compare "round 4"
fi

if has_round 5; then
	step "round 5: a shard stopped during searches"
	# (the node and the process beside it that answers its searches)
	answers1=$(pgrep -P "$shard_pid1" || true)
	[ -n "$answers1" ] || fail "round 5: shard 1 has no process answering searches"
	kill -STOP "$shard_pid1" $answers1
	set +e
	"$BIN" search --nats "$URL" --timeout 2 --to @example.com > "$tmp/q.partial" 2> "$tmp/q.partial.err"
	st=$?
	set -e
	kill -CONT "$shard_pid1" $answers1
	[ "$st" -eq 3 ] || fail "round 5: search --nats with shard 1 stopped: status $st, not 3 (partial)"
	grep -q "shard 1/3: no answer" "$tmp/q.partial.err" || fail "round 5: the partial answer does not name shard 1: $(cat "$tmp/q.partial.err")"
	grep -q "partial" "$tmp/q.partial.err" || fail "round 5: the answer does not say it is partial"
	[ -s "$tmp/q.partial" ] || fail "round 5: no rows from the other shards"
	if [ -f "$tmp/cluster.url" ]; then
		# serve --nats: the answers of the others, partial, naming shard 1
		kill -STOP "$shard_pid1" $answers1
		set +e
		api cluster ada "/api/search?to=@example.com" > "$tmp/p.search"
		api cluster ada "/api/histogram?to=@example.com" > "$tmp/p.hist"
		st=$(curl -s -o "$tmp/p.msg" -w '%{http_code}' -b "$tmp/cluster.ada.jar" "$(cat "$tmp/cluster.url")/api/messages/1-1")
		set -e
		kill -CONT "$shard_pid1" $answers1
		jq -e '.partial == true and .missing == [1] and (.rows | length) > 0' "$tmp/p.search" > /dev/null ||
			fail "round 5: serve --nats: /api/search not partial naming shard 1: $(head -c 300 "$tmp/p.search")"
		jq -e '.partial == true and .missing == [1] and .total > 0' "$tmp/p.hist" > /dev/null ||
			fail "round 5: serve --nats: /api/histogram not partial naming shard 1"
		[ "$st" = 504 ] && jq -e '.partial == true and .missing == [1]' "$tmp/p.msg" > /dev/null ||
			fail "round 5: serve --nats: /api/messages/1-1: status $st, $(cat "$tmp/p.msg")"
		echo "round 5: serve --nats: search, histogram and message partial, naming shard 1"
	fi
	compare "round 5 (shard 1 answering again)"
fi

# Exim's own log (its lines name no host) shipped with --host: the shard
# gives them that host, as ingest --host does on a single node
step "Exim's own log through ship --host"
"$BIN" --db "$tmp/exim.db" ingest --quiet --host exim1 --year 2026 --local-domains $LOCAL --no-sync tests/data/exim-statuses.log ||
	fail "exim: single ingest"
"$BIN" --db "$tmp/exim.db" search --json --host exim1 | jq -c 'del(.id)' | sort > "$tmp/exim.single"
[ -s "$tmp/exim.single" ] || fail "exim: no row of host exim1 on the single node"
"$BIN" ship $CL --host exim1 --state "$tmp/ship-exim1.db" --once --quiet tests/data/exim-statuses.log ||
	fail "exim: ship --once: status $?"
i=0
while :; do
	"$BIN" search --nats "$URL" --host exim1 2> /dev/null | jq -c 'del(.id)' | sort > "$tmp/exim.nats" || true
	cmp -s "$tmp/exim.nats" "$tmp/exim.single" && break
	i=$((i + 1))
	[ $i -le 60 ] || { diff "$tmp/exim.single" "$tmp/exim.nats" | head -4 >&2; fail "exim: search --nats --host exim1 differs from the single node after 30 s"; }
	sleep 0.5
done
echo "exim: $(wc -l < "$tmp/exim.single") rows of Exim's own log under the host the shipper gave, as on a single node"

# what the faults did (timing decides how much of it a run sees); the shards
# say it when they stop
for i in 0 1 2; do
	eval "p=\$shard_pid$i"
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
echo "faults seen: $(cat "$tmp"/ship-*.log | grep -c 'go again') publish failures gone back from;" \
	"consumers made again: $(sed -n 's/.*consumer made again \([0-9]*\) times.*/\1/p' "$tmp"/shard*.log | awk '{ t += $1 } END { print t + 0 }');" \
	"lines skipped by position: $(sed -n 's/.*: \([0-9]*\) lines not at their.*/\1/p' "$tmp"/shard*.log | awk '{ t += $1 } END { print t + 0 }')"
echo "cluster: every round identical to the single node"
