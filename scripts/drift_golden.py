#!/usr/bin/env python3
"""Golden files for algolab's drift detectors (src/ai/online/drift.rs) from Python `river`.

Streams with known change points are generated here from numpy's seeded PCG64 generator and
written with the reference detectors' output, so the Rust tests need no Python:
  tests/it/golden/drift_page_hinkley.json
  tests/it/golden/drift_adwin.json
Each file holds the streams (values written by `json`, i.e. shortest round-trip repr, and the
known change points) and, per (stream, parameters) case, the indexes where `drift_detected`
became true; for ADWIN also the window width after every update and the estimation (mean of
the window) every 25th update and at each detection.

Usage (river 0.26.1 was used for the committed files):
    python3 -m venv /tmp/rivenv && /tmp/rivenv/bin/pip install river
    /tmp/rivenv/bin/python scripts/drift_golden.py [--out tests/it/golden]
"""
import argparse
import json
import os

import numpy as np
import river
from river import drift


def streams():
    """(name, values, known change points) with fixed seeds."""
    rng = np.random.default_rng(20260101)
    out = []
    # a mean shift of two standard deviations
    a = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(2.0, 1.0, 1000)])
    out.append(("gauss_shift_up", a, [1000]))
    # trade returns: a strategy with an edge that loses it (per-trade return, fractions)
    b = np.concatenate([rng.normal(0.004, 0.02, 400), rng.normal(-0.006, 0.02, 400)])
    out.append(("trade_returns_decay", b, [400]))
    # win/loss indicator: win rate 60 % then 30 %, then back to 60 %
    c = np.concatenate(
        [
            (rng.random(500) < 0.6).astype(float),
            (rng.random(500) < 0.3).astype(float),
            (rng.random(500) < 0.6).astype(float),
        ]
    )
    out.append(("win_rate_down_up", c, [500, 1000]))
    # no change at all: any detection is a false alarm, and must match river's
    d = rng.normal(0.0, 1.0, 1500)
    out.append(("stationary", d, []))
    # a large step down in a scaled series (Page-Hinkley's default threshold suits it)
    e = np.concatenate([rng.normal(10.0, 2.0, 600), rng.normal(0.0, 2.0, 600)])
    out.append(("step_down_large", e, [600]))
    return out


PH_PARAMS = [
    dict(min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001, mode="both"),
    dict(min_instances=10, delta=0.005, threshold=0.5, alpha=1 - 0.0001, mode="both"),
    dict(min_instances=10, delta=0.001, threshold=0.2, alpha=0.999, mode="down"),
    dict(min_instances=10, delta=0.001, threshold=0.2, alpha=0.999, mode="up"),
    # the online learner's setting for per-trade returns (src/ai/online/mod.rs)
    dict(min_instances=20, delta=0.002, threshold=0.15, alpha=1 - 0.0001, mode="down"),
]

ADWIN_PARAMS = [
    dict(delta=0.002, clock=32, max_buckets=5, min_window_length=5, grace_period=10),
    dict(delta=0.01, clock=1, max_buckets=5, min_window_length=5, grace_period=10),
    dict(delta=0.05, clock=4, max_buckets=3, min_window_length=3, grace_period=5),
]


def run_ph(values, params):
    det = drift.PageHinkley(**params)
    hits = []
    for i, x in enumerate(values):
        det.update(float(x))
        if det.drift_detected:
            hits.append(i)
    return {"params": params, "detections": hits}


def run_adwin(values, params):
    det = drift.ADWIN(**params)
    hits, width, est = [], [], []
    for i, x in enumerate(values):
        det.update(float(x))
        if det.drift_detected:
            hits.append(i)
        width.append(int(det.width))
        est.append(float(det.estimation))
    # the estimation every 25th update and at each detection keeps the file small
    sampled = [[i, e] for i, e in enumerate(est) if i % 25 == 0 or i in hits]
    return {"params": params, "detections": hits, "width": width, "estimation": sampled}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/it/golden")
    args = ap.parse_args()
    ss = streams()
    for name, runner, grid in (
        ("page_hinkley", run_ph, PH_PARAMS),
        ("adwin", run_adwin, ADWIN_PARAMS),
    ):
        doc = {
            "river_version": river.__version__,
            "generator": "numpy PCG64 seed 20260101",
            "streams": {},
            "cases": [],
        }
        for sname, values, changes in ss:
            vals = [float(v) for v in values]
            doc["streams"][sname] = {"change_points": changes, "values": vals}
            for p in grid:
                case = {"stream": sname}
                case.update(runner(vals, p))
                doc["cases"].append(case)
        path = os.path.join(args.out, f"drift_{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        print(path, len(doc["cases"]), "cases")


if __name__ == "__main__":
    main()
