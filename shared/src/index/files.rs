//! The file set of an index ([`IndexFiles`]): exporting it from a tantivy index, and turning it
//! (or an extracted directory) back into a validated tantivy [`Index`].

use std::collections::HashSet;
use std::path::Path;

use tantivy::directory::{MmapDirectory, RamDirectory};
use tantivy::{Directory, Index, TantivyError};

use super::IndexError;
use super::schema::{check_schema, register_analyzers};

/// Name of tantivy's index metadata file; always part of a file set, listed last.
pub const META_FILE: &str = "meta.json";

/// Longest file name allowed in a file set, in bytes.
pub const MAX_FILE_NAME_LEN: usize = 90;

/// Every file needed to open one index: the segment files followed by `meta.json`.
///
/// Contract: names are flat (no `/` or `\`), not hidden (no leading `.`, so no lock files and
/// no `.managed.json`), at most [`MAX_FILE_NAME_LEN`] bytes and unique. Files produced by this
/// module are sorted by name with `meta.json` last, so writing them in order publishes the
/// metadata after the data it references.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexFiles {
    /// `(file name, file bytes)` pairs.
    pub files: Vec<(String, Vec<u8>)>,
}

impl IndexFiles {
    /// Sum of the file sizes, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|(_, bytes)| bytes.len() as u64).sum()
    }

    /// Writes every file into the existing directory `dir` (as extracting the archive would).
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), IndexError> {
        for (name, bytes) in &self.files {
            check_name(name)?;
            std::fs::write(dir.join(name), bytes)?;
        }
        Ok(())
    }
}

/// Rejects names that could escape a directory or clash with tantivy's private files.
pub(crate) fn check_name(name: &str) -> Result<(), IndexError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_FILE_NAME_LEN
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0']);
    if ok {
        Ok(())
    } else {
        Err(IndexError::Corrupt(format!(
            "invalid index file name {name:?}"
        )))
    }
}

/// Collects the file set of the committed state of `index`.
pub(crate) fn export(index: &Index) -> Result<IndexFiles, IndexError> {
    let metas = index.load_metas()?;
    let directory = index.directory();
    let mut names = Vec::new();
    for path in metas.list_segment_files() {
        // The list names every possible component (e.g. a `.del` file); keep those that exist.
        if !directory.exists(&path).map_err(TantivyError::from)? {
            continue;
        }
        let name = path
            .to_str()
            .ok_or_else(|| IndexError::Corrupt(format!("non UTF-8 file name {path:?}")))?;
        check_name(name)?;
        names.push(name.to_owned());
    }
    names.sort();
    names.push(META_FILE.to_owned());
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let bytes = directory
            .atomic_read(Path::new(&name))
            .map_err(TantivyError::from)?;
        files.push((name, bytes));
    }
    Ok(IndexFiles { files })
}

/// Loads a file set into a RAM directory, checking names, uniqueness and presence of
/// `meta.json`. Each file's bytes are dropped once copied.
pub(crate) fn import(files: IndexFiles) -> Result<RamDirectory, IndexError> {
    let directory = RamDirectory::create();
    let mut seen = HashSet::new();
    for (name, bytes) in files.files {
        check_name(&name)?;
        if !seen.insert(name.clone()) {
            return Err(IndexError::Corrupt(format!(
                "duplicate index file {name:?}"
            )));
        }
        directory.atomic_write(Path::new(&name), &bytes)?;
    }
    if !seen.contains(META_FILE) {
        return Err(IndexError::Corrupt(format!("missing {META_FILE}")));
    }
    Ok(directory)
}

/// Opens the directory `path` (e.g. an extracted archive) as a memory-mapped directory.
pub(crate) fn mmap_dir(path: &Path) -> Result<MmapDirectory, IndexError> {
    MmapDirectory::open(path).map_err(|e| IndexError::Corrupt(e.to_string()))
}

/// Opens an index, registers the analyzers, checks the schema version and verifies the checksum
/// of every segment file. Any failure to open is reported as [`IndexError::Corrupt`] (or
/// [`IndexError::SchemaMismatch`]); tantivy panics are caught and reported as corruption too.
pub(crate) fn open_index<D: Directory>(directory: D) -> Result<Index, IndexError> {
    no_panic("opening the index", move || {
        let corrupt = |e: TantivyError| IndexError::Corrupt(e.to_string());
        if !Index::exists(&directory).map_err(|e| corrupt(e.into()))? {
            return Err(IndexError::Corrupt(format!("missing {META_FILE}")));
        }
        let index = Index::open(directory).map_err(corrupt)?;
        register_analyzers(index.tokenizers());
        check_schema(&index)?;
        let metas = index.load_metas().map_err(corrupt)?;
        for path in metas.list_segment_files() {
            let directory = index.directory();
            if !directory.exists(&path).map_err(|e| corrupt(e.into()))? {
                // The delete bitset is the only optional component (we never delete).
                if path.extension().is_some_and(|ext| ext == "del") {
                    continue;
                }
                return Err(IndexError::Corrupt(format!("missing index file {path:?}")));
            }
            if !directory
                .validate_checksum(&path)
                .map_err(|e| corrupt(e.into()))?
            {
                return Err(IndexError::Corrupt(format!(
                    "checksum mismatch in {path:?}"
                )));
            }
        }
        Ok(index)
    })
}

/// Runs `f`, turning a panic inside tantivy into [`IndexError::Corrupt`]. Last line of defence
/// for damaged data that passes the checksums; has no effect when built with `panic = "abort"`.
pub(crate) fn no_panic<T>(
    what: &str,
    f: impl FnOnce() -> Result<T, IndexError>,
) -> Result<T, IndexError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(IndexError::Corrupt(format!(
            "tantivy panicked while {what}"
        )))
    })
}
