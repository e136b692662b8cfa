//! What a tick tells people (Telegram): trades opened and closed, stops hit, and the
//! summary of each UTC day a tick completes. Pure: built from the tick's fills, trades and
//! state; `app` sends them, and a failing Telegram never fails a tick.

use super::state::{EquityPoint, PaperState, SignalRecord, TradeRecord};
use crate::core::order::{ExitReason, Side};
use crate::data::fmt_ts;
use crate::notify::Event as Note;

fn side_word(s: Side) -> String {
    match s {
        Side::Long => "long".into(),
        Side::Short => "short".into(),
    }
}

/// Notes for the tick's fills and closed trades.
pub(super) fn notes_for(
    bot: &str,
    symbol: &str,
    signals: &[SignalRecord],
    trades: &[TradeRecord],
) -> Vec<Note> {
    let bot = bot.to_string();
    let mut notes: Vec<Note> = signals
        .iter()
        .filter(|s| s.action == "open")
        .map(|s| Note::TradeOpened {
            bot: bot.clone(),
            symbol: symbol.to_string(),
            side: side_word(s.side),
            qty: s.qty,
            price: s.price,
        })
        .collect();
    for t in trades {
        let pnl = t.pnl.unwrap_or(f64::NAN);
        notes.push(match t.exit_reason {
            ExitReason::StopLoss | ExitReason::TrailingStop | ExitReason::BreakEven => {
                Note::StopHit {
                    bot: bot.clone(),
                    symbol: symbol.to_string(),
                    price: t.exit_price,
                    pnl,
                }
            }
            reason => Note::TradeClosed {
                bot: bot.clone(),
                symbol: symbol.to_string(),
                side: side_word(t.side),
                qty: t.qty,
                entry_price: t.entry_price,
                exit_price: t.exit_price,
                pnl,
                reason: serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            },
        });
    }
    notes
}

/// The summary of the last UTC day completed by this tick: the day of the previous tick's
/// last bar (`prev_last_ts`), when this tick's last bar is on a later day.
pub(super) fn daily_summary(
    state: &PaperState,
    history: &[EquityPoint],
    prev_last_ts: i64,
) -> Option<Note> {
    const DAY: i64 = 86_400_000;
    let d = prev_last_ts.div_euclid(DAY);
    if state.last_bar_ts_ms.div_euclid(DAY) <= d {
        return None;
    }
    let end = history
        .iter()
        .rev()
        .find(|p| p.ts_ms.div_euclid(DAY) == d)?
        .equity;
    let start = history
        .iter()
        .rev()
        .find(|p| p.ts_ms.div_euclid(DAY) < d)
        .map_or(state.initial_cash, |p| p.equity);
    Some(Note::DailySummary {
        bot: state.bot.clone(),
        day: fmt_ts(d * DAY).chars().take(10).collect(),
        equity: end,
        pnl_day: end - start,
        pnl_total: end - state.initial_cash,
        trades_day: state
            .trades
            .iter()
            .filter(|t| t.exit_ts_ms.div_euclid(DAY) == d)
            .count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(ts_ms: i64, equity: f64) -> EquityPoint {
        EquityPoint {
            ts_ms,
            time: fmt_ts(ts_ms),
            equity,
            cash: equity,
        }
    }

    #[test]
    fn a_tick_that_crosses_midnight_summarises_the_day_before() {
        const H: i64 = 3_600_000;
        let day1 = 19_700 * 86_400_000;
        let history = vec![
            point(day1 - H, 1_010.0),
            point(day1, 1_020.0),
            point(day1 + 23 * H, 1_050.0),
            point(day1 + 24 * H, 1_040.0),
        ];
        let state: PaperState = serde_json::from_value(serde_json::json!({
            "version": 1, "bot": "b", "mode": "paper", "symbol": "X", "strategy": "s",
            "params": {}, "settings": {}, "first_act_ts_ms": 0,
            "last_bar_ts_ms": day1 + 24 * H, "last_bar_time": "", "bars_processed": 4,
            "ticks": 2, "last_tick_at": "", "initial_cash": 1_000.0, "cash": 0.0,
            "position_value": 0.0, "equity": 1_040.0, "total_pnl": 40.0, "realized_pnl": 0.0,
            "fees_paid": 0.0, "position": null, "trades": []
        }))
        .unwrap();
        let Some(Note::DailySummary {
            day,
            equity,
            pnl_day,
            pnl_total,
            ..
        }) = daily_summary(&state, &history, day1 + 23 * H)
        else {
            panic!("a summary is due");
        };
        assert_eq!(day, fmt_ts(day1)[..10]);
        assert_eq!((equity, pnl_day, pnl_total), (1_050.0, 40.0, 50.0));
        assert!(
            daily_summary(&state, &history, day1 + 24 * H).is_none(),
            "same day: nothing"
        );
    }
}
