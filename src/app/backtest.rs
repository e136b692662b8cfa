//! `backtest`: load bars, build a strategy by name, run the engine, compute the stats,
//! record the run in the learning DB and write the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Ctx;
use crate::Error;
use crate::data::{self, Bars, SymbolSource};
use crate::engine::{BacktestConfig, BacktestResult, run_backtest};
use crate::metrics::{Stats, StatsInput, compute};
use crate::regime::RegimeTransition;
use crate::report::{ReportInput, write_report};
use crate::risk::RiskConfig;
use crate::store::{RunRecord, Store, StrategyPerformance};
use crate::strategy::{self, Params};

/// Where the bars come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSpec {
    /// A bar file (CSV of any supported flavour, or Parquet).
    File(PathBuf),
    /// A symbol: the fetch cache first, then the bundled datasets.
    Symbol(String),
    /// A symbol at a bar interval (`4h`, `1d`, …): the cache file of that interval, or a
    /// bundled dataset of that interval.
    SymbolAt(String, String),
}

/// Bars and where they came from.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// The bars.
    pub bars: Bars,
    /// The file read.
    pub path: PathBuf,
    /// The symbol, or the file's stem for `--data`.
    pub label: String,
    /// A one-line note for stderr (`using the bundled dataset …`).
    pub note: String,
}

/// Load bars for a [`DataSpec`].
///
/// # Errors
/// [`Error::Data`] for an unknown symbol or a bad file.
pub fn load_data(spec: &DataSpec, data_dir: &Path) -> Result<LoadedData, Error> {
    let (symbol, interval) = match spec {
        DataSpec::File(p) => return load_file(p, stem(p), "file"),
        DataSpec::Symbol(s) => (s, None),
        DataSpec::SymbolAt(s, iv) => (s, Some(iv.as_str())),
    };
    let r = data::resolve_symbol_interval(symbol, interval, data_dir)?;
    let origin = match r.source {
        SymbolSource::Cache => "fetched cache",
        SymbolSource::Bundled => "bundled dataset",
    };
    load_file(&r.path, symbol.clone(), origin)
}

fn load_file(path: &Path, label: String, origin: &str) -> Result<LoadedData, Error> {
    let bars = data::load(path)?;
    let note = format!(
        "using {origin} {} ({} bars, {} → {})",
        path.display(),
        bars.len(),
        bars.ts_ms()
            .first()
            .map_or_else(String::new, |&t| data::fmt_ts(t)),
        bars.ts_ms()
            .last()
            .map_or_else(String::new, |&t| data::fmt_ts(t)),
    );
    Ok(LoadedData {
        bars,
        path: path.to_path_buf(),
        label,
        note,
    })
}

