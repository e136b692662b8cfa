//! The genome: a trading rule made of genes on the [`super::features`] menu, and the one
//! decision function that both the lean evaluator and the `evolved` strategy call.
//!
//! A [`Gene`] is `feature op threshold` with a weight in (0, 1] and an on/off switch. Gene
//! groups: entry-long, entry-short, exit and filter, plus [`RiskGenes`].
//!
//! The rule, exactly ([`Genome::decide`]):
//! - a gene is true when its comparison holds: `<`, `>`, *crosses above* (`prev ≤ th <
//!   cur`), *crosses below* (`prev ≥ th > cur`); a NaN value (warm-up) is false;
//! - an entry or exit group *fires* when it has an active gene and the weights of its true
//!   active genes sum to at least half the weights of its active genes
//!   (`Σ w·[true] ≥ 0.5 · Σ w`);
//! - the filters *pass* when every active filter gene is true (no active filter: pass);
//! - the entry side is long when the filters pass and the long group fires but the short
//!   group does not (short likewise); both or neither: no entry;
//! - flat: enter the entry side; positioned: enter the opposite entry side (a flip), else
//!   exit when the exit group fires, else hold;
//! - entries are `size_frac` of equity at market, with a stop `stop_atr` ATR(14) away and a
//!   take-profit `take_profit_atr` ATR(14) away (0 = none; a level that would not be
//!   positive and on the right side of the close is left out).
//!
//! `bars_held` genes are allowed in the exit group only, with `<` or `>`.

use std::fmt;

use super::features::{ATR_COL, Feature, FeatureRanges, Row};
use crate::core::order::Side;

/// A gene's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `value < threshold`.
    Lt,
    /// `value > threshold`.
    Gt,
    /// `prev ≤ threshold < value`.
    CrossesAbove,
    /// `prev ≥ threshold > value`.
    CrossesBelow,
}

impl Op {
    /// All comparisons.
    pub const ALL: [Op; 4] = [Op::Lt, Op::Gt, Op::CrossesAbove, Op::CrossesBelow];

    /// Whether `value` (and the previous bar's `prev`) satisfies it against `th`.
    #[inline]
    pub fn holds(self, prev: f64, value: f64, th: f64) -> bool {
        match self {
            Op::Lt => value < th,
            Op::Gt => value > th,
            Op::CrossesAbove => prev <= th && value > th,
            Op::CrossesBelow => prev >= th && value < th,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Gt => ">",
            Op::CrossesAbove => "crosses above",
            Op::CrossesBelow => "crosses below",
        }
    }
}

/// One condition.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gene {
    /// Whether the gene takes part.
    pub active: bool,
    /// What it tests.
    pub feature: Feature,
    /// How.
    pub op: Op,
    /// Against what.
    pub threshold: f64,
    /// Its weight in its group's vote, in (0, 1].
    pub weight: f64,
}

/// Position size and protective levels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RiskGenes {
    /// Entry size, fraction of equity in (0, 1].
    pub size_frac: f64,
    /// Stop distance in ATR(14)s; 0 = no stop.
    pub stop_atr: f64,
    /// Take-profit distance in ATR(14)s; 0 = none.
    pub take_profit_atr: f64,
}

/// A whole rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Genome {
    /// Entry-long genes.
    pub long: Vec<Gene>,
    /// Entry-short genes.
    pub short: Vec<Gene>,
    /// Exit genes.
    pub exit: Vec<Gene>,
    /// Filter genes (must all hold for an entry).
    pub filter: Vec<Gene>,
    /// Size, stop and take-profit.
    pub risk: RiskGenes,
}

/// Gene slots per group in the genomes the GA makes.
pub const SLOTS: GroupSlots = GroupSlots {
    long: 4,
    short: 4,
    exit: 3,
    filter: 2,
};

/// Slot counts of the four groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSlots {
    /// Entry-long slots.
    pub long: usize,
    /// Entry-short slots.
    pub short: usize,
    /// Exit slots.
    pub exit: usize,
    /// Filter slots.
    pub filter: usize,
}

/// Most genes a group may hold (files written by hand included).
pub const MAX_GROUP_GENES: usize = 16;
/// Size fraction bounds.
pub const SIZE_RANGE: (f64, f64) = (0.05, 1.0);
/// Stop and take-profit distance bounds, ATRs.
pub const ATR_MULT_MAX: f64 = 20.0;

/// Which group a gene belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Entry long.
    Long,
    /// Entry short.
    Short,
    /// Exit.
    Exit,
    /// Filter.
    Filter,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Long => "long",
            Group::Short => "short",
            Group::Exit => "exit",
            Group::Filter => "filter",
        }
    }
}

