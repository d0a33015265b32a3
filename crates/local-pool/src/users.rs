//! Sign-up, confirmation, passwords, attributes and the admin user operations.

use std::collections::BTreeMap;

use cognito_wire::cognito_idp::{self as idp, DeliveryMediumType, UserStatusType};
use cognito_wire::{ErrorCode, Sensitive};

use crate::engine::{Engine, Fail, OpResult, mask, six_digits, to_attribute_list, uuid_v4};
use crate::state::{Message, Password, PendingCode, Pool, State, Step, User};

const DAY: i64 = 24 * 3600;

/// Computes the SRP verifier stored for a password.
pub(crate) fn make_password(pool_id: &str, user_id_for_srp: &str, password: &str) -> OpResult<Password> {
    let salt: String = crate::engine::random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect();
    // A leading zero nibble would make the minimal hex shorter; keep it canonical.
    let salt = format!("7{}", &salt[1..]);
    let identity = srp_core::Identity::user(pool_id, user_id_for_srp, password)
        .map_err(|e| Fail::invalid(format!("cannot use this password: {e}")))?;
    let x = srp_core::compute_x(&salt, &identity).map_err(|e| Fail::internal(e.to_string()))?;
    let verifier = srp_core::compute_verifier(&x).as_be_bytes().to_vec().into_boxed_slice();
    Ok(Password { salt, verifier })
}

/// Checks a password against the pool's policy, with Cognito's message.
pub(crate) fn check_policy(pool: &Pool, password: &str) -> OpResult<()> {
    let policy = pool.config.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
    let min = policy.minimum_length.unwrap_or(8).max(6) as usize;
    let mut problems = Vec::new();
    if password.chars().count() < min {
        problems.push(format!("Password must have length greater than or equal to {min}"));
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    let rules = [
        (
            policy.require_uppercase.unwrap_or(true),
            has(|c| c.is_uppercase()),
            "Password must have uppercase characters",
        ),
        (
            policy.require_lowercase.unwrap_or(true),
            has(|c| c.is_lowercase()),
            "Password must have lowercase characters",
        ),
        (policy.require_numbers.unwrap_or(true), has(|c| c.is_ascii_digit()), "Password must have numeric characters"),
        (
            policy.require_symbols.unwrap_or(true),
            has(|c| "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ".contains(c)),
            "Password must have symbol characters",
        ),
    ];
    for (required, present, message) in rules {
        if required && !present {
            problems.push(message.to_owned());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Fail::new(
            ErrorCode::InvalidPasswordException,
            format!("Password did not conform with policy: {}", problems.join("; ")),
        ))
    }
}

/// Standard attributes (OIDC) a pool always has.
const STANDARD: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
    "sub",
];

/// Validates attribute names and values against the pool's schema.
pub(crate) fn check_attributes(pool: &Pool, attributes: &[idp::AttributeType], by_admin: bool) -> OpResult<()> {
    for attr in attributes {
        let name = attr.name.as_str();
        let value = attr.value.as_ref().map(|v| v.expose().as_str()).unwrap_or("");
        if name == "sub" {
            return Err(Fail::invalid("Cannot modify the non-mutable attribute sub"));
        }
        if !by_admin && (name == "email_verified" || name == "phone_number_verified") {
            // Users cannot mark themselves verified.
            return Err(Fail::not_authorized(format!("A client attempted to write unauthorized attribute {name}")));
        }
        if let Some(custom) = name.strip_prefix("custom:") {
            let schema = pool
                .config
                .schema_attributes
                .iter()
                .flatten()
                .find(|s| s.name.as_deref() == Some(name) || s.name.as_deref() == Some(custom));
            let Some(schema) = schema else {
                return Err(Fail::invalid(format!(
                    "Attributes did not conform to the schema: Type for attribute {{{name}}} could not be determined"
                )));
            };
            let ty = schema.attribute_data_type.as_ref().map(|t| t.as_str()).unwrap_or("String");
            if ty == "Number" && value.parse::<f64>().is_err() {
                return Err(Fail::invalid(format!(
                    "Attributes did not conform to the schema: {name}: Number must be a number"
                )));
            }
            if ty == "Boolean" && value != "true" && value != "false" {
                return Err(Fail::invalid(format!(
                    "Attributes did not conform to the schema: {name}: Boolean must be true or false"
                )));
            }
            if let Some(c) = &schema.string_attribute_constraints {
                let len = value.chars().count();
                let max = c.max_length.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(2048);
                let min = c.min_length.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
                if len > max || len < min {
                    return Err(Fail::invalid(format!(
                        "Attributes did not conform to the schema: {name}: String must be between {min} and {max} characters"
                    )));
                }
            }
        } else if !STANDARD.contains(&name) {
            return Err(Fail::invalid(format!("Attribute does not exist in the schema: {name}")));
        }
        if name == "email" && !value.contains('@') {
            return Err(Fail::invalid("Invalid email address format."));
        }
        if name == "phone_number" && !(value.starts_with('+') && value[1..].chars().all(|c| c.is_ascii_digit())) {
            return Err(Fail::invalid("Invalid phone number format."));
        }
    }
    Ok(())
}

