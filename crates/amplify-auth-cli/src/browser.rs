//! `amplify-auth sign-in --browser`: the hosted UI in the system browser,
//! back to a loopback redirect URI (RFC 8252), on the library's
//! `sign_in_with_redirect`.

use std::path::{Path, PathBuf};
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
) -> Result<(OAuthConfig, RedirectListener, String, Remembered)> {
    let mut oauth = configured.unwrap_or_default();
    if let Some(domain) = &target.oauth_domain {
        oauth.domain = domain.clone();
    }
    if let Some(scopes) = &target.scopes {
        oauth.scopes = scopes.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    }
    // The local pool's own hosted UI: its port changes from one command
    // to the next, so it is not remembered (sign-out finds it again).
    let mut hosted_by_local_pool = false;
    if let Some(local) = local
        && oauth.domain.is_empty()
    {
        oauth.domain = local.endpoint();
        hosted_by_local_pool = true;
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
    let remembered = Remembered {
        domain: (!hosted_by_local_pool).then(|| oauth.domain.clone()),
        scopes: oauth.scopes.clone(),
        redirect_sign_out: oauth.redirect_sign_out.clone(),
        response_type: oauth.response_type.clone(),
    };
    Ok((oauth, listener, uri, remembered))
}

/// The non-secret OAuth settings a browser sign-in used, kept per app
/// client in the data directory (`oauth-<client id>.json`) so that a later
/// `sign-out` can end the hosted UI's session too (the sign-out is another
/// process, and the configuration may have come from flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Remembered {
    /// The hosted UI domain; `None` for the CLI's local pool, whose
    /// address is found again at sign-out.
    pub(crate) domain: Option<String>,
    pub(crate) scopes: Vec<String>,
    /// The sign-out redirect URLs (the app client's logout URLs).
    pub(crate) redirect_sign_out: Vec<String>,
    pub(crate) response_type: String,
}

impl Remembered {
    /// Where the settings for `client_id` are kept under `dir`.
    pub(crate) fn path(dir: &Path, client_id: &str) -> PathBuf {
        dir.join(format!("oauth-{client_id}.json"))
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "domain": self.domain,
            "scopes": self.scopes,
            "redirectSignOut": self.redirect_sign_out,
            "responseType": self.response_type,
        })
    }

    fn from_json(v: &serde_json::Value) -> Option<Self> {
        let strings = |key: &str| -> Option<Vec<String>> {
            v.get(key)?.as_array()?.iter().map(|s| s.as_str().map(str::to_owned)).collect()
        };
        let domain = match v.get("domain")? {
            serde_json::Value::Null => None,
            other => Some(other.as_str()?.to_owned()),
        };
        Some(Self {
            domain,
            scopes: strings("scopes")?,
            redirect_sign_out: strings("redirectSignOut")?,
            response_type: v.get("responseType")?.as_str()?.to_owned(),
        })
    }

    /// The settings kept at `path`; `None` when there are none (or the
    /// file is unreadable, which is reported and then treated as none:
    /// sign-out must work regardless).
    pub(crate) fn load(path: &Path) -> Option<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
            Err(err) => {
                eprintln!("warning: cannot read {}: {err}", path.display());
                return None;
            }
        };
        let parsed = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| Self::from_json(&v));
        if parsed.is_none() {
            eprintln!("warning: {} is not a browser sign-in's settings; ignored", path.display());
        }
        parsed
    }

    /// Writes the settings to `path` atomically (a temporary file in the
    /// same directory, then a rename).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().context("the settings file has no directory")?;
        let name = path.file_name().context("the settings file has no name")?.to_string_lossy();
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(&self.to_json())?;
        std::fs::write(&temp, text).with_context(|| format!("writing {}", temp.display()))?;
        std::fs::rename(&temp, path).with_context(|| {
            let _ = std::fs::remove_file(&temp);
            format!("replacing {}", path.display())
        })
    }

    /// Forgets the settings at `path` (after sign-out).
    pub(crate) fn forget(path: &Path) {
        if let Err(err) = std::fs::remove_file(path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("warning: cannot remove {}: {err}", path.display());
        }
    }
}

/// The path the CLI's own sign-out redirect comes back to.
const SIGNED_OUT_PATH: &str = "/signed-out";

