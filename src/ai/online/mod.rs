//! The online learner: rolling health per (strategy, regime) from closed trades, a drift test
//! on the stream of trade returns, blocking of degraded strategies and a documented way back.
//!
//! **Health** over the last `window` (20) outcomes: win rate, average return, expectancy
//! `p·avg_win − (1 − p)·avg_loss` (fractions of entry notional), and consecutive losses.
//!
//! **Drift**: every outcome feeds a Page-Hinkley test for a *fall* of the mean (`min_instances`
//! 20, δ 0.002, λ 0.15, α 1 − 1e-4: on returns with σ 2 % it finds a drop of the mean from +0.4 %
//! to −0.6 % per trade about 25 trades after it, and nothing on the stationary part of the
//! golden stream) and an ADWIN on the same returns (river's defaults, δ 0.002). An ADWIN cut
//! counts as drift only when the window mean fell.
//!
//! **Blocking**: a strategy is blocked in a regime when (a) `max_consecutive_losses` (5) losses
//! in a row, (b) with at least `min_trades` (8) outcomes in the window, a win rate below
//! `min_win_rate` (35 %) or a negative expectancy, or (c) a drift. A blocked strategy's opinions
//! are dropped by the orchestrator and its allocation cut; its outcomes keep being recorded as
//! *shadow* outcomes (the trades its opinions would have made).
//!
//! **Recovery rule**: after at least `recovery_trades` (5) shadow outcomes since the block, it is
//! let back when their mean return is positive and at least half of them won; the window and the
//! drift detectors then start afresh, so the losses that blocked it are not counted twice.
//!
//! **Boost**: a strategy with at least `min_trades` outcomes, a win rate of at least
//! `healthy_win_rate` (55 %) and positive expectancy is healthy and its confidence is multiplied
//! by `boost` (1.1, capped at 1), the seed's confidence boost.

pub mod drift;

use std::collections::{BTreeMap, VecDeque};

use crate::ai::advisor::{Action, Component, Opinion, OpinionReason};
use crate::regime::Regime;
use drift::{Adwin, AdwinConfig, PageHinkley, PageHinkleyConfig, PhMode};

/// The learner's thresholds (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OnlineConfig {
    /// Outcomes in the rolling window (20).
    pub window: usize,
    /// Outcomes before the win-rate and expectancy rules apply (8).
    pub min_trades: usize,
    /// Win rate below which a strategy is blocked (0.35).
    pub min_win_rate: f64,
    /// Losses in a row that block (5).
    pub max_consecutive_losses: u32,
    /// Shadow outcomes before recovery is considered (5).
    pub recovery_trades: usize,
    /// Win rate from which a strategy is healthy (0.55).
    pub healthy_win_rate: f64,
    /// Confidence multiplier of a healthy strategy (1.1).
    pub boost: f64,
    /// Page-Hinkley on trade returns.
    pub page_hinkley: PageHinkleyConfig,
    /// ADWIN on trade returns.
    pub adwin: AdwinConfig,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            window: 20,
            min_trades: 8,
            min_win_rate: 0.35,
            max_consecutive_losses: 5,
            recovery_trades: 5,
            healthy_win_rate: 0.55,
            boost: 1.1,
            page_hinkley: PageHinkleyConfig {
                min_instances: 20,
                delta: 0.002,
                threshold: 0.15,
                alpha: 1.0 - 0.0001,
                mode: PhMode::Down,
            },
            adwin: AdwinConfig::default(),
        }
    }
}

/// Whether a strategy may trade.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    /// Trading, no boost.
    Active,
    /// Trading with the confidence boost.
    Healthy,
    /// Blocked until the recovery rule lets it back.
    Blocked {
        /// Why it was blocked.
        why: String,
        /// Shadow outcomes since the block.
        shadow: Vec<f64>,
    },
}

/// Rolling health of one strategy in one regime.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// Outcomes ever recorded.
    pub trades_total: u64,
    /// The last `window` returns.
    pub recent: VecDeque<f64>,
    /// Losses in a row.
    pub consecutive_losses: u32,
    /// Drifts detected so far.
    pub drifts: u32,
    /// Whether it may trade.
    pub status: Status,
    ph: PageHinkley,
    adwin: Adwin,
}

impl Health {
    fn new(cfg: &OnlineConfig) -> Self {
        Health {
            trades_total: 0,
            recent: VecDeque::new(),
            consecutive_losses: 0,
            drifts: 0,
            status: Status::Active,
            ph: PageHinkley::new(cfg.page_hinkley),
            adwin: Adwin::new(cfg.adwin),
        }
    }

    /// Win rate over the window (0 when empty).
    pub fn win_rate(&self) -> f64 {
        if self.recent.is_empty() {
            return 0.0;
        }
        self.recent.iter().filter(|r| **r > 0.0).count() as f64 / self.recent.len() as f64
    }

    /// Average return over the window.
    pub fn avg_return(&self) -> f64 {
        if self.recent.is_empty() {
            return 0.0;
        }
        self.recent.iter().sum::<f64>() / self.recent.len() as f64
    }

