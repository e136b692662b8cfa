//! Small static SVG charts for the HTML reports, written by hand (no plotters): histograms,
//! grouped bars, scatter plots and the optimisation heatmap with its colour bar. Each
//! element that carries a value has a `data-tip` attribute the page script shows on hover.
//! The SVGs scale to their container (`viewBox`, `width:100%`). Pure functions, no I/O.

use std::fmt::Write as _;

use super::page::esc;

const W: f64 = 640.0;
const PAD_L: f64 = 52.0;
const PAD_R: f64 = 14.0;
const PAD_T: f64 = 12.0;
const PAD_B: f64 = 34.0;

/// Around `n` round tick values covering `[lo, hi]`.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut out = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A linear map from `[d0, d1]` to `[r0, r1]`.
fn scale(d0: f64, d1: f64, r0: f64, r1: f64) -> impl Fn(f64) -> f64 {
    let span = if d1 > d0 { d1 - d0 } else { 1.0 };
    move |v| r0 + (v - d0) / span * (r1 - r0)
}

fn open(h: f64, label: &str) -> String {
    format!(
        "<svg class=\"plot\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\">",
        esc(label)
    )
}

fn axes(
    out: &mut String,
    h: f64,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    x_label: &str,
    y_label: &str,
) {
    let sx = scale(x0, x1, PAD_L, W - PAD_R);
    let sy = scale(y0, y1, h - PAD_B, PAD_T);
    for t in ticks(y0, y1, 5) {
        let y = sy(t);
        let _ = write!(
            out,
            "<line class=\"gridline\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - PAD_R,
            PAD_L - 6.0,
            y + 4.0,
            tick_label(t)
        );
    }
    for t in ticks(x0, x1, 7) {
        let x = sx(t);
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            h - PAD_B + 15.0,
            tick_label(t)
        );
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{b:.1}\" y2=\"{b:.1}\"/>\
         <line class=\"axis\" x1=\"{PAD_L}\" x2=\"{PAD_L}\" y1=\"{PAD_T}\" y2=\"{b:.1}\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text x=\"12\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1})\">{}</text>",
        W - PAD_R,
        (PAD_L + W - PAD_R) / 2.0,
        h - 3.0,
        esc(x_label),
        (PAD_T + h - PAD_B) / 2.0,
        (PAD_T + h - PAD_B) / 2.0,
        esc(y_label),
        b = h - PAD_B,
    );
}

/// Bin counts of the finite `values` in `bins` equal bins over their range: `(lo, width,
/// counts)`.
pub fn bin(values: &[f64], bins: usize) -> (f64, f64, Vec<usize>) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let bins = bins.max(1);
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        return (0.0, 1.0, vec![0; bins]);
    }
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for x in v {
        counts[(((x - lo) / width) as usize).min(bins - 1)] += 1;
    }
    (lo, width, counts)
}

/// A histogram of the finite `values` in `bins` bins; a dashed line marks `mark` (e.g. 0 or
/// the mean) when it is inside the range. `unit` follows values in the tooltips.
pub fn histogram(
    values: &[f64],
    bins: usize,
    x_label: &str,
    unit: &str,
    mark: Option<(f64, &str)>,
) -> String {
    let h = 260.0;
    let (lo, width, counts) = bin(values, bins);
    let hi = lo + width * counts.len() as f64;
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut out = open(h, x_label);
    axes(&mut out, h, (lo, hi), (0.0, top * 1.05), x_label, "count");
    let sx = scale(lo, hi, PAD_L, W - PAD_R);
    let sy = scale(0.0, top * 1.05, h - PAD_B, PAD_T);
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let a = lo + i as f64 * width;
        let (x, x2) = (sx(a), sx(a + width));
        let y = sy(c as f64);
        let colour = if a + width / 2.0 < 0.0 {
            "#dc2626"
        } else {
            "#1f62b4"
        };
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" \
             fill-opacity=\".75\" data-tip=\"{} to {} {unit}: {c}\"/>",
            (x2 - x - 1.0).max(0.5),
            (h - PAD_B - y).max(0.0),
            tip_num(a),
            tip_num(a + width),
        );
    }
    if let Some((m, label)) = mark
        && m.is_finite()
        && m >= lo
        && m <= hi
    {
        let x = sx(m);
        // the label goes on the side of the line with more room
        let (tx, anchor) = if x > (PAD_L + W - PAD_R) / 2.0 {
            (x - 4.0, "end")
        } else {
            (x + 4.0, "start")
        };
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{PAD_T}\" y2=\"{:.1}\" stroke=\"#1f2430\" \
             stroke-dasharray=\"4 3\"/><text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            h - PAD_B,
            PAD_T + 10.0,
            esc(label)
        );
    }
    out.push_str("</svg>");
    out
}

