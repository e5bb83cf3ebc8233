#!/bin/sh
# Two real Postfix instances in a chain, edge → inner, as a provider's tiers
# run them, and mtalog following each mail to its last hop.
#
# The edge (syslog_name postfix-edge) relays example.com to the inner
# (postfix-inner), which delivers to virtual mailboxes, expands an alias,
# bounces one recipient after it accepted it (the error transport), lets one
# expire (a next hop that refuses, a queue lifetime of seconds) and rejects
# an unknown one at RCPT.  Only the edge logs the Subject (header_checks
# WARN).  The inner's non-delivery notices go back through the edge (a chain
# the other way).  A perl SMTP client, from its own address, sends the mails
# to the edge.
#
# Then the same with a real Exim (4.96, Debian's exim4-daemon-light) as the
# edge in place of the Postfix edge: it relays example.com to the same inner
# (over BDAT: "250 2.0.0 Ok: 312 bytes queued as QID"), logs to its own main
# log (no host name in it: its hop's host is empty) with the Subject, and
# blackholes the inner's notices ("250 OK id=ID" on the inner's side).
# Debian's exim4 packages conflict with postfix: the test downloads
# exim4-daemon-light once (apt-get download, into build/exim; EXIM_DIR=
# names another folder) and runs the unpacked binary with its own
# configuration (-C) in a mount namespace where copies of /etc/passwd and
# /etc/group that have its user, Debian-exim, are mounted.
#
# Each edge twice: first each instance in a network namespace of its own with its own
# address (10.77.0.1 edge, 10.77.0.2 inner, the client 10.77.1.2 on a second
# pair), each logging to its own file (maillog_file, no syslog) under its own
# host name; then both in one namespace on loopback (the inner on
# 127.0.0.1:2525), one host name, one log file.  Each time the logs are
# ingested four ways (both in one run; the edge's then the inner's in two
# runs; the inner's then the edge's; the lines of both interleaved in time
# order) and every recipient's final status is checked, with the original
# client, sender and subject on the final row; a search by either queue ID
# and by message-id finds the final rows; show lists every hop with its
# host; stats counts each chain once.
#
#   make test-chains        (as root; sh tools/install-deps.sh chains)
#   KEEP=1 sh tests/chains/run.sh     keeps the logs in tests/chains/out/
#   EDGE=exim sh tests/chains/run.sh  only the Exim edge (EDGE=postfix: only
#                                     the Postfix one)
#
# Creates and removes its namespaces (mtlc-*) and temporary folder; stops
# the Postfix masters it started (postfix -c DIR stop, in their namespace)
# and the Exim daemons
# (by process id; their mount namespaces end with them).
set -eu
cd "$(dirname "$0")/../.."
PATH=$PATH:/usr/sbin:/sbin
[ "$(id -u)" -eq 0 ] || { echo "test-chains needs root (network namespaces, Postfix)" >&2; exit 2; }
command -v postfix >/dev/null || { echo "postfix is missing: sh tools/install-deps.sh chains" >&2; exit 2; }
command -v ip >/dev/null || { echo "ip is missing (iproute2)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is missing: sh tools/install-deps.sh chains" >&2; exit 2; }
command -v unshare >/dev/null || { echo "unshare is missing (util-linux)" >&2; exit 2; }
ip netns add "mtlc-probe-$$" 2>/dev/null && ip netns del "mtlc-probe-$$" ||
	{ echo "cannot create a network namespace (ip netns add needs CAP_SYS_ADMIN)" >&2; exit 2; }
if [ -z "${MTALOG_BIN:-}" ]; then
	make -s build/mtalog
	MTALOG_BIN=build/mtalog
