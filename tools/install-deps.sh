#!/bin/sh
# Install the Debian packages mtalog needs to build and test, if missing.
# With the argument "bench", also those the benchmark needs.
set -e
PKGS="build-essential pkg-config liblmdb-dev libzstd-dev libxxhash-dev libpcre2-dev zlib1g-dev libjansson-dev libcmocka-dev"
# what the benchmark also runs: GNU time, ripgrep (a baseline)
[ "${1:-}" = bench ] && PKGS="$PKGS time ripgrep sqlite3 gnuplot-nox jq"
# what fuzzing needs: clang and its sanitizer runtimes
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
