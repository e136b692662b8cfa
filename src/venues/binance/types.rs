//! Plain records of what the exchange reports (orders, algo orders, fills, balances,
//! positions), read tolerantly from spot and USD-M JSON (numbers arrive as strings).

use serde_json::Value;

/// Buy or sell, as Binance spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OrderSide {
    /// `BUY`.
    Buy,
    /// `SELL`.
    Sell,
}

impl OrderSide {
    /// `BUY` or `SELL`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "BUY",
            OrderSide::Sell => "SELL",
        }
    }

    /// The other side (a long's stop sells).
    pub fn opposite(self) -> Self {
        match self {
            OrderSide::Buy => OrderSide::Sell,
            OrderSide::Sell => OrderSide::Buy,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "BUY" => Some(OrderSide::Buy),
            "SELL" => Some(OrderSide::Sell),
            _ => None,
        }
    }
}

/// An order's state (spot and futures share the names).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderStatus {
    /// Resting, nothing filled.
    New,
    /// Resting, part filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled by the user.
    Canceled,
    /// Cancel in progress.
    PendingCancel,
    /// Rejected by the engine.
    Rejected,
    /// Expired (IOC/FOK, or by the exchange).
    Expired,
    /// Anything else, as sent.
    Other(String),
}

impl OrderStatus {
    /// From Binance's spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "NEW" => OrderStatus::New,
            "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
            "FILLED" => OrderStatus::Filled,
            "CANCELED" => OrderStatus::Canceled,
            "PENDING_CANCEL" => OrderStatus::PendingCancel,
            "REJECTED" => OrderStatus::Rejected,
            "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
            other => OrderStatus::Other(other.to_string()),
        }
    }

    /// True while the order rests on the book.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            OrderStatus::New | OrderStatus::PartiallyFilled | OrderStatus::PendingCancel
        )
    }
}

/// A number that Binance may send as a string or a number; 0 when absent.
pub(crate) fn num(v: &Value, key: &str) -> f64 {
    match v.get(key) {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    }
}

pub(crate) fn int(v: &Value, key: &str) -> i64 {
    match v.get(key) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

pub(crate) fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// An order as the exchange reports it (new-order answer, query, open orders).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderReport {
    /// Symbol.
    pub symbol: String,
    /// Exchange order id.
    pub order_id: i64,
    /// Our client order id.
    pub client_id: String,
    /// State.
    pub status: OrderStatus,
    /// Side (`None` when the answer did not say).
    pub side: Option<OrderSide>,
    /// `MARKET`, `LIMIT`, `STOP_LOSS_LIMIT`, …
    pub order_type: String,
    /// Quantity asked.
    pub orig_qty: f64,
    /// Quantity filled.
    pub executed_qty: f64,
    /// Average fill price (0 when nothing filled).
    pub avg_price: f64,
    /// Limit price (0 for market orders).
    pub price: f64,
    /// Stop price (0 when none).
    pub stop_price: f64,
    /// Reduce-only (futures).
    pub reduce_only: bool,
    /// Last update, UTC ms.
    pub update_ms: i64,
}

