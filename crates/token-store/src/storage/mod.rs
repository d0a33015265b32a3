//! The key-value storage abstraction and its built-in implementations.
//!
//! [`KeyValueStorage`] mirrors Amplify's `KeyValueStorageInterface`
//! (`setItem`, `getItem`, `removeItem`, `clear`) and adds the two operations
//! that make a token record crash-safe: [`KeyValueStorage::apply`], which
//! writes a [`Batch`] of sets and removes as one unit, and
//! [`KeyValueStorage::get_many`], which reads several keys from one snapshot.

use core::fmt;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

use zeroize::Zeroizing;

mod file;

pub use file::FileStorage;

/// The boxed future every [`KeyValueStorage`] method returns. Boxing keeps the
/// trait object-safe (`Arc<dyn KeyValueStorage>`) without a macro crate.
pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// A stored value. Values may be tokens, so they wipe themselves on drop.
pub type StoredValue = Zeroizing<String>;

/// One operation of a [`Batch`].
#[derive(Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Set `key` to `value`.
    Set {
        /// The key.
        key: String,
        /// The value (zeroized on drop).
        value: StoredValue,
    },
    /// Remove `key` (no error if it is absent).
    Remove {
        /// The key.
        key: String,
    },
}

impl BatchOp {
    /// The key this operation touches.
    #[must_use]
    pub fn key(&self) -> &str {
        match self {
            Self::Set { key, .. } | Self::Remove { key } => key,
        }
    }
}

impl fmt::Debug for BatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Set { key, .. } => f.debug_struct("Set").field("key", key).field("value", &"[redacted]").finish(),
            Self::Remove { key } => f.debug_struct("Remove").field("key", key).finish(),
        }
    }
}

/// Sets and removes applied as one unit by [`KeyValueStorage::apply`]: after
/// a crash a reader sees either none or all of them. Later operations on the
/// same key win.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a set.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.ops.push(BatchOp::Set { key: key.into(), value: Zeroizing::new(value.into()) });
        self
    }

    /// Adds a remove.
    pub fn remove(&mut self, key: impl Into<String>) -> &mut Self {
        self.ops.push(BatchOp::Remove { key: key.into() });
        self
    }

    /// The operations, in order.
    #[must_use]
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// Whether the batch has no operations.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Applies the batch to an in-memory map (the helper stores use).
    pub fn apply_to(&self, map: &mut BTreeMap<String, StoredValue>) {
        for op in &self.ops {
            match op {
                BatchOp::Set { key, value } => {
                    map.insert(key.clone(), value.clone());
                }
                BatchOp::Remove { key } => {
                    map.remove(key);
                }
            }
        }
    }
}

/// Why a storage operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O error on `path`.
    Io {
        /// What was being done (`"read"`, `"rename"`, ...).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file at `path` exists but is not a complete, intact store file
    /// (truncated, edited, or damaged). Nothing was changed: the store refuses
    /// to write over it until [`FileStorage::quarantine`] moves it aside, so
    /// whatever it still holds can be recovered by hand.
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: CorruptReason,
    },
    /// An error reported by a user-implemented backend.
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// What is wrong with a corrupt store file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptReason {
    /// The file is empty.
    Empty,
    /// Not valid UTF-8 JSON of the expected shape (for example truncated).
    Malformed {
        /// The JSON parser's message (no stored values are quoted).
        detail: String,
    },
    /// The `format` field names another format or an unknown version.
    UnknownFormat,
    /// The checksum over the entries does not match.
    ChecksumMismatch,
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty"),
            Self::Malformed { detail } => write!(f, "not a complete store file ({detail})"),
            Self::UnknownFormat => f.write_str("unknown format or version"),
            Self::ChecksumMismatch => f.write_str("checksum mismatch"),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, path, .. } => write!(f, "token storage: {op} failed for {}", path.display()),
            Self::Corrupt { path, reason } => write!(
                f,
                "token storage file {} is corrupt: {reason}; it was left untouched \
                 (move it aside with FileStorage::quarantine to start afresh)",
                path.display()
            ),
            Self::Backend(_) => f.write_str("token storage backend error"),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Backend(e) => Some(&**e),
            Self::Corrupt { .. } => None,
        }
    }
}

