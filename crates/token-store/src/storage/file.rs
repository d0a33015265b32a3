//! A crash-safe file store: one JSON file per user-pool client.

use core::fmt;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Batch, CorruptReason, KeyValueStorage, StorageError, StorageFuture, StoredValue};

const FORMAT: &str = "amplify-auth-rs/token-store";
const VERSION: u32 = 1;

/// Distinguishes temp files of several writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A key-value store kept in one JSON file, written so that a crash (even
/// `kill -9` or a power cut after `fsync`) leaves either the old or the new
/// contents, never a mix.
///
/// # How a write happens
///
/// 1. An in-process async mutex serialises the writers of this instance, and
///    an advisory lock (`flock` on Unix, `LockFileEx` on Windows) on
///    `<file>.lock` serialises writers in other instances and other
///    processes. It is held across the whole read-modify-write.
/// 2. The current file is read and verified. If it is corrupt the write is
///    refused with [`StorageError::Corrupt`] and nothing is touched.
/// 3. The new contents go to a fresh temp file in the same directory, created
///    with mode `0600` on Unix, then `fsync`, `rename` over the file, and
///    `fsync` of the directory.
///
/// Reads need no lock: `rename` is atomic, so a reader sees one complete file.
/// Every file carries a SHA-256 over its entries, so truncation and edits are
/// detected and reported as [`StorageError::Corrupt`] with the path.
///
/// Blocking I/O runs on Tokio's blocking pool when a Tokio runtime is
/// current, and inline otherwise.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use token_store::{FileStorage, KeyValueStorage};
///
/// let dir = std::env::temp_dir().join(format!("token-store-doc-{}", std::process::id()));
/// let store = FileStorage::new(dir.join("client123.json"));
/// store.set("greeting", "hello").await?;
/// assert_eq!(store.get("greeting").await?.as_deref().map(String::as_str), Some("hello"));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), token_store::StorageError>(()) }).unwrap();
/// ```
pub struct FileStorage {
    inner: Arc<Inner>,
    writers: Arc<tokio::sync::Mutex<()>>,
}

struct Inner {
    path: PathBuf,
    lock_path: PathBuf,
}

impl fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStorage").field("path", &self.inner.path).finish()
    }
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u32,
    entries: &'a BTreeMap<&'a str, &'a str>,
    sha256: String,
}

#[derive(Deserialize)]
struct FileIn {
    format: String,
    version: u32,
    entries: BTreeMap<String, String>,
    sha256: String,
}

type Map = BTreeMap<String, StoredValue>;

impl FileStorage {
    /// A store kept in the file at `path` (created on the first write, with
    /// its parent directories, mode `0700` on Unix). Use one file per
    /// user-pool client. The lock file is `<path>.lock`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock_name = path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock_path = path.with_file_name(lock_name);
        Self { inner: Arc::new(Inner { path, lock_path }), writers: Arc::new(tokio::sync::Mutex::new(())) }
    }

    /// The store file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Moves the store file aside to `<file>.corrupt-<n>` (the first unused
    /// `n` from 1) so the next write starts afresh, and returns the new path;
    /// `Ok(None)` if there was no file. This is the only operation that
    /// replaces a corrupt file, and it keeps the old bytes for recovery.
    ///
    /// # Errors
    ///
    /// [`StorageError::Io`] if locking or renaming fails.
    pub async fn quarantine(&self) -> Result<Option<PathBuf>, StorageError> {
        let _guard = self.writers.lock().await;
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let _lock = inner.lock()?;
            inner.quarantine_locked()
        })
        .await
    }

    async fn read(&self) -> Result<Map, StorageError> {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || inner.read_map()).await
    }

    async fn mutate(&self, f: impl FnOnce(&mut Map) + Send + 'static) -> Result<(), StorageError> {
        let _guard = self.writers.lock().await;
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let _lock = inner.lock()?;
            let mut map = inner.read_map()?;
            f(&mut map);
            inner.cleanup_temps();
            inner.write_map(&map)
        })
        .await
    }
}

impl Inner {
    fn io(&self, op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io { op, path, source }
    }

