//! `train-rl` and `train-leverage`: train a DQN agent on the engine's own simulator and
//! judge it out of sample (issue 11).
//!
//! The bars are split by time into train / validation / test (default 60/20/20). Each
//! episode is one engine run over the training window driving the learning strategy
//! ([`Learner`]: reward of the previous action, transition stored, one gradient step, ε-greedy
//! action, every bar). After each episode the greedy policy is scored on the validation
//! window (its Sharpe ratio as in the stats JSON; −2 when undefined) and the best episode's
//! weights are the checkpoint kept. The test window is then scored ONCE with that checkpoint,
//! through the same engine and the same [`DqnStrategy`] that `backtest --strategy dqn
//! --param id=N` builds from the stored model, next to buy & hold and `technical`.
//!
//! The normaliser is fitted on the training window's market rows only. Nothing touches the
//! test window before the checkpoint is chosen. Every random choice comes from `--seed`, the
//! network runs on one thread, so the same seed gives the same weights whatever the thread
//! count. The engine is driven through the `Strategy` trait (`run_backtest`), so the
//! simulator is exactly the backtest's: fees, slippage, isolated margin, maintenance
//! brackets, liquidation with its fee and funding from a `funding_rate` column.

mod record;

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use record::{
    ModelLoad, RecordOutcome, load_model, metrics_json, model_strategy, record, resume,
    write_report,
};

use crate::Error;
use crate::ai::dqn::{AgentKind, DqnAgent, DqnConfig, ModelSpec, Transition};
use crate::ai::nn::Mlp;
use crate::core::order::ExitReason;
use crate::data::Bars;
use crate::engine::{BacktestConfig, BacktestResult, run_backtest};
use crate::features::{Normaliser, market_rows};
use crate::metrics::{Stats, StatsInput, compute};
use crate::report::series::buy_hold;
use crate::store::ExperienceRow;
use crate::strategy::dqn::{DqnStrategy, Learner};
use crate::strategy::{self, Params};

/// Validation score when the Sharpe ratio is undefined (no trade, flat equity).
pub const UNDEFINED_SCORE: f64 = -2.0;
/// Fewest bars in the validation and test windows.
pub const MIN_WINDOW_BARS: usize = 30;
/// Fewest training bars beyond the features' warm-up.
pub const MIN_TRAIN_STEPS: usize = 100;

/// What a training run needs besides the bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSettings {
    /// Which agent.
    pub kind: AgentKind,
    /// Episodes (passes over the training window).
    pub episodes: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Hyper-parameters; `eps_decay_steps == 0` means half of the planned steps.
    pub dqn: DqnConfig,
    /// Share of the bars for training.
    pub train_frac: f64,
    /// Share for validation (the test window is the rest).
    pub validation_frac: f64,
    /// Backtest settings (its leverage is replaced by `max_leverage` for `leverage-dqn`
    /// and 1 for `dqn`).
    pub engine: BacktestConfig,
    /// Largest leverage of `leverage-dqn` (1–125).
    pub max_leverage: f64,
}

/// A stored model to continue training (`--resume-from`).
#[derive(Debug, Clone)]
pub struct Resume {
    /// Its id.
    pub id: i64,
    /// Its spec (normaliser and hyper-parameters are kept).
    pub spec: ModelSpec,
    /// Its weights.
    pub net: Mlp,
    /// Its optimiser state.
    pub optimizer: Option<Vec<u8>>,
    /// Its stored transitions (the replay buffer is refilled with them).
    pub experiences: Vec<ExperienceRow>,
    /// Environment steps it was trained for (ε's schedule continues from there).
    pub env_steps: u64,
}

/// A window's bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First bar's time, ISO-8601 UTC.
    pub start: String,
    /// Last bar's time.
    pub end: String,
    /// Bars.
    pub bars: usize,
}

/// The three windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Training.
    pub train: Window,
    /// Validation.
    pub validation: Window,
    /// Test.
    pub test: Window,
}

