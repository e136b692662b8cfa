//! Sharded optimisation: one search split over N processes (a Slurm job array, a
//! Kubernetes Indexed Job), then merged into the result of the unsharded run.
//!
//! The trials of the search over all bars are numbered as the unsharded run numbers them
//! (grid points in order after the constraints; the random sampler's asks in order, which
//! do not depend on the values told back). Shard `K/N` owns the trials whose index is `K`
//! modulo `N` (round robin, so neighbouring grid points, which cost alike, spread over
//! the shards), evaluates them exactly as the unsharded run would, and records them
//! through an [`Observer`] (the CLI: a learning DB of its own in `--out DIR`). TPE is not
//! shardable: each of its asks depends on every earlier value.
//!
//! The merge reads every shard's trials, checks that they come from the same search (the
//! spec's [`fingerprint`]) and cover each evaluated trial exactly once with the same
//! parameters, and replays them through the ordinary search as a resumed run replays its
//! recorded trials ([`Merged`]). So the winner, the top table, the deflated Sharpe ratio
//! (over every trial of every shard) and PBO (whose return matrix re-runs the trials it
//! picks) are computed by the same code on the same trials: the `--json` equals the
//! unsharded run's.
//!
//! Work per shard is `1/N` of the trials; the merge re-runs only the winner and PBO's
//! columns (at most `pbo_max_trials`), so it stays constant as N grows.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::eval::Evaluator;
use super::search::{Method, trial_of};
use super::{Observer, OptimizeSpec, SCOPE_ALL, check_spec, default_constraints};
use crate::Error;
use crate::data::Bars;
use crate::indicators::ParamError;
use crate::optimize::{Candidate, Constraint, Grid, RandomSearch, Sampler, Trial, satisfies_all};

/// Trials evaluated per batch in a shard (as the grid search's batch).
const SHARD_BATCH: usize = 1024;

/// Shard `index` of `count` (`K/N` on the command line, `0 <= K < N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shard {
    /// This shard's number, from 0.
    pub index: usize,
    /// How many shards split the search.
    pub count: usize,
}

impl Shard {
    /// Whether this shard evaluates trial `trial`.
    pub fn owns(&self, trial: usize) -> bool {
        trial % self.count == self.index
    }