/// Required attributes of the pool missing from `attributes`.
fn missing_required(pool: &Pool, attributes: &BTreeMap<String, String>) -> Option<String> {
    pool.required_attributes().find(|n| !attributes.contains_key(n))
}

/// PreventUserExistenceErrors `ENABLED` and no such user: what a real
/// user's code delivery would look like, to a simulated destination (no
/// code is sent). The medium follows the login's form (an email address, a
/// phone number) or else the pool's auto-verified attribute; the masked
/// destination is derived from the login, so asking twice answers the same.
/// Without any, the same InvalidParameterException a user without a
/// verified contact gets.
fn simulated_delivery(pool: &Pool, login: &str) -> OpResult<idp::CodeDeliveryDetailsType> {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(login.as_bytes());
    let letter = |n: usize| char::from(b'a' + digest[n] % 26);
    let is_phone = login.strip_prefix('+').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    let (medium, attribute, destination) = if login.contains('@') {
        (DeliveryMediumType::Email, "email", mask(login))
    } else if is_phone {
        (DeliveryMediumType::Sms, "phone_number", mask(login))
    } else {
        match pool.auto_verified().first().map(String::as_str) {
            Some("phone_number") => {
                let digits: String = digest[..4].iter().map(|b| char::from(b'0' + b % 10)).collect();
                (DeliveryMediumType::Sms, "phone_number", format!("+*******{digits}"))
            }
            Some(_) => (DeliveryMediumType::Email, "email", format!("{}***@{}***", letter(0), letter(1))),
            None => {
                return Err(Fail::invalid(
                    "Cannot reset password for the user as there is no registered/verified email or phone_number",
                ));
            }
        }
    };
    Ok(idp::CodeDeliveryDetailsType {
        attribute_name: Some(attribute.to_owned()),
        delivery_medium: Some(medium),
        destination: Some(destination),
        ..Default::default()
    })
}

/// What ConfirmSignUp and ConfirmForgotPassword answer for an unknown user
/// when PreventUserExistenceErrors is `ENABLED`: a wrong code.
fn hidden_user_code_mismatch() -> Fail {
    Fail::new(ErrorCode::CodeMismatchException, "Invalid verification code provided, please try again.")
}

/// UserNotFoundException as the code-based operations (ForgotPassword,
/// ConfirmForgotPassword, ResendConfirmationCode, ConfirmSignUp) word it.
fn no_user_for_client() -> Fail {
    Fail::new(ErrorCode::UserNotFoundException, "Username/client id combination not found.")
}

/// Whether the pool's client `client_id` hides unknown users
/// (PreventUserExistenceErrors `ENABLED`).
fn hides_users(pool: &Pool, client_id: &str) -> bool {
    pool.clients
        .get(client_id)
        .and_then(|c| c.prevent_user_existence_errors.as_ref())
        .is_some_and(|p| p.as_str() == "ENABLED")
}

fn attribute_map(list: &[idp::AttributeType]) -> BTreeMap<String, String> {
    list.iter().map(|a| (a.name.clone(), a.value.as_ref().map(|v| v.expose().clone()).unwrap_or_default())).collect()
}

/// Where a code for `user` goes: (medium, attribute name, destination).
fn delivery_for(pool: &Pool, user: &User, prefer: Option<&str>) -> Option<(DeliveryMediumType, String, String)> {
    let candidates: Vec<String> = match prefer {
        Some(p) => vec![p.to_owned()],
        None => pool.auto_verified(),
    };
    for attr in candidates {
        if let Some(dest) = user.attributes.get(&attr) {
            let medium = if attr == "phone_number" { DeliveryMediumType::Sms } else { DeliveryMediumType::Email };
            return Some((medium, attr, dest.clone()));
        }
    }
    None
}

