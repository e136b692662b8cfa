//! The fake exchange's state and rules: one symbol (BTCUSDT) on spot and USD-M, balances, a
//! position, orders, algo orders, trades and klines; market orders fill at the set price,
//! resting limits, stops and algo stops trigger when [`Exchange::set_price`] crosses them.

use std::collections::BTreeMap;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{API_KEY, SECRET};

/// Spot or USD-M futures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Venue {
    /// `/api/v3`.
    Spot,
    /// `/fapi`.
    Futures,
}

/// An answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub retry_after_s: Option<u64>,
}

fn ok(v: Value) -> Reply {
    Reply {
        status: 200,
        body: v.to_string(),
        retry_after_s: None,
    }
}

fn err(status: u16, code: i64, msg: &str) -> Reply {
    Reply {
        status,
        body: json!({"code": code, "msg": msg}).to_string(),
        retry_after_s: None,
    }
}

/// Filters of the one symbol on one venue.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub tick: f64,
    pub step: f64,
    pub min_qty: f64,
    pub max_qty: f64,
    pub min_notional: f64,
}

/// An order the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOrder {
    pub venue: Venue,
    pub symbol: String,
    pub order_id: i64,
    pub client_id: String,
    pub side: String,
    pub order_type: String,
    pub qty: f64,
    pub price: f64,
    pub stop_price: f64,
    pub status: String,
    pub executed_qty: f64,
    pub avg_price: f64,
    pub reduce_only: bool,
    pub time_ms: i64,
    pub update_ms: i64,
}

impl FakeOrder {
    pub fn is_open(&self) -> bool {
        self.status == "NEW" || self.status == "PARTIALLY_FILLED"
    }
}

/// An algo (conditional) order the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeAlgo {
    pub algo_id: i64,
    pub client_algo_id: String,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub qty: f64,
    pub trigger_price: f64,
    pub status: String,
    pub reduce_only: bool,
    pub actual_order_id: Option<i64>,
}

/// One fill.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTrade {
    pub venue: Venue,
    pub id: i64,
    pub order_id: i64,
    pub symbol: String,
    pub side: String,
    pub price: f64,
    pub qty: f64,
    pub commission: f64,
    pub realized_pnl: f64,
    pub time_ms: i64,
}

/// One funding payment of the USD-M position (`/fapi/v1/income`, `FUNDING_FEE`).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeIncome {
    pub tran_id: i64,
    /// The funding time, ms (a multiple of 8 h).
    pub time_ms: i64,
    /// Received (> 0) or paid (< 0), USDT.
    pub income: f64,
}

/// The funding period of USD-M perpetuals: 00:00, 08:00, 16:00 UTC.
pub const FUNDING_PERIOD_MS: i64 = 8 * 3_600_000;

/// One kline: open time (ms) and `[open, high, low, close, volume]`.
pub type Kline = (i64, [f64; 5]);

/// The whole exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Server clock = wall clock + skew (set it to make client timestamps stale).
    pub skew_ms: i64,
    pub spot_price: f64,
    pub futures_price: f64,
    pub spot_rules: Rules,
    pub futures_rules: Rules,
    /// Spot balances: asset → (free, locked).
    pub balances: BTreeMap<String, (f64, f64)>,
    /// Futures USDT wallet.
    pub wallet: f64,
    pub position_amt: f64,
    pub entry_price: f64,
    pub leverage: u32,
    pub margin_type: String,
    /// Commission rate on notional, both venues.
    pub fee_rate: f64,
    pub orders: Vec<FakeOrder>,
    pub algos: Vec<FakeAlgo>,
    pub trades: Vec<FakeTrade>,
    /// Klines per venue and interval: `(open_ms, [o, h, l, c, v])`.
    pub klines: BTreeMap<(Venue, String), Vec<Kline>>,
    /// The USD-M funding rate at every funding time (0: no funding at all, and
    /// `/fapi/v1/fundingRate` answers `[]`). Longs pay positive rates.
    pub funding_rate: f64,
    /// Funding payments made, oldest first.
    pub incomes: Vec<FakeIncome>,
    /// The server time up to which funding was settled.
    funding_settled_ms: Option<i64>,
    next_id: i64,
    weight_minute: i64,
    weight_used: u32,
    /// The most weight used in any one minute (what a shared budget must keep under its limit).
    pub peak_weight: u32,
}

/// Wall clock, ms.
pub fn wall_ms() -> i64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "the fake exchange has a clock like the real one"
    )]
    let t = chrono::Utc::now().timestamp_millis();
    t
}

