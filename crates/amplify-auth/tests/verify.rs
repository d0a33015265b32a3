//! The token verifier against tokens issued by the local pool (real RS256
//! keys served at the pool's JWKS URL): valid tokens pass; forged, expired,
//! wrong-pool, wrong-client, wrong-kind and `alg: none` tokens do not.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use amplify_auth::SignInOptions;
use amplify_auth::verify::{ExpectedUse, TokenVerifier, VerifyError};
use base64::Engine as _;
use common::{Env, PW};
use local_pool::ClientOptions;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

async fn tokens(env: &Env, user: &str) -> (String, String) {
    let auth = env.auth();
    auth.sign_in(user, Some(PW), SignInOptions::default()).await.unwrap();
    let t = auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
    (t.id_token.as_ref().unwrap().raw().expose_secret().to_owned(), t.access_token.raw().expose_secret().to_owned())
}

#[tokio::test]
async fn verifies_local_pool_tokens_and_refuses_the_rest() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "vic", PW, &[]).unwrap();
    let (id, access) = tokens(&env, "vic").await;
    let issuer = format!("{}/{}", env.pool.endpoint(), env.pool_id);

    let verifier = TokenVerifier::for_issuer(&issuer).client_id(&env.client_id).build().unwrap();
    let claims = verifier.verify(&id).await.unwrap();
    assert_eq!(claims.cognito_username.as_deref(), Some("vic"));
    verifier.verify(&access).await.unwrap();

    // The kind of token.
    let ids_only = TokenVerifier::for_issuer(&issuer).token_use(ExpectedUse::Id).build().unwrap();
    assert_eq!(ids_only.verify(&access).await.unwrap_err(), VerifyError::WrongTokenUse);
    // Another app client.
    let other = TokenVerifier::for_issuer(&issuer).client_id("someoneelse").build().unwrap();
    assert_eq!(other.verify(&id).await.unwrap_err(), VerifyError::WrongAudience);
    assert_eq!(other.verify(&access).await.unwrap_err(), VerifyError::WrongAudience);
    // Groups and scopes.
    let admins = TokenVerifier::for_issuer(&issuer).require_group("admins").build().unwrap();
    assert_eq!(admins.verify(&access).await.unwrap_err(), VerifyError::MissingGroup("admins".into()));
    let scoped = TokenVerifier::for_issuer(&issuer).require_scope("aws.cognito.signin.user.admin").build().unwrap();
    scoped.verify(&access).await.unwrap();

    // A changed payload: the signature no longer verifies.
    let parts: Vec<&str> = id.split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&unb64(parts[1])).unwrap();
    payload["cognito:username"] = "mallory".into();
    let forged = format!("{}.{}.{}", parts[0], b64(payload.to_string().as_bytes()), parts[2]);
    assert_eq!(verifier.verify(&forged).await.unwrap_err(), VerifyError::BadSignature);
    // alg: none.
    let none = format!("{}.{}.", b64(br#"{"alg":"none","kid":"x"}"#), parts[1]);
    assert!(matches!(verifier.verify(&none).await.unwrap_err(), VerifyError::UnsupportedAlgorithm(a) if a == "none"));
    // An unknown key id (the JWKS is refetched at most once a minute).
    let header = b64(br#"{"alg":"RS256","kid":"not-a-key"}"#);
    let unknown = format!("{header}.{}.{}", parts[1], parts[2]);
    assert!(matches!(verifier.verify(&unknown).await.unwrap_err(), VerifyError::UnknownKey(_)));
    // Garbage.
    assert!(matches!(verifier.verify("not a token").await.unwrap_err(), VerifyError::Malformed(_)));

    // A token from another pool on the same server.
    let other_pool = env.pool.create_pool("other").unwrap();
    let client = env.pool.create_client(&other_pool, ClientOptions::default()).unwrap();
    env.pool.create_user(&other_pool, "vic", PW, &[]).unwrap();
    let auth = amplify_auth::Auth::new(
        amplify_auth::AuthConfig::builder(&other_pool, &client.client_id)
            .user_pool_endpoint(env.pool.endpoint())
            .build()
            .unwrap(),
    )
    .unwrap();
    auth.sign_in("vic", Some(PW), SignInOptions::default()).await.unwrap();
    let foreign = auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
    let err = verifier.verify(foreign.access_token.raw().expose_secret()).await.unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey(_) | VerifyError::WrongIssuer), "{err:?}");
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "wes", PW, &[]).unwrap();
    env.pool.engine().advance_clock(-7200);
    let (id, _) = tokens(&env, "wes").await;
    env.pool.engine().advance_clock(7200);
    let issuer = format!("{}/{}", env.pool.endpoint(), env.pool_id);
    let verifier = TokenVerifier::for_issuer(&issuer).build().unwrap();
    assert_eq!(verifier.verify(&id).await.unwrap_err(), VerifyError::Expired);
    let lenient =
        TokenVerifier::for_issuer(&issuer).tolerance(std::time::Duration::from_secs(2 * 3600)).build().unwrap();
    lenient.verify(&id).await.unwrap();
    // Only https issuers, except on loopback.
    assert!(matches!(TokenVerifier::for_issuer("http://example.com/pool").build(), Err(VerifyError::Config(_))));
}
