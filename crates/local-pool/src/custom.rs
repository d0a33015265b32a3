//! Custom authentication (`CUSTOM_AUTH`): the define / create / verify
//! auth-challenge triggers of Cognito's Lambda contract, as Rust closures
//! registered per pool ([`CustomAuthHooks`]), or as one of the built-in
//! hooks a `--config` file can name ([`CustomAuthConfig`]).
//!
//! The sequence is Cognito's: InitiateAuth calls *define* with the session
//! history so far (empty, or `[SRP_A]` when the client began with SRP);
//! define answers `issueTokens`, `failAuthentication` or a challenge name;
//! for `CUSTOM_CHALLENGE` *create* makes the challenge; each answer goes to
//! *verify*, its result is appended to the history, and define decides again.

use std::collections::BTreeMap;
use std::sync::Arc;

use cognito_wire::cognito_idp::{ChallengeNameType, UserStatusType};
use cognito_wire::{ErrorCode, challenge::keys};
use serde::{Deserialize, Serialize};

use crate::auth::{Outcome, check_secret_hash};
use crate::engine::{Engine, Fail, OpResult, mask, six_digits};
use crate::state::{AfterVerifier, AuthSession, Message, Step, User};

/// One entry of the session history the hooks see (`request.session[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResult {
    /// `SRP_A`, `PASSWORD_VERIFIER` or `CUSTOM_CHALLENGE`.
    pub challenge_name: String,
    /// Whether the user answered it correctly.
    pub challenge_result: bool,
    /// The `challengeMetadata` create returned for it (custom challenges).
    pub challenge_metadata: Option<String>,
}

/// What every hook is told: the common part of the trigger event.
#[derive(Debug, Clone)]
pub struct CustomAuthRequest {
    /// The user pool.
    pub user_pool_id: String,
    /// The app client.
    pub client_id: String,
    /// The user's username (what was typed when the user does not exist).
    pub username: String,
    /// The user's attributes (`request.userAttributes`).
    pub user_attributes: BTreeMap<String, String>,
    /// `request.userNotFound`: the user does not exist and the app client
    /// hides that (PreventUserExistenceErrors).
    pub user_not_found: bool,
    /// `request.session`: the challenges answered so far.
    pub session: Vec<ChallengeResult>,
    /// `request.clientMetadata`: the `ClientMetadata` of the current
    /// InitiateAuth or RespondToAuthChallenge call.
    pub client_metadata: BTreeMap<String, String>,
}

/// The define-auth-challenge answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefineAuthChallengeResponse {
    /// The next challenge: `CUSTOM_CHALLENGE`, or `PASSWORD_VERIFIER` right
    /// after `SRP_A`.
    pub challenge_name: Option<String>,
    /// Sign the user in.
    pub issue_tokens: bool,
    /// End the sign-in (NotAuthorizedException).
    pub fail_authentication: bool,
}

impl DefineAuthChallengeResponse {
    /// `challengeName = name`.
    pub fn challenge(name: &str) -> Self {
        Self { challenge_name: Some(name.to_owned()), ..Self::default() }
    }
    /// `issueTokens = true`.
    pub fn issue_tokens() -> Self {
        Self { issue_tokens: true, ..Self::default() }
    }
    /// `failAuthentication = true`.
    pub fn fail() -> Self {
        Self { fail_authentication: true, ..Self::default() }
    }
}

/// The create-auth-challenge event.
#[derive(Debug, Clone)]
pub struct CreateAuthChallengeRequest {
    /// The common part.
    pub request: CustomAuthRequest,
    /// `request.challengeName` (always `CUSTOM_CHALLENGE` here).
    pub challenge_name: String,
}

/// A message for the outbox (local-pool's stand-in for the email or SMS a
/// create trigger would send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `EMAIL` or `SMS`.
    pub medium: String,
    /// The address or number.
    pub destination: String,
    /// The code it carries.
    pub code: String,
    /// The text.
    pub text: String,
}

/// The create-auth-challenge answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateAuthChallengeResponse {
    /// Sent to the client as `ChallengeParameters` (with `USERNAME` added).
    pub public_challenge_parameters: BTreeMap<String, String>,
    /// Kept by the pool and handed to verify.
    pub private_challenge_parameters: BTreeMap<String, String>,
    /// Recorded in the history as `challengeMetadata`.
    pub challenge_metadata: Option<String>,
    /// A message to put in the outbox (kind `custom_challenge`).
    pub deliver: Option<Delivery>,
}

