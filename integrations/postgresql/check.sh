#!/bin/sh
# PostgreSQL 18 reading into registered shared buffers, checked: run as
# root after build.sh (make check-postgresql). The server runs as uid
# 65534 (PostgreSQL refuses root), at this machine's RLIMIT_MEMLOCK and
# again with CAP_IPC_LOCK:
#
#   1. a table read cold with io_method=io_uring and O_DIRECT
#      (debug_io_direct=data), with io_uring_fixed_buffers off and on: the
#      same answer; with it on, the server's LOG line, `regbuf ps` on the
#      postmaster, and the opcodes the kernel saw (tracefs
#      io_uring:io_uring_submit_req, when it can be mounted): READ_FIXED /
#      READV_FIXED for reads into registered shared buffers;
#   2. the least RLIMIT_MEMLOCK the rings start with: one LOG line with
#      regbuf's reason, same answer;
#   3. the setting with io_method=worker: one LOG line that it does nothing;
#   4. max_connections=1000 (over 1000 rings, CAP_IPC_LOCK), off and on;
#   4b. io_uring blocked by a seccomp filter (deny.c): io_uring_register
#      refused (the rings work, nothing can be registered): one LOG line
#      with regbuf's reason, same answer; io_uring_setup refused (as
#      Docker's default profile does): with io_method=io_uring the server
#      does not start, off and on alike (PostgreSQL's own FATAL), with
#      io_method=worker it runs and says the setting does nothing;
#   5. PostgreSQL's own regression suite, its AIO tests (test_aio) and its
#      crash-restart test (recovery/013_crash_restart: shared memory made
#      again, registered again) with io_method=io_uring and
#      io_uring_fixed_buffers=on, as uid 65534 with CAP_IPC_LOCK.
#
# Results: build-pg/check.txt (REGBUF_PG_SUITES="" skips step 5).
set -e
PG_RUN=run
PG_PORT=54329
. "$(dirname "$0")/cluster.sh"
out=$P/check.txt
PG_SETTINGS="-c listen_addresses= -c unix_socket_directories=$R -c port=$PG_PORT -c io_method=io_uring -c debug_io_direct=data -c shared_buffers=128MB"
log() { echo "== $*" >&2; }
fails=0
bad() { res "FAIL: $*"; fails=$((fails + 1)); }
pg_init
# the table: 48 MiB of rows, and the answer every run must give
start -c io_uring_fixed_buffers=off
psql_q "CREATE TABLE t AS SELECT g AS id, md5(g::text) || repeat('x', 120) AS v FROM generate_series(1, 300000) g" >/dev/null
Q="SELECT count(*), sum(hashtext(v)) FROM t"
want=$(psql_q "$Q")
size=$(psql_q "SELECT pg_size_pretty(pg_relation_size('t'))")
stop
res "table t: $size, answer $want"

tracing=
T=/sys/kernel/tracing
[ -d "$T/events/io_uring" ] || mount -t tracefs nodev "$T" 2>/dev/null || true
[ -w "$T/events/io_uring/io_uring_submit_req/enable" ] && tracing=1
[ -n "$tracing" ] || res "opcodes: not counted (no tracefs here)"
ops() { # run the query cold with the trace on; print the opcodes postgres used
	echo 0 >"$T/tracing_on"; : >"$T/trace"
	echo 1 >"$T/events/io_uring/io_uring_submit_req/enable"
	echo 1 >"$T/tracing_on"
	psql_q "$Q" >"$R/got" # the answer, read by the caller
	echo 0 >"$T/tracing_on"
	echo 0 >"$T/events/io_uring/io_uring_submit_req/enable"
	grep -o 'postgres-.*opcode [A-Z_]*' "$T/trace" | sed 's/.*opcode //' | sort | uniq -c |
		awk '{ printf "%s%s %s", n++ ? ", " : "", $2, $1 } END { print "" }'
}
# the server's LOG line about it and its DETAIL, on one line
fixed_line() {
	grep -A1 -E 'shared buffers for io_uring|registered shared buffers to io_uring' "$R/server.log" |
		tail -n2 | sed 's/^.*\(LOG\|DETAIL\): *//' | tr '\n' ' '
}

