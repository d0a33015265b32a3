//! The hosted UI and OAuth 2.0 endpoints, driven with raw HTTP/1.1 as a
//! browser and an OAuth client would: the authorize page, the login form,
//! the redirect, the token endpoint (PKCE, client secrets, refresh),
//! userInfo, revoke and logout, and Cognito's refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use base64::Engine as _;
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};
use local_pool::{ClientOptions, LocalPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PW: &str = "Correct-Horse-1";
const CALLBACK: &str = "http://127.0.0.1:9/callback";
const LOGOUT: &str = "http://127.0.0.1:9/signed-out";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
    /// The query (or fragment) parameters of the Location header.
    fn location_params(&self) -> BTreeMap<String, String> {
        let location = self.header("location").expect("a Location header");
        let rest = location.split_once(['?', '#']).map(|(_, q)| q).unwrap_or("");
        parse(rest)
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn parse(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn http(addr: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    Reply { status, headers, body: body.to_owned() }
}

async fn get(addr: &str, target: &str) -> Reply {
    http(addr, "GET", target, &[], "").await
}

async fn post_form(addr: &str, path: &str, pairs: &[(&str, &str)], extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra);
    http(addr, "POST", path, &headers, &form(pairs)).await
}

struct Setup {
    pool: LocalPool,
    addr: String,
    pool_id: String,
    client_id: String,
}

async fn setup_with(secret: bool, flows: &[OAuthFlowType]) -> (Setup, Option<String>) {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("hosted").unwrap();
    let options = ClientOptions { secret, ..ClientOptions::default() };
    let explicit_auth_flows = options.explicit_auth_flows.iter().map(|f| f.as_str().into()).collect();
    let client = pool.create_client(&pool_id, options).unwrap();
    // UpdateUserPoolClient replaces every setting: restate the sign-in flows.
    pool.engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_id: client.client_id.as_str().into(),
            explicit_auth_flows: Some(explicit_auth_flows),
            callback_ur_ls: Some(vec![CALLBACK.into()]),
            logout_ur_ls: Some(vec![LOGOUT.into()]),
            allowed_o_auth_flows: Some(flows.to_vec()),
            allowed_o_auth_scopes: Some(
                ["openid", "email", "profile", "aws.cognito.signin.user.admin"].map(String::from).to_vec(),
            ),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(vec!["COGNITO".into()]),
            ..Default::default()
        })
        .unwrap();
    pool.create_user(&pool_id, "alice", PW, &[("email", "alice@example.com")]).unwrap();
    let addr = pool.endpoint().trim_start_matches("http://").to_owned();
    (Setup { pool, addr, pool_id, client_id: client.client_id }, client.client_secret)
}

async fn setup() -> Setup {
    setup_with(false, &[OAuthFlowType::Code, OAuthFlowType::Implicit]).await.0
}

fn authorize_target(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("state", "st-123"),
        ("scope", "openid email"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    format!("/oauth2/authorize?{}", form(&pairs))
}

/// The hidden `request` field of the sign-in page.
fn request_id(page: &str) -> String {
    let marker = "name=\"request\" value=\"";
    let start = page.find(marker).expect("the sign-in form") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// Shows the page and signs in; returns the redirect.
async fn sign_in(s: &Setup, extra: &[(&str, &str)], password: &str) -> Reply {
    let page = get(&s.addr, &authorize_target(&s.client_id, extra)).await;
    assert_eq!(page.status, 200, "{} {:?}", page.body, page.header("location"));
    let id = request_id(&page.body);
    post_form(&s.addr, "/login", &[("request", &id), ("username", "alice"), ("password", password)], &[]).await
}

async fn exchange(s: &Setup, code: &str, verifier: &str) -> Reply {
    post_form(
        &s.addr,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &s.client_id),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
        &[],
    )
    .await
}

#[tokio::test]
async fn the_sign_in_page_is_plain_and_accessible() {
    let s = setup().await;
    let page = get(&s.addr, &authorize_target(&s.client_id, &[("login_hint", "alice")])).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = &page.body;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"username\">") && html.contains("id=\"username\""));
    assert!(html.contains("<label for=\"password\">") && html.contains("type=\"password\""));
    assert!(html.contains("autocomplete=\"current-password\""));
    assert!(html.contains("value=\"alice\""), "the login hint fills the username");
    // No external assets: no scripts, no links to other origins.
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    s.pool.stop().await;
}

#[tokio::test]
async fn code_flow_with_pkce_end_to_end() {
    let s = setup().await;
    // A wrong password shows the page again, with the error announced.
    let wrong = sign_in(&s, &[], "wrong-password-1").await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("role=\"alert\"") && wrong.body.contains("Incorrect username or password."));
    // The same page can be used again.
    let again = post_form(
        &s.addr,
        "/login",
        &[("request", &request_id(&wrong.body)), ("username", "alice"), ("password", PW)],
        &[],
    )
    .await;
    assert_eq!(again.status, 302, "{}", again.body);
    let location = again.header("location").unwrap();
    assert!(location.starts_with(&format!("{CALLBACK}?")), "{location}");
    let params = again.location_params();
    assert_eq!(params["state"], "st-123");
    let code = params["code"].clone();

    let tokens = exchange(&s, &code, VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let json = tokens.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 3600);
    let access = json["access_token"].as_str().unwrap().to_owned();
    let refresh = json["refresh_token"].as_str().unwrap().to_owned();
    let id_token = json["id_token"].as_str().unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id_token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["cognito:username"], "alice");
    assert_eq!(claims["aud"], s.client_id.as_str());

    // The code is single-use.
    let reused = exchange(&s, &code, VERIFIER).await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json()["error"], "invalid_grant");

    // userInfo with the access token.
    let bearer = format!("Bearer {access}");
    let info = http(&s.addr, "GET", "/oauth2/userInfo", &[("Authorization", &bearer)], "").await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["email"], "alice@example.com");
    assert_eq!(info.json()["username"], "alice");
    let anonymous = get(&s.addr, "/oauth2/userInfo").await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("www-authenticate").unwrap().starts_with("Bearer"));

    // refresh_token grant.
    let refreshed = post_form(
        &s.addr,
        "/oauth2/token",
        &[("grant_type", "refresh_token"), ("client_id", &s.client_id), ("refresh_token", &refresh)],
        &[],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert!(refreshed.json()["access_token"].is_string());
    assert!(refreshed.json().get("refresh_token").is_none());

    // Revoke, then the refresh token no longer works.
    let revoked = post_form(&s.addr, "/oauth2/revoke", &[("token", &refresh), ("client_id", &s.client_id)], &[]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let after = post_form(
        &s.addr,
        "/oauth2/token",
        &[("grant_type", "refresh_token"), ("client_id", &s.client_id), ("refresh_token", &refresh)],
        &[],
    )
    .await;
    assert_eq!(after.status, 400);
    assert_eq!(after.json()["error"], "invalid_grant");
    s.pool.stop().await;
}

#[tokio::test]
async fn pkce_and_code_binding_are_enforced() {
    let s = setup().await;
    // A wrong verifier: invalid_grant, and the code is spent.
    let code = sign_in(&s, &[], PW).await.location_params()["code"].clone();
    let wrong = exchange(&s, &code, &"A".repeat(43)).await;
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(exchange(&s, &code, VERIFIER).await.json()["error"], "invalid_grant");

    // A missing verifier.
    let code = sign_in(&s, &[], PW).await.location_params()["code"].clone();
    let missing = post_form(
        &s.addr,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &s.client_id),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
        &[],
    )
    .await;
    assert_eq!(missing.json()["error"], "invalid_grant");

    // A different redirect_uri than the one authorized.
    let code = sign_in(&s, &[], PW).await.location_params()["code"].clone();
    let other = post_form(
        &s.addr,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &s.client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", VERIFIER),
        ],
        &[],
    )
    .await;
    assert_eq!(other.json()["error"], "invalid_grant");

    // Codes live five minutes.
    let code = sign_in(&s, &[], PW).await.location_params()["code"].clone();
    s.pool.engine().advance_clock(301);
    assert_eq!(exchange(&s, &code, VERIFIER).await.json()["error"], "invalid_grant");

    // Form encoding is required; unknown grants are refused.
    let json_body = http(
        &s.addr,
        "POST",
        "/oauth2/token",
        &[("Content-Type", "application/json")],
        "{\"grant_type\":\"authorization_code\"}",
    )
    .await;
    assert_eq!((json_body.status, json_body.json()["error"].as_str()), (400, Some("invalid_request")));
    let password_grant =
        post_form(&s.addr, "/oauth2/token", &[("grant_type", "password"), ("client_id", &s.client_id)], &[]).await;
    assert_eq!(password_grant.json()["error"], "unsupported_grant_type");
    s.pool.stop().await;
}

