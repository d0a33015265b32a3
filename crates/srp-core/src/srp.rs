//! The protocol steps, each a public pure function, and the client and
//! server halves built from them.

use core::fmt;

use crypto_bigint::{U256, U1024, U3072, Uint};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::arith::{self, Fe, WIDE_EXP_BITS, WIDE_EXP_LIMBS};
use crate::encoding::{self, MAX_SALT_DIGITS, MAX_SECRET_BLOCK_CHARS, N_BYTES, PublicValue, decode_base64_streaming};
use crate::error::{Error, Field};
use crate::fixed::FixedStr;
use crate::timestamp::Timestamp;

/// `info` for Cognito's HKDF ("Caldera Derived Key"; the crate appends `0x01`).
pub const HKDF_INFO: &[u8] = b"Caldera Derived Key";

/// Lowercase hex of a value below N: `SRP_A`, `SRP_B` (at most 768 digits).
pub type HexString = FixedStr<{ N_BYTES * 2 }>;
/// A base64 `PASSWORD_CLAIM_SIGNATURE` or `SECRET_HASH` (44 characters).
pub type Base64Mac = FixedStr<44>;

type HmacSha256 = Hmac<Sha256>;

/// Who is proving knowledge of a password: a user, or a remembered device.
///
/// Cognito hashes `namespace ‖ user_id ‖ ":" ‖ password` into `x`, and signs
/// `namespace ‖ user_id ‖ SECRET_BLOCK ‖ TIMESTAMP`. For a user the namespace
/// is the pool name (the part of the pool id after `_`) and `user_id` is
/// `USER_ID_FOR_SRP`; for a device they are the device group key and the
/// device key.
#[derive(Clone, Copy)]
pub struct Identity<'a> {
    namespace: &'a str,
    user_id: &'a str,
    password: &'a str,
}

impl fmt::Debug for Identity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("namespace", &self.namespace)
            .field("user_id", &self.user_id)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The pool name of a pool id: `us-east-1_abc123XYZ` gives `abc123XYZ`.
///
/// Like pycognito, amazon-cognito-identity-js and Amplify v6
/// (`poolId.split('_')[1]`), only the part up to a second `_` counts:
/// `us-east-1_abc_def` gives `abc`. Real pool ids have one `_`.
///
/// ```
/// assert_eq!(srp_core::pool_name("us-east-1_abc123XYZ").unwrap(), "abc123XYZ");
/// assert_eq!(srp_core::pool_name("us-east-1_abc_def").unwrap(), "abc");
/// assert!(srp_core::pool_name("us-east-1").is_err());
/// assert!(srp_core::pool_name("_abc").is_err());
/// ```
pub fn pool_name(pool_id: &str) -> Result<&str, Error> {
    let mut parts = pool_id.split('_');
    match (parts.next(), parts.next()) {
        (Some(region), Some(name)) if !region.is_empty() && !name.is_empty() => Ok(name),
        _ => Err(Error::InvalidPoolId),
    }
}

impl<'a> Identity<'a> {
    /// A user of pool `pool_id`, identified by the challenge's `USER_ID_FOR_SRP`
    /// (never the alias the person typed).
    pub fn user(pool_id: &'a str, user_id_for_srp: &'a str, password: &'a str) -> Result<Self, Error> {
        let namespace = pool_name(pool_id)?;
        if user_id_for_srp.is_empty() {
            return Err(Error::Empty(Field::UserId));
        }
        Ok(Self { namespace, user_id: user_id_for_srp, password })
    }

    /// A remembered device, from its `NewDeviceMetadata` and stored password.
    pub fn device(device_group_key: &'a str, device_key: &'a str, device_password: &'a str) -> Result<Self, Error> {
        if device_group_key.is_empty() {
            return Err(Error::Empty(Field::DeviceGroupKey));
        }
        if device_key.is_empty() {
            return Err(Error::Empty(Field::UserId));
        }
        Ok(Self { namespace: device_group_key, user_id: device_key, password: device_password })
    }

