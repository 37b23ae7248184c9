#!/bin/sh
# make bench: every benchmark with its defaults, side by side with what a
# user would otherwise do. Writes bench/results/*.json (the tools' own
# output), summary.md (a table built from those JSON files) and three SVG
# plots rendered with gnuplot.
set -e
B=${1:-build}
out=bench/results
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.dat "$out"/*.svg
R="$B/regbuf"

step() { echo "== $*" >&2; }
j() { # file key -> value
	jq -r "$2" "$out/$1.json"
}

step "regbuf bench register, by backing"
for b in 2m 1g thp 4k; do
	"$R" bench register --backing $b --repeat 3 --json >"$out/register_$b.json" ||
		echo "   ($b not possible here)" >&2
done
step "regbuf bench attach, by number of rings"
for n in 1 4 16 64; do
	"$R" bench attach --rings $n --repeat 3 --json >"$out/attach_$n.json"
done
step "regbuf bench mixed"
"$R" bench mixed --json >"$out/mixed.json"
step "regbuf bench alloc"
"$R" bench alloc --json >"$out/alloc_1.json"
step "bench/planners (placement research, about 30 s)"
"$B/bench/planners" --json >"$out/planners.json"
"$R" bench alloc --threads 2 --json >"$out/alloc_2.json"
step "regbuf bench sink"
"$R" bench sink --json >"$out/sink.json"
step "regbuf bench io beside fio"
bench/vs-fio.sh --json "$B" >"$out/io_vs_fio.json"

# ---- summary table --------------------------------------------------------
num() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f×", b / a; else print "-" }'; }
{
	echo "# regbuf bench results"
	echo
	echo "$(date -u +%Y-%m-%d), Linux $(uname -r), $(nproc) CPUs," \
		"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)." \
		"Reproduce with \`make bench\`; raw JSON beside this file."
	echo
	echo "| benchmark | regbuf | the usual way | ratio |"
	echo "|---|---|---|---|"
	for b in 2m 1g thp 4k; do
		[ -s "$out/register_$b.json" ] || continue
		l=$(j register_$b .library_ms) r=$(j register_$b .raw_ms) n=$(j register_$b .naive_ms)
		s=$(j register_$b '.size / 1073741824')
		echo "| register ${s} GiB, $b pool (\`bench register --backing $b\`) | $(num "$l" 2) ms | raw $(num "$r" 2) ms, naive 4 KiB $(num "$n" 2) ms | $(ratio "$l" "$n") vs naive |"
	done
	for n in 1 4 16 64; do
		a=$(j attach_$n .attach_us_per_ring) g=$(j attach_$n .register_us_per_ring)
		echo "| attach 1 pool to $n ring(s), $(j attach_$n .method) (\`bench attach --rings $n\`) | $(num "$a" 1) µs/ring | register per ring $(num "$g" 1) µs/ring | $(ratio "$a" "$g") |"
	done
	p=$(j mixed .planned_ms) n=$(j mixed .naive_ms)
	echo "| mixed 4 KiB + THP region, planned vs one buffer (\`bench mixed\`) | $(num "$p" 2) ms | $(num "$n" 2) ms | $(ratio "$p" "$n") |"
	for t in 1 2; do
		a=$(j alloc_$t .regbuf_ns_per_pair) m=$(j alloc_$t .malloc_ns_per_pair) f=$(j alloc_$t .mutex_freelist_ns_per_pair)
		echo "| alloc+free, $t thread(s) (\`bench alloc --threads $t\`) | $(num "$a" 1) ns | malloc $(num "$m" 1) ns, mutex list $(num "$f" 1) ns | $(ratio "$a" "$m") vs malloc |"
	done
	fr=$(j alloc_1 '.fill_at_first_failure * 100') fb=$(j alloc_1 '.best_fit_fill_at_first_failure * 100') fm=$(j alloc_1 '.moving_fill_at_first_failure * 100')
	fp=$(j planners '.planner_fill_at_first_failure * 100') ff=$(j planners '.foresight_fill_at_first_failure * 100')
	echo "| allocator fill at the first failure, mixed 512 B..8 MiB on 64 MiB (\`bench alloc\`, \`bench/planners\`) | $(num "$fr" 0) % | plain best fit $(num "$fb" 0) %, a planner that knows the workload $(num "$fp" 0) %, one shown the future $(num "$ff" 0) %, buffers that could move $(num "$fm" 0) % | $(awk -v a="$fr" -v b="$fb" 'BEGIN { printf "%+.0f points", a - b }') vs best fit |"
	z=$(j sink .zero_copy_mib_s) c=$(j sink .copy_mib_s)
	echo "| receive-to-file sink, $(j sink .conns) conns (\`bench sink\`) | $(num "$z" 0) MiB/s | copy first $(num "$c" 0) MiB/s | $(awk -v a="$z" -v b="$c" 'BEGIN { printf "%.2f×", a / b }') |"
	pf=$(j io_vs_fio .regbuf.modes.pool_fixed.cpu_ns_per_io)
	p4=$(j io_vs_fio .regbuf.modes.plain_4k.cpu_ns_per_io)
	f4=$(j io_vs_fio .regbuf.modes.fixed_4k.cpu_ns_per_io)
	ff=$(j io_vs_fio .fio.fio_fixedbufs.cpu_ns_per_io)
	fp=$(j io_vs_fio .fio.fio_plain.cpu_ns_per_io)
	echo "| O_DIRECT read $(j io_vs_fio .bs) qd $(j io_vs_fio .qd), CPU per I/O (\`bench/vs-fio.sh\`) | $(num "$pf" 0) ns | plain 4 KiB $(num "$p4" 0), liburing fixed 4 KiB $(num "$f4" 0), fio plain $(num "$fp" 0), fio fixedbufs $(num "$ff" 0) ns | $(ratio "$pf" "$p4") vs plain |"
	echo
	echo "Data checks: io $(j io_vs_fio .regbuf.verified), sink $(j sink .verified)."
	echo
	echo "![registration time by backing](register.svg)"
	echo "![attach cost by number of rings](attach.svg)"
	echo "![CPU per I/O](io.svg)"
} >"$out/summary.md"

# ---- plots -------------------------------------------------------------------
for b in 2m 1g thp 4k; do
	[ -s "$out/register_$b.json" ] || continue
	jq -r --arg b "$b" '[$b, .library_ms / (.size / 1073741824), .raw_ms / (.size / 1073741824), .naive_ms / (.size / 1073741824)] | @tsv' \
		"$out/register_$b.json"
done >"$out/register.dat"
for n in 1 4 16 64; do
	jq -r '[.rings, .attach_us_per_ring, .register_us_per_ring] | @tsv' "$out/attach_$n.json"
done >"$out/attach.dat"
{
	for m in pool_fixed fixed_4k plain_huge plain_4k; do
		jq -r --arg m "$m" '["regbuf_" + $m, .regbuf.modes[$m].cpu_ns_per_io] | @tsv' "$out/io_vs_fio.json"
	done
	jq -r '.fio | to_entries[] | [.key, .value.cpu_ns_per_io] | @tsv' "$out/io_vs_fio.json"
} >"$out/io.dat"
if command -v gnuplot >/dev/null; then
	gnuplot <<EOF
set terminal svg size 720,420 font "sans,11" background "white"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top left

set output "$out/register.svg"
set title "Registering 1 GiB: ms per GiB (lower is better)"
set ylabel "ms per GiB"
set logscale y
plot "$out/register.dat" using 2:xtic(1) title "regbuf pool", \
     "" using 3 title "raw REGISTER_BUFFERS", \
     "" using 4 title "naive 4 KiB memory"

set output "$out/attach.svg"
set title "Giving N rings the same 1 GiB of buffers: µs per ring"
set style data linespoints
set logscale xy
set xlabel "rings"
set ylabel "µs per ring"
plot "$out/attach.dat" using 1:2 title "regbuf attach (clone)" lw 2, \
     "" using 1:3 title "register per ring" lw 2

set output "$out/io.svg"
set title "O_DIRECT random reads: CPU ns per I/O (lower is better)"
unset logscale
unset xlabel
set style data histograms
set ylabel "CPU ns per I/O"
set xtics rotate by -30
set key off
plot "$out/io.dat" using 2:xtic(1)
EOF
else
	echo "gnuplot not installed: no plots (make deps DEPS=bench)" >&2
fi
cat "$out/summary.md"
echo "results in $out/" >&2
