//! Configuration: from `amplify_outputs.json` (Gen 2), from the Gen 1
//! `aws-exports` / `amplifyconfiguration.json` shape, or in code.
//!
//! ```
//! use amplify_auth::AuthConfig;
//!
//! let config = AuthConfig::builder("eu-west-1_AbCdEf123", "1example23456789")
//!     .build()
//!     .unwrap();
//! assert_eq!(config.region(), "eu-west-1");
//! assert_eq!(config.user_pool_endpoint(), "https://cognito-idp.eu-west-1.amazonaws.com");
//!
//! // Invalid configuration names the field at fault.
//! let err = AuthConfig::builder("no-underscore", "1example23456789").build().unwrap_err();
//! assert!(err.to_string().contains("user_pool_id"));
//! ```

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use token_store::SecretString;

use crate::AuthError;

/// How a sign-in starts (Amplify's `authFlowType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AuthFlow {
    /// `USER_SRP_AUTH`: the password never leaves the process (the default).
    #[default]
    UserSrp,
    /// `USER_PASSWORD_AUTH`: the password is sent over TLS (needed for user
    /// migration triggers).
    UserPassword,
    /// `CUSTOM_WITHOUT_SRP`: custom challenges only.
    CustomWithoutSrp,
    /// `CUSTOM_WITH_SRP`: SRP first, then custom challenges.
    CustomWithSrp,
    /// `USER_AUTH`: choice-based sign-in (passwordless or password).
    UserAuth,
}

impl AuthFlow {
    /// The wire spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserSrp => "USER_SRP_AUTH",
            Self::UserPassword => "USER_PASSWORD_AUTH",
            Self::CustomWithoutSrp => "CUSTOM_WITHOUT_SRP",
            Self::CustomWithSrp => "CUSTOM_WITH_SRP",
            Self::UserAuth => "USER_AUTH",
        }
    }

    /// Parses the wire spelling.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "USER_SRP_AUTH" => Self::UserSrp,
            "USER_PASSWORD_AUTH" => Self::UserPassword,
            "CUSTOM_WITHOUT_SRP" => Self::CustomWithoutSrp,
            "CUSTOM_WITH_SRP" => Self::CustomWithSrp,
            "USER_AUTH" => Self::UserAuth,
            _ => return None,
        })
    }
}

/// How many times a call is attempted and how long each attempt may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (Amplify: 3). At least 1.
    pub max_attempts: u32,
    /// The first backoff; doubled on each retry, with full jitter.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// The deadline of one attempt (connect, send, receive).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
        }
    }
}

/// OAuth settings read from configuration (used by the hosted-UI flow).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The hosted UI domain, without scheme.
    pub domain: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// Redirect URIs after sign-in.
    pub redirect_sign_in: Vec<String>,
    /// Redirect URIs after sign-out.
    pub redirect_sign_out: Vec<String>,
    /// `code` (default) or `token`.
    pub response_type: String,
    /// Federated providers offered.
    pub providers: Vec<String>,
}