fn tip_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Grouped bars: one group per label, one bar per series `(name, colour, values)`; values
/// are percentages.
pub fn grouped_bars(labels: &[String], series: &[(&str, &str, Vec<f64>)], y_label: &str) -> String {
    let h = 260.0;
    let all = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = all.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((hi - lo) * 0.08).max(1.0);
    let (y0, y1) = (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad);
    let mut out = open(h, y_label);
    let sy = scale(y0, y1, h - PAD_B, PAD_T);
    for t in ticks(y0, y1, 5) {
        let y = sy(t);
        let _ = write!(
            out,
            "<line class=\"gridline\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - PAD_R,
            PAD_L - 6.0,
            y + 4.0,
            tick_label(t)
        );
    }
    let n = labels.len().max(1) as f64;
    let group_w = (W - PAD_L - PAD_R) / n;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(1.0);
    let zero = sy(0.0);
    let every = (labels.len() / 12).max(1);
    for (g, label) in labels.iter().enumerate() {
        let gx = PAD_L + g as f64 * group_w + group_w * 0.1;
        for (k, (name, colour, vals)) in series.iter().enumerate() {
            let Some(&v) = vals.get(g).filter(|v| v.is_finite()) else {
                continue;
            };
            let y = sy(v);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" \
                 data-tip=\"{} · {}: {v:.2} %\"/>",
                gx + k as f64 * bar_w,
                y.min(zero),
                bar_w - 1.0,
                (y - zero).abs().max(0.5),
                esc(label),
                esc(name)
            );
        }
        if g % every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                gx + group_w * 0.4,
                h - PAD_B + 15.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{zero:.1}\" y2=\"{zero:.1}\"/>\
         <text x=\"12\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1})\">{}</text>",
        W - PAD_R,
        (PAD_T + h - PAD_B) / 2.0,
        (PAD_T + h - PAD_B) / 2.0,
        esc(y_label)
    );
    let mut lx = PAD_L + 8.0;
    for (name, colour, _) in series {
        let _ = write!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{PAD_T}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 14.0,
            PAD_T + 9.0,
            esc(name)
        );
        lx += 24.0 + 7.0 * name.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

/// One point of a scatter plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// X value.
    pub x: f64,
    /// Y value.
    pub y: f64,
    /// Green (true) or red.
    pub good: bool,
    /// Tooltip text.
    pub tip: String,
}