fn stem(p: &Path) -> String {
    p.file_stem().map_or_else(
        || p.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Which risk rules a backtest applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RiskChoice {
    /// `standard` for strategies that size by confidence (`technical`), else `passthrough`.
    #[default]
    Auto,
    /// backtesting.py's semantics: all-cash sizing, no managed stops or caps.
    Passthrough,
    /// The seed's rules: confidence-scaled sizing, Kelly, 25 % cap, trailing and
    /// break-even stops, partial take-profit, daily loss limit.
    Standard,
}

impl RiskChoice {
    /// The risk configuration for `strategy`.
    pub fn config(self, strategy: &str) -> RiskConfig {
        match (self, strategy) {
            (RiskChoice::Standard, _) | (RiskChoice::Auto, "technical" | "ai" | "portfolio") => {
                RiskConfig::standard()
            }
            _ => RiskConfig::passthrough(),
        }
    }
}

/// What `algolab backtest` asks for: everything parsed, nothing read yet.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    /// The bars.
    pub data: DataSpec,
    /// Strategy name (`sma-cross`, `technical`, `evolved`, …).
    pub strategy: String,
    /// `--param key=value` pairs, unresolved.
    pub params: Vec<(String, String)>,
    /// A genome file to run as the `evolved` strategy.
    pub strategy_file: Option<PathBuf>,
    /// `technical` switching to the per-regime parameters stored for this symbol.
    pub regime_params: Option<String>,
    /// The objective those per-regime parameters were optimised for.
    pub regime_objective: String,
    /// Engine settings (date range included).
    pub cfg: BacktestConfig,
    /// Write the report into this folder.
    pub report: Option<PathBuf>,
    /// Record the run in the learning DB.
    pub record: bool,
    /// The `ai` strategy's options.
    pub ai: AiOptions,
    /// `--strategy portfolio`: the strategies sharing the account (`technical`, `evolved:3`, …).
    pub strategies: Vec<String>,
}

/// What `algolab backtest` produced.
#[derive(Debug, Clone)]
pub struct BacktestReply {
    /// The bars that were traded and where they came from.
    pub data: LoadedData,
    /// The finished backtest.
    pub outcome: BacktestOutcome,
    /// The run id in the learning DB, when recorded.
    pub run_id: Option<i64>,
    /// The report's HTML file, when written.
    pub report: Option<PathBuf>,
    /// The `ai` strategy's summary (components, LLM mode, warnings).
    pub ai: Option<AiSummary>,
}

/// `algolab backtest`: resolve the strategy, load the bars, run, record, write the report.
///
/// # Errors
/// [`Error::Param`]/[`Error::Usage`]/[`Error::Data`] for bad input (exit 2), engine, DB
/// or report failures otherwise.
pub fn run(ctx: &Ctx, req: BacktestRequest) -> Result<BacktestReply, Error> {
    let (name, params, mut strat) = strategy_for(ctx, &req)?;
    let name = name.as_str();
    let cfg = dqn_cfg(ctx, &req)?;
    cfg.validate()?;
    let data = load_data(&req.data, &ctx.data_dir)?;
    let record = ctx.run_record("backtest", None);
    let out = run_strategy(&data.bars, &mut *strat, name, &params, &cfg)?;
    let run_id = if req.record {
        let mut store = ctx.store()?;
        Some(self::record(
            &mut store,
            record,
            &data,
            &out,
            &(ctx.now_iso)(),
        )?)
    } else {
        None
    };
    if let Some(dir) = &req.report {
        write(dir, &data, &out)?;
    }
    Ok(BacktestReply {
        report: req.report.as_ref().map(|d| d.join("report.html")),
        data,
        outcome: out,
        run_id,
        ai: None,
    })
}

/// Where the LLM's answers come from in a backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LlmMode {
    /// Answers recorded earlier in the learning DB (the look-ahead guard; the default).
    #[default]
    Replay,
    /// Call Ollama for real (an LLM trained on later data can know the future).
    Live,
    /// No LLM component.
    Off,
}

impl LlmMode {
    /// `replay`, `live` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            LlmMode::Replay => "replay",
            LlmMode::Live => "live",
            LlmMode::Off => "off",
        }
    }
}

/// The `ai` strategy's options in a backtest.
#[derive(Debug, Clone, Default)]
pub struct AiOptions {
    /// `--weights technical=0.3,…`.
    pub weights: Option<String>,
    /// `--weights-file FILE` (JSON or flat TOML).
    pub weights_file: Option<PathBuf>,
    /// `--llm replay|live|off`.
    pub llm: LlmMode,
    /// The LLM settings (from the environment).
    pub llm_config: crate::ai::llm::LlmConfig,
    /// `--learn`: start from the saved online learner and keep what this run learns.
    pub learn: bool,
}

/// What the run's AI side reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AiSummary {
    /// Components wired in.
    pub components: Vec<String>,
    /// The evolved genome used, if any.
    pub evolved_id: Option<i64>,
    /// The DQN model used, if any.
    pub dqn_id: Option<i64>,
    /// `replay`, `live` or `off`.
    pub llm_mode: String,
    /// LLM questions asked and answered.
    pub llm_asked: u64,
    /// Answers received.
    pub llm_answered: u64,
    /// Whether learning carried over (`--learn`).
    pub learn: bool,
    /// Decisions kept.
    pub decisions: usize,
    /// Warnings (one per failing component).
    pub warnings: Vec<String>,
}

