#!/bin/sh
# Faults.  Each operation that writes a database -- ingest --follow on a
# growing log, reindex, reindex --reparse, prune and compact -- is
#
#   killed (SIGKILL) KILLS times at random points of its run, each time from
#   the database it starts from, then run again to its end (ingest --follow
#   until it has caught up with the log, then stopped with SIGTERM): the
#   database must hold what an uninterrupted run leaves, and right after the
#   kill it must open and hold the state before the operation (reindex,
#   reparse, compact: one transaction, or an atomic rename) or a consistent
#   part of the way (prune: between the state before and after, message by
#   message and index entry by index entry);
#
#   run under a file size limit (ulimit -f) below what it needs, which is the
#   disk filling up as the process sees it (EFBIG, or a short write): it must
#   exit non-zero by itself, not killed by a signal, with a message that says
#   the disk may be full (reindex and reparse: naming the database, and "the
#   disk is full" for EFBIG, not a full map); the database must open and hold the state before
#   (or, for ingest and prune, a consistent part of the way), compact must
#   leave no temporary file, and the same operation run again without the
#   limit must end as an uninterrupted run does.
#
# "What the database holds" is `mtalog dump --postings` (every message and
# every index entry), sorted, and `stats --json` without what depends on the
# file, the run or the clock (sizes, space, map, lag, dictionary and string
# table generations, checkpoint times).
#
# The kill delays are fractions of the uninterrupted run's duration (measured
# first), drawn from SEED (printed; SEED=N replays the same fractions).
#
#   MESSAGES=20000 KILLS=20 BUILD=build sh tests/faults/run.sh
#   MESSAGES   size of the generated log (bench/gen; default 20000)
#   KILLS      kills per operation (default 20)
#   OPS        the operations (default: follow reindex reparse prune compact)
#   SEED       the seed of the kill delays (default: from /dev/urandom)
#   NOFULL=1   no file size limit cases
#
# One line per case, "ok - ..." or "not ok - ..." (tests/run.sh counts them),
# then "faults: N cases passed, M failed"; the exit status is 1 when a case
# failed.  Everything is written under a temporary folder, removed at exit;
# every process started is stopped by its PID.
set -eu
cd "$(dirname "$0")/../.."
top=$PWD
BUILD=${BUILD:-build}
bin=${MTALOG_BIN:-$BUILD/mtalog}
case $bin in /*) ;; *) bin=$top/$bin ;; esac
gen=$top/$BUILD/bench/gen
MESSAGES=${MESSAGES:-20000}
KILLS=${KILLS:-20}
OPS=${OPS:-follow reindex reparse prune compact}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
NOFULL=${NOFULL:-0}
CUT=2026-11-03      # prune's cutoff: the middle of the log's four days
PRUNE_BATCH=250     # prune's transactions: many, so that kills land between them
CHUNKS=10           # the followed log grows in this many pieces ...
GAP=0.1             # ... this many seconds apart
WAIT=120            # seconds for a follower to catch up, or to exit on its own

for f in "$bin" "$gen"; do
	[ -x "$f" ] || { echo "faults: $f is missing (make $BUILD/mtalog $BUILD/bench/gen)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-faults.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
no() { echo "not ok - $*"; failed=$((failed + 1)); }
note() { echo "# $*"; }
track() { pids="$pids $1"; }
untrack() { pids=$(echo "$pids" | sed "s/ $1\$//; s/ $1 / /"); }
# reap PID: its exit status in $st
reap() {
	st=0
	wait "$1" 2>/dev/null || st=$?
	untrack "$1"
}
now_us() { date +%s%6N; }
sleep_us() { sleep "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))"; }
# alive PID: the process runs (a zombie, exited but not reaped, does not)
alive() { [ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'; }
# fractions OPNO: KILLS numbers in [0, 1), drawn from SEED (a Lehmer
# generator, exact in any awk's doubles: mawk's srand takes no seed above 2^31)
fractions() {
	awk -v s="$SEED" -v o="$1" -v n="$KILLS" 'BEGIN {
		m = 2147483647; x = (s + o * 7919) % (m - 1) + 1
		for (i = 0; i < 4; i++) x = (x * 48271) % m
		for (i = 0; i < n; i++) { x = (x * 48271) % m; printf "%.6f\n", (x - 1) / (m - 1) }
	}'
}
fresh() {  # fresh DB: no database, lock or temporary file
	rm -f "$1" "$1-lock" "$1.compact-tmp"
}
copy() {  # copy FROM TO: a database as it was
	fresh "$2"
	cp "$1" "$2"
}

# contents DB OUT: OUT.dump (dump --postings, sorted) and OUT.stats
contents() {
	"$bin" --db "$1" dump --postings > "$2.raw" 2>"$tmp/contents.err" || return 1
	LC_ALL=C sort "$2.raw" > "$2.dump"
	rm -f "$2.raw"
	"$bin" --db "$1" stats --json > "$2.json" 2>>"$tmp/contents.err" || return 1
	awk '/^  "space": \{/ { skip = 1; next }
	     skip { if (/^  \}/) skip = 0; next }
	     /^  "(db_bytes|map_bytes|map_used_bytes|lag_seconds|dictionary|string_table)":/ { next }
	     /^ *"updated":/ { next }
	     { print }' "$2.json" > "$2.stats"
	rm -f "$2.json"
}
# same A B: the two contents are equal
same() { cmp -s "$1.dump" "$2.dump" && cmp -s "$1.stats" "$2.stats"; }
# between BEFORE GOT AFTER: every line of GOT's dump is in BEFORE's, every line of AFTER's in GOT's
between() {
	[ -z "$(LC_ALL=C comm -23 "$2.dump" "$1.dump" | head -1)" ] &&
		[ -z "$(LC_ALL=C comm -23 "$3.dump" "$2.dump" | head -1)" ]
}
# messages OUT: the messages in the dump ("id" lines) and in stats agree; prints the count
messages() {
	n=$(grep -c '^{"id"' "$1.dump" || :)
	s=$(sed -n 's/^  "messages": \([0-9]*\),*$/\1/p' "$1.stats")
	[ "$n" = "$s" ] && echo "$n"
}
# what the difference is, a few lines
show_diff() {
	diff "$1.stats" "$2.stats" | head -6 | sed 's/^/    /'
	diff "$1.dump" "$2.dump" | cut -c1-200 | head -6 | sed 's/^/    /'
}

# ---- the operations ------------------------------------------------------------
log=$tmp/mail.log
opts() {  # the command line of operation $1
	case $1 in
	follow) echo "ingest --follow --quiet --year 2026 $log" ;;
	reindex) echo "reindex --quiet" ;;
	reparse) echo "reindex --reparse --quiet" ;;
	prune) echo "prune --quiet --batch $PRUNE_BATCH --older-than $CUT" ;;
	compact) echo "compact --quiet" ;;
	esac
}
# start OP DB [BLOCKS]: the operation in the background (under a file size
# limit of BLOCKS ulimit blocks when given): its pid in $pid, stderr in $tmp/op.err
start() {
	# shellcheck disable=SC2046
	if [ $# -gt 2 ]; then
		(ulimit -f "$3" && exec "$bin" --db "$2" $(opts "$1")) 2>"$tmp/op.err" &
	else
		"$bin" --db "$2" $(opts "$1") 2>"$tmp/op.err" &
	fi
	pid=$!
	track "$pid"
}
# the log, written in CHUNKS pieces GAP seconds apart by a writer in the
# background ($wpid); $tmp/written when it is whole
writer_start() {
	rm -f "$tmp/written"
	: > "$log"
	(for c in "$tmp"/chunk.*; do cat "$c" >> "$log"; sleep "$GAP"; done; : > "$tmp/written") &
	wpid=$!
	track "$wpid"
}
writer_end() {
	reap "$wpid"
}
# caught_up DB: the follower has committed the whole log (its checkpoint is at the end)
caught_up() {
	[ -e "$tmp/written" ] || return 1
	off=$("$bin" --db "$1" stats --json 2>/dev/null | sed -n 's/^ *"offset": \([0-9]*\),*$/\1/p' | tail -1)
	[ "${off:-0}" = "$logsize" ]
}
# wait_caught_up DB PID: up to WAIT seconds
wait_caught_up() {
	t0=$(now_us)
	while ! caught_up "$1"; do
		alive "$2" || return 1
		[ $(($(now_us) - t0)) -lt $((WAIT * 1000000)) ] || return 1
		sleep 0.05
	done
}
# wait_exit PID: up to WAIT seconds for it to end by itself; 1 when it does not
wait_exit() {
	t0=$(now_us)
	while alive "$1"; do
		[ $(($(now_us) - t0)) -lt $((WAIT * 1000000)) ] || return 1
		sleep 0.05
	done
}
# handling PID: it catches SIGTERM now (its handler is set: a TERM is a
# clean stop, not a kill)
handling() {
	m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	m=${m#"${m%????????}"}
	[ -n "$m" ] && [ $((0x$m & 0x4000)) -ne 0 ]
}
# follow_to_end DB: a follower on the whole log (the writer may still be
# writing it) until it has caught up, then SIGTERM; 0 when it did and exited 0
# (a database caught up before the follower started is no reason to stop it
# before it can stop cleanly)
follow_to_end() {
	start follow "$1"
	fp=$pid
	r=0
	t0=$(now_us)
	while alive "$fp" && ! handling "$fp" && [ $(($(now_us) - t0)) -lt $((WAIT * 1000000)) ]; do
		sleep 0.01
	done
	wait_caught_up "$1" "$fp" || r=1
	kill -TERM "$fp" 2>/dev/null || :
	reap "$fp"
	[ "$st" -eq 0 ] || r=1
	writer_end
	return $r
}
# run OP DB: the operation to its end (follow: the log written again from
# nothing, so DB must be new); 0 when it succeeded
run() {
	if [ "$1" = follow ]; then
		writer_start
	fi
	again "$1" "$2"
}
# again OP DB: the operation to its end after a kill or a failure (follow:
# on the log as the writer is writing it or has written it)
again() {
	if [ "$1" = follow ]; then
		follow_to_end "$2"
	else
		start "$1" "$2"
		reap "$pid"
		[ "$st" -eq 0 ]
	fi
}
# skip: a case ends early (the writer of a follow case finishes first)
skip() {
	if [ "$op" = follow ]; then writer_end; fi
}

# ---- the log and the references ------------------------------------------------
echo "# faults: MESSAGES=$MESSAGES KILLS=$KILLS SEED=$SEED OPS=\"$OPS\" (SEED=$SEED replays the kill fractions)"
t_start=$(now_us)
# (under the sanitizers, gen's blocks still allocated at exit are no leak)
if ! ASAN_OPTIONS=detect_leaks=0 "$gen" --messages "$MESSAGES" --seed 3 --start 2026-11-01T00:00:00Z \
	--days 4 --out "$log" >/dev/null 2>"$tmp/gen.err"; then
	no "bench/gen: $(tail -2 "$tmp/gen.err" | tr '\n' ' ')"
	exit 1
fi
logsize=$(wc -c < "$log")
split -n "l/$CHUNKS" "$log" "$tmp/chunk."
# the state reindex, reparse and prune start from: the whole log ingested at once
if ! "$bin" --db "$tmp/pre.db" ingest --quiet --year 2026 "$log" 2>"$tmp/op.err"; then
	no "ingest of the whole log: $(head -3 "$tmp/op.err" | tr '\n' ' ')"
	exit 1
fi
contents "$tmp/pre.db" "$tmp/pre"
# for each operation: the database it starts from ($tmp/OP.start.db, none
# for follow), the state after an uninterrupted run ($tmp/OP.ref) and its
# duration in microseconds ($tmp/OP.us)
for op in $OPS; do
	case $op in
	follow) fresh "$tmp/follow.start.db" ;;
	compact)
		# compact starts from a pruned database: free pages to give back
		copy "$tmp/pre.db" "$tmp/compact.start.db"
		"$bin" --db "$tmp/compact.start.db" $(opts prune)
		;;
	reindex|reparse|prune) copy "$tmp/pre.db" "$tmp/$op.start.db" ;;
	*) echo "faults: unknown operation '$op'" >&2; exit 2 ;;
	esac
	contents_ok=1
	[ "$op" = follow ] || contents "$tmp/$op.start.db" "$tmp/$op.start" || contents_ok=0
	fresh "$tmp/ref.db"
	[ "$op" = follow ] || cp "$tmp/$op.start.db" "$tmp/ref.db"
	t0=$(now_us)
	r=0
	run "$op" "$tmp/ref.db" || r=1
	t1=$(now_us)
	if [ "$r" = 0 ] && contents "$tmp/ref.db" "$tmp/$op.ref" && [ "$contents_ok" = 1 ]; then
		echo $((t1 - t0)) > "$tmp/$op.us"
		before=0
		[ "$op" = follow ] || before=$(messages "$tmp/$op.start" || echo '?')
		after=$(messages "$tmp/$op.ref" || echo '?')
		ok "$op: uninterrupted run in $(( (t1 - t0) / 1000 )) ms ($before -> $after messages)"
	else
		no "$op: the uninterrupted run failed: $(head -3 "$tmp/op.err" "$tmp/contents.err" 2>/dev/null | tr '\n' ' ')"
		OPS=$(echo " $OPS " | sed "s/ $op / /")
		continue
	fi
	cp "$tmp/ref.db" "$tmp/$op.ref.db"
	case $op in
	follow)
		if same "$tmp/follow.ref" "$tmp/pre"; then
			ok "follow: a followed growing log ends as one ingest of the whole log"
		else
			no "follow: a followed growing log does not end as one ingest of the whole log"
			show_diff "$tmp/pre" "$tmp/follow.ref"
		fi
		;;
	reindex|reparse|compact)
		if same "$tmp/$op.ref" "$tmp/$op.start"; then
			ok "$op: holds what it held before"
		else
			no "$op: does not hold what it held before"
			show_diff "$tmp/$op.start" "$tmp/$op.ref"
		fi
		;;
	esac
done

# ---- SIGKILL at random points -------------------------------------------------------
opno=0
for op in $OPS; do
	opno=$((opno + 1))
	dur=$(cat "$tmp/$op.us")
	k=0 mid=0 fails0=$failed
	for f in $(fractions "$opno"); do
		k=$((k + 1))
		delay=$(awk -v f="$f" -v d="$dur" 'BEGIN { printf "%d", f * d }')
		what="$op: SIGKILL $k at $delay us of $dur (fraction $f, SEED=$SEED)"
		db=$tmp/kill.db
		if [ "$op" = follow ]; then
			fresh "$db"
			writer_start
		else
			copy "$tmp/$op.start.db" "$db"
		fi
		start "$op" "$db"
		sleep_us "$delay"
		landed=0
		alive "$pid" && landed=1
		kill -KILL "$pid" 2>/dev/null || :
		reap "$pid"
		if [ "$landed" = 1 ] && [ "$st" -eq 137 ]; then mid=$((mid + 1)); fi
		# right after the kill: the database opens, and holds a state it may hold
		# (a follow killed before its first commit: no file, or a file that
		# says it is empty, "nothing ingested yet")
		if [ "$op" = follow ] && [ -s "$db" ] && ! contents "$db" "$tmp/mid" &&
			grep -q "empty database (nothing ingested yet" "$tmp/contents.err"; then
			:
		elif [ "$op" != follow ] || [ -s "$db" ]; then
			if ! contents "$db" "$tmp/mid"; then
				no "$what: the database does not open after the kill: $(head -2 "$tmp/contents.err" | tr '\n' ' ')"
				skip
				continue
			fi
			case $op in
			reindex|reparse|compact)
				if ! same "$tmp/mid" "$tmp/$op.start"; then
					no "$what: the database after the kill is not as it was before"
					show_diff "$tmp/$op.start" "$tmp/mid"
					continue
				fi
				if [ "$op" = compact ] && [ ! -e "$db" ]; then
					no "$what: the database file is gone after the kill"
					continue
				fi
				;;
			prune)
				if ! between "$tmp/$op.start" "$tmp/mid" "$tmp/$op.ref" || ! messages "$tmp/mid" >/dev/null; then
					no "$what: the database after the kill is not between before and after the prune"
					continue
				fi
				;;
			follow)
				if ! messages "$tmp/mid" >/dev/null; then
					no "$what: after the kill, dump and stats disagree on the messages"
					skip
					continue
				fi
				;;
			esac
		fi
		# run again to the end
		if ! again "$op" "$db"; then
			no "$what: the run after the kill failed: $(head -3 "$tmp/op.err" | tr '\n' ' ')"
		elif ! contents "$db" "$tmp/got"; then
			no "$what: the database does not open after the second run"
		elif ! same "$tmp/got" "$tmp/$op.ref"; then
			no "$what: after the second run the database differs from an uninterrupted run"
			show_diff "$tmp/$op.ref" "$tmp/got"
		elif [ "$op" = compact ] && [ -e "$db.compact-tmp" ]; then
			no "$what: compact left $db.compact-tmp"
		else
			ok "$what: $([ "$landed" = 1 ] && echo "killed mid-run" || echo "it had ended"); then as uninterrupted"
		fi
	done
	note "$op: $mid of $KILLS kills landed while it ran; $((failed - fails0)) failed"
done

# ---- a file size limit: the disk full -----------------------------------------
# ulimit -f counts 512-byte blocks in some shells, 1024 in others: ask this one
(trap '' XFSZ; ulimit -f 1 && head -c 4096 /dev/zero > "$tmp/probe") 2>/dev/null || :
blk=$(wc -c < "$tmp/probe")
[ "$blk" -gt 0 ] || blk=512
# full OP DB BYTES HOW: OP on DB, written no further than BYTES
full() {
	op=$1 db=$2 limit=$(($3 / blk)) how=$4
	what="$op: file size limit $((limit * blk)) bytes ($how)"
	if [ "$op" = follow ]; then
		fresh "$db"
		writer_start
	fi
	start "$op" "$db" "$limit"
	if ! wait_exit "$pid"; then
		no "$what: still running after $WAIT s"
		kill -KILL "$pid" 2>/dev/null || :
		reap "$pid"
		skip
		return
	fi
	reap "$pid"
	rc=$st
	cp "$tmp/op.err" "$tmp/full.err"
	skip
	if [ "$rc" -eq 0 ]; then
		no "$what: it succeeded: the limit is not below what it needs"
		return
	fi
	if [ "$rc" -gt 128 ]; then
		no "$what: killed by signal $((rc - 128)) instead of reporting the error"
		return
	fi
	msg=$(head -1 "$tmp/full.err")
	if ! grep -Eqi 'disk (is )?full|no space' "$tmp/full.err"; then
		no "$what: exit $rc, but the message does not say the disk is full: $msg"
		return
	fi
	case $op in
	reindex|reparse)
		# the database named; a full disk (EFBIG) said as such, with what to
		# do, rather than taken for a full map (grown, and the whole run
		# started again, up to six times); a short write is LMDB's EIO
		if ! grep -qF "$db: $op failed: " "$tmp/full.err"; then
			no "$what: the message does not name the database: $msg"
			return
		fi
		if ! grep -qF 'input/output error (is the disk full?)' "$tmp/full.err" &&
			! grep -qF 'the disk is full (' "$tmp/full.err"; then
			no "$what: the message does not say the disk is full: $msg"
			return
		fi
		if grep -qF "the database's map is full" "$tmp/full.err"; then
			no "$what: a full disk taken for a full map: $msg"
			return
		fi
		;;
	esac
	if ! contents "$db" "$tmp/mid"; then
		no "$what: the database does not open after the failure: $(head -2 "$tmp/contents.err" | tr '\n' ' ')"
		return
	fi
	case $op in
	reindex|reparse|compact)
		if ! same "$tmp/mid" "$tmp/$op.start"; then
			no "$what: the database after the failure is not as it was before"
			show_diff "$tmp/$op.start" "$tmp/mid"
			return
		fi
		if [ "$op" = compact ] && [ -e "$db.compact-tmp" ]; then
			no "$what: the failed compact left $db.compact-tmp"
			return
		fi
		;;
	prune)
		if ! between "$tmp/$op.start" "$tmp/mid" "$tmp/$op.ref" || ! messages "$tmp/mid" >/dev/null; then
			no "$what: the database after the failure is not between before and after the prune"
			return
		fi
		;;
	follow)
		if ! n=$(messages "$tmp/mid"); then
			no "$what: after the failure, dump and stats disagree on the messages"
			return
		fi
		;;
	esac
	kept=$(messages "$tmp/mid" || :)
	if ! again "$op" "$db"; then
		no "$what: the run without the limit failed: $(head -3 "$tmp/op.err" | tr '\n' ' ')"
	elif ! contents "$db" "$tmp/got"; then
		no "$what: the database does not open after the run without the limit"
	elif ! same "$tmp/got" "$tmp/$op.ref"; then
		no "$what: the run without the limit does not end as an uninterrupted run"
		show_diff "$tmp/$op.ref" "$tmp/got"
	else
		ok "$what: exit $rc, \"$msg\", $kept messages kept; the next run completes"
	fi
}
if [ "$NOFULL" != 1 ]; then
	for op in $OPS; do
		db=$tmp/full.db
		if [ "$op" = follow ]; then
			# half of what the whole log takes
			size=$(wc -c < "$tmp/follow.ref.db")
			full follow "$db" $((size / 2)) "half the database it makes"
			continue
		fi
		if [ "$op" = compact ]; then
			# the copy to DB.compact-tmp stops half way
			size=$(wc -c < "$tmp/compact.ref.db")
			copy "$tmp/$op.start.db" "$db"
			full "$op" "$db" $((size / 2 / 4096 * 4096)) "half the compacted copy, at a page's end"
			copy "$tmp/$op.start.db" "$db"
			full "$op" "$db" $((size / 2 / 4096 * 4096 + 6144)) "half the compacted copy, inside a page"
			continue
		fi
		size=$(wc -c < "$tmp/$op.start.db")
		copy "$tmp/$op.start.db" "$db"
		full "$op" "$db" "$size" "the file's size: no page may be added"
		copy "$tmp/$op.start.db" "$db"
		full "$op" "$db" $((size + 6144)) "a page and a half beyond: a short write"
		grown=$(($(wc -c < "$tmp/$op.ref.db") - size))
		if [ "$op" = prune ] && [ "$grown" -gt 65536 ]; then
			# some transactions commit, then one fails
			copy "$tmp/$op.start.db" "$db"
			full "$op" "$db" $((size + grown / 2 / 4096 * 4096 + 6144)) "half the growth of an uninterrupted prune"
		fi
	done
fi

t_end=$(now_us)
echo "faults: $passed cases passed, $failed failed ($(( (t_end - t_start) / 1000000 )) s, SEED=$SEED)"
[ "$failed" -eq 0 ]