/// A genome that breaks the rules of [`Genome::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid genome: {0}")]
pub struct GenomeError(pub String);

/// What a genome wants at a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    Hold,
    /// Enter (or flip into) this side.
    Enter(Side),
    /// Close the position.
    Exit,
}

/// A gene compiled for the hot loop: column, comparison, threshold, weight.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CGene {
    /// Table column, or `usize::MAX` for bars held.
    col: usize,
    op: Op,
    th: f64,
    w: f64,
}

/// One group's active genes and their total weight.
#[derive(Debug, Clone, PartialEq, Default)]
struct CGroup {
    genes: Vec<CGene>,
    total: f64,
}

const BARS_HELD_COL: usize = usize::MAX;

impl CGroup {
    fn new(genes: &[Gene]) -> Self {
        let genes: Vec<CGene> = genes
            .iter()
            .filter(|g| g.active)
            .map(|g| CGene {
                col: g.feature.column().unwrap_or(BARS_HELD_COL),
                op: g.op,
                th: g.threshold,
                w: g.weight,
            })
            .collect();
        let total = genes.iter().map(|g| g.w).sum();
        CGroup { genes, total }
    }

    #[inline]
    fn gene_holds(g: &CGene, prev: &Row, cur: &Row, held: f64) -> bool {
        if g.col == BARS_HELD_COL {
            g.op.holds(f64::NAN, held, g.th)
        } else {
            g.op.holds(prev[g.col], cur[g.col], g.th)
        }
    }

    /// The weighted vote (see the module doc).
    #[inline]
    fn fires(&self, prev: &Row, cur: &Row, held: f64) -> bool {
        if self.genes.is_empty() {
            return false;
        }
        let mut yes = 0.0;
        for g in &self.genes {
            if Self::gene_holds(g, prev, cur, held) {
                yes += g.w;
            }
        }
        yes >= 0.5 * self.total
    }

    #[inline]
    fn all_hold(&self, prev: &Row, cur: &Row) -> bool {
        self.genes
            .iter()
            .all(|g| Self::gene_holds(g, prev, cur, f64::NAN))
    }
}

/// A genome ready to decide fast: active genes only, weights summed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    long: CGroup,
    short: CGroup,
    exit: CGroup,
    filter: CGroup,
    risk: RiskGenes,
}

/// A row of NaNs: the "previous bar" of the first bar.
pub const NAN_ROW: Row = [f64::NAN; super::features::N_COLS];

impl Compiled {
    /// The decision at a bar with features `cur` (and the previous bar's `prev`), given the
    /// open position's side and bars held (see the module doc for the rule).
    #[inline]
    pub fn decide(&self, prev: &Row, cur: &Row, pos: Option<Side>, bars_held: usize) -> Decision {
        let long = self.long.fires(prev, cur, f64::NAN);
        let short = self.short.fires(prev, cur, f64::NAN);
        let entry = if long != short && self.filter.all_hold(prev, cur) {
            Some(if long { Side::Long } else { Side::Short })
        } else {
            None
        };
        match (pos, entry) {
            (None, Some(s)) => Decision::Enter(s),
            (None, None) => Decision::Hold,
            (Some(p), Some(s)) if s != p => Decision::Enter(s),
            (Some(_), _) => {
                if self.exit.fires(prev, cur, bars_held as f64) {
                    Decision::Exit
                } else {
                    Decision::Hold
                }
            }
        }
    }

    /// The entry size, fraction of equity.
    pub fn size_frac(&self) -> f64 {
        self.risk.size_frac
    }

    /// Stop and take-profit levels for an entry on `side` at `close` with the row's ATR.
    #[inline]
    pub fn levels(&self, side: Side, close: f64, row: &Row) -> (Option<f64>, Option<f64>) {
        let atr = row[ATR_COL];
        let s = side.sign();
        let level = |mult: f64, dir: f64| {
            if !(mult > 0.0 && atr > 0.0) {
                return None;
            }
            let l = close + dir * s * mult * atr;
            (l.is_finite() && l > 0.0 && dir * s * (l - close) > 0.0).then_some(l)
        };
        (
            level(self.risk.stop_atr, -1.0),
            level(self.risk.take_profit_atr, 1.0),
        )
    }
}