/// A validated configuration. Build one with [`AuthConfig::builder`] or
/// [`AuthConfig::from_json`].
#[derive(Clone)]
pub struct AuthConfig {
    user_pool_id: String,
    client_id: String,
    client_secret: Option<SecretString>,
    region: String,
    user_pool_endpoint: String,
    identity_pool_id: Option<String>,
    identity_pool_endpoint: Option<String>,
    allow_guest_access: bool,
    auth_flow: AuthFlow,
    preferred_challenge: Option<String>,
    sign_up_verification_method: String,
    expiry_tolerance: Duration,
    retry: RetryPolicy,
    oauth: Option<OAuthConfig>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("user_pool_id", &self.user_pool_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("region", &self.region)
            .field("user_pool_endpoint", &self.user_pool_endpoint)
            .field("identity_pool_id", &self.identity_pool_id)
            .field("auth_flow", &self.auth_flow)
            .field("expiry_tolerance", &self.expiry_tolerance)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// A builder for a pool and app client.
    #[must_use]
    pub fn builder(user_pool_id: impl Into<String>, client_id: impl Into<String>) -> AuthConfigBuilder {
        AuthConfigBuilder { user_pool_id: user_pool_id.into(), client_id: client_id.into(), ..Default::default() }
    }

    /// Parses `amplify_outputs.json` (Gen 2: `{"version": "1...", "auth": {...}}`)
    /// or the Gen 1 shape (`aws_user_pools_id`, ...), and validates it.
    /// Returns a builder so that code can add what files cannot say (a
    /// custom endpoint, storage policy, a client secret).
    pub fn from_json(text: &str) -> Result<AuthConfigBuilder, AuthError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|err| AuthError::validation("config", format!("not valid JSON: {err}")))?;
        let Value::Object(map) = value else {
            return Err(AuthError::validation("config", "must be a JSON object"));
        };
        if map.keys().any(|k| k.starts_with("aws_")) {
            parse_gen1(&map)
        } else if map.get("version").and_then(Value::as_str).is_some_and(|v| v.starts_with('1')) {
            parse_gen2(&map)
        } else {
            Err(AuthError::validation(
                "config",
                "neither amplify_outputs.json (\"version\": \"1...\") nor Gen 1 aws-exports (aws_* keys)",
            ))
        }
    }

    /// The user pool id.
    #[must_use]
    pub fn user_pool_id(&self) -> &str {
        &self.user_pool_id
    }

    /// The app client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The app client secret, if the client has one.
    #[must_use]
    pub fn client_secret(&self) -> Option<&SecretString> {
        self.client_secret.as_ref()
    }

    /// The region (from the pool id unless set).
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The URL user-pool requests go to.
    #[must_use]
    pub fn user_pool_endpoint(&self) -> &str {
        &self.user_pool_endpoint
    }

    /// The identity pool id, if configured.
    #[must_use]
    pub fn identity_pool_id(&self) -> Option<&str> {
        self.identity_pool_id.as_deref()
    }

    /// The URL identity-pool requests go to, if an identity pool is configured.
    #[must_use]
    pub fn identity_pool_endpoint(&self) -> Option<&str> {
        self.identity_pool_endpoint.as_deref()
    }

    /// Whether guests get identity-pool credentials.
    #[must_use]
    pub fn allow_guest_access(&self) -> bool {
        self.allow_guest_access
    }

    /// The default sign-in flow.
    #[must_use]
    pub fn auth_flow(&self) -> AuthFlow {
        self.auth_flow
    }

    /// The default first factor for `USER_AUTH`.
    #[must_use]
    pub fn preferred_challenge(&self) -> Option<&str> {
        self.preferred_challenge.as_deref()
    }

    /// `code` or `link`.
    #[must_use]
    pub fn sign_up_verification_method(&self) -> &str {
        &self.sign_up_verification_method
    }

    /// How long before `exp` a token counts as expired (and is refreshed).
    #[must_use]
    pub fn expiry_tolerance(&self) -> Duration {
        self.expiry_tolerance
    }

    /// The retry and timeout policy.
    #[must_use]
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// OAuth settings, if configured.
    #[must_use]
    pub fn oauth(&self) -> Option<&OAuthConfig> {
        self.oauth.as_ref()
    }
}

/// Builds an [`AuthConfig`]; [`build`](Self::build) validates every field.
#[derive(Clone, Default)]
pub struct AuthConfigBuilder {
    user_pool_id: String,
    client_id: String,
    client_secret: Option<SecretString>,
    region: Option<String>,
    user_pool_endpoint: Option<String>,
    identity_pool_id: Option<String>,
    identity_pool_endpoint: Option<String>,
    allow_guest_access: bool,
    auth_flow: AuthFlow,
    preferred_challenge: Option<String>,
    sign_up_verification_method: Option<String>,
    expiry_tolerance: Option<Duration>,
    retry: RetryPolicy,
    oauth: Option<OAuthConfig>,
}

