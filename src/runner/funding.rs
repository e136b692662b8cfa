//! Funding attributed to trades by time (issue 13 items 3 and 9): a payment at time `f`
//! belongs to every trade that held the position then — entry fill before `f`, exit fill at
//! or after it (a payment due at the very moment of an entry was settled before it; one due
//! at the moment of an exit was paid by the position) — shared pro rata by quantity, as the
//! simulated and the Binance broker split a position's funding over the parts that close.
//! Used for a live futures bot's trades (its exchange funding ledger) and for the backtest
//! that `reconcile` compares them with (its funding events).

/// The time span of a trade, for funding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Entry fill time, UTC ms.
    pub entry_ts_ms: i64,
    /// Exit fill time, UTC ms (`None`: still open).
    pub exit_ts_ms: Option<i64>,
    /// Quantity, base units.
    pub qty: f64,
}

impl Span {
    fn holds(&self, t: i64) -> bool {
        self.entry_ts_ms < t && self.exit_ts_ms.is_none_or(|x| t <= x)
    }
}

/// Share each payment `(time, amount paid)` among the spans that held the position at its
/// time, pro rata by quantity. Returns each span's total and what no span held (paid while
/// flat, or before the first trade).
pub fn attribute(payments: &[(i64, f64)], spans: &[Span]) -> (Vec<f64>, f64) {
    let mut out = vec![0.0; spans.len()];
    let mut unattributed = 0.0;
    for &(t, paid) in payments {
        let total: f64 = spans.iter().filter(|s| s.holds(t)).map(|s| s.qty).sum();
        if total <= 0.0 {
            unattributed += paid;
            continue;
        }
        for (k, s) in spans.iter().enumerate() {
            if s.holds(t) {
                out[k] += paid * s.qty / total;
            }
        }
    }
    (out, unattributed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_payment_belongs_to_the_trades_holding_the_position_then() {
        let spans = [
            Span {
                entry_ts_ms: 0,
                exit_ts_ms: Some(10 * H),
                qty: 1.0,
            },
            Span {
                entry_ts_ms: 16 * H,
                exit_ts_ms: None,
                qty: 2.0,
            },
        ];
        // at the entry: not yet held; at the exit: still held; while flat: nobody's
        let pays = [
            (0, 5.0),
            (8 * H, 1.0),
            (10 * H, 2.0),
            (12 * H, 7.0),
            (24 * H, 4.0),
        ];
        let (per, rest) = attribute(&pays, &spans);
        assert_eq!(per, vec![3.0, 4.0]);
        assert_eq!(rest, 12.0);
    }

    #[test]
    fn partial_closes_share_by_quantity_as_the_broker_does() {
        // one position of 3 opened at 0: 1 closes at 10 h, 2 at 20 h
        let spans = [
            Span {
                entry_ts_ms: 0,
                exit_ts_ms: Some(10 * H),
                qty: 1.0,
            },
            Span {
                entry_ts_ms: 0,
                exit_ts_ms: Some(20 * H),
                qty: 2.0,
            },
        ];
        let (per, rest) = attribute(&[(8 * H, 3.0), (16 * H, 1.0)], &spans);
        assert_eq!(per, vec![1.0, 3.0]);
        assert_eq!(rest, 0.0);
    }
}
