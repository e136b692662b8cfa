//! [`run_backtest`]: the bar loop. See the module doc of [`super`] for the order of
//! operations within a bar.

use super::{BacktestConfig, BacktestResult, EngineError, Event, Fill, FillEvent};
use crate::broker::{Broker, FillAction, OrderFill, SimBroker};
use crate::data::{Bar, Bars};
use crate::order::{ExitReason, Intent, PositionView};
use crate::risk::{RiskContext, RiskManager};
use crate::strategy::{History, Strategy};

/// Run `strategy` over `bars` on the simulated broker.
///
/// The strategy is reset first. Bars before `cfg.from_ts_ms` only warm the strategy up
/// (their intents are ignored); bars after `cfg.to_ts_ms` are not visited.
///
/// # Errors
/// [`EngineError::Config`] for a setting out of range, [`EngineError::EmptyRange`] when
/// no bar falls in the range, [`EngineError::Broker`] when the broker fails.
pub fn run_backtest<S: Strategy + ?Sized>(
    bars: &Bars,
    strategy: &mut S,
    cfg: &BacktestConfig,
) -> Result<BacktestResult, EngineError> {
    cfg.validate()?;
    let ts = bars.ts_ms();
    let start = cfg
        .from_ts_ms
        .map_or(0, |from| ts.partition_point(|&x| x < from));
    let end = cfg
        .to_ts_ms
        .map_or(ts.len(), |to| ts.partition_point(|&x| x <= to));
    if start >= end {
        return Err(EngineError::EmptyRange {
            from: fmt_ts_opt(cfg.from_ts_ms),
            to: fmt_ts_opt(cfg.to_ts_ms),
        });
    }
    let mut broker = SimBroker::new(cfg.sim_config());
    if let Some(rates) = bars.extra("funding_rate") {
        broker = broker.with_funding(rates);
    }
    let mut risk = RiskManager::new(cfg.risk, cfg.fractional);
    strategy.reset();

    let n = end - start;
    let mut res = BacktestResult {
        first_bar: start,
        equity: Vec::with_capacity(n),
        cash: Vec::with_capacity(n),
        position_value: Vec::with_capacity(n),
        exposure: Vec::with_capacity(n),
        ..BacktestResult::default()
    };
    let managed = !cfg.risk.is_unmanaged();
    let daily = cfg.risk.daily_loss_limit_frac.is_some();
    let mut funding_seen = 0.0;
    let mut rejected_seen = 0;

    for t in 0..start {
        let view = PositionView {
            equity: cfg.cash,
            ..PositionView::default()
        };
        let _warm_up = strategy.on_bar(&History::new(bars, t), &view);
    }

    // the columns cut to the visited range, zipped so the loop has no bounds checks
    let cols = ts[start..end]
        .iter()
        .zip(&bars.open()[start..end])
        .zip(&bars.high()[start..end])
        .zip(&bars.low()[start..end])
        .zip(&bars.close()[start..end])
        .zip(&bars.volume()[start..end]);
    for (i, (((((&ts_ms, &open), &high), &low), &close), &volume)) in cols.enumerate() {
        let t = start + i;
        let bar = Bar {
            ts_ms,
            open,
            high,
            low,
            close,
            volume,
        };
        let busy = broker.has_orders() || broker.has_position();
        let fills = broker.sync(&bar, t)?;
        if busy {
            if !fills.is_empty() {
                handle_fills(fills, &mut broker, &mut risk, &mut res);
            }
            if broker.funding_paid() != funding_seen {
                res.events.push(Event::Funding {
                    t,
                    payment: broker.funding_paid() - funding_seen,
                });
                funding_seen = broker.funding_paid();
            }
            if broker.orders_rejected() != rejected_seen {
                res.events.push(Event::OrdersRejected {
                    t,
                    count: broker.orders_rejected() - rejected_seen,
                });
                rejected_seen = broker.orders_rejected();
            }
            if broker.is_bankrupt() {
                res.events.push(Event::Bankrupt { t });
                res.bankrupt = true;
                for _ in t..end {
                    res.equity.push(0.0);
                    res.cash.push(0.0);
                    res.position_value.push(0.0);
                    res.exposure.push(false);
                }
                break;
            }
            if managed
                && broker.has_position()
                && let Some(p) = risk.manage(&bar)
            {
                res.events.push(Event::Protection {
                    t,
                    protection: Box::new(*p.inner()),
                });
                broker.protect(p)?;
            }
        }
        let equity = broker.equity();
        if daily {
            risk.on_bar_close(bar.ts_ms, equity);
        }
        res.equity.push(equity);
        res.cash.push(broker.cash());
        res.position_value.push(broker.position_value());
        res.exposure.push(broker.has_position());

        let view = broker.position_view(t);
        let intent = strategy.on_bar(&History::new(bars, t), &view);
        if matches!(intent, Intent::Hold) {
            continue;
        }
        let ctx = RiskContext {
            t,
            ts_ms: bar.ts_ms,
            close: bar.close,
            equity,
            position: view.side,
            leverage: cfg.leverage,
        };
        match risk.approve(&intent, &ctx) {
            Ok(None) => {}
            Ok(Some(order)) => {
                if !order.inner().reduce_only {
                    // a new entry replaces resting orders (backtesting.py's exclusive_orders)
                    for o in broker.open_orders() {
                        broker.cancel(o.id)?;
                    }
                }
                broker.submit(order)?;
            }
            Err(refused) => res.events.push(Event::Refused {
                t,
                reason: refused.reason,
            }),
        }
        if cfg.fill == Fill::Close && broker.has_orders() {
            let fills = broker.sync_close(&bar, t)?;
            handle_fills(fills, &mut broker, &mut risk, &mut res);
            let i = t - start;
            res.equity[i] = broker.equity();
            res.cash[i] = broker.cash();
            res.position_value[i] = broker.position_value();
            res.exposure[i] = broker.has_position();
        }
    }

    if !res.bankrupt {
        let last = end - 1;
        let bar = bars.bar(last);
        if cfg.close_at_end {
            if let Some(fill) =
                broker.close_position(last, bar.ts_ms, bar.close, ExitReason::EndOfData)
            {
                handle_fills(vec![fill], &mut broker, &mut risk, &mut res);
                let i = last - start;
                res.equity[i] = broker.equity();
                res.cash[i] = broker.cash();
                res.position_value[i] = broker.position_value();
                res.exposure[i] = false;
            }
        } else if let Some(trade) = broker.open_trade(last, bar.ts_ms, bar.close) {
            res.trades.push(trade);
        }
    }
    let acct = broker.account();
    res.fees_paid = acct.fees_paid;
    res.funding_paid = acct.funding_paid;
    Ok(res)
}

/// Record fills as events and trades and keep risk's view of the position in step.
fn handle_fills(
    fills: Vec<OrderFill>,
    broker: &mut SimBroker,
    risk: &mut RiskManager,
    res: &mut BacktestResult,
) {
    if fills.is_empty() {
        return;
    }
    let mut opened = false;
    for f in fills {
        match f.action {
            FillAction::Open | FillAction::Increase => opened = true,
            FillAction::Close { trade } => {
                risk.on_trade_closed(&trade);
                if trade.exit_reason == ExitReason::PartialTakeProfit {
                    risk.on_partial_fill();
                }
                res.trades.push(trade);
            }
        }
        res.events.push(Event::Fill(FillEvent::from(&f)));
    }
    match broker.position() {
        None => risk.on_position_closed(),
        Some(p) if opened => risk.on_position_opened(
            p.side,
            p.entry_price,
            p.qty,
            p.stop.map(|s| s.price),
            p.take_profit,
        ),
        Some(_) => {}
    }
}

/// A range end as ISO-8601 text, or `…` when open.
fn fmt_ts_opt(ts_ms: Option<i64>) -> String {
    match ts_ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "…".to_string(),
    }
}
