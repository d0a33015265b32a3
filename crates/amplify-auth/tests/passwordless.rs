//! The custom flows (with and without SRP) and choice-based `USER_AUTH`
//! end to end against the local pool's hooks and first-factor policy.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use amplify_auth::{AuthError, AuthFlow, ConfirmOptions, SignInOptions, SignInStep};
use common::{Env, PW};
use local_pool::{ClientOptions, CustomAuthConfig};

async fn env() -> Env {
    let mut options = ClientOptions::default();
    options.explicit_auth_flows.push("ALLOW_CUSTOM_AUTH".into());
    options.explicit_auth_flows.push("ALLOW_USER_AUTH".into());
    let env = Env::with(options).await;
    env.pool
        .create_user(&env.pool_id, "quinn", PW, &[("email", "quinn@example.com"), ("email_verified", "true")])
        .unwrap();
    env
}

fn flow(flow: AuthFlow) -> SignInOptions {
    SignInOptions { auth_flow: Some(flow), ..Default::default() }
}

#[tokio::test]
async fn custom_without_srp_wrong_then_right_answer() {
    let env = env().await;
    let config = CustomAuthConfig::FixedAnswer { answer: "42".into(), require_password: false, max_attempts: 3 };
    env.pool.set_custom_auth_config(&env.pool_id, config).unwrap();
    let auth = env.auth();
    let out = auth.sign_in("quinn", None, flow(AuthFlow::CustomWithoutSrp)).await.unwrap();
    assert!(matches!(out.next_step, SignInStep::ConfirmSignInWithCustomChallenge { .. }), "{:?}", out.next_step);
    // A wrong answer: the hooks ask again (a new challenge), still not signed in.
    let out = auth.confirm_sign_in("41", ConfirmOptions::default()).await.unwrap();
    assert!(matches!(out.next_step, SignInStep::ConfirmSignInWithCustomChallenge { .. }), "{:?}", out.next_step);
    let out = auth.confirm_sign_in("42", ConfirmOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
    let details = auth.get_current_user().await.unwrap().sign_in_details.unwrap();
    assert_eq!(details.auth_flow_type.unwrap().as_str(), "CUSTOM_WITHOUT_SRP");
}

#[tokio::test]
async fn custom_with_srp_checks_the_password_then_asks_for_the_code() {
    let env = env().await;
    let config = CustomAuthConfig::OutboxCode { medium: None, require_password: true, max_attempts: 3 };
    env.pool.set_custom_auth_config(&env.pool_id, config).unwrap();
    let auth = env.auth();
    let err = auth.sign_in("quinn", Some("Wr0ng-Passw0rd!"), flow(AuthFlow::CustomWithSrp)).await.unwrap_err();
    assert!(err.is_service("NotAuthorizedException"), "{err:?}");
    let out = auth.sign_in("quinn", Some(PW), flow(AuthFlow::CustomWithSrp)).await.unwrap();
    let SignInStep::ConfirmSignInWithCustomChallenge { .. } = out.next_step else { panic!("{:?}", out.next_step) };
    let out = auth.confirm_sign_in(&env.code("quinn"), ConfirmOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
}

#[tokio::test]
async fn user_auth_first_factor_selection_email_otp_and_passwords() {
    let env = env().await;
    env.pool.set_first_auth_factors(&env.pool_id, &["PASSWORD", "EMAIL_OTP"]).unwrap();
    let auth = env.auth();

    // No preference: Cognito offers the factors; EMAIL_OTP sends a code.
    let out = auth.sign_in("quinn", None, flow(AuthFlow::UserAuth)).await.unwrap();
    let SignInStep::ContinueSignInWithFirstFactorSelection { available_challenges } = &out.next_step else {
        panic!("{:?}", out.next_step)
    };
    for c in ["EMAIL_OTP", "PASSWORD", "PASSWORD_SRP"] {
        assert!(available_challenges.iter().any(|a| a == c), "{c} in {available_challenges:?}");
    }
    let err = auth.confirm_sign_in("WEB_AUTHN", ConfirmOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { .. }), "{err:?}");
    let out = auth.confirm_sign_in("EMAIL_OTP", ConfirmOptions::default()).await.unwrap();
    let SignInStep::ConfirmSignInWithEmailCode { code_delivery_details } = &out.next_step else {
        panic!("{:?}", out.next_step)
    };
    assert_eq!(code_delivery_details.delivery_medium.as_deref(), Some("EMAIL"));
    let err = auth.confirm_sign_in("000000", ConfirmOptions::default()).await.unwrap_err();
    assert!(err.is_service("CodeMismatchException"), "{err:?}");
    assert!(auth.confirm_sign_in(&env.code("quinn"), ConfirmOptions::default()).await.unwrap().is_signed_in);
    auth.sign_out(false).await.unwrap();

    // PASSWORD_SRP and PASSWORD chosen locally, then the password.
    for choice in ["PASSWORD_SRP", "PASSWORD"] {
        let out = auth.sign_in("quinn", None, flow(AuthFlow::UserAuth)).await.unwrap();
        assert!(matches!(out.next_step, SignInStep::ContinueSignInWithFirstFactorSelection { .. }));
        let out = auth.confirm_sign_in(choice, ConfirmOptions::default()).await.unwrap();
        assert_eq!(out.next_step, SignInStep::ConfirmSignInWithPassword, "{choice}");
        assert!(auth.confirm_sign_in(PW, ConfirmOptions::default()).await.unwrap().is_signed_in, "{choice}");
        auth.sign_out(false).await.unwrap();
    }

    // A preferred challenge skips the selection.
    let options = SignInOptions {
        auth_flow: Some(AuthFlow::UserAuth),
        preferred_challenge: Some("PASSWORD_SRP".into()),
        ..Default::default()
    };
    assert!(auth.sign_in("quinn", Some(PW), options).await.unwrap().is_signed_in);
    auth.sign_out(false).await.unwrap();
    let options = SignInOptions {
        auth_flow: Some(AuthFlow::UserAuth),
        preferred_challenge: Some("EMAIL_OTP".into()),
        ..Default::default()
    };
    let out = auth.sign_in("quinn", None, options).await.unwrap();
    assert!(matches!(out.next_step, SignInStep::ConfirmSignInWithEmailCode { .. }), "{:?}", out.next_step);
    assert!(auth.confirm_sign_in(&env.code("quinn"), ConfirmOptions::default()).await.unwrap().is_signed_in);
}

#[tokio::test]
async fn auto_sign_in_hands_the_sign_up_session_to_user_auth() {
    let env = env().await;
    let auth = env.auth();
    let options = amplify_auth::SignUpOptions {
        user_attributes: [("email".to_owned(), "rex@example.com".to_owned())].into(),
        auto_sign_in: true,
        auto_sign_in_flow: Some(AuthFlow::UserAuth),
        ..Default::default()
    };
    let out = auth.sign_up("rex", PW, options).await.unwrap();
    assert!(matches!(out.next_step, amplify_auth::SignUpStep::ConfirmSignUp { .. }));
    let confirmed = auth.confirm_sign_up("rex", &env.code("rex"), false).await.unwrap();
    assert_eq!(confirmed.next_step, amplify_auth::SignUpStep::CompleteAutoSignIn);
    let out = auth.auto_sign_in().await.unwrap();
    assert!(out.is_signed_in, "{:?}", out.next_step);
    let details = auth.get_current_user().await.unwrap().sign_in_details.unwrap();
    assert_eq!(details.auth_flow_type.unwrap().as_str(), "USER_AUTH");
    // The hand-off works once.
    let err = auth.auto_sign_in().await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
}

#[tokio::test]
async fn auto_sign_in_with_link_verification_polls_until_confirmed() {
    let env = env().await;
    let auth = amplify_auth::Auth::new(env.config().sign_up_verification_method("link").build().unwrap()).unwrap();
    let options = amplify_auth::SignUpOptions {
        user_attributes: [("email".to_owned(), "sol@example.com".to_owned())].into(),
        auto_sign_in: true,
        ..Default::default()
    };
    let out = auth.sign_up("sol", PW, options).await.unwrap();
    assert_eq!(out.next_step, amplify_auth::SignUpStep::CompleteAutoSignIn);
    let polling = tokio::spawn({
        let auth = auth.clone();
        async move { auth.auto_sign_in().await }
    });
    // The person follows the link a moment later.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!polling.is_finished(), "still waiting for the link");
    env.pool
        .engine()
        .call::<cognito_wire::cognito_idp::operation::AdminConfirmSignUp>(
            cognito_wire::cognito_idp::AdminConfirmSignUpRequest {
                user_pool_id: env.pool_id.clone(),
                username: "sol".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), polling).await.unwrap().unwrap().unwrap();
    assert!(out.is_signed_in, "{:?}", out.next_step);
}
