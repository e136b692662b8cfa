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

/// One compensated addition of `x` to the running sum `sum` with compensation `comp`:
/// `comp` gains the rounding error of `sum + x`, found by Knuth's TwoSum (six additions,
/// no branch, so the two-lane forms need no compare and no blend). Whenever `sum + x` is
/// finite that error is exact, so these are the bits of Neumaier's branch (`comp +=
/// ((big − t) + small)` with `big` the operand of larger magnitude; the form before
/// session 14; the test `twosum_is_neumaier_bit_for_bit` compares both); where `sum + x`
/// overflows or an operand is not finite both make the mean NaN from that bar on.
#[inline(always)]
pub(crate) fn two_sum(sum: f64, comp: f64, x: f64) -> (f64, f64) {
    let t = sum + x;
    // `x`'s share of `t`, then what each operand lost to the rounding
    let bx = t - sum;
    (t, comp + ((sum - (t - bx)) + (x - bx)))
}

/// A streaming simple moving average of closes: a ring buffer and a compensated running sum
/// (pandas' rolling mean compensates too).
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
        (self.sum, self.comp) = two_sum(self.sum, self.comp, x);
    }

    /// True once `n` values have been seen (the mean is defined).
    #[inline]
    fn is_full(&self) -> bool {
        self.count == self.buf.len()
    }

    /// Feed `x`; the mean once `n` values have been seen. Always inlined: a stepped bar
    /// calls it twice, and as a call it cost ≈ 4 % of a 1 M-bar run (session 10).
    #[inline(always)]
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

    /// The ring, its position and the running sums, for a quiet stretch to hold in locals
    /// and write back (see [`SmaCross::quiet_bars`]).
    #[inline]
    fn parts(&mut self) -> (&mut [f64], &mut usize, &mut f64, &mut f64) {
        let RollingMean {
            buf,
            pos,
            sum,
            comp,
            ..
        } = self;
        (buf.as_mut_slice(), pos, sum, comp)
    }

    fn reset(&mut self) {
        self.buf.iter_mut().for_each(|v| *v = 0.0);
        self.pos = 0;
        self.count = 0;
        self.sum = 0.0;
        self.comp = 0.0;
    }
}

/// Both [`RollingMean`]s of a [`SmaCross`] held in locals while a quiet stretch runs
/// ahead: [`MeanPair::peek`] computes the sums and the two means after feeding `x` without
/// feeding it, [`MeanPair::commit`] feeds it ([`RollingMean::update`]'s operations, in its
/// order, for each average), [`MeanPair::finish`] writes the state back. The sums and
/// positions are not fields behind `&mut self`, so the loop keeps them in registers.
trait MeanPair {
    /// The new running sums of both averages.
    type Sums: Copy;
    /// The sums and the (fast, slow) means after feeding `x`, without feeding it.
    fn peek(&self, x: f64) -> (Self::Sums, f64, f64);
    /// Feed `x`, whose new sums [`MeanPair::peek`] computed.
    fn commit(&mut self, x: f64, sums: Self::Sums);
    /// Write the state back to the averages.
    fn finish(self);
}

/// One average's window in locals (the portable [`MeanPair`] holds two).
struct Cursor<'a> {
    buf: &'a mut [f64],
    pos: usize,
    sum: f64,
    comp: f64,
    /// The window length as a float.
    n: f64,
    /// Where the position and sums go back.
    back: (&'a mut usize, &'a mut f64, &'a mut f64),
}

impl<'a> Cursor<'a> {
    fn new(m: &'a mut RollingMean) -> Self {
        let (buf, pos, sum, comp) = m.parts();
        Cursor {
            n: buf.len() as f64,
            buf,
            pos: *pos,
            sum: *sum,
            comp: *comp,
            back: (pos, sum, comp),
        }
    }

