//! Sign-in with redirect (OAuth 2.0 code flow with PKCE) against the local
//! pool's hosted UI, without a browser: the test plays the browser with raw
//! HTTP (fetches the sign-in page, posts the form, follows the redirect to
//! the client's loopback listener).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amplify_auth::config::OAuthConfig;
use amplify_auth::{Auth, AuthError, RedirectListener, SignInStep, SignInWithRedirectOptions};
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};
use common::{Env, Events, PW};
use hub_events::AuthEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
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

fn query_of(url: &str) -> BTreeMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned())) // values here are unreserved-only
        .collect()
}

/// One HTTP/1.1 exchange to an absolute `http://host:port/...` URL.
async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let mut stream = TcpStream::connect(authority).await.unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
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

/// Plays the browser: shows the page, posts the form, returns the redirect target.
async fn browser_sign_in(pool_url: &str, authorize_url: &str, username: &str, password: &str) -> Reply {
    let page = http("GET", authorize_url, &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = "name=\"request\" value=\"";
    let start = page.body.find(marker).expect("the sign-in form") + marker.len();
    let request = page.body[start..].split('"').next().unwrap().to_owned();
    let form = format!("request={}&username={}&password={}", encode(&request), encode(username), encode(password));
    http("POST", &format!("{pool_url}/login"), &[("Content-Type", "application/x-www-form-urlencoded")], &form).await
}

/// A pool whose client allows the code flow to `redirect`, and a client
/// configured for it. (UpdateUserPoolClient replaces every setting: the
/// sign-in flows `Env::new` gave the client are restated.)
fn oauth_client(env: &Env, redirect: &str) -> Auth {
    let flows = local_pool::ClientOptions::default().explicit_auth_flows;
    env.pool
        .engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: env.pool_id.clone(),
            client_id: env.client_id.as_str().into(),
            explicit_auth_flows: Some(flows.iter().map(|f| f.as_str().into()).collect()),
            callback_ur_ls: Some(vec![redirect.to_owned()]),
            logout_ur_ls: Some(vec![redirect.to_owned()]),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::Code]),
            allowed_o_auth_scopes: Some(["openid", "email", "profile"].map(String::from).to_vec()),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(vec!["COGNITO".into()]),
            ..Default::default()
        })
        .unwrap();
    env.pool.create_user(&env.pool_id, "alice", PW, &[("email", "alice@example.com")]).ok();
    let config = env
        .config()
        .oauth(OAuthConfig {
            domain: env.pool.endpoint(),
            scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
            redirect_sign_in: vec![redirect.to_owned()],
            redirect_sign_out: vec![redirect.to_owned()],
            response_type: "code".into(),
            providers: vec![],
        })
        .build()
        .unwrap();
    Auth::new(config).unwrap()
}

/// Records auth events with their data.
fn record(auth: &Auth) -> (Arc<Mutex<Vec<AuthEvent>>>, hub_events::ListenerHandle) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let handle = auth.hub().listen_auth(move |e: &AuthEvent| sink.lock().unwrap().push(e.clone()));
    (seen, handle)
}

