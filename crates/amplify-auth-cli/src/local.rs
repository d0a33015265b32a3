//! The local pool kept under the data directory: created on first use,
//! started in-process for each command (state saved on stop), so every
//! command works offline with no daemon.

use std::path::Path;

use anyhow::{Context, Result};
use cognito_wire::cognito_idp::{self as idp, operation as op};
use local_pool::{ClientOptions, LocalPool, Options};
use serde_json::json;

use crate::LocalCommand;

/// The ids of the CLI's pool and client (kept in `ids.json`).
pub(crate) struct Ids {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
}

/// The local pool for one command: a server already running for this data
/// directory (`amplify-auth local-pool start`), or one started in-process.
pub(crate) struct Local {
    /// `None` when a running server is used.
    pool: Option<LocalPool>,
    endpoint: String,
    pub(crate) ids: Ids,
}

/// The file a running `local-pool start` leaves in the data directory.
const SERVER_FILE: &str = "server.json";

fn running_server(dir: &Path) -> Option<(String, Ids)> {
    let text = std::fs::read_to_string(dir.join(SERVER_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let endpoint = v["endpoint"].as_str()?.to_owned();
    let ids = Ids { pool_id: v["pool_id"].as_str()?.to_owned(), client_id: v["client_id"].as_str()?.to_owned() };
    let addr = endpoint.strip_prefix("http://")?.parse::<std::net::SocketAddr>().ok()?;
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300)).ok()?;
    Some((endpoint, ids))
}

/// `GET path` on a loopback server; the body.
fn http_get(endpoint: &str, path: &str) -> Result<String> {
    use std::io::{Read, Write};
    let host = endpoint.strip_prefix("http://").context("the local pool's endpoint is not http://")?;
    let mut stream = std::net::TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("a malformed HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        anyhow::bail!("the local pool answered {}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_owned())
}

