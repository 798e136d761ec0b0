//! rlrec's folders on disk (run folders, sweeps, logs) share two rules: a file is written
//! whole or not at all ([`write_atomic`]), and one process at a time writes a folder
//! ([`lock_folder`]).

#![warn(missing_docs)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// rlrec's cache folder, where the set-up puts libtorch, the Python venvs and the data
/// sets: `RLREC_CACHE`, else `$XDG_CACHE_HOME/rlrec`, else `~/.cache/rlrec` (`None`
/// without any of these variables).
pub fn cache_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RLREC_CACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("rlrec"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("rlrec"))
}

/// The file whose lock a writing process holds, with its process id inside.
pub const LOCK_FILE: &str = ".rlrec-lock";

/// A file operation that failed, with the file (the system's error is its source).
#[derive(Debug, Error)]
#[error("{}", path.display())]
pub struct IoError {
    /// The file or folder.
    pub path: PathBuf,
    /// The system's error.
    #[source]
    pub source: io::Error,
}

impl IoError {
    /// Wraps a system error on `path` (for `map_err`).
    pub fn on(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| IoError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why a folder cannot be locked.
#[derive(Debug, Error)]
pub enum LockError {
    /// The lock file.
    #[error(transparent)]
    Io(#[from] IoError),
    /// Another process writes the folder.
    #[error("{} is in use by process {pid}; wait for it to finish, or stop it", path.display())]
    InUse {
        /// The folder.
        path: PathBuf,
        /// The writer's process id, as it recorded it.
        pid: String,
    },
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced, then
/// renamed: an interrupted or failed write leaves the old file (or none) in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(IoError::on(&tmp))?;
        f.write_all(bytes).map_err(IoError::on(&tmp))?;
        f.sync_all().map_err(IoError::on(&tmp))?;
        fs::rename(&tmp, path).map_err(IoError::on(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Takes the lock of a folder rlrec writes (a run's, a sweep's, a log's) in its
/// `.rlrec-lock` file, held while the file stays open, or names the process that holds
/// it. Nothing is written: a writer records its process id there once it starts writing.
pub fn lock_folder(path: &Path) -> Result<File, LockError> {
    let file = path.join(LOCK_FILE);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&file)
        .map_err(IoError::on(&file))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = f.read_to_string(&mut pid);
            Err(LockError::InUse {
                path: path.to_path_buf(),
                pid: if pid.trim().is_empty() {
                    "(unknown)".into()
                } else {
                    pid.trim().to_string()
                },
            })
        }
        Err(fs::TryLockError::Error(e)) => Err(IoError::on(&file)(e).into()),
    }
}

/// Records this process's id in the lock `lock` of `folder` ([`lock_folder`]'s), once it
/// starts writing there: a second writer's refusal names it.
pub fn record_pid(lock: &mut File, folder: &Path) -> Result<(), IoError> {
    let file = folder.join(LOCK_FILE);
    lock.set_len(0)
        .and_then(|()| lock.seek(SeekFrom::Start(0)))
        .and_then(|_| write!(lock, "{}", std::process::id()))
        .and_then(|()| lock.flush())
        .map_err(IoError::on(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_atomic_write_names_the_file_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("a.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert!(err.path.ends_with("missing/.a.json.tmp"), "{err}");
        assert_eq!(err.source.kind(), std::io::ErrorKind::NotFound);
        // A failed rename leaves the old file, and no temporary beside it.
        let old = dir.path().join("old.json");
        write_atomic(&old, b"old").unwrap();
        std::fs::create_dir(dir.path().join("new.json")).unwrap();
        std::fs::write(dir.path().join("new.json").join("x"), b"").unwrap();
        assert!(write_atomic(&dir.path().join("new.json"), b"new").is_err());
        assert_eq!(fs::read(&old).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_second_lock_names_the_first_writer() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = lock_folder(dir.path()).unwrap();
        write!(first, "4242 and more").unwrap();
        record_pid(&mut first, dir.path()).unwrap();
        match lock_folder(dir.path()) {
            Err(LockError::InUse { pid, .. }) => {
                assert_eq!(pid, std::process::id().to_string())
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        assert!(lock_folder(dir.path()).is_ok());
    }
}
