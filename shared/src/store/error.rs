use std::fmt;
use std::sync::Arc;

/// What kind of failure a storage operation hit; callers branch on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The object does not exist.
    NotFound,
    /// The requested byte range does not fit the object.
    InvalidRange,
    /// A conditional write's precondition did not hold.
    PreconditionFailed,
    /// The backend asked us to slow down; retrying later may succeed.
    Throttled,
    /// The backend did not answer in time; retrying may succeed.
    Timeout,
    /// Credentials or permissions were refused.
    Unauthorized,
    /// A local I/O failure.
    Io,
    /// Anything else the backend reported.
    Internal,
}

impl StoreErrorKind {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            StoreErrorKind::Throttled | StoreErrorKind::Timeout | StoreErrorKind::Io
        )
    }
}

/// A storage failure: a [`StoreErrorKind`], the key involved and the underlying cause.
#[derive(Debug, Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    key: String,
    source: Arc<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    /// A new error of `kind` about `key`, caused by `source`.
    pub fn new(
        kind: StoreErrorKind,
        key: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError {
            kind,
            key: key.into(),
            source: Arc::from(source.into()),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The key (or prefix) the operation was about.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "object store {:?} for {:?}: {}",
            self.kind, self.key, self.source
        )
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
