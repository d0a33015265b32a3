//! [`TokenStore`]: reads and writes a [`TokenRecord`] as one consistent unit.

use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::record::{DeviceMetadata, SignInDetails, TokenRecord};
use crate::storage::{Batch, KeyValueStorage, StorageError, StoredValue};

/// Amplify's `AUTH_KEY_PREFIX`.
pub const AMPLIFY_KEY_PREFIX: &str = "CognitoIdentityServiceProvider";

/// Prefix of the native layout's keys.
pub const NATIVE_KEY_PREFIX: &str = "amplify-auth";

/// How many times `load` re-reads when a writer changed the user between its
/// two snapshot reads.
const LOAD_ATTEMPTS: usize = 8;

/// How a [`TokenRecord`] is laid out in a [`KeyValueStorage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Layout {
    /// This crate's layout: the session (tokens, clock drift, sign-in
    /// details, username) as one JSON value under
    /// `amplify-auth.<clientId>.session`, and the remembered device, which
    /// outlives sign-out, under `amplify-auth.<clientId>.<username>.device`.
    /// Both are written in one [`Batch`].
    #[default]
    Native,
    /// Amplify JS v6's keys (`DefaultTokenStore`), so a session can be shared
    /// with Amplify JS or amazon-cognito-identity-js:
    ///
    /// | key | value |
    /// |---|---|
    /// | `CognitoIdentityServiceProvider.<clientId>.LastAuthUser` | username |
    /// | `CognitoIdentityServiceProvider.<clientId>.<username>.accessToken` | JWT |
    /// | `….idToken`, `….refreshToken` | JWT, opaque token; removed when absent |
    /// | `….clockDrift` | decimal milliseconds |
    /// | `….signInDetails` | JSON `{"loginId","authFlowType"}`; removed when absent |
    /// | `….deviceKey`, `….deviceGroupKey`, `….randomPasswordKey` | device metadata, kept by `clear_tokens` |
    ///
    /// Every save is one [`Batch`], so with a store whose `apply` is atomic
    /// the keys never mix two sessions (Amplify writes them one by one).
    AmplifyCompat,
}

/// Why a [`TokenStore`] operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenStoreError {
    /// The storage backend failed (I/O, corrupt file, ...).
    Storage(StorageError),
    /// A stored value could not be parsed.
    CorruptValue {
        /// The key holding it.
        key: String,
        /// What is wrong (never quotes the value).
        reason: String,
    },
    /// The stored keys do not form a session (for example `LastAuthUser`
    /// without an access token, as after a partial write by another client).
    Inconsistent {
        /// The key that should be there and is not.
        missing_key: String,
    },
    /// Concurrent writers kept changing the session while it was read.
    Contended,
}

impl fmt::Display for TokenStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Storage(_) => f.write_str("token storage failed"),
            Self::CorruptValue { key, reason } => write!(f, "stored value at {key} is corrupt: {reason}"),
            Self::Inconsistent { missing_key } => {
                write!(f, "stored session is inconsistent: {missing_key} is missing")
            }
            Self::Contended => f.write_str("the stored session kept changing while it was read"),
        }
    }
}

impl std::error::Error for TokenStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Storage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StorageError> for TokenStoreError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

/// Loads and saves [`TokenRecord`]s for one user-pool client.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use token_store::{DeviceMetadata, Layout, MemoryStorage, TokenRecord, TokenStore};
///
/// let kv = Arc::new(MemoryStorage::new());
/// let store = TokenStore::new(kv.clone(), "client123", Layout::AmplifyCompat);
/// let mut rec = TokenRecord::new("alice", "eyJ.access.sig");
/// rec.device = Some(DeviceMetadata::new("dk", "gk", "pw"));
/// store.save(&rec).await?;
/// assert_eq!(store.load().await?, Some(rec));
///
/// store.clear_tokens().await?; // sign-out: tokens go, the device stays
/// assert_eq!(store.load().await?, None);
/// assert!(store.load_device("alice").await?.is_some());
/// # Ok::<(), token_store::TokenStoreError>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct TokenStore {
    kv: Arc<dyn KeyValueStorage>,
    client_id: String,
    layout: Layout,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("kv", &self.kv)
            .field("client_id", &self.client_id)
            .field("layout", &self.layout)
            .finish()
    }
}

