//! CUSTOM_AUTH driven by define / create / verify hooks: the built-in ones
//! (fixed answer, outbox code, SRP first) and Rust closures. Each test
//! asserts the exact challenge sequence.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use cognito_wire::ErrorCode;
use cognito_wire::cognito_idp::{self as idp, AuthFlowType, ChallengeNameType, operation as op};
use common::{Fixture, PW, all_flows, ephemeral, map};
use local_pool::{
    ChallengeResult, ClientOptions, CreateAuthChallengeResponse, CustomAuthConfig, CustomAuthHooks,
    DefineAuthChallengeResponse, VerifyAuthChallengeResponse,
};

use ChallengeNameType::{CustomChallenge, PasswordVerifier};

async fn fixed_answer(require_password: bool) -> Fixture {
    let f = Fixture::with(all_flows()).await;
    f.pool
        .set_custom_auth_config(
            &f.pool_id,
            CustomAuthConfig::FixedAnswer { answer: "42".into(), require_password, max_attempts: 3 },
        )
        .unwrap();
    f.pool.create_user(&f.pool_id, "cleo", PW, &[("email", "cleo@example.com")]).unwrap();
    f
}

fn start(f: &Fixture, username: &str) -> idp::InitiateAuthResponse {
    f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", username)], &[], None).unwrap()
}

#[tokio::test]
async fn without_hooks_custom_auth_fails_as_cognito_does_without_triggers() {
    let f = Fixture::with(all_flows()).await;
    f.pool.create_user(&f.pool_id, "cleo", PW, &[]).unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::InvalidParameterException, "Custom auth lambda trigger is not configured for the user pool.")
    );
}

#[tokio::test]
async fn custom_auth_needs_allow_custom_auth_on_the_client() {
    let f = Fixture::with(ClientOptions::default()).await;
    f.pool
        .set_custom_auth_config(
            &f.pool_id,
            CustomAuthConfig::OutboxCode { medium: None, require_password: false, max_attempts: 3 },
        )
        .unwrap();
    f.pool.create_user(&f.pool_id, "cleo", PW, &[]).unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
}

#[tokio::test]
async fn fixed_answer_wrong_then_right() {
    let f = fixed_answer(false).await;
    let first = start(&f, "cleo");
    assert_eq!(first.challenge_name, Some(CustomChallenge));
    assert_eq!(first.challenge_parameters.clone().unwrap()["USERNAME"], "cleo");
    let wrong = f.respond(CustomChallenge, first.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "41")]).unwrap();
    // Define asks again, with a new session.
    assert_eq!(wrong.challenge_name, Some(CustomChallenge));
    assert_ne!(wrong.session, first.session);
    assert!(wrong.authentication_result.is_none());
    let done = f.respond(CustomChallenge, wrong.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "42")]).unwrap();
    assert_eq!(done.challenge_name, None);
    let tokens = done.authentication_result.unwrap();
    assert!(tokens.access_token.is_some() && tokens.refresh_token.is_some());
    // The old session is spent.
    let err =
        f.respond(CustomChallenge, first.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "42")]).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
}

#[tokio::test]
async fn three_wrong_answers_end_the_sign_in() {
    let f = fixed_answer(false).await;
    let mut step = start(&f, "cleo").session;
    for _ in 0..2 {
        let next = f.respond(CustomChallenge, step.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "nope")]).unwrap();
        assert_eq!(next.challenge_name, Some(CustomChallenge));
        step = next.session;
    }
    let err = f.respond(CustomChallenge, step.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "nope")]).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::NotAuthorizedException, "Incorrect username or password.")
    );
}

