//! The multi-market runner's pure parts (issue 13 item 8): the `bots.toml` format, market
//! hours, restart backoff, per-bot health and the combined portfolio status
//! (`DATA_DIR/portfolio.json`, `algolab status`). Starting and watching the bot processes
//! is `cli::run`'s job; nothing here reads the clock or spawns anything.
//!
//! ```toml
//! [[bot]]
//! name = "crypto-btc"
//! market = "crypto"            # crypto (always open) | stock | commodity
//! symbol = "BTC/USDT"
//! interval = "1h"              # optional
//! strategy = "sma-cross"
//! params = { fast = 3, slow = 8 }
//! mode = "paper"               # paper (the only mode the runner starts today)
//! args = ["--commission", "0.001"]   # optional extra `paper` arguments
//! fetch_from = "2024-01-01"    # optional: refresh the fetch cache before each tick
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunnerError;
use super::bot_dir::{BotDir, read_json, validate_name};
use super::paper::PaperState;

/// Where a bot trades, which decides its trading hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    /// Crypto: always open.
    Crypto,
    /// US stocks: regular session, Monday–Friday 13:30–21:00 UTC (covers 09:30–16:00 New
    /// York in summer and winter time; exchange holidays are not known).
    Stock,
    /// CME commodity futures (gold, oil, silver on Globex): Sunday 22:00 to Friday 22:00
    /// UTC with a daily pause 21:00–22:00 UTC (summer and winter time covered loosely).
    Commodity,
}

impl Market {
    /// Whether the market trades at `ts_ms` (UTC).
    pub fn is_open(self, ts_ms: i64) -> bool {
        const MIN: i64 = 60_000;
        const DAY: i64 = 24 * 60 * MIN;
        let day = ts_ms.div_euclid(DAY);
        // 1970-01-01 was a Thursday: 0 = Monday … 6 = Sunday
        let weekday = (day + 3).rem_euclid(7);
        let minute = ts_ms.rem_euclid(DAY) / MIN;
        match self {
            Market::Crypto => true,
            Market::Stock => weekday < 5 && (13 * 60 + 30..21 * 60).contains(&minute),
            Market::Commodity => match weekday {
                0..=3 => !(21 * 60..22 * 60).contains(&minute),
                4 => minute < 21 * 60,
                5 => false,
                _ => minute >= 22 * 60,
            },
        }
    }

    fn parse(s: &str) -> Option<Market> {
        match s {
            "crypto" => Some(Market::Crypto),
            "stock" => Some(Market::Stock),
            "commodity" => Some(Market::Commodity),
            _ => None,
        }
    }
}

/// One `[[bot]]` entry of `bots.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct BotSpec {
    /// Bot name (its folder under `DATA_DIR/bots/`).
    pub name: String,
    /// Market (trading hours).
    pub market: Market,
    /// Symbol.
    pub symbol: String,
    /// Bar interval (`1h`, `1d`), if given.
    pub interval: Option<String>,
    /// Strategy name.
    pub strategy: String,
    /// Strategy parameters, `key=value`, in key order.
    pub params: Vec<(String, String)>,
    /// `paper`.
    pub mode: String,
    /// Extra command-line arguments for the bot's `paper` process.
    pub args: Vec<String>,
    /// `paper --fetch-from`: refresh the fetch cache (Binance or Yahoo) from this date
    /// before each tick, so the bot trades new bars.
    pub fetch_from: Option<String>,
}

impl BotSpec {
    /// The arguments of the bot's long-running process: `paper --loop …`.
    pub fn command_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            self.mode.clone(),
            "--loop".into(),
            "--bot".into(),
            self.name.clone(),
            "--symbol".into(),
            self.symbol.clone(),
            "--strategy".into(),
            self.strategy.clone(),
            "--market".into(),
            match self.market {
                Market::Crypto => "crypto",
                Market::Stock => "stock",
                Market::Commodity => "commodity",
            }
            .into(),
        ];
        if let Some(iv) = &self.interval {
            a.extend(["--interval".into(), iv.clone()]);
        }
        if let Some(f) = &self.fetch_from {
            a.extend(["--fetch-from".into(), f.clone()]);
        }
        for (k, v) in &self.params {
            a.extend(["--param".into(), format!("{k}={v}")]);
        }
        a.extend(self.args.iter().cloned());
        a
    }
}

fn bad(what: String) -> RunnerError {
    RunnerError::BadName(format!("bots config: {what}"))
}

