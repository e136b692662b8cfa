#!/usr/bin/env python3
"""Golden files from backtesting.py 0.6.6's SmaCross example on GOOG.

Runs exactly the README example (SMA 10/20 cross, cash 10 000, commission 0.002,
exclusive_orders=True, every other Backtest argument at its default) on
datasets/GOOG.csv and writes, under tests/it/golden/:

- bt_smacross_goog_trades.csv  one row per closed trade (backtesting.py's `_trades`
  columns Size, EntryBar, ExitBar, EntryPrice, ExitPrice, PnL, Commission, ReturnPct,
  EntryTime, ExitTime); 0.6.6 leaves a trade still open at the end out of this list
  (finalize_trades=False)
- bt_smacross_goog_equity.csv  bar index, timestamp and equity for every bar
- bt_smacross_lcg100k.json  the same strategy without commission on the first 100 000
  bars of the LCG walk of scripts/bench_backtesting.py (the bench series): trade count,
  final equity, summed PnL and the first and last trades
- bt_smacross_goog_stats.json  the stats Series with backtesting.py's own key names
  (`Sharpe Ratio`, `Return [%]`, ...); timestamps as ISO-8601 text, durations as days
  (number) and as text, NaN as null; the `_strategy`, `_equity_curve` and `_trades`
  entries are left out (the two CSVs hold them)

Usage: python3 scripts/golden_backtesting.py   (from the repository root)
"""
import json
import math
import os

import numpy as np
import pandas as pd
import backtesting
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "it", "golden")


def SMA(values, n):
    """backtesting.py's test SMA: pandas rolling mean."""
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):
    """The README example, verbatim."""

    def init(self):
        price = self.data.Close
        self.ma1 = self.I(SMA, price, 10)
        self.ma2 = self.I(SMA, price, 20)

    def next(self):
        if crossover(self.ma1, self.ma2):
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.sell()


def load_goog():
    df = pd.read_csv(os.path.join(ROOT, "datasets", "GOOG.csv"), parse_dates=["timestamp"])
    df = df.set_index("timestamp")
    df.index.name = None
    return df.rename(columns=str.capitalize)


def jsonable(v):
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, pd.Timedelta):
        return v.total_seconds() / 86400.0
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    return v


def main():
    assert backtesting.__version__.startswith("0.6.6"), backtesting.__version__
    goog = load_goog()
    bt = Backtest(goog, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)
    stats = bt.run()

    trades = stats["_trades"]
    cols = ["Size", "EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "PnL", "Commission",
            "ReturnPct", "EntryTime", "ExitTime"]
    t = trades[cols].copy()
    t["EntryTime"] = t["EntryTime"].dt.strftime("%Y-%m-%d")
    t["ExitTime"] = t["ExitTime"].dt.strftime("%Y-%m-%d")
    t.to_csv(os.path.join(OUT, "bt_smacross_goog_trades.csv"), index=False, float_format="%.17g")

    eq = stats["_equity_curve"]
    e = pd.DataFrame({
        "bar": np.arange(len(eq)),
        "timestamp": eq.index.strftime("%Y-%m-%d"),
        "equity": eq["Equity"].values,
    })
    e.to_csv(os.path.join(OUT, "bt_smacross_goog_equity.csv"), index=False, float_format="%.17g")

    out = {}
    for k, v in stats.items():
        if k in ("_strategy", "_equity_curve", "_trades"):
            continue
        out[k] = jsonable(v)
        if isinstance(v, pd.Timedelta):
            out[k + " (text)"] = str(v)
    out["_strategy"] = str(stats["_strategy"])
    out["_backtesting_version"] = backtesting.__version__
    with open(os.path.join(OUT, "bt_smacross_goog_stats.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(stats)
    lcg_summary()


def lcg_summary():
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_backtesting import lcg_walk
    df = lcg_walk(100_000)
    stats = Backtest(df, SmaCross, cash=10_000, commission=0.0, exclusive_orders=True).run()
    t = stats["_trades"]

    def row(r):
        return {"Size": int(r.Size), "EntryBar": int(r.EntryBar), "ExitBar": int(r.ExitBar),
                "EntryPrice": float(r.EntryPrice), "ExitPrice": float(r.ExitPrice),
                "PnL": float(r.PnL)}

    out = {
        "bars": len(df),
        "trades": len(t),
        "equity_final": float(stats["Equity Final [$]"]),
        "pnl_sum": float(t.PnL.sum()),
        "first": [row(r) for r in t.head(5).itertuples()],
        "last": row(next(t.tail(1).itertuples())),
    }
    with open(os.path.join(OUT, "bt_smacross_lcg100k.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