/// A scatter plot with dashed guides at x = 0 and y = 0.
pub fn scatter(points: &[Point], x_label: &str, y_label: &str) -> String {
    let h = 280.0;
    let fin: Vec<&Point> = points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let ext = |f: fn(&Point) -> f64| {
        let (a, b) = fin
            .iter()
            .map(|p| f(p))
            .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let pad = ((b - a) * 0.05).max(0.1);
        (a - pad, b + pad)
    };
    let (x0, x1) = ext(|p| p.x);
    let (y0, y1) = ext(|p| p.y);
    let mut out = open(h, &format!("{y_label} by {x_label}"));
    axes(&mut out, h, (x0, x1), (y0, y1), x_label, y_label);
    let sx = scale(x0, x1, PAD_L, W - PAD_R);
    let sy = scale(y0, y1, h - PAD_B, PAD_T);
    let (zx, zy) = (sx(0.0), sy(0.0));
    let _ = write!(
        out,
        "<line x1=\"{PAD_L}\" x2=\"{}\" y1=\"{zy:.1}\" y2=\"{zy:.1}\" stroke=\"#9ca3af\" stroke-dasharray=\"3 3\"/>\
         <line x1=\"{zx:.1}\" x2=\"{zx:.1}\" y1=\"{PAD_T}\" y2=\"{:.1}\" stroke=\"#9ca3af\" stroke-dasharray=\"3 3\"/>",
        W - PAD_R,
        h - PAD_B
    );
    for p in fin {
        let colour = if p.good { "#15803d" } else { "#dc2626" };
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\" fill-opacity=\".6\" data-tip=\"{}\"/>",
            sx(p.x),
            sy(p.y),
            esc(&p.tip)
        );
    }
    out.push_str("</svg>");
    out
}

/// A two-parameter heatmap.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatGrid<'a> {
    /// Column parameter name.
    pub x_name: &'a str,
    /// Row parameter name.
    pub y_name: &'a str,
    /// Column values.
    pub xs: &'a [f64],
    /// Row values.
    pub ys: &'a [f64],
    /// `values[row][col]`, NaN where no trial ran.
    pub values: &'a [Vec<f64>],
    /// The objective's name.
    pub metric: &'a str,
    /// The best cell `(row, col)`, outlined.
    pub best: Option<(usize, usize)>,
}

