//! Notifications for people watching the bots (issue 13 item 7): what happened
//! ([`Event`]), how it reads ([`render`], plain text or Telegram HTML), how a long text is
//! cut into messages under Telegram's 4 096-character limit ([`split_message`]), and the
//! Telegram Bot API client ([`telegram`]) with its chat commands ([`commands`]).
//!
//! Sits right of `store` beside `runner` and `server`; it knows nothing of the engine: the
//! runner turns engine events into [`Event`]s. A notification must never block or fail a
//! tick: every request has a short timeout, a rate limit is waited out only when it is
//! short, and the runner logs a [`NotifyError`] and carries on. The bot token never appears
//! in an error, a log line or `Debug` output ([`telegram::TelegramConfig`] redacts it).

pub mod commands;
pub mod telegram;

use std::fmt::Write as _;

pub use commands::{BotCommand, parse_command};
pub use telegram::{TelegramClient, TelegramConfig};

/// Telegram's limit on one message's text, in characters.
pub const TELEGRAM_MAX_CHARS: usize = 4096;

/// An error sending a notification or polling for commands. Never holds the bot token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// Missing or bad configuration (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_CHAT_ID`, base URL).
    #[error("telegram: {0}")]
    Config(String),
    /// The request could not be made or timed out (the cause is shown without the URL).
    #[error("telegram {method}: network error: {cause}")]
    Network {
        /// The API method (`sendMessage`, `getUpdates`).
        method: String,
        /// The cause, without the URL (which holds the token).
        cause: String,
    },
    /// The API said no (`ok: false`): bad chat id, bad HTML, revoked token, …
    #[error("telegram {method}: error {code}: {description}")]
    Api {
        /// The API method.
        method: String,
        /// Telegram's `error_code` (or the HTTP status).
        code: i64,
        /// Telegram's `description`.
        description: String,
    },
    /// Rate limited for longer than the client is willing to wait.
    #[error("telegram {method}: rate limited, retry after {retry_after_s} s")]
    RateLimited {
        /// The API method.
        method: String,
        /// The server's `retry_after`, seconds.
        retry_after_s: u64,
    },
    /// The answer was not the JSON the Bot API documents.
    #[error("telegram {method}: malformed answer: {cause}")]
    Malformed {
        /// The API method.
        method: String,
        /// What was wrong.
        cause: String,
    },
}

/// How a message is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Plain text (no `parse_mode`).
    #[default]
    Plain,
    /// Telegram's HTML subset (`parse_mode = HTML`); values are escaped.
    Html,
}

/// Something a person watching a bot should hear about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A position was opened.
    TradeOpened {
        /// Bot name.
        bot: String,
        /// Symbol traded.
        symbol: String,
        /// `long` or `short`.
        side: String,
        /// Quantity, base units.
        qty: f64,
        /// Entry price.
        price: f64,
    },
    /// A position was closed (signal, take-profit, end of data, …).
    TradeClosed {
        /// Bot name.
        bot: String,
        /// Symbol traded.
        symbol: String,
        /// `long` or `short`.
        side: String,
        /// Quantity, base units.
        qty: f64,
        /// Entry price.
        entry_price: f64,
        /// Exit price.
        exit_price: f64,
        /// Realised P&L, quote currency, after fees.
        pnl: f64,
        /// Why it closed (`signal`, `take_profit`, …).
        reason: String,
    },
    /// A protective stop filled.
    StopHit {
        /// Bot name.
        bot: String,
        /// Symbol traded.
        symbol: String,
        /// The stop's fill price.
        price: f64,
        /// Realised P&L, quote currency, after fees.
        pnl: f64,
    },
    /// A leveraged position is close to its liquidation price.
    LiquidationRisk {
        /// Bot name.
        bot: String,
        /// Symbol traded.
        symbol: String,
        /// The latest price.
        price: f64,
        /// The position's liquidation price.
        liquidation_price: f64,
    },
    /// The exchange and the bot's state disagreed (the exchange's view was adopted).
    ReconcileMismatch {
        /// Bot name.
        bot: String,
        /// What differed, in words.
        detail: String,
    },
    /// A tick failed.
    Error {
        /// Bot name.
        bot: String,
        /// The one-line cause (never a secret).
        message: String,
    },
    /// The end-of-day summary.
    DailySummary {
        /// Bot name.
        bot: String,
        /// The day, `YYYY-MM-DD` UTC.
        day: String,
        /// Equity at the end of the day.
        equity: f64,
        /// P&L over the day.
        pnl_day: f64,
        /// P&L since the bot started.
        pnl_total: f64,
        /// Trades closed during the day.
        trades_day: usize,
    },
}

/// Escape `&`, `<` and `>` for Telegram's HTML mode (all it requires outside tags).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn money(v: f64) -> String {
    if v.is_finite() {
        format!("{v:+.2}")
    } else {
        "n/a".into()
    }
}

fn price(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.6}")
    }
}