#[tokio::test]
async fn authorize_refusals_follow_cognito() {
    let s = setup().await;
    // Bad client or redirect URI: an error page, never a redirect.
    let unknown = get(&s.addr, &authorize_target("nosuchclient", &[])).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.header("location").is_none());
    let mismatch = get(&s.addr, &authorize_target(&s.client_id, &[("redirect_uri", "http://evil.example/cb")])).await;
    assert_eq!(mismatch.status, 400);
    assert!(mismatch.header("location").is_none());
    assert!(mismatch.body.contains("redirect_mismatch"));

    // Other errors go back to the client with the state.
    for (extra, error) in [
        (vec![("scope", "openid phone")], "invalid_scope"),
        (vec![("response_type", "id_token")], "unsupported_response_type"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("identity_provider", "Google")], "invalid_request"),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let r = get(&s.addr, &authorize_target(&s.client_id, &extra)).await;
        assert_eq!(r.status, 302, "{extra:?}: {}", r.body);
        assert!(r.header("location").unwrap().starts_with(CALLBACK));
        let p = r.location_params();
        assert_eq!(p["error"], error, "{extra:?} {p:?}");
        assert_eq!(p["state"], "st-123");
    }

    // A client allowed only the implicit flow cannot use the code flow.
    let (t, _) = setup_with(false, &[OAuthFlowType::Implicit]).await;
    let r = get(&t.addr, &authorize_target(&t.client_id, &[])).await;
    assert_eq!(r.location_params()["error"], "unauthorized_client");

    // A login form without a valid page.
    let stale =
        post_form(&s.addr, "/login", &[("request", "forged"), ("username", "alice"), ("password", PW)], &[]).await;
    assert_eq!(stale.status, 400);
    assert!(stale.header("location").is_none());
    s.pool.stop().await;
    t.pool.stop().await;
}

#[tokio::test]
async fn unconfirmed_users_and_mfa_get_a_clear_message() {
    let s = setup().await;
    s.pool
        .engine()
        .call::<op::SignUp>(idp::SignUpRequest {
            client_id: s.client_id.as_str().into(),
            username: "bob".into(),
            password: Some(PW.to_owned().into()),
            user_attributes: Some(vec![idp::AttributeType {
                name: "email".into(),
                value: Some("bob@example.com".to_owned().into()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap();
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let r = post_form(
        &s.addr,
        "/login",
        &[("request", &request_id(&page.body)), ("username", "bob"), ("password", PW)],
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not confirmed"), "{}", r.body);

    set_mfa(&s, idp::UserPoolMfaType::On);
    // MFA required and none set up: the authenticator set-up page, not
    // a code for the app.
    let r = sign_in(&s, &[], PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<h1>Set up an authenticator app</h1>"), "{}", r.body);
    assert!(r.header("location").is_none() && r.header("set-cookie").is_none());
    s.pool.stop().await;
}

#[tokio::test]
async fn clients_with_secrets_authenticate_at_the_token_endpoint() {
    let (s, secret) = setup_with(true, &[OAuthFlowType::Code]).await;
    let secret = secret.unwrap();
    let code = sign_in(&s, &[], PW).await.location_params()["code"].clone();
    let unauthenticated = exchange(&s, &code, VERIFIER).await;
    assert_eq!((unauthenticated.status, unauthenticated.json()["error"].as_str()), (400, Some("invalid_client")));
    // The failed client authentication did not spend the code.
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.client_id, secret)));
    let ok = post_form(
        &s.addr,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &s.client_id),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
        &[("Authorization", &basic)],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // The client is not allowed the client_credentials flow.
    let cc = post_form(&s.addr, "/oauth2/token", &[("grant_type", "client_credentials")], &[("Authorization", &basic)])
        .await;
    assert_eq!(cc.json()["error"], "unauthorized_client");
    s.pool.stop().await;
}

#[tokio::test]
async fn implicit_flow_returns_tokens_in_the_fragment() {
    let s = setup().await;
    let r = sign_in(&s, &[("response_type", "token"), ("code_challenge", ""), ("code_challenge_method", "")], PW).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").unwrap();
    assert!(location.starts_with(&format!("{CALLBACK}#")), "{location}");
    let p = r.location_params();
    assert!(p.contains_key("access_token") && p.contains_key("id_token"));
    assert!(!p.contains_key("refresh_token"));
    assert_eq!(p["token_type"], "Bearer");
    assert_eq!(p["state"], "st-123");
    s.pool.stop().await;
}

#[tokio::test]
async fn logout_redirects_only_to_registered_urls() {
    let s = setup().await;
    let ok = get(&s.addr, &format!("/logout?{}", form(&[("client_id", &s.client_id), ("logout_uri", LOGOUT)]))).await;
    assert_eq!(ok.status, 302);
    assert_eq!(ok.header("location"), Some(LOGOUT));
    let bad = get(
        &s.addr,
        &format!("/logout?{}", form(&[("client_id", &s.client_id), ("logout_uri", "http://evil.example/")])),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.header("location").is_none());
    // Sign out and sign in again: back to the sign-in page.
    let relogin = get(
        &s.addr,
        &format!(
            "/logout?{}",
            form(&[("client_id", &s.client_id), ("redirect_uri", CALLBACK), ("response_type", "code")])
        ),
    )
    .await;
    assert_eq!(relogin.status, 302);
    assert!(relogin.header("location").unwrap().starts_with("/oauth2/authorize?"));
    s.pool.stop().await;
}

#[tokio::test]
async fn discovery_names_the_hosted_ui_endpoints() {
    let s = setup().await;
    let r = get(&s.addr, &format!("/{}/.well-known/openid-configuration", s.pool_id)).await;
    let json = r.json();
    assert_eq!(json["token_endpoint"], format!("http://{}/oauth2/token", s.addr));
    assert_eq!(json["authorization_endpoint"], format!("http://{}/oauth2/authorize", s.addr));
    s.pool.stop().await;
}

fn claims_of(jwt: &str) -> serde_json::Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_carry_the_granted_scopes_and_the_nonce() {
    let s = setup().await;
    // Scopes as requested, a nonce in the ID token.
    let r =
        sign_in(&s, &[("scope", "openid email aws.cognito.signin.user.admin"), ("nonce", "n-0S6_WzA2Mj")], PW).await;
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await.json();
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["scope"], "openid email aws.cognito.signin.user.admin");
    assert_eq!(access["token_use"], "access");
    assert!(access.get("nonce").is_none());
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");

    // Refreshed tokens keep the scopes; the nonce is not repeated.
    let refreshed = post_form(
        &s.addr,
        "/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
        &[],
    )
    .await
    .json();
    assert_eq!(claims_of(refreshed["access_token"].as_str().unwrap())["scope"], access["scope"]);
    assert!(claims_of(refreshed["id_token"].as_str().unwrap()).get("nonce").is_none());
    // Through the API's refresh too.
    let api = s
        .pool
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: idp::AuthFlowType::RefreshTokenAuth,
            client_id: s.client_id.as_str().into(),
            auth_parameters: Some(cognito_wire::Sensitive::new(BTreeMap::from([(
                "REFRESH_TOKEN".to_owned(),
                tokens["refresh_token"].as_str().unwrap().to_owned(),
            )]))),
            ..Default::default()
        })
        .unwrap();
    let api_access = api.authentication_result.unwrap().access_token.unwrap();
    assert_eq!(claims_of(api_access.expose())["scope"], access["scope"]);

    // Without a nonce, none; without the admin scope, it is not granted.
    let r = sign_in(&s, &[("scope", "openid profile")], PW).await;
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await.json();
    assert_eq!(claims_of(tokens["access_token"].as_str().unwrap())["scope"], "openid profile");
    assert!(claims_of(tokens["id_token"].as_str().unwrap()).get("nonce").is_none());

    // The implicit flow too.
    let r = sign_in(
        &s,
        &[("response_type", "token"), ("code_challenge", ""), ("code_challenge_method", ""), ("nonce", "abc")],
        PW,
    )
    .await;
    let p = r.location_params();
    assert_eq!(claims_of(&p["access_token"])["scope"], "openid email");
    assert_eq!(claims_of(&p["id_token"])["nonce"], "abc");

    // Tokens from the API keep Cognito's API scope.
    let api = s
        .pool
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: idp::AuthFlowType::UserPasswordAuth,
            client_id: s.client_id.as_str().into(),
            auth_parameters: Some(cognito_wire::Sensitive::new(BTreeMap::from([
                ("USERNAME".to_owned(), "alice".to_owned()),
                ("PASSWORD".to_owned(), PW.to_owned()),
            ]))),
            ..Default::default()
        })
        .unwrap();
    let t = api.authentication_result.unwrap().access_token.unwrap();
    assert_eq!(claims_of(t.expose())["scope"], "aws.cognito.signin.user.admin");
    s.pool.stop().await;
}