impl Engine {
    /// Issues a code for `purpose`, records it in the outbox and returns the delivery details.
    #[allow(clippy::too_many_arguments)] // an internal helper; each argument is a distinct fact
    pub(crate) fn issue_code(
        &self,
        state: &mut State,
        pool_id: &str,
        user_key: &str,
        purpose: &str,
        kind: &str,
        prefer: Option<&str>,
        lifetime: i64,
    ) -> OpResult<Option<idp::CodeDeliveryDetailsType>> {
        let now = self.now();
        let pool = Engine::pool_mut(state, pool_id)?;
        let user = pool.users.get(user_key).ok_or_else(Fail::no_user)?;
        let Some((medium, attr, destination)) = delivery_for(pool, user, prefer) else {
            return Ok(None);
        };
        let code = six_digits();
        let username = user.username.clone();
        if let Some(user) = pool.users.get_mut(user_key) {
            user.codes.insert(purpose.to_owned(), PendingCode { code: code.clone(), expires: now + lifetime });
        }
        let text = match kind {
            "forgot_password" => format!("Your password reset code is {code}"),
            "attribute_verification" => format!("Your verification code is {code}"),
            _ => format!("Your confirmation code is {code}"),
        };
        self.send(
            state,
            Message {
                pool_id: pool_id.to_owned(),
                username,
                kind: kind.to_owned(),
                medium: medium.as_str().to_owned(),
                destination: destination.clone(),
                code,
                text,
                time: now,
            },
        );
        Ok(Some(idp::CodeDeliveryDetailsType {
            attribute_name: Some(attr),
            delivery_medium: Some(medium),
            destination: Some(mask(&destination)),
            ..Default::default()
        }))
    }

    /// Checks and consumes a code.
    pub(crate) fn use_code(&self, user: &mut User, purpose: &str, code: &str) -> OpResult<()> {
        let Some(pending) = user.codes.get(purpose) else {
            return Err(Fail::new(
                ErrorCode::CodeMismatchException,
                "Invalid verification code provided, please try again.",
            ));
        };
        if pending.expires < self.now() {
            return Err(Fail::new(
                ErrorCode::ExpiredCodeException,
                "Invalid code provided, please request a code again.",
            ));
        }
        if !crate::engine::constant_time_eq(pending.code.as_bytes(), code.as_bytes()) {
            return Err(Fail::new(
                ErrorCode::CodeMismatchException,
                "Invalid verification code provided, please try again.",
            ));
        }
        user.codes.remove(purpose);
        Ok(())
    }

    /// Creates a user record (sign-up or admin).
    fn new_user(&self, pool: &Pool, username: &str, attributes: BTreeMap<String, String>) -> OpResult<(String, User)> {
        let now = self.now();
        let sub = uuid_v4();
        // With UsernameAttributes, the given "username" is an email or phone
        // number and the real username is a UUID.
        let username_attrs = pool.username_attributes();
        let (username, mut attributes) = if username_attrs.is_empty() {
            (username.to_owned(), attributes)
        } else {
            let mut attributes = attributes;
            let attr = if username.contains('@') { "email" } else { "phone_number" };
            if !username_attrs.iter().any(|a| a == attr) {
                return Err(Fail::invalid("Username should be either an email or a phone number.".to_string()));
            }
            attributes.insert(attr.to_owned(), username.to_owned());
            (sub.clone(), attributes)
        };
        if username.is_empty() || username.chars().count() > 128 || username.chars().any(char::is_whitespace) {
            return Err(Fail::invalid(
                "Username failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
            ));
        }
        let key = pool.key_of(&username);
        if pool.users.contains_key(&key)
            || (!username_attrs.is_empty() && pool.find_key(username_login(&attributes, &username_attrs)).is_some())
        {
            return Err(Fail::new(ErrorCode::UsernameExistsException, "User already exists"));
        }
        attributes.insert("sub".into(), sub.clone());
        let user = User::new(username, sub, attributes, UserStatusType::Unconfirmed, now);
        Ok((key, user))
    }

    pub(crate) fn sign_up(&self, input: idp::SignUpRequest) -> OpResult<idp::SignUpResponse> {
        let client_id = input.client_id.expose().clone();
        let mut state = self.lock();
        let pool_id = Engine::pool_of_client(&state, &client_id)?;
        let pool = Engine::pool(&state, &pool_id)?;
        crate::auth::check_secret_hash(
            pool,
            &client_id,
            input.secret_hash.as_ref().map(|s| s.expose().as_str()),
            &[input.username.expose()],
        )?;
        // Pools with one-time-password first factors take users without a password.
        let password = input.password.as_ref().map(|p| p.expose().clone());
        if password.is_none() && !crate::passwordless::passwordless_pool(pool) {
            return Err(Fail::invalid("A password is required."));
        }
        if let Some(password) = &password {
            check_policy(pool, password)?;
        }
        let attrs = input.user_attributes.clone().unwrap_or_default();
        check_attributes(pool, &attrs, false)?;
        let attributes = attribute_map(&attrs);
        let (key, mut user) = self.new_user(pool, input.username.expose(), attributes)?;
        if let Some(name) = missing_required(pool, &user.attributes) {
            return Err(Fail::invalid(format!(
                "Attributes did not conform to the schema: {name}: The attribute is required"
            )));
        }
        if let Some(password) = &password {
            user.password = Some(make_password(&pool_id, &user.username, password)?);
        }
        let sub = user.sub.clone();
        let pool = Engine::pool_mut(&mut state, &pool_id)?;
        pool.users.insert(key.clone(), user);
        let user_auth = Engine::client_allows_user_auth(pool, &client_id);
        let delivery = self.issue_code(&mut state, &pool_id, &key, "sign_up", "sign_up", None, DAY)?;
        // A session for ConfirmSignUp, so the user can be signed in after
        // confirming (USER_AUTH); it lasts as long as the code.
        let session = user_auth.then(|| state.add_session(&pool_id, &client_id, &key, Step::SignUp, self.now() + DAY));
        self.mark_dirty();
        Ok(idp::SignUpResponse {
            user_confirmed: false,
            user_sub: sub,
            code_delivery_details: delivery,
            session: session.map(Sensitive::new),
            ..Default::default()
        })
    }

