//! End-user and admin flows against the engine, with the client half of
//! SRP from srp-core (the same maths a real client runs).

// Test helpers unwrap: a failure there is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine as _;
use cognito_wire::cognito_idp::{self as idp, AuthFlowType, ChallengeNameType, operation as op};
use cognito_wire::{ErrorCode, Sensitive};
use local_pool::{ClientOptions, Engine, Fail, LocalPool};

struct Fixture {
    pool: LocalPool,
    pool_id: String,
    client_id: String,
}

impl Fixture {
    async fn new() -> Self {
        Self::with(ClientOptions::default()).await
    }

    async fn with(options: ClientOptions) -> Self {
        let pool = LocalPool::start().await.unwrap();
        let pool_id = pool.create_pool("test").unwrap();
        let client = pool.create_client(&pool_id, options).unwrap();
        Self { pool, pool_id, client_id: client.client_id }
    }

    fn engine(&self) -> &Engine {
        self.pool.engine()
    }

    fn sign_up(&self, username: &str, password: &str, email: &str) -> Result<idp::SignUpResponse, Fail> {
        self.engine().call::<op::SignUp>(idp::SignUpRequest {
            client_id: self.client_id.as_str().into(),
            username: username.into(),
            password: Some(password.into()),
            user_attributes: Some(vec![attr("email", email)]),
            ..Default::default()
        })
    }

    fn confirm(&self, username: &str) {
        let code = self.pool.last_code(&self.pool_id, username).unwrap();
        self.engine()
            .call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
                client_id: self.client_id.as_str().into(),
                username: username.into(),
                confirmation_code: code,
                ..Default::default()
            })
            .unwrap();
    }

    /// A full USER_SRP_AUTH sign-in, as a client computes it.
    fn srp_sign_in(&self, username: &str, password: &str) -> Result<idp::RespondToAuthChallengeResponse, Fail> {
        let mut random = [0u8; 128];
        getrandom_fill(&mut random);
        let ephemeral = srp_core::ClientEphemeral::from_random(&random).unwrap();
        let start = self.engine().call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::UserSrpAuth,
            client_id: self.client_id.as_str().into(),
            auth_parameters: Some(params(&[("USERNAME", username), ("SRP_A", ephemeral.srp_a().as_str())])),
            ..Default::default()
        })?;
        assert_eq!(start.challenge_name, Some(ChallengeNameType::PasswordVerifier));
        let p = start.challenge_parameters.unwrap();
        let identity = srp_core::Identity::user(&self.pool_id, &p["USER_ID_FOR_SRP"], password).unwrap();
        let challenge = srp_core::Challenge { srp_b: &p["SRP_B"], salt: &p["SALT"], secret_block: &p["SECRET_BLOCK"] };
        let ts = srp_core::Timestamp::from_unix_seconds(1_763_850_000).unwrap();
        let signature = ephemeral.sign(&identity, &challenge, ts.as_str()).unwrap();
        self.engine().call::<op::RespondToAuthChallenge>(idp::RespondToAuthChallengeRequest {
            client_id: self.client_id.as_str().into(),
            challenge_name: ChallengeNameType::PasswordVerifier,
            challenge_responses: Some(params(&[
                ("USERNAME", &p["USER_ID_FOR_SRP"]),
                ("PASSWORD_CLAIM_SECRET_BLOCK", &p["SECRET_BLOCK"]),
                ("PASSWORD_CLAIM_SIGNATURE", signature.as_str()),
                ("TIMESTAMP", ts.as_str()),
            ])),
            ..Default::default()
        })
    }

    fn tokens(&self, username: &str, password: &str) -> idp::AuthenticationResultType {
        self.srp_sign_in(username, password).unwrap().authentication_result.unwrap()
    }

    fn get_user(&self, access: &str) -> Result<idp::GetUserResponse, Fail> {
        self.engine().call::<op::GetUser>(idp::GetUserRequest { access_token: access.into(), ..Default::default() })
    }
}

fn getrandom_fill(buf: &mut [u8]) {
    // Test randomness: distinct per call is all that matters here.
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32 % 64) >> 24) as u8 ^ i as u8;
    }
}

fn attr(name: &str, value: &str) -> idp::AttributeType {
    idp::AttributeType { name: name.into(), value: Some(value.into()), ..Default::default() }
}

fn params(pairs: &[(&str, &str)]) -> Sensitive<BTreeMap<String, String>> {
    Sensitive::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

const PW: &str = "Correct-Horse-1";

#[tokio::test]
async fn sign_up_confirm_and_srp_sign_in() {
    let f = Fixture::new().await;
    let out = f.sign_up("alice", PW, "alice@example.com").unwrap();
    assert!(!out.user_confirmed);
    let delivery = out.code_delivery_details.unwrap();
    assert_eq!(delivery.destination.as_deref(), Some("a***@e***"));
    // Not confirmed yet.
    let err = f.srp_sign_in("alice", PW).unwrap_err();
    assert_eq!(err.code, ErrorCode::UserNotConfirmedException);
    // A wrong code, then the right one.
    let err = f
        .engine()
        .call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: "alice".into(),
            confirmation_code: "000000x".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::CodeMismatchException);
    assert_eq!(err.message, "Invalid verification code provided, please try again.");
    f.confirm("alice");
    let tokens = f.tokens("alice", PW);
    let id = claims(tokens.id_token.as_ref().unwrap().expose());
    assert_eq!(id["cognito:username"], "alice");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["aud"], f.client_id.as_str());
    let access = claims(tokens.access_token.as_ref().unwrap().expose());
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], f.client_id.as_str());
    assert_eq!(access["sub"], id["sub"]);
    assert_eq!(access["iss"], format!("{}/{}", f.pool.endpoint(), f.pool_id));
    let user = f.get_user(tokens.access_token.as_ref().unwrap().expose()).unwrap();
    assert_eq!(user.username.expose(), "alice");
    // The JWKS holds the key the token names.
    let jwks = f.engine().jwks(&f.pool_id).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], decode_header(tokens.id_token.as_ref().unwrap().expose())["kid"].clone());
    // Duplicate sign-up.
    assert_eq!(f.sign_up("alice", PW, "x@example.com").unwrap_err().code, ErrorCode::UsernameExistsException);
}

fn decode_header(jwt: &str) -> serde_json::Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn wrong_passwords_fail_and_lock_out() {
    let f = Fixture::new().await;
    f.pool.create_user(&f.pool_id, "bob", PW, &[("email", "bob@example.com")]).unwrap();
    let err = f.srp_sign_in("bob", "Wrong-Horse-1").unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::NotAuthorizedException, "Incorrect username or password.")
    );
    let err = f.srp_sign_in("nobody", PW).unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (ErrorCode::UserNotFoundException, "User does not exist."));
    for _ in 0..5 {
        let _ = f.srp_sign_in("bob", "Wrong-Horse-1");
    }
    let err = f.srp_sign_in("bob", PW).unwrap_err();
    assert_eq!(err.message, "Password attempts exceeded");
    f.engine().advance_clock(3600);
    assert!(f.srp_sign_in("bob", PW).is_ok());
}

