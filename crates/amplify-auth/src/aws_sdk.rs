//! The session's identity-pool credentials for the AWS SDK for Rust
//! (feature `aws-sdk`): [`AmplifyCredentialsProvider`] implements
//! [`ProvideCredentials`], so anything that takes an SDK credentials
//! provider (`aws_config::ConfigLoader::credentials_provider`, a service
//! `Config::builder().credentials_provider(...)`) can use the signed-in
//! user's, the guest's or the federated identity's credentials.
//!
//! Each call runs [`Auth::fetch_auth_session`]: credentials come from its
//! cache (refreshed single-flight shortly before they expire), with their
//! `Expiration` as the SDK's expiry, so the SDK's identity cache asks again
//! in time. Errors map to [`CredentialsError`]:
//!
//! | `fetch_auth_session` | `CredentialsError` |
//! |---|---|
//! | no credentials (no identity pool, or nobody signed in and guests not allowed), [`AuthError::NotSignedIn`], [`AuthError::InvalidState`] (e.g. an expired federation token) | `CredentialsNotLoaded` (a provider chain moves on) |
//! | [`AuthError::Validation`] (configuration) | `InvalidConfiguration` |
//! | [`AuthError::Service`] (the identity pool or user pool refused), [`AuthError::Transport`] | `ProviderError` |
//! | anything else | `Unhandled` |
//!
//! The original [`AuthError`] is the error's `source()`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, future};

use crate::client::Auth;
use crate::error::AuthError;

/// The name the credentials carry (`Credentials::provider_name`... in the
/// SDK's debug output).
const PROVIDER_NAME: &str = "AmplifyAuth";

/// An AWS SDK credentials provider backed by an [`Auth`] session.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use amplify_auth::aws_sdk::AmplifyCredentialsProvider;
/// use amplify_auth::{Auth, AuthConfig, SignInOptions};
/// use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
///
/// let config = AuthConfig::builder("us-east-1_AbCdEf123", "1example23456789")
///     .identity_pool_id("us-east-1:0f2bd3e5-4b8a-4a3b-9d1c-6f3f9a6f0e11")
///     .build()?;
/// let auth = Auth::new(config)?;
/// auth.sign_in("alice", Some("correct horse"), SignInOptions::default()).await?;
///
/// let provider = AmplifyCredentialsProvider::new(auth);
/// // With aws-config:
/// //   let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
/// //       .credentials_provider(provider.clone())
/// //       .load()
/// //       .await;
/// //   let s3 = aws_sdk_s3::Client::new(&sdk_config);
/// let shared = SharedCredentialsProvider::new(provider.clone());
/// let credentials = shared.provide_credentials().await?;
/// println!("access key {}, expires {:?}", credentials.access_key_id(), credentials.expiry());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AmplifyCredentialsProvider {
    auth: Auth,
    /// The last credentials provided, for `fallback_on_interrupt`.
    last: Arc<Mutex<Option<Credentials>>>,
}

impl AmplifyCredentialsProvider {
    /// A provider for `auth`'s session (clones of `auth` share it).
    #[must_use]
    pub fn new(auth: Auth) -> Self {
        Self { auth, last: Arc::new(Mutex::new(None)) }
    }

    /// The client behind this provider.
    #[must_use]
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    async fn load(&self) -> provider::Result {
        let session = self.auth.fetch_auth_session(false).await.map_err(to_credentials_error)?;
        let Some(creds) = session.credentials else {
            return Err(CredentialsError::not_loaded(
                "no AWS credentials: no identity pool is configured, or nobody is signed in or federated and guest access is not allowed",
            ));
        };
        let expiry = creds
            .expiration
            .and_then(|secs| u64::try_from(secs).ok())
            .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
        let credentials = Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose_secret(),
            Some(creds.session_token.expose_secret().to_owned()),
            expiry,
            PROVIDER_NAME,
        );
        if let Ok(mut g) = self.last.lock() {
            *g = Some(credentials.clone());
        }
        Ok(credentials)
    }
}

impl ProvideCredentials for AmplifyCredentialsProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.load())
    }

    /// The last credentials provided, while they have not expired.
    fn fallback_on_interrupt(&self) -> Option<Credentials> {
        let last = self.last.lock().ok()?.clone()?;
        match last.expiry() {
            Some(expiry) if expiry <= SystemTime::now() => None,
            _ => Some(last),
        }
    }
}

/// Maps an [`AuthError`] to the SDK's error kinds (see the module docs).
#[must_use]
pub fn to_credentials_error(err: AuthError) -> CredentialsError {
    match err {
        AuthError::NotSignedIn | AuthError::InvalidState(_) => CredentialsError::not_loaded(err),
        AuthError::Validation { .. } => CredentialsError::invalid_configuration(err),
        AuthError::Service(_) | AuthError::Transport { .. } => CredentialsError::provider_error(err),
        _ => CredentialsError::unhandled(err),
    }
}
