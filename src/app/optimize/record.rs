//! The optimisation run in the learning DB: trials written in batches as they finish
//! ([`DbObserver`]), resume from a run's recorded trials, the prior trial count for the
//! deflated Sharpe ratio, the best stored parameters per regime (`--show`, and
//! `technical`'s per-regime parameters), and the result JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Objective, OptimizeOutcome, PriorTrials, RegimeParams, SCOPE_ALL, eligible};
use crate::Error;
use crate::data::Bars;
use crate::optimize::{Candidate, MetricMap, Trial};
use crate::regime::Regime;
use crate::report::optimize::{FoldRow, Heatmap, OptimizeReport};
use crate::store::{OptimizationRow, Store};
use crate::strategy::{ParamValue, Params};

/// The objective's stored spelling: the metric, `-` first when minimised.
pub fn objective_name(o: &Objective) -> String {
    if o.minimize {
        format!("-{}", o.metric)
    } else {
        o.metric.clone()
    }
}

pub(super) fn metrics_from_json(s: &str) -> MetricMap {
    serde_json::from_str::<BTreeMap<String, Option<f64>>>(s)
        .map(|m| {
            m.into_iter()
                .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default()
}

fn metrics_json(m: &MetricMap) -> String {
    let obj: serde_json::Map<String, Value> =
        m.iter().map(|(k, v)| (k.clone(), json_num(*v))).collect();
    Value::Object(obj).to_string()
}

/// A number, or `null` when not finite.
pub fn json_num(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A progress callback: scope, trials done, trials in the search.
pub type ProgressFn<'a> = Box<dyn FnMut(&str, usize, usize) + 'a>;

/// Records trials of run `run_id` and replays them on resume.
pub struct DbObserver<'a> {
    /// The DB.
    pub store: &'a mut Store,
    /// The run.
    pub run_id: i64,
    /// Symbol.
    pub symbol: String,
    /// Strategy.
    pub strategy: String,
    /// The objective.
    pub objective: Objective,
    /// Trials below this trade count are stored without a value.
    pub min_trades: usize,
    /// Progress callback.
    pub progress: ProgressFn<'a>,
    scope: String,
}

impl<'a> DbObserver<'a> {
    /// An observer writing to `store` under `run_id`.
    pub fn new(
        store: &'a mut Store,
        run_id: i64,
        symbol: &str,
        strategy: &str,
        objective: &Objective,
        min_trades: usize,
        progress: ProgressFn<'a>,
    ) -> Self {
        DbObserver {
            store,
            run_id,
            symbol: symbol.to_string(),
            strategy: strategy.to_string(),
            objective: objective.clone(),
            min_trades,
            progress,
            scope: SCOPE_ALL.to_string(),
        }
    }
}

fn regime_of_scope(scope: &str) -> Option<String> {
    Regime::ALL
        .iter()
        .find(|r| r.as_str() == scope)
        .map(|r| r.as_str().to_string())
}

impl super::Observer for DbObserver<'_> {
    fn progress(&mut self, done: usize, total: usize) {
        (self.progress)(&self.scope, done, total);
    }

    fn stored(&mut self, scope: &str) -> Result<Vec<Trial>, Error> {
        self.scope = scope.to_string();
        let rows = self.store.load_optimization_results(self.run_id, scope)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let params: Candidate = serde_json::from_str(&r.params_json).ok()?;
                let metrics = metrics_from_json(&r.metrics_json);
                Some(Trial {
                    index: usize::try_from(r.trial).ok()?,
                    value: if metrics.is_empty() {
                        f64::NEG_INFINITY
                    } else {
                        self.objective.value(&metrics)
                    },
                    params,
                    metrics,
                })
            })
            .collect())
    }

    fn record(&mut self, scope: &str, trials: &[Trial]) -> Result<(), Error> {
        let objective = objective_name(&self.objective);
        let rows: Vec<OptimizationRow> = trials
            .iter()
            .map(|t| OptimizationRow {
                run_id: self.run_id,
                scope: scope.to_string(),
                trial: t.index as i64,
                symbol: self.symbol.clone(),
                strategy: self.strategy.clone(),
                regime: regime_of_scope(scope),
                objective: objective.clone(),
                params_json: serde_json::to_string(&t.params).unwrap_or_else(|_| "{}".into()),
                metrics_json: metrics_json(&t.metrics),
                value: eligible(t, self.min_trades).then_some(t.value),
            })
            .collect();
        self.store.insert_optimization_results(&rows)?;
        Ok(())
    }
}

