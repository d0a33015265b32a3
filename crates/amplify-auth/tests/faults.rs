//! HTTP-level faults: an [`Auth`] pointed at a scripted Cognito (wiremock,
//! or a raw TCP listener for connections dropped or reset mid-request),
//! with a fault injected into one call of each flow: a 500, throttling, a
//! response slower than the attempt timeout, a dropped or reset connection,
//! a body that is not Cognito's JSON. Checks the typed error, whether it is
//! transient, how often the call was attempted (and with which
//! `amz-sdk-request` / `amz-sdk-invocation-id` headers), and what happened
//! to the stored session.

#![allow(clippy::unwrap_used, clippy::panic, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amplify_auth::{
    Auth, AuthConfig, AuthError, AuthFlow, Delivery, RetryPolicy, SignInOptions, SignInStep, SignUpOptions,
};
use serde_json::{Value, json};
use token_store::TokenRecord;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const POOL: &str = "us-east-1_FaultPool";
const CLIENT: &str = "faultclient123";
const PW: &str = "Corr3ct-Horse!";
const PREFIX: &str = "AWSCognitoIdentityProviderService.";
const JSON_1_1: &str = "application/x-amz-json-1.1";
const MAX_ATTEMPTS: u32 = 3;

// ---------------------------------------------------------------- fixtures

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: MAX_ATTEMPTS,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        attempt_timeout: Duration::from_millis(600),
    }
}

fn auth(endpoint: &str, flow: AuthFlow) -> Auth {
    let config =
        AuthConfig::builder(POOL, CLIENT).user_pool_endpoint(endpoint).auth_flow(flow).retry(policy()).build().unwrap();
    Auth::new(config).unwrap()
}

fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn now_s() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// A JWT as Cognito shapes it (the client does not check signatures).
fn jwt(token_use: &str, exp_in_s: i64, jti: &str) -> String {
    let now = now_s();
    let claims = json!({
        "sub": "sub-0001", "username": "alice", "cognito:username": "alice", "token_use": token_use,
        "iat": now, "auth_time": now, "exp": now + exp_in_s, "origin_jti": jti, "jti": format!("{jti}-{token_use}"),
        "client_id": CLIENT, "iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"),
    });
    format!("{}.{}.{}", b64url(br#"{"alg":"RS256","kid":"k1"}"#), b64url(claims.to_string().as_bytes()), b64url(b"sig"))
}

fn tokens_json(jti: &str, new_device: bool) -> String {
    let mut result = json!({
        "AccessToken": jwt("access", 3600, jti), "IdToken": jwt("id", 3600, jti),
        "RefreshToken": format!("refresh-{jti}"), "ExpiresIn": 3600, "TokenType": "Bearer",
    });
    if new_device {
        result["NewDeviceMetadata"] =
            json!({"DeviceKey": "us-east-1_0000aaaa-1111-2222-3333-444455556666", "DeviceGroupKey": "-grp"});
    }
    json!({ "AuthenticationResult": result }).to_string()
}

fn password_verifier_json() -> String {
    let identity = srp_core::Identity::user(POOL, "alice", PW).unwrap();
    let salt = "7c0ffee00112233445566778899aabbc";
    let verifier = srp_core::compute_verifier(&srp_core::compute_x(salt, &identity).unwrap());
    let server = srp_core::ServerEphemeral::from_random(&[9; 32], &verifier).unwrap();
    json!({
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SRP_B": server.srp_b().as_str(), "SALT": salt, "SECRET_BLOCK": "c2VjcmV0LWJsb2Nr",
            "USER_ID_FOR_SRP": "alice", "USERNAME": "alice",
        },
        "Session": "session-1",
    })
    .to_string()
}

/// A stored session: expired (`exp_in_s` < 0) or fresh.
fn record(exp_in_s: i64) -> TokenRecord {
    let mut record = TokenRecord::new("alice", jwt("access", exp_in_s, "old"));
    record.id_token = Some(jwt("id", exp_in_s, "old").into());
    record.refresh_token = Some("refresh-old".into());
    record
}

