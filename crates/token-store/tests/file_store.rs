//! `FileStorage`: permissions, corruption handling, quarantine, concurrency,
//! and running without a Tokio runtime.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod common;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use common::{consistent, record, temp_dir};
use token_store::{CorruptReason, FileStorage, KeyValueStorage, Layout, StorageError, TokenStore, TokenStoreError};

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_created_owner_only() {
    let dir = temp_dir("perm");
    let sub = dir.join("nested");
    let path = sub.join("cid.json");
    let kv = FileStorage::new(&path);
    kv.set("a", "1").await.unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&sub.join("cid.json.lock")), 0o600);
    assert_eq!(mode(&sub), 0o700, "a directory we create is owner-only");
    // Still 0600 after rewrites, even if someone loosened it in between.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    kv.set("b", "2").await.unwrap();
    assert_eq!(mode(&path), 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn expect_corrupt(kv: &FileStorage, path: &Path, want: fn(&CorruptReason) -> bool) {
    let before = std::fs::read(path).unwrap();
    let check = |r: Result<(), StorageError>, what: &str| match r {
        Err(StorageError::Corrupt { path: p, reason }) => {
            assert_eq!(p, path, "{what}");
            assert!(want(&reason), "{what}: {reason:?}");
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    };
    check(kv.get("a").await.map(drop), "get");
    check(kv.set("a", "new").await, "set");
    check(kv.remove("a").await, "remove");
    check(kv.clear().await, "clear");
    let mut b = token_store::Batch::new();
    b.set("x", "y");
    check(kv.apply(&b).await, "apply");
    assert_eq!(std::fs::read(path).unwrap(), before, "a corrupt file must be left byte for byte");
    let msg = kv.get("a").await.unwrap_err().to_string();
    assert!(msg.contains(&path.display().to_string()) && msg.contains("quarantine"), "{msg}");
}

#[tokio::test]
async fn truncated_corrupted_and_empty_files_are_reported_and_left_untouched() {
    let dir = temp_dir("corrupt");
    let path = dir.join("cid.json");
    let kv = FileStorage::new(&path);
    let store = TokenStore::new(Arc::new(FileStorage::new(&path)), "cid", Layout::Native);
    store.save(&record(1, 1)).await.unwrap();
    let good = std::fs::read(&path).unwrap();

    // Truncated at every length: never loads, never panics.
    for len in [0, 1, good.len() / 3, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..len]).unwrap();
        let r = store.load().await;
        assert!(matches!(r, Err(TokenStoreError::Storage(StorageError::Corrupt { .. }))), "len {len}: {r:?}");
    }
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    expect_corrupt(&kv, &path, |r| matches!(r, CorruptReason::Malformed { .. })).await;

    std::fs::write(&path, b"").unwrap();
    expect_corrupt(&kv, &path, |r| *r == CorruptReason::Empty).await;

    // One character of a token changed: still valid JSON, caught by the checksum.
    let text = String::from_utf8(good.clone()).unwrap();
    assert!(text.contains("access-1-1"));
    std::fs::write(&path, text.replace("access-1-1", "access-1-2")).unwrap();
    expect_corrupt(&kv, &path, |r| *r == CorruptReason::ChecksumMismatch).await;

    std::fs::write(&path, b"{\"format\":\"something-else\",\"version\":1,\"entries\":{},\"sha256\":\"\"}").unwrap();
    expect_corrupt(&kv, &path, |r| *r == CorruptReason::UnknownFormat).await;

    // Quarantine moves the damaged file aside, numbered, and writes resume.
    let q1 = kv.quarantine().await.unwrap().unwrap();
    assert_eq!(q1, dir.join("cid.json.corrupt-1"));
    assert!(!path.exists());
    store.save(&record(1, 2)).await.unwrap();
    assert_eq!(consistent(&store.load().await.unwrap().unwrap()).unwrap(), (1, 2));
    std::fs::write(&path, b"garbage").unwrap();
    assert_eq!(kv.quarantine().await.unwrap().unwrap(), dir.join("cid.json.corrupt-2"));
    assert_eq!(
        std::fs::read(&q1).unwrap(),
        b"{\"format\":\"something-else\",\"version\":1,\"entries\":{},\"sha256\":\"\"}"
    );
    assert_eq!(kv.quarantine().await.unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_on_shared_and_separate_instances_lose_nothing() {
    let dir = temp_dir("tasks");
    let path = dir.join("cid.json");
    let shared = Arc::new(FileStorage::new(&path));
    let mut tasks = Vec::new();
    for t in 0..8 {
        // Half share one instance (in-process mutex), half open their own
        // (the file lock alone must serialise them).
        let kv = if t % 2 == 0 { shared.clone() } else { Arc::new(FileStorage::new(&path)) };
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                kv.set(&format!("t{t}-{i}"), &format!("v{t}-{i}")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let keys: Vec<String> = (0..8).flat_map(|t| (0..25).map(move |i| format!("t{t}-{i}"))).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let values = shared.get_many(&refs).await.unwrap();
    for (k, v) in refs.iter().zip(values) {
        assert_eq!(v.as_deref().map(String::as_str), Some(k.replacen('t', "v", 1).as_str()), "{k}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_record_writers_and_readers_see_only_complete_records() {
    for layout in [Layout::Native, Layout::AmplifyCompat] {
        let dir = temp_dir("records");
        let path = dir.join("cid.json");
        let mut tasks = Vec::new();
        for w in 1..=4u64 {
            let store = TokenStore::new(Arc::new(FileStorage::new(&path)), "cid", layout);
            tasks.push(tokio::spawn(async move {
                for n in 0..20 {
                    store.save(&record(w, n)).await.unwrap();
                }
            }));
        }
        let reader = TokenStore::new(Arc::new(FileStorage::new(&path)), "cid", layout);
        let mut seen = 0;
        while tasks.iter().any(|t| !t.is_finished()) {
            if let Some(r) = reader.load().await.unwrap() {
                consistent(&r).unwrap();
                seen += 1;
            }
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (w, n) = consistent(&reader.load().await.unwrap().unwrap()).unwrap();
        assert!((1..=4).contains(&w) && n == 19, "final record ({w},{n})");
        assert!(seen > 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A minimal executor, to show the store also works with no Tokio runtime
/// (blocking I/O then runs inline).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn works_without_a_tokio_runtime() {
    let dir = temp_dir("no-runtime");
    let store = TokenStore::new(Arc::new(FileStorage::new(dir.join("cid.json"))), "cid", Layout::AmplifyCompat);
    block_on(store.save(&record(7, 7))).unwrap();
    assert_eq!(block_on(store.load()).unwrap(), Some(record(7, 7)));
    block_on(store.clear_tokens()).unwrap();
    assert_eq!(block_on(store.load()).unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
