//! USER_AUTH (choice-based sign-in): SELECT_CHALLENGE, PREFERRED_CHALLENGE,
//! PASSWORD / PASSWORD_SRP / EMAIL_OTP / SMS_OTP, the sign-up session for
//! auto sign-in, and GetUserAuthFactors. Each test asserts the exact
//! challenge sequence.

#![allow(clippy::unwrap_used)]

mod common;

use cognito_wire::ErrorCode;
use cognito_wire::cognito_idp::{self as idp, AuthFactorType, AuthFlowType, ChallengeNameType, operation as op};
use common::{Fixture, PW, all_flows, attr, ephemeral};
use local_pool::ClientOptions;

use ChallengeNameType::{EmailOtp, Password, PasswordSrp, SelectChallenge, SmsOtp};

/// A pool offering PASSWORD, EMAIL_OTP and SMS_OTP, and a user with a
/// verified email and phone number.
async fn passwordless() -> Fixture {
    let f = Fixture::with(all_flows()).await;
    f.pool.set_first_auth_factors(&f.pool_id, &["PASSWORD", "EMAIL_OTP", "SMS_OTP"]).unwrap();
    f.pool
        .create_user(
            &f.pool_id,
            "olga",
            PW,
            &[
                ("email", "olga@example.com"),
                ("email_verified", "true"),
                ("phone_number", "+15555550123"),
                ("phone_number_verified", "true"),
            ],
        )
        .unwrap();
    f
}

fn select(f: &Fixture, username: &str) -> idp::InitiateAuthResponse {
    let start = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", username)], &[], None).unwrap();
    assert_eq!(start.challenge_name, Some(SelectChallenge));
    assert!(start.session.is_some());
    start
}

#[tokio::test]
async fn select_challenge_then_password() {
    let f = passwordless().await;
    let start = select(&f, "olga");
    assert_eq!(start.available_challenges, Some(vec![Password, PasswordSrp, EmailOtp, SmsOtp]));
    // A wrong password fails.
    let wrong = f
        .respond(
            SelectChallenge,
            start.session.as_ref(),
            &[("USERNAME", "olga"), ("ANSWER", "PASSWORD"), ("PASSWORD", "Wrong-Horse-1")],
        )
        .unwrap_err();
    assert_eq!(
        (wrong.code, wrong.message.as_str()),
        (ErrorCode::NotAuthorizedException, "Incorrect username or password.")
    );
    let start = select(&f, "olga");
    let done = f
        .respond(
            SelectChallenge,
            start.session.as_ref(),
            &[("USERNAME", "olga"), ("ANSWER", "PASSWORD"), ("PASSWORD", PW)],
        )
        .unwrap();
    assert_eq!(done.challenge_name, None);
    assert!(done.authentication_result.unwrap().access_token.is_some());
}

#[tokio::test]
async fn select_challenge_then_password_srp() {
    let f = passwordless().await;
    let start = select(&f, "olga");
    let a = ephemeral();
    let verifier = f
        .respond(
            SelectChallenge,
            start.session.as_ref(),
            &[("USERNAME", "olga"), ("ANSWER", "PASSWORD_SRP"), ("SRP_A", a.srp_a().as_str())],
        )
        .unwrap();
    assert_eq!(verifier.challenge_name, Some(ChallengeNameType::PasswordVerifier));
    let p = verifier.challenge_parameters.unwrap();
    assert_eq!(p["USER_ID_FOR_SRP"], "olga");
    let done = f.answer_verifier(&a, &p, verifier.session.as_ref(), PW).unwrap();
    assert_eq!(done.challenge_name, None);
    assert!(done.authentication_result.is_some());
}

#[tokio::test]
async fn select_challenge_then_email_otp_from_the_outbox() {
    let f = passwordless().await;
    let start = select(&f, "olga");
    let otp =
        f.respond(SelectChallenge, start.session.as_ref(), &[("USERNAME", "olga"), ("ANSWER", "EMAIL_OTP")]).unwrap();
    assert_eq!(otp.challenge_name, Some(EmailOtp));
    let p = otp.challenge_parameters.clone().unwrap();
    assert_eq!(p["CODE_DELIVERY_DELIVERY_MEDIUM"], "EMAIL");
    assert_eq!(p["CODE_DELIVERY_DESTINATION"], "o***@e***");
    let message = f.last_message("olga");
    assert_eq!((message.kind.as_str(), message.medium.as_str()), ("otp", "EMAIL"));
    assert_eq!(message.destination, "olga@example.com");
    let done =
        f.respond(EmailOtp, otp.session.as_ref(), &[("USERNAME", "olga"), ("EMAIL_OTP_CODE", &message.code)]).unwrap();
    assert_eq!(done.challenge_name, None);
    assert!(done.authentication_result.is_some());
    // The session is used up.
    let again = f
        .respond(EmailOtp, otp.session.as_ref(), &[("USERNAME", "olga"), ("EMAIL_OTP_CODE", &message.code)])
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::NotAuthorizedException);
}

