//! The hosted UI and OAuth 2.0 endpoints of the local pool, as Cognito's
//! user-pool domain serves them: `/oauth2/authorize` (with a plain,
//! accessible sign-in page), `/login`, `/oauth2/token`, `/oauth2/userInfo`,
//! `/oauth2/revoke` and `/logout`.
//!
//! The domain is the pool's own `host:port`; the user pool is found from
//! `client_id`. App-client settings are enforced as Cognito enforces them:
//! `AllowedOAuthFlowsUserPoolClient`, `AllowedOAuthFlows` (`code`,
//! `implicit`), `AllowedOAuthScopes`, exact `CallbackURLs` and `LogoutURLs`.
//! The password is checked server-side against the stored SRP verifier (no
//! SRP on the page). Authorization codes are single-use, live 5 minutes and
//! are bound to the client, the redirect URI, the PKCE challenge (S256 only),
//! the scopes and the nonce.
//!
//! Tokens from the hosted UI carry the granted scopes in the access token's
//! `scope` (kept across refreshes) and the authorize request's `nonce` in
//! the ID token. `client_credentials` gives confidential clients an access
//! token with their resource-server scopes.
//!
//! Federated sign-in (`identity_provider=Google`, `idp_identifier=...`)
//! goes to a built-in mock identity provider,
//! `/_local-pool/idp/<Provider>/authorize`, for providers registered on the
//! pool (`CreateIdentityProvider`) and enabled for the client
//! (`SupportedIdentityProviders`). Its consent page posts to
//! `/oauth2/idpresponse`, which creates or reuses the federated user
//! `<Provider>_<subject>` (see `federation.rs`) and ends the request like a
//! password sign-in; Cancel sends `error=access_denied` to the app. The
//! sign-in page links to the client's providers ("Continue with Google").
//!
//! A successful sign-in on the page (password or mock provider) starts a
//! hosted-UI session, as Cognito's `cognito` cookie does: an `HttpOnly`,
//! `SameSite=Lax` cookie per user pool holding an opaque random id that maps
//! (in memory only) to the pool, the user and the sign-in time, for one hour
//! on the engine's clock. A later `/oauth2/authorize` for the same pool,
//! without an `identity_provider`, answers straight away with a code (or
//! tokens) while the session lasts; `prompt=login` (and `select_account`,
//! `consent`) shows the page anyway, `prompt=none` answers from the session
//! or with `error=login_required`. `/logout` ends the session.
//!
//! The sign-in page links to a sign-up page, and a correct password for a
//! user with MFA leads to a code page (see `oauth/pages.rs`). Not here yet:
//! the new-password step and MFA set-up on the page (the page says so), and
//! attribute mapping beyond email.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{self as idp, UserStatusType, operation as op};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use serde_json::{Value, json};

use crate::engine::{Engine, MAX_BODY, base64url, constant_time_eq, random_bytes};
use crate::tokens::OAuthClaims;

mod pages;

/// How long an authorization code lives (Cognito: 5 minutes).
const CODE_LIFETIME: i64 = 300;
/// How long a sign-in page stays usable.
const REQUEST_LIFETIME: i64 = 3600;
/// Bound on the in-memory maps (old entries are dropped first).
const MAX_PENDING: usize = 10_000;
/// How long a hosted-UI session lasts (Cognito's session cookie: 1 hour).
const SESSION_LIFETIME: i64 = 3600;

/// In-flight hosted-UI state: sign-in pages shown and codes issued. Kept in
/// memory only (a restarted pool forgets them, as it forgets SRP rounds).
#[derive(Default)]
pub(crate) struct Hosted {
    inner: Mutex<HostedState>,
}

/// Counts only: the maps are keyed by request ids, authorization codes and
/// session cookies, which are secrets.
impl std::fmt::Debug for Hosted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Hosted")
            .field("requests", &state.requests.len())
            .field("codes", &state.codes.len())
            .field("sessions", &state.sessions.len())
            .field("pending", &state.pending.len())
            .finish()
    }
}

#[derive(Default)]
struct HostedState {
    /// Request id (hidden form field) → the validated authorize request.
    requests: HashMap<String, AuthorizeRequest>,
    /// Authorization code → its grant.
    codes: HashMap<String, CodeGrant>,
    /// Session id (the cookie's value) → the hosted-UI session.
    sessions: HashMap<String, HostedSession>,
    /// Request id → the sign-up or MFA step it waits for.
    pending: HashMap<String, pages::Pending>,
}

/// A hosted-UI session: who signed in to which pool's page, and when.
#[derive(Debug, Clone)]
struct HostedSession {
    pool_id: String,
    user_key: String,
    auth_time: i64,
    expires: i64,
}