impl fmt::Debug for AuthConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfigBuilder")
            .field("user_pool_id", &self.user_pool_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The default expiry tolerance: tokens are refreshed when they have less
/// than this left. Amplify JS uses 5 s, which its users found too tight on
/// slow networks; amplify-swift uses 2 minutes. Access tokens live at least
/// 5 minutes, so 30 s leaves room on both sides.
pub const DEFAULT_EXPIRY_TOLERANCE: Duration = Duration::from_secs(30);

impl AuthConfigBuilder {
    /// The app client's secret: `SECRET_HASH` is then sent on every call
    /// that takes it. For server-side use only; never ship it in an app.
    #[must_use]
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(SecretString::new(secret.into()));
        self
    }

    /// The region, if it differs from the pool id's prefix.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A custom user-pool endpoint (the whole URL, e.g. a local pool's
    /// `http://127.0.0.1:PORT`). Plain `http` is accepted only for loopback.
    #[must_use]
    pub fn user_pool_endpoint(mut self, url: impl Into<String>) -> Self {
        self.user_pool_endpoint = Some(url.into());
        self
    }

    /// The identity pool (`region:uuid`).
    #[must_use]
    pub fn identity_pool_id(mut self, id: impl Into<String>) -> Self {
        self.identity_pool_id = Some(id.into());
        self
    }

    /// A custom identity-pool endpoint.
    #[must_use]
    pub fn identity_pool_endpoint(mut self, url: impl Into<String>) -> Self {
        self.identity_pool_endpoint = Some(url.into());
        self
    }

    /// Whether guests get identity-pool credentials.
    #[must_use]
    pub fn allow_guest_access(mut self, allow: bool) -> Self {
        self.allow_guest_access = allow;
        self
    }

    /// The default sign-in flow.
    #[must_use]
    pub fn auth_flow(mut self, flow: AuthFlow) -> Self {
        self.auth_flow = flow;
        self
    }

    /// The default first factor for `USER_AUTH` (`PASSWORD`, `PASSWORD_SRP`,
    /// `EMAIL_OTP`, `SMS_OTP`, `WEB_AUTHN`).
    #[must_use]
    pub fn preferred_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.preferred_challenge = Some(challenge.into());
        self
    }

    /// How sign-up is confirmed: `code` (default) or `link` (then
    /// [`crate::Auth::auto_sign_in`] polls until the link is followed).
    #[must_use]
    pub fn sign_up_verification_method(mut self, method: impl Into<String>) -> Self {
        self.sign_up_verification_method = Some(method.into());
        self
    }

    /// How long before expiry tokens are refreshed (default
    /// [`DEFAULT_EXPIRY_TOLERANCE`]).
    #[must_use]
    pub fn expiry_tolerance(mut self, tolerance: Duration) -> Self {
        self.expiry_tolerance = Some(tolerance);
        self
    }

    /// The retry and timeout policy.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// OAuth settings.
    #[must_use]
    pub fn oauth(mut self, oauth: OAuthConfig) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<AuthConfig, AuthError> {
        let pool_region = validate_pool_id(&self.user_pool_id)?;
        validate_client_id(&self.client_id)?;
        let region = match self.region {
            Some(region) => {
                validate_region("region", &region)?;
                region
            }
            None => pool_region,
        };
        let user_pool_endpoint = match self.user_pool_endpoint {
            Some(url) => validate_endpoint("user_pool_endpoint", &url)?,
            None => resolve_endpoint(cognito_wire::Service::CognitoIdp, &region)?,
        };
        let identity_pool_endpoint = match (&self.identity_pool_id, self.identity_pool_endpoint) {
            (None, Some(_)) => {
                return Err(AuthError::validation("identity_pool_endpoint", "set without identity_pool_id"));
            }
            (None, None) => None,
            (Some(id), endpoint) => {
                let Some((id_region, uuid)) = id.split_once(':') else {
                    return Err(AuthError::validation("identity_pool_id", "expected <region>:<uuid>"));
                };
                validate_region("identity_pool_id", id_region)?;
                if uuid.len() != 36 || !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                    return Err(AuthError::validation("identity_pool_id", "expected <region>:<uuid>"));
                }
                Some(match endpoint {
                    Some(url) => validate_endpoint("identity_pool_endpoint", &url)?,
                    None => resolve_endpoint(cognito_wire::Service::CognitoIdentity, id_region)?,
                })
            }
        };
        let sign_up_verification_method = self.sign_up_verification_method.unwrap_or_else(|| "code".to_owned());
        if !matches!(sign_up_verification_method.as_str(), "code" | "link") {
            return Err(AuthError::validation("sign_up_verification_method", "must be \"code\" or \"link\""));
        }
        if let Some(challenge) = &self.preferred_challenge
            && !matches!(challenge.as_str(), "PASSWORD" | "PASSWORD_SRP" | "EMAIL_OTP" | "SMS_OTP" | "WEB_AUTHN")
        {
            return Err(AuthError::validation(
                "preferred_challenge",
                "must be PASSWORD, PASSWORD_SRP, EMAIL_OTP, SMS_OTP or WEB_AUTHN",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(AuthError::validation("retry.max_attempts", "must be at least 1"));
        }
        if self.retry.attempt_timeout.is_zero() {
            return Err(AuthError::validation("retry.attempt_timeout", "must be positive"));
        }
        if let Some(oauth) = &self.oauth {
            if oauth.domain.is_empty() {
                return Err(AuthError::validation("oauth.domain", "must not be empty"));
            }
            if !matches!(oauth.response_type.as_str(), "code" | "token") {
                return Err(AuthError::validation("oauth.response_type", "must be \"code\" or \"token\""));
            }
        }
        Ok(AuthConfig {
            user_pool_id: self.user_pool_id,
            client_id: self.client_id,
            client_secret: self.client_secret,
            region,
            user_pool_endpoint,
            identity_pool_id: self.identity_pool_id,
            identity_pool_endpoint,
            allow_guest_access: self.allow_guest_access,
            auth_flow: self.auth_flow,
            preferred_challenge: self.preferred_challenge,
            sign_up_verification_method,
            expiry_tolerance: self.expiry_tolerance.unwrap_or(DEFAULT_EXPIRY_TOLERANCE),
            retry: self.retry,
            oauth: self.oauth,
        })
    }
}