/// The verify-auth-challenge-response event.
#[derive(Debug, Clone)]
pub struct VerifyAuthChallengeRequest {
    /// The common part (its `session` does not yet hold this answer).
    pub request: CustomAuthRequest,
    /// What create kept private.
    pub private_challenge_parameters: BTreeMap<String, String>,
    /// `request.challengeAnswer`: the `ANSWER` the client sent.
    pub challenge_answer: String,
}

/// The verify-auth-challenge-response answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyAuthChallengeResponse {
    /// `answerCorrect`.
    pub answer_correct: bool,
}

/// A hook's result; `Err(message)` is a failing Lambda
/// (`UserLambdaValidationException`).
pub type HookResult<T> = Result<T, String>;

type DefineFn = dyn Fn(&CustomAuthRequest) -> HookResult<DefineAuthChallengeResponse> + Send + Sync;
type CreateFn = dyn Fn(&CreateAuthChallengeRequest) -> HookResult<CreateAuthChallengeResponse> + Send + Sync;
type VerifyFn = dyn Fn(&VerifyAuthChallengeRequest) -> HookResult<VerifyAuthChallengeResponse> + Send + Sync;

/// The three custom-auth triggers of a pool.
#[derive(Clone)]
pub struct CustomAuthHooks {
    /// Define auth challenge.
    pub define: Arc<DefineFn>,
    /// Create auth challenge.
    pub create: Arc<CreateFn>,
    /// Verify auth challenge response.
    pub verify: Arc<VerifyFn>,
}

impl std::fmt::Debug for CustomAuthHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomAuthHooks(<closures>)")
    }
}

impl CustomAuthHooks {
    /// Hooks from three closures.
    pub fn new(
        define: impl Fn(&CustomAuthRequest) -> HookResult<DefineAuthChallengeResponse> + Send + Sync + 'static,
        create: impl Fn(&CreateAuthChallengeRequest) -> HookResult<CreateAuthChallengeResponse> + Send + Sync + 'static,
        verify: impl Fn(&VerifyAuthChallengeRequest) -> HookResult<VerifyAuthChallengeResponse> + Send + Sync + 'static,
    ) -> Self {
        Self { define: Arc::new(define), create: Arc::new(create), verify: Arc::new(verify) }
    }

    /// One of the built-in hooks.
    pub fn from_config(config: &CustomAuthConfig) -> Self {
        let (require_password, max_attempts) = config.define_settings();
        let define = move |r: &CustomAuthRequest| Ok(standard_define(r, require_password, max_attempts));
        match config.clone() {
            CustomAuthConfig::FixedAnswer { answer, .. } => Self::new(
                define,
                move |_r| {
                    Ok(CreateAuthChallengeResponse {
                        public_challenge_parameters: BTreeMap::new(),
                        private_challenge_parameters: BTreeMap::from([("answer".to_owned(), answer.clone())]),
                        challenge_metadata: Some("FIXED_ANSWER".into()),
                        deliver: None,
                    })
                },
                |r| Ok(verify_private(r, "answer")),
            ),
            CustomAuthConfig::OutboxCode { medium, .. } => Self::new(
                define,
                move |r| outbox_code_challenge(r, medium.as_deref()),
                |r| Ok(verify_private(r, "code")),
            ),
        }
    }
}

fn verify_private(r: &VerifyAuthChallengeRequest, key: &str) -> VerifyAuthChallengeResponse {
    let answer_correct = r
        .private_challenge_parameters
        .get(key)
        .is_some_and(|expected| crate::engine::constant_time_eq(expected.as_bytes(), r.challenge_answer.as_bytes()));
    VerifyAuthChallengeResponse { answer_correct }
}

