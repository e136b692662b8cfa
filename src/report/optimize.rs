//! The optimisation report (`algolab optimize --report DIR`): `optimize.html`, one
//! self-contained page in the same shell and look as the backtest tearsheet
//! ([`super::page`]): the summary, a heatmap of the objective over two searched parameters
//! (colour bar, values on hover, the best cell outlined), the histogram of the trials'
//! objective values, the winner's equity and the stitched out-of-sample equity of the
//! walk-forward folds at their dates (interactive), the parameters chosen in each fold, and
//! the top trials. Takes plain data; the `optimize` use case builds it.

use std::fmt::Write as _;
use std::path::Path;

use super::ReportError;
use super::lwc::{self, Chart, Format, Kind, Series};
use super::page::{self, esc, kv_table, pct};
use super::svg;
use crate::metrics::iso;

/// A two-parameter grid of objective values.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// X parameter name.
    pub x_name: String,
    /// Y parameter name.
    pub y_name: String,
    /// X values (columns).
    pub xs: Vec<f64>,
    /// Y values (rows).
    pub ys: Vec<f64>,
    /// `values[row][col]`, NaN where no trial ran.
    pub values: Vec<Vec<f64>>,
    /// The winning trial's cell `(row, col)`, outlined.
    pub best: Option<(usize, usize)>,
}

/// One walk-forward fold as the report shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FoldRow {
    /// Training window, first and last bar time (UTC ms).
    pub train_ms: (i64, i64),
    /// Test window, first and last bar time (UTC ms).
    pub test_ms: (i64, i64),
    /// The training winner's parameters (`k=v …`), empty when none was eligible.
    pub params: String,
    /// The winner's in-sample objective value.
    pub in_sample: f64,
    /// Out-of-sample return, percent.
    pub oos_return_pct: f64,
    /// Out-of-sample Sharpe ratio.
    pub oos_sharpe: f64,
    /// Out-of-sample trades.
    pub oos_trades: Option<usize>,
}

/// What the report shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptimizeReport {
    /// Page title.
    pub title: String,
    /// Summary lines (best parameters, DSR, PBO, …).
    pub summary: Vec<(String, String)>,
    /// Heatmap of a two-parameter grid.
    pub heatmap: Option<Heatmap>,
    /// Every trial's objective value (finite ones are drawn).
    pub values: Vec<f64>,
    /// The objective's name.
    pub metric: String,
    /// The winner's equity curve.
    pub best_equity: Vec<f64>,
    /// Bar times of `best_equity` (UTC ms; empty: the chart is not drawn).
    pub best_ts_ms: Vec<i64>,
    /// Stitched out-of-sample equity (empty without walk-forward).
    pub oos_equity: Vec<f64>,
    /// Bar times of `oos_equity` (UTC ms).
    pub oos_ts_ms: Vec<i64>,
    /// The walk-forward folds.
    pub folds: Vec<FoldRow>,
    /// Top-table header and rows.
    pub table: (Vec<String>, Vec<Vec<String>>),
}

fn day(ts_ms: i64) -> String {
    let s = iso(ts_ms);
    s.get(..10).unwrap_or(&s).to_string()
}

fn folds_table(folds: &[FoldRow], metric: &str) -> String {
    let rows: Vec<Vec<String>> = folds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            vec![
                (i + 1).to_string(),
                format!("{} → {}", day(f.train_ms.0), day(f.train_ms.1)),
                format!("{} → {}", day(f.test_ms.0), day(f.test_ms.1)),
                if f.params.is_empty() {
                    "no eligible trial".into()
                } else {
                    esc(&f.params)
                },
                page::num(f.in_sample, 4),
                format!(
                    "<span class=\"{}\">{}</span>",
                    page::sign_class(f.oos_return_pct),
                    pct(f.oos_return_pct)
                ),
                page::num(f.oos_sharpe, 3),
                f.oos_trades.map_or("—".into(), |t| t.to_string()),
            ]
        })
        .collect();
    let is = format!("In-sample {metric}");
    page::table(
        &[
            "Fold",
            "Train",
            "Test (out of sample)",
            "Chosen parameters",
            &is,
            "OOS return",
            "OOS Sharpe",
            "OOS trades",
        ],
        &rows,
        &[1, 2, 3],
    )
}

