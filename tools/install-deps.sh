#!/bin/sh
# Install the Debian packages mtalog needs to build, test and install, if missing.
# With the argument "bench", also those the benchmark needs; with "web", those
# the browser tests of the page need (Chromium, node and npm), so that a plain
# build does not pull a browser; with "load", wrk for tests/load/run.sh; with
# "rsyslog", rsyslogd for tests/rsyslog/run.sh (`make test-rsyslog`); with
# "chains", Postfix, iproute2, jq and the libraries of Exim's binary for
# tests/chains/run.sh (`make test-chains`).
# "cluster", the NATS server, the NATS C client (mtalog ship, ingest --nats)
# and jq for tests/cluster/run.sh (`make test-cluster`).
set -e
PKGS="build-essential pkg-config liblmdb-dev libzstd-dev libxxhash-dev libpcre2-dev zlib1g-dev libjansson-dev nettle-dev libcmocka-dev libmicrohttpd-dev libcrypt-dev xxd"
# what the install test uses: man and groff render the manual page,
# systemd-analyze checks the units (a container may lack all three)
PKGS="$PKGS man-db groff-base systemd"
# what the benchmark also runs: GNU time, ripgrep (a baseline)
[ "${1:-}" = bench ] && PKGS="$PKGS time ripgrep sqlite3 gnuplot-nox jq"
# what fuzzing needs: clang and its sanitizer runtimes
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang libclang-rt-14-dev"
# the load test of the server
[ "${1:-}" = load ] && PKGS="$PKGS wrk"
# rsyslogd in front of ingest --follow
[ "${1:-}" = rsyslog ] && PKGS="$PKGS rsyslog"
# two Postfix instances in network namespaces (Postfix's own service is not
# started: the test runs its instances from their own configuration)
[ "${1:-}" = chains ] && PKGS="$PKGS postfix iproute2 jq perl"
# Exim's packages conflict with postfix: the test downloads exim4-daemon-light
# itself (apt-get download) and runs its binary unpacked; here only the
# libraries it links (its Depends but exim4-base and debconf) and unshare
[ "${1:-}" = chains ] && PKGS="$PKGS util-linux libdb5.3 libgnutls30 libgnutls-dane0 libidn12 libidn2-0 libnsl2 libpcre2-8-0 libcrypt1"
# the cluster on NATS JetStream (a build without libnats-dev has no cluster)
[ "${1:-}" = cluster ] && PKGS="$PKGS nats-server libnats-dev jq"
# the browser tests: Debian's Chromium; node and npm unless a node with npm is there
if [ "${1:-}" = web ]; then
	PKGS="$PKGS chromium"
	command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
	command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
# Postfix installed for the tests only: no system configuration asked for
case "$missing" in *postfix*)
	echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections ;;
esac
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