#[tokio::test]
async fn client_credentials_for_confidential_clients() {
    let (s, secret) = setup_with(true, &[OAuthFlowType::ClientCredentials]).await;
    let secret = secret.unwrap();
    s.pool
        .engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: s.pool_id.clone(),
            client_id: s.client_id.as_str().into(),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::ClientCredentials]),
            allowed_o_auth_scopes: Some(["orders/read", "orders/write", "openid"].map(String::from).to_vec()),
            allowed_o_auth_flows_user_pool_client: Some(true),
            ..Default::default()
        })
        .unwrap();
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.client_id, secret)));
    let auth = [("Authorization", basic.as_str())];

    // A requested custom scope.
    let r =
        post_form(&s.addr, "/oauth2/token", &[("grant_type", "client_credentials"), ("scope", "orders/read")], &auth)
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let json = r.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 3600);
    assert!(json.get("id_token").is_none() && json.get("refresh_token").is_none());
    let claims = claims_of(json["access_token"].as_str().unwrap());
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims["scope"], "orders/read");
    assert_eq!(claims["sub"], s.client_id.as_str());
    assert_eq!(claims["client_id"], s.client_id.as_str());
    assert!(claims.get("username").is_none());
    // It is no user's token: userInfo refuses it.
    let bearer = format!("Bearer {}", json["access_token"].as_str().unwrap());
    let info = http(&s.addr, "GET", "/oauth2/userInfo", &[("Authorization", &bearer)], "").await;
    assert_eq!(info.status, 401);

    // No scope requested: every custom scope the client is allowed.
    let all = post_form(&s.addr, "/oauth2/token", &[("grant_type", "client_credentials")], &auth).await.json();
    assert_eq!(claims_of(all["access_token"].as_str().unwrap())["scope"], "orders/read orders/write");
    // The secret in the form works too.
    let in_form = post_form(
        &s.addr,
        "/oauth2/token",
        &[("grant_type", "client_credentials"), ("client_id", &s.client_id), ("client_secret", &secret)],
        &[],
    )
    .await;
    assert_eq!(in_form.status, 200, "{}", in_form.body);

    // Refusals: a scope not allowed, an OIDC scope, a wrong or missing secret.
    for scope in ["orders/delete", "openid", "orders/read email"] {
        let r =
            post_form(&s.addr, "/oauth2/token", &[("grant_type", "client_credentials"), ("scope", scope)], &auth).await;
        assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_scope")), "{scope}");
    }
    let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:nope", s.client_id)));
    let r = post_form(&s.addr, "/oauth2/token", &[("grant_type", "client_credentials")], &[("Authorization", &wrong)])
        .await;
    assert_eq!(r.json()["error"], "invalid_client");
    let r =
        post_form(&s.addr, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", &s.client_id)], &[])
            .await;
    assert_eq!(r.json()["error"], "invalid_client");

    // A public client cannot use the grant.
    let p = setup().await;
    let r =
        post_form(&p.addr, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", &p.client_id)], &[])
            .await;
    assert_eq!(r.json()["error"], "unauthorized_client");
    s.pool.stop().await;
    p.pool.stop().await;
}

/// Registers Google, Facebook and an OIDC provider; the client supports
/// COGNITO, Google and the OIDC one.
fn with_providers(s: &Setup) {
    s.pool.create_identity_provider(&s.pool_id, "Google", "Google").unwrap();
    s.pool.create_identity_provider(&s.pool_id, "Facebook", "Facebook").unwrap();
    s.pool
        .engine()
        .call::<op::CreateIdentityProvider>(idp::CreateIdentityProviderRequest {
            user_pool_id: s.pool_id.clone(),
            provider_name: "CorpOIDC".into(),
            provider_type: idp::IdentityProviderTypeType::Oidc,
            provider_details: BTreeMap::from([("oidc_issuer".to_owned(), "https://corp.example".to_owned())]),
            idp_identifiers: Some(vec!["corp.example".into()]),
            ..Default::default()
        })
        .unwrap();
    s.pool
        .engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: s.pool_id.clone(),
            client_id: s.client_id.as_str().into(),
            callback_ur_ls: Some(vec![CALLBACK.into()]),
            logout_ur_ls: Some(vec![LOGOUT.into()]),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::Code, OAuthFlowType::Implicit]),
            allowed_o_auth_scopes: Some(["openid", "email", "profile"].map(String::from).to_vec()),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(["COGNITO", "Google", "CorpOIDC"].map(String::from).to_vec()),
            ..Default::default()
        })
        .unwrap();
}

/// Follows the authorize redirect to the mock IdP's page; returns the page
/// and its state.
async fn consent(s: &Setup, extra: &[(&str, &str)]) -> (Reply, String) {
    let r = get(&s.addr, &authorize_target(&s.client_id, extra)).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with("/_local-pool/idp/"), "{location}");
    let state = parse(location.split_once('?').unwrap().1)["state"].clone();
    let page = get(&s.addr, &location).await;
    (page, state)
}

