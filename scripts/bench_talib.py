#!/usr/bin/env python3
"""Time TA-Lib (python `talib`) on the same seeded random walk as benches/indicators.rs.

The bars come from the same 64-bit LCG (Knuth MMIX constants) and formulas as `lcg_walk`
in benches/indicators.rs, seed 42, so both sides see identical float64 data:
  state = state * 6364136223846793005 + 1442695040888963407  (mod 2**64)
  u     = (state >> 11) * 2**-53
  open = previous close (first 100); close = open * (1 + (u1 - 0.5) * 0.002)
  high = max(open, close) * (1 + u2 * 0.001); low = min(open, close) * (1 - u3 * 0.001)
  volume = 1000 + floor(u4 * 1000)
Prints bars/s per indicator (best of REPS runs of one full-array call), timed by the
thread's CPU time (ALGOLAB_BENCH_CLOCK=wall: wall time), as benches/indicators.rs times ours. DMI(14) is the four
calls that give +DI, -DI, DX and ADX (what our one-pass `Dmi::columns` returns).

Run: python3 scripts/bench_talib.py [N] [REPS]   (N bars, default 1000000; REPS default 5)
scripts/bench_indicators.sh runs it beside benches/indicators.rs and prints the ratios.
"""
import math
import os
import sys
import time

import numpy as np
import talib

MASK = (1 << 64) - 1


def lcg_walk(n, seed=42):
    state = seed
    o = np.empty(n); h = np.empty(n); l = np.empty(n); c = np.empty(n); v = np.empty(n)
    close = 100.0
    scale = 1.0 / 9007199254740992.0
    for i in range(n):
        u = []
        for _ in range(4):
            state = (state * 6364136223846793005 + 1442695040888963407) & MASK
            u.append((state >> 11) * scale)
        op = close
        close = op * (1.0 + (u[0] - 0.5) * 0.002)
        o[i] = op
        c[i] = close
        h[i] = max(op, close) * (1.0 + u[1] * 0.001)
        l[i] = min(op, close) * (1.0 - u[2] * 0.001)
        v[i] = 1000.0 + math.floor(u[3] * 1000.0)
    return o, h, l, c, v


def clock():
    """Seconds of this thread's CPU time, or wall time with ALGOLAB_BENCH_CLOCK=wall."""
    if os.environ.get("ALGOLAB_BENCH_CLOCK") == "wall":
        return time.perf_counter()
    return time.thread_time()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    o, h, l, c, v = lcg_walk(n)
    print(f"checksum close[-1] = {c[-1]!r}", file=sys.stderr)
    cases = {
        "SMA(20)": lambda: talib.SMA(c, 20),
        "EMA(12)": lambda: talib.EMA(c, 12),
        "WMA(20)": lambda: talib.WMA(c, 20),
        "RSI(14)": lambda: talib.RSI(c, 14),
        "TRANGE": lambda: talib.TRANGE(h, l, c),
        "ATR(14)": lambda: talib.ATR(h, l, c, 14),
        "PLUS_DI(14)": lambda: talib.PLUS_DI(h, l, c, 14),
        "MINUS_DI(14)": lambda: talib.MINUS_DI(h, l, c, 14),
        "DX(14)": lambda: talib.DX(h, l, c, 14),
        "ADX(14)": lambda: talib.ADX(h, l, c, 14),
        "DMI(14)": lambda: (
            talib.PLUS_DI(h, l, c, 14),
            talib.MINUS_DI(h, l, c, 14),
            talib.DX(h, l, c, 14),
            talib.ADX(h, l, c, 14),
        ),
        "MACD(12,26,9)": lambda: talib.MACD(c, 12, 26, 9),
        "BBANDS(20,2,2)": lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0),
        "STOCH(5,3,3)": lambda: talib.STOCH(h, l, c, 5, 3, 0, 3, 0),
        "OBV": lambda: talib.OBV(c, v),
        "ROC(10)": lambda: talib.ROC(c, 10),
        "MOM(10)": lambda: talib.MOM(c, 10),
        "STDDEV(20,1)": lambda: talib.STDDEV(c, 20, 1.0),
        "VOLUME_SMA(20)": lambda: talib.SMA(v, 20),
        "MAX(30)": lambda: talib.MAX(c, 30),
        "MIN(30)": lambda: talib.MIN(c, 30),
    }
    for name, f in cases.items():
        best = math.inf
        for _ in range(reps):
            t0 = clock()
            f()
            best = min(best, clock() - t0)
        print(f"{name:16s} {n / best / 1e6:10.1f} M bars/s")


if __name__ == "__main__":
    main()
