//! Sign-in through the hosted UI: OAuth 2.0 authorization code with PKCE
//! (Amplify's `signInWithRedirect`), for native apps, desktop apps and CLIs
//! (RFC 8252).
//!
//! [`Auth::sign_in_with_redirect`] makes the state and the PKCE verifier and
//! returns a [`RedirectSignIn`]: open [`RedirectSignIn::url`] in the system
//! browser, then hand the URL the browser was sent back to to
//! [`RedirectSignIn::complete`], or let
//! [`RedirectSignIn::complete_with_listener`] catch it on a loopback
//! [`RedirectListener`]. Completion checks the state, exchanges the code at
//! `/oauth2/token`, stores the tokens like any sign-in, and dispatches
//! `customOAuthState` (when a custom state was given), `signInWithRedirect`
//! and `signedIn`, in Amplify's order. Every other ending (an `error=` from
//! the hosted UI, a state mismatch, a failed exchange, a timeout, a
//! cancellation, or dropping the flow) dispatches
//! `signInWithRedirect_failure` once and leaves nothing in flight: the
//! state and the verifier live only inside the [`RedirectSignIn`].
//!
//! # Sign-out
//! A session from the hosted UI is marked in storage (Amplify's
//! `oauthMetadata` key, `{"oauthSignIn":true}`). [`Auth::sign_out`] then
//! also returns the hosted UI's `/logout` URL in
//! [`SignOutOutput::oauth_sign_out_url`](crate::SignOutOutput), and
//! [`Auth::sign_out_with_redirect`] hands it to an opener (the system
//! browser) after clearing local state, as Amplify does on the web.
//!
//! # The domain
//! [`OAuthConfig::domain`](crate::config::OAuthConfig) is Cognito's
//! `<prefix>.auth.<region>.amazoncognito.com` (or a custom domain), reached
//! over `https`. It may also be written with a scheme: `https://...`, or
//! `http://` for a loopback host only (`127.0.0.1`, `[::1]`, `localhost`),
//! which is how the local pool's hosted UI is configured
//! (`http://127.0.0.1:PORT`). Any other `http://` domain is refused.
//!
//! # Differences from Amplify JS
//! - The PKCE verifier is 128 characters from RFC 7636's unreserved set
//!   `[A-Za-z0-9-._~]` (Amplify: `[A-Za-z0-9]`), drawn without modulo bias.
//! - The custom state is hex-encoded from its UTF-8 bytes: identical to
//!   Amplify's `urlSafeEncode` for ASCII, and correct beyond U+00FF, where
//!   Amplify's encoding does not round-trip.
//! - A client secret, when configured, authenticates the code exchange
//!   (HTTP Basic), so confidential clients work too.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use cognito_wire::cognito_idp::AuthenticationResultType;
use cognito_wire::{ErrorCode, ServiceError};
use hub_events::{AuthEvent, AuthEventError, AuthUser};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::client::Auth;
use crate::error::{AuthError, Delivery};
use crate::now_ms;
use crate::session::{Cached, record_from_result};
use crate::steps::{SignInOutput, SignInStep};

/// A federated identity provider for the hosted UI (Amplify's `provider`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthProvider {
    /// The user pool's own sign-in page (`identity_provider=COGNITO`).
    Cognito,
    /// `Google`.
    Google,
    /// `Facebook`.
    Facebook,
    /// Login with Amazon (`LoginWithAmazon`).
    Amazon,
    /// Sign in with Apple (`SignInWithApple`).
    Apple,
    /// A provider by its name in the user pool (an OIDC or SAML provider).
    Custom(String),
    /// A provider by one of its identifiers (`idp_identifier=`).
    IdpIdentifier(String),
}

/// `prompt` for the authorize request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthPrompt {
    /// Resume an existing hosted-UI session without showing anything.
    None,
    /// Always ask for credentials.
    Login,
    /// Ask for consent again.
    Consent,
    /// Let the user pick an account.
    SelectAccount,
}

impl OAuthPrompt {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Login => "login",
            Self::Consent => "consent",
            Self::SelectAccount => "select_account",
        }
    }
}

