#!/bin/sh
# Soak test (`make soak`; not part of CI): for SOAK_SECONDS (1800), all at
# once on one database,
#
#   - live traffic: build/bench/lag appends the lines of a generated log
#     (bench/gen, RFC 3339 timestamps, one day of three Postfix hosts) to
#     live/mail.log at SOAK_RATE lines/s (1000), with a probe every 200 ms
#     whose lag, from its write to it being searchable, is measured;
#   - rotation every ROTATE_EVERY s (a tenth of the run, at least 10 s):
#     rename to mail.log.1 and a new mail.log (the writer opens it again on
#     SIGHUP, as a syslog daemon does), the previous mail.log.1 gzipped to
#     mail.log.2.gz (logrotate's delaycompress), four kept; the second
#     rotation is a copytruncate instead (the writer copies the file to
#     mail.log.1 and cuts it to 0 between two lines);
#   - `mtalog ingest --follow live/mail.log`, durable;
#   - `mtalog serve` under steady load: a client that asks, again and again,
#     for a page of up to 1000 rows (/api/search?to=%40example.com), the
#     page of its newest message and the same search as CSV, then sleeps
#     LOAD_PAUSE s (0.2);
#   - an "hourly" prune, every PRUNE_EVERY s (a sixth of the run): `mtalog
#     prune --older-than T`, T being the time of the traffic written by the
#     prune before (so the database keeps one to two periods of traffic);
#
# then the writer stops, the ingest catches up (the last probe is
# searchable) and stops, and a last prune runs, as at the end of a period.
#
# Checks (exit 1 when one fails):
#   - memory: VmRSS and RssAnon of ingest and of serve, every 5 s.  VmRSS
#     counts the resident pages of the mapped database too (page cache,
#     shared, reclaimable, following the database's size), so "flat" is
#     judged on RssAnon, the process's own memory: after a warm-up (the first
#     third of the run: the database grows until the first prune that
#     deletes, at two sixths), no later sample is more than 30% (and 4 MB,
#     the allocator's slack on a few MB) above the last one of the warm-up;
#   - lag p99 <= 1 s;
#   - 0 errors: every answer to the client 200, ingest, serve and every
#     prune end with status 0;
#   - every row accounted for: everything written (bench/lag --tee keeps a
#     copy of every line, in order) is ingested at once into a fresh
#     database: its messages == the soak database's + all the prunes
#     pruned; then the fresh one is pruned with the last cutoff, and both
#     dump the same messages and rows (their internal IDs left out).
#
# Everything listens on 127.0.0.1, is stopped by its process id, and the
# temporary directory is removed on exit.
set -eu
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_RATE=${SOAK_RATE:-1000}
ROTATE_EVERY=${ROTATE_EVERY:-$((SOAK_SECONDS / 10 > 10 ? SOAK_SECONDS / 10 : 10))}
PRUNE_EVERY=${PRUNE_EVERY:-$((SOAK_SECONDS / 6 > 5 ? SOAK_SECONDS / 6 : 5))}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
LOAD_PAUSE=${LOAD_PAUSE:-0.2}
SEARCH="/api/search?to=%40example.com"
CSV="/api/search.csv?to=%40example.com"
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
make -s "$B/mtalog" "$B/bench/gen" "$B/bench/lag"
M=$PWD/$B/mtalog
work=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-soak.XXXXXX")
writer="" ingest="" server="" client=""
stop() {  # stop a process by its id, and reap it
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}
cleanup() {
	stop "$client"; stop "$writer"; stop "$ingest"; stop "$server"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
db=$work/db
live=$work/live/mail.log
mkdir "$work/live"

# enough traffic for the whole run (~13 lines a message), so it is not
# written twice
messages=$((SOAK_SECONDS * SOAK_RATE * 11 / 130 + 2000))
"$B/bench/gen" --messages "$messages" --seed 7 --start 2026-11-01T00:00:00Z --days 1 \
	--format rfc3339 --out "$work/traffic.log" 2>/dev/null
echo "soak: $SOAK_SECONDS s, $SOAK_RATE lines/s of $messages generated messages; rotation every" \
	"$ROTATE_EVERY s, prune every $PRUNE_EVERY s, memory every $SAMPLE_EVERY s"

: > "$live"
"$M" --db "$db" ingest --follow --quiet "$live" 2> "$work/ingest.err" &
ingest=$!
"$B/bench/lag" --db "$db" --log "$live" --traffic "$work/traffic.log" --seconds "$SOAK_SECONDS" \
	--rate "$SOAK_RATE" --probe-ms 200 --tee "$work/written.log" > "$work/lag.out" 2> "$work/lag.err" &
writer=$!
# serve wants a database with messages: the follower's first commit
for i in $(seq 200); do
	"$M" --db "$db" stats --json 2>/dev/null | grep -q '"messages": *[1-9]' && break
	sleep 0.1
done
"$M" --db "$db" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for i in $(seq 50); do
	grep -q 'listening on' "$work/serve.out" 2>/dev/null && break
	sleep 0.1
done
port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/serve.out")
[ -n "$port" ] || { echo "serve did not start" >&2; cat "$work/serve.err" >&2; exit 2; }
base="http://127.0.0.1:$port"

# the client: "KIND STATUS SECONDS" a request
(
	while [ ! -e "$work/stop-client" ]; do
		curl -s -o "$work/page.json" -w 'search %{http_code} %{time_total}\n' "$base$SEARCH" || echo "search curl-$? 0"
		id=$(grep -o '"id":"[0-9]*"' "$work/page.json" 2>/dev/null | head -n 1 | cut -d'"' -f4)
		if [ -n "$id" ]; then
			curl -s -o /dev/null -w 'message %{http_code} %{time_total}\n' "$base/api/messages/$id" ||
				echo "message curl-$? 0"
		fi
		curl -s -o /dev/null -w 'csv %{http_code} %{time_total}\n' "$base$CSV" || echo "csv curl-$? 0"
		sleep "$LOAD_PAUSE"
	done
) > "$work/client.txt" &
client=$!

# VmRSS and RssAnon (the process's own memory, without the resident pages of
# the mapped database), kB
rss() { awk '/^VmRSS:/ {v = $2} /^RssAnon:/ {a = $2} END {print v + 0, a + 0}' "/proc/$1/status" 2>/dev/null || echo 0 0; }
# the time of the newest traffic line written: 2026-11-01T05:06:07Z
written_time() {
	tail -n 100 "$work/written.log" | grep -o '^20[0-9-]*T[0-9:]*' | tail -n 1 | sed 's/$/Z/'
}
status=0
pruned=0
cutoff="" cut_last=""
nrot=0
: > "$work/rss.txt"
start=$(date +%s)
next_sample=$SAMPLE_EVERY next_rot=$ROTATE_EVERY next_prune=$PRUNE_EVERY
prune() {  # prune at $cutoff, add up what it pruned
	if "$M" --db "$db" prune --older-than "$cutoff" > "$work/prune.out" 2>&1; then
		n=$(sed -n 's/^pruned \([0-9]*\) messages.*/\1/p' "$work/prune.out")
		pruned=$((pruned + ${n:-0}))
		echo "  $1: $(head -n 1 "$work/prune.out")"
	else
		echo "prune failed:" >&2; cat "$work/prune.out" >&2; status=1
	fi
}
while kill -0 "$writer" 2>/dev/null; do
	sleep 1
	t=$(($(date +%s) - start))
	if [ "$t" -ge "$next_sample" ]; then
		echo "$t $(rss "$ingest") $(rss "$server")" >> "$work/rss.txt"
		next_sample=$((next_sample + SAMPLE_EVERY))
	fi
	if [ "$t" -ge "$next_rot" ] && [ "$t" -lt "$SOAK_SECONDS" ]; then
		next_rot=$((next_rot + ROTATE_EVERY))
		nrot=$((nrot + 1))
		rm -f "$live.4.gz"
		for n in 3 2; do [ ! -e "$live.$n.gz" ] || mv "$live.$n.gz" "$live.$((n + 1)).gz"; done
		if [ -e "$live.1" ]; then mv "$live.1" "$live.2" && gzip "$live.2"; fi
		if [ "$nrot" -eq 2 ]; then
			kill -USR1 "$writer"
			how=copytruncate
		else
			mv "$live" "$live.1"
			kill -HUP "$writer"
			how=rename
		fi
		echo "  ${t}s: rotation $nrot ($how)"
	fi
	if [ "$t" -ge "$next_prune" ] && [ "$t" -lt "$SOAK_SECONDS" ]; then
		next_prune=$((next_prune + PRUNE_EVERY))
		# the cutoff: the traffic written by the previous prune
		cutoff=$cut_last
		cut_last=$(written_time)
		[ -z "$cutoff" ] || prune "${t}s"
	fi
done
writer_rc=0
wait "$writer" || writer_rc=$?
writer=""
[ "$writer_rc" -eq 0 ] || { echo "the writer failed:" >&2; cat "$work/lag.err" >&2; status=1; }
: > "$work/stop-client"
wait "$client" || :
client=""
# the last probe was searchable when the writer ended: the ingest has read
# every line; it commits and stops on SIGTERM
kill -TERM "$ingest"
ingest_rc=0
wait "$ingest" || ingest_rc=$?
ingest=""
[ "$ingest_rc" -eq 0 ] || { echo "ingest --follow ended with $ingest_rc:" >&2; cat "$work/ingest.err" >&2; status=1; }
# the last prune, at the end of the last period, beside serve
cutoff=$cut_last
[ -z "$cutoff" ] || prune end
kill -TERM "$server"
serve_rc=0
wait "$server" || serve_rc=$?
server=""
[ "$serve_rc" -eq 0 ] || { echo "serve ended with $serve_rc:" >&2; cat "$work/serve.err" >&2; status=1; }

echo "results:"
# lag
cat "$work/lag.out"
p99=$(sed -n 's/.* p99 \([0-9.]*\),.*/\1/p' "$work/lag.out")
if [ -z "$p99" ] || awk -v p="$p99" 'BEGIN {exit !(p > 1000)}'; then
	echo "FAIL: lag p99 ${p99:-?} ms > 1000 ms" >&2
	status=1
fi

# the client's answers
awk '{n[$1]++; if ($2 != "200") bad[$1]++; t[$1, n[$1]] = $3}
	END {
		for (k in n) {
			m = n[k]; for (i = 1; i <= m; i++) a[i] = t[k, i]
			# sort the times (insertion sort: a few thousand)
			for (i = 2; i <= m; i++) { v = a[i]; j = i - 1; while (j > 0 && a[j] > v) { a[j + 1] = a[j]; j-- }; a[j + 1] = v }
			printf "client %-8s %6d requests, %d not 200; p50 %.1f ms, p99 %.1f ms\n", k, m, bad[k] + 0,
				a[int(m * 0.5) + 1] * 1000, a[int(m * 0.99) + 1] * 1000
		}
	}' "$work/client.txt" | sort
errors=$(awk '$2 != "200"' "$work/client.txt" | wc -l)
if [ "$errors" -ne 0 ]; then
	echo "FAIL: $errors answers not 200:" >&2
	awk '$2 != "200" {print $1, $2}' "$work/client.txt" | sort | uniq -c >&2
	status=1
fi
[ -s "$work/client.txt" ] || { echo "FAIL: the client made no request" >&2; status=1; }

# memory: flat after the first third
awk -v warm=$((SOAK_SECONDS / 3)) '
	function mb(k) { return sprintf("%.0f", k / 1024) }
	{ t[NR] = $1; v[2, NR] = $2; a[2, NR] = $3; v[3, NR] = $4; a[3, NR] = $5 }
	END {
		bad = 0
		for (p = 2; p <= 3; p++) {
			name = p == 2 ? "ingest" : "serve"
			base = vbase = max = vmax = 0
			for (i = 1; i <= NR; i++) {
				if (t[i] <= warm) { base = a[p, i]; vbase = v[p, i] }
				else {
					if (a[p, i] > max) max = a[p, i]
					if (v[p, i] > vmax) vmax = v[p, i]
				}
			}
			ok = max <= base * 1.3 + 4096
			printf "memory %-6s own (RssAnon) MB: %s at the start, %s at %d s, at most %s after, %s at the end: %s;" \
				" VmRSS MB: %s, %s, at most %s, %s\n", name, mb(a[p, 1]), mb(base), warm, mb(max), mb(a[p, NR]),
				ok ? "flat" : "NOT FLAT", mb(v[p, 1]), mb(vbase), mb(vmax), mb(v[p, NR])
			if (!ok) bad = 1
		}
		exit bad
	}' "$work/rss.txt" || { echo "FAIL: memory grew more than 30% (and 4 MB) after the warm-up" >&2; status=1; }

# every row accounted for
"$M" --db "$work/fresh" ingest --quiet --no-sync "$work/written.log"
msgs() { "$M" --db "$1" stats --json | sed -n 's/^ *"messages": *\([0-9]*\).*/\1/p' | head -n 1; }
written=$(msgs "$work/fresh")
kept=$(msgs "$db")
echo "written: $(wc -l < "$work/written.log") lines, $written messages (a fresh ingest of them);" \
	"database: $kept messages + $pruned pruned = $((kept + pruned))"
if [ "$written" -ne $((kept + pruned)) ]; then
	echo "FAIL: messages written $written != in the database $kept + pruned $pruned" >&2
	status=1
fi
if [ -n "$cutoff" ]; then
	"$M" --db "$work/fresh" prune --quiet --no-sync --older-than "$cutoff"
fi
strip() { "$M" --db "$1" dump | sed 's/"id":"[0-9]*",//g' | sort; }
strip "$db" > "$work/soak.dump"
strip "$work/fresh" > "$work/fresh.dump"
if cmp -s "$work/soak.dump" "$work/fresh.dump"; then
	echo "rows: the soak database and the fresh one, pruned at $cutoff, dump the same" \
		"$(wc -l < "$work/soak.dump") messages"
else
	echo "FAIL: the soak database and the fresh one differ ($(wc -l < "$work/soak.dump") and" \
		"$(wc -l < "$work/fresh.dump") messages):" >&2
	diff "$work/soak.dump" "$work/fresh.dump" | head -n 10 | cut -c1-300 >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "soak: passed" || echo "soak: FAILED" >&2
exit $status
