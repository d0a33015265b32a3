//! Sign-in with redirect in a real browser: `amplify-auth` starts the flow
//! and listens on a loopback redirect URI, headless Chromium (through
//! chromedriver) opens the local pool's hosted UI and fills it in like a
//! person, and the session that results is checked. Screenshots of the
//! sign-in page and the mock identity provider's consent page are saved
//! under `target/browser-artifacts/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amplify_auth::config::OAuthConfig;
use amplify_auth::{
    Auth, AuthConfig, AuthError, OAuthPrompt, OAuthProvider, RedirectListener, RetryPolicy, SignInOutput,
    SignInWithRedirectOptions,
};
use browser_tests::Browser;
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};
use hub_events::AuthEvent;
use local_pool::{ClientOptions, LocalPool};
use tokio::task::JoinHandle;

const PW: &str = "Corr3ct-Horse!";
/// The longest a whole test may take.
const TEST_LIMIT: Duration = Duration::from_secs(45);
/// The longest one step in the browser may take.
const STEP: Duration = Duration::from_secs(10);

/// Runs a test body under [`TEST_LIMIT`], so nothing hangs.
async fn within_limit(body: impl Future<Output = ()>) {
    let started = Instant::now();
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
    eprintln!("test took {:?}", started.elapsed());
}

struct Fixture {
    pool: LocalPool,
    pool_id: String,
    auth: Auth,
    listener: RedirectListener,
    redirect: String,
    signed_out: RedirectListener,
    signed_out_uri: String,
    events: Arc<Mutex<Vec<String>>>,
    _events_handle: hub_events::ListenerHandle,
}

/// A pool with a hosted-UI client (code flow, COGNITO and Google), the
/// user alice, a loopback listener for the redirect and another for the
/// sign-out redirect, and an `Auth` configured for them.
async fn fixture() -> Fixture {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("browser").unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    pool.create_identity_provider(&pool_id, "Google", "Google").unwrap();
    let listener = RedirectListener::bind(0).await.unwrap();
    let redirect = listener.redirect_uri("/callback");
    let signed_out = RedirectListener::bind(0).await.unwrap();
    let signed_out_uri = signed_out.redirect_uri("/signed-out");
    let scopes = ["openid", "email", "profile", "aws.cognito.signin.user.admin"].map(String::from).to_vec();
    pool.engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_id: client.client_id.as_str().into(),
            callback_ur_ls: Some(vec![redirect.clone()]),
            logout_ur_ls: Some(vec![signed_out_uri.clone()]),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::Code]),
            allowed_o_auth_scopes: Some(scopes.clone()),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(vec!["COGNITO".into(), "Google".into()]),
            ..Default::default()
        })
        .unwrap();
    pool.create_user(&pool_id, "alice", PW, &[("email", "alice@example.com")]).unwrap();
    let config = AuthConfig::builder(&pool_id, &client.client_id)
        .user_pool_endpoint(pool.endpoint())
        .retry(RetryPolicy { attempt_timeout: Duration::from_secs(10), ..Default::default() })
        .oauth(OAuthConfig {
            domain: pool.endpoint(),
            scopes,
            redirect_sign_in: vec![redirect.clone()],
            redirect_sign_out: vec![signed_out_uri.clone()],
            response_type: "code".into(),
            providers: vec![],
        })
        .build()
        .unwrap();
    let auth = Auth::new(config).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let handle = auth.hub().listen_auth(move |e: &AuthEvent| sink.lock().unwrap().push(e.as_str().to_owned()));
    Fixture { pool, pool_id, auth, listener, redirect, signed_out, signed_out_uri, events, _events_handle: handle }
}

