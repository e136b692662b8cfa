//! Search spaces: dimensions parsed from `--grid` text, the exhaustive grid over them in a
//! fixed order, and simple pairwise constraints (`fast<slow`).
//!
//! Grammar of one dimension (both range ends inclusive):
//! - `name=lo..hi` and `name=lo..hi:step` with integers → [`DimKind::Int`] (step 1 by default);
//! - the same with a decimal point or exponent anywhere → [`DimKind::Float`]; without a step
//!   the range is continuous (samplers only), `name=lo..hi:log` is continuous and log-uniform;
//! - `name=true,false` → [`DimKind::Bool`]; any other comma list (`name=5,10,20`, `name=7`)
//!   → [`DimKind::Choice`].
//!
//! Discrete values are `lo + i·step` (never accumulated), clamped to `hi` against rounding.

use super::constraint::{Constraint, parse_f64, satisfies_all};
use crate::indicators::ParamError;
use crate::strategy::ParamValue;

pub use super::constraint::Candidate;

/// The most candidates an exhaustive grid may hold.
pub const MAX_GRID: u64 = 1_000_000_000;

/// A dimension's type and range.
#[derive(Debug, Clone, PartialEq)]
pub enum DimKind {
    /// Integers `lo, lo+step, …, ≤ hi`.
    Int {
        /// First value.
        lo: i64,
        /// Upper bound (inclusive).
        hi: i64,
        /// Step, > 0.
        step: i64,
    },
    /// Floats: `lo + i·step ≤ hi` with a step, else the continuous interval `[lo, hi]`.
    Float {
        /// Lower bound.
        lo: f64,
        /// Upper bound (inclusive).
        hi: f64,
        /// Step, > 0; `None` for a continuous range.
        step: Option<f64>,
        /// Log-uniform (continuous only, `lo > 0`).
        log: bool,
    },
    /// `false` or `true`.
    Bool,
    /// One of a listed set of values, in the order given.
    Choice(Vec<ParamValue>),
}

/// A named dimension of a search space.
#[derive(Debug, Clone, PartialEq)]
pub struct Dim {
    /// Parameter name, as `--param` spells it.
    pub name: String,
    /// Type and range.
    pub kind: DimKind,
}

impl Dim {
    /// Number of values of a discrete dimension; `None` for a continuous float range.
    pub fn n_values(&self) -> Option<u64> {
        match &self.kind {
            DimKind::Int { lo, hi, step } => Some(((hi - lo) / step) as u64 + 1),
            DimKind::Float {
                lo,
                hi,
                step: Some(s),
                ..
            } => Some(float_steps(*lo, *hi, *s) + 1),
            DimKind::Float { step: None, .. } => None,
            DimKind::Bool => Some(2),
            DimKind::Choice(v) => Some(v.len() as u64),
        }
    }

    /// Value number `i` of a discrete dimension (`i < n_values()`, clamped otherwise); for a
    /// continuous range, `lo`.
    pub fn value_at(&self, i: u64) -> ParamValue {
        let last = self.n_values().map_or(0, |n| n.saturating_sub(1));
        let i = i.min(last);
        match &self.kind {
            DimKind::Int { lo, step, .. } => ParamValue::Int(lo + i as i64 * step),
            DimKind::Float {
                lo,
                hi,
                step: Some(s),
                ..
            } => ParamValue::Float((lo + i as f64 * s).min(*hi)),
            DimKind::Float { lo, step: None, .. } => ParamValue::Float(*lo),
            DimKind::Bool => ParamValue::Bool(i == 1),
            DimKind::Choice(v) => v.get(i as usize).copied().unwrap_or(ParamValue::Int(0)),
        }
    }