/// One episode, as the progress bar and the report show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeReport {
    /// 1-based.
    pub episode: usize,
    /// ε at the end of the episode.
    pub epsilon: f64,
    /// Mean minibatch loss (NaN before learning starts).
    pub loss: f64,
    /// Sum of rewards.
    pub reward: f64,
    /// Mean reward per step.
    pub mean_reward: f64,
    /// Environment steps in the episode.
    pub steps: u64,
    /// Liquidations in the episode.
    pub liquidations: u64,
    /// Times the account was wiped out and re-funded in the episode.
    pub refunds: u64,
    /// Validation score (Sharpe, or −2).
    pub validation_score: f64,
    /// Validation return, percent.
    pub validation_return_pct: f64,
    /// Per-bar Sharpe ratio on validation (a trial of the deflated Sharpe).
    pub validation_sharpe_per_bar: f64,
    /// True when this episode became the checkpoint.
    pub checkpoint: bool,
}

/// The outcome of [`train`].
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The model's spec.
    pub spec: ModelSpec,
    /// The checkpoint's weights.
    pub net: Mlp,
    /// The optimiser state at the end of training.
    pub optimizer: Vec<u8>,
    /// SHA-256 of the checkpoint's weights blob, hex.
    pub weights_sha256: String,
    /// Windows as bar ranges.
    pub windows: [Range<usize>; 3],
    /// Windows as times.
    pub split: Split,
    /// Per-episode figures.
    pub episodes: Vec<EpisodeReport>,
    /// The checkpoint's episode (1-based; 0 when resumed without improvement).
    pub best_episode: usize,
    /// Test-window stats of the agent.
    pub test: Stats,
    /// Its engine result.
    pub test_result: BacktestResult,
    /// `(bar, action)` on the test window.
    pub test_actions: Vec<(usize, u8)>,
    /// Buy & hold on the test window.
    pub buy_hold: Stats,
    /// Buy & hold equity.
    pub buy_hold_equity: Vec<f64>,
    /// `technical` on the test window.
    pub technical: Stats,
    /// Its equity.
    pub technical_equity: Vec<f64>,
    /// Liquidations while training.
    pub train_liquidations: u64,
    /// Times the training account was re-funded after being wiped out.
    pub train_refunds: u64,
    /// Environment steps of this run.
    pub env_steps: u64,
    /// Environment steps of the model over all resumes.
    pub total_env_steps: u64,
    /// Seconds spent in the learning episodes (when a clock was given).
    pub train_seconds: Option<f64>,
    /// The replay buffer at the end (oldest first).
    pub experiences: Vec<ExperienceRow>,
    /// The model resumed from.
    pub parent_id: Option<i64>,
    /// Seed.
    pub seed: u64,
}

impl TrainOutcome {
    /// Count of each action name on the test window.
    pub fn action_counts(&self) -> BTreeMap<String, u64> {
        let names = self.spec.kind.actions();
        let mut m: BTreeMap<String, u64> = names.iter().map(|n| (n.to_string(), 0)).collect();
        for &(_, a) in &self.test_actions {
            if let Some(n) = names.get(usize::from(a))
                && let Some(c) = m.get_mut(*n)
            {
                *c += 1;
            }
        }
        m
    }

    /// Liquidations on the test window.
    pub fn test_liquidations(&self) -> usize {
        self.test_result
            .trades
            .iter()
            .filter(|t| t.exit_reason == ExitReason::Liquidation)
            .count()
    }

    /// Environment steps per second while learning.
    pub fn steps_per_sec(&self) -> Option<f64> {
        self.train_seconds
            .filter(|s| *s > 0.0)
            .map(|s| self.env_steps as f64 / s)
    }
}

/// SHA-256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Split the bars by time (see the module doc).
///
/// # Errors
/// [`Error::Usage`] when a window is too short.
pub fn windows(bars: &Bars, s: &TrainSettings, warmup: usize) -> Result<[Range<usize>; 3], Error> {
    let n = bars.len();
    let a = (n as f64 * s.train_frac).round() as usize;
    let b = (a + (n as f64 * s.validation_frac).round() as usize).min(n);
    let need_train = warmup + MIN_TRAIN_STEPS;
    let w = [0..a, a..b, b..n];
    for (name, r, need) in [
        ("training", &w[0], need_train),
        ("validation", &w[1], MIN_WINDOW_BARS),
        ("test", &w[2], MIN_WINDOW_BARS),
    ] {
        if r.len() < need {
            return Err(Error::Usage(format!(
                "too few bars: the {name} window has {} of {n} bars; it needs at least {need} (more data or another --split)",
                r.len()
            )));
        }
    }
    Ok(w)
}

