#!/bin/sh
# PostgreSQL 18 with and without io_uring_fixed_buffers, side by side in
# one run (make bench-postgresql, as root, after build.sh). The server
# runs as uid 65534 with CAP_IPC_LOCK (1 GiB does not fit the default
# memlock):
#
#   start-up: shared_buffers 1GB and 4GB on 2 MiB hugepages (huge_pages=on,
#     reserved for the run when the machine has too few free and given
#     back after), max_connections 100 and 400, the setting off, on, and
#     on with debug_io_uring_fixed_buffers_register_each (registered again
#     in every ring, as without clone): the server's own registration
#     figures and the postmaster's VmPin;
#   reads: a sequential scan of a table 8 times shared_buffers (128 MB)
#     with debug_io_direct=data, the setting off and on alternated
#     (REGBUF_PG_ROUNDS, 5 each), no parallel workers: the scanning
#     backend's CPU time (its run time in ns from /proc/self/schedstat,
#     read in SQL) per 8 KiB block read.
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
H=/sys/kernel/mm/hugepages/hugepages-2048kB
nr0=$(cat $H/nr_hugepages)
trap 'echo "$nr0" >$H/nr_hugepages' EXIT
for sb in 1 4; do
	# shared buffers and the rest of the main shared memory segment
	need=$((sb * 512 + 100))
	free2m=$(cat $H/free_hugepages)
	[ "$free2m" -ge "$need" ] || echo $(($(cat $H/nr_hugepages) + need - free2m)) >$H/nr_hugepages
	free2m=$(cat $H/free_hugepages)
	if [ "$free2m" -lt "$need" ]; then
		res "start-up, shared_buffers=${sb}GB: $free2m free 2 MiB hugepages, $need needed: not run"
		continue
	fi
	# one start first, not counted: the first registration after the
	# pages were reserved also faults memory in below this machine
	start -c shared_buffers=${sb}GB -c huge_pages=on -c io_uring_fixed_buffers=on
	stop
	for mc in 100 400; do
		for setting in off on each; do
			: >"$R/server.log"
			case $setting in
			each) opt="-c io_uring_fixed_buffers=on -c debug_io_uring_fixed_buffers_register_each=on" ;;
			*) opt="-c io_uring_fixed_buffers=$setting" ;;
			esac
			t0=$(date +%s%N)
			start -c shared_buffers=${sb}GB -c huge_pages=on -c max_connections=$mc $opt
			t1=$(date +%s%N)
			pm=$(head -n1 "$D/postmaster.pid")
			pin=$(awk '/^VmPin:/ { print $2 }' /proc/$pm/status)
			rings=$(ls -l /proc/$pm/fd 2>/dev/null | grep -c 'anon_inode:\[io_uring\]')
			res "start-up, shared_buffers=${sb}GB on 2 MiB pages, max_connections=$mc, $setting: $rings rings, pg_ctl start $(((t1 - t0) / 1000000)) ms, postmaster VmPin $pin kB$([ $setting = off ] || echo "; $(detail)")"
			stop
		done
	done
done
echo "$nr0" >$H/nr_hugepages

# ---- reads ----------------------------------------------------------------------
start -c shared_buffers=128MB
psql_q "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 6) AS v FROM generate_series(1, 1700000) g" >/dev/null
# hint bits set and the table frozen now, so that no scan below writes
psql_q "VACUUM (FREEZE) big" >/dev/null
blocks=$(psql_q "SELECT pg_relation_size('big') / 8192")
stop
res "reads: table big, $blocks blocks of 8 KiB ($((blocks * 8 / 1024)) MiB), shared_buffers=128MB, debug_io_direct=data"
# the backend's run time in ns (/proc/self/schedstat), before and after
# the scan
# the scan, a sequential scan (count(*)) or pg_prewarm's read of every
# block into shared buffers (the read path without the tuples' work)
scan() { # query
	psql_q "SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
		$1;
		SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint" | tr '\n' ' '
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
start
psql_q "CREATE EXTENSION IF NOT EXISTS pg_prewarm" >/dev/null
stop
for what in seqscan prewarm; do
	case $what in
	seqscan) q="SELECT count(*) FROM big" ;;
	prewarm) q="SELECT pg_prewarm('big', 'buffer')" ;;
	esac
	for i in $(seq 1 "$rounds"); do
		for setting in off on; do
			start -c shared_buffers=128MB -c debug_io_direct=data -c max_parallel_workers_per_gather=0 -c io_uring_fixed_buffers=$setting
			set -- $(scan "$q")
			stop
			ns=$(awk -v a="$1" -v b="$3" -v n="$blocks" 'BEGIN { printf "%.0f", (b - a) / n }')
			eval "t_${setting}_$i=$ns"
			res "  $what, round $i, io_uring_fixed_buffers=$setting: returned $2, backend CPU $(((${3} - ${1}) / 1000000)) ms, $ns ns per block"
		done
	done
	off=$(for i in $(seq 1 "$rounds"); do eval echo "\$t_off_$i"; done | median)
	on=$(for i in $(seq 1 "$rounds"); do eval echo "\$t_on_$i"; done | median)
	res "reads, $what: median backend CPU per block, off $off ns, on $on ns: on/off $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", a / b }')"
done