fn value_text(v: &toml_edit::Value) -> Option<String> {
    match v {
        toml_edit::Value::String(s) => Some(s.value().clone()),
        toml_edit::Value::Integer(i) => Some(i.value().to_string()),
        toml_edit::Value::Float(f) => Some(f.value().to_string()),
        toml_edit::Value::Boolean(b) => Some(b.value().to_string()),
        _ => None,
    }
}

/// Parse `bots.toml`.
///
/// # Errors
/// [`RunnerError::BadName`] (exit 2) naming the entry and key for a syntax error, a
/// missing or unknown key, a bad value or a duplicate bot name.
pub fn parse_config(text: &str) -> Result<Vec<BotSpec>, RunnerError> {
    let doc = toml_edit::Document::parse(text.to_string())
        .map_err(|e| bad(e.to_string().replace('\n', " ")))?;
    let Some(bots) = doc.get("bot").and_then(|b| b.as_array_of_tables()) else {
        return Err(bad("no [[bot]] entries".into()));
    };
    let mut out: Vec<BotSpec> = Vec::new();
    for (i, t) in bots.iter().enumerate() {
        let at = |k: &str| format!("bot #{} key {k:?}", i + 1);
        for (k, _) in t.iter() {
            if ![
                "name",
                "market",
                "symbol",
                "interval",
                "strategy",
                "params",
                "mode",
                "args",
                "fetch_from",
            ]
            .contains(&k)
            {
                return Err(bad(format!("{}: unknown key", at(k))));
            }
        }
        let text = |k: &str| -> Result<Option<String>, RunnerError> {
            match t.get(k) {
                None => Ok(None),
                Some(item) => item
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| bad(format!("{}: must be a string", at(k)))),
            }
        };
        let need = |k: &str| text(k)?.ok_or_else(|| bad(format!("{}: missing", at(k))));
        let name = need("name")?;
        validate_name(&name).map_err(|e| bad(format!("{}: {e}", at("name"))))?;
        if out.iter().any(|b| b.name == name) {
            return Err(bad(format!("{}: duplicate bot name {name:?}", at("name"))));
        }
        let market_s = text("market")?.unwrap_or_else(|| "crypto".into());
        let market = Market::parse(&market_s).ok_or_else(|| {
            bad(format!(
                "{}: {market_s:?} is not crypto, stock or commodity",
                at("market")
            ))
        })?;
        let mode = text("mode")?.unwrap_or_else(|| "paper".into());
        if mode != "paper" {
            return Err(bad(format!(
                "{}: the runner starts paper bots only, not {mode:?}",
                at("mode")
            )));
        }
        let mut params = BTreeMap::new();
        if let Some(p) = t.get("params") {
            let table = p
                .as_inline_table()
                .map(|it| {
                    it.iter()
                        .map(|(k, v)| (k.to_string(), value_text(v)))
                        .collect::<Vec<_>>()
                })
                .or_else(|| {
                    p.as_table().map(|tb| {
                        tb.iter()
                            .map(|(k, v)| (k.to_string(), v.as_value().and_then(value_text)))
                            .collect()
                    })
                })
                .ok_or_else(|| bad(format!("{}: must be a table", at("params"))))?;
            for (k, v) in table {
                let v =
                    v.ok_or_else(|| bad(format!("{}: {k} is not a plain value", at("params"))))?;
                params.insert(k, v);
            }
        }
        let args = match t.get("args") {
            None => Vec::new(),
            Some(a) => a
                .as_array()
                .and_then(|arr| {
                    arr.iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| bad(format!("{}: must be a list of strings", at("args"))))?,
        };
        out.push(BotSpec {
            name,
            market,
            symbol: need("symbol")?,
            interval: text("interval")?,
            strategy: text("strategy")?.unwrap_or_else(|| "sma-cross".into()),
            params: params.into_iter().collect(),
            mode,
            args,
            fetch_from: text("fetch_from")?,
        });
    }
    Ok(out)
}

/// Restart delay after `failures` consecutive crashes: 1 s, 2 s, 4 s, … capped at `max_s`.
pub fn backoff_s(failures: u32, max_s: u64) -> u64 {
    1u64.checked_shl(failures.saturating_sub(1))
        .unwrap_or(u64::MAX)
        .min(max_s.max(1))
}

/// What a bot's process writes after each tick (`health.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Health {
    /// Wall-clock time of the last tick, ISO-8601.
    pub last_tick_at: Option<String>,
    /// Wall-clock time of the last tick, UTC ms.
    pub last_tick_ms: Option<i64>,
    /// `ok`, `idle`, `busy`, `market_closed` or `error`.
    pub last_status: String,
    /// The last error, one line (cleared by the next good tick).
    pub last_error: Option<String>,
    /// Open time of the last bar processed, UTC ms.
    pub last_bar_ts_ms: Option<i64>,
    /// Consecutive failed ticks.
    pub failures: u32,
}

