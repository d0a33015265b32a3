//! Hand-written support types the generated modules build on.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use crate::error::BodyError;

/// Members a server sent that the model does not define, kept verbatim so
/// that decoding and re-encoding loses nothing.
pub type UnknownFields = serde_json::Map<String, serde_json::Value>;

/// The Smithy `document` type: arbitrary JSON.
pub type Document = serde_json::Value;

/// A model timestamp: epoch **seconds** as a JSON number, possibly
/// fractional (`1763848934.123`). The number is kept as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EpochSeconds(pub serde_json::Number);

impl EpochSeconds {
    /// Whole seconds since the Unix epoch.
    pub fn from_secs(secs: i64) -> Self {
        Self(secs.into())
    }

    /// Seconds since the Unix epoch, fractional part included.
    pub fn as_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or(0.0)
    }

    /// Whole seconds since the Unix epoch (the fraction is dropped).
    pub fn as_secs(&self) -> i64 {
        self.0.as_i64().unwrap_or_else(|| self.as_f64().floor() as i64)
    }
}

impl Default for EpochSeconds {
    fn default() -> Self {
        Self::from_secs(0)
    }
}

/// A model `blob`: bytes, standard base64 on the wire (URL-safe and unpadded
/// forms are accepted on input).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode_base64_lenient(&text).map(Blob).ok_or_else(|| serde::de::Error::custom("a blob that is not base64"))
    }
}

fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    let normalised: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| {
            if c == '-' {
                '+'
            } else if c == '_' {
                '/'
            } else {
                c
            }
        })
        .collect();
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(normalised).ok()
}

/// How a value's secret contents are erased when it is dropped.
pub trait Wipe {
    /// Overwrites the secret contents in place.
    fn wipe(&mut self);
}

impl Wipe for String {
    fn wipe(&mut self) {
        self.zeroize();
    }
}

impl Wipe for Blob {
    fn wipe(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Wipe> Wipe for Vec<T> {
    fn wipe(&mut self) {
        self.iter_mut().for_each(Wipe::wipe);
    }
}

impl<T: Wipe> Wipe for Option<T> {
    fn wipe(&mut self) {
        if let Some(v) = self {
            v.wipe();
        }
    }
}

impl<V: Wipe> Wipe for BTreeMap<String, V> {
    fn wipe(&mut self) {
        for (mut key, mut value) in std::mem::take(self) {
            key.zeroize();
            value.wipe();
        }
    }
}

macro_rules! wipe_nothing {
    ($($t:ty),*) => { $(impl Wipe for $t { fn wipe(&mut self) {} })* };
}
wipe_nothing!(bool, i32, i64, f32, f64, EpochSeconds, serde_json::Value);

/// A member the model marks `sensitive` (passwords, tokens, codes, secrets,
/// sessions): the same on the wire, `*** Sensitive Data Redacted ***` in
/// `Debug`, erased from memory when dropped.
///
/// ```
/// use cognito_wire::Sensitive;
/// let password = Sensitive::new("hunter2".to_owned());
/// assert_eq!(format!("{password:?}"), "*** Sensitive Data Redacted ***");
/// assert_eq!(password.expose(), "hunter2");
/// assert_eq!(serde_json::to_string(&password).unwrap(), "\"hunter2\"");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive<T: Wipe>(T);

impl<T: Wipe> Sensitive<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value, for the code that has to use it (put it on the wire, check
    /// it). Keep the borrow short.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// Mutable access to the value.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Takes the value out (the wrapper is left empty and wiped).
    pub fn into_inner(mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.0)
    }
}

impl<T: Wipe> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

impl<T: Wipe> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*** Sensitive Data Redacted ***")
    }
}

impl<T: Wipe> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for Sensitive<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// The input or output of an operation that has none: `{}` on the wire.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {
    /// Anything a server sent anyway.
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

/// Deserialises a required member, reading `null` as the default value:
/// servers in the wild send `null` where the model says required.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Decodes a JSON body; an empty body reads as `{}`.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|err| BodyError::from_json(&err))
}

/// Encodes a body as JSON.
pub fn encode_body<T: Serialize>(value: &T) -> Vec<u8> {
    // The generated types serialise infallibly (string keys, no custom
    // failures); `{}` keeps the signature total all the same.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Implements the string conversions and serde for a generated enum with an
/// `Unknown(String)` variant.
macro_rules! string_enum {
    ($name:ident { $($variant:ident => $value:literal,)* }) => {
        impl $name {
            /// The value as it travels on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Every value the model defines.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $($value => Self::$variant,)*
                    _ => Self::Unknown(value),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Default for $name {
            /// An empty unknown value (what a server that omits a required member meant).
            fn default() -> Self {
                Self::Unknown(String::new())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self::from(String::deserialize(deserializer)?))
            }
        }

        impl $crate::glue::Wipe for $name {
            fn wipe(&mut self) {}
        }
    };
}
pub(crate) use string_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_accepts_url_safe_and_unpadded() {
        let standard: Blob = serde_json::from_str("\"+/+/AA==\"").unwrap();
        let url_safe: Blob = serde_json::from_str("\"-_-_AA\"").unwrap();
        assert_eq!(standard, url_safe);
        assert_eq!(serde_json::to_string(&url_safe).unwrap(), "\"+/+/AA==\"");
        assert!(serde_json::from_str::<Blob>("\"not base64!\"").is_err());
    }

    #[test]
    fn epoch_seconds_keep_fractions() {
        let t: EpochSeconds = serde_json::from_str("1763848934.25").unwrap();
        assert_eq!(t.as_secs(), 1_763_848_934);
        assert!((t.as_f64() - 1_763_848_934.25).abs() < 1e-6);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1763848934.25");
    }

    #[test]
    fn sensitive_maps_are_redacted() {
        let map: Sensitive<BTreeMap<String, String>> = Sensitive::new([("PASSWORD".into(), "p@ss".into())].into());
        assert!(!format!("{map:?}").contains("p@ss"));
        assert_eq!(map.expose()["PASSWORD"], "p@ss");
        assert_eq!(map.into_inner().len(), 1);
    }

    #[test]
    fn empty_bodies_decode_as_empty_objects() {
        let e: Empty = decode_body(b"").unwrap();
        assert!(e.unknown_fields.is_empty());
        assert!(decode_body::<Empty>(b"[1]").is_err());
    }
}
