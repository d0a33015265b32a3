//! The sign-in conversation as a pure state machine.
//!
//! [`SignInMachine`] holds the state; each input (the caller's answer, a
//! Cognito reply, a device looked up in storage) goes in through a method
//! that returns the one thing to do next ([`Next`]): send a call, look up a
//! device, ask the person, or finish. No I/O, clock or randomness happens
//! inside: the time and random bytes come in an [`Env`], so every path is
//! testable with recorded replies (see the unit tests below), and the driver
//! in [`crate::Auth`] is a short loop.
//!
//! Amplify's two local-only transitions are explicit states here: choosing
//! `PASSWORD`/`PASSWORD_SRP` at first-factor selection
//! ([`Awaiting::Password`]) and choosing `TOTP`/`EMAIL` at MFA setup
//! ([`Awaiting::MfaSetupSelection`]).

use std::collections::BTreeMap;
use std::fmt;

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{
    AssociateSoftwareTokenRequest, AssociateSoftwareTokenResponse, AuthFlowType, AuthenticationResultType,
    ChallengeNameType, ConfirmDeviceRequest, DeviceSecretVerifierConfigType, InitiateAuthRequest, InitiateAuthResponse,
    RespondToAuthChallengeRequest, RespondToAuthChallengeResponse, VerifySoftwareTokenRequest,
    VerifySoftwareTokenResponse, VerifySoftwareTokenResponseType,
};
use serde::{Deserialize, Serialize};
use srp_core::{Challenge, ClientEphemeral, DevicePassword, DeviceVerifierConfig, Identity, Timestamp};
use token_store::{DeviceMetadata, SecretString};
use zeroize::{Zeroize, Zeroizing};

use crate::config::AuthFlow;
use crate::error::AuthError;
use crate::steps::{CodeDeliveryDetails, MfaType, SignInStep, TotpSetupDetails};

/// Cognito keeps a sign-in `Session` for 3 minutes; so does the pending
/// state (Amplify's `MS_TO_EXPIRY`).
pub const PENDING_LIFETIME_MS: i64 = 3 * 60 * 1000;

/// Randomness for one step (the driver draws it from the OS; tests fix it).
pub struct Entropy {
    /// For the SRP ephemeral `a` (user or device round).
    pub srp: [u8; 128],
    /// For a new device's random password.
    pub device_password: [u8; 40],
    /// For a new device's verifier salt.
    pub device_salt: [u8; 16],
}

impl Drop for Entropy {
    fn drop(&mut self) {
        self.srp.zeroize();
        self.device_password.zeroize();
        self.device_salt.zeroize();
    }
}

impl fmt::Debug for Entropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Entropy([redacted])")
    }
}

/// The outside world for one step: the time and fresh random bytes.
#[derive(Debug)]
pub struct Env {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Fresh random bytes.
    pub entropy: Entropy,
}

impl Env {
    /// The system clock and the OS random source.
    pub fn from_os() -> Result<Self, AuthError> {
        let mut entropy = Entropy { srp: [0; 128], device_password: [0; 40], device_salt: [0; 16] };
        crate::random::fill(&mut entropy.srp)?;
        crate::random::fill(&mut entropy.device_password)?;
        crate::random::fill(&mut entropy.device_salt)?;
        Ok(Self { now_ms: crate::now_ms(), entropy })
    }
}

/// Who is signing in, to which client, how.
#[derive(Clone)]
pub struct Context {
    /// The user pool id (for the SRP identity).
    pub pool_id: String,
    /// The app client id.
    pub client_id: String,
    /// The app client secret, if any (then `SECRET_HASH` is sent).
    pub client_secret: Option<SecretString>,
    /// The flow.
    pub flow: AuthFlow,
    /// What the person typed (username, email or phone).
    pub login_id: String,
    /// The remembered device for the user, if known.
    pub device: Option<DeviceMetadata>,
    /// The username `device` was looked up for (`None`: not looked up).
    pub device_for: Option<String>,
    /// The name given to a newly confirmed device.
    pub device_name: Option<String>,
    /// `ClientMetadata` for Lambda triggers.
    pub client_metadata: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .field("flow", &self.flow)
            .field("login_id", &self.login_id)
            .field("device", &self.device.as_ref().map(|d| &d.device_key))
            .finish_non_exhaustive()
    }
}

/// A request the driver must send.
#[derive(Debug, Clone)]
pub enum Call {
    /// `InitiateAuth`.
    InitiateAuth(InitiateAuthRequest),
    /// `RespondToAuthChallenge`.
    RespondToAuthChallenge(RespondToAuthChallengeRequest),
    /// `AssociateSoftwareToken` with a `Session` (TOTP setup during sign-in).
    AssociateSoftwareToken(AssociateSoftwareTokenRequest),
    /// `VerifySoftwareToken` with a `Session`.
    VerifySoftwareToken(VerifySoftwareTokenRequest),
    /// `ConfirmDevice` after a result with `NewDeviceMetadata`.
    ConfirmDevice(ConfirmDeviceRequest),
}

/// A challenge reply from `InitiateAuth` or `RespondToAuthChallenge`.
#[derive(Debug, Clone, Default)]
pub struct AuthReply {
    /// The next challenge, if any.
    pub challenge_name: Option<ChallengeNameType>,
    /// Its parameters.
    pub parameters: BTreeMap<String, String>,
    /// The session to answer with.
    pub session: Option<Sensitive<String>>,
    /// The tokens, when signed in.
    pub result: Option<AuthenticationResultType>,
    /// `AvailableChallenges` (USER_AUTH).
    pub available_challenges: Vec<String>,
}

impl From<InitiateAuthResponse> for AuthReply {
    fn from(r: InitiateAuthResponse) -> Self {
        Self {
            challenge_name: r.challenge_name,
            parameters: r.challenge_parameters.unwrap_or_default(),
            session: r.session,
            result: r.authentication_result,
            available_challenges: r.available_challenges.unwrap_or_default().iter().map(|c| c.to_string()).collect(),
        }
    }
}

