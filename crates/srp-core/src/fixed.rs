//! Fixed-capacity ASCII strings, so that outputs need no allocator.

use core::{fmt, ops::Deref};

use zeroize::Zeroize;

/// An ASCII string of at most `N` bytes stored inline.
///
/// Used for the values srp-core produces for the wire (`SRP_A` hex, base64
/// signatures, TIMESTAMP): they have known maximum sizes, so no allocator is
/// needed. It dereferences to `&str`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FixedStr<N> {
    pub(crate) const fn new() -> Self {
        Self { buf: [0; N], len: 0 }
    }

    /// Builds from bytes the caller guarantees are ASCII. Returns `None` if
    /// they do not fit or are not ASCII.
    pub(crate) fn from_ascii(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N || !bytes.is_ascii() {
            return None;
        }
        let mut out = Self::new();
        out.buf[..bytes.len()].copy_from_slice(bytes);
        out.len = bytes.len();
        Some(out)
    }

    pub(crate) fn push(&mut self, byte: u8) {
        debug_assert!(byte.is_ascii());
        if self.len < N {
            self.buf[self.len] = byte;
            self.len += 1;
        }
    }

    pub(crate) fn push_str(&mut self, s: &str) {
        for b in s.bytes() {
            self.push(b);
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written (checked in `from_ascii`, asserted in `push`).
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    /// The string's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Deref for FixedStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for FixedStr<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Display for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<str> for FixedStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for FixedStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> Zeroize for FixedStr<N> {
    fn zeroize(&mut self) {
        self.buf.zeroize();
        self.len.zeroize();
    }
}