#[tokio::test]
async fn federated_sign_in_through_the_mock_identity_provider() {
    let s = setup().await;
    with_providers(&s);
    let (page, state) = consent(&s, &[("identity_provider", "Google"), ("nonce", "n1")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = &page.body;
    assert!(html.contains("<h1>Sign in with Google</h1>"));
    assert!(html.contains("<label for=\"subject\">") && html.contains("<label for=\"email\">"));
    assert!(html.contains("value=\"continue\"") && html.contains(">Cancel</button>"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));

    let r = post_form(
        &s.addr,
        "/oauth2/idpresponse",
        &[("state", &state), ("subject", "12345"), ("email", "fed@example.com"), ("action", "continue")],
        &[],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(r.header("location").unwrap().starts_with(&format!("{CALLBACK}?")));
    let p = r.location_params();
    assert_eq!(p["state"], "st-123");
    let tokens = exchange(&s, &p["code"], VERIFIER).await.json();
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["cognito:username"], "Google_12345");
    assert_eq!(id["email"], "fed@example.com");
    assert_eq!(id["nonce"], "n1");
    let identity = &id["identities"][0];
    assert_eq!(identity["userId"], "12345");
    assert_eq!(identity["providerName"], "Google");
    assert_eq!(identity["providerType"], "Google");
    assert!(identity["issuer"].is_null());
    assert_eq!(identity["primary"], "true");
    assert!(identity["dateCreated"].as_str().unwrap().parse::<i64>().unwrap() > 0);
    let group = format!("{}_Google", s.pool_id);
    assert_eq!(id["cognito:groups"], serde_json::json!([group]));
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["username"], "Google_12345");
    assert_eq!(access["cognito:groups"], serde_json::json!([group]));

    let user = admin_get_user(&s, "Google_12345");
    assert_eq!(user.user_status, Some(idp::UserStatusType::ExternalProvider));
    // The automatic group exists.
    s.pool
        .engine()
        .call::<op::GetGroup>(idp::GetGroupRequest {
            user_pool_id: s.pool_id.clone(),
            group_name: group.clone(),
            ..Default::default()
        })
        .unwrap();

    // The same subject again: the same user (same sub), email updated.
    let (_, state) = consent(&s, &[("identity_provider", "Google")]).await;
    let r = post_form(
        &s.addr,
        "/oauth2/idpresponse",
        &[("state", &state), ("subject", "12345"), ("email", "new@example.com"), ("action", "continue")],
        &[],
    )
    .await;
    let again =
        claims_of(exchange(&s, &r.location_params()["code"], VERIFIER).await.json()["id_token"].as_str().unwrap());
    assert_eq!(again["sub"], id["sub"]);
    assert_eq!(again["email"], "new@example.com");

    // A federated user has no password on the pool's own page.
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let r = post_form(
        &s.addr,
        "/login",
        &[("request", &request_id(&page.body)), ("username", "Google_12345"), ("password", PW)],
        &[],
    )
    .await;
    assert!(r.body.contains("Incorrect username or password."));

    // An OIDC provider by its identifier, in the implicit flow.
    let (page, state) = consent(
        &s,
        &[
            ("idp_identifier", "corp.example"),
            ("response_type", "token"),
            ("code_challenge", ""),
            ("code_challenge_method", ""),
        ],
    )
    .await;
    assert!(page.body.contains("Sign in with CorpOIDC"));
    let r = post_form(
        &s.addr,
        "/oauth2/idpresponse",
        &[("state", &state), ("subject", "u-9"), ("email", ""), ("action", "continue")],
        &[],
    )
    .await;
    let p = r.location_params();
    let id = claims_of(&p["id_token"]);
    assert_eq!(id["cognito:username"], "CorpOIDC_u-9");
    assert_eq!(id["identities"][0]["providerType"], "OIDC");
    assert_eq!(id["identities"][0]["issuer"], "https://corp.example");
    s.pool.stop().await;
}

#[tokio::test]
async fn the_mock_identity_provider_cancels_and_refuses() {
    let s = setup().await;
    with_providers(&s);
    // Cancel: access_denied to the app, and the request is used up.
    let (_, state) = consent(&s, &[("identity_provider", "Google")]).await;
    let r = post_form(&s.addr, "/oauth2/idpresponse", &[("state", &state), ("action", "cancel")], &[]).await;
    assert_eq!(r.status, 302);
    let p = r.location_params();
    assert_eq!((p["error"].as_str(), p["state"].as_str()), ("access_denied", "st-123"));
    assert!(!p.contains_key("code"));
    let replay =
        post_form(&s.addr, "/oauth2/idpresponse", &[("state", &state), ("subject", "1"), ("action", "continue")], &[])
            .await;
    assert_eq!(replay.status, 400);
    assert!(replay.header("location").is_none());

    // A bad subject shows the page again.
    let (_, state) = consent(&s, &[("identity_provider", "Google")]).await;
    let r = post_form(
        &s.addr,
        "/oauth2/idpresponse",
        &[("state", &state), ("subject", "has space"), ("action", "continue")],
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("role=\"alert\""));

    // The page needs a pending request of that provider.
    let r = get(&s.addr, &format!("/_local-pool/idp/Facebook/authorize?state={state}")).await;
    assert_eq!(r.status, 400);
    assert!(get(&s.addr, "/_local-pool/idp/Google/authorize?state=forged").await.status == 400);

    // Unknown, or registered but not enabled for the client: Cognito's refusal.
    for provider in ["Nope", "Facebook"] {
        let r = get(&s.addr, &authorize_target(&s.client_id, &[("identity_provider", provider)])).await;
        assert_eq!(r.status, 302, "{provider}");
        let p = r.location_params();
        assert_eq!(p["error"], "invalid_request", "{provider}");
        assert_eq!(p["error_description"], "Login option is not available. Please try another one");
    }
    let r = get(&s.addr, &authorize_target(&s.client_id, &[("idp_identifier", "other.example")])).await;
    assert_eq!(r.location_params()["error"], "invalid_request");
    s.pool.stop().await;
}

#[tokio::test]
async fn identity_providers_are_managed_like_cognito() {
    let s = setup().await;
    with_providers(&s);
    let engine = s.pool.engine();
    let d = engine
        .call::<op::DescribeIdentityProvider>(idp::DescribeIdentityProviderRequest {
            user_pool_id: s.pool_id.clone(),
            provider_name: "CorpOIDC".into(),
            ..Default::default()
        })
        .unwrap()
        .identity_provider;
    assert_eq!(d.provider_type, Some(idp::IdentityProviderTypeType::Oidc));
    assert_eq!(d.idp_identifiers, Some(vec!["corp.example".to_owned()]));
    let by_id = engine
        .call::<op::GetIdentityProviderByIdentifier>(idp::GetIdentityProviderByIdentifierRequest {
            user_pool_id: s.pool_id.clone(),
            idp_identifier: "corp.example".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_id.identity_provider.provider_name.as_deref(), Some("CorpOIDC"));
    let list = engine
        .call::<op::ListIdentityProviders>(idp::ListIdentityProvidersRequest {
            user_pool_id: s.pool_id.clone(),
            ..Default::default()
        })
        .unwrap();
    let names: Vec<_> = list.providers.iter().filter_map(|p| p.provider_name.clone()).collect();
    assert_eq!(names, ["CorpOIDC", "Facebook", "Google"]);

    let duplicate = s.pool.create_identity_provider(&s.pool_id, "Google", "Google").unwrap_err();
    assert_eq!(duplicate.code.as_str(), "DuplicateProviderException");
    let misnamed = s.pool.create_identity_provider(&s.pool_id, "Gmail", "Google").unwrap_err();
    assert_eq!(misnamed.code.as_str(), "InvalidParameterException");
    let oidc_without_issuer = engine
        .call::<op::CreateIdentityProvider>(idp::CreateIdentityProviderRequest {
            user_pool_id: s.pool_id.clone(),
            provider_name: "Bare".into(),
            provider_type: idp::IdentityProviderTypeType::Oidc,
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(oidc_without_issuer.code.as_str(), "InvalidParameterException");

    engine
        .call::<op::DeleteIdentityProvider>(idp::DeleteIdentityProviderRequest {
            user_pool_id: s.pool_id.clone(),
            provider_name: "Facebook".into(),
            ..Default::default()
        })
        .unwrap();
    let gone = engine
        .call::<op::DescribeIdentityProvider>(idp::DescribeIdentityProviderRequest {
            user_pool_id: s.pool_id.clone(),
            provider_name: "Facebook".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(gone.code.as_str(), "ResourceNotFoundException");
    s.pool.stop().await;
}

#[tokio::test]
async fn the_sign_in_page_offers_the_clients_federated_providers() {
    let s = setup().await;
    // Without providers, none is offered.
    let plain = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    assert!(!plain.body.contains("Continue with"));
    with_providers(&s);
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    assert_eq!(page.status, 200);
    let id = request_id(&page.body);
    let google = format!("href=\"/_local-pool/idp/Google/authorize?state={id}\">Continue with Google</a>");
    assert!(page.body.contains(&google), "{}", page.body);
    assert!(page.body.contains("Continue with CorpOIDC"));
    // Registered but not supported by the client: not offered, not allowed.
    assert!(!page.body.contains("Facebook"));
    assert_eq!(get(&s.addr, &format!("/_local-pool/idp/Facebook/authorize?state={id}")).await.status, 400);

    // Following the link: the consent page, then a code for the federated user.
    let consent = get(&s.addr, &format!("/_local-pool/idp/Google/authorize?state={id}")).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let r = post_form(
        &s.addr,
        "/oauth2/idpresponse",
        &[("state", &id), ("subject", "777"), ("email", "x@example.com"), ("action", "continue")],
        &[],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await.json();
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["cognito:username"], "Google_777");
    s.pool.stop().await;
}

#[tokio::test]
async fn providers_and_hosted_ui_settings_come_from_the_config_file() {
    let file = std::env::temp_dir().join(format!("local-pool-oauth-config-{}.json", std::process::id()));
    let config = serde_json::json!({"pools": [{
        "name": "from-file",
        "identity_providers": [
            {"name": "Google", "type": "Google"},
            {"name": "CorpOIDC", "type": "OIDC", "details": {"oidc_issuer": "https://corp.example"}, "identifiers": ["corp.example"]}
        ],
        "clients": [{"name": "web", "oauth": {
            "callback_urls": [CALLBACK], "logout_urls": [LOGOUT], "providers": ["COGNITO", "Google", "CorpOIDC"]
        }}],
        "users": [{"username": "alice", "password": PW}]
    }]});
    std::fs::write(&file, config.to_string()).unwrap();
    let pool =
        LocalPool::start_with(local_pool::Options { config: Some(file.clone()), ..Default::default() }).await.unwrap();
    std::fs::remove_file(&file).ok();
    let engine = pool.engine();
    let pools =
        engine.call::<op::ListUserPools>(idp::ListUserPoolsRequest { max_results: 10, ..Default::default() }).unwrap();
    let pool_id = pools.user_pools.unwrap()[0].id.clone().unwrap();
    let clients = engine
        .call::<op::ListUserPoolClients>(idp::ListUserPoolClientsRequest {
            user_pool_id: pool_id.clone(),
            ..Default::default()
        })
        .unwrap();
    let client_id = clients.user_pool_clients.unwrap()[0].client_id.clone().unwrap().expose().clone();
    let addr = pool.endpoint().trim_start_matches("http://").to_owned();
    let s = Setup { pool, addr, pool_id, client_id };

    // The password path with the file's client settings (code flow, openid email profile).
    let r = sign_in(&s, &[("scope", "")], PW).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await.json();
    assert_eq!(claims_of(tokens["access_token"].as_str().unwrap())["scope"], "openid email profile");
    // Federated, by identifier.
    let (_, state) = consent(&s, &[("idp_identifier", "corp.example")]).await;
    let r =
        post_form(&s.addr, "/oauth2/idpresponse", &[("state", &state), ("subject", "z1"), ("action", "continue")], &[])
            .await;
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await.json();
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["cognito:username"], "CorpOIDC_z1");
    s.pool.stop().await;
}

/// The `name=value` of the hosted-UI session cookie a reply sets.
fn session_cookie_of(r: &Reply, pool_id: &str) -> (String, String) {
    let name = format!("cognito-{pool_id}=");
    let set = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.clone())
        .find(|v| v.starts_with(&name))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", r.headers));
    let pair = set.split(';').next().unwrap().to_owned();
    (pair, set)
}

async fn get_with_cookie(addr: &str, target: &str, cookie: &str) -> Reply {
    http(addr, "GET", target, &[("Cookie", cookie)], "").await
}

#[tokio::test]
async fn the_hosted_ui_session_skips_the_page_until_logout() {
    let s = setup().await;
    let first = sign_in(&s, &[], PW).await;
    assert_eq!(first.status, 302);
    let (cookie, set) = session_cookie_of(&first, &s.pool_id);
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=3600"] {
        assert!(set.contains(attribute), "{set}");
    }
    let first_tokens = exchange(&s, &first.location_params()["code"], VERIFIER).await.json();
    let first_auth = claims_of(first_tokens["id_token"].as_str().unwrap())["auth_time"].clone();

    // Later, with the cookie: straight back with a code, no page.
    s.pool.engine().advance_clock(120);
    let again = get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[("state", "st-2")]), &cookie).await;
    assert_eq!(again.status, 302, "{}", again.body);
    let p = again.location_params();
    assert_eq!(p["state"], "st-2");
    let tokens = exchange(&s, &p["code"], VERIFIER).await.json();
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["cognito:username"], "alice");
    assert_eq!(id["auth_time"], first_auth, "auth_time is the sign-in's, not the reuse's");
    // The implicit flow uses the session too.
    let implicit = get_with_cookie(
        &s.addr,
        &authorize_target(
            &s.client_id,
            &[("response_type", "token"), ("code_challenge", ""), ("code_challenge_method", "")],
        ),
        &cookie,
    )
    .await;
    assert_eq!(implicit.status, 302, "{}", implicit.body);
    assert!(implicit.location_params().contains_key("access_token"));

    // Without the cookie, or with an unknown one: the page.
    assert_eq!(get(&s.addr, &authorize_target(&s.client_id, &[])).await.status, 200);
    let forged = format!("cognito-{}=not-a-session", s.pool_id);
    assert_eq!(get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[]), &forged).await.status, 200);
    // prompt=login and select_account ask again despite the session.
    for prompt in ["login", "select_account"] {
        let r = get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[("prompt", prompt)]), &cookie).await;
        assert_eq!(r.status, 200, "prompt={prompt}");
        assert!(r.body.contains("name=\"password\""));
    }
    // prompt=none answers from the session, or with login_required.
    let none = get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[("prompt", "none")]), &cookie).await;
    assert_eq!(none.status, 302);
    assert!(none.location_params().contains_key("code"));
    let none = get(&s.addr, &authorize_target(&s.client_id, &[("prompt", "none")])).await;
    assert_eq!(none.location_params()["error"], "login_required");

    // /logout ends the session: the cookie is cleared, and the old value
    // no longer works either.
    let out = get_with_cookie(
        &s.addr,
        &format!("/logout?{}", form(&[("client_id", &s.client_id), ("logout_uri", LOGOUT)])),
        &cookie,
    )
    .await;
    assert_eq!(out.status, 302);
    assert_eq!(out.header("location"), Some(LOGOUT));
    let (cleared, set) = session_cookie_of(&out, &s.pool_id);
    assert_eq!(cleared, format!("cognito-{}=", s.pool_id));
    assert!(set.contains("Max-Age=0"), "{set}");
    let after = get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[]), &cookie).await;
    assert_eq!(after.status, 200, "the old session id is gone server-side");
    let none = get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[("prompt", "none")]), &cookie).await;
    assert_eq!(none.location_params()["error"], "login_required");
    s.pool.stop().await;
}