impl Genome {
    /// Check the rules: finite thresholds, weights in (0, 1], at most
    /// [`MAX_GROUP_GENES`] per group, `bars_held` only in exit genes with `<`/`>`, size in
    /// [`SIZE_RANGE`], stop and take-profit in `0..=ATR_MULT_MAX`.
    ///
    /// # Errors
    /// [`GenomeError`] naming the first broken rule.
    pub fn validate(&self) -> Result<(), GenomeError> {
        let bad = |s: String| Err(GenomeError(s));
        for (group, genes) in self.groups() {
            if genes.len() > MAX_GROUP_GENES {
                return bad(format!(
                    "{} genes in group {}; at most {MAX_GROUP_GENES}",
                    genes.len(),
                    group.name()
                ));
            }
            for g in genes {
                if !g.threshold.is_finite() {
                    return bad(format!("threshold {} of {}", g.threshold, g.feature));
                }
                if !(g.weight > 0.0 && g.weight <= 1.0) {
                    return bad(format!(
                        "weight {} of {}; must be in (0, 1]",
                        g.weight, g.feature
                    ));
                }
                if g.feature == Feature::BarsHeld
                    && (group != Group::Exit || !matches!(g.op, Op::Lt | Op::Gt))
                {
                    return bad(format!(
                        "bars_held in group {} with {:?}; only exit genes with < or >",
                        group.name(),
                        g.op
                    ));
                }
            }
        }
        let r = self.risk;
        if !(r.size_frac >= SIZE_RANGE.0 && r.size_frac <= SIZE_RANGE.1) {
            return bad(format!(
                "size_frac {}; must be in {}..={}",
                r.size_frac, SIZE_RANGE.0, SIZE_RANGE.1
            ));
        }
        for (name, v) in [
            ("stop_atr", r.stop_atr),
            ("take_profit_atr", r.take_profit_atr),
        ] {
            if !(0.0..=ATR_MULT_MAX).contains(&v) {
                return bad(format!("{name} {v}; must be in 0..={ATR_MULT_MAX}"));
            }
        }
        Ok(())
    }

    /// The four gene groups, in order.
    pub fn groups(&self) -> [(Group, &[Gene]); 4] {
        [
            (Group::Long, &self.long),
            (Group::Short, &self.short),
            (Group::Exit, &self.exit),
            (Group::Filter, &self.filter),
        ]
    }

    /// Compile for fast decisions.
    pub fn compile(&self) -> Compiled {
        Compiled {
            long: CGroup::new(&self.long),
            short: CGroup::new(&self.short),
            exit: CGroup::new(&self.exit),
            filter: CGroup::new(&self.filter),
            risk: self.risk,
        }
    }

    /// The genome as JSON.
    ///
    /// # Errors
    /// Never in practice (serde_json on plain data).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// A genome from JSON, validated.
    ///
    /// # Errors
    /// [`GenomeError`] for bad JSON or a genome that breaks [`Genome::validate`].
    pub fn from_json(text: &str) -> Result<Genome, GenomeError> {
        let g: Genome =
            serde_json::from_str(text).map_err(|e| GenomeError(format!("bad json: {e}")))?;
        g.validate()?;
        Ok(g)
    }

    /// A canonical key: equal for genomes that decide identically up to inactive genes'
    /// contents (used to measure diversity).
    pub fn key(&self) -> String {
        let mut s = String::new();
        for (group, genes) in self.groups() {
            s.push_str(group.name());
            for g in genes.iter().filter(|g| g.active) {
                s.push_str(&format!(
                    "|{:?}{:?}{:x}{:x}",
                    g.feature,
                    g.op,
                    g.threshold.to_bits(),
                    g.weight.to_bits()
                ));
            }
        }
        let r = self.risk;
        s.push_str(&format!(
            "|{:x}{:x}{:x}",
            r.size_frac.to_bits(),
            r.stop_atr.to_bits(),
            r.take_profit_atr.to_bits()
        ));
        s
    }

    /// Clamp every threshold into a padded range and every number into its bounds (used
    /// after mutation so the GA only makes valid genomes).
    pub fn clamp(&mut self, ranges: &FeatureRanges) {
        for genes in [
            &mut self.long,
            &mut self.short,
            &mut self.exit,
            &mut self.filter,
        ] {
            for g in genes.iter_mut() {
                let (lo, hi) = ranges.range(g.feature);
                let pad = 0.25 * (hi - lo);
                g.threshold = g.threshold.clamp(lo - pad, hi + pad);
                if g.feature == Feature::BarsHeld {
                    g.threshold = g.threshold.round().max(0.0);
                }
                g.weight = g.weight.clamp(0.05, 1.0);
            }
        }
        let r = &mut self.risk;
        r.size_frac = r.size_frac.clamp(SIZE_RANGE.0, SIZE_RANGE.1);
        r.stop_atr = r.stop_atr.clamp(0.0, ATR_MULT_MAX);
        r.take_profit_atr = r.take_profit_atr.clamp(0.0, ATR_MULT_MAX);
    }
}

