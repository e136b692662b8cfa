//! The optimisation report (`algolab optimize --report DIR`): `optimize.html`, self-contained,
//! with inline SVG charts drawn by plotters: a heatmap of the objective over two searched
//! parameters (when exactly two were searched on a grid), a histogram of the trials'
//! objective values, the winner's equity and the stitched out-of-sample equity of the
//! walk-forward folds. Takes plain data; the `optimize` use case builds it.

use std::path::Path;

use plotters::prelude::*;

use super::ReportError;
use super::html::esc;
use crate::store::atomic_write;

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
    /// Stitched out-of-sample equity (empty without walk-forward).
    pub oos_equity: Vec<f64>,
    /// Top-table header and rows.
    pub table: (Vec<String>, Vec<Vec<String>>),
}

fn chart_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Chart(e.to_string())
}

fn finish_svg(buf: String, w: u32, h: u32) -> String {
    buf.replacen(
        &format!("<svg width=\"{w}\" height=\"{h}\" "),
        "<svg width=\"100%\" ",
        1,
    )
}

/// Colour of `t` in [0, 1] on a blue → yellow ramp.
fn ramp(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * t) as u8;
    RGBColor(lerp(40.0, 250.0), lerp(60.0, 220.0), lerp(160.0, 40.0))
}

/// The heatmap as an SVG string.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn heatmap_svg(h: &Heatmap, metric: &str) -> Result<String, ReportError> {
    super::charts::ensure_font()?;
    let (w, ht) = (900u32, 600u32);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, ht)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let (nx, ny) = (h.xs.len(), h.ys.len());
        let finite: Vec<f64> = h
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{metric} by {} × {}", h.x_name, h.y_name),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0..nx.max(1), 0..ny.max(1))
            .map_err(chart_err)?;
        let xs = h.xs.clone();
        let ys = h.ys.clone();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(h.x_name.as_str())
            .y_desc(h.y_name.as_str())
            .x_label_formatter(&|i| xs.get(*i).map_or(String::new(), |v| format!("{v}")))
            .y_label_formatter(&|i| ys.get(*i).map_or(String::new(), |v| format!("{v}")))
            .draw()
            .map_err(chart_err)?;
        let span = if hi > lo { hi - lo } else { 1.0 };
        chart
            .draw_series(h.values.iter().enumerate().flat_map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(move |(c, v)| {
                        Rectangle::new([(c, r), (c + 1, r + 1)], ramp((v - lo) / span).filled())
                    })
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(finish_svg(buf, w, ht))
}

/// A histogram of the finite values, 30 bins.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn histogram_svg(values: &[f64], metric: &str) -> Result<String, ReportError> {
    super::charts::ensure_font()?;
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bins = 30usize;
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0u32; bins];
    for x in &v {
        let b = (((x - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let (w, h) = (900u32, 320u32);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let top = counts.iter().copied().max().unwrap_or(1).max(1);
        let (x0, x1) = if v.is_empty() {
            (0.0, 1.0)
        } else {
            (lo, lo + width * bins as f64)
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("trials by {metric}"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, 0u32..top + 1)
            .map_err(chart_err)?;
        chart.configure_mesh().draw().map_err(chart_err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let a = lo + i as f64 * width;
                Rectangle::new([(a, 0), (a + width, c)], RGBColor(31, 98, 180).filled())
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(finish_svg(buf, w, h))
}

/// Equity curves (index on x) as an SVG string.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn equity_svg(series: &[(&str, &[f64])], caption: &str) -> Result<String, ReportError> {
    super::charts::ensure_font()?;
    let (w, h) = (900u32, 360u32);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let n = series
            .iter()
            .map(|(_, s)| s.len())
            .max()
            .unwrap_or(1)
            .max(2);
        let all = series
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .filter(|v| v.is_finite());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo < hi { (lo, hi) } else { (0.0, 1.0) };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0..n, lo..hi)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("bar")
            .draw()
            .map_err(chart_err)?;
        let colours = [RGBColor(31, 98, 180), RGBColor(200, 40, 40)];
        for (k, (name, s)) in series.iter().enumerate() {
            let step = (s.len() / 4000).max(1);
            let col = colours[k % colours.len()];
            // NaN marks bars without a value (the out-of-sample curve outside its test
            // windows): each finite run is drawn at its own bars
            let points: Vec<(usize, f64)> = s.iter().copied().enumerate().step_by(step).collect();
            let runs = points
                .split(|(_, v)| !v.is_finite())
                .filter(|r| !r.is_empty());
            for (j, run) in runs.enumerate() {
                let drawn = chart
                    .draw_series(LineSeries::new(run.iter().copied(), col))
                    .map_err(chart_err)?;
                if j == 0 {
                    drawn
                        .label(*name)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], col));
                }
            }
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(finish_svg(buf, w, h))
}

/// Write `optimize.html` into `dir`.
///
/// # Errors
/// [`ReportError::Io`] when the directory or file cannot be written; [`ReportError::Chart`]
/// when a chart cannot be drawn.
pub fn write(dir: &Path, r: &OptimizeReport) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:960px;margin:auto;color:#282c34}}\
         table{{border-collapse:collapse}}td,th{{padding:2px 8px;border-bottom:1px solid #e6e8ec;\
         text-align:right}}</style></head><body><h1>{t}</h1><table>",
        t = esc(&r.title)
    );
    for (k, v) in &r.summary {
        html.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
    }
    html.push_str("</table>");
    if let Some(h) = &r.heatmap {
        html.push_str(&format!("<h2>Heatmap</h2>{}", heatmap_svg(h, &r.metric)?));
    }
    html.push_str(&format!(
        "<h2>Trial values</h2>{}",
        histogram_svg(&r.values, &r.metric)?
    ));
    let mut eq: Vec<(&str, &[f64])> = vec![("best parameters", &r.best_equity)];
    if !r.oos_equity.is_empty() {
        eq.push(("walk-forward out of sample", &r.oos_equity));
    }
    if !r.best_equity.is_empty() {
        html.push_str(&format!("<h2>Equity</h2>{}", equity_svg(&eq, "equity")?));
    }
    let (head, rows) = &r.table;
    html.push_str("<h2>Top trials</h2><table><tr>");
    for h in head {
        html.push_str(&format!("<th>{}</th>", esc(h)));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for c in row {
            html.push_str(&format!("<td>{}</td>", esc(c)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></body></html>\n");
    let path = dir.join("optimize.html");
    atomic_write(&path, html.as_bytes()).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_has_heatmap_histogram_and_equity() {
        let dir = tempfile::tempdir().unwrap();
        let r = OptimizeReport {
            title: "GOOG · sma-cross".into(),
            summary: vec![("best".into(), "fast=5 slow=20".into())],
            heatmap: Some(Heatmap {
                x_name: "slow".into(),
                y_name: "fast".into(),
                xs: vec![10.0, 20.0],
                ys: vec![5.0, 6.0],
                values: vec![vec![1.0, 2.0], vec![f64::NAN, 3.0]],
            }),
            values: vec![1.0, 2.0, 3.0],
            metric: "sharpe".into(),
            best_equity: vec![100.0, 101.0, 99.0],
            oos_equity: vec![100.0, 102.0],
            table: (vec!["trial".into()], vec![vec!["0".into()]]),
        };
        write(dir.path(), &r).unwrap();
        let html = std::fs::read_to_string(dir.path().join("optimize.html")).unwrap();
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(html.contains("sharpe by slow × fast"));
    }
}
