//! [`RiskConfig`]: which risk rules are on, and their numbers. Every rule is optional.

/// Kelly cap on `Sizing::Risk` entries, from the strategy's own closed trades.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KellyRule {
    /// Closed trades needed before the cap applies (20).
    pub min_trades: usize,
    /// Fraction of the Kelly fraction used as the cap (0.5 = half-Kelly).
    pub multiplier: f64,
    /// Smallest size the cap allows (0.01 of equity), so a strategy with a negative edge
    /// keeps trading small and its statistics can recover.
    pub floor_frac: f64,
}

/// Trailing stop: once the best price since entry is `activate_frac` beyond the entry, the
/// stop trails that best price by the wider of `trail_frac` × price and `atr_mult` × ATR.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrailingRule {
    /// Move in favour (fraction of entry) that activates trailing (0.01).
    pub activate_frac: f64,
    /// Trailing distance as a fraction of the best price (0.005).
    pub trail_frac: f64,
    /// Trailing distance in ATRs (1.5), used when wider; ignored without an ATR.
    pub atr_mult: f64,
}

/// Break-even stop: once the best price is `trigger_frac` beyond the entry, the stop moves
/// to the fee-aware break-even price plus `offset_frac` (in the trade's favour). With a
/// commission `c` per side the break-even exit is `entry·(1 + c)/(1 − c)` for a long and
/// `entry·(1 − c)/(1 + c)` for a short, so a "break-even" exit does not lose the two
/// commissions (issue 12, item 9).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BreakEvenRule {
    /// Move in favour (fraction of entry) that triggers (0.005).
    pub trigger_frac: f64,
    /// Where the stop goes, as a fraction beyond the break-even price (0.0005).
    pub offset_frac: f64,
    /// Commission per side the stop must cover (the run's `--commission`; 0 in
    /// [`RiskConfig::standard`], set by [`RiskConfig::with_commission`]).
    pub commission_frac: f64,
}

impl BreakEvenRule {
    /// The stop level for a position entered at `entry` on the side with sign `s` (+1 long).
    pub fn level(&self, entry: f64, s: f64) -> f64 {
        let c = self.commission_frac.clamp(0.0, 0.5);
        entry * (1.0 + s * c) / (1.0 - s * c) * (1.0 + s * self.offset_frac)
    }
}

/// Partial profit taking: close `frac_each` of the initial quantity at each multiple of the
/// initial risk R = |entry − initial stop|. Needs an initial stop; the rest trails.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartialRule {
    /// R multiples of the legs (1, 2, 3).
    pub r_multiples: [f64; 3],
    /// Fraction of the initial quantity per leg (0.25).
    pub frac_each: f64,
}

/// The base size of a confidence-sized entry: 20 % of equity. The seed's worked example
/// sizes a 72 % confidence signal in a bull market (regime factor 1.2) at 15 % of equity:
/// `0.20 × 0.72^1.5 × 1.2 = 0.147` (issue 10; it was 0.10, which gave 7 %).
pub const BASE_FRAC: f64 = 0.20;

/// The risk rules. `None` switches a rule off.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RiskConfig {
    /// Base size of a `Sizing::Risk` entry, fraction of equity ([`BASE_FRAC`]); the size
    /// is `base_frac × confidence^confidence_exponent × regime_mult`.
    pub base_frac: f64,
    /// Exponent on confidence (1.5).
    pub confidence_exponent: f64,
    /// Kelly cap.
    pub kelly: Option<KellyRule>,
    /// Largest position, fraction of equity as margin (0.25).
    pub max_position_frac: Option<f64>,
    /// Trailing stop.
    pub trailing: Option<TrailingRule>,
    /// Break-even stop.
    pub break_even: Option<BreakEvenRule>,
    /// Partial profit taking.
    pub partials: Option<PartialRule>,
    /// No new entries once equity is this fraction below the UTC day's starting equity
    /// (0.02).
    pub daily_loss_limit_frac: Option<f64>,
}

impl RiskConfig {
    /// backtesting.py's semantics: no caps, no managed stops, all-cash sizing.
    pub fn passthrough() -> Self {
        RiskConfig {
            base_frac: BASE_FRAC,
            confidence_exponent: 1.5,
            kelly: None,
            max_position_frac: None,
            trailing: None,
            break_even: None,
            partials: None,
            daily_loss_limit_frac: None,
        }
    }

    /// The seed's rules: confidence^1.5 sizing, half-Kelly after 20 trades, max 25 % of
    /// equity, trailing (+1 %, 0.5 % or 1.5 ATR), break-even (+0.5 % → entry + 0.05 %),
    /// partials (25 % at 1R, 2R, 3R), daily loss limit 2 %.
    pub fn standard() -> Self {
        RiskConfig {
            base_frac: BASE_FRAC,
            confidence_exponent: 1.5,
            kelly: Some(KellyRule {
                min_trades: 20,
                multiplier: 0.5,
                floor_frac: 0.01,
            }),
            max_position_frac: Some(0.25),
            trailing: Some(TrailingRule {
                activate_frac: 0.01,
                trail_frac: 0.005,
                atr_mult: 1.5,
            }),
            break_even: Some(BreakEvenRule {
                trigger_frac: 0.005,
                offset_frac: 0.0005,
                commission_frac: 0.0,
            }),
            partials: Some(PartialRule {
                r_multiples: [1.0, 2.0, 3.0],
                frac_each: 0.25,
            }),
            daily_loss_limit_frac: Some(0.02),
        }
    }

    /// The same rules with the break-even stop covering commission `c` per side.
    pub fn with_commission(mut self, c: f64) -> Self {
        if let Some(be) = &mut self.break_even {
            be.commission_frac = c;
        }
        self
    }

    /// True when no rule manages open positions (the engine skips per-bar management).
    pub fn is_unmanaged(&self) -> bool {
        self.trailing.is_none() && self.break_even.is_none() && self.partials.is_none()
    }
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig::passthrough()
    }
}
