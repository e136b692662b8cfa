#!/usr/bin/env python3
"""Write TA-Lib reference values for the indicator golden test.

Reads datasets/{GOOG,EURUSD,BTCUSDT_1h}.csv (timestamp,open,high,low,close,volume) and
writes tests/it/golden/talib_<DATASET>.csv with one column per indicator output, computed by
the python `talib` package (TA-Lib C). Column names are `FUNC:params:field` (params separated by `/`, field empty for
single-output functions), which tests/it/golden_indicators.rs maps to our indicators. Empty
cells are TA-Lib's NaN warm-up; values are printed with repr (shortest round-trip form).
BTCUSDT_1h is cut to its first 10 000 rows to keep the files small (~40k rows otherwise).

Run from the repository root:  python3 scripts/make_golden_talib.py
"""
import csv
import os

import numpy as np
import talib

DATASETS = {"GOOG": None, "EURUSD": None, "BTCUSDT_1h": 10_000}


def load(name, limit):
    with open(os.path.join("datasets", name + ".csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if limit is not None:
        rows = rows[:limit]
    col = lambda k: np.array([float(r[k]) for r in rows], dtype=np.float64)
    return col("high"), col("low"), col("close"), col("volume")


def columns(h, l, c, v):
    out = []
    for n in (5, 20):
        out.append((f"SMA:{n}:", talib.SMA(c, n)))
    for n in (12, 26):
        out.append((f"EMA:{n}:", talib.EMA(c, n)))
    for n in (10, 30):
        out.append((f"WMA:{n}:", talib.WMA(c, n)))
    for n in (2, 14):
        out.append((f"RSI:{n}:", talib.RSI(c, n)))
    out.append(("TRANGE::", talib.TRANGE(h, l, c)))
    for n in (1, 14):
        out.append((f"ATR:{n}:", talib.ATR(h, l, c, n)))
    for n in (5, 14):
        out.append((f"PLUS_DI:{n}:", talib.PLUS_DI(h, l, c, n)))
        out.append((f"MINUS_DI:{n}:", talib.MINUS_DI(h, l, c, n)))
        out.append((f"DX:{n}:", talib.DX(h, l, c, n)))
        out.append((f"ADX:{n}:", talib.ADX(h, l, c, n)))
    for fast, slow, sig in ((12, 26, 9), (5, 35, 5)):
        m, s, hist = talib.MACD(c, fast, slow, sig)
        p = f"{fast}/{slow}/{sig}"
        out += [(f"MACD:{p}:macd", m), (f"MACD:{p}:signal", s), (f"MACD:{p}:hist", hist)]
    for n, up, dn in ((20, 2.0, 2.0), (5, 1.5, 2.5)):
        u, mid, lo = talib.BBANDS(c, n, up, dn, 0)
        p = f"{n}/{up}/{dn}"
        out += [(f"BBANDS:{p}:upper", u), (f"BBANDS:{p}:middle", mid), (f"BBANDS:{p}:lower", lo)]
    for fk, sk, sd in ((5, 3, 3), (14, 3, 5)):
        k, d = talib.STOCH(h, l, c, fk, sk, 0, sd, 0)
        p = f"{fk}/{sk}/{sd}"
        out += [(f"STOCH:{p}:k", k), (f"STOCH:{p}:d", d)]
    out.append(("OBV::", talib.OBV(c, v)))
    for n in (1, 10):
        out.append((f"ROC:{n}:", talib.ROC(c, n)))
        out.append((f"MOM:{n}:", talib.MOM(c, n)))
    for n, dev in ((5, 1.0), (20, 2.0)):
        out.append((f"STDDEV:{n}/{dev}:", talib.STDDEV(c, n, dev)))
    for n in (5, 30):
        out.append((f"MAX:{n}:", talib.MAX(c, n)))
        out.append((f"MIN:{n}:", talib.MIN(c, n)))
    out.append(("VOLUME_SMA:20:", talib.SMA(v, 20)))
    return out


def main():
    os.makedirs(os.path.join("tests", "it", "golden"), exist_ok=True)
    for name, limit in DATASETS.items():
        cols = columns(*load(name, limit))
        path = os.path.join("tests", "it", "golden", f"talib_{name}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow([k for k, _ in cols])
            for i in range(len(cols[0][1])):
                w.writerow(["" if np.isnan(a[i]) else repr(float(a[i])) for _, a in cols])
        print(f"{path}: {len(cols[0][1])} rows, {len(cols)} columns")


if __name__ == "__main__":
    main()
