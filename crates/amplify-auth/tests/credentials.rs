//! Identity-pool credentials at the HTTP level (wiremock): the Logins map,
//! guest identities kept in storage, caching, single-flight, sign-out.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use amplify_auth::{Auth, AuthConfig, AuthError};
use serde_json::{Value, json};
use token_store::{MemoryStorage, TokenRecord};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const POOL: &str = "eu-west-1_CredPool";
const CLIENT: &str = "credclient123";
const IDENTITY_POOL: &str = "eu-west-1:0f2bd3e5-4b8a-4a3b-9d1c-6f3f9a6f0e11";
const TARGET: &str = "AWSCognitoIdentityService.";

fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn jwt(token_use: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({"sub": "sub-1", "username": "ann", "token_use": token_use, "iat": now, "exp": now + 3600,
        "origin_jti": jti, "iss": format!("https://cognito-idp.eu-west-1.amazonaws.com/{POOL}")});
    format!("{}.{}.{}", b64url(br#"{"alg":"RS256","kid":"k"}"#), b64url(claims.to_string().as_bytes()), b64url(b"sig"))
}

fn creds_body(identity: &str) -> Value {
    json!({"IdentityId": identity, "Credentials": {"AccessKeyId": "ASIAEXAMPLE123456789", "SecretKey": "SECRET-KEY-xyz",
        "SessionToken": "SESSION-TOKEN-abc", "Expiration": 4_102_444_800i64}})
}

async fn server(delay_ms: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", format!("{TARGET}GetId").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"IdentityId": "eu-west-1:identity-1"}))
                .set_delay(std::time::Duration::from_millis(delay_ms)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", format!("{TARGET}GetCredentialsForIdentity").as_str()))
        .respond_with(move |req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            ResponseTemplate::new(200)
                .set_body_json(creds_body(body["IdentityId"].as_str().unwrap()))
                .set_delay(std::time::Duration::from_millis(delay_ms))
        })
        .mount(&server)
        .await;
    server
}

fn auth(server: &MockServer, guests: bool, storage: Arc<MemoryStorage>) -> Auth {
    let config = AuthConfig::builder(POOL, CLIENT)
        .user_pool_endpoint(server.uri())
        .identity_pool_id(IDENTITY_POOL)
        .identity_pool_endpoint(server.uri())
        .allow_guest_access(guests)
        .build()
        .unwrap();
    Auth::builder(config).storage(storage).build().unwrap()
}

async fn requests(server: &MockServer, op: &str) -> Vec<Value> {
    let target = format!("{TARGET}{op}");
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.headers.get("x-amz-target").is_some_and(|v| v.to_str().unwrap() == target))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_credentials_use_the_logins_map_and_are_fetched_once() {
    let server = server(50).await;
    let storage = Arc::new(MemoryStorage::new());
    let auth = auth(&server, false, storage);
    let mut record = TokenRecord::new("ann", jwt("access", "j1"));
    let id_token = jwt("id", "j1");
    record.id_token = Some(id_token.as_str().into());
    record.refresh_token = Some("refresh-1".into());
    auth.token_store().save(&record).await.unwrap();

    // 10,000 concurrent callers: one GetId, one GetCredentialsForIdentity.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10_000 {
        let auth = auth.clone();
        set.spawn(async move { auth.fetch_auth_session(false).await });
    }
    while let Some(result) = set.join_next().await {
        let session = result.unwrap().unwrap();
        assert_eq!(session.identity_id.as_deref(), Some("eu-west-1:identity-1"));
        let creds = session.credentials.unwrap();
        assert_eq!(creds.access_key_id, "ASIAEXAMPLE123456789");
        assert_eq!(creds.session_token.expose_secret(), "SESSION-TOKEN-abc");
        assert!(!format!("{creds:?}").contains("SECRET-KEY") && !format!("{creds:?}").contains("SESSION-TOKEN"));
    }
    let get_id = requests(&server, "GetId").await;
    assert_eq!(get_id.len(), 1);
    let key = format!("cognito-idp.eu-west-1.amazonaws.com/{POOL}");
    assert_eq!(get_id[0]["Logins"][&key], id_token.as_str());
    assert_eq!(get_id[0]["IdentityPoolId"], IDENTITY_POOL);
    assert_eq!(requests(&server, "GetCredentialsForIdentity").await.len(), 1);

    // Cached until shortly before their expiration.
    auth.fetch_auth_session(false).await.unwrap();
    assert_eq!(requests(&server, "GetCredentialsForIdentity").await.len(), 1, "cached");
}

#[tokio::test]
async fn guests_get_credentials_only_when_allowed_and_keep_their_identity() {
    let server = server(0).await;
    let storage = Arc::new(MemoryStorage::new());
    let refused = auth(&server, false, storage.clone());
    let session = refused.fetch_auth_session(false).await.unwrap();
    assert!(session.tokens.is_none() && session.credentials.is_none() && session.identity_id.is_none());
    assert!(requests(&server, "GetId").await.is_empty());

    let guest = auth(&server, true, storage.clone());
    let session = guest.fetch_auth_session(false).await.unwrap();
    assert!(session.tokens.is_none());
    assert!(session.credentials.is_some());
    let get_id = requests(&server, "GetId").await;
    assert_eq!(get_id.len(), 1);
    assert!(get_id[0].get("Logins").is_none(), "guests send no Logins");
    let key = format!("com.amplify.Cognito.{IDENTITY_POOL}.identityId");
    assert_eq!(storage.snapshot().get(&key).map(|v| v.to_string()).as_deref(), Some("eu-west-1:identity-1"));

    // Another client on the same storage reuses the guest identity.
    let again = auth(&server, true, storage.clone());
    again.fetch_auth_session(false).await.unwrap();
    assert_eq!(requests(&server, "GetId").await.len(), 1);
    assert_eq!(requests(&server, "GetCredentialsForIdentity").await.len(), 2);

    // Signing out forgets the identity (Amplify's clearCredentialsAndIdentityId).
    again.sign_out(false).await.unwrap();
    assert!(!storage.snapshot().contains_key(&key));
}

#[tokio::test]
async fn a_session_without_an_id_token_cannot_get_credentials() {
    let server = server(0).await;
    let auth = auth(&server, false, Arc::new(MemoryStorage::new()));
    let mut record = TokenRecord::new("ann", jwt("access", "j2"));
    record.refresh_token = Some("r".into());
    auth.token_store().save(&record).await.unwrap();
    let err = auth.fetch_auth_session(false).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
}
