//! Decoding (not verifying) the JWTs Cognito issues, and expiry checks.
//!
//! Clients only need to read claims and decide when to refresh; the signature
//! is the resource server's business. Nothing here verifies a signature, so
//! never use these claims to make an authorisation decision on a server.

use core::fmt;
use core::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use serde_json::{Map, Value};

use crate::SecretString;

/// Amplify's expiry tolerance: a token counts as expired 5 s before `exp`.
pub const DEFAULT_EXPIRY_TOLERANCE: Duration = Duration::from_secs(5);

/// Which part of the token an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// The JOSE header.
    Header,
    /// The claims.
    Payload,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
        })
    }
}

/// Why a token could not be decoded. Carries no part of the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three dot-separated segments (`found` is the count; 5 means an
    /// encrypted JWE, which Cognito does not issue to clients).
    SegmentCount {
        /// How many segments there were.
        found: usize,
    },
    /// A segment is not base64url.
    Base64(Segment),
    /// A segment is not UTF-8 JSON.
    Json(Segment),
    /// A segment is JSON but not an object.
    NotAnObject(Segment),
    /// A registered or Cognito claim has the wrong type (for example a
    /// string `exp`).
    InvalidClaim(&'static str),
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SegmentCount { found } => write!(f, "a JWT has 3 segments, found {found}"),
            Self::Base64(s) => write!(f, "JWT {s} is not base64url"),
            Self::Json(s) => write!(f, "JWT {s} is not JSON"),
            Self::NotAnObject(s) => write!(f, "JWT {s} is not a JSON object"),
            Self::InvalidClaim(c) => write!(f, "JWT claim {c} has the wrong type"),
        }
    }
}

impl std::error::Error for JwtError {}

/// The JOSE header.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JwtHeader {
    /// `alg`.
    pub alg: Option<String>,
    /// `kid`.
    pub kid: Option<String>,
    /// `typ`.
    pub typ: Option<String>,
    /// Any other header parameter.
    pub extra: Map<String, Value>,
}

/// `token_use`: which kind of Cognito token this is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenUse {
    /// `access`.
    Access,
    /// `id`.
    Id,
    /// Any other value, kept.
    Unknown(String),
}

impl TokenUse {
    /// The claim's spelling.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Access => "access",
            Self::Id => "id",
            Self::Unknown(s) => s,
        }
    }
}

impl From<&str> for TokenUse {
    fn from(s: &str) -> Self {
        match s {
            "access" => Self::Access,
            "id" => Self::Id,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// The claims Cognito puts in access and ID tokens, typed; everything else is
/// in [`extra`](Self::extra) (custom attributes, `email`, `cognito:roles`...).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JwtClaims {
    /// `sub`: the user's immutable id.
    pub sub: Option<String>,
    /// `exp`, seconds since the epoch (fractions truncated).
    pub exp: Option<i64>,
    /// `iat`, seconds since the epoch.
    pub iat: Option<i64>,
    /// `auth_time`, seconds since the epoch.
    pub auth_time: Option<i64>,
    /// `username` (access tokens).
    pub username: Option<String>,
    /// `cognito:username` (ID tokens).
    pub cognito_username: Option<String>,
    /// `cognito:groups`.
    pub cognito_groups: Vec<String>,
    /// `token_use`.
    pub token_use: Option<TokenUse>,
    /// `origin_jti`.
    pub origin_jti: Option<String>,
    /// `client_id` (access tokens).
    pub client_id: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
    /// `aud` (ID tokens): a string or an array in the token, always a list here.
    pub aud: Vec<String>,
    /// `jti`.
    pub jti: Option<String>,
    /// `event_id`.
    pub event_id: Option<String>,
    /// `scope` (access tokens), space-separated.
    pub scope: Option<String>,
    /// Every other claim.
    pub extra: Map<String, Value>,
}

impl JwtClaims {
    /// `username` if present, else `cognito:username`.
    #[must_use]
    pub fn any_username(&self) -> Option<&str> {
        self.username.as_deref().or(self.cognito_username.as_deref())
    }

    /// The scopes, split on spaces.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or_default().split(' ').filter(|s| !s.is_empty())
    }
}

/// A decoded (unverified) JWT. `Debug` shows the header and claims, never the
/// raw token (which is a bearer credential).
///
/// ```
/// use token_store::Jwt;
/// // {"alg":"none"} . {"sub":"abc","exp":2000000000,"cognito:groups":["admin"]} . (no signature)
/// let raw = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmMiLCJleHAiOjIwMDAwMDAwMDAsImNvZ25pdG86Z3JvdXBzIjpbImFkbWluIl19.";
/// let jwt = Jwt::decode(raw)?;
/// assert_eq!(jwt.claims().sub.as_deref(), Some("abc"));
/// assert_eq!(jwt.claims().cognito_groups, ["admin"]);
/// assert!(!jwt.is_expired(1_000_000_000_000, 0, token_store::DEFAULT_EXPIRY_TOLERANCE));
/// assert!(Jwt::decode("not a token").is_err());
/// # Ok::<(), token_store::JwtError>(())
/// ```
#[derive(Clone)]
pub struct Jwt {
    raw: SecretString,
    header: JwtHeader,
    claims: JwtClaims,
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt").field("header", &self.header).field("claims", &self.claims).finish_non_exhaustive()
    }
}