    /// The running sums and the mean after feeding `x`, without feeding it.
    #[inline(always)]
    fn peek(&self, x: f64) -> (f64, f64, f64) {
        let old = self.buf.get(self.pos).copied().unwrap_or(0.0);
        let (sum, comp) = two_sum(self.sum, self.comp, -old);
        let (sum, comp) = two_sum(sum, comp, x);
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

    fn finish(self) {
        let (pos, sum, comp) = self.back;
        (*pos, *sum, *comp) = (self.pos, self.sum, self.comp);
    }
}

/// The portable [`MeanPair`]: two scalar cursors.
struct ScalarPair<'a> {
    fast: Cursor<'a>,
    slow: Cursor<'a>,
}

impl MeanPair for ScalarPair<'_> {
    type Sums = [f64; 4];

    #[inline(always)]
    fn peek(&self, x: f64) -> ([f64; 4], f64, f64) {
        let (fs, fc, f) = self.fast.peek(x);
        let (ss, sc, s) = self.slow.peek(x);
        ([fs, fc, ss, sc], f, s)
    }

    #[inline(always)]
    fn commit(&mut self, x: f64, [fs, fc, ss, sc]: [f64; 4]) {
        self.fast.commit(x, fs, fc);
        self.slow.commit(x, ss, sc);
    }

    fn finish(self) {
        self.fast.finish();
        self.slow.finish();
    }
}

/// The x86-64 [`MeanPair`]: both averages in the two lanes of one SSE2 vector (lane 0
/// fast, lane 1 slow), so each bar takes one vector operation where the portable pair
/// takes two scalar ones, and one division for both means. Each lane does exactly the
/// scalar operations (`two_sum`'s six additions), so the bits are the same. The intrinsics
/// go through `pulp`'s SSE2 token (the crate forbids `unsafe`; SSE2 is part of x86-64, so
/// the check always passes).
#[cfg(target_arch = "x86_64")]
pub(crate) mod sse2 {
    use core::arch::x86_64::__m128d;

    use pulp::core_arch::x86::Sse2;

    use super::{MeanPair, RollingMean};

    /// [`two_sum`](super::two_sum) in both lanes of `(sums, comps)` (TwoSum: `t = s + x`,
    /// `bx = t − s`, `comp + ((s − (t − bx)) + (x − bx))`); the fast path's lanes call it too.
    #[inline(always)]
    pub(crate) fn two_sum_lanes(
        x2: Sse2,
        (s, c): (__m128d, __m128d),
        x: __m128d,
    ) -> (__m128d, __m128d) {
        let t = x2._mm_add_pd(s, x);
        let bx = x2._mm_sub_pd(t, s);
        let e = x2._mm_add_pd(x2._mm_sub_pd(s, x2._mm_sub_pd(t, bx)), x2._mm_sub_pd(x, bx));
        (t, x2._mm_add_pd(c, e))
    }

