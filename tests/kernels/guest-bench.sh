#!/bin/sh
# Inside a guest (tests/kernels/run.sh VERSION bench|bench-register):
# bench-register: regbuf bench register of 1 GiB on 2 MiB, 1 GiB, THP and
# 4 KiB pages, and of one 2 MiB page. bench: regbuf bench attach
# on a 4 GiB pool of 2 MiB and of 1 GiB pages, as root and as uid 65534
# (RLIMIT_MEMLOCK raised first: an unprivileged ring is accounted, which on
# 7.2 makes a clone take a reference per huge page). One line each:
#   REGBUF-BENCH {"who":...,"backing":...,<bench attach --json>}
cd /regbuf
run() { # who backing
	if [ "$1" = root ]; then
		out=$(build/regbuf bench attach --size 4G --rings 4 --repeat 3 --backing "$2" --json 2>&1)
	else
		out=$(ulimit -l unlimited && su -s /bin/sh nobody -c \
			"build/regbuf bench attach --size 4G --rings 4 --repeat 3 --backing $2 --json" 2>&1)
	fi
	case "$out" in
	"{"*) echo "REGBUF-BENCH {\"who\":\"$1\",${out#\{}" ;;
	*) echo "REGBUF-NOTE bench attach $1 $2: $out" ;;
	esac
}
# what to run: attach (default) or register (regbuf.bench=register)
what=$(sed -n 's/.*regbuf.bench=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ "$what" = register ]; then
	# 1 GiB pools on each backing, as root: the kernel's registration
	# cost; then one 2 MiB folio, the cost of the call itself
	for sb in 1G:2m 1G:1g 1G:thp 1G:4k 2M:2m; do
		out=$(build/regbuf bench register --size ${sb%:*} --backing ${sb#*:} --repeat 5 --json 2>&1)
		case "$out" in
		"{"*) echo "REGBUF-BENCH {\"who\":\"root\",${out#\{}" ;;
		*) echo "REGBUF-NOTE bench register $sb: $out" ;;
		esac
	done
	exit 0
fi
for b in 2m 1g; do
	run root $b
	run uid65534 $b
done
