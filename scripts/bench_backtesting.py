#!/usr/bin/env python3
"""Throughput of backtesting.py and vectorbt on the same series as benches/backtest.rs.

The series is the shared LCG random walk, computed here operation for operation as the
Rust bench does (IEEE doubles, so bit-identical):
  x <- x*6364136223846793005 + 1442695040888963407 (mod 2**64); u = (x >> 11) * 2**-53
  open = previous close (100 at first); close = open*(1 + 0.02*(u - 0.5)) + 0.0001*(100 - open)
  high = max(open, close)*1.001; low = min(open, close)*0.999; one-minute bars from
  2020-01-01; volume 1; seed 42.
Strategy everywhere: SMA 10/20 cross, long and short, all cash, no commission (at 0.002
per side this 1-minute strategy loses the account within a few thousand bars, and the
run would time an idle loop).

Usage: python3 scripts/bench_backtesting.py [--bars 1000000] [--bt-bars 100000]
backtesting.py is a Python loop, so it runs on the first --bt-bars bars only; each tool's
figure is bars per second of a single run (after a warm-up run for vectorbt's numba JIT).
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

MASK = (1 << 64) - 1


def lcg_walk(n, seed=42):
    x = seed
    price = 100.0
    o = np.empty(n)
    c = np.empty(n)
    scale = 1.0 / 9007199254740992.0
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        u = (x >> 11) * scale
        op = price
        cl = op * (1.0 + 0.02 * (u - 0.5)) + 0.0001 * (100.0 - op)
        o[i] = op
        c[i] = cl
        price = cl
    idx = pd.date_range("2020-01-01", periods=n, freq="min")
    df = pd.DataFrame({"Open": o, "High": np.maximum(o, c) * 1.001,
                       "Low": np.minimum(o, c) * 0.999, "Close": c, "Volume": 1.0}, index=idx)
    return df


def bench_backtesting(df):
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(v, n):
        return pd.Series(v).rolling(n).mean()

    class SmaCross(Strategy):
        def init(self):
            self.ma1 = self.I(sma, self.data.Close, 10)
            self.ma2 = self.I(sma, self.data.Close, 20)

        def next(self):
            if crossover(self.ma1, self.ma2):
                self.buy()
            elif crossover(self.ma2, self.ma1):
                self.sell()

    bt = Backtest(df, SmaCross, cash=10_000, commission=0.0, exclusive_orders=True)
    t0 = time.perf_counter()
    stats = bt.run()
    dt = time.perf_counter() - t0
    return len(df) / dt, int(stats["# Trades"])


def bench_vectorbt(df):
    import vectorbt as vbt

    def run(d):
        close = d["Close"]
        fast = close.rolling(10).mean()
        slow = close.rolling(20).mean()
        up = (fast > slow) & (fast.shift(1) < slow.shift(1))
        down = (fast < slow) & (fast.shift(1) > slow.shift(1))
        # decisions at the close fill at the next open, as in backtesting.py
        pf = vbt.Portfolio.from_signals(
            close, entries=up.shift(1, fill_value=False), exits=False,
            short_entries=down.shift(1, fill_value=False), short_exits=False,
            price=d["Open"], fees=0.0, init_cash=10_000, size=np.inf,
            upon_opposite_entry="reverse", freq="1min")
        return pf.trades.count()

    run(df.iloc[:1000])  # numba JIT warm-up
    t0 = time.perf_counter()
    n_trades = run(df)
    dt = time.perf_counter() - t0
    return len(df) / dt, int(n_trades)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--bt-bars", type=int, default=100_000)
    a = ap.parse_args()
    t0 = time.perf_counter()
    df = lcg_walk(a.bars)
    print(f"generated {a.bars} bars in {time.perf_counter() - t0:.1f} s; "
          f"first closes {df.Close.iloc[:3].tolist()}")
    warnings.simplefilter("ignore")
    rate, n = bench_backtesting(df.iloc[:a.bt_bars])
    print(f"backtesting.py: {rate:,.0f} bars/s ({a.bt_bars} bars, {n} trades)")
    try:
        rate, n = bench_vectorbt(df)
        print(f"vectorbt:       {rate:,.0f} bars/s ({a.bars} bars, {n} trades)")
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"vectorbt: failed: {e!r}")


if __name__ == "__main__":
    main()
