//! `sma-cross`: the classic moving-average crossover, backtesting.py's `SmaCross` example.
//!
//! When the fast SMA crosses above the slow one (`fast[t−1] < slow[t−1]` and
//! `fast[t] > slow[t]`, backtesting.py's `crossover`), go long with all cash; when it
//! crosses below, go short (closing the long first), or only exit with `long_only`.
//! The SMAs are streaming rolling means over closes (compensated running sums), so each
//! bar costs O(1) whatever the periods.

use super::{History, ParamKind, ParamSpec, ParamValue, Params, QuietGate, Strategy};
use crate::core::order::{Entry, Intent, PositionView, Rationale, Reason, Side};
use crate::indicators::ParamError;
use crate::persist::StateError;

/// The declared parameters of `sma-cross`.
pub const SMA_CROSS_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "fast",
        kind: ParamKind::Int { min: 1, max: 1000 },
        default: ParamValue::Int(10),
        doc: "fast SMA period (bars)",
    },
    ParamSpec {
        name: "slow",
        kind: ParamKind::Int { min: 2, max: 5000 },
        default: ParamValue::Int(20),
        doc: "slow SMA period (bars), greater than fast",
    },
    ParamSpec {
        name: "long_only",
        kind: ParamKind::Bool,
        default: ParamValue::Bool(false),
        doc: "exit instead of going short on a downward cross",
    },
];

/// One Neumaier-compensated addition of `x` to the running sum `sum` with compensation
/// `comp`.
#[inline]
fn neumaier(sum: f64, comp: f64, x: f64) -> (f64, f64) {
    let t = sum + x;
    let comp = if sum.abs() >= x.abs() {
        comp + ((sum - t) + x)
    } else {
        comp + ((x - t) + sum)
    };
    (t, comp)
}

/// A streaming simple moving average of closes: a ring buffer and a Neumaier-compensated
/// running sum (pandas' rolling mean compensates the same way).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RollingMean {
    buf: Vec<f64>,
    pos: usize,
    count: usize,
    sum: f64,
    comp: f64,
}

impl RollingMean {
    fn new(n: usize) -> Self {
        RollingMean {
            buf: vec![0.0; n],
            pos: 0,
            count: 0,
            sum: 0.0,
            comp: 0.0,
        }
    }

    #[inline]
    fn add(&mut self, x: f64) {
        (self.sum, self.comp) = neumaier(self.sum, self.comp, x);
    }

    /// True once `n` values have been seen (the mean is defined).
    #[inline]
    fn is_full(&self) -> bool {
        self.count == self.buf.len()
    }

    /// Feed `x`; the mean once `n` values have been seen.
    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        let n = self.buf.len();
        if self.count == n {
            let old = self.buf[self.pos];
            self.add(-old);
        } else {
            self.count += 1;
        }
        self.add(x);
        self.buf[self.pos] = x;
        self.pos += 1;
        if self.pos == n {
            self.pos = 0;
        }
        (self.count == n).then(|| (self.sum + self.comp) / n as f64)
    }

    /// A full window's state in locals for a tight loop, and the fields to write it back
    /// to (see [`SmaCross::quiet_bars`]).
    #[inline]
    fn cursor(&mut self) -> (Cursor<'_>, &mut usize, &mut f64, &mut f64) {
        let RollingMean {
            buf,
            pos,
            sum,
            comp,
            ..
        } = self;
        let n = buf.len() as f64;
        let cursor = Cursor {
            buf: buf.as_mut_slice(),
            pos: *pos,
            sum: *sum,
            comp: *comp,
            n,
        };
        (cursor, pos, sum, comp)
    }

    fn reset(&mut self) {
        self.buf.iter_mut().for_each(|v| *v = 0.0);
        self.pos = 0;
        self.count = 0;
        self.sum = 0.0;
        self.comp = 0.0;
    }
}

/// A full [`RollingMean`] held in locals while a quiet stretch runs ahead: [`Self::peek`]
/// computes the sums and the mean after feeding `x` without feeding it and
/// [`Self::commit`] feeds it ([`RollingMean::update`]'s operations, in its order). The
/// sums and the position are not fields behind `&mut self`, so the loop keeps them in
/// registers.
struct Cursor<'a> {
    buf: &'a mut [f64],
    pos: usize,
    sum: f64,
    comp: f64,
    /// The window length as a float.
    n: f64,
}

impl Cursor<'_> {
    /// The running sums and the mean after feeding `x`, without feeding it.
    #[inline(always)]
    fn peek(&self, x: f64) -> (f64, f64, f64) {
        let old = self.buf.get(self.pos).copied().unwrap_or(0.0);
        let (sum, comp) = neumaier(self.sum, self.comp, -old);
        let (sum, comp) = neumaier(sum, comp, x);
        (sum, comp, (sum + comp) / self.n)
    }

    /// Feed `x`, whose new sums [`Self::peek`] computed.
    #[inline(always)]
    fn commit(&mut self, x: f64, sum: f64, comp: f64) {
        self.sum = sum;
        self.comp = comp;
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = x;
        }
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
    }
}

