//! Static SVG line charts drawn by plotters, for reports that embed a plain chart (the
//! RL training report). The interactive charts of the backtest, optimize and evolve
//! reports are in [`super::lwc`].

use plotters::prelude::*;

use super::ReportError;
use super::charts::ensure_font;
use super::evolve::Line;
use super::series::downsample;

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
