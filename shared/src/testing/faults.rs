//! Fault injection for tests: an object store and a catalog that let a chosen number of writes
//! through and then fail the next one — a crash (that write, applied or not, and every later call
//! fail, as if the process had died there) or a lost response (the write is applied, its caller sees
//! a failure, and the process goes on).
//!
//! The catalog can also run another process's work just before or just after a chosen call, to
//! interleave the two at a chosen point (e.g. a compaction between a reader's catalog lookup and
//! its read of the archive, so the reader holds a stale entry).
//!
//! The wrappers sit between a pipeline and real backends; the state the backends are left in is
//! exactly what the failing process would leave.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::catalog::{Catalog, CatalogCall, CatalogError, CatalogLayer, CatalogOp, CatalogResult};
use crate::store::{ObjectBody, ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult};
use crate::types::ObjectKey;

/// Which write fails, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Writes (puts, deletes, catalog changes) that succeed first.
    pub after_writes: u32,
    /// What happens to the next one.
    pub kind: FaultKind,
}

/// How the failing write fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The process dies before the write.
    Crash,
    /// The process dies after the write is applied, before it sees the response.
    CrashAfterWrite,
    /// The write is applied, the response is lost (the caller sees a timeout), the process goes on.
    LostResponse,
}

/// Shared by the store and the catalog of one "process".
#[derive(Debug, Default)]
pub struct Fuse {
    state: Mutex<FuseState>,
}

#[derive(Debug, Default)]
struct FuseState {
    armed: Option<Fault>,
    writes: u32,
    fired: bool,
    dead: bool,
}

/// What happens to one write.
enum Fate {
    Pass,
    Fail,
    ApplyThenFail,
}

impl Fuse {
    /// Fail as `fault` says, counting writes from now.
    pub fn arm(&self, fault: Fault) {
        *self.lock() = FuseState {
            armed: Some(fault),
            ..FuseState::default()
        };
    }

    /// Back to a healthy process (after a crash: a restart).
    pub fn disarm(&self) {
        *self.lock() = FuseState::default();
    }

    /// Whether the fault happened.
    pub fn fired(&self) -> bool {
        self.lock().fired
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FuseState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> bool {
        !self.lock().dead
    }

    fn write(&self) -> Fate {
        let mut s = self.lock();
        if s.dead {
            return Fate::Fail;
        }
        let Some(fault) = s.armed.filter(|_| !s.fired) else {
            return Fate::Pass;
        };
        if s.writes < fault.after_writes {
            s.writes += 1;
            return Fate::Pass;
        }
        s.fired = true;
        match fault.kind {
            FaultKind::Crash => {
                s.dead = true;
                Fate::Fail
            }
            FaultKind::CrashAfterWrite => {
                s.dead = true;
                Fate::ApplyThenFail
            }
            FaultKind::LostResponse => Fate::ApplyThenFail,
        }
    }
}

const INJECTED: &str = "injected fault";

fn store_crash(key: &str) -> StoreError {
    StoreError::new(StoreErrorKind::Timeout, key, INJECTED)
}

fn catalog_crash() -> CatalogError {
    CatalogError::Backend {
        retryable: true,
        message: INJECTED.into(),
    }
}

/// An object store that fails when its [`Fuse`] says so, and can be slow to read (widening the
/// window between a reader's catalog lookup and its read, where a concurrent delete can strike).
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    fuse: Arc<Fuse>,
    read_delay: std::time::Duration,
    cut_bodies_after: Option<u64>,
}

impl FaultyStore {
    /// A store over `inner` failing as `fuse` says.
    pub fn new(inner: Arc<dyn ObjectStore>, fuse: Arc<Fuse>) -> Self {
        FaultyStore {
            inner,
            fuse,
            read_delay: std::time::Duration::ZERO,
            cut_bodies_after: None,
        }
    }

    /// Every read first waits `delay`.
    pub fn with_read_delay(self, delay: std::time::Duration) -> Self {
        FaultyStore {
            read_delay: delay,
            ..self
        }
    }

    /// Every body read with [`ObjectStore::get_body`] breaks off after `bytes` bytes, as a
    /// connection cut mid-body does: the next piece fails with a retryable error.
    pub fn with_bodies_cut_after(self, bytes: u64) -> Self {
        FaultyStore {
            cut_bodies_after: Some(bytes),
            ..self
        }
    }

    async fn read(&self, key: &str) -> StoreResult<()> {
        if !self.read_delay.is_zero() {
            tokio::time::sleep(self.read_delay).await;
        }
        if self.fuse.read() {
            Ok(())
        } else {
            Err(store_crash(key))
        }
    }

    async fn write<F: std::future::Future<Output = StoreResult<()>>>(
        &self,
        key: &str,
        op: F,
    ) -> StoreResult<()> {
        match self.fuse.write() {
            Fate::Pass => op.await,
            Fate::Fail => Err(store_crash(key)),
            Fate::ApplyThenFail => {
                op.await?;
                Err(store_crash(key))
            }
        }
    }
}