impl From<RespondToAuthChallengeResponse> for AuthReply {
    fn from(r: RespondToAuthChallengeResponse) -> Self {
        Self {
            challenge_name: r.challenge_name,
            parameters: r.challenge_parameters.unwrap_or_default(),
            session: r.session,
            result: r.authentication_result,
            available_challenges: r.available_challenges.unwrap_or_default().iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// What came back from the driver's last action.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "one value per step, moved rather than stored in bulk")]
pub enum Reply {
    /// `InitiateAuth` / `RespondToAuthChallenge` answered.
    Auth(AuthReply),
    /// `AssociateSoftwareToken` answered.
    Associated(AssociateSoftwareTokenResponse),
    /// `VerifySoftwareToken` answered.
    Verified(VerifySoftwareTokenResponse),
    /// `ConfirmDevice` answered.
    DeviceConfirmed,
    /// The device asked for by [`Next::LoadDevice`].
    Device(Option<DeviceMetadata>),
    /// The call failed.
    Failed(AuthError),
}

/// The result of a completed sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The tokens.
    pub result: AuthenticationResultType,
    /// The device to keep for the user (new or existing).
    pub device: Option<DeviceMetadata>,
    /// Whether `device` was just confirmed (store it).
    pub new_device: bool,
    /// `ConfirmDevice` failed: the sign-in stands, without a remembered
    /// device (Amplify swallows this; we report it).
    pub device_error: Option<AuthError>,
    /// The canonical username.
    pub username: String,
}

/// What the driver does next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "one value per step, moved rather than stored in bulk")]
pub enum Next {
    /// Send this call and feed the reply back with [`SignInMachine::on_reply`].
    Send(Call),
    /// Look up the remembered device of this username and feed it back as
    /// [`Reply::Device`].
    LoadDevice(String),
    /// Forget the stored device of this username (Cognito said it does not
    /// exist), then continue with [`SignInMachine::on_reply`]`(`[`Reply::Device`]`(None))`.
    ClearDevice(String),
    /// Ask the person: the machine is now pending ([`SignInMachine::pending`]).
    Ask(SignInStep),
    /// Signed in.
    Done(Box<SignedIn>),
    /// The conversation ended without signing in (`CONFIRM_SIGN_UP`,
    /// `RESET_PASSWORD`).
    Ended(SignInStep),
}

/// What the pending conversation waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Awaiting {
    /// A Cognito challenge answered with one `RespondToAuthChallenge`.
    Challenge(String),
    /// `MFA_SETUP` offering TOTP and EMAIL: the person picks (local).
    MfaSetupSelection,
    /// TOTP setup: a code from the newly enrolled app.
    TotpSetup,
    /// EMAIL setup: the address.
    EmailSetup,
    /// `SELECT_CHALLENGE`: the first factor.
    FirstFactor,
    /// The password after choosing `PASSWORD` (`srp: false`) or
    /// `PASSWORD_SRP` (`srp: true`) (local).
    Password {
        /// Whether SRP is used.
        srp: bool,
    },
}

/// The pending sign-in: everything needed to continue it in another process
/// within Cognito's 3-minute session lifetime. Holds the `Session` (a
/// secret); stored with the tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The canonical username.
    pub username: String,
    /// What the person typed.
    pub login_id: String,
    /// The flow (wire spelling).
    pub flow: String,
    /// What is awaited.
    pub awaiting: Awaiting,
    /// Cognito's session for the next answer.
    #[serde(with = "opt_secret")]
    pub session: Option<SecretString>,
    /// The challenge parameters (non-secret: delivery details, MFA lists).
    pub parameters: BTreeMap<String, String>,
    /// `AvailableChallenges`, for first-factor selection.
    pub available_challenges: Vec<String>,
    /// When the session expires, ms since the epoch.
    pub expires_at_ms: i64,
    /// The step shown for it.
    pub step: SignInStep,
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("username", &self.username)
            .field("awaiting", &self.awaiting)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("step", &self.step.as_str())
            .finish_non_exhaustive()
    }
}

mod opt_secret {
    use serde::{Deserialize, Deserializer, Serializer};
    use token_store::SecretString;

    pub(super) fn serialize<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(v.expose_secret()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(SecretString::new))
    }
}

/// Options for an answer.
#[derive(Clone, Debug, Default)]
pub struct ConfirmOptions {
    /// Attributes for `NEW_PASSWORD_REQUIRED` (`name` → value).
    pub user_attributes: BTreeMap<String, String>,
    /// The name shown for a TOTP authenticator being set up.
    pub friendly_device_name: Option<String>,
    /// `ClientMetadata` for Lambda triggers.
    pub client_metadata: Option<BTreeMap<String, String>>,
}

#[allow(clippy::large_enum_variant, reason = "one value per step, moved rather than stored in bulk")]
enum Stage {
    /// A reply to `InitiateAuth`/`RespondToAuthChallenge` is awaited; `srp`
    /// holds the ephemeral when `PASSWORD_VERIFIER` may come next.
    AwaitAuth { srp: Option<ClientEphemeral> },
    /// `DEVICE_SRP_AUTH` was answered; `DEVICE_PASSWORD_VERIFIER` is next.
    AwaitDeviceVerifier { ephemeral: ClientEphemeral },
    /// The device lookup for a new active username, with the reply to
    /// process once it is known.
    AwaitDevice { reply: AuthReply, srp: Option<ClientEphemeral> },
    /// `AssociateSoftwareToken{Session}` was sent.
    AwaitAssociate,
    /// `VerifySoftwareToken{Session}` was sent.
    AwaitVerify,
    /// `ConfirmDevice` was sent.
    AwaitConfirmDevice { result: Box<AuthenticationResultType>, device: DeviceMetadata },
    /// The person is asked.
    Pending(PendingSignIn),
    /// Over (signed in, ended or failed): no input is accepted.
    Finished,
}

