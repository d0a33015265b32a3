//! Seams for bringing your own tokens or credentials (Amplify's custom
//! `TokenProvider` and `CredentialsAndIdentityIdProvider`): the session API
//! (`fetch_auth_session`, `get_current_user`, the account calls) and the
//! Hub then work on top of them.
//!
//! ```
//! use std::sync::Arc;
//! use amplify_auth::providers::{ProviderFuture, TokenProvider};
//! use amplify_auth::{AuthError, AuthTokens};
//!
//! /// Tokens from somewhere else (an OIDC library, a parent process...).
//! #[derive(Debug)]
//! struct Fixed(Arc<AuthTokens>);
//!
//! impl TokenProvider for Fixed {
//!     fn get_tokens(&self, _force_refresh: bool) -> ProviderFuture<'_, Option<Arc<AuthTokens>>> {
//!         Box::pin(async move { Ok(Some(self.0.clone())) })
//!     }
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{AuthError, AuthTokens, AwsCredentials};

/// The future a provider returns.
pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AuthError>> + Send + 'a>>;

/// A source of user-pool tokens: valid tokens (refreshed when
/// `force_refresh` or when they expire), or `None` when nobody is signed in.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// The current tokens.
    fn get_tokens(&self, force_refresh: bool) -> ProviderFuture<'_, Option<Arc<AuthTokens>>>;
}

/// A source of AWS credentials with their identity id, for the tokens (or
/// for a guest when `tokens` is `None`); `None` when there are none.
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// The current credentials.
    fn get_credentials<'a>(
        &'a self,
        tokens: Option<&'a AuthTokens>,
        force_refresh: bool,
    ) -> ProviderFuture<'a, Option<(Arc<str>, Arc<AwsCredentials>)>>;
}
