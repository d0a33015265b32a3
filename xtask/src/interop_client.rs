//! `cargo xtask interop client`: our own client against local-pool and ministack.
//!
//! Runs `crates/amplify-auth/examples/interop_client.rs` (SRP sign-in, wrong
//! password, refresh, sign-out, TOTP, through the public API only) against
//! two servers: the local pool and ministack (`AUTH=true`), the emulator the
//! recorded exchanges come from. ministack is installed with pip from
//! `xtask/interop/ministack-requirements.txt` into its own venv in the
//! scratch directory, boto3 (`requirements.txt`) into another; both are
//! reused while the pins are unchanged. For each server a fresh pool,
//! client and user are made with boto3 (`setup_client.py`). The driver
//! reports each check as a JSON line with the operations it made (recorded
//! by its transport) and, when a check fails or is skipped, the exchanges
//! with their secrets replaced by their lengths.
//!
//! Then the `amplify-auth` CLI binary runs against the same pool, one
//! process per command as a user runs it (flags for the pool, a fresh data
//! directory): sign-up, confirm-sign-up (ministack's fixed code, or the
//! local pool's outbox), a wrong password (non-zero exit naming
//! NotAuthorizedException), SRP sign-in with `--password-stdin`, `session
//! --force-refresh` (JSON; the access token must change), sign-out.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::interop::{self, Pool};

/// The servers, in the order they run.
const SERVERS: [&str; 2] = ["local-pool", "ministack"];
/// The checks the driver reports, in its order.
const CHECKS: [&str; 5] = ["wrong-password", "srp-sign-in", "refresh", "sign-out", "totp"];
/// The checks made with the CLI binary, in order.
const CLI_CHECKS: [&str; 6] = [
    "cli-sign-up",
    "cli-confirm-sign-up",
    "cli-wrong-password",
    "cli-srp-sign-in",
    "cli-session-refresh",
    "cli-sign-out",
];
/// How long one CLI command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);
const CLI_USERNAME: &str = "interop-cli";
const CLI_PASSWORD: &str = "Interop-Cli-Pass-1!";
/// How long the driver may run against one server (the TOTP check may wait
/// for the next 30 s period once).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(120);
/// How long ministack may take to answer its health check.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const USERNAME: &str = "interop-client";
const PASSWORD: &str = "Interop-Client-Pass-1!";

