//! The session manager: tokens in memory in front of the token store,
//! refreshed on demand, one refresh at a time.
//!
//! * Valid cached tokens are returned without locking anything but a
//!   read lock and without allocating (the hot path of `fetch_auth_session`).
//! * When they are expired (or a refresh is forced), callers join one
//!   in-flight refresh: 10,000 concurrent callers cause one
//!   `GetTokensFromRefreshToken` and all get its result.
//! * A failed refresh clears the stored tokens only for the errors that
//!   prove the session is over (Amplify's allow-list), never for
//!   throttling, server faults or network failures.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{
    AuthFlowType, AuthenticationResultType, GetTokensFromRefreshTokenRequest, InitiateAuthRequest, operation as op,
};
use hub_events::{AuthEvent, AuthEventError};
use token_store::{Jwt, SignInDetails, TokenRecord};
use tokio::sync::OnceCell;

use crate::error::AuthError;
use crate::{Shared, now_ms};

/// The signed-in user's tokens. Cheap to clone (shared).
#[derive(Clone)]
pub struct AuthTokens {
    /// The access token.
    pub access_token: Jwt,
    /// The ID token, if the flow returned one.
    pub id_token: Option<Jwt>,
    /// The canonical username.
    pub username: String,
    /// The user's `sub`.
    pub user_sub: Option<String>,
    /// How the user signed in.
    pub sign_in_details: Option<SignInDetails>,
}

impl fmt::Debug for AuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthTokens")
            .field("username", &self.username)
            .field("user_sub", &self.user_sub)
            .field("access_token", &self.access_token)
            .finish_non_exhaustive()
    }
}

/// A session as cached: the public tokens plus what only the manager sees.
pub(crate) struct Cached {
    pub(crate) tokens: Arc<AuthTokens>,
    pub(crate) record: TokenRecord,
    /// When the tokens must be refreshed (ms, local clock).
    pub(crate) refresh_at_ms: i64,
}

impl Cached {
    pub(crate) fn from_record(record: TokenRecord, tolerance_ms: i64) -> Result<Self, AuthError> {
        let access_token = Jwt::decode(record.access_token.expose_secret())
            .map_err(|err| AuthError::Storage(format!("stored access token: {err}")))?;
        let id_token = match &record.id_token {
            Some(t) => Some(
                Jwt::decode(t.expose_secret()).map_err(|err| AuthError::Storage(format!("stored ID token: {err}")))?,
            ),
            None => None,
        };
        // Amplify's rule: expired when now + drift + tolerance > exp, for
        // both tokens. A token without exp counts as expired.
        let exp = [Some(&access_token), id_token.as_ref()]
            .into_iter()
            .flatten()
            .map(|t| t.expires_at_ms().unwrap_or(i64::MIN))
            .min()
            .unwrap_or(i64::MIN);
        let refresh_at_ms = exp.saturating_sub(tolerance_ms).saturating_sub(record.clock_drift_ms);
        let user_sub = access_token.claims().sub.clone();
        let tokens = AuthTokens {
            access_token,
            id_token,
            username: record.username.clone(),
            user_sub,
            sign_in_details: record.sign_in_details.clone(),
        };
        Ok(Self { tokens: Arc::new(tokens), record, refresh_at_ms })
    }

    fn is_fresh(&self, now_ms: i64) -> bool {
        now_ms < self.refresh_at_ms
    }
}

type Flight = Arc<OnceCell<Result<Option<Arc<Cached>>, AuthError>>>;

/// The session state of one [`crate::Auth`].
pub(crate) struct Sessions {
    /// Identifies this session state in the per-thread caches.
    id: u64,
    /// Bumped after every change of `cache`.
    generation: AtomicU64,
    /// `None` until loaded from the store; `Some(None)` when signed out.
    cache: RwLock<Option<Option<Arc<Cached>>>>,
    flight: Mutex<Option<Flight>>,
}

impl Default for Sessions {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            cache: RwLock::new(None),
            flight: Mutex::new(None),
        }
    }
}

/// A thread's own copy of fresh tokens, so that concurrent callers on
/// different cores never write to shared memory on the hot path (a shared
/// `Arc` or lock would bounce its cache line between cores).
struct LocalTokens {
    sessions: u64,
    generation: u64,
    refresh_at_ms: i64,
    tokens: Arc<AuthTokens>,
}

/// Per-thread copies kept at most (one per `Auth` a thread uses).
const LOCAL_ENTRIES: usize = 8;