    pub(crate) fn confirm_sign_up(&self, input: idp::ConfirmSignUpRequest) -> OpResult<idp::ConfirmSignUpResponse> {
        let client_id = input.client_id.expose().clone();
        let mut state = self.lock();
        let pool_id = Engine::pool_of_client(&state, &client_id)?;
        let pool = Engine::pool(&state, &pool_id)?;
        let Some(key) = pool.find_key(input.username.expose()) else {
            return Err(self.unknown_user(pool, &client_id, input.secret_hash.as_ref(), input.username.expose()));
        };
        let user = pool.users.get(&key).ok_or_else(Fail::no_user)?;
        crate::auth::check_secret_hash(
            pool,
            &client_id,
            input.secret_hash.as_ref().map(|s| s.expose().as_str()),
            &[input.username.expose(), &user.username],
        )?;
        // The Session of SignUp, when given, must be this user's.
        if let Some(session) = &input.session {
            let valid = state.sessions.get(session.expose()).is_some_and(|s| {
                matches!(s.step, Step::SignUp)
                    && s.client_id == client_id
                    && s.user_key == key
                    && s.expires >= self.now()
            });
            if !valid {
                return Err(Fail::not_authorized("Invalid session for the user."));
            }
        }
        let mut user = user.clone();
        if user.status == UserStatusType::Confirmed {
            if input.force_alias_creation == Some(true) || user.codes.contains_key("sign_up") {
                // fall through to the code check below
            } else {
                return Err(Fail::not_authorized("User cannot be confirmed. Current status is CONFIRMED"));
            }
        }
        self.use_code(&mut user, "sign_up", &input.confirmation_code)?;
        user.status = UserStatusType::Confirmed;
        if let Some(attr) = pool.auto_verified().first()
            && user.attributes.contains_key(attr)
        {
            user.attributes.insert(format!("{attr}_verified"), "true".into());
        }
        user.modified = self.now();
        let pool = Engine::pool_mut(&mut state, &pool_id)?;
        pool.users.insert(key.clone(), user);
        let user_auth = Engine::client_allows_user_auth(pool, &client_id);
        if let Some(session) = &input.session {
            state.sessions.remove(session.expose());
        }
        // A session for InitiateAuth USER_AUTH: one sign-in within three minutes.
        let session =
            user_auth.then(|| state.add_session(&pool_id, &client_id, &key, Step::SignedUp, self.now() + 180));
        self.mark_dirty();
        Ok(idp::ConfirmSignUpResponse { session: session.map(Sensitive::new), ..Default::default() })
    }

    /// ConfirmSignUp or ConfirmForgotPassword for a login that matches no
    /// user: UserNotFoundException, or a wrong code when the client hides
    /// unknown users (a wrong SECRET_HASH is refused either way).
    fn unknown_user(&self, pool: &Pool, client_id: &str, secret_hash: Option<&Sensitive<String>>, login: &str) -> Fail {
        if let Err(fail) =
            crate::auth::check_secret_hash(pool, client_id, secret_hash.map(|s| s.expose().as_str()), &[login])
        {
            return fail;
        }
        if hides_users(pool, client_id) { hidden_user_code_mismatch() } else { no_user_for_client() }
    }

    /// ForgotPassword or ResendConfirmationCode for a login that matches no
    /// user: UserNotFoundException, or a simulated code delivery when the
    /// client hides unknown users.
    fn simulated_or_unknown(
        &self,
        pool: &Pool,
        client_id: &str,
        secret_hash: Option<&Sensitive<String>>,
        login: &str,
    ) -> OpResult<idp::CodeDeliveryDetailsType> {
        crate::auth::check_secret_hash(pool, client_id, secret_hash.map(|s| s.expose().as_str()), &[login])?;
        if hides_users(pool, client_id) { simulated_delivery(pool, login) } else { Err(no_user_for_client()) }
    }

