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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OrderKind {
    /// Fill at the next fill point (open of t+1 by default).
    Market,
    /// Fill only at this price or better.
    Limit(f64),
    /// Fill once the price trades through this level.
    Stop(f64),
}

/// A request to open (or flip into) a position.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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

/// Why an order exists: opening or adding to a position, closing it, or protecting it.
/// A new entry never cancels protective orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderPurpose {
    /// Opens, flips or adds to a position.
    Entry,
    /// Closes all or part of the position (reduce-only).
    Exit,
    /// A protective stop or take-profit resting on the position (reduce-only).
    Protective,
}

impl OrderPurpose {
    /// True for exits and protective orders: they only ever reduce the position.
    pub fn is_reduce_only(self) -> bool {
        !matches!(self, OrderPurpose::Entry)
    }
}

/// A client order id: `[A-Za-z0-9_-]{1,36}` (Binance's `newClientOrderId` rule), chosen by
/// the engine before the order is sent, so a lost answer can be resolved by asking for this
/// id instead of sending the order again.
///
/// [`ClientOrderId::derive`] makes it deterministic: the same run or bot, bar and intent
/// always give the same id.
///
/// `Copy` and never on the heap. A derived id keeps its parts (scope prefix, bar time,
/// sequence) and is spelt out only when asked ([`ClientOrderId::text`], `Display`, serde,
/// comparisons): the engine derives one per order on the backtest's hot path, where the
/// simulator never reads it as text. Equality, ordering and hashing are those of the text,
/// so a derived id equals the same text parsed with [`ClientOrderId::new`].
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientOrderId(IdRepr);

/// How a [`ClientOrderId`] is held.
#[derive(Clone, Copy)]
enum IdRepr {
    /// Checked text ([`ClientOrderId::new`]).
    Text(IdText),
    /// [`ClientOrderId::derive`]'s parts; the text is `{scope}-{ts}-{seq}`.
    Derived {
        /// The scope's allowed characters, 1 to [`IdScope::MAX_LEN`] of them.
        scope: IdScope,
        /// Open time of the bar (UTC ms).
        ts_ms: i64,
        /// The order's sequence number on the bar, already cut below 36⁸.
        seq: u64,
    },
}

/// At most `N` ASCII bytes in a stack buffer: the shape of both [`IdText`] and
/// [`IdScope`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct AsciiBuf<const N: usize> {
    len: u8,
    buf: [u8; N],
}

impl<const N: usize> AsciiBuf<N> {
    const fn empty() -> Self {
        AsciiBuf {
            len: 0,
            buf: [0; N],
        }
    }

    /// Append bytes (the callers keep within `N`; extra bytes are dropped).
    #[inline]
    fn push_bytes(&mut self, b: &[u8]) {
        let at = usize::from(self.len);
        let n = b.len().min(N.saturating_sub(at));
        if let (Some(dst), Some(src)) = (self.buf.get_mut(at..at + n), b.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n as u8;
        }
    }

    /// Append one byte (dropped beyond `N`; the callers keep within it).
    #[inline]
    fn push_byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len += 1;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// A client order id's text in a stack buffer ([`ClientOrderId::text`]): at most
/// [`ClientOrderId::MAX_LEN`] ASCII bytes.
#[derive(Clone, Copy)]
pub struct IdText(AsciiBuf<{ ClientOrderId::MAX_LEN }>);

impl IdText {
    fn empty() -> Self {
        IdText(AsciiBuf::empty())
    }

    /// Append bytes (the callers keep within [`ClientOrderId::MAX_LEN`]; extra bytes are
    /// dropped).
    #[inline]
    fn push_bytes(&mut self, b: &[u8]) {
        self.0.push_bytes(b);
    }

