//! The self-contained `report.html`: inline CSS and SVG only (no scripts, no external
//! fonts or stylesheets), laid out for a 1400 px window, dark text on a light page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::series::PeriodReturns;
use crate::metrics::{Stats, iso};
use crate::order::{Side, Trade};

/// Rows shown at each end of a long trades table.
pub const TRADE_ROWS_EACH_END: usize = 200;

const CSS: &str = "
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1f2430;font:14px/1.45 -apple-system,'Segoe UI',Roboto,'DejaVu Sans',Helvetica,Arial,sans-serif}
main{max-width:1360px;margin:0 auto;padding:28px 24px 48px}
header h1{font-size:26px;margin:0 0 4px;font-weight:650;letter-spacing:-.01em}
header .sub{color:#5b6270;margin:0 0 2px}
header .params{color:#5b6270;font-size:13px}
header code{background:#e9ebf0;border-radius:4px;padding:1px 6px;margin-right:4px;font-size:12.5px}
.kpis{display:grid;grid-template-columns:repeat(8,1fr);gap:12px;margin:20px 0 8px}
.kpi{background:#fff;border:1px solid #e2e5ea;border-radius:10px;padding:12px 14px}
.kpi .label{color:#6b7280;font-size:11.5px;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:21px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.pos{color:#15803d}.neg{color:#b91c1c}
section{background:#fff;border:1px solid #e2e5ea;border-radius:10px;padding:16px 18px;margin-top:16px}
section h2{font-size:16px;margin:0 0 10px;font-weight:650}
section svg{display:block;width:100%;height:auto}
.legend{color:#5b6270;font-size:12.5px;margin-top:6px}
.legend .up{color:#15803d}.legend .down{color:#b91c1c}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;text-align:right;border-bottom:1px solid #eef0f3;white-space:nowrap}
th{color:#6b7280;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em;background:#fafbfc}
td.l,th.l{text-align:left}
.monthly td{text-align:center;font-size:12.5px;border:2px solid #fff;border-radius:4px}
.monthly td.year{font-weight:650}
.stats{display:grid;grid-template-columns:1fr 1fr 1fr;gap:0 28px;align-items:start}
.stats table td:first-child{text-align:left;color:#4b5260}
.trades{max-height:none}
.trades tr.gap td{text-align:center;color:#6b7280;font-style:italic;background:#fafbfc}
footer{color:#8a909c;font-size:12px;margin-top:18px;text-align:center}
";

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "—".into()
    }
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2} %")
    } else {
        "—".into()
    }
}

fn money(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{}{out}.{frac}", if v < 0.0 { "-" } else { "" })
}

fn sign_class(v: f64) -> &'static str {
    if v > 0.0 {
        "pos"
    } else if v < 0.0 {
        "neg"
    } else {
        ""
    }
}

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

fn kpis(s: &Stats) -> String {
    let cards = [
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
    ];
    let mut out = String::from("<div class=\"kpis\">");
    for (label, value, class) in cards {
        let _ = write!(
            out,
            "<div class=\"kpi\"><div class=\"label\">{label}</div>\
             <div class=\"value {class}\">{}</div></div>",
            esc(&value)
        );
    }
    out.push_str("</div>");
    out
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
    let mut out = String::from("<table class=\"monthly\"><thead><tr><th class=\"l\">Year</th>");
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
    out.push_str("</tbody></table>");
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

/// `YYYY-MM-DD HH:MM`, or just the date when every trade time is at midnight.
fn when(ts_ms: i64, dates_only: bool) -> String {
    let s = iso(ts_ms);
    if dates_only || s.len() < 16 {
        s.get(..10).unwrap_or(&s).to_string()
    } else {
        format!("{} {}", &s[..10], &s[11..16])
    }
}

fn trade_row(out: &mut String, i: usize, t: &Trade, dates_only: bool) {
    let (side, cls) = match t.side {
        Side::Long => ("long", "pos"),
        Side::Short => ("short", "neg"),
    };
    let reason = serde_json::to_value(t.exit_reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<tr><td>{}</td><td class=\"l {cls}\">{side}</td><td class=\"l\">{}</td><td>{}</td>\
         <td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td>\
         <td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
        i + 1,
        esc(&when(t.entry_ts_ms, dates_only)),
        num(t.entry_price, 4),
        esc(&when(t.exit_ts_ms, dates_only)),
        num(t.exit_price, 4),
        num(t.qty, 4),
        sign_class(t.pnl),
        money(t.pnl),
        sign_class(t.return_pct),
        pct(t.return_pct),
        money(t.fees),
        t.exit_bar.saturating_sub(t.entry_bar),
        esc(&reason),
    );
}

fn trades_table(trades: &[Trade]) -> String {
    if trades.is_empty() {
        return "<p>No trades.</p>".into();
    }
    let mut out = String::from(
        "<table class=\"trades\"><thead><tr><th>#</th><th class=\"l\">Side</th>\
         <th class=\"l\">Entry time</th><th>Entry price</th><th class=\"l\">Exit time</th>\
         <th>Exit price</th><th>Qty</th><th>P&amp;L</th><th>Return</th><th>Fees</th>\
         <th>Bars</th><th class=\"l\">Exit reason</th></tr></thead><tbody>",
    );
    let n = trades.len();
    let each = TRADE_ROWS_EACH_END;
    let dates_only = trades.iter().all(|t| {
        t.entry_ts_ms.rem_euclid(86_400_000) == 0 && t.exit_ts_ms.rem_euclid(86_400_000) == 0
    });
    for (i, t) in trades.iter().enumerate() {
        if n > 2 * each && i == each {
            let _ = write!(
                out,
                "<tr class=\"gap\"><td colspan=\"12\">… {} trades omitted (all are in trades.csv) …</td></tr>",
                n - 2 * each
            );
        }
        if n <= 2 * each || i < each || i >= n - each {
            trade_row(&mut out, i, t, dates_only);
        }
    }
    out.push_str("</tbody></table>");
    out
}

/// Everything the page shows.
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
    /// Equity chart SVG.
    pub equity_svg: &'a str,
    /// Drawdown chart SVG.
    pub drawdown_svg: &'a str,
    /// Price chart SVG (`None` without price data).
    pub price_svg: Option<&'a str>,
    /// True when the price chart shows candles.
    pub candles: bool,
    /// Monthly and yearly returns.
    pub periods: &'a PeriodReturns,
    /// Trades.
    pub trades: &'a [Trade],
}

/// Render the whole page.
pub fn render(p: &Page<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        esc(p.title)
    );
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"sub\">{} · {} · {} → {} · {} bars</p>",
        esc(p.title),
        esc(p.symbol),
        esc(p.strategy),
        esc(p.stats.start.get(..10).unwrap_or(&p.stats.start)),
        esc(p.stats.end.get(..10).unwrap_or(&p.stats.end)),
        p.stats.bars
    );
    if !p.params.is_empty() {
        out.push_str("<p class=\"params\">Parameters: ");
        for (k, v) in p.params {
            let _ = write!(out, "<code>{}={}</code>", esc(k), esc(v));
        }
        out.push_str("</p>");
    }
    out.push_str("</header>");
    out.push_str(&kpis(p.stats));
    let _ = write!(
        out,
        "<section id=\"equity\"><h2>Equity vs buy &amp; hold</h2>{}</section>",
        p.equity_svg
    );
    let _ = write!(
        out,
        "<section id=\"drawdown\"><h2>Drawdown</h2>{}</section>",
        p.drawdown_svg
    );
    match p.price_svg {
        Some(svg) => {
            let kind = if p.candles { "candles" } else { "close" };
            let _ = write!(
                out,
                "<section id=\"price\"><h2>Price ({kind}) and trades</h2>{svg}\
                 <div class=\"legend\"><span class=\"up\">▲</span> long entry · \
                 <span class=\"down\">▼</span> short entry · × exit</div></section>"
            );
        }
        None => out.push_str(
            "<section id=\"price\"><h2>Price and trades</h2><p>No price data.</p></section>",
        ),
    }
    let _ = write!(
        out,
        "<section id=\"monthly\"><h2>Monthly returns (%)</h2>{}</section>",
        monthly_table(p.periods)
    );
    let _ = write!(
        out,
        "<section id=\"stats\"><h2>Statistics</h2>{}</section>",
        stats_tables(p.stats)
    );
    let _ = write!(
        out,
        "<section id=\"trades\"><h2>Trades ({})</h2>{}</section>",
        p.trades.len(),
        trades_table(p.trades)
    );
    out.push_str(
        "<footer>Generated by algolab. Statistics follow backtesting.py 0.6.6's definitions; \
         drawdowns are positive percentages.</footer></main></body></html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(-12.5), "-12.50");
        assert_eq!(money(f64::NAN), "—");
    }
}
