//! `algolab optimize` as one use case: load the bars, open or resume the run in the
//! learning DB, search with every trial recorded as its batch finishes, finish the run and
//! write the report; and `--show`, the best stored parameters per regime. The CLI and a
//! server call these; the search itself is [`super::optimize_with`].

use std::path::PathBuf;

use super::record::{DbObserver, ProgressFn, objective_name, outcome_json, prior_trials};
use super::{Observer, OptimizeOutcome, OptimizeSpec, PriorTrials, optimize_with};
use crate::Error;
use crate::app::Ctx;
use crate::app::backtest::{DataSpec, LoadedData, load_data};
use crate::store::OptimizationRow;

/// What `algolab optimize` asks for.
#[derive(Debug, Clone)]
pub struct OptimizeRequest {
    /// The bars.
    pub data: DataSpec,
    /// The search, checked with [`super::check_spec`] before any data is read.
    pub spec: OptimizeSpec,
    /// Continue this interrupted run (same arguments): recorded trials are not re-run.
    pub resume: Option<i64>,
    /// Record the run and its trials in the learning DB.
    pub record: bool,
    /// Write optimize.html into this folder.
    pub report: Option<PathBuf>,
    /// The trials of merged shards (`optimize --merge`), replayed instead of re-evaluated.
    pub merged: Option<Vec<crate::optimize::Trial>>,
}

/// What `algolab optimize` produced.
#[derive(Debug, Clone)]
pub struct OptimizeReply {
    /// The bars and where they came from.
    pub data: LoadedData,
    /// The search's result.
    pub outcome: OptimizeOutcome,
    /// The run id, when recorded.
    pub run_id: Option<i64>,
    /// The report folder, when written.
    pub report: Option<PathBuf>,
}

struct NoRecord<'a>(ProgressFn<'a>);

impl Observer for NoRecord<'_> {
    fn progress(&mut self, done: usize, total: usize) {
        (self.0)("all", done, total);
    }
}

/// `algolab optimize`. `progress` gets the scope (`all`, a regime, a fold), the trials done
/// and the trials in the search.
///
/// # Errors
/// [`Error::Usage`]/[`Error::Param`]/[`Error::Data`] for bad input (a resumed run that is
/// not an optimize run included); engine, DB or report failures otherwise. A failed search
/// marks the recorded run failed.
pub fn run<'p>(
    ctx: &Ctx,
    req: OptimizeRequest,
    progress: ProgressFn<'p>,
) -> Result<OptimizeReply, Error> {
    let spec = &req.spec;
    super::check_spec(spec)?;
    let data = load_data(&req.data, &ctx.data_dir)?;
    let strategy = spec.strategy.as_str();
    let (out, run_id) = if req.record {
        let mut store = ctx.store()?;
        let run_id = match req.resume {
            Some(id) => {
                let run = store.load_run(id)?;
                if run.record.command != "optimize" {
                    return Err(Error::Usage(format!(
                        "run {id} is a {} run, not optimize",
                        run.record.command
                    )));
                }
                id
            }
            None => {
                let mut rec = ctx.run_record("optimize", Some(spec.seed));
                rec.data_hash = Some(data.bars.content_hash());
                rec.data_path = Some(data.path.display().to_string());
                rec.symbol = Some(data.label.clone());
                rec.strategy = Some(strategy.to_string());
                rec.params_json = Some(serde_json::to_string(&spec.params).unwrap_or_default());
                store.begin_run(&rec)?
            }
        };
        let prior = prior_trials(
            &store,
            &data.label,
            strategy,
            Some(run_id),
            &data.bars.content_hash(),
        )?;
        let res = {
            let mut obs = DbObserver::new(
                &mut store,
                run_id,
                &data.label,
                strategy,
                &spec.objective,
                spec.min_trades,
                progress,
            );
            let mut obs = super::shard::Merged::new(req.merged.clone(), &mut obs);
            optimize_with(&data.bars, spec, &prior, &mut obs)
        };
        let out = match res {
            Ok(o) => o,
            Err(e) => {
                let _ = store.fail_run(run_id, &(ctx.now_iso)());
                return Err(e);
            }
        };
        if !out.stopped {
            let summary = outcome_json(&out, Some(run_id), &data.label, strategy);
            let stats = serde_json::json!({
                "objective": objective_name(&spec.objective),
                "best": summary["best"], "dsr": summary["dsr"], "pbo": summary["pbo"],
            });
            // the winner's equity curve, so `report RUN_ID` can draw it again
            if let Some(b) = &out.best {
                let ts = data.bars.ts_ms();
                if let Some(ts) = ts.get(b.first_bar..b.first_bar + b.equity.len()) {
                    store.insert_equity(run_id, ts, &b.equity)?;
                }
            }
            store.finish_run(run_id, &stats.to_string(), &(ctx.now_iso)())?;
        }
        (out, Some(run_id))
    } else {
        let mut obs = NoRecord(progress);
        let mut obs = super::shard::Merged::new(req.merged.clone(), &mut obs);
        (
            optimize_with(&data.bars, spec, &PriorTrials::default(), &mut obs)?,
            None,
        )
    };
    let report = match &req.report {
        Some(dir) if !out.stopped => {
            super::record::write_report(dir, &out, &data.bars, &data.label, strategy)?;
            Some(dir.clone())
        }
        _ => None,
    };
    Ok(OptimizeReply {
        data,
        outcome: out,
        run_id,
        report,
    })
}

/// `algolab optimize --show SYMBOL`: the best stored parameters per strategy and regime.
///
/// # Errors
/// [`Error::Store`] when the DB cannot be opened or read.
pub fn show(ctx: &Ctx, symbol: &str) -> Result<Vec<OptimizationRow>, Error> {
    Ok(ctx.store()?.best_optimization_results(symbol)?)
}
