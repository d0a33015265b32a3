//! Identity pools: guests and signed-in users getting AWS credentials and
//! OpenID tokens, the checks on `Logins`, management calls, persistence and
//! the HTTP path.

// Test helpers unwrap: a failure there is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine as _;
use cognito_wire::cognito_identity::{self as ci, operation as iop};
use cognito_wire::cognito_idp::{self as idp, AuthFlowType, operation as op};
use cognito_wire::{ErrorCode, Sensitive};
use local_pool::{ClientOptions, Engine, Fail, LocalPool};

const PW: &str = "Correct-Horse-1";

struct Fixture {
    pool: LocalPool,
    pool_id: String,
    client_id: String,
    /// An identity pool for the client, guests allowed.
    open: String,
    /// An identity pool for the client, guests refused.
    closed: String,
}

impl Fixture {
    async fn new() -> Self {
        Self::on(LocalPool::start().await.unwrap())
    }

    fn on(pool: LocalPool) -> Self {
        let pool_id = pool.create_pool("users").unwrap();
        let client_id = pool.create_client(&pool_id, ClientOptions::default()).unwrap().client_id;
        pool.create_user(&pool_id, "alice", PW, &[("email", "alice@example.com")]).unwrap();
        pool.create_user(&pool_id, "bob", PW, &[("email", "bob@example.com")]).unwrap();
        let open = pool.create_identity_pool("open", true, &[(&pool_id, &client_id)]).unwrap();
        let closed = pool.create_identity_pool("closed", false, &[(&pool_id, &client_id)]).unwrap();
        Self { pool, pool_id, client_id, open, closed }
    }

    fn engine(&self) -> &Engine {
        self.pool.engine()
    }

    /// Tokens from a USER_PASSWORD_AUTH sign-in.
    fn sign_in_with(&self, client_id: &str, username: &str) -> idp::AuthenticationResultType {
        let params: BTreeMap<String, String> = [("USERNAME", username), ("PASSWORD", PW)]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.engine()
            .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
                auth_flow: AuthFlowType::UserPasswordAuth,
                client_id: client_id.into(),
                auth_parameters: Some(Sensitive::new(params)),
                ..Default::default()
            })
            .unwrap()
            .authentication_result
            .unwrap()
    }

    fn id_token(&self, username: &str) -> String {
        self.sign_in_with(&self.client_id, username).id_token.unwrap().expose().clone()
    }

    fn provider(&self) -> String {
        format!("cognito-idp.us-east-1.amazonaws.com/{}", self.pool_id)
    }

    fn logins(&self, token: &str) -> Option<BTreeMap<String, Sensitive<String>>> {
        Some(BTreeMap::from([(self.provider(), Sensitive::new(token.to_owned()))]))
    }

    fn get_id(&self, identity_pool_id: &str, token: Option<&str>) -> Result<String, Fail> {
        let out = self.engine().call::<iop::GetId>(ci::GetIdInput {
            identity_pool_id: identity_pool_id.into(),
            logins: token.and_then(|t| self.logins(t)),
            ..Default::default()
        })?;
        Ok(out.identity_id.unwrap())
    }

    fn credentials(
        &self,
        identity_id: &str,
        token: Option<&str>,
    ) -> Result<ci::GetCredentialsForIdentityResponse, Fail> {
        self.engine().call::<iop::GetCredentialsForIdentity>(ci::GetCredentialsForIdentityInput {
            identity_id: identity_id.into(),
            logins: token.and_then(|t| self.logins(t)),
            ..Default::default()
        })
    }
}

fn assert_fail(result: Result<impl std::fmt::Debug, Fail>, code: ErrorCode, message: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.code, code, "{err}");
    assert!(err.message.contains(message), "{err}");
}

fn is_id(id: &str) -> bool {
    let Some(("us-east-1", guid)) = id.split_once(':') else { return false };
    guid.len() == 36
        && guid.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && guid.as_bytes()[14] == b'4'
}

