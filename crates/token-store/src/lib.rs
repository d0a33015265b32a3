//! Crash-safe storage of Cognito sessions, JWT claim decoding, and secrets
//! that zeroize and never print.
//!
//! Amplify JS users' most common complaint is being signed out at random:
//! tokens cleared on a transient error, half-written storage after a crash,
//! refresh races. This crate removes the storage half of that by
//! construction:
//!
//! * A [`TokenRecord`] (access, ID and refresh tokens, clock drift, sign-in
//!   details, device metadata) is written by [`TokenStore::save`] as **one
//!   [`Batch`]**, and every [`KeyValueStorage`] promises that a batch is
//!   atomic. A crash mid-write leaves the old or the new session, never a mix.
//! * [`FileStorage`] keeps one JSON file per user-pool client and writes it
//!   with temp file + `fsync` + `rename` + directory `fsync`, mode `0600` from
//!   creation, under an advisory lock so two processes never interleave. A
//!   damaged file is reported as [`StorageError::Corrupt`] with its path and
//!   is never written over until [`FileStorage::quarantine`] moves it aside.
//! * [`Layout::AmplifyCompat`] reads and writes Amplify JS v6's exact keys
//!   (`CognitoIdentityServiceProvider.<clientId>.<user>.accessToken`,
//!   `LastAuthUser`, ...), so a session can be shared with Amplify JS.
//! * [`Jwt::decode`] reads header and claims (base64url, padded or not, no
//!   verification) into [`JwtClaims`]; malformed input is a [`JwtError`],
//!   never a panic. [`Jwt::is_expired`] applies clock drift and a
//!   configurable tolerance.
//! * Tokens and the device password live in [`SecretString`]: `Debug` prints
//!   `Secret([redacted])`, the memory is wiped on drop.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use token_store::{FileStorage, Layout, TokenRecord, TokenStore, DEFAULT_EXPIRY_TOLERANCE, Jwt};
//!
//! let dir = std::env::temp_dir().join(format!("token-store-lib-doc-{}", std::process::id()));
//! let store = TokenStore::new(
//!     Arc::new(FileStorage::new(dir.join("client123.json"))),
//!     "client123",
//!     Layout::Native,
//! );
//!
//! // {"alg":"none"} . {"username":"alice","exp":1700003600,"iat":1700000000} .
//! let access = "eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxNzAwMDAzNjAwLCJpYXQiOjE3MDAwMDAwMDB9.";
//! let jwt = Jwt::decode(access)?;
//! let mut record = TokenRecord::new(jwt.claims().any_username().unwrap_or_default(), access);
//! record.clock_drift_ms = token_store::clock_drift_ms(jwt.claims().iat.unwrap_or(0), 1_700_000_000_250);
//! store.save(&record).await?;
//!
//! let loaded = store.load().await?.expect("a session was saved");
//! let jwt = Jwt::decode(loaded.access_token.expose_secret())?;
//! // Refresh 5 s before expiry, judged on the server's clock.
//! assert!(!jwt.is_expired(1_700_000_000_250, loaded.clock_drift_ms, DEFAULT_EXPIRY_TOLERANCE));
//! assert!(jwt.is_expired(1_700_003_596_000, loaded.clock_drift_ms, DEFAULT_EXPIRY_TOLERANCE));
//! assert_eq!(format!("{:?}", loaded.access_token), "Secret([redacted])");
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # Choosing a storage
//!
//! | storage | survives restart | atomic `apply` | cross-process |
//! |---|---|---|---|
//! | [`MemoryStorage`] | no | yes | no |
//! | [`FileStorage`] | yes | yes (rename) | yes (lock file) |
//! | your own [`KeyValueStorage`] | yours | you must make it so | yours |
//!
//! The [`KeyValueStorage`] docs show a complete user-implemented store.
//!
//! # What this crate does not do
//!
//! It does not refresh tokens or decide when to clear them: that policy
//! (single-flight refresh, clearing only on definitive auth errors) belongs
//! to the session manager above it. It never verifies JWT signatures.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod jwt;
mod record;
mod secret;
mod storage;
mod store;

pub use jwt::{DEFAULT_EXPIRY_TOLERANCE, Jwt, JwtClaims, JwtError, JwtHeader, Segment, TokenUse};
pub use record::{AuthFlowType, DeviceMetadata, SignInDetails, TokenRecord, clock_drift_ms};
pub use secret::SecretString;
pub use storage::{
    Batch, BatchOp, CorruptReason, FileStorage, KeyValueStorage, MemoryStorage, StorageError, StorageFuture,
    StoredValue,
};
pub use store::{AMPLIFY_KEY_PREFIX, Layout, NATIVE_KEY_PREFIX, TokenStore, TokenStoreError};
