//! Typed `auth` channel events with Amplify's names and payloads.

use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::hub::HubPayload;

/// The capability to dispatch on a hub's `auth` channel, from
/// [`Hub::new_with_auth_key`](crate::Hub::new_with_auth_key). It cannot be
/// built, cloned or used with another hub.
pub struct AuthChannelKey {
    hub_id: u64,
}

impl AuthChannelKey {
    pub(crate) fn new(hub_id: u64) -> Self {
        Self { hub_id }
    }

    pub(crate) fn hub_id(&self) -> u64 {
        self.hub_id
    }
}

impl fmt::Debug for AuthChannelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthChannelKey").finish_non_exhaustive()
    }
}

/// The signed-in user carried by `signedIn` (Amplify's `AuthUser`, as
/// returned by `getCurrentUser`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthUser {
    /// The canonical username.
    pub username: String,
    /// The user's `sub`.
    pub user_id: String,
    /// How the user signed in, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_details: Option<AuthSignInDetails>,
}

/// `signInDetails` as carried in `signedIn`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AuthSignInDetails {
    /// What the user typed to sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    /// The flow, e.g. `USER_SRP_AUTH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_flow_type: Option<String>,
}

/// The error carried by the `*_failure` events (Amplify's `AuthError`
/// subset: `{name, message, recoverySuggestion?}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthEventError {
    /// The error name, e.g. `NotAuthorizedException`.
    pub name: String,
    /// The message.
    pub message: String,
    /// What the user or developer can do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_suggestion: Option<String>,
}

/// An event of the `auth` channel. [`AuthEvent::as_str`] is Amplify's event
/// name; [`AuthEvent::to_payload`] gives Amplify's payload shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// `signedIn`, data: the user.
    SignedIn(AuthUser),
    /// `signedOut`.
    SignedOut,
    /// `tokenRefresh`: new tokens were stored.
    TokenRefresh,
    /// `tokenRefresh_failure`, data `{error?}`.
    TokenRefreshFailure(Option<AuthEventError>),
    /// `signInWithRedirect`: the OAuth redirect completed.
    SignInWithRedirect,
    /// `signInWithRedirect_failure`, data `{error?}`.
    SignInWithRedirectFailure(Option<AuthEventError>),
    /// `customOAuthState`, data: the decoded custom state string.
    CustomOAuthState(String),
    /// `sessionExpired` (amplify-swift; not in Amplify JS): the refresh token
    /// no longer works and the user must sign in again.
    SessionExpired,
    /// `userDeleted` (amplify-swift; not in Amplify JS).
    UserDeleted,
    /// `federatedToIdentityPool`: a token of another provider was exchanged
    /// for identity-pool credentials (amplify-swift's and amplify-android's
    /// federation event; not in Amplify JS, which has no federation call).
    FederatedToIdentityPool,
    /// `federationToIdentityPoolCleared`: the federation ended.
    FederationToIdentityPoolCleared,
}

/// Why a payload is not an [`AuthEvent`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEventParseError {
    /// The event name is not one of the auth events.
    UnknownEvent(String),
    /// The data does not have the event's shape.
    BadData {
        /// The event.
        event: &'static str,
    },
}

impl fmt::Display for AuthEventParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownEvent(e) => write!(f, "unknown auth event {e:?}"),
            Self::BadData { event } => write!(f, "auth event {event} has malformed data"),
        }
    }
}

impl std::error::Error for AuthEventParseError {}

#[derive(Serialize, Deserialize, Default)]
struct ErrorData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<AuthEventError>,
}

impl AuthEvent {
    /// Every event name, in declaration order.
    pub const NAMES: [&'static str; 11] = [
        "signedIn",
        "signedOut",
        "tokenRefresh",
        "tokenRefresh_failure",
        "signInWithRedirect",
        "signInWithRedirect_failure",
        "customOAuthState",
        "sessionExpired",
        "userDeleted",
        "federatedToIdentityPool",
        "federationToIdentityPoolCleared",
    ];

    /// Amplify's event name.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SignedIn(_) => "signedIn",
            Self::SignedOut => "signedOut",
            Self::TokenRefresh => "tokenRefresh",
            Self::TokenRefreshFailure(_) => "tokenRefresh_failure",
            Self::SignInWithRedirect => "signInWithRedirect",
            Self::SignInWithRedirectFailure(_) => "signInWithRedirect_failure",
            Self::CustomOAuthState(_) => "customOAuthState",
            Self::SessionExpired => "sessionExpired",
            Self::UserDeleted => "userDeleted",
            Self::FederatedToIdentityPool => "federatedToIdentityPool",
            Self::FederationToIdentityPoolCleared => "federationToIdentityPoolCleared",
        }
    }

    /// The payload Amplify would dispatch.
    #[must_use]
    pub fn to_payload(&self) -> HubPayload {
        let payload = HubPayload::new(self.as_str());
        let error_data = |e: &Option<AuthEventError>| {
            serde_json::to_value(ErrorData { error: e.clone() }).unwrap_or_else(|_| json!({}))
        };
        match self {
            Self::SignedIn(user) => payload.with_data(serde_json::to_value(user).unwrap_or(Value::Null)),
            Self::TokenRefreshFailure(e) | Self::SignInWithRedirectFailure(e) => payload.with_data(error_data(e)),
            Self::CustomOAuthState(s) => payload.with_data(Value::String(s.clone())),
            Self::SignedOut
            | Self::TokenRefresh
            | Self::SignInWithRedirect
            | Self::SessionExpired
            | Self::UserDeleted
            | Self::FederatedToIdentityPool
            | Self::FederationToIdentityPoolCleared => payload,
        }
    }

    /// Reads an event back from a payload.
    ///
    /// # Errors
    ///
    /// [`AuthEventParseError`] if the name is unknown or the data malformed.
    pub fn from_payload(payload: &HubPayload) -> Result<Self, AuthEventParseError> {
        fn parse<T: for<'de> Deserialize<'de>>(
            data: &Option<Value>,
            event: &'static str,
        ) -> Result<T, AuthEventParseError> {
            T::deserialize(data.as_ref().unwrap_or(&Value::Null)).map_err(|_| AuthEventParseError::BadData { event })
        }
        let errors = |event: &'static str| -> Result<Option<AuthEventError>, AuthEventParseError> {
            match &payload.data {
                None | Some(Value::Null) => Ok(None),
                data => Ok(parse::<ErrorData>(data, event)?.error),
            }
        };
        Ok(match payload.event.as_str() {
            "signedIn" => Self::SignedIn(parse(&payload.data, "signedIn")?),
            "signedOut" => Self::SignedOut,
            "tokenRefresh" => Self::TokenRefresh,
            "tokenRefresh_failure" => Self::TokenRefreshFailure(errors("tokenRefresh_failure")?),
            "signInWithRedirect" => Self::SignInWithRedirect,
            "signInWithRedirect_failure" => Self::SignInWithRedirectFailure(errors("signInWithRedirect_failure")?),
            "customOAuthState" => Self::CustomOAuthState(parse(&payload.data, "customOAuthState")?),
            "sessionExpired" => Self::SessionExpired,
            "userDeleted" => Self::UserDeleted,
            "federatedToIdentityPool" => Self::FederatedToIdentityPool,
            "federationToIdentityPoolCleared" => Self::FederationToIdentityPoolCleared,
            other => return Err(AuthEventParseError::UnknownEvent(other.to_owned())),
        })
    }
}

impl fmt::Display for AuthEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
