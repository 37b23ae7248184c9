#!/bin/sh
# apt for Debian's kernel packages, with a private configuration under
# build-kernel/apt/ (its own sources list, lists and cache): the machine's
# apt sources are never read or changed.
#
#   tests/kernels/apt.sh update               fetch the package lists
#   tests/kernels/apt.sh newest REGEX         newest package whose name matches
#   tests/kernels/apt.sh depends PKG          its dependencies, one a line
#   tests/kernels/apt.sh download PKG...      .debs into the current directory
#   tests/kernels/apt.sh source PKG           a source package, unpacked here
#   tests/kernels/apt.sh source-pkg PKG       alias of download (linux-source-*)
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
D=$top/build-kernel/apt
# the Debian mirror this machine's own apt sources name (one-line and
# deb822 forms), or REGBUF_DEBIAN_MIRROR
machine_mirror() {
	{
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's|^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^ ]*\)/debian/\{0,1\}[[:space:]].*|\2|p'
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			sed -n 's|^URIs:[[:space:]]*\([^ ]*\)/debian/\{0,1\}$|\1|p'
	} | head -n1
}
mirror=${REGBUF_DEBIAN_MIRROR:-$(machine_mirror)}
[ -n "$mirror" ] || { echo "apt.sh: no Debian mirror in this machine's apt sources: set REGBUF_DEBIAN_MIRROR" >&2; exit 77; }
key=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$D/etc/sources.list.d" "$D/etc/preferences.d" "$D/lists/partial" \
	"$D/cache/archives/partial"
cat >"$D/etc/sources.list" <<EOS
deb [signed-by=$key] $mirror/debian bookworm main
deb [signed-by=$key] $mirror/debian-security bookworm-security main
deb [signed-by=$key] $mirror/debian sid main
deb [signed-by=$key] $mirror/debian experimental main
deb-src [signed-by=$key] $mirror/debian sid main
deb-src [signed-by=$key] $mirror/debian experimental main
EOS
: >"$D/status"
opts="-o Dir::Etc=$D/etc -o Dir::Etc::sourcelist=$D/etc/sources.list
 -o Dir::Etc::sourceparts=$D/etc/sources.list.d
 -o Dir::Etc::preferencesparts=$D/etc/preferences.d
 -o Dir::State::Lists=$D/lists -o Dir::Cache=$D/cache
 -o Dir::State::status=$D/status -o Debug::NoLocking=1
 -o APT::Architecture=amd64 -o APT::Architectures=amd64
 -o APT::Sandbox::User=root"
cmd=$1
shift
case "$cmd" in
update)
	# once a day is enough
	if [ -z "$(find "$D/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ] ||
		[ -z "$(find "$D/lists" -maxdepth 1 -name '*Sources*' 2>/dev/null | head -n1)" ]; then
		apt-get $opts -q update >"$D/update.log" 2>&1 ||
			{ tail -n 3 "$D/update.log" >&2; exit 1; }
	fi
	;;
newest)
	# name and version of every match, the highest version first
	for p in $(apt-cache $opts pkgnames | grep -E "$1" | grep -vE -- '-(dbg|cloud|rt)'); do
		v=$(apt-cache $opts show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
		[ -n "$v" ] && echo "$v $p"
	done | sort -V -r -k1,1 | head -n1 | cut -d' ' -f2
	;;
depends)
	apt-cache $opts show --no-all-versions "$1" | sed -n 's/^Depends: //p' |
		tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//' | grep .
	;;
download | source-pkg)
	apt-get $opts -q download "$@"
	;;
source)
	# a source package (.dsc, tarballs), unpacked into the current
	# directory: PKG or PKG=VERSION
	apt-get $opts -q source "$@"
	;;
showsrc)
	apt-cache $opts showsrc "$@"
	;;
*)
	echo "apt.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
