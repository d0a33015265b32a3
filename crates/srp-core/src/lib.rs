//! Amazon Cognito's SRP, byte for byte, with no allocator, no clock and no
//! randomness of its own.
//!
//! Cognito user pools authenticate passwords with a variant of SRP-6a
//! (`USER_SRP_AUTH` → `PASSWORD_VERIFIER`) and remembered devices with the
//! same protocol keyed by the device (`DEVICE_SRP_AUTH` →
//! `DEVICE_PASSWORD_VERIFIER`). This crate implements both halves of both,
//! the `ConfirmDevice` verifier and `SECRET_HASH`, matching pycognito,
//! amazon-cognito-identity-js and Amplify JS v6 bit for bit (the vectors in
//! `fixtures/srp/` come from those libraries).
//!
//! Cognito's particulars, all handled here:
//! - N is RFC 3526's 3072-bit prime, g = 2, and `k = H(PAD(N) ‖ PAD(g))`
//!   (not RFC 5054's `k`);
//! - `x = H(PAD(salt) ‖ H(poolName ‖ USER_ID_FOR_SRP ‖ ":" ‖ password))`;
//! - `S = (B − k·g^x)^(a + u·x) mod N` with the exponent not reduced;
//! - the key is HKDF-SHA256 (salt `PAD(u)`, info "Caldera Derived Key"), 16 bytes;
//! - the signature is `HMAC(K, poolName ‖ USER_ID_FOR_SRP ‖ SECRET_BLOCK ‖ TIMESTAMP)`;
//! - `SRP_A` travels as minimal (unpadded) hex; `SALT` is parsed as an
//!   integer before padding; `SECRET_BLOCK` may be URL-safe or unpadded;
//! - `B mod N == 0` and `u == 0` are rejected.
//!
//! # Example: the client half
//!
//! ```
//! use srp_core::{Challenge, ClientEphemeral, Identity, Timestamp};
//!
//! // 1. Before InitiateAuth: a (from 128 random bytes) and SRP_A.
//! let ephemeral = ClientEphemeral::from_random(&[0x7d; 128])?;
//! let srp_a = ephemeral.srp_a(); // AuthParameters.SRP_A
//!
//! // 2. On the PASSWORD_VERIFIER challenge:
//! let srp_b = format!("5a{}", "3c".repeat(383));
//! let secret_block = "Wlpa".repeat(21) + "Wg==";
//! let challenge = Challenge {
//!     srp_b: &srp_b,
//!     salt: "8b3f0c6c21a6c1d7a2b1e2e8d4a3c9f1",
//!     secret_block: &secret_block,
//! };
//! let identity = Identity::user(
//!     "us-east-1_abcdefghi",
//!     "11111111-2222-3333-4444-555555555555", // USER_ID_FOR_SRP
//!     "Passw0rd!Passw0rd!",
//! )?;
//! let timestamp = Timestamp::from_unix_seconds(1_795_332_600)?; // from your clock
//! assert_eq!(timestamp.as_str(), "Sun Nov 22 07:30:00 UTC 2026");
//! let signature = ephemeral.sign(&identity, &challenge, timestamp.as_str())?;
//! assert_eq!(signature.as_str(), "pFIh/dPLE6oUk1dFFkQOL6at63sJEUSEr8y1eDjKDdA=");
//! # Ok::<(), srp_core::Error>(())
//! ```
//!
//! # Example: the server half
//!
//! ```
//! use srp_core::{Challenge, ClientEphemeral, Identity, ServerEphemeral, compute_verifier, compute_x};
//!
//! let pool_id = "us-east-1_abc";
//! let user = Identity::user(pool_id, "alice", "correct horse")?;
//! // At sign-up the server stores a salt and the verifier v = g^x.
//! let salt = "c0ffee00112233445566778899aabbcc";
//! let v = compute_verifier(&compute_x(salt, &user)?);
//!
//! // InitiateAuth: the client sends A, the server answers with B.
//! let client = ClientEphemeral::from_random(&[3; 128])?;
//! let server = ServerEphemeral::from_random(&[5; 32], &v)?;
//! let secret_block = "c2VjcmV0LWJsb2Nr";
//! let challenge = Challenge { srp_b: &server.srp_b(), salt, secret_block };
//! let timestamp = "Tue Nov 3 07:04:05 UTC 2026";
//! let signature = client.sign(&user, &challenge, timestamp)?;
//!
//! // RespondToAuthChallenge: the server checks the claim.
//! server.verify(user.public(), &v, &client.srp_a(), secret_block, timestamp, &signature)?;
//! let wrong = client.sign(&Identity::user(pool_id, "alice", "wrong")?, &challenge, timestamp)?;
//! assert_eq!(
//!     server.verify(user.public(), &v, &client.srp_a(), secret_block, timestamp, &wrong),
//!     Err(srp_core::Error::SignatureMismatch)
//! );
//! # Ok::<(), srp_core::Error>(())
//! ```
//!
//! # Guarantees
//! - `#![no_std]` and no allocator; the `std` feature only adds
//!   `impl std::error::Error`.
//! - **Never reads the clock or samples randomness**: random bytes and the
//!   Unix time are parameters, so every step is a pure, testable function.
//! - Secret values (`a`, `b`, `x`, `S`, the key, the device password) are
//!   zeroized on drop and redacted in `Debug`; arithmetic on them is
//!   constant-time (fixed-width exponents, constant-time table lookups and
//!   comparisons). Public values (`A`, `B`, `SALT`, `u`) are parsed in
//!   variable time. As in every implementation, the length of `PAD(S)` is part
//!   of the hashed input.
//! - Bad input is an [`Error`], never a panic.

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

mod arith;
#[cfg(feature = "precomputed-tables")]
mod comb;
mod device;
mod encoding;
mod error;
mod fixed;
#[cfg(target_pointer_width = "64")]
mod kernel;
mod srp;
mod timestamp;

pub use arith::{K_HEX, N_HEX};
pub use device::{DevicePassword, DeviceVerifierConfig, decode_device_verifier};
pub use encoding::{MAX_HEX_CHARS, MAX_SALT_DIGITS, MAX_SECRET_BLOCK_CHARS, N_BYTES, PublicValue};
pub use error::{Error, Field};
pub use fixed::FixedStr;
pub use srp::{
    Base64Mac, Challenge, ClientEphemeral, HKDF_INFO, HexString, Identity, PremasterSecret, PrivateKey, PublicIdentity,
    Scrambler, ServerEphemeral, SessionKey, compute_client_premaster, compute_server_premaster, compute_signature,
    compute_u, compute_verifier, compute_x, derive_session_key, pool_name, secret_hash,
};
pub use timestamp::Timestamp;
