//! Serde helpers for persisted state (engine snapshots, paper/live `state.json`).
//!
//! JSON has no NaN or infinity, and `serde_json` writes them as `null`, which does not
//! read back as an `f64`. State that may hold a non-finite float (a "not yet seen"
//! sentinel, a feature row before warm-up) marks the field
//! `#[serde(with = "crate::persist::float")]` (or `float_array`): finite values stay JSON
//! numbers, NaN and ±infinity become the strings `"NaN"`, `"inf"` and `"-inf"`, and `null`
//! reads back as NaN. With `serde_json`'s `float_roundtrip` feature every finite `f64` reads
//! back bit for bit, so a restored engine continues exactly where the saved one stopped.
//!
//! Plain data and functions only: imports nothing from the crate (rank 0).

/// Why a state could not be saved or restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The strategy has no saved-state support.
    #[error("strategy {0} cannot save or restore its state")]
    Unsupported(String),
    /// The state was saved by another strategy or engine kind.
    #[error("state is for {found}, not {expected}")]
    Mismatch {
        /// What the loader is.
        expected: String,
        /// What the state says it is.
        found: String,
    },
    /// The state does not encode or decode (corrupt or from an incompatible version).
    #[error("bad state json: {0}")]
    Json(String),
}

impl From<serde_json::Error> for StateError {
    fn from(e: serde_json::Error) -> Self {
        StateError::Json(e.to_string())
    }
}

/// Encode `value` as a JSON value.
///
/// # Errors
/// [`StateError::Json`] when a field does not encode (a map with non-string keys).
pub fn to_value<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, StateError> {
    Ok(serde_json::to_value(value)?)
}

/// Decode a JSON value into `T`.
///
/// # Errors
/// [`StateError::Json`] when it does not match `T`'s shape.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, StateError> {
    Ok(T::deserialize(value)?)
}

/// One float as JSON: a number when finite, else `"NaN"`, `"inf"` or `"-inf"`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Repr {
    Num(f64),
    Text(String),
    Null(()),
}

fn encode(x: f64) -> Repr {
    if x.is_finite() {
        Repr::Num(x)
    } else if x.is_nan() {
        Repr::Text("NaN".into())
    } else if x > 0.0 {
        Repr::Text("inf".into())
    } else {
        Repr::Text("-inf".into())
    }
}

fn decode<E: serde::de::Error>(r: Repr) -> Result<f64, E> {
    match r {
        Repr::Num(x) => Ok(x),
        Repr::Null(()) => Ok(f64::NAN),
        Repr::Text(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(E::custom(format!("bad float {other:?}"))),
        },
    }
}

/// `#[serde(with = "crate::persist::float")]` for an `f64` that may be NaN or infinite.
pub mod float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialize (see the module doc).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        super::encode(*x).serialize(s)
    }

    /// Deserialize (see the module doc).
    ///
    /// # Errors
    /// The deserializer's, or an unknown float text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        super::decode(super::Repr::deserialize(d)?)
    }
}

/// `#[serde(with = "crate::persist::float_array")]` for an `[f64; N]` that may hold NaN.
pub mod float_array {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialize (see the module doc).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer, const N: usize>(
        xs: &[f64; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        xs.iter()
            .map(|&x| super::encode(x))
            .collect::<Vec<_>>()
            .serialize(s)
    }

    /// Deserialize (see the module doc).
    ///
    /// # Errors
    /// The deserializer's, a bad float, or a length other than `N`.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[f64; N], D::Error> {
        let v = Vec::<super::Repr>::deserialize(d)?;
        if v.len() != N {
            return Err(D::Error::custom(format!(
                "expected {N} floats, got {}",
                v.len()
            )));
        }
        let mut out = [0.0; N];
        for (o, r) in out.iter_mut().zip(v) {
            *o = super::decode(r)?;
        }
        Ok(out)
    }
}

