#!/bin/sh
# The benchmark: generate a Postfix log (and its ground truth), ingest it,
# measure search, answer the same questions with the baselines (grep and
# ripgrep as administrators use them, exigrep-style grouping, SQLite FTS5 and
# SQLite with B-tree indexes holding the same rows), check every baseline's
# answer against mtalog's, and write one Markdown report with its plots under
# bench/results/.
#   BENCH_SIZES        messages to generate, one run per size, one report
#                      (default: BENCH_MESSAGES, else 100000); e.g. "100000 1000000"
#   BENCH_QUERIES      queries per class in process (default 200)
#   BENCH_BASELINE_QUERIES  questions per class for mtalog and the SQLite baselines
#                      as processes (default 20; 5 above 200,000 messages, 3 above
#                      2,000,000)
#   BENCH_EXIGREP_QUERIES   questions per class for exigrep (default 5; 3 above
#                      200,000 messages, 1 above 2,000,000: each reads the whole log)
#   BENCH_GREP_QUERIES questions per class for grep and ripgrep (default
#                      BENCH_BASELINE_QUERIES's; 1 above 2,000,000 messages: at
#                      10M each is one or two passes over 24 GB, minutes)
#   BUILD              build folder (default build)
# Exits non-zero when a check fails (the report is written all the same).
set -eu
SIZES=${BENCH_SIZES:-${BENCH_MESSAGES:-100000}}
Q=${BENCH_QUERIES:-200}
B=${BUILD:-build}
cd "$(dirname "$0")/.."
# bytes, not characters (grep -i, awk); the generated log is in UTC
LC_ALL=C
TZ=UTC
export LC_ALL TZ
M="$B/mtalog"
work=bench/results/tmp
mkdir -p "$work" bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
name="$stamp-$(echo $SIZES | tr ' ' '-')"
out="bench/results/$name.md"
fails="$work/failures.txt"
: > "$fails"
: > "$work/sizes.tsv"
. bench/baselines.sh

now() { date +%s.%N; }
# check LABEL MTALOG-ROWS BASELINE-ROWS [ALLOW]: one line in $checks; a mismatch also in $fails
check() {
	if awk -f bench/compare.awk -v label="$1" -v allow="${4:-}" "$2" "$3" > "$work/check.txt"; then
		cat "$work/check.txt" >> "$checks"
	else
		echo "($N messages) $(cat "$work/check.txt")" | tee -a "$fails" >> "$checks"
		sed -n 1p "$work/check.txt" >&2
	fi
}
# load_sqlite SCRIPT DB: the truth rows into a SQLite database (bench/truth.sql, then SCRIPT)
load_sqlite() {
	{
		printf '.mode ascii\n.separator "\\037" "\\n"\nCREATE TEMP TABLE raw(j TEXT);\n.import %s raw\n' "$truth"
		cat bench/truth.sql "$1"
	} | sqlite3 "$2"
}
# the question classes asked as processes (bench/baselines.sh)
classes="addr domain words sd td msgid qid"
ms() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }
class_name() {
	case $1 in
	addr) echo "recipient address" ;; domain) echo "recipient domain" ;;
	words) echo "two subject words" ;; sd) echo "status + domain" ;;
	td) echo "time range + domain" ;; msgid) echo "message-id" ;; qid) echo "queue ID" ;;
	esac
}

