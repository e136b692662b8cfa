#!/usr/bin/env python3
"""vectorbt's equivalent of benches/optimize.rs: the sma-cross grid fast 2..101 x slow
2..101 with fast < slow (4 950 combinations) on the shared LCG walk (1 M one-minute bars,
seed 42; see scripts/bench_backtesting.py), long and short, all cash, no commission,
decisions at the close filled at the next open (as backtesting.py and algolab do), and
the Sharpe ratio of every combination.

vectorbt computes the moving averages once per window (vbt.MA.run_combs with r=2 gives the
fast < slow pairs) and simulates all columns in one numba call. A 1 M × 4 950 signal matrix
does not fit in memory here, so combinations run in chunks of --chunk columns, and with
--pairs below 4 950 the time is extrapolated linearly to the full grid (printed as such).

Usage: python3 scripts/bench_vectorbt_grid.py [--bars 1000000] [--pairs 4950] [--chunk 50]
"""
import argparse
import itertools
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_backtesting import lcg_walk  # noqa: E402


def run_chunk(vbt, close, open_, pairs):
    fast_w = [p[0] for p in pairs]
    slow_w = [p[1] for p in pairs]
    fast = vbt.MA.run(close, window=fast_w, short_name="fast", per_column=False)
    slow = vbt.MA.run(close, window=slow_w, short_name="slow", per_column=False)
    f = fast.ma.values
    s = slow.ma.values
    fp = np.vstack([np.full((1, f.shape[1]), np.nan), f[:-1]])
    sp = np.vstack([np.full((1, s.shape[1]), np.nan), s[:-1]])
    up = (f > s) & (fp < sp)
    down = (f < s) & (fp > sp)
    # decisions at the close fill at the next open
    up = np.vstack([np.zeros((1, up.shape[1]), bool), up[:-1]])
    down = np.vstack([np.zeros((1, down.shape[1]), bool), down[:-1]])
    pf = vbt.Portfolio.from_signals(
        close, entries=up, exits=False, short_entries=down, short_exits=False,
        price=open_.values[:, None], fees=0.0, init_cash=10_000, size=np.inf,
        upon_opposite_entry="reverse", freq="1min")
    return pf.sharpe_ratio().values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=4950)
    ap.add_argument("--chunk", type=int, default=50)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    import vectorbt as vbt

    df = lcg_walk(a.bars)
    close, open_ = df["Close"], df["Open"]
    all_pairs = list(itertools.combinations(range(2, 102), 2))
    pairs = all_pairs[: a.pairs]
    run_chunk(vbt, close.iloc[:2000], open_.iloc[:2000], pairs[:4])  # numba JIT warm-up
    t0 = time.perf_counter()
    best = -np.inf
    for i in range(0, len(pairs), a.chunk):
        sr = run_chunk(vbt, close, open_, pairs[i:i + a.chunk])
        best = max(best, np.nanmax(sr))
    dt = time.perf_counter() - t0
    full = dt * len(all_pairs) / len(pairs)
    print(f"vectorbt grid: {len(pairs)} combinations x {a.bars} bars in {dt:.1f} s "
          f"(best sharpe {best:.3f}); full grid of {len(all_pairs)}: "
          f"{'measured' if len(pairs) == len(all_pairs) else 'extrapolated'} {full:.1f} s")


if __name__ == "__main__":
    main()