/// Bytes as lowercase hex (the text form of weights, optimiser moments and RNG seeds in
/// saved state: exact, and about a third the size of a JSON number list).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The bytes of [`to_hex`]'s text.
///
/// # Errors
/// [`StateError::Json`] for an odd length or a character that is not a hex digit.
pub fn from_hex(text: &str) -> Result<Vec<u8>, StateError> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(StateError::Json(format!(
            "bad hex digit {:?}",
            char::from(c)
        ))),
    };
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(StateError::Json("hex text of odd length".into()));
    }
    b.chunks_exact(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// `#[serde(with = "crate::persist::f32_hex")]` for a `Vec<f32>` kept bit for bit (NaN
/// included): the little-endian bytes as hex. JSON numbers would go through `f64` on the
/// way back, and an `f32` must not depend on how that rounds.
pub mod f32_hex {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The bytes of `xs` as hex.
    pub fn encode(xs: &[f32]) -> String {
        let bytes: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        super::to_hex(&bytes)
    }

    /// The floats of [`encode`]'s text.
    ///
    /// # Errors
    /// [`super::StateError::Json`] for bad hex or a byte count that is not a multiple of 4.
    pub fn decode(text: &str) -> Result<Vec<f32>, super::StateError> {
        let bytes = super::from_hex(text)?;
        if !bytes.len().is_multiple_of(4) {
            return Err(super::StateError::Json(format!(
                "{} bytes are not whole f32s",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Serialize (see the module doc).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(xs: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(xs))
    }

    /// Deserialize (see the module doc).
    ///
    /// # Errors
    /// The deserializer's, or bad hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "crate::persist::opt_f32_hex")]`: [`f32_hex`] for an `Option<Vec<f32>>`.
pub mod opt_f32_hex {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialize (`null` for `None`).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(xs: &Option<Vec<f32>>, s: S) -> Result<S::Ok, S::Error> {
        xs.as_deref().map(super::f32_hex::encode).serialize(s)
    }

    /// Deserialize.
    ///
    /// # Errors
    /// The deserializer's, or bad hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f32>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::f32_hex::decode(&t).map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct S {
        #[serde(with = "float")]
        a: f64,
        #[serde(with = "float")]
        b: f64,
        #[serde(with = "float")]
        c: f64,
        #[serde(with = "float_array")]
        row: [f64; 3],
    }

    #[test]
    fn non_finite_floats_survive_a_json_round_trip_bit_for_bit() {
        let s = S {
            a: f64::NAN,
            b: f64::NEG_INFINITY,
            c: 0.1 + 0.2,
            row: [f64::INFINITY, -0.0, 1e-300],
        };
        let text = serde_json::to_string(&s).unwrap();
        let back: S = serde_json::from_str(&text).unwrap();
        assert!(back.a.is_nan());
        assert_eq!(back.b, f64::NEG_INFINITY);
        assert_eq!(back.c.to_bits(), s.c.to_bits());
        let bits = |r: [f64; 3]| r.map(f64::to_bits);
        assert_eq!(bits(back.row), bits(s.row));
        // a plain serde_json null (what it writes for NaN) reads back as NaN
        let null: S = serde_json::from_str(r#"{"a":null,"b":"inf","c":1,"row":[1,2,3]}"#).unwrap();
        assert!(null.a.is_nan());
        assert!(serde_json::from_str::<S>(r#"{"a":"x","b":1,"c":1,"row":[1,2,3]}"#).is_err());
    }

    #[test]
    fn f32s_and_bytes_survive_hex_bit_for_bit() {
        let xs = vec![0.1f32, -0.0, f32::NAN, f32::INFINITY, 1e-40];
        let back = f32_hex::decode(&f32_hex::encode(&xs)).unwrap();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(to_hex(&[0, 15, 255]), "000fff");
        assert_eq!(from_hex("000fFF").unwrap(), vec![0, 15, 255]);
        assert!(from_hex("0").is_err() && from_hex("zz").is_err());
        assert!(f32_hex::decode("0011").is_err());
    }
}