/// A strategy ready to drive.
pub type BoxedStrategy = Box<dyn strategy::Strategy + Send>;

/// The strategy a request names, built: its name (`evolved` for a genome file), resolved
/// parameters and the strategy itself (also used by `paper`).
///
/// # Errors
/// [`Error::Param`]/[`Error::Usage`] for an unknown strategy or bad parameters;
/// [`Error::Store`] when a stored genome or per-regime parameters cannot be read.
pub fn strategy_for(
    ctx: &Ctx,
    req: &BacktestRequest,
) -> Result<(String, Params, BoxedStrategy), Error> {
    let evolved = req.strategy == "evolved" || req.strategy_file.is_some();
    if evolved {
        let (params, strat) = evolved_strategy(ctx, req)?;
        return Ok(("evolved".into(), params, strat));
    }
    let name = req.strategy.as_str();
    if matches!(name, "dqn" | "leverage-dqn") {
        let (params, strat) = dqn_strategy(ctx, name, &req.params)?;
        return Ok((name.to_string(), params, Box::new(strat)));
    }
    let params = resolve_params(name, &req.params)?;
    let strat = match &req.regime_params {
        Some(symbol) => regime_switching(ctx, name, &params, symbol, &req.regime_objective)?,
        None => strategy::build(name, &params)?,
    };
    Ok((name.to_string(), params, strat))
}

/// The `evolved` strategy of a genome file or `--param id=N` (a stored genome).
fn evolved_strategy(ctx: &Ctx, req: &BacktestRequest) -> Result<(Params, BoxedStrategy), Error> {
    use crate::app::evolve as ev;
    let kv = &req.params;
    let params = Params::resolve(strategy::param_specs("evolved")?, kv)?;
    let id = params.0.get("id").map_or(0, |v| v.as_i64());
    let strat = match (&req.strategy_file, kv.iter().any(|(k, _)| k == "id")) {
        (Some(file), _) => ev::evolved_strategy(ev::genome_file(file)?, None)?,
        (None, true) => {
            let store = ctx.store()?;
            ev::evolved_strategy(ev::stored_genome(&store, id)?, Some(id))?
        }
        (None, false) => {
            return Err(Error::Usage(
                "--strategy evolved needs --param id=N (see `algolab evolve --list`) or --strategy-file FILE.json"
                    .into(),
            ));
        }
    };
    Ok((params, strat))
}

/// A stored DQN model (`--strategy dqn|leverage-dqn --param id=N`).
fn dqn_strategy(
    ctx: &Ctx,
    name: &str,
    kv: &[(String, String)],
) -> Result<(Params, crate::strategy::dqn::DqnStrategy), Error> {
    let params = Params::resolve(strategy::param_specs(name)?, kv)?;
    if !kv.iter().any(|(k, _)| k == "id") {
        return Err(Error::Usage(format!(
            "--strategy {name} needs --param id=N (see `algolab train-rl --list` / `train-leverage --list`)"
        )));
    }
    let id = params.0.get("id").map_or(0, |v| v.as_i64());
    if !ctx.db_path.is_file() {
        return Err(Error::Usage(format!(
            "no model with id {id}: no learning DB at {}",
            ctx.db_path.display()
        )));
    }
    let s = crate::app::train_rl::model_strategy(&ctx.store()?, name, id)?;
    Ok((params, s))
}

