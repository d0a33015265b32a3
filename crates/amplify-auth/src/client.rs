//! [`Auth`]: the client an application holds. Sign-in and sessions.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{GlobalSignOutRequest, RevokeTokenRequest, operation as op};
use hub_events::{AuthChannelKey, AuthEvent, AuthSignInDetails, AuthUser, Hub};
use token_store::{KeyValueStorage, Layout, MemoryStorage, SignInDetails, TokenStore};

use crate::config::{AuthConfig, AuthFlow};
use crate::error::AuthError;
use crate::machine::{Call, ConfirmOptions, Context, Env, Next, PendingSignIn, Reply, SignInMachine};
use crate::session::{AuthTokens, Cached, Sessions, record_from_result};
use crate::steps::{SignInOutput, SignInStep};
use crate::transport::{Caller, HyperTransport, Transport};
use crate::{Shared, now_ms};

/// Options for [`Auth::sign_in`].
#[derive(Clone, Debug, Default)]
pub struct SignInOptions {
    /// The flow for this call (default: the configuration's).
    pub auth_flow: Option<AuthFlow>,
    /// The first factor for `USER_AUTH` (`PASSWORD`, `PASSWORD_SRP`,
    /// `EMAIL_OTP`, `SMS_OTP`).
    pub preferred_challenge: Option<String>,
    /// `ClientMetadata` for Lambda triggers.
    pub client_metadata: Option<BTreeMap<String, String>>,
}

/// The current user (Amplify's `getCurrentUser`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser {
    /// The canonical username.
    pub username: String,
    /// The user's `sub`.
    pub user_id: String,
    /// How they signed in.
    pub sign_in_details: Option<SignInDetails>,
}

/// The session (Amplify's `fetchAuthSession` result). Getting one from
/// valid cached tokens (and credentials) allocates nothing.
#[derive(Clone, Debug)]
pub struct AuthSession {
    /// The tokens, when signed in. The refresh token is never exposed.
    pub tokens: Option<Arc<AuthTokens>>,
    /// The identity-pool identity, when an identity pool is configured
    /// (and, for guests, guest access is allowed).
    pub identity_id: Option<Arc<str>>,
    /// Temporary AWS credentials for that identity.
    pub credentials: Option<Arc<crate::AwsCredentials>>,
}

impl AuthSession {
    /// The user's `sub`, when signed in.
    #[must_use]
    pub fn user_sub(&self) -> Option<&str> {
        self.tokens.as_ref().and_then(|t| t.user_sub.as_deref())
    }
}

/// What [`Auth::sign_out`] could not do remotely (local state is cleared
/// regardless).
#[derive(Clone, Debug, Default)]
pub struct SignOutOutput {
    /// `RevokeToken` failed.
    pub revoke_token_error: Option<AuthError>,
    /// `GlobalSignOut` failed.
    pub global_sign_out_error: Option<AuthError>,
    /// When the session came from the hosted UI (`sign_in_with_redirect`):
    /// its `/logout?client_id=…&logout_uri=…` URL, to open in the browser
    /// so the hosted UI signs out too (see [`Auth::sign_out_with_redirect`]).
    pub oauth_sign_out_url: Option<String>,
}

/// Builds an [`Auth`] with non-default storage, transport or hub.
pub struct AuthBuilder {
    config: AuthConfig,
    storage: Option<Arc<dyn KeyValueStorage>>,
    layout: Layout,
    transport: Option<Arc<dyn Transport>>,
    hub: Option<(Hub, AuthChannelKey)>,
    device_name: Option<String>,
    token_provider: Option<Arc<dyn crate::providers::TokenProvider>>,
    credentials_provider: Option<Arc<dyn crate::providers::CredentialsProvider>>,
}