/// Bars a quiet stretch asks the gate for first; each further ask doubles, up to
/// [`QUIET_CHUNK`] (most stretches are short: the gate's checks of bars granted but not
/// consumed are wasted).
const QUIET_FIRST_CHUNK: usize = 16;

/// The most bars a quiet stretch asks the gate for at a time.
const QUIET_CHUNK: usize = 64;

/// The `n`-bar rolling mean of `close` exactly as [`SmaCross`] computes it bar by bar (same
/// compensated sums, same rounding), NaN for the first `n − 1` bars. Optimizers compute a
/// column once per period and share it between parameter combinations; a column equals the
/// streaming values bit for bit.
pub fn rolling_mean_column(close: &[f64], n: usize) -> Vec<f64> {
    let mut m = RollingMean::new(n.max(1));
    close
        .iter()
        .map(|&x| m.update(x).unwrap_or(f64::NAN))
        .collect()
}

/// The SMA crossover strategy (`sma-cross`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SmaCross {
    fast_n: usize,
    slow_n: usize,
    long_only: bool,
    fast: RollingMean,
    slow: RollingMean,
    prev: Option<(f64, f64)>,
}

impl SmaCross {
    /// A crossover of `fast` and `slow` SMAs.
    ///
    /// # Errors
    /// [`ParamError`] when a period is 0 or `fast >= slow`.
    pub fn new(fast: usize, slow: usize, long_only: bool) -> Result<Self, ParamError> {
        if fast == 0 {
            return Err(ParamError::new("fast", fast, "from 1 to 1000"));
        }
        if slow <= fast {
            return Err(ParamError::new(
                "slow",
                slow,
                &format!("greater than fast ({fast})"),
            ));
        }
        Ok(SmaCross {
            fast_n: fast,
            slow_n: slow,
            long_only,
            fast: RollingMean::new(fast),
            slow: RollingMean::new(slow),
            prev: None,
        })
    }

    /// Build from resolved parameters (see [`SMA_CROSS_PARAMS`]).
    ///
    /// # Errors
    /// [`ParamError`] for an out-of-range value or `fast >= slow`.
    pub fn from_params(params: &Params) -> Result<Self, ParamError> {
        let mut vals = [10i64, 20, 0];
        for (slot, spec) in vals.iter_mut().zip(SMA_CROSS_PARAMS) {
            let v = params.0.get(spec.name).copied().unwrap_or(spec.default);
            *slot = spec.check(v)?.as_i64();
        }
        SmaCross::new(vals[0] as usize, vals[1] as usize, vals[2] != 0)
    }
}

impl Strategy for SmaCross {
    fn name(&self) -> &str {
        "sma-cross"
    }

    fn warmup_bars(&self) -> usize {
        self.fast_n.max(self.slow_n) - 1
    }

