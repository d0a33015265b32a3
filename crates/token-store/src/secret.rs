//! Secrets that zeroize on drop and never print themselves.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// A secret string (a token, a device password): zeroized when dropped,
/// redacted in `Debug`, compared in constant time.
///
/// The only way to read the value is [`SecretString::expose_secret`], so a
/// reader of the calling code sees every place a secret leaves this type.
///
/// Zeroization is best effort: copies made outside this type (by a JSON
/// parser's scratch buffers, the OS page cache, a storage backend) are out of
/// its reach. This crate keeps its own intermediate buffers in
/// [`zeroize::Zeroizing`] where it can.
///
/// ```
/// use token_store::SecretString;
///
/// let s = SecretString::from("eyJraWQiOi...");
/// assert_eq!(format!("{s:?}"), "Secret([redacted])");
/// assert_eq!(s.expose_secret(), "eyJraWQiOi...");
/// ```
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a value; the `String`'s buffer is taken over, not copied.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself. Every call site is a place where the secret leaves
    /// the protection of this type: keep them few.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Length in bytes (not secret for tokens; useful for diagnostics).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is the empty string.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves the value out into a [`Zeroizing`] string, which still wipes
    /// itself on drop.
    #[must_use]
    pub fn into_zeroizing(mut self) -> Zeroizing<String> {
        Zeroizing::new(core::mem::take(&mut self.0))
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<Zeroizing<String>> for SecretString {
    fn from(mut value: Zeroizing<String>) -> Self {
        Self(core::mem::take(&mut *value))
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Zeroize for SecretString {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Constant-time in the contents (the length is not hidden).
impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_eq_compares_contents() {
        let a = SecretString::from("hunter2");
        let b = SecretString::from(String::from("hunter2"));
        let c = SecretString::from("hunter3");
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
        assert_eq!(format!("{a:#?}"), "Secret([redacted])");
        assert!(!format!("{a:?}").contains("hunter"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 7);
        assert_eq!(a.clone().into_zeroizing().as_str(), "hunter2");
    }
}