/// Options for [`Auth::sign_in_with_redirect`].
#[derive(Clone, Debug, Default)]
pub struct SignInWithRedirectOptions {
    /// The identity provider (default: the pool's own page, `COGNITO`;
    /// with [`OAuthPrompt::None`] and no provider, none is named).
    pub provider: Option<OAuthProvider>,
    /// State handed back to the app on success (`customOAuthState`).
    pub custom_state: Option<String>,
    /// `login_hint`: the username or email to prefill.
    pub login_hint: Option<String>,
    /// `lang`: the hosted UI's language.
    pub lang: Option<String>,
    /// `nonce` for the ID token.
    pub nonce: Option<String>,
    /// `prompt`. When set, signing in while signed in is allowed (as in
    /// Amplify).
    pub prompt: Option<OAuthPrompt>,
    /// The redirect URI, one of the configuration's `redirect_sign_in`
    /// (default: the first loopback `http://` one, else the first with an
    /// app scheme, else the first).
    pub redirect_uri: Option<String>,
}

/// The URL of the hosted UI for a domain (see the module docs).
pub(crate) fn hosted_ui_base(domain: &str) -> Result<String, AuthError> {
    let domain = domain.trim().trim_end_matches('/');
    if domain.is_empty() {
        return Err(AuthError::validation("oauth.domain", "must not be empty"));
    }
    if let Some(rest) = domain.strip_prefix("http://") {
        let host = authority_host(rest);
        if !is_loopback_host(host) {
            return Err(AuthError::validation("oauth.domain", "http:// is allowed for loopback hosts only"));
        }
        return Ok(domain.to_owned());
    }
    if domain.starts_with("https://") {
        return Ok(domain.to_owned());
    }
    if domain.contains("://") {
        return Err(AuthError::validation("oauth.domain", "the scheme must be https (or http for loopback)"));
    }
    Ok(format!("https://{domain}"))
}

/// The host of `host[:port][/path]` (brackets kept for IPv6).
fn authority_host(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn is_loopback_uri(uri: &str) -> bool {
    uri.strip_prefix("http://").is_some_and(|rest| is_loopback_host(authority_host(rest)))
}

/// Random characters from `alphabet`, without modulo bias.
fn random_string(len: usize, alphabet: &[u8]) -> Result<String, AuthError> {
    let n = alphabet.len();
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        crate::random::fill(&mut buf)?;
        for &b in &buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % n]));
            }
        }
    }
    Ok(out)
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// A PKCE code verifier: 128 characters of `[A-Za-z0-9-._~]`.
pub fn generate_code_verifier() -> Result<Zeroizing<String>, AuthError> {
    random_string(128, UNRESERVED).map(Zeroizing::new)
}

