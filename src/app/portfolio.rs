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
//! **Daily risk budget** (2 % of the account per UTC day,
//! [`crate::ai::allocator::Allocator::grant_risk`]): each entry asks for the account share it
//! risks to its stop — its notional over its strategy's equity × the sub-book's share of the
//! account × the stop distance, taken as 2 × ATR(14) / close at the fill bar (the strategies'
//! default ATR stop) — and the sub-book takes the trade at `granted / asked` of its size
//! until the next entry of that strategy (a strategy is flat between trades, so this scales
//! exactly that trade). Entries cut are counted (`risk_cut_trades`).

use crate::Error;
use crate::ai::allocator::{Allocator, AllocatorConfig};
use crate::app::Ctx;
use crate::app::backtest::{BacktestOutcome, BacktestRequest, LoadedData, run_strategy};
use crate::core::order::Trade;
use crate::engine::BacktestConfig;
use crate::metrics::{Stats, StatsInput, compute};
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
    /// Entries the 2 % daily risk budget cut.
    pub risk_cut_trades: u64,
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
            let (mut s, _, _) = crate::app::ai::build(ctx, data, &params, &req.ai, cfg.leverage)?;
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
    let curves: Vec<Curve<'_>> = outs
        .iter()
        .map(|o| Curve {
            first_bar: o.result.first_bar,
            equity: &o.result.equity,
            trades: &o.result.trades,
        })
        .collect();
    let stop_frac = stop_fracs(&data.bars)?;
    let combined = combine(
        data.bars.ts_ms(),
        &stop_frac,
        &curves,
        first..n,
        req.cfg.cash,
        AllocatorConfig::default(),
        req.strategies.clone(),
    );
    let Combined {
        equity,
        pnl,
        alloc,
        risk_cut_trades,
    } = combined;
    let cash0 = req.cfg.cash;
    let ts = data.bars.ts_ms();
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
        risk_cut_trades,
        equity,
    })
}

/// One strategy's run, as the account combines it.
#[derive(Debug, Clone, Copy)]
pub struct Curve<'a> {
    /// Bar index of `equity[0]`.
    pub first_bar: usize,
    /// Its equity per bar.
    pub equity: &'a [f64],
    /// Its trades.
    pub trades: &'a [Trade],
}

/// What [`combine`] gives.
#[derive(Debug, Clone)]
pub struct Combined {
    /// The account's equity per bar of the range.
    pub equity: Vec<f64>,
    /// Profit of each sub-book.
    pub pnl: Vec<f64>,
    /// The allocator at the end.
    pub alloc: Allocator,
    /// Entries the daily risk budget cut (taken at less than their full size).
    pub risk_cut_trades: u64,
}

/// The protective-stop distance each bar's entry is assumed to risk, as a fraction of the
/// close: 2 × ATR(14) / close (the engine's default ATR stop; `STOP_ATR_MULT`).
///
/// # Errors
/// [`Error::Param`] never in practice (the ATR period is valid).
pub fn stop_fracs(bars: &crate::data::Bars) -> Result<Vec<f64>, Error> {
    use crate::indicators::Indicator;
    let mut atr = crate::indicators::Atr::new(14)?;
    Ok((0..bars.len())
        .map(|i| {
            let b = bars.bar(i);
            match atr.update(&b) {
                Some(a) if b.close > 0.0 => STOP_ATR_MULT * a / b.close,
                _ => 0.0,
            }
        })
        .collect())
}

/// ATR multiple of the stop distance the daily risk budget assumes.
pub const STOP_ATR_MULT: f64 = 2.0;