#[tokio::test]
async fn full_code_flow_through_the_loopback_listener() {
    let env = Env::new().await;
    let listener = RedirectListener::bind(0).await.unwrap();
    let redirect = listener.redirect_uri("/callback");
    let auth = oauth_client(&env, &redirect);
    let events = Events::on(&auth);
    let (detailed, _handle) = record(&auth);

    let flow = auth
        .sign_in_with_redirect(SignInWithRedirectOptions {
            custom_state: Some("return-to=/home café".into()),
            login_hint: Some("alice".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let url = flow.url().to_owned();
    assert_eq!(flow.redirect_uri(), redirect);
    let q = query_of(&url);
    assert!(url.starts_with(&format!("{}/oauth2/authorize?", env.pool.endpoint())));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["identity_provider"], "COGNITO");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], env.client_id);
    assert_eq!(q["scope"], "openid%20email%20profile");
    let waiting = tokio::spawn(flow.complete_with_listener(listener, Duration::from_secs(20)));

    // The browser: the page, a wrong password, then the right one.
    let wrong = browser_sign_in(&env.pool.endpoint(), &url, "alice", "not-the-password").await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("Incorrect username or password."));
    let signed = browser_sign_in(&env.pool.endpoint(), &url, "alice", PW).await;
    assert_eq!(signed.status, 302, "{}", signed.body);
    let location = signed.header("location").unwrap().to_owned();
    assert!(location.starts_with(&redirect), "{location}");
    // A stray request (a favicon) does not end the wait.
    let stray = http("GET", &format!("{}/favicon.ico", redirect.trim_end_matches("/callback")), &[], "").await;
    assert_eq!(stray.status, 404);
    let landing = http("GET", &location, &[], "").await;
    assert_eq!(landing.status, 200);
    assert!(landing.body.contains("close this window"));

    let out = waiting.await.unwrap().unwrap();
    assert!(out.is_signed_in);
    assert_eq!(out.next_step, SignInStep::Done);

    let session = auth.fetch_auth_session(false).await.unwrap();
    let tokens = session.tokens.unwrap();
    assert_eq!(tokens.username, "alice");
    assert!(tokens.id_token.is_some());
    assert_eq!(auth.get_current_user().await.unwrap().username, "alice");
    // Stored like a password sign-in, with the refresh token: a forced
    // refresh goes through the session manager.
    assert!(auth.token_store().load().await.unwrap().unwrap().refresh_token.is_some());
    auth.fetch_auth_session(true).await.unwrap().tokens.unwrap();

    let seen = events.wait_for(&["customOAuthState", "signInWithRedirect", "signedIn"]).await;
    assert!(!seen.iter().any(|e| e == "signInWithRedirect_failure"), "{seen:?}");
    let custom = detailed.lock().unwrap().iter().find_map(|e| match e {
        AuthEvent::CustomOAuthState(s) => Some(s.clone()),
        _ => None,
    });
    assert_eq!(custom.as_deref(), Some("return-to=/home café"));

    // Signed in: another redirect sign-in is refused (without prompt).
    let again = auth.sign_in_with_redirect(Default::default()).await.unwrap_err();
    assert_eq!(again, AuthError::UserAlreadyAuthenticated);
    env.pool.stop().await;
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_ends_the_flow() {
    let env = Env::new().await;
    let redirect = "http://127.0.0.1:1/callback";
    let auth = oauth_client(&env, redirect);
    let events = Events::on(&auth);
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    // A real code, from a real sign-in, but with someone else's state.
    let signed = browser_sign_in(&env.pool.endpoint(), flow.url(), "alice", PW).await;
    let location = signed.header("location").unwrap();
    let code = query_of(location)["code"].clone();
    let err = flow.complete(&format!("{redirect}?code={code}&state=forged")).await.unwrap_err();
    assert_eq!(err.name(), "OAuthSignInException", "{err:?}");
    events.wait_for(&["signInWithRedirect_failure"]).await;
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
    assert!(!events.names().iter().any(|e| e == "signedIn"));
    env.pool.stop().await;
}

#[tokio::test]
async fn an_error_from_the_hosted_ui_ends_the_flow() {
    let env = Env::new().await;
    let redirect = "http://127.0.0.1:1/callback";
    let auth = oauth_client(&env, redirect);
    let events = Events::on(&auth);
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    let state = query_of(flow.url())["state"].clone();
    let err = flow
        .complete(&format!("{redirect}?error=access_denied&error_description=User%20denied&state={state}"))
        .await
        .unwrap_err();
    assert!(err.is_service("access_denied"), "{err:?}");
    assert!(err.to_string().contains("User denied"), "{err}");
    let seen = events.wait_for(&["signInWithRedirect_failure"]).await;
    assert_eq!(seen, ["signInWithRedirect_failure"]);

    // A code the token endpoint refuses (already used) fails the same way.
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    let state = query_of(flow.url())["state"].clone();
    let err = flow.complete(&format!("{redirect}?code=not-a-code&state={state}")).await.unwrap_err();
    assert!(err.is_service("invalid_grant"), "{err:?}");
    events.wait_for(&["signInWithRedirect_failure", "signInWithRedirect_failure"]).await;
    env.pool.stop().await;
}

