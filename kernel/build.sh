#!/bin/sh
# Build Debian's linux-source-7.2 (or, with REGBUF_KERNEL_BASE=7.3, the
# newest source Debian carries: linux-source-7.3 from experimental) stock
# and with regbuf's patch series, from the same source tree and the same
# config, for the QEMU guests:
#
#   kernel/build.sh [stock|regbuf|debug]...      (make kernel)
#
#   stock   build-kernel/7.2-stock/vmlinuz
#   regbuf  build-kernel/7.2+regbuf/vmlinuz         (kernel/patches/*.patch)
#   debug   build-kernel/7.2+regbuf-debug/vmlinuz   (+ KASAN, lockdep, DEBUG_VM)
#   stock-debug  build-kernel/7.2-stock-debug/vmlinuz  (the same, stock: the control)
#   next    build-kernel/7.2+next/vmlinuz  (the series and kernel/next/*.patch,
#           the patches being written; in the regbuf object directory)
#   next-debug  build-kernel/7.2+next-debug/vmlinuz  (the same on the debug
#           config, in the debug object directory)
#   (7.3-stock, 7.3+regbuf, ... with REGBUF_KERNEL_BASE=7.3)
#   cross   the objects the series touches, built for configs a guest never
#           boots: ARCH=um (no GUP-fast), 32-bit x86, and arm64 when
#           Debian's cross compiler is installed; after each patch of the
#           series in turn on x86_64 (each patch builds on its own)
#   lint    checkpatch --strict and kernel-doc -Wall over the series
#   headers, selftests OUT LIBURING TEST...   user-space headers and the mm
#           selftests of the patched tree (tests/kernels/peers.sh)
#
# The source comes through apt (tests/kernels/apt.sh: a private
# configuration; 77 when it cannot be fetched). Each variant keeps its
# object directory, and every compile goes through ccache keyed on the one
# source path, so a rebuild after editing a patch recompiles what the patch
# touches, not the kernel. Config: x86_64 defconfig + kernel/config.fragment
# (+ kernel/debug.fragment), every guest driver built in. ccache lives in
# ~/.cache/regbuf/ccache (REGBUF_CCACHE_DIR).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
K=$top/build-kernel
V=${REGBUF_KERNEL_BASE:-7.2}
case $V in 7.2 | 7.3) ;; *) echo "build.sh: REGBUF_KERNEL_BASE is 7.2 or 7.3" >&2; exit 2 ;; esac
S=$K/src/linux-source-$V
# object directories (the cross builds of 7.2 keep the names they had
# before 7.3 was a base)
o_stock=$K/src/obj-$V o_regbuf=$K/src/obj-$V-regbuf o_debug=$K/src/obj-$V-debug
o_sdebug=$K/src/obj-$V-stock-debug o_cross=$K/src/obj-
[ "$V" = 7.2 ] || o_cross=$K/src/obj-$V-
# outside the tree, so a fresh clone (CI) on this machine reuses it
export CCACHE_DIR=${REGBUF_CCACHE_DIR:-${HOME:-/root}/.cache/regbuf/ccache}
# kbuild passes absolute source paths: relative to build-kernel/, every
# clone's compiles look alike to ccache (__FILE__ is already relative)
export CCACHE_BASEDIR=$K
log() { echo "== $*" >&2; }
[ $# -gt 0 ] || set -- stock regbuf

for p in flex bison bc libelf-dev libssl-dev ccache; do
	dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "ok installed" ||
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q $p >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $p >/dev/null; }; }
done

if [ ! -f "$S/Makefile" ]; then
	mkdir -p "$K/src"
	"$top/tests/kernels/apt.sh" update || { echo "build.sh: apt cannot reach Debian's archive: not built" >&2; exit 77; }
	(cd "$K/src" && "$top/tests/kernels/apt.sh" download linux-source-$V >/dev/null) ||
		{ echo "build.sh: linux-source-$V cannot be fetched: not built" >&2; exit 77; }
	log "unpacking linux-source-$V"
	(cd "$K/src" && dpkg-deb --fsys-tarfile linux-source-${V}_*.deb | tar -x --wildcards '*.tar.xz' &&
		tar -xJf usr/src/linux-source-$V.tar.xz && rm -rf usr)
fi