/// A validated `/oauth2/authorize` request.
#[derive(Debug, Clone)]
struct AuthorizeRequest {
    pool_id: String,
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: Option<String>,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    nonce: Option<String>,
    login_hint: Option<String>,
    /// The federated provider (by name) the sign-in goes through; `None`
    /// for the pool's own page.
    provider: Option<String>,
    /// Whether `provider` was named in the authorize request itself (rather
    /// than chosen later on the sign-in page).
    named_provider: bool,
    /// `prompt` (lower-cased, space-separated values).
    prompt: Vec<String>,
    /// The federated providers the sign-in page offers (registered on the
    /// pool and supported by the client), as Cognito's page lists them.
    choices: Vec<String>,
    expires: i64,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
struct CodeGrant {
    pool_id: String,
    client_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    user_key: String,
    auth_time: i64,
    expires: i64,
}

impl Hosted {
    fn lock(&self) -> std::sync::MutexGuard<'_, HostedState> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `path` is one of the hosted-UI endpoints.
pub(crate) fn handles(path: &str) -> bool {
    matches!(
        path,
        "/oauth2/authorize"
            | "/login"
            | "/oauth2/token"
            | "/oauth2/userInfo"
            | "/oauth2/revoke"
            | "/logout"
            | "/oauth2/idpresponse"
            | "/signup"
            | "/confirm"
            | "/mfa"
            | "/forgotPassword"
            | "/confirmForgotPassword"
            | "/newPassword"
            | "/mfaSetup"
            | "/mfaSelect"
    ) || path.starts_with(MOCK_IDP_PREFIX)
}

/// Where the built-in mock identity provider serves its consent pages:
/// `/_local-pool/idp/<Provider>/authorize`.
const MOCK_IDP_PREFIX: &str = "/_local-pool/idp/";

type Reply = Response<Full<Bytes>>;

/// Serves one hosted-UI request.
pub(crate) async fn handle(engine: &Engine, hosted: &Hosted, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = parse_form(req.uri().query().unwrap_or(""));
    let headers = req.headers().clone();
    let body = if method == Method::POST {
        match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Request body too large"),
        }
    } else {
        Bytes::new()
    };
    match (method, path.as_str()) {
        (Method::GET, "/login") if query.contains_key("request") && !query.contains_key("client_id") => {
            pages::sign_in_get(engine, hosted, &query)
        }
        (Method::GET, "/oauth2/authorize") | (Method::GET, "/login") => authorize(engine, hosted, &headers, &query),
        (Method::GET, "/signup") => pages::sign_up_get(engine, hosted, &query),
        (Method::GET, "/forgotPassword") => pages::forgot_get(engine, hosted, &query),
        (
            Method::POST,
            "/signup"
            | "/confirm"
            | "/mfa"
            | "/forgotPassword"
            | "/confirmForgotPassword"
            | "/newPassword"
            | "/mfaSetup"
            | "/mfaSelect",
        ) => {
            if !is_form(&headers) {
                return error_page(StatusCode::BAD_REQUEST, "invalid_request", "The form must be URL-encoded.");
            }
            let form = parse_form(&String::from_utf8_lossy(&body));
            match path.as_str() {
                "/signup" => pages::sign_up_post(engine, hosted, &form),
                "/confirm" => pages::confirm_post(engine, hosted, &headers, &form),
                "/forgotPassword" => pages::forgot_post(engine, hosted, &form),
                "/confirmForgotPassword" => pages::confirm_forgot_post(engine, hosted, &form),
                "/newPassword" => pages::new_password_post(engine, hosted, &headers, &form),
                "/mfaSetup" => pages::mfa_setup_post(engine, hosted, &headers, &form),
                "/mfaSelect" => pages::select_mfa_post(engine, hosted, &form),
                _ => pages::mfa_post(engine, hosted, &headers, &form),
            }
        }
        (Method::POST, "/login") => {
            if !is_form(&headers) {
                return error_page(StatusCode::BAD_REQUEST, "invalid_request", "The form must be URL-encoded.");
            }
            login(engine, hosted, &headers, &parse_form(&String::from_utf8_lossy(&body)))
        }
        (Method::POST, "/oauth2/token") => {
            if !is_form(&headers) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Content-Type must be application/x-www-form-urlencoded",
                );
            }
            token(engine, hosted, &headers, &parse_form(&String::from_utf8_lossy(&body)))
        }
        (Method::GET | Method::POST, "/oauth2/userInfo") => user_info(engine, &headers),
        (Method::POST, "/oauth2/revoke") => {
            if !is_form(&headers) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Content-Type must be application/x-www-form-urlencoded",
                );
            }
            revoke(engine, &headers, &parse_form(&String::from_utf8_lossy(&body)))
        }
        (Method::GET, "/logout") => logout(engine, hosted, &headers, &query),
        (Method::POST, "/oauth2/idpresponse") => {
            if !is_form(&headers) {
                return error_page(StatusCode::BAD_REQUEST, "invalid_request", "The form must be URL-encoded.");
            }
            idp_response(engine, hosted, &headers, &parse_form(&String::from_utf8_lossy(&body)))
        }
        (Method::GET, p) if p.starts_with(MOCK_IDP_PREFIX) => mock_idp_page(engine, hosted, p, &query),
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"Method not allowed")));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r
        }
    }
}

// ---------------------------------------------------------------------------
// /oauth2/authorize and the sign-in page

