#!/bin/sh
# `make install` into a DESTDIR, as a packager or an administrator would use
# it: the files it writes and their modes; the installed binary ingests a
# log written here and finds its rows; the systemd units point at the
# installed binary, run as the user mtalog on /var/lib/mtalog with the
# hardening they promise, and pass `systemd-analyze verify` (where it is
# installed); the manual page renders without a warning (groff -ww, man -l)
# and names every command and option the sources accept; `make uninstall`
# leaves no file behind.  Nothing is written outside a temporary folder: no
# user is created, no service started.
#
# One line per check: "ok - ..." or "not ok - ..." (tests/run.sh counts them).
#   BUILD=build sh tests/test_install.sh
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; fails=$((fails + 1)); }
check() {  # check DESCRIPTION COMMAND...: ok when the command succeeds
	what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$what"; else no "$what"; sed 's/^/    /' "$tmp/out" | head -20; fi
}
# the make that runs this test is not the make this test runs
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory BUILD="$BUILD" "$@"; }

D=$tmp/root
check "make install DESTDIR=... PREFIX=/usr/local" mk install DESTDIR="$D" PREFIX=/usr/local
bin=$D/usr/local/bin/mtalog man1=$D/usr/local/share/man/man1/mtalog.1
units=$D/usr/local/lib/systemd/system sysusers=$D/usr/local/lib/sysusers.d/mtalog.conf
want="$bin 755
$man1 644
$units/mtalog-ingest.service 644
$units/mtalog-serve.service 644
$sysusers 644"
# built with libnats: the cluster's commands, which mtalog starts for them
[ ! -e "$BUILD/mtalog-cluster" ] || want="$want
$D/usr/local/bin/mtalog-cluster 755"
got=$(find "$D" -type f -printf '%p %m\n' | sort)
if [ "$got" = "$(printf '%s\n' "$want" | sort)" ]; then
	ok "install writes the binary, mtalog(1), two units and the sysusers entry, nothing else"
else
	no "install writes the binary, mtalog(1), two units and the sysusers entry, nothing else"
	printf '    got:  %s\n' $got
fi

# ---- the installed binary ----------------------------------------------------
cat > "$tmp/mail.log" <<'EOF'
Mar  3 09:00:00 mx1 postfix/smtpd[101]: 5A1B2C3D4E: client=mail.sender.example[192.0.2.10]
Mar  3 09:00:00 mx1 postfix/cleanup[102]: 5A1B2C3D4E: message-id=<i1@sender.example>
Mar  3 09:00:00 mx1 postfix/qmgr[103]: 5A1B2C3D4E: from=<alice@sender.example>, size=1200, nrcpt=1 (queue active)
Mar  3 09:00:01 mx1 postfix/lmtp[104]: 5A1B2C3D4E: to=<bob@example.com>, relay=mailstore.example.com[private/dovecot-lmtp], delay=0.4, delays=0.1/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 <bob@example.com> Saved)
Mar  3 09:00:01 mx1 postfix/qmgr[103]: 5A1B2C3D4E: removed
EOF
check "the installed binary says its version" sh -c "'$bin' --version | grep -q '^mtalog [0-9]'"
if [ -e "$BUILD/mtalog-cluster" ]; then
	# (ship without --nats: its own usage, from mtalog-cluster beside it)
	check "the installed binary starts mtalog-cluster for the cluster's commands" \
		sh -c "'$bin' ship 2>&1 | grep -q 'give --nats URL' && ! ldd '$bin' | grep -q libnats"
fi
check "the installed binary ingests a log" "$bin" --db "$tmp/t.db" ingest --quiet --year 2026 "$tmp/mail.log"
if "$bin" --db "$tmp/t.db" search --to bob@example.com 2>/dev/null | grep -q "delivered  alice@sender.example"; then
	ok "the installed binary finds the row"
else
	no "the installed binary finds the row"
fi

# ---- the units ----------------------------------------------------------------
for u in ingest serve; do
	f=$units/mtalog-$u.service
	miss=""
	for line in "ExecStart=/usr/local/bin/mtalog $u" User=mtalog StateDirectory=mtalog \
		Environment=MTALOG_DB=/var/lib/mtalog/mtalog.db NoNewPrivileges=yes ProtectSystem=strict \
		ProtectHome=yes PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
		SystemCallFilter=@system-service WantedBy=multi-user.target; do
		grep -q "^$line" "$f" || miss="$miss $line"
	done
	if [ -z "$miss" ]; then ok "mtalog-$u.service: user, state directory, hardening"; else no "mtalog-$u.service lacks:$miss"; fi
done
if grep -q "^ExecStart=/usr/local/bin/mtalog ingest --follow /var/log/mail.log$" "$units/mtalog-ingest.service" &&
	grep -q "^SupplementaryGroups=adm$" "$units/mtalog-ingest.service"; then
	ok "mtalog-ingest.service follows /var/log/mail.log with the group adm"
else
	no "mtalog-ingest.service follows /var/log/mail.log with the group adm"