# The tree is pristine except while a patched variant builds. What is
# applied is recorded with copies of the patches as applied, so that a run
# killed half-way (or a patch edited since) is undone exactly.
A=$S/.regbuf-applied
apply_one() {
	mkdir -p "$A"
	patch -s -p1 -d "$S" <"$1" >/dev/null
	cp "$1" "$A/$(ls "$A" | wc -l | awk '{ printf "%04d", $1 }')-$(basename "$1")"
}
patches() { # apply|apply-next|revert
	if [ -d "$A" ]; then
		for f in $(ls -r "$A" 2>/dev/null); do
			patch -s -p1 -d "$S" -R <"$A/$f" >/dev/null
		done
		rm -rf "$A"
	fi
	if [ "$1" != revert ]; then
		for f in "$top"/kernel/patches/0*.patch; do
			case $f in *0000-*) continue ;; esac
			apply_one "$f"
		done
	fi
	if [ "$1" = apply-next ]; then
		for f in "$top"/kernel/next/0*.patch; do
			[ -f "$f" ] && apply_one "$f"
		done
	fi
	return 0
}
trap 'patches revert' EXIT

build() { # variant objdir fragments...
	v=$1 o=$2
	shift 2
	mkdir -p "$o"
	# the config again when a fragment changed (ccache keeps it cheap)
	if [ ! -f "$o/.config" ] || ! cat "$@" | cmp -s - "$o/.regbuf-fragments"; then
		make -s -C "$S" O="$o" defconfig >/dev/null
		"$S/scripts/kconfig/merge_config.sh" -m -O "$o" "$o/.config" "$@" >/dev/null
		make -s -C "$S" O="$o" olddefconfig
		cat "$@" >"$o/.regbuf-fragments"
	fi
	log "building $v (objects in $o)"
	start=$(date +%s)
	make -s -C "$S" O="$o" -j"$(nproc)" CC="ccache gcc" bzImage >"$o/build.log" 2>&1 ||
		{ tail -n 30 "$o/build.log" >&2; exit 1; }
	mkdir -p "$K/$v"
	cp "$o/arch/x86/boot/bzImage" "$K/$v/vmlinuz"
	echo "$v: built in $(($(date +%s) - start)) s" >&2
}

# The objects the series touches (those it changes, and their users).
series_objs() {
	for f in "$@"; do
		sed -n 's|^+++ b/\(.*\)\.c$|\1.o|p' "$f"
	done | grep -v '^tools/' | sort -u
}

