//! `cargo xtask bench local-pool`: full SRP sign-ins (InitiateAuth plus
//! RespondToAuthChallenge, token issue included) from many concurrent
//! clients for a fixed time, against our pool and, in the same run, against
//! ministack (`AUTH=true`), printing sign-ins per second, p50/p99 latency
//! and the server's CPU time per sign-in.
//!
//! What each client does (the same against both servers): before the timed
//! window it draws [`EPHEMERALS_PER_CLIENT`] client ephemerals (`a` from 128
//! bytes of OS randomness, `A = g^a`, srp-core's `ClientEphemeral`, about
//! 1.5 ms each) and then cycles through them; every sign-in in the window is
//! a new InitiateAuth (the server draws a fresh `b` and `B`) followed by
//! RespondToAuthChallenge with `PASSWORD_CLAIM_SIGNATURE` computed by
//! srp-core's constant-time client (`ClientEphemeral::sign`: `x`,
//! `S = (B − k·g^x)^(a + u·x)`, HKDF, HMAC) against that fresh `B`; the server
//! verifies the claim and issues tokens, and the client checks that an access
//! token came back. Only `A` is reused (after every
//! [`EPHEMERALS_PER_CLIENT`] sign-ins of one client), which no server can
//! tell from a fresh one and which changes none of its work. A 256-bit `a`
//! (32 random bytes zero-extended) would be just as valid but saves nothing:
//! srp-core's client exponentiations are constant-time over the full width.
//!
//! The clients run on the same machine, and `sign` costs about 6 ms of CPU
//! (a 1025-bit exponent modulo the 3072-bit N), more than the server's whole
//! sign-in, so on a 2-core box the wall-clock rate is bounded by the clients
//! as much as by the server. The server's own cost is therefore also reported
//! from its process CPU time (`/proc/<pid>/stat`), as "sign-ins per server
//! CPU-second": the rate one fully used core sustains; the clients' CPU per
//! sign-in (this process) is printed too.
//!
//! Also measured: how long a pool of 100,000 users takes to load from a
//! `--data-dir` and the server's resident memory per user.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// Options of the run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Concurrent clients.
    pub clients: usize,
    /// Seconds of load per server.
    pub seconds: u64,
    /// The ministack executable (skipped when absent).
    pub ministack: Option<PathBuf>,
    /// Users in the load-time/memory measurement.
    pub load_users: usize,
}

/// A keep-alive HTTP/1.1 connection speaking AWS JSON 1.1.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    fn open(url: &str) -> Result<Self> {
        let host = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let stream = TcpStream::connect(&host).with_context(|| format!("connecting to {host}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Self { reader: BufReader::new(stream), host })
    }

    /// Calls `op`; returns the status and the JSON body.
    fn call(&mut self, op: &str, body: &Value, admin: bool) -> Result<(u16, Value)> {
        let body = body.to_string();
        let auth = if admin {
            "Authorization: AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/cognito-idp/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000\r\nX-Amz-Date: 20261122T000000Z\r\n"
        } else {
            ""
        };
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: AWSCognitoIdentityProviderService.{op}\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line)?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line"))?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut buf = vec![0u8; length];
        self.reader.read_exact(&mut buf)?;
        Ok((status, serde_json::from_slice(&buf).unwrap_or(Value::Null)))
    }

    fn ok(&mut self, op: &str, body: &Value, admin: bool) -> Result<Value> {
        let (status, out) = self.call(op, body, admin)?;
        if status != 200 {
            bail!("{op} answered {status}: {out}");
        }
        Ok(out)
    }
}

/// A server under test.
struct Server {
    name: String,
    url: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// User + system CPU seconds of the server process so far.
    fn cpu_seconds(&self) -> Option<f64> {
        process_cpu_seconds(&self.child.id().to_string())
    }

    fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    }
}

fn start_local_pool(root: &Path, data_dir: Option<&Path>) -> Result<Server> {
    let binary = root.join("target/release/local-pool");
    let mut cmd = Command::new(&binary);
    cmd.args(["serve", "--port", "0"]).env("LOCAL_POOL_QUIET", "1").stdout(Stdio::piped()).stderr(Stdio::null());
    if let Some(dir) = data_dir {
        cmd.arg("--data-dir").arg(dir);
    }
    let mut child = cmd.spawn().with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line.trim().rsplit(' ').next().unwrap_or("").to_owned();
    if !url.starts_with("http://") {
        let _ = child.kill();
        bail!("local-pool did not announce its URL: {line:?}");
    }
    Ok(Server { name: "local-pool".into(), url, child })
}