thread_local! {
    static LOCAL: std::cell::RefCell<Vec<LocalTokens>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The errors after which a refresh token is certainly useless (Amplify's
/// allow-list, `refreshAuthTokens.ts`), matched by prefix as Amplify does.
const DEFINITIVE: &[&str] = &[
    "NotAuthorizedException",
    "TokenRevokedException",
    "UserNotFoundException",
    "PasswordResetRequiredException",
    "UserNotConfirmedException",
    "RefreshTokenReuseException",
];

impl Sessions {
    /// The cached session if loaded and fresh: the fast path.
    pub(crate) fn fresh(&self, now_ms: i64) -> Option<Option<Arc<Cached>>> {
        let guard = self.cache.read().ok()?;
        match &*guard {
            Some(Some(cached)) if cached.is_fresh(now_ms) => Some(Some(cached.clone())),
            Some(None) => Some(None),
            _ => None,
        }
    }

    /// The cached session, fresh or not, without loading.
    pub(crate) fn peek(&self) -> Option<Option<Arc<Cached>>> {
        self.cache.read().ok().and_then(|g| g.clone())
    }

    pub(crate) fn set(&self, value: Option<Arc<Cached>>) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some(value);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Fresh tokens from this thread's copy when it is current, else from
    /// the shared cache (then copied for this thread). `None`: not loaded or
    /// not fresh; `Some(None)`: signed out.
    pub(crate) fn fresh_tokens(&self, now_ms: i64) -> Option<Option<Arc<AuthTokens>>> {
        // Read the generation before the cache: a change in between makes
        // the copy stale at once, never wrongly current.
        let generation = self.generation.load(Ordering::Acquire);
        let hit = LOCAL.with(|local| {
            let local = local.borrow();
            local
                .iter()
                .find(|e| e.sessions == self.id && e.generation == generation && now_ms < e.refresh_at_ms)
                .map(|e| e.tokens.clone())
        });
        if let Some(tokens) = hit {
            return Some(Some(tokens));
        }
        let cached = match self.fresh(now_ms)? {
            Some(cached) => cached,
            None => return Some(None),
        };
        let tokens = Arc::new((*cached.tokens).clone());
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            local.retain(|e| e.sessions != self.id);
            if local.len() >= LOCAL_ENTRIES {
                local.remove(0);
            }
            local.push(LocalTokens {
                sessions: self.id,
                generation,
                refresh_at_ms: cached.refresh_at_ms,
                tokens: tokens.clone(),
            });
        });
        Some(Some(tokens))
    }
}

/// Whether `err` proves the refresh token is useless.
fn is_definitive(err: &AuthError) -> bool {
    err.code().is_some_and(|c| DEFINITIVE.iter().any(|d| c.as_str().starts_with(d)))
}

impl Shared {
    /// The current session: cached when fresh, else loaded and refreshed as
    /// needed, single-flight. `Ok(None)` when signed out.
    pub(crate) async fn session(&self, force_refresh: bool) -> Result<Option<Arc<Cached>>, AuthError> {
        if !force_refresh && let Some(hit) = self.sessions.fresh(now_ms()) {
            return Ok(hit);
        }
        let flight = {
            let mut slot =
                self.sessions.flight.lock().map_err(|_| AuthError::invalid_state("session lock poisoned"))?;
            match &*slot {
                Some(f) => f.clone(),
                None => {
                    let f: Flight = Arc::new(OnceCell::new());
                    *slot = Some(f.clone());
                    f
                }
            }
        };
        let result = flight.get_or_init(|| self.load_or_refresh(force_refresh)).await.clone();
        if let Ok(mut slot) = self.sessions.flight.lock()
            && slot.as_ref().is_some_and(|f| Arc::ptr_eq(f, &flight))
        {
            *slot = None;
        }
        result
    }

    async fn load_or_refresh(&self, force_refresh: bool) -> Result<Option<Arc<Cached>>, AuthError> {
        let tolerance_ms = i64::try_from(self.config.expiry_tolerance().as_millis()).unwrap_or(i64::MAX);
        let cached = match self.sessions.peek() {
            Some(value) => value,
            None => {
                let loaded = match self.store.load().await? {
                    Some(record) => Some(Arc::new(Cached::from_record(record, tolerance_ms)?)),
                    None => None,
                };
                self.sessions.set(loaded.clone());
                loaded
            }
        };
        let Some(cached) = cached else { return Ok(None) };
        if !force_refresh && cached.is_fresh(now_ms()) {
            return Ok(Some(cached));
        }
        match self.refresh(&cached, tolerance_ms).await {
            Ok(fresh) => {
                self.hub_dispatch(&AuthEvent::TokenRefresh);
                Ok(Some(fresh))
            }
            Err(err) => {
                self.hub_dispatch(&AuthEvent::TokenRefreshFailure(Some(AuthEventError {
                    name: err.name().to_owned(),
                    message: err.to_string(),
                    recovery_suggestion: None,
                })));
                if is_definitive(&err) {
                    // The session is over: clear it (device keys stay).
                    if let Err(store_err) = self.store.clear_tokens().await {
                        tracing::warn!(error = %store_err, "clearing tokens after a definitive refresh failure failed");
                    }
                    self.sessions.set(None);
                    self.creds.clear();
                    self.hub_dispatch(&AuthEvent::SessionExpired);
                    if err.is_service("NotAuthorizedException") {
                        return Ok(None);
                    }
                }
                Err(err)
            }
        }
    }