/// The S256 code challenge: `base64url(SHA-256(verifier))`, unpadded.
#[must_use]
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Hex of the UTF-8 bytes (Amplify's `urlSafeEncode` for ASCII).
fn hex_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    String::from_utf8(bytes?).ok()
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The parameters of an authorize request (see
/// [`authorize_url`]); built by [`Auth::sign_in_with_redirect`].
#[derive(Clone, Debug, Default)]
pub struct AuthorizeRequest<'a> {
    /// The hosted UI base URL (`https://domain`).
    pub base: &'a str,
    /// The app client id.
    pub client_id: &'a str,
    /// The redirect URI.
    pub redirect_uri: &'a str,
    /// `code` or `token`.
    pub response_type: &'a str,
    /// Scopes (space-joined in the URL).
    pub scopes: &'a [String],
    /// The identity provider.
    pub provider: Option<&'a OAuthProvider>,
    /// `state`.
    pub state: &'a str,
    /// The S256 challenge (code flow).
    pub code_challenge: Option<&'a str>,
    /// `login_hint`.
    pub login_hint: Option<&'a str>,
    /// `lang`.
    pub lang: Option<&'a str>,
    /// `nonce`.
    pub nonce: Option<&'a str>,
    /// `prompt`.
    pub prompt: Option<OAuthPrompt>,
}

/// The `/oauth2/authorize` URL, with Amplify's parameter order.
#[must_use]
pub fn authorize_url(req: &AuthorizeRequest<'_>) -> String {
    let scope = req.scopes.join(" ");
    let mut pairs: Vec<(&str, &str)> =
        vec![("redirect_uri", req.redirect_uri), ("response_type", req.response_type), ("client_id", req.client_id)];
    match req.provider {
        Some(OAuthProvider::IdpIdentifier(id)) => pairs.push(("idp_identifier", id)),
        Some(p) => pairs.push(("identity_provider", provider_name(p))),
        None if req.prompt == Some(OAuthPrompt::None) => {}
        None => pairs.push(("identity_provider", "COGNITO")),
    }
    if !scope.is_empty() {
        pairs.push(("scope", &scope));
    }
    if let Some(v) = req.login_hint {
        pairs.push(("login_hint", v));
    }
    if let Some(v) = req.lang {
        pairs.push(("lang", v));
    }
    if let Some(v) = req.nonce {
        pairs.push(("nonce", v));
    }
    if let Some(p) = req.prompt {
        pairs.push(("prompt", p.as_str()));
    }
    pairs.push(("state", req.state));
    if let Some(c) = req.code_challenge {
        pairs.push(("code_challenge", c));
        pairs.push(("code_challenge_method", "S256"));
    }
    format!("{}/oauth2/authorize?{}", req.base, encode_pairs(&pairs))
}

fn provider_name(p: &OAuthProvider) -> &str {
    match p {
        OAuthProvider::Cognito => "COGNITO",
        OAuthProvider::Google => "Google",
        OAuthProvider::Facebook => "Facebook",
        OAuthProvider::Amazon => "LoginWithAmazon",
        OAuthProvider::Apple => "SignInWithApple",
        OAuthProvider::Custom(name) | OAuthProvider::IdpIdentifier(name) => name,
    }
}

fn pick_redirect(configured: &[String], wanted: Option<&str>) -> Result<String, AuthError> {
    if let Some(w) = wanted {
        return configured.iter().find(|u| *u == w).cloned().ok_or_else(|| {
            AuthError::validation("redirect_uri", "is not one of the configured redirect_sign_in URLs")
        });
    }
    configured
        .iter()
        .find(|u| is_loopback_uri(u))
        .or_else(|| configured.iter().find(|u| !u.starts_with("http://") && !u.starts_with("https://")))
        .or_else(|| configured.first())
        .cloned()
        .ok_or_else(|| AuthError::validation("oauth.redirect_sign_in", "no redirect URL is configured"))
}

/// A sign-in through the hosted UI, started by
/// [`Auth::sign_in_with_redirect`]. Holds the state and the PKCE verifier;
/// finishing it any way (or dropping it) ends the flow.
pub struct RedirectSignIn {
    auth: Auth,
    url: String,
    base: String,
    redirect_uri: String,
    response_type: String,
    state: String,
    custom_state: Option<String>,
    verifier: Option<Zeroizing<String>>,
    finished: bool,
}

impl fmt::Debug for RedirectSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedirectSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .field("response_type", &self.response_type)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

fn oauth_error(code: &str, message: impl Into<String>, status: u16) -> AuthError {
    AuthError::Service(ServiceError {
        code: ErrorCode::Unknown(code.to_owned()),
        message: Some(message.into()),
        request_id: None,
        status,
    })
}

impl Auth {
    /// Starts a sign-in through the hosted UI (Amplify's
    /// `signInWithRedirect`): returns the URL to open and the flow to
    /// complete. Needs OAuth configuration; fails with
    /// [`AuthError::UserAlreadyAuthenticated`] while signed in, unless a
    /// `prompt` is given, and with [`AuthError::InvalidState`] while
    /// federated to the identity pool.
    ///
    /// With `response_type` `token` (the implicit flow) the hosted UI
    /// returns tokens in the redirect's fragment and no refresh token, so
    /// the session ends when they expire; prefer the code flow.
    pub async fn sign_in_with_redirect(&self, options: SignInWithRedirectOptions) -> Result<RedirectSignIn, AuthError> {
        let config = self.config();
        let oauth = config.oauth().ok_or_else(|| AuthError::validation("oauth", "OAuth is not configured"))?;
        if oauth.redirect_sign_in.is_empty() {
            return Err(AuthError::validation("oauth.redirect_sign_in", "no redirect URL is configured"));
        }
        if options.prompt.is_none() && self.peek_tokens().await?.is_some() {
            return Err(AuthError::UserAlreadyAuthenticated);
        }
        if self.shared.is_federated().await {
            return Err(AuthError::invalid_state(
                "federated to the identity pool; call clear_federation_to_identity_pool or sign_out first",
            ));
        }
        let base = hosted_ui_base(&oauth.domain)?;
        let redirect_uri = pick_redirect(&oauth.redirect_sign_in, options.redirect_uri.as_deref())?;
        let response_type = if oauth.response_type == "token" { "token" } else { "code" };
        let random = random_string(32, ALPHANUMERIC)?;
        let state = match &options.custom_state {
            Some(custom) => format!("{random}-{}", hex_encode(custom)),
            None => random,
        };
        let verifier = if response_type == "code" { Some(generate_code_verifier()?) } else { None };
        let challenge = verifier.as_deref().map(|v| code_challenge(v));
        let url = authorize_url(&AuthorizeRequest {
            base: &base,
            client_id: config.client_id(),
            redirect_uri: &redirect_uri,
            response_type,
            scopes: &oauth.scopes,
            provider: options.provider.as_ref(),
            state: &state,
            code_challenge: challenge.as_deref(),
            login_hint: options.login_hint.as_deref(),
            lang: options.lang.as_deref(),
            nonce: options.nonce.as_deref(),
            prompt: options.prompt,
        });
        Ok(RedirectSignIn {
            auth: self.clone(),
            url,
            base,
            redirect_uri,
            response_type: response_type.to_owned(),
            state,
            custom_state: options.custom_state,
            verifier,
            finished: false,
        })
    }
}

impl RedirectSignIn {
    /// The `/oauth2/authorize` URL to open in a browser.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The redirect URI the hosted UI will send the browser back to.
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Ends the flow as cancelled by the user (`signInWithRedirect_failure`).
    pub fn cancel(mut self) {
        let err = AuthError::invalid_state("User cancelled OAuth flow.");
        self.fail(&err);
    }

    fn fail(&mut self, err: &AuthError) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.verifier = None;
        self.auth.shared.hub_dispatch(&AuthEvent::SignInWithRedirectFailure(Some(AuthEventError {
            name: err.name().to_owned(),
            message: err.to_string(),
            recovery_suggestion: None,
        })));
    }

    /// Waits on `listener` for the browser's redirect (at most `timeout`),
    /// then completes. A timeout ends the flow like any failure.
    pub async fn complete_with_listener(
        mut self,
        listener: RedirectListener,
        timeout: Duration,
    ) -> Result<SignInOutput, AuthError> {
        let path = path_of(&self.redirect_uri).to_owned();
        // The implicit flow's tokens come in the fragment, which browsers
        // never send: the listener relays it (see `accept_fragment`).
        let accepted = if self.response_type == "token" {
            listener.accept_fragment(Some(&path), timeout).await
        } else {
            listener.accept(Some(&path), timeout).await
        };
        match accepted {
            Ok(url) => self.complete(&url).await,
            Err(err) => {
                self.fail(&err);
                Err(err)
            }
        }
    }

    /// Completes the flow with the URL the browser was redirected to
    /// (query for the code flow, fragment for the implicit flow).
    pub async fn complete(mut self, redirect_url: &str) -> Result<SignInOutput, AuthError> {
        match self.finish(redirect_url).await {
            Ok(out) => Ok(out),
            Err(err) => {
                self.fail(&err);
                Err(err)
            }
        }
    }

    async fn finish(&mut self, redirect_url: &str) -> Result<SignInOutput, AuthError> {
        let (without_fragment, fragment) = redirect_url.split_once('#').unwrap_or((redirect_url, ""));
        let query = without_fragment.split_once('?').map_or("", |(_, q)| q);
        let mut params = parse_pairs(query);
        if self.response_type == "token" {
            params.extend(parse_pairs(fragment));
        }
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let Some(error) = param("error") {
            let description = param("error_description").unwrap_or_else(|| error.clone());
            return Err(oauth_error(&error, description, 400));
        }
        let Some(state) = param("state") else {
            return Err(AuthError::invalid_state("User cancelled OAuth flow."));
        };
        let expected = self.state.as_bytes();
        let matches = state.len() == expected.len()
            && state.as_bytes().iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !matches {
            return Err(oauth_error("OAuthSignInException", "An error occurred while validating the state", 400));
        }
        let result = if self.response_type == "token" {
            let access = param("access_token").ok_or_else(|| AuthError::invalid_state("User cancelled OAuth flow."))?;
            AuthenticationResultType {
                access_token: Some(access.into()),
                id_token: param("id_token").map(Into::into),
                token_type: param("token_type"),
                expires_in: param("expires_in").and_then(|e| e.parse().ok()),
                ..Default::default()
            }
        } else {
            let code = param("code").ok_or_else(|| AuthError::invalid_state("User cancelled OAuth flow."))?;
            self.exchange(&code).await?
        };
        self.store(&result).await
    }

    async fn exchange(&mut self, code: &str) -> Result<AuthenticationResultType, AuthError> {
        let config = self.auth.config().clone();
        let verifier = self.verifier.take().unwrap_or_default();
        let body = encode_pairs(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", config.client_id()),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", &verifier),
        ]);
        let mut request = http::Request::post(format!("{}/oauth2/token", self.base))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-amz-user-agent", format!("{} auth/signInWithRedirect", crate::transport::USER_AGENT))
            .header(http::header::CACHE_CONTROL, "no-store");
        if let Some(secret) = config.client_secret() {
            // Cognito: `Basic base64(client_id:client_secret)`, unencoded.
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                config.client_id(),
                secret.expose_secret()
            ));
            request = request.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let request =
            request.body(body.into_bytes()).map_err(|err| AuthError::validation("oauth.domain", err.to_string()))?;
        let timeout = config.retry().attempt_timeout;
        let transport = self.auth.shared.caller.transport().clone();
        let response = match tokio::time::timeout(timeout, transport.send(request)).await {
            Err(_) => {
                return Err(AuthError::Transport {
                    delivery: Delivery::MaybeSent,
                    message: format!("no response from the token endpoint within {timeout:?}"),
                });
            }
            Ok(Err(err)) => return Err(AuthError::Transport { delivery: err.delivery, message: err.message }),
            Ok(Ok(r)) => r,
        };
        let json: serde_json::Value = serde_json::from_slice(&response.body).map_err(|_| {
            AuthError::protocol(format!("the token endpoint answered HTTP {} without JSON", response.status))
        })?;
        let text = |k: &str| json.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
        if response.status != 200 || json.get("error").is_some() {
            let code = text("error").unwrap_or_else(|| "OAuthSignInException".to_owned());
            let message = text("error_description").or_else(|| text("error_message")).unwrap_or_else(|| code.clone());
            return Err(oauth_error(&code, message, response.status));
        }
        let access = text("access_token").ok_or_else(|| AuthError::protocol("token response without access_token"))?;
        Ok(AuthenticationResultType {
            access_token: Some(access.into()),
            id_token: text("id_token").map(Into::into),
            refresh_token: text("refresh_token").map(Into::into),
            token_type: text("token_type"),
            expires_in: json.get("expires_in").and_then(serde_json::Value::as_i64).map(|e| e as i32),
            ..Default::default()
        })
    }

    async fn store(&mut self, result: &AuthenticationResultType) -> Result<SignInOutput, AuthError> {
        let shared = &self.auth.shared;
        // Serialise with password sign-ins (their conversation lock).
        let _conversation = shared.conversation.lock().await;
        let record = record_from_result(result, "username", None, now_ms())?;
        shared.store.save(&record).await?;
        // Remember that this session came from the hosted UI, so that
        // sign-out also signs out there (`/logout`).
        let marker = oauth_marker_key(&shared.store, &record.username);
        shared.store.storage().set(&marker, OAUTH_MARKER).await.map_err(token_store::TokenStoreError::from)?;
        let tolerance_ms = i64::try_from(shared.config.expiry_tolerance().as_millis()).unwrap_or(i64::MAX);
        let cached = std::sync::Arc::new(Cached::from_record(record, tolerance_ms)?);
        let user = AuthUser {
            username: cached.tokens.username.clone(),
            user_id: cached.tokens.user_sub.clone().unwrap_or_default(),
            sign_in_details: None,
        };
        shared.sessions.set(Some(cached));
        self.finished = true;
        if let Some(custom) = self.state.split_once('-').map(|(_, hex)| hex) {
            let decoded = hex_decode(custom).or_else(|| self.custom_state.clone()).unwrap_or_default();
            shared.hub_dispatch(&AuthEvent::CustomOAuthState(decoded));
        }
        shared.hub_dispatch(&AuthEvent::SignInWithRedirect);
        shared.hub_dispatch(&AuthEvent::SignedIn(user));
        Ok(SignInOutput { is_signed_in: true, next_step: SignInStep::Done })
    }
}

