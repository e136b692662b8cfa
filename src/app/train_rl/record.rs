//! Storing a trained model (the `models` and `rl_experiences` tables, the run with its
//! test-window trades and equity), the deflated Sharpe over every model of the same symbol
//! and kind, loading a stored model back as a strategy or to resume, and the report.

use std::path::Path;

use serde_json::json;

use super::{Resume, TrainOutcome, sharpe_per_bar};
use crate::Error;
use crate::ai::dqn::{AgentKind, ModelSpec};
use crate::ai::nn::Mlp;
use crate::app::load::LoadedData;
use crate::optimize::overfit::deflated_sharpe_from;
use crate::optimize::{DsrResult, return_moments};
use crate::report::rl::{EpisodeSeries, RlReport, write_rl_report};
use crate::store::{ModelRow, RunRecord, Store};
use crate::strategy::dqn::DqnStrategy;

/// What [`record`] stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome {
    /// The run id.
    pub run_id: i64,
    /// The model id.
    pub model_id: i64,
    /// Deflated Sharpe of the test window over every validation checkpoint of every model
    /// of this symbol and kind.
    pub dsr: Option<DsrResult>,
    /// Why it is missing, if it is.
    pub dsr_note: Option<String>,
    /// Trials it counted.
    pub trials: usize,
}

/// The metrics JSON stored with a model (and printed by `--json`, with the ids).
pub fn metrics_json(out: &TrainOutcome) -> serde_json::Value {
    json!({
        "split": out.split,
        "test": out.test,
        "baselines": { "buy_hold": out.buy_hold, "technical": out.technical },
        "actions": out.action_counts(),
        "liquidations": {
            "train": out.train_liquidations,
            "test": out.test_liquidations(),
            "train_refunds": out.train_refunds,
        },
        "best_episode": out.best_episode,
        "validation_trials": out.episodes.iter().map(|e| e.validation_sharpe_per_bar).collect::<Vec<_>>(),
        "episodes": out.episodes,
        "env_steps": out.env_steps,
        "total_env_steps": out.total_env_steps,
    })
}

/// Store the run, the model with its replay transitions, and the deflated Sharpe.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be written (the model and its experiences are one
/// transaction: nothing half-written is kept).
pub fn record(
    store: &mut Store,
    mut run: RunRecord,
    data: &LoadedData,
    out: &TrainOutcome,
    ended_at: &str,
) -> Result<RecordOutcome, Error> {
    let kind = out.spec.kind;
    run.data_hash = Some(data.bars.content_hash());
    run.data_path = Some(data.path.display().to_string());
    run.symbol = Some(data.label.clone());
    run.strategy = Some(kind.name().into());
    let run_id = store.begin_run(&run)?;
    let spec_json = serde_json::to_string(&out.spec)
        .map_err(|e| Error::Usage(format!("model spec json: {e}")))?;
    let weights = out.net.to_bytes();
    let mut metrics = metrics_json(out);
    let model_id = store.insert_model(
        &ModelRow {
            id: 0,
            run_id: Some(run_id),
            parent_id: out.parent_id,
            kind: kind.name().into(),
            symbol: data.label.clone(),
            feature_spec: out.spec.features.id().into(),
            spec_json,
            weights_sha256: out.weights_sha256.clone(),
            weights,
            optimizer: Some(out.optimizer.clone()),
            data_hash: run.data_hash.clone(),
            seed: Some(out.seed),
            env_steps: out.total_env_steps,
            metrics_json: metrics.to_string(),
            created_at: ended_at.into(),
        },
        &out.experiences,
    )?;

    // every validation checkpoint of every model of this symbol and kind is a trial
    let mut trials: Vec<f64> = Vec::new();
    for m in store.list_models(Some(&data.label), Some(kind.name()), usize::MAX >> 1)? {
        let v: serde_json::Value = serde_json::from_str(&m.metrics_json).unwrap_or_default();
        if let Some(arr) = v.get("validation_trials").and_then(|a| a.as_array()) {
            trials.extend(arr.iter().filter_map(serde_json::Value::as_f64));
        }
    }
    let finite: Vec<f64> = trials.iter().copied().filter(|v| v.is_finite()).collect();
    let returns: Vec<f64> = out
        .test_result
        .equity
        .windows(2)
        .map(|w| w[1] / w[0] - 1.0)
        .collect();
    let (dsr, dsr_note) = match return_moments(&returns) {
        None => (None, Some("the test-window returns are flat".to_string())),
        Some(_) if finite.len() < 2 => (
            None,
            Some(format!(
                "{} finite validation trial(s) for {} {}: at least 2 are needed",
                finite.len(),
                data.label,
                kind.name()
            )),
        ),
        Some(m) => {
            let mean = finite.iter().sum::<f64>() / finite.len() as f64;
            let var = finite.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>()
                / (finite.len() - 1) as f64;
            match deflated_sharpe_from(m.sharpe, m.n, m.skew, m.kurt, trials.len(), var) {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(e.to_string())),
            }
        }
    };
    if let Some(obj) = metrics.as_object_mut() {
        obj.insert("dsr".into(), json!(dsr));
        obj.insert("dsr_note".into(), json!(dsr_note));
        obj.insert("dsr_trials".into(), json!(trials.len()));
        obj.insert(
            "test_sharpe_per_bar".into(),
            json!(sharpe_per_bar(&out.test_result.equity)),
        );
    }
    store.set_model_metrics(model_id, &metrics.to_string())?;
    let first = out.test_result.first_bar;
    let ts = &data.bars.ts_ms()[first..first + out.test_result.equity.len()];
    store.insert_trades(run_id, &out.test_result.trades)?;
    store.insert_equity(run_id, ts, &out.test_result.equity)?;
    let stats_json = serde_json::to_string(&out.test).unwrap_or_else(|_| "{}".into());
    store.finish_run(run_id, &stats_json, ended_at)?;
    Ok(RecordOutcome {
        run_id,
        model_id,
        dsr,
        dsr_note,
        trials: trials.len(),
    })
}

