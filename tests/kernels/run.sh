#!/bin/sh
# Run the test suite on another kernel, under QEMU:
#
#   tests/kernels/run.sh [6.1]          (make check-kernel KERNEL=6.1)
#
# Fetches Debian's own kernel package for that release through apt
# (`apt-get download`, nothing else), builds the CLI, tests and examples
# statically, packs them with busybox-static and the kernel's own virtio,
# ext4 and loop modules into an initramfs, boots it with no network (KVM
# when it works, software emulation otherwise), runs tests/run.sh as root
# inside on an ext4 disk, and brings back over the serial console the
# runner's summary line, its exit code and `regbuf info --json`.
# Exit status: the suite's (77: the kernel could not be fetched, nothing
# was run). Everything lands in build-kernel/<version>/.
set -e
KERNEL=${1:-${KERNEL:-6.1}}
# suite: the test suite; bench: tests/kernels/guest-bench.sh (attach at
# 4 GiB on 2 MiB and 1 GiB pages, as root and as uid 65534), more memory;
# bench-register and bench-trace: registration cost, and where it goes;
# peers: liburing's regression suite and the kernel's mm selftests
# (tests/kernels/peers.sh builds them, peers-guest.sh runs them; the
# results in build-kernel/<version>/peers.txt, REGBUF_PEERS=liburing,mm
# picks suites).
MODE=${2:-suite}
# postgresql: integrations/postgresql/guest.sh, PostgreSQL 18 built by
# integrations/postgresql/build.sh (results in build-kernel/<version>/
# postgresql.txt).
# dio: tests/kernels/dio-guest.sh, block direct I/O from memory that is not
# registered (fio with verify on ext4, a raw virtio and a raw virtio-scsi
# disk; pins returned after bios trimmed to the 4 KiB blocks of a third,
# tests/kernels/dio-trim.c; CPU per read), results in
# build-kernel/<version>/dio.txt; REGBUF_TEST_ONLY=verify,trim,bench picks
# parts of it
case "$MODE" in suite | bench | bench-register | bench-trace | peers | postgresql | dio) ;; *) echo "run.sh: mode suite, bench, bench-register, bench-trace, peers, postgresql or dio" >&2; exit 2 ;; esac
if [ "$MODE" = postgresql ] && [ ! -x build-pg/inst/bin/postgres ]; then
	echo "run.sh: no PostgreSQL built (make postgresql): not run" >&2
	exit 77
fi
# Which Debian suite carries each series, and the image package's name.
case "$KERNEL" in
6.1) suite=bookworm-security ;;
6.12) suite=bookworm-security ;;
7.2) suite=sid ;;
7.3) suite=experimental ;;
# built here from Debian's linux-source-7.2 or -7.3 (kernel/build.sh):
# stock, with regbuf's patch series, and each on a debug config
7.[23]-stock) built=stock ;;
7.[23]+regbuf) built=regbuf ;;
7.[23]+regbuf-debug) built=debug ;;
7.[23]-stock-debug) built=stock-debug ;;
# the series and kernel/next/*.patch, the patches being written
7.[23]+next) built=next ;;
7.[23]+next-debug) built=next-debug ;;
*) echo "run.sh: no recipe for kernel $KERNEL (known: 6.1 6.12 7.2 7.3, and 7.2 or 7.3 with -stock +regbuf +regbuf-debug -stock-debug +next +next-debug)" >&2; exit 2 ;;
esac
TIMEOUT=${REGBUF_KERNEL_TIMEOUT:-2400} # seconds for the whole guest run
# REGBUF_KERNEL_APPEND: more kernel arguments (movablecore=1G, ...)
# REGBUF_NUMA=2: a guest of two NUMA nodes (4 and 3 GiB, one vCPU each,
# the 2 MiB hugepages split between them and a 1 GiB page on each), its
# results under build-kernel/<version>-numa2/
NUMA=${REGBUF_NUMA:-1}
case "$NUMA" in 1 | 2) ;; *) echo "run.sh: REGBUF_NUMA is 1 or 2" >&2; exit 2 ;; esac
W=build-kernel/$KERNEL
[ "$NUMA" = 1 ] || W=$W-numa$NUMA
mkdir -p "$W"
W=$(cd "$W" && pwd)
log() { echo "== $*" >&2; }

