//! `status`: the combined portfolio of every bot under `DATA_DIR/bots/` (value, P&L,
//! position and health per bot), as `algolab status` prints it and `serve` returns it.

use super::Ctx;
use crate::Error;
use crate::runner::fleet::{Portfolio, current_portfolio};

/// The portfolio now.
///
/// # Errors
/// [`Error::Runner`] when a bot's state file cannot be read.
pub fn run(ctx: &Ctx) -> Result<Portfolio, Error> {
    Ok(current_portfolio(&ctx.data_dir, &(ctx.now_iso)())?)
}
