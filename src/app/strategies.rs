//! `algolab strategies`: the built-in strategies with their parameters, defaults, ranges
//! and the constraints between parameters, from the strategy registry (so the list cannot
//! drift from what `--strategy` and `--param` accept).

use serde::Serialize;

use super::Ctx;
use crate::Error;
use crate::strategy::{ParamKind, ParamValue, STRATEGY_NAMES, param_specs};

/// One parameter of a strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamInfo {
    /// Name, as `--param name=…` spells it.
    pub name: String,
    /// `int`, `float` or `bool`.
    pub kind: String,
    /// Default value.
    pub default: ParamValue,
    /// Smallest allowed value (`null` for bools).
    pub min: Option<f64>,
    /// Largest allowed value (`null` for bools).
    pub max: Option<f64>,
    /// One-line meaning.
    pub doc: String,
}

/// One strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyInfo {
    /// Name, as `--strategy` spells it.
    pub name: String,
    /// Its parameters.
    pub params: Vec<ParamInfo>,
    /// Constraints between parameters (`fast<slow`).
    pub constraints: Vec<String>,
}

/// `algolab strategies`.
///
/// # Errors
/// [`Error::Param`] if the registry lists a name it cannot describe (a bug).
pub fn run(_ctx: &Ctx) -> Result<Vec<StrategyInfo>, Error> {
    STRATEGY_NAMES
        .iter()
        .map(|&name| {
            let params = param_specs(name)?
                .iter()
                .map(|p| {
                    let (kind, min, max) = match p.kind {
                        ParamKind::Int { min, max } => ("int", Some(min as f64), Some(max as f64)),
                        ParamKind::Float { min, max } => ("float", Some(min), Some(max)),
                        ParamKind::Bool => ("bool", None, None),
                    };
                    ParamInfo {
                        name: p.name.to_string(),
                        kind: kind.to_string(),
                        default: p.default,
                        min,
                        max,
                        doc: p.doc.to_string(),
                    }
                })
                .collect();
            let constraints = match name {
                "sma-cross" => vec!["fast<slow".to_string()],
                "technical" => vec!["ema_fast<ema_slow".to_string()],
                _ => Vec::new(),
            };
            Ok(StrategyInfo {
                name: name.to_string(),
                params,
                constraints,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_is_listed_with_its_defaults() {
        let ctx = Ctx::new("data".into(), String::new);
        let list = run(&ctx).unwrap();
        assert_eq!(list.len(), STRATEGY_NAMES.len());
        let sma = list.iter().find(|s| s.name == "sma-cross").unwrap();
        let fast = sma.params.iter().find(|p| p.name == "fast").unwrap();
        assert_eq!(fast.kind, "int");
        assert!(fast.min.unwrap() >= 1.0 && fast.max.unwrap() > fast.min.unwrap());
        assert_eq!(sma.constraints, ["fast<slow"]);
    }
}