#[tokio::test]
async fn srp_first_then_the_custom_challenge() {
    let f = fixed_answer(true).await;
    let a = ephemeral();
    let verifier = f
        .initiate(
            AuthFlowType::CustomAuth,
            &[("USERNAME", "cleo"), ("SRP_A", a.srp_a().as_str()), ("CHALLENGE_NAME", "SRP_A")],
            &[],
            None,
        )
        .unwrap();
    assert_eq!(verifier.challenge_name, Some(PasswordVerifier));
    let p = verifier.challenge_parameters.unwrap();
    let custom = f.answer_verifier(&a, &p, verifier.session.as_ref(), PW).unwrap();
    assert_eq!(custom.challenge_name, Some(CustomChallenge));
    assert!(custom.authentication_result.is_none());
    let done = f.respond(CustomChallenge, custom.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "42")]).unwrap();
    assert!(done.authentication_result.is_some());

    // A wrong password: define fails the sign-in.
    let a = ephemeral();
    let verifier = f
        .initiate(
            AuthFlowType::CustomAuth,
            &[("USERNAME", "cleo"), ("SRP_A", a.srp_a().as_str()), ("CHALLENGE_NAME", "SRP_A")],
            &[],
            None,
        )
        .unwrap();
    let p = verifier.challenge_parameters.unwrap();
    let err = f.answer_verifier(&a, &p, verifier.session.as_ref(), "Wrong-Horse-1").unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);

    // Without SRP, a hook that requires the password refuses.
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
}

#[tokio::test]
async fn the_outbox_code_hook_sends_a_code() {
    let f = Fixture::with(all_flows()).await;
    f.pool
        .set_custom_auth_config(
            &f.pool_id,
            CustomAuthConfig::OutboxCode { medium: None, require_password: false, max_attempts: 3 },
        )
        .unwrap();
    f.pool.create_user(&f.pool_id, "cleo", PW, &[("email", "cleo@example.com")]).unwrap();
    let first = start(&f, "cleo");
    assert_eq!(first.challenge_name, Some(CustomChallenge));
    let p = first.challenge_parameters.unwrap();
    assert_eq!(p["CODE_DELIVERY_DELIVERY_MEDIUM"], "EMAIL");
    assert_eq!(p["CODE_DELIVERY_DESTINATION"], "c***@e***");
    let message = f.last_message("cleo");
    assert_eq!((message.kind.as_str(), message.destination.as_str()), ("custom_challenge", "cleo@example.com"));
    let done =
        f.respond(CustomChallenge, first.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", &message.code)]).unwrap();
    assert!(done.authentication_result.is_some());
    // A user with nowhere to send the code: the create hook fails.
    f.pool.create_user(&f.pool_id, "nomail", PW, &[]).unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "nomail")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::UserLambdaValidationException);
    assert!(err.message.starts_with("CreateAuthChallenge failed with error"), "{}", err.message);
}

