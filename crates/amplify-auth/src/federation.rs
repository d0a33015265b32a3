//! Federation to the identity pool with another provider's token
//! (amplify-swift's and amplify-android's `federateToIdentityPool`, the
//! older `Auth.federatedSignIn`): AWS credentials for a Google, Facebook,
//! Amazon, Apple, OIDC or developer-authenticated user, without a user-pool
//! sign-in.
//!
//! The rules, as Amplify's native libraries have them:
//! - federating needs an identity pool and no user signed in to the user
//!   pool ([`AuthError::UserAlreadyAuthenticated`]); federating again while
//!   federated replaces the federation;
//! - while federated, [`Auth::sign_in`] fails with
//!   [`AuthError::InvalidState`] until
//!   [`Auth::clear_federation_to_identity_pool`] or [`Auth::sign_out`];
//! - [`Auth::fetch_auth_session`] returns the federated identity id and
//!   credentials, and no tokens.
//!
//! The federation (provider, token, identity id) is kept in storage, so a
//! new [`Auth`] on the same storage is still federated, with the same
//! identity. When the credentials are due for refresh, the stored provider
//! token is sent again if it has not expired (its expiry is
//! [`FederateOptions::expires_at`], else the token's `exp` claim when it is a
//! JWT, else unknown and the identity pool decides); once it has expired,
//! `fetch_auth_session` fails with [`AuthError::InvalidState`] and the app
//! calls [`Auth::federate_to_identity_pool`] again with a fresh token (what
//! Amplify's native libraries ask of apps too). The identity pool's own
//! refusal (`NotAuthorizedException`) is returned as is.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use cognito_wire::Sensitive;
use cognito_wire::cognito_identity::{GetCredentialsForIdentityInput, GetIdInput, operation as op};
use hub_events::AuthEvent;
use serde_json::{Value, json};
use token_store::SecretString;

use crate::client::Auth;
use crate::credentials::{AwsCredentials, Issued, issue};
use crate::error::AuthError;
use crate::{Shared, now_ms};

/// The provider of a token given to [`Auth::federate_to_identity_pool`]; it
/// names the identity pool's `Logins` key.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum FederationProvider {
    /// Google: `accounts.google.com` (the token: a Google ID token).
    Google,
    /// Facebook: `graph.facebook.com` (the token: a Facebook access token).
    Facebook,
    /// Login with Amazon: `www.amazon.com`.
    Amazon,
    /// Sign in with Apple: `appleid.apple.com` (the token: Apple's ID token).
    Apple,
    /// An OpenID Connect provider registered on the identity pool, named by
    /// its issuer host (`login.example.com`; a leading `https://` and a
    /// trailing `/` are dropped).
    Oidc(String),
    /// A developer-authenticated identity: the identity id and (as the
    /// token) the OpenID token your backend got from
    /// `GetOpenIdTokenForDeveloperIdentity`; sent as the
    /// `cognito-identity.amazonaws.com` login.
    Developer {
        /// The identity id `GetOpenIdTokenForDeveloperIdentity` returned.
        identity_id: String,
    },
}

impl FederationProvider {
    /// The identity pool's `Logins` key for this provider.
    #[must_use]
    pub fn logins_key(&self) -> &str {
        match self {
            Self::Google => "accounts.google.com",
            Self::Facebook => "graph.facebook.com",
            Self::Amazon => "www.amazon.com",
            Self::Apple => "appleid.apple.com",
            Self::Oidc(issuer) => {
                let host = issuer.strip_prefix("https://").unwrap_or(issuer);
                host.strip_suffix('/').unwrap_or(host)
            }
            Self::Developer { .. } => "cognito-identity.amazonaws.com",
        }
    }
}

/// Options for [`Auth::federate_to_identity_pool`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FederateOptions {
    /// Use this identity id instead of asking `GetId` (amplify's
    /// `developerProvidedIdentityId`). For [`FederationProvider::Developer`]
    /// the provider's identity id is used.
    pub custom_identity_id: Option<String>,
    /// When the provider token expires (seconds since the epoch), if it is
    /// not a JWT with an `exp` claim or you know better: after it, the
    /// stored token is no longer sent to refresh credentials.
    pub expires_at: Option<i64>,
}