/// A stored model, parsed.
#[derive(Debug, Clone)]
pub struct ModelLoad {
    /// The row.
    pub row: ModelRow,
    /// Its spec.
    pub spec: ModelSpec,
    /// Its weights.
    pub net: Mlp,
}

/// Load model `id`; with `kind`, refuse a model of another kind.
///
/// # Errors
/// [`Error::Usage`] for an unknown id, a model of another kind or feature spec, or an
/// unreadable spec or weights blob; [`Error::Store`] when the DB fails.
pub fn load_model(store: &Store, id: i64, kind: Option<AgentKind>) -> Result<ModelLoad, Error> {
    let row = store.load_model(id)?.ok_or_else(|| {
        Error::Usage(format!(
            "no model with id {id} (see `algolab train-rl --list` or `algolab train-leverage --list`)"
        ))
    })?;
    let spec: ModelSpec = serde_json::from_str(&row.spec_json)
        .map_err(|e| Error::Usage(format!("model {id}: unreadable spec: {e}")))?;
    if let Some(k) = kind
        && (spec.kind != k || spec.features != k.features())
    {
        return Err(Error::Usage(format!(
            "model {id} is a {} model with feature spec {}; {} needs {}",
            spec.kind.name(),
            spec.features.id(),
            k.name(),
            k.features().id()
        )));
    }
    let net = Mlp::from_bytes(&spec.sizes, &row.weights)
        .map_err(|e| Error::Usage(format!("model {id}: {e}")))?;
    Ok(ModelLoad { row, spec, net })
}

/// Stored model `id` as the strategy `name` (`dqn` or `leverage-dqn`).
///
/// # Errors
/// As [`load_model`]; [`Error::Usage`] for another strategy name.
pub fn model_strategy(store: &Store, name: &str, id: i64) -> Result<DqnStrategy, Error> {
    let kind = AgentKind::parse(name)
        .ok_or_else(|| Error::Usage(format!("{name} is not a DQN strategy")))?;
    let m = load_model(store, id, Some(kind))?;
    let s =
        DqnStrategy::new(m.spec, m.net).map_err(|e| Error::Usage(format!("model {id}: {e}")))?;
    Ok(s.with_id(id))
}

/// A stored model prepared for `--resume-from`.
///
/// # Errors
/// As [`load_model`].
pub fn resume(store: &Store, id: i64, kind: AgentKind) -> Result<Resume, Error> {
    let m = load_model(store, id, Some(kind))?;
    Ok(Resume {
        id,
        experiences: store.load_experiences(id)?,
        env_steps: m.row.env_steps,
        optimizer: m.row.optimizer,
        spec: m.spec,
        net: m.net,
    })
}

/// Write the `--report DIR` files.
///
/// # Errors
/// [`Error::Report`] when a file cannot be written.
pub fn write_report(
    dir: &Path,
    data: &LoadedData,
    out: &TrainOutcome,
    rec: &RecordOutcome,
) -> Result<(), Error> {
    let test = out.windows[2].clone();
    let bars = &data.bars;
    write_rl_report(
        dir,
        &RlReport {
            title: format!(
                "{} · {} · model {}",
                data.label,
                out.spec.kind.name(),
                rec.model_id
            ),
            action_names: out.spec.kind.actions(),
            episodes: EpisodeSeries {
                reward: out.episodes.iter().map(|e| e.reward).collect(),
                loss: out.episodes.iter().map(|e| e.loss).collect(),
                epsilon: out.episodes.iter().map(|e| e.epsilon).collect(),
                validation: out.episodes.iter().map(|e| e.validation_score).collect(),
            },
            ts_ms: &bars.ts_ms()[test.clone()],
            close: &bars.close()[test.clone()],
            first_bar: test.start,
            equity: &out.test_result.equity,
            buy_hold: &out.buy_hold_equity,
            technical: &out.technical_equity,
            trades: &out.test_result.trades,
            actions: &out.test_actions,
            compare: [
                (out.spec.kind.name(), &out.test),
                ("buy & hold", &out.buy_hold),
                ("technical", &out.technical),
            ],
            facts: vec![
                ("model id".into(), rec.model_id.to_string()),
                ("weights sha256".into(), out.weights_sha256.clone()),
                ("seed".into(), out.seed.to_string()),
                ("checkpoint episode".into(), out.best_episode.to_string()),
                ("env steps".into(), out.env_steps.to_string()),
                (
                    "deflated Sharpe".into(),
                    match (&rec.dsr, &rec.dsr_note) {
                        (Some(d), _) => format!("{:.3} over {} trials", d.dsr, rec.trials),
                        (None, Some(n)) => format!("n/a ({n})"),
                        (None, None) => "n/a".into(),
                    },
                ),
            ],
        },
    )?;
    Ok(())
}