#[tokio::test]
async fn preferred_sms_otp_goes_straight_to_the_code() {
    let f = passwordless().await;
    let otp = f
        .initiate(AuthFlowType::UserAuth, &[("USERNAME", "olga"), ("PREFERRED_CHALLENGE", "SMS_OTP")], &[], None)
        .unwrap();
    assert_eq!(otp.challenge_name, Some(SmsOtp));
    assert_eq!(otp.available_challenges, None);
    let p = otp.challenge_parameters.clone().unwrap();
    assert_eq!(p["CODE_DELIVERY_DELIVERY_MEDIUM"], "SMS");
    assert_eq!(p["CODE_DELIVERY_DESTINATION"], "+*******0123");
    let message = f.last_message("olga");
    assert_eq!((message.kind.as_str(), message.medium.as_str()), ("otp", "SMS"));
    let done =
        f.respond(SmsOtp, otp.session.as_ref(), &[("USERNAME", "olga"), ("SMS_OTP_CODE", &message.code)]).unwrap();
    assert!(done.authentication_result.is_some());
}

#[tokio::test]
async fn preferred_password_and_password_srp_skip_the_selection() {
    let f = passwordless().await;
    let done = f
        .initiate(
            AuthFlowType::UserAuth,
            &[("USERNAME", "olga"), ("PREFERRED_CHALLENGE", "PASSWORD"), ("PASSWORD", PW)],
            &[],
            None,
        )
        .unwrap();
    assert_eq!(done.challenge_name, None);
    assert!(done.authentication_result.is_some());
    let a = ephemeral();
    let verifier = f
        .initiate(
            AuthFlowType::UserAuth,
            &[("USERNAME", "olga"), ("PREFERRED_CHALLENGE", "PASSWORD_SRP"), ("SRP_A", a.srp_a().as_str())],
            &[],
            None,
        )
        .unwrap();
    assert_eq!(verifier.challenge_name, Some(ChallengeNameType::PasswordVerifier));
    let p = verifier.challenge_parameters.unwrap();
    assert!(f.answer_verifier(&a, &p, verifier.session.as_ref(), PW).unwrap().authentication_result.is_some());
}

#[tokio::test]
async fn an_unavailable_preference_and_a_default_pool_offer_passwords_only() {
    let f = Fixture::with(all_flows()).await;
    // No SignInPolicy: PASSWORD only, even with a verified email.
    f.pool.create_user(&f.pool_id, "pat", PW, &[("email", "pat@example.com"), ("email_verified", "true")]).unwrap();
    let start = f
        .initiate(AuthFlowType::UserAuth, &[("USERNAME", "pat"), ("PREFERRED_CHALLENGE", "EMAIL_OTP")], &[], None)
        .unwrap();
    assert_eq!(start.challenge_name, Some(SelectChallenge));
    assert_eq!(start.available_challenges, Some(vec![Password, PasswordSrp]));
    let otp = f
        .respond(SelectChallenge, start.session.as_ref(), &[("USERNAME", "pat"), ("ANSWER", "EMAIL_OTP")])
        .unwrap_err();
    assert_eq!(otp.code, ErrorCode::InvalidParameterException);
    // The session survives an answer that is not on offer.
    let done = f
        .respond(
            SelectChallenge,
            start.session.as_ref(),
            &[("USERNAME", "pat"), ("ANSWER", "PASSWORD"), ("PASSWORD", PW)],
        )
        .unwrap();
    assert!(done.authentication_result.is_some());
    // An unverified email is not offered either.
    f.pool.set_first_auth_factors(&f.pool_id, &["PASSWORD", "EMAIL_OTP"]).unwrap();
    f.pool.create_user(&f.pool_id, "una", PW, &[("email", "una@example.com")]).unwrap();
    assert_eq!(select(&f, "una").available_challenges, Some(vec![Password, PasswordSrp]));
    assert_eq!(select(&f, "pat").available_challenges, Some(vec![Password, PasswordSrp, EmailOtp]));
}

