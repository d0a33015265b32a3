//! Federation to the identity pool with other providers' tokens, end to end
//! against the in-process local pool: Google and OIDC tokens, developer
//! identities, persistence, refresh, the exclusion with user-pool sign-in,
//! clearing, and the identity pool's refusals.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use amplify_auth::{Auth, AuthError, FederateOptions, FederationProvider, SignInOptions};
use base64::Engine as _;
use cognito_wire::Sensitive;
use cognito_wire::cognito_identity::{self as ci, operation as iop};
use common::{Counting, Env, PW};
use hub_events::AuthEvent;
use token_store::{KeyValueStorage, MemoryStorage};

const GOOGLE_APP: &str = "1234-google.apps.googleusercontent.com";
const DEVELOPER: &str = "login.example.dev";
const OIDC_HOST: &str = "issuer.example.com";

/// The local pool with an identity pool trusting the user pool, Google, an
/// OIDC issuer and a developer provider; guests allowed.
struct Fed {
    env: Env,
    identity_pool: String,
}

impl Fed {
    async fn new() -> Self {
        let env = Env::new().await;
        let identity_pool = env
            .pool
            .engine()
            .call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
                identity_pool_name: "fed".into(),
                allow_unauthenticated_identities: true,
                cognito_identity_providers: Some(vec![ci::CognitoIdentityProvider {
                    provider_name: Some(format!("cognito-idp.us-east-1.amazonaws.com/{}", env.pool_id)),
                    client_id: Some(env.client_id.clone()),
                    ..Default::default()
                }]),
                supported_login_providers: Some(BTreeMap::from([(
                    "accounts.google.com".to_owned(),
                    GOOGLE_APP.to_owned(),
                )])),
                open_id_connect_provider_ar_ns: Some(vec![format!(
                    "arn:aws:iam::000000000000:oidc-provider/{OIDC_HOST}"
                )]),
                developer_provider_name: Some(DEVELOPER.into()),
                ..Default::default()
            })
            .unwrap()
            .identity_pool_id;
        env.pool.create_user(&env.pool_id, "gus", PW, &[]).unwrap();
        Self { env, identity_pool }
    }

    fn auth(&self, storage: Arc<dyn KeyValueStorage>) -> (Auth, Arc<Counting>) {
        let counting = Counting::new();
        let config = self
            .env
            .config()
            .identity_pool_id(&self.identity_pool)
            .identity_pool_endpoint(self.env.pool.endpoint())
            .allow_guest_access(true)
            .build()
            .unwrap();
        let auth = Auth::builder(config).storage(storage).transport(counting.clone()).build().unwrap();
        (auth, counting)
    }

    /// A Google-style ID token (the local pool checks its shape and claims,
    /// not its signature).
    fn token(&self, iss: &str, aud: &str, sub: &str) -> String {
        let exp = self.env.now() + 3600;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = serde_json::json!({"iss": iss, "aud": aud, "sub": sub, "exp": exp, "iat": exp - 3600});
        format!(
            "{}.{}.{}",
            b64.encode(r#"{"alg":"RS256","kid":"g1"}"#),
            b64.encode(claims.to_string()),
            b64.encode("signature")
        )
    }

    fn google(&self, sub: &str) -> String {
        self.token("https://accounts.google.com", GOOGLE_APP, sub)
    }
}

fn federation_key(identity_pool: &str) -> String {
    format!("amplify-auth.{identity_pool}.federation")
}

