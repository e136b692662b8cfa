//! The plotters code of the backtest report: the 1200×600 PNGs (`equity.png`,
//! `drawdown.png`) for people who want a picture without a browser (DEPENDENCIES.md:
//! plotters' last release is from 2024, keep it in few places). The x axis is the bar index
//! (no weekend gaps), labelled with dates. DejaVu Sans is embedded and registered as
//! "sans-serif" before any text is measured.
//!
//! A series longer than the plot is wide is drawn as one filled rectangle per pixel column,
//! spanning the column's values and the previous column's last value, rather than as a thick
//! polyline: plotters rasterises each thick segment as its own polygon, which left gaps and
//! stray pixels on dense, jumpy curves (issue 10 item 11). Only NaN leaves a gap.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::ReportError;
use super::series::downsample;
use crate::metrics::iso;

/// DejaVu Sans (assets/LICENSE-DejaVu), for text in the bitmap charts.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// Most points a short series is drawn with as a polyline.
pub const MAX_POINTS: usize = 4000;

const BLUE: RGBColor = RGBColor(31, 98, 180);
const GREY: RGBColor = RGBColor(140, 140, 140);
const RED: RGBColor = RGBColor(200, 40, 40);
const INK: RGBColor = RGBColor(40, 44, 52);
const GRID: RGBColor = RGBColor(230, 232, 236);

/// Register the embedded font once.
///
/// # Errors
/// [`ReportError::Chart`] if the embedded font cannot be parsed.
pub fn ensure_font() -> Result<(), ReportError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ReportError::Chart(
            "the embedded DejaVu Sans font is invalid".into(),
        ))
    }
}

/// The series a chart draws, aligned by bar.
pub struct ChartData<'a> {
    /// Bar times, UTC ms.
    pub ts_ms: &'a [i64],
    /// Strategy equity.
    pub equity: &'a [f64],
    /// Buy & hold equity (NaN when there is no price).
    pub buy_hold: &'a [f64],
    /// Drawdown, percent (positive).
    pub drawdown_pct: &'a [f64],
}

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Chart(format!("{what}: {e}"))
}

fn date_label(ts: &[i64], x: f64) -> String {
    let i = x.round().clamp(0.0, ts.len().saturating_sub(1) as f64) as usize;
    match ts.get(i) {
        Some(&t) => iso(t)[..10].to_string(),
        None => String::new(),
    }
}

fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

fn finite_range(series: &[&[f64]]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &v in s.iter().filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-3).max(1e-9);
    (lo - pad, hi + pad)
}

fn points(ys: &[f64]) -> Vec<(f64, f64)> {
    downsample(ys, MAX_POINTS)
        .into_iter()
        .filter(|&i| ys[i].is_finite())
        .map(|i| (i as f64, ys[i]))
        .collect()
}

fn x_range(n: usize) -> std::ops::Range<f64> {
    -0.5..(n.max(2) as f64 - 0.5)
}

/// What one pixel column of a dense series covers: bars `a..b` and the values to fill,
/// `lo..=hi` (the column's finite values and, where the bar before one is finite too, that
/// bar's value, so neighbouring columns join).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnSpan {
    /// First bar of the column.
    pub a: usize,
    /// One past its last bar.
    pub b: usize,
    /// Lowest value to fill.
    pub lo: f64,
    /// Highest value to fill.
    pub hi: f64,
}

/// The [`ColumnSpan`]s of `ys` over `cols` pixel columns; columns with no finite value are
/// left out (a gap).
pub fn column_spans(ys: &[f64], cols: usize) -> Vec<ColumnSpan> {
    let (n, cols) = (ys.len(), cols.max(1));
    let mut out = Vec::with_capacity(cols);
    for c in 0..cols {
        let (a, b) = (c * n / cols, (c + 1) * n / cols);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in a..b {
            if !ys[i].is_finite() {
                continue;
            }
            lo = lo.min(ys[i]);
            hi = hi.max(ys[i]);
            if let Some(&p) = i.checked_sub(1).and_then(|j| ys.get(j))
                && p.is_finite()
            {
                lo = lo.min(p);
                hi = hi.max(p);
            }
        }
        if lo <= hi {
            out.push(ColumnSpan { a, b, lo, hi });
        }
    }
    out
}