# ---- 1. cold reads, off and on ------------------------------------------------
# at this machine's RLIMIT_MEMLOCK with 128 MB of shared buffers (more than
# it allows: nothing is registered, the LOG says why), with 4 MB (fits),
# and with CAP_IPC_LOCK and 128 MB
# (a machine whose limit covers 128 MB registers it at the limit too)
lim=$(as_user sh -c 'ulimit -l')
big=no
[ "$lim" = unlimited ] || [ "$lim" -ge 140000 ] && big=yes
for mode in limit:128MB:$big limit:4MB:yes ipc_lock:128MB:yes; do
	IFS=: read -r who sb expect <<EOM
$mode
EOM
	[ "$who" = ipc_lock ] && LOCK=1 || LOCK=0
	export LOCK
	for setting in off on; do
		: >"$R/server.log"
		start -c shared_buffers=$sb -c io_uring_fixed_buffers=$setting
		if [ -n "$tracing" ]; then o=$(ops); got=$(cat "$R/got"); else got=$(psql_q "$Q"); o="not counted"; fi
		[ "$got" = "$want" ] || bad "$mode $setting: answer $got, expected $want"
		res "shared_buffers=$sb, $(as_user sh -c 'ulimit -l') KiB memlock$([ $LOCK = 1 ] && echo ', CAP_IPC_LOCK'), io_uring_fixed_buffers=$setting: answer $([ "$got" = "$want" ] && echo same || echo DIFFERENT); opcodes: $o"
		if [ $setting = on ]; then
			l=$(fixed_line)
			res "  LOG: $l"
			case "$expect:$l" in
			yes:registered*" MB of shared buffers for io_uring"*) ;;
			no:"could not register shared buffers for io_uring"*) ;;
			*) bad "$mode: expected registered=$expect, the server said: $l" ;;
			esac
			pm=$(head -n1 "$D/postmaster.pid")
			as_user "$top/build/regbuf" ps --pid "$pm" >"$R/ps-$who-$sb.txt" 2>&1 || true
			res "  regbuf ps --pid $pm: $(grep -c '^    ring fd' "$R/ps-$who-$sb.txt") rings holding buffers; $(grep -m1 '^total:' "$R/ps-$who-$sb.txt")"
			grep '^advice:' "$R/ps-$who-$sb.txt" | head -n 3 | sed 's/^/  /' | tee -a "$out"
			if [ -n "$tracing" ]; then
				case "$expect:$o" in
				yes:*FIXED*) ;;
				yes:*) bad "$mode: no fixed read reached the kernel" ;;
				no:*FIXED*) bad "$mode: fixed reads although nothing was registered" ;;
				esac
			fi
		else
			case "$o" in *FIXED*) bad "$mode off: fixed reads without the setting" ;; esac
		fi
		stop
	done
done
LOCK=0

# ---- 2. memlock just enough for the rings: one LOG line, reads as before ----
# From 6.13 the rings' own memory is charged to RLIMIT_MEMLOCK too, so the
# server needs some to start at all with io_method=io_uring: find the
# least (256 KiB steps, the setting off), then start there with it on.
L=$(as_user sh -c 'ulimit -l')
case $L in unlimited | *[!0-9]*) L=8192 ;; esac
[ "$L" -le 65536 ] || L=65536
last=
while [ "$L" -gt 0 ]; do
	as_user sh -c "ulimit -l $L && exec pg_ctl -D '$D' -l '$R/server.log' -w -t 60 -o '$PG_SETTINGS -c io_uring_fixed_buffers=off' start" >/dev/null 2>&1 || break
	stop
	last=$L
	L=$((L - 256))
done
if [ -n "$last" ]; then
	: >"$R/server.log"
	as_user sh -c "ulimit -l $last && exec pg_ctl -D '$D' -l '$R/server.log' -w -t 60 -o '$PG_SETTINGS -c io_uring_fixed_buffers=on' start" >/dev/null
	got=$(psql_q "$Q")
	l=$(fixed_line)
	stop
	[ "$got" = "$want" ] || bad "memlock $last KiB: answer $got"
	case "$l" in "could not register shared buffers for io_uring"*) ;; *) bad "memlock $last KiB: no LOG line saying why: $l" ;; esac
	res "RLIMIT_MEMLOCK $last KiB (the least the rings start with, $((L < 0 ? 0 : L)) KiB fails): answer $([ "$got" = "$want" ] && echo same || echo DIFFERENT); LOG: $l"
