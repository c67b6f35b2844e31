//! Half-open byte ranges inside an archive.

use serde::{Deserialize, Serialize};

use super::ArchiveError;

/// A half-open byte range `[start, end)` of absolute positions in an archive.
///
/// Ranges produced by the builder always cover exactly one complete gzip
/// member, so `archive[start..end]` can be fetched with one ranged GET and
/// decoded on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte of the range.
    pub start: u64,
    /// One past the last byte of the range.
    pub end: u64,
}

impl ByteRange {
    /// Builds a range; no validation (see [`ByteRange::len`]).
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// Number of bytes covered; 0 if `end <= start`.
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the range covers no byte.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// HTTP `Range` header value for this range (`bytes=start-(end-1)`), or
    /// `None` for an empty range, which HTTP cannot express.
    #[cfg(test)]
    pub fn http_range(&self) -> Option<String> {
        if self.is_empty() {
            None
        } else {
            Some(format!("bytes={}-{}", self.start, self.end - 1))
        }
    }

    /// The bytes of this range inside `buffer`, whose first byte sits at
    /// absolute position `base`. Fails with [`ArchiveError::RangeOutOfBounds`]
    /// if the range is inverted or not entirely inside the buffer.
    pub fn slice_of<'a>(&self, buffer: &'a [u8], base: u64) -> Result<&'a [u8], ArchiveError> {
        let out_of_bounds = || ArchiveError::RangeOutOfBounds {
            start: self.start,
            end: self.end,
            base,
            buffer_end: base.saturating_add(buffer.len() as u64),
        };
        if self.end < self.start {
            return Err(out_of_bounds());
        }
        let from = self.start.checked_sub(base).ok_or_else(out_of_bounds)?;
        let to = self.end.checked_sub(base).ok_or_else(out_of_bounds)?;
        let from = usize::try_from(from).map_err(|_| out_of_bounds())?;
        let to = usize::try_from(to).map_err(|_| out_of_bounds())?;
        buffer.get(from..to).ok_or_else(out_of_bounds)
    }
}