/// A number for rule text: up to 3 decimals, trailing zeros dropped.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

impl fmt::Display for Gene {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.feature,
            self.op.symbol(),
            num(self.threshold)
        )
    }
}

/// A vote group as text, and whether it needs parentheses before `AND filters`: a single
/// gene as itself, `A OR B` when any one gene is half the weight, else
/// `≥50% of [A ×w, B ×w]`. (With two or more genes the vote never needs them all — the
/// lightest gene never outweighs all the others together — so there is no AND form.)
fn vote_text(genes: &[Gene]) -> Option<(String, bool)> {
    let active: Vec<&Gene> = genes.iter().filter(|g| g.active).collect();
    if active.is_empty() {
        return None;
    }
    let total: f64 = active.iter().map(|g| g.weight).sum();
    let min = active
        .iter()
        .map(|g| g.weight)
        .fold(f64::INFINITY, f64::min);
    let join = |sep: &str| {
        active
            .iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>()
            .join(sep)
    };
    if active.len() == 1 {
        return Some((join(""), false));
    }
    if min >= 0.5 * total {
        return Some((join(" OR "), true));
    }
    let parts: Vec<String> = active
        .iter()
        .map(|g| format!("{g} ×{}", num(g.weight)))
        .collect();
    Some((format!("≥50% of [{}]", parts.join(", ")), false))
}

