//! Wire encodings: hex integers, `PAD()`, lenient base64.
//!
//! Everything here handles *public* values (`SRP_A`, `SRP_B`, `SALT`,
//! `SECRET_BLOCK`), so parsing may take time that depends on the input.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, Field};
use crate::fixed::FixedStr;

/// Size in bytes of the 3072-bit group modulus N.
pub const N_BYTES: usize = 384;

/// The longest hex string accepted for any integer field, leading zeros
/// included. Cognito's values are at most 768 digits; this leaves room for
/// redundant leading zeros while bounding the work done on hostile input.
pub const MAX_HEX_CHARS: usize = 4096;

/// The longest `SECRET_BLOCK` accepted, in base64 characters (64 KiB).
/// Cognito's are around 1.5 KiB.
pub const MAX_SECRET_BLOCK_CHARS: usize = 64 * 1024;

/// The longest `SALT` accepted, in significant hex digits (512 bytes).
/// Cognito's salts are 16 bytes.
pub const MAX_SALT_DIGITS: usize = 1024;

/// Standard base64 with padding, for output.
pub(crate) const B64_STANDARD: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Standard alphabet, padding optional: the lenient decoder used on input
/// after URL-safe characters have been mapped to standard ones.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A non-negative integer below 2^3072 that travels in public (`SRP_A`,
/// `SRP_B`, the verifier `v`), kept as 384 big-endian bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicValue {
    be: [u8; N_BYTES],
}

impl core::fmt::Debug for PublicValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicValue({})", self.to_hex())
    }
}

impl PublicValue {
    /// Parses a hex string as Cognito's JS clients do: case-insensitive, any
    /// length (odd included), redundant leading zeros allowed.
    pub fn from_hex(field: Field, hex: &str) -> Result<Self, Error> {
        let digits = significant_hex_digits(field, hex, N_BYTES * 2)?;
        let mut be = [0u8; N_BYTES];
        // Fill from the right, two digits per byte.
        let mut pos = N_BYTES;
        let mut chunk_end = digits.len();
        while chunk_end > 0 {
            let chunk_start = chunk_end.saturating_sub(2);
            let mut byte = 0u8;
            for &c in &digits[chunk_start..chunk_end] {
                byte = (byte << 4) | hex_nibble(c).ok_or(Error::InvalidHex(field))?;
            }
            pos -= 1;
            be[pos] = byte;
            chunk_end = chunk_start;
        }
        Ok(Self { be })
    }

    /// Builds from big-endian bytes (leading zeros allowed).
    pub fn from_be_bytes(field: Field, bytes: &[u8]) -> Result<Self, Error> {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let significant = &bytes[start..];
        if significant.len() > N_BYTES {
            return Err(Error::TooLong(field));
        }
        let mut be = [0u8; N_BYTES];
        be[N_BYTES - significant.len()..].copy_from_slice(significant);
        Ok(Self { be })
    }

    pub(crate) const fn from_array(be: [u8; N_BYTES]) -> Self {
        Self { be }
    }

    /// The value as 384 big-endian bytes.
    pub fn as_be_bytes(&self) -> &[u8; N_BYTES] {
        &self.be
    }

    /// The value's big-endian bytes without leading zeros (empty for zero).
    pub fn minimal_be_bytes(&self) -> &[u8] {
        let start = self.be.iter().position(|&b| b != 0).unwrap_or(N_BYTES);
        &self.be[start..]
    }

    /// Minimal lowercase hex, as `SRP_A`/`SRP_B` travel (`"0"` for zero).
    pub fn to_hex(&self) -> FixedStr<{ N_BYTES * 2 }> {
        minimal_hex(self.minimal_be_bytes())
    }

    /// `PAD(value)` as bytes, fed to `update` (see [`pad`]).
    pub(crate) fn update_padded(&self, update: impl FnMut(&[u8])) {
        pad(self.minimal_be_bytes(), update);
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.be.iter().all(|&b| b == 0)
    }
}

/// `PAD(x)` from the Cognito clients (Java `BigInteger.toByteArray()` form):
/// the minimal big-endian bytes of `x`, with a `00` byte in front when the top
/// bit is set; zero is the single byte `00`. `update` receives the pieces.
pub(crate) fn pad(minimal: &[u8], mut update: impl FnMut(&[u8])) {
    match minimal.first() {
        None => update(&[0]),
        Some(&first) => {
            if first & 0x80 != 0 {
                update(&[0]);
            }
            update(minimal);
        }
    }
}