else
	bad "the server does not start with io_uring at this machine's RLIMIT_MEMLOCK"
fi

# ---- 3. the setting without io_method=io_uring: said, and nothing else -----
# worker_case WHAT: the server just started with io_method=worker and the
# setting on reads as before and logs that the setting does nothing
worker_case() {
	got=$(psql_q "$Q")
	stop
	l=$(grep -m1 'io_uring_fixed_buffers' "$R/server.log" | sed 's/^.*LOG: *//')
	[ "$got" = "$want" ] || bad "$1: answer $got"
	case "$l" in *"has no effect unless"*) ;; *) bad "$1: no LOG line that the setting does nothing: $l" ;; esac
	res "$1, io_uring_fixed_buffers=on: answer $([ "$got" = "$want" ] && echo same || echo DIFFERENT); LOG: $l"
}
: >"$R/server.log"
as_user pg_ctl -D "$D" -l "$R/server.log" -w -t 120 -o "$PG_SETTINGS -c io_method=worker -c io_uring_fixed_buffers=on" start >/dev/null
worker_case "io_method=worker"

# ---- 4. max_connections=1000 ----------------------------------------------------
# over 1000 rings: their own memory alone passes 8 MiB of RLIMIT_MEMLOCK
# from 6.13, so this runs with CAP_IPC_LOCK
LOCK=1
for setting in off on; do
	: >"$R/server.log"
	start -c max_connections=1000 -c io_uring_fixed_buffers=$setting
	got=$(psql_q "$Q")
	stop
	[ "$got" = "$want" ] || bad "max_connections=1000 $setting: answer $got"
	res "max_connections=1000 (CAP_IPC_LOCK), io_uring_fixed_buffers=$setting: answer $([ "$got" = "$want" ] && echo same || echo DIFFERENT)$([ $setting = on ] && echo "; LOG: $(fixed_line)")"
done
LOCK=0

# ---- 4b. io_uring blocked by seccomp ------------------------------------------
cc -O2 -o "$P/deny" "$top/integrations/postgresql/deny.c"
denied() { # system call, more -c settings: start under the filter
	as_user "$P/deny" "$1" pg_ctl -D "$D" -l "$R/server.log" -w -t 60 -o "$PG_SETTINGS $2" start >/dev/null 2>&1
}
for setting in off on; do
	: >"$R/server.log"
	if denied io_uring_register "-c io_uring_fixed_buffers=$setting"; then
		got=$(psql_q "$Q")
		l=$(fixed_line)
		stop
		[ "$got" = "$want" ] || bad "io_uring_register refused, $setting: answer $got"
		case "$setting:$l" in
		off:) ;;
		on:"could not register shared buffers for io_uring"*io_uring_register*) ;;
		*) bad "io_uring_register refused, $setting: the server said: $l" ;;
		esac
		res "seccomp refusing io_uring_register, io_uring_fixed_buffers=$setting: answer $([ "$got" = "$want" ] && echo same || echo DIFFERENT)$([ $setting = on ] && echo "; LOG: $l")"
	else
		bad "io_uring_register refused, $setting: the server did not start: $(grep -m1 FATAL "$R/server.log")"
	fi
done
for setting in off on; do
	: >"$R/server.log"
	if denied io_uring_setup "-c io_uring_fixed_buffers=$setting"; then
		stop
		bad "io_uring_setup refused, $setting: the server started with io_method=io_uring"
	else
		f=$(grep -m1 FATAL "$R/server.log" | sed 's/^.*FATAL: *//')
		case "$f" in *"io_uring"*) ;; *) bad "io_uring_setup refused, $setting: $f" ;; esac
		res "seccomp refusing io_uring_setup, io_method=io_uring, io_uring_fixed_buffers=$setting: does not start (FATAL: $f)"
	fi
done
: >"$R/server.log"
if denied io_uring_setup "-c io_method=worker -c io_uring_fixed_buffers=on"; then
	worker_case "seccomp refusing io_uring_setup, io_method=worker"
