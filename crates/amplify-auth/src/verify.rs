//! Verifying Cognito tokens on the receiving side (an API that gets
//! `Authorization: Bearer <token>`): the RS256 signature against the pool's
//! JWKS (fetched, cached, refetched when an unknown `kid` appears, at most
//! once a minute), then `iss`, the audience (`aud` for ID tokens,
//! `client_id` for access tokens), `token_use`, `exp` with a tolerance, and
//! optionally groups and scopes.
//!
//! ```no_run
//! # async fn demo(token: &str) -> Result<(), amplify_auth::verify::VerifyError> {
//! use amplify_auth::verify::{TokenVerifier, ExpectedUse};
//!
//! let verifier = TokenVerifier::for_user_pool("eu-west-1_AbCdEf123")
//!     .client_id("1example23456789")
//!     .token_use(ExpectedUse::Access)
//!     .build()?;
//! let claims = verifier.verify(token).await?;
//! println!("request from {}", claims.sub.unwrap_or_default());
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use token_store::{Jwt, JwtClaims, TokenUse};

use crate::transport::{HyperTransport, Transport};

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a JWT (segments, base64url, JSON).
    Malformed(String),
    /// `alg` is not RS256 (`none` included).
    UnsupportedAlgorithm(String),
    /// No key with this `kid` in the pool's JWKS.
    UnknownKey(String),
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `aud` / `client_id` is not an accepted app client.
    WrongAudience,
    /// `token_use` is not the expected one.
    WrongTokenUse,
    /// Expired (beyond the tolerance), or no `exp`.
    Expired,
    /// A required group is missing from `cognito:groups`.
    MissingGroup(String),
    /// A required scope is missing from `scope`.
    MissingScope(String),
    /// The JWKS could not be fetched or read.
    Jwks(String),
    /// The verifier's configuration is invalid.
    Config(String),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed token: {m}"),
            Self::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm {a:?} (only RS256)"),
            Self::UnknownKey(k) => write!(f, "no key {k:?} in the pool's JWKS"),
            Self::BadSignature => f.write_str("the signature does not verify"),
            Self::WrongIssuer => f.write_str("the token is from another issuer"),
            Self::WrongAudience => f.write_str("the token is for another app client"),
            Self::WrongTokenUse => f.write_str("the token is not of the expected kind (id/access)"),
            Self::Expired => f.write_str("the token has expired"),
            Self::MissingGroup(g) => write!(f, "the user is not in group {g:?}"),
            Self::MissingScope(s) => write!(f, "the token lacks scope {s:?}"),
            Self::Jwks(m) => write!(f, "JWKS: {m}"),
            Self::Config(m) => write!(f, "verifier configuration: {m}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Which kind of token to accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedUse {
    /// ID tokens (`token_use: id`, audience in `aud`).
    Id,
    /// Access tokens (`token_use: access`, audience in `client_id`).
    Access,
    /// Either.
    Any,
}

/// Builds a [`TokenVerifier`].
pub struct VerifierBuilder {
    issuer: String,
    client_ids: Vec<String>,
    token_use: ExpectedUse,
    tolerance: Duration,
    groups: Vec<String>,
    scopes: Vec<String>,
    transport: Option<Arc<dyn Transport>>,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// Accept tokens for this app client (call again for several; none:
    /// any client of the pool).
    #[must_use]
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_ids.push(id.into());
        self
    }

    /// Which kind of token to accept (default: any).
    #[must_use]
    pub fn token_use(mut self, token_use: ExpectedUse) -> Self {
        self.token_use = token_use;
        self
    }

    /// Clock tolerance for `exp` (default 5 s).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Require membership of a group (`cognito:groups`).
    #[must_use]
    pub fn require_group(mut self, group: impl Into<String>) -> Self {
        self.groups.push(group.into());
        self
    }

    /// Require a scope (`scope`, access tokens).
    #[must_use]
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// The transport for fetching the JWKS (default [`HyperTransport`]).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> Result<TokenVerifier, VerifyError> {
        let uri: http::Uri = self.issuer.parse().map_err(|_| VerifyError::Config("the issuer is not a URL".into()))?;
        match (uri.scheme_str(), uri.host()) {
            (Some("https"), Some(_)) => {}
            (Some("http"), Some(host)) if crate::config::is_loopback(host) => {}
            _ => return Err(VerifyError::Config("the issuer must be https (http only for loopback)".into())),
        }
        let transport = match self.transport {
            Some(t) => t,
            None => Arc::new(HyperTransport::new().map_err(|e| VerifyError::Config(e.to_string()))?),
        };
        Ok(TokenVerifier {
            jwks_url: format!("{}/.well-known/jwks.json", self.issuer.trim_end_matches('/')),
            issuer: self.issuer.trim_end_matches('/').to_owned(),
            client_ids: self.client_ids,
            token_use: self.token_use,
            tolerance: self.tolerance,
            groups: self.groups,
            scopes: self.scopes,
            transport,
            keys: RwLock::new(HashMap::new()),
            fetched: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
        })
    }
}

