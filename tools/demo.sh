#!/bin/sh
# `make demo`, after the build: the bundled sample into the default
# database of this folder (./mtalog.db), a few searches, and what to try
# next.  The commands it suggests answer with rows on the sample, as the
# README's examples do (tests/test_readme.sh runs both).
#
#   sh tools/demo.sh [BINARY [SAMPLE]]     (./mtalog, sample/mail.log)
#
# The sample is made by bench/gen (`make sample`): three Postfix hosts on
# 1 November 2026, written as traditional syslog lines, which carry no
# year: --year says which.  Ingesting it again adds nothing.
set -e
bin=${1:-./mtalog}
sample=${2:-sample/mail.log}
unset MTALOG_DB
"$bin" ingest --year 2026 "$sample"
echo
echo "\$ mtalog search --limit 8"
"$bin" search --limit 8
echo
echo "\$ mtalog search --status bounced,expired --limit 4"
"$bin" search --status bounced,expired --limit 4
cat <<EOF

The sample is in ./mtalog.db, the database mtalog uses when none is named.
Try, in this folder:
  $bin search --to jessica.walker@example.com --status bounced
  $bin show 1880683546935296
  $bin stats
  $bin serve          (the web page, at http://127.0.0.1:8025/)
Then 'sudo make install' puts mtalog on the PATH, its manual page (man
mtalog) and its services; README.md, Usage, has more to search.
EOF
