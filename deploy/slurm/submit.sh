#!/usr/bin/env bash
# Submit a sharded `algolab optimize` to Slurm: an array of N shard tasks, then a merge job
# that runs once every task succeeded (afterok) and writes OUT_DIR/result.json.
#
#   deploy/slurm/submit.sh N OUT_DIR [optimize args…]
#   e.g. deploy/slurm/submit.sh 16 /shared/opt1 --symbol GOOG --grid fast=2..101 --grid slow=2..101
#
# Prints the two job ids. Environment as optimize_array.sbatch (ALGOLAB, DATA_DIR); extra
# sbatch options in SBATCH_OPTS (e.g. "--partition=cpu --time=1:00:00").
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 N OUT_DIR [optimize args…]" >&2
  exit 2
fi
N="$1"
OUT="$2"
shift 2
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$OUT"
# shellcheck disable=SC2086
ARRAY=$(sbatch --parsable ${SBATCH_OPTS:-} --array="0-$((N - 1))" -o "$OUT/slurm-%A_%a.log" \
  "$HERE/optimize_array.sbatch" "$OUT" "$@")
ARGS=$(printf ' %q' "$@")
# shellcheck disable=SC2086
MERGE=$(sbatch --parsable ${SBATCH_OPTS:-} --dependency="afterok:$ARRAY" -o "$OUT/merge-%j.log" \
  --job-name=algolab-merge \
  --wrap "${ALGOLAB:-algolab} --json optimize$ARGS --merge $(printf '%q' "$OUT") > $(printf '%q' "$OUT")/result.json")
echo "array $ARRAY merge $MERGE"