/// What an authorize request is refused with: an error page (bad client or
/// redirect URI, where redirecting would be unsafe) or a redirect carrying
/// `error=` back to the client.
enum Refusal {
    Page(&'static str, String),
    Redirect(&'static str, String),
}

fn authorize(engine: &Engine, hosted: &Hosted, headers: &HeaderMap, query: &BTreeMap<String, String>) -> Reply {
    let get = |k: &str| query.get(k).filter(|v| !v.is_empty()).cloned();
    let redirect_uri = get("redirect_uri").unwrap_or_default();
    let response_type = get("response_type").unwrap_or_default();
    let state = get("state");
    match validate_authorize(engine, query) {
        Ok(request) => {
            let prompt_none = request.prompt.iter().any(|p| p == "none");
            let reauthenticate =
                request.prompt.iter().any(|p| matches!(p.as_str(), "login" | "select_account" | "consent"));
            if prompt_none && reauthenticate {
                return redirect_with(
                    &request.redirect_uri,
                    request.response_type == "token",
                    &[("error", "invalid_request"), ("error_description", "prompt=none cannot be combined.")],
                    request.state.as_deref(),
                );
            }
            // The hosted-UI session answers without a page, unless the app
            // asks for a fresh sign-in or names an identity provider.
            if prompt_none || (!reauthenticate && !request.named_provider) {
                if let Some((sid, session)) = current_session(engine, hosted, headers, &request.pool_id) {
                    let reply = grant(engine, hosted, &request, session.user_key, session.auth_time, engine.now());
                    return with_cookie(reply, &session_cookie(&request.pool_id, &sid, SESSION_LIFETIME));
                }
                if prompt_none {
                    return redirect_with(
                        &request.redirect_uri,
                        request.response_type == "token",
                        &[("error", "login_required"), ("error_description", "There is no hosted UI session.")],
                        request.state.as_deref(),
                    );
                }
            }
            let id = base64url(&random_bytes::<24>());
            let mut s = hosted.lock();
            let now = engine.now();
            s.requests.retain(|_, r| r.expires > now);
            if s.requests.len() >= MAX_PENDING {
                s.requests.clear();
            }
            let reply = match &request.provider {
                // Federated: on to the provider (here, the built-in mock).
                Some(provider) => found(&format!(
                    "{MOCK_IDP_PREFIX}{}/authorize?{}",
                    percent_encode(provider),
                    encode_pairs([("state", id.as_str())].into_iter())
                )),
                None => sign_in_page(&id, request.login_hint.as_deref().unwrap_or(""), None, &request.choices),
            };
            s.requests.insert(id, request);
            reply
        }
        Err(Refusal::Page(code, message)) => error_page(StatusCode::BAD_REQUEST, code, &message),
        Err(Refusal::Redirect(code, message)) => redirect_with(
            &redirect_uri,
            response_type == "token",
            &[("error", code), ("error_description", &message)],
            state.as_deref(),
        ),
    }
}

fn validate_authorize(engine: &Engine, query: &BTreeMap<String, String>) -> Result<AuthorizeRequest, Refusal> {
    let get = |k: &str| query.get(k).filter(|v| !v.is_empty()).cloned();
    let client_id = get("client_id").ok_or_else(|| Refusal::Page("invalid_request", "client_id is missing.".into()))?;
    let state = engine.lock();
    let pool_id = Engine::pool_of_client(&state, &client_id)
        .map_err(|_| Refusal::Page("invalid_client", "Client does not exist.".into()))?;
    let client = state
        .pools
        .get(&pool_id)
        .and_then(|p| p.clients.get(&client_id))
        .cloned()
        .ok_or_else(|| Refusal::Page("invalid_client", "Client does not exist.".into()))?;
    drop(state);
    let redirect_uri =
        get("redirect_uri").ok_or_else(|| Refusal::Page("invalid_request", "redirect_uri is missing.".into()))?;
    if !client.callback_ur_ls.iter().flatten().any(|u| *u == redirect_uri) {
        return Err(Refusal::Page(
            "redirect_mismatch",
            "redirect_uri is not one of the client's callback URLs.".into(),
        ));
    }
    let redirect = |code: &'static str, message: &str| Refusal::Redirect(code, message.to_owned());
    if client.allowed_o_auth_flows_user_pool_client != Some(true) {
        return Err(redirect("unauthorized_client", "The client is not allowed to use OAuth flows."));
    }
    let response_type = get("response_type").unwrap_or_default();
    let flow = match response_type.as_str() {
        "code" => "code",
        "token" => "implicit",
        "" => return Err(redirect("invalid_request", "response_type is missing.")),
        _ => return Err(redirect("unsupported_response_type", "response_type must be code or token.")),
    };
    if !client.allowed_o_auth_flows.iter().flatten().any(|f| f.as_str() == flow) {
        return Err(redirect("unauthorized_client", &format!("The {flow} flow is not allowed for this client.")));
    }
    let allowed: Vec<String> = client.allowed_o_auth_scopes.clone().unwrap_or_default();
    let scopes: Vec<String> = match get("scope") {
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
        // Cognito grants every allowed scope when none is requested.
        None => allowed.clone(),
    };
    if scopes.iter().any(|s| !allowed.contains(s)) {
        return Err(redirect("invalid_scope", "A requested scope is not allowed for this client."));
    }
    let code_challenge = get("code_challenge");
    match (code_challenge.as_deref(), get("code_challenge_method").as_deref()) {
        (None, None) => {}
        (Some(c), Some("S256")) => {
            if !(43..=128).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(redirect("invalid_request", "code_challenge is not a base64url SHA-256 value."));
            }
        }
        (Some(_), _) => return Err(redirect("invalid_request", "code_challenge_method must be S256.")),
        (None, Some(_)) => return Err(redirect("invalid_request", "code_challenge is missing.")),
    }
    if code_challenge.is_some() && flow == "implicit" {
        return Err(redirect("invalid_request", "PKCE applies to the code flow only."));
    }
    let supported: Vec<String> = client.supported_identity_providers.clone().unwrap_or_default();
    let named = get("identity_provider").filter(|p| p != "COGNITO");
    let identifier = if get("identity_provider").is_some() { None } else { get("idp_identifier") };
    let provider = if named.is_some() || identifier.is_some() {
        // A federated provider: registered on the pool and enabled for
        // the client, else Cognito's "Login option is not available".
        let unavailable = || redirect("invalid_request", "Login option is not available. Please try another one");
        let found = engine.find_provider(&pool_id, named.as_deref(), identifier.as_deref()).ok_or_else(unavailable)?;
        let name = found.provider_name.unwrap_or_default();
        if !supported.contains(&name) {
            return Err(unavailable());
        }
        Some(name)
    } else {
        if !supported.is_empty() && !supported.iter().any(|p| p == "COGNITO") {
            return Err(redirect(
                "unauthorized_client",
                "COGNITO is not a supported identity provider of this client.",
            ));
        }
        None
    };
    let named_provider = provider.is_some();
    let prompt = get("prompt").map(|p| p.split_whitespace().map(str::to_ascii_lowercase).collect()).unwrap_or_default();
    let choices = engine.provider_choices(&pool_id, &supported);
    Ok(AuthorizeRequest {
        pool_id,
        client_id,
        redirect_uri,
        response_type,
        state: get("state"),
        scopes,
        code_challenge,
        nonce: get("nonce"),
        login_hint: get("login_hint"),
        provider,
        named_provider,
        prompt,
        choices,
        expires: engine.now() + REQUEST_LIFETIME,
    })
}

fn login(engine: &Engine, hosted: &Hosted, headers: &HeaderMap, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let username = form.get("username").map(|s| s.trim().to_owned()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let now = engine.now();
    let request = {
        let s = hosted.lock();
        s.requests.get(&id).filter(|r| r.expires > now).cloned()
    };
    let Some(request) = request else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This sign-in page has expired or is unknown. Start the sign-in again from the application.",
        );
    };
    let again = |message: &str| sign_in_page(&id, &username, Some(message), &request.choices);
    if username.is_empty() || password.is_empty() {
        return again("Enter your username and password.");
    }
    let found = match engine.user_for_sign_in(&request.pool_id, &username) {
        Ok(found) => found,
        Err(fail) if fail.message.contains("attempts exceeded") => {
            return again("Password attempts exceeded. Wait a moment and try again.");
        }
        Err(_) => return again("Incorrect username or password."),
    };
    let Some((key, user)) = found else { return again("Incorrect username or password.") };
    if !crate::auth::password_matches(&request.pool_id, &user, &password) {
        engine.record_failure(&request.pool_id, &key);
        return again("Incorrect username or password.");
    }
    engine.reset_failures(&request.pool_id, &key);
    match user.status {
        UserStatusType::Unconfirmed => {
            return again("Your account is not confirmed yet. Confirm it with the code you were sent, then sign in.");
        }
        // Cognito's pages: a code to reset the password with, or the new
        // password an administrator's temporary one calls for.
        UserStatusType::ResetRequired => return pages::reset_required(engine, hosted, &id, &request, &user),
        UserStatusType::ForceChangePassword => {
            return pages::new_password_required(engine, hosted, &id, &request, key, &user);
        }
        _ => {}
    }
    // MFA (a code page) or signed in: the request is used up, and a
    // hosted-UI session starts.
    pages::after_password(engine, hosted, headers, &id, &request, key, &user)
}