# One size: everything measured and checked, a section of the report in
# $work/section-N.md, a line of $work/sizes.tsv.
run_size() {
	N=$1
	log="$work/mail-$N.log"
	truth="$work/truth-$N.jsonl"
	db="$work/bench-$N.db"
	fdb="$work/fts5-$N.db"
	sdb="$work/sqlite-$N.db"
	ans="$work/answers-$N"
	sec="$work/section-$N.md"
	checks="$work/checks-$N.txt"
	# questions per class for the baselines: each is a pass (or two) over the
	# whole log, minutes each at 10M messages
	# (at 10M grep and ripgrep take minutes a question: one each, by default)
	if [ "$N" -gt 2000000 ]; then K=${BENCH_BASELINE_QUERIES:-3}; KE=${BENCH_EXIGREP_QUERIES:-1}
		KG=${BENCH_GREP_QUERIES:-1}
	elif [ "$N" -gt 200000 ]; then K=${BENCH_BASELINE_QUERIES:-5}; KE=${BENCH_EXIGREP_QUERIES:-3}
		KG=${BENCH_GREP_QUERIES:-$K}
	else K=${BENCH_BASELINE_QUERIES:-20}; KE=${BENCH_EXIGREP_QUERIES:-5}; KG=${BENCH_GREP_QUERIES:-$K}; fi
	[ -s "$log" ] && [ -s "$truth" ] || "$B/bench/gen" --messages "$N" --seed 42 --out "$log" --truth "$truth"
	rm -rf "$db" "$db-lock" "$fdb" "$fdb-wal" "$fdb-shm" "$sdb" "$sdb-wal" "$sdb-shm" "$ans"
	mkdir -p "$ans"
	: > "$checks"
	lines=$(wc -l < "$log")
	bytes=$(wc -c < "$log")
	echo "== $N messages: $lines lines, $bytes bytes" >&2

	# ingest, end to end, into a durable database
	# (private memory: the peak of RssAnon, sampled; RSS would count the mapped database)
	/usr/bin/env time -f "%e %U %S %M" -o "$work/time.txt" "$M" --db "$db" ingest --quiet "$log" &
	tpid=$!
	anon=0
	# (and the bytes of log read so far, for the ingest rate over time)
	t0=$(now)
	: > "$work/ingest-$N.tsv"
	while kill -0 "$tpid" 2> /dev/null; do
		for p in $(pgrep -P "$tpid" 2> /dev/null); do
			a=$(awk '/RssAnon/ { print $2 }' "/proc/$p/status" 2> /dev/null || true)
			[ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
			r=$(awk '/^rchar:/ { print $2 }' "/proc/$p/io" 2> /dev/null || true)
			[ -n "$r" ] && echo "$(now) $r" >> "$work/ingest-$N.tsv"
		done
		sleep 0.2
	done
	wait "$tpid"
	# lines/s over time, a point each half second (log bytes read / the log's mean line length),
	# and the mean since the start
	awk -v t0="$t0" -v bpl="$(awk -v b="$bytes" -v l="$lines" 'BEGIN { print b / l }')" '
		NR == 1 { lt = $1; lb = $2; next }
		$1 - lt >= 0.5 { printf "%.1f\t%.0f\t%.0f\n", $1 - t0, ($2 - lb) / bpl / ($1 - lt), $2 / bpl / ($1 - t0)
			lt = $1; lb = $2 }' \
		"$work/ingest-$N.tsv" > "$work/ingest-rate-$N.tsv"
	gnuplot -e "mode='ingest'; in='$work/ingest-rate-$N.tsv'; out='bench/results/$name-ingest-$N.png'; n='$N'" bench/plot.gp
	read -r wall user sys rss < "$work/time.txt"
	dbbytes=$(wc -c < "$db")
	lps=$(awk -v l="$lines" -v w="$wall" 'BEGIN { printf "%.0f", l / w }')
	mbps=$(awk -v b="$bytes" -v w="$wall" 'BEGIN { printf "%.1f", b / 1e6 / w }')
	ratio=$(awk -v d="$dbbytes" -v b="$bytes" 'BEGIN { printf "%.3f", d / b }')
	# where the bytes are, as ingest left them (stats --json "space")
	"$M" --db "$db" stats --json | tr -d ' \n' | sed 's/.*"space":{\([^}]*\)}.*/\1/' | tr ',' '\n' | tr -d '"' |
		awk -F: -v b="$bytes" '{ printf "%s%s %.1f MB (%.3f)", (NR > 1 ? ", " : ""), $1, $2 / 1e6, $2 / b }' > "$work/space.txt"
	# the newest message's year and month: baselines date the log's lines from it
	"$M" --db "$db" search --json --limit 1 | sed -n 's/.*"time":"\([0-9]\{4\}-[0-9]\{2\}\).*/\1/p' > "$work/year"

	# search, in process: with the map populated (a long-running reader), then cold
	echo "-- search in process" >&2
	"$B/bench/bench_search" --db "$db" --queries "$Q" --out-values "$work/values-$N.txt" \
		--latencies "$work/latencies-$N.tsv" > "$work/search.md"
	"$B/bench/bench_search" --db "$db" --queries "$Q" --seed 7 --cold > "$work/search-cold.md"

	# SQLite FTS5 holding the same rows (bench/fts5.sql), bulk insert timed as its ingest
	echo "-- SQLite FTS5 load" >&2
	t0=$(now)
	load_sqlite bench/fts5.sql "$fdb" > "$work/fts5-load.txt"
	t1=$(now)
	fwall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	frows=$(tail -n 1 "$work/fts5-load.txt" | tr -dc 0-9)
	fbytes=$(wc -c < "$fdb")
	truthrows=$(wc -l < "$truth")
	# SQLite with B-tree indexes, the same rows (bench/sqlite.sql), timed the same way;
	# measured as loaded (not vacuumed)
	echo "-- SQLite B-tree load" >&2
	t0=$(now)
	load_sqlite bench/sqlite.sql "$sdb" > "$work/sqlite-load.txt"
	t1=$(now)
	swall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	srows=$(tail -n 1 "$work/sqlite-load.txt" | tr -dc 0-9)
	sbytes=$(wc -c < "$sdb")
	sfree=$(sqlite3 -readonly "$sdb" "PRAGMA freelist_count")

	# the questions: the first of those bench_search sampled; subject words of
	# ASCII letters and digits only (the baselines split non-ASCII text otherwise)
	awk -F'\t' -v k="$K" '
		$1 == "recipient address" && na++ < k { print "addr\t" $2 }
		$1 == "recipient domain" && nd++ < k { print "domain\t" substr($2, 2) }
		$1 == "two subject words" && $2 ~ /^[a-z0-9]+ [a-z0-9]+$/ && nw++ < k { print "words\t" $2 }
		$1 == "status + domain" && ns++ < k { print "sd\t" substr($2, 2) "\t" $3 }
		$1 == "time range + domain" && nt++ < k { print "td\t" substr($2, 2) "\t" (NF >= 4 ? $3 " " $4 : "-") }
		$1 == "message-id" && nm++ < k { print "msgid\t" $2 }
		$1 == "queue ID" && nq++ < k { print "qid\t" $2 }' \
		"$work/values-$N.txt" > "$work/q.tsv"
	# time range + domain: unless bench_search wrote the range (columns 3 and 4:
	# since, until), two hours around a row of the domain, as bench_search takes
	# two hours around a message of the domain it sampled: the j-th question's
	# row at (j * 7919) mod (the domain's rows), in time order (not timed)
	j=0
	while IFS='	' read -r cc v s; do
		if [ "$cc" = td ] && [ "$s" = - ]; then
			j=$((j + 1))
			s=$(sqlite3 -readonly "$sdb" "WITH d AS (SELECT time FROM rows WHERE to_domain = '$(sql_str "$v")'
					UNION ALL SELECT time FROM rows WHERE orig_domain = '$(sql_str "$v")' AND orig_domain <> to_domain)
				SELECT strftime('%Y-%m-%dT%H:%M:%SZ', time - 3600, 'unixepoch') || ' ' ||
				       strftime('%Y-%m-%dT%H:%M:%SZ', time + 3600, 'unixepoch')
				FROM d ORDER BY time LIMIT 1 OFFSET ($j * 7919) % max(1, (SELECT count(*) FROM d))" < /dev/null)
			[ -n "$s" ] || continue
		fi
		printf '%s\t%s%s\n' "$cc" "$v" "${s:+	$s}"
	done < "$work/q.tsv" > "$work/questions-$N.tsv"
	# messages whose Subject line is MIME-encoded: grep cannot see their words
	grep -F ": header Subject: " "$log" | grep -F "=?" |
		awk '{ id = $6; sub(/:$/, "", id); print $4 "\t" id }' | sort -u > "$work/encoded-$N.txt" || :

	: > "$work/timing-$N.tsv"
	# the clock's own cost: the time between two `date` processes around
	# nothing (the second's start, about as long as a small process's), the
	# median of 21, taken off each question's time below
	clk=$(for i in $(seq 21); do t0=$(now); t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'; done |
		sort -n | sed -n 11p)
	echo "$clk" > "$work/clock-$N.txt"
	for c in $classes; do
		grep "^$c	" "$work/questions-$N.tsv" > "$work/q.tsv" || :
		nq=$(wc -l < "$work/q.tsv")
		[ "$nq" -gt 0 ] || continue
		tools="mtalog fts sq"
		case $c in addr | domain | words) tools="mtalog grep rg exigrep fts sq" ;; esac
		for tool in $tools; do
			command -v rg > /dev/null 2>&1 || [ "$tool" != rg ] || continue
			n=0
			tsum=0
			times=""
			echo "-- $(class_name $c): $tool" >&2
			while IFS='	' read -r cc v s; do
				n=$((n + 1))
				[ "$tool" = exigrep ] && [ "$n" -gt "$KE" ] && break
				case $tool in grep | rg) [ "$n" -gt "$KG" ] && break ;; esac
				a="$ans/$c-$n"
				t0=$(now)
				case $tool in
				mtalog) ask_mtalog "$c" "$v" "$s" "$a.mtalog" < /dev/null ;;
				grep) ask_grep "$c" "$v" "$s" "$a.grep" < /dev/null ;;
				rg) GREP=rg; ask_grep "$c" "$v" "$s" "$a.rg" < /dev/null; GREP=grep ;;
				exigrep) ask_exigrep "$c" "$v" "$s" "$a.exigrep" < /dev/null ;;
				fts) ask_fts "$c" "$v" "$s" "$a.fts" < /dev/null ;;
				sq) ask_sq "$c" "$v" "$s" "$a.sq" < /dev/null ;;
				esac
				t1=$(now)
				d=$(awk -v a="$t0" -v b="$t1" -v c="$clk" 'BEGIN { d = b - a - c; printf "%.6f", (d > 0 ? d : 0) }')
				tsum=$(awk -v d="$d" -v t="$tsum" 'BEGIN { printf "%.6f", t + d }')
				times="$times $(awk -v d="$d" 'BEGIN { printf "%.3f", d * 1000 }')"
				# (not timed) the rows the answer shows, then the answer goes: a
				# big domain's lines are gigabytes at 10M messages
				case $tool in
				grep | rg) rows_log "$c" "$v" "$a.$tool" grep > "$a.$tool.B"
					rm -f "$a.$tool.1" "$a.$tool.2" "$a.$tool.ids" ;;
				exigrep) rows_log "$c" "$v" "$a.$tool" > "$a.$tool.B"; rm -f "$a.$tool" ;;
				esac
			done < "$work/q.tsv"
			[ "$tool" = exigrep ] && [ "$n" -gt "$KE" ] && n=$KE
			case $tool in grep | rg) [ "$n" -gt "$KG" ] && n=$KG ;; esac
			# the mean; the first question (the pages it reads come from the
			# disk or are mapped for the first time: cold) and the median of
			# the others (warm), apart
			printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$tool" "$n" "$(ms 0 "$tsum" "$n")" \
				"$(echo $times | tr ' ' '\n' | awk 'NR == 1 { first = $1; next } { v[++k] = $1 }
					END { printf "%.1f\t", first; if (!k) { print "-"; exit }
					      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
					      printf "%.1f\n", k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }')" >> "$work/timing-$N.tsv"
		done
		# the checks (not timed)
		n=0
		while IFS='	' read -r cc v s; do
			n=$((n + 1))
			a="$ans/$c-$n"
			rows_mtalog "$a.mtalog" > "$a.A"
			rows_mtalog "$a.mtalog" status > "$a.AS"
			allow=""
			[ "$c" = words ] && allow="$work/encoded-$N.txt"
			for tool in grep rg exigrep; do
				[ -e "$a.$tool.B" ] || continue
				check "$tool, $(class_name $c) '$v'" "$a.A" "$a.$tool.B" "$allow"
			done
			# FTS5 holds the truth rows: its full answer (no limit) is also the ground
			# truth for this question, with each row's status
			ask_fts "$c" "$v" "$s" "$a.truth" nolimit < /dev/null
			check "FTS5 = ground truth (with status), $(class_name $c) '$v${s:+ $s}'" "$a.AS" "$a.truth"
			# so does the B-tree baseline's, and its query walks indexes only
			ask_sq "$c" "$v" "$s" "$a.sqtruth" nolimit < /dev/null
			rows_sq "$a.sqtruth" > "$a.SQ"
			check "SQLite B-tree = ground truth (with status), $(class_name $c) '$v${s:+ $s}'" "$a.AS" "$a.SQ"
			if plan=$(sq_plan "$c" "$v" "$s" < /dev/null); then
				echo "SQLite B-tree plan, no scan or sort, $(class_name $c) '$v${s:+ $s}': ok, $plan" >> "$checks"
			else
				echo "($N messages) MISMATCH SQLite B-tree plan, no scan or sort, $(class_name $c) '$v${s:+ $s}': $plan" |
					tee -a "$fails" >> "$checks"
				echo "SQLite B-tree plan sorts or scans: $(class_name $c) '$v${s:+ $s}': $plan" >&2
			fi
		done < "$work/q.tsv"
	done
	# reindex, then reindex --reparse, of the database as ingested: their rate,
	# and the same answers after them (the SQLite databases and the truth are
	# done with: they go first, for the disk space a rebuild takes)
	rm -f "$fdb" "$fdb-wal" "$fdb-shm" "$sdb" "$sdb-wal" "$sdb-shm" "$truth"
	echo "-- reindex, reindex --reparse" >&2
	"$M" --db "$db" reindex 2> "$work/reindex.txt"
	"$M" --db "$db" reindex --reparse 2> "$work/reparse.txt"
	rxrate=$(sed -n 's/.*: \([0-9]*\) messages\/s.*/\1/p' "$work/reindex.txt")
	rprate=$(sed -n 's/.*: \([0-9]*\) messages\/s.*/\1/p' "$work/reparse.txt")
	rxdb=$(wc -c < "$db")
	for c in $classes; do
		grep "^$c	" "$work/questions-$N.tsv" > "$work/q.tsv" || :
		n=0
		while IFS='	' read -r cc v s; do
			n=$((n + 1))
			a="$ans/$c-$n"
			ask_mtalog "$c" "$v" "$s" "$a.mtalog2" < /dev/null
			rows_mtalog "$a.mtalog2" status > "$a.AS2"
			check "the same rows after reindex and reindex --reparse, $(class_name $c) '$v${s:+ $s}'" "$a.AS" "$a.AS2"
		done < "$work/q.tsv"
	done
	nok=$(grep -c ': ok' "$checks" || :)
	nbad=$(grep -c '^([0-9]* messages) MISMATCH' "$checks" || :)

	cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
	mem=$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)
	{
		echo "## $N messages"
		echo
		echo "Machine: $cpu, $(nproc) cores, $mem. Log: generated by bench/gen (seed 42), $lines lines, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB; ground truth $truthrows rows."
		echo
		echo "### Ingest"
		echo
		mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
		per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }
		echo "| figure | mtalog (the log, end to end, durable, all indexes) | SQLite B-tree (the truth rows, already parsed) | SQLite FTS5 (the truth rows, already parsed) | budget |"
		echo "|---|---:|---:|---:|---:|"
		echo "| wall s | $wall | $swall | $fwall | |"
		echo "| lines/s | $lps | | | 1,000,000 (floor 300,000) |"
		echo "| rows/s | | $(per "$srows" "$swall") | $(per "$frows" "$fwall") | |"
		echo "| MB/s of log | $mbps | | | |"
		echo "| CPU s (user + sys) | $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') | | | |"
		echo "| peak private memory MB (RssAnon) | $(awk -v r="$anon" 'BEGIN { printf "%.0f", r / 1024 }') | | | bounded |"
		echo "| peak RSS MB (with the mapped database) | $(awk -v r="$rss" 'BEGIN { printf "%.0f", r / 1024 }') | | | |"
		echo "| database MB | $(mb "$dbbytes") | $(mb "$sbytes") | $(mb "$fbytes") | |"
		echo "| database split (MB, and / raw log) | $(sed 's/raw_lines/raw lines/; s/in_flight/in flight/' "$work/space.txt") | | | |"
		echo "| database / raw log | $ratio | $(awk -v d="$sbytes" -v b="$bytes" 'BEGIN { printf "%.3f", d / b }') | $(awk -v d="$fbytes" -v b="$bytes" 'BEGIN { printf "%.3f", d / b }') | 0.25, and below SQLite B-tree |"
		echo "| reindex, messages/s (\`mtalog reindex\`: every posting rebuilt, every record recompressed with a new dictionary) | $rxrate | | | 500,000 |"
		echo "| reindex --reparse, messages/s (the stored lines parsed and correlated again, then as reindex) | $rprate | | | |"
		echo "| database MB after both (the old copy's pages free inside the file) | $(mb "$rxdb") | | | |"
		echo
		echo "Ingest rate over time (lines/s, each half second): [$name-ingest-$N.png]($name-ingest-$N.png)"
		echo
		echo "The SQLite baselines hold $frows rows (FTS5) and $srows rows (B-tree): those of the truth less the recipients the log does not name yet (see bench/truth.sql); they hold no raw lines and their load starts from parsed rows, so their ingest is not the same work as mtalog's. The B-tree file is measured as loaded, not vacuumed ($sfree free pages in it); bench/sqlite.sql has its table, indexes and settings."
		echo
		echo "### Search, in process (every returned row decoded)"
		echo
		echo "A long-running reader (every page of the database mapped once before):"
		echo
		cat "$work/search.md"
		echo
		echo "Latency distribution: [$name-latency-$N.png]($name-latency-$N.png)"
		echo
		echo "A fresh process (each page it touches first costs a page fault):"
		echo
		cat "$work/search-cold.md"
		echo
		echo "### mtalog against the baselines, the same questions"
		echo
		echo "Each question answered by one process, as a user runs it (mtalog search --json; grep, ripgrep and awk over the log, which is in the page cache; the sqlite3 command on the SQLite databases, also in the page cache), newest first where the tool can sort; mean ms per question, and in brackets the baseline's time over mtalog's (above 1: mtalog is faster). Each time is taken by \`date\` before and after the question, less the clock's own cost ($(awk '{ printf "%.2f", $1 * 1000 }' "$work/clock-$N.txt") ms: two \`date\` processes around nothing, the median of 21). grep, ripgrep and exigrep-style answer the first three classes only, grep and ripgrep the first $KG questions of each, exigrep-style the first $KE."
		echo
		echo "| question class | questions | mtalog ms | SQLite B-tree ms (× mtalog) | SQLite FTS5 ms (× mtalog) | grep ms (×) | ripgrep ms (×) | exigrep-style ms (×) |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|"
		for c in $classes; do
			awk -F'\t' -v c="$c" -v name="$(class_name $c)" '
				function x(t) { return t in ms ? sprintf("%s (%s)", ms[t], base > 0 ? sprintf(ms[t] / base < 10 ? "%.1f" : "%.0f", ms[t] / base) : "-") : "" }
				$1 == c { ms[$2] = $4; if ($2 == "mtalog") { base = $4; n = $3 } }
				END { if ("mtalog" in ms) printf "| %s | %d | %s | %s | %s | %s | %s | %s |\n", name, n, ms["mtalog"], x("sq"), x("fts"), x("grep"), x("rg"), x("exigrep") }' \
				"$work/timing-$N.tsv"
		done
		echo
		echo "The same, cold and warm apart: the first question of each class (pages read from the disk or mapped for the first time) and the median of the others (pages in memory), ms, and the baseline's time over mtalog's."
		echo
		echo "| question class | mtalog first | mtalog warm | SQLite B-tree first (×) | SQLite B-tree warm (×) | SQLite FTS5 first (×) | SQLite FTS5 warm (×) |"
		echo "|---|---:|---:|---:|---:|---:|---:|"
		for c in $classes; do
			awk -F'\t' -v c="$c" -v name="$(class_name $c)" '
				function r(a, b) { return b > 0 && a != "-" && b != "-" ? sprintf(a / b < 10 ? "%.1f" : "%.0f", a / b) : "-" }
				function x(t, k, base) { return (t SUBSEP k) in v ? sprintf("%s (%s)", v[t, k], r(v[t, k], base)) : "" }
				$1 == c { v[$2, 5] = $5; v[$2, 6] = $6 }
				END { if (("mtalog" SUBSEP 5) in v)
					printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, v["mtalog", 5], v["mtalog", 6],
					       x("sq", 5, v["mtalog", 5]), x("sq", 6, v["mtalog", 6]), x("fts", 5, v["mtalog", 5]), x("fts", 6, v["mtalog", 6]) }' \
				"$work/timing-$N.tsv"
		done
		for c in $classes; do
			grep -q "^$c	mtalog	" "$work/timing-$N.tsv" || continue
			echo
			echo "#### $(class_name $c)"
			echo
			echo "| how | questions | ms per question | × mtalog |"
			echo "|---|---:|---:|---:|"
			awk -F'\t' -v c="$c" '
				BEGIN {
					d["mtalog"] = "mtalog search --json"
					d["grep"] = c == "words" ? "grep the Subject header lines for both words, then the queue IDs" : "grep to=<...>, then grep the queue IDs"
					d["rg"] = "ripgrep, the same way"
					d["exigrep"] = "exigrep-style: awk groups the lines by (host, queue ID), prints the groups that match"
					d["fts"] = "SQLite FTS5: MATCH ... ORDER BY time DESC LIMIT 1000"
					d["sq"] = c == "words" ? "SQLite B-tree: the subject FTS5 index MATCH, newest first by rowid, joined to the rows, LIMIT 1000" : "SQLite B-tree: index walk newest first (no scan, no sort), LIMIT 1000"
				}
				$1 == c && $2 == "mtalog" { base = $4 }
				$1 == c { printf "| %s | %d | %s | %s |\n", d[$2], $3, $4, $2 == "mtalog" ? "1" : (base > 0 ? sprintf($4 / base < 10 ? "%.1f" : "%.0f", $4 / base) : "-") }' \
				"$work/timing-$N.tsv"
		done
		echo
		echo "### Checks"
		echo
		echo "Every baseline answer above was compared with mtalog's, row by row (host, queue ID, recipient; bench/compare.awk); the SQLite rows are the ground truth's, so their full answers also check mtalog's rows and their statuses against the truth. Each SQLite B-tree question's plan (EXPLAIN QUERY PLAN) was checked too: index searches only, no scan of the table, no sort. $nok checks passed, $nbad failed."
		echo
		echo "| check | questions | passed | rows compared | rows the baseline cannot see (MIME-encoded subject) |"
		echo "|---|---:|---:|---:|---:|"
		awk '{
				ok = $0 !~ /^\(/
				l = ok ? $0 : substr($0, index($0, ") ") + 2)
				sub(/^MISMATCH /, "", l)
				k = substr(l, 1, index(l, " \047") - 1)
				if (!(k in q)) order[++n] = k
				q[k]++; p[k] += ok
				if (ok && match(l, /ok, [0-9]+ rows/)) r[k] += substr(l, RSTART + 4, RLENGTH - 9)
				if (match(l, /[0-9]+ not seen/)) u[k] += substr(l, RSTART, RLENGTH - 9)
			}
			END { for (i = 1; i <= n; i++) { k = order[i]; printf "| %s | %d | %d | %d | %d |\n", k, q[k], p[k], r[k], u[k] } }' "$checks"
		echo
		echo "<details><summary>every check</summary>"
		echo
		echo '```'
		cat "$checks"
		echo '```'
		echo
		echo "</details>"
		echo
	} > "$sec"
	# for the plots: N, lines, log bytes, mtalog db bytes, FTS5 db bytes, ingest s (mtalog, FTS5), then p50 and
	# p99 per class, then SQLite B-tree db bytes and load s
	lat=$(awk -F'\t' '{ v[$1, ++n[$1]] = $2 }
		END {
			split("recipient address|recipient domain|two subject words|status + domain", cl, "|")
			for (i = 1; i <= 4; i++) {
				c = cl[i]; m = n[c]
				for (a = 1; a <= m; a++) x[a] = v[c, a]
				for (a = 2; a <= m; a++) { t = x[a]; for (b = a - 1; b >= 1 && x[b] > t; b--) x[b + 1] = x[b]; x[b + 1] = t }
				printf "\t%s\t%s", x[int(m * 0.5) + 1], x[int(m * 0.99) + 1]
			}
		}' "$work/latencies-$N.tsv")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s%s\t%s\t%s\n' "$N" "$lines" "$bytes" "$dbbytes" "$fbytes" "$wall" "$fwall" "$lat" \
		"$sbytes" "$swall" >> "$work/sizes.tsv"
	# latency distribution: one block per class, sorted, with the cumulative fraction
	for c in "recipient address" "recipient domain" "two subject words" "status + domain" \
		"time range + domain" "message-id" "queue ID"; do
		echo "\"$c\""
		awk -F'\t' -v c="$c" '$1 == c { print $2 }' "$work/latencies-$N.tsv" | sort -g |
			awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print (v[i] < 1 ? 1 : v[i]), i / NR }'
		printf '\n\n'
	done > "$work/cdf-$N.dat"
	gnuplot -e "mode='latency'; in='$work/cdf-$N.dat'; out='bench/results/$name-latency-$N.png'; n='$N'; blocks=7" bench/plot.gp
	# the big files of this size go (BENCH_KEEP=1 keeps them)
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$log" "$truth" "$db" "$db-lock" "$fdb" "$fdb-wal" "$fdb-shm" "$sdb" "$sdb-wal" "$sdb-shm" "$ans"
}

