//! The pool's logic, without I/O: [`Engine::handle`] takes an
//! `X-Amz-Target` and a body and returns the HTTP response Cognito would
//! send. The HTTP server and the Rust API are thin layers over it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cognito_wire::cognito_idp::{self as idp, operation as op};
use cognito_wire::{BodyError, ErrorCode, Operation, Service, framing};
use http::Response;
use serde_json::{Map, Value};

use crate::state::{Message, Pool, State};
use crate::tokens::SigningKey;

/// A failed operation: the error type and Cognito's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    /// The error type.
    pub code: ErrorCode,
    /// The message.
    pub message: String,
}

impl Fail {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterException, message)
    }
    pub(crate) fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotAuthorizedException, message)
    }
    pub(crate) fn no_pool(pool_id: &str) -> Self {
        Self::new(ErrorCode::ResourceNotFoundException, format!("User pool {pool_id} does not exist."))
    }
    pub(crate) fn no_client(client_id: &str) -> Self {
        Self::new(ErrorCode::ResourceNotFoundException, format!("User pool client {client_id} does not exist."))
    }
    pub(crate) fn no_user() -> Self {
        Self::new(ErrorCode::UserNotFoundException, "User does not exist.")
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalErrorException, message)
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Fail {}

pub(crate) type OpResult<T> = Result<T, Fail>;

/// The largest request body accepted (Cognito's limit is far below this).
pub const MAX_BODY: usize = 1 << 20;

