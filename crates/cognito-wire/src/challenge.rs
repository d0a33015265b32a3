//! Challenge parameters and responses: the key names, and typed views of
//! the values that carry JSON inside a string (`MFAS_CAN_SETUP`,
//! `MFAS_CAN_CHOOSE`, `requiredAttributes`, `userAttributes`,
//! `CREDENTIAL_REQUEST_OPTIONS`).
//!
//! ```
//! use cognito_wire::challenge;
//! use cognito_wire::cognito_idp::ChallengeNameType;
//!
//! let choices = challenge::mfa_types(r#"["SMS_MFA","SOFTWARE_TOKEN_MFA"]"#).unwrap();
//! assert_eq!(choices, [ChallengeNameType::SmsMfa, ChallengeNameType::SoftwareTokenMfa]);
//! let required = challenge::required_attributes(r#"["userAttributes.email","userAttributes.name"]"#).unwrap();
//! assert_eq!(required, ["email", "name"]);
//! assert_eq!(challenge::encode_mfa_types(&choices), r#"["SMS_MFA","SOFTWARE_TOKEN_MFA"]"#);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::cognito_idp::ChallengeNameType;

/// Key names used in `AuthParameters`, `ChallengeParameters` and `ChallengeResponses`.
pub mod keys {
    /// The username (after SRP: `USER_ID_FOR_SRP`).
    pub const USERNAME: &str = "USERNAME";
    /// The password (USER_PASSWORD_AUTH, PASSWORD challenge).
    pub const PASSWORD: &str = "PASSWORD";
    /// The client's SRP public value.
    pub const SRP_A: &str = "SRP_A";
    /// The server's SRP public value.
    pub const SRP_B: &str = "SRP_B";
    /// The SRP salt.
    pub const SALT: &str = "SALT";
    /// The opaque secret block of PASSWORD_VERIFIER.
    pub const SECRET_BLOCK: &str = "SECRET_BLOCK";
    /// The username the SRP computation uses.
    pub const USER_ID_FOR_SRP: &str = "USER_ID_FOR_SRP";
    /// The echoed secret block.
    pub const PASSWORD_CLAIM_SECRET_BLOCK: &str = "PASSWORD_CLAIM_SECRET_BLOCK";
    /// The SRP claim signature.
    pub const PASSWORD_CLAIM_SIGNATURE: &str = "PASSWORD_CLAIM_SIGNATURE";
    /// The claim's timestamp.
    pub const TIMESTAMP: &str = "TIMESTAMP";
    /// The app-client secret hash.
    pub const SECRET_HASH: &str = "SECRET_HASH";
    /// A remembered device's key.
    pub const DEVICE_KEY: &str = "DEVICE_KEY";
    /// A refresh token (REFRESH_TOKEN_AUTH).
    pub const REFRESH_TOKEN: &str = "REFRESH_TOKEN";
    /// An SMS MFA code.
    pub const SMS_MFA_CODE: &str = "SMS_MFA_CODE";
    /// A TOTP code.
    pub const SOFTWARE_TOKEN_MFA_CODE: &str = "SOFTWARE_TOKEN_MFA_CODE";
    /// An email one-time code.
    pub const EMAIL_OTP_CODE: &str = "EMAIL_OTP_CODE";
    /// An SMS one-time code (USER_AUTH).
    pub const SMS_OTP_CODE: &str = "SMS_OTP_CODE";
    /// The new password (NEW_PASSWORD_REQUIRED).
    pub const NEW_PASSWORD: &str = "NEW_PASSWORD";
    /// An answer (CUSTOM_CHALLENGE, SELECT_MFA_TYPE, SELECT_CHALLENGE).
    pub const ANSWER: &str = "ANSWER";
    /// The email address (MFA_SETUP with EMAIL_OTP).
    pub const EMAIL: &str = "EMAIL";
    /// The preferred first factor (USER_AUTH).
    pub const PREFERRED_CHALLENGE: &str = "PREFERRED_CHALLENGE";
    /// A WebAuthn assertion (JSON string).
    pub const CREDENTIAL: &str = "CREDENTIAL";
    /// The custom-auth challenge name parameter.
    pub const CHALLENGE_NAME: &str = "CHALLENGE_NAME";
    /// How a code was delivered.
    pub const CODE_DELIVERY_DELIVERY_MEDIUM: &str = "CODE_DELIVERY_DELIVERY_MEDIUM";
    /// Where a code was delivered (masked).
    pub const CODE_DELIVERY_DESTINATION: &str = "CODE_DELIVERY_DESTINATION";
    /// The MFA types the user may choose (JSON array in a string).
    pub const MFAS_CAN_CHOOSE: &str = "MFAS_CAN_CHOOSE";
    /// The MFA types the user may set up (JSON array in a string).
    pub const MFAS_CAN_SETUP: &str = "MFAS_CAN_SETUP";
    /// The user's current attributes (JSON object in a string).
    pub const USER_ATTRIBUTES: &str = "userAttributes";
    /// The attributes a new password must come with (JSON array in a string).
    pub const REQUIRED_ATTRIBUTES: &str = "requiredAttributes";
    /// WebAuthn request options (JSON in a string).
    pub const CREDENTIAL_REQUEST_OPTIONS: &str = "CREDENTIAL_REQUEST_OPTIONS";
    /// The prefix of attribute keys in NEW_PASSWORD_REQUIRED responses.
    pub const USER_ATTRIBUTES_PREFIX: &str = "userAttributes.";
}