    pub(crate) fn resend_confirmation_code(
        &self,
        input: idp::ResendConfirmationCodeRequest,
    ) -> OpResult<idp::ResendConfirmationCodeResponse> {
        let client_id = input.client_id.expose().clone();
        let mut state = self.lock();
        let pool_id = Engine::pool_of_client(&state, &client_id)?;
        let pool = Engine::pool(&state, &pool_id)?;
        let Some(key) = pool.find_key(input.username.expose()) else {
            let delivery =
                self.simulated_or_unknown(pool, &client_id, input.secret_hash.as_ref(), input.username.expose())?;
            return Ok(idp::ResendConfirmationCodeResponse {
                code_delivery_details: Some(delivery),
                ..Default::default()
            });
        };
        let user = pool.users.get(&key).ok_or_else(Fail::no_user)?;
        crate::auth::check_secret_hash(
            pool,
            &client_id,
            input.secret_hash.as_ref().map(|s| s.expose().as_str()),
            &[input.username.expose(), &user.username],
        )?;
        if user.status == UserStatusType::Confirmed {
            return Err(Fail::invalid("User is already confirmed."));
        }
        let delivery = self.issue_code(&mut state, &pool_id, &key, "sign_up", "resend", None, DAY)?;
        Ok(idp::ResendConfirmationCodeResponse { code_delivery_details: delivery, ..Default::default() })
    }

    pub(crate) fn forgot_password(&self, input: idp::ForgotPasswordRequest) -> OpResult<idp::ForgotPasswordResponse> {
        let client_id = input.client_id.expose().clone();
        let mut state = self.lock();
        let pool_id = Engine::pool_of_client(&state, &client_id)?;
        let pool = Engine::pool(&state, &pool_id)?;
        let Some(key) = pool.find_key(input.username.expose()) else {
            let delivery =
                self.simulated_or_unknown(pool, &client_id, input.secret_hash.as_ref(), input.username.expose())?;
            return Ok(idp::ForgotPasswordResponse { code_delivery_details: Some(delivery), ..Default::default() });
        };
        let user = pool.users.get(&key).ok_or_else(Fail::no_user)?;
        crate::auth::check_secret_hash(
            pool,
            &client_id,
            input.secret_hash.as_ref().map(|s| s.expose().as_str()),
            &[input.username.expose(), &user.username],
        )?;
        if !user.enabled {
            if hides_users(pool, &client_id) {
                let delivery = simulated_delivery(pool, input.username.expose())?;
                return Ok(idp::ForgotPasswordResponse { code_delivery_details: Some(delivery), ..Default::default() });
            }
            return Err(Fail::not_authorized("User is disabled."));
        }
        let verified = ["email", "phone_number"].into_iter().find(|a| {
            user.attributes.get(&format!("{a}_verified")).is_some_and(|v| v == "true")
                && user.attributes.contains_key(*a)
        });
        let Some(attr) = verified else {
            return Err(Fail::invalid(
                "Cannot reset password for the user as there is no registered/verified email or phone_number",
            ));
        };
        let delivery =
            self.issue_code(&mut state, &pool_id, &key, "forgot_password", "forgot_password", Some(attr), 3600)?;
        Ok(idp::ForgotPasswordResponse { code_delivery_details: delivery, ..Default::default() })
    }

    pub(crate) fn confirm_forgot_password(
        &self,
        input: idp::ConfirmForgotPasswordRequest,
    ) -> OpResult<idp::ConfirmForgotPasswordResponse> {
        let client_id = input.client_id.expose().clone();
        let mut state = self.lock();
        let pool_id = Engine::pool_of_client(&state, &client_id)?;
        let pool = Engine::pool(&state, &pool_id)?;
        let Some(key) = pool.find_key(input.username.expose()) else {
            return Err(self.unknown_user(pool, &client_id, input.secret_hash.as_ref(), input.username.expose()));
        };
        let mut user = pool.users.get(&key).cloned().ok_or_else(Fail::no_user)?;
        crate::auth::check_secret_hash(
            pool,
            &client_id,
            input.secret_hash.as_ref().map(|s| s.expose().as_str()),
            &[input.username.expose(), &user.username],
        )?;
        check_policy(pool, input.password.expose())?;
        self.use_code(&mut user, "forgot_password", &input.confirmation_code)?;
        user.password = Some(make_password(&pool_id, &user.username, input.password.expose())?);
        user.status = UserStatusType::Confirmed;
        user.failed_attempts = 0;
        user.locked_until = 0;
        user.modified = self.now();
        Engine::pool_mut(&mut state, &pool_id)?.users.insert(key, user);
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn change_password(&self, input: idp::ChangePasswordRequest) -> OpResult<idp::ChangePasswordResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let previous = input.previous_password.as_ref().map(|p| p.expose().clone()).unwrap_or_default();
        let mut state = self.lock();
        let pool = Engine::pool(&state, &pool_id)?;
        let mut user = pool.users.get(&key).cloned().ok_or_else(Fail::no_user)?;
        if !crate::auth::password_matches(&pool_id, &user, &previous) {
            return Err(Fail::not_authorized("Incorrect username or password."));
        }
        check_policy(pool, input.proposed_password.expose())?;
        user.password = Some(make_password(&pool_id, &user.username, input.proposed_password.expose())?);
        user.modified = self.now();
        Engine::pool_mut(&mut state, &pool_id)?.users.insert(key, user);
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn get_user(&self, input: idp::GetUserRequest) -> OpResult<idp::GetUserResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let state = self.lock();
        let user = Engine::pool(&state, &pool_id)?.users.get(&key).ok_or_else(Fail::no_user)?;
        let (user_mfa_setting_list, preferred_mfa_setting) = Engine::mfa_settings(user);
        Ok(idp::GetUserResponse {
            username: user.username.clone().into(),
            user_attributes: to_attribute_list(&user.attributes),
            user_mfa_setting_list,
            preferred_mfa_setting,
            ..Default::default()
        })
    }

