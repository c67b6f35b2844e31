use super::layout::{
    FOOTER_VERSION, FORMAT_VERSION, HEADER_MAGIC, RECORD_VERSION, TRAILER_MAGIC, bincode_config,
};
use super::{CanonicalRecord, PartitionSeal, SealFooter, WalError};

/// Builds a sealed WAL segment in memory, as a broker would.
///
/// Frames are written in `append` order. [`WalWriter::seal`] adds the footer and trailer; until then
/// the bytes are an unsealed segment that readers reject.
#[derive(Debug)]
pub struct WalWriter {
    buf: Vec<u8>,
    frames_crc: u32,
    frame_count: u64,
    partitions: Vec<PartitionSeal>,
}

impl Default for WalWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl WalWriter {
    /// A segment with just its header.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(&HEADER_MAGIC);
        buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        WalWriter {
            buf,
            frames_crc: 0,
            frame_count: 0,
            partitions: Vec::new(),
        }
    }

    /// Appends one frame. Offsets of a partition must increase from frame to frame.
    pub fn append(&mut self, record: &CanonicalRecord) -> Result<(), WalError> {
        let mut payload = vec![RECORD_VERSION];
        bincode::encode_into_std_write(record, &mut payload, bincode_config()).map_err(|e| {
            WalError::Malformed {
                what: "frame",
                at: self.buf.len(),
                reason: e.to_string(),
            }
        })?;
        let len = u32::try_from(payload.len()).map_err(|_| WalError::Malformed {
            what: "frame",
            at: self.buf.len(),
            reason: "payload larger than 4 GiB".into(),
        })?;
        let start = self.buf.len();
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf
            .extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        self.buf.extend_from_slice(&payload);
        self.frames_crc = crc32c::crc32c_append(self.frames_crc, &self.buf[start..]);
        self.frame_count += 1;
        self.note_partition(record, start)
    }

    fn note_partition(&mut self, r: &CanonicalRecord, at: usize) -> Result<(), WalError> {
        let existing = self
            .partitions
            .iter_mut()
            .find(|p| p.topic == r.topic && p.partition == r.partition);
        match existing {
            Some(p) if r.base_offset <= p.last_offset => Err(WalError::Malformed {
                what: "frame",
                at,
                reason: format!(
                    "{}/{}: base offset {} does not follow last offset {}",
                    r.topic, r.partition, r.base_offset, p.last_offset
                ),
            }),
            Some(p) => {
                p.last_offset = r.last_offset;
                p.batch_count += 1;
                p.record_count += u64::from(r.record_count);
                Ok(())
            }
            None => {
                self.partitions.push(PartitionSeal {
                    topic: r.topic.clone(),
                    partition: r.partition,
                    first_offset: r.base_offset,
                    last_offset: r.last_offset,
                    batch_count: 1,
                    record_count: u64::from(r.record_count),
                });
                Ok(())
            }
        }
    }

    /// The bytes written so far, without a seal: what a crashed broker leaves behind.
    pub fn unsealed_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Writes the footer and trailer and returns the sealed segment.
    pub fn seal(mut self) -> Result<Vec<u8>, WalError> {
        let footer = SealFooter {
            frame_count: self.frame_count,
            frames_crc: self.frames_crc,
            partitions: std::mem::take(&mut self.partitions),
        };
        let mut payload = vec![FOOTER_VERSION];
        bincode::encode_into_std_write(&footer, &mut payload, bincode_config()).map_err(|e| {
            WalError::Malformed {
                what: "footer",
                at: self.buf.len(),
                reason: e.to_string(),
            }
        })?;
        let len = u32::try_from(payload.len()).map_err(|_| WalError::Malformed {
            what: "footer",
            at: self.buf.len(),
            reason: "footer larger than 4 GiB".into(),
        })?;
        self.buf.extend_from_slice(&payload);
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf
            .extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        self.buf.extend_from_slice(&TRAILER_MAGIC);
        Ok(self.buf)
    }
}