/// The sign-in conversation. See the module documentation.
pub struct SignInMachine {
    ctx: Context,
    stage: Stage,
    /// The active (canonical) username.
    username: String,
    /// The password, while it may still be needed (SRP verifier, restart).
    password: Option<Zeroizing<String>>,
    /// The pending state the current call answers (restored on errors so
    /// that a wrong code can be retried).
    resume: Option<PendingSignIn>,
    /// The last `RespondToAuthChallenge`, for the device-not-found retry.
    last_answer: Option<RespondToAuthChallengeRequest>,
    /// The device-not-found retry was used.
    device_retried: bool,
    /// The last session seen.
    session: Option<SecretString>,
    /// The preferred first factor (USER_AUTH).
    preferred: Option<String>,
    /// The `Session` from `ConfirmSignUp`, for auto sign-in (USER_AUTH).
    sign_up_session: Option<SecretString>,
}

impl fmt::Debug for SignInMachine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            Stage::AwaitAuth { .. } => "AwaitAuth",
            Stage::AwaitDeviceVerifier { .. } => "AwaitDeviceVerifier",
            Stage::AwaitDevice { .. } => "AwaitDevice",
            Stage::AwaitAssociate => "AwaitAssociate",
            Stage::AwaitVerify => "AwaitVerify",
            Stage::AwaitConfirmDevice { .. } => "AwaitConfirmDevice",
            Stage::Pending(_) => "Pending",
            Stage::Finished => "Finished",
        };
        f.debug_struct("SignInMachine").field("ctx", &self.ctx).field("stage", &stage).finish_non_exhaustive()
    }
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

impl SignInMachine {
    /// Starts a sign-in: returns the machine and the first call.
    ///
    /// `password` is required by every flow except `CUSTOM_WITHOUT_SRP` and
    /// `USER_AUTH` without a password-based preferred challenge.
    /// `preferred_challenge` applies to `USER_AUTH`.
    pub fn start(
        ctx: Context,
        password: Option<&str>,
        preferred_challenge: Option<&str>,
        env: &Env,
    ) -> Result<(Self, Next), AuthError> {
        if ctx.login_id.is_empty() {
            return Err(AuthError::validation("username", "must not be empty"));
        }
        let needs_password = match ctx.flow {
            AuthFlow::UserSrp | AuthFlow::UserPassword | AuthFlow::CustomWithSrp => true,
            AuthFlow::CustomWithoutSrp => false,
            AuthFlow::UserAuth => matches!(preferred_challenge, Some("PASSWORD" | "PASSWORD_SRP")),
        };
        if needs_password && password.is_none_or(str::is_empty) {
            return Err(AuthError::validation("password", "must not be empty for this flow"));
        }
        let mut machine = Self {
            username: ctx.login_id.clone(),
            ctx,
            stage: Stage::Finished,
            password: password.map(|p| Zeroizing::new(p.to_owned())),
            resume: None,
            last_answer: None,
            device_retried: false,
            session: None,
            preferred: preferred_challenge.map(str::to_owned),
            sign_up_session: None,
        };
        let next = machine.initiate(env)?;
        Ok((machine, next))
    }

    /// Starts the auto sign-in after a confirmed sign-up: `USER_AUTH` with
    /// the `Session` `ConfirmSignUp` returned, so the code the person just
    /// entered counts as the first factor.
    pub fn start_with_sign_up_session(mut ctx: Context, session: &str, env: &Env) -> Result<(Self, Next), AuthError> {
        if ctx.login_id.is_empty() {
            return Err(AuthError::validation("username", "must not be empty"));
        }
        if session.is_empty() {
            return Err(AuthError::validation("session", "must not be empty"));
        }
        ctx.flow = AuthFlow::UserAuth;
        let mut machine = Self {
            username: ctx.login_id.clone(),
            ctx,
            stage: Stage::Finished,
            password: None,
            resume: None,
            last_answer: None,
            device_retried: false,
            session: None,
            preferred: None,
            sign_up_session: Some(SecretString::new(session.to_owned())),
        };
        let next = machine.initiate(env)?;
        Ok((machine, next))
    }

    /// Continues a pending sign-in (from storage) with an answer.
    #[must_use]
    pub fn resume(ctx: Context, pending: PendingSignIn) -> Self {
        Self {
            username: pending.username.clone(),
            ctx,
            session: pending.session.clone(),
            stage: Stage::Pending(pending),
            password: None,
            resume: None,
            last_answer: None,
            device_retried: false,
            preferred: None,
            sign_up_session: None,
        }
    }