impl Drop for RedirectSignIn {
    fn drop(&mut self) {
        if !self.finished {
            self.fail(&AuthError::invalid_state("User cancelled OAuth flow."));
        }
    }
}

/// The value Amplify stores under `oauthMetadata`.
const OAUTH_MARKER: &str = "{\"oauthSignIn\":true}";

/// Where the hosted-UI marker lives: Amplify's
/// `CognitoIdentityServiceProvider.<clientId>.<username>.oauthMetadata`
/// (removed with the tokens), or beside the native session record.
fn oauth_marker_key(store: &token_store::TokenStore, username: &str) -> String {
    match store.layout() {
        token_store::Layout::AmplifyCompat => store.amplify_user_key(username, "oauthMetadata"),
        _ => format!("{}.oauthMetadata", store.native_session_key().trim_end_matches(".session")),
    }
}

/// The hosted UI's `/logout` URL (Amplify's `oAuthSignOutRedirect`):
/// `https://<domain>/logout?client_id=<id>&logout_uri=<sign-out URL>`,
/// with `redirect_url` when given (it must be one of the configured
/// `redirect_sign_out` URLs), else the first configured one.
pub fn sign_out_url(config: &crate::AuthConfig, redirect_url: Option<&str>) -> Result<String, AuthError> {
    let oauth = config.oauth().ok_or_else(|| AuthError::validation("oauth", "OAuth is not configured"))?;
    let base = hosted_ui_base(&oauth.domain)?;
    let logout_uri = match redirect_url {
        Some(wanted) => oauth.redirect_sign_out.iter().find(|u| *u == wanted).ok_or_else(|| {
            AuthError::validation("redirect_url", "is not one of the configured redirect_sign_out URLs")
        })?,
        None => oauth
            .redirect_sign_out
            .first()
            .ok_or_else(|| AuthError::validation("oauth.redirect_sign_out", "no sign-out URL is configured"))?,
    };
    Ok(format!("{base}/logout?{}", encode_pairs(&[("client_id", config.client_id()), ("logout_uri", logout_uri)])))
}