/// The Amplify JS per-user key suffixes.
mod amplify_keys {
    pub(super) const ACCESS: &str = "accessToken";
    pub(super) const ID: &str = "idToken";
    pub(super) const REFRESH: &str = "refreshToken";
    pub(super) const CLOCK_DRIFT: &str = "clockDrift";
    pub(super) const SIGN_IN_DETAILS: &str = "signInDetails";
    pub(super) const OAUTH_METADATA: &str = "oauthMetadata";
    pub(super) const DEVICE_KEY: &str = "deviceKey";
    pub(super) const DEVICE_GROUP_KEY: &str = "deviceGroupKey";
    pub(super) const RANDOM_PASSWORD: &str = "randomPasswordKey";
    /// Removed by Amplify's `clearTokens` (besides `LastAuthUser`).
    pub(super) const TOKEN_KEYS: [&str; 6] = [ACCESS, ID, CLOCK_DRIFT, REFRESH, SIGN_IN_DETAILS, OAUTH_METADATA];
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NativeSessionOut<'a> {
    v: u32,
    username: &'a str,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    clock_drift_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_in_details: Option<&'a SignInDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NativeSessionIn {
    v: u32,
    username: String,
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    clock_drift_ms: i64,
    #[serde(default)]
    sign_in_details: Option<SignInDetails>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NativeDeviceOut<'a> {
    v: u32,
    device_key: &'a str,
    device_group_key: &'a str,
    random_password: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NativeDeviceIn {
    v: u32,
    device_key: String,
    device_group_key: String,
    random_password: String,
}

fn to_json<T: Serialize>(key: &str, value: &T) -> Result<Zeroizing<String>, TokenStoreError> {
    serde_json::to_string(value)
        .map(Zeroizing::new)
        .map_err(|e| TokenStoreError::CorruptValue { key: key.to_owned(), reason: e.to_string() })
}

fn corrupt(key: &str, reason: impl Into<String>) -> TokenStoreError {
    TokenStoreError::CorruptValue { key: key.to_owned(), reason: reason.into() }
}

fn from_json<T: for<'de> Deserialize<'de>>(key: &str, value: &str) -> Result<T, TokenStoreError> {
    // serde_json's messages give a position and what was expected, not the
    // input, so the secret does not leak into the error.
    serde_json::from_str(value).map_err(|e| corrupt(key, e.to_string()))
}

/// Amplify stores `${clockDrift}` and reads it with `parseInt`; an empty or
/// non-numeric value (PR #14689: `""` became `NaN` and disabled expiry) is
/// read as 0 here rather than poisoning expiry checks.
fn parse_clock_drift(s: &str) -> i64 {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return v;
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => v.trunc() as i64,
        _ => 0,
    }
}

impl TokenStore {
    /// A store for the app client `client_id` over `kv`.
    pub fn new(kv: Arc<dyn KeyValueStorage>, client_id: impl Into<String>, layout: Layout) -> Self {
        Self { kv, client_id: client_id.into(), layout }
    }

    /// The layout in use.
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The underlying storage.
    #[must_use]
    pub fn storage(&self) -> &Arc<dyn KeyValueStorage> {
        &self.kv
    }

    /// The native layout's session key, `amplify-auth.<clientId>.session`.
    #[must_use]
    pub fn native_session_key(&self) -> String {
        format!("{NATIVE_KEY_PREFIX}.{}.session", self.client_id)
    }

    fn native_device_key(&self, username: &str) -> String {
        format!("{NATIVE_KEY_PREFIX}.{}.{username}.device", self.client_id)
    }

    /// `CognitoIdentityServiceProvider.<clientId>.LastAuthUser`.
    #[must_use]
    pub fn last_auth_user_key(&self) -> String {
        format!("{AMPLIFY_KEY_PREFIX}.{}.LastAuthUser", self.client_id)
    }

    /// `CognitoIdentityServiceProvider.<clientId>.<username>.<name>`, as
    /// Amplify's `createKeysForAuthStorage`.
    #[must_use]
    pub fn amplify_user_key(&self, username: &str, name: &str) -> String {
        format!("{AMPLIFY_KEY_PREFIX}.{}.{username}.{name}", self.client_id)
    }