/// Lowercase hex of `minimal` without leading zero digits (`"0"` if empty).
pub(crate) fn minimal_hex<const N: usize>(minimal: &[u8]) -> FixedStr<N> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = FixedStr::new();
    let mut started = false;
    for &byte in minimal {
        for nibble in [byte >> 4, byte & 0x0f] {
            if nibble != 0 || started {
                started = true;
                out.push(DIGITS[usize::from(nibble)]);
            }
        }
    }
    if !started {
        out.push(b'0');
    }
    out
}

pub(crate) fn hex_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Validates `hex` and returns its digits without leading zeros.
fn significant_hex_digits(field: Field, hex: &str, max_digits: usize) -> Result<&[u8], Error> {
    let bytes = hex.as_bytes();
    if bytes.is_empty() {
        return Err(Error::Empty(field));
    }
    if bytes.len() > MAX_HEX_CHARS {
        return Err(Error::TooLong(field));
    }
    if !bytes.iter().all(u8::is_ascii_hexdigit) {
        return Err(Error::InvalidHex(field));
    }
    let start = bytes.iter().position(|&c| c != b'0').unwrap_or(bytes.len());
    let digits = &bytes[start..];
    if digits.len() > max_digits {
        return Err(Error::TooLong(field));
    }
    Ok(digits)
}

/// Feeds `PAD(int(hex))` to `update` without storing the value: parse to an
/// integer first (dropping redundant leading zeros), then pad, as the JS
/// clients do with `SALT`.
pub(crate) fn hash_padded_hex(
    field: Field,
    hex: &str,
    max_digits: usize,
    mut update: impl FnMut(&[u8]),
) -> Result<(), Error> {
    let digits = significant_hex_digits(field, hex, max_digits)?;
    if digits.is_empty() {
        update(&[0]);
        return Ok(());
    }
    let mut buf = [0u8; 64];
    let mut filled = 0;
    // An odd number of digits: the first byte is a single nibble.
    let (first, rest) = if digits.len() % 2 == 1 {
        (hex_nibble(digits[0]).ok_or(Error::InvalidHex(field))?, &digits[1..])
    } else {
        let hi = hex_nibble(digits[0]).ok_or(Error::InvalidHex(field))?;
        let lo = hex_nibble(digits[1]).ok_or(Error::InvalidHex(field))?;
        ((hi << 4) | lo, &digits[2..])
    };
    if first & 0x80 != 0 {
        buf[filled] = 0;
        filled += 1;
    }
    buf[filled] = first;
    filled += 1;
    for pair in rest.chunks_exact(2) {
        if filled == buf.len() {
            update(&buf[..filled]);
            filled = 0;
        }
        let hi = hex_nibble(pair[0]).ok_or(Error::InvalidHex(field))?;
        let lo = hex_nibble(pair[1]).ok_or(Error::InvalidHex(field))?;
        buf[filled] = (hi << 4) | lo;
        filled += 1;
    }
    update(&buf[..filled]);
    Ok(())
}

/// Decodes base64 leniently, as Amplify JS does for `SECRET_BLOCK`: standard
/// or URL-safe alphabet, padded or not. The decoded bytes are fed to `update`
/// in chunks, so any length up to `max_chars` works without an allocator.
pub(crate) fn decode_base64_streaming(
    field: Field,
    input: &str,
    max_chars: usize,
    mut update: impl FnMut(&[u8]),
) -> Result<usize, Error> {
    let bytes = input.as_bytes();
    if bytes.is_empty() {
        return Err(Error::Empty(field));
    }
    if bytes.len() > max_chars {
        return Err(Error::TooLong(field));
    }
    // At most two trailing '=' and none elsewhere.
    let unpadded_len = bytes.len() - bytes.iter().rev().take_while(|&&c| c == b'=').count();
    if bytes.len() - unpadded_len > 2 {
        return Err(Error::InvalidBase64(field));
    }
    let body = &bytes[..unpadded_len];
    if body.is_empty() || body.len() % 4 == 1 {
        return Err(Error::InvalidBase64(field));
    }
    const CHUNK: usize = 256; // multiple of 4
    let mut normalised = [0u8; CHUNK];
    let mut decoded = [0u8; CHUNK / 4 * 3];
    let mut total = 0;
    for chunk in body.chunks(CHUNK) {
        for (dst, &src) in normalised.iter_mut().zip(chunk) {
            *dst = match src {
                b'-' => b'+',
                b'_' => b'/',
                b'=' => return Err(Error::InvalidBase64(field)),
                other => other,
            };
        }
        let n = B64_LENIENT
            .decode_slice(&normalised[..chunk.len()], &mut decoded)
            .map_err(|_| Error::InvalidBase64(field))?;
        update(&decoded[..n]);
        total += n;
    }
    Ok(total)
}