    /// `p·avg_win − (1 − p)·avg_loss` over the window.
    pub fn expectancy(&self) -> f64 {
        let wins: Vec<f64> = self.recent.iter().copied().filter(|r| *r > 0.0).collect();
        let losses: Vec<f64> = self.recent.iter().copied().filter(|r| *r <= 0.0).collect();
        let n = self.recent.len() as f64;
        if n == 0.0 {
            return 0.0;
        }
        let p = wins.len() as f64 / n;
        let avg = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        p * avg(&wins) - (1.0 - p) * avg(&losses).abs()
    }

    /// True while blocked.
    pub fn is_blocked(&self) -> bool {
        matches!(self.status, Status::Blocked { .. })
    }

    fn record(&mut self, cfg: &OnlineConfig, ret: f64) {
        self.trades_total += 1;
        if let Status::Blocked { shadow, .. } = &mut self.status {
            shadow.push(ret);
            let n = shadow.len();
            let wins = shadow.iter().filter(|r| **r > 0.0).count();
            let mean = shadow.iter().sum::<f64>() / n as f64;
            if n >= cfg.recovery_trades && mean > 0.0 && 2 * wins >= n {
                *self = Health {
                    trades_total: self.trades_total,
                    drifts: self.drifts,
                    ..Health::new(cfg)
                };
            }
            return;
        }
        self.recent.push_back(ret);
        while self.recent.len() > cfg.window {
            self.recent.pop_front();
        }
        self.consecutive_losses = if ret > 0.0 {
            0
        } else {
            self.consecutive_losses + 1
        };
        let before = self.adwin.estimation();
        let ph = self.ph.update(ret);
        let ad = self.adwin.update(ret) && self.adwin.estimation() < before;
        let why = if ph || ad {
            self.drifts += 1;
            Some(format!(
                "drift: {}",
                if ph { "page-hinkley" } else { "adwin" }
            ))
        } else if self.consecutive_losses >= cfg.max_consecutive_losses {
            Some(format!("{} consecutive losses", self.consecutive_losses))
        } else if self.recent.len() >= cfg.min_trades && self.win_rate() < cfg.min_win_rate {
            Some(format!("win rate {:.0} %", 100.0 * self.win_rate()))
        } else if self.recent.len() >= cfg.min_trades && self.expectancy() < 0.0 {
            Some(format!("expectancy {:.3} %", 100.0 * self.expectancy()))
        } else {
            None
        };
        self.status = match why {
            Some(why) => Status::Blocked {
                why,
                shadow: Vec::new(),
            },
            None if self.recent.len() >= cfg.min_trades
                && self.win_rate() >= cfg.healthy_win_rate
                && self.expectancy() > 0.0 =>
            {
                Status::Healthy
            }
            None => Status::Active,
        };
    }
}

/// Health per (strategy, regime), keyed `"strategy|regime"` so the state file stays JSON.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct OnlineLearner {
    /// Thresholds.
    pub cfg: OnlineConfig,
    /// Health by `"strategy|regime"`.
    pub health: BTreeMap<String, Health>,
}

fn key(strategy: &str, regime: Regime) -> String {
    format!("{strategy}|{regime}")
}

impl OnlineLearner {
    /// An empty learner.
    pub fn new(cfg: OnlineConfig) -> Self {
        OnlineLearner {
            cfg,
            health: BTreeMap::new(),
        }
    }

    /// Record a closed (or shadow) trade's return of `strategy` in `regime`.
    pub fn record(&mut self, strategy: &str, regime: Regime, ret: f64) {
        let cfg = self.cfg;
        self.health
            .entry(key(strategy, regime))
            .or_insert_with(|| Health::new(&cfg))
            .record(&cfg, ret);
    }

    /// The health of `strategy` in `regime`, once it has outcomes.
    pub fn health(&self, strategy: &str, regime: Regime) -> Option<&Health> {
        self.health.get(&key(strategy, regime))
    }

    /// True when `strategy` is blocked in `regime`.
    pub fn is_blocked(&self, strategy: &str, regime: Regime) -> bool {
        self.health(strategy, regime)
            .is_some_and(Health::is_blocked)
    }

    /// The confidence multiplier of `strategy` in `regime`: `boost` when healthy, 1 otherwise.
    pub fn confidence_mult(&self, strategy: &str, regime: Regime) -> f64 {
        match self.health(strategy, regime).map(|h| &h.status) {
            Some(Status::Healthy) => self.cfg.boost,
            _ => 1.0,
        }
    }