#[tokio::test]
async fn the_hosted_ui_session_lasts_an_hour_of_the_engines_clock() {
    let s = setup().await;
    let (cookie, _) = session_cookie_of(&sign_in(&s, &[], PW).await, &s.pool_id);
    let target = authorize_target(&s.client_id, &[]);
    // Using the session renews it (as Cognito renews its cookie).
    s.pool.engine().advance_clock(3000);
    assert_eq!(get_with_cookie(&s.addr, &target, &cookie).await.status, 302);
    s.pool.engine().advance_clock(3000);
    assert_eq!(get_with_cookie(&s.addr, &target, &cookie).await.status, 302);
    // An hour without use: over.
    s.pool.engine().advance_clock(3601);
    let r = get_with_cookie(&s.addr, &target, &cookie).await;
    assert_eq!(r.status, 200, "expired session still used: {:?}", r.header("location"));

    // A disabled user's session no longer signs in.
    let (cookie, _) = session_cookie_of(&sign_in(&s, &[], PW).await, &s.pool_id);
    s.pool
        .engine()
        .call::<op::AdminDisableUser>(idp::AdminDisableUserRequest {
            user_pool_id: s.pool_id.clone(),
            username: "alice".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(get_with_cookie(&s.addr, &target, &cookie).await.status, 200);
    s.pool.stop().await;
}

#[tokio::test]
async fn a_federated_sign_in_starts_a_hosted_ui_session_too() {
    let s = setup().await;
    with_providers(&s);
    let (_, state) = consent(&s, &[("identity_provider", "Google")]).await;
    let r = post_form(
        &s.addr,
        "/oauth2/idpresponse",
        &[("state", &state), ("subject", "777"), ("email", "fed@example.com"), ("action", "continue")],
        &[],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (cookie, _) = session_cookie_of(&r, &s.pool_id);
    let again = get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[]), &cookie).await;
    assert_eq!(again.status, 302, "{}", again.body);
    let tokens = exchange(&s, &again.location_params()["code"], VERIFIER).await.json();
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["cognito:username"], "Google_777");
    // Naming the provider again goes to the provider, session or not.
    let named =
        get_with_cookie(&s.addr, &authorize_target(&s.client_id, &[("identity_provider", "Google")]), &cookie).await;
    assert!(named.header("location").unwrap().starts_with("/_local-pool/idp/Google/"));
    s.pool.stop().await;
}