/// What [`Auth::federate_to_identity_pool`] returns (Amplify's
/// `FederateToIdentityPoolResult`).
#[derive(Clone, Debug)]
pub struct FederationResult {
    /// The identity-pool identity.
    pub identity_id: Arc<str>,
    /// Temporary AWS credentials for it.
    pub credentials: Arc<AwsCredentials>,
}

/// A federation: persisted, and its latest credentials.
pub(crate) struct Federated {
    logins_key: String,
    token: SecretString,
    identity_id: Mutex<String>,
    /// When the provider token expires (seconds since the epoch), if known.
    token_expires_at: Option<i64>,
    issued: Mutex<Option<Arc<Issued>>>,
}

impl fmt::Debug for Federated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Federated")
            .field("logins_key", &self.logins_key)
            .field("token_expires_at", &self.token_expires_at)
            .finish_non_exhaustive()
    }
}

impl Federated {
    fn identity_id(&self) -> String {
        self.identity_id.lock().map(|g| g.clone()).unwrap_or_default()
    }

    fn to_json(&self) -> String {
        json!({
            "provider": self.logins_key,
            "token": self.token.expose_secret(),
            "identityId": self.identity_id(),
            "expiresAt": self.token_expires_at,
        })
        .to_string()
    }

    fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let text_of = |k: &str| value.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned);
        Some(Self {
            logins_key: text_of("provider")?,
            token: SecretString::new(text_of("token")?),
            identity_id: Mutex::new(text_of("identityId")?),
            token_expires_at: value.get("expiresAt").and_then(Value::as_i64),
            issued: Mutex::new(None),
        })
    }
}

/// The federation state of one client: loaded from storage on first use.
#[derive(Default)]
pub(crate) struct FederationSlot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    loaded: bool,
    current: Option<Arc<Federated>>,
}

impl FederationSlot {
    fn set(&self, current: Option<Arc<Federated>>) {
        if let Ok(mut g) = self.state.lock() {
            g.loaded = true;
            g.current = current;
        }
    }
}

/// Where the federation is stored.
fn federation_key(identity_pool_id: &str) -> String {
    format!("{}.{identity_pool_id}.federation", token_store::NATIVE_KEY_PREFIX)
}

impl Shared {
    /// The current federation, read from storage on first use.
    pub(crate) async fn federation(&self) -> Option<Arc<Federated>> {
        let slot = &self.creds.federation;
        if let Ok(g) = slot.state.lock()
            && g.loaded
        {
            return g.current.clone();
        }
        let pool = self.config.identity_pool_id()?;
        let stored = match self.store.storage().get(&federation_key(pool)).await {
            Ok(value) => value.and_then(|v| Federated::from_json(v.as_ref())).map(Arc::new),
            Err(err) => {
                tracing::warn!(error = %err, "reading the federation failed");
                return None;
            }
        };
        let mut g = slot.state.lock().ok()?;
        if !g.loaded {
            g.loaded = true;
            g.current = stored;
        }
        g.current.clone()
    }

    /// Whether this client is federated to the identity pool.
    pub(crate) async fn is_federated(&self) -> bool {
        self.federation().await.is_some()
    }

    /// Forgets the federation, in memory and in storage.
    pub(crate) async fn clear_federation(&self) {
        self.creds.federation.set(None);
        if let Some(pool) = self.config.identity_pool_id()
            && let Err(err) = self.store.storage().remove(&federation_key(pool)).await
        {
            tracing::warn!(error = %err, "removing the federation failed");
        }
    }

