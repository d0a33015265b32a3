//! `cargo xtask wire check-exchanges FILE_OR_DIR...`: every recorded
//! request and response goes through cognito-wire's generated types (and
//! its error decoder), is re-encoded, and must equal the original as a JSON
//! value, members that are `null` in the original aside.
//!
//! An exchange is `{"operation", "service"?, "request": {"headers", "body"},
//! "response": {"status", "headers", "body"}}`; a body is the JSON that was
//! sent, or a string holding the raw text when it was not JSON. Files are
//! `.json` (one exchange) or `.jsonl` (one per line).

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use cognito_wire::{Service, cognito_identity, cognito_idp, decode_error, framing};
use serde_json::Value;

/// The outcome of checking one file.
#[derive(Debug, Default)]
pub struct Report {
    /// Exchanges that round-tripped.
    pub passed: usize,
    /// One line per failing exchange.
    pub failures: Vec<String>,
}

/// The exchange files under `inputs` (`.json` and `.jsonl`), skipping the
/// recording harness's own files.
pub fn exchange_files(inputs: &[std::path::PathBuf]) -> std::io::Result<Vec<std::path::PathBuf>> {
    let files = crate::expand_inputs(inputs, &["json", "jsonl"])?;
    Ok(files.into_iter().filter(|f| !f.components().any(|c| c.as_os_str() == "harness")).collect())
}

/// Checks every exchange in `path` (`.json` or `.jsonl`).
pub fn check_file(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut report = Report::default();
    let is_lines = path.extension().and_then(|e| e.to_str()) == Some("jsonl");
    let items: Vec<(String, &str)> = if is_lines {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (format!("line {}", i + 1), l))
            .collect()
    } else {
        vec![(String::new(), text.as_str())]
    };
    for (label, item) in items {
        let result = serde_json::from_str::<Value>(item).map_err(|e| anyhow!("not JSON: {e}")).and_then(|v| check(&v));
        match result {
            Ok(()) => report.passed += 1,
            Err(err) => {
                report.failures.push(if label.is_empty() { format!("{err:#}") } else { format!("{label}: {err:#}") })
            }
        }
    }
    Ok(report)
}

/// Checks one exchange.
pub fn check(exchange: &Value) -> Result<()> {
    let operation = exchange["operation"].as_str().ok_or_else(|| anyhow!("no \"operation\""))?;
    let service = service_of(exchange)?;
    let status = exchange["response"]["status"].as_u64().ok_or_else(|| anyhow!("{operation}: no response status"))?;
    let status = u16::try_from(status).with_context(|| format!("{operation}: status {status}"))?;
    let success = (200..300).contains(&status);
    // An operation the model lacks can only have been refused.
    if service.operation(operation).is_none() && success {
        bail!("{operation}: not an operation of {}, yet the server accepted it", service.endpoint_prefix());
    }

    // The request.
    let request = &exchange["request"]["body"];
    let request_bytes = body_bytes(request);
    match decode_request(service, operation, &request_bytes) {
        Ok(reencoded) => {
            compare(request, &reencoded).with_context(|| format!("{operation} request"))?;
        }
        // A request the server rejected may be one no decoder should accept.
        Err(_) if !success => {}
        Err(err) => bail!("{operation} request does not decode: {err}"),
    }

    // The response.
    let response = &exchange["response"]["body"];
    let response_bytes = body_bytes(response);
    if success {
        let reencoded =
            decode_response(service, operation, &response_bytes).with_context(|| format!("{operation} response"))?;
        compare(response, &reencoded).with_context(|| format!("{operation} response"))?;
    } else {
        let headers = header_map(&exchange["response"]["headers"])?;
        let decoded = decode_error(status, &headers, &response_bytes)
            .map_err(|e| anyhow!("{operation} error response does not decode: {e}"))?;
        // The body's own type, cleaned, must agree with what the decoder chose
        // when the server sent both.
        if let Some(body_type) = response.get("__type").and_then(Value::as_str) {
            let cleaned = body_type.split([':', ',']).next().unwrap_or("").rsplit('#').next().unwrap_or("");
            if cleaned != decoded.code.as_str() {
                bail!("{operation}: error type {} but the body says {body_type:?}", decoded.code);
            }
        }
        // Re-encode as a server would and decode again: nothing may change.
        let message = decoded.message.clone().unwrap_or_default();
        let reencoded = framing::error_response(&decoded.code, &message, decoded.request_id.as_deref().unwrap_or(""));
        let again = decode_error(reencoded.status().as_u16(), reencoded.headers(), reencoded.body())
            .map_err(|e| anyhow!("{operation}: re-encoded error does not decode: {e}"))?;
        if again.code != decoded.code || again.message.unwrap_or_default() != message {
            bail!("{operation}: error does not survive re-encoding");
        }
    }
    Ok(())
}

fn service_of(exchange: &Value) -> Result<Service> {
    let name = match exchange.get("service").and_then(Value::as_str) {
        Some(name) => name.to_owned(),
        None => {
            let target = exchange["request"]["headers"]
                .as_object()
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target")))
                .and_then(|(_, v)| v.as_str())
                .ok_or_else(|| anyhow!("no \"service\" and no x-amz-target header"))?;
            let info = framing::parse_target(target).ok_or_else(|| anyhow!("unknown target {target}"))?;
            info.service.endpoint_prefix().to_owned()
        }
    };
    match name.as_str() {
        "cognito-idp" => Ok(Service::CognitoIdp),
        "cognito-identity" => Ok(Service::CognitoIdentity),
        other => bail!("unknown service {other:?}"),
    }
}

