# baselines.sh — the baselines of the benchmark, sourced by bench/run.sh.
# Each answers one question of a class, the way its users ask it, and leaves
# its answer in a file; bench/run.sh times the questions of a class together
# and checks every answer against mtalog's afterwards (bench/compare.awk).
#
# Classes: addr (recipient address), domain (recipient domain), words (two
# subject words), sd (status + domain).  A question is "CLASS<TAB>VALUE[<TAB>STATUS]".
# Needs: $log, $db (mtalog), $fdb (FTS5), $M (the mtalog command).

# mtalog, the whole process, as a user runs it
ask_mtalog() {	# class value status out
	case $1 in
	addr) "$M" --db "$db" search --json --to "$2" > "$4" ;;
	domain) "$M" --db "$db" search --json --to "@$2" > "$4" ;;
	words) "$M" --db "$db" search --json --subject "$2" > "$4" ;;
	sd) "$M" --db "$db" search --json --to "@$2" --status "$3" > "$4" ;;
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

# SQLite FTS5 (bench/fts5.sql): MATCH, then the exact check, newest first
fts_where() {	# class value status
	_fv=$(printf '%s' "$2" | sed "s/'/''/g")
	case $1 in
	addr) echo "rows MATCH '{to_addr orig_to}: \"$_fv\"' AND (to_addr = '$_fv' OR orig_to = '$_fv')" ;;
	domain) echo "rows MATCH '{to_domain orig_domain}: \"$_fv\"' AND (to_domain = '$_fv' OR orig_domain = '$_fv')" ;;
	sd) echo "rows MATCH '{to_domain orig_domain}: \"$_fv\" AND status: \"$3\"' AND (to_domain = '$_fv' OR orig_domain = '$_fv') AND status = '$3'" ;;
	words) set -- $_fv; echo "rows MATCH 'subject: (\"$1\" AND \"$2\")'" ;;
	esac
}
ask_fts() {	# class value status out [nolimit]
	_lim="LIMIT 1000"
	[ -n "${5:-}" ] && _lim=""
	sqlite3 -readonly -tabs "$fdb" \
		"SELECT host, queue_id, to_addr, status, time FROM rows WHERE $(fts_where "$1" "$2" "$3") ORDER BY time DESC $_lim" > "$4"
}

# The rows of an answer, for bench/compare.awk
rows_mtalog() {	# json [status]
	if [ -n "${2:-}" ]; then
		jq -r '[.host, .queue_id, (.to | ascii_downcase), .status, .time] | @tsv' "$1"
	else
		jq -r '[.host, .queue_id, (.to | ascii_downcase), .time] | @tsv' "$1"
	fi
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
