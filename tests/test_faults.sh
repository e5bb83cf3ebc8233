#!/bin/sh
# The short version of tests/faults/run.sh for the default tier: a log of
# 3000 messages, two kills per operation, every file size limit case (about
# 15 s).  `make test-faults` runs the full version.
#
# One line per case: "ok - ..." or "not ok - ..." (tests/run.sh counts them).
#   BUILD=build sh tests/test_faults.sh
cd "$(dirname "$0")/.." || exit 1
KILLS=${KILLS:-2} MESSAGES=${MESSAGES:-3000} exec sh tests/faults/run.sh
