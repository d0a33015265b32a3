//! The interop driver of `cargo xtask interop client`: signs in with SRP,
//! tries a wrong password, refreshes, signs out and enrols TOTP against a
//! Cognito-compatible server (local-pool, ministack), using only the public
//! API of `amplify-auth`.
//!
//! ```text
//! cargo run -p amplify-auth --example interop_client -- \
//!     --endpoint http://127.0.0.1:PORT --pool-id ID --client-id ID --username U --password P
//! ```
//!
//! Prints one JSON line per check:
//! `{"check":"srp-sign-in","ok":true,"skip":false,"detail":"...","ops":["InitiateAuth 200", ...]}`;
//! a failed or skipped check also carries `evidence`, the exchanges it made
//! (operation, status, request and response with every secret value
//! replaced by its length). The operations are recorded by a [`Transport`]
//! wrapped around the default [`HyperTransport`], reading `X-Amz-Target`.
//! The user must exist with a permanent password in a pool whose MFA is
//! optional with software tokens enabled; the TOTP check enrols the user, so
//! it runs last and a second run needs a fresh user.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amplify_auth::transport::{HyperTransport, Transport, TransportFuture};
use amplify_auth::{Auth, AuthConfig, AuthError, ConfirmOptions, MfaPreference, MfaType, SignInOptions, SignInStep};
use serde_json::{Value, json};
use token_store::{MemoryStorage, TokenRecord};

/// One request and its answer, as recorded (secrets replaced).
#[derive(Clone, Debug)]
struct Exchange {
    op: String,
    status: Option<u16>,
    request: Value,
    response: Value,
}

impl Exchange {
    fn line(&self) -> String {
        match self.status {
            Some(status) => format!("{} {status}", self.op),
            None => format!("{} (no response)", self.op),
        }
    }

    fn error_code(&self) -> Option<&str> {
        self.response.get("__type").and_then(Value::as_str)
    }
}

/// The default transport, recording what goes through it.
#[derive(Debug)]
struct Recording {
    inner: HyperTransport,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl Transport for Recording {
    fn send(&self, request: http::Request<Vec<u8>>) -> TransportFuture<'_> {
        let op = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map_or("?", |t| t.rsplit('.').next().unwrap_or(t))
            .to_owned();
        let body = redact_body(request.body());
        Box::pin(async move {
            let result = self.inner.send(request).await;
            let (status, response) = match &result {
                Ok(r) => (Some(r.status), redact_body(&r.body)),
                Err(err) => (None, json!({ "transport_error": err.message })),
            };
            if let Ok(mut log) = self.log.lock() {
                log.push(Exchange { op, status, request: body, response });
            }
            result
        })
    }
}

/// Values kept as they are in the evidence; every other string is replaced
/// by its length (tokens, sessions, SRP values, codes, passwords).
const CLEAR_KEYS: &[&str] = &[
    "AuthFlow",
    "ChallengeName",
    "ClientId",
    "USERNAME",
    "USER_ID_FOR_SRP",
    "__type",
    "message",
    "Message",
    "Status",
    "FriendlyDeviceName",
    "TokenType",
    "MFAS_CAN_SETUP",
    "MFAS_CAN_CHOOSE",
    "PreferredMfa",
    "transport_error",
];

fn redact_body(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => redact(value, ""),
        Err(_) if body.is_empty() => Value::Null,
        Err(_) => json!(format!("<{} bytes, not JSON>", body.len())),
    }
}

fn redact(value: Value, key: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k.clone(), redact(v, &k))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| redact(v, key)).collect()),
        Value::String(s) if !CLEAR_KEYS.contains(&key) => json!(format!("<{} chars>", s.len())),
        other => other,
    }
}

/// How a check ended.
enum Outcome {
    Pass(String),
    Fail(String),
    Skip(String),
}

type Checked = Result<String, Outcome>;

fn fail<T>(message: impl Into<String>) -> Result<T, Outcome> {
    Err(Outcome::Fail(message.into()))
}

/// `Err(AuthError)` → a failed check saying what was being done.
trait Context<T> {
    fn during(self, what: &str) -> Result<T, Outcome>;
}

