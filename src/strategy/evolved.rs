//! The `evolved` strategy: a [`Genome`] from `algolab evolve` run as an ordinary strategy.
//!
//! Each bar it feeds `hist.last()` to its own streaming [`FeatureSet`] (so it must be driven
//! once per bar, in order, as the engine does) and applies [`Compiled::decide`], the same
//! function the GA's lean evaluator calls on the shared feature table, so a backtest of an
//! evolved genome trades exactly as the GA scored it (a test below checks equity bit for
//! bit). Entries are `Sizing::EquityFrac(size_frac)` market orders with the genome's
//! ATR-multiple stop and take-profit.
//!
//! Built from a genome ([`Evolved::from_genome`]), not from `--param` values: the CLI
//! resolves `--param id=N` (a stored genome) or `--strategy-file FILE.json` to a genome.

use crate::ai::evolver::features::{FeatureSet, Row};
use crate::ai::evolver::genome::{Compiled, Decision, Genome, GenomeError, NAN_ROW};
use crate::core::order::{Entry, Intent, OrderKind, PositionView, Sizing};
use crate::persist::StateError;
use crate::strategy::{History, ParamKind, ParamSpec, ParamValue, Params, Strategy};

/// The `evolved` strategy's parameter space: the id of a stored genome.
pub const EVOLVED_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "id",
    kind: ParamKind::Int {
        min: 0,
        max: i64::MAX,
    },
    default: ParamValue::Int(0),
    doc: "id of a genome stored by `algolab evolve` (see `algolab evolve --list`)",
}];

/// What [`Evolved`] saves: the genome (recompiled on load) and the streaming features.
#[derive(serde::Serialize, serde::Deserialize)]
struct EvolvedState {
    genome: Genome,
    features: FeatureSet,
    #[serde(with = "crate::persist::float_array")]
    prev: Row,
    id: Option<i64>,
}

/// A genome as a strategy.
#[derive(Debug, Clone)]
pub struct Evolved {
    genome: Genome,
    compiled: Compiled,
    features: FeatureSet,
    prev: Row,
    id: Option<i64>,
}

impl Evolved {
    /// The strategy of `genome` (validated).
    ///
    /// # Errors
    /// [`GenomeError`] when the genome breaks [`Genome::validate`].
    pub fn from_genome(genome: Genome) -> Result<Self, GenomeError> {
        genome.validate()?;
        let features = FeatureSet::new().map_err(|e| GenomeError(format!("feature menu: {e}")))?;
        Ok(Evolved {
            compiled: genome.compile(),
            genome,
            features,
            prev: NAN_ROW,
            id: None,
        })
    }

    /// Record the stored genome's id (reported in [`Strategy::params`]).
    pub fn with_id(mut self, id: i64) -> Self {
        self.id = Some(id);
        self
    }

    /// The genome.
    pub fn genome(&self) -> &Genome {
        &self.genome
    }

    /// The strategy an `Evolved`'s [`Strategy::save_state`] describes: its genome,
    /// recompiled, with the feature state and id it had.
    ///
    /// # Errors
    /// [`StateError::Json`] when the state does not decode or the genome is invalid.
    pub fn from_state(state: &serde_json::Value) -> Result<Self, StateError> {
        let st: EvolvedState = crate::persist::from_value(state)?;
        let mut fresh =
            Evolved::from_genome(st.genome).map_err(|e| StateError::Json(e.to_string()))?;
        fresh.features = st.features;
        fresh.prev = st.prev;
        fresh.id = st.id;
        Ok(fresh)
    }
}

impl Strategy for Evolved {
    fn name(&self) -> &str {
        "evolved"
    }

    fn on_bar(&mut self, hist: &History<'_>, pos: &PositionView) -> Intent {
        let bar = hist.last();
        let row = self.features.update(&bar);
        let decision = self
            .compiled
            .decide(&self.prev, &row, pos.side, pos.bars_held);
        let intent = match decision {
            Decision::Hold => Intent::Hold,
            Decision::Exit => Intent::Exit { frac: 1.0 },
            Decision::Enter(side) => {
                let (stop, take_profit) = self.compiled.levels(side, bar.close, &row);
                Intent::Enter(Entry {
                    side,
                    sizing: Sizing::EquityFrac(self.compiled.size_frac()),
                    kind: OrderKind::Market,
                    stop,
                    take_profit,
                    atr: None,
                })
            }
        };
        self.prev = row;
        intent
    }

    fn reset(&mut self) {
        self.features.reset();
        self.prev = NAN_ROW;
    }

    fn save_state(&self) -> Result<serde_json::Value, StateError> {
        crate::persist::to_value(&EvolvedState {
            genome: self.genome.clone(),
            features: self.features.clone(),
            prev: self.prev,
            id: self.id,
        })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), StateError> {
        *self = Evolved::from_state(state)?;
        Ok(())
    }