    /// Index of the discrete value nearest to `v` (exact match first for choices); `None`
    /// for a continuous range.
    pub fn index_of(&self, v: ParamValue) -> Option<u64> {
        let last = self.n_values()?.saturating_sub(1);
        let i = match &self.kind {
            DimKind::Int { lo, step, .. } => {
                ((v.as_f64() - *lo as f64) / *step as f64).round().max(0.0) as u64
            }
            DimKind::Float {
                lo, step: Some(s), ..
            } => ((v.as_f64() - lo) / s).round().max(0.0) as u64,
            DimKind::Float { step: None, .. } => return None,
            DimKind::Bool => u64::from(v.as_bool()),
            DimKind::Choice(vals) => match vals.iter().position(|c| *c == v) {
                Some(p) => p as u64,
                None => nearest(vals, v.as_f64()),
            },
        };
        Some(i.min(last))
    }
}

/// Position of the value in `vals` nearest to `x` (first on ties).
fn nearest(vals: &[ParamValue], x: f64) -> u64 {
    let mut best = (0usize, f64::INFINITY);
    for (i, c) in vals.iter().enumerate() {
        let d = (c.as_f64() - x).abs();
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0 as u64
}

/// Number of whole steps from `lo` to `hi` (tolerating rounding just below a whole number).
fn float_steps(lo: f64, hi: f64, step: f64) -> u64 {
    let r = (hi - lo) / step;
    (r + 1e-9 * r.abs().max(1.0)).floor().max(0.0) as u64
}

/// Parse one `--grid` dimension (`fast=5..29`, `k=0.5..2.0:0.25`, `long_only=true,false`).
///
/// # Errors
/// [`ParamError`] (exit 2) naming the text: no `=`, an empty name, a non-numeric or
/// non-finite bound, a reversed range, a zero or negative step, `:log` on integers or with
/// `lo <= 0`, or an empty list.
pub fn parse_grid(text: &str) -> Result<Dim, ParamError> {
    let (name, spec) = match text.split_once('=') {
        Some((n, s)) if !n.trim().is_empty() && !s.trim().is_empty() => (n.trim(), s.trim()),
        _ => {
            return Err(ParamError::new(
                "grid",
                text,
                "name=lo..hi[:step] or name=a,b,…",
            ));
        }
    };
    let bad = |why: &str| ParamError::new(name, spec, why);
    let kind = if let Some((lo_s, rest)) = spec.split_once("..") {
        let (hi_s, opt) = match rest.split_once(':') {
            Some((h, o)) => (h.trim(), Some(o.trim())),
            None => (rest.trim(), None),
        };
        let lo_s = lo_s.trim();
        let is_float = [lo_s, hi_s, opt.unwrap_or("")]
            .iter()
            .any(|s| s.contains(['.', 'e', 'E']));
        if opt == Some("log") || is_float {
            let lo = parse_f64(lo_s).ok_or_else(|| bad("lo is not a finite number"))?;
            let hi = parse_f64(hi_s).ok_or_else(|| bad("hi is not a finite number"))?;
            if lo > hi {
                return Err(bad("lo <= hi (the range is reversed)"));
            }
            match opt {
                None => DimKind::Float {
                    lo,
                    hi,
                    step: None,
                    log: false,
                },
                Some("log") if lo > 0.0 => DimKind::Float {
                    lo,
                    hi,
                    step: None,
                    log: true,
                },
                Some("log") => return Err(bad("log range needs lo > 0")),
                Some(s) => {
                    let step = parse_f64(s).ok_or_else(|| bad("step is not a finite number"))?;
                    if step <= 0.0 {
                        return Err(bad("step must be > 0"));
                    }
                    DimKind::Float {
                        lo,
                        hi,
                        step: Some(step),
                        log: false,
                    }
                }
            }
        } else {
            let lo: i64 = lo_s.parse().map_err(|_| bad("lo is not an integer"))?;
            let hi: i64 = hi_s.parse().map_err(|_| bad("hi is not an integer"))?;
            if lo > hi {
                return Err(bad("lo <= hi (the range is reversed)"));
            }
            let step: i64 = match opt {
                None => 1,
                Some(s) => s.parse().map_err(|_| bad("step is not an integer"))?,
            };
            if step <= 0 {
                return Err(bad("step must be > 0"));
            }
            hi.checked_sub(lo).ok_or_else(|| bad("range too wide"))?;
            DimKind::Int { lo, hi, step }
        }
    } else {
        let mut vals: Vec<ParamValue> = Vec::new();
        for item in spec.split(',') {
            let v = parse_value(item.trim())
                .ok_or_else(|| bad("list items must be integers, numbers or true/false"))?;
            if !vals.contains(&v) {
                vals.push(v);
            }
        }
        let all_bool = vals.iter().all(|v| matches!(v, ParamValue::Bool(_)));
        if all_bool && vals.len() == 2 {
            DimKind::Bool
        } else {
            DimKind::Choice(vals)
        }
    };
    let dim = Dim {
        name: name.to_string(),
        kind,
    };
    if dim.n_values().is_some_and(|n| n > MAX_GRID) {
        return Err(bad("too many values"));
    }
    Ok(dim)
}

/// A list item: bool, then integer, then finite float.
fn parse_value(s: &str) -> Option<ParamValue> {
    match s {
        "true" => Some(ParamValue::Bool(true)),
        "false" => Some(ParamValue::Bool(false)),
        _ => s
            .parse::<i64>()
            .ok()
            .map(ParamValue::Int)
            .or_else(|| parse_f64(s).map(ParamValue::Float)),
    }
}

/// Check a space built by hand as [`parse_grid`] checks text: unique names, `lo <= hi`,
/// finite bounds, steps > 0, `lo > 0` for log ranges, non-empty choice lists.
///
/// # Errors
/// [`ParamError`] naming the first bad dimension.
pub fn check_space(dims: &[Dim]) -> Result<(), ParamError> {
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].iter().any(|e| e.name == d.name) {
            return Err(ParamError::new("grid", &d.name, "each name at most once"));
        }
        let ok = match &d.kind {
            DimKind::Int { lo, hi, step } => lo <= hi && *step > 0 && hi.checked_sub(*lo).is_some(),
            DimKind::Float { lo, hi, step, log } => {
                lo.is_finite()
                    && hi.is_finite()
                    && lo <= hi
                    && step.is_none_or(|s| s.is_finite() && s > 0.0)
                    && (!log || (*lo > 0.0 && step.is_none()))
            }
            DimKind::Bool => true,
            DimKind::Choice(v) => !v.is_empty(),
        };
        if !ok {
            return Err(ParamError::new(
                &d.name,
                format!("{:?}", d.kind),
                "a valid range",
            ));
        }
    }
    Ok(())
}