fn outbox_code_challenge(
    r: &CreateAuthChallengeRequest,
    medium: Option<&str>,
) -> HookResult<CreateAuthChallengeResponse> {
    let code = six_digits();
    let attrs = &r.request.user_attributes;
    let by_sms = match medium {
        Some(m) if m.eq_ignore_ascii_case("SMS") => true,
        Some(_) => false,
        None => !attrs.contains_key("email") && attrs.contains_key("phone_number"),
    };
    let (medium, attr) = if by_sms { ("SMS", "phone_number") } else { ("EMAIL", "email") };
    let mut public = BTreeMap::new();
    public.insert(keys::CODE_DELIVERY_DELIVERY_MEDIUM.to_owned(), medium.to_owned());
    let deliver = match attrs.get(attr) {
        Some(destination) => {
            public.insert(keys::CODE_DELIVERY_DESTINATION.to_owned(), mask(destination));
            Some(Delivery {
                medium: medium.to_owned(),
                destination: destination.clone(),
                code: code.clone(),
                text: format!("Your sign-in code is {code}"),
            })
        }
        // An unknown user (PreventUserExistenceErrors) gets a challenge that cannot be answered.
        None if r.request.user_not_found => None,
        None => return Err(format!("the user has no {attr} to send a code to")),
    };
    Ok(CreateAuthChallengeResponse {
        public_challenge_parameters: public,
        private_challenge_parameters: BTreeMap::from([("code".to_owned(), code)]),
        challenge_metadata: Some("OUTBOX_CODE".into()),
        deliver,
    })
}

/// The define logic of the built-in hooks (AWS's sample trigger):
/// `SRP_A` → `PASSWORD_VERIFIER`; a correct password → `CUSTOM_CHALLENGE`;
/// a correct answer → tokens; a wrong one → another challenge until
/// `max_attempts` wrong answers, then failure.
pub fn standard_define(
    r: &CustomAuthRequest,
    require_password: bool,
    max_attempts: u32,
) -> DefineAuthChallengeResponse {
    let wrong = r.session.iter().filter(|c| c.challenge_name == "CUSTOM_CHALLENGE" && !c.challenge_result).count();
    match r.session.last() {
        None if require_password => DefineAuthChallengeResponse::fail(),
        None => DefineAuthChallengeResponse::challenge("CUSTOM_CHALLENGE"),
        Some(last) => match (last.challenge_name.as_str(), last.challenge_result) {
            ("SRP_A", _) => DefineAuthChallengeResponse::challenge("PASSWORD_VERIFIER"),
            ("PASSWORD_VERIFIER", true) => DefineAuthChallengeResponse::challenge("CUSTOM_CHALLENGE"),
            ("CUSTOM_CHALLENGE", true) => DefineAuthChallengeResponse::issue_tokens(),
            ("CUSTOM_CHALLENGE", false) if (wrong as u32) < max_attempts => {
                DefineAuthChallengeResponse::challenge("CUSTOM_CHALLENGE")
            }
            _ => DefineAuthChallengeResponse::fail(),
        },
    }
}

fn default_attempts() -> u32 {
    3
}

/// The built-in hooks, for `--config` (`"custom_auth": {"kind": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CustomAuthConfig {
    /// The answer is always `answer`.
    FixedAnswer {
        /// The expected `ANSWER`.
        answer: String,
        /// Only after SRP (`CHALLENGE_NAME=SRP_A`) and a correct password.
        #[serde(default)]
        require_password: bool,
        /// Wrong answers allowed before the sign-in fails (default 3).
        #[serde(default = "default_attempts")]
        max_attempts: u32,
    },
    /// A six-digit code put in the outbox (kind `custom_challenge`), by
    /// email unless the user has only a phone number or `medium` is `SMS`.
    OutboxCode {
        /// `EMAIL` or `SMS`.
        #[serde(default)]
        medium: Option<String>,
        /// Only after SRP (`CHALLENGE_NAME=SRP_A`) and a correct password.
        #[serde(default)]
        require_password: bool,
        /// Wrong answers allowed before the sign-in fails (default 3).
        #[serde(default = "default_attempts")]
        max_attempts: u32,
    },
}

impl CustomAuthConfig {
    fn define_settings(&self) -> (bool, u32) {
        match self {
            Self::FixedAnswer { require_password, max_attempts, .. }
            | Self::OutboxCode { require_password, max_attempts, .. } => (*require_password, *max_attempts),
        }
    }
}