    /// Loads the session: `Ok(None)` if there is none, an error if what is
    /// stored is corrupt or does not form a session. All values come from one
    /// snapshot of the storage (see [`KeyValueStorage::get_many`]).
    ///
    /// # Errors
    ///
    /// [`TokenStoreError`] as described.
    pub async fn load(&self) -> Result<Option<TokenRecord>, TokenStoreError> {
        match self.layout {
            Layout::Native => self.load_native().await,
            Layout::AmplifyCompat => self.load_compat().await,
        }
    }

    /// Saves the session as one atomic batch. A `None` device leaves the
    /// stored device of this user as it is.
    ///
    /// With [`Layout::AmplifyCompat`], if `LastAuthUser` names another user,
    /// that user's token keys are removed in the same batch (their device
    /// keys stay). That check reads before it writes; if two processes save
    /// different users at once, a stale user's token keys may be left behind,
    /// unreferenced: `load` only reads the keys of `LastAuthUser`, which is
    /// always written in the same batch as its tokens.
    ///
    /// # Errors
    ///
    /// [`TokenStoreError::Storage`] if the backend fails; nothing is
    /// partially written when its `apply` is atomic.
    pub async fn save(&self, record: &TokenRecord) -> Result<(), TokenStoreError> {
        let mut batch = Batch::new();
        match self.layout {
            Layout::Native => {
                let key = self.native_session_key();
                let session = NativeSessionOut {
                    v: 1,
                    username: &record.username,
                    access_token: record.access_token.expose_secret(),
                    id_token: record.id_token.as_ref().map(|t| t.expose_secret()),
                    refresh_token: record.refresh_token.as_ref().map(|t| t.expose_secret()),
                    clock_drift_ms: record.clock_drift_ms,
                    sign_in_details: record.sign_in_details.as_ref(),
                };
                let json = to_json(&key, &session)?;
                batch.set(key, json.as_str());
                if let Some(device) = &record.device {
                    self.native_device_ops(&mut batch, &record.username, device)?;
                }
            }
            Layout::AmplifyCompat => {
                use amplify_keys::*;
                // If another user's session is stored, remove its tokens in
                // the same batch (its device keys stay, as on sign-out).
                let lau_key = self.last_auth_user_key();
                if let Some(previous) = self.kv.get(&lau_key).await?
                    && previous.as_str() != record.username
                {
                    for name in TOKEN_KEYS {
                        batch.remove(self.amplify_user_key(&previous, name));
                    }
                }
                let k = |name: &str| self.amplify_user_key(&record.username, name);
                batch.set(lau_key, record.username.as_str());
                batch.set(k(ACCESS), record.access_token.expose_secret());
                match &record.id_token {
                    Some(t) => batch.set(k(ID), t.expose_secret()),
                    None => batch.remove(k(ID)),
                };
                match &record.refresh_token {
                    Some(t) => batch.set(k(REFRESH), t.expose_secret()),
                    None => batch.remove(k(REFRESH)),
                };
                if let Some(device) = &record.device {
                    self.compat_device_ops(&mut batch, &record.username, device);
                }
                match &record.sign_in_details {
                    Some(d) => {
                        let json = to_json(&k(SIGN_IN_DETAILS), d)?;
                        batch.set(k(SIGN_IN_DETAILS), json.as_str())
                    }
                    None => batch.remove(k(SIGN_IN_DETAILS)),
                };
                batch.set(k(CLOCK_DRIFT), record.clock_drift_ms.to_string());
            }
        }
        self.kv.apply(&batch).await?;
        Ok(())
    }

    /// Removes the session (sign-out) and keeps every stored device, as
    /// Amplify's `clearTokens` does. One atomic batch.
    ///
    /// # Errors
    ///
    /// [`TokenStoreError::Storage`] if the backend fails.
    pub async fn clear_tokens(&self) -> Result<(), TokenStoreError> {
        let mut batch = Batch::new();
        match self.layout {
            Layout::Native => {
                batch.remove(self.native_session_key());
            }
            Layout::AmplifyCompat => {
                let lau_key = self.last_auth_user_key();
                if let Some(user) = self.kv.get(&lau_key).await? {
                    for name in amplify_keys::TOKEN_KEYS {
                        batch.remove(self.amplify_user_key(&user, name));
                    }
                }
                batch.remove(lau_key);
            }
        }
        self.kv.apply(&batch).await?;
        Ok(())
    }

