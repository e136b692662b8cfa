//! A bot's folder, `DATA_DIR/bots/<name>/`, and the seed's state files in it:
//! `state.json` (positions, P&L, the engine snapshot), `signals.json` (signal history),
//! `equity_history.json` and `ai_orchestrator_state.json`, each written atomically
//! ([`crate::store::atomic_write`]) so a reader — the API of `serve`, a person, the next
//! tick after a `kill -9` — sees the old file or the new one, never a torn one. Plus the
//! tick lock and the Telegram offset.

use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

use super::RunnerError;
use crate::store::atomic_write;

/// The longest bot name.
const MAX_NAME: usize = 64;

/// Check a bot name: 1–64 of `A–Z a–z 0–9 . _ -`, not starting with a dot.
///
/// # Errors
/// [`RunnerError::BadName`] naming the rule broken.
pub fn validate_name(name: &str) -> Result<(), RunnerError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > MAX_NAME || !ok_chars || name.starts_with('.') {
        return Err(RunnerError::BadName(format!(
            "bot name {name:?} must be 1-{MAX_NAME} of A-Z a-z 0-9 . _ - and not start with a dot"
        )));
    }
    Ok(())
}

/// The default bot name for a symbol and strategy: `btc-usdt-sma-cross`.
pub fn default_name(symbol: &str, strategy: &str) -> String {
    let mut s: String = format!("{symbol}-{strategy}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_string();
    s.chars().take(MAX_NAME).collect()
}

/// The folder of one bot and its files.
#[derive(Debug, Clone)]
pub struct BotDir {
    name: String,
    root: PathBuf,
}

impl BotDir {
    /// The folder of bot `name` under `data_dir/bots/` (not created yet).
    ///
    /// # Errors
    /// [`RunnerError::BadName`] for a bad name.
    pub fn new(data_dir: &Path, name: &str) -> Result<BotDir, RunnerError> {
        validate_name(name)?;
        Ok(BotDir {
            name: name.to_string(),
            root: data_dir.join("bots").join(name),
        })
    }

    /// Create the folder if needed.
    ///
    /// # Errors
    /// [`RunnerError::Io`] naming the folder.
    pub fn create(&self) -> Result<(), RunnerError> {
        std::fs::create_dir_all(&self.root).map_err(|source| RunnerError::Io {
            path: self.root.display().to_string(),
            source,
        })
    }

    /// The bot's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.root.join("state.json")
    }
    /// `signals.json`.
    pub fn signals_path(&self) -> PathBuf {
        self.root.join("signals.json")
    }
    /// `equity_history.json`.
    pub fn equity_path(&self) -> PathBuf {
        self.root.join("equity_history.json")
    }
    /// `ai_orchestrator_state.json`.
    pub fn orchestrator_path(&self) -> PathBuf {
        self.root.join("ai_orchestrator_state.json")
    }
    /// `tick.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("tick.lock")
    }
    /// `telegram_offset.json`.
    pub fn telegram_offset_path(&self) -> PathBuf {
        self.root.join("telegram_offset.json")
    }
    /// `health.json` (the runner's view of this bot's last tick).
    pub fn health_path(&self) -> PathBuf {
        self.root.join("health.json")
    }
}

/// Read a JSON state file; `None` when it does not exist.
///
/// # Errors
/// [`RunnerError::Io`] when it cannot be read, [`RunnerError::BadState`] when it is not the
/// expected JSON (a state file is never silently reset).
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RunnerError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RunnerError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| RunnerError::BadState {
            path: path.display().to_string(),
            cause: e.to_string(),
        })
}

/// Write `value` as pretty JSON to `path`, atomically.
///
/// # Errors
/// [`RunnerError::Io`] naming the file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RunnerError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| RunnerError::BadState {
        path: path.display().to_string(),
        cause: e.to_string(),
    })?;
    bytes.push(b'\n');
    atomic_write(path, &bytes).map_err(|source| RunnerError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_defaults_are_slugs() {
        assert!(validate_name("b1").is_ok());
        assert!(validate_name("btc.usdt_1-h").is_ok());
        for bad in ["", ".hidden", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(default_name("BTC/USDT", "sma-cross"), "btc-usdt-sma-cross");
        assert_eq!(default_name("GC=F", "technical"), "gc-f-technical");
        assert!(validate_name(&default_name("^GSPC", "x")).is_ok());
    }

    #[test]
    fn state_files_round_trip_and_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let bot = BotDir::new(dir.path(), "b1").unwrap();
        bot.create().unwrap();
        assert_eq!(read_json::<Vec<i64>>(&bot.equity_path()).unwrap(), None);
        write_json(&bot.equity_path(), &vec![1, 2, 3]).unwrap();
        assert_eq!(
            read_json::<Vec<i64>>(&bot.equity_path()).unwrap(),
            Some(vec![1, 2, 3])
        );
        std::fs::write(bot.state_path(), b"{ torn").unwrap();
        let e = read_json::<serde_json::Value>(&bot.state_path()).unwrap_err();
        assert!(e.to_string().contains("state.json"), "{e}");
    }
}