impl Auth {
    /// During [`Auth::sign_out`]: whether the session being cleared came
    /// from the hosted UI (its marker is removed either way), and if so the
    /// `/logout` URL to open.
    pub(crate) async fn take_oauth_sign_out(&self, username: &str) -> Option<String> {
        let store = &self.shared.store;
        let key = oauth_marker_key(store, username);
        let marked = store.storage().get(&key).await.ok().flatten().is_some();
        let _ = store.storage().remove(&key).await;
        if !marked {
            return None;
        }
        sign_out_url(&self.shared.config, None).ok()
    }

    /// Signs out (as [`Auth::sign_out`]) and, when the session came from
    /// the hosted UI, hands its `/logout` URL to `open` (e.g. to launch the
    /// system browser) so the hosted UI's session ends too; Amplify clears
    /// local state first, then redirects, and so does this. `redirect_url`
    /// picks one of the configured sign-out URLs. An error from `open`
    /// is returned as `OAuthSignOutException` (local state is already
    /// cleared).
    pub async fn sign_out_with_redirect<F>(
        &self,
        global: bool,
        redirect_url: Option<&str>,
        open: F,
    ) -> Result<crate::SignOutOutput, AuthError>
    where
        F: FnOnce(&str) -> Result<(), String>,
    {
        if redirect_url.is_some() {
            // Refuse a bad preferred URL before signing out.
            sign_out_url(&self.shared.config, redirect_url)?;
        }
        let mut output = self.sign_out(global).await?;
        if output.oauth_sign_out_url.is_some() {
            let url = sign_out_url(&self.shared.config, redirect_url)?;
            open(&url).map_err(|message| oauth_error("OAuthSignOutException", message, 0))?;
            output.oauth_sign_out_url = Some(url);
        }
        Ok(output)
    }
}

