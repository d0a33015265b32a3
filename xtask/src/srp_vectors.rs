//! `cargo xtask srp check-vectors FILE`: checks a `cognito-srp-vectors/1`
//! file (see `fixtures/srp/README.md`) against srp-core, client and server
//! halves.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use srp_core::{
    Challenge, ClientEphemeral, DeviceVerifierConfig, Field, Identity, PublicValue, ServerEphemeral, Timestamp,
    compute_client_premaster, compute_server_premaster, compute_u, compute_verifier, compute_x, derive_session_key,
    secret_hash,
};

/// The outcome of checking one file.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// One line per failing case: `<list>/<id>: <what differs>`.
    pub failures: Vec<String>,
}

impl Report {
    /// The closing line, `N passed, M failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failures.len())
    }
}

/// Checks one vector file. An error means the file itself is unusable
/// (unreadable, not JSON, wrong format tag); failing cases are in the report.
pub fn check_file(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    check_str(&text)
}

/// Checks vector-file text (see [`check_file`]).
pub fn check_str(text: &str) -> Result<Report> {
    let doc: Value = serde_json::from_str(text).context("the file is not JSON")?;
    match doc.get("format").and_then(Value::as_str) {
        Some("cognito-srp-vectors/1") => {}
        Some(other) => bail!("unsupported format {other:?} (expected \"cognito-srp-vectors/1\")"),
        None => bail!("missing \"format\": \"cognito-srp-vectors/1\""),
    }
    let mut report = Report::default();
    let lists: [(&str, CaseCheck); 5] = [
        ("password_cases", |c| check_round(c, RoundKind::Password)),
        ("device_cases", |c| check_round(c, RoundKind::Device)),
        ("timestamp_cases", check_timestamp),
        ("secret_hash_cases", check_secret_hash),
        ("reject_cases", check_reject),
    ];
    for (list, check) in lists {
        let cases = match doc.get(list) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(cases)) => cases,
            Some(_) => {
                report.failures.push(format!("{list}: not a list"));
                continue;
            }
        };
        for (index, case) in cases.iter().enumerate() {
            let id = case.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| format!("#{index}"));
            match check(case) {
                Ok(()) => report.passed += 1,
                Err(why) => report.failures.push(format!("{list}/{id}: {why}")),
            }
        }
    }
    Ok(report)
}

type CaseResult = std::result::Result<(), String>;
type CaseCheck = fn(&Value) -> CaseResult;

fn field<'a>(case: &'a Value, path: &str) -> std::result::Result<&'a str, String> {
    let mut value = case;
    for part in path.split('.') {
        value = value.get(part).ok_or_else(|| format!("missing field {path}"))?;
    }
    value.as_str().ok_or_else(|| format!("field {path} is not a string"))
}

fn optional<'a>(case: &'a Value, path: &str) -> Option<&'a str> {
    let mut value = case;
    for part in path.split('.') {
        value = value.get(part)?;
    }
    value.as_str()
}

/// Hex to exactly `len` big-endian bytes (left-padded).
fn hex_to_fixed(name: &str, hex_text: &str, len: usize) -> std::result::Result<Vec<u8>, String> {
    let digits = hex_text.trim_start_matches('0');
    let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits.to_owned() };
    let bytes = hex::decode(&padded).map_err(|e| format!("{name} is not hex: {e}"))?;
    if bytes.len() > len {
        return Err(format!("{name} is longer than {len} bytes"));
    }
    let mut out = vec![0u8; len - bytes.len()];
    out.extend_from_slice(&bytes);
    Ok(out)
}

fn minimal_hex(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() }
}

fn same_integer(name: &str, expected_hex: &str, actual: &[u8]) -> CaseResult {
    let expected = expected_hex.trim_start_matches('0').to_ascii_lowercase();
    let expected = if expected.is_empty() { "0".to_owned() } else { expected };
    let actual = minimal_hex(actual);
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{name} differs (expected {}, got {})", abbreviate(&expected), abbreviate(&actual)))
    }
}

fn same_text(name: &str, expected: &str, actual: &str) -> CaseResult {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{name} differs (expected {}, got {})", abbreviate(expected), abbreviate(actual)))
    }
}

fn abbreviate(s: &str) -> String {
    if s.len() <= 48 {
        format!("{s:?}")
    } else {
        let mut out = String::new();
        let head: String = s.chars().take(24).collect();
        let tail: String = s.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
        let _ = write!(out, "\"{head}…{tail}\" ({} chars)", s.chars().count());
        out
    }
}

#[derive(Clone, Copy)]
enum RoundKind {
    Password,
    Device,
}

