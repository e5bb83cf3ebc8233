#!/bin/sh
# The lag of `mtalog ingest --follow`: from a line written to a live log to
# it being searchable, over LAG_SECONDS (60) of traffic at LAG_RATE lines/s
# (2000; lines of a bench/gen log), a probe every LAG_PROBE_MS (200).
# Prints the probes, median, p90, p99 and max in ms, then the rate the
# traffic was written at and the lag in each third of the run (growing: the
# follower falls behind).
set -eu
B=${BUILD:-build}
M="$B/mtalog"
secs=${LAG_SECONDS:-60}
rate=${LAG_RATE:-2000}
probe=${LAG_PROBE_MS:-200}
tmp=$(mktemp -d)
fpid=""
trap '[ -z "$fpid" ] || kill "$fpid" 2> /dev/null || :; rm -rf "$tmp"' EXIT
"$B/bench/gen" --messages 20000 --seed 3 --out "$tmp/traffic.log" 2> /dev/null
: > "$tmp/live.log"
"$M" --db "$tmp/live.db" ingest --follow --quiet "$tmp/live.log" &
fpid=$!
"$B/bench/lag" --db "$tmp/live.db" --log "$tmp/live.log" --traffic "$tmp/traffic.log" \
	--seconds "$secs" --rate "$rate" --probe-ms "$probe"
kill -TERM "$fpid"
wait "$fpid"
fpid=""
