//! Judging a search's winner: the top table, the deflated Sharpe ratio, PBO by CSCV and
//! walk-forward validation.
//!
//! DSR: the winner's per-period returns give its Sharpe ratio, skewness and kurtosis; the
//! number of trials is every trial recorded before for the symbol and strategy plus this
//! run's, and the variance is that of all their per-period Sharpe ratios (not annualised).
//!
//! PBO: the T×N matrix of per-period returns of the trials. A big search is capped at
//! `pbo_max_trials` columns: the best `pbo_max_trials − 56` eligible trials by value plus a
//! seeded uniform sample of 56 of the rest (in trial order), so the matrix stays small while
//! the selection still sees the bulk of the search. S = 16 blocks, or the largest even number
//! leaving at least 4 periods a block when there are fewer periods.

use std::ops::Range;

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use super::eval::{Evaluator, SHARPE_PER_PERIOD};
use super::search::{SearchOut, SearchSpec, best_trial, eligible, search};
use super::{FoldOutcome, Observer, OptimizeSpec, PriorTrials, WalkForward};
use crate::Error;
use crate::data::Bars;
use crate::engine::BacktestConfig;
use crate::optimize::overfit::deflated_sharpe_from;
use crate::optimize::{
    DsrResult, PboResult, Trial, folds, pbo_cscv, return_moments, stitch_equity, task_seed,
};
use crate::strategy::Params;

/// Columns of PBO's matrix drawn at random when the search is capped.
const PBO_SAMPLE: usize = 56;
/// PBO's block count.
const PBO_SPLITS: usize = 16;

/// PBO with what it was computed on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PboSummary {
    /// The CSCV result.
    #[serde(flatten)]
    pub result: PboResult,
    /// Trials in the matrix (N).
    pub n_trials: usize,
    /// Periods in the matrix (T).
    pub n_periods: usize,
    /// Blocks (S).
    pub splits: usize,
}

/// The bar window of `cfg.from_ts_ms ..= cfg.to_ts_ms`.
///
/// # Errors
/// [`Error::Usage`] when no bar falls in it.
pub fn window_of(bars: &Bars, cfg: &BacktestConfig) -> Result<Range<usize>, Error> {
    let ts = bars.ts_ms();
    let start = cfg
        .from_ts_ms
        .map_or(0, |from| ts.partition_point(|&x| x < from));
    let end = cfg
        .to_ts_ms
        .map_or(ts.len(), |to| ts.partition_point(|&x| x <= to));
    if start >= end {
        return Err(Error::Usage("no bars in the --from/--to range".into()));
    }
    Ok(start..end)
}

/// The `n` best eligible trials, best first (ties by index).
pub fn top(trials: &[Trial], min_trades: usize, n: usize) -> Vec<Trial> {
    let mut v: Vec<&Trial> = trials.iter().filter(|t| eligible(t, min_trades)).collect();
    v.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.index.cmp(&b.index)));
    v.into_iter().take(n).cloned().collect()
}

/// The deflated Sharpe ratio of the winner with returns `best_returns`, and the number of
/// trials it counts.
pub fn dsr_of(
    main: &SearchOut,
    best_returns: &[f64],
    prior: &PriorTrials,
) -> (Option<DsrResult>, usize) {
    let mut srs: Vec<f64> = prior.sharpe_per_period.clone();
    // a trial this run repeats from an earlier run on the same data counts once
    let mut repeats = 0;
    if !prior.same_data.is_empty() {
        for t in &main.trials {
            if let Some(sr) = prior
                .same_data
                .get(&super::record::key_of(&prior.data_hash, t))
            {
                repeats += 1;
                if let Some(i) = srs.iter().position(|v| v.to_bits() == sr.to_bits()) {
                    srs.remove(i);
                }
            }
        }
    }
    let n_trials = prior.count + main.trials.len() - repeats;
    srs.extend(
        main.trials
            .iter()
            .filter_map(|t| t.metrics.get(SHARPE_PER_PERIOD).copied())
            .filter(|v| v.is_finite()),
    );
    let Some(m) = return_moments(best_returns) else {
        return (None, n_trials);
    };
    if srs.len() < 2 || n_trials < 2 {
        return (None, n_trials);
    }
    let mean = srs.iter().sum::<f64>() / srs.len() as f64;
    let var = srs.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (srs.len() - 1) as f64;
    (
        deflated_sharpe_from(m.sharpe, m.n, m.skew, m.kurt, n_trials, var).ok(),
        n_trials,
    )
}