/// The identity of a trial for the deflated Sharpe ratio's count: data hash, parameters
/// and metrics (the metrics stand for the settings: the same data, strategy and parameters
/// under other settings give other metrics).
pub fn trial_key(data_hash: &str, params_json: &str, metrics_json: &str) -> String {
    format!("{data_hash}\u{1f}{params_json}\u{1f}{metrics_json}")
}

/// The key of a trial of this run on data `data_hash`, as [`DbObserver`] records it.
pub fn key_of(data_hash: &str, t: &Trial) -> String {
    trial_key(
        data_hash,
        &serde_json::to_string(&t.params).unwrap_or_else(|_| "{}".into()),
        &metrics_json(&t.metrics),
    )
}

/// The distinct trials recorded for `symbol` and `strategy` outside run `except_run`
/// (identical ones, e.g. the same grid run twice, count once: issue 10); this run's data
/// is `data_hash`.
///
/// # Errors
/// [`Error::Store`] when the DB query fails.
pub fn prior_trials(
    store: &Store,
    symbol: &str,
    strategy: &str,
    except_run: Option<i64>,
    data_hash: &str,
) -> Result<PriorTrials, Error> {
    let rows = store.optimization_trials(symbol, strategy, except_run)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = PriorTrials {
        data_hash: data_hash.to_string(),
        ..PriorTrials::default()
    };
    for (hash, params, metrics) in rows {
        let hash = hash.unwrap_or_default();
        let key = trial_key(&hash, &params, &metrics);
        if !seen.insert(key.clone()) {
            continue;
        }
        let sr = metrics_from_json(&metrics)
            .get(super::SHARPE_PER_PERIOD)
            .copied()
            .unwrap_or(f64::NAN);
        if sr.is_finite() {
            out.sharpe_per_period.push(sr);
        }
        if hash == data_hash {
            out.same_data.insert(key, sr);
        }
    }
    out.count = seen.len();
    Ok(out)
}

/// The best stored parameters of `strategy` per regime for `symbol` (objective
/// `objective`, e.g. `sharpe`), as [`crate::strategy::technical::Technical`] switches
/// between them.
///
/// # Errors
/// [`Error::Store`] when the DB query fails.
pub fn regime_params(
    store: &Store,
    symbol: &str,
    strategy: &str,
    objective: &str,
) -> Result<RegimeParams, Error> {
    let mut out = RegimeParams::new();
    for r in store.best_optimization_results(symbol)? {
        if r.strategy != strategy || r.objective != objective {
            continue;
        }
        let Some(regime) = r
            .regime
            .as_deref()
            .and_then(|n| Regime::ALL.into_iter().find(|x| x.as_str() == n))
        else {
            continue;
        };
        if let Ok(p) = serde_json::from_str::<BTreeMap<String, ParamValue>>(&r.params_json) {
            out.push((regime, Params(p)));
        }
    }
    out.sort_by_key(|(r, _)| Regime::ALL.iter().position(|x| x == r));
    Ok(out)
}

/// The keys each trial shows in the JSON and the top table.
pub const TRIAL_KEYS: &[&str] = &[
    "sharpe",
    "return_pct",
    "max_drawdown_pct",
    "trades",
    "win_rate_pct",
    "equity_final",
];

fn params_json(p: &Candidate) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
            .collect(),
    )
}

/// A trial as JSON: number, parameters, value and key metrics (plus the objective's).
pub fn trial_json(t: &Trial, metric: &str) -> Value {
    let mut m = serde_json::Map::new();
    for k in TRIAL_KEYS
        .iter()
        .copied()
        .chain([metric].into_iter().filter(|m| !TRIAL_KEYS.contains(m)))
    {
        m.insert(
            k.to_string(),
            json_num(t.metrics.get(k).copied().unwrap_or(f64::NAN)),
        );
    }
    json!({
        "trial": t.index,
        "params": params_json(&t.params),
        "value": json_num(t.value),
        "metrics": Value::Object(m),
    })
}