    async fn refresh(&self, cached: &Cached, tolerance_ms: i64) -> Result<Arc<Cached>, AuthError> {
        let record = &cached.record;
        let Some(refresh_token) = record.refresh_token.clone() else {
            return Err(AuthError::NotSignedIn);
        };
        let device_key = match &record.device {
            Some(d) => Some(d.device_key.clone()),
            None => self.store.load_device(&record.username).await.ok().flatten().map(|d| d.device_key),
        };
        let endpoint = self.config.user_pool_endpoint();
        let request = GetTokensFromRefreshTokenRequest {
            client_id: self.config.client_id().into(),
            client_secret: self.config.client_secret().map(|s| Sensitive::new(s.expose_secret().to_owned())),
            device_key: device_key.clone(),
            refresh_token: Sensitive::new(refresh_token.expose_secret().to_owned()),
            ..Default::default()
        };
        let result =
            match self.caller.call::<op::GetTokensFromRefreshToken>(endpoint, "fetchAuthSession", &request).await {
                Ok(out) => out.authentication_result,
                Err(err) if is_unsupported_operation(&err) => {
                    // A server without GetTokensFromRefreshToken (older
                    // emulators): the pre-2025 REFRESH_TOKEN_AUTH.
                    let mut params = std::collections::BTreeMap::new();
                    params.insert("REFRESH_TOKEN".to_owned(), refresh_token.expose_secret().to_owned());
                    if let Some(key) = &device_key {
                        params.insert("DEVICE_KEY".to_owned(), key.clone());
                    }
                    if let Some(secret) = self.config.client_secret() {
                        let hash =
                            srp_core::secret_hash(secret.expose_secret(), &record.username, self.config.client_id())?;
                        params.insert("SECRET_HASH".to_owned(), hash.as_str().to_owned());
                    }
                    let request = InitiateAuthRequest {
                        auth_flow: AuthFlowType::RefreshTokenAuth,
                        auth_parameters: Some(Sensitive::new(params)),
                        client_id: self.config.client_id().into(),
                        ..Default::default()
                    };
                    self.caller
                        .call::<op::InitiateAuth>(endpoint, "fetchAuthSession", &request)
                        .await?
                        .authentication_result
                }
                Err(err) => return Err(err),
            };
        let result = result.ok_or_else(|| AuthError::protocol("refresh returned no AuthenticationResult"))?;
        let mut next = record_from_result(&result, &record.username, record.sign_in_details.clone(), now_ms())?;
        if next.refresh_token.is_none() {
            next.refresh_token = Some(refresh_token);
        }
        if next.id_token.is_none() {
            next.id_token.clone_from(&record.id_token);
        }
        next.device = None; // keep the stored device as it is
        if let Err(err) = self.store.save(&next).await {
            // The new tokens work; losing them on disk only costs a refresh,
            // unless the refresh token rotated: say so.
            tracing::warn!(error = %err, "saving refreshed tokens failed; they are kept in memory");
        }
        next.device.clone_from(&record.device);
        let fresh = Arc::new(Cached::from_record(next, tolerance_ms)?);
        self.sessions.set(Some(fresh.clone()));
        Ok(fresh)
    }
}

fn is_unsupported_operation(err: &AuthError) -> bool {
    err.code().is_some_and(|c| {
        matches!(c.as_str(), "UnknownOperationException" | "InvalidAction" | "UnrecognizedClientException")
    })
}

/// The record for an authentication result: username from the access token
/// (`username` claim), clock drift from its `iat`.
pub(crate) fn record_from_result(
    result: &AuthenticationResultType,
    fallback_username: &str,
    sign_in_details: Option<SignInDetails>,
    now_ms: i64,
) -> Result<TokenRecord, AuthError> {
    let access = result
        .access_token
        .as_ref()
        .ok_or_else(|| AuthError::protocol("AuthenticationResult without an AccessToken"))?;
    let jwt = Jwt::decode(access.expose()).map_err(|err| AuthError::protocol(format!("access token: {err}")))?;
    if let Some(id) = &result.id_token {
        Jwt::decode(id.expose()).map_err(|err| AuthError::protocol(format!("ID token: {err}")))?;
    }
    let username = jwt.claims().any_username().unwrap_or(fallback_username).to_owned();
    let mut record = TokenRecord::new(username, access.expose().as_str());
    record.id_token = result.id_token.as_ref().map(|t| t.expose().as_str().into());
    record.refresh_token = result.refresh_token.as_ref().map(|t| t.expose().as_str().into());
    record.clock_drift_ms = jwt.claims().iat.map_or(0, |iat| token_store::clock_drift_ms(iat, now_ms));
    record.sign_in_details = sign_in_details;
    Ok(record)
}
