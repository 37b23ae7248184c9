#!/bin/sh
# Layering of the library and the CLI, checked two ways:
#  1. every #include "x.h" in a file names a header of the file's own layer
#     or a lower one;
#  2. (given a build directory) every object uses symbols of objects lower
#     in the order below only: no circle, no call upwards (nm).
#
#   scripts/layers.sh [BUILD]          (make check runs it)
#
# Lowest first. A file's layer is the line it is on; within a line,
# objects are ordered too (left before right).
set -e
cd "$(dirname "$0")/.."
B=${1:-}
LAYERS='
src: uapi.h sys.h sys.c
src: fmt.h ringmem.h base.h error.c heap.c abi.c names.c
src: probe.h features.c
src: folio.h folio.c plan.c
src: pool.h live.c layout.c backing.c registry.c
src: alloc.h alloc.c bufring.c
src: pool.c
tools: json.h json.c
tools: cli.h util.c info.c inspect.c
tools: ps.h ps_scan.c ps.c top.c
tools: frag_model.h frag_model.c
tools: bench.h bench_util.c bench_frag.c bench_io.c bench_sink.c bench_register.c bench_attach.c bench_mixed.c bench_alloc.c
tools: bench.c demo.c main.c
'
# external headers every file may include
EXTERNAL='regbuf.h regbuf/liburing.h ../examples/sink.h'

layer_of() { # dir file -> line number, or nothing
	echo "$LAYERS" | grep -n "^$1:.* $2\( \|\$\)" | cut -d: -f1
}
rank_of() { # dir file -> position in the whole order
	echo "$LAYERS" | grep "^$1: " | sed "s/^$1: //" | tr ' ' '\n' | grep -n "^$2\$" | cut -d: -f1
}
bad=0
for dir in src tools; do
	for f in $dir/*.c $dir/*.h; do
		n=$(basename "$f")
		l=$(layer_of "$dir" "$n")
		[ -n "$l" ] || { echo "layers: $f is in no layer (scripts/layers.sh)"; bad=1; continue; }
		for h in $(sed -n 's/^#include "\(.*\)".*/\1/p' "$f"); do
			case " $EXTERNAL " in *" $h "*) continue ;; esac
			hd=$dir hn=$h
			case $h in ../src/*) hd=src hn=${h#../src/} ;; esac
			hl=$(layer_of "$hd" "$hn")
			# a library header from the CLI: below it all
			[ -z "$hl" ] && [ "$hd" = tools ] && [ -n "$(layer_of src "$hn")" ] && continue
			if [ -z "$hl" ]; then
				echo "layers: $f includes $h, which is in no layer"; bad=1
			elif [ "$hd" = "$dir" ] && [ "$hl" -gt "$l" ]; then
				echo "layers: $f (layer $l) includes $h (layer $hl): a lower file includes a higher header"; bad=1
			fi
		done
	done
done
if [ -n "$B" ]; then
	for dir in src tools; do
		[ -d "$B/$dir" ] || continue
		defs=$(mktemp)
		for o in "$B"/$dir/*.o; do
			nm --defined-only "$o" | awk -v o="$(basename "$o" .o).c" '$2 ~ /[TDBRC]/ { print $3, o }'
		done >"$defs"
		for o in "$B"/$dir/*.o; do
			me=$(basename "$o" .o).c
			mr=$(rank_of "$dir" "$me")
			for d in $(nm -u "$o" | awk '{ print $2 }' | sort -u | join -o 2.2 - "$(sort "$defs" >"$defs.s" && echo "$defs.s")" 2>/dev/null | sort -u); do
				[ "$d" = "$me" ] && continue
				dr=$(rank_of "$dir" "$d")
				if [ -z "$mr" ] || [ -z "$dr" ] || [ "$dr" -ge "$mr" ]; then
					echo "layers: $dir/$me uses $dir/$d, which is not below it"; bad=1
				fi
			done
		done
		rm -f "$defs" "$defs.s"
	done
fi
[ $bad -eq 0 ] && echo "layers: includes point down$([ -n "$B" ] && echo ", objects use only lower objects ($B)")"
exit $bad
