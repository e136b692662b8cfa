//! The `evolve --report DIR` report: `evolve.html` (the rule; the test-window comparison
//! with buy & hold and `technical`; their test-window equity at its dates and the best,
//! mean and validation fitness per generation, both interactive) and `best_genome.json`.
//! One self-contained page in the shell and look of the other reports ([`super::page`]);
//! every file written atomically.

use std::fmt::Write as _;
use std::path::Path;

use super::ReportError;
use super::lwc::{self, Axis, Chart, Format, Kind, Series};
use super::page::{self, esc, kv_table};

/// One line of a chart.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Values by x index (NaN = gap).
    pub ys: &'a [f64],
    /// RGB colour.
    pub rgb: (u8, u8, u8),
}

/// One row of the comparison table.
#[derive(Debug, Clone)]
pub struct CompareRow {
    /// Strategy label.
    pub name: String,
    /// Return, percent.
    pub return_pct: f64,
    /// Sharpe ratio.
    pub sharpe: f64,
    /// Maximum drawdown, percent.
    pub max_drawdown_pct: f64,
    /// Closed trades (`None` for buy & hold).
    pub trades: Option<usize>,
}

/// What the evolve report shows.
#[derive(Debug, Clone)]
pub struct EvolveReport<'a> {
    /// Page title.
    pub title: String,
    /// The best genome as rule text.
    pub rule: String,
    /// The best genome as pretty JSON (written to best_genome.json too).
    pub genome_json: String,
    /// Key facts (label, value) shown in a list.
    pub facts: Vec<(String, String)>,
    /// Fitness per generation: best, mean, validation.
    pub fitness: Vec<Line<'a>>,
    /// Test-window equity curves (each ends with the window).
    pub equity: Vec<Line<'a>>,
    /// Bar times of the test window, UTC ms.
    pub test_ts_ms: &'a [i64],
    /// The test-window comparison.
    pub compare: Vec<CompareRow>,
}

fn cell(v: f64, digits: usize) -> String {
    page::num(v, digits)
}

/// Render `evolve.html`.
pub fn render(r: &EvolveReport<'_>) -> String {
    let mut body = format!("<header><h1>{}</h1></header>", esc(&r.title));
    let cards: Vec<(String, String, &str)> = r
        .compare
        .iter()
        .map(|c| {
            (
                format!("{}: return", c.name),
                page::pct(c.return_pct),
                page::sign_class(c.return_pct),
            )
        })
        .chain(
            r.compare
                .first()
                .map(|c| (format!("{}: Sharpe", c.name), cell(c.sharpe, 2), "")),
        )
        .collect();
    body.push_str(&page::kpis(&cards));
    let _ = write!(
        body,
        "<section id=\"rule\"><h2>Best rule</h2><div class=\"rule\">{}</div>{}</section>",
        esc(&r.rule),
        kv_table(&r.facts)
    );
    let rows: Vec<Vec<String>> = r
        .compare
        .iter()
        .map(|c| {
            vec![
                esc(&c.name),
                format!(
                    "<span class=\"{}\">{}</span>",
                    page::sign_class(c.return_pct),
                    page::pct(c.return_pct)
                ),
                cell(c.sharpe, 3),
                page::pct(c.max_drawdown_pct),
                c.trades.map_or("–".into(), |t| t.to_string()),
            ]
        })
        .collect();
    let _ = write!(
        body,
        "<section id=\"compare\"><h2>Test window<span class=\"note\">scored once, after \
         evolution</span></h2>{}</section>",
        page::table(
            &["Strategy", "Return", "Sharpe", "Max drawdown", "Trades"],
            &rows,
            &[0]
        )
    );
    let mut charts = Vec::new();
    if !r.test_ts_ms.is_empty() {
        let times = lwc::secs(r.test_ts_ms);
        let mut c = Chart::new("equity", 380, Format::Money);
        for l in &r.equity {
            // a curve that starts late (warm-up) ends with the window
            let start = times.len().saturating_sub(l.ys.len());
            c.series.push(
                Series::line(Kind::Line, l.label, &css(l.rgb), &times[start..], l.ys)
                    .format(Format::Money),
            );
        }
        let _ = write!(
            body,
            "<section id=\"equity\"><h2>Test window: equity<button data-log=\"equity\" \
             aria-pressed=\"false\">Log scale</button></h2>{}</section>",
            c.div()
        );
        charts.push(c);
    }
    let mut f = Chart::new("fitness", 300, Format::Num);
    f.axis = Axis::Index("generation".into());
    for l in &r.fitness {
        let gens: Vec<i64> = (1..=l.ys.len() as i64).collect();
        f.series
            .push(Series::line(Kind::Line, l.label, &css(l.rgb), &gens, l.ys).format(Format::Num));
    }
    let _ = write!(
        body,
        "<section id=\"fitness\"><h2>Fitness per generation</h2>{}</section>",
        f.div()
    );
    charts.push(f);
    let _ = write!(
        body,
        "<section id=\"genome\"><h2>best_genome.json</h2><pre>{}</pre></section>",
        esc(&r.genome_json)
    );
    let intraday = r.test_ts_ms.iter().any(|t| t.rem_euclid(86_400_000) != 0);
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

fn css((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Write `evolve.html` and `best_genome.json` into `dir` (created if needed).
///
/// # Errors
/// [`ReportError::Io`] when a file cannot be written.
pub fn write_evolve_report(dir: &Path, r: &EvolveReport<'_>) -> Result<(), ReportError> {
    let html = render(r);
    super::write_files(
        dir,
        &[
            ("evolve.html", html.as_bytes()),
            ("best_genome.json", r.genome_json.as_bytes()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_page_and_the_genome() {
        let dir = tempfile::tempdir().unwrap();
        let best = [0.1, 0.5, 0.9];
        let eq = [100.0, 101.0, f64::NAN, 103.0];
        let r = EvolveReport {
            title: "GOOG · evolve".into(),
            rule: "RSI(14) < 28 → LONG".into(),
            genome_json: "{\"long\":[]}".into(),
            facts: vec![("seed".into(), "42".into())],
            fitness: vec![Line {
                label: "best",
                ys: &best,
                rgb: (31, 98, 180),
            }],
            equity: vec![Line {
                label: "evolved",
                ys: &eq,
                rgb: (31, 98, 180),
            }],
            test_ts_ms: &[86_400_000, 172_800_000, 259_200_000, 345_600_000],
            compare: vec![CompareRow {
                name: "buy & hold".into(),
                return_pct: 3.0,
                sharpe: f64::NAN,
                max_drawdown_pct: 1.0,
                trades: None,
            }],
        };
        write_evolve_report(dir.path(), &r).unwrap();
        let html = std::fs::read_to_string(dir.path().join("evolve.html")).unwrap();
        assert!(html.contains("RSI(14) &lt; 28 → LONG"));
        assert!(html.contains("id=\"chart-equity\"") && html.contains("id=\"chart-fitness\""));
        assert!(html.contains("buy &amp; hold"));
        // equity at the window's dates (seconds), NaN as a gap; fitness by generation
        assert!(html.contains("[[86400,100],[172800,101],[259200,null],[345600,103]]"));
        assert!(html.contains("\"axis\":\"index\",\"index_label\":\"generation\""));
        let json = std::fs::read_to_string(dir.path().join("best_genome.json")).unwrap();
        assert_eq!(json, "{\"long\":[]}");
    }
}