/// One custom-auth sign-in in progress, as the engine drives it.
pub(crate) struct Run<'a> {
    pub(crate) pool_id: &'a str,
    pub(crate) client_id: &'a str,
    /// Empty for a hidden unknown user.
    pub(crate) user_key: &'a str,
    /// The username for the hooks and for SRP.
    pub(crate) login: &'a str,
    pub(crate) user_not_found: bool,
    pub(crate) metadata: &'a BTreeMap<String, String>,
    pub(crate) device_key: Option<&'a str>,
    /// `SRP_A` of InitiateAuth (only there may define answer PASSWORD_VERIFIER).
    pub(crate) srp_a: Option<&'a str>,
    pub(crate) secret_hash: Option<&'a str>,
}

fn not_configured() -> Fail {
    Fail::invalid("Custom auth lambda trigger is not configured for the user pool.")
}

fn lambda_failed(trigger: &str, message: String) -> Fail {
    Fail::new(ErrorCode::UserLambdaValidationException, format!("{trigger} failed with error {message}."))
}

fn bad_lambda(message: &str) -> Fail {
    Fail::new(ErrorCode::InvalidLambdaResponseException, format!("Invalid lambda function output : {message}"))
}

impl Engine {
    /// Registers custom-auth hooks for a pool (they replace any built-in
    /// hooks from the config file while the engine runs).
    pub fn set_custom_auth(&self, pool_id: &str, hooks: CustomAuthHooks) -> Result<(), Fail> {
        Engine::pool(&self.lock(), pool_id)?;
        self.custom_hooks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(pool_id.to_owned(), hooks);
        Ok(())
    }

    /// Selects built-in hooks for a pool (saved with `--data-dir`); `None` removes them.
    pub fn set_custom_auth_config(&self, pool_id: &str, config: Option<CustomAuthConfig>) -> Result<(), Fail> {
        Engine::pool_mut(&mut self.lock(), pool_id)?.custom_auth = config;
        self.mark_dirty();
        Ok(())
    }

    fn hooks_for(&self, pool_id: &str) -> OpResult<Option<CustomAuthHooks>> {
        if let Some(h) = self.custom_hooks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(pool_id) {
            return Ok(Some(h.clone()));
        }
        let state = self.lock();
        Ok(Engine::pool(&state, pool_id)?.custom_auth.as_ref().map(CustomAuthHooks::from_config))
    }

    /// InitiateAuth CUSTOM_AUTH.
    pub(crate) fn start_custom_auth(
        &self,
        pool_id: &str,
        client_id: &str,
        params: &BTreeMap<String, String>,
        metadata: &BTreeMap<String, String>,
    ) -> OpResult<Outcome> {
        if self.hooks_for(pool_id)?.is_none() {
            return Err(not_configured());
        }
        let param = |k: &str| params.get(k).map(String::as_str);
        let login = param(keys::USERNAME).ok_or_else(|| Fail::invalid("Missing required parameter USERNAME"))?;
        let found = self.user_for_sign_in(pool_id, login)?;
        let (user_key, username) = match &found {
            Some((key, user)) => {
                {
                    let state = self.lock();
                    check_secret_hash(
                        Engine::pool(&state, pool_id)?,
                        client_id,
                        param(keys::SECRET_HASH),
                        &[login, &user.username],
                    )?;
                }
                if user.status == UserStatusType::Unconfirmed {
                    return Err(Fail::new(ErrorCode::UserNotConfirmedException, "User is not confirmed."));
                }
                if user.status == UserStatusType::ResetRequired {
                    return Err(Fail::new(
                        ErrorCode::PasswordResetRequiredException,
                        "Password reset required for the user",
                    ));
                }
                (key.clone(), user.username.clone())
            }
            None if self.prevents_existence_errors(pool_id, client_id) => (String::new(), login.to_owned()),
            None => return Err(Fail::no_user()),
        };
        let with_srp = param(keys::CHALLENGE_NAME) == Some("SRP_A");
        let srp_a = if with_srp {
            Some(param(keys::SRP_A).ok_or_else(|| Fail::invalid("Missing required parameter SRP_A"))?)
        } else {
            None
        };
        let history = if with_srp {
            vec![ChallengeResult { challenge_name: "SRP_A".into(), challenge_result: true, challenge_metadata: None }]
        } else {
            Vec::new()
        };
        let run = Run {
            pool_id,
            client_id,
            user_key: &user_key,
            login: &username,
            user_not_found: found.is_none(),
            metadata,
            device_key: param(keys::DEVICE_KEY),
            srp_a,
            secret_hash: param(keys::SECRET_HASH),
        };
        self.custom_next(&run, history)
    }

