//! Shared order, intent and position types: what a strategy asks for and what it sees.
//!
//! Lives left of `strategy`, `risk`, `broker` and `engine`, so all of them share one
//! vocabulary. Plain data only.

/// Direction of a position or an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Profit when the price rises.
    Long,
    /// Profit when the price falls.
    Short,
}

impl Side {
    /// +1 for long, -1 for short.
    pub fn sign(self) -> f64 {
        match self {
            Side::Long => 1.0,
            Side::Short => -1.0,
        }
    }
}

/// How big an entry should be. The engine turns it into a quantity through `risk`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// All available cash (backtesting.py's default): whole units unless `--fractional`.
    AllCash,
    /// A fraction (0–1] of current equity as notional (before leverage).
    EquityFrac(f64),
    /// An exact quantity in base units.
    Qty(f64),
    /// Let `risk` size it: base fraction × confidence^1.5 × `regime_mult`, Kelly-capped,
    /// at most the max position fraction.
    Risk {
        /// The signal's confidence in [0, 1].
        confidence: f64,
        /// The regime's size multiplier (bull 1.2, bear 0.8, crash 0.3, sideways 0.7,
        /// high-vol 0.5; 1.0 when unknown).
        regime_mult: f64,
    },
}

/// How an entry order is placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderKind {
    /// Fill at the next fill point (open of t+1 by default).
    Market,
    /// Fill only at this price or better.
    Limit(f64),
    /// Fill once the price trades through this level.
    Stop(f64),
}

/// A request to open (or flip into) a position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// Direction.
    pub side: Side,
    /// Size.
    pub sizing: Sizing,
    /// Order type.
    pub kind: OrderKind,
    /// Protective stop price level, if any.
    pub stop: Option<f64>,
    /// Take-profit price level, if any.
    pub take_profit: Option<f64>,
    /// ATR at decision time, for ATR-based trailing stops (`None` when the strategy has none).
    pub atr: Option<f64>,
}

impl Entry {
    /// A market entry of all cash with no stop or target.
    pub fn market(side: Side) -> Self {
        Entry {
            side,
            sizing: Sizing::AllCash,
            kind: OrderKind::Market,
            stop: None,
            take_profit: None,
            atr: None,
        }
    }
}

/// What a strategy wants after seeing bar t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Intent {
    /// Do nothing.
    Hold,
    /// Open a position (closing an opposite one first).
    Enter(Entry),
    /// Close a fraction (0–1] of the open position.
    Exit {
        /// Fraction of the position to close.
        frac: f64,
    },
}

/// What a strategy sees of its position at bar t.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PositionView {
    /// `None` when flat.
    pub side: Option<Side>,
    /// Quantity in base units (>= 0).
    pub qty: f64,
    /// Average entry price (0 when flat).
    pub entry_price: f64,
    /// Open time of the entry bar (0 when flat).
    pub entry_ts_ms: i64,
    /// Bars since entry (0 when flat).
    pub bars_held: usize,
    /// Account equity at the close of bar t.
    pub equity: f64,
}

impl PositionView {
    /// True when no position is open.
    pub fn is_flat(&self) -> bool {
        self.side.is_none()
    }
}

/// Why a trade (or part of one) was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The strategy asked to exit.
    Signal,
    /// The strategy entered the other side.
    Flip,
    /// The protective stop was hit.
    StopLoss,
    /// The take-profit level was hit.
    TakeProfit,
    /// The trailing stop was hit.
    TrailingStop,
    /// The break-even stop was hit.
    BreakEven,
    /// A partial take-profit at 1R/2R/3R.
    PartialTakeProfit,
    /// The position was liquidated (margin exhausted).
    Liquidation,
    /// Closed at the end of the data (`--close-at-end`).
    EndOfData,
    /// Still open at the end of the data, valued at the last close.
    Open,
}

/// A closed (or, with [`ExitReason::Open`], still open) trade, fees included.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    /// Direction.
    pub side: Side,
    /// Quantity closed, in base units.
    pub qty: f64,
    /// Index of the entry fill's bar.
    pub entry_bar: usize,
    /// Index of the exit fill's bar.
    pub exit_bar: usize,
    /// Entry fill time (UTC ms, the fill bar's open time).
    pub entry_ts_ms: i64,
    /// Exit fill time (UTC ms).
    pub exit_ts_ms: i64,
    /// Entry fill price (after slippage).
    pub entry_price: f64,
    /// Exit fill price (after slippage).
    pub exit_price: f64,
    /// Profit in quote currency, net of entry and exit commission and funding.
    pub pnl: f64,
    /// Return of the trade in percent of its entry notional, net of fees and funding:
    /// `100 × pnl / (qty × entry_price)` (backtesting.py 0.6's `ReturnPct × 100`, which
    /// also subtracts commission).
    pub return_pct: f64,
    /// Commission paid on entry and exit for this quantity.
    pub fees: f64,
    /// Maximum adverse excursion over the trade, percent of entry price (<= 0).
    pub mae_pct: f64,
    /// Maximum favourable excursion over the trade, percent of entry price (>= 0).
    pub mfe_pct: f64,
    /// Why it closed.
    pub exit_reason: ExitReason,
}
