//! Trading on one Binance API (spot or USD-M): orders that are never doubled, protective
//! stops that live on the exchange, and the reconciliation snapshot a tick starts from.
//!
//! **Never a doubled order.** Client ids are deterministic (the caller derives them from bot,
//! bar time and intent), but Binance enforces their uniqueness only among *open* orders: a
//! filled market order can be sent twice. So [`Trader::place`] always queries
//! `origClientOrderId` first and sends only after `-2013 "Order does not exist."`. A send
//! that times out or gets a 5xx / `-1006` / `-1007` is [`Ack::Unknown`] until a query
//! decides; it is resent only after another `-2013`. `-2010 "Duplicate order sent."` and
//! futures `-4116` mean "already placed", and the existing order is returned.
//!
//! **Stops.** USD-M conditional orders go to the algo endpoints (`/fapi/v1/algoOrder`,
//! `openAlgoOrders`; plain `/fapi/v1/order` refuses them with `-4120` since 2025-12-09), as
//! `STOP_MARKET` with `reduceOnly` and an explicit quantity. Spot stops are `STOP_LOSS`
//! (market once triggered) where the symbol lists it, else `STOP_LOSS_LIMIT` with the limit
//! [`SPOT_STOP_LIMIT_SLIPPAGE`] beyond the trigger; no OCO (one protective order per
//! position keeps reconciliation simple).

use std::collections::BTreeMap;

use serde_json::Value;

use super::Market;
use super::rest::{Call, Rest};
use super::rules::{Pricing, SymbolRules, parse_exchange_info};
use super::types::{
    AlgoReport, Balance, FundingFee, OrderReport, OrderSide, PositionRisk, TradeFill,
};
use crate::net::Method;
use crate::venues::VenueError;

/// How far beyond the trigger a spot `STOP_LOSS_LIMIT` places its limit (0.5 %), so the
/// stop still fills in a fast move.
pub const SPOT_STOP_LIMIT_SLIPPAGE: f64 = 0.005;

/// Resends after an unknown outcome and a `-2013` query, at most.
const MAX_RESENDS: u32 = 2;

/// What to place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderKind {
    /// Market order; `reference` prices the notional check (the last close).
    Market {
        /// Reference price.
        reference: f64,
    },
    /// Good-till-cancel limit order.
    Limit {
        /// Limit price.
        price: f64,
    },
    /// A protective stop: spot `STOP_LOSS(_LIMIT)`, futures algo `STOP_MARKET`.
    Stop {
        /// Trigger price.
        stop: f64,
    },
}

/// An order to place.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Binance symbol.
    pub symbol: String,
    /// Side.
    pub side: OrderSide,
    /// Kind and prices.
    pub kind: OrderKind,
    /// Quantity in base units, before rounding to the step.
    pub qty: f64,
    /// Deterministic client id, `[A-Za-z0-9_-]{1,36}`.
    pub client_id: String,
    /// Futures: only reduce the position.
    pub reduce_only: bool,
}

/// The answer to [`Trader::place`].
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// The exchange has the order (placed now, or found already placed).
    Accepted {
        /// The order as the exchange reports it.
        order: OrderReport,
        /// True when it existed before this call (a replay after a crash or a lost answer).
        already_placed: bool,
    },
    /// A protective algo order the exchange has.
    AcceptedAlgo {
        /// The algo order.
        order: AlgoReport,
        /// True when it existed before this call.
        already_placed: bool,
    },
    /// The exchange refused it for good (`-1013`, `-2010` other than a duplicate, `-2019`, …).
    Rejected {
        /// Binance's code.
        code: i64,
        /// Binance's message.
        msg: String,
    },
    /// The filters refused it before sending (below a minimum, …): nothing was sent.
    NotSent {
        /// Why, for the log.
        reason: String,
    },
    /// Sent, and whether it exists is still unknown (the query failed too): reconcile later
    /// by querying the client id; never resend before that.
    Unknown {
        /// What happened.
        cause: String,
    },
}

/// A cancel's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancelled {
    /// Cancelled now.
    Done,
    /// The exchange does not have it open (`-2011`, `-2013`): filled, cancelled or never placed.
    NotOpen,
}

