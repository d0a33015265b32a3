//! AWS JSON 1.1 framing: every call is `POST /` with a JSON body,
//! `Content-Type: application/x-amz-json-1.1` and
//! `X-Amz-Target: <TargetPrefix>.<Operation>`.
//!
//! [`build_request`] produces an unsigned `http::Request` for a client;
//! SigV4 signing of [`AuthKind::SigV4`](crate::AuthKind) operations is the
//! transport's job. [`parse_target`], [`success_response`] and
//! [`error_response`] are the server's half (the local user pool uses them).

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::{ErrorCode, Operation, OperationInfo, Service};

/// The media type of every request and response body.
pub const CONTENT_TYPE_JSON_1_1: &str = "application/x-amz-json-1.1";

/// The `X-Amz-Target` header name.
pub const X_AMZ_TARGET: &str = "x-amz-target";

/// The `X-Amz-Target` value of operation `O`.
pub fn target<O: Operation>() -> String {
    format!("{}.{}", O::SERVICE.target_prefix(), O::NAME)
}

/// A request that cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramingError {
    /// The endpoint is not a valid absolute URI.
    InvalidEndpoint,
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidEndpoint => f.write_str("the endpoint is not a valid absolute URL"),
        }
    }
}

impl std::error::Error for FramingError {}

/// Frames `input` as a request to operation `O` at `endpoint` (a base URL
/// such as `https://cognito-idp.us-east-1.amazonaws.com` or
/// `http://127.0.0.1:9229`; the request goes to its root path `/`).
pub fn build_request<O: Operation>(endpoint: &str, input: &O::Input) -> Result<Request<Vec<u8>>, FramingError> {
    let uri: http::Uri = endpoint.parse().map_err(|_| FramingError::InvalidEndpoint)?;
    let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
        return Err(FramingError::InvalidEndpoint);
    };
    let path = match uri.path() {
        "" => "/",
        p => p,
    };
    let uri = http::Uri::builder()
        .scheme(scheme.clone())
        .authority(authority.clone())
        .path_and_query(path)
        .build()
        .map_err(|_| FramingError::InvalidEndpoint)?;
    let target = HeaderValue::from_str(&target::<O>()).map_err(|_| FramingError::InvalidEndpoint)?;
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, CONTENT_TYPE_JSON_1_1)
        .header(X_AMZ_TARGET, target)
        .body(crate::glue::encode_body(input))
        .map_err(|_| FramingError::InvalidEndpoint)
}

/// The service and operation named by an `X-Amz-Target` value (server side).
/// `None` for a prefix or operation neither service has.
pub fn parse_target(value: &str) -> Option<&'static OperationInfo> {
    let (prefix, operation) = value.split_once('.')?;
    let service = [Service::CognitoIdp, Service::CognitoIdentity].into_iter().find(|s| s.target_prefix() == prefix)?;
    service.operation(operation)
}

/// A 200 response carrying `output` (server side).
pub fn success_response<T: Serialize>(output: &T, request_id: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(crate::glue::encode_body(output));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON_1_1));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// An error response as Cognito sends it (server side): status 400 for
/// client errors (whatever the model says), 500 for server faults; body
/// `{"__type","message"}`; headers `x-amzn-ErrorType: <Name>:`,
/// `x-amzn-ErrorMessage` and `x-amzn-RequestId`.
pub fn error_response(code: &ErrorCode, message: &str, request_id: &str) -> Response<Vec<u8>> {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "__type")]
        kind: &'a str,
        message: &'a str,
    }
    let status = if code.is_fault() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else if *code == ErrorCode::TooManyRequestsException {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = Response::new(crate::glue::encode_body(&Body { kind: code.as_str(), message }));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON_1_1));
    if let Ok(v) = HeaderValue::from_str(&format!("{}:", code.as_str())) {
        headers.insert("x-amzn-errortype", v);
    }
    // Header values must be visible ASCII; a message that is not keeps only the body copy.
    if let Ok(v) = HeaderValue::from_str(message) {
        headers.insert("x-amzn-errormessage", v);
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cognito_identity::operation::GetId;
    use crate::cognito_idp::operation::{AdminGetUser, GetUser, SignUp};
    use crate::{AuthKind, decode_error};

    #[test]
    fn targets_and_auth_classes() {
        assert_eq!(target::<SignUp>(), "AWSCognitoIdentityProviderService.SignUp");
        assert_eq!(target::<GetId>(), "AWSCognitoIdentityService.GetId");
        assert_eq!(<SignUp as Operation>::AUTH, AuthKind::Unauthenticated);
        assert_eq!(<GetUser as Operation>::AUTH, AuthKind::AccessToken);
        assert_eq!(<AdminGetUser as Operation>::AUTH, AuthKind::SigV4);
    }

    #[test]
    fn auth_class_counts_match_the_model() {
        let count = |s: Service, k: AuthKind| s.operations().iter().filter(|o| o.auth == k).count();
        assert_eq!(count(Service::CognitoIdp, AuthKind::Unauthenticated), 10);
        assert_eq!(count(Service::CognitoIdp, AuthKind::AccessToken), 24);
        assert_eq!(count(Service::CognitoIdentity, AuthKind::Unauthenticated), 4);
        assert_eq!(count(Service::CognitoIdentity, AuthKind::AccessToken), 0);
    }

    #[test]
    fn requests_go_to_the_root_path() {
        let req = build_request::<GetUser>("http://127.0.0.1:9229", &Default::default()).unwrap();
        assert_eq!(req.uri().to_string(), "http://127.0.0.1:9229/");
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.body().as_slice(), br#"{"AccessToken":""}"#);
        assert_eq!(
            build_request::<GetUser>("not a url", &Default::default()).unwrap_err(),
            FramingError::InvalidEndpoint
        );
        assert_eq!(
            build_request::<GetUser>("/relative", &Default::default()).unwrap_err(),
            FramingError::InvalidEndpoint
        );
    }

    #[test]
    fn targets_parse_back() {
        let info = parse_target("AWSCognitoIdentityProviderService.InitiateAuth").unwrap();
        assert_eq!((info.name, info.service), ("InitiateAuth", Service::CognitoIdp));
        assert_eq!(info.target(), "AWSCognitoIdentityProviderService.InitiateAuth");
        assert!(parse_target("AWSCognitoIdentityProviderService.Nope").is_none());
        assert!(parse_target("Nope.InitiateAuth").is_none());
        assert!(parse_target("").is_none());
    }

    #[test]
    fn error_responses_decode_to_what_they_encode() {
        let response = error_response(&ErrorCode::NotAuthorizedException, "Incorrect username or password.", "rid");
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["x-amzn-errortype"], "NotAuthorizedException:");
        let err = decode_error(response.status().as_u16(), response.headers(), response.body()).unwrap();
        assert_eq!(err.code, ErrorCode::NotAuthorizedException);
        assert_eq!(err.message.as_deref(), Some("Incorrect username or password."));
        assert_eq!(err.request_id.as_deref(), Some("rid"));
        assert_eq!(error_response(&ErrorCode::InternalErrorException, "x", "r").status(), 500);
    }
}
