//! `amplify-auth`: the terminal authenticator for Amazon Cognito user pools,
//! and `amplify-auth quickstart`, the offline tour of the API.
//!
//! Built only on the public API of the `amplify-auth` crate. Tokens and the
//! pending sign-in live in a file under the data directory (written
//! atomically, mode 0600), so `sign-in` and `confirm-sign-in` can be two
//! invocations. Without any configuration the commands use a local pool
//! kept under the data directory, started in-process for each command.

mod browser;
mod local;
mod quickstart;
mod spinner;
mod tty;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use amplify_auth::{
    Auth, AuthConfig, AuthFlow, ConfirmOptions, MfaPreference, SignInOptions, SignInOutput, SignInStep, SignUpOptions,
    SignUpStep, UpdateAttributeStep,
};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use spinner::busy;
use token_store::FileStorage;

/// Sign up, sign in and manage sessions against Amazon Cognito user pools
/// (or a local pool, when nothing is configured).
#[derive(Debug, Parser)]
#[command(name = "amplify-auth", version, about)]
struct Cli {
    #[command(flatten)]
    target: Target,
    /// Read passwords from standard input (one line each) even on a terminal.
    #[arg(long, global = true)]
    password_stdin: bool,
    /// `text` (default) or `json` (machine-readable results).
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    output: String,
    #[command(subcommand)]
    command: Command,
}

/// Output and input settings shared by the commands.
#[derive(Debug, Clone, Copy)]
struct Io {
    json: bool,
    password_stdin: bool,
}

static IO: std::sync::OnceLock<Io> = std::sync::OnceLock::new();

fn io() -> Io {
    IO.get().copied().unwrap_or(Io { json: false, password_stdin: false })
}