/// What the closures saw: (hook, client metadata, session history).
type Seen = Arc<Mutex<Vec<(&'static str, Vec<(String, String)>, Vec<ChallengeResult>)>>>;

#[tokio::test]
async fn closures_get_client_metadata_and_the_session_history() {
    let f = Fixture::with(all_flows()).await;
    f.pool.create_user(&f.pool_id, "cleo", PW, &[("email", "cleo@example.com")]).unwrap();
    let seen: Seen = Arc::default();
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
    let record = |seen: &Seen, hook: &'static str, r: &local_pool::CustomAuthRequest| {
        let metadata = r.client_metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        seen.lock().unwrap().push((hook, metadata, r.session.clone()));
    };
    f.pool
        .set_custom_auth(
            &f.pool_id,
            CustomAuthHooks::new(
                move |r| {
                    record(&s1, "define", r);
                    Ok(match r.session.last() {
                        Some(last) if last.challenge_result => DefineAuthChallengeResponse::issue_tokens(),
                        _ if r.session.len() >= 2 => DefineAuthChallengeResponse::fail(),
                        _ => DefineAuthChallengeResponse::challenge("CUSTOM_CHALLENGE"),
                    })
                },
                move |r| {
                    record(&s2, "create", &r.request);
                    // The answer depends on the caller's metadata.
                    let answer = r.request.client_metadata.get("expect").cloned().unwrap_or_else(|| "yes".into());
                    Ok(CreateAuthChallengeResponse {
                        public_challenge_parameters: map(&[("question", "say the word")]),
                        private_challenge_parameters: map(&[("answer", &answer)]),
                        challenge_metadata: Some(format!("round-{}", r.request.session.len() + 1)),
                        deliver: None,
                    })
                },
                move |r| {
                    record(&s3, "verify", &r.request);
                    Ok(VerifyAuthChallengeResponse {
                        answer_correct: r.private_challenge_parameters.get("answer") == Some(&r.challenge_answer),
                    })
                },
            ),
        )
        .unwrap();
    let first = f
        .initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[("expect", "swordfish"), ("app", "web")], None)
        .unwrap();
    assert_eq!(first.challenge_name, Some(CustomChallenge));
    let p = first.challenge_parameters.unwrap();
    assert_eq!((p["question"].as_str(), p["USERNAME"].as_str()), ("say the word", "cleo"));
    let wrong = f
        .respond_with(
            CustomChallenge,
            first.session.as_ref(),
            &[("USERNAME", "cleo"), ("ANSWER", "yes")],
            &[("try", "1")],
        )
        .unwrap();
    assert_eq!(wrong.challenge_name, Some(CustomChallenge));
    // The second challenge was created with the RespondToAuthChallenge metadata (no "expect": "yes").
    let done = f
        .respond_with(
            CustomChallenge,
            wrong.session.as_ref(),
            &[("USERNAME", "cleo"), ("ANSWER", "yes")],
            &[("try", "2")],
        )
        .unwrap();
    assert!(done.authentication_result.is_some());

    let seen = seen.lock().unwrap();
    let kv = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    let hooks: Vec<&str> = seen.iter().map(|(h, _, _)| *h).collect();
    assert_eq!(hooks, ["define", "create", "verify", "define", "create", "verify", "define"]);
    let initiate_md = kv(&[("app", "web"), ("expect", "swordfish")]);
    assert_eq!(seen[0].1, initiate_md);
    assert_eq!(seen[1].1, initiate_md);
    assert_eq!(seen[2].1, kv(&[("try", "1")]));
    assert_eq!(seen[3].1, kv(&[("try", "1")]));
    assert_eq!(seen[5].1, kv(&[("try", "2")]));
    // The history grows with each answer, carrying the challenge metadata.
    assert!(seen[0].2.is_empty());
    assert_eq!(
        seen[6].2,
        vec![
            ChallengeResult {
                challenge_name: "CUSTOM_CHALLENGE".into(),
                challenge_result: false,
                challenge_metadata: Some("round-1".into())
            },
            ChallengeResult {
                challenge_name: "CUSTOM_CHALLENGE".into(),
                challenge_result: true,
                challenge_metadata: Some("round-2".into())
            },
        ]
    );
}

#[tokio::test]
async fn a_failing_or_confused_define_hook_is_a_lambda_error() {
    let f = Fixture::with(all_flows()).await;
    f.pool.create_user(&f.pool_id, "cleo", PW, &[]).unwrap();
    let hooks = |define: fn() -> Result<DefineAuthChallengeResponse, String>| {
        CustomAuthHooks::new(
            move |_| define(),
            |_| Ok(CreateAuthChallengeResponse::default()),
            |_| Ok(VerifyAuthChallengeResponse::default()),
        )
    };
    f.pool.set_custom_auth(&f.pool_id, hooks(|| Err("boom".into()))).unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::UserLambdaValidationException, "DefineAuthChallenge failed with error boom.")
    );
    f.pool.set_custom_auth(&f.pool_id, hooks(|| Ok(DefineAuthChallengeResponse::default()))).unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidLambdaResponseException);
    // PASSWORD_VERIFIER without SRP_A cannot be issued.
    f.pool
        .set_custom_auth(&f.pool_id, hooks(|| Ok(DefineAuthChallengeResponse::challenge("PASSWORD_VERIFIER"))))
        .unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidLambdaResponseException);
}

