//! `--data-dir` persistence and `--config` preloading.
//!
//! The state is one JSON document, `state.json`, written the crash-safe way
//! (temporary file, fsync, rename, fsync of the directory) at most every
//! 250 ms while something changed, and once more at shutdown. A crash can
//! lose the last quarter second of changes; it cannot leave a torn file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cognito_wire::cognito_idp::{self as idp, operation as op};
use serde::Deserialize;
use tokio::sync::watch;

use crate::engine::{Engine, tracing_line};
use crate::state::State;

const FILE: &str = "state.json";

/// Loads the engine from `dir` (an empty engine when there is no state yet).
pub(crate) fn load(dir: &Path) -> std::io::Result<Engine> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let state: State = serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a local-pool state file ({e}); move it aside to start afresh", path.display()),
                )
            })?;
            Ok(Engine::from_state(state))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Engine::new()),
        Err(e) => Err(e),
    }
}

/// One save at a time in this process (the background saver and
/// [`crate::StateSaver::save`] write the same temporary file).
static SAVING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Writes the state atomically.
pub(crate) fn save(engine: &Engine, dir: &Path) -> std::io::Result<()> {
    let _one_at_a_time = SAVING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    engine.dirty.store(false, Ordering::Release);
    let bytes = {
        let state = engine.lock();
        serde_json::to_vec(&*state).map_err(std::io::Error::other)?
    };
    let tmp = dir.join(format!("{FILE}.tmp"));
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(FILE))?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Saves whenever the state changed, and at shutdown.
pub(crate) async fn saver(engine: Arc<Engine>, dir: PathBuf, mut stop: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = stop.changed() => true,
            () = tokio::time::sleep(Duration::from_millis(250)) => false,
        };
        if stopping || engine.dirty.load(Ordering::Acquire) {
            let engine = engine.clone();
            let dir = dir.clone();
            let result = tokio::task::spawn_blocking(move || save(&engine, &dir)).await;
            if let Ok(Err(e)) | Err(e) = result.map_err(std::io::Error::other) {
                tracing_line(&format!("warning: could not save state: {e}"));
            }
        }
        if stopping {
            return;
        }
    }
}

/// The `--config` file: pools, clients and users to create at start.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    pools: Vec<PoolConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolConfig {
    name: String,
    #[serde(default)]
    clients: Vec<ClientConfig>,
    #[serde(default)]
    users: Vec<UserConfig>,
    #[serde(default)]
    groups: Vec<String>,
    /// `Policies.SignInPolicy.AllowedFirstAuthFactors` (USER_AUTH).
    #[serde(default)]
    first_auth_factors: Option<Vec<String>>,
    /// Built-in custom-auth hooks (CUSTOM_AUTH).
    #[serde(default)]
    custom_auth: Option<crate::custom::CustomAuthConfig>,
    /// Federated identity providers (CreateIdentityProvider), for the
    /// hosted UI's mock identity provider.
    #[serde(default)]
    identity_providers: Vec<ProviderConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderConfig {
    name: String,
    /// `Google`, `Facebook`, `LoginWithAmazon`, `SignInWithApple`, `OIDC`, `SAML`.
    #[serde(rename = "type")]
    provider_type: String,
    /// `ProviderDetails` (e.g. `oidc_issuer` for OIDC).
    #[serde(default)]
    details: std::collections::BTreeMap<String, String>,
    /// `IdpIdentifiers`.
    #[serde(default)]
    identifiers: Vec<String>,
}