    #[inline]
    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let close = hist.close().last().copied().unwrap_or(f64::NAN);
        let f = self.fast.update(close);
        let s = self.slow.update(close);
        let (Some(f), Some(s)) = (f, s) else {
            return Intent::Hold;
        };
        let prev = self.prev.replace((f, s));
        let Some((pf, ps)) = prev else {
            return Intent::Hold;
        };
        if pf < ps && f > s {
            Intent::Enter(Entry::market(Side::Long))
        } else if ps < pf && s > f {
            if !self.long_only {
                Intent::Enter(Entry::market(Side::Short))
            } else if pos.side == Some(Side::Long) {
                Intent::Exit { frac: 1.0 }
            } else {
                Intent::Hold
            }
        } else {
            Intent::Hold
        }
    }

    /// Runs both averages ahead until the bar of the next crossover that acts (or the
    /// gate's refusal); see [`Strategy::quiet_bars`].
    fn quiet_bars(
        &mut self,
        hist: &History<'_>,
        from: usize,
        pos: &PositionView,
        gate: &mut dyn QuietGate,
    ) -> usize {
        let (Some((mut pf, mut ps)), true, true) =
            (self.prev, self.fast.is_full(), self.slow.is_full())
        else {
            return 0;
        };
        let Some(closes) = hist.close().get(from..) else {
            return 0;
        };
        // a downward cross acts unless long-only and not long (the side holds throughout)
        let down_acts = !self.long_only || pos.side == Some(Side::Long);
        let (mut fast, fast_pos, fast_sum, fast_comp) = self.fast.cursor();
        let (mut slow, slow_pos, slow_sum, slow_comp) = self.slow.cursor();
        let mut u = from;
        let mut granted = from;
        let mut ask = QUIET_FIRST_CHUNK;
        'stretch: loop {
            if u == granted {
                let max = closes.len().saturating_sub(u - from).min(ask);
                ask = (ask * 2).min(QUIET_CHUNK);
                let got = if max == 0 { 0 } else { gate.hold(u, max) };
                if got == 0 {
                    break;
                }
                granted = u + got.min(max);
            }
            let Some(chunk) = closes.get(u - from..granted - from) else {
                break;
            };
            for &x in chunk {
                let (fsum, fcomp, f) = fast.peek(x);
                let (ssum, scomp, s) = slow.peek(x);
                if (pf < ps && f > s) || (down_acts && ps < pf && s > f) {
                    break 'stretch;
                }
                fast.commit(x, fsum, fcomp);
                slow.commit(x, ssum, scomp);
                (pf, ps) = (f, s);
                u += 1;
            }
        }
        (*fast_pos, *fast_sum, *fast_comp) = (fast.pos, fast.sum, fast.comp);
        (*slow_pos, *slow_sum, *slow_comp) = (slow.pos, slow.sum, slow.comp);
        self.prev = Some((pf, ps));
        u - from
    }

    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.prev = None;
    }

    /// The two averages at the latest decision (a crossover is why it entered or exited).
    fn rationale(&self) -> Rationale {
        Rationale {
            confidence: None,
            reasons: self
                .prev
                .map(|(fast, slow)| Reason::Crossover { fast, slow })
                .into_iter()
                .collect(),
        }
    }

    fn save_state(&self) -> Result<serde_json::Value, StateError> {
        crate::persist::to_value(self)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), StateError> {
        *self = crate::persist::from_value(state)?;
        Ok(())
    }

    fn params(&self) -> Params {
        let mut p = Params::default();
        p.0.insert("fast".into(), ParamValue::Int(self.fast_n as i64));
        p.0.insert("slow".into(), ParamValue::Int(self.slow_n as i64));
        p.0.insert("long_only".into(), ParamValue::Bool(self.long_only));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Bar, Bars};

    fn bars(closes: &[f64]) -> Bars {
        Bars::from_bars(closes.iter().enumerate().map(|(i, &c)| Bar {
            ts_ms: i as i64 * 86_400_000,
            open: c,
            high: c,
            low: c,
            close: c,
            volume: 1.0,
        }))
        .unwrap()
    }

    #[test]
    fn rationale_names_the_crossing_averages() {
        // SMA 1 vs SMA 2 on 2, 1, 3: bar 1 fast 1 < slow 1.5, bar 2 fast 3 > slow 2 → long
        let mut s = SmaCross::new(1, 2, false).unwrap();
        let got = intents(&mut s, &[2.0, 1.0, 3.0]);
        assert!(matches!(got[2], Intent::Enter(_)), "{got:?}");
        assert_eq!(
            s.rationale().reasons,
            vec![Reason::Crossover {
                fast: 3.0,
                slow: 2.0
            }]
        );
    }

    fn intents(s: &mut SmaCross, closes: &[f64]) -> Vec<Intent> {
        let b = bars(closes);
        (0..b.len())
            .map(|t| s.on_bar(&History::new(&b, t), &PositionView::default()))
            .collect()
    }

    #[test]
    fn rolling_mean_warms_up_then_slides() {
        let mut m = RollingMean::new(3);
        assert_eq!(m.update(1.0), None);
        assert_eq!(m.update(2.0), None);
        assert_eq!(m.update(3.0), Some(2.0));
        assert_eq!(m.update(7.0), Some(4.0));
    }

    #[test]
    fn crosses_up_then_down_give_long_then_short() {
        // fast 1 (the close) vs slow 2: closes 3,2,1 fall (fast < slow), then 5 crosses up,
        // then 1 crosses down
        let mut s = SmaCross::new(1, 2, false).unwrap();
        let got = intents(&mut s, &[3.0, 2.0, 1.0, 5.0, 1.0]);
        assert_eq!(got[..3], [Intent::Hold, Intent::Hold, Intent::Hold]);
        assert_eq!(got[3], Intent::Enter(Entry::market(Side::Long)));
        assert_eq!(got[4], Intent::Enter(Entry::market(Side::Short)));
        // long-only with no position: hold on the down cross
        let mut s = SmaCross::new(1, 2, true).unwrap();
        assert_eq!(intents(&mut s, &[3.0, 2.0, 1.0, 5.0, 1.0])[4], Intent::Hold);
    }

    #[test]
    fn equal_averages_are_not_a_cross() {
        let mut s = SmaCross::new(1, 2, false).unwrap();
        let got = intents(&mut s, &[2.0, 2.0, 2.0, 2.0]);
        assert!(got.iter().all(|i| *i == Intent::Hold));
    }

    #[test]
    fn params_are_checked() {
        let p = Params::resolve(SMA_CROSS_PARAMS, &[]).unwrap();
        let s = SmaCross::from_params(&p).unwrap();
        assert_eq!(s.params().usize_or("slow", 0), 20);
        let p = Params::resolve(
            SMA_CROSS_PARAMS,
            &[("fast".into(), "30".into()), ("slow".into(), "20".into())],
        )
        .unwrap();
        let e = SmaCross::from_params(&p).unwrap_err();
        assert!(e.to_string().contains("slow = 20"), "{e}");
    }
}
