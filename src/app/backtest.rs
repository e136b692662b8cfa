//! `backtest`: load bars, build a strategy by name, run the engine, compute the stats,
//! record the run in the learning DB and write the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Ctx;
use crate::Error;
use crate::data::Bars;
use crate::engine::{BacktestConfig, BacktestResult, run_backtest};
use crate::metrics::{Stats, StatsInput, compute};
use crate::regime::RegimeTransition;
use crate::report::{ReportInput, write_report};
use crate::store::{RunRecord, Store, StrategyPerformance};
use crate::strategy::{self, Params};

pub use super::load::{DataSpec, LoadedData, RiskChoice, load_data};

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
    pub ai: crate::app::ai::AiOptions,
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
    /// Warnings for the user (a warm-up longer than the data, …).
    pub warnings: Vec<String>,
    /// The `ai` strategy's summary (components, LLM mode, warnings).
    pub ai: Option<crate::app::ai::AiSummary>,
}

/// `algolab backtest`: resolve the strategy, load the bars, run, record, write the report.
///
/// # Errors
/// [`Error::Param`]/[`Error::Usage`]/[`Error::Data`] for bad input (exit 2), engine, DB
/// or report failures otherwise.
pub fn run(ctx: &Ctx, req: BacktestRequest) -> Result<BacktestReply, Error> {
    if let Some(dir) = req.report.as_ref().filter(|d| d.is_file()) {
        return Err(Error::Usage(format!(
            "--report {} is a file; give a folder for the report",
            dir.display()
        )));
    }
    if req.strategy == "ai" && req.strategy_file.is_none() {
        return run_ai(ctx, req);
    }
    let (name, params, mut strat) = strategy_for(ctx, &req)?;
    let name = name.as_str();
    let cfg = dqn_cfg(ctx, &req)?;
    cfg.validate()?;
    let data = load_data(&req.data, &ctx.data_dir)?;
    let mut warnings = Vec::new();
    let warmup = strat.warmup_bars();
    if warmup >= data.bars.len() {
        warnings.push(format!(
            "{name} needs {warmup} bars before its first signal and the data has {}: no trade is possible",
            data.bars.len()
        ));
    }
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
        write(dir, &data, &out, None)?;
    }
    Ok(BacktestReply {
        report: req.report.as_ref().map(|d| d.join("report.html")),
        data,
        outcome: out,
        run_id,
        warnings,
        ai: None,
    })
}

/// `backtest --strategy ai`: the orchestrator, its decisions recorded and linked to trades,
/// the state file written.
fn run_ai(ctx: &Ctx, req: BacktestRequest) -> Result<BacktestReply, Error> {
    use crate::app::ai as ai_app;
    let params = resolve_params("ai", &req.params)?;
    req.cfg.validate()?;
    let data = load_data(&req.data, &ctx.data_dir)?;
    let (mut strat, mut summary, dqn_model) =
        ai_app::build(ctx, &data, &params, &req.ai, req.cfg.leverage)?;
    // `--learn` and `--llm` are on the recorded command line (`runs.args_json`)
    let record = ctx.run_record("backtest", None);
    let out = run_strategy(&data.bars, &mut strat, "ai", &params, &req.cfg)?;
    let decisions = strat.take_decision_records();
    let llm_records = strat
        .llm_mut()
        .map(|l| l.take_records())
        .unwrap_or_default();
    if let Some((asked, answered)) = strat.llm_mut().map(|l| l.counts()) {
        summary.llm_asked = asked;
        summary.llm_answered = answered;
    }
    summary.warnings.extend(strat.take_warnings());
    summary.decisions = decisions.len();
    let now = (ctx.now_iso)();
    let run_id = if req.record {
        let mut store = ctx.store()?;
        let id = self::record(&mut store, record, &data, &out, &now)?;
        ai_app::record(
            &mut store,
            id,
            &decisions,
            llm_records,
            &out.result.trades,
            req.cfg.leverage,
            &now,
        )?;
        // `--learn`: the DQN's new version, a child of the model it started from
        if let (Some(from), Some(online)) = (&dqn_model, strat.dqn_online()) {
            let stored = ai_app::store_learned_dqn(
                &mut store,
                id,
                &data.label,
                &data.bars.content_hash(),
                from,
                online,
                &now,
            )?;
            summary.dqn_learned = Some(serde_json::json!({
                "version": online.version,
                "trades": online.trades,
                "grad_steps": online.grad_steps,
                "model_id": stored,
            }));
        }
        Some(id)
    } else {
        None
    };
    ai_app::save_state(
        &ctx.data_dir,
        &ai_app::OrchestratorState {
            run_id,
            symbol: data.label.clone(),
            weights: strat.orchestrator().config().weights.clone(),
            components: summary.components.clone(),
            evolved_id: summary.evolved_id,
            model_versions: summary
                .dqn_learned
                .as_ref()
                .and_then(|l| l["model_id"].as_i64())
                .or(summary.dqn_id)
                .map(|id| ("dqn".to_string(), id))
                .into_iter()
                .collect(),
            sources: summary.sources.clone(),
            online: strat.online().clone(),
            updated_at: now,
        },
    )?;
    if let Some(dir) = &req.report {
        let section = ai_app::report_section(&decisions, &out.result.trades, &summary);
        write(dir, &data, &out, Some(&section))?;
    }
    Ok(BacktestReply {
        report: req.report.as_ref().map(|d| d.join("report.html")),
        data,
        outcome: out,
        run_id,
        warnings: Vec::new(),
        ai: Some(summary),
    })
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

/// Write the HTML/PNG/CSV report of a backtest into `dir` (with the "AI decisions" section
/// of an `ai` backtest).
///
/// # Errors
/// [`Error::Report`] when a file cannot be written.
pub fn write(
    dir: &Path,
    data: &LoadedData,
    out: &BacktestOutcome,
    ai: Option<&crate::report::ai::AiSection>,
) -> Result<(), Error> {
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
            ai,
        },
    )?;
    Ok(())
}