impl<T> Context<T> for Result<T, AuthError> {
    fn during(self, what: &str) -> Result<T, Outcome> {
        self.map_err(|err| Outcome::Fail(format!("{what}: {} ({err})", err.name())))
    }
}

struct Args {
    endpoint: String,
    pool_id: String,
    client_id: String,
    username: String,
    password: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut endpoint, mut pool_id, mut client_id, mut username, mut password) = (None, None, None, None, None);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--endpoint" => &mut endpoint,
            "--pool-id" => &mut pool_id,
            "--client-id" => &mut client_id,
            "--username" => &mut username,
            "--password" => &mut password,
            other => return Err(format!("unknown argument {other:?}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{flag} needs a value"))?);
    }
    let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("--{name} is required"));
    Ok(Args {
        endpoint: need(endpoint, "endpoint")?,
        pool_id: need(pool_id, "pool-id")?,
        client_id: need(client_id, "client-id")?,
        username: need(username, "username")?,
        password: need(password, "password")?,
    })
}

struct Driver {
    args: Args,
    config: AuthConfig,
    log: Arc<Mutex<Vec<Exchange>>>,
    transport: Arc<Recording>,
    auth: Auth,
}

impl Driver {
    fn new(args: Args) -> Result<Self, AuthError> {
        let config = AuthConfig::builder(&args.pool_id, &args.client_id).user_pool_endpoint(&args.endpoint).build()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let transport = Arc::new(Recording { inner: HyperTransport::new()?, log: log.clone() });
        let auth = Auth::builder(config.clone()).transport(transport.clone()).build()?;
        Ok(Self { args, config, log, transport, auth })
    }

    /// A client with its own in-memory storage, sharing the recording transport.
    fn client(&self) -> Result<Auth, AuthError> {
        Auth::builder(self.config.clone())
            .transport(self.transport.clone())
            .storage(Arc::new(MemoryStorage::new()))
            .build()
    }

    fn take_log(&self) -> Vec<Exchange> {
        self.log.lock().map(|mut log| std::mem::take(&mut *log)).unwrap_or_default()
    }

    async fn sign_in(&self, auth: &Auth) -> Result<SignInStep, Outcome> {
        let out = auth.sign_in(&self.args.username, Some(&self.args.password), SignInOptions::default()).await;
        Ok(out.during("sign_in")?.next_step)
    }

    // ------------------------------------------------------------ checks

    async fn wrong_password(&self) -> Checked {
        let wrong = format!("{}-wrong", self.args.password);
        match self.auth.sign_in(&self.args.username, Some(&wrong), SignInOptions::default()).await {
            Err(err) if err.is_service("NotAuthorizedException") => Ok(err.to_string()),
            Err(err) => fail(format!("expected NotAuthorizedException, got {}: {err}", err.name())),
            Ok(out) => fail(format!("the wrong password signed in (step {})", out.next_step.as_str())),
        }
    }

    async fn srp_sign_in(&self) -> Checked {
        let out = self
            .auth
            .sign_in(&self.args.username, Some(&self.args.password), SignInOptions::default())
            .await
            .during("sign_in")?;
        if !out.is_signed_in || out.next_step != SignInStep::Done {
            return fail(format!("sign_in ended at {} (is_signed_in {})", out.next_step.as_str(), out.is_signed_in));
        }
        let session = self.auth.fetch_auth_session(false).await.during("fetch_auth_session")?;
        let Some(tokens) = session.tokens else { return fail("signed in, but fetch_auth_session has no tokens") };
        let flow = self.log.lock().ok().and_then(|log| {
            log.iter().find(|e| e.op == "InitiateAuth").and_then(|e| e.request["AuthFlow"].as_str().map(str::to_owned))
        });
        if flow.as_deref() != Some("USER_SRP_AUTH") {
            return fail(format!("InitiateAuth used AuthFlow {flow:?}, not USER_SRP_AUTH"));
        }
        let verified = self.log.lock().is_ok_and(|log| {
            log.iter().any(|e| {
                e.op == "RespondToAuthChallenge"
                    && e.status == Some(200)
                    && e.request["ChallengeName"] == "PASSWORD_VERIFIER"
            })
        });
        if !verified {
            return fail("no PASSWORD_VERIFIER answer was accepted");
        }
        Ok(format!("USER_SRP_AUTH + PASSWORD_VERIFIER; DONE; username {}", tokens.username))
    }

