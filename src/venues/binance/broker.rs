//! [`BinanceBroker`]: the engine's [`Broker`] on Binance spot or USD-M futures.
//!
//! The engine is synchronous, so the broker owns a current-thread tokio runtime and blocks
//! on the async [`Trader`]. Its cached view (account, open orders) is the exchange's truth as
//! of the last [`Broker::poll`] or [`Broker::snapshot`]; between them nothing does I/O.
//!
//! - `submit` places through [`Trader::place`] (query first; lost answers resolved by query;
//!   duplicates = already placed), so a replayed intent never doubles an order. An order the
//!   filters refuse is not sent: `Ack::Rejected { code: 0 }` with the reason, also kept in
//!   [`BinanceBroker::take_notes`] for the log.
//! - Funding (USD-M): each `poll` also reads the funding payments since the last one
//!   booked (`GET /fapi/v1/income`, `FUNDING_FEE`, by `tranId`) and books them in time
//!   order with the fills: the account's `funding_paid`, the open position's share (taken
//!   out of the P&L of the part that closes, as the simulation does), and a ledger
//!   ([`BinanceBroker::funding`]) that the bot's state and the learning DB keep.
//! - `poll` reads the fills since the last one (`myTrades` / `userTrades`, by trade id),
//!   turns them into [`OrderFill`]s against a local position book, then refreshes balances,
//!   position, open orders and open algo orders. A position that differs from the book is
//!   adopted from the exchange with a note (never silently overwritten); protective orders
//!   left behind by a closed position are cancelled; an entry's attached stop is placed on
//!   the exchange once the entry fills.
//! - `protect` moves the stop: the new stop is placed before the old one is cancelled, so
//!   the position is never unprotected. Take-profit legs stay with the engine (not placed).
//!
//! The connection is `#[serde(skip)]`: the serialised broker is its book and known orders;
//! after [`crate::engine`] restores it, [`BinanceBroker::attach`] reconnects.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::budget::WeightBudget;
use super::credentials::Credentials;
use super::rest::{Rest, RestConfig};
use super::rules::SymbolRules;
use super::trade::{self, Cancelled, NewOrder, Reconciliation, Trader};
use super::types::{FundingFee, OrderSide, TradeFill};
use super::{Market, pair_symbol};
use crate::broker::{
    Account, Ack, Broker, BrokerError, FillAction, MarketBar, OpenOrder, OrderFill, OrderStatus,
    PositionInfo, Snapshot,
};
use crate::core::order::{
    ClientOrderId, ExitReason, Instrument, OrderKind, OrderPurpose, Side, Trade,
};
use crate::net::{HttpClient, HttpConfig};
use crate::risk::{OrderQty, OrderRequest, Protection, RiskApproved, StopLevel};
use crate::venues::VenueError;

/// How to connect a [`BinanceBroker`].
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Spot or USD-M.
    pub market: Market,
    /// The pair as the data names it (`BTC/USDT`).
    pub symbol: String,
    /// REST base URL of `market` (see [`super::BaseUrls`]).
    pub base_url: String,
    /// API key and secret.
    pub credentials: Credentials,
    /// Futures leverage (isolated margin is set too); ignored on spot.
    pub leverage: u32,
    /// HTTP settings.
    pub http: HttpConfig,
    /// The weight budget (pass [`WeightBudget::shared`] to share it process-wide).
    pub budget: Arc<WeightBudget>,
}

struct Conn {
    rt: tokio::runtime::Runtime,
    trader: Trader,
}

/// An order the broker placed or adopted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Known {
    request: OrderRequest,
    submitted_t: usize,
    order_id: Option<i64>,
    algo: bool,
    open: bool,
    /// The stop placed for it once it fills (entries with an attached stop).
    stop_placed: bool,
}

/// The local position book (signed quantity).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Book {
    qty: f64,
    entry_price: f64,
    entry_bar: usize,
    entry_ts_ms: i64,
    entry_fees: f64,
    /// Funding paid by the open position and not yet attributed to a closed part.
    #[serde(default)]
    funding: f64,
}

