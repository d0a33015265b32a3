//! Per-pool RS256 signing keys (generated with `rsa`, used through `ring`)
//! and JWT minting and verification.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::signature::{self, RsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// What a hosted-UI grant adds to the tokens: the access token's `scope`
/// (the granted scopes, space separated) and the ID token's `nonce`.
#[derive(Debug, Clone, Default)]
pub(crate) struct OAuthClaims {
    pub(crate) scope: String,
    pub(crate) nonce: Option<String>,
}

/// A pool's signing key.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pkcs8: Zeroizing<Vec<u8>>,
    pair: RsaKeyPair,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    /// `base64url(header) + "."`, the same for every token of this key.
    header_prefix: String,
    rng: ring::rand::SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The stored form of a key (persistence).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredKey {
    pub(crate) kid: String,
    pub(crate) pkcs8: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// An `rand_core` 0.10 RNG over the operating system's generator. A failure
/// of the OS generator is remembered and the key it touched discarded.
struct OsRng {
    failed: bool,
}

impl rsa::rand_core::TryRng for OsRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        if getrandom::fill(dst).is_err() {
            self.failed = true;
        }
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for OsRng {}

/// Why a key could not be made or loaded.
#[derive(Debug)]
pub(crate) struct KeyError(pub(crate) &'static str);

impl SigningKey {
    /// A fresh 2048-bit key.
    pub(crate) fn generate(kid: String) -> Result<Self, KeyError> {
        use rsa::pkcs8::EncodePrivateKey as _;
        let mut rng = OsRng { failed: false };
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|_| KeyError("RSA key generation failed"))?;
        if rng.failed {
            return Err(KeyError("the operating system's random generator failed"));
        }
        let der = key.to_pkcs8_der().map_err(|_| KeyError("PKCS#8 encoding failed"))?;
        Self::from_pkcs8(kid, der.as_bytes().to_vec())
    }

    pub(crate) fn from_pkcs8(kid: String, pkcs8: Vec<u8>) -> Result<Self, KeyError> {
        let pkcs8 = Zeroizing::new(pkcs8);
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| KeyError("not an RSA PKCS#8 key"))?;
        let components = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
        let (modulus, exponent) = (components.n, components.e);
        let header = serde_json::json!({"kid": kid, "alg": "RS256"});
        let mut header_prefix = B64URL.encode(header.to_string());
        header_prefix.push('.');
        Ok(Self { kid, pkcs8, pair, modulus, exponent, header_prefix, rng: ring::rand::SystemRandom::new() })
    }

    pub(crate) fn from_stored(stored: &StoredKey) -> Result<Self, KeyError> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(&stored.pkcs8)
            .map_err(|_| KeyError("stored key is not base64"))?;
        Self::from_pkcs8(stored.kid.clone(), der)
    }

    pub(crate) fn to_stored(&self) -> StoredKey {
        StoredKey { kid: self.kid.clone(), pkcs8: base64::engine::general_purpose::STANDARD.encode(&*self.pkcs8) }
    }

    /// The public key as a JWK (as Cognito's `jwks.json` lists it).
    pub(crate) fn jwk(&self) -> Value {
        serde_json::json!({
            "alg": "RS256",
            "e": B64URL.encode(&self.exponent),
            "kid": self.kid,
            "kty": "RSA",
            "n": B64URL.encode(&self.modulus),
            "use": "sig",
        })
    }

    /// Signs claims as a compact RS256 JWT.
    ///
    /// The RSA signature (`ring`, CRT with its assembly Montgomery code) is
    /// nearly all of the cost; the header is encoded once per key and the
    /// claims are serialised straight from the map.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError("claims are not serialisable"))?;
        let modulus_len = self.pair.public().modulus_len();
        let mut token = String::with_capacity(self.header_prefix.len() + (payload.len() + modulus_len) * 4 / 3 + 8);
        token.push_str(&self.header_prefix);
        B64URL.encode_string(&payload, &mut token);
        let mut sig = vec![0u8; modulus_len];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, token.as_bytes(), &mut sig)
            .map_err(|_| KeyError("signing failed"))?;
        token.push('.');
        B64URL.encode_string(&sig, &mut token);
        Ok(token)
    }

    /// The claims of a token this key signed; `None` for anything else
    /// (malformed, another key, a bad signature).
    pub(crate) fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let mut parts = token.split('.');
        let (header, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&B64URL.decode(header).ok()?).ok()?;
        if header.get("kid").and_then(Value::as_str) != Some(self.kid.as_str()) {
            return None;
        }
        let sig = B64URL.decode(sig).ok()?;
        let public = signature::RsaPublicKeyComponents { n: &self.modulus, e: &self.exponent };
        let signed = &token[..header_len(token)?];
        public.verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &sig).ok()?;
        match serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }
}

/// The length of `header.payload` (the signed part).
fn header_len(token: &str) -> Option<usize> {
    let first = token.find('.')?;
    let second = token[first + 1..].find('.')? + first + 1;
    Some(second)
}

/// The unverified claims of a JWT (to find its pool before verifying).
pub(crate) fn peek_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    match serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_tampering() {
        let key = SigningKey::generate("kid-1".into()).unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        let token = key.sign(&claims).unwrap();
        assert_eq!(key.verify(&token).unwrap()["sub"], "abc");
        assert_eq!(peek_claims(&token).unwrap()["sub"], "abc");
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], B64URL.encode(r#"{"sub":"evil"}"#), parts[2]);
        assert!(key.verify(&forged).is_none());
        assert!(key.verify("a.b").is_none());
        assert!(key.verify("").is_none());
        let stored = key.to_stored();
        let again = SigningKey::from_stored(&stored).unwrap();
        assert_eq!(again.verify(&token).unwrap()["sub"], "abc");
        assert_eq!(key.jwk()["kid"], "kid-1");
    }

    /// The header and payload segments are exactly what the first version
    /// wrote (`{"alg":"RS256","kid":…}`, the claims as `Value::to_string`).
    #[test]
    fn segments_unchanged() {
        let key = SigningKey::generate("eu-west-1_x-kid".into()).unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), "abc".into());
        claims.insert("exp".into(), 17.into());
        claims.insert("cognito:groups".into(), serde_json::json!(["a", "b\"c"]));
        let token = key.sign(&claims).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], B64URL.encode(serde_json::json!({"kid": "eu-west-1_x-kid", "alg": "RS256"}).to_string()));
        assert_eq!(parts[0], B64URL.encode(r#"{"alg":"RS256","kid":"eu-west-1_x-kid"}"#));
        assert_eq!(parts[1], B64URL.encode(Value::Object(claims.clone()).to_string()));
        assert_eq!(B64URL.decode(parts[2]).unwrap().len(), 256);
        // RSASSA-PKCS1-v1_5 is deterministic: the same key signs the same bytes alike.
        assert_eq!(key.sign(&claims).unwrap(), token);
    }
}
