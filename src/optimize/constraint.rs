//! Constraints between parameters (`--constraint "fast<slow"`): `a OP b` with each side a
//! parameter name or a number, `OP` one of `<`, `<=`, `>`, `>=`, `==`, `!=`. Used to filter
//! the exhaustive grid and to reject sampler proposals.

use crate::indicators::ParamError;
use crate::strategy::ParamValue;

/// One point of a search space: a value per dimension name.
pub type Candidate = std::collections::BTreeMap<String, ParamValue>;

/// A finite f64, or `None`.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A comparison operator of a [`Constraint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// One side of a constraint: a parameter name or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A parameter's value.
    Param(String),
    /// A constant.
    Num(f64),
}

/// A constraint `a OP b` between parameters or constants (`fast<slow`, `k<=2.5`).
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// Left side.
    pub lhs: Operand,
    /// Operator.
    pub op: CmpOp,
    /// Right side.
    pub rhs: Operand,
}

impl Constraint {
    /// Parse `a<b`, `a<=b`, `a>b`, `a>=b`, `a==b` or `a!=b`; each side a name or a number.
    ///
    /// # Errors
    /// [`ParamError`] when there is no operator or a side is empty.
    pub fn parse(text: &str) -> Result<Constraint, ParamError> {
        let bad = || ParamError::new("constraint", text, "a<b, a<=b, a>b, a>=b, a==b or a!=b");
        let ops = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        let (pos, tok, op) = ops
            .iter()
            .filter_map(|(t, o)| text.find(t).map(|p| (p, *t, *o)))
            .min_by_key(|(p, t, _)| (*p, usize::MAX - t.len()))
            .ok_or_else(bad)?;
        let side = |s: &str| -> Result<Operand, ParamError> {
            let s = s.trim();
            if s.is_empty() || s.contains(['<', '>', '=', '!']) {
                return Err(bad());
            }
            Ok(match parse_f64(s) {
                Some(v) => Operand::Num(v),
                None => Operand::Param(s.to_string()),
            })
        };
        Ok(Constraint {
            lhs: side(&text[..pos])?,
            op,
            rhs: side(&text[pos + tok.len()..])?,
        })
    }

    /// The parameter names the constraint refers to.
    pub fn names(&self) -> Vec<&str> {
        [&self.lhs, &self.rhs]
            .into_iter()
            .filter_map(|o| match o {
                Operand::Param(n) => Some(n.as_str()),
                Operand::Num(_) => None,
            })
            .collect()
    }

    /// Check that every name the constraint uses is in `known`.
    ///
    /// # Errors
    /// [`ParamError`] naming the unknown parameter and listing the known ones.
    pub fn check_names(&self, known: &[&str]) -> Result<(), ParamError> {
        match self.names().into_iter().find(|n| !known.contains(n)) {
            None => Ok(()),
            Some(n) => Err(ParamError::new(
                "constraint",
                n,
                &format!("a parameter among: {}", known.join(", ")),
            )),
        }
    }

    /// Whether `c` satisfies the constraint (values compared as f64); false when a named
    /// parameter is missing from `c`.
    pub fn is_satisfied(&self, c: &Candidate) -> bool {
        let val = |o: &Operand| match o {
            Operand::Num(v) => Some(*v),
            Operand::Param(n) => c.get(n).map(ParamValue::as_f64),
        };
        let (Some(a), Some(b)) = (val(&self.lhs), val(&self.rhs)) else {
            return false;
        };
        match self.op {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
}

/// Whether `c` satisfies every constraint.
pub fn satisfies_all(constraints: &[Constraint], c: &Candidate) -> bool {
    constraints.iter().all(|k| k.is_satisfied(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::space::{Grid, parse_grid};

    #[test]
    fn constraint_filters_the_grid() {
        let dims = [
            parse_grid("fast=1..4").unwrap(),
            parse_grid("slow=2..4").unwrap(),
        ];
        let lt = Constraint::parse("fast<slow").unwrap();
        let g = Grid::new(&dims).unwrap();
        let got: Vec<(i64, i64)> = g
            .feasible(std::slice::from_ref(&lt))
            .iter()
            .map(|c| (c["fast"].as_i64(), c["slow"].as_i64()))
            .collect();
        assert_eq!(got, vec![(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]);
        let le = Constraint::parse(" fast <= slow ").unwrap();
        assert_eq!(le.op, CmpOp::Le);
        assert_eq!(g.feasible(&[le]).len(), 9);
    }

    #[test]
    fn constraint_parses_numbers_and_checks_names() {
        let c = Constraint::parse("k>=2.5").unwrap();
        assert_eq!(c.rhs, Operand::Num(2.5));
        assert_eq!(c.names(), vec!["k"]);
        assert!(c.check_names(&["k"]).is_ok());
        assert!(c.check_names(&["j"]).is_err());
        let mut cand = Candidate::new();
        assert!(!c.is_satisfied(&cand), "missing parameter fails");
        cand.insert("k".into(), ParamValue::Float(2.5));
        assert!(c.is_satisfied(&cand));
        for bad in ["fast", "<slow", "fast<", "a<=>b"] {
            assert!(Constraint::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Constraint::parse("a!=b").unwrap().op, CmpOp::Ne);
        assert_eq!(Constraint::parse("a>b").unwrap().op, CmpOp::Gt);
    }
}