#[tokio::test]
async fn a_confirmed_device_adds_device_srp_after_the_custom_challenge() {
    let f = fixed_answer(false).await;
    f.engine()
        .call::<op::UpdateUserPool>(idp::UpdateUserPoolRequest {
            user_pool_id: f.pool_id.clone(),
            device_configuration: Some(idp::DeviceConfigurationType {
                challenge_required_on_new_device: Some(true),
                device_only_remembered_on_user_prompt: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    let first = start(&f, "cleo");
    let tokens = f
        .respond(CustomChallenge, first.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "42")])
        .unwrap()
        .authentication_result
        .unwrap();
    let meta = tokens.new_device_metadata.clone().unwrap();
    let (device_key, group_key) = (meta.device_key.unwrap(), meta.device_group_key.unwrap());
    let device_password = srp_core::DevicePassword::from_random(&[7u8; 40]);
    let config =
        srp_core::DeviceVerifierConfig::generate(&group_key, &device_key, device_password.expose_secret(), &[0x5a; 16])
            .unwrap();
    f.engine()
        .call::<op::ConfirmDevice>(idp::ConfirmDeviceRequest {
            access_token: Fixture::access_token(&tokens).into(),
            device_key: device_key.clone(),
            device_secret_verifier_config: Some(idp::DeviceSecretVerifierConfigType {
                salt: Some(config.salt().into()),
                password_verifier: Some(config.password_verifier().into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    // As Amplify does: DEVICE_KEY in InitiateAuth and in the answer.
    let first =
        f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo"), ("DEVICE_KEY", &device_key)], &[], None).unwrap();
    assert_eq!(first.challenge_name, Some(CustomChallenge));
    let device = f
        .respond(
            CustomChallenge,
            first.session.as_ref(),
            &[("USERNAME", "cleo"), ("ANSWER", "42"), ("DEVICE_KEY", &device_key)],
        )
        .unwrap();
    assert_eq!(device.challenge_name, Some(ChallengeNameType::DeviceSrpAuth));
    let a = ephemeral();
    let dstep = f
        .respond(
            ChallengeNameType::DeviceSrpAuth,
            device.session.as_ref(),
            &[("USERNAME", "cleo"), ("DEVICE_KEY", &device_key), ("SRP_A", a.srp_a().as_str())],
        )
        .unwrap();
    assert_eq!(dstep.challenge_name, Some(ChallengeNameType::DevicePasswordVerifier));
    let dp = dstep.challenge_parameters.unwrap();
    let ts = srp_core::Timestamp::from_unix_seconds(1_763_850_000).unwrap();
    let sig = a
        .sign(
            &srp_core::Identity::device(&group_key, &device_key, device_password.expose_secret()).unwrap(),
            &srp_core::Challenge { srp_b: &dp["SRP_B"], salt: &dp["SALT"], secret_block: &dp["SECRET_BLOCK"] },
            ts.as_str(),
        )
        .unwrap();
    let done = f
        .respond(
            ChallengeNameType::DevicePasswordVerifier,
            dstep.session.as_ref(),
            &[
                ("USERNAME", "cleo"),
                ("DEVICE_KEY", &device_key),
                ("PASSWORD_CLAIM_SECRET_BLOCK", &dp["SECRET_BLOCK"]),
                ("PASSWORD_CLAIM_SIGNATURE", sig.as_str()),
                ("TIMESTAMP", ts.as_str()),
            ],
        )
        .unwrap();
    let result = done.authentication_result.unwrap();
    assert!(result.access_token.is_some());
    assert!(result.new_device_metadata.is_none());
    // A device key the pool does not know: "Device does not exist." once the answer is right.
    let first = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "cleo")], &[], None).unwrap();
    let err = f
        .respond(
            CustomChallenge,
            first.session.as_ref(),
            &[("USERNAME", "cleo"), ("ANSWER", "42"), ("DEVICE_KEY", "us-east-1_nope")],
        )
        .unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (ErrorCode::ResourceNotFoundException, "Device does not exist."));
}

#[tokio::test]
async fn hidden_unknown_users_get_challenges_that_never_succeed() {
    let f = Fixture::with(all_flows()).await;
    f.pool
        .set_custom_auth_config(
            &f.pool_id,
            CustomAuthConfig::FixedAnswer { answer: "42".into(), require_password: false, max_attempts: 3 },
        )
        .unwrap();
    let err = f.initiate(AuthFlowType::CustomAuth, &[("USERNAME", "ghost")], &[], None).unwrap_err();
    assert_eq!(err.code, ErrorCode::UserNotFoundException);
    f.engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: f.pool_id.clone(),
            client_id: f.client_id.as_str().into(),
            prevent_user_existence_errors: Some(idp::PreventUserExistenceErrorTypes::Enabled),
            explicit_auth_flows: Some(all_flows().explicit_auth_flows.iter().map(|s| s.as_str().into()).collect()),
            ..Default::default()
        })
        .unwrap();
    let first = start(&f, "ghost");
    assert_eq!(first.challenge_name, Some(CustomChallenge));
    let err =
        f.respond(CustomChallenge, first.session.as_ref(), &[("USERNAME", "ghost"), ("ANSWER", "42")]).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::NotAuthorizedException, "Incorrect username or password.")
    );
}

