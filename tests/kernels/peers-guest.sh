#!/bin/sh
# Inside the guest (tests/kernels/run.sh KERNEL peers): the tests that
# others wrote, one line per test on the console:
#
#   REGBUF-PEER <suite> <name> <pass|fail|skip|timeout> <seconds> [exit]
#
# suites: liburing (every test of liburing's regression suite, as root),
# liburing-unpriv (its fixed-buffer, registration, clone, hugepage and
# buffer-ring tests again as uid 65534 with RLIMIT_MEMLOCK raised, so that
# accounting runs), mm (the kernel's mm selftests, gup_test's matrix as
# run_vmtests.sh runs it). 0 is a pass, 77 (KSFT_SKIP, T_EXIT_SKIP) a skip.
# busybox sh: no bash.
P=/regbuf/peers
T=${REGBUF_PEER_TIMEOUT:-180}
now() { cut -d' ' -f1 /proc/uptime; }

# one test: suite name cmd... (run in the current directory)
peer() {
	suite=$1 name=$2
	shift 2
	start=$(now)
	timeout -s KILL "$T" "$@" >/tmp/peer.log 2>&1 </dev/null
	rc=$?
	secs=$(awk "BEGIN { printf \"%.1f\", $(now) - $start }")
	case $rc in
	0) st=pass ;;
	77 | 4) st=skip ;; # 4: KSFT_SKIP
	137) st=timeout ;;
	*) st=fail ;;
	esac
	# kselftests that report in TAP: a "not ok" (other than a skip) fails
	# the test whatever its exit code (gup_test exits 0 after a failed
	# ioctl)
	if [ $st = pass ] && grep -a -E '^(not ok|Bail out!)' /tmp/peer.log | grep -a -v -q '# SKIP'; then
		st=fail
	fi
	# kselftests: their own count of cases (many skip parts inside)
	tot=$(grep -a '^# Totals:' /tmp/peer.log | tail -n 1 | sed 's/^# Totals: //; s/ /,/g')
	echo "REGBUF-PEER $suite $name $st $secs $rc${tot:+ $tot}"
	# what a failing test said, for the record
	[ $st = fail ] || [ $st = timeout ] && tail -n 15 /tmp/peer.log | sed "s/^/REGBUF-PEERLOG $suite $name: /"
	# and why a test skipped, or which of its cases did
	[ $st = fail ] || [ $st = timeout ] ||
		grep -a -i -m 3 -E 'skip|not supported|unavailable' /tmp/peer.log | sed "s/^/REGBUF-PEERLOG $suite $name: /"
	return 0
}

