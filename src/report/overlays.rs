//! The indicator lines a strategy trades on, drawn over the price chart: the fast and slow
//! SMAs of `sma-cross`; the fast and slow EMAs of `technical`, plus Bollinger bands
//! (20, 2σ) as a volatility reference (`technical` does not trade on them; the legend says
//! so). Computed with the crate's streaming indicators over the whole file, so values at the
//! first reported bar already include their warm-up, then cut to the reported bars.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::indicators::{BollingerBands, Ema, Sma};

/// One overlay line.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// Legend label, e.g. `SMA(10)`.
    pub label: String,
    /// CSS colour.
    pub color: String,
    /// Dashed (reference lines) or solid (lines the strategy trades on).
    pub dashed: bool,
    /// One value per reported bar (NaN during warm-up).
    pub values: Vec<f64>,
}

fn period(params: &BTreeMap<String, String>, key: &str, default: usize) -> usize {
    params
        .get(key)
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&p| p > 0)
        .unwrap_or(default)
}

fn run(close: &[f64], range: &Range<usize>, mut f: impl FnMut(f64) -> Option<f64>) -> Vec<f64> {
    let end = range.end.min(close.len());
    let mut out = Vec::with_capacity(range.len());
    for (i, &c) in close[..end].iter().enumerate() {
        let v = f(c).unwrap_or(f64::NAN);
        if i >= range.start {
            out.push(v);
        }
    }
    out
}

/// The overlays of `strategy` with `params` (as shown in the report), computed over the
/// whole `close` series and cut to `range` (the reported bars). Unknown strategies (an
/// evolved genome) have none.
pub fn for_strategy(
    strategy: &str,
    params: &BTreeMap<String, String>,
    close: &[f64],
    range: Range<usize>,
) -> Vec<Overlay> {
    let line = |label: String, color: &str, dashed: bool, values: Vec<f64>| Overlay {
        label,
        color: color.into(),
        dashed,
        values,
    };
    match strategy {
        "sma-cross" => {
            let (f, s) = (period(params, "fast", 10), period(params, "slow", 20));
            let (Ok(mut a), Ok(mut b)) = (Sma::new(f), Sma::new(s)) else {
                return Vec::new();
            };
            vec![
                line(
                    format!("SMA({f})"),
                    "#f59e0b",
                    false,
                    run(close, &range, |x| a.update_raw(x)),
                ),
                line(
                    format!("SMA({s})"),
                    "#7c3aed",
                    false,
                    run(close, &range, |x| b.update_raw(x)),
                ),
            ]
        }
        "technical" => {
            let (f, s) = (
                period(params, "ema_fast", 12),
                period(params, "ema_slow", 26),
            );
            let (Ok(mut a), Ok(mut b), Ok(bb)) =
                (Ema::new(f), Ema::new(s), BollingerBands::new(20, 2.0, 2.0))
            else {
                return Vec::new();
            };
            let (mut up, mut lo) = (bb.clone(), bb);
            vec![
                line(
                    format!("EMA({f})"),
                    "#f59e0b",
                    false,
                    run(close, &range, |x| a.update_raw(x)),
                ),
                line(
                    format!("EMA({s})"),
                    "#7c3aed",
                    false,
                    run(close, &range, |x| b.update_raw(x)),
                ),
                line(
                    "Bollinger upper (20, 2σ; reference)".into(),
                    "#64748b",
                    true,
                    run(close, &range, |x| up.update_raw(x).map(|v| v.upper)),
                ),
                line(
                    "Bollinger lower (20, 2σ; reference)".into(),
                    "#64748b",
                    true,
                    run(close, &range, |x| lo.update_raw(x).map(|v| v.lower)),
                ),
            ]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_cross_overlays_include_the_warm_up_before_the_range() {
        let close: Vec<f64> = (1..=10).map(f64::from).collect();
        let p = BTreeMap::from([
            ("fast".to_string(), "2".to_string()),
            ("slow".into(), "4".into()),
        ]);
        let o = for_strategy("sma-cross", &p, &close, 5..10);
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].label, "SMA(2)");
        // bar 5 (close 6): SMA(2) = 5.5, SMA(4) = 4.5 — already warm at the range's start
        assert_eq!(o[0].values, vec![5.5, 6.5, 7.5, 8.5, 9.5]);
        assert_eq!(o[1].values[0], 4.5);
        assert!(for_strategy("evolved", &p, &close, 0..10).is_empty());
    }

    #[test]
    fn technical_has_emas_and_reference_bands() {
        let close: Vec<f64> = (0..60).map(|i| 100.0 + f64::from(i % 7)).collect();
        let o = for_strategy("technical", &BTreeMap::new(), &close, 0..60);
        let labels: Vec<&str> = o.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels[..2], ["EMA(12)", "EMA(26)"]);
        assert!(o[2].dashed && o[2].values[19] > o[3].values[19]);
        assert!(o[2].values[18].is_nan());
    }
}
