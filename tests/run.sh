#!/bin/sh
# Run each test program given as an argument; sum cmocka's counts.
# A fuzz replay program (replay_NAME) runs its seeds and corpus lines: one test.
# Prints one closing line: "N passed, N failed".
passed=0
failed=0
broken=""
corpus=${MTALOG_CORPUS:-../shared/corpus}
for t in "$@"; do
	case "$t" in
	*/replay_*)
		# a fuzz target's replay: its seeds, then real lines as inputs
		name=${t##*/replay_}
		out=$("$t" "tests/fuzz/seeds/$name" --lines "$corpus/postfix-logsums/mail.log" \
			"$corpus"/postfix-grok-patterns/messages-*.log 2>&1)
		rc=$?
		printf 'replay %s: %s\n' "$name" "$out"
		if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); broken="$broken $t"; fi
		continue
		;;
	esac
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		broken="$broken $t"
	fi
done
[ -n "$broken" ] && echo "crashed or failed outside a test:$broken"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