/// The pool engine. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct Engine {
    pub(crate) state: Mutex<State>,
    /// Added to the system clock (tests move time forward).
    clock_offset: AtomicI64,
    /// Set when state changed since the last save.
    pub(crate) dirty: std::sync::atomic::AtomicBool,
    /// The issuer base for tokens (`https://cognito-idp.<region>.amazonaws.com`
    /// unless the server sets its own URL).
    pub(crate) issuer_base: Mutex<Option<String>>,
    /// Custom-auth hooks registered from Rust, by pool id (not persisted).
    pub(crate) custom_hooks: Mutex<std::collections::HashMap<String, crate::custom::CustomAuthHooks>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An empty pool engine.
    pub fn new() -> Self {
        Self::from_state(State::default())
    }

    pub(crate) fn from_state(state: State) -> Self {
        Self {
            state: Mutex::new(state),
            clock_offset: AtomicI64::new(0),
            dirty: std::sync::atomic::AtomicBool::new(false),
            issuer_base: Mutex::new(None),
            custom_hooks: Mutex::new(Default::default()),
        }
    }

    /// The engine's clock, in Unix seconds.
    pub fn now(&self) -> i64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        system + self.clock_offset.load(Ordering::Relaxed)
    }

    /// Moves the engine's clock forward (tests of expiry).
    pub fn advance_clock(&self, seconds: i64) {
        self.clock_offset.fetch_add(seconds, Ordering::Relaxed);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated
        // in a way later requests could not cope with (every mutation is a
        // plain assignment), so a poisoned lock is recovered.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Every message sent so far, optionally for one pool and/or user.
    pub fn outbox(&self, pool_id: Option<&str>, username: Option<&str>) -> Vec<Message> {
        let state = self.lock();
        state
            .outbox
            .iter()
            .filter(|m| pool_id.is_none_or(|p| m.pool_id == p))
            .filter(|m| username.is_none_or(|u| m.username == u || m.destination == u))
            .cloned()
            .collect()
    }

    /// The issuer (`iss`) of a pool's tokens.
    pub(crate) fn issuer(&self, pool_id: &str) -> String {
        let base = self.issuer_base.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        match base {
            Some(base) => format!("{base}/{pool_id}"),
            None => {
                let region = cognito_wire::endpoint::region_from_user_pool_id(pool_id).unwrap_or("us-east-1");
                format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
            }
        }
    }

    /// The pool's signing key, made on first use.
    pub(crate) fn signing_key(&self, pool_id: &str) -> OpResult<Arc<SigningKey>> {
        {
            let mut state = self.lock();
            let pool = state.pools.get_mut(pool_id).ok_or_else(|| Fail::no_pool(pool_id))?;
            if let Some(key) = &pool.signing {
                return Ok(key.clone());
            }
            if let Some(stored) = &pool.key {
                let key = Arc::new(SigningKey::from_stored(stored).map_err(|e| Fail::internal(e.0))?);
                pool.signing = Some(key.clone());
                return Ok(key);
            }
        }
        // Generate outside the lock (tens of milliseconds).
        let kid = base64url(&random_bytes::<24>());
        let key = Arc::new(SigningKey::generate(kid).map_err(|e| Fail::internal(e.0))?);
        let mut state = self.lock();
        let pool = state.pools.get_mut(pool_id).ok_or_else(|| Fail::no_pool(pool_id))?;
        if let Some(existing) = &pool.signing {
            return Ok(existing.clone());
        }
        pool.key = Some(key.to_stored());
        pool.signing = Some(key.clone());
        drop(state);
        self.mark_dirty();
        Ok(key)
    }

    /// The JWKS document of a pool.
    pub fn jwks(&self, pool_id: &str) -> Result<Value, Fail> {
        let key = self.signing_key(pool_id)?;
        Ok(serde_json::json!({ "keys": [key.jwk()] }))
    }

    /// Handles one AWS JSON 1.1 call: the `X-Amz-Target` value and the body.
    pub fn handle(&self, target: &str, body: &[u8]) -> Response<Vec<u8>> {
        let request_id = uuid_v4();
        let result = match framing::parse_target(target) {
            None => Err(Fail::new(
                ErrorCode::Unknown("UnknownOperationException".into()),
                format!("Unknown operation {target}"),
            )),
            Some(info) if info.service == Service::CognitoIdentity => self.dispatch_identity(info.name, body),
            Some(info) => self.dispatch(info.name, body),
        };
        match result {
            Ok(body) => {
                let mut response = framing::success_response(&Value::Null, &request_id);
                *response.body_mut() = body;
                response
            }
            Err(fail) => framing::error_response(&fail.code, &fail.message, &request_id),
        }
    }

    fn dispatch(&self, name: &str, body: &[u8]) -> OpResult<Vec<u8>> {
        dispatch_ops! { self, name, body, op;
            // Sign-up and confirmation.
            SignUp => sign_up,
            ConfirmSignUp => confirm_sign_up,
            ResendConfirmationCode => resend_confirmation_code,
            // Sign-in.
            InitiateAuth => initiate_auth,
            RespondToAuthChallenge => respond_to_auth_challenge,
            AdminInitiateAuth => admin_initiate_auth,
            AdminRespondToAuthChallenge => admin_respond_to_auth_challenge,
            GetTokensFromRefreshToken => get_tokens_from_refresh_token,
            GetUserAuthFactors => get_user_auth_factors,
            RevokeToken => revoke_token,
            GlobalSignOut => global_sign_out,
            AdminUserGlobalSignOut => admin_user_global_sign_out,
            // Passwords.
            ForgotPassword => forgot_password,
            ConfirmForgotPassword => confirm_forgot_password,
            ChangePassword => change_password,
            AdminSetUserPassword => admin_set_user_password,
            AdminResetUserPassword => admin_reset_user_password,
            // The signed-in user.
            GetUser => get_user,
            UpdateUserAttributes => update_user_attributes,
            DeleteUserAttributes => delete_user_attributes,
            GetUserAttributeVerificationCode => get_user_attribute_verification_code,
            VerifyUserAttribute => verify_user_attribute,
            DeleteUser => delete_user,
            // Devices.
            ConfirmDevice => confirm_device,
            UpdateDeviceStatus => update_device_status,
            ListDevices => list_devices,
            GetDevice => get_device,
            ForgetDevice => forget_device,
            AdminListDevices => admin_list_devices,
            AdminGetDevice => admin_get_device,
            AdminForgetDevice => admin_forget_device,
            AdminUpdateDeviceStatus => admin_update_device_status,
            // MFA.
            AssociateSoftwareToken => associate_software_token,
            VerifySoftwareToken => verify_software_token,
            SetUserMFAPreference => set_user_mfa_preference,
            AdminSetUserMFAPreference => admin_set_user_mfa_preference,
            SetUserPoolMfaConfig => set_user_pool_mfa_config,
            GetUserPoolMfaConfig => get_user_pool_mfa_config,
            // Pools and clients.
            CreateUserPool => create_user_pool,
            DescribeUserPool => describe_user_pool,
            UpdateUserPool => update_user_pool,
            ListUserPools => list_user_pools,
            DeleteUserPool => delete_user_pool,
            CreateUserPoolClient => create_user_pool_client,
            DescribeUserPoolClient => describe_user_pool_client,
            UpdateUserPoolClient => update_user_pool_client,
            ListUserPoolClients => list_user_pool_clients,
            DeleteUserPoolClient => delete_user_pool_client,
            // Administration of users and groups.
            AdminCreateUser => admin_create_user,
            AdminGetUser => admin_get_user,
            AdminDeleteUser => admin_delete_user,
            AdminConfirmSignUp => admin_confirm_sign_up,
            AdminUpdateUserAttributes => admin_update_user_attributes,
            AdminDisableUser => admin_disable_user,
            AdminEnableUser => admin_enable_user,
            ListUsers => list_users,
            CreateGroup => create_group,
            GetGroup => get_group,
            ListGroups => list_groups,
            DeleteGroup => delete_group,
            AdminAddUserToGroup => admin_add_user_to_group,
            AdminRemoveUserFromGroup => admin_remove_user_from_group,
            AdminListGroupsForUser => admin_list_groups_for_user,
            ListUsersInGroup => list_users_in_group,
            // Federated identity providers (the hosted UI's mock IdP).
            CreateIdentityProvider => create_identity_provider,
            DescribeIdentityProvider => describe_identity_provider,
            ListIdentityProviders => list_identity_providers,
            DeleteIdentityProvider => delete_identity_provider,
            GetIdentityProviderByIdentifier => get_identity_provider_by_identifier,
        }
    }

    /// Records a message in the outbox (and the log).
    pub(crate) fn send(&self, state: &mut State, message: Message) {
        tracing_line(&format!(
            "outbox: {} {} to {} for {} in {}: code {}",
            message.kind, message.medium, message.destination, message.username, message.pool_id, message.code
        ));
        state.outbox.push(message);
        self.mark_dirty();
    }

    pub(crate) fn pool<'s>(state: &'s State, pool_id: &str) -> OpResult<&'s Pool> {
        state.pools.get(pool_id).ok_or_else(|| Fail::no_pool(pool_id))
    }

    pub(crate) fn pool_mut<'s>(state: &'s mut State, pool_id: &str) -> OpResult<&'s mut Pool> {
        state.pools.get_mut(pool_id).ok_or_else(|| Fail::no_pool(pool_id))
    }

    /// The pool that owns an app client.
    pub(crate) fn pool_of_client(state: &State, client_id: &str) -> OpResult<String> {
        state
            .pools
            .iter()
            .find(|(_, p)| p.clients.contains_key(client_id))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| Fail::no_client(client_id))
    }
}

