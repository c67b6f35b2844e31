//! A bounded, per-process cache of segment entries (with their decoded TOCs), consulted by fetch
//! before the catalog, so a warm container answers most fetches with one object-store GET.
//!
//! Contract (the argument is written out in docs/ARCHITECTURE.md, "Segment cache"):
//! - It answers only for offsets *inside* a cached segment (`base <= offset <= last`). Offsets in
//!   a gap between cached segments, or past the newest cached one, are always asked of the catalog:
//!   segments may arrive there at any time.
//! - An entry is used for at most `ttl_ms` after the catalog read that produced it began. A
//!   segment retired by a merge or by retention stays answerable from memory that long, and no
//!   longer: with a TTL shorter than garbage collection's grace period its archive is still in the
//!   store whenever it is used, with the same bytes at the same offsets.
//! - A reader that finds a cached entry's archive gone anyway (clocks, a shortened grace period)
//!   evicts it and asks the catalog ([`SegmentCache::evict`]).
//!
//! Cached entries of one partition never overlap: inserting a segment evicts the cached ones it
//! overlaps (a merged segment replaces the entries of its inputs).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use serde::Serialize;

use crate::archive::Toc;
use crate::catalog::SegmentEntry;
use crate::types::{Offset, TopicPartition};

/// Settings of a [`SegmentCache`]. `Default` disables it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentCacheConfig {
    /// Bytes of entries kept (their TOCs, mostly); 0 disables the cache.
    pub max_bytes: usize,
    /// How long an entry may be used after its catalog read, in ms; 0 disables the cache. Must be
    /// shorter than the grace period of the garbage collector deleting this catalog's archives.
    pub ttl_ms: i64,
}

impl SegmentCacheConfig {
    /// What the fetch function uses unless configured otherwise: 32 MiB (tens of thousands of
    /// entries), 60 s (far below the default 15-minute grace period).
    pub const RECOMMENDED: SegmentCacheConfig = SegmentCacheConfig {
        max_bytes: 32 << 20,
        ttl_ms: 60_000,
    };

    /// Whether the cache holds anything at all.
    pub fn enabled(&self) -> bool {
        self.max_bytes > 0 && self.ttl_ms > 0
    }
}

/// A cached segment: its catalog entry and its decoded table of contents.
#[derive(Debug)]
pub(crate) struct CachedSegment {
    pub entry: SegmentEntry,
    pub toc: Arc<Toc>,
}

/// Counters of a [`SegmentCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SegmentCacheStats {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that went to the catalog (nothing cached covered the offset, or it had expired).
    pub misses: u64,
    /// Of the misses, lookups whose covering entry had outlived its TTL.
    pub expired: u64,
    /// Entries evicted because their archive had vanished.
    pub evicted_stale: u64,
    /// Entries held.
    pub entries: usize,
    /// Bytes held (estimated).
    pub bytes: usize,
}

/// Key of an entry: the partition and the segment's last offset, so that a range scan from
/// `(tp, offset)` finds the first segment ending at or after `offset`.
type SlotKey = (TopicPartition, Offset);

struct Slot {
    segment: Arc<CachedSegment>,
    expires_at_ms: i64,
    weight: usize,
}

struct State {
    slots: LruCache<SlotKey, Slot>,
    by_end: BTreeSet<SlotKey>,
    stats: SegmentCacheStats,
}

impl State {
    fn remove(&mut self, key: &SlotKey) {
        if let Some(slot) = self.slots.pop(key) {
            self.stats.bytes -= slot.weight;
        }
        self.by_end.remove(key);
        self.stats.entries = self.slots.len();
    }

    /// The cached entry ending at or after `offset` in `tp`, if any.
    fn first_ending_at_or_after(&self, tp: &TopicPartition, offset: Offset) -> Option<SlotKey> {
        let start = (tp.clone(), offset);
        self.by_end
            .range((Bound::Included(start), Bound::Unbounded))
            .next()
            .filter(|(t, _)| t == tp)
            .cloned()
    }
}

/// See the module documentation.
pub struct SegmentCache {
    config: SegmentCacheConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for SegmentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentCache")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Estimated bytes held for `entry` beyond its TOC: the strings and the fixed fields.
const ENTRY_OVERHEAD: usize = 512;

impl SegmentCache {
    /// A cache with `config` (disabled if [`SegmentCacheConfig::enabled`] is false).
    pub fn new(config: SegmentCacheConfig) -> Self {
        SegmentCache {
            config,
            state: Mutex::new(State {
                slots: LruCache::unbounded(),
                by_end: BTreeSet::new(),
                stats: SegmentCacheStats::default(),
            }),
        }
    }