    /// The online learner's own opinion: it sides with the unblocked component of best
    /// expectancy in this regime (at least `min_trades` outcomes, positive expectancy) that
    /// advises buy or sell, with that component's win rate as confidence. `None` when no
    /// component qualifies.
    pub fn opinion(&self, regime: Regime, others: &[(Component, Opinion)]) -> Option<Opinion> {
        let (c, o, h) = others
            .iter()
            .filter(|(_, o)| o.action != Action::Hold)
            .filter_map(|(c, o)| self.health(c.as_str(), regime).map(|h| (*c, o, h)))
            .filter(|(_, _, h)| {
                !h.is_blocked() && h.recent.len() >= self.cfg.min_trades && h.expectancy() > 0.0
            })
            .max_by(|a, b| a.2.expectancy().total_cmp(&b.2.expectancy()))?;
        Some(Opinion::new(
            o.action,
            h.win_rate(),
            vec![OpinionReason::Health {
                component: c,
                trades: h.recent.len() as u32,
                win_rate: h.win_rate(),
                expectancy: h.expectancy(),
            }],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner() -> OnlineLearner {
        OnlineLearner::new(OnlineConfig::default())
    }

    #[test]
    fn rolling_health_is_computed_by_hand() {
        let mut l = learner();
        for r in [0.02, -0.01, 0.03, -0.01] {
            l.record("technical", Regime::Bull, r);
        }
        let h = l.health("technical", Regime::Bull).unwrap();
        assert_eq!(h.win_rate(), 0.5);
        assert!((h.avg_return() - 0.0075).abs() < 1e-15);
        // 0.5·0.025 − 0.5·0.01
        assert!((h.expectancy() - 0.0075).abs() < 1e-15);
        assert_eq!(h.consecutive_losses, 1);
        assert!(l.health("technical", Regime::Bear).is_none());
    }

    #[test]
    fn consecutive_losses_block_and_the_recovery_rule_lets_it_back() {
        let mut l = learner();
        for _ in 0..4 {
            l.record("dqn", Regime::Bear, -0.01);
            assert!(!l.is_blocked("dqn", Regime::Bear));
        }
        l.record("dqn", Regime::Bear, -0.01);
        assert!(l.is_blocked("dqn", Regime::Bear));
        // other regimes are unaffected
        assert!(!l.is_blocked("dqn", Regime::Bull));
        // four good shadow trades are not enough (recovery needs 5)
        for _ in 0..4 {
            l.record("dqn", Regime::Bear, 0.02);
        }
        assert!(l.is_blocked("dqn", Regime::Bear));
        l.record("dqn", Regime::Bear, 0.02);
        let h = l.health("dqn", Regime::Bear).unwrap();
        assert!(!h.is_blocked());
        assert!(h.recent.is_empty(), "a recovered strategy starts afresh");
        assert_eq!(h.trades_total, 10);
    }

    #[test]
    fn losing_shadow_trades_keep_it_blocked() {
        let mut l = learner();
        for _ in 0..5 {
            l.record("evolved", Regime::Sideways, -0.01);
        }
        for r in [0.01, -0.02, 0.01, -0.02, 0.01, -0.02] {
            l.record("evolved", Regime::Sideways, r);
        }
        assert!(l.is_blocked("evolved", Regime::Sideways));
    }

    #[test]
    fn low_win_rate_blocks_and_a_healthy_record_earns_the_boost() {
        let mut l = learner();
        // 2 wins in 8 (25 %) without 5 losses in a row
        for r in [0.05, -0.01, -0.01, -0.01, 0.05, -0.01, -0.01, -0.01] {
            l.record("technical", Regime::Sideways, r);
        }
        let h = l.health("technical", Regime::Sideways).unwrap();
        assert!(matches!(&h.status, Status::Blocked { why, .. } if why.starts_with("win rate")));
        for r in [0.02, 0.01, -0.01, 0.02, 0.01, 0.02, -0.01, 0.02] {
            l.record("technical", Regime::Bull, r);
        }
        assert_eq!(l.confidence_mult("technical", Regime::Bull), 1.1);
        assert_eq!(l.confidence_mult("technical", Regime::Bear), 1.0);
    }

    #[test]
    fn a_fall_in_returns_is_caught_as_drift() {
        let mut l = learner();
        // alternating wins keep the win rate at 50 % and expectancy positive, then the edge
        // turns negative while the win rate stays at 50 %
        let mut blocked_at = None;
        for i in 0..200 {
            let r = if i < 100 {
                if i % 2 == 0 { 0.03 } else { -0.01 }
            } else if i % 2 == 0 {
                0.01
            } else {
                -0.03
            };
            l.record("technical", Regime::Bull, r);
            if blocked_at.is_none() && l.is_blocked("technical", Regime::Bull) {
                blocked_at = Some(i);
            }
        }
        let i = blocked_at.unwrap();
        assert!((100..130).contains(&i), "blocked at {i}");
    }

    #[test]
    fn online_opinion_follows_the_best_healthy_component() {
        let mut l = learner();
        for r in [0.02, 0.01, -0.01, 0.02, 0.01, 0.02, -0.01, 0.02] {
            l.record("technical", Regime::Bull, r);
            l.record("dqn", Regime::Bull, r / 2.0);
        }
        let others = vec![
            (
                Component::Technical,
                Opinion::new(Action::Sell, 0.6, vec![]),
            ),
            (Component::Dqn, Opinion::new(Action::Buy, 0.9, vec![])),
        ];
        let o = l.opinion(Regime::Bull, &others).unwrap();
        assert_eq!(o.action, Action::Sell);
        assert_eq!(o.confidence, 0.75);
        assert!(l.opinion(Regime::Bear, &others).is_none());
    }
}
