//! A bot in the learning DB (issue 13 item 5): every paper, testnet or live tick records
//! the bot as one run (found by its folder, created by its first tick) and adds the closed
//! trades of `state.json` not stored yet. It runs after `state.json` is written, and takes
//! the stored count as done, so a tick killed half-way or redone never stores a trade
//! twice, and a later tick stores what a killed one did not. A live futures bot's funding
//! payments go to `bot_funding`, keyed by the exchange's `tranId`.

use std::path::Path;

use super::state::PaperState;
use crate::core::order::Trade;
use crate::store::{BotFundingRow, RunRecord, Store, StoreError};

/// Record bot `state` (folder `dir`) in the DB at `db_path`; returns how many trades were
/// added. `args_json` is the command line, `at` the wall-clock time (ISO-8601).
///
/// # Errors
/// [`StoreError`] when the DB cannot be opened or written (a tick reports it and goes on).
pub fn record_bot(
    db_path: &Path,
    dir: &Path,
    state: &PaperState,
    args_json: &str,
    at: &str,
) -> Result<usize, StoreError> {
    let mut store = Store::open(db_path)?;
    let run = store.bot_run(&RunRecord {
        command: state.mode.clone(),
        args_json: args_json.to_string(),
        data_path: Some(dir.display().to_string()),
        started_at: at.to_string(),
        symbol: Some(state.symbol.clone()),
        strategy: Some(state.strategy.clone()),
        params_json: Some(state.params.to_string()),
        ..RunRecord::default()
    })?;
    let trades: Vec<Trade> = state.trades.iter().map(|t| t.to_trade()).collect();
    let added = store.sync_trades(run, &trades)?;
    if let Some(live) = &state.live
        && !live.funding.is_empty()
    {
        let rows: Vec<BotFundingRow> = live
            .funding
            .iter()
            .map(|f| BotFundingRow {
                tran_id: f.tran_id,
                ts_ms: f.time_ms,
                paid: f.paid,
                asset: f.asset.clone(),
            })
            .collect();
        store.sync_bot_funding(run, &rows)?;
    }
    let stats = serde_json::json!({
        "bot": state.bot,
        "equity": state.equity,
        "total_pnl": state.total_pnl,
        "realized_pnl": state.realized_pnl,
        "fees_paid": state.fees_paid,
        "funding_paid": state.funding_paid,
        "trades": state.trades.len(),
        "last_bar_time": state.last_bar_time,
    });
    store.update_bot_stats(run, &stats.to_string(), at)?;
    Ok(added)
}
