//! Remembered devices: the `ConfirmDevice` verifier and the device password.
//!
//! The `DEVICE_SRP_AUTH` / `DEVICE_PASSWORD_VERIFIER` round itself is the
//! ordinary verifier round with [`Identity::device`]: a fresh
//! [`ClientEphemeral`](crate::ClientEphemeral), `SRP_A` sent with
//! `DEVICE_SRP_AUTH`, and [`ClientEphemeral::sign`](crate::ClientEphemeral::sign)
//! on the `DEVICE_PASSWORD_VERIFIER` challenge.

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::encoding::{self, N_BYTES, PublicValue};
use crate::error::{Error, Field};
use crate::fixed::FixedStr;
use crate::srp::{Identity, PrivateKey, compute_verifier, compute_x};

/// A device's random password as clients store it: base64 of 40 random bytes
/// (56 characters). Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct DevicePassword(FixedStr<56>);

impl DevicePassword {
    /// `base64(random)`, as amazon-cognito-identity-js and Amplify JS make it.
    pub fn from_random(random: &[u8; 40]) -> Self {
        Self(encoding::encode_base64(random))
    }

    /// The password, to store with the device keys and use in [`Identity::device`].
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for DevicePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DevicePassword(<redacted>)")
    }
}

impl Drop for DevicePassword {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// `DeviceSecretVerifierConfig` for `ConfirmDevice`: the salt and password
/// verifier, both base64 as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceVerifierConfig {
    salt: FixedStr<24>,
    password_verifier: FixedStr<516>,
}

impl fmt::Debug for DeviceVerifierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceVerifierConfig")
            .field("salt", &self.salt.as_str())
            .field("password_verifier", &self.password_verifier.as_str())
            .finish()
    }
}

impl DeviceVerifierConfig {
    /// Computes the verifier for a device, from the 16 random salt bytes:
    /// `salt = PAD(int(random))` (15 to 17 bytes),
    /// `x = H(salt ‖ H(group_key ‖ device_key ‖ ":" ‖ password))`,
    /// `PasswordVerifier = base64(PAD(g^x mod N))`, `Salt = base64(salt)`.
    ///
    /// ```
    /// use srp_core::{DevicePassword, DeviceVerifierConfig};
    /// let password = DevicePassword::from_random(&[7u8; 40]);
    /// let config = DeviceVerifierConfig::generate(
    ///     "-kTAbCdEf", "us-east-1_0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
    ///     password.expose_secret(), &[0x8b; 16]).unwrap();
    /// assert_eq!(config.salt().len(), 24); // 17 bytes: the top bit is set
    /// ```
    pub fn generate(
        device_group_key: &str,
        device_key: &str,
        device_password: &str,
        salt_random: &[u8; 16],
    ) -> Result<Self, Error> {
        let identity = Identity::device(device_group_key, device_key, device_password)?;
        let salt_value = PublicValue::from_be_bytes(Field::Salt, salt_random)?;
        let mut salt_bytes = [0u8; 17];
        let mut salt_len = 0;
        encoding::pad(salt_value.minimal_be_bytes(), |p| {
            salt_bytes[salt_len..salt_len + p.len()].copy_from_slice(p);
            salt_len += p.len();
        });
        let salt_hex: FixedStr<34> = encoding::minimal_hex(&salt_bytes[..salt_len]);
        let x: PrivateKey = compute_x(salt_hex.as_str(), &identity)?;
        let verifier = compute_verifier(&x);
        let mut padded = Zeroizing::new([0u8; N_BYTES + 1]);
        let mut padded_len = 0;
        encoding::pad(verifier.minimal_be_bytes(), |p| {
            padded[padded_len..padded_len + p.len()].copy_from_slice(p);
            padded_len += p.len();
        });
        let config = Self {
            salt: encoding::encode_base64(&salt_bytes[..salt_len]),
            password_verifier: encoding::encode_base64(&padded[..padded_len]),
        };
        salt_bytes.zeroize();
        Ok(config)
    }

    /// `DeviceSecretVerifierConfig.Salt`.
    pub fn salt(&self) -> &str {
        self.salt.as_str()
    }

    /// `DeviceSecretVerifierConfig.PasswordVerifier`.
    pub fn password_verifier(&self) -> &str {
        self.password_verifier.as_str()
    }
}

/// Server side: decodes a `DeviceSecretVerifierConfig` received with
/// `ConfirmDevice` into the verifier `v` and the `SALT` hex to send in
/// `DEVICE_PASSWORD_VERIFIER`.
///
/// Returns `(v, salt_hex)`.
pub fn decode_device_verifier(
    salt_b64: &str,
    password_verifier_b64: &str,
) -> Result<(PublicValue, FixedStr<1024>), Error> {
    let mut salt = [0u8; 512];
    let salt_len = encoding::decode_base64_into(Field::Verifier, salt_b64, &mut salt)?;
    if salt_len == 0 {
        return Err(Error::Empty(Field::Verifier));
    }
    let mut verifier = [0u8; N_BYTES + 1];
    let verifier_len = encoding::decode_base64_into(Field::Verifier, password_verifier_b64, &mut verifier)?;
    let v = PublicValue::from_be_bytes(Field::Verifier, &verifier[..verifier_len])?;
    if v.is_zero() {
        return Err(Error::InvalidLength(Field::Verifier));
    }
    Ok((v, encoding::minimal_hex(&salt[..salt_len])))
}
