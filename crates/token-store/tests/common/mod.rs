//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use token_store::{AuthFlowType, DeviceMetadata, SignInDetails, TokenRecord};

/// A fresh directory under the system temp dir.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "token-store-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A record whose every field encodes writer `w` and counter `n`.
pub(crate) fn record(w: u64, n: u64) -> TokenRecord {
    let mut r = TokenRecord::new("alice", format!("access-{w}-{n}"));
    r.id_token = Some(format!("id-{w}-{n}").into());
    r.refresh_token = Some(format!("refresh-{w}-{n}").into());
    r.clock_drift_ms = (w * 1_000_000_000 + n) as i64;
    r.sign_in_details = Some(SignInDetails {
        login_id: Some(format!("login-{w}-{n}")),
        auth_flow_type: Some(AuthFlowType::UserSrpAuth),
    });
    r.device = Some(DeviceMetadata::new(format!("dk-{w}-{n}"), format!("gk-{w}-{n}"), format!("pw-{w}-{n}")));
    r
}

/// The `(w, n)` a record was built from, or a description of how its fields
/// disagree (a torn write).
pub(crate) fn consistent(r: &TokenRecord) -> Result<(u64, u64), String> {
    let drift = r.clock_drift_ms as u64;
    let (w, n) = (drift / 1_000_000_000, drift % 1_000_000_000);
    let expected = record(w, n);
    if *r == expected {
        Ok((w, n))
    } else {
        Err(format!(
            "torn record: clock drift says ({w},{n}) but access={:?} id={:?} refresh={:?} login={:?} device={:?}",
            r.access_token.expose_secret(),
            r.id_token.as_ref().map(|t| t.expose_secret().to_owned()),
            r.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            r.sign_in_details.as_ref().and_then(|d| d.login_id.clone()),
            r.device.as_ref().map(|d| d.device_key.clone()),
        ))
    }
}

/// Temp files a writer may have left in `dir` for `file_name`.
pub(crate) fn temp_files(dir: &Path, file_name: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!(".{file_name}.tmp.")))
        .map(|e| e.path())
        .collect()
}