/// One Cognito JSON request (`X-Amz-Target: target`) to a loopback server.
fn http_post(endpoint: &str, target: &str, body: &str) -> Result<String> {
    use std::io::{Read, Write};
    let host = endpoint.strip_prefix("http://").context("the local pool's endpoint is not http://")?;
    let mut stream = std::net::TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: {target}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("a malformed HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        anyhow::bail!("the local pool answered {}: {body}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_owned())
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An UpdateUserPoolClient request that sets every updatable setting to
/// what `client` (a DescribeUserPoolClient answer) has.
fn update_request(ids: &Ids, client: idp::UserPoolClientType) -> idp::UpdateUserPoolClientRequest {
    idp::UpdateUserPoolClientRequest {
        user_pool_id: ids.pool_id.clone(),
        client_id: ids.client_id.as_str().into(),
        client_name: client.client_name,
        access_token_validity: client.access_token_validity,
        allowed_o_auth_flows: client.allowed_o_auth_flows,
        allowed_o_auth_flows_user_pool_client: client.allowed_o_auth_flows_user_pool_client,
        allowed_o_auth_scopes: client.allowed_o_auth_scopes,
        analytics_configuration: client.analytics_configuration,
        auth_session_validity: client.auth_session_validity,
        callback_ur_ls: client.callback_ur_ls,
        default_redirect_uri: client.default_redirect_uri,
        enable_propagate_additional_user_context_data: client.enable_propagate_additional_user_context_data,
        enable_token_revocation: client.enable_token_revocation,
        explicit_auth_flows: client.explicit_auth_flows,
        id_token_validity: client.id_token_validity,
        logout_ur_ls: client.logout_ur_ls,
        prevent_user_existence_errors: client.prevent_user_existence_errors,
        read_attributes: client.read_attributes,
        refresh_token_rotation: client.refresh_token_rotation,
        refresh_token_validity: client.refresh_token_validity,
        supported_identity_providers: client.supported_identity_providers,
        token_validity_units: client.token_validity_units,
        write_attributes: client.write_attributes,
        ..Default::default()
    }
}

fn fail(err: local_pool::Fail) -> anyhow::Error {
    anyhow::anyhow!("local pool: {err:?}")
}

impl Local {
    /// Starts the pool whose state lives in `dir` (on an ephemeral port),
    /// creating the pool and its app client on first use.
    pub(crate) async fn start(dir: &Path) -> Result<Self> {
        if let Some((endpoint, ids)) = running_server(dir) {
            return Ok(Self { pool: None, endpoint, ids });
        }
        Self::start_on(dir, 0).await
    }

    async fn start_on(dir: &Path, port: u16) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let options = Options { port, data_dir: Some(dir.join("state")), ..Default::default() };
        let pool = LocalPool::start_with(options).await.context("starting the local pool")?;
        let ids_path = dir.join("ids.json");
        let known = std::fs::read_to_string(&ids_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| Some((v["pool_id"].as_str()?.to_owned(), v["client_id"].as_str()?.to_owned())))
            .filter(|(pool_id, _)| {
                pool.engine()
                    .call::<op::DescribeUserPool>(idp::DescribeUserPoolRequest {
                        user_pool_id: pool_id.clone(),
                        ..Default::default()
                    })
                    .is_ok()
            });
        let ids = match known {
            Some((pool_id, client_id)) => Ids { pool_id, client_id },
            None => {
                let pool_id = pool.create_pool("amplify-auth-cli").map_err(fail)?;
                // Optional MFA with TOTP, so that `mfa setup-totp` leads to
                // MFA at sign-in as on a typical Cognito pool.
                pool.engine()
                    .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
                        user_pool_id: pool_id.clone(),
                        mfa_configuration: Some(idp::UserPoolMfaType::Optional),
                        software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                            enabled: Some(true),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .map_err(fail)?;
                let mut options = ClientOptions { name: "amplify-auth-cli".into(), ..Default::default() };
                options.explicit_auth_flows.push("ALLOW_USER_AUTH".into());
                options.explicit_auth_flows.push("ALLOW_CUSTOM_AUTH".into());
                let client = pool.create_client(&pool_id, options).map_err(fail)?;
                let ids = Ids { pool_id, client_id: client.client_id };
                let text = json!({ "pool_id": ids.pool_id, "client_id": ids.client_id }).to_string();
                std::fs::write(&ids_path, text).with_context(|| format!("writing {}", ids_path.display()))?;
                ids
            }
        };
        Ok(Self { endpoint: pool.endpoint(), pool: Some(pool), ids })
    }

    /// Whether the pool runs in this process (not a `local-pool start` server).
    pub(crate) fn in_process(&self) -> bool {
        self.pool.is_some()
    }

    /// Saves an in-process pool's state on demand (see
    /// [`local_pool::StateSaver`]); `None` for a `local-pool start` server,
    /// which saves its own.
    pub(crate) fn state_saver(&self) -> Option<local_pool::StateSaver> {
        self.pool.as_ref()?.state_saver()
    }

    /// The pool's URL.
    pub(crate) fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Stops an in-process pool (its state is saved).
    pub(crate) async fn stop(self) {
        if let Some(pool) = self.pool {
            pool.stop().await;
        }
    }

    /// Lets the app client send the hosted UI's sign-in back to
    /// `redirect_uri` (a loopback URL of this process), with the code flow
    /// and `scopes`: the OAuth settings the CLI's browser sign-in needs.
    /// `provider` (a federated provider's name) is registered on the pool
    /// if it is not yet, so the pool's mock identity provider stands in for
    /// it: Google, Facebook, LoginWithAmazon and SignInWithApple by their
    /// type, any other name as an OIDC provider.
    pub(crate) fn allow_redirect(&self, redirect_uri: &str, scopes: &[String], provider: Option<&str>) -> Result<()> {
        let mut providers = vec!["COGNITO".to_owned()];
        if let Some(name) = provider.filter(|p| *p != "COGNITO") {
            let kind = match name {
                "Google" | "Facebook" | "LoginWithAmazon" | "SignInWithApple" => name,
                _ => "OIDC",
            };
            let mut details = std::collections::BTreeMap::new();
            if kind == "OIDC" {
                details.insert("oidc_issuer".to_owned(), format!("https://{}.idp.local.example", name.to_lowercase()));
            }
            let create = idp::CreateIdentityProviderRequest {
                user_pool_id: self.ids.pool_id.clone(),
                provider_name: name.to_owned(),
                provider_type: idp::IdentityProviderTypeType::from(kind),
                provider_details: details,
                ..Default::default()
            };
            // Already registered (an earlier sign-in): fine.
            let duplicate = "DuplicateProviderException";
            match &self.pool {
                Some(pool) => match pool.engine().call::<op::CreateIdentityProvider>(create) {
                    Ok(_) => {}
                    Err(err) if err.code.as_str() == duplicate => {}
                    Err(err) => return Err(fail(err)),
                },
                None => {
                    let body = serde_json::to_string(&create)?;
                    match http_post(&self.endpoint, "AWSCognitoIdentityProviderService.CreateIdentityProvider", &body) {
                        Ok(_) => {}
                        Err(err) if err.to_string().contains(duplicate) => {}
                        Err(err) => return Err(err),
                    }
                }
            }
            providers.push(name.to_owned());
        }
        self.update_client(|request| {
            request.callback_ur_ls = Some(vec![redirect_uri.to_owned()]);
            request.logout_ur_ls = Some(vec![redirect_uri.to_owned()]);
            request.default_redirect_uri = None;
            request.allowed_o_auth_flows = Some(vec![idp::OAuthFlowType::Code]);
            request.allowed_o_auth_scopes = Some(scopes.to_vec());
            request.allowed_o_auth_flows_user_pool_client = Some(true);
            request.supported_identity_providers = Some(providers);
        })
    }

    /// Lets the app client send the hosted UI's sign-out back to
    /// `logout_uri` (a loopback URL of this process): its only logout URL
    /// from now on. The callback URL, flows and scopes stay as the sign-in
    /// left them (sent back unchanged, see [`Local::update_client`]).
    pub(crate) fn allow_logout(&self, logout_uri: &str) -> Result<()> {
        self.update_client(|request| request.logout_ur_ls = Some(vec![logout_uri.to_owned()]))
    }

    /// Changes the app client's settings as a Cognito user must: describes
    /// the client, lets `change` edit every updatable setting, and sends all
    /// of them back (UpdateUserPoolClient resets any setting it is not given,
    /// on Cognito and on the local pool alike).
    fn update_client(&self, change: impl FnOnce(&mut idp::UpdateUserPoolClientRequest)) -> Result<()> {
        let describe = idp::DescribeUserPoolClientRequest {
            user_pool_id: self.ids.pool_id.clone(),
            client_id: self.ids.client_id.as_str().into(),
            ..Default::default()
        };
        let current = match &self.pool {
            Some(pool) => pool.engine().call::<op::DescribeUserPoolClient>(describe).map_err(fail)?,
            None => {
                let body = serde_json::to_string(&describe)?;
                let answer =
                    http_post(&self.endpoint, "AWSCognitoIdentityProviderService.DescribeUserPoolClient", &body)?;
                serde_json::from_str::<idp::DescribeUserPoolClientResponse>(&answer)
                    .context("reading DescribeUserPoolClient's answer")?
            }
        }
        .user_pool_client
        .context("DescribeUserPoolClient answered no client")?;
        let mut request = update_request(&self.ids, current);
        change(&mut request);
        match &self.pool {
            Some(pool) => {
                pool.engine().call::<op::UpdateUserPoolClient>(request).map_err(fail)?;
            }
            None => {
                let body = serde_json::to_string(&request)?;
                http_post(&self.endpoint, "AWSCognitoIdentityProviderService.UpdateUserPoolClient", &body)?;
            }
        }
        Ok(())
    }

    fn outbox(&self, user: Option<&str>) -> Result<serde_json::Value> {
        match &self.pool {
            Some(pool) => Ok(serde_json::to_value(pool.outbox(Some(&self.ids.pool_id), user))?),
            None => {
                let mut path = format!("/_local-pool/outbox?pool={}", query_escape(&self.ids.pool_id));
                if let Some(user) = user {
                    path.push_str(&format!("&user={}", query_escape(user)));
                }
                let body: serde_json::Value = serde_json::from_str(&http_get(&self.endpoint, &path)?)?;
                Ok(body["messages"].clone())
            }
        }
    }
}

