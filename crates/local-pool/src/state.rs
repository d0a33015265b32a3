//! The pool's data: pools, app clients, users, groups, refresh tokens and
//! the outbox. Pool and client settings are kept as the wire types
//! themselves (`UserPoolType`, `UserPoolClientType`), so `Describe*` answers
//! exactly what `Create*`/`Update*` stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use cognito_wire::cognito_idp::{ChallengeNameType, GroupType, UserPoolClientType, UserPoolType, UserStatusType};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::tokens::{SigningKey, StoredKey};

/// Everything the pool knows, persisted with `--data-dir`. Sessions of
/// unfinished sign-ins are persisted too (so a pool restarted between a
/// challenge and its answer still accepts the answer, as Cognito would),
/// except the SRP verifier rounds, whose server secret never leaves memory.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) pools: BTreeMap<String, Pool>,
    /// Refresh token → what it stands for.
    pub(crate) refresh_tokens: HashMap<String, RefreshRecord>,
    /// `origin_jti`s whose tokens were revoked (RevokeToken).
    pub(crate) revoked_origins: BTreeSet<String>,
    pub(crate) outbox: Vec<Message>,
    #[serde(default, with = "persisted_sessions")]
    pub(crate) sessions: HashMap<String, AuthSession>,
    /// Identity pools (`cognito-identity`) and their identities.
    #[serde(default)]
    pub(crate) identity: IdentityState,
}

/// Counts only: refresh tokens and session ids are map keys here, and the
/// outbox holds codes (an `Engine`, `LocalPool` or `StateSaver` in a log
/// line must not carry them).
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("pools", &self.pools.len())
            .field("refresh_tokens", &self.refresh_tokens.len())
            .field("revoked_origins", &self.revoked_origins.len())
            .field("outbox", &self.outbox.len())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// The on-disk form of [`State::sessions`]: every session but the SRP
/// verifier rounds (their server ephemeral is a secret that is never
/// written; a client answers those within one request anyway).
mod persisted_sessions {
    use std::collections::{BTreeMap, HashMap};

    use cognito_wire::cognito_idp::ChallengeNameType;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use zeroize::Zeroizing;

    use super::{AuthSession, Step};

    #[derive(Serialize, Deserialize)]
    struct Saved {
        session: String,
        pool_id: String,
        client_id: String,
        user_key: String,
        expires: i64,
        step: SavedStep,
    }

    #[derive(Serialize, Deserialize)]
    enum SavedStep {
        NewPasswordRequired,
        Mfa {
            challenge: ChallengeNameType,
            code: Option<String>,
        },
        SelectMfa {
            choices: Vec<ChallengeNameType>,
        },
        DeviceSrpAuth {
            device_key: String,
            skip_mfa: bool,
        },
        SelectChallenge {
            login: String,
            available: Vec<ChallengeNameType>,
        },
        Otp {
            challenge: ChallengeNameType,
            code: String,
        },
        SignUp,
        SignedUp,
        Custom {
            history: Vec<crate::custom::ChallengeResult>,
            private: BTreeMap<String, String>,
            metadata: Option<String>,
            user_not_found: bool,
        },
        MfaSetup {
            choices: Vec<ChallengeNameType>,
            secret: Option<String>,
            verified: bool,
        },
    }

    fn save(step: &Step) -> Option<SavedStep> {
        Some(match step {
            Step::PasswordVerifier { .. } | Step::DevicePasswordVerifier { .. } => return None,
            Step::NewPasswordRequired => SavedStep::NewPasswordRequired,
            Step::Mfa { challenge, code } => {
                SavedStep::Mfa { challenge: challenge.clone(), code: code.as_ref().map(|c| c.to_string()) }
            }
            Step::SelectMfa { choices } => SavedStep::SelectMfa { choices: choices.clone() },
            Step::DeviceSrpAuth { device_key, skip_mfa } => {
                SavedStep::DeviceSrpAuth { device_key: device_key.clone(), skip_mfa: *skip_mfa }
            }
            Step::SelectChallenge { login, available } => {
                SavedStep::SelectChallenge { login: login.clone(), available: available.clone() }
            }
            Step::Otp { challenge, code } => SavedStep::Otp { challenge: challenge.clone(), code: code.to_string() },
            Step::SignUp => SavedStep::SignUp,
            Step::SignedUp => SavedStep::SignedUp,
            Step::Custom { history, private, metadata, user_not_found } => SavedStep::Custom {
                history: history.clone(),
                private: private.clone(),
                metadata: metadata.clone(),
                user_not_found: *user_not_found,
            },
            Step::MfaSetup { choices, secret, verified } => SavedStep::MfaSetup {
                choices: choices.clone(),
                secret: secret.as_ref().map(|s| s.to_string()),
                verified: *verified,
            },
        })
    }

