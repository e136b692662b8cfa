//! One request-weight budget per Binance API (spot, USD-M) that every client shares — the
//! trading clients of the bots and the market-data downloads of `fetch` and the live ticks —
//! so several bots and downloads on one machine do not get the IP banned (freqtrade #12441).
//!
//! Binance counts weight per IP per minute and reports the count in `X-MBX-USED-WEIGHT-1M`.
//! The budget remembers the last count and the minute it belongs to, and a ban: 429 (`-1003`)
//! and 418 (IP ban) carry `Retry-After`; until it passes no request is sent at all, since
//! each one sent during a ban lengthens it. Time is the caller's (`now_ms`), so the rules are
//! unit-tested without a clock.
//!
//! Bots of one machine run as separate processes (cron, `algolab run`), so a budget can
//! also live in a small file ([`WeightBudget::with_file`], `DATA_DIR/binance_weight_*.txt`):
//! every admit, observation and ban reads and rewrites it under an exclusive advisory lock,
//! so a ban one process met holds every other process back too. A file that cannot be
//! opened or locked never fails a request: the process-local state is used instead.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
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

#[derive(Debug, Default, Clone, Copy, PartialEq)]
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
    file: Option<PathBuf>,
}

impl State {
    fn parse(text: &str) -> Option<State> {
        let mut it = text.split_whitespace().map(str::parse::<i64>);
        let (Some(Ok(minute)), Some(Ok(used)), Some(Ok(banned_until_ms))) =
            (it.next(), it.next(), it.next())
        else {
            return None;
        };
        Some(State {
            minute,
            used: u32::try_from(used.max(0)).unwrap_or(u32::MAX),
            banned_until_ms,
        })
    }
}

/// The budget file, opened and exclusively locked (blocking: a holder keeps it for
/// microseconds).
fn open_locked(path: &Path) -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

impl WeightBudget {
    /// A budget of `limit` weight per minute (spot 6000, USD-M 2400). Requests are held back
    /// once the minute's count would pass 90 % of it.
    pub fn new(limit: u32) -> Self {
        WeightBudget {
            limit,
            state: Mutex::new(State::default()),
            file: None,
        }
    }

    /// A budget of `limit` shared with every process that uses the same `path` (see the
    /// module doc).
    pub fn with_file(limit: u32, path: &Path) -> Self {
        WeightBudget {
            limit,
            state: Mutex::new(State::default()),
            file: Some(path.to_path_buf()),
        }
    }

    /// The machine-wide budget of `market` in `data_dir` (`binance_weight_spot.txt` or
    /// `binance_weight_usdm.txt`), of `limit` per minute (default: Binance's, 6000 spot,
    /// 2400 USD-M; lower it when other software shares the IP). Creates `data_dir` when
    /// missing (if that fails, the file cannot be used and the process budget stands in).
    pub fn machine(market: Market, data_dir: &Path, limit: Option<u32>) -> Arc<WeightBudget> {
        let _ = std::fs::create_dir_all(data_dir);
        let name = match market {
            Market::Spot => "binance_weight_spot.txt",
            Market::UsdM => "binance_weight_usdm.txt",
        };
        Arc::new(WeightBudget::with_file(
            limit.unwrap_or_else(|| market.weight_limit()),
            &data_dir.join(name),
        ))
    }

    /// Run `f` on the state: the file's (read and rewritten under its lock) when there is
    /// a usable one, else the process-local one.
    fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.lock();
        let Some(mut file) = self.file.as_deref().and_then(open_locked) else {
            return f(&mut s);
        };
        let mut text = String::new();
        if file.read_to_string(&mut text).is_ok()
            && let Some(st) = State::parse(&text)
        {
            *s = st;
        }
        let r = f(&mut s);
        let line = format!("{} {} {}\n", s.minute, s.used, s.banned_until_ms);
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(line.as_bytes()));
        r // the lock goes with the file handle
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
        let limit = self.limit;
        self.update(|s| Self::admit_in(s, limit, weight, now_ms))
    }

    fn admit_in(s: &mut State, limit: u32, weight: u32, now_ms: i64) -> Admit {
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
        let cap = limit / 10 * 9;
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
        self.update(|s| {
            let minute = now_ms.div_euclid(60_000);
            if minute != s.minute {
                s.minute = minute;
                s.used = used;
            } else {
                s.used = s.used.max(used);
            }
        });
    }

    /// Record a 429/418 (or `-1003`): nothing is sent until `now_ms + retry_after_s`.
    pub fn ban(&self, retry_after_s: u64, now_ms: i64) {
        let until = now_ms.saturating_add((retry_after_s.min(3 * 86_400) * 1000) as i64);
        self.update(|s| s.banned_until_ms = s.banned_until_ms.max(until));
    }

    /// The end of the current ban, UTC ms (0 or past when none).
    pub fn banned_until_ms(&self) -> i64 {
        self.update(|s| s.banned_until_ms)
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
    fn budgets_sharing_a_file_share_the_count_and_the_ban() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.txt");
        // two budgets on one file stand for two processes
        let a = WeightBudget::with_file(100, &path);
        let b = WeightBudget::with_file(100, &path);
        let t = 120_000 + 10_000;
        for _ in 0..5 {
            assert_eq!(a.admit(10, t), Admit::Go);
        }
        for _ in 0..4 {
            assert_eq!(b.admit(10, t), Admit::Go);
        }
        assert!(
            matches!(a.admit(10, t), Admit::Wait { banned: false, .. }),
            "b's requests count against a"
        );
        b.ban(60, t);
        assert_eq!(
            a.admit(1, 180_000 + 1),
            Admit::Wait {
                ms: 9_999,
                banned: true
            },
            "b's ban holds a back"
        );
        assert_eq!(a.banned_until_ms(), 190_000);
    }

    #[test]
    fn an_unusable_file_falls_back_to_the_process_budget() {
        let dir = tempfile::tempdir().unwrap();
        let b = WeightBudget::with_file(100, &dir.path().join("no/such/dir/w.txt"));
        assert_eq!(b.admit(10, 1_000), Admit::Go);
        b.ban(10, 1_000);
        assert!(matches!(
            b.admit(1, 2_000),
            Admit::Wait { banned: true, .. }
        ));
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