/// Ends a signed-in authorize request: tokens in the fragment (implicit
/// flow) or a code in the query, to the app's redirect URI. `auth_time` is
/// when the user signed in (earlier than `now` for a hosted-UI session).
fn grant(engine: &Engine, hosted: &Hosted, request: &AuthorizeRequest, key: String, auth_time: i64, now: i64) -> Reply {
    if request.response_type == "token" {
        let claims = OAuthClaims { scope: request.scopes.join(" "), nonce: request.nonce.clone() };
        return match engine.issue_tokens_with(
            &request.pool_id,
            &request.client_id,
            &key,
            auth_time,
            None,
            Some(&claims),
        ) {
            Ok(result) => {
                let access = result.access_token.map(|t| t.expose().clone()).unwrap_or_default();
                let id_token = result.id_token.map(|t| t.expose().clone()).unwrap_or_default();
                let expires = result.expires_in.unwrap_or(3600).to_string();
                let mut pairs: Vec<(&str, &str)> = vec![("access_token", &access)];
                if request.scopes.iter().any(|s| s == "openid") {
                    pairs.push(("id_token", &id_token));
                }
                pairs.push(("token_type", "Bearer"));
                pairs.push(("expires_in", &expires));
                redirect_with(&request.redirect_uri, true, &pairs, request.state.as_deref())
            }
            Err(fail) => redirect_with(
                &request.redirect_uri,
                true,
                &[("error", "server_error"), ("error_description", &fail.message)],
                request.state.as_deref(),
            ),
        };
    }
    let code = uuid_like();
    {
        let mut s = hosted.lock();
        s.codes.retain(|_, c| c.expires > now);
        if s.codes.len() >= MAX_PENDING {
            s.codes.clear();
        }
        s.codes.insert(
            code.clone(),
            CodeGrant {
                pool_id: request.pool_id.clone(),
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                scopes: request.scopes.clone(),
                nonce: request.nonce.clone(),
                user_key: key,
                auth_time,
                expires: now + CODE_LIFETIME,
            },
        );
    }
    redirect_with(&request.redirect_uri, false, &[("code", &code)], request.state.as_deref())
}

// ---------------------------------------------------------------------------
// The built-in mock identity provider

/// The pending request a mock-IdP page or answer belongs to.
fn federated_request(engine: &Engine, hosted: &Hosted, id: &str) -> Option<AuthorizeRequest> {
    let now = engine.now();
    hosted.lock().requests.get(id).filter(|r| r.expires > now && r.provider.is_some()).cloned()
}

fn expired_page() -> Reply {
    error_page(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "This sign-in page has expired or is unknown. Start the sign-in again from the application.",
    )
}

/// `GET /_local-pool/idp/<Provider>/authorize?state=<request>`: the mock
/// provider's consent page.
fn mock_idp_page(engine: &Engine, hosted: &Hosted, path: &str, query: &BTreeMap<String, String>) -> Reply {
    let rest = &path[MOCK_IDP_PREFIX.len()..];
    let Some(provider) = rest.strip_suffix("/authorize").map(crate::server::percent_decode) else {
        return error_page(StatusCode::NOT_FOUND, "not_found", "No such page of the mock identity provider.");
    };
    let id = query.get("state").cloned().unwrap_or_default();
    let now = engine.now();
    let request = {
        let mut s = hosted.lock();
        let Some(request) = s.requests.get_mut(&id).filter(|r| r.expires > now) else { return expired_page() };
        // From the sign-in page's "Continue with …": the request becomes
        // a federated one, for one of the providers it offered.
        if request.provider.is_none() && request.choices.contains(&provider) {
            request.provider = Some(provider.clone());
        }
        request.clone()
    };
    if request.provider.as_deref() != Some(provider.as_str()) {
        return expired_page();
    }
    let hint = request.login_hint.clone().filter(|h| h.contains('@'));
    let email = hint.unwrap_or_else(|| "federated.user@example.com".to_owned());
    // A fresh 21-digit id, shaped like Google's.
    let subject: String = random_bytes::<21>()
        .iter()
        .enumerate()
        .map(|(i, b)| if i == 0 { char::from(b'1' + b % 9) } else { char::from(b'0' + b % 10) })
        .collect();
    consent_page(&id, &provider, &subject, &email, None)
}

fn consent_page(id: &str, provider: &str, subject: &str, email: &str, error: Option<&str>) -> Reply {
    let (error_html, described) = match error {
        Some(e) => (
            format!("<p class=\"error\" id=\"error\" role=\"alert\">{}</p>\n", html_escape(e)),
            " aria-describedby=\"error\" aria-invalid=\"true\"",
        ),
        None => (String::new(), ""),
    };
    let who = if email.is_empty() { subject } else { email };
    let body = format!(
        "<h1>Sign in with {provider}</h1>\n\
         <p>The local pool's mock identity provider stands in for {provider}: nothing leaves this machine. \
         Choose who you are at {provider}, then continue.</p>\n{error_html}\
         <form method=\"post\" action=\"/oauth2/idpresponse\">\n\
         <input type=\"hidden\" name=\"state\" value=\"{id}\">\n\
         <label for=\"subject\">{provider} user id (subject)</label>\n\
         <input id=\"subject\" name=\"subject\" type=\"text\" autocomplete=\"off\" spellcheck=\"false\" \
         required value=\"{subject}\"{described}>\n\
         <label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" value=\"{email}\">\n\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"action\" value=\"continue\" id=\"continue\">Continue as {who}</button>\n\
         <button type=\"submit\" name=\"action\" value=\"cancel\" id=\"cancel\" class=\"secondary\" \
         formnovalidate>Cancel</button></div>\n</form>",
        provider = html_escape(provider),
        id = html_escape(id),
        subject = html_escape(subject),
        email = html_escape(email),
        who = html_escape(who),
    );
    form_page(&format!("Sign in with {provider}"), &body, error)
}

