//! A Cognito-compatible user pool that runs on your machine: sign-up with
//! codes delivered to an outbox, SRP sign-in verified with `srp-core`'s
//! server half, RS256 tokens with a JWKS, refresh, revocation, and the
//! management API boto3, the AWS CLI and the AWS SDKs use. It builds only on
//! `srp-core` and `cognito-wire`, never on the client crates, so a bug in our
//! client cannot hide behind the same bug here.
//!
//! Three ways to use it:
//! - in a test, in-process ([`LocalPool::start`]): an ephemeral
//!   `127.0.0.1` port, pools, clients and users made through the Rust API,
//!   codes read from [`LocalPool::outbox`];
//! - as a binary: `local-pool serve [--port N] [--data-dir DIR] [--config FILE]`;
//! - through the standard management API (`CreateUserPool`,
//!   `AdminCreateUser`, ...) at its URL. Signed requests are accepted with
//!   any credentials: the signature is not checked.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use local_pool::{ClientOptions, LocalPool};
//!
//! let pool = LocalPool::start().await?;
//! let pool_id = pool.create_pool("demo")?;
//! let client = pool.create_client(&pool_id, ClientOptions::default())?;
//! pool.create_user(&pool_id, "alice", "Correct-Horse-1", &[("email", "alice@example.com")])?;
//! println!("Cognito endpoint: {} (pool {pool_id}, client {})", pool.endpoint(), client.client_id);
//! pool.stop().await;
//! # Ok(()) }
//! ```

/// Dispatches an operation name to `self.<method>(input)` for the listed
/// operations of one service's operation module (`op`, `iop`): the body is
/// decoded to the operation's input and the output encoded; any other name
/// is `UnknownOperationException`.
macro_rules! dispatch_ops {
    ($self:ident, $name:expr, $body:expr, $module:ident; $($op:ident => $method:ident,)*) => {
        match $name {
            $(<$module::$op as Operation>::NAME => {
                let input: <$module::$op as Operation>::Input = decode($body)?;
                let output: <$module::$op as Operation>::Output = $self.$method(input)?;
                Ok(cognito_wire::glue::encode_body(&output))
            })*
            other => Err(Fail::new(
                ErrorCode::Unknown("UnknownOperationException".into()),
                format!("{other} is not supported by the local pool yet"),
            )),
        }
    };
}

mod admin;
mod auth;
mod custom;
mod devices;
mod engine;
mod federation;
mod identity;
mod mfa;
mod oauth;
mod passwordless;
mod persist;
mod server;
mod state;
mod tokens;
mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cognito_wire::Operation;
use cognito_wire::cognito_idp::{self as idp, operation as op};

pub use custom::{
    ChallengeResult, CreateAuthChallengeRequest, CreateAuthChallengeResponse, CustomAuthConfig, CustomAuthHooks,
    CustomAuthRequest, DefineAuthChallengeResponse, Delivery, HookResult, VerifyAuthChallengeRequest,
    VerifyAuthChallengeResponse, standard_define,
};
pub use engine::{Engine, Fail, MAX_BODY};
pub use mfa::current_totp;
pub use state::Message;

/// How to start a pool.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// The address to bind (default 127.0.0.1).
    pub host: Option<std::net::IpAddr>,
    /// Where to keep state across restarts (none: in memory).
    pub data_dir: Option<PathBuf>,
    /// Pools, clients and users to create at start (`--config`).
    pub config: Option<PathBuf>,
}

/// App-client settings for [`LocalPool::create_client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The client's name.
    pub name: String,
    /// Whether the client has a secret.
    pub secret: bool,
    /// `ExplicitAuthFlows` (e.g. `ALLOW_USER_SRP_AUTH`).
    pub explicit_auth_flows: Vec<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            name: "app".into(),
            secret: false,
            explicit_auth_flows: ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// A created app client.
#[derive(Clone)]
pub struct AppClient {
    /// The client id.
    pub client_id: String,
    /// The client secret, when it has one.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for AppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A running pool: an HTTP endpoint over an [`Engine`].
#[derive(Debug)]
pub struct LocalPool {
    engine: Arc<Engine>,
    addr: SocketAddr,
    server: server::Running,
    data_dir: Option<PathBuf>,
}

/// Saves a pool's state to its data directory on demand, from anywhere
/// (for example just before a process exits on a signal, where
/// [`LocalPool::stop`] cannot run). The pool also saves by itself: within
/// about 250 ms of each change, and when it stops.
#[derive(Debug, Clone)]
pub struct StateSaver {
    engine: Arc<Engine>,
    dir: PathBuf,
}

impl StateSaver {
    /// Writes the state now (atomically: a temporary file, then a rename).
    pub fn save(&self) -> std::io::Result<()> {
        persist::save(&self.engine, &self.dir)
    }
}

impl LocalPool {
    /// Starts an in-memory pool on an ephemeral 127.0.0.1 port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(Options::default()).await
    }

