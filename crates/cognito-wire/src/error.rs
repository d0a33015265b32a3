//! Decoding responses and errors the way AWS JSON 1.1 clients do.
//!
//! The error type comes from the `x-amzn-errortype` header, else the body's
//! `__type`, else its `code`; it is cut at the first `:` or `,` and stripped
//! of any `namespace#` prefix. The message comes from `message`, `Message`,
//! or the `x-amzn-errormessage` header. The HTTP status is kept but never
//! decides: real Cognito answers 400 where the model says 403.
//!
//! Nothing here panics on any input, and no error carries a secret: bodies
//! that cannot be decoded are described by a short excerpt with anything
//! token-like redacted, and serde's messages lose the quoted values they
//! would otherwise echo.

use std::fmt;

use http::HeaderMap;
use serde_json::Value;

use crate::{ErrorCode, Operation};

/// A body that does not decode as the expected shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The operation name is not one of the service's.
    UnknownOperation(String),
    /// Not JSON, or truncated JSON.
    Syntax {
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
    },
    /// JSON of the wrong shape (a missing required member, a string where a
    /// number belongs, ...). Values are redacted from the description.
    Shape {
        /// What serde reported, with quoted values removed.
        description: String,
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
    },
}

impl BodyError {
    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let (line, column) = (err.line(), err.column());
        match err.classify() {
            Category::Data => Self::Shape { description: redact_quoted(&err.to_string()), line, column },
            Category::Io | Category::Syntax | Category::Eof => Self::Syntax { line, column },
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOperation(op) => write!(f, "unknown operation {op:?}"),
            Self::Syntax { line, column } => write!(f, "malformed JSON at line {line} column {column}"),
            Self::Shape { description, .. } => write!(f, "unexpected JSON shape: {description}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// serde messages quote offending values (`invalid type: string "hunter2"`);
/// keep the structure, drop the values. Backquoted member names stay.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quote = false;
    for c in message.chars() {
        if c == '"' {
            if !in_quote {
                out.push_str("\"…\"");
            }
            in_quote = !in_quote;
        } else if !in_quote {
            out.push(c);
        }
    }
    // serde appends " at line L column C"; the fields carry those.
    match out.rfind(" at line ") {
        Some(i) => out[..i].to_owned(),
        None => out,
    }
}

/// An error the service reported, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    /// The error type (`NotAuthorizedException`, ...); unknown types are kept.
    pub code: ErrorCode,
    /// The human-readable message, if any.
    pub message: Option<String>,
    /// The `x-amzn-requestid` header, for support cases.
    pub request_id: Option<String>,
    /// The HTTP status (informational: dispatch on `code`).
    pub status: u16,
}

impl ServiceError {
    /// Whether retrying the same request may succeed: server faults, HTTP
    /// 429/5xx and throttling errors (as Amplify v6's retry decider).
    pub fn is_retryable(&self) -> bool {
        let name = self.code.as_str();
        self.code.is_fault()
            || matches!(self.status, 429 | 500 | 502 | 503 | 504)
            || matches!(
                name,
                "TooManyRequestsException"
                    | "LimitExceededException"
                    | "ThrottlingException"
                    | "Throttling"
                    | "RequestLimitExceeded"
                    | "RequestThrottled"
                    | "RequestThrottledException"
                    | "InternalErrorException"
                    | "InternalError"
                    | "ServiceUnavailable"
            )
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{}: {message}", self.code),
            None => write!(f, "{} (HTTP {})", self.code, self.status),
        }
    }
}

impl std::error::Error for ServiceError {}

/// What made a response impossible to interpret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// A success status whose body does not decode as the operation's output.
    UndecodableBody(BodyError),
    /// An error status whose body is not a JSON object and no error type header.
    NotJson,
    /// An error status with a JSON body that names no error type.
    NoErrorType,
}

/// A response that is not valid AWS JSON 1.1 (an HTML error page from a
/// proxy, a truncated body, a body of the wrong shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// The HTTP status.
    pub status: u16,
    /// What was wrong.
    pub kind: ProtocolErrorKind,
    /// The start of the body, with anything token-like replaced by `[redacted]`.
    pub excerpt: String,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            ProtocolErrorKind::UndecodableBody(err) => format!("undecodable response body ({err})"),
            ProtocolErrorKind::NotJson => "error response that is not JSON".to_owned(),
            ProtocolErrorKind::NoErrorType => "error response without an error type".to_owned(),
        };
        write!(f, "{what}, HTTP {}: {:?}", self.status, self.excerpt)
    }
}

impl std::error::Error for ProtocolError {}

/// The failure of one call: the service said no, or the answer made no sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The service reported an error.
    Service(ServiceError),
    /// The response could not be interpreted.
    Protocol(ProtocolError),
}

impl ResponseError {
    /// The service's error code, when the service reported one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Service(err) => Some(&err.code),
            Self::Protocol(_) => None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Service(err) => err.status,
            Self::Protocol(err) => err.status,
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(err) => err.fmt(f),
            Self::Protocol(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for ResponseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Service(err) => Some(err),
            Self::Protocol(err) => Some(err),
        }
    }
}

impl From<ServiceError> for ResponseError {
    fn from(err: ServiceError) -> Self {
        Self::Service(err)
    }
}

impl From<ProtocolError> for ResponseError {
    fn from(err: ProtocolError) -> Self {
        Self::Protocol(err)
    }
}