/// One bot in the portfolio status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotStatus {
    /// Bot name.
    pub name: String,
    /// Market.
    pub market: Option<Market>,
    /// Symbol.
    pub symbol: Option<String>,
    /// `paper`, `testnet` or `live`.
    pub mode: Option<String>,
    /// Strategy.
    pub strategy: Option<String>,
    /// Equity.
    pub equity: Option<f64>,
    /// Equity less starting cash.
    pub total_pnl: Option<f64>,
    /// Unrealized P&L of the open position.
    pub unrealized_pnl: Option<f64>,
    /// `flat` or `long 0.5 @ 20000`.
    pub position: String,
    /// Open time of the last bar processed, ISO-8601.
    pub last_bar: Option<String>,
    /// The bot process's health.
    pub health: Health,
    /// How often the runner restarted the bot's process.
    pub restarts: u32,
    /// Whether the bot's process is running (runner only).
    pub running: Option<bool>,
    /// The bot process's pid (runner only).
    pub pid: Option<u32>,
}

/// `portfolio.json`: every bot and the totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    /// When it was written, ISO-8601.
    pub updated_at: String,
    /// Sum of the bots' equity.
    pub total_value: f64,
    /// Sum of the bots' P&L.
    pub total_pnl: f64,
    /// Bots whose last tick failed.
    pub unhealthy: usize,
    /// Every bot.
    pub bots: Vec<BotStatus>,
}

/// The status of bot `name` from its folder (`state.json`, `health.json`).
///
/// # Errors
/// [`RunnerError`] for a bad name or an unreadable state file.
pub fn bot_status(data_dir: &Path, name: &str) -> Result<BotStatus, RunnerError> {
    let dir = BotDir::new(data_dir, name)?;
    let state: Option<PaperState> = read_json(&dir.state_path())?;
    let health: Health = read_json(&dir.health_path())?.unwrap_or_default();
    let s = state.as_ref();
    Ok(BotStatus {
        name: name.to_string(),
        market: None,
        symbol: s.map(|s| s.symbol.clone()),
        mode: s.map(|s| s.mode.clone()),
        strategy: s.map(|s| s.strategy.clone()),
        equity: s.map(|s| s.equity),
        total_pnl: s.map(|s| s.total_pnl),
        unrealized_pnl: s.map(|s| s.position.as_ref().map_or(0.0, |p| p.unrealized_pnl)),
        position: s.and_then(|s| s.position.as_ref()).map_or_else(
            || "flat".into(),
            |p| {
                format!(
                    "{} {} @ {:.2}",
                    serde_json::to_value(p.side)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    p.qty,
                    p.entry_price
                )
            },
        ),
        last_bar: s.map(|s| s.last_bar_time.clone()),
        health,
        restarts: 0,
        running: None,
        pid: None,
    })
}