/// Combine the strategies' runs on one account over the bar range `range` (module doc):
/// sub-books growing with each strategy's return, the allocator's weights and rebalances,
/// and the daily risk budget — an entry of strategy `i` at bar `t` asks for
/// `notional / its equity × book_i / account × stop_frac[t]` of the account; the allocator
/// grants what is left of the day's 2 % and the sub-book takes the trade at
/// `granted / asked` of its size until the position closes.
pub fn combine(
    ts: &[i64],
    stop_frac: &[f64],
    curves: &[Curve<'_>],
    range: std::ops::Range<usize>,
    cash0: f64,
    cfg: AllocatorConfig,
    names: Vec<String>,
) -> Combined {
    let mut alloc = Allocator::new(cfg, names);
    let mut books: Vec<f64> = alloc.target.iter().map(|w| w * cash0).collect();
    let mut cash = cash0 - books.iter().sum::<f64>();
    let mut pnl = vec![0.0; curves.len()];
    let mut scale = vec![1.0; curves.len()];
    let mut last_entry = vec![i64::MIN; curves.len()];
    let mut risk_cut_trades = 0;
    let mut equity = Vec::with_capacity(range.len());
    let eq_at = |c: &Curve<'_>, t: usize| c.equity[t - c.first_bar];
    let first = range.start;
    for t in range {
        let ts_t = ts[t];
        // entries filled on this bar ask the day's risk budget
        let account: f64 = books.iter().sum::<f64>() + cash;
        for (i, c) in curves.iter().enumerate() {
            if let Some(tr) = c
                .trades
                .iter()
                .find(|tr| tr.entry_ts_ms == ts_t && tr.entry_ts_ms != last_entry[i])
            {
                last_entry[i] = tr.entry_ts_ms;
                let own = if t > c.first_bar {
                    eq_at(c, t - 1)
                } else {
                    eq_at(c, t)
                };
                let asked = if own > 0.0 && account > 0.0 {
                    tr.qty * tr.entry_price / own * books[i] / account
                        * stop_frac.get(t).copied().unwrap_or(0.0)
                } else {
                    0.0
                };
                let granted = alloc.grant_risk(ts_t, asked);
                scale[i] = if asked > 0.0 { granted / asked } else { 1.0 };
                if scale[i] < 1.0 {
                    risk_cut_trades += 1;
                }
            }
        }
        if t > first {
            for (i, c) in curves.iter().enumerate() {
                let (a, b) = (eq_at(c, t - 1), eq_at(c, t));
                let r = if a > 0.0 { b / a - 1.0 } else { 0.0 };
                let gain = books[i] * r * scale[i];
                books[i] += gain;
                pnl[i] += gain;
            }
        }
        let mut closed = false;
        for (i, c) in curves.iter().enumerate() {
            for tr in c.trades.iter().filter(|tr| tr.exit_ts_ms == ts_t) {
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
    Combined {
        equity,
        pnl,
        alloc,
        risk_cut_trades,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::order::{ExitReason, Side};

    const HOUR: i64 = 3_600_000;

    fn trade(entry: usize, exit: usize, notional: f64) -> Trade {
        Trade {
            side: Side::Long,
            qty: notional / 100.0,
            entry_bar: entry,
            exit_bar: exit,
            entry_ts_ms: entry as i64 * HOUR,
            exit_ts_ms: exit as i64 * HOUR,
            entry_price: 100.0,
            exit_price: 101.0,
            pnl: 1.0,
            return_pct: 1.0,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        }
    }

    /// Equity of 10 000 rising 1 % per bar over each `(from, to)` bar span.
    fn curve(n: usize, spans: &[(usize, usize)]) -> Vec<f64> {
        let mut e = vec![10_000.0; n];
        for t in 1..n {
            let up = spans.iter().any(|&(a, b)| t > a && t <= b);
            e[t] = e[t - 1] * if up { 1.01 } else { 1.0 };
        }
        e
    }

    #[test]
    fn the_daily_risk_budget_cuts_the_entry_that_would_pass_two_percent() {
        let n = 48;
        let ts: Vec<i64> = (0..n as i64).map(|t| t * HOUR).collect();
        // every entry risks 5 % of its notional to the stop; each sub-book starts at 40 %
        let stop = vec![0.05; n];
        // A: 90 % of its equity at bar 2 → asks 0.9 × 0.4 × 0.05 = 1.8 % of the account
        let (ea, ta) = (curve(n, &[(2, 10)]), vec![trade(2, 10, 9_000.0)]);
        // B: all of its equity on bar 3 → asks 2 %, 0.2 % is left that day: a tenth of it is
        // taken; and again on bar 30 (the next UTC day), in full
        let (eb, tb) = (
            curve(n, &[(3, 10), (30, 35)]),
            vec![trade(3, 10, 10_000.0), trade(30, 35, 10_000.0)],
        );
        let curves = [
            Curve {
                first_bar: 0,
                equity: &ea,
                trades: &ta,
            },
            Curve {
                first_bar: 0,
                equity: &eb,
                trades: &tb,
            },
        ];
        let cfg = AllocatorConfig {
            rebalance_drift: 1.0, // no rebalance: the books only grow with their trades
            ..AllocatorConfig::default()
        };
        let c = combine(
            &ts,
            &stop,
            &curves,
            0..n,
            10_000.0,
            cfg,
            vec!["a".into(), "b".into()],
        );
        assert_eq!(c.risk_cut_trades, 1);
        // A's trade counted in full: 4 000 × (1.01^8 − 1)
        let full = 4_000.0 * (1.01f64.powi(8) - 1.0);
        assert!((c.pnl[0] - full).abs() < 1e-6, "{}", c.pnl[0]);
        // B's first trade at a tenth of its size; its second (a new day) in full
        let b1 = 4_000.0 * (1.001f64.powi(7) - 1.0);
        let b2 = (4_000.0 + b1) * (1.01f64.powi(5) - 1.0);
        assert!(
            (c.pnl[1] - (b1 + b2)).abs() < 1e-6,
            "{} vs {}",
            c.pnl[1],
            b1 + b2
        );
        assert!((c.equity[20] - (10_000.0 + full + b1)).abs() < 1e-6);
        // without the budget (a 100 % daily limit) B's first trade counts too
        let open = combine(
            &ts,
            &stop,
            &curves,
            0..n,
            10_000.0,
            AllocatorConfig {
                daily_risk_frac: 1.0,
                ..cfg
            },
            vec!["a".into(), "b".into()],
        );
        assert_eq!(open.risk_cut_trades, 0);
        assert!(open.pnl[1] > c.pnl[1] + 100.0);
    }
}
