//! A zero-copy view of one whole batch, and an iterator over concatenated
//! batches (the content of a `.log` segment).

use super::compression::{self, Compression};
use super::error::KafkaError;
use super::header::{BatchHeader, CRC_COVERAGE_START, offsets_fit};
use super::record::{self, Record};

/// One whole batch: its parsed header and its exact wire bytes.
///
/// The bytes are the source of truth; nothing here re-encodes a batch.
#[derive(Debug, Clone, Copy)]
pub struct RawBatch<'a> {
    header: BatchHeader,
    bytes: &'a [u8],
}

impl<'a> RawBatch<'a> {
    /// Parses the first batch of `buf` (anything after it is ignored).
    ///
    /// Header errors are those of [`BatchHeader::parse`]; a buffer shorter
    /// than the batch's `total_size` gives [`KafkaError::Truncated`]. The CRC
    /// and the records are not checked, except that a header failing the
    /// codec/offset checks of [`BatchHeader::parse`] is reported as
    /// [`KafkaError::CrcMismatch`] when its CRC does not match either
    /// (corruption is then the likelier cause).
    pub fn parse(buf: &'a [u8]) -> Result<RawBatch<'a>, KafkaError> {
        let header = BatchHeader::read(buf)?;
        let needed = header.total_size();
        let bytes = buf.get(..needed).ok_or(KafkaError::Truncated {
            needed,
            available: buf.len(),
        })?;
        let batch = RawBatch { header, bytes };
        header
            .validate()
            .map_err(|err| batch.blame_corruption(err))?;
        Ok(batch)
    }

    /// Replaces `err` by [`KafkaError::CrcMismatch`] when the CRC does not
    /// match: an inconsistent batch that is also corrupt is reported as corrupt.
    fn blame_corruption(&self, err: KafkaError) -> KafkaError {
        self.verify_crc().err().unwrap_or(err)
    }

    /// The parsed header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The batch's exact wire bytes (`header().total_size()` of them).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Checks the CRC-32C (Castagnoli) of bytes 21..end against the stored
    /// big-endian value at 17..21; [`KafkaError::CrcMismatch`] if they differ.
    pub fn verify_crc(&self) -> Result<(), KafkaError> {
        let computed = crc32c::crc32c(self.bytes.get(CRC_COVERAGE_START..).unwrap_or_default());
        match self.header.crc {
            stored if stored == computed => Ok(()),
            stored => Err(KafkaError::CrcMismatch { stored, computed }),
        }
    }

    /// Decompresses and decodes all records, with absolute offsets and timestamps,
    /// capping decompressed data at [`compression::MAX_DECOMPRESSED_SIZE`].
    ///
    /// Control batches decode like any other (their records hold the markers).
    /// Errors: [`KafkaError::Decompress`], [`KafkaError::TooLarge`], and
    /// [`KafkaError::MalformedRecord`] for anything wrong in the records
    /// (the checks are listed in the `record` module). The CRC is not verified
    /// on success; when decoding fails and the CRC does not match, the error
    /// is [`KafkaError::CrcMismatch`] instead.
    pub fn records(&self) -> Result<Vec<Record>, KafkaError> {
        self.records_with_limit(compression::MAX_DECOMPRESSED_SIZE)
    }

    /// Like [`RawBatch::records`] with a caller-chosen cap on decompressed bytes.
    pub fn records_with_limit(&self, max_decompressed: usize) -> Result<Vec<Record>, KafkaError> {
        self.decode(max_decompressed)
            .map_err(|err| self.blame_corruption(err))
    }

    fn decode(&self, max_decompressed: usize) -> Result<Vec<Record>, KafkaError> {
        let payload = self.bytes.get(BatchHeader::SIZE..).unwrap_or_default();
        match self.header.compression()? {
            Compression::None => record::decode_records(payload, &self.header),
            codec => {
                let data = compression::decompress(codec, payload, max_decompressed)?;
                record::decode_records(&data, &self.header)
            }
        }
    }
}

/// Iterates over the batches concatenated in `buf`, e.g. an Apache Kafka
/// `.log` segment file. See [`BatchIter`].
pub fn batches(buf: &[u8]) -> BatchIter<'_> {
    BatchIter {
        buf,
        position: 0,
        failed: false,
    }
}

/// Iterator returned by [`batches`].
///
/// Yields each batch as parsed by [`RawBatch::parse`] (CRC and records are
/// not checked). At the first batch that does not parse — including trailing
/// garbage or a partial batch at the end — it yields one
/// [`KafkaError::AtPosition`] carrying the byte position of that batch, then stops.
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    buf: &'a [u8],
    position: usize,
    failed: bool,
}

impl BatchIter<'_> {
    /// Byte position in the buffer of the next batch to be read.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<RawBatch<'a>, KafkaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self
            .buf
            .get(self.position..)
            .filter(|rest| !rest.is_empty())?;
        match RawBatch::parse(rest) {
            Ok(batch) => {
                self.position += batch.bytes().len();
                Some(Ok(batch))
            }
            Err(source) => {
                self.failed = true;
                Some(Err(KafkaError::AtPosition {
                    position: self.position,
                    source: Box::new(source),
                }))
            }
        }
    }
}

/// Sets the base offset (bytes 0..8) of the batch at the start of `batch`.
///
/// Only those eight bytes change; they are outside the CRC, so the batch stays
/// valid and its records' offsets shift with it. The batch is first checked
/// with [`RawBatch::parse`] (its errors are returned unchanged); a negative
/// `base_offset` or one whose last offset would overflow gives
/// [`KafkaError::InvalidInput`].
pub fn patch_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), KafkaError> {
    let last_offset_delta = RawBatch::parse(batch)?.header().last_offset_delta;
    if !offsets_fit(base_offset, last_offset_delta) {
        return Err(KafkaError::InvalidInput(format!(
            "base offset {base_offset} is negative or its last offset (delta {last_offset_delta}) overflows"
        )));
    }
    if let Some(field) = batch.first_chunk_mut::<8>() {
        *field = base_offset.to_be_bytes();
    }
    Ok(())
}
