//! Arbitrary bytes into every response decoder and the error decoder.
//!
//! The first byte picks the operation (over both services), the second the
//! status class and header shape; the rest is the body. Run with
//! `cargo +nightly fuzz run decode_response` from `crates/cognito-wire`
//! (seed corpus: `cargo xtask wire fuzz-corpus`).
#![no_main]

use cognito_wire::{Service, cognito_identity, cognito_idp, decode_error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [op, shape, body @ ..] = data else { return };
    let idp = Service::CognitoIdp.operations();
    let identity = Service::CognitoIdentity.operations();
    let index = usize::from(*op) % (idp.len() + identity.len());
    let decoded = if index < idp.len() {
        cognito_idp::Response::from_json(idp[index].name, body).map(|r| r.to_json())
    } else {
        cognito_identity::Response::from_json(identity[index - idp.len()].name, body).map(|r| r.to_json())
    };
    // Whatever decodes must re-encode to something that decodes again.
    if let Ok(bytes) = decoded {
        let again = if index < idp.len() {
            cognito_idp::Response::from_json(idp[index].name, &bytes).is_ok()
        } else {
            cognito_identity::Response::from_json(identity[index - idp.len()].name, &bytes).is_ok()
        };
        assert!(again, "re-encoded body does not decode");
    }
    // Requests too: the local pool decodes them from the network.
    let _ = cognito_idp::Request::from_json(idp[index % idp.len()].name, body);

    let status = [200u16, 400, 403, 429, 500, 502][usize::from(shape & 7) % 6];
    let mut headers = http::HeaderMap::new();
    if shape & 8 != 0 {
        // Use a prefix of the body as the error type header, when it is a valid header value.
        let cut = body.len().min(usize::from(shape >> 4) * 4);
        if let Ok(value) = http::HeaderValue::from_bytes(&body[..cut]) {
            headers.insert("x-amzn-errortype", value);
        }
    }
    match decode_error(status, &headers, body) {
        Ok(err) => {
            let _ = err.to_string();
        }
        Err(err) => {
            let _ = err.to_string();
            assert!(err.excerpt.chars().count() <= 400);
        }
    }
});