scripts/deps.sh kernel

# ---- the kernel package --------------------------------------------------
# Newest image of the series that apt offers (kernels/apt.sh: a private apt
# configuration; the machine's own sources are never touched). From 7.x the
# image package is a shell around linux-binary-* and linux-modules-*: every
# linux-* package it depends on at its exact version is unpacked too.
if [ -n "${built:-}" ]; then
	# every driver the guest needs is built in: no modules
	REGBUF_KERNEL_BASE=${KERNEL%%[-+]*} kernel/build.sh "$built"
	mkdir -p "$W/pkg/root/lib/modules/built-in"
elif [ ! -f "$W/vmlinuz" ]; then
	apt=tests/kernels/apt.sh
	"$apt" update || { echo "run.sh: apt cannot reach Debian's archive here: not run" >&2; exit 77; }
	series=$(echo "$KERNEL" | sed 's/\./\\./g')
	real=$("$apt" newest "^linux-image-$series([.+~-][^ ]*)?-amd64(-unsigned)?\$") || true
	[ -n "$real" ] || { echo "run.sh: apt offers no linux-image for $KERNEL: not run" >&2; exit 77; }
	log "fetching $real ($suite) through apt"
	rm -rf "$W/pkg" && mkdir -p "$W/pkg"
	# the package and, recursively, the linux-image/binary/modules ones it
	# depends on (a meta package names the real image; 7.x splits it)
	todo=$real
	while [ -n "$todo" ]; do
		set -- $todo
		p=$1
		shift
		todo="$*"
		(cd "$W/pkg" && "$OLDPWD/$apt" download "$p") >/dev/null ||
			{ echo "run.sh: apt cannot download $p: not run" >&2; exit 77; }
		todo="$todo $("$apt" depends "$p" | grep -E '^linux-(image|binary|modules)-' | tr '\n' ' ')"
		todo=$(echo $todo)
	done
	for d in "$W"/pkg/*.deb; do dpkg-deb -x "$d" "$W/pkg/root"; done
	# /boot/vmlinuz-*, or /usr/lib/modules/*/vmlinuz from 7.x
	cp "$(ls "$W"/pkg/root/boot/vmlinuz-* "$W"/pkg/root/usr/lib/modules/*/vmlinuz 2>/dev/null | head -n1)" "$W/vmlinuz"
	echo "$real" >"$W/package"