/// The bytes that were on the wire: JSON re-serialised, or a raw string.
fn body_bytes(body: &Value) -> Vec<u8> {
    match body {
        Value::String(raw) => raw.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    }
}

fn decode_request(service: Service, operation: &str, body: &[u8]) -> Result<Value, cognito_wire::BodyError> {
    let bytes = match service {
        Service::CognitoIdp => cognito_idp::Request::from_json(operation, body)?.to_json(),
        Service::CognitoIdentity => cognito_identity::Request::from_json(operation, body)?.to_json(),
    };
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn decode_response(service: Service, operation: &str, body: &[u8]) -> Result<Value> {
    let bytes = match service {
        Service::CognitoIdp => cognito_idp::Response::from_json(operation, body)?.to_json(),
        Service::CognitoIdentity => cognito_identity::Response::from_json(operation, body)?.to_json(),
    };
    Ok(serde_json::from_slice(&bytes)?)
}

fn header_map(headers: &Value) -> Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers.as_object().into_iter().flatten() {
        let value = value.as_str().ok_or_else(|| anyhow!("header {name} is not a string"))?;
        map.insert(http::HeaderName::from_bytes(name.as_bytes())?, http::HeaderValue::from_str(value)?);
    }
    Ok(map)
}

/// Drops object members whose value is `null`, recursively.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Compares the original with the re-encoded body; `null` members of the
/// original may be absent (or anything) in the re-encoding.
fn compare(original: &Value, reencoded: &Value) -> Result<()> {
    let original = match original {
        // A raw (non-JSON) body that nevertheless decoded: compare its JSON.
        Value::String(raw) => serde_json::from_str(raw).unwrap_or(Value::Null),
        Value::Null => Value::Object(serde_json::Map::new()),
        other => other.clone(),
    };
    let mut reencoded = reencoded.clone();
    strip_nulled(&original, &mut reencoded);
    let original = without_nulls(&original);
    first_difference("$", &original, &reencoded).map_or(Ok(()), |d| bail!("differs at {d}"))
}

/// Removes from the re-encoding every member that is `null` in the original
/// (a required member sent as `null` re-encodes as its default).
fn strip_nulled(original: &Value, reencoded: &mut Value) {
    match (original, reencoded) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                if v.is_null() {
                    y.remove(k);
                } else if let Some(w) = y.get_mut(k) {
                    strip_nulled(v, w);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (v, w) in x.iter().zip(y.iter_mut()) {
                strip_nulled(v, w);
            }
        }
        _ => {}
    }
}

fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(&format!("{path}.{k}"), va, vb) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k} (missing after re-encoding)")),
                }
            }
            y.keys().find(|k| !x.contains_key(*k)).map(|k| format!("{path}.{k} (added by re-encoding)"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path} (length {} vs {})", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| first_difference(&format!("{path}[{i}]"), va, vb))
        }
        (Value::Number(x), Value::Number(y)) => {
            let same = x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(p, q)| p == q);
            (!same).then(|| format!("{path} ({x} vs {y})"))
        }
        _ => (a != b).then(|| format!("{path} ({} vs {})", short(a), short(b))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 { format!("{}…", &s[..s.char_indices().nth(57).map_or(s.len(), |(i, _)| i)]) } else { s }
}

/// Writes a seed corpus for the `decode_response` fuzz target
/// (`crates/cognito-wire/fuzz`): each recorded response body, prefixed with
/// the byte that selects its operation and a byte selecting its status and
/// header shape. Returns how many seeds were written.
pub fn write_fuzz_corpus(exchanges_dir: &Path, out: &Path) -> Result<usize> {
    std::fs::create_dir_all(out)?;
    let idp = Service::CognitoIdp.operations();
    let identity = Service::CognitoIdentity.operations();
    let mut written = 0;
    for file in exchange_files(&[exchanges_dir.to_path_buf()])? {
        let text = std::fs::read_to_string(&file)?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(exchange) = serde_json::from_str::<Value>(line).or_else(|_| serde_json::from_str(&text)) else {
                continue;
            };
            let Some(operation) = exchange["operation"].as_str() else { continue };
            let index = match service_of(&exchange) {
                Ok(Service::CognitoIdp) => idp.iter().position(|o| o.name == operation),
                Ok(Service::CognitoIdentity) => {
                    identity.iter().position(|o| o.name == operation).map(|i| i + idp.len())
                }
                Err(_) => None,
            };
            let Some(index) = index.and_then(|i| u8::try_from(i).ok()) else { continue };
            let status = exchange["response"]["status"].as_u64().unwrap_or(0);
            let shape: u8 = if (200..300).contains(&status) { 0 } else { 1 };
            let mut seed = vec![index, shape];
            seed.extend(body_bytes(&exchange["response"]["body"]));
            std::fs::write(out.join(format!("seed-{written:04}")), seed)?;
            written += 1;
            if text.lines().count() == 1 || file.extension().is_none_or(|e| e != "jsonl") {
                break;
            }
        }
    }
    Ok(written)
}
