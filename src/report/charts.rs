//! All plotters code lives here (DEPENDENCIES.md: plotters' last release is from 2024, keep
//! it in one module). Charts are drawn once per backend: SVG strings for the HTML report and
//! 1200×600 PNGs. The x axis is the bar index (no weekend gaps), labelled with dates; long
//! series are downsampled with min/max buckets first. DejaVu Sans is embedded and registered
//! as "sans-serif" before any text is measured.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::ReportError;
use super::series::downsample;
use crate::metrics::iso;
use crate::order::{ExitReason, Side, Trade};

/// DejaVu Sans (assets/LICENSE-DejaVu), for text in the bitmap charts.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// Most points a chart series holds.
pub const MAX_POINTS: usize = 4000;
/// Below this many bars the price chart shows candles.
pub const CANDLE_LIMIT: usize = 500;

const BLUE: RGBColor = RGBColor(31, 98, 180);
const GREY: RGBColor = RGBColor(140, 140, 140);
const RED: RGBColor = RGBColor(200, 40, 40);
const GREEN: RGBColor = RGBColor(20, 140, 60);
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
    /// Open prices (may be empty).
    pub open: &'a [f64],
    /// High prices (may be empty).
    pub high: &'a [f64],
    /// Low prices (may be empty).
    pub low: &'a [f64],
    /// Close prices (may be empty).
    pub close: &'a [f64],
    /// Trades for the markers.
    pub trades: &'a [Trade],
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

/// A price tick label with the same decimals on the whole axis (chosen from its top).
fn price_label(v: f64, top: f64) -> String {
    let a = top.abs();
    if a >= 1000.0 {
        thousands(v)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
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
        chart
            .draw_series(LineSeries::new(points(d.buy_hold), GREY.stroke_width(1)))
            .map_err(err("equity chart"))?
            .label("Buy & hold")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GREY.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(points(d.equity), BLUE.stroke_width(2)))
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
    chart
        .draw_series(
            AreaSeries::new(points(&neg), 0.0, RED.mix(0.25)).border_style(RED.stroke_width(1)),
        )
        .map_err(err("drawdown chart"))?;
    root.present().map_err(err("drawdown chart"))
}

fn draw_price<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    d: &ChartData<'_>,
) -> Result<(), ReportError> {
    root.fill(&WHITE).map_err(err("price chart"))?;
    let n = d.close.len();
    let candles = n < CANDLE_LIMIT && d.open.len() == n && d.high.len() == n && d.low.len() == n;
    let (lo, hi) = if candles {
        finite_range(&[d.low, d.high])
    } else {
        finite_range(&[d.close])
    };
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range(n), lo..hi)
        .map_err(err("price chart"))?;
    let fmt_x = |x: &f64| date_label(d.ts_ms, *x);
    let fmt_y = |y: &f64| price_label(*y, hi);
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
        .map_err(err("price chart"))?;
    if candles {
        let body = 0.35;
        chart
            .draw_series((0..n).map(|i| {
                let x = i as f64;
                PathElement::new(vec![(x, d.low[i]), (x, d.high[i])], INK.stroke_width(1))
            }))
            .map_err(err("price chart"))?;
        chart
            .draw_series((0..n).map(|i| {
                let x = i as f64;
                let up = d.close[i] >= d.open[i];
                let style = if up { GREEN.filled() } else { RED.filled() };
                Rectangle::new([(x - body, d.open[i]), (x + body, d.close[i])], style)
            }))
            .map_err(err("price chart"))?;
    } else {
        chart
            .draw_series(LineSeries::new(points(d.close), INK.stroke_width(1)))
            .map_err(err("price chart"))?;
    }
    let in_range = |bar: usize, p: f64| bar < n.max(1) && p.is_finite();
    // entries: ▲ long (green) just under the fill price, ▼ short (red) just above it, each
    // outlined in white so it stands out on a candle; exits: × at the exit price
    chart
        .draw_series(
            d.trades
                .iter()
                .filter(|t| in_range(t.entry_bar, t.entry_price))
                .flat_map(|t| {
                    let at = (t.entry_bar as f64, t.entry_price);
                    let (halo, mark) = match t.side {
                        Side::Long => (
                            vec![(0, 1), (-9, 16), (9, 16)],
                            vec![(0, 4), (-6, 14), (6, 14)],
                        ),
                        Side::Short => (
                            vec![(0, -1), (-9, -16), (9, -16)],
                            vec![(0, -4), (-6, -14), (6, -14)],
                        ),
                    };
                    let color = if t.side == Side::Long { GREEN } else { RED };
                    [
                        EmptyElement::at(at) + Polygon::new(halo, WHITE.filled()),
                        EmptyElement::at(at) + Polygon::new(mark, color.filled()),
                    ]
                }),
        )
        .map_err(err("price chart"))?;
    chart
        .draw_series(
            d.trades
                .iter()
                .filter(|t| t.exit_reason != ExitReason::Open && in_range(t.exit_bar, t.exit_price))
                .flat_map(|t| {
                    let at = (t.exit_bar as f64, t.exit_price);
                    [
                        Cross::new(at, 6, WHITE.stroke_width(4)),
                        Cross::new(at, 6, INK.stroke_width(2)),
                    ]
                }),
        )
        .map_err(err("price chart"))?;
    root.present().map_err(err("price chart"))
}

/// Which chart to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// Equity vs buy & hold.
    Equity,
    /// Drawdown, filled.
    Drawdown,
    /// Price with trade markers.
    Price,
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
        Chart::Price => draw_price(root, d),
    }
}

/// Draw a chart as an SVG document string scaled to its container's width.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn svg(chart: Chart, d: &ChartData<'_>, (w, h): (u32, u32)) -> Result<String, ReportError> {
    ensure_font()?;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        draw(&root, chart, d, None)?;
    }
    // plotters writes a viewBox too: drop the fixed size so the SVG fills its container
    let head = format!("<svg width=\"{w}\" height=\"{h}\" ");
    Ok(buf.replacen(&head, "<svg width=\"100%\" ", 1))
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

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(-999.0), "-999");
        assert_eq!(thousands(1000.0), "1,000");
    }
}
