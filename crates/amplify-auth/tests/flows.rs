//! Every sign-in path end to end against the in-process local pool, over
//! real HTTP (hyper) on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use amplify_auth::{
    AuthError, AuthFlow, ConfirmOptions, MfaType, SignInOptions, SignInStep, SignUpOptions, SignUpStep,
};
use cognito_wire::cognito_idp as idp;
use common::{Env, Events, PW};
use local_pool::ClientOptions;
use token_store::MemoryStorage;

fn email(addr: &str) -> SignUpOptions {
    SignUpOptions { user_attributes: BTreeMap::from([("email".to_owned(), addr.to_owned())]), ..Default::default() }
}

#[tokio::test]
async fn sign_up_confirm_srp_sign_in_session_and_sign_out() {
    let env = Env::new().await;
    let auth = env.auth();
    let events = Events::on(&auth);

    let out = auth.sign_up("ann", PW, email("ann@example.com")).await.unwrap();
    assert!(!out.is_sign_up_complete);
    let SignUpStep::ConfirmSignUp { code_delivery_details } = out.next_step else { panic!("{:?}", out.next_step) };
    assert_eq!(code_delivery_details.delivery_medium.as_deref(), Some("EMAIL"));

    // Not confirmed yet: sign-in says so as a step, as Amplify does.
    let early = auth.sign_in("ann", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(early.next_step, SignInStep::ConfirmSignUp);
    assert!(!early.is_signed_in);

    let wrong = auth.confirm_sign_up("ann", "000000", false).await.unwrap_err();
    assert!(wrong.is_service("CodeMismatchException"), "{wrong:?}");
    let done = auth.confirm_sign_up("ann", &env.code("ann"), false).await.unwrap();
    assert_eq!(done.next_step, SignUpStep::Done);

    let bad = auth.sign_in("ann", Some("Wr0ng-password!"), SignInOptions::default()).await.unwrap_err();
    assert!(bad.is_service("NotAuthorizedException"), "{bad:?}");
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());

    let out = auth.sign_in("ann", Some(PW), SignInOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
    assert_eq!(out.next_step, SignInStep::Done);

    let session = auth.fetch_auth_session(false).await.unwrap();
    let tokens = session.tokens.clone().unwrap();
    assert_eq!(tokens.username, "ann");
    assert_eq!(tokens.access_token.claims().token_use.as_ref().map(|t| t.as_str()), Some("access"));
    assert!(tokens.id_token.is_some());
    let user = auth.get_current_user().await.unwrap();
    assert_eq!(user.username, "ann");
    assert_eq!(Some(user.user_id.as_str()), session.user_sub());
    let details = user.sign_in_details.unwrap();
    assert_eq!(details.login_id.as_deref(), Some("ann"));
    assert_eq!(details.auth_flow_type.map(|f| f.as_str().to_owned()).as_deref(), Some("USER_SRP_AUTH"));

    let again = auth.sign_in("ann", Some(PW), SignInOptions::default()).await.unwrap_err();
    assert_eq!(again, AuthError::UserAlreadyAuthenticated);

    let signed_out = auth.sign_out(false).await.unwrap();
    assert!(signed_out.revoke_token_error.is_none(), "{signed_out:?}");
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
    assert!(matches!(auth.get_current_user().await, Err(AuthError::NotSignedIn)));
    events.wait_for(&["signedIn", "signedOut"]).await;
}

#[tokio::test]
async fn user_password_auth_and_client_secret() {
    let env = Env::with(ClientOptions { secret: true, ..Default::default() }).await;
    assert!(env.client_secret.is_some());
    env.pool.create_user(&env.pool_id, "bo", PW, &[]).unwrap();
    for flow in [AuthFlow::UserPassword, AuthFlow::UserSrp] {
        let auth = env.auth();
        let options = SignInOptions { auth_flow: Some(flow), ..Default::default() };
        let out = auth.sign_in("bo", Some(PW), options).await.unwrap();
        assert!(out.is_signed_in, "{flow:?}");
        // Refresh needs SECRET_HASH/ClientSecret too.
        let before = auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
        let after = auth.fetch_auth_session(true).await.unwrap().tokens.unwrap();
        assert_ne!(before.access_token.raw().expose_secret(), after.access_token.raw().expose_secret());
    }
    // Without the secret, the pool refuses.
    let auth = amplify_auth::Auth::new(
        amplify_auth::AuthConfig::builder(&env.pool_id, &env.client_id)
            .user_pool_endpoint(env.pool.endpoint())
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = auth.sign_in("bo", Some(PW), SignInOptions::default()).await.unwrap_err();
    assert!(err.is_service("NotAuthorizedException"), "{err:?}");
}

#[tokio::test]
async fn totp_setup_during_sign_in_then_totp_challenge_with_retry() {
    let env = Env::new().await;
    env.set_mfa(idp::UserPoolMfaType::On, false, true, false);
    env.pool.create_user(&env.pool_id, "cy", PW, &[]).unwrap();
    let auth = env.auth();

    let out = auth.sign_in("cy", Some(PW), SignInOptions::default()).await.unwrap();
    let SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } = out.next_step else {
        panic!("{:?}", out.next_step)
    };
    let secret = totp_setup_details.shared_secret.expose_secret().to_owned();
    assert!(totp_setup_details.setup_uri("Demo", None).starts_with("otpauth://totp/Demo:cy?secret="));
    // A non-numeric answer is refused locally and the step stays.
    let err = auth.confirm_sign_in("abc", ConfirmOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { .. }), "{err:?}");
    let code = local_pool::current_totp(&secret, env.now()).unwrap();
    // A wrong first code: Cognito's EnableSoftwareTokenMFAException, and
    // the set-up step (same session) can be answered again.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = auth.confirm_sign_in(wrong, ConfirmOptions::default()).await.unwrap_err();
    assert!(err.is_service("EnableSoftwareTokenMFAException"), "{err:?}");
    let options = ConfirmOptions { friendly_device_name: Some("phone".into()), ..Default::default() };
    let out = auth.confirm_sign_in(&code, options).await.unwrap();
    assert_eq!(out.next_step, SignInStep::Done);
    auth.sign_out(false).await.unwrap();

    let out = auth.sign_in("cy", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(out.next_step, SignInStep::ConfirmSignInWithTotpCode);
    let good = local_pool::current_totp(&secret, env.now()).unwrap();
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let err = auth.confirm_sign_in(wrong, ConfirmOptions::default()).await.unwrap_err();
    assert!(err.is_service("CodeMismatchException"), "{err:?}");
    // The same step can be answered again.
    let out = auth.confirm_sign_in(&good, ConfirmOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
}

#[tokio::test]
async fn a_pending_sign_in_resumes_in_another_client_sharing_storage() {
    let env = Env::new().await;
    env.set_mfa(idp::UserPoolMfaType::Optional, true, false, false);
    env.pool
        .create_user(&env.pool_id, "di", PW, &[("phone_number", "+15555550100"), ("phone_number_verified", "true")])
        .unwrap();
    env.pool
        .engine()
        .call::<idp::operation::AdminSetUserMFAPreference>(idp::AdminSetUserMFAPreferenceRequest {
            user_pool_id: env.pool_id.clone(),
            username: "di".into(),
            sms_mfa_settings: Some(idp::SMSMfaSettingsType {
                enabled: Some(true),
                preferred_mfa: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let first = env.auth_on(storage.clone());
    let out = first.sign_in("di", Some(PW), SignInOptions::default()).await.unwrap();
    let SignInStep::ConfirmSignInWithSmsCode { code_delivery_details } = out.next_step else {
        panic!("{:?}", out.next_step)
    };
    assert_eq!(code_delivery_details.delivery_medium.as_deref(), Some("SMS"));
    drop(first);

    // A new process (here: a new client on the same storage) continues.
    let second = env.auth_on(storage);
    let out = second.confirm_sign_in(&env.code("di"), ConfirmOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
    assert_eq!(second.get_current_user().await.unwrap().username, "di");
    // Nothing is pending any more.
    let err = second.confirm_sign_in("123456", ConfirmOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
}

#[tokio::test]
async fn mfa_selection_and_email_mfa() {
    let env = Env::new().await;
    env.set_mfa(idp::UserPoolMfaType::Optional, true, false, true);
    env.pool
        .create_user(
            &env.pool_id,
            "ed",
            PW,
            &[
                ("email", "ed@example.com"),
                ("email_verified", "true"),
                ("phone_number", "+15555550101"),
                ("phone_number_verified", "true"),
            ],
        )
        .unwrap();
    env.pool
        .engine()
        .call::<idp::operation::AdminSetUserMFAPreference>(idp::AdminSetUserMFAPreferenceRequest {
            user_pool_id: env.pool_id.clone(),
            username: "ed".into(),
            sms_mfa_settings: Some(idp::SMSMfaSettingsType { enabled: Some(true), ..Default::default() }),
            email_mfa_settings: Some(idp::EmailMfaSettingsType { enabled: Some(true), ..Default::default() }),
            ..Default::default()
        })
        .unwrap();
    let auth = env.auth();
    let out = auth.sign_in("ed", Some(PW), SignInOptions::default()).await.unwrap();
    let SignInStep::ContinueSignInWithMfaSelection { allowed_mfa_types } = out.next_step else {
        panic!("{:?}", out.next_step)
    };
    assert!(allowed_mfa_types.contains(&MfaType::Sms) && allowed_mfa_types.contains(&MfaType::Email));
    let err = auth.confirm_sign_in("TOTP", ConfirmOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { .. }), "{err:?}");
    let out = auth.confirm_sign_in("EMAIL", ConfirmOptions::default()).await.unwrap();
    let SignInStep::ConfirmSignInWithEmailCode { code_delivery_details } = out.next_step else {
        panic!("{:?}", out.next_step)
    };
    assert_eq!(code_delivery_details.delivery_medium.as_deref(), Some("EMAIL"));
    let out = auth.confirm_sign_in(&env.code("ed"), ConfirmOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
}

#[tokio::test]
async fn new_password_required_for_admin_created_users() {
    let env = Env::new().await;
    env.pool
        .engine()
        .call::<idp::operation::AdminCreateUser>(idp::AdminCreateUserRequest {
            user_pool_id: env.pool_id.clone(),
            username: "fay".into(),
            temporary_password: Some("Temp-Passw0rd!".into()),
            message_action: Some(idp::MessageActionType::Suppress),
            ..Default::default()
        })
        .unwrap();
    let auth = env.auth();
    let out = auth.sign_in("fay", Some("Temp-Passw0rd!"), SignInOptions::default()).await.unwrap();
    assert!(matches!(out.next_step, SignInStep::ConfirmSignInWithNewPasswordRequired { .. }), "{:?}", out.next_step);
    let out = auth.confirm_sign_in(PW, ConfirmOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
    auth.sign_out(false).await.unwrap();
    assert!(auth.sign_in("fay", Some(PW), SignInOptions::default()).await.unwrap().is_signed_in);
}

#[tokio::test]
async fn devices_are_confirmed_remembered_and_skip_mfa() {
    let env = Env::new().await;
    env.track_devices(false);
    env.set_mfa(idp::UserPoolMfaType::On, false, true, false);
    env.pool.create_user(&env.pool_id, "gus", PW, &[]).unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let auth = env.auth_on(storage.clone());

    // First sign-in: TOTP setup, then the new device is confirmed.
    let out = auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap();
    let SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } = out.next_step else {
        panic!("{:?}", out.next_step)
    };
    let secret = totp_setup_details.shared_secret.expose_secret().to_owned();
    let code = local_pool::current_totp(&secret, env.now()).unwrap();
    assert!(auth.confirm_sign_in(&code, ConfirmOptions::default()).await.unwrap().is_signed_in);
    let device = auth.token_store().load_device("gus").await.unwrap().expect("device stored");
    let page = auth.fetch_devices(None, None).await.unwrap();
    assert_eq!(page.devices.len(), 1);
    assert_eq!(page.devices[0].id, device.device_key);

    // Signing out keeps the device; signing in again uses device SRP and
    // skips MFA (the pool remembers devices without a prompt).
    auth.sign_out(false).await.unwrap();
    assert!(auth.token_store().load_device("gus").await.unwrap().is_some());
    let out = auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap();
    assert!(out.is_signed_in, "{:?}", out.next_step);
    // Refresh sends the device key (the pool requires it for confirmed devices).
    assert!(auth.fetch_auth_session(true).await.unwrap().tokens.is_some());

    // A device the pool no longer knows is dropped and the sign-in retried.
    auth.forget_device(None).await.unwrap();
    assert!(auth.token_store().load_device("gus").await.unwrap().is_none());
    auth.sign_out(false).await.unwrap();
    auth.token_store().save_device("gus", &device).await.unwrap();
    let out = auth.sign_in("gus", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(out.next_step, SignInStep::ConfirmSignInWithTotpCode, "stale device forgotten, MFA again");
    assert!(auth.token_store().load_device("gus").await.unwrap().is_none());
}

#[tokio::test]
async fn refresh_keeps_the_refresh_token_and_emits_events() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "hal", PW, &[]).unwrap();
    // A tolerance longer than the token lifetime: every fetch refreshes.
    let (auth, counting) = env.counted(Some(Duration::from_secs(2 * 3600)));
    let events = Events::on(&auth);
    auth.sign_in("hal", Some(PW), SignInOptions::default()).await.unwrap();
    let first = auth.peek_tokens().await.unwrap().unwrap();
    let refreshed = auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
    assert_ne!(first.access_token.raw().expose_secret(), refreshed.access_token.raw().expose_secret());
    assert_eq!(counting.count("GetTokensFromRefreshToken"), 1);
    let record = auth.token_store().load().await.unwrap().unwrap();
    assert!(record.refresh_token.is_some());
    events.wait_for(&["signedIn", "tokenRefresh"]).await;
}

/// Signs `username` in with the pool's clock two hours behind, and stores
/// the session as if it had been saved then (no clock drift recorded): the
/// tokens are an hour past expiry, and a refresh gives fresh ones.
async fn expired_session(env: &Env, username: &str) -> token_store::TokenRecord {
    env.pool.create_user(&env.pool_id, username, PW, &[]).unwrap();
    let auth = env.auth();
    env.pool.engine().advance_clock(-7200);
    auth.sign_in(username, Some(PW), SignInOptions::default()).await.unwrap();
    env.pool.engine().advance_clock(7200);
    let mut record = auth.token_store().load().await.unwrap().unwrap();
    record.clock_drift_ms = 0;
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_callers_cause_one_refresh() {
    let env = Env::new().await;
    let record = expired_session(&env, "ivy").await;
    let (auth, counting) = env.counted(None);
    auth.token_store().save(&record).await.unwrap();
    let events = Events::on(&auth);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10_000 {
        let auth = auth.clone();
        tasks.spawn(async move { auth.fetch_auth_session(false).await });
    }
    let mut served = 0;
    let mut access = std::collections::BTreeSet::new();
    while let Some(result) = tasks.join_next().await {
        let tokens = result.unwrap().unwrap().tokens.unwrap();
        access.insert(tokens.access_token.raw().expose_secret().to_owned());
        served += 1;
    }
    assert_eq!(served, 10_000);
    assert_eq!(counting.count("GetTokensFromRefreshToken"), 1);
    assert_eq!(access.len(), 1, "everyone got the refreshed tokens");
    assert_ne!(access.first().map(String::as_str), Some(record.access_token.expose_secret()));
    events.wait_for(&["tokenRefresh"]).await;
}

#[tokio::test]
async fn revoked_tokens_sign_the_user_out_and_transient_errors_keep_them() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "jo", PW, &[]).unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let auth = env.auth_on(storage.clone());
    auth.sign_in("jo", Some(PW), SignInOptions::default()).await.unwrap();
    let saved = auth.token_store().load().await.unwrap().unwrap();

    // Global sign-out revokes every session of the user.
    let out = auth.sign_out(true).await.unwrap();
    assert!(out.global_sign_out_error.is_none() && out.revoke_token_error.is_none(), "{out:?}");
    assert!(auth.token_store().load().await.unwrap().is_none());

    // Put the revoked session back: the refresh is refused, the session is
    // cleared and reported as signed out (Amplify's allow-list).
    let other = env.auth_on(Arc::new(MemoryStorage::new()));
    other.token_store().save(&saved).await.unwrap();
    let events = Events::on(&other);
    let session = other.fetch_auth_session(true).await.unwrap();
    assert!(session.tokens.is_none());
    assert!(other.token_store().load().await.unwrap().is_none());
    events.wait_for(&["tokenRefresh_failure"]).await;

    // A server that is down: the error is transient and the tokens stay.
    auth.sign_in("jo", Some(PW), SignInOptions::default()).await.unwrap();
    let storage2 = auth.token_store().storage().clone();
    let dead = amplify_auth::Auth::builder(
        amplify_auth::AuthConfig::builder(&env.pool_id, &env.client_id)
            .user_pool_endpoint("http://127.0.0.1:9") // discard port: refused
            .retry(amplify_auth::RetryPolicy { max_attempts: 2, ..Default::default() })
            .build()
            .unwrap(),
    )
    .storage(storage2)
    .build()
    .unwrap();
    let err = dead.fetch_auth_session(true).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(dead.token_store().load().await.unwrap().is_some(), "tokens kept on a network failure");
}

#[tokio::test]
async fn password_reset_update_and_auto_sign_in() {
    let env = Env::new().await;
    let auth = env.auth();
    let options = SignUpOptions { auto_sign_in: true, ..email("kim@example.com") };
    let out = auth.sign_up("kim", PW, options).await.unwrap();
    assert!(matches!(out.next_step, SignUpStep::ConfirmSignUp { .. }));
    let err = auth.auto_sign_in().await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
    let confirmed = auth.confirm_sign_up("kim", &env.code("kim"), false).await.unwrap();
    assert_eq!(confirmed.next_step, SignUpStep::CompleteAutoSignIn);
    assert!(auth.auto_sign_in().await.unwrap().is_signed_in);

    auth.update_password(PW, "N3w-Passw0rd!").await.unwrap();
    auth.sign_out(false).await.unwrap();
    assert!(auth.sign_in("kim", Some("N3w-Passw0rd!"), SignInOptions::default()).await.unwrap().is_signed_in);
    auth.sign_out(false).await.unwrap();

    let reset = auth.reset_password("kim").await.unwrap();
    assert!(!reset.is_password_reset);
    auth.confirm_reset_password("kim", &env.code("kim"), "Th1rd-Passw0rd!").await.unwrap();
    assert!(auth.sign_in("kim", Some("Th1rd-Passw0rd!"), SignInOptions::default()).await.unwrap().is_signed_in);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let env = Env::new().await;
    let (auth, counting) = env.counted(None);
    let err = auth.sign_in("", Some(PW), SignInOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { field: "username", .. }), "{err:?}");
    let err = auth.sign_in("x", None, SignInOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Validation { field: "password", .. }), "{err:?}");
    let err = auth.confirm_sign_in("123456", ConfirmOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidState(_)), "{err:?}");
    assert!(matches!(auth.update_password("a", "b").await, Err(AuthError::NotSignedIn)));
    assert!(counting.counts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn remembered_devices_still_need_mfa_unless_the_pool_lets_them_replace_it() {
    let env = Env::new().await;
    env.pool
        .engine()
        .call::<idp::operation::UpdateUserPool>(idp::UpdateUserPoolRequest {
            user_pool_id: env.pool_id.clone(),
            // UpdateUserPool replaces every setting: restate create_pool's.
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            device_configuration: Some(idp::DeviceConfigurationType {
                challenge_required_on_new_device: Some(false),
                device_only_remembered_on_user_prompt: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    env.set_mfa(idp::UserPoolMfaType::On, false, true, false);
    env.pool.create_user(&env.pool_id, "hex", PW, &[]).unwrap();
    let auth = env.auth();
    let out = auth.sign_in("hex", Some(PW), SignInOptions::default()).await.unwrap();
    let SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } = out.next_step else {
        panic!("{:?}", out.next_step)
    };
    let secret = totp_setup_details.shared_secret.expose_secret().to_owned();
    let code = local_pool::current_totp(&secret, env.now()).unwrap();
    assert!(auth.confirm_sign_in(&code, ConfirmOptions::default()).await.unwrap().is_signed_in);
    assert!(auth.token_store().load_device("hex").await.unwrap().is_some(), "device confirmed and remembered");
    auth.sign_out(false).await.unwrap();
    // Device SRP runs, but MFA is still asked: ChallengeRequiredOnNewDevice is false.
    let out = auth.sign_in("hex", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(out.next_step, SignInStep::ConfirmSignInWithTotpCode);
}
