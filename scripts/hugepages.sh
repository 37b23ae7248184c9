#!/bin/sh
# Reserve a modest number of hugepages for the tests and the demo when we
# are root and fewer are free: ~1 GiB of 2 MiB pages and one 1 GiB page if
# the machine can give it. Never fails: tests that need more skip.
h=/sys/kernel/mm/hugepages
want2m=${REGBUF_HUGE_2M:-640}
want1g=${REGBUF_HUGE_1G:-1}
free_of() { cat "$h/hugepages-$1/free_hugepages" 2>/dev/null || echo 0; }
if [ "$(id -u)" -ne 0 ]; then
	# not root: nothing reserved here; say what root would add
	if [ "$(free_of 2048kB)" -lt "$want2m" ] || [ "$(free_of 1048576kB)" -lt "$want1g" ]; then
		echo "hugepages: not root: 2M $(free_of 2048kB) free, 1G $(free_of 1048576kB) free; as root, scripts/hugepages.sh would reserve up to $want2m and $want1g (tests that need more skip and say so)"
	fi
	exit 0
fi
grow() { # dir wanted
	[ -d "$1" ] || return 0
	free=$(cat "$1/free_hugepages") total=$(cat "$1/nr_hugepages")
	[ "$free" -ge "$2" ] && return 0
	echo $((total + $2 - free)) >"$1/nr_hugepages" 2>/dev/null || true
}
grow $h/hugepages-1048576kB "$want1g"
grow $h/hugepages-2048kB "$want2m"
printf 'hugepages: 2M %s free, 1G %s free\n' "$(free_of 2048kB)" "$(free_of 1048576kB)"