impl fmt::Display for Genome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filters: Vec<String> = self
            .filter
            .iter()
            .filter(|g| g.active)
            .map(|g| g.to_string())
            .collect();
        let with_filters = |(text, parens): (String, bool)| {
            if filters.is_empty() {
                text
            } else if parens {
                format!("({text}) AND {}", filters.join(" AND "))
            } else {
                format!("{text} AND {}", filters.join(" AND "))
            }
        };
        let mut parts = Vec::new();
        for (genes, side) in [(&self.long, "LONG"), (&self.short, "SHORT")] {
            if let Some(t) = vote_text(genes) {
                parts.push(format!("{} → {side}", with_filters(t)));
            }
        }
        if parts.is_empty() {
            parts.push("never enters".into());
        }
        if let Some((t, _)) = vote_text(&self.exit) {
            parts.push(format!("{t} → EXIT"));
        }
        let r = self.risk;
        let mut risk = format!("size {}% of equity", num(r.size_frac * 100.0));
        if r.stop_atr > 0.0 {
            risk.push_str(&format!(", stop {} ATR", num(r.stop_atr)));
        }
        if r.take_profit_atr > 0.0 {
            risk.push_str(&format!(", take-profit {} ATR", num(r.take_profit_atr)));
        }
        parts.push(risk);
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ai::evolver::features::N_COLS;

    pub(crate) fn gene(feature: Feature, op: Op, threshold: f64, weight: f64) -> Gene {
        Gene {
            active: true,
            feature,
            op,
            threshold,
            weight,
        }
    }

    pub(crate) fn sample() -> Genome {
        Genome {
            long: vec![
                gene(Feature::Rsi14, Op::Lt, 28.0, 1.0),
                gene(Feature::MacdHistPct, Op::Gt, 0.1, 1.0),
            ],
            short: vec![Gene {
                active: false,
                ..gene(Feature::Rsi14, Op::Gt, 70.0, 1.0)
            }],
            exit: vec![gene(Feature::BarsHeld, Op::Gt, 40.0, 1.0)],
            filter: vec![gene(Feature::Adx14, Op::Gt, 22.0, 0.5)],
            risk: RiskGenes {
                size_frac: 0.5,
                stop_atr: 2.0,
                take_profit_atr: 3.5,
            },
        }
    }

    fn row(vals: &[(Feature, f64)]) -> Row {
        let mut r = [f64::NAN; N_COLS];
        for (f, v) in vals {
            r[f.column().unwrap()] = *v;
        }
        r
    }

    #[test]
    fn display_reads_as_a_rule() {
        // two genes of equal weight: either one is half the weight
        assert_eq!(
            sample().to_string(),
            "(RSI(14) < 28 OR MACD_hist% > 0.1) AND ADX(14) > 22 → LONG; BARS_HELD > 40 → EXIT; \
             size 50% of equity, stop 2 ATR, take-profit 3.5 ATR"
        );
        // a single gene: a plain condition
        let mut g = sample();
        g.long.truncate(1);
        assert!(
            g.to_string()
                .starts_with("RSI(14) < 28 AND ADX(14) > 22 → LONG;"),
            "{g}"
        );
        let mut g = sample();
        g.long[1].weight = 0.25;
        g.filter.clear();
        assert!(
            g.to_string()
                .starts_with("≥50% of [RSI(14) < 28 ×1, MACD_hist% > 0.1 ×0.25] → LONG"),
            "{g}"
        );
    }

    #[test]
    fn json_round_trips_exactly() {
        let mut g = sample();
        g.long[0].threshold = 28.123_456_789_012_345;
        let back = Genome::from_json(&g.to_json().unwrap()).unwrap();
        assert_eq!(back, g);
        assert_eq!(back.to_string(), g.to_string());
    }

    #[test]
    fn weighted_vote_needs_half_the_active_weight() {
        let mut g = sample();
        g.filter.clear();
        g.long[0].weight = 0.6; // RSI
        g.long[1].weight = 0.4; // MACD
        let c = g.compile();
        let prev = NAN_ROW;
        // only RSI true: 0.6 ≥ 0.5 → long
        let r = row(&[(Feature::Rsi14, 20.0), (Feature::MacdHistPct, -1.0)]);
        assert_eq!(c.decide(&prev, &r, None, 0), Decision::Enter(Side::Long));
        // only MACD true: 0.4 < 0.5 → hold
        let r = row(&[(Feature::Rsi14, 50.0), (Feature::MacdHistPct, 1.0)]);
        assert_eq!(c.decide(&prev, &r, None, 0), Decision::Hold);
        // NaN (warm-up) is false
        let r = row(&[(Feature::MacdHistPct, 1.0)]);
        assert_eq!(c.decide(&prev, &r, None, 0), Decision::Hold);
    }

    #[test]
    fn filters_must_all_pass_and_exit_uses_bars_held() {
        let c = sample().compile();
        let prev = NAN_ROW;
        let both = [(Feature::Rsi14, 20.0), (Feature::MacdHistPct, 1.0)];
        let mut vals = both.to_vec();
        vals.push((Feature::Adx14, 10.0));
        assert_eq!(c.decide(&prev, &row(&vals), None, 0), Decision::Hold);
        vals[2].1 = 30.0;
        assert_eq!(
            c.decide(&prev, &row(&vals), None, 0),
            Decision::Enter(Side::Long)
        );
        // long already: the long entry does not repeat; exit after 40 bars
        assert_eq!(
            c.decide(&prev, &row(&vals), Some(Side::Long), 40),
            Decision::Hold
        );
        assert_eq!(
            c.decide(&prev, &row(&vals), Some(Side::Long), 41),
            Decision::Exit
        );
        // short: the long entry flips
        assert_eq!(
            c.decide(&prev, &row(&vals), Some(Side::Short), 1),
            Decision::Enter(Side::Long)
        );
    }

    #[test]
    fn crosses_need_the_previous_bar_on_the_other_side() {
        assert!(Op::CrossesAbove.holds(0.0, 0.1, 0.0));
        assert!(!Op::CrossesAbove.holds(0.1, 0.2, 0.0));
        assert!(!Op::CrossesAbove.holds(f64::NAN, 0.2, 0.0));
        assert!(Op::CrossesBelow.holds(0.0, -0.1, 0.0));
        assert!(!Op::CrossesBelow.holds(-0.1, -0.2, 0.0));
    }

    #[test]
    fn levels_are_atr_multiples_on_the_right_side() {
        let c = sample().compile();
        let mut r = NAN_ROW;
        r[ATR_COL] = 2.0;
        // long at 100: stop 100 − 2·2 = 96, take-profit 100 + 3.5·2 = 107
        assert_eq!(c.levels(Side::Long, 100.0, &r), (Some(96.0), Some(107.0)));
        assert_eq!(c.levels(Side::Short, 100.0, &r), (Some(104.0), Some(93.0)));
        // a stop below zero is left out; no ATR yet: no levels
        r[ATR_COL] = 60.0;
        assert_eq!(c.levels(Side::Long, 100.0, &r).0, None);
        assert_eq!(c.levels(Side::Long, 100.0, &NAN_ROW), (None, None));
    }

    #[test]
    fn validation_rejects_broken_genomes() {
        let mut g = sample();
        g.long[0].weight = 0.0;
        assert!(g.validate().unwrap_err().to_string().contains("weight 0"));
        let mut g = sample();
        g.long[0].feature = Feature::BarsHeld;
        assert!(g.validate().is_err());
        let mut g = sample();
        g.risk.size_frac = 1.5;
        assert!(g.validate().is_err());
        assert!(Genome::from_json("{").is_err());
        assert!(sample().validate().is_ok());
    }
}