/// The Binance broker (module doc).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BinanceBroker {
    #[serde(skip)]
    conn: Option<Conn>,
    market: Market,
    symbol: String,
    instrument: Instrument,
    rules: SymbolRules,
    leverage: u32,
    book: Book,
    stop: Option<StopLevel>,
    known: BTreeMap<String, Known>,
    last_trade_id: i64,
    fills_since_ms: i64,
    account: Account,
    open: Vec<OpenOrder>,
    last_close: f64,
    protect_seq: u64,
    /// USD-M funding payments booked, oldest first (the bot's funding ledger).
    #[serde(default)]
    funding: Vec<FundingFee>,
    /// The next income query starts here (the time of the last payment booked, or the
    /// connection time): inclusive, payments already booked are recognised by `tranId`.
    #[serde(default)]
    funding_since_ms: i64,
    #[serde(skip)]
    notes: Vec<String>,
}

impl std::fmt::Debug for BinanceBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceBroker")
            .field("market", &self.market)
            .field("symbol", &self.symbol)
            .field("connected", &self.conn.is_some())
            .field("book_qty", &self.book.qty)
            .finish_non_exhaustive()
    }
}

fn to_broker(e: VenueError) -> BrokerError {
    use crate::net::NetError;
    match e {
        VenueError::Net(NetError::RateLimited { retry_after_s, .. }) => BrokerError::RateLimited {
            retry_after_ms: retry_after_s.saturating_mul(1000),
        },
        VenueError::Net(NetError::Server { status, .. }) => BrokerError::Http { status },
        VenueError::Net(NetError::Network { .. } | NetError::Unreachable { .. })
        | VenueError::Unknown { .. } => BrokerError::Timeout,
        VenueError::Auth(_) => BrokerError::Auth,
        VenueError::Exchange {
            code: -2014 | -2015 | -1022,
            ..
        } => BrokerError::Auth,
        VenueError::Exchange { code, msg, .. } => BrokerError::Rejected { code, msg },
        VenueError::Rejected { status, .. } => BrokerError::Http { status },
        other => BrokerError::Decode(other.to_string()),
    }
}

/// What the start of a live tick found on the exchange, before any bar is stepped
/// ([`BinanceBroker::start_check`]); written to the bot's state file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StartCheck {
    /// The exchange clock when checked, UTC ms.
    pub server_time_ms: i64,
    /// The position on the exchange, base units, signed (spot: the base asset balance).
    pub exchange_qty: f64,
    /// The bot's booked position, signed.
    pub local_qty: f64,
    /// Fills on the exchange not yet booked (an order sent by a tick that was killed
    /// before saving): the next bar's poll books them.
    pub pending_fills: usize,
    /// Their signed quantity.
    pub pending_qty: f64,
    /// The position differs from the book plus the pending fills: what was done about it.
    pub mismatch: Option<String>,
    /// Open orders and open algo orders of the symbol the bot did not place.
    pub unknown_orders: Vec<String>,
    /// Client ids of the bot's orders open on the exchange (orders and algo orders).
    pub open_orders: Vec<String>,
    /// Orders whose submit answer was lost, queried by client id: `(id, status)`.
    pub resolved: Vec<(String, String)>,
    /// Protective orders of a closed position, cancelled now.
    pub cancelled: Vec<String>,
    /// Free balance of the quote asset.
    pub quote_free: f64,
}

impl BinanceBroker {
    /// Connect: read the symbol's rules, set isolated margin and leverage (futures), and
    /// take a first snapshot (an existing position is adopted, with a note).
    ///
    /// # Errors
    /// [`VenueError`] when the exchange cannot be reached, the symbol is unknown or the
    /// credentials are refused.
    pub fn connect(cfg: BrokerConfig) -> Result<Self, VenueError> {
        let conn = Self::open(&cfg)?;
        let symbol = pair_symbol(&cfg.symbol);
        let rules = conn.rt.block_on(conn.trader.rules(&symbol))?;
        if cfg.market == Market::UsdM {
            conn.rt
                .block_on(conn.trader.set_margin_type(&symbol, true))?;
            conn.rt
                .block_on(conn.trader.set_leverage(&symbol, cfg.leverage.max(1)))?;
        }
        let instrument = Instrument {
            symbol: cfg.symbol.clone(),
            tick_size: rules.tick_size,
            step_size: rules.market_step_size,
            min_qty: rules.market_min_qty,
            min_notional: rules.min_notional,
            max_leverage: if cfg.market == Market::UsdM {
                125.0
            } else {
                1.0
            },
        };
        let mut b = BinanceBroker {
            conn: Some(conn),
            market: cfg.market,
            symbol,
            instrument,
            rules,
            leverage: if cfg.market == Market::UsdM {
                cfg.leverage.max(1)
            } else {
                1
            },
            book: Book::default(),
            stop: None,
            known: BTreeMap::new(),
            last_trade_id: 0,
            fills_since_ms: 0,
            account: Account {
                cash: 0.0,
                position_value: 0.0,
                equity: 0.0,
                position: None,
                fees_paid: 0.0,
                funding_paid: 0.0,
                orders_rejected: 0,
                bankrupt: false,
                open_orders: 0,
            },
            open: Vec::new(),
            last_close: 0.0,
            protect_seq: 0,
            funding: Vec::new(),
            funding_since_ms: 0,
            notes: Vec::new(),
        };
        let snap = b.fetch(0)?;
        b.fills_since_ms = snap.server_time_ms;
        // only funding paid from now on is the bot's
        b.funding_since_ms = snap.server_time_ms;
        b.last_trade_id = snap.fills.iter().map(|f| f.id).max().unwrap_or(0);
        b.apply_snapshot(&snap, 0);
        Ok(b)
    }