#[async_trait]
impl ObjectStore for FaultyStore {
    async fn put(&self, key: &ObjectKey, data: Vec<u8>) -> StoreResult<()> {
        self.write(key.as_str(), self.inner.put(key, data)).await
    }

    async fn get(&self, key: &ObjectKey) -> StoreResult<Vec<u8>> {
        self.read(key.as_str()).await?;
        self.inner.get(key).await
    }

    async fn get_body(&self, key: &ObjectKey) -> StoreResult<Box<dyn ObjectBody>> {
        self.read(key.as_str()).await?;
        let body = self.inner.get_body(key).await?;
        Ok(match self.cut_bodies_after {
            Some(limit) => Box::new(CutBody {
                inner: body,
                left: limit,
                key: key.to_string(),
            }),
            None => body,
        })
    }

    async fn put_file(&self, key: &ObjectKey, path: &std::path::Path) -> StoreResult<()> {
        self.write(key.as_str(), self.inner.put_file(key, path))
            .await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> StoreResult<Vec<u8>> {
        self.read(key.as_str()).await?;
        self.inner.get_range(key, range).await
    }

    async fn size(&self, key: &ObjectKey) -> StoreResult<u64> {
        self.read(key.as_str()).await?;
        self.inner.size(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> StoreResult<()> {
        self.write(key.as_str(), self.inner.delete(key)).await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        self.read(prefix).await?;
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

/// A body that breaks off after `left` more bytes (a body shorter than that ends normally).
struct CutBody {
    inner: Box<dyn ObjectBody>,
    left: u64,
    key: String,
}

#[async_trait]
impl ObjectBody for CutBody {
    async fn next_piece(&mut self) -> StoreResult<Option<Vec<u8>>> {
        if self.left == 0 {
            return Err(StoreError::new(
                StoreErrorKind::Timeout,
                self.key.as_str(),
                "connection reset mid-body (injected)",
            ));
        }
        let Some(mut piece) = self.inner.next_piece().await? else {
            return Ok(None);
        };
        let keep = (piece.len() as u64).min(self.left);
        piece.truncate(keep as usize);
        self.left -= keep;
        Ok(Some(piece))
    }
}

/// Work of another process, run at a chosen point.
pub type Interleaved = Pin<Box<dyn Future<Output = ()> + Send>>;

/// When interleaved work runs, relative to the call it is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the wrapped catalog sees the call: the call observes the work's effects.
    Before,
    /// After the wrapped catalog answered, before the caller sees the answer: the caller holds an
    /// answer the work may have made stale.
    After,
}

/// A catalog that fails when its [`Fuse`] says so, and runs other processes' work at chosen
/// points ([`FaultyCatalog::interleave`]).
pub struct FaultyCatalog {
    inner: Arc<dyn Catalog>,
    fuse: Arc<Fuse>,
    interleaved: Mutex<Vec<(CatalogOp, When, Interleaved)>>,
}

impl std::fmt::Debug for FaultyCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyCatalog")
            .field("inner", &self.inner)
            .field("fuse", &self.fuse)
            .finish_non_exhaustive()
    }
}

impl FaultyCatalog {
    /// A catalog over `inner` failing as `fuse` says.
    pub fn new(inner: Arc<dyn Catalog>, fuse: Arc<Fuse>) -> Self {
        FaultyCatalog {
            inner,
            fuse,
            interleaved: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` once, at the next call of `op`, `when` it says.
    pub fn interleave(&self, op: CatalogOp, when: When, work: Interleaved) {
        self.lock_interleaved().push((op, when, work));
    }

    fn lock_interleaved(&self) -> std::sync::MutexGuard<'_, Vec<(CatalogOp, When, Interleaved)>> {
        self.interleaved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the work attached to `op` at `when`, if any (once).
    async fn run_interleaved(&self, op: CatalogOp, when: When) {
        let work = {
            let mut pending = self.lock_interleaved();
            let i = pending.iter().position(|(o, w, _)| *o == op && *w == when);
            i.map(|i| pending.remove(i).2)
        };
        if let Some(work) = work {
            work.await;
        }
    }
}

#[async_trait]
impl CatalogLayer for FaultyCatalog {
    fn inner(&self) -> &dyn Catalog {
        &*self.inner
    }

    async fn around<'a, T: Send + 'a>(
        &'a self,
        op: CatalogOp,
        call: CatalogCall<'a, T>,
    ) -> CatalogResult<T> {
        let fate = if op.is_write() {
            self.fuse.write()
        } else if self.fuse.read() {
            Fate::Pass
        } else {
            Fate::Fail
        };
        if matches!(fate, Fate::Fail) {
            return Err(catalog_crash());
        }
        self.run_interleaved(op, When::Before).await;
        let answer = call.await;
        self.run_interleaved(op, When::After).await;
        match fate {
            Fate::ApplyThenFail => answer.and(Err(catalog_crash())),
            _ => answer,
        }
    }
}