/// A JSON-in-a-string parameter that does not hold what it should.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterError {
    /// Which parameter.
    pub parameter: &'static str,
    /// What was expected.
    pub expected: &'static str,
}

impl fmt::Display for ParameterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "challenge parameter {} is not {}", self.parameter, self.expected)
    }
}

impl std::error::Error for ParameterError {}

fn string_list(value: &str, parameter: &'static str) -> Result<Vec<String>, ParameterError> {
    let err = ParameterError { parameter, expected: "a JSON array of strings" };
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Array(items)) => {
            items.into_iter().map(|v| if let Value::String(s) = v { Ok(s) } else { Err(err.clone()) }).collect()
        }
        _ => Err(err),
    }
}

/// `MFAS_CAN_CHOOSE` / `MFAS_CAN_SETUP`: `["SMS_MFA","SOFTWARE_TOKEN_MFA"]`.
/// Unknown names are kept as `ChallengeNameType::Unknown`.
pub fn mfa_types(value: &str) -> Result<Vec<ChallengeNameType>, ParameterError> {
    Ok(string_list(value, keys::MFAS_CAN_CHOOSE)?.into_iter().map(ChallengeNameType::from).collect())
}

/// The server side of [`mfa_types`].
pub fn encode_mfa_types(types: &[ChallengeNameType]) -> String {
    Value::Array(types.iter().map(|t| Value::String(t.as_str().to_owned())).collect()).to_string()
}

/// `requiredAttributes`: `["userAttributes.email"]` → `["email"]` (names
/// without the prefix are kept as they are).
pub fn required_attributes(value: &str) -> Result<Vec<String>, ParameterError> {
    Ok(string_list(value, keys::REQUIRED_ATTRIBUTES)?
        .into_iter()
        .map(|name| name.strip_prefix(keys::USER_ATTRIBUTES_PREFIX).map(str::to_owned).unwrap_or(name))
        .collect())
}

/// The server side of [`required_attributes`]: adds the `userAttributes.` prefix.
pub fn encode_required_attributes(names: &[&str]) -> String {
    Value::Array(names.iter().map(|n| Value::String(format!("{}{n}", keys::USER_ATTRIBUTES_PREFIX))).collect())
        .to_string()
}

/// `userAttributes`: a JSON object of attribute names to values. Values that
/// are not strings (`true`, numbers) are turned into their JSON text; `null`
/// values are dropped.
pub fn user_attributes(value: &str) -> Result<BTreeMap<String, String>, ParameterError> {
    let err = ParameterError { parameter: keys::USER_ATTRIBUTES, expected: "a JSON object" };
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) => Ok(map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::Null => None,
                Value::String(s) => Some((k, s)),
                other => Some((k, other.to_string())),
            })
            .collect()),
        _ => Err(err),
    }
}

/// The server side of [`user_attributes`].
pub fn encode_user_attributes<'a>(attributes: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    Value::Object(attributes.into_iter().map(|(k, v)| (k.to_owned(), Value::String(v.to_owned()))).collect())
        .to_string()
}

/// `CREDENTIAL_REQUEST_OPTIONS`: WebAuthn `PublicKeyCredentialRequestOptionsJSON`.
pub fn credential_request_options(value: &str) -> Result<serde_json::Map<String, Value>, ParameterError> {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ParameterError { parameter: keys::CREDENTIAL_REQUEST_OPTIONS, expected: "a JSON object" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_keep_unknown_names() {
        let types = mfa_types(r#"["EMAIL_OTP","SOMETHING_NEW"]"#).unwrap();
        assert_eq!(types, [ChallengeNameType::EmailOtp, ChallengeNameType::Unknown("SOMETHING_NEW".into())]);
        assert_eq!(encode_mfa_types(&types), r#"["EMAIL_OTP","SOMETHING_NEW"]"#);
        assert_eq!(
            required_attributes(&encode_required_attributes(&["email", "custom:x"])).unwrap(),
            ["email", "custom:x"]
        );
        assert_eq!(required_attributes("[\"name\"]").unwrap(), ["name"]);
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in ["", "SMS_MFA", "{}", "[1]", "[\"a\",null]", "[\"unterminated"] {
            assert_eq!(mfa_types(bad).unwrap_err().expected, "a JSON array of strings", "{bad}");
        }
        assert!(user_attributes("[]").is_err());
        assert!(credential_request_options("\"x\"").is_err());
    }

    #[test]
    fn user_attributes_tolerate_non_strings() {
        let attrs = user_attributes(r#"{"email":"a@b.c","email_verified":true,"n":1,"phone_number":null}"#).unwrap();
        assert_eq!(attrs["email"], "a@b.c");
        assert_eq!(attrs["email_verified"], "true");
        assert_eq!(attrs["n"], "1");
        assert!(!attrs.contains_key("phone_number"));
        assert_eq!(user_attributes(&encode_user_attributes([("email", "x@y.z")])).unwrap()["email"], "x@y.z");
    }
}
