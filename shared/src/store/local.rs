use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;

use super::{ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult};
use crate::types::ObjectKey;

/// Objects as files under a root directory; the embedded default backend.
///
/// A key maps to the path `root/<key>`; [`ObjectKey`] validation guarantees it stays under `root`.
/// `put` writes a temporary file beside the target and renames it into place, so readers never see a
/// partial object. Temporary files start with `.tmp-` and are never listed.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

const TMP_PREFIX: &str = ".tmp-";

fn io_error(key: &str, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        ErrorKind::NotFound => StoreErrorKind::NotFound,
        ErrorKind::PermissionDenied => StoreErrorKind::Unauthorized,
        _ => StoreErrorKind::Io,
    };
    StoreError::new(kind, key, e)
}

impl LocalStore {
    /// A store rooted at `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_error(&root.display().to_string(), e))?;
        Ok(LocalStore { root })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    /// Writes the object `key` with `fill` into a temporary file beside it (on a blocking
    /// thread), synced and renamed into place.
    async fn write_atomically(
        &self,
        key: &ObjectKey,
        fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()> + Send + 'static,
    ) -> StoreResult<()> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(TMP_PREFIX)
                .tempfile_in(&dir)?;
            fill(tmp.as_file_mut())?;
            tmp.as_file().sync_data()?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::new(StoreErrorKind::Internal, key.as_str(), e))?
        .map_err(|e| io_error(key.as_str(), e))
    }
}

/// A local file's body, read [`super::BODY_PIECE_BYTES`] at a time.
struct FileBody {
    file: tokio::fs::File,
    key: String,
}

#[async_trait]
impl super::ObjectBody for FileBody {
    async fn next_piece(&mut self) -> StoreResult<Option<Vec<u8>>> {
        use tokio::io::AsyncReadExt;
        let mut piece = Vec::with_capacity(super::BODY_PIECE_BYTES);
        let mut limited = (&mut self.file).take(super::BODY_PIECE_BYTES as u64);
        limited
            .read_to_end(&mut piece)
            .await
            .map_err(|e| io_error(&self.key, e))?;
        Ok((!piece.is_empty()).then_some(piece))
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn get_body(&self, key: &ObjectKey) -> StoreResult<Box<dyn super::ObjectBody>> {
        let file = tokio::fs::File::open(self.path(key))
            .await
            .map_err(|e| io_error(key.as_str(), e))?;
        Ok(Box::new(FileBody {
            file,
            key: key.to_string(),
        }))
    }

    async fn put_file(&self, key: &ObjectKey, source: &Path) -> StoreResult<()> {
        let source = source.to_path_buf();
        self.write_atomically(key, move |tmp| {
            std::io::copy(&mut std::fs::File::open(&source)?, tmp).map(|_| ())
        })
        .await
    }

    async fn put(&self, key: &ObjectKey, data: Vec<u8>) -> StoreResult<()> {
        self.write_atomically(key, move |tmp| std::io::Write::write_all(tmp, &data))
            .await
    }

    async fn get(&self, key: &ObjectKey) -> StoreResult<Vec<u8>> {
        tokio::fs::read(self.path(key))
            .await
            .map_err(|e| io_error(key.as_str(), e))
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> StoreResult<Vec<u8>> {
        // Open, size and one read straight into the result, blocking (tokio's file reads go
        // through a buffer of their own, with a copy and a pool task per piece).
        let (path, key) = (self.path(key), key.clone());
        let read = move || -> StoreResult<Vec<u8>> {
            use std::io::{Read, Seek};
            let err = |e| io_error(key.as_str(), e);
            let mut file = std::fs::File::open(&path).map_err(err)?;
            let size = file.metadata().map_err(err)?.len();
            let end = range.end.min(size);
            if range.start > range.end || (range.start >= size && range.start < range.end) {
                return Err(StoreError::new(
                    StoreErrorKind::InvalidRange,
                    key.as_str(),
                    format!(
                        "range {}..{} outside object of {size} bytes",
                        range.start, range.end
                    ),
                ));
            }
            let len = usize::try_from(end.saturating_sub(range.start))
                .map_err(|e| StoreError::new(StoreErrorKind::InvalidRange, key.as_str(), e))?;
            // Read into spare capacity: no zeroing of a buffer about to be overwritten.
            let mut buf = Vec::with_capacity(len);
            file.seek(std::io::SeekFrom::Start(range.start))
                .map_err(err)?;
            file.take(len as u64).read_to_end(&mut buf).map_err(err)?;
            if buf.len() < len {
                let short = std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("file shrank: read {} of {len} bytes", buf.len()),
                );
                return Err(err(short));
            }
            Ok(buf)
        };
        // On a multi-threaded runtime the read runs in place (the runtime moves this worker's
        // other tasks away meanwhile): no hand-off to a pool thread and back, which costs more
        // than a read from the page cache.
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return tokio::task::block_in_place(read);
        }
        tokio::task::spawn_blocking(read).await.map_err(|e| {
            StoreError::new(StoreErrorKind::Io, "local store", format!("read task: {e}"))
        })?
    }

    async fn size(&self, key: &ObjectKey) -> StoreResult<u64> {
        let meta = tokio::fs::metadata(self.path(key))
            .await
            .map_err(|e| io_error(key.as_str(), e))?;
        if !meta.is_file() {
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                key.as_str(),
                "not a file",
            ));
        }
        Ok(meta.len())
    }

    async fn delete(&self, key: &ObjectKey) -> StoreResult<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_error(key.as_str(), e)),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let prefix_owned = prefix.to_owned();
        let mut found = tokio::task::spawn_blocking(move || walk(&root, &prefix_owned))
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Internal, prefix, e))?
            .map_err(|e| io_error(prefix, e))?;
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }
}

/// Every file under `root` whose key starts with `prefix`, skipping temporaries.
fn walk(root: &Path, prefix: &str) -> std::io::Result<Vec<ObjectMeta>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            let path = entry.path();
            if meta.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let Some(rel) = rel.to_str() else { continue };
            let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
            let is_tmp = entry.file_name().to_string_lossy().starts_with(TMP_PREFIX);
            let Ok(key) = ObjectKey::try_from(rel) else {
                continue;
            };
            if is_tmp || !key.as_str().starts_with(prefix) {
                continue;
            }
            let modified = meta
                .modified()?
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            out.push(ObjectMeta {
                key,
                size: meta.len(),
                last_modified_ms: i64::try_from(modified.as_millis()).unwrap_or(i64::MAX),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    crate::object_store_test_suite!({
        let dir = tempfile::tempdir().unwrap();
        let store = super::LocalStore::open(dir.path().join("objects")).unwrap();
        (store, dir)
    });
}
