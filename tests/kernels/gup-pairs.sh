#!/bin/sh
# gup_test's pinning benchmarks on Debian's 7.2 built stock and with
# kernel/patches, in alternating pairs in the same QEMU:
#
#   tests/kernels/gup-pairs.sh [N]     N pairs (default 2), then the summary
#   tests/kernels/gup-pairs.sh 0       the summary of what is recorded
#   GUPPAIRS=kernel/results/gup-pairs.jsonl tests/kernels/gup-pairs.sh 0
#
# Each pair boots 7.2-stock, then 7.2+regbuf, with REGBUF_PEERS=gupbench
# (tests/kernels/peers-guest.sh): gup_test PIN_FAST_BENCHMARK (-a, plain
# pin_user_pages_fast(), which the series' walker change touches for every
# caller) and, on the patched kernel, PIN_FOLIOS_FAST (-R) on 512 MiB of
# 4 KiB pages, THP and 2 MiB hugetlb, in calls of 512 pages and of all of
# it, each the median of its repeats. Every figure is appended to
# build-kernel/gup-pairs.jsonl (or $GUPPAIRS) with the kernel, the pair's
# time stamp and the series' id; the summary gives per case the median of
# each kernel's get times, their ratio (patched / stock) and the range of
# the pairs' ratios, for the series in the tree (SERIES=<id> another).
# The peers mode leaves build-kernel/<kernel>/peers.txt: a full peers run's
# results there are overwritten (copy them to kernel/results/ first).
set -e
N=${1:-2}
OUT=${GUPPAIRS:-build-kernel/gup-pairs.jsonl}
series=$(tests/kernels/series-id.sh)
want=${SERIES:-$series}
mkdir -p build-kernel
i=0
while [ "$i" -lt "$N" ]; do
	pair=$(date -u +%Y%m%dT%H%M%S)
	for k in 7.2-stock 7.2+regbuf; do
		try=0
		until REGBUF_PEERS=gupbench tests/kernels/run.sh "$k" peers >/dev/null &&
			grep -q '^REGBUF-GUPBENCH ' "build-kernel/$k/peers.txt"; do
			try=$((try + 1))
			echo "gup-pairs.sh: $k gave no benchmark result, booting again" >&2
			[ "$try" -lt 3 ] || exit 1
		done
		# REGBUF-GUPBENCH thp -a 512 get=G put=P repeats=R
		awk -v k="$k" -v p="$pair" -v s="$series" '$1 == "REGBUF-GUPBENCH" {
			sub("get=", "", $5); sub("put=", "", $6); sub("repeats=", "", $7)
			printf "{\"kernel\":\"%s\",\"pair\":\"%s\",\"series\":\"%s\",\"mem\":\"%s\",\"call\":\"%s\",\"n\":%s,\"get_us\":%s,\"put_us\":%s,\"repeats\":%s}\n",
				k, p, s, $2, $3, $4, $5, $6, $7 }' "build-kernel/$k/peers.txt" >>"$OUT"
	done
	i=$((i + 1))
	echo "pair $i of $N recorded ($pair)" >&2
done
[ -s "$OUT" ] || { echo "gup-pairs.sh: nothing recorded in $OUT yet" >&2; exit 1; }

jq -s -r --arg want "$want" '
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r2: . * 100 | round / 100;
  map(select($want == "all" or .series == $want)) as $all
  | ($all | map(.pair) | unique) as $pairs
  | "\($pairs | length) pair(s) of series \($want), gup_test on 512 MiB, get time in us (median of the repeats, then over pairs)",
    "| memory | benchmark | pages a call | stock | patched | patched / stock | range over pairs |",
    "|---|---|---|---|---|---|---|",
    ($all | group_by([.mem, .call, .n])[] as $g
     | ($g | map(select(.kernel == "7.2-stock") | .get_us)) as $s
     | ($g | map(select(.kernel == "7.2+regbuf") | .get_us)) as $p
     | [$pairs[] as $x
        | ($g | map(select(.pair == $x and .kernel == "7.2-stock") | .get_us) | first) as $a
        | ($g | map(select(.pair == $x and .kernel == "7.2+regbuf") | .get_us) | first) as $b
        | select($a != null and $b != null and $a > 0) | $b / $a] as $rs
     | "| \($g[0].mem) | \(if $g[0].call == "-a" then "PIN_FAST" else "PIN_FOLIOS_FAST" end) | \(if $g[0].n == -1 then "all" else $g[0].n end) | \($s | median // "—") | \($p | median // "—") | \(if ($s | length) > 0 and ($p | length) > 0 then (($p | median) / ($s | median) | r2) else "—" end) | \(if ($rs | length) > 0 then "\($rs | min | r2)–\($rs | max | r2) (\($rs | length))" else "—" end) |")
' "$OUT"
