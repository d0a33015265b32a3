//! Identity-pool credentials: `GetId` and `GetCredentialsForIdentity`, for
//! the signed-in user (with the `Logins` map) or for a guest when the
//! configuration allows it.
//!
//! Credentials are cached until five minutes before their expiration and
//! fetched single-flight (Amplify fetches them once per caller, a known
//! rate-limit problem). The guest identity id is kept in storage under
//! Amplify's key, `com.amplify.Cognito.<identityPoolId>.identityId`; the
//! signed-in user's identity id is kept in memory, as Amplify does.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use cognito_wire::Sensitive;
use cognito_wire::cognito_identity::{
    GetCredentialsForIdentityInput, GetCredentialsForIdentityResponse, GetIdInput, operation as op,
};
use token_store::SecretString;
use tokio::sync::OnceCell;

use crate::error::AuthError;
use crate::session::Cached;
use crate::{Shared, now_ms};

/// Temporary AWS credentials from an identity pool. `Debug` shows only the
/// access key id.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// `SecretKey`.
    pub secret_access_key: SecretString,
    /// `SessionToken`.
    pub session_token: SecretString,
    /// When they expire, seconds since the epoch.
    pub expiration: Option<i64>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Credentials with the identity they belong to.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub(crate) identity_id: Arc<str>,
    pub(crate) credentials: Arc<AwsCredentials>,
    /// The ID token they were issued for (`None`: a guest).
    pub(crate) for_token: Option<SecretString>,
    /// When to fetch new ones (ms).
    pub(crate) refresh_at_ms: i64,
}

type Flight = Arc<OnceCell<Result<Option<Arc<Issued>>, AuthError>>>;

/// The credential state of one client.
#[derive(Default)]
pub(crate) struct CredentialCache {
    issued: Mutex<Option<Arc<Issued>>>,
    /// The signed-in user's identity id (memory only).
    primary_identity: Mutex<Option<String>>,
    flight: Mutex<Option<Flight>>,
    /// Federation to the identity pool with another provider's token.
    pub(crate) federation: crate::federation::FederationSlot,
}

/// Refresh this long before `Expiration`.
pub(crate) const EARLY_MS: i64 = 5 * 60 * 1000;
/// Without an `Expiration`, keep credentials this long (Amplify's TTL).
pub(crate) const DEFAULT_TTL_MS: i64 = 50 * 60 * 1000;

impl CredentialCache {
    /// Forgets the credentials and the signed-in user's identity id (a
    /// federation is cleared separately).
    pub(crate) fn clear(&self) {
        if let Ok(mut g) = self.issued.lock() {
            *g = None;
        }
        if let Ok(mut g) = self.primary_identity.lock() {
            *g = None;
        }
    }

    fn fresh(&self, id_token: Option<&SecretString>, now: i64) -> Option<Arc<Issued>> {
        let guard = self.issued.lock().ok()?;
        let issued = guard.as_ref()?;
        (issued.for_token.as_ref() == id_token && now < issued.refresh_at_ms).then(|| issued.clone())
    }
}

pub(crate) fn guest_key(identity_pool_id: &str) -> String {
    format!("com.amplify.Cognito.{identity_pool_id}.identityId")
}

impl Shared {
    /// Forgets credentials and identity ids, the stored guest id included
    /// (Amplify's `clearCredentialsAndIdentityId` on sign-out).
    pub(crate) async fn clear_credentials(&self) {
        self.creds.clear();
        if let Some(pool) = self.config.identity_pool_id()
            && let Err(err) = self.store.storage().remove(&guest_key(pool)).await
        {
            tracing::warn!(error = %err, "removing the guest identity id failed");
        }
        self.clear_federation().await;
    }

    /// The `Logins` key for the user pool: `cognito-idp.<region>.<dns suffix>/<poolId>`.
    fn logins_key(&self) -> String {
        let region = self.config.region();
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        format!("cognito-idp.{region}.{suffix}/{}", self.config.user_pool_id())
    }

    /// Credentials for the session (`None` when no identity pool is
    /// configured, or for a guest when guests are not allowed).
    pub(crate) async fn credentials(
        &self,
        session: Option<&Cached>,
        force_refresh: bool,
    ) -> Result<Option<Arc<Issued>>, AuthError> {
        let signed_in = session.map(|c| c.record.id_token.as_ref());
        self.credentials_for(signed_in, force_refresh).await
    }

    /// Credentials for a signed-in user (`Some(id_token)`) or a guest (`None`).
    pub(crate) async fn credentials_for(
        &self,
        signed_in: Option<Option<&SecretString>>,
        force_refresh: bool,
    ) -> Result<Option<Arc<Issued>>, AuthError> {
        let Some(identity_pool_id) = self.config.identity_pool_id() else { return Ok(None) };
        if signed_in.is_none()
            && let Some(federated) = self.federation().await
        {
            return self.federated_credentials(&federated, force_refresh).await.map(Some);
        }
        let id_token = match signed_in {
            Some(token) => Some(token.ok_or_else(|| {
                AuthError::invalid_state("identity-pool credentials need an ID token, and the session has none")
            })?),
            None if self.config.allow_guest_access() => None,
            None => return Ok(None),
        };
        if !force_refresh && let Some(hit) = self.creds.fresh(id_token, now_ms()) {
            return Ok(Some(hit));
        }
        let id_token = id_token.cloned();
        self.single_flight(self.fetch_credentials(identity_pool_id, id_token)).await
    }