// -------------------------------------------------------------- the faults

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// 500 `InternalErrorException`.
    Internal500,
    /// 400 `TooManyRequestsException`.
    Throttle,
    /// The right answer, 5 s late (the attempt timeout is 600 ms).
    Timeout,
    /// 200 with an HTML page.
    Html200,
    /// 200 with truncated JSON.
    Truncated200,
    /// 502 with an HTML page (a proxy's error page).
    Html502,
    /// The request is read, then the connection is closed without an answer.
    Dropped,
    /// The request is read, then the connection is reset (RST).
    Reset,
}

const ALL: [Fault; 8] = [
    Fault::Internal500,
    Fault::Throttle,
    Fault::Timeout,
    Fault::Html200,
    Fault::Truncated200,
    Fault::Html502,
    Fault::Dropped,
    Fault::Reset,
];

impl Fault {
    /// Attempts made for an operation that is (or is not) idempotent.
    fn attempts(self, idempotent: bool) -> usize {
        let all = MAX_ATTEMPTS as usize;
        match self {
            Self::Throttle => all,
            Self::Internal500 | Self::Timeout | Self::Html502 | Self::Dropped | Self::Reset if idempotent => all,
            _ => 1,
        }
    }

    fn check(self, err: &AuthError, what: &str) {
        match self {
            Self::Internal500 => assert!(err.is_service("InternalErrorException"), "{what}: {err:?}"),
            Self::Throttle => assert!(err.is_service("TooManyRequestsException"), "{what}: {err:?}"),
            Self::Timeout | Self::Dropped | Self::Reset => {
                assert!(matches!(err, AuthError::Transport { delivery: Delivery::MaybeSent, .. }), "{what}: {err:?}")
            }
            Self::Html200 | Self::Truncated200 | Self::Html502 => {
                assert!(matches!(err, AuthError::Protocol(_)), "{what}: {err:?}");
            }
        }
        let transient = !matches!(self, Self::Html200 | Self::Truncated200 | Self::Html502);
        assert_eq!(err.is_transient(), transient, "{what}: is_transient of {err:?}");
        // Nothing of a response body reaches the error beyond an excerpt.
        assert!(!err.to_string().contains("refresh-"), "{what}: {err}");
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Hit {
    target: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A canned answer for an operation that is not faulted.
#[derive(Clone)]
struct Stub {
    op: &'static str,
    body: String,
}

fn stub(op: &'static str, body: impl Into<String>) -> Stub {
    Stub { op, body: body.into() }
}

/// A scripted Cognito: `fault` on `op`, the stubs elsewhere.
enum Server {
    Mock(MockServer),
    Raw(RawServer),
}

impl Server {
    async fn start(op: &'static str, fault: Option<Fault>, stubs: &[Stub]) -> Self {
        match fault {
            Some(Fault::Dropped) => Self::Raw(RawServer::start(op, false, stubs).await),
            Some(Fault::Reset) => Self::Raw(RawServer::start(op, true, stubs).await),
            _ => {
                let server = MockServer::start().await;
                let good = stubs.iter().find(|s| s.op == op).map_or_else(|| "{}".to_owned(), |s| s.body.clone());
                if let Some(fault) = fault {
                    let json =
                        |status: u16, body: &str| ResponseTemplate::new(status).set_body_raw(body.to_owned(), JSON_1_1);
                    let html = |status: u16| {
                        ResponseTemplate::new(status)
                            .set_body_raw("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                    };
                    let template = match fault {
                        Fault::Internal500 => json(500, r#"{"__type":"InternalErrorException","message":"boom"}"#),
                        Fault::Throttle => json(400, r#"{"__type":"TooManyRequestsException","message":"slow down"}"#),
                        Fault::Timeout => json(200, &good).set_delay(Duration::from_secs(5)),
                        Fault::Html200 => html(200),
                        Fault::Truncated200 => json(200, &good[..good.len() / 2]),
                        Fault::Html502 => html(502),
                        Fault::Dropped | Fault::Reset => unreachable!(),
                    };
                    Mock::given(method("POST"))
                        .and(header("x-amz-target", format!("{PREFIX}{op}").as_str()))
                        .respond_with(template)
                        .with_priority(1)
                        .mount(&server)
                        .await;
                }
                for s in stubs {
                    Mock::given(method("POST"))
                        .and(header("x-amz-target", format!("{PREFIX}{}", s.op).as_str()))
                        .respond_with(ResponseTemplate::new(200).set_body_raw(s.body.clone(), JSON_1_1))
                        .with_priority(5)
                        .mount(&server)
                        .await;
                }
                Self::Mock(server)
            }
        }
    }

    fn uri(&self) -> String {
        match self {
            Self::Mock(server) => server.uri(),
            Self::Raw(raw) => format!("http://{}", raw.addr),
        }
    }

    async fn hits(&self) -> Vec<Hit> {
        match self {
            Self::Mock(server) => server
                .received_requests()
                .await
                .unwrap()
                .into_iter()
                .map(|r| {
                    let headers: BTreeMap<String, String> = r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let target = headers.get("x-amz-target").map_or("", |t| t.trim_start_matches(PREFIX)).to_owned();
                    Hit { target, headers, body: r.body }
                })
                .collect(),
            Self::Raw(raw) => raw.hits.lock().unwrap().clone(),
        }
    }

    async fn hits_for(&self, op: &str) -> Vec<Hit> {
        self.hits().await.into_iter().filter(|h| h.target == op).collect()
    }
}

/// Attempt headers: `attempt=1..n; max=M`, one invocation id for all.
fn check_attempts(hits: &[Hit], expected: usize, what: &str) {
    assert_eq!(hits.len(), expected, "{what}: attempts");
    for (i, hit) in hits.iter().enumerate() {
        assert_eq!(hit.header("amz-sdk-request"), format!("attempt={}; max={MAX_ATTEMPTS}", i + 1), "{what}");
        assert_eq!(hit.header("amz-sdk-invocation-id"), hits[0].header("amz-sdk-invocation-id"), "{what}");
        assert_eq!(hit.header("amz-sdk-invocation-id").len(), 36, "{what}");
    }
}

/// A listener that reads each request and answers it from the stubs, but
/// drops (or resets) the connection of every request to `fault_op`.
struct RawServer {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    async fn start(fault_op: &'static str, reset: bool, stubs: &[Stub]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (sink, stubs) = (hits.clone(), stubs.to_vec());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (sink, stubs) = (sink.clone(), stubs.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, fault_op, reset, &stubs, &sink).await;
                });
            }
        });
        Self { addr, hits, task }
    }
}

async fn serve(
    mut socket: TcpStream,
    fault_op: &str,
    reset: bool,
    stubs: &[Stub],
    sink: &Mutex<Vec<Hit>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: BTreeMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let target = headers.get("x-amz-target").map_or("", |t| t.trim_start_matches(PREFIX)).to_owned();
    sink.lock().unwrap().push(Hit { target: target.clone(), headers, body: buf[head_end..].to_vec() });
    if target == fault_op {
        if reset {
            socket.set_zero_linger()?;
        }
        drop(socket);
        return Ok(());
    }
    let (status, body) = match stubs.iter().find(|s| s.op == target) {
        Some(s) => ("200 OK", s.body.clone()),
        None => ("400 Bad Request", r#"{"__type":"InvalidParameterException","message":"unscripted"}"#.to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {JSON_1_1}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

// ------------------------------------------------------------------ framing

#[tokio::test]
async fn requests_are_framed_as_cognito_json_1_1() {
    let server = Server::start("InitiateAuth", None, &[stub("InitiateAuth", tokens_json("f1", false))]).await;
    let auth = auth(&server.uri(), AuthFlow::UserPassword);
    let out = auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap();
    assert!(out.is_signed_in);
    let hits = server.hits_for("InitiateAuth").await;
    check_attempts(&hits, 1, "InitiateAuth");
    let hit = &hits[0];
    assert_eq!(hit.header("content-type"), JSON_1_1);
    assert_eq!(hit.header("x-amz-target"), "AWSCognitoIdentityProviderService.InitiateAuth");
    assert_eq!(hit.header("cache-control"), "no-store");
    let ua = hit.header("x-amz-user-agent");
    assert!(ua.starts_with("amplify-auth-rs/"), "{ua}");
    assert!(ua.contains("auth/signIn"), "{ua}");
    let body: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(body["AuthFlow"], "USER_PASSWORD_AUTH");
    assert_eq!(body["ClientId"], CLIENT);
    assert_eq!(body["AuthParameters"]["USERNAME"], "alice");
    assert_eq!(body["AuthParameters"]["PASSWORD"], PW);
    if let Server::Mock(mock) = &server {
        let requests = mock.received_requests().await.unwrap();
        assert_eq!(requests[0].method.as_str(), "POST");
        assert_eq!(requests[0].url.path(), "/");
    }
    let stored = auth.token_store().load().await.unwrap().unwrap();
    assert_eq!(stored.username, "alice");

    // The raw server sees the same framing.
    let raw = Server::start("SignUp", Some(Fault::Dropped), &[stub("InitiateAuth", tokens_json("f2", false))]).await;
    let auth = self::auth(&raw.uri(), AuthFlow::UserPassword);
    auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap();
    let hits = raw.hits_for("InitiateAuth").await;
    check_attempts(&hits, 1, "raw InitiateAuth");
    assert_eq!(hits[0].header("content-type"), JSON_1_1);
    assert_eq!(hits[0].header("cache-control"), "no-store");
}

// ------------------------------------------------------------ SRP sign-in

fn srp_stubs() -> Vec<Stub> {
    vec![stub("InitiateAuth", password_verifier_json()), stub("RespondToAuthChallenge", tokens_json("srp", false))]
}

#[tokio::test]
async fn srp_sign_in_without_faults_signs_in() {
    let server = Server::start("InitiateAuth", None, &srp_stubs()).await;
    let auth = auth(&server.uri(), AuthFlow::UserSrp);
    let out = auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap();
    assert_eq!(out.next_step, SignInStep::Done);
    let initiate = server.hits_for("InitiateAuth").await;
    let respond = server.hits_for("RespondToAuthChallenge").await;
    check_attempts(&initiate, 1, "InitiateAuth");
    check_attempts(&respond, 1, "RespondToAuthChallenge");
    assert_ne!(
        initiate[0].header("amz-sdk-invocation-id"),
        respond[0].header("amz-sdk-invocation-id"),
        "one invocation id per call"
    );
    let body: Value = serde_json::from_slice(&respond[0].body).unwrap();
    assert_eq!(body["ChallengeName"], "PASSWORD_VERIFIER");
    assert_eq!(body["Session"], "session-1");
    assert!(auth.token_store().load().await.unwrap().is_some());
}

async fn srp_sign_in_fault(op: &'static str, fault: Fault) {
    let what = format!("{op} {fault:?}");
    let server = Server::start(op, Some(fault), &srp_stubs()).await;
    let auth = auth(&server.uri(), AuthFlow::UserSrp);
    let started = Instant::now();
    let err = auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{what}: took {:?}", started.elapsed());
    fault.check(&err, &what);
    let idempotent = op == "InitiateAuth";
    check_attempts(&server.hits_for(op).await, fault.attempts(idempotent), &what);
    if op == "RespondToAuthChallenge" {
        check_attempts(&server.hits_for("InitiateAuth").await, 1, &what);
    }
    assert!(auth.token_store().load().await.unwrap().is_none(), "{what}");
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none(), "{what}");
    // No half-finished conversation is left to answer.
    let confirm = auth.confirm_sign_in("123456", Default::default()).await.unwrap_err();
    assert!(matches!(confirm, AuthError::InvalidState(_)), "{what}: {confirm:?}");
}

#[tokio::test]
async fn srp_sign_in_initiate_auth_faults() {
    for fault in ALL {
        srp_sign_in_fault("InitiateAuth", fault).await;
    }
}

#[tokio::test]
async fn srp_sign_in_respond_to_auth_challenge_faults_are_not_retried_unless_throttled() {
    for fault in ALL {
        srp_sign_in_fault("RespondToAuthChallenge", fault).await;
    }
}

// ------------------------------------------------------------------ refresh

fn refresh_stubs() -> Vec<Stub> {
    vec![stub("GetTokensFromRefreshToken", tokens_json("new", false))]
}

async fn signed_in_expired(endpoint: &str) -> (Auth, String) {
    let auth = auth(endpoint, AuthFlow::UserSrp);
    let record = record(-600);
    let access = record.access_token.expose_secret().to_owned();
    auth.token_store().save(&record).await.unwrap();
    (auth, access)
}

#[tokio::test]
async fn refresh_without_faults_replaces_the_stored_tokens() {
    let server = Server::start("GetTokensFromRefreshToken", None, &refresh_stubs()).await;
    let (auth, old_access) = signed_in_expired(&server.uri()).await;
    let session = auth.fetch_auth_session(false).await.unwrap();
    let tokens = session.tokens.unwrap();
    assert_eq!(tokens.username, "alice");
    let stored = auth.token_store().load().await.unwrap().unwrap();
    assert_ne!(stored.access_token.expose_secret(), old_access);
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), "refresh-new");
    let hits = server.hits_for("GetTokensFromRefreshToken").await;
    check_attempts(&hits, 1, "refresh");
    let body: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(body["RefreshToken"], "refresh-old");
    assert_eq!(body["ClientId"], CLIENT);
    assert!(hits[0].header("x-amz-user-agent").contains("auth/fetchAuthSession"));
}

#[tokio::test]
async fn refresh_faults_keep_the_stored_tokens() {
    for fault in ALL {
        let what = format!("refresh {fault:?}");
        let server = Server::start("GetTokensFromRefreshToken", Some(fault), &refresh_stubs()).await;
        let (auth, old_access) = signed_in_expired(&server.uri()).await;
        let err = auth.fetch_auth_session(false).await.unwrap_err();
        fault.check(&err, &what);
        check_attempts(&server.hits_for("GetTokensFromRefreshToken").await, fault.attempts(true), &what);
        let stored = auth.token_store().load().await.unwrap().unwrap_or_else(|| panic!("{what}: tokens lost"));
        assert_eq!(stored.access_token.expose_secret(), old_access, "{what}");
        assert_eq!(stored.refresh_token.unwrap().expose_secret(), "refresh-old", "{what}");
        // Still signed in, as far as the stored tokens go.
        let peeked = auth.peek_tokens().await.unwrap();
        assert_eq!(peeked.map(|t| t.username.clone()).as_deref(), Some("alice"), "{what}");
    }
}

#[tokio::test]
async fn refresh_recovers_once_the_server_does() {
    let server = MockServer::start().await;
    let target = format!("{PREFIX}GetTokensFromRefreshToken");
    // Three 500s (one whole call), then success.
    Mock::given(header("x-amz-target", target.as_str()))
        .respond_with(
            ResponseTemplate::new(500).set_body_raw(r#"{"__type":"InternalErrorException"}"#.to_owned(), JSON_1_1),
        )
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(header("x-amz-target", target.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(tokens_json("later", false), JSON_1_1))
        .with_priority(5)
        .mount(&server)
        .await;
    let (auth, _) = signed_in_expired(&server.uri()).await;
    let err = auth.fetch_auth_session(false).await.unwrap_err();
    assert!(err.is_service("InternalErrorException") && err.is_transient(), "{err:?}");
    let tokens = auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
    assert_eq!(tokens.username, "alice");
    let stored = auth.token_store().load().await.unwrap().unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), "refresh-later");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);

    // Two 500s then success: the retries absorb it within one call.
    let server = MockServer::start().await;
    Mock::given(header("x-amz-target", target.as_str()))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw(r#"{"__type":"InternalErrorException"}"#.to_owned(), JSON_1_1),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(header("x-amz-target", target.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(tokens_json("retried", false), JSON_1_1))
        .with_priority(5)
        .mount(&server)
        .await;
    let (auth, _) = signed_in_expired(&server.uri()).await;
    auth.fetch_auth_session(false).await.unwrap().tokens.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].headers.get("amz-sdk-request").unwrap().to_str().unwrap(), "attempt=3; max=3");
}

