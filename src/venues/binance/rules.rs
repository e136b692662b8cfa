//! `exchangeInfo` → [`SymbolRules`]: the filters an order must pass, applied before sending
//! so the exchange never has to reject one (`-1013 Filter failure`, futures `-4014`, `-4023`,
//! `-4004`).
//!
//! Filters read (PROTOCOLS.md): `PRICE_FILTER {minPrice, maxPrice, tickSize}`, `LOT_SIZE` and
//! `MARKET_LOT_SIZE {minQty, maxQty, stepSize}`, spot `MIN_NOTIONAL {minNotional,
//! applyToMarket}` and `NOTIONAL {minNotional, applyMinToMarket, maxNotional}`, futures
//! `MIN_NOTIONAL {notional}`. A zero disables a check, as Binance documents. Quantities are
//! rounded *down* to the step (never more than asked); an order below a minimum is not sent
//! and [`Checked`] carries the reason for the log.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Market;
use crate::venues::VenueError;

/// The trading rules of one symbol.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SymbolRules {
    /// Binance's symbol (`BTCUSDT`).
    pub symbol: String,
    /// `TRADING` when open.
    pub status: String,
    /// Base asset (`BTC`).
    pub base_asset: String,
    /// Quote asset (`USDT`).
    pub quote_asset: String,
    /// Price tick (0: no tick).
    pub tick_size: f64,
    /// Minimum price (0: none).
    pub min_price: f64,
    /// Maximum price (0: none).
    pub max_price: f64,
    /// Quantity step of limit orders.
    pub step_size: f64,
    /// Minimum quantity of limit orders.
    pub min_qty: f64,
    /// Maximum quantity of limit orders (0: none).
    pub max_qty: f64,
    /// Quantity step of market orders (`MARKET_LOT_SIZE`, else `LOT_SIZE`).
    pub market_step_size: f64,
    /// Minimum quantity of market orders.
    pub market_min_qty: f64,
    /// Maximum quantity of market orders (0: none).
    pub market_max_qty: f64,
    /// Minimum notional (price × quantity; 0: none).
    pub min_notional: f64,
    /// Whether the minimum notional applies to market orders too.
    pub min_notional_applies_to_market: bool,
    /// Maximum notional (0: none).
    pub max_notional: f64,
    /// Order types the symbol accepts (`MARKET`, `LIMIT`, `STOP_LOSS_LIMIT`, …).
    pub order_types: Vec<String>,
}

/// An order that passed the filters, with its values as the exchange wants them written.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Quantity rounded down to the step.
    pub qty: f64,
    /// The same, formatted with the step's decimals.
    pub qty_text: String,
    /// Price rounded to the tick, formatted (limit orders).
    pub price_text: Option<String>,
    /// Stop (trigger) price rounded to the tick, formatted.
    pub stop_text: Option<String>,
}

/// How the order will execute, for the filters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pricing {
    /// A market order; `reference` is the price used for the notional check (last close).
    Market {
        /// Reference price.
        reference: f64,
    },
    /// A limit order at `price`.
    Limit {
        /// Limit price.
        price: f64,
    },
    /// A stop that becomes a market order at `stop`.
    StopMarket {
        /// Trigger price.
        stop: f64,
    },
    /// A stop that becomes a limit order at `price` once `stop` trades.
    StopLimit {
        /// Trigger price.
        stop: f64,
        /// Limit price.
        price: f64,
    },
}

impl SymbolRules {
    /// Round `qty` down to the step of `market` or limit orders.
    pub fn round_qty(&self, qty: f64, market: bool) -> f64 {
        let step = if market {
            self.market_step_size
        } else {
            self.step_size
        };
        floor_to(qty, step)
    }

    /// Round a price to the nearest tick.
    pub fn round_price(&self, price: f64) -> f64 {
        if self.tick_size > 0.0 {
            let n = (price / self.tick_size).round();
            n * self.tick_size
        } else {
            price
        }
    }

