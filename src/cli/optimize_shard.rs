//! `algolab optimize --shard K/N --out DIR` and `--merge DIR…`: one search split over
//! processes of a scheduler (deploy/slurm, deploy/k8s), then merged. Parsing, the shard's
//! own learning DB and printing; the work is in [`crate::app::optimize::shard`].

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Global;
use super::common::{note, now_iso};
use crate::app::backtest::LoadedData;
use crate::app::optimize::record::{DbObserver, ProgressFn};
use crate::app::optimize::shard::{Shard, fingerprint, merge, run_shard};
use crate::app::optimize::{Observer, OptimizeSpec, SCOPE_ALL};
use crate::optimize::Trial;
use crate::store::Store;

/// The command name a shard's run is recorded under in its own DB.
const SHARD_COMMAND: &str = "optimize-shard";

/// What a shard's run record carries besides the usual fields.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ShardRecord {
    shard: String,
    fingerprint: String,
}

/// Run shard `shard` of the search `spec` on `data`, recording its trials in
/// `out/shard-K-of-N.db`; a restarted shard continues its earlier attempt.
///
/// # Errors
/// Bad usage (TPE, an empty window); DB or evaluation failures.
pub fn shard(
    ctx: &crate::app::Ctx,
    spec: &OptimizeSpec,
    data: &LoadedData,
    shard: Shard,
    out: &Path,
    g: Global,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(shard.file_name());
    let mut store = Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let fp = fingerprint(spec, &data.bars.content_hash());
    let mine = ShardRecord {
        shard: shard.to_string(),
        fingerprint: fp.clone(),
    };
    let run_id = match shard_run(&store, &path)? {
        Some((id, rec)) if rec.fingerprint == fp && rec.shard == mine.shard => id,
        Some(_) => {
            return Err(super::UsageError(format!(
                "{} holds a shard of another search; use an empty --out",
                path.display()
            ))
            .into());
        }
        None => {
            let mut rec = ctx.run_record(SHARD_COMMAND, Some(spec.seed));
            rec.data_hash = Some(data.bars.content_hash());
            rec.data_path = Some(data.path.display().to_string());
            rec.symbol = Some(data.label.clone());
            rec.strategy = Some(spec.strategy.clone());
            rec.params_json = Some(serde_json::to_string(&mine)?);
            store.begin_run(&rec)?
        }
    };
    let progress: ProgressFn<'_> = Box::new(|_: &str, _: usize, _: usize| {});
    let summary = {
        let mut obs = DbObserver::new(
            &mut store,
            run_id,
            &data.label,
            &spec.strategy,
            &spec.objective,
            spec.min_trades,
            progress,
        );
        run_shard(&data.bars, spec, shard, &mut obs)?
    };
    let stats = serde_json::json!({
        "shard": shard.to_string(), "total": summary.total, "owned": summary.owned,
    });
    store.finish_run(run_id, &stats.to_string(), &now_iso())?;
    note(
        g.quiet,
        &format!(
            "shard {shard}: {} of {} trials ({} evaluated now) in {}",
            summary.owned,
            summary.total,
            summary.evaluated,
            path.display()
        ),
    );
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "shard": shard.to_string(), "index": shard.index, "count": shard.count,
                "total": summary.total, "owned": summary.owned,
                "evaluated": summary.evaluated, "path": path.display().to_string(),
            })
        );
    }
    Ok(())
}

/// The shard run recorded in a shard DB, if any.
fn shard_run(store: &Store, path: &Path) -> anyhow::Result<Option<(i64, ShardRecord)>> {
    let runs = store.list_runs(usize::MAX)?;
    let mut found = None;
    for r in runs
        .into_iter()
        .filter(|r| r.record.command == SHARD_COMMAND)
    {
        let rec: ShardRecord = serde_json::from_str(r.record.params_json.as_deref().unwrap_or(""))
            .with_context(|| format!("reading the shard record of {}", path.display()))?;
        if found.is_some() {
            return Err(
                super::UsageError(format!("{} holds several shard runs", path.display())).into(),
            );
        }
        found = Some((r.id, rec));
    }
    Ok(found)
}

/// The trials of every shard DB in `dirs` (`shard-*.db`), checked against this search
/// and merged; `None` without `--merge`.
///
/// # Errors
/// Usage errors for a missing, foreign, duplicated or unfinished shard; DB failures.
pub fn merged(
    dirs: &[PathBuf],
    spec: &OptimizeSpec,
    data: &LoadedData,
) -> anyhow::Result<Option<Vec<Trial>>> {
    if dirs.is_empty() {
        return Ok(None);
    }
    let fp = fingerprint(spec, &data.bars.content_hash());
    let mut files = Vec::new();
    for d in dirs {
        let rd = std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))?;
        for e in rd {
            let p = e?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("shard-") && name.ends_with(".db") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut parts = Vec::new();
    for path in files {
        let mut store =
            Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let Some((run_id, rec)) = shard_run(&store, &path)? else {
            continue;
        };
        if rec.fingerprint != fp {
            return Err(super::UsageError(format!(
                "{} is a shard of another search (other arguments or data)",
                path.display()
            ))
            .into());
        }
        let shard: Shard = rec.shard.parse()?;
        let trials = DbObserver::new(
            &mut store,
            run_id,
            &data.label,
            &spec.strategy,
            &spec.objective,
            spec.min_trades,
            Box::new(|_: &str, _: usize, _: usize| {}),
        )
        .stored(SCOPE_ALL)?;
        parts.push((shard, trials));
    }
    Ok(Some(merge(spec, parts)?))
}
