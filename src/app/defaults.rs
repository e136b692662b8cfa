//! Default models shipped in the repository (`models/default/*.json`): a DQN, a leverage DQN
//! and an evolved strategy for the bundled BTC/USDT 1h data, so that a fresh clone's
//! `backtest --strategy ai` has every learned component (issue 12, item 8).
//!
//! Each file holds what the learning DB's row holds — the feature spec with the training
//! window's normalisation, the hyper-parameters, the seed, the training data's content hash,
//! the weights (hex of the exact blob whose SHA-256 is `weights_sha256`) or the genome, the
//! test-window figures — plus the `command` that produced it. `scripts/default_models.sh`
//! runs those commands (`train-rl`, `train-leverage`, `evolve` with fixed seeds, into a
//! temporary `DATA_DIR`) and then `algolab ai export-defaults`, which writes the files from
//! the DB; `scripts/default_models.sh --check` does it again into a temporary folder and
//! compares byte for byte.
//!
//! The files are compiled into the binary ([`shipped`]), so a built `algolab` needs no
//! checkout to find them. `ai` uses a default only when the learning DB has no model of that
//! kind for the symbol, and only for the symbol and bar interval it was trained on.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::ai::dqn::{AgentKind, ModelSpec};
use crate::ai::evolver::Genome;
use crate::ai::nn::Mlp;
use crate::store::Store;

/// The files' format tag.
pub const FORMAT: &str = "algolab-default-model-v1";

/// Where the files live in the repository.
pub const DIR: &str = "models/default";

/// The shipped files: (file name, text), compiled in.
const EMBEDDED: [(&str, &str); 3] = [
    ("dqn.json", include_str!("../../models/default/dqn.json")),
    (
        "leverage-dqn.json",
        include_str!("../../models/default/leverage-dqn.json"),
    ),
    (
        "evolved.json",
        include_str!("../../models/default/evolved.json"),
    ),
];

/// One default model file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DefaultModel {
    /// [`FORMAT`].
    pub format: String,
    /// `dqn`, `leverage-dqn` or `evolved`.
    pub kind: String,
    /// The symbol it was trained on.
    pub symbol: String,
    /// Bar interval of the training data (ms).
    pub interval_ms: i64,
    /// The command that trained it (run by `scripts/default_models.sh`).
    pub command: String,
    /// Its seed.
    pub seed: Option<u64>,
    /// Content hash of the bars it was trained on (`Bars::content_hash`).
    pub data_hash: Option<String>,
    /// DQNs: SHA-256 of the weights blob, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
    /// DQNs: feature spec, normalisation, hyper-parameters, layer sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ModelSpec>,
    /// DQNs: the weights blob, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_hex: Option<String>,
    /// Evolved: the genome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genome: Option<Genome>,
    /// Evolved: its rule text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Test-window figures as the training command stored them (with its baselines).
    pub metrics: serde_json::Value,
}

impl DefaultModel {
    /// `default:models/default/<file>` plus the short hash — how reports name the source.
    pub fn source(&self) -> String {
        let short = |h: &str| h.chars().take(12).collect::<String>();
        let file = file_name(&self.kind);
        match &self.weights_sha256 {
            Some(h) => format!("default:{DIR}/{file} (weights {})", short(h)),
            None => format!("default:{DIR}/{file}"),
        }
    }

    /// A DQN's spec and network.
    ///
    /// # Errors
    /// [`Error::Usage`] when this is not a DQN, or its weights are missing, do not match
    /// their hash or the spec's layer sizes.
    pub fn network(&self) -> Result<(ModelSpec, Mlp), Error> {
        let bad = |why: String| Error::Usage(format!("default model {}: {why}", self.kind));
        let (Some(spec), Some(hex_text)) = (&self.spec, &self.weights_hex) else {
            return Err(bad("no spec or weights".into()));
        };
        let bytes = hex::decode(hex_text).map_err(|e| bad(format!("weights: {e}")))?;
        let sha = super::train_rl::sha256_hex(&bytes);
        if self.weights_sha256.as_deref() != Some(sha.as_str()) {
            return Err(bad(format!("weights hash {sha} differs from the file's")));
        }
        let net = Mlp::from_bytes(&spec.sizes, &bytes).map_err(|e| bad(e.to_string()))?;
        Ok((spec.clone(), net))
    }
}

/// The file name of a kind.
pub fn file_name(kind: &str) -> String {
    format!("{kind}.json")
}

/// The shipped default models that parse (a file that does not is skipped: the component
/// is then absent, as on a build without defaults).
pub fn shipped() -> Vec<DefaultModel> {
    EMBEDDED
        .iter()
        .filter_map(|(_, text)| serde_json::from_str::<DefaultModel>(text).ok())
        .filter(|m| m.format == FORMAT)
        .collect()
}

/// The shipped default of `kind` for `symbol` and bars `interval_ms` apart, if any.
pub fn find(kind: &str, symbol: &str, interval_ms: Option<i64>) -> Option<DefaultModel> {
    shipped().into_iter().find(|m| {
        m.kind == kind
            && m.symbol.eq_ignore_ascii_case(symbol)
            && Some(m.interval_ms) == interval_ms
    })
}

