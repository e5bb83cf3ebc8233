#!/bin/sh
# Install the Debian packages mtalog needs to build and test, if missing.
set -e
PKGS="build-essential pkg-config liblmdb-dev libzstd-dev libxxhash-dev libpcre2-dev zlib1g-dev libjansson-dev libcmocka-dev"
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
