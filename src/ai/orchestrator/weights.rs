//! The orchestrator's component weights: defaults (technical 0.30, dqn 0.25, evolved 0.20,
//! online 0.15, llm 0.10), `--weights technical=0.3,dqn=0.25,…` and a config file.
//!
//! A config file is JSON (`{"technical": 0.4, "llm": 0}` or `{"weights": {…}}`) or the flat
//! TOML subset `name = number` lines, optionally under a `[weights]` table; `#` starts a
//! comment. Names not given keep their default weight. Weights must be finite and ≥ 0; they
//! need not sum to 1 (the vote renormalises over the components available).

use std::collections::BTreeMap;

use crate::ai::advisor::Component;

/// A bad weight specification.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// A `name=value` item did not parse.
    #[error("bad weight {item:?}: {why}")]
    Item {
        /// The offending item.
        item: String,
        /// What was wrong.
        why: String,
    },
    /// A config file was not JSON or `name = number` lines.
    #[error("bad weights file: {0}")]
    File(String),
}

/// Weight per component.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Weights(pub BTreeMap<Component, f64>);

impl Default for Weights {
    fn default() -> Self {
        Weights(
            [
                (Component::Technical, 0.30),
                (Component::Dqn, 0.25),
                (Component::Evolved, 0.20),
                (Component::Online, 0.15),
                (Component::Llm, 0.10),
            ]
            .into_iter()
            .collect(),
        )
    }
}

impl Weights {
    /// The weight of `c` (0 when unset).
    pub fn of(&self, c: Component) -> f64 {
        self.0.get(&c).copied().unwrap_or(0.0)
    }

    /// Set one weight.
    ///
    /// # Errors
    /// [`WeightsError::Item`] for a negative or non-finite value.
    pub fn set(&mut self, c: Component, w: f64) -> Result<(), WeightsError> {
        if !w.is_finite() || w < 0.0 {
            return Err(WeightsError::Item {
                item: format!("{c}={w}"),
                why: "a weight must be a finite number >= 0".into(),
            });
        }
        self.0.insert(c, w);
        Ok(())
    }

    /// The defaults overridden by `technical=0.3,dqn=0.25,…`.
    ///
    /// # Errors
    /// [`WeightsError::Item`] for an unknown name, a missing `=` or a bad number.
    pub fn parse_overrides(mut self, spec: &str) -> Result<Self, WeightsError> {
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| WeightsError::Item {
                item: item.into(),
                why: "expected name=value".into(),
            })?;
            self.set_named(k.trim(), v.trim(), item)?;
        }
        Ok(self)
    }

    fn set_named(&mut self, name: &str, value: &str, item: &str) -> Result<(), WeightsError> {
        let c = Component::parse(name).ok_or_else(|| WeightsError::Item {
            item: item.into(),
            why: "unknown component; known: technical, dqn, evolved, online, llm".into(),
        })?;
        let w: f64 = value.parse().map_err(|_| WeightsError::Item {
            item: item.into(),
            why: "not a number".into(),
        })?;
        self.set(c, w)
    }

    /// The defaults overridden by a config file's text (JSON or flat TOML, see the module
    /// doc).
    ///
    /// # Errors
    /// [`WeightsError`] for text in neither form, unknown names or bad numbers.
    pub fn parse_file_text(mut self, text: &str) -> Result<Self, WeightsError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| WeightsError::File(e.to_string()))?;
            let obj = v.get("weights").unwrap_or(&v);
            let map = obj
                .as_object()
                .ok_or_else(|| WeightsError::File("expected an object of weights".into()))?;
            for (k, val) in map {
                let w = val.as_f64().ok_or_else(|| WeightsError::Item {
                    item: format!("{k}={val}"),
                    why: "not a number".into(),
                })?;
                let c = Component::parse(k).ok_or_else(|| WeightsError::Item {
                    item: k.clone(),
                    why: "unknown component".into(),
                })?;
                self.set(c, w)?;
            }
            return Ok(self);
        }
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() || line == "[weights]" {
                continue;
            }
            let (k, v) = line.split_once('=').ok_or_else(|| {
                WeightsError::File(format!("line {}: expected name = value", n + 1))
            })?;
            self.set_named(k.trim().trim_matches('"'), v.trim(), line)?;
        }
        Ok(self)
    }

    /// `technical=0.3,dqn=0.25,…` (the form `--weights` reads).
    pub fn to_spec(&self) -> String {
        self.0
            .iter()
            .map(|(c, w)| format!("{c}={w}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sum_to_one_and_overrides_replace_single_weights() {
        let d = Weights::default();
        let sum: f64 = d.0.values().sum();
        assert!((sum - 1.0).abs() < 1e-12);
        let w = Weights::default()
            .parse_overrides("technical=0.5, llm=0")
            .unwrap();
        assert_eq!(w.of(Component::Technical), 0.5);
        assert_eq!(w.of(Component::Llm), 0.0);
        assert_eq!(w.of(Component::Dqn), 0.25);
        assert_eq!(Weights::default().parse_overrides(&w.to_spec()).unwrap(), w);
    }

    #[test]
    fn bad_overrides_are_rejected_with_the_item() {
        for bad in ["technical", "foo=1", "dqn=x", "dqn=-1", "dqn=inf"] {
            let e = Weights::default().parse_overrides(bad).unwrap_err();
            assert!(e.to_string().contains("bad weight"), "{bad}: {e}");
        }
    }

    #[test]
    fn config_files_in_json_and_toml_give_the_same_weights() {
        let json = Weights::default()
            .parse_file_text(r#"{"weights": {"technical": 0.6, "online": 0.05}}"#)
            .unwrap();
        let toml = Weights::default()
            .parse_file_text("# mine\n[weights]\ntechnical = 0.6\nonline = 0.05 # less\n")
            .unwrap();
        assert_eq!(json, toml);
        assert_eq!(json.of(Component::Technical), 0.6);
        assert_eq!(json.of(Component::Evolved), 0.20);
        assert!(Weights::default().parse_file_text("technical 0.6").is_err());
        assert!(Weights::default().parse_file_text("{\"x\": 1}").is_err());
    }
}
