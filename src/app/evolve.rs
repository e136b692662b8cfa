//! `evolve`: split the bars by time into train / validation / test, evolve genomes with the
//! GA on the shared feature table (fitness on train, reported best chosen on validation),
//! score the best ONCE on the test window through the engine, compare it there with buy &
//! hold and `technical`, deflate its Sharpe ratio by every genome evaluated, record it in the
//! learning DB and write the report.
//!
//! Fitness ([`fitness_of`]): the Sharpe ratio of the window exactly as the stats JSON defines
//! it (`metrics::annual`: resampled period returns, backtesting.py's annualisation), minus
//! `0.1 × (10 − trades)` below 10 closed trades and `5 × (max drawdown − 0.30)` beyond a 30 %
//! drawdown; an undefined Sharpe (no trade, flat equity) counts as −2.
//!
//! The test window is never touched before the GA returns: features are causal (row `t`
//! depends on bars `..=t`), the threshold ranges come from the training rows, and the
//! fitness closure only runs the training and validation windows.

use std::ops::Range;
use std::path::Path;

use serde::Serialize;

use super::load::{LoadedData, RiskChoice};
use crate::Error;
use crate::ai::evolver::{
    Evaluation, FeatureRanges, FeatureTable, GaConfig, GenerationStats, Genome, Stage, evolve,
};
use crate::data::Bars;
use crate::engine::fast::genome::{LeanConfig, LeanRun, run_lean};
use crate::engine::{BacktestConfig, BacktestResult, Fill, run_backtest};
use crate::metrics::annual::{Annualisation, annual_figures};
use crate::metrics::{Stats, StatsInput, compute};
use crate::optimize::overfit::deflated_sharpe_from;
use crate::optimize::{DsrResult, return_moments};
use crate::report::evolve::{CompareRow, EvolveReport, Line, write_evolve_report};
use crate::report::series::buy_hold;
use crate::store::{EvolvedRow, RunRecord, Store};
use crate::strategy::evolved::Evolved;
use crate::strategy::{self, Params, Strategy};

/// Closed trades below which the fitness is penalised.
pub const MIN_TRADES: usize = 10;
/// Drawdown (fraction) beyond which the fitness is penalised.
pub const MAX_DRAWDOWN_FRAC: f64 = 0.30;
/// Fitness base when the Sharpe ratio is undefined.
pub const UNDEFINED_SHARPE: f64 = -2.0;
/// Fewest bars a window may have.
pub const MIN_WINDOW_BARS: usize = 30;

/// What `evolve` needs besides the bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvolveSettings {
    /// The GA's settings.
    pub ga: GaConfig,
    /// Share of the bars for training.
    pub train_frac: f64,
    /// Share of the bars for validation (the rest is the test window).
    pub validation_frac: f64,
    /// Backtest settings (leverage 1, next-open fills, pass-through risk).
    pub engine: BacktestConfig,
}

/// Parse `--split 0.6,0.2` (train, validation; the test window is the rest).
///
/// # Errors
/// [`Error::Usage`] unless both are in (0, 1) and leave a test share of at least 0.05.
pub fn parse_split(text: &str) -> Result<(f64, f64), Error> {
    let bad = || {
        Error::Usage(format!(
            "--split {text:?}: expected TRAIN,VALIDATION fractions like 0.6,0.2 (test = the rest, at least 0.05)"
        ))
    };
    let (a, b) = text.split_once(',').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    if !(a > 0.0 && b > 0.0 && a + b <= 0.95) {
        return Err(bad());
    }
    Ok((a, b))
}

/// The three windows, as bar index ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Windows {
    /// Training bars.
    pub train: Range<usize>,
    /// Validation bars.
    pub validation: Range<usize>,
    /// Test bars.
    pub test: Range<usize>,
}