fn fmt(x: f64) -> String {
    let s = format!("{x:.8}");
    s
}

fn is_multiple(x: f64, step: f64) -> bool {
    if step <= 0.0 {
        return true;
    }
    let n = x / step;
    (n - n.round()).abs() < 1e-6
}

impl Exchange {
    /// BTCUSDT at 50 000 on both venues; 10 000 USDT spot, 10 000 USDT futures wallet.
    pub fn new() -> Self {
        let mut balances = BTreeMap::new();
        balances.insert("USDT".to_string(), (10_000.0, 0.0));
        balances.insert("BTC".to_string(), (0.0, 0.0));
        Exchange {
            skew_ms: 0,
            spot_price: 50_000.0,
            futures_price: 50_000.0,
            spot_rules: Rules {
                tick: 0.01,
                step: 0.00001,
                min_qty: 0.00001,
                max_qty: 9000.0,
                min_notional: 5.0,
            },
            futures_rules: Rules {
                tick: 0.1,
                step: 0.001,
                min_qty: 0.001,
                max_qty: 1000.0,
                min_notional: 100.0,
            },
            balances,
            wallet: 10_000.0,
            position_amt: 0.0,
            entry_price: 0.0,
            leverage: 20,
            margin_type: "cross".to_string(),
            fee_rate: 0.001,
            orders: Vec::new(),
            algos: Vec::new(),
            trades: Vec::new(),
            klines: BTreeMap::new(),
            funding_rate: 0.0,
            incomes: Vec::new(),
            funding_settled_ms: None,
            next_id: 1000,
            weight_minute: 0,
            weight_used: 0,
            peak_weight: 0,
        }
    }

    /// A resting spot LIMIT order placed by someone else (a person, another bot).
    pub fn place_foreign_limit(&mut self, client_id: &str, side: &str, qty: f64, price: f64) {
        let now = self.now_ms();
        let order_id = self.id();
        self.orders.push(FakeOrder {
            venue: Venue::Spot,
            symbol: "BTCUSDT".to_string(),
            order_id,
            client_id: client_id.to_string(),
            side: side.to_string(),
            order_type: "LIMIT".to_string(),
            qty,
            price,
            stop_price: 0.0,
            status: "NEW".to_string(),
            executed_qty: 0.0,
            avg_price: 0.0,
            reduce_only: false,
            time_ms: now,
            update_ms: now,
        });
    }

    /// The server clock, ms.
    pub fn now_ms(&self) -> i64 {
        wall_ms() + self.skew_ms
    }

    /// Make the server clock read `ms` now (it runs on from there).
    pub fn set_time(&mut self, ms: i64) {
        self.skew_ms = ms - wall_ms();
    }

    /// The weight used this minute (the `X-MBX-USED-WEIGHT-1M` header).
    pub fn used_weight(&self) -> u32 {
        self.weight_used
    }

    fn spend(&mut self, w: u32) {
        let minute = self.now_ms().div_euclid(60_000);
        if minute != self.weight_minute {
            self.weight_minute = minute;
            self.weight_used = 0;
        }
        self.weight_used += w;
        self.peak_weight = self.peak_weight.max(self.weight_used);
    }

