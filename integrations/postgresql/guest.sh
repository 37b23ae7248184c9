#!/bin/sh
# PostgreSQL 18 with io_uring_fixed_buffers inside a guest kernel (run by
# the guest's init: tests/kernels/run.sh KERNEL postgresql, make
# check-postgresql-kernel). The server runs as uid 65534 with
# RLIMIT_MEMLOCK raised to 4 GiB, on the guest's ext4 disk, with
# io_method=io_uring and debug_io_direct=data:
#
#   a table read cold with the setting off, on, and on with
#   debug_io_uring_fixed_buffers_register_each; the answer must be the
#   same each time, and the server's LOG line says what happened: on 6.1
#   (no clone) that it could not register and why, from 6.12 that it
#   registered once and cloned (whole table on 6.12, by range from 6.13).
#
# One line per result, "REGBUF-PG ...", read back from the console.
B=$(cat /regbuf/pg-inst)/bin
W=/mnt/pg
D=$W/data
say() { echo "REGBUF-PG $*"; }
mkdir -p /dev/shm "$W"
mount -t tmpfs tmpfs /dev/shm
chown 65534:65534 "$W"
chmod 755 "$W"
ulimit -l 4194304
as_nobody() { su -s /bin/sh nobody -c "$*"; }
if ! as_nobody "$B/initdb -D $D -A trust --no-sync -E UTF8 --locale=C" >"$W/initdb.log" 2>&1; then
	say "initdb failed: $(tail -n 3 "$W/initdb.log" | tr '\n' ' ')"
	say "done"
	exit 0
fi
S="-c listen_addresses= -c unix_socket_directories=$W -c port=5432 -c io_method=io_uring -c debug_io_direct=data -c shared_buffers=32MB -c max_connections=20"
start() {
	: >"$W/server.log"
	chown 65534:65534 "$W/server.log"
	as_nobody "$B/pg_ctl -D $D -l $W/server.log -w -t 600 -o '$S $*' start" >/dev/null 2>&1
}
stop() { as_nobody "$B/pg_ctl -D $D -m fast -w -t 600 stop" >/dev/null 2>&1; }
sql() { # file
	as_nobody "$B/psql -X -A -t -q -h $W -p 5432 -d postgres -f $1"
}
echo "CREATE TABLE t AS SELECT g AS id, md5(g::text) || repeat('x', 120) AS v FROM generate_series(1, 100000) g;" >"$W/create.sql"
echo "SELECT count(*), sum(hashtext(v)) FROM t;" >"$W/q.sql"
chmod 644 "$W"/*.sql
if ! start -c io_uring_fixed_buffers=off; then
	say "the server did not start: $(grep -m1 FATAL "$W/server.log")"
	say "done"
	exit 0
fi
sql "$W/create.sql" >/dev/null
want=$(sql "$W/q.sql")
stop
say "table t: answer $want"
for setting in off on each; do
	case $setting in
	each) opt="-c io_uring_fixed_buffers=on -c debug_io_uring_fixed_buffers_register_each=on" ;;
	*) opt="-c io_uring_fixed_buffers=$setting" ;;
	esac
	if ! start $opt; then
		say "$setting: the server did not start: $(grep -m1 FATAL "$W/server.log")"
		continue
	fi
	got=$(sql "$W/q.sql")
	stop
	l=$(grep -A1 -E 'shared buffers for io_uring|registered shared buffers to io_uring|shared buffers in io_uring' "$W/server.log" |
		tail -n2 | sed 's/^.*\(LOG\|DETAIL\): *//' | tr '\n' ' ')
	say "$setting: answer $([ "$got" = "$want" ] && echo same || echo "DIFFERENT ($got)")${l:+; LOG: $l}"
done
say "done"