    /// Whether lookups can ever hit.
    pub fn enabled(&self) -> bool {
        self.config.enabled()
    }

    /// Current counters.
    pub fn stats(&self) -> SegmentCacheStats {
        self.state.lock().map(|s| s.stats).unwrap_or_default()
    }

    /// The cached segment of `tp` holding `offset`, if one is cached and younger than its TTL at
    /// `now_ms`. Counts a hit or a miss.
    pub(crate) fn holding(
        &self,
        tp: &TopicPartition,
        offset: Offset,
        now_ms: i64,
    ) -> Option<Arc<CachedSegment>> {
        if !self.enabled() {
            return None;
        }
        let mut state = self.state.lock().ok()?;
        let miss = |state: &mut State| {
            state.stats.misses += 1;
            None
        };
        let Some(key) = state.first_ending_at_or_after(tp, offset) else {
            return miss(&mut state);
        };
        let Some((segment, expires_at_ms)) = state
            .slots
            .get(&key)
            .map(|slot| (slot.segment.clone(), slot.expires_at_ms))
        else {
            return miss(&mut state);
        };
        if segment.entry.base_offset > offset {
            // A gap before the segment: the catalog may hold a segment there by now.
            return miss(&mut state);
        }
        if now_ms >= expires_at_ms {
            state.remove(&key);
            state.stats.expired += 1;
            return miss(&mut state);
        }
        state.stats.hits += 1;
        Some(segment)
    }

    /// Caches `entry`, read from the catalog by a request that began at `read_at_ms`; evicts the
    /// cached entries of its partition that it overlaps and, beyond the byte budget, the least
    /// recently used ones. Returns the cached form (also when the cache is disabled).
    pub(crate) fn insert(
        &self,
        entry: SegmentEntry,
        toc: Toc,
        read_at_ms: i64,
    ) -> Arc<CachedSegment> {
        let weight = entry.toc.len() + ENTRY_OVERHEAD;
        let segment = Arc::new(CachedSegment {
            entry,
            toc: Arc::new(toc),
        });
        if !self.enabled() || weight > self.config.max_bytes {
            return segment;
        }
        let Ok(mut state) = self.state.lock() else {
            return segment;
        };
        let entry = &segment.entry;
        let overlapped: Vec<SlotKey> = state
            .by_end
            .range((
                Bound::Included((entry.tp.clone(), entry.base_offset)),
                Bound::Unbounded,
            ))
            .take_while(|(tp, _)| *tp == entry.tp)
            .filter(|key| {
                state
                    .slots
                    .peek(*key)
                    .is_none_or(|slot| slot.segment.entry.base_offset <= entry.last_offset)
            })
            .cloned()
            .collect();
        for key in &overlapped {
            state.remove(key);
        }
        let key = (entry.tp.clone(), entry.last_offset);
        let slot = Slot {
            segment: segment.clone(),
            expires_at_ms: read_at_ms.saturating_add(self.config.ttl_ms),
            weight,
        };
        state.slots.put(key.clone(), slot);
        state.by_end.insert(key);
        state.stats.bytes += weight;
        while state.stats.bytes > self.config.max_bytes {
            match state.slots.pop_lru() {
                Some((key, slot)) => {
                    state.by_end.remove(&key);
                    state.stats.bytes -= slot.weight;
                }
                None => break,
            }
        }
        state.stats.entries = state.slots.len();
        segment
    }

    /// Forgets `entry` if it is cached: its archive was found gone.
    pub(crate) fn evict(&self, entry: &SegmentEntry) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let key = (entry.tp.clone(), entry.last_offset);
        let same = state
            .slots
            .peek(&key)
            .is_some_and(|slot| slot.segment.entry.archive_key == entry.archive_key);
        if same {
            state.remove(&key);
            state.stats.evicted_stale += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ByteRange, MemberEntry};

    fn tp(p: i64) -> TopicPartition {
        TopicPartition::new("t".parse().unwrap(), p.try_into().unwrap())
    }

    fn entry(tp: &TopicPartition, base: i64, last: i64) -> SegmentEntry {
        crate::testing::catalog_suite::segment(tp, base, last, 7)
    }