fn path_of(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// A loopback listener for the browser's redirect (RFC 8252 §7.3): bound to
/// `127.0.0.1`, it accepts connections until one asks for the redirect path,
/// answers it with a short page, and returns its URL.
#[derive(Debug)]
pub struct RedirectListener {
    listener: TcpListener,
    port: u16,
}

/// Served for the implicit flow's redirect, which carries its answer in
/// the fragment: the page moves the fragment into the query of the same
/// path, so that the listener (on loopback only) receives it.
const RELAY_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Completing sign-in</title>\
</head><body><main><h1>Completing sign-in</h1><noscript><p>JavaScript is needed to return the sign-in to the \
application.</p></noscript></main><script>(function(){var h=location.hash.slice(1);if(h){location.replace(\
location.pathname+'?'+h);}else{document.querySelector('h1').textContent='Nothing to complete';}})();</script>\
</body></html>\n";

const DONE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed in</title></head>\
<body><main><h1>You can close this window</h1><p>Return to the application to continue.</p></main></body></html>\n";

impl RedirectListener {
    /// Binds `127.0.0.1:port` (0: any free port).
    pub async fn bind(port: u16) -> Result<Self, AuthError> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|err| AuthError::Transport {
            delivery: Delivery::NotSent,
            message: format!("cannot listen on 127.0.0.1:{port}: {err}"),
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        Ok(Self { listener, port })
    }

    /// The bound port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`, to register as a callback URL.
    #[must_use]
    pub fn redirect_uri(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits at most `timeout` for a `GET` of `path` (any path when `None`)
    /// and returns the full URL requested. Other requests get a 404 and
    /// the wait goes on.
    pub async fn accept(self, path: Option<&str>, timeout: Duration) -> Result<String, AuthError> {
        self.wait(path, timeout, false).await
    }

    /// Like [`accept`](Self::accept), for redirects that carry their answer
    /// in the URL's fragment (the implicit flow, `response_type=token`):
    /// browsers do not send fragments, so a request for `path` without a
    /// query gets a small page whose script reloads the same path with the
    /// fragment as its query, and the wait goes on until that arrives. The
    /// tokens then travel only between the browser and this loopback
    /// listener.
    pub async fn accept_fragment(self, path: Option<&str>, timeout: Duration) -> Result<String, AuthError> {
        self.wait(path, timeout, true).await
    }

    async fn wait(self, path: Option<&str>, timeout: Duration, relay: bool) -> Result<String, AuthError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out =
            || AuthError::invalid_state(format!("no redirect arrived within {timeout:?}; sign-in abandoned"));
        loop {
            let accepted = tokio::time::timeout_at(deadline, self.listener.accept()).await.map_err(|_| timed_out())?;
            let Ok((mut stream, _)) = accepted else { continue };
            // One request head, at most 16 KiB, within the deadline (and
            // never more than 10 s, so one idle connection cannot block).
            let head_deadline = deadline.min(tokio::time::Instant::now() + Duration::from_secs(10));
            let mut head = Vec::new();
            let mut buf = [0u8; 2048];
            let complete = loop {
                match tokio::time::timeout_at(head_deadline, stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break false,
                    Ok(Ok(n)) => {
                        head.extend_from_slice(&buf[..n]);
                        if head.windows(4).any(|w| w == b"\r\n\r\n") {
                            break true;
                        }
                        if head.len() > 16 * 1024 {
                            break false;
                        }
                    }
                }
            };
            if !complete {
                continue;
            }
            let text = String::from_utf8_lossy(&head);
            let mut parts = text.lines().next().unwrap_or("").split(' ');
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let target_path = target.split(['?', '#']).next().unwrap_or("");
            let wanted = method == "GET" && path.is_none_or(|p| p == target_path);
            let relaying = wanted && relay && !target.contains('?');
            let (status, body) = match (wanted, relaying) {
                (true, true) => ("200 OK", RELAY_PAGE),
                (true, false) => ("200 OK", DONE_PAGE),
                _ => ("404 Not Found", "Not found\n"),
            };
            let content_type = if wanted { "text/html; charset=utf-8" } else { "text/plain" };
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tokio::time::timeout_at(head_deadline, stream.write_all(reply.as_bytes())).await;
            let _ = stream.shutdown().await;
            if wanted && !relaying {
                return Ok(format!("http://127.0.0.1:{}{target}", self.port));
            }
        }
    }
}

/// Listens on `127.0.0.1:port` for one redirect (any path) and returns its
/// URL; fails after `timeout`.
pub async fn listen_for_redirect(port: u16, timeout: Duration) -> Result<String, AuthError> {
    RedirectListener::bind(port).await?.accept(None, timeout).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn s256_matches_rfc7636() {
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_128_unreserved_characters() {
        let v = generate_code_verifier().unwrap();
        assert_eq!(v.len(), 128);
        assert!(v.bytes().all(|b| UNRESERVED.contains(&b)));
        assert_ne!(*v, *generate_code_verifier().unwrap());
    }

    #[test]
    fn domains() {
        assert_eq!(
            hosted_ui_base("x.auth.us-east-1.amazoncognito.com").unwrap(),
            "https://x.auth.us-east-1.amazoncognito.com"
        );
        assert_eq!(hosted_ui_base("http://127.0.0.1:9229/").unwrap(), "http://127.0.0.1:9229");
        assert_eq!(hosted_ui_base("http://localhost:1").unwrap(), "http://localhost:1");
        assert_eq!(hosted_ui_base("http://[::1]:1").unwrap(), "http://[::1]:1");
        assert!(hosted_ui_base("http://example.com").is_err());
        assert!(hosted_ui_base("http://127.0.0.1.example.com").is_err());
        assert!(hosted_ui_base("ftp://x").is_err());
    }

    #[test]
    fn custom_state_round_trips() {
        for s in ["hello", "a-b c", "café ☕"] {
            assert_eq!(hex_decode(&hex_encode(s)).unwrap(), s);
        }
        assert_eq!(hex_encode("ab"), "6162"); // as Amplify's urlSafeEncode
    }

    #[test]
    fn url_has_amplifys_parameters() {
        let scopes = ["openid".to_owned(), "email".to_owned()];
        let url = authorize_url(&AuthorizeRequest {
            base: "https://d",
            client_id: "cid",
            redirect_uri: "myapp://cb",
            response_type: "code",
            scopes: &scopes,
            provider: Some(&OAuthProvider::Amazon),
            state: "s",
            code_challenge: Some("c"),
            prompt: Some(OAuthPrompt::SelectAccount),
            ..Default::default()
        });
        assert_eq!(
            url,
            "https://d/oauth2/authorize?redirect_uri=myapp%3A%2F%2Fcb&response_type=code&client_id=cid&\
             identity_provider=LoginWithAmazon&scope=openid%20email&prompt=select_account&state=s&\
             code_challenge=c&code_challenge_method=S256"
        );
        let none = authorize_url(&AuthorizeRequest {
            base: "https://d",
            prompt: Some(OAuthPrompt::None),
            ..Default::default()
        });
        assert!(!none.contains("identity_provider"));
    }

    #[test]
    fn redirect_choice() {
        let list = ["https://web/cb".to_owned(), "myapp://cb".to_owned(), "http://127.0.0.1:1/cb".to_owned()];
        assert_eq!(pick_redirect(&list, None).unwrap(), "http://127.0.0.1:1/cb");
        assert_eq!(pick_redirect(&list[..2], None).unwrap(), "myapp://cb");
        assert_eq!(pick_redirect(&list, Some("https://web/cb")).unwrap(), "https://web/cb");
        assert!(pick_redirect(&list, Some("https://other/")).is_err());
        assert_eq!(path_of("http://127.0.0.1:1/cb?x=1"), "/cb");
        assert_eq!(path_of("http://127.0.0.1:1"), "/");
    }
}