/// PBO by CSCV over the trials of `main` (capped, see the module doc); `None` with fewer
/// than 2 usable trials or too few periods.
pub fn pbo_of(
    ev: &Evaluator<'_>,
    main: &SearchOut,
    min_trades: usize,
    max_trials: usize,
    seed: u64,
) -> Option<PboSummary> {
    let ranked = top(&main.trials, min_trades, usize::MAX);
    let mut chosen: Vec<usize> = if ranked.len() <= max_trials.max(2) {
        ranked.iter().map(|t| t.index).collect()
    } else {
        let keep = max_trials.saturating_sub(PBO_SAMPLE).max(2);
        let mut c: Vec<usize> = ranked[..keep].iter().map(|t| t.index).collect();
        let rest: Vec<usize> = ranked[keep..].iter().map(|t| t.index).collect();
        let mut rest_sorted = rest.clone();
        rest_sorted.sort_unstable();
        let k = PBO_SAMPLE.min(rest_sorted.len());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut picks: Vec<usize> = sample(&mut rng, rest_sorted.len(), k).into_vec();
        picks.sort_unstable();
        c.extend(picks.into_iter().map(|i| rest_sorted[i]));
        c
    };
    chosen.sort_unstable();
    // returns of the chosen trials (re-run those replayed from the record)
    let missing: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|&i| main.returns.get(i).is_none_or(Option::is_none))
        .collect();
    let cands: Vec<_> = missing
        .iter()
        .map(|&i| main.trials[i].params.clone())
        .collect();
    let rerun = ev.eval_batch(&cands);
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        let r = match missing.iter().position(|&m| m == i) {
            Some(p) => rerun[p].returns.clone(),
            None => main.returns[i].clone().unwrap_or_default(),
        };
        if !r.is_empty() && r.iter().all(|v| v.is_finite()) {
            cols.push(r);
        }
    }
    let t = cols.first()?.len();
    cols.retain(|c| c.len() == t);
    if cols.len() < 2 {
        return None;
    }
    let mut s = PBO_SPLITS;
    while s > 2 && t / s < 4 {
        s -= 2;
    }
    let matrix: Vec<Vec<f64>> = (0..t)
        .map(|r| cols.iter().map(|c| c[r]).collect())
        .collect();
    let result = pbo_cscv(&matrix, s).ok()?;
    Some(PboSummary {
        result,
        n_trials: cols.len(),
        n_periods: t,
        splits: s,
    })
}

/// Walk-forward validation: for each fold, search the training window, run the winner on
/// the test window; returns the folds and the stitched out-of-sample equity.
///
/// # Errors
/// [`Error::Param`] for bad fold settings; search errors.
pub fn walk_forward(
    bars: &Bars,
    spec: &OptimizeSpec,
    base: &Params,
    sspec: &SearchSpec<'_>,
    window: &Range<usize>,
    wf: WalkForward,
    obs: &mut dyn Observer,
) -> Result<(Vec<FoldOutcome>, Vec<f64>), Error> {
    let fs = folds(window.len(), wf.k, wf.train_frac, wf.mode)?;
    let mut out = Vec::with_capacity(fs.len());
    let mut segments = Vec::with_capacity(fs.len());
    for (i, f) in fs.into_iter().enumerate() {
        let shift = |r: &Range<usize>| r.start + window.start..r.end + window.start;
        let (train, test) = (shift(&f.train), shift(&f.test));
        let metric = spec.objective.metric.as_str();
        let ev_train = Evaluator::new(
            bars,
            &spec.strategy,
            base.clone(),
            &spec.cfg,
            train.clone(),
            None,
            metric,
        )?;
        let fold_spec = SearchSpec {
            seed: task_seed(spec.seed, i as u64 + 1),
            stop_after: None,
            ..sspec.clone()
        };
        let scope = format!("fold-{}", i + 1);
        let res = search(&ev_train, &fold_spec, &scope, obs)?;
        let best = best_trial(&res.trials, spec.min_trades).cloned();
        let mut fo = FoldOutcome {
            fold: crate::optimize::Fold {
                train,
                test: test.clone(),
            },
            params: None,
            in_sample: Default::default(),
            out_of_sample: None,
            oos_equity: Vec::new(),
        };
        if let Some(b) = best {
            let params = ev_train.params_of(&b.params)?;
            let ev_test = Evaluator::new(
                bars,
                &spec.strategy,
                base.clone(),
                &spec.cfg,
                test,
                None,
                metric,
            )?;
            let run = ev_test.full(&params)?;
            segments.push(run.result.equity.to_vec());
            fo.in_sample = b.metrics;
            fo.params = Some(params);
            fo.out_of_sample = Some(run.stats);
            fo.oos_equity = run.result.equity.to_vec();
        }
        out.push(fo);
    }
    let eq = stitch_equity(&segments, spec.cfg.cash)?;
    Ok((out, eq))
}