#[tokio::test]
async fn a_wrong_one_time_password_can_be_retried_on_the_same_session() {
    let f = passwordless().await;
    let otp = f
        .initiate(AuthFlowType::UserAuth, &[("USERNAME", "olga"), ("PREFERRED_CHALLENGE", "EMAIL_OTP")], &[], None)
        .unwrap();
    assert_eq!(otp.challenge_name, Some(EmailOtp));
    let code = f.last_message("olga").code;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err =
        f.respond(EmailOtp, otp.session.as_ref(), &[("USERNAME", "olga"), ("EMAIL_OTP_CODE", wrong)]).unwrap_err();
    assert_eq!(err.code, ErrorCode::CodeMismatchException);
    let done = f.respond(EmailOtp, otp.session.as_ref(), &[("USERNAME", "olga"), ("EMAIL_OTP_CODE", &code)]).unwrap();
    assert!(done.authentication_result.is_some());
}

#[tokio::test]
async fn web_authn_is_refused_with_a_clear_error() {
    let f = passwordless().await;
    let err = f
        .initiate(AuthFlowType::UserAuth, &[("USERNAME", "olga"), ("PREFERRED_CHALLENGE", "WEB_AUTHN")], &[], None)
        .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::InvalidParameterException, "WEB_AUTHN is not supported by local-pool")
    );
    let start = select(&f, "olga");
    let err = f
        .respond(SelectChallenge, start.session.as_ref(), &[("USERNAME", "olga"), ("ANSWER", "WEB_AUTHN")])
        .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::InvalidParameterException, "WEB_AUTHN is not supported by local-pool")
    );
}

#[tokio::test]
async fn user_auth_needs_allow_user_auth_on_the_client() {
    let f = Fixture::with(ClientOptions::default()).await;
    f.pool.create_user(&f.pool_id, "pat", PW, &[]).unwrap();
    let err = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "pat")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
    let f = passwordless().await;
    let err = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "nobody")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::UserNotFoundException);
}