    fn ensure_dir(&self) -> Result<(), StorageError> {
        if let Some(dir) = self.dir()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(self.io("create directory", dir))?;
        }
        Ok(())
    }

    fn dir(&self) -> Option<&Path> {
        self.path.parent()
    }

    /// Opens and exclusively locks `<file>.lock`; dropping the file unlocks.
    fn lock(&self) -> Result<File, StorageError> {
        self.ensure_dir()?;
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&self.lock_path).map_err(self.io("open lock file", &self.lock_path))?;
        // Called through the trait: std's inherent `File::lock` is newer than
        // our MSRV.
        fs4::FileExt::lock(&file).map_err(self.io("lock", &self.lock_path))?;
        Ok(file)
    }

    fn read_map(&self) -> Result<Map, StorageError> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => return Err(self.io("open", &self.path)(e)),
        };
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes).map_err(self.io("read", &self.path))?;
        self.parse(&bytes)
    }

    fn corrupt(&self, reason: CorruptReason) -> StorageError {
        StorageError::Corrupt { path: self.path.clone(), reason }
    }

    fn parse(&self, bytes: &[u8]) -> Result<Map, StorageError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(self.corrupt(CorruptReason::Empty));
        }
        let parsed: FileIn = serde_json::from_slice(bytes).map_err(|e| {
            // serde_json's messages name positions and expected tokens, never
            // the input, so no secret leaks into the error.
            self.corrupt(CorruptReason::Malformed { detail: e.to_string() })
        })?;
        if parsed.format != FORMAT || parsed.version != VERSION {
            return Err(self.corrupt(CorruptReason::UnknownFormat));
        }
        let view: BTreeMap<&str, &str> = parsed.entries.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let expected = checksum(&view);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), parsed.sha256.as_bytes())) {
            return Err(self.corrupt(CorruptReason::ChecksumMismatch));
        }
        drop(view);
        Ok(parsed.entries.into_iter().map(|(k, v)| (k, Zeroizing::new(v))).collect())
    }

    fn write_map(&self, map: &Map) -> Result<(), StorageError> {
        let view: BTreeMap<&str, &str> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = FileOut { format: FORMAT, version: VERSION, entries: &view, sha256: checksum(&view) };
        let bytes = Zeroizing::new(serde_json::to_vec(&out).map_err(|e| StorageError::Io {
            op: "serialize",
            path: self.path.clone(),
            source: io::Error::other(e),
        })?);

        let tmp = self.temp_path();
        let result = self.write_temp_and_rename(&tmp, &bytes);
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn write_temp_and_rename(&self, tmp: &Path, bytes: &[u8]) -> Result<(), StorageError> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        // The permission is set when the file is created, so the secret is
        // never readable by others, not even for an instant.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(tmp).map_err(self.io("create temp file", tmp))?;
        file.write_all(bytes).map_err(self.io("write temp file", tmp))?;
        file.sync_all().map_err(self.io("fsync temp file", tmp))?;
        drop(file);
        fs::rename(tmp, &self.path).map_err(self.io("rename", &self.path))?;
        self.sync_dir()
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        #[cfg(unix)]
        if let Some(dir) = self.dir() {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            File::open(dir).and_then(|d| d.sync_all()).map_err(self.io("fsync directory", dir))?;
        }
        Ok(())
    }

    fn temp_prefix(&self) -> String {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        format!(".{name}.tmp.")
    }

    fn temp_path(&self) -> PathBuf {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}{}.{n}", self.temp_prefix(), std::process::id());
        self.path.with_file_name(name)
    }

    /// Removes temp files left by writers that crashed. Only called with the
    /// lock held, so no live writer owns one.
    fn cleanup_temps(&self) {
        let prefix = self.temp_prefix();
        let dir = match self.dir() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn quarantine_locked(&self) -> Result<Option<PathBuf>, StorageError> {
        if !self.path.exists() {
            return Ok(None);
        }
        let name = self.path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let mut n = 1u32;
        let target = loop {
            let candidate = self.path.with_file_name(format!("{name}.corrupt-{n}"));
            if !candidate.exists() {
                break candidate;
            }
            n += 1;
        };
        fs::rename(&self.path, &target).map_err(self.io("rename to quarantine", &target))?;
        self.sync_dir()?;
        Ok(Some(target))
    }
}

fn checksum(entries: &BTreeMap<&str, &str>) -> String {
    let mut hasher = Sha256::new();
    // Canonical bytes: length-prefixed keys and values, in key order.
    for (k, v) in entries {
        hasher.update((k.len() as u64).to_be_bytes());
        hasher.update(k.as_bytes());
        hasher.update((v.len() as u64).to_be_bytes());
        hasher.update(v.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Runs blocking file work on Tokio's blocking pool if a runtime is current,
/// inline otherwise.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.map_err(|e| StorageError::Backend(Box::new(e)))?,
        Err(_) => f(),
    }
}

impl KeyValueStorage for FileStorage {
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        let key = key.to_owned();
        let value = Zeroizing::new(value.to_owned());
        Box::pin(self.mutate(move |m| {
            m.insert(key, value);
        }))
    }

    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<StoredValue>> {
        Box::pin(async move { Ok(self.read().await?.remove(key)) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        let key = key.to_owned();
        Box::pin(self.mutate(move |m| {
            m.remove(&key);
        }))
    }

    fn clear(&self) -> StorageFuture<'_, ()> {
        Box::pin(self.mutate(BTreeMap::clear))
    }

    fn apply<'a>(&'a self, batch: &'a Batch) -> StorageFuture<'a, ()> {
        let batch = batch.clone();
        Box::pin(self.mutate(move |m| batch.apply_to(m)))
    }

    fn get_many<'a>(&'a self, keys: &'a [&'a str]) -> StorageFuture<'a, Vec<Option<StoredValue>>> {
        Box::pin(async move {
            let map = self.read().await?;
            Ok(keys.iter().map(|k| map.get(*k).cloned()).collect())
        })
    }
}