    fn open(cfg: &BrokerConfig) -> Result<Conn, VenueError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| VenueError::BadArgs(format!("cannot start the async runtime: {e}")))?;
        let http = Arc::new(HttpClient::new(cfg.http.clone())?);
        let rest = Rest::new(
            http,
            cfg.base_url.clone(),
            cfg.market,
            Some(cfg.credentials.clone()),
            Arc::clone(&cfg.budget),
            RestConfig::default(),
        );
        Ok(Conn {
            rt,
            trader: Trader::new(rest),
        })
    }

    /// Reconnect after a restore (the connection is not serialised).
    ///
    /// # Errors
    /// As [`BinanceBroker::connect`]'s connection setup.
    pub fn attach(&mut self, cfg: &BrokerConfig) -> Result<(), VenueError> {
        self.conn = Some(Self::open(cfg)?);
        Ok(())
    }

    /// Notes for the log since the last call: orders not sent and why, adopted positions,
    /// orders the bot does not know, cancelled leftovers.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// The funding payments booked so far (USD-M; empty on spot), oldest first.
    pub fn funding(&self) -> &[FundingFee] {
        &self.funding
    }

    /// Funding payments of the symbol not booked yet (USD-M; none on spot): one income
    /// query from the last payment booked on.
    fn new_funding(&self) -> Result<Vec<FundingFee>, VenueError> {
        if self.market != Market::UsdM {
            return Ok(Vec::new());
        }
        let since = if self.funding_since_ms > 0 {
            self.funding_since_ms
        } else {
            self.fills_since_ms
        };
        let c = self.conn()?;
        let all =
            c.rt.block_on(c.trader.funding_since(&self.symbol, since, 1000))?;
        Ok(all
            .into_iter()
            .filter(|f| !self.funding.iter().any(|b| b.tran_id == f.tran_id))
            .collect())
    }

    /// Book one funding payment: the account's total, the open position's share (taken
    /// out of its P&L when it closes), the ledger.
    fn apply_funding(&mut self, f: FundingFee) {
        self.account.funding_paid += f.paid;
        if self.book.qty != 0.0 {
            self.book.funding += f.paid;
        } else {
            self.notes.push(format!(
                "funding {} {} at {} while the bot holds no position",
                f.paid, f.asset, f.time_ms
            ));
        }
        self.funding_since_ms = self.funding_since_ms.max(f.time_ms);
        self.funding.push(f);
    }

    /// The exchange's clock now (local clock + the measured offset), UTC ms: the tick's
    /// notion of "now" and of which bars are closed.
    pub fn server_now_ms(&self) -> Option<i64> {
        self.conn.as_ref().map(|c| c.trader.rest().server_now_ms())
    }

    /// The symbol's rules.
    pub fn rules(&self) -> &SymbolRules {
        &self.rules
    }

    fn conn(&self) -> Result<&Conn, VenueError> {
        self.conn
            .as_ref()
            .ok_or_else(|| VenueError::BadArgs("binance broker is not connected".to_string()))
    }

    fn fetch(&self, since_ms: i64) -> Result<Reconciliation, VenueError> {
        let c = self.conn()?;
        c.rt.block_on(c.trader.reconcile(&self.symbol, since_ms))
    }

    /// The reconciliation snapshot (balances, position, open orders and algo orders, fills
    /// since `since_ms`), for the tick's report.
    ///
    /// # Errors
    /// The exchange calls' errors.
    pub fn reconciliation(&self, since_ms: i64) -> Result<Reconciliation, VenueError> {
        self.fetch(since_ms)
    }

    /// Reconcile at the start of a tick: balances, position, open orders and open algo
    /// orders and the fills since the last tick, against the book. Orders whose submit
    /// answer was lost are queried by client id first; orders the bot does not know are
    /// reported; a position that differs from the book (plus fills not yet booked) is
    /// adopted from the exchange with a note, or, when fills are pending, left for the
    /// next bar's poll to book and adopt; protective orders of a flat position are
    /// cancelled. Never sends a new order.
    ///
    /// # Errors
    /// [`BrokerError`] when the exchange cannot be reached (the tick must not act then).
    pub fn start_check(&mut self) -> Result<StartCheck, BrokerError> {
        // lost answers first: what happened to them decides everything else
        let lost: Vec<String> = self
            .known
            .iter()
            .filter(|(_, k)| k.open && k.order_id.is_none() && !k.algo)
            .map(|(id, _)| id.clone())
            .collect();
        let mut resolved = Vec::new();
        for id in lost {
            if let Ok(cid) = ClientOrderId::new(id.clone()) {
                let status = self.query(&cid)?;
                if status == OrderStatus::NotFound
                    && let Some(k) = self.known.get_mut(&id)
                {
                    k.open = false;
                }
                resolved.push((id, format!("{status:?}").to_lowercase()));
            }
        }
        let snap = self.fetch(self.fills_since_ms).map_err(to_broker)?;
        let seen = self.last_trade_id;
        let pending: Vec<&TradeFill> = snap.fills.iter().filter(|f| f.id > seen).collect();
        let pending_qty: f64 = pending
            .iter()
            .map(|f| match f.side {
                OrderSide::Buy => f.qty,
                OrderSide::Sell => -f.qty,
            })
            .sum();
        let dust = self.rules.market_min_qty.max(self.rules.market_step_size);
        let raw = self.exchange_qty(&snap);
        let exchange_qty = if raw.abs() < dust { 0.0 } else { raw };
        let local_qty = self.book.qty;
        let expected = local_qty + pending_qty;
        let differs = (exchange_qty - expected).abs() > dust * 0.5;
        let mismatch = match (differs, pending.is_empty()) {
            (false, _) => None,
            (true, true) => Some(format!(
                "exchange position {exchange_qty}, booked {local_qty}: adopted the exchange's"
            )),
            (true, false) => Some(format!(
                "exchange position {exchange_qty}, booked {local_qty} + {} pending fill(s) of {pending_qty}: the next bar books the fills and adopts the exchange's",
                pending.len()
            )),
        };
        if pending.is_empty() {
            // nothing of ours in flight: refresh the books (adopting a differing position)
            let t = self.account.position.map_or(0, |p| p.entry_bar);
            self.apply_snapshot(&snap, t);
        }
        let unknown_orders = snap.unknown_orders(|id| self.known.contains_key(id));
        let open_orders: Vec<String> = snap
            .open_orders
            .iter()
            .map(|o| o.client_id.clone())
            .chain(
                snap.open_algo_orders
                    .iter()
                    .map(|a| a.client_algo_id.clone()),
            )
            .filter(|id| self.known.contains_key(id))
            .collect();
        let mut cancelled = Vec::new();
        // flat on the exchange, and either the book agrees or (nothing of ours in flight)
        // the flat position was just adopted: protective orders are left behind
        if exchange_qty == 0.0 && (expected.abs() <= dust * 0.5 || pending.is_empty()) {
            for id in &open_orders {
                let protective = self
                    .known
                    .get(id)
                    .is_some_and(|k| k.request.purpose == OrderPurpose::Protective);
                if protective {
                    self.cancel_id(id)?;
                    self.notes.push(format!(
                        "cancelled protective order {id} of a closed position"
                    ));
                    cancelled.push(id.clone());
                }
            }
            if !cancelled.is_empty() {
                self.stop = None;
            }
        }
        if !unknown_orders.is_empty() {
            self.notes.push(format!(
                "orders on {} the bot did not place: {}",
                self.symbol,
                unknown_orders.join(", ")
            ));
        }
        let quote_free = snap
            .balances
            .iter()
            .find(|b| b.asset == self.rules.quote_asset)
            .map_or(0.0, |b| b.free);
        Ok(StartCheck {
            server_time_ms: snap.server_time_ms,
            exchange_qty,
            local_qty,
            pending_fills: pending.len(),
            pending_qty,
            mismatch,
            unknown_orders,
            open_orders: open_orders
                .into_iter()
                .filter(|id| !cancelled.contains(id))
                .collect(),
            resolved,
            cancelled,
            quote_free,
        })
    }

    fn exchange_qty(&self, snap: &Reconciliation) -> f64 {
        match self.market {
            Market::UsdM => snap.position.as_ref().map_or(0.0, |p| p.amt),
            Market::Spot => snap.position_qty(&self.rules.base_asset),
        }
    }

    fn apply_snapshot(&mut self, snap: &Reconciliation, t: usize) {
        let qty = self.exchange_qty(snap);
        let dust = self.rules.market_min_qty.max(self.rules.market_step_size);
        let qty = if qty.abs() < dust { 0.0 } else { qty };
        if (qty - self.book.qty).abs() > dust * 0.5 {
            self.notes.push(format!(
                "position mismatch on {}: exchange {qty}, local {}; adopting the exchange's",
                self.symbol, self.book.qty
            ));
            self.book.qty = qty;
            if qty == 0.0 {
                self.book = Book::default();
            } else {
                self.book.entry_price = snap
                    .position
                    .as_ref()
                    .map(|p| p.entry_price)
                    .filter(|p| *p > 0.0)
                    .unwrap_or(if self.book.entry_price > 0.0 {
                        self.book.entry_price
                    } else {
                        self.last_close
                    });
                self.book.entry_bar = t;
            }
        }
        // open orders: ours by client id; others reported
        for k in self.known.values_mut() {
            k.open = false;
        }
        let mut open = Vec::new();
        let mut foreign = Vec::new();
        let ids = snap
            .open_orders
            .iter()
            .map(|o| (o.client_id.clone(), Some(o.order_id)))
            .chain(
                snap.open_algo_orders
                    .iter()
                    .map(|a| (a.client_algo_id.clone(), None)),
            );
        for (id, order_id) in ids {
            match self.known.get_mut(&id) {
                Some(k) => {
                    k.open = true;
                    if order_id.is_some() {
                        k.order_id = order_id;
                    }
                    if let Ok(cid) = ClientOrderId::new(id.clone()) {
                        open.push(OpenOrder {
                            id: cid,
                            submitted_t: k.submitted_t,
                            request: k.request,
                        });
                    }
                }
                None => foreign.push(id),
            }
        }
        if !foreign.is_empty() {
            self.notes.push(format!(
                "open orders on {} the bot does not know: {}",
                self.symbol,
                foreign.join(", ")
            ));
        }
        self.open = open;
        let quote = snap
            .balances
            .iter()
            .find(|b| b.asset == self.rules.quote_asset)
            .map_or(0.0, |b| b.total());
        let mark = if self.last_close > 0.0 {
            self.last_close
        } else {
            self.book.entry_price
        };
        let (cash, position_value, upnl, margin) = match self.market {
            Market::Spot => (
                quote,
                self.book.qty * mark,
                self.book.qty * (mark - self.book.entry_price),
                self.book.qty * self.book.entry_price,
            ),
            Market::UsdM => {
                let margin = self.book.qty.abs() * self.book.entry_price / f64::from(self.leverage);
                let upnl = self.book.qty * (mark - self.book.entry_price);
                (quote - margin, margin + upnl, upnl, margin)
            }
        };
        self.account.cash = cash;
        self.account.position_value = position_value;
        self.account.equity = cash + position_value;
        self.account.open_orders = self.open.len();
        self.account.position = (self.book.qty != 0.0).then(|| PositionInfo {
            side: if self.book.qty > 0.0 {
                Side::Long
            } else {
                Side::Short
            },
            qty: self.book.qty.abs(),
            entry_price: self.book.entry_price,
            entry_bar: self.book.entry_bar,
            entry_ts_ms: self.book.entry_ts_ms,
            margin,
            unrealized_pnl: upnl,
            liquidation_price: snap
                .position
                .as_ref()
                .map(|p| p.liquidation_price)
                .filter(|p| *p > 0.0),
            stop: self.stop,
            take_profit: None,
        });
    }

    fn qty_of(&self, req: &OrderRequest) -> f64 {
        let px = if self.last_close > 0.0 {
            self.last_close
        } else {
            self.book.entry_price
        };
        match req.qty {
            OrderQty::Units(q) => q,
            OrderQty::PositionFrac(f) => f * self.book.qty.abs(),
            OrderQty::AllCash if px > 0.0 => {
                self.account.cash.max(0.0) * f64::from(self.leverage) / px
            }
            OrderQty::EquityFrac(f) if px > 0.0 => {
                f * self.account.equity.max(0.0) * f64::from(self.leverage) / px
            }
            _ => 0.0,
        }
    }

    fn place(&mut self, id: &str, req: &OrderRequest, t: usize) -> Result<Ack, BrokerError> {
        let qty = self.qty_of(req);
        let side = match req.side {
            Side::Long => OrderSide::Buy,
            Side::Short => OrderSide::Sell,
        };
        let reference = if self.last_close > 0.0 {
            self.last_close
        } else {
            self.book.entry_price
        };
        let kind = match req.kind {
            OrderKind::Market => trade::OrderKind::Market { reference },
            OrderKind::Limit(p) => trade::OrderKind::Limit { price: p },
            OrderKind::Stop(p) => trade::OrderKind::Stop { stop: p },
        };
        let order = NewOrder {
            symbol: self.symbol.clone(),
            side,
            kind,
            qty,
            client_id: id.to_string(),
            reduce_only: req.is_reduce_only() && self.market == Market::UsdM,
        };
        let c = self.conn().map_err(to_broker)?;
        let ack =
            c.rt.block_on(c.trader.place(&order, &self.rules))
                .map_err(to_broker)?;
        let mut known = Known {
            request: *req,
            submitted_t: t,
            order_id: None,
            algo: false,
            open: true,
            stop_placed: false,
        };
        Ok(match ack {
            trade::Ack::Accepted { order, .. } => {
                known.order_id = Some(order.order_id);
                known.open = order.status.is_open();
                self.known.insert(id.to_string(), known);
                Ack::Accepted
            }
            trade::Ack::AcceptedAlgo { order, .. } => {
                known.algo = true;
                known.open = order.is_open();
                self.known.insert(id.to_string(), known);
                Ack::Accepted
            }
            trade::Ack::Rejected { code, msg } => Ack::Rejected { code, msg },
            trade::Ack::NotSent { reason } => {
                self.notes.push(format!("order {id} not sent: {reason}"));
                self.account.orders_rejected += 1;
                Ack::Rejected {
                    code: 0,
                    msg: reason,
                }
            }
            trade::Ack::Unknown { cause } => {
                self.known.insert(id.to_string(), known);
                Ack::Unknown { cause }
            }
        })
    }

    /// Place a protective stop for the whole position at `level`, then cancel the previous
    /// protective orders.
    fn place_stop(&mut self, level: StopLevel, t: usize) -> Result<(), BrokerError> {
        if self.book.qty == 0.0 {
            return Ok(());
        }
        let side = if self.book.qty > 0.0 {
            Side::Short
        } else {
            Side::Long
        };
        let old: Vec<String> = self
            .known
            .iter()
            .filter(|(_, k)| k.open && k.request.purpose == OrderPurpose::Protective)
            .map(|(id, _)| id.clone())
            .collect();
        self.protect_seq += 1;
        let id = format!("{}-s{}", self.symbol.to_ascii_lowercase(), self.protect_seq);
        let id = format!("{}-{}", &id[..id.len().min(20)], t);
        let req = OrderRequest {
            side,
            qty: OrderQty::Units(self.book.qty.abs()),
            kind: OrderKind::Stop(level.price),
            stop: None,
            take_profit: None,
            purpose: OrderPurpose::Protective,
        };
        match self.place(&id, &req, t)? {
            Ack::Accepted => {
                self.stop = Some(level);
                for o in old {
                    self.cancel_id(&o)?;
                }
                Ok(())
            }
            Ack::Rejected { code, msg } => Err(BrokerError::Rejected { code, msg }),
            Ack::Unknown { .. } => Err(BrokerError::Timeout),
        }
    }

    fn cancel_id(&mut self, id: &str) -> Result<bool, BrokerError> {
        let algo = self.known.get(id).is_some_and(|k| k.algo);
        let c = self.conn().map_err(to_broker)?;
        let r = if algo {
            c.rt.block_on(c.trader.cancel_algo(id))
        } else {
            c.rt.block_on(c.trader.cancel(&self.symbol, id))
        }
        .map_err(to_broker)?;
        if let Some(k) = self.known.get_mut(id) {
            k.open = false;
        }
        self.open.retain(|o| o.id.text().as_str() != id);
        self.account.open_orders = self.open.len();
        Ok(r == Cancelled::Done)
    }

    fn apply_fill(&mut self, f: &TradeFill, t: usize, ts_ms: i64) -> Vec<OrderFill> {
        let known = self
            .known
            .iter()
            .find(|(_, k)| k.order_id == Some(f.order_id))
            .map(|(id, k)| (id.clone(), k.request.purpose));
        let fee = if f.commission_asset == self.rules.base_asset {
            f.commission * f.price
        } else {
            f.commission
        };
        self.account.fees_paid += fee;
        let signed = match f.side {
            OrderSide::Buy => f.qty,
            OrderSide::Sell => -f.qty,
        };
        let side = if signed > 0.0 {
            Side::Long
        } else {
            Side::Short
        };
        let order = known
            .as_ref()
            .and_then(|(id, _)| ClientOrderId::new(id.clone()).ok());
        let mut out = Vec::new();
        let prev = self.book.qty;
        let mut rest = signed;
        if prev != 0.0 && prev.signum() != signed.signum() {
            let closed = f.qty.min(prev.abs());
            let exit_fee = fee * closed / f.qty;
            let entry_fee = self.book.entry_fees * closed / prev.abs();
            let funding = self.book.funding * closed / prev.abs();
            let dir = prev.signum();
            let pnl =
                closed * (f.price - self.book.entry_price) * dir - exit_fee - entry_fee - funding;
            let reason = match known.as_ref().map(|(_, p)| *p) {
                Some(OrderPurpose::Protective) | None if self.stop.is_some() => {
                    self.stop.map_or(ExitReason::StopLoss, |s| s.reason)
                }
                Some(OrderPurpose::Entry) => ExitReason::Flip,
                _ => ExitReason::Signal,
            };
            let trade = Trade {
                side: if dir > 0.0 { Side::Long } else { Side::Short },
                qty: closed,
                entry_bar: self.book.entry_bar,
                exit_bar: t,
                entry_ts_ms: self.book.entry_ts_ms,
                exit_ts_ms: f.time_ms,
                entry_price: self.book.entry_price,
                exit_price: f.price,
                pnl,
                return_pct: 100.0 * pnl / (closed * self.book.entry_price).max(f64::MIN_POSITIVE),
                fees: exit_fee + entry_fee,
                mae_pct: 0.0,
                mfe_pct: 0.0,
                exit_reason: reason,
            };
            self.book.entry_fees -= entry_fee;
            self.book.funding -= funding;
            self.book.qty = prev + dir * -closed;
            rest = signed + dir * closed;
            if self.book.qty.abs() < 1e-12 {
                self.book = Book::default();
                self.stop = None;
            }
            out.push(OrderFill {
                order,
                t,
                ts_ms,
                side,
                qty: closed,
                price: f.price,
                fee: exit_fee,
                action: FillAction::Close { trade },
            });
        }
        if rest.abs() > 1e-12 {
            let q = rest.abs();
            let part_fee = fee * q / f.qty;
            let action = if self.book.qty == 0.0 {
                self.book.entry_bar = t;
                self.book.entry_ts_ms = f.time_ms;
                FillAction::Open
            } else {
                FillAction::Increase
            };
            let old = self.book.qty.abs();
            self.book.entry_price = (old * self.book.entry_price + q * f.price) / (old + q);
            self.book.qty += rest;
            self.book.entry_fees += part_fee;
            out.push(OrderFill {
                order,
                t,
                ts_ms,
                side,
                qty: q,
                price: f.price,
                fee: part_fee,
                action,
            });
        }
        out
    }
}

