//! `cargo xtask bench srp`: srp-core's client operation side by side with the
//! same operation in pycognito, amazon-cognito-identity-js and a constant-time
//! GMP baseline (gmpy2's `powmod_sec`), in one run on one machine.
//!
//! The operation is a whole client SRP sign-in's CPU work: 128 random bytes
//! to `a`, `A = g^a` (sent as `SRP_A`), then from the PASSWORD_VERIFIER
//! challenge `u`, `x`, `g^x`, `S`, the HKDF key and `PASSWORD_CLAIM_SIGNATURE`.
//! Ours is timed in a release build: when this binary is a debug build it
//! re-runs itself with `cargo run --release` (`bench srp --self-only`).
//! The peers are the scripts in `xtask/peers/`, installed on demand into a
//! scratch directory (`--peers-dir`, default `target/bench-peers`). Every
//! peer first checks that it computes the same signature as srp-core for a
//! fixed `a`, so all rows measure the same work. Not part of CI.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use srp_core::{Challenge, ClientEphemeral, Identity, ServerEphemeral, Timestamp, compute_verifier, compute_x};

use crate::workspace_root;

/// Peer versions the bench installs (the versions the vectors in
/// `fixtures/srp/` were produced with).
const PYCOGNITO: &str = "pycognito==2024.5.1";
const GMPY2: &str = "gmpy2==2.3.2";
const ACIJ: &str = "amazon-cognito-identity-js@6.3.21";

const POOL_ID: &str = "us-east-1_BenchPool1";
const USER: &str = "5e1f0c2a-7b3d-4e8f-9a6b-1c2d3e4f5a6b";
const PASSWORD: &str = "correct horse battery staple";
const SALT: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const EPOCH: u64 = 1_795_000_000;
/// The fixed `a` of the self-check.
const CHECK_A: [u8; 128] = [0x5d; 128];

/// What `bench srp` was asked to do.
#[derive(Debug)]
struct Options {
    peers_dir: PathBuf,
    /// Overrides every row's iteration count.
    iterations: Option<usize>,
    self_only: bool,
    no_install: bool,
}

/// One row of the table.
#[derive(Debug)]
struct Row {
    name: String,
    version: String,
    iterations: u64,
    median_us: f64,
    p90_us: f64,
    min_us: f64,
}

impl Row {
    fn from_json(line: &str) -> Result<Self> {
        let v: Value =
            serde_json::from_str(line.trim()).with_context(|| format!("not a JSON result line: {line:?}"))?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned).context(format!("missing {k}"));
        let num = |k: &str| v.get(k).and_then(Value::as_f64).context(format!("missing {k}"));
        Ok(Self {
            name: text("name")?,
            version: text("version")?,
            iterations: v.get("iterations").and_then(Value::as_u64).context("missing iterations")?,
            median_us: num("median_us")?,
            p90_us: num("p90_us")?,
            min_us: num("min_us")?,
        })
    }
}

/// The fixed challenge every implementation answers, made with srp-core's
/// server half, plus the expected signature for [`CHECK_A`].
struct Fixture {
    srp_b: String,
    secret_block: String,
    timestamp: String,
    check_signature: String,
}

fn fixture() -> Result<Fixture> {
    let err = |e: srp_core::Error| anyhow::anyhow!("srp-core: {e}");
    let identity = Identity::user(POOL_ID, USER, PASSWORD).map_err(err)?;
    let v = compute_verifier(&compute_x(SALT, &identity).map_err(err)?);
    let server = ServerEphemeral::from_random(&[0x42; 32], &v).map_err(err)?;
    let srp_b = server.srp_b().to_string();
    // 768 bytes, about the size of a real SECRET_BLOCK.
    let secret_block = "QUJD".repeat(256);
    let timestamp = Timestamp::from_unix_seconds(EPOCH).map_err(err)?.as_str().to_owned();
    let check = ClientEphemeral::from_random(&CHECK_A).map_err(err)?;
    let challenge = Challenge { srp_b: &srp_b, salt: SALT, secret_block: &secret_block };
    let check_signature = check.sign(&identity, &challenge, &timestamp).map_err(err)?.to_string();
    Ok(Fixture { srp_b, secret_block, timestamp, check_signature })
}