/// The path of an `http://host:port/path?query` URL (`/` when none).
fn path_of(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    rest.find('/').map_or_else(|| "/".to_owned(), |i| rest[i..].to_owned())
}

/// The OAuth settings for signing out of the hosted UI after a browser
/// sign-in, and where the browser comes back to: for the CLI's local pool
/// a new loopback listener, registered as the app client's logout URL;
/// otherwise the first loopback URL among the sign-out URLs, when it can
/// be listened on (`None`: the URL is opened but the CLI cannot tell
/// whether the browser got there); and whether the hosted UI is the CLI's
/// local pool.
pub(crate) async fn prepare_sign_out(
    target: &Target,
    configured: Option<OAuthConfig>,
    remembered: &Remembered,
    local: Option<&Local>,
) -> Result<(OAuthConfig, Option<(RedirectListener, String)>, bool)> {
    let mut oauth = configured.unwrap_or_default();
    if let Some(domain) = &target.oauth_domain {
        oauth.domain = domain.clone();
    }
    if oauth.domain.is_empty() {
        match (&remembered.domain, local) {
            (Some(domain), _) => oauth.domain = domain.clone(),
            (None, Some(local)) => oauth.domain = local.endpoint(),
            (None, None) => bail!("the hosted UI domain of the browser sign-in is unknown (give --oauth-domain)"),
        }
    }
    if let Some(scopes) = &target.scopes {
        oauth.scopes = scopes.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    }
    if oauth.scopes.is_empty() {
        oauth.scopes = remembered.scopes.clone();
    }
    if oauth.response_type.is_empty() {
        oauth.response_type =
            if remembered.response_type.is_empty() { "code".into() } else { remembered.response_type.clone() };
    }
    if oauth.redirect_sign_out.is_empty() {
        oauth.redirect_sign_out = remembered.redirect_sign_out.clone();
    }
    let hosted_by_local_pool = local.is_some_and(|l| oauth.domain == l.endpoint());
    let back = if let (true, Some(local)) = (hosted_by_local_pool, local) {
        let listener = RedirectListener::bind(0).await?;
        let uri = listener.redirect_uri(SIGNED_OUT_PATH);
        local.allow_logout(&uri)?;
        oauth.redirect_sign_out = vec![uri.clone()];
        Some((listener, uri))
    } else if let Some(uri) = oauth.redirect_sign_out.iter().find(|u| is_loopback(u)).cloned() {
        match RedirectListener::bind(loopback_port(&uri)?).await {
            Ok(listener) => Some((listener, uri)),
            Err(err) => {
                eprintln!("warning: {err}; the sign-out will not wait for the browser");
                None
            }
        }
    } else {
        None
    };
    if oauth.redirect_sign_out.is_empty() {
        bail!("no sign-out URL for the hosted UI (auth.oauth redirect_sign_out_uri in the config)");
    }
    Ok((oauth, back, hosted_by_local_pool))
}

/// What `sign-out` was asked, after a browser sign-in.
pub(crate) struct SignOutRequest {
    pub(crate) global: bool,
    pub(crate) no_open: bool,
    pub(crate) timeout: Duration,
    pub(crate) json: bool,
    /// The hosted UI is the CLI's local pool (which keeps no hosted-UI
    /// session of its own).
    pub(crate) local_pool: bool,
}