/// Every bot folder under `data_dir/bots/`, sorted by name.
pub fn bot_names(data_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir.join("bots"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| validate_name(n).is_ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The portfolio from the bot folders under `data_dir`, with the runner's view (market,
/// restarts, running, pid) taken from `portfolio.json` where it names the bot.
///
/// # Errors
/// [`RunnerError`] when a state file cannot be read.
pub fn current_portfolio(data_dir: &Path, updated_at: &str) -> Result<Portfolio, RunnerError> {
    let runner: Option<Portfolio> = read_json(&data_dir.join("portfolio.json"))?;
    let mut bots = Vec::new();
    for name in bot_names(data_dir) {
        let mut b = bot_status(data_dir, &name)?;
        if let Some(r) = runner
            .as_ref()
            .and_then(|p| p.bots.iter().find(|x| x.name == name))
        {
            b.market = r.market;
            b.restarts = r.restarts;
            b.running = r.running;
            b.pid = r.pid;
        }
        bots.push(b);
    }
    Ok(portfolio(bots, updated_at))
}

/// Combine bot statuses into the portfolio.
pub fn portfolio(bots: Vec<BotStatus>, updated_at: &str) -> Portfolio {
    Portfolio {
        updated_at: updated_at.to_string(),
        total_value: bots.iter().filter_map(|b| b.equity).sum::<f64>() + 0.0,
        total_pnl: bots.iter().filter_map(|b| b.total_pnl).sum::<f64>() + 0.0,
        unhealthy: bots
            .iter()
            .filter(|b| b.health.last_status == "error")
            .count(),
        bots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    // 2024-01-01 was a Monday
    const MON: i64 = 1_704_067_200_000;

    #[test]
    fn market_hours() {
        assert!(Market::Crypto.is_open(MON + 5 * 24 * H));
        assert!(!Market::Stock.is_open(MON + 13 * H), "before the open");
        assert!(Market::Stock.is_open(MON + 14 * H));
        assert!(!Market::Stock.is_open(MON + 21 * H));
        assert!(
            !Market::Stock.is_open(MON + 5 * 24 * H + 15 * H),
            "saturday"
        );
        assert!(Market::Commodity.is_open(MON + 3 * H));
        assert!(
            !Market::Commodity.is_open(MON + 21 * H + 30 * 60_000),
            "daily pause"
        );
        assert!(
            !Market::Commodity.is_open(MON + 5 * 24 * H + 12 * H),
            "saturday"
        );
        assert!(
            !Market::Commodity.is_open(MON + 6 * 24 * H + 12 * H),
            "sunday noon"
        );
        assert!(
            Market::Commodity.is_open(MON + 6 * 24 * H + 23 * H),
            "sunday night"
        );
        assert!(
            !Market::Commodity.is_open(MON + 4 * 24 * H + 21 * H),
            "friday close"
        );
    }

    #[test]
    fn config_parses_and_builds_paper_loop_commands() {
        let cfg = r#"
            [[bot]]
            name = "crypto-btc"
            symbol = "BTC/USDT"
            params = { fast = 3, slow = 8, long_only = true }
            args = ["--commission", "0.001"]

            [[bot]]
            name = "gold"
            market = "commodity"
            symbol = "GC=F"
            interval = "1d"
            strategy = "technical"
            fetch_from = "2024-01-01"
        "#;
        let bots = parse_config(cfg).unwrap();
        assert_eq!(bots.len(), 2);
        assert_eq!(bots[0].market, Market::Crypto);
        assert_eq!(
            bots[0].command_args().join(" "),
            "paper --loop --bot crypto-btc --symbol BTC/USDT --strategy sma-cross --market crypto \
             --param fast=3 --param long_only=true --param slow=8 --commission 0.001"
        );
        assert_eq!(bots[1].market, Market::Commodity);
        assert!(bots[1].command_args().contains(&"1d".to_string()));
        assert!(
            bots[1]
                .command_args()
                .join(" ")
                .contains("--fetch-from 2024-01-01")
        );
    }

    #[test]
    fn config_errors_name_the_entry_and_key() {
        for (cfg, want) in [
            ("[[bot]]\nsymbol = \"X\"", "bot #1 key \"name\": missing"),
            (
                "[[bot]]\nname = \"a\"\nsymbol = \"X\"\nfoo = 1",
                "unknown key",
            ),
            (
                "[[bot]]\nname = \"a\"\nsymbol = \"X\"\nmarket = \"fx\"",
                "not crypto",
            ),
            (
                "[[bot]]\nname = \"a\"\nsymbol = \"X\"\nmode = \"live\"",
                "paper bots only",
            ),
            (
                "[[bot]]\nname = \"a\"\nsymbol = \"X\"\n[[bot]]\nname = \"a\"\nsymbol = \"Y\"",
                "duplicate",
            ),
            ("name = ", "bots config"),
            ("", "no [[bot]]"),
        ] {
            let e = parse_config(cfg).unwrap_err().to_string();
            assert!(e.contains(want), "{cfg:?}: {e}");
            assert_eq!(RunnerError::BadName(e).exit_code(), 2);
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let v: Vec<u64> = (1..=8).map(|n| backoff_s(n, 60)).collect();
        assert_eq!(v, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff_s(200, 60), 60);
    }

    #[test]
    fn the_portfolio_sums_bots_and_counts_the_unhealthy() {
        let mk = |name: &str, eq: Option<f64>, status: &str| BotStatus {
            name: name.into(),
            market: None,
            symbol: None,
            mode: None,
            strategy: None,
            equity: eq,
            total_pnl: eq.map(|e| e - 100.0),
            unrealized_pnl: None,
            position: "flat".into(),
            last_bar: None,
            health: Health {
                last_status: status.into(),
                ..Health::default()
            },
            restarts: 0,
            running: None,
            pid: None,
        };
        let p = portfolio(
            vec![
                mk("a", Some(110.0), "ok"),
                mk("b", Some(95.0), "error"),
                mk("c", None, ""),
            ],
            "t",
        );
        assert_eq!(p.total_value, 205.0);
        assert_eq!(p.total_pnl, 5.0);
        assert_eq!(p.unhealthy, 1);
    }
}
