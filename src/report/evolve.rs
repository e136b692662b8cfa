//! The `evolve --report DIR` report: `evolve.html` (best, mean and validation fitness per
//! generation; the test-window equity of the evolved strategy against buy & hold and
//! `technical`; the comparison table and the rule) and `best_genome.json`. Self-contained
//! HTML with inline SVG charts drawn by plotters; every file written atomically.

use std::path::Path;

use plotters::prelude::*;

use super::ReportError;
use super::charts::ensure_font;
use super::page::esc;
use super::series::downsample;
use crate::store::atomic_write;

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
    /// Test-window equity curves.
    pub equity: Vec<Line<'a>>,
    /// The test-window comparison.
    pub compare: Vec<CompareRow>,
}

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Chart(format!("{what}: {e}"))
}

/// A line chart as an SVG string that fills its container's width.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn line_chart_svg(
    caption: &str,
    lines: &[Line<'_>],
    (w, h): (u32, u32),
) -> Result<String, ReportError> {
    ensure_font()?;
    let n = lines.iter().map(|l| l.ys.len()).max().unwrap_or(0).max(2);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in lines.iter().flat_map(|l| l.ys).filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err("chart"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(err("chart"))?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(8)
            .y_labels(8)
            .draw()
            .map_err(err("chart"))?;
        for l in lines {
            let colour = RGBColor(l.rgb.0, l.rgb.1, l.rgb.2);
            let pts: Vec<(f64, f64)> = downsample(l.ys, 4000)
                .into_iter()
                .filter(|&i| l.ys[i].is_finite())
                .map(|i| (i as f64, l.ys[i]))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(err("chart"))?
                .label(l.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(err("chart"))?;
        root.present().map_err(err("chart"))?;
    }
    let head = format!("<svg width=\"{w}\" height=\"{h}\" ");
    Ok(buf.replacen(&head, "<svg width=\"100%\" ", 1))
}

fn cell(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "–".into()
    }
}

/// Write `evolve.html` and `best_genome.json` into `dir` (created if needed).
///
/// # Errors
/// [`ReportError::Io`] when a file cannot be written, [`ReportError::Chart`] when a chart
/// cannot be drawn.
pub fn write_evolve_report(dir: &Path, r: &EvolveReport<'_>) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let fitness = line_chart_svg("Fitness per generation", &r.fitness, (1000, 380))?;
    let equity = line_chart_svg("Test window: equity", &r.equity, (1000, 420))?;
    let mut html = String::new();
    html.push_str(&format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:1040px;margin:24px auto;color:#282c34}}\
         table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #e6e8ec;\
         text-align:right}}th:first-child,td:first-child{{text-align:left}}\
         code,pre{{background:#f4f5f7;padding:8px;display:block;white-space:pre-wrap}}\
         </style></head><body><h1>{t}</h1>",
        t = esc(&r.title)
    ));
    html.push_str(&format!(
        "<h2>Best rule</h2><code>{}</code><ul>",
        esc(&r.rule)
    ));
    for (k, v) in &r.facts {
        html.push_str(&format!("<li>{}: {}</li>", esc(k), esc(v)));
    }
    html.push_str("</ul><h2>Test window (scored once, after evolution)</h2><table>");
    html.push_str("<tr><th>Strategy</th><th>Return [%]</th><th>Sharpe</th><th>Max drawdown [%]</th><th>Trades</th></tr>");
    for c in &r.compare {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            cell(c.return_pct, 2),
            cell(c.sharpe, 3),
            cell(c.max_drawdown_pct, 2),
            c.trades.map_or("–".into(), |t| t.to_string())
        ));
    }
    html.push_str("</table>");
    html.push_str(&equity);
    html.push_str(&fitness);
    html.push_str(&format!(
        "<h2>best_genome.json</h2><pre>{}</pre></body></html>\n",
        esc(&r.genome_json)
    ));
    for (name, bytes) in [
        ("evolve.html", html.as_bytes()),
        ("best_genome.json", r.genome_json.as_bytes()),
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
        assert!(html.contains("<svg"));
        assert!(html.contains("buy &amp; hold"));
        let json = std::fs::read_to_string(dir.path().join("best_genome.json")).unwrap();
        assert_eq!(json, "{\"long\":[]}");
    }
}
