//! The read path: fetch (Kafka semantics over tiered segments, one segment per fetch), consumers
//! (fetch after fetch), offsets by position or time, and
//! full-text search — each a catalog lookup, then ranged reads of the archive members it needs,
//! answered from the original batches.

mod cache;
mod consume;
mod fetch;
mod filtered;
mod offsets;
mod reread;
mod search;
mod segment_cache;
mod segment_reader;
mod txns;
mod view;

pub use cache::{CacheStats, ReadCache};
pub use consume::Consumer;
pub use fetch::{FetchRequest, FetchResult};
pub use offsets::{OffsetQuery, OffsetResult};
pub use search::{SearchCursor, SearchHit, SearchPage, SearchRequest};
pub(crate) use segment_cache::SegmentCache;
pub use segment_cache::{SegmentCacheConfig, SegmentCacheStats};
pub(crate) use segment_reader::SegmentReader;
pub(crate) use txns::TxnCache;
pub use view::{Encoding, HeaderView, RecordView};