type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draw `ys` as a `width_px`-thick line: a polyline when it has fewer points than the plot
/// has pixel columns, else one rectangle per column (see the module doc). With `fill_to`,
/// each column is also filled from that level to its far value in `fill`.
fn draw_dense<DB: DrawingBackend>(
    chart: &mut Plot<'_, DB>,
    ys: &[f64],
    colour: RGBColor,
    width_px: u32,
    fill: Option<(f64, RGBAColor)>,
) -> Result<(), ReportError> {
    let (pw, ph) = chart.plotting_area().dim_in_pixel();
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let px = (xr.end - xr.start) / f64::from(pw.max(1));
    let py = (yr.end - yr.start) / f64::from(ph.max(1));
    if ys.len() <= pw as usize {
        if let Some((base, style)) = fill {
            chart
                .draw_series(AreaSeries::new(points(ys), base, style))
                .map_err(err("chart"))?;
        }
        chart
            .draw_series(LineSeries::new(points(ys), colour.stroke_width(width_px)))
            .map_err(err("chart"))?;
        return Ok(());
    }
    let spans = column_spans(ys, pw as usize);
    let half = f64::from(width_px) * py / 2.0;
    if let Some((base, style)) = fill {
        chart
            .draw_series(spans.iter().map(|s| {
                let far = if (s.lo - base).abs() > (s.hi - base).abs() {
                    s.lo
                } else {
                    s.hi
                };
                Rectangle::new(
                    [(s.a as f64 - 0.5, base), (s.b as f64 - 0.5 + px, far)],
                    style.filled(),
                )
            }))
            .map_err(err("chart"))?;
    }
    chart
        .draw_series(spans.iter().map(|s| {
            Rectangle::new(
                [
                    (s.a as f64 - 0.5, s.lo - half),
                    (
                        s.b as f64 - 0.5 + px * f64::from(width_px.max(1) - 1),
                        s.hi + half,
                    ),
                ],
                colour.filled(),
            )
        }))
        .map_err(err("chart"))?;
    Ok(())
}

fn draw_equity<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &ChartData<'_>,
    caption: Option<&str>,
) -> Result<(), ReportError> {
    root.fill(&WHITE).map_err(err("equity chart"))?;
    let (lo, hi) = finite_range(&[d.equity, d.buy_hold]);
    let mut b = ChartBuilder::on(root);
    if let Some(c) = caption {
        b.caption(c, (FAMILY, 22).into_font().color(&INK));
    }
    let mut chart = b
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range(d.equity.len()), lo..hi)
        .map_err(err("equity chart"))?;
    let fmt_x = |x: &f64| date_label(d.ts_ms, *x);
    let fmt_y = |y: &f64| thousands(*y);
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .label_style((FAMILY, 13).into_font().color(&INK))
        .draw()
        .map_err(err("equity chart"))?;
    if d.buy_hold.iter().any(|v| v.is_finite()) {
        draw_dense(&mut chart, d.buy_hold, GREY, 1, None)?;
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(err("equity chart"))?
            .label("Buy & hold")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GREY.stroke_width(2)));
    }
    draw_dense(&mut chart, d.equity, BLUE, 2, None)?;
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(err("equity chart"))?
        .label("Strategy")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font((FAMILY, 14).into_font().color(&INK))
        .draw()
        .map_err(err("equity chart"))?;
    root.present().map_err(err("equity chart"))
}

fn draw_drawdown<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &ChartData<'_>,
    caption: Option<&str>,
) -> Result<(), ReportError> {
    root.fill(&WHITE).map_err(err("drawdown chart"))?;
    let neg: Vec<f64> = d.drawdown_pct.iter().map(|v| -v).collect();
    let deepest = neg
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::min);
    let lo = if deepest < 0.0 { deepest * 1.08 } else { -1.0 };
    let mut b = ChartBuilder::on(root);
    if let Some(c) = caption {
        b.caption(c, (FAMILY, 22).into_font().color(&INK));
    }
    let mut chart = b
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range(neg.len()), lo..0.0)
        .map_err(err("drawdown chart"))?;
    let fmt_x = |x: &f64| date_label(d.ts_ms, *x);
    let fmt_y = |y: &f64| format!("{y:.0}%");
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .label_style((FAMILY, 13).into_font().color(&INK))
        .draw()
        .map_err(err("drawdown chart"))?;
    draw_dense(&mut chart, &neg, RED, 1, Some((0.0, RED.mix(0.25))))?;
    root.present().map_err(err("drawdown chart"))
}

/// Which chart to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// Equity vs buy & hold.
    Equity,
    /// Drawdown, filled.
    Drawdown,
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: Chart,
    d: &ChartData<'_>,
    caption: Option<&str>,
) -> Result<(), ReportError> {
    match chart {
        Chart::Equity => draw_equity(root, d, caption),
        Chart::Drawdown => draw_drawdown(root, d, caption),
    }
}

