//! One tick at a time per bot: an OS file lock on `DATA_DIR/bots/<name>/tick.lock`.
//!
//! The lock is `flock`-style ([`std::fs::File::try_lock`]): the kernel drops it when the
//! holder dies, even by `kill -9`, so a killed tick can never wedge its bot. The file also
//! holds the holder's pid while it runs and is emptied on a normal release; a pid found in a
//! file we could lock therefore names a tick that ended without releasing (killed or
//! crashed), and the new tick reports that it took the stale lock over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::RunnerError;

/// A held tick lock; released (and its pid cleared) on drop.
#[derive(Debug)]
pub struct TickLock {
    file: File,
    path: PathBuf,
}

/// What [`TickLock::acquire`] found.
#[derive(Debug)]
pub enum LockOutcome {
    /// We hold the lock now.
    Acquired {
        /// The lock; keep it for the whole tick.
        lock: TickLock,
        /// The pid of an earlier tick that died holding the lock, if any.
        stale_pid: Option<u32>,
    },
    /// Another tick holds it.
    Busy {
        /// Its pid, if it had written it yet.
        holder_pid: Option<u32>,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RunnerError + '_ {
    move |source| RunnerError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut s = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut s).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

impl TickLock {
    /// Try to take the lock at `path` (the file is created if needed; its directory must
    /// exist) without waiting.
    ///
    /// # Errors
    /// [`RunnerError::Io`] when the file cannot be opened, locked or written.
    pub fn acquire(path: &Path) -> Result<LockOutcome, RunnerError> {
        let err = io_err(path);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(&err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Ok(LockOutcome::Busy {
                    holder_pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(err(e)),
        }
        let me = std::process::id();
        let stale_pid = read_pid(&mut file).filter(|&p| p != me);
        file.set_len(0).map_err(&err)?;
        file.seek(SeekFrom::Start(0)).map_err(&err)?;
        writeln!(file, "{me}").map_err(&err)?;
        file.sync_data().map_err(&err)?;
        Ok(LockOutcome::Acquired {
            lock: TickLock {
                file,
                path: path.to_path_buf(),
            },
            stale_pid,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TickLock {
    fn drop(&mut self) {
        // a normal end clears the pid, so a pid left behind means the holder died
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_busy_with_the_first_pid() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tick.lock");
        let LockOutcome::Acquired { lock, stale_pid } = TickLock::acquire(&p).unwrap() else {
            panic!("first acquire should succeed");
        };
        assert_eq!(stale_pid, None);
        // a second open file description conflicts even within one process
        match TickLock::acquire(&p).unwrap() {
            LockOutcome::Busy { holder_pid } => assert_eq!(holder_pid, Some(std::process::id())),
            LockOutcome::Acquired { .. } => panic!("lock taken twice"),
        }
        drop(lock);
        assert!(matches!(
            TickLock::acquire(&p).unwrap(),
            LockOutcome::Acquired {
                stale_pid: None,
                ..
            }
        ));
    }

    #[test]
    fn a_pid_left_by_a_dead_holder_is_reported_as_stale() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tick.lock");
        // what a killed tick leaves: its pid in an unlocked file
        std::fs::write(&p, "4000000\n").unwrap();
        match TickLock::acquire(&p).unwrap() {
            LockOutcome::Acquired { stale_pid, .. } => assert_eq!(stale_pid, Some(4_000_000)),
            LockOutcome::Busy { .. } => panic!("an unlocked file is not busy"),
        }
    }
}
