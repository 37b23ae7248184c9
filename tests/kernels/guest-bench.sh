#!/bin/sh
# Inside a guest (tests/kernels/run.sh VERSION bench|bench-register):
# bench-register: regbuf bench register of 1 GiB on 2 MiB, 1 GiB, THP and
# 4 KiB pages, and of one 2 MiB page. bench-trace: kprobe events of the
# registration path during bench register. bench: regbuf bench attach
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
# bench register of SIZE on BACKING, as root, one line
register() { # size backing repeat
	out=$(build/regbuf bench register --size "$1" --backing "$2" --repeat "$3" --json 2>&1)
	case "$out" in
	"{"*) echo "REGBUF-BENCH {\"who\":\"root\",${out#\{}" ;;
	*) echo "REGBUF-NOTE bench register $1 $2: $out" ;;
	esac
}
# what to run: attach (default), register (regbuf.bench=register) or
# trace (regbuf.bench=trace)
what=$(sed -n 's/.*regbuf.bench=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ "$what" = trace ]; then
	# Where a registration's time goes: kprobe entry and return events of
	# the registration path, during bench register of one 1 GiB page and
	# of one 2 MiB page; every event line goes out as REGBUF-TRACE.
	T=/sys/kernel/tracing
	mount -t tracefs none $T 2>/dev/null
	# Each function's entry (e_f) and return (x_f); regbuf.at=f,sym+off,...
	# (REGBUF_TRACE_AT of run.sh) adds more functions, or code addresses
	# (at_sym_off) for steps inlined into a function.
	for a in io_sqe_buffers_register io_sqe_buffer_register io_rsrc_node_alloc io_pin_folios pin_user_folios_fast unpin_folio_ranges unpin_user_folio io_alloc_imu __kvmalloc_node_noprof kvfree \
		$(sed -n 's/.*regbuf.at=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' '); do
		case "$a" in
		*+*) ev="p:at_$(echo "$a" | tr -c 'A-Za-z0-9_\n' _) $a" ;;
		*) ev="p:e_$a $a" ;;
		esac
		if echo "$ev" >>$T/kprobe_events 2>/dev/null; then
			case "$a" in *+*) ;; *) echo "r:x_$a $a" >>$T/kprobe_events ;; esac
		else
			echo "REGBUF-NOTE no kprobe at $a in this kernel"
		fi
	done
	echo 1 >$T/events/kprobes/enable
	register 1G 1g 3
	register 2M 2m 3
	echo 0 >$T/events/kprobes/enable
	grep -v '^#' $T/trace | sed 's/^/REGBUF-TRACE /'
	exit 0
fi
if [ "$what" = register ]; then
	# 1 GiB pools on each backing, as root: the kernel's registration
	# cost; then one 2 MiB folio, the cost of the call itself
	for b in 2m 1g thp 4k; do
		register 1G $b 5
	done
	register 2M 2m 5
	exit 0
fi
for b in 2m 1g; do
	run root $b
	run uid65534 $b
done
