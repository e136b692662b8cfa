#!/usr/bin/env bash
# Our batch kernels beside TA-Lib's C core (python `ta-lib` 0.8.2), same series, same
# machine, one command: ROUNDS alternating rounds of scripts/bench_talib.py and the `raw`
# workloads of benches/indicators.rs (best of REPS calls each), the best of each side over
# the rounds, and the ratio ours / TA-Lib. Alternating rounds let both sides see the same
# load on a shared machine. Both sides are timed by the thread's CPU time (the core's time
# spent on this process, not the time other tenants hold it) and run under the same glibc
# malloc settings, one table per setting (MALLOC):
#   tuned    GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576 (or
#            the caller's GLIBC_TUNABLES): every large array is a fresh mmap with
#            transparent huge pages (numpy asks for huge pages on large arrays itself; a
#            Rust Vec gets them from the tunable), so neither side's figure depends on
#            whether the allocator reuses the previous call's buffer;
#   default  no GLIBC_TUNABLES: glibc's own settings, as a program run without them gets.
#            After the first free of a large mapping glibc's mmap threshold rises to its
#            size, so later outputs come from the heap: a freed block is reused (no page
#            faults, but not zeroed either), and freeing more than twice that size at the
#            top of the heap trims it, so the next call faults the pages in again;
#   both     (the default) the two settings alternated round by round, both tables.
# Since session 12 our bench binary, like the `algolab` binary, allocates with mimalloc
# (benches/indicators.rs), which reads no glibc tunables: the setting then changes only
# TA-Lib's side (how numpy's output arrays are allocated and faulted in).
# Usage: scripts/bench_indicators.sh [N]   (N bars, default 1000000; env ROUNDS=3 REPS=10,
# MALLOC=both|tuned|default, INDICATORS_BIN)
set -euo pipefail
TUNED="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576}"
unset GLIBC_TUNABLES
cd "$(dirname "$0")/.."
N="${1:-1000000}"
ROUNDS="${ROUNDS:-3}"
REPS="${REPS:-10}"
case "${MALLOC:-both}" in
  both) MODES="tuned default" ;;
  tuned | default) MODES="$MALLOC" ;;
  *) echo "MALLOC must be both, tuned or default" >&2; exit 2 ;;
esac
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
# INDICATORS_BIN=path: a bench binary built earlier (`cargo bench --no-run --bench indicators`
# prints its path), e.g. while the sources are being edited; else build it by cargo and run
# the binary cargo names (so that the malloc setting applies to it, not to cargo)
if [ -z "${INDICATORS_BIN:-}" ]; then
  cargo bench --bench indicators --no-run 2> "$DIR/build.txt" || { cat "$DIR/build.txt"; exit 1; }
  INDICATORS_BIN="$(sed -n 's/.*Executable .*(\(.*\)).*/\1/p' "$DIR/build.txt" | tail -n 1)"
  [ -x "$INDICATORS_BIN" ] || { echo "no bench binary found" >&2; exit 1; }
fi
# `env` with the mode's setting: the tunables, or none
with() {
  if [ "$1" = tuned ]; then env GLIBC_TUNABLES="$TUNED" "${@:2}"; else env "${@:2}"; fi
}
for _ in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    with "$mode" python3 scripts/bench_talib.py "$N" "$REPS" >> "$DIR/talib.$mode.txt" 2>/dev/null
    with "$mode" ALGOLAB_BENCH_BEST="$REPS" ALGOLAB_BENCH_SIZES="$N" ALGOLAB_BENCH_MODES=raw \
      "$INDICATORS_BIN" --bench 2>/dev/null >> "$DIR/ours.$mode.txt"
  done
done
for mode in $MODES; do
  if [ "$mode" = tuned ]; then setting="GLIBC_TUNABLES=$TUNED"; else setting="no GLIBC_TUNABLES"; fi
  python3 - "$DIR/talib.$mode.txt" "$DIR/ours.$mode.txt" "$N" "$ROUNDS" "$REPS" "$mode" "$setting" <<'PY'
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
print(f"malloc {sys.argv[6]} ({sys.argv[7]})")
print(f"{sys.argv[3]} bars, best of {sys.argv[5]} calls x {sys.argv[4]} alternating rounds "
      "(M bars/s of thread CPU time)")
print(f"{'indicator':16s} {'algolab':>9s} {'TA-Lib':>9s} {'ratio':>7s}")
worst = None
for name, t in talib.items():
    o = ours.get(name)
    if o is None:
        continue
    r = o / t
    if worst is None or r < worst[0]:
        worst = (r, name)
    print(f"{name:16s} {o:9.1f} {t:9.1f} {r:7.2f}")
for name in ours:
    if name not in talib:
        print(f"{name:16s} {ours[name]:9.1f} {'-':>9s} {'-':>7s}")
print(f"lowest ratio: {worst[0]:.2f} ({worst[1]})" if worst else "no common indicators")
print()
PY
done
