#!/bin/sh
# In the guest (tests/kernels/run.sh KERNEL dio): block direct I/O from
# user memory that is not registered, the path kernel/next's folio-range
# patch changes. Run as root from the initramfs, with /mnt the ext4 disk
# (virtio), /dev/vdb a raw virtio disk and /dev/sda a raw virtio-scsi one.
#
# 1. Correctness: Debian's fio writes with verify=crc32c and reads back
#    (verify_fatal) through each target, from each kind of memory, with
#    each engine that does not register buffers: pread/pwrite (psync),
#    preadv2/pwritev2 with RWF_NOWAIT (pvsync2), io_uring READ/WRITE
#    without fixed buffers, libaio; once with I/O sizes from 512 bytes to
#    1 MiB at any 512-byte offset from buffers 512 bytes past a page start
#    (iovecs crossing folio boundaries), once with 8 MiB I/Os. Each line:
#    REGBUF-DIOV target memory engine shape pass|fail.
# 2. Every pin returned: /proc/vmstat's nr_foll_pin_acquired equals
#    nr_foll_pin_released once fio has exited, and every hugepage is free
#    again (REGBUF-DIOPINS).
# 3. Every pin returned when a bio is trimmed back to the logical block
#    size: tests/kernels/dio-trim.c on the raw disk of 4 KiB blocks
#    (REGBUF-DIOTRIM).
# 4. CPU per O_DIRECT read, plain and fixed, by memory and size (regbuf
#    bench io: REGBUF-DIOBENCH target backing bs JSON).
set -u
# regbuf.only=verify,trim,bench (REGBUF_TEST_ONLY on the host): the parts
# to run, all by default
only=$(sed -n 's/.*regbuf.only=\([^ ]*\).*/\1/p' /proc/cmdline)
part() { [ -z "$only" ] || case ",$only," in *,$1,*) ;; *) return 1 ;; esac; }
H2=/dev/hugepages H1=/dev/hugepages1G
mkdir -p $H2 $H1
mount -t hugetlbfs -o pagesize=2M none $H2
mount -t hugetlbfs -o pagesize=1G none $H1 2>/dev/null || H1=
T=/sys/kernel/mm/transparent_hugepage
free_huge() { cat /sys/kernel/mm/hugepages/*/free_hugepages | tr '\n' ' '; }
huge0=$(free_huge)
pins() { awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 } END { print a - r }' /proc/vmstat; }
pins0=$(pins)

# memory kind: the fio options for it, THP set for it
mem_setup() {
	echo never >$T/enabled
	echo never >$T/shmem_enabled 2>/dev/null
	for d in $T/hugepages-*kB; do echo never >$d/enabled 2>/dev/null; done
	case $1 in
	4k) memopt="--mem=malloc" ;;
	thp) echo always >$T/enabled; memopt="--mem=mmap" ;;
	mthp)
		# 64 KiB folios, no PMD ones
		echo always >$T/hugepages-64kB/enabled 2>/dev/null || return 1
		memopt="--mem=mmap"
		;;
	shmem) echo always >$T/shmem_enabled; memopt="--mem=mmapshared" ;;
	huge2m) memopt="--mem=mmaphuge:$H2/fio --hugepage-size=2m" ;;
	huge1g) [ -n "$H1" ] || return 1; memopt="--mem=mmaphuge:$H1/fio --hugepage-size=1g" ;;
	esac
	return 0
}

echo "REGBUF-DIO $(uname -r) fio $(fio --version)"
fails=0
for target in ext4 vdb sda; do
	part verify || break
	case $target in
	ext4) dev=/mnt/dio.file ;;
	*) dev=/dev/$target ;;
	esac
	[ $target = ext4 ] || [ -b $dev ] || { echo "REGBUF-DIOV $target - - - absent"; continue; }
	# the ext4 disk must be what /mnt is (on the initramfs, the file
	# would test tmpfs instead)
	if [ $target = ext4 ] && ! grep -q '^/dev/vda /mnt ext4 ' /proc/mounts; then
		echo "REGBUF-DIOERR /mnt is not the ext4 disk"
		fails=$((fails + 1))
		continue
	fi
	# fio maps its buffer rounded up to whole pages and more: the 1 GiB
	# memory takes both of the guest's 1 GiB pages (run.sh reserves two)
	for mem in 4k thp mthp shmem huge2m huge1g; do
		mem_setup $mem || { echo "REGBUF-DIOV $target $mem - - not-here"; continue; }
		for eng in psync pvsync2 io_uring libaio; do
			extra=
			case $eng in
			pvsync2) extra="--nowait=1" ;;
			io_uring | libaio) extra="--iodepth=8" ;;
			esac
			for shape in small big; do
				if [ $shape = small ]; then
					sh="--bsrange=512-1m --blockalign=512 --iomem_align=512 --size=16m"
				else
					sh="--bs=8m --size=64m"
				fi
				rm -f $H2/fio $H1/fio 2>/dev/null
				# RWF_NOWAIT may be refused with EAGAIN: fio retries
				# it then; anything else fails the run
				if fio --name=v --filename=$dev --direct=1 --rw=randwrite \
					--ioengine=$eng $extra $memopt $sh --verify=crc32c \
					--do_verify=1 --verify_fatal=1 --randrepeat=0 \
					--output=/tmp/fio.out >/dev/null 2>&1 &&
					! grep -q "err= *[1-9]" /tmp/fio.out; then
					r=pass
				elif [ $eng = pvsync2 ] && grep -q "err=11 " /tmp/fio.out; then
					# RWF_NOWAIT refused with EAGAIN (a bio that
					# would be split): what the flag means, not
					# corruption; compared between kernels
					r=eagain
				else
					r=fail fails=$((fails + 1))
					sed 's/^/REGBUF-DIOERR /' /tmp/fio.out | head -n 20
				fi
				echo "REGBUF-DIOV $target $mem $eng $shape $r"
			done
		done
	done
done
rm -f /mnt/dio.file $H2/fio $H1/fio 2>/dev/null
sync
sleep 1
part verify && echo "REGBUF-DIOPINS outstanding $(($(pins) - pins0)) hugepages-free-before $huge0 after $(free_huge)"

# a bio trimmed to the 4 KiB blocks of the disk that has them
if part trim; then
	d4=
	for q in /sys/block/vd*/queue/logical_block_size; do
		[ "$(cat $q)" = 4096 ] && d4=/dev/$(basename "$(dirname "$(dirname $q)")")
	done
	if [ -z "$d4" ]; then
		echo "REGBUF-DIOTRIM absent: no disk of 4096-byte blocks"
	else
		build/dio-trim $d4 || { fails=$((fails + 1)); echo "REGBUF-DIOERR dio-trim exit $?"; }
	fi
fi

# CPU per read: regbuf bench io, READ (plain) and READ_FIXED from one
# pool's memory of each kind, every size, from a loop device on tmpfs
# (no emulated device in the path: the guest's own CPU) and from the raw
# virtio disk; its reads are checked against the pattern it wrote. One
# run each: pairs of kernels booted alternately give the medians.
mem_setup 4k
echo madvise >$T/enabled # the thp pools ask for it
for target in auto /dev/vdb; do
	part bench || break
	for b in 2m thp 1g 4k; do
		for bs in 128k 1m 8m; do
			fill=
			[ $target = auto ] || fill=--fill
			out=$(build/regbuf bench io --target $target $fill --backing $b --bs $bs \
				--qd 4 --seconds 2 --repeat 1 --json 2>&1) ||
				{ echo "REGBUF-DIOERR bench io $target $b $bs: $out"; continue; }
			echo "REGBUF-DIOBENCH $target $b $bs $out"
		done
	done
done
rm -f $H2/fio $H1/fio 2>/dev/null
echo "REGBUF-DIOPINS-END outstanding $(($(pins) - pins0)) hugepages-free $(free_huge)"
echo "REGBUF-DIOFAILS $fails"
[ $fails -eq 0 ]
