#!/bin/sh
# Features by kernel, every cell taken from the suite's own output:
#   tests/kernels/table.sh [VERSION...]        (after tests/kernels/run.sh)
# Columns: each guest kernel run under build-kernel/<version>/, then this
# machine's kernel (the whole suite is run here, verbosely).
set -e
B=${B:-build}
[ $# -gt 0 ] || set -- 6.1 6.12 7.2 7.3
host=$(mktemp)
trap 'rm -f "$host" "$host.info"' EXIT
REGBUF_VERBOSE=1 tests/run.sh "$B" >"$host" 2>&1 || true
# and as uid 65534, after a marker as in the guests' consoles
{ echo "REGBUF-UNPRIV"; tests/unpriv.sh "$B"; } >>"$host" 2>&1 || true
"$B/regbuf" info --json >"$host.info"

# cell LOG INFO ROW
cell() {
	log=$1 info=$2
	case "$3" in
	kernel) jq -r .kernel "$info" ;;
	byfolio) jq -r '.registers_by_folio // "?"' "$info" ;;
	suite) grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | head -n1 ;;
	unpriv) sed -n '/^REGBUF-UNPRIV/,$p' "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' | tail -n1 ;;
	feature:*) jq -r --arg k "${3#feature:}" 'if .features[$k] then "yes" else "no" end' "$info" ;;
	attach) sed -n 's/.*2m: .*attached by \([a-z_]*\).*/\1/p' "$log" | head -n1 ;;
	bvecs) sed -n 's/.* \([0-9]*\) bio_vecs predicted for 16 MiB.*/\1/p' "$log" | head -n1 ;;
	source) sed -n 's/.*"source":"\([a-z_]*\)".*/\1/p' "$log" | head -n1 ;;
	inc) grep -o 'incremental[^:]*: [^,]*[a-z ,]*' "$log" | head -n1 | sed 's/^incremental[^:]*: //' ;;
	bundle) grep -oE 'bundles?: [^|]*' "$log" | head -n1 | sed 's/^bundles\{0,1\}: //' ;;
	disabled) grep -o 'io_uring_disabled=2[^;]*' "$log" | head -n1 | sed 's/^io_uring_disabled=2:\{0,1\} //' ;;
	slots) sed -n 's/.*a 1 GiB + 2 MiB pool: \([0-9]*\) slot.*/\1/p' "$log" | head -n1 ;;
	charge) sed -n "s/.*unprivileged: X, Y, X' on \(.*\): charged \([0-9]* KiB\) as predicted (\(.*\))/\2 on \1 (\3)/p" "$log" | head -n1 ;;
	acost) sed -n 's/.*unprivileged: attach by \([a-z_]*\), VmPin [a-z ]*, cost class \(.*\)/\1, \2/p' "$log" | head -n1 ;;
	partial) sed -n 's/.*PARTIAL, one 64 MiB slot, memlock 64 KiB: \([0-9]* KiB\) registered.*/\1 registered/p' "$log" | head -n1 ;;
	esac
}

rows="kernel suite unpriv byfolio feature:clone feature:clone_ranges feature:coalesce feature:pbuf_ring feature:pbuf_inc feature:min_left feature:pagemap_scan feature:mem_region feature:rw_vec_fixed feature:query feature:priv_unaccounted feature:large_bufs feature:hpage_per_ring feature:hpage_xarray attach slots charge acost partial bvecs source inc bundle disabled"
label() {
	case "$1" in
	kernel) echo "kernel" ;;
	suite) echo "test suite (root)" ;;
	unpriv) echo "test suite (uid 65534; guests: memlock 4 GiB, here 8 MiB)" ;;
	byfolio) echo "registers by folio (regbuf info)" ;;
	feature:*) echo "probe: ${1#feature:}" ;;
	attach) echo "how a ring gets a 2m pool (t_pool_io)" ;;
	bvecs) echo "bio_vecs for 16 MiB (2 MiB 4K + 14 MiB THP) (t_plan)" ;;
	source) echo "folio map source (t_cli)" ;;
	inc) echo "incremental buffer rings (t_bufring)" ;;
	bundle) echo "receive bundles (t_bufring)" ;;
	disabled) echo "io_uring_disabled=2 (t_probe)" ;;
	slots) echo "slots of a 1 GiB + 2 MiB pool (t_plan)" ;;
	charge) echo "unprivileged: X, Y, X' sharing a huge page, VmPin = prediction (t_pool_env)" ;;
	acost) echo "unprivileged: attach of a 2 MiB 4K pool, method and cost class (t_pool_env)" ;;
	partial) echo "PARTIAL 64 MiB one-slot pool at memlock 64 KiB (t_pool_env)" ;;
	esac
}

printf '| |'
for v in "$@"; do printf ' Debian %s (QEMU) |' "$v"; done
printf ' this machine |\n|---|'
for v in "$@"; do printf -- '---|'; done
printf -- '---|\n'
for r in $rows; do
	printf '| %s |' "$(label "$r")"
	for v in "$@"; do
		tr -d '\r' <"build-kernel/$v/console.log" >"build-kernel/$v/console.txt"
		printf ' %s |' "$(cell "build-kernel/$v/console.txt" "build-kernel/$v/info.json" "$r")"
	done
	printf ' %s |\n' "$(cell "$host" "$host.info" "$r")"
done