fn decode_segment(seg: &str, which: Segment) -> Result<Map<String, Value>, JwtError> {
    let bytes = zeroize::Zeroizing::new(
        URL_SAFE_NO_PAD_INDIFFERENT.decode(seg.as_bytes()).map_err(|_| JwtError::Base64(which))?,
    );
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Json(which))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JwtError::NotAnObject(which)),
    }
}

fn take_string(map: &mut Map<String, Value>, name: &'static str) -> Result<Option<String>, JwtError> {
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwtError::InvalidClaim(name)),
    }
}

/// RFC 7519 NumericDate: an integer or a finite number of seconds.
fn take_time(map: &mut Map<String, Value>, name: &'static str) -> Result<Option<i64>, JwtError> {
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    // `as` saturates for out-of-range floats.
                    Some(f) if f.is_finite() => Ok(Some(f.trunc() as i64)),
                    _ => Err(JwtError::InvalidClaim(name)),
                }
            }
        }
        Some(_) => Err(JwtError::InvalidClaim(name)),
    }
}

fn take_strings(map: &mut Map<String, Value>, name: &'static str) -> Result<Vec<String>, JwtError> {
    match map.remove(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(JwtError::InvalidClaim(name)),
            })
            .collect(),
        Some(_) => Err(JwtError::InvalidClaim(name)),
    }
}

impl JwtClaims {
    fn from_map(mut m: Map<String, Value>) -> Result<Self, JwtError> {
        Ok(Self {
            sub: take_string(&mut m, "sub")?,
            exp: take_time(&mut m, "exp")?,
            iat: take_time(&mut m, "iat")?,
            auth_time: take_time(&mut m, "auth_time")?,
            username: take_string(&mut m, "username")?,
            cognito_username: take_string(&mut m, "cognito:username")?,
            cognito_groups: take_strings(&mut m, "cognito:groups")?,
            token_use: take_string(&mut m, "token_use")?.map(|s| TokenUse::from(s.as_str())),
            origin_jti: take_string(&mut m, "origin_jti")?,
            client_id: take_string(&mut m, "client_id")?,
            iss: take_string(&mut m, "iss")?,
            aud: take_strings(&mut m, "aud")?,
            jti: take_string(&mut m, "jti")?,
            event_id: take_string(&mut m, "event_id")?,
            scope: take_string(&mut m, "scope")?,
            extra: m,
        })
    }
}

impl Jwt {
    /// Decodes a compact JWS (`header.payload.signature`) without verifying
    /// it. Segments may be padded or not. Never panics.
    ///
    /// # Errors
    ///
    /// A [`JwtError`] naming what is malformed.
    pub fn decode(token: &str) -> Result<Self, JwtError> {
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(_sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JwtError::SegmentCount { found: token.split('.').count() });
        };
        let mut hm = decode_segment(h, Segment::Header)?;
        let header = JwtHeader {
            alg: take_string(&mut hm, "alg")?,
            kid: take_string(&mut hm, "kid")?,
            typ: take_string(&mut hm, "typ")?,
            extra: hm,
        };
        let claims = JwtClaims::from_map(decode_segment(p, Segment::Payload)?)?;
        Ok(Self { raw: SecretString::from(token), header, claims })
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> &JwtHeader {
        &self.header
    }

    /// The claims.
    #[must_use]
    pub fn claims(&self) -> &JwtClaims {
        &self.claims
    }

    /// The token as received (Amplify's `JWT.toString()`).
    #[must_use]
    pub fn raw(&self) -> &SecretString {
        &self.raw
    }

    /// `exp` in milliseconds since the epoch, if present.
    #[must_use]
    pub fn expires_at_ms(&self) -> Option<i64> {
        self.claims.exp.map(|e| e.saturating_mul(1000))
    }

    /// Amplify's `isTokenExpired`: `now + clock_drift + tolerance > exp`.
    ///
    /// `now_unix_ms` is the local clock; `clock_drift_ms` is the stored drift
    /// (positive when the server is ahead); `tolerance` is how long before
    /// `exp` the token already counts as expired ([`DEFAULT_EXPIRY_TOLERANCE`]
    /// is Amplify's 5 s; amplify-swift uses 2 minutes). A token without `exp`
    /// counts as expired (Amplify's arithmetic would yield `NaN` and treat it
    /// as valid forever).
    #[must_use]
    pub fn is_expired(&self, now_unix_ms: i64, clock_drift_ms: i64, tolerance: Duration) -> bool {
        let Some(exp_ms) = self.expires_at_ms() else {
            return true;
        };
        let tolerance_ms = i64::try_from(tolerance.as_millis()).unwrap_or(i64::MAX);
        now_unix_ms.saturating_add(clock_drift_ms).saturating_add(tolerance_ms) > exp_ms
    }
}
