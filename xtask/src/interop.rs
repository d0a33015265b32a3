//! `cargo xtask interop local-pool`: the reference clients against the local pool.
//!
//! Installs aws-amplify v6 and amazon-cognito-identity-js (npm) and pycognito
//! with boto3 (PyPI), pinned by `xtask/interop/package-lock.json` and
//! `requirements.txt`, into a scratch directory (reused while the pins are
//! unchanged), starts one `local-pool` and runs the drivers in
//! `xtask/interop/`. Each driver reports its checks as JSON lines (see
//! `common.cjs`); around each check it requests `/_interop/mark/<id>/begin`
//! and `.../end`, which the pool logs in order with the check's own
//! requests, so the operations a check expects (Amplify's refresh is
//! `GetTokensFromRefreshToken`, the others' `InitiateAuth`) are confirmed
//! from the server's log, not only from the client's side. A check may
//! instead give the exact sequence the pool must have logged between its
//! marks (`expect_seq`): each request as `Op` (answered 200) or `Op:400`,
//! with `+kind` for each message the pool put in its outbox while answering
//! it (`RespondToAuthChallenge+mfa`: an MFA code was sent). The pool starts
//! with `xtask/interop/local-pool-config.json` (`--config`), which holds
//! the pools whose custom-auth hooks only the config file can set.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The drivers, in the order they run.
const DRIVERS: [&str; 3] = ["amplify", "acij", "pycognito"];
/// How long one driver may run.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(300);
/// Files copied next to `node_modules` before each run.
const JS_FILES: [&str; 3] = ["common.cjs", "drive_amplify.mjs", "drive_acij.cjs"];
/// The pools preloaded with `--config` (custom-auth hooks), in `xtask/interop/`.
const POOL_CONFIG: &str = "local-pool-config.json";

pub(crate) struct Options {
    pub(crate) scratch: PathBuf,
    pub(crate) only: Vec<String>,
}

/// Parses `[--scratch DIR] [--only NAME,...]` for `cargo xtask interop
/// <command>`: `scratch` is the default directory (under `root`), `names`
/// what `--only` may pick (`kind` names them in errors).
pub(crate) fn parse(
    args: &[&str],
    root: &Path,
    command: &str,
    scratch: &str,
    kind: &str,
    names: &[&str],
) -> Result<Options> {
    let mut options = Options { scratch: root.join(scratch), only: Vec::new() };
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        match arg {
            "--scratch" => options.scratch = PathBuf::from(it.next().context("--scratch needs a directory")?),
            "--only" => {
                for name in it.next().with_context(|| format!("--only needs a {kind} name"))?.split(',') {
                    if !names.contains(&name) {
                        bail!("unknown {kind} {name:?} (one of {})", names.join(", "));
                    }
                    options.only.push(name.to_owned());
                }
            }
            other => bail!("interop {command}: unknown argument {other:?}"),
        }
    }
    if options.scratch.is_relative() {
        options.scratch = std::env::current_dir()?.join(&options.scratch);
    }
    Ok(options)
}