/// `cargo xtask bench srp [--peers-dir DIR] [--iterations N] [--no-install]`.
pub fn run(args: &[&str]) -> Result<ExitCode> {
    let options = parse(args)?;
    if options.self_only {
        for row in measure_self(options.iterations)? {
            println!("{}", row_json(&row));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let fixture = fixture()?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    eprintln!("measuring srp-core (release build)...");
    let ours = if cfg!(debug_assertions) {
        measure_self_release(options.iterations)?
    } else {
        measure_self(options.iterations)?
    };
    rows.extend(ours);

    let peers = PeerEnv::prepare(&options, &mut notes);
    let challenge = json!({
        "pool_id": POOL_ID, "username": USER, "password": PASSWORD, "srp_b": fixture.srp_b, "salt": SALT,
        "secret_block": fixture.secret_block, "timestamp": fixture.timestamp,
        "check_a_hex": hex::encode(CHECK_A), "check_signature": fixture.check_signature,
    })
    .to_string();
    let peer_dir = workspace_root().join("xtask/peers");
    let iters = |default: usize| options.iterations.unwrap_or(default).to_string();
    let runs: Vec<(&str, Option<Command>)> = vec![
        (
            "gmpy2 powmod_sec",
            peers.python.as_ref().map(|py| {
                let mut c = Command::new(py);
                c.arg(peer_dir.join("srp_bench_gmpy2.py")).args([
                    "--iterations",
                    &iters(200),
                    "--challenge",
                    &challenge,
                ]);
                c
            }),
        ),
        (
            "pycognito",
            peers.python.as_ref().map(|py| {
                let mut c = Command::new(py);
                c.arg(peer_dir.join("srp_bench_pycognito.py")).args([
                    "--iterations",
                    &iters(40),
                    "--challenge",
                    &challenge,
                ]);
                c
            }),
        ),
        (
            "amazon-cognito-identity-js",
            peers.node_modules.as_ref().map(|nm| {
                let mut c = Command::new("node");
                c.arg(peer_dir.join("srp_bench_acij.cjs")).arg("--node-modules").arg(nm);
                c.args(["--iterations", &iters(15), "--challenge", &challenge]);
                c
            }),
        ),
    ];
    for (label, command) in runs {
        let Some(mut command) = command else {
            notes.push(format!("{label}: not run (peer not installed)"));
            continue;
        };
        eprintln!("measuring {label}...");
        match run_json_lines(&mut command) {
            Ok(found) => rows.extend(found),
            Err(e) => notes.push(format!("{label}: failed: {e:#}")),
        }
    }
    print_table(&rows, &notes);
    Ok(ExitCode::SUCCESS)
}

fn parse(args: &[&str]) -> Result<Options> {
    let mut options = Options {
        peers_dir: std::env::var_os("SRP_BENCH_PEERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target/bench-peers")),
        iterations: None,
        self_only: false,
        no_install: false,
    };
    let mut it = args.iter();
    while let Some(&arg) = it.next() {
        match arg {
            "--peers-dir" => options.peers_dir = PathBuf::from(it.next().context("--peers-dir needs a directory")?),
            "--iterations" => {
                let n: usize = it.next().context("--iterations needs a number")?.parse().context("--iterations")?;
                if n == 0 {
                    bail!("--iterations must be at least 1");
                }
                options.iterations = Some(n);
            }
            "--self-only" => options.self_only = true,
            "--no-install" => options.no_install = true,
            other => bail!("bench srp: unknown argument {other:?}"),
        }
    }
    if options.peers_dir.is_relative() {
        options.peers_dir = std::env::current_dir()?.join(&options.peers_dir);
    }
    Ok(options)
}

// ---------------------------------------------------------------- ours

/// A small PRNG for the client's random bytes (the bench needs fresh `a`
/// values, not secure ones; constant-time code costs the same for any `a`).
struct XorShift(u64);

impl XorShift {
    fn fill(&mut self, out: &mut [u8; 128]) {
        for chunk in out.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_be_bytes()[..chunk.len()]);
        }
    }
}