fi
# /lib/modules, or /usr/lib/modules in merged-/usr packages
mods=$(ls -d "$W"/pkg/root/lib/modules/* "$W"/pkg/root/usr/lib/modules/* 2>/dev/null | head -n1)
kver=$(basename "$mods")

# ---- static build ------------------------------------------------------------
log "static build of the CLI, tests and examples"
make -s B=build-static LDFLAGS=-static static-tree >&2

# ---- initramfs ---------------------------------------------------------------
log "initramfs"
R=$W/initramfs
rm -rf "$R"
mkdir -p "$R/bin" "$R/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/mnt" \
	"$R/modules" "$R/regbuf/build" "$R/regbuf/tests" "$R/regbuf/fuzz"
cp "$(command -v busybox)" "$R/bin/busybox"
for a in $(busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"
done
cp -r build-static/regbuf build-static/tests build-static/examples "$R/regbuf/build/"
rm -f "$R"/regbuf/build/tests/*.o
if [ "$MODE" = dio ]; then
	${CC:-cc} -static -O2 -Wall -Wextra -Werror -o build-static/dio-trim tests/kernels/dio-trim.c
	cp build-static/dio-trim "$R/regbuf/build/"
fi
cp tests/run.sh tests/kernels/guest-bench.sh tests/kernels/peers-guest.sh tests/kernels/dio-guest.sh "$R/regbuf/tests/"
if [ "$MODE" = peers ]; then
	# the mm selftests of the base's own tree (7.2's for 6.x kernels)
	pb=${KERNEL%%[-+]*}
	case $pb in 7.3) po=build-kernel/peers/out-7.3 ;; *) pb=7.2 po=build-kernel/peers/out ;; esac
	[ -x $po/mm/gup_test ] || REGBUF_KERNEL_BASE=$pb tests/kernels/peers.sh
	cp -r $po "$R/regbuf/peers"
fi
if [ "$MODE" = postgresql ]; then
	# the server, its libraries and regbuf's at the paths the binaries
	# name (rpath), and the guest script
	inst=$(cd build-pg/inst && pwd)
	mkdir -p "$R$inst"
	cp -a "$inst/bin" "$inst/lib" "$inst/share" "$R$inst/"
	echo "$inst" >"$R/regbuf/pg-inst"
	for l in $(ldd "$inst/bin/postgres" "$inst/bin/psql" "$inst/bin/initdb" "$inst/bin/pg_ctl" |
		awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }' | sort -u); do
		mkdir -p "$R$(dirname "$l")"
		[ -e "$R$l" ] || cp -L "$l" "$R$l"
	done
	cp integrations/postgresql/guest.sh "$R/regbuf/pg-guest.sh"
fi
# users for su (uid 65534 in guest-bench.sh)
mkdir -p "$R/etc"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
cp -r fuzz/corpus "$R/regbuf/fuzz/"
# Debian's fio with its shared libraries, for t_ps's fio case (a program
# that is not regbuf registering buffers)
if f=$(command -v fio); then
	mkdir -p "$R/usr/bin"
	cp "$f" "$R/usr/bin/fio"
	for l in $(ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }'); do
		mkdir -p "$R$(dirname "$l")"
		cp -L "$l" "$R$l"
	done
fi
[ -d fuzz/regressions ] && cp -r fuzz/regressions "$R/regbuf/fuzz/"

# The kernel's own modules, dependencies first.
modinfo_deps() {
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}
order=""
add_mod() {
	local f d
	case " $order " in *" $1 "*) return ;; esac
	# built into this kernel: nothing to load
	grep -qE "/$1\.ko\$" "$mods/modules.builtin" 2>/dev/null && return
	f=$(find "$mods" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n1)
	if [ -z "$f" ]; then
		# crc32c_generic went into the crc32c library in 6.14
		[ "$1" = crc32c_generic ] && return
		# 7.x packages ship no modules.builtin: a driver without a
		# module file is built in (the guest says so if it is not)
		if [ ! -f "$mods/modules.builtin" ]; then
			log "$1: no module file and no modules.builtin, taken as built in"
			return
		fi
		echo "run.sh: module $1 neither in the package nor built in" >&2
		exit 1
	fi
	# busybox insmod takes plain modules only
	case "$f" in
	*.xz) xz -dc "$f" >"$R/modules/$1.ko" ;;
	*.zst) zstd -qdc "$f" >"$R/modules/$1.ko" ;;
	*) cp "$f" "$R/modules/" ;;
	esac
	for d in $(modinfo_deps "$R/modules/$1.ko"); do add_mod "$d"; done
	order="$order $1"
}
[ -n "${built:-}" ] ||
	for m in virtio_pci virtio_blk crc32c_generic ext4 loop; do add_mod "$m"; done
echo "$order" >"$R/modules/order"

cat >"$R/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts # ptys: t_ps runs regbuf top in one
mount -t tmpfs tmpfs /tmp
for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "insmod $m failed"; done
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
sleep 1
mount -t ext4 /dev/vda /mnt || echo "REGBUF-NOTE: no ext4 disk"
cd /regbuf
echo "REGBUF-KERNEL $(uname -r)"
echo "REGBUF-INFO $(build/regbuf info --json)"
only=$(sed -n 's/.*regbuf.only=\([^ ]*\).*/\1/p' /proc/cmdline)
if grep -q regbuf.bench= /proc/cmdline; then
	sh tests/guest-bench.sh
elif grep -q regbuf.peers /proc/cmdline; then
	sh tests/peers-guest.sh
elif grep -q regbuf.pg /proc/cmdline; then
	sh /regbuf/pg-guest.sh
elif grep -q regbuf.dio /proc/cmdline; then
	sh tests/dio-guest.sh
else
	REGBUF_TEST_ONLY=$only REGBUF_TEST_DIR=/mnt REGBUF_VERBOSE=1 REGBUF_TEST_TIMEOUT=600 tests/run.sh build
	rc=$?
	echo "REGBUF-ROOT-EXIT $rc"
	# the same suite as uid 65534 without capabilities, RLIMIT_MEMLOCK
	# raised to 4 GiB: accounted rings on every kernel
	if ! grep -q regbuf.rootonly /proc/cmdline; then
		chmod 1777 /mnt
		ulimit -l 4194304
		echo "REGBUF-UNPRIV uid 65534, RLIMIT_MEMLOCK $(ulimit -l) KiB"
		su -s /bin/sh nobody -c "cd /regbuf && REGBUF_TEST_ONLY=$only REGBUF_TEST_DIR=/mnt REGBUF_VERBOSE=1 REGBUF_TEST_TIMEOUT=600 tests/run.sh build"
		urc=$?
		echo "REGBUF-UNPRIV-EXIT $urc"
		[ $rc -ne 0 ] || rc=$urc
	fi
	(exit $rc)
fi
echo "REGBUF-EXIT $?"
sync
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$W/initramfs.gz"

# ---- disk and boot -----------------------------------------------------------
accel="-accel tcg -cpu max"
# KVM only with the CPU's virtualization flag: a /dev/kvm without it (some
# nested setups) accepts the accelerator but never runs the guest.
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && echo quit | timeout 20 qemu-system-x86_64 -accel kvm \
	-machine none -display none -nodefaults -monitor stdio >/dev/null 2>&1; then
	accel="-accel kvm"
fi
mem=5G huge="hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=640" log=console
case "$MODE" in
bench) mem=12G huge="hugepagesz=1G hugepages=5 hugepagesz=2M hugepages=2200 regbuf.bench=attach" log=bench ;;
bench-register) mem=8G huge="hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=1100 regbuf.bench=register" log=bench-register ;;
bench-trace) mem=8G huge="hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=1100 regbuf.bench=trace regbuf.at=${REGBUF_TRACE_AT:-}" log=bench-trace ;;
postgresql) huge="$huge regbuf.pg" log=postgresql ;;
# two 1 GiB pages: fio maps its buffer rounded up to two of them
dio) mem=7G huge="hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=640 regbuf.dio" log=dio ;;
peers)
	huge="$huge regbuf.peers=${REGBUF_PEERS:-}" log=peers
	TIMEOUT=${REGBUF_KERNEL_TIMEOUT:-10800}
	;;
