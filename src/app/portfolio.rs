//! `backtest --strategy portfolio --strategies technical,evolved:3,ai`: several strategies on
//! one account through the meta-allocator ([`crate::ai::allocator`]).
//!
//! Each strategy runs over the bars on its own (with the run's settings) and its equity curve
//! gives its per-bar return `r_i(t)`. Sub-book `i` starts at its target weight of the account
//! and grows with `r_i` (the strategies size as fractions of their equity, so a sub-book's
//! return does not depend on its size); the unallocated rest stays in cash. When a strategy's
//! trade closes, the allocator records its return and retargets (recent Sharpe → weights in
//! [5 %, 40 %]); when any sub-book's share drifts more than 5 points from its target, all are
//! reset to the targets. Attribution: the profit of each sub-book, summed bar by bar.
//!
//! Limitation: the strategies do not see the allocator, so the 2 % daily risk budget
//! ([`crate::ai::allocator::Allocator::grant_risk`]) is not applied here (it needs the engine to
//! run several books in one loop); the per-day risk the strategies took is not reported.

use crate::Error;
use crate::ai::allocator::{Allocator, AllocatorConfig};
use crate::app::Ctx;
use crate::app::backtest::{BacktestOutcome, BacktestRequest, LoadedData, run_strategy};
use crate::engine::BacktestConfig;
use crate::metrics::{Stats, StatsInput, compute};
use crate::order::Trade;
use crate::strategy::{self, Params};

/// One strategy's part of the account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attribution {
    /// The strategy as given (`evolved:3`).
    pub strategy: String,
    /// Its weight at the end.
    pub final_weight: f64,
    /// Profit of its sub-book.
    pub pnl: f64,
    /// That profit as a percent of the starting cash.
    pub contribution_pct: f64,
    /// Its own return when run alone on the whole account, percent.
    pub alone_return_pct: f64,
    /// Its trades.
    pub trades: usize,
}

/// The account's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PortfolioOutcome {
    /// The account's statistics.
    pub stats: Stats,
    /// Per strategy.
    pub attribution: Vec<Attribution>,
    /// Rebalances done.
    pub rebalances: u64,
    /// The account's equity per bar.
    #[serde(skip)]
    pub equity: Vec<f64>,
}

fn build_one(
    ctx: &Ctx,
    spec: &str,
    data: &LoadedData,
    req: &BacktestRequest,
) -> Result<BacktestOutcome, Error> {
    let (name, arg) = spec.split_once(':').unwrap_or((spec, ""));
    let cfg: &BacktestConfig = &req.cfg;
    match name {
        "evolved" => {
            let id: i64 = arg.parse().map_err(|_| {
                Error::Usage(format!(
                    "{spec}: evolved needs a stored genome id, evolved:N"
                ))
            })?;
            let store = ctx.store()?;
            let mut s = crate::app::evolve::evolved_strategy(
                crate::app::evolve::stored_genome(&store, id)?,
                Some(id),
            )?;
            run_strategy(&data.bars, &mut *s, spec, &Params::default(), cfg)
        }
        "ai" => {
            let params = crate::app::backtest::resolve_params("ai", &[])?;
            let (mut s, _) = crate::app::ai::build(ctx, &data.label, &params, &req.ai)?;
            run_strategy(&data.bars, &mut s, spec, &params, cfg)
        }
        "dqn" | "leverage-dqn" => Err(Error::Usage(format!(
            "{spec}: no trained {name} model in this build (see `algolab ai status`)"
        ))),
        _ => {
            let params = crate::app::backtest::resolve_params(name, &[])?;
            let mut s = strategy::build(name, &params)?;
            run_strategy(&data.bars, &mut *s, spec, &params, cfg)
        }
    }
}

/// Load the bars of `req` and run its strategies on one account.
///
/// # Errors
/// As [`run`], and [`Error::Data`] for bad data.
pub fn run_request(
    ctx: &Ctx,
    req: &BacktestRequest,
) -> Result<(LoadedData, PortfolioOutcome), Error> {
    req.cfg.validate()?;
    let data = crate::app::backtest::load_data(&req.data, &ctx.data_dir)?;
    let out = run(ctx, req, &data)?;
    Ok((data, out))
}