    /// The device remembered for `username`, if all of its parts are stored.
    ///
    /// # Errors
    ///
    /// [`TokenStoreError`] if the storage fails or the value is corrupt.
    pub async fn load_device(&self, username: &str) -> Result<Option<DeviceMetadata>, TokenStoreError> {
        match self.layout {
            Layout::Native => {
                let key = self.native_device_key(username);
                let values = self.kv.get_many(&[key.as_str()]).await?;
                match values.into_iter().next().flatten() {
                    Some(v) => Ok(Some(self.parse_native_device(&key, &v)?)),
                    None => Ok(None),
                }
            }
            Layout::AmplifyCompat => {
                let keys = self.compat_device_keys(username);
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                let mut values = self.kv.get_many(&refs).await?.into_iter();
                let (dk, gk, pw) = (values.next().flatten(), values.next().flatten(), values.next().flatten());
                Ok(compat_device(dk, gk, pw))
            }
        }
    }

    /// Stores a device for `username` (after `ConfirmDevice`), atomically.
    ///
    /// # Errors
    ///
    /// [`TokenStoreError::Storage`] if the backend fails.
    pub async fn save_device(&self, username: &str, device: &DeviceMetadata) -> Result<(), TokenStoreError> {
        let mut batch = Batch::new();
        match self.layout {
            Layout::Native => self.native_device_ops(&mut batch, username, device)?,
            Layout::AmplifyCompat => self.compat_device_ops(&mut batch, username, device),
        }
        self.kv.apply(&batch).await?;
        Ok(())
    }

    /// Forgets the device of `username` (`forgetDevice`, or Cognito's
    /// "Device does not exist"). One atomic batch.
    ///
    /// # Errors
    ///
    /// [`TokenStoreError::Storage`] if the backend fails.
    pub async fn clear_device(&self, username: &str) -> Result<(), TokenStoreError> {
        let mut batch = Batch::new();
        match self.layout {
            Layout::Native => {
                batch.remove(self.native_device_key(username));
            }
            Layout::AmplifyCompat => {
                for key in self.compat_device_keys(username) {
                    batch.remove(key);
                }
            }
        }
        self.kv.apply(&batch).await?;
        Ok(())
    }

    fn native_device_ops(
        &self,
        batch: &mut Batch,
        username: &str,
        device: &DeviceMetadata,
    ) -> Result<(), TokenStoreError> {
        let key = self.native_device_key(username);
        let json = to_json(
            &key,
            &NativeDeviceOut {
                v: 1,
                device_key: &device.device_key,
                device_group_key: &device.device_group_key,
                random_password: device.random_password.expose_secret(),
            },
        )?;
        batch.set(key, json.as_str());
        Ok(())
    }

    fn compat_device_ops(&self, batch: &mut Batch, username: &str, device: &DeviceMetadata) {
        use amplify_keys::*;
        // Amplify writes deviceKey and deviceGroupKey only when non-empty and
        // randomPasswordKey always.
        if !device.device_key.is_empty() {
            batch.set(self.amplify_user_key(username, DEVICE_KEY), device.device_key.as_str());
        }
        if !device.device_group_key.is_empty() {
            batch.set(self.amplify_user_key(username, DEVICE_GROUP_KEY), device.device_group_key.as_str());
        }
        batch.set(self.amplify_user_key(username, RANDOM_PASSWORD), device.random_password.expose_secret());
    }

    fn compat_device_keys(&self, username: &str) -> [String; 3] {
        use amplify_keys::*;
        [
            self.amplify_user_key(username, DEVICE_KEY),
            self.amplify_user_key(username, DEVICE_GROUP_KEY),
            self.amplify_user_key(username, RANDOM_PASSWORD),
        ]
    }

    fn parse_native_device(&self, key: &str, value: &str) -> Result<DeviceMetadata, TokenStoreError> {
        let d: NativeDeviceIn = from_json(key, value)?;
        if d.v != 1 {
            return Err(corrupt(key, format!("unsupported version {}", d.v)));
        }
        Ok(DeviceMetadata {
            device_key: d.device_key,
            device_group_key: d.device_group_key,
            random_password: d.random_password.into(),
        })
    }