/// `amplify-auth local-pool ...`.
pub(crate) async fn command(dir: &Path, cmd: &LocalCommand) -> Result<()> {
    let local = match cmd {
        LocalCommand::Start { port } => {
            if let Some((endpoint, _)) = running_server(dir) {
                anyhow::bail!("a local pool for {} is already running at {endpoint}", dir.display());
            }
            Local::start_on(dir, port.unwrap_or(9229)).await?
        }
        _ => Local::start(dir).await?,
    };
    let result = match cmd {
        LocalCommand::Status => {
            match &local.pool {
                Some(_) => println!("not running (each command starts it in-process; `local-pool start` keeps it up)"),
                None => println!("running at {}", local.endpoint()),
            }
            println!("user pool: {}", local.ids.pool_id);
            println!("app client: {}", local.ids.client_id);
            println!("data: {}", dir.display());
            Ok(())
        }
        LocalCommand::Outbox { user } => local.outbox(user.as_deref()).and_then(|messages| {
            println!("{}", serde_json::to_string_pretty(&messages)?);
            Ok(())
        }),
        LocalCommand::CreateUser { username, email, temporary } => {
            let password = crate::read_secret("Password: ", "AMPLIFY_AUTH_PASSWORD")?;
            let mut attributes = Vec::new();
            if let Some(email) = email {
                attributes.push(("email", email.as_str()));
                attributes.push(("email_verified", "true"));
            }
            match &local.pool {
                Some(pool) if *temporary => {
                    // As an administrator's AdminCreateUser: the first
                    // sign-in asks for a new password.
                    pool.create_user_with_temporary_password(&local.ids.pool_id, username, &password, &attributes)
                        .map_err(fail)?;
                    println!(
                        "created {username} (FORCE_CHANGE_PASSWORD: a new password is asked at the first sign-in)"
                    );
                    Ok(())
                }
                Some(pool) => {
                    pool.create_user(&local.ids.pool_id, username, &password, &attributes).map_err(fail)?;
                    println!("created {username}");
                    Ok(())
                }
                None => Err(anyhow::anyhow!(
                    "the local pool is running as a server; create users with sign-up, or stop it first"
                )),
            }
        }
        LocalCommand::Start { .. } => {
            // Listen for Ctrl-C before announcing the server, so that a
            // SIGINT right after the announcement stops it cleanly.
            #[cfg(unix)]
            let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("installing the Ctrl-C handler")?;
            let server_file = dir.join(SERVER_FILE);
            let info =
                json!({ "endpoint": local.endpoint(), "pool_id": local.ids.pool_id, "client_id": local.ids.client_id });
            std::fs::write(&server_file, info.to_string())
                .with_context(|| format!("writing {}", server_file.display()))?;
            println!("local pool listening on {}", local.endpoint());
            println!("user pool: {}  app client: {}", local.ids.pool_id, local.ids.client_id);
            println!("(other amplify-auth commands use it; Ctrl-C to stop; state is kept under {})", dir.display());
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            #[cfg(unix)]
            let waited: Result<()> = {
                interrupt.recv().await;
                Ok(())
            };
            #[cfg(not(unix))]
            let waited = tokio::signal::ctrl_c().await.context("waiting for Ctrl-C");
            let _ = std::fs::remove_file(&server_file);
            waited
        }
    };
    local.stop().await;
    result
}
