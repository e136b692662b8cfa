//! The built-in strategies by name, as `--strategy` spells them, with their parameter
//! spaces. Adding a strategy means one entry in [`STRATEGY_NAMES`], [`param_specs`] and
//! [`build`].

use super::ai::{AI_PARAMS, AiStrategy};
use super::dqn::DQN_PARAMS;
use super::evolved::EVOLVED_PARAMS;
use super::sma_cross::{SMA_CROSS_PARAMS, SmaCross};
use super::technical::{TECHNICAL_PARAMS, Technical};
use super::{ParamSpec, Params, Strategy};
use crate::indicators::ParamError;

/// The names `--strategy` accepts.
pub const STRATEGY_NAMES: &[&str] = &[
    "sma-cross",
    "technical",
    "evolved",
    "ai",
    "dqn",
    "leverage-dqn",
];

fn unknown(name: &str) -> ParamError {
    ParamError::new(
        "strategy",
        name,
        &format!("one of {}", STRATEGY_NAMES.join(", ")),
    )
}

/// The parameter space of strategy `name`.
///
/// # Errors
/// [`ParamError`] for an unknown name, listing the known ones.
pub fn param_specs(name: &str) -> Result<&'static [ParamSpec], ParamError> {
    match name {
        "sma-cross" => Ok(SMA_CROSS_PARAMS),
        "technical" => Ok(TECHNICAL_PARAMS),
        "evolved" => Ok(EVOLVED_PARAMS),
        "ai" => Ok(AI_PARAMS),
        "dqn" | "leverage-dqn" => Ok(DQN_PARAMS),
        _ => Err(unknown(name)),
    }
}

/// Build strategy `name` from resolved parameters.
///
/// # Errors
/// [`ParamError`] for an unknown name or parameters the strategy rejects (`fast >= slow`, …);
/// always for `evolved`, which is built from a genome the caller loads
/// ([`super::evolved::Evolved::from_genome`]: the CLI resolves `--param id=N` from the
/// learning DB, or `--strategy-file FILE.json`).
pub fn build(name: &str, params: &Params) -> Result<Box<dyn Strategy + Send>, ParamError> {
    match name {
        "sma-cross" => Ok(Box::new(SmaCross::from_params(params)?)),
        "technical" => Ok(Box::new(Technical::new(params)?)),
        "ai" => Ok(Box::new(AiStrategy::new(params)?)),
        "evolved" => Err(ParamError::new(
            "strategy",
            "evolved",
            &format!(
                "needs a genome: --param id=N (a stored genome, id {}) or --strategy-file FILE.json",
                params.usize_or("id", 0)
            ),
        )),
        "dqn" | "leverage-dqn" => Err(ParamError::new(
            "strategy",
            name,
            &format!(
                "needs a trained model: --param id=N (a stored model, id {}; see `algolab train-rl --list`)",
                params.usize_or("id", 0)
            ),
        )),
        _ => Err(unknown(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_with_its_defaults() {
        for name in STRATEGY_NAMES
            .iter()
            .filter(|n| !["evolved", "dqn", "leverage-dqn"].contains(*n))
        {
            let specs = param_specs(name).unwrap();
            let params = Params::resolve(specs, &[]).unwrap();
            assert_eq!(build(name, &params).unwrap().name(), *name);
        }
    }

    #[test]
    fn unknown_strategy_lists_the_known_ones() {
        let e = param_specs("nope").err().unwrap();
        assert!(
            e.to_string().contains("sma-cross, technical, evolved"),
            "{e}"
        );
    }
}
