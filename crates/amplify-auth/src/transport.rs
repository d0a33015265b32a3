//! HTTP: a [`Transport`] trait (one request in, one response out) with the
//! default implementation on hyper and rustls (ring provider, bundled
//! webpki roots), and the calling layer that frames Cognito operations,
//! retries what is safe to retry and decodes errors.
//!
//! Nothing here logs a request or response body: log lines carry the
//! operation name, the attempt, the HTTP status and the error code only.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cognito_wire::{Operation, decode_response, framing};
use http::HeaderValue;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::RetryPolicy;
use crate::error::{AuthError, Delivery};

/// A response as the transport received it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

/// A failed exchange.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// Whether the request may have been processed.
    pub delivery: Delivery,
    /// What happened.
    pub message: String,
}

/// The future a [`Transport`] returns.
pub type TransportFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'a>>;

/// Sends one HTTP request and returns the whole response. Implement it to
/// route requests through your own stack (a proxy, a test double).
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request`; the deadline is the caller's (see [`Caller`]).
    fn send(&self, request: http::Request<Vec<u8>>) -> TransportFuture<'_>;
}

/// The default transport: hyper 1 with rustls (ring) and the bundled
/// webpki roots; plain http only reaches loopback hosts (the configuration
/// refuses any other `http://` endpoint). One connection pool per instance;
/// cheap to clone.
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<hyper::body::Bytes>,
    >,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HyperTransport")
    }
}

impl HyperTransport {
    /// A transport with the bundled web PKI roots.
    pub fn new() -> Result<Self, AuthError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|err| AuthError::validation("tls", err.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector);
        Ok(Self { client })
    }
}

impl Transport for HyperTransport {
    fn send(&self, request: http::Request<Vec<u8>>) -> TransportFuture<'_> {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let request = http::Request::from_parts(parts, Full::new(hyper::body::Bytes::from(body)));
            let response = self.client.request(request).await.map_err(|err| {
                let delivery = if err.is_connect() { Delivery::NotSent } else { Delivery::MaybeSent };
                TransportError { delivery, message: describe(&err) }
            })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|err| TransportError { delivery: Delivery::MaybeSent, message: describe(&err) })?
                .to_bytes()
                .to_vec();
            Ok(HttpResponse { status: parts.status.as_u16(), headers: parts.headers, body })
        })
    }
}

/// The error chain as one line (hyper's errors carry no request content).
fn describe(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        out.push_str(": ");
        out.push_str(&inner.to_string());
        source = inner.source();
    }
    out
}

/// Operations that can be sent twice without a different outcome, so they
/// are retried after a 5xx or a connection lost mid-request. Everything is
/// retried after throttling (the service did not act) and after failures
/// that happened before the request left.
const IDEMPOTENT: &[&str] = &[
    "InitiateAuth",
    "GetUser",
    "GetDevice",
    "ListDevices",
    "ForgetDevice",
    "UpdateDeviceStatus",
    "GetTokensFromRefreshToken",
    "GetUserAuthFactors",
    "SetUserMFAPreference",
    "GetId",
    "GetCredentialsForIdentity",
    "GlobalSignOut",
    "RevokeToken",
];

fn is_throttle(err: &cognito_wire::ServiceError) -> bool {
    err.status == 429
        || matches!(
            err.code.as_str(),
            "TooManyRequestsException"
                | "LimitExceededException"
                | "ThrottlingException"
                | "Throttling"
                | "RequestLimitExceeded"
                | "RequestThrottled"
                | "RequestThrottledException"
        )
}

/// Frames operations for one endpoint and sends them with retries.
#[derive(Clone)]
pub struct Caller {
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    user_agent: HeaderValue,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller").field("transport", &self.transport).field("retry", &self.retry).finish()
    }
}

/// The library's `x-amz-user-agent` product token.
pub const USER_AGENT: &str = concat!("amplify-auth-rs/", env!("CARGO_PKG_VERSION"), " lang/rust");