esac
# REGBUF_GUEST_HUGE: the boot-time hugepages instead (movablecore= runs:
# boot-time hugepages are taken from the top of memory, ZONE_MOVABLE's)
if [ -n "${REGBUF_GUEST_HUGE:-}" ]; then
	# the mode's own regbuf.* arguments stay
	huge="$REGBUF_GUEST_HUGE $(echo "$huge" | tr ' ' '\n' | grep '^regbuf\.' | tr '\n' ' ')"
fi
numa= smp=2
if [ "$NUMA" = 2 ]; then
	# node 0 gets 4 GiB: its first 3 GiB hold the kernel, the initramfs
	# and the PCI hole, and no aligned 1 GiB is free there at boot. One
	# socket per node, or the kernel warns that CPUs sharing a cache sit
	# on different nodes.
	mem=7G huge="hugepagesz=1G hugepages=0:1,1:1 hugepagesz=2M hugepages=640"
	numa="-object memory-backend-ram,id=m0,size=4G -object memory-backend-ram,id=m1,size=3G
		-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1"
	smp=2,sockets=2,cores=1,threads=1
fi
boot() {
	# a QEMU that does not start must not leave the last run's console
	rm -f "$W/disk.img" "$W/$log.log" "$W/raw-virtio.img" "$W/raw-scsi.img" "$W/raw-4k.img"
	truncate -s 3G "$W/disk.img"
	mkfs.ext4 -q -F "$W/disk.img"
	drives=
	if [ "$MODE" = dio ]; then
		truncate -s 1G "$W/raw-virtio.img" "$W/raw-scsi.img"
		# the disk of 4 KiB blocks in the last PCI slot: the
		# if=virtio disks keep their names (vda: ext4, vdb: raw)
		truncate -s 64M "$W/raw-4k.img"
		drives="-drive file=$W/raw-virtio.img,if=virtio,format=raw
			-device virtio-scsi-pci,id=scsi0
			-drive file=$W/raw-scsi.img,if=none,id=rs,format=raw
			-device scsi-hd,drive=rs,bus=scsi0.0
			-drive file=$W/raw-4k.img,if=none,id=r4,format=raw
			-device virtio-blk-pci,drive=r4,addr=0x1f,logical_block_size=4096,physical_block_size=4096"
	fi
	log "booting $kver ($accel), up to ${TIMEOUT}s"
	start=$(date +%s)
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 $accel -m $mem -smp $smp $numa \
		-kernel "$W/vmlinuz" -initrd "$W/initramfs.gz" \
		-append "regbuf.only=$(echo "${REGBUF_TEST_ONLY:-}" | tr ' ' ,) console=ttyS0 panic=-1 $huge transparent_hugepage=madvise ${REGBUF_KERNEL_APPEND:-}" \
		-drive file="$W/disk.img",if=virtio,format=raw $drives -nic none \
		-nographic -no-reboot -serial file:"$W/$log.log" -monitor none \
		>/dev/null 2>&1 || true
	secs=$(($(date +%s) - start))
}
boot
if [ "$MODE" = peers ]; then
	tr -d '\r\000' <"$W/$log.log" >"$W/$log-console.txt"
	grep -a -E '^REGBUF-(PEER|GUPBENCH|FREE)' "$W/$log-console.txt" >"$W/peers.txt" || true
	for s in liburing liburing-unpriv mm; do
		grep -q "^REGBUF-PEER $s " "$W/peers.txt" || continue
		echo "$s: $(awk -v s=$s '$1 == "REGBUF-PEER" && $2 == s { n[$4]++ } END { printf "%d pass, %d fail, %d skip, %d timeout", n["pass"], n["fail"], n["skip"], n["timeout"] }' "$W/peers.txt")"
	done
	echo "kernel $KERNEL under QEMU, ${secs}s: results in $W/peers.txt"
	reports=$(grep -a -E 'BUG:|WARNING:|KASAN|UBSAN|possible (recursive|circular) locking|general protection' "$W/$log-console.txt" | head -n 5)
	[ -z "$reports" ] || { echo "run.sh: the kernel reported:" >&2; echo "$reports" >&2; }
	grep -a -q '^REGBUF-PEERS-DONE' "$W/$log-console.txt"
	exit