fn start_ministack(executable: &Path) -> Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let state = std::env::temp_dir().join(format!("bench-ministack-{}", std::process::id()));
    std::fs::create_dir_all(&state)?;
    let child = Command::new(executable)
        .env("AUTH", "true")
        .env("SERVICES", "cognito-idp")
        .env("IOT_MTLS_ENABLED", "0")
        .env("SFTP_ENABLED", "0")
        .env("BIND_HOST", "127.0.0.1")
        .env("GATEWAY_PORT", port.to_string())
        .env("STATE_DIR", &state)
        .env("TMPDIR", &state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", executable.display()))?;
    let server = Server { name: "ministack".into(), url: format!("http://127.0.0.1:{port}"), child };
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(300));
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("ministack did not start")
}

const PASSWORD: &str = "Bench-Pass-123";

/// Creates a pool, an SRP client and `users` confirmed users.
fn setup(url: &str, users: usize) -> Result<(String, String)> {
    let mut c = Conn::open(url)?;
    let pool = c.ok("CreateUserPool", &json!({"PoolName": "bench"}), true)?;
    let pool_id = pool["UserPool"]["Id"].as_str().ok_or_else(|| anyhow!("no pool id: {pool}"))?.to_owned();
    let client = c.ok(
        "CreateUserPoolClient",
        &json!({"UserPoolId": pool_id, "ClientName": "bench", "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
        true,
    )?;
    let client_id =
        client["UserPoolClient"]["ClientId"].as_str().ok_or_else(|| anyhow!("no client id: {client}"))?.to_owned();
    for i in 0..users {
        let username = format!("user{i}");
        c.ok(
            "AdminCreateUser",
            &json!({"UserPoolId": pool_id, "Username": username, "MessageAction": "SUPPRESS",
                    "UserAttributes": [{"Name": "email", "Value": format!("{username}@example.com")}]}),
            true,
        )?;
        c.ok(
            "AdminSetUserPassword",
            &json!({"UserPoolId": pool_id, "Username": username, "Password": PASSWORD, "Permanent": true}),
            true,
        )?;
    }
    Ok((pool_id, client_id))
}

/// Client ephemerals each client draws before the timed window and cycles
/// through.
pub const EPHEMERALS_PER_CLIENT: usize = 16;

/// A client ephemeral from 128 bytes of OS randomness.
fn fresh_ephemeral() -> Result<srp_core::ClientEphemeral> {
    let mut random = [0u8; 128];
    getrandom::fill(&mut random).map_err(|e| anyhow!("random: {e}"))?;
    srp_core::ClientEphemeral::from_random(&random).map_err(|e| anyhow!("{e}"))
}

/// One full SRP sign-in; returns the time spent waiting for the server.
fn sign_in(
    c: &mut Conn,
    ephemeral: &srp_core::ClientEphemeral,
    pool_id: &str,
    client_id: &str,
    username: &str,
) -> Result<Duration> {
    let t0 = Instant::now();
    let start = c.ok(
        "InitiateAuth",
        &json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": client_id,
                "AuthParameters": {"USERNAME": username, "SRP_A": ephemeral.srp_a().as_str()}}),
        false,
    )?;
    let mut waited = t0.elapsed();
    let p = &start["ChallengeParameters"];
    let get = |k: &str| p[k].as_str().ok_or_else(|| anyhow!("no {k} in {start}"));
    let user_id = get("USER_ID_FOR_SRP")?;
    let identity = srp_core::Identity::user(pool_id, user_id, PASSWORD).map_err(|e| anyhow!("{e}"))?;
    let challenge =
        srp_core::Challenge { srp_b: get("SRP_B")?, salt: get("SALT")?, secret_block: get("SECRET_BLOCK")? };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let ts = srp_core::Timestamp::from_unix_seconds(now).map_err(|e| anyhow!("{e}"))?;
    let signature = ephemeral.sign(&identity, &challenge, ts.as_str()).map_err(|e| anyhow!("{e}"))?;
    let mut body = json!({"ClientId": client_id, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
        "USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": get("SECRET_BLOCK")?,
        "PASSWORD_CLAIM_SIGNATURE": signature.as_str(), "TIMESTAMP": ts.as_str()}});
    if let Some(session) = start.get("Session") {
        body["Session"] = session.clone();
    }
    let t1 = Instant::now();
    let done = c.ok("RespondToAuthChallenge", &body, false)?;
    waited += t1.elapsed();
    if done["AuthenticationResult"]["AccessToken"].as_str().is_none() {
        bail!("no tokens: {done}");
    }
    Ok(waited)
}