    fn params(&self) -> Params {
        let mut p = Params::default();
        if let Some(id) = self.id {
            p.0.insert("id".into(), ParamValue::Int(id));
        }
        p
    }

    fn warmup_bars(&self) -> usize {
        self.features.warmup_bars()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::evolver::features::{FeatureRanges, FeatureTable};
    use crate::ai::evolver::ops::random_genome;
    use crate::core::order::ExitReason;
    use crate::engine::fast::genome::{LeanConfig, run_lean};
    use crate::engine::{BacktestConfig, run_backtest};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The engine driving `Evolved` and the lean evaluator agree bit for bit on equity and
    /// on every trade, over a sub-window with warm-up bars before it.
    fn check_equal(genome: &Genome, bars: &crate::data::Bars, cfg: &BacktestConfig) -> usize {
        let (start, end) = (250, bars.len() - 30);
        let ts = bars.ts_ms();
        let bt = BacktestConfig {
            from_ts_ms: Some(ts[start]),
            to_ts_ms: Some(ts[end - 1]),
            ..*cfg
        };
        let mut s = Evolved::from_genome(genome.clone()).unwrap();
        let res = run_backtest(bars, &mut s, &bt).unwrap();
        let table = FeatureTable::new(bars).unwrap();
        let lean_cfg = LeanConfig {
            cash: cfg.cash,
            commission: cfg.commission,
            slippage: cfg.slippage,
            fractional: cfg.fractional,
            min_qty: cfg.min_qty,
            min_notional: cfg.min_notional,
            min_order_cost: cfg.min_order_cost(),
        };
        let lean = run_lean(&genome.compile(), &table, bars, &lean_cfg, start, end);
        assert_eq!(res.equity.len(), lean.equity.len());
        for (i, (a, b)) in res.equity.iter().zip(&lean.equity).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "equity at bar {}: {a} vs {b}",
                start + i
            );
        }
        assert_eq!(res.trades.len(), lean.trades.len(), "{genome}");
        for (a, b) in res.trades.iter().zip(&lean.trades) {
            assert_eq!(a.side, b.side);
            assert_eq!((a.entry_bar, a.exit_bar), (b.entry_bar, b.exit_bar));
            assert_eq!(a.qty.to_bits(), b.qty.to_bits());
            assert_eq!(a.entry_price.to_bits(), b.entry_price.to_bits());
            assert_eq!(a.exit_price.to_bits(), b.exit_price.to_bits());
            assert_eq!(a.pnl.to_bits(), b.pnl.to_bits());
            assert_eq!(a.exit_reason == ExitReason::Open, b.open);
        }
        res.trades.len()
    }

    #[test]
    fn lean_evaluator_equals_the_engine_bit_for_bit() {
        let bars = crate::testutil::random_walk(1500, 11);
        let table = FeatureTable::new(&bars).unwrap();
        let ranges = FeatureRanges::measure(&table.rows()[..900]);
        let cfgs = [
            BacktestConfig {
                fractional: true,
                ..BacktestConfig::default()
            },
            BacktestConfig {
                commission: 0.001,
                slippage: 0.0005,
                ..BacktestConfig::default()
            },
            // minimum order rules: small entries refused, a poor run halts
            BacktestConfig {
                fractional: true,
                commission: 0.001,
                min_notional: 3_000.0,
                min_qty: 5.0,
                ..BacktestConfig::default()
            },
        ];
        let mut total = 0;
        let mut reasons = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let g = random_genome(&mut ChaCha8Rng::seed_from_u64(seed), &ranges);
            for cfg in &cfgs {
                total += check_equal(&g, &bars, cfg);
            }
            let mut s = Evolved::from_genome(g.clone()).unwrap();
            let r = run_backtest(&bars, &mut s, &cfgs[1]).unwrap();
            reasons.extend(r.trades.iter().map(|t| format!("{:?}", t.exit_reason)));
        }
        assert!(
            total > 100,
            "only {total} trades: the test would prove little"
        );
        // every exit path was exercised
        for r in ["Signal", "Flip", "StopLoss", "TakeProfit"] {
            assert!(reasons.contains(r), "{r} missing from {reasons:?}");
        }
    }

    #[test]
    fn decides_like_the_genome_and_resets() {
        let g = crate::ai::evolver::genome::tests::sample();
        let mut s = Evolved::from_genome(g).unwrap().with_id(7);
        assert_eq!(s.name(), "evolved");
        assert_eq!(s.warmup_bars(), 199);
        assert_eq!(s.params().usize_or("id", 0), 7);
        let bars = crate::testutil::random_walk(300, 1);
        let pos = PositionView::default();
        let a: Vec<Intent> = (0..300)
            .map(|t| s.on_bar(&History::new(&bars, t), &pos))
            .collect();
        s.reset();
        let b: Vec<Intent> = (0..300)
            .map(|t| s.on_bar(&History::new(&bars, t), &pos))
            .collect();
        assert_eq!(a, b);
    }
}
