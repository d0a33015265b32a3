//! What `sign_in` and `confirm_sign_in` return: Amplify's `nextStep`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use token_store::SecretString;

/// Where a code was sent (Amplify's `codeDeliveryDetails`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeDeliveryDetails {
    /// `SMS`, `EMAIL`, ...
    pub delivery_medium: Option<String>,
    /// The masked destination (`a***@e***`).
    pub destination: Option<String>,
    /// The attribute the code verifies, when Cognito says.
    pub attribute_name: Option<String>,
}

/// An MFA factor as Amplify names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MfaType {
    /// `SMS` (`SMS_MFA`).
    #[serde(rename = "SMS")]
    Sms,
    /// `TOTP` (`SOFTWARE_TOKEN_MFA`).
    #[serde(rename = "TOTP")]
    Totp,
    /// `EMAIL` (`EMAIL_OTP`).
    #[serde(rename = "EMAIL")]
    Email,
}

impl MfaType {
    /// Amplify's name: `SMS`, `TOTP`, `EMAIL`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Totp => "TOTP",
            Self::Email => "EMAIL",
        }
    }

    /// Cognito's challenge name for it.
    #[must_use]
    pub const fn challenge_name(self) -> &'static str {
        match self {
            Self::Sms => "SMS_MFA",
            Self::Totp => "SOFTWARE_TOKEN_MFA",
            Self::Email => "EMAIL_OTP",
        }
    }

    /// From Amplify's name or Cognito's challenge name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SMS" | "SMS_MFA" => Self::Sms,
            "TOTP" | "SOFTWARE_TOKEN_MFA" => Self::Totp,
            "EMAIL" | "EMAIL_OTP" => Self::Email,
            _ => return None,
        })
    }
}

impl fmt::Display for MfaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person needs to enrol an authenticator app: the shared secret and
/// an `otpauth://` URI (for a QR code).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetupDetails {
    /// The base32 shared secret.
    #[serde(with = "crate::steps::secret_serde")]
    pub shared_secret: SecretString,
    /// The username the secret is for (the URI's account by default).
    pub username: String,
}

impl fmt::Debug for TotpSetupDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpSetupDetails")
            .field("shared_secret", &"[redacted]")
            .field("username", &self.username)
            .finish()
    }
}

impl TotpSetupDetails {
    /// `otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}`,
    /// with issuer and account percent-encoded (Amplify leaves them raw,
    /// which breaks on spaces and `:`). `account` defaults to the username.
    #[must_use]
    pub fn setup_uri(&self, issuer: &str, account: Option<&str>) -> String {
        let account = account.unwrap_or(&self.username);
        let issuer = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}",
            percent_encode(account),
            self.shared_secret.expose_secret()
        )
    }
}

/// Serialises a [`SecretString`] as a plain string (for values the caller
/// asked to see, such as a TOTP secret being enrolled).
pub(crate) mod secret_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use token_store::SecretString;

    pub(crate) fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.expose_secret())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        Ok(SecretString::new(String::deserialize(d)?))
    }
}

