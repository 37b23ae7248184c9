# A PostgreSQL cluster of build-pg's server, created and run as uid 65534
# (PostgreSQL refuses root): sourced by check.sh and bench.sh, which set
#   PG_RUN       its directory under build-pg/ (made anew)
#   PG_PORT      its port (a Unix socket in that directory only)
#   PG_SETTINGS  -c options of every start
#   out          the results file
# LOCK=1 runs the user's commands with CAP_IPC_LOCK.
top=$(cd "$(dirname "$0")/../.." && pwd)
P=$top/build-pg
uid=${REGBUF_UNPRIV_UID:-65534}
R=$P/$PG_RUN
B=$P/inst/bin
D=$R/data
[ "$(id -u)" -eq 0 ] || { echo "$(basename "$0"): run as root: it runs the server as uid $uid" >&2; exit 1; }
[ -f "$P/obj/build.ninja" ] || { echo "$(basename "$0"): build first (integrations/postgresql/build.sh)" >&2; exit 1; }

res() { echo "$*" | tee -a "$out"; }
as_user() {
	if [ "${LOCK:-0}" = 1 ]; then caps="--inh-caps=-all,+ipc_lock --ambient-caps=+ipc_lock"; else caps="--inh-caps=-all"; fi
	setpriv --reuid="$uid" --regid="$uid" --clear-groups $caps \
		env HOME="$R" PGHOST="$R" PGPORT="$PG_PORT" PATH="$B:/usr/local/bin:/usr/bin:/bin" "$@"
}
# the server installed, a fresh directory and cluster owned by the user
pg_init() {
	meson install -C "$P/obj" --quiet >/dev/null
	rm -rf "$R"
	mkdir -p "$R"
	chown "$uid:$uid" "$R"
	: >"$out"
	ulimit -n "$(ulimit -Hn)"
	as_user initdb -D "$D" -A trust --no-sync -E UTF8 --locale=C >"$R/initdb.log" 2>&1 ||
		{ tail "$R/initdb.log" >&2; exit 1; }
	as_user touch "$R/server.log" # the server writes it
}
start() { # more -c settings
	as_user pg_ctl -D "$D" -l "$R/server.log" -w -t 300 -o "$PG_SETTINGS $*" start >/dev/null
}
stop() { as_user pg_ctl -D "$D" -m fast -w stop >/dev/null; }
psql_q() { as_user psql -X -A -t -q -d postgres -c "$1"; }