    /// Applies attribute changes; changing a verified email or phone makes it
    /// unverified and sends a code. Returns the delivery details.
    fn apply_attributes(
        &self,
        state: &mut State,
        pool_id: &str,
        key: &str,
        attrs: &[idp::AttributeType],
        by_admin: bool,
    ) -> OpResult<Vec<idp::CodeDeliveryDetailsType>> {
        let pool = Engine::pool(state, pool_id)?;
        check_attributes(pool, attrs, by_admin)?;
        let mut user = pool.users.get(key).cloned().ok_or_else(Fail::no_user)?;
        let mut to_verify = Vec::new();
        for attr in attrs {
            let value = attr.value.as_ref().map(|v| v.expose().clone()).unwrap_or_default();
            let changed = user.attributes.get(&attr.name) != Some(&value);
            if (attr.name == "email" || attr.name == "phone_number") && changed {
                let explicit = attrs.iter().any(|a| a.name == format!("{}_verified", attr.name));
                if !explicit {
                    user.attributes.insert(format!("{}_verified", attr.name), "false".into());
                    if !by_admin || pool.auto_verified().contains(&attr.name) {
                        to_verify.push(attr.name.clone());
                    }
                }
            }
            user.attributes.insert(attr.name.clone(), value);
        }
        user.modified = self.now();
        Engine::pool_mut(state, pool_id)?.users.insert(key.to_owned(), user);
        let mut deliveries = Vec::new();
        if !by_admin {
            for name in to_verify {
                let purpose = format!("attr:{name}");
                if let Some(d) =
                    self.issue_code(state, pool_id, key, &purpose, "attribute_verification", Some(&name), DAY)?
                {
                    deliveries.push(d);
                }
            }
        }
        self.mark_dirty();
        Ok(deliveries)
    }

