#!/bin/sh
# The Debian packages as a user gets them (make check-deb; run by make
# check as root when dpkg-buildpackage is there):
#  1. lintian on the built packages: no error, no warning;
#  2. apt-get install ./libregbuf0 ./libregbuf-dev ./regbuf;
#  3. the README's first program, taken from README.md, built with the
#     README's own command (pkg-config only) and run on a real file;
#  4. `regbuf info --json` from the package;
#  5. apt-get purge: every file the packages installed is gone from /usr.
# Ends with one line "check-deb: ok" or the reason it stopped.
set -eu
D=${1:-build-deb}
D=$(cd "$D" && pwd)
top=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "check-deb: needs root (apt-get install), not run"; exit 77; }
pkgs="libregbuf0 libregbuf-dev regbuf"
debs=""
for p in $pkgs; do
	f=$(ls "$D"/${p}_*.deb)
	debs="$debs $f"
done
work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	# never leave the packages installed
	dpkg-query -W -f='${Status}' regbuf libregbuf-dev libregbuf0 2>/dev/null | grep -q installed &&
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $pkgs >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== lintian"
lintian --allow-root --fail-on error,warning $debs

echo "== apt-get install"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q $debs >"$work/install.log" 2>&1 ||
	{ tail -n 20 "$work/install.log"; exit 1; }
for p in $pkgs; do dpkg -L "$p"; done | sort -u >"$work/files"

echo "== the README's program, built with pkg-config only"
awk '/^## A first program/ { s = 1 } s && /^```c$/ { c = 1; next } c && /^```$/ { exit } c' \
	"$top/README.md" >"$work/hello.c"
build=$(awk '/^## A first program/ { s = 1 } s && /^cc hello.c/ { print; exit }' "$top/README.md")
[ -s "$work/hello.c" ] && [ -n "$build" ] || { echo "check-deb: no program in README.md"; exit 1; }
echo "   $build"
(cd "$work" && sh -c "$build")
# a file that takes O_DIRECT (tmpfs does not)
dd if=/dev/urandom of="$D/direct.bin" bs=1M count=1 status=none
"$work/hello" "$D/direct.bin" | tee "$work/out"
rm -f "$D/direct.bin"
grep -q "read 131072 bytes into fixed buffer" "$work/out"
# linked against the installed shared library
ldd "$work/hello" | grep -q "libregbuf.so.0 => /.*lib/.*libregbuf.so.0"

echo "== regbuf info --json from the package"
/usr/bin/regbuf info --json | tee "$work/info.json" | head -c 300
echo
grep -q '"io_uring"' "$work/info.json"

echo "== apt-get purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $pkgs >/dev/null
left=""
while read -r f; do
	case "$f" in /usr/*) [ -e "$f" ] && [ ! -d "$f" ] && left="$left $f" ;; esac
done <"$work/files"
[ -z "$left" ] || { echo "check-deb: left in /usr after purge:$left"; exit 1; }
echo "check-deb: ok ($(echo $debs | wc -w) packages built, lintian-clean, installed, used, purged)"
