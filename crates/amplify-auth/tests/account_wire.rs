//! Every account call at the HTTP level (wiremock): the request framing
//! (`POST /`, `X-Amz-Target`, `Content-Type: application/x-amz-json-1.1`,
//! the body members, the stored access token for signed-in calls), and the
//! errors Cognito documents for each operation, mapped to
//! [`AuthError::Service`] with Cognito's code, message and request id,
//! without losing the stored session.

#![allow(clippy::unwrap_used, clippy::panic, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use amplify_auth::{Auth, AuthConfig, AuthError, MfaPreference, RetryPolicy, SignUpOptions};
use serde_json::{Value, json};
use token_store::{DeviceMetadata, MemoryStorage, TokenRecord};
use wiremock::{Mock, MockServer, ResponseTemplate};

const POOL: &str = "us-east-1_WirePool";
const CLIENT: &str = "wireclient123";
const PREFIX: &str = "AWSCognitoIdentityProviderService.";
const JSON_1_1: &str = "application/x-amz-json-1.1";
/// Stands for the stored access token in the expected bodies.
const ACCESS: &str = "$ACCESS_TOKEN";
const DEVICE: &str = "us-east-1_0000aaaa-1111-2222-3333-444455556666";

fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn jwt(token_use: &str) -> String {
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let claims = json!({
        "sub": "sub-0001", "username": "alice", "cognito:username": "alice", "token_use": token_use,
        "iat": now, "auth_time": now, "exp": now + 3600, "origin_jti": "o-1", "jti": format!("j-{token_use}"),
        "client_id": CLIENT, "iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"),
    });
    format!("{}.{}.{}", b64url(br#"{"alg":"RS256","kid":"k1"}"#), b64url(claims.to_string().as_bytes()), b64url(b"sig"))
}

/// A client on `server` with a fresh stored session for alice and a
/// remembered device.
async fn signed_in(server: &MockServer) -> (Auth, TokenRecord) {
    let config = AuthConfig::builder(POOL, CLIENT)
        .user_pool_endpoint(server.uri())
        .retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            attempt_timeout: Duration::from_secs(5),
        })
        .build()
        .unwrap();
    let auth = Auth::builder(config).storage(Arc::new(MemoryStorage::new())).build().unwrap();
    let mut record = TokenRecord::new("alice", jwt("access"));
    record.id_token = Some(jwt("id").into());
    record.refresh_token = Some("refresh-1".into());
    auth.token_store().save(&record).await.unwrap();
    auth.token_store().save_device("alice", &DeviceMetadata::new(DEVICE, "-group", "device-password")).await.unwrap();
    (auth, record)
}

type Call = fn(Auth) -> Pin<Box<dyn Future<Output = Result<(), AuthError>> + Send>>;

struct Case {
    /// The operation (`X-Amz-Target` suffix).
    op: &'static str,
    /// The call.
    call: Call,
    /// Members the body must have, with these values (`ACCESS`: the stored access token).
    body: Value,
    /// A successful answer.
    ok: Value,
    /// Errors Cognito documents for the operation: (type, message).
    errors: &'static [(&'static str, &'static str)],
}

/// A handle sending `ClientMetadata` `{"app": "wire"}` (`with_client_metadata`).
fn meta(auth: &Auth) -> Auth {
    auth.with_client_metadata(BTreeMap::from([("app".to_owned(), "wire".to_owned())]))
}

