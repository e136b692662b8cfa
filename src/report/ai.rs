//! The "AI decisions" section of an `ai` backtest's report: each decision that entered,
//! exited, reduced or was vetoed, with every component's opinion and weight, the final
//! confidence, size and leverage, the veto and the LLM's explanation, linked to the trade it
//! caused (a click zooms the price chart to it). Paged in the browser like the trades table;
//! all rows are in the page's data, HTML-escaped.

use std::fmt::Write as _;

use super::lwc;
use super::page::{esc, num};

/// Rows per page of the decisions table.
pub const DECISIONS_PER_PAGE: usize = 25;

/// One component's part in a decision, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct OpinionCell {
    /// The component (`technical`, `dqn`, …).
    pub component: String,
    /// Its action (`BUY`, `SELL`, `HOLD`).
    pub action: String,
    /// Its confidence in [0, 1].
    pub confidence: f64,
    /// Its weight after renormalisation (0 when it did not count).
    pub weight: f64,
    /// True when the online learner blocked it.
    pub blocked: bool,
}

/// One decision row.
#[derive(Debug, Clone, PartialEq)]
pub struct AiDecisionRow {
    /// Open time of the decision's bar (UTC ms).
    pub ts_ms: i64,
    /// What was sent to the engine (`enter long`, `exit`, `hold`, …).
    pub intent: String,
    /// The final action.
    pub action: String,
    /// The final confidence.
    pub confidence: f64,
    /// Size, fraction of equity.
    pub size_frac: f64,
    /// Leverage.
    pub leverage: f64,
    /// Regime, if known.
    pub regime: Option<String>,
    /// Every component that gave an opinion.
    pub opinions: Vec<OpinionCell>,
    /// The LLM's veto explanation, when it vetoed.
    pub veto: Option<String>,
    /// The LLM's explanation, when it answered.
    pub llm: Option<String>,
    /// Index of the trade it opened or closed in the report's trades.
    pub trade: Option<usize>,
}

/// The section's content.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AiSection {
    /// Facts shown above the table (models used and where from, LLM mode, learning, …).
    pub facts: Vec<(String, String)>,
    /// Decisions kept in all (the table shows `rows`).
    pub total: usize,
    /// The rows.
    pub rows: Vec<AiDecisionRow>,
}

fn opinions_text(ops: &[OpinionCell]) -> String {
    ops.iter()
        .map(|o| {
            format!(
                "{} {} {} % × {}{}",
                o.component,
                o.action,
                num(100.0 * o.confidence, 0),
                num(o.weight, 2),
                if o.blocked { " (blocked)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The section's HTML and its data (`"decisions": …` in the page's JSON).
pub fn section(s: &AiSection, when: impl Fn(i64) -> String) -> (String, String) {
    let mut html = format!(
        "<section id=\"ai-decisions\"><h2>AI decisions ({})<span class=\"note\">the entries, \
         exits and vetoes of {} decisions; click a row to zoom to its trade</span></h2>",
        s.rows.len(),
        s.total
    );
    if !s.facts.is_empty() {
        html.push_str("<ul class=\"facts\">");
        for (k, v) in &s.facts {
            let _ = write!(html, "<li>{}: <b>{}</b></li>", esc(k), esc(v));
        }
        html.push_str("</ul>");
    }
    if s.rows.is_empty() {
        html.push_str("<p>No decision entered, exited or was vetoed.</p></section>");
        return (html, String::new());
    }
    let head = [
        "#",
        "Time",
        "Intent",
        "Action",
        "Confidence",
        "Size",
        "Leverage",
        "Regime",
        "Opinions (confidence × weight)",
        "Veto",
        "LLM",
        "Trade",
    ];
    html.push_str("<div class=\"scroll\"><table id=\"ai-table\"><thead><tr>");
    for h in head {
        let _ = write!(html, "<th class=\"l\">{}</th>", esc(h));
    }
    html.push_str(
        "</tr></thead><tbody></tbody></table></div><div class=\"pager\">\
         <button id=\"ai-first\">« first</button><button id=\"ai-prev\">‹ prev</button>\
         <span class=\"info\" id=\"ai-info\"></span>\
         <button id=\"ai-next\">next ›</button><button id=\"ai-last\">last »</button>\
         <span>Every decision is in the learning DB (`algolab explain RUN_ID`).</span></div></section>",
    );
    let mut rows = String::from("[");
    let mut links = String::from("[");
    for (i, r) in s.rows.iter().enumerate() {
        if i > 0 {
            rows.push(',');
            links.push(',');
        }
        let cells = [
            (i + 1).to_string(),
            when(r.ts_ms),
            r.intent.clone(),
            r.action.clone(),
            format!("{} %", num(100.0 * r.confidence, 1)),
            format!("{} %", num(100.0 * r.size_frac, 2)),
            format!("{}×", num(r.leverage, 0)),
            r.regime.clone().unwrap_or_else(|| "—".into()),
            opinions_text(&r.opinions),
            r.veto.clone().unwrap_or_default(),
            r.llm.clone().unwrap_or_default(),
            r.trade
                .map_or_else(|| "—".into(), |t| format!("#{}", t + 1)),
        ];
        rows.push('[');
        for (k, c) in cells.iter().enumerate() {
            if k > 0 {
                rows.push(',');
            }
            rows.push_str(&lwc::jstr(c)); // HTML-escaped by jstr
        }
        rows.push(']');
        let _ = write!(links, "{}", r.trade.map_or(-1, |t| t as i64));
    }
    rows.push(']');
    links.push(']');
    let data = format!(
        "\"decisions\":{{\"page_size\":{DECISIONS_PER_PAGE},\"rows\":{rows},\"trades\":{links}}}"
    );
    (html, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_escaped_and_linked_to_their_trades() {
        let s = AiSection {
            facts: vec![("dqn".into(), "default:models/default/dqn.json".into())],
            total: 10,
            rows: vec![
                AiDecisionRow {
                    ts_ms: 0,
                    intent: "enter long".into(),
                    action: "BUY".into(),
                    confidence: 0.5,
                    size_frac: 0.1,
                    leverage: 3.0,
                    regime: Some("bull".into()),
                    opinions: vec![OpinionCell {
                        component: "technical".into(),
                        action: "BUY".into(),
                        confidence: 0.8,
                        weight: 0.5,
                        blocked: false,
                    }],
                    veto: None,
                    llm: Some("<script>x</script>".into()),
                    trade: Some(2),
                },
                AiDecisionRow {
                    ts_ms: 3_600_000,
                    intent: "hold".into(),
                    action: "HOLD".into(),
                    confidence: 0.0,
                    size_frac: 0.0,
                    leverage: 1.0,
                    regime: None,
                    opinions: Vec::new(),
                    veto: Some("too risky".into()),
                    llm: None,
                    trade: None,
                },
            ],
        };
        let (html, data) = section(&s, |t| t.to_string());
        assert!(html.contains("AI decisions (2)") && html.contains("of 10 decisions"));
        assert!(html.contains("default:models/default/dqn.json"));
        assert!(!data.contains("<script>"), "{data}");
        let v: serde_json::Value = serde_json::from_str(&format!("{{{data}}}")).unwrap();
        let d = &v["decisions"];
        assert_eq!(d["rows"][0][10], "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(d["rows"][0][8], "technical BUY 80 % × 0.50");
        assert_eq!(d["rows"][0][6], "3×");
        assert_eq!(d["rows"][0][11], "#3");
        assert_eq!(d["rows"][1][9], "too risky");
        assert_eq!(d["trades"], serde_json::json!([2, -1]));
    }
}