    fn load(step: SavedStep) -> Step {
        match step {
            SavedStep::NewPasswordRequired => Step::NewPasswordRequired,
            SavedStep::Mfa { challenge, code } => Step::Mfa { challenge, code: code.map(Zeroizing::new) },
            SavedStep::SelectMfa { choices } => Step::SelectMfa { choices },
            SavedStep::DeviceSrpAuth { device_key, skip_mfa } => Step::DeviceSrpAuth { device_key, skip_mfa },
            SavedStep::SelectChallenge { login, available } => Step::SelectChallenge { login, available },
            SavedStep::Otp { challenge, code } => Step::Otp { challenge, code: Zeroizing::new(code) },
            SavedStep::SignUp => Step::SignUp,
            SavedStep::SignedUp => Step::SignedUp,
            SavedStep::Custom { history, private, metadata, user_not_found } => {
                Step::Custom { history, private, metadata, user_not_found }
            }
            SavedStep::MfaSetup { choices, secret, verified } => {
                Step::MfaSetup { choices, secret: secret.map(Zeroizing::new), verified }
            }
        }
    }

    pub(super) fn serialize<S: Serializer>(sessions: &HashMap<String, AuthSession>, s: S) -> Result<S::Ok, S::Error> {
        let saved: Vec<Saved> = sessions
            .iter()
            .filter_map(|(session, a)| {
                Some(Saved {
                    session: session.clone(),
                    pool_id: a.pool_id.clone(),
                    client_id: a.client_id.clone(),
                    user_key: a.user_key.clone(),
                    expires: a.expires,
                    step: save(&a.step)?,
                })
            })
            .collect();
        saved.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<String, AuthSession>, D::Error> {
        let saved = Vec::<Saved>::deserialize(d)?;
        Ok(saved
            .into_iter()
            .map(|v| {
                let session = AuthSession {
                    pool_id: v.pool_id,
                    client_id: v.client_id,
                    user_key: v.user_key,
                    expires: v.expires,
                    step: load(v.step),
                };
                (v.session, session)
            })
            .collect())
    }
}

/// One user pool.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Pool {
    pub(crate) config: UserPoolType,
    pub(crate) clients: BTreeMap<String, UserPoolClientType>,
    /// Keyed by [`Pool::key_of`] of the username.
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) groups: BTreeMap<String, GroupType>,
    pub(crate) key: Option<StoredKey>,
    #[serde(skip)]
    pub(crate) signing: Option<Arc<SigningKey>>,
    /// Which MFA factors the pool offers (SetUserPoolMfaConfig).
    #[serde(default)]
    pub(crate) factors: MfaFactors,
    /// Built-in custom-auth hooks (`--config` `custom_auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) custom_auth: Option<crate::custom::CustomAuthConfig>,
    /// Federated identity providers (CreateIdentityProvider), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) providers: BTreeMap<String, cognito_wire::cognito_idp::IdentityProviderType>,
}

/// The MFA factors a pool offers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MfaFactors {
    pub(crate) sms: bool,
    pub(crate) totp: bool,
    pub(crate) email: bool,
}

/// A user's MFA settings.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct UserMfa {
    pub(crate) sms: bool,
    pub(crate) totp: bool,
    pub(crate) email: bool,
    /// `SMS_MFA`, `SOFTWARE_TOKEN_MFA` or `EMAIL_OTP`.
    pub(crate) preferred: Option<String>,
    /// The verified TOTP secret (base32).
    pub(crate) totp_secret: Option<String>,
    /// A secret from AssociateSoftwareToken not yet verified.
    pub(crate) pending_totp_secret: Option<String>,
}