impl Caller {
    /// A caller over `transport`.
    #[must_use]
    pub fn new(transport: Arc<dyn Transport>, retry: RetryPolicy) -> Self {
        Self { transport, retry, user_agent: HeaderValue::from_static(USER_AGENT) }
    }

    /// The transport under this caller (for the hosted UI's form-encoded
    /// OAuth endpoints, which are not Cognito operations).
    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// Sends operation `O` to `endpoint` and decodes its output; `action`
    /// names the public API for the user agent (`signIn`, `fetchAuthSession`).
    pub async fn call<O: Operation>(
        &self,
        endpoint: &str,
        action: &'static str,
        input: &O::Input,
    ) -> Result<O::Output, AuthError> {
        let template = framing::build_request::<O>(endpoint, input)
            .map_err(|err| AuthError::validation("endpoint", err.to_string()))?;
        let invocation_id = invocation_id();
        let idempotent = IDEMPOTENT.contains(&O::NAME);
        let max = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let mut request = template.clone();
            let headers = request.headers_mut();
            headers.insert("cache-control", HeaderValue::from_static("no-store"));
            if let Ok(ua) = HeaderValue::from_str(&format!("{} auth/{action}", self.user_agent.to_str().unwrap_or("")))
            {
                headers.insert("x-amz-user-agent", ua);
            }
            if let Ok(id) = HeaderValue::from_str(&invocation_id) {
                headers.insert("amz-sdk-invocation-id", id);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("attempt={attempt}; max={max}")) {
                headers.insert("amz-sdk-request", v);
            }
            let outcome = tokio::time::timeout(self.retry.attempt_timeout, self.transport.send(request)).await;
            let (error, retryable) = match outcome {
                Err(_elapsed) => (
                    AuthError::Transport {
                        delivery: Delivery::MaybeSent,
                        message: format!("no response within {:?}", self.retry.attempt_timeout),
                    },
                    idempotent,
                ),
                Ok(Err(err)) => {
                    let retryable = idempotent || err.delivery == Delivery::NotSent;
                    (AuthError::Transport { delivery: err.delivery, message: err.message }, retryable)
                }
                Ok(Ok(response)) => match decode_response::<O>(response.status, &response.headers, &response.body) {
                    Ok(output) => {
                        tracing::debug!(
                            operation = O::NAME,
                            attempt,
                            status = response.status,
                            "cognito call succeeded"
                        );
                        return Ok(output);
                    }
                    Err(cognito_wire::ResponseError::Service(err)) => {
                        let retryable = is_throttle(&err) || (idempotent && err.is_retryable());
                        tracing::debug!(
                            operation = O::NAME,
                            attempt,
                            status = err.status,
                            code = err.code.as_str(),
                            "cognito call failed"
                        );
                        (AuthError::Service(err), retryable)
                    }
                    Err(cognito_wire::ResponseError::Protocol(err)) => {
                        let retryable = idempotent && err.status >= 500;
                        tracing::debug!(operation = O::NAME, attempt, status = err.status, "undecodable response");
                        (AuthError::Protocol(format!("{} returned an {}", O::NAME, err)), retryable)
                    }
                },
            };
            if !retryable || attempt >= max {
                return Err(error);
            }
            tokio::time::sleep(backoff(&self.retry, attempt)).await;
            attempt += 1;
        }
    }
}

/// Full jitter: a random delay in `[0, min(max, base * 2^(attempt-1))]`.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(policy.max_delay);
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return ceiling / 2;
    }
    let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    ceiling.mul_f64(fraction)
}

/// A random UUID v4 string, for `amz-sdk-invocation-id`.
pub(crate) fn invocation_id() -> String {
    let mut b = [0u8; 16];
    let _ = crate::random::fill(&mut b); // an all-zero id only weakens tracing
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        let policy = RetryPolicy::default();
        for attempt in 1..40 {
            assert!(backoff(&policy, attempt) <= policy.max_delay);
        }
        assert!(backoff(&policy, 1) <= policy.base_delay);
    }

    #[test]
    fn invocation_ids_are_uuid_v4() {
        let id = invocation_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, invocation_id());
    }
}