fn stats(name: &str, mut samples: Vec<f64>) -> Row {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let median = if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 };
    let p90 = samples[(n * 9).div_ceil(10).saturating_sub(1).min(n - 1)];
    Row {
        name: name.to_owned(),
        version: format!("srp-core {}", env!("CARGO_PKG_VERSION")),
        iterations: n as u64,
        median_us: median,
        p90_us: p90,
        min_us: samples[0],
    }
}

fn time_us(mut op: impl FnMut() -> Result<()>, warmup: usize, iterations: usize) -> Result<Vec<f64>> {
    for _ in 0..warmup {
        op()?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        op()?;
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    Ok(samples)
}

/// Times srp-core in this process: the whole client operation, and its two
/// halves (A alone, which a client can compute before the user submits, and
/// the claim alone once A is ready).
fn measure_self(iterations: Option<usize>) -> Result<Vec<Row>> {
    let fixture = fixture()?;
    let err = |e: srp_core::Error| anyhow::anyhow!("srp-core: {e}");
    let identity = Identity::user(POOL_ID, USER, PASSWORD).map_err(err)?;
    let challenge = Challenge { srp_b: &fixture.srp_b, salt: SALT, secret_block: &fixture.secret_block };
    // Same answer as the peers' self-check.
    let check = ClientEphemeral::from_random(&CHECK_A).map_err(err)?;
    if check.sign(&identity, &challenge, &fixture.timestamp).map_err(err)?.as_str() != fixture.check_signature {
        bail!("srp-core disagrees with itself on the check signature");
    }
    let n = iterations.unwrap_or(300);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut random = [0u8; 128];

    let full = time_us(
        || {
            rng.fill(&mut random);
            let ephemeral = ClientEphemeral::from_random(&random).map_err(err)?;
            let srp_a = ephemeral.srp_a();
            let timestamp = Timestamp::from_unix_seconds(EPOCH).map_err(err)?;
            let signature = ephemeral.sign(&identity, &challenge, timestamp.as_str()).map_err(err)?;
            std::hint::black_box((srp_a, signature));
            Ok(())
        },
        10,
        n,
    )?;
    let a_only = time_us(
        || {
            rng.fill(&mut random);
            let ephemeral = ClientEphemeral::from_random(&random).map_err(err)?;
            std::hint::black_box(ephemeral.srp_a());
            Ok(())
        },
        10,
        n,
    )?;
    let ephemeral = ClientEphemeral::from_random(&CHECK_A).map_err(err)?;
    let claim_only = time_us(
        || {
            let signature = ephemeral.sign(&identity, &challenge, &fixture.timestamp).map_err(err)?;
            std::hint::black_box(signature);
            Ok(())
        },
        10,
        n,
    )?;
    Ok(vec![
        stats("srp-core (ours): A + claim", full),
        stats("srp-core (ours): A alone (before submit)", a_only),
        stats("srp-core (ours): claim alone (A ready)", claim_only),
    ])
}

fn measure_self_release(iterations: Option<usize>) -> Result<Vec<Row>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root()).args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "xtask",
        "--",
        "bench",
        "srp",
        "--self-only",
    ]);
    if let Some(n) = iterations {
        command.args(["--iterations", &n.to_string()]);
    }
    eprintln!("(building xtask in release mode; the first time takes a few minutes)");
    run_json_lines(&mut command)
}

fn row_json(row: &Row) -> String {
    json!({"name": row.name, "version": row.version, "iterations": row.iterations,
           "median_us": (row.median_us * 10.0).round() / 10.0, "min_us": (row.min_us * 10.0).round() / 10.0,
           "p90_us": (row.p90_us * 10.0).round() / 10.0})
    .to_string()
}

// ---------------------------------------------------------------- peers

/// Where the installed peers are (None: unavailable, with a note why).
struct PeerEnv {
    python: Option<PathBuf>,
    node_modules: Option<PathBuf>,
}

