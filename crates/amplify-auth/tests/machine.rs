//! Every sign-in path through the pure state machine ([`SignInMachine`]),
//! with fixed time and randomness and fabricated Cognito replies: no
//! network. The SRP rounds are checked against a real server half
//! (`srp_core::ServerEphemeral` over a verifier), so a claim signature the
//! machine sends is proven to verify, and one made from a wrong password
//! is proven not to.

#![allow(clippy::unwrap_used, clippy::panic, clippy::too_many_lines)]

use std::collections::BTreeMap;

use amplify_auth::machine::{
    AuthReply, Awaiting, Call, Context, Entropy, Env, Next, PENDING_LIFETIME_MS, PendingSignIn, Reply, SignInMachine,
    SignedIn,
};
use amplify_auth::{AuthError, AuthFlow, CodeDeliveryDetails, ConfirmOptions, MfaType, SignInStep};
use cognito_wire::cognito_idp::{
    AssociateSoftwareTokenResponse, AuthFlowType, AuthenticationResultType, ChallengeNameType, ConfirmDeviceRequest,
    InitiateAuthRequest, NewDeviceMetadataType, RespondToAuthChallengeRequest, VerifySoftwareTokenResponse,
    VerifySoftwareTokenResponseType,
};
use cognito_wire::{ErrorCode, Sensitive, ServiceError};
use srp_core::{
    ClientEphemeral, DeviceVerifierConfig, Identity, PublicIdentity, PublicValue, ServerEphemeral, Timestamp,
    compute_verifier, compute_x, decode_device_verifier,
};
use token_store::DeviceMetadata;

const POOL: &str = "us-east-1_MachinePool";
const CLIENT: &str = "machineclient123";
const LOGIN: &str = "alice";
const PW: &str = "Corr3ct-Horse!";
const CLIENT_SECRET: &str = "client-secret-value-0123456789";
/// Sun Nov 22 07:30:00 UTC 2026.
const NOW: i64 = 1_795_332_600_000;
const SALT: &str = "7c0ffee00112233445566778899aabbc";
const SECRET_BLOCK: &str = "c2VjcmV0LWJsb2NrLWZyb20tdGhlLXNlcnZlcg==";

// ---------------------------------------------------------------- fixtures

fn env_at(now_ms: i64, seed: u8) -> Env {
    Env { now_ms, entropy: Entropy { srp: [seed; 128], device_password: [seed ^ 0x5a; 40], device_salt: [0x8b; 16] } }
}

fn env() -> Env {
    env_at(NOW, 7)
}

fn ctx(flow: AuthFlow) -> Context {
    Context {
        pool_id: POOL.to_owned(),
        client_id: CLIENT.to_owned(),
        client_secret: None,
        flow,
        login_id: LOGIN.to_owned(),
        device: None,
        device_for: Some(LOGIN.to_owned()),
        device_name: Some("test device".to_owned()),
        client_metadata: None,
    }
}

fn known_device() -> DeviceMetadata {
    DeviceMetadata::new("us-east-1_11111111-aaaa-bbbb-cccc-000000000001", "-grpKey1", "device-password-123")
}

fn ctx_with_device(flow: AuthFlow) -> Context {
    Context { device: Some(known_device()), ..ctx(flow) }
}

