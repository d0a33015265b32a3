//! One error type for every call: [`AuthError`].
//!
//! The variants separate what an application reacts to differently: the
//! service said no ([`AuthError::Service`], with Cognito's code), the call
//! makes no sense in the current state, the input was refused before any
//! request, the network failed (and whether the request may have reached
//! Cognito), the server answered something that is not Cognito's protocol,
//! or local storage failed. No variant ever carries a password, token, code
//! or session: messages are built from error codes and field names only.

use std::fmt;

use cognito_wire::{ErrorCode, ResponseError, ServiceError};

/// Whether a failed request may have reached the service (and acted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The request was certainly not sent (connection refused, DNS, TLS
    /// handshake): retrying cannot duplicate anything.
    NotSent,
    /// The request may have been received and processed (timeout or reset
    /// after sending).
    MaybeSent,
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Cognito refused the request: `NotAuthorizedException`,
    /// `CodeMismatchException`, ... with its message and request id.
    Service(ServiceError),
    /// The call is not valid now: no sign-in in progress, the pending sign-in
    /// expired, an answer that does not fit the current step.
    InvalidState(String),
    /// `sign_in` while a user is signed in (Amplify's
    /// `UserAlreadyAuthenticatedException`): sign out first.
    UserAlreadyAuthenticated,
    /// No user is signed in (Amplify's `UserUnAuthenticatedException`).
    NotSignedIn,
    /// The caller's input was refused before any request was made.
    Validation {
        /// The parameter or configuration field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The network failed.
    Transport {
        /// Whether the request may have been processed.
        delivery: Delivery,
        /// What happened (no request or response content).
        message: String,
    },
    /// The server's answer is not Cognito's protocol (an HTML error page, a
    /// body of the wrong shape, a challenge without its parameters).
    Protocol(String),
    /// The token store failed; nothing stored was destroyed.
    Storage(String),
}

impl AuthError {
    /// Cognito's error code, when the service reported one.
    #[must_use]
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Service(err) => Some(&err.code),
            _ => None,
        }
    }

    /// Whether the service reported `code` (by name, e.g.
    /// `"NotAuthorizedException"`).
    #[must_use]
    pub fn is_service(&self, code: &str) -> bool {
        self.code().is_some_and(|c| c.as_str() == code)
    }

    /// Amplify's error `name` for this error: the service code, or a
    /// client-side name (`UserAlreadyAuthenticatedException`,
    /// `UserUnAuthenticatedException`, `NetworkError`, ...).
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Service(err) => err.code.as_str(),
            Self::InvalidState(_) => "InvalidStateException",
            Self::UserAlreadyAuthenticated => "UserAlreadyAuthenticatedException",
            Self::NotSignedIn => "UserUnAuthenticatedException",
            Self::Validation { .. } => "ValidationException",
            Self::Transport { .. } => "NetworkError",
            Self::Protocol(_) => "UnexpectedResponseException",
            Self::Storage(_) => "StorageException",
        }
    }

    /// Whether trying the same call again later may succeed: throttling,
    /// server faults and network failures.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Service(err) => err.is_retryable(),
            Self::Transport { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn invalid_state(message: impl Into<String>) -> Self {
        Self::InvalidState(message.into())
    }

    pub(crate) fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation { field, message: message.into() }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Self::Protocol(message.into())
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(err) => {
                write!(f, "{err}")?;
                if let Some(id) = &err.request_id {
                    write!(f, " (request id {id})")?;
                }
                Ok(())
            }
            Self::InvalidState(message) => write!(f, "invalid state: {message}"),
            Self::UserAlreadyAuthenticated => {
                f.write_str("there is already a signed in user; call sign_out before calling sign_in again")
            }
            Self::NotSignedIn => f.write_str("no user is signed in"),
            Self::Validation { field, message } => write!(f, "invalid {field}: {message}"),
            Self::Transport { delivery, message } => match delivery {
                Delivery::NotSent => write!(f, "network error (request not sent): {message}"),
                Delivery::MaybeSent => write!(f, "network error (request may have been processed): {message}"),
            },
            Self::Protocol(message) => write!(f, "unexpected response: {message}"),
            Self::Storage(message) => write!(f, "token storage failed: {message}"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Service(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ResponseError> for AuthError {
    fn from(err: ResponseError) -> Self {
        match err {
            ResponseError::Service(err) => Self::Service(err),
            ResponseError::Protocol(err) => Self::Protocol(err.to_string()),
        }
    }
}

impl From<token_store::TokenStoreError> for AuthError {
    fn from(err: token_store::TokenStoreError) -> Self {
        Self::Storage(err.to_string())
    }
}

impl From<srp_core::Error> for AuthError {
    fn from(err: srp_core::Error) -> Self {
        // srp-core errors name a field and a reason, never a value.
        Self::Protocol(format!("SRP: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_amplify() {
        let err = AuthError::Service(ServiceError {
            code: ErrorCode::from("NotAuthorizedException"),
            message: Some("Incorrect username or password.".into()),
            request_id: Some("r-1".into()),
            status: 400,
        });
        assert_eq!(err.name(), "NotAuthorizedException");
        assert!(err.is_service("NotAuthorizedException"));
        assert!(!err.is_transient());
        assert_eq!(err.to_string(), "NotAuthorizedException: Incorrect username or password. (request id r-1)");
        assert_eq!(AuthError::UserAlreadyAuthenticated.name(), "UserAlreadyAuthenticatedException");
        assert!(AuthError::Transport { delivery: Delivery::NotSent, message: "refused".into() }.is_transient());
    }
}
