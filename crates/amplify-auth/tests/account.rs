//! The signed-in user's account against the local pool: attributes with
//! verification, TOTP enrolment and preferences, deletion.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use amplify_auth::{AuthError, MfaPreference, MfaType, SignInOptions, SignInStep, UpdateAttributeStep};
use cognito_wire::cognito_idp as idp;
use common::{Env, Events, PW};

#[tokio::test]
async fn attributes_update_with_verification_and_delete() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "ola", PW, &[("email", "ola@example.com"), ("email_verified", "true")]).unwrap();
    let auth = env.auth();
    assert!(matches!(auth.fetch_user_attributes().await, Err(AuthError::NotSignedIn)));
    auth.sign_in("ola", Some(PW), SignInOptions::default()).await.unwrap();

    let attrs = auth.fetch_user_attributes().await.unwrap();
    assert_eq!(attrs["email"], "ola@example.com");
    let update =
        BTreeMap::from([("email".to_owned(), "ola2@example.com".to_owned()), ("name".to_owned(), "Ola".to_owned())]);
    let out = auth.update_user_attributes(&update, None).await.unwrap();
    assert_eq!(out["name"].next_step, UpdateAttributeStep::Done);
    assert!(out["name"].is_updated);
    let UpdateAttributeStep::ConfirmAttributeWithCode { code_delivery_details } = &out["email"].next_step else {
        panic!("{out:?}")
    };
    assert_eq!(code_delivery_details.attribute_name.as_deref(), Some("email"));
    assert!(!out["email"].is_updated);
    assert_eq!(auth.fetch_user_attributes().await.unwrap()["email_verified"], "false");

    let err = auth.confirm_user_attribute("email", "000000").await.unwrap_err();
    assert!(err.is_service("CodeMismatchException"), "{err:?}");
    auth.confirm_user_attribute("email", &env.code("ola")).await.unwrap();
    let attrs = auth.fetch_user_attributes().await.unwrap();
    assert_eq!((attrs["email"].as_str(), attrs["email_verified"].as_str()), ("ola2@example.com", "true"));

    let sent = auth.send_user_attribute_verification_code("email").await.unwrap();
    assert_eq!(sent.delivery_medium.as_deref(), Some("EMAIL"));
    auth.delete_user_attributes(&["name"]).await.unwrap();
    assert!(!auth.fetch_user_attributes().await.unwrap().contains_key("name"));
}

