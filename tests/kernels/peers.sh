#!/bin/sh
# Tests that others wrote, built here for the guests (static binaries):
#
#   tests/kernels/peers.sh            -> build-kernel/peers/out/{liburing,mm}
#   REGBUF_KERNEL_BASE=7.3 tests/kernels/peers.sh  -> build-kernel/peers/out-7.3/
#
#  - liburing's own regression suite, from Debian's liburing source package
#    (sid, through the private apt configuration: tests/kernels/apt.sh);
#  - the kernel's mm selftests from linux-source-7.2 (or -7.3) with kernel/patches
#    applied (gup_test's PIN_FOLIOS_FAST_BENCHMARK comes with the series;
#    the other tests are the same source on stock and patched kernels),
#    linked against that liburing for their io_uring cases.
#
# tests/kernels/run.sh KERNEL peers boots a kernel with them and runs them
# (tests/kernels/peers-guest.sh). 77: a source could not be fetched.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
P=$top/build-kernel/peers
V=${REGBUF_KERNEL_BASE:-7.2}
S=$top/build-kernel/src/linux-source-$V
out=$P/out
[ "$V" = 7.2 ] || out=$P/out-$V
export REGBUF_KERNEL_BASE=$V
log() { echo "== $*" >&2; }
mkdir -p "$P" "$out/liburing" "$out/mm"
"$top/scripts/deps.sh" peers

# ---- liburing ----------------------------------------------------------------
lu=$(ls -d "$P"/liburing-* 2>/dev/null | head -n1)
if [ -z "$lu" ]; then
	"$top/tests/kernels/apt.sh" update || exit 77
	(cd "$P" && "$top/tests/kernels/apt.sh" source liburing >/dev/null 2>&1) ||
		{ echo "peers.sh: the liburing source cannot be fetched" >&2; exit 77; }
	lu=$(ls -d "$P"/liburing-* | head -n1)
fi
log "liburing $(basename "$lu"): library and tests, static"
if [ ! -f "$lu/src/liburing.a" ]; then
	(cd "$lu" && ./configure >/dev/null && make -s -C src -j"$(nproc)" >/dev/null)
fi
make -s -C "$lu/test" -j"$(nproc)" LDFLAGS=-static >"$P/liburing-build.log" 2>&1 ||
	{ tail -n 20 "$P/liburing-build.log" >&2; exit 1; }
rm -f "$out"/liburing/*
cp "$lu"/test/*.t "$out/liburing/"
basename "$lu" >"$out/liburing/VERSION"

# ---- mm selftests --------------------------------------------------------------
# The source tree carries the series while they build (kernel/build.sh's
# record of what is applied undoes it), kernel headers from the patched
# object directory.
MM_TESTS="gup_test gup_longterm cow migration guard-regions memfd_secret
	hugetlb-mmap hugetlb-shm hugetlb-mremap hugetlb-madvise hugetlb_dio
	hugetlb_fault_after_madv hugetlb_madv_vs_map madv_populate map_populate
	mremap_test pagemap_ioctl split_huge_page_test mkdirty rmap"
[ -f "$S/Makefile" ] || "$top/kernel/build.sh" stock >/dev/null
log "kernel headers of the patched tree"
"$top/kernel/build.sh" headers
H=$top/build-kernel/src/obj-$V-regbuf/usr/include
log "mm selftests: $(echo $MM_TESTS)"
"$top/kernel/build.sh" selftests "$out/mm" "$lu" $MM_TESTS
cp "$S/tools/testing/selftests/mm/run_vmtests.sh" "$out/mm/" 2>/dev/null || true
echo "liburing: $(ls "$out"/liburing/*.t | wc -l) tests; mm: $(ls "$out"/mm | grep -v '\.sh$' | wc -l) tests, in $out"