fn assert_well_formed(out: &ci::GetCredentialsForIdentityResponse, now: i64) {
    let c = out.credentials.as_ref().unwrap();
    let key = c.access_key_id.as_deref().unwrap();
    assert_eq!(key.len(), 20, "{key}");
    assert!(key.starts_with("ASIA"), "{key}");
    assert!(key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{key}");
    let secret = c.secret_key.as_ref().unwrap().expose();
    assert_eq!(secret.len(), 40);
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'), "{secret}");
    let token = c.session_token.as_deref().unwrap();
    assert!(token.len() >= 300, "{}", token.len());
    assert!(base64::engine::general_purpose::STANDARD.decode(token).is_ok());
    let expires = c.expiration.as_ref().unwrap().as_secs();
    assert!((now + 3590..=now + 3610).contains(&expires), "{expires} vs {now}");
}

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn guests_get_credentials_only_where_allowed() {
    let f = Fixture::new().await;
    let guest = f.get_id(&f.open, None).unwrap();
    assert!(is_id(&guest), "{guest}");
    assert_ne!(f.get_id(&f.open, None).unwrap(), guest, "each GetId without Logins is a new guest");
    let out = f.credentials(&guest, None).unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(guest.as_str()));
    assert_well_formed(&out, f.engine().now());
    let again = f.credentials(&guest, None).unwrap();
    assert_ne!(again.credentials.unwrap().access_key_id, out.credentials.unwrap().access_key_id);

    assert_fail(
        f.get_id(&f.closed, None),
        ErrorCode::NotAuthorizedException,
        "Unauthenticated access is not supported",
    );
    // Guests refused after the fact (UpdateIdentityPool).
    let mut config = f
        .engine()
        .call::<iop::DescribeIdentityPool>(ci::DescribeIdentityPoolInput {
            identity_pool_id: f.open.clone(),
            ..Default::default()
        })
        .unwrap();
    config.allow_unauthenticated_identities = false;
    f.engine().call::<iop::UpdateIdentityPool>(config).unwrap();
    assert_fail(
        f.credentials(&guest, None),
        ErrorCode::NotAuthorizedException,
        "Unauthenticated access is not supported",
    );
    f.pool.stop().await;
}

#[tokio::test]
async fn signed_in_users_keep_one_identity() {
    let f = Fixture::new().await;
    let alice = f.id_token("alice");
    let id = f.get_id(&f.closed, Some(&alice)).unwrap();
    assert!(is_id(&id));
    assert_eq!(f.get_id(&f.closed, Some(&alice)).unwrap(), id);
    // A new sign-in, same user: same identity.
    let alice2 = f.id_token("alice");
    assert_eq!(f.get_id(&f.closed, Some(&alice2)).unwrap(), id);
    // Amplify JS names the provider after the token's issuer (host:port/poolId).
    let iss = claims(&alice)["iss"].as_str().unwrap().trim_start_matches("http://").to_owned();
    let out = f
        .engine()
        .call::<iop::GetId>(ci::GetIdInput {
            identity_pool_id: f.closed.clone(),
            logins: Some(BTreeMap::from([(iss, Sensitive::new(alice.clone()))])),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    // Another user, another identity; another identity pool, another identity.
    let bob = f.id_token("bob");
    let bob_id = f.get_id(&f.closed, Some(&bob)).unwrap();
    assert_ne!(bob_id, id);
    assert_ne!(f.get_id(&f.open, Some(&alice)).unwrap(), id);

    let out = f.credentials(&id, Some(&alice)).unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    assert_well_formed(&out, f.engine().now());
    // An authenticated identity needs its login, and not someone else's.
    assert_fail(f.credentials(&id, None), ErrorCode::NotAuthorizedException, "is forbidden");
    assert_fail(f.credentials(&id, Some(&bob)), ErrorCode::NotAuthorizedException, "Logins don't match");
    let described = f
        .engine()
        .call::<iop::DescribeIdentity>(ci::DescribeIdentityInput { identity_id: id.clone(), ..Default::default() })
        .unwrap();
    assert_eq!(described.logins, Some(vec![f.provider()]));
    f.pool.stop().await;
}

#[tokio::test]
async fn a_guest_signing_in_becomes_or_joins_the_user() {
    let f = Fixture::new().await;
    let alice = f.id_token("alice");
    // The first guest becomes alice's identity.
    let guest = f.get_id(&f.open, None).unwrap();
    let out = f.credentials(&guest, Some(&alice)).unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(guest.as_str()));
    assert_eq!(f.get_id(&f.open, Some(&alice)).unwrap(), guest);
    assert_fail(f.credentials(&guest, None), ErrorCode::NotAuthorizedException, "is forbidden");
    // A later guest is merged into it: the answer names alice's identity
    // and the guest is gone.
    let second = f.get_id(&f.open, None).unwrap();
    let out = f.credentials(&second, Some(&alice)).unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(guest.as_str()));
    assert_fail(f.credentials(&second, None), ErrorCode::ResourceNotFoundException, "not found");
    f.pool.stop().await;
}