# ARCH objdir [CROSS_COMPILE]: defconfig + io_uring, then the objects.
cross_objs() {
	a=$1 o=$2 cc=${3:-}
	mkdir -p "$o"
	if [ ! -f "$o/.config" ]; then
		make -s -C "$S" O="$o" ARCH="$a" CROSS_COMPILE="$cc" defconfig >/dev/null
		"$S/scripts/config" --file "$o/.config" -e IO_URING -e TRANSPARENT_HUGEPAGE \
			-e GUP_TEST -e DEBUG_FS
		make -s -C "$S" O="$o" ARCH="$a" CROSS_COMPILE="$cc" olddefconfig >/dev/null
	fi
	objs=$(series_objs "$top"/kernel/patches/*.patch)
	log "ARCH=$a: $(echo $objs)"
	make -s -C "$S" O="$o" ARCH="$a" CROSS_COMPILE="$cc" -j"$(nproc)" \
		CC="ccache ${cc}gcc" $objs >"$o/build.log" 2>&1 ||
		{ tail -n 30 "$o/build.log" >&2; echo "build.sh: ARCH=$a: the series does not build" >&2; exit 1; }
	echo "ARCH=$a: $(echo $objs | wc -w) objects built" >&2
}

for variant in "$@"; do
	case $variant in
	stock)
		patches revert
		build $V-stock "$o_stock" "$top/kernel/config.fragment"
		;;
	stock-debug)
		# the control for the debug runs: stock on the debug config
		patches revert
		build $V-stock-debug "$o_sdebug" "$top/kernel/config.fragment" \
			"$top/kernel/debug.fragment"
		;;
	next)
		patches apply-next
		build $V+next "$o_regbuf" "$top/kernel/config.fragment"
		patches revert
		;;
	next-debug)
		patches apply-next
		build $V+next-debug "$o_debug" "$top/kernel/config.fragment" \
			"$top/kernel/debug.fragment"
		patches revert
		;;
	regbuf | debug)
		patches apply
		if [ $variant = regbuf ]; then
			build $V+regbuf "$o_regbuf" "$top/kernel/config.fragment"
		else
			build $V+regbuf-debug "$o_debug" "$top/kernel/config.fragment" \
				"$top/kernel/debug.fragment"
		fi
		patches revert
		;;
	cross)
		# each patch on its own, in order, on the x86_64 config
		patches revert
		n=0
		for f in "$top"/kernel/patches/0*.patch; do
			case $f in *0000-*) continue ;; esac
			apply_one "$f"
			n=$((n + 1))
			o=$o_regbuf
			[ -f "$o/.config" ] || build $V+regbuf "$o" "$top/kernel/config.fragment"
			objs=$(series_objs "$f")
			log "after patch $n ($(basename "$f")): $(echo $objs)"
			make -s -C "$S" O="$o" -j"$(nproc)" CC="ccache gcc" $objs >"$o/build.log" 2>&1 ||
				{ tail -n 30 "$o/build.log" >&2; echo "build.sh: patch $n does not build on its own" >&2; exit 1; }
		done
		cross_objs um "${o_cross}um"
		cross_objs i386 "${o_cross}i386"
		# Debian's cross compiler, where apt can install it
		command -v aarch64-linux-gnu-gcc >/dev/null || [ "$(id -u)" -ne 0 ] ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc-aarch64-linux-gnu >/dev/null 2>&1 || true
		if command -v aarch64-linux-gnu-gcc >/dev/null; then
			cross_objs arm64 "${o_cross}arm64" aarch64-linux-gnu-
		else
			echo "build.sh: no aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu): arm64 not built" >&2
		fi
		patches revert
		;;
	headers)
		# the uapi headers of the patched tree, for user-space tests
		patches apply
		o=$o_regbuf
		[ -f "$o/.config" ] || build $V+regbuf "$o" "$top/kernel/config.fragment"
		make -s -C "$S" O="$o" headers >/dev/null
		patches revert
		;;
	selftests)
		# selftests OUTDIR LIBURING_SRC TEST...: the mm selftests of the
		# patched tree, static, linked with that liburing
		shift
		sout=$1 lu=$2
		shift 2
		patches apply
		tests=""
		for t in "$@"; do tests="$tests $sout/$t"; done
		make -s -C "$S/tools/testing/selftests/mm" OUTPUT="$sout" CC=gcc \
			KHDR_INCLUDES="-isystem $o_regbuf/usr/include" \
			EXTRA_CFLAGS="-static -I$lu/src/include -L$lu/src" $tests \
			>"$K/selftests-build.log" 2>&1 ||
			{ tail -n 30 "$K/selftests-build.log" >&2; exit 1; }
		rm -f "$S/tools/testing/selftests/mm/local_config.h" \
			"$S/tools/testing/selftests/mm/local_config.mk"
		patches revert
		exit 0
		;;
	lint)
		# checkpatch reads only the patches; kernel-doc compares each
		# touched file after the series with the file before it, so
		# that only warnings the series adds count (the files have
		# older ones of their own)
		patches revert
		rc=0
		for f in "$top"/kernel/patches/0*.patch; do
			case $f in *0000-*) continue ;; esac # the cover letter
			# on stdin: checkpatch takes a file git tracks for a
			# source file (-f), not for a patch
			out=$(perl "$S/scripts/checkpatch.pl" --strict --no-tree - <"$f" 2>&1) || rc=1
			echo "checkpatch $(basename "$f"): $(echo "$out" | sed -n 's/^total: //p')" >&2
			echo "$out" | grep -E -A3 '^(ERROR|WARNING|CHECK)' >&2 || true
		done
		files=$(sed -n 's|^+++ b/\(.*\.[ch]\)$|\1|p' "$top"/kernel/patches/*.patch |
			grep -v '^tools/' | sort -u)
		kdoc() { (cd "$S" && for c in $files; do [ -f "$c" ] && perl scripts/kernel-doc -Wall -none "$c" 2>&1; done) |
			sed -E 's/\.([ch]):[0-9]+/.\1/' | sort; }
		kdoc >"$K/kdoc-before.txt"
		patches apply
		kdoc >"$K/kdoc-after.txt"
		patches revert
		new=$(comm -13 "$K/kdoc-before.txt" "$K/kdoc-after.txt")
		echo "kernel-doc -Wall: $(wc -l <"$K/kdoc-before.txt") warnings before the series, $(echo "$new" | grep -c .) new" >&2
		[ -z "$new" ] || { echo "$new" >&2; rc=1; }
		[ $rc -eq 0 ] && echo "lint: checkpatch --strict clean, no new kernel-doc warning" >&2
		exit $rc
		;;
	*) echo "build.sh: stock, regbuf, debug, stock-debug, next, cross, lint, headers or selftests" >&2; exit 2 ;;
	esac
done
