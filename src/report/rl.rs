//! The `train-rl --report DIR` / `train-leverage --report DIR` report: `rl.html` with the
//! training curve (episode reward, mean loss, ε), the validation score of each checkpoint,
//! the test-window equity against buy & hold and `technical`, the comparison table, the
//! action mix over time (rolling share of each action) and the exposure over time (signed
//! notional / equity: the leverage used, long above 0 and short below), plus
//! `episodes.csv`. One self-contained page in the shell and look of the other reports
//! ([`super::page`]: interactive charts, inlined); files written atomically.

use std::fmt::Write as _;
use std::path::Path;

use super::ReportError;
use super::lwc::{self, Axis, Chart, Format, Kind, Series};
use super::page::{self, esc, kv_table};
use crate::core::order::Trade;
use crate::metrics::Stats;

/// Per-episode series.
#[derive(Debug, Clone, Default)]
pub struct EpisodeSeries {
    /// Sum of rewards.
    pub reward: Vec<f64>,
    /// Mean loss.
    pub loss: Vec<f64>,
    /// ε at the end.
    pub epsilon: Vec<f64>,
    /// Validation score.
    pub validation: Vec<f64>,
}

/// What the report shows.
#[derive(Debug, Clone)]
pub struct RlReport<'a> {
    /// Page title.
    pub title: String,
    /// Action names, by index.
    pub action_names: &'a [&'a str],
    /// Per-episode series.
    pub episodes: EpisodeSeries,
    /// Test-window bar times.
    pub ts_ms: &'a [i64],
    /// Test-window closes.
    pub close: &'a [f64],
    /// Index of the test window's first bar in the full series.
    pub first_bar: usize,
    /// The agent's test-window equity.
    pub equity: &'a [f64],
    /// Buy & hold's.
    pub buy_hold: &'a [f64],
    /// `technical`'s.
    pub technical: &'a [f64],
    /// The agent's test-window trades.
    pub trades: &'a [Trade],
    /// `(bar, action)` decisions on the test window.
    pub actions: &'a [(usize, u8)],
    /// Rows of the comparison table.
    pub compare: [(&'a str, &'a Stats); 3],
    /// Key facts.
    pub facts: Vec<(String, String)>,
}

const COLOURS: [(u8, u8, u8); 11] = [
    (31, 98, 180),
    (214, 96, 77),
    (60, 160, 90),
    (150, 100, 190),
    (230, 160, 40),
    (90, 90, 90),
    (200, 60, 140),
    (40, 170, 170),
    (140, 110, 60),
    (120, 160, 220),
    (180, 180, 40),
];

/// Rolling share of each action over a trailing window, per test bar.
pub fn action_shares(
    n_bars: usize,
    first_bar: usize,
    actions: &[(usize, u8)],
    n_actions: usize,
    window: usize,
) -> Vec<Vec<f64>> {
    let mut per_bar = vec![None; n_bars];
    for &(t, a) in actions {
        if let Some(slot) = t.checked_sub(first_bar).and_then(|i| per_bar.get_mut(i)) {
            *slot = Some(usize::from(a));
        }
    }
    let mut counts = vec![0usize; n_actions];
    let mut seen = 0usize;
    let mut out = vec![vec![f64::NAN; n_bars]; n_actions];
    for i in 0..n_bars {
        if let Some(a) = per_bar[i].filter(|a| *a < n_actions) {
            counts[a] += 1;
            seen += 1;
        }
        if i >= window
            && let Some(a) = per_bar[i - window].filter(|a| *a < n_actions)
        {
            counts[a] -= 1;
            seen -= 1;
        }
        if seen > 0 {
            for (k, c) in counts.iter().enumerate() {
                out[k][i] = *c as f64 / seen as f64;
            }
        }
    }
    out
}