#[tokio::test]
async fn refresh_refused_with_not_authorized_clears_the_session() {
    let server = MockServer::start().await;
    Mock::given(header("x-amz-target", format!("{PREFIX}GetTokensFromRefreshToken").as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"NotAuthorizedException","message":"Refresh Token has been revoked"}"#.to_owned(),
            JSON_1_1,
        ))
        .mount(&server)
        .await;
    let (auth, _) = signed_in_expired(&server.uri()).await;
    let session = auth.fetch_auth_session(false).await.unwrap();
    assert!(session.tokens.is_none());
    assert!(auth.token_store().load().await.unwrap().is_none());
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "not retried");
    assert!(matches!(auth.get_current_user().await, Err(AuthError::NotSignedIn)));

    // Another definitive error also clears, but is reported.
    let server = MockServer::start().await;
    Mock::given(header("x-amz-target", format!("{PREFIX}GetTokensFromRefreshToken").as_str()))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(r#"{"__type":"UserNotFoundException"}"#.to_owned(), JSON_1_1),
        )
        .mount(&server)
        .await;
    let (auth, _) = signed_in_expired(&server.uri()).await;
    let err = auth.fetch_auth_session(false).await.unwrap_err();
    assert!(err.is_service("UserNotFoundException"), "{err:?}");
    assert!(auth.token_store().load().await.unwrap().is_none());
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
}