/// The result JSON (`--json`).
pub fn outcome_json(
    o: &OptimizeOutcome,
    run_id: Option<i64>,
    symbol: &str,
    strategy: &str,
) -> Value {
    let metric = o.objective.metric.as_str();
    let best = o.best.as_ref().map(|b| {
        json!({
            "trial": b.trial.index,
            "params": serde_json::to_value(&b.params).unwrap_or(Value::Null),
            "value": json_num(b.trial.value),
            "metric": json_num(b.trial.metrics.get(metric).copied().unwrap_or(f64::NAN)),
            "stats": serde_json::to_value(&b.stats).unwrap_or(Value::Null),
        })
    });
    let folds: Vec<Value> = o
        .folds
        .iter()
        .map(|f| {
            let is: serde_json::Map<String, Value> = f
                .in_sample
                .iter()
                .map(|(k, v)| (k.clone(), json_num(*v)))
                .collect();
            json!({
                "train": [f.fold.train.start, f.fold.train.end],
                "test": [f.fold.test.start, f.fold.test.end],
                "params": f.params.as_ref().map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
                "in_sample": Value::Object(is),
                "out_of_sample": f.out_of_sample.as_ref().map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
            })
        })
        .collect();
    let oos_return = match (o.oos_equity.last(), o.best.as_ref()) {
        (Some(last), Some(b)) if !o.folds.is_empty() => {
            let cash0 = b.stats.equity_final / (1.0 + b.stats.return_pct / 100.0);
            json_num((last / cash0 - 1.0) * 100.0)
        }
        _ => Value::Null,
    };
    let regimes: Vec<Value> = o
        .regimes
        .iter()
        .map(|r| {
            json!({
                "regime": r.regime.as_str(),
                "bars": r.bars,
                "trials": r.trials.len(),
                "best": r.best.as_ref().map(|t| trial_json(t, metric)),
            })
        })
        .collect();
    json!({
        "run_id": run_id,
        "symbol": symbol,
        "strategy": strategy,
        "metric": metric,
        "minimize": o.objective.minimize,
        "stopped": o.stopped,
        "n_trials": o.trials.len(),
        "best": best,
        "top": o.top.iter().map(|t| trial_json(t, metric)).collect::<Vec<_>>(),
        "trials": o.trials.iter().map(|t| trial_json(t, metric)).collect::<Vec<_>>(),
        "dsr": o.dsr.map(|d| json!({
            "dsr": json_num(d.dsr), "sr0": json_num(d.sr0), "psr": json_num(d.psr),
            "n_trials": o.dsr_trials,
        })),
        "pbo": o.pbo.as_ref().map(|p| json!({
            "pbo": json_num(p.result.pbo),
            "n_trials": p.n_trials,
            "n_periods": p.n_periods,
            "splits": p.splits,
            "n_combinations": p.result.n_combinations,
        })),
        "walk_forward": if o.folds.is_empty() { Value::Null } else {
            json!({ "folds": folds, "oos_return_pct": oos_return })
        },
        "per_regime": regimes,
    })
}

