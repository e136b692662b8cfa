//! The crate-level error: one `thiserror` enum per layer, collected here with `#[from]`.
//!
//! `main` maps the typed cause to an exit code with [`Error::exit_code`]: 2 for bad usage or
//! bad input, 1 for anything else. Messages are lowercase, name the bad value and never hold
//! secrets.

use crate::data::DataError;
use crate::engine::EngineError;
use crate::indicators::ParamError;
use crate::report::ReportError;
use crate::runner::RunnerError;
use crate::store::StoreError;
use crate::venues::VenueError;

/// Any error algolab's library functions return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input data (a file, a symbol, a column).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A parameter out of its allowed range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The learning DB or a state file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report could not be written or rebuilt.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The backtest engine failed (bad setting, empty date range, broker failure).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A venue (exchange or data vendor) or the HTTP layer under it failed.
    #[error(transparent)]
    Venue(#[from] VenueError),
    /// A bot tick failed (its files, its lock, settings changed since its first tick).
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// Bad usage that the argument parser could not catch (conflicting options, …).
    #[error("{0}")]
    Usage(String),
    /// A network failed to train (a non-finite loss or weight, naming the step).
    #[error("training stopped: {0}")]
    Nn(#[from] crate::ai::nn::NnError),
}

impl Error {
    /// The process exit code for this error: 2 for bad usage or bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Data(e) => e.exit_code(),
            Error::Param(_) | Error::Usage(_) => 2,
            Error::Store(e) => e.exit_code(),
            Error::Report(e) => e.exit_code(),
            // a broker failure or a corrupt saved state is not the user's bad input
            Error::Engine(EngineError::Broker(_) | EngineError::State(_)) => 1,
            Error::Engine(_) => 2,
            Error::Venue(e) => e.exit_code(),
            Error::Runner(e) => e.exit_code(),
            Error::Nn(crate::ai::nn::NnError::NotFinite { .. }) => 1,
            Error::Nn(_) => 2,
        }
    }
}
