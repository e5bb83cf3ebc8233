#!/bin/sh
# The README's examples, as written, on the database `make demo` makes: in a
# fresh folder, tools/demo.sh ingests the sample into ./mtalog.db (the
# default database); then every example of the README's code blocks that
# asks the database something (search, show, stats, dump) runs there, with
# the mtalog just built first on the PATH (what `make install` puts there),
# and must answer with rows; so must the commands the demo suggests.  The
# examples that change a database or run a server (ingest, prune, compact,
# reindex, serve) are listed, not run.
#
# One line per check: "ok - ..." or "not ok - ..." (tests/run.sh counts them).
#   BUILD=build sh tests/test_readme.sh
cd "$(dirname "$0")/.." || exit 1
top=$PWD
BUILD=${BUILD:-build}
bin=$top/$BUILD/mtalog
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtalog-readme.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
unset MTALOG_DB
fails=0
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; fails=$((fails + 1)); }

mkdir "$tmp/demo"
if (cd "$tmp/demo" && sh "$top/tools/demo.sh" "$bin" "$top/sample/mail.log") >"$tmp/demo.out" 2>&1 &&
	[ -f "$tmp/demo/mtalog.db" ]; then
	ok "the demo ingests the sample into ./mtalog.db"
else
	no "the demo ingests the sample into ./mtalog.db"
	sed 's/^/    /' "$tmp/demo.out" | tail -20
fi

# Run one example (a command line) in the demo's folder; it must answer.
run() {
	line=$1 where=$2
	cmd=${line#mtalog }
	case "$cmd" in
	search*|show*|stats*|dump*) ;;
	*) echo "# not run ($where): $line"; return ;;
	esac
	n_run=$((n_run + 1))
	if (cd "$tmp/demo" && PATH=$(dirname "$bin"):$PATH sh -c "mtalog $cmd") >"$tmp/ex.out" 2>"$tmp/ex.err"; then
		case "$cmd" in
		search*--json*|search*--csv*|dump*) rows=$(grep -c . "$tmp/ex.out") ;;
		search*) rows=$(($(grep -c . "$tmp/ex.out") - 1)) ;;   # the table's header
		show*) rows=$(grep -c '^message ' "$tmp/ex.out") ;;
		stats*) rows=$(sed -n 's/^messages  *\([0-9]*\).*/\1/p' "$tmp/ex.out") ;;
		esac
		if [ "${rows:-0}" -gt 0 ]; then
			ok "$where: $line ($rows)"
		else
			no "$where: $line answers nothing"
		fi
	else
		no "$where: $line fails"
		sed 's/^/    /' "$tmp/ex.err" | head -5
	fi
}

# the README's examples: lines of its code blocks (indented by four spaces
# or fenced) that start with "mtalog " and are no synopsis ("[options]")
n_run=0
awk '/^```/ { fence = !fence; next }
	(fence || /^    /) { sub(/^ +/, ""); if ($0 ~ /^mtalog / && $0 !~ /\[/) print }' README.md |
	sed 's/  *#.*$//' > "$tmp/examples"
while IFS= read -r line; do
	run "$line" "README"
done < "$tmp/examples"
readme_run=$n_run
# what the demo suggests
grep '^  [^ ]*mtalog [a-z]' "$tmp/demo.out" | sed 's/^  [^ ]*mtalog /mtalog /; s/  *(.*$//' > "$tmp/suggested"
while IFS= read -r line; do
	run "$line" "make demo"
done < "$tmp/suggested"
if [ "$readme_run" -ge 5 ] && [ "$n_run" -gt "$readme_run" ]; then
	ok "$readme_run README examples and $((n_run - readme_run)) suggestions of the demo run"
else
	no "too few examples found: $readme_run in the README, $((n_run - readme_run)) in the demo"
fi
[ "$fails" -eq 0 ]
