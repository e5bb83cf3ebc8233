# baselines.sh — the baselines of the benchmark, sourced by bench/run.sh.
# Each answers one question of a class, the way its users ask it, and leaves
# its answer in a file; bench/run.sh times the questions of a class together
# and checks every answer against mtalog's afterwards (bench/compare.awk).
#
# Classes: addr (recipient address), domain (recipient domain), words (two
# subject words), sd (status + domain), td (time range + domain), msgid
# (message-id), qid (queue ID).  A question is "CLASS<TAB>VALUE[<TAB>S]": S
# is the status of sd, "SINCE UNTIL" of td (RFC 3339, UTC, to the second,
# both included).  grep, ripgrep and exigrep-style answer addr, domain and
# words; mtalog and the two SQLite baselines every class.
# Needs: $log, $db (mtalog), $fdb (FTS5), $sdb (SQLite B-tree), $M (the mtalog command).

# mtalog, the whole process, as a user runs it
ask_mtalog() {	# class value status out
	case $1 in
	addr) "$M" --db "$db" search --json --to "$2" > "$4" ;;
	domain) "$M" --db "$db" search --json --to "@$2" > "$4" ;;
	words) "$M" --db "$db" search --json --subject "$2" > "$4" ;;
	sd) "$M" --db "$db" search --json --to "@$2" --status "$3" > "$4" ;;
	td) "$M" --db "$db" search --json --to "@$2" --since "${3% *}" --until "${3#* }" > "$4" ;;
	msgid) "$M" --db "$db" search --json --msgid "$2" > "$4" ;;
	qid) "$M" --db "$db" search --json --queue-id "$2" > "$4" ;;
	esac
}

# grep (or ripgrep, GREP=rg) as administrators use it: find the lines that
# name the recipient (or the Subject header lines with both words), take
# their queue IDs, then grep the log for those queue IDs.  The answer is the
# lines of the first step (NOQUEUE rejects have no queue ID) in $4.1 and
# those of the second in $4.2.
ask_grep() {	# class value status out
	_g=${GREP:-grep}
	case $1 in
	addr) $_g -F "to=<$2>" "$log" > "$4.1" || : ;;
	domain) $_g -e "to=<[^>]*@$(printf '%s' "$2" | sed 's/[.]/[.]/g')>" "$log" > "$4.1" || : ;;
	words)
		set -- "$1" $2 "$4"
		$_g -F ": header Subject: " "$log" | $_g -i -w -F "$2" | $_g -i -w -F "$3" > "$4.1" || :
		set -- words "" "" "$4" ;;
	esac
	sed -n 's/^[^]]*\]: \([0-9A-Za-z]\{5,\}\): .*/\1/p' "$4.1" | grep -v -x NOQUEUE | sort -u > "$4.ids" || :
	if [ -s "$4.ids" ]; then $_g -F -f "$4.ids" "$log" > "$4.2" || :; else : > "$4.2"; fi
}

# exigrep-style: one pass over the log grouping lines by (host, queue ID)
ask_exigrep() {	# class value status out
	case $1 in
	addr) awk -f bench/exigrep.awk -v s1="to=<$2>" "$log" > "$4" ;;
	domain) awk -f bench/exigrep.awk -v s1="@$2>" "$log" > "$4" ;;
	words)
		set -- "$1" $2 "$4"
		awk -f bench/exigrep.awk -v s1=": header Subject: " -v s2="$2" -v s3="$3" "$log" > "$4" ;;
	esac
}

# SQLite FTS5 (bench/fts5.sql): MATCH, then the exact check, newest first.
# A value is matched as a phrase of its tokens (FTS5 syntax: '"' doubled)
# inside an SQL string ("'" doubled).
sql_str() { printf '%s' "$1" | sed "s/'/''/g"; }
fts_phrase() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
fts_where() {	# class value status
	_fv=$(sql_str "$2")
	_fp=$(sql_str "$(fts_phrase "$2")")
	case $1 in
	addr) echo "rows MATCH '{to_addr orig_to}: $_fp' AND (to_addr = '$_fv' OR orig_to = '$_fv')" ;;
	domain) echo "rows MATCH '{to_domain orig_domain}: $_fp' AND (to_domain = '$_fv' OR orig_domain = '$_fv')" ;;
	sd) echo "rows MATCH '{to_domain orig_domain}: $_fp AND status: \"$3\"' AND (to_domain = '$_fv' OR orig_domain = '$_fv') AND status = '$3'" ;;
	td) echo "rows MATCH '{to_domain orig_domain}: $_fp' AND (to_domain = '$_fv' OR orig_domain = '$_fv') AND time >= '${3% *}' AND time <= '${3#* }'" ;;
	# (a message-id without a letter or digit has no token: only the exact check, a scan)
	msgid) case $2 in
		*[A-Za-z0-9]*) echo "rows MATCH 'message_id: $_fp' AND message_id = '$_fv'" ;;
		*) echo "message_id = '$_fv'" ;;
		esac ;;
	qid) echo "rows MATCH 'queue_id: $_fp' AND queue_id = '$_fv'" ;;
	words) set -- $_fv; echo "rows MATCH 'subject: (\"$1\" AND \"$2\")'" ;;
	esac
}
ask_fts() {	# class value status out [nolimit]
	_lim="LIMIT 1000"
	[ -n "${5:-}" ] && _lim=""
	sqlite3 -readonly -tabs "$fdb" \
		"SELECT host, queue_id, to_addr, status, time FROM rows WHERE $(fts_where "$1" "$2" "$3") ORDER BY time DESC $_lim" > "$4"
}

