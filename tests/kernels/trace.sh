#!/bin/sh
# Where the time of one buffer registration goes, on a kernel under QEMU:
#
#   tests/kernels/trace.sh [7.2+regbuf]
#
# Boots the kernel in bench-trace mode (tests/kernels/run.sh K
# bench-trace: kprobe entry and return events of the registration path
# while `regbuf bench register` registers one 1 GiB page, then one 2 MiB
# page), and prints, for every io_sqe_buffers_register() call that pinned
# memory, the time from its entry to each later event, in µs. kprobes
# trap on every event, so the absolute figures are inflated; compare the
# steps with each other. REGBUF_TRACE_AT=f,sym+off,... adds the entry and
# return of each function f, and an event at each code address sym+off
# (at_sym_off), for steps inlined into a function (offsets from objdump -d
# of the kernel's vmlinux).
set -e
K=${1:-7.2+regbuf}
tests/kernels/run.sh "$K" bench-trace >/dev/null
sed -n 's/^REGBUF-TRACE //p' "build-kernel/$K/bench-trace.txt" | awk '
	{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = $i; ev = $(i + 1); break }
	  sub(":", "", t); sub(":", "", ev) }
	ev == "e_io_sqe_buffers_register" { start = t; line = ""; pinned = 0; next }
	start == "" { next }
	{ line = line sprintf(" %s %.0f", ev, (t - start) * 1e6) }
	ev == "e_io_pin_folios" || ev == "e_pin_user_folios_fast" { pinned = 1 }
	ev == "x_io_sqe_buffers_register" { if (pinned) print "register:" line; start = "" }'
