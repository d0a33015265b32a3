//! The implicit flow (`response_type=token`) in a real browser: the hosted
//! UI returns the tokens in the redirect's fragment, which browsers never
//! send to a server, so the loopback listener serves a page that hands the
//! fragment back as a query; the flow must complete from that, and an
//! error carried in the fragment must end it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use amplify_auth::config::OAuthConfig;
use amplify_auth::{Auth, AuthConfig, AuthError, RedirectListener, RetryPolicy, SignInWithRedirectOptions};
use browser_tests::Browser;
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};
use local_pool::{ClientOptions, LocalPool};

const PW: &str = "Corr3ct-Horse!";
const STEP: Duration = Duration::from_secs(10);

/// A pool whose hosted-UI client allows only the implicit flow, the user
/// alice, a loopback listener and an `Auth` configured for tokens.
async fn implicit_fixture() -> (LocalPool, Auth, RedirectListener, String) {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("implicit").unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    let listener = RedirectListener::bind(0).await.unwrap();
    let redirect = listener.redirect_uri("/callback");
    let scopes = ["openid", "email", "aws.cognito.signin.user.admin"].map(String::from).to_vec();
    pool.engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_id: client.client_id.as_str().into(),
            callback_ur_ls: Some(vec![redirect.clone()]),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::Implicit]),
            allowed_o_auth_scopes: Some(scopes.clone()),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(vec!["COGNITO".into()]),
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
            redirect_sign_out: vec![],
            response_type: "token".into(),
            providers: vec![],
        })
        .build()
        .unwrap();
    (pool, Auth::new(config).unwrap(), listener, redirect)
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
