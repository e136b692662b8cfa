//! Chart specifications for the interactive charts of the HTML reports, serialised as the
//! compact JSON that `assets/report/report.js` turns into TradingView Lightweight Charts
//! (vendored under `assets/vendor/lightweight-charts/`, inlined by [`super::page`]).
//!
//! Times are UTC seconds (the library's `UTCTimestamp`); index charts (fitness per
//! generation) use the index as the time and label it. Values are written with about seven
//! significant digits; NaN becomes `null`, which the page draws as a gap. Long series are
//! thinned here (min/max buckets for lines, OHLC aggregation for candles) so a page stays a
//! few MB at most. No I/O.

use std::fmt::Write as _;

use super::page::esc;

/// Most points one line series keeps.
pub const MAX_LINE_POINTS: usize = 5000;
/// Most candles the price chart keeps; longer runs are aggregated into wider candles.
pub const MAX_CANDLES: usize = 5000;

/// A number as compact JSON: about seven significant digits, `null` when not finite.
pub fn jnum(v: f64) -> String {
    if !v.is_finite() {
        return "null".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-6..1e15).contains(&a) {
        return format!("{v:.4e}");
    }
    let decimals = (6 - a.log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A string as a JSON string literal, HTML-escaped first (the page inserts names as HTML).
pub fn jstr(s: &str) -> String {
    serde_json::to_string(&esc(s)).unwrap_or_else(|_| "\"\"".into())
}

/// What a series draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A line.
    Line,
    /// A dashed line.
    Dashed,
    /// A line filled to 0 with its [`Series::fill`] colour (drawdowns).
    Area,
    /// OHLC candles.
    Candles,
    /// Volume bars on their own hidden scale at the bottom.
    Volume,
}

/// How the page formats a series' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prices: decimals by size.
    Price,
    /// Money: two decimals, thousands grouped.
    Money,
    /// Percent, two decimals.
    Pct,
    /// A plain number.
    Num,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Price => "price",
            Format::Money => "money",
            Format::Pct => "pct",
            Format::Num => "num",
        }
    }
}

/// One series of a chart, already serialised (`data` is a JSON array of rows).
#[derive(Debug, Clone)]
pub struct Series {
    kind: Kind,
    name: String,
    color: String,
    fill: Option<String>,
    format: Format,
    left: bool,
    data: String,
}

impl Series {
    /// A line (or area, dashed line) of `ys` at `times` (seconds), thinned to at most
    /// [`MAX_LINE_POINTS`] by [`thin`].
    pub fn line(kind: Kind, name: &str, color: &str, times: &[i64], ys: &[f64]) -> Self {
        let n = times.len().min(ys.len());
        let mut data = String::with_capacity(n.min(MAX_LINE_POINTS) * 24);
        data.push('[');
        for (k, (t, y)) in thin(&times[..n], &ys[..n]).into_iter().enumerate() {
            if k > 0 {
                data.push(',');
            }
            let _ = write!(data, "[{t},{}]", jnum(y));
        }
        data.push(']');
        Series {
            kind,
            name: name.to_string(),
            color: color.to_string(),
            fill: None,
            format: Format::Num,
            left: false,
            data,
        }
    }

    /// A line on the candles' grid (see [`Series::candles`]): each aggregated candle's time
    /// with the value at its last bar, like its close; for lines drawn over the candles.
    pub fn on_candles(kind: Kind, name: &str, color: &str, times: &[i64], ys: &[f64]) -> Self {
        let n = times.len().min(ys.len());
        let step = candle_step(n);
        let pts: Vec<(i64, f64)> = (0..n)
            .step_by(step)
            .map(|a| (times[a], ys[(a + step).min(n) - 1]))
            .collect();
        let mut s = Series::line(kind, name, color, &[], &[]);
        s.data = format!(
            "[{}]",
            pts.iter()
                .map(|(t, y)| format!("[{t},{}]", jnum(*y)))
                .collect::<Vec<_>>()
                .join(",")
        );
        s
    }

    /// Candles from OHLC slices at `times`, aggregated `k` bars to a candle when longer than
    /// [`MAX_CANDLES`] (see [`candle_step`]); the candle's time is its first bar's.
    pub fn candles(name: &str, times: &[i64], o: &[f64], h: &[f64], l: &[f64], c: &[f64]) -> Self {
        let n = times
            .len()
            .min(o.len())
            .min(h.len())
            .min(l.len())
            .min(c.len());
        let step = candle_step(n);
        let mut data = String::with_capacity(n / step * 48 + 2);
        data.push('[');
        for (k, start) in (0..n).step_by(step).enumerate() {
            let end = (start + step).min(n);
            let hi = h[start..end]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            let lo = l[start..end].iter().copied().fold(f64::INFINITY, f64::min);
            if k > 0 {
                data.push(',');
            }
            let _ = write!(
                data,
                "[{},{},{},{},{}]",
                times[start],
                jnum(o[start]),
                jnum(hi),
                jnum(lo),
                jnum(c[end - 1])
            );
        }
        data.push(']');
        Series {
            kind: Kind::Candles,
            name: name.to_string(),
            color: "#374151".into(),
            fill: None,
            format: Format::Price,
            left: false,
            data,
        }
    }

