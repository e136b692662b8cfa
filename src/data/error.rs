//! Errors of the data layer. Each names the file, the line (1-based, as an editor shows it)
//! and the cause, on one line.

/// An error while reading, validating or resolving bar data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A problem on one line of a text file (or one row of a Parquet file).
    #[error("{path}:{line}: {cause}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong, naming the bad value.
        cause: String,
    },
    /// A problem with the file as a whole (empty, binary, missing column, unknown format).
    #[error("{path}: {cause}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// A bar that breaks an invariant of [`crate::data::Bars`] (0-based bar index).
    #[error("bar {index}: {cause}")]
    InvalidBar {
        /// 0-based index of the bar.
        index: usize,
        /// What is wrong, naming the bad value.
        cause: String,
    },
    /// A symbol with no cache entry and no bundled dataset.
    #[error("unknown symbol {symbol:?}; known symbols: {known}")]
    UnknownSymbol {
        /// The symbol asked for.
        symbol: String,
        /// The known symbols, comma-separated.
        known: String,
    },
}

impl DataError {
    /// Exit code: 2 (bad input) for every data error but an I/O failure on write, which is 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            DataError::Io { source, .. } if source.kind() != std::io::ErrorKind::NotFound => 1,
            _ => 2,
        }
    }

    /// Attach a file path and a line number to an [`DataError::InvalidBar`] found while
    /// loading; `line_of` maps the 0-based bar index to the file's 1-based line.
    pub fn at_line(self, path: &str, line_of: impl Fn(usize) -> u64) -> DataError {
        match self {
            DataError::InvalidBar { index, cause } => DataError::Line {
                path: path.to_string(),
                line: line_of(index),
                cause,
            },
            other => other,
        }
    }
}
