#!/bin/sh
# Run every test program of a build directory with a timeout. A test exits
# 0 (pass), 77 (skip, reason on stdout) or anything else (fail). Ends with
# one line: "N passed, N failed, N skipped".
B=${1:-build}
T=${REGBUF_TEST_TIMEOUT:-300}
pass=0 fail=0 skip=0
# Seconds with a fraction where date has %N (busybox's does not).
now() {
	d=$(date +%s.%N)
	case $d in *N) date +%s ;; *) echo "$d" ;; esac
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export REGBUF_BUILD="$B"
for t in "$B"/tests/t_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	# REGBUF_TEST_ONLY: run only the tests whose name contains one of its
	# comma-separated words
	if [ -n "${REGBUF_TEST_ONLY:-}" ]; then
		hit=
		for w in $(echo "$REGBUF_TEST_ONLY" | tr ',' ' '); do
			case "$name" in *"$w"*) hit=1 ;; esac
		done
		[ -n "$hit" ] || continue
	fi
	start=$(now)
	timeout -k 5 "$T" "$t" >"$log" 2>&1
	rc=$?
	secs=$(awk "BEGIN { printf \"%.2f\", $(now) - $start }")
	case $rc in
	0)
		pass=$((pass + 1))
		printf 'PASS %-24s %ss\n' "$name" "$secs"
		[ -n "$REGBUF_VERBOSE" ] && sed 's/^/     /' "$log"
		;;
	77)
		skip=$((skip + 1))
		printf 'SKIP %-24s %s\n' "$name" "$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: //')"
		;;
	124 | 137)
		fail=$((fail + 1))
		printf 'FAIL %-24s timed out after %ss\n' "$name" "$T"
		tail -n 20 "$log" | sed 's/^/     /'
		;;
	*)
		fail=$((fail + 1))
		printf 'FAIL %-24s exit %s\n' "$name" "$rc"
		tail -n 30 "$log" | sed 's/^/     /'
		;;
	esac
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