    fn custom_request(&self, run: &Run<'_>, history: Vec<ChallengeResult>) -> OpResult<CustomAuthRequest> {
        let attributes = if run.user_not_found {
            BTreeMap::new()
        } else {
            let state = self.lock();
            Engine::pool(&state, run.pool_id)?.users.get(run.user_key).ok_or_else(Fail::no_user)?.attributes.clone()
        };
        Ok(CustomAuthRequest {
            user_pool_id: run.pool_id.to_owned(),
            client_id: run.client_id.to_owned(),
            username: run.login.to_owned(),
            user_attributes: attributes,
            user_not_found: run.user_not_found,
            session: history,
            client_metadata: run.metadata.clone(),
        })
    }

    /// Asks define what follows `history`, and does it.
    pub(crate) fn custom_next(&self, run: &Run<'_>, history: Vec<ChallengeResult>) -> OpResult<Outcome> {
        let hooks = self.hooks_for(run.pool_id)?.ok_or_else(not_configured)?;
        let request = self.custom_request(run, history.clone())?;
        let decision = (hooks.define)(&request).map_err(|e| lambda_failed("DefineAuthChallenge", e))?;
        if decision.fail_authentication {
            return Err(Fail::not_authorized("Incorrect username or password."));
        }
        if decision.issue_tokens {
            if run.user_not_found {
                return Err(Fail::not_authorized("Incorrect username or password."));
            }
            return self.finish_first_factor(run.pool_id, run.client_id, run.user_key, run.device_key);
        }
        match decision.challenge_name.as_deref() {
            Some("CUSTOM_CHALLENGE") => {
                let create = CreateAuthChallengeRequest { request, challenge_name: "CUSTOM_CHALLENGE".into() };
                let created = (hooks.create)(&create).map_err(|e| lambda_failed("CreateAuthChallenge", e))?;
                if let Some(d) = created.deliver
                    && !run.user_not_found
                {
                    let now = self.now();
                    let mut state = self.lock();
                    self.send(
                        &mut state,
                        Message {
                            pool_id: run.pool_id.to_owned(),
                            username: run.login.to_owned(),
                            kind: "custom_challenge".into(),
                            medium: d.medium,
                            destination: d.destination,
                            code: d.code,
                            text: d.text,
                            time: now,
                        },
                    );
                }
                let mut params = created.public_challenge_parameters;
                params.insert(keys::USERNAME.to_owned(), run.login.to_owned());
                let step = Step::Custom {
                    history,
                    private: created.private_challenge_parameters,
                    metadata: created.challenge_metadata,
                    user_not_found: run.user_not_found,
                };
                let session = self.new_session(run.pool_id, run.client_id, run.user_key, step);
                Ok(Outcome::challenge(ChallengeNameType::CustomChallenge, params, session))
            }
            Some("PASSWORD_VERIFIER") => match run.srp_a {
                Some(srp_a) => self.start_srp(
                    run.pool_id,
                    run.client_id,
                    run.login,
                    srp_a,
                    run.secret_hash,
                    AfterVerifier::Custom { history },
                ),
                None => Err(bad_lambda("PASSWORD_VERIFIER needs SRP_A (CHALLENGE_NAME=SRP_A in InitiateAuth)")),
            },
            Some(other) => Err(bad_lambda(&format!("challenge {other} is not supported by local-pool"))),
            None => Err(bad_lambda("define returned no challengeName, issueTokens or failAuthentication")),
        }
    }