#[tokio::test]
async fn bad_tokens_and_unknown_things_are_refused() {
    let f = Fixture::new().await;
    let tokens = f.sign_in_with(&f.client_id, "alice");
    let alice = tokens.id_token.unwrap().expose().clone();
    let invalid = |token: &str, message: &str| {
        assert_fail(f.get_id(&f.closed, Some(token)), ErrorCode::NotAuthorizedException, message);
    };
    invalid("not-a-jwt", "Invalid login token.");
    invalid(tokens.access_token.unwrap().expose(), "Invalid login token. Not a valid OpenId Connect identity token.");
    // Forged: claims changed, signature kept.
    let parts: Vec<&str> = alice.split('.').collect();
    let mut forged_claims = claims(&alice);
    forged_claims["sub"] = "someone-else".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    invalid(&forged, "Invalid login token. Couldn't verify signed token.");
    // A client the identity pool does not list.
    let other_client =
        f.pool.create_client(&f.pool_id, ClientOptions { name: "other".into(), ..Default::default() }).unwrap();
    let foreign = f.sign_in_with(&other_client.client_id, "alice").id_token.unwrap().expose().clone();
    invalid(&foreign, "Invalid login token. Incorrect token audience.");
    // A user pool the identity pool does not list.
    let other_pool = f.pool.create_pool("other").unwrap();
    let other = f
        .engine()
        .call::<iop::GetId>(ci::GetIdInput {
            identity_pool_id: f.closed.clone(),
            logins: Some(BTreeMap::from([(
                format!("cognito-idp.us-east-1.amazonaws.com/{other_pool}"),
                Sensitive::new(alice.clone()),
            )])),
            ..Default::default()
        })
        .map(|o| o.identity_id);
    assert_fail(
        other,
        ErrorCode::NotAuthorizedException,
        "Token is not from a supported provider of this identity pool.",
    );
    let facebook = f
        .engine()
        .call::<iop::GetId>(ci::GetIdInput {
            identity_pool_id: f.closed.clone(),
            logins: Some(BTreeMap::from([("graph.facebook.com".to_owned(), Sensitive::new("token".to_owned()))])),
            ..Default::default()
        })
        .map(|o| o.identity_id);
    assert_fail(facebook, ErrorCode::NotAuthorizedException, "not from a supported provider");
    // Unknown or malformed ids.
    assert_fail(
        f.get_id("us-east-1:00000000-0000-4000-8000-000000000000", None),
        ErrorCode::ResourceNotFoundException,
        "IdentityPool 'us-east-1:00000000-0000-4000-8000-000000000000' not found.",
    );
    assert_fail(f.get_id("nonsense", None), ErrorCode::InvalidParameterException, "regular expression");
    assert_fail(
        f.credentials("us-east-1:00000000-0000-4000-8000-000000000000", None),
        ErrorCode::ResourceNotFoundException,
        "Identity 'us-east-1:00000000-0000-4000-8000-000000000000' not found.",
    );
    // Expired.
    let id = f.get_id(&f.closed, Some(&alice)).unwrap();
    f.engine().advance_clock(3601);
    invalid(&alice, "Invalid login token. Token expired:");
    assert_fail(f.credentials(&id, Some(&alice)), ErrorCode::NotAuthorizedException, "Token expired");
    f.pool.stop().await;
}