#[tokio::test]
async fn a_google_token_gets_credentials_and_keeps_its_identity_across_clients() {
    let f = Fed::new().await;
    let storage = Arc::new(MemoryStorage::new());
    let (auth, counts) = f.auth(storage.clone());
    assert!(!auth.is_federated_to_identity_pool().await);
    let token = f.google("google-user-1");
    let out =
        auth.federate_to_identity_pool(&token, FederationProvider::Google, FederateOptions::default()).await.unwrap();
    assert!(out.identity_id.starts_with("us-east-1:"), "{}", out.identity_id);
    assert!(out.credentials.access_key_id.starts_with("ASIA"), "{:?}", out.credentials);
    assert!(out.credentials.expiration.is_some());
    assert_eq!((counts.count("GetId"), counts.count("GetCredentialsForIdentity")), (1, 1));
    assert!(auth.is_federated_to_identity_pool().await);

    // The session: the federated identity and credentials, no tokens, from the cache.
    let session = auth.fetch_auth_session(false).await.unwrap();
    assert!(session.tokens.is_none());
    assert_eq!(session.identity_id.as_deref(), Some(&*out.identity_id));
    assert_eq!(session.credentials.as_deref(), Some(&*out.credentials));
    assert_eq!(counts.count("GetCredentialsForIdentity"), 1, "cached");
    assert!(matches!(auth.get_current_user().await, Err(AuthError::NotSignedIn)));

    // A forced refresh sends the stored token again: same identity, new credentials.
    let forced = auth.fetch_auth_session(true).await.unwrap();
    assert_eq!(forced.identity_id.as_deref(), Some(&*out.identity_id));
    assert_ne!(forced.credentials.unwrap().access_key_id, out.credentials.access_key_id);
    assert_eq!((counts.count("GetId"), counts.count("GetCredentialsForIdentity")), (1, 2));

    // Stored: a new client on the same storage is federated to the same identity.
    assert!(storage.snapshot().contains_key(&federation_key(&f.identity_pool)));
    let (again, again_counts) = f.auth(storage.clone());
    assert!(again.is_federated_to_identity_pool().await);
    let session = again.fetch_auth_session(false).await.unwrap();
    assert_eq!(session.identity_id.as_deref(), Some(&*out.identity_id));
    assert!(session.credentials.is_some() && session.tokens.is_none());
    assert_eq!((again_counts.count("GetId"), again_counts.count("GetCredentialsForIdentity")), (0, 1));

    // The same Google user federating again (a new token): the same identity.
    let later = f.google("google-user-1");
    let out2 =
        again.federate_to_identity_pool(&later, FederationProvider::Google, FederateOptions::default()).await.unwrap();
    assert_eq!(out2.identity_id, out.identity_id);
    // Another Google user: another identity.
    let other = again
        .federate_to_identity_pool(&f.google("google-user-2"), FederationProvider::Google, FederateOptions::default())
        .await
        .unwrap();
    assert_ne!(other.identity_id, out.identity_id);
    assert_eq!(again.fetch_auth_session(false).await.unwrap().identity_id, Some(other.identity_id));
}

#[tokio::test]
async fn oidc_issuers_and_custom_identity_ids() {
    let f = Fed::new().await;
    let (auth, counts) = f.auth(Arc::new(MemoryStorage::new()));
    let token = f.token("https://issuer.example.com", "my-client", "oidc-user");
    let provider = FederationProvider::Oidc("https://issuer.example.com/".into());
    assert_eq!(provider.logins_key(), OIDC_HOST);
    let out = auth.federate_to_identity_pool(&token, provider.clone(), FederateOptions::default()).await.unwrap();
    // With the identity id given, GetId is skipped.
    let (auth2, counts2) = f.auth(Arc::new(MemoryStorage::new()));
    let options = FederateOptions { custom_identity_id: Some(out.identity_id.to_string()), ..Default::default() };
    let again = auth2.federate_to_identity_pool(&token, provider, options).await.unwrap();
    assert_eq!(again.identity_id, out.identity_id);
    assert_eq!((counts.count("GetId"), counts2.count("GetId")), (1, 0));
    assert_eq!(counts2.count("GetCredentialsForIdentity"), 1);
    assert_eq!(FederationProvider::Google.logins_key(), "accounts.google.com");
    assert_eq!(FederationProvider::Facebook.logins_key(), "graph.facebook.com");
    assert_eq!(FederationProvider::Amazon.logins_key(), "www.amazon.com");
    assert_eq!(FederationProvider::Apple.logins_key(), "appleid.apple.com");
    assert_eq!(
        FederationProvider::Developer { identity_id: "x".into() }.logins_key(),
        "cognito-identity.amazonaws.com"
    );
}