    async fn refresh(&self) -> Checked {
        let before = self.auth.fetch_auth_session(false).await.during("fetch_auth_session")?;
        let Some(before) = before.tokens else { return fail("not signed in (srp-sign-in failed?)") };
        // A second later, so that a new token differs in iat even from a
        // server that puts nothing random in it.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        self.take_log();
        let after = self.auth.fetch_auth_session(true).await.during("fetch_auth_session(true)")?;
        let Some(after) = after.tokens else { return fail("the refresh signed the user out") };
        let (old_iat, new_iat) = (before.access_token.claims().iat, after.access_token.claims().iat);
        if before.access_token.raw().expose_secret() == after.access_token.raw().expose_secret() {
            return fail("the refreshed access token is the old one");
        }
        if new_iat.is_none() || new_iat < old_iat {
            return fail(format!("the new access token's iat {new_iat:?} is before the old one's {old_iat:?}"));
        }
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let via = if log.iter().any(|e| e.op == "GetTokensFromRefreshToken" && e.status == Some(200)) {
            "GetTokensFromRefreshToken".to_owned()
        } else if let Some(e) = log.iter().find(|e| e.op == "InitiateAuth" && e.status == Some(200)) {
            let why = log
                .iter()
                .find(|e| e.op == "GetTokensFromRefreshToken")
                .map(|e| format!(" after GetTokensFromRefreshToken answered {}", e.error_code().unwrap_or("?")))
                .unwrap_or_default();
            format!("InitiateAuth {}{why}", e.request["AuthFlow"].as_str().unwrap_or("?"))
        } else {
            return fail("no refresh operation succeeded");
        };
        Ok(format!("via {via}; iat {} -> {}", old_iat.unwrap_or(0), new_iat.unwrap_or(0)))
    }

    async fn sign_out(&self) -> Checked {
        let Some(record) = self.auth.token_store().load().await.map_err(|e| Outcome::Fail(e.to_string()))? else {
            return fail("not signed in (srp-sign-in failed?)");
        };
        let Some(refresh_token) = record.refresh_token.clone() else {
            return fail("the stored session has no refresh token");
        };
        let has_origin_jti = token_store::Jwt::decode(record.access_token.expose_secret())
            .is_ok_and(|jwt| jwt.claims().origin_jti.is_some());
        let out = self.auth.sign_out(false).await.during("sign_out")?;
        if let Some(err) = out.revoke_token_error {
            return fail(format!("RevokeToken failed: {} ({err})", err.name()));
        }
        if self.auth.fetch_auth_session(false).await.during("fetch_auth_session")?.tokens.is_some() {
            return fail("fetch_auth_session still has tokens after sign_out");
        }
        if !has_origin_jti {
            return Err(Outcome::Skip(
                "signed out locally, but the access token has no origin_jti, so (as Amplify) no RevokeToken was sent \
                 and the refresh token was not revoked"
                    .into(),
            ));
        }
        // The old session, saved into a fresh client and refreshed.
        let other = self.client().during("building a second client")?;
        let mut old = TokenRecord::new(record.username.clone(), record.access_token.clone());
        old.id_token.clone_from(&record.id_token);
        old.refresh_token = Some(refresh_token);
        other.token_store().save(&old).await.map_err(|e| Outcome::Fail(format!("saving the old tokens: {e}")))?;
        match other.fetch_auth_session(true).await {
            Ok(session) if session.tokens.is_none() => {}
            Err(err) if err.is_service("NotAuthorizedException") || err.is_service("TokenRevokedException") => {}
            Ok(_) => return fail("the revoked refresh token still refreshed"),
            Err(err) => return fail(format!("refreshing with the revoked token: {} ({err})", err.name())),
        }
        let refused = self
            .log
            .lock()
            .ok()
            .and_then(|log| log.iter().rev().find(|e| e.status.is_some_and(|s| s >= 400)).cloned())
            .map(|e| format!("{} {}", e.line(), e.error_code().unwrap_or("")))
            .unwrap_or_default();
        let revoked =
            self.log.lock().is_ok_and(|log| log.iter().any(|e| e.op == "RevokeToken" && e.status == Some(200)));
        if !revoked {
            return fail("sign_out did not send RevokeToken (or it was not answered 200)");
        }
        Ok(format!("RevokeToken 200; no tokens; the old refresh token is refused ({})", refused.trim()))
    }