fi
case "$MTALOG_BIN" in /*) BIN=$MTALOG_BIN ;; *) BIN=$PWD/$MTALOG_BIN ;; esac
top=$PWD

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-chains.XXXXXX")
chmod 755 "$tmp"
NS="mtlc-edge-$$ mtlc-inner-$$ mtlc-cli-$$ mtlc-lo-$$"
started=""
exims=""
cleanup() {
	stop_exim
	stop_postfix
	for n in $NS; do
		ip netns del "$n" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fails=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- the instances ----

# instance NAME HOST INTERFACES SERVICE LOG: config and spool under $tmp/NAME;
# its SMTP server is master.cf's SERVICE ("smtp", "127.0.0.1:2525")
instance() {
	name=$1 host=$2 ifs=$3 listen=$4 log=$5
	d=$tmp/$name
	mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/vmail"
	chown postfix "$d/data" "$d/vmail"
	cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
myhostname = $host
mydomain = test
myorigin = \$myhostname
mydestination =
queue_directory = $d/spool
data_directory = $d/data
syslog_name = postfix-$name
maillog_file = $log
maillog_file_prefixes = $tmp
inet_interfaces = $ifs
inet_protocols = ipv4
mynetworks = 10.77.0.0/16 127.0.0.0/8
alias_maps =
alias_database =
smtputf8_enable = no
smtpd_peername_lookup = no
smtp_host_lookup = native
smtp_connect_timeout = 2s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 6s
bounce_queue_lifetime = 6s
delay_warning_time = 0
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
transport_maps = texthash:$d/etc/transport
EOF
	cat >"$d/etc/master.cf" <<EOF
$listen inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
}

# edge NEXT(ip:port) BACK: relays example.com to the inner, takes the
# notices for sender.example (discarded: the sender's side is not tested)
edge_maps() {
	d=$tmp/edge
	printf 'example.com smtp:[%s]:%s\nsender.example discard:\n' "${1%:*}" "${1#*:}" >"$d/etc/transport"
	cat >>"$d/etc/main.cf" <<EOF
relay_domains = example.com, sender.example
header_checks = regexp:$d/etc/header_checks
EOF
	echo '/^Subject:/ WARN' >"$d/etc/header_checks"
}

# inner EDGE(ip:port) DEAD(ip:port): mailboxes, an alias, a bounce, an expiry
inner_maps() {
	d=$tmp/inner
	# a mailbox program that fails (EX_NOUSER): bounced after the mail was taken
	echo 'failbox unix - n n - - pipe flags=q user=nobody argv=/bin/sh -c { exit 67 }' >>"$d/etc/master.cf"
	cat >"$d/etc/transport" <<EOF
fail@example.com failbox:
far@example.com smtp:[${2%:*}]:${2#*:}
sender.example smtp:[${1%:*}]:${1#*:}
EOF
	printf 'bob@example.com bob/\ncarol@example.com carol/\nfail@example.com fail/\nfar@example.com far/\n' >"$d/etc/vmailbox"
	printf 'team@example.com bob@example.com, carol@example.com\n' >"$d/etc/valias"
	cat >>"$d/etc/main.cf" <<EOF
relay_domains = sender.example
virtual_mailbox_domains = example.com
virtual_mailbox_base = $d/vmail
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_alias_maps = texthash:$d/etc/valias
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
EOF
}

# ---- the Exim edge ----

# Debian's exim4 packages conflict with postfix: the binary of
# exim4-daemon-light is downloaded and unpacked once into $EXIM_DIR (a build
# folder) and run from there.  It wants its user (Debian-exim) to exist: each
# daemon runs in a mount namespace of its own where copies of /etc/passwd and
# /etc/group that have the user are mounted over the host's (nothing on the
# host changes; the namespace ends with the daemon).
EXIM_DIR=${EXIM_DIR:-$top/build/exim}
EXIM_UID=64990
exim_fetch() {
	EXIM=$EXIM_DIR/root/usr/sbin/exim4
	if [ ! -x "$EXIM" ]; then
		mkdir -p "$EXIM_DIR/deb"
		# (no package lists yet: fetch them once)
		(cd "$EXIM_DIR/deb" && { apt-get download -q exim4-daemon-light >/dev/null 2>"$EXIM_DIR/download.err" ||
			{ apt-get update -qq && apt-get download -q exim4-daemon-light >/dev/null 2>"$EXIM_DIR/download.err"; }; }) ||
			{ cat "$EXIM_DIR/download.err" >&2; echo "cannot download exim4-daemon-light (apt-get download)" >&2; exit 2; }
		dpkg-deb -x "$EXIM_DIR"/deb/exim4-daemon-light_*.deb "$EXIM_DIR/root"
	fi
	if ldd "$EXIM" | grep -q "not found"; then
		ldd "$EXIM" | grep "not found" >&2
		echo "exim's libraries are missing: sh tools/install-deps.sh chains" >&2
		exit 2
	fi
}

# exim_edge HOST INTERFACES NEXT(ip:port): the configuration of an Exim
# edge that relays example.com to NEXT and throws away the notices for
# sender.example (:blackhole:); its main log is $tmp/exim/log/mainlog
# (Exim's own format, with the Subject, the recipients and milliseconds)
exim_edge() {
	d=$tmp/exim
	mkdir -p "$d/spool" "$d/log"
	chown -R "$EXIM_UID:$EXIM_UID" "$d/spool" "$d/log"
	cp /etc/passwd "$d/passwd"
	cp /etc/group "$d/group"
	echo "Debian-exim:x:$EXIM_UID:$EXIM_UID:Exim:/nonexistent:/usr/sbin/nologin" >>"$d/passwd"
	echo "Debian-exim:x:$EXIM_UID:" >>"$d/group"
	cat >"$d/exim.conf" <<EOF
primary_hostname = $1
exim_path = $EXIM
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = <; $(echo "$2" | sed 's/, */ ; /g')
daemon_smtp_ports = 25
log_selector = +subject +received_recipients +millisec
domainlist relay_to_domains = example.com : sender.example
hostlist relay_from_hosts = 10.77.0.0/16 : 127.0.0.0/8
acl_smtp_rcpt = acl_check_rcpt
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
keep_environment =
ignore_bounce_errors_after = 0s
timeout_frozen_after = 1m

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny message = relay not permitted

