#!/bin/sh
# Fetch Debian's postgresql-18 source package, apply regbuf's patches and
# build the server with io_uring and regbuf:
#
#   integrations/postgresql/build.sh       (make postgresql)
#
# The source comes through apt with a private configuration
# (tests/kernels/apt.sh: the machine's sources are never read or changed;
# 77 when it cannot be fetched), the newest postgresql-18 that it offers.
# Its tree is a git repository whose first commit is the source as
# unpacked; each build resets it there and applies the patches with
# `git am`, so files the patches do not touch keep their times and the
# meson/ninja object directory (build-pg/obj) rebuilds only what changed.
# libregbuf is installed into build-pg/regbuf (static and shared; the
# server finds it by rpath). liburing is Debian's liburing-dev.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
P=$top/build-pg
log() { echo "== $*" >&2; }

for p in meson ninja-build pkg-config liburing-dev bison flex ccache libipc-run-perl; do
	dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "ok installed" ||
		missing="${missing:-} $p"
done
if [ -n "${missing:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "build.sh: as root: apt-get install -y$missing" >&2; exit 1; }
	log "installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null; }
fi

# ---- the source ---------------------------------------------------------
mkdir -p "$P/src"
S=$(ls -d "$P"/src/postgresql-18-*/ 2>/dev/null | head -n1)
if [ -z "$S" ] || [ ! -d "$S/.git" ]; then
	"$top/tests/kernels/apt.sh" update || { echo "build.sh: apt cannot reach Debian's archive: not built" >&2; exit 77; }
	log "fetching postgresql-18's source package"
	(cd "$P/src" && "$top/tests/kernels/apt.sh" source postgresql-18 >"$P/source.log" 2>&1) ||
		{ tail -n 3 "$P/source.log" >&2; echo "build.sh: postgresql-18 cannot be fetched: not built" >&2; exit 77; }
	S=$(ls -d "$P"/src/postgresql-18-*/ | head -n1)
	(cd "$S" && git init -q && git add -A >/dev/null &&
		git -c user.name=regbuf -c user.email=regbuf@invalid commit -q \
			-m "$(basename "$S") as Debian's source package unpacks it" &&
		git tag unpacked)
fi
S=${S%/}
log "patching $(basename "$S") ($(ls "$top"/integrations/postgresql/*.patch | wc -l) patches)"
(cd "$S" && git am --abort >/dev/null 2>&1 || true
	cd "$S" && git reset -q --hard unpacked &&
	git -c user.name=regbuf -c user.email=regbuf@invalid am -q --committer-date-is-author-date \
		"$top"/integrations/postgresql/*.patch)

# ---- libregbuf ----------------------------------------------------------
log "installing libregbuf into build-pg/regbuf"
make -C "$top" -s B="$P/regbuf-build" PREFIX="$P/regbuf" install >/dev/null

# ---- the server ---------------------------------------------------------
export CCACHE_DIR=${REGBUF_CCACHE_DIR:-${HOME:-/root}/.cache/regbuf/ccache}
export CCACHE_BASEDIR=$P
export PKG_CONFIG_PATH=$P/regbuf/lib/pkgconfig
# the system's tools only: the build directory records the python it was
# configured with, and the suites run it as uid 65534 (check.sh)
export PATH=/usr/local/bin:/usr/bin:/bin
if [ ! -f "$P/obj/build.ninja" ]; then
	log "configuring (meson)"
	CC="ccache gcc" meson setup "$P/obj" "$S" --prefix="$P/inst" \
		-Dauto_features=disabled -Dliburing=enabled -Dregbuf=enabled \
		-Dtap_tests=enabled -Dc_link_args="-Wl,-rpath,$P/regbuf/lib" \
		>"$P/setup.log" 2>&1 || { tail -n 20 "$P/setup.log" >&2; exit 1; }
fi
log "building (ninja, $(nproc) jobs)"
ninja -C "$P/obj" >"$P/build.log" 2>&1 || { grep -E "error|FAILED" "$P/build.log" | head -n 20 >&2; exit 1; }
log "built $(cd "$S" && git describe --tags --always) with $(ls "$top"/integrations/postgresql/*.patch | wc -l) patches: $P/obj"