/// An RSA public key from the JWKS.
#[derive(Clone)]
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Verifies tokens issued by one user pool. Cheap to share (`Arc`).
pub struct TokenVerifier {
    issuer: String,
    jwks_url: String,
    client_ids: Vec<String>,
    token_use: ExpectedUse,
    tolerance: Duration,
    groups: Vec<String>,
    scopes: Vec<String>,
    transport: Arc<dyn Transport>,
    keys: RwLock<HashMap<String, RsaKey>>,
    fetched: Mutex<Option<Instant>>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// Unknown `kid`s trigger at most one JWKS fetch per this interval.
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

impl TokenVerifier {
    /// A verifier for a Cognito user pool (issuer
    /// `https://cognito-idp.<region>.amazonaws.com/<poolId>`).
    #[must_use]
    pub fn for_user_pool(user_pool_id: &str) -> VerifierBuilder {
        let region = user_pool_id.split('_').next().unwrap_or_default();
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        Self::for_issuer(format!("https://cognito-idp.{region}.{suffix}/{user_pool_id}"))
    }

    /// A verifier for any issuer URL serving `<issuer>/.well-known/jwks.json`
    /// (the local pool's issuer is `http://127.0.0.1:PORT/<poolId>`).
    #[must_use]
    pub fn for_issuer(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
            client_ids: Vec::new(),
            token_use: ExpectedUse::Any,
            tolerance: Duration::from_secs(5),
            groups: Vec::new(),
            scopes: Vec::new(),
            transport: None,
        }
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<JwtClaims, VerifyError> {
        let jwt = Jwt::decode(token).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        let alg = jwt.header().alg.clone().unwrap_or_default();
        if alg != "RS256" {
            return Err(VerifyError::UnsupportedAlgorithm(alg));
        }
        let kid = jwt.header().kid.clone().ok_or_else(|| VerifyError::Malformed("no kid".into()))?;
        let key = self.key(&kid).await?;
        let token = token.trim();
        let (signing_input, signature) =
            token.rsplit_once('.').ok_or_else(|| VerifyError::Malformed("no signature".into()))?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| VerifyError::Malformed("the signature is not base64url".into()))?;
        ring::signature::RsaPublicKeyComponents { n: &key.n, e: &key.e }
            .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, signing_input.as_bytes(), &signature)
            .map_err(|_| VerifyError::BadSignature)?;

        let claims = jwt.claims().clone();
        if claims.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(VerifyError::WrongIssuer);
        }
        let used = claims.token_use.clone();
        match (self.token_use, &used) {
            (ExpectedUse::Id, Some(TokenUse::Id))
            | (ExpectedUse::Access, Some(TokenUse::Access))
            | (ExpectedUse::Any, Some(TokenUse::Id | TokenUse::Access)) => {}
            _ => return Err(VerifyError::WrongTokenUse),
        }
        if !self.client_ids.is_empty() {
            let ok = match used {
                Some(TokenUse::Id) => claims.aud.iter().any(|a| self.client_ids.contains(a)),
                _ => claims.client_id.as_ref().is_some_and(|c| self.client_ids.contains(c)),
            };
            if !ok {
                return Err(VerifyError::WrongAudience);
            }
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let tolerance = self.tolerance.as_secs();
        match claims.exp {
            Some(exp) if u64::try_from(exp).unwrap_or(0).saturating_add(tolerance) > now => {}
            _ => return Err(VerifyError::Expired),
        }
        for group in &self.groups {
            if !claims.cognito_groups.contains(group) {
                return Err(VerifyError::MissingGroup(group.clone()));
            }
        }
        for scope in &self.scopes {
            if !claims.scopes().any(|s| s == scope) {
                return Err(VerifyError::MissingScope(scope.clone()));
            }
        }
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<RsaKey, VerifyError> {
        if let Some(key) = self.keys.read().ok().and_then(|k| k.get(kid).cloned()) {
            return Ok(key);
        }
        let _one_fetch = self.fetch_lock.lock().await;
        if let Some(key) = self.keys.read().ok().and_then(|k| k.get(kid).cloned()) {
            return Ok(key);
        }
        let recent = self.fetched.lock().ok().and_then(|f| *f).is_some_and(|at| at.elapsed() < REFETCH_INTERVAL);
        if recent {
            return Err(VerifyError::UnknownKey(kid.to_owned()));
        }
        let keys = self.fetch_jwks().await;
        if let Ok(mut at) = self.fetched.lock() {
            *at = Some(Instant::now());
        }
        let keys = keys?;
        let found = keys.get(kid).cloned();
        if let Ok(mut cache) = self.keys.write() {
            *cache = keys;
        }
        found.ok_or_else(|| VerifyError::UnknownKey(kid.to_owned()))
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, RsaKey>, VerifyError> {
        let request = http::Request::get(&self.jwks_url)
            .body(Vec::new())
            .map_err(|e| VerifyError::Config(format!("JWKS URL: {e}")))?;
        let response = tokio::time::timeout(Duration::from_secs(15), self.transport.send(request))
            .await
            .map_err(|_| VerifyError::Jwks("timed out".into()))?
            .map_err(|e| VerifyError::Jwks(e.message))?;
        if response.status != 200 {
            return Err(VerifyError::Jwks(format!("HTTP {}", response.status)));
        }
        let json: Value = serde_json::from_slice(&response.body).map_err(|_| VerifyError::Jwks("not JSON".into()))?;
        let b64 = |v: &Value| {
            v.as_str()
                .and_then(|s| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
        };
        let mut keys = HashMap::new();
        for key in json["keys"].as_array().ok_or_else(|| VerifyError::Jwks("no keys".into()))? {
            if key["kty"] != "RSA" || key.get("use").is_some_and(|u| u != "sig") {
                continue;
            }
            if let (Some(kid), Some(n), Some(e)) = (key["kid"].as_str(), b64(&key["n"]), b64(&key["e"])) {
                keys.insert(kid.to_owned(), RsaKey { n, e });
            }
        }
        Ok(keys)
    }
}