begin routers
notices:
  driver = redirect
  domains = sender.example
  data = :blackhole:
inner:
  driver = manualroute
  domains = example.com
  transport = remote_smtp
  route_list = * ${3%:*}::${3#*:}
  self = send

begin transports
remote_smtp:
  driver = smtp

begin retry
* * F,10s,2s
EOF
}

# run_exim NS: start the Exim daemon inside namespace NS (in the
# foreground of its own process, whose id is kept to stop it)
run_exim() {
	d=$tmp/exim
	ip netns exec "$1" unshare --mount --propagation private sh -c \
		'mount --bind "$1/passwd" /etc/passwd && mount --bind "$1/group" /etc/group && exec "$2" -C "$1/exim.conf" -bdf -q2s' \
		sh "$d" "$EXIM" </dev/null >"$d/daemon.out" 2>&1 &
	exims="$exims $!"
	for i in $(seq 1 50); do
		grep -qs "daemon started" "$d/log/mainlog" && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: exim does not start:" >&2
	cat "$d/daemon.out" "$d/log/paniclog" >&2 2>/dev/null || true
	exit 1
}

# stop the Exim daemons started, and what they forked, by process id
stop_exim() {
	for p in $exims; do
		kids=$(ps -o pid= --ppid "$p" 2>/dev/null || true)
		kill "$p" $kids 2>/dev/null || true
	done
	for p in $exims; do
		for i in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	exims=""
}

# run NS NAME: start the instance's master inside namespace NS
run() {
	ip netns exec "$1" postfix -c "$tmp/$2/etc" start >/dev/null 2>&1 ||
		{ echo "FAIL: postfix $2 does not start:" >&2; postfix -c "$tmp/$2/etc" check >&2 || true; exit 1; }
	started="$started $1:$tmp/$2/etc"
}

# stop the masters started, each from its namespace (the postfix command
# refuses an inet_interfaces address the namespace it runs in has not)
stop_postfix() {
	for s in $started; do
		ip netns exec "${s%%:*}" postfix -c "${s#*:}" stop >/dev/null 2>&1 || true
	done
	started=""
}

# send NS SERVER PORT CLIENTADDR SUBJECT MSGID RCPT...: one mail over SMTP
send() {
	ns=$1 srv=$2 port=$3 cli=$4 subj=$5 mid=$6
	shift 6
	ip netns exec "$ns" perl -MIO::Socket::INET -e '
		my ($srv, $port, $cli, $subj, $mid, @rcpt) = @ARGV;
		my $s;
		for (1 .. 50) {
			$s = IO::Socket::INET->new(PeerAddr => $srv, PeerPort => $port, LocalAddr => $cli, Proto => "tcp")
				and last;
			select(undef, undef, undef, 0.2);
		}
		die "connect $srv:$port: $!\n" unless $s;
		sub reply { my $l; do { $l = <$s>; die "closed\n" unless defined $l } while ($l =~ /^\d{3}-/);
			$l =~ /^[23]/ or $_[0] or die "refused: $l"; }
		sub cmd { print $s "$_[0]\r\n"; reply($_[1]); }
		reply(0);
		cmd("EHLO client.sender.example");
		cmd("MAIL FROM:<alice\@sender.example>");
		cmd("RCPT TO:<$_>", 1) for @rcpt;
		cmd("DATA");
		print $s "From: alice\@sender.example\r\nTo: $rcpt[0]\r\nSubject: $subj\r\nMessage-ID: <$mid>\r\n\r\nHello.\r\n.\r\n";
		reply(0);
		cmd("QUIT", 1);
	' "$srv" "$port" "$cli" "$subj" "$mid" "$@"
}

