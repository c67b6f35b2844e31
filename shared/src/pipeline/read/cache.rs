//! A bounded in-memory cache of what fetches and searches read: decoded record chunks and opened
//! indexes, shared across requests (e.g. warm Lambda invocations).
//!
//! Archives are immutable once written (every build gets a new key), so entries never go stale; the
//! cache is bounded by bytes and evicts least recently used entries.

use std::sync::{Arc, Mutex};

use lru::LruCache;
use serde::Serialize;

use crate::index::IndexReader;
use crate::types::ObjectKey;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    /// A record chunk: archive key and the chunk's start position.
    Chunk(ObjectKey, u64),
    /// The index of an archive.
    Index(ObjectKey),
}

#[derive(Clone)]
enum CacheValue {
    Chunk(Arc<Vec<u8>>),
    Index(Arc<IndexReader>, usize),
}

impl CacheValue {
    fn weight(&self) -> usize {
        match self {
            CacheValue::Chunk(data) => data.len(),
            CacheValue::Index(_, weight) => *weight,
        }
    }
}

/// Counters of a [`ReadCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to read the store.
    pub misses: u64,
    /// Bytes held.
    pub bytes: usize,
    /// Entries held.
    pub entries: usize,
}

struct State {
    entries: LruCache<CacheKey, CacheValue>,
    stats: CacheStats,
}

/// An LRU cache of at most `capacity` bytes. A capacity of 0 disables it.
pub struct ReadCache {
    capacity: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

impl ReadCache {
    /// A cache holding at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        ReadCache {
            capacity,
            state: Mutex::new(State {
                entries: LruCache::unbounded(),
                stats: CacheStats::default(),
            }),
        }
    }

    /// Whether anything is ever kept.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        self.state.lock().map(|s| s.stats).unwrap_or_default()
    }

    fn get(&self, key: &CacheKey) -> Option<CacheValue> {
        if self.capacity == 0 {
            return None;
        }
        let mut state = self.state.lock().ok()?;
        let found = state.entries.get(key).cloned();
        match found {
            Some(_) => state.stats.hits += 1,
            None => state.stats.misses += 1,
        }
        found
    }

    fn insert(&self, key: CacheKey, value: CacheValue) {
        let weight = value.weight();
        // An entry larger than a quarter of the cache would evict too much to be worth keeping.
        if self.capacity == 0 || weight > self.capacity / 4 {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let Some(old) = state.entries.put(key, value) {
            state.stats.bytes -= old.weight();
        }
        state.stats.bytes += weight;
        while state.stats.bytes > self.capacity {
            match state.entries.pop_lru() {
                Some((_, evicted)) => state.stats.bytes -= evicted.weight(),
                None => break,
            }
        }
        state.stats.entries = state.entries.len();
    }

    /// The decoded chunk of `archive` starting at byte `start`, if cached.
    pub(crate) fn chunk(&self, archive: &ObjectKey, start: u64) -> Option<Arc<Vec<u8>>> {
        match self.get(&CacheKey::Chunk(archive.clone(), start))? {
            CacheValue::Chunk(data) => Some(data),
            CacheValue::Index(..) => None,
        }
    }

    pub(crate) fn put_chunk(&self, archive: &ObjectKey, start: u64, data: Arc<Vec<u8>>) {
        self.insert(
            CacheKey::Chunk(archive.clone(), start),
            CacheValue::Chunk(data),
        );
    }

    /// The opened index of `archive`, if cached.
    pub(crate) fn index(&self, archive: &ObjectKey) -> Option<Arc<IndexReader>> {
        match self.get(&CacheKey::Index(archive.clone()))? {
            CacheValue::Index(reader, _) => Some(reader),
            CacheValue::Chunk(_) => None,
        }
    }

    pub(crate) fn put_index(&self, archive: &ObjectKey, reader: Arc<IndexReader>, weight: usize) {
        self.insert(
            CacheKey::Index(archive.clone()),
            CacheValue::Index(reader, weight),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> ObjectKey {
        format!("archives/t/0/{n}.tar.gz").parse().unwrap()
    }

    #[test]
    fn evicts_least_recently_used_within_capacity() {
        let cache = ReadCache::new(400);
        for n in 0..4 {
            cache.put_chunk(&key(n), 0, Arc::new(vec![n as u8; 100]));
        }
        assert!(cache.chunk(&key(0), 0).is_some()); // 0 is now most recently used
        cache.put_chunk(&key(4), 0, Arc::new(vec![4; 100]));
        assert!(
            cache.chunk(&key(1), 0).is_none(),
            "least recently used entry evicted"
        );
        assert_eq!(cache.chunk(&key(0), 0).as_deref(), Some(&vec![0; 100]));
        let stats = cache.stats();
        assert_eq!(
            (stats.bytes, stats.entries, stats.hits, stats.misses),
            (400, 4, 2, 1)
        );
    }

    #[test]
    fn oversized_entries_and_disabled_cache_hold_nothing() {
        let cache = ReadCache::new(400);
        cache.put_chunk(&key(0), 0, Arc::new(vec![0; 101]));
        assert!(cache.chunk(&key(0), 0).is_none());
        let off = ReadCache::new(0);
        off.put_chunk(&key(0), 0, Arc::new(vec![]));
        assert!(off.chunk(&key(0), 0).is_none());
        assert_eq!(off.stats(), CacheStats::default());
    }
}