/// `cargo xtask interop local-pool [--scratch DIR] [--only amplify|acij|pycognito]`.
pub(crate) fn run(root: &Path, args: &[&str]) -> Result<ExitCode> {
    let options = parse(args, root, "local-pool", "target/interop/local-pool", "driver", &DRIVERS)?;
    let drivers: Vec<&str> =
        DRIVERS.iter().copied().filter(|d| options.only.is_empty() || options.only.iter().any(|o| o == d)).collect();
    let started = Instant::now();
    let interop = root.join("xtask/interop");

    let t = Instant::now();
    let binary = build_local_pool(root)?;
    eprintln!("interop: local-pool built in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let scratch = &options.scratch;
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let python = python_env(&interop, scratch)?;
    let needs_node = drivers.iter().any(|d| *d != "pycognito");
    let node_dir = scratch.join("node");
    if needs_node {
        node_env(&interop, &node_dir)?;
        for file in JS_FILES {
            std::fs::copy(interop.join(file), node_dir.join(file)).with_context(|| format!("copying {file}"))?;
        }
    }
    eprintln!("interop: clients ready in {:.1} s ({})", t.elapsed().as_secs_f64(), scratch.display());

    let run_dir = scratch.join("run");
    std::fs::create_dir_all(&run_dir)?;
    let config = interop.join(POOL_CONFIG);
    let pool = Pool::start_with(&binary, &run_dir.join("local-pool.log"), &["--config".as_ref(), config.as_os_str()])?;
    eprintln!("interop: local-pool at {}", pool.url);

    let mut tally = Tally::default();
    for driver in &drivers {
        let t = Instant::now();
        let outcome = run_driver(driver, &interop, &node_dir, &python, &pool, &run_dir, &mut tally);
        if let Err(err) = outcome {
            tally.fail(driver, "driver", &format!("{err:#}"));
        }
        eprintln!("interop: {driver} took {:.1} s", t.elapsed().as_secs_f64());
    }
    drop(pool);
    println!("{} passed, {} failed", tally.passed, tally.failed);
    eprintln!("interop: {:.1} s in all; logs in {}", started.elapsed().as_secs_f64(), run_dir.display());
    Ok(if tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn pass(&mut self, driver: &str, check: &str, detail: &str) {
        self.passed += 1;
        if detail.is_empty() {
            println!("PASS {driver} {check}");
        } else {
            println!("PASS {driver} {check} ({detail})");
        }
        let _ = std::io::stdout().flush();
    }

    fn fail(&mut self, driver: &str, check: &str, reason: &str) {
        self.failed += 1;
        println!("FAIL {driver} {check}: {reason}");
        let _ = std::io::stdout().flush();
    }
}

// ---------------------------------------------------------------- build and installs

/// Builds local-pool (dev profile: `cargo xtask test` has built most of it
/// already, and its crypto crates are optimised in that profile too).
pub(crate) fn build_local_pool(root: &Path) -> Result<PathBuf> {
    build_executable(root, "local-pool", "--bin", "local-pool")
}

/// Builds one executable target (`kind` is `--bin` or `--example`) of
/// `package` in the dev profile and returns its path, as cargo reports it.
pub(crate) fn build_executable(root: &Path, package: &str, kind: &str, name: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let what = format!("cargo build -p {package} {kind} {name}");
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--quiet", "-p", package, kind, name, "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!("{what} failed ({})", output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo did not report the {name} executable"))
}

/// A 64-bit FNV-1a digest: the installs' stamp (what they were made from).
pub(crate) fn digest(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter().chain(b"\0") {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

pub(crate) fn tool_version(program: &str) -> Result<String> {
    let output = Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("{program} is needed by the interop run (not found)"))?;
    Ok(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)).trim().into())
}

pub(crate) fn stamp_matches(path: &Path, stamp: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| s.trim() == stamp)
}

/// The venv with boto3 and pycognito; returns its python.
pub(crate) fn python_env(interop: &Path, scratch: &Path) -> Result<PathBuf> {
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let pins = std::fs::read(interop.join("requirements.txt"))?;
    let stamp = digest(&[&pins, tool_version(&system)?.as_bytes()]);
    let venv = scratch.join("venv");
    let python = venv.join("bin/python");
    let stamp_file = scratch.join("venv.stamp");
    if python.exists() && stamp_matches(&stamp_file, &stamp) {
        return Ok(python);
    }
    eprintln!("interop: installing boto3 and pycognito into {}", venv.display());
    let _ = std::fs::remove_file(&stamp_file);
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    run_checked(Command::new(&system).arg("-m").arg("venv").arg(&venv))?;
    run_checked(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-input", "-r"])
            .arg(interop.join("requirements.txt")),
    )?;
    std::fs::write(&stamp_file, &stamp)?;
    Ok(python)
}

/// `node_modules` with aws-amplify and amazon-cognito-identity-js (`npm ci`
/// from the committed lock file).
fn node_env(interop: &Path, node_dir: &Path) -> Result<()> {
    let manifest = std::fs::read(interop.join("package.json"))?;
    let lock = std::fs::read(interop.join("package-lock.json"))?;
    let stamp = digest(&[&manifest, &lock, tool_version("node")?.as_bytes()]);
    let stamp_file = node_dir.join("node_modules.stamp");
    let installed = ["aws-amplify", "amazon-cognito-identity-js"]
        .iter()
        .all(|p| node_dir.join("node_modules").join(p).join("package.json").exists());
    if installed && stamp_matches(&stamp_file, &stamp) {
        return Ok(());
    }
    eprintln!("interop: installing aws-amplify and amazon-cognito-identity-js into {}", node_dir.display());
    std::fs::create_dir_all(node_dir)?;
    let _ = std::fs::remove_file(&stamp_file);
    std::fs::write(node_dir.join("package.json"), &manifest)?;
    std::fs::write(node_dir.join("package-lock.json"), &lock)?;
    run_checked(Command::new("npm").current_dir(node_dir).args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]))?;
    std::fs::write(&stamp_file, &stamp)?;
    Ok(())
}