/// Decodes lenient base64 into `out`, returning the number of bytes written.
/// Fails with [`Error::InvalidLength`] when the result does not fit.
pub(crate) fn decode_base64_into(field: Field, input: &str, out: &mut [u8]) -> Result<usize, Error> {
    let max_chars = (out.len() / 3 + 1) * 4;
    let mut written = 0;
    let mut overflow = false;
    decode_base64_streaming(field, input, max_chars, |piece| {
        if written + piece.len() > out.len() {
            overflow = true;
        } else {
            out[written..written + piece.len()].copy_from_slice(piece);
            written += piece.len();
        }
    })?;
    if overflow {
        return Err(Error::InvalidLength(field));
    }
    Ok(written)
}

/// Standard padded base64 of `bytes` into a fixed string of capacity `N`.
pub(crate) fn encode_base64<const N: usize>(bytes: &[u8]) -> FixedStr<N> {
    let mut buf = [0u8; N];
    let n = B64_STANDARD.encode_slice(bytes, &mut buf).unwrap_or(0);
    FixedStr::from_ascii(&buf[..n]).unwrap_or_else(FixedStr::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing_accepts_odd_lengths_case_and_leading_zeros() {
        let v = PublicValue::from_hex(Field::SrpB, "00aBc").unwrap();
        assert_eq!(v.minimal_be_bytes(), &[0x0a, 0xbc]);
        assert_eq!(v.to_hex().as_str(), "abc");
        assert!(PublicValue::from_hex(Field::SrpB, "000").unwrap().is_zero());
    }

    #[test]
    fn hex_parsing_rejects_bad_input() {
        assert_eq!(PublicValue::from_hex(Field::SrpB, ""), Err(Error::Empty(Field::SrpB)));
        assert_eq!(PublicValue::from_hex(Field::SrpB, "12g4"), Err(Error::InvalidHex(Field::SrpB)));
        assert_eq!(PublicValue::from_hex(Field::SrpB, "+1"), Err(Error::InvalidHex(Field::SrpB)));
        let too_big = "1".repeat(769);
        assert_eq!(PublicValue::from_hex(Field::SrpB, &too_big), Err(Error::TooLong(Field::SrpB)));
        let many_zeros = "0".repeat(MAX_HEX_CHARS + 1);
        assert_eq!(PublicValue::from_hex(Field::SrpB, &many_zeros), Err(Error::TooLong(Field::SrpB)));
    }

    #[test]
    fn pad_follows_java_to_byte_array() {
        let collect = |minimal: &[u8]| {
            let mut out = [0u8; 8];
            let mut n = 0;
            pad(minimal, |p| {
                out[n..n + p.len()].copy_from_slice(p);
                n += p.len();
            });
            (out, n)
        };
        assert_eq!(collect(&[]).1, 1);
        let (out, n) = collect(&[0x80, 0x01]);
        assert_eq!(&out[..n], &[0x00, 0x80, 0x01]);
        let (out, n) = collect(&[0x7f]);
        assert_eq!(&out[..n], &[0x7f]);
    }

    #[test]
    fn padded_hex_stream_drops_redundant_zeros_then_pads() {
        let mut out = [0u8; 8];
        let mut n = 0;
        hash_padded_hex(Field::Salt, "00f1", 64, |p| {
            out[n..n + p.len()].copy_from_slice(p);
            n += p.len();
        })
        .unwrap();
        assert_eq!(&out[..n], &[0x00, 0xf1]);
        n = 0;
        hash_padded_hex(Field::Salt, "123", 64, |p| {
            out[n..n + p.len()].copy_from_slice(p);
            n += p.len();
        })
        .unwrap();
        assert_eq!(&out[..n], &[0x01, 0x23]);
    }

    #[test]
    fn base64_is_lenient_about_alphabet_and_padding_only() {
        let mut out = [0u8; 8];
        assert_eq!(decode_base64_into(Field::SecretBlock, "+/8=", &mut out), Ok(2));
        assert_eq!(&out[..2], &[0xfb, 0xff]);
        assert_eq!(decode_base64_into(Field::SecretBlock, "-_8", &mut out), Ok(2));
        assert_eq!(&out[..2], &[0xfb, 0xff]);
        for bad in ["", "a", "ab=c", "ab===", "a$bc", "abcde"] {
            assert!(decode_base64_into(Field::SecretBlock, bad, &mut out).is_err(), "{bad}");
        }
    }
}