impl std::fmt::Debug for UserMfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMfa")
            .field("sms", &self.sms)
            .field("totp", &self.totp)
            .field("email", &self.email)
            .field("preferred", &self.preferred)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// The attributes the pool's schema marks `Required`, by name.
    pub(crate) fn required_attributes(&self) -> impl Iterator<Item = String> + '_ {
        self.config
            .schema_attributes
            .iter()
            .flatten()
            .filter(|s| s.required == Some(true))
            .filter_map(|s| s.name.clone())
    }

    /// Usernames are case-insensitive unless the pool says otherwise.
    pub(crate) fn case_sensitive(&self) -> bool {
        self.config.username_configuration.as_ref().is_none_or(|c| c.case_sensitive)
    }

    pub(crate) fn key_of(&self, username: &str) -> String {
        if self.case_sensitive() { username.to_owned() } else { username.to_lowercase() }
    }

    /// Attributes people sign in with instead of a username
    /// (`UsernameAttributes`: the username itself is then a UUID).
    pub(crate) fn username_attributes(&self) -> Vec<String> {
        self.config.username_attributes.iter().flatten().map(|a| a.as_str().to_owned()).collect()
    }

    /// Attributes usable as aliases once verified (`AliasAttributes`).
    pub(crate) fn alias_attributes(&self) -> Vec<String> {
        self.config.alias_attributes.iter().flatten().map(|a| a.as_str().to_owned()).collect()
    }

    pub(crate) fn auto_verified(&self) -> Vec<String> {
        self.config.auto_verified_attributes.iter().flatten().map(|a| a.as_str().to_owned()).collect()
    }

    /// Finds a user by username, or by an email/phone the pool lets people sign in with.
    pub(crate) fn find_key(&self, login: &str) -> Option<String> {
        let key = self.key_of(login);
        if self.users.contains_key(&key) {
            return Some(key);
        }
        for attr in self.username_attributes() {
            let found = self.users.iter().find(|(_, u)| {
                u.attributes
                    .get(&attr)
                    .is_some_and(|v| v == login || (!self.case_sensitive() && v.eq_ignore_ascii_case(login)))
            });
            if let Some((k, _)) = found {
                return Some(k.clone());
            }
        }
        for attr in self.alias_attributes() {
            let verified = format!("{attr}_verified");
            let found = self.users.iter().find(|(_, u)| {
                u.attributes.get(&attr).is_some_and(|v| v.eq_ignore_ascii_case(login))
                    && u.attributes.get(&verified).is_some_and(|v| v == "true")
            });
            if let Some((k, _)) = found {
                return Some(k.clone());
            }
        }
        None
    }
}

/// A stored password: SRP salt and verifier (never the password).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Password {
    pub(crate) salt: String,
    /// `v`, 384 big-endian bytes (hex in the state file).
    #[serde(with = "hex_bytes")]
    pub(crate) verifier: Box<[u8]>,
}

/// Bytes as a hex string in the state file (half the memory of keeping hex).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<[u8]>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd-length hex"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom("not hex"))
            })
            .collect()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<verifier>)")
    }
}

/// A code sent and not yet used.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingCode {
    pub(crate) code: String,
    pub(crate) expires: i64,
}

impl std::fmt::Debug for PendingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCode").field("expires", &self.expires).finish_non_exhaustive()
    }
}

/// One user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) username: String,
    pub(crate) sub: String,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) status: UserStatusType,
    pub(crate) enabled: bool,
    pub(crate) created: i64,
    pub(crate) modified: i64,
    pub(crate) password: Option<Password>,
    pub(crate) groups: BTreeSet<String>,
    /// Purpose (`sign_up`, `forgot_password`, `attr:<name>`) → code.
    pub(crate) codes: BTreeMap<String, PendingCode>,
    pub(crate) failed_attempts: u32,
    pub(crate) locked_until: i64,
    /// Tokens issued before this instant are void (GlobalSignOut).
    pub(crate) tokens_valid_after: i64,
    #[serde(default)]
    pub(crate) mfa: UserMfa,
    /// Device key → device.
    #[serde(default)]
    pub(crate) devices: BTreeMap<String, Device>,
    /// The user's device group key, made with the first device.
    #[serde(default)]
    pub(crate) device_group_key: Option<String>,
}