    /// Starts a pool with `options`.
    pub async fn start_with(options: Options) -> std::io::Result<Self> {
        let engine = Arc::new(match &options.data_dir {
            Some(dir) => persist::load(dir)?,
            None => Engine::new(),
        });
        let host = options.host.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        let (addr, server) =
            server::serve(engine.clone(), SocketAddr::new(host, options.port), options.data_dir.clone()).await?;
        if let Some(config) = &options.config {
            persist::preload(&engine, config)?;
        }
        Ok(Self { engine, addr, server, data_dir: options.data_dir })
    }

    /// A handle that saves this pool's state on demand; `None` for a pool
    /// without a data directory (in memory only).
    pub fn state_saver(&self) -> Option<StateSaver> {
        let dir = self.data_dir.clone()?;
        Some(StateSaver { engine: self.engine.clone(), dir })
    }

    /// The endpoint URL to give a Cognito client (`http://127.0.0.1:<port>`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The engine behind the endpoint.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Creates a pool with the default policy (email auto-verified) and returns its id.
    pub fn create_pool(&self, name: &str) -> Result<String, Fail> {
        let out = self.engine.call::<op::CreateUserPool>(idp::CreateUserPoolRequest {
            pool_name: name.into(),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            ..Default::default()
        })?;
        Ok(out.user_pool.and_then(|p| p.id).unwrap_or_default())
    }

    /// Creates an app client.
    pub fn create_client(&self, pool_id: &str, options: ClientOptions) -> Result<AppClient, Fail> {
        let out = self.engine.call::<op::CreateUserPoolClient>(idp::CreateUserPoolClientRequest {
            user_pool_id: pool_id.into(),
            client_name: options.name,
            generate_secret: Some(options.secret),
            explicit_auth_flows: Some(options.explicit_auth_flows.iter().map(|f| f.as_str().into()).collect()),
            ..Default::default()
        })?;
        let client = out.user_pool_client.unwrap_or_default();
        Ok(AppClient {
            client_id: client.client_id.map(|c| c.expose().clone()).unwrap_or_default(),
            client_secret: client.client_secret.map(|s| s.expose().clone()),
        })
    }

    /// Creates a confirmed user with a permanent password.
    pub fn create_user(
        &self,
        pool_id: &str,
        username: &str,
        password: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), Fail> {
        self.admin_create_user(pool_id, username, None, attributes)?;
        self.engine.call::<op::AdminSetUserPassword>(idp::AdminSetUserPasswordRequest {
            user_pool_id: pool_id.into(),
            username: username.into(),
            password: password.into(),
            permanent: Some(true),
            ..Default::default()
        })?;
        Ok(())
    }

    /// Creates a user as an administrator's `AdminCreateUser` with a
    /// temporary password does (no invitation sent): status
    /// `FORCE_CHANGE_PASSWORD`, so the first sign-in asks for a new
    /// password (`NEW_PASSWORD_REQUIRED`).
    pub fn create_user_with_temporary_password(
        &self,
        pool_id: &str,
        username: &str,
        temporary_password: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), Fail> {
        self.admin_create_user(pool_id, username, Some(temporary_password), attributes)
    }