/// RFC 3986 unreserved characters kept, everything else `%XX`.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The next step of a sign-in (Amplify's `signInStep` with its details).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "signInStep", rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SignInStep {
    /// Signed in.
    Done,
    /// Enter the code sent by SMS (`SMS_MFA`, or `SMS_OTP` as a first factor).
    ConfirmSignInWithSmsCode {
        /// Where it was sent.
        code_delivery_details: CodeDeliveryDetails,
    },
    /// Enter the code from the authenticator app.
    ConfirmSignInWithTotpCode,
    /// Enter the code sent by email (`EMAIL_OTP`, MFA or first factor).
    ConfirmSignInWithEmailCode {
        /// Where it was sent.
        code_delivery_details: CodeDeliveryDetails,
    },
    /// Enter the password (after choosing `PASSWORD` or `PASSWORD_SRP`).
    ConfirmSignInWithPassword,
    /// Choose an MFA factor: answer `SMS`, `TOTP` or `EMAIL`.
    ContinueSignInWithMfaSelection {
        /// The factors offered.
        allowed_mfa_types: Vec<MfaType>,
    },
    /// Choose which MFA factor to set up: answer `TOTP` or `EMAIL`.
    ContinueSignInWithMfaSetupSelection {
        /// The factors offered.
        allowed_mfa_types: Vec<MfaType>,
    },
    /// Enrol an authenticator app, then answer with a code from it.
    ContinueSignInWithTotpSetup {
        /// The secret and setup URI.
        totp_setup_details: TotpSetupDetails,
    },
    /// Answer with the email address to use for MFA.
    ContinueSignInWithEmailSetup,
    /// Choose the first factor (`USER_AUTH`): answer one of the challenges.
    ContinueSignInWithFirstFactorSelection {
        /// `PASSWORD`, `PASSWORD_SRP`, `EMAIL_OTP`, `SMS_OTP`, `WEB_AUTHN`.
        available_challenges: Vec<String>,
    },
    /// Answer the custom challenge.
    ConfirmSignInWithCustomChallenge {
        /// The challenge parameters, as Cognito sent them.
        additional_info: BTreeMap<String, String>,
    },
    /// Choose a new password (and give the missing required attributes).
    ConfirmSignInWithNewPasswordRequired {
        /// Required attributes the user has no value for.
        missing_attributes: Vec<String>,
    },
    /// The password must be reset first (`reset_password`).
    ResetPassword,
    /// The account must be confirmed first (`confirm_sign_up`).
    ConfirmSignUp,
}

impl SignInStep {
    /// Amplify's `signInStep` string.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Done => "DONE",
            Self::ConfirmSignInWithSmsCode { .. } => "CONFIRM_SIGN_IN_WITH_SMS_CODE",
            Self::ConfirmSignInWithTotpCode => "CONFIRM_SIGN_IN_WITH_TOTP_CODE",
            Self::ConfirmSignInWithEmailCode { .. } => "CONFIRM_SIGN_IN_WITH_EMAIL_CODE",
            Self::ConfirmSignInWithPassword => "CONFIRM_SIGN_IN_WITH_PASSWORD",
            Self::ContinueSignInWithMfaSelection { .. } => "CONTINUE_SIGN_IN_WITH_MFA_SELECTION",
            Self::ContinueSignInWithMfaSetupSelection { .. } => "CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION",
            Self::ContinueSignInWithTotpSetup { .. } => "CONTINUE_SIGN_IN_WITH_TOTP_SETUP",
            Self::ContinueSignInWithEmailSetup => "CONTINUE_SIGN_IN_WITH_EMAIL_SETUP",
            Self::ContinueSignInWithFirstFactorSelection { .. } => "CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION",
            Self::ConfirmSignInWithCustomChallenge { .. } => "CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE",
            Self::ConfirmSignInWithNewPasswordRequired { .. } => "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED",
            Self::ResetPassword => "RESET_PASSWORD",
            Self::ConfirmSignUp => "CONFIRM_SIGN_UP",
        }
    }
}

impl fmt::Display for SignInStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of `sign_in` / `confirm_sign_in`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInOutput {
    /// Whether the user is now signed in.
    pub is_signed_in: bool,
    /// What to do next.
    pub next_step: SignInStep,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_uri_is_encoded() {
        let details = TotpSetupDetails { shared_secret: "JBSWY3DPEHPK3PXP".into(), username: "ann@example.com".into() };
        assert_eq!(
            details.setup_uri("My App", None),
            "otpauth://totp/My%20App:ann%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=My%20App"
        );
        assert!(!format!("{details:?}").contains("JBSW"));
    }

    #[test]
    fn step_names_are_amplifys() {
        assert_eq!(SignInStep::ConfirmSignUp.as_str(), "CONFIRM_SIGN_UP");
        let json = serde_json::to_string(&SignInStep::ContinueSignInWithMfaSelection {
            allowed_mfa_types: vec![MfaType::Sms, MfaType::Totp],
        })
        .unwrap_or_default();
        assert_eq!(json, r#"{"signInStep":"CONTINUE_SIGN_IN_WITH_MFA_SELECTION","allowed_mfa_types":["SMS","TOTP"]}"#);
    }
}