impl fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("config", &self.config)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl AuthBuilder {
    /// Where tokens live (default: in memory, lost at exit).
    #[must_use]
    pub fn storage(mut self, storage: Arc<dyn KeyValueStorage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// The key layout (default [`Layout::Native`]; [`Layout::AmplifyCompat`]
    /// shares a session with Amplify JS).
    #[must_use]
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// The HTTP transport (default [`HyperTransport`]).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The hub to dispatch auth events on, with its auth channel key
    /// (default: a hub of its own, see [`Auth::hub`]).
    #[must_use]
    pub fn hub(mut self, hub: Hub, key: AuthChannelKey) -> Self {
        self.hub = Some((hub, key));
        self
    }

    /// The name given to devices this client confirms.
    #[must_use]
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// Use your own source of tokens (see [`crate::providers`]): the
    /// session API and the account calls then use its tokens.
    #[must_use]
    pub fn token_provider(mut self, provider: Arc<dyn crate::providers::TokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// Use your own source of AWS credentials (see [`crate::providers`]).
    #[must_use]
    pub fn credentials_provider(mut self, provider: Arc<dyn crate::providers::CredentialsProvider>) -> Self {
        self.credentials_provider = Some(provider);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Auth, AuthError> {
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            None => Arc::new(HyperTransport::new()?),
        };
        let storage = self.storage.unwrap_or_else(|| Arc::new(MemoryStorage::new()));
        let store = TokenStore::new(storage, self.config.client_id(), self.layout);
        let (hub, hub_key) = self.hub.unwrap_or_else(Hub::new_with_auth_key);
        let caller = Caller::new(transport, self.config.retry());
        Ok(Auth {
            client_metadata: None,
            shared: Arc::new(Shared {
                config: self.config,
                caller,
                store,
                hub,
                hub_key,
                sessions: Sessions::default(),
                creds: Default::default(),
                conversation: tokio::sync::Mutex::new(None),
                device_name: self.device_name,
                token_provider: self.token_provider,
                credentials_provider: self.credentials_provider,
                auto_sign_in: Mutex::new(None),
            }),
        })
    }
}

/// The client: one per user pool app client (and per user, on servers).
/// Cheap to clone; clones share state.
///
/// ```no_run
/// # async fn demo() -> Result<(), amplify_auth::AuthError> {
/// use amplify_auth::{Auth, AuthConfig, SignInStep};
///
/// let auth = Auth::new(AuthConfig::builder("us-east-1_AbCdEf123", "1example23456789").build()?)?;
/// let out = auth.sign_in("alice", Some("correct horse"), Default::default()).await?;
/// if let SignInStep::ConfirmSignInWithTotpCode = out.next_step {
///     auth.confirm_sign_in("123456", Default::default()).await?;
/// }
/// let session = auth.fetch_auth_session(false).await?;
/// println!("{:?}", session.tokens.map(|t| t.username.clone()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Auth {
    pub(crate) shared: Arc<Shared>,
    /// `ClientMetadata` for this handle's calls (see
    /// [`Auth::with_client_metadata`]).
    pub(crate) client_metadata: Option<Arc<BTreeMap<String, String>>>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

fn pending_key(config: &AuthConfig) -> String {
    format!("{}.{}.signInState", token_store::NATIVE_KEY_PREFIX, config.client_id())
}

impl Auth {
    /// A client with in-memory storage, the default transport and its own hub.
    pub fn new(config: AuthConfig) -> Result<Self, AuthError> {
        Self::builder(config).build()
    }

    /// A builder, to choose storage, transport or hub.
    #[must_use]
    pub fn builder(config: AuthConfig) -> AuthBuilder {
        AuthBuilder {
            config,
            storage: None,
            layout: Layout::Native,
            transport: None,
            hub: None,
            device_name: None,
            token_provider: None,
            credentials_provider: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &AuthConfig {
        &self.shared.config
    }

    /// The hub this client dispatches auth events on (`listen_auth` there).
    #[must_use]
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// The token store.
    #[must_use]
    pub fn token_store(&self) -> &TokenStore {
        &self.shared.store
    }

    /// A handle on the same client (same session, storage and hub) whose
    /// calls send `metadata` as `ClientMetadata` to your Lambda triggers,
    /// wherever Cognito accepts it: `SignUp`, `ConfirmSignUp`,
    /// `ResendConfirmationCode`, `ForgotPassword`, `ConfirmForgotPassword`,
    /// `InitiateAuth`, `RespondToAuthChallenge`, `UpdateUserAttributes` and
    /// `GetUserAttributeVerificationCode` (Amplify's per-call
    /// `options.clientMetadata`). Metadata given in a call's own options
    /// wins. Refreshes, which the session manager starts for every handle,
    /// send none.
    ///
    /// ```no_run
    /// # async fn demo(auth: amplify_auth::Auth) -> Result<(), amplify_auth::AuthError> {
    /// use std::collections::BTreeMap;
    ///
    /// let with_source = auth.with_client_metadata(BTreeMap::from([("source".into(), "kiosk".into())]));
    /// with_source.reset_password("alice").await?; // ForgotPassword carries {"source": "kiosk"}
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_client_metadata(&self, metadata: BTreeMap<String, String>) -> Auth {
        Auth { shared: self.shared.clone(), client_metadata: Some(Arc::new(metadata)) }
    }

    /// The call's own `ClientMetadata`, else this handle's.
    pub(crate) fn metadata_or(&self, explicit: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
        explicit.or_else(|| self.client_metadata.as_deref().cloned())
    }

    fn context(&self, login_id: &str, flow: AuthFlow, client_metadata: Option<BTreeMap<String, String>>) -> Context {
        let client_metadata = self.metadata_or(client_metadata);
        let config = &self.shared.config;
        Context {
            pool_id: config.user_pool_id().to_owned(),
            client_id: config.client_id().to_owned(),
            client_secret: config.client_secret().cloned(),
            flow,
            login_id: login_id.to_owned(),
            device: None,
            device_for: None,
            device_name: self.shared.device_name.clone().or_else(|| Some(default_device_name())),
            client_metadata,
        }
    }

    /// Signs in (Amplify's `signIn`). Returns the next step; when it is not
    /// `DONE`, answer with [`confirm_sign_in`](Self::confirm_sign_in).
    ///
    /// Fails with [`AuthError::UserAlreadyAuthenticated`] while a user is
    /// signed in, and with [`AuthError::InvalidState`] while federated to the
    /// identity pool ([`Auth::federate_to_identity_pool`]). A pending
    /// sign-in is superseded.
    pub async fn sign_in(
        &self,
        username: &str,
        password: Option<&str>,
        options: SignInOptions,
    ) -> Result<SignInOutput, AuthError> {
        let mut conversation = self.shared.conversation.lock().await;
        if self.shared.session(false).await.ok().flatten().is_some() || self.shared.store.load().await?.is_some() {
            return Err(AuthError::UserAlreadyAuthenticated);
        }
        if self.shared.is_federated().await {
            return Err(AuthError::invalid_state(
                "federated to the identity pool; call clear_federation_to_identity_pool or sign_out before sign_in",
            ));
        }
        *conversation = None;
        self.clear_pending().await;
        let flow = options.auth_flow.unwrap_or(self.shared.config.auth_flow());
        let preferred = options.preferred_challenge.as_deref().or(self.shared.config.preferred_challenge());
        let mut ctx = self.context(username, flow, options.client_metadata);
        // Flows that send DEVICE_KEY before Cognito names the canonical
        // user look it up by what was typed (the canonical name is checked
        // again when Cognito answers).
        ctx.device = self.shared.store.load_device(username).await.ok().flatten();
        ctx.device_for = Some(username.to_owned());
        let env = Env::from_os()?;
        let (mut machine, next) = SignInMachine::start(ctx, password, preferred, &env)?;
        let result = self.drive(&mut machine, next, "signIn").await;
        *conversation = machine.pending().is_some().then_some(machine);
        result
    }

    /// Auto sign-in with the `Session` of a confirmed sign-up (USER_AUTH).
    pub(crate) async fn sign_in_with_sign_up_session(
        &self,
        username: &str,
        session: &str,
    ) -> Result<SignInOutput, AuthError> {
        let mut conversation = self.shared.conversation.lock().await;
        if self.shared.session(false).await.ok().flatten().is_some() || self.shared.store.load().await?.is_some() {
            return Err(AuthError::UserAlreadyAuthenticated);
        }
        *conversation = None;
        self.clear_pending().await;
        let mut ctx = self.context(username, AuthFlow::UserAuth, None);
        ctx.device = self.shared.store.load_device(username).await.ok().flatten();
        ctx.device_for = Some(username.to_owned());
        let env = Env::from_os()?;
        let (mut machine, next) = SignInMachine::start_with_sign_up_session(ctx, session, &env)?;
        let result = self.drive(&mut machine, next, "autoSignIn").await;
        *conversation = machine.pending().is_some().then_some(machine);
        result
    }

    /// Answers the current step (Amplify's `confirmSignIn`): a code, a
    /// choice (`SMS`/`TOTP`/`EMAIL`, `PASSWORD_SRP`...), a new password, an
    /// email address, or a custom answer.
    ///
    /// The pending sign-in may come from this process or, within its 3
    /// minutes, from storage (another process). A wrong code leaves the step
    /// retryable.
    pub async fn confirm_sign_in(
        &self,
        challenge_response: &str,
        mut options: ConfirmOptions,
    ) -> Result<SignInOutput, AuthError> {
        options.client_metadata = self.metadata_or(options.client_metadata.take());
        let mut conversation = self.shared.conversation.lock().await;
        let mut machine = match conversation.take() {
            Some(m) => m,
            None => {
                let Some(pending) = self.load_pending().await? else {
                    return Err(AuthError::invalid_state("no sign-in in progress; call sign_in first"));
                };
                let flow = AuthFlow::parse(&pending.flow).unwrap_or_default();
                let mut ctx = self.context(&pending.login_id, flow, None);
                ctx.device = self.shared.store.load_device(&pending.username).await.ok().flatten();
                ctx.device_for = Some(pending.username.clone());
                SignInMachine::resume(ctx, pending)
            }
        };
        let env = Env::from_os()?;
        let result = match machine.answer(challenge_response, &options, &env) {
            Ok(next) => self.drive(&mut machine, next, "confirmSignIn").await,
            Err(err) => Err(err),
        };
        match machine.pending() {
            Some(_) => *conversation = Some(machine),
            None => self.clear_pending().await,
        }
        result
    }

    async fn drive(
        &self,
        machine: &mut SignInMachine,
        mut next: Next,
        action: &'static str,
    ) -> Result<SignInOutput, AuthError> {
        loop {
            next = match next {
                Next::Send(call) => {
                    let reply = self.send(call, action).await;
                    machine.on_reply(reply, &Env::from_os()?)?
                }
                Next::LoadDevice(username) => {
                    let device = self.shared.store.load_device(&username).await.ok().flatten();
                    machine.on_reply(Reply::Device(device), &Env::from_os()?)?
                }
                Next::ClearDevice(username) => {
                    self.shared.store.clear_device(&username).await?;
                    machine.on_reply(Reply::Device(None), &Env::from_os()?)?
                }
                Next::Ask(step) => {
                    if let Some(pending) = machine.pending() {
                        self.save_pending(pending).await?;
                    }
                    return Ok(SignInOutput { is_signed_in: false, next_step: step });
                }
                Next::Ended(step) => {
                    self.clear_pending().await;
                    return Ok(SignInOutput { is_signed_in: false, next_step: step });
                }
                Next::Done(signed) => {
                    self.complete_sign_in(machine, *signed).await?;
                    return Ok(SignInOutput { is_signed_in: true, next_step: SignInStep::Done });
                }
            };
        }
    }

    async fn send(&self, call: Call, action: &'static str) -> Reply {
        let caller = &self.shared.caller;
        let endpoint = self.shared.config.user_pool_endpoint();
        match call {
            Call::InitiateAuth(req) => match caller.call::<op::InitiateAuth>(endpoint, action, &req).await {
                Ok(out) => Reply::Auth(out.into()),
                Err(err) => Reply::Failed(err),
            },
            Call::RespondToAuthChallenge(req) => {
                match caller.call::<op::RespondToAuthChallenge>(endpoint, action, &req).await {
                    Ok(out) => Reply::Auth(out.into()),
                    Err(err) => Reply::Failed(err),
                }
            }
            Call::AssociateSoftwareToken(req) => {
                match caller.call::<op::AssociateSoftwareToken>(endpoint, action, &req).await {
                    Ok(out) => Reply::Associated(out),
                    Err(err) => Reply::Failed(err),
                }
            }
            Call::VerifySoftwareToken(req) => {
                match caller.call::<op::VerifySoftwareToken>(endpoint, action, &req).await {
                    Ok(out) => Reply::Verified(out),
                    Err(err) => Reply::Failed(err),
                }
            }
            Call::ConfirmDevice(req) => match caller.call::<op::ConfirmDevice>(endpoint, action, &req).await {
                Ok(_) => Reply::DeviceConfirmed,
                Err(err) => Reply::Failed(err),
            },
        }
    }

    async fn complete_sign_in(
        &self,
        machine: &SignInMachine,
        signed: crate::machine::SignedIn,
    ) -> Result<(), AuthError> {
        let ctx = machine.context();
        let details = SignInDetails {
            login_id: Some(ctx.login_id.clone()),
            auth_flow_type: Some(token_store::AuthFlowType::from(ctx.flow.as_str())),
        };
        let mut record = record_from_result(&signed.result, &signed.username, Some(details), now_ms())?;
        if let Some(err) = &signed.device_error {
            tracing::warn!(error = err.name(), "ConfirmDevice failed; signed in without remembering the device");
        }
        record.device = if signed.new_device { signed.device.clone() } else { None };
        self.shared.store.save(&record).await?;
        record.device = signed.device;
        let tolerance_ms = i64::try_from(self.shared.config.expiry_tolerance().as_millis()).unwrap_or(i64::MAX);
        let cached = Arc::new(Cached::from_record(record, tolerance_ms)?);
        let user = AuthUser {
            username: cached.tokens.username.clone(),
            user_id: cached.tokens.user_sub.clone().unwrap_or_default(),
            sign_in_details: Some(AuthSignInDetails {
                login_id: Some(ctx.login_id.clone()),
                auth_flow_type: Some(ctx.flow.as_str().to_owned()),
            }),
        };
        self.shared.sessions.set(Some(cached));
        self.clear_pending().await;
        self.shared.hub_dispatch(&AuthEvent::SignedIn(user));
        Ok(())
    }

    async fn save_pending(&self, pending: &PendingSignIn) -> Result<(), AuthError> {
        let json = serde_json::to_string(pending).map_err(|err| AuthError::Storage(err.to_string()))?;
        let key = pending_key(&self.shared.config);
        self.shared.store.storage().set(&key, &json).await.map_err(|err| AuthError::Storage(err.to_string()))
    }

    async fn load_pending(&self) -> Result<Option<PendingSignIn>, AuthError> {
        let key = pending_key(&self.shared.config);
        let Some(value) =
            self.shared.store.storage().get(&key).await.map_err(|err| AuthError::Storage(err.to_string()))?
        else {
            return Ok(None);
        };
        match serde_json::from_str::<PendingSignIn>(&value) {
            Ok(p) if p.expires_at_ms > now_ms() => Ok(Some(p)),
            Ok(_) => {
                self.clear_pending().await;
                Err(AuthError::invalid_state(
                    "the sign-in session expired (Cognito keeps it 3 minutes); call sign_in again",
                ))
            }
            Err(_) => {
                self.clear_pending().await;
                Err(AuthError::invalid_state("the stored sign-in state is unreadable; call sign_in again"))
            }
        }
    }

    async fn clear_pending(&self) {
        let key = pending_key(&self.shared.config);
        if let Err(err) = self.shared.store.storage().remove(&key).await {
            tracing::warn!(error = %err, "removing the pending sign-in state failed");
        }
    }

    /// The session (Amplify's `fetchAuthSession`): valid tokens, refreshed
    /// first when expired or when `force_refresh`; `tokens: None` when no
    /// user is signed in. Transient refresh failures are errors and keep
    /// the stored tokens.
    pub async fn fetch_auth_session(&self, force_refresh: bool) -> Result<AuthSession, AuthError> {
        if self.shared.token_provider.is_some() || self.shared.credentials_provider.is_some() {
            return self.fetch_from_providers(force_refresh).await;
        }
        // The hot path: fresh tokens from this thread's copy, no credentials.
        if !force_refresh
            && self.shared.config.identity_pool_id().is_none()
            && let Some(tokens) = self.shared.sessions.fresh_tokens(now_ms())
        {
            return Ok(AuthSession { tokens, identity_id: None, credentials: None });
        }
        let cached = self.shared.session(force_refresh).await?;
        let issued = self.shared.credentials(cached.as_deref(), force_refresh).await?;
        Ok(AuthSession {
            tokens: cached.map(|c| c.tokens.clone()),
            identity_id: issued.as_ref().map(|i| i.identity_id.clone()),
            credentials: issued.map(|i| i.credentials.clone()),
        })
    }

    /// The session when a custom token or credentials provider is set.
    async fn fetch_from_providers(&self, force_refresh: bool) -> Result<AuthSession, AuthError> {
        let tokens = self.tokens(force_refresh).await?;
        let (identity_id, credentials) = match &self.shared.credentials_provider {
            Some(provider) => provider.get_credentials(tokens.as_deref(), force_refresh).await?.unzip(),
            None => {
                let id_token = tokens.as_ref().map(|t| t.id_token.as_ref().map(|j| j.raw()));
                let issued = self.shared.credentials_for(id_token, force_refresh).await?;
                (issued.as_ref().map(|i| i.identity_id.clone()), issued.map(|i| i.credentials.clone()))
            }
        };
        Ok(AuthSession { tokens, identity_id, credentials })
    }

    /// The current tokens: from the custom token provider when one is set,
    /// else the Cognito session (refreshed when needed).
    pub(crate) async fn tokens(&self, force_refresh: bool) -> Result<Option<Arc<AuthTokens>>, AuthError> {
        match &self.shared.token_provider {
            Some(provider) => provider.get_tokens(force_refresh).await,
            None => Ok(self.shared.session(force_refresh).await?.map(|c| c.tokens.clone())),
        }
    }

    /// The tokens as stored, without refreshing (they may be expired).
    pub async fn peek_tokens(&self) -> Result<Option<Arc<AuthTokens>>, AuthError> {
        if let Some(value) = self.shared.sessions.peek() {
            return Ok(value.map(|c| c.tokens.clone()));
        }
        let tolerance_ms = i64::try_from(self.shared.config.expiry_tolerance().as_millis()).unwrap_or(i64::MAX);
        match self.shared.store.load().await? {
            Some(record) => Ok(Some(Cached::from_record(record, tolerance_ms)?.tokens.clone())),
            None => Ok(None),
        }
    }

    /// The signed-in user (Amplify's `getCurrentUser`).
    pub async fn get_current_user(&self) -> Result<CurrentUser, AuthError> {
        let tokens = self.tokens(false).await?.ok_or(AuthError::NotSignedIn)?;
        Ok(CurrentUser {
            username: tokens.username.clone(),
            user_id: tokens.user_sub.clone().unwrap_or_default(),
            sign_in_details: tokens.sign_in_details.clone(),
        })
    }

    /// A valid access token, refreshing first when needed; the error when
    /// nobody is signed in.
    pub(crate) async fn access_token(&self) -> Result<String, AuthError> {
        let tokens = self.tokens(false).await?.ok_or(AuthError::NotSignedIn)?;
        Ok(tokens.access_token.raw().expose_secret().to_owned())
    }

    /// Signs out (Amplify's `signOut`). Local: revokes the refresh token
    /// (`RevokeToken`, when the access token carries `origin_jti`). Global:
    /// `GlobalSignOut` (every session of the user). Local state is cleared
    /// even when the network calls fail; the remembered device is kept.
    pub async fn sign_out(&self, global: bool) -> Result<SignOutOutput, AuthError> {
        let mut conversation = self.shared.conversation.lock().await;
        *conversation = None;
        self.clear_pending().await;
        let mut output = SignOutOutput::default();
        let record = match self.shared.sessions.peek() {
            Some(Some(c)) => Some(c.record.clone()),
            Some(None) => None,
            None => self.shared.store.load().await.ok().flatten(),
        };
        if let Some(record) = record {
            output.oauth_sign_out_url = self.take_oauth_sign_out(&record.username).await;
            let endpoint = self.shared.config.user_pool_endpoint();
            let config = &self.shared.config;
            if global {
                let req = GlobalSignOutRequest {
                    access_token: Sensitive::new(record.access_token.expose_secret().to_owned()),
                    ..Default::default()
                };
                if let Err(err) = self.shared.caller.call::<op::GlobalSignOut>(endpoint, "signOut", &req).await {
                    output.global_sign_out_error = Some(err);
                }
            }
            let has_origin_jti = token_store::Jwt::decode(record.access_token.expose_secret())
                .is_ok_and(|jwt| jwt.claims().origin_jti.is_some());
            if let (Some(refresh), true) = (&record.refresh_token, has_origin_jti) {
                let req = RevokeTokenRequest {
                    client_id: config.client_id().into(),
                    client_secret: config.client_secret().map(|s| Sensitive::new(s.expose_secret().to_owned())),
                    token: Sensitive::new(refresh.expose_secret().to_owned()),
                    ..Default::default()
                };
                if let Err(err) = self.shared.caller.call::<op::RevokeToken>(endpoint, "signOut", &req).await {
                    output.revoke_token_error = Some(err);
                }
            }
        }
        self.shared.store.clear_tokens().await?;
        self.shared.sessions.set(None);
        self.shared.clear_credentials().await;
        self.shared.hub_dispatch(&AuthEvent::SignedOut);
        Ok(output)
    }
}

fn default_device_name() -> String {
    format!("amplify-auth-rs on {}", std::env::consts::OS)
}