/// The figures of one server.
#[derive(Debug)]
pub struct Figures {
    /// The server's name.
    pub name: String,
    /// Completed sign-ins.
    pub sign_ins: usize,
    /// Failed sign-ins.
    pub errors: usize,
    /// Sign-ins per wall-clock second.
    pub per_second: f64,
    /// Median server latency (both calls), milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Server CPU per sign-in, milliseconds.
    pub cpu_ms: Option<f64>,
    /// The load generator's CPU per sign-in (all clients), milliseconds.
    pub client_cpu_ms: Option<f64>,
}

/// User + system CPU seconds of a process (`/proc/<pid>/stat`).
fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn load(server: &Server, options: &Options) -> Result<Figures> {
    let users = options.clients.max(1);
    let (pool_id, client_id) = setup(&server.url, users)?;
    // Warm up (and check the flow works) before timing.
    sign_in(&mut Conn::open(&server.url)?, &fresh_ephemeral()?, &pool_id, &client_id, "user0")?;
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    // Every client draws its ephemerals and connects, then all start at once.
    let ready = Arc::new(Barrier::new(options.clients + 1));
    let mut threads = Vec::new();
    for i in 0..options.clients {
        let (url, pool_id, client_id) = (server.url.clone(), pool_id.clone(), client_id.clone());
        let (stop, latencies, errors, ready) = (stop.clone(), latencies.clone(), errors.clone(), ready.clone());
        threads.push(std::thread::spawn(move || {
            let prepared = (0..EPHEMERALS_PER_CLIENT)
                .map(|_| fresh_ephemeral())
                .collect::<Result<Vec<_>>>()
                .and_then(|e| Ok((e, Conn::open(&url)?)));
            ready.wait();
            let (ephemerals, mut conn) = match prepared {
                Ok(p) => p,
                Err(e) => return errors.lock().map(|mut v| v.push(e.to_string())).unwrap_or(()),
            };
            let username = format!("user{i}");
            let mut mine = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let ephemeral = &ephemerals[n % ephemerals.len()];
                n += 1;
                match sign_in(&mut conn, ephemeral, &pool_id, &client_id, &username) {
                    Ok(d) => mine.push(d),
                    Err(e) => {
                        errors.lock().map(|mut v| v.push(e.to_string())).unwrap_or(());
                        if let Ok(c) = Conn::open(&url) {
                            conn = c;
                        }
                    }
                }
            }
            latencies.lock().map(|mut v| v.extend(mine)).unwrap_or(());
        }));
    }
    ready.wait();
    let cpu_before = server.cpu_seconds();
    let own_before = process_cpu_seconds("self");
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let own = process_cpu_seconds("self").zip(own_before).map(|(a, b)| a - b);
    let mut lat: Vec<Duration> = latencies.lock().map(|v| v.clone()).unwrap_or_default();
    lat.sort();
    let errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
    if let Some(first) = errors.first() {
        eprintln!("{}: {} errors, first: {first}", server.name, errors.len());
    }
    let pct =
        |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Ok(Figures {
        name: server.name.clone(),
        sign_ins: lat.len(),
        errors: errors.len(),
        per_second: lat.len() as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        cpu_ms: cpu.filter(|_| !lat.is_empty()).map(|c| c * 1000.0 / lat.len() as f64),
        client_cpu_ms: own.filter(|_| !lat.is_empty()).map(|c| c * 1000.0 / lat.len() as f64),
    })
}