impl Fixture {
    /// Starts a sign-in with redirect and waits for it on the listener in
    /// the background; returns the URL to open and the waiting task.
    async fn start(
        self,
        options: SignInWithRedirectOptions,
    ) -> (Parts, String, JoinHandle<Result<SignInOutput, AuthError>>) {
        let flow = self.auth.sign_in_with_redirect(options).await.unwrap();
        let url = flow.url().to_owned();
        let waiting = tokio::spawn(flow.complete_with_listener(self.listener, Duration::from_secs(30)));
        let parts = Parts {
            pool: self.pool,
            pool_id: self.pool_id,
            auth: self.auth,
            redirect: self.redirect,
            signed_out: Some(self.signed_out),
            signed_out_uri: self.signed_out_uri,
            events: self.events,
            _events_handle: self._events_handle,
        };
        (parts, url, waiting)
    }
}

/// What is left of a [`Fixture`] once the listener waits for the redirect.
struct Parts {
    pool: LocalPool,
    pool_id: String,
    auth: Auth,
    redirect: String,
    signed_out: Option<RedirectListener>,
    signed_out_uri: String,
    events: Arc<Mutex<Vec<String>>>,
    _events_handle: hub_events::ListenerHandle,
}

impl Parts {
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// Waits (Hub delivery may be asynchronous) until `name` was seen
    /// `count` times; returns everything seen.
    async fn wait_event(&self, name: &str, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let seen = self.events();
            if seen.iter().filter(|e| *e == name).count() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{name} was not seen {count} time(s): {:?}", self.events());
    }
}

/// Waits for the flow's task, at most [`STEP`].
async fn finished(waiting: JoinHandle<Result<SignInOutput, AuthError>>) -> Result<SignInOutput, AuthError> {
    tokio::time::timeout(STEP, waiting).await.expect("the flow ends once the redirect arrives").unwrap()
}

