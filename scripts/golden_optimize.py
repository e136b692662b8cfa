#!/usr/bin/env python3
"""Golden file for `algolab optimize`: backtesting.py 0.6.6's optimizer on GOOG.

Runs
    Backtest(GOOG, SmaCross, cash=10_000, commission=.002, exclusive_orders=True).optimize(
        n1=range(5, 30), n2=range(10, 70, 2), maximize='Equity Final [$]',
        constraint=lambda p: p.n1 < p.n2)
with SmaCross the README/tutorial strategy with parameters n1/n2 (pandas rolling-mean SMAs,
buy on the n1-over-n2 cross, sell on the opposite; exclusive_orders as in the README, which
closes the open position on each new order, like our one-way flips), and writes
tests/it/golden/bt_optimize_goog.json with the best n1, n2, the best Equity Final [$] and
the number of feasible combinations.

Usage: python3 scripts/golden_optimize.py   (from the repository root)
"""
import json
import os

import pandas as pd
import backtesting
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "it", "golden", "bt_optimize_goog.json")


def SMA(values, n):
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):
    n1 = 10
    n2 = 20

    def init(self):
        close = self.data.Close
        self.sma1 = self.I(SMA, close, self.n1)
        self.sma2 = self.I(SMA, close, self.n2)

    def next(self):
        if crossover(self.sma1, self.sma2):
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.sell()


def main():
    assert backtesting.__version__.startswith("0.6.6"), backtesting.__version__
    df = pd.read_csv(os.path.join(ROOT, "datasets", "GOOG.csv"), parse_dates=["timestamp"])
    df = df.set_index("timestamp").rename(columns=str.capitalize)
    df.index.name = None
    bt = Backtest(df, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)
    stats, heat = bt.optimize(n1=range(5, 30), n2=range(10, 70, 2),
                              maximize="Equity Final [$]",
                              constraint=lambda p: p.n1 < p.n2, return_heatmap=True)
    s = stats["_strategy"]
    out = {
        "n1": int(s.n1),
        "n2": int(s.n2),
        "equity_final": float(stats["Equity Final [$]"]),
        "combinations": int(heat.size),
        "second_best_equity_final": float(heat.sort_values(ascending=False).iloc[1]),
        "_backtesting_version": backtesting.__version__,
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(out)


if __name__ == "__main__":
    main()
