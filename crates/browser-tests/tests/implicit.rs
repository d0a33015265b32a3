//! The implicit flow (`response_type=token`) in a real browser: the hosted
//! UI returns the tokens in the redirect's fragment, which browsers never
//! send to a server, so the loopback listener serves a page that hands the
//! fragment back as a query; the flow must complete from that, and an
//! error carried in the fragment must end it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use amplify_auth::{Auth, AuthError, RedirectListener, SignInWithRedirectOptions};
use browser_tests::Browser;
use cognito_wire::cognito_idp::OAuthFlowType;
use local_pool::LocalPool;

mod common;

const PW: &str = "Corr3ct-Horse!";
const STEP: Duration = Duration::from_secs(10);

/// A pool whose hosted-UI client allows only the implicit flow, the user
/// alice, a loopback listener and an `Auth` configured for tokens.
async fn implicit_fixture() -> (LocalPool, Auth, RedirectListener, String) {
    let app = common::hosted_ui_app("implicit", OAuthFlowType::Implicit).await;
    app.pool.create_user(&app.pool_id, "alice", PW, &[("email", "alice@example.com")]).unwrap();
    (app.pool, app.auth, app.listener, app.redirect)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_implicit_flow_completes_through_the_listeners_fragment_relay() {
    let run = async {
        let (_pool, auth, listener, redirect) = implicit_fixture().await;
        let flow = auth.sign_in_with_redirect(SignInWithRedirectOptions::default()).await.unwrap();
        assert!(flow.url().contains("response_type=token"), "{}", flow.url());
        assert!(!flow.url().contains("code_challenge"), "no PKCE in the implicit flow: {}", flow.url());
        let url = flow.url().to_owned();
        let waiting = tokio::spawn(flow.complete_with_listener(listener, Duration::from_secs(30)));

        let browser = Browser::start().await.unwrap();
        browser.goto(&url).await.unwrap();
        browser.wait_for("#username", STEP).await.unwrap();
        browser.fill("#username", "alice").await.unwrap();
        browser.fill("#password", PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();

        // The relay page turns `#access_token=…` into `?access_token=…`
        // on the same loopback path; the listener then completes.
        let landed = browser.wait_for_url(&format!("{redirect}?"), STEP).await.unwrap();
        assert!(landed.contains("access_token=") && landed.contains("state="), "{landed}");
        assert_eq!(browser.text("h1").await.unwrap(), "You can close this window");
        let out = tokio::time::timeout(STEP, waiting).await.expect("completes").unwrap().unwrap();
        assert!(out.is_signed_in);

        let tokens = auth.fetch_auth_session(false).await.unwrap().tokens.expect("tokens from the fragment");
        assert_eq!(tokens.username, "alice");
        assert!(tokens.id_token.is_some(), "openid was granted: an ID token too");
        assert_eq!(
            auth.fetch_user_attributes().await.unwrap().get("email").map(String::as_str),
            Some("alice@example.com")
        );
        browser.close().await;
    };
    tokio::time::timeout(Duration::from_secs(45), run).await.expect("the test finishes within 45 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_in_the_fragment_ends_the_implicit_flow() {
    let run = async {
        let (_pool, auth, listener, redirect) = implicit_fixture().await;
        let flow = auth.sign_in_with_redirect(SignInWithRedirectOptions::default()).await.unwrap();
        let waiting = tokio::spawn(flow.complete_with_listener(listener, Duration::from_secs(30)));

        // What the hosted UI sends when the user declines: the error in the
        // fragment of the redirect.
        let browser = Browser::start().await.unwrap();
        browser.goto(&format!("{redirect}#error=access_denied&error_description=User%20cancelled")).await.unwrap();
        let err = tokio::time::timeout(STEP, waiting).await.expect("the flow ends").unwrap().unwrap_err();
        let AuthError::Service(service) = &err else { panic!("{err:?}") };
        assert_eq!(service.code.as_str(), "access_denied");
        assert_eq!(service.message.as_deref(), Some("User cancelled"));
        assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
        browser.close().await;
    };
    tokio::time::timeout(Duration::from_secs(45), run).await.expect("the test finishes within 45 s");
}
