#!/usr/bin/env python3
"""Golden values for src/optimize/{normal,overfit}.rs, computed independently with scipy and
numpy (no algolab code involved).

Writes:
  tests/it/golden/overfit_dsr.json  - norm.cdf / norm.ppf tables and deflated Sharpe cases
  tests/it/golden/overfit_pbo.json  - CSCV (PBO) cases: the return matrix (as integers in
                                      units of 1e-8, so both sides build bit-identical
                                      floats), PBO and the logits

Run from the repository root:  python3 scripts/golden_overfit.py
"""
import itertools
import json
import math
import pathlib

import numpy as np
from scipy.stats import norm, rankdata

EULER_GAMMA = 0.5772156649015329
OUT = pathlib.Path("tests/it/golden")


def dsr(sr_hat, n_obs, skew, kurt, n_trials, var_trials):
    """Bailey & Lopez de Prado (2014): SR0, DSR = PSR(SR0), PSR(0)."""
    sr0 = math.sqrt(var_trials) * (
        (1 - EULER_GAMMA) * norm.ppf(1 - 1 / n_trials)
        + EULER_GAMMA * norm.ppf(1 - 1 / (n_trials * math.e))
    )
    den = math.sqrt(1 - skew * sr_hat + (kurt - 1) / 4 * sr_hat**2)

    def psr(star):
        return float(norm.cdf((sr_hat - star) * math.sqrt(n_obs - 1) / den))

    return {"sr0": float(sr0), "dsr": psr(sr0), "psr": psr(0.0)}


def dsr_cases():
    rng = np.random.default_rng(20140501)
    cases = []
    # The paper's numerical example, in its (N, V) parametrisation.
    cases.append({"sr_hat": 2.5 / math.sqrt(250), "n_obs": 1250, "skew": -3.0, "kurt": 10.0,
                  "n_trials": 100, "var_trials": 0.5 / 250})
    for n_trials, n_obs, skew, kurt in [(2, 60, 0.0, 3.0), (7, 500, -0.7, 5.5),
                                         (40, 1000, 0.4, 4.0), (250, 2520, -1.2, 9.0)]:
        trials = rng.normal(0.02, 0.03, n_trials).round(6)
        sr_hat = float(trials.max())
        cases.append({"sr_hat": sr_hat, "n_obs": n_obs, "skew": skew, "kurt": kurt,
                      "sr_trials": trials.tolist()})
    for c in cases:
        if "sr_trials" in c:
            t = np.array(c["sr_trials"])
            c["expected"] = dsr(c["sr_hat"], c["n_obs"], c["skew"], c["kurt"], len(t),
                                float(t.var(ddof=1)))
        else:
            c["expected"] = dsr(c["sr_hat"], c["n_obs"], c["skew"], c["kurt"],
                                c["n_trials"], c["var_trials"])
    return cases


def cscv(m, s):
    """Bailey, Borwein, Lopez de Prado & Zhu (2017), written directly."""
    t, n = m.shape
    blocks = np.array_split(np.arange(t), s)
    logits = []
    for combo in itertools.combinations(range(s), s // 2):
        is_rows = np.concatenate([blocks[b] for b in combo])
        oos_rows = np.concatenate([blocks[b] for b in range(s) if b not in combo])
        ins, oos = m[is_rows], m[oos_rows]
        sr_is = ins.mean(axis=0) / ins.std(axis=0, ddof=1)
        sr_oos = oos.mean(axis=0) / oos.std(axis=0, ddof=1)
        best = int(np.argmax(sr_is))
        w = rankdata(sr_oos)[best] / (n + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float((logits <= 0).mean()), logits


def pbo_cases():
    rng = np.random.default_rng(2017)
    cases = []
    for name, t, n, s, full in [("uneven_blocks", 203, 8, 10, True),
                                ("sixteen_splits", 160, 6, 16, False)]:
        drift = rng.normal(0.0, 0.0004, n)
        ints = np.round((rng.normal(0.0003, 0.01, (t, n)) + drift) * 1e8).astype(np.int64)
        m = ints / 1e8
        pbo, logits = cscv(m, s)
        case = {"name": name, "splits": s, "matrix_e8": ints.tolist(), "pbo": pbo,
                "n_combinations": len(logits), "logit_sum": float(logits.sum())}
        if full:
            case["logits"] = logits.tolist()
        else:
            idx = list(range(0, len(logits), 97)) + [len(logits) - 1]
            case["logit_samples"] = [[i, float(logits[i])] for i in idx]
        cases.append(case)
    return cases


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    xs = [-38.0, -20.0, -8.5, -5.0, -3.0, -1.5, -0.3, 0.0, 0.7, 1.96, 2.0, 4.0, 7.0, 9.0]
    ps = [1e-300, 1e-50, 1e-10, 1e-4, 0.0242, 0.0243, 0.1, 0.37, 0.5, 0.8, 0.975, 0.99,
          1 - 1e-8, 1 - 1e-15]
    dsr_doc = {
        "source": "scripts/golden_overfit.py (scipy.stats.norm, numpy)",
        "cdf": [[x, float(norm.cdf(x))] for x in xs],
        "ppf": [[p, float(norm.ppf(p))] for p in ps],
        "dsr": dsr_cases(),
    }
    (OUT / "overfit_dsr.json").write_text(json.dumps(dsr_doc, indent=1) + "\n")
    pbo_doc = {"source": "scripts/golden_overfit.py (numpy, itertools, scipy.stats.rankdata)",
               "cases": pbo_cases()}
    (OUT / "overfit_pbo.json").write_text(json.dumps(pbo_doc) + "\n")


if __name__ == "__main__":
    main()