/// A client's hosted-UI settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientOAuthConfig {
    callback_urls: Vec<String>,
    #[serde(default)]
    logout_urls: Vec<String>,
    /// `AllowedOAuthFlows` (default `code`).
    #[serde(default)]
    flows: Option<Vec<String>>,
    /// `AllowedOAuthScopes` (default `openid`, `email`, `profile`).
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// `SupportedIdentityProviders` (default `COGNITO`).
    #[serde(default)]
    providers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientConfig {
    name: String,
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    explicit_auth_flows: Option<Vec<String>>,
    /// Hosted-UI settings (callback URLs, flows, scopes, providers).
    #[serde(default)]
    oauth: Option<ClientOAuthConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserConfig {
    username: String,
    password: String,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Creates what the config file lists, skipping pools that already exist
/// by name (so a restart with `--data-dir` does not duplicate them).
pub(crate) fn preload(engine: &Engine, path: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let config: Config = serde_json::from_str(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
    let fail = |e: crate::Fail| std::io::Error::other(format!("{}: {e}", path.display()));
    for pool in config.pools {
        let exists = engine.lock().pools.values().any(|p| p.config.name.as_deref() == Some(pool.name.as_str()));
        if exists {
            continue;
        }
        let created = engine
            .call::<op::CreateUserPool>(idp::CreateUserPoolRequest {
                pool_name: pool.name.clone(),
                auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
                ..Default::default()
            })
            .map_err(fail)?;
        let pool_id = created.user_pool.and_then(|p| p.id).unwrap_or_default();
        {
            let mut state = engine.lock();
            let stored = Engine::pool_mut(&mut state, &pool_id).map_err(fail)?;
            if let Some(factors) = &pool.first_auth_factors {
                if let Some(bad) = factors
                    .iter()
                    .find(|f| matches!(idp::AuthFactorType::from(f.as_str()), idp::AuthFactorType::Unknown(_)))
                {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{}: unknown first_auth_factors value {bad:?} (PASSWORD, EMAIL_OTP, SMS_OTP, WEB_AUTHN)",
                            path.display()
                        ),
                    ));
                }
                let policies = stored.config.policies.get_or_insert_with(Default::default);
                policies.sign_in_policy = Some(idp::SignInPolicyType {
                    allowed_first_auth_factors: Some(
                        factors.iter().map(|f| idp::AuthFactorType::from(f.as_str())).collect(),
                    ),
                    ..Default::default()
                });
            }
            stored.custom_auth = pool.custom_auth.clone();
        }
        for group in &pool.groups {
            engine
                .call::<op::CreateGroup>(idp::CreateGroupRequest {
                    user_pool_id: pool_id.clone(),
                    group_name: group.clone(),
                    ..Default::default()
                })
                .map_err(fail)?;
        }
        for provider in &pool.identity_providers {
            engine
                .call::<op::CreateIdentityProvider>(idp::CreateIdentityProviderRequest {
                    user_pool_id: pool_id.clone(),
                    provider_name: provider.name.clone(),
                    provider_type: idp::IdentityProviderTypeType::from(provider.provider_type.as_str()),
                    provider_details: provider.details.clone(),
                    idp_identifiers: (!provider.identifiers.is_empty()).then(|| provider.identifiers.clone()),
                    ..Default::default()
                })
                .map_err(fail)?;
        }
        for client in pool.clients {
            let flows =
                client.explicit_auth_flows.unwrap_or_else(|| crate::ClientOptions::default().explicit_auth_flows);
            let mut request = idp::CreateUserPoolClientRequest {
                user_pool_id: pool_id.clone(),
                client_name: client.name.clone(),
                generate_secret: Some(client.secret),
                explicit_auth_flows: Some(flows.iter().map(|f| f.as_str().into()).collect()),
                ..Default::default()
            };
            if let Some(oauth) = client.oauth {
                let strings = |v: Option<Vec<String>>, default: &[&str]| {
                    v.unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect())
                };
                request.callback_ur_ls = Some(oauth.callback_urls);
                request.logout_ur_ls = Some(oauth.logout_urls);
                request.allowed_o_auth_flows_user_pool_client = Some(true);
                request.allowed_o_auth_flows = Some(
                    strings(oauth.flows, &["code"]).iter().map(|f| idp::OAuthFlowType::from(f.as_str())).collect(),
                );
                request.allowed_o_auth_scopes = Some(strings(oauth.scopes, &["openid", "email", "profile"]));
                request.supported_identity_providers = Some(strings(oauth.providers, &["COGNITO"]));
            }
            let out = engine.call::<op::CreateUserPoolClient>(request).map_err(fail)?;
            let id = out.user_pool_client.and_then(|c| c.client_id).map(|c| c.expose().clone()).unwrap_or_default();
            tracing_line(&format!("preloaded pool {} ({pool_id}) client {} ({id})", pool.name, client.name));
        }
        for user in pool.users {
            engine
                .call::<op::AdminCreateUser>(idp::AdminCreateUserRequest {
                    user_pool_id: pool_id.clone(),
                    username: user.username.as_str().into(),
                    message_action: Some(idp::MessageActionType::Suppress),
                    user_attributes: Some(
                        user.attributes
                            .iter()
                            .map(|(k, v)| idp::AttributeType {
                                name: k.clone(),
                                value: Some(v.as_str().into()),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                })
                .map_err(fail)?;
            engine
                .call::<op::AdminSetUserPassword>(idp::AdminSetUserPasswordRequest {
                    user_pool_id: pool_id.clone(),
                    username: user.username.as_str().into(),
                    password: user.password.as_str().into(),
                    permanent: Some(true),
                    ..Default::default()
                })
                .map_err(fail)?;
            for group in &user.groups {
                engine
                    .call::<op::AdminAddUserToGroup>(idp::AdminAddUserToGroupRequest {
                        user_pool_id: pool_id.clone(),
                        username: user.username.as_str().into(),
                        group_name: group.clone(),
                        ..Default::default()
                    })
                    .map_err(fail)?;
            }
        }
    }
    Ok(())
}
