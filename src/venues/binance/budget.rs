//! One request-weight budget per Binance API (spot, USD-M) that every client of a process
//! shares, so several bots in one process do not get the IP banned (freqtrade #12441).
//!
//! Binance counts weight per IP per minute and reports the count in `X-MBX-USED-WEIGHT-1M`.
//! The budget remembers the last count and the minute it belongs to, and a ban: 429 (`-1003`)
//! and 418 (IP ban) carry `Retry-After`; until it passes no request is sent at all, since
//! each one sent during a ban lengthens it. Time is the caller's (`now_ms`), so the rules are
//! unit-tested without a clock.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::Market;

/// What the budget says about a request about to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Send it now.
    Go,
    /// Wait this long first (the minute's budget is nearly spent, or a ban runs).
    Wait {
        /// How long, ms.
        ms: u64,
        /// True when the wait is a ban (429/418), false for throttling.
        banned: bool,
    },
}

#[derive(Debug, Default)]
struct State {
    minute: i64,
    used: u32,
    banned_until_ms: i64,
}

/// A shared request-weight budget. Clone the [`Arc`] from [`WeightBudget::shared`] into every
/// client of one API.
#[derive(Debug)]
pub struct WeightBudget {
    limit: u32,
    state: Mutex<State>,
}

impl WeightBudget {
    /// A budget of `limit` weight per minute (spot 6000, USD-M 2400). Requests are held back
    /// once the minute's count would pass 90 % of it.
    pub fn new(limit: u32) -> Self {
        WeightBudget {
            limit,
            state: Mutex::new(State::default()),
        }
    }

    /// The process-wide budget of `market`: every client made without an explicit budget
    /// shares this one.
    pub fn shared(market: Market) -> Arc<WeightBudget> {
        static SPOT: OnceLock<Arc<WeightBudget>> = OnceLock::new();
        static USDM: OnceLock<Arc<WeightBudget>> = OnceLock::new();
        let cell = match market {
            Market::Spot => &SPOT,
            Market::UsdM => &USDM,
        };
        Arc::clone(cell.get_or_init(|| Arc::new(WeightBudget::new(market.weight_limit()))))
    }

    /// The minute's limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// May a request of `weight` go at `now_ms`? Counts it when it may.
    pub fn admit(&self, weight: u32, now_ms: i64) -> Admit {
        let mut s = self.lock();
        if now_ms < s.banned_until_ms {
            return Admit::Wait {
                ms: (s.banned_until_ms - now_ms).unsigned_abs(),
                banned: true,
            };
        }
        let minute = now_ms.div_euclid(60_000);
        if minute != s.minute {
            s.minute = minute;
            s.used = 0;
        }
        let cap = self.limit / 10 * 9;
        if s.used > 0 && s.used.saturating_add(weight) > cap {
            let next = (minute + 1) * 60_000;
            return Admit::Wait {
                ms: (next - now_ms).unsigned_abs(),
                banned: false,
            };
        }
        s.used = s.used.saturating_add(weight);
        Admit::Go
    }

    /// Record the server's `X-MBX-USED-WEIGHT-1M` seen at `now_ms` (the server's count wins
    /// over ours: other processes on the same IP spend it too).
    pub fn observe(&self, used: u32, now_ms: i64) {
        let mut s = self.lock();
        let minute = now_ms.div_euclid(60_000);
        if minute != s.minute {
            s.minute = minute;
            s.used = used;
        } else {
            s.used = s.used.max(used);
        }
    }

    /// Record a 429/418 (or `-1003`): nothing is sent until `now_ms + retry_after_s`.
    pub fn ban(&self, retry_after_s: u64, now_ms: i64) {
        let mut s = self.lock();
        let until = now_ms.saturating_add((retry_after_s.min(3 * 86_400) * 1000) as i64);
        s.banned_until_ms = s.banned_until_ms.max(until);
    }

    /// The end of the current ban, UTC ms (0 or past when none).
    pub fn banned_until_ms(&self) -> i64 {
        self.lock().banned_until_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_pass_until_ninety_percent_then_wait_for_the_next_minute() {
        let b = WeightBudget::new(100);
        let t = 120_000 + 10_000; // 10 s into a minute
        for _ in 0..9 {
            assert_eq!(b.admit(10, t), Admit::Go);
        }
        assert_eq!(
            b.admit(10, t),
            Admit::Wait {
                ms: 50_000,
                banned: false
            }
        );
        assert_eq!(
            b.admit(10, 180_000),
            Admit::Go,
            "a new minute starts afresh"
        );
    }

    #[test]
    fn the_servers_count_wins_within_a_minute() {
        let b = WeightBudget::new(100);
        b.observe(88, 1_000);
        assert!(matches!(
            b.admit(5, 2_000),
            Admit::Wait { banned: false, .. }
        ));
        b.observe(10, 61_000);
        assert_eq!(b.admit(5, 61_500), Admit::Go);
    }

    #[test]
    fn a_ban_holds_every_request_until_retry_after() {
        let b = WeightBudget::new(6000);
        b.ban(120, 1_000);
        assert_eq!(
            b.admit(1, 2_000),
            Admit::Wait {
                ms: 119_000,
                banned: true
            }
        );
        assert_eq!(b.admit(1, 121_000), Admit::Go);
    }

    #[test]
    fn the_shared_budget_is_one_object_per_market() {
        let a = WeightBudget::shared(Market::Spot);
        let b = WeightBudget::shared(Market::Spot);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &WeightBudget::shared(Market::UsdM)));
        assert_eq!(WeightBudget::shared(Market::UsdM).limit(), 2400);
    }
}