    async fn totp(&self) -> Checked {
        let step = self.sign_in(&self.auth).await?;
        if step != SignInStep::Done {
            return fail(format!("sign_in before enrolment ended at {}", step.as_str()));
        }
        let details = self.auth.set_up_totp().await.during("set_up_totp")?;
        let secret = details.shared_secret.expose_secret().to_owned();
        let code = totp_now(&secret)?;
        self.auth.verify_totp_setup(&code, Some("interop")).await.during("verify_totp_setup")?;
        self.auth
            .update_mfa_preference(None, Some(MfaPreference::Preferred), None)
            .await
            .during("update_mfa_preference")?;
        let prefs = self.auth.fetch_mfa_preference().await.during("fetch_mfa_preference")?;
        if !prefs.enabled.contains(&MfaType::Totp) || prefs.preferred != Some(MfaType::Totp) {
            return fail(format!("MFA preferences after enrolment: {prefs:?}"));
        }
        self.auth.sign_out(false).await.during("sign_out")?;
        let step = self.sign_in(&self.auth).await?;
        if step != SignInStep::ConfirmSignInWithTotpCode {
            return fail(format!(
                "sign_in after enrolment ended at {}, not CONFIRM_SIGN_IN_WITH_TOTP_CODE",
                step.as_str()
            ));
        }
        let mut note = String::new();
        let out = match self.auth.confirm_sign_in(&totp_now(&secret)?, ConfirmOptions::default()).await {
            Err(err) if err.is_service("CodeMismatchException") || err.is_service("ExpiredCodeException") => {
                // A server refusing a code twice in one period: the next period's.
                let _ = write!(note, "; first code refused ({}), answered again in the next period", err.name());
                let wait = 30 - unix_now() % 30;
                tokio::time::sleep(Duration::from_secs(wait as u64 + 1)).await;
                self.auth.confirm_sign_in(&totp_now(&secret)?, ConfirmOptions::default()).await
            }
            other => other,
        };
        let out = out.during("confirm_sign_in with the TOTP code")?;
        if !out.is_signed_in {
            return fail(format!("confirm_sign_in ended at {}", out.next_step.as_str()));
        }
        Ok(format!(
            "AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference; SOFTWARE_TOKEN_MFA answered{note}"
        ))
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn totp_now(secret: &str) -> Result<String, Outcome> {
    local_pool::current_totp(secret, unix_now())
        .ok_or_else(|| Outcome::Fail("the shared secret is not valid base32".into()))
}

fn report(driver: &Driver, check: &str, result: Checked) -> bool {
    let outcome = match result {
        Ok(detail) => Outcome::Pass(detail),
        Err(outcome) => outcome,
    };
    let log = driver.take_log();
    let ops: Vec<String> = log.iter().map(Exchange::line).collect();
    let (ok, skip, detail) = match outcome {
        Outcome::Pass(d) => (true, false, d),
        Outcome::Fail(d) => (false, false, d),
        Outcome::Skip(d) => (false, true, d),
    };
    let mut line = json!({ "check": check, "ok": ok, "skip": skip, "detail": detail, "ops": ops });
    if !ok {
        line["evidence"] = log
            .iter()
            .map(|e| json!({ "op": e.op, "status": e.status, "request": e.request, "response": e.response }))
            .collect();
    }
    println!("{line}");
    ok || skip
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("interop_client: {message}");
            eprintln!(
                "usage: interop_client --endpoint URL --pool-id ID --client-id ID --username USER --password PASSWORD"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let driver = match Driver::new(args) {
        Ok(driver) => driver,
        Err(err) => {
            eprintln!("interop_client: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut all_ok = true;
    all_ok &= report(&driver, "wrong-password", driver.wrong_password().await);
    all_ok &= report(&driver, "srp-sign-in", driver.srp_sign_in().await);
    all_ok &= report(&driver, "refresh", driver.refresh().await);
    all_ok &= report(&driver, "sign-out", driver.sign_out().await);
    all_ok &= report(&driver, "totp", driver.totp().await);
    println!("{}", json!({ "done": true }));
    if all_ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
