#!/bin/sh
# Reserve a modest number of hugepages for the tests and the demo when we
# are root and fewer are free: ~1 GiB of 2 MiB pages and one 1 GiB page if
# the machine can give it. Never fails: tests that need more skip.
[ "$(id -u)" -eq 0 ] || exit 0
h=/sys/kernel/mm/hugepages
want2m=${REGBUF_HUGE_2M:-640}
want1g=${REGBUF_HUGE_1G:-1}
grow() { # dir wanted
	[ -d "$1" ] || return 0
	free=$(cat "$1/free_hugepages") total=$(cat "$1/nr_hugepages")
	[ "$free" -ge "$2" ] && return 0
	echo $((total + $2 - free)) >"$1/nr_hugepages" 2>/dev/null || true
}
grow $h/hugepages-1048576kB "$want1g"
grow $h/hugepages-2048kB "$want2m"
printf 'hugepages: 2M %s free, 1G %s free\n' \
	"$(cat $h/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" \
	"$(cat $h/hugepages-1048576kB/free_hugepages 2>/dev/null || echo 0)"
