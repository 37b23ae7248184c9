#!/bin/sh
# Run every benchmark with defaults; JSON results and a markdown summary
# go to bench/results/. Plots and the fio comparison are not done yet.
set -e
B=${1:-build}
out=bench/results
mkdir -p "$out"
: >"$out/summary.md"
echo "# regbuf bench, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) cpus" >>"$out/summary.md"
for b in "register" "attach" "mixed" "alloc" "alloc --threads 2" "io"; do
	name=$(echo "$b" | tr ' ' '_' | tr -d -)
	echo "== regbuf bench $b"
	"$B/regbuf" bench $b | tee "$out/$name.txt"
	"$B/regbuf" bench $b --json >"$out/$name.json"
	{ echo; echo "## \`regbuf bench $b\`"; echo '```'; cat "$out/$name.txt"; echo '```'; } >>"$out/summary.md"
done
echo "results in $out/"