#[tokio::test]
async fn totp_enrolment_preferences_and_deletion() {
    let env = Env::new().await;
    env.set_mfa(idp::UserPoolMfaType::Optional, false, true, false);
    env.pool.create_user(&env.pool_id, "pia", PW, &[]).unwrap();
    let auth = env.auth();
    let events = Events::on(&auth);
    auth.sign_in("pia", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(auth.fetch_mfa_preference().await.unwrap(), Default::default());

    let details = auth.set_up_totp().await.unwrap();
    let uri = details.setup_uri("My App", None);
    assert!(uri.starts_with("otpauth://totp/My%20App:pia?secret="), "{uri}");
    // What an authenticator app does with the QR code: parse the URI (with
    // totp-rs, which also checks the secret is at least 128 bits) and show
    // the code for the current 30-second step.
    let app = totp_rs::Totp::from_url(&uri).unwrap();
    assert_eq!(app.issuer(), Some("My App"));
    assert_eq!(app.account_name(), "pia");
    let now = u64::try_from(env.now()).unwrap();
    let secret = details.shared_secret.expose_secret().to_owned();
    let wrong = if app.generate(now).to_string() == "000000" { "111111" } else { "000000" };
    let err = auth.verify_totp_setup(wrong, None).await.unwrap_err();
    assert!(err.is_service("EnableSoftwareTokenMFAException"), "{err:?}");
    let code = app.generate(now).to_string();
    assert_eq!(code.len(), 6);
    // The pool's own helper agrees with the authenticator app.
    assert_eq!(local_pool::current_totp(&secret, env.now()).unwrap(), code);
    auth.verify_totp_setup(&code, Some("phone")).await.unwrap();
    auth.update_mfa_preference(None, Some(MfaPreference::Preferred), None).await.unwrap();
    let prefs = auth.fetch_mfa_preference().await.unwrap();
    assert_eq!(prefs.enabled, vec![MfaType::Totp]);
    assert_eq!(prefs.preferred, Some(MfaType::Totp));

    auth.sign_out(false).await.unwrap();
    let out = auth.sign_in("pia", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(out.next_step, SignInStep::ConfirmSignInWithTotpCode);
    let code = app.generate(u64::try_from(env.now()).unwrap()).to_string();
    assert!(auth.confirm_sign_in(&code, Default::default()).await.unwrap().is_signed_in);

    auth.delete_user().await.unwrap();
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
    events.wait_for(&["userDeleted", "signedOut"]).await;
    let err = auth.sign_in("pia", Some(PW), SignInOptions::default()).await.unwrap_err();
    assert!(err.is_service("UserNotFoundException") || err.is_service("NotAuthorizedException"), "{err:?}");
}

#[tokio::test]
async fn identity_pool_credentials_for_users_and_guests() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "uma", PW, &[]).unwrap();
    let identity_pool = env.pool.create_identity_pool("ids", true, &[(&env.pool_id, &env.client_id)]).unwrap();
    let config = env
        .config()
        .identity_pool_id(&identity_pool)
        .identity_pool_endpoint(env.pool.endpoint())
        .allow_guest_access(true)
        .build()
        .unwrap();
    let auth = amplify_auth::Auth::new(config).unwrap();

    // A guest first.
    let guest = auth.fetch_auth_session(false).await.unwrap();
    assert!(guest.tokens.is_none());
    let guest_id = guest.identity_id.clone().unwrap();
    let creds = guest.credentials.unwrap();
    assert!(creds.access_key_id.starts_with("ASIA"), "{creds:?}");
    assert!(creds.expiration.is_some());

    // Signed in: the same identity, now authenticated (the guest id is
    // reused with Logins, as Amplify does), and stable.
    auth.sign_in("uma", Some(PW), SignInOptions::default()).await.unwrap();
    let user = auth.fetch_auth_session(false).await.unwrap();
    let user_id = user.identity_id.clone().unwrap();
    assert_eq!(user_id, guest_id);
    assert_ne!(user.credentials.unwrap().access_key_id, creds.access_key_id);
    let forced = auth.fetch_auth_session(true).await.unwrap();
    assert_eq!(forced.identity_id.unwrap(), user_id);

    // A second client signing the same user in gets the same identity.
    auth.sign_out(false).await.unwrap();
    let other = amplify_auth::Auth::new(
        env.config().identity_pool_id(&identity_pool).identity_pool_endpoint(env.pool.endpoint()).build().unwrap(),
    )
    .unwrap();
    assert!(other.fetch_auth_session(false).await.unwrap().credentials.is_none(), "guests not allowed here");
    other.sign_in("uma", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(other.fetch_auth_session(false).await.unwrap().identity_id.unwrap(), user_id);
}

#[tokio::test]
async fn single_attribute_update_user_data_and_global_sign_out() {
    let env = Env::new().await;
    env.pool.create_user(&env.pool_id, "uda", PW, &[("email", "uda@example.com"), ("email_verified", "true")]).unwrap();
    let auth = env.auth();
    assert!(matches!(auth.get_user_data().await, Err(AuthError::NotSignedIn)));
    assert!(matches!(auth.update_user_attribute("name", "Uda", None).await, Err(AuthError::NotSignedIn)));
    auth.sign_in("uda", Some(PW), SignInOptions::default()).await.unwrap();
    // The same user on another device.
    let other = env.auth_on(std::sync::Arc::new(token_store::MemoryStorage::new()));
    other.sign_in("uda", Some(PW), SignInOptions::default()).await.unwrap();

    let out = auth.update_user_attribute("name", "Uda", None).await.unwrap();
    assert!(out.is_updated);
    assert_eq!(out.next_step, UpdateAttributeStep::Done);
    let out = auth.update_user_attribute("email", "uda2@example.com", None).await.unwrap();
    assert!(!out.is_updated);
    assert!(matches!(out.next_step, UpdateAttributeStep::ConfirmAttributeWithCode { .. }), "{out:?}");

    let setup = auth.set_up_totp().await.unwrap();
    let code = local_pool::current_totp(setup.shared_secret.expose_secret(), env.now()).unwrap();
    auth.verify_totp_setup(&code, None).await.unwrap();
    auth.update_mfa_preference(None, Some(MfaPreference::Preferred), None).await.unwrap();
    let data = auth.get_user_data().await.unwrap();
    assert_eq!(data.username, "uda");
    assert_eq!(data.attributes["name"], "Uda");
    assert_eq!(data.attributes["email"], "uda2@example.com");
    assert_eq!(data.mfa.enabled, [MfaType::Totp]);
    assert_eq!(data.mfa.preferred, Some(MfaType::Totp));
    assert!(!format!("{data:?}").contains("uda2@example.com"), "attribute values stay out of Debug");

    // The global sign-out ends the other device's session too: its
    // refresh is refused and it is signed out.
    assert!(other.fetch_auth_session(true).await.unwrap().tokens.is_some());
    let out = auth.global_sign_out().await.unwrap();
    assert!(out.global_sign_out_error.is_none(), "{out:?}");
    assert!(matches!(auth.get_user_data().await, Err(AuthError::NotSignedIn)));
    assert!(other.fetch_auth_session(true).await.unwrap().tokens.is_none());
}