fn start(ctx: Context, password: Option<&str>, preferred: Option<&str>) -> (SignInMachine, Next) {
    SignInMachine::start(ctx, password, preferred, &env()).unwrap()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn keys(m: &BTreeMap<String, String>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

fn initiate(next: Next) -> InitiateAuthRequest {
    match next {
        Next::Send(Call::InitiateAuth(req)) => req,
        other => panic!("expected InitiateAuth, got {other:?}"),
    }
}

fn respond(next: Next) -> RespondToAuthChallengeRequest {
    match next {
        Next::Send(Call::RespondToAuthChallenge(req)) => req,
        other => panic!("expected RespondToAuthChallenge, got {other:?}"),
    }
}

fn confirm_device(next: Next) -> ConfirmDeviceRequest {
    match next {
        Next::Send(Call::ConfirmDevice(req)) => req,
        other => panic!("expected ConfirmDevice, got {other:?}"),
    }
}

fn ask(next: Next) -> SignInStep {
    match next {
        Next::Ask(step) => step,
        other => panic!("expected Ask, got {other:?}"),
    }
}

fn done(next: Next) -> SignedIn {
    match next {
        Next::Done(signed) => *signed,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn auth_params(req: &InitiateAuthRequest) -> BTreeMap<String, String> {
    req.auth_parameters.as_ref().unwrap().expose().clone()
}

fn responses(req: &RespondToAuthChallengeRequest) -> BTreeMap<String, String> {
    req.challenge_responses.as_ref().unwrap().expose().clone()
}

fn session_of(req: &RespondToAuthChallengeRequest) -> Option<String> {
    req.session.as_ref().map(|s| s.expose().clone())
}

fn challenge(name: ChallengeNameType, params: &[(&str, &str)], session: &str) -> Reply {
    Reply::Auth(AuthReply {
        challenge_name: Some(name),
        parameters: map(params),
        session: Some(Sensitive::new(session.to_owned())),
        ..Default::default()
    })
}

fn result(access: &str) -> AuthenticationResultType {
    AuthenticationResultType {
        access_token: Some(Sensitive::new(access.to_owned())),
        id_token: Some(Sensitive::new("id-token".to_owned())),
        refresh_token: Some(Sensitive::new("refresh-token".to_owned())),
        expires_in: Some(3600),
        token_type: Some("Bearer".to_owned()),
        ..Default::default()
    }
}

fn tokens() -> Reply {
    Reply::Auth(AuthReply { result: Some(result("access-token")), ..Default::default() })
}

fn service(code: &str) -> AuthError {
    AuthError::Service(ServiceError { code: ErrorCode::from(code), message: None, request_id: None, status: 400 })
}

fn failed(code: &str) -> Reply {
    Reply::Failed(service(code))
}

fn expect_protocol(result: Result<Next, AuthError>) -> String {
    match result {
        Err(AuthError::Protocol(message)) => message,
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

fn expect_validation(result: Result<Next, AuthError>) {
    assert!(matches!(result, Err(AuthError::Validation { .. })), "expected a validation error, got {result:?}");
}

fn expect_invalid_state(result: Result<Next, AuthError>) {
    assert!(matches!(result, Err(AuthError::InvalidState(_))), "expected InvalidState, got {result:?}");
}

/// The server half of SRP for one user: the stored verifier and B.
struct SrpServer {
    user_id: String,
    verifier: PublicValue,
    ephemeral: ServerEphemeral,
}

impl SrpServer {
    fn new(user_id: &str, password: &str) -> Self {
        let identity = Identity::user(POOL, user_id, password).unwrap();
        let verifier = compute_verifier(&compute_x(SALT, &identity).unwrap());
        let ephemeral = ServerEphemeral::from_random(&[0x35; 32], &verifier).unwrap();
        Self { user_id: user_id.to_owned(), verifier, ephemeral }
    }

    /// PASSWORD_VERIFIER as Cognito sends it (USERNAME = USER_ID_FOR_SRP).
    fn challenge(&self, session: &str) -> Reply {
        let srp_b = self.ephemeral.srp_b();
        challenge(
            ChallengeNameType::PasswordVerifier,
            &[
                ("SRP_B", srp_b.as_str()),
                ("SALT", SALT),
                ("SECRET_BLOCK", SECRET_BLOCK),
                ("USER_ID_FOR_SRP", &self.user_id),
                ("USERNAME", &self.user_id),
            ],
            session,
        )
    }

    /// Checks the claim the way Cognito does.
    fn verify(&self, srp_a: &str, claim: &BTreeMap<String, String>) -> Result<Timestamp, srp_core::Error> {
        self.ephemeral.verify(
            PublicIdentity::user(POOL, &self.user_id).unwrap(),
            &self.verifier,
            srp_a,
            &claim["PASSWORD_CLAIM_SECRET_BLOCK"],
            &claim["TIMESTAMP"],
            &claim["PASSWORD_CLAIM_SIGNATURE"],
        )
    }
}

/// The server half of device SRP, from the verifier sent with ConfirmDevice.
struct DeviceServer {
    device: DeviceMetadata,
    verifier: PublicValue,
    salt_hex: String,
    ephemeral: ServerEphemeral,
}

impl DeviceServer {
    fn new(device: &DeviceMetadata, salt_b64: &str, verifier_b64: &str) -> Self {
        let (verifier, salt_hex) = decode_device_verifier(salt_b64, verifier_b64).unwrap();
        let ephemeral = ServerEphemeral::from_random(&[0x44; 32], &verifier).unwrap();
        Self { device: device.clone(), verifier, salt_hex: salt_hex.as_str().to_owned(), ephemeral }
    }

    /// The server of a device whose verifier is computed here.
    fn for_device(device: &DeviceMetadata) -> Self {
        let config = DeviceVerifierConfig::generate(
            &device.device_group_key,
            &device.device_key,
            device.random_password.expose_secret(),
            &[0x21; 16],
        )
        .unwrap();
        Self::new(device, config.salt(), config.password_verifier())
    }

    fn challenge(&self, username: &str, session: &str) -> Reply {
        let srp_b = self.ephemeral.srp_b();
        challenge(
            ChallengeNameType::DevicePasswordVerifier,
            &[
                ("SRP_B", srp_b.as_str()),
                ("SALT", &self.salt_hex),
                ("SECRET_BLOCK", SECRET_BLOCK),
                ("USERNAME", username),
                ("DEVICE_KEY", &self.device.device_key),
            ],
            session,
        )
    }

    fn verify(&self, srp_a: &str, claim: &BTreeMap<String, String>) -> Result<Timestamp, srp_core::Error> {
        self.ephemeral.verify(
            PublicIdentity::device(&self.device.device_group_key, &self.device.device_key).unwrap(),
            &self.verifier,
            srp_a,
            &claim["PASSWORD_CLAIM_SECRET_BLOCK"],
            &claim["TIMESTAMP"],
            &claim["PASSWORD_CLAIM_SIGNATURE"],
        )
    }
}

fn srp_a_for(env: &Env) -> String {
    ClientEphemeral::from_random(&env.entropy.srp).unwrap().srp_a().as_str().to_owned()
}

// ------------------------------------------------------------------- SRP

#[test]
fn user_srp_auth_password_verifier_then_tokens() {
    let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
    let req = initiate(next);
    assert_eq!(req.auth_flow, AuthFlowType::UserSrpAuth);
    assert_eq!(req.client_id.expose(), CLIENT);
    let params = auth_params(&req);
    assert_eq!(keys(&params), ["SRP_A", "USERNAME"]);
    assert_eq!(params["USERNAME"], LOGIN);
    let srp_a = params["SRP_A"].clone();
    assert_eq!(srp_a, srp_a_for(&env()), "SRP_A comes from the Env's entropy");
    assert!(m.pending().is_none());

    let server = SrpServer::new(LOGIN, PW);
    let req = respond(m.on_reply(server.challenge("session-1"), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::PasswordVerifier);
    assert_eq!(session_of(&req).as_deref(), Some("session-1"));
    let claim = responses(&req);
    assert_eq!(
        keys(&claim),
        ["PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP", "USERNAME"],
        "no DEVICE_KEY without a device, no SECRET_HASH without a secret"
    );
    assert_eq!(claim["USERNAME"], LOGIN);
    assert_eq!(claim["PASSWORD_CLAIM_SECRET_BLOCK"], SECRET_BLOCK);
    assert_eq!(claim["TIMESTAMP"], "Sun Nov 22 07:30:00 UTC 2026");
    let ts = server.verify(&srp_a, &claim).unwrap();
    assert_eq!(ts.unix_seconds(), 1_795_332_600);

    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.username, LOGIN);
    assert_eq!(signed.result.access_token.as_ref().unwrap().expose(), "access-token");
    assert!(signed.device.is_none());
    assert!(!signed.new_device);
    assert!(signed.device_error.is_none());
    // Over: nothing more is accepted.
    expect_invalid_state(m.on_reply(tokens(), &env()));
    expect_invalid_state(m.answer("123456", &ConfirmOptions::default(), &env()));
}

#[test]
fn srp_claim_from_a_wrong_password_does_not_verify() {
    let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some("Wr0ng-Horse!"), None);
    let srp_a = auth_params(&initiate(next))["SRP_A"].clone();
    let server = SrpServer::new(LOGIN, PW);
    let claim = responses(&respond(m.on_reply(server.challenge("s"), &env()).unwrap()));
    assert_eq!(server.verify(&srp_a, &claim), Err(srp_core::Error::SignatureMismatch));
    // Cognito then says NotAuthorizedException: the error, and the end.
    let err = m.on_reply(failed("NotAuthorizedException"), &env()).unwrap_err();
    assert!(err.is_service("NotAuthorizedException"), "{err:?}");
    assert!(m.pending().is_none());
    expect_invalid_state(m.on_reply(tokens(), &env()));
}

#[test]
fn a_different_entropy_gives_a_different_srp_a_and_still_verifies() {
    let e = env_at(NOW + 61_000, 0x99);
    let (mut m, next) = SignInMachine::start(ctx(AuthFlow::UserSrp), Some(PW), None, &e).unwrap();
    let srp_a = auth_params(&initiate(next))["SRP_A"].clone();
    assert_ne!(srp_a, srp_a_for(&env()));
    let server = SrpServer::new(LOGIN, PW);
    let claim = responses(&respond(m.on_reply(server.challenge("s"), &e).unwrap()));
    assert_eq!(claim["TIMESTAMP"], "Sun Nov 22 07:31:01 UTC 2026");
    server.verify(&srp_a, &claim).unwrap();
}

#[test]
fn canonical_username_from_user_id_for_srp_loads_the_device_and_is_used_afterwards() {
    let canonical = "0a1b2c3d-1111-2222-3333-444455556666";
    let mut c = ctx(AuthFlow::UserSrp);
    c.login_id = "alice@example.com".to_owned();
    c.device_for = Some("alice@example.com".to_owned());
    let (mut m, next) = start(c, Some(PW), None);
    let srp_a = auth_params(&initiate(next))["SRP_A"].clone();
    let server = SrpServer::new(canonical, PW);
    match m.on_reply(server.challenge("s1"), &env()).unwrap() {
        Next::LoadDevice(name) => assert_eq!(name, canonical),
        other => panic!("expected LoadDevice, got {other:?}"),
    }
    // The device of the canonical user is fed back: it is sent.
    let device = known_device();
    let req = respond(m.on_reply(Reply::Device(Some(device.clone())), &env()).unwrap());
    let claim = responses(&req);
    assert_eq!(claim["USERNAME"], canonical);
    assert_eq!(claim["DEVICE_KEY"], device.device_key);
    server.verify(&srp_a, &claim).unwrap();
    assert_eq!(m.context().device.as_ref().map(|d| d.device_key.as_str()), Some(device.device_key.as_str()));

    // Then an MFA step: its answer uses the canonical name too.
    let step = ask(m.on_reply(challenge(ChallengeNameType::SoftwareTokenMfa, &[], "s2"), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithTotpCode);
    let pending = m.pending().unwrap();
    assert_eq!(pending.username, canonical);
    assert_eq!(pending.login_id, "alice@example.com");
    let req = respond(m.answer("123456", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["USERNAME"], canonical);
    assert_eq!(session_of(&req).as_deref(), Some("s2"));
    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.username, canonical);
    assert_eq!(signed.device, Some(device));
}

#[test]
fn canonical_username_without_a_stored_device() {
    let mut c = ctx(AuthFlow::UserPassword);
    c.login_id = "+15555550100".to_owned();
    c.device_for = None; // not looked up at all yet
    let (mut m, next) = start(c, Some(PW), None);
    assert_eq!(auth_params(&initiate(next))["USERNAME"], "+15555550100");
    let next = m
        .on_reply(
            challenge(
                ChallengeNameType::SmsMfa,
                &[("USERNAME", "bob-uuid"), ("CODE_DELIVERY_DESTINATION", "+*******0100")],
                "s",
            ),
            &env(),
        )
        .unwrap();
    assert!(matches!(&next, Next::LoadDevice(name) if name == "bob-uuid"), "{next:?}");
    let step = ask(m.on_reply(Reply::Device(None), &env()).unwrap());
    assert!(matches!(step, SignInStep::ConfirmSignInWithSmsCode { .. }), "{step:?}");
    let claim = responses(&respond(m.answer("111111", &ConfirmOptions::default(), &env()).unwrap()));
    assert_eq!(claim, map(&[("SMS_MFA_CODE", "111111"), ("USERNAME", "bob-uuid")]));
}

// ------------------------------------------------------- USER_PASSWORD_AUTH

#[test]
fn user_password_auth_sends_the_password_and_the_known_device_key() {
    let (_, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    let req = initiate(next);
    assert_eq!(req.auth_flow, AuthFlowType::UserPasswordAuth);
    assert_eq!(auth_params(&req), map(&[("PASSWORD", PW), ("USERNAME", LOGIN)]));
    assert!(!format!("{req:?}").contains(PW), "the password is redacted in Debug");

    let device = known_device();
    let (mut m, next) = start(ctx_with_device(AuthFlow::UserPassword), Some(PW), None);
    let req = initiate(next);
    assert_eq!(auth_params(&req), map(&[("DEVICE_KEY", &device.device_key), ("PASSWORD", PW), ("USERNAME", LOGIN)]));
    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.device, Some(device), "the known device is kept");
    assert!(!signed.new_device);
}

#[test]
fn flows_that_need_a_password_refuse_to_start_without_one() {
    for flow in [AuthFlow::UserSrp, AuthFlow::UserPassword, AuthFlow::CustomWithSrp] {
        for pw in [None, Some("")] {
            let err = SignInMachine::start(ctx(flow), pw, None, &env()).unwrap_err();
            assert!(matches!(err, AuthError::Validation { field: "password", .. }), "{flow:?}: {err:?}");
        }
    }
    let err = SignInMachine::start(ctx(AuthFlow::UserAuth), None, Some("PASSWORD_SRP"), &env()).unwrap_err();
    assert!(matches!(err, AuthError::Validation { field: "password", .. }), "{err:?}");
    let mut c = ctx(AuthFlow::UserSrp);
    c.login_id = String::new();
    let err = SignInMachine::start(c, Some(PW), None, &env()).unwrap_err();
    assert!(matches!(err, AuthError::Validation { field: "username", .. }), "{err:?}");
}

// ------------------------------------------------------------------ custom

#[test]
fn custom_without_srp_challenge_answer_done() {
    let mut c = ctx_with_device(AuthFlow::CustomWithoutSrp);
    c.client_metadata = Some(map(&[("app", "test")]));
    let (mut m, next) = start(c, None, None);
    let req = initiate(next);
    assert_eq!(req.auth_flow, AuthFlowType::CustomAuth);
    assert_eq!(auth_params(&req), map(&[("DEVICE_KEY", &known_device().device_key), ("USERNAME", LOGIN)]));
    assert_eq!(req.client_metadata, Some(map(&[("app", "test")])));

    let params = [("question", "2+2?"), ("hint", "a small number"), ("USERNAME", LOGIN)];
    let step = ask(m.on_reply(challenge(ChallengeNameType::CustomChallenge, &params, "c1"), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithCustomChallenge { additional_info: map(&params) });
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::Challenge("CUSTOM_CHALLENGE".to_owned()));

    let options = ConfirmOptions { client_metadata: Some(map(&[("answer-meta", "1")])), ..Default::default() };
    let req = respond(m.answer("4", &options, &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::CustomChallenge);
    assert_eq!(session_of(&req).as_deref(), Some("c1"));
    assert_eq!(
        responses(&req),
        map(&[("ANSWER", "4"), ("DEVICE_KEY", &known_device().device_key), ("USERNAME", LOGIN)])
    );
    assert_eq!(req.client_metadata, Some(map(&[("answer-meta", "1")])), "the answer's ClientMetadata wins");

    // A second round on a new session.
    let step = ask(m.on_reply(challenge(ChallengeNameType::CustomChallenge, &[("round", "2")], "c2"), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithCustomChallenge { additional_info: map(&[("round", "2")]) });
    let req = respond(m.answer("second", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(session_of(&req).as_deref(), Some("c2"));
    assert_eq!(responses(&req)["ANSWER"], "second");
    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.username, LOGIN);
}

#[test]
fn custom_with_srp_starts_with_srp_a_then_verifier_then_custom_challenge() {
    let (mut m, next) = start(ctx(AuthFlow::CustomWithSrp), Some(PW), None);
    let req = initiate(next);
    assert_eq!(req.auth_flow, AuthFlowType::CustomAuth);
    let params = auth_params(&req);
    assert_eq!(keys(&params), ["CHALLENGE_NAME", "SRP_A", "USERNAME"]);
    assert_eq!(params["CHALLENGE_NAME"], "SRP_A");
    let server = SrpServer::new(LOGIN, PW);
    let req = respond(m.on_reply(server.challenge("v1"), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::PasswordVerifier);
    server.verify(&params["SRP_A"], &responses(&req)).unwrap();

    let step =
        ask(m.on_reply(challenge(ChallengeNameType::CustomChallenge, &[("captcha", "xyz")], "v2"), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithCustomChallenge { additional_info: map(&[("captcha", "xyz")]) });
    let req = respond(m.answer("xyz-answer", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req), map(&[("ANSWER", "xyz-answer"), ("USERNAME", LOGIN)]));
    assert_eq!(session_of(&req).as_deref(), Some("v2"));
    done(m.on_reply(tokens(), &env()).unwrap());
}

// --------------------------------------------------------------- USER_AUTH

fn select_challenge(available: &[&str]) -> Reply {
    Reply::Auth(AuthReply {
        challenge_name: Some(ChallengeNameType::SelectChallenge),
        parameters: BTreeMap::new(),
        session: Some(Sensitive::new("select-session".to_owned())),
        result: None,
        available_challenges: available.iter().map(|s| (*s).to_owned()).collect(),
    })
}

#[test]
fn user_auth_select_challenge_password_srp_is_local_then_srp() {
    let (mut m, next) = start(ctx(AuthFlow::UserAuth), None, None);
    let req = initiate(next);
    assert_eq!(req.auth_flow, AuthFlowType::UserAuth);
    assert_eq!(auth_params(&req), map(&[("USERNAME", LOGIN)]));

    let available = ["PASSWORD_SRP", "PASSWORD", "EMAIL_OTP"];
    let step = ask(m.on_reply(select_challenge(&available), &env()).unwrap());
    assert_eq!(
        step,
        SignInStep::ContinueSignInWithFirstFactorSelection {
            available_challenges: available.iter().map(|s| (*s).to_owned()).collect()
        }
    );
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::FirstFactor);

    // Choosing PASSWORD_SRP sends nothing: the password is asked for.
    let step = ask(m.answer("PASSWORD_SRP", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithPassword);
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::Password { srp: true });
    assert_eq!(m.pending().unwrap().session.as_ref().unwrap().expose_secret(), "select-session");

    let e = env_at(NOW, 0x31);
    let req = respond(m.answer(PW, &ConfirmOptions::default(), &e).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::SelectChallenge);
    assert_eq!(session_of(&req).as_deref(), Some("select-session"));
    let r = responses(&req);
    assert_eq!(keys(&r), ["ANSWER", "SRP_A", "USERNAME"]);
    assert_eq!(r["ANSWER"], "PASSWORD_SRP");
    assert_eq!(r["SRP_A"], srp_a_for(&e));
    assert!(!r.values().any(|v| v == PW), "the password never leaves with SRP");

    let server = SrpServer::new(LOGIN, PW);
    let req = respond(m.on_reply(server.challenge("verifier-session"), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::PasswordVerifier);
    assert_eq!(session_of(&req).as_deref(), Some("verifier-session"));
    server.verify(&srp_a_for(&e), &responses(&req)).unwrap();
    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.username, LOGIN);
}

#[test]
fn user_auth_choosing_password_sends_it_with_select_challenge() {
    let (mut m, next) = start(ctx_with_device(AuthFlow::UserAuth), None, None);
    assert_eq!(auth_params(&initiate(next)), map(&[("DEVICE_KEY", &known_device().device_key), ("USERNAME", LOGIN)]));
    ask(m.on_reply(select_challenge(&["PASSWORD", "EMAIL_OTP"]), &env()).unwrap());
    let step = ask(m.answer("PASSWORD", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithPassword);
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::Password { srp: false });
    let req = respond(m.answer(PW, &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::SelectChallenge);
    assert_eq!(responses(&req), map(&[("ANSWER", "PASSWORD"), ("PASSWORD", PW), ("USERNAME", LOGIN)]));
    assert_eq!(session_of(&req).as_deref(), Some("select-session"));
    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.device, Some(known_device()));
}

#[test]
fn user_auth_email_otp_first_factor() {
    let (mut m, next) = start(ctx(AuthFlow::UserAuth), None, None);
    initiate(next);
    ask(m.on_reply(select_challenge(&["PASSWORD", "EMAIL_OTP"]), &env()).unwrap());
    // Not offered, and not drivable: refused locally, the step stays.
    expect_validation(m.answer("SMS_OTP", &ConfirmOptions::default(), &env()));
    expect_validation(m.answer("WEB_AUTHN", &ConfirmOptions::default(), &env()));
    expect_validation(m.answer("FINGERPRINT", &ConfirmOptions::default(), &env()));
    expect_validation(m.answer("   ", &ConfirmOptions::default(), &env()));
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::FirstFactor);

    let req = respond(m.answer("EMAIL_OTP", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::SelectChallenge);
    assert_eq!(responses(&req), map(&[("ANSWER", "EMAIL_OTP"), ("USERNAME", LOGIN)]));
    let step = ask(m
        .on_reply(
            challenge(
                ChallengeNameType::EmailOtp,
                &[("CODE_DELIVERY_DELIVERY_MEDIUM", "EMAIL"), ("CODE_DELIVERY_DESTINATION", "a***@e***")],
                "otp-session",
            ),
            &env(),
        )
        .unwrap());
    assert_eq!(
        step,
        SignInStep::ConfirmSignInWithEmailCode {
            code_delivery_details: CodeDeliveryDetails {
                delivery_medium: Some("EMAIL".to_owned()),
                destination: Some("a***@e***".to_owned()),
                attribute_name: None,
            }
        }
    );
    let req = respond(m.answer("12345678", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::EmailOtp);
    assert_eq!(responses(&req), map(&[("EMAIL_OTP_CODE", "12345678"), ("USERNAME", LOGIN)]));
    assert_eq!(session_of(&req).as_deref(), Some("otp-session"));
    done(m.on_reply(tokens(), &env()).unwrap());
}

#[test]
fn user_auth_preferred_challenge_goes_in_auth_parameters() {
    let (_, next) = start(ctx(AuthFlow::UserAuth), None, Some("EMAIL_OTP"));
    assert_eq!(auth_params(&initiate(next)), map(&[("PREFERRED_CHALLENGE", "EMAIL_OTP"), ("USERNAME", LOGIN)]));

    let (_, next) = start(ctx(AuthFlow::UserAuth), Some(PW), Some("PASSWORD"));
    assert_eq!(
        auth_params(&initiate(next)),
        map(&[("PASSWORD", PW), ("PREFERRED_CHALLENGE", "PASSWORD"), ("USERNAME", LOGIN)])
    );

    // PASSWORD_SRP: SRP_A up front, and Cognito answers PASSWORD_VERIFIER.
    let (mut m, next) = start(ctx(AuthFlow::UserAuth), Some(PW), Some("PASSWORD_SRP"));
    let params = auth_params(&initiate(next));
    assert_eq!(keys(&params), ["PREFERRED_CHALLENGE", "SRP_A", "USERNAME"]);
    assert_eq!(params["PREFERRED_CHALLENGE"], "PASSWORD_SRP");
    let server = SrpServer::new(LOGIN, PW);
    let req = respond(m.on_reply(server.challenge("p"), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::PasswordVerifier);
    server.verify(&params["SRP_A"], &responses(&req)).unwrap();
}

// --------------------------------------------------------------------- MFA

#[test]
fn mfa_code_steps_and_their_response_keys() {
    let delivery = [("CODE_DELIVERY_DELIVERY_MEDIUM", "SMS"), ("CODE_DELIVERY_DESTINATION", "+*******0100")];
    let sms_details = CodeDeliveryDetails {
        delivery_medium: Some("SMS".to_owned()),
        destination: Some("+*******0100".to_owned()),
        attribute_name: None,
    };
    let cases: [(ChallengeNameType, SignInStep, &str); 4] = [
        (
            ChallengeNameType::SmsMfa,
            SignInStep::ConfirmSignInWithSmsCode { code_delivery_details: sms_details.clone() },
            "SMS_MFA_CODE",
        ),
        (
            ChallengeNameType::SmsOtp,
            SignInStep::ConfirmSignInWithSmsCode { code_delivery_details: sms_details.clone() },
            "SMS_OTP_CODE",
        ),
        (
            ChallengeNameType::EmailOtp,
            SignInStep::ConfirmSignInWithEmailCode { code_delivery_details: sms_details },
            "EMAIL_OTP_CODE",
        ),
        (ChallengeNameType::SoftwareTokenMfa, SignInStep::ConfirmSignInWithTotpCode, "SOFTWARE_TOKEN_MFA_CODE"),
    ];
    for (name, expected_step, key) in cases {
        let (mut m, next) = start(ctx_with_device(AuthFlow::UserPassword), Some(PW), None);
        initiate(next);
        let step = ask(m.on_reply(challenge(name.clone(), &delivery, "mfa-session"), &env()).unwrap());
        assert_eq!(step, expected_step, "{name}");
        let pending = m.pending().unwrap();
        assert_eq!(pending.awaiting, Awaiting::Challenge(name.to_string()));
        assert_eq!(pending.step, expected_step);
        assert_eq!(pending.expires_at_ms, NOW + PENDING_LIFETIME_MS);
        // Surrounding whitespace is trimmed.
        let req = respond(m.answer(" 123456 \n", &ConfirmOptions::default(), &env()).unwrap());
        assert_eq!(req.challenge_name, name);
        assert_eq!(session_of(&req).as_deref(), Some("mfa-session"), "{name}");
        assert_eq!(
            responses(&req),
            map(&[(key, "123456"), ("DEVICE_KEY", &known_device().device_key), ("USERNAME", LOGIN)]),
            "{name}"
        );
        assert!(m.pending().is_none());
        done(m.on_reply(tokens(), &env()).unwrap());
    }
}

#[test]
fn a_refused_code_leaves_the_step_pending_and_answerable_again() {
    let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
    let srp_a = auth_params(&initiate(next))["SRP_A"].clone();
    let server = SrpServer::new(LOGIN, PW);
    server.verify(&srp_a, &responses(&respond(m.on_reply(server.challenge("s1"), &env()).unwrap()))).unwrap();
    ask(m.on_reply(challenge(ChallengeNameType::SoftwareTokenMfa, &[], "totp-session"), &env()).unwrap());
    let before = m.pending().unwrap().clone();

    respond(m.answer("000000", &ConfirmOptions::default(), &env()).unwrap());
    let err = m.on_reply(failed("CodeMismatchException"), &env()).unwrap_err();
    assert!(err.is_service("CodeMismatchException"), "{err:?}");
    assert_eq!(m.pending(), Some(&before), "the same step, on the same session");

    let req = respond(m.answer("654321", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["SOFTWARE_TOKEN_MFA_CODE"], "654321");
    assert_eq!(session_of(&req).as_deref(), Some("totp-session"));
    done(m.on_reply(tokens(), &env()).unwrap());
}

#[test]
fn a_network_failure_on_an_answer_ends_the_conversation() {
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    ask(m.on_reply(challenge(ChallengeNameType::SmsMfa, &[], "s"), &env()).unwrap());
    respond(m.answer("123456", &ConfirmOptions::default(), &env()).unwrap());
    let err = AuthError::Transport { delivery: amplify_auth::Delivery::MaybeSent, message: "reset".to_owned() };
    let got = m.on_reply(Reply::Failed(err.clone()), &env()).unwrap_err();
    assert_eq!(got, err);
    assert!(m.pending().is_none(), "a code that may have been used cannot be sent again on this session");
}

#[test]
fn select_mfa_type_offers_the_allowed_types_and_refuses_others() {
    let (mut m, next) = start(ctx_with_device(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let step = ask(m
        .on_reply(
            challenge(
                ChallengeNameType::SelectMfaType,
                &[("MFAS_CAN_CHOOSE", r#"["SMS_MFA","SOFTWARE_TOKEN_MFA"]"#)],
                "sel",
            ),
            &env(),
        )
        .unwrap());
    let expected = SignInStep::ContinueSignInWithMfaSelection { allowed_mfa_types: vec![MfaType::Sms, MfaType::Totp] };
    assert_eq!(step, expected);
    for bad in ["EMAIL", "EMAIL_OTP", "PUSH", ""] {
        let err = m.answer(bad, &ConfirmOptions::default(), &env()).unwrap_err();
        assert!(matches!(err, AuthError::Validation { field: "challenge_response", .. }), "{bad}: {err:?}");
        let pending = m.pending().unwrap();
        assert_eq!(pending.step, expected, "the step stays pending after {bad:?}");
        assert_eq!(pending.awaiting, Awaiting::Challenge("SELECT_MFA_TYPE".to_owned()));
    }
    let req = respond(m.answer("TOTP", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::SelectMfaType);
    assert_eq!(session_of(&req).as_deref(), Some("sel"));
    assert_eq!(
        responses(&req),
        map(&[("ANSWER", "SOFTWARE_TOKEN_MFA"), ("USERNAME", LOGIN)]),
        "no DEVICE_KEY on SELECT_MFA_TYPE"
    );
    let step = ask(m.on_reply(challenge(ChallengeNameType::SoftwareTokenMfa, &[], "totp"), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithTotpCode);

    // Cognito's own names are accepted too.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    ask(m
        .on_reply(
            challenge(ChallengeNameType::SelectMfaType, &[("MFAS_CAN_CHOOSE", r#"["SMS_MFA","EMAIL_OTP"]"#)], "s"),
            &env(),
        )
        .unwrap());
    let req = respond(m.answer("SMS_MFA", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["ANSWER"], "SMS_MFA");
}

fn mfa_setup(can_setup: &str) -> Reply {
    challenge(ChallengeNameType::MfaSetup, &[("MFAS_CAN_SETUP", can_setup)], "setup-session")
}

#[test]
fn mfa_setup_totp_only_associates_then_verifies_then_answers_mfa_setup() {
    let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
    let srp_a = auth_params(&initiate(next))["SRP_A"].clone();
    let server = SrpServer::new(LOGIN, PW);
    server.verify(&srp_a, &responses(&respond(m.on_reply(server.challenge("s1"), &env()).unwrap()))).unwrap();

    let next = m.on_reply(mfa_setup(r#"["SOFTWARE_TOKEN_MFA"]"#), &env()).unwrap();
    let Next::Send(Call::AssociateSoftwareToken(req)) = next else {
        panic!("expected AssociateSoftwareToken: {next:?}")
    };
    assert_eq!(req.session.as_ref().map(|s| s.expose().as_str()), Some("setup-session"));
    assert!(req.access_token.is_none());
    assert!(m.pending().is_none());

    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let step = ask(m
        .on_reply(
            Reply::Associated(AssociateSoftwareTokenResponse {
                secret_code: Some(Sensitive::new(secret.to_owned())),
                session: Some(Sensitive::new("associated-session".to_owned())),
                ..Default::default()
            }),
            &env(),
        )
        .unwrap());
    let SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } = &step else { panic!("{step:?}") };
    assert_eq!(totp_setup_details.shared_secret.expose_secret(), secret);
    assert_eq!(totp_setup_details.username, LOGIN);
    assert!(totp_setup_details.setup_uri("Issuer", None).contains(secret));

    let pending = m.pending().unwrap().clone();
    assert_eq!(pending.awaiting, Awaiting::TotpSetup);
    let SignInStep::ContinueSignInWithTotpSetup { totp_setup_details: stored } = &pending.step else {
        panic!("{:?}", pending.step)
    };
    assert!(stored.shared_secret.is_empty(), "the stored step must not hold the secret");
    let json = serde_json::to_string(&pending).unwrap();
    assert!(!json.contains(secret), "{json}");
    assert!(!format!("{pending:?} {m:?}").contains(secret));

    // Not digits: refused locally, still pending.
    expect_validation(m.answer("abcdef", &ConfirmOptions::default(), &env()));
    assert_eq!(m.pending(), Some(&pending));

    let options = ConfirmOptions { friendly_device_name: Some("my phone".to_owned()), ..Default::default() };
    let next = m.answer("123456", &options, &env()).unwrap();
    let Next::Send(Call::VerifySoftwareToken(req)) = next else { panic!("expected VerifySoftwareToken: {next:?}") };
    assert_eq!(req.session.as_ref().map(|s| s.expose().as_str()), Some("associated-session"));
    assert_eq!(req.user_code.expose(), "123456");
    assert_eq!(req.friendly_device_name.as_deref(), Some("my phone"));

    // A wrong code: the setup step stays answerable.
    let err = m.on_reply(failed("EnableSoftwareTokenMFAException"), &env()).unwrap_err();
    assert!(err.is_service("EnableSoftwareTokenMFAException"));
    assert_eq!(m.pending(), Some(&pending));
    let next = m.answer("654321", &options, &env()).unwrap();
    assert!(matches!(next, Next::Send(Call::VerifySoftwareToken(_))), "{next:?}");

    let req = respond(
        m.on_reply(
            Reply::Verified(VerifySoftwareTokenResponse {
                status: Some(VerifySoftwareTokenResponseType::Success),
                session: Some(Sensitive::new("verified-session".to_owned())),
                ..Default::default()
            }),
            &env(),
        )
        .unwrap(),
    );
    assert_eq!(req.challenge_name, ChallengeNameType::MfaSetup);
    assert_eq!(session_of(&req).as_deref(), Some("verified-session"));
    assert_eq!(responses(&req), map(&[("USERNAME", LOGIN)]));
    done(m.on_reply(tokens(), &env()).unwrap());
}

#[test]
fn mfa_setup_email_only_asks_for_the_address_without_a_call() {
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let step = ask(m.on_reply(mfa_setup(r#"["EMAIL_OTP"]"#), &env()).unwrap());
    assert_eq!(step, SignInStep::ContinueSignInWithEmailSetup);
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::EmailSetup);
    expect_validation(m.answer("not-an-address", &ConfirmOptions::default(), &env()));
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::EmailSetup);
    let req = respond(m.answer("ann@example.com", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::MfaSetup);
    assert_eq!(session_of(&req).as_deref(), Some("setup-session"));
    assert_eq!(responses(&req), map(&[("EMAIL", "ann@example.com"), ("USERNAME", LOGIN)]));
    // Cognito then sends a code to the address.
    let step = ask(m.on_reply(challenge(ChallengeNameType::EmailOtp, &[], "email-otp"), &env()).unwrap());
    assert!(matches!(step, SignInStep::ConfirmSignInWithEmailCode { .. }), "{step:?}");
    let req = respond(m.answer("87654321", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["EMAIL_OTP_CODE"], "87654321");
    done(m.on_reply(tokens(), &env()).unwrap());
}

#[test]
fn mfa_setup_with_totp_and_email_is_a_local_choice() {
    let both = r#"["SMS_MFA","SOFTWARE_TOKEN_MFA","EMAIL_OTP"]"#;
    let expected =
        SignInStep::ContinueSignInWithMfaSetupSelection { allowed_mfa_types: vec![MfaType::Totp, MfaType::Email] };

    // EMAIL: asked for the address, nothing sent.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    assert_eq!(ask(m.on_reply(mfa_setup(both), &env()).unwrap()), expected);
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::MfaSetupSelection);
    expect_validation(m.answer("SMS", &ConfirmOptions::default(), &env()));
    assert_eq!(m.pending().unwrap().step, expected);
    let step = ask(m.answer("EMAIL", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(step, SignInStep::ContinueSignInWithEmailSetup);
    assert_eq!(m.pending().unwrap().awaiting, Awaiting::EmailSetup);
    let req = respond(m.answer("ann@example.com", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["EMAIL"], "ann@example.com");
    assert_eq!(session_of(&req).as_deref(), Some("setup-session"));

    // TOTP: AssociateSoftwareToken with the session.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    assert_eq!(ask(m.on_reply(mfa_setup(both), &env()).unwrap()), expected);
    let next = m.answer("TOTP", &ConfirmOptions::default(), &env()).unwrap();
    let Next::Send(Call::AssociateSoftwareToken(req)) = next else {
        panic!("expected AssociateSoftwareToken: {next:?}")
    };
    assert_eq!(req.session.as_ref().map(|s| s.expose().as_str()), Some("setup-session"));

    // SMS only cannot be set up during sign-in.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    expect_protocol(m.on_reply(mfa_setup(r#"["SMS_MFA"]"#), &env()));
}

// -------------------------------------------------------- NEW_PASSWORD_REQUIRED

#[test]
fn new_password_required_reports_missing_attributes_and_sends_them() {
    let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
    initiate(next);
    let params = [
        ("requiredAttributes", r#"["userAttributes.email","userAttributes.name"]"#),
        ("userAttributes", r#"{"email_verified":"true","phone_number":"+15555550100"}"#),
    ];
    // USER_SRP would normally verify first; the machine takes the challenge as it comes.
    let step = ask(m.on_reply(challenge(ChallengeNameType::NewPasswordRequired, &params, "np"), &env()).unwrap());
    assert_eq!(
        step,
        SignInStep::ConfirmSignInWithNewPasswordRequired {
            missing_attributes: vec!["email".to_owned(), "name".to_owned()]
        }
    );
    let pending = m.pending().unwrap();
    assert!(!pending.parameters.contains_key("userAttributes"), "current attributes are not kept");
    assert!(pending.parameters.contains_key("requiredAttributes"));

    let options = ConfirmOptions {
        user_attributes: map(&[("email", "ann@example.com"), ("name", "Ann"), ("nickname", "")]),
        ..Default::default()
    };
    let req = respond(m.answer("N3w-Passw0rd!", &options, &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::NewPasswordRequired);
    assert_eq!(session_of(&req).as_deref(), Some("np"));
    assert_eq!(
        responses(&req),
        map(&[
            ("NEW_PASSWORD", "N3w-Passw0rd!"),
            ("USERNAME", LOGIN),
            ("userAttributes.email", "ann@example.com"),
            ("userAttributes.name", "Ann"),
        ])
    );
    done(m.on_reply(tokens(), &env()).unwrap());

    // Without requiredAttributes nothing is missing.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let step = ask(m.on_reply(challenge(ChallengeNameType::NewPasswordRequired, &[], "np"), &env()).unwrap());
    assert_eq!(step, SignInStep::ConfirmSignInWithNewPasswordRequired { missing_attributes: vec![] });
}

// ------------------------------------------------------------------ devices

#[test]
fn new_device_metadata_is_confirmed_with_a_verifier_that_then_signs_in() {
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let mut with_device = result("access-for-confirm");
    with_device.new_device_metadata = Some(NewDeviceMetadataType {
        device_key: Some("us-east-1_22222222-aaaa-bbbb-cccc-000000000002".to_owned()),
        device_group_key: Some("-newGroup".to_owned()),
        ..Default::default()
    });
    let e = env();
    let req = confirm_device(
        m.on_reply(Reply::Auth(AuthReply { result: Some(with_device), ..Default::default() }), &e).unwrap(),
    );
    assert_eq!(req.access_token.expose(), "access-for-confirm");
    assert_eq!(req.device_key, "us-east-1_22222222-aaaa-bbbb-cccc-000000000002");
    assert_eq!(req.device_name.as_deref(), Some("test device"));
    let config = req.device_secret_verifier_config.clone().unwrap();
    let (salt, verifier) = (config.salt.unwrap(), config.password_verifier.unwrap());

    let signed = done(m.on_reply(Reply::DeviceConfirmed, &env()).unwrap());
    assert!(signed.new_device);
    assert!(signed.device_error.is_none());
    let device = signed.device.clone().unwrap();
    assert_eq!(device.device_key, req.device_key);
    assert_eq!(device.device_group_key, "-newGroup");
    // The verifier is the one for the returned device password and the Env's salt.
    let expected = DeviceVerifierConfig::generate(
        &device.device_group_key,
        &device.device_key,
        device.random_password.expose_secret(),
        &e.entropy.device_salt,
    )
    .unwrap();
    assert_eq!((salt.as_str(), verifier.as_str()), (expected.salt(), expected.password_verifier()));

    // Next sign-in: USER_SRP, then DEVICE_SRP_AUTH with that device.
    let server = DeviceServer::new(&device, &salt, &verifier);
    device_srp_sign_in(&device, &server);
}

/// USER_SRP_AUTH → PASSWORD_VERIFIER → DEVICE_SRP_AUTH →
/// DEVICE_PASSWORD_VERIFIER → tokens, checking both claims.
fn device_srp_sign_in(device: &DeviceMetadata, device_server: &DeviceServer) {
    let c = Context { device: Some(device.clone()), ..ctx(AuthFlow::UserSrp) };
    let (mut m, next) = start(c, Some(PW), None);
    let params = auth_params(&initiate(next));
    assert!(!params.contains_key("DEVICE_KEY"), "USER_SRP_AUTH sends the device key with the verifier, not before");
    let server = SrpServer::new(LOGIN, PW);
    let req = respond(m.on_reply(server.challenge("u1"), &env()).unwrap());
    let claim = responses(&req);
    assert_eq!(claim["DEVICE_KEY"], device.device_key);
    server.verify(&params["SRP_A"], &claim).unwrap();

    let e = env_at(NOW + 1_000, 0x62);
    let req =
        respond(m.on_reply(challenge(ChallengeNameType::DeviceSrpAuth, &[("USERNAME", LOGIN)], "d1"), &e).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::DeviceSrpAuth);
    assert_eq!(session_of(&req).as_deref(), Some("d1"));
    let r = responses(&req);
    assert_eq!(keys(&r), ["DEVICE_KEY", "SRP_A", "USERNAME"]);
    assert_eq!(r["DEVICE_KEY"], device.device_key);
    let device_srp_a = r["SRP_A"].clone();
    assert_eq!(device_srp_a, srp_a_for(&e), "a fresh ephemeral from this step's Env");

    let req = respond(m.on_reply(device_server.challenge(LOGIN, "d2"), &env_at(NOW + 2_000, 1)).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::DevicePasswordVerifier);
    assert_eq!(session_of(&req).as_deref(), Some("d2"));
    let claim = responses(&req);
    assert_eq!(
        keys(&claim),
        ["DEVICE_KEY", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP", "USERNAME"]
    );
    assert_eq!(claim["TIMESTAMP"], "Sun Nov 22 07:30:02 UTC 2026");
    device_server.verify(&device_srp_a, &claim).unwrap();
    // The user's server cannot be fooled by the device's claim, and vice versa.
    assert!(server.verify(&device_srp_a, &claim).is_err());

    let signed = done(m.on_reply(tokens(), &env()).unwrap());
    assert_eq!(signed.device.as_ref(), Some(device));
    assert!(!signed.new_device);
}

#[test]
fn device_srp_auth_with_a_stored_device() {
    let device = known_device();
    let server = DeviceServer::for_device(&device);
    device_srp_sign_in(&device, &server);

    // A device whose stored password is wrong does not verify.
    let wrong = DeviceMetadata::new(device.device_key.clone(), device.device_group_key.clone(), "not-the-password");
    let c = Context { device: Some(wrong), ..ctx(AuthFlow::UserPassword) };
    let (mut m, next) = start(c, Some(PW), None);
    initiate(next);
    let r = responses(&respond(m.on_reply(challenge(ChallengeNameType::DeviceSrpAuth, &[], "d1"), &env()).unwrap()));
    let claim = responses(&respond(m.on_reply(server.challenge(LOGIN, "d2"), &env()).unwrap()));
    assert_eq!(server.verify(&r["SRP_A"], &claim), Err(srp_core::Error::SignatureMismatch));
}

#[test]
fn confirm_device_failure_still_signs_in_without_the_device() {
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let mut with_device = result("a");
    with_device.new_device_metadata = Some(NewDeviceMetadataType {
        device_key: Some("us-east-1_dk".to_owned()),
        device_group_key: Some("grp".to_owned()),
        ..Default::default()
    });
    confirm_device(
        m.on_reply(Reply::Auth(AuthReply { result: Some(with_device), ..Default::default() }), &env()).unwrap(),
    );
    let signed = done(m.on_reply(failed("InternalErrorException"), &env()).unwrap());
    assert!(signed.device.is_none());
    assert!(!signed.new_device);
    assert!(signed.device_error.as_ref().is_some_and(|e| e.is_service("InternalErrorException")));

    // Empty device metadata is no device: no ConfirmDevice.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let mut empty = result("a");
    empty.new_device_metadata = Some(NewDeviceMetadataType {
        device_key: Some(String::new()),
        device_group_key: Some("grp".to_owned()),
        ..Default::default()
    });
    let signed =
        done(m.on_reply(Reply::Auth(AuthReply { result: Some(empty), ..Default::default() }), &env()).unwrap());
    assert!(signed.device.is_none());
}

#[test]
fn resource_not_found_with_a_device_clears_it_and_retries_without_device_key() {
    let device = known_device();
    let (mut m, next) = start(ctx_with_device(AuthFlow::UserPassword), Some(PW), None);
    assert_eq!(auth_params(&initiate(next))["DEVICE_KEY"], device.device_key);
    match m.on_reply(failed("ResourceNotFoundException"), &env()).unwrap() {
        Next::ClearDevice(name) => assert_eq!(name, LOGIN),
        other => panic!("expected ClearDevice, got {other:?}"),
    }
    assert!(m.context().device.is_none());
    let req = initiate(m.on_reply(Reply::Device(None), &env()).unwrap());
    assert_eq!(auth_params(&req), map(&[("PASSWORD", PW), ("USERNAME", LOGIN)]));
    // Only once: a second ResourceNotFoundException is the error.
    let err = m.on_reply(failed("ResourceNotFoundException"), &env()).unwrap_err();
    assert!(err.is_service("ResourceNotFoundException"));
    assert!(m.pending().is_none());

    // Without a device it is just the error.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    let err = m.on_reply(failed("ResourceNotFoundException"), &env()).unwrap_err();
    assert!(err.is_service("ResourceNotFoundException"));
}

#[test]
fn resource_not_found_on_a_custom_answer_retries_the_answer_without_device_key() {
    let device = known_device();
    let (mut m, next) = start(ctx_with_device(AuthFlow::CustomWithoutSrp), None, None);
    initiate(next);
    ask(m.on_reply(challenge(ChallengeNameType::CustomChallenge, &[("q", "?")], "c1"), &env()).unwrap());
    let req = respond(m.answer("42", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["DEVICE_KEY"], device.device_key);
    assert!(matches!(m.on_reply(failed("ResourceNotFoundException"), &env()).unwrap(), Next::ClearDevice(_)));
    let req = respond(m.on_reply(Reply::Device(None), &env()).unwrap());
    assert_eq!(req.challenge_name, ChallengeNameType::CustomChallenge);
    assert_eq!(responses(&req), map(&[("ANSWER", "42"), ("USERNAME", LOGIN)]));
    assert_eq!(session_of(&req).as_deref(), Some("c1"));
    done(m.on_reply(tokens(), &env()).unwrap());
}

// ---------------------------------------------------------- ended / errors

#[test]
fn unconfirmed_user_and_password_reset_end_the_conversation_as_steps() {
    for (code, step) in [
        ("UserNotConfirmedException", SignInStep::ConfirmSignUp),
        ("PasswordResetRequiredException", SignInStep::ResetPassword),
    ] {
        for flow in [AuthFlow::UserSrp, AuthFlow::UserPassword] {
            let (mut m, next) = start(ctx(flow), Some(PW), None);
            initiate(next);
            match m.on_reply(failed(code), &env()).unwrap() {
                Next::Ended(got) => assert_eq!(got, step),
                other => panic!("{code}: expected Ended, got {other:?}"),
            }
            assert!(m.pending().is_none());
        }
    }
    let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
    initiate(next);
    let err = m.on_reply(failed("NotAuthorizedException"), &env()).unwrap_err();
    assert!(err.is_service("NotAuthorizedException"));
}

#[test]
fn pending_expires_after_cognitos_three_minutes() {
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    ask(m.on_reply(challenge(ChallengeNameType::SmsMfa, &[], "sms"), &env()).unwrap());
    let pending = m.pending().unwrap().clone();
    assert_eq!(pending.expires_at_ms, NOW + 3 * 60 * 1000);

    // One millisecond before: accepted (on a resumed copy).
    let mut early = SignInMachine::resume(ctx(AuthFlow::UserPassword), pending.clone());
    let req =
        respond(early.answer("123456", &ConfirmOptions::default(), &env_at(pending.expires_at_ms - 1, 3)).unwrap());
    assert_eq!(session_of(&req).as_deref(), Some("sms"));

    // At the expiry and after: InvalidState.
    expect_invalid_state(m.answer("123456", &ConfirmOptions::default(), &env_at(pending.expires_at_ms, 3)));
    let mut late = SignInMachine::resume(ctx(AuthFlow::UserPassword), pending.clone());
    expect_invalid_state(late.answer("123456", &ConfirmOptions::default(), &env_at(pending.expires_at_ms + 60_000, 3)));
}

#[test]
fn resume_from_a_serialized_pending_sign_in_continues_on_its_session() {
    let mut c = ctx(AuthFlow::UserSrp);
    c.login_id = "alice@example.com".to_owned();
    c.device_for = None;
    let (mut m, next) = start(c, Some(PW), None);
    let srp_a = auth_params(&initiate(next))["SRP_A"].clone();
    let server = SrpServer::new("alice-canonical", PW);
    assert!(matches!(m.on_reply(server.challenge("s1"), &env()).unwrap(), Next::LoadDevice(_)));
    let claim = responses(&respond(m.on_reply(Reply::Device(None), &env()).unwrap()));
    server.verify(&srp_a, &claim).unwrap();
    ask(m
        .on_reply(
            challenge(ChallengeNameType::SelectMfaType, &[("MFAS_CAN_CHOOSE", r#"["SMS_MFA","EMAIL_OTP"]"#)], "s2"),
            &env(),
        )
        .unwrap());

    let pending = m.pending().unwrap().clone();
    let json = serde_json::to_string(&pending).unwrap();
    let back: PendingSignIn = serde_json::from_str(&json).unwrap();
    assert_eq!(back, pending);
    assert_eq!(back.username, "alice-canonical");
    assert_eq!(back.login_id, "alice@example.com");
    assert_eq!(back.flow, "USER_SRP_AUTH");
    assert_eq!(back.session.as_ref().unwrap().expose_secret(), "s2");
    assert!(!json.contains(PW));

    let mut resumed = SignInMachine::resume(
        Context { login_id: back.login_id.clone(), device_for: Some(back.username.clone()), ..ctx(AuthFlow::UserSrp) },
        back,
    );
    assert_eq!(resumed.pending(), Some(&pending));
    let req = respond(resumed.answer("EMAIL", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(session_of(&req).as_deref(), Some("s2"));
    assert_eq!(responses(&req), map(&[("ANSWER", "EMAIL_OTP"), ("USERNAME", "alice-canonical")]));
}

#[test]
fn secret_hash_goes_with_every_request_when_the_client_has_a_secret() {
    let hash = |user: &str| srp_core::secret_hash(CLIENT_SECRET, user, CLIENT).unwrap().as_str().to_owned();
    let canonical = "c-4d2f";
    let mut c = ctx(AuthFlow::UserSrp);
    c.client_secret = Some(CLIENT_SECRET.into());
    c.login_id = "ann@example.com".to_owned();
    c.device_for = Some(canonical.to_owned()); // already looked up
    let (mut m, next) = start(c.clone(), Some(PW), None);
    let params = auth_params(&initiate(next));
    assert_eq!(params["SECRET_HASH"], hash("ann@example.com"), "InitiateAuth hashes what was typed");
    let server = SrpServer::new(canonical, PW);
    let req = respond(m.on_reply(server.challenge("s1"), &env()).unwrap());
    let claim = responses(&req);
    assert_eq!(claim["SECRET_HASH"], hash(canonical), "answers hash the canonical username");
    server.verify(&params["SRP_A"], &claim).unwrap();
    ask(m.on_reply(challenge(ChallengeNameType::SmsMfa, &[], "s2"), &env()).unwrap());
    let req = respond(m.answer("123456", &ConfirmOptions::default(), &env()).unwrap());
    assert_eq!(responses(&req)["SECRET_HASH"], hash(canonical));
    assert!(!format!("{m:?} {:?}", m.context()).contains(CLIENT_SECRET));

    for flow in [AuthFlow::UserPassword, AuthFlow::CustomWithoutSrp, AuthFlow::UserAuth, AuthFlow::CustomWithSrp] {
        let (_, next) = start(Context { flow, ..c.clone() }, Some(PW), None);
        assert_eq!(auth_params(&initiate(next))["SECRET_HASH"], hash("ann@example.com"), "{flow:?}");
    }
}

#[test]
fn protocol_errors_are_errors_not_panics() {
    // A reply with neither tokens nor a challenge.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    expect_protocol(m.on_reply(Reply::Auth(AuthReply::default()), &env()));
    assert!(m.pending().is_none());
    expect_invalid_state(m.on_reply(tokens(), &env()));

    let server = SrpServer::new(LOGIN, PW);
    let srp_b = server.ephemeral.srp_b().as_str().to_owned();
    let verifier_without = |missing: &str| {
        let all =
            [("SRP_B", srp_b.as_str()), ("SALT", SALT), ("SECRET_BLOCK", SECRET_BLOCK), ("USER_ID_FOR_SRP", LOGIN)];
        let kept: Vec<(&str, &str)> = all.iter().copied().filter(|(k, _)| *k != missing).collect();
        challenge(ChallengeNameType::PasswordVerifier, &kept, "s")
    };
    for missing in ["SRP_B", "SALT", "SECRET_BLOCK", "USER_ID_FOR_SRP"] {
        let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
        initiate(next);
        let message = expect_protocol(m.on_reply(verifier_without(missing), &env()));
        assert!(message.contains(missing), "{missing}: {message}");
    }
    // B ≡ 0 (mod N) and a B that is not hex.
    let n_hex = srp_core::N_HEX.to_owned();
    for bad_b in ["0", n_hex.as_str(), "zz-not-hex"] {
        let (mut m, next) = start(ctx(AuthFlow::UserSrp), Some(PW), None);
        initiate(next);
        let reply = challenge(
            ChallengeNameType::PasswordVerifier,
            &[("SRP_B", bad_b), ("SALT", SALT), ("SECRET_BLOCK", SECRET_BLOCK), ("USER_ID_FOR_SRP", LOGIN)],
            "s",
        );
        expect_protocol(m.on_reply(reply, &env()));
    }

    let cases: Vec<(AuthFlow, Reply)> = vec![
        // PASSWORD_VERIFIER without an SRP start.
        (AuthFlow::UserPassword, server.challenge("s")),
        // WEB_AUTHN is not drivable.
        (AuthFlow::UserAuth, challenge(ChallengeNameType::WebAuthn, &[], "s")),
        // DEVICE_SRP_AUTH without a device.
        (AuthFlow::UserPassword, challenge(ChallengeNameType::DeviceSrpAuth, &[], "s")),
        // SELECT_MFA_TYPE without the list, or a malformed one.
        (AuthFlow::UserPassword, challenge(ChallengeNameType::SelectMfaType, &[], "s")),
        (AuthFlow::UserPassword, challenge(ChallengeNameType::SelectMfaType, &[("MFAS_CAN_CHOOSE", "SMS_MFA")], "s")),
        // MFA_SETUP offering nothing settable.
        (AuthFlow::UserPassword, challenge(ChallengeNameType::MfaSetup, &[], "s")),
        // NEW_PASSWORD_REQUIRED with a malformed requiredAttributes.
        (
            AuthFlow::UserPassword,
            challenge(ChallengeNameType::NewPasswordRequired, &[("requiredAttributes", "{not json")], "s"),
        ),
        // A challenge nobody knows.
        (AuthFlow::UserPassword, challenge(ChallengeNameType::from("SOMETHING_NEW"), &[], "s")),
        (AuthFlow::UserPassword, challenge(ChallengeNameType::AdminNoSrpAuth, &[], "s")),
        // Tokens without an access token.
        (
            AuthFlow::UserPassword,
            Reply::Auth(AuthReply {
                result: Some(AuthenticationResultType {
                    id_token: Some(Sensitive::new("id".to_owned())),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        ),
        // DEVICE_PASSWORD_VERIFIER out of order.
        (AuthFlow::UserPassword, DeviceServer::for_device(&known_device()).challenge(LOGIN, "s")),
    ];
    for (i, (flow, reply)) in cases.into_iter().enumerate() {
        let (mut m, next) = start(ctx(flow), Some(PW), None);
        initiate(next);
        let message = expect_protocol(m.on_reply(reply, &env()));
        assert!(!message.is_empty(), "case {i}");
        assert!(m.pending().is_none(), "case {i}");
    }

    // AssociateSoftwareToken without a secret; VerifySoftwareToken ERROR.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    assert!(matches!(
        m.on_reply(mfa_setup(r#"["SOFTWARE_TOKEN_MFA"]"#), &env()).unwrap(),
        Next::Send(Call::AssociateSoftwareToken(_))
    ));
    expect_protocol(m.on_reply(Reply::Associated(AssociateSoftwareTokenResponse::default()), &env()));

    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    m.on_reply(mfa_setup(r#"["SOFTWARE_TOKEN_MFA"]"#), &env()).unwrap();
    ask(m
        .on_reply(
            Reply::Associated(AssociateSoftwareTokenResponse {
                secret_code: Some(Sensitive::new("JBSWY3DPEHPK3PXP".to_owned())),
                ..Default::default()
            }),
            &env(),
        )
        .unwrap());
    m.answer("123456", &ConfirmOptions::default(), &env()).unwrap();
    expect_protocol(m.on_reply(
        Reply::Verified(VerifySoftwareTokenResponse {
            status: Some(VerifySoftwareTokenResponseType::Error),
            ..Default::default()
        }),
        &env(),
    ));

    // DEVICE_SRP_AUTH answered, then something other than the verifier.
    let (mut m, next) = start(ctx_with_device(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    respond(m.on_reply(challenge(ChallengeNameType::DeviceSrpAuth, &[], "d"), &env()).unwrap());
    expect_protocol(m.on_reply(tokens(), &env()));
}

#[test]
fn inputs_out_of_turn_are_invalid_state() {
    // A reply while waiting for the person: refused, and the step stays
    // pending and answerable.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    ask(m.on_reply(challenge(ChallengeNameType::SmsMfa, &[], "s"), &env()).unwrap());
    expect_invalid_state(m.on_reply(tokens(), &env()));
    assert!(m.pending().is_some(), "the pending step survives a stray reply");
    assert!(matches!(m.answer("123456", &ConfirmOptions::default(), &env()), Ok(Next::Send(_))));
    // An answer while waiting for a reply: refused, and the reply is still
    // accepted afterwards.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    expect_invalid_state(m.answer("123456", &ConfirmOptions::default(), &env()));
    assert!(matches!(m.on_reply(tokens(), &env()), Ok(Next::Done(_))), "the conversation survives a stray answer");
    // The wrong kind of reply.
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    expect_invalid_state(m.on_reply(Reply::DeviceConfirmed, &env()));
    let (mut m, next) = start(ctx(AuthFlow::UserPassword), Some(PW), None);
    initiate(next);
    expect_invalid_state(m.on_reply(Reply::Verified(VerifySoftwareTokenResponse::default()), &env()));
}

#[test]
fn debug_output_shows_no_password_session_or_device_secret() {
    let session = "SESSION-abcdef-0123456789";
    let mut c = ctx_with_device(AuthFlow::UserSrp);
    c.client_secret = Some(CLIENT_SECRET.into());
    let (mut m, next) = start(c.clone(), Some(PW), None);
    let mut shown = vec![format!("{next:?}"), format!("{m:?}"), format!("{c:?}")];
    let server = SrpServer::new(LOGIN, PW);
    let next = m.on_reply(server.challenge(session), &env()).unwrap();
    shown.push(format!("{next:?}"));
    shown.push(format!("{m:?}"));
    ask(m.on_reply(challenge(ChallengeNameType::SmsMfa, &[], session), &env()).unwrap());
    let pending = m.pending().unwrap();
    assert_eq!(pending.session.as_ref().unwrap().expose_secret(), session);
    shown.push(format!("{pending:?}"));
    shown.push(format!("{m:?}"));
    shown.push(format!("{:?}", m.context()));
    shown.push(format!("{:?}", env()));
    let next = m.answer("987654", &ConfirmOptions::default(), &env()).unwrap();
    shown.push(format!("{next:?}"));
    let device_pw = known_device().random_password.expose_secret().to_owned();
    for text in &shown {
        for secret in [PW, session, CLIENT_SECRET, device_pw.as_str(), "987654"] {
            assert!(!text.contains(secret), "{secret:?} shown in {text}");
        }
    }
    assert!(shown[2].contains(LOGIN) && shown[2].contains(&known_device().device_key), "{}", shown[2]);
}
