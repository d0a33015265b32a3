//! The AWS SDK credentials adapter (feature `aws-sdk`) against the local
//! pool: a signed-in user's, a guest's and a federated identity's
//! credentials through `ProvideCredentials`, and the error mapping.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, UNIX_EPOCH};

use amplify_auth::aws_sdk::AmplifyCredentialsProvider;
use amplify_auth::{Auth, SignInOptions};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use common::{Env, PW};

fn auth(env: &Env, identity_pool: &str, guests: bool) -> Auth {
    let config = env
        .config()
        .identity_pool_id(identity_pool)
        .identity_pool_endpoint(env.pool.endpoint())
        .allow_guest_access(guests)
        .build()
        .unwrap();
    Auth::new(config).unwrap()
}

#[tokio::test]
async fn a_signed_in_users_credentials_reach_the_sdk() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "sam", PW, &[]).unwrap();
    let identity_pool = env.pool.create_identity_pool("sdk", false, &[(&env.pool_id, &env.client_id)]).unwrap();
    let auth = auth(&env, &identity_pool, false);
    let provider = AmplifyCredentialsProvider::new(auth.clone());

    // Nobody signed in, guests not allowed: not loaded (a chain moves on).
    let err = provider.provide_credentials().await.unwrap_err();
    assert!(matches!(err, CredentialsError::CredentialsNotLoaded(_)), "{err:?}");
    assert!(provider.fallback_on_interrupt().is_none());

    auth.sign_in("sam", Some(PW), SignInOptions::default()).await.unwrap();
    let shared = SharedCredentialsProvider::new(provider.clone());
    let creds = shared.provide_credentials().await.unwrap();
    let session = auth.fetch_auth_session(false).await.unwrap();
    let ours = session.credentials.unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"), "{creds:?}");
    assert_eq!(creds.access_key_id(), ours.access_key_id);
    assert_eq!(creds.secret_access_key(), ours.secret_access_key.expose_secret());
    assert_eq!(creds.session_token(), Some(ours.session_token.expose_secret()));
    let expiry = UNIX_EPOCH + Duration::from_secs(u64::try_from(ours.expiration.unwrap()).unwrap());
    assert_eq!(creds.expiry(), Some(expiry));
    // About an hour from the pool's clock.
    let left = expiry.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 - env.now();
    assert!((3500..=3600).contains(&left), "{left}");
    // The SDK's Debug output hides the secrets.
    let shown = format!("{creds:?}");
    assert!(!shown.contains(ours.secret_access_key.expose_secret()), "{shown}");
    assert!(!shown.contains(ours.session_token.expose_secret()), "{shown}");
    // Cached: the same credentials again; kept for an interrupted call.
    assert_eq!(provider.provide_credentials().await.unwrap().access_key_id(), creds.access_key_id());
    assert_eq!(provider.fallback_on_interrupt().unwrap().access_key_id(), creds.access_key_id());

    // Signed out: not loaded again.
    auth.sign_out(false).await.unwrap();
    let err = provider.provide_credentials().await.unwrap_err();
    assert!(matches!(err, CredentialsError::CredentialsNotLoaded(_)), "{err:?}");
}

#[tokio::test]
async fn guests_and_errors() {
    let env = Env::new().await;
    let identity_pool = env.pool.create_identity_pool("guests", true, &[(&env.pool_id, &env.client_id)]).unwrap();
    let guest = AmplifyCredentialsProvider::new(auth(&env, &identity_pool, true));
    let creds = guest.provide_credentials().await.unwrap();
    assert!(creds.access_key_id().starts_with("ASIA") && creds.session_token().is_some() && creds.expiry().is_some());

    // An identity pool the service does not know: the service's refusal,
    // as a provider error with the AuthError as its source.
    let missing = AmplifyCredentialsProvider::new(auth(&env, "us-east-1:00000000-0000-4000-8000-000000000000", true));
    let err = missing.provide_credentials().await.unwrap_err();
    let CredentialsError::ProviderError(_) = &err else { panic!("{err:?}") };
    let source = std::error::Error::source(&err).unwrap();
    let auth_err = source.downcast_ref::<amplify_auth::AuthError>().unwrap();
    assert!(auth_err.is_service("ResourceNotFoundException"), "{auth_err:?}");

    // No identity-pool endpoint reachable: a transport error is a provider error too.
    let config = env
        .config()
        .identity_pool_id(&identity_pool)
        .identity_pool_endpoint("http://127.0.0.1:9")
        .allow_guest_access(true)
        .retry(amplify_auth::RetryPolicy { max_attempts: 1, ..Default::default() })
        .build()
        .unwrap();
    let unreachable = AmplifyCredentialsProvider::new(Auth::new(config).unwrap());
    let err = unreachable.provide_credentials().await.unwrap_err();
    assert!(matches!(err, CredentialsError::ProviderError(_)), "{err:?}");
}

#[tokio::test]
async fn a_federated_identitys_credentials_reach_the_sdk() {
    use amplify_auth::{FederateOptions, FederationProvider};
    use base64::Engine as _;
    use cognito_wire::cognito_identity::{self as ci, operation as iop};

    let env = Env::new().await;
    let identity_pool = env
        .pool
        .engine()
        .call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
            identity_pool_name: "apple".into(),
            supported_login_providers: Some(
                [("appleid.apple.com".to_owned(), "com.example.app".to_owned())].into_iter().collect(),
            ),
            ..Default::default()
        })
        .unwrap()
        .identity_pool_id;
    let auth = auth(&env, &identity_pool, false);
    let provider = AmplifyCredentialsProvider::new(auth.clone());
    assert!(matches!(provider.provide_credentials().await, Err(CredentialsError::CredentialsNotLoaded(_))));

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = serde_json::json!({"iss": "https://appleid.apple.com", "aud": "com.example.app", "sub": "apple-1",
        "exp": env.now() + 600});
    let token = format!("{}.{}.{}", b64.encode(r#"{"alg":"RS256"}"#), b64.encode(claims.to_string()), b64.encode("s"));
    let out =
        auth.federate_to_identity_pool(&token, FederationProvider::Apple, FederateOptions::default()).await.unwrap();
    let creds = provider.provide_credentials().await.unwrap();
    assert_eq!(creds.access_key_id(), out.credentials.access_key_id);
    assert_eq!(creds.session_token(), Some(out.credentials.session_token.expose_secret()));
    auth.clear_federation_to_identity_pool().await.unwrap();
    assert!(matches!(provider.provide_credentials().await, Err(CredentialsError::CredentialsNotLoaded(_))));
}