/// Split the bars in the engine's date range by time.
///
/// # Errors
/// [`Error::Usage`] when a window would have fewer than [`MIN_WINDOW_BARS`] bars.
pub fn windows(bars: &Bars, s: &EvolveSettings) -> Result<Windows, Error> {
    let ts = bars.ts_ms();
    let lo = s
        .engine
        .from_ts_ms
        .map_or(0, |f| ts.partition_point(|&x| x < f));
    let hi = s
        .engine
        .to_ts_ms
        .map_or(ts.len(), |t| ts.partition_point(|&x| x <= t));
    let n = hi.saturating_sub(lo);
    let a = lo + (n as f64 * s.train_frac).round() as usize;
    let b = (a + (n as f64 * s.validation_frac).round() as usize).min(hi);
    let w = Windows {
        train: lo..a,
        validation: a..b,
        test: b..hi.max(b),
    };
    for (name, r) in [
        ("training", &w.train),
        ("validation", &w.validation),
        ("test", &w.test),
    ] {
        if r.len() < MIN_WINDOW_BARS {
            return Err(Error::Usage(format!(
                "the {name} window has {} bars of {n}; it needs at least {MIN_WINDOW_BARS} (more data or another --split)",
                r.len()
            )));
        }
    }
    Ok(w)
}

/// The fitness rule (module doc).
pub fn fitness_of(sharpe: f64, trades: usize, max_drawdown_frac: f64) -> f64 {
    let base = if sharpe.is_finite() {
        sharpe
    } else {
        UNDEFINED_SHARPE
    };
    let few = MIN_TRADES.saturating_sub(trades) as f64 * 0.1;
    let deep = (max_drawdown_frac - MAX_DRAWDOWN_FRAC).max(0.0) * 5.0;
    base - few - deep
}

/// A genome's figures on one window (from the lean evaluator).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowScore {
    /// Fitness ([`fitness_of`]).
    pub fitness: f64,
    /// Sharpe ratio as in the stats JSON.
    pub sharpe: f64,
    /// Per-bar Sharpe ratio (mean / sd of bar returns), the deflated-Sharpe unit.
    pub sharpe_per_bar: f64,
    /// Return, percent of the starting cash.
    pub return_pct: f64,
    /// Deepest drawdown, percent.
    pub max_drawdown_pct: f64,
    /// Closed trades.
    pub trades: usize,
}