    /// The same identity without its password, for the signature.
    pub fn public(&self) -> PublicIdentity<'a> {
        PublicIdentity { namespace: self.namespace, user_id: self.user_id }
    }
}

/// The non-secret half of an [`Identity`]: what the server knows and signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicIdentity<'a> {
    /// Pool name, or device group key.
    pub namespace: &'a str,
    /// `USER_ID_FOR_SRP`, or device key.
    pub user_id: &'a str,
}

impl<'a> PublicIdentity<'a> {
    /// A user of pool `pool_id`.
    pub fn user(pool_id: &'a str, user_id_for_srp: &'a str) -> Result<Self, Error> {
        Ok(Identity::user(pool_id, user_id_for_srp, "")?.public())
    }

    /// A device.
    pub fn device(device_group_key: &'a str, device_key: &'a str) -> Result<Self, Error> {
        Ok(Identity::device(device_group_key, device_key, "")?.public())
    }
}

/// The scrambling parameter `u = H(PAD(A) ‖ PAD(B))` (public).
#[derive(Clone, PartialEq, Eq)]
pub struct Scrambler {
    bytes: [u8; 32],
}

impl fmt::Debug for Scrambler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrambler({})", encoding::minimal_hex::<64>(&self.bytes).as_str())
    }
}

impl Scrambler {
    /// `u` as 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    fn to_uint(&self) -> U256 {
        U256::from_be_slice(&self.bytes)
    }

    fn minimal(&self) -> &[u8] {
        let start = self.bytes.iter().position(|&b| b != 0).unwrap_or(32);
        &self.bytes[start..]
    }
}

/// The private key `x = H(PAD(salt) ‖ H(namespace ‖ user_id ‖ ":" ‖ password))`.
/// Zeroized on drop; `Debug` is redacted.
pub struct PrivateKey {
    bytes: [u8; 32],
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl PrivateKey {
    /// The secret bytes, for checking intermediates against other implementations.
    pub fn expose_secret_be_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    fn to_uint(&self) -> Zeroizing<U256> {
        Zeroizing::new(U256::from_be_slice(&self.bytes))
    }
}

/// The premaster secret `S`. Zeroized on drop; `Debug` is redacted.
pub struct PremasterSecret {
    be: [u8; N_BYTES],
}

impl fmt::Debug for PremasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PremasterSecret(<redacted>)")
    }
}

impl Drop for PremasterSecret {
    fn drop(&mut self) {
        self.be.zeroize();
    }
}

impl PremasterSecret {
    /// `S` as 384 big-endian bytes, for checking intermediates.
    pub fn expose_secret_be_bytes(&self) -> &[u8; N_BYTES] {
        &self.be
    }

    fn minimal(&self) -> &[u8] {
        // The length of PAD(S) is part of the protocol's hash input; every
        // implementation leaks it through timing, and so does this one.
        let start = self.be.iter().position(|&b| b != 0).unwrap_or(N_BYTES);
        &self.be[start..]
    }
}

/// The 16-byte key from Cognito's HKDF. Zeroized on drop; `Debug` is redacted.
pub struct SessionKey {
    bytes: [u8; 16],
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl SessionKey {
    /// The key bytes, for checking intermediates.
    pub fn expose_secret_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }
}

/// `u = H(PAD(A) ‖ PAD(B))`; fails with [`Error::ZeroU`] when it is zero.
pub fn compute_u(srp_a: &PublicValue, srp_b: &PublicValue) -> Result<Scrambler, Error> {
    let mut hasher = Sha256::new();
    srp_a.update_padded(|p| hasher.update(p));
    srp_b.update_padded(|p| hasher.update(p));
    let bytes: [u8; 32] = hasher.finalize().into();
    if bytes.iter().all(|&b| b == 0) {
        return Err(Error::ZeroU);
    }
    Ok(Scrambler { bytes })
}