/// Render `optimize.html`.
pub fn render(r: &OptimizeReport) -> String {
    let mut body = format!("<header><h1>{}</h1></header>", esc(&r.title));
    let cards: Vec<(&str, String, &str)> = r
        .summary
        .iter()
        .filter(|(k, v)| k != "best" && v.len() <= 24)
        .map(|(k, v)| (k.as_str(), v.clone(), ""))
        .collect();
    body.push_str(&page::kpis(&cards));
    let _ = write!(
        body,
        "<section id=\"summary\"><h2>Summary</h2>{}</section>",
        kv_table(&r.summary)
    );
    body.push_str("<div class=\"grid2\">");
    if let Some(h) = &r.heatmap {
        let _ = write!(
            body,
            "<section id=\"heatmap\"><h2>{} by {} and {}<span class=\"note\">hover a cell for \
             its value; the outlined cell is the winner; hatched cells had no eligible trial\
             </span></h2>{}</section>",
            esc(&r.metric),
            esc(&h.y_name),
            esc(&h.x_name),
            svg::heatmap(&svg::HeatGrid {
                x_name: &h.x_name,
                y_name: &h.y_name,
                xs: &h.xs,
                ys: &h.ys,
                values: &h.values,
                metric: &r.metric,
                best: h.best,
            })
        );
    }
    let finite = r.values.iter().filter(|v| v.is_finite()).count();
    let best_value = r
        .summary
        .iter()
        .find(|(k, _)| *k == r.metric)
        .and_then(|(_, v)| v.parse::<f64>().ok());
    let _ = write!(
        body,
        "<section id=\"trials\"><h2>Trial values<span class=\"note\">{finite} trials with a \
         value</span></h2>{}</section>",
        svg::histogram(
            &r.values,
            30,
            &r.metric,
            "",
            best_value.map(|b| (b, "winner")),
        )
    );
    body.push_str("</div>");
    let mut charts = Vec::new();
    if !r.best_equity.is_empty() && r.best_ts_ms.len() == r.best_equity.len() {
        let mut c = Chart::new("equity", 380, Format::Money);
        c.series.push(
            Series::line(
                Kind::Line,
                "Best parameters (whole run)",
                "#1f62b4",
                &lwc::secs(&r.best_ts_ms),
                &r.best_equity,
            )
            .format(Format::Money),
        );
        if !r.oos_equity.is_empty() && r.oos_ts_ms.len() == r.oos_equity.len() {
            c.series.push(
                Series::line(
                    Kind::Line,
                    "Walk-forward out of sample (stitched)",
                    "#c2410c",
                    &lwc::secs(&r.oos_ts_ms),
                    &r.oos_equity,
                )
                .format(Format::Money),
            );
        }
        let _ = write!(
            body,
            "<section id=\"equity\"><h2>Equity<button data-log=\"equity\" aria-pressed=\"false\">\
             Log scale</button></h2>{}</section>",
            c.div()
        );
        charts.push(c);
    }
    if !r.folds.is_empty() {
        let _ = write!(
            body,
            "<section id=\"folds\"><h2>Walk-forward folds<span class=\"note\">each fold \
             searches its training window and trades the winner on the test window that \
             follows</span></h2>{}</section>",
            folds_table(&r.folds, &r.metric)
        );
    }
    let (head, rows) = &r.table;
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| esc(c)).collect())
        .collect();
    let _ = write!(
        body,
        "<section id=\"top\"><h2>Top trials</h2>{}</section>",
        page::table(&head, &rows, &[1])
    );
    let intraday = r.best_ts_ms.iter().any(|t| t.rem_euclid(86_400_000) != 0);
    let mut data = format!("{{\"intraday\":{intraday},\"charts\":[");
    for (i, c) in charts.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(&c.json());
    }
    data.push_str("]}");
    page::document(&r.title, &body, &data)
}

/// Write `optimize.html` into `dir`.
///
/// # Errors
/// [`ReportError::Io`] when the directory or file cannot be written.
pub fn write(dir: &Path, r: &OptimizeReport) -> Result<(), ReportError> {
    super::write_files(dir, &[("optimize.html", render(r).as_bytes())])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn issue_10_optimize_report_has_heatmap_bar_best_cell_folds_and_dated_equity() {
        let dir = tempfile::tempdir().unwrap();
        let r = OptimizeReport {
            title: "GOOG · sma-cross".into(),
            summary: vec![
                ("best".into(), "fast=5 slow=20".into()),
                ("sharpe".into(), "3.0000".into()),
            ],
            heatmap: Some(Heatmap {
                x_name: "slow".into(),
                y_name: "fast".into(),
                xs: vec![10.0, 20.0],
                ys: vec![5.0, 6.0],
                values: vec![vec![1.0, 2.0], vec![f64::NAN, 3.0]],
                best: Some((1, 1)),
            }),
            values: vec![1.0, 2.0, 3.0],
            metric: "sharpe".into(),
            best_equity: vec![100.0, 101.0, 99.0],
            best_ts_ms: vec![10 * DAY, 11 * DAY, 12 * DAY],
            oos_equity: vec![100.0, 102.0],
            oos_ts_ms: vec![11 * DAY, 12 * DAY],
            folds: vec![FoldRow {
                train_ms: (0, 10 * DAY),
                test_ms: (11 * DAY, 12 * DAY),
                params: "fast=5 slow=20".into(),
                in_sample: 1.5,
                oos_return_pct: 2.0,
                oos_sharpe: 0.7,
                oos_trades: Some(3),
            }],
            table: (vec!["trial".into()], vec![vec!["0".into()]]),
        };
        write(dir.path(), &r).unwrap();
        let html = std::fs::read_to_string(dir.path().join("optimize.html")).unwrap();
        assert!(html.contains("sharpe by fast and slow"));
        assert!(html.contains("id=\"best-cell\""), "best cell outlined");
        assert!(html.contains("data-tip=\"fast=6 · slow=20\nsharpe: 3.0000\""));
        assert!(html.contains("1970-01-01 → 1970-01-11"), "fold dates");
        assert!(
            html.contains("<td class=\"l\">fast=5 slow=20</td>"),
            "fold params"
        );
        // the equity chart is dated: seconds of the bar times
        assert!(html.contains("[950400,100]"), "{}", &html[..200]);
        assert!(html.contains("TradingView Lightweight Charts™ v5.2.1"));
    }
}
