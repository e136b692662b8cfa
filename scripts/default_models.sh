#!/usr/bin/env bash
# Train the default models shipped in models/default/ (a DQN, a leverage DQN and an evolved
# strategy for the bundled BTC/USDT 1h data) and export them, bit for bit reproducibly:
# fixed seeds, one thread for the networks, a fresh DATA_DIR.
#
#   scripts/default_models.sh            # retrain and overwrite models/default/*.json
#   scripts/default_models.sh --check    # retrain into a temporary folder, compare byte for byte
#
# Uses the debug build (about 5 minutes of CPU on this machine; ALGOLAB=path/to/algolab to
# use another build — release gives the same bytes, only faster).
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1
if [ -z "${ALGOLAB:-}" ]; then
    cargo build --locked --quiet
    ALGOLAB=target/debug/algolab
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DATA_DIR="$work/data"
# the commands recorded in the files (keep in sync with docs/DESIGN.md "Default models")
"$ALGOLAB" train-rl --symbol BTC/USDT --seed 7 --episodes 1 --hidden 32,16,8 --json >"$work/dqn.out"
"$ALGOLAB" train-leverage --symbol BTC/USDT --seed 7 --episodes 1 --hidden 32,16,8 --json >"$work/lev.out"
"$ALGOLAB" evolve --symbol BTC/USDT --seed 42 --generations 10 --population 20 --json >"$work/evolve.out"
if [ "$check" = 1 ]; then
    "$ALGOLAB" ai export-defaults --symbol BTC/USDT --out "$work/models" >/dev/null
    diff -r "$work/models" models/default && echo "models/default reproduced bit for bit"
else
    "$ALGOLAB" ai export-defaults --symbol BTC/USDT --out models/default
fi