#[tokio::test]
async fn password_auth_is_enforced_by_the_client_settings() {
    let f =
        Fixture::with(ClientOptions { explicit_auth_flows: vec!["ALLOW_USER_SRP_AUTH".into()], ..Default::default() })
            .await;
    f.pool.create_user(&f.pool_id, "carol", PW, &[]).unwrap();
    let err = f
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::UserPasswordAuth,
            client_id: f.client_id.as_str().into(),
            auth_parameters: Some(params(&[("USERNAME", "carol"), ("PASSWORD", PW)])),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
    assert_eq!(err.message, "USER_PASSWORD_AUTH flow not enabled for this client");

    let g = Fixture::new().await;
    g.pool.create_user(&g.pool_id, "carol", PW, &[]).unwrap();
    let ok = g
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::UserPasswordAuth,
            client_id: g.client_id.as_str().into(),
            auth_parameters: Some(params(&[("USERNAME", "carol"), ("PASSWORD", PW)])),
            ..Default::default()
        })
        .unwrap();
    assert!(ok.authentication_result.unwrap().access_token.is_some());
}

#[tokio::test]
async fn refresh_revoke_and_global_sign_out() {
    let f = Fixture::new().await;
    f.pool.create_user(&f.pool_id, "dave", PW, &[]).unwrap();
    let t = f.tokens("dave", PW);
    let refresh = t.refresh_token.as_ref().unwrap().expose().clone();
    let refreshed = f
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::RefreshTokenAuth,
            client_id: f.client_id.as_str().into(),
            auth_parameters: Some(params(&[("REFRESH_TOKEN", &refresh)])),
            ..Default::default()
        })
        .unwrap()
        .authentication_result
        .unwrap();
    assert!(refreshed.refresh_token.is_none());
    let again = f
        .engine()
        .call::<op::GetTokensFromRefreshToken>(idp::GetTokensFromRefreshTokenRequest {
            client_id: f.client_id.as_str().into(),
            refresh_token: refresh.as_str().into(),
            ..Default::default()
        })
        .unwrap();
    let new_access = again.authentication_result.unwrap().access_token.unwrap().expose().clone();
    f.get_user(&new_access).unwrap();
    // Revoking the refresh token voids it and every access token it produced.
    f.engine()
        .call::<op::RevokeToken>(idp::RevokeTokenRequest {
            client_id: f.client_id.as_str().into(),
            token: refresh.as_str().into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(f.get_user(&new_access).unwrap_err().message, "Access Token has been revoked");
    assert_eq!(
        f.get_user(t.access_token.as_ref().unwrap().expose()).unwrap_err().code,
        ErrorCode::NotAuthorizedException
    );
    let err = f
        .engine()
        .call::<op::GetTokensFromRefreshToken>(idp::GetTokensFromRefreshTokenRequest {
            client_id: f.client_id.as_str().into(),
            refresh_token: refresh.as_str().into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);

    // Global sign-out voids everything issued before it.
    let t2 = f.tokens("dave", PW);
    let access = t2.access_token.as_ref().unwrap().expose().clone();
    f.engine()
        .call::<op::GlobalSignOut>(idp::GlobalSignOutRequest {
            access_token: access.as_str().into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(f.get_user(&access).unwrap_err().code, ErrorCode::NotAuthorizedException);
    let refresh2 = t2.refresh_token.as_ref().unwrap().expose().clone();
    let err = f
        .engine()
        .call::<op::GetTokensFromRefreshToken>(idp::GetTokensFromRefreshTokenRequest {
            client_id: f.client_id.as_str().into(),
            refresh_token: refresh2.as_str().into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
    // A sign-in right after it, within the same second of the pool's clock,
    // gets working tokens (Cognito voids only what was issued before).
    let before = f.now();
    let fresh = f.tokens("dave", PW);
    f.get_user(fresh.access_token.as_ref().unwrap().expose()).unwrap();
    if f.now() == before {
        assert_eq!(claims(fresh.access_token.as_ref().unwrap().expose())["iat"], before);
    }
    // Expired access tokens are refused.
    f.engine().advance_clock(5);
    let t3 = f.tokens("dave", PW);
    f.get_user(t3.access_token.as_ref().unwrap().expose()).unwrap();
    f.engine().advance_clock(3601);
    assert_eq!(f.get_user(t3.access_token.as_ref().unwrap().expose()).unwrap_err().message, "Access Token has expired");
}

#[tokio::test]
async fn changing_email_unverifies_it_and_sends_a_code() {
    let f = Fixture::new().await;
    f.sign_up("erin", PW, "erin@example.com").unwrap();
    f.confirm("erin");
    let access = f.tokens("erin", PW).access_token.unwrap().expose().clone();
    let out = f
        .engine()
        .call::<op::UpdateUserAttributes>(idp::UpdateUserAttributesRequest {
            access_token: access.as_str().into(),
            user_attributes: vec![attr("email", "erin2@example.com"), attr("name", "Erin")],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(out.code_delivery_details_list.unwrap()[0].attribute_name.as_deref(), Some("email"));
    let attrs = |f: &Fixture| -> BTreeMap<String, String> {
        f.get_user(&access)
            .unwrap()
            .user_attributes
            .into_iter()
            .map(|a| (a.name, a.value.map(|v| v.expose().clone()).unwrap_or_default()))
            .collect()
    };
    assert_eq!(attrs(&f)["email_verified"], "false");
    assert_eq!(attrs(&f)["name"], "Erin");
    let message = f.pool.outbox(Some(&f.pool_id), Some("erin")).pop().unwrap();
    assert_eq!((message.kind.as_str(), message.destination.as_str()), ("attribute_verification", "erin2@example.com"));
    f.engine()
        .call::<op::VerifyUserAttribute>(idp::VerifyUserAttributeRequest {
            access_token: access.as_str().into(),
            attribute_name: "email".into(),
            code: message.code,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(attrs(&f)["email_verified"], "true");
    // Users cannot verify themselves, nor write unknown attributes.
    for bad in [attr("email_verified", "true"), attr("shoe_size", "9"), attr("custom:nope", "1")] {
        let err = f
            .engine()
            .call::<op::UpdateUserAttributes>(idp::UpdateUserAttributesRequest {
                access_token: access.as_str().into(),
                user_attributes: vec![bad],
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err.code, ErrorCode::NotAuthorizedException | ErrorCode::InvalidParameterException), "{err}");
    }
}

#[tokio::test]
async fn forgot_password_and_change_password() {
    let f = Fixture::new().await;
    f.sign_up("frank", PW, "frank@example.com").unwrap();
    f.confirm("frank");
    f.engine()
        .call::<op::ForgotPassword>(idp::ForgotPasswordRequest {
            client_id: f.client_id.as_str().into(),
            username: "frank".into(),
            ..Default::default()
        })
        .unwrap();
    let code = f.pool.last_code(&f.pool_id, "frank").unwrap();
    let weak = f
        .engine()
        .call::<op::ConfirmForgotPassword>(idp::ConfirmForgotPasswordRequest {
            client_id: f.client_id.as_str().into(),
            username: "frank".into(),
            confirmation_code: code.clone(),
            password: "weak".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(weak.code, ErrorCode::InvalidPasswordException);
    f.engine()
        .call::<op::ConfirmForgotPassword>(idp::ConfirmForgotPasswordRequest {
            client_id: f.client_id.as_str().into(),
            username: "frank".into(),
            confirmation_code: code,
            password: "New-Horse-22".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(f.srp_sign_in("frank", PW).is_err());
    let access = f.tokens("frank", "New-Horse-22").access_token.unwrap().expose().clone();
    let err = f
        .engine()
        .call::<op::ChangePassword>(idp::ChangePasswordRequest {
            access_token: access.as_str().into(),
            previous_password: Some("wrong".into()),
            proposed_password: "Third-Horse-3".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
    f.engine()
        .call::<op::ChangePassword>(idp::ChangePasswordRequest {
            access_token: access.as_str().into(),
            previous_password: Some("New-Horse-22".into()),
            proposed_password: "Third-Horse-3".into(),
            ..Default::default()
        })
        .unwrap();
    f.tokens("frank", "Third-Horse-3");
}

#[tokio::test]
async fn admin_created_users_must_choose_a_new_password() {
    let f = Fixture::new().await;
    f.engine()
        .call::<op::AdminCreateUser>(idp::AdminCreateUserRequest {
            user_pool_id: f.pool_id.clone(),
            username: "gina".into(),
            temporary_password: Some("Temp-Pass-123".into()),
            user_attributes: Some(vec![attr("email", "gina@example.com")]),
            ..Default::default()
        })
        .unwrap();
    let invite = f.pool.outbox(Some(&f.pool_id), Some("gina")).pop().unwrap();
    assert_eq!((invite.kind.as_str(), invite.code.as_str()), ("admin_invitation", "Temp-Pass-123"));
    let out = f.srp_sign_in("gina", "Temp-Pass-123").unwrap();
    assert_eq!(out.challenge_name, Some(ChallengeNameType::NewPasswordRequired));
    let p = out.challenge_parameters.unwrap();
    assert_eq!(cognito_wire::challenge::user_attributes(&p["userAttributes"]).unwrap()["email"], "gina@example.com");
    let done = f
        .engine()
        .call::<op::RespondToAuthChallenge>(idp::RespondToAuthChallengeRequest {
            client_id: f.client_id.as_str().into(),
            challenge_name: ChallengeNameType::NewPasswordRequired,
            session: out.session.clone(),
            challenge_responses: Some(params(&[
                ("USERNAME", "gina"),
                ("NEW_PASSWORD", "Final-Pass-456"),
                ("userAttributes.name", "Gina"),
            ])),
            ..Default::default()
        })
        .unwrap();
    assert!(done.authentication_result.is_some());
    // The session is single-use.
    let replay = f
        .engine()
        .call::<op::RespondToAuthChallenge>(idp::RespondToAuthChallengeRequest {
            client_id: f.client_id.as_str().into(),
            challenge_name: ChallengeNameType::NewPasswordRequired,
            session: out.session,
            challenge_responses: Some(params(&[("USERNAME", "gina"), ("NEW_PASSWORD", "Other-Pass-789")])),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(replay.code, ErrorCode::NotAuthorizedException);
    let user = f
        .engine()
        .call::<op::AdminGetUser>(idp::AdminGetUserRequest {
            user_pool_id: f.pool_id.clone(),
            username: "gina".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(user.user_status, Some(idp::UserStatusType::Confirmed));
    f.tokens("gina", "Final-Pass-456");
}

#[tokio::test]
async fn client_secrets_require_a_secret_hash() {
    let f = Fixture::with(ClientOptions { secret: true, ..Default::default() }).await;
    let secret = {
        let out = f
            .engine()
            .call::<op::DescribeUserPoolClient>(idp::DescribeUserPoolClientRequest {
                user_pool_id: f.pool_id.clone(),
                client_id: f.client_id.as_str().into(),
                ..Default::default()
            })
            .unwrap();
        out.user_pool_client.unwrap().client_secret.unwrap().expose().clone()
    };
    let err = f.sign_up("hank", PW, "hank@example.com").unwrap_err();
    assert_eq!(err.message, format!("Unable to verify secret hash for client {}", f.client_id));
    let hash = srp_core::secret_hash(&secret, "hank", &f.client_id).unwrap();
    f.engine()
        .call::<op::SignUp>(idp::SignUpRequest {
            client_id: f.client_id.as_str().into(),
            secret_hash: Some(hash.as_str().into()),
            username: "hank".into(),
            password: Some(PW.into()),
            user_attributes: Some(vec![attr("email", "hank@example.com")]),
            ..Default::default()
        })
        .unwrap();
}

#[tokio::test]
async fn groups_appear_in_tokens_and_list_users_filters() {
    let f = Fixture::new().await;
    for (name, email) in [("ivan", "ivan@example.com"), ("ivy", "ivy@other.org"), ("jack", "jack@example.com")] {
        f.pool.create_user(&f.pool_id, name, PW, &[("email", email)]).unwrap();
    }
    f.engine()
        .call::<op::CreateGroup>(idp::CreateGroupRequest {
            user_pool_id: f.pool_id.clone(),
            group_name: "admins".into(),
            ..Default::default()
        })
        .unwrap();
    f.engine()
        .call::<op::AdminAddUserToGroup>(idp::AdminAddUserToGroupRequest {
            user_pool_id: f.pool_id.clone(),
            username: "ivan".into(),
            group_name: "admins".into(),
            ..Default::default()
        })
        .unwrap();
    let access = claims(f.tokens("ivan", PW).access_token.unwrap().expose());
    assert_eq!(access["cognito:groups"], serde_json::json!(["admins"]));
    let list = |filter: &str| -> Vec<String> {
        f.engine()
            .call::<op::ListUsers>(idp::ListUsersRequest {
                user_pool_id: f.pool_id.clone(),
                filter: Some(filter.into()),
                ..Default::default()
            })
            .unwrap()
            .users
            .unwrap()
            .into_iter()
            .map(|u| u.username.unwrap().expose().clone())
            .collect()
    };
    assert_eq!(list("username ^= \"iv\""), ["ivan", "ivy"]);
    assert_eq!(list("email = \"jack@example.com\""), ["jack"]);
    let members = f
        .engine()
        .call::<op::ListUsersInGroup>(idp::ListUsersInGroupRequest {
            user_pool_id: f.pool_id.clone(),
            group_name: "admins".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(members.users.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_requests_get_cognito_errors() {
    let f = Fixture::new().await;
    let e = f.engine();
    let status_and_type = |r: http::Response<Vec<u8>>| {
        let err = cognito_wire::decode_error(r.status().as_u16(), r.headers(), r.body()).unwrap();
        (r.status().as_u16(), err.code.as_str().to_owned())
    };
    assert_eq!(
        status_and_type(e.handle("AWSCognitoIdentityProviderService.InitiateAuth", b"{\"AuthFlow\":")),
        (400, "SerializationException".into())
    );
    assert_eq!(
        status_and_type(e.handle("AWSCognitoIdentityProviderService.InitiateAuth", b"{}")),
        (400, "InvalidParameterException".into())
    );
    assert_eq!(
        status_and_type(e.handle("AWSCognitoIdentityProviderService.Nope", b"{}")),
        (400, "UnknownOperationException".into())
    );
    assert_eq!(status_and_type(e.handle("", b"")), (400, "UnknownOperationException".into()));
    assert_eq!(
        status_and_type(e.handle("AWSCognitoIdentityProviderService.GetUser", b"{\"AccessToken\":\"x.y.z\"}")),
        (400, "NotAuthorizedException".into())
    );
    let huge = vec![b' '; local_pool::MAX_BODY + 1];
    assert_eq!(
        status_and_type(e.handle("AWSCognitoIdentityProviderService.GetUser", &huge)),
        (400, "InvalidParameterException".into())
    );
    // Arbitrary bytes never panic.
    for body in [&b"\xff\xfe"[..], b"null", b"[]", b"{\"ClientId\":{}}", b"{\"AuthFlow\":\"USER_SRP_AUTH\",\"ClientId\":\"nope\",\"AuthParameters\":{\"USERNAME\":\"a\",\"SRP_A\":\"zz\"}}"] {
        let r = e.handle("AWSCognitoIdentityProviderService.InitiateAuth", body);
        assert_eq!(r.status(), 400);
    }
}

#[tokio::test]
async fn state_survives_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(format!("local-pool-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() };
    let pool = LocalPool::start_with(options.clone()).await.unwrap();
    let pool_id = pool.create_pool("persisted").unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    pool.create_user(&pool_id, "kate", PW, &[]).unwrap();
    pool.stop().await;
    let again = LocalPool::start_with(options).await.unwrap();
    let f = Fixture { pool: again, pool_id, client_id: client.client_id };
    f.tokens("kate", PW);
    f.pool.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `StateSaver::save` writes the state at once (a process about to exit on
/// a signal cannot wait for the background save): a pool started on a copy
/// of the directory right after it knows the new user. In-memory pools have
/// no saver.
#[tokio::test]
async fn a_state_saver_saves_on_demand() {
    let dir = std::env::temp_dir().join(format!("local-pool-saver-{}", std::process::id()));
    let copy = dir.with_extension("copy");
    for d in [&dir, &copy] {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(LocalPool::start().await.unwrap().state_saver().is_none());
    let pool =
        LocalPool::start_with(local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() }).await.unwrap();
    let pool_id = pool.create_pool("saved").unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    pool.create_user(&pool_id, "mona", PW, &[]).unwrap();
    pool.state_saver().unwrap().save().unwrap();
    // Copied at once, before the background save (about 250 ms) could run.
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let again = LocalPool::start_with(local_pool::Options { data_dir: Some(copy.clone()), ..Default::default() })
        .await
        .unwrap();
    let f = Fixture { pool: again, pool_id, client_id: client.client_id };
    f.tokens("mona", PW);
    f.pool.stop().await;
    pool.stop().await;
    for d in [&dir, &copy] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test]
async fn the_http_endpoint_serves_json_and_the_outbox() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let f = Fixture::new().await;
    f.sign_up("lena", PW, "lena@example.com").unwrap();
    let addr = f.pool.endpoint().trim_start_matches("http://").to_owned();
    let request = |raw: String| {
        let addr = addr.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(raw.as_bytes()).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    let body = format!(
        "{{\"ClientId\":\"{}\",\"Username\":\"lena\",\"ConfirmationCode\":\"{}\"}}",
        f.client_id,
        f.pool.last_code(&f.pool_id, "lena").unwrap()
    );
    let response = request(format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AWSCognitoIdentityProviderService.ConfirmSignUp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let outbox = request(format!(
        "GET /_local-pool/outbox?pool={}&user=lena HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        f.pool_id
    ))
    .await;
    assert!(outbox.contains("\"kind\":\"sign_up\""), "{outbox}");
    let jwks =
        request(format!("GET /{}/.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", f.pool_id))
            .await;
    assert!(jwks.contains("\"kty\":\"RSA\""), "{jwks}");
    let missing = request("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into()).await;
    assert!(missing.starts_with("HTTP/1.1 404"));
}

/// A pool created with explicit settings, and one client.
fn custom_pool(
    pool: &LocalPool,
    request: idp::CreateUserPoolRequest,
    client: idp::CreateUserPoolClientRequest,
) -> (String, String) {
    let pool_id = pool.engine().call::<op::CreateUserPool>(request).unwrap().user_pool.unwrap().id.unwrap();
    let client = pool
        .engine()
        .call::<op::CreateUserPoolClient>(idp::CreateUserPoolClientRequest { user_pool_id: pool_id.clone(), ..client })
        .unwrap();
    (pool_id, client.user_pool_client.unwrap().client_id.unwrap().expose().clone())
}

fn client_request() -> idp::CreateUserPoolClientRequest {
    idp::CreateUserPoolClientRequest {
        client_name: "c".into(),
        explicit_auth_flows: Some(vec!["ALLOW_USER_SRP_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()]),
        ..Default::default()
    }
}

#[tokio::test]
async fn email_as_username_and_case_insensitive_pools() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = custom_pool(
        &pool,
        idp::CreateUserPoolRequest {
            pool_name: "emails".into(),
            username_attributes: Some(vec![idp::UsernameAttributeType::Email]),
            username_configuration: Some(idp::UsernameConfigurationType {
                case_sensitive: false,
                ..Default::default()
            }),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            ..Default::default()
        },
        client_request(),
    );
    let f = Fixture { pool, pool_id, client_id };
    let out = f
        .engine()
        .call::<op::SignUp>(idp::SignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: "Mia@Example.com".into(),
            password: Some(PW.into()),
            ..Default::default()
        })
        .unwrap();
    // The username is the sub (a UUID); the email is an attribute.
    let code = f.pool.outbox(Some(&f.pool_id), Some("Mia@Example.com")).pop().unwrap().code;
    f.engine()
        .call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: "mia@example.com".into(),
            confirmation_code: code,
            ..Default::default()
        })
        .unwrap();
    let tokens = f.tokens("MIA@example.com", PW);
    let id = claims(tokens.id_token.unwrap().expose());
    assert_eq!(id["cognito:username"], out.user_sub.as_str());
    assert_eq!(id["email"], "Mia@Example.com");
    // Not an email: refused.
    let err = f
        .engine()
        .call::<op::SignUp>(idp::SignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: "plainname".into(),
            password: Some(PW.into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
}

#[tokio::test]
async fn prevent_user_existence_errors_hides_unknown_users() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = custom_pool(
        &pool,
        idp::CreateUserPoolRequest { pool_name: "hidden".into(), ..Default::default() },
        idp::CreateUserPoolClientRequest {
            prevent_user_existence_errors: Some(idp::PreventUserExistenceErrorTypes::Enabled),
            ..client_request()
        },
    );
    let f = Fixture { pool, pool_id, client_id };
    // An unknown user gets a challenge like anyone else, then the same error as a wrong password.
    let err = f.srp_sign_in("ghost", PW).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::NotAuthorizedException, "Incorrect username or password.")
    );
}

#[tokio::test]
async fn custom_and_required_attributes_follow_the_schema() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = custom_pool(
        &pool,
        idp::CreateUserPoolRequest {
            pool_name: "schema".into(),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            schema: Some(vec![
                idp::SchemaAttributeType {
                    name: Some("name".into()),
                    attribute_data_type: Some(idp::AttributeDataType::String),
                    required: Some(true),
                    ..Default::default()
                },
                idp::SchemaAttributeType {
                    name: Some("level".into()),
                    attribute_data_type: Some(idp::AttributeDataType::Number),
                    ..Default::default()
                },
                idp::SchemaAttributeType {
                    name: Some("nick".into()),
                    attribute_data_type: Some(idp::AttributeDataType::String),
                    string_attribute_constraints: Some(idp::StringAttributeConstraintsType {
                        max_length: Some("4".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
        client_request(),
    );
    let f = Fixture { pool, pool_id, client_id };
    let sign_up = |attrs: Vec<idp::AttributeType>, name: &str| {
        f.engine().call::<op::SignUp>(idp::SignUpRequest {
            client_id: f.client_id.as_str().into(),
            username: name.into(),
            password: Some(PW.into()),
            user_attributes: Some(attrs),
            ..Default::default()
        })
    };
    let missing = sign_up(vec![attr("email", "n@example.com")], "nina").unwrap_err();
    assert!(missing.message.contains("name: The attribute is required"), "{missing}");
    let not_number = sign_up(vec![attr("name", "Nina"), attr("custom:level", "high")], "nina").unwrap_err();
    assert_eq!(not_number.code, ErrorCode::InvalidParameterException);
    let too_long = sign_up(vec![attr("name", "Nina"), attr("custom:nick", "ninja")], "nina").unwrap_err();
    assert_eq!(too_long.code, ErrorCode::InvalidParameterException);
    sign_up(
        vec![
            attr("name", "Nina"),
            attr("custom:level", "3"),
            attr("custom:nick", "nin"),
            attr("email", "n@example.com"),
        ],
        "nina",
    )
    .unwrap();
}

#[tokio::test]
async fn token_lifetimes_follow_the_client_settings() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = custom_pool(
        &pool,
        idp::CreateUserPoolRequest { pool_name: "short".into(), ..Default::default() },
        idp::CreateUserPoolClientRequest {
            access_token_validity: Some(5),
            id_token_validity: Some(10),
            token_validity_units: Some(idp::TokenValidityUnitsType {
                access_token: Some(idp::TimeUnitsType::Minutes),
                id_token: Some(idp::TimeUnitsType::Minutes),
                ..Default::default()
            }),
            ..client_request()
        },
    );
    let f = Fixture { pool, pool_id, client_id };
    f.pool.create_user(&f.pool_id, "olga", PW, &[]).unwrap();
    let t = f.tokens("olga", PW);
    assert_eq!(t.expires_in, Some(300));
    let access = claims(t.access_token.as_ref().unwrap().expose());
    let id = claims(t.id_token.as_ref().unwrap().expose());
    assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 300);
    assert_eq!(id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(), 600);
}

#[tokio::test]
async fn a_torn_or_foreign_state_file_is_refused_not_overwritten() {
    let dir = std::env::temp_dir().join(format!("local-pool-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), b"{\"pools\": {\"us-east-1_x\": ").unwrap();
    let err = LocalPool::start_with(local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("move it aside"), "{err}");
    assert_eq!(std::fs::read(dir.join("state.json")).unwrap(), b"{\"pools\": {\"us-east-1_x\": ");
    let _ = std::fs::remove_dir_all(&dir);
}

fn mfa_pool(pool: &LocalPool, mode: idp::UserPoolMfaType, sms: bool, totp: bool, email: bool) -> (String, String) {
    let (pool_id, client_id) = custom_pool(
        pool,
        idp::CreateUserPoolRequest {
            pool_name: "mfa".into(),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            ..Default::default()
        },
        client_request(),
    );
    pool.engine()
        .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
            user_pool_id: pool_id.clone(),
            mfa_configuration: Some(mode),
            sms_mfa_configuration: sms.then(Default::default),
            software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                enabled: Some(totp),
                ..Default::default()
            }),
            email_mfa_configuration: email.then(Default::default),
            ..Default::default()
        })
        .unwrap();
    (pool_id, client_id)
}

impl Fixture {
    fn respond(
        &self,
        name: ChallengeNameType,
        session: Option<Sensitive<String>>,
        pairs: &[(&str, &str)],
    ) -> Result<idp::RespondToAuthChallengeResponse, Fail> {
        self.engine().call::<op::RespondToAuthChallenge>(idp::RespondToAuthChallengeRequest {
            client_id: self.client_id.as_str().into(),
            challenge_name: name,
            session,
            challenge_responses: Some(params(pairs)),
            ..Default::default()
        })
    }

    fn now(&self) -> i64 {
        self.engine().now()
    }
}

#[tokio::test]
async fn totp_enrolment_by_access_token_then_challenge_with_retry() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = mfa_pool(&pool, idp::UserPoolMfaType::Optional, false, true, false);
    let f = Fixture { pool, pool_id, client_id };
    f.pool.create_user(&f.pool_id, "pia", PW, &[("email", "pia@example.com")]).unwrap();
    // Optional MFA and none set up: straight to tokens.
    let access = f.tokens("pia", PW).access_token.unwrap().expose().clone();
    // Enabling TOTP before verifying a token is refused.
    let err = f
        .engine()
        .call::<op::SetUserMFAPreference>(idp::SetUserMFAPreferenceRequest {
            access_token: access.as_str().into(),
            software_token_mfa_settings: Some(idp::SoftwareTokenMfaSettingsType {
                enabled: Some(true),
                preferred_mfa: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
    let secret = f
        .engine()
        .call::<op::AssociateSoftwareToken>(idp::AssociateSoftwareTokenRequest {
            access_token: Some(access.as_str().into()),
            ..Default::default()
        })
        .unwrap()
        .secret_code
        .unwrap()
        .expose()
        .clone();
    let verify = |code: &str| {
        f.engine().call::<op::VerifySoftwareToken>(idp::VerifySoftwareTokenRequest {
            access_token: Some(access.as_str().into()),
            user_code: code.into(),
            ..Default::default()
        })
    };
    let wrong = verify("000000x").unwrap_err();
    assert_eq!(wrong.code, ErrorCode::EnableSoftwareTokenMFAException);
    assert_eq!(wrong.message, "Code mismatch and fail enable Software Token MFA");
    let code = local_pool::current_totp(&secret, f.now()).unwrap();
    assert_eq!(verify(&code).unwrap().status, Some(idp::VerifySoftwareTokenResponseType::Success));
    let user = f.get_user(&access).unwrap();
    assert_eq!(user.user_mfa_setting_list.unwrap(), ["SOFTWARE_TOKEN_MFA"]);
    // Sign-in now asks for the code; a wrong one can be retried on the same session.
    let step = f.srp_sign_in("pia", PW).unwrap();
    assert_eq!(step.challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
    let session = step.session.clone();
    assert!(session.is_some());
    let wrong = f
        .respond(
            ChallengeNameType::SoftwareTokenMfa,
            session.clone(),
            &[("USERNAME", "pia"), ("SOFTWARE_TOKEN_MFA_CODE", "123")],
        )
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::CodeMismatchException);
    let code = local_pool::current_totp(&secret, f.now()).unwrap();
    let done = f
        .respond(
            ChallengeNameType::SoftwareTokenMfa,
            session,
            &[("USERNAME", "pia"), ("SOFTWARE_TOKEN_MFA_CODE", &code)],
        )
        .unwrap();
    assert!(done.authentication_result.unwrap().access_token.is_some());
}

#[tokio::test]
async fn required_mfa_is_set_up_during_sign_in() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = mfa_pool(&pool, idp::UserPoolMfaType::On, false, true, false);
    let f = Fixture { pool, pool_id, client_id };
    f.pool.create_user(&f.pool_id, "quinn", PW, &[]).unwrap();
    let step = f.srp_sign_in("quinn", PW).unwrap();
    assert_eq!(step.challenge_name, Some(ChallengeNameType::MfaSetup));
    let can = cognito_wire::challenge::mfa_types(&step.challenge_parameters.unwrap()["MFAS_CAN_SETUP"]).unwrap();
    assert_eq!(can, [ChallengeNameType::SoftwareTokenMfa]);
    // Answering MFA_SETUP before verifying a token fails.
    let associated = f
        .engine()
        .call::<op::AssociateSoftwareToken>(idp::AssociateSoftwareTokenRequest {
            session: step.session.clone(),
            ..Default::default()
        })
        .unwrap();
    let secret = associated.secret_code.unwrap().expose().clone();
    // A wrong first code: Cognito's EnableSoftwareTokenMFAException, and
    // the same session can be tried again.
    let wrong = f
        .engine()
        .call::<op::VerifySoftwareToken>(idp::VerifySoftwareTokenRequest {
            session: associated.session.clone(),
            user_code: "000000x".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::EnableSoftwareTokenMFAException);
    let code = local_pool::current_totp(&secret, f.now()).unwrap();
    let verified = f
        .engine()
        .call::<op::VerifySoftwareToken>(idp::VerifySoftwareTokenRequest {
            session: associated.session,
            user_code: code.as_str().into(),
            friendly_device_name: Some("phone".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(verified.status, Some(idp::VerifySoftwareTokenResponseType::Success));
    let done = f.respond(ChallengeNameType::MfaSetup, verified.session, &[("USERNAME", "quinn")]).unwrap();
    assert!(done.authentication_result.is_some());
    // From now on, TOTP is asked for.
    assert_eq!(f.srp_sign_in("quinn", PW).unwrap().challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
    // An expired session is refused.
    let step = f.srp_sign_in("quinn", PW).unwrap();
    f.engine().advance_clock(181);
    let code = local_pool::current_totp(&secret, f.now()).unwrap();
    let err = f
        .respond(
            ChallengeNameType::SoftwareTokenMfa,
            step.session,
            &[("USERNAME", "quinn"), ("SOFTWARE_TOKEN_MFA_CODE", &code)],
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
}

#[tokio::test]
async fn several_factors_mean_select_mfa_type_unless_one_is_preferred() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = mfa_pool(&pool, idp::UserPoolMfaType::Optional, true, false, true);
    let f = Fixture { pool, pool_id, client_id };
    f.pool
        .create_user(&f.pool_id, "rosa", PW, &[("email", "rosa@example.com"), ("phone_number", "+15555550123")])
        .unwrap();
    let set = |sms: Option<bool>, email: Option<bool>, preferred_email: bool| {
        f.engine()
            .call::<op::AdminSetUserMFAPreference>(idp::AdminSetUserMFAPreferenceRequest {
                user_pool_id: f.pool_id.clone(),
                username: "rosa".into(),
                sms_mfa_settings: Some(idp::SMSMfaSettingsType { enabled: sms, ..Default::default() }),
                email_mfa_settings: Some(idp::EmailMfaSettingsType {
                    enabled: email,
                    preferred_mfa: Some(preferred_email),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .unwrap();
    };
    set(Some(true), Some(true), false);
    let step = f.srp_sign_in("rosa", PW).unwrap();
    assert_eq!(step.challenge_name, Some(ChallengeNameType::SelectMfaType));
    let choices = cognito_wire::challenge::mfa_types(&step.challenge_parameters.unwrap()["MFAS_CAN_CHOOSE"]).unwrap();
    assert_eq!(choices, [ChallengeNameType::SmsMfa, ChallengeNameType::EmailOtp]);
    let sms = f
        .respond(ChallengeNameType::SelectMfaType, step.session, &[("USERNAME", "rosa"), ("ANSWER", "SMS_MFA")])
        .unwrap();
    assert_eq!(sms.challenge_name, Some(ChallengeNameType::SmsMfa));
    let p = sms.challenge_parameters.unwrap();
    assert_eq!(
        (p["CODE_DELIVERY_DELIVERY_MEDIUM"].as_str(), p["CODE_DELIVERY_DESTINATION"].as_str()),
        ("SMS", "+*******0123")
    );
    let message = f.pool.outbox(Some(&f.pool_id), Some("rosa")).pop().unwrap();
    assert_eq!((message.kind.as_str(), message.destination.as_str()), ("mfa", "+15555550123"));
    let done = f
        .respond(ChallengeNameType::SmsMfa, sms.session, &[("USERNAME", "rosa"), ("SMS_MFA_CODE", &message.code)])
        .unwrap();
    assert!(done.authentication_result.is_some());
    // Email preferred: asked for directly.
    set(None, None, true);
    let step = f.srp_sign_in("rosa", PW).unwrap();
    assert_eq!(step.challenge_name, Some(ChallengeNameType::EmailOtp));
    let code = f.pool.last_code(&f.pool_id, "rosa").unwrap();
    let done = f
        .respond(ChallengeNameType::EmailOtp, step.session, &[("USERNAME", "rosa"), ("EMAIL_OTP_CODE", &code)])
        .unwrap();
    assert!(done.authentication_result.is_some());
    let user = f
        .engine()
        .call::<op::AdminGetUser>(idp::AdminGetUserRequest {
            user_pool_id: f.pool_id.clone(),
            username: "rosa".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(user.preferred_mfa_setting.as_deref(), Some("EMAIL_OTP"));
}

#[tokio::test]
async fn remembered_devices_sign_in_with_device_srp_and_skip_mfa() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, client_id) = mfa_pool(&pool, idp::UserPoolMfaType::Optional, false, true, false);
    // UpdateUserPool replaces every setting: restate those mfa_pool made.
    pool.engine()
        .call::<op::UpdateUserPool>(idp::UpdateUserPoolRequest {
            user_pool_id: pool_id.clone(),
            mfa_configuration: Some(idp::UserPoolMfaType::Optional),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            device_configuration: Some(idp::DeviceConfigurationType {
                challenge_required_on_new_device: Some(true),
                device_only_remembered_on_user_prompt: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    let f = Fixture { pool, pool_id, client_id };
    f.pool.create_user(&f.pool_id, "sam", PW, &[]).unwrap();
    // Enrol TOTP so that sign-ins need MFA.
    let first = f.tokens("sam", PW);
    assert!(first.new_device_metadata.is_some());
    let access = first.access_token.unwrap().expose().clone();
    let secret = f
        .engine()
        .call::<op::AssociateSoftwareToken>(idp::AssociateSoftwareTokenRequest {
            access_token: Some(access.as_str().into()),
            ..Default::default()
        })
        .unwrap()
        .secret_code
        .unwrap()
        .expose()
        .clone();
    f.engine()
        .call::<op::VerifySoftwareToken>(idp::VerifySoftwareTokenRequest {
            access_token: Some(access.as_str().into()),
            user_code: local_pool::current_totp(&secret, f.now()).unwrap().into(),
            ..Default::default()
        })
        .unwrap();
    // Sign in through MFA; the tokens come with a new device.
    let step = f.srp_sign_in("sam", PW).unwrap();
    assert_eq!(step.challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
    let code = local_pool::current_totp(&secret, f.now()).unwrap();
    let tokens = f
        .respond(
            ChallengeNameType::SoftwareTokenMfa,
            step.session,
            &[("USERNAME", "sam"), ("SOFTWARE_TOKEN_MFA_CODE", &code)],
        )
        .unwrap()
        .authentication_result
        .unwrap();
    let meta = tokens.new_device_metadata.clone().unwrap();
    let (device_key, group_key) = (meta.device_key.unwrap(), meta.device_group_key.unwrap());
    assert!(device_key.starts_with("us-east-1_"));
    // The client registers the device (as Amplify does).
    let device_password = srp_core::DevicePassword::from_random(&[42u8; 40]);
    let config =
        srp_core::DeviceVerifierConfig::generate(&group_key, &device_key, device_password.expose_secret(), &[0x8b; 16])
            .unwrap();
    let access = tokens.access_token.as_ref().unwrap().expose().clone();
    let confirmed = f
        .engine()
        .call::<op::ConfirmDevice>(idp::ConfirmDeviceRequest {
            access_token: access.as_str().into(),
            device_key: device_key.clone(),
            device_name: Some("laptop".into()),
            device_secret_verifier_config: Some(idp::DeviceSecretVerifierConfigType {
                salt: Some(config.salt().into()),
                password_verifier: Some(config.password_verifier().into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(confirmed.user_confirmation_necessary, Some(false));
    let listed = f
        .engine()
        .call::<op::ListDevices>(idp::ListDevicesRequest { access_token: access.as_str().into(), ..Default::default() })
        .unwrap()
        .devices
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].device_key.as_deref(), Some(device_key.as_str()));

    // Refresh needs the device key now.
    let refresh = tokens.refresh_token.as_ref().unwrap().expose().clone();
    let refresh_with = |dk: Option<&str>| {
        f.engine().call::<op::GetTokensFromRefreshToken>(idp::GetTokensFromRefreshTokenRequest {
            client_id: f.client_id.as_str().into(),
            refresh_token: refresh.as_str().into(),
            device_key: dk.map(str::to_owned),
            ..Default::default()
        })
    };
    assert_eq!(refresh_with(None).unwrap_err().message, "Invalid Refresh Token");
    refresh_with(Some(&device_key)).unwrap();

    // Sign in with the device: DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER, no MFA.
    let device_sign_in = |password: &str| -> Result<idp::RespondToAuthChallengeResponse, Fail> {
        let mut random = [0u8; 128];
        getrandom_fill(&mut random);
        let user_eph = srp_core::ClientEphemeral::from_random(&random).unwrap();
        let start = f.engine().call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::UserSrpAuth,
            client_id: f.client_id.as_str().into(),
            auth_parameters: Some(params(&[("USERNAME", "sam"), ("SRP_A", user_eph.srp_a().as_str())])),
            ..Default::default()
        })?;
        let p = start.challenge_parameters.unwrap();
        let ts = srp_core::Timestamp::from_unix_seconds(1_763_850_000).unwrap();
        let sig = user_eph
            .sign(
                &srp_core::Identity::user(&f.pool_id, &p["USER_ID_FOR_SRP"], PW).unwrap(),
                &srp_core::Challenge { srp_b: &p["SRP_B"], salt: &p["SALT"], secret_block: &p["SECRET_BLOCK"] },
                ts.as_str(),
            )
            .unwrap();
        let step = f.respond(
            ChallengeNameType::PasswordVerifier,
            None,
            &[
                ("USERNAME", &p["USER_ID_FOR_SRP"]),
                ("PASSWORD_CLAIM_SECRET_BLOCK", &p["SECRET_BLOCK"]),
                ("PASSWORD_CLAIM_SIGNATURE", sig.as_str()),
                ("TIMESTAMP", ts.as_str()),
                ("DEVICE_KEY", &device_key),
            ],
        )?;
        assert_eq!(step.challenge_name, Some(ChallengeNameType::DeviceSrpAuth));
        getrandom_fill(&mut random);
        let device_eph = srp_core::ClientEphemeral::from_random(&random).unwrap();
        let dstep = f.respond(
            ChallengeNameType::DeviceSrpAuth,
            step.session,
            &[("USERNAME", "sam"), ("DEVICE_KEY", &device_key), ("SRP_A", device_eph.srp_a().as_str())],
        )?;
        assert_eq!(dstep.challenge_name, Some(ChallengeNameType::DevicePasswordVerifier));
        let dp = dstep.challenge_parameters.unwrap();
        let dsig = device_eph
            .sign(
                &srp_core::Identity::device(&group_key, &device_key, password).unwrap(),
                &srp_core::Challenge { srp_b: &dp["SRP_B"], salt: &dp["SALT"], secret_block: &dp["SECRET_BLOCK"] },
                ts.as_str(),
            )
            .unwrap();
        f.respond(
            ChallengeNameType::DevicePasswordVerifier,
            dstep.session,
            &[
                ("USERNAME", "sam"),
                ("DEVICE_KEY", &device_key),
                ("PASSWORD_CLAIM_SECRET_BLOCK", &dp["SECRET_BLOCK"]),
                ("PASSWORD_CLAIM_SIGNATURE", dsig.as_str()),
                ("TIMESTAMP", ts.as_str()),
            ],
        )
    };
    let done = device_sign_in(device_password.expose_secret()).unwrap();
    let result = done.authentication_result.unwrap();
    assert!(result.access_token.is_some());
    assert!(result.new_device_metadata.is_none());
    assert_eq!(device_sign_in("not-the-device-password").unwrap_err().code, ErrorCode::NotAuthorizedException);

    // Forgotten: the device is gone and sign-in asks for MFA again.
    f.engine()
        .call::<op::ForgetDevice>(idp::ForgetDeviceRequest {
            access_token: Some(access.as_str().into()),
            device_key: device_key.clone(),
            ..Default::default()
        })
        .unwrap();
    let err = f
        .engine()
        .call::<op::GetDevice>(idp::GetDeviceRequest {
            access_token: Some(access.as_str().into()),
            device_key: device_key.clone(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (ErrorCode::ResourceNotFoundException, "Device does not exist."));
    assert_eq!(f.srp_sign_in("sam", PW).unwrap().challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
}

#[tokio::test]
async fn a_pending_challenge_survives_a_restart_but_srp_rounds_do_not() {
    let dir = std::env::temp_dir().join(format!("local-pool-sessions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() };
    let pool = LocalPool::start_with(options.clone()).await.unwrap();
    let pool_id = pool.create_pool("restart").unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    pool.engine()
        .call::<op::AdminCreateUser>(idp::AdminCreateUserRequest {
            user_pool_id: pool_id.clone(),
            username: "nina".into(),
            temporary_password: Some("Temp-Passw0rd!".into()),
            message_action: Some(idp::MessageActionType::Suppress),
            ..Default::default()
        })
        .unwrap();
    pool.create_user(&pool_id, "omar", PW, &[]).unwrap();
    let f = Fixture { pool, pool_id: pool_id.clone(), client_id: client.client_id.clone() };
    let start = f
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::UserPasswordAuth,
            client_id: f.client_id.as_str().into(),
            auth_parameters: Some(params(&[("USERNAME", "nina"), ("PASSWORD", "Temp-Passw0rd!")])),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(start.challenge_name, Some(ChallengeNameType::NewPasswordRequired));
    // An SRP round in flight when the pool stops.
    let mut random = [0u8; 128];
    getrandom_fill(&mut random);
    let ephemeral = srp_core::ClientEphemeral::from_random(&random).unwrap();
    let verifier = f
        .engine()
        .call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: AuthFlowType::UserSrpAuth,
            client_id: f.client_id.as_str().into(),
            auth_parameters: Some(params(&[("USERNAME", "omar"), ("SRP_A", ephemeral.srp_a().as_str())])),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(verifier.challenge_name, Some(ChallengeNameType::PasswordVerifier));
    f.pool.stop().await;

    let again = LocalPool::start_with(options).await.unwrap();
    let f = Fixture { pool: again, pool_id, client_id: client.client_id };
    let done = f
        .respond(
            ChallengeNameType::NewPasswordRequired,
            start.session,
            &[("USERNAME", "nina"), ("NEW_PASSWORD", "N3w-Passw0rd!")],
        )
        .unwrap();
    assert!(done.authentication_result.is_some(), "the NEW_PASSWORD_REQUIRED session was kept");
    // The verifier round's secret was never written: its answer is refused.
    let p = verifier.challenge_parameters.unwrap();
    let err = f
        .respond(
            ChallengeNameType::PasswordVerifier,
            None,
            &[
                ("USERNAME", p["USER_ID_FOR_SRP"].as_str()),
                ("PASSWORD_CLAIM_SECRET_BLOCK", p["SECRET_BLOCK"].as_str()),
                ("TIMESTAMP", "Wed Nov 25 20:00:00 UTC 2026"),
                ("PASSWORD_CLAIM_SIGNATURE", "AAAA"),
            ],
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotAuthorizedException);
    f.pool.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// PreventUserExistenceErrors: with `ENABLED`, the code operations do not
/// tell an unknown (or disabled) user from a real one: a simulated code
/// delivery (stable per login, nothing sent) and "wrong code" on confirm;
/// with `LEGACY` (the API's default) they name the missing user as Cognito
/// does.
#[tokio::test]
async fn code_operations_hide_unknown_users_when_the_client_says_so() {
    let pool = LocalPool::start().await.unwrap();
    let (pool_id, hiding) = custom_pool(
        &pool,
        idp::CreateUserPoolRequest {
            pool_name: "hiding".into(),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            ..Default::default()
        },
        idp::CreateUserPoolClientRequest {
            prevent_user_existence_errors: Some(idp::PreventUserExistenceErrorTypes::Enabled),
            ..client_request()
        },
    );
    let legacy = pool
        .engine()
        .call::<op::CreateUserPoolClient>(idp::CreateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            ..client_request()
        })
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap()
        .expose()
        .clone();
    pool.create_user(&pool_id, "real", PW, &[("email", "real@example.com"), ("email_verified", "true")]).unwrap();
    let engine = pool.engine();
    let forgot = |client: &str, username: &str| {
        engine.call::<op::ForgotPassword>(idp::ForgotPasswordRequest {
            client_id: client.into(),
            username: username.into(),
            ..Default::default()
        })
    };
    let resend = |client: &str, username: &str| {
        engine.call::<op::ResendConfirmationCode>(idp::ResendConfirmationCodeRequest {
            client_id: client.into(),
            username: username.into(),
            ..Default::default()
        })
    };
    let confirm_forgot = |client: &str, username: &str| {
        engine.call::<op::ConfirmForgotPassword>(idp::ConfirmForgotPasswordRequest {
            client_id: client.into(),
            username: username.into(),
            confirmation_code: "123456".into(),
            password: PW.to_owned().into(),
            ..Default::default()
        })
    };
    let confirm_sign_up = |client: &str, username: &str| {
        engine.call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
            client_id: client.into(),
            username: username.into(),
            confirmation_code: "123456".into(),
            ..Default::default()
        })
    };
    let sent_before = pool.outbox(Some(&pool_id), None).len();

    // ENABLED: the same kind of answer for a real and an unknown user.
    let real = forgot(&hiding, "real").unwrap().code_delivery_details.unwrap();
    let ghost = forgot(&hiding, "ghost").unwrap().code_delivery_details.unwrap();
    assert_eq!(real.delivery_medium, ghost.delivery_medium);
    assert_eq!(ghost.attribute_name.as_deref(), Some("email"));
    let shape = |d: &str| d.len() == "x***@x***".len() && d.contains("***@") && d.ends_with("***");
    assert!(shape(ghost.destination.as_deref().unwrap()), "{ghost:?}");
    let again = forgot(&hiding, "ghost").unwrap().code_delivery_details.unwrap();
    assert_eq!(again.destination, ghost.destination, "the same login gets the same simulated destination");
    let by_email = forgot(&hiding, "ghost@example.com").unwrap().code_delivery_details.unwrap();
    assert_eq!(by_email.destination.as_deref(), Some("g***@e***"));
    let by_phone = resend(&hiding, "+15550001234").unwrap().code_delivery_details.unwrap();
    assert_eq!(by_phone.delivery_medium, Some(idp::DeliveryMediumType::Sms));
    assert_eq!(by_phone.destination.as_deref(), Some("+*******1234"));
    assert!(resend(&hiding, "ghost").is_ok());
    for err in [confirm_forgot(&hiding, "ghost").unwrap_err(), confirm_sign_up(&hiding, "ghost").unwrap_err()] {
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::CodeMismatchException, "Invalid verification code provided, please try again.")
        );
    }
    // Nothing was sent for the unknown logins (only the real user's code).
    assert_eq!(pool.outbox(Some(&pool_id), None).len(), sent_before + 1);
    // A disabled user looks like an unknown one.
    engine
        .call::<op::AdminDisableUser>(idp::AdminDisableUserRequest {
            user_pool_id: pool_id.clone(),
            username: "real".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(forgot(&hiding, "real").is_ok());
    assert_eq!(pool.outbox(Some(&pool_id), None).len(), sent_before + 1);

    // LEGACY: Cognito's UserNotFoundException, in its words for these operations.
    for err in [
        forgot(&legacy, "ghost").unwrap_err(),
        resend(&legacy, "ghost").unwrap_err(),
        confirm_forgot(&legacy, "ghost").unwrap_err(),
        confirm_sign_up(&legacy, "ghost").unwrap_err(),
    ] {
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::UserNotFoundException, "Username/client id combination not found.")
        );
    }
    let disabled = forgot(&legacy, "real").unwrap_err();
    assert_eq!(disabled.code, ErrorCode::NotAuthorizedException);
    pool.stop().await;
}

/// `Debug` of a running pool, its engine and its state saver shows no
/// refresh token, no sign-in session and no code from the outbox.
#[tokio::test]
async fn debug_output_carries_no_tokens_sessions_or_codes() {
    let dir = std::env::temp_dir().join(format!("local-pool-debug-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pool =
        LocalPool::start_with(local_pool::Options { data_dir: Some(dir.clone()), ..Default::default() }).await.unwrap();
    let pool_id = pool.create_pool("debug").unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    let f = Fixture { pool, pool_id, client_id: client.client_id };
    f.sign_up("dee", PW, "dee@example.com").unwrap();
    let code = f.pool.last_code(&f.pool_id, "dee").unwrap();
    f.pool.create_user(&f.pool_id, "ray", PW, &[]).unwrap();
    let refresh = f.tokens("ray", PW).refresh_token.unwrap().expose().clone();
    // A sign-in left pending at NEW_PASSWORD_REQUIRED: its session is in the engine's state.
    f.pool.create_user_with_temporary_password(&f.pool_id, "tem", PW, &[]).unwrap();
    let pending = f.srp_sign_in("tem", PW).unwrap();
    assert_eq!(pending.challenge_name, Some(ChallengeNameType::NewPasswordRequired));
    let session = pending.session.expect("a NEW_PASSWORD_REQUIRED session").expose().clone();
    let shown = format!("{:?} {:?} {:?}", f.pool, f.engine(), f.pool.state_saver());
    assert!(shown.contains("refresh_tokens: 1"), "{shown}");
    for secret in [code, refresh, session] {
        assert!(!shown.contains(&secret), "{secret} in {shown}");
    }
    f.pool.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