/// Signed exposure (notional / equity; + long, − short) per test bar from the trades.
pub fn exposure(first_bar: usize, close: &[f64], equity: &[f64], trades: &[Trade]) -> Vec<f64> {
    let mut out = vec![0.0; equity.len()];
    for tr in trades {
        let a = tr.entry_bar.saturating_sub(first_bar);
        let b = tr.exit_bar.saturating_sub(first_bar).min(equity.len());
        for i in a..b {
            if equity[i] > 0.0 {
                out[i] += tr.side.sign() * tr.qty * close[i] / equity[i];
            }
        }
    }
    out
}

fn css((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn colour(i: usize) -> String {
    css(COLOURS[i % COLOURS.len()])
}

/// An index chart (x = episode) of one series.
fn episode_chart(id: &str, name: &str, ys: &[f64], i: usize) -> Chart {
    let mut c = Chart::new(id, 240, Format::Num);
    c.axis = Axis::Index("episode".into());
    let xs: Vec<i64> = (1..=ys.len() as i64).collect();
    c.series
        .push(Series::line(Kind::Line, name, &colour(i), &xs, ys).format(Format::Num));
    c
}

/// A time chart of the test window.
fn test_chart(
    id: &str,
    height: u32,
    format: Format,
    times: &[i64],
    lines: &[(&str, &[f64])],
) -> Chart {
    let mut c = Chart::new(id, height, format);
    for (i, (name, ys)) in lines.iter().enumerate() {
        let n = times.len().min(ys.len());
        c.series
            .push(Series::line(Kind::Line, name, &colour(i), &times[..n], &ys[..n]).format(format));
    }
    c
}

/// Render `rl.html`.
pub fn render(r: &RlReport<'_>) -> String {
    let e = &r.episodes;
    let times = lwc::secs(r.ts_ms);
    let window = (r.equity.len() / 50).max(24);
    let shares = action_shares(
        r.equity.len(),
        r.first_bar,
        r.actions,
        r.action_names.len(),
        window,
    );
    let expo = exposure(r.first_bar, r.close, r.equity, r.trades);
    let long = expo.iter().filter(|v| **v > 0.0).count();
    let short = expo.iter().filter(|v| **v < 0.0).count();
    let n = expo.len().max(1) as f64;
    let mut facts = r.facts.clone();
    facts.push((
        "test window".into(),
        format!(
            "long {:.1} % of bars, short {:.1} %, max exposure {:.2}×",
            100.0 * long as f64 / n,
            100.0 * short as f64 / n,
            expo.iter().fold(0.0f64, |m, v| m.max(v.abs()))
        ),
    ));
    let mut body = format!("<header><h1>{}</h1></header>", esc(&r.title));
    let cards: Vec<(String, String, &str)> = r
        .compare
        .iter()
        .map(|(name, s)| {
            (
                format!("{name}: return"),
                page::pct(s.return_pct),
                page::sign_class(s.return_pct),
            )
        })
        .collect();
    body.push_str(&page::kpis(&cards));
    let _ = write!(
        body,
        "<section id=\"facts\"><h2>Training</h2>{}</section>",
        kv_table(&facts)
    );
    let rows: Vec<Vec<String>> = r
        .compare
        .iter()
        .map(|(name, s)| {
            vec![
                esc(name),
                page::pct(s.return_pct),
                page::num(s.sharpe, 3),
                page::pct(s.max_drawdown_pct),
                s.trades.to_string(),
            ]
        })
        .collect();
    let _ = write!(
        body,
        "<section id=\"compare\"><h2>Test window<span class=\"note\">scored once, after \
         training</span></h2>{}</section>",
        page::table(
            &["Strategy", "Return", "Sharpe", "Max drawdown", "Trades"],
            &rows,
            &[0]
        )
    );
    let equity = test_chart(
        "equity",
        380,
        Format::Money,
        &times,
        &[
            (r.compare[0].0, r.equity),
            ("buy & hold", r.buy_hold),
            ("technical", r.technical),
        ],
    );
    let share_lines: Vec<(&str, &[f64])> = shares
        .iter()
        .enumerate()
        .map(|(k, ys)| (r.action_names.get(k).copied().unwrap_or("?"), ys.as_slice()))
        .collect();
    let mix = test_chart("actions", 300, Format::Num, &times, &share_lines);
    let expo_chart = test_chart("exposure", 240, Format::Num, &times, &[("exposure", &expo)]);
    let episodes = [
        episode_chart("reward", "episode reward (sum)", &e.reward, 0),
        episode_chart("loss", "mean loss", &e.loss, 1),
        episode_chart("epsilon", "ε at the episode's end", &e.epsilon, 2),
        episode_chart(
            "validation",
            "validation score (Sharpe; −2 when undefined)",
            &e.validation,
            3,
        ),
    ];
    let _ = write!(
        body,
        "<section id=\"equity\"><h2>Test window: equity<button data-log=\"equity\" \
         aria-pressed=\"false\">Log scale</button></h2>{}</section>\
         <section id=\"actions\"><h2>Test window: action mix<span class=\"note\">share of \
         each action over the last {window} bars</span></h2>{}</section>\
         <section id=\"exposure\"><h2>Test window: exposure<span class=\"note\">notional / \
         equity; above 0 long, below 0 short</span></h2>{}</section>\
         <div class=\"grid2\"><section><h2>Episode reward</h2>{}</section>\
         <section><h2>Mean loss</h2>{}</section><section><h2>ε</h2>{}</section>\
         <section><h2>Validation score per checkpoint</h2>{}</section></div>",
        equity.div(),
        mix.div(),
        expo_chart.div(),
        episodes[0].div(),
        episodes[1].div(),
        episodes[2].div(),
        episodes[3].div(),
    );
    let intraday = r.ts_ms.iter().any(|t| t.rem_euclid(86_400_000) != 0);
    let mut data = format!("{{\"intraday\":{intraday},\"charts\":[");
    let all = [equity, mix, expo_chart].into_iter().chain(episodes);
    for (i, c) in all.enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(&c.json());
    }
    data.push_str("]}");
    page::document(&r.title, &body, &data)
}

/// Write `rl.html` and `episodes.csv` into `dir` (created if needed).
///
/// # Errors
/// [`ReportError::Io`] when a file cannot be written.
pub fn write_rl_report(dir: &Path, r: &RlReport<'_>) -> Result<(), ReportError> {
    let html = render(r);
    let e = &r.episodes;
    let mut csv = String::from("episode,reward,loss,epsilon,validation_score\n");
    for i in 0..e.reward.len() {
        let g = |v: &[f64]| v.get(i).copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            i + 1,
            g(&e.reward),
            g(&e.loss),
            g(&e.epsilon),
            g(&e.validation)
        );
    }
    super::write_files(
        dir,
        &[
            ("rl.html", html.as_bytes()),
            ("episodes.csv", csv.as_bytes()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_shares_roll_over_the_window() {
        let acts = [(10, 0u8), (11, 1), (12, 1), (13, 2)];
        let s = action_shares(4, 10, &acts, 3, 2);
        assert_eq!(s[0][0], 1.0);
        assert_eq!((s[0][1], s[1][1]), (0.5, 0.5));
        assert_eq!((s[0][2], s[1][2]), (0.0, 1.0));
        assert_eq!((s[1][3], s[2][3]), (0.5, 0.5));
    }

    #[test]
    fn exposure_is_signed_notional_over_equity() {
        use crate::core::order::{ExitReason, Side};
        let t = Trade {
            side: Side::Short,
            qty: 2.0,
            entry_bar: 11,
            exit_bar: 13,
            entry_ts_ms: 0,
            exit_ts_ms: 0,
            entry_price: 10.0,
            exit_price: 10.0,
            pnl: 0.0,
            return_pct: 0.0,
            fees: 0.0,
            mae_pct: 0.0,
            mfe_pct: 0.0,
            exit_reason: ExitReason::Signal,
        };
        let e = exposure(10, &[10.0; 4], &[100.0; 4], &[t]);
        assert_eq!(e, vec![0.0, -0.2, -0.2, 0.0]);
    }
}
