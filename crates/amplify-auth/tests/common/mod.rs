//! Shared fixtures: an in-process local pool and clients pointed at it.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amplify_auth::transport::{HyperTransport, Transport, TransportFuture};
use amplify_auth::{Auth, AuthConfig, RetryPolicy};
use cognito_wire::cognito_idp::{self as idp, operation as op};
use hub_events::AuthEvent;
use local_pool::{ClientOptions, LocalPool};
use token_store::{KeyValueStorage, MemoryStorage};

pub const PW: &str = "Corr3ct-Horse!";

/// Counts requests per operation, and can be told to fail some.
#[derive(Debug)]
pub struct Counting {
    inner: HyperTransport,
    pub counts: Mutex<BTreeMap<String, usize>>,
}

impl Counting {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { inner: HyperTransport::new().unwrap(), counts: Mutex::new(BTreeMap::new()) })
    }

    pub fn count(&self, op: &str) -> usize {
        self.counts.lock().unwrap().get(op).copied().unwrap_or(0)
    }
}

impl Transport for Counting {
    fn send(&self, request: http::Request<Vec<u8>>) -> TransportFuture<'_> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split('.').nth(1))
            .unwrap_or("")
            .to_owned();
        *self.counts.lock().unwrap().entry(target).or_default() += 1;
        self.inner.send(request)
    }
}

pub struct Env {
    pub pool: LocalPool,
    pub pool_id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl Env {
    pub async fn new() -> Self {
        Self::with(ClientOptions::default()).await
    }

    pub async fn with(options: ClientOptions) -> Self {
        let pool = LocalPool::start().await.unwrap();
        let pool_id = pool.create_pool("test").unwrap();
        let client = pool.create_client(&pool_id, options).unwrap();
        Self { pool, pool_id, client_id: client.client_id, client_secret: client.client_secret }
    }

    pub fn config(&self) -> amplify_auth::AuthConfigBuilder {
        let mut builder = AuthConfig::builder(&self.pool_id, &self.client_id)
            .user_pool_endpoint(self.pool.endpoint())
            .retry(RetryPolicy { attempt_timeout: Duration::from_secs(20), ..Default::default() });
        if let Some(secret) = &self.client_secret {
            builder = builder.client_secret(secret);
        }
        builder
    }

    pub fn auth(&self) -> Auth {
        Auth::new(self.config().build().unwrap()).unwrap()
    }

    pub fn auth_on(&self, storage: Arc<dyn KeyValueStorage>) -> Auth {
        Auth::builder(self.config().build().unwrap()).storage(storage).build().unwrap()
    }

    pub fn counted(&self, tolerance: Option<Duration>) -> (Auth, Arc<Counting>) {
        let counting = Counting::new();
        let mut config = self.config();
        if let Some(t) = tolerance {
            config = config.expiry_tolerance(t);
        }
        let auth = Auth::builder(config.build().unwrap())
            .storage(Arc::new(MemoryStorage::new()))
            .transport(counting.clone())
            .build()
            .unwrap();
        (auth, counting)
    }

    pub fn code(&self, username: &str) -> String {
        self.pool.last_code(&self.pool_id, username).unwrap()
    }

    pub fn now(&self) -> i64 {
        self.pool.engine().now()
    }

    pub fn set_mfa(&self, mode: idp::UserPoolMfaType, sms: bool, totp: bool, email: bool) {
        self.pool
            .engine()
            .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
                user_pool_id: self.pool_id.clone(),
                mfa_configuration: Some(mode),
                sms_mfa_configuration: sms.then(Default::default),
                software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                    enabled: Some(totp),
                    ..Default::default()
                }),
                email_mfa_configuration: email.then(Default::default),
                ..Default::default()
            })
            .unwrap();
    }

    pub fn track_devices(&self, on_user_prompt: bool) {
        self.pool
            .engine()
            .call::<op::UpdateUserPool>(idp::UpdateUserPoolRequest {
                user_pool_id: self.pool_id.clone(),
                auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
                device_configuration: Some(idp::DeviceConfigurationType {
                    challenge_required_on_new_device: Some(true),
                    device_only_remembered_on_user_prompt: Some(on_user_prompt),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .unwrap();
    }
}

/// Collects auth events from a client's hub.
pub struct Events {
    pub seen: Arc<Mutex<Vec<String>>>,
    _handle: hub_events::ListenerHandle,
}

impl Events {
    pub fn on(auth: &Auth) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let handle = auth.hub().listen_auth(move |event: &AuthEvent| {
            sink.lock().unwrap().push(event.as_str().to_owned());
        });
        Self { seen, _handle: handle }
    }

    pub fn names(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (up to 5 s: delivery may be asynchronous) until `names` were
    /// seen in this order, and returns everything seen.
    pub async fn wait_for(&self, names: &[&str]) -> Vec<String> {
        for _ in 0..500 {
            let seen = self.names();
            let mut it = seen.iter();
            if names.iter().all(|n| it.any(|s| s == n)) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected events {names:?}, saw {:?}", self.names());
    }
}
