#!/bin/sh
# Run each test program given as an argument; sum cmocka's counts.
# Prints one closing line: "N passed, N failed".
passed=0
failed=0
broken=""
for t in "$@"; do
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