/// Signs out, then ends the hosted UI's session: opens (or prints) its
/// `/logout` URL and waits at most the timeout for the browser to come
/// back to `back`. Local state is cleared first, so a timeout or Ctrl-C
/// only leaves the hosted UI's session, which is reported with the URL.
/// `Some(output)` when the session did not come from the hosted UI
/// (nothing printed: the caller reports the ordinary sign-out), `None`
/// once everything is reported.
pub(crate) async fn sign_out(
    auth: &Auth,
    back: Option<(RedirectListener, String)>,
    request: SignOutRequest,
) -> Result<Option<amplify_auth::SignOutOutput>> {
    let preferred = back.as_ref().map(|(_, uri)| uri.clone());
    let opened = std::cell::Cell::new(None);
    let opener = |url: &str| {
        if !request.no_open {
            opened.set(Some(open_browser(url)));
        }
        Ok(())
    };
    let out =
        match busy("Signing out…", auth.sign_out_with_redirect(request.global, preferred.as_deref(), opener)).await {
            Ok(out) => out,
            Err(err) => {
                eprintln!("warning: the hosted UI sign-out could not be prepared: {err}");
                busy("Signing out…", auth.sign_out(request.global)).await?
            }
        };
    let Some(url) = out.oauth_sign_out_url.clone() else { return Ok(Some(out)) };
    let server_error = out.global_sign_out_error.as_ref().or(out.revoke_token_error.as_ref()).map(|e| e.to_string());
    // Listen for Ctrl-C before showing the URL (as `sign-in --browser`).
    let mut interrupt = crate::spinner::own_interrupt().context("installing the Ctrl-C handler")?;
    if request.json {
        println!("{}", serde_json::json!({ "logoutUrl": url, "logoutRedirectUri": preferred }));
    } else {
        if let Some(err) = &server_error {
            println!("signed out locally; the server call failed: {err}");
        }
        match opened.get() {
            Some(true) => println!("Signing out of the hosted UI in the browser; if it does not open, open this URL:"),
            Some(false) => println!("could not start a browser; to end the hosted UI session too, open this URL:"),
            None => println!("To end the hosted UI session too, open this URL:"),
        }
        println!("{url}");
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;
    let returned = match back {
        None => None,
        Some((listener, uri)) => {
            let path = path_of(&uri);
            let waiting = busy(
                "Waiting for the browser… (Ctrl-C to stop waiting)",
                listener.accept(Some(&path), request.timeout),
            );
            let interrupted = interrupt.recv();
            Some(tokio::select! {
                out = waiting => match out {
                    Ok(_) => Ok(()),
                    Err(_) => Err(format!("the browser did not come back within {} s", request.timeout.as_secs())),
                },
                _ = interrupted => Err("stopped waiting for the browser (Ctrl-C)".to_owned()),
            })
        }
    };
    if request.json {
        println!(
            "{}",
            serde_json::json!({
                "signedOut": true,
                "logoutUrl": url,
                "browserReturned": returned.as_ref().map(Result::is_ok),
                "serverError": server_error,
            })
        );
    } else {
        match returned {
            Some(Ok(())) => println!("signed out (hosted UI too)"),
            Some(Err(why)) => {
                println!("signed out locally; the hosted UI session may remain ({why}).");
                println!("To end it, open: {url}");
                if request.local_pool {
                    println!("(the CLI's local pool keeps no hosted UI session, so nothing remains there)");
                }
            }
            None => println!("signed out locally; the hosted UI session ends when the URL above is opened"),
        }
    }
    Ok(None)
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
    // point after it cancels cleanly (this wait handles it, not the CLI's
    // interactive handler).
    let mut interrupt = crate::spinner::own_interrupt().context("installing the Ctrl-C handler")?;
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
    let interrupted = interrupt.recv();
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
    fn remembered_settings_round_trip_atomically() {
        let dir = std::env::temp_dir().join(format!("amplify-auth-cli-remembered-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = Remembered::path(&dir, "client1");
        assert_eq!(Remembered::load(&path), None);
        let settings = Remembered {
            domain: Some("auth.example.com".into()),
            scopes: vec!["openid".into(), "email".into()],
            redirect_sign_out: vec!["http://127.0.0.1:8085/".into()],
            response_type: "code".into(),
        };
        settings.save(&path).unwrap();
        assert_eq!(Remembered::load(&path), Some(settings.clone()));
        let local = Remembered { domain: None, ..settings };
        local.save(&path).unwrap();
        assert_eq!(Remembered::load(&path), Some(local));
        // Only the file itself is left (the temporary one was renamed).
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::write(&path, "{\"domain\": 5}").unwrap();
        assert_eq!(Remembered::load(&path), None);
        Remembered::forget(&path);
        assert!(!path.exists());
        Remembered::forget(&path);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_of_urls() {
        assert_eq!(path_of("http://127.0.0.1:1234/signed-out"), "/signed-out");
        assert_eq!(path_of("http://127.0.0.1:1234/a/b?x=1#f"), "/a/b");
        assert_eq!(path_of("http://127.0.0.1:1234"), "/");
    }

    #[test]
    fn providers_by_name() {
        assert_eq!(provider("Google"), OAuthProvider::Google);
        assert_eq!(provider("SignInWithApple"), OAuthProvider::Apple);
        assert_eq!(provider("MyOidc"), OAuthProvider::Custom("MyOidc".into()));
    }
}
