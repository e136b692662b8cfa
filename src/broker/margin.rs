//! Isolated-margin maintenance rates and Binance USD-M liquidation prices.
//!
//! Maintenance margin is tiered by position notional, like Binance USD-M's BTCUSDT
//! brackets, or a flat rate. [`BTCUSDT_TIERS`] is a snapshot of Binance's published
//! BTCUSDT brackets (notional floor, max leverage, maintenance margin rate); the
//! maintenance amount `cum` of each bracket follows Binance's rule
//! `cum_n = cum_{n-1} + floor_n × (mmr_n − mmr_{n-1})`. Brackets change over time: pass
//! [`MaintenanceMargin::Flat`] or your own tiers for another market.
//!
//! Liquidation price for an isolated one-way position (Binance's documented formula):
//! `LP = (WB + cum − side·qty·EP) / (qty·MMR − side·qty)`, with `WB` the isolated wallet
//! balance (the position's margin), `side` +1 long / −1 short, `EP` the entry price and the
//! bracket chosen by the entry notional.

/// One maintenance-margin bracket.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MarginTier {
    /// Smallest notional of the bracket (quote currency).
    pub notional_floor: f64,
    /// Largest leverage allowed in the bracket.
    pub max_leverage: f64,
    /// Maintenance margin rate.
    pub mmr: f64,
}

/// Binance USD-M BTCUSDT brackets (snapshot; see the module doc).
pub const BTCUSDT_TIERS: &[MarginTier] = &[
    MarginTier {
        notional_floor: 0.0,
        max_leverage: 125.0,
        mmr: 0.004,
    },
    MarginTier {
        notional_floor: 50_000.0,
        max_leverage: 100.0,
        mmr: 0.005,
    },
    MarginTier {
        notional_floor: 500_000.0,
        max_leverage: 50.0,
        mmr: 0.01,
    },
    MarginTier {
        notional_floor: 8_000_000.0,
        max_leverage: 20.0,
        mmr: 0.025,
    },
    MarginTier {
        notional_floor: 50_000_000.0,
        max_leverage: 10.0,
        mmr: 0.05,
    },
    MarginTier {
        notional_floor: 80_000_000.0,
        max_leverage: 5.0,
        mmr: 0.10,
    },
    MarginTier {
        notional_floor: 100_000_000.0,
        max_leverage: 4.0,
        mmr: 0.125,
    },
    MarginTier {
        notional_floor: 120_000_000.0,
        max_leverage: 3.0,
        mmr: 0.15,
    },
    MarginTier {
        notional_floor: 200_000_000.0,
        max_leverage: 2.0,
        mmr: 0.25,
    },
    MarginTier {
        notional_floor: 300_000_000.0,
        max_leverage: 1.0,
        mmr: 0.50,
    },
];

/// How maintenance margin is computed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MaintenanceMargin {
    /// Tiered by notional, Binance USD-M BTCUSDT brackets.
    BinanceBtcUsdt,
    /// One rate for every notional (maintenance amount 0, no leverage cap beyond 125×).
    Flat(f64),
}

/// The bracket terms that apply to a position: rate, maintenance amount, max leverage.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bracket {
    /// Maintenance margin rate.
    pub mmr: f64,
    /// Maintenance amount (`cum`).
    pub cum: f64,
    /// Largest leverage allowed.
    pub max_leverage: f64,
}

impl MaintenanceMargin {
    /// The bracket for a position of `notional`.
    pub fn bracket(&self, notional: f64) -> Bracket {
        match *self {
            MaintenanceMargin::Flat(mmr) => Bracket {
                mmr,
                cum: 0.0,
                max_leverage: 125.0,
            },
            MaintenanceMargin::BinanceBtcUsdt => {
                let mut cum = 0.0;
                let mut prev_mmr = 0.0;
                let mut out = Bracket {
                    mmr: BTCUSDT_TIERS[0].mmr,
                    cum: 0.0,
                    max_leverage: BTCUSDT_TIERS[0].max_leverage,
                };
                for tier in BTCUSDT_TIERS {
                    cum += tier.notional_floor * (tier.mmr - prev_mmr);
                    prev_mmr = tier.mmr;
                    if notional >= tier.notional_floor {
                        out = Bracket {
                            mmr: tier.mmr,
                            cum,
                            max_leverage: tier.max_leverage,
                        };
                    } else {
                        break;
                    }
                }
                out
            }
        }
    }
}

/// Binance's isolated liquidation price: `(WB + cum − side·qty·EP) / (qty·MMR − side·qty)`
/// with `side_sign` +1 long / −1 short. `None` when it is not positive (the position cannot
/// be liquidated) or not finite.
pub fn liquidation_price(
    side_sign: f64,
    qty: f64,
    entry_price: f64,
    wallet_balance: f64,
    bracket: Bracket,
) -> Option<f64> {
    let lp = (wallet_balance + bracket.cum - side_sign * qty * entry_price)
        / (qty * bracket.mmr - side_sign * qty);
    (lp.is_finite() && lp > 0.0).then_some(lp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btcusdt_maintenance_amounts_follow_binance_table() {
        let m = MaintenanceMargin::BinanceBtcUsdt;
        // Binance's published cum for BTCUSDT brackets 1..=10
        let expected = [
            (10_000.0, 0.004, 0.0),
            (60_000.0, 0.005, 50.0),
            (600_000.0, 0.01, 2_550.0),
            (9_000_000.0, 0.025, 122_550.0),
            (60_000_000.0, 0.05, 1_372_550.0),
            (90_000_000.0, 0.10, 5_372_550.0),
            (110_000_000.0, 0.125, 7_872_550.0),
            (150_000_000.0, 0.15, 10_872_550.0),
            (250_000_000.0, 0.25, 30_872_550.0),
            (400_000_000.0, 0.50, 105_872_550.0),
        ];
        for (notional, mmr, cum) in expected {
            let b = m.bracket(notional);
            assert_eq!(b.mmr, mmr, "{notional}");
            assert!((b.cum - cum).abs() < 1e-6, "{notional}: {} vs {cum}", b.cum);
        }
        assert_eq!(m.bracket(49_999.0).max_leverage, 125.0);
    }

    #[test]
    fn liquidation_price_matches_hand_computed_binance_values() {
        let b = MaintenanceMargin::BinanceBtcUsdt.bracket(10_000.0);
        // long 0.1 BTC at 100 000, 10×: WB = 1 000
        // LP = (1000 + 0 − 10 000) / (0.1·0.004 − 0.1) = −9000 / −0.0996 = 90 361.445…
        let lp = liquidation_price(1.0, 0.1, 100_000.0, 1_000.0, b).unwrap();
        assert!((lp - 9_000.0 / 0.0996).abs() < 1e-6, "{lp}");
        // short 0.1 at 100 000, 10×: LP = (1000 + 10 000) / (0.0004 + 0.1) = 109 561.75…
        let lp = liquidation_price(-1.0, 0.1, 100_000.0, 1_000.0, b).unwrap();
        assert!((lp - 11_000.0 / 0.1004).abs() < 1e-6, "{lp}");
        // unleveraged long: WB = notional → LP ≤ 0 → none
        assert_eq!(liquidation_price(1.0, 0.1, 100_000.0, 10_000.0, b), None);
    }
}