impl User {
    /// A new enabled user with no password, groups, codes, MFA or devices.
    pub(crate) fn new(
        username: String,
        sub: String,
        attributes: BTreeMap<String, String>,
        status: UserStatusType,
        now: i64,
    ) -> Self {
        Self {
            username,
            sub,
            attributes,
            status,
            enabled: true,
            created: now,
            modified: now,
            password: None,
            groups: BTreeSet::new(),
            codes: BTreeMap::new(),
            failed_attempts: 0,
            locked_until: 0,
            tokens_valid_after: 0,
            mfa: UserMfa::default(),
            devices: BTreeMap::new(),
            device_group_key: None,
        }
    }
}

/// A device issued with NewDeviceMetadata; usable for DEVICE_SRP_AUTH once
/// ConfirmDevice registered its verifier.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Device {
    pub(crate) group_key: String,
    pub(crate) name: Option<String>,
    /// The salt as sent in DEVICE_PASSWORD_VERIFIER (hex); `None` until confirmed.
    pub(crate) salt_hex: Option<String>,
    #[serde(default, with = "opt_hex_bytes")]
    pub(crate) verifier: Option<Box<[u8]>>,
    pub(crate) remembered: bool,
    pub(crate) created: i64,
    pub(crate) modified: i64,
    pub(crate) last_authenticated: i64,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("name", &self.name).field("remembered", &self.remembered).finish_non_exhaustive()
    }
}

mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &Option<Box<[u8]>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::hex_bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<[u8]>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) => super::hex_bytes::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&t)).map(Some),
        }
    }
}

/// What a refresh token stands for.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) user_key: String,
    pub(crate) sub: String,
    pub(crate) origin_jti: String,
    pub(crate) issued: i64,
    pub(crate) expires: i64,
    pub(crate) auth_time: i64,
    /// The device the session was issued to; refresh must name it.
    #[serde(default)]
    pub(crate) device_key: Option<String>,
    /// The access token's `scope` for a hosted-UI session (none: the
    /// API's `aws.cognito.signin.user.admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
}

impl std::fmt::Debug for RefreshRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRecord").field("pool_id", &self.pool_id).finish_non_exhaustive()
    }
}

/// An unfinished sign-in, keyed by its `Session` string.
pub(crate) struct AuthSession {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) user_key: String,
    pub(crate) expires: i64,
    pub(crate) step: Step,
}

impl std::fmt::Debug for AuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession").field("pool_id", &self.pool_id).finish_non_exhaustive()
    }
}

/// Where an unfinished sign-in stands.
pub(crate) enum Step {
    /// PASSWORD_VERIFIER was issued.
    PasswordVerifier {
        server: Box<srp_core::ServerEphemeral>,
        srp_a: String,
        secret_block: Zeroizing<String>,
        /// `None` for a user who does not exist (PreventUserExistenceErrors).
        verifier: Option<Box<srp_core::PublicValue>>,
        /// What a correct (or wrong) claim leads to.
        then: AfterVerifier,
    },
    /// NEW_PASSWORD_REQUIRED was issued.
    NewPasswordRequired,
    /// An MFA code is awaited (`code` for SMS and email; TOTP has none).
    Mfa { challenge: ChallengeNameType, code: Option<Zeroizing<String>> },
    /// SELECT_MFA_TYPE was issued.
    SelectMfa { choices: Vec<ChallengeNameType> },
    /// DEVICE_SRP_AUTH was issued for this device. `skip_mfa`: the
    /// factors so far already satisfy MFA (passwordless, custom auth).
    DeviceSrpAuth { device_key: String, skip_mfa: bool },
    /// DEVICE_PASSWORD_VERIFIER was issued.
    DevicePasswordVerifier {
        server: Box<srp_core::ServerEphemeral>,
        srp_a: String,
        secret_block: Zeroizing<String>,
        device_key: String,
        skip_mfa: bool,
    },
    /// SELECT_CHALLENGE was issued (USER_AUTH). `login` is what the user
    /// typed; `user_key` of the session is empty for a hidden unknown user.
    SelectChallenge { login: String, available: Vec<ChallengeNameType> },
    /// A passwordless first factor (EMAIL_OTP or SMS_OTP) awaits its code.
    Otp { challenge: ChallengeNameType, code: Zeroizing<String> },
    /// SignUp returned this session (for ConfirmSignUp).
    SignUp,
    /// ConfirmSignUp returned this session: InitiateAuth USER_AUTH with it
    /// signs the user in once.
    SignedUp,
    /// CUSTOM_CHALLENGE was issued.
    Custom {
        /// The challenges answered so far.
        history: Vec<crate::custom::ChallengeResult>,
        /// `privateChallengeParameters` from the create hook.
        private: BTreeMap<String, String>,
        /// `challengeMetadata` from the create hook.
        metadata: Option<String>,
        /// The user does not exist (PreventUserExistenceErrors).
        user_not_found: bool,
    },
    /// MFA_SETUP was issued; `secret` once AssociateSoftwareToken ran.
    MfaSetup { choices: Vec<ChallengeNameType>, secret: Option<Zeroizing<String>>, verified: bool },
}

