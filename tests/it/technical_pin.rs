//! Regression pin (not a golden test): the `technical` strategy under the standard risk rules
//! must keep its exact trade count and final equity while its hot path is optimised. The
//! pinned numbers were recorded from the unoptimised code (commit c9b3c4a); a change here means
//! behaviour changed, not just speed. Re-pinned for issue 10: the base size of a
//! confidence-sized entry is 20 % (was 10 %) and Kelly counts a position's partial exits as
//! one trade; the trade (fill) and event counts are unchanged, the final equity is not.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use algolab::data::Bars;
use algolab::engine::{BacktestConfig, run_backtest};
use algolab::strategy::Params;
use algolab::strategy::technical::{TECHNICAL_PARAMS, Technical};

use crate::util::dataset;

/// (trade count, final equity bits, event count) of `technical` as benched.
fn run(bars: &Bars) -> (usize, u64, usize) {
    let cfg = BacktestConfig {
        commission: 0.001,
        fractional: true,
        risk: algolab::risk::RiskConfig::standard(),
        ..BacktestConfig::default()
    };
    let params = Params::resolve(TECHNICAL_PARAMS, &[]).unwrap();
    let mut s = Technical::new(&params).unwrap();
    let r = run_backtest(bars, &mut s, &cfg).unwrap();
    let eq = *r.equity.last().unwrap();
    (r.trades.len(), eq.to_bits(), r.events.len())
}

#[test]
fn technical_on_eurusd_is_pinned() {
    let bars = algolab::data::load(&dataset("EURUSD.csv")).unwrap();
    let got = run(&bars);
    eprintln!("eurusd {got:?} equity {}", f64::from_bits(got.1));
    assert_eq!(got, PIN_EURUSD);
}

#[test]
fn technical_on_lcg_walk_is_pinned() {
    let bars = algolab::data::lcg_walk(200_000, 42).unwrap();
    let got = run(&bars);
    eprintln!("lcg {got:?} equity {}", f64::from_bits(got.1));
    assert_eq!(got, PIN_LCG);
}

const PIN_EURUSD: (usize, u64, usize) = (374, 4666658310124416273, 862);
const PIN_LCG: (usize, u64, usize) = (11821, 4666564808843004924, 40122);