// ----------------------------------------------------------------- sign-out

#[tokio::test]
async fn sign_out_faults_are_reported_and_local_state_is_cleared() {
    let stubs = [stub("GlobalSignOut", "{}"), stub("RevokeToken", "{}")];
    for op in ["GlobalSignOut", "RevokeToken"] {
        for fault in ALL {
            let what = format!("{op} {fault:?}");
            let server = Server::start(op, Some(fault), &stubs).await;
            let auth = auth(&server.uri(), AuthFlow::UserSrp);
            auth.token_store().save(&record(3600)).await.unwrap();
            let out = auth.sign_out(true).await.unwrap();
            let (failed, other) = if op == "GlobalSignOut" {
                (out.global_sign_out_error.as_ref(), out.revoke_token_error.as_ref())
            } else {
                (out.revoke_token_error.as_ref(), out.global_sign_out_error.as_ref())
            };
            fault.check(failed.unwrap_or_else(|| panic!("{what}: no error reported: {out:?}")), &what);
            assert!(other.is_none(), "{what}: {out:?}");
            check_attempts(&server.hits_for(op).await, fault.attempts(true), &what);
            let other_op = if op == "GlobalSignOut" { "RevokeToken" } else { "GlobalSignOut" };
            check_attempts(&server.hits_for(other_op).await, 1, &what);
            assert!(auth.token_store().load().await.unwrap().is_none(), "{what}");
            assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none(), "{what}");
        }
    }
}

