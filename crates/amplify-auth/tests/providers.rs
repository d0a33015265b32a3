//! Custom token and credentials providers: the session API and the account
//! calls run on tokens that did not come from this client's sign-in.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use amplify_auth::providers::{CredentialsProvider, ProviderFuture, TokenProvider};
use amplify_auth::{Auth, AuthError, AuthTokens, AwsCredentials, SignInOptions};
use common::{Env, PW};

#[derive(Debug)]
struct Fixed {
    tokens: Option<Arc<AuthTokens>>,
    calls: AtomicUsize,
}

impl TokenProvider for Fixed {
    fn get_tokens(&self, _force_refresh: bool) -> ProviderFuture<'_, Option<Arc<AuthTokens>>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { Ok(self.tokens.clone()) })
    }
}

#[derive(Debug)]
struct Creds;

impl CredentialsProvider for Creds {
    fn get_credentials<'a>(
        &'a self,
        tokens: Option<&'a AuthTokens>,
        _force_refresh: bool,
    ) -> ProviderFuture<'a, Option<(Arc<str>, Arc<AwsCredentials>)>> {
        Box::pin(async move {
            let who = tokens.map_or("guest".to_owned(), |t| t.username.clone());
            Ok(Some((
                Arc::from(format!("local:{who}").as_str()),
                Arc::new(AwsCredentials {
                    access_key_id: "AKIDCUSTOM".into(),
                    secret_access_key: "s".into(),
                    session_token: "t".into(),
                    expiration: None,
                }),
            )))
        })
    }
}

#[tokio::test]
async fn custom_providers_drive_the_session_api() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "yan", PW, &[]).unwrap();
    // Tokens obtained elsewhere (here: another client's sign-in).
    let source = env.auth();
    source.sign_in("yan", Some(PW), SignInOptions::default()).await.unwrap();
    let tokens = source.fetch_auth_session(false).await.unwrap().tokens.unwrap();

    let provider = Arc::new(Fixed { tokens: Some(tokens.clone()), calls: AtomicUsize::new(0) });
    let auth = Auth::builder(env.config().build().unwrap())
        .token_provider(provider.clone())
        .credentials_provider(Arc::new(Creds))
        .build()
        .unwrap();
    let session = auth.fetch_auth_session(false).await.unwrap();
    assert_eq!(session.tokens.unwrap().username, "yan");
    assert_eq!(session.identity_id.as_deref(), Some("local:yan"));
    assert_eq!(session.credentials.unwrap().access_key_id, "AKIDCUSTOM");
    assert_eq!(auth.get_current_user().await.unwrap().username, "yan");
    // Account calls use the provider's access token.
    assert!(auth.fetch_user_attributes().await.unwrap().contains_key("sub"));
    assert!(provider.calls.load(Ordering::Relaxed) >= 3);

    // A provider with nobody signed in.
    let empty = Auth::builder(env.config().build().unwrap())
        .token_provider(Arc::new(Fixed { tokens: None, calls: AtomicUsize::new(0) }))
        .build()
        .unwrap();
    assert!(empty.fetch_auth_session(false).await.unwrap().tokens.is_none());
    assert!(matches!(empty.get_current_user().await, Err(AuthError::NotSignedIn)));
}
