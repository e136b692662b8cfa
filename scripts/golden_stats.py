#!/usr/bin/env python3
"""Golden stats from backtesting.py 0.6.6 for tests/it/metrics_golden.rs.

Runs the README's SmaCross example on backtesting.py's bundled GOOG data
(SMA 10/20, cash 10 000, commission .002, exclusive_orders=True as in the README) and writes:

- tests/it/golden/bt_stats_goog_equity.csv: timestamp, equity, in_position (1 when a closed
  trade spans the bar, the same rule compute_stats uses for exposure), close
- tests/it/golden/bt_stats_goog_trades.csv: the closed trades (ReturnPct is a fraction)
- tests/it/golden/bt_stats_goog_stats.json: every stat as a number (NaN -> null), durations
  as days, plus warmup_bars (the first bar buy & hold is measured from) and cash.

Usage: python3 scripts/golden_stats.py   (from the repository root)
"""
import json
import math
import os
import sys

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA
from backtesting._util import _indicator_warmup_nbars

OUT = os.path.join("tests", "it", "golden")


class SmaCross(Strategy):
    def init(self):
        price = self.data.Close
        self.ma1 = self.I(SMA, price, 10)
        self.ma2 = self.I(SMA, price, 20)

    def next(self):
        if crossover(self.ma1, self.ma2):
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.sell()


def num(v):
    if isinstance(v, pd.Timedelta):
        return v / pd.Timedelta(days=1)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    v = float(v)
    return v if math.isfinite(v) else None


def main():
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=.002, exclusive_orders=True)
    stats = bt.run()
    eq = stats["_equity_curve"]
    trades = stats["_trades"]
    n = len(eq)
    inpos = np.zeros(n, dtype=int)
    for t in trades[["EntryBar", "ExitBar"]].itertuples(index=False):
        inpos[t.EntryBar:t.ExitBar + 1] = 1
    os.makedirs(OUT, exist_ok=True)
    pd.DataFrame({
        "timestamp": [ts.strftime("%Y-%m-%dT%H:%M:%SZ") for ts in eq.index],
        "equity": [repr(float(x)) for x in eq["Equity"]],
        "in_position": inpos,
        "close": [repr(float(x)) for x in GOOG["Close"]],
    }).to_csv(os.path.join(OUT, "bt_stats_goog_equity.csv"), index=False)
    tcols = ["EntryBar", "ExitBar", "Size", "EntryPrice", "ExitPrice", "PnL", "ReturnPct",
             "EntryTime", "ExitTime", "Commission"]
    tdf = trades[tcols].copy()
    for c in ("EntryTime", "ExitTime"):
        tdf[c] = tdf[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in ("EntryPrice", "ExitPrice", "PnL", "ReturnPct", "Commission"):
        tdf[c] = [repr(float(x)) for x in tdf[c]]
    tdf.to_csv(os.path.join(OUT, "bt_stats_goog_trades.csv"), index=False)
    out = {k: num(v) for k, v in stats.items() if not k.startswith("_")}
    out["warmup_bars"] = int(_indicator_warmup_nbars(stats["_strategy"]))
    # backtesting.py ceils the reported durations to the data's resolution; keep the raw
    # means too, and the same durations counted in bars (positions in the index).
    ddd = eq["DrawdownDuration"].dropna()
    dd_bars = [eq.index.get_loc(ts) - eq.index.get_loc(ts - d) for ts, d in ddd.items()]
    out["raw_avg_drawdown_duration_days"] = num(ddd.mean())
    out["raw_avg_trade_duration_days"] = num(trades["Duration"].mean())
    out["max_drawdown_duration_bars"] = int(max(dd_bars))
    out["avg_drawdown_duration_bars"] = float(np.mean(dd_bars))
    tbars = trades["ExitBar"] - trades["EntryBar"]
    out["max_trade_duration_bars"] = int(tbars.max())
    out["avg_trade_duration_bars"] = float(tbars.mean())
    out["cash"] = 10_000.0
    with open(os.path.join(OUT, "bt_stats_goog_stats.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(stats.drop(["_strategy", "_equity_curve", "_trades"]).to_string(), file=sys.stderr)


if __name__ == "__main__":
    main()
