#!/bin/sh
# rsyslogd in front of `mtalog ingest --follow`, set up as docs/rsyslog.md
# says: the doc's rsyslog blocks run as written there, with the paths of a
# temporary folder in place of /var/log/mail.log and a free port on 127.0.0.1
# in place of 514.
#
# One rsyslogd (the log host: the doc's imtcp input and mail rule) writes
# mail.log; a second one (a mail server: the doc's forwarding rule) forwards
# to it.  logger sends Postfix lines of MESSAGES messages to both over TCP
# (RFC 3164, as rsyslog forwards), with lines of other programs that must not
# reach mail.log.  The lines go one round at a time: the next line of a
# message is sent once the one before it is in the file, so that rsyslog
# cannot reorder a message's lines.  Along the way mtalog is killed with
# SIGKILL and started again, the log is rotated while it runs (rename, HUP to
# rsyslogd), mtalog is stopped with SIGTERM, the log is rotated again while
# it is stopped (the oldest copy gzipped, as logrotate's delaycompress does),
# and mtalog is started again.  Then every line must be in the database
# exactly once: the files hold the lines sent; the raw lines stored are the
# lines of the files, each once; each message-id finds exactly one row, with
# its recipient, delivered; stats counts MESSAGES messages, every line
# parsed, none skipped, none in flight, and the checkpoints count every line;
# ingesting the files again adds nothing.  A difference fails, saying which.
#
#   make test-rsyslog       (rsyslogd: sh tools/install-deps.sh rsyslog)
#   MESSAGES=300 MTALOG_BIN=build/mtalog sh tests/rsyslog/run.sh
#
# Runs as any user (rsyslogd too: no system log socket, no privileged port).
# Listens on 127.0.0.1 only; stops only the processes it started, by pid.
set -eu
cd "$(dirname "$0")/../.."
PATH=$PATH:/usr/sbin:/sbin
MESSAGES=${MESSAGES:-300}
BATCH=20
DOC=docs/rsyslog.md
command -v rsyslogd >/dev/null || { echo "rsyslogd is missing: sh tools/install-deps.sh rsyslog" >&2; exit 2; }
command -v logger >/dev/null || { echo "logger is missing (util-linux)" >&2; exit 2; }
if [ -z "${MTALOG_BIN:-}" ]; then
	make -s build/mtalog
	MTALOG_BIN=build/mtalog