/// `x = H(PAD(int(SALT)) ‖ H(namespace ‖ user_id ‖ ":" ‖ password))`.
///
/// `SALT` is parsed as an integer before padding, as the JS clients do, so a
/// redundant leading `00` is dropped.
pub fn compute_x(salt_hex: &str, identity: &Identity<'_>) -> Result<PrivateKey, Error> {
    let mut inner = Sha256::new();
    inner.update(identity.namespace.as_bytes());
    inner.update(identity.user_id.as_bytes());
    inner.update(b":");
    inner.update(identity.password.as_bytes());
    let mut inner_hash: Zeroizing<[u8; 32]> = Zeroizing::new(inner.finalize().into());
    let mut outer = Sha256::new();
    encoding::hash_padded_hex(Field::Salt, salt_hex, MAX_SALT_DIGITS, |p| outer.update(p))?;
    outer.update(inner_hash.as_ref());
    inner_hash.zeroize();
    Ok(PrivateKey { bytes: outer.finalize().into() })
}

/// The verifier `v = g^x mod N` (server side, and the ConfirmDevice verifier).
pub fn compute_verifier(x: &PrivateKey) -> PublicValue {
    let v = arith::g_pow_256(&x.to_uint());
    PublicValue::from_array(arith::fe_to_bytes(&v))
}

/// The client's `S = (B − k·g^x)^(a + u·x) mod N`.
///
/// Fails with [`Error::DegenerateB`] when `B mod N == 0`.
pub fn compute_client_premaster(
    srp_b: &PublicValue,
    ephemeral: &ClientEphemeral,
    u: &Scrambler,
    x: &PrivateKey,
) -> Result<PremasterSecret, Error> {
    let b = arith::to_fe(srp_b);
    if arith::fe_is_zero(&b) {
        return Err(Error::DegenerateB);
    }
    let x = x.to_uint();
    let gx = Zeroizing::new(arith::g_pow_256(&x));
    let base = Zeroizing::new(b.sub(&arith::mul(&arith::K, &gx)));
    let ux: Zeroizing<Uint<8>> = Zeroizing::new(u.to_uint().concatenating_mul(&*x));
    let exponent: Zeroizing<Uint<WIDE_EXP_LIMBS>> =
        Zeroizing::new(ephemeral.a.resize::<WIDE_EXP_LIMBS>().wrapping_add(&ux.resize::<WIDE_EXP_LIMBS>()));
    let s = Zeroizing::new(arith::pow_bounded(&base, &*exponent, WIDE_EXP_BITS));
    Ok(PremasterSecret { be: arith::fe_to_bytes(&s) })
}

/// The server's `S = (A · v^u)^b mod N`.
///
/// Fails with [`Error::DegenerateA`] when `A mod N == 0`.
pub fn compute_server_premaster(
    srp_a: &PublicValue,
    verifier: &PublicValue,
    u: &Scrambler,
    ephemeral: &ServerEphemeral,
) -> Result<PremasterSecret, Error> {
    let a = arith::to_fe(srp_a);
    if arith::fe_is_zero(&a) {
        return Err(Error::DegenerateA);
    }
    let vu = arith::pow_bounded(&arith::to_fe(verifier), &u.to_uint(), 256);
    let base = Zeroizing::new(arith::mul(&a, &vu));
    let s = Zeroizing::new(ephemeral.b.pow(&base));
    Ok(PremasterSecret { be: arith::fe_to_bytes(&s) })
}

/// Cognito's key: HKDF-SHA256 with salt `PAD(u)`, input `PAD(S)`, info
/// "Caldera Derived Key", 16 bytes.
pub fn derive_session_key(u: &Scrambler, s: &PremasterSecret) -> SessionKey {
    let mut salt = [0u8; 33];
    let mut salt_len = 0;
    encoding::pad(u.minimal(), |p| {
        salt[salt_len..salt_len + p.len()].copy_from_slice(p);
        salt_len += p.len();
    });
    let mut ikm = Zeroizing::new([0u8; N_BYTES + 1]);
    let mut ikm_len = 0;
    encoding::pad(s.minimal(), |p| {
        ikm[ikm_len..ikm_len + p.len()].copy_from_slice(p);
        ikm_len += p.len();
    });
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(&salt[..salt_len]), &ikm[..ikm_len]);
    let mut bytes = [0u8; 16];
    // 16 bytes is always a valid HKDF-SHA256 output length.
    let _ = hkdf.expand(HKDF_INFO, &mut bytes);
    SessionKey { bytes }
}