fi
if [ "$MODE" = postgresql ]; then
	tr -d '\r\000' <"$W/$log.log" >"$W/$log-console.txt"
	sed -n 's/^REGBUF-PG //p' "$W/$log-console.txt" >"$W/$log.txt"
	echo "kernel $KERNEL under QEMU, ${secs}s:"
	cat "$W/$log.txt"
	reports=$(grep -a -E 'BUG:|WARNING:|KASAN|UBSAN|possible (recursive|circular) locking|general protection' "$W/$log-console.txt" | head -n 5)
	[ -z "$reports" ] || { echo "run.sh: the kernel reported:" >&2; echo "$reports" >&2; exit 1; }
	grep -q '^done' "$W/$log.txt" && ! grep -q -E 'DIFFERENT|did not start|failed' "$W/$log.txt"
	exit
fi
if [ "$MODE" = dio ]; then
	tr -d '\r\000' <"$W/$log.log" >"$W/$log-console.txt"
	grep -a -E '^REGBUF-DIO' "$W/$log-console.txt" >"$W/$log.txt" || true
	# each boot's CPU figures kept as dio-N.txt for dio-compare.sh
	if grep -q '^REGBUF-DIOBENCH' "$W/$log.txt"; then
		n=$(ls "$W"/dio-[0-9]*.txt 2>/dev/null | wc -l)
		cp "$W/$log.txt" "$W/dio-$((n + 1)).txt"
	fi
	echo "kernel $KERNEL under QEMU, ${secs}s: $(grep -c ' pass$' "$W/$log.txt") verified runs passed, $(grep -c ' fail$' "$W/$log.txt") failed; $(grep '^REGBUF-DIOPINS ' "$W/$log.txt")"
	reports=$(grep -a -E 'BUG:|WARNING:|KASAN|UBSAN|possible (recursive|circular) locking|general protection' "$W/$log-console.txt" | head -n 5)
	[ -z "$reports" ] || { echo "run.sh: the kernel reported:" >&2; echo "$reports" >&2; exit 1; }
	grep '^REGBUF-DIOTRIM' "$W/$log.txt" || true
	# every pin back: after fio, after each trimmed bio, and the
	# hugepages dio-trim used free again
	grep -q '^REGBUF-DIOFAILS 0$' "$W/$log.txt" &&
		! grep -q -E '^REGBUF-DIOPINS outstanding [^0]|^REGBUF-DIOTRIM .*(outstanding [^0]|data bad)' "$W/$log.txt" &&
		awk '$1 == "REGBUF-DIOTRIM" && $9 == "hugepages-free" && $10 != $11 { bad = 1 } END { exit bad }' "$W/$log.txt"
	exit