    /// Pay funding for every funding time the clock passed since the last request: the
    /// position pays `amt × price × rate` (the price when the clock passed it), out of the
    /// wallet, recorded as a `FUNDING_FEE` income.
    fn settle_funding(&mut self) {
        let now = self.now_ms();
        let from = self.funding_settled_ms.unwrap_or(now);
        self.funding_settled_ms = Some(now);
        if self.funding_rate == 0.0 || self.position_amt == 0.0 || now <= from {
            return;
        }
        let mut f = (from.div_euclid(FUNDING_PERIOD_MS) + 1) * FUNDING_PERIOD_MS;
        while f <= now {
            let income = -(self.position_amt * self.futures_price * self.funding_rate);
            let tran_id = self.id();
            self.wallet += income;
            self.incomes.push(FakeIncome {
                tran_id,
                time_ms: f,
                income,
            });
            f += FUNDING_PERIOD_MS;
        }
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn price(&self, v: Venue) -> f64 {
        match v {
            Venue::Spot => self.spot_price,
            Venue::Futures => self.futures_price,
        }
    }

    fn rules(&self, v: Venue) -> &Rules {
        match v {
            Venue::Spot => &self.spot_rules,
            Venue::Futures => &self.futures_rules,
        }
    }

    /// Answer one request.
    pub fn handle(
        &mut self,
        method: &str,
        path: &str,
        params: &[(String, String)],
        key: Option<&str>,
        total_params: &str,
    ) -> Reply {
        self.spend(1);
        self.settle_funding();
        let p = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let venue = if path.starts_with("/fapi") {
            Venue::Futures
        } else {
            Venue::Spot
        };
        // the documented weights beyond 1: klines by venue and limit, income 30
        let extra = match path {
            "/api/v3/klines" => 1,
            "/fapi/v1/klines" => match p("limit").and_then(|l| l.parse::<usize>().ok()) {
                Some(0..100) => 0,
                Some(100..500) => 1,
                None | Some(500..=1000) => 4,
                Some(_) => 9,
            },
            "/fapi/v1/income" => 29,
            _ => 0,
        };
        self.spend(extra);
        // public endpoints
        match (method, path) {
            ("GET", "/api/v3/time" | "/fapi/v1/time") => {
                return ok(json!({"serverTime": self.now_ms()}));
            }
            ("GET", "/api/v3/exchangeInfo" | "/fapi/v1/exchangeInfo") => {
                return ok(self.exchange_info(venue));
            }
            ("GET", "/api/v3/klines" | "/fapi/v1/klines") => return ok(self.klines_json(venue, &p)),
            ("GET", "/fapi/v1/fundingRate") => return ok(self.funding_rates(&p)),
            ("GET", "/futures/data/openInterestHist")
            | ("GET", "/futures/data/globalLongShortAccountRatio") => return ok(json!([])),
            _ => {}
        }
        // signed endpoints
        if key != Some(API_KEY) {
            return err(
                401,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            );
        }
        let Some(cut) = total_params.rfind("&signature=") else {
            return err(
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            );
        };
        let (payload, sig) = (&total_params[..cut], &total_params[cut + 11..]);
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes())
            .expect("hmac key");
        mac.update(payload.as_bytes());
        if hex::encode(mac.finalize().into_bytes()) != sig {
            return err(400, -1022, "Signature for this request is not valid.");
        }
        let Some(ts) = p("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
            return err(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            );
        };
        let recv = p("recvWindow")
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(5000);
        if recv > 60_000 {
            return err(400, -1131, "recvWindow must be less than 60000");
        }
        let now = self.now_ms();
        if !(ts < now + 1000 && now - ts <= recv) {
            return err(
                400,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            );
        }
        let symbol = p("symbol");
        if let Some(s) = &symbol
            && s != "BTCUSDT"
        {
            return err(400, -1121, "Invalid symbol.");
        }
        match (method, path) {
            ("POST", "/api/v3/order" | "/fapi/v1/order") => self.new_order(venue, &p),
            ("GET", "/api/v3/order" | "/fapi/v1/order") => match self.find(venue, &p) {
                Some(i) => ok(self.order_json(i)),
                None => err(400, -2013, "Order does not exist."),
            },
            ("DELETE", "/api/v3/order" | "/fapi/v1/order") => match self.find(venue, &p) {
                Some(i) if self.orders[i].is_open() => {
                    self.orders[i].status = "CANCELED".to_string();
                    self.orders[i].update_ms = now;
                    ok(self.order_json(i))
                }
                _ => err(400, -2011, "Unknown order sent."),
            },
            ("GET", "/api/v3/openOrders" | "/fapi/v1/openOrders") => {
                let v: Vec<Value> = (0..self.orders.len())
                    .filter(|&i| self.orders[i].venue == venue && self.orders[i].is_open())
                    .map(|i| self.order_json(i))
                    .collect();
                ok(Value::Array(v))
            }
            ("GET", "/api/v3/myTrades" | "/fapi/v1/userTrades") => {
                let since = p("startTime")
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap_or(0);
                let v: Vec<Value> = self
                    .trades
                    .iter()
                    .filter(|t| t.venue == venue && t.time_ms >= since)
                    .map(|t| {
                        json!({"symbol": t.symbol, "id": t.id, "orderId": t.order_id, "side": t.side,
                            "isBuyer": t.side == "BUY", "price": fmt(t.price), "qty": fmt(t.qty),
                            "commission": fmt(t.commission), "commissionAsset": "USDT",
                            "realizedPnl": fmt(t.realized_pnl), "time": t.time_ms})
                    })
                    .collect();
                ok(Value::Array(v))
            }
            ("GET", "/fapi/v1/income") => {
                let t = |k: &str, d: i64| p(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(d);
                let (from, to) = (t("startTime", 0), t("endTime", i64::MAX));
                let limit = t("limit", 100).clamp(1, 1000) as usize;
                let funding = matches!(p("incomeType").as_deref(), None | Some("FUNDING_FEE"));
                let v: Vec<Value> = self
                    .incomes
                    .iter()
                    .filter(|i| funding && i.time_ms >= from && i.time_ms <= to)
                    .take(limit)
                    .map(|i| {
                        json!({"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE",
                            "income": fmt(i.income), "asset": "USDT", "info": "FUNDING_FEE",
                            "time": i.time_ms, "tranId": i.tran_id, "tradeId": ""})
                    })
                    .collect();
                ok(Value::Array(v))
            }
            ("GET", "/api/v3/account") => {
                let b: Vec<Value> = self
                    .balances
                    .iter()
                    .map(|(a, (f, l))| json!({"asset": a, "free": fmt(*f), "locked": fmt(*l)}))
                    .collect();
                ok(json!({"canTrade": true, "balances": b}))
            }
            ("GET", "/fapi/v2/balance") => {
                let used = self.position_amt.abs() * self.entry_price / f64::from(self.leverage);
                ok(json!([{"asset": "USDT", "balance": fmt(self.wallet),
                    "availableBalance": fmt(self.wallet - used)}]))
            }
            ("GET", "/fapi/v3/positionRisk") => {
                let upnl = self.position_amt * (self.futures_price - self.entry_price);
                ok(
                    json!([{"symbol": "BTCUSDT", "positionAmt": fmt(self.position_amt),
                    "entryPrice": fmt(self.entry_price), "markPrice": fmt(self.futures_price),
                    "unRealizedProfit": fmt(upnl), "liquidationPrice": "0",
                    "marginType": self.margin_type, "isolatedWallet": "0"}]),
                )
            }
            ("POST", "/fapi/v1/leverage") => {
                let Some(l) = p("leverage")
                    .and_then(|l| l.parse::<u32>().ok())
                    .filter(|l| (1..=125).contains(l))
                else {
                    return err(400, -4028, "Leverage is not valid");
                };
                self.leverage = l;
                ok(json!({"leverage": l, "maxNotionalValue": "1000000", "symbol": "BTCUSDT"}))
            }
            ("POST", "/fapi/v1/marginType") => {
                let want = match p("marginType").as_deref() {
                    Some("ISOLATED") => "isolated",
                    Some("CROSSED") => "cross",
                    _ => return err(400, -1116, "Invalid marginType."),
                };
                if self.margin_type == want {
                    return err(400, -4046, "No need to change margin type.");
                }
                self.margin_type = want.to_string();
                ok(json!({"code": 200, "msg": "success"}))
            }
            ("POST", "/fapi/v1/algoOrder") => self.new_algo(&p),
            ("GET", "/fapi/v1/algoOrder") => match self.find_algo(&p) {
                Some(i) => ok(self.algo_json(i)),
                None => err(400, -2013, "Order does not exist."),
            },
            ("DELETE", "/fapi/v1/algoOrder") => match self.find_algo(&p) {
                Some(i) if self.algos[i].status == "NEW" => {
                    self.algos[i].status = "CANCELED".to_string();
                    ok(
                        json!({"algoId": self.algos[i].algo_id, "clientAlgoId": self.algos[i].client_algo_id,
                        "code": "200", "msg": "success"}),
                    )
                }
                _ => err(400, -2011, "Unknown order sent."),
            },
            ("GET", "/fapi/v1/openAlgoOrders") => {
                let v: Vec<Value> = (0..self.algos.len())
                    .filter(|&i| self.algos[i].status == "NEW")
                    .map(|i| self.algo_json(i))
                    .collect();
                ok(Value::Array(v))
            }
            _ => err(404, -1000, "fake: no such endpoint"),
        }
    }

    fn exchange_info(&self, venue: Venue) -> Value {
        let r = self.rules(venue);
        let mut filters = vec![
            json!({"filterType": "PRICE_FILTER", "minPrice": fmt(r.tick), "maxPrice": "1000000.00000000", "tickSize": fmt(r.tick)}),
            json!({"filterType": "LOT_SIZE", "minQty": fmt(r.min_qty), "maxQty": fmt(r.max_qty), "stepSize": fmt(r.step)}),
            json!({"filterType": "MARKET_LOT_SIZE", "minQty": fmt(r.min_qty), "maxQty": fmt(r.max_qty), "stepSize": fmt(r.step)}),
        ];
        let order_types = match venue {
            Venue::Spot => {
                filters.push(json!({"filterType": "NOTIONAL", "minNotional": fmt(r.min_notional),
                    "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false}));
                json!([
                    "LIMIT",
                    "LIMIT_MAKER",
                    "MARKET",
                    "STOP_LOSS_LIMIT",
                    "TAKE_PROFIT_LIMIT"
                ])
            }
            Venue::Futures => {
                filters
                    .push(json!({"filterType": "MIN_NOTIONAL", "notional": fmt(r.min_notional)}));
                json!([
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET"
                ])
            }
        };
        json!({"serverTime": self.now_ms(), "rateLimits": [], "symbols": [{
            "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
            "orderTypes": order_types, "filters": filters}]})
    }

    /// `/fapi/v1/fundingRate`: the rate at every funding time in `[startTime, endTime]`.
    fn funding_rates(&self, p: &dyn Fn(&str) -> Option<String>) -> Value {
        if self.funding_rate == 0.0 {
            return json!([]);
        }
        let t = |k: &str, d: i64| p(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(d);
        let now = self.now_ms();
        let (from, to) = (
            t("startTime", now - 100 * FUNDING_PERIOD_MS),
            t("endTime", now),
        );
        let limit = t("limit", 100).clamp(1, 1000);
        let first =
            from.div_euclid(FUNDING_PERIOD_MS) + i64::from(from.rem_euclid(FUNDING_PERIOD_MS) != 0);
        let v: Vec<Value> = (first..)
            .map(|k| k * FUNDING_PERIOD_MS)
            .take_while(|f| *f <= to.min(now))
            .take(limit as usize)
            .map(|f| {
                json!({"symbol": "BTCUSDT", "fundingTime": f,
                    "fundingRate": format!("{:.8}", self.funding_rate), "markPrice": fmt(self.futures_price)})
            })
            .collect();
        Value::Array(v)
    }

    fn klines_json(&self, venue: Venue, p: &dyn Fn(&str) -> Option<String>) -> Value {
        let interval = p("interval").unwrap_or_default();
        let step = interval_ms(&interval);
        let start = p("startTime")
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        let end = p("endTime")
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        let limit = p("limit")
            .and_then(|t| t.parse::<usize>().ok())
            .unwrap_or(500);
        let rows = self
            .klines
            .get(&(venue, interval))
            .cloned()
            .unwrap_or_default();
        let v: Vec<Value> = rows
            .iter()
            .filter(|(t, _)| *t >= start && *t <= end)
            .take(limit)
            .map(|(t, [o, h, l, c, vol])| {
                json!([
                    t,
                    fmt(*o),
                    fmt(*h),
                    fmt(*l),
                    fmt(*c),
                    fmt(*vol),
                    t + step - 1,
                    fmt(vol * c),
                    1,
                    "0",
                    "0",
                    "0"
                ])
            })
            .collect();
        Value::Array(v)
    }

    fn find(&self, venue: Venue, p: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
        let by_client = p("origClientOrderId");
        let by_id = p("orderId").and_then(|i| i.parse::<i64>().ok());
        (0..self.orders.len()).rev().find(|&i| {
            let o = &self.orders[i];
            o.venue == venue
                && (by_client.as_deref() == Some(o.client_id.as_str()) || by_id == Some(o.order_id))
        })
    }

    fn find_algo(&self, p: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
        let by_client = p("clientAlgoId");
        let by_id = p("algoId").and_then(|i| i.parse::<i64>().ok());
        (0..self.algos.len()).rev().find(|&i| {
            let a = &self.algos[i];
            by_client.as_deref() == Some(a.client_algo_id.as_str()) || by_id == Some(a.algo_id)
        })
    }

    fn order_json(&self, i: usize) -> Value {
        let o = &self.orders[i];
        let quote = o.executed_qty * o.avg_price;
        let mut v = json!({"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_id,
            "price": fmt(o.price), "origQty": fmt(o.qty), "executedQty": fmt(o.executed_qty),
            "status": o.status, "timeInForce": "GTC", "type": o.order_type, "side": o.side,
            "stopPrice": fmt(o.stop_price), "time": o.time_ms, "updateTime": o.update_ms,
            "transactTime": o.update_ms});
        match o.venue {
            Venue::Spot => v["cummulativeQuoteQty"] = json!(fmt(quote)),
            Venue::Futures => {
                v["cumQuote"] = json!(fmt(quote));
                v["avgPrice"] = json!(fmt(o.avg_price));
                v["reduceOnly"] = json!(o.reduce_only);
            }
        }
        v
    }

    fn algo_json(&self, i: usize) -> Value {
        let a = &self.algos[i];
        json!({"algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "algoType": "CONDITIONAL",
            "orderType": a.order_type, "symbol": a.symbol, "side": a.side, "quantity": fmt(a.qty),
            "algoStatus": a.status, "triggerPrice": fmt(a.trigger_price), "reduceOnly": a.reduce_only,
            "workingType": "MARK_PRICE",
            "actualOrderId": a.actual_order_id.map(|x| x.to_string()).unwrap_or_default()})
    }

    fn filter_error(
        &self,
        venue: Venue,
        qty: f64,
        price: Option<f64>,
        reduce_only: bool,
    ) -> Option<Reply> {
        let r = self.rules(venue).clone();
        let spot = venue == Venue::Spot;
        if let Some(px) = price
            && (!is_multiple(px, r.tick) || px <= 0.0)
        {
            return Some(if spot {
                err(400, -1013, "Filter failure: PRICE_FILTER")
            } else {
                err(400, -4014, "Price not increased by tick size.")
            });
        }
        if !is_multiple(qty, r.step) {
            return Some(if spot {
                err(400, -1013, "Filter failure: LOT_SIZE")
            } else {
                err(400, -4023, "Quantity not increased by step size.")
            });
        }
        if qty + 1e-12 < r.min_qty || qty > r.max_qty {
            return Some(if spot {
                err(400, -1013, "Filter failure: LOT_SIZE")
            } else {
                err(400, -4004, "Quantity less than minimum quantity.")
            });
        }
        let notional = qty * price.unwrap_or(self.price(venue));
        if (spot || !reduce_only) && notional + 1e-9 < r.min_notional {
            return Some(if spot {
                err(400, -1013, "Filter failure: NOTIONAL")
            } else {
                err(
                    400,
                    -4164,
                    "Order's notional must be no smaller than the minimum (unless you choose reduce only).",
                )
            });
        }
        None
    }

    fn new_order(&mut self, venue: Venue, p: &dyn Fn(&str) -> Option<String>) -> Reply {
        let side = p("side").unwrap_or_default();
        if side != "BUY" && side != "SELL" {
            return err(
                400,
                -1102,
                "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
            );
        }
        let order_type = p("type").unwrap_or_default();
        let qty: f64 = p("quantity").and_then(|q| q.parse().ok()).unwrap_or(0.0);
        let price: Option<f64> = p("price").and_then(|q| q.parse().ok());
        let stop: Option<f64> = p("stopPrice").and_then(|q| q.parse().ok());
        let reduce_only = p("reduceOnly").as_deref() == Some("true");
        let now = self.now_ms();
        let next = self.next_id + 1;
        let client_id = p("newClientOrderId").unwrap_or_else(|| format!("fake{next}"));
        if self
            .orders
            .iter()
            .any(|o| o.venue == venue && o.client_id == client_id && o.is_open())
        {
            return match venue {
                Venue::Spot => err(400, -2010, "Duplicate order sent."),
                Venue::Futures => err(400, -4116, "ClientOrderId is duplicated."),
            };
        }
        let supported = match (venue, order_type.as_str()) {
            (_, "MARKET" | "LIMIT") => true,
            (Venue::Spot, "STOP_LOSS_LIMIT") => true,
            (
                Venue::Futures,
                "STOP"
                | "STOP_MARKET"
                | "TAKE_PROFIT"
                | "TAKE_PROFIT_MARKET"
                | "TRAILING_STOP_MARKET",
            ) => {
                return err(
                    400,
                    -4120,
                    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
                );
            }
            _ => false,
        };
        if !supported {
            return err(400, -1116, "Invalid orderType.");
        }
        if order_type != "MARKET" && price.is_none() {
            return err(
                400,
                -1102,
                "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
            );
        }
        if order_type == "STOP_LOSS_LIMIT" && stop.is_none() {
            return err(
                400,
                -1102,
                "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
            );
        }
        if let Some(s) = stop
            && !is_multiple(s, self.rules(venue).tick)
        {
            return err(400, -1013, "Filter failure: PRICE_FILTER");
        }
        if let Some(e) = self.filter_error(venue, qty, price, reduce_only) {
            return e;
        }
        if venue == Venue::Futures && reduce_only {
            let reduces = (side == "SELL" && self.position_amt > 0.0)
                || (side == "BUY" && self.position_amt < 0.0);
            if !reduces || qty > self.position_amt.abs() + 1e-12 {
                return err(400, -2022, "ReduceOnly Order is rejected.");
            }
        }
        let id = self.id();
        self.orders.push(FakeOrder {
            venue,
            symbol: "BTCUSDT".to_string(),
            order_id: id,
            client_id,
            side: side.clone(),
            order_type: order_type.clone(),
            qty,
            price: price.unwrap_or(0.0),
            stop_price: stop.unwrap_or(0.0),
            status: "NEW".to_string(),
            executed_qty: 0.0,
            avg_price: 0.0,
            reduce_only,
            time_ms: now,
            update_ms: now,
        });
        let i = self.orders.len() - 1;
        let px = self.price(venue);
        let marketable = match order_type.as_str() {
            "MARKET" => true,
            "LIMIT" => price.is_some_and(|l| if side == "BUY" { px <= l } else { px >= l }),
            _ => false,
        };
        if marketable && let Err(e) = self.fill(i, px) {
            self.orders.pop();
            return e;
        }
        ok(self.order_json(i))
    }

    /// Fill order `i` completely at `px`.
    fn fill(&mut self, i: usize, px: f64) -> Result<(), Reply> {
        let o = self.orders[i].clone();
        let notional = o.qty * px;
        let fee = notional * self.fee_rate;
        let buy = o.side == "BUY";
        let mut realized = 0.0;
        match o.venue {
            Venue::Spot => {
                let usdt = self.balances.get("USDT").map_or(0.0, |b| b.0);
                let btc = self.balances.get("BTC").map_or(0.0, |b| b.0);
                if buy && usdt < notional + fee {
                    return Err(err(
                        400,
                        -2010,
                        "Account has insufficient balance for requested action.",
                    ));
                }
                if !buy && btc + 1e-12 < o.qty {
                    return Err(err(
                        400,
                        -2010,
                        "Account has insufficient balance for requested action.",
                    ));
                }
                let (du, db) = if buy {
                    (-(notional + fee), o.qty)
                } else {
                    (notional - fee, -o.qty)
                };
                self.balances.entry("USDT".into()).or_default().0 += du;
                self.balances.entry("BTC".into()).or_default().0 += db;
            }
            Venue::Futures => {
                let signed = if buy { o.qty } else { -o.qty };
                let old = self.position_amt;
                let increases = old == 0.0 || old.signum() == signed.signum();
                if increases {
                    let used = old.abs() * self.entry_price / f64::from(self.leverage);
                    if used + notional / f64::from(self.leverage) + fee > self.wallet {
                        return Err(err(400, -2019, "Margin is insufficient."));
                    }
                    self.entry_price =
                        (old.abs() * self.entry_price + o.qty * px) / (old.abs() + o.qty);
                    self.position_amt = old + signed;
                } else {
                    let closed = o.qty.min(old.abs());
                    realized = closed * (px - self.entry_price) * old.signum();
                    let rest = old + signed;
                    if rest.abs() < 1e-12 {
                        self.position_amt = 0.0;
                        self.entry_price = 0.0;
                    } else if rest.signum() == old.signum() {
                        self.position_amt = rest;
                    } else {
                        self.position_amt = rest;
                        self.entry_price = px;
                    }
                }
                self.wallet += realized - fee;
            }
        }
        let now = self.now_ms();
        let trade_id = self.id();
        let o = &mut self.orders[i];
        o.status = "FILLED".to_string();
        o.executed_qty = o.qty;
        o.avg_price = px;
        o.update_ms = now;
        self.trades.push(FakeTrade {
            venue: o.venue,
            id: trade_id,
            order_id: o.order_id,
            symbol: o.symbol.clone(),
            side: o.side.clone(),
            price: px,
            qty: o.qty,
            commission: fee,
            realized_pnl: realized,
            time_ms: now,
        });
        Ok(())
    }

    fn new_algo(&mut self, p: &dyn Fn(&str) -> Option<String>) -> Reply {
        if p("algoType").as_deref() != Some("CONDITIONAL") {
            return err(400, -1116, "Invalid algoType.");
        }
        let order_type = p("type").unwrap_or_default();
        if !matches!(order_type.as_str(), "STOP_MARKET" | "TAKE_PROFIT_MARKET") {
            return err(400, -1116, "Invalid orderType.");
        }
        let side = p("side").unwrap_or_default();
        let qty: f64 = p("quantity").and_then(|q| q.parse().ok()).unwrap_or(0.0);
        let Some(trigger) = p("triggerPrice").and_then(|q| q.parse::<f64>().ok()) else {
            return err(
                400,
                -1102,
                "Mandatory parameter 'triggerPrice' was not sent, was empty/null, or malformed.",
            );
        };
        if !is_multiple(trigger, self.futures_rules.tick) {
            return err(400, -4014, "Price not increased by tick size.");
        }
        if !is_multiple(qty, self.futures_rules.step) || qty < self.futures_rules.min_qty {
            return err(400, -4023, "Quantity not increased by step size.");
        }
        let next = self.next_id + 1;
        let client = p("clientAlgoId").unwrap_or_else(|| format!("algo{next}"));
        if self
            .algos
            .iter()
            .any(|a| a.client_algo_id == client && a.status == "NEW")
        {
            return err(400, -4116, "ClientOrderId is duplicated.");
        }
        let id = self.id();
        self.algos.push(FakeAlgo {
            algo_id: id,
            client_algo_id: client,
            symbol: "BTCUSDT".to_string(),
            side,
            order_type,
            qty,
            trigger_price: trigger,
            status: "NEW".to_string(),
            reduce_only: p("reduceOnly").as_deref() == Some("true"),
            actual_order_id: None,
        });
        ok(self.algo_json(self.algos.len() - 1))
    }

    /// Move the price: fill crossed limits, trigger crossed stops and algo stops.
    pub fn set_price(&mut self, venue: Venue, px: f64) {
        match venue {
            Venue::Spot => self.spot_price = px,
            Venue::Futures => self.futures_price = px,
        }
        for i in 0..self.orders.len() {
            let o = &self.orders[i];
            if o.venue != venue || !o.is_open() {
                continue;
            }
            let buy = o.side == "BUY";
            let hit = match o.order_type.as_str() {
                "LIMIT" => {
                    if buy {
                        px <= o.price
                    } else {
                        px >= o.price
                    }
                }
                "STOP_LOSS_LIMIT" => {
                    if buy {
                        px >= o.stop_price
                    } else {
                        px <= o.stop_price
                    }
                }
                _ => false,
            };
            if hit {
                let fill_px = if o.order_type == "LIMIT" { o.price } else { px };
                let _ = self.fill(i, fill_px);
            }
        }
        if venue == Venue::Futures {
            for k in 0..self.algos.len() {
                let a = self.algos[k].clone();
                if a.status != "NEW" {
                    continue;
                }
                let buy = a.side == "BUY";
                let hit = match a.order_type.as_str() {
                    "STOP_MARKET" => {
                        if buy {
                            px >= a.trigger_price
                        } else {
                            px <= a.trigger_price
                        }
                    }
                    _ => {
                        if buy {
                            px <= a.trigger_price
                        } else {
                            px >= a.trigger_price
                        }
                    }
                };
                if !hit {
                    continue;
                }
                let qty = if a.reduce_only {
                    a.qty.min(self.position_amt.abs())
                } else {
                    a.qty
                };
                if qty <= 0.0 {
                    self.algos[k].status = "EXPIRED".to_string();
                    continue;
                }
                let id = self.id();
                let now = self.now_ms();
                self.orders.push(FakeOrder {
                    venue,
                    symbol: a.symbol.clone(),
                    order_id: id,
                    client_id: format!("{}_t", a.client_algo_id),
                    side: a.side.clone(),
                    order_type: "MARKET".to_string(),
                    qty,
                    price: 0.0,
                    stop_price: a.trigger_price,
                    status: "NEW".to_string(),
                    executed_qty: 0.0,
                    avg_price: 0.0,
                    reduce_only: a.reduce_only,
                    time_ms: now,
                    update_ms: now,
                });
                let i = self.orders.len() - 1;
                let _ = self.fill(i, px);
                self.algos[k].status = "FINISHED".to_string();
                self.algos[k].actual_order_id = Some(id);
            }
        }
    }
}

/// Milliseconds of a kline interval (1m … 1w).
pub fn interval_ms(interval: &str) -> i64 {
    let (n, unit) = interval.split_at(interval.len().saturating_sub(1));
    let n: i64 = n.parse().unwrap_or(1);
    n * match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => 60_000,
    }
}
