//! Randomness from the operating system, as typed errors instead of panics.

use crate::AuthError;

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|err| AuthError::Protocol(format!("the system random source failed: {err}")))
}
