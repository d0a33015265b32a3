//! Multi-factor authentication: pool MFA configuration, user preferences,
//! TOTP (RFC 6238) with AssociateSoftwareToken/VerifySoftwareToken (by
//! access token or by sign-in session), SMS and email codes, and the
//! SELECT_MFA_TYPE and MFA_SETUP challenges.

use std::collections::BTreeMap;

use cognito_wire::cognito_idp::{self as idp, ChallengeNameType, UserPoolMfaType};
use cognito_wire::{ErrorCode, Sensitive, challenge::keys};
use hmac::{KeyInit as _, Mac as _};
use zeroize::Zeroizing;

use crate::auth::Outcome;
use crate::engine::{Engine, Fail, OpResult, base64url, mask, random_bytes, six_digits};
use crate::state::{AuthSession, Message, Step, User};

/// TOTP time step and the steps either side accepted (Cognito's window).
const STEP: i64 = 30;
const WINDOW: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh TOTP secret: 20 random bytes in base32 (32 characters).
fn new_secret() -> String {
    let bytes = random_bytes::<20>();
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        for i in (0..8).rev() {
            out.push(BASE32[((n >> (i * 5)) & 31) as usize] as char);
        }
    }
    out
}

fn decode_base32(secret: &str) -> Option<Vec<u8>> {
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in secret.chars().filter(|c| *c != '=') {
        let v = BASE32.iter().position(|b| *b as char == c.to_ascii_uppercase())? as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// The RFC 6238 code of `secret` at time step `counter`.
pub(crate) fn totp_code(secret: &str, counter: u64) -> Option<String> {
    let key = decode_base32(secret)?;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let n = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    Some(format!("{:06}", n % 1_000_000))
}

/// The current TOTP code for a secret (for tests and the quickstart).
pub fn current_totp(secret: &str, unix_seconds: i64) -> Option<String> {
    totp_code(secret, (unix_seconds / STEP) as u64)
}

pub(crate) fn totp_matches(secret: &str, code: &str, now: i64) -> bool {
    (-WINDOW..=WINDOW).any(|d| {
        totp_code(secret, ((now / STEP) + d).max(0) as u64)
            .is_some_and(|expected| crate::engine::constant_time_eq(expected.as_bytes(), code.as_bytes()))
    })
}

pub(crate) fn mismatch() -> Fail {
    Fail::new(ErrorCode::CodeMismatchException, "Invalid code received for user")
}

/// A wrong first code from an authenticator (VerifySoftwareToken):
/// Cognito answers EnableSoftwareTokenMFAException here, not
/// CodeMismatchException, with this message (ministack says only "Code
/// mismatch"; Cognito's wording is the one followed).
pub(crate) fn setup_mismatch() -> Fail {
    Fail::new(ErrorCode::EnableSoftwareTokenMFAException, "Code mismatch and fail enable Software Token MFA")
}

impl Engine {
    /// The MFA factors `user` has enabled that the pool offers.
    fn enabled_factors(&self, pool_id: &str, user: &User) -> OpResult<Vec<ChallengeNameType>> {
        let state = self.lock();
        let pool = Engine::pool(&state, pool_id)?;
        let mut out = Vec::new();
        if pool.factors.sms && user.mfa.sms && user.attributes.contains_key("phone_number") {
            out.push(ChallengeNameType::SmsMfa);
        }
        if pool.factors.totp && user.mfa.totp && user.mfa.totp_secret.is_some() {
            out.push(ChallengeNameType::SoftwareTokenMfa);
        }
        if pool.factors.email && user.mfa.email && user.attributes.contains_key("email") {
            out.push(ChallengeNameType::EmailOtp);
        }
        Ok(out)
    }

    /// After a correct password: the MFA challenge due, if any.
    pub(crate) fn mfa_step(&self, pool_id: &str, client_id: &str, key: &str, user: &User) -> OpResult<Option<Outcome>> {
        let (mode, offered) = {
            let state = self.lock();
            let pool = Engine::pool(&state, pool_id)?;
            let mode = pool.config.mfa_configuration.clone().unwrap_or(UserPoolMfaType::Off);
            let mut offered = Vec::new();
            if pool.factors.totp {
                offered.push(ChallengeNameType::SoftwareTokenMfa);
            }
            if pool.factors.sms {
                offered.push(ChallengeNameType::SmsMfa);
            }
            if pool.factors.email {
                offered.push(ChallengeNameType::EmailOtp);
            }
            (mode, offered)
        };
        if mode == UserPoolMfaType::Off {
            return Ok(None);
        }
        let enabled = self.enabled_factors(pool_id, user)?;
        if enabled.is_empty() {
            if mode != UserPoolMfaType::On {
                return Ok(None);
            }
            // MFA is required and the user has none: set one up.
            let choices: Vec<ChallengeNameType> = offered
                .into_iter()
                .filter(|c| *c != ChallengeNameType::SmsMfa || user.attributes.contains_key("phone_number"))
                .collect();
            if choices.is_empty() {
                return Err(Fail::new(
                    ErrorCode::MFAMethodNotFoundException,
                    "No MFA method is available for the user.",
                ));
            }
            let mut params = BTreeMap::new();
            params.insert(keys::MFAS_CAN_SETUP.to_owned(), cognito_wire::challenge::encode_mfa_types(&choices));
            params.insert(keys::USER_ID_FOR_SRP.to_owned(), user.username.clone());
            let session =
                self.new_session(pool_id, client_id, key, Step::MfaSetup { choices, secret: None, verified: false });
            return Ok(Some(Outcome {
                challenge_name: Some(ChallengeNameType::MfaSetup),
                challenge_parameters: params,
                session: Some(session),
                result: None,
                available: None,
            }));
        }
        let preferred = user.mfa.preferred.as_deref().map(ChallengeNameType::from).filter(|p| enabled.contains(p));
        let chosen = match (preferred, enabled.as_slice()) {
            (Some(p), _) => p,
            (None, [only]) => only.clone(),
            (None, _) => {
                let mut params = BTreeMap::new();
                params.insert(keys::MFAS_CAN_CHOOSE.to_owned(), cognito_wire::challenge::encode_mfa_types(&enabled));
                params.insert(keys::USER_ID_FOR_SRP.to_owned(), user.username.clone());
                let session = self.new_session(pool_id, client_id, key, Step::SelectMfa { choices: enabled });
                return Ok(Some(Outcome {
                    challenge_name: Some(ChallengeNameType::SelectMfaType),
                    challenge_parameters: params,
                    session: Some(session),
                    result: None,
                    available: None,
                }));
            }
        };
        self.issue_mfa_challenge(pool_id, client_id, key, user, chosen).map(Some)
    }

    pub(crate) fn new_session(&self, pool_id: &str, client_id: &str, key: &str, step: Step) -> String {
        let expires = self.now() + 180;
        self.lock().add_session(pool_id, client_id, key, step, expires)
    }

    /// Issues SMS_MFA, SOFTWARE_TOKEN_MFA or EMAIL_OTP (sending the code for the first and last).
    pub(crate) fn issue_mfa_challenge(
        &self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        user: &User,
        challenge: ChallengeNameType,
    ) -> OpResult<Outcome> {
        let mut params = BTreeMap::new();
        params.insert(keys::USER_ID_FOR_SRP.to_owned(), user.username.clone());
        let code = match challenge {
            ChallengeNameType::SmsMfa | ChallengeNameType::EmailOtp => {
                let by_sms = challenge == ChallengeNameType::SmsMfa;
                let code = self.send_code(pool_id, user, by_sms, "mfa", "Your authentication code is", &mut params);
                Some(Zeroizing::new(code))
            }
            _ => None,
        };
        let session = self.new_session(pool_id, client_id, key, Step::Mfa { challenge: challenge.clone(), code });
        Ok(Outcome {
            challenge_name: Some(challenge),
            challenge_parameters: params,
            session: Some(session),
            result: None,
            available: None,
        })
    }

    /// Sends a six-digit code to the user's phone (`by_sms`) or email,
    /// records it in the outbox as `kind`, and adds the masked delivery
    /// parameters to `params`. Returns the code.
    pub(crate) fn send_code(
        &self,
        pool_id: &str,
        user: &User,
        by_sms: bool,
        kind: &str,
        text: &str,
        params: &mut BTreeMap<String, String>,
    ) -> String {
        let (attr, medium) = if by_sms { ("phone_number", "SMS") } else { ("email", "EMAIL") };
        let destination = user.attributes.get(attr).cloned().unwrap_or_default();
        let code = six_digits();
        let now = self.now();
        {
            let mut state = self.lock();
            self.send(
                &mut state,
                Message {
                    pool_id: pool_id.to_owned(),
                    username: user.username.clone(),
                    kind: kind.into(),
                    medium: medium.into(),
                    destination: destination.clone(),
                    code: code.clone(),
                    text: format!("{text} {code}"),
                    time: now,
                },
            );
        }
        params.insert(keys::CODE_DELIVERY_DELIVERY_MEDIUM.to_owned(), medium.into());
        params.insert(keys::CODE_DELIVERY_DESTINATION.to_owned(), mask(&destination));
        code
    }

    /// Answers to the MFA steps; `None` when the step is not an MFA step.
    pub(crate) fn answer_mfa(
        &self,
        session: Option<&str>,
        auth: AuthSession,
        challenge: &ChallengeNameType,
        responses: &BTreeMap<String, String>,
        user: User,
    ) -> OpResult<Outcome> {
        let now = self.now();
        let AuthSession { pool_id, client_id, user_key, expires, step } = auth;
        let auth = AuthSession { pool_id, client_id, user_key, expires, step: Step::NewPasswordRequired };
        match (challenge, step) {
            (answered, Step::Mfa { challenge: pending, code }) if *answered == pending => {
                let key = match pending {
                    ChallengeNameType::SmsMfa => keys::SMS_MFA_CODE,
                    ChallengeNameType::EmailOtp => keys::EMAIL_OTP_CODE,
                    _ => keys::SOFTWARE_TOKEN_MFA_CODE,
                };
                let given =
                    responses.get(key).ok_or_else(|| Fail::invalid(format!("Missing required parameter {key}")))?;
                let ok = match &code {
                    Some(expected) => crate::engine::constant_time_eq(expected.as_bytes(), given.as_bytes()),
                    None => user.mfa.totp_secret.as_deref().is_some_and(|s| totp_matches(s, given, now)),
                };
                if !ok {
                    // The same session may try again until it expires, as with Cognito.
                    if let Some(session) = session {
                        let retry = AuthSession { step: Step::Mfa { challenge: pending, code }, ..auth };
                        self.lock().sessions.insert(session.to_owned(), retry);
                    }
                    return Err(mismatch());
                }
                if pending == ChallengeNameType::EmailOtp && !user.mfa.email {
                    // Email set up during MFA_SETUP: enable it now that the code came back.
                    self.update_user_mfa(&auth.pool_id, &auth.user_key, |m| m.email = true)?;
                }
                let result = self.issue_tokens(
                    &auth.pool_id,
                    &auth.client_id,
                    &auth.user_key,
                    now,
                    responses.get(keys::DEVICE_KEY).map(String::as_str),
                )?;
                Ok(Outcome {
                    challenge_name: None,
                    challenge_parameters: BTreeMap::new(),
                    session: None,
                    result: Some(result),
                    available: None,
                })
            }
            (ChallengeNameType::SelectMfaType, Step::SelectMfa { choices }) => {
                let answer = responses.get(keys::ANSWER).map(|a| ChallengeNameType::from(a.as_str()));
                match answer {
                    Some(a) if choices.contains(&a) => {
                        self.issue_mfa_challenge(&auth.pool_id, &auth.client_id, &auth.user_key, &user, a)
                    }
                    _ => Err(Fail::invalid("The answer is not one of the MFA types offered.")),
                }
            }
            (ChallengeNameType::MfaSetup, Step::MfaSetup { choices, secret, verified }) => {
                if verified {
                    self.enable_totp(&auth.pool_id, &auth.user_key, secret.map(|s| s.to_string()))?;
                    let result = self.issue_tokens(
                        &auth.pool_id,
                        &auth.client_id,
                        &auth.user_key,
                        now,
                        responses.get(keys::DEVICE_KEY).map(String::as_str),
                    )?;
                    return Ok(Outcome {
                        challenge_name: None,
                        challenge_parameters: BTreeMap::new(),
                        session: None,
                        result: Some(result),
                        available: None,
                    });
                }
                if let Some(email) =
                    responses.get(keys::EMAIL).filter(|_| choices.contains(&ChallengeNameType::EmailOtp))
                {
                    let mut state = self.lock();
                    let u = Engine::pool_mut(&mut state, &auth.pool_id)?
                        .users
                        .get_mut(&auth.user_key)
                        .ok_or_else(Fail::no_user)?;
                    u.attributes.insert("email".into(), email.clone());
                    let user = u.clone();
                    drop(state);
                    return self.issue_mfa_challenge(
                        &auth.pool_id,
                        &auth.client_id,
                        &auth.user_key,
                        &user,
                        ChallengeNameType::EmailOtp,
                    );
                }
                Err(Fail::invalid("MFA_SETUP needs a verified software token (VerifySoftwareToken) or an EMAIL."))
            }
            (other, _) => Err(Fail::invalid(format!("Challenge {other} is not the one pending for this session"))),
        }
    }

    /// MFA_SETUP done with a verified authenticator: TOTP becomes an
    /// enabled factor of the user, with `secret`.
    pub(crate) fn enable_totp(&self, pool_id: &str, key: &str, secret: Option<String>) -> OpResult<()> {
        self.update_user_mfa(pool_id, key, |m| {
            m.totp = true;
            m.totp_secret = secret;
        })
    }

    fn update_user_mfa(&self, pool_id: &str, key: &str, f: impl FnOnce(&mut crate::state::UserMfa)) -> OpResult<()> {
        let mut state = self.lock();
        let user = Engine::pool_mut(&mut state, pool_id)?.users.get_mut(key).ok_or_else(Fail::no_user)?;
        f(&mut user.mfa);
        user.modified = self.now();
        drop(state);
        self.mark_dirty();
        Ok(())
    }

    pub(crate) fn associate_software_token(
        &self,
        input: idp::AssociateSoftwareTokenRequest,
    ) -> OpResult<idp::AssociateSoftwareTokenResponse> {
        let secret = new_secret();
        if let Some(token) = &input.access_token {
            let (pool_id, key) = self.authorize(token.expose())?;
            let s = secret.clone();
            self.update_user_mfa(&pool_id, &key, |m| m.pending_totp_secret = Some(s))?;
            return Ok(idp::AssociateSoftwareTokenResponse { secret_code: Some(secret.into()), ..Default::default() });
        }
        let session =
            input.session.as_ref().ok_or_else(|| Fail::invalid("An AccessToken or a Session is required."))?;
        let mut state = self.lock();
        let mut auth = state
            .sessions
            .remove(session.expose())
            .ok_or_else(|| Fail::not_authorized("Invalid session for the user."))?;
        if auth.expires < self.now() {
            return Err(Fail::not_authorized("Invalid session for the user, session is expired."));
        }
        match &mut auth.step {
            Step::MfaSetup { choices, secret: slot, verified }
                if choices.contains(&ChallengeNameType::SoftwareTokenMfa) =>
            {
                *slot = Some(Zeroizing::new(secret.clone()));
                *verified = false;
            }
            _ => return Err(Fail::not_authorized("Invalid session for the user.")),
        }
        let next = base64url(&random_bytes::<48>());
        state.sessions.insert(next.clone(), auth);
        Ok(idp::AssociateSoftwareTokenResponse {
            secret_code: Some(secret.into()),
            session: Some(Sensitive::new(next)),
            ..Default::default()
        })
    }

    pub(crate) fn verify_software_token(
        &self,
        input: idp::VerifySoftwareTokenRequest,
    ) -> OpResult<idp::VerifySoftwareTokenResponse> {
        let now = self.now();
        let code = input.user_code.expose().clone();
        if let Some(token) = &input.access_token {
            let (pool_id, key) = self.authorize(token.expose())?;
            let pending = {
                let state = self.lock();
                let user = Engine::pool(&state, &pool_id)?.users.get(&key).ok_or_else(Fail::no_user)?;
                user.mfa.pending_totp_secret.clone()
            };
            let pending = pending.ok_or_else(|| Fail::invalid("Call AssociateSoftwareToken first."))?;
            if !totp_matches(&pending, &code, now) {
                return Err(setup_mismatch());
            }
            // Verified: the token becomes an enabled MFA method for the user.
            self.update_user_mfa(&pool_id, &key, |m| {
                m.totp_secret = m.pending_totp_secret.take();
                m.totp = true;
            })?;
            return Ok(idp::VerifySoftwareTokenResponse {
                status: Some(idp::VerifySoftwareTokenResponseType::Success),
                ..Default::default()
            });
        }
        let session =
            input.session.as_ref().ok_or_else(|| Fail::invalid("An AccessToken or a Session is required."))?;
        let mut state = self.lock();
        let mut auth = state
            .sessions
            .remove(session.expose())
            .ok_or_else(|| Fail::not_authorized("Invalid session for the user."))?;
        let ok = match &mut auth.step {
            Step::MfaSetup { secret: Some(secret), verified, .. } => {
                let ok = totp_matches(secret, &code, now);
                *verified |= ok;
                ok
            }
            _ => return Err(Fail::not_authorized("Invalid session for the user.")),
        };
        if !ok {
            // The same session stays usable for another try (clients keep
            // it: Amplify retries verifyTOTPSetup on it).
            state.sessions.insert(session.expose().clone(), auth);
            return Err(setup_mismatch());
        }
        let next = base64url(&random_bytes::<48>());
        state.sessions.insert(next.clone(), auth);
        Ok(idp::VerifySoftwareTokenResponse {
            status: Some(idp::VerifySoftwareTokenResponseType::Success),
            session: Some(Sensitive::new(next)),
            ..Default::default()
        })
    }

    fn apply_preferences(
        &self,
        pool_id: &str,
        key: &str,
        sms: Option<&idp::SMSMfaSettingsType>,
        totp: Option<&idp::SoftwareTokenMfaSettingsType>,
        email: Option<&idp::EmailMfaSettingsType>,
    ) -> OpResult<()> {
        let user = {
            let state = self.lock();
            Engine::pool(&state, pool_id)?.users.get(key).cloned().ok_or_else(Fail::no_user)?
        };
        let mut mfa = user.mfa.clone();
        let apply =
            |name: &str, enabled: Option<bool>, preferred: Option<bool>, flag: &mut bool, pref: &mut Option<String>| {
                if let Some(e) = enabled {
                    *flag = e;
                }
                if preferred == Some(true) {
                    *pref = Some(name.to_owned());
                } else if preferred == Some(false) && pref.as_deref() == Some(name) {
                    *pref = None;
                }
            };
        if let Some(sms) = sms {
            if sms.enabled == Some(true) && !user.attributes.contains_key("phone_number") {
                return Err(Fail::invalid("User does not have a phone number for SMS MFA."));
            }
            apply("SMS_MFA", sms.enabled, sms.preferred_mfa, &mut mfa.sms, &mut mfa.preferred);
        }
        if let Some(totp) = totp {
            if totp.enabled == Some(true) && mfa.totp_secret.is_none() {
                return Err(Fail::invalid("User has not verified software token mfa"));
            }
            apply("SOFTWARE_TOKEN_MFA", totp.enabled, totp.preferred_mfa, &mut mfa.totp, &mut mfa.preferred);
        }
        if let Some(email) = email {
            if email.enabled == Some(true) && !user.attributes.contains_key("email") {
                return Err(Fail::invalid("User does not have an email address for email MFA."));
            }
            apply("EMAIL_OTP", email.enabled, email.preferred_mfa, &mut mfa.email, &mut mfa.preferred);
        }
        // A preferred factor must be enabled.
        let (s, t, e) = (mfa.sms, mfa.totp, mfa.email);
        mfa.preferred = mfa.preferred.filter(|p| match p.as_str() {
            "SMS_MFA" => s,
            "SOFTWARE_TOKEN_MFA" => t,
            "EMAIL_OTP" => e,
            _ => false,
        });
        self.update_user_mfa(pool_id, key, |m| *m = mfa)
    }

    pub(crate) fn set_user_mfa_preference(
        &self,
        input: idp::SetUserMFAPreferenceRequest,
    ) -> OpResult<idp::SetUserMFAPreferenceResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        self.apply_preferences(
            &pool_id,
            &key,
            input.sms_mfa_settings.as_ref(),
            input.software_token_mfa_settings.as_ref(),
            input.email_mfa_settings.as_ref(),
        )?;
        Ok(Default::default())
    }

    pub(crate) fn admin_set_user_mfa_preference(
        &self,
        input: idp::AdminSetUserMFAPreferenceRequest,
    ) -> OpResult<idp::AdminSetUserMFAPreferenceResponse> {
        let key = {
            let state = self.lock();
            Engine::pool(&state, &input.user_pool_id)?.find_key(input.username.expose()).ok_or_else(Fail::no_user)?
        };
        self.apply_preferences(
            &input.user_pool_id,
            &key,
            input.sms_mfa_settings.as_ref(),
            input.software_token_mfa_settings.as_ref(),
            input.email_mfa_settings.as_ref(),
        )?;
        Ok(Default::default())
    }

    /// `UserMFASettingList` and `PreferredMfaSetting` for GetUser.
    pub(crate) fn mfa_settings(user: &User) -> (Option<Vec<String>>, Option<String>) {
        let mut list = Vec::new();
        if user.mfa.sms {
            list.push("SMS_MFA".to_owned());
        }
        if user.mfa.totp {
            list.push("SOFTWARE_TOKEN_MFA".to_owned());
        }
        if user.mfa.email {
            list.push("EMAIL_OTP".to_owned());
        }
        ((!list.is_empty()).then_some(list), user.mfa.preferred.clone())
    }

    pub(crate) fn set_user_pool_mfa_config(
        &self,
        input: idp::SetUserPoolMfaConfigRequest,
    ) -> OpResult<idp::SetUserPoolMfaConfigResponse> {
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        if input.sms_mfa_configuration.is_some() {
            pool.factors.sms = true;
        }
        if let Some(t) = &input.software_token_mfa_configuration {
            pool.factors.totp = t.enabled == Some(true);
        }
        if input.email_mfa_configuration.is_some() {
            pool.factors.email = true;
        }
        if let Some(mode) = &input.mfa_configuration {
            if *mode != UserPoolMfaType::Off && !(pool.factors.sms || pool.factors.totp || pool.factors.email) {
                return Err(Fail::invalid("At least one MFA factor must be enabled to turn MFA on."));
            }
            pool.config.mfa_configuration = Some(mode.clone());
        }
        let out = Self::mfa_config_of(pool);
        drop(state);
        self.mark_dirty();
        Ok(idp::SetUserPoolMfaConfigResponse {
            mfa_configuration: out.mfa_configuration,
            sms_mfa_configuration: out.sms_mfa_configuration,
            software_token_mfa_configuration: out.software_token_mfa_configuration,
            email_mfa_configuration: out.email_mfa_configuration,
            ..Default::default()
        })
    }

    fn mfa_config_of(pool: &crate::state::Pool) -> idp::GetUserPoolMfaConfigResponse {
        idp::GetUserPoolMfaConfigResponse {
            mfa_configuration: pool.config.mfa_configuration.clone(),
            sms_mfa_configuration: pool.factors.sms.then(Default::default),
            software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                enabled: Some(pool.factors.totp),
                ..Default::default()
            }),
            email_mfa_configuration: pool.factors.email.then(Default::default),
            ..Default::default()
        }
    }

    pub(crate) fn get_user_pool_mfa_config(
        &self,
        input: idp::GetUserPoolMfaConfigRequest,
    ) -> OpResult<idp::GetUserPoolMfaConfigResponse> {
        let state = self.lock();
        Ok(Self::mfa_config_of(Engine::pool(&state, &input.user_pool_id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890" (base32 below), 8 digits truncated to 6.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(current_totp(secret, 59).unwrap(), "287082");
        assert_eq!(current_totp(secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(current_totp(secret, 1_234_567_890).unwrap(), "005924");
        assert_eq!(current_totp(secret, 2_000_000_000).unwrap(), "279037");
    }

    #[test]
    fn secrets_round_trip_and_windows() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        assert_eq!(decode_base32(&s).unwrap().len(), 20);
        let now = 1_763_850_000;
        let code = current_totp(&s, now).unwrap();
        assert!(totp_matches(&s, &code, now));
        assert!(totp_matches(&s, &code, now + 30));
        assert!(!totp_matches(&s, &code, now + 95));
        assert!(decode_base32("not base32!").is_none());
    }
}