/// What follows PASSWORD_VERIFIER.
pub(crate) enum AfterVerifier {
    /// An ordinary sign-in: MFA, devices, tokens.
    SignIn,
    /// CUSTOM_AUTH that began with SRP_A: the define hook decides.
    Custom { history: Vec<crate::custom::ChallengeResult> },
}

impl State {
    /// Stores an unfinished sign-in and returns its `Session` string.
    pub(crate) fn add_session(
        &mut self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        step: Step,
        expires: i64,
    ) -> String {
        let session = crate::engine::base64url(&crate::engine::random_bytes::<48>());
        self.sessions.insert(
            session.clone(),
            AuthSession {
                pool_id: pool_id.to_owned(),
                client_id: client_id.to_owned(),
                user_key: key.to_owned(),
                expires,
                step,
            },
        );
        session
    }
}

/// A message the pool "sent".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// The pool.
    pub pool_id: String,
    /// The user's username.
    pub username: String,
    /// `sign_up`, `resend`, `forgot_password`, `attribute_verification`,
    /// `mfa`, `otp` (USER_AUTH one-time passwords), `custom_challenge`
    /// (custom-auth hooks), `admin_invitation`.
    pub kind: String,
    /// `EMAIL` or `SMS`.
    pub medium: String,
    /// The address or number it went to.
    pub destination: String,
    /// The code (or temporary password) it carried.
    pub code: String,
    /// The text.
    pub text: String,
    /// When, in Unix seconds.
    pub time: i64,
}

/// Identity pools and identities (`cognito-identity`, see `identity.rs`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct IdentityState {
    /// Identity pool id (`<region>:<uuid>`) → pool.
    #[serde(default)]
    pub(crate) pools: BTreeMap<String, IdentityPoolRecord>,
    /// Identity id (`<region>:<uuid>`) → identity.
    #[serde(default)]
    pub(crate) identities: BTreeMap<String, IdentityRecord>,
    /// The key that signs `GetOpenIdToken` tokens, made on first use.
    #[serde(default)]
    pub(crate) key: Option<StoredKey>,
    #[serde(skip)]
    pub(crate) signing: Option<Arc<SigningKey>>,
}

/// One identity pool: its settings as the wire type, and its roles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdentityPoolRecord {
    pub(crate) config: cognito_wire::cognito_identity::IdentityPool,
    /// `SetIdentityPoolRoles`: `authenticated` / `unauthenticated` → role ARN.
    #[serde(default)]
    pub(crate) roles: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) role_mappings: Option<BTreeMap<String, cognito_wire::cognito_identity::RoleMapping>>,
    pub(crate) created: i64,
}

/// One identity of an identity pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdentityRecord {
    pub(crate) pool_id: String,
    /// Linked logins: provider name (`cognito-idp.<region>.amazonaws.com/<poolId>`)
    /// → the user's `sub`. Empty for a guest (unauthenticated) identity.
    #[serde(default)]
    pub(crate) logins: BTreeMap<String, String>,
    pub(crate) created: i64,
    pub(crate) modified: i64,
}