    async fn load_native(&self) -> Result<Option<TokenRecord>, TokenStoreError> {
        let session_key = self.native_session_key();
        let mut first = match self.kv.get_many(&[session_key.as_str()]).await?.into_iter().next().flatten() {
            Some(v) => v,
            None => return Ok(None),
        };
        for _ in 0..LOAD_ATTEMPTS {
            let session: NativeSessionIn = from_json(&session_key, &first)?;
            if session.v != 1 {
                return Err(corrupt(&session_key, format!("unsupported version {}", session.v)));
            }
            let device_key = self.native_device_key(&session.username);
            let mut snap = self.kv.get_many(&[session_key.as_str(), device_key.as_str()]).await?.into_iter();
            let (again, device) = (snap.next().flatten(), snap.next().flatten());
            let Some(again) = again else {
                return Ok(None); // signed out in between
            };
            if again != first {
                // Another writer replaced the session between the reads; the
                // device we read may belong to another user. Read again.
                first = again;
                continue;
            }
            let device = match device {
                Some(v) => Some(self.parse_native_device(&device_key, &v)?),
                None => None,
            };
            return Ok(Some(TokenRecord {
                username: session.username,
                access_token: session.access_token.into(),
                id_token: session.id_token.map(Into::into),
                refresh_token: session.refresh_token.map(Into::into),
                clock_drift_ms: session.clock_drift_ms,
                sign_in_details: session.sign_in_details,
                device,
            }));
        }
        Err(TokenStoreError::Contended)
    }

    async fn load_compat(&self) -> Result<Option<TokenRecord>, TokenStoreError> {
        use amplify_keys::*;
        let lau_key = self.last_auth_user_key();
        let Some(mut user) = self.kv.get_many(&[lau_key.as_str()]).await?.into_iter().next().flatten() else {
            return Ok(None);
        };
        for _ in 0..LOAD_ATTEMPTS {
            let names =
                [ACCESS, ID, REFRESH, CLOCK_DRIFT, SIGN_IN_DETAILS, DEVICE_KEY, DEVICE_GROUP_KEY, RANDOM_PASSWORD];
            let mut keys = vec![lau_key.clone()];
            keys.extend(names.iter().map(|n| self.amplify_user_key(&user, n)));
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let mut v = self.kv.get_many(&refs).await?.into_iter();
            let mut next = || v.next().flatten();
            let Some(lau_again) = next() else {
                return Ok(None);
            };
            if lau_again != user {
                user = lau_again;
                continue;
            }
            let (access, id, refresh, drift, details) = (next(), next(), next(), next(), next());
            let (dk, gk, pw) = (next(), next(), next());
            let Some(access) = access else {
                return Err(TokenStoreError::Inconsistent { missing_key: self.amplify_user_key(&user, ACCESS) });
            };
            let sign_in_details = match details {
                Some(s) => Some(from_json::<SignInDetails>(&self.amplify_user_key(&user, SIGN_IN_DETAILS), &s)?),
                None => None,
            };
            return Ok(Some(TokenRecord {
                username: user.to_string(),
                access_token: access.into(),
                id_token: id.map(Into::into),
                refresh_token: refresh.map(Into::into),
                clock_drift_ms: drift.as_deref().map_or(0, |s| parse_clock_drift(s)),
                sign_in_details,
                device: compat_device(dk, gk, pw),
            }));
        }
        Err(TokenStoreError::Contended)
    }
}

/// Amplify returns device metadata only when all three parts are stored.
fn compat_device(dk: Option<StoredValue>, gk: Option<StoredValue>, pw: Option<StoredValue>) -> Option<DeviceMetadata> {
    match (dk, gk, pw) {
        (Some(dk), Some(gk), Some(pw)) if !dk.is_empty() && !gk.is_empty() && !pw.is_empty() => Some(DeviceMetadata {
            device_key: dk.to_string(),
            device_group_key: gk.to_string(),
            random_password: pw.into(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_clock_drift;

    #[test]
    fn clock_drift_parsing_never_yields_garbage() {
        assert_eq!(parse_clock_drift("-1500"), -1500);
        assert_eq!(parse_clock_drift(" 42 "), 42);
        assert_eq!(parse_clock_drift("12.9"), 12);
        assert_eq!(parse_clock_drift(""), 0);
        assert_eq!(parse_clock_drift("NaN"), 0);
        assert_eq!(parse_clock_drift("Infinity"), 0);
        assert_eq!(parse_clock_drift("abc"), 0);
    }
}