/// `POST /oauth2/idpresponse`: the mock provider's answer. Cancel sends
/// `error=access_denied` to the app; continue signs the federated user in.
fn idp_response(engine: &Engine, hosted: &Hosted, headers: &HeaderMap, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("state").cloned().unwrap_or_default();
    let Some(request) = federated_request(engine, hosted, &id) else { return expired_page() };
    let provider = request.provider.clone().unwrap_or_default();
    let implicit = request.response_type == "token";
    if form.get("action").map(String::as_str) != Some("continue") {
        hosted.lock().requests.remove(&id);
        return redirect_with(
            &request.redirect_uri,
            implicit,
            &[("error", "access_denied"), ("error_description", "User cancelled the sign-in at the identity provider")],
            request.state.as_deref(),
        );
    }
    let subject = form.get("subject").map(|s| s.trim().to_owned()).unwrap_or_default();
    let email = form.get("email").map(|s| s.trim().to_owned()).unwrap_or_default();
    let valid_subject = !subject.is_empty()
        && subject.len() <= 128
        && subject.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\'));
    if !valid_subject {
        return consent_page(
            &id,
            &provider,
            &subject,
            &email,
            Some("Enter a user id: printable characters, no spaces."),
        );
    }
    if !email.is_empty() && (email.len() > 254 || !email.contains('@') || email.chars().any(char::is_whitespace)) {
        return consent_page(&id, &provider, &subject, &email, Some("Enter a valid email address, or none."));
    }
    let profile = crate::federation::FederatedProfile { provider: provider.clone(), subject, email };
    let key = match engine.federated_user(&request.pool_id, &profile) {
        Ok(key) => key,
        Err(fail) => {
            hosted.lock().requests.remove(&id);
            return redirect_with(
                &request.redirect_uri,
                implicit,
                &[("error", "invalid_request"), ("error_description", &fail.message)],
                request.state.as_deref(),
            );
        }
    };
    hosted.lock().requests.remove(&id);
    let now = engine.now();
    let cookie = start_session(hosted, headers, &request.pool_id, &key, now);
    with_cookie(grant(engine, hosted, &request, key, now, now), &cookie)
}

// ---------------------------------------------------------------------------
// The hosted-UI session

/// The session cookie's name for a pool. Cognito's cookie belongs to the
/// pool's own domain; the local pool serves every pool from one host, so
/// the pool id is part of the name.
fn cookie_name(pool_id: &str) -> String {
    format!("cognito-{pool_id}")
}

/// A `Set-Cookie` value for the session (`max_age` 0 clears it).
fn session_cookie(pool_id: &str, sid: &str, max_age: i64) -> String {
    format!("{}={sid}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax", cookie_name(pool_id))
}

/// The value of the request's cookie `name`, if any.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The request's live hosted-UI session for `pool_id`, its expiry renewed
/// (as Cognito renews the cookie when the session is used). A session whose
/// user is gone, disabled or no longer confirmed ends here.
fn current_session(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    pool_id: &str,
) -> Option<(String, HostedSession)> {
    let sid = cookie_value(headers, &cookie_name(pool_id))?;
    let now = engine.now();
    let session = {
        let mut s = hosted.lock();
        s.sessions.retain(|_, v| v.expires > now);
        s.sessions.get(&sid).filter(|v| v.pool_id == pool_id).cloned()?
    };
    let usable = {
        let state = engine.lock();
        state.pools.get(pool_id).and_then(|p| p.users.get(&session.user_key)).is_some_and(|u| {
            u.enabled && matches!(u.status, UserStatusType::Confirmed | UserStatusType::ExternalProvider)
        })
    };
    let mut s = hosted.lock();
    if !usable {
        s.sessions.remove(&sid);
        return None;
    }
    let entry = s.sessions.get_mut(&sid)?;
    entry.expires = now + SESSION_LIFETIME;
    Some((sid, entry.clone()))
}

/// Starts a hosted-UI session after a sign-in on the page (a fresh id each
/// time; the request's old session for the pool, if any, ends) and returns
/// the `Set-Cookie` value.
fn start_session(hosted: &Hosted, headers: &HeaderMap, pool_id: &str, user_key: &str, now: i64) -> String {
    let sid = base64url(&random_bytes::<32>());
    let mut s = hosted.lock();
    if let Some(old) = cookie_value(headers, &cookie_name(pool_id)) {
        s.sessions.remove(&old);
    }
    s.sessions.retain(|_, v| v.expires > now);
    if s.sessions.len() >= MAX_PENDING {
        s.sessions.clear();
    }
    s.sessions.insert(
        sid.clone(),
        HostedSession {
            pool_id: pool_id.to_owned(),
            user_key: user_key.to_owned(),
            auth_time: now,
            expires: now + SESSION_LIFETIME,
        },
    );
    session_cookie(pool_id, &sid, SESSION_LIFETIME)
}

/// Ends the request's hosted-UI session for `pool_id` and returns the
/// `Set-Cookie` value that clears the cookie.
fn end_session(hosted: &Hosted, headers: &HeaderMap, pool_id: &str) -> String {
    if let Some(sid) = cookie_value(headers, &cookie_name(pool_id)) {
        hosted.lock().sessions.remove(&sid);
    }
    session_cookie(pool_id, "", 0)
}

fn with_cookie(mut reply: Reply, cookie: &str) -> Reply {
    if let Ok(v) = http::HeaderValue::from_str(cookie) {
        reply.headers_mut().append(http::header::SET_COOKIE, v);
    }
    reply
}