#[tokio::test]
async fn the_config_file_selects_built_in_hooks_and_first_factors() {
    let dir = std::env::temp_dir().join(format!("local-pool-custom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pools.json");
    std::fs::write(
        &file,
        r#"{"pools": [{
            "name": "hooks",
            "first_auth_factors": ["PASSWORD", "EMAIL_OTP"],
            "custom_auth": {"kind": "fixed_answer", "answer": "42"},
            "clients": [{"name": "web", "explicit_auth_flows": ["ALLOW_CUSTOM_AUTH", "ALLOW_USER_AUTH"]}],
            "users": [{"username": "cleo", "password": "Correct-Horse-1",
                       "attributes": {"email": "cleo@example.com", "email_verified": "true"}}]
        }]}"#,
    )
    .unwrap();
    let pool =
        local_pool::LocalPool::start_with(local_pool::Options { config: Some(file.clone()), ..Default::default() })
            .await
            .unwrap();
    let pools = pool
        .engine()
        .call::<op::ListUserPools>(idp::ListUserPoolsRequest { max_results: 10, ..Default::default() })
        .unwrap()
        .user_pools
        .unwrap();
    let pool_id = pools[0].id.clone().unwrap();
    let clients = pool
        .engine()
        .call::<op::ListUserPoolClients>(idp::ListUserPoolClientsRequest {
            user_pool_id: pool_id.clone(),
            ..Default::default()
        })
        .unwrap()
        .user_pool_clients
        .unwrap();
    let client_id = clients[0].client_id.as_ref().unwrap().expose().clone();
    let f = Fixture { pool, pool_id, client_id };
    let first = start(&f, "cleo");
    assert_eq!(first.challenge_name, Some(CustomChallenge));
    let done = f.respond(CustomChallenge, first.session.as_ref(), &[("USERNAME", "cleo"), ("ANSWER", "42")]).unwrap();
    assert!(done.authentication_result.is_some());
    let select = f.initiate(AuthFlowType::UserAuth, &[("USERNAME", "cleo")], &[], None).unwrap();
    assert_eq!(
        select.available_challenges,
        Some(vec![ChallengeNameType::Password, ChallengeNameType::PasswordSrp, ChallengeNameType::EmailOtp])
    );
    // Unknown kinds and factors are refused.
    for bad in [
        r#"{"pools": [{"name": "x", "custom_auth": {"kind": "lambda"}}]}"#,
        r#"{"pools": [{"name": "y", "first_auth_factors": ["MAGIC_LINK"]}]}"#,
    ] {
        std::fs::write(&file, bad).unwrap();
        let err =
            local_pool::LocalPool::start_with(local_pool::Options { config: Some(file.clone()), ..Default::default() })
                .await
                .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