/// Decodes a request body, mapping decode failures to Cognito's errors.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> OpResult<T> {
    if body.len() > MAX_BODY {
        return Err(Fail::invalid("Request body is too large."));
    }
    cognito_wire::glue::decode_body(body).map_err(|err| match err {
        BodyError::Shape { description, .. } if description.starts_with("missing field") => {
            let member = description.split('`').nth(1).unwrap_or("member").to_owned();
            Fail::invalid(format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"))
        }
        BodyError::Shape { .. } => Fail::new(ErrorCode::Unknown("SerializationException".into()), "Invalid request body."),
        _ => Fail::new(ErrorCode::Unknown("SerializationException".into()), "Start of structure or map found where not expected."),
    })
}

/// One log line on stderr (the server's request log and the outbox).
pub(crate) fn tracing_line(line: &str) {
    if std::env::var_os("LOCAL_POOL_QUIET").is_none() {
        eprintln!("{line}");
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if getrandom::fill(&mut out).is_err() {
        // The OS generator failing is not survivable for a security service;
        // mix in the time so values stay distinct, and say so.
        tracing_line("warning: the operating system's random generator failed");
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for (i, b) in out.iter_mut().enumerate() {
            *b = (t >> ((i % 16) * 8)) as u8 ^ (i as u8);
        }
    }
    out
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random (version 4) UUID.
pub(crate) fn uuid_v4() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A six-digit code.
pub(crate) fn six_digits() -> String {
    let n = u32::from_be_bytes(random_bytes::<4>()) % 1_000_000;
    format!("{n:06}")
}

/// `a***@e***` for email, `+*******1234` for phone numbers (Cognito's masks).
pub(crate) fn mask(destination: &str) -> String {
    if let Some((local, domain)) = destination.split_once('@') {
        let first = local.chars().next().map(String::from).unwrap_or_default();
        let dfirst = domain.chars().next().map(String::from).unwrap_or_default();
        format!("{first}***@{dfirst}***")
    } else {
        let keep: String = destination.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        format!("+*******{keep}")
    }
}

/// Attributes as the wire's `AttributeType` list.
pub(crate) fn to_attribute_list(attributes: &BTreeMap<String, String>) -> Vec<idp::AttributeType> {
    attributes
        .iter()
        .map(|(k, v)| idp::AttributeType { name: k.clone(), value: Some(v.clone().into()), ..Default::default() })
        .collect()
}

pub(crate) fn claims_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Compares secrets (codes, hashes, verifiers) in constant time.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}