/// The exhaustive grid over discrete dimensions, in lexicographic order by dimension order:
/// the first dimension varies slowest, the last fastest (nested loops).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    dims: Vec<Dim>,
    sizes: Vec<u64>,
    len: u64,
}

impl Grid {
    /// The grid over `dims`.
    ///
    /// # Errors
    /// [`ParamError`] for a continuous dimension (no step), a repeated name, or more than
    /// [`MAX_GRID`] points.
    pub fn new(dims: &[Dim]) -> Result<Grid, ParamError> {
        check_space(dims)?;
        let mut sizes = Vec::with_capacity(dims.len());
        let mut len: u64 = 1;
        for d in dims {
            let n = d.n_values().ok_or_else(|| {
                ParamError::new(
                    &d.name,
                    "continuous range",
                    "a step (lo..hi:step) for a grid",
                )
            })?;
            len = len
                .checked_mul(n)
                .filter(|l| *l <= MAX_GRID)
                .ok_or_else(|| ParamError::new("grid", "size", "at most 1e9 candidates"))?;
            sizes.push(n);
        }
        Ok(Grid {
            dims: dims.to_vec(),
            sizes,
            len,
        })
    }

    /// All candidates of `dims` in grid order.
    ///
    /// # Errors
    /// As [`Grid::new`].
    pub fn cartesian(dims: &[Dim]) -> Result<impl Iterator<Item = Candidate>, ParamError> {
        let g = Grid::new(dims)?;
        Ok((0..g.len).map(move |i| g.candidate(i)))
    }