#[tokio::test]
async fn user_pool_api_calls_need_the_admin_scope() {
    let s = setup().await;
    let e = s.pool.engine();
    // A hosted-UI access token without aws.cognito.signin.user.admin.
    let r = sign_in(&s, &[("scope", "openid email")], PW).await;
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await.json();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&token)["scope"], "openid email");
    let t = || cognito_wire::Sensitive::new(token.clone());
    let refusals: Vec<(&str, Result<(), local_pool::Fail>)> = vec![
        ("GetUser", e.call::<op::GetUser>(idp::GetUserRequest { access_token: t(), ..Default::default() }).map(drop)),
        (
            "UpdateUserAttributes",
            e.call::<op::UpdateUserAttributes>(idp::UpdateUserAttributesRequest {
                access_token: t(),
                user_attributes: vec![idp::AttributeType {
                    name: "name".into(),
                    value: Some("Alice".to_owned().into()),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .map(drop),
        ),
        (
            "ChangePassword",
            e.call::<op::ChangePassword>(idp::ChangePasswordRequest {
                access_token: t(),
                previous_password: Some(cognito_wire::Sensitive::new(PW.to_owned())),
                proposed_password: cognito_wire::Sensitive::new("Another-Horse-2".to_owned()),
                ..Default::default()
            })
            .map(drop),
        ),
        (
            "ListDevices",
            e.call::<op::ListDevices>(idp::ListDevicesRequest { access_token: t(), ..Default::default() }).map(drop),
        ),
        (
            "AssociateSoftwareToken",
            e.call::<op::AssociateSoftwareToken>(idp::AssociateSoftwareTokenRequest {
                access_token: Some(t()),
                ..Default::default()
            })
            .map(drop),
        ),
        (
            "GlobalSignOut",
            e.call::<op::GlobalSignOut>(idp::GlobalSignOutRequest { access_token: t(), ..Default::default() })
                .map(drop),
        ),
        (
            "DeleteUser",
            e.call::<op::DeleteUser>(idp::DeleteUserRequest { access_token: t(), ..Default::default() }).map(drop),
        ),
    ];
    for (name, outcome) in refusals {
        let fail = outcome.expect_err(name);
        assert_eq!(fail.code.as_str(), "NotAuthorizedException", "{name}");
        assert_eq!(fail.message, "Access Token does not have required scopes", "{name}");
    }
    // The user is still there, and the password unchanged.
    let again = sign_in(&s, &[("scope", "openid aws.cognito.signin.user.admin")], PW).await;
    assert_eq!(again.status, 302, "{}", again.body);
    // userInfo needs no admin scope.
    let info = http(&s.addr, "GET", "/oauth2/userInfo", &[("Authorization", &format!("Bearer {token}"))], "").await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.json()["username"], "alice");
    // With the scope granted, the same token kind works.
    let tokens = exchange(&s, &again.location_params()["code"], VERIFIER).await.json();
    let admin = tokens["access_token"].as_str().unwrap().to_owned();
    let user = e
        .call::<op::GetUser>(idp::GetUserRequest {
            access_token: cognito_wire::Sensitive::new(admin),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(user.username.expose(), "alice");
    s.pool.stop().await;
}

/// The value of the hidden `name` field in a page.
fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    page[start..].split('"').next().map(str::to_owned)
}

#[tokio::test]
async fn sign_up_from_the_page_then_confirm_completes_the_request() {
    let s = setup().await;
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    // The sign-in page links to sign-up on the same request.
    let link = format!("href=\"/signup?request={}\"", encode(&id));
    assert!(page.body.contains(&link), "{}", page.body);
    let signup = get(&s.addr, &format!("/signup?request={}", encode(&id))).await;
    assert_eq!(signup.status, 200, "{}", signup.body);
    assert!(signup.body.contains("<h1>Sign up</h1>") && signup.body.contains("<label for=\"email\">"));
    assert_eq!(hidden(&signup.body, "request").as_deref(), Some(id.as_str()));
    let confirm = post_form(
        &s.addr,
        "/signup",
        &[("request", &id), ("username", "carol"), ("email", "carol@example.com"), ("password", PW)],
        &[],
    )
    .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Confirm your account"), "{}", confirm.body);
    // The code went to the outbox, as with the SignUp operation.
    assert!(s.pool.last_code(&s.pool_id, "carol").is_some(), "a confirmation code");
    // A wrong code is refused with the engine's message; resend sends a new code.
    let wrong =
        post_form(&s.addr, "/confirm", &[("request", &id), ("code", "000000x"), ("action", "confirm")], &[]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("Invalid verification code provided"), "{}", wrong.body);
    let resent = post_form(&s.addr, "/confirm", &[("request", &id), ("code", ""), ("action", "resend")], &[]).await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert!(resent.body.contains("A new code has been sent"));
    assert_eq!(s.pool.outbox(Some(&s.pool_id), Some("carol")).len(), 2);
    let code = s.pool.last_code(&s.pool_id, "carol").unwrap();
    let done = post_form(&s.addr, "/confirm", &[("request", &id), ("code", &code), ("action", "confirm")], &[]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done.header("location").unwrap().starts_with(CALLBACK));
    assert!(done.header("set-cookie").is_some(), "a hosted-UI session starts");
    let params = done.location_params();
    assert_eq!(params.get("state").map(String::as_str), Some("st-123"));
    let tokens = exchange(&s, &params["code"], VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let id_token = tokens.json()["id_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&id_token);
    assert_eq!(claims["cognito:username"], "carol");
    assert_eq!(claims["email_verified"], true);
    // The request is used up.
    let again = post_form(&s.addr, "/confirm", &[("request", &id), ("code", &code), ("action", "confirm")], &[]).await;
    assert_eq!(again.status, 400);
    s.pool.stop().await;
}

#[tokio::test]
async fn sign_up_errors_are_shown_on_the_page_and_escaped() {
    let s = setup().await;
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    let weak = post_form(
        &s.addr,
        "/signup",
        &[("request", &id), ("username", "dave<b>"), ("email", "d@example.com"), ("password", "short")],
        &[],
    )
    .await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("Password did not conform with policy"), "{}", weak.body);
    assert!(weak.body.contains("value=\"dave&lt;b&gt;\"") && !weak.body.contains("dave<b>"));
    assert!(s.pool.outbox(Some(&s.pool_id), None).iter().all(|m| m.username != "dave<b>"));
    let taken = post_form(
        &s.addr,
        "/signup",
        &[("request", &id), ("username", "alice"), ("email", "a2@example.com"), ("password", PW)],
        &[],
    )
    .await;
    assert_eq!(taken.status, 400);
    assert!(taken.body.contains("User already exists"), "{}", taken.body);
    // Confirming without having signed up on this request is refused.
    let r = post_form(&s.addr, "/confirm", &[("request", &id), ("code", "123456"), ("action", "confirm")], &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    s.pool.stop().await;
}

/// Turns on optional TOTP MFA for the pool and enrols alice; returns her secret.
async fn enrol_totp(s: &Setup) -> String {
    s.pool
        .engine()
        .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
            user_pool_id: s.pool_id.clone(),
            mfa_configuration: Some(idp::UserPoolMfaType::Optional),
            software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                enabled: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    let r = sign_in(s, &[("scope", "openid aws.cognito.signin.user.admin")], PW).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let tokens = exchange(s, &r.location_params()["code"], VERIFIER).await;
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let engine = s.pool.engine();
    let secret = engine
        .call::<op::AssociateSoftwareToken>(idp::AssociateSoftwareTokenRequest {
            access_token: Some(access.as_str().into()),
            ..Default::default()
        })
        .unwrap()
        .secret_code
        .unwrap()
        .expose()
        .clone();
    let code = local_pool::current_totp(&secret, engine.now()).unwrap();
    engine
        .call::<op::VerifySoftwareToken>(idp::VerifySoftwareTokenRequest {
            access_token: Some(access.as_str().into()),
            user_code: code.into(),
            ..Default::default()
        })
        .unwrap();
    secret
}

#[tokio::test]
async fn totp_mfa_on_the_page_with_a_wrong_code_then_the_right_one() {
    let s = setup().await;
    let secret = enrol_totp(&s).await;
    let r = sign_in(&s, &[], PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("authenticator app") && r.body.contains("action=\"/mfa\""), "{}", r.body);
    assert!(r.header("location").is_none() && r.header("set-cookie").is_none());
    let id = hidden(&r.body, "request").unwrap();
    let wrong = post_form(&s.addr, "/mfa", &[("request", &id), ("code", "000000x")], &[]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("Invalid code received for user"), "{}", wrong.body);
    assert!(wrong.header("location").is_none());
    let code = local_pool::current_totp(&secret, s.pool.engine().now()).unwrap();
    let done = post_form(&s.addr, "/mfa", &[("request", &id), ("code", &code)], &[]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done.header("set-cookie").is_some());
    let tokens = exchange(&s, &done.location_params()["code"], VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(claims_of(tokens.json()["id_token"].as_str().unwrap())["cognito:username"], "alice");
    // The request is used up: the code cannot be replayed.
    let replay = post_form(&s.addr, "/mfa", &[("request", &id), ("code", &code)], &[]).await;
    assert_eq!(replay.status, 400);
    s.pool.stop().await;
}

#[tokio::test]
async fn repeated_wrong_mfa_codes_send_the_user_back_to_sign_in() {
    let s = setup().await;
    enrol_totp(&s).await;
    let r = sign_in(&s, &[], PW).await;
    let id = hidden(&r.body, "request").unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(post_form(&s.addr, "/mfa", &[("request", &id), ("code", "000000x")], &[]).await);
    }
    let last = last.unwrap();
    assert!(last.body.contains("Too many invalid codes") && last.body.contains("action=\"/login\""), "{}", last.body);
    s.pool.stop().await;
}

#[tokio::test]
async fn email_mfa_code_from_the_outbox_completes_the_page() {
    let s = setup().await;
    s.pool
        .engine()
        .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
            user_pool_id: s.pool_id.clone(),
            mfa_configuration: Some(idp::UserPoolMfaType::Optional),
            email_mfa_configuration: Some(Default::default()),
            ..Default::default()
        })
        .unwrap();
    s.pool
        .engine()
        .call::<op::AdminSetUserMFAPreference>(idp::AdminSetUserMFAPreferenceRequest {
            user_pool_id: s.pool_id.clone(),
            username: "alice".into(),
            email_mfa_settings: Some(idp::EmailMfaSettingsType { enabled: Some(true), ..Default::default() }),
            ..Default::default()
        })
        .unwrap();
    let before = s.pool.outbox(Some(&s.pool_id), Some("alice")).len();
    let r = sign_in(&s, &[], PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("sent you by email"), "{}", r.body);
    let sent = s.pool.outbox(Some(&s.pool_id), Some("alice"));
    assert_eq!(sent.len(), before + 1, "the code went to the outbox");
    let id = hidden(&r.body, "request").unwrap();
    let code = sent.last().unwrap().code.clone();
    let done = post_form(&s.addr, "/mfa", &[("request", &id), ("code", &code)], &[]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    let tokens = exchange(&s, &done.location_params()["code"], VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    s.pool.stop().await;
}

#[tokio::test]
async fn sign_up_works_for_clients_with_secrets_and_links_back_to_sign_in() {
    let (s, secret) = setup_with(true, &[OAuthFlowType::Code]).await;
    assert!(secret.is_some());
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    let signup = get(&s.addr, &format!("/signup?request={}", encode(&id))).await;
    let back = format!("href=\"/login?request={}\"", encode(&id));
    assert!(signup.body.contains(&back), "{}", signup.body);
    let again = get(&s.addr, &format!("/login?request={}", encode(&id))).await;
    assert_eq!(again.status, 200);
    assert_eq!(request_id(&again.body), id);
    let confirm = post_form(
        &s.addr,
        "/signup",
        &[("request", &id), ("username", "frank"), ("email", "frank@example.com"), ("password", PW)],
        &[],
    )
    .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let code = s.pool.last_code(&s.pool_id, "frank").unwrap();
    let done = post_form(&s.addr, "/confirm", &[("request", &id), ("code", &code), ("action", "confirm")], &[]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done.location_params().contains_key("code"));
    // An unknown request id shows the expired page.
    let unknown = get(&s.addr, "/signup?request=nope").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("expired or is unknown"));
    s.pool.stop().await;
}

#[tokio::test]
async fn a_confirmed_sign_up_still_meets_required_mfa() {
    let s = setup().await;
    set_mfa(&s, idp::UserPoolMfaType::On);
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    let form = [("request", id.as_str()), ("username", "gina"), ("email", "gina@example.com"), ("password", PW)];
    assert_eq!(post_form(&s.addr, "/signup", &form, &[]).await.status, 200);
    let code = s.pool.last_code(&s.pool_id, "gina").unwrap();
    let r = post_form(&s.addr, "/confirm", &[("request", &id), ("code", &code), ("action", "confirm")], &[]).await;
    assert_eq!(r.status, 200, "no code for the app without MFA: {:?}", r.header("location"));
    assert!(r.header("location").is_none() && r.header("set-cookie").is_none());
    assert!(r.body.contains("<h1>Set up an authenticator app</h1>"), "{}", r.body);
    s.pool.stop().await;
}

/// Posts the sign-in form of a fresh authorize request for `username`.
async fn login_as(s: &Setup, username: &str, password: &str) -> (String, Reply) {
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    let r =
        post_form(&s.addr, "/login", &[("request", &id), ("username", username), ("password", password)], &[]).await;
    (id, r)
}

const NEW_PW: &str = "Brand-New-Horse-2";

#[tokio::test]
async fn forgot_password_from_the_page_then_sign_in_with_the_new_one() {
    let s = setup().await;
    s.pool.create_user(&s.pool_id, "dana", PW, &[("email", "dana@example.com"), ("email_verified", "true")]).unwrap();
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    let link = format!("href=\"/forgotPassword?request={}\"", encode(&id));
    assert!(page.body.contains(&link) && page.body.contains("Forgot your password?"), "{}", page.body);
    let forgot = get(&s.addr, &format!("/forgotPassword?request={}", encode(&id))).await;
    assert_eq!(forgot.status, 200, "{}", forgot.body);
    assert!(forgot.body.contains("<h1>Forgot your password?</h1>"), "{}", forgot.body);

    // An unknown user: the engine's message, on the same page.
    let unknown = post_form(&s.addr, "/forgotPassword", &[("request", &id), ("username", "nobody")], &[]).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("Username/client id combination not found."), "{}", unknown.body);
    // Nothing to reset before a code was asked for on this request.
    let early = post_form(
        &s.addr,
        "/confirmForgotPassword",
        &[("request", &id), ("code", "123456"), ("password", NEW_PW), ("password2", NEW_PW)],
        &[],
    )
    .await;
    assert_eq!(early.status, 400);
    assert!(early.body.contains("expired"), "{}", early.body);

    let reset = post_form(&s.addr, "/forgotPassword", &[("request", &id), ("username", "dana")], &[]).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(reset.body.contains("<h1>Reset your password</h1>") && reset.body.contains("d***@e***"), "{}", reset.body);
    let first = s.pool.last_code(&s.pool_id, "dana").expect("a reset code in the outbox");
    let confirm = |code: String, password: &'static str, again: &'static str| {
        let id = id.clone();
        let addr = s.addr.clone();
        async move {
            post_form(
                &addr,
                "/confirmForgotPassword",
                &[("request", &id), ("code", &code), ("password", password), ("password2", again), ("action", "reset")],
                &[],
            )
            .await
        }
    };
    let r = confirm("000000".into(), NEW_PW, NEW_PW).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Invalid verification code provided"), "{}", r.body);
    let r = confirm(first.clone(), NEW_PW, "Something-Else-3").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("The passwords do not match."), "{}", r.body);
    let r = confirm(first.clone(), "short", "short").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Password must have length greater than or equal to 8"), "{}", r.body);
    // Another code; the new one works.
    let resent = post_form(&s.addr, "/confirmForgotPassword", &[("request", &id), ("action", "resend")], &[]).await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert!(resent.body.contains("A new code has been sent."));
    let second = s.pool.last_code(&s.pool_id, "dana").unwrap();
    let done = confirm(second, NEW_PW, NEW_PW).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("<h1>Sign in</h1>") && done.body.contains("Your password has been reset."),
        "{}",
        done.body
    );
    assert_eq!(hidden(&done.body, "request").as_deref(), Some(id.as_str()), "the same authorize request goes on");

    // The old password no longer works; the new one ends the request.
    let old = post_form(&s.addr, "/login", &[("request", &id), ("username", "dana"), ("password", PW)], &[]).await;
    assert_eq!(old.status, 400);
    assert!(old.body.contains("Incorrect username or password."));
    let r = post_form(&s.addr, "/login", &[("request", &id), ("username", "dana"), ("password", NEW_PW)], &[]).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await;
    assert_eq!(claims_of(tokens.json()["id_token"].as_str().unwrap())["cognito:username"], "dana");
    s.pool.stop().await;
}

#[tokio::test]
async fn a_user_whose_password_must_be_reset_gets_a_code_and_the_reset_page() {
    let s = setup().await;
    s.pool.create_user(&s.pool_id, "eve", PW, &[("email", "eve@example.com"), ("email_verified", "true")]).unwrap();
    s.pool
        .engine()
        .call::<op::AdminResetUserPassword>(idp::AdminResetUserPasswordRequest {
            user_pool_id: s.pool_id.clone(),
            username: "eve".into(),
            ..Default::default()
        })
        .unwrap();
    let sent = s.pool.outbox(Some(&s.pool_id), Some("eve")).len();
    let (id, r) = login_as(&s, "eve", PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<h1>Reset your password</h1>"), "{}", r.body);
    assert!(r.body.contains("Your password must be reset before you sign in."), "{}", r.body);
    assert_eq!(s.pool.outbox(Some(&s.pool_id), Some("eve")).len(), sent + 1, "a new code was sent");
    let code = s.pool.last_code(&s.pool_id, "eve").unwrap();
    let done = post_form(
        &s.addr,
        "/confirmForgotPassword",
        &[("request", &id), ("code", &code), ("password", NEW_PW), ("password2", NEW_PW), ("action", "reset")],
        &[],
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let r = post_form(&s.addr, "/login", &[("request", &id), ("username", "eve"), ("password", NEW_PW)], &[]).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(r.header("location").unwrap().starts_with(CALLBACK));
    s.pool.stop().await;
}

#[tokio::test]
async fn a_temporary_password_leads_to_the_new_password_page() {
    let s = setup().await;
    s.pool.create_user_with_temporary_password(&s.pool_id, "finn", "Temp-Pass-123", &[]).unwrap();
    let (id, r) = login_as(&s, "finn", "Temp-Pass-123").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<h1>Choose a new password</h1>"), "{}", r.body);
    assert!(!r.body.contains("attribute."), "no required attributes in this pool:\n{}", r.body);
    let post = |password: &'static str, again: &'static str| {
        let (addr, id) = (s.addr.clone(), id.clone());
        async move {
            post_form(&addr, "/newPassword", &[("request", &id), ("password", password), ("password2", again)], &[])
                .await
        }
    };
    let r = post(NEW_PW, "Different-Horse-4").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("The passwords do not match."), "{}", r.body);
    let r = post("short", "short").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Password must have length greater than or equal to 8"), "{}", r.body);
    let r = post(NEW_PW, NEW_PW).await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(r.header("set-cookie").is_some(), "a hosted-UI session starts");
    let tokens = exchange(&s, &r.location_params()["code"], VERIFIER).await;
    assert_eq!(claims_of(tokens.json()["id_token"].as_str().unwrap())["cognito:username"], "finn");
    let user = admin_get_user(&s, "finn");
    assert_eq!(user.user_status, Some(idp::UserStatusType::Confirmed));
    // The page is used up with the request.
    let again = post(NEW_PW, NEW_PW).await;
    assert_eq!(again.status, 400);
    // The temporary password is gone; the new one signs in.
    let (_, old) = login_as(&s, "finn", "Temp-Pass-123").await;
    assert_eq!(old.status, 400);
    let (_, new) = login_as(&s, "finn", NEW_PW).await;
    assert_eq!(new.status, 302, "{}", new.body);
    s.pool.stop().await;
}

/// A pool whose schema requires `name`, with a hosted-UI client.
async fn required_name_pool() -> Setup {
    let pool = LocalPool::start().await.unwrap();
    let engine = pool.engine();
    let pool_id = engine
        .call::<op::CreateUserPool>(idp::CreateUserPoolRequest {
            pool_name: "required-name".into(),
            schema: Some(vec![idp::SchemaAttributeType {
                name: Some("name".into()),
                attribute_data_type: Some(idp::AttributeDataType::String),
                required: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client_id = engine
        .call::<op::CreateUserPoolClient>(idp::CreateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_name: "web".into(),
            callback_ur_ls: Some(vec![CALLBACK.into()]),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::Code]),
            allowed_o_auth_scopes: Some(vec!["openid".into(), "email".into()]),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(vec!["COGNITO".into()]),
            ..Default::default()
        })
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap()
        .expose()
        .clone();
    let addr = pool.endpoint().trim_start_matches("http://").to_owned();
    Setup { pool, addr, pool_id, client_id }
}

/// A pool with a required `name`: the new-password page asks for it, and
/// refuses to go on without it.
#[tokio::test]
async fn the_new_password_page_asks_for_missing_required_attributes() {
    let s = required_name_pool().await;
    s.pool.create_user_with_temporary_password(&s.pool_id, "gus", "Temp-Pass-123", &[]).unwrap();
    let (id, r) = login_as(&s, "gus", "Temp-Pass-123").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<label for=\"attribute-0\">name</label>"), "{}", r.body);
    assert!(r.body.contains("name=\"attribute.name\""), "{}", r.body);
    let without =
        post_form(&s.addr, "/newPassword", &[("request", &id), ("password", NEW_PW), ("password2", NEW_PW)], &[]).await;
    assert_eq!(without.status, 400);
    assert!(without.body.contains("Enter a value for name."), "{}", without.body);
    let with = post_form(
        &s.addr,
        "/newPassword",
        &[("request", &id), ("password", NEW_PW), ("password2", NEW_PW), ("attribute.name", "Gus <G>")],
        &[],
    )
    .await;
    assert_eq!(with.status, 302, "{}", with.body);
    let user = admin_get_user(&s, "gus");
    assert_eq!(attribute(&user, "name").as_deref(), Some("Gus <G>"));
    s.pool.stop().await;
}

/// The secret shown on the set-up page (grouped by four for typing).
fn shown_secret(page: &str) -> String {
    let marker = "<code id=\"secret\">";
    let start = page.find(marker).expect("the secret") + marker.len();
    page[start..].split('<').next().unwrap().replace(' ', "")
}

/// The pool's MFA `mode`, offering TOTP and email codes.
fn set_mfa(s: &Setup, mode: idp::UserPoolMfaType) {
    s.pool
        .engine()
        .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
            user_pool_id: s.pool_id.clone(),
            mfa_configuration: Some(mode),
            software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                enabled: Some(true),
                ..Default::default()
            }),
            email_mfa_configuration: Some(Default::default()),
            ..Default::default()
        })
        .unwrap();
}

