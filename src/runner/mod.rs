//! Bots: the cron-safe tick of `algolab paper` (and later `live`), the bot folder and its
//! state files, the tick lock and the schedule of `--loop` (issue 13 items 1, 2).
//!
//! A tick: take the bot's lock (a second concurrent tick leaves at once, saying so; a lock
//! left by a killed tick is taken over), load the state, find the new closed bars, step the
//! engine over them in order, write the state files atomically, release the lock. A tick
//! with nothing new does nothing and says so. Sits beside `notify` and `server`, right of
//! `store`; `app::paper` loads the bars and builds the strategy and calls in here. The wall
//! clock is read only by callers (`now_ms`, `tick_at` are parameters).

pub mod bot_dir;
pub mod fleet;
pub mod funding;
pub mod live;
pub mod lock;
mod notes;
pub mod paper;
pub mod record;
pub mod schedule;
pub mod state;

pub use bot_dir::{BotDir, default_name, validate_name};
pub use live::{LiveSetup, live_tick};
pub use lock::{LockOutcome, TickLock};
pub use paper::LiveInfo;
pub use paper::{PaperSetup, PaperState, TickOutcome, TickReport, paper_tick};
pub use record::record_bot;
pub use schedule::{TickPlan, closed_len, next_wake_ms, plan_tick};

use crate::broker::BrokerError;
use crate::engine::EngineError;
use crate::venues::VenueError;

/// An error of a bot tick.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// A bad bot name.
    #[error("{0}")]
    BadName(String),
    /// A file of the bot could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not what this build wrote (never silently reset).
    #[error("{path}: unreadable state: {cause}")]
    BadState {
        /// The file.
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// The tick's settings differ from those the bot was started with.
    #[error(
        "bot {bot} was started with {what} {was}, not {now}: use another --bot name or delete {dir}"
    )]
    ConfigChanged {
        /// Bot name.
        bot: String,
        /// The setting.
        what: String,
        /// The stored value.
        was: String,
        /// The value given now.
        now: String,
        /// The bot's folder.
        dir: String,
    },
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A live bot needs a strategy that can save its state between ticks.
    #[error(
        "strategy {0} cannot save its state between ticks, so it cannot trade live; use sma-cross, technical or evolved"
    )]
    NotResumable(String),
    /// The exchange could not be reached or refused (live ticks).
    #[error(transparent)]
    Venue(#[from] VenueError),
    /// A broker call failed before the tick could act (live reconciliation).
    #[error("reconciliation failed: {0}")]
    Broker(#[from] BrokerError),
}

impl RunnerError {
    /// Exit code: 2 for bad usage (name, changed settings), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunnerError::BadName(_) | RunnerError::ConfigChanged { .. } => 2,
            RunnerError::Engine(EngineError::Broker(_)) => 1,
            RunnerError::Engine(_) => 2,
            RunnerError::Io { .. } | RunnerError::BadState { .. } => 1,
            RunnerError::NotResumable(_) => 2,
            RunnerError::Venue(e) => e.exit_code(),
            RunnerError::Broker(BrokerError::Auth) => 2,
            RunnerError::Broker(_) => 1,
        }
    }
}