    /// The federation's credentials: cached ones while fresh, else new ones
    /// for the stored token (single-flight), unless it has expired.
    pub(crate) async fn federated_credentials(
        &self,
        federated: &Arc<Federated>,
        force_refresh: bool,
    ) -> Result<Arc<Issued>, AuthError> {
        let now = now_ms();
        if !force_refresh
            && let Some(issued) = federated.issued.lock().ok().and_then(|g| g.clone())
            && now < issued.refresh_at_ms
        {
            return Ok(issued);
        }
        if federated.token_expires_at.is_some_and(|exp| exp.saturating_mul(1000) <= now) {
            return Err(AuthError::invalid_state(
                "the federated provider token has expired; call federate_to_identity_pool with a fresh token",
            ));
        }
        let fetched = self.single_flight(self.fetch_federated(federated.clone())).await?;
        fetched.ok_or_else(|| AuthError::protocol("no credentials for the federated identity"))
    }

    async fn fetch_federated(&self, federated: Arc<Federated>) -> Result<Option<Arc<Issued>>, AuthError> {
        let endpoint = self
            .config
            .identity_pool_endpoint()
            .ok_or_else(|| AuthError::validation("identity_pool_endpoint", "missing"))?;
        let identity_id = federated.identity_id();
        let input = GetCredentialsForIdentityInput {
            identity_id: identity_id.clone(),
            logins: Some(federated_logins(&federated.logins_key, federated.token.expose_secret())),
            ..Default::default()
        };
        let out = self.caller.call::<op::GetCredentialsForIdentity>(endpoint, "fetchAuthSession", &input).await?;
        let issued = Arc::new(issue(out, identity_id.clone(), None)?);
        if *issued.identity_id != *identity_id {
            if let Ok(mut g) = federated.identity_id.lock() {
                *g = issued.identity_id.to_string();
            }
            if let Some(pool) = self.config.identity_pool_id()
                && let Err(err) = self.store.storage().set(&federation_key(pool), &federated.to_json()).await
            {
                tracing::warn!(error = %err, "storing the federation failed");
            }
        }
        if let Ok(mut g) = federated.issued.lock() {
            *g = Some(issued.clone());
        }
        Ok(Some(issued))
    }
}

fn federated_logins(key: &str, token: &str) -> BTreeMap<String, Sensitive<String>> {
    BTreeMap::from([(key.to_owned(), Sensitive::new(token.to_owned()))])
}

