//! Crash and multi-process tests: a child process (this test binary re-run
//! with `CRASH_CHILD` set) writes to a `FileStorage` while the parent kills it
//! with SIGKILL or writes concurrently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use common::{consistent, record, temp_dir, temp_files};
use token_store::{Batch, BatchOp, FileStorage, KeyValueStorage, Layout, StorageFuture, StoredValue, TokenStore};

/// Applies a batch one key at a time: what Amplify JS does, and what the
/// crash test must be able to catch (the negative control).
#[derive(Debug)]
struct KeyByKey(FileStorage);

impl KeyValueStorage for KeyByKey {
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        self.0.set(key, value)
    }
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<StoredValue>> {
        self.0.get(key)
    }
    fn remove<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        self.0.remove(key)
    }
    fn clear(&self) -> StorageFuture<'_, ()> {
        self.0.clear()
    }
    fn apply<'a>(&'a self, batch: &'a Batch) -> StorageFuture<'a, ()> {
        Box::pin(async move {
            for op in batch.ops() {
                match op {
                    BatchOp::Set { key, value } => self.0.set(key, value).await?,
                    BatchOp::Remove { key } => self.0.remove(key).await?,
                }
            }
            Ok(())
        })
    }
    fn get_many<'a>(&'a self, keys: &'a [&'a str]) -> StorageFuture<'a, Vec<Option<StoredValue>>> {
        self.0.get_many(keys)
    }
}

fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::AmplifyCompat => "compat",
        _ => "native",
    }
}

fn store_for(path: &Path, layout: &str, key_by_key: bool) -> TokenStore {
    let layout = if layout == "compat" { Layout::AmplifyCompat } else { Layout::Native };
    let file = FileStorage::new(path);
    let kv: Arc<dyn KeyValueStorage> = if key_by_key { Arc::new(KeyByKey(file)) } else { Arc::new(file) };
    TokenStore::new(kv, "client123", layout)
}

/// The child's side when run by a parent below (`CRASH_CHILD` set). Run on
/// its own, it checks the writer loop it would run: a stream of saves ends
/// with the last record loaded back whole.
#[test]
fn crash_child_entry() {
    let Ok(mode) = std::env::var("CRASH_CHILD") else {
        let dir = std::env::temp_dir().join(format!("crash-child-self-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            for layout in ["native", "compat"] {
                let store = store_for(&path, layout, false);
                for n in 0..20 {
                    store.save(&record(0, n)).await.unwrap();
                }
                assert_eq!(store.load().await.unwrap(), Some(record(0, 19)), "{layout}");
            }
        });
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    };
    let var = |k: &str| std::env::var(k).unwrap();
    let path = var("CRASH_PATH");
    let writer: u64 = var("CRASH_WRITER").parse().unwrap();
    let start: u64 = var("CRASH_START").parse().unwrap();
    let count: u64 = var("CRASH_COUNT").parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        match mode.as_str() {
            "records" | "records-key-by-key" => {
                let store = store_for(Path::new(&path), &var("CRASH_LAYOUT"), mode == "records-key-by-key");
                for n in start..start.saturating_add(count) {
                    store.save(&record(writer, n)).await.unwrap();
                    println!("WROTE {n}");
                }
            }
            "keys" => {
                let kv = FileStorage::new(&path);
                for i in 0..count {
                    kv.set(&format!("k-{writer}-{i}"), &format!("v-{writer}-{i}")).await.unwrap();
                }
            }
            other => panic!("unknown child mode {other}"),
        }
    });
}

fn spawn_child(mode: &str, path: &Path, layout: &str, writer: u64, start: u64, count: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env("CRASH_CHILD", mode)
        .env("CRASH_PATH", path)
        .env("CRASH_LAYOUT", layout)
        .env("CRASH_WRITER", writer.to_string())
        .env("CRASH_START", start.to_string())
        .env("CRASH_COUNT", count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

/// Starts a writer, lets it complete at least `min_writes` saves plus a
/// random 0-40 ms, SIGKILLs it, and returns the last counter it reported as
/// saved.
fn run_and_kill(mode: &str, path: &Path, layout: &str, start: u64, min_writes: u64) -> u64 {
    let mut child = spawn_child(mode, path, layout, 0, start, u64::MAX / 2);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("WROTE ") {
                let _ = tx.send(n.parse::<u64>().unwrap());
            }
        }
    });
    let mut last = None;
    while last.is_none_or(|n| n < start + min_writes - 1) {
        last = Some(rx.recv_timeout(Duration::from_secs(60)).expect("the child never wrote"));
    }
    std::thread::sleep(Duration::from_micros(random_u64() % 40_000));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    // Everything the child reported before dying.
    rx.try_iter().fold(last.unwrap(), u64::max)
}

