#!/bin/sh
# PostgreSQL 18 with and without io_uring_fixed_buffers, side by side in
# one run (make bench-postgresql, as root, after build.sh). The server
# runs as uid 65534 with CAP_IPC_LOCK (1 GiB does not fit the default
# memlock):
#
#   start-up: shared_buffers=1GB on 2 MiB hugepages (huge_pages=on),
#     max_connections 100 and 400, the setting off and on: the server's
#     own registration figures and the postmaster's VmPin;
#   reads: a sequential scan of a table 8 times shared_buffers (128 MB)
#     with debug_io_direct=data, the setting off and on alternated
#     (REGBUF_PG_ROUNDS, 5 each), no parallel workers: the scanning
#     backend's CPU time (from
#     its /proc/self/stat, read in SQL) per 8 KiB block read.
#
# Results: build-pg/bench.txt. Timings on a shared machine: compare the
# ratios of one run.
set -e
PG_RUN=bench
PG_PORT=54330
rounds=${REGBUF_PG_ROUNDS:-5}
. "$(dirname "$0")/cluster.sh"
out=$P/bench.txt
PG_SETTINGS="-c listen_addresses= -c unix_socket_directories=$R -c port=$PG_PORT -c io_method=io_uring"
LOCK=1
pg_init
detail() { grep -A1 'shared buffers for io_uring' "$R/server.log" | tail -n1 | sed 's/^.*DETAIL: *//'; }

# ---- start-up -----------------------------------------------------------------
free2m=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
if [ "$free2m" -ge 540 ]; then
	for mc in 100 400; do
		for setting in off on; do
			: >"$R/server.log"
			start -c shared_buffers=1GB -c huge_pages=on -c max_connections=$mc -c io_uring_fixed_buffers=$setting
			pm=$(head -n1 "$D/postmaster.pid")
			pin=$(awk '/^VmPin:/ { print $2 }' /proc/$pm/status)
			rings=$(ls -l /proc/$pm/fd 2>/dev/null | grep -c 'anon_inode:\[io_uring\]')
			res "start-up, shared_buffers=1GB on 2 MiB pages, max_connections=$mc, io_uring_fixed_buffers=$setting: $rings rings, postmaster VmPin $pin kB$([ $setting = on ] && echo "; $(detail)")"
			stop
		done
	done
else
	res "start-up: $free2m free 2 MiB hugepages, 540 needed for shared_buffers=1GB: not run"
fi

# ---- reads ----------------------------------------------------------------------
start -c shared_buffers=128MB
psql_q "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 6) AS v FROM generate_series(1, 1700000) g" >/dev/null
# hint bits set and the table frozen now, so that no scan below writes
psql_q "VACUUM (FREEZE) big" >/dev/null
blocks=$(psql_q "SELECT pg_relation_size('big') / 8192")
stop
res "reads: table big, $blocks blocks of 8 KiB ($((blocks * 8 / 1024)) MiB), shared_buffers=128MB, debug_io_direct=data"
# the backend's utime+stime in clock ticks, before and after the scan
scan() {
	psql_q "SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 14)::bigint + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::bigint;
		SELECT count(*) FROM big;
		SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 14)::bigint + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::bigint" | tr '\n' ' '
}
hz=$(getconf CLK_TCK)
for i in $(seq 1 "$rounds"); do
	for setting in off on; do
		start -c shared_buffers=128MB -c debug_io_direct=data -c max_parallel_workers_per_gather=0 -c io_uring_fixed_buffers=$setting
		set -- $(scan)
		stop
		ns=$(awk -v a="$1" -v b="$3" -v hz="$hz" -v n="$blocks" 'BEGIN { printf "%.0f", (b - a) * 1e9 / hz / n }')
		eval "t_${setting}_$i=$ns"
		res "  round $i, io_uring_fixed_buffers=$setting: $2 rows, backend CPU $((${3} - ${1})) ticks, $ns ns per block"
	done
done
off=$(for i in $(seq 1 "$rounds"); do eval echo "\$t_off_$i"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
on=$(for i in $(seq 1 "$rounds"); do eval echo "\$t_on_$i"; done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
res "reads: median backend CPU per block, off $off ns, on $on ns: on/off $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", a / b }')"
