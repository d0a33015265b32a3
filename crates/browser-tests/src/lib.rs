//! A small harness for end-to-end tests in a real browser: Debian's
//! Chromium, headless, driven over WebDriver (`chromedriver`) with
//! [`fantoccini`]. The tests themselves are in `tests/`; they sign in
//! through the local pool's hosted UI and its mock identity provider with
//! `amplify-auth`'s `sign_in_with_redirect`.
//!
//! Every [`Browser`] has its own `chromedriver` on a free `127.0.0.1`
//! port and its own empty profile directory, and is started with the
//! flags that keep Chromium off the network (no background networking,
//! component updates, sync or QUIC). Nothing is downloaded: the browser and
//! the driver are Debian's `chromium` and `chromium-driver` packages
//! (`/usr/bin/chromium`, `/usr/bin/chromedriver`), which `.ci/run`
//! installs.
//!
//! [`Browser::close`] ends the WebDriver session (Chromium quits) and
//! stops the driver; dropping a [`Browser`] without closing it (a failed
//! test) kills the driver and any Chromium process started with its
//! profile directory, and removes the directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use fantoccini::{Client, Locator};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian installs ChromeDriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The flags Chromium runs with (besides `--user-data-dir`).
pub const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=900,1000",
];

/// Why the browser could not be started or used.
#[derive(Debug)]
pub struct HarnessError(pub String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

fn err(context: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError(format!("{context}: {e}"))
}

/// A headless Chromium under its own `chromedriver`.
#[derive(Debug)]
pub struct Browser {
    client: Option<Client>,
    driver: tokio::process::Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts `chromedriver` on a free port and opens a Chromium session
    /// with a fresh profile; fails (never hangs) within about 20 seconds.
    pub async fn start() -> Result<Self, HarnessError> {
        for path in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(path).exists() {
                return Err(HarnessError(format!(
                    "{path} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
                )));
            }
        }
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| err("random profile name", e))?;
        let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let profile = std::env::temp_dir().join(format!("browser-tests-profile-{name}"));
        std::fs::create_dir_all(&profile).map_err(|e| err("profile directory", e))?;

        let port = free_port()?;
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| err("starting chromedriver", e))?;
        let mut browser = Self { client: None, driver, profile };
        wait_for_port(port, Duration::from_secs(10)).await?;

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.display()));
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert("goog:chromeOptions".into(), serde_json::json!({ "binary": CHROMIUM, "args": args }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let connecting = fantoccini::ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        let client = connecting.map_err(|e| err("opening a Chromium session", e))?;
        browser.client = Some(client);
        Ok(browser)
    }

    /// The WebDriver client.
    ///
    /// # Panics
    /// Never: a [`Browser`] always has a client until [`Browser::close`].
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("a started browser has a client")
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) -> Result<(), HarnessError> {
        self.client().goto(url).await.map_err(|e| err(&format!("opening {url}"), e))
    }

    /// Waits at most `timeout` for an element matching the CSS selector.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<fantoccini::elements::Element, HarnessError> {
        self.client()
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| err(&format!("waiting for {css}"), e))
    }

    /// Replaces the value of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), HarnessError> {
        let input = self.wait_for(css, Duration::from_secs(5)).await?;
        input.clear().await.map_err(|e| err(&format!("clearing {css}"), e))?;
        input.send_keys(text).await.map_err(|e| err(&format!("typing into {css}"), e))
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), HarnessError> {
        let element = self.wait_for(css, Duration::from_secs(5)).await?;
        element.click().await.map_err(|e| err(&format!("clicking {css}"), e))
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String, HarnessError> {
        let element = self.wait_for(css, Duration::from_secs(5)).await?;
        element.text().await.map_err(|e| err(&format!("reading {css}"), e))
    }

    /// The current URL.
    pub async fn url(&self) -> Result<String, HarnessError> {
        self.client().current_url().await.map(|u| u.to_string()).map_err(|e| err("reading the URL", e))
    }

    /// Waits at most `timeout` until the current URL starts with `prefix`,
    /// and returns it.
    pub async fn wait_for_url(&self, prefix: &str, timeout: Duration) -> Result<String, HarnessError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let url = self.url().await?;
            if url.starts_with(prefix) {
                return Ok(url);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(HarnessError(format!("still at {url} after {timeout:?}, waiting for {prefix}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot of the page as `<artifacts>/<name>.png` and
    /// returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, HarnessError> {
        let png = self.client().screenshot().await.map_err(|e| err("taking a screenshot", e))?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).map_err(|e| err("creating the artifacts directory", e))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| err("saving the screenshot", e))?;
        Ok(path)
    }

    /// Ends the session (Chromium quits), stops the driver and removes the
    /// profile.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
        let _ = self.driver.kill().await;
        // Drop kills any straggler and removes the profile.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.start_kill();
        // Chromium and its helpers take a moment to go; wait at most 3 s.
        for _ in 0..30 {
            if kill_processes_using(&self.profile) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for _ in 0..10 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Kills the processes whose command line names `profile` (the Chromium
/// this harness started with that profile directory, and its helpers);
/// returns how many were found.
fn kill_processes_using(profile: &Path) -> usize {
    let needle = format!("--user-data-dir={}", profile.display());
    let mut found = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if cmdline.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()) {
            found += 1;
            let _ = std::process::Command::new("kill")
                .arg("-9")
                .arg(pid.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
    found
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> Result<u16, HarnessError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| err("finding a free port", e))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| err("finding a free port", e))
}

async fn wait_for_port(port: u16, timeout: Duration) -> Result<(), HarnessError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(HarnessError(format!("chromedriver did not listen on 127.0.0.1:{port} within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `target/browser-artifacts/` at the workspace root (screenshots).
#[must_use]
pub fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts")
}