fn command_of(store: &Store, run_id: Option<i64>, fallback: &str) -> (String, Option<String>) {
    let run = run_id.and_then(|id| store.load_run(id).ok());
    let data_hash = run.as_ref().and_then(|r| r.record.data_hash.clone());
    let command = run
        .and_then(|r| serde_json::from_str::<Vec<String>>(&r.record.args_json).ok())
        .filter(|a| !a.is_empty())
        .map_or_else(
            || fallback.to_string(),
            |a| format!("algolab {}", a.join(" ")),
        );
    (command, data_hash)
}

/// Write the default model files for `symbol` from the learning DB: the newest `dqn` and
/// `leverage-dqn` models and the newest evolved genome (`scripts/default_models.sh`).
///
/// # Errors
/// [`Error::Usage`] when one of the three is missing; [`Error::Store`] for DB failures and
/// [`Error::Usage`] naming the file when it cannot be written.
pub fn export(store: &Store, symbol: &str, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    std::fs::create_dir_all(dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    let mut write = |m: &DefaultModel| -> Result<(), Error> {
        let path = dir.join(file_name(&m.kind));
        let mut text = serde_json::to_string_pretty(m)
            .map_err(|e| Error::Usage(format!("default model json: {e}")))?;
        text.push('\n');
        std::fs::write(&path, text)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        files.push(path);
        Ok(())
    };
    let mut interval_ms = None;
    for kind in [AgentKind::Dqn, AgentKind::LeverageDqn] {
        let row = store
            .list_models(Some(symbol), Some(kind.name()), 1)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no {} model for {symbol} in the learning DB",
                    kind.name()
                ))
            })?;
        let m = super::train_rl::load_model(store, row.id, Some(kind))?;
        let (command, data_hash) = command_of(store, m.row.run_id, kind.name());
        interval_ms = Some(m.spec.interval_ms);
        let metrics: serde_json::Value =
            serde_json::from_str(&m.row.metrics_json).unwrap_or_default();
        let pick = |k: &str| metrics.get(k).cloned().unwrap_or_default();
        write(&DefaultModel {
            format: FORMAT.into(),
            kind: kind.name().into(),
            symbol: symbol.into(),
            interval_ms: m.spec.interval_ms,
            command,
            seed: m.row.seed,
            data_hash: data_hash.or(m.row.data_hash.clone()),
            weights_sha256: Some(m.row.weights_sha256.clone()),
            weights_hex: Some(hex::encode(&m.row.weights)),
            spec: Some(m.spec),
            genome: None,
            rule: None,
            metrics: serde_json::json!({
                "split": pick("split"),
                "test": pick("test"),
                "baselines": pick("baselines"),
                "actions": pick("actions"),
                "best_episode": pick("best_episode"),
            }),
        })?;
    }
    let row = store
        .list_evolved(Some(symbol), 1)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::Usage(format!("no evolved genome for {symbol} in the learning DB"))
        })?;
    let genome = super::evolve::stored_genome(store, row.id)?;
    let (command, data_hash) = command_of(store, row.run_id, "evolve");
    let run = row.run_id.and_then(|id| store.load_run(id).ok());
    // the evolved genome reads the same bars as the DQNs (the script trains all three on them)
    let interval_ms = interval_ms.unwrap_or(0);
    write(&DefaultModel {
        format: FORMAT.into(),
        kind: "evolved".into(),
        symbol: symbol.into(),
        interval_ms,
        command,
        seed: run.as_ref().and_then(|r| r.record.seed),
        data_hash,
        weights_sha256: None,
        spec: None,
        weights_hex: None,
        genome: Some(genome),
        rule: Some(row.rule_text.clone()),
        metrics: serde_json::json!({
            "generation": row.generation,
            "train_fitness": row.fitness,
            "validation_fitness": row.validation_fitness,
            "test_sharpe": row.test_sharpe,
            "test_return_pct": row.test_return_pct,
        }),
    })?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_defaults_load_and_their_weights_match_their_hashes() {
        let all = shipped();
        let kinds: Vec<&str> = all.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, vec!["dqn", "leverage-dqn", "evolved"]);
        for m in &all {
            assert_eq!(m.symbol, "BTC/USDT");
            assert_eq!(m.interval_ms, 3_600_000);
            assert!(m.command.starts_with("algolab "), "{}", m.command);
            assert!(m.seed.is_some() && m.data_hash.is_some());
        }
        for kind in [AgentKind::Dqn, AgentKind::LeverageDqn] {
            let m = find(kind.name(), "btc/usdt", Some(3_600_000)).unwrap();
            let (spec, net) = m.network().unwrap();
            assert_eq!(spec.kind, kind);
            assert_eq!(spec.features, kind.features());
            assert_eq!(net.n_in(), kind.features().width());
            assert!(crate::strategy::dqn::DqnStrategy::new(spec, net).is_ok());
            // a flipped weight bit is refused
            let mut bad = m.clone();
            if let Some(h) = bad.weights_hex.as_mut() {
                let flipped = if h.ends_with('0') { '1' } else { '0' };
                h.pop();
                h.push(flipped);
            }
            assert!(bad.network().is_err());
        }
        let ev = find("evolved", "BTC/USDT", Some(3_600_000)).unwrap();
        assert!(crate::strategy::evolved::Evolved::from_genome(ev.genome.unwrap()).is_ok());
        // another symbol or interval has no default
        assert!(find("dqn", "ETH/USDT", Some(3_600_000)).is_none());
        assert!(find("dqn", "BTC/USDT", Some(86_400_000)).is_none());
    }
}