impl OrderReport {
    /// Read a spot or futures order object.
    pub fn from_json(v: &Value) -> Self {
        let executed = num(v, "executedQty");
        let mut avg = num(v, "avgPrice");
        if avg == 0.0 && executed > 0.0 {
            // spot has no avgPrice: cumulative quote / executed
            let quote = num(v, "cummulativeQuoteQty").max(num(v, "cumQuote"));
            if quote > 0.0 {
                avg = quote / executed;
            }
        }
        let update = [
            int(v, "updateTime"),
            int(v, "transactTime"),
            int(v, "time"),
            int(v, "workingTime"),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        OrderReport {
            symbol: text(v, "symbol"),
            order_id: int(v, "orderId"),
            client_id: {
                let c = text(v, "clientOrderId");
                if c.is_empty() {
                    text(v, "origClientOrderId")
                } else {
                    c
                }
            },
            status: OrderStatus::parse(&text(v, "status")),
            side: OrderSide::parse(&text(v, "side")),
            order_type: text(v, "type"),
            orig_qty: num(v, "origQty"),
            executed_qty: executed,
            avg_price: avg,
            price: num(v, "price"),
            stop_price: num(v, "stopPrice"),
            reduce_only: v
                .get("reduceOnly")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            update_ms: update,
        }
    }
}

/// A USD-M conditional (algo) order: protective stops since December 2025.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlgoReport {
    /// Symbol.
    pub symbol: String,
    /// Exchange algo id.
    pub algo_id: i64,
    /// Our client algo id.
    pub client_algo_id: String,
    /// `NEW`, `CANCELED`, `TRIGGERING`, `TRIGGERED`, `FINISHED`, `REJECTED`, `EXPIRED`.
    pub status: String,
    /// Side.
    pub side: Option<OrderSide>,
    /// `STOP_MARKET`, `TAKE_PROFIT_MARKET`, …
    pub order_type: String,
    /// Trigger price.
    pub trigger_price: f64,
    /// Quantity (0 with `closePosition`).
    pub qty: f64,
    /// Closes the whole position when triggered.
    pub close_position: bool,
    /// Reduce-only.
    pub reduce_only: bool,
    /// The order it became once triggered.
    pub actual_order_id: Option<String>,
}

impl AlgoReport {
    /// Read an algo order object.
    pub fn from_json(v: &Value) -> Self {
        let order_type = {
            let t = text(v, "orderType");
            if t.is_empty() { text(v, "type") } else { t }
        };
        let actual = text(v, "actualOrderId");
        AlgoReport {
            symbol: text(v, "symbol"),
            algo_id: int(v, "algoId"),
            client_algo_id: text(v, "clientAlgoId"),
            status: text(v, "algoStatus"),
            side: OrderSide::parse(&text(v, "side")),
            order_type,
            trigger_price: num(v, "triggerPrice"),
            qty: num(v, "quantity"),
            close_position: flag(v, "closePosition"),
            reduce_only: flag(v, "reduceOnly"),
            actual_order_id: (!actual.is_empty()).then_some(actual),
        }
    }

    /// True while it waits for its trigger.
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "NEW" | "TRIGGERING")
    }
}

fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// One execution (`myTrades` / `userTrades`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TradeFill {
    /// Symbol.
    pub symbol: String,
    /// Trade id.
    pub id: i64,
    /// The order it filled.
    pub order_id: i64,
    /// Side of our order.
    pub side: OrderSide,
    /// Price.
    pub price: f64,
    /// Quantity.
    pub qty: f64,
    /// Commission.
    pub commission: f64,
    /// Commission asset.
    pub commission_asset: String,
    /// Realised PnL (futures; 0 on spot).
    pub realized_pnl: f64,
    /// Time, UTC ms.
    pub time_ms: i64,
}

impl TradeFill {
    /// Read a spot or futures trade object.
    pub fn from_json(v: &Value) -> Self {
        let side = OrderSide::parse(&text(v, "side")).unwrap_or_else(|| {
            if v.get("isBuyer").and_then(Value::as_bool).unwrap_or(false) {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            }
        });
        TradeFill {
            symbol: text(v, "symbol"),
            id: int(v, "id"),
            order_id: int(v, "orderId"),
            side,
            price: num(v, "price"),
            qty: num(v, "qty"),
            commission: num(v, "commission"),
            commission_asset: text(v, "commissionAsset"),
            realized_pnl: num(v, "realizedPnl"),
            time_ms: int(v, "time"),
        }
    }
}

/// One USD-M funding payment (`GET /fapi/v1/income`, `incomeType=FUNDING_FEE`):
/// `{symbol, incomeType, income, asset, info, time, tranId, tradeId}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FundingFee {
    /// Transaction id (unique per income type and user).
    pub tran_id: i64,
    /// The funding time, UTC ms.
    pub time_ms: i64,
    /// Funding **paid**, in `asset` (the negated `income`: > 0 paid, < 0 received), so it
    /// adds up like the simulation's `funding_paid`.
    pub paid: f64,
    /// The asset (USDT).
    pub asset: String,
}