    /// RespondToAuthChallenge CUSTOM_CHALLENGE.
    pub(crate) fn answer_custom(
        &self,
        auth: AuthSession,
        challenge: &ChallengeNameType,
        responses: &BTreeMap<String, String>,
        user: Option<User>,
        metadata: &BTreeMap<String, String>,
    ) -> OpResult<Outcome> {
        let AuthSession { pool_id, client_id, user_key, step, .. } = auth;
        let Step::Custom { mut history, private, metadata: challenge_metadata, user_not_found } = step else {
            return Err(Fail::invalid(format!("Challenge {challenge} is not the one pending for this session")));
        };
        if *challenge != ChallengeNameType::CustomChallenge {
            return Err(Fail::invalid(format!("Challenge {challenge} is not the one pending for this session")));
        }
        let answer =
            responses.get(keys::ANSWER).ok_or_else(|| Fail::invalid("Missing required parameter ANSWER"))?.clone();
        let login = match &user {
            Some(u) => u.username.clone(),
            None => responses.get(keys::USERNAME).cloned().unwrap_or_default(),
        };
        let run = Run {
            pool_id: &pool_id,
            client_id: &client_id,
            user_key: &user_key,
            login: &login,
            user_not_found,
            metadata,
            device_key: responses.get(keys::DEVICE_KEY).map(String::as_str),
            srp_a: None,
            secret_hash: responses.get(keys::SECRET_HASH).map(String::as_str),
        };
        let hooks = self.hooks_for(&pool_id)?.ok_or_else(not_configured)?;
        let verify = VerifyAuthChallengeRequest {
            request: self.custom_request(&run, history.clone())?,
            private_challenge_parameters: private,
            challenge_answer: answer,
        };
        let verdict = (hooks.verify)(&verify).map_err(|e| lambda_failed("VerifyAuthChallengeResponse", e))?;
        history.push(ChallengeResult {
            challenge_name: "CUSTOM_CHALLENGE".into(),
            challenge_result: verdict.answer_correct,
            challenge_metadata,
        });
        self.custom_next(&run, history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(session: &[(&str, bool)]) -> CustomAuthRequest {
        CustomAuthRequest {
            user_pool_id: "p".into(),
            client_id: "c".into(),
            username: "u".into(),
            user_attributes: BTreeMap::new(),
            user_not_found: false,
            session: session
                .iter()
                .map(|(n, r)| ChallengeResult {
                    challenge_name: (*n).into(),
                    challenge_result: *r,
                    challenge_metadata: None,
                })
                .collect(),
            client_metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn the_standard_define_follows_the_aws_sample() {
        let custom = DefineAuthChallengeResponse::challenge("CUSTOM_CHALLENGE");
        assert_eq!(standard_define(&request(&[]), false, 3), custom);
        assert_eq!(standard_define(&request(&[]), true, 3), DefineAuthChallengeResponse::fail());
        assert_eq!(
            standard_define(&request(&[("SRP_A", true)]), true, 3),
            DefineAuthChallengeResponse::challenge("PASSWORD_VERIFIER")
        );
        assert_eq!(standard_define(&request(&[("SRP_A", true), ("PASSWORD_VERIFIER", true)]), true, 3), custom);
        assert_eq!(
            standard_define(&request(&[("SRP_A", true), ("PASSWORD_VERIFIER", false)]), true, 3),
            DefineAuthChallengeResponse::fail()
        );
        assert_eq!(
            standard_define(&request(&[("CUSTOM_CHALLENGE", false), ("CUSTOM_CHALLENGE", true)]), false, 3),
            DefineAuthChallengeResponse::issue_tokens()
        );
        let wrong = [("CUSTOM_CHALLENGE", false); 3];
        assert_eq!(standard_define(&request(&wrong[..2]), false, 3), custom);
        assert_eq!(standard_define(&request(&wrong), false, 3), DefineAuthChallengeResponse::fail());
    }

    #[test]
    fn config_kinds_parse() {
        let c: CustomAuthConfig = serde_json::from_str(r#"{"kind":"fixed_answer","answer":"42"}"#).unwrap();
        assert_eq!(c, CustomAuthConfig::FixedAnswer { answer: "42".into(), require_password: false, max_attempts: 3 });
        let c: CustomAuthConfig =
            serde_json::from_str(r#"{"kind":"outbox_code","require_password":true,"max_attempts":1}"#).unwrap();
        assert_eq!(c, CustomAuthConfig::OutboxCode { medium: None, require_password: true, max_attempts: 1 });
        assert!(serde_json::from_str::<CustomAuthConfig>(r#"{"kind":"lambda"}"#).is_err());
        assert!(serde_json::from_str::<CustomAuthConfig>(r#"{"kind":"fixed_answer","answer":"1","x":1}"#).is_err());
    }
}