    pub(crate) fn update_user_attributes(
        &self,
        input: idp::UpdateUserAttributesRequest,
    ) -> OpResult<idp::UpdateUserAttributesResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let mut state = self.lock();
        let deliveries = self.apply_attributes(&mut state, &pool_id, &key, &input.user_attributes, false)?;
        Ok(idp::UpdateUserAttributesResponse {
            code_delivery_details_list: (!deliveries.is_empty()).then_some(deliveries),
            ..Default::default()
        })
    }

    pub(crate) fn delete_user_attributes(
        &self,
        input: idp::DeleteUserAttributesRequest,
    ) -> OpResult<idp::DeleteUserAttributesResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &pool_id)?;
        let required: Vec<String> = pool.required_attributes().collect();
        let user = pool.users.get_mut(&key).ok_or_else(Fail::no_user)?;
        for name in &input.user_attribute_names {
            if name == "sub" || required.contains(name) {
                return Err(Fail::invalid(format!("Cannot delete the required or non-mutable attribute {name}")));
            }
        }
        for name in &input.user_attribute_names {
            user.attributes.remove(name);
            if name == "email" || name == "phone_number" {
                user.attributes.remove(&format!("{name}_verified"));
            }
        }
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn get_user_attribute_verification_code(
        &self,
        input: idp::GetUserAttributeVerificationCodeRequest,
    ) -> OpResult<idp::GetUserAttributeVerificationCodeResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let name = input.attribute_name.clone();
        let mut state = self.lock();
        let user = Engine::pool(&state, &pool_id)?.users.get(&key).ok_or_else(Fail::no_user)?;
        if !user.attributes.contains_key(&name) || (name != "email" && name != "phone_number") {
            return Err(Fail::invalid(format!(
                "Auto verification not turned on or the attribute {name} cannot be verified."
            )));
        }
        let delivery = self.issue_code(
            &mut state,
            &pool_id,
            &key,
            &format!("attr:{name}"),
            "attribute_verification",
            Some(&name),
            DAY,
        )?;
        Ok(idp::GetUserAttributeVerificationCodeResponse { code_delivery_details: delivery, ..Default::default() })
    }

    pub(crate) fn verify_user_attribute(
        &self,
        input: idp::VerifyUserAttributeRequest,
    ) -> OpResult<idp::VerifyUserAttributeResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &pool_id)?;
        let mut user = pool.users.get(&key).cloned().ok_or_else(Fail::no_user)?;
        self.use_code(&mut user, &format!("attr:{}", input.attribute_name), &input.code)?;
        user.attributes.insert(format!("{}_verified", input.attribute_name), "true".into());
        user.modified = self.now();
        pool.users.insert(key, user);
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn delete_user(&self, input: idp::DeleteUserRequest) -> OpResult<cognito_wire::glue::Empty> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let mut state = self.lock();
        Engine::pool_mut(&mut state, &pool_id)?.users.remove(&key);
        state.refresh_tokens.retain(|_, r| !(r.pool_id == pool_id && r.user_key == key));
        self.mark_dirty();
        Ok(Default::default())
    }

    // ---------------------------------------------------------------- admin

    fn admin_user_key(state: &State, pool_id: &str, username: &str) -> OpResult<String> {
        Engine::pool(state, pool_id)?.find_key(username).ok_or_else(Fail::no_user)
    }

    pub(crate) fn admin_create_user(
        &self,
        input: idp::AdminCreateUserRequest,
    ) -> OpResult<idp::AdminCreateUserResponse> {
        let pool_id = input.user_pool_id.clone();
        let mut state = self.lock();
        let pool = Engine::pool(&state, &pool_id)?;
        let attrs = input.user_attributes.clone().unwrap_or_default();
        check_attributes(pool, &attrs, true)?;
        let resend = input.message_action.as_ref().is_some_and(|a| a.as_str() == "RESEND");
        if resend {
            let key = pool.find_key(input.username.expose()).ok_or_else(Fail::no_user)?;
            let user = pool.users.get(&key).cloned().ok_or_else(Fail::no_user)?;
            return Ok(idp::AdminCreateUserResponse { user: Some(self.user_type(&user)), ..Default::default() });
        }
        let (key, mut user) = self.new_user(pool, input.username.expose(), attribute_map(&attrs))?;
        let temporary = match &input.temporary_password {
            Some(p) => {
                check_policy(pool, p.expose())?;
                p.expose().clone()
            }
            None => generate_temporary_password(),
        };
        user.password = Some(make_password(&pool_id, &user.username, &temporary)?);
        user.status = UserStatusType::ForceChangePassword;
        let suppress = input.message_action.as_ref().is_some_and(|a| a.as_str() == "SUPPRESS");
        let destination = user.attributes.get("email").or_else(|| user.attributes.get("phone_number")).cloned();
        let response_user = self.user_type(&user);
        let username = user.username.clone();
        Engine::pool_mut(&mut state, &pool_id)?.users.insert(key, user);
        if !suppress && let Some(destination) = destination {
            let medium = if destination.contains('@') { "EMAIL" } else { "SMS" };
            let now = self.now();
            self.send(
                &mut state,
                Message {
                    pool_id: pool_id.clone(),
                    username: username.clone(),
                    kind: "admin_invitation".into(),
                    medium: medium.into(),
                    destination,
                    code: temporary.clone(),
                    text: format!("Your username is {username} and temporary password is {temporary}."),
                    time: now,
                },
            );
        }
        self.mark_dirty();
        Ok(idp::AdminCreateUserResponse { user: Some(response_user), ..Default::default() })
    }

    pub(crate) fn user_type(&self, user: &User) -> idp::UserType {
        idp::UserType {
            username: Some(user.username.clone().into()),
            attributes: Some(to_attribute_list(&user.attributes)),
            enabled: Some(user.enabled),
            user_status: Some(user.status.clone()),
            user_create_date: Some(cognito_wire::EpochSeconds::from_secs(user.created)),
            user_last_modified_date: Some(cognito_wire::EpochSeconds::from_secs(user.modified)),
            ..Default::default()
        }
    }

    pub(crate) fn admin_get_user(&self, input: idp::AdminGetUserRequest) -> OpResult<idp::AdminGetUserResponse> {
        let state = self.lock();
        let key = Engine::admin_user_key(&state, &input.user_pool_id, input.username.expose())?;
        let user = Engine::pool(&state, &input.user_pool_id)?.users.get(&key).ok_or_else(Fail::no_user)?;
        Ok(idp::AdminGetUserResponse {
            username: user.username.clone().into(),
            user_attributes: Some(to_attribute_list(&user.attributes)),
            enabled: Some(user.enabled),
            user_status: Some(user.status.clone()),
            user_create_date: Some(cognito_wire::EpochSeconds::from_secs(user.created)),
            user_last_modified_date: Some(cognito_wire::EpochSeconds::from_secs(user.modified)),
            user_mfa_setting_list: Engine::mfa_settings(user).0,
            preferred_mfa_setting: Engine::mfa_settings(user).1,
            ..Default::default()
        })
    }

    pub(crate) fn admin_delete_user(&self, input: idp::AdminDeleteUserRequest) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        let key = Engine::admin_user_key(&state, &input.user_pool_id, input.username.expose())?;
        Engine::pool_mut(&mut state, &input.user_pool_id)?.users.remove(&key);
        let pool_id = input.user_pool_id.clone();
        state.refresh_tokens.retain(|_, r| !(r.pool_id == pool_id && r.user_key == key));
        self.mark_dirty();
        Ok(Default::default())
    }

    fn admin_modify(&self, pool_id: &str, username: &str, f: impl FnOnce(&mut User) -> OpResult<()>) -> OpResult<()> {
        let mut state = self.lock();
        let key = Engine::admin_user_key(&state, pool_id, username)?;
        let user = Engine::pool_mut(&mut state, pool_id)?.users.get_mut(&key).ok_or_else(Fail::no_user)?;
        f(user)?;
        user.modified = self.now();
        self.mark_dirty();
        Ok(())
    }

    pub(crate) fn admin_confirm_sign_up(
        &self,
        input: idp::AdminConfirmSignUpRequest,
    ) -> OpResult<idp::AdminConfirmSignUpResponse> {
        self.admin_modify(&input.user_pool_id, input.username.expose(), |u| {
            if u.status != UserStatusType::Unconfirmed {
                return Err(Fail::not_authorized(format!("User cannot be confirmed. Current status is {}", u.status)));
            }
            u.status = UserStatusType::Confirmed;
            u.codes.remove("sign_up");
            Ok(())
        })?;
        Ok(Default::default())
    }

    pub(crate) fn admin_set_user_password(
        &self,
        input: idp::AdminSetUserPasswordRequest,
    ) -> OpResult<idp::AdminSetUserPasswordResponse> {
        let pool_id = input.user_pool_id.clone();
        let password = input.password.expose().clone();
        {
            let state = self.lock();
            check_policy(Engine::pool(&state, &pool_id)?, &password)?;
        }
        let permanent = input.permanent == Some(true);
        self.admin_modify(&pool_id, input.username.expose(), |u| {
            u.password = Some(make_password(&pool_id, &u.username, &password)?);
            u.status = if permanent { UserStatusType::Confirmed } else { UserStatusType::ForceChangePassword };
            Ok(())
        })?;
        Ok(Default::default())
    }

    pub(crate) fn admin_reset_user_password(
        &self,
        input: idp::AdminResetUserPasswordRequest,
    ) -> OpResult<idp::AdminResetUserPasswordResponse> {
        let mut state = self.lock();
        let key = Engine::admin_user_key(&state, &input.user_pool_id, input.username.expose())?;
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        if let Some(user) = pool.users.get_mut(&key) {
            user.status = UserStatusType::ResetRequired;
        }
        let prefer = ["email", "phone_number"].into_iter().find(|a| {
            pool.users
                .get(&key)
                .is_some_and(|u| u.attributes.get(&format!("{a}_verified")).is_some_and(|v| v == "true"))
        });
        self.issue_code(&mut state, &input.user_pool_id, &key, "forgot_password", "forgot_password", prefer, 3600)?;
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn admin_update_user_attributes(
        &self,
        input: idp::AdminUpdateUserAttributesRequest,
    ) -> OpResult<idp::AdminUpdateUserAttributesResponse> {
        let mut state = self.lock();
        let key = Engine::admin_user_key(&state, &input.user_pool_id, input.username.expose())?;
        self.apply_attributes(&mut state, &input.user_pool_id, &key, &input.user_attributes, true)?;
        Ok(Default::default())
    }

    pub(crate) fn admin_disable_user(
        &self,
        input: idp::AdminDisableUserRequest,
    ) -> OpResult<idp::AdminDisableUserResponse> {
        let now = self.now();
        self.admin_modify(&input.user_pool_id, input.username.expose(), |u| {
            u.enabled = false;
            u.tokens_valid_after = now + 1;
            Ok(())
        })?;
        Ok(Default::default())
    }

    pub(crate) fn admin_enable_user(
        &self,
        input: idp::AdminEnableUserRequest,
    ) -> OpResult<idp::AdminEnableUserResponse> {
        self.admin_modify(&input.user_pool_id, input.username.expose(), |u| {
            u.enabled = true;
            Ok(())
        })?;
        Ok(Default::default())
    }
}

fn username_login<'a>(attributes: &'a BTreeMap<String, String>, username_attrs: &[String]) -> &'a str {
    username_attrs.iter().find_map(|a| attributes.get(a)).map(String::as_str).unwrap_or("")
}

/// A temporary password that satisfies the default policy.
fn generate_temporary_password() -> String {
    let raw = crate::engine::base64url(&crate::engine::random_bytes::<9>());
    format!("Tmp{raw}1!a")
}
