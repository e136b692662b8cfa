//! `paper`: one tick of a paper bot — build the strategy as `backtest` does, load the bars
//! (`--data FILE` or `--symbol`), run [`crate::runner::paper_tick`], then tell Telegram
//! what happened (a failing Telegram is reported in the reply, never an error).

use super::Ctx;
use super::backtest::{BacktestRequest, DataSpec, load_data, strategy_for};
use crate::Error;
use crate::notify::{Event as Note, TelegramClient, TelegramConfig};
use crate::runner::{BotDir, PaperSetup, TickOutcome, default_name, paper_tick};
use crate::strategy::Params;

/// What `algolab paper` asks for.
#[derive(Debug, Clone)]
pub struct PaperRequest {
    /// Data, strategy and engine settings, as for `backtest` (`cfg.from_ts_ms` is the first
    /// tick's first acting bar; `record` and `report` are ignored).
    pub backtest: BacktestRequest,
    /// `--bot NAME` (default from symbol and strategy).
    pub bot: Option<String>,
    /// The current time, UTC ms, for "closed bars" (`None` for `--data`: every bar is).
    pub now_ms: Option<i64>,
    /// Telegram, when configured.
    pub telegram: Option<TelegramConfig>,
}

/// What one tick did.
#[derive(Debug, Clone)]
pub struct PaperReply {
    /// The bot's name.
    pub bot: String,
    /// The bot's folder.
    pub dir: std::path::PathBuf,
    /// Where the bars came from (one line).
    pub data_note: String,
    /// The tick's outcome.
    pub outcome: TickOutcome,
    /// Notifications sent.
    pub notified: usize,
    /// Notifications that could not be sent, one line each (never holds the token).
    pub notify_errors: Vec<String>,
    /// Other problems that did not fail the tick (the learning DB could not be written).
    pub warnings: Vec<String>,
}

/// Record the bot of a finished tick in the learning DB; a failure is returned as a
/// warning line (the tick itself succeeded).
pub fn record(ctx: &Ctx, reply: &mut PaperReply) {
    let TickOutcome::Done(report) = &reply.outcome else {
        return;
    };
    let Some(state) = &report.state else {
        return;
    };
    let args = serde_json::to_string(&ctx.argv).unwrap_or_else(|_| "[]".into());
    if let Err(e) =
        crate::runner::record_bot(&ctx.db_path, &reply.dir, state, &args, &(ctx.now_iso)())
    {
        reply.warnings.push(format!("learning DB: {e}"));
    }
}

/// The bot name a request gives or implies.
///
/// # Errors
/// [`Error::Runner`] for a bad `--bot` name.
pub fn bot_name(req: &PaperRequest) -> Result<String, Error> {
    let name = match &req.bot {
        Some(b) => b.clone(),
        None => {
            let label = match &req.backtest.data {
                DataSpec::File(p) => p
                    .file_stem()
                    .map_or_else(|| "data".into(), |s| s.to_string_lossy().into_owned()),
                DataSpec::Symbol(s) | DataSpec::SymbolAt(s, _) => s.clone(),
            };
            default_name(&label, &req.backtest.strategy)
        }
    };
    crate::runner::validate_name(&name)?;
    Ok(name)
}

/// `algolab paper`: one tick.
///
/// # Errors
/// Bad usage, parameters or data (exit 2); a changed setting since the bot's first tick
/// (exit 2); state, engine or I/O failures (exit 1).
pub fn tick(ctx: &Ctx, req: PaperRequest) -> Result<PaperReply, Error> {
    if req.backtest.cfg.to_ts_ms.is_some() {
        return Err(Error::Usage(
            "paper takes no --to: a bot trades every new closed bar".into(),
        ));
    }
    let name = bot_name(&req)?;
    let bot = BotDir::new(&ctx.data_dir, &name)?;
    let is_ai = super::ai_bot::is_ai(&req.backtest);
    let (strategy, params, mut strat) = if is_ai {
        // built below, once the bars are loaded (its models are found by symbol)
        ("ai".to_string(), Params::default(), None)
    } else {
        let (n, p, s) = strategy_for(ctx, &req.backtest)?;
        (n, p, Some(s))
    };
    req.backtest.cfg.validate()?;
    let data = load_data(&req.backtest.data, &ctx.data_dir)?;
    let (params, mut ai) = if is_ai {
        let (p, a) = super::ai_bot::build(ctx, &req.backtest, &data, &bot)?;
        (p, Some(a))
    } else {
        (params, None)
    };
    let cfg = req.backtest.cfg;
    let params_json = serde_json::to_value(&params).unwrap_or(serde_json::Value::Null);
    let mut settings = serde_json::json!({
        "data": format!("{:?}", req.backtest.data),
        "strategy_file": req.backtest.strategy_file.as_ref().map(|p| p.display().to_string()),
        "params": params_json,
        "cash": cfg.cash,
        "commission": cfg.commission,
        "slippage": cfg.slippage,
        "fill": format!("{:?}", cfg.fill),
        "fractional": cfg.fractional,
        "leverage": cfg.leverage,
        "risk": format!("{:?}", cfg.risk),
    });
    if is_ai && let Some(m) = settings.as_object_mut() {
        m.insert("ai".into(), super::ai_bot::settings(&req.backtest));
    }
    let setup = PaperSetup {
        bot: bot.clone(),
        mode: "paper".into(),
        symbol: data.label.clone(),
        strategy,
        params: params_json,
        settings,
        cfg: crate::engine::BacktestConfig {
            from_ts_ms: None,
            to_ts_ms: None,
            ..cfg
        },
        from_ms: cfg.from_ts_ms,
        now_ms: match req.backtest.data {
            DataSpec::File(_) => None,
            _ => req.now_ms,
        },
        interval_ms: None,
        tick_at: (ctx.now_iso)(),
    };
    let outcome = match (&mut ai, &mut strat) {
        (Some(a), _) => paper_tick(&setup, &data.bars, &mut a.strategy)?,
        (None, Some(s)) => paper_tick(&setup, &data.bars, &mut **s)?,
        (None, None) => return Err(Error::Usage("no strategy built".into())),
    };
    let mut reply = PaperReply {
        bot: name,
        dir: bot.root().to_path_buf(),
        data_note: data.note,
        outcome,
        notified: 0,
        notify_errors: Vec::new(),
        warnings: Vec::new(),
    };
    record(ctx, &mut reply);
    if let Some(a) = &mut ai {
        let w = super::ai_bot::after_tick(ctx, a, &reply.outcome, &reply.dir);
        reply.warnings.extend(w);
    }
    if let (Some(tg), TickOutcome::Done(report)) = (&req.telegram, &reply.outcome) {
        let notes: Vec<Note> = report.notes.clone();
        let (sent, errors) = send_notes(tg, &notes);
        reply.notified = sent;
        reply.notify_errors = errors;
    }
    Ok(reply)
}

/// Send `notes` through Telegram; returns how many went out and one line per failure.
/// Stops at the first failure (a dead or rate-limited Telegram is not hammered).
pub fn send_notes(cfg: &TelegramConfig, notes: &[Note]) -> (usize, Vec<String>) {
    if notes.is_empty() {
        return (0, Vec::new());
    }
    let client = match TelegramClient::new(cfg.clone()) {
        Ok(c) => c,
        Err(e) => return (0, vec![e.to_string()]),
    };
    let mut sent = 0;
    for n in notes {
        match client.send_text_blocking(&crate::notify::render(n, cfg.format)) {
            Ok(_) => sent += 1,
            Err(e) => return (sent, vec![e.to_string()]),
        }
    }
    (sent, Vec::new())
}