/// `cargo xtask interop client [--scratch DIR] [--only local-pool|ministack]`.
pub(crate) fn run(root: &Path, args: &[&str]) -> Result<ExitCode> {
    let options = interop::parse(args, root, "client", "target/interop/ministack", "server", &SERVERS)?;
    let servers: Vec<&str> =
        SERVERS.iter().copied().filter(|s| options.only.is_empty() || options.only.iter().any(|o| o == s)).collect();
    let started = Instant::now();
    let interop_dir = root.join("xtask/interop");

    let t = Instant::now();
    let driver = interop::build_executable(root, "amplify-auth", "--example", "interop_client")?;
    let cli = interop::build_executable(root, "amplify-auth-cli", "--bin", "amplify-auth")?;
    let local_pool = if servers.contains(&"local-pool") { Some(interop::build_local_pool(root)?) } else { None };
    eprintln!("interop client: built in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let scratch = &options.scratch;
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let python = interop::python_env(&interop_dir, scratch)?;
    let ministack = if servers.contains(&"ministack") { Some(ministack_env(&interop_dir, scratch)?) } else { None };
    eprintln!("interop client: installs ready in {:.1} s ({})", t.elapsed().as_secs_f64(), scratch.display());

    let run_dir = scratch.join("run");
    std::fs::create_dir_all(&run_dir)?;
    let mut tally = Tally::default();
    for server in servers {
        let t = Instant::now();
        let label = format!("client@{server}");
        let outcome = match server {
            "local-pool" => local_pool.as_deref().context("local-pool was not built").and_then(|binary| {
                let pool = Pool::start(binary, &run_dir.join("local-pool.log"))?;
                eprintln!("interop client: local-pool at {}", pool.url);
                let bins = Binaries { driver: &driver, cli: &cli };
                run_against(&label, server, &pool.url, bins, &interop_dir, &python, &run_dir, &mut tally)
            }),
            _ => ministack.as_deref().context("ministack was not installed").and_then(|exe| {
                let t = Instant::now();
                let server = Ministack::start(exe, &run_dir)?;
                eprintln!("interop client: ministack at {} (up in {:.1} s)", server.url, t.elapsed().as_secs_f64());
                let bins = Binaries { driver: &driver, cli: &cli };
                run_against(&label, "ministack", &server.url, bins, &interop_dir, &python, &run_dir, &mut tally)
            }),
        };
        if let Err(err) = outcome {
            tally.fail(&label, "run", &format!("{err:#}"));
        }
        eprintln!("interop client: {server} took {:.1} s", t.elapsed().as_secs_f64());
    }
    println!("{} passed, {} failed, {} skipped", tally.passed, tally.failed, tally.skipped);
    eprintln!("interop client: {:.1} s in all; logs in {}", started.elapsed().as_secs_f64(), run_dir.display());
    Ok(if tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Tally {
    fn line(&self, word: &str, label: &str, check: &str, detail: &str, evidence: &[String]) {
        if detail.is_empty() {
            println!("{word} {label} {check}");
        } else {
            println!("{word} {label} {check}: {detail}");
        }
        for exchange in evidence {
            println!("    {exchange}");
        }
        let _ = std::io::stdout().flush();
    }

    fn pass(&mut self, label: &str, check: &str, detail: &str) {
        self.passed += 1;
        self.line("PASS", label, check, detail, &[]);
    }

    fn fail(&mut self, label: &str, check: &str, detail: &str) {
        self.fail_with(label, check, detail, &[]);
    }

    fn fail_with(&mut self, label: &str, check: &str, detail: &str, evidence: &[String]) {
        self.failed += 1;
        self.line("FAIL", label, check, detail, evidence);
    }

    fn skip(&mut self, label: &str, check: &str, detail: &str, evidence: &[String]) {
        self.skipped += 1;
        self.line("SKIP", label, check, detail, evidence);
    }
}

// ---------------------------------------------------------------- build and installs

/// ministack in its own venv (it pins botocore apart from boto3's);
/// returns its executable.
fn ministack_env(interop_dir: &Path, scratch: &Path) -> Result<PathBuf> {
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let pins_file = interop_dir.join("ministack-requirements.txt");
    let pins = std::fs::read(&pins_file)?;
    let stamp = interop::digest(&[&pins, interop::tool_version(&system)?.as_bytes()]);
    let venv = scratch.join("venv-ministack");
    let executable = venv.join("bin/ministack");
    let stamp_file = scratch.join("venv-ministack.stamp");
    if executable.exists() && interop::stamp_matches(&stamp_file, &stamp) {
        return Ok(executable);
    }
    eprintln!("interop client: installing ministack into {}", venv.display());
    let _ = std::fs::remove_file(&stamp_file);
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    interop::run_checked(Command::new(&system).arg("-m").arg("venv").arg(&venv))?;
    interop::run_checked(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-input", "-r"])
            .arg(&pins_file),
    )?;
    if !executable.exists() {
        bail!("pip installed ministack without {}", executable.display());
    }
    std::fs::write(&stamp_file, &stamp)?;
    Ok(executable)
}

// ---------------------------------------------------------------- ministack

/// A running ministack (`AUTH=true`, cognito-idp only) on a free loopback
/// port; stopped (SIGTERM, then SIGKILL) when dropped.
struct Ministack {
    url: String,
    child: Child,
}

impl Drop for Ministack {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).stderr(Stdio::null()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ministack {
    fn start(executable: &Path, run_dir: &Path) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let state = run_dir.join("ministack-state");
        if state.exists() {
            std::fs::remove_dir_all(&state)?;
        }
        std::fs::create_dir_all(&state)?;
        let log_path = run_dir.join("ministack.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(executable)
            .env("AUTH", "true")
            .env("SERVICES", "cognito-idp")
            .env("IOT_MTLS_ENABLED", "0")
            .env("SFTP_ENABLED", "0")
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .env("STATE_DIR", &state)
            .env("TMPDIR", &state)
            // Its root credentials, which setup_client.py signs with.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", executable.display()))?;
        let mut server = Self { url: format!("http://127.0.0.1:{port}"), child };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if health(port) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("ministack exited ({status}) before answering; see {}", log_path.display());
            }
            if Instant::now() > deadline {
                bail!("ministack did not answer within {} s; see {}", STARTUP_TIMEOUT.as_secs(), log_path.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether `GET /_ministack/health` answers 200.
fn health(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /_ministack/health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

// ---------------------------------------------------------------- the driver

/// Makes a pool, client and user on the server with boto3; returns
/// (pool id, client id).
fn setup(interop_dir: &Path, python: &Path, url: &str, name: &str) -> Result<(String, String)> {
    let mut command = Command::new(python);
    command.current_dir(interop_dir).arg("setup_client.py").args([name, USERNAME, PASSWORD]);
    interop::client_env(&mut command, url, name);
    let output = command.output().context("running setup_client.py")?;
    if !output.status.success() {
        bail!("setup_client.py failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let config: Value =
        serde_json::from_str(text.trim()).with_context(|| format!("setup_client.py printed {text:?}"))?;
    let field = |name: &str| config[name].as_str().map(str::to_owned).with_context(|| format!("no {name} in {config}"));
    Ok((field("userPoolId")?, field("clientId")?))
}

/// The two programs run against each server.
#[derive(Clone, Copy)]
struct Binaries<'a> {
    driver: &'a Path,
    cli: &'a Path,
}

/// Sets up the server and runs the driver, then the CLI, against it.
#[allow(clippy::too_many_arguments)]
fn run_against(
    label: &str,
    server: &str,
    url: &str,
    bins: Binaries<'_>,
    interop_dir: &Path,
    python: &Path,
    run_dir: &Path,
    tally: &mut Tally,
) -> Result<()> {
    let name = label.replace('@', "-");
    let (pool_id, client_id) = match setup(interop_dir, python, url, &name) {
        Ok(ids) => ids,
        Err(err) => {
            tally.fail(label, "setup (boto3)", &format!("{err:#}"));
            return Ok(());
        }
    };
    let driver = bins.driver;
    run_driver(label, url, driver, &pool_id, &client_id, run_dir, tally)?;
    let t = Instant::now();
    let cli = CliRun {
        binary: bins.cli,
        endpoint: url,
        pool_id: &pool_id,
        client_id: &client_id,
        data_dir: run_dir.join(format!("{name}-cli-home")),
        server,
    };
    cli_checks(label, &cli, tally)?;
    eprintln!("interop client: {label} CLI checks took {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// Runs the driver example against the pool and tallies its checks.
fn run_driver(
    label: &str,
    url: &str,
    driver: &Path,
    pool_id: &str,
    client_id: &str,
    run_dir: &Path,
    tally: &mut Tally,
) -> Result<()> {
    let name = label.replace('@', "-");
    let stderr_path = run_dir.join(format!("{name}.stderr.log"));
    let mut command = Command::new(driver);
    command.args([
        "--endpoint",
        url,
        "--pool-id",
        pool_id,
        "--client-id",
        client_id,
        "--username",
        USERNAME,
        "--password",
        PASSWORD,
    ]);
    interop::client_env(&mut command, url, &name);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .with_context(|| format!("starting {}", driver.display()))?;
    let lines = interop::read_lines(child.stdout.take().context("no stdout")?);
    let deadline = Instant::now() + DRIVER_TIMEOUT;
    let mut reported: Vec<String> = Vec::new();
    let mut finished = false;
    let mut timed_out = false;
    loop {
        let line = match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            eprintln!("  {label}| {line}");
            continue;
        };
        if message["done"] == true {
            finished = true;
        } else if let Some(check) = message["check"].as_str() {
            evaluate(label, check, &message, tally);
            reported.push(check.to_owned());
        } else {
            eprintln!("  {label}| {line}");
        }
    }
    let status = child.wait()?;
    for check in CHECKS.iter().filter(|c| !reported.iter().any(|r| r == *c)) {
        tally.fail(label, check, "not reported (the driver stopped before it)");
    }
    if timed_out || !finished {
        let why = if timed_out {
            format!("timed out after {} s", DRIVER_TIMEOUT.as_secs())
        } else {
            format!("exited ({status}) before finishing")
        };
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
        tally.fail(
            label,
            "driver",
            &format!("{why}; stderr ({}):\n    {}", stderr_path.display(), tail.join("\n    ")),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- the CLI

/// The CLI pointed at one server's pool.
struct CliRun<'a> {
    binary: &'a Path,
    endpoint: &'a str,
    pool_id: &'a str,
    client_id: &'a str,
    data_dir: PathBuf,
    server: &'a str,
}

/// What one CLI command did.
struct CliOutput {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl CliOutput {
    fn summary(&self) -> String {
        let text = format!("{} {}", self.stdout.trim(), self.stderr.trim());
        text.trim().replace('\n', " | ")
    }
}

impl CliRun<'_> {
    /// Runs `amplify-auth --endpoint .. --user-pool-id .. --client-id ..
    /// --region us-east-1 --data-dir .. ARGS` with `stdin` on its standard
    /// input; killed after `CLI_TIMEOUT`.
    fn run(&self, args: &[&str], stdin: &str) -> Result<CliOutput> {
        let mut command = Command::new(self.binary);
        command
            .args(["--endpoint", self.endpoint, "--user-pool-id", self.pool_id, "--client-id", self.client_id])
            .args(["--region", "us-east-1", "--data-dir"])
            .arg(&self.data_dir)
            .args(args);
        interop::client_env(&mut command, self.endpoint, "amplify-auth-cli");
        for var in ["AMPLIFY_AUTH_CONFIG", "AMPLIFY_AUTH_HOME", "AMPLIFY_AUTH_PASSWORD", "AMPLIFY_AUTH_NEW_PASSWORD"] {
            command.env_remove(var);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes())?;
        }
        let (mut out, mut err) = (child.stdout.take().context("no stdout")?, child.stderr.take().context("no stderr")?);
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let deadline = Instant::now() + CLI_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let Some(status) = status else {
            bail!("amplify-auth {} timed out after {} s: {stderr}", args.join(" "), CLI_TIMEOUT.as_secs());
        };
        Ok(CliOutput { ok: status.success(), stdout, stderr })
    }

    /// The sign-up confirmation code: ministack's fixed one, or the last
    /// one in the local pool's outbox.
    fn confirmation_code(&self, username: &str) -> Result<String> {
        if self.server == "ministack" {
            return Ok("123456".to_owned());
        }
        let path = format!("/_local-pool/outbox?pool={}&user={username}", self.pool_id);
        let body = http_get(self.endpoint, &path)?;
        let json: Value = serde_json::from_str(&body).with_context(|| format!("the outbox answered {body:?}"))?;
        json["messages"]
            .as_array()
            .and_then(|messages| messages.iter().rev().find_map(|m| m["code"].as_str()))
            .map(str::to_owned)
            .with_context(|| format!("no code for {username} in the outbox: {json}"))
    }
}

/// `GET path` on a loopback HTTP server; the body of a 200 answer.
fn http_get(endpoint: &str, path: &str) -> Result<String> {
    let host = endpoint.strip_prefix("http://").context("not an http:// endpoint")?;
    let mut stream = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("a malformed HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        bail!("GET {path} answered {}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_owned())
}

/// The CLI checks against one pool; each failure is tallied, and a check
/// whose predecessor failed is tallied as failed too (it cannot run).
fn cli_checks(label: &str, cli: &CliRun<'_>, tally: &mut Tally) -> Result<()> {
    if cli.data_dir.exists() {
        std::fs::remove_dir_all(&cli.data_dir)?;
    }
    std::fs::create_dir_all(&cli.data_dir)?;
    let password = format!("{CLI_PASSWORD}\n");
    let mut results: Vec<(&str, Result<String>)> = Vec::new();
    let outcome = (|| -> Result<()> {
        let email = format!("{CLI_USERNAME}@example.com");
        let out = cli.run(&["sign-up", CLI_USERNAME, "--email", &email], &password)?;
        results.push((
            "cli-sign-up",
            if out.ok && out.stdout.contains("nextStep: CONFIRM_SIGN_UP") {
                Ok(first_line(&out.stdout))
            } else {
                Err(anyhow::anyhow!("{}", out.summary()))
            },
        ));

        let code = cli.confirmation_code(CLI_USERNAME)?;
        let out = cli.run(&["confirm-sign-up", CLI_USERNAME, &code], "")?;
        results.push((
            "cli-confirm-sign-up",
            if out.ok && out.stdout.contains("DONE") {
                Ok(format!("code {code}: {}", first_line(&out.stdout)))
            } else {
                Err(anyhow::anyhow!("{}", out.summary()))
            },
        ));

        let out = cli.run(&["--password-stdin", "sign-in", CLI_USERNAME], "Wrong-Pass-1!\n")?;
        results.push((
            "cli-wrong-password",
            if !out.ok && out.stderr.contains("NotAuthorizedException") {
                Ok(format!("exit non-zero: {}", first_line(&out.stderr)))
            } else {
                Err(anyhow::anyhow!("expected a failure naming NotAuthorizedException: {}", out.summary()))
            },
        ));

        let out = cli.run(&["--output", "json", "--password-stdin", "sign-in", CLI_USERNAME], &password)?;
        let json: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
        let signed_in = out.ok && json["isSignedIn"] == true && json["nextStep"]["signInStep"] == "DONE";
        let flow = cli.run(&["--output", "json", "session"], "")?;
        let flow: Value = serde_json::from_str(flow.stdout.trim()).unwrap_or_default();
        results.push((
            "cli-srp-sign-in",
            if signed_in && flow["signInDetails"]["authFlowType"] == "USER_SRP_AUTH" {
                Ok(format!("{} (flow {})", out.stdout.trim(), flow["signInDetails"]["authFlowType"]))
            } else {
                Err(anyhow::anyhow!("{} / session {flow}", out.summary()))
            },
        ));

        // Tokens carry their issue time in seconds: wait for the next
        // second so a refreshed token cannot equal the old one by chance.
        let before = cli.run(&["print-access-token"], "")?;
        std::thread::sleep(Duration::from_millis(1100));
        let out = cli.run(&["--output", "json", "session", "--force-refresh"], "")?;
        let session: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
        let after = cli.run(&["print-access-token"], "")?;
        let changed = before.ok && after.ok && before.stdout.trim() != after.stdout.trim();
        results.push((
            "cli-session-refresh",
            if out.ok && session["signedIn"] == true && changed {
                Ok(format!(
                    "new access token (iat {}, exp {})",
                    session["accessToken"]["iat"], session["accessToken"]["exp"]
                ))
            } else {
                Err(anyhow::anyhow!("token changed: {changed}; {}", out.summary()))
            },
        ));

        let out = cli.run(&["sign-out"], "")?;
        let after = cli.run(&["--output", "json", "session"], "")?;
        let after: Value = serde_json::from_str(after.stdout.trim()).unwrap_or_default();
        results.push((
            "cli-sign-out",
            if out.ok && out.stdout.trim() == "signed out" && after["signedIn"] == false {
                Ok("signed out, no server error reported; session then signedIn=false".to_owned())
            } else {
                Err(anyhow::anyhow!("{} / session after: {after}", out.summary()))
            },
        ));
        Ok(())
    })();
    for check in CLI_CHECKS {
        match results.iter().find(|(name, _)| *name == check) {
            Some((_, Ok(detail))) => tally.pass(label, check, detail),
            Some((_, Err(err))) => tally.fail(label, check, &format!("{err:#}")),
            None => match &outcome {
                Err(err) => tally.fail(label, check, &format!("not run: {err:#}")),
                Ok(()) => tally.fail(label, check, "not run"),
            },
        }
    }
    Ok(())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// Reports one check line of the driver.
fn evaluate(label: &str, check: &str, message: &Value, tally: &mut Tally) {
    let detail = message["detail"].as_str().unwrap_or("");
    let ops: Vec<&str> = message["ops"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let shown = if ops.is_empty() { detail.to_owned() } else { format!("{detail} [{}]", ops.join(", ")) };
    let evidence: Vec<String> = message["evidence"].as_array().into_iter().flatten().map(Value::to_string).collect();
    if message["ok"] == true {
        tally.pass(label, check, &shown);
    } else if message["skip"] == true {
        tally.skip(label, check, &shown, &evidence);
    } else {
        tally.fail_with(label, check, if shown.is_empty() { "failed" } else { &shown }, &evidence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_tallied_by_outcome() {
        let mut tally = Tally::default();
        let line = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_default();
        evaluate(
            "client@x",
            "a",
            &line(r#"{"check":"a","ok":true,"detail":"d","ops":["InitiateAuth 200"]}"#),
            &mut tally,
        );
        evaluate("client@x", "b", &line(r#"{"check":"b","ok":false,"skip":true,"detail":"no X"}"#), &mut tally);
        evaluate("client@x", "c", &line(r#"{"check":"c","ok":false,"evidence":[{"op":"RevokeToken"}]}"#), &mut tally);
        assert_eq!((tally.passed, tally.skipped, tally.failed), (1, 1, 1));
    }

    #[test]
    fn options_parse() {
        let root = Path::new("/r");
        let parse =
            |args: &[&str], root| interop::parse(args, root, "client", "target/interop/ministack", "server", &SERVERS);
        let options = parse(&["--only", "ministack", "--scratch", "/s"], root).ok();
        assert_eq!(options.as_ref().map(|o| o.only.clone()), Some(vec!["ministack".to_owned()]));
        assert_eq!(options.map(|o| o.scratch), Some(PathBuf::from("/s")));
        assert!(parse(&["--only", "moto"], root).is_err());
        assert_eq!(parse(&[], root).map(|o| o.scratch).ok(), Some(PathBuf::from("/r/target/interop/ministack")));
    }
}