/// The optimisation report's content: summary, heatmap (exactly two searched parameters on
/// a grid), trial values, the winner's equity and the out-of-sample equity at the dates of
/// `bars` (the data the optimisation ran on), and the walk-forward folds.
pub fn report_of(o: &OptimizeOutcome, bars: &Bars, symbol: &str, strategy: &str) -> OptimizeReport {
    let metric = o.objective.metric.clone();
    let mut summary = vec![("trials".to_string(), o.trials.len().to_string())];
    if let Some(b) = &o.best {
        let p: Vec<String> = b
            .trial
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        summary.push(("best".into(), p.join(" ")));
        summary.push((metric.clone(), fmt(b.trial.metrics.get(&metric).copied())));
    }
    if let Some(d) = o.dsr {
        summary.push((
            "deflated Sharpe ratio".into(),
            format!("{:.4} ({} trials)", d.dsr, o.dsr_trials),
        ));
    }
    if let Some(p) = &o.pbo {
        summary.push(("PBO".into(), format!("{:.4}", p.result.pbo)));
    }
    let heatmap = (o.dims.len() == 2).then(|| {
        let (y, x) = (&o.dims[0], &o.dims[1]);
        let vals = |d: &crate::optimize::Dim| -> Vec<f64> {
            (0..d.n_values().unwrap_or(0))
                .map(|i| d.value_at(i).as_f64())
                .collect()
        };
        let (xs, ys) = (vals(x), vals(y));
        let mut values = vec![vec![f64::NAN; xs.len()]; ys.len()];
        for t in &o.trials {
            let (Some(yv), Some(xv)) = (t.params.get(&y.name), t.params.get(&x.name)) else {
                continue;
            };
            if let (Some(r), Some(c)) = (y.index_of(*yv), x.index_of(*xv))
                && let Some(cell) = values
                    .get_mut(r as usize)
                    .and_then(|row| row.get_mut(c as usize))
            {
                *cell = t.metrics.get(&metric).copied().unwrap_or(f64::NAN);
            }
        }
        let best = o.best.as_ref().and_then(|b| {
            let (yv, xv) = (b.trial.params.get(&y.name)?, b.trial.params.get(&x.name)?);
            Some((y.index_of(*yv)? as usize, x.index_of(*xv)? as usize))
        });
        Heatmap {
            x_name: x.name.clone(),
            y_name: y.name.clone(),
            xs,
            ys,
            values,
            best,
        }
    });
    let ts = bars.ts_ms();
    let span = |r: &std::ops::Range<usize>| {
        let at = |i: usize| {
            ts.get(i.min(ts.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        (at(r.start), at(r.end.saturating_sub(1)))
    };
    // each fold's out-of-sample curve ends with its test window; the stitched curve is
    // their concatenation
    let mut oos_ts_ms = Vec::with_capacity(o.oos_equity.len());
    for f in o.folds.iter().filter(|f| !f.oos_equity.is_empty()) {
        let end = f.fold.test.end.min(ts.len());
        let start = end.saturating_sub(f.oos_equity.len());
        oos_ts_ms.extend_from_slice(&ts[start..end]);
    }
    let folds = o
        .folds
        .iter()
        .map(|f| FoldRow {
            train_ms: span(&f.fold.train),
            test_ms: span(&f.fold.test),
            params: f.params.as_ref().map_or_else(String::new, |p| {
                p.0.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            in_sample: f.in_sample.get(&metric).copied().unwrap_or(f64::NAN),
            oos_return_pct: f.out_of_sample.as_ref().map_or(f64::NAN, |s| s.return_pct),
            oos_sharpe: f.out_of_sample.as_ref().map_or(f64::NAN, |s| s.sharpe),
            oos_trades: f.out_of_sample.as_ref().map(|s| s.trades),
        })
        .collect();
    let mut head = vec!["trial".to_string(), "params".to_string()];
    head.extend(TRIAL_KEYS.iter().map(|k| k.to_string()));
    let rows = o
        .top
        .iter()
        .map(|t| {
            let p: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut row = vec![t.index.to_string(), p.join(" ")];
            row.extend(TRIAL_KEYS.iter().map(|k| fmt(t.metrics.get(*k).copied())));
            row
        })
        .collect();
    OptimizeReport {
        title: format!("{symbol} · {strategy} · optimize {metric}"),
        summary,
        heatmap: heatmap.filter(|h| !h.xs.is_empty() && !h.ys.is_empty()),
        values: o
            .trials
            .iter()
            .filter_map(|t| t.metrics.get(&metric).copied())
            .collect(),
        metric,
        best_equity: o
            .best
            .as_ref()
            .map(|b| b.equity.clone())
            .unwrap_or_default(),
        best_ts_ms: o
            .best
            .as_ref()
            .and_then(|b| ts.get(b.first_bar..b.first_bar + b.equity.len()))
            .map(<[i64]>::to_vec)
            .unwrap_or_default(),
        oos_ts_ms: if oos_ts_ms.len() == o.oos_equity.len() {
            oos_ts_ms
        } else {
            Vec::new()
        },
        oos_equity: o.oos_equity.clone(),
        folds,
        table: (head, rows),
    }
}

/// The stitched out-of-sample equity placed at its bars on the winner's curve (`len` bars
/// from bar `first_bar`): `folds` gives each fold's first test bar and its segment length
/// (0 for a fold without a winner), in the order `stitched` concatenates them; NaN
/// elsewhere, so the chart draws each fold at its dates (issue 10: it started at bar 0).
pub fn align_segments(
    len: usize,
    first_bar: usize,
    folds: &[(usize, usize)],
    stitched: &[f64],
) -> Vec<f64> {
    let mut out = vec![f64::NAN; len];
    let mut k = 0;
    for &(start, n) in folds {
        let at = start.saturating_sub(first_bar);
        for j in 0..n {
            if let (Some(slot), Some(v)) = (out.get_mut(at + j), stitched.get(k + j)) {
                *slot = *v;
            }
        }
        k += n;
    }
    out
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        _ => "-".into(),
    }
}

/// Write the optimisation report into `dir`.
///
/// # Errors
/// [`Error::Report`] when a file or chart cannot be written.
pub fn write_report(
    dir: &std::path::Path,
    o: &OptimizeOutcome,
    bars: &Bars,
    symbol: &str,
    strategy: &str,
) -> Result<(), Error> {
    crate::report::optimize::write(dir, &report_of(o, bars, symbol, strategy))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_10_out_of_sample_equity_sits_at_its_folds_bars() {
        // curve of 10 bars from bar 100; folds test bars 104..106 and 107..110 (the second
        // fold had no winner: 0 bars), stitched [1, 2, 3]
        let a = align_segments(10, 100, &[(104, 2), (106, 0), (108, 1)], &[1.0, 2.0, 3.0]);
        let shown: Vec<Option<f64>> = a.iter().map(|v| v.is_finite().then_some(*v)).collect();
        let n = None;
        assert_eq!(
            shown,
            [n, n, n, n, Some(1.0), Some(2.0), n, n, Some(3.0), n]
        );
    }
}
