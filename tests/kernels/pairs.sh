#!/bin/sh
# Registration cost of Debian's 7.2 built stock and with kernel/patches,
# measured in alternating pairs in the same QEMU:
#
#   tests/kernels/pairs.sh [N]       N pairs (default 3), then the summary
#   tests/kernels/pairs.sh 0         the summary of what is recorded
#   PAIRS=kernel/results/pairs.jsonl tests/kernels/pairs.sh 0
#                                    the summary of the runs RESULTS.md cites
#   SINCE=20261202T183000 ...        only pairs from then on, UNTIL=...
#                                    only those before (the runs of one
#                                    machine: emulated speed differs from
#                                    machine to machine)
#
# Each pair boots 7.2-stock, then 7.2+regbuf, in bench-register mode
# (tests/kernels/run.sh): `regbuf bench register --size 1G --repeat 5` on
# 2 MiB pages, a 1 GiB page, THP and 4 KiB pages, and of one 2 MiB page
# (the cost of the system call itself, for the 1 GiB page's ratio). Every
# result is appended to build-kernel/pairs.jsonl (or $PAIRS) with the
# kernel and the pair's time stamp, so runs add up across sessions. The
# summary gives, per backing, the median of each kernel's figures, their
# ratio, and the range of the ratios of the pairs (each patched run
# against the stock run booted just before it), for the version of
# kernel/patches in the tree.
set -e
N=${1:-3}
OUT=${PAIRS:-build-kernel/pairs.jsonl}
# Which version of the series (series-id.sh): pairs of other versions are
# kept but not summarised (SERIES=all summarises every pair, SERIES=<id>
# one).
series=$(tests/kernels/series-id.sh)
want=${SERIES:-$series}
mkdir -p build-kernel
i=0
while [ "$i" -lt "$N" ]; do
	pair=$(date -u +%Y%m%dT%H%M%S)
	for k in 7.2-stock 7.2+regbuf; do
		# A guest that dies before it reports (under software emulation
		# an early-boot oops has been seen, on either kernel) is kept in
		# build-kernel/pairs-failed/ and booted again, twice at most.
		try=0
		until tests/kernels/run.sh "$k" bench-register >/dev/null; do
			try=$((try + 1))
			mkdir -p build-kernel/pairs-failed
			cp "build-kernel/$k/bench-register.txt" "build-kernel/pairs-failed/$pair-$k-$try.txt"
			echo "pairs.sh: $k gave no result ($(grep -m1 -E 'Oops|BUG|panic' "build-kernel/$k/bench-register.txt" || echo 'no report')); kept in build-kernel/pairs-failed/, booting again" >&2
			[ "$try" -lt 3 ] || exit 1
		done
		jq -c --arg k "$k" --arg p "$pair" --arg s "$series" \
			'. + {kernel: $k, pair: $p, series: $s}' \
			"build-kernel/$k/bench-register.jsonl" >>"$OUT"
	done
	i=$((i + 1))
	echo "pair $i of $N recorded ($pair)" >&2
done
[ -s "$OUT" ] || { echo "pairs.sh: nothing recorded in $OUT yet" >&2; exit 1; }

# Only pairs with both kernels count.
jq -s -r --arg want "$want" --arg since "${SINCE:-}" --arg until "${UNTIL:-}" '
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r2: . * 100 | round / 100;
  def ms: if . >= 1 then . * 100 | round / 100 else . * 10000 | round / 10000 end;
  [.[] | select(($want == "all" or .series == $want) and .pair >= $since and ($until == "" or .pair < $until))]
  | [group_by(.pair)[] | select(([.[].kernel] | unique | length) == 2)] as $pairs
  | "\($pairs | length) pairs of series \($want)\(if $since != "" then " from \($since)" else "" end)\(if $until != "" then " before \($until)" else "" end) (stock booted first in each), medians in ms",
    "| registered | figure | stock | patched | stock / patched | range over pairs (pairs) |",
    "|---|---|---|---|---|---|",
    ( [1073741824, "2m"], [1073741824, "1g"], [1073741824, "thp"], [1073741824, "4k"], [2097152, "2m"]
      | .[0] as $z | .[1] as $b | ["raw_ms", "naive_ms"][] as $f
      | select($f == "raw_ms" or $b == "4k")
      | [$pairs[] | {s: (.[] | select(.kernel == "7.2-stock" and .backing == $b and .size == $z) | .[$f]),
                     p: (.[] | select(.kernel == "7.2+regbuf" and .backing == $b and .size == $z) | .[$f])}
         | select(.s != null and .p != null)] as $v
      | select($v | length > 0)
      | ([$v[].s] | median) as $s | ([$v[].p] | median) as $p
      | [$v[] | .s / .p] as $q
      | "| \(if $z == 2097152 then "one 2 MiB page" else "1 GiB, \($b)" end) | \($f | sub("_ms"; "")) | \($s | ms) | \($p | ms) | \($s / $p | r2) | \($q | min | r2)–\($q | max | r2) (\($v | length)) |"
    )' "$OUT"
