//! `algolab report`: rebuild a recorded run's report from the learning DB (a backtest or
//! evolve run's report.html, an optimize run's optimize.html), or list the recorded runs.

use std::path::{Path, PathBuf};

use super::Ctx;
use crate::Error;
use crate::store::{Store, StoredRun};

/// What `algolab report RUN_ID` asks for.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The run.
    pub run_id: i64,
    /// The output folder (default `reports/run-<ID>`).
    pub out: Option<PathBuf>,
}

/// A rebuilt report.
#[derive(Debug, Clone)]
pub struct ReportReply {
    /// The run.
    pub run_id: i64,
    /// The folder written.
    pub dir: PathBuf,
    /// The report's HTML file.
    pub html: PathBuf,
}

fn open(ctx: &Ctx) -> Result<Store, Error> {
    if !ctx.db_path.is_file() {
        return Err(Error::Usage(format!(
            "no learning DB at {} (run a backtest first, or set DATA_DIR)",
            ctx.db_path.display()
        )));
    }
    ctx.store()
}

/// `algolab report RUN_ID`.
///
/// # Errors
/// [`Error::Usage`] without a DB or for an unknown run; [`Error::Report`] when the report
/// cannot be rebuilt or written.
pub fn run(ctx: &Ctx, req: ReportRequest) -> Result<ReportReply, Error> {
    let store = open(ctx)?;
    let id = req.run_id;
    let run = store
        .load_run(id)
        .map_err(|_| Error::Usage(format!("no run {id} in {}", ctx.db_path.display())))?;
    let dir = req
        .out
        .unwrap_or_else(|| PathBuf::from("reports").join(format!("run-{id}")));
    if dir.is_file() {
        return Err(Error::Usage(format!(
            "--out {} is a file; give a folder for the report",
            dir.display()
        )));
    }
    if run.record.command == "optimize" {
        let report = crate::app::optimize::stored_report(&store, &run)?;
        crate::report::optimize::write(&dir, &report)?;
        return Ok(ReportReply {
            run_id: id,
            html: dir.join("optimize.html"),
            dir,
        });
    }
    let bars = run
        .record
        .data_path
        .as_deref()
        .and_then(|p| crate::data::load(Path::new(p)).ok());
    crate::report::rebuild_report(&store, id, bars.as_ref(), &dir)?;
    Ok(ReportReply {
        run_id: id,
        html: dir.join("report.html"),
        dir,
    })
}

/// `algolab report --list`: the most recent `limit` runs, newest first.
///
/// # Errors
/// [`Error::Usage`] without a DB; [`Error::Store`] when it fails.
pub fn list(ctx: &Ctx, limit: usize) -> Result<Vec<StoredRun>, Error> {
    Ok(open(ctx)?.list_runs(limit)?)
}
