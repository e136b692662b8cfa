//! Strategy parameter spaces: each strategy declares its parameters (name, type, range,
//! default), and `--param k=v` is checked against the declaration before a run starts.

use std::collections::BTreeMap;

/// A parameter out of its allowed range (a period of 0, a negative multiplier, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{name} = {value}: must be {allowed}")]
pub struct ParamError {
    /// The parameter's name (`period`, `fast`, …).
    pub name: String,
    /// The bad value as text.
    pub value: String,
    /// What the value must be, in words (`from 1 to 100000`, `greater than fast (30)`).
    pub allowed: String,
}

impl ParamError {
    /// A new error for parameter `name` with the bad `value` and the `allowed` range.
    pub fn new(name: &str, value: impl std::fmt::Display, allowed: &str) -> Self {
        ParamError {
            name: name.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }
}

/// A parameter's type and allowed range (both ends inclusive).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ParamKind {
    /// An integer in `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A float in `min..=max`.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// `true` or `false`.
    Bool,
}

impl ParamKind {
    /// The range in words, for error messages (`an integer from 2 to 500`, `true|false`).
    pub fn allowed(&self) -> String {
        match self {
            ParamKind::Int { min, max } => format!("an integer from {min} to {max}"),
            ParamKind::Float { min, max } => format!("a number from {min} to {max}"),
            ParamKind::Bool => "true|false".to_string(),
        }
    }
}

/// A parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl ParamValue {
    /// The value as f64 (bools as 0/1).
    pub fn as_f64(&self) -> f64 {
        match *self {
            ParamValue::Int(v) => v as f64,
            ParamValue::Float(v) => v,
            ParamValue::Bool(b) => f64::from(u8::from(b)),
        }
    }
    /// The value as i64 (floats rounded, bools as 0/1).
    pub fn as_i64(&self) -> i64 {
        match *self {
            ParamValue::Int(v) => v,
            ParamValue::Float(v) => v.round() as i64,
            ParamValue::Bool(b) => i64::from(b),
        }
    }
    /// The value as bool (numbers: non-zero is true).
    pub fn as_bool(&self) -> bool {
        match *self {
            ParamValue::Bool(b) => b,
            ParamValue::Int(v) => v != 0,
            ParamValue::Float(v) => v != 0.0,
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamSpec {
    /// Name, as `--param name=…` spells it.
    pub name: &'static str,
    /// Type and range.
    pub kind: ParamKind,
    /// Default value.
    pub default: ParamValue,
    /// One-line meaning.
    pub doc: &'static str,
}

impl ParamSpec {
    /// Parse and range-check a value given as text.
    ///
    /// # Errors
    /// [`ParamError`] naming the parameter, the value and the allowed range.
    pub fn parse(&self, text: &str) -> Result<ParamValue, ParamError> {
        let bad = || ParamError::new(self.name, text, &self.kind.allowed());
        match self.kind {
            ParamKind::Int { min, max } => {
                let v: i64 = text.trim().parse().map_err(|_| bad())?;
                if v < min || v > max {
                    return Err(bad());
                }
                Ok(ParamValue::Int(v))
            }
            ParamKind::Float { min, max } => {
                let v: f64 = text.trim().parse().map_err(|_| bad())?;
                if !v.is_finite() || v < min || v > max {
                    return Err(bad());
                }
                Ok(ParamValue::Float(v))
            }
            ParamKind::Bool => match text.trim() {
                "true" | "1" | "yes" => Ok(ParamValue::Bool(true)),
                "false" | "0" | "no" => Ok(ParamValue::Bool(false)),
                _ => Err(bad()),
            },
        }
    }

    /// Range-check a typed value (as an optimizer produces it).
    ///
    /// # Errors
    /// [`ParamError`] when out of range or of the wrong type.
    pub fn check(&self, v: ParamValue) -> Result<ParamValue, ParamError> {
        self.parse(&v.to_string())
    }
}

/// Resolved parameter values: every declared parameter, defaults filled in, in name order.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Params(pub BTreeMap<String, ParamValue>);

impl Params {
    /// Defaults of every parameter in `specs`, overridden by `kv` (`name`, `text`) pairs.
    ///
    /// # Errors
    /// [`ParamError`] for an unknown name (listing the allowed ones) or a bad value.
    pub fn resolve(specs: &[ParamSpec], kv: &[(String, String)]) -> Result<Params, ParamError> {
        let mut out: BTreeMap<String, ParamValue> = specs
            .iter()
            .map(|s| (s.name.to_string(), s.default))
            .collect();
        for (k, v) in kv {
            let spec = specs.iter().find(|s| s.name == k).ok_or_else(|| {
                let names: Vec<String> = specs
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.kind.allowed()))
                    .collect();
                ParamError::new("param", k, &format!("one of the keys {}", names.join(", ")))
            })?;
            out.insert(k.clone(), spec.parse(v)?);
        }
        Ok(Params(out))
    }

    /// A value as f64, or `default` when absent.
    pub fn f64_or(&self, name: &str, default: f64) -> f64 {
        self.0.get(name).map_or(default, ParamValue::as_f64)
    }
    /// A value as usize (negative → 0), or `default` when absent.
    pub fn usize_or(&self, name: &str, default: usize) -> usize {
        self.0
            .get(name)
            .map_or(default, |v| v.as_i64().max(0) as usize)
    }
    /// A value as bool, or `default` when absent.
    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.0.get(name).map_or(default, ParamValue::as_bool)
    }
}

/// Parse `k=v` text into a pair.
///
/// # Errors
/// [`ParamError`] when there is no `=`.
pub fn parse_kv(text: &str) -> Result<(String, String), ParamError> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(ParamError::new("param", text, "key=value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec {
            name: "fast",
            kind: ParamKind::Int { min: 1, max: 500 },
            default: ParamValue::Int(10),
            doc: "",
        },
        ParamSpec {
            name: "long_only",
            kind: ParamKind::Bool,
            default: ParamValue::Bool(false),
            doc: "",
        },
    ];

    #[test]
    fn defaults_fill_in_and_overrides_apply() {
        let p = Params::resolve(SPECS, &[("fast".into(), "7".into())]).unwrap();
        assert_eq!(p.usize_or("fast", 0), 7);
        assert!(!p.bool_or("long_only", true));
    }

    #[test]
    fn unknown_key_names_the_allowed_ones() {
        let e = Params::resolve(SPECS, &[("slow".into(), "7".into())]).unwrap_err();
        assert!(
            e.to_string().contains("fast (an integer from 1 to 500)"),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_value_is_rejected() {
        let e = Params::resolve(SPECS, &[("fast".into(), "0".into())]).unwrap_err();
        assert!(e.to_string().contains("fast = 0"), "{e}");
    }
}