impl FundingFee {
    /// Read an income object.
    pub fn from_json(v: &Value) -> Self {
        FundingFee {
            tran_id: int(v, "tranId"),
            time_ms: int(v, "time"),
            paid: -num(v, "income") + 0.0,
            asset: text(v, "asset"),
        }
    }
}

/// A balance: spot `{asset, free, locked}`, futures `{asset, balance, availableBalance}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Balance {
    /// Asset.
    pub asset: String,
    /// Free (spot) or available (futures).
    pub free: f64,
    /// Locked in orders (spot); wallet minus available (futures).
    pub locked: f64,
}

impl Balance {
    /// Read a spot `balances[]` or futures `/fapi/v2/balance` entry.
    pub fn from_json(v: &Value) -> Self {
        if v.get("free").is_some() {
            Balance {
                asset: text(v, "asset"),
                free: num(v, "free"),
                locked: num(v, "locked"),
            }
        } else {
            let wallet = num(v, "balance");
            let avail = num(v, "availableBalance");
            Balance {
                asset: text(v, "asset"),
                free: avail,
                locked: (wallet - avail).max(0.0),
            }
        }
    }

    /// Free + locked.
    pub fn total(&self) -> f64 {
        self.free + self.locked
    }
}

/// A USD-M position (`/fapi/v3/positionRisk`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PositionRisk {
    /// Symbol.
    pub symbol: String,
    /// Signed quantity: > 0 long, < 0 short.
    pub amt: f64,
    /// Average entry price.
    pub entry_price: f64,
    /// Mark price.
    pub mark_price: f64,
    /// Liquidation price (0 when none).
    pub liquidation_price: f64,
    /// Unrealised PnL.
    pub unrealized_pnl: f64,
    /// Isolated margin wallet (0 in cross).
    pub isolated_wallet: f64,
    /// `isolated` or `cross`.
    pub margin_type: String,
}

impl PositionRisk {
    /// Read a positionRisk entry.
    pub fn from_json(v: &Value) -> Self {
        PositionRisk {
            symbol: text(v, "symbol"),
            amt: num(v, "positionAmt"),
            entry_price: num(v, "entryPrice"),
            mark_price: num(v, "markPrice"),
            liquidation_price: num(v, "liquidationPrice"),
            unrealized_pnl: num(v, "unRealizedProfit"),
            isolated_wallet: num(v, "isolatedWallet"),
            margin_type: text(v, "marginType"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_order_average_price_comes_from_the_cumulative_quote() {
        let v = serde_json::json!({"symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "b1_e",
            "transactTime": 1507725176595u64, "origQty": "0.002", "executedQty": "0.002",
            "cummulativeQuoteQty": "100.0", "status": "FILLED", "type": "MARKET", "side": "BUY"});
        let r = OrderReport::from_json(&v);
        assert_eq!(r.avg_price, 50_000.0);
        assert_eq!(r.status, OrderStatus::Filled);
        assert!(!r.status.is_open());
        assert_eq!(r.side, Some(OrderSide::Buy));
        assert_eq!(r.update_ms, 1507725176595);
    }

    #[test]
    fn futures_records_read_their_own_field_names() {
        let b = Balance::from_json(
            &serde_json::json!({"asset": "USDT", "balance": "100", "availableBalance": "60"}),
        );
        assert_eq!((b.free, b.locked, b.total()), (60.0, 40.0, 100.0));
        let p = PositionRisk::from_json(
            &serde_json::json!({"symbol": "BTCUSDT", "positionAmt": "-0.010", "entryPrice": "50000"}),
        );
        assert_eq!(p.amt, -0.01);
        let a = AlgoReport::from_json(
            &serde_json::json!({"algoId": 7, "clientAlgoId": "s1", "algoStatus": "NEW",
            "orderType": "STOP_MARKET", "side": "SELL", "triggerPrice": "48000", "quantity": "0.01", "reduceOnly": true}),
        );
        assert!(a.is_open() && a.reduce_only);
        assert_eq!(a.trigger_price, 48_000.0);
    }
}
