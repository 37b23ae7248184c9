#!/bin/sh
# The peer suites of two kernels side by side (tests/kernels/run.sh K
# peers leaves build-kernel/K/peers.txt):
#
#   tests/kernels/peers-compare.sh [A B]     (default 7.2-stock 7.2+regbuf)
#
# Per suite, each kernel's pass/fail/skip/timeout counts (n/a: a case the
# kernel does not have, gup_test -R on stock); then every test whose result
# differs between the two, with what the failing side printed.
A=${1:-7.2-stock} B=${2:-7.2+regbuf}
fa=${PEERS_A:-build-kernel/$A/peers.txt} fb=${PEERS_B:-build-kernel/$B/peers.txt}
for f in "$fa" "$fb"; do
	[ -s "$f" ] || { echo "peers-compare.sh: no $f (tests/kernels/run.sh KERNEL peers)" >&2; exit 1; }
done
count() { # file suite
	awk -v s="$2" '$1 == "REGBUF-PEER" && $2 == s { n[$4]++; t++ }
		END { printf "%d: %d pass, %d fail, %d skip, %d timeout%s", t, n["pass"], n["fail"], n["skip"], n["timeout"],
			n["n/a"] ? sprintf(", %d n/a", n["n/a"]) : "" }' "$1"
}
echo "| suite | $A | $B |"
echo "|---|---|---|"
for s in $(awk '$1 == "REGBUF-PEER" { print $2 }' "$fa" "$fb" | sort -u); do
	echo "| $s | $(count "$fa" $s) | $(count "$fb" $s) |"
done
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
awk '$1 == "REGBUF-PEER" { print $2 "/" $3, $4 }' "$fa" | sort >"$t/a"
awk '$1 == "REGBUF-PEER" { print $2 "/" $3, $4 }' "$fb" | sort >"$t/b"
diffs=$(join -a1 -a2 -e missing -o 0,1.2,2.2 "$t/a" "$t/b" | awk '$2 != $3')
if [ -z "$diffs" ]; then
	echo "no test differs between $A and $B"
	exit 0
fi
echo "differences ($A, $B):"
echo "$diffs" | while read -r name ra rb; do
	echo "  $name: $ra, $rb"
	s=${name%%/*} n=${name#*/}
	grep -a -h "^REGBUF-PEERLOG $s $n: " "$fa" "$fb" | sed 's/^REGBUF-PEERLOG /    /' | head -n 6
done
