//! The `amplify-auth` binary, run as a user runs it: the quickstart, and the
//! authenticator against its local pool, one process per command (so the
//! pending sign-in and the tokens must survive between processes).

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_amplify-auth");
const PW: &str = "Cli-Passw0rd!";

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("amplify-auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with `args` on the data directory `home`; returns stdout,
/// failing the test (with stderr) when the command fails.
fn run(home: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = try_run(home, args, env);
    assert!(out.0, "amplify-auth {args:?} failed:\n{}", out.2);
    out.1
}

fn try_run(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("AMPLIFY_AUTH_HOME", home).env("LOCAL_POOL_QUIET", "1");
    for var in ["AMPLIFY_AUTH_CONFIG", "AMPLIFY_AUTH_USER_POOL_ID", "AMPLIFY_AUTH_CLIENT_ID", "AMPLIFY_AUTH_ENDPOINT"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn last_code(home: &Path, user: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(&run(home, &["local-pool", "outbox", "--user", user], &[])).unwrap();
    json.as_array().unwrap().last().unwrap()["code"].as_str().unwrap().to_owned()
}

#[test]
fn quickstart_tours_the_api() {
    let out = Command::new(BIN).arg("quickstart").env("LOCAL_POOL_QUIET", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "nextStep: CONFIRM_SIGN_UP (code sent by EMAIL",
        "isSignedIn: true, nextStep: DONE",
        "access token: token_use=access",
        "new access token issued at",
        "nextStep: CONFIRM_ATTRIBUTE_WITH_CODE",
        "email: quickstart2@example.com (verified: true)",
        "otpauth://totp/amplify-auth%20quickstart:quickstart-user?secret=",
        "MFA enabled: [\"TOTP\"], preferred: Some(\"TOTP\")",
        "isSignedIn: false, nextStep: CONFIRM_SIGN_IN_WITH_TOTP_CODE",
        "signedIn, tokenRefresh, signedOut, signedIn, signedOut",
        "done:",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

#[test]
fn authenticator_commands_against_the_local_pool() {
    let home = temp_dir("auth");
    let pw = [("AMPLIFY_AUTH_PASSWORD", PW)];

    // Sign up, confirm with the code from the outbox, sign in.
    let out = run(&home, &["sign-up", "rae", "--email", "rae@example.com"], &pw);
    assert!(out.contains("nextStep: CONFIRM_SIGN_UP"), "{out}");
    let code = last_code(&home, "rae");
    assert!(run(&home, &["confirm-sign-up", "rae", &code], &[]).contains("DONE"));
    let (ok, _, err) = try_run(&home, &["sign-in", "rae"], &[("AMPLIFY_AUTH_PASSWORD", "Wr0ng-Passw0rd!")]);
    assert!(!ok && err.contains("NotAuthorizedException") && err.contains("hint: check the username"), "{err}");
    // Scripted: the password on standard input, JSON output.
    let mut child = Command::new(BIN)
        .args(["--output", "json", "--password-stdin", "sign-in", "rae"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .env_remove("AMPLIFY_AUTH_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{PW}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["isSignedIn"], true);
    assert_eq!(json["nextStep"]["signInStep"], "DONE");
    let (ok, _, err) = try_run(&home, &["sign-in", "rae"], &pw);
    assert!(!ok && err.contains("hint: run `amplify-auth sign-out` first"), "{err}");
    let who: serde_json::Value = serde_json::from_str(&run(&home, &["--output", "json", "whoami"], &[])).unwrap();
    assert_eq!(who["username"], "rae");

    // The session persists between processes.
    assert!(run(&home, &["whoami"], &[]).starts_with("rae ("));
    let session: serde_json::Value = serde_json::from_str(&run(&home, &["session", "--force-refresh"], &[])).unwrap();
    assert_eq!(session["signedIn"], true);
    assert_eq!(session["signInDetails"]["authFlowType"], "USER_SRP_AUTH");
    let token = run(&home, &["print-access-token"], &[]);
    assert_eq!(token.trim().split('.').count(), 3);
    let attrs: serde_json::Value = serde_json::from_str(&run(&home, &["attributes", "get"], &[])).unwrap();
    assert_eq!(attrs["email"], "rae@example.com");

    // A pool kept running (`local-pool start`): the other commands use it,
    // so a sign-in's second step can be another process.
    let server = Server::start(&home);
    assert!(server.endpoint.starts_with("http://127.0.0.1:"), "{}", server.endpoint);
    assert!(run(&home, &["local-pool", "status"], &[]).contains("running at http://127.0.0.1:"));

    // TOTP enrolment, then a sign-in whose second step is another process.
    let out = run(&home, &["mfa", "setup-totp"], &[]);
    let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().to_owned();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let code = local_pool::current_totp(&secret, now()).unwrap();
    run(&home, &["mfa", "verify-totp", &code], &[]);
    run(&home, &["mfa", "set", "--totp", "preferred"], &[]);
    assert!(run(&home, &["mfa", "show"], &[]).contains("preferred: TOTP"));
    assert!(run(&home, &["sign-out"], &[]).contains("signed out"));
    let session: serde_json::Value = serde_json::from_str(&run(&home, &["session"], &[])).unwrap();
    assert_eq!(session["signedIn"], false);
    let out = run(&home, &["sign-in", "rae"], &pw);
    assert!(out.contains("nextStep: CONFIRM_SIGN_IN_WITH_TOTP_CODE"), "{out}");
    let code = local_pool::current_totp(&secret, now()).unwrap();
    let out = run(&home, &["confirm-sign-in", &code], &[]);
    assert!(out.contains("isSignedIn: true"), "{out}");

    // Stop the server (SIGINT, as Ctrl-C); commands go back to in-process.
    server.stop();
    assert!(run(&home, &["local-pool", "status"], &[]).contains("not running"));
    assert!(run(&home, &["whoami"], &[]).starts_with("rae ("));
    // Without a running server too: the in-process pool keeps the
    // unfinished sign-in in its data directory between commands.
    run(&home, &["sign-out"], &[]);
    let out = run(&home, &["sign-in", "rae"], &pw);
    assert!(out.contains("nextStep: CONFIRM_SIGN_IN_WITH_TOTP_CODE"), "{out}");
    let code = local_pool::current_totp(&secret, now()).unwrap();
    assert!(run(&home, &["confirm-sign-in", &code], &[]).contains("isSignedIn: true"));

    // Bad input is an error message, not a crash.
    let (ok, _, err) = try_run(&home, &["attributes", "update", "no-equals-sign"], &[]);
    assert!(!ok && err.contains("name=value"), "{err}");
    let (ok, _, err) = try_run(&home, &["--user-pool-id", "bad", "whoami"], &[]);
    assert!(!ok && err.contains("client-id"), "{err}");

    // The token file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("tokens-"))
            .unwrap();
        assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    run(&home, &["delete-user"], &[]);
    let (ok, _, err) = try_run(&home, &["whoami"], &[]);
    assert!(!ok && err.contains("signed in"), "{err}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// On a terminal, `sign-in` asks for the password (hidden) and then for
/// each step's answer until DONE. A pseudo-terminal comes from util-linux's
/// `script`; the answers are typed ahead on its input.
#[test]
fn interactive_sign_in_walks_the_steps_on_a_terminal() {
    let home = temp_dir("tty");
    let pw = [("AMPLIFY_AUTH_PASSWORD", PW)];
    run(&home, &["local-pool", "create-user", "tia"], &pw);
    run(&home, &["sign-in", "tia"], &pw);
    let out = run(&home, &["mfa", "setup-totp"], &[]);
    let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().to_owned();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    run(&home, &["mfa", "verify-totp", &local_pool::current_totp(&secret, now()).unwrap()], &[]);
    run(&home, &["mfa", "set", "--totp", "preferred"], &[]);
    run(&home, &["sign-out"], &[]);

    let code = local_pool::current_totp(&secret, now()).unwrap();
    let mut child = Command::new("script")
        .args(["-qec", &format!("{BIN} sign-in tia"), "/dev/null"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .env_remove("AMPLIFY_AUTH_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` provides the pseudo-terminal");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{PW}\n{code}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let password_prompt = text.find("Password:").expect("a password prompt");
    let mfa_step = text.find("nextStep: CONFIRM_SIGN_IN_WITH_TOTP_CODE").expect("the MFA step");
    let code_prompt = text.find("Code from the authenticator app:").expect("a code prompt");
    let done = text.find("nextStep: DONE").expect("signed in");
    assert!(password_prompt < mfa_step && mfa_step < code_prompt && code_prompt < done, "{text}");
    assert!(run(&home, &["whoami"], &[]).starts_with("tia ("));
    std::fs::remove_dir_all(&home).unwrap();
}

/// The remaining subcommands, scripted: resend-code, attributes update /
/// verify / send-code / delete, devices, change-password, reset-password.
#[test]
fn account_subcommands_scripted() {
    let home = temp_dir("account");
    let pw = [("AMPLIFY_AUTH_PASSWORD", PW)];
    run(&home, &["sign-up", "zoe", "--email", "zoe@example.com"], &pw);
    let out = run(&home, &["resend-code", "zoe"], &[]);
    assert!(out.contains("code sent to"), "{out}");
    let code = last_code(&home, "zoe");
    run(&home, &["confirm-sign-up", "zoe", &code], &[]);
    run(&home, &["sign-in", "zoe"], &pw);

    let out = run(&home, &["attributes", "update", "email=zoe2@example.com", "name=Zoe"], &[]);
    assert!(out.contains("name: DONE") && out.contains("email: CONFIRM_ATTRIBUTE_WITH_CODE"), "{out}");
    let code = last_code(&home, "zoe");
    assert!(run(&home, &["attributes", "verify", "email", &code], &[]).contains("verified"));
    assert!(run(&home, &["attributes", "send-code", "email"], &[]).contains("code sent to"));
    run(&home, &["attributes", "delete", "name"], &[]);
    let attrs: serde_json::Value = serde_json::from_str(&run(&home, &["attributes", "get"], &[])).unwrap();
    assert_eq!(attrs["email"], "zoe2@example.com");
    assert!(attrs.get("name").is_none(), "{attrs}");

    // The CLI's local pool does not track devices: listing works and is empty.
    assert_eq!(run(&home, &["devices", "list"], &[]).trim(), "");
    let (ok, _, err) = try_run(&home, &["devices", "remember"], &[]);
    assert!(!ok && err.contains("no device key"), "{err}");

    let new_pw = "Cli-N3w-Passw0rd!";
    run(&home, &["change-password"], &[("AMPLIFY_AUTH_PASSWORD", PW), ("AMPLIFY_AUTH_NEW_PASSWORD", new_pw)]);
    run(&home, &["sign-out"], &[]);
    let (ok, _, err) = try_run(&home, &["sign-in", "zoe"], &pw);
    assert!(!ok && err.contains("NotAuthorizedException"), "{err}");
    run(&home, &["sign-in", "zoe"], &[("AMPLIFY_AUTH_PASSWORD", new_pw)]);
    run(&home, &["sign-out", "--global"], &[]);

    let out = run(&home, &["reset-password", "zoe"], &[]);
    assert!(out.contains("CONFIRM_RESET_PASSWORD_WITH_CODE"), "{out}");
    let code = last_code(&home, "zoe");
    let third = "Cli-Th1rd-Passw0rd!";
    run(&home, &["confirm-reset-password", "zoe", &code], &[("AMPLIFY_AUTH_NEW_PASSWORD", third)]);
    assert!(run(&home, &["sign-in", "zoe"], &[("AMPLIFY_AUTH_PASSWORD", third)]).contains("isSignedIn: true"));
    std::fs::remove_dir_all(&home).unwrap();
}

/// A program under a pseudo-terminal (util-linux `script`), driven as a
/// person would: wait for a prompt, then type.
/// `amplify-auth local-pool start` on `home`'s data directory (the other
/// commands then use it); killed when dropped, so a failing test leaves no
/// server behind.
struct Server {
    child: Option<std::process::Child>,
    endpoint: String,
    /// Kept open: the server prints more after its address, and a closed
    /// pipe would make that print fail.
    _stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(home: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["local-pool", "start", "--port", "0"])
            .env("AMPLIFY_AUTH_HOME", home)
            .env("LOCAL_POOL_QUIET", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let endpoint = first.strip_prefix("local pool listening on ").expect("the server's address").to_owned();
        Self { child: Some(child), endpoint, _stdout: lines }
    }

    /// Ctrl-C, as a person stops it: the server saves and exits 0.
    fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
        assert!(child.wait().unwrap().success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Pty {
    child: std::process::Child,
    input: std::process::ChildStdin,
    transcript: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Pty {
    fn spawn(home: &Path, args: &str) -> Self {
        // `exec`: the CLI replaces script's shell, so it alone gets the
        // terminal's signals and script returns the CLI's own exit status.
        // (CI once saw 130 after the CLI had printed its cancel message, a
        // status the CLI does not return there; the shell, which also gets
        // Ctrl-C, is the other candidate. Not reproduced locally.)
        let mut child = Command::new("script")
            .args(["-qec", &format!("exec {BIN} {args}"), "/dev/null"])
            .env("AMPLIFY_AUTH_HOME", home)
            .env("LOCAL_POOL_QUIET", "1")
            .env("TERM", "xterm")
            .env_remove("AMPLIFY_AUTH_PASSWORD")
            .env_remove("AMPLIFY_AUTH_NEW_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` provides the pseudo-terminal");
        let input = child.stdin.take().unwrap();
        let mut output = child.stdout.take().unwrap();
        let transcript = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = transcript.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut output, &mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, input, transcript }
    }

    /// Waits (at most 20 s) until the output shows `text` `count` times.
    fn expect(&self, text: &str, count: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let seen = self.transcript.lock().unwrap().clone();
            if seen.matches(text).count() >= count {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "no {text:?} within 20 s; the terminal shows:\n{seen}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        std::io::Write::write_all(&mut self.input, format!("{line}\n").as_bytes()).unwrap();
        std::io::Write::flush(&mut self.input).unwrap();
    }

    /// Waits for the program to end; its success and the whole transcript.
    fn finish(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let text = self.transcript.lock().unwrap().clone();
        (status.success(), text)
    }
}

const SPINNER_FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// No spinner frame is left on screen: on every line, each frame is
/// erased (`ESC [2K`) before anything else is shown.
fn assert_spinner_erased(text: &str) {
    for line in text.split('\n') {
        let visible = line.rsplit("\x1b[2K").next().unwrap_or("");
        assert!(!visible.contains(SPINNER_FRAMES), "a spinner frame stayed on the line {line:?} in:\n{text}");
    }
}

/// Interactive sign-up: the password asked without echo, then the code
/// (read here from the running local pool's outbox) typed at the prompt;
/// a spinner while waiting, erased before each prompt and result.
#[test]
fn interactive_sign_up_asks_for_the_password_and_the_code() {
    let home = temp_dir("tty-signup");
    let server = Server::start(&home);

    let mut pty = Pty::spawn(&home, "sign-up sam --email sam@example.com");
    pty.expect("Password:", 1);
    pty.type_line(PW);
    pty.expect("Confirmation code:", 1);
    // A wrong code is refused and asked again.
    pty.type_line("000000");
    pty.expect("Confirmation code:", 2);
    let code = last_code(&home, "sam");
    pty.type_line(&code);
    let (ok, text) = pty.finish();
    assert!(ok, "{text}");
    assert!(!text.contains(PW), "the password was echoed:\n{text}");
    let step = text.find("nextStep: CONFIRM_SIGN_UP").expect("the confirm step");
    let prompt = text.find("Confirmation code:").expect("a code prompt");
    let done = text.find("nextStep: DONE").expect("confirmed");
    assert!(step < prompt && prompt < done, "{text}");
    assert!(text.contains("CodeMismatchException"), "{text}");
    assert!(text.contains("sam is confirmed"), "{text}");
    assert!(text.contains("⠋ Signing up…") && text.contains("⠋ Confirming…"), "no spinner:\n{text}");
    assert_spinner_erased(&text);

    // The account works; JSON output on a terminal has no spinner.
    run(&home, &["sign-in", "sam"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let (ok, text) = Pty::spawn(&home, "--output json whoami").finish();
    assert!(ok && text.contains("\"username\":\"sam\""), "{text}");
    assert!(!text.contains(SPINNER_FRAMES), "a spinner in JSON output:\n{text}");

    server.stop();
    std::fs::remove_dir_all(&home).unwrap();
}

/// A user made by an administrator with a temporary password: the
/// interactive sign-in asks for a new one (hidden) and ends signed in.
#[test]
fn interactive_sign_in_sets_a_new_password_when_required() {
    let home = temp_dir("tty-newpw");
    let out = run(&home, &["local-pool", "create-user", "nia", "--temporary"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    assert!(out.contains("FORCE_CHANGE_PASSWORD"), "{out}");
    let new_pw = "Cli-N3w-Passw0rd!";

    let mut pty = Pty::spawn(&home, "sign-in nia");
    pty.expect("Password:", 1);
    pty.type_line(PW);
    pty.expect("New password:", 1);
    pty.type_line(new_pw);
    let (ok, text) = pty.finish();
    assert!(ok, "{text}");
    assert!(!text.contains(PW) && !text.contains(new_pw), "a password was echoed:\n{text}");
    let step = text.find("nextStep: CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED").expect("the challenge");
    let prompt = text.find("New password:").expect("a new-password prompt");
    let done = text.find("nextStep: DONE").expect("signed in");
    assert!(step < prompt && prompt < done, "{text}");
    assert_spinner_erased(&text);
    assert!(run(&home, &["whoami"], &[]).starts_with("nia ("));

    // The new password is now the password.
    run(&home, &["sign-out"], &[]);
    let (ok, _, err) = try_run(&home, &["sign-in", "nia"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    assert!(!ok && err.contains("NotAuthorizedException"), "{err}");
    assert!(run(&home, &["sign-in", "nia"], &[("AMPLIFY_AUTH_PASSWORD", new_pw)]).contains("nextStep: DONE"));
    std::fs::remove_dir_all(&home).unwrap();
}

/// One blocking HTTP/1.1 exchange with an absolute `http://` URL: status,
/// `Location` header, body.
fn http(method: &str, url: &str, form: Option<&str>) -> (u16, Option<String>, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, target) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    if let Some(body) = form {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_owned());
    (status, location, body.to_owned())
}

fn form_escape(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The hidden `request` field of a hosted-UI sign-in page.
fn request_field(page: &str) -> String {
    let marker = "name=\"request\" value=\"";
    let start = page.find(marker).expect("the sign-in form") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// Plays the browser on the hosted UI at `url`: the sign-in page, the form
/// with `username` and `password` (a redirect expected), then that
/// redirect to the CLI's loopback listener.
fn sign_in_on_hosted_ui(url: &str, username: &str, password: &str) {
    let (status, _, page) = http("GET", url, None);
    assert_eq!(status, 200, "{page}");
    let pool = &url[..url.find("/oauth2/").unwrap()];
    let form = format!(
        "request={}&username={username}&password={}",
        form_escape(&request_field(&page)),
        form_escape(password)
    );
    let (status, location, body) = http("POST", &format!("{pool}/login"), Some(&form));
    assert_eq!(status, 302, "{body}");
    assert_eq!(http("GET", &location.unwrap(), None).0, 200);
}

/// `sign-in --browser --no-open`: the test plays the browser with raw HTTP
/// on the URL the CLI prints (the hosted UI's page, the form post, the
/// redirect to the CLI's loopback listener); the CLI ends signed in.
#[test]
fn browser_sign_in_through_the_hosted_ui() {
    let home = temp_dir("browser");
    run(&home, &["local-pool", "create-user", "ada", "--email", "ada@example.com"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let mut child = Command::new(BIN)
        .args(["sign-in", "--browser", "--no-open", "--timeout", "60", "ada"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("http://")).expect("the authorize URL");
    assert!(url.contains("/oauth2/authorize?") && url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("login_hint=ada") && url.contains("identity_provider=COGNITO"), "{url}");
    assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"), "{url}");

    // The browser: the page, a wrong password (shown on the page), the right one.
    let (status, _, page) = http("GET", &url, None);
    assert_eq!(status, 200, "{page}");
    let request = request_field(&page);
    let pool = &url[..url.find("/oauth2/").unwrap()];
    let post = |password: &str| {
        let form = format!("request={}&username=ada&password={}", form_escape(&request), form_escape(password));
        http("POST", &format!("{pool}/login"), Some(&form))
    };
    let (status, _, body) = post("Not-the-Passw0rd!");
    assert_eq!(status, 400);
    assert!(body.contains("Incorrect username or password."), "{body}");
    let (status, location, body) = post(PW);
    assert_eq!(status, 302, "{body}");
    let location = location.unwrap();
    assert!(location.starts_with("http://127.0.0.1:") && location.contains("code="), "{location}");
    let (status, _, landing) = http("GET", &location, None);
    assert_eq!(status, 200);
    assert!(landing.contains("close this window"), "{landing}");

    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    let (rest, err) = (rest.join("\n"), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{rest}\n{err}");
    assert!(rest.contains("isSignedIn: true") && rest.contains("nextStep: DONE"), "{rest}");
    assert!(rest.contains("signed in as ada ("), "{rest}");

    // The session is stored like any other; its scopes reach the user API.
    assert!(run(&home, &["whoami"], &[]).starts_with("ada ("));
    let attrs: serde_json::Value = serde_json::from_str(&run(&home, &["attributes", "get"], &[])).unwrap();
    assert_eq!(attrs["email"], "ada@example.com");
    let session: serde_json::Value = serde_json::from_str(&run(&home, &["session", "--force-refresh"], &[])).unwrap();
    assert_eq!(session["signedIn"], true);
    // Signed in: a second browser sign-in is refused with advice.
    let (ok, _, err) = try_run(&home, &["sign-in", "--browser", "--no-open", "--timeout", "5"], &[]);
    assert!(!ok && err.contains("hint: run `amplify-auth sign-out` first"), "{err}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// `sign-in --browser` without `--no-open` starts the system browser
/// (`xdg-open`) with the URL it prints: a stand-in `xdg-open` on `PATH`
/// records the URL, the test plays the browser on it, and the CLI ends
/// signed in. With no opener at all, the CLI says so and still waits.
#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn browser_sign_in_starts_the_system_browser_with_the_url() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = temp_dir("browser-opener");
    run(&home, &["local-pool", "create-user", "ida"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let fake_bin = home.join("fake-bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let opened = home.join("opened-url");
    let opener = fake_bin.join("xdg-open");
    let (tmp, done) = (opened.with_extension("tmp"), opened.display().to_string());
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}' && mv '{}' '{done}'\n", tmp.display(), tmp.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake_bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new(BIN)
        .args(["sign-in", "--browser", "--timeout", "60", "ida"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .env("PATH", &path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let printed = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("http://")).expect("the authorize URL");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !opened.exists() {
        assert!(std::time::Instant::now() < deadline, "xdg-open was not started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let url = std::fs::read_to_string(&opened).unwrap();
    assert_eq!(url, printed, "the browser gets the URL the CLI prints");

    sign_in_on_hosted_ui(&url, "ida", PW);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n{}", rest.join("\n"), String::from_utf8_lossy(&out.stderr));
    assert!(rest.join("\n").contains("signed in as ida ("), "{rest:?}");
    // (Nobody comes back from the hosted UI's /logout here: a short wait.)
    run(&home, &["sign-out", "--no-open", "--timeout", "1"], &[]);

    // No browser to start: said on stderr; the wait goes on until its timeout.
    let empty = home.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(BIN)
        .args(["sign-in", "--browser", "--timeout", "1"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .env("PATH", &empty)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("could not start a browser; open the URL above yourself"), "{err}");
    assert!(err.contains("no redirect arrived"), "{err}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// `sign-in --browser --provider Google` against a running local pool
/// (`local-pool start`, so the CLI sets the client up over HTTP): the
/// pool's mock identity provider stands in for Google; the user signs in
/// as `Google_<subject>`.
#[test]
fn browser_sign_in_with_a_federated_provider() {
    let home = temp_dir("browser-google");
    let server = Server::start(&home);
    let pool = server.endpoint.clone();

    let mut child = Command::new(BIN)
        .args(["--output", "json", "sign-in", "--browser", "--no-open", "--provider", "Google", "--timeout", "60"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let start: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let url = start["authorizeUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{pool}/oauth2/authorize?")) && url.contains("identity_provider=Google"), "{url}");

    // The hosted UI hands over to the mock Google, whose consent page posts back.
    let (status, location, body) = http("GET", &url, None);
    assert_eq!(status, 302, "{body}");
    let location = location.unwrap();
    let consent_url = if location.starts_with('/') { format!("{pool}{location}") } else { location };
    assert!(consent_url.contains("/idp/Google/"), "{consent_url}");
    let (status, _, page) = http("GET", &consent_url, None);
    assert_eq!(status, 200, "{page}");
    let marker = "name=\"state\" value=\"";
    let start = page.find(marker).expect("the consent form") + marker.len();
    let state = page[start..].split('"').next().unwrap().to_owned();
    let form = format!("state={}&subject=12345&email=fed%40example.com&action=continue", form_escape(&state));
    let (status, location, body) = http("POST", &format!("{pool}/oauth2/idpresponse"), Some(&form));
    assert_eq!(status, 302, "{body}");
    let (status, _, _) = http("GET", &location.unwrap(), None);
    assert_eq!(status, 200);

    let result: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(result["isSignedIn"], true);
    assert_eq!(result["nextStep"]["signInStep"], "DONE");
    let who: serde_json::Value = serde_json::from_str(&run(&home, &["--output", "json", "whoami"], &[])).unwrap();
    assert_eq!(who["username"], "Google_12345");
    let attrs: serde_json::Value = serde_json::from_str(&run(&home, &["attributes", "get"], &[])).unwrap();
    assert_eq!(attrs["email"], "fed@example.com");

    server.stop();
    std::fs::remove_dir_all(&home).unwrap();
}

/// `--provider` goes into the authorize URL; with no redirect the wait
/// ends at `--timeout` with a non-zero exit and advice, leaving nothing
/// signed in.
#[test]
fn browser_sign_in_names_the_provider_and_times_out_cleanly() {
    let home = temp_dir("browser-timeout");
    let started = std::time::Instant::now();
    let (ok, out, err) =
        try_run(&home, &["sign-in", "--browser", "--no-open", "--provider", "Google", "--timeout", "1"], &[]);
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(out.contains("identity_provider=Google"), "{out}");
    assert!(!ok && err.contains("no redirect arrived") && err.contains("hint:"), "{err}");
    let (ok, _, err) = try_run(&home, &["whoami"], &[]);
    assert!(!ok && err.contains("signed in"), "{err}");
    // Ctrl-C (SIGINT) while waiting ends it at once, cleanly.
    let mut child = Command::new(BIN)
        .args(["sign-in", "--browser", "--no-open", "--timeout", "60"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.by_ref().map(|l| l.unwrap()).any(|l| l.starts_with("http://")));
    let started = std::time::Instant::now();
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("sign-in cancelled"), "{err}");
    // --provider without --browser is a usage error.
    let (ok, _, err) = try_run(&home, &["sign-in", "x", "--provider", "Google"], &[]);
    assert!(!ok && err.contains("--browser"), "{err}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// Signs `user` in with `sign-in --browser --no-open` on the data directory
/// `home`, playing the browser over HTTP (the hosted UI's form, then the
/// redirect to the CLI's listener).
fn browser_sign_in(home: &Path, user: &str) {
    let mut child = Command::new(BIN)
        .args(["sign-in", "--browser", "--no-open", "--timeout", "60", user])
        .env("AMPLIFY_AUTH_HOME", home)
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("http://")).expect("the authorize URL");
    sign_in_on_hosted_ui(&url, user, PW);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n{}", rest.join("\n"), String::from_utf8_lossy(&out.stderr));
}

/// A query parameter of `url`, percent-decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let value = query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")))?;
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    Some(String::from_utf8(out).unwrap())
}

/// After `sign-in --browser`, `sign-out --no-open` prints the hosted UI's
/// `/logout` URL (this client, a loopback sign-out URL of the CLI) and
/// waits; the test's "browser" follows it through the pool back to the
/// CLI, which then reports the hosted UI signed out too. JSON output says
/// the same in two lines.
#[test]
fn sign_out_after_a_browser_sign_in_ends_the_hosted_ui_session() {
    let home = temp_dir("browser-sign-out");
    run(&home, &["local-pool", "create-user", "bo"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let status = run(&home, &["local-pool", "status"], &[]);
    let client_id = status.lines().find_map(|l| l.strip_prefix("app client: ")).unwrap().to_owned();
    browser_sign_in(&home, "bo");

    let mut child = Command::new(BIN)
        .args(["sign-out", "--no-open", "--timeout", "60"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("http://")).expect("the /logout URL");
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/logout?"), "{url}");
    assert_eq!(query_param(&url, "client_id").as_deref(), Some(client_id.as_str()), "{url}");
    let logout_uri = query_param(&url, "logout_uri").unwrap();
    assert!(logout_uri.starts_with("http://127.0.0.1:") && logout_uri.ends_with("/signed-out"), "{logout_uri}");
    // Local state is already cleared while the CLI waits for the browser.
    let session: serde_json::Value = serde_json::from_str(&run(&home, &["session"], &[])).unwrap();
    assert_eq!(session["signedIn"], false);

    // The browser: the pool's /logout redirects to the CLI's listener.
    let (status, location, body) = http("GET", &url, None);
    assert_eq!(status, 302, "{body}");
    assert_eq!(location.as_deref(), Some(logout_uri.as_str()));
    let (status, _, landing) = http("GET", &logout_uri, None);
    assert_eq!(status, 200, "{landing}");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    let (rest, err) = (rest.join("\n"), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{rest}\n{err}");
    assert!(rest.contains("signed out (hosted UI too)"), "{rest}\n{err}");
    let session: serde_json::Value = serde_json::from_str(&run(&home, &["session"], &[])).unwrap();
    assert_eq!(session["signedIn"], false);
    // Signed out: the next sign-out is the ordinary one.
    let out = run(&home, &["sign-out"], &[]);
    assert!(out.contains("signed out") && !out.contains("/logout"), "{out}");
    // The browser sign-in and sign-out sent the client's settings back whole
    // (UpdateUserPoolClient resets what it is not given): its sign-in flows
    // beyond the defaults still work.
    for flow in [&["--flow", "USER_PASSWORD_AUTH"][..], &["--flow", "USER_AUTH", "--preferred-challenge", "PASSWORD"]] {
        let out = run(&home, &[&["sign-in", "bo"], flow].concat(), &[("AMPLIFY_AUTH_PASSWORD", PW)]);
        assert!(out.contains("isSignedIn: true"), "{flow:?}: {out}");
        run(&home, &["sign-out"], &[]);
    }

    // JSON: the URL first, then the result with whether the browser came back.
    browser_sign_in(&home, "bo");
    let mut child = Command::new(BIN)
        .args(["--output", "json", "sign-out", "--no-open", "--timeout", "60"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let url = first["logoutUrl"].as_str().unwrap().to_owned();
    assert_eq!(query_param(&url, "logout_uri").as_deref(), first["logoutRedirectUri"].as_str(), "{first}");
    let (status, location, _) = http("GET", &url, None);
    assert_eq!(status, 302);
    assert_eq!(http("GET", &location.unwrap(), None).0, 200);
    let result: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(result["signedOut"], true);
    assert_eq!(result["browserReturned"], true);
    assert_eq!(result["logoutUrl"].as_str(), Some(url.as_str()));
    std::fs::remove_dir_all(&home).unwrap();
}

/// Nobody visits the `/logout` URL: the wait ends at `--timeout` with exit
/// status 0 (local state is cleared) and the advice to open the URL. An
/// SRP sign-in's sign-out prints no `/logout` URL.
#[test]
fn sign_out_after_a_browser_sign_in_times_out_cleanly_and_srp_sign_out_has_no_logout_url() {
    let home = temp_dir("browser-sign-out-timeout");
    run(&home, &["local-pool", "create-user", "cy"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    browser_sign_in(&home, "cy");
    let started = std::time::Instant::now();
    let (ok, out, err) = try_run(&home, &["sign-out", "--no-open", "--timeout", "1"], &[]);
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("/logout?client_id="), "{out}");
    assert!(out.contains("the hosted UI session may remain") && out.contains("To end it, open: http://"), "{out}");
    assert!(!out.contains("hosted UI too"), "{out}");
    let session: serde_json::Value = serde_json::from_str(&run(&home, &["session"], &[])).unwrap();
    assert_eq!(session["signedIn"], false);

    // An ordinary sign-in (SRP): sign-out is as always, with no /logout URL.
    run(&home, &["sign-in", "cy"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let started = std::time::Instant::now();
    let out = run(&home, &["sign-out", "--no-open"], &[]);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(out.trim(), "signed out", "{out}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// Ctrl-C on a terminal while a command waits on the network (a server
/// that accepts and never answers): the spinner line is erased, the CLI
/// says it was interrupted and exits with status 130.
#[test]
fn interactive_ctrl_c_erases_the_spinner() {
    let home = temp_dir("tty-interrupt");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Keep each connection open without answering, until the CLI goes.
        let mut open = Vec::new();
        for stream in silent.incoming().take(4) {
            let Ok(stream) = stream else { break };
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            // Returns 0 when the CLI has closed the connection.
            while std::io::Read::read(&mut stream, &mut buf).is_ok_and(|n| n > 0) {}
            open.push(stream);
        }
    });
    let args =
        format!("--user-pool-id us-east-1_SilentP00l --client-id silentclient123 --endpoint {endpoint} sign-in sil");
    let mut pty = Pty::spawn(&home, &args);
    pty.expect("Password:", 1);
    pty.type_line(PW);
    pty.expect("Signing in…", 1);
    // Let a frame or two be drawn, then Ctrl-C as typed on the terminal.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    std::io::Write::write_all(&mut pty.input, b"\x03").unwrap();
    std::io::Write::flush(&mut pty.input).unwrap();
    let status = pty.child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    std::thread::sleep(std::time::Duration::from_millis(50));
    let text = pty.transcript.lock().unwrap().clone();
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(text.contains("amplify-auth: interrupted"), "{text}");
    assert_spinner_erased(&text);
    drop(held);

    // The browser wait handles Ctrl-C itself, on a terminal too: the
    // sign-in is cancelled (status 1), not the process interrupted.
    let mut pty = Pty::spawn(&home, "sign-in --browser --no-open --timeout 30");
    pty.expect("Waiting for the browser", 1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::io::Write::write_all(&mut pty.input, b"\x03").unwrap();
    std::io::Write::flush(&mut pty.input).unwrap();
    let status = pty.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let text = pty.transcript.lock().unwrap().clone();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("sign-in cancelled (Ctrl-C)") && !text.contains("interrupted"), "{text}");
    assert_spinner_erased(&text);
    std::fs::remove_dir_all(&home).unwrap();
}

/// Ctrl-C at the code prompt right after an interactive sign-up on the
/// in-process local pool (which saves about 250 ms after a change): the
/// pool's state is saved before the exit, so the new user and its code are
/// there for `confirm-sign-up`.
#[test]
fn ctrl_c_right_after_a_sign_up_keeps_the_in_process_pool_user() {
    let home = temp_dir("tty-interrupt-save");
    let mut pty = Pty::spawn(&home, "sign-up zed --email zed@example.com");
    pty.expect("Password:", 1);
    pty.type_line(PW);
    pty.expect("Confirmation code:", 1);
    std::io::Write::write_all(&mut pty.input, b"\x03").unwrap();
    std::io::Write::flush(&mut pty.input).unwrap();
    let status = pty.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let text = pty.transcript.lock().unwrap().clone();
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(text.contains("amplify-auth: interrupted") && !text.contains("could not save"), "{text}");

    let code = last_code(&home, "zed");
    let out = run(&home, &["confirm-sign-up", "zed", &code], &[]);
    assert!(out.contains("nextStep: DONE"), "{out}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// Ctrl-C at the (hidden) password prompt: the CLI exits 130 and the
/// terminal has echo on again. A shell that survives Ctrl-C (`trap : INT`;
/// its children still get the default action) runs `stty -a` on the same
/// terminal afterwards.
#[test]
fn ctrl_c_at_a_password_prompt_leaves_echo_on() {
    let home = temp_dir("tty-echo");
    let mut child = Command::new("script")
        .args(["-qec", &format!("trap : INT; {BIN} sign-in sam; echo \"status $?\"; stty -a"), "/dev/null"])
        .env("AMPLIFY_AUTH_HOME", &home)
        .env("LOCAL_POOL_QUIET", "1")
        .env("TERM", "xterm")
        .env_remove("AMPLIFY_AUTH_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` provides the pseudo-terminal");
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("Password:") {
        let n = std::io::Read::read(&mut output, &mut buf).unwrap();
        assert!(n > 0, "no password prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::io::Write::write_all(&mut input, b"\x03").unwrap();
    std::io::Write::flush(&mut input).unwrap();
    std::io::Read::read_to_end(&mut output, &mut seen).unwrap();
    assert!(child.wait().unwrap().success());
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("amplify-auth: interrupted") && text.contains("status 130"), "{text}");
    let modes: Vec<&str> = text.split_whitespace().collect();
    assert!(modes.contains(&"echo") && !modes.contains(&"-echo"), "echo left off:\n{text}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// A pool that requires MFA: the scripted sign-in stops at the
/// authenticator set-up step, a wrong first code fails naming Cognito's
/// EnableSoftwareTokenMFAException (with advice) and leaves the pending
/// sign-in answerable, and the right code completes it in a later
/// invocation.
#[test]
fn scripted_totp_set_up_during_sign_in_survives_a_wrong_code() {
    let home = temp_dir("totp-setup");
    run(&home, &["local-pool", "create-user", "mo"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let status = run(&home, &["local-pool", "status"], &[]);
    let pool_id = status.lines().find_map(|l| l.strip_prefix("user pool: ")).unwrap().to_owned();
    let server = Server::start(&home);
    let endpoint = server.endpoint.clone();
    let mfa_on = serde_json::json!({
        "UserPoolId": pool_id, "MfaConfiguration": "ON",
        "SoftwareTokenMfaConfiguration": { "Enabled": true },
    });
    assert_eq!(cognito_call(&endpoint, "SetUserPoolMfaConfig", &mfa_on), 200);

    let out = run(&home, &["sign-in", "mo"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    assert!(out.contains("nextStep: CONTINUE_SIGN_IN_WITH_TOTP_SETUP"), "{out}");
    let secret = out.lines().find_map(|l| l.strip_prefix("secret: ")).unwrap().to_owned();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let good = local_pool::current_totp(&secret, now()).unwrap();
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let (ok, _, err) = try_run(&home, &["confirm-sign-in", wrong], &[]);
    assert!(!ok, "{err}");
    assert!(err.contains("EnableSoftwareTokenMFAException") && err.contains("hint:"), "{err}");
    let good = local_pool::current_totp(&secret, now()).unwrap();
    let out = run(&home, &["confirm-sign-in", &good], &[]);
    assert!(out.contains("nextStep: DONE"), "{out}");
    assert!(run(&home, &["whoami"], &[]).starts_with("mo ("));

    server.stop();
    std::fs::remove_dir_all(&home).unwrap();
}

/// One Cognito JSON call (`X-Amz-Target: AWSCognitoIdentityProviderService.<op>`)
/// to a running local pool; the status.
fn cognito_call(endpoint: &str, op: &str, body: &serde_json::Value) -> u16 {
    use std::io::{Read, Write};
    let authority = endpoint.strip_prefix("http://").unwrap();
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSCognitoIdentityProviderService.{op}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    raw.split(' ').nth(1).unwrap().parse().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A pool configured as Cognito would be (not the CLI's own local pool): the
/// sign-in takes its OAuth settings from `amplify_outputs.json` (fixed
/// loopback callback and sign-out URLs registered on the app client); the
/// sign-out, given only the pool and client ids, finds the hosted UI and
/// the sign-out URL in what the sign-in kept, and listens on that URL.
#[test]
fn sign_out_after_a_browser_sign_in_configured_from_amplify_outputs() {
    let home = temp_dir("browser-sign-out-config");
    run(&home, &["local-pool", "create-user", "di"], &[("AMPLIFY_AUTH_PASSWORD", PW)]);
    let status = run(&home, &["local-pool", "status"], &[]);
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).unwrap().to_owned();
    let (pool_id, client_id) = (field("user pool: "), field("app client: "));
    let server = Server::start(&home);
    let pool = server.endpoint.clone();
    let callback = format!("http://127.0.0.1:{}/", free_port());
    let logout = format!("http://127.0.0.1:{}/bye", free_port());
    let scopes = ["openid", "aws.cognito.signin.user.admin"];
    let update = serde_json::json!({
        "UserPoolId": pool_id, "ClientId": client_id,
        "CallbackURLs": [callback], "LogoutURLs": [logout],
        "AllowedOAuthFlows": ["code"], "AllowedOAuthScopes": scopes,
        "AllowedOAuthFlowsUserPoolClient": true, "SupportedIdentityProviders": ["COGNITO"],
    });
    assert_eq!(cognito_call(&pool, "UpdateUserPoolClient", &update), 200);
    let outputs = serde_json::json!({ "version": "1.3", "auth": {
        "user_pool_id": pool_id, "user_pool_client_id": client_id, "aws_region": "us-east-1",
        "oauth": { "identity_providers": [], "domain": pool, "scopes": scopes, "response_type": "code",
                   "redirect_sign_in_uri": [callback], "redirect_sign_out_uri": [logout] } } });
    let config = home.join("amplify_outputs.json");
    std::fs::write(&config, outputs.to_string()).unwrap();
    // Point the CLI at the server as at Cognito: no local pool of its own.
    let elsewhere = temp_dir("browser-sign-out-config-data");

    let mut child = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "--endpoint", &pool, "--data-dir", elsewhere.to_str().unwrap()])
        .args(["sign-in", "--browser", "--no-open", "--timeout", "60", "di"])
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("http://")).expect("the authorize URL");
    assert_eq!(query_param(&url, "redirect_uri").as_deref(), Some(callback.as_str()), "{url}");
    sign_in_on_hosted_ui(&url, "di", PW);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n{}", rest.join("\n"), String::from_utf8_lossy(&out.stderr));
    let kept = std::fs::read_to_string(elsewhere.join(format!("oauth-{client_id}.json"))).unwrap();
    assert!(kept.contains(&pool) && kept.contains(&logout) && !kept.contains("refresh"), "{kept}");

    // Sign-out with the ids only: the kept settings supply the rest.
    let ids = ["--user-pool-id", &pool_id, "--client-id", &client_id, "--endpoint", &pool];
    let mut child = Command::new(BIN)
        .args(ids)
        .args(["--data-dir", elsewhere.to_str().unwrap(), "sign-out", "--no-open", "--timeout", "60"])
        .env("LOCAL_POOL_QUIET", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.by_ref().map(|l| l.unwrap()).find(|l| l.starts_with("http://")).expect("the /logout URL");
    assert!(url.starts_with(&format!("{pool}/logout?")), "{url}");
    assert_eq!(query_param(&url, "client_id").as_deref(), Some(client_id.as_str()), "{url}");
    assert_eq!(query_param(&url, "logout_uri").as_deref(), Some(logout.as_str()), "{url}");
    let (status, location, body) = http("GET", &url, None);
    assert_eq!(status, 302, "{body}");
    assert_eq!(location.as_deref(), Some(logout.as_str()));
    assert_eq!(http("GET", &logout, None).0, 200);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    let rest = rest.join("\n");
    assert!(out.status.success(), "{rest}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(rest.contains("signed out (hosted UI too)"), "{rest}");
    assert!(!elsewhere.join(format!("oauth-{client_id}.json")).exists());

    server.stop();
    std::fs::remove_dir_all(&home).unwrap();
    std::fs::remove_dir_all(&elsewhere).unwrap();
}