/// Draw a chart into a PNG file at `tmp` (its name must end in `.png`).
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails or the file cannot be written.
pub fn png(
    chart: Chart,
    d: &ChartData<'_>,
    caption: &str,
    tmp: &Path,
    size: (u32, u32),
) -> Result<(), ReportError> {
    ensure_font()?;
    let root = BitMapBackend::new(tmp, size).into_drawing_area();
    draw(&root, chart, d, Some(caption))
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::{RngExt, SeedableRng};

    /// Draw `chart` into an RGB buffer; `blue(x, y)` tells whether a pixel has the
    /// strategy's colour.
    fn render(chart: Chart, d: &ChartData<'_>, (w, h): (usize, usize)) -> Vec<u8> {
        ensure_font().unwrap();
        let mut buf = vec![0u8; w * h * 3];
        {
            let root =
                BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
            draw(&root, chart, d, None).unwrap();
        }
        buf
    }

    #[test]
    fn issue_10_png_equity_line_has_no_gaps_or_stray_pixels() {
        // 40 000 jumpy hourly bars swinging inside a band, like the first months of
        // `backtest --symbol BTC/USDT --leverage 5`, then a long flat stretch
        let n = 40_000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let equity: Vec<f64> = (0..n)
            .map(|i| {
                if i < 8_000 {
                    let slow = (i as f64 / 400.0).sin() * 4_000.0;
                    12_000.0 + slow + (rng.random::<f64>() - 0.5) * 6_000.0
                } else {
                    1e-9
                }
            })
            .collect();
        let ts: Vec<i64> = (0..n as i64).map(|i| i * 3_600_000).collect();
        let nan = vec![f64::NAN; n];
        let dd = super::super::series::drawdown_pct(&equity);
        let d = ChartData {
            ts_ms: &ts,
            equity: &equity,
            buy_hold: &nan,
            drawdown_pct: &dd,
        };
        let (w, h) = (1200usize, 600usize);
        let buf = render(Chart::Equity, &d, (w, h));
        let blue = |x: usize, y: usize| buf[(y * w + x) * 3..][..3] == [31, 98, 180];
        let cols: Vec<usize> = (0..w).filter(|&x| (0..h).any(|y| blue(x, y))).collect();
        let (first, last) = (cols[0], *cols.last().unwrap());
        assert!(
            last - first > 1000,
            "the line spans the plot: {first}..{last}"
        );
        // right of the legend box, every pixel column holds one unbroken run of line pixels
        for x in 300..=last {
            let ys: Vec<usize> = (0..h).filter(|&y| blue(x, y)).collect();
            assert!(!ys.is_empty(), "gap in column {x}");
            let run = ys.last().unwrap() - ys[0] + 1;
            assert_eq!(run, ys.len(), "stray pixels in column {x}: {ys:?}");
        }
        // and the line stays inside the plot: nothing right of its last column
        assert!(last < w - 12, "{last}");
    }

    #[test]
    fn png_drawdown_is_filled_under_every_column() {
        let n = 20_000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let equity: Vec<f64> = (0..n)
            .map(|i| {
                let slow = (i as f64 / 700.0).sin() * 4_000.0;
                12_000.0 + slow + (rng.random::<f64>() - 0.5) * 6_000.0
            })
            .collect();
        let ts: Vec<i64> = (0..n as i64).map(|i| i * 3_600_000).collect();
        let dd = super::super::series::drawdown_pct(&equity);
        let nan = vec![f64::NAN; n];
        let d = ChartData {
            ts_ms: &ts,
            equity: &equity,
            buy_hold: &nan,
            drawdown_pct: &dd,
        };
        let (w, h) = (1200usize, 600usize);
        let buf = render(Chart::Drawdown, &d, (w, h));
        let red = |x: usize, y: usize| buf[(y * w + x) * 3..][..3] == [200, 40, 40];
        let cols: Vec<usize> = (0..w).filter(|&x| (0..h).any(|y| red(x, y))).collect();
        let (first, last) = (cols[0], *cols.last().unwrap());
        // the outline is unbroken and the area between it and 0 % is never left white
        for x in first + 1..last {
            let ys: Vec<usize> = (0..h).filter(|&y| red(x, y)).collect();
            assert!(!ys.is_empty(), "gap in column {x}");
            let top = (0..h)
                .find(|&y| buf[(y * w + x) * 3..][..3] != [255, 255, 255])
                .unwrap();
            let white_between = (top..ys[0])
                .filter(|&y| buf[(y * w + x) * 3..][..3] == [255, 255, 255])
                .count();
            assert_eq!(white_between, 0, "unfilled drawdown in column {x}");
        }
    }

    #[test]
    fn column_spans_join_neighbours_and_skip_nan() {
        let ys = [1.0, 5.0, 2.0, f64::NAN, 3.0, 4.0];
        let s = column_spans(&ys, 3);
        // columns: [1, 5] | [2, NaN] joined to 5 | [3, 4] (3 follows a NaN: not joined)
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].lo, s[0].hi), (1.0, 5.0));
        assert_eq!((s[1].a, s[1].b, s[1].lo, s[1].hi), (2, 4, 2.0, 5.0));
        assert_eq!((s[2].lo, s[2].hi), (3.0, 4.0));
        assert!(column_spans(&[f64::NAN; 4], 2).is_empty());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(-999.0), "-999");
        assert_eq!(thousands(1000.0), "1,000");
    }
}