fi
case "$MTALOG_BIN" in /*) BIN=$MTALOG_BIN ;; *) BIN=$PWD/$MTALOG_BIN ;; esac
if [ $((MESSAGES % BATCH)) -ne 0 ] || [ "$MESSAGES" -lt $((BATCH * 10)) ]; then
	echo "MESSAGES must be a multiple of $BATCH, at least $((BATCH * 10))" >&2
	exit 2
fi
[ -x "$BIN" ] || { echo "FAIL: no mtalog at $BIN" >&2; exit 1; }
"$BIN" ingest --help 2>&1 | grep -q -- --follow || { echo "FAIL: $BIN has no 'ingest --follow'" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-rsyslog.XXXXXX")
logd=""      # rsyslogd of the log host
relay=""     # rsyslogd of a mail server, forwarding to the log host
ing=""       # mtalog ingest --follow
cleanup() {
	for p in $ing $relay $logd; do
		{ kill "$p" && wait "$p"; } 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t0=$(date +%s)

fail() {
	echo "FAIL: $*" >&2
	for f in logd.err relay.err ingest.err; do
		[ -s "$tmp/$f" ] && { echo "--- $f:" >&2; tail -n 20 "$tmp/$f" >&2; }
	done
	exit 1
}

# ---- rsyslogd, with the doc's blocks ----------------------------------------

# the fenced block of the doc whose first line starts with "# NAME"
block() {
	awk -v want="# $1" '
		/^```/ { if (inb) { if (hit) exit; inb = 0 } else { inb = 1; first = 1 } next }
		inb && first { first = 0; hit = index($0, want) == 1 }
		inb && hit { print }' "$DOC"
}
mail_conf=$(block /etc/rsyslog.d/10-mail.conf)
remote_conf=$(block /etc/rsyslog.d/05-remote.conf)
forward_conf=$(block /etc/rsyslog.d/90-forward-mail.conf)
if [ -z "$mail_conf" ] || [ -z "$remote_conf" ] || [ -z "$forward_conf" ]; then
	fail "$DOC lacks one of the blocks 10-mail.conf, 05-remote.conf, 90-forward-mail.conf"
fi

# what changes: the log's path, the port (0: a free one, written to a file)
# and the address listened on; the forwarding target.  Unprivileged and not in
# the group adm, rsyslogd cannot give the file that group: fileGroup goes.
mail_conf=$(printf '%s\n' "$mail_conf" | sed "s|/var/log/mail.log|$tmp/mail.log|g")
if [ "$(id -u)" -ne 0 ] && ! id -Gn | tr ' ' '\n' | grep -qx adm; then
	mail_conf=$(printf '%s\n' "$mail_conf" | sed 's/ fileGroup="adm"//')
	echo "not root, not in the group adm: fileGroup=\"adm\" left out"
fi
remote_conf=$(printf '%s\n' "$remote_conf" | sed "s|input(type=\"imtcp\" port=\"514\")|input(type=\"imtcp\" address=\"127.0.0.1\" port=\"0\" listenPortFileName=\"$tmp/logd.port\")|")
printf '%s\n' "$remote_conf" | grep -q listenPortFileName ||
	fail "$DOC: 05-remote.conf has no input(type=\"imtcp\" port=\"514\")"
printf '%s\n' "$mail_conf" | grep -q "$tmp/mail.log" || fail "$DOC: 10-mail.conf does not write /var/log/mail.log"

mkdir "$tmp/logd" "$tmp/relay"
{
	echo "global(workDirectory=\"$tmp/logd\")"
	printf '%s\n' "$remote_conf" "$mail_conf"
} > "$tmp/logd.conf"

# rsyslogd NAME VAR: start it in the foreground mode, in the background; wait
# for its port
start_rsyslogd() {
	rsyslogd -N1 -f "$tmp/$1.conf" > "$tmp/$1.check" 2>&1 ||
		{ cat "$tmp/$1.check" >&2; fail "rsyslogd -N1 refuses $1.conf"; }
	rsyslogd -n -f "$tmp/$1.conf" -i "$tmp/$1.pid" > "$tmp/$1.out" 2> "$tmp/$1.err" &
	eval "$2=\$!"
	n=0
	until [ -s "$tmp/$1.port" ]; do
		n=$((n + 1))
		[ $n -le 200 ] || fail "rsyslogd ($1) did not open its port"
		sleep 0.05
	done
}
start_rsyslogd logd logd
logd_port=$(cat "$tmp/logd.port")

# the mail server: its own input stands in for the local log socket
forward_conf=$(printf '%s\n' "$forward_conf" | sed "s|target=\"loghost.example.com\" port=\"514\"|target=\"127.0.0.1\" port=\"$logd_port\"|")
printf '%s\n' "$forward_conf" | grep -q "port=\"$logd_port\"" ||
	fail "$DOC: 90-forward-mail.conf has no target=\"loghost.example.com\" port=\"514\""
{
	echo "global(workDirectory=\"$tmp/relay\")"
	echo 'module(load="imtcp")'
	echo "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"0\" listenPortFileName=\"$tmp/relay.port\")"
	printf '%s\n' "$forward_conf"
} > "$tmp/relay.conf"
start_rsyslogd relay relay
relay_port=$(cat "$tmp/relay.port")
echo "rsyslogd as $(id -un): log host pid $logd on 127.0.0.1:$logd_port, mail server pid $relay on 127.0.0.1:$relay_port"

# ---- mtalog -----------------------------------------------------------------

starts=0
start_ingest() {
	starts=$((starts + 1))
	echo "--- start $starts" >> "$tmp/ingest.err"
	"$BIN" ingest --follow --db "$tmp/t.db" "$tmp/mail.log" >> "$tmp/ingest.out" 2>> "$tmp/ingest.err" &
	ing=$!
}
kill_ingest() {
	kill -KILL "$ing"
	wait "$ing" 2>/dev/null || true
	ing=""
}
# SIGTERM: it must commit, exit 0 and do so within 10 s
stop_ingest() {
	kill -TERM "$ing"
	n=0
	while kill -0 "$ing" 2>/dev/null; do
		n=$((n + 1))
		[ $n -le 200 ] || fail "mtalog ingest --follow did not stop within 10 s of SIGTERM"
		sleep 0.05
	done
	rc=0
	wait "$ing" || rc=$?
	ing=""
	[ "$rc" -eq 0 ] || fail "mtalog ingest --follow exited $rc on SIGTERM"
}

# ---- the lines --------------------------------------------------------------

run=$$
: > "$tmp/sent"
# send PORT TAG PID PRIORITY TEXT: one line through rsyslog; kept in "sent"
# when it is a mail line
send() {
	logger --server 127.0.0.1 --port "$1" --tcp --rfc3164 -t "$2" --id="$3" -p "$4" -- "$5" ||
		fail "logger could not send to 127.0.0.1:$1"
	case "$2" in CRON|sshd) ;; *) printf '%s[%s]: %s\n' "$2" "$3" "$5" >> "$tmp/sent" ;; esac
}
# line I R: round R of message I (opendkim only for every tenth message;
# delivered by lmtp every third, by smtp else)
line() {
	i=$1
	q=$(printf '3F%08X' "$i")
	case $2 in
	1) send "$port" postfix/smtpd $((4000 + i % 19)) mail.info "$q: client=mail$((i % 7)).example.org[198.51.100.$((i % 250 + 1))]" ;;
	2) send "$port" postfix/cleanup $((2000 + i % 13)) mail.info "$q: message-id=<$i.$run@sender.example>" ;;
	3) # opendkim under another facility: the doc's rule takes it by its program
	   [ $((i % 10)) -ne 0 ] ||
		send "$port" opendkim 900 daemon.info "$q: DKIM-Signature field added (s=mail, d=sender.example)" ;;
	4) send "$port" postfix/qmgr 1500 mail.info "$q: from=<sender@sender.example>, size=$((1000 + i)), nrcpt=1 (queue active)" ;;
	5) if [ $((i % 3)) -eq 0 ]; then
		send "$port" postfix/lmtp $((3100 + i % 11)) mail.info "$q: to=<rcpt$i@example.net>, relay=mail.example.net[private/dovecot-lmtp], delay=0.31, delays=0.2/0.01/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 <rcpt$i@example.net> Saved)"
	   else
		send "$port" postfix/smtp $((3000 + i % 17)) mail.info "$q: to=<rcpt$i@example.net>, relay=mx.example.net[192.0.2.25]:25, delay=0.42, delays=0.1/0.01/0.2/0.11, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4B$i)"
	   fi ;;
	6) send "$port" postfix/qmgr 1500 mail.info "$q: removed" ;;
	esac
}
# lines in the files now
file_lines() {
	n=0
	[ -f "$tmp/mail.log.2.gz" ] && n=$((n + $(gzip -dc "$tmp/mail.log.2.gz" | wc -l)))
	for f in "$tmp/mail.log.1" "$tmp/mail.log"; do
		[ -f "$f" ] && n=$((n + $(wc -l < "$f")))
	done
	echo "$n"
}
# wait until every line sent is in the files
wait_written() {
	want=$(wc -l < "$tmp/sent")
	n=0
	while [ "$(file_lines)" -lt "$want" ]; do
		n=$((n + 1))
		[ $n -le 500 ] || fail "rsyslogd wrote $(file_lines) of the $want lines sent within 10 s"
		sleep 0.02
	done
}

nb=$((MESSAGES / BATCH))
k1=$((nb * 2 / 5))     # SIGKILL while it reads round 2 of this batch
s1=$((k1 + 2))         # started again before this batch
r1=$((s1 + 1))         # rotated while it runs, after round 3
k2=$((r1 + 2))         # SIGTERM after round 4; rotated before the next batch
s2=$((k2 + 2))         # started again before this batch
event() {   # BATCH ROUND (0: before its first)
	case "$1.$2" in
	"$s1.0"|"$s2.0") start_ingest; echo "batch $1: mtalog started again" ;;
	"$r1.3") mv "$tmp/mail.log" "$tmp/mail.log.1"; kill -HUP "$logd"; echo "batch $1: log rotated (rename, HUP)" ;;
	"$k2.4") stop_ingest; echo "batch $1: mtalog stopped (SIGTERM)" ;;
	"$((k2 + 1)).0")
		mv "$tmp/mail.log.1" "$tmp/mail.log.2"
		mv "$tmp/mail.log" "$tmp/mail.log.1"
		kill -HUP "$logd"
		gzip "$tmp/mail.log.2"
		echo "batch $1: log rotated while mtalog is stopped (rename, HUP, gzip)" ;;
	esac
}

start_ingest
echo "mtalog ingest --follow pid $ing; $MESSAGES messages in $nb batches of $BATCH"
b=1
while [ $b -le $nb ]; do
	event $b 0
	r=1
	while [ $r -le 6 ]; do
		i=$(((b - 1) * BATCH + 1))
		while [ $i -le $((b * BATCH)) ]; do
			# even messages come from the mail server, odd ones from the log host itself
			if [ $((i % 2)) -eq 0 ]; then port=$relay_port; else port=$logd_port; fi
			line $i $r
			i=$((i + 1))
		done
		# killed as soon as the lines are sent: it is reading them
		if [ "$b.$r" = "$k1.2" ]; then
			kill_ingest
			echo "batch $b: mtalog killed (SIGKILL)"
		fi
		[ $r -eq 1 ] && {
			send "$logd_port" CRON 700 cron.info "(root) CMD (run-parts /etc/cron.hourly)"
			send "$relay_port" sshd 701 auth.info "Accepted publickey for admin from 192.0.2.9 port 50000 ssh2"
		}
		wait_written
		event $b $r
		r=$((r + 1))
	done
	b=$((b + 1))
done
sent=$(wc -l < "$tmp/sent")
echo "sent $sent mail lines ($MESSAGES messages) in $(($(date +%s) - t0)) s"

# ---- until mtalog has it all (bounded) --------------------------------------

stats() {
	"$BIN" stats --db "$tmp/t.db" --json > "$tmp/stats.json" 2> "$tmp/stats.err" || return 1
}
sval() {   # a number of stats --json, by its key (the first one of that name)
	sed -n "s/^ *\"$1\": \([0-9]*\),\{0,1\}\$/\1/p" "$tmp/stats.json" | head -n 1
}
stotal() {   # the total of lines_skipped or lines_not_understood
	awk -v k="\"$1\"" 'index($0, k) { s = 1 } s && /"total"/ { gsub(/[^0-9]/, ""); print; exit }' "$tmp/stats.json"
}
n=0
while :; do
	if stats && [ "$(sval messages)" = "$MESSAGES" ] && [ "$(sval messages_in_flight)" = 0 ] &&
	   [ "$(sval lines_parsed)" = "$sent" ]; then
		echo "all in the database $(awk "BEGIN { print $n * 0.2 }") s after the last line"
		break
	fi
	n=$((n + 1))
	if [ $n -gt 100 ]; then
		echo "not all in the database 20 s after the last line" >&2
		break
	fi
	sleep 0.2
done
stop_ingest

# ---- the assertions ---------------------------------------------------------

# the files hold the lines sent, each once (host and time taken off)
{ gzip -dc "$tmp/mail.log.2.gz"; cat "$tmp/mail.log.1" "$tmp/mail.log"; } > "$tmp/files"
[ "$(wc -l < "$tmp/files")" -eq "$sent" ] ||
	fail "rsyslogd wrote $(wc -l < "$tmp/files") lines to the mail log, $sent mail lines were sent (the doc's rule lets other lines through, or loses some)"
sed -E 's/^([A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}|[0-9]{4}-[0-9T:.+-]+Z?) [^ ]+ //' "$tmp/files" | sort > "$tmp/files.msgs"
sort "$tmp/sent" > "$tmp/sent.sorted"
cmp -s "$tmp/files.msgs" "$tmp/sent.sorted" || {
	diff "$tmp/sent.sorted" "$tmp/files.msgs" | head -n 10 >&2
	fail "the mail log does not hold the lines sent (< sent, > in the file)"
}

# the raw lines stored are the lines of the files, each once
"$BIN" dump --db "$tmp/t.db" > "$tmp/dump"
awk '{
	i = index($0, "\"raw\":[\""); if (!i) next
	s = substr($0, i + 8); sub(/"\]\}$/, "", s)
	n = split(s, a, "\",\""); for (k = 1; k <= n; k++) print a[k]
}' "$tmp/dump" | sort > "$tmp/raw.sorted"
sort "$tmp/files" > "$tmp/files.sorted"
if ! cmp -s "$tmp/raw.sorted" "$tmp/files.sorted"; then
	echo "lines stored $(wc -l < "$tmp/raw.sorted"), lines in the files $(wc -l < "$tmp/files.sorted")" >&2
	uniq -d "$tmp/raw.sorted" | head -n 5 | sed 's/^/stored twice: /' >&2
	comm -13 "$tmp/raw.sorted" "$tmp/files.sorted" | head -n 5 | sed 's/^/not stored: /' >&2
	sort -u "$tmp/raw.sorted" | comm -23 - "$tmp/files.sorted" | head -n 5 | sed 's/^/stored, not in the files: /' >&2
	fail "the raw lines stored are not the lines of the log files, each once"
fi
[ "$(wc -l < "$tmp/dump")" -eq "$MESSAGES" ] || fail "dump has $(wc -l < "$tmp/dump") messages, not $MESSAGES"

# each message-id: exactly one row, its recipient, delivered
i=1
while [ $i -le "$MESSAGES" ]; do
	"$BIN" search --db "$tmp/t.db" --msgid "$i.$run@sender.example" --json > "$tmp/row"
	rows=$(wc -l < "$tmp/row")
	[ "$rows" -eq 1 ] || fail "message-id $i.$run@sender.example: $rows rows, not 1"
	grep -q "\"to\":\"rcpt$i@example.net\".*\"status\":\"delivered\"" "$tmp/row" ||
		fail "message-id $i.$run@sender.example: not rcpt$i@example.net delivered: $(cat "$tmp/row")"
	i=$((i + 1))
done
rows=$("$BIN" search --db "$tmp/t.db" --from sender@sender.example --json --limit 1000 | wc -l)
[ "$rows" -eq "$MESSAGES" ] || fail "search --from sender@sender.example: $rows rows, not $MESSAGES"

# stats: the messages, every line parsed, none skipped or in flight; the
# checkpoints of the inputs count every line
stats || fail "mtalog stats: $(cat "$tmp/stats.err")"
check() {   # WHAT GOT WANT
	[ "$2" = "$3" ] || fail "stats: $1 is ${2:-missing}, not $3"
}
check messages "$(sval messages)" "$MESSAGES"
check messages_in_flight "$(sval messages_in_flight)" 0
check "rows delivered" "$(sval delivered)" "$MESSAGES"
check lines_parsed "$(sval lines_parsed)" "$sent"
check "lines_skipped total" "$(stotal lines_skipped)" 0
check "lines_not_understood total" "$(stotal lines_not_understood)" 0
check "lines of the inputs' checkpoints" \
	"$(awk '/^  "inputs"/ { s = 1 } s && /^ *"lines":/ { gsub(/[^0-9]/, ""); n += $0 } END { print n + 0 }' "$tmp/stats.json")" "$sent"

# ingesting the files again adds nothing
"$BIN" ingest --quiet --db "$tmp/t.db" "$tmp/mail.log.2.gz" "$tmp/mail.log.1" "$tmp/mail.log" 2>> "$tmp/ingest.err" ||
	fail "mtalog ingest of the files again failed"
stats || fail "mtalog stats: $(cat "$tmp/stats.err")"
check "messages after ingesting the files again" "$(sval messages)" "$MESSAGES"
check "lines_parsed after ingesting the files again" "$(sval lines_parsed)" "$sent"

echo "rsyslog: $MESSAGES messages, $sent lines through rsyslogd; mtalog killed, stopped, started $starts times, the log rotated twice: every line stored once ($(($(date +%s) - t0)) s)"
