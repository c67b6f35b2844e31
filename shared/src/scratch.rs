//! Local scratch space for one indexing run: the downloaded source and the archives being built
//! live in files there, so memory does not grow with a segment's size. The space is a fresh
//! directory removed (with everything in it) when the [`Scratch`] is dropped, and may be held to
//! a byte budget (Lambda's `/tmp` is the function's `EphemeralStorage`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How scratch directories' names start.
const PREFIX: &str = "tier-scratch-";

/// Where scratch space is made, and how much of it one run may fill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScratchConfig {
    /// The directory scratch directories are made in (default: the system's temporary directory,
    /// `/tmp` on Lambda).
    pub dir: Option<PathBuf>,
    /// The most bytes one run may write there (default: no limit but the disk's).
    pub limit_bytes: Option<u64>,
}

/// A scratch directory of one run; removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
    limit: Option<u64>,
    used: Arc<AtomicU64>,
}

/// Why scratch space failed.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// The disk, or the run's budget, is full.
    #[error("scratch space {dir} is full: {detail}")]
    Full {
        /// The scratch directory.
        dir: PathBuf,
        /// What filled it.
        detail: String,
    },
    /// Any other I/O failure there.
    #[error("scratch space {dir}: {source}")]
    Io {
        /// The scratch directory.
        dir: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

impl Scratch {
    /// A fresh scratch directory as `config` says.
    pub fn new(config: &ScratchConfig) -> Result<Scratch, ScratchError> {
        let parent = config.dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(&parent)
            .map_err(|source| classify(&parent, source))?;
        Ok(Scratch {
            dir,
            limit: config.limit_bytes,
            used: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Removes the scratch directories runs left in `config`'s directory (a process killed
    /// mid-run, e.g. a Lambda invocation that timed out, leaves its own behind); returns how
    /// many. Call it only where no other process uses that directory at the same time: a Lambda
    /// execution environment runs one invocation at a time and its `/tmp` is its own, but a
    /// `TIER_SCRATCH_DIR` on storage shared by several environments must not be cleared so.
    pub fn remove_stale(config: &ScratchConfig) -> usize {
        let parent = config.dir.clone().unwrap_or_else(std::env::temp_dir);
        let Ok(entries) = std::fs::read_dir(&parent) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
            .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
            .count()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes written into it so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// A new file `name` in it, written through a buffer and counted against the budget.
    pub fn create(&self, name: &str) -> Result<ScratchFile, ScratchError> {
        let path = self.dir.path().join(name);
        let file = File::create(&path).map_err(|e| self.error(e))?;
        Ok(ScratchFile {
            out: BufWriter::with_capacity(1 << 20, file),
            path,
            limit: self.limit,
            used: self.used.clone(),
        })
    }

    /// `e`, which happened in this space, classified.
    pub fn error(&self, e: io::Error) -> ScratchError {
        classify(self.dir.path(), e)
    }
}

fn classify(dir: &Path, source: io::Error) -> ScratchError {
    if source.kind() == io::ErrorKind::StorageFull {
        ScratchError::Full {
            dir: dir.to_path_buf(),
            detail: source.to_string(),
        }
    } else {
        ScratchError::Io {
            dir: dir.to_path_buf(),
            source,
        }
    }
}

/// A file being written in a [`Scratch`]. A write over the run's budget fails with
/// [`io::ErrorKind::StorageFull`], as a full disk does.
#[derive(Debug)]
pub struct ScratchFile {
    out: BufWriter<File>,
    path: PathBuf,
    limit: Option<u64>,
    used: Arc<AtomicU64>,
}

impl ScratchFile {
    /// Flushes it to the file (not to the disk: scratch does not outlive a crash) and returns
    /// the path.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.out.flush()?;
        Ok(self.path)
    }
}

impl Write for ScratchFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len() as u64;
        let before = self.used.fetch_add(len, Ordering::Relaxed);
        if let Some(limit) = self.limit
            && before + len > limit
        {
            self.used.fetch_sub(len, Ordering::Relaxed);
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("the run's budget of {limit} bytes is spent"),
            ));
        }
        match self.out.write(buf) {
            Ok(n) => {
                self.used.fetch_sub(len - n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                self.used.fetch_sub(len, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_fails_writes_as_a_full_disk_and_the_directory_goes_with_the_scratch() {
        let parent = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(&ScratchConfig {
            dir: Some(parent.path().to_path_buf()),
            limit_bytes: Some(10),
        })
        .unwrap();
        let dir = scratch.path().to_path_buf();
        assert!(dir.starts_with(parent.path()));
        let mut f = scratch.create("a").unwrap();
        f.write_all(b"123456").unwrap();
        let err = f.write_all(b"123456").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(scratch.used(), 6);
        assert!(matches!(scratch.error(err), ScratchError::Full { .. }));
        let path = f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"123456");
        drop(scratch);
        assert!(!dir.exists());
    }

    #[test]
    fn stale_scratch_directories_are_removed_and_nothing_else() {
        let parent = tempfile::tempdir().unwrap();
        let config = ScratchConfig {
            dir: Some(parent.path().to_path_buf()),
            limit_bytes: None,
        };
        let stale = Scratch::new(&config).unwrap();
        let mut f = stale.create("archive-0.tar.gz").unwrap();
        f.write_all(b"partial").unwrap();
        f.finish().unwrap();
        // A killed process never drops its scratch.
        let kept = stale.dir.keep();
        std::fs::write(parent.path().join("other"), b"x").unwrap();
        assert_eq!(Scratch::remove_stale(&config), 1);
        assert!(!kept.exists());
        assert!(parent.path().join("other").exists());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_full_disk_is_told_apart_from_other_failures() {
        // /dev/full answers every write with ENOSPC, as a full /tmp does.
        let file = File::options().write(true).open("/dev/full").unwrap();
        let mut out = ScratchFile {
            out: BufWriter::with_capacity(4, file),
            path: "/dev/full".into(),
            limit: None,
            used: Arc::default(),
        };
        let err = out.write_all(b"0123456789").unwrap_err();
        assert!(matches!(
            classify(Path::new("/x"), err),
            ScratchError::Full { .. }
        ));
        let other = classify(
            Path::new("/x"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(other, ScratchError::Io { .. }));
    }
}
