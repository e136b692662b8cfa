#!/usr/bin/env python3
"""The honest comparison of issue 12: `ai` against its components alone, `technical` and buy &
hold on the test window (the last 30 % of the bars) of each bundled dataset.

Runs the built binary (`cargo build` first; `--bin` to choose another) in a fresh temporary
DATA_DIR, so no trained model, evolved genome or recorded LLM answer is in the DB: BTC/USDT
(run as `--symbol BTC/USDT`) gets the shipped default models (models/default: DQN, evolved;
trained on the first 60 % of its bars, so the test window is out of their sample), the other
datasets the technical and online components only — what a fresh clone gets.
Commission 0.1 % per side, fractional units, default risk (`auto`: the seed's rules for
`technical` and `ai`). Prints a Markdown table.

Usage: python3 scripts/ai_compare.py [--bin target/debug/algolab] > docs/ai_comparison.md
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

DATASETS = [
    "BTCUSDT_1h.csv",
    "BTCUSD.csv",
    "BTCUSD_1d.csv",
    "EURUSD.csv",
    "GOOG.csv",
    "GOLD_1d.csv",
    "SPY_1d.csv",
    "TLT_1d.csv",
]

# (label, strategy, extra args)
RUNS = [
    ("ai (technical + online)", "ai", []),
    ("ai, technical component only", "ai", ["--weights", "online=0"]),
    ("technical", "technical", []),
]
# BTC/USDT has the shipped default models as components too
BTC_RUNS = [
    ("ai (technical + dqn + evolved + online)", "ai", []),
    ("ai, technical component only", "ai", ["--weights", "dqn=0,evolved=0,online=0"]),
    ("ai, dqn component only", "ai", ["--weights", "technical=0,evolved=0,online=0"]),
    ("ai, evolved component only", "ai", ["--weights", "technical=0,dqn=0,online=0"]),
    ("technical", "technical", []),
]


def run(binary, data_dir, args):
    env = dict(os.environ, DATA_DIR=data_dir, OLLAMA_HOST="http://127.0.0.1:9")
    out = subprocess.run(
        [binary, *args, "--json", "--quiet", "--no-record"],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)}: {out.stderr}")
    return json.loads(out.stdout)


def parse_ts(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/algolab")
    ap.add_argument("--commission", default="0.001")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ds in DATASETS:
            path = os.path.join(root, "datasets", ds)
            source = ["--symbol", "BTC/USDT"] if ds == "BTCUSDT_1h.csv" else ["--data", path]
            base = ["backtest", *source, "--commission", a.commission, "--fractional"]
            full = run(a.bin, tmp, base + ["--strategy", "sma-cross"])
            t0, t1 = parse_ts(full["start"]), parse_ts(full["end"])
            start = (t0 + (t1 - t0) * 0.7).strftime("%Y-%m-%d")
            for label, strat, extra in BTC_RUNS if ds == "BTCUSDT_1h.csv" else RUNS:
                s = run(a.bin, tmp, base + ["--from", start, "--strategy", strat, *extra])
                rows.append((ds, start, label, s))
            rows.append((ds, start, "buy & hold", s))
    print("| dataset | test window from | strategy | return % | Sharpe | max DD % | trades | win % |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    fmt = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
    for ds, start, label, s in rows:
        if label == "buy & hold":
            print(f"| {ds} | {start} | buy & hold | {fmt(s['buy_hold_return_pct'])} | | | | |")
            continue
        print(
            f"| {ds} | {start} | {label} | {fmt(s['return_pct'])} | {fmt(s['sharpe'], 3)} | "
            f"{fmt(s['max_drawdown_pct'])} | {s['trades']} | {fmt(s['win_rate_pct'], 1)} |"
        )


if __name__ == "__main__":
    main()