fn signature_mac(
    key: &SessionKey,
    identity: PublicIdentity<'_>,
    secret_block: &str,
    timestamp: &str,
) -> Result<[u8; 32], Error> {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(&key.bytes).map_err(|_| Error::InvalidLength(Field::Signature))?;
    mac.update(identity.namespace.as_bytes());
    mac.update(identity.user_id.as_bytes());
    decode_base64_streaming(Field::SecretBlock, secret_block, MAX_SECRET_BLOCK_CHARS, |p| mac.update(p))?;
    mac.update(timestamp.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

/// `PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(K, namespace ‖ user_id ‖
/// base64decode(SECRET_BLOCK) ‖ TIMESTAMP))`.
///
/// `SECRET_BLOCK` may be standard or URL-safe base64, padded or not.
pub fn compute_signature(
    key: &SessionKey,
    identity: PublicIdentity<'_>,
    secret_block: &str,
    timestamp: &str,
) -> Result<Base64Mac, Error> {
    if timestamp.is_empty() {
        return Err(Error::Empty(Field::Timestamp));
    }
    let mac = signature_mac(key, identity, secret_block, timestamp)?;
    Ok(encoding::encode_base64(&mac))
}

/// The parameters of a `PASSWORD_VERIFIER` (or `DEVICE_PASSWORD_VERIFIER`)
/// challenge, exactly as they arrive.
#[derive(Debug, Clone, Copy)]
pub struct Challenge<'a> {
    /// `SRP_B`, hex.
    pub srp_b: &'a str,
    /// `SALT`, hex.
    pub salt: &'a str,
    /// `SECRET_BLOCK`, base64 (opaque; echoed as `PASSWORD_CLAIM_SECRET_BLOCK`).
    pub secret_block: &'a str,
}

/// The client's ephemeral key pair: the private `a` (1024 bits from 128
/// caller-supplied random bytes) and `A = g^a mod N`.
///
/// `A` does not depend on the password, so a client can create this ahead of
/// time (while the person is still typing) and keep it off the critical path.
/// Zeroized on drop; `Debug` shows only `A`.
///
/// ```
/// use srp_core::{ClientEphemeral, Challenge, Identity, Timestamp};
/// let random = [0x7du8; 128]; // use a CSPRNG in real code
/// let ephemeral = ClientEphemeral::from_random(&random).unwrap();
/// assert_eq!(ephemeral.srp_a().len(), 767); // minimal hex, as sent in SRP_A
///
/// // ... send SRP_A with InitiateAuth, receive the PASSWORD_VERIFIER challenge ...
/// let srp_b = format!("5a{}", "3c".repeat(383));
/// let secret_block = "Wlpa".repeat(21) + "Wg==";
/// let challenge = Challenge { srp_b: &srp_b, salt: "8b3f0c6c21a6c1d7a2b1e2e8d4a3c9f1", secret_block: &secret_block };
/// let identity = Identity::user("us-east-1_abcdefghi", "11111111-2222-3333-4444-555555555555", "Passw0rd!Passw0rd!").unwrap();
/// let timestamp = Timestamp::parse("Sun Nov 22 07:30:00 UTC 2026").unwrap();
/// let signature = ephemeral.sign(&identity, &challenge, timestamp.as_str()).unwrap();
/// assert_eq!(signature.as_str(), "pFIh/dPLE6oUk1dFFkQOL6at63sJEUSEr8y1eDjKDdA=");
/// ```
pub struct ClientEphemeral {
    a: U1024,
    srp_a: PublicValue,
}

impl fmt::Debug for ClientEphemeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEphemeral").field("a", &"<redacted>").field("srp_a", &self.srp_a).finish()
    }
}