impl Auth {
    /// Federates to the identity pool with another provider's token
    /// (amplify-swift's `federateToIdentityPool`): `GetId` (unless an
    /// identity id is given) then `GetCredentialsForIdentity` with
    /// `Logins: {<provider key>: token}`. The federation is stored; from
    /// now on [`fetch_auth_session`](Self::fetch_auth_session) returns its
    /// identity id and credentials (no tokens), and the Hub's `auth`
    /// channel gets `federatedToIdentityPool`. See the
    /// [module documentation](crate::federation) for refreshes.
    ///
    /// Errors: [`AuthError::UserAlreadyAuthenticated`] while a user is
    /// signed in to the user pool; [`AuthError::Validation`] without an
    /// identity pool or with an empty token or identity id; the identity
    /// pool's refusal as [`AuthError::Service`] (`NotAuthorizedException`
    /// "Token is not from a supported provider of this identity pool." and
    /// "Invalid login token. ..."), in which case nothing changes.
    ///
    /// ```no_run
    /// # async fn demo(auth: amplify_auth::Auth, google_id_token: &str) -> Result<(), amplify_auth::AuthError> {
    /// use amplify_auth::{FederateOptions, FederationProvider};
    ///
    /// let out = auth
    ///     .federate_to_identity_pool(google_id_token, FederationProvider::Google, FederateOptions::default())
    ///     .await?;
    /// println!("identity {}", out.identity_id);
    /// let session = auth.fetch_auth_session(false).await?;
    /// assert!(session.tokens.is_none() && session.credentials.is_some());
    /// auth.clear_federation_to_identity_pool().await?;
    /// # Ok(()) }
    /// ```
    pub async fn federate_to_identity_pool(
        &self,
        token: &str,
        provider: FederationProvider,
        options: FederateOptions,
    ) -> Result<FederationResult, AuthError> {
        let shared = &self.shared;
        let Some(identity_pool_id) = shared.config.identity_pool_id() else {
            return Err(AuthError::validation("identity_pool_id", "federation needs an identity pool"));
        };
        let endpoint = shared
            .config
            .identity_pool_endpoint()
            .ok_or_else(|| AuthError::validation("identity_pool_endpoint", "missing"))?;
        if token.is_empty() {
            return Err(AuthError::validation("token", "empty"));
        }
        if provider.logins_key().is_empty() {
            return Err(AuthError::validation("provider", "empty OIDC issuer"));
        }
        // Serialised with sign_in, which checks the other way round.
        let _conversation = shared.conversation.lock().await;
        if shared.session(false).await.ok().flatten().is_some() || shared.store.load().await?.is_some() {
            return Err(AuthError::UserAlreadyAuthenticated);
        }
        let logins_key = provider.logins_key().to_owned();
        let logins = federated_logins(&logins_key, token);
        let given = match &provider {
            FederationProvider::Developer { identity_id } => Some(identity_id.clone()),
            _ => options.custom_identity_id.clone(),
        };
        let identity_id = match given {
            Some(id) if id.is_empty() => return Err(AuthError::validation("identity_id", "empty")),
            Some(id) => id,
            None => {
                let input = GetIdInput {
                    identity_pool_id: identity_pool_id.to_owned(),
                    logins: Some(logins.clone()),
                    ..Default::default()
                };
                shared
                    .caller
                    .call::<op::GetId>(endpoint, "federateToIdentityPool", &input)
                    .await?
                    .identity_id
                    .ok_or_else(|| AuthError::protocol("GetId returned no IdentityId"))?
            }
        };
        let input = GetCredentialsForIdentityInput {
            identity_id: identity_id.clone(),
            logins: Some(logins),
            ..Default::default()
        };
        let out =
            shared.caller.call::<op::GetCredentialsForIdentity>(endpoint, "federateToIdentityPool", &input).await?;
        let issued = Arc::new(issue(out, identity_id, None)?);
        let token_expires_at = options.expires_at.or_else(|| {
            token_store::Jwt::decode(token).ok().and_then(|jwt| jwt.expires_at_ms()).map(|ms| ms.div_euclid(1000))
        });
        let federated = Arc::new(Federated {
            logins_key,
            token: SecretString::new(token.to_owned()),
            identity_id: Mutex::new(issued.identity_id.to_string()),
            token_expires_at,
            issued: Mutex::new(Some(issued.clone())),
        });
        shared
            .store
            .storage()
            .set(&federation_key(identity_pool_id), &federated.to_json())
            .await
            .map_err(|err| AuthError::Storage(err.to_string()))?;
        // Guest credentials no longer apply.
        shared.creds.clear();
        shared.creds.federation.set(Some(federated));
        shared.hub_dispatch(&AuthEvent::FederatedToIdentityPool);
        Ok(FederationResult { identity_id: issued.identity_id.clone(), credentials: issued.credentials.clone() })
    }

    /// Ends the federation (amplify-swift's `clearFederationToIdentityPool`):
    /// forgets the token, identity id and credentials, in memory and in
    /// storage, and emits `federationToIdentityPoolCleared`.
    /// [`AuthError::InvalidState`] when not federated.
    pub async fn clear_federation_to_identity_pool(&self) -> Result<(), AuthError> {
        if !self.shared.is_federated().await {
            return Err(AuthError::invalid_state("not federated to an identity pool"));
        }
        self.shared.clear_federation().await;
        self.shared.creds.clear();
        self.shared.hub_dispatch(&AuthEvent::FederationToIdentityPoolCleared);
        Ok(())
    }

    /// Whether this client is federated to the identity pool (see
    /// [`federate_to_identity_pool`](Self::federate_to_identity_pool)).
    pub async fn is_federated_to_identity_pool(&self) -> bool {
        self.shared.is_federated().await
    }
}
