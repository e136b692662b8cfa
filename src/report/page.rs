//! The page shell every HTML report shares (backtest, optimize, evolve): one stylesheet,
//! the vendored TradingView Lightweight Charts bundle and the report script, all inlined at
//! build time, so each report is one self-contained file that works offline. Chart data
//! travels as JSON in `<script type="application/json" id="report-data">`.
//!
//! Also the small formatting helpers the pages share (escaping, numbers, KPI cards, the
//! parameter list).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// TradingView Lightweight Charts 5.2.1, standalone production build (Apache-2.0; see
/// `assets/vendor/lightweight-charts/NOTICE`).
pub const LIGHTWEIGHT_CHARTS_JS: &str = include_str!(
    "../../assets/vendor/lightweight-charts/lightweight-charts.standalone.production.js"
);
/// The report runtime (charts from JSON, synced axes, hover legends, paged trades).
const REPORT_JS: &str = include_str!("../../assets/report/report.js");
/// The shared stylesheet.
const REPORT_CSS: &str = include_str!("../../assets/report/report.css");

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

/// `v` with `decimals` decimals, `—` when not finite; never `-0.00`.
pub fn num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// `v` as a percentage with two decimals, `—` when not finite.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{} %", num(v, 2))
    } else {
        "—".into()
    }
}

/// Money: two decimals, thousands grouped, `—` when not finite.
pub fn money(v: f64) -> String {
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

/// CSS class for a signed value: `pos`, `neg` or none.
pub fn sign_class(v: f64) -> &'static str {
    if v > 0.0 {
        "pos"
    } else if v < 0.0 {
        "neg"
    } else {
        ""
    }
}

/// KPI cards: (label, value, CSS class); the label borrowed or owned.
pub fn kpis<L: AsRef<str>>(cards: &[(L, String, &str)]) -> String {
    let mut out = String::from("<div class=\"kpis\">");
    for (label, value, class) in cards {
        let _ = write!(
            out,
            "<div class=\"kpi\"><div class=\"label\">{}</div>\
             <div class=\"value {class}\">{}</div></div>",
            esc(label.as_ref()),
            esc(value)
        );
    }
    out.push_str("</div>");
    out
}

/// Every parameter as a wrapping list of `name=value` items (nothing is cut off).
pub fn params_list(params: &BTreeMap<String, String>) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"params\" aria-label=\"parameters\">");
    for (k, v) in params {
        let _ = write!(out, "<li><b>{}</b>={}</li>", esc(k), esc(v));
    }
    out.push_str("</ul>");
    out
}

/// A two-column key/value table.
pub fn kv_table(rows: &[(String, String)]) -> String {
    let mut out = String::from("<table class=\"kv\"><tbody>");
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</tbody></table>");
    out
}

/// A table from a header and rows of already escaped cells; `left` columns align left.
pub fn table(head: &[&str], rows: &[Vec<String>], left: &[usize]) -> String {
    let cls = |i: usize| {
        if left.contains(&i) {
            " class=\"l\""
        } else {
            ""
        }
    };
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", cls(i), esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{c}</td>", cls(i));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The whole document: `<head>` with the inlined stylesheet, `body` inside `<main>`, the
/// footer, then the JSON data, the chart library and the report script.
pub fn document(title: &str, body: &str, data_json: &str) -> String {
    let mut out = String::with_capacity(
        body.len() + data_json.len() + LIGHTWEIGHT_CHARTS_JS.len() + REPORT_JS.len() + 16_384,
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{REPORT_CSS}</style></head><body><main>",
        esc(title)
    );
    out.push_str(body);
    out.push_str(
        "<footer>Generated by algolab. Interactive charts: drag to pan, scroll or pinch to \
         zoom, double-click an axis to reset; hover for values. Charts by \
         <a href=\"https://www.tradingview.com/\">TradingView Lightweight Charts™</a> \
         (Apache-2.0), inlined: the page loads nothing from the network.</footer></main>",
    );
    // `</` cannot occur in the JSON outside strings; inside them `<\/` is the same string
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{}</script>",
        data_json.replace("</", "<\\/")
    );
    let _ = writeln!(
        out,
        "<script>{LIGHTWEIGHT_CHARTS_JS}</script><script>{REPORT_JS}</script></body></html>"
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
        assert_eq!(num(-0.001, 2), "0.00");
        assert_eq!(pct(-1.5), "-1.50 %");
    }

    #[test]
    fn the_document_inlines_the_library_and_closes_script_tags_in_data() {
        let d = document("t", "<p>x</p>", "{\"a\":\"</script>\"}");
        assert!(d.contains("Lightweight Charts™ v5.2.1"));
        assert!(d.contains("<\\/script>"));
        assert_eq!(d.matches("</script>").count(), 3);
        assert!(!d.contains("<script src"));
    }
}
