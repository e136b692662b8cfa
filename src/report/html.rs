//! The backtest tearsheet `report.html`: one self-contained page (shell in [`super::page`])
//! with interactive charts — price candles with volume, the strategy's indicators and the
//! trade markers; equity against buy & hold with a log-scale toggle; drawdown; rolling
//! Sharpe and volatility — then the return distribution, yearly returns, worst drawdowns,
//! trade excursions (MAE/MFE), monthly returns, the statistics and a paged trades table.
//!
//! Trade markers are placed by time (the fill bar's open time), never by bar index, so they
//! land on the right candle whatever window `--from/--to` cut from the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::lwc::{self, Chart, Format, Kind, Marker, Series, candle_step};
use super::overlays::Overlay;
use super::page::{esc, kpis, money, num, params_list, pct, sign_class, table};
use super::rolling::{PeriodSeries, rolling_vol_sharpe, window_for, worst_drawdowns};
use super::series::PeriodReturns;
use super::svg;
use crate::core::order::{ExitReason, Side, Trade};
use crate::metrics::{Stats, iso};

/// Trades per page of the trades table.
pub const TRADES_PER_PAGE: usize = 25;
/// Rows of the worst-drawdowns table.
pub const WORST_DRAWDOWNS: usize = 5;

const BLUE: &str = "#1f62b4";
const GREY: &str = "#8b929e";

fn opt_bars(v: Option<usize>) -> String {
    v.map_or_else(|| "—".into(), |b| b.to_string())
}

/// The stats table's rows: (label, formatted value), in reading order.
pub fn stat_rows(s: &Stats) -> Vec<(&'static str, String)> {
    vec![
        ("Start", s.start.clone()),
        ("End", s.end.clone()),
        ("Duration", format!("{} days", num(s.duration_days, 0))),
        ("Bars", s.bars.to_string()),
        ("Exposure", pct(s.exposure_pct)),
        ("Equity final", money(s.equity_final)),
        ("Equity peak", money(s.equity_peak)),
        ("Fees paid", money(s.fees_paid)),
        ("Return", pct(s.return_pct)),
        ("Buy & hold return", pct(s.buy_hold_return_pct)),
        ("Return (ann.)", pct(s.return_ann_pct)),
        ("CAGR", pct(s.cagr_pct)),
        ("Volatility (ann.)", pct(s.volatility_ann_pct)),
        ("Sharpe ratio", num(s.sharpe, 3)),
        ("Sortino ratio", num(s.sortino, 3)),
        ("Calmar ratio", num(s.calmar, 3)),
        ("Alpha", pct(s.alpha_pct)),
        ("Beta", num(s.beta, 3)),
        ("Max drawdown", pct(s.max_drawdown_pct)),
        ("Avg drawdown", pct(s.avg_drawdown_pct)),
        (
            "Max drawdown duration",
            format!(
                "{} bars ({} days)",
                opt_bars(s.max_drawdown_duration_bars),
                num(s.max_drawdown_duration_days, 0)
            ),
        ),
        (
            "Avg drawdown duration",
            format!(
                "{} bars ({} days)",
                num(s.avg_drawdown_duration_bars, 1),
                num(s.avg_drawdown_duration_days, 1)
            ),
        ),
        ("Trades", s.trades.to_string()),
        ("Win rate", pct(s.win_rate_pct)),
        ("Best trade", pct(s.best_trade_pct)),
        ("Worst trade", pct(s.worst_trade_pct)),
        ("Avg trade (geometric)", pct(s.avg_trade_pct)),
        ("Expectancy", pct(s.expectancy_pct)),
        (
            "Max trade duration",
            format!("{} bars", opt_bars(s.max_trade_duration_bars)),
        ),
        (
            "Avg trade duration",
            format!("{} bars", num(s.avg_trade_duration_bars, 1)),
        ),
        ("Profit factor", num(s.profit_factor, 3)),
        ("SQN", num(s.sqn, 3)),
        ("Kelly criterion", num(s.kelly_criterion, 3)),
        ("Periods per year", num(s.periods_per_year, 0)),
    ]
}