fn window_cfg(cfg: &BacktestConfig, bars: &Bars, w: &Range<usize>) -> BacktestConfig {
    let ts = bars.ts_ms();
    BacktestConfig {
        from_ts_ms: Some(ts[w.start]),
        to_ts_ms: Some(ts[w.end - 1]),
        ..*cfg
    }
}

/// Stats of an engine result over its window.
pub fn stats_of(bars: &Bars, r: &BacktestResult, cash: f64) -> Stats {
    let first = r.first_bar;
    let n = r.equity.len();
    compute(&StatsInput {
        ts_ms: &bars.ts_ms()[first..first + n],
        close: &bars.close()[first..first + n],
        equity: &r.equity,
        exposure: &r.exposure,
        trades: &r.trades,
        fees_paid: r.fees_paid,
        cash0: cash,
    })
}

/// One training episode: drive `learner` through the engine from `cfg.from_ts_ms` to bar
/// `end` (exclusive); when the account is wiped out at bar t before the end, the learner
/// stores that terminal step ([`Learner::refund`]) and a new run with fresh capital starts
/// at t + 1 (DESIGN "RL training after a liquidation"). Returns the agent and the episode's
/// figures.
///
/// # Errors
/// [`Error::Engine`] if a run fails; [`Error::Nn`] when a loss or weight went non-finite.
pub fn learn_window(
    bars: &Bars,
    mut learner: Learner,
    cfg: &BacktestConfig,
    end: usize,
) -> Result<(DqnAgent, crate::strategy::dqn::EpisodeStats), Error> {
    let ts = bars.ts_ms();
    let mut cfg = *cfg;
    loop {
        let res = run_backtest(bars, &mut learner, &cfg)?;
        let last = res.equity.last().copied().unwrap_or(cfg.cash);
        match wiped_out(&res) {
            Some((t, liquidated)) if t + 1 < end && !learner.failed() => {
                learner.refund(t, last, liquidated);
                cfg.from_ts_ms = Some(ts[t + 1]);
            }
            Some((_, liquidated)) => return Ok(learner.finish_with(last, liquidated)?),
            None => return Ok(learner.finish(last)?),
        }
    }
}

/// The bar at whose close a run's account was wiped out (bankruptcy: equity marked 0; or a
/// halt: equity below one minimum order, flat), and whether a position was liquidated at
/// that bar; `None` when the run went to its end.
pub fn wiped_out(r: &BacktestResult) -> Option<(usize, bool)> {
    let t = if r.bankrupt {
        r.first_bar + r.equity.iter().position(|e| *e <= 0.0)?
    } else {
        r.halted?.t
    };
    let liquidated = r
        .trades
        .last()
        .is_some_and(|tr| tr.exit_reason == ExitReason::Liquidation && tr.exit_bar == t);
    Some((t, liquidated))
}

/// Per-bar Sharpe ratio (mean / sample sd of bar returns; NaN when undefined).
pub fn sharpe_per_bar(equity: &[f64]) -> f64 {
    let r: Vec<f64> = equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    if r.len() < 2 || r.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let n = r.len() as f64;
    let m = r.iter().sum::<f64>() / n;
    let var = r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    if var > 0.0 { m / var.sqrt() } else { f64::NAN }
}

/// The engine settings a kind trains and runs with.
pub fn engine_for(kind: AgentKind, cfg: &BacktestConfig, max_leverage: f64) -> BacktestConfig {
    BacktestConfig {
        leverage: match kind {
            AgentKind::Dqn => 1.0,
            AgentKind::LeverageDqn => max_leverage,
        },
        ..*cfg
    }
}

/// Check what the features need from the data and the settings.
///
/// # Errors
/// [`Error::Usage`] for `--max-leverage` outside 1–125, bars without a regular interval,
/// or bars without volume (the volume-ratio feature needs it).
pub fn check_inputs(bars: &Bars, s: &TrainSettings) -> Result<i64, Error> {
    check_settings(s)?;
    let interval = bars.interval_ms().filter(|i| *i > 0).ok_or_else(|| {
        Error::Usage("too few bars: need at least two to know the bar interval".into())
    })?;
    if bars.volume().iter().all(|v| *v == 0.0) {
        return Err(Error::Usage(
            "the data has no volume (every bar is 0): the volume_ratio feature needs a volume column"
                .into(),
        ));
    }
    Ok(interval)
}