    /// Runs `fetch` unless a fetch is already in flight, in which case its
    /// result is shared (one request for any number of callers).
    pub(crate) async fn single_flight(
        &self,
        fetch: impl Future<Output = Result<Option<Arc<Issued>>, AuthError>>,
    ) -> Result<Option<Arc<Issued>>, AuthError> {
        let flight = {
            let mut slot =
                self.creds.flight.lock().map_err(|_| AuthError::invalid_state("credentials lock poisoned"))?;
            match &*slot {
                Some(f) => f.clone(),
                None => {
                    let f: Flight = Arc::new(OnceCell::new());
                    *slot = Some(f.clone());
                    f
                }
            }
        };
        let result = flight.get_or_init(|| fetch).await.clone();
        if let Ok(mut slot) = self.creds.flight.lock()
            && slot.as_ref().is_some_and(|f| Arc::ptr_eq(f, &flight))
        {
            *slot = None;
        }
        result
    }

    async fn fetch_credentials(
        &self,
        identity_pool_id: &str,
        id_token: Option<SecretString>,
    ) -> Result<Option<Arc<Issued>>, AuthError> {
        let endpoint = self
            .config
            .identity_pool_endpoint()
            .ok_or_else(|| AuthError::validation("identity_pool_endpoint", "missing"))?;
        let logins: Option<BTreeMap<String, Sensitive<String>>> = id_token
            .as_ref()
            .map(|t| BTreeMap::from([(self.logins_key(), Sensitive::new(t.expose_secret().to_owned()))]));
        let storage = self.store.storage();
        let key = guest_key(identity_pool_id);
        // The identity id: the signed-in user's (memory), else the stored
        // guest id (reused with Logins, as Amplify does), else GetId.
        let known = match &logins {
            Some(_) => self.creds.primary_identity.lock().ok().and_then(|g| g.clone()),
            None => None,
        };
        let known = match known {
            Some(id) => Some(id),
            None => storage.get(&key).await.ok().flatten().map(|v| v.to_string()).filter(|v| !v.is_empty()),
        };
        let identity_id = match known {
            Some(id) => id,
            None => {
                let input = GetIdInput {
                    identity_pool_id: identity_pool_id.to_owned(),
                    logins: logins.clone(),
                    ..Default::default()
                };
                self.caller
                    .call::<op::GetId>(endpoint, "fetchAuthSession", &input)
                    .await?
                    .identity_id
                    .ok_or_else(|| AuthError::protocol("GetId returned no IdentityId"))?
            }
        };
        let input = GetCredentialsForIdentityInput {
            identity_id: identity_id.clone(),
            logins: logins.clone(),
            ..Default::default()
        };
        let out = self.caller.call::<op::GetCredentialsForIdentity>(endpoint, "fetchAuthSession", &input).await?;
        let issued = Arc::new(issue(out, identity_id, id_token)?);
        let identity_id = issued.identity_id.to_string();
        if logins.is_some() {
            if let Ok(mut g) = self.creds.primary_identity.lock() {
                *g = Some(identity_id.clone());
            }
            // A primary identity replaces a stored guest id (Amplify).
            let _ = storage.remove(&key).await;
        } else if let Err(err) = storage.set(&key, &identity_id).await {
            tracing::warn!(error = %err, "storing the guest identity id failed");
        }
        if let Ok(mut g) = self.creds.issued.lock() {
            *g = Some(issued.clone());
        }
        Ok(Some(issued))
    }
}

/// Credentials from a `GetCredentialsForIdentity` answer (the identity id it
/// names, else the one asked for), with the time to refresh them.
pub(crate) fn issue(
    out: GetCredentialsForIdentityResponse,
    identity_id: String,
    for_token: Option<SecretString>,
) -> Result<Issued, AuthError> {
    let creds =
        out.credentials.ok_or_else(|| AuthError::protocol("GetCredentialsForIdentity returned no Credentials"))?;
    let (Some(access_key_id), Some(secret), Some(session_token)) =
        (creds.access_key_id, creds.secret_key, creds.session_token)
    else {
        return Err(AuthError::protocol("GetCredentialsForIdentity returned incomplete Credentials"));
    };
    let identity_id = out.identity_id.unwrap_or(identity_id);
    let expiration = creds.expiration.map(|e| e.as_secs());
    let now = now_ms();
    let refresh_at_ms = match expiration {
        Some(exp) => exp.saturating_mul(1000).saturating_sub(EARLY_MS).max(now.saturating_add(1000)),
        None => now.saturating_add(DEFAULT_TTL_MS),
    };
    Ok(Issued {
        identity_id: Arc::from(identity_id.as_str()),
        credentials: Arc::new(AwsCredentials {
            access_key_id,
            secret_access_key: SecretString::new(secret.into_inner()),
            session_token: SecretString::new(session_token),
            expiration,
        }),
        for_token,
        refresh_at_ms,
    })
}
