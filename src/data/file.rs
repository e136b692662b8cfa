//! [`load`] and [`save`]: bars from and to a file, the format chosen by the file.
//!
//! Loading detects the format: a `.parquet`/`.pq` extension or the Parquet magic bytes
//! `PAR1` mean Parquet; anything else is read as CSV, whose dialect the header tells
//! (ours, yfinance, Binance). Saving picks CSV or Parquet by the extension and is atomic:
//! the data goes to a temp file in the same folder, which is then renamed over the target,
//! so a reader never sees half a file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Bars, DataError, read_csv, read_parquet, write_csv, write_parquet};

/// The on-disk formats [`save`] can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// CSV text.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// The format a path's extension names (`.csv`, `.parquet`, `.pq`; case-insensitive).
pub fn kind_of(path: &Path) -> Option<FileKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" => Some(FileKind::Csv),
        "parquet" | "pq" => Some(FileKind::Parquet),
        _ => None,
    }
}

/// True when the file starts with the Parquet magic `PAR1`.
pub(crate) fn is_parquet_file(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PAR1"
}

/// Load bars from a CSV (ours, yfinance or Binance) or Parquet file, detecting the format.
///
/// # Errors
/// [`DataError`] naming the file, the line and the cause of the first problem.
pub fn load(path: &Path) -> Result<Bars, DataError> {
    if path.is_dir() {
        return Err(DataError::File {
            path: path.display().to_string(),
            cause: "is a directory, not a bar file".into(),
        });
    }
    if kind_of(path) == Some(FileKind::Parquet) || is_parquet_file(path) {
        read_parquet(path)
    } else {
        read_csv(path)
    }
}

/// Save bars as CSV or Parquet, by the extension of `path`, atomically.
///
/// # Errors
/// [`DataError::File`] for an extension other than `.csv`/`.parquet`/`.pq`;
/// [`DataError::Io`] if writing fails.
pub fn save(bars: &Bars, path: &Path) -> Result<(), DataError> {
    match kind_of(path) {
        Some(FileKind::Csv) => write_csv(bars, path),
        Some(FileKind::Parquet) => write_parquet(bars, path),
        None => Err(DataError::File {
            path: path.display().to_string(),
            cause: "unknown output format: use a .csv or .parquet extension".into(),
        }),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Write a file atomically: `fill` writes a temp file in the same folder, which is synced
/// and renamed over `path`; the folder is then synced too (best effort: not every platform
/// can open a folder), so the rename survives a power cut. On failure the temp file is
/// removed and `path` is untouched. The folder must exist.
///
/// # Errors
/// The I/O error of the step that failed.
pub fn write_atomic_io(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let tmp = temp_path(path);
    let result = File::create(&tmp).and_then(|mut f| {
        fill(&mut f)?;
        f.sync_all()
    });
    let result = result.and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    let _ = File::open(dir.unwrap_or(Path::new("."))).and_then(|d| d.sync_all());
    Ok(())
}

/// [`write_atomic_io`], creating the folder first.
///
/// # Errors
/// [`DataError::Io`] naming `path`.
pub(crate) fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let io = |source| DataError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    write_atomic_io(path, fill).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Bar;

    fn bars() -> Bars {
        Bars::from_bars([Bar {
            ts_ms: 0,
            open: 1.0,
            high: 2.0,
            low: 0.5,
            close: 1.5,
            volume: 3.0,
        }])
        .unwrap()
    }

    #[test]
    fn a_full_disk_mid_write_leaves_the_old_file_and_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state.json");
        std::fs::write(&path, b"old").unwrap();
        // ENOSPC (28) from the writer, as a full disk reports it
        let err = write_atomic_io(&path, |f| {
            use std::io::Write;
            f.write_all(b"partial")?;
            Err(std::io::Error::from_raw_os_error(28))
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "temp file left behind: {names:?}");
        // and the DataError form names the file
        let e = atomic_write(&path, |_| Err(std::io::Error::from_raw_os_error(28))).unwrap_err();
        assert!(e.to_string().contains("state.json"), "{e}");
    }

    #[test]
    fn save_then_load_by_extension() {
        let d = tempfile::tempdir().unwrap();
        for name in ["a.csv", "a.parquet", "sub/a.pq"] {
            let p = d.path().join(name);
            save(&bars(), &p).unwrap();
            assert_eq!(load(&p).unwrap(), bars(), "{name}");
        }
        // no temp files left behind
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn parquet_is_detected_by_magic_whatever_the_name() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.parquet");
        save(&bars(), &p).unwrap();
        let q = d.path().join("a.csv");
        std::fs::copy(&p, &q).unwrap();
        assert_eq!(load(&q).unwrap(), bars());
    }

    #[test]
    fn unknown_extension_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = save(&bars(), &d.path().join("a.xlsx")).unwrap_err();
        assert!(e.to_string().contains("unknown output format"), "{e}");
    }
}