#[tokio::test]
async fn required_mfa_is_set_up_on_the_page_with_an_authenticator_app() {
    let s = setup().await;
    set_mfa(&s, idp::UserPoolMfaType::On);
    let r = sign_in(&s, &[], PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<h1>Set up an authenticator app</h1>"), "{}", r.body);
    let secret = shown_secret(&r.body);
    assert!(secret.len() >= 16, "{secret}");
    let uri = format!("otpauth://totp/hosted:alice?secret={secret}&amp;issuer=hosted");
    assert!(r.body.contains(&uri), "{}", r.body);
    assert!(r.body.contains("<svg id=\"qr\" role=\"img\" aria-label="), "a QR code, inline:\n{}", r.body);
    assert!(!r.body.contains("<?xml"), "{}", r.body);
    let id = hidden(&r.body, "request").unwrap();

    let wrong = post_form(&s.addr, "/mfaSetup", &[("request", &id), ("code", "000000x")], &[]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("Invalid code received for user"), "{}", wrong.body);
    assert_eq!(shown_secret(&wrong.body), secret, "the same key, to try again");
    let code = local_pool::current_totp(&secret, s.pool.engine().now()).unwrap();
    let done = post_form(&s.addr, "/mfaSetup", &[("request", &id), ("code", &code)], &[]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done.header("set-cookie").is_some());
    let tokens = exchange(&s, &done.location_params()["code"], VERIFIER).await;
    assert_eq!(claims_of(tokens.json()["id_token"].as_str().unwrap())["cognito:username"], "alice");
    let replay = post_form(&s.addr, "/mfaSetup", &[("request", &id), ("code", &code)], &[]).await;
    assert_eq!(replay.status, 400, "the request is used up");

    // The authenticator is now the user's factor: a new sign-in asks for its code.
    let user = admin_get_user(&s, "alice");
    assert_eq!(user.user_mfa_setting_list, Some(vec!["SOFTWARE_TOKEN_MFA".to_owned()]));
    let again = sign_in(&s, &[], PW).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("action=\"/mfa\"") && again.body.contains("authenticator app"), "{}", again.body);
    s.pool.stop().await;
}