/// Train, choose the checkpoint on validation, score the test window once (module doc).
/// `progress` is called after each episode; `clock` (seconds, from the caller: library
/// code reads no wall clock) times the learning episodes.
///
/// # Errors
/// [`Error::Usage`] for bad input (see [`check_inputs`], [`windows`], a resumed model of
/// another kind or interval); [`Error::Nn`] when a loss or weight becomes non-finite (the
/// step is named; nothing is stored); [`Error::Engine`] if a backtest fails.
pub fn train(
    bars: &Bars,
    s: &TrainSettings,
    resume: Option<Resume>,
    progress: &mut dyn FnMut(&EpisodeReport),
    clock: Option<&dyn Fn() -> f64>,
) -> Result<TrainOutcome, Error> {
    let interval = check_inputs(bars, s)?;
    let kind = s.kind;
    let engine = engine_for(kind, &s.engine, s.max_leverage);
    engine.validate()?;
    let warm = crate::features::MarketFeatures::new(interval)?.warmup_bars();
    let w = windows(bars, s, warm)?;
    let ts = bars.ts_ms();

    let (spec, mut agent, parent_id, prior_steps) = match resume {
        Some(r) => {
            if r.spec.kind != kind {
                return Err(Error::Usage(format!(
                    "model {} is a {} model; this command trains {}",
                    r.id,
                    r.spec.kind.name(),
                    kind.name()
                )));
            }
            if r.spec.interval_ms != interval {
                return Err(Error::Usage(format!(
                    "model {} was trained on bars of {} ms; these bars are {} ms apart",
                    r.id, r.spec.interval_ms, interval
                )));
            }
            let spec = ModelSpec {
                leverage: engine.leverage,
                ..r.spec
            };
            let mut agent =
                DqnAgent::from_parts(spec.config, r.net, r.optimizer.as_deref(), s.seed)?;
            for e in &r.experiences {
                agent.observe(&Transition {
                    state: &e.state,
                    action: e.action,
                    reward: e.reward,
                    next_state: &e.next_state,
                    done: e.done,
                });
            }
            agent.set_env_steps(r.env_steps);
            (spec, agent, Some(r.id), r.env_steps)
        }
        None => {
            let rows = market_rows(bars, interval)?;
            let features = kind.features();
            let normaliser = Normaliser::fit(features, &rows[w[0].clone()]);
            let planned = (s.episodes * w[0].len().saturating_sub(warm)) as u64;
            let config = DqnConfig {
                eps_decay_steps: if s.dqn.eps_decay_steps == 0 {
                    (planned / 2).max(1)
                } else {
                    s.dqn.eps_decay_steps
                },
                ..s.dqn
            };
            let n_actions = kind.actions().len();
            let agent = DqnAgent::new(config, features.width(), n_actions, s.seed)?;
            let spec = ModelSpec {
                kind,
                features,
                normaliser,
                interval_ms: interval,
                leverage: engine.leverage,
                config,
                sizes: agent.online().sizes().to_vec(),
            };
            (spec, agent, None, 0)
        }
    };

    let train_cfg = window_cfg(&engine, bars, &w[0]);
    let val_cfg = window_cfg(&engine, bars, &w[1]);
    let mut best: Option<(f64, usize, Mlp)> = None;
    let mut episodes = Vec::with_capacity(s.episodes);
    let mut seconds = 0.0;
    let mut train_liquidations = 0;
    let mut train_refunds = 0;
    let start_steps = agent.env_steps();
    for ep in 1..=s.episodes {
        let t0 = clock.map(|c| c());
        let learner = Learner::new(spec.clone(), agent, w[0].start, w[0].end)?;
        let (a, st) = learn_window(bars, learner, &train_cfg, w[0].end)?;
        agent = a;
        if let (Some(c), Some(t0)) = (clock, t0) {
            seconds += c() - t0;
        }
        train_liquidations += st.liquidations;
        train_refunds += st.refunds;
        // score the greedy policy on validation
        let mut policy = DqnStrategy::new(spec.clone(), agent.online().clone())?;
        let vres = run_backtest(bars, &mut policy, &val_cfg)?;
        let vstats = stats_of(bars, &vres, engine.cash);
        let score = if vstats.sharpe.is_finite() {
            vstats.sharpe
        } else {
            UNDEFINED_SCORE
        };
        let better = best.as_ref().is_none_or(|(b, _, _)| score > *b);
        if better {
            best = Some((score, ep, agent.online().clone()));
        }
        let rep = EpisodeReport {
            episode: ep,
            epsilon: agent.epsilon(),
            loss: if st.grad_steps > 0 {
                st.loss_sum / st.grad_steps as f64
            } else {
                f64::NAN
            },
            reward: st.reward_sum,
            mean_reward: if st.steps > 0 {
                st.reward_sum / st.steps as f64
            } else {
                f64::NAN
            },
            steps: st.steps,
            liquidations: st.liquidations,
            refunds: st.refunds,
            validation_score: score,
            validation_return_pct: vstats.return_pct,
            validation_sharpe_per_bar: sharpe_per_bar(&vres.equity),
            checkpoint: better,
        };
        progress(&rep);
        episodes.push(rep);
    }
    let (best_episode, net) = match best {
        Some((_, ep, net)) => (ep, net),
        None => (0, agent.online().clone()),
    };
    if !net.is_finite() {
        return Err(Error::Nn(crate::ai::nn::NnError::NotFinite {
            what: "weight",
            step: agent.grad_steps(),
        }));
    }
    let weights = net.to_bytes();
    let weights_sha256 = sha256_hex(&weights);

    // the test window, once, with the strategy a stored model becomes
    let test_cfg = window_cfg(&engine, bars, &w[2]);
    let mut model = DqnStrategy::new(spec.clone(), Mlp::from_bytes(&spec.sizes, &weights)?)?
        .with_decision_log();
    let test_result = run_backtest(bars, &mut model, &test_cfg)?;
    let test = stats_of(bars, &test_result, engine.cash);
    let test_actions: Vec<(usize, u8)> = model
        .decisions()
        .iter()
        .copied()
        .filter(|(t, _)| w[2].contains(t))
        .collect();

    let tech_cfg = BacktestConfig {
        risk: crate::app::load::RiskChoice::Auto.config("technical"),
        leverage: 1.0,
        ..test_cfg
    };
    let tech_params = Params::resolve(strategy::param_specs("technical")?, &[])?;
    let mut tech = strategy::build("technical", &tech_params)?;
    let tech_result = run_backtest(bars, &mut *tech, &tech_cfg)?;
    let technical = stats_of(bars, &tech_result, engine.cash);
    let bh_equity = buy_hold(&bars.close()[w[2].clone()], engine.cash);
    let bh_result = BacktestResult {
        first_bar: w[2].start,
        exposure: vec![true; bh_equity.len()],
        equity: bh_equity.clone().into(),
        ..BacktestResult::default()
    };
    let buy_hold_stats = stats_of(bars, &bh_result, engine.cash);

    let replay = agent.replay();
    let experiences = (0..replay.len())
        .filter_map(|i| replay.get(i))
        .map(|t| ExperienceRow {
            state: t.state.to_vec(),
            action: t.action,
            reward: t.reward,
            next_state: t.next_state.to_vec(),
            done: t.done,
        })
        .collect();
    let iso = |i: usize| crate::metrics::iso(ts[i]);
    let win = |r: &Range<usize>| Window {
        start: iso(r.start),
        end: iso(r.end - 1),
        bars: r.len(),
    };
    let env_steps = agent.env_steps() - start_steps;
    Ok(TrainOutcome {
        split: Split {
            train: win(&w[0]),
            validation: win(&w[1]),
            test: win(&w[2]),
        },
        windows: w,
        optimizer: agent.adam().to_bytes(),
        weights_sha256,
        net,
        episodes,
        best_episode,
        test,
        test_result,
        test_actions,
        buy_hold: buy_hold_stats,
        buy_hold_equity: bh_equity,
        technical,
        technical_equity: tech_result.equity.to_vec(),
        train_liquidations,
        train_refunds,
        env_steps,
        total_env_steps: prior_steps + env_steps,
        train_seconds: clock.map(|_| seconds),
        experiences,
        parent_id,
        seed: s.seed,
        spec,
    })
}