/// The engine settings for the request: a DQN model trades at the leverage it was trained
/// with (`--leverage` left at 1 takes it; another value is refused).
///
/// # Errors
/// [`Error::Usage`] for a conflicting `--leverage`, and as [`dqn_strategy`].
pub fn dqn_cfg(ctx: &Ctx, req: &BacktestRequest) -> Result<BacktestConfig, Error> {
    let mut cfg = req.cfg;
    let name = req.strategy.as_str();
    if req.strategy_file.is_some() || !matches!(name, "dqn" | "leverage-dqn") {
        return Ok(cfg);
    }
    let (_, s) = dqn_strategy(ctx, name, &req.params)?;
    let lev = s.spec().leverage;
    if cfg.leverage == 1.0 {
        cfg.leverage = lev;
    } else if cfg.leverage != lev {
        return Err(Error::Usage(format!(
            "this model trades at leverage {lev}; drop --leverage or pass --leverage {lev}"
        )));
    }
    Ok(cfg)
}

/// `technical` switching to the per-regime parameters stored for `symbol`.
fn regime_switching(
    ctx: &Ctx,
    name: &str,
    params: &Params,
    symbol: &str,
    objective: &str,
) -> Result<BoxedStrategy, Error> {
    if name != "technical" {
        return Err(Error::Usage(format!(
            "--regime-params needs --strategy technical, not {name}"
        )));
    }
    let store = ctx.store()?;
    let per_regime = crate::app::optimize::record::regime_params(&store, symbol, name, objective)?;
    if per_regime.is_empty() {
        return Err(Error::Usage(format!(
            "no per-regime {objective} parameters stored for {symbol} (run `algolab optimize --symbol {symbol} --strategy technical --per-regime …` first)"
        )));
    }
    let strat =
        crate::strategy::technical::Technical::new(params)?.with_regime_params(per_regime)?;
    Ok(Box::new(strat))
}

/// A finished backtest.
#[derive(Debug, Clone)]
pub struct BacktestOutcome {
    /// Strategy name.
    pub strategy: String,
    /// Resolved parameters (defaults filled in).
    pub params: Params,
    /// Statistics (the stats JSON).
    pub stats: Stats,
    /// The engine's result: equity, trades, events.
    pub result: BacktestResult,
    /// Regime transitions the strategy saw.
    pub regime_transitions: Vec<RegimeTransition>,
}

/// Resolve `--param k=v` pairs against strategy `name`'s parameter space.
///
/// The strategy is built once to check the combination (`fast < slow`, …) before any
/// data is read.
///
/// # Errors
/// [`Error::Param`] for an unknown strategy, key, out-of-range value or a combination the
/// strategy refuses.
pub fn resolve_params(name: &str, kv: &[(String, String)]) -> Result<Params, Error> {
    let params = Params::resolve(strategy::param_specs(name)?, kv)?;
    strategy::build(name, &params)?;
    Ok(params)
}

/// Run strategy `name` with `params` over `bars`.
///
/// # Errors
/// [`Error::Param`] when the strategy rejects its parameters, [`Error::Engine`] when the
/// engine fails (bad config, empty date range).
pub fn run_named(
    bars: &Bars,
    name: &str,
    params: &Params,
    cfg: &BacktestConfig,
) -> Result<BacktestOutcome, Error> {
    let mut strat = strategy::build(name, params)?;
    run_strategy(bars, &mut *strat, name, params, cfg)
}

/// Run an already built strategy (e.g. an evolved genome, which the registry cannot build)
/// over `bars`; `name` and `params` label the outcome.
///
/// # Errors
/// [`Error::Engine`] when the engine fails (bad config, empty date range).
pub fn run_strategy(
    bars: &Bars,
    strat: &mut (dyn strategy::Strategy + Send),
    name: &str,
    params: &Params,
    cfg: &BacktestConfig,
) -> Result<BacktestOutcome, Error> {
    let result = run_backtest(bars, &mut *strat, cfg)?;
    let first = result.first_bar;
    let n = result.equity.len();
    let mut stats = compute(&StatsInput {
        ts_ms: &bars.ts_ms()[first..first + n],
        close: &bars.close()[first..first + n],
        equity: &result.equity,
        exposure: &result.exposure,
        trades: &result.trades,
        fees_paid: result.fees_paid,
        cash0: cfg.cash,
    });
    stats.signals_skipped_zero_size = zero_size_skips(&result);
    Ok(BacktestOutcome {
        strategy: name.to_string(),
        params: {
            let reported = strat.params();
            if reported.0.is_empty() {
                params.clone()
            } else {
                reported
            }
        },
        stats,
        regime_transitions: result.regime_transitions.clone(),
        result,
    })
}