fn delivery() -> Value {
    json!({"AttributeName": "email", "DeliveryMedium": "EMAIL", "Destination": "a***@e***"})
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            op: "GetUser",
            call: |a| Box::pin(async move { a.fetch_user_attributes().await.map(drop) }),
            body: json!({"AccessToken": ACCESS}),
            ok: json!({"Username": "alice", "UserAttributes": [{"Name": "sub", "Value": "sub-0001"}]}),
            errors: &[
                ("NotAuthorizedException", "Access Token has been revoked"),
                ("PasswordResetRequiredException", "Password reset required for the user"),
                ("UserNotFoundException", "User does not exist."),
                ("TooManyRequestsException", "Rate exceeded"),
            ],
        },
        Case {
            op: "GetUser",
            call: |a| Box::pin(async move { a.fetch_mfa_preference().await.map(drop) }),
            body: json!({"AccessToken": ACCESS}),
            ok: json!({"Username": "alice", "UserAttributes": [], "UserMFASettingList": ["SOFTWARE_TOKEN_MFA"],
                "PreferredMfaSetting": "SOFTWARE_TOKEN_MFA"}),
            errors: &[
                ("NotAuthorizedException", "Access Token has expired"),
                ("UserNotConfirmedException", "User is not confirmed."),
            ],
        },
        Case {
            op: "UpdateUserAttributes",
            call: |a| {
                Box::pin(async move {
                    let attrs = BTreeMap::from([("email".to_owned(), "new@example.com".to_owned())]);
                    let own = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
                    // The call's own metadata wins over the handle's.
                    meta(&a).update_user_attributes(&attrs, Some(own)).await.map(drop)
                })
            },
            body: json!({"AccessToken": ACCESS, "UserAttributes": [{"Name": "email", "Value": "new@example.com"}],
                "ClientMetadata": {"k": "v"}}),
            ok: json!({"CodeDeliveryDetailsList": [delivery()]}),
            errors: &[
                ("AliasExistsException", "An account with the given email already exists."),
                ("InvalidParameterException", "Invalid email address format."),
                ("CodeDeliveryFailureException", "Unable to deliver the code."),
            ],
        },
        Case {
            op: "VerifyUserAttribute",
            call: |a| Box::pin(async move { a.confirm_user_attribute("email", " 123456 ").await }),
            body: json!({"AccessToken": ACCESS, "AttributeName": "email", "Code": "123456"}),
            ok: json!({}),
            errors: &[
                ("CodeMismatchException", "Invalid verification code provided, please try again."),
                ("ExpiredCodeException", "Invalid code provided, please request a code again."),
                ("LimitExceededException", "Attempt limit exceeded, please try after some time."),
                ("AliasExistsException", "An account with the given email already exists."),
            ],
        },
        Case {
            op: "GetUserAttributeVerificationCode",
            call: |a| Box::pin(async move { meta(&a).send_user_attribute_verification_code("email").await.map(drop) }),
            body: json!({"AccessToken": ACCESS, "AttributeName": "email", "ClientMetadata": {"app": "wire"}}),
            ok: json!({"CodeDeliveryDetails": delivery()}),
            errors: &[
                ("LimitExceededException", "Attempt limit exceeded, please try after some time."),
                ("InvalidParameterException", "Auto verification not turned on."),
            ],
        },
        Case {
            op: "DeleteUserAttributes",
            call: |a| Box::pin(async move { a.delete_user_attributes(&["custom:team", "nickname"]).await }),
            body: json!({"AccessToken": ACCESS, "UserAttributeNames": ["custom:team", "nickname"]}),
            ok: json!({}),
            errors: &[
                ("InvalidParameterException", "Cannot delete a required attribute."),
                ("NotAuthorizedException", "Access Token has expired"),
            ],
        },
        Case {
            op: "AssociateSoftwareToken",
            call: |a| Box::pin(async move { a.set_up_totp().await.map(drop) }),
            body: json!({"AccessToken": ACCESS}),
            ok: json!({"SecretCode": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}),
            errors: &[
                ("SoftwareTokenMFANotFoundException", "Software token MFA is not enabled for the user pool."),
                ("ConcurrentModificationException", "Concurrent modification."),
            ],
        },
        Case {
            op: "VerifySoftwareToken",
            call: |a| Box::pin(async move { a.verify_totp_setup("654321", Some("phone")).await }),
            body: json!({"AccessToken": ACCESS, "UserCode": "654321", "FriendlyDeviceName": "phone"}),
            ok: json!({"Status": "SUCCESS"}),
            errors: &[
                ("EnableSoftwareTokenMFAException", "Code mismatch"),
                ("CodeMismatchException", "Invalid code received for user"),
                ("InvalidUserPoolConfigurationException", "Software token MFA is not enabled."),
            ],
        },
        Case {
            op: "SetUserMFAPreference",
            call: |a| {
                Box::pin(async move { a.update_mfa_preference(None, Some(MfaPreference::Preferred), None).await })
            },
            body: json!({"AccessToken": ACCESS, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
            ok: json!({}),
            errors: &[
                ("InvalidParameterException", "User has not verified software token mfa"),
                ("NotAuthorizedException", "Access Token has been revoked"),
            ],
        },
        Case {
            op: "ChangePassword",
            call: |a| Box::pin(async move { a.update_password("Old-Pass-1", "New-Pass-2").await }),
            body: json!({"AccessToken": ACCESS, "PreviousPassword": "Old-Pass-1", "ProposedPassword": "New-Pass-2"}),
            ok: json!({}),
            errors: &[
                ("NotAuthorizedException", "Incorrect username or password."),
                ("InvalidPasswordException", "Password does not conform to policy: Password not long enough"),
                ("LimitExceededException", "Attempt limit exceeded, please try after some time."),
            ],
        },
        Case {
            op: "ListDevices",
            call: |a| Box::pin(async move { a.fetch_devices(Some(10), Some("page-2".into())).await.map(drop) }),
            body: json!({"AccessToken": ACCESS, "Limit": 10, "PaginationToken": "page-2"}),
            ok: json!({"Devices": [{"DeviceKey": DEVICE, "DeviceAttributes": [{"Name": "device_name", "Value": "x"}]}]}),
            errors: &[
                ("InvalidParameterException", "Invalid pagination token."),
                ("TooManyRequestsException", "Rate exceeded"),
            ],
        },
        Case {
            op: "ForgetDevice",
            call: |a| Box::pin(async move { a.forget_device(Some("us-east-1_other-device")).await }),
            body: json!({"AccessToken": ACCESS, "DeviceKey": "us-east-1_other-device"}),
            ok: json!({}),
            errors: &[
                ("ResourceNotFoundException", "Device does not exist."),
                ("InvalidParameterException", "Invalid device key given."),
            ],
        },
        Case {
            op: "UpdateDeviceStatus",
            call: |a| Box::pin(async move { a.remember_device().await }),
            body: json!({"AccessToken": ACCESS, "DeviceKey": DEVICE, "DeviceRememberedStatus": "remembered"}),
            ok: json!({}),
            errors: &[
                ("ResourceNotFoundException", "Device does not exist."),
                ("NotAuthorizedException", "Access Token has been revoked"),
            ],
        },
        Case {
            op: "SignUp",
            call: |a| {
                Box::pin(async move {
                    let options = SignUpOptions {
                        user_attributes: BTreeMap::from([("email".to_owned(), "bo@example.com".to_owned())]),
                        ..Default::default()
                    };
                    a.sign_up("bo", "Pass-word-1", options).await.map(drop)
                })
            },
            body: json!({"ClientId": CLIENT, "Username": "bo", "Password": "Pass-word-1",
                "UserAttributes": [{"Name": "email", "Value": "bo@example.com"}]}),
            ok: json!({"UserConfirmed": false, "UserSub": "sub-0002", "CodeDeliveryDetails": delivery()}),
            errors: &[
                ("UsernameExistsException", "User already exists"),
                (
                    "InvalidPasswordException",
                    "Password did not conform with policy: Password must have symbol characters",
                ),
                ("InvalidParameterException", "Invalid email address format."),
            ],
        },
        Case {
            op: "ConfirmSignUp",
            call: |a| Box::pin(async move { meta(&a).confirm_sign_up("bo", "112233", true).await.map(drop) }),
            body: json!({"ClientId": CLIENT, "Username": "bo", "ConfirmationCode": "112233", "ForceAliasCreation": true,
                "ClientMetadata": {"app": "wire"}}),
            ok: json!({}),
            errors: &[
                ("CodeMismatchException", "Invalid verification code provided, please try again."),
                ("ExpiredCodeException", "Invalid code provided, please request a code again."),
                ("AliasExistsException", "An account with the given email already exists."),
                ("TooManyFailedAttemptsException", "Too many failed attempts."),
            ],
        },
        Case {
            op: "ResendConfirmationCode",
            call: |a| Box::pin(async move { meta(&a).resend_sign_up_code("bo").await.map(drop) }),
            body: json!({"ClientId": CLIENT, "Username": "bo", "ClientMetadata": {"app": "wire"}}),
            ok: json!({"CodeDeliveryDetails": delivery()}),
            errors: &[
                ("LimitExceededException", "Attempt limit exceeded, please try after some time."),
                ("UserNotFoundException", "Username/client id combination not found."),
            ],
        },
        Case {
            op: "ForgotPassword",
            call: |a| Box::pin(async move { meta(&a).reset_password("bo").await.map(drop) }),
            body: json!({"ClientId": CLIENT, "Username": "bo", "ClientMetadata": {"app": "wire"}}),
            ok: json!({"CodeDeliveryDetails": delivery()}),
            errors: &[
                ("UserNotFoundException", "Username/client id combination not found."),
                (
                    "InvalidParameterException",
                    "Cannot reset password for the user as there is no registered/verified email or phone_number",
                ),
                ("LimitExceededException", "Attempt limit exceeded, please try after some time."),
            ],
        },
        Case {
            op: "ConfirmForgotPassword",
            call: |a| Box::pin(async move { meta(&a).confirm_reset_password("bo", "445566", "New-Pass-3").await }),
            body: json!({"ClientId": CLIENT, "Username": "bo", "ConfirmationCode": "445566", "Password": "New-Pass-3",
                "ClientMetadata": {"app": "wire"}}),
            ok: json!({}),
            errors: &[
                ("CodeMismatchException", "Invalid verification code provided, please try again."),
                ("ExpiredCodeException", "Invalid code provided, please request a code again."),
                ("InvalidPasswordException", "Password does not conform to policy: Password not long enough"),
            ],
        },
        // Last: success signs the user out.
        Case {
            op: "DeleteUser",
            call: |a| Box::pin(async move { a.delete_user().await }),
            body: json!({"AccessToken": ACCESS}),
            ok: json!({}),
            errors: &[
                ("NotAuthorizedException", "Access Token has been revoked"),
                ("UserNotFoundException", "User does not exist."),
            ],
        },
    ]
}

