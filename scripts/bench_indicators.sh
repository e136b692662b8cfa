#!/usr/bin/env bash
# Our batch kernels beside TA-Lib's C core (python `ta-lib` 0.8.2), same series, same
# machine, one command: ROUNDS alternating rounds of scripts/bench_talib.py and the `raw`
# workloads of benches/indicators.rs (best of REPS calls each), the best of each side over
# the rounds, and the ratio ours / TA-Lib. Alternating rounds let both sides see the same
# load on a shared machine. Both sides are timed by the thread's CPU time (the core's time
# spent on this process, not the time other tenants hold it) and run under the same glibc
# malloc settings: every large array is a fresh mmap with transparent huge pages (numpy asks
# for huge pages on large arrays itself; a Rust Vec gets them from the tunable), so neither
# side's figure depends on whether the allocator reuses the previous call's buffer.
# Usage: scripts/bench_indicators.sh [N]   (N bars, default 1000000; env ROUNDS=3 REPS=10,
# INDICATORS_BIN)
set -euo pipefail
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576}"
cd "$(dirname "$0")/.."
N="${1:-1000000}"
ROUNDS="${ROUNDS:-3}"
REPS="${REPS:-10}"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
# INDICATORS_BIN=path: a bench binary built earlier (`cargo bench --no-run --bench indicators`
# prints its path), e.g. while the sources are being edited; else build and run it by cargo
if [ -n "${INDICATORS_BIN:-}" ]; then
  ours() { "$INDICATORS_BIN" --bench; }
else
  cargo bench --quiet --bench indicators --no-run 2> "$DIR/build.txt" || { cat "$DIR/build.txt"; exit 1; }
  ours() { cargo bench --quiet --bench indicators; }
fi
for _ in $(seq "$ROUNDS"); do
  python3 scripts/bench_talib.py "$N" "$REPS" >> "$DIR/talib.txt" 2>/dev/null
  ALGOLAB_BENCH_BEST="$REPS" ALGOLAB_BENCH_SIZES="$N" ALGOLAB_BENCH_MODES=raw \
    ours 2>/dev/null >> "$DIR/ours.txt"
done
python3 - "$DIR/talib.txt" "$DIR/ours.txt" "$N" "$ROUNDS" "$REPS" <<'PY'
import re, sys
talib, ours = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)\s+([\d.]+) M bars/s", line)
    if m:
        talib[m[1]] = max(talib.get(m[1], 0.0), float(m[2]))
for line in open(sys.argv[2]):
    m = re.match(r"(\S+)/raw/\d+\s+([\d.]+) M bars/s", line)
    if m:
        ours[m[1]] = max(ours.get(m[1], 0.0), float(m[2]))
print(f"{sys.argv[3]} bars, best of {sys.argv[5]} calls x {sys.argv[4]} alternating rounds "
      "(M bars/s of thread CPU time)")
print(f"{'indicator':16s} {'algolab':>9s} {'TA-Lib':>9s} {'ratio':>7s}")
worst = None
for name, t in talib.items():
    o = ours.get(name)
    if o is None:
        continue
    r = o / t
    worst = r if worst is None else min(worst, r)
    print(f"{name:16s} {o:9.1f} {t:9.1f} {r:7.2f}")
for name in ours:
    if name not in talib:
        print(f"{name:16s} {ours[name]:9.1f} {'-':>9s} {'-':>7s}")
print(f"lowest ratio: {worst:.2f}" if worst is not None else "no common indicators")
PY