/// Entry signals refused because their size rounds to zero, in the traded window.
pub fn zero_size_skips(result: &BacktestResult) -> usize {
    result
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                crate::engine::Event::Refused {
                    t,
                    reason: crate::risk::RefusalReason::ZeroSize,
                } if *t >= result.first_bar
            )
        })
        .count()
}

/// Record a finished backtest in the learning DB: the run, its trades, equity, regime
/// transitions and a `strategy_performance` row. Returns the run id.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be written.
pub fn record(
    store: &mut Store,
    mut run: RunRecord,
    data: &LoadedData,
    out: &BacktestOutcome,
    ended_at: &str,
) -> Result<i64, Error> {
    let params_json = serde_json::to_string(&out.params).unwrap_or_else(|_| "{}".into());
    run.data_hash = Some(data.bars.content_hash());
    run.data_path = Some(data.path.display().to_string());
    run.symbol = Some(data.label.clone());
    run.strategy = Some(out.strategy.clone());
    run.params_json = Some(params_json.clone());
    let id = store.begin_run(&run)?;
    store.or_fail_run(id, ended_at, |store| {
        let first = out.result.first_bar;
        let ts = &data.bars.ts_ms()[first..first + out.result.equity.len()];
        store.insert_trades(id, &out.result.trades)?;
        store.insert_equity(id, ts, &out.result.equity)?;
        let transitions: Vec<crate::store::RegimeTransition> = out
            .regime_transitions
            .iter()
            .map(|t| crate::store::RegimeTransition {
                ts_ms: t.ts_ms,
                from_regime: t.from.as_str().to_string(),
                to_regime: t.to.as_str().to_string(),
                confidence: t.confidence,
            })
            .collect();
        store.insert_regime_transitions(id, &transitions)?;
        store.insert_strategy_performance(&[StrategyPerformance {
            strategy: out.strategy.clone(),
            symbol: data.label.clone(),
            params_json,
            run_id: Some(id),
            sharpe: out.stats.sharpe,
            return_pct: out.stats.return_pct,
            max_drawdown_pct: out.stats.max_drawdown_pct,
            trades: out.stats.trades,
            win_rate_pct: out.stats.win_rate_pct,
            created_at: ended_at.to_string(),
        }])?;
        let stats_json = serde_json::to_string(&out.stats).unwrap_or_else(|_| "{}".into());
        store.finish_run(id, &stats_json, ended_at)?;
        Ok::<(), Error>(())
    })?;
    Ok(id)
}

/// Write the HTML/PNG/CSV report of a backtest into `dir`.
///
/// # Errors
/// [`Error::Report`] when a file cannot be written.
pub fn write(dir: &Path, data: &LoadedData, out: &BacktestOutcome) -> Result<(), Error> {
    let first = out.result.first_bar;
    let r = first..first + out.result.equity.len();
    let b = &data.bars;
    let params: BTreeMap<String, String> = out
        .params
        .0
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    write_report(
        dir,
        &ReportInput {
            title: format!("{} · {}", data.label, out.strategy),
            symbol: data.label.clone(),
            strategy: out.strategy.clone(),
            params: params.clone(),
            ts_ms: &b.ts_ms()[r.clone()],
            open: &b.open()[r.clone()],
            high: &b.high()[r.clone()],
            low: &b.low()[r.clone()],
            close: &b.close()[r.clone()],
            volume: &b.volume()[r.clone()],
            overlays: crate::report::overlays::for_strategy(&out.strategy, &params, b.close(), r),
            equity: &out.result.equity,
            trades: &out.result.trades,
            stats: &out.stats,
        },
    )?;
    Ok(())
}
