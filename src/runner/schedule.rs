//! Which bars a tick processes, and when a `--loop` wakes up.
//!
//! A bar is closed when its open time plus the interval is at or before "now" (the
//! exchange's time for live, the wall clock for paper on fetched bars; every bar of a
//! `--data` file counts as closed). A bot's first tick only warms its strategy up on the
//! bars before its first acting bar — the latest closed bar, or the first bar at or after
//! `--from` — and acts from there on; later ticks act on every closed bar after the last
//! one processed. No wall clock here: callers pass `now_ms`.

use std::ops::Range;

/// How many leading bars of `ts_ms` are closed at `now_ms` (all of them when `None`).
pub fn closed_len(ts_ms: &[i64], interval_ms: i64, now_ms: Option<i64>) -> usize {
    match now_ms {
        None => ts_ms.len(),
        Some(now) => ts_ms.partition_point(|&t| t.saturating_add(interval_ms) <= now),
    }
}

/// The bars one tick steps: `warmup` only feeds the strategy (first tick only), `act` is
/// traded. Both index into the bars the tick loaded; `act` may be empty (nothing new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickPlan {
    /// Bars stepped without acting (the first tick's history).
    pub warmup: Range<usize>,
    /// Bars stepped and acted on.
    pub act: Range<usize>,
}

impl TickPlan {
    /// Whether the tick has nothing to do.
    pub fn is_empty(&self) -> bool {
        self.warmup.is_empty() && self.act.is_empty()
    }
}

/// Plan a tick over bars `ts_ms` of which the first `closed` are closed. `last_done` is
/// the open time of the last bar an earlier tick processed (`None` on the first tick);
/// `from_ms` makes a first tick act from the first bar at or after it instead of only
/// from the latest closed bar.
pub fn plan_tick(
    ts_ms: &[i64],
    closed: usize,
    last_done: Option<i64>,
    from_ms: Option<i64>,
) -> TickPlan {
    let closed = closed.min(ts_ms.len());
    match last_done {
        Some(last) => {
            let next = ts_ms[..closed].partition_point(|&t| t <= last);
            TickPlan {
                warmup: next..next,
                act: next..closed,
            }
        }
        None if closed == 0 => TickPlan {
            warmup: 0..0,
            act: 0..0,
        },
        None => {
            let first_act = match from_ms {
                Some(from) => ts_ms[..closed].partition_point(|&t| t < from),
                None => closed - 1,
            };
            TickPlan {
                warmup: 0..first_act,
                act: first_act..closed,
            }
        }
    }
}

/// When a `--loop` bot should next wake: `settle_ms` after the next bar close strictly
/// after `now_ms` (bar closes are multiples of the interval since the epoch, as on every
/// exchange for intervals up to a day).
pub fn next_wake_ms(now_ms: i64, interval_ms: i64, settle_ms: i64) -> i64 {
    let iv = interval_ms.max(1);
    let next_close = (now_ms.div_euclid(iv) + 1) * iv;
    // still inside the settle window of the close that just passed: wake at its end
    let prev_close = next_close - iv;
    if now_ms < prev_close + settle_ms {
        prev_close + settle_ms
    } else {
        next_close + settle_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_bar_is_closed_once_its_interval_has_passed() {
        let ts = [0, H, 2 * H, 3 * H];
        assert_eq!(
            closed_len(&ts, H, Some(3 * H + 1)),
            3,
            "the 03:00 bar is open"
        );
        assert_eq!(closed_len(&ts, H, Some(4 * H)), 4);
        assert_eq!(closed_len(&ts, H, Some(H - 1)), 0);
        assert_eq!(closed_len(&ts, H, None), 4);
    }

    #[test]
    fn the_first_tick_warms_up_and_acts_on_the_latest_closed_bar_only() {
        let ts = [0, H, 2 * H, 3 * H];
        let p = plan_tick(&ts, 3, None, None);
        assert_eq!(p.warmup, 0..2);
        assert_eq!(p.act, 2..3);
        let p = plan_tick(&ts, 4, None, Some(H));
        assert_eq!((p.warmup, p.act), (0..1, 1..4));
        assert!(plan_tick(&ts, 0, None, None).is_empty());
    }

    #[test]
    fn later_ticks_act_on_every_closed_bar_after_the_last_done() {
        let ts = [0, H, 2 * H, 3 * H, 4 * H];
        let p = plan_tick(&ts, 4, Some(H), None);
        assert_eq!((p.warmup, p.act), (2..2, 2..4));
        assert!(plan_tick(&ts, 4, Some(3 * H), None).is_empty());
        // a bar missing from the feed: continue after the last one done
        let gappy = [0, H, 3 * H];
        assert_eq!(plan_tick(&gappy, 3, Some(2 * H), None).act, 2..3);
    }

    #[test]
    fn the_loop_wakes_just_after_the_next_bar_close() {
        assert_eq!(next_wake_ms(10 * H + 5, H, 2_000), 10 * H + 2_000);
        assert_eq!(next_wake_ms(10 * H + 2_000, H, 2_000), 11 * H + 2_000);
        assert_eq!(next_wake_ms(10 * H + 30 * 60_000, H, 2_000), 11 * H + 2_000);
    }
}