impl Broker for BinanceBroker {
    fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    fn submit(
        &mut self,
        id: &ClientOrderId,
        order: &RiskApproved<OrderRequest>,
    ) -> Result<Ack, BrokerError> {
        let t = self
            .known
            .values()
            .map(|k| k.submitted_t)
            .max()
            .unwrap_or(0);
        self.place(id.text().as_str(), order.inner(), t)
    }

    fn query(&mut self, id: &ClientOrderId) -> Result<OrderStatus, BrokerError> {
        let text = id.text();
        let id = text.as_str();
        let c = self.conn().map_err(to_broker)?;
        let algo = self.known.get(id).is_some_and(|k| k.algo);
        if algo
            || (self.market == Market::UsdM
                && self
                    .known
                    .get(id)
                    .is_some_and(|k| k.request.purpose == OrderPurpose::Protective))
        {
            let r = c.rt.block_on(c.trader.query_algo(id)).map_err(to_broker)?;
            return Ok(match r {
                None => OrderStatus::NotFound,
                Some(a) if a.is_open() => OrderStatus::Open { filled_qty: 0.0 },
                Some(a) if a.status == "FINISHED" || a.status == "TRIGGERED" => OrderStatus::Filled,
                Some(_) => OrderStatus::Cancelled,
            });
        }
        let r =
            c.rt.block_on(c.trader.query(&self.symbol, id))
                .map_err(to_broker)?;
        Ok(match r {
            None => OrderStatus::NotFound,
            Some(o) => {
                if let Some(k) = self.known.get_mut(id) {
                    k.order_id = Some(o.order_id);
                    k.open = o.status.is_open();
                }
                match o.status {
                    s if s.is_open() => OrderStatus::Open {
                        filled_qty: o.executed_qty,
                    },
                    super::OrderStatus::Filled => OrderStatus::Filled,
                    _ => OrderStatus::Cancelled,
                }
            }
        })
    }