// ---------------------------------------------------------------------------
// /oauth2/token

fn token(engine: &Engine, hosted: &Hosted, headers: &HeaderMap, form: &BTreeMap<String, String>) -> Reply {
    let bad = |code: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, code, description);
    let (basic_id, basic_secret) = basic_auth(headers).unzip();
    let client_id = match (basic_id, form.get("client_id")) {
        (Some(b), Some(f)) if b != *f => {
            return bad("invalid_client", "client_id does not match the Authorization header");
        }
        (Some(b), _) => b,
        (None, Some(f)) => f.clone(),
        (None, None) => return bad("invalid_request", "client_id is missing"),
    };
    let client = {
        let state = engine.lock();
        Engine::pool_of_client(&state, &client_id).ok().and_then(|pool_id| {
            state.pools.get(&pool_id).and_then(|p| p.clients.get(&client_id)).cloned().map(|c| (pool_id, c))
        })
    };
    let Some((pool_id, client)) = client else { return bad("invalid_client", "Client does not exist") };
    let given_secret = basic_secret.or_else(|| form.get("client_secret").cloned());
    if let Some(secret) = &client.client_secret {
        let ok = given_secret.as_deref().is_some_and(|g| constant_time_eq(g.as_bytes(), secret.expose().as_bytes()));
        if !ok {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Client authentication failed");
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = form.get("code") else { return bad("invalid_request", "code is missing") };
            // Single use: the code is gone whatever happens next.
            let grant = hosted.lock().codes.remove(code);
            let Some(grant) = grant else { return bad("invalid_grant", "The code is invalid or was already used") };
            if grant.expires <= engine.now() {
                return bad("invalid_grant", "The code has expired");
            }
            if grant.client_id != client_id || grant.pool_id != pool_id {
                return bad("invalid_grant", "The code was issued to another client");
            }
            if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                return bad("invalid_grant", "redirect_uri does not match the authorization request");
            }
            if let Some(challenge) = &grant.code_challenge {
                let Some(verifier) = form.get("code_verifier") else {
                    return bad("invalid_grant", "code_verifier is missing");
                };
                if !valid_verifier(verifier) || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes()) {
                    return bad("invalid_grant", "code_verifier does not match the code_challenge");
                }
            }
            let claims = OAuthClaims { scope: grant.scopes.join(" "), nonce: grant.nonce.clone() };
            match engine.issue_tokens_with(&pool_id, &client_id, &grant.user_key, grant.auth_time, None, Some(&claims))
            {
                Ok(result) => {
                    let mut body = json!({
                        "access_token": result.access_token.map(|t| t.expose().clone()),
                        "refresh_token": result.refresh_token.map(|t| t.expose().clone()),
                        "token_type": "Bearer",
                        "expires_in": result.expires_in.unwrap_or(3600),
                    });
                    // Cognito returns an ID token only for the openid scope.
                    if grant.scopes.iter().any(|s| s == "openid") {
                        body["id_token"] = json!(result.id_token.map(|t| t.expose().clone()));
                    }
                    json_reply(StatusCode::OK, &body)
                }
                Err(fail) => bad("invalid_grant", &fail.message),
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = form.get("refresh_token") else {
                return bad("invalid_request", "refresh_token is missing");
            };
            let out = engine.call::<op::GetTokensFromRefreshToken>(idp::GetTokensFromRefreshTokenRequest {
                client_id: client_id.as_str().into(),
                client_secret: given_secret.map(Sensitive::new),
                refresh_token: Sensitive::new(refresh.clone()),
                ..Default::default()
            });
            match out.map(|o| o.authentication_result.unwrap_or_default()) {
                Ok(result) => json_reply(
                    StatusCode::OK,
                    &json!({
                        "access_token": result.access_token.map(|t| t.expose().clone()),
                        "id_token": result.id_token.map(|t| t.expose().clone()),
                        "token_type": "Bearer",
                        "expires_in": result.expires_in.unwrap_or(3600),
                    }),
                ),
                Err(_) => bad("invalid_grant", "Invalid refresh token"),
            }
        }
        Some("client_credentials") => client_credentials(engine, &pool_id, &client, form.get("scope")),
        Some(_) => bad("unsupported_grant_type", "grant_type is not supported"),
        None => bad("invalid_request", "grant_type is missing"),
    }
}

/// `grant_type=client_credentials` (machine to machine): an access token
/// for the client itself, with custom (resource-server) scopes only. The
/// client has already authenticated with its secret.
fn client_credentials(
    engine: &Engine,
    pool_id: &str,
    client: &idp::UserPoolClientType,
    requested: Option<&String>,
) -> Reply {
    let bad = |code: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, code, description);
    let client_id = client.client_id.as_ref().map(|c| c.expose().clone()).unwrap_or_default();
    if client.client_secret.is_none() {
        // Cognito allows the flow only for clients with a secret.
        return bad("unauthorized_client", "Client is not allowed to use the client_credentials grant");
    }
    let allowed_flow = client.allowed_o_auth_flows_user_pool_client == Some(true)
        && client.allowed_o_auth_flows.iter().flatten().any(|f| f.as_str() == "client_credentials");
    if !allowed_flow {
        return bad("unauthorized_client", "Client is not allowed to use the client_credentials grant");
    }
    // Only resource-server scopes (`identifier/scope`) apply to this grant.
    let custom: Vec<String> =
        client.allowed_o_auth_scopes.iter().flatten().filter(|s| s.contains('/')).cloned().collect();
    let scopes: Vec<String> = match requested.map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()) {
        Some(list) if !list.is_empty() => {
            if list.iter().any(|s| !custom.contains(s)) {
                return bad("invalid_scope", "Requested scope is not allowed for this client");
            }
            list
        }
        _ => custom,
    };
    if scopes.is_empty() {
        return bad("invalid_scope", "The client has no custom scopes for the client_credentials grant");
    }
    let key = match engine.signing_key(pool_id) {
        Ok(k) => k,
        Err(fail) => return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &fail.message),
    };
    let now = engine.now();
    let validity =
        crate::auth::validity_seconds(client.access_token_validity, crate::auth::client_unit(client, "access"), 3600);
    let claims = crate::engine::claims_map(json!({
        "sub": client_id,
        "token_use": "access",
        "scope": scopes.join(" "),
        "auth_time": now,
        "iss": engine.issuer(pool_id),
        "exp": now + validity,
        "iat": now,
        "version": 2,
        "jti": crate::engine::uuid_v4(),
        "client_id": client_id,
    }));
    match key.sign(&claims) {
        Ok(token) => json_reply(
            StatusCode::OK,
            &json!({ "access_token": token, "expires_in": validity, "token_type": "Bearer" }),
        ),
        Err(e) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", e.0),
    }
}