/// The password path, in the browser: the pool's page, then the form.
async fn sign_in_on_the_page(browser: &Browser, url: &str, username: &str, password: &str) {
    browser.goto(url).await.unwrap();
    browser.wait_for("form[action='/login'] #username", STEP).await.unwrap();
    browser.fill("#username", username).await.unwrap();
    browser.fill("#password", password).await.unwrap();
    browser.click("button[type='submit']").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_sign_in_through_the_hosted_ui_completes_on_the_loopback_listener() {
    within_limit(async {
        let (f, url, waiting) = fixture().await.start(Default::default()).await;
        let browser = Browser::start().await.unwrap();

        browser.goto(&url).await.unwrap();
        browser.wait_for("#username", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Sign in");
        let shot = browser.screenshot("sign-in-page").await.unwrap();
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "a real PNG");
        browser.fill("#username", "alice").await.unwrap();
        browser.fill("#password", PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();

        // The pool redirects the browser to the client's loopback listener,
        // which answers with its page and completes the flow.
        let landed = browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        assert!(landed.contains("code=") && landed.contains("state="), "{landed}");
        assert_eq!(browser.text("h1").await.unwrap(), "You can close this window");
        let out = finished(waiting).await.unwrap();
        assert!(out.is_signed_in);

        let session = f.auth.fetch_auth_session(false).await.unwrap();
        let tokens = session.tokens.expect("tokens after the redirect");
        assert_eq!(tokens.username, "alice");
        assert!(tokens.id_token.is_some());
        let scope = tokens.access_token.claims().scope.clone().unwrap();
        assert!(scope.split(' ').any(|s| s == "aws.cognito.signin.user.admin"), "{scope}");
        assert_eq!(f.auth.get_current_user().await.unwrap().username, "alice");
        // The session refreshes through the session manager.
        f.auth.fetch_auth_session(true).await.unwrap().tokens.unwrap();
        let events = f.wait_event("signedIn", 1).await;
        assert!(events.iter().any(|e| e == "signInWithRedirect"), "{events:?}");
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_sign_in_through_the_mock_identity_provider() {
    within_limit(async {
        let options = SignInWithRedirectOptions { provider: Some(OAuthProvider::Google), ..Default::default() };
        let (f, url, waiting) = fixture().await.start(options).await;
        let browser = Browser::start().await.unwrap();

        // identity_provider=Google: the pool sends the browser straight to
        // the mock provider's consent page.
        browser.goto(&url).await.unwrap();
        browser.wait_for("#subject", STEP).await.unwrap();
        assert!(browser.url().await.unwrap().contains("/_local-pool/idp/Google/authorize"));
        assert_eq!(browser.text("h1").await.unwrap(), "Sign in with Google");
        browser.screenshot("consent-page").await.unwrap();
        browser.fill("#subject", "107691503500061507151").await.unwrap();
        browser.fill("#email", "fed.user@example.com").await.unwrap();
        browser.click("#continue").await.unwrap();

        browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        finished(waiting).await.unwrap();
        let tokens = f.auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
        assert_eq!(tokens.username, "Google_107691503500061507151");
        assert_eq!(f.auth.get_current_user().await.unwrap().username, "Google_107691503500061507151");
        let id = tokens.id_token.clone().unwrap();
        let claims = id.claims();
        let identity = &claims.extra["identities"][0];
        assert_eq!(identity["userId"], "107691503500061507151");
        assert_eq!(identity["providerName"], "Google");
        assert_eq!(identity["providerType"], "Google");
        assert_eq!(claims.extra["email"], "fed.user@example.com");
        assert!(claims.cognito_groups.contains(&format!("{}_Google", f.pool_id)), "{:?}", claims.cognito_groups);
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_shown_on_the_page_and_the_flow_waits() {
    within_limit(async {
        let (f, url, waiting) = fixture().await.start(Default::default()).await;
        let browser = Browser::start().await.unwrap();

        sign_in_on_the_page(&browser, &url, "alice", "not-the-password").await;
        let error = browser.wait_for("#error[role='alert']", STEP).await.unwrap();
        assert_eq!(error.text().await.unwrap(), "Incorrect username or password.");
        browser.screenshot("wrong-password").await.unwrap();
        // Still on the pool's page, nothing reached the listener.
        assert!(browser.url().await.unwrap().starts_with(&f.pool.endpoint()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "the flow must not complete on a wrong password");
        assert!(f.auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
        assert!(!f.events().iter().any(|e| e == "signedIn" || e == "signInWithRedirect_failure"));

        // The same page, the right password: the flow completes.
        browser.fill("#password", PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();
        browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        finished(waiting).await.unwrap();
        assert_eq!(f.auth.get_current_user().await.unwrap().username, "alice");
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_on_the_consent_page_ends_the_flow_cleanly() {
    within_limit(async {
        let options = SignInWithRedirectOptions { provider: Some(OAuthProvider::Google), ..Default::default() };
        let (f, url, waiting) = fixture().await.start(options).await;
        let port: u16 = f.redirect.trim_start_matches("http://127.0.0.1:").split('/').next().unwrap().parse().unwrap();
        let browser = Browser::start().await.unwrap();

        browser.goto(&url).await.unwrap();
        browser.wait_for("#cancel", STEP).await.unwrap();
        let clicked = Instant::now();
        browser.click("#cancel").await.unwrap();
        let landed = browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        assert!(landed.contains("error=access_denied"), "{landed}");

        // A typed error, promptly, and nothing stored.
        let err = finished(waiting).await.unwrap_err();
        assert!(err.is_service("access_denied"), "{err:?}");
        assert!(clicked.elapsed() < STEP);
        assert!(f.auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
        let events = f.wait_event("signInWithRedirect_failure", 1).await;
        assert!(!events.iter().any(|e| e == "signedIn"), "{events:?}");
        // The listener is gone: its port can be bound again.
        RedirectListener::bind(port).await.unwrap();

        // The client's own cancel ends a flow too, with no browser involved.
        let flow = f.auth.sign_in_with_redirect(Default::default()).await.unwrap();
        flow.cancel();
        f.wait_event("signInWithRedirect_failure", 2).await;
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_sends_the_browser_through_logout_to_the_sign_out_url() {
    within_limit(async {
        let (mut f, url, waiting) = fixture().await.start(Default::default()).await;
        let browser = Browser::start().await.unwrap();
        sign_in_on_the_page(&browser, &url, "alice", PW).await;
        browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        finished(waiting).await.unwrap();

        // Sign out: local state first, then the logout URL to open.
        let mut opened = None;
        let out = f
            .auth
            .sign_out_with_redirect(false, None, |u: &str| {
                opened = Some(u.to_owned());
                Ok(())
            })
            .await
            .unwrap();
        let logout = opened.expect("the hosted-UI session is signed out in the browser");
        assert_eq!(out.oauth_sign_out_url.as_deref(), Some(logout.as_str()));
        assert!(logout.starts_with(&format!("{}/logout?client_id=", f.pool.endpoint())), "{logout}");
        assert!(f.auth.fetch_auth_session(false).await.unwrap().tokens.is_none());

        // The browser follows it and lands on the sign-out redirect.
        let signed_out = f.signed_out.take().unwrap();
        let arrival = tokio::spawn(signed_out.accept(Some("/signed-out"), STEP));
        browser.goto(&logout).await.unwrap();
        let landed = browser.wait_for_url(&f.signed_out_uri, STEP).await.unwrap();
        assert_eq!(landed, f.signed_out_uri);
        assert_eq!(arrival.await.unwrap().unwrap(), f.signed_out_uri);
        f.wait_event("signedOut", 1).await;
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choosing_google_on_the_sign_in_page_goes_through_the_consent_page() {
    within_limit(async {
        let (f, url, waiting) = fixture().await.start(Default::default()).await;
        let browser = Browser::start().await.unwrap();
        browser.goto(&url).await.unwrap();
        browser.wait_for("#username", STEP).await.unwrap();
        assert_eq!(browser.text("a.provider").await.unwrap(), "Continue with Google");
        browser.click("a.provider").await.unwrap();
        browser.wait_for("#subject", STEP).await.unwrap();
        browser.fill("#subject", "42").await.unwrap();
        browser.click("#continue").await.unwrap();
        browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        finished(waiting).await.unwrap();
        assert_eq!(f.auth.get_current_user().await.unwrap().username, "Google_42");
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

/// Limit for the hosted-UI session tests (two flows in one browser).
const SESSION_TEST_LIMIT: Duration = Duration::from_secs(25);

impl Parts {
    /// Starts another sign-in with redirect, listening again on the first
    /// flow's (now free) loopback port, so the registered callback URL
    /// still matches.
    async fn start_again(
        &self,
        options: SignInWithRedirectOptions,
    ) -> (String, JoinHandle<Result<SignInOutput, AuthError>>) {
        let port: u16 =
            self.redirect.trim_start_matches("http://127.0.0.1:").split('/').next().unwrap().parse().unwrap();
        let listener = RedirectListener::bind(port).await.unwrap();
        let flow = self.auth.sign_in_with_redirect(options).await.unwrap();
        let url = flow.url().to_owned();
        (url, tokio::spawn(flow.complete_with_listener(listener, Duration::from_secs(30))))
    }
}

/// A first sign-in with the password on the page, in `browser`.
async fn first_sign_in(browser: &Browser) -> Parts {
    let (f, url, waiting) = fixture().await.start(Default::default()).await;
    sign_in_on_the_page(browser, &url, "alice", PW).await;
    browser.wait_for_url(&f.redirect, STEP).await.unwrap();
    assert!(finished(waiting).await.unwrap().is_signed_in);
    f
}

/// Whether the browser holds the pool's hosted-UI session cookie (read
/// through WebDriver, which sees HttpOnly cookies; cookies belong to the
/// host, so any 127.0.0.1 page will do).
async fn has_session_cookie(browser: &Browser, pool_id: &str) -> bool {
    let name = format!("cognito-{pool_id}");
    let cookies = browser.client().get_all_cookies().await.unwrap();
    cookies.iter().any(|c| c.name() == name && !c.value().is_empty())
}

async fn within_session_limit(body: impl Future<Output = ()>) {
    let started = Instant::now();
    if tokio::time::timeout(SESSION_TEST_LIMIT, body).await.is_err() {
        panic!("the test did not finish within {SESSION_TEST_LIMIT:?}");
    }
    eprintln!("test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sign_in_in_the_same_browser_skips_the_page() {
    within_session_limit(async {
        let browser = Browser::start().await.unwrap();
        let f = first_sign_in(&browser).await;
        // Signed out in the app only: the browser keeps its hosted-UI
        // session, as with Cognito.
        let out = f.auth.sign_out(false).await.unwrap();
        assert!(out.oauth_sign_out_url.is_some());
        assert!(f.auth.fetch_auth_session(false).await.unwrap().tokens.is_none());

        let (url, waiting) = f.start_again(Default::default()).await;
        browser.goto(&url).await.unwrap();
        // No page to fill in: the pool redirects straight back with a code.
        let landed = browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        assert!(landed.contains("code="), "{landed}");
        assert!(finished(waiting).await.unwrap().is_signed_in);
        assert_eq!(f.auth.get_current_user().await.unwrap().username, "alice");
        f.wait_event("signedIn", 2).await;
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_logout_in_the_browser_the_sign_in_page_is_shown_again() {
    within_session_limit(async {
        let browser = Browser::start().await.unwrap();
        let mut f = first_sign_in(&browser).await;
        assert!(has_session_cookie(&browser, &f.pool_id).await, "a hosted-UI session after the sign-in");
        let out = f.auth.sign_out(false).await.unwrap();
        let logout = out.oauth_sign_out_url.expect("a logout URL for a hosted-UI session");
        let signed_out = f.signed_out.take().unwrap();
        let arrival = tokio::spawn(signed_out.accept(Some("/signed-out"), STEP));
        browser.goto(&logout).await.unwrap();
        browser.wait_for_url(&f.signed_out_uri, STEP).await.unwrap();
        arrival.await.unwrap().unwrap();
        assert!(!has_session_cookie(&browser, &f.pool_id).await, "/logout clears the cookie");

        // The hosted-UI session is over: the page again.
        let (url, waiting) = f.start_again(Default::default()).await;
        browser.goto(&url).await.unwrap();
        browser.wait_for("form[action='/login'] #username", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Sign in");
        assert!(!waiting.is_finished());
        browser.fill("#username", "alice").await.unwrap();
        browser.fill("#password", PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();
        browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        assert!(finished(waiting).await.unwrap().is_signed_in);
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_shows_the_page_despite_the_session() {
    within_session_limit(async {
        let browser = Browser::start().await.unwrap();
        let f = first_sign_in(&browser).await;
        assert!(has_session_cookie(&browser, &f.pool_id).await, "a hosted-UI session after the sign-in");
        // Still signed in, in the app and in the browser: prompt=login
        // asks for the password all the same.
        let options = SignInWithRedirectOptions { prompt: Some(OAuthPrompt::Login), ..Default::default() };
        let (url, waiting) = f.start_again(options).await;
        assert!(url.contains("prompt=login"), "{url}");
        browser.goto(&url).await.unwrap();
        browser.wait_for("form[action='/login'] #username", STEP).await.unwrap();
        assert!(!waiting.is_finished());
        browser.fill("#username", "alice").await.unwrap();
        browser.fill("#password", PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();
        browser.wait_for_url(&f.redirect, STEP).await.unwrap();
        assert!(finished(waiting).await.unwrap().is_signed_in);
        assert_eq!(f.auth.get_current_user().await.unwrap().username, "alice");
        browser.close().await;
        f.pool.stop().await;
    })
    .await;
}