    /// Apply every filter to an order of `qty` priced by `pricing`.
    ///
    /// # Errors
    /// The reason the order must not be sent (below a minimum, above a maximum, a price out
    /// of range), in words for the log.
    pub fn check(&self, qty: f64, pricing: Pricing) -> Result<Checked, String> {
        if !(qty.is_finite() && qty > 0.0) {
            return Err(format!("{}: quantity {qty} is not positive", self.symbol));
        }
        let is_market = matches!(pricing, Pricing::Market { .. } | Pricing::StopMarket { .. });
        let (step, min_q, max_q) = if is_market {
            (
                self.market_step_size,
                self.market_min_qty,
                self.market_max_qty,
            )
        } else {
            (self.step_size, self.min_qty, self.max_qty)
        };
        let q = floor_to(qty, step);
        if q <= 0.0 || q + 1e-12 < min_q {
            return Err(format!(
                "{}: quantity {qty} rounds down to {q}, below the minimum {min_q} (step {step})",
                self.symbol
            ));
        }
        if max_q > 0.0 && q > max_q + 1e-12 {
            return Err(format!(
                "{}: quantity {q} above the maximum {max_q}",
                self.symbol
            ));
        }
        let check_price = |p: f64, what: &str| -> Result<f64, String> {
            let r = self.round_price(p);
            if !(r.is_finite() && r > 0.0) {
                return Err(format!("{}: {what} {p} is not positive", self.symbol));
            }
            if self.min_price > 0.0 && r + 1e-12 < self.min_price {
                return Err(format!(
                    "{}: {what} {r} below the minimum {}",
                    self.symbol, self.min_price
                ));
            }
            if self.max_price > 0.0 && r > self.max_price + 1e-12 {
                return Err(format!(
                    "{}: {what} {r} above the maximum {}",
                    self.symbol, self.max_price
                ));
            }
            Ok(r)
        };
        let (notional_price, price, stop) = match pricing {
            Pricing::Market { reference } => (reference, None, None),
            Pricing::Limit { price } => {
                let p = check_price(price, "price")?;
                (p, Some(p), None)
            }
            Pricing::StopMarket { stop } => {
                let s = check_price(stop, "stop price")?;
                (s, None, Some(s))
            }
            Pricing::StopLimit { stop, price } => {
                let s = check_price(stop, "stop price")?;
                let p = check_price(price, "price")?;
                (p, Some(p), Some(s))
            }
        };
        let notional = q * notional_price;
        let min_applies = !is_market || self.min_notional_applies_to_market;
        if min_applies && self.min_notional > 0.0 && notional + 1e-9 < self.min_notional {
            return Err(format!(
                "{}: notional {notional:.8} ({q} × {notional_price}) below the minimum {}",
                self.symbol, self.min_notional
            ));
        }
        if self.max_notional > 0.0 && notional > self.max_notional + 1e-9 {
            return Err(format!(
                "{}: notional {notional:.8} above the maximum {}",
                self.symbol, self.max_notional
            ));
        }
        let pfmt = |p: f64| fmt_step(p, self.tick_size);
        Ok(Checked {
            qty: q,
            qty_text: fmt_step(q, step),
            price_text: price.map(pfmt),
            stop_text: stop.map(pfmt),
        })
    }

    /// Whether the symbol accepts an order type.
    pub fn accepts(&self, order_type: &str) -> bool {
        self.order_types.iter().any(|t| t == order_type)
    }
}

/// `x` rounded down to a multiple of `step` (unchanged when `step` is 0), robust to the
/// binary representation of decimal steps (0.1 × 3 must stay 0.3).
pub fn floor_to(x: f64, step: f64) -> f64 {
    if step <= 0.0 {
        return x;
    }
    let n = (x / step * (1.0 + 1e-12)).floor();
    let d = decimals(step);
    let v = n * step;
    let scale = 10f64.powi(d as i32);
    (v * scale).round() / scale
}

/// The number of decimals of a step (`0.00100000` → 3, `1` → 0), at most 16.
pub fn decimals(step: f64) -> u32 {
    if step <= 0.0 {
        return 8;
    }
    let mut d = 0;
    let mut s = step;
    while d < 16 && (s - s.round()).abs() > 1e-9 * s.abs().max(1e-30) {
        s *= 10.0;
        d += 1;
    }
    d
}

/// `x` written with the decimals of `step`, no exponent.
pub fn fmt_step(x: f64, step: f64) -> String {
    format!("{:.*}", decimals(step) as usize, x)
}