    /// The file a shard's learning DB gets in its output directory.
    pub fn file_name(&self) -> String {
        format!("shard-{:05}-of-{:05}.db", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ParamError;

    fn from_str(s: &str) -> Result<Self, ParamError> {
        let bad = || ParamError::new("shard", s, "K/N with 0 <= K < N, e.g. 3/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A digest of everything that decides the trials: the spec (strategy, fixed parameters,
/// dimensions, constraints, method, trials, seed, objective, backtest settings, …) and the
/// data's content hash. Shards of one search share it; the merge refuses any other.
pub fn fingerprint(spec: &OptimizeSpec, data_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{spec:?}").as_bytes());
    h.update(b"\n");
    h.update(data_hash.as_bytes());
    hex::encode(h.finalize())
}

/// The spec's constraints plus the strategy's built-in ones (as the search uses them).
fn all_constraints(spec: &OptimizeSpec) -> Vec<Constraint> {
    let mut constraints = spec.constraints.clone();
    for c in default_constraints(&spec.strategy, &spec.dims) {
        if !constraints.contains(&c) {
            constraints.push(c);
        }
    }
    constraints
}

/// The candidates of the search over all bars in trial order, and whether each is
/// feasible (random asks may break a constraint; the search records those unevaluated).
/// `stop_after` (an interrupted run, for tests) is not applied.
///
/// # Errors
/// [`Error::Usage`] for TPE (not shardable); [`Error::Param`] for a bad grid.
pub fn candidates(spec: &OptimizeSpec) -> Result<Vec<(Candidate, bool)>, Error> {
    let constraints = all_constraints(spec);
    match spec.method {
        Method::Grid => {
            let g = Grid::new(&spec.dims)?;
            Ok((0..g.len())
                .map(|i| g.candidate(i))
                .filter(|c| satisfies_all(&constraints, c))
                .map(|c| (c, true))
                .collect())
        }
        Method::Random => {
            let mut s = RandomSearch::new(spec.dims.clone(), spec.seed)?
                .with_constraints(constraints.clone());
            // the same distinct points, in the same order, as the unsharded search draws
            // (`search::sampled`: a repeated proposal is asked again, up to REPEAT_ASKS)
            let mut seen = std::collections::BTreeSet::new();
            let mut out = Vec::with_capacity(spec.trials);
            while out.len() < spec.trials {
                let fresh = (0..super::search::REPEAT_ASKS)
                    .map(|_| s.ask())
                    .find(|c| seen.insert(format!("{c:?}")));
                let Some(c) = fresh else { break };
                let ok = satisfies_all(&constraints, &c);
                out.push((c, ok));
            }
            Ok(out)
        }
        Method::Bayes => Err(Error::Usage(
            "--method bayes cannot be sharded: each TPE trial depends on every earlier one; \
             shard a grid or random search"
                .into(),
        )),
    }
}

/// What a shard did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSummary {
    /// The shard.
    pub shard: Shard,
    /// Trials in the whole search.
    pub total: usize,
    /// Trials this shard owns (feasible ones).
    pub owned: usize,
    /// Of those, evaluated now (the rest were recorded by an earlier, interrupted attempt).
    pub evaluated: usize,
}

/// Evaluate the trials `shard` owns, recording them through `obs` under [`SCOPE_ALL`] in
/// batches; trials `obs` already has (a restarted shard) are not evaluated again.
///
/// # Errors
/// As [`candidates`]; [`Error::Usage`] for an empty `--from/--to` window; whatever the
/// evaluator's setup or `obs` fails with.
pub fn run_shard(
    bars: &Bars,
    spec: &OptimizeSpec,
    shard: Shard,
    obs: &mut dyn Observer,
) -> Result<ShardSummary, Error> {
    let base = check_spec(spec)?;
    let cands = candidates(spec)?;
    let total = cands.len();
    let window = super::validate::window_of(bars, &spec.cfg)?;
    let ev = Evaluator::new(
        bars,
        &spec.strategy,
        base,
        &spec.cfg,
        window,
        None,
        &spec.objective.metric,
    )?;
    let done: BTreeSet<usize> = obs.stored(SCOPE_ALL)?.iter().map(|t| t.index).collect();
    let mine: Vec<(usize, Candidate)> = cands
        .into_iter()
        .enumerate()
        .filter(|(i, (_, ok))| *ok && shard.owns(*i))
        .map(|(i, (c, _))| (i, c))
        .collect();
    let owned = mine.len();
    let todo: Vec<(usize, Candidate)> = mine
        .into_iter()
        .filter(|(i, _)| !done.contains(i))
        .collect();
    let mut evaluated = 0;
    obs.progress(owned - todo.len(), owned);
    for chunk in todo.chunks(SHARD_BATCH) {
        let batch: Vec<Candidate> = chunk.iter().map(|(_, c)| c.clone()).collect();
        let outs = ev.eval_batch(&batch);
        let trials: Vec<Trial> = chunk
            .iter()
            .zip(&outs)
            .map(|((i, c), e)| trial_of(*i, c.clone(), e, &spec.objective))
            .collect();
        obs.record(SCOPE_ALL, &trials)?;
        evaluated += trials.len();
        obs.progress(owned - todo.len() + evaluated, owned);
    }
    Ok(ShardSummary {
        shard,
        total,
        owned,
        evaluated,
    })
}

/// Combine the trials of shards of one search: every feasible trial of [`candidates`]
/// exactly once, from the shard that owns it, with the candidate's parameters; sorted by
/// index.
///
/// # Errors
/// [`Error::Usage`] naming the problem: a shard missing or given twice, shards of
/// different counts, a trial missing, or one with other parameters (another search).
pub fn merge(spec: &OptimizeSpec, parts: Vec<(Shard, Vec<Trial>)>) -> Result<Vec<Trial>, Error> {
    let usage = |m: String| Error::Usage(m);
    let Some(count) = parts.first().map(|(s, _)| s.count) else {
        return Err(usage("--merge found no shard".into()));
    };
    let mut seen = BTreeSet::new();
    for (s, _) in &parts {
        if s.count != count {
            return Err(usage(format!("shards of {count} and of {} mixed", s.count)));
        }
        if !seen.insert(s.index) {
            return Err(usage(format!("shard {s} given twice")));
        }
    }
    if let Some(k) = (0..count).find(|k| !seen.contains(k)) {
        return Err(usage(format!("shard {k}/{count} is missing")));
    }
    let cands = candidates(spec)?;
    let mut slots: Vec<Option<Trial>> = vec![None; cands.len()];
    for (s, trials) in parts {
        for t in trials {
            let Some((c, _)) = cands.get(t.index) else {
                return Err(usage(format!(
                    "shard {s} has trial {} beyond the search",
                    t.index
                )));
            };
            if !s.owns(t.index) || c != &t.params {
                return Err(usage(format!(
                    "shard {s} trial {} is not this search's (other arguments?)",
                    t.index
                )));
            }
            if let Some(slot) = slots.get_mut(t.index) {
                *slot = Some(t);
            }
        }
    }
    let mut out = Vec::with_capacity(cands.len());
    for (i, ((_, ok), slot)) in cands.iter().zip(slots).enumerate() {
        match slot {
            Some(t) => out.push(t),
            None if *ok => {
                return Err(usage(format!(
                    "trial {i} (shard {}/{count}) is missing: did that shard finish?",
                    i % count
                )));
            }
            None => {}
        }
    }
    Ok(out)
}

/// An [`Observer`] that supplies merged shard trials to the search over all bars (as a
/// resumed run's recorded trials) and passes everything else on to `inner`; the merged
/// trials are recorded through `inner` once, so its record holds every trial.
pub struct Merged<'a> {
    trials: Option<Vec<Trial>>,
    inner: &'a mut dyn Observer,
}

impl<'a> Merged<'a> {
    /// Replay `trials` (none: pass everything through) in front of `inner`.
    pub fn new(trials: Option<Vec<Trial>>, inner: &'a mut dyn Observer) -> Self {
        Merged { trials, inner }
    }
}

impl Observer for Merged<'_> {
    fn progress(&mut self, done: usize, total: usize) {
        self.inner.progress(done, total);
    }

    fn stored(&mut self, scope: &str) -> Result<Vec<Trial>, Error> {
        let mut stored = self.inner.stored(scope)?;
        if scope != SCOPE_ALL {
            return Ok(stored);
        }
        if let Some(trials) = self.trials.take() {
            let have: BTreeSet<usize> = stored.iter().map(|t| t.index).collect();
            let new: Vec<Trial> = trials
                .into_iter()
                .filter(|t| !have.contains(&t.index))
                .collect();
            self.inner.record(scope, &new)?;
            stored.extend(new);
            stored.sort_by_key(|t| t.index);
        }
        Ok(stored)
    }

    fn record(&mut self, scope: &str, trials: &[Trial]) -> Result<(), Error> {
        self.inner.record(scope, trials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::optimize::{PriorTrials, optimize_with};
    use crate::optimize::parse_grid;
    use crate::testutil::random_walk;

    /// Keeps recorded trials in memory and replays them (a shard's own DB, in tests).
    #[derive(Default)]
    struct Memory(Vec<Trial>);

    impl Observer for Memory {
        fn stored(&mut self, scope: &str) -> Result<Vec<Trial>, Error> {
            Ok(if scope == SCOPE_ALL {
                self.0.clone()
            } else {
                Vec::new()
            })
        }
        fn record(&mut self, scope: &str, trials: &[Trial]) -> Result<(), Error> {
            if scope == SCOPE_ALL {
                self.0.extend_from_slice(trials);
            }
            Ok(())
        }
    }

    fn spec(method: Method) -> OptimizeSpec {
        let dims = ["fast=2..9", "slow=5..16"]
            .iter()
            .map(|g| parse_grid(g).unwrap())
            .collect();
        OptimizeSpec {
            method,
            trials: 30,
            ..OptimizeSpec::new("sma-cross", dims, "sharpe")
        }
    }

    fn shards(bars: &Bars, spec: &OptimizeSpec, n: usize) -> Vec<(Shard, Vec<Trial>)> {
        (0..n)
            .map(|index| {
                let shard = Shard { index, count: n };
                let mut mem = Memory::default();
                run_shard(bars, spec, shard, &mut mem).unwrap();
                (shard, mem.0)
            })
            .collect()
    }

    fn outcome_key(o: &crate::app::optimize::OptimizeOutcome) -> String {
        format!(
            "{:?} {:?} {:?} {:?} {:?}",
            o.trials,
            o.best.as_ref().map(|b| (&b.trial, &b.stats)),
            o.dsr,
            o.dsr_trials,
            o.pbo
        )
    }

    #[test]
    fn shard_parses_k_of_n() {
        assert_eq!(
            "3/8".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 8 }
        );
        assert!("8/8".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!(Shard { index: 2, count: 5 }.to_string(), "2/5");
    }

    #[test]
    fn merged_shards_give_the_unsharded_outcome() {
        let bars = random_walk(600, 4);
        for method in [Method::Grid, Method::Random] {
            let spec = spec(method);
            let whole = optimize_with(
                &bars,
                &spec,
                &PriorTrials::default(),
                &mut Memory::default(),
            )
            .unwrap();
            for n in [1, 3, 7] {
                let parts = shards(&bars, &spec, n);
                let owned: usize = parts.iter().map(|(_, t)| t.len()).sum();
                let merged = merge(&spec, parts).unwrap();
                assert_eq!(merged.len(), owned);
                let mut mem = Memory::default();
                let out = optimize_with(
                    &bars,
                    &spec,
                    &PriorTrials::default(),
                    &mut Merged::new(Some(merged), &mut mem),
                )
                .unwrap();
                assert_eq!(
                    outcome_key(&out),
                    outcome_key(&whole),
                    "{method:?} over {n} shards"
                );
                assert_eq!(mem.0.len(), owned, "every merged trial recorded once");
            }
        }
    }

    #[test]
    fn merge_refuses_missing_or_foreign_shards() {
        let bars = random_walk(300, 5);
        let spec = spec(Method::Grid);
        let mut parts = shards(&bars, &spec, 3);
        let last = parts.pop().unwrap();
        let e = merge(&spec, parts.clone()).unwrap_err().to_string();
        assert!(e.contains("shard 2/3 is missing"), "{e}");
        let mut dup = parts.clone();
        dup.push(parts[0].clone());
        assert!(merge(&spec, dup).unwrap_err().to_string().contains("twice"));
        let mut short = parts.clone();
        let mut cut = last.clone();
        cut.1.pop();
        short.push(cut);
        assert!(
            merge(&spec, short)
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
        let other = OptimizeSpec {
            dims: vec![
                parse_grid("fast=3..10").unwrap(),
                parse_grid("slow=5..16").unwrap(),
            ],
            ..spec.clone()
        };
        parts.push(last);
        assert!(
            merge(&other, parts)
                .unwrap_err()
                .to_string()
                .contains("not this search")
        );
    }

    #[test]
    fn a_restarted_shard_skips_recorded_trials() {
        let bars = random_walk(300, 6);
        let spec = spec(Method::Grid);
        let shard = Shard { index: 1, count: 2 };
        let mut mem = Memory::default();
        let first = run_shard(&bars, &spec, shard, &mut mem).unwrap();
        assert_eq!(first.evaluated, first.owned);
        let again = run_shard(&bars, &spec, shard, &mut mem).unwrap();
        assert_eq!((again.owned, again.evaluated), (first.owned, 0));
    }

    #[test]
    fn tpe_is_not_shardable() {
        let e = candidates(&spec(Method::Bayes)).unwrap_err().to_string();
        assert!(e.contains("cannot be sharded"), "{e}");
    }
}
