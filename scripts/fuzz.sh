#!/bin/sh
# Run each libFuzzer harness for a set time: scripts/fuzz.sh SECONDS NAME...
# The corpus grows in build-fuzz/corpus/NAME (seeded from fuzz/corpus/NAME);
# a crash is saved in build-fuzz/crashes/NAME/ and fails the run: copy it
# to fuzz/regressions/NAME/ and `make check` replays it from then on.
secs=$1
shift
rc=0 total=0
for f in "$@"; do
	corpus=build-fuzz/corpus/$f crashes=build-fuzz/crashes/$f
	mkdir -p "$corpus" "$crashes"
	cp -n fuzz/corpus/"$f"/* "$corpus"/ 2>/dev/null
	log=build-fuzz/fuzz_$f.log
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		build-fuzz/fuzz_"$f" -max_total_time="$secs" -timeout=30 \
		-rss_limit_mb=4096 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
	r=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
	echo "fuzz_$f: ${runs:-0} executions in ${secs}s, $cov, corpus $(ls "$corpus" | wc -l) inputs, exit $r"
	total=$((total + ${runs:-0}))
	if [ $r -ne 0 ]; then
		rc=1
		tail -n 30 "$log"
	fi
done
echo "fuzzing: $total executions in all, $( [ $rc -eq 0 ] && echo "no crash" || echo "CRASHES in build-fuzz/crashes/")"
exit $rc
