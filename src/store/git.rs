//! The current git revision, read from `.git` files without running `git`: `HEAD`, then the
//! loose ref or `packed-refs`. Handles worktrees (`.git` as a `gitdir:` file with a
//! `commondir`). Returns `None` when there is no repository or the files are unreadable.

use std::fs;
use std::path::{Path, PathBuf};

/// The git directory of the repository containing `start` (searching upward).
fn git_dir(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        if dot_git.is_file() {
            let text = fs::read_to_string(&dot_git).ok()?;
            let target = text.trim().strip_prefix("gitdir:")?.trim();
            return Some(dir.join(target));
        }
    }
    None
}

/// The directory holding shared refs (the main `.git` for a worktree).
fn common_dir(git_dir: &Path) -> PathBuf {
    match fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim()),
        Err(_) => git_dir.to_path_buf(),
    }
}

fn is_hash(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn resolve_ref(git_dir: &Path, name: &str) -> Option<String> {
    for base in [git_dir.to_path_buf(), common_dir(git_dir)] {
        if let Ok(text) = fs::read_to_string(base.join(name)) {
            let h = text.trim();
            if is_hash(h) {
                return Some(h.to_string());
            }
        }
        if let Ok(packed) = fs::read_to_string(base.join("packed-refs")) {
            for line in packed.lines() {
                if let Some((h, r)) = line.split_once(' ')
                    && r.trim() == name
                    && is_hash(h)
                {
                    return Some(h.to_string());
                }
            }
        }
    }
    None
}

/// The commit hash checked out in the repository containing `start`, or `None`.
pub fn git_rev_from(start: &Path) -> Option<String> {
    let dir = git_dir(start)?;
    let head = fs::read_to_string(dir.join("HEAD")).ok()?;
    let head = head.trim();
    match head.strip_prefix("ref:") {
        Some(name) => resolve_ref(&dir, name.trim()),
        None if is_hash(head) => Some(head.to_string()),
        None => None,
    }
}

/// The commit hash checked out in the current directory's repository, or `None`.
pub fn git_rev() -> Option<String> {
    git_rev_from(&std::env::current_dir().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "0123456789abcdef0123456789abcdef01234567";
    const H2: &str = "89abcdef0123456789abcdef0123456789abcdef";

    fn repo() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join(".git/refs/heads")).unwrap();
        fs::create_dir_all(d.path().join("src/deep")).unwrap();
        d
    }

    #[test]
    fn loose_ref_is_found_from_a_subdirectory() {
        let d = repo();
        fs::write(d.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(d.path().join(".git/refs/heads/main"), format!("{H1}\n")).unwrap();
        assert_eq!(
            git_rev_from(&d.path().join("src/deep")).as_deref(),
            Some(H1)
        );
    }

    #[test]
    fn packed_ref_and_detached_head() {
        let d = repo();
        fs::write(d.path().join(".git/HEAD"), "ref: refs/heads/dev\n").unwrap();
        fs::write(
            d.path().join(".git/packed-refs"),
            format!("# pack-refs with: peeled\n{H1} refs/heads/main\n{H2} refs/heads/dev\n"),
        )
        .unwrap();
        assert_eq!(git_rev_from(d.path()).as_deref(), Some(H2));
        fs::write(d.path().join(".git/HEAD"), format!("{H1}\n")).unwrap();
        assert_eq!(git_rev_from(d.path()).as_deref(), Some(H1));
    }

    #[test]
    fn worktree_gitdir_file_uses_the_common_dir() {
        let d = repo();
        fs::write(d.path().join(".git/refs/heads/feature"), format!("{H2}\n")).unwrap();
        let wt_git = d.path().join(".git/worktrees/feature");
        fs::create_dir_all(&wt_git).unwrap();
        fs::write(wt_git.join("HEAD"), "ref: refs/heads/feature\n").unwrap();
        fs::write(wt_git.join("commondir"), "../..\n").unwrap();
        let wt = d.path().join("wt");
        fs::create_dir_all(&wt).unwrap();
        fs::write(wt.join(".git"), format!("gitdir: {}\n", wt_git.display())).unwrap();
        assert_eq!(git_rev_from(&wt).as_deref(), Some(H2));
    }

    #[test]
    fn no_repository_is_none() {
        let d = tempfile::tempdir().unwrap();
        // tempdir lives under /tmp, which is not inside a repository here
        if git_dir(d.path()).is_none() {
            assert_eq!(git_rev_from(d.path()), None);
        }
    }
}
