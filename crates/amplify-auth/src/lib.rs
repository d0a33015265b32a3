//! Amazon Cognito user-pool authentication for Rust, the way AWS Amplify
//! Auth does it: sign-up, sign-in with SRP and every challenge step
//! (`nextStep`), devices, sessions that refresh themselves.
//!
//! If you know Amplify JS v6 you know this API: [`Auth::sign_in`] and
//! [`Auth::confirm_sign_in`] return a [`SignInOutput`] whose
//! [`SignInStep`] names the step exactly as Amplify's `signInStep` does;
//! [`Auth::fetch_auth_session`] returns valid tokens, refreshing them first
//! when needed; events go out on a [`hub_events::Hub`].
//!
//! Where Amplify's users report failures, this crate is stricter:
//! tokens are stored as one atomic record ([`token_store`]), refreshes are
//! single-flight and clear the session only when Cognito proves it over,
//! the pending sign-in expires after Cognito's 3 minutes on every
//! `confirm_sign_in`, secrets never reach `Debug` output, logs or errors.
//!
//! # Layout
//! - [`config`]: [`AuthConfig`] from `amplify_outputs.json`, Gen 1 exports
//!   or a builder.
//! - [`machine`]: the sign-in conversation as a pure state machine.
//! - [`Auth`]: the driver: network, storage, hub.
//! - [`oauth`]: sign-in through the hosted UI (`sign_in_with_redirect`,
//!   PKCE, a loopback redirect listener).
//! - [`transport`]: the HTTP seam (hyper + rustls by default), retries.

mod account;
#[cfg(feature = "aws-sdk")]
pub mod aws_sdk;
mod client;
pub mod config;
mod credentials;
mod error;
pub mod federation;
pub mod machine;
pub mod oauth;
pub mod providers;
mod random;
mod session;
mod steps;
pub mod transport;
mod user;
pub mod verify;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use account::{
    AutoSignInStep, ConfirmSignUpOutput, DeviceInfo, DevicePage, ResetPasswordOutput, ResetPasswordStep, SignUpOptions,
    SignUpOutput, SignUpStep,
};
pub use client::{Auth, AuthBuilder, AuthSession, CurrentUser, SignInOptions, SignOutOutput};
pub use config::{AuthConfig, AuthConfigBuilder, AuthFlow, RetryPolicy};
pub use credentials::AwsCredentials;
pub use error::{AuthError, Delivery};
pub use federation::{FederateOptions, FederationProvider, FederationResult};
pub use machine::ConfirmOptions;
pub use oauth::{
    OAuthPrompt, OAuthProvider, RedirectListener, RedirectSignIn, SignInWithRedirectOptions, listen_for_redirect,
};
pub use session::AuthTokens;
pub use steps::{CodeDeliveryDetails, MfaType, SignInOutput, SignInStep, TotpSetupDetails};
pub use user::{MfaPreference, MfaPreferences, UpdateAttributeOutput, UpdateAttributeStep, UserData};

/// The examples of `docs/guide.md`, compiled as documentation tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
pub struct GuideExamples;

/// State shared by the clones of one [`Auth`].
pub(crate) struct Shared {
    pub(crate) config: AuthConfig,
    pub(crate) caller: transport::Caller,
    pub(crate) store: token_store::TokenStore,
    pub(crate) hub: hub_events::Hub,
    pub(crate) hub_key: hub_events::AuthChannelKey,
    pub(crate) sessions: session::Sessions,
    pub(crate) creds: credentials::CredentialCache,
    /// The sign-in conversation in progress (serialises sign-in calls).
    pub(crate) conversation: tokio::sync::Mutex<Option<machine::SignInMachine>>,
    pub(crate) device_name: Option<String>,
    pub(crate) token_provider: Option<Arc<dyn providers::TokenProvider>>,
    pub(crate) credentials_provider: Option<Arc<dyn providers::CredentialsProvider>>,
    /// Auto sign-in after sign-up: (username, password, session).
    pub(crate) auto_sign_in: std::sync::Mutex<Option<account::AutoSignIn>>,
}

impl Shared {
    pub(crate) fn hub_dispatch(&self, event: &hub_events::AuthEvent) {
        if let Err(err) = self.hub.dispatch_auth(&self.hub_key, event) {
            tracing::warn!(error = %err, "auth event not dispatched");
        }
    }
}

/// Decodes a JWT's header and claims **without verifying it** (Amplify's
/// `decodeJWT`): for reading your own tokens. To trust a token someone sent
/// you, use [`verify::TokenVerifier`].
///
/// ```
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhYmMiLCJleHAiOjQxMDI0NDQ4MDB9.";
/// let jwt = amplify_auth::decode_jwt(token).unwrap();
/// assert_eq!(jwt.claims().sub.as_deref(), Some("abc"));
/// assert!(amplify_auth::decode_jwt("not a token").is_err());
/// ```
pub fn decode_jwt(token: &str) -> Result<token_store::Jwt, token_store::JwtError> {
    token_store::Jwt::decode(token)
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
