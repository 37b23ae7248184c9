#!/bin/sh
# The shared library exports exactly what the sources mark RB_EXPORT and
# src/libregbuf.map lists, no more and no less:  scripts/abi.sh [BUILD]
set -e
B=${1:-build}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# the function name after RB_EXPORT (its declaration may span lines)
for f in src/*.c; do
	awk '/^RB_EXPORT/ { s = $0; while (s !~ /\(/ && (getline l) > 0) s = s " " l;
		sub(/\(.*/, "", s); n = split(s, w, /[ *]+/); print w[n] }' "$f"
done | sort -u >"$t/src"
sed -n 's/^[[:space:]]*\(regbuf_[a-z0-9_]*\);.*/\1/p' src/libregbuf.map | sort >"$t/map"
nm -D --defined-only "$B/libregbuf.so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$t/so"
rc=0
for a in map so; do
	if ! cmp -s "$t/src" "$t/$a"; then
		echo "abi: RB_EXPORT in src/ and $([ $a = map ] && echo src/libregbuf.map || echo "$B/libregbuf.so") differ:" >&2
		diff "$t/src" "$t/$a" | sed -n 's/^[<>]/  &/p' >&2
		rc=1
	fi
done
[ $rc -ne 0 ] || echo "abi: $(wc -l <"$t/src") symbols, the same in src/, the version script and $B/libregbuf.so"
exit $rc