#[tokio::test]
async fn sign_out_without_faults_revokes_the_refresh_token() {
    let server = Server::start("RevokeToken", None, &[stub("GlobalSignOut", "{}"), stub("RevokeToken", "{}")]).await;
    let auth = auth(&server.uri(), AuthFlow::UserSrp);
    let saved = record(3600);
    auth.token_store().save(&saved).await.unwrap();
    let out = auth.sign_out(true).await.unwrap();
    assert!(out.global_sign_out_error.is_none() && out.revoke_token_error.is_none(), "{out:?}");
    let revoke = server.hits_for("RevokeToken").await;
    check_attempts(&revoke, 1, "RevokeToken");
    let body: Value = serde_json::from_slice(&revoke[0].body).unwrap();
    assert_eq!(body["Token"], "refresh-old");
    let global = server.hits_for("GlobalSignOut").await;
    let body: Value = serde_json::from_slice(&global[0].body).unwrap();
    assert_eq!(body["AccessToken"], saved.access_token.expose_secret());
    assert!(auth.token_store().load().await.unwrap().is_none());
}

// ------------------------------------------------------------------ sign-up

fn sign_up_stubs() -> Vec<Stub> {
    vec![stub(
        "SignUp",
        json!({"UserConfirmed": false, "UserSub": "sub-0001",
               "CodeDeliveryDetails": {"DeliveryMedium": "EMAIL", "Destination": "a***@e***", "AttributeName": "email"}})
        .to_string(),
    )]
}