impl Drop for ClientEphemeral {
    fn drop(&mut self) {
        self.a.zeroize();
    }
}

impl ClientEphemeral {
    /// `a = int(random)` (big-endian, not reduced) and `A = g^a mod N`.
    ///
    /// Fails with [`Error::ZeroEphemeral`] if the bytes are all zero.
    pub fn from_random(random: &[u8; 128]) -> Result<Self, Error> {
        let a = U1024::from_be_slice(random);
        if bool::from(a.is_zero()) {
            return Err(Error::ZeroEphemeral);
        }
        let big_a = arith::g_pow_1024(&a);
        Ok(Self { a, srp_a: PublicValue::from_array(arith::fe_to_bytes(&big_a)) })
    }

    /// `A` as an integer.
    pub fn public_value(&self) -> &PublicValue {
        &self.srp_a
    }

    /// `SRP_A` as sent: minimal lowercase hex, not padded (766 to 768 digits).
    pub fn srp_a(&self) -> HexString {
        self.srp_a.to_hex()
    }

    /// Runs the client half of the verifier round and returns the
    /// `PASSWORD_CLAIM_SIGNATURE` for `timestamp`.
    ///
    /// Rejects `B mod N == 0` and `u == 0`, as the JS clients do.
    pub fn sign(
        &self,
        identity: &Identity<'_>,
        challenge: &Challenge<'_>,
        timestamp: &str,
    ) -> Result<Base64Mac, Error> {
        let srp_b = PublicValue::from_hex(Field::SrpB, challenge.srp_b)?;
        let u = compute_u(&self.srp_a, &srp_b)?;
        let x = compute_x(challenge.salt, identity)?;
        let s = compute_client_premaster(&srp_b, self, &u, &x)?;
        let key = derive_session_key(&u, &s);
        compute_signature(&key, identity.public(), challenge.secret_block, timestamp)
    }
}

/// The server's private exponent `b`, in one of three public widths chosen by
/// the length of the random bytes it was made from.
#[allow(clippy::large_enum_variant, reason = "no allocator to box into; at most 384 bytes")]
enum ServerExponent {
    Bits256(U256),
    Bits1024(U1024),
    Bits3072(U3072),
}

impl ServerExponent {
    fn g_pow(&self) -> Fe {
        match self {
            ServerExponent::Bits256(b) => arith::g_pow_256(b),
            ServerExponent::Bits1024(b) => arith::g_pow_1024(b),
            ServerExponent::Bits3072(b) => arith::pow_bounded(&arith::G, b, 3072),
        }
    }

    fn pow(&self, base: &Fe) -> Fe {
        match self {
            ServerExponent::Bits256(b) => arith::pow_bounded(base, b, 256),
            ServerExponent::Bits1024(b) => arith::pow_bounded(base, b, 1024),
            ServerExponent::Bits3072(b) => arith::pow_bounded(base, b, 3072),
        }
    }
}

impl Drop for ServerExponent {
    fn drop(&mut self) {
        match self {
            ServerExponent::Bits256(b) => b.zeroize(),
            ServerExponent::Bits1024(b) => b.zeroize(),
            ServerExponent::Bits3072(b) => b.zeroize(),
        }
    }
}

/// The server's ephemeral key pair for one sign-in: the private `b` and
/// `B = (k·v + g^b) mod N`. For the local user pool and for tests.
///
/// `b` comes from caller-supplied random bytes: 32 bytes (a 256-bit exponent,
/// the fast choice), up to 128, or up to 384. Zeroized on drop.
pub struct ServerEphemeral {
    b: ServerExponent,
    srp_b: PublicValue,
}

impl fmt::Debug for ServerEphemeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerEphemeral").field("b", &"<redacted>").field("srp_b", &self.srp_b).finish()
    }
}

