//! Shared fixtures for integration tests: run the built binary in a temp `DATA_DIR`.

#![allow(dead_code, reason = "each test module uses a different subset")]
#![allow(
    clippy::expect_used,
    reason = "test fixtures: a failed setup should panic"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `datasets/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundled dataset's path.
pub fn dataset(name: &str) -> PathBuf {
    repo_root().join("datasets").join(name)
}

/// A temp dir that acts as `DATA_DIR` and working dir for one CLI run.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        TestDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file under the temp dir and return its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, contents).expect("write");
        p
    }

    /// A command for the built `algolab` binary, run in the temp dir with `DATA_DIR` set
    /// to `<tmp>/data` and network base URLs pointing nowhere useful.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_algolab"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("DATA_DIR", self.dir.path().join("data"))
            .env("ALGOLAB_DATASETS", repo_root().join("datasets"))
            .env_remove("BINANCE_API_KEY")
            .env_remove("BINANCE_SECRET");
        c
    }

    /// Run and capture.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run algolab")
    }
}

/// stdout and stderr of a run as strings.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