fi
if [ "$MODE" != suite ]; then
	tr -d '\r' <"$W/$log.log" >"$W/$log.txt"
	sed -n 's/^REGBUF-BENCH //p' "$W/$log.txt" >"$W/$log.jsonl"
	echo "kernel $KERNEL under QEMU, ${secs}s: $(wc -l <"$W/$log.jsonl") benchmark results in $W/$log.jsonl"
	cat "$W/$log.jsonl"
	[ -s "$W/$log.jsonl" ]
	exit
fi
tr -d '\r' <"$W/console.log" >"$W/console.txt"
# Under TCG a CPU sometimes still executes the int3 that the kernel's text
# patching (static keys, alternatives) put in and has already taken out:
# the trap finds no patch in progress and the guest dies of an int3 oops
# whose code bytes show the finished instruction. Seen on stock and patched
# kernels alike, in different functions, about one boot in 40: taken for
# an emulation fault. Such a boot is kept and the suite run once more; a
# second death fails.
if ! grep -q '^REGBUF-EXIT ' "$W/console.txt" && [ "$accel" != "-accel kvm" ] &&
	grep -q 'Oops: int3' "$W/console.txt"; then
	cp "$W/console.txt" "$W/console-int3.txt"
	echo "run.sh: the guest died of an int3 oops in kernel text ($(grep -m1 'RIP: 0010' "$W/console.txt" | sed 's/.*RIP: 0010://')), taken for an emulation fault; kept in $W/console-int3.txt, running the suite once more" >&2
	boot
	tr -d '\r' <"$W/console.log" >"$W/console.txt"
fi
grep -E '^(PASS|FAIL|SKIP) ' "$W/console.txt" >&2 || true
# and what each failing test said (its indented lines), so that a CI log
# tells why without the console
awk '/^FAIL / { f = 1; print; next } /^(PASS|SKIP) |^[0-9]+ passed/ { f = 0 }
	f && /^ / && n++ < 40 { print }' "$W/console.txt" | grep -v ' calls ' |
	sed 's/^/  failed: /' >&2 || true
# the root run's summary first, the unprivileged run's second
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$W/console.txt" | head -n1)
unpriv=$(sed -n '/^REGBUF-UNPRIV /,$p' "$W/console.txt" |
	grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' | tail -n1)
rc=$(sed -n 's/^REGBUF-EXIT \([0-9]*\).*/\1/p' "$W/console.txt" | tail -n1)
sed -n 's/^REGBUF-INFO //p' "$W/console.txt" | tail -n1 >"$W/info.json"
echo "kernel $(sed -n 's/^REGBUF-KERNEL //p' "$W/console.txt" | tail -n1) under QEMU, ${secs}s: root: ${summary:-no summary (see $W/console.txt)}${unpriv:+; uid 65534: $unpriv}"
[ -n "$rc" ] || { echo "run.sh: the guest did not finish (timeout or crash)" >&2; exit 1; }
# A kernel report anywhere in the console (KASAN, lockdep, DEBUG_VM,
# a WARN or a BUG) fails the run, whatever the tests said.
reports=$(grep -E 'BUG:|WARNING:|KASAN|UBSAN|possible (recursive|circular) locking|Oops|general protection|INFO: task .* blocked' "$W/console.txt" | grep -v 'Oops: int3' | head -n 5)
if [ -n "$reports" ]; then
	echo "run.sh: the kernel reported (see $W/console.txt):" >&2
	echo "$reports" >&2
	exit 1
fi
exit "$rc"
