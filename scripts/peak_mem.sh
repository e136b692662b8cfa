#!/usr/bin/env bash
# Time and peak memory (max RSS) of loading a large bar file with the release binary:
# builds N synthetic 1-minute bars (default 10 M) as CSV and Parquet, then runs
# `data check` (lenient pass) and `data convert` (strict load + write) under /usr/bin/time -v.
# Usage: scripts/peak_mem.sh [N]   (needs `cargo build --release` first)
set -euo pipefail
N="${1:-10000000}"
BIN="${BIN:-target/release/algolab}"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
"$BIN" data synth --bars "$N" --seed 1 "$DIR/big.csv"
ls -l "$DIR/big.csv"
measure() {
  /usr/bin/time -v "$@" 2> "$DIR/time.txt" >/dev/null || true
  grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$DIR/time.txt" | sed 's/^\s*/  /'
}
echo "data check big.csv:";                 measure "$BIN" data check "$DIR/big.csv"
echo "data convert big.csv big.parquet:";   measure "$BIN" data convert "$DIR/big.csv" "$DIR/big.parquet"
echo "data check big.parquet:";             measure "$BIN" data check "$DIR/big.parquet"
