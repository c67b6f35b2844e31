//! Positional reads of a source: the bytes of a segment in memory or in a local file, read a piece
//! at a time so that a source of any size is scanned in bounded memory.

use std::io;

/// Bytes that can be read at any position, from any thread.
pub trait ReadAt: Sync {
    /// How many bytes there are.
    fn size(&self) -> u64;

    /// Fills `buf` from `position`; [`io::ErrorKind::UnexpectedEof`] if the bytes end first.
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()>;

    /// `len` bytes from `position` (the caller bounds `len`).
    fn read_vec(&self, position: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.read_exact_at(&mut buf, position)?;
        Ok(buf)
    }

    /// At most `len` bytes from `position`: fewer where the bytes end.
    fn read_up_to(&self, position: u64, len: usize) -> io::Result<Vec<u8>> {
        let available = self.size().saturating_sub(position);
        match usize::try_from(available).map_or(len, |a| a.min(len)) {
            0 => Ok(Vec::new()),
            len => self.read_vec(position, len),
        }
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        let bytes = usize::try_from(position)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        self.as_slice().read_exact_at(buf, position)
    }
}

/// A local file read as a source; its size is taken once, when it is opened.
#[derive(Debug)]
pub struct SourceFile {
    file: std::fs::File,
    size: u64,
}

impl SourceFile {
    /// Opens `path` for reading.
    pub fn open(path: &std::path::Path) -> io::Result<SourceFile> {
        SourceFile::from_file(std::fs::File::open(path)?)
    }

    /// A source over an open file.
    pub fn from_file(file: std::fs::File) -> io::Result<SourceFile> {
        let size = file.metadata()?.len();
        Ok(SourceFile { file, size })
    }

    /// The CRC-32C of the whole file, read in pieces.
    pub fn crc32c(&self) -> io::Result<u32> {
        let mut crc = 0;
        let mut position = 0;
        while position < self.size {
            let piece = self.read_up_to(position, 1 << 20)?;
            crc = crc32c::crc32c_append(crc, &piece);
            position += piece.len() as u64;
        }
        Ok(crc)
    }
}

impl ReadAt for SourceFile {
    fn size(&self) -> u64 {
        self.size
    }

    #[cfg(unix)]
    fn read_exact_at(&self, buf: &mut [u8], position: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, position)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, mut buf: &mut [u8], mut position: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(&self.file, buf, position)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => {
                    buf = &mut buf[n..];
                    position += n as u64;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_file_read_the_same_and_stop_at_the_end() {
        let bytes: Vec<u8> = (0..=255).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &bytes).unwrap();
        let file = SourceFile::open(&path).unwrap();
        fn check(src: &(impl ReadAt + ?Sized)) {
            assert_eq!(src.size(), 256);
            assert_eq!(src.read_vec(10, 3).unwrap(), [10, 11, 12]);
            assert_eq!(
                src.read_up_to(250, 100).unwrap(),
                [250, 251, 252, 253, 254, 255]
            );
            assert!(src.read_up_to(300, 10).unwrap().is_empty());
            let err = src.read_vec(254, 3).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        }
        check(bytes.as_slice());
        check(&file);
        assert_eq!(file.crc32c().unwrap(), crc32c::crc32c(&bytes));
    }
}
