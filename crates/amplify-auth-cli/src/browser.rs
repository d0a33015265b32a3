//! `amplify-auth sign-in --browser`: the hosted UI in the system browser,
//! back to a loopback redirect URI (RFC 8252), on the library's
//! `sign_in_with_redirect`.

use std::time::Duration;

use amplify_auth::config::OAuthConfig;
use amplify_auth::{Auth, OAuthProvider, RedirectListener, SignInOutput, SignInWithRedirectOptions};
use anyhow::{Context, Result, bail};

use crate::Target;
use crate::local::Local;
use crate::spinner::busy;

/// Scopes asked for when none are configured: the user's identity and the
/// self-service API (`attributes`, `mfa`, ... need it).
const DEFAULT_SCOPES: [&str; 4] = ["openid", "email", "profile", "aws.cognito.signin.user.admin"];

/// The port of a loopback `http://` URI (`127.0.0.1`, `localhost` or
/// `[::1]`); an error for anything the CLI cannot listen on.
fn loopback_port(uri: &str) -> Result<u16> {
    let rest = uri.strip_prefix("http://").with_context(|| format!("{uri}: the redirect URI must be http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = authority
        .rsplit_once(':')
        .with_context(|| format!("{uri}: the redirect URI needs a port (http://127.0.0.1:PORT/)"))?;
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("{uri}: the redirect URI must be a loopback address (http://127.0.0.1:PORT/)");
    }
    port.parse::<u16>().ok().filter(|p| *p != 0).with_context(|| format!("{uri}: not a valid port"))
}

fn is_loopback(uri: &str) -> bool {
    loopback_port(uri).is_ok()
}

/// The OAuth settings for this sign-in and the listener for its redirect:
/// the configuration's, under the flags; for the CLI's local pool the
/// hosted UI is the pool itself and the app client is told to accept the
/// listener's URL.
pub(crate) async fn prepare(
    target: &Target,
    configured: Option<OAuthConfig>,
    local: Option<&Local>,
    provider_name: Option<&str>,
) -> Result<(OAuthConfig, RedirectListener, String)> {
    let mut oauth = configured.unwrap_or_default();
    if let Some(domain) = &target.oauth_domain {
        oauth.domain = domain.clone();
    }
    if let Some(scopes) = &target.scopes {
        oauth.scopes = scopes.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    }
    if let Some(local) = local
        && oauth.domain.is_empty()
    {
        oauth.domain = local.endpoint();
    }
    if oauth.domain.is_empty() {
        bail!("no hosted UI domain: give --oauth-domain, or a config file with auth.oauth");
    }
    if oauth.scopes.is_empty() {
        oauth.scopes = DEFAULT_SCOPES.map(String::from).to_vec();
    }
    if oauth.response_type.is_empty() {
        oauth.response_type = "code".into();
    }
    let wanted = match &target.redirect_uri {
        Some(uri) => Some(uri.clone()),
        None => oauth.redirect_sign_in.iter().find(|u| is_loopback(u)).cloned(),
    };
    let (listener, uri) = match wanted {
        Some(uri) => (RedirectListener::bind(loopback_port(&uri)?).await?, uri),
        // The local pool takes any port: the client is updated below.
        None if local.is_some() => {
            let listener = RedirectListener::bind(0).await?;
            let uri = listener.redirect_uri("/");
            (listener, uri)
        }
        None => bail!(
            "no loopback redirect URI: give --redirect-uri http://127.0.0.1:PORT/ (a callback URL of the app client)"
        ),
    };
    if let Some(local) = local {
        let provider_name = provider_name.map(|name| provider(name).name());
        local.allow_redirect(&uri, &oauth.scopes, provider_name.as_deref())?;
    }
    oauth.redirect_sign_in = vec![uri.clone()];
    if oauth.redirect_sign_out.is_empty() {
        oauth.redirect_sign_out = vec![uri.clone()];
    }
    Ok((oauth, listener, uri))
}

/// A provider by its name in Amplify's and Cognito's spelling.
fn provider(name: &str) -> OAuthProvider {
    match name {
        "COGNITO" | "Cognito" => OAuthProvider::Cognito,
        "Google" => OAuthProvider::Google,
        "Facebook" => OAuthProvider::Facebook,
        "LoginWithAmazon" | "Amazon" => OAuthProvider::Amazon,
        "SignInWithApple" | "Apple" => OAuthProvider::Apple,
        other => OAuthProvider::Custom(other.to_owned()),
    }
}

trait ProviderName {
    /// The provider's name in the pool (`identity_provider=`).
    fn name(&self) -> String;
}

impl ProviderName for OAuthProvider {
    fn name(&self) -> String {
        match self {
            OAuthProvider::Cognito => "COGNITO".into(),
            OAuthProvider::Google => "Google".into(),
            OAuthProvider::Facebook => "Facebook".into(),
            OAuthProvider::Amazon => "LoginWithAmazon".into(),
            OAuthProvider::Apple => "SignInWithApple".into(),
            OAuthProvider::Custom(name) | OAuthProvider::IdpIdentifier(name) => name.clone(),
            _ => String::new(),
        }
    }
}

/// Starts the system browser on `url` (`xdg-open`, `open`, `rundll32`),
/// without waiting for it; false when none could be started.
fn open_browser(url: &str) -> bool {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        // Not `cmd /C start`: cmd would split the URL at its `&`s.
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match command.spawn() {
        Ok(mut child) => {
            // Reap it when it exits; the CLI does not wait for it.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

/// What `sign-in --browser` was asked.
pub(crate) struct Request {
    pub(crate) login_hint: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) no_open: bool,
    pub(crate) timeout: Duration,
    pub(crate) json: bool,
}

/// Prints the URL, opens the browser unless told not to, and waits for the
/// redirect (at most the timeout; Ctrl-C cancels). Dropping the flow on
/// any of these ends it in the library (no state is left pending).
pub(crate) async fn sign_in(
    auth: &Auth,
    listener: RedirectListener,
    redirect_uri: String,
    request: Request,
) -> Result<SignInOutput> {
    let options = SignInWithRedirectOptions {
        provider: request.provider.as_deref().map(provider),
        login_hint: request.login_hint,
        redirect_uri: Some(redirect_uri),
        ..Default::default()
    };
    let flow = auth.sign_in_with_redirect(options).await?;
    // Listen for Ctrl-C before showing the URL, so an interrupt at any
    // point after it cancels cleanly.
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("installing the Ctrl-C handler")?;
    if request.json {
        println!("{}", serde_json::json!({ "authorizeUrl": flow.url(), "redirectUri": flow.redirect_uri() }));
    } else {
        println!("Sign in in the browser; if it does not open, open this URL:");
        println!("{}", flow.url());
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;
    if !request.no_open && !open_browser(flow.url()) {
        eprintln!("could not start a browser; open the URL above yourself");
    }
    let timeout = request.timeout;
    let waiting = busy("Waiting for the browser… (Ctrl-C to cancel)", flow.complete_with_listener(listener, timeout));
    #[cfg(unix)]
    let interrupted = interrupt.recv();
    #[cfg(not(unix))]
    let interrupted = tokio::signal::ctrl_c();
    tokio::select! {
        out = waiting => Ok(out?),
        _ = interrupted => bail!("sign-in cancelled (Ctrl-C); nothing was stored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports() {
        assert_eq!(loopback_port("http://127.0.0.1:8085/").ok(), Some(8085));
        assert_eq!(loopback_port("http://localhost:3000/callback?x=1").ok(), Some(3000));
        assert!(loopback_port("https://127.0.0.1:8085/").is_err());
        assert!(loopback_port("http://example.com:8085/").is_err());
        assert!(loopback_port("http://127.0.0.1/").is_err());
        assert!(loopback_port("http://127.0.0.1:0/").is_err());
        assert!(loopback_port("http://127.0.0.1:99999/").is_err());
    }

    #[test]
    fn providers_by_name() {
        assert_eq!(provider("Google"), OAuthProvider::Google);
        assert_eq!(provider("SignInWithApple"), OAuthProvider::Apple);
        assert_eq!(provider("MyOidc"), OAuthProvider::Custom("MyOidc".into()));
    }
}
