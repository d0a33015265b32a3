//! The error type. Errors are small, `Copy`, and never carry secret material.

use core::fmt;

/// Which input an [`Error`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `AuthParameters.SRP_A` (the client's public ephemeral).
    SrpA,
    /// `ChallengeParameters.SRP_B` (the server's public ephemeral).
    SrpB,
    /// `ChallengeParameters.SALT`.
    Salt,
    /// `ChallengeParameters.SECRET_BLOCK`.
    SecretBlock,
    /// `ChallengeParameters.USER_ID_FOR_SRP`, or a device key in the device round.
    UserId,
    /// The user pool id (`us-east-1_abc123XYZ`).
    PoolId,
    /// The device group key from `NewDeviceMetadata`.
    DeviceGroupKey,
    /// `TIMESTAMP`.
    Timestamp,
    /// `PASSWORD_CLAIM_SIGNATURE`.
    Signature,
    /// The caller-supplied random bytes for a private ephemeral.
    Ephemeral,
    /// A `DeviceSecretVerifierConfig` member (`Salt` or `PasswordVerifier`).
    Verifier,
    /// The app client id (for `SECRET_HASH`).
    ClientId,
}

impl Field {
    /// The name of the field as it appears on the wire (or in prose).
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::SrpA => "SRP_A",
            Field::SrpB => "SRP_B",
            Field::Salt => "SALT",
            Field::SecretBlock => "SECRET_BLOCK",
            Field::UserId => "USER_ID_FOR_SRP",
            Field::PoolId => "pool id",
            Field::DeviceGroupKey => "device group key",
            Field::Timestamp => "TIMESTAMP",
            Field::Signature => "PASSWORD_CLAIM_SIGNATURE",
            Field::Ephemeral => "private ephemeral",
            Field::Verifier => "DeviceSecretVerifierConfig",
            Field::ClientId => "client id",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in the SRP computations.
///
/// Bad input is always an `Error`, never a panic. No variant carries a
/// secret or the offending value; they name the field only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The field was empty.
    Empty(Field),
    /// The field is not hexadecimal.
    InvalidHex(Field),
    /// The field is not base64 (standard or URL-safe, padded or not).
    InvalidBase64(Field),
    /// The field is longer than this implementation accepts.
    TooLong(Field),
    /// The field has the wrong length after decoding.
    InvalidLength(Field),
    /// `SRP_B mod N == 0`: a malicious or broken server. The JS clients
    /// reject this with "B cannot be zero."
    DegenerateB,
    /// `SRP_A mod N == 0`: a malicious or broken client.
    DegenerateA,
    /// `u = H(PAD(A) ‖ PAD(B))` is zero.
    ZeroU,
    /// The caller-supplied random bytes for a private ephemeral are all zero.
    ZeroEphemeral,
    /// The pool id has no `_` separating region and pool name, or an empty name.
    InvalidPoolId,
    /// The TIMESTAMP is not of the form `Tue Nov 3 07:04:05 UTC 2026`.
    InvalidTimestamp,
    /// The Unix time is outside the years 1970 to 9999.
    TimeOutOfRange,
    /// Server side: the client's `PASSWORD_CLAIM_SIGNATURE` does not match.
    SignatureMismatch,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty(field) => write!(f, "{field} is empty"),
            Error::InvalidHex(field) => write!(f, "{field} is not hexadecimal"),
            Error::InvalidBase64(field) => write!(f, "{field} is not valid base64"),
            Error::TooLong(field) => write!(f, "{field} is too long"),
            Error::InvalidLength(field) => write!(f, "{field} has the wrong length"),
            Error::DegenerateB => f.write_str("SRP_B is zero modulo N (B cannot be zero)"),
            Error::DegenerateA => f.write_str("SRP_A is zero modulo N (A cannot be zero)"),
            Error::ZeroU => f.write_str("the scrambling parameter u is zero"),
            Error::ZeroEphemeral => f.write_str("the private ephemeral is zero"),
            Error::InvalidPoolId => f.write_str("the pool id must look like <region>_<pool name>"),
            Error::InvalidTimestamp => f.write_str("TIMESTAMP must look like \"Tue Nov 3 07:04:05 UTC 2026\""),
            Error::TimeOutOfRange => f.write_str("the time is outside the years 1970 to 9999"),
            Error::SignatureMismatch => f.write_str("the password claim signature does not match"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