/// Per-bar simple returns of an equity curve.
fn bar_returns(equity: &[f64]) -> Vec<f64> {
    equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

fn mean_sd_ratio(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    if var > 0.0 {
        mean / var.sqrt()
    } else {
        f64::NAN
    }
}

/// Score a lean run over the window with bar times `ts`.
pub fn score(run: &LeanRun, ts: &[i64], ann: Option<Annualisation>, cash: f64) -> WindowScore {
    let sharpe = match ann {
        Some(a) => {
            let fig = annual_figures(&a.period_returns(ts, &run.equity), a.periods_per_year);
            let vol = fig.volatility_ann * 100.0;
            if vol == 0.0 {
                f64::NAN
            } else {
                fig.return_ann * 100.0 / vol
            }
        }
        None => f64::NAN,
    };
    let last = run.equity.last().copied().unwrap_or(cash);
    let trades = run.closed_trades();
    WindowScore {
        fitness: fitness_of(sharpe, trades, run.max_drawdown_frac),
        sharpe,
        sharpe_per_bar: mean_sd_ratio(&bar_returns(&run.equity)),
        return_pct: (last - cash) / cash * 100.0,
        max_drawdown_pct: run.max_drawdown_frac * 100.0,
        trades,
    }
}

/// The lean evaluator's settings for a backtest configuration.
///
/// # Errors
/// [`Error::Usage`] for settings the lean evaluator does not model (leverage, close fills,
/// managed risk) and [`Error::Engine`] for out-of-range ones.
pub fn lean_config(cfg: &BacktestConfig) -> Result<LeanConfig, Error> {
    cfg.validate()?;
    if cfg.leverage != 1.0
        || cfg.fill != Fill::NextOpen
        || !cfg.risk.is_unmanaged()
        || cfg.risk.max_position_frac.is_some()
        || cfg.risk.daily_loss_limit_frac.is_some()
    {
        return Err(Error::Usage(
            "evolve supports --leverage 1, --fill next-open and --risk passthrough only".into(),
        ));
    }
    Ok(LeanConfig {
        cash: cfg.cash,
        commission: cfg.commission,
        slippage: cfg.slippage,
        fractional: cfg.fractional,
        min_qty: cfg.min_qty,
        min_notional: cfg.min_notional,
        min_order_cost: cfg.min_order_cost(),
    })
}

/// A strategy's figures on the test window.
#[derive(Debug, Clone, Serialize)]
pub struct TestFigures {
    /// Return, percent.
    pub return_pct: f64,
    /// Sharpe ratio.
    pub sharpe: f64,
    /// Deepest drawdown, percent.
    pub max_drawdown_pct: f64,
    /// Closed trades (`null` for buy & hold).
    pub trades: Option<usize>,
    /// The full stats.
    pub stats: Stats,
}

/// The outcome of [`run_evolve`].
#[derive(Debug, Clone, Serialize)]
pub struct EvolveOutcome {
    /// The windows.
    pub windows: Windows,
    /// Window bounds as ISO times (`[start, end]` of each).
    pub window_times: [[String; 2]; 3],
    /// The GA's settings.
    #[serde(skip)]
    pub ga: GaConfig,
    /// The best genome (chosen by validation fitness).
    pub genome: Genome,
    /// Its rule text.
    pub rule: String,
    /// Generation it was found in.
    pub generation: usize,
    /// Generations run.
    pub generations_run: usize,
    /// True when `--early-stop` ended the run.
    pub stopped_early: bool,
    /// Genomes evaluated on the training window (the deflated Sharpe's trials).
    pub evaluations: usize,
    /// Validation evaluations.
    pub validation_evaluations: usize,
    /// Its training figures.
    pub train: WindowScore,
    /// Its validation figures.
    pub validation: WindowScore,
    /// The evolved strategy on the test window (through the engine).
    pub test: TestFigures,
    /// Buy & hold on the test window.
    pub buy_hold: TestFigures,
    /// `technical` with default parameters on the test window (through the engine).
    pub technical: TestFigures,
    /// Deflated Sharpe of the best genome on the training window over every trial.
    pub deflated_sharpe: Option<DsrResult>,
    /// Why the deflated Sharpe is missing, if it is.
    pub deflated_sharpe_note: Option<String>,
    /// The lean evaluator's test-window equity equals the engine's bit for bit.
    pub lean_matches_engine: bool,
    /// Per-generation fitness.
    pub history: Vec<GenerationStats>,
    /// Test-window equity of the evolved strategy, buy & hold and technical.
    #[serde(skip)]
    pub test_equity: [Vec<f64>; 3],
    /// The evolved strategy's test-window backtest.
    #[serde(skip)]
    pub test_result: BacktestResult,
}

fn figures(bars: &Bars, r: &BacktestResult, cash: f64, trades: bool) -> TestFigures {
    let first = r.first_bar;
    let n = r.equity.len();
    let stats = compute(&StatsInput {
        ts_ms: &bars.ts_ms()[first..first + n],
        close: &bars.close()[first..first + n],
        equity: &r.equity,
        exposure: &r.exposure,
        trades: &r.trades,
        fees_paid: r.fees_paid,
        cash0: cash,
    });
    TestFigures {
        return_pct: stats.return_pct,
        sharpe: stats.sharpe,
        max_drawdown_pct: stats.max_drawdown_pct,
        trades: trades.then_some(stats.trades),
        stats,
    }
}

fn window_cfg(cfg: &BacktestConfig, bars: &Bars, w: &Range<usize>) -> BacktestConfig {
    let ts = bars.ts_ms();
    BacktestConfig {
        from_ts_ms: Some(ts[w.start]),
        to_ts_ms: Some(ts[w.end - 1]),
        ..*cfg
    }
}

/// Evolve, then score and compare on the test window (module doc). `progress` is called
/// after each generation.
///
/// # Errors
/// [`Error::Usage`] for an unsupported engine setting, a funding column or too short
/// windows; [`Error::Param`] for bad GA settings; [`Error::Engine`] if a test backtest fails.
pub fn run_evolve(
    bars: &Bars,
    s: &EvolveSettings,
    progress: &mut dyn FnMut(&GenerationStats),
) -> Result<EvolveOutcome, Error> {
    let lean = lean_config(&s.engine)?;
    if bars.extra("funding_rate").is_some() {
        return Err(Error::Usage(
            "evolve does not model funding: use spot bars (no funding_rate column)".into(),
        ));
    }
    s.ga.validate()?;
    let w = windows(bars, s)?;
    let table = FeatureTable::new(bars)?;
    let ranges = FeatureRanges::measure(&table.rows()[w.train.clone()]);
    let ts = bars.ts_ms();
    let ann_train = Annualisation::infer(&ts[w.train.clone()]);
    let ann_val = Annualisation::infer(&ts[w.validation.clone()]);
    let eval_on = |g: &Genome, r: &Range<usize>, ann: Option<Annualisation>| {
        let run = run_lean(&g.compile(), &table, bars, &lean, r.start, r.end);
        score(&run, &ts[r.clone()], ann, lean.cash)
    };
    let fitness = |g: &Genome, stage: Stage| {
        let sc = match stage {
            Stage::Train => eval_on(g, &w.train, ann_train),
            Stage::Validation => eval_on(g, &w.validation, ann_val),
        };
        Evaluation {
            fitness: sc.fitness,
            trial_sharpe: sc.sharpe_per_bar,
        }
    };
    let ga = evolve(&s.ga, &ranges, &fitness, progress)?;
    let best = ga.best.clone();
    let train = eval_on(&best, &w.train, ann_train);
    let validation = eval_on(&best, &w.validation, ann_val);

    // the deflated Sharpe over every training evaluation
    let train_run = run_lean(
        &best.compile(),
        &table,
        bars,
        &lean,
        w.train.start,
        w.train.end,
    );
    let finite: Vec<f64> = ga
        .trial_sharpes
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let var = if finite.len() >= 2 {
        let m = finite.iter().sum::<f64>() / finite.len() as f64;
        finite.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (finite.len() - 1) as f64
    } else {
        f64::NAN
    };
    let (deflated_sharpe, deflated_sharpe_note) =
        match return_moments(&bar_returns(&train_run.equity)) {
            None => (
                None,
                Some("the best genome's training returns are flat".into()),
            ),
            Some(m) => match deflated_sharpe_from(
                m.sharpe,
                m.n,
                m.skew,
                m.kurt,
                ga.trial_sharpes.len(),
                var,
            ) {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };

    // the test window, scored once
    let test_cfg = window_cfg(&s.engine, bars, &w.test);
    let mut evolved =
        Evolved::from_genome(best.clone()).map_err(|e| Error::Usage(e.to_string()))?;
    let test_result = run_backtest(bars, &mut evolved, &test_cfg)?;
    let test = figures(bars, &test_result, s.engine.cash, true);
    let lean_test = run_lean(
        &best.compile(),
        &table,
        bars,
        &lean,
        w.test.start,
        w.test.end,
    );
    let lean_matches_engine = lean_test.equity.len() == test_result.equity.len()
        && lean_test
            .equity
            .iter()
            .zip(&test_result.equity)
            .all(|(a, b)| a.to_bits() == b.to_bits());

    let tech_cfg = BacktestConfig {
        risk: RiskChoice::Auto.config("technical"),
        ..test_cfg
    };
    let tech_params = Params::resolve(strategy::param_specs("technical")?, &[])?;
    let mut tech = strategy::build("technical", &tech_params)?;
    let tech_result = run_backtest(bars, &mut *tech, &tech_cfg)?;
    let technical = figures(bars, &tech_result, s.engine.cash, true);

    let bh_equity = buy_hold(&bars.close()[w.test.clone()], s.engine.cash);
    let bh_result = BacktestResult {
        first_bar: w.test.start,
        exposure: vec![true; bh_equity.len()],
        equity: bh_equity.clone().into(),
        ..BacktestResult::default()
    };
    let buy_hold_fig = figures(bars, &bh_result, s.engine.cash, false);

    let iso = |i: usize| crate::metrics::iso(ts[i]);
    let window_times = [&w.train, &w.validation, &w.test].map(|r| [iso(r.start), iso(r.end - 1)]);
    Ok(EvolveOutcome {
        window_times,
        ga: s.ga,
        rule: best.to_string(),
        genome: best,
        generation: ga.best_generation,
        generations_run: ga.history.len(),
        stopped_early: ga.stopped_early,
        evaluations: ga.trial_sharpes.len(),
        validation_evaluations: ga.validation_evaluations,
        train,
        validation,
        test_equity: [
            test_result.equity.to_vec(),
            bh_equity,
            tech_result.equity.to_vec(),
        ],
        test,
        buy_hold: buy_hold_fig,
        technical,
        deflated_sharpe,
        deflated_sharpe_note,
        lean_matches_engine,
        history: ga.history,
        test_result,
        windows: w,
    })
}

/// What `algolab evolve` asks for.
#[derive(Debug, Clone)]
pub struct EvolveRequest {
    /// The bars.
    pub data: super::load::DataSpec,
    /// GA, split and engine settings.
    pub settings: EvolveSettings,
    /// Write evolve.html and best_genome.json into this folder.
    pub report: Option<std::path::PathBuf>,
    /// Record the run and the genome in the learning DB.
    pub record: bool,
}

/// What `algolab evolve` produced.
#[derive(Debug, Clone)]
pub struct EvolveReply {
    /// The bars and where they came from.
    pub data: LoadedData,
    /// The evolution's result.
    pub outcome: EvolveOutcome,
    /// `(run id, evolved strategy id)` when recorded.
    pub ids: Option<(i64, i64)>,
    /// The report's HTML file, when written.
    pub report: Option<std::path::PathBuf>,
}

/// `algolab evolve`: load the bars, evolve, record, write the report. `progress` is called
/// after each generation.
///
/// # Errors
/// As [`run_evolve`], plus [`Error::Data`] for bad data and [`Error::Store`]/[`Error::Report`].
pub fn run(
    ctx: &super::Ctx,
    req: EvolveRequest,
    progress: &mut dyn FnMut(&GenerationStats),
) -> Result<EvolveReply, Error> {
    lean_config(&req.settings.engine)?;
    let data = super::load::load_data(&req.data, &ctx.data_dir)?;
    let record_row = ctx.run_record("evolve", Some(req.settings.ga.seed));
    let out = run_evolve(&data.bars, &req.settings, progress)?;
    let ids = if req.record {
        let mut store = ctx.store()?;
        Some(record(
            &mut store,
            record_row,
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
    Ok(EvolveReply {
        report: req.report.as_ref().map(|d| d.join("evolve.html")),
        data,
        outcome: out,
        ids,
    })
}

/// `algolab evolve --list`: the stored evolved strategies, newest first, optionally for one
/// symbol.
///
/// # Errors
/// [`Error::Usage`] when there is no learning DB yet; [`Error::Store`] when it fails.
pub fn list(
    ctx: &super::Ctx,
    symbol: Option<&str>,
    limit: usize,
) -> Result<Vec<EvolvedRow>, Error> {
    if !ctx.db_path.is_file() {
        return Err(Error::Usage(format!(
            "no learning DB at {} (run `algolab evolve` first, or set DATA_DIR)",
            ctx.db_path.display()
        )));
    }
    Ok(ctx.store()?.list_evolved(symbol, limit)?)
}

/// Record the run and the best genome in the learning DB; returns `(run id, genome id)`.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be written.
pub fn record(
    store: &mut Store,
    mut run: RunRecord,
    data: &LoadedData,
    out: &EvolveOutcome,
    ended_at: &str,
) -> Result<(i64, i64), Error> {
    run.data_hash = Some(data.bars.content_hash());
    run.data_path = Some(data.path.display().to_string());
    run.symbol = Some(data.label.clone());
    run.strategy = Some("evolved".into());
    let id = store.begin_run(&run)?;
    let evolved_id = store.or_fail_run(id, ended_at, |store| {
        let genes_json = out
            .genome
            .to_json()
            .map_err(|e| Error::Usage(format!("genome json: {e}")))?;
        let evolved_id = store.insert_evolved(&EvolvedRow {
            id: 0,
            run_id: Some(id),
            generation: out.generation,
            fitness: out.train.fitness,
            validation_fitness: out.validation.fitness,
            test_sharpe: out.test.sharpe,
            test_return_pct: out.test.return_pct,
            genes_json,
            rule_text: out.rule.clone(),
            symbol: data.label.clone(),
            regime: None,
            is_active: true,
            created_at: ended_at.to_string(),
        })?;
        let first = out.test_result.first_bar;
        let ts = &data.bars.ts_ms()[first..first + out.test_result.equity.len()];
        store.insert_trades(id, &out.test_result.trades)?;
        store.insert_equity(id, ts, &out.test_result.equity)?;
        let stats_json = serde_json::to_string(&out.test.stats).unwrap_or_else(|_| "{}".into());
        store.finish_run(id, &stats_json, ended_at)?;
        Ok::<i64, Error>(evolved_id)
    })?;
    Ok((id, evolved_id))
}

/// The genome stored under `id`.
///
/// # Errors
/// [`Error::Usage`] for an unknown id; [`Error::Store`] when the DB fails or the stored
/// genome no longer decodes or validates (a corrupt row: exit 1).
pub fn stored_genome(store: &Store, id: i64) -> Result<Genome, Error> {
    let row = store.load_evolved(id)?.ok_or_else(|| {
        Error::Usage(format!(
            "no evolved strategy with id {id} (see `algolab evolve --list`)"
        ))
    })?;
    // a stored genome that does not decode is a corrupt DB row, not bad usage (exit 1)
    Genome::from_json(&row.genes_json).map_err(|e| {
        Error::Store(crate::store::StoreError::BadValue {
            path: store.path().display().to_string(),
            what: format!("evolved strategy {id}: {e}"),
        })
    })
}

/// A genome from a JSON file (as `--report` writes `best_genome.json`).
///
/// # Errors
/// [`Error::Usage`] naming the file when it cannot be read or is not a valid genome.
pub fn genome_file(path: &Path) -> Result<Genome, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    Genome::from_json(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))
}

/// A genome as a boxed strategy (for `backtest --strategy evolved`).
///
/// # Errors
/// [`Error::Usage`] for an invalid genome.
pub fn evolved_strategy(
    genome: Genome,
    id: Option<i64>,
) -> Result<Box<dyn Strategy + Send>, Error> {
    let s = Evolved::from_genome(genome).map_err(|e| Error::Usage(e.to_string()))?;
    Ok(Box::new(match id {
        Some(id) => s.with_id(id),
        None => s,
    }))
}

/// Write `evolve.html` and `best_genome.json` into `dir`.
///
/// # Errors
/// [`Error::Report`] when a file cannot be written.
pub fn write(dir: &Path, data: &LoadedData, out: &EvolveOutcome) -> Result<(), Error> {
    let col = |f: fn(&GenerationStats) -> f64| -> Vec<f64> { out.history.iter().map(f).collect() };
    let (best, mean, val) = (
        col(|h| h.best_fitness),
        col(|h| h.mean_fitness),
        col(|h| h.validation_fitness),
    );
    let genome_json = serde_json::to_string_pretty(&out.genome)
        .map_err(|e| Error::Usage(format!("genome json: {e}")))?;
    let dsr = out.deflated_sharpe.map_or_else(
        || "–".to_string(),
        |d| format!("{:.3} (PSR {:.3})", d.dsr, d.psr),
    );
    let report = EvolveReport {
        title: format!("{} · evolve (seed {})", data.label, out.ga.seed),
        rule: out.rule.clone(),
        genome_json,
        facts: vec![
            (
                "windows (train / validation / test)".into(),
                out.window_times
                    .iter()
                    .map(|w| format!("{} → {}", w[0], w[1]))
                    .collect::<Vec<_>>()
                    .join(" / "),
            ),
            ("found in generation".into(), out.generation.to_string()),
            ("genomes evaluated".into(), out.evaluations.to_string()),
            (
                "train fitness / validation fitness".into(),
                format!("{:.3} / {:.3}", out.train.fitness, out.validation.fitness),
            ),
            ("deflated Sharpe (train, all trials)".into(), dsr),
        ],
        fitness: vec![
            Line {
                label: "best (train)",
                ys: &best,
                rgb: (31, 98, 180),
            },
            Line {
                label: "mean (train)",
                ys: &mean,
                rgb: (140, 140, 140),
            },
            Line {
                label: "best elite (validation)",
                ys: &val,
                rgb: (20, 140, 60),
            },
        ],
        equity: vec![
            Line {
                label: "evolved",
                ys: &out.test_equity[0],
                rgb: (31, 98, 180),
            },
            Line {
                label: "buy & hold",
                ys: &out.test_equity[1],
                rgb: (140, 140, 140),
            },
            Line {
                label: "technical",
                ys: &out.test_equity[2],
                rgb: (200, 40, 40),
            },
        ],
        test_ts_ms: data
            .bars
            .ts_ms()
            .get(out.windows.test.clone())
            .unwrap_or_default(),
        compare: [
            ("evolved", &out.test),
            ("buy & hold", &out.buy_hold),
            ("technical", &out.technical),
        ]
        .into_iter()
        .map(|(name, f)| CompareRow {
            name: name.into(),
            return_pct: f.return_pct,
            sharpe: f.sharpe,
            max_drawdown_pct: f.max_drawdown_pct,
            trades: f.trades,
        })
        .collect(),
    };
    write_evolve_report(dir, &report)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitness_penalises_few_trades_and_deep_drawdowns() {
        assert_eq!(fitness_of(1.5, 12, 0.2), 1.5);
        // 4 trades: −0.6; 40 % drawdown: −0.5
        assert!((fitness_of(1.5, 4, 0.4) - (1.5 - 0.6 - 0.5)).abs() < 1e-12);
        assert_eq!(fitness_of(f64::NAN, 0, 0.0), -2.0 - 1.0);
    }

    #[test]
    fn split_parses_and_rejects() {
        assert_eq!(parse_split("0.6,0.2").unwrap(), (0.6, 0.2));
        assert!(parse_split("0.8,0.2").is_err());
        assert!(parse_split("0.6").is_err());
        assert!(parse_split("a,b").is_err());
    }

    #[test]
    fn windows_cover_the_range_in_order() {
        let bars = crate::testutil::random_walk(1000, 1);
        let s = EvolveSettings {
            ga: GaConfig::default(),
            train_frac: 0.6,
            validation_frac: 0.2,
            engine: BacktestConfig::default(),
        };
        let w = windows(&bars, &s).unwrap();
        assert_eq!(
            (w.train, w.validation, w.test),
            (0..600, 600..800, 800..1000)
        );
        let short = crate::testutil::random_walk(100, 1);
        assert!(windows(&short, &s).is_err());
    }
}

#[cfg(test)]
mod honesty_tests {
    use super::*;
    use crate::data::{Bar, Bars};

    fn settings(seed: u64) -> EvolveSettings {
        EvolveSettings {
            ga: GaConfig {
                population: 10,
                generations: 4,
                seed,
                ..GaConfig::default()
            },
            train_frac: 0.6,
            validation_frac: 0.2,
            engine: BacktestConfig {
                fractional: true,
                ..BacktestConfig::default()
            },
        }
    }

    #[test]
    fn changing_test_window_bars_does_not_change_the_evolved_genome() {
        let bars = crate::testutil::random_walk(1500, 21);
        let s = settings(42);
        let w = windows(&bars, &s).unwrap();
        // the test window's bars replaced by a steady crash
        let mut changed: Vec<Bar> = bars.iter().collect();
        for (k, b) in changed.iter_mut().enumerate().skip(w.test.start) {
            let c = 50.0 * 0.999f64.powi((k - w.test.start) as i32);
            *b = Bar {
                open: c,
                high: c * 1.01,
                low: c * 0.98,
                close: c * 0.999,
                volume: 5.0,
                ..*b
            };
        }
        let changed = Bars::from_bars(changed).unwrap();
        let a = run_evolve(&bars, &s, &mut |_| {}).unwrap();
        let b = run_evolve(&changed, &s, &mut |_| {}).unwrap();
        assert_eq!(a.genome.to_json().unwrap(), b.genome.to_json().unwrap());
        assert_eq!(a.history, b.history);
        assert_eq!(a.train, b.train);
        assert_eq!(a.validation, b.validation);
        assert_eq!(a.evaluations, b.evaluations);
        // … while the test-window figures do change
        assert_ne!(a.buy_hold.return_pct, b.buy_hold.return_pct);
        assert!(a.lean_matches_engine && b.lean_matches_engine);
    }

    #[test]
    fn same_seed_same_json_whatever_the_thread_count() {
        let bars = crate::testutil::random_walk(1200, 4);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run_evolve(&bars, &settings(9), &mut |_| {}).unwrap())
        };
        let (a, b, c) = (run(1), run(2), run(2));
        assert_eq!(a.genome.to_json().unwrap(), b.genome.to_json().unwrap());
        assert_eq!(b.genome.to_json().unwrap(), c.genome.to_json().unwrap());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        // every training evaluation is a trial of the deflated Sharpe
        assert_eq!(
            a.evaluations,
            10 + 3 * 5 + a.history.iter().map(|h| h.immigrants).sum::<usize>()
        );
    }
}
