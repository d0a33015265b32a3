//! Choice-based sign-in (`USER_AUTH`): SELECT_CHALLENGE with
//! `AvailableChallenges`, `PREFERRED_CHALLENGE`, the PASSWORD and
//! PASSWORD_SRP first factors, EMAIL_OTP / SMS_OTP one-time passwords, the
//! sign-up `Session` hand-off for auto sign-in, and GetUserAuthFactors.
//! WEB_AUTHN (passkeys) is not implemented.

use std::collections::BTreeMap;

use cognito_wire::cognito_idp::{self as idp, AuthFactorType, ChallengeNameType, UserStatusType};
use cognito_wire::{ErrorCode, Sensitive, challenge::keys};
use zeroize::Zeroizing;

use crate::auth::{Outcome, check_secret_hash, password_matches};
use crate::engine::{Engine, Fail, OpResult};
use crate::state::{AfterVerifier, AuthSession, Pool, Step, User};

fn web_authn_unsupported() -> Fail {
    Fail::invalid("WEB_AUTHN is not supported by local-pool")
}

fn invalid_session() -> Fail {
    Fail::not_authorized("Invalid session for the user.")
}

/// `Policies.SignInPolicy.AllowedFirstAuthFactors` (PASSWORD only without it).
pub(crate) fn first_factors(pool: &Pool) -> Vec<AuthFactorType> {
    pool.config
        .policies
        .as_ref()
        .and_then(|p| p.sign_in_policy.as_ref())
        .and_then(|s| s.allowed_first_auth_factors.clone())
        .unwrap_or_else(|| vec![AuthFactorType::Password])
}

fn verified(user: &User, attr: &str) -> bool {
    user.attributes.contains_key(attr) && user.attributes.get(&format!("{attr}_verified")).is_some_and(|v| v == "true")
}

/// The first factors `user` can use in `pool`, as challenge names.
fn available_for(pool: &Pool, user: &User) -> Vec<ChallengeNameType> {
    let allowed = first_factors(pool);
    let mut out = Vec::new();
    if user.password.is_some() && allowed.contains(&AuthFactorType::Password) {
        out.push(ChallengeNameType::Password);
        out.push(ChallengeNameType::PasswordSrp);
    }
    let confirmed = user.status == UserStatusType::Confirmed;
    if confirmed && allowed.contains(&AuthFactorType::EmailOtp) && verified(user, "email") {
        out.push(ChallengeNameType::EmailOtp);
    }
    if confirmed && allowed.contains(&AuthFactorType::SmsOtp) && verified(user, "phone_number") {
        out.push(ChallengeNameType::SmsOtp);
    }
    out
}

/// Whether a pool lets users sign up without a password.
pub(crate) fn passwordless_pool(pool: &Pool) -> bool {
    let allowed = first_factors(pool);
    allowed.contains(&AuthFactorType::EmailOtp) || allowed.contains(&AuthFactorType::SmsOtp)
}

impl Engine {
    /// Whether the app client may use USER_AUTH (and so gets sign-up sessions).
    pub(crate) fn client_allows_user_auth(pool: &Pool, client_id: &str) -> bool {
        pool.clients
            .get(client_id)
            .and_then(|c| c.explicit_auth_flows.as_ref())
            .is_some_and(|flows| flows.iter().any(|f| f.as_str() == "ALLOW_USER_AUTH"))
    }

