//! Sign-in (USER_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH,
//! REFRESH_TOKEN_AUTH, NEW_PASSWORD_REQUIRED), token issue and revocation.
//! USER_AUTH is in `passwordless.rs`, CUSTOM_AUTH in `custom.rs`.

use std::collections::BTreeMap;

use cognito_wire::cognito_idp::{self as idp, AuthFlowType, ChallengeNameType, UserStatusType};
use cognito_wire::{ErrorCode, Sensitive, challenge::keys};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::engine::{Engine, Fail, OpResult, base64url, claims_map, random_bytes, uuid_v4};
use crate::state::{AfterVerifier, AuthSession, Pool, RefreshRecord, Step, User};
use crate::tokens::OAuthClaims;

/// Failed sign-ins before the lockout starts (Cognito: five).
const LOCKOUT_AFTER: u32 = 5;

/// Checks `SECRET_HASH` when the client has a secret; any of `usernames`
/// may have been hashed (the alias typed or the internal username).
pub(crate) fn check_secret_hash(pool: &Pool, client_id: &str, given: Option<&str>, usernames: &[&str]) -> OpResult<()> {
    let Some(client) = pool.clients.get(client_id) else {
        return Err(Fail::no_client(client_id));
    };
    let Some(secret) = client.client_secret.as_ref().map(|s| s.expose().clone()) else {
        return Ok(());
    };
    let fail = || Fail::not_authorized(format!("Unable to verify secret hash for client {client_id}"));
    let given = given.ok_or_else(fail)?;
    for username in usernames {
        if let Ok(expected) = srp_core::secret_hash(&secret, username, client_id)
            && crate::engine::constant_time_eq(expected.as_str().as_bytes(), given.as_bytes())
        {
            return Ok(());
        }
    }
    Err(fail())
}

/// Whether `password` is the user's (USER_PASSWORD_AUTH, ChangePassword).
pub(crate) fn password_matches(pool_id: &str, user: &User, password: &str) -> bool {
    let Some(stored) = &user.password else { return false };
    let Ok(identity) = srp_core::Identity::user(pool_id, &user.username, password) else { return false };
    let Ok(x) = srp_core::compute_x(&stored.salt, &identity) else { return false };
    let v = srp_core::compute_verifier(&x);
    crate::engine::constant_time_eq(v.as_be_bytes(), &stored.verifier)
}

fn flow_allowed(client: &idp::UserPoolClientType, flow: &str) -> bool {
    match &client.explicit_auth_flows {
        None => matches!(flow, "ALLOW_USER_SRP_AUTH" | "ALLOW_REFRESH_TOKEN_AUTH" | "ALLOW_CUSTOM_AUTH"),
        Some(flows) if flows.is_empty() => {
            matches!(flow, "ALLOW_USER_SRP_AUTH" | "ALLOW_REFRESH_TOKEN_AUTH" | "ALLOW_CUSTOM_AUTH")
        }
        Some(flows) => flows.iter().any(|f| {
            let f = f.as_str();
            f == flow
                || (flow == "ALLOW_USER_PASSWORD_AUTH" && f == "USER_PASSWORD_AUTH")
                || (flow == "ALLOW_ADMIN_USER_PASSWORD_AUTH" && f == "ADMIN_NO_SRP_AUTH")
                || (flow == "ALLOW_CUSTOM_AUTH" && f == "CUSTOM_AUTH_FLOW_ONLY")
        }),
    }
}

/// How a caller proves it holds the app client's secret.
#[derive(Clone, Copy)]
enum SecretProof<'a> {
    /// `SECRET_HASH` (InitiateAuth and friends).
    Hash(Option<&'a str>),
    /// The secret itself (GetTokensFromRefreshToken, RevokeToken).
    Secret(Option<&'a str>),
}

/// The outcome of a sign-in step.
pub(crate) struct Outcome {
    pub(crate) challenge_name: Option<ChallengeNameType>,
    pub(crate) challenge_parameters: BTreeMap<String, String>,
    pub(crate) session: Option<String>,
    pub(crate) result: Option<idp::AuthenticationResultType>,
    /// `AvailableChallenges` (SELECT_CHALLENGE).
    pub(crate) available: Option<Vec<ChallengeNameType>>,
}

impl Outcome {
    /// Signed in.
    pub(crate) fn tokens(result: idp::AuthenticationResultType) -> Self {
        Self {
            challenge_name: None,
            challenge_parameters: BTreeMap::new(),
            session: None,
            result: Some(result),
            available: None,
        }
    }

    /// A challenge with its session.
    pub(crate) fn challenge(name: ChallengeNameType, params: BTreeMap<String, String>, session: String) -> Self {
        Self {
            challenge_name: Some(name),
            challenge_parameters: params,
            session: Some(session),
            result: None,
            available: None,
        }
    }
}

/// What InitiateAuth brings besides the flow and its parameters.
#[derive(Default)]
pub(crate) struct StartExtras<'a> {
    /// `ClientMetadata`, for the custom-auth hooks.
    pub(crate) metadata: BTreeMap<String, String>,
    /// The top-level `Session` (USER_AUTH after ConfirmSignUp).
    pub(crate) session: Option<&'a str>,
}

impl Engine {
    /// The pool and user key an access token belongs to, if it is valid and
    /// carries the `aws.cognito.signin.user.admin` scope, as every
    /// token-authorized user-pool API operation requires.
    pub(crate) fn authorize(&self, access_token: &str) -> OpResult<(String, String)> {
        self.authorize_with(access_token, true)
    }