# wait until no instance has mail queued (at most 60 s)
drain() {
	for i in $(seq 1 120); do
		busy=0
		for n in edge inner; do
			q=$tmp/$n/spool
			[ -n "$(find "$q/incoming" "$q/active" "$q/deferred" "$q/maildrop" -type f 2>/dev/null | head -1)" ] && busy=1
		done
		[ -n "$(find "$tmp/exim/spool/input" -type f 2>/dev/null | head -1)" ] && busy=1
		[ $busy -eq 0 ] && sleep 1 && return 0
		sleep 0.5
	done
	echo "FAIL: mail still queued after 60 s" >&2
	# what is left, and the last lines each server wrote, to tell why
	for n in edge inner; do
		[ -d "$tmp/$n/spool" ] || continue
		echo "-- $n: queue" >&2
		find "$tmp/$n/spool/incoming" "$tmp/$n/spool/active" "$tmp/$n/spool/deferred" \
			"$tmp/$n/spool/maildrop" -type f >&2 2>/dev/null || true
		for f in $(find "$tmp/$n/spool/defer" -type f 2>/dev/null); do
			echo "-- $n: $f" >&2
			cat "$f" >&2
		done
	done
	if [ -d "$tmp/exim/spool/input" ]; then
		echo "-- exim: queue" >&2
		ls -l "$tmp/exim/spool/input" >&2 || true
		for f in "$tmp"/exim/spool/msglog/*; do
			[ -f "$f" ] && { echo "-- exim: $f" >&2; cat "$f" >&2; }
		done
		[ -f "$tmp/exim/log/paniclog" ] && { echo "-- exim: paniclog" >&2; cat "$tmp/exim/log/paniclog" >&2; }
		echo "-- exim: mainlog (last 40 lines)" >&2
		tail -n 40 "$tmp/exim/log/mainlog" >&2 || true
	fi
	for l in $(echo "$log_edge $log_inner" | tr ' ' '\n' | sort -u); do
		[ "$l" = "$tmp/exim/log/mainlog" ] && continue
		echo "-- $l (last 40 lines)" >&2
		tail -n 40 "$l" >&2 || true
	done
	return 1
}

stop_all() {
	stop_exim
	stop_postfix
	sleep 1
}

# ---- the checks, on a database ----

# q DB JQ SEARCH-ARGS...: the rows of a search, slurped, through JQ
q() {
	db=$1 f=$2
	shift 2
	"$BIN" --db "$db" search "$@" --json | jq -rs "$f"
}

check_db() {
	db=$1 what=$2 cli=$3
	# every recipient's final status
	# (nouser@: the edge's row bounced with the inner's reply at RCPT; the
	# inner's NOQUEUE reject continues it)
	for c in "bob@example.com delivered" "carol@example.com delivered" "fail@example.com bounced" \
	         "far@example.com expired" "nouser@example.com bounced"; do
		set -- $c
		got=$(q "$db" 'map(.status) | unique | join(",")' --to "$1")
		[ "$got" = "$2" ] && ok "$what: $1 is $2" || fail "$what: $1 is '$got', want $2"
	done
	# the alias: team@ finds bob's and carol's rows of the second mail
	got=$(q "$db" 'map("\(.to) \(.status)") | sort | join(",")' --to team@example.com)
	[ "$got" = "bob@example.com delivered,carol@example.com delivered" ] &&
		ok "$what: team@ expands to bob and carol, delivered" || fail "$what: team@ gives '$got'"
	# no row of the edge's hand-offs shows: each recipient once per mail
	got=$(q "$db" 'length' --to bob@example.com)
	[ "$got" = 2 ] && ok "$what: bob@ has 2 rows (one per mail), no edge row" || fail "$what: bob@ has $got rows, want 2"
	# the final rows carry the original client, sender and the subject only the edge logged
	got=$(q "$db" 'map("\(.client_ip) \(.subject)") | unique | join(",")' --from alice@sender.example)
	exp="$cli Chain test 1,$cli Chain test 2,$cli Chain test 3"
	[ "$got" = "$exp" ] && ok "$what: the rows from alice@ have client $cli and their subjects" ||
		fail "$what: the rows from alice@ have '$got', want '$exp'"
	# by message-id and by each hop's queue ID: the final rows
	for mid in chain1@sender.example chain2@sender.example; do
		rows=$(q "$db" 'map("\(.to):\(.status)") | sort | join(",")' --msgid "$mid")
		eq=$(edge_qid "$mid")
		iq=$(grep -a "postfix-inner/cleanup.*message-id=<$mid>" "$log_inner" | head -1 | sed 's/.*: \([0-9A-F]*\): message-id.*/\1/')
		r1=$(q "$db" 'map("\(.to):\(.status)") | sort | join(",")' --queue-id "$eq")
		r2=$(q "$db" 'map("\(.to):\(.status)") | sort | join(",")' --queue-id "$iq")
		if [ -n "$rows" ] && [ "$rows" = "$r1" ] && [ "$rows" = "$r2" ] && ! echo "$rows" | grep -q queued; then
			ok "$what: $mid, edge $eq and inner $iq find the same final rows ($rows)"
		else
			fail "$what: $mid: by message-id '$rows', edge $eq '$r1', inner $iq '$r2'"
		fi
		id=$(q "$db" '.[0].id' --queue-id "$iq")
		hops=$("$BIN" --db "$db" show "$id" --json | jq -r '[.chain[] | select(.relation | startswith("bounce") | not) | "\(.host)/\(.queue_id)"] | join(" ")')
		case "$hops" in
		"$host_edge/$eq "*"$host_inner/$iq") ok "$what: show lists both hops: $hops" ;;
		*) fail "$what: show of $mid lists '$hops', want the edge's $host_edge/$eq, then the inner's $host_inner/$iq" ;;
		esac
	done
	# stats: the 3 mails, the inner's 2 notices (each through the edge) and
	# the edge's 1, once each
	# every line of both logs understood
	n=$("$BIN" --db "$db" stats --json | jq -r '.lines_not_understood.total')
	[ "$n" = 0 ] && ok "$what: every line understood" || fail "$what: $n lines not understood"
	n=$("$BIN" --db "$db" stats --json | jq -r '.messages')
	[ "$n" = 6 ] && ok "$what: stats counts 6 messages (3 mails, 3 notices)" ||
		fail "$what: stats counts $n messages, want 6"
}