fn resolve_endpoint(service: cognito_wire::Service, region: &str) -> Result<String, AuthError> {
    let params = cognito_wire::endpoint::EndpointParams { region: Some(region.to_owned()), ..Default::default() };
    cognito_wire::endpoint::resolve(service, &params).map_err(|err| AuthError::validation("region", err.to_string()))
}

fn validate_pool_id(id: &str) -> Result<String, AuthError> {
    let Some((region, rest)) = id.split_once('_') else {
        return Err(AuthError::validation("user_pool_id", "expected <region>_<id>, e.g. us-east-1_AbCdEf123"));
    };
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AuthError::validation("user_pool_id", "expected <region>_<id>, e.g. us-east-1_AbCdEf123"));
    }
    validate_region("user_pool_id", region)?;
    Ok(region.to_owned())
}

fn validate_region(field: &'static str, region: &str) -> Result<(), AuthError> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok { Ok(()) } else { Err(AuthError::validation(field, "not a valid AWS region")) }
}

fn validate_client_id(id: &str) -> Result<(), AuthError> {
    if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '_') {
        return Err(AuthError::validation("client_id", "expected 1 to 128 characters of [A-Za-z0-9+_]"));
    }
    Ok(())
}

/// Accepts `https://host[:port][/path]`, and `http://` only for loopback
/// hosts (127.0.0.0/8, ::1, localhost). Returns the URL without a trailing `/`.
fn validate_endpoint(field: &'static str, url: &str) -> Result<String, AuthError> {
    let uri: http::Uri = url.parse().map_err(|_| AuthError::validation(field, "not a valid URL"))?;
    let host = uri.host().ok_or_else(|| AuthError::validation(field, "URL has no host"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => {
            return Err(AuthError::validation(field, "plain http is allowed only for loopback hosts; use https"));
        }
        _ => return Err(AuthError::validation(field, "URL must start with https://")),
    }
    if uri.query().is_some() {
        return Err(AuthError::validation(field, "URL must not have a query"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn str_field<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn str_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn parse_gen2(root: &serde_json::Map<String, Value>) -> Result<AuthConfigBuilder, AuthError> {
    let Some(Value::Object(auth)) = root.get("auth") else {
        return Err(AuthError::validation("auth", "amplify_outputs.json has no auth section"));
    };
    let pool = str_field(auth, "user_pool_id").ok_or_else(|| AuthError::validation("auth.user_pool_id", "missing"))?;
    let client = str_field(auth, "user_pool_client_id")
        .ok_or_else(|| AuthError::validation("auth.user_pool_client_id", "missing"))?;
    let mut builder = AuthConfig::builder(pool, client);
    if let Some(id) = str_field(auth, "identity_pool_id") {
        builder = builder.identity_pool_id(id);
    }
    builder.allow_guest_access =
        auth.get("unauthenticated_identities_enabled").and_then(Value::as_bool).unwrap_or(false);
    if let Some(Value::Object(passwordless)) = auth.get("passwordless")
        && let Some(preferred) = str_field(passwordless, "preferred_challenge")
    {
        builder.preferred_challenge = Some(preferred.to_owned());
    }
    if let Some(Value::Object(oauth)) = auth.get("oauth") {
        let response_type = if str_field(oauth, "response_type") == Some("token") { "token" } else { "code" };
        builder.oauth = Some(OAuthConfig {
            domain: str_field(oauth, "domain").unwrap_or_default().to_owned(),
            scopes: str_list(oauth.get("scopes")),
            redirect_sign_in: str_list(oauth.get("redirect_sign_in_uri")),
            redirect_sign_out: str_list(oauth.get("redirect_sign_out_uri")),
            response_type: response_type.to_owned(),
            providers: str_list(oauth.get("identity_providers"))
                .into_iter()
                .filter_map(|p| {
                    Some(
                        match p.as_str() {
                            "GOOGLE" => "Google",
                            "FACEBOOK" => "Facebook",
                            "LOGIN_WITH_AMAZON" => "Amazon",
                            "SIGN_IN_WITH_APPLE" => "Apple",
                            _ => return None,
                        }
                        .to_owned(),
                    )
                })
                .collect(),
        });
    }
    Ok(builder)
}

fn parse_gen1(root: &serde_json::Map<String, Value>) -> Result<AuthConfigBuilder, AuthError> {
    if str_field(root, "aws_project_region").is_none() {
        return Err(AuthError::validation("aws_project_region", "missing"));
    }
    let pool =
        str_field(root, "aws_user_pools_id").ok_or_else(|| AuthError::validation("aws_user_pools_id", "missing"))?;
    let client = str_field(root, "aws_user_pools_web_client_id")
        .ok_or_else(|| AuthError::validation("aws_user_pools_web_client_id", "missing"))?;
    let mut builder = AuthConfig::builder(pool, client);
    if let Some(id) = str_field(root, "aws_cognito_identity_pool_id") {
        builder = builder.identity_pool_id(id);
    }
    builder.allow_guest_access = str_field(root, "aws_mandatory_sign_in") != Some("enable");
    if let Some(method) = str_field(root, "aws_cognito_sign_up_verification_method") {
        builder.sign_up_verification_method = Some(method.to_owned());
    }
    if let Some(Value::Object(oauth)) = root.get("oauth") {
        builder.oauth = Some(OAuthConfig {
            domain: str_field(oauth, "domain").unwrap_or_default().to_owned(),
            scopes: str_list(oauth.get("scope")),
            redirect_sign_in: str_list(oauth.get("redirectSignIn")),
            redirect_sign_out: str_list(oauth.get("redirectSignOut")),
            response_type: if str_field(oauth, "responseType") == Some("token") { "token" } else { "code" }.to_owned(),
            providers: str_list(root.get("aws_cognito_social_providers"))
                .into_iter()
                .map(|p| {
                    let mut chars = p.to_ascii_lowercase().chars().collect::<Vec<_>>();
                    if let Some(first) = chars.first_mut() {
                        *first = first.to_ascii_uppercase();
                    }
                    chars.into_iter().collect()
                })
                .collect(),
        });
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn gen2_outputs() {
        let text = r#"{"version":"1.3","auth":{"aws_region":"us-west-2","user_pool_id":"eu-central-1_Abc123",
            "user_pool_client_id":"7abc","identity_pool_id":"eu-central-1:0f2bd3e5-4b8a-4a3b-9d1c-6f3f9a6f0e11",
            "unauthenticated_identities_enabled":true,
            "oauth":{"identity_providers":["GOOGLE","SAML_X"],"domain":"x.auth.eu-central-1.amazoncognito.com",
              "scopes":["openid"],"redirect_sign_in_uri":["http://127.0.0.1:8080/"],"redirect_sign_out_uri":["http://127.0.0.1:8080/"],
              "response_type":"whatever"}}}"#;
        let config = AuthConfig::from_json(text).unwrap().build().unwrap();
        // aws_region is ignored: the region comes from the pool id, as in Amplify.
        assert_eq!(config.region(), "eu-central-1");
        assert_eq!(config.identity_pool_endpoint(), Some("https://cognito-identity.eu-central-1.amazonaws.com"));
        assert!(config.allow_guest_access());
        let oauth = config.oauth().unwrap();
        assert_eq!(oauth.response_type, "code");
        assert_eq!(oauth.providers, ["Google"]);
    }

    #[test]
    fn gen1_exports() {
        let text = r#"{"aws_project_region":"us-east-1","aws_user_pools_id":"us-east-1_X1","aws_user_pools_web_client_id":"abc",
            "aws_mandatory_sign_in":"enable","oauth":{"domain":"d.example","scope":["email"],"redirectSignIn":"myapp://,http://127.0.0.1/",
            "redirectSignOut":"myapp://","responseType":"token"},"aws_cognito_social_providers":["GOOGLE","AMAZON"]}"#;
        let config = AuthConfig::from_json(text).unwrap().build().unwrap();
        assert!(!config.allow_guest_access());
        let oauth = config.oauth().unwrap();
        assert_eq!(oauth.redirect_sign_in, ["myapp://", "http://127.0.0.1/"]);
        assert_eq!(oauth.providers, ["Google", "Amazon"]);
        assert_eq!(oauth.response_type, "token");
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases: Vec<(AuthConfigBuilder, &str)> = vec![
            (AuthConfig::builder("us-east-1_", "abc"), "user_pool_id"),
            (AuthConfig::builder("US_abc", "abc"), "user_pool_id"),
            (AuthConfig::builder("us-east-1_abc", ""), "client_id"),
            (AuthConfig::builder("us-east-1_abc", "a/b"), "client_id"),
            (
                AuthConfig::builder("us-east-1_abc", "abc").user_pool_endpoint("http://example.com"),
                "user_pool_endpoint",
            ),
            (AuthConfig::builder("us-east-1_abc", "abc").user_pool_endpoint("ftp://127.0.0.1"), "user_pool_endpoint"),
            (AuthConfig::builder("us-east-1_abc", "abc").identity_pool_id("nope"), "identity_pool_id"),
            (AuthConfig::builder("us-east-1_abc", "abc").preferred_challenge("SMS"), "preferred_challenge"),
            (
                AuthConfig::builder("us-east-1_abc", "abc")
                    .retry(RetryPolicy { max_attempts: 0, ..Default::default() }),
                "retry.max_attempts",
            ),
        ];
        for (builder, field) in cases {
            match builder.build() {
                Err(AuthError::Validation { field: got, .. }) => assert_eq!(got, field),
                other => panic!("expected a validation error on {field}, got {other:?}"),
            }
        }
        for text in ["", "[]", "{}", r#"{"version":"1"}"#, r#"{"aws_project_region":"us-east-1"}"#] {
            assert!(matches!(AuthConfig::from_json(text), Err(AuthError::Validation { .. })), "{text}");
        }
    }

    #[test]
    fn loopback_http_is_allowed() {
        let config =
            AuthConfig::builder("us-east-1_abc", "abc").user_pool_endpoint("http://127.0.0.1:9229/").build().unwrap();
        assert_eq!(config.user_pool_endpoint(), "http://127.0.0.1:9229");
        assert!(is_loopback("[::1]") && is_loopback("localhost") && !is_loopback("10.0.0.1"));
        assert!(
            !format!("{:?}", AuthConfig::builder("us-east-1_abc", "abc").client_secret("s3cr3t").build().unwrap())
                .contains("s3cr3t")
        );
    }
}
