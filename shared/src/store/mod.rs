//! Object storage: the [`ObjectStore`] trait, its error type, the embedded [`LocalStore`] backend,
//! the S3 backend (feature `aws`) and decorators ([`CountingStore`]).
//!
//! Every backend passes the same conformance suite (`tier::testing::store_suite`), run by `object_store_test_suite!`.

mod counting;
mod error;
mod local;
#[cfg(feature = "aws")]
pub mod s3;

use std::ops::Range;

use async_trait::async_trait;

pub use counting::{CountingStore, StoreCounts};
pub use error::{StoreError, StoreErrorKind};
pub use local::LocalStore;

#[cfg(feature = "aws")]
pub use s3::S3Store;

use crate::types::ObjectKey;

/// Result of an object-store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// An object as listed by [`ObjectStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub last_modified_ms: i64,
}

/// The body of an object being read, a piece at a time (see [`ObjectStore::get_body`]).
#[async_trait]
pub trait ObjectBody: Send {
    /// The next piece of the body, `None` after the last.
    async fn next_piece(&mut self) -> StoreResult<Option<Vec<u8>>>;
}

/// A body already in memory, handed over in one piece.
struct WholeBody(Option<Vec<u8>>);

#[async_trait]
impl ObjectBody for WholeBody {
    async fn next_piece(&mut self) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.0.take())
    }
}

/// The most bytes a piece of [`LocalStore`]'s bodies holds (S3's are what the HTTP stream
/// yields, typically far smaller).
pub const BODY_PIECE_BYTES: usize = 1 << 20;

/// A flat store of immutable-once-written objects addressed by [`ObjectKey`].
///
/// Contracts every backend upholds (asserted by the conformance suite):
/// - `put` is atomic: a concurrent or later `get` sees the whole new object or the previous state,
///   never a partial object. `put` on an existing key replaces it.
/// - `get`/`get_range`/`size` of a missing key fail with [`StoreErrorKind::NotFound`].
/// - Ranges are half-open `start..end`. `end` beyond the object is clamped to its size; `start >= size`
///   (for a non-empty range) or `start > end` fails with [`StoreErrorKind::InvalidRange`].
/// - `delete` is idempotent: deleting a missing key succeeds.
/// - `list` returns every object whose key starts with `prefix`, sorted by key.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Stores `data` under `key`, replacing any previous object.
    async fn put(&self, key: &ObjectKey, data: Vec<u8>) -> StoreResult<()>;

    /// Reads a whole object.
    async fn get(&self, key: &ObjectKey) -> StoreResult<Vec<u8>>;

    /// Reads a whole object a piece at a time, so that an object of any size can be copied in
    /// bounded memory. A body that ends before the size the backend announced fails with a
    /// retryable error (the object is not at fault). The default reads it with
    /// [`ObjectStore::get`].
    async fn get_body(&self, key: &ObjectKey) -> StoreResult<Box<dyn ObjectBody>> {
        Ok(Box::new(WholeBody(Some(self.get(key).await?))))
    }

    /// Stores the local file at `path` under `key`, as [`ObjectStore::put`] would its bytes,
    /// reading it a part at a time where the backend can (the default reads it whole).
    async fn put_file(&self, key: &ObjectKey, path: &std::path::Path) -> StoreResult<()> {
        let data = tokio::fs::read(path)
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Io, key.as_str(), e))?;
        self.put(key, data).await
    }

    /// Reads bytes `range` of an object (see the trait docs for range rules).
    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> StoreResult<Vec<u8>>;

    /// Size of an object in bytes.
    async fn size(&self, key: &ObjectKey) -> StoreResult<u64>;

    /// Removes an object; succeeds if it does not exist.
    async fn delete(&self, key: &ObjectKey) -> StoreResult<()>;

    /// Objects whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>>;

    /// A URL with which anyone may `GET` the object until `expires` has passed, when the backend
    /// can give one (S3: a presigned URL); `None` for backends a remote client cannot reach.
    async fn presigned_get(
        &self,
        key: &ObjectKey,
        expires: std::time::Duration,
    ) -> StoreResult<Option<String>> {
        let _ = (key, expires);
        Ok(None)
    }

    /// Whether an object exists, derived from [`ObjectStore::size`].
    async fn exists(&self, key: &ObjectKey) -> StoreResult<bool> {
        match self.size(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == StoreErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}