else
	bad "io_uring_setup refused, io_method=worker: the server did not start"
fi

# ---- 5. PostgreSQL's own suites ------------------------------------------------
suites=${REGBUF_PG_SUITES-regress test_aio recovery/013_crash_restart}
if [ -n "$suites" ]; then
	printf 'io_method = io_uring\nio_uring_fixed_buffers = on\ndebug_io_direct = data\n' >"$R/temp.conf"
	chmod 644 "$R/temp.conf"
	chown -R "$uid:$uid" "$P/obj"
	# pg_regress takes the settings as --temp-config, the TAP suites
	# from TEMP_CONFIG. One test at a time: servers running side by side
	# share the user's RLIMIT_MEMLOCK, and the later ones register
	# nothing (they log it and run as before; here each should register)
	rc=0
	mt() { as_user env TEMP_CONFIG="$R/temp.conf" meson test -C "$P/obj" --no-rebuild -q --num-processes 1 "$@" >>"$R/suites.log" 2>&1 || rc=$?; }
	: >"$R/suites.log"
	# with CAP_IPC_LOCK: each test server registers all of its shared
	# buffers (at 8 MiB of memlock 128 MB would not fit)
	LOCK=1
	log "meson test: setup, $suites (as uid $uid with CAP_IPC_LOCK, io_method=io_uring, io_uring_fixed_buffers=on, debug_io_direct=data)"
	# a server stopped a moment ago may still hold its pins: wait (up to
	# 30 s) until no process of the user has any
	settle() {
		i=0
		while [ $i -lt 30 ] && [ -n "$(for f in /proc/[0-9]*/status; do awk -v u="$uid" '/^Uid:/ { uu = $2 } /^VmPin:/ { if (uu == u && $2 > 0) print FILENAME }' "$f" 2>/dev/null; done)" ]; do
			sleep 1
			i=$((i + 1))
		done
	}
	mt --suite setup
	for s in $suites; do
		settle
		case $s in
		regress | isolation) mt --suite "$s" --test-args="--temp-config=$R/temp.conf" ;;
		*/*) mt "$s" ;; # one test by name
		*) mt --suite "$s" ;;
		esac
		# what the suite's own output counts (pg_regress and TAP alike)
		tl=$P/obj/meson-logs/testlog.txt
		res "  $s: $(grep -c '^ok ' "$tl") ok, $(grep -c '^not ok ' "$tl") not ok$(grep -m1 '^# All [0-9]* tests passed' "$tl" | sed 's/^# /; pg_regress: /')"
	done
	res "meson test setup $suites: $(grep -E '^(Ok|Fail|Skipped|Timeout):' "$R/suites.log" | awk '{ n[$1] += $2 } END { printf "Ok %d, Fail %d, Skipped %d, Timeout %d", n["Ok:"], n["Fail:"], n["Skipped:"], n["Timeout:"] }') (meson's count of test programs)"
	[ $rc -eq 0 ] || bad "PostgreSQL's suites (exit $rc): see build-pg/obj/meson-logs/testlog.txt"
	# did the test servers register? (their logs under testrun/)
	LOCK=0
	# every start of a test server with the setting on: registered, or
	# the reason; a crash restart registers again
	for s in $suites; do
		n=$(cat "$P"/obj/testrun/$s/*/log/*.log "$P"/obj/testrun/$s/log/*.log 2>/dev/null | grep -c 'MB of shared buffers for io_uring fixed-buffer reads' || true)
		f=$(cat "$P"/obj/testrun/$s/*/log/*.log "$P"/obj/testrun/$s/log/*.log 2>/dev/null | grep -c 'could not register shared buffers\|could not give registered shared buffers' || true)
		res "  $s: shared buffers registered at $n server start(s), refused at $f"
		[ "$n" -gt 0 ] && [ "$f" -eq 0 ] || bad "$s: registered at $n starts, refused at $f"
		case $s in */013_crash_restart) [ "$n" -ge 2 ] || bad "$s: the restarts did not register again ($n)" ;; esac
	done
fi
res "$fails failed"
[ $fails -eq 0 ]