    /// Append one byte (dropped beyond [`ClientOrderId::MAX_LEN`]; the callers keep
    /// within it).
    #[inline]
    fn push_byte(&mut self, b: u8) {
        self.0.push_byte(b);
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // only ASCII bytes are ever stored
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl std::ops::Deref for IdText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for IdText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for IdText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The prefix [`ClientOrderId::derive`] takes from a run or bot id: its first
/// [`IdScope::MAX_LEN`] characters of `[A-Za-z0-9_-]` (others dropped), `x` when none is
/// left. An engine filters its scope once and derives every order's id from it
/// ([`IdScope::id`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdScope(AsciiBuf<{ IdScope::MAX_LEN }>);

impl IdScope {
    /// The most characters of the scope an id keeps.
    pub const MAX_LEN: usize = 12;

    /// The prefix of `scope`.
    pub fn new(scope: &str) -> Self {
        let mut s = AsciiBuf::empty();
        let allowed = scope
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        for b in allowed.take(Self::MAX_LEN) {
            s.push_byte(b);
        }
        if s.len == 0 {
            s.push_byte(b'x');
        }
        IdScope(s)
    }

    /// The id of the `seq`-th order decided on the bar opening at `ts_ms` under this
    /// scope: [`ClientOrderId::derive`] without filtering the scope again. Nothing is
    /// formatted here.
    #[inline]
    pub fn id(self, ts_ms: i64, seq: u64) -> ClientOrderId {
        // 36^8 > 2.8e12 orders per bar: never reached; the modulo keeps the length bound
        ClientOrderId(IdRepr::Derived {
            scope: self,
            ts_ms,
            seq: seq % 2_821_109_907_456,
        })
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for IdScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IdScope")
            .field(&String::from_utf8_lossy(self.as_bytes()))
            .finish()
    }
}

impl PartialEq for ClientOrderId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            // the same parts spell the same text (different parts may too: compare text)
            (
                IdRepr::Derived {
                    scope: a,
                    ts_ms: ta,
                    seq: sa,
                },
                IdRepr::Derived {
                    scope: b,
                    ts_ms: tb,
                    seq: sb,
                },
            ) if a == b && ta == tb && sa == sb => true,
            _ => self.text().as_bytes() == other.text().as_bytes(),
        }
    }
}

impl Eq for ClientOrderId {}

impl std::hash::Hash for ClientOrderId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text().as_str().hash(state);
    }
}

impl PartialOrd for ClientOrderId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClientOrderId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text().as_bytes().cmp(other.text().as_bytes())
    }
}

impl std::fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClientOrderId")
            .field(&self.text().as_str())
            .finish()
    }
}

/// A string that is not a valid [`ClientOrderId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad client order id {0:?}: must match [A-Za-z0-9_-]{{1,36}}")]
pub struct BadClientOrderId(pub String);

impl ClientOrderId {
    /// The longest id a venue accepts.
    pub const MAX_LEN: usize = 36;

    /// Check `s` against `[A-Za-z0-9_-]{1,36}`.
    ///
    /// # Errors
    /// [`BadClientOrderId`] when it is empty, too long or has another character.
    pub fn new(s: impl Into<String>) -> Result<Self, BadClientOrderId> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            let mut text = IdText::empty();
            text.push_bytes(s.as_bytes());
            Ok(ClientOrderId(IdRepr::Text(text)))
        } else {
            Err(BadClientOrderId(s))
        }
    }

    /// The id of the `seq`-th order decided on the bar opening at `ts_ms` by run or bot
    /// `scope`: `{scope}-{ts}-{seq}` with the scope cut to its first 12 allowed characters
    /// (others dropped; `x` when none is left) and the time and sequence in base 36 (a
    /// negative time gets an `n` prefix). At most 12 + 1 + 14 + 1 + 8 = 36 characters.
    /// Keeps the parts; the text is spelt out when read ([`IdScope::id`]).
    pub fn derive(scope: &str, ts_ms: i64, seq: u64) -> Self {
        IdScope::new(scope).id(ts_ms, seq)
    }

    /// The id as text, in a stack buffer.
    pub fn text(&self) -> IdText {
        match self.0 {
            IdRepr::Text(text) => text,
            IdRepr::Derived { scope, ts_ms, seq } => {
                let mut text = IdText::empty();
                text.push_bytes(scope.as_bytes());
                text.push_byte(b'-');
                if ts_ms < 0 {
                    text.push_byte(b'n');
                }
                push_base36(&mut text, ts_ms.unsigned_abs());
                text.push_byte(b'-');
                push_base36(&mut text, seq);
                text
            }
        }
    }
}