#[tokio::test]
async fn developer_authenticated_identities_federate_with_their_openid_token() {
    let f = Fed::new().await;
    // What the app's backend does: GetOpenIdTokenForDeveloperIdentity.
    let dev = f
        .env
        .pool
        .engine()
        .call::<iop::GetOpenIdTokenForDeveloperIdentity>(ci::GetOpenIdTokenForDeveloperIdentityInput {
            identity_pool_id: f.identity_pool.clone(),
            logins: BTreeMap::from([(DEVELOPER.to_owned(), Sensitive::new("backend-user-1".to_owned()))]),
            ..Default::default()
        })
        .unwrap();
    let identity_id = dev.identity_id.unwrap();
    let token = dev.token.unwrap().expose().clone();
    let (auth, counts) = f.auth(Arc::new(MemoryStorage::new()));
    let out = auth
        .federate_to_identity_pool(
            &token,
            FederationProvider::Developer { identity_id: identity_id.clone() },
            FederateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(&*out.identity_id, identity_id.as_str());
    assert_eq!((counts.count("GetId"), counts.count("GetCredentialsForIdentity")), (0, 1));
    let session = auth.fetch_auth_session(false).await.unwrap();
    assert_eq!(session.identity_id.as_deref(), Some(identity_id.as_str()));
    // Another identity's id with this token: refused, and nothing changes.
    let other = f
        .env
        .pool
        .engine()
        .call::<iop::GetOpenIdTokenForDeveloperIdentity>(ci::GetOpenIdTokenForDeveloperIdentityInput {
            identity_pool_id: f.identity_pool.clone(),
            logins: BTreeMap::from([(DEVELOPER.to_owned(), Sensitive::new("backend-user-2".to_owned()))]),
            ..Default::default()
        })
        .unwrap()
        .identity_id
        .unwrap();
    let err = auth
        .federate_to_identity_pool(
            &token,
            FederationProvider::Developer { identity_id: other },
            FederateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_service("NotAuthorizedException"), "{err:?}");
    assert_eq!(auth.fetch_auth_session(false).await.unwrap().identity_id.as_deref(), Some(identity_id.as_str()));
}

#[tokio::test]
async fn federation_and_user_pool_sign_in_exclude_each_other() {
    let f = Fed::new().await;
    let storage = Arc::new(MemoryStorage::new());
    let (auth, _) = f.auth(storage.clone());
    let google = || FederationProvider::Google;

    // Signed in to the user pool: federation refused.
    auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap();
    let err = auth.federate_to_identity_pool(&f.google("g"), google(), FederateOptions::default()).await.unwrap_err();
    assert_eq!(err, AuthError::UserAlreadyAuthenticated);
    assert!(!auth.is_federated_to_identity_pool().await);
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_some(), "still signed in");
    auth.sign_out(false).await.unwrap();

    // Federated: sign-in refused until the federation is cleared.
    auth.federate_to_identity_pool(&f.google("g"), google(), FederateOptions::default()).await.unwrap();
    let err = auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap_err();
    let AuthError::InvalidState(message) = &err else { panic!("{err:?}") };
    assert!(message.contains("clear_federation_to_identity_pool"), "{message}");
    // Also from another client on the same storage.
    let (other, _) = f.auth(storage.clone());
    assert!(matches!(other.sign_in("gus", Some(PW), SignInOptions::default()).await, Err(AuthError::InvalidState(_))));
    auth.clear_federation_to_identity_pool().await.unwrap();
    let signed = auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap();
    assert!(signed.is_signed_in);
    auth.sign_out(false).await.unwrap();

    // sign_out ends a federation too.
    auth.federate_to_identity_pool(&f.google("g"), google(), FederateOptions::default()).await.unwrap();
    auth.sign_out(false).await.unwrap();
    assert!(!auth.is_federated_to_identity_pool().await);
    assert!(!storage.snapshot().contains_key(&federation_key(&f.identity_pool)));
    assert!(auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap().is_signed_in);
}

#[tokio::test]
async fn clearing_returns_to_guest_credentials() {
    let f = Fed::new().await;
    let storage = Arc::new(MemoryStorage::new());
    let (auth, _) = f.auth(storage.clone());
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let _listening = auth.hub().listen_auth(move |e: &AuthEvent| sink.lock().unwrap().push(e.as_str()));
    let err = auth.clear_federation_to_identity_pool().await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
    let guest = auth.fetch_auth_session(false).await.unwrap().identity_id.unwrap();
    let out = auth
        .federate_to_identity_pool(&f.google("clear-me"), FederationProvider::Google, FederateOptions::default())
        .await
        .unwrap();
    assert_ne!(out.identity_id, guest);
    assert_eq!(auth.fetch_auth_session(false).await.unwrap().identity_id, Some(out.identity_id.clone()));
    auth.clear_federation_to_identity_pool().await.unwrap();
    assert!(!auth.is_federated_to_identity_pool().await);
    assert!(!storage.snapshot().contains_key(&federation_key(&f.identity_pool)));
    let session = auth.fetch_auth_session(false).await.unwrap();
    assert!(session.tokens.is_none());
    let now_guest = session.identity_id.unwrap();
    assert_ne!(now_guest, out.identity_id, "guest credentials again, not the federated identity's");
    // A new client on the storage is not federated.
    assert!(!f.auth(storage).0.is_federated_to_identity_pool().await);
    auth.hub().flush_async().await;
    assert_eq!(*events.lock().unwrap(), ["federatedToIdentityPool", "federationToIdentityPoolCleared"]);
}

