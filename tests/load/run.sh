#!/bin/sh
# Load test of `mtalog serve` on loopback, while `mtalog ingest` writes to
# the same database: wrk (sh tools/install-deps.sh load) asks for a search of
# up to 1000 rows (/api/search?to=@example.com) for DURATION at 1, 16 and 64
# connections; each run has an ingest of a fresh generated log going in the
# background.  Prints requests/s, the 99th percentile latency and the errors
# (socket errors and non-2xx answers) per run; exits 1 when any run had one.
#
#   sh tests/load/run.sh              MESSAGES=100000 DURATION=10s by default
#
# Not part of CI.  The server listens on 127.0.0.1 only; everything started
# here is stopped by its process id.
set -eu
cd "$(dirname "$0")/../.."
MESSAGES=${MESSAGES:-100000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-"1 16 64"}
URL_PATH=${URL_PATH:-"/api/search?to=%40example.com"}
command -v wrk >/dev/null || { echo "wrk is missing: sh tools/install-deps.sh load" >&2; exit 2; }
make -s build/mtalog build/bench/gen
BIN=$PWD/build/mtalog
work=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-load.XXXXXX")
server=""
ingest=""
cleanup() {
	[ -n "$ingest" ] && kill "$ingest" 2>/dev/null && wait "$ingest" 2>/dev/null
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "generating and ingesting $MESSAGES messages ..."
build/bench/gen --messages "$MESSAGES" --seed 1 --out "$work/base.log"
"$BIN" --db "$work/db" ingest --quiet --no-sync "$work/base.log"
# one more log per run, for the ingest beside it (later days, other messages)
seed=2
for c in $CONNS; do
	build/bench/gen --messages "$MESSAGES" --seed $seed --start 2026-12-01T00:00:00Z --out "$work/more-$c.log"
	seed=$((seed + 1))
done

"$BIN" --db "$work/db" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for i in $(seq 50); do
	grep -q 'listening on' "$work/serve.out" 2>/dev/null && break
	sleep 0.1
done
port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/serve.out")
[ -n "$port" ] || { echo "serve did not start" >&2; cat "$work/serve.err" >&2; exit 2; }
url="http://127.0.0.1:$port$URL_PATH"
rows=$(curl -s "$url" 2>/dev/null | grep -o '"id":' | wc -l || true)
echo "server pid $server on 127.0.0.1:$port; $URL_PATH gives $rows rows a page"

printf '%-12s %10s %10s %10s %8s %s\n' connections "req/s" "p50" "p99" errors "ingest"
status=0
for c in $CONNS; do
	"$BIN" --db "$work/db" ingest --quiet "$work/more-$c.log" 2> "$work/ingest-$c.err" &
	ingest=$!
	threads=$c
	[ "$threads" -gt 4 ] && threads=4
	wrk -t "$threads" -c "$c" -d "$DURATION" --latency "$url" > "$work/wrk-$c.txt" 2>&1
	# was the ingest still writing when the run ended?
	if kill -0 "$ingest" 2>/dev/null; then during="running at the end"; else during="ended before"; fi
	wait "$ingest" || { echo "ingest failed:" >&2; cat "$work/ingest-$c.err" >&2; status=1; }
	ingest=""
	rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-$c.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$c.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-$c.txt")
	sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$work/wrk-$c.txt")
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-$c.txt")
	errors=$(( ${sock:-0} + ${non2xx:-0} ))
	[ "$errors" -eq 0 ] || status=1
	printf '%-12s %10s %10s %10s %8s %s\n' "$c" "$rps" "$p50" "$p99" "$errors" "$during"
done
exit $status