impl PeerEnv {
    fn prepare(options: &Options, notes: &mut Vec<String>) -> Self {
        let dir = &options.peers_dir;
        let python = match python_env(dir, options.no_install) {
            Ok(py) => Some(py),
            Err(e) => {
                notes.push(format!("Python peers unavailable: {e:#}"));
                None
            }
        };
        let node_modules = match node_env(dir, options.no_install) {
            Ok(nm) => Some(nm),
            Err(e) => {
                notes.push(format!("Node peer unavailable: {e:#}"));
                None
            }
        };
        Self { python, node_modules }
    }
}

fn python_env(dir: &Path, no_install: bool) -> Result<PathBuf> {
    let python = dir.join("venv/bin/python");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import pycognito, gmpy2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    if no_install {
        bail!("{} lacks pycognito or gmpy2 (and --no-install was given)", python.display());
    }
    std::fs::create_dir_all(dir)?;
    if !python.exists() {
        eprintln!("creating a Python venv in {}", dir.join("venv").display());
        run_checked(Command::new("python3").args(["-m", "venv"]).arg(dir.join("venv")))?;
    }
    eprintln!("installing {PYCOGNITO} {GMPY2} into {}", dir.join("venv").display());
    run_checked(Command::new(dir.join("venv/bin/pip")).args(["install", "--quiet", PYCOGNITO, GMPY2]))?;
    if !ready(&python) {
        bail!("pycognito/gmpy2 still do not import after installing");
    }
    Ok(python)
}

fn node_env(dir: &Path, no_install: bool) -> Result<PathBuf> {
    let prefix = dir.join("node");
    let node_modules = prefix.join("node_modules");
    if node_modules.join("amazon-cognito-identity-js/package.json").exists() {
        return Ok(node_modules);
    }
    if no_install {
        bail!("{} has no amazon-cognito-identity-js (and --no-install was given)", node_modules.display());
    }
    std::fs::create_dir_all(&prefix)?;
    eprintln!("installing {ACIJ} into {}", prefix.display());
    run_checked(Command::new("npm").arg("install").arg("--prefix").arg(&prefix).args([
        "--no-audit",
        "--no-fund",
        "--silent",
        ACIJ,
    ]))?;
    Ok(node_modules)
}

fn run_checked(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Runs a command and parses every stdout line that starts with `{` as a row.
fn run_json_lines(command: &mut Command) -> Result<Vec<Row>> {
    let output = command.stderr(Stdio::inherit()).output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!("{:?} exited with {}", command.get_program(), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows =
        stdout.lines().filter(|l| l.trim_start().starts_with('{')).map(Row::from_json).collect::<Result<Vec<_>>>()?;
    if rows.is_empty() {
        bail!("no result line in its output: {stdout:?}");
    }
    Ok(rows)
}

// ---------------------------------------------------------------- table

fn ms(us: f64) -> String {
    format!("{:.2} ms", us / 1000.0)
}

fn print_table(rows: &[Row], notes: &[String]) {
    let ours = rows.first().map(|r| r.median_us).unwrap_or(f64::NAN);
    println!();
    println!("Client SRP sign-in CPU: 128 random bytes -> SRP_A, then PASSWORD_VERIFIER -> PASSWORD_CLAIM_SIGNATURE");
    println!("(one run, this machine; ratio = median / srp-core's A + claim median; higher is slower than ours)");
    println!();
    let name_w = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(4).max(4);
    let ver_w = rows.iter().map(|r| r.version.chars().count()).max().unwrap_or(7).max(7);
    println!(
        "{:<name_w$}  {:<ver_w$}  {:>6}  {:>11}  {:>11}  {:>11}  {:>8}",
        "name", "version", "iters", "median", "p90", "min", "ratio"
    );
    println!("{}", "-".repeat(name_w + ver_w + 6 + 11 * 3 + 8 + 12));
    for row in rows {
        println!(
            "{:<name_w$}  {:<ver_w$}  {:>6}  {:>11}  {:>11}  {:>11}  {:>7.2}x",
            row.name,
            row.version,
            row.iterations,
            ms(row.median_us),
            ms(row.p90_us),
            ms(row.min_us),
            row.median_us / ours
        );
    }
    for note in notes {
        println!("note: {note}");
    }
}
