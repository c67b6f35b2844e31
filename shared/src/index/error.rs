//! The error type of the index module.

/// Everything that can go wrong while building, opening, searching or merging an index.
///
/// No function of this module panics on bad input data: malformed queries, corrupt or missing
/// files and foreign schemas are all reported through this type.
#[derive(thiserror::Error, Debug)]
pub enum IndexError {
    /// The query string could not be parsed. Carries tantivy's reason, meant to be shown to the
    /// user who typed the query.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The index files are damaged, incomplete or not an index at all (missing `meta.json`, bad
    /// checksum, unreadable segment, unsafe file name...).
    #[error("corrupt index: {0}")]
    Corrupt(String),
    /// The index was written with a schema other than this build's [`super::SCHEMA_VERSION`].
    #[error("index schema mismatch: {0}")]
    SchemaMismatch(String),
    /// The caller passed an argument that cannot be honoured (e.g. the same segment twice to
    /// [`super::merge`]).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Any other error reported by tantivy.
    #[error(transparent)]
    Tantivy(#[from] tantivy::TantivyError),
    /// I/O error on the temporary build directory.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