fn check_round(case: &Value, kind: RoundKind) -> CaseResult {
    let err = |e: srp_core::Error| e.to_string();
    let identity = match kind {
        RoundKind::Password => {
            Identity::user(field(case, "pool_id")?, field(case, "user_id_for_srp")?, field(case, "password")?)
                .map_err(err)?
        }
        RoundKind::Device => {
            let identity = Identity::device(
                field(case, "device_group_key")?,
                field(case, "device_key")?,
                field(case, "device_password")?,
            )
            .map_err(err)?;
            check_device_verifier(case)?;
            identity
        }
    };
    let a_bytes = hex_to_fixed("a_hex", field(case, "a_hex")?, 128)?;
    let a: [u8; 128] = a_bytes.try_into().map_err(|_| "a_hex length".to_owned())?;
    let ephemeral = ClientEphemeral::from_random(&a).map_err(err)?;
    let expected_a = PublicValue::from_hex(Field::SrpA, field(case, "srp_a")?).map_err(err)?;
    if &expected_a != ephemeral.public_value() {
        return same_text("srp_a", field(case, "srp_a")?, &ephemeral.srp_a());
    }
    let challenge = Challenge {
        srp_b: field(case, "srp_b")?,
        salt: field(case, "salt")?,
        secret_block: field(case, "secret_block")?,
    };
    let timestamp = field(case, "timestamp")?;

    // Intermediates, each checked when the file has it.
    let srp_b = PublicValue::from_hex(Field::SrpB, challenge.srp_b).map_err(err)?;
    let u = compute_u(ephemeral.public_value(), &srp_b).map_err(err)?;
    if let Some(expected) = optional(case, "expected.u_hex") {
        same_integer("expected.u_hex", expected, &u.to_be_bytes())?;
    }
    let x = compute_x(challenge.salt, &identity).map_err(err)?;
    if let Some(expected) = optional(case, "expected.x_hex") {
        same_integer("expected.x_hex", expected, x.expose_secret_be_bytes())?;
    }
    let s = compute_client_premaster(&srp_b, &ephemeral, &u, &x).map_err(err)?;
    if let Some(expected) = optional(case, "expected.s_hex") {
        same_integer("expected.s_hex", expected, s.expose_secret_be_bytes())?;
    }
    let key = derive_session_key(&u, &s);
    if let Some(expected) = optional(case, "expected.hkdf_key_hex") {
        same_text("expected.hkdf_key_hex", &expected.to_ascii_lowercase(), &hex::encode(key.expose_secret_bytes()))?;
    }
    let signature = ephemeral.sign(&identity, &challenge, timestamp).map_err(err)?;
    same_text("expected.signature", field(case, "expected.signature")?, &signature)?;

    // The server half, when the file gives the server's b and v.
    if let (Some(b_hex), Some(v_hex)) = (optional(case, "server.b_hex"), optional(case, "server.v_hex")) {
        let v = PublicValue::from_hex(Field::Verifier, v_hex).map_err(err)?;
        let our_v = compute_verifier(&x);
        if our_v != v {
            return same_text("server.v_hex", v_hex, &our_v.to_hex());
        }
        let b_len = b_hex.trim_start_matches('0').len().div_ceil(2).max(1);
        let b = hex_to_fixed("server.b_hex", b_hex, b_len)?;
        let server = ServerEphemeral::from_random(&b, &v).map_err(err)?;
        if server.public_value() != &srp_b {
            return same_text("srp_b (server B = k·v + g^b)", challenge.srp_b, &server.srp_b());
        }
        let server_s = compute_server_premaster(ephemeral.public_value(), &v, &u, &server).map_err(err)?;
        if server_s.expose_secret_be_bytes() != s.expose_secret_be_bytes() {
            return Err("server S = (A·v^u)^b differs from the client's S".to_owned());
        }
        server
            .verify(identity.public(), &v, &ephemeral.srp_a(), challenge.secret_block, timestamp, &signature)
            .map_err(|e| format!("server rejects the signature: {e}"))?;
    }
    Ok(())
}

fn check_device_verifier(case: &Value) -> CaseResult {
    let salt = hex_to_fixed("verifier_salt_hex", field(case, "verifier_salt_hex")?, 16)?;
    let salt: [u8; 16] = salt.try_into().map_err(|_| "verifier_salt_hex length".to_owned())?;
    let config = DeviceVerifierConfig::generate(
        field(case, "device_group_key")?,
        field(case, "device_key")?,
        field(case, "device_password")?,
        &salt,
    )
    .map_err(|e| e.to_string())?;
    same_text("expected_verifier.salt", field(case, "expected_verifier.salt")?, config.salt())?;
    same_text(
        "expected_verifier.password_verifier",
        field(case, "expected_verifier.password_verifier")?,
        config.password_verifier(),
    )
}

fn check_timestamp(case: &Value) -> CaseResult {
    let epoch = case.get("epoch_seconds").and_then(Value::as_u64).ok_or("missing or non-integer epoch_seconds")?;
    let expected = field(case, "timestamp")?;
    let formatted = Timestamp::from_unix_seconds(epoch).map_err(|e| e.to_string())?;
    same_text("timestamp", expected, formatted.as_str())?;
    let parsed = Timestamp::parse(expected).map_err(|e| format!("timestamp does not parse back: {e}"))?;
    if parsed.unix_seconds() != epoch {
        return Err(format!("timestamp parses to {} instead of {epoch}", parsed.unix_seconds()));
    }
    Ok(())
}