/// RFC 7636: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `base64url(SHA-256(verifier))` without padding.
pub(crate) fn s256(verifier: &str) -> String {
    base64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
}

// ---------------------------------------------------------------------------
// /oauth2/userInfo, /oauth2/revoke, /logout

fn user_info(engine: &Engine, headers: &HeaderMap) -> Reply {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let unauthorized = |description: &str| {
        let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", description);
        if let Ok(v) =
            http::HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
        {
            r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
        }
        r
    };
    let Some(token) = token else { return unauthorized("Access token is missing") };
    let Ok((pool_id, key)) = engine.authorize_any_scope(token) else { return unauthorized("Access token is invalid") };
    let state = engine.lock();
    let Some(user) = state.pools.get(&pool_id).and_then(|p| p.users.get(&key)) else {
        return unauthorized("Access token is invalid");
    };
    // Cognito's userInfo answers every value as a string.
    let mut out = serde_json::Map::new();
    out.insert("sub".into(), json!(user.sub));
    for (name, value) in &user.attributes {
        if name != "sub" {
            out.insert(name.clone(), json!(value));
        }
    }
    out.insert("username".into(), json!(user.username));
    json_reply(StatusCode::OK, &Value::Object(out))
}

fn revoke(engine: &Engine, headers: &HeaderMap, form: &BTreeMap<String, String>) -> Reply {
    let bad = |code: &str, description: &str| oauth_error(StatusCode::BAD_REQUEST, code, description);
    let (basic_id, basic_secret) = basic_auth(headers).unzip();
    let Some(client_id) = basic_id.or_else(|| form.get("client_id").cloned()) else {
        return bad("invalid_request", "client_id is missing");
    };
    let Some(token) = form.get("token") else { return bad("invalid_request", "token is missing") };
    let secret = basic_secret.or_else(|| form.get("client_secret").cloned());
    match engine.call::<op::RevokeToken>(idp::RevokeTokenRequest {
        client_id: client_id.as_str().into(),
        client_secret: secret.map(Sensitive::new),
        token: Sensitive::new(token.clone()),
        ..Default::default()
    }) {
        Ok(_) => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::OK;
            r
        }
        Err(fail) if fail.code.as_str() == "NotAuthorizedException" => bad("invalid_client", &fail.message),
        Err(fail) if fail.code.as_str() == "ResourceNotFoundException" => bad("invalid_client", &fail.message),
        Err(fail) if fail.code.as_str() == "UnauthorizedException" => bad("unauthorized_client", &fail.message),
        Err(fail) => bad("invalid_request", &fail.message),
    }
}

fn logout(engine: &Engine, hosted: &Hosted, headers: &HeaderMap, query: &BTreeMap<String, String>) -> Reply {
    let get = |k: &str| query.get(k).filter(|v| !v.is_empty()).cloned();
    let Some(client_id) = get("client_id") else {
        return error_page(StatusCode::BAD_REQUEST, "invalid_request", "client_id is missing.");
    };
    let client = {
        let state = engine.lock();
        Engine::pool_of_client(&state, &client_id).ok().and_then(|pool_id| {
            state.pools.get(&pool_id).and_then(|p| p.clients.get(&client_id)).cloned().map(|c| (pool_id, c))
        })
    };
    let Some((pool_id, client)) = client else {
        return error_page(StatusCode::BAD_REQUEST, "invalid_client", "Client does not exist.");
    };
    if let Some(logout_uri) = get("logout_uri") {
        if !client.logout_ur_ls.iter().flatten().any(|u| *u == logout_uri) {
            return error_page(
                StatusCode::BAD_REQUEST,
                "redirect_mismatch",
                "logout_uri is not one of the client's sign-out URLs.",
            );
        }
        // The hosted-UI session ends before the redirect.
        return with_cookie(found(&logout_uri), &end_session(hosted, headers, &pool_id));
    }
    if let Some(redirect_uri) = get("redirect_uri") {
        // Sign out, then sign in again: back to the sign-in page.
        if !client.callback_ur_ls.iter().flatten().any(|u| *u == redirect_uri) {
            return error_page(
                StatusCode::BAD_REQUEST,
                "redirect_mismatch",
                "redirect_uri is not one of the client's callback URLs.",
            );
        }
        let mut target = String::from("/oauth2/authorize?");
        let pairs: Vec<(&str, String)> =
            query.iter().filter(|(k, _)| k.as_str() != "logout_uri").map(|(k, v)| (k.as_str(), v.clone())).collect();
        target.push_str(&encode_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))));
        return with_cookie(found(&target), &end_session(hosted, headers, &pool_id));
    }
    error_page(StatusCode::BAD_REQUEST, "invalid_request", "logout_uri or redirect_uri is required.")
}

