//! The generated types against the issue's promises: nulls, unknown values,
//! unknown members, fractional timestamps, redaction, and no panics.

use cognito_wire::cognito_identity::{self, GetCredentialsForIdentityResponse};
use cognito_wire::cognito_idp::{
    self, AuthenticationResultType, ChallengeNameType, GetUserResponse, InitiateAuthResponse,
    RespondToAuthChallengeRequest, SignUpRequest,
};
use cognito_wire::{ErrorCode, Service, decode_error};
use proptest::prelude::*;

#[test]
fn optional_members_accept_null_and_are_skipped_when_absent() {
    let req: SignUpRequest =
        serde_json::from_str(r#"{"ClientId":"c","Username":"u","Password":"p","ValidationData":null}"#).unwrap();
    assert_eq!(req.validation_data, None);
    let json = serde_json::to_value(&req).unwrap();
    assert!(json.get("ValidationData").is_none());
    assert_eq!(json["Password"], "p");
}

#[test]
fn required_members_sent_as_null_read_as_defaults_but_absent_ones_are_errors() {
    let out: GetUserResponse = serde_json::from_str(r#"{"Username":"u","UserAttributes":null}"#).unwrap();
    assert!(out.user_attributes.is_empty());
    assert!(serde_json::from_str::<GetUserResponse>(r#"{"Username":"u"}"#).is_err());
}

#[test]
fn unknown_enum_values_and_members_survive_a_round_trip() {
    let body = r#"{"ChallengeName":"QUANTUM_MFA","ChallengeParameters":{},"Session":"s","Brand":{"New":[1,2.5]}}"#;
    let out: InitiateAuthResponse = serde_json::from_str(body).unwrap();
    assert_eq!(out.challenge_name, Some(ChallengeNameType::Unknown("QUANTUM_MFA".into())));
    assert_eq!(out.unknown_fields["Brand"]["New"][1], 2.5);
    let back: serde_json::Value = serde_json::to_value(&out).unwrap();
    assert_eq!(back, serde_json::from_str::<serde_json::Value>(body).unwrap());
    assert_eq!(ChallengeNameType::from("SMS_MFA"), ChallengeNameType::SmsMfa);
    assert_eq!(ChallengeNameType::SmsMfa.to_string(), "SMS_MFA");
}

#[test]
fn timestamps_may_be_fractional() {
    let body = r#"{"IdentityId":"us-east-1:x","Credentials":{"AccessKeyId":"AK","SecretKey":"sk","SessionToken":"st","Expiration":1763848934.123}}"#;
    let out: GetCredentialsForIdentityResponse = serde_json::from_str(body).unwrap();
    let exp = out.credentials.as_ref().and_then(|c| c.expiration.as_ref()).unwrap();
    assert_eq!(exp.as_secs(), 1_763_848_934);
    // The secret key is sensitive.
    assert!(!format!("{out:?}").contains("sk\""));
}

#[test]
fn sensitive_members_are_redacted_in_debug() {
    let req: RespondToAuthChallengeRequest = serde_json::from_str(
        r#"{"ClientId":"client-id-1","ChallengeName":"PASSWORD_VERIFIER","Session":"session-secret",
            "ChallengeResponses":{"PASSWORD_CLAIM_SIGNATURE":"sig-secret","USERNAME":"alice"}}"#,
    )
    .unwrap();
    let debug = format!("{req:?}");
    for secret in ["session-secret", "sig-secret", "client-id-1"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    assert!(debug.contains("PasswordVerifier"));
    let tokens = AuthenticationResultType {
        access_token: Some("eyJaccess".into()),
        refresh_token: Some("eyJrefresh".into()),
        id_token: Some("eyJid".into()),
        ..Default::default()
    };
    assert!(!format!("{tokens:?}").contains("eyJ"));
}

#[test]
fn every_operation_has_a_request_and_response_variant() {
    for info in Service::CognitoIdp.operations() {
        let req = cognito_idp::Request::from_json(info.name, b"{}");
        // `{}` lacks required members for most operations; what matters is
        // that the name dispatches (no UnknownOperation).
        assert!(!matches!(req, Err(cognito_wire::BodyError::UnknownOperation(_))), "{}", info.name);
        if let Ok(req) = req {
            assert_eq!(req.operation(), info.name);
        }
    }
    assert_eq!(Service::CognitoIdp.operations().len(), 141);
    assert_eq!(Service::CognitoIdentity.operations().len(), 23);
    assert!(cognito_identity::Response::from_json("GetId", b"{}").is_ok());
    assert!(matches!(
        cognito_idp::Response::from_json("Nope", b"{}"),
        Err(cognito_wire::BodyError::UnknownOperation(_))
    ));
}

#[test]
fn error_codes_cover_both_services() {
    assert!(ErrorCode::from("NotAuthorizedException").services().len() == 2);
    assert_eq!(ErrorCode::from("UserNotFoundException").services(), &[Service::CognitoIdp]);
    assert!(ErrorCode::InternalErrorException.is_fault());
    assert!(!ErrorCode::CodeMismatchException.is_fault());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic(op in 0usize..164, status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let idp = Service::CognitoIdp.operations();
        let name = idp[op % idp.len()].name;
        let _ = cognito_idp::Response::from_json(name, &body);
        let _ = cognito_idp::Request::from_json(name, &body);
        let _ = decode_error(status, &http::HeaderMap::new(), &body).map(|e| e.to_string()).map_err(|e| e.to_string());
    }

    #[test]
    fn json_shaped_garbage_never_panics(op in 0usize..141, body in "\\{(\"[A-Za-z]{1,12}\":(null|true|1e400|-0|\"x\"|\\[\\]|\\{\\}),?){0,6}\\}") {
        let name = Service::CognitoIdp.operations()[op].name;
        let _ = cognito_idp::Response::from_json(name, body.as_bytes());
    }
}
