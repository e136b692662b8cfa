//! Crash-safe file writes for state files and reports: write a temp file beside the target,
//! fsync it, rename it over the target, then fsync the directory. A reader sees the old file
//! or the new one, never a torn one. The parent directory must exist; this never creates it.

use std::io::{self, Write};
use std::path::Path;

/// Write `bytes` to `path` atomically (temp file + fsync + rename + directory fsync).
///
/// # Errors
/// Any I/O error (for example a missing or read-only parent directory, or a parent that is
/// a file), with the path in the message. The temp file is removed on failure.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        ));
    }
    crate::data::write_atomic_io(path, |f| f.write_all(bytes))
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn writes_and_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        atomic_write(&p, b"{\"a\":1}").unwrap();
        atomic_write(&p, b"{\"a\":2}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{\"a\":2}");
        // no temp files left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_parent_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/state.json");
        let e = atomic_write(&p, b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("state.json"), "{e}");
    }

    #[test]
    fn parent_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        fs::write(&file, b"x").unwrap();
        assert!(atomic_write(&file.join("state.json"), b"y").is_err());
        assert_eq!(fs::read(&file).unwrap(), b"x");
    }

    #[test]
    fn a_path_without_file_name_is_invalid_input() {
        let e = atomic_write(Path::new("/"), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
