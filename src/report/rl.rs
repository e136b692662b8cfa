//! The `train-rl --report DIR` / `train-leverage --report DIR` report: `rl.html` with the
//! training curve (episode reward, mean loss, ε), the validation score of each checkpoint,
//! the test-window equity against buy & hold and `technical`, the comparison table, the
//! action mix over time (rolling share of each action) and the exposure over time (signed
//! notional / equity: the leverage used, long above 0 and short below), plus
//! `episodes.csv`. Self-contained HTML with inline SVG; files written atomically.

use std::path::Path;

use super::ReportError;
use super::evolve::Line;
use super::page::esc;
use super::svg_line::line_chart_svg;
use crate::metrics::Stats;
use crate::order::Trade;
use crate::store::atomic_write;

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

fn cell(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "–".into()
    }
}

/// Write `rl.html` and `episodes.csv` into `dir` (created if needed).
///
/// # Errors
/// [`ReportError::Io`] when a file cannot be written, [`ReportError::Chart`] when a chart
/// cannot be drawn.
pub fn write_rl_report(dir: &Path, r: &RlReport<'_>) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let e = &r.episodes;
    let line = |label, ys, i: usize| Line {
        label,
        ys,
        rgb: COLOURS[i % COLOURS.len()],
    };
    let mut charts = vec![
        line_chart_svg(
            "Episode reward (sum)",
            &[line("reward", &e.reward, 0)],
            (1000, 300),
        )?,
        line_chart_svg(
            "Mean loss per episode",
            &[line("loss", &e.loss, 1)],
            (1000, 300),
        )?,
        line_chart_svg(
            "ε at the end of each episode",
            &[line("ε", &e.epsilon, 2)],
            (1000, 300),
        )?,
        line_chart_svg(
            "Validation score per checkpoint (Sharpe; −2 when undefined)",
            &[line("validation", &e.validation, 3)],
            (1000, 300),
        )?,
        line_chart_svg(
            "Test window: equity",
            &[
                line(r.compare[0].0, r.equity, 0),
                line("buy & hold", r.buy_hold, 1),
                line("technical", r.technical, 2),
            ],
            (1000, 420),
        )?,
    ];
    let window = (r.equity.len() / 50).max(24);
    let shares = action_shares(
        r.equity.len(),
        r.first_bar,
        r.actions,
        r.action_names.len(),
        window,
    );
    let share_lines: Vec<Line<'_>> = shares
        .iter()
        .enumerate()
        .map(|(k, ys)| line(r.action_names[k], ys, k))
        .collect();
    charts.push(line_chart_svg(
        &format!("Test window: action mix (share over the last {window} bars)"),
        &share_lines,
        (1000, 360),
    )?);
    let expo = exposure(r.first_bar, r.close, r.equity, r.trades);
    charts.push(line_chart_svg(
        "Test window: exposure (notional / equity; > 0 long, < 0 short)",
        &[line("exposure", &expo, 4)],
        (1000, 300),
    )?);
    let long = expo.iter().filter(|v| **v > 0.0).count();
    let short = expo.iter().filter(|v| **v < 0.0).count();
    let n = expo.len().max(1) as f64;

    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:1040px;margin:24px auto;color:#282c34}}\
         table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #e6e8ec;\
         text-align:right}}th:first-child,td:first-child{{text-align:left}}\
         </style></head><body><h1>{t}</h1><ul>",
        t = esc(&r.title)
    );
    for (k, v) in &r.facts {
        html.push_str(&format!("<li>{}: {}</li>", esc(k), esc(v)));
    }
    html.push_str(&format!(
        "<li>test window: long {:.1} % of bars, short {:.1} %, max exposure {:.2}×</li></ul>",
        100.0 * long as f64 / n,
        100.0 * short as f64 / n,
        expo.iter().fold(0.0f64, |m, v| m.max(v.abs()))
    ));
    html.push_str("<h2>Test window (scored once, after training)</h2><table><tr><th>Strategy</th><th>Return [%]</th><th>Sharpe</th><th>Max drawdown [%]</th><th>Trades</th></tr>");
    for (name, s) in &r.compare {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            cell(s.return_pct, 2),
            cell(s.sharpe, 3),
            cell(s.max_drawdown_pct, 2),
            s.trades
        ));
    }
    html.push_str("</table>");
    for c in &charts {
        html.push_str(c);
    }
    html.push_str("</body></html>\n");
    let mut csv = String::from("episode,reward,loss,epsilon,validation_score\n");
    for i in 0..e.reward.len() {
        let g = |v: &[f64]| v.get(i).copied().unwrap_or(f64::NAN);
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            i + 1,
            g(&e.reward),
            g(&e.loss),
            g(&e.epsilon),
            g(&e.validation)
        ));
    }
    for (name, bytes) in [
        ("rl.html", html.as_bytes()),
        ("episodes.csv", csv.as_bytes()),
    ] {
        let path = dir.join(name);
        atomic_write(&path, bytes).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
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
        use crate::order::{ExitReason, Side};
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
