//! Chat commands for a bot in `--loop` mode: `/status`, `/balance`, `/profit`, `/stop`,
//! read with `getUpdates` from the configured chat only, with the update offset persisted
//! in a small JSON file so a restarted bot neither replays nor misses a command.
//!
//! The caller acts on the commands first and saves the new offset after
//! ([`CommandInbox::save`]): a crash in between replays the batch, which is harmless for
//! these commands (all are idempotent).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::NotifyError;
use super::telegram::{TelegramClient, Update};
use crate::store::atomic_write;

/// A command a person can send the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotCommand {
    /// Position, last tick, health.
    Status,
    /// Cash and equity.
    Balance,
    /// Realised and unrealised P&L.
    Profit,
    /// Stop the loop after this tick.
    Stop,
}

impl BotCommand {
    /// The command's name without the slash.
    pub fn as_str(self) -> &'static str {
        match self {
            BotCommand::Status => "status",
            BotCommand::Balance => "balance",
            BotCommand::Profit => "profit",
            BotCommand::Stop => "stop",
        }
    }
}

/// The command in a message text: `/status`, `/status@my_bot`, `/STOP now`; `None` for
/// anything else.
pub fn parse_command(text: &str) -> Option<BotCommand> {
    let word = text.split_whitespace().next()?.strip_prefix('/')?;
    let name = word.split('@').next()?.to_ascii_lowercase();
    match name.as_str() {
        "status" => Some(BotCommand::Status),
        "balance" => Some(BotCommand::Balance),
        "profit" => Some(BotCommand::Profit),
        "stop" => Some(BotCommand::Stop),
        _ => None,
    }
}

/// Commands found in `updates` from chat `chat_id` (others are ignored), and the offset of
/// the next poll (largest `update_id` + 1, or `offset` when there were none).
pub fn commands_from(updates: &[Update], chat_id: &str, offset: i64) -> (Vec<BotCommand>, i64) {
    let next = updates
        .iter()
        .map(|u| u.update_id + 1)
        .max()
        .map_or(offset, |n| n.max(offset));
    let cmds = updates
        .iter()
        .filter(|u| u.chat_id.as_deref() == Some(chat_id))
        .filter_map(|u| u.text.as_deref().and_then(parse_command))
        .collect();
    (cmds, next)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OffsetFile {
    offset: i64,
}

/// The persisted `getUpdates` offset of one bot (`telegram_offset.json` in its folder).
#[derive(Debug, Clone)]
pub struct CommandInbox {
    path: PathBuf,
}

impl CommandInbox {
    /// The inbox whose offset lives at `path`.
    pub fn new(path: &Path) -> CommandInbox {
        CommandInbox {
            path: path.to_path_buf(),
        }
    }

    /// The saved offset (0 when the file does not exist or cannot be read).
    pub fn offset(&self) -> i64 {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<OffsetFile>(&b).ok())
            .map_or(0, |f| f.offset)
    }

    /// Save `offset` atomically.
    ///
    /// # Errors
    /// The I/O error, naming the file.
    pub fn save(&self, offset: i64) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&OffsetFile { offset }).unwrap_or_default();
        atomic_write(&self.path, &bytes)
    }

    /// Poll the chat for new commands (blocking): returns them with the offset to
    /// [`CommandInbox::save`] once they have been acted on.
    ///
    /// # Errors
    /// A [`NotifyError`] from `getUpdates`.
    pub fn poll(&self, client: &TelegramClient) -> Result<(Vec<BotCommand>, i64), NotifyError> {
        let offset = self.offset();
        let updates = client.get_updates_blocking(offset)?;
        Ok(commands_from(&updates, &client.config().chat_id, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(id: i64, chat: &str, text: &str) -> Update {
        Update {
            update_id: id,
            chat_id: Some(chat.into()),
            text: Some(text.into()),
        }
    }

    #[test]
    fn commands_parse_with_bot_suffix_case_and_arguments() {
        assert_eq!(parse_command("/status"), Some(BotCommand::Status));
        assert_eq!(parse_command("/Profit@algo_bot"), Some(BotCommand::Profit));
        assert_eq!(parse_command("  /stop now"), Some(BotCommand::Stop));
        assert_eq!(parse_command("/balance"), Some(BotCommand::Balance));
        assert_eq!(parse_command("status"), None);
        assert_eq!(parse_command("/buy"), None);
        assert_eq!(parse_command(""), None);
    }

    #[test]
    fn only_the_configured_chat_is_obeyed_and_the_offset_moves_past_everything() {
        let ups = vec![
            up(10, "42", "/status"),
            up(11, "666", "/stop"),
            up(12, "42", "hello"),
            up(13, "42", "/stop"),
        ];
        let (cmds, next) = commands_from(&ups, "42", 5);
        assert_eq!(cmds, vec![BotCommand::Status, BotCommand::Stop]);
        assert_eq!(next, 14);
        assert_eq!(commands_from(&[], "42", 7), (vec![], 7));
    }

    #[test]
    fn the_offset_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = CommandInbox::new(&dir.path().join("telegram_offset.json"));
        assert_eq!(inbox.offset(), 0);
        inbox.save(99).unwrap();
        assert_eq!(
            CommandInbox::new(&dir.path().join("telegram_offset.json")).offset(),
            99
        );
    }
}