    fn admin_create_user(
        &self,
        pool_id: &str,
        username: &str,
        temporary_password: Option<&str>,
        attributes: &[(&str, &str)],
    ) -> Result<(), Fail> {
        self.engine.call::<op::AdminCreateUser>(idp::AdminCreateUserRequest {
            user_pool_id: pool_id.into(),
            username: username.into(),
            temporary_password: temporary_password.map(Into::into),
            message_action: Some(idp::MessageActionType::Suppress),
            user_attributes: Some(
                attributes
                    .iter()
                    .map(|(k, v)| idp::AttributeType {
                        name: (*k).into(),
                        value: Some((*v).into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        })?;
        Ok(())
    }

    /// Creates an identity pool that accepts ID tokens of the given user
    /// pools' app clients (`(user_pool_id, client_id)`), with
    /// `ServerSideTokenCheck` on (signed-out users are refused), and
    /// returns its id (`<region>:<uuid>`). With `allow_unauthenticated`,
    /// guests get credentials too.
    pub fn create_identity_pool(
        &self,
        name: &str,
        allow_unauthenticated: bool,
        providers: &[(&str, &str)],
    ) -> Result<String, Fail> {
        use cognito_wire::cognito_identity::{self as ci, operation as iop};
        let out = self.engine.call::<iop::CreateIdentityPool>(ci::CreateIdentityPoolInput {
            identity_pool_name: name.into(),
            allow_unauthenticated_identities: allow_unauthenticated,
            cognito_identity_providers: Some(
                providers
                    .iter()
                    .map(|(pool_id, client_id)| ci::CognitoIdentityProvider {
                        provider_name: Some(identity::provider_name(pool_id)),
                        client_id: Some((*client_id).to_owned()),
                        server_side_token_check: Some(true),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        })?;
        Ok(out.identity_pool_id)
    }

    /// Registers a federated identity provider on a pool
    /// (`CreateIdentityProvider`): `provider_type` is `Google`, `Facebook`,
    /// `LoginWithAmazon`, `SignInWithApple` (the name must then be the
    /// type), `OIDC` or `SAML`. The hosted UI sends `identity_provider=NAME`
    /// to the built-in mock provider's consent page; add NAME to a client's
    /// `SupportedIdentityProviders` to allow it there.
    pub fn create_identity_provider(&self, pool_id: &str, name: &str, provider_type: &str) -> Result<(), Fail> {
        let mut details = std::collections::BTreeMap::new();
        if provider_type == "OIDC" {
            details.insert("oidc_issuer".to_owned(), format!("https://{}.idp.local.example", name.to_lowercase()));
        }
        self.engine.call::<op::CreateIdentityProvider>(idp::CreateIdentityProviderRequest {
            user_pool_id: pool_id.into(),
            provider_name: name.into(),
            provider_type: idp::IdentityProviderTypeType::from(provider_type),
            provider_details: details,
            ..Default::default()
        })?;
        Ok(())
    }

    /// Sets `Policies.SignInPolicy.AllowedFirstAuthFactors` (USER_AUTH):
    /// e.g. `["PASSWORD", "EMAIL_OTP", "SMS_OTP"]`. Without it a pool
    /// offers PASSWORD only, as Cognito does.
    pub fn set_first_auth_factors(&self, pool_id: &str, factors: &[&str]) -> Result<(), Fail> {
        let mut state = self.engine.lock();
        let pool = Engine::pool_mut(&mut state, pool_id)?;
        let policies = pool.config.policies.get_or_insert_with(Default::default);
        policies.sign_in_policy = Some(idp::SignInPolicyType {
            allowed_first_auth_factors: Some(factors.iter().map(|f| idp::AuthFactorType::from(*f)).collect()),
            ..Default::default()
        });
        drop(state);
        self.engine.mark_dirty();
        Ok(())
    }

    /// Registers custom-auth hooks (define / create / verify auth
    /// challenge) for a pool; see [`CustomAuthHooks`].
    pub fn set_custom_auth(&self, pool_id: &str, hooks: CustomAuthHooks) -> Result<(), Fail> {
        self.engine.set_custom_auth(pool_id, hooks)
    }

    /// Selects one of the built-in custom-auth hooks for a pool.
    pub fn set_custom_auth_config(&self, pool_id: &str, config: CustomAuthConfig) -> Result<(), Fail> {
        self.engine.set_custom_auth_config(pool_id, Some(config))
    }

    /// Messages sent so far, optionally for one pool and/or user.
    pub fn outbox(&self, pool_id: Option<&str>, username: Option<&str>) -> Vec<Message> {
        self.engine.outbox(pool_id, username)
    }

    /// The code of the newest message to `username` in `pool_id`.
    pub fn last_code(&self, pool_id: &str, username: &str) -> Option<String> {
        self.outbox(Some(pool_id), Some(username)).pop().map(|m| m.code)
    }

    /// Stops serving (and saves state when there is a data directory).
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

impl Engine {
    /// Calls an operation directly, as the HTTP endpoint would.
    pub fn call<O: Operation>(&self, input: O::Input) -> Result<O::Output, Fail> {
        let target = format!("{}.{}", O::SERVICE.target_prefix(), O::NAME);
        let response = self.handle(&target, &cognito_wire::glue::encode_body(&input));
        let status = response.status().as_u16();
        cognito_wire::decode_response::<O>(status, response.headers(), response.body()).map_err(|e| match e {
            cognito_wire::ResponseError::Service(s) => Fail { code: s.code, message: s.message.unwrap_or_default() },
            cognito_wire::ResponseError::Protocol(p) => Fail::internal(p.to_string()),
        })
    }
}