    /// Volume bars, aggregated like [`Series::candles`] (summed), coloured by the candle's
    /// direction.
    pub fn volume(times: &[i64], o: &[f64], c: &[f64], v: &[f64]) -> Self {
        let n = times.len().min(o.len()).min(c.len()).min(v.len());
        let step = candle_step(n);
        let mut data = String::with_capacity(n / step * 24 + 2);
        data.push('[');
        for (k, start) in (0..n).step_by(step).enumerate() {
            let end = (start + step).min(n);
            let vol: f64 = v[start..end].iter().filter(|x| x.is_finite()).sum();
            if k > 0 {
                data.push(',');
            }
            let up = u8::from(c[end - 1] >= o[start]);
            let _ = write!(data, "[{},{},{up}]", times[start], jnum(vol));
        }
        data.push(']');
        Series {
            kind: Kind::Volume,
            name: "Volume".into(),
            color: "#9ca3af".into(),
            fill: None,
            format: Format::Num,
            left: false,
            data,
        }
    }

    /// The value format shown in the legend and on the axis.
    pub fn format(mut self, f: Format) -> Self {
        self.format = f;
        self
    }

    /// The fill colour of an area (between the line and 0).
    pub fn fill(mut self, css: &str) -> Self {
        self.fill = Some(css.to_string());
        self
    }

    /// Draw against the left price scale.
    pub fn left(mut self) -> Self {
        self.left = true;
        self
    }

    fn json(&self) -> String {
        let kind = match self.kind {
            Kind::Line | Kind::Dashed => "line",
            Kind::Area => "area",
            Kind::Candles => "candles",
            Kind::Volume => "volume",
        };
        let mut out = format!(
            "{{\"kind\":\"{kind}\",\"name\":{},\"color\":{},\"format\":\"{}\"",
            jstr(&self.name),
            jstr(&self.color),
            self.format.as_str()
        );
        if self.kind == Kind::Dashed {
            out.push_str(",\"dashed\":true,\"width\":1");
        }
        if let Some(f) = &self.fill {
            let _ = write!(out, ",\"fill\":{}", jstr(f));
        }
        if self.left {
            out.push_str(",\"scale\":\"left\"");
        }
        let _ = write!(out, ",\"data\":{}}}", self.data);
        out
    }
}

/// `(time, value)` points of a line: every bar up to [`MAX_LINE_POINTS`]; beyond, the bars
/// are cut into equal buckets and each bucket gives exactly two points, its lowest and its
/// highest value in the order they occur, at the bucket's first two times. Every bucket
/// taking the same number of points keeps the chart's time axis even (the library spaces
/// points, not time), so synced charts line up, and spikes and troughs survive.
pub fn thin(times: &[i64], ys: &[f64]) -> Vec<(i64, f64)> {
    let n = times.len().min(ys.len());
    if n <= MAX_LINE_POINTS {
        return (0..n).map(|i| (times[i], ys[i])).collect();
    }
    let step = n.div_ceil(MAX_LINE_POINTS / 2);
    let mut out = Vec::with_capacity(n / step * 2 + 2);
    for a in (0..n).step_by(step) {
        let b = (a + step).min(n);
        let (mut imin, mut imax) = (None::<usize>, None::<usize>);
        for i in a..b {
            if !ys[i].is_finite() {
                continue;
            }
            if imin.is_none_or(|j| ys[i] < ys[j]) {
                imin = Some(i);
            }
            if imax.is_none_or(|j| ys[i] > ys[j]) {
                imax = Some(i);
            }
        }
        let (first, second) = match (imin, imax) {
            (Some(p), Some(q)) => (ys[p.min(q)], ys[p.max(q)]),
            _ => (f64::NAN, f64::NAN),
        };
        out.push((times[a], first));
        if b - a >= 2 {
            out.push((times[a + 1], second));
        }
    }
    out
}

/// Bars per candle for `n` bars: 1 up to [`MAX_CANDLES`], then the smallest step that fits.
pub fn candle_step(n: usize) -> usize {
    n.div_ceil(MAX_CANDLES).max(1)
}

/// A trade marker on the price chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Time, UTC seconds (a time of the marked series).
    pub t: i64,
    /// Entry (arrow) or exit (dot).
    pub entry: bool,
    /// Long (arrow up) or short (arrow down).
    pub long: bool,
    /// The trade made money (green) or not (red).
    pub win: bool,
    /// Hover text shown in the legend at that time (plain text).
    pub text: String,
}

/// What the x axis shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Axis {
    /// Dates (and times for intraday data).
    Time,
    /// An index with a label, e.g. "generation".
    Index(String),
}

/// One interactive chart: a `<div id="chart-{id}">` on the page and its series.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Element id suffix.
    pub id: String,
    /// Height in CSS pixels.
    pub height: u32,
    /// The x axis.
    pub axis: Axis,
    /// Axis value format.
    pub format: Format,
    /// Series, drawn in order (the first one carries the markers).
    pub series: Vec<Series>,
    /// Trade markers on the first series.
    pub markers: Vec<Marker>,
    /// Show the left price scale too.
    pub left_scale: bool,
}

