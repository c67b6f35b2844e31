/// Why a byte string is not a valid sealed WAL segment. Positions are byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    /// The file ends before a structure it announces.
    #[error("WAL segment truncated: {what} needs {needed} bytes at byte {at}, file has {len}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Byte position of that structure.
        at: usize,
        /// Bytes it needs.
        needed: usize,
        /// File length.
        len: usize,
    },
    /// The first 8 bytes are not the WAL magic.
    #[error("not a tier WAL segment: bad magic {0:02x?}")]
    BadMagic(Vec<u8>),
    /// A version this reader does not know.
    #[error("unsupported {what} version {version} (this build reads version 1)")]
    UnsupportedVersion {
        /// Which versioned structure.
        what: &'static str,
        /// The version found.
        version: u32,
    },
    /// No seal trailer at the end of the file: the broker has not finished writing it.
    #[error("WAL segment is not sealed: no seal trailer at the end of the file")]
    NotSealed,
    /// A stored checksum does not match the bytes it covers.
    #[error(
        "WAL checksum mismatch in {what} at byte {at}: stored {stored:08x}, computed {computed:08x}"
    )]
    CrcMismatch {
        /// The structure whose checksum failed.
        what: &'static str,
        /// Byte position of that structure.
        at: usize,
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum of the bytes read.
        computed: u32,
    },
    /// A payload passed its checksum but does not decode.
    #[error("malformed {what} at byte {at}: {reason}")]
    Malformed {
        /// The structure being decoded.
        what: &'static str,
        /// Byte position of that structure.
        at: usize,
        /// What is wrong.
        reason: String,
    },
    /// The footer disagrees with the frames it seals.
    #[error("seal footer disagrees with the frames: {0}")]
    FooterMismatch(String),
}