#[tokio::test]
async fn a_one_time_password_satisfies_mfa_but_a_password_does_not() {
    let f = passwordless().await;
    f.engine()
        .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
            user_pool_id: f.pool_id.clone(),
            mfa_configuration: Some(idp::UserPoolMfaType::On),
            email_mfa_configuration: Some(Default::default()),
            ..Default::default()
        })
        .unwrap();
    f.engine()
        .call::<op::AdminSetUserMFAPreference>(idp::AdminSetUserMFAPreferenceRequest {
            user_pool_id: f.pool_id.clone(),
            username: "olga".into(),
            email_mfa_settings: Some(idp::EmailMfaSettingsType {
                enabled: Some(true),
                preferred_mfa: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    // PASSWORD, then email MFA.
    let start = select(&f, "olga");
    let mfa = f
        .respond(
            SelectChallenge,
            start.session.as_ref(),
            &[("USERNAME", "olga"), ("ANSWER", "PASSWORD"), ("PASSWORD", PW)],
        )
        .unwrap();
    assert_eq!(mfa.challenge_name, Some(EmailOtp));
    let message = f.last_message("olga");
    assert_eq!(message.kind, "mfa");
    let done =
        f.respond(EmailOtp, mfa.session.as_ref(), &[("USERNAME", "olga"), ("EMAIL_OTP_CODE", &message.code)]).unwrap();
    assert!(done.authentication_result.is_some());
    // EMAIL_OTP as the first factor: tokens at once.
    let start = select(&f, "olga");
    let otp =
        f.respond(SelectChallenge, start.session.as_ref(), &[("USERNAME", "olga"), ("ANSWER", "EMAIL_OTP")]).unwrap();
    assert_eq!(otp.challenge_name, Some(EmailOtp));
    let message = f.last_message("olga");
    assert_eq!(message.kind, "otp");
    let done =
        f.respond(EmailOtp, otp.session.as_ref(), &[("USERNAME", "olga"), ("EMAIL_OTP_CODE", &message.code)]).unwrap();
    assert_eq!(done.challenge_name, None);
    assert!(done.authentication_result.is_some());
}

#[tokio::test]
async fn get_user_auth_factors_lists_what_the_user_can_sign_in_with() {
    let f = passwordless().await;
    let tokens = f
        .initiate(
            AuthFlowType::UserAuth,
            &[("USERNAME", "olga"), ("PREFERRED_CHALLENGE", "PASSWORD"), ("PASSWORD", PW)],
            &[],
            None,
        )
        .unwrap()
        .authentication_result
        .unwrap();
    let factors = f
        .engine()
        .call::<op::GetUserAuthFactors>(idp::GetUserAuthFactorsRequest {
            access_token: Fixture::access_token(&tokens).into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(factors.username.expose(), "olga");
    assert_eq!(
        factors.configured_user_auth_factors,
        Some(vec![AuthFactorType::Password, AuthFactorType::EmailOtp, AuthFactorType::SmsOtp])
    );
    assert_eq!(factors.user_mfa_setting_list, None);
    assert_eq!(factors.preferred_mfa_setting, None);
    let err = f
        .engine()
        .call::<op::GetUserAuthFactors>(idp::GetUserAuthFactorsRequest {
            access_token: "not-a-token".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
}

#[tokio::test]
async fn the_sign_up_session_signs_the_user_in_once_after_confirmation() {
    let f = passwordless().await;
    let sign_up = |name: &str| {
        f.engine()
            .call::<op::SignUp>(idp::SignUpRequest {
                client_id: f.client_id.as_str().into(),
                username: name.into(),
                password: Some(PW.into()),
                user_attributes: Some(vec![attr("email", &format!("{name}@example.com"))]),
                ..Default::default()
            })
            .unwrap()
    };
    let confirm = |name: &str, session: Option<cognito_wire::Sensitive<String>>| {
        let code = f.pool.last_code(&f.pool_id, name).unwrap();
        f.engine().call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: name.into(),
            confirmation_code: code,
            session,
            ..Default::default()
        })
    };
    let signed_up = sign_up("sue");
    assert!(signed_up.session.is_some());
    // Another user's session is refused.
    let other = sign_up("tom");
    assert_eq!(confirm("sue", other.session.clone()).unwrap_err().code, ErrorCode::NotAuthorizedException);
    let confirmed = confirm("sue", signed_up.session.clone()).unwrap();
    let session = confirmed.session.unwrap().expose().clone();
    assert_ne!(Some(session.as_str()), signed_up.session.as_ref().map(|s| s.expose().as_str()));
    // Someone else cannot use it.
    let err = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "olga")], &[], Some(&session)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
    // The session was spent by that attempt; confirm a fresh user to show the happy path.
    let ann = sign_up("ann");
    let session = confirm("ann", ann.session.clone()).unwrap().session.unwrap().expose().clone();
    let done = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "ann")], &[], Some(&session)).unwrap();
    assert_eq!(done.challenge_name, None);
    let tokens = done.authentication_result.unwrap();
    assert!(tokens.refresh_token.is_some());
    // Once only.
    let err = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "ann")], &[], Some(&session)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
    // Within three minutes.
    let session = confirm("tom", other.session.clone()).unwrap().session.unwrap().expose().clone();
    f.engine().advance_clock(181);
    let err = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "tom")], &[], Some(&session)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
}

#[tokio::test]
async fn passwordless_users_sign_up_without_a_password() {
    let f = passwordless().await;
    let signed_up = f
        .engine()
        .call::<op::SignUp>(idp::SignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: "nia".into(),
            user_attributes: Some(vec![attr("email", "nia@example.com")]),
            ..Default::default()
        })
        .unwrap();
    let code = f.pool.last_code(&f.pool_id, "nia").unwrap();
    f.engine()
        .call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: "nia".into(),
            confirmation_code: code,
            session: signed_up.session,
            ..Default::default()
        })
        .unwrap();
    // Only the one-time password is on offer.
    assert_eq!(select(&f, "nia").available_challenges, Some(vec![EmailOtp]));
    // A pool without passwordless factors still requires a password.
    let g = Fixture::with(all_flows()).await;
    let err = g
        .engine()
        .call::<op::SignUp>(idp::SignUpRequest {
            client_id: g.client_id.as_str().into(),
            username: "nia".into(),
            user_attributes: Some(vec![attr("email", "nia@example.com")]),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
}