fn push_base36(s: &mut IdText, mut x: u64) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut buf = [0u8; 13];
    let mut i = buf.len();
    // 64-bit divisions only while needed (a bar time in ms takes two), then 32-bit ones;
    // the digits are appended at once
    while x > u64::from(u32::MAX) {
        i -= 1;
        buf[i] = DIGITS[(x % 36) as usize];
        x /= 36;
    }
    let mut y = u32::try_from(x).unwrap_or_default();
    loop {
        i -= 1;
        buf[i] = DIGITS[(y % 36) as usize];
        y /= 36;
        if y == 0 {
            break;
        }
    }
    s.push_bytes(&buf[i..]);
}

impl std::fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl TryFrom<String> for ClientOrderId {
    type Error = BadClientOrderId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClientOrderId::new(s)
    }
}

impl From<ClientOrderId> for String {
    fn from(id: ClientOrderId) -> String {
        id.text().as_str().to_string()
    }
}

/// `qty` rounded down to a multiple of `step` (unchanged for `step <= 0`); a step of 1 gives
/// exactly `qty.floor()`.
#[inline]
pub fn round_to_step(qty: f64, step: f64) -> f64 {
    if step > 0.0 {
        (qty / step).floor() * step
    } else {
        qty
    }
}

/// What can be traded and the venue's rules for its orders (Binance's `PRICE_FILTER`,
/// `LOT_SIZE`, `MIN_NOTIONAL`/`NOTIONAL` filters and leverage brackets). Quantities are
/// resolved against these rules in `risk`, before an order reaches a broker.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instrument {
    /// Symbol as the data names it (`BTC/USDT`, `GOOG`).
    pub symbol: String,
    /// Price increment; 0 = any price.
    pub tick_size: f64,
    /// Quantity increment; 0 = any quantity (fractional), 1 = whole units.
    pub step_size: f64,
    /// Smallest quantity an order may have.
    pub min_qty: f64,
    /// Smallest notional (`qty × price`) an order may have.
    pub min_notional: f64,
    /// Highest leverage the venue allows.
    pub max_leverage: f64,
}

impl Instrument {
    /// A simulated instrument with no minimums: whole units, or any quantity when
    /// `fractional` (backtesting.py's rules).
    pub fn simulated(symbol: &str, fractional: bool) -> Self {
        Instrument {
            symbol: symbol.to_string(),
            tick_size: 0.0,
            step_size: if fractional { 0.0 } else { 1.0 },
            min_qty: 0.0,
            min_notional: 0.0,
            max_leverage: 125.0,
        }
    }

    /// `qty` rounded down to the step size.
    #[inline]
    pub fn round_qty(&self, qty: f64) -> f64 {
        round_to_step(qty, self.step_size)
    }

    /// `price` rounded to the nearest tick.
    #[inline]
    pub fn round_price(&self, price: f64) -> f64 {
        if self.tick_size > 0.0 {
            (price / self.tick_size).round() * self.tick_size
        } else {
            price
        }
    }

    /// True when an order of `qty` at `price` meets the minimum quantity and notional.
    #[inline]
    pub fn admits(&self, qty: f64, price: f64) -> bool {
        qty > 0.0 && qty >= self.min_qty && qty * price >= self.min_notional
    }
}

/// Why a strategy decided what it did (typed, so the learning DB can query it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// A fast moving average crossed a slow one.
    Crossover {
        /// Fast average at the decision.
        fast: f64,
        /// Slow average at the decision.
        slow: f64,
    },
    /// A named indicator or feature value that drove the decision.
    Indicator {
        /// Its name as the reports spell it (`rsi_14`, `adx`, …).
        name: String,
        /// Its value at the decision.
        value: f64,
    },
}