for N in $SIZES; do
	run_size "$N"
done
{
	echo "# mtalog benchmark ($stamp)"
	echo
	echo "Sizes: $(echo $SIZES | sed 's/ /, /g') messages. Baselines on the same generated log, answering the same questions, in the same run; every answer checked (see Checks)."
	echo
	if [ "$(wc -l < "$work/sizes.tsv")" -gt 1 ]; then
		gnuplot -e "mode='size'; in='$work/sizes.tsv'; out='bench/results/$name-size.png'" bench/plot.gp
		gnuplot -e "mode='scaling'; in='$work/sizes.tsv'; out='bench/results/$name-scaling.png'" bench/plot.gp
		echo "Database size against messages: [$name-size.png]($name-size.png); search p50 and p99 against messages: [$name-scaling.png]($name-scaling.png)."
		echo
	fi
	if [ -s "$fails" ]; then
		echo "**CHECKS FAILED**:"
		echo
		echo '```'
		cat "$fails"
		echo '```'
		echo
	fi
	for N in $SIZES; do cat "$work/section-$N.md"; done
} > "$out"
cat "$out"
echo "report: $out"
if [ -s "$fails" ]; then
	echo "benchmark FAILED: a baseline's answer differs from mtalog's:" >&2
	cat "$fails" >&2
	exit 1
fi
