#!/bin/sh
# CPU per O_DIRECT read, plain (not registered) and fixed, from the dio
# runs of two kernels (tests/kernels/run.sh K dio), side by side:
#
#   tests/kernels/dio-compare.sh [A B]     (default 7.2-stock 7.2+next)
#
# Reads every build-kernel/K/dio-[0-9]*.txt (keep one per boot, dio-1.txt,
# dio-2.txt...: runs alternated A, B, A, B give medians over the boots).
# For each target, pool memory and size: regbuf bench io's CPU ns per
# read on A and B, plain_huge (a READ into the pool's memory, which is not
# registered) and pool_fixed (READ_FIXED from the same memory), B / A for
# the plain read, and the share of the distance from A's plain read to
# A's fixed one that B's plain read closes.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
A=${1:-7.2-stock} B=${2:-7.2+next}
python3 - "$top/build-kernel" "$A" "$B" <<'PY'
import glob, json, statistics, sys
root, A, B = sys.argv[1:4]
runs = {}
for k in (A, B):
    files = sorted(glob.glob(f"{root}/{k}/dio-[0-9]*.txt"))
    if not files:
        sys.exit(f"dio-compare.sh: no dio run of {k} (tests/kernels/run.sh {k} dio)")
    for f in files:
        for line in open(f, errors="replace"):
            if not line.startswith("REGBUF-DIOBENCH "):
                continue
            _, target, backing, bs, js = line.split(" ", 4)
            d = json.loads(js)
            if not d.get("verified"):
                print(f"{k} {f}: {target} {backing} {bs}: data NOT verified")
            for mode in ("plain_huge", "pool_fixed"):
                runs.setdefault((target, backing, bs, k, mode), []).append(
                    d["modes"][mode]["cpu_ns_per_io"])
def med(*key):
    v = runs.get(key)
    return statistics.median(v) if v else None
print(f"{'target':8} {'memory':6} {'bs':5} {A+' plain':>14} {B+' plain':>14} {A+' fixed':>14} {B+' fixed':>14} {'B/A':>6} {'closed':>7} boots")
order = {"128k": 0, "1m": 1, "8m": 2}
for (t, b, bs) in sorted({k[:3] for k in runs}, key=lambda x: (x[0], x[1], order.get(x[2], 9))):
    ap, bp, af, bf = med(t, b, bs, A, "plain_huge"), med(t, b, bs, B, "plain_huge"), med(t, b, bs, A, "pool_fixed"), med(t, b, bs, B, "pool_fixed")
    if None in (ap, bp, af, bf):
        continue
    closed = f"{(ap - bp) / (ap - af) * 100:.0f}%" if ap > af else "-"
    n = len(runs[(t, b, bs, A, "plain_huge")])
    print(f"{t:8} {b:6} {bs:5} {ap/1000:12.1f}us {bp/1000:12.1f}us {af/1000:12.1f}us {bf/1000:12.1f}us {bp/ap:6.2f} {closed:>7} {n}")
PY
