//! The context every use case runs in: where the data and the learning DB live, the HTTP
//! settings, and the wall clock for run records. Read once per process (the CLI does it in
//! `cli::run`; a server would do it at start-up) and passed as `&Ctx` to each
//! `app::<command>::run(&Ctx, Request)`, so no use case reads the environment itself.

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::net::HttpConfig;
use crate::venues::Endpoints;

/// Where things live and how to reach the network; shared by every request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `DATA_DIR`: the fetch cache, reports' defaults and the learning DB live here.
    pub data_dir: PathBuf,
    /// The learning DB, `DATA_DIR/ai_learning.db`.
    pub db_path: PathBuf,
    /// HTTP timeouts and retry settings.
    pub http: HttpConfig,
    /// Base URLs of the market-data sources.
    pub endpoints: Endpoints,
    /// The wall clock as ISO-8601 UTC, for the start and end times of run records (the
    /// library never reads the wall clock itself: STYLE rule 9).
    pub now_iso: fn() -> String,
    /// The command line recorded with each run (`args_json` of the run record).
    pub argv: Vec<String>,
    /// `ALGOLAB_BINANCE_WEIGHT_LIMIT`: the per-minute request weight of the machine-wide
    /// Binance budget (default: Binance's, 6000 spot, 2400 USD-M).
    pub binance_weight_limit: Option<u32>,
}

impl Ctx {
    /// A context rooted at `data_dir` with default HTTP settings and endpoints.
    pub fn new(data_dir: PathBuf, now_iso: fn() -> String) -> Ctx {
        Ctx {
            db_path: data_dir.join("ai_learning.db"),
            data_dir,
            http: HttpConfig::default(),
            endpoints: Endpoints::default(),
            now_iso,
            argv: Vec::new(),
            binance_weight_limit: None,
        }
    }

    /// The machine-wide Binance weight budget of `market` (`DATA_DIR/binance_weight_*.txt`):
    /// every trading client, `fetch` and the live bots' kline downloads share it.
    pub fn binance_budget(
        &self,
        market: crate::venues::binance::Market,
    ) -> std::sync::Arc<crate::venues::binance::WeightBudget> {
        crate::venues::binance::WeightBudget::machine(
            market,
            &self.data_dir,
            self.binance_weight_limit,
        )
    }

    /// The context from the environment: `DATA_DIR` (default `./data`),
    /// `ALGOLAB_HTTP_BACKOFF_MS`, `ALGOLAB_HTTP_MAX_WAIT_MS`, `ALGOLAB_YAHOO_URL`,
    /// `ALGOLAB_BINANCE_URL`, `ALGOLAB_BINANCE_FUTURES_URL`, `ALGOLAB_BINANCE_WEIGHT_LIMIT`.
    ///
    /// # Errors
    /// [`Error::Usage`] for a millisecond setting or weight limit that is not a number.
    pub fn from_env(now_iso: fn() -> String) -> Result<Ctx, Error> {
        let mut ctx = Ctx::new(crate::data::data_dir(), now_iso);
        if let Some(d) = env_ms("ALGOLAB_HTTP_BACKOFF_MS")? {
            ctx.http.backoff_base = d;
        }
        if let Some(d) = env_ms("ALGOLAB_HTTP_MAX_WAIT_MS")? {
            ctx.http.max_wait = d;
        }
        let env_or = |name: &str, default: &mut String| {
            if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
                *default = v;
            }
        };
        if let Ok(v) = std::env::var("ALGOLAB_BINANCE_WEIGHT_LIMIT") {
            ctx.binance_weight_limit = Some(v.trim().parse::<u32>().map_err(|_| {
                Error::Usage(format!(
                    "ALGOLAB_BINANCE_WEIGHT_LIMIT={v:?} is not a whole number"
                ))
            })?);
        }
        env_or("ALGOLAB_YAHOO_URL", &mut ctx.endpoints.yahoo);
        env_or("ALGOLAB_BINANCE_URL", &mut ctx.endpoints.binance);
        env_or(
            "ALGOLAB_BINANCE_FUTURES_URL",
            &mut ctx.endpoints.binance_futures,
        );
        Ok(ctx)
    }

    /// A run record for `command` started now, with this context's command line and the
    /// git revision.
    pub fn run_record(&self, command: &str, seed: Option<u64>) -> crate::store::RunRecord {
        crate::store::RunRecord {
            command: command.to_string(),
            args_json: serde_json::to_string(&self.argv).unwrap_or_else(|_| "[]".into()),
            seed,
            data_hash: None,
            data_path: None,
            git_rev: crate::store::git_rev().or_else(|| {
                crate::store::git_rev_from(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
            }),
            started_at: (self.now_iso)(),
            symbol: None,
            strategy: None,
            params_json: None,
        }
    }

    /// Open the learning DB.
    ///
    /// # Errors
    /// [`Error::Store`] when it cannot be opened or migrated.
    pub fn store(&self) -> Result<crate::store::Store, Error> {
        Ok(crate::store::Store::open(&self.db_path)?)
    }
}

fn env_ms(name: &str) -> Result<Option<Duration>, Error> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|_| Error::Usage(format!("{name}={v:?} is not a number of milliseconds"))),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_db_lives_in_the_data_dir() {
        let ctx = Ctx::new(PathBuf::from("/tmp/x"), String::new);
        assert_eq!(ctx.db_path, PathBuf::from("/tmp/x/ai_learning.db"));
        let rec = ctx.run_record("backtest", Some(3));
        assert_eq!(rec.command, "backtest");
        assert_eq!(rec.seed, Some(3));
        assert_eq!(rec.args_json, "[]");
    }
}
