//! The hosted UI's sign-up pages in a real browser: `amplify-auth` starts a
//! sign-in with redirect, headless Chromium follows "Sign up" on the local
//! pool's page, fills the sign-up form, types the confirmation code the
//! pool sent (read from its outbox), and the loopback listener completes
//! with a valid session. The same for the password pages: "Forgot your
//! password?" with the reset code from the outbox, and the new password a
//! temporary one calls for. Screenshots of the sign-up and reset pages are
//! saved under `target/browser-artifacts/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use browser_tests::Browser;
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};

mod common;

const PW: &str = "Corr3ct-Horse!";
/// The longest the whole test may take.
const TEST_LIMIT: Duration = Duration::from_secs(45);
/// The longest one step in the browser may take.
const STEP: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_and_confirm_through_the_hosted_ui_completes_on_the_loopback_listener() {
    let body = async {
        let common::App { pool, pool_id, auth, listener, redirect } =
            common::hosted_ui_app("browser-signup", OAuthFlowType::Code).await;
        let (browser, waiting) = open_sign_in(&auth, listener).await;
        browser.wait_for("#sign-up", STEP).await.unwrap();
        browser.click("#sign-up").await.unwrap();
        browser.wait_for("form[action='/signup'] #email", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Sign up");
        let shot = browser.screenshot("sign-up-page").await.unwrap();
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "a real PNG");
        browser.fill("#username", "erin").await.unwrap();
        browser.fill("#email", "erin@example.com").await.unwrap();
        browser.fill("#password", PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();

        browser.wait_for("form[action='/confirm'] #code", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Confirm your account");
        assert!(!waiting.is_finished(), "nothing reaches the app before the account is confirmed");
        let code = pool.last_code(&pool_id, "erin").expect("the confirmation code in the outbox");
        browser.fill("#code", &code).await.unwrap();
        browser.click("button[value='confirm']").await.unwrap();

        let landed = browser.wait_for_url(&redirect, STEP).await.unwrap();
        assert!(landed.contains("code=") && landed.contains("state="), "{landed}");
        let out = tokio::time::timeout(STEP, waiting).await.expect("the flow ends").unwrap().unwrap();
        assert!(out.is_signed_in);
        let tokens = auth.fetch_auth_session(false).await.unwrap().tokens.expect("tokens after the redirect");
        assert_eq!(tokens.username, "erin");
        assert_eq!(auth.get_current_user().await.unwrap().username, "erin");
        browser.close().await;
        pool.stop().await;
    };
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

const NEW_PW: &str = "Brand-New-Horse-2";

/// Starts a sign-in with redirect on `listener` and opens its URL in a new
/// browser; the flow's wait runs in the background.
async fn open_sign_in(
    auth: &amplify_auth::Auth,
    listener: amplify_auth::RedirectListener,
) -> (Browser, tokio::task::JoinHandle<Result<amplify_auth::SignInOutput, amplify_auth::AuthError>>) {
    let flow = auth.sign_in_with_redirect(Default::default()).await.unwrap();
    let url = flow.url().to_owned();
    let waiting = tokio::spawn(flow.complete_with_listener(listener, Duration::from_secs(30)));
    let browser = Browser::start().await.unwrap();
    browser.goto(&url).await.unwrap();
    (browser, waiting)
}

/// Fills and submits the pool's sign-in page.
async fn sign_in_on_page(browser: &Browser, username: &str, password: &str) {
    browser.wait_for("#username", STEP).await.unwrap();
    browser.fill("#username", username).await.unwrap();
    browser.fill("#password", password).await.unwrap();
    browser.click("button[type='submit']").await.unwrap();
}

/// Waits for the flow's end and checks that `username` is signed in.
async fn signed_in_as(
    auth: &amplify_auth::Auth,
    waiting: tokio::task::JoinHandle<Result<amplify_auth::SignInOutput, amplify_auth::AuthError>>,
    username: &str,
) {
    let out = tokio::time::timeout(STEP, waiting).await.expect("the flow ends").unwrap().unwrap();
    assert!(out.is_signed_in);
    let tokens = auth.fetch_auth_session(false).await.unwrap().tokens.expect("tokens after the redirect");
    assert_eq!(tokens.username, username);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_through_the_hosted_ui_then_sign_in_with_the_new_one() {
    let body = async {
        let common::App { pool, pool_id, auth, listener, redirect } =
            common::hosted_ui_app("browser-forgot", OAuthFlowType::Code).await;
        pool.create_user(&pool_id, "ivy", PW, &[("email", "ivy@example.com"), ("email_verified", "true")]).unwrap();
        let (browser, waiting) = open_sign_in(&auth, listener).await;
        browser.wait_for("#forgot-password", STEP).await.unwrap();
        browser.click("#forgot-password").await.unwrap();
        browser.wait_for("form[action='/forgotPassword'] #username", STEP).await.unwrap();
        browser.fill("#username", "ivy").await.unwrap();
        browser.click("button[type='submit']").await.unwrap();

        browser.wait_for("form[action='/confirmForgotPassword'] #code", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Reset your password");
        let shot = browser.screenshot("reset-password-page").await.unwrap();
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "a real PNG");
        let code = pool.last_code(&pool_id, "ivy").expect("the reset code in the outbox");
        browser.fill("#code", &code).await.unwrap();
        browser.fill("#password", NEW_PW).await.unwrap();
        browser.fill("#password2", NEW_PW).await.unwrap();
        browser.click("button[value='reset']").await.unwrap();

        // Back on the sign-in page of the same request, username filled in.
        browser.wait_for("#notice", STEP).await.unwrap();
        assert!(browser.text("#notice").await.unwrap().contains("Your password has been reset"));
        assert!(!waiting.is_finished(), "nothing reaches the app before the sign-in");
        browser.fill("#password", NEW_PW).await.unwrap();
        browser.click("form[action='/login'] button[type='submit']").await.unwrap();

        let landed = browser.wait_for_url(&redirect, STEP).await.unwrap();
        assert!(landed.contains("code="), "{landed}");
        signed_in_as(&auth, waiting, "ivy").await;
        browser.close().await;
        pool.stop().await;
    };
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_password_is_changed_on_the_hosted_ui_then_signed_in() {
    let body = async {
        let common::App { pool, pool_id, auth, listener, redirect } =
            common::hosted_ui_app("browser-new-password", OAuthFlowType::Code).await;
        pool.create_user_with_temporary_password(&pool_id, "jay", "Temp-Pass-123", &[]).unwrap();
        let (browser, waiting) = open_sign_in(&auth, listener).await;
        sign_in_on_page(&browser, "jay", "Temp-Pass-123").await;

        browser.wait_for("form[action='/newPassword'] #password2", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Choose a new password");
        browser.fill("#password", NEW_PW).await.unwrap();
        browser.fill("#password2", NEW_PW).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();

        let landed = browser.wait_for_url(&redirect, STEP).await.unwrap();
        assert!(landed.contains("code="), "{landed}");
        signed_in_as(&auth, waiting, "jay").await;
        // The new password is the one that works from now on.
        auth.sign_out(Default::default()).await.unwrap();
        let out = auth.sign_in("jay", Some(NEW_PW), Default::default()).await.unwrap();
        assert!(out.is_signed_in);
        browser.close().await;
        pool.stop().await;
    };
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_mfa_is_set_up_with_an_authenticator_on_the_hosted_ui() {
    let body = async {
        let common::App { pool, pool_id, auth, listener, redirect } =
            common::hosted_ui_app("browser-mfa-setup", OAuthFlowType::Code).await;
        pool.engine()
            .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
                user_pool_id: pool_id.clone(),
                mfa_configuration: Some(idp::UserPoolMfaType::On),
                software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                    enabled: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .unwrap();
        pool.create_user(&pool_id, "kim", PW, &[]).unwrap();
        let (browser, waiting) = open_sign_in(&auth, listener).await;
        sign_in_on_page(&browser, "kim", PW).await;

        browser.wait_for("form[action='/mfaSetup'] #code", STEP).await.unwrap();
        assert_eq!(browser.text("h1").await.unwrap(), "Set up an authenticator app");
        let shot = browser.screenshot("mfa-setup-page").await.unwrap();
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "a real PNG");
        // What a person would type into the app: the key as shown.
        let secret = browser.text("#secret").await.unwrap().replace(' ', "");
        let code = local_pool::current_totp(&secret, pool.engine().now()).expect("a base32 key");
        browser.fill("#code", &code).await.unwrap();
        browser.click("button[type='submit']").await.unwrap();

        let landed = browser.wait_for_url(&redirect, STEP).await.unwrap();
        assert!(landed.contains("code="), "{landed}");
        signed_in_as(&auth, waiting, "kim").await;
        // The API sign-in now meets the authenticator as its MFA.
        auth.sign_out(Default::default()).await.unwrap();
        let out = auth.sign_in("kim", Some(PW), Default::default()).await.unwrap();
        assert_eq!(out.next_step, amplify_auth::SignInStep::ConfirmSignInWithTotpCode);
        browser.close().await;
        pool.stop().await;
    };
    if tokio::time::timeout(TEST_LIMIT, body).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}