/// An asynchronous key-value store, in the spirit of Amplify's
/// `KeyValueStorageInterface`, plus atomic batches and snapshot reads.
///
/// The trait is object-safe: `TokenStore` holds an `Arc<dyn KeyValueStorage>`.
///
/// # Contract
///
/// * [`apply`](Self::apply) is **atomic**: a concurrent reader, or a reader
///   after a crash, sees either none or all of the batch's operations.
/// * [`get_many`](Self::get_many) reads all keys **from one snapshot**. The
///   provided implementation calls [`get`](Self::get) key by key, which is
///   only correct if nothing writes concurrently; override it if your
///   backend can do better.
///
/// # Implementing it for your own backend
///
/// An OS keychain, a database or a cookie jar can be plugged in. This adapter
/// keeps everything in a `HashMap` behind a `std::sync::Mutex`; the lock is
/// never held across an `.await`, and holding it for the whole batch is what
/// makes `apply` atomic.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use token_store::{Batch, BatchOp, KeyValueStorage, StorageError, StorageFuture, StoredValue};
///
/// #[derive(Debug, Default)]
/// struct MyStore(Mutex<HashMap<String, StoredValue>>);
///
/// impl MyStore {
///     fn map(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, StoredValue>>, StorageError> {
///         self.0.lock().map_err(|_| StorageError::Backend("poisoned".into()))
///     }
/// }
///
/// impl KeyValueStorage for MyStore {
///     fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
///         Box::pin(async move {
///             self.map()?.insert(key.to_owned(), StoredValue::new(value.to_owned()));
///             Ok(())
///         })
///     }
///     fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<StoredValue>> {
///         Box::pin(async move { Ok(self.map()?.get(key).cloned()) })
///     }
///     fn remove<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
///         Box::pin(async move {
///             self.map()?.remove(key);
///             Ok(())
///         })
///     }
///     fn clear(&self) -> StorageFuture<'_, ()> {
///         Box::pin(async move {
///             self.map()?.clear();
///             Ok(())
///         })
///     }
///     fn apply<'a>(&'a self, batch: &'a Batch) -> StorageFuture<'a, ()> {
///         Box::pin(async move {
///             let mut map = self.map()?; // one lock for the whole batch
///             for op in batch.ops() {
///                 match op {
///                     BatchOp::Set { key, value } => { map.insert(key.clone(), value.clone()); }
///                     BatchOp::Remove { key } => { map.remove(key); }
///                 }
///             }
///             Ok(())
///         })
///     }
///     fn get_many<'a>(&'a self, keys: &'a [&'a str]) -> StorageFuture<'a, Vec<Option<StoredValue>>> {
///         Box::pin(async move {
///             let map = self.map()?;
///             Ok(keys.iter().map(|k| map.get(*k).cloned()).collect())
///         })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use token_store::{Layout, TokenRecord, TokenStore};
/// let store = TokenStore::new(Arc::new(MyStore::default()), "client123", Layout::Native);
/// store.save(&TokenRecord::new("alice", "access.jwt.sig")).await?;
/// assert_eq!(store.load().await?.unwrap().username, "alice");
/// # Ok::<(), token_store::TokenStoreError>(()) }).unwrap();
/// ```
pub trait KeyValueStorage: Send + Sync + fmt::Debug {
    /// Sets one key.
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()>;

    /// Reads one key; `Ok(None)` if absent.
    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<StoredValue>>;

    /// Removes one key; removing an absent key is not an error.
    fn remove<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()>;

    /// Removes every key of this store.
    fn clear(&self) -> StorageFuture<'_, ()>;

    /// Applies all operations of `batch` as one atomic unit.
    fn apply<'a>(&'a self, batch: &'a Batch) -> StorageFuture<'a, ()>;

    /// Reads several keys from one consistent snapshot, in the order given.
    ///
    /// The default reads key by key and is consistent only without concurrent
    /// writers; [`MemoryStorage`] and [`FileStorage`] override it.
    fn get_many<'a>(&'a self, keys: &'a [&'a str]) -> StorageFuture<'a, Vec<Option<StoredValue>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.get(key).await?);
            }
            Ok(out)
        })
    }
}

/// An in-memory store: the fastest, and lost when the process exits (Amplify
/// falls back to the same in plain Node).
#[derive(Default)]
pub struct MemoryStorage {
    map: Mutex<BTreeMap<String, StoredValue>>,
}

impl MemoryStorage {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of every key and value, sorted by key (for tests and
    /// migration tools; the values are secrets).
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<String, StoredValue> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredValue>> {
        // Poisoning cannot leave the map half-updated: every critical section
        // below is a single map operation or a loop of them that cannot panic.
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStorage").field("keys", &self.lock().keys().collect::<Vec<_>>()).finish()
    }
}

impl KeyValueStorage for MemoryStorage {
    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
        Box::pin(async move {
            self.lock().insert(key.to_owned(), Zeroizing::new(value.to_owned()));
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<StoredValue>> {
        Box::pin(async move { Ok(self.lock().get(key).cloned()) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
        Box::pin(async move {
            self.lock().remove(key);
            Ok(())
        })
    }

    fn clear(&self) -> StorageFuture<'_, ()> {
        Box::pin(async move {
            self.lock().clear();
            Ok(())
        })
    }

    fn apply<'a>(&'a self, batch: &'a Batch) -> StorageFuture<'a, ()> {
        Box::pin(async move {
            batch.apply_to(&mut self.lock());
            Ok(())
        })
    }

    fn get_many<'a>(&'a self, keys: &'a [&'a str]) -> StorageFuture<'a, Vec<Option<StoredValue>>> {
        Box::pin(async move {
            let map = self.lock();
            Ok(keys.iter().map(|k| map.get(*k).cloned()).collect())
        })
    }
}