# edge_qid MID: the edge's queue ID of the mail of message-id MID
edge_qid() {
	if [ "$edge" = exim ]; then
		grep -a " <= .* id=$1 " "$log_edge" | head -1 | awk '{print $3}'
	else
		grep -a "postfix-edge/cleanup.*message-id=<$1>" "$log_edge" | head -1 | sed 's/.*: \([0-9A-F]*\): message-id.*/\1/'
	fi
}

ingest_ways() {
	mode=$1 cli=$2
	for way in both edge-first inner-first merged; do
		db=$tmp/$edge-$mode-$way.db
		case $way in
		both) "$BIN" --db "$db" ingest -q "$log_edge" "$log_inner" ;;
		edge-first) "$BIN" --db "$db" ingest -q "$log_edge" && "$BIN" --db "$db" ingest -q "$log_inner" ;;
		inner-first) "$BIN" --db "$db" ingest -q "$log_inner" && "$BIN" --db "$db" ingest -q "$log_edge" ;;
		merged) # by the time of day (Exim's own "YYYY-MM-DD hh:mm:ss.mmm", the
			# syslog "Mon dd hh:mm:ss"), stable within a second
			awk '!seen[$0]++ { t = /^[0-9][0-9][0-9][0-9]-/ ? substr($2, 1, 8) : $3; print t "\t" $0 }' \
				"$log_edge" "$log_inner" | sort -s -k1,1 | cut -f2- >"$tmp/$mode-merged.log"
			"$BIN" --db "$db" ingest -q "$tmp/$mode-merged.log" ;;
		esac
		check_db "$db" "$edge $mode, $way" "$cli"
	done
}