    /// InitiateAuth USER_AUTH.
    pub(crate) fn start_user_auth(
        &self,
        pool_id: &str,
        client_id: &str,
        params: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> OpResult<Outcome> {
        let param = |k: &str| params.get(k).map(String::as_str);
        let login = param(keys::USERNAME).ok_or_else(|| Fail::invalid("Missing required parameter USERNAME"))?;
        if let Some(session) = session {
            return self.sign_in_after_sign_up(pool_id, client_id, login, session, params);
        }
        let found = self.user_for_sign_in(pool_id, login)?;
        let (key, user, available) = match found {
            Some((key, user)) => {
                let state = self.lock();
                let pool = Engine::pool(&state, pool_id)?;
                check_secret_hash(pool, client_id, param(keys::SECRET_HASH), &[login, &user.username])?;
                if user.status == UserStatusType::Unconfirmed {
                    return Err(Fail::new(ErrorCode::UserNotConfirmedException, "User is not confirmed."));
                }
                if user.status == UserStatusType::ResetRequired {
                    return Err(Fail::new(
                        ErrorCode::PasswordResetRequiredException,
                        "Password reset required for the user",
                    ));
                }
                let available = available_for(pool, &user);
                (key, Some(user), available)
            }
            // A hidden unknown user is offered the password factors, which then fail.
            None if self.prevents_existence_errors(pool_id, client_id) => {
                (String::new(), None, vec![ChallengeNameType::Password, ChallengeNameType::PasswordSrp])
            }
            None => return Err(Fail::no_user()),
        };
        let preferred = match param(keys::PREFERRED_CHALLENGE) {
            None | Some("") => None,
            Some("WEB_AUTHN") => return Err(web_authn_unsupported()),
            Some(p @ ("PASSWORD" | "PASSWORD_SRP" | "EMAIL_OTP" | "SMS_OTP")) => Some(ChallengeNameType::from(p)),
            Some(other) => return Err(Fail::invalid(format!("Invalid PREFERRED_CHALLENGE: {other}"))),
        };
        let device_key = param(keys::DEVICE_KEY);
        match preferred {
            Some(c) if available.contains(&c) => match c {
                ChallengeNameType::Password => {
                    let password =
                        param(keys::PASSWORD).ok_or_else(|| Fail::invalid("Missing required parameter PASSWORD"))?;
                    self.password_first_factor(pool_id, client_id, &key, user.as_ref(), password, device_key)
                }
                ChallengeNameType::PasswordSrp => {
                    let srp_a = param(keys::SRP_A).ok_or_else(|| Fail::invalid("Missing required parameter SRP_A"))?;
                    self.start_srp(pool_id, client_id, login, srp_a, param(keys::SECRET_HASH), AfterVerifier::SignIn)
                }
                _ => match &user {
                    Some(user) => self.issue_otp(pool_id, client_id, &key, user, c),
                    None => Err(Fail::not_authorized("Incorrect username or password.")),
                },
            },
            // No preference, or one the user cannot use: let them choose.
            _ => {
                let step = Step::SelectChallenge { login: login.to_owned(), available: available.clone() };
                let session = self.new_session(pool_id, client_id, &key, step);
                let mut outcome = Outcome::challenge(ChallengeNameType::SelectChallenge, BTreeMap::new(), session);
                outcome.available = Some(available);
                Ok(outcome)
            }
        }
    }

    fn password_first_factor(
        &self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        user: Option<&User>,
        password: &str,
        device_key: Option<&str>,
    ) -> OpResult<Outcome> {
        let Some(user) = user else { return Err(Fail::not_authorized("Incorrect username or password.")) };
        if !password_matches(pool_id, user, password) {
            self.record_failure(pool_id, key);
            return Err(Fail::not_authorized("Incorrect username or password."));
        }
        self.after_password(pool_id, client_id, key, user, device_key)
    }

    /// Sends a one-time password and issues EMAIL_OTP or SMS_OTP.
    fn issue_otp(
        &self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        user: &User,
        challenge: ChallengeNameType,
    ) -> OpResult<Outcome> {
        let mut params = BTreeMap::new();
        let by_sms = challenge == ChallengeNameType::SmsOtp;
        let code = self.send_code(pool_id, user, by_sms, "otp", "Your sign-in code is", &mut params);
        params.insert(keys::USER_ID_FOR_SRP.to_owned(), user.username.clone());
        let step = Step::Otp { challenge: challenge.clone(), code: Zeroizing::new(code) };
        let session = self.new_session(pool_id, client_id, key, step);
        Ok(Outcome::challenge(challenge, params, session))
    }

    /// A first factor that satisfies MFA by itself (one-time password,
    /// sign-up session, custom challenge): device SRP for a confirmed
    /// device, then tokens.
    pub(crate) fn finish_first_factor(
        &self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        device_key: Option<&str>,
    ) -> OpResult<Outcome> {
        let user = {
            let state = self.lock();
            Engine::pool(&state, pool_id)?.users.get(key).cloned().ok_or_else(Fail::no_user)?
        };
        if !user.enabled {
            return Err(Fail::not_authorized("User is disabled."));
        }
        self.reset_failures(pool_id, key);
        if let Some(step) = self.device_step(pool_id, client_id, key, &user, device_key, true)? {
            return Ok(step);
        }
        let result = self.issue_tokens(pool_id, client_id, key, self.now(), device_key)?;
        Ok(Outcome::tokens(result))
    }

    /// InitiateAuth USER_AUTH with the `Session` of ConfirmSignUp.
    fn sign_in_after_sign_up(
        &self,
        pool_id: &str,
        client_id: &str,
        login: &str,
        session: &str,
        params: &BTreeMap<String, String>,
    ) -> OpResult<Outcome> {
        let key = {
            let mut state = self.lock();
            let auth = state.sessions.remove(session).ok_or_else(invalid_session)?;
            if !matches!(auth.step, Step::SignedUp) || auth.client_id != client_id || auth.pool_id != pool_id {
                return Err(invalid_session());
            }
            if auth.expires < self.now() {
                return Err(Fail::not_authorized("Invalid session for the user, session is expired."));
            }
            let pool = Engine::pool(&state, pool_id)?;
            if pool.find_key(login).as_deref() != Some(auth.user_key.as_str()) {
                return Err(invalid_session());
            }
            let user = pool.users.get(&auth.user_key).ok_or_else(Fail::no_user)?;
            check_secret_hash(
                pool,
                client_id,
                params.get(keys::SECRET_HASH).map(String::as_str),
                &[login, &user.username],
            )?;
            auth.user_key
        };
        self.finish_first_factor(pool_id, client_id, &key, params.get(keys::DEVICE_KEY).map(String::as_str))
    }

    /// Answers to SELECT_CHALLENGE and to the one-time-password challenges.
    pub(crate) fn answer_user_auth(
        &self,
        session: Option<&str>,
        auth: AuthSession,
        challenge: &ChallengeNameType,
        responses: &BTreeMap<String, String>,
        user: Option<User>,
    ) -> OpResult<Outcome> {
        let AuthSession { pool_id, client_id, user_key, expires, step } = auth;
        let device_key = responses.get(keys::DEVICE_KEY).map(String::as_str);
        let response = |k: &str| {
            responses.get(k).map(String::as_str).ok_or_else(|| Fail::invalid(format!("Missing required parameter {k}")))
        };
        match (challenge, step) {
            (ChallengeNameType::SelectChallenge, Step::SelectChallenge { login, available }) => {
                let answer = ChallengeNameType::from(response(keys::ANSWER)?);
                if answer == ChallengeNameType::WebAuthn {
                    return Err(web_authn_unsupported());
                }
                if !available.contains(&answer) {
                    // The session stays usable for a valid answer.
                    if let Some(session) = session {
                        let step = Step::SelectChallenge { login, available };
                        let retry = AuthSession {
                            pool_id: pool_id.clone(),
                            client_id: client_id.clone(),
                            user_key: user_key.clone(),
                            expires,
                            step,
                        };
                        self.lock().sessions.insert(session.to_owned(), retry);
                    }
                    return Err(Fail::invalid(format!("The challenge {answer} is not available for this user.")));
                }
                match answer {
                    ChallengeNameType::Password => self.password_first_factor(
                        &pool_id,
                        &client_id,
                        &user_key,
                        user.as_ref(),
                        response(keys::PASSWORD)?,
                        device_key,
                    ),
                    ChallengeNameType::PasswordSrp => {
                        let login = user.as_ref().map_or(login, |u| u.username.clone());
                        self.start_srp(
                            &pool_id,
                            &client_id,
                            &login,
                            response(keys::SRP_A)?,
                            responses.get(keys::SECRET_HASH).map(String::as_str),
                            AfterVerifier::SignIn,
                        )
                    }
                    _ => {
                        let user = user.ok_or_else(|| Fail::not_authorized("Incorrect username or password."))?;
                        self.issue_otp(&pool_id, &client_id, &user_key, &user, answer)
                    }
                }
            }
            (answered, Step::Otp { challenge: pending, code }) if *answered == pending => {
                let field =
                    if pending == ChallengeNameType::SmsOtp { keys::SMS_OTP_CODE } else { keys::EMAIL_OTP_CODE };
                let given = response(field)?;
                if !crate::engine::constant_time_eq(code.as_bytes(), given.as_bytes()) {
                    // The same session may try again until it expires.
                    if let Some(session) = session {
                        let retry = AuthSession {
                            pool_id,
                            client_id,
                            user_key,
                            expires,
                            step: Step::Otp { challenge: pending, code },
                        };
                        self.lock().sessions.insert(session.to_owned(), retry);
                    }
                    return Err(Fail::new(ErrorCode::CodeMismatchException, "Invalid code received for user"));
                }
                self.finish_first_factor(&pool_id, &client_id, &user_key, device_key)
            }
            (other, _) => Err(Fail::invalid(format!("Challenge {other} is not the one pending for this session"))),
        }
    }

    pub(crate) fn get_user_auth_factors(
        &self,
        input: idp::GetUserAuthFactorsRequest,
    ) -> OpResult<idp::GetUserAuthFactorsResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let state = self.lock();
        let pool = Engine::pool(&state, &pool_id)?;
        let user = pool.users.get(&key).ok_or_else(Fail::no_user)?;
        let (list, preferred) = Engine::mfa_settings(user);
        let factors: Vec<AuthFactorType> = available_for(pool, user)
            .into_iter()
            .filter_map(|c| match c {
                ChallengeNameType::Password => Some(AuthFactorType::Password),
                ChallengeNameType::EmailOtp => Some(AuthFactorType::EmailOtp),
                ChallengeNameType::SmsOtp => Some(AuthFactorType::SmsOtp),
                _ => None,
            })
            .collect();
        Ok(idp::GetUserAuthFactorsResponse {
            username: Sensitive::new(user.username.clone()),
            preferred_mfa_setting: preferred,
            user_mfa_setting_list: list,
            configured_user_auth_factors: Some(factors),
            ..Default::default()
        })
    }
}
