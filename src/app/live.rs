//! `live`: one tick of a testnet or live bot on Binance — build the strategy as `backtest`
//! does, connect [`crate::venues::binance::BinanceBroker`], load the exchange's klines and
//! run [`crate::runner::live_tick`], then tell Telegram what happened (a failing Telegram
//! is reported in the reply, never an error).

use std::sync::Arc;

use super::Ctx;
use super::backtest::{BacktestRequest, DataSpec, strategy_for};
use super::paper::{PaperReply, send_notes};
use crate::Error;
use crate::data::{Bars, Columns};
use crate::notify::TelegramConfig;
use crate::runner::{BotDir, LiveSetup, PaperSetup, RunnerError, TickOutcome, live_tick};
use crate::venues::VenueError;
use crate::venues::binance::{
    BaseUrls, BrokerConfig, Credentials, Market, Network, Request, WeightBudget, interval_ms,
};

/// What `algolab live` asks for.
#[derive(Debug, Clone)]
pub struct LiveRequest {
    /// Symbol, interval, strategy and engine settings, as for `backtest` (`--data` is
    /// refused: a live bot trades the exchange's bars).
    pub backtest: BacktestRequest,
    /// `--bot NAME` (default from symbol and strategy).
    pub bot: Option<String>,
    /// Testnet (default) or the real exchange.
    pub network: Network,
    /// Spot or USD-M futures (`--futures`).
    pub market: Market,
    /// Base URLs (testnet or live defaults, or the `ALGOLAB_BINANCE_*` overrides).
    pub urls: BaseUrls,
    /// API key and secret.
    pub credentials: Credentials,
    /// Bars before the first acting bar that warm the strategy up.
    pub warmup_bars: usize,
    /// The weight budget of the API (shared by the bots of this machine).
    pub budget: Arc<WeightBudget>,
    /// Telegram, when configured.
    pub telegram: Option<TelegramConfig>,
}

/// The symbol and interval of a request.
fn symbol_interval(req: &LiveRequest) -> Result<(String, String), Error> {
    match &req.backtest.data {
        DataSpec::File(_) => Err(Error::Usage(
            "live trades the exchange's bars: give --symbol (and --interval), not --data".into(),
        )),
        DataSpec::Symbol(s) => Ok((s.clone(), "1h".into())),
        DataSpec::SymbolAt(s, iv) => Ok((s.clone(), iv.clone())),
    }
}

/// The bot name a request gives or implies.
///
/// # Errors
/// [`Error::Runner`] for a bad `--bot` name.
pub fn bot_name(req: &LiveRequest) -> Result<String, Error> {
    let name = match &req.bot {
        Some(b) => b.clone(),
        None => {
            let (s, _) = symbol_interval(req)?;
            crate::runner::default_name(&s, &req.backtest.strategy)
        }
    };
    crate::runner::validate_name(&name)?;
    Ok(name)
}

fn network_word(n: Network) -> &'static str {
    match n {
        Network::Testnet => "testnet",
        Network::Live => "live",
    }
}

