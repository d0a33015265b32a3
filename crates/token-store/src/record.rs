//! The token record: everything a signed-in session needs, stored as a unit.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::SecretString;

/// A signed-in session as stored: tokens, clock drift, sign-in details and
/// the device remembered for the user. Mirrors Amplify's `CognitoAuthTokens`.
///
/// `Debug` never prints a token or the device password.
///
/// ```
/// use token_store::{TokenRecord, DeviceMetadata};
///
/// let mut rec = TokenRecord::new("alice", "eyJ.SECRET-A.sig");
/// rec.refresh_token = Some("SECRET-R".into());
/// rec.device = Some(DeviceMetadata::new("us-east-1_dk", "-grp", "SECRET-P"));
/// let shown = format!("{rec:?}");
/// assert!(!shown.contains("SECRET") && shown.contains("alice") && shown.contains("Secret([redacted])"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// The canonical username (Amplify's `LastAuthUser`: the `username`
    /// claim of the access token, not necessarily what the user typed).
    pub username: String,
    /// The access token (a JWT).
    pub access_token: SecretString,
    /// The ID token (a JWT), if the flow returned one.
    pub id_token: Option<SecretString>,
    /// The refresh token (opaque), absent for the implicit grant.
    pub refresh_token: Option<SecretString>,
    /// `iat * 1000 - now_ms` when the tokens were received: positive when
    /// the server's clock is ahead. See [`crate::clock_drift_ms`].
    pub clock_drift_ms: i64,
    /// How the user signed in (Amplify's `signInDetails`).
    pub sign_in_details: Option<SignInDetails>,
    /// The remembered device. On save, `None` leaves any stored device of
    /// this user in place (as Amplify does); on load, it is what is stored.
    pub device: Option<DeviceMetadata>,
}

impl TokenRecord {
    /// A record with only the username and access token set.
    #[must_use]
    pub fn new(username: impl Into<String>, access_token: impl Into<SecretString>) -> Self {
        Self {
            username: username.into(),
            access_token: access_token.into(),
            id_token: None,
            refresh_token: None,
            clock_drift_ms: 0,
            sign_in_details: None,
            device: None,
        }
    }
}

/// How the session was started: Amplify's `signInDetails`, stored as JSON
/// `{"loginId": ..., "authFlowType": ...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInDetails {
    /// What the user typed to sign in (username, email or phone number).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub login_id: Option<String>,
    /// The flow used.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_flow_type: Option<AuthFlowType>,
}

/// Amplify's `authFlowType` values; unknown values are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthFlowType {
    /// `USER_SRP_AUTH` (Amplify's default).
    UserSrpAuth,
    /// `USER_PASSWORD_AUTH`.
    UserPasswordAuth,
    /// `CUSTOM_WITHOUT_SRP`.
    CustomWithoutSrp,
    /// `CUSTOM_WITH_SRP`.
    CustomWithSrp,
    /// `USER_AUTH` (choice-based).
    UserAuth,
    /// Any other value, kept verbatim.
    Unknown(String),
}

impl AuthFlowType {
    /// The wire spelling.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::UserSrpAuth => "USER_SRP_AUTH",
            Self::UserPasswordAuth => "USER_PASSWORD_AUTH",
            Self::CustomWithoutSrp => "CUSTOM_WITHOUT_SRP",
            Self::CustomWithSrp => "CUSTOM_WITH_SRP",
            Self::UserAuth => "USER_AUTH",
            Self::Unknown(s) => s,
        }
    }
}

impl From<&str> for AuthFlowType {
    fn from(s: &str) -> Self {
        match s {
            "USER_SRP_AUTH" => Self::UserSrpAuth,
            "USER_PASSWORD_AUTH" => Self::UserPasswordAuth,
            "CUSTOM_WITHOUT_SRP" => Self::CustomWithoutSrp,
            "CUSTOM_WITH_SRP" => Self::CustomWithSrp,
            "USER_AUTH" => Self::UserAuth,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for AuthFlowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuthFlowType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthFlowType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from(s.as_str()))
    }
}

/// A remembered device (from `ConfirmDevice`). Amplify keeps it across
/// sign-out so the next sign-in can skip MFA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceMetadata {
    /// `DeviceKey`.
    pub device_key: String,
    /// `DeviceGroupKey`.
    pub device_group_key: String,
    /// The random device password used for device SRP (a secret).
    pub random_password: SecretString,
}

impl DeviceMetadata {
    /// Builds the metadata.
    #[must_use]
    pub fn new(
        device_key: impl Into<String>,
        device_group_key: impl Into<String>,
        random_password: impl Into<SecretString>,
    ) -> Self {
        Self {
            device_key: device_key.into(),
            device_group_key: device_group_key.into(),
            random_password: random_password.into(),
        }
    }
}

/// Amplify's clock drift: `iat * 1000 - now_ms`, positive when the server's
/// clock is ahead of ours. Saturates instead of overflowing.
///
/// ```
/// assert_eq!(token_store::clock_drift_ms(1_700_000_000, 1_700_000_001_500), -1500);
/// ```
#[must_use]
pub fn clock_drift_ms(iat_secs: i64, now_unix_ms: i64) -> i64 {
    iat_secs.saturating_mul(1000).saturating_sub(now_unix_ms)
}