# regbuf.peers=a,b: those suites only; empty: every suite but gupbench
only=$(sed -n 's/.*regbuf.peers=\([^ ]*\).*/\1/p' /proc/cmdline)
want() {
	if [ -z "$only" ]; then [ "$1" != gupbench ]; else echo ",$only," | grep -q ",$1,"; fi
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null
folios=no
grep -q ' pin_user_folios_fast$' /proc/kallsyms && folios=yes
echo "REGBUF-PEERS pin_user_folios_fast in this kernel: $folios"
echo 1 >/proc/sys/vm/overcommit_memory 2>/dev/null

# ---- liburing, as root, in a scratch directory on the ext4 disk -----------
if want liburing; then
	mkdir -p /mnt/lu && cd /mnt/lu || exit 1
	echo "REGBUF-PEERS liburing $(cat $P/liburing/VERSION) $(ls $P/liburing/*.t | wc -l) tests"
	for t in $P/liburing/*.t; do
		peer liburing "$(basename "$t" .t)" "$t"
		rm -rf /mnt/lu/* 2>/dev/null
	done
fi

# ---- liburing again unprivileged: the tests where accounting matters --------
if want liburing-unpriv; then
	mkdir -p /mnt/lu-u && chmod 1777 /mnt /mnt/lu-u
	ulimit -l 4194304
	echo "REGBUF-PEERS liburing-unpriv uid 65534, RLIMIT_MEMLOCK $(ulimit -l) KiB"
	for t in $P/liburing/*.t; do
		n=$(basename "$t" .t)
		case $n in
		*fixed* | *buf* | *register* | *rsrc* | *clone* | *huge* | *coalesce* | *files-exit* | *ringbuf* | *mlock* | *account*) ;;
		*) continue ;;
		esac
		cd /mnt/lu-u
		peer liburing-unpriv "$n" su -s /bin/sh nobody -c "cd /mnt/lu-u && exec $t"
	done
fi

# ---- the kernel's mm selftests --------------------------------------------
if want mm; then
	cd $P/mm || exit 1
	echo "REGBUF-PEERS mm $(ls | grep -v '\.sh$' | wc -l) programs"
	# gup_test as run_vmtests.sh runs it: -u/-a/-R single and whole,
	# then the matrix (THP on/off, hugetlb) of every command
	# -R is gup_test's pin_user_folios_fast() mode, which comes with the
	# series: on a kernel without the interface it is not run
	gup() { # name args...
		case " $* " in
		*" -R "*) [ $folios = yes ] || { echo "REGBUF-PEER mm $1 n/a 0 -"; return; } ;;
		esac
		n=$1
		shift
		peer mm "$n" ./gup_test "$@"
	}
	# -R -g: three free ranges a call; -R -Z: nothing faulted in, the
	# slow path pins (both as run_vmtests.sh of the series runs them)
	for a in "-u -n 1" "-u -n -1" "-a -n 1" "-a -n -1" "-R -n 1" "-R -n -1" \
		"-R -t -n 123" "-R -g -n -1" "-R -g -t -n 123" "-R -w -Z -n -1" \
		"-R -w -Z -g -t -n 123" "-ct -F 0x1 0 19 0x1000"; do
		gup "gup_test$(echo " $a" | tr -d ' ')" $a
	done
	for huge in -t -T "-H -m 256"; do
		for c in -u -U -a -b -L -R; do
			for w in -w -W; do
				for s in -S ""; do
					for n in "-n 1" "-n 512" "-n 123" "-n -1"; do
						gup "gup_test$(echo "$huge$c$w$s$n" | tr -d ' ')" \
							$huge $c $w $s $n
					done
				done
			done
		done
	done
	for t in gup_longterm cow migration guard-regions memfd_secret \
		hugetlb-mmap hugetlb-shm hugetlb-mremap hugetlb-madvise \
		hugetlb_dio hugetlb_fault_after_madv hugetlb_madv_vs_map \
		madv_populate map_populate mremap_test pagemap_ioctl \
		split_huge_page_test mkdirty rmap; do
		[ -x ./$t ] || { echo "REGBUF-PEER mm $t missing 0 -"; continue; }
		cd /mnt && peer mm $t $P/mm/$t
		cd $P/mm
	done
	echo "REGBUF-FREE-HUGE $(cat /proc/sys/vm/nr_hugepages) $(grep HugePages_Free /proc/meminfo | awk '{print $2}')"
fi
# ---- gup_test as a benchmark: pin_user_pages_fast() (and, where the
# kernel has it, pin_user_folios_fast()) on 4 KiB, THP and hugetlb memory.
# One line per case: the medians of the get and put times (us) over the
# repeats, each repeat pinning the whole 512 MiB in calls of n pages.
if want gupbench; then
	cd $P/mm || exit 1
	r=${REGBUF_GUPBENCH_REPEATS:-15}
	for mem in 4k:-T thp:-t hugetlb:-H; do
		for c in -a -R; do
			[ $c = -a ] || [ $folios = yes ] || continue
			for n in 512 -1; do
				./gup_test ${mem#*:} $c -n $n -m 512 -r $r >/tmp/gb.log 2>&1 || continue
				grep -a -q '^not ok' /tmp/gb.log && { echo "REGBUF-GUPBENCH-FAIL ${mem%%:*} $c $n"; continue; }
				get=$(sed -n 's/.*get:\([0-9]*\) put.*/\1/p' /tmp/gb.log | sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
				put=$(sed -n 's/.*put:\([0-9]*\) us.*/\1/p' /tmp/gb.log | sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
				echo "REGBUF-GUPBENCH ${mem%%:*} $c $n get=$get put=$put repeats=$r"
			done
		done
	done
fi
echo "REGBUF-PEERS-DONE"
