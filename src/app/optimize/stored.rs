//! The report of a recorded optimisation run, rebuilt from the learning DB (`algolab
//! report RUN_ID` of an optimize run, issue 10): the summary stored when the run finished,
//! every trial of the search over all bars, the heatmap when exactly two parameters vary
//! and the top table. The winner's equity and the walk-forward curve are not stored, so
//! the rebuilt page has no equity chart.

use std::collections::BTreeSet;

use serde_json::Value;

use super::record::{TRIAL_KEYS, metrics_from_json};
use super::{SCOPE_ALL, eligible};
use crate::Error;
use crate::optimize::{Candidate, Trial};
use crate::report::optimize::{Heatmap, OptimizeReport};
use crate::store::{Store, StoredRun};

/// The optimisation report of recorded run `run`.
///
/// # Errors
/// [`Error::Store`] when the trials cannot be read; [`Error::Usage`] when the run has no
/// recorded trial.
pub fn stored_report(store: &Store, run: &StoredRun) -> Result<OptimizeReport, Error> {
    let rows = store.load_optimization_results(run.id, SCOPE_ALL)?;
    if rows.is_empty() {
        return Err(Error::Usage(format!(
            "optimize run {} has no recorded trial",
            run.id
        )));
    }
    let summary_json: Value = run
        .stats_json
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let objective = rows[0].objective.clone();
    let metric = objective.trim_start_matches('-').to_string();
    let trials: Vec<Trial> = rows
        .iter()
        .filter_map(|r| {
            let params: Candidate = serde_json::from_str(&r.params_json).ok()?;
            Some(Trial {
                index: usize::try_from(r.trial).ok()?,
                params,
                metrics: metrics_from_json(&r.metrics_json),
                value: r.value.unwrap_or(f64::NEG_INFINITY),
            })
        })
        .collect();
    let mut summary = vec![
        ("run".to_string(), run.id.to_string()),
        ("objective".to_string(), objective.clone()),
        ("trials".to_string(), trials.len().to_string()),
    ];
    if run.stats_json.is_none() {
        summary.push(("status".into(), "unfinished (resume it)".into()));
    }
    for (key, label) in [("dsr", "deflated Sharpe ratio"), ("pbo", "PBO")] {
        if let Some(v) = summary_json.get(key).filter(|v| !v.is_null()) {
            summary.push((label.to_string(), compact(v)));
        }
    }
    let mut ranked: Vec<&Trial> = trials.iter().filter(|t| eligible(t, 0)).collect();
    ranked.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.index.cmp(&b.index)));
    if let Some(b) = ranked.first() {
        let p: Vec<String> = b.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        summary.push(("best".into(), p.join(" ")));
        summary.push((metric.clone(), fmt(b.metrics.get(&metric).copied())));
    }
    let mut head = vec!["trial".to_string(), "params".to_string()];
    head.extend(TRIAL_KEYS.iter().map(|k| k.to_string()));
    let rows = ranked
        .iter()
        .take(10)
        .map(|t| {
            let p: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut row = vec![t.index.to_string(), p.join(" ")];
            row.extend(TRIAL_KEYS.iter().map(|k| fmt(t.metrics.get(*k).copied())));
            row
        })
        .collect();
    // the winner's equity, stored when the run finished (empty for older runs)
    let (best_ts_ms, best_equity) = store.load_equity(run.id)?;
    Ok(OptimizeReport {
        title: format!(
            "{} · {} · optimize {metric} (run {})",
            run.record.symbol.as_deref().unwrap_or("-"),
            run.record.strategy.as_deref().unwrap_or("-"),
            run.id
        ),
        summary,
        heatmap: heatmap(&trials, &metric),
        values: trials
            .iter()
            .filter_map(|t| t.metrics.get(&metric).copied())
            .collect(),
        metric,
        best_equity,
        best_ts_ms,
        oos_equity: Vec::new(),
        oos_ts_ms: Vec::new(),
        folds: Vec::new(),
        table: (head, rows),
    })
}

/// A heatmap over the two parameters that vary, when exactly two do.
fn heatmap(trials: &[Trial], metric: &str) -> Option<Heatmap> {
    let names: BTreeSet<&String> = trials.iter().flat_map(|t| t.params.keys()).collect();
    let varying: Vec<&String> = names
        .into_iter()
        .filter(|n| {
            let vals: BTreeSet<u64> = trials
                .iter()
                .filter_map(|t| t.params.get(*n))
                .map(|v| v.as_f64().to_bits())
                .collect();
            vals.len() > 1
        })
        .collect();
    let [y, x] = varying.as_slice() else {
        return None;
    };
    let axis = |n: &String| -> Vec<f64> {
        let mut v: Vec<f64> = trials
            .iter()
            .filter_map(|t| t.params.get(n))
            .map(|v| v.as_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let (xs, ys) = (axis(x), axis(y));
    let mut values = vec![vec![f64::NAN; xs.len()]; ys.len()];
    let mut best: Option<(usize, usize, f64)> = None;
    for t in trials {
        let (Some(yv), Some(xv)) = (t.params.get(*y), t.params.get(*x)) else {
            continue;
        };
        let r = ys.iter().position(|v| *v == yv.as_f64());
        let c = xs.iter().position(|v| *v == xv.as_f64());
        if let (Some(r), Some(c)) = (r, c) {
            let v = t.metrics.get(metric).copied().unwrap_or(f64::NAN);
            values[r][c] = v;
            if v.is_finite() && best.is_none_or(|(_, _, b)| v > b) {
                best = Some((r, c, v));
            }
        }
    }
    Some(Heatmap {
        x_name: (*x).clone(),
        y_name: (*y).clone(),
        xs,
        ys,
        values,
        best: best.map(|(r, c, _)| (r, c)),
    })
}

fn compact(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |x| fmt(Some(x))),
        Value::Object(m) => m
            .iter()
            .filter(|(_, v)| v.is_number())
            .map(|(k, v)| format!("{k} {}", compact(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        _ => "-".into(),
    }
}
