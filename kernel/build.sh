#!/bin/sh
# Build Debian's linux-source-7.2 stock and with regbuf's patch series, from
# the same source tree and the same config, for the QEMU guests:
#
#   kernel/build.sh [stock|regbuf|debug]...      (make kernel KERNEL=7.2)
#
#   stock   build-kernel/7.2-stock/vmlinuz
#   regbuf  build-kernel/7.2+regbuf/vmlinuz         (kernel/patches/*.patch)
#   debug   build-kernel/7.2+regbuf-debug/vmlinuz   (+ KASAN, lockdep, DEBUG_VM)
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
S=$K/src/linux-source-7.2
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
	(cd "$K/src" && "$top/tests/kernels/apt.sh" download linux-source-7.2 >/dev/null) ||
		{ echo "build.sh: linux-source-7.2 cannot be fetched: not built" >&2; exit 77; }
	log "unpacking linux-source-7.2"
	(cd "$K/src" && dpkg-deb --fsys-tarfile linux-source-7.2_*.deb | tar -x --wildcards '*.tar.xz' &&
		tar -xJf usr/src/linux-source-7.2.tar.xz && rm -rf usr)
fi

# The tree is pristine except while a patched variant builds (a run that
# was killed half-way is recognised by the header the series adds).
applied() { [ -f "$S/include/linux/folio_range.h" ]; }
patches() { # apply|revert
	if [ "$1" = apply ] && ! applied; then
		for f in "$top"/kernel/patches/*.patch; do
			patch -s -p1 -d "$S" <"$f" >/dev/null
		done
	elif [ "$1" = revert ] && applied; then
		for f in $(ls -r "$top"/kernel/patches/*.patch); do
			patch -s -p1 -d "$S" -R <"$f" >/dev/null
		done
	fi
	return 0
}
trap 'patches revert' EXIT

build() { # variant objdir fragments...
	v=$1 o=$2
	shift 2
	mkdir -p "$o"
	if [ ! -f "$o/.config" ]; then
		make -s -C "$S" O="$o" defconfig >/dev/null
		"$S/scripts/kconfig/merge_config.sh" -m -O "$o" "$o/.config" "$@" >/dev/null
		make -s -C "$S" O="$o" olddefconfig
	fi
	log "building $v (objects in $o)"
	start=$(date +%s)
	make -s -C "$S" O="$o" -j"$(nproc)" CC="ccache gcc" bzImage >"$o/build.log" 2>&1 ||
		{ tail -n 30 "$o/build.log" >&2; exit 1; }
	mkdir -p "$K/$v"
	cp "$o/arch/x86/boot/bzImage" "$K/$v/vmlinuz"
	echo "$v: built in $(($(date +%s) - start)) s" >&2
}

for variant in "$@"; do
	case $variant in
	stock)
		patches revert
		build 7.2-stock "$K/src/obj-7.2" "$top/kernel/config.fragment"
		;;
	regbuf | debug)
		patches apply
		if [ $variant = regbuf ]; then
			build 7.2+regbuf "$K/src/obj-7.2-regbuf" "$top/kernel/config.fragment"
		else
			build 7.2+regbuf-debug "$K/src/obj-7.2-debug" "$top/kernel/config.fragment" \
				"$top/kernel/debug.fragment"
		fi
		patches revert
		;;
	*) echo "build.sh: stock, regbuf or debug" >&2; exit 2 ;;
	esac
done