# scenario MODE EDGE: MODE namespaces or loopback; EDGE postfix or exim
scenario() {
	mode=$1 edge=$2
	rm -rf "$tmp/edge" "$tmp/inner" "$tmp/exim" "$tmp/edge.log" "$tmp/inner.log" "$tmp/lo.log"
	if [ "$mode" = namespaces ]; then
		E=mtlc-edge-$$ I=mtlc-inner-$$ C=mtlc-cli-$$
		for n in $E $I $C; do ip netns add "$n"; ip -n "$n" link set lo up; done
		ip link add mtlc-e$$ netns "$E" type veth peer name mtlc-i$$ netns "$I"
		ip link add mtlc-c$$ netns "$C" type veth peer name mtlc-x$$ netns "$E"
		ip -n "$E" addr add 10.77.0.1/24 dev mtlc-e$$
		ip -n "$I" addr add 10.77.0.2/24 dev mtlc-i$$
		ip -n "$E" addr add 10.77.1.1/24 dev mtlc-x$$
		ip -n "$C" addr add 10.77.1.2/24 dev mtlc-c$$
		for l in "$E mtlc-e$$" "$I mtlc-i$$" "$E mtlc-x$$" "$C mtlc-c$$"; do set -- $l; ip -n "$1" link set "$2" up; done
		ip -n "$C" route add default via 10.77.1.1
		ip -n "$I" route add 10.77.1.0/24 via 10.77.0.1
		log_edge=$tmp/edge.log log_inner=$tmp/inner.log
		host_edge=edge host_inner=inner
		if [ "$edge" = exim ]; then
			exim_edge edge.test "10.77.0.1, 10.77.1.1" 10.77.0.2:25
			log_edge=$tmp/exim/log/mainlog
		else
			instance edge edge.test "10.77.0.1, 10.77.1.1" smtp "$log_edge"
			edge_maps 10.77.0.2:25
		fi
		instance inner inner.test 10.77.0.2 smtp "$log_inner"
		inner_maps 10.77.0.1:25 10.77.0.1:2599
		if [ "$edge" = exim ]; then run_exim "$E"; else run "$E" edge; fi
		run "$I" inner
		sendns=$C srv=10.77.1.1 port=25 cli=10.77.1.2
	else
		L=mtlc-lo-$$
		ip netns add "$L"
		ip -n "$L" link set lo up
		log_edge=$tmp/lo.log log_inner=$tmp/lo.log
		host_edge=mx host_inner=mx
		if [ "$edge" = exim ]; then
			exim_edge mx.test 127.0.0.1 127.0.0.1:2525
			log_edge=$tmp/exim/log/mainlog
		else
			instance edge mx.test 127.0.0.1 smtp "$log_edge"
			edge_maps 127.0.0.1:2525
		fi
		instance inner mx.test 127.0.0.1 127.0.0.1:2525 "$log_inner"
		inner_maps 127.0.0.1:25 127.0.0.1:2599
		if [ "$edge" = exim ]; then run_exim "$L"; else run "$L" edge; fi
		run "$L" inner
		sendns=$L srv=127.0.0.1 port=25 cli=127.0.0.9
	fi
	# Exim's own log names no host
	[ "$edge" = exim ] && host_edge=""
	send "$sendns" "$srv" "$port" "$cli" "Chain test 1" chain1@sender.example bob@example.com fail@example.com
	send "$sendns" "$srv" "$port" "$cli" "Chain test 2" chain2@sender.example team@example.com far@example.com
	send "$sendns" "$srv" "$port" "$cli" "Chain test 3" chain3@sender.example nouser@example.com
	if ! drain; then
		# the servers themselves did not finish (what was left is printed
		# above): the scenario once more from new instances, then a failure
		stop_all
		for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
		[ -z "${again:-}" ] || exit 1
		echo "note: $edge $mode: the mail servers did not finish in 60 s; once more"
		again=1
		scenario "$mode" "$edge"
		again=
		return 0
	fi
	stop_all
	for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
	if [ -n "${KEEP:-}" ]; then
		mkdir -p "$top/tests/chains/out"
		cp "$log_edge" "$top/tests/chains/out/$edge-$mode-edge.log"
		[ "$log_inner" = "$log_edge" ] || cp "$log_inner" "$top/tests/chains/out/$edge-$mode-inner.log"
	fi
	ingest_ways "$mode" "$cli"
}

for e in ${EDGE:-postfix exim}; do
	[ "$e" = exim ] && exim_fetch
	scenario namespaces "$e"
	scenario loopback "$e"
done
[ "$fails" -eq 0 ] || { echo "test-chains: $fails failed"; exit 1; }
echo "test-chains: all passed"