/// Everything a tick reconciles against: balances, position, open orders and open algo
/// orders (a separate list on USD-M), and fills since a time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reconciliation {
    /// The symbol.
    pub symbol: String,
    /// The exchange clock when the snapshot was taken, UTC ms.
    pub server_time_ms: i64,
    /// Non-zero balances.
    pub balances: Vec<Balance>,
    /// USD-M position (`None` on spot, or flat).
    pub position: Option<PositionRisk>,
    /// Open orders of the symbol.
    pub open_orders: Vec<OrderReport>,
    /// Open USD-M algo orders of the symbol (empty on spot).
    pub open_algo_orders: Vec<AlgoReport>,
    /// Fills of the symbol since the requested time, oldest first.
    pub fills: Vec<TradeFill>,
}

impl Reconciliation {
    /// The position in base units, signed: futures `positionAmt`; spot the base asset's
    /// total balance.
    pub fn position_qty(&self, base_asset: &str) -> f64 {
        match &self.position {
            Some(p) => p.amt,
            None => self
                .balances
                .iter()
                .find(|b| b.asset == base_asset)
                .map_or(0.0, Balance::total),
        }
    }

    /// Open orders and algo orders whose client id `is_ours` does not recognise.
    pub fn unknown_orders(&self, is_ours: impl Fn(&str) -> bool) -> Vec<String> {
        self.open_orders
            .iter()
            .map(|o| o.client_id.as_str())
            .chain(
                self.open_algo_orders
                    .iter()
                    .map(|a| a.client_algo_id.as_str()),
            )
            .filter(|id| !is_ours(id))
            .map(str::to_string)
            .collect()
    }
}

/// Endpoint paths of one API.
struct Paths {
    order: &'static str,
    open_orders: &'static str,
    trades: &'static str,
    exchange_info: &'static str,
}

fn paths(market: Market) -> Paths {
    match market {
        Market::Spot => Paths {
            order: "/api/v3/order",
            open_orders: "/api/v3/openOrders",
            trades: "/api/v3/myTrades",
            exchange_info: "/api/v3/exchangeInfo",
        },
        Market::UsdM => Paths {
            order: "/fapi/v1/order",
            open_orders: "/fapi/v1/openOrders",
            trades: "/fapi/v1/userTrades",
            exchange_info: "/fapi/v1/exchangeInfo",
        },
    }
}

/// True for Binance's "no such order" codes.
fn is_not_found(e: &VenueError) -> bool {
    matches!(e.code(), Some(-2013 | -2011))
}

/// True for "that client id is already open".
fn is_duplicate(e: &VenueError) -> bool {
    match e {
        VenueError::Exchange { code: -4116, .. } => true,
        VenueError::Exchange {
            code: -2010, msg, ..
        } => msg.contains("Duplicate"),
        _ => false,
    }
}

/// A trading client of one API.
#[derive(Debug)]
pub struct Trader {
    rest: Rest,
}

impl Trader {
    /// Trade through `rest` (which must hold credentials for signed calls).
    pub fn new(rest: Rest) -> Self {
        Trader { rest }
    }

    /// The REST client.
    pub fn rest(&self) -> &Rest {
        &self.rest
    }

    /// Spot or USD-M.
    pub fn market(&self) -> Market {
        self.rest.market()
    }

    /// The rules of `symbol` from `exchangeInfo`.
    ///
    /// # Errors
    /// [`VenueError::UnknownSymbol`] when the exchange does not list it; the call's errors.
    pub async fn rules(&self, symbol: &str) -> Result<SymbolRules, VenueError> {
        let p = paths(self.market());
        let mut call = Call::read(Method::Get, p.exchange_info, 20);
        call.security = super::rest::Security::Public;
        if self.market() == Market::Spot {
            call = call.param("symbol", symbol);
        }
        let body = self.rest.call(&call).await?;
        let mut all = parse_exchange_info(&body, self.market())?;
        all.remove(symbol).ok_or_else(|| VenueError::UnknownSymbol {
            symbol: symbol.to_string(),
            source_name: "binance".to_string(),
            message: "not in exchangeInfo".to_string(),
        })
    }