#[tokio::test]
async fn the_listener_times_out_cleanly() {
    let env = Env::new().await;
    let listener = RedirectListener::bind(0).await.unwrap();
    let redirect = listener.redirect_uri("/callback");
    let auth = oauth_client(&env, &redirect);
    let events = Events::on(&auth);
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    // An idle connection that never sends a request does not stretch the wait.
    let port = redirect.trim_start_matches("http://127.0.0.1:").split('/').next().unwrap().to_owned();
    let _idle = TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
    let started = Instant::now();
    let err = flow.complete_with_listener(listener, Duration::from_millis(300)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
    events.wait_for(&["signInWithRedirect_failure"]).await;
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
    // The port is free again.
    RedirectListener::bind(port.parse().unwrap()).await.unwrap();
    env.pool.stop().await;
}

#[tokio::test]
async fn dropping_or_cancelling_a_flow_reports_a_cancellation() {
    let env = Env::new().await;
    let auth = oauth_client(&env, "myapp://callback");
    let events = Events::on(&auth);
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    assert_eq!(flow.redirect_uri(), "myapp://callback");
    flow.cancel();
    drop(auth.sign_in_with_redirect(Default::default()).await.unwrap());
    let seen = events.wait_for(&["signInWithRedirect_failure", "signInWithRedirect_failure"]).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    env.pool.stop().await;
}

#[tokio::test]
async fn redirect_sign_in_needs_oauth_configuration() {
    let env = Env::new().await;
    let auth = env.auth();
    let err = auth.sign_in_with_redirect(Default::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { field: "oauth", .. }), "{err:?}");
    env.pool.stop().await;
}

/// Signs in through the hosted UI (the test plays the browser).
async fn redirect_sign_in(env: &Env, auth: &Auth) {
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    let redirect = flow.redirect_uri().to_owned();
    let signed = browser_sign_in(&env.pool.endpoint(), flow.url(), "alice", PW).await;
    let location = signed.header("location").unwrap().to_owned();
    assert!(location.starts_with(&redirect), "{location}");
    flow.complete(&location).await.unwrap();
}

#[tokio::test]
async fn sign_out_after_a_hosted_ui_sign_in_yields_the_logout_url() {
    let env = Env::new().await;
    let redirect = "http://127.0.0.1:1/callback";
    let storage = Arc::new(token_store::MemoryStorage::new());
    let auth = Auth::builder(oauth_client(&env, redirect).config().clone())
        .storage(storage.clone())
        .layout(token_store::Layout::AmplifyCompat)
        .build()
        .unwrap();
    redirect_sign_in(&env, &auth).await;
    // Amplify's marker, under Amplify's key.
    let key = format!("CognitoIdentityServiceProvider.{}.alice.oauthMetadata", env.client_id);
    use token_store::KeyValueStorage as _;
    assert_eq!(storage.get(&key).await.unwrap().as_deref().map(String::as_str), Some("{\"oauthSignIn\":true}"));

    let out = auth.sign_out(false).await.unwrap();
    let url = out.oauth_sign_out_url.expect("a logout URL");
    assert_eq!(
        url,
        format!("{}/logout?client_id={}&logout_uri={}", env.pool.endpoint(), env.client_id, encode(redirect))
    );
    assert!(storage.get(&key).await.unwrap().is_none(), "the marker is cleared");
    // The hosted UI accepts it and sends the browser to the sign-out URL.
    let landed = http("GET", &url, &[], "").await;
    assert_eq!(landed.status, 302, "{}", landed.body);
    assert_eq!(landed.header("location"), Some(redirect));

    // A password sign-in is not a hosted-UI session: no URL.
    auth.sign_in("alice", Some(PW), Default::default()).await.unwrap();
    assert!(auth.sign_out(false).await.unwrap().oauth_sign_out_url.is_none());

    // sign_out_with_redirect hands the URL to the opener (native layout).
    let native = oauth_client(&env, redirect);
    redirect_sign_in(&env, &native).await;
    let opened = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = opened.clone();
    let out = native
        .sign_out_with_redirect(false, None, move |u: &str| {
            sink.lock().unwrap().push(u.to_owned());
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(opened.lock().unwrap().as_slice(), [out.oauth_sign_out_url.clone().unwrap()]);
    assert!(native.fetch_auth_session(false).await.unwrap().tokens.is_none());
    // Not from the hosted UI (signed out already): the opener is not called.
    let out = native.sign_out_with_redirect(false, None, |_: &str| panic!("no URL to open")).await.unwrap();
    assert!(out.oauth_sign_out_url.is_none());

    // A preferred URL must be configured; the opener's failure is reported.
    redirect_sign_in(&env, &native).await;
    let err = native.sign_out_with_redirect(false, Some("http://evil.example/"), |_: &str| Ok(())).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { field: "redirect_url", .. }), "{err:?}");
    assert!(native.fetch_auth_session(false).await.unwrap().tokens.is_some(), "still signed in");
    let err =
        native.sign_out_with_redirect(false, Some(redirect), |_: &str| Err("no browser".to_owned())).await.unwrap_err();
    assert!(err.is_service("OAuthSignOutException"), "{err:?}");
    assert!(native.fetch_auth_session(false).await.unwrap().tokens.is_none(), "local state cleared first");
    env.pool.stop().await;
}