#[tokio::test]
async fn signed_out_users_are_refused_with_server_side_token_check() {
    let f = Fixture::new().await;
    // Cognito checks sign-out only with ServerSideTokenCheck (the helper sets it).
    let lax = f
        .engine()
        .call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
            identity_pool_name: "lax".into(),
            allow_unauthenticated_identities: false,
            cognito_identity_providers: Some(vec![ci::CognitoIdentityProvider {
                provider_name: Some(f.provider()),
                client_id: Some(f.client_id.clone()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap()
        .identity_pool_id;
    let tokens = f.sign_in_with(&f.client_id, "alice");
    let alice = tokens.id_token.unwrap().expose().clone();
    let id = f.get_id(&f.closed, Some(&alice)).unwrap();
    f.engine()
        .call::<op::GlobalSignOut>(idp::GlobalSignOutRequest {
            access_token: tokens.access_token.unwrap(),
            ..Default::default()
        })
        .unwrap();
    assert_fail(f.get_id(&f.closed, Some(&alice)), ErrorCode::NotAuthorizedException, "Token has been revoked");
    assert_fail(f.credentials(&id, Some(&alice)), ErrorCode::NotAuthorizedException, "Token has been revoked");
    assert!(f.get_id(&lax, Some(&alice)).is_ok());
    // A fresh sign-in works again, with the same identity.
    let fresh = f.id_token("alice");
    assert_eq!(f.get_id(&f.closed, Some(&fresh)).unwrap(), id);
    f.pool.stop().await;
}

#[tokio::test]
async fn open_id_tokens_are_signed_and_name_the_identity() {
    let f = Fixture::new().await;
    let alice = f.id_token("alice");
    let id = f.get_id(&f.closed, Some(&alice)).unwrap();
    let out = f
        .engine()
        .call::<iop::GetOpenIdToken>(ci::GetOpenIdTokenInput {
            identity_id: id.clone(),
            logins: f.logins(&alice),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    let token = out.token.unwrap().expose().clone();
    let c = claims(&token);
    assert_eq!(c["iss"], "https://cognito-identity.amazonaws.com");
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["aud"], f.closed.as_str());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    let sub = claims(&alice)["sub"].as_str().unwrap().to_owned();
    assert_eq!(
        c["amr"],
        serde_json::json!(["authenticated", f.provider(), format!("{}:CognitoSignIn:{sub}", f.provider())])
    );
    // The signature checks out against the published key.
    let jwks = f.engine().identity_jwks().unwrap();
    let jwk = &jwks["keys"][0];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], jwk["kid"]);
    let n = b64.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = b64.decode(jwk["e"].as_str().unwrap()).unwrap();
    let (signed, sig) = token.rsplit_once('.').unwrap();
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &b64.decode(sig).unwrap())
        .unwrap();
    // Guests get one too; authenticated identities need their login.
    let guest = f.get_id(&f.open, None).unwrap();
    let out = f
        .engine()
        .call::<iop::GetOpenIdToken>(ci::GetOpenIdTokenInput { identity_id: guest, ..Default::default() })
        .unwrap();
    assert_eq!(claims(out.token.unwrap().expose())["amr"], serde_json::json!(["unauthenticated"]));
    let refused = f
        .engine()
        .call::<iop::GetOpenIdToken>(ci::GetOpenIdTokenInput { identity_id: id, ..Default::default() })
        .map(|o| o.identity_id);
    assert_fail(refused, ErrorCode::NotAuthorizedException, "is forbidden");
    f.pool.stop().await;
}

#[tokio::test]
async fn identity_pools_are_managed_like_cognitos() {
    let f = Fixture::new().await;
    let e = f.engine();
    let created = e
        .call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
            identity_pool_name: "managed pool".into(),
            allow_unauthenticated_identities: true,
            supported_login_providers: Some(BTreeMap::from([("graph.facebook.com".into(), "1234".into())])),
            open_id_connect_provider_ar_ns: Some(vec!["arn:aws:iam::000000000000:oidc-provider/example.com".into()]),
            ..Default::default()
        })
        .unwrap();
    assert!(is_id(&created.identity_pool_id));
    let described = e
        .call::<iop::DescribeIdentityPool>(ci::DescribeIdentityPoolInput {
            identity_pool_id: created.identity_pool_id.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(described, created);
    assert_eq!(described.supported_login_providers.as_ref().unwrap()["graph.facebook.com"], "1234");
    let bad = e.call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
        identity_pool_name: "bad/name".into(),
        ..Default::default()
    });
    assert_fail(bad, ErrorCode::InvalidParameterException, "identityPoolName");

    // Three pools, listed two at a time.
    let first =
        e.call::<iop::ListIdentityPools>(ci::ListIdentityPoolsInput { max_results: 2, ..Default::default() }).unwrap();
    assert_eq!(first.identity_pools.as_ref().unwrap().len(), 2);
    let second = e
        .call::<iop::ListIdentityPools>(ci::ListIdentityPoolsInput {
            max_results: 2,
            next_token: first.next_token.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(second.identity_pools.as_ref().unwrap().len(), 1);
    assert!(second.next_token.is_none());
    let mut names: Vec<String> = first
        .identity_pools
        .unwrap()
        .into_iter()
        .chain(second.identity_pools.unwrap())
        .map(|p| p.identity_pool_name.unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["closed", "managed pool", "open"]);
    let zero = e.call::<iop::ListIdentityPools>(ci::ListIdentityPoolsInput { max_results: 0, ..Default::default() });
    assert_fail(zero, ErrorCode::InvalidParameterException, "maxResults");

    // Roles are stored and returned.
    let roles = BTreeMap::from([
        ("authenticated".to_owned(), "arn:aws:iam::000000000000:role/auth".to_owned()),
        ("unauthenticated".to_owned(), "arn:aws:iam::000000000000:role/unauth".to_owned()),
    ]);
    e.call::<iop::SetIdentityPoolRoles>(ci::SetIdentityPoolRolesInput {
        identity_pool_id: created.identity_pool_id.clone(),
        roles: roles.clone(),
        ..Default::default()
    })
    .unwrap();
    let got = e
        .call::<iop::GetIdentityPoolRoles>(ci::GetIdentityPoolRolesInput {
            identity_pool_id: created.identity_pool_id.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(got.roles, Some(roles));

    // Identities are listed, and go with their pool.
    let guest = f.get_id(&created.identity_pool_id, None).unwrap();
    let listed = e
        .call::<iop::ListIdentities>(ci::ListIdentitiesInput {
            identity_pool_id: created.identity_pool_id.clone(),
            max_results: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.identities.unwrap()[0].identity_id.as_deref(), Some(guest.as_str()));
    e.call::<iop::DeleteIdentityPool>(ci::DeleteIdentityPoolInput {
        identity_pool_id: created.identity_pool_id.clone(),
        ..Default::default()
    })
    .unwrap();
    let gone = e.call::<iop::DescribeIdentityPool>(ci::DescribeIdentityPoolInput {
        identity_pool_id: created.identity_pool_id.clone(),
        ..Default::default()
    });
    assert_fail(gone, ErrorCode::ResourceNotFoundException, "not found");
    assert_fail(f.credentials(&guest, None), ErrorCode::ResourceNotFoundException, "not found");
    f.pool.stop().await;
}

#[tokio::test]
async fn identities_survive_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(format!("local-pool-identity-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() };
    let f = Fixture::on(LocalPool::start_with(options.clone()).await.unwrap());
    let alice = f.id_token("alice");
    let id = f.get_id(&f.closed, Some(&alice)).unwrap();
    let guest = f.get_id(&f.open, None).unwrap();
    let jwks = f.engine().identity_jwks().unwrap();
    let Fixture { pool, pool_id, client_id, open, closed } = f;
    pool.stop().await;

    let f = Fixture { pool: LocalPool::start_with(options).await.unwrap(), pool_id, client_id, open, closed };
    let fresh = f.id_token("alice");
    assert_eq!(f.get_id(&f.closed, Some(&fresh)).unwrap(), id);
    assert_eq!(f.get_id(&f.closed, Some(&alice)).unwrap(), id, "tokens from before the restart still count");
    assert!(f.credentials(&guest, None).is_ok());
    assert_eq!(f.engine().identity_jwks().unwrap(), jwks, "the OpenID signing key is kept");
    f.pool.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_state_file_from_before_identity_pools_still_loads() {
    let dir = std::env::temp_dir().join(format!("local-pool-identity-old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() };
    let pool = LocalPool::start_with(options.clone()).await.unwrap();
    let pool_id = pool.create_pool("old").unwrap();
    pool.stop().await;
    let path = dir.join("state.json");
    let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(state.as_object_mut().unwrap().remove("identity").is_some());
    std::fs::write(&path, state.to_string()).unwrap();
    let pool = LocalPool::start_with(options).await.unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    pool.create_identity_pool("new", true, &[(&pool_id, &client.client_id)]).unwrap();
    pool.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_http_endpoint_serves_cognito_identity() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let f = Fixture::new().await;
    let addr = f.pool.endpoint().trim_start_matches("http://").to_owned();
    let post = |target: &str, body: String| {
        let addr = addr.clone();
        let raw = format!(
            "POST / HTTP/1.1\r\nHost: cognito-identity.us-east-1.amazonaws.com\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSCognitoIdentityService.{target}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(raw.as_bytes()).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            (head.to_owned(), serde_json::from_str::<serde_json::Value>(body).unwrap())
        }
    };
    // As boto3 sends it.
    let (head, body) = post("GetId", serde_json::json!({ "IdentityPoolId": f.open }).to_string()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("content-type: application/x-amz-json-1.1"), "{head}");
    let guest = body["IdentityId"].as_str().unwrap().to_owned();
    assert!(is_id(&guest));
    let (head, body) = post("GetCredentialsForIdentity", serde_json::json!({ "IdentityId": guest }).to_string()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body["IdentityId"], guest.as_str());
    assert!(body["Credentials"]["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(body["Credentials"]["Expiration"].is_number());

    let alice = f.id_token("alice");
    let logins = serde_json::json!({ f.provider(): alice });
    let (_, body) =
        post("GetId", serde_json::json!({ "IdentityPoolId": f.closed, "Logins": logins }).to_string()).await;
    let id = body["IdentityId"].as_str().unwrap().to_owned();
    let (head, body) =
        post("GetCredentialsForIdentity", serde_json::json!({ "IdentityId": id, "Logins": logins }).to_string()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body["IdentityId"], id.as_str());

    let (head, body) = post("GetId", serde_json::json!({ "IdentityPoolId": f.closed }).to_string()).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert_eq!(body["__type"], "NotAuthorizedException");
    assert!(head.contains("NotAuthorizedException"), "{head}");
    let (head, body) = post("GetId", "{}".into()).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert_eq!(body["__type"], "InvalidParameterException");
    let (head, body) = post("UnlinkIdentity", serde_json::json!({}).to_string()).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert_eq!(body["__type"], "UnknownOperationException");
    f.pool.stop().await;
}

// ----- other providers: public, OIDC, developer-authenticated -----

const GOOGLE_APP: &str = "1234-google.apps.googleusercontent.com";
const DEVELOPER: &str = "login.example.dev";
const OIDC_HOST: &str = "issuer.example.com";

/// An unsigned JWT with the given claims, as a provider's ID token looks
/// (the local pool does not check other providers' signatures).
fn provider_token(claims: &serde_json::Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#),
        b64.encode(claims.to_string()),
        b64.encode("not-a-real-signature")
    )
}

fn social_token(iss: &str, aud: &str, sub: &str, exp: i64) -> String {
    provider_token(&serde_json::json!({"iss": iss, "aud": aud, "sub": sub, "exp": exp, "iat": exp - 3600}))
}

/// An identity pool trusting Google, Facebook, Amazon, Apple, an OIDC issuer
/// and a developer provider (no user pool).
fn social_pool(e: &Engine) -> String {
    e.call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
        identity_pool_name: "social".into(),
        allow_unauthenticated_identities: false,
        supported_login_providers: Some(BTreeMap::from([
            ("accounts.google.com".to_owned(), GOOGLE_APP.to_owned()),
            ("graph.facebook.com".to_owned(), "fb-app-1".to_owned()),
            ("www.amazon.com".to_owned(), "amzn1.application.x".to_owned()),
            ("appleid.apple.com".to_owned(), "com.example.app".to_owned()),
        ])),
        open_id_connect_provider_ar_ns: Some(vec![format!("arn:aws:iam::000000000000:oidc-provider/{OIDC_HOST}")]),
        developer_provider_name: Some(DEVELOPER.into()),
        ..Default::default()
    })
    .unwrap()
    .identity_pool_id
}

fn one_login(key: &str, token: &str) -> Option<BTreeMap<String, Sensitive<String>>> {
    Some(BTreeMap::from([(key.to_owned(), Sensitive::new(token.to_owned()))]))
}

fn get_id_with(e: &Engine, pool: &str, key: &str, token: &str) -> Result<String, Fail> {
    e.call::<iop::GetId>(ci::GetIdInput {
        identity_pool_id: pool.into(),
        logins: one_login(key, token),
        ..Default::default()
    })
    .map(|o| o.identity_id.unwrap())
}

fn credentials_with(
    e: &Engine,
    identity_id: &str,
    key: &str,
    token: &str,
) -> Result<ci::GetCredentialsForIdentityResponse, Fail> {
    e.call::<iop::GetCredentialsForIdentity>(ci::GetCredentialsForIdentityInput {
        identity_id: identity_id.into(),
        logins: one_login(key, token),
        ..Default::default()
    })
}

#[tokio::test]
async fn public_and_oidc_provider_tokens_get_one_identity_per_user() {
    let f = Fixture::new().await;
    let e = f.engine();
    let pool = social_pool(e);
    let exp = e.now() + 3600;
    let cases = [
        ("accounts.google.com", "https://accounts.google.com", GOOGLE_APP),
        ("graph.facebook.com", "https://www.facebook.com", "fb-app-1"),
        ("www.amazon.com", "https://www.amazon.com", "amzn1.application.x"),
        ("appleid.apple.com", "https://appleid.apple.com", "com.example.app"),
        (OIDC_HOST, "https://issuer.example.com", "any-client"),
    ];
    let mut seen = Vec::new();
    for (key, iss, aud) in cases {
        let token = social_token(iss, aud, "user-1", exp);
        let id = get_id_with(e, &pool, key, &token).unwrap_or_else(|err| panic!("{key}: {err}"));
        assert!(is_id(&id), "{id}");
        // The same token, and a later token for the same user: the same identity.
        assert_eq!(get_id_with(e, &pool, key, &token).unwrap(), id, "{key}");
        let later = social_token(iss, aud, "user-1", exp + 60);
        assert_eq!(get_id_with(e, &pool, key, &later).unwrap(), id, "{key}");
        // Another user of the same provider: another identity.
        let other = get_id_with(e, &pool, key, &social_token(iss, aud, "user-2", exp)).unwrap();
        assert_ne!(other, id, "{key}");
        let out = credentials_with(e, &id, key, &token).unwrap();
        assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
        assert_well_formed(&out, e.now());
        // Someone else's token does not open this identity.
        assert_fail(
            credentials_with(e, &id, key, &social_token(iss, aud, "user-2", exp)),
            ErrorCode::NotAuthorizedException,
            "Logins don't match.",
        );
        let described = e
            .call::<iop::DescribeIdentity>(ci::DescribeIdentityInput { identity_id: id.clone(), ..Default::default() })
            .unwrap();
        assert_eq!(described.logins, Some(vec![key.to_owned()]));
        seen.push(id);
    }
    // Each provider's "user-1" is a different person.
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), cases.len());
    // The bare issuer spelling Google uses in some tokens is accepted too.
    let bare = social_token("accounts.google.com", GOOGLE_APP, "user-9", exp);
    assert!(get_id_with(e, &pool, "accounts.google.com", &bare).is_ok());
    // An audience list naming the app id is accepted.
    let listed = provider_token(&serde_json::json!({
        "iss": "https://appleid.apple.com", "aud": ["other", "com.example.app"], "sub": "user-8", "exp": exp
    }));
    assert!(get_id_with(e, &pool, "appleid.apple.com", &listed).is_ok());
    f.pool.stop().await;
}

#[tokio::test]
async fn provider_tokens_are_checked_for_shape_issuer_audience_expiry_and_configuration() {
    let f = Fixture::new().await;
    let e = f.engine();
    let pool = social_pool(e);
    let exp = e.now() + 3600;
    let google = "accounts.google.com";
    let refused = |key: &str, token: &str, message: &str| {
        assert_fail(get_id_with(e, &pool, key, token), ErrorCode::NotAuthorizedException, message);
    };
    refused(google, "opaque-token", "Invalid login token. Not a valid OpenId Connect identity token.");
    refused(google, "a.b.c", "Invalid login token. Not a valid OpenId Connect identity token.");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let no_alg = format!("{}.{}.x", b64.encode("{}"), b64.encode(r#"{"sub":"u"}"#));
    refused(google, &no_alg, "Not a valid OpenId Connect identity token.");
    refused(
        google,
        &social_token("https://appleid.apple.com", GOOGLE_APP, "u", exp),
        "Invalid login token. Issuer doesn't match providerName",
    );
    refused(
        google,
        &social_token("https://accounts.google.com", "another-app", "u", exp),
        "Invalid login token. Incorrect token audience.",
    );
    let now = e.now();
    refused(
        google,
        &social_token("https://accounts.google.com", GOOGLE_APP, "u", now - 1),
        &format!("Invalid login token. Token expired: {now} >= {}", now - 1),
    );
    refused(
        google,
        &provider_token(&serde_json::json!({"iss": "https://accounts.google.com", "aud": GOOGLE_APP, "sub": "u"})),
        "Missing a required claim: exp",
    );
    refused(
        google,
        &provider_token(&serde_json::json!({"iss": "https://accounts.google.com", "aud": GOOGLE_APP, "exp": exp})),
        "Missing a required claim: sub",
    );
    // An OIDC token must come from the registered issuer.
    refused(OIDC_HOST, &social_token("https://evil.example.com", "c", "u", exp), "Issuer doesn't match providerName");
    // Providers the identity pool does not list.
    let good = social_token("https://accounts.google.com", GOOGLE_APP, "u", exp);
    assert_fail(
        get_id_with(e, &f.closed, google, &good),
        ErrorCode::NotAuthorizedException,
        "Token is not from a supported provider of this identity pool.",
    );
    refused("other-issuer.example.com", &good, "Token is not from a supported provider of this identity pool.");
    // Developer logins go through GetOpenIdTokenForDeveloperIdentity only.
    refused(DEVELOPER, "user-1", "Invalid login token.");
    // A provider added later with UpdateIdentityPool is accepted from then on.
    let mut config = e
        .call::<iop::DescribeIdentityPool>(ci::DescribeIdentityPoolInput {
            identity_pool_id: f.closed.clone(),
            ..Default::default()
        })
        .unwrap();
    config.supported_login_providers = Some(BTreeMap::from([(google.to_owned(), GOOGLE_APP.to_owned())]));
    e.call::<iop::UpdateIdentityPool>(config).unwrap();
    assert!(get_id_with(e, &f.closed, google, &good).is_ok());
    // An expiry reached later refuses the same token.
    let id = get_id_with(e, &pool, google, &good).unwrap();
    e.advance_clock(3601);
    assert_fail(credentials_with(e, &id, google, &good), ErrorCode::NotAuthorizedException, "Token expired");
    f.pool.stop().await;
}

fn developer_token(
    e: &Engine,
    pool: &str,
    identity_id: Option<&str>,
    user: &str,
    duration: Option<i64>,
) -> Result<(String, String), Fail> {
    let out = e.call::<iop::GetOpenIdTokenForDeveloperIdentity>(ci::GetOpenIdTokenForDeveloperIdentityInput {
        identity_pool_id: pool.into(),
        identity_id: identity_id.map(str::to_owned),
        logins: BTreeMap::from([(DEVELOPER.to_owned(), Sensitive::new(user.to_owned()))]),
        token_duration: duration,
        ..Default::default()
    })?;
    Ok((out.identity_id.unwrap(), out.token.unwrap().expose().clone()))
}

#[tokio::test]
async fn developer_authenticated_identities() {
    let f = Fixture::new().await;
    let e = f.engine();
    let pool = social_pool(e);
    let (id, token) = developer_token(e, &pool, None, "backend-user-7", None).unwrap();
    assert!(is_id(&id), "{id}");
    let c = claims(&token);
    assert_eq!(c["iss"], "https://cognito-identity.amazonaws.com");
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["aud"], pool.as_str());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    assert_eq!(c["amr"], serde_json::json!(["authenticated", DEVELOPER, format!("{DEVELOPER}:{pool}:backend-user-7")]));
    // The same backend user: the same identity; another: another.
    let (again, _) = developer_token(e, &pool, None, "backend-user-7", Some(3600)).unwrap();
    assert_eq!(again, id);
    let (other, other_token) = developer_token(e, &pool, None, "backend-user-8", None).unwrap();
    assert_ne!(other, id);
    // The token buys credentials for its identity, not for another.
    let key = "cognito-identity.amazonaws.com";
    let out = credentials_with(e, &id, key, &token).unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(id.as_str()));
    assert_well_formed(&out, e.now());
    assert_eq!(get_id_with(e, &pool, key, &token).unwrap(), id);
    assert_fail(credentials_with(e, &id, key, &other_token), ErrorCode::NotAuthorizedException, "Logins don't match.");
    // Forged or foreign tokens are refused.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = c.clone();
    forged["sub"] = other.as_str().into();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged = format!("{}.{}.{}", parts[0], b64.encode(forged.to_string()), parts[2]);
    assert_fail(
        credentials_with(e, &other, key, &forged),
        ErrorCode::NotAuthorizedException,
        "Invalid login token. Couldn't verify signed token.",
    );
    let unsigned = social_token("https://cognito-identity.amazonaws.com", &pool, &id, e.now() + 60);
    assert_fail(credentials_with(e, &id, key, &unsigned), ErrorCode::NotAuthorizedException, "Couldn't verify");
    // A token of another identity pool.
    let pool2 = social_pool(e);
    let (_, token2) = developer_token(e, &pool2, None, "backend-user-7", None).unwrap();
    assert_fail(
        credentials_with(e, &id, key, &token2),
        ErrorCode::NotAuthorizedException,
        "Invalid login token. Incorrect token audience.",
    );
    // Expiry: the token lasts TokenDuration seconds.
    let (_, short) = developer_token(e, &pool, None, "backend-user-7", Some(60)).unwrap();
    e.advance_clock(61);
    assert_fail(credentials_with(e, &id, key, &short), ErrorCode::NotAuthorizedException, "Token expired");
    // A new backend user linked to an existing identity.
    let (linked, _) = developer_token(e, &pool, Some(&id), "backend-user-7-alias", None).unwrap();
    assert_eq!(linked, id);
    assert_eq!(developer_token(e, &pool, None, "backend-user-7-alias", None).unwrap().0, id);
    // A guest's own OpenID token is a login for that guest identity (it
    // stays a guest: nothing is linked).
    let guest = f.get_id(&f.open, None).unwrap();
    let guest_token = e
        .call::<iop::GetOpenIdToken>(ci::GetOpenIdTokenInput { identity_id: guest.clone(), ..Default::default() })
        .unwrap()
        .token
        .unwrap()
        .expose()
        .clone();
    let out = credentials_with(e, &guest, key, &guest_token).unwrap();
    assert_eq!(out.identity_id.as_deref(), Some(guest.as_str()));
    assert!(f.credentials(&guest, None).is_ok(), "still a guest");
    // Validation and configuration.
    assert_fail(
        developer_token(e, &pool, None, "u", Some(86_401)),
        ErrorCode::InvalidParameterException,
        "tokenDuration",
    );
    assert_fail(
        developer_token(e, &f.closed, None, "u", None),
        ErrorCode::NotAuthorizedException,
        "Token is not from a supported provider of this identity pool.",
    );
    assert_fail(
        developer_token(e, &pool, Some("us-east-1:00000000-0000-4000-8000-000000000000"), "u", None),
        ErrorCode::ResourceNotFoundException,
        "not found",
    );
    f.pool.stop().await;
}