/// The confidence and reasons of a strategy's latest decision
/// (`Strategy::rationale`).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rationale {
    /// Confidence in [0, 1], when the strategy has one.
    pub confidence: Option<f64>,
    /// Why, most important first.
    pub reasons: Vec<Reason>,
}

/// What a fill did to the position.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FillAction {
    /// Opened a new position.
    Open,
    /// Added to a position on the same side.
    Increase,
    /// Closed all or part of the position; the closed part is reported as a trade.
    Close {
        /// The closed (part of the) trade, fees and funding included.
        trade: Trade,
    },
}

/// One execution reported by [`Broker::poll`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderFill {
    /// The order it fills (`None` for the simulator's protective stops, take-profits and
    /// liquidations).
    pub order: Option<ClientOrderId>,
    /// Bar index of the fill.
    pub t: usize,
    /// Fill time (the bar's open time, UTC ms).
    pub ts_ms: i64,
    /// Buy (`Long`) or sell (`Short`).
    pub side: Side,
    /// Quantity in base units.
    pub qty: f64,
    /// Fill price, slippage included.
    pub price: f64,
    /// Commission (or liquidation fee) charged on this fill.
    pub fee: f64,
    /// Open, increase, or close with a reason.
    pub action: FillAction,
}

impl OrderFill {
    /// The exit reason when this fill closed something.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        match self.action {
            FillAction::Close { trade } => Some(trade.exit_reason),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_digits_match_the_plain_conversion_across_the_32_bit_boundary() {
        fn plain(mut x: u64) -> String {
            let mut d = Vec::new();
            loop {
                d.push(char::from_digit((x % 36) as u32, 36).unwrap());
                x /= 36;
                if x == 0 {
                    break;
                }
            }
            d.iter().rev().collect()
        }
        let m = u64::from(u32::MAX);
        for x in [
            0,
            1,
            35,
            36,
            m - 1,
            m,
            m + 1,
            1_700_000_000_000,
            u64::MAX / 3,
        ] {
            let mut id = IdText::empty();
            push_base36(&mut id, x);
            assert_eq!(id.as_str(), plain(x), "{x}");
        }
    }

    #[test]
    fn derived_client_ids_are_valid_deterministic_and_distinct() {
        let a = ClientOrderId::derive("bot 7/btc:usdt", 1_700_000_000_000, 3);
        assert_eq!(a.text().as_str(), "bot7btcusdt-loyw3v28-3");
        assert_eq!(
            a,
            ClientOrderId::derive("bot 7/btc:usdt", 1_700_000_000_000, 3)
        );
        assert_ne!(
            a,
            ClientOrderId::derive("bot 7/btc:usdt", 1_700_000_000_000, 4)
        );
        let long = ClientOrderId::derive(&"r".repeat(99), -i64::MAX, u64::MAX);
        assert!(long.text().len() <= ClientOrderId::MAX_LEN, "{long}");
        assert!(ClientOrderId::new(long.text().as_str()).is_ok());
        assert_eq!(ClientOrderId::derive("", 0, 0).text().as_str(), "x-0-0");
        assert!(ClientOrderId::new("a b").is_err());
        assert!(ClientOrderId::new("").is_err());
        assert!(ClientOrderId::new("a".repeat(37)).is_err());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<ClientOrderId>(&json).unwrap(), a);
        assert!(serde_json::from_str::<ClientOrderId>("\"a b\"").is_err());
    }

    #[test]
    fn whole_unit_instrument_floors_like_floor() {
        let i = Instrument::simulated("X", false);
        for q in [0.0, 0.999, 1.0, 7.5, 1e15 + 0.5] {
            assert_eq!(i.round_qty(q).to_bits(), q.floor().to_bits());
        }
        let f = Instrument::simulated("X", true);
        assert_eq!(f.round_qty(0.123), 0.123);
        let b = Instrument {
            min_qty: 0.001,
            min_notional: 5.0,
            ..f
        };
        assert!(!b.admits(0.0005, 1e6));
        assert!(!b.admits(0.001, 1000.0));
        assert!(b.admits(0.001, 5000.0));
    }
}