fn num(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Read every symbol's rules from an `exchangeInfo` body (spot or USD-M field names).
///
/// # Errors
/// [`VenueError::Malformed`] when the body has no `symbols` array or a symbol lacks its name
/// or a `LOT_SIZE` filter.
pub fn parse_exchange_info(
    body: &Value,
    market: Market,
) -> Result<BTreeMap<String, SymbolRules>, VenueError> {
    let path = match market {
        Market::Spot => "/api/v3/exchangeInfo",
        Market::UsdM => "/fapi/v1/exchangeInfo",
    };
    let bad = |cause: String| VenueError::Malformed {
        path: path.to_string(),
        cause,
    };
    let symbols = body
        .get("symbols")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no symbols array".to_string()))?;
    let mut out = BTreeMap::new();
    for s in symbols {
        let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let symbol = text("symbol");
        if symbol.is_empty() {
            return Err(bad("a symbol without a name".to_string()));
        }
        let filters: Vec<&Value> = s
            .get("filters")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let filter = |name: &str| {
            filters
                .iter()
                .find(|f| f.get("filterType").and_then(Value::as_str) == Some(name))
                .copied()
        };
        let lot =
            filter("LOT_SIZE").ok_or_else(|| bad(format!("{symbol} has no LOT_SIZE filter")))?;
        let market_lot = filter("MARKET_LOT_SIZE").unwrap_or(lot);
        let price = filter("PRICE_FILTER");
        let mut r = SymbolRules {
            symbol: symbol.clone(),
            status: text("status"),
            base_asset: text("baseAsset"),
            quote_asset: text("quoteAsset"),
            tick_size: num(price.and_then(|p| p.get("tickSize"))),
            min_price: num(price.and_then(|p| p.get("minPrice"))),
            max_price: num(price.and_then(|p| p.get("maxPrice"))),
            step_size: num(lot.get("stepSize")),
            min_qty: num(lot.get("minQty")),
            max_qty: num(lot.get("maxQty")),
            market_step_size: num(market_lot.get("stepSize")),
            market_min_qty: num(market_lot.get("minQty")),
            market_max_qty: num(market_lot.get("maxQty")),
            min_notional: 0.0,
            min_notional_applies_to_market: true,
            max_notional: 0.0,
            order_types: s
                .get("orderTypes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        };
        // a zero market step means "same as LOT_SIZE"
        if r.market_step_size <= 0.0 {
            r.market_step_size = r.step_size;
        }
        if let Some(n) = filter("NOTIONAL") {
            r.min_notional = num(n.get("minNotional"));
            r.min_notional_applies_to_market = n
                .get("applyMinToMarket")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            r.max_notional = num(n.get("maxNotional"));
        }
        if let Some(n) = filter("MIN_NOTIONAL") {
            match market {
                // futures: {"filterType": "MIN_NOTIONAL", "notional": "5"}
                Market::UsdM => r.min_notional = num(n.get("notional")),
                Market::Spot => {
                    r.min_notional = r.min_notional.max(num(n.get("minNotional")));
                    r.min_notional_applies_to_market = n
                        .get("applyToMarket")
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                }
            }
        }
        out.insert(symbol, r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot() -> SymbolRules {
        let body = serde_json::json!({"symbols": [{
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
        "orderTypes": ["LIMIT", "MARKET", "STOP_LOSS_LIMIT"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000", "stepSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false}
        ]}]});
        parse_exchange_info(&body, Market::Spot)
            .unwrap()
            .remove("BTCUSDT")
            .unwrap()
    }

    #[test]
    fn spot_filters_are_read_and_a_zero_market_step_falls_back_to_lot_size() {
        let r = spot();
        assert_eq!(r.tick_size, 0.01);
        assert_eq!(r.step_size, 0.00001);
        assert_eq!(r.market_step_size, 0.00001);
        assert_eq!(r.market_max_qty, 100.0);
        assert_eq!(r.min_notional, 5.0);
        assert!(r.accepts("STOP_LOSS_LIMIT") && !r.accepts("STOP_LOSS"));
    }

    #[test]
    fn futures_min_notional_uses_its_own_field_name() {
        let body = serde_json::json!({"symbols": [{
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764", "tickSize": "0.10"},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "120", "stepSize": "0.001"},
            {"filterType": "MIN_NOTIONAL", "notional": "100"}
        ]}]});
        let r = parse_exchange_info(&body, Market::UsdM)
            .unwrap()
            .remove("BTCUSDT")
            .unwrap();
        assert_eq!(r.min_notional, 100.0);
        assert_eq!(r.market_max_qty, 120.0);
        // 0.0025 rounds down to 0.002; 0.002 × 40000 = 80 < 100: not sent
        let e = r
            .check(
                0.0025,
                Pricing::Market {
                    reference: 40_000.0,
                },
            )
            .unwrap_err();
        assert!(
            e.contains("notional") && e.contains("below the minimum 100"),
            "{e}"
        );
        let ok = r
            .check(
                0.0029,
                Pricing::Market {
                    reference: 60_000.0,
                },
            )
            .unwrap();
        assert_eq!(ok.qty_text, "0.002");
    }

    #[test]
    fn quantities_round_down_to_the_step_and_prices_to_the_tick() {
        let r = spot();
        let c = r
            .check(
                0.123456789,
                Pricing::StopLimit {
                    stop: 40_000.004,
                    price: 39_800.016,
                },
            )
            .unwrap();
        assert_eq!(c.qty, 0.12345);
        assert_eq!(c.qty_text, "0.12345");
        assert_eq!(c.stop_text.as_deref(), Some("40000.00"));
        assert_eq!(c.price_text.as_deref(), Some("39800.02"));
        assert_eq!(floor_to(0.3, 0.1), 0.3, "0.3 / 0.1 is 2.9999… in binary");
        assert_eq!(fmt_step(1.0, 1.0), "1");
    }

    #[test]
    fn orders_below_a_minimum_are_refused_with_a_reason() {
        let r = spot();
        let e = r
            .check(
                0.000009,
                Pricing::Market {
                    reference: 50_000.0,
                },
            )
            .unwrap_err();
        assert!(e.contains("below the minimum"), "{e}");
        let e = r
            .check(0.00005, Pricing::Limit { price: 50_000.0 })
            .unwrap_err();
        assert!(e.contains("notional"), "{e}");
        let e = r
            .check(200.0, Pricing::Market { reference: 1.0 })
            .unwrap_err();
        assert!(e.contains("above the maximum 100"), "{e}");
        assert!(r.check(1.0, Pricing::Limit { price: 0.001 }).is_err());
    }
}
