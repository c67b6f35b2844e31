//! An [`ObjectStore`] decorator that counts requests per operation (for benchmarks and metrics).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Serialize;

use super::{ObjectMeta, ObjectStore, StoreResult};
use crate::types::ObjectKey;

/// Requests made through a [`CountingStore`], by operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    /// `put` calls.
    pub put: u64,
    /// `get` calls.
    pub get: u64,
    /// `get_range` calls.
    pub get_range: u64,
    /// `size` (and `exists`) calls.
    pub size: u64,
    /// `delete` calls.
    pub delete: u64,
    /// `list` calls.
    pub list: u64,
}

impl StoreCounts {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.put + self.get + self.get_range + self.size + self.delete + self.list
    }

    /// Counts accumulated since `earlier`.
    pub fn since(&self, earlier: &StoreCounts) -> StoreCounts {
        StoreCounts {
            put: self.put - earlier.put,
            get: self.get - earlier.get,
            get_range: self.get_range - earlier.get_range,
            size: self.size - earlier.size,
            delete: self.delete - earlier.delete,
            list: self.list - earlier.list,
        }
    }
}

#[derive(Debug, Default)]
struct Counters([AtomicU64; 6]);

/// Wraps a store and counts every call; behaviour is the inner store's.
#[derive(Debug, Clone)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    counters: Arc<Counters>,
}

impl CountingStore {
    /// Counts calls to `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        CountingStore {
            inner,
            counters: Arc::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> StoreCounts {
        let c = |i: usize| self.counters.0[i].load(Ordering::Relaxed);
        StoreCounts {
            put: c(0),
            get: c(1),
            get_range: c(2),
            size: c(3),
            delete: c(4),
            list: c(5),
        }
    }

    fn tick(&self, i: usize) {
        self.counters.0[i].fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put(&self, key: &ObjectKey, data: Vec<u8>) -> StoreResult<()> {
        self.tick(0);
        self.inner.put(key, data).await
    }

    async fn get(&self, key: &ObjectKey) -> StoreResult<Vec<u8>> {
        self.tick(1);
        self.inner.get(key).await
    }

    async fn get_body(&self, key: &ObjectKey) -> StoreResult<Box<dyn super::ObjectBody>> {
        self.tick(1);
        self.inner.get_body(key).await
    }

    async fn put_file(&self, key: &ObjectKey, path: &std::path::Path) -> StoreResult<()> {
        self.tick(0);
        self.inner.put_file(key, path).await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> StoreResult<Vec<u8>> {
        self.tick(2);
        self.inner.get_range(key, range).await
    }

    async fn size(&self, key: &ObjectKey) -> StoreResult<u64> {
        self.tick(3);
        self.inner.size(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> StoreResult<()> {
        self.tick(4);
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        self.tick(5);
        self.inner.list(prefix).await
    }

    async fn presigned_get(
        &self,
        key: &ObjectKey,
        expires: std::time::Duration,
    ) -> StoreResult<Option<String>> {
        self.inner.presigned_get(key, expires).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LocalStore;

    crate::object_store_test_suite!({
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::open(dir.path()).unwrap();
        (CountingStore::new(Arc::new(local)), dir)
    });

    #[tokio::test]
    async fn counts_each_operation() {
        let dir = tempfile::tempdir().unwrap();
        let store = CountingStore::new(Arc::new(LocalStore::open(dir.path()).unwrap()));
        let key: ObjectKey = "a/b".parse().unwrap();
        store.put(&key, vec![1, 2, 3]).await.unwrap();
        store.get_range(&key, 0..2).await.unwrap();
        store.get_range(&key, 1..3).await.unwrap();
        store.exists(&key).await.unwrap();
        let before = store.counts();
        store.list("a/").await.unwrap();
        assert_eq!(
            (before.put, before.get_range, before.size, before.total()),
            (1, 2, 1, 4)
        );
        assert_eq!(
            store.counts().since(&before),
            StoreCounts {
                list: 1,
                ..Default::default()
            }
        );
    }
}