    /// The pending state, when the machine waits for the person.
    #[must_use]
    pub fn pending(&self) -> Option<&PendingSignIn> {
        match &self.stage {
            Stage::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// The context (with the device as currently known).
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    fn secret_hash(&self, username: &str) -> Result<Option<String>, AuthError> {
        match &self.ctx.client_secret {
            Some(secret) => Ok(Some(
                srp_core::secret_hash(secret.expose_secret(), username, &self.ctx.client_id)?.as_str().to_owned(),
            )),
            None => Ok(None),
        }
    }

    /// Builds the `InitiateAuth` for the flow.
    fn initiate(&mut self, env: &Env) -> Result<Next, AuthError> {
        let login = self.ctx.login_id.clone();
        let mut auth = params(&[("USERNAME", &login)]);
        if let Some(hash) = self.secret_hash(&login)? {
            auth.insert("SECRET_HASH".into(), hash);
        }
        let mut srp = None;
        let password = self.password.as_ref().map(|p| p.as_str().to_owned()).map(Zeroizing::new);
        let flow = match self.ctx.flow {
            AuthFlow::UserSrp | AuthFlow::CustomWithSrp => {
                let ephemeral = ClientEphemeral::from_random(&env.entropy.srp)?;
                auth.insert("SRP_A".into(), ephemeral.srp_a().as_str().to_owned());
                srp = Some(ephemeral);
                if self.ctx.flow == AuthFlow::CustomWithSrp {
                    auth.insert("CHALLENGE_NAME".into(), "SRP_A".into());
                    AuthFlowType::CustomAuth
                } else {
                    AuthFlowType::UserSrpAuth
                }
            }
            AuthFlow::UserPassword => {
                if let Some(p) = &password {
                    auth.insert("PASSWORD".into(), p.as_str().to_owned());
                }
                self.add_device_key(&mut auth);
                AuthFlowType::UserPasswordAuth
            }
            AuthFlow::CustomWithoutSrp => {
                self.add_device_key(&mut auth);
                AuthFlowType::CustomAuth
            }
            AuthFlow::UserAuth => {
                match self.preferred.as_deref() {
                    Some("PASSWORD_SRP") => {
                        let ephemeral = ClientEphemeral::from_random(&env.entropy.srp)?;
                        auth.insert("SRP_A".into(), ephemeral.srp_a().as_str().to_owned());
                        auth.insert("PREFERRED_CHALLENGE".into(), "PASSWORD_SRP".into());
                        srp = Some(ephemeral);
                    }
                    Some("PASSWORD") => {
                        if let Some(p) = &password {
                            auth.insert("PASSWORD".into(), p.as_str().to_owned());
                        }
                        auth.insert("PREFERRED_CHALLENGE".into(), "PASSWORD".into());
                    }
                    Some(other) => {
                        auth.insert("PREFERRED_CHALLENGE".into(), other.to_owned());
                    }
                    None => {}
                }
                self.add_device_key(&mut auth);
                AuthFlowType::UserAuth
            }
        };
        self.stage = Stage::AwaitAuth { srp };
        let session = match (&self.sign_up_session, flow == AuthFlowType::UserAuth) {
            (Some(s), true) => Some(Sensitive::new(s.expose_secret().to_owned())),
            _ => None,
        };
        Ok(Next::Send(Call::InitiateAuth(InitiateAuthRequest {
            auth_flow: flow,
            auth_parameters: Some(Sensitive::new(auth)),
            client_id: self.ctx.client_id.as_str().into(),
            client_metadata: self.ctx.client_metadata.clone(),
            session,
            ..Default::default()
        })))
    }

    fn add_device_key(&self, map: &mut BTreeMap<String, String>) {
        if let Some(device) = &self.ctx.device {
            map.insert("DEVICE_KEY".into(), device.device_key.clone());
        }
    }

    fn respond(
        &mut self,
        challenge: ChallengeNameType,
        mut responses: BTreeMap<String, String>,
        with_device_key: bool,
    ) -> Result<Next, AuthError> {
        let username = self.username.clone();
        responses.entry("USERNAME".into()).or_insert_with(|| username.clone());
        if with_device_key {
            self.add_device_key(&mut responses);
        }
        if let Some(hash) = self.secret_hash(&username)? {
            responses.insert("SECRET_HASH".into(), hash);
        }
        let request = RespondToAuthChallengeRequest {
            challenge_name: challenge,
            challenge_responses: Some(Sensitive::new(responses)),
            client_id: self.ctx.client_id.as_str().into(),
            client_metadata: self.ctx.client_metadata.clone(),
            session: self.session.as_ref().map(|s| Sensitive::new(s.expose_secret().to_owned())),
            ..Default::default()
        };
        self.last_answer = Some(request.clone());
        Ok(Next::Send(Call::RespondToAuthChallenge(request)))
    }

    /// Answers the pending step (`confirm_sign_in`).
    pub fn answer(&mut self, answer: &str, options: &ConfirmOptions, env: &Env) -> Result<Next, AuthError> {
        // Out of turn (a reply is awaited, or it is over): refuse without
        // touching the conversation.
        if !matches!(self.stage, Stage::Pending(_)) {
            return Err(AuthError::invalid_state("no sign-in is waiting for an answer"));
        }
        let Stage::Pending(pending) = std::mem::replace(&mut self.stage, Stage::Finished) else {
            return Err(AuthError::invalid_state("no sign-in is waiting for an answer"));
        };
        if env.now_ms >= pending.expires_at_ms {
            return Err(AuthError::invalid_state(
                "the sign-in session expired (Cognito keeps it 3 minutes); call sign_in again",
            ));
        }
        if options.client_metadata.is_some() {
            self.ctx.client_metadata.clone_from(&options.client_metadata);
        }
        self.resume = Some(pending.clone());
        let result = self.answer_pending(&pending, answer, options, env);
        if result.is_err() {
            // A refused answer (validation) leaves the step retryable.
            self.stage = Stage::Pending(pending);
        }
        result
    }

    fn answer_pending(
        &mut self,
        pending: &PendingSignIn,
        answer: &str,
        options: &ConfirmOptions,
        env: &Env,
    ) -> Result<Next, AuthError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(AuthError::validation("challenge_response", "must not be empty"));
        }
        match &pending.awaiting {
            Awaiting::Challenge(name) => {
                let challenge = ChallengeNameType::from(name.as_str());
                self.stage = Stage::AwaitAuth { srp: None };
                match &challenge {
                    ChallengeNameType::SmsMfa => self.respond(challenge, params(&[("SMS_MFA_CODE", answer)]), true),
                    ChallengeNameType::SmsOtp => self.respond(challenge, params(&[("SMS_OTP_CODE", answer)]), true),
                    ChallengeNameType::EmailOtp => self.respond(challenge, params(&[("EMAIL_OTP_CODE", answer)]), true),
                    ChallengeNameType::SoftwareTokenMfa => {
                        self.respond(challenge, params(&[("SOFTWARE_TOKEN_MFA_CODE", answer)]), true)
                    }
                    ChallengeNameType::CustomChallenge => self.respond(challenge, params(&[("ANSWER", answer)]), true),
                    ChallengeNameType::SelectMfaType => {
                        let allowed = mfa_list(pending.parameters.get("MFAS_CAN_CHOOSE"));
                        let choice = MfaType::parse(answer).filter(|m| allowed.contains(m)).ok_or_else(|| {
                            AuthError::validation("challenge_response", format!("expected one of {}", join(&allowed)))
                        })?;
                        self.respond(challenge, params(&[("ANSWER", choice.challenge_name())]), false)
                    }
                    ChallengeNameType::NewPasswordRequired => {
                        let mut responses = params(&[("NEW_PASSWORD", answer)]);
                        for (name, value) in &options.user_attributes {
                            if !value.is_empty() {
                                responses.insert(format!("userAttributes.{name}"), value.clone());
                            }
                        }
                        self.respond(challenge, responses, false)
                    }
                    other => Err(AuthError::invalid_state(format!("cannot answer challenge {other}"))),
                }
            }
            Awaiting::MfaSetupSelection => match MfaType::parse(answer) {
                Some(MfaType::Totp) => {
                    self.stage = Stage::AwaitAssociate;
                    Ok(self.associate())
                }
                Some(MfaType::Email) => Ok(self.ask(
                    Awaiting::EmailSetup,
                    pending.parameters.clone(),
                    Vec::new(),
                    SignInStep::ContinueSignInWithEmailSetup,
                    env,
                )),
                _ => Err(AuthError::validation("challenge_response", "expected TOTP or EMAIL")),
            },
            Awaiting::TotpSetup => {
                if !answer.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(AuthError::validation("challenge_response", "expected the code from the app"));
                }
                self.stage = Stage::AwaitVerify;
                Ok(Next::Send(Call::VerifySoftwareToken(VerifySoftwareTokenRequest {
                    session: self.session.as_ref().map(|s| Sensitive::new(s.expose_secret().to_owned())),
                    user_code: Sensitive::new(answer.to_owned()),
                    friendly_device_name: options.friendly_device_name.clone(),
                    ..Default::default()
                })))
            }
            Awaiting::EmailSetup => {
                if !answer.contains('@') {
                    return Err(AuthError::validation("challenge_response", "expected an email address"));
                }
                self.stage = Stage::AwaitAuth { srp: None };
                self.respond(ChallengeNameType::MfaSetup, params(&[("EMAIL", answer)]), false)
            }
            Awaiting::FirstFactor => match answer {
                "PASSWORD" | "PASSWORD_SRP" => {
                    let srp = answer == "PASSWORD_SRP";
                    Ok(self.ask(
                        Awaiting::Password { srp },
                        BTreeMap::new(),
                        Vec::new(),
                        SignInStep::ConfirmSignInWithPassword,
                        env,
                    ))
                }
                "EMAIL_OTP" | "SMS_OTP" => {
                    if !pending.available_challenges.is_empty()
                        && !pending.available_challenges.iter().any(|c| c == answer)
                    {
                        return Err(AuthError::validation(
                            "challenge_response",
                            format!("expected one of {}", pending.available_challenges.join(", ")),
                        ));
                    }
                    self.stage = Stage::AwaitAuth { srp: None };
                    self.respond(ChallengeNameType::SelectChallenge, params(&[("ANSWER", answer)]), false)
                }
                "WEB_AUTHN" => Err(AuthError::validation(
                    "challenge_response",
                    "WEB_AUTHN needs a platform authenticator, which this library does not drive; choose another factor",
                )),
                _ => Err(AuthError::validation(
                    "challenge_response",
                    "expected PASSWORD, PASSWORD_SRP, EMAIL_OTP or SMS_OTP",
                )),
            },
            Awaiting::Password { srp: false } => {
                self.stage = Stage::AwaitAuth { srp: None };
                self.respond(
                    ChallengeNameType::SelectChallenge,
                    params(&[("ANSWER", "PASSWORD"), ("PASSWORD", answer)]),
                    false,
                )
            }
            Awaiting::Password { srp: true } => {
                let ephemeral = ClientEphemeral::from_random(&env.entropy.srp)?;
                let srp_a = ephemeral.srp_a();
                self.password = Some(Zeroizing::new(answer.to_owned()));
                self.stage = Stage::AwaitAuth { srp: Some(ephemeral) };
                self.respond(
                    ChallengeNameType::SelectChallenge,
                    params(&[("ANSWER", "PASSWORD_SRP"), ("SRP_A", srp_a.as_str())]),
                    false,
                )
            }
        }
    }

    fn associate(&self) -> Next {
        Next::Send(Call::AssociateSoftwareToken(AssociateSoftwareTokenRequest {
            session: self.session.as_ref().map(|s| Sensitive::new(s.expose_secret().to_owned())),
            ..Default::default()
        }))
    }

    fn ask(
        &mut self,
        awaiting: Awaiting,
        parameters: BTreeMap<String, String>,
        available_challenges: Vec<String>,
        step: SignInStep,
        env: &Env,
    ) -> Next {
        // Secrets never go into the stored step: the TOTP secret is shown
        // once and not needed to continue.
        let stored_step = match &step {
            SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } => SignInStep::ContinueSignInWithTotpSetup {
                totp_setup_details: TotpSetupDetails {
                    shared_secret: SecretString::default(),
                    username: totp_setup_details.username.clone(),
                },
            },
            other => other.clone(),
        };
        self.password = None;
        self.stage = Stage::Pending(PendingSignIn {
            username: self.username.clone(),
            login_id: self.ctx.login_id.clone(),
            flow: self.ctx.flow.as_str().to_owned(),
            awaiting,
            session: self.session.clone(),
            parameters,
            available_challenges,
            expires_at_ms: env.now_ms.saturating_add(PENDING_LIFETIME_MS),
            step: stored_step,
        });
        Next::Ask(step)
    }

    /// Feeds the reply to the last [`Next`].
    pub fn on_reply(&mut self, reply: Reply, env: &Env) -> Result<Next, AuthError> {
        // Out of turn: the person is being asked, or it is over. Refuse
        // without touching the conversation.
        match &self.stage {
            Stage::Pending(_) => {
                return Err(AuthError::invalid_state("the sign-in is waiting for an answer, not a reply"));
            }
            Stage::Finished => return Err(AuthError::invalid_state("the sign-in is over")),
            _ => {}
        }
        let stage = std::mem::replace(&mut self.stage, Stage::Finished);
        let result = self.on_reply_inner(stage, reply, env);
        if let Err(err) = &result {
            // A code the service refused can be retried on the same session
            // (Amplify keeps the state on confirmSignIn errors); anything
            // else ends the conversation.
            if let Some(pending) = self.resume.take()
                && err.code().is_some()
                && !matches!(pending.awaiting, Awaiting::Password { srp: true })
            {
                self.stage = Stage::Pending(pending);
            } else {
                self.stage = Stage::Finished;
            }
            self.password = None;
        }
        result
    }

    fn on_reply_inner(&mut self, stage: Stage, reply: Reply, env: &Env) -> Result<Next, AuthError> {
        match (stage, reply) {
            (Stage::AwaitAuth { srp }, Reply::Auth(auth)) => self.on_auth(auth, srp, env),
            (Stage::AwaitDeviceVerifier { ephemeral }, Reply::Auth(auth)) => {
                self.on_device_verifier(auth, &ephemeral, env)
            }
            (Stage::AwaitDevice { reply, srp }, Reply::Device(device)) => {
                self.ctx.device = device;
                self.ctx.device_for = Some(self.username.clone());
                self.on_auth(reply, srp, env)
            }
            (Stage::AwaitAssociate, Reply::Associated(out)) => {
                let secret = out
                    .secret_code
                    .ok_or_else(|| AuthError::protocol("AssociateSoftwareToken returned no SecretCode"))?
                    .into_inner();
                if let Some(session) = out.session {
                    self.session = Some(SecretString::new(session.into_inner()));
                }
                let step = SignInStep::ContinueSignInWithTotpSetup {
                    totp_setup_details: TotpSetupDetails {
                        shared_secret: SecretString::new(secret),
                        username: self.username.clone(),
                    },
                };
                Ok(self.ask(Awaiting::TotpSetup, BTreeMap::new(), Vec::new(), step, env))
            }
            (Stage::AwaitVerify, Reply::Verified(out)) => {
                if out.status == Some(VerifySoftwareTokenResponseType::Error) {
                    return Err(AuthError::protocol("VerifySoftwareToken returned status ERROR"));
                }
                if let Some(session) = out.session {
                    self.session = Some(SecretString::new(session.into_inner()));
                }
                self.stage = Stage::AwaitAuth { srp: None };
                self.respond(ChallengeNameType::MfaSetup, BTreeMap::new(), false)
            }
            (Stage::AwaitConfirmDevice { result, device }, Reply::DeviceConfirmed) => {
                self.finish(*result, Some(device), true, None)
            }
            (Stage::AwaitConfirmDevice { result, .. }, Reply::Failed(err)) => {
                let device = None;
                self.finish(*result, device, false, Some(err))
            }
            (Stage::AwaitAuth { .. }, Reply::Device(None)) if self.device_retried => {
                // After ClearDevice: retry without the device.
                self.retry_without_device(env)
            }
            (_, Reply::Failed(err)) => self.on_failure(err, env),
            (Stage::Finished, _) => Err(AuthError::invalid_state("the sign-in is over")),
            (Stage::Pending(p), _) => {
                self.stage = Stage::Pending(p);
                Err(AuthError::invalid_state("the sign-in is waiting for an answer, not a reply"))
            }
            (_, other) => Err(AuthError::invalid_state(format!("unexpected input {}", reply_name(&other)))),
        }
    }

    fn on_failure(&mut self, err: AuthError, _env: &Env) -> Result<Next, AuthError> {
        if err.is_service("UserNotConfirmedException") {
            self.resume = None;
            return Ok(Next::Ended(SignInStep::ConfirmSignUp));
        }
        if err.is_service("PasswordResetRequiredException") {
            self.resume = None;
            return Ok(Next::Ended(SignInStep::ResetPassword));
        }
        if err.is_service("ResourceNotFoundException") && self.ctx.device.is_some() && !self.device_retried {
            // "Device does not exist": forget it and retry once without it.
            self.device_retried = true;
            self.ctx.device = None;
            self.stage = Stage::AwaitAuth { srp: None };
            return Ok(Next::ClearDevice(self.username.clone()));
        }
        Err(err)
    }

    fn retry_without_device(&mut self, env: &Env) -> Result<Next, AuthError> {
        self.ctx.device = None;
        if self.password.is_some() || self.ctx.flow == AuthFlow::CustomWithoutSrp && self.resume.is_none() {
            // The whole sign-in again, as Amplify does.
            return self.initiate(env);
        }
        let Some(mut request) = self.last_answer.take() else {
            return Err(AuthError::invalid_state("no request to retry"));
        };
        if let Some(responses) = request.challenge_responses.as_mut() {
            responses.expose_mut().remove("DEVICE_KEY");
        }
        self.stage = Stage::AwaitAuth { srp: None };
        self.last_answer = Some(request.clone());
        Ok(Next::Send(Call::RespondToAuthChallenge(request)))
    }

    fn on_auth(&mut self, reply: AuthReply, srp: Option<ClientEphemeral>, env: &Env) -> Result<Next, AuthError> {
        if let Some(session) = &reply.session {
            self.session = Some(SecretString::new(session.expose().clone()));
        }
        // The active username: Cognito's canonical name once it says it.
        if let Some(name) = reply.parameters.get("USERNAME").or_else(|| reply.parameters.get("USER_ID_FOR_SRP"))
            && !name.is_empty()
        {
            name.clone_into(&mut self.username);
        }
        if self.ctx.device_for.as_deref() != Some(self.username.as_str()) {
            let username = self.username.clone();
            self.stage = Stage::AwaitDevice { reply, srp };
            return Ok(Next::LoadDevice(username));
        }
        if let Some(result) = reply.result {
            return self.on_result(result, env);
        }
        let Some(challenge) = reply.challenge_name.clone() else {
            return Err(AuthError::protocol("a reply with neither tokens nor a challenge"));
        };
        let p = reply.parameters;
        let delivery = || CodeDeliveryDetails {
            delivery_medium: p.get("CODE_DELIVERY_DELIVERY_MEDIUM").cloned(),
            destination: p.get("CODE_DELIVERY_DESTINATION").cloned(),
            attribute_name: None,
        };
        let awaiting = Awaiting::Challenge(challenge.to_string());
        match challenge {
            ChallengeNameType::PasswordVerifier => {
                let (Some(ephemeral), Some(password)) = (srp, self.password.clone()) else {
                    return Err(AuthError::protocol("PASSWORD_VERIFIER without an SRP start"));
                };
                let user_id = p
                    .get("USER_ID_FOR_SRP")
                    .cloned()
                    .ok_or_else(|| AuthError::protocol("PASSWORD_VERIFIER without USER_ID_FOR_SRP"))?;
                let challenge = srp_challenge(&p)?;
                let timestamp = Timestamp::from_unix_seconds(u64::try_from(env.now_ms.div_euclid(1000)).unwrap_or(0))?;
                let identity = Identity::user(&self.ctx.pool_id, &user_id, &password)?;
                let signature = ephemeral.sign(&identity, &challenge, timestamp.as_str())?;
                let responses = params(&[
                    ("USERNAME", &user_id),
                    ("PASSWORD_CLAIM_SECRET_BLOCK", challenge.secret_block),
                    ("TIMESTAMP", timestamp.as_str()),
                    ("PASSWORD_CLAIM_SIGNATURE", signature.as_str()),
                ]);
                self.stage = Stage::AwaitAuth { srp: None };
                self.respond(ChallengeNameType::PasswordVerifier, responses, true)
            }
            ChallengeNameType::DeviceSrpAuth => {
                let Some(device) = self.ctx.device.clone() else {
                    return Err(AuthError::protocol("DEVICE_SRP_AUTH but no device is remembered for this user"));
                };
                let ephemeral = ClientEphemeral::from_random(&env.entropy.srp)?;
                let responses = params(&[("SRP_A", ephemeral.srp_a().as_str()), ("DEVICE_KEY", &device.device_key)]);
                self.stage = Stage::AwaitDeviceVerifier { ephemeral };
                self.respond(ChallengeNameType::DeviceSrpAuth, responses, false)
            }
            ChallengeNameType::SmsMfa | ChallengeNameType::SmsOtp => Ok(self.ask(
                awaiting,
                p.clone(),
                Vec::new(),
                SignInStep::ConfirmSignInWithSmsCode { code_delivery_details: delivery() },
                env,
            )),
            ChallengeNameType::EmailOtp => Ok(self.ask(
                awaiting,
                p.clone(),
                Vec::new(),
                SignInStep::ConfirmSignInWithEmailCode { code_delivery_details: delivery() },
                env,
            )),
            ChallengeNameType::SoftwareTokenMfa => {
                Ok(self.ask(awaiting, p, Vec::new(), SignInStep::ConfirmSignInWithTotpCode, env))
            }
            ChallengeNameType::SelectMfaType => {
                let allowed = mfa_list(p.get("MFAS_CAN_CHOOSE"));
                if allowed.is_empty() {
                    return Err(AuthError::protocol("SELECT_MFA_TYPE without MFAS_CAN_CHOOSE"));
                }
                let step = SignInStep::ContinueSignInWithMfaSelection { allowed_mfa_types: allowed };
                Ok(self.ask(awaiting, p, Vec::new(), step, env))
            }
            ChallengeNameType::MfaSetup => {
                let allowed: Vec<MfaType> = mfa_list(p.get("MFAS_CAN_SETUP"))
                    .into_iter()
                    .filter(|m| matches!(m, MfaType::Totp | MfaType::Email))
                    .collect();
                match allowed.as_slice() {
                    [] => Err(AuthError::protocol(
                        "MFA_SETUP offers only SMS, which cannot be set up during sign-in; add a verified phone number first",
                    )),
                    [MfaType::Totp] => {
                        self.stage = Stage::AwaitAssociate;
                        Ok(self.associate())
                    }
                    [MfaType::Email] => {
                        Ok(self.ask(Awaiting::EmailSetup, p, Vec::new(), SignInStep::ContinueSignInWithEmailSetup, env))
                    }
                    _ => {
                        let step = SignInStep::ContinueSignInWithMfaSetupSelection { allowed_mfa_types: allowed };
                        Ok(self.ask(Awaiting::MfaSetupSelection, p, Vec::new(), step, env))
                    }
                }
            }
            ChallengeNameType::NewPasswordRequired => {
                let missing = p
                    .get("requiredAttributes")
                    .map(|v| cognito_wire::challenge::required_attributes(v))
                    .transpose()
                    .map_err(|err| AuthError::protocol(format!("requiredAttributes: {err}")))?
                    .unwrap_or_default();
                let step = SignInStep::ConfirmSignInWithNewPasswordRequired { missing_attributes: missing };
                // userAttributes echoes the user's current attributes; not kept.
                let kept: BTreeMap<String, String> = p.into_iter().filter(|(k, _)| k != "userAttributes").collect();
                Ok(self.ask(awaiting, kept, Vec::new(), step, env))
            }
            ChallengeNameType::CustomChallenge => {
                let step = SignInStep::ConfirmSignInWithCustomChallenge { additional_info: p.clone() };
                Ok(self.ask(awaiting, p, Vec::new(), step, env))
            }
            ChallengeNameType::SelectChallenge => {
                let available = reply.available_challenges;
                let step =
                    SignInStep::ContinueSignInWithFirstFactorSelection { available_challenges: available.clone() };
                Ok(self.ask(Awaiting::FirstFactor, p, available, step, env))
            }
            ChallengeNameType::Password | ChallengeNameType::PasswordSrp => {
                let srp = challenge == ChallengeNameType::PasswordSrp;
                Ok(self.ask(Awaiting::Password { srp }, p, Vec::new(), SignInStep::ConfirmSignInWithPassword, env))
            }
            ChallengeNameType::WebAuthn => Err(AuthError::protocol(
                "Cognito asked for WEB_AUTHN, which needs a platform authenticator this library does not drive",
            )),
            other => Err(AuthError::protocol(format!("challenge {other} is not handled"))),
        }
    }

    fn on_device_verifier(
        &mut self,
        reply: AuthReply,
        ephemeral: &ClientEphemeral,
        env: &Env,
    ) -> Result<Next, AuthError> {
        if let Some(session) = &reply.session {
            self.session = Some(SecretString::new(session.expose().clone()));
        }
        if reply.challenge_name != Some(ChallengeNameType::DevicePasswordVerifier) {
            return Err(AuthError::protocol("expected DEVICE_PASSWORD_VERIFIER after DEVICE_SRP_AUTH"));
        }
        let Some(device) = self.ctx.device.clone() else {
            return Err(AuthError::protocol("DEVICE_PASSWORD_VERIFIER without a device"));
        };
        let p = reply.parameters;
        let challenge = srp_challenge(&p)?;
        let timestamp = Timestamp::from_unix_seconds(u64::try_from(env.now_ms.div_euclid(1000)).unwrap_or(0))?;
        let identity =
            Identity::device(&device.device_group_key, &device.device_key, device.random_password.expose_secret())?;
        let signature = ephemeral.sign(&identity, &challenge, timestamp.as_str())?;
        let responses = params(&[
            ("PASSWORD_CLAIM_SECRET_BLOCK", challenge.secret_block),
            ("TIMESTAMP", timestamp.as_str()),
            ("PASSWORD_CLAIM_SIGNATURE", signature.as_str()),
            ("DEVICE_KEY", &device.device_key),
        ]);
        self.stage = Stage::AwaitAuth { srp: None };
        self.respond(ChallengeNameType::DevicePasswordVerifier, responses, false)
    }

    fn on_result(&mut self, result: AuthenticationResultType, env: &Env) -> Result<Next, AuthError> {
        let access_token = result
            .access_token
            .as_ref()
            .ok_or_else(|| AuthError::protocol("AuthenticationResult without an AccessToken"))?;
        let new_device = result.new_device_metadata.as_ref().and_then(|m| {
            Some((
                m.device_key.clone().filter(|k| !k.is_empty())?,
                m.device_group_key.clone().filter(|k| !k.is_empty())?,
            ))
        });
        if let Some((device_key, group_key)) = new_device {
            let password = DevicePassword::from_random(&env.entropy.device_password);
            let config = DeviceVerifierConfig::generate(
                &group_key,
                &device_key,
                password.expose_secret(),
                &env.entropy.device_salt,
            )?;
            let request = ConfirmDeviceRequest {
                access_token: Sensitive::new(access_token.expose().clone()),
                device_key: device_key.clone(),
                device_name: self.ctx.device_name.clone(),
                device_secret_verifier_config: Some(DeviceSecretVerifierConfigType {
                    password_verifier: Some(config.password_verifier().to_owned()),
                    salt: Some(config.salt().to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let device = DeviceMetadata::new(device_key, group_key, password.expose_secret());
            self.stage = Stage::AwaitConfirmDevice { result: Box::new(result), device };
            return Ok(Next::Send(Call::ConfirmDevice(request)));
        }
        let device = self.ctx.device.clone();
        self.finish(result, device, false, None)
    }

    fn finish(
        &mut self,
        result: AuthenticationResultType,
        device: Option<DeviceMetadata>,
        new_device: bool,
        device_error: Option<AuthError>,
    ) -> Result<Next, AuthError> {
        self.stage = Stage::Finished;
        self.password = None;
        self.resume = None;
        Ok(Next::Done(Box::new(SignedIn { result, device, new_device, device_error, username: self.username.clone() })))
    }
}

fn srp_challenge(p: &BTreeMap<String, String>) -> Result<Challenge<'_>, AuthError> {
    let get = |k: &str| {
        p.get(k).map(String::as_str).ok_or_else(|| AuthError::protocol(format!("verifier challenge without {k}")))
    };
    Ok(Challenge { srp_b: get("SRP_B")?, salt: get("SALT")?, secret_block: get("SECRET_BLOCK")? })
}

fn mfa_list(value: Option<&String>) -> Vec<MfaType> {
    value
        .and_then(|v| cognito_wire::challenge::mfa_types(v).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| MfaType::parse(c.as_str()))
        .collect()
}

fn join(types: &[MfaType]) -> String {
    types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}

fn reply_name(reply: &Reply) -> &'static str {
    match reply {
        Reply::Auth(_) => "auth reply",
        Reply::Associated(_) => "AssociateSoftwareToken reply",
        Reply::Verified(_) => "VerifySoftwareToken reply",
        Reply::DeviceConfirmed => "ConfirmDevice reply",
        Reply::Device(_) => "device lookup",
        Reply::Failed(_) => "failure",
    }
}