    /// See the module doc.
    pub(super) struct Sse2Pair<'a> {
        x2: Sse2,
        fast: &'a mut [f64],
        slow: &'a mut [f64],
        fpos: usize,
        spos: usize,
        sum: __m128d,
        comp: __m128d,
        /// The window lengths as floats.
        n: __m128d,
        /// `-0.0` in both lanes: the sign bit.
        sign: __m128d,
        back: [(&'a mut usize, &'a mut f64, &'a mut f64); 2],
    }

    impl<'a> Sse2Pair<'a> {
        /// Both averages in one pair; `None` without SSE2 (never on x86-64).
        pub(super) fn new(fast: &'a mut RollingMean, slow: &'a mut RollingMean) -> Option<Self> {
            let x2 = Sse2::try_new()?;
            let (fbuf, fpos, fsum, fcomp) = fast.parts();
            let (sbuf, spos, ssum, scomp) = slow.parts();
            Some(Sse2Pair {
                x2,
                n: x2._mm_set_pd(sbuf.len() as f64, fbuf.len() as f64),
                fast: fbuf,
                slow: sbuf,
                fpos: *fpos,
                spos: *spos,
                sum: x2._mm_set_pd(*ssum, *fsum),
                comp: x2._mm_set_pd(*scomp, *fcomp),
                sign: x2._mm_set1_pd(-0.0),
                back: [(fpos, fsum, fcomp), (spos, ssum, scomp)],
            })
        }

        /// Lane 0 and lane 1 of `v`.
        #[inline(always)]
        fn lanes(&self, v: __m128d) -> (f64, f64) {
            let x2 = self.x2;
            (
                x2._mm_cvtsd_f64(v),
                x2._mm_cvtsd_f64(x2._mm_unpackhi_pd(v, v)),
            )
        }
    }

    impl MeanPair for Sse2Pair<'_> {
        type Sums = (__m128d, __m128d);

        #[inline(always)]
        fn peek(&self, x: f64) -> ((__m128d, __m128d), f64, f64) {
            let x2 = self.x2;
            let of = self.fast.get(self.fpos).copied().unwrap_or(0.0);
            let os = self.slow.get(self.spos).copied().unwrap_or(0.0);
            // RollingMean::update: drop the oldest value (add its negation), add x
            let old = x2._mm_xor_pd(x2._mm_set_pd(os, of), self.sign);
            let (s, c) = two_sum_lanes(x2, (self.sum, self.comp), old);
            let (s, c) = two_sum_lanes(x2, (s, c), x2._mm_set1_pd(x));
            let (f, sl) = self.lanes(x2._mm_div_pd(x2._mm_add_pd(s, c), self.n));
            ((s, c), f, sl)
        }

        #[inline(always)]
        fn commit(&mut self, x: f64, (s, c): (__m128d, __m128d)) {
            self.sum = s;
            self.comp = c;
            if let Some(slot) = self.fast.get_mut(self.fpos) {
                *slot = x;
            }
            if let Some(slot) = self.slow.get_mut(self.spos) {
                *slot = x;
            }
            self.fpos += 1;
            if self.fpos == self.fast.len() {
                self.fpos = 0;
            }
            self.spos += 1;
            if self.spos == self.slow.len() {
                self.spos = 0;
            }
        }

        fn finish(self) {
            let (sums, comps) = (self.lanes(self.sum), self.lanes(self.comp));
            let [(fpos, fsum, fcomp), (spos, ssum, scomp)] = self.back;
            (*fpos, *fsum, *fcomp) = (self.fpos, sums.0, comps.0);
            (*spos, *ssum, *scomp) = (self.spos, sums.1, comps.1);
        }
    }
}