/// The message text of `event` in `format`: a title line, then one detail line per field.
pub fn render(event: &Event, format: Format) -> String {
    let (title, lines): (String, Vec<String>) = match event {
        Event::TradeOpened {
            bot,
            symbol,
            side,
            qty,
            price: p,
        } => (
            format!("{bot}: opened {side} {symbol}"),
            vec![format!("qty {qty} at {}", price(*p))],
        ),
        Event::TradeClosed {
            bot,
            symbol,
            side,
            qty,
            entry_price,
            exit_price,
            pnl,
            reason,
        } => (
            format!("{bot}: closed {side} {symbol} ({reason})"),
            vec![
                format!(
                    "qty {qty}: {} → {}",
                    price(*entry_price),
                    price(*exit_price)
                ),
                format!("P&L {}", money(*pnl)),
            ],
        ),
        Event::StopHit {
            bot,
            symbol,
            price: p,
            pnl,
        } => (
            format!("{bot}: stop hit on {symbol}"),
            vec![format!("filled at {}, P&L {}", price(*p), money(*pnl))],
        ),
        Event::LiquidationRisk {
            bot,
            symbol,
            price: p,
            liquidation_price,
        } => {
            let dist = (p - liquidation_price).abs() / p.abs().max(f64::MIN_POSITIVE) * 100.0;
            (
                format!("{bot}: liquidation risk on {symbol}"),
                vec![format!(
                    "price {} is {dist:.2} % from liquidation at {}",
                    price(*p),
                    price(*liquidation_price)
                )],
            )
        }
        Event::ReconcileMismatch { bot, detail } => (
            format!("{bot}: exchange and state disagreed"),
            vec![detail.clone()],
        ),
        Event::Error { bot, message } => (format!("{bot}: tick failed"), vec![message.clone()]),
        Event::DailySummary {
            bot,
            day,
            equity,
            pnl_day,
            pnl_total,
            trades_day,
        } => (
            format!("{bot}: summary for {day}"),
            vec![
                format!("equity {}", price(*equity)),
                format!("P&L today {}, total {}", money(*pnl_day), money(*pnl_total)),
                format!("trades closed today: {trades_day}"),
            ],
        ),
    };
    let mut out = String::new();
    match format {
        Format::Plain => {
            out.push_str(&title);
            for l in &lines {
                let _ = write!(out, "\n{l}");
            }
        }
        Format::Html => {
            let _ = write!(out, "<b>{}</b>", escape_html(&title));
            for l in &lines {
                let _ = write!(out, "\n{}", escape_html(l));
            }
        }
    }
    out
}

/// Cut `text` into pieces of at most `max_chars` characters, preferring line breaks, then
/// spaces, and cutting inside a word only when a word is longer than a message. No
/// character is lost except the line break or space a cut replaces; an empty text gives no
/// pieces. In HTML mode, keep tags within one line (as [`render`] does) so no cut falls
/// inside a tag.
pub fn split_message(text: &str, max_chars: usize) -> Vec<String> {
    let max = max_chars.max(1);
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        let rest = chars.len() - start;
        if rest <= max {
            out.push(chars[start..].iter().collect());
            break;
        }
        let window = &chars[start..start + max + 1];
        // the last newline, else the last space, within the first max+1 chars: cutting there
        // keeps the piece at most max chars and drops the separator
        let cut = window
            .iter()
            .rposition(|&c| c == '\n')
            .or_else(|| window.iter().rposition(|&c| c == ' '))
            .filter(|&i| i > 0);
        match cut {
            Some(i) => {
                out.push(chars[start..start + i].iter().collect());
                start += i + 1;
            }
            None => {
                out.push(chars[start..start + max].iter().collect());
                start += max;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_piece_under_the_limit_and_loses_only_separators() {
        let text = "line one\nline two is longer\nthree";
        let parts = split_message(text, 12);
        assert_eq!(parts, vec!["line one", "line two is", "longer\nthree"]);
        assert!(parts.iter().all(|p| p.chars().count() <= 12));
    }

    #[test]
    fn split_cuts_inside_a_word_only_when_it_is_longer_than_a_message() {
        let parts = split_message("abcdefghij", 4);
        assert_eq!(parts, vec!["abcd", "efgh", "ij"]);
        assert!(split_message("", 10).is_empty());
        assert_eq!(split_message("short", 10), vec!["short"]);
    }

    #[test]
    fn split_counts_characters_not_bytes() {
        let text = "é".repeat(5000);
        let parts = split_message(&text, TELEGRAM_MAX_CHARS);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].chars().count(), 4096);
        assert_eq!(parts[1].chars().count(), 904);
    }

    #[test]
    fn html_render_escapes_values_and_bolds_the_title() {
        let e = Event::Error {
            bot: "b<1>".into(),
            message: "a & b".into(),
        };
        assert_eq!(
            render(&e, Format::Html),
            "<b>b&lt;1&gt;: tick failed</b>\na &amp; b"
        );
        assert_eq!(render(&e, Format::Plain), "b<1>: tick failed\na & b");
    }

    #[test]
    fn trade_closed_reads_as_a_sentence() {
        let e = Event::TradeClosed {
            bot: "b1".into(),
            symbol: "BTC/USDT".into(),
            side: "long".into(),
            qty: 0.5,
            entry_price: 20000.0,
            exit_price: 21000.0,
            pnl: 499.0,
            reason: "signal".into(),
        };
        assert_eq!(
            render(&e, Format::Plain),
            "b1: closed long BTC/USDT (signal)\nqty 0.5: 20000.00 → 21000.00\nP&L +499.00"
        );
    }

    #[test]
    fn liquidation_distance_is_a_percent_of_price() {
        let e = Event::LiquidationRisk {
            bot: "b".into(),
            symbol: "X".into(),
            price: 100.0,
            liquidation_price: 95.0,
        };
        assert!(render(&e, Format::Plain).contains("5.00 % from liquidation at 95.000000"));
    }
}