/// Loads `n` users into a data directory, restarts the pool on it, and
/// reports the start-up time and resident memory per user.
fn load_time_and_memory(root: &Path, n: usize) -> Result<(f64, f64)> {
    let dir = std::env::temp_dir().join(format!("bench-local-pool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // Write the state file directly through the running pool: create users by
    // the management API in one process, then stop it (state is saved).
    {
        let server = start_local_pool(root, Some(&dir))?;
        let mut c = Conn::open(&server.url)?;
        let pool = c.ok("CreateUserPool", &json!({"PoolName": "big"}), true)?;
        let pool_id = pool["UserPool"]["Id"].as_str().unwrap_or_default().to_owned();
        let started = Instant::now();
        for i in 0..n {
            c.ok(
                "AdminCreateUser",
                &json!({"UserPoolId": pool_id, "Username": format!("u{i}"), "MessageAction": "SUPPRESS",
                        "TemporaryPassword": PASSWORD,
                        "UserAttributes": [{"Name": "email", "Value": format!("u{i}@example.com")}]}),
                true,
            )?;
        }
        eprintln!("  created {n} users in {:.1} s", started.elapsed().as_secs_f64());
        // Give the saver a moment, then stop it gracefully (SIGINT saves).
        std::thread::sleep(Duration::from_millis(600));
        let _ = Command::new("kill").args(["-INT", &server.child.id().to_string()]).status();
        std::thread::sleep(Duration::from_millis(1500));
    }
    let baseline = {
        let empty = std::env::temp_dir().join(format!("bench-local-pool-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&empty);
        let server = start_local_pool(root, Some(&empty))?;
        std::thread::sleep(Duration::from_millis(200));
        let rss = server.rss_bytes().unwrap_or(0);
        let _ = std::fs::remove_dir_all(&empty);
        rss
    };
    let started = Instant::now();
    let server = start_local_pool(root, Some(&dir))?;
    let load_seconds = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(200));
    let rss = server.rss_bytes().unwrap_or(0);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((load_seconds, rss.saturating_sub(baseline) as f64 / n as f64))
}

/// Runs the benchmark and prints the table.
pub fn run(root: &Path, options: &Options) -> Result<()> {
    eprintln!("building local-pool (release)...");
    let status =
        Command::new("cargo").args(["build", "--release", "-q", "-p", "local-pool"]).current_dir(root).status()?;
    if !status.success() {
        bail!("building local-pool failed");
    }
    let mut rows = Vec::new();
    eprintln!("local-pool: {} clients for {} s", options.clients, options.seconds);
    rows.push(load(&start_local_pool(root, None)?, options)?);
    match &options.ministack {
        Some(exe) if exe.exists() => {
            eprintln!("ministack: {} clients for {} s", options.clients, options.seconds);
            match start_ministack(exe).and_then(|s| load(&s, options)) {
                Ok(f) => rows.push(f),
                Err(e) => eprintln!("ministack skipped: {e:#}"),
            }
        }
        Some(exe) => eprintln!("ministack not found at {} (pass --ministack PATH)", exe.display()),
        None => {}
    }
    let ours = rows[0].per_second;
    let ours_cpu = rows[0].cpu_ms;
    println!(
        "\nFull SRP sign-ins (InitiateAuth + RespondToAuthChallenge, tokens issued), {} concurrent clients on this machine",
        options.clients
    );
    println!(
        "{:<12} {:>9} {:>7} {:>11} {:>9} {:>9} {:>13} {:>16} {:>13} {:>10}",
        "server",
        "sign-ins",
        "errors",
        "per second",
        "p50 ms",
        "p99 ms",
        "CPU/sign-in",
        "per CPU-second",
        "client CPU",
        "ours is"
    );
    let ms = |v: Option<f64>| v.map_or("-".into(), |c| format!("{c:.2} ms"));
    for f in &rows {
        let per_cpu = f.cpu_ms.map(|c| 1000.0 / c);
        println!(
            "{:<12} {:>9} {:>7} {:>11.1} {:>9.2} {:>9.2} {:>13} {:>16} {:>13} {:>9.1}x",
            f.name,
            f.sign_ins,
            f.errors,
            f.per_second,
            f.p50_ms,
            f.p99_ms,
            ms(f.cpu_ms),
            per_cpu.map_or("-".into(), |p| format!("{p:.0}")),
            ms(f.client_cpu_ms),
            if f.per_second > 0.0 { ours / f.per_second } else { f64::INFINITY },
        );
    }
    if let (Some(a), Some(b)) = (ours_cpu, rows.get(1).and_then(|r| r.cpu_ms)) {
        println!("server CPU per sign-in: ministack / local-pool = {:.1}x", b / a);
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if let Some(a) = ours_cpu {
        println!(
            "local-pool on all {cores} cores with the clients on another machine: about {:.0} sign-ins/s \
             (projected from its CPU per sign-in)",
            cores as f64 * 1000.0 / a
        );
    }
    if options.load_users > 0 {
        eprintln!("\nloading {} users ...", options.load_users);
        let (secs, per_user) = load_time_and_memory(root, options.load_users)?;
        println!(
            "\n{} users: start-up from --data-dir {:.2} s; resident memory {:.0} bytes per user",
            options.load_users, secs, per_user
        );
    }
    Ok(())
}
