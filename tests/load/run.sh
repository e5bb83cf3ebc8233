#!/bin/sh
# Load test of `mtalog serve` on loopback, while `mtalog ingest` writes to
# the same database (wrk: sh tools/install-deps.sh load).
#
#   sh tests/load/run.sh     MESSAGES=100000 DURATION=10s CONNS="1 16 64 500"
#                            MIXED_CONNS="64 500"
#
# The server has users (--users): an admin session, logged in once with
# curl, makes every request (its cookie is a header of wrk's).  Runs:
#
#   - search, at each of CONNS connections: every request is a JSON page of
#     up to 1000 rows, /api/search?to=%40example.com;
#   - mixed, at each of MIXED_CONNS: 35% such pages, 45% message pages
#     (/api/messages/ID, IDs of the first page taken with curl before wrk),
#     18% CSV (/api/search.csv, up to 1000 rows), 2% logins (POST /login of
#     LOGIN_USERS other users taken in turn, with correct passwords: a login
#     counts as a failure of its account until it succeeds, and 5 at once
#     of one account brake it; a yescrypt check costs ~25 ms of CPU).
#
# Each run has an ingest of a fresh generated log (MESSAGES more messages, a
# later month) going beside it.  All of wrk's connections come from
# 127.0.0.1, and a client address may hold 64 connections by default
# (--max-client-connections, the intended protection against one client
# holding every place), so the server here is started with
# --max-client-connections 1000.  wrk's timeout is 10 s (the server's own
# search time limit is 5 s).
#
# Per run: requests/s, p50 and p99 latency, errors, 503s, and the server's
# memory.  Errors are socket errors (connect, read, write, timeout) and any
# answer that is not 2xx except 503, the server's answer to overload, which is
# counted apart.  Memory is sampled every second from /proc/PID/status:
# VmRSS, and its two parts, RssAnon (the server's own memory: heap, thread
# stacks) and RssFile (the pages of the mapped database that are resident:
# page cache, shared with every process that maps the file, reclaimable,
# and growing with the data the ingests add and the searches read).  The
# server's own memory follows the requests served at once: each has a
# thread, while its search runs one of the --max-searches search objects
# that all connections share (each with a helper thread once it ran a large
# search), and its answer of up to 1000 rows (~0.5 MB of JSON) while it is
# sent; the others wait in line for a search object.  At 500 connections
# that comes to some tens of MB, swinging from one second to the next.
# Hence a warm-up first (WARMUP, 60 s: the mixed
# workload at the most connections, an ingest beside it), and "flat" means:
# the median of RssAnon over the last run (the same workload) is at most
# 30% above its median over the warm-up's second half, after tens of
# thousands of requests and an ingest of MESSAGES per run.
#
# Exits 1 when a run had an error, memory was not flat, or an ingest failed.
# Not part of CI.  The server listens on 127.0.0.1 only; everything started
# here is stopped by its process id; the temporary directory is removed
# (KEEP=1 keeps it, for a look at the samples and wrk's output).
set -eu
cd "$(dirname "$0")/../.."
MESSAGES=${MESSAGES:-100000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-"1 16 64 500"}
MIXED_CONNS=${MIXED_CONNS:-"64 500"}
LOGIN_USERS=${LOGIN_USERS:-40}
WARMUP=${WARMUP:-60s}
SEARCH=${SEARCH:-"/api/search?to=%40example.com"}
CSV=${CSV:-"/api/search.csv?to=%40example.com"}
command -v wrk >/dev/null || { echo "wrk is missing: sh tools/install-deps.sh load" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
make -s build/mtalog build/bench/gen
BIN=$PWD/build/mtalog
LUA=$PWD/tests/load/wrk.lua
work=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-load.XXXXXX")
server=""
ingest=""
sampler=""
cleanup() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
	[ -n "$ingest" ] && kill "$ingest" 2>/dev/null && wait "$ingest" 2>/dev/null
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the runs: "search C" and "mixed C"
runs=""
for c in $CONNS; do runs="$runs search:$c"; done
for c in $MIXED_CONNS; do runs="$runs mixed:$c"; done

echo "generating and ingesting $MESSAGES messages ..."
build/bench/gen --messages "$MESSAGES" --seed 1 --out "$work/base.log" 2>/dev/null
"$BIN" --db "$work/db" ingest --quiet --no-sync "$work/base.log"
# one more log per run and for the warm-up, for the ingest beside it (a
# later month, other messages)
seed=2
for r in warmup $runs; do
	build/bench/gen --messages "$MESSAGES" --seed $seed --start 2026-12-01T00:00:00Z \
		--out "$work/more-$seed.log" 2>/dev/null
	seed=$((seed + 1))
done

# users: root (admin) makes the requests; user1..N are the mix's logins
root_pw=load-root-$$
{
	printf 'root:%s:admin:\n' "$(printf '%s\n' "$root_pw" | "$BIN" serve --hash-password)"
	for i in $(seq "$LOGIN_USERS"); do
		printf 'user%d:%s:user:user%d@example.com\n' "$i" \
			"$(printf 'load-%d-%d\n' "$i" $$ | "$BIN" serve --hash-password)" "$i"
		printf 'name=user%d&password=load-%d-%d\n' "$i" "$i" $$ >> "$work/logins"
	done
} > "$work/users"

"$BIN" --db "$work/db" serve --listen 127.0.0.1:0 --users "$work/users" \
	--max-client-connections 1000 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for i in $(seq 50); do
	grep -q 'listening on' "$work/serve.out" 2>/dev/null && break
	sleep 0.1
done
port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/serve.out")
[ -n "$port" ] || { echo "serve did not start" >&2; cat "$work/serve.err" >&2; exit 2; }
base="http://127.0.0.1:$port"
cookie=$(curl -s -D - -o /dev/null --data-urlencode name=root --data-urlencode "password=$root_pw" "$base/login" |
	sed -n 's/^[Ss]et-[Cc]ookie: *\(mtalog_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "could not log in" >&2; exit 2; }
curl -s -H "Cookie: $cookie" "$base$SEARCH" > "$work/page.json"
grep -o '"id":"[0-9]*"' "$work/page.json" | cut -d'"' -f4 | sort -u > "$work/ids"
echo "server pid $server on 127.0.0.1:$port; $SEARCH: $(wc -l < "$work/ids") messages on a page"
export LOAD_SEARCH="$SEARCH" LOAD_CSV="$CSV" LOAD_IDS="$work/ids" LOAD_COOKIE="$cookie"
export LOAD_LOGINS="$work/logins"

rss() {  # VmRSS of the server, kB; then RssAnon and RssFile (the mapped database)
	awk '/^VmRSS:/ {v = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print v, a, f}' "/proc/$server/status"
}
mb() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

median() { sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : 0}'; }
sample() {  # the server's memory every second, to $1, until $work/stop
	rm -f "$work/stop"
	(while [ ! -e "$work/stop" ]; do rss >> "$1"; sleep 1; done) &
	sampler=$!
}
sample_end() { : > "$work/stop"; wait "$sampler" 2>/dev/null || :; sampler=""; }

most=0
for c in $CONNS $MIXED_CONNS; do [ "$c" -gt "$most" ] && most=$c; done
"$BIN" --db "$work/db" ingest --quiet "$work/more-2.log" 2> "$work/ingest-2.err" &
ingest=$!
: > "$work/rss-warmup"
sample "$work/rss-warmup"
LOAD_MIX=mixed wrk -t 2 -c "$most" -d "$WARMUP" --timeout 10s -s "$LUA" "$base" > "$work/wrk-warmup.txt" 2>&1 ||
	{ cat "$work/wrk-warmup.txt" >&2; exit 1; }
sample_end
wait "$ingest" || { echo "ingest failed:" >&2; cat "$work/ingest-2.err" >&2; exit 1; }
ingest=""
n=$(wc -l < "$work/rss-warmup")
rss_base=$(tail -n $((n / 2)) "$work/rss-warmup" | cut -d' ' -f2 | median)
rss_limit=$((rss_base * 13 / 10))
echo "warm-up: mixed, $most connections, $WARMUP, an ingest beside: the server's own memory (RssAnon)" \
	"$(mb "$(head -n 1 "$work/rss-warmup" | cut -d' ' -f2)") MB at its start, median of its second half" \
	"$(mb "$rss_base") MB; limit $(mb "$rss_limit") MB"
printf '%-9s %6s %9s %9s %9s %7s %6s %-16s %-10s %s\n' workload conns "req/s" p50 p99 errors 503s \
	"VmRSS MB (max)" "own MB" ingest
status=0
seed=3
for r in $runs; do
	mix=${r%%:*}
	c=${r#*:}
	"$BIN" --db "$work/db" ingest --quiet "$work/more-$seed.log" 2> "$work/ingest-$seed.err" &
	ingest=$!
	# the server's memory, each second of the run
	: > "$work/rss-$seed"
	sample "$work/rss-$seed"
	threads=$c
	[ "$threads" -gt 2 ] && threads=2
	LOAD_MIX=$mix wrk -t "$threads" -c "$c" -d "$DURATION" --timeout 10s -s "$LUA" \
		"$base" > "$work/wrk-$seed.txt" 2>&1 || { cat "$work/wrk-$seed.txt" >&2; status=1; }
	sample_end
	# was the ingest still writing when the run ended?
	if kill -0 "$ingest" 2>/dev/null; then during="running at the end"; else during="ended before"; fi
	wait "$ingest" || { echo "ingest failed:" >&2; cat "$work/ingest-$seed.err" >&2; status=1; }
	ingest=""
	stat() { awk -v k="$1" '$1 == "STAT" && $2 == k {print $3}' "$work/wrk-$seed.txt"; }
	req=$(stat requests); secs=$(stat seconds)
	rps=$(awk -v n="${req:-0}" -v s="${secs:-1}" 'BEGIN {printf "%.0f", n / s}')
	p50=$(awk -v u="$(stat p50_us)" 'BEGIN {printf "%.1f ms", u / 1000}')
	p99=$(awk -v u="$(stat p99_us)" 'BEGIN {printf "%.1f ms", u / 1000}')
	sock=$(stat socket_errors)
	n503=$(stat status_503)
	bad=$(awk '$1 == "STAT" && $2 ~ /^status_/ {s = substr($2, 8) + 0; if ((s < 200 || s > 299) && s != 503) n += $3}
		END {print n + 0}' "$work/wrk-$seed.txt")
	errors=$(( ${sock:-0} + bad ))
	[ "$errors" -eq 0 ] || { status=1; grep 'STAT \(status_\|socket_detail\)' "$work/wrk-$seed.txt" >&2; }
	# memory: first and last sample, the most; the server's own, first and last
	v0=$(head -n 1 "$work/rss-$seed" | cut -d' ' -f1); v1=$(tail -n 1 "$work/rss-$seed" | cut -d' ' -f1)
	vmax=$(cut -d' ' -f1 "$work/rss-$seed" | sort -n | tail -n 1)
	a0=$(head -n 1 "$work/rss-$seed" | cut -d' ' -f2); a1=$(tail -n 1 "$work/rss-$seed" | cut -d' ' -f2)
	printf '%-9s %6s %9s %9s %9s %7s %6s %-16s %-10s %s\n' "$mix" "$c" "$rps" "$p50" "$p99" "$errors" \
		"${n503:-0}" "$(mb "$v0")→$(mb "$v1") ($(mb "$vmax"))" "$(mb "$a0")→$(mb "$a1")" "$during"
	last_rss=$work/rss-$seed
	if [ "$mix" = mixed ]; then
		echo "            requests: $(awk '$1 == "STAT" && $2 ~ /^kind_/ {printf "%s%s %d", sep, substr($2, 6), $3; sep = ", "}' \
			"$work/wrk-$seed.txt")"
	fi
	seed=$((seed + 1))
done
set -- $(rss)
rss_end=$(cut -d' ' -f2 "$last_rss" | median)
flat="flat"
if [ "$rss_end" -gt "$rss_limit" ]; then
	flat="NOT FLAT"
	status=1
fi
echo "server's own memory: median $(mb "$rss_base") MB late in the warm-up, $(mb "$rss_end") MB in the last run" \
	"(limit $(mb "$rss_limit") MB): $flat; at the end VmRSS $(mb "$1") MB: $(mb "$2") MB its own," \
	"$(mb "$3") MB of the mapped database"
exit $status
