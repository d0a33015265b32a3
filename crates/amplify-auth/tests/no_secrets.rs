//! No password, token, code, session or TOTP secret ever appears in a log
//! line (tracing at TRACE level, every target), in an error's `Display` or
//! `Debug`, or in the `Debug` of what the API returns, across the flows.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use amplify_auth::{ConfirmOptions, SignInOptions, SignInStep, SignUpOptions};
use cognito_wire::cognito_idp as idp;
use common::{Env, PW};
use token_store::MemoryStorage;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_logs_errors_or_debug_output() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = Env::new().await;
    env.set_mfa(idp::UserPoolMfaType::Optional, false, true, false);
    let storage = Arc::new(MemoryStorage::new());
    let auth = env.auth_on(storage.clone());
    let mut secrets: Vec<String> = vec![PW.to_owned()];
    let mut shown: Vec<String> = Vec::new();

    // Sign-up with a wrong code first, then the right one.
    let options = SignUpOptions {
        user_attributes: [("email".to_owned(), "lee@example.com".to_owned())].into(),
        ..Default::default()
    };
    shown.push(format!("{:?}", auth.sign_up("lee", PW, options).await.unwrap()));
    let code = env.code("lee");
    secrets.push(code.clone());
    let wrong = auth.confirm_sign_up("lee", "000000", false).await.unwrap_err();
    shown.push(format!("{wrong} {wrong:?}"));
    auth.confirm_sign_up("lee", &code, false).await.unwrap();

    // A wrong password, then a sign-in.
    let bad = auth.sign_in("lee", Some("Wr0ng-Passw0rd!"), SignInOptions::default()).await.unwrap_err();
    secrets.push("Wr0ng-Passw0rd!".to_owned());
    shown.push(format!("{bad} {bad:?}"));
    let out = auth.sign_in("lee", Some(PW), SignInOptions::default()).await.unwrap();
    shown.push(format!("{out:?}"));
    let record = auth.token_store().load().await.unwrap().unwrap();
    secrets.push(record.access_token.expose_secret().to_owned());
    secrets.push(record.refresh_token.clone().unwrap().expose_secret().to_owned());
    secrets.push(record.id_token.clone().unwrap().expose_secret().to_owned());
    shown.push(format!("{record:?}"));
    let session = auth.fetch_auth_session(true).await.unwrap();
    shown.push(format!("{session:?}"));
    let refreshed = auth.token_store().load().await.unwrap().unwrap();
    secrets.push(refreshed.access_token.expose_secret().to_owned());
    shown.push(format!("{:?}", auth));
    auth.sign_out(false).await.unwrap();

    // TOTP enrolment during sign-in (pool MFA ON for the second user).
    env.set_mfa(idp::UserPoolMfaType::On, false, true, false);
    env.pool.create_user(&env.pool_id, "max", PW, &[]).unwrap();
    let out = auth.sign_in("max", Some(PW), SignInOptions::default()).await.unwrap();
    let SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } = &out.next_step else { panic!("{out:?}") };
    let totp_secret = totp_setup_details.shared_secret.expose_secret().to_owned();
    secrets.push(totp_secret.clone());
    shown.push(format!("{out:?}"));
    // The pending state (with the Session) is in storage; its Session is a secret.
    let pending_key = format!("amplify-auth.{}.signInState", env.client_id);
    let pending: serde_json::Value =
        serde_json::from_str(storage.snapshot().get(&pending_key).unwrap().as_str()).unwrap();
    secrets.push(pending["session"].as_str().unwrap().to_owned());
    let wrong = auth.confirm_sign_in("999999x", ConfirmOptions::default()).await.unwrap_err();
    shown.push(format!("{wrong} {wrong:?}"));
    let code = local_pool::current_totp(&totp_secret, env.now()).unwrap();
    secrets.push(code.clone());
    shown.push(format!("{:?}", auth.confirm_sign_in(&code, ConfirmOptions::default()).await.unwrap()));

    // A refresh failure (revoked) and its error.
    let record = auth.token_store().load().await.unwrap().unwrap();
    secrets.push(record.refresh_token.clone().unwrap().expose_secret().to_owned());
    auth.sign_out(true).await.unwrap();
    let other = env.auth();
    other.token_store().save(&record).await.unwrap();
    shown.push(format!("{:?}", other.fetch_auth_session(true).await));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("cognito call"), "the capture works: {logs}");
    for secret in &secrets {
        assert!(secret.len() >= 6, "a secret too short to search for");
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
        for text in &shown {
            assert!(!text.contains(secret.as_str()), "a secret in {text}");
        }
    }
}