/// `algolab live`: one tick.
///
/// # Errors
/// Bad usage, parameters or a changed setting (exit 2); refused credentials (exit 2);
/// an unreachable exchange, state or I/O failures (exit 1).
pub fn tick(ctx: &Ctx, req: LiveRequest) -> Result<PaperReply, Error> {
    let cfg = req.backtest.cfg;
    if cfg.to_ts_ms.is_some() {
        return Err(Error::Usage(
            "live takes no --to: a bot trades every new closed bar".into(),
        ));
    }
    let (symbol, interval) = symbol_interval(&req)?;
    let iv_ms = interval_ms(&interval)?;
    let leverage = match req.market {
        Market::Spot if cfg.leverage != 1.0 => {
            return Err(Error::Usage(
                "spot trades without leverage: add --futures to use --leverage".into(),
            ));
        }
        Market::Spot => 1,
        Market::UsdM if cfg.leverage < 1.0 || cfg.leverage.fract() != 0.0 => {
            return Err(Error::Usage(format!(
                "--leverage {} must be a whole number of at least 1 on futures",
                cfg.leverage
            )));
        }
        Market::UsdM => cfg.leverage as u32,
    };
    let name = bot_name(&req)?;
    let bot = BotDir::new(&ctx.data_dir, &name)?;
    let mut ai = None;
    let (strategy, params, mut strat) = if super::ai_bot::is_ai(&req.backtest) {
        let hash = format!("binance {symbol} {interval}");
        let (p, a) =
            super::ai_bot::build_for(ctx, &req.backtest, (&symbol, Some(iv_ms)), hash, &bot)?;
        ai = Some(a);
        ("ai".to_string(), p, None)
    } else {
        let (n, p, s) = strategy_for(ctx, &req.backtest)?;
        (n, p, Some(s))
    };
    cfg.validate()?;
    let mode = network_word(req.network);
    let base_url = match req.market {
        Market::Spot => req.urls.spot.clone(),
        Market::UsdM => req.urls.futures.clone(),
    };
    let params_json = serde_json::to_value(&params).unwrap_or(serde_json::Value::Null);
    let settings = serde_json::json!({
        "mode": mode,
        "market": format!("{:?}", req.market).to_lowercase(),
        "interval": interval,
        "strategy_file": req.backtest.strategy_file.as_ref().map(|p| p.display().to_string()),
        "params": params_json,
        "leverage": cfg.leverage,
        "fractional": cfg.fractional,
        "risk": format!("{:?}", cfg.risk),
    });
    let settings = match (&ai, settings) {
        (Some(_), serde_json::Value::Object(mut m)) => {
            m.insert("ai".into(), super::ai_bot::settings(&req.backtest));
            serde_json::Value::Object(m)
        }
        (_, s) => s,
    };
    let setup = LiveSetup {
        paper: PaperSetup {
            bot: bot.clone(),
            mode: mode.into(),
            symbol: symbol.clone(),
            strategy,
            params: params_json,
            settings,
            cfg: crate::engine::BacktestConfig {
                from_ts_ms: None,
                to_ts_ms: None,
                ..cfg
            },
            from_ms: cfg.from_ts_ms,
            now_ms: None,
            interval_ms: Some(iv_ms),
            tick_at: (ctx.now_iso)(),
        },
        broker: BrokerConfig {
            market: req.market,
            symbol: symbol.clone(),
            base_url: base_url.clone(),
            credentials: req.credentials.clone(),
            leverage,
            http: ctx.http.clone(),
            budget: Arc::clone(&req.budget),
        },
        interval_ms: iv_ms,
        warmup_bars: req.warmup_bars,
    };
    let http = Arc::new(crate::net::HttpClient::new(ctx.http.clone()).map_err(VenueError::from)?);
    let market = req.market;
    // klines go through the trading client's budget (the machine-wide one)
    let budget = Arc::clone(&req.budget);
    let mut load = |from_ms: i64, now_ms: i64| -> Result<Bars, RunnerError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| VenueError::BadArgs(format!("cannot start the async runtime: {e}")))?;
        let r = Request {
            symbol: &symbol,
            market,
            interval: &interval,
            start_ms: from_ms,
            end_ms: Some(now_ms),
        };
        let fetched = rt.block_on(crate::venues::binance::fetch(
            &http,
            &base_url,
            &r,
            &budget,
            &mut |_| {},
        ))?;
        let mut cols: Columns = fetched.cols;
        // keep the funding rates for `reconcile`'s backtest of bars.csv (the exchange
        // charges the bot's funding itself: the Binance broker ignores the column)
        cols.extra.retain(|k, _| k == "funding_rate");
        Bars::new(cols).map_err(|e| RunnerError::BadState {
            path: format!("{base_url} klines"),
            cause: e.to_string(),
        })
    };
    let outcome = match (&mut ai, &mut strat) {
        (Some(a), _) => live_tick(&setup, &mut load, &mut a.strategy)?,
        (None, Some(s)) => live_tick(&setup, &mut load, &mut **s)?,
        (None, None) => return Err(Error::Usage("no strategy built".into())),
    };
    let mut reply = PaperReply {
        bot: name,
        dir: bot.root().to_path_buf(),
        data_note: format!(
            "bars: binance {mode} {} {} {interval}",
            match req.market {
                Market::Spot => "spot",
                Market::UsdM => "usd-m",
            },
            crate::venues::binance::pair_symbol(&setup.broker.symbol)
        ),
        outcome,
        notified: 0,
        notify_errors: Vec::new(),
        warnings: Vec::new(),
    };
    super::paper::record(ctx, &mut reply);
    if let Some(a) = &mut ai {
        let w = super::ai_bot::after_tick(ctx, a, &reply.outcome, &reply.dir);
        reply.warnings.extend(w);
    }
    if let (Some(tg), TickOutcome::Done(report)) = (&req.telegram, &reply.outcome) {
        let (sent, errors) = send_notes(tg, &report.notes);
        reply.notified = sent;
        reply.notify_errors = errors;
    }
    Ok(reply)
}