fn kill_rounds(layout: Layout) {
    let dir = temp_dir(&format!("kill-{}", layout_name(layout)));
    let path = dir.join("client123.json");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let store = store_for(&path, layout_name(layout), false);
    for round in 0..8u64 {
        let start = round * 1_000_000;
        let reported = run_and_kill("records", &path, layout_name(layout), start, 1 + round % 3);
        let loaded = rt.block_on(store.load()).unwrap().expect("a session must survive the crash");
        let (w, n) = consistent(&loaded).unwrap();
        assert_eq!(w, 0);
        // Every save the child reported finished is durable; at most one more
        // (renamed but not yet reported) may have landed.
        assert!(n == reported || n == reported + 1, "round {round}: loaded {n}, child reported {reported}");
        eprintln!("{layout:?} round {round}: killed after {} saves, loaded counter {n}", reported - start + 1);
    }
    // Killed writers leave at most their temp file; the next write sweeps it.
    assert!(temp_files(&dir, "client123.json").len() <= 8);
    rt.block_on(store.save(&record(9, 9))).unwrap();
    assert_eq!(temp_files(&dir, "client123.json"), Vec::<std::path::PathBuf>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigkill_mid_stream_leaves_a_complete_record_native() {
    kill_rounds(Layout::Native);
}

#[test]
fn sigkill_mid_stream_leaves_a_complete_record_amplify_compat() {
    kill_rounds(Layout::AmplifyCompat);
}

/// The negative control: the same crash harness against a store that writes
/// the Amplify keys one by one (as Amplify JS does) does see torn sessions.
/// If this ever passes with no torn record, the harness has lost its teeth.
#[test]
fn crash_harness_detects_key_by_key_writes() {
    let dir = temp_dir("kill-control");
    let path = dir.join("client123.json");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let store = store_for(&path, "compat", false);
    let mut torn = 0;
    for round in 0..30u64 {
        run_and_kill("records-key-by-key", &path, "compat", round * 1_000_000, 1);
        match rt.block_on(store.load()) {
            Ok(Some(r)) if consistent(&r).is_ok() => {}
            _ => torn += 1,
        }
    }
    eprintln!("key-by-key control: {torn} of 30 kills left a torn session");
    assert!(torn > 0, "30 kills of a key-by-key writer never produced a torn session");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_processes_writing_records_never_interleave() {
    for layout in ["native", "compat"] {
        let dir = temp_dir(&format!("two-proc-{layout}"));
        let path = dir.join("client123.json");
        let count = 60;
        let mut children: Vec<Child> = (1..=2).map(|w| spawn_child("records", &path, layout, w, 0, count)).collect();
        // Read concurrently while both write: every snapshot is one writer's
        // complete record.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let store = store_for(&path, layout, false);
        let mut observed = 0;
        while children.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
            if let Some(r) = rt.block_on(store.load()).unwrap() {
                let (w, _) = consistent(&r).unwrap();
                assert!(w == 1 || w == 2);
                observed += 1;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let last = rt.block_on(store.load()).unwrap().unwrap();
        let (w, n) = consistent(&last).unwrap();
        assert!(w == 1 || w == 2);
        assert_eq!(n, count - 1, "the last write of the last writer wins");
        assert!(observed > 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn two_processes_setting_keys_lose_no_update() {
    let dir = temp_dir("two-proc-keys");
    let path = dir.join("client123.json");
    let count = 80;
    let children: Vec<Child> = (1..=2).map(|w| spawn_child("keys", &path, "native", w, 0, count)).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let kv = FileStorage::new(&path);
    let keys: Vec<String> = (1..=2).flat_map(|w| (0..count).map(move |i| format!("k-{w}-{i}"))).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let values = rt.block_on(kv.get_many(&refs)).unwrap();
    let missing: Vec<&str> = refs.iter().zip(&values).filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
    assert!(missing.is_empty(), "lost updates: {missing:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
