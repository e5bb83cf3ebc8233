#!/bin/sh
# Run each test given as an argument; sum the counts.  Prints one closing
# line: "tests (TIER tier): N passed, N failed".
#
#   a cmocka program     its tests of the tier (MTALOG_TIER, see tests/testlib.h)
#   replay_NAME          a fuzz target's replay: one test.  Default tier: its
#                        seeds, then each line of the project's own logs as an
#                        input; corpus tier: each line of the corpus's logs
#   NAME.sh              a shell test: each line "ok - ..." is a test passed,
#                        each "not ok - ..." one failed
#
# The corpus tier (MTALOG_TIER=corpus) needs the corpus ($MTALOG_CORPUS, else
# ../shared/corpus); the Makefile's check-corpus skips it when it is missing.
passed=0
failed=0
broken=""
tier=${MTALOG_TIER:-default}
corpus=${MTALOG_CORPUS:-../shared/corpus}
# Add what test $1 said: $2 tests passed, $3 failed, its exit status $4
# (a failure outside the tests counts as one).
tally() {
	passed=$((passed + $2))
	failed=$((failed + $3))
	if [ "$4" -ne 0 ] && [ "$3" -eq 0 ]; then
		failed=$((failed + 1))
		broken="$broken $1"
	fi
}
for t in "$@"; do
	case "$t" in
	*/replay_*)
		name=${t##*/replay_}
		if [ "$tier" = corpus ]; then
			out=$("$t" --lines "$corpus/postfix-logsums/mail.log" \
				"$corpus"/postfix-grok-patterns/messages-*.log 2>&1)
		else
			out=$("$t" "tests/fuzz/seeds/$name" --lines sample/mail.log tests/data/*.log 2>&1)
		fi
		rc=$?
		printf 'replay %s: %s\n' "$name" "$out"
		tally "$t" $((rc == 0)) 0 "$rc"
		continue
		;;
	*.sh)
		[ "$tier" = corpus ] && continue
		out=$(sh "$t" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		tally "$t" "$(printf '%s\n' "$out" | grep -c '^ok - ')" "$(printf '%s\n' "$out" | grep -c '^not ok - ')" "$rc"
		continue
		;;
	esac
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	tally "$t" "$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')" \
		"$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')" "$rc"
done
[ -n "$broken" ] && echo "crashed or failed outside a test:$broken"
echo "tests ($tier tier): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