// ---------------------------------------------------------------------------
// Pages, redirects and encodings

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;color:#111;background:#fff}\
h1{font-size:1.5rem}label{display:block;margin-top:1rem;font-weight:600}\
input{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font-size:1rem;border:1px solid #555;border-radius:4px}\
input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:2px}\
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem;background:#1a5fb4;color:#fff;border:0;border-radius:4px;cursor:pointer}\
h2{font-size:1rem;margin-top:2rem}.providers{list-style:none;padding:0}\
.provider{display:block;margin-top:.5rem;padding:.55rem 1rem;border:2px solid #1a5fb4;border-radius:4px;color:#1a5fb4;text-decoration:none;font-weight:600}\
.provider:focus{outline:3px solid #1a5fb4;outline-offset:2px}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}\
.secondary{background:#fff;color:#1a5fb4;border:2px solid #1a5fb4}\
.error{color:#a51d2d;border:1px solid #a51d2d;padding:.5rem;border-radius:4px;margin-top:1rem}\
.note{color:#444;font-size:.9rem;margin-top:2rem}\
fieldset{border:1px solid #555;border-radius:4px;margin-top:1rem}fieldset div{margin-top:.5rem}\
input[type=radio]{display:inline;width:auto;margin-right:.5rem}.inline{display:inline;font-weight:400}\
code{font-size:1.1rem;letter-spacing:.05em;overflow-wrap:anywhere}";

/// A page with a form: HTTP 400 when it shows an error, 200 otherwise.
fn form_page(title: &str, body: &str, error: Option<&str>) -> Reply {
    page(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, title, body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Reply {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        title = html_escape(title)
    );
    let mut r = Response::new(Full::new(Bytes::from(html)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", http::HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        http::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    h.insert("referrer-policy", http::HeaderValue::from_static("no-referrer"));
    r
}

fn sign_in_page(request_id: &str, username: &str, error: Option<&str>, choices: &[String]) -> Reply {
    sign_in_form(request_id, username, error, None, choices)
}

/// The sign-in page with a notice (not an error) above the form: after a
/// password reset, say.
fn sign_in_page_with_notice(request_id: &str, username: &str, notice: &str, choices: &[String]) -> Reply {
    sign_in_form(request_id, username, None, Some(notice), choices)
}

fn sign_in_form(
    request_id: &str,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
    choices: &[String],
) -> Reply {
    let notice =
        notice.map(|n| format!("<p role=\"status\" id=\"notice\">{}</p>\n", html_escape(n))).unwrap_or_default();
    let (error_html, described) = match error {
        Some(e) => (
            format!("<p class=\"error\" id=\"error\" role=\"alert\">{}</p>\n", html_escape(e)),
            " aria-describedby=\"error\" aria-invalid=\"true\"",
        ),
        None => (String::new(), ""),
    };
    let autofocus_user = if username.is_empty() { " autofocus" } else { "" };
    let autofocus_pw = if username.is_empty() { "" } else { " autofocus" };
    let federated = if choices.is_empty() {
        String::new()
    } else {
        let links: String = choices
            .iter()
            .map(|p| {
                format!(
                    "<li><a class=\"provider\" href=\"{MOCK_IDP_PREFIX}{}/authorize?{}\">Continue with {}</a></li>\n",
                    percent_encode(p),
                    html_escape(&encode_pairs([("state", request_id)].into_iter())),
                    html_escape(p)
                )
            })
            .collect();
        format!(
            "<h2 id=\"federated\">Or sign in with</h2>\n<ul class=\"providers\" aria-labelledby=\"federated\">\n{links}</ul>\n"
        )
    };
    let body = format!(
        "<h1>Sign in</h1>\n{notice}{error_html}<form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <label for=\"username\">Username</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" \
         spellcheck=\"false\" required value=\"{username}\"{described}{autofocus_user}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{described}{autofocus_pw}>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p><a id=\"forgot-password\" href=\"/forgotPassword?{signup}\">Forgot your password?</a></p>\n\
         <p>Need an account? <a id=\"sign-up\" href=\"/signup?{signup}\">Sign up</a></p>\n{federated}\
         <p class=\"note\">Local pool hosted UI.</p>",
        request = html_escape(request_id),
        signup = html_escape(&encode_pairs([("request", request_id)].into_iter())),
        username = html_escape(username),
    );
    form_page("Sign in", &body, error)
}

fn error_page(status: StatusCode, code: &str, message: &str) -> Reply {
    let body = format!(
        "<h1>Something went wrong</h1>\n<p class=\"error\" role=\"alert\"><strong>{}</strong>: {}</p>",
        html_escape(code),
        html_escape(message)
    );
    page(status, "Error", &body)
}

fn found(location: &str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = http::HeaderValue::from_str(location) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    r.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}

/// A 302 to `base` with `pairs` (and `state`) in the query, or in the
/// fragment for the implicit flow.
fn redirect_with(base: &str, fragment: bool, pairs: &[(&str, &str)], state: Option<&str>) -> Reply {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    if let Some(s) = state {
        all.push(("state", s));
    }
    let encoded = encode_pairs(all.into_iter());
    let location = if fragment {
        format!("{base}#{encoded}")
    } else if base.contains('?') {
        format!("{base}&{encoded}")
    } else {
        format!("{base}?{encoded}")
    };
    found(&location)
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Reply {
    json_reply(status, &json!({ "error": code, "error_description": description }))
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json;charset=UTF-8"));
    r.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r.headers_mut().insert(http::header::PRAGMA, http::HeaderValue::from_static("no-cache"));
    r
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// `Authorization: Basic base64(client_id:client_secret)`.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((crate::server::percent_decode(id), crate::server::percent_decode(secret)))
}

/// A random authorization code (UUID-shaped, as Cognito's are).
fn uuid_like() -> String {
    crate::engine::uuid_v4()
}

/// Parses `a=b&c=d` (form encoding: `+` is a space). Later keys win.
pub(crate) fn parse_form(s: &str) -> BTreeMap<String, String> {
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (crate::server::percent_decode(k), crate::server::percent_decode(v)),
            None => (crate::server::percent_decode(kv), String::new()),
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs.map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_session_or_code() {
        let hosted = Hosted::default();
        let session = HostedSession { pool_id: "p".into(), user_key: "u".into(), auth_time: 0, expires: 1 };
        hosted.lock().sessions.insert("SESSION-COOKIE-VALUE".into(), session);
        let shown = format!("{hosted:?}");
        assert!(shown.contains("sessions: 1"), "{shown}");
        assert!(!shown.contains("SESSION-COOKIE-VALUE"), "{shown}");
    }

    #[test]
    fn forms_round_trip() {
        let m = parse_form("a=1&b=x+y&c=%2Fz%3D&d");
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "x y");
        assert_eq!(m["c"], "/z=");
        assert_eq!(m["d"], "");
        assert_eq!(encode_pairs([("k", "a b/c")].into_iter()), "k=a%20b%2Fc");
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn escapes_html() {
        assert_eq!(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