/// What `train-rl` / `train-leverage` ask for: everything parsed, nothing read yet.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// The bars.
    pub data: crate::app::load::DataSpec,
    /// Agent, episodes, seed, hyper-parameters, split and engine settings.
    pub settings: TrainSettings,
    /// Continue training this stored model.
    pub resume_from: Option<i64>,
    /// Write rl.html and episodes.csv into this folder.
    pub report: Option<std::path::PathBuf>,
}

/// What a training run produced.
#[derive(Debug, Clone)]
pub struct TrainReply {
    /// The bars and where they came from.
    pub data: crate::app::load::LoadedData,
    /// The training's result.
    pub outcome: TrainOutcome,
    /// What was stored.
    pub record: RecordOutcome,
    /// The report's HTML file, when written.
    pub report: Option<std::path::PathBuf>,
}

/// `algolab train-rl` / `train-leverage`: load the bars (and the model to resume), train,
/// score the test window, store the model, write the report. `progress` is called after each
/// episode; `clock` (seconds) times the learning episodes.
///
/// # Errors
/// As [`train`], plus [`Error::Data`] for bad data, [`Error::Usage`] for an unknown
/// `--resume-from` model, and [`Error::Store`]/[`Error::Report`].
pub fn run(
    ctx: &crate::app::Ctx,
    req: TrainRequest,
    progress: &mut dyn FnMut(&EpisodeReport),
    clock: Option<&dyn Fn() -> f64>,
) -> Result<TrainReply, Error> {
    let kind = req.settings.kind;
    check_settings(&req.settings)?;
    let resume = match req.resume_from {
        Some(id) if !ctx.db_path.is_file() => {
            return Err(Error::Usage(format!(
                "no model with id {id}: no learning DB at {}",
                ctx.db_path.display()
            )));
        }
        Some(id) => Some(record::resume(&ctx.store()?, id, kind)?),
        None => None,
    };
    let data = crate::app::load::load_data(&req.data, &ctx.data_dir)?;
    let command = match kind {
        AgentKind::Dqn => "train-rl",
        AgentKind::LeverageDqn => "train-leverage",
    };
    let row = ctx.run_record(command, Some(req.settings.seed));
    let outcome = train(&data.bars, &req.settings, resume, progress, clock)?;
    let mut store = ctx.store()?;
    let rec = record(&mut store, row, &data, &outcome, &(ctx.now_iso)())?;
    if let Some(dir) = &req.report {
        write_report(dir, &data, &outcome, &rec)?;
    }
    Ok(TrainReply {
        report: req.report.as_ref().map(|d| d.join("rl.html")),
        data,
        outcome,
        record: rec,
    })
}

