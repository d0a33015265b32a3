//! The HTTP face of the engine: `POST /` for both services' JSON API,
//! `GET /_local-pool/outbox`, each pool's JWKS and OpenID discovery, and
//! the hosted UI's OAuth 2.0 endpoints (`oauth.rs`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::engine::{Engine, MAX_BODY, tracing_line};

/// A running server; [`Running::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    saver: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Some(saver) = self.saver {
            let _ = saver.await;
        }
    }
}

pub(crate) async fn serve(
    engine: Arc<Engine>,
    addr: SocketAddr,
    data_dir: Option<PathBuf>,
) -> std::io::Result<(SocketAddr, Running)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    *engine.issuer_base.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(format!("http://{local}"));
    let (stop_tx, stop_rx) = watch::channel(false);
    let saver = data_dir.map(|dir| tokio::spawn(crate::persist::saver(engine.clone(), dir, stop_rx.clone())));
    let hosted = Arc::new(crate::oauth::Hosted::default());
    let task = tokio::spawn(accept_loop(listener, engine, hosted, stop_rx));
    Ok((local, Running { stop: stop_tx, task, saver }))
}

async fn accept_loop(
    listener: TcpListener,
    engine: Arc<Engine>,
    hosted: Arc<crate::oauth::Hosted>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let engine = engine.clone();
        let hosted = hosted.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let engine = engine.clone();
                let hosted = hosted.clone();
                async move { Ok::<_, Infallible>(route(&engine, &hosted, req).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

async fn route(engine: &Engine, hosted: &crate::oauth::Hosted, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let response = if method == Method::POST && path == "/" {
        match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(body) => {
                let r = engine.handle(&target, &body.to_bytes());
                let (parts, body) = r.into_parts();
                Response::from_parts(parts, Full::new(Bytes::from(body)))
            }
            Err(_) => {
                let r = cognito_wire::framing::error_response(
                    &cognito_wire::ErrorCode::InvalidParameterException,
                    "Request body is too large or was cut off.",
                    "",
                );
                let (parts, body) = r.into_parts();
                Response::from_parts(parts, Full::new(Bytes::from(body)))
            }
        }
    } else if crate::oauth::handles(&path) {
        crate::oauth::handle(engine, hosted, req).await
    } else if method == Method::GET && path == "/_local-pool/outbox" {
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| percent_decode(v))
        };
        let messages = engine.outbox(param("pool").as_deref(), param("user").as_deref());
        json_response(StatusCode::OK, &serde_json::json!({ "messages": messages }))
    } else if method == Method::GET && path == "/_local-pool/health" {
        json_response(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
    } else if method == Method::GET && path.ends_with("/.well-known/jwks.json") {
        let pool_id = path.trim_start_matches('/').trim_end_matches("/.well-known/jwks.json");
        match engine.jwks(pool_id) {
            Ok(jwks) => json_response(StatusCode::OK, &jwks),
            Err(_) => {
                json_response(StatusCode::NOT_FOUND, &serde_json::json!({ "message": "User pool does not exist" }))
            }
        }
    } else if method == Method::GET && path.ends_with("/.well-known/openid-configuration") {
        let pool_id = path.trim_start_matches('/').trim_end_matches("/.well-known/openid-configuration");
        if engine.jwks(pool_id).is_ok() {
            let issuer = engine.issuer(pool_id);
            // The hosted UI is served at the pool's own host:port.
            let base = issuer.trim_end_matches(pool_id).trim_end_matches('/').to_owned();
            json_response(
                StatusCode::OK,
                &serde_json::json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
                    "authorization_endpoint": format!("{base}/oauth2/authorize"),
                    "token_endpoint": format!("{base}/oauth2/token"),
                    "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
                    "revocation_endpoint": format!("{base}/oauth2/revoke"),
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "response_types_supported": ["code", "token"],
                    "subject_types_supported": ["public"],
                    "scopes_supported": ["openid", "email", "phone", "profile"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                    "claims_supported": ["sub", "iss", "email", "email_verified", "phone_number", "phone_number_verified", "cognito:username"],
                }),
            )
        } else {
            json_response(StatusCode::NOT_FOUND, &serde_json::json!({ "message": "User pool does not exist" }))
        }
    } else {
        json_response(StatusCode::NOT_FOUND, &serde_json::json!({ "message": "Not found" }))
    };
    let op = target.rsplit('.').next().unwrap_or("");
    tracing_line(&format!(
        "{method} {path}{}{op} {} {:.1}ms",
        if op.is_empty() { "" } else { " " },
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

/// Decodes `%XX` and `+` (query strings and form bodies).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let decoded = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = decoded {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn query_values_decode() {
        assert_eq!(percent_decode("us-east-1_abc"), "us-east-1_abc");
        assert_eq!(percent_decode("a%40b.c"), "a@b.c");
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("end%4"), "end%4");
        assert_eq!(percent_decode("%"), "%");
    }
}