/// Which pool and client: a config file, flags/environment, or the local pool.
#[derive(Debug, Args)]
struct Target {
    /// `amplify_outputs.json` (Gen 2) or `amplifyconfiguration.json` (Gen 1).
    #[arg(long, global = true, env = "AMPLIFY_AUTH_CONFIG")]
    config: Option<PathBuf>,
    /// The user pool id (`us-east-1_AbC123`).
    #[arg(long, global = true, env = "AMPLIFY_AUTH_USER_POOL_ID")]
    user_pool_id: Option<String>,
    /// The app client id.
    #[arg(long, global = true, env = "AMPLIFY_AUTH_CLIENT_ID")]
    client_id: Option<String>,
    /// A custom endpoint (e.g. a local pool's `http://127.0.0.1:PORT`).
    #[arg(long, global = true, env = "AMPLIFY_AUTH_ENDPOINT")]
    endpoint: Option<String>,
    /// The region, if not the pool id's.
    #[arg(long, global = true, env = "AMPLIFY_AUTH_REGION")]
    region: Option<String>,
    /// Where tokens (and the local pool) are kept.
    #[arg(long, global = true, env = "AMPLIFY_AUTH_HOME")]
    data_dir: Option<PathBuf>,
    /// The hosted UI domain for `sign-in --browser` (`auth.example.com`,
    /// or `http://127.0.0.1:PORT` for a local pool).
    #[arg(long, global = true, env = "AMPLIFY_AUTH_OAUTH_DOMAIN")]
    oauth_domain: Option<String>,
    /// The loopback redirect URI for `sign-in --browser`
    /// (`http://127.0.0.1:PORT/`), registered as a callback URL of the app
    /// client.
    #[arg(long, global = true, env = "AMPLIFY_AUTH_REDIRECT_URI")]
    redirect_uri: Option<String>,
    /// OAuth scopes for `sign-in --browser`, comma- or space-separated.
    #[arg(long, global = true, env = "AMPLIFY_AUTH_SCOPES")]
    scopes: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole API against a local pool started in this process: sign
    /// up, confirm, SRP sign-in, session, refresh, attribute verification,
    /// TOTP MFA, sign out. No setup, no AWS account.
    Quickstart,
    /// Creates an account.
    SignUp {
        /// The username.
        username: String,
        /// The email address.
        #[arg(long)]
        email: Option<String>,
        /// Further attributes, `name=value`.
        #[arg(long = "attr", value_parser = parse_pair)]
        attributes: Vec<(String, String)>,
    },
    /// Confirms an account with the code sent.
    ConfirmSignUp {
        /// The username.
        username: String,
        /// The code.
        code: String,
    },
    /// Sends the sign-up code again.
    ResendCode {
        /// The username.
        username: String,
    },
    /// Signs in; prints the next step. `--browser`: through the hosted UI
    /// in the system browser (OAuth 2.0 with PKCE, loopback redirect).
    SignIn {
        /// The username (or email / phone alias); with `--browser`, a hint
        /// prefilled on the sign-in page.
        #[arg(required_unless_present = "browser")]
        username: Option<String>,
        /// The flow: USER_SRP_AUTH (default), USER_PASSWORD_AUTH,
        /// CUSTOM_WITHOUT_SRP, CUSTOM_WITH_SRP, USER_AUTH.
        #[arg(long, conflicts_with = "browser")]
        flow: Option<String>,
        /// The first factor for USER_AUTH.
        #[arg(long, conflicts_with = "browser")]
        preferred_challenge: Option<String>,
        /// Sign in through the hosted UI in a browser.
        #[arg(long)]
        browser: bool,
        /// With `--browser`: the identity provider (Google, Facebook,
        /// LoginWithAmazon, SignInWithApple, COGNITO, or a provider name of
        /// the pool).
        #[arg(long, requires = "browser")]
        provider: Option<String>,
        /// With `--browser`: print the URL only, do not start a browser.
        #[arg(long, requires = "browser")]
        no_open: bool,
        /// With `--browser`: seconds to wait for the browser's redirect.
        #[arg(long, default_value_t = 180, requires = "browser")]
        timeout: u64,
    },
    /// Answers the pending sign-in step (a code, a choice, a new password).
    ConfirmSignIn {
        /// The answer.
        answer: String,
        /// Attributes for a new password, `name=value`.
        #[arg(long = "attr", value_parser = parse_pair)]
        attributes: Vec<(String, String)>,
    },
    /// Prints the session as JSON (refreshing expired tokens).
    Session {
        /// Refresh even if the tokens are valid.
        #[arg(long)]
        force_refresh: bool,
    },
    /// Prints the signed-in user.
    Whoami,
    /// Prints a valid access token (for `curl -H "Authorization: Bearer ..."`).
    PrintAccessToken,
    /// Prints a valid ID token.
    PrintIdToken,
    /// Reads or changes user attributes.
    #[command(subcommand)]
    Attributes(AttributesCommand),
    /// MFA: TOTP setup and preferences.
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// The user's devices.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Changes the password (asks for the old and the new one).
    ChangePassword,
    /// Starts a password reset (a code is sent).
    ResetPassword {
        /// The username.
        username: String,
    },
    /// Finishes a password reset.
    ConfirmResetPassword {
        /// The username.
        username: String,
        /// The code.
        code: String,
    },
    /// Signs out (revokes the refresh token; `--global`: every session).
    /// After `sign-in --browser`, also ends the hosted UI's session: opens
    /// its `/logout` URL and waits for the browser to come back.
    SignOut {
        /// Sign out everywhere.
        #[arg(long)]
        global: bool,
        /// After a browser sign-in: print the hosted UI's `/logout` URL
        /// only, do not start a browser.
        #[arg(long)]
        no_open: bool,
        /// After a browser sign-in: seconds to wait for the browser to come
        /// back from the hosted UI's sign-out (local state is cleared
        /// regardless).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Deletes the signed-in user.
    DeleteUser,
    /// The local pool kept under the data directory.
    #[command(subcommand)]
    LocalPool(LocalCommand),
}

#[derive(Debug, Subcommand)]
enum AttributesCommand {
    /// Prints the attributes as JSON.
    Get,
    /// Sets attributes, `name=value`.
    Update {
        /// `name=value` pairs.
        #[arg(value_parser = parse_pair, required = true)]
        pairs: Vec<(String, String)>,
    },
    /// Confirms an attribute with the code sent.
    Verify {
        /// The attribute.
        name: String,
        /// The code.
        code: String,
    },
    /// Sends a verification code for an attribute.
    SendCode {
        /// The attribute.
        name: String,
    },
    /// Deletes attributes.
    Delete {
        /// Attribute names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum MfaCommand {
    /// Starts TOTP enrolment: prints the secret and a QR code.
    SetupTotp {
        /// The issuer shown in the authenticator app.
        #[arg(long, default_value = "amplify-auth")]
        issuer: String,
    },
    /// Finishes TOTP enrolment with a code from the app.
    VerifyTotp {
        /// The code.
        code: String,
    },
    /// Prints the enabled and preferred factors.
    Show,
    /// Sets preferences: `--totp preferred`, `--sms disabled`, ...
    Set {
        /// enabled | disabled | preferred | not-preferred
        #[arg(long, value_parser = parse_preference)]
        sms: Option<MfaPreference>,
        /// enabled | disabled | preferred | not-preferred
        #[arg(long, value_parser = parse_preference)]
        totp: Option<MfaPreference>,
        /// enabled | disabled | preferred | not-preferred
        #[arg(long, value_parser = parse_preference)]
        email: Option<MfaPreference>,
    },
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// Lists the devices (all pages).
    List,
    /// Remembers this device.
    Remember,
    /// Forgets a device (this one by default).
    Forget {
        /// The device key.
        device_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Prints the local pool's ids and where its data is.
    Status,
    /// Prints the messages (codes) the local pool sent, as JSON.
    Outbox {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Creates a confirmed user with a permanent password (`--temporary`:
    /// a temporary one, changed at the first sign-in).
    CreateUser {
        /// The username.
        username: String,
        /// The email address.
        #[arg(long)]
        email: Option<String>,
        /// The password is temporary: the first sign-in answers
        /// NEW_PASSWORD_REQUIRED (as after AdminCreateUser).
        #[arg(long)]
        temporary: bool,
    },
    /// Serves the local pool in the foreground until interrupted.
    Start {
        /// The port (default: the CLI's local pool port).
        #[arg(long)]
        port: Option<u16>,
    },
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

fn parse_preference(s: &str) -> Result<MfaPreference, String> {
    Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
        "enabled" => MfaPreference::Enabled,
        "disabled" => MfaPreference::Disabled,
        "preferred" => MfaPreference::Preferred,
        "not-preferred" => MfaPreference::NotPreferred,
        _ => return Err("expected enabled, disabled, preferred or not-preferred".into()),
    })
}

/// Reads a secret: from the environment variable `env` if set, else from
/// the terminal without echo, else one line of standard input.
fn read_secret(prompt: &str, env: &str) -> Result<String> {
    if let Ok(value) = std::env::var(env) {
        return Ok(value);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() && !io().password_stdin {
        return tty::prompt_hidden(prompt).context("reading the password");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password from standard input")?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        bail!("no password given ({env} or standard input)");
    }
    Ok(line)
}

fn data_dir(target: &Target) -> Result<PathBuf> {
    if let Some(dir) = &target.data_dir {
        return Ok(dir.clone());
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("amplify-auth"));
    }
    let home = std::env::var_os("HOME").context("no HOME; pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/amplify-auth"))
}

/// The client for the chosen target; the local pool when nothing is set
/// (kept running for the command's duration).
struct Session {
    auth: Auth,
    local: Option<local::Local>,
    /// For `sign-in --browser` or a sign-out after one.
    oauth: Option<OAuthSetup>,
}

/// What a command needs set up besides the client.
enum Mode<'a> {
    /// Nothing more.
    Plain,
    /// `sign-in --browser`, with this provider if any.
    BrowserSignIn(Option<&'a str>),
    /// `sign-out`: after a browser sign-in, the hosted UI's sign-out too.
    SignOut,
}

/// The OAuth side of a command.
enum OAuthSetup {
    /// `sign-in --browser`: the listener for the redirect, its URI, and
    /// the settings to remember (at `path`) once signed in.
    SignIn { listener: amplify_auth::RedirectListener, uri: String, remember: browser::Remembered, path: PathBuf },
    /// `sign-out` after a browser sign-in: where the browser comes back
    /// to (when the CLI can listen there), and the remembered settings'
    /// file, forgotten once signed out.
    SignOut { back: Option<(amplify_auth::RedirectListener, String)>, path: PathBuf, local_pool: bool },
}

impl Session {
    /// Opens the client for `target`; `mode` says what else to set up
    /// (see [`browser::prepare`] and [`browser::prepare_sign_out`]).
    async fn open(target: &Target, mode: Mode<'_>) -> Result<Self> {
        let dir = data_dir(target)?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let (builder, local) = if let Some(path) = &target.config {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            (AuthConfig::from_json(&text)?, None)
        } else if let (Some(pool), Some(client)) = (&target.user_pool_id, &target.client_id) {
            (AuthConfig::builder(pool, client), None)
        } else if target.user_pool_id.is_some() || target.client_id.is_some() {
            bail!("give both --user-pool-id and --client-id (or --config)");
        } else {
            let local = local::Local::start(&dir.join("local-pool")).await?;
            let builder =
                AuthConfig::builder(&local.ids.pool_id, &local.ids.client_id).user_pool_endpoint(local.endpoint());
            (builder, Some(local))
        };
        let mut builder = builder;
        if let Some(endpoint) = &target.endpoint {
            builder = builder.user_pool_endpoint(endpoint);
        }
        if let Some(region) = &target.region {
            builder = builder.region(region);
        }
        let mut setup = None;
        match mode {
            Mode::Plain => {}
            Mode::BrowserSignIn(provider) => {
                let configured = builder.clone().build()?;
                let path = browser::Remembered::path(&dir, configured.client_id());
                let (oauth, listener, uri, remember) =
                    browser::prepare(target, configured.oauth().cloned(), local.as_ref(), provider).await?;
                builder = builder.oauth(oauth);
                setup = Some(OAuthSetup::SignIn { listener, uri, remember, path });
            }
            Mode::SignOut => {
                let configured = builder.clone().build()?;
                let path = browser::Remembered::path(&dir, configured.client_id());
                if let Some(remembered) = browser::Remembered::load(&path) {
                    let oauth = configured.oauth().cloned();
                    // Signing out must work whatever happens here: on an
                    // error, sign out locally as without a browser sign-in.
                    match browser::prepare_sign_out(target, oauth, &remembered, local.as_ref()).await {
                        Ok((oauth, back, local_pool)) => {
                            builder = builder.oauth(oauth);
                            setup = Some(OAuthSetup::SignOut { back, path, local_pool });
                        }
                        Err(err) => {
                            eprintln!("warning: cannot sign out of the hosted UI: {err:#}");
                            setup = Some(OAuthSetup::SignOut { back: None, path, local_pool: false });
                        }
                    }
                }
            }
        }
        let config = builder.build()?;
        let storage = FileStorage::new(dir.join(format!("tokens-{}.json", config.client_id())));
        let auth = Auth::builder(config).storage(Arc::new(storage)).device_name("amplify-auth CLI").build()?;
        Ok(Self { auth, local, oauth: setup })
    }

    async fn close(self) {
        if let Some(local) = self.local {
            local.stop().await;
        }
    }
}

/// Whether to walk the steps interactively: a terminal on both ends and
/// text output.
fn interactive() -> bool {
    !io().json && std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The prompt for a step that needs an answer, and whether the answer is a
/// secret (typed without echo); `None` when nothing is asked.
fn prompt_for(step: &SignInStep) -> Option<(&'static str, bool)> {
    Some(match step {
        SignInStep::ConfirmSignInWithSmsCode { .. } | SignInStep::ConfirmSignInWithEmailCode { .. } => {
            ("Code: ", false)
        }
        SignInStep::ConfirmSignInWithTotpCode | SignInStep::ContinueSignInWithTotpSetup { .. } => {
            ("Code from the authenticator app: ", false)
        }
        SignInStep::ConfirmSignInWithPassword => ("Password: ", true),
        SignInStep::ConfirmSignInWithNewPasswordRequired { .. } => ("New password: ", true),
        SignInStep::ContinueSignInWithMfaSelection { .. }
        | SignInStep::ContinueSignInWithMfaSetupSelection { .. }
        | SignInStep::ContinueSignInWithFirstFactorSelection { .. } => ("Choice: ", false),
        SignInStep::ContinueSignInWithEmailSetup => ("Email address for MFA codes: ", false),
        SignInStep::ConfirmSignInWithCustomChallenge { .. } => ("Answer: ", false),
        _ => return None,
    })
}

/// On a terminal after sign-up: asks for the code until it is accepted.
async fn confirm_sign_up_interactively(auth: &Auth, username: &str) -> Result<()> {
    loop {
        let code = ask("Confirmation code: ")?;
        match busy("Confirming…", auth.confirm_sign_up(username, &code, false)).await {
            Ok(out) => {
                let step = serde_json::to_value(&out.next_step)?;
                println!("nextStep: {}", step["signUpStep"].as_str().unwrap_or("?"));
                if matches!(out.next_step, SignUpStep::Done) {
                    println!("{username} is confirmed; sign in with `amplify-auth sign-in {username}`");
                }
                return Ok(());
            }
            Err(err)
                if err.is_service("CodeMismatchException")
                    || matches!(err, amplify_auth::AuthError::Validation { .. }) =>
            {
                eprintln!("{err}");
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Prints the step; on a terminal, asks for each answer and continues
/// until the sign-in is done or ends.
async fn walk_sign_in(auth: &Auth, mut out: SignInOutput) -> Result<()> {
    loop {
        print_sign_in(&out);
        if !interactive() {
            return Ok(());
        }
        let Some((prompt, secret)) = prompt_for(&out.next_step) else { return Ok(()) };
        let answer = if secret { tty::prompt_hidden(prompt).context("reading the answer")? } else { ask(prompt)? };
        match busy("Signing in…", auth.confirm_sign_in(&answer, ConfirmOptions::default())).await {
            Ok(next) => out = next,
            // A wrong code (EnableSoftwareTokenMFAException for an
            // authenticator's first code): say so and ask again (the step
            // stays pending).
            Err(err)
                if err.is_service("CodeMismatchException")
                    || err.is_service("EnableSoftwareTokenMFAException")
                    || matches!(err, amplify_auth::AuthError::Validation { .. }) =>
            {
                eprintln!("{err}");
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Asks for one line on the terminal (echoed); the answer trimmed.
fn ask(prompt: &str) -> Result<String> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).context("reading the answer")? == 0 {
        bail!("no answer (end of input)");
    }
    Ok(line.trim().to_owned())
}

fn print_sign_in(out: &SignInOutput) {
    if io().json {
        let json = serde_json::json!({ "isSignedIn": out.is_signed_in, "nextStep": out.next_step });
        println!("{json}");
        return;
    }
    println!("isSignedIn: {}", out.is_signed_in);
    println!("nextStep: {}", out.next_step);
    match &out.next_step {
        SignInStep::ConfirmSignInWithSmsCode { code_delivery_details }
        | SignInStep::ConfirmSignInWithEmailCode { code_delivery_details } => {
            println!(
                "code sent by {} to {}",
                code_delivery_details.delivery_medium.as_deref().unwrap_or("?"),
                code_delivery_details.destination.as_deref().unwrap_or("?")
            );
        }
        SignInStep::ContinueSignInWithMfaSelection { allowed_mfa_types }
        | SignInStep::ContinueSignInWithMfaSetupSelection { allowed_mfa_types } => {
            let names: Vec<&str> = allowed_mfa_types.iter().map(|m| m.as_str()).collect();
            println!("answer with one of: {}", names.join(", "));
        }
        SignInStep::ContinueSignInWithTotpSetup { totp_setup_details } => {
            let uri = totp_setup_details.setup_uri("amplify-auth", None);
            println!("secret: {}", totp_setup_details.shared_secret.expose_secret());
            print_qr(&uri);
            println!("answer with a code from the authenticator app");
        }
        SignInStep::ContinueSignInWithFirstFactorSelection { available_challenges } => {
            println!("answer with one of: {}", available_challenges.join(", "));
        }
        SignInStep::ConfirmSignInWithCustomChallenge { additional_info } => {
            println!("challenge parameters: {}", serde_json::to_string(additional_info).unwrap_or_default());
        }
        SignInStep::ConfirmSignInWithNewPasswordRequired { missing_attributes } => {
            if missing_attributes.is_empty() {
                println!("answer with a new password");
            } else {
                println!("answer with a new password; missing attributes: {}", missing_attributes.join(", "));
            }
        }
        _ => {}
    }
}

pub(crate) fn print_qr(uri: &str) {
    println!("{uri}");
    if let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) {
        let drawn = code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build();
        println!("{drawn}");
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Quickstart = cli.command {
        let mut stdout = std::io::stdout();
        return quickstart::run(&mut stdout).await;
    }
    if let Command::LocalPool(cmd) = &cli.command {
        return local::command(&data_dir(&cli.target)?.join("local-pool"), cmd).await;
    }
    let mode = match &cli.command {
        Command::SignIn { browser: true, provider, .. } => Mode::BrowserSignIn(provider.as_deref()),
        Command::SignOut { .. } => Mode::SignOut,
        _ => Mode::Plain,
    };
    let mut session = Session::open(&cli.target, mode).await?;
    // An in-process local pool logs each request on stderr unless
    // LOCAL_POOL_QUIET is set; a spinner there would mix with its lines.
    let pool_is_quiet = session.local.as_ref().is_none_or(|l| !l.in_process())
        || std::env::var_os("LOCAL_POOL_QUIET").is_some_and(|v| !v.is_empty());
    let spinning = pool_is_quiet && spinner::terminal_allows(io().json);
    spinner::enable(spinning);
    // An in-process pool saves its state about 250 ms after each change: a
    // Ctrl-C (at a prompt, say, right after a sign-up) saves it first.
    let saver = session.local.as_ref().and_then(local::Local::state_saver);
    if let Some(saver) = &saver {
        let saver = saver.clone();
        spinner::before_interrupt_exit(move || {
            if let Err(err) = saver.save() {
                eprintln!("amplify-auth: could not save the local pool's state: {err}");
            }
        });
    }
    if (spinning || saver.is_some())
        && let Err(err) = spinner::install_interrupt_handler()
    {
        // Ctrl-C then ends the process as usual (a frame may stay).
        eprintln!("warning: no Ctrl-C handler: {err}");
    }
    let setup = session.oauth.take();
    let result = command(&session.auth, setup, cli.command).await;
    session.close().await;
    result
}

async fn command(auth: &Auth, setup: Option<OAuthSetup>, command: Command) -> Result<()> {
    match command {
        Command::Quickstart | Command::LocalPool(_) => bail!("this command does not take a session"),
        Command::SignUp { username, email, attributes } => {
            let password = read_secret("Password: ", "AMPLIFY_AUTH_PASSWORD")?;
            let mut user_attributes: BTreeMap<String, String> = attributes.into_iter().collect();
            if let Some(email) = email {
                user_attributes.insert("email".into(), email);
            }
            let out = busy(
                "Signing up…",
                auth.sign_up(&username, &password, SignUpOptions { user_attributes, ..Default::default() }),
            )
            .await?;
            println!("userId: {}", out.user_id);
            match out.next_step {
                SignUpStep::ConfirmSignUp { code_delivery_details } => {
                    println!(
                        "nextStep: CONFIRM_SIGN_UP (code sent by {} to {})",
                        code_delivery_details.delivery_medium.as_deref().unwrap_or("?"),
                        code_delivery_details.destination.as_deref().unwrap_or("?")
                    );
                    if interactive() {
                        confirm_sign_up_interactively(auth, &username).await?;
                    }
                }
                other => println!("nextStep: {}", serde_json::to_value(&other)?["signUpStep"].as_str().unwrap_or("?")),
            }
        }
        Command::ConfirmSignUp { username, code } => {
            let out = busy("Confirming…", auth.confirm_sign_up(&username, &code, false)).await?;
            println!("nextStep: {}", serde_json::to_value(&out.next_step)?["signUpStep"].as_str().unwrap_or("?"));
        }
        Command::ResendCode { username } => {
            let details = busy("Sending a code…", auth.resend_sign_up_code(&username)).await?;
            println!("code sent to {}", details.destination.as_deref().unwrap_or("?"));
        }
        Command::SignIn { username, browser: true, provider, no_open, timeout, .. } => {
            let Some(OAuthSetup::SignIn { listener, uri, remember, path }) = setup else {
                bail!("the browser sign-in was not set up")
            };
            let request = browser::Request {
                login_hint: username,
                provider,
                no_open,
                timeout: std::time::Duration::from_secs(timeout),
                json: io().json,
            };
            let out = browser::sign_in(auth, listener, uri, request).await?;
            if out.is_signed_in
                && let Err(err) = remember.save(&path)
            {
                // Signed in all the same; sign-out then ends only the local session.
                eprintln!("warning: the hosted UI settings were not kept for sign-out: {err:#}");
            }
            print_sign_in(&out);
            if out.is_signed_in && !io().json {
                let user = auth.get_current_user().await?;
                println!("signed in as {} ({})", user.username, user.user_id);
            }
        }
        Command::SignIn { username, flow, preferred_challenge, .. } => {
            let username = username.context("give the username")?;
            let auth_flow = match flow.as_deref() {
                Some(f) => Some(AuthFlow::parse(f).with_context(|| format!("unknown flow {f}"))?),
                None => None,
            };
            let password = match auth_flow {
                Some(AuthFlow::CustomWithoutSrp) => None,
                Some(AuthFlow::UserAuth)
                    if !matches!(preferred_challenge.as_deref(), Some("PASSWORD" | "PASSWORD_SRP")) =>
                {
                    None
                }
                _ => Some(read_secret("Password: ", "AMPLIFY_AUTH_PASSWORD")?),
            };
            let options = SignInOptions { auth_flow, preferred_challenge, client_metadata: None };
            let out = busy("Signing in…", auth.sign_in(&username, password.as_deref(), options)).await?;
            walk_sign_in(auth, out).await?;
        }
        Command::ConfirmSignIn { answer, attributes } => {
            let options = ConfirmOptions { user_attributes: attributes.into_iter().collect(), ..Default::default() };
            let out = busy("Signing in…", auth.confirm_sign_in(&answer, options)).await?;
            walk_sign_in(auth, out).await?;
        }
        Command::Session { force_refresh } => {
            let session = busy("Fetching the session…", auth.fetch_auth_session(force_refresh)).await?;
            let json = match &session.tokens {
                Some(tokens) => serde_json::json!({
                    "signedIn": true,
                    "username": tokens.username,
                    "userSub": tokens.user_sub,
                    "accessToken": { "exp": tokens.access_token.claims().exp, "iat": tokens.access_token.claims().iat,
                                     "scope": tokens.access_token.claims().scope, "clientId": tokens.access_token.claims().client_id },
                    "idToken": tokens.id_token.as_ref().map(|t| serde_json::json!({ "exp": t.claims().exp, "aud": t.claims().aud })),
                    "signInDetails": tokens.sign_in_details.as_ref().map(|d| serde_json::json!({
                        "loginId": d.login_id, "authFlowType": d.auth_flow_type.as_ref().map(|f| f.as_str().to_owned()) })),
                }),
                None => serde_json::json!({ "signedIn": false }),
            };
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Command::Whoami => {
            let user = busy("Fetching the user…", auth.get_current_user()).await?;
            if io().json {
                println!("{}", serde_json::json!({ "username": user.username, "userId": user.user_id }));
            } else {
                println!("{} ({})", user.username, user.user_id);
            }
        }
        Command::PrintAccessToken => {
            let tokens =
                busy("Fetching the session…", auth.fetch_auth_session(false)).await?.tokens.context("not signed in")?;
            println!("{}", tokens.access_token.raw().expose_secret());
        }
        Command::PrintIdToken => {
            let tokens =
                busy("Fetching the session…", auth.fetch_auth_session(false)).await?.tokens.context("not signed in")?;
            let id = tokens.id_token.as_ref().context("the session has no ID token")?;
            println!("{}", id.raw().expose_secret());
        }
        Command::Attributes(cmd) => match cmd {
            AttributesCommand::Get => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&busy("Fetching attributes…", auth.fetch_user_attributes()).await?)?
                );
            }
            AttributesCommand::Update { pairs } => {
                let map: BTreeMap<String, String> = pairs.into_iter().collect();
                for (name, out) in busy("Updating attributes…", auth.update_user_attributes(&map, None)).await? {
                    match out.next_step {
                        UpdateAttributeStep::Done => println!("{name}: DONE"),
                        UpdateAttributeStep::ConfirmAttributeWithCode { code_delivery_details } => println!(
                            "{name}: CONFIRM_ATTRIBUTE_WITH_CODE (code sent to {})",
                            code_delivery_details.destination.as_deref().unwrap_or("?")
                        ),
                    }
                }
            }
            AttributesCommand::Verify { name, code } => {
                busy("Verifying…", auth.confirm_user_attribute(&name, &code)).await?;
                println!("{name}: verified");
            }
            AttributesCommand::SendCode { name } => {
                let details = busy("Sending a code…", auth.send_user_attribute_verification_code(&name)).await?;
                println!("code sent to {}", details.destination.as_deref().unwrap_or("?"));
            }
            AttributesCommand::Delete { names } => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                busy("Deleting attributes…", auth.delete_user_attributes(&names)).await?;
                println!("deleted");
            }
        },
        Command::Mfa(cmd) => match cmd {
            MfaCommand::SetupTotp { issuer } => {
                let details = busy("Starting TOTP setup…", auth.set_up_totp()).await?;
                println!("secret: {}", details.shared_secret.expose_secret());
                print_qr(&details.setup_uri(&issuer, None));
                println!("then: amplify-auth mfa verify-totp <code>");
            }
            MfaCommand::VerifyTotp { code } => {
                busy("Verifying…", auth.verify_totp_setup(&code, Some("amplify-auth CLI"))).await?;
                println!("TOTP enabled");
            }
            MfaCommand::Show => {
                let prefs = busy("Fetching MFA settings…", auth.fetch_mfa_preference()).await?;
                let enabled: Vec<&str> = prefs.enabled.iter().map(|m| m.as_str()).collect();
                println!("enabled: {}", enabled.join(", "));
                println!("preferred: {}", prefs.preferred.map_or("none", |m| m.as_str()));
            }
            MfaCommand::Set { sms, totp, email } => {
                busy("Updating MFA settings…", auth.update_mfa_preference(sms, totp, email)).await?;
                println!("updated");
            }
        },
        Command::Devices(cmd) => match cmd {
            DevicesCommand::List => {
                let mut token = None;
                loop {
                    let page = busy("Fetching devices…", auth.fetch_devices(None, token)).await?;
                    for d in &page.devices {
                        println!("{}\t{}", d.id, d.name.as_deref().unwrap_or(""));
                    }
                    match page.next_token {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                }
            }
            DevicesCommand::Remember => {
                busy("Remembering the device…", auth.remember_device()).await?;
                println!("remembered");
            }
            DevicesCommand::Forget { device_key } => {
                busy("Forgetting the device…", auth.forget_device(device_key.as_deref())).await?;
                println!("forgotten");
            }
        },
        Command::ChangePassword => {
            let old = read_secret("Current password: ", "AMPLIFY_AUTH_PASSWORD")?;
            let new = read_secret("New password: ", "AMPLIFY_AUTH_NEW_PASSWORD")?;
            busy("Changing the password…", auth.update_password(&old, &new)).await?;
            println!("password changed");
        }
        Command::ResetPassword { username } => {
            let out = busy("Requesting a reset code…", auth.reset_password(&username)).await?;
            println!("nextStep: {}", serde_json::to_value(&out.next_step)?["resetPasswordStep"]);
        }
        Command::ConfirmResetPassword { username, code } => {
            let new = read_secret("New password: ", "AMPLIFY_AUTH_NEW_PASSWORD")?;
            busy("Resetting the password…", auth.confirm_reset_password(&username, &code, &new)).await?;
            println!("password reset");
        }
        Command::SignOut { global, no_open, timeout } => {
            let out = match setup {
                Some(OAuthSetup::SignOut { back, path, local_pool }) => {
                    let request = browser::SignOutRequest {
                        global,
                        no_open,
                        timeout: std::time::Duration::from_secs(timeout),
                        json: io().json,
                        local_pool,
                    };
                    let result = browser::sign_out(auth, back, request).await;
                    if result.is_ok() {
                        // Local state is cleared: the settings are not needed.
                        browser::Remembered::forget(&path);
                    }
                    match result? {
                        Some(out) => out,
                        None => return Ok(std::io::stdout().flush()?),
                    }
                }
                _ => busy("Signing out…", auth.sign_out(global)).await?,
            };
            if let Some(err) = out.global_sign_out_error.or(out.revoke_token_error) {
                println!("signed out locally; the server call failed: {err}");
            } else {
                println!("signed out");
            }
            if let Some(url) = out.oauth_sign_out_url {
                println!("the hosted UI keeps its own session; to end it too, open: {url}");
            }
        }
        Command::DeleteUser => {
            busy("Deleting the user…", auth.delete_user()).await?;
            println!("user deleted");
        }
    }
    std::io::stdout().flush()?;
    Ok(())
}

/// What to do next, for the errors where we know.
fn advice(err: &amplify_auth::AuthError) -> Option<&'static str> {
    use amplify_auth::AuthError;
    Some(match err {
        AuthError::UserAlreadyAuthenticated => "run `amplify-auth sign-out` first",
        AuthError::NotSignedIn => "run `amplify-auth sign-in <username>`",
        AuthError::InvalidState(m) if m.contains("expired") || m.contains("sign_in first") => {
            "start again with `amplify-auth sign-in <username>`"
        }
        AuthError::InvalidState(m) if m.contains("no redirect arrived") => {
            "run `amplify-auth sign-in --browser` again and finish in the browser sooner (or raise --timeout)"
        }
        AuthError::Transport { .. } => "check the network and the endpoint, then try again",
        _ => match err.name() {
            "NotAuthorizedException" => "check the username and password (or whether the session was revoked)",
            "UserNotConfirmedException" => "confirm the account: `amplify-auth confirm-sign-up <username> <code>`",
            "CodeMismatchException" => "check the code, or ask for a new one (`amplify-auth resend-code <username>`)",
            "ExpiredCodeException" => "ask for a new code (`amplify-auth resend-code <username>`)",
            "EnableSoftwareTokenMFAException" => {
                "type the code your authenticator app shows now (check that its clock is right), then try again"
            }
            "UsernameExistsException" => "sign in instead, or choose another username",
            "InvalidPasswordException" => "choose a password that meets the pool's policy",
            "PasswordResetRequiredException" => "reset it: `amplify-auth reset-password <username>`",
            "LimitExceededException" | "TooManyRequestsException" => "wait a moment and try again",
            _ => return None,
        },
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("amplify-auth: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // The local pool logs each request it serves on stderr (one line each;
    // LOCAL_POOL_QUIET=1 silences it); the commands print on stdout.
    let _ = IO.set(Io { json: cli.output == "json", password_stdin: cli.password_stdin });
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The causes, ending at a service error (whose source repeats it).
            let mut causes = Vec::new();
            for cause in err.chain() {
                causes.push(cause.to_string());
                if matches!(cause.downcast_ref::<amplify_auth::AuthError>(), Some(amplify_auth::AuthError::Service(_)))
                {
                    break;
                }
            }
            eprintln!("amplify-auth: {}", causes.join(": "));
            if let Some(hint) = err.downcast_ref::<amplify_auth::AuthError>().and_then(advice) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