    fn cancel(&mut self, id: &ClientOrderId) -> Result<(), BrokerError> {
        if self.cancel_id(id.text().as_str())? {
            Ok(())
        } else {
            Err(BrokerError::UnknownOrder(*id))
        }
    }

    fn protect(&mut self, protection: RiskApproved<Protection>) -> Result<(), BrokerError> {
        let p = protection.into_inner();
        let Some(level) = p.stop else {
            return Ok(());
        };
        if self
            .stop
            .is_some_and(|s| (s.price - level.price).abs() < self.rules.tick_size.max(1e-12) * 0.5)
        {
            return Ok(());
        }
        let t = self.account.position.map_or(0, |p| p.entry_bar);
        self.place_stop(level, t)
    }

    fn account(&self) -> Account {
        self.account
    }

    fn open_orders(&self) -> Vec<OpenOrder> {
        self.open.clone()
    }

    fn snapshot(&mut self) -> Result<Snapshot, BrokerError> {
        let snap = self.fetch(self.fills_since_ms).map_err(to_broker)?;
        let t = self.account.position.map_or(0, |p| p.entry_bar);
        self.apply_snapshot(&snap, t);
        Ok(Snapshot {
            account: self.account,
            open_orders: self.open.clone(),
        })
    }

    fn poll(&mut self, bar: &MarketBar) -> Result<Vec<OrderFill>, BrokerError> {
        self.last_close = bar.bar.close;
        let snap = self.fetch(self.fills_since_ms).map_err(to_broker)?;
        let mut funding = self
            .new_funding()
            .map_err(to_broker)?
            .into_iter()
            .peekable();
        let mut fills = Vec::new();
        let seen = self.last_trade_id;
        for f in snap.fills.iter().filter(|f| f.id > seen) {
            // funding due before (or at) a fill was paid by the position before it
            while let Some(p) = funding.next_if(|p| p.time_ms <= f.time_ms) {
                self.apply_funding(p);
            }
            fills.extend(self.apply_fill(f, bar.t, bar.bar.ts_ms));
            self.last_trade_id = self.last_trade_id.max(f.id);
            self.fills_since_ms = self.fills_since_ms.max(f.time_ms);
        }
        for p in funding {
            self.apply_funding(p);
        }
        self.apply_snapshot(&snap, bar.t);
        // leftovers: protective orders of a closed position are cancelled
        if self.book.qty == 0.0 {
            let left: Vec<String> = self
                .known
                .iter()
                .filter(|(_, k)| k.open && k.request.purpose == OrderPurpose::Protective)
                .map(|(id, _)| id.clone())
                .collect();
            for id in left {
                self.cancel_id(&id)?;
                self.notes.push(format!(
                    "cancelled protective order {id} of a closed position"
                ));
            }
        } else if self.stop.is_none() {
            // an entry that filled with an attached stop: protect it on the exchange
            let wanted = self
                .known
                .values()
                .filter(|k| k.request.purpose == OrderPurpose::Entry && !k.open && !k.stop_placed)
                .filter_map(|k| k.request.stop)
                .next_back();
            if let Some(price) = wanted {
                for k in self.known.values_mut() {
                    if k.request.purpose == OrderPurpose::Entry {
                        k.stop_placed = true;
                    }
                }
                self.place_stop(
                    StopLevel {
                        price,
                        reason: ExitReason::StopLoss,
                    },
                    bar.t,
                )?;
                let snap = self.fetch(self.fills_since_ms).map_err(to_broker)?;
                self.apply_snapshot(&snap, bar.t);
            }
        }
        Ok(fills)
    }
}