#[tokio::test]
async fn refused_tokens_are_typed_errors_and_change_nothing() {
    let f = Fed::new().await;
    let storage = Arc::new(MemoryStorage::new());
    let (auth, _) = f.auth(storage.clone());
    // Facebook is not configured on this identity pool.
    let err = auth
        .federate_to_identity_pool(
            &f.token("https://www.facebook.com", "fb", "u"),
            FederationProvider::Facebook,
            FederateOptions::default(),
        )
        .await
        .unwrap_err();
    let AuthError::Service(service) = &err else { panic!("{err:?}") };
    assert_eq!(service.code.as_str(), "NotAuthorizedException");
    assert_eq!(service.message.as_deref(), Some("Token is not from a supported provider of this identity pool."));
    // Google, but for another app.
    let err = auth
        .federate_to_identity_pool(
            &f.token("https://accounts.google.com", "another-app", "u"),
            FederationProvider::Google,
            FederateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.is_service("NotAuthorizedException"), "{err:?}");
    assert!(err.to_string().contains("Invalid login token. Incorrect token audience."), "{err}");
    assert!(!auth.is_federated_to_identity_pool().await);
    assert!(storage.snapshot().keys().all(|k| !k.ends_with(".federation")));
    // Refused before any request.
    let err = auth.federate_to_identity_pool("", FederationProvider::Google, FederateOptions::default()).await;
    assert!(matches!(err, Err(AuthError::Validation { field: "token", .. })), "{err:?}");
    let no_pool = Auth::new(f.env.config().build().unwrap()).unwrap();
    let err = no_pool.federate_to_identity_pool("t", FederationProvider::Google, FederateOptions::default()).await;
    assert!(matches!(err, Err(AuthError::Validation { field: "identity_pool_id", .. })), "{err:?}");
}

#[tokio::test]
async fn an_expired_provider_token_is_not_sent_again() {
    let f = Fed::new().await;
    let (auth, counts) = f.auth(Arc::new(MemoryStorage::new()));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    // The app says the token expired a second ago (the pool still accepts it:
    // its exp claim is an hour away).
    let options = FederateOptions { expires_at: Some(now - 1), ..Default::default() };
    let out = auth.federate_to_identity_pool(&f.google("short"), FederationProvider::Google, options).await.unwrap();
    // Cached credentials are still returned...
    let session = auth.fetch_auth_session(false).await.unwrap();
    assert_eq!(session.identity_id, Some(out.identity_id.clone()));
    // ...but new ones need a fresh token.
    let err = auth.fetch_auth_session(true).await.unwrap_err();
    let AuthError::InvalidState(message) = &err else { panic!("{err:?}") };
    assert!(message.contains("federate_to_identity_pool"), "{message}");
    assert_eq!(counts.count("GetCredentialsForIdentity"), 1, "no request with the expired token");
    // Federating again with a fresh token recovers, same identity.
    let again = auth
        .federate_to_identity_pool(&f.google("short"), FederationProvider::Google, FederateOptions::default())
        .await
        .unwrap();
    assert_eq!(again.identity_id, out.identity_id);
    assert!(auth.fetch_auth_session(true).await.is_ok());
}

#[tokio::test]
async fn sign_in_with_redirect_is_refused_while_federated() {
    let f = Fed::new().await;
    let config = f
        .env
        .config()
        .identity_pool_id(&f.identity_pool)
        .identity_pool_endpoint(f.env.pool.endpoint())
        .oauth(amplify_auth::config::OAuthConfig {
            domain: f.env.pool.endpoint(),
            scopes: vec!["openid".into()],
            redirect_sign_in: vec!["http://127.0.0.1:9/callback".into()],
            redirect_sign_out: vec![],
            response_type: "code".into(),
            providers: vec![],
        })
        .build()
        .unwrap();
    let auth = Auth::new(config).unwrap();
    // Not federated: the flow starts (and is dropped unfinished).
    drop(auth.sign_in_with_redirect(Default::default()).await.unwrap());

    auth.federate_to_identity_pool(&f.google("r"), FederationProvider::Google, FederateOptions::default())
        .await
        .unwrap();
    let err = auth.sign_in_with_redirect(Default::default()).await.unwrap_err();
    let AuthError::InvalidState(message) = &err else { panic!("{err:?}") };
    assert!(message.contains("clear_federation_to_identity_pool"), "{message}");

    auth.clear_federation_to_identity_pool().await.unwrap();
    assert!(auth.sign_in_with_redirect(Default::default()).await.is_ok());
}