/// Runs an installer; its progress output (stdout) is dropped, errors (stderr) shown.
pub(crate) fn run_checked(command: &mut Command) -> Result<()> {
    let status =
        command.stdin(Stdio::null()).stdout(Stdio::null()).status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

// ---------------------------------------------------------------- the pool

/// The running local pool and its request log (one line per request).
pub(crate) struct Pool {
    pub(crate) url: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pool {
    pub(crate) fn start(binary: &Path, log_path: &Path) -> Result<Self> {
        Self::start_with(binary, log_path, &[])
    }

    /// `local-pool serve --port 0` with more arguments (`--config FILE`).
    pub(crate) fn start_with(binary: &Path, log_path: &Path, extra: &[&std::ffi::OsStr]) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--port", "0"])
            .args(extra)
            .env_remove("LOCAL_POOL_QUIET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let (log, mut file) = (log.clone(), std::fs::File::create(log_path)?);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let _ = writeln!(file, "{line}");
                    if let Ok(mut lines) = log.lock() {
                        lines.push(line);
                    }
                }
            });
        }
        let mut pool = Self { url: String::new(), child, log };
        let stdout = pool.child.stdout.take().context("no stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        let url = first.trim().rsplit(' ').next().unwrap_or("");
        if !first.starts_with("local-pool listening on ") || !url.starts_with("http://") {
            bail!("local-pool did not announce its URL: {first:?}");
        }
        pool.url = url.to_owned();
        // Keep draining stdout so the pool never blocks on it.
        std::thread::spawn(move || for _ in reader.lines().map_while(Result::ok) {});
        Ok(pool)
    }

    /// The pool's log lines between a check's marks; None when the end mark
    /// does not show up in the log.
    fn lines_between(&self, mark: &str) -> Option<Vec<String>> {
        let begin = format!("GET /_interop/mark/{mark}/begin ");
        let end = format!("GET /_interop/mark/{mark}/end ");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            {
                let lines = self.log.lock().ok()?;
                if let Some(e) = lines.iter().rposition(|l| l.starts_with(&end)) {
                    let b = lines[..e].iter().rposition(|l| l.starts_with(&begin))?;
                    return Some(lines[b + 1..e].to_vec());
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The (operation, status) pairs among log lines.
fn ops_of(lines: &[String]) -> Vec<(String, u16)> {
    lines.iter().filter_map(|l| parse_request_line(l)).collect()
}

/// The log lines as one sequence: `Op` (200) or `Op:STATUS` per request,
/// `+kind` appended for each outbox message logged while it was answered
/// (the pool logs a message before the request that sent it).
fn sequence_of(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut sent: Vec<String> = Vec::new();
    for line in lines {
        if let Some(rest) = line.strip_prefix("outbox: ") {
            sent.push(rest.split_whitespace().next().unwrap_or("?").to_owned());
        } else if let Some((op, status)) = parse_request_line(line) {
            let mut entry = if status == 200 { op } else { format!("{op}:{status}") };
            for kind in sent.drain(..) {
                entry.push('+');
                entry.push_str(&kind);
            }
            out.push(entry);
        }
    }
    // A message with no request after it (should not happen) stays visible.
    out.extend(sent.into_iter().map(|kind| format!("+{kind}")));
    out
}

/// `POST / InitiateAuth 200 1.3ms` → ("InitiateAuth", 200).
fn parse_request_line(line: &str) -> Option<(String, u16)> {
    let mut words = line.split_whitespace();
    if words.next()? != "POST" || words.next()? != "/" {
        return None;
    }
    let op = words.next()?.to_owned();
    Some((op, words.next()?.parse().ok()?))
}

/// Which of `expected` ("Op" = answered 200, "Op:400") the pool did not answer.
fn missing_ops(expected: &[String], seen: &[(String, u16)]) -> Vec<String> {
    expected
        .iter()
        .filter(|want| {
            let (op, status) = match want.split_once(':') {
                Some((op, status)) => (op, status.parse().unwrap_or(0)),
                None => (want.as_str(), 200),
            };
            !seen.iter().any(|(o, s)| o == op && *s == status)
        })
        .cloned()
        .collect()
}

// ---------------------------------------------------------------- drivers

/// Environment for every client process: dummy credentials, no profiles, no proxies.
pub(crate) fn client_env(command: &mut Command, url: &str, driver: &str) {
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    command
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("LOCAL_POOL_URL", url)
        .env("INTEROP_DRIVER", driver)
        .stdin(Stdio::null());
}

/// Creates a JS driver's pool, client and admin-made user with boto3.
fn setup_pool(driver: &str, interop: &Path, python: &Path, url: &str) -> Result<String> {
    let mut command = Command::new(python);
    command.arg(interop.join("setup_pool.py")).args([
        driver,
        "--admin-user",
        &format!("{driver}-admin-made"),
        &format!("{driver}-admin-made@example.com"),
    ]);
    client_env(&mut command, url, driver);
    let output = command.output().context("running setup_pool.py")?;
    if !output.status.success() {
        bail!("setup_pool.py failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    let config = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    serde_json::from_str::<Value>(&config).with_context(|| format!("setup_pool.py printed {config:?}"))?;
    Ok(config)
}

fn run_driver(
    driver: &str,
    interop: &Path,
    node_dir: &Path,
    python: &Path,
    pool: &Pool,
    run_dir: &Path,
    tally: &mut Tally,
) -> Result<()> {
    let mut command = match driver {
        "amplify" | "acij" => {
            let config = match setup_pool(driver, interop, python, &pool.url) {
                Ok(c) => c,
                Err(err) => {
                    tally.fail(driver, "setup (boto3)", &format!("{err:#}"));
                    return Ok(());
                }
            };
            let script = if driver == "amplify" { "drive_amplify.mjs" } else { "drive_acij.cjs" };
            let mut c = Command::new("node");
            c.current_dir(node_dir).arg(script).env("INTEROP_CONFIG", config);
            c
        }
        _ => {
            let mut c = Command::new(python);
            c.current_dir(interop).arg("drive_pycognito.py");
            c
        }
    };
    client_env(&mut command, &pool.url, driver);
    let stderr_path = run_dir.join(format!("{driver}.stderr.log"));
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .with_context(|| format!("starting the {driver} driver"))?;
    let lines = read_lines(child.stdout.take().context("no stdout")?);

    let deadline = Instant::now() + DRIVER_TIMEOUT;
    let mut plan: Vec<String> = Vec::new();
    let mut reported: BTreeMap<String, bool> = BTreeMap::new();
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
            eprintln!("  {driver}| {line}");
            continue;
        };
        if let Some(names) = message["plan"].as_array() {
            plan = names.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        } else if message["done"] == true {
            finished = true;
        } else if let Some(name) = message["check"].as_str() {
            let ok = evaluate(driver, name, &message, pool, tally);
            reported.insert(name.to_owned(), ok);
        } else {
            eprintln!("  {driver}| {line}");
        }
    }
    let status = child.wait()?;
    for name in plan.iter().filter(|n| !reported.contains_key(*n)) {
        tally.fail(driver, name, "not reported (the driver stopped before it)");
    }
    if timed_out || !finished || !status.success() {
        let why = if timed_out {
            format!("timed out after {} s", DRIVER_TIMEOUT.as_secs())
        } else {
            format!("exited ({status}) before finishing")
        };
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
        let shown = if tail.iter().all(|l| l.trim().is_empty()) {
            "nothing on stderr".to_owned()
        } else {
            format!("stderr ({}):\n    {}", stderr_path.display(), tail.join("\n    "))
        };
        tally.fail(driver, "driver", &format!("{why}; {shown}"));
    }
    Ok(())
}

/// Reports one check; returns whether it passed.
fn evaluate(driver: &str, name: &str, message: &Value, pool: &Pool, tally: &mut Tally) -> bool {
    let detail = message["detail"].as_str().unwrap_or("");
    if message["ok"] != true {
        tally.fail(driver, name, if detail.is_empty() { "failed" } else { detail });
        return false;
    }
    let strings = |key: &str| -> Vec<String> {
        message[key].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
    };
    let expected = strings("expect_ops");
    let sequence = strings("expect_seq");
    if expected.is_empty() && sequence.is_empty() {
        tally.pass(driver, name, detail);
        return true;
    }
    let mark = message["mark"].as_str().unwrap_or("");
    let Some(lines) = pool.lines_between(mark) else {
        tally.fail(driver, name, &format!("the pool's log has no marks for {mark:?}"));
        return false;
    };
    let seen = ops_of(&lines);
    let missing = missing_ops(&expected, &seen);
    if !missing.is_empty() {
        let saw: Vec<String> = seen.iter().map(|(op, status)| format!("{op} {status}")).collect();
        tally.fail(
            driver,
            name,
            &format!("the pool did not answer {} (it saw: {})", missing.join(", "), saw.join(", ")),
        );
        return false;
    }
    let logged = sequence_of(&lines);
    if !sequence.is_empty() && logged != sequence {
        tally.fail(
            driver,
            name,
            &format!(
                "the pool's log between the marks is [{}], expected exactly [{}]{}",
                logged.join(", "),
                sequence.join(", "),
                if detail.is_empty() { String::new() } else { format!(" (client: {detail})") }
            ),
        );
        return false;
    }
    let server = if sequence.is_empty() {
        format!("server: {}", expected.join(", "))
    } else {
        format!("server, exactly: {}", sequence.join(", "))
    };
    tally.pass(driver, name, &if detail.is_empty() { server } else { format!("{detail}; {server}") });
    true
}

/// Lines of a child's stdout, on a channel (closed at end of file).
pub(crate) fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_parse() {
        assert_eq!(parse_request_line("POST / InitiateAuth 200 1.3ms"), Some(("InitiateAuth".into(), 200)));
        assert_eq!(parse_request_line("GET /_interop/mark/a-1/begin 404 0.0ms"), None);
        assert_eq!(parse_request_line("outbox: sign_up EMAIL to a@b"), None);
    }

    #[test]
    fn sequences_carry_statuses_and_outbox_kinds() {
        let lines: Vec<String> = [
            "GET /_local-pool/outbox 200 0.1ms",
            "POST / InitiateAuth 200 1.3ms",
            "outbox: mfa SMS to +15555550100 for bob in us-east-1_x: code 123456",
            "POST / RespondToAuthChallenge 200 2.0ms",
            "POST / RespondToAuthChallenge 400 0.4ms",
            "POST / RespondToAuthChallenge 200 0.4ms",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            sequence_of(&lines),
            ["InitiateAuth", "RespondToAuthChallenge+mfa", "RespondToAuthChallenge:400", "RespondToAuthChallenge"]
        );
        assert_eq!(ops_of(&lines).len(), 4);
    }

    #[test]
    fn expected_ops_need_their_status() {
        let seen = vec![("InitiateAuth".to_owned(), 200), ("RespondToAuthChallenge".to_owned(), 400)];
        let want = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(missing_ops(&want(&["InitiateAuth", "RespondToAuthChallenge:400"]), &seen).is_empty());
        assert_eq!(missing_ops(&want(&["RespondToAuthChallenge"]), &seen), want(&["RespondToAuthChallenge"]));
        assert_eq!(missing_ops(&want(&["GetTokensFromRefreshToken"]), &seen), want(&["GetTokensFromRefreshToken"]));
    }
}