impl ServerEphemeral {
    /// `b = int(random)` and `B = (k·v + g^b) mod N` for the verifier `v`.
    pub fn from_random(random: &[u8], verifier: &PublicValue) -> Result<Self, Error> {
        if random.is_empty() {
            return Err(Error::Empty(Field::Ephemeral));
        }
        if random.iter().all(|&byte| byte == 0) {
            return Err(Error::ZeroEphemeral);
        }
        let b = if random.len() <= 32 {
            let mut buf = Zeroizing::new([0u8; 32]);
            buf[32 - random.len()..].copy_from_slice(random);
            ServerExponent::Bits256(U256::from_be_slice(&*buf))
        } else if random.len() <= 128 {
            let mut buf = Zeroizing::new([0u8; 128]);
            buf[128 - random.len()..].copy_from_slice(random);
            ServerExponent::Bits1024(U1024::from_be_slice(&*buf))
        } else if random.len() <= N_BYTES {
            let mut buf = Zeroizing::new([0u8; N_BYTES]);
            buf[N_BYTES - random.len()..].copy_from_slice(random);
            ServerExponent::Bits3072(U3072::from_be_slice(&*buf))
        } else {
            return Err(Error::TooLong(Field::Ephemeral));
        };
        let gb = Zeroizing::new(b.g_pow());
        let big_b = arith::mul(&arith::K, &arith::to_fe(verifier)).add(&gb);
        Ok(Self { b, srp_b: PublicValue::from_array(arith::fe_to_bytes(&big_b)) })
    }

    /// `B` as an integer.
    pub fn public_value(&self) -> &PublicValue {
        &self.srp_b
    }

    /// `SRP_B` as sent: minimal lowercase hex.
    pub fn srp_b(&self) -> HexString {
        self.srp_b.to_hex()
    }

    /// Checks a client's answer to the verifier round: recomputes the
    /// signature from `SRP_A` and the stored verifier, and compares it with
    /// `PASSWORD_CLAIM_SIGNATURE` in constant time.
    ///
    /// Returns the parsed TIMESTAMP so the caller can check its freshness.
    pub fn verify(
        &self,
        identity: PublicIdentity<'_>,
        verifier: &PublicValue,
        srp_a: &str,
        secret_block: &str,
        timestamp: &str,
        signature: &str,
    ) -> Result<Timestamp, Error> {
        let parsed_timestamp = Timestamp::parse(timestamp)?;
        let srp_a = PublicValue::from_hex(Field::SrpA, srp_a)?;
        let mut claimed = [0u8; 32];
        if encoding::decode_base64_into(Field::Signature, signature, &mut claimed)? != 32 {
            return Err(Error::InvalidLength(Field::Signature));
        }
        let u = compute_u(&srp_a, &self.srp_b)?;
        let s = compute_server_premaster(&srp_a, verifier, &u, self)?;
        let key = derive_session_key(&u, &s);
        let mut expected = signature_mac(&key, identity, secret_block, timestamp)?;
        let equal = bool::from(expected.ct_eq(&claimed));
        expected.zeroize();
        if equal { Ok(parsed_timestamp) } else { Err(Error::SignatureMismatch) }
    }
}

/// `SECRET_HASH = base64(HMAC-SHA256(client_secret, username ‖ client_id))`,
/// for app clients that have a secret. Use the internal username (the
/// challenge's `USERNAME`) when answering challenges and refreshing.
///
/// ```
/// let hash = srp_core::secret_hash("secret", "alice", "client").unwrap();
/// assert_eq!(hash.len(), 44);
/// ```
pub fn secret_hash(client_secret: &str, username: &str, client_id: &str) -> Result<Base64Mac, Error> {
    if client_id.is_empty() {
        return Err(Error::Empty(Field::ClientId));
    }
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(client_secret.as_bytes())
        .map_err(|_| Error::InvalidLength(Field::ClientId))?;
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    let bytes: [u8; 32] = mac.finalize().into_bytes().into();
    Ok(encoding::encode_base64(&bytes))
}