    /// Number of candidates.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when some dimension has no value (an empty choice list).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Candidate number `i` in grid order (mixed-radix decoding, last dimension fastest).
    pub fn candidate(&self, mut i: u64) -> Candidate {
        let mut idx = vec![0u64; self.dims.len()];
        for (k, n) in self.sizes.iter().enumerate().rev() {
            idx[k] = i % n.max(&1);
            i /= n.max(&1);
        }
        self.dims
            .iter()
            .zip(idx)
            .map(|(d, j)| (d.name.clone(), d.value_at(j)))
            .collect()
    }

    /// The candidates that satisfy every constraint, in grid order.
    pub fn feasible(&self, constraints: &[Constraint]) -> Vec<Candidate> {
        (0..self.len)
            .map(|i| self.candidate(i))
            .filter(|c| satisfies_all(constraints, c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(d: &Dim) -> Vec<ParamValue> {
        (0..d.n_values().unwrap()).map(|i| d.value_at(i)).collect()
    }

    #[test]
    fn int_range_is_inclusive_with_default_step_one() {
        let d = parse_grid("fast=5..29").unwrap();
        assert_eq!(d.name, "fast");
        assert_eq!(
            d.kind,
            DimKind::Int {
                lo: 5,
                hi: 29,
                step: 1
            }
        );
        assert_eq!(d.n_values(), Some(25));
        assert_eq!(d.value_at(24), ParamValue::Int(29));
    }

    #[test]
    fn int_range_with_step_stops_at_or_below_hi() {
        let d = parse_grid("slow=10..68:2").unwrap();
        assert_eq!(d.n_values(), Some(30));
        assert_eq!(d.value_at(29), ParamValue::Int(68));
        let d = parse_grid("slow=10..69:4").unwrap();
        assert_eq!(values(&d).last(), Some(&ParamValue::Int(66)));
    }

    #[test]
    fn float_range_values_are_lo_plus_i_step() {
        let d = parse_grid("k=0.5..2.0:0.25").unwrap();
        let v: Vec<f64> = values(&d).iter().map(ParamValue::as_f64).collect();
        assert_eq!(v, vec![0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]);
        // (0.3-0.1)/0.1 = 1.9999999999999998: three values, the last clamped to hi.
        let d = parse_grid("k=0.1..0.3:0.1").unwrap();
        let v: Vec<f64> = values(&d).iter().map(ParamValue::as_f64).collect();
        assert_eq!(v, vec![0.1, 0.2, 0.30000000000000004_f64.min(0.3)]);
        // 0.1 + 2*0.1 is computed directly, not by adding 0.1 twice.
        let d = parse_grid("k=0.1..1.0:0.1").unwrap();
        assert_eq!(d.n_values(), Some(10));
        assert_eq!(d.value_at(7).as_f64(), 0.1 + 7.0 * 0.1);
    }

    #[test]
    fn bool_and_choice_lists() {
        assert_eq!(
            parse_grid("long_only=true,false").unwrap().kind,
            DimKind::Bool
        );
        let d = parse_grid("long_only=false,true").unwrap();
        assert_eq!(
            values(&d),
            vec![ParamValue::Bool(false), ParamValue::Bool(true)]
        );
        let d = parse_grid("n=5,10,2.5,10").unwrap();
        assert_eq!(
            d.kind,
            DimKind::Choice(vec![
                ParamValue::Int(5),
                ParamValue::Int(10),
                ParamValue::Float(2.5)
            ])
        );
        assert_eq!(parse_grid("x=7").unwrap().n_values(), Some(1));
    }

    #[test]
    fn continuous_and_log_ranges_parse_but_have_no_grid() {
        let d = parse_grid("k=0.5..2").unwrap();
        assert_eq!(d.n_values(), None);
        let d = parse_grid("lr=1e-4..1e-1:log").unwrap();
        assert!(matches!(d.kind, DimKind::Float { log: true, .. }));
        let e = Grid::new(&[d]).unwrap_err();
        assert!(e.to_string().contains("lr"), "{e}");
    }

    #[test]
    fn negative_bounds_parse() {
        let d = parse_grid("x=-10..10:5").unwrap();
        let v: Vec<i64> = values(&d).iter().map(ParamValue::as_i64).collect();
        assert_eq!(v, vec![-10, -5, 0, 5, 10]);
    }

    #[test]
    fn bad_grids_are_param_errors() {
        for bad in [
            "fast",
            "=1..2",
            "fast=",
            "fast=29..5",
            "fast=5..29:0",
            "fast=5..29:-1",
            "k=0.5..2.0:0",
            "k=2.0..0.5:0.1",
            "fast=a..b",
            "fast=5..x",
            "k=0.5..nan",
            "k=0..1:log",
            "k=1..x:log",
            "n=1,foo",
        ] {
            assert!(parse_grid(bad).is_err(), "{bad} should fail");
        }
        let e = parse_grid("fast=29..5").unwrap_err();
        assert!(e.to_string().contains("29..5"), "{e}");
    }

    #[test]
    fn cartesian_is_lexicographic_by_dim_order() {
        let dims = [
            parse_grid("b=1..2").unwrap(),
            parse_grid("a=true,false").unwrap(),
        ];
        let got: Vec<(i64, bool)> = Grid::cartesian(&dims)
            .unwrap()
            .map(|c| (c["b"].as_i64(), c["a"].as_bool()))
            .collect();
        assert_eq!(got, vec![(1, false), (1, true), (2, false), (2, true)]);
    }

    #[test]
    fn repeated_names_are_rejected() {
        let dims = [parse_grid("a=1..2").unwrap(), parse_grid("a=3..4").unwrap()];
        assert!(Grid::new(&dims).is_err());
    }

    #[test]
    fn index_of_inverts_value_at() {
        let d = parse_grid("k=0.5..2.0:0.25").unwrap();
        for i in 0..7 {
            assert_eq!(d.index_of(d.value_at(i)), Some(i));
        }
        let d = parse_grid("n=5,10,20").unwrap();
        assert_eq!(d.index_of(ParamValue::Int(10)), Some(1));
        assert_eq!(d.index_of(ParamValue::Float(19.0)), Some(2));
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_int_grid_is_inclusive_and_in_range(lo in -50i64..50, span in 0i64..100, step in 1i64..9) {
            let d = parse_grid(&format!("x={lo}..{}:{step}", lo + span)).unwrap();
            let n = d.n_values().unwrap();
            prop_assert_eq!(n, (span / step) as u64 + 1);
            let last = d.value_at(n - 1).as_i64();
            prop_assert!(last <= lo + span && last + step > lo + span);
            for i in 0..n {
                prop_assert_eq!(d.index_of(d.value_at(i)), Some(i));
            }
        }

        #[test]
        fn prop_float_grid_stays_within_bounds(lo in -10.0f64..10.0, span in 0.0f64..10.0, step in 0.01f64..3.0) {
            let hi = lo + span;
            let d = Dim { name: "k".into(), kind: DimKind::Float { lo, hi, step: Some(step), log: false } };
            let n = d.n_values().unwrap();
            for i in 0..n {
                let v = d.value_at(i).as_f64();
                prop_assert!(v >= lo && v <= hi);
                prop_assert_eq!(d.index_of(d.value_at(i)), Some(i));
            }
        }

        #[test]
        fn prop_grid_decoding_is_row_major(a in 1u64..6, b in 1u64..6) {
            let dims = [
                parse_grid(&format!("a=1..{a}")).unwrap(),
                parse_grid(&format!("b=1..{b}")).unwrap(),
            ];
            let g = Grid::new(&dims).unwrap();
            prop_assert_eq!(g.len(), a * b);
            for i in 0..g.len() {
                let c = g.candidate(i);
                prop_assert_eq!(c["a"].as_i64() as u64, i / b + 1);
                prop_assert_eq!(c["b"].as_i64() as u64, i % b + 1);
            }
        }
    }
}
