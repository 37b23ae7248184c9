#!/bin/sh
# Make sure the Debian packages a make target needs are present: install
# them when root, otherwise print the exact apt-get line and go on.
set -e
what=${1:-build}
pkgs="build-essential pkg-config liburing-dev clang"
case "$what" in
bench) pkgs="$pkgs fio gnuplot-nox jq" ;;
fuzz) pkgs="$pkgs libclang-rt-14-dev" ;;
deb) pkgs="$pkgs debhelper dpkg-dev lintian" ;;
kernel) pkgs="$pkgs qemu-system-x86 busybox-static cpio e2fsprogs xz-utils zstd fio" ;;
# liburing's and the mm selftests for the guests (tests/kernels/peers.sh)
peers) pkgs="$pkgs qemu-system-x86 busybox-static cpio e2fsprogs libnuma-dev libcap-dev" ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	# not root: say what root would install, and go on (a build that
	# needs them fails on its own, naming the missing header or tool)
	echo "deps: not root, not installed:$missing" >&2
	echo "deps: as root: apt-get install -y$missing" >&2
	exit 0
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q $missing >/dev/null 2>&1 ||
	{ apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