    /// Query an order by client id; `None` when the exchange has no such order (`-2013`).
    ///
    /// # Errors
    /// The call's errors.
    pub async fn query(
        &self,
        symbol: &str,
        client_id: &str,
    ) -> Result<Option<OrderReport>, VenueError> {
        let call = Call::read(Method::Get, paths(self.market()).order, 4)
            .param("symbol", symbol)
            .param("origClientOrderId", client_id);
        match self.rest.call(&call).await {
            Ok(v) => Ok(Some(OrderReport::from_json(&v))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Place an order without ever doubling it (module doc). `Err` means nothing was placed
    /// (the exchange unreachable, a ban, bad credentials): safe to try again later.
    ///
    /// # Errors
    /// Errors of the first query or of a send that surely did not execute.
    pub async fn place(&self, order: &NewOrder, rules: &SymbolRules) -> Result<Ack, VenueError> {
        if let OrderKind::Stop { .. } = order.kind
            && self.market() == Market::UsdM
        {
            return self.place_algo_stop(order, rules).await;
        }
        if let Some(found) = self.query(&order.symbol, &order.client_id).await? {
            return Ok(Ack::Accepted {
                order: found,
                already_placed: true,
            });
        }
        let call = match self.order_call(order, rules) {
            Ok(c) => c,
            Err(reason) => return Ok(Ack::NotSent { reason }),
        };
        let mut resends = 0;
        loop {
            match self.rest.call(&call).await {
                Ok(v) => {
                    return Ok(Ack::Accepted {
                        order: OrderReport::from_json(&v),
                        already_placed: false,
                    });
                }
                Err(e) if is_duplicate(&e) => {
                    return Ok(match self.query(&order.symbol, &order.client_id).await {
                        Ok(Some(found)) => Ack::Accepted {
                            order: found,
                            already_placed: true,
                        },
                        Ok(None) | Err(_) => Ack::Unknown {
                            cause: format!("duplicate reported but not found: {e}"),
                        },
                    });
                }
                Err(VenueError::Unknown { cause, .. }) => {
                    match self.query(&order.symbol, &order.client_id).await {
                        Ok(Some(found)) => {
                            return Ok(Ack::Accepted {
                                order: found,
                                already_placed: false,
                            });
                        }
                        Ok(None) if resends < MAX_RESENDS => {
                            resends += 1;
                            continue;
                        }
                        Ok(None) => return Ok(Ack::Unknown { cause }),
                        Err(q) => {
                            return Ok(Ack::Unknown {
                                cause: format!("{cause}; query failed: {q}"),
                            });
                        }
                    }
                }
                Err(VenueError::Exchange { code, msg, .. }) => {
                    return Ok(Ack::Rejected { code, msg });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn order_call<'a>(&self, order: &'a NewOrder, rules: &SymbolRules) -> Result<Call<'a>, String> {
        let p = paths(self.market());
        let mut call = Call::write(Method::Post, p.order, 1)
            .param("symbol", &order.symbol)
            .param("side", order.side.as_str());
        match order.kind {
            OrderKind::Market { reference } => {
                let c = rules.check(order.qty, Pricing::Market { reference })?;
                call = call.param("type", "MARKET").param("quantity", c.qty_text);
            }
            OrderKind::Limit { price } => {
                let c = rules.check(order.qty, Pricing::Limit { price })?;
                call = call
                    .param("type", "LIMIT")
                    .param("timeInForce", "GTC")
                    .param("quantity", c.qty_text)
                    .param("price", c.price_text.unwrap_or_default());
            }
            OrderKind::Stop { stop } => {
                // spot only: futures stops go to the algo endpoint
                if rules.accepts("STOP_LOSS") {
                    let c = rules.check(order.qty, Pricing::StopMarket { stop })?;
                    call = call
                        .param("type", "STOP_LOSS")
                        .param("quantity", c.qty_text)
                        .param("stopPrice", c.stop_text.unwrap_or_default());
                } else {
                    let limit = match order.side {
                        OrderSide::Sell => stop * (1.0 - SPOT_STOP_LIMIT_SLIPPAGE),
                        OrderSide::Buy => stop * (1.0 + SPOT_STOP_LIMIT_SLIPPAGE),
                    };
                    let c = rules.check(order.qty, Pricing::StopLimit { stop, price: limit })?;
                    call = call
                        .param("type", "STOP_LOSS_LIMIT")
                        .param("timeInForce", "GTC")
                        .param("quantity", c.qty_text)
                        .param("price", c.price_text.unwrap_or_default())
                        .param("stopPrice", c.stop_text.unwrap_or_default());
                }
            }
        }
        if order.reduce_only && self.market() == Market::UsdM {
            call = call.param("reduceOnly", "true");
        }
        call = call.param("newClientOrderId", &order.client_id);
        // RESULT: the answer carries status and fills, so a market order is known at once
        call = call.param("newOrderRespType", "RESULT");
        Ok(call)
    }

    /// Cancel an open order by client id.
    ///
    /// # Errors
    /// [`VenueError::Unknown`] when the answer was lost (query to learn the outcome); the
    /// call's other errors.
    pub async fn cancel(&self, symbol: &str, client_id: &str) -> Result<Cancelled, VenueError> {
        let call = Call::write(Method::Delete, paths(self.market()).order, 1)
            .param("symbol", symbol)
            .param("origClientOrderId", client_id);
        match self.rest.call(&call).await {
            Ok(_) => Ok(Cancelled::Done),
            Err(e) if is_not_found(&e) => Ok(Cancelled::NotOpen),
            Err(e) => Err(e),
        }
    }

    /// Open orders of `symbol`.
    ///
    /// # Errors
    /// The call's errors; [`VenueError::Malformed`] when the answer is not a list.
    pub async fn open_orders(&self, symbol: &str) -> Result<Vec<OrderReport>, VenueError> {
        let p = paths(self.market());
        let call = Call::read(Method::Get, p.open_orders, 6).param("symbol", symbol);
        let v = self.rest.call(&call).await?;
        Ok(list(&v, p.open_orders)?
            .iter()
            .map(OrderReport::from_json)
            .collect())
    }

    /// Fills of `symbol` since `since_ms` (inclusive), oldest first (at most 1000).
    ///
    /// # Errors
    /// As [`Trader::open_orders`].
    pub async fn fills_since(
        &self,
        symbol: &str,
        since_ms: i64,
    ) -> Result<Vec<TradeFill>, VenueError> {
        let p = paths(self.market());
        let call = Call::read(Method::Get, p.trades, 20)
            .param("symbol", symbol)
            .param("startTime", since_ms)
            .param("limit", 1000);
        let v = self.rest.call(&call).await?;
        let mut out: Vec<TradeFill> = list(&v, p.trades)?
            .iter()
            .map(TradeFill::from_json)
            .collect();
        out.sort_by_key(|t| (t.time_ms, t.id));
        Ok(out)
    }

    /// USD-M funding payments of `symbol` at or after `since_ms`, oldest first, each once
    /// (`GET /fapi/v1/income?incomeType=FUNDING_FEE`, weight 30). Paged by `page` rows
    /// (Binance's maximum, 1000, in use): a full page is followed by one from its last time
    /// on (inclusive, so payments sharing that time are not lost), dropping the `tranId`s
    /// already seen. Spot has no funding: an empty list without a request.
    ///
    /// # Errors
    /// As [`Trader::open_orders`].
    pub async fn funding_since(
        &self,
        symbol: &str,
        since_ms: i64,
        page: usize,
    ) -> Result<Vec<FundingFee>, VenueError> {
        if self.market() != Market::UsdM {
            return Ok(Vec::new());
        }
        let path = "/fapi/v1/income";
        let page = page.clamp(1, 1000);
        let mut out: Vec<FundingFee> = Vec::new();
        let mut from = since_ms;
        loop {
            let call = Call::read(Method::Get, path, 30)
                .param("symbol", symbol)
                .param("incomeType", "FUNDING_FEE")
                .param("startTime", from)
                .param("limit", page);
            let v = self.rest.call(&call).await?;
            let rows = list(&v, path)?;
            let mut fresh = 0usize;
            let mut last = from;
            for f in rows.iter().map(FundingFee::from_json) {
                last = last.max(f.time_ms);
                if !out.iter().any(|o| o.tran_id == f.tran_id) {
                    out.push(f);
                    fresh += 1;
                }
            }
            // a short page is the last; a full one with nothing new cannot advance
            if rows.len() < page || fresh == 0 {
                break;
            }
            from = last;
        }
        out.sort_by_key(|f| (f.time_ms, f.tran_id));
        Ok(out)
    }

    /// Non-zero balances: spot `GET /api/v3/account`, futures `GET /fapi/v2/balance`.
    ///
    /// # Errors
    /// As [`Trader::open_orders`].
    pub async fn balances(&self) -> Result<Vec<Balance>, VenueError> {
        let rows: Vec<Balance> = match self.market() {
            Market::Spot => {
                let path = "/api/v3/account";
                let call = Call::read(Method::Get, path, 20).param("omitZeroBalances", "true");
                let v = self.rest.call(&call).await?;
                let arr = v.get("balances").cloned().unwrap_or(Value::Null);
                list(&arr, path)?.iter().map(Balance::from_json).collect()
            }
            Market::UsdM => {
                let path = "/fapi/v2/balance";
                let v = self.rest.call(&Call::read(Method::Get, path, 5)).await?;
                list(&v, path)?.iter().map(Balance::from_json).collect()
            }
        };
        Ok(rows.into_iter().filter(|b| b.total() != 0.0).collect())
    }

    /// The USD-M position of `symbol` (`None` when flat, and always on spot).
    ///
    /// # Errors
    /// As [`Trader::open_orders`].
    pub async fn position(&self, symbol: &str) -> Result<Option<PositionRisk>, VenueError> {
        if self.market() == Market::Spot {
            return Ok(None);
        }
        let path = "/fapi/v3/positionRisk";
        let v = self
            .rest
            .call(&Call::read(Method::Get, path, 5).param("symbol", symbol))
            .await?;
        Ok(list(&v, path)?
            .iter()
            .map(PositionRisk::from_json)
            .find(|p| p.symbol == symbol && p.amt != 0.0))
    }

    /// USD-M: set the margin type (`ISOLATED` when `isolated`); `-4046` "No need to change
    /// margin type" is success.
    ///
    /// # Errors
    /// The call's errors; [`VenueError::BadArgs`] on spot.
    pub async fn set_margin_type(&self, symbol: &str, isolated: bool) -> Result<(), VenueError> {
        self.futures_only("margin type")?;
        let call = Call::write(Method::Post, "/fapi/v1/marginType", 1)
            .param("symbol", symbol)
            .param("marginType", if isolated { "ISOLATED" } else { "CROSSED" });
        match self.rest.call(&call).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(-4046) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// USD-M: set the leverage of `symbol` (1–125); returns the leverage the exchange set.
    ///
    /// # Errors
    /// The call's errors; [`VenueError::BadArgs`] on spot or for 0.
    pub async fn set_leverage(&self, symbol: &str, leverage: u32) -> Result<u32, VenueError> {
        self.futures_only("leverage")?;
        if leverage == 0 {
            return Err(VenueError::BadArgs(
                "leverage must be at least 1".to_string(),
            ));
        }
        let call = Call::write(Method::Post, "/fapi/v1/leverage", 1)
            .param("symbol", symbol)
            .param("leverage", leverage);
        let v = self.rest.call(&call).await?;
        Ok(u32::try_from(super::types::int(&v, "leverage")).unwrap_or(leverage))
    }

    fn futures_only(&self, what: &str) -> Result<(), VenueError> {
        if self.market() == Market::Spot {
            return Err(VenueError::BadArgs(format!(
                "{what} exists on USD-M futures only"
            )));
        }
        Ok(())
    }

    /// USD-M: query an algo order by client algo id (`None` when the exchange has none).
    ///
    /// # Errors
    /// The call's errors.
    pub async fn query_algo(&self, client_algo_id: &str) -> Result<Option<AlgoReport>, VenueError> {
        let call =
            Call::read(Method::Get, "/fapi/v1/algoOrder", 1).param("clientAlgoId", client_algo_id);
        match self.rest.call(&call).await {
            Ok(v) => Ok(Some(AlgoReport::from_json(&v))),
            Err(e) if is_not_found(&e) || algo_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn place_algo_stop(
        &self,
        order: &NewOrder,
        rules: &SymbolRules,
    ) -> Result<Ack, VenueError> {
        let OrderKind::Stop { stop } = order.kind else {
            return Ok(Ack::NotSent {
                reason: "not a stop".to_string(),
            });
        };
        if let Some(found) = self.query_algo(&order.client_id).await? {
            return Ok(Ack::AcceptedAlgo {
                order: found,
                already_placed: true,
            });
        }
        let c = match rules.check(order.qty, Pricing::StopMarket { stop }) {
            Ok(c) => c,
            Err(reason) => return Ok(Ack::NotSent { reason }),
        };
        let call = Call::write(Method::Post, "/fapi/v1/algoOrder", 0)
            .param("algoType", "CONDITIONAL")
            .param("symbol", &order.symbol)
            .param("side", order.side.as_str())
            .param("type", "STOP_MARKET")
            .param("quantity", c.qty_text)
            .param("triggerPrice", c.stop_text.unwrap_or_default())
            .param("workingType", "MARK_PRICE")
            .param("reduceOnly", "true")
            .param("clientAlgoId", &order.client_id);
        let mut resends = 0;
        loop {
            match self.rest.call(&call).await {
                Ok(v) => {
                    return Ok(Ack::AcceptedAlgo {
                        order: AlgoReport::from_json(&v),
                        already_placed: false,
                    });
                }
                Err(e) if is_duplicate(&e) => {
                    return Ok(match self.query_algo(&order.client_id).await {
                        Ok(Some(found)) => Ack::AcceptedAlgo {
                            order: found,
                            already_placed: true,
                        },
                        Ok(None) | Err(_) => Ack::Unknown {
                            cause: format!("duplicate reported but not found: {e}"),
                        },
                    });
                }
                Err(VenueError::Unknown { cause, .. }) => {
                    match self.query_algo(&order.client_id).await {
                        Ok(Some(found)) => {
                            return Ok(Ack::AcceptedAlgo {
                                order: found,
                                already_placed: false,
                            });
                        }
                        Ok(None) if resends < MAX_RESENDS => resends += 1,
                        Ok(None) => return Ok(Ack::Unknown { cause }),
                        Err(q) => {
                            return Ok(Ack::Unknown {
                                cause: format!("{cause}; query failed: {q}"),
                            });
                        }
                    }
                }
                Err(VenueError::Exchange { code, msg, .. }) => {
                    return Ok(Ack::Rejected { code, msg });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// USD-M: cancel an algo order by client algo id.
    ///
    /// # Errors
    /// As [`Trader::cancel`].
    pub async fn cancel_algo(&self, client_algo_id: &str) -> Result<Cancelled, VenueError> {
        let call = Call::write(Method::Delete, "/fapi/v1/algoOrder", 1)
            .param("clientAlgoId", client_algo_id);
        match self.rest.call(&call).await {
            Ok(_) => Ok(Cancelled::Done),
            Err(e) if is_not_found(&e) || algo_missing(&e) => Ok(Cancelled::NotOpen),
            Err(e) => Err(e),
        }
    }

    /// USD-M: open algo orders of `symbol` (empty on spot).
    ///
    /// # Errors
    /// As [`Trader::open_orders`].
    pub async fn open_algo_orders(&self, symbol: &str) -> Result<Vec<AlgoReport>, VenueError> {
        if self.market() == Market::Spot {
            return Ok(Vec::new());
        }
        let path = "/fapi/v1/openAlgoOrders";
        let v = self
            .rest
            .call(&Call::read(Method::Get, path, 1).param("symbol", symbol))
            .await?;
        // a bare list, or {"orders": [...]} in some versions
        let arr = if v.is_array() {
            v
        } else {
            v.get("orders").cloned().unwrap_or(Value::Null)
        };
        Ok(list(&arr, path)?
            .iter()
            .map(AlgoReport::from_json)
            .collect())
    }

    /// The reconciliation snapshot of `symbol`: balances, position, open orders, open algo
    /// orders, fills since `since_ms`, and the exchange clock.
    ///
    /// # Errors
    /// The first failing call's error (a tick must not act on a partial picture).
    pub async fn reconcile(
        &self,
        symbol: &str,
        since_ms: i64,
    ) -> Result<Reconciliation, VenueError> {
        let server_time_ms = self.rest.sync_time().await?;
        Ok(Reconciliation {
            symbol: symbol.to_string(),
            server_time_ms,
            balances: self.balances().await?,
            position: self.position(symbol).await?,
            open_orders: self.open_orders(symbol).await?,
            open_algo_orders: self.open_algo_orders(symbol).await?,
            fills: self.fills_since(symbol, since_ms).await?,
        })
    }
}

fn algo_missing(e: &VenueError) -> bool {
    matches!(e, VenueError::Exchange { msg, .. } if msg.to_ascii_lowercase().contains("not exist"))
}

fn list<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>, VenueError> {
    v.as_array().ok_or_else(|| VenueError::Malformed {
        path: path.to_string(),
        cause: "expected a list".to_string(),
    })
}

/// Group fills by order id (several fills per order are common).
pub fn fills_by_order(fills: &[TradeFill]) -> BTreeMap<i64, Vec<&TradeFill>> {
    let mut m: BTreeMap<i64, Vec<&TradeFill>> = BTreeMap::new();
    for f in fills {
        m.entry(f.order_id).or_default().push(f);
    }
    m
}
