//! The standard indicator table of `algolab indicators` (DESIGN §2): fourteen columns, each
//! with its own TA-Lib warm-up (`None` while warming up).

use super::{Adx, BollingerBands, Ema, Indicator, Macd, MinusDi, PlusDi, Rsi, Sma, batch};
use crate::data::Bars;

/// One column of values per standard indicator, in DESIGN §2 order: `ema_12`, `ema_26`,
/// `sma_20`, `rsi_14`, `atr_14`, `adx_14`, `plus_di_14`, `minus_di_14`, `macd`,
/// `macd_signal`, `macd_hist`, `bb_upper`, `bb_middle`, `bb_lower` (MACD 12/26/9,
/// Bollinger 20, 2, 2). Each column is `None` for exactly its own TA-Lib lookback.
pub fn standard_table(bars: &Bars) -> Vec<(&'static str, Vec<Option<f64>>)> {
    // The periods below are constants in range, so the constructors cannot fail; a failure
    // would still give an all-None column rather than a panic.
    fn col<I: Indicator<Output = f64>>(
        ind: Result<I, super::ParamError>,
        bars: &Bars,
    ) -> Vec<Option<f64>> {
        match ind {
            Ok(mut i) => batch(&mut i, bars),
            Err(_) => vec![None; bars.len()],
        }
    }
    let macd = match Macd::new(12, 26, 9) {
        Ok(mut m) => batch(&mut m, bars),
        Err(_) => vec![None; bars.len()],
    };
    let bb = match BollingerBands::new(20, 2.0, 2.0) {
        Ok(mut b) => batch(&mut b, bars),
        Err(_) => vec![None; bars.len()],
    };
    vec![
        ("ema_12", col(Ema::new(12), bars)),
        ("ema_26", col(Ema::new(26), bars)),
        ("sma_20", col(Sma::new(20), bars)),
        ("rsi_14", col(Rsi::new(14), bars)),
        ("atr_14", col(super::Atr::new(14), bars)),
        ("adx_14", col(Adx::new(14), bars)),
        ("plus_di_14", col(PlusDi::new(14), bars)),
        ("minus_di_14", col(MinusDi::new(14), bars)),
        ("macd", macd.iter().map(|v| v.map(|v| v.macd)).collect()),
        (
            "macd_signal",
            macd.iter().map(|v| v.map(|v| v.signal)).collect(),
        ),
        (
            "macd_hist",
            macd.iter().map(|v| v.map(|v| v.hist)).collect(),
        ),
        ("bb_upper", bb.iter().map(|v| v.map(|v| v.upper)).collect()),
        (
            "bb_middle",
            bb.iter().map(|v| v.map(|v| v.middle)).collect(),
        ),
        ("bb_lower", bb.iter().map(|v| v.map(|v| v.lower)).collect()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::random_walk;

    #[test]
    fn columns_come_in_design_order_with_their_own_warm_up() {
        let t = standard_table(&random_walk(100, 1));
        let names: Vec<_> = t.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "ema_12",
                "ema_26",
                "sma_20",
                "rsi_14",
                "atr_14",
                "adx_14",
                "plus_di_14",
                "minus_di_14",
                "macd",
                "macd_signal",
                "macd_hist",
                "bb_upper",
                "bb_middle",
                "bb_lower"
            ]
        );
        let warm: Vec<_> = t
            .iter()
            .map(|(_, c)| c.iter().take_while(|v| v.is_none()).count())
            .collect();
        assert_eq!(
            warm,
            [11, 25, 19, 14, 14, 27, 14, 14, 33, 33, 33, 19, 19, 19]
        );
        assert!(t.iter().all(|(_, c)| c.len() == 100));
    }
}