/// Stored models of `kind` (optionally of one symbol), newest first.
///
/// # Errors
/// [`Error::Usage`] when there is no learning DB yet; [`Error::Store`].
pub fn list(
    ctx: &crate::app::Ctx,
    symbol: Option<&str>,
    kind: AgentKind,
    limit: usize,
) -> Result<Vec<crate::store::ModelRow>, Error> {
    if !ctx.db_path.is_file() {
        return Err(Error::Usage(format!(
            "no learning DB at {} (train a model first, or set DATA_DIR)",
            ctx.db_path.display()
        )));
    }
    Ok(ctx.store()?.list_models(symbol, Some(kind.name()), limit)?)
}

/// The checks that need no data: `--max-leverage`, episodes, hyper-parameters.
///
/// # Errors
/// [`Error::Usage`] or [`Error::Param`] naming the bad value.
pub fn check_settings(s: &TrainSettings) -> Result<(), Error> {
    if !(1.0..=125.0).contains(&s.max_leverage) {
        return Err(Error::Usage(format!(
            "--max-leverage {} is out of range: 1..=125",
            s.max_leverage
        )));
    }
    if s.episodes == 0 {
        return Err(Error::Usage("--episodes must be at least 1".into()));
    }
    s.dqn.validate()?;
    Ok(())
}

#[cfg(test)]
mod tests;