/// Checks one received request's framing and body members.
fn check_request(case: &Case, request: &wiremock::Request, access_token: &str) {
    let op = case.op;
    assert_eq!(request.method.as_str(), "POST", "{op}");
    assert_eq!(request.url.path(), "/", "{op}");
    let header = |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("x-amz-target").as_deref(), Some(format!("{PREFIX}{op}").as_str()), "{op}");
    assert_eq!(header("content-type").as_deref(), Some(JSON_1_1), "{op}");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    for (member, expected) in case.body.as_object().unwrap() {
        let expected = if expected == ACCESS { &Value::from(access_token) } else { expected };
        assert_eq!(body.get(member), Some(expected), "{op}: member {member} in {body}");
    }
    let signed_in = case.body.get("AccessToken").is_some();
    assert_eq!(body.get("AccessToken").is_some(), signed_in, "{op}: {body}");
}

#[tokio::test]
async fn every_account_call_is_framed_like_cognitos_and_maps_its_errors() {
    let mut checked = 0;
    for case in cases() {
        let op = case.op;
        let server = MockServer::start().await;
        let (auth, record) = signed_in(&server).await;
        let access_token = record.access_token.expose_secret().to_owned();

        for (code, message) in case.errors {
            server.reset().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(
                    ResponseTemplate::new(400)
                        .insert_header("x-amzn-requestid", "req-42")
                        .set_body_raw(json!({"__type": code, "message": message}).to_string(), JSON_1_1),
                )
                .mount(&server)
                .await;
            let err = (case.call)(auth.clone()).await.unwrap_err();
            let AuthError::Service(service) = &err else { panic!("{op} {code}: {err:?}") };
            assert_eq!(service.code.as_str(), *code, "{op}");
            assert_eq!(service.message.as_deref(), Some(*message), "{op} {code}");
            assert_eq!(service.request_id.as_deref(), Some("req-42"), "{op} {code}");
            assert_eq!(service.status, 400, "{op} {code}");
            assert_eq!(err.name(), *code, "{op}");
            // Throttling (as the AWS SDKs classify it) is transient and retried
            // (max_attempts 2); everything else is final and sent once.
            let throttle = matches!(*code, "TooManyRequestsException" | "LimitExceededException");
            assert_eq!(err.is_transient(), throttle, "{op} {code}");
            // Secrets the call sent never reach the error text.
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(&access_token) && !shown.contains("Pass-"), "{op}: {shown}");
            let received = server.received_requests().await.unwrap();
            let expected_attempts = if throttle { 2 } else { 1 };
            assert_eq!(received.len(), expected_attempts, "{op} {code}");
            check_request(&case, &received[0], &access_token);
            // The stored session and device survive the error.
            let stored = auth.token_store().load().await.unwrap().unwrap();
            assert_eq!(stored.access_token.expose_secret(), access_token, "{op} {code}");
            assert_eq!(stored.refresh_token, record.refresh_token, "{op} {code}");
            assert!(auth.token_store().load_device("alice").await.unwrap().is_some(), "{op} {code}");
            let session = auth.fetch_auth_session(false).await.unwrap();
            assert_eq!(session.tokens.unwrap().username, "alice", "{op} {code}");
            checked += 1;
        }

        // Success: the same framing.
        server.reset().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_raw(case.ok.to_string(), JSON_1_1))
            .mount(&server)
            .await;
        (case.call)(auth.clone()).await.unwrap_or_else(|err| panic!("{op}: {err:?}"));
        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1, "{op}");
        check_request(&case, &received[0], &access_token);
    }
    assert!(checked >= 40, "{checked} error cases");
}

#[tokio::test]
async fn signed_in_calls_without_a_session_send_nothing() {
    let server = MockServer::start().await;
    let (auth, _) = signed_in(&server).await;
    auth.token_store().clear_tokens().await.unwrap();
    for case in cases().into_iter().filter(|c| c.body.get("AccessToken").is_some()) {
        let err = (case.call)(auth.clone()).await.unwrap_err();
        assert_eq!(err, AuthError::NotSignedIn, "{}", case.op);
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_user_success_clears_the_session_and_device() {
    let server = MockServer::start().await;
    let (auth, _) = signed_in(&server).await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", JSON_1_1))
        .mount(&server)
        .await;
    auth.delete_user().await.unwrap();
    assert!(auth.token_store().load().await.unwrap().is_none());
    assert!(auth.token_store().load_device("alice").await.unwrap().is_none());
    assert!(auth.fetch_auth_session(false).await.unwrap().tokens.is_none());
}