#[tokio::test]
async fn sign_up_faults_are_not_retried_unless_throttled() {
    // Control: the script works.
    let server = Server::start("SignUp", None, &sign_up_stubs()).await;
    let out = auth(&server.uri(), AuthFlow::UserSrp).sign_up("alice", PW, SignUpOptions::default()).await.unwrap();
    assert!(!out.is_sign_up_complete);
    check_attempts(&server.hits_for("SignUp").await, 1, "SignUp");

    for fault in ALL {
        let what = format!("SignUp {fault:?}");
        let server = Server::start("SignUp", Some(fault), &sign_up_stubs()).await;
        let err =
            auth(&server.uri(), AuthFlow::UserSrp).sign_up("alice", PW, SignUpOptions::default()).await.unwrap_err();
        fault.check(&err, &what);
        check_attempts(&server.hits_for("SignUp").await, fault.attempts(false), &what);
    }
}

// ------------------------------------------------------------ ConfirmDevice

#[tokio::test]
async fn confirm_device_faults_still_sign_in_without_remembering_the_device() {
    let stubs = [stub("InitiateAuth", tokens_json("dev", true)), stub("ConfirmDevice", "{}")];
    // Control: the device is confirmed and remembered.
    let server = Server::start("ConfirmDevice", None, &stubs).await;
    let auth = auth(&server.uri(), AuthFlow::UserPassword);
    assert!(auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap().is_signed_in);
    let device = auth.token_store().load_device("alice").await.unwrap().unwrap();
    assert_eq!(device.device_key, "us-east-1_0000aaaa-1111-2222-3333-444455556666");
    let hits = server.hits_for("ConfirmDevice").await;
    check_attempts(&hits, 1, "ConfirmDevice");
    let body: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(body["DeviceKey"], device.device_key);
    assert!(body["DeviceSecretVerifierConfig"]["PasswordVerifier"].as_str().is_some_and(|v| !v.is_empty()));

    for fault in ALL {
        let what = format!("ConfirmDevice {fault:?}");
        let server = Server::start("ConfirmDevice", Some(fault), &stubs).await;
        let auth = self::auth(&server.uri(), AuthFlow::UserPassword);
        let out = auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap();
        assert!(out.is_signed_in, "{what}");
        check_attempts(&server.hits_for("ConfirmDevice").await, fault.attempts(false), &what);
        assert!(auth.token_store().load_device("alice").await.unwrap().is_none(), "{what}: device kept");
        assert!(auth.token_store().load().await.unwrap().is_some(), "{what}: tokens not stored");
    }
}

// ----------------------------------------------------------------- not sent

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let auth = auth(&endpoint, AuthFlow::UserSrp);
    let started = Instant::now();
    let err = auth.sign_up("alice", PW, SignUpOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Transport { delivery: Delivery::NotSent, .. }), "{err:?}");
    assert!(err.is_transient());
    let err = auth.sign_in("alice", Some(PW), SignInOptions::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::Transport { delivery: Delivery::NotSent, .. }), "{err:?}");
    assert_eq!(err.name(), "NetworkError");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());

    // A stored session survives a refresh that cannot reach the server
    // (a new client: the first one has cached "signed out").
    let auth = self::auth(&endpoint, AuthFlow::UserSrp);
    auth.token_store().save(&record(-600)).await.unwrap();
    let err = auth.fetch_auth_session(false).await.unwrap_err();
    assert!(matches!(err, AuthError::Transport { delivery: Delivery::NotSent, .. }), "{err:?}");
    assert!(auth.token_store().load().await.unwrap().is_some());
}