/// Run a quiet stretch over `closes` (bar `from` first) with `pair`: ask the gate for
/// chunks of bars and feed both averages until the bar of the next crossover that acts
/// (not fed) or the gate's refusal. Returns the bars consumed and the last means.
#[inline(always)]
fn run_ahead<P: MeanPair>(
    mut pair: P,
    (mut pf, mut ps): (f64, f64),
    closes: &[f64],
    from: usize,
    down_acts: bool,
    gate: &mut dyn QuietGate,
) -> (usize, (f64, f64)) {
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
            let (sums, f, s) = pair.peek(x);
            if (pf < ps && f > s) || (down_acts && ps < pf && s > f) {
                break 'stretch;
            }
            pair.commit(x, sums);
            (pf, ps) = (f, s);
            u += 1;
        }
    }
    pair.finish();
    (u - from, (pf, ps))
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
        let (Some(prev), true, true) = (self.prev, self.fast.is_full(), self.slow.is_full()) else {
            return 0;
        };
        let Some(closes) = hist.close().get(from..) else {
            return 0;
        };
        // a downward cross acts unless long-only and not long (the side holds throughout)
        let down_acts = !self.long_only || pos.side == Some(Side::Long);
        #[cfg(target_arch = "x86_64")]
        if let Some(pair) = sse2::Sse2Pair::new(&mut self.fast, &mut self.slow) {
            let (k, prev) = run_ahead(pair, prev, closes, from, down_acts, gate);
            self.prev = Some(prev);
            return k;
        }
        let pair = ScalarPair {
            fast: Cursor::new(&mut self.fast),
            slow: Cursor::new(&mut self.slow),
        };
        let (k, prev) = run_ahead(pair, prev, closes, from, down_acts, gate);
        self.prev = Some(prev);
        k
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

    /// Grants every bar asked for.
    struct Open;

    impl QuietGate for Open {
        fn hold(&mut self, _from: usize, max: usize) -> usize {
            max
        }
    }

    /// The bits of `x`, every `NaN` as `f64::NAN`'s: Rust leaves the sign and payload of a
    /// `NaN` that arithmetic produces unspecified, and an optimised build may commute an
    /// addition, so which of two `NaN` operands (x86's default `NaN` is negative) comes out
    /// differs between builds; every other value is compared bit for bit.
    fn bits(x: f64) -> u64 {
        if x.is_nan() {
            f64::NAN.to_bits()
        } else {
            x.to_bits()
        }
    }

    fn mean_bits(m: &RollingMean) -> (Vec<u64>, usize, usize, u64, u64) {
        (
            m.buf.iter().map(|&x| bits(x)).collect(),
            m.pos,
            m.count,
            bits(m.sum),
            bits(m.comp),
        )
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_pair_equals_the_scalar_pair_bit_for_bit_on_awkward_closes() {
        use rand::{RngExt, SeedableRng};
        let special = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE / 4.0,
            1e300,
            -1e300,
            1e-300,
            1.0 + f64::EPSILON,
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for case in 0..400 {
            let fast_n = rng.random_range(1..8usize);
            let slow_n = fast_n + rng.random_range(1..25usize);
            let len = rng.random_range(slow_n + 1..slow_n + 120);
            let mut x: f64 = 100.0;
            let closes: Vec<f64> = (0..len)
                .map(|_| {
                    if rng.random_range(0..20) == 0 {
                        special[rng.random_range(0..special.len())]
                    } else {
                        x += rng.random_range(-3.0..3.0);
                        if case % 3 == 0 { x.round() } else { x }
                    }
                })
                .collect();
            // warm both averages up on a prefix, then run the rest ahead both ways
            let warm = rng.random_range(slow_n..len);
            // (fed like on_bar, without bars: these closes are no valid bars)
            let mut a = SmaCross::new(fast_n, slow_n, case % 2 == 0).unwrap();
            for &x in &closes[..warm] {
                if let (Some(f), Some(s)) = (a.fast.update(x), a.slow.update(x)) {
                    a.prev = Some((f, s));
                }
            }
            let Some(prev) = a.prev else { continue };
            let mut s = a.clone();
            let down_acts = case % 4 != 1;
            let rest = &closes[warm..];
            let (kv, pv) = run_ahead(
                sse2::Sse2Pair::new(&mut a.fast, &mut a.slow).unwrap(),
                prev,
                rest,
                warm,
                down_acts,
                &mut Open,
            );
            let scalar = ScalarPair {
                fast: Cursor::new(&mut s.fast),
                slow: Cursor::new(&mut s.slow),
            };
            let (ks, ps) = run_ahead(scalar, prev, rest, warm, down_acts, &mut Open);
            assert_eq!(kv, ks, "case {case}");
            assert_eq!(
                (bits(pv.0), bits(pv.1)),
                (bits(ps.0), bits(ps.1)),
                "case {case}"
            );
            assert_eq!(mean_bits(&a.fast), mean_bits(&s.fast), "case {case}");
            assert_eq!(mean_bits(&a.slow), mean_bits(&s.slow), "case {case}");
        }
    }

    #[test]
    fn quiet_bars_equal_stepping_bar_by_bar() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut x = 50.0;
        let closes: Vec<f64> = (0..3_000)
            .map(|_| {
                x += rng.random_range(-1.0..1.0);
                x
            })
            .collect();
        let b = bars(&closes);
        let mut stepped = SmaCross::new(4, 9, false).unwrap();
        let mut quiet = stepped.clone();
        let view = PositionView::default();
        let mut t = 0;
        while t < b.len() {
            let k = quiet.quiet_bars(&History::new(&b, b.len() - 1), t, &view, &mut Open);
            for u in t..t + k {
                assert_eq!(
                    stepped.on_bar(&History::new(&b, u), &view),
                    Intent::Hold,
                    "bar {u}"
                );
            }
            t += k;
            if t < b.len() {
                stepped.on_bar(&History::new(&b, t), &view);
                quiet.on_bar(&History::new(&b, t), &view);
                t += 1;
            }
            assert_eq!(mean_bits(&quiet.fast), mean_bits(&stepped.fast), "bar {t}");
            assert_eq!(mean_bits(&quiet.slow), mean_bits(&stepped.slow), "bar {t}");
            assert_eq!(
                quiet.prev.map(|(f, s)| (f.to_bits(), s.to_bits())),
                stepped.prev.map(|(f, s)| (f.to_bits(), s.to_bits()))
            );
        }
    }

    /// The compensated addition before session 14: Neumaier's branch.
    fn neumaier_reference(sum: f64, comp: f64, x: f64) -> (f64, f64) {
        let t = sum + x;
        let comp = if sum.abs() >= x.abs() {
            comp + ((sum - t) + x)
        } else {
            comp + ((x - t) + sum)
        };
        (t, comp)
    }

    /// `two_sum` gives Neumaier's bits wherever `sum + x` is finite (both compute the exact
    /// rounding error), over operands of every magnitude and sign, zeros, subnormals and
    /// near-cancellations, and chained as a running sum does; where it overflows, or an
    /// operand is not finite, both make `sum + comp` NaN.
    #[test]
    fn twosum_is_neumaier_bit_for_bit() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
        let value = |rng: &mut rand_chacha::ChaCha8Rng| -> f64 {
            match rng.random_range(0..10) {
                0 => [
                    0.0,
                    -0.0,
                    f64::MIN_POSITIVE,
                    -f64::MIN_POSITIVE / 3.0,
                    5e-324,
                ][rng.random_range(0..5)],
                1 => f64::from_bits(rng.random::<u64>() & !(0x7ff << 52)), // subnormal, either sign
                2 => {
                    // any finite bit pattern
                    let b = rng.random::<u64>();
                    let f = f64::from_bits(b);
                    if f.is_finite() { f } else { 1.0 }
                }
                3 => rng.random_range(-1.0..1.0) * 10f64.powi(rng.random_range(-300..300)),
                _ => 100.0 + rng.random_range(-50.0..50.0),
            }
        };
        let mut checked = 0;
        for _ in 0..200_000 {
            let (s, c, x) = (value(&mut rng), value(&mut rng), value(&mut rng));
            // also the exact negation of s and near-cancellations
            for x in [x, -s, -(s * (1.0 + f64::EPSILON)), -x] {
                let (a, b) = (two_sum(s, c, x), neumaier_reference(s, c, x));
                if (s + x).is_finite() {
                    let bits = |p: (f64, f64)| (p.0.to_bits(), p.1.to_bits());
                    assert_eq!(bits(a), bits(b), "{s:e} {c:e} {x:e}");
                    checked += 1;
                } else {
                    assert!(
                        (a.0 + a.1).is_nan() && (b.0 + b.1).is_nan(),
                        "{s:e} {c:e} {x:e}"
                    );
                }
            }
        }
        assert!(checked > 700_000, "{checked}");
        // chained: a running sum of 10-bar windows over closes, as `RollingMean::update` does
        let mut closes = vec![100.0f64];
        for _ in 0..100_000 {
            let last = *closes.last().unwrap();
            closes.push((last + rng.random_range(-1.0..1.0)).max(0.01));
        }
        let (mut a, mut b) = ((0.0, 0.0), (0.0, 0.0));
        for (t, &x) in closes.iter().enumerate() {
            if t >= 10 {
                a = two_sum(a.0, a.1, -closes[t - 10]);
                b = neumaier_reference(b.0, b.1, -closes[t - 10]);
            }
            a = two_sum(a.0, a.1, x);
            b = neumaier_reference(b.0, b.1, x);
            assert_eq!(
                (a.0.to_bits(), a.1.to_bits()),
                (b.0.to_bits(), b.1.to_bits()),
                "bar {t}"
            );
        }
        // overflow: Neumaier's compensation is -inf, TwoSum's NaN; the mean is NaN for both
        let (a, b) = (
            two_sum(1.7e308, 0.0, 1.7e308),
            neumaier_reference(1.7e308, 0.0, 1.7e308),
        );
        assert!((a.0 + a.1).is_nan() && (b.0 + b.1).is_nan());
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
