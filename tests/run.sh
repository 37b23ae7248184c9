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
# Free hugepages of every size. A test's memory comes back when it exits,
# but the kernel may release a ring's pinned pages (and their memlock
# charge) later, from the ring's exit work: Debian's 6.1 in QEMU takes
# seconds. The runner waits for them before the next test, whose baseline
# they would otherwise skew, and a test whose hugepages never come back
# has leaked them: it fails.
hp_free() {
	cat /sys/kernel/mm/hugepages/*/free_hugepages 2>/dev/null | tr '\n' ' '
}
SETTLE=${REGBUF_TEST_SETTLE:-120}
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
	hp0=$(hp_free)
	timeout -k 5 "$T" "$t" >"$log" 2>&1
	rc=$?
	secs=$(awk "BEGIN { printf \"%.2f\", $(now) - $start }")
	waited=0
	while [ "$(hp_free)" != "$hp0" ] && [ $waited -lt "$SETTLE" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if [ "$(hp_free)" != "$hp0" ]; then
		echo "hugepages not back ${SETTLE}s after the test ended: free before $hp0, now $(hp_free)" >>"$log"
		[ $rc -eq 0 ] || [ $rc -eq 77 ] && rc=1
	elif [ $waited -gt 0 ]; then
		echo "(its hugepages came back ${waited}s after it ended)" >>"$log"
	fi
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
	124 | 137 | 143) # coreutils' timeout 124; busybox's kills: 143, 137
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
