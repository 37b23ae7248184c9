#!/bin/sh
# regbuf's `bench io` modes beside fio on the same target, block size and
# queue depth: fio plain, fio --fixedbufs (4 KiB-page memory) and fio
# --fixedbufs --iomem=mmaphuge (hugetlbfs memory). CPU per I/O for fio is
# computed as for regbuf: (user + system CPU time) / I/Os, from fio's JSON.
#
#   bench/vs-fio.sh [--bs B] [--qd Q] [--seconds S] [--json] [BUILD_DIR]
set -e
bs=128k qd=32 secs=2 json=0 B=build
while [ $# -gt 0 ]; do
	case "$1" in
	--bs) bs=$2; shift ;;
	--qd) qd=$2; shift ;;
	--seconds) secs=$2; shift ;;
	--json) json=1 ;;
	-h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "vs-fio.sh: unknown option $1" >&2; exit 2 ;;
	*) B=$1 ;;
	esac
	shift
done
for tool in fio jq; do
	command -v $tool >/dev/null || { echo "vs-fio.sh: needs $tool (make deps DEPS=bench)" >&2; exit 1; }
done
[ -x "$B/regbuf" ] || { echo "vs-fio.sh: build first ($B/regbuf)" >&2; exit 1; }

work=$(mktemp -d)
loop="" mnt=""
cleanup() {
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$work" "$backing"
}
trap cleanup EXIT INT TERM

# The target: a loop device over a file in tmpfs when root (per-I/O cost
# shows), else a file on the local file system.
size=512M
if [ "$(id -u)" -eq 0 ] && [ -w /dev/shm ]; then
	backing=$(mktemp /dev/shm/regbuf-fio-XXXXXX)
	truncate -s $size "$backing"
	loop=$(losetup -f --show "$backing")
	target=$loop
	where="loop device on tmpfs"
else
	backing=$(mktemp "$B/regbuf-fio-XXXXXX") # under the build directory: never in the tree
	truncate -s $size "$backing"
	target=$backing
	where="file in $B"
fi

# regbuf first; --fill writes the pattern its modes verify.
"$B/regbuf" bench io --target "$target" --fill --bs "$bs" --qd "$qd" \
	--seconds "$secs" --repeat 3 --json >"$work/regbuf.json"

# fio: same target, size, block size, depth; one job, random reads.
run_fio() { # name, extra args...
	name=$1
	shift
	fio --name="$name" --filename="$target" --ioengine=io_uring --direct=1 \
		--rw=randread --bs="$bs" --iodepth="$qd" --size=$size \
		--time_based --runtime="$secs" --numjobs=1 --thread \
		--output-format=json "$@" >"$work/$name.json" 2>"$work/$name.err" ||
		{ echo "  fio $name failed: $(tail -n1 "$work/$name.err")" >&2; return 1; }
}
run_fio fio_plain
run_fio fio_fixedbufs --fixedbufs
huge=0
if [ "$(id -u)" -eq 0 ] && [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" -ge 64 ]; then
	mnt="$work/huge"
	mkdir -p "$mnt"
	if mount -t hugetlbfs none "$mnt" 2>/dev/null &&
		run_fio fio_fixedbufs_huge --fixedbufs --iomem="mmaphuge:$mnt/fio"; then
		huge=1
	fi
fi

fio_cpu() { # file -> cpu ns per I/O, IOPS, MiB/s
	jq -r '.jobs[0] | [((.usr_cpu + .sys_cpu) / 100 * .job_runtime * 1e6 / .read.total_ios),
		.read.iops, (.read.bw_bytes / 1048576)] | @tsv' "$1"
}

modes="pool_fixed fixed_4k plain_huge plain_4k"
fios="fio_plain fio_fixedbufs"
[ $huge -eq 1 ] && fios="$fios fio_fixedbufs_huge"
if [ $json -eq 1 ]; then
	printf '{"bench":"vs_fio","bs":"%s","qd":%s,"seconds":%s,"target":"%s","regbuf":%s,"fio":{' \
		"$bs" "$qd" "$secs" "$where" "$(cat "$work/regbuf.json")"
	sep=""
	for f in $fios; do
		set -- $(fio_cpu "$work/$f.json")
		printf '%s"%s":{"cpu_ns_per_io":%.0f,"iops":%.0f,"mib_s":%.1f}' "$sep" "$f" "$1" "$2" "$3"
		sep=","
	done
	echo "}}"
	exit 0
fi
echo "O_DIRECT random reads, bs $bs, qd $qd, $where, ${secs}s per run"
printf '  %-22s %12s %10s %10s\n' "mode" "CPU ns/IO" "IOPS" "MiB/s"
for m in $modes; do
	jq -r --arg m "$m" '.modes[$m] | [.cpu_ns_per_io, .iops, .mib_s] | @tsv' "$work/regbuf.json" |
		{ read -r c i b; printf '  %-22s %12.0f %10.0f %10.1f\n' "regbuf $m" "$c" "$i" "$b"; }
done
for f in $fios; do
	set -- $(fio_cpu "$work/$f.json")
	printf '  %-22s %12.0f %10.0f %10.1f\n' "$f" "$1" "$2" "$3"
done
[ $huge -eq 1 ] || echo "  (fio with hugepage memory not run: needs root and 64 free 2 MiB pages)"
echo "  regbuf data: $(jq -r 'if .verified then "verified (sampled)" else "MISMATCH" end' "$work/regbuf.json")"