# SQLite with B-tree indexes (bench/sqlite.sql): each question one index walk
# newest first, stopped at the limit.  An address or a domain is a recipient
# or an orig_to: two index walks, UNION ALL, merged on time (the second arm
# only the rows its partial index holds: orig_to other than the recipient).
# Subject words: the FTS5 index of the subject, walked in descending rowid
# (ids are in time order), each match joined to its row by id.  The columns:
# host, queue ID, recipient, status, time (integer: the key the merge orders
# by), time (RFC 3339).
sq_sql() {	# class value status [nolimit]
	_sv=$(sql_str "$2")
	_lim="LIMIT 1000"
	[ -n "${4:-}" ] && _lim=""
	_sc="host, queue_id, to_addr, status, time, strftime('%Y-%m-%dT%H:%M:%SZ', time, 'unixepoch')"
	case $1 in
	addr) echo "SELECT $_sc FROM rows WHERE to_addr = '$_sv'
		UNION ALL SELECT $_sc FROM rows WHERE orig_to = '$_sv' AND orig_to <> to_addr ORDER BY 5 DESC $_lim" ;;
	domain) echo "SELECT $_sc FROM rows WHERE to_domain = '$_sv'
		UNION ALL SELECT $_sc FROM rows WHERE orig_domain = '$_sv' AND orig_domain <> to_domain ORDER BY 5 DESC $_lim" ;;
	sd) echo "SELECT $_sc FROM rows WHERE status = '$3' AND to_domain = '$_sv'
		UNION ALL SELECT $_sc FROM rows WHERE status = '$3' AND orig_domain = '$_sv' AND orig_domain <> to_domain ORDER BY 5 DESC $_lim" ;;
	td) echo "SELECT $_sc FROM rows WHERE to_domain = '$_sv' AND time BETWEEN unixepoch('${3% *}') AND unixepoch('${3#* }')
		UNION ALL SELECT $_sc FROM rows WHERE orig_domain = '$_sv' AND orig_domain <> to_domain
			AND time BETWEEN unixepoch('${3% *}') AND unixepoch('${3#* }') ORDER BY 5 DESC $_lim" ;;
	msgid) echo "SELECT $_sc FROM rows WHERE message_id = '$_sv' ORDER BY time DESC $_lim" ;;
	qid) echo "SELECT $_sc FROM rows WHERE queue_id = '$_sv' ORDER BY time DESC $_lim" ;;
	words) set -- $_sv; echo "SELECT $_sc FROM rows_subject JOIN rows ON rows.id = rows_subject.rowid
		WHERE rows_subject MATCH '\"$1\" AND \"$2\"' ORDER BY rows_subject.rowid DESC $_lim" ;;
	esac
}
ask_sq() {	# class value status out [nolimit]
	sqlite3 -readonly -tabs "$sdb" "$(sq_sql "$1" "$2" "$3" "${5:-}")" > "$4"
}
# Its query plan (EXPLAIN QUERY PLAN): index searches only, no table scan
# ("SCAN rows"), no sort ("USE TEMP B-TREE"); the FTS5 index of the subject
# is a virtual table, which the plan shows as "SCAN ... VIRTUAL TABLE INDEX
# n:M" (a MATCH).  Prints the plan on one line; fails if it sorts or scans.
sq_plan() {	# class value status
	sqlite3 -readonly "$sdb" "EXPLAIN QUERY PLAN $(sq_sql "$1" "$2" "$3")" |
		awk '/^QUERY PLAN/ { next }
			{ sub(/^[|` -]+/, ""); p = p (p == "" ? "" : "; ") $0 }
			/TEMP B-TREE/ || (/SCAN / && !/VIRTUAL TABLE INDEX [0-9]+:M/) { bad = 1 }
			END { print p; exit bad }'
}

# The rows of an answer, for bench/compare.awk
rows_mtalog() {	# json [status]
	if [ -n "${2:-}" ]; then
		jq -r '[.host, .queue_id, (.to | ascii_downcase), .status, .time] | @tsv' "$1"
	else
		jq -r '[.host, .queue_id, (.to | ascii_downcase), .time] | @tsv' "$1"
	fi
}
rows_sq() {	# answer of ask_sq: without the integer time
	cut -f 1-4,6 "$1"
}
rows_log() {	# class value answer-of-ask_grep|ask_exigrep [grep]
	_ref=$(head -c 7 "$work/year")
	set -- "$1" "$2" "$3" "${4:-}" $2
	case $1 in
	words) _ra="-v mode=words -v w1=$5 -v w2=$6" ;;
	*) _ra="-v mode=$1" ;;
	esac
	if [ -n "$4" ]; then
		awk -f bench/rows.awk $_ra -v q="$2" -v ref="$_ref" -v qlines=0 "$3.1"
		awk -f bench/rows.awk $_ra -v q="$2" -v ref="$_ref" -v noq=0 "$3.2"
	else
		awk -f bench/rows.awk $_ra -v q="$2" -v ref="$_ref" "$3"
	fi
}
