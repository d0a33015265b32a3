//! JWT decoding and expiry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::json;
use token_store::{DEFAULT_EXPIRY_TOLERANCE, Jwt, JwtError, Segment, TokenUse};

fn seg(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn token(header: &serde_json::Value, payload: &serde_json::Value) -> String {
    format!("{}.{}.c2lnbmF0dXJl", seg(header), seg(payload))
}

fn cognito_access() -> serde_json::Value {
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admins", "staff"],
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL",
        "client_id": "client123",
        "origin_jti": "o-jti",
        "event_id": "ev-1",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin openid",
        "auth_time": 1_700_000_000,
        "exp": 1_700_003_600,
        "iat": 1_700_000_000,
        "jti": "jti-1",
        "username": "alice",
        "custom:tier": "gold",
        "device_key": "us-east-1_dk"
    })
}

#[test]
fn decodes_cognito_access_token_claims() {
    let raw = token(&json!({"kid": "k1", "alg": "RS256"}), &cognito_access());
    let jwt = Jwt::decode(&raw).unwrap();
    assert_eq!(jwt.header().alg.as_deref(), Some("RS256"));
    assert_eq!(jwt.header().kid.as_deref(), Some("k1"));
    let c = jwt.claims();
    assert_eq!(c.sub.as_deref(), Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
    assert_eq!(c.cognito_groups, ["admins", "staff"]);
    assert_eq!(c.token_use, Some(TokenUse::Access));
    assert_eq!((c.exp, c.iat, c.auth_time), (Some(1_700_003_600), Some(1_700_000_000), Some(1_700_000_000)));
    assert_eq!(c.username.as_deref(), Some("alice"));
    assert_eq!(c.any_username(), Some("alice"));
    assert_eq!(c.client_id.as_deref(), Some("client123"));
    assert_eq!(c.origin_jti.as_deref(), Some("o-jti"));
    assert_eq!(c.event_id.as_deref(), Some("ev-1"));
    assert_eq!(c.jti.as_deref(), Some("jti-1"));
    assert_eq!(c.scopes().collect::<Vec<_>>(), ["aws.cognito.signin.user.admin", "openid"]);
    // Everything not typed lands in `extra`, and only there.
    assert_eq!(c.extra.len(), 2);
    assert_eq!(c.extra["custom:tier"], "gold");
    assert_eq!(c.extra["device_key"], "us-east-1_dk");
    assert_eq!(jwt.raw().expose_secret(), raw);
    assert_eq!(jwt.expires_at_ms(), Some(1_700_003_600_000));
}

#[test]
fn decodes_id_token_claims_and_aud_forms() {
    let payload = json!({"cognito:username": "alice", "aud": "client123", "token_use": "id", "email": "a@example.com"});
    let jwt = Jwt::decode(&token(&json!({"alg": "RS256"}), &payload)).unwrap();
    assert_eq!(jwt.claims().cognito_username.as_deref(), Some("alice"));
    assert_eq!(jwt.claims().any_username(), Some("alice"));
    assert_eq!(jwt.claims().aud, ["client123"]);
    assert_eq!(jwt.claims().token_use, Some(TokenUse::Id));
    let jwt = Jwt::decode(&token(&json!({}), &json!({"aud": ["a", "b"], "token_use": "refresh"}))).unwrap();
    assert_eq!(jwt.claims().aud, ["a", "b"]);
    assert_eq!(jwt.claims().token_use, Some(TokenUse::Unknown("refresh".into())));
    // Fractional NumericDate is truncated.
    let jwt = Jwt::decode(&token(&json!({}), &json!({"exp": 1_700_000_000.9}))).unwrap();
    assert_eq!(jwt.claims().exp, Some(1_700_000_000));
}

#[test]
fn accepts_padded_and_unpadded_segments() {
    // A payload whose base64 needs padding.
    let payload = json!({"sub": "abc"});
    let bytes = serde_json::to_vec(&payload).unwrap();
    assert_ne!(bytes.len() % 3, 0);
    let padded = format!("{}.{}.", URL_SAFE.encode(b"{\"alg\":\"none\"}"), URL_SAFE.encode(&bytes));
    assert!(padded.contains('='));
    let unpadded = format!("{}.{}.", URL_SAFE_NO_PAD.encode(b"{\"alg\":\"none\"}"), URL_SAFE_NO_PAD.encode(&bytes));
    for t in [padded, unpadded] {
        assert_eq!(Jwt::decode(&t).unwrap().claims().sub.as_deref(), Some("abc"));
    }
}

#[test]
fn malformed_tokens_are_typed_errors() {
    let h = seg(&json!({"alg": "none"}));
    let p = seg(&json!({"sub": "x"}));
    let cases: Vec<(String, JwtError)> = vec![
        (String::new(), JwtError::SegmentCount { found: 1 }),
        ("abc".into(), JwtError::SegmentCount { found: 1 }),
        (format!("{h}.{p}"), JwtError::SegmentCount { found: 2 }),
        (format!("{h}.{p}.s.x.y"), JwtError::SegmentCount { found: 5 }),
        (format!("!!.{p}.s"), JwtError::Base64(Segment::Header)),
        (format!("{h}.a+b/.s"), JwtError::Base64(Segment::Payload)),
        (format!("{h}.{}.s", URL_SAFE_NO_PAD.encode(b"not json")), JwtError::Json(Segment::Payload)),
        (format!("{h}.{}.s", URL_SAFE_NO_PAD.encode([0xff, 0xfe])), JwtError::Json(Segment::Payload)),
        (format!("{}.{p}.s", seg(&json!([1, 2]))), JwtError::NotAnObject(Segment::Header)),
        (format!("{h}.{}.s", seg(&json!("str"))), JwtError::NotAnObject(Segment::Payload)),
        (format!("{h}.{}.s", seg(&json!({"exp": "soon"}))), JwtError::InvalidClaim("exp")),
        (format!("{h}.{}.s", seg(&json!({"cognito:groups": [1]}))), JwtError::InvalidClaim("cognito:groups")),
        (format!("{h}.{}.s", seg(&json!({"sub": 5}))), JwtError::InvalidClaim("sub")),
        (format!("{}.{p}.s", seg(&json!({"alg": 5}))), JwtError::InvalidClaim("alg")),
    ];
    for (input, want) in cases {
        assert_eq!(Jwt::decode(&input).unwrap_err(), want, "input {input:?}");
    }
}

#[test]
fn expiry_follows_amplify_formula_with_drift_and_tolerance() {
    // exp = 1_700_003_600 s. Amplify: expired iff now + drift + tolerance > exp*1000.
    let jwt = Jwt::decode(&token(&json!({}), &json!({"exp": 1_700_003_600}))).unwrap();
    let exp_ms = 1_700_003_600_000i64;
    let tol = DEFAULT_EXPIRY_TOLERANCE;
    assert_eq!(tol, Duration::from_secs(5));
    assert!(!jwt.is_expired(exp_ms - 5_000, 0, tol), "exactly at the boundary is not expired");
    assert!(jwt.is_expired(exp_ms - 4_999, 0, tol));
    // Server 60 s ahead (positive drift): expires 60 s earlier on our clock.
    assert!(jwt.is_expired(exp_ms - 60_000, 60_000, tol));
    assert!(!jwt.is_expired(exp_ms - 65_000, 60_000, tol));
    // Server behind (negative drift).
    assert!(!jwt.is_expired(exp_ms, -10_000, tol));
    // A larger tolerance (amplify-swift uses 2 min).
    assert!(jwt.is_expired(exp_ms - 100_000, 0, Duration::from_secs(120)));
    assert!(!jwt.is_expired(exp_ms - 100_000, 0, tol));
    // Extreme inputs saturate instead of overflowing.
    assert!(jwt.is_expired(i64::MAX, i64::MAX, Duration::MAX));
    assert!(!jwt.is_expired(i64::MIN, i64::MIN, Duration::ZERO));
    // No exp: treated as expired.
    let no_exp = Jwt::decode(&token(&json!({}), &json!({"sub": "x"}))).unwrap();
    assert!(no_exp.is_expired(0, 0, tol));
}

#[test]
fn debug_shows_claims_but_not_the_raw_token() {
    let raw = token(&json!({"alg": "RS256"}), &cognito_access());
    let shown = format!("{:?}", Jwt::decode(&raw).unwrap());
    assert!(shown.contains("alice"));
    assert!(!shown.contains("c2lnbmF0dXJl"), "the signature segment leaked");
    assert!(!shown.contains(&raw[..20]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = Jwt::decode(&s);
    }

    #[test]
    fn dotted_base64_garbage_never_panics(a in "[A-Za-z0-9_=+/-]{0,64}", b in "[A-Za-z0-9_=+/-]{0,64}", c in ".{0,8}") {
        let _ = Jwt::decode(&format!("{a}.{b}.{c}"));
    }

    #[test]
    fn arbitrary_json_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let t = format!("{}.{}.", URL_SAFE_NO_PAD.encode(b"{}"), URL_SAFE_NO_PAD.encode(&bytes));
        let _ = Jwt::decode(&t);
    }

    #[test]
    fn any_integer_exp_round_trips(exp in any::<i64>(), now in any::<i64>(), drift in any::<i64>()) {
        let jwt = Jwt::decode(&token(&json!({}), &json!({"exp": exp}))).unwrap();
        prop_assert_eq!(jwt.claims().exp, Some(exp));
        let _ = jwt.is_expired(now, drift, DEFAULT_EXPIRY_TOLERANCE);
    }
}