/// Colour of `t` in [0, 1] on a viridis-like ramp (dark blue → teal → yellow).
pub fn ramp(t: f64) -> (u8, u8, u8) {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let f = t * (STOPS.len() - 1) as f64;
    let i = (f.floor() as usize).min(STOPS.len() - 2);
    let u = f - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let lerp = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    (lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

fn fmt_param(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The heatmap: one cell per (row, column), coloured by value with a colour bar on the
/// right, hover tips with both parameters and the value, empty cells hatched grey, the best
/// cell outlined.
pub fn heatmap(g: &HeatGrid<'_>) -> String {
    let (nx, ny) = (g.xs.len().max(1), g.ys.len().max(1));
    let (w, left, right, top, bottom) = (W, 56.0, 86.0, 10.0, 40.0);
    let cell_w = (w - left - right) / nx as f64;
    let cell_h = (cell_w * 0.75).clamp(6.0, 34.0);
    let h = top + bottom + cell_h * ny as f64;
    let fin: Vec<f64> = g
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let lo = fin.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = fin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut out = format!(
        "<svg class=\"plot\" viewBox=\"0 0 {w} {h:.0}\" role=\"img\" aria-label=\"{} by {} and {}\">\
         <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">\
         <rect width=\"6\" height=\"6\" fill=\"#f3f4f6\"/><path d=\"M0 6L6 0\" stroke=\"#d1d5db\"/>\
         </pattern></defs>",
        esc(g.metric),
        esc(g.y_name),
        esc(g.x_name)
    );
    // rows from the bottom (smallest y) up, like a chart
    let y_of = |r: usize| top + (ny - 1 - r) as f64 * cell_h;
    for (r, row) in g.values.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let (x, y) = (left + c as f64 * cell_w, y_of(r));
            let pv = |s: &[f64], i: usize| s.get(i).map_or(String::new(), |v| fmt_param(*v));
            let tipv = if v.is_finite() {
                format!("{v:.4}")
            } else {
                "no eligible trial".into()
            };
            let fill = if v.is_finite() {
                let (cr, cg, cb) = ramp((v - lo) / span);
                format!("rgb({cr},{cg},{cb})")
            } else {
                "url(#hatch)".into()
            };
            let _ = write!(
                out,
                "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{fill}\" \
                 data-tip=\"{}={} · {}={}\n{}: {}\"/>",
                cell_w + 0.3,
                cell_h + 0.3,
                esc(g.y_name),
                pv(g.ys, r),
                esc(g.x_name),
                pv(g.xs, c),
                esc(g.metric),
                tipv
            );
        }
    }
    if let Some((r, c)) = g.best
        && r < ny
        && c < nx
    {
        let (x, y) = (left + c as f64 * cell_w, y_of(r));
        let _ = write!(
            out,
            "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"none\" \
             stroke=\"#fff\" stroke-width=\"3\"/><rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" \
             height=\"{:.2}\" fill=\"none\" stroke=\"#e11d48\" stroke-width=\"1.6\" id=\"best-cell\"/>",
            x - 0.5,
            y - 0.5,
            cell_w + 1.0,
            cell_h + 1.0,
            x - 0.5,
            y - 0.5,
            cell_w + 1.0,
            cell_h + 1.0
        );
    }
    // axis labels: at most ~12 per axis
    let every_x = nx.div_ceil(12).max(1);
    for (c, v) in g.xs.iter().enumerate().filter(|(c, _)| c % every_x == 0) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            left + (c as f64 + 0.5) * cell_w,
            h - bottom + 14.0,
            fmt_param(*v)
        );
    }
    let every_y = ny
        .div_ceil((cell_h * ny as f64 / 16.0).max(1.0) as usize)
        .max(1);
    for (r, v) in g.ys.iter().enumerate().filter(|(r, _)| r % every_y == 0) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y_of(r) + cell_h / 2.0 + 4.0,
            fmt_param(*v)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text x=\"12\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1})\">{}</text>",
        left + (w - left - right) / 2.0,
        h - 6.0,
        esc(g.x_name),
        top + cell_h * ny as f64 / 2.0,
        top + cell_h * ny as f64 / 2.0,
        esc(g.y_name)
    );
    // colour bar
    let (bx, bw, bh) = (w - right + 16.0, 14.0, cell_h * ny as f64);
    let steps = 40;
    for k in 0..steps {
        let t = k as f64 / (steps - 1) as f64;
        let (cr, cg, cb) = ramp(t);
        let y = top + bh * (1.0 - (k + 1) as f64 / steps as f64);
        let _ = write!(
            out,
            "<rect x=\"{bx:.1}\" y=\"{y:.2}\" width=\"{bw}\" height=\"{:.2}\" fill=\"rgb({cr},{cg},{cb})\"/>",
            bh / steps as f64 + 0.4
        );
    }
    if !fin.is_empty() {
        for t in ticks(lo, hi, 5) {
            let y = top + bh * (1.0 - (t - lo) / span);
            let _ = write!(
                out,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#4b5260\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                bx + bw,
                bx + bw + 4.0,
                bx + bw + 6.0,
                y + 4.0,
                tip_num(t)
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(-1.0, 1.0, 4), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn bins_count_every_finite_value() {
        let (lo, w, c) = bin(&[0.0, 1.0, 2.0, 3.0, f64::NAN], 3);
        assert_eq!((lo, w), (0.0, 1.0));
        assert_eq!(c, vec![1, 1, 2]);
    }

    #[test]
    fn heatmap_marks_the_best_cell_and_has_a_colour_bar() {
        let v = vec![vec![1.0, 2.0], vec![f64::NAN, 3.0]];
        let s = heatmap(&HeatGrid {
            x_name: "slow",
            y_name: "fast",
            xs: &[10.0, 20.0],
            ys: &[5.0, 6.0],
            values: &v,
            metric: "sharpe",
            best: Some((1, 1)),
        });
        assert!(s.contains("id=\"best-cell\""));
        assert!(s.contains("fast=6 · slow=20\nsharpe: 3.0000"));
        assert!(s.contains("no eligible trial"));
        assert_eq!(ramp(0.0), (68, 1, 84));
        assert_eq!(ramp(1.0), (253, 231, 37));
    }
}