/// Background colour of a monthly-return cell: green up, red down, stronger with size.
fn heat(v: f64, scale: f64) -> String {
    if !v.is_finite() {
        return "background:#f3f4f6".into();
    }
    let a = 0.08 + 0.72 * (v.abs() / scale).min(1.0);
    if v >= 0.0 {
        format!("background:rgba(22,163,74,{a:.2})")
    } else {
        format!("background:rgba(220,38,38,{a:.2})")
    }
}

fn monthly_table(r: &PeriodReturns) -> String {
    if r.months.is_empty() {
        return "<p>No data.</p>".into();
    }
    let mut abs: Vec<f64> = r
        .months
        .values()
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .collect();
    abs.sort_by(f64::total_cmp);
    // the 90th percentile sets full colour, so one outlier does not wash out the rest
    let scale = abs
        .get(abs.len() * 9 / 10)
        .copied()
        .unwrap_or(1.0)
        .max(1e-9);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut out = String::from(
        "<div class=\"scroll\"><table class=\"monthly\"><thead><tr><th class=\"l\">Year</th>",
    );
    for m in months {
        let _ = write!(out, "<th>{m}</th>");
    }
    out.push_str("<th>Year</th></tr></thead><tbody>");
    for (&year, &yr) in &r.years {
        let _ = write!(out, "<tr><th class=\"l\">{year}</th>");
        for m in 1..=12 {
            match r.months.get(&(year, m)) {
                Some(&v) => {
                    let _ = write!(out, "<td style=\"{}\">{}</td>", heat(v, scale), num(v, 1));
                }
                None => out.push_str("<td></td>"),
            }
        }
        let _ = write!(
            out,
            "<td class=\"year\" style=\"{}\">{}</td></tr>",
            heat(yr, scale * 3.0),
            num(yr, 1)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn stats_tables(s: &Stats) -> String {
    let rows = stat_rows(s);
    let per = rows.len().div_ceil(3);
    let mut out = String::from("<div class=\"stats\">");
    for chunk in rows.chunks(per) {
        out.push_str("<table><tbody>");
        for (k, v) in chunk {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div>");
    out
}

/// `YYYY-MM-DD HH:MM`, or just the date when `dates_only`.
fn when(ts_ms: i64, dates_only: bool) -> String {
    let s = iso(ts_ms);
    if dates_only || s.len() < 16 {
        s.get(..10).unwrap_or(&s).to_string()
    } else {
        format!("{} {}", &s[..10], &s[11..16])
    }
}

fn reason_of(t: &Trade) -> String {
    serde_json::to_value(t.exit_reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Everything the page shows, aligned by bar.
pub struct Page<'a> {
    /// Page title.
    pub title: &'a str,
    /// Symbol.
    pub symbol: &'a str,
    /// Strategy name.
    pub strategy: &'a str,
    /// Strategy parameters.
    pub params: &'a BTreeMap<String, String>,
    /// Statistics.
    pub stats: &'a Stats,
    /// Bar times, UTC ms.
    pub ts_ms: &'a [i64],
    /// OHLCV (each empty or one per bar).
    pub ohlcv: [&'a [f64]; 5],
    /// Strategy equity.
    pub equity: &'a [f64],
    /// Buy & hold equity (NaN without prices).
    pub buy_hold: &'a [f64],
    /// Drawdown, percent (positive).
    pub drawdown_pct: &'a [f64],
    /// Indicator lines over the price.
    pub overlays: &'a [Overlay],
    /// Monthly and yearly returns of the strategy.
    pub periods: &'a PeriodReturns,
    /// Monthly and yearly returns of buy & hold.
    pub bh_periods: &'a PeriodReturns,
    /// Resampled returns (distribution, rolling figures).
    pub period_series: &'a PeriodSeries,
    /// Trades.
    pub trades: &'a [Trade],
    /// The "AI decisions" section of an `ai` backtest.
    pub ai: Option<&'a super::ai::AiSection>,
}

impl Page<'_> {
    fn n(&self) -> usize {
        self.ts_ms.len()
    }

    fn has_price(&self) -> bool {
        self.n() > 0 && self.ohlcv[3].len() == self.n()
    }

    fn dates_only(&self) -> bool {
        self.ts_ms.iter().all(|t| t.rem_euclid(86_400_000) == 0)
    }
}

/// The bar index holding time `t` (the last bar at or before it), `None` outside the bars.
fn bar_at(ts: &[i64], t: i64) -> Option<usize> {
    let i = ts.partition_point(|&x| x <= t);
    (i > 0 && ts.last().is_some_and(|&last| t <= last)).then(|| i - 1)
}

/// Trade markers placed by time on the (possibly aggregated) candles.
pub fn markers(ts_ms: &[i64], trades: &[Trade], dates_only: bool) -> Vec<Marker> {
    let step = candle_step(ts_ms.len());
    let secs = |i: usize| ts_ms[i / step * step].div_euclid(1000);
    let mut out = Vec::with_capacity(trades.len() * 2);
    for (k, t) in trades.iter().enumerate() {
        let long = t.side == Side::Long;
        let win = t.pnl > 0.0;
        let side = if long { "long" } else { "short" };
        let result = format!("P&L {} ({})", money(t.pnl), pct(t.return_pct));
        if let Some(i) = bar_at(ts_ms, t.entry_ts_ms) {
            out.push(Marker {
                t: secs(i),
                entry: true,
                long,
                win,
                text: format!(
                    "#{} {side} entry {} @ {} · {result}",
                    k + 1,
                    when(t.entry_ts_ms, dates_only),
                    lwc::jnum(t.entry_price)
                ),
            });
        }
        if t.exit_reason != ExitReason::Open
            && let Some(i) = bar_at(ts_ms, t.exit_ts_ms)
        {
            out.push(Marker {
                t: secs(i),
                entry: false,
                long,
                win,
                text: format!(
                    "#{} {side} exit ({}) @ {} · {result}",
                    k + 1,
                    reason_of(t),
                    lwc::jnum(t.exit_price)
                ),
            });
        }
    }
    out
}

fn price_chart(p: &Page<'_>, times: &[i64]) -> Chart {
    let [o, h, l, c, v] = p.ohlcv;
    let pick = |s: &[f64]| {
        if s.len() == c.len() {
            s.to_vec()
        } else {
            c.to_vec()
        }
    };
    let (o, h, l) = (pick(o), pick(h), pick(l));
    let mut chart = Chart::new("price", 460, Format::Price);
    chart
        .series
        .push(Series::candles(p.symbol, times, &o, &h, &l, c));
    for ov in p.overlays {
        let kind = if ov.dashed { Kind::Dashed } else { Kind::Line };
        chart.series.push(
            Series::on_candles(kind, &ov.label, &ov.color, times, &ov.values).format(Format::Price),
        );
    }
    if v.len() == c.len() && v.iter().any(|x| *x > 0.0) {
        chart.series.push(Series::volume(times, &o, c, v));
    }
    chart.markers = markers(p.ts_ms, p.trades, p.dates_only());
    chart
}

fn equity_charts(p: &Page<'_>, times: &[i64]) -> (Chart, Chart, Chart, usize) {
    let mut eq = Chart::new("equity", 380, Format::Money);
    eq.series
        .push(Series::line(Kind::Line, "Strategy", BLUE, times, p.equity).format(Format::Money));
    if p.buy_hold.iter().any(|v| v.is_finite()) {
        eq.series.push(
            Series::line(Kind::Line, "Buy & hold", GREY, times, p.buy_hold).format(Format::Money),
        );
    }
    let neg: Vec<f64> = p.drawdown_pct.iter().map(|d| -d).collect();
    let mut dd = Chart::new("drawdown", 200, Format::Pct);
    dd.series.push(
        Series::line(Kind::Area, "Drawdown", "#b91c1c", times, &neg)
            .fill("rgba(220,38,38,.28)")
            .format(Format::Pct),
    );
    let ps = p.period_series;
    let w = window_for(ps.periods_per_year, ps.returns.len());
    let (vol, sharpe) = rolling_vol_sharpe(&ps.returns, w, ps.periods_per_year);
    let rt = lwc::secs(&ps.ts_ms);
    let mut roll = Chart::new("rolling", 240, Format::Num);
    roll.left_scale = true;
    roll.series
        .push(Series::line(Kind::Line, "Rolling Sharpe", BLUE, &rt, &sharpe).format(Format::Num));
    roll.series.push(
        Series::line(
            Kind::Line,
            "Rolling volatility (ann.)",
            "#d97706",
            &rt,
            &vol,
        )
        .format(Format::Pct)
        .left(),
    );
    (eq, dd, roll, w)
}

fn drawdowns_table(p: &Page<'_>) -> String {
    let w = worst_drawdowns(p.equity, WORST_DRAWDOWNS);
    if w.is_empty() {
        return "<p>No drawdowns.</p>".into();
    }
    let d = p.dates_only();
    let days = |a: usize, b: usize| (p.ts_ms[b] - p.ts_ms[a]) as f64 / 86_400_000.0;
    let rows: Vec<Vec<String>> = w
        .iter()
        .enumerate()
        .map(|(k, x)| {
            let end = x.recovery.unwrap_or(p.n() - 1);
            vec![
                (k + 1).to_string(),
                esc(&when(p.ts_ms[x.peak], d)),
                esc(&when(p.ts_ms[x.trough], d)),
                x.recovery
                    .map_or_else(|| "not recovered".into(), |r| esc(&when(p.ts_ms[r], d))),
                format!("<span class=\"neg\">{}</span>", pct(-x.depth_pct)),
                num(days(x.peak, end), 0),
            ]
        })
        .collect();
    table(
        &["#", "Peak", "Trough", "Recovered", "Depth", "Days"],
        &rows,
        &[1, 2, 3],
    )
}

fn excursions(trades: &[Trade]) -> String {
    let closed: Vec<&Trade> = trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::Open)
        .collect();
    if closed.is_empty() {
        return "<p>No closed trades.</p>".into();
    }
    let pts = |x: fn(&Trade) -> f64| -> Vec<svg::Point> {
        closed
            .iter()
            .enumerate()
            .map(|(k, t)| svg::Point {
                x: x(t),
                y: t.return_pct,
                good: t.pnl > 0.0,
                tip: format!(
                    "trade {} · return {:.2} %\nMAE {:.2} % · MFE {:.2} %",
                    k + 1,
                    t.return_pct,
                    t.mae_pct,
                    t.mfe_pct
                ),
            })
            .collect()
    };
    format!(
        "<div class=\"grid2\"><div>{}</div><div>{}</div></div>",
        svg::scatter(
            &pts(|t| t.mae_pct),
            "MAE: worst excursion (%)",
            "trade return (%)"
        ),
        svg::scatter(
            &pts(|t| t.mfe_pct),
            "MFE: best excursion (%)",
            "trade return (%)"
        )
    )
}

fn yearly(p: &Page<'_>) -> String {
    if p.periods.years.is_empty() {
        return "<p>No data.</p>".into();
    }
    let labels: Vec<String> = p.periods.years.keys().map(|y| y.to_string()).collect();
    let strat: Vec<f64> = p.periods.years.values().copied().collect();
    let mut series = vec![("Strategy", BLUE, strat)];
    if !p.bh_periods.years.is_empty() {
        let bh: Vec<f64> = p
            .periods
            .years
            .keys()
            .map(|y| p.bh_periods.years.get(y).copied().unwrap_or(f64::NAN))
            .collect();
        series.push(("Buy & hold", GREY, bh));
    }
    svg::grouped_bars(&labels, &series, "return (%)")
}

fn trades_json(p: &Page<'_>) -> String {
    let d = p.dates_only();
    let mut rows = String::from("[");
    let mut spans = String::from("[");
    for (i, t) in p.trades.iter().enumerate() {
        if i > 0 {
            rows.push(',');
            spans.push(',');
        }
        let side = if t.side == Side::Long {
            "long"
        } else {
            "short"
        };
        let cells = [
            (i + 1).to_string(),
            side.to_string(),
            when(t.entry_ts_ms, d),
            lwc::jnum(t.entry_price),
            when(t.exit_ts_ms, d),
            lwc::jnum(t.exit_price),
            lwc::jnum(t.qty),
            money(t.pnl),
            pct(t.return_pct),
            num(t.mae_pct, 2),
            num(t.mfe_pct, 2),
            money(t.fees),
            t.exit_bar.saturating_sub(t.entry_bar).to_string(),
            reason_of(t),
        ];
        rows.push('[');
        for (k, c) in cells.iter().enumerate() {
            if k > 0 {
                rows.push(',');
            }
            rows.push_str(&lwc::jstr(c));
        }
        rows.push(']');
        let _ = write!(
            spans,
            "[{},{}]",
            t.entry_ts_ms.div_euclid(1000),
            t.exit_ts_ms.div_euclid(1000)
        );
    }
    rows.push(']');
    spans.push(']');
    format!(
        "{{\"page_size\":{TRADES_PER_PAGE},\"classes\":[\"\",\"side\",\"l\",\"\",\"l\",\"\",\"\",\
         \"sign\",\"sign\",\"\",\"\",\"\",\"\",\"l\"],\"rows\":{rows},\"spans\":{spans}}}"
    )
}

fn trades_section(p: &Page<'_>) -> String {
    if p.trades.is_empty() {
        return "<p>No trades.</p>".into();
    }
    let head = [
        "#",
        "Side",
        "Entry time",
        "Entry price",
        "Exit time",
        "Exit price",
        "Qty",
        "P&L",
        "Return",
        "MAE %",
        "MFE %",
        "Fees",
        "Bars",
        "Exit reason",
    ];
    let mut out = String::from("<div class=\"scroll\"><table id=\"trades-table\"><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let cls = if [1, 2, 4, 13].contains(&i) {
            " class=\"l\""
        } else {
            ""
        };
        let _ = write!(out, "<th{cls}>{}</th>", esc(h));
    }
    out.push_str(
        "</tr></thead><tbody></tbody></table></div><div class=\"pager\">\
         <button id=\"trades-first\">« first</button><button id=\"trades-prev\">‹ prev</button>\
         <span class=\"info\" id=\"trades-info\"></span>\
         <button id=\"trades-next\">next ›</button><button id=\"trades-last\">last »</button>\
         <span>Click a trade to zoom the price chart to it. Every trade is also in trades.csv.</span></div>",
    );
    out
}

/// Render the whole page.
pub fn render(p: &Page<'_>) -> String {
    let s = p.stats;
    let mut body = String::with_capacity(64 * 1024);
    let _ = write!(
        body,
        "<header><h1>{}</h1><p class=\"sub\">{} · {} · {} → {} · {} bars</p>{}</header>",
        esc(p.title),
        esc(p.symbol),
        esc(p.strategy),
        esc(s.start.get(..10).unwrap_or(&s.start)),
        esc(s.end.get(..10).unwrap_or(&s.end)),
        s.bars,
        params_list(p.params)
    );
    body.push_str(&kpis(&[
        ("Return", pct(s.return_pct), sign_class(s.return_pct)),
        (
            "Buy & hold",
            pct(s.buy_hold_return_pct),
            sign_class(s.buy_hold_return_pct),
        ),
        (
            "Return (ann.)",
            pct(s.return_ann_pct),
            sign_class(s.return_ann_pct),
        ),
        ("Sharpe", num(s.sharpe, 2), ""),
        ("Max drawdown", pct(s.max_drawdown_pct), "neg"),
        ("Win rate", pct(s.win_rate_pct), ""),
        ("Trades", s.trades.to_string(), ""),
        ("Profit factor", num(s.profit_factor, 2), ""),
    ]));
    let times = lwc::secs(p.ts_ms);
    let mut charts = Vec::new();
    if p.has_price() {
        let price = price_chart(p, &times);
        let step = candle_step(p.n());
        let agg = if step > 1 {
            format!(" · {step} bars per candle")
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<section id=\"price\"><h2>Price, volume and trades<span class=\"note\">{} candles{agg}</span>\
             <button data-fit>Reset zoom</button></h2>{}<div class=\"help\">\
             <span class=\"up\">▲</span>/<span class=\"down\">▼</span> long/short entry, \
             ● exit; green = the trade made money, red = it lost. Hover a marker's candle for \
             the trade.</div></section>",
            p.ohlcv[3].len().div_ceil(step),
            price.div()
        );
        charts.push(price);
    } else {
        body.push_str(
            "<section id=\"price\"><h2>Price and trades</h2><p>No price data.</p></section>",
        );
    }
    let (eq, dd, roll, w) = equity_charts(p, &times);
    let _ = write!(
        body,
        "<section id=\"equity\"><h2>Equity vs buy &amp; hold\
         <button data-log=\"equity\" aria-pressed=\"false\">Log scale</button></h2>{}</section>\
         <section id=\"drawdown\"><h2>Drawdown</h2>{}</section>\
         <section id=\"rolling\"><h2>Rolling Sharpe and volatility<span class=\"note\">\
         {w} {} returns (≈ 6 months) · Sharpe right axis, volatility % left</span></h2>{}</section>",
        eq.div(),
        dd.div(),
        p.period_series.label,
        roll.div()
    );
    charts.extend([eq, dd, roll]);
    let rets: Vec<f64> = p.period_series.returns.iter().map(|r| r * 100.0).collect();
    let mean = rets.iter().sum::<f64>() / rets.len().max(1) as f64;
    let _ = write!(
        body,
        "<div class=\"grid2\"><section id=\"distribution\"><h2>Return distribution\
         <span class=\"note\">{} {} returns</span></h2>{}</section>\
         <section id=\"yearly\"><h2>Yearly returns</h2>{}</section></div>",
        rets.len(),
        p.period_series.label,
        svg::histogram(
            &rets,
            40,
            &format!("{} return (%)", p.period_series.label),
            "%",
            Some((mean, &format!("mean {} %", num(mean, 3)))),
        ),
        yearly(p)
    );
    let _ = write!(
        body,
        "<section id=\"worst-drawdowns\"><h2>Worst drawdowns</h2>{}</section>\
         <section id=\"excursions\"><h2>Trade excursions<span class=\"note\">maximum adverse \
         (MAE) and favourable (MFE) excursion against each trade's return</span></h2>{}</section>",
        drawdowns_table(p),
        excursions(p.trades)
    );
    let _ = write!(
        body,
        "<section id=\"monthly\"><h2>Monthly returns (%)</h2>{}</section>\
         <section id=\"stats\"><h2>Statistics<span class=\"note\">backtesting.py 0.6.6's \
         definitions; drawdowns are positive percentages</span></h2>{}</section>\
         <section id=\"trades\"><h2>Trades ({})</h2>{}</section>",
        monthly_table(p.periods),
        stats_tables(s),
        p.trades.len(),
        trades_section(p)
    );
    let ai_data = p.ai.map(|a| {
        let d = p.dates_only();
        let (html, data) = super::ai::section(a, |t| when(t, d));
        body.push_str(&html);
        data
    });
    let mut data = format!("{{\"intraday\":{},\"charts\":[", !p.dates_only());
    for (i, c) in charts.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(&c.json());
    }
    data.push(']');
    if !p.trades.is_empty() {
        let _ = write!(data, ",\"trades\":{}", trades_json(p));
    }
    if let Some(d) = ai_data.filter(|d| !d.is_empty()) {
        let _ = write!(data, ",{d}");
    }
    data.push('}');
    super::page::document(p.title, &body, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(entry_ts: i64, exit_ts: i64, pnl: f64) -> Trade {
        Trade {
            side: Side::Long,
            qty: 1.0,
            entry_bar: 999,
            exit_bar: 1005,
            entry_ts_ms: entry_ts,
            exit_ts_ms: exit_ts,
            entry_price: 10.0,
            exit_price: 11.0,
            pnl,
            return_pct: 10.0,
            fees: 0.0,
            mae_pct: -1.0,
            mfe_pct: 12.0,
            exit_reason: ExitReason::Signal,
        }
    }

    #[test]
    fn issue_10_markers_are_placed_by_time_not_by_file_index() {
        // the report shows bars 3 s, 4 s, 5 s of a longer file; the trade's bar indexes
        // (999, 1005) come from the whole file and must not matter
        let ts = [3000, 4000, 5000];
        let m = markers(&ts, &[trade(4000, 5000, 1.0)], true);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].t, m[0].entry, m[0].win), (4, true, true));
        assert_eq!((m[1].t, m[1].entry), (5, false));
        // a trade outside the shown bars has no marker
        assert!(markers(&ts, &[trade(1000, 2000, -1.0)], true).is_empty());
    }

    #[test]
    fn bar_at_finds_the_bar_holding_a_time() {
        let ts = [10, 20, 30];
        assert_eq!(bar_at(&ts, 20), Some(1));
        assert_eq!(bar_at(&ts, 25), Some(1));
        assert_eq!(bar_at(&ts, 9), None);
        assert_eq!(bar_at(&ts, 31), None);
    }
}