fi
if grep -q "^u mtalog - .* /var/lib/mtalog" "$sysusers"; then ok "sysusers.d names the user mtalog"; else no "sysusers.d names the user mtalog"; fi
if command -v systemd-analyze >/dev/null 2>&1; then
	# copies whose ExecStart is the binary installed here; the manual page is
	# found through MANPATH (Documentation=man:mtalog(1))
	mkdir "$tmp/units"
	for u in ingest serve; do
		sed "s|=/usr/local/bin/mtalog|=$bin|" "$units/mtalog-$u.service" > "$tmp/units/mtalog-$u.service"
	done
	if MANPATH=$D/usr/local/share/man systemd-analyze verify "$tmp"/units/*.service >"$tmp/verify" 2>&1 &&
		[ ! -s "$tmp/verify" ]; then
		ok "systemd-analyze verify: both units, no warning"
	else
		no "systemd-analyze verify: both units, no warning"
		sed 's/^/    /' "$tmp/verify"
	fi
	# the exposure score systemd gives the hardening (0 safe .. 10 unsafe)
	for u in ingest serve; do
		if score=$(cd "$tmp/units" && systemd-analyze security --offline=yes "mtalog-$u.service" 2>/dev/null |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p') && [ -n "$score" ]; then
			if awk -v s="$score" 'BEGIN { exit !(s < 2.0) }'; then
				ok "mtalog-$u.service: exposure $score (systemd-analyze security)"
			else
				no "mtalog-$u.service: exposure $score, want under 2.0 (systemd-analyze security)"
			fi
		fi
	done
else
	echo "# systemd-analyze is not installed: units not verified"
fi

# ---- the manual page ----------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
	if groff -ww -man -Tutf8 "$man1" >"$tmp/man.txt" 2>"$tmp/groff.err" && [ ! -s "$tmp/groff.err" ] &&
		grep -q "mtalog" "$tmp/man.txt"; then
		ok "groff -ww -man -Tutf8 renders mtalog(1) without a warning"
	else
		no "groff -ww -man -Tutf8 renders mtalog(1) without a warning"
		sed 's/^/    /' "$tmp/groff.err" | head
	fi
else
	no "groff is not installed (sh tools/install-deps.sh)"
fi
if command -v man >/dev/null 2>&1; then
	if MANWIDTH=80 man -l "$man1" >"$tmp/man-l.txt" 2>"$tmp/man-l.err" &&
		! grep -qi "warning\|error" "$tmp/man-l.err" && grep -q "^NAME" "$tmp/man-l.txt"; then
		ok "man -l renders mtalog(1)"
	else
		no "man -l renders mtalog(1)"
		sed 's/^/    /' "$tmp/man-l.err" | head
	fi
else
	no "man is not installed (sh tools/install-deps.sh)"
fi
# every command, and every option the sources take: the options of the
# getopt tables and those compared by hand
cmds=$(sed -n 's/.*strcmp(cmd, "\([a-z]*\)").*/\1/p' tools/mtalog.c tools/maint.c | sort -u)
opts=$( { grep -oh '{ "[a-z][a-z-]*", \(no\|required\)_argument' tools/*.c | cut -d'"' -f2
	grep -oh '"--[a-z][a-z-]*"' tools/mtalog.c tools/maint.c | tr -d '"' | sed 's/^--//'; } | sort -u)
miss=""
for c in $cmds; do
	[ "$c" = help ] && continue
	grep -q "^\.SS $c\$" "$man1" || miss="$miss $c"
done
for o in $opts; do
	grep -q "\\\\-\\\\-$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$man1" || miss="$miss --$o"
done
if [ -z "$miss" ] && [ -n "$cmds" ] && [ -n "$opts" ]; then
	ok "mtalog(1) describes every command ($(echo $cmds | wc -w)) and option ($(echo $opts | wc -w))"
else
	no "mtalog(1) lacks:$miss"
fi

# ---- uninstall, and the other prefix --------------------------------------------
check "make uninstall DESTDIR=..." mk uninstall DESTDIR="$D" PREFIX=/usr/local
left=$(find "$D" -type f | wc -l)
if [ "$left" -eq 0 ]; then ok "uninstall removes every file install wrote"; else no "uninstall left $left files"; fi
D2=$tmp/root2
mk install DESTDIR="$D2" PREFIX=/usr >/dev/null 2>&1
if [ -x "$D2/usr/bin/mtalog" ] && grep -q "^ExecStart=/usr/bin/mtalog serve" "$D2/usr/lib/systemd/system/mtalog-serve.service" &&
	[ -f "$D2/usr/share/man/man1/mtalog.1" ] && [ -f "$D2/usr/lib/sysusers.d/mtalog.conf" ]; then
	ok "PREFIX=/usr: /usr/bin, /usr/lib/systemd/system, /usr/share/man"
else
	no "PREFIX=/usr: /usr/bin, /usr/lib/systemd/system, /usr/share/man"
fi
[ "$fails" -eq 0 ]