    fn toc() -> Toc {
        Toc {
            chunks: Vec::new(),
            index_files: Vec::new(),
            manifest: MemberEntry {
                name: "manifest.json".into(),
                range: ByteRange { start: 0, end: 0 },
                data_len: 0,
                crc32c: 0,
            },
        }
    }

    fn off(o: i64) -> Offset {
        Offset::try_from(o).unwrap()
    }

    fn cache(max_bytes: usize) -> SegmentCache {
        SegmentCache::new(SegmentCacheConfig {
            max_bytes,
            ttl_ms: 1_000,
        })
    }

    fn base_at(cache: &SegmentCache, tp: &TopicPartition, offset: i64, now: i64) -> Option<i64> {
        cache
            .holding(tp, off(offset), now)
            .map(|s| s.entry.base_offset.get())
    }

    #[test]
    fn answers_only_inside_cached_segments_and_only_before_expiry() {
        let c = cache(1 << 20);
        let p = tp(0);
        c.insert(entry(&p, 0, 99), toc(), 0);
        c.insert(entry(&p, 200, 299), toc(), 0);
        assert_eq!(base_at(&c, &p, 0, 10), Some(0));
        assert_eq!(base_at(&c, &p, 99, 10), Some(0));
        assert_eq!(base_at(&c, &p, 150, 10), None, "a gap goes to the catalog");
        assert_eq!(base_at(&c, &p, 250, 10), Some(200));
        assert_eq!(
            base_at(&c, &p, 300, 10),
            None,
            "past the newest cached segment"
        );
        assert_eq!(base_at(&c, &tp(1), 50, 10), None, "another partition");
        assert_eq!(base_at(&c, &p, 50, 999), Some(0));
        assert_eq!(
            base_at(&c, &p, 50, 1_000),
            None,
            "expired at read time + TTL"
        );
        let stats = c.stats();
        assert_eq!((stats.hits, stats.misses, stats.expired), (4, 4, 1));
        assert_eq!(stats.entries, 1, "the expired entry is gone");
    }

    #[test]
    fn a_merged_segment_replaces_the_entries_it_overlaps() {
        let c = cache(1 << 20);
        let p = tp(0);
        for base in [0, 100, 200, 300] {
            c.insert(entry(&p, base, base + 99), toc(), 0);
        }
        c.insert(entry(&p, 100, 299), toc(), 5);
        assert_eq!(base_at(&c, &p, 50, 10), Some(0));
        assert_eq!(base_at(&c, &p, 150, 10), Some(100));
        assert_eq!(base_at(&c, &p, 250, 10), Some(100));
        assert_eq!(base_at(&c, &p, 350, 10), Some(300));
        assert_eq!(c.stats().entries, 3);
    }

    #[test]
    fn bounded_by_bytes_least_recently_used_first() {
        let one = entry(&tp(0), 0, 0).toc.len() + ENTRY_OVERHEAD;
        let c = cache(3 * one);
        let p = tp(0);
        for base in [0, 100, 200] {
            c.insert(entry(&p, base, base + 99), toc(), 0);
        }
        assert!(c.holding(&p, off(0), 1).is_some());
        c.insert(entry(&p, 300, 399), toc(), 0);
        assert_eq!(base_at(&c, &p, 150, 1), None, "least recently used evicted");
        assert_eq!(base_at(&c, &p, 50, 1), Some(0));
        assert_eq!(c.stats().bytes, 3 * one);
    }

    #[test]
    fn evicting_a_stale_entry_and_a_disabled_cache() {
        let c = cache(1 << 20);
        let p = tp(0);
        c.insert(entry(&p, 0, 99), toc(), 0);
        c.evict(&entry(&p, 100, 199));
        c.evict(&entry(&p, 1, 99));
        assert_eq!(c.stats().evicted_stale, 0, "not the cached segment");
        c.evict(&entry(&p, 0, 99));
        assert_eq!(base_at(&c, &p, 42, 1), None);
        assert_eq!(c.stats().evicted_stale, 1);
        for off_config in [
            SegmentCacheConfig::default(),
            SegmentCacheConfig {
                max_bytes: 1 << 20,
                ttl_ms: 0,
            },
        ] {
            let off_cache = SegmentCache::new(off_config);
            off_cache.insert(entry(&p, 0, 99), toc(), 0);
            assert!(off_cache.holding(&p, off(5), 0).is_none());
            assert_eq!(off_cache.stats(), SegmentCacheStats::default());
        }
    }
}