impl Chart {
    /// A time chart with no series yet.
    pub fn new(id: &str, height: u32, format: Format) -> Self {
        Chart {
            id: id.to_string(),
            height,
            axis: Axis::Time,
            format,
            series: Vec::new(),
            markers: Vec::new(),
            left_scale: false,
        }
    }

    /// The `<div>` the page script fills.
    pub fn div(&self) -> String {
        format!(
            "<div class=\"chart\" id=\"chart-{}\" style=\"height:{}px\"></div>",
            esc(&self.id),
            self.height
        )
    }

    /// The chart as JSON.
    pub fn json(&self) -> String {
        let mut out = format!(
            "{{\"id\":{},\"height\":{},\"format\":\"{}\"",
            jstr(&self.id),
            self.height,
            self.format.as_str()
        );
        if let Axis::Index(label) = &self.axis {
            let _ = write!(out, ",\"axis\":\"index\",\"index_label\":{}", jstr(label));
        }
        if self.left_scale {
            out.push_str(",\"left_scale\":true");
        }
        out.push_str(",\"series\":[");
        for (i, s) in self.series.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&s.json());
        }
        out.push_str("],\"markers\":[");
        for (i, m) in self.markers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"t\":{},\"kind\":\"{}\",\"side\":\"{}\",\"win\":{},\"text\":{}}}",
                m.t,
                if m.entry { "entry" } else { "exit" },
                if m.long { "long" } else { "short" },
                m.win,
                jstr(&m.text)
            );
        }
        out.push_str("]}");
        out
    }
}

/// Seconds from milliseconds (floor).
pub fn secs(ts_ms: &[i64]) -> Vec<i64> {
    ts_ms.iter().map(|t| t.div_euclid(1000)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact_and_nan_is_null() {
        assert_eq!(jnum(f64::NAN), "null");
        assert_eq!(jnum(12_345.679), "12345.68");
        assert_eq!(jnum(1.5), "1.5");
        assert_eq!(jnum(-1.234_567_8e-4), "-0.0001234568");
        assert_eq!(jnum(100.0), "100");
        assert_eq!(jnum(2.7e-12), "2.7000e-12");
        assert!(serde_json::from_str::<f64>(&jnum(2.7e-12)).is_ok());
    }

    #[test]
    fn long_candle_runs_are_aggregated_with_true_extremes() {
        let n = MAX_CANDLES * 2 + 1;
        let t: Vec<i64> = (0..n as i64).collect();
        let o: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut h: Vec<f64> = o.iter().map(|x| x + 1.0).collect();
        h[1] = 1e6;
        let l: Vec<f64> = o.iter().map(|x| x - 1.0).collect();
        let s = Series::candles("x", &t, &o, &h, &l, &o);
        let rows: Vec<Vec<f64>> = serde_json::from_str(&s.data).unwrap();
        assert_eq!(candle_step(n), 3);
        assert_eq!(rows.len(), n.div_ceil(3));
        // first candle: bars 0..3 → open 0, high 1e6, low -1, close 2
        assert_eq!(rows[0], vec![0.0, 0.0, 1e6, -1.0, 2.0]);
    }

    #[test]
    fn thinned_lines_keep_extremes_and_an_even_time_grid() {
        let n = MAX_LINE_POINTS * 4;
        let t: Vec<i64> = (0..n as i64).collect();
        let mut y = vec![1.0; n];
        y[10] = 9.0;
        y[5] = -3.0;
        let p = thin(&t, &y);
        assert_eq!(p.len(), MAX_LINE_POINTS);
        // 8 bars a bucket; bucket 0: its high (1 at bar 0) comes before its low (-3 at bar
        // 5); bucket 1: low (1 at bar 8) before the spike (9 at bar 10)
        assert_eq!(p[0], (0, 1.0));
        assert_eq!(p[1], (1, -3.0));
        assert_eq!(p[2], (8, 1.0));
        assert_eq!(p[3], (9, 9.0));
        // flat buckets still give two points
        assert!(p.chunks(2).all(|c| c.len() == 2 && c[1].0 == c[0].0 + 1));
    }

    #[test]
    fn chart_json_parses() {
        let mut c = Chart::new("equity", 300, Format::Money);
        c.series.push(Series::line(
            Kind::Line,
            "A <b>",
            "#123",
            &[1, 2, 3],
            &[1.0, f64::NAN, 3.0],
        ));
        c.markers.push(Marker {
            t: 2,
            entry: true,
            long: true,
            win: false,
            text: "long entry".into(),
        });
        let v: serde_json::Value = serde_json::from_str(&c.json()).unwrap();
        assert_eq!(v["series"][0]["name"], "A &lt;b&gt;");
        assert_eq!(v["series"][0]["data"][1][1], serde_json::Value::Null);
        assert_eq!(v["markers"][0]["side"], "long");
    }
}