fn check_secret_hash(case: &Value) -> CaseResult {
    let hash = secret_hash(field(case, "client_secret")?, field(case, "username")?, field(case, "client_id")?)
        .map_err(|e| e.to_string())?;
    same_text("secret_hash", field(case, "secret_hash")?, &hash)
}

fn check_reject(case: &Value) -> CaseResult {
    // Passes only when srp-core refuses to produce a signature.
    let attempt = || -> std::result::Result<String, String> {
        let err = |e: srp_core::Error| e.to_string();
        let identity =
            Identity::user(field(case, "pool_id")?, field(case, "user_id_for_srp")?, field(case, "password")?)
                .map_err(err)?;
        let a = hex_to_fixed("a_hex", field(case, "a_hex")?, 128)?;
        let a: [u8; 128] = a.try_into().map_err(|_| "a_hex length".to_owned())?;
        let ephemeral = ClientEphemeral::from_random(&a).map_err(err)?;
        let challenge = Challenge {
            srp_b: field(case, "srp_b")?,
            salt: field(case, "salt")?,
            secret_block: field(case, "secret_block")?,
        };
        Ok(ephemeral.sign(&identity, &challenge, field(case, "timestamp")?).map_err(err)?.to_string())
    };
    match attempt() {
        Err(_) => Ok(()),
        Ok(signature) => Err(format!("a signature was produced ({signature}) where an error was required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKED_EXAMPLE: &str = r#"{
      "format": "cognito-srp-vectors/1",
      "password_cases": [{
        "id": "worked",
        "pool_id": "us-east-1_abcdefghi",
        "user_id_for_srp": "11111111-2222-3333-4444-555555555555",
        "password": "Passw0rd!Passw0rd!",
        "a_hex": "A_HEX", "srp_a": "SRP_A",
        "salt": "8b3f0c6c21a6c1d7a2b1e2e8d4a3c9f1",
        "srp_b": "SRP_B", "secret_block": "SECRET_BLOCK",
        "timestamp": "Sun Nov 22 07:30:00 UTC 2026",
        "expected": {"hkdf_key_hex": "78cd689cdeafaf099ef72cbecb04f5a9",
                     "signature": "SIGNATURE"}
      }]
    }"#;

    fn worked(signature: &str) -> String {
        let a = ClientEphemeral::from_random(&[0x7d; 128]).unwrap();
        WORKED_EXAMPLE
            .replace("A_HEX", &"7d".repeat(128))
            .replace("SRP_A", &a.srp_a())
            .replace("SRP_B", &format!("5a{}", "3c".repeat(383)))
            .replace("SECRET_BLOCK", &format!("{}Wg==", "Wlpa".repeat(21)))
            .replace("SIGNATURE", signature)
    }

    #[test]
    fn worked_example_passes_and_a_wrong_signature_fails() {
        let good = check_str(&worked("pFIh/dPLE6oUk1dFFkQOL6at63sJEUSEr8y1eDjKDdA=")).unwrap();
        assert_eq!(good.summary(), "1 passed, 0 failed");
        let bad = check_str(&worked("AAAA/dPLE6oUk1dFFkQOL6at63sJEUSEr8y1eDjKDdA=")).unwrap();
        assert_eq!(bad.summary(), "0 passed, 1 failed");
        assert!(bad.failures[0].contains("expected.signature differs"), "{:?}", bad.failures);
    }

    #[test]
    fn unusable_files_are_errors() {
        assert!(check_str("not json").is_err());
        assert!(check_str(r#"{"format": "other/1"}"#).is_err());
        assert_eq!(check_str(r#"{"format": "cognito-srp-vectors/1"}"#).unwrap().summary(), "0 passed, 0 failed");
    }

    #[test]
    fn a_case_with_missing_fields_fails_alone() {
        let text = r#"{"format": "cognito-srp-vectors/1",
            "timestamp_cases": [{"epoch_seconds": 0, "timestamp": "Thu Jan 1 00:00:00 UTC 1970"}, {"id": "broken"}]}"#;
        let report = check_str(text).unwrap();
        assert_eq!(report.summary(), "1 passed, 1 failed");
        assert!(report.failures[0].starts_with("timestamp_cases/broken"));
    }

    #[test]
    fn reject_cases_pass_only_on_error() {
        let case = |srp_b: &str| {
            format!(
                r#"{{"format": "cognito-srp-vectors/1", "reject_cases": [{{"id": "r", "pool_id": "us-east-1_x",
                "user_id_for_srp": "u", "password": "p", "a_hex": "05", "salt": "01", "srp_b": "{srp_b}",
                "secret_block": "AAAA", "timestamp": "Thu Jan 1 00:00:00 UTC 1970", "reason": "test"}}]}}"#
            )
        };
        assert_eq!(check_str(&case("0")).unwrap().summary(), "1 passed, 0 failed");
        assert_eq!(check_str(&case(srp_core::N_HEX)).unwrap().summary(), "1 passed, 0 failed");
        assert_eq!(check_str(&case("1234")).unwrap().summary(), "0 passed, 1 failed");
    }
}
