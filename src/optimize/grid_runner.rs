//! The exhaustive-search runner: evaluate every candidate on rayon, collect the trials in
//! candidate order, and pick the best one with a deterministic tie-break.
//!
//! The evaluation is a caller-supplied closure (the `optimize` command passes one that runs a
//! backtest and returns its stats as a metric map), so this module never touches the engine.
//! Results depend only on the candidates and the closure, never on the thread count.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::space::Candidate;

/// Named metrics of one evaluation (the stats JSON's numeric keys: `sharpe`, `trades`, …).
pub type MetricMap = BTreeMap<String, f64>;

/// The metric [`best`] reads the trade count from.
pub const TRADES_KEY: &str = "trades";

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trial {
    /// Position of the candidate in the input.
    pub index: usize,
    /// The parameters.
    pub params: Candidate,
    /// The evaluation's metrics; empty when it failed.
    pub metrics: MetricMap,
    /// The objective: `metrics[maximize]`, or −∞ when missing, NaN or failed.
    pub value: f64,
}

/// The objective value of `metrics` for key `maximize`: −∞ when absent or NaN.
fn objective(metrics: &MetricMap, maximize: &str) -> f64 {
    match metrics.get(maximize) {
        Some(v) if !v.is_nan() => *v,
        _ => f64::NEG_INFINITY,
    }
}

/// Evaluate every candidate in parallel with `eval` (`None` = the evaluation failed) and
/// return the trials in candidate order, each valued by metric `maximize`.
pub fn run_grid<F>(candidates: &[Candidate], maximize: &str, eval: F) -> Vec<Trial>
where
    F: Fn(&Candidate) -> Option<MetricMap> + Sync,
{
    (0..candidates.len())
        .into_par_iter()
        .map(|index| {
            let params = candidates[index].clone();
            let metrics = eval(&params).unwrap_or_default();
            let value = objective(&metrics, maximize);
            Trial {
                index,
                params,
                metrics,
                value,
            }
        })
        .collect()
}

/// The trial with the highest `metrics[maximize]` among those with at least `min_trades`
/// trades (metric [`TRADES_KEY`], 0 when absent); NaN or missing values never win; ties go
/// to the lowest index. `None` when no trial qualifies.
pub fn best<'a>(trials: &'a [Trial], maximize: &str, min_trades: usize) -> Option<&'a Trial> {
    let mut out: Option<(&Trial, f64)> = None;
    for t in trials {
        let trades = t.metrics.get(TRADES_KEY).copied().unwrap_or(0.0);
        if trades < min_trades as f64 {
            continue;
        }
        let Some(&v) = t.metrics.get(maximize).filter(|v| !v.is_nan()) else {
            continue;
        };
        let better = match out {
            None => true,
            Some((b, bv)) => v > bv || (v == bv && t.index < b.index),
        };
        if better {
            out = Some((t, v));
        }
    }
    out.map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::ParamValue;

    fn cand(x: i64) -> Candidate {
        [("x".to_string(), ParamValue::Int(x))].into()
    }

    fn metrics(sharpe: f64, trades: f64) -> MetricMap {
        [
            ("sharpe".to_string(), sharpe),
            ("trades".to_string(), trades),
        ]
        .into()
    }

    #[test]
    fn trials_come_back_in_candidate_order_with_values() {
        let cands: Vec<Candidate> = (0..5).map(cand).collect();
        let trials = run_grid(&cands, "sharpe", |c| {
            let x = c["x"].as_i64();
            (x != 3).then(|| metrics(x as f64 * 0.5, 10.0))
        });
        let idx: Vec<usize> = trials.iter().map(|t| t.index).collect();
        assert_eq!(idx, vec![0, 1, 2, 3, 4]);
        assert_eq!(trials[2].value, 1.0);
        assert_eq!(trials[3].value, f64::NEG_INFINITY);
        assert!(trials[3].metrics.is_empty());
        assert_eq!(trials[4].params, cand(4));
    }

    #[test]
    fn best_breaks_ties_by_lowest_index_and_filters_by_trades() {
        let t = |index: usize, sharpe: f64, trades: f64| Trial {
            index,
            params: cand(index as i64),
            metrics: metrics(sharpe, trades),
            value: sharpe,
        };
        let trials = vec![
            t(0, 1.0, 50.0),
            t(1, 2.0, 50.0),
            t(2, 2.0, 50.0),
            t(3, 9.0, 2.0),
        ];
        assert_eq!(best(&trials, "sharpe", 0).map(|t| t.index), Some(3));
        assert_eq!(best(&trials, "sharpe", 10).map(|t| t.index), Some(1));
        let reversed: Vec<Trial> = trials.iter().rev().cloned().collect();
        assert_eq!(best(&reversed, "sharpe", 10).map(|t| t.index), Some(1));
        assert!(best(&trials, "sharpe", 100).is_none());
        assert!(best(&trials, "sortino", 0).is_none());
        let nan = vec![t(0, f64::NAN, 50.0), t(1, -5.0, 50.0)];
        assert_eq!(best(&nan, "sharpe", 0).map(|t| t.index), Some(1));
    }
}
