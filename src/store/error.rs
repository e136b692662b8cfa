//! Errors of the store layer: each names the DB (or file) path and what was being done.

/// An error opening, migrating, reading or writing the learning DB.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A SQLite call failed.
    #[error("{path}: {op}: {source}")]
    Sql {
        /// The DB file.
        path: String,
        /// What was being done (`opening`, `inserting trades`, …).
        op: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file-system call failed (creating the DB's directory).
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The DB was written by a newer algolab (its schema version is above ours).
    #[error("{path}: schema version {found} is newer than this build's {supported}")]
    TooNew {
        /// The DB file.
        path: String,
        /// Version found in the file.
        found: i64,
        /// Latest version this build knows.
        supported: usize,
    },
    /// No run with that id.
    #[error("{path}: no run with id {run_id}")]
    RunNotFound {
        /// The DB file.
        path: String,
        /// The id asked for.
        run_id: i64,
    },
    /// A stored value that cannot be read back (an unknown side or exit reason, …).
    #[error("{path}: bad stored value: {what}")]
    BadValue {
        /// The DB file.
        path: String,
        /// What is wrong, naming the value.
        what: String,
    },
}

impl StoreError {
    /// Whether the DB was busy or locked by another connection (worth retrying later).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sql { source, .. } if matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        )
    }

    /// Exit code: always 1 (a store failure is never the user's bad input).
    pub fn exit_code(&self) -> i32 {
        1
    }
}
