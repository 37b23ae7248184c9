#!/bin/sh
# The suite as an ordinary user: uid 65534 (nobody) without capabilities,
# at this machine's own RLIMIT_MEMLOCK, in a copy of the tree and of build
# directory B that the user owns (the tests write scratch files under
# build/scratch, t_install installs into a staging tree, t_scratch reads
# git status):
#
#   tests/unpriv.sh [B]        (make check runs it as root after the root run)
#
# Ends with the runner's own "N passed, N failed, N skipped" line; exit
# status: the runner's. Not root: the suite simply runs as this user.
set -e
B=${1:-build}
uid=${REGBUF_UNPRIV_UID:-65534}
if [ "$(id -u)" -ne 0 ]; then
	echo "== the suite as uid $(id -u), RLIMIT_MEMLOCK $(ulimit -l) KiB (this user)"
	exec tests/run.sh "$B"
fi
command -v setpriv >/dev/null || { echo "unpriv: no setpriv (util-linux): not run" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/var/tmp}/regbuf-unpriv-XXXXXX")
trap 'rm -rf "$d"' EXIT
tar -c --exclude='./build' --exclude='./build-*' . | tar -x -C "$d"
cp -a "$B" "$d/build"
rm -rf "$d/build/scratch"
chown -R "$uid:$uid" "$d"
chmod 755 "$d"
echo "== the suite as uid $uid without capabilities, RLIMIT_MEMLOCK $(ulimit -l) KiB (unprivileged run, in a copy of the tree)"
cd "$d"
rc=0
setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all \
	--bounding-set=-all env -i PATH="$PATH" HOME="$d" LANG=C \
	${REGBUF_TEST_ONLY:+"REGBUF_TEST_ONLY=$REGBUF_TEST_ONLY"} \
	tests/run.sh build || rc=$?
exit $rc