#[tokio::test]
async fn repeated_wrong_set_up_codes_send_the_user_back_to_sign_in() {
    let s = setup().await;
    set_mfa(&s, idp::UserPoolMfaType::On);
    let r = sign_in(&s, &[], PW).await;
    let id = hidden(&r.body, "request").unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(post_form(&s.addr, "/mfaSetup", &[("request", &id), ("code", "000000x")], &[]).await);
    }
    let last = last.unwrap();
    assert!(last.body.contains("Too many invalid codes") && last.body.contains("action=\"/login\""), "{}", last.body);
    let user = admin_get_user(&s, "alice");
    assert_eq!(user.user_mfa_setting_list.unwrap_or_default(), Vec::<String>::new(), "nothing was set up");
    s.pool.stop().await;
}

#[tokio::test]
async fn several_factors_without_a_preference_are_offered_as_a_choice() {
    let s = setup().await;
    enrol_totp(&s).await;
    set_mfa(&s, idp::UserPoolMfaType::Optional);
    s.pool
        .engine()
        .call::<op::AdminSetUserMFAPreference>(idp::AdminSetUserMFAPreferenceRequest {
            user_pool_id: s.pool_id.clone(),
            username: "alice".into(),
            email_mfa_settings: Some(idp::EmailMfaSettingsType { enabled: Some(true), ..Default::default() }),
            software_token_mfa_settings: Some(idp::SoftwareTokenMfaSettingsType {
                enabled: Some(true),
                preferred_mfa: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    let r = sign_in(&s, &[], PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<h1>Choose how to verify</h1>"), "{}", r.body);
    assert!(r.body.contains("value=\"SOFTWARE_TOKEN_MFA\"") && r.body.contains("value=\"EMAIL_OTP\""), "{}", r.body);
    let id = hidden(&r.body, "request").unwrap();
    let bad = post_form(&s.addr, "/mfaSelect", &[("request", &id), ("factor", "SMS_MFA")], &[]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Choose one of the options."), "{}", bad.body);
    let before = s.pool.outbox(Some(&s.pool_id), Some("alice")).len();
    let chosen = post_form(&s.addr, "/mfaSelect", &[("request", &id), ("factor", "EMAIL_OTP")], &[]).await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert!(chosen.body.contains("sent you by email"), "{}", chosen.body);
    let sent = s.pool.outbox(Some(&s.pool_id), Some("alice"));
    assert_eq!(sent.len(), before + 1, "the code went to the outbox");
    let done = post_form(&s.addr, "/mfa", &[("request", &id), ("code", &sent.last().unwrap().code)], &[]).await;
    assert_eq!(done.status, 302, "{}", done.body);
    // The choice is used up with the request.
    let again = post_form(&s.addr, "/mfaSelect", &[("request", &id), ("factor", "EMAIL_OTP")], &[]).await;
    assert_eq!(again.status, 400);
    s.pool.stop().await;
}

/// The sign-up page asks for the pool's other required attributes too,
/// keeps what was typed after an error, and sends them with SignUp.
#[tokio::test]
async fn the_sign_up_page_asks_for_required_attributes() {
    let s = required_name_pool().await;
    let page = get(&s.addr, &authorize_target(&s.client_id, &[])).await;
    let id = request_id(&page.body);
    let signup = get(&s.addr, &format!("/signup?request={}", encode(&id))).await;
    assert_eq!(signup.status, 200, "{}", signup.body);
    assert!(signup.body.contains("<label for=\"attribute-0\">name</label>"), "{}", signup.body);
    let base = [("request", id.as_str()), ("username", "hal"), ("email", "hal@example.com"), ("password", PW)];
    let without = post_form(&s.addr, "/signup", &base, &[]).await;
    assert_eq!(without.status, 400);
    assert!(without.body.contains("Enter a value for name."), "{}", without.body);
    assert!(without.body.contains("value=\"hal@example.com\""), "what was typed stays:\n{}", without.body);
    let mut with = base.to_vec();
    with.push(("attribute.name", "Hal <9000>"));
    let confirm = post_form(&s.addr, "/signup", &with, &[]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Confirm your account"), "{}", confirm.body);
    let user = admin_get_user(&s, "hal");
    assert_eq!(attribute(&user, "name").as_deref(), Some("Hal <9000>"));
    s.pool.stop().await;
}

fn admin_get_user(s: &Setup, username: &str) -> idp::AdminGetUserResponse {
    s.pool
        .engine()
        .call::<op::AdminGetUser>(idp::AdminGetUserRequest {
            user_pool_id: s.pool_id.clone(),
            username: username.into(),
            ..Default::default()
        })
        .unwrap()
}

fn attribute(user: &idp::AdminGetUserResponse, name: &str) -> Option<String> {
    user.user_attributes
        .iter()
        .flatten()
        .find(|a| a.name == name)
        .and_then(|a| a.value.as_ref())
        .map(|v| v.expose().clone())
}