    /// The pool and user key of a valid access token, whatever its scopes
    /// (the hosted UI's `/oauth2/userInfo`).
    pub(crate) fn authorize_any_scope(&self, access_token: &str) -> OpResult<(String, String)> {
        self.authorize_with(access_token, false)
    }

    fn authorize_with(&self, access_token: &str, admin_scope: bool) -> OpResult<(String, String)> {
        let invalid = || Fail::not_authorized("Invalid Access Token");
        let claims = crate::tokens::peek_claims(access_token).ok_or_else(invalid)?;
        let iss = claims.get("iss").and_then(Value::as_str).ok_or_else(invalid)?;
        let pool_id = iss.rsplit('/').next().ok_or_else(invalid)?.to_owned();
        let key = self.signing_key(&pool_id).map_err(|_| invalid())?;
        let claims = key.verify(access_token).ok_or_else(invalid)?;
        if claims.get("token_use").and_then(Value::as_str) != Some("access") {
            return Err(invalid());
        }
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp < self.now() {
            return Err(Fail::not_authorized("Access Token has expired"));
        }
        let scoped = claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|s| s.split_whitespace().any(|s| s == "aws.cognito.signin.user.admin"));
        if admin_scope && !scoped {
            return Err(Fail::not_authorized("Access Token does not have required scopes"));
        }
        let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
        let origin = claims.get("origin_jti").and_then(Value::as_str).unwrap_or("");
        let username = claims.get("username").and_then(Value::as_str).ok_or_else(invalid)?;
        let state = self.lock();
        if state.revoked_origins.contains(origin) {
            return Err(Fail::not_authorized("Access Token has been revoked"));
        }
        let pool = Engine::pool(&state, &pool_id)?;
        let user_key = pool.key_of(username);
        let user = pool.users.get(&user_key).ok_or_else(|| Fail::not_authorized("User does not exist."))?;
        if !user.enabled {
            return Err(Fail::not_authorized("User is disabled."));
        }
        if iat < user.tokens_valid_after {
            return Err(Fail::not_authorized("Access Token has been revoked"));
        }
        Ok((pool_id, user_key))
    }

    pub(crate) fn initiate_auth(&self, input: idp::InitiateAuthRequest) -> OpResult<idp::InitiateAuthResponse> {
        let client_id = input.client_id.expose().clone();
        let params = input.auth_parameters.as_ref().map(|p| p.expose().clone()).unwrap_or_default();
        let extras = StartExtras {
            metadata: input.client_metadata.clone().unwrap_or_default(),
            session: input.session.as_ref().map(|s| s.expose().as_str()),
        };
        let outcome = self.start_auth(&client_id, &input.auth_flow, &params, false, extras)?;
        Ok(idp::InitiateAuthResponse {
            challenge_name: outcome.challenge_name,
            challenge_parameters: Some(outcome.challenge_parameters),
            session: outcome.session.map(Sensitive::new),
            authentication_result: outcome.result,
            available_challenges: outcome.available,
            ..Default::default()
        })
    }

    pub(crate) fn admin_initiate_auth(
        &self,
        input: idp::AdminInitiateAuthRequest,
    ) -> OpResult<idp::AdminInitiateAuthResponse> {
        let client_id = input.client_id.expose().clone();
        {
            let state = self.lock();
            if Engine::pool_of_client(&state, &client_id)? != input.user_pool_id {
                return Err(Fail::no_client(&client_id));
            }
        }
        let params = input.auth_parameters.as_ref().map(|p| p.expose().clone()).unwrap_or_default();
        let extras = StartExtras {
            metadata: input.client_metadata.clone().unwrap_or_default(),
            session: input.session.as_ref().map(|s| s.expose().as_str()),
        };
        let outcome = self.start_auth(&client_id, &input.auth_flow, &params, true, extras)?;
        Ok(idp::AdminInitiateAuthResponse {
            challenge_name: outcome.challenge_name,
            challenge_parameters: Some(outcome.challenge_parameters),
            session: outcome.session.map(Sensitive::new),
            authentication_result: outcome.result,
            available_challenges: outcome.available,
            ..Default::default()
        })
    }

    fn start_auth(
        &self,
        client_id: &str,
        flow: &AuthFlowType,
        params: &BTreeMap<String, String>,
        admin: bool,
        extras: StartExtras<'_>,
    ) -> OpResult<Outcome> {
        let pool_id = {
            let state = self.lock();
            Engine::pool_of_client(&state, client_id)?
        };
        let param = |k: &str| params.get(k).map(String::as_str);
        match flow {
            AuthFlowType::RefreshTokenAuth | AuthFlowType::RefreshToken => {
                let token = param(keys::REFRESH_TOKEN)
                    .ok_or_else(|| Fail::invalid("Missing required parameter REFRESH_TOKEN"))?;
                let result = self.refresh(
                    &pool_id,
                    client_id,
                    token,
                    SecretProof::Hash(param(keys::SECRET_HASH)),
                    param(keys::DEVICE_KEY),
                )?;
                Ok(Outcome {
                    challenge_name: None,
                    challenge_parameters: BTreeMap::new(),
                    session: None,
                    result: Some(result),
                    available: None,
                })
            }
            AuthFlowType::UserSrpAuth => {
                self.require_flow(&pool_id, client_id, "ALLOW_USER_SRP_AUTH", "USER_SRP_AUTH")?;
                let login =
                    param(keys::USERNAME).ok_or_else(|| Fail::invalid("Missing required parameter USERNAME"))?;
                let srp_a = param(keys::SRP_A).ok_or_else(|| Fail::invalid("Missing required parameter SRP_A"))?;
                self.start_srp(&pool_id, client_id, login, srp_a, param(keys::SECRET_HASH), AfterVerifier::SignIn)
            }
            AuthFlowType::UserAuth => {
                self.require_flow(&pool_id, client_id, "ALLOW_USER_AUTH", "USER_AUTH")?;
                self.start_user_auth(&pool_id, client_id, params, extras.session)
            }
            AuthFlowType::CustomAuth => {
                self.require_flow(&pool_id, client_id, "ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH")?;
                self.start_custom_auth(&pool_id, client_id, params, &extras.metadata)
            }
            AuthFlowType::UserPasswordAuth | AuthFlowType::AdminUserPasswordAuth | AuthFlowType::AdminNoSrpAuth => {
                let (allow, name) = if admin {
                    ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH")
                } else {
                    ("ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH")
                };
                if admin != matches!(flow, AuthFlowType::AdminUserPasswordAuth | AuthFlowType::AdminNoSrpAuth) {
                    return Err(Fail::invalid(format!("Initiate Auth method not supported: {flow}")));
                }
                self.require_flow(&pool_id, client_id, allow, name)?;
                let login =
                    param(keys::USERNAME).ok_or_else(|| Fail::invalid("Missing required parameter USERNAME"))?;
                let password =
                    param(keys::PASSWORD).ok_or_else(|| Fail::invalid("Missing required parameter PASSWORD"))?;
                self.password_auth(
                    &pool_id,
                    client_id,
                    login,
                    password,
                    param(keys::SECRET_HASH),
                    param(keys::DEVICE_KEY),
                )
            }
            other => Err(Fail::invalid(format!("Initiate Auth method not supported: {other}"))),
        }
    }

    pub(crate) fn require_flow(&self, pool_id: &str, client_id: &str, allow: &str, name: &str) -> OpResult<()> {
        let state = self.lock();
        let pool = Engine::pool(&state, pool_id)?;
        let client = pool.clients.get(client_id).ok_or_else(|| Fail::no_client(client_id))?;
        if flow_allowed(client, allow) {
            Ok(())
        } else {
            Err(Fail::invalid(format!("{name} flow not enabled for this client")))
        }
    }

    /// Looks a user up for sign-in, applying lockout and status rules.
    /// `Ok(None)`: no such user but the pool hides that.
    pub(crate) fn user_for_sign_in(&self, pool_id: &str, login: &str) -> OpResult<Option<(String, User)>> {
        let state = self.lock();
        let pool = Engine::pool(&state, pool_id)?;
        match pool.find_key(login).and_then(|k| pool.users.get(&k).map(|u| (k, u.clone()))) {
            Some((key, user)) => {
                if !user.enabled {
                    return Err(Fail::not_authorized("User is disabled."));
                }
                if user.locked_until > self.now() {
                    return Err(Fail::not_authorized("Password attempts exceeded"));
                }
                Ok(Some((key, user)))
            }
            None => Ok(None),
        }
    }

    pub(crate) fn prevents_existence_errors(&self, pool_id: &str, client_id: &str) -> bool {
        let state = self.lock();
        state
            .pools
            .get(pool_id)
            .and_then(|p| p.clients.get(client_id))
            .and_then(|c| c.prevent_user_existence_errors.as_ref())
            .is_some_and(|p| p.as_str() == "ENABLED")
    }

    pub(crate) fn start_srp(
        &self,
        pool_id: &str,
        client_id: &str,
        login: &str,
        srp_a: &str,
        secret_hash: Option<&str>,
        then: AfterVerifier,
    ) -> OpResult<Outcome> {
        let found = self.user_for_sign_in(pool_id, login)?;
        let hide = self.prevents_existence_errors(pool_id, client_id);
        let (user_key, username, salt, verifier) = match &found {
            Some((key, user)) => {
                {
                    let state = self.lock();
                    check_secret_hash(
                        Engine::pool(&state, pool_id)?,
                        client_id,
                        secret_hash,
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
                let password =
                    user.password.clone().ok_or_else(|| Fail::not_authorized("Incorrect username or password."))?;
                let v = srp_core::PublicValue::from_be_bytes(srp_core::Field::Verifier, &password.verifier)
                    .map_err(|_| Fail::internal("stored verifier is corrupt"))?;
                (key.clone(), user.username.clone(), password.salt, Some(Box::new(v)))
            }
            None if hide => (String::new(), login.to_owned(), "7f00".into(), None),
            None => return Err(Fail::no_user()),
        };
        // A != 0 mod N is checked when the claim is verified; reject garbage early.
        srp_core::PublicValue::from_hex(srp_core::Field::SrpA, srp_a)
            .map_err(|_| Fail::invalid("Invalid SRP_A value"))?;
        let random = Zeroizing::new(random_bytes::<32>());
        let fake;
        let v = match &verifier {
            Some(v) => v,
            None => {
                fake = srp_core::PublicValue::from_be_bytes(srp_core::Field::Verifier, &random_bytes::<32>())
                    .map_err(|_| Fail::internal("fake verifier"))?;
                &fake
            }
        };
        let server = srp_core::ServerEphemeral::from_random(&*random, v).map_err(|e| Fail::internal(e.to_string()))?;
        let srp_b = server.srp_b().as_str().to_owned();
        let secret_block =
            Zeroizing::new(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, random_bytes::<64>()));
        let session = base64url(&random_bytes::<48>());
        let mut params = BTreeMap::new();
        params.insert(keys::SALT.to_owned(), salt);
        params.insert(keys::SRP_B.to_owned(), srp_b);
        params.insert(keys::SECRET_BLOCK.to_owned(), secret_block.to_string());
        params.insert(keys::USERNAME.to_owned(), username.clone());
        params.insert(keys::USER_ID_FOR_SRP.to_owned(), username);
        let mut state = self.lock();
        let expires = self.now() + 180;
        state.sessions.retain(|_, s| s.expires > expires - 180);
        state.sessions.insert(
            session.clone(),
            AuthSession {
                pool_id: pool_id.to_owned(),
                client_id: client_id.to_owned(),
                user_key,
                expires,
                step: Step::PasswordVerifier {
                    server: Box::new(server),
                    srp_a: srp_a.to_owned(),
                    secret_block,
                    verifier,
                    then,
                },
            },
        );
        Ok(Outcome {
            challenge_name: Some(ChallengeNameType::PasswordVerifier),
            challenge_parameters: params,
            // As recorded from the reference clients' exchanges, no Session
            // accompanies PASSWORD_VERIFIER and clients answer without one;
            // the pending sign-in is found by its secret block instead.
            session: None,
            result: None,
            available: None,
        })
    }

    fn password_auth(
        &self,
        pool_id: &str,
        client_id: &str,
        login: &str,
        password: &str,
        secret_hash: Option<&str>,
        device_key: Option<&str>,
    ) -> OpResult<Outcome> {
        let Some((key, user)) = self.user_for_sign_in(pool_id, login)? else {
            if self.prevents_existence_errors(pool_id, client_id) {
                return Err(Fail::not_authorized("Incorrect username or password."));
            }
            return Err(Fail::no_user());
        };
        {
            let state = self.lock();
            check_secret_hash(Engine::pool(&state, pool_id)?, client_id, secret_hash, &[login, &user.username])?;
        }
        if !password_matches(pool_id, &user, password) {
            self.record_failure(pool_id, &key);
            return Err(Fail::not_authorized("Incorrect username or password."));
        }
        self.after_password(pool_id, client_id, &key, &user, device_key)
    }

    pub(crate) fn record_failure(&self, pool_id: &str, key: &str) {
        let now = self.now();
        let mut state = self.lock();
        if let Some(user) = state.pools.get_mut(pool_id).and_then(|p| p.users.get_mut(key)) {
            user.failed_attempts += 1;
            if user.failed_attempts >= LOCKOUT_AFTER {
                let exponent = (user.failed_attempts - LOCKOUT_AFTER).min(10);
                user.locked_until = now + (1i64 << exponent).min(900);
            }
        }
    }

    /// A correct factor ends the run of failed attempts.
    pub(crate) fn reset_failures(&self, pool_id: &str, key: &str) {
        let mut state = self.lock();
        if let Some(u) = state.pools.get_mut(pool_id).and_then(|p| p.users.get_mut(key)) {
            u.failed_attempts = 0;
            u.locked_until = 0;
        }
    }

    /// The pool's required attributes that `user` has no value for (what
    /// NEW_PASSWORD_REQUIRED asks for besides the password).
    pub(crate) fn missing_required_attributes(&self, pool_id: &str, user: &User) -> OpResult<Vec<String>> {
        let mut names = self.required_attributes(pool_id)?;
        names.retain(|n| !user.attributes.contains_key(n));
        Ok(names)
    }

    /// The pool's required attributes (its schema's `Required`), by name.
    pub(crate) fn required_attributes(&self, pool_id: &str) -> OpResult<Vec<String>> {
        let state = self.lock();
        Ok(Engine::pool(&state, pool_id)?.required_attributes().collect())
    }

    /// Answers NEW_PASSWORD_REQUIRED for the user `user_key` (whose
    /// temporary password was just checked): the pool's password policy,
    /// the given attributes (as a user may write them), then the new
    /// password and CONFIRMED status. The updated user.
    pub(crate) fn set_new_password(
        &self,
        pool_id: &str,
        user_key: &str,
        new_password: &str,
        attributes: &[idp::AttributeType],
    ) -> OpResult<User> {
        let mut state = self.lock();
        let pool = Engine::pool(&state, pool_id)?;
        crate::users::check_policy(pool, new_password)?;
        crate::users::check_attributes(pool, attributes, false)?;
        let username = pool.users.get(user_key).ok_or_else(Fail::no_user)?.username.clone();
        let password = crate::users::make_password(pool_id, &username, new_password)?;
        let pool = Engine::pool_mut(&mut state, pool_id)?;
        let stored = pool.users.get_mut(user_key).ok_or_else(Fail::no_user)?;
        for a in attributes {
            stored.attributes.insert(a.name.clone(), a.value.as_ref().map(|v| v.expose().clone()).unwrap_or_default());
        }
        stored.password = Some(password);
        stored.status = UserStatusType::Confirmed;
        let updated = stored.clone();
        drop(state);
        self.mark_dirty();
        Ok(updated)
    }

    /// After a correct password: status checks, then tokens or the next challenge.
    pub(crate) fn after_password(
        &self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        user: &User,
        device_key: Option<&str>,
    ) -> OpResult<Outcome> {
        self.reset_failures(pool_id, key);
        match user.status {
            UserStatusType::Unconfirmed => {
                Err(Fail::new(ErrorCode::UserNotConfirmedException, "User is not confirmed."))
            }
            UserStatusType::ResetRequired => {
                Err(Fail::new(ErrorCode::PasswordResetRequiredException, "Password reset required for the user"))
            }
            UserStatusType::ForceChangePassword => {
                let session = base64url(&random_bytes::<48>());
                let mut attrs: Vec<(&str, &str)> = user
                    .attributes
                    .iter()
                    .filter(|(k, _)| k.as_str() != "sub")
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                attrs.sort();
                let required = self.missing_required_attributes(pool_id, user)?;
                let required: Vec<&str> = required.iter().map(String::as_str).collect();
                let mut params = BTreeMap::new();
                params.insert(keys::USER_ID_FOR_SRP.to_owned(), user.username.clone());
                params.insert(keys::USER_ATTRIBUTES.to_owned(), cognito_wire::challenge::encode_user_attributes(attrs));
                params.insert(
                    keys::REQUIRED_ATTRIBUTES.to_owned(),
                    cognito_wire::challenge::encode_required_attributes(&required),
                );
                let mut state = self.lock();
                let expires = self.now() + 180;
                state.sessions.insert(
                    session.clone(),
                    AuthSession {
                        pool_id: pool_id.to_owned(),
                        client_id: client_id.to_owned(),
                        user_key: key.to_owned(),
                        expires,
                        step: Step::NewPasswordRequired,
                    },
                );
                Ok(Outcome {
                    challenge_name: Some(ChallengeNameType::NewPasswordRequired),
                    challenge_parameters: params,
                    session: Some(session),
                    result: None,
                    available: None,
                })
            }
            _ => {
                if let Some(step) = self.device_step(pool_id, client_id, key, user, device_key, false)? {
                    return Ok(step);
                }
                if let Some(step) = self.mfa_step(pool_id, client_id, key, user)? {
                    return Ok(step);
                }
                let result = self.issue_tokens(pool_id, client_id, key, self.now(), None)?;
                Ok(Outcome {
                    challenge_name: None,
                    challenge_parameters: BTreeMap::new(),
                    session: None,
                    result: Some(result),
                    available: None,
                })
            }
        }
    }

    pub(crate) fn respond_to_auth_challenge(
        &self,
        input: idp::RespondToAuthChallengeRequest,
    ) -> OpResult<idp::RespondToAuthChallengeResponse> {
        let client_id = input.client_id.expose().clone();
        let responses = input.challenge_responses.as_ref().map(|r| r.expose().clone()).unwrap_or_default();
        let session = input.session.as_ref().map(|s| s.expose().clone());
        let metadata = input.client_metadata.clone().unwrap_or_default();
        let outcome = self.answer(&client_id, &input.challenge_name, session.as_deref(), &responses, &metadata)?;
        Ok(idp::RespondToAuthChallengeResponse {
            challenge_name: outcome.challenge_name,
            challenge_parameters: Some(outcome.challenge_parameters),
            session: outcome.session.map(Sensitive::new),
            authentication_result: outcome.result,
            available_challenges: outcome.available,
            ..Default::default()
        })
    }

    pub(crate) fn admin_respond_to_auth_challenge(
        &self,
        input: idp::AdminRespondToAuthChallengeRequest,
    ) -> OpResult<idp::AdminRespondToAuthChallengeResponse> {
        let client_id = input.client_id.expose().clone();
        let responses = input.challenge_responses.as_ref().map(|r| r.expose().clone()).unwrap_or_default();
        let session = input.session.as_ref().map(|s| s.expose().clone());
        let metadata = input.client_metadata.clone().unwrap_or_default();
        let outcome = self.answer(&client_id, &input.challenge_name, session.as_deref(), &responses, &metadata)?;
        Ok(idp::AdminRespondToAuthChallengeResponse {
            challenge_name: outcome.challenge_name,
            challenge_parameters: Some(outcome.challenge_parameters),
            session: outcome.session.map(Sensitive::new),
            authentication_result: outcome.result,
            available_challenges: outcome.available,
            ..Default::default()
        })
    }

    /// Finds (and removes) the session a challenge answer belongs to: by
    /// `Session`, or for PASSWORD_VERIFIER (which clients answer without a
    /// session) by the echoed secret block.
    fn take_session(&self, session: Option<&str>, responses: &BTreeMap<String, String>) -> OpResult<AuthSession> {
        let mut state = self.lock();
        let now = self.now();
        let key = match session {
            Some(s) if state.sessions.contains_key(s) => Some(s.to_owned()),
            _ => responses.get(keys::PASSWORD_CLAIM_SECRET_BLOCK).and_then(|block| {
                state
                    .sessions
                    .iter()
                    .find(|(_, s)| matches!(&s.step, Step::PasswordVerifier { secret_block, .. } if **secret_block == *block))
                    .map(|(k, _)| k.clone())
            }),
        };
        let found = key.and_then(|k| state.sessions.remove(&k));
        match found {
            Some(s) if s.expires >= now => Ok(s),
            Some(_) => Err(Fail::not_authorized("Invalid session for the user, session is expired.")),
            None => Err(Fail::not_authorized("Invalid session for the user.")),
        }
    }

    fn answer(
        &self,
        client_id: &str,
        challenge: &ChallengeNameType,
        session: Option<&str>,
        responses: &BTreeMap<String, String>,
        metadata: &BTreeMap<String, String>,
    ) -> OpResult<Outcome> {
        let auth = self.take_session(session, responses)?;
        if auth.client_id != client_id {
            return Err(Fail::not_authorized("Invalid session for the user."));
        }
        let username = responses.get(keys::USERNAME).map(String::as_str).unwrap_or("");
        let user = {
            let state = self.lock();
            let pool = Engine::pool(&state, &auth.pool_id)?;
            let user = pool.users.get(&auth.user_key).cloned();
            if let Some(u) = &user {
                check_secret_hash(
                    pool,
                    client_id,
                    responses.get(keys::SECRET_HASH).map(String::as_str),
                    &[username, &u.username],
                )?;
            }
            user
        };
        if matches!(auth.step, Step::DeviceSrpAuth { .. } | Step::DevicePasswordVerifier { .. }) {
            let user = user.ok_or_else(Fail::no_user)?;
            return self.answer_device(auth, challenge, responses, user);
        }
        if matches!(auth.step, Step::Mfa { .. } | Step::SelectMfa { .. } | Step::MfaSetup { .. }) {
            let user = user.ok_or_else(Fail::no_user)?;
            return self.answer_mfa(session, auth, challenge, responses, user);
        }
        if matches!(auth.step, Step::SelectChallenge { .. } | Step::Otp { .. }) {
            return self.answer_user_auth(session, auth, challenge, responses, user);
        }
        if matches!(auth.step, Step::Custom { .. }) {
            return self.answer_custom(auth, challenge, responses, user, metadata);
        }
        match (challenge, auth.step) {
            (
                ChallengeNameType::PasswordVerifier,
                Step::PasswordVerifier { server, srp_a, secret_block, verifier, then },
            ) => {
                let get = |k: &str| {
                    responses
                        .get(k)
                        .map(String::as_str)
                        .ok_or_else(|| Fail::invalid(format!("Missing required parameter {k}")))
                };
                let (timestamp, signature, block) = (
                    get(keys::TIMESTAMP)?,
                    get(keys::PASSWORD_CLAIM_SIGNATURE)?,
                    get(keys::PASSWORD_CLAIM_SECRET_BLOCK)?,
                );
                let (Some(user), Some(v)) = (user, verifier) else {
                    return Err(Fail::not_authorized("Incorrect username or password."));
                };
                if *block != **secret_block {
                    return Err(Fail::not_authorized("Incorrect username or password."));
                }
                let identity = srp_core::PublicIdentity::user(&auth.pool_id, &user.username)
                    .map_err(|e| Fail::internal(e.to_string()))?;
                let correct = match server.verify(identity, &v, &srp_a, block, timestamp, signature) {
                    Ok(_) => true,
                    Err(srp_core::Error::SignatureMismatch) => {
                        self.record_failure(&auth.pool_id, &auth.user_key);
                        false
                    }
                    Err(e) => return Err(Fail::invalid(format!("Invalid challenge response: {e}"))),
                };
                let device_key = responses.get(keys::DEVICE_KEY).map(String::as_str);
                match then {
                    AfterVerifier::SignIn if correct => {
                        self.after_password(&auth.pool_id, client_id, &auth.user_key, &user, device_key)
                    }
                    AfterVerifier::SignIn => Err(Fail::not_authorized("Incorrect username or password.")),
                    AfterVerifier::Custom { mut history } => {
                        if correct {
                            self.reset_failures(&auth.pool_id, &auth.user_key);
                        }
                        history.push(crate::custom::ChallengeResult {
                            challenge_name: "PASSWORD_VERIFIER".into(),
                            challenge_result: correct,
                            challenge_metadata: None,
                        });
                        let run = crate::custom::Run {
                            pool_id: &auth.pool_id,
                            client_id,
                            user_key: &auth.user_key,
                            login: &user.username,
                            user_not_found: false,
                            metadata,
                            device_key,
                            srp_a: None,
                            secret_hash: responses.get(keys::SECRET_HASH).map(String::as_str),
                        };
                        self.custom_next(&run, history)
                    }
                }
            }
            (ChallengeNameType::NewPasswordRequired, Step::NewPasswordRequired) => {
                user.ok_or_else(Fail::no_user)?;
                let new_password = responses
                    .get(keys::NEW_PASSWORD)
                    .ok_or_else(|| Fail::invalid("Missing required parameter NEW_PASSWORD"))?;
                let attrs: Vec<idp::AttributeType> = responses
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix(keys::USER_ATTRIBUTES_PREFIX).map(|n| (n, v)))
                    .map(|(n, v)| idp::AttributeType {
                        name: n.to_owned(),
                        value: Some(v.clone().into()),
                        ..Default::default()
                    })
                    .collect();
                let updated = self.set_new_password(&auth.pool_id, &auth.user_key, new_password, &attrs)?;
                self.after_password(
                    &auth.pool_id,
                    client_id,
                    &auth.user_key,
                    &updated,
                    responses.get(keys::DEVICE_KEY).map(String::as_str),
                )
            }
            (other, _) => Err(Fail::invalid(format!("Challenge {other} is not the one pending for this session"))),
        }
    }

    /// Mints ID, access and refresh tokens.
    pub(crate) fn issue_tokens(
        &self,
        pool_id: &str,
        client_id: &str,
        user_key: &str,
        auth_time: i64,
        device_key: Option<&str>,
    ) -> OpResult<idp::AuthenticationResultType> {
        self.issue_tokens_with(pool_id, client_id, user_key, auth_time, device_key, None)
    }

    /// [`Engine::issue_tokens`] with the OAuth scopes and nonce of a
    /// hosted-UI grant (kept with the refresh token for later refreshes).
    pub(crate) fn issue_tokens_with(
        &self,
        pool_id: &str,
        client_id: &str,
        user_key: &str,
        auth_time: i64,
        device_key: Option<&str>,
        oauth: Option<&OAuthClaims>,
    ) -> OpResult<idp::AuthenticationResultType> {
        let origin_jti = uuid_v4();
        let (device_key, new_device) = self.device_for_tokens(pool_id, user_key, device_key)?;
        let (access, id, expires_in) = self.mint(pool_id, client_id, user_key, auth_time, &origin_jti, oauth)?;
        let refresh = base64url(&random_bytes::<96>());
        let now = self.now();
        let (sub, refresh_days) = {
            let state = self.lock();
            let pool = Engine::pool(&state, pool_id)?;
            let user = pool.users.get(user_key).ok_or_else(Fail::no_user)?;
            let client = pool.clients.get(client_id).ok_or_else(|| Fail::no_client(client_id))?;
            (
                user.sub.clone(),
                validity_seconds(client.refresh_token_validity, client_unit(client, "refresh"), 30 * 86400),
            )
        };
        let mut state = self.lock();
        state.refresh_tokens.insert(
            refresh.clone(),
            RefreshRecord {
                pool_id: pool_id.to_owned(),
                client_id: client_id.to_owned(),
                user_key: user_key.to_owned(),
                sub,
                origin_jti,
                issued: now,
                expires: now + refresh_days,
                auth_time,
                device_key,
                scope: oauth.map(|o| o.scope.clone()),
            },
        );
        drop(state);
        self.mark_dirty();
        Ok(idp::AuthenticationResultType {
            access_token: Some(access.into()),
            id_token: Some(id.into()),
            refresh_token: Some(refresh.into()),
            expires_in: Some(expires_in as i32),
            token_type: Some("Bearer".into()),
            new_device_metadata: new_device,
            ..Default::default()
        })
    }

    /// Signs the access and ID tokens of one session.
    fn mint(
        &self,
        pool_id: &str,
        client_id: &str,
        user_key: &str,
        auth_time: i64,
        origin_jti: &str,
        oauth: Option<&OAuthClaims>,
    ) -> OpResult<(String, String, i64)> {
        let key = self.signing_key(pool_id)?;
        let now = self.now();
        let iss = self.issuer(pool_id);
        let (user, access_validity, id_validity) = {
            let state = self.lock();
            let pool = Engine::pool(&state, pool_id)?;
            let user = pool.users.get(user_key).cloned().ok_or_else(Fail::no_user)?;
            let client = pool.clients.get(client_id).ok_or_else(|| Fail::no_client(client_id))?;
            (
                user,
                validity_seconds(client.access_token_validity, client_unit(client, "access"), 3600),
                validity_seconds(client.id_token_validity, client_unit(client, "id"), 3600),
            )
        };
        let event_id = uuid_v4();
        let groups: Vec<&str> = user.groups.iter().map(String::as_str).collect();
        let mut access = claims_map(json!({
            "sub": user.sub,
            "iss": iss,
            "client_id": client_id,
            "origin_jti": origin_jti,
            "event_id": event_id,
            "token_use": "access",
            "scope": oauth.map_or("aws.cognito.signin.user.admin", |o| o.scope.as_str()),
            "auth_time": auth_time,
            "exp": now + access_validity,
            "iat": now,
            "jti": uuid_v4(),
            "username": user.username,
        }));
        let mut id = claims_map(json!({
            "sub": user.sub,
            "iss": iss,
            "cognito:username": user.username,
            "origin_jti": origin_jti,
            "aud": client_id,
            "event_id": event_id,
            "token_use": "id",
            "auth_time": auth_time,
            "exp": now + id_validity,
            "iat": now,
            "jti": uuid_v4(),
        }));
        if !groups.is_empty() {
            access.insert("cognito:groups".into(), json!(groups));
            id.insert("cognito:groups".into(), json!(groups));
        }
        for (name, value) in &user.attributes {
            if name == "sub" {
                continue;
            }
            let v = if name.ends_with("_verified") {
                json!(value == "true")
            } else if name == "identities" {
                // Stored as a JSON string; the ID token carries the array.
                serde_json::from_str(value).unwrap_or_else(|_| json!(value))
            } else {
                json!(value)
            };
            id.insert(name.clone(), v);
        }
        if let Some(nonce) = oauth.and_then(|o| o.nonce.as_deref()) {
            id.insert("nonce".into(), json!(nonce));
        }
        let access = key.sign(&access).map_err(|e| Fail::internal(e.0))?;
        let id = key.sign(&id).map_err(|e| Fail::internal(e.0))?;
        Ok((access, id, access_validity))
    }

    /// New access and ID tokens for a refresh token.
    fn refresh(
        &self,
        pool_id: &str,
        client_id: &str,
        token: &str,
        proof: SecretProof<'_>,
        device_key: Option<&str>,
    ) -> OpResult<idp::AuthenticationResultType> {
        let invalid = || Fail::not_authorized("Invalid Refresh Token");
        let record = {
            let state = self.lock();
            let record = state.refresh_tokens.get(token).cloned().ok_or_else(invalid)?;
            if record.client_id != client_id || record.pool_id != pool_id {
                return Err(invalid());
            }
            if state.revoked_origins.contains(&record.origin_jti) {
                return Err(Fail::not_authorized("Refresh Token has been revoked"));
            }
            let pool = Engine::pool(&state, pool_id)?;
            let user = pool.users.get(&record.user_key).ok_or_else(|| Fail::not_authorized("User does not exist."))?;
            match proof {
                SecretProof::Hash(hash) => check_secret_hash(pool, client_id, hash, &[&user.username, &user.sub])?,
                SecretProof::Secret(given) => {
                    let expected =
                        pool.clients.get(client_id).and_then(|c| c.client_secret.as_ref()).map(|s| s.expose().as_str());
                    let ok = match (expected, given) {
                        (None, _) => true,
                        (Some(e), Some(g)) => crate::engine::constant_time_eq(e.as_bytes(), g.as_bytes()),
                        (Some(_), None) => false,
                    };
                    if !ok {
                        return Err(Fail::not_authorized(format!(
                            "Unable to verify secret hash for client {client_id}"
                        )));
                    }
                }
            }
            if !user.enabled {
                return Err(Fail::not_authorized("User is disabled."));
            }
            if record.issued < user.tokens_valid_after {
                return Err(Fail::not_authorized("Refresh Token has been revoked"));
            }
            // Tokens issued to a confirmed device refresh only with its key
            // (Cognito answers "Invalid Refresh Token" otherwise).
            if let Some(dk) = &record.device_key {
                let confirmed = user.devices.get(dk).is_some_and(|d| d.verifier.is_some());
                if confirmed && device_key != Some(dk.as_str()) {
                    return Err(invalid());
                }
            }
            record
        };
        if record.expires < self.now() {
            return Err(Fail::not_authorized("Refresh Token has expired"));
        }
        // A hosted-UI session keeps its scopes (the nonce is not repeated).
        let oauth = record.scope.clone().map(|scope| OAuthClaims { scope, nonce: None });
        let (access, id, expires_in) =
            self.mint(pool_id, client_id, &record.user_key, record.auth_time, &record.origin_jti, oauth.as_ref())?;
        Ok(idp::AuthenticationResultType {
            access_token: Some(access.into()),
            id_token: Some(id.into()),
            expires_in: Some(expires_in as i32),
            token_type: Some("Bearer".into()),
            ..Default::default()
        })
    }

    pub(crate) fn get_tokens_from_refresh_token(
        &self,
        input: idp::GetTokensFromRefreshTokenRequest,
    ) -> OpResult<idp::GetTokensFromRefreshTokenResponse> {
        let client_id = input.client_id.expose().clone();
        let pool_id = {
            let state = self.lock();
            Engine::pool_of_client(&state, &client_id)?
        };
        let secret = input.client_secret.as_ref().map(|s| s.expose().as_str());
        let result = self.refresh(
            &pool_id,
            &client_id,
            input.refresh_token.expose(),
            SecretProof::Secret(secret),
            input.device_key.as_deref(),
        )?;
        Ok(idp::GetTokensFromRefreshTokenResponse { authentication_result: Some(result), ..Default::default() })
    }

    pub(crate) fn revoke_token(&self, input: idp::RevokeTokenRequest) -> OpResult<idp::RevokeTokenResponse> {
        let client_id = input.client_id.expose().clone();
        let mut state = self.lock();
        let Some(record) = state.refresh_tokens.get(input.token.expose()).cloned() else {
            // Cognito answers success for tokens it does not know.
            return Ok(Default::default());
        };
        if record.client_id != client_id {
            return Err(Fail::new(ErrorCode::UnauthorizedException, "Token is not issued to this client"));
        }
        let pool = Engine::pool(&state, &record.pool_id)?;
        if let Some(secret) = pool.clients.get(&client_id).and_then(|c| c.client_secret.as_ref())
            && input.client_secret.as_ref().map(|s| s.expose()) != Some(secret.expose())
        {
            return Err(Fail::not_authorized(format!("Unable to verify secret hash for client {client_id}")));
        }
        state.revoked_origins.insert(record.origin_jti.clone());
        state.refresh_tokens.remove(input.token.expose());
        drop(state);
        self.mark_dirty();
        Ok(Default::default())
    }

    fn sign_out_user(&self, pool_id: &str, key: &str) -> OpResult<()> {
        let now = self.now();
        let mut state = self.lock();
        let user = Engine::pool_mut(&mut state, pool_id)?.users.get_mut(key).ok_or_else(Fail::no_user)?;
        // Every session issued so far stops working: their origin_jti are
        // revoked (access tokens carry it, refresh records hold it). Tokens
        // issued after this call, even within the same second, stay valid,
        // as with Cognito; `tokens_valid_after` catches anything older.
        user.tokens_valid_after = now;
        let pool = pool_id.to_owned();
        let k = key.to_owned();
        let mut origins = Vec::new();
        state.refresh_tokens.retain(|_, r| {
            let ours = r.pool_id == pool && r.user_key == k;
            if ours {
                origins.push(r.origin_jti.clone());
            }
            !ours
        });
        state.revoked_origins.extend(origins);
        drop(state);
        self.mark_dirty();
        Ok(())
    }

    pub(crate) fn global_sign_out(&self, input: idp::GlobalSignOutRequest) -> OpResult<idp::GlobalSignOutResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        self.sign_out_user(&pool_id, &key)?;
        Ok(Default::default())
    }

    pub(crate) fn admin_user_global_sign_out(
        &self,
        input: idp::AdminUserGlobalSignOutRequest,
    ) -> OpResult<idp::AdminUserGlobalSignOutResponse> {
        let key = {
            let state = self.lock();
            Engine::pool(&state, &input.user_pool_id)?.find_key(input.username.expose()).ok_or_else(Fail::no_user)?
        };
        self.sign_out_user(&input.user_pool_id, &key)?;
        Ok(Default::default())
    }
}

pub(crate) fn client_unit(client: &idp::UserPoolClientType, which: &str) -> String {
    let units = client.token_validity_units.as_ref();
    let unit = match which {
        "access" => units.and_then(|u| u.access_token.as_ref()),
        "id" => units.and_then(|u| u.id_token.as_ref()),
        _ => units.and_then(|u| u.refresh_token.as_ref()),
    };
    unit.map(|u| u.as_str().to_owned())
        .unwrap_or_else(|| if which == "refresh" { "days".into() } else { "hours".into() })
}

pub(crate) fn validity_seconds<T: Into<i64>>(value: Option<T>, unit: String, default: i64) -> i64 {
    let Some(value) = value.map(Into::into) else { return default };
    let per = match unit.as_str() {
        "seconds" => 1,
        "minutes" => 60,
        "hours" => 3600,
        _ => 86400,
    };
    (value * per).max(1)
}