/// Run the strategies of `req.strategies` on one account.
///
/// # Errors
/// [`Error::Usage`] for fewer than two strategies or a bad spec; engine and DB failures.
pub fn run(ctx: &Ctx, req: &BacktestRequest, data: &LoadedData) -> Result<PortfolioOutcome, Error> {
    if req.strategies.len() < 2 {
        return Err(Error::Usage(
            "--strategy portfolio needs --strategies A,B[,…] (at least two)".into(),
        ));
    }
    let outs: Vec<BacktestOutcome> = req
        .strategies
        .iter()
        .map(|s| build_one(ctx, s, data, req))
        .collect::<Result<_, _>>()?;
    let first = outs.iter().map(|o| o.result.first_bar).max().unwrap_or(0);
    let n = outs
        .iter()
        .map(|o| o.result.first_bar + o.result.equity.len())
        .min()
        .unwrap_or(0);
    let ts = data.bars.ts_ms();
    let mut alloc = Allocator::new(AllocatorConfig::default(), req.strategies.clone());
    let cash0 = req.cfg.cash;
    let mut books: Vec<f64> = alloc.target.iter().map(|w| w * cash0).collect();
    let mut cash = cash0 - books.iter().sum::<f64>();
    let mut pnl = vec![0.0; outs.len()];
    let mut equity = Vec::with_capacity(n.saturating_sub(first));
    let eq_at = |o: &BacktestOutcome, t: usize| o.result.equity[t - o.result.first_bar];
    for (t, &ts_t) in ts.iter().enumerate().take(n).skip(first) {
        if t > first {
            for (i, o) in outs.iter().enumerate() {
                let (a, b) = (eq_at(o, t - 1), eq_at(o, t));
                let r = if a > 0.0 { b / a - 1.0 } else { 0.0 };
                let gain = books[i] * r;
                books[i] += gain;
                pnl[i] += gain;
            }
        }
        let mut closed = false;
        for (i, o) in outs.iter().enumerate() {
            for tr in o.result.trades.iter().filter(|tr| tr.exit_ts_ms == ts_t) {
                alloc.record(i, tr.return_pct / 100.0);
                closed = true;
            }
        }
        if closed && alloc.needs_rebalance(&books) {
            let (b, c) = alloc.rebalance(&books, cash);
            books = b;
            cash = c;
        }
        equity.push(books.iter().sum::<f64>() + cash);
    }
    let mut trades: Vec<Trade> = outs
        .iter()
        .flat_map(|o| o.result.trades.iter().copied())
        .collect();
    trades.sort_by_key(|t| (t.exit_ts_ms, t.entry_ts_ms));
    let len = equity.len();
    let exposure: Vec<bool> = (first..first + len)
        .map(|t| {
            outs.iter().any(|o| {
                o.result
                    .exposure
                    .get(t - o.result.first_bar)
                    .copied()
                    .unwrap_or(false)
            })
        })
        .collect();
    let stats = compute(&StatsInput {
        ts_ms: &ts[first..first + len],
        close: &data.bars.close()[first..first + len],
        equity: &equity,
        exposure: &exposure,
        trades: &trades,
        fees_paid: outs.iter().map(|o| o.result.fees_paid).sum(),
        cash0,
    });
    let attribution = outs
        .iter()
        .enumerate()
        .map(|(i, o)| Attribution {
            strategy: req.strategies[i].clone(),
            final_weight: alloc.target[i],
            pnl: pnl[i],
            contribution_pct: 100.0 * pnl[i] / cash0,
            alone_return_pct: o.stats.return_pct,
            trades: o.result.trades.len(),
        })
        .collect();
    Ok(PortfolioOutcome {
        stats,
        attribution,
        rebalances: alloc.rebalances,
        equity,
    })
}