/// Decodes the response to operation `O`: its output on a 2xx status, its
/// error otherwise.
pub fn decode_response<O: Operation>(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<O::Output, ResponseError> {
    if (200..300).contains(&status) {
        crate::glue::decode_body(body).map_err(|err| {
            ResponseError::Protocol(ProtocolError {
                status,
                kind: ProtocolErrorKind::UndecodableBody(err),
                excerpt: excerpt(body),
            })
        })
    } else {
        Err(decode_error(status, headers, body).map_or_else(ResponseError::Protocol, ResponseError::Service))
    }
}

/// Decodes an error response (any status).
pub fn decode_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Result<ServiceError, ProtocolError> {
    let json: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let body_str = |key: &str| json.as_ref().and_then(|o| o.get(key)).and_then(Value::as_str);

    let raw_type = [header("x-amzn-errortype"), body_str("__type"), body_str("code")]
        .into_iter()
        .flatten()
        .find_map(sanitize_type);
    let Some(raw_type) = raw_type else {
        let kind = if json.is_some() { ProtocolErrorKind::NoErrorType } else { ProtocolErrorKind::NotJson };
        return Err(ProtocolError { status, kind, excerpt: excerpt(body) });
    };
    let message = body_str("message").or_else(|| body_str("Message")).or_else(|| header("x-amzn-errormessage"));
    Ok(ServiceError {
        code: ErrorCode::from(raw_type),
        message: message.map(str::to_owned),
        request_id: header("x-amzn-requestid").map(str::to_owned),
        status,
    })
}

/// `aws.protocoltests#FooError:http://...` → `FooError`; empty → `None`.
fn sanitize_type(raw: &str) -> Option<&str> {
    let cut = raw.split([':', ',']).next().unwrap_or("");
    let name = cut.rsplit('#').next().unwrap_or("").trim();
    (!name.is_empty()).then_some(name)
}

/// The first 160 characters of a body, control characters dropped, and any
/// run of 16 or more token-like characters (base64, hex, JWT) redacted.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const CHARS: usize = 160;
    const TOKEN_RUN: usize = 16;
    let text = String::from_utf8_lossy(&body[..body.len().min(CHARS * 4)]);
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= TOKEN_RUN {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars().take(CHARS) {
        if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_' | '.') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            if !c.is_control() {
                out.push(c);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn header_type_wins_and_is_cleaned() {
        let h = headers(&[
            ("x-amzn-errortype", "UserNotFoundException:http://internal.amazon.com/"),
            ("x-amzn-requestid", "r-1"),
        ]);
        let err = decode_error(400, &h, br#"{"__type":"Other","message":"User does not exist."}"#).unwrap();
        assert_eq!(err.code, ErrorCode::UserNotFoundException);
        assert_eq!(err.message.as_deref(), Some("User does not exist."));
        assert_eq!(err.request_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn namespaced_body_type_and_capital_message() {
        let body =
            br#"{"__type":"com.amazonaws.cognito.identity.idp.model#UsernameExistsException","Message":"exists"}"#;
        let err = decode_error(400, &HeaderMap::new(), body).unwrap();
        assert_eq!(err.code, ErrorCode::UsernameExistsException);
        assert_eq!(err.message.as_deref(), Some("exists"));
    }

    #[test]
    fn code_member_and_comma_cut_and_header_message() {
        let h = headers(&[("x-amzn-errormessage", "slow down")]);
        let err = decode_error(429, &h, br#"{"code":"TooManyRequestsException,extra"}"#).unwrap();
        assert_eq!(err.code, ErrorCode::TooManyRequestsException);
        assert_eq!(err.message.as_deref(), Some("slow down"));
        assert!(err.is_retryable());
    }

    #[test]
    fn unknown_types_are_kept() {
        let err = decode_error(400, &HeaderMap::new(), br#"{"__type":"BrandNewException"}"#).unwrap();
        assert_eq!(err.code, ErrorCode::Unknown("BrandNewException".into()));
        assert!(!err.is_retryable());
    }

    #[test]
    fn html_pages_are_protocol_errors_with_redacted_excerpts() {
        let body = b"<html><body>502 Bad Gateway eyJraWQiOiJhYmMiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0</body></html>";
        let err = decode_error(502, &HeaderMap::new(), body).unwrap_err();
        assert_eq!(err.status, 502);
        assert_eq!(err.kind, ProtocolErrorKind::NotJson);
        assert!(err.excerpt.contains("502 Bad Gateway"));
        assert!(err.excerpt.contains("[redacted]"));
        assert!(!err.excerpt.contains("eyJ"));
    }

    #[test]
    fn json_without_a_type_is_a_protocol_error() {
        let err = decode_error(400, &HeaderMap::new(), br#"{"message":"?"}"#).unwrap_err();
        assert_eq!(err.kind, ProtocolErrorKind::NoErrorType);
        let err = decode_error(400, &headers(&[("x-amzn-errortype", ":")]), b"").unwrap_err();
        assert_eq!(err.kind, ProtocolErrorKind::NotJson);
    }

    #[test]
    fn serde_messages_lose_values() {
        let err = crate::glue::decode_body::<crate::cognito_idp::InitiateAuthRequest>(
            br#"{"AuthFlow":"USER_SRP_AUTH","ClientId":7,"AuthParameters":{"PASSWORD":"hunter2"}}"#,
        )
        .unwrap_err();
        assert!(matches!(err, BodyError::Shape { .. }), "{err:?}");
        let err = crate::glue::decode_body::<crate::cognito_idp::InitiateAuthRequest>(
            br#"{"AuthFlow":"USER_SRP_AUTH","ClientId":"c","AnalyticsMetadata":"hunter2"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, BodyError::Shape { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = crate::glue::decode_body::<crate::cognito_idp::InitiateAuthRequest>(
            br#"{"AuthFlow":"USER_SRP_AUTH","ClientId":{"x":"hunter2"}}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(
            redact_quoted(r#"invalid type: string "hunter2", expected i32 at line 1 column 9"#),
            "invalid type: string \"…\", expected i32"
        );
    }
}
