//! Atomic file output: write to a temporary file in the destination's folder, flush it to disk,
//! then rename it into place, so a destination holds the old content or the new, never a part;
//! and folders entered without following links ([`SafeDir`]).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path} exists; pass --force to replace it")]
    Exists { path: PathBuf },
    /// `cause` is shown as the system says it, without the temporary file's name that
    /// `tempfile` adds: the user knows the destination, not the hidden file beside it.
    #[error("cannot write {path}: {}", plain(.cause))]
    Io { path: PathBuf, cause: std::io::Error },
}

/// An I/O error as the system states it ("No space left on device (os error 28)"), without
/// context a library wrapped around it.
pub fn plain(e: &std::io::Error) -> String {
    let text = e.to_string();
    // tempfile's PathError reads `{error} at path "{temporary file}"`.
    match text.rsplit_once(" at path \"") {
        Some((error, _)) if e.get_ref().is_some() => error.to_string(),
        _ => text,
    }
}

/// How to treat an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse to replace an existing file.
    Never,
    /// Replace it.
    Always,
}

/// The folder a hidden temporary beside `path` goes in, and its name prefix (`.NAME.`).
fn beside(path: &Path) -> (&Path, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    (parent, format!(".{name}."))
}

/// Whether `path` can be written as [`write_atomic`] would write it (a temporary file beside
/// it can be made, and it does not exist unless it may be replaced): checked before any work
/// whose result it would hold, so a mistyped folder fails in the first second, not the last.
pub fn check_writable(path: &Path, overwrite: Overwrite) -> Result<(), WriteError> {
    if overwrite == Overwrite::Never && path.symlink_metadata().is_ok() {
        return Err(WriteError::Exists {
            path: path.to_path_buf(),
        });
    }
    let (dir, prefix) = beside(path);
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|cause| WriteError::Io {
            path: path.to_path_buf(),
            cause,
        })
}

/// Write `path` atomically with the bytes `fill` writes, with Unix permission `mode`.
pub fn write_atomic<F>(path: &Path, mode: u32, overwrite: Overwrite, fill: F) -> Result<(), WriteError>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        cause: source,
    };
    if overwrite == Overwrite::Never && path.symlink_metadata().is_ok() {
        return Err(WriteError::Exists {
            path: path.to_path_buf(),
        });
    }
    let (dir, prefix) = beside(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
    }
    set_mode(tmp.as_file(), mode).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    match overwrite {
        Overwrite::Always => tmp.persist(path).map_err(|e| io(e.error))?,
        Overwrite::Never => tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WriteError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                io(e.error)
            }
        })?,
    };
    Ok(())
}

/// Many files written atomically each, with one flush to disk for all of them: [`Batch::stage`]
/// writes a file's bytes to a temporary file beside its destination at once (so the caller
/// need not hold them); [`Batch::commit`] flushes the filesystem once (`syncfs`), renames every
/// file into place and flushes the folders. Dropped without a commit, the temporary files are
/// removed and no destination was touched; after a crash each destination holds its old
/// content or its new, never a part.
///
/// Staging may happen from several threads at once.
pub struct Batch {
    staged: std::sync::Mutex<Vec<(PathBuf, tempfile::TempPath)>>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            staged: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Remove every staged temporary file now.
    pub fn discard(&self) {
        self.staged.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Write `bytes` to a temporary file beside `path`, with Unix permission `mode`.
    pub fn stage(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
        let io = |source| WriteError::Io {
            path: path.to_path_buf(),
            cause: source,
        };
        let (parent, prefix) = beside(path);
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
        let mut tmp = b.tempfile_in(parent).map_err(io)?;
        tmp.as_file_mut().write_all(bytes).map_err(io)?;
        #[cfg(not(unix))]
        set_mode(tmp.as_file(), mode).map_err(io)?;
        let tmp = tmp.into_temp_path();
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((path.to_path_buf(), tmp));
        Ok(())
    }

    /// Flush once, rename everything into place, flush the folders.
    pub fn commit(self) -> Result<(), WriteError> {
        let staged = self.staged.into_inner().unwrap_or_else(|p| p.into_inner());
        let Some((first, _)) = staged.first() else {
            return Ok(());
        };
        let folder = |p: &Path| beside(p).0.to_path_buf();
        let io = |path: PathBuf| move |source| WriteError::Io { path, cause: source };
        let anchor = folder(first);
        let d = std::fs::File::open(&anchor).map_err(io(anchor.clone()))?;
        sync_filesystem(&d).map_err(io(anchor))?;
        let mut folders = std::collections::BTreeSet::new();
        for (path, tmp) in staged {
            folders.insert(folder(&path));
            tmp.persist(&path)
                .map_err(|e| WriteError::Io { path, cause: e.error })?;
        }
        for f in folders {
            std::fs::File::open(&f).and_then(|d| d.sync_all()).map_err(io(f))?;
        }
        Ok(())
    }
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

/// A new folder written whole: files go with their final names into a hidden folder beside
/// the destination (`.NAME.XXXXXX.tmp`), and [`StagedDir::commit`] flushes the filesystem once
/// and renames that folder into place. Cheaper than a [`Batch`] (no temporary name and no
/// rename per file) when the destination does not exist yet. Dropped without a commit, the
/// hidden folder is removed. Files may be written from several threads at once.
pub struct StagedDir {
    tmp: tempfile::TempDir,
    dest: PathBuf,
}

impl StagedDir {
    /// Stage the folder `dest`, which must not exist (its parent must).
    pub fn new(dest: &Path) -> Result<StagedDir, WriteError> {
        let (parent, prefix) = beside(dest);
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".tmp");
        // As a plain mkdir would make it (the umask applies).
        #[cfg(unix)]
        b.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777));
        let tmp = b.tempdir_in(parent).map_err(|source| WriteError::Io {
            path: dest.to_path_buf(),
            cause: source,
        })?;
        Ok(StagedDir {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// Write the file `name` of the folder, with Unix permission `mode` (errors name the file's
    /// final path).
    pub fn write(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
        let io = |source| WriteError::Io {
            path: self.dest.join(name),
            cause: source,
        };
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode);
        let mut f = o.open(self.tmp.path().join(name)).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        #[cfg(not(unix))]
        set_mode(&f, mode).map_err(io)?;
        Ok(())
    }

    /// Flush once, rename the folder into place (refused if something took its name
    /// meanwhile), flush its parent.
    pub fn commit(self) -> Result<(), WriteError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WriteError::Io { path, cause: source }
        };
        let d = std::fs::File::open(self.tmp.path()).map_err(io(&self.dest))?;
        sync_filesystem(&d).map_err(io(&self.dest))?;
        if self.dest.symlink_metadata().is_ok() {
            return Err(io(&self.dest)(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it was created by something else while sigbundle wrote it",
            )));
        }
        std::fs::rename(self.tmp.path(), &self.dest).map_err(io(&self.dest))?;
        let _ = self.tmp.keep();
        let (parent, _) = beside(&self.dest);
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io(parent))
    }
}

/// What a name in a [`SafeDir`] is, looked at without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Absent,
    File,
    Dir,
    Symlink,
    Other,
}

impl EntryKind {
    /// How an error names it.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Absent => "missing",
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symbolic link",
            EntryKind::Other => "special file",
        }
    }
}

/// A folder held open by its descriptor. Every name below it is looked at, opened, created and
/// renamed relative to that descriptor with `O_NOFOLLOW`, so a symbolic link planted anywhere
/// under a destination (or swapped in while sigbundle writes) is refused, never followed.
pub struct SafeDir {
    fd: rustix::fd::OwnedFd,
    /// For messages only.
    pub path: PathBuf,
}

fn to_io(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

impl SafeDir {
    /// Open the folder `path` (a link naming the folder itself is followed: the user chose it).
    pub fn open(path: &Path) -> std::io::Result<SafeDir> {
        use rustix::fs::{openat, Mode, OFlags, CWD};
        let fd = openat(
            CWD,
            path,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(to_io)?;
        Ok(SafeDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// What `name` is, without following a link.
    pub fn kind(&self, name: &str) -> std::io::Result<EntryKind> {
        use rustix::fs::{statat, AtFlags, FileType};
        match statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => EntryKind::File,
                FileType::Directory => EntryKind::Dir,
                FileType::Symlink => EntryKind::Symlink,
                _ => EntryKind::Other,
            }),
            Err(rustix::io::Errno::NOENT) => Ok(EntryKind::Absent),
            Err(e) => Err(to_io(e)),
        }
    }

    /// Read the regular file `name` (at most `max` bytes; `None` when it is larger).
    pub fn read(&self, name: &str, max: u64) -> std::io::Result<Option<Vec<u8>>> {
        use rustix::fs::{openat, Mode, OFlags};
        use std::io::Read;
        let fd = openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(to_io)?;
        let mut v = Vec::new();
        std::fs::File::from(fd).take(max + 1).read_to_end(&mut v)?;
        Ok((v.len() as u64 <= max).then_some(v))
    }

    /// Enter the folder `name`, creating it first when `create` (mode 0777 less the umask);
    /// a link or anything else that is not a folder is refused. Returns whether it was made.
    pub fn enter(&self, name: &str, create: bool) -> std::io::Result<(SafeDir, bool)> {
        use rustix::fs::{mkdirat, openat, Mode, OFlags};
        let made = create
            && match mkdirat(&self.fd, name, Mode::from_raw_mode(0o777)) {
                Ok(()) => true,
                Err(rustix::io::Errno::EXIST) => false,
                Err(e) => return Err(to_io(e)),
            };
        let fd = openat(
            &self.fd,
            name,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(to_io)?;
        Ok((
            SafeDir {
                fd,
                path: self.path.join(name),
            },
            made,
        ))
    }

    /// Write `bytes` to a new hidden temporary file beside `name` (`.NAME.XXXXXXXX.tmp`,
    /// created exclusively, never through a link), with Unix permission `mode`; returns its name.
    pub fn write_temp(&self, name: &str, bytes: &[u8], mode: u32) -> std::io::Result<String> {
        use rustix::fs::{openat, Mode, OFlags};
        use std::hash::{BuildHasher, Hasher};
        for _ in 0..16 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let tmp = format!(".{name}.{:08x}.tmp", h.finish() as u32);
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match openat(&self.fd, tmp.as_str(), flags, Mode::from_raw_mode(mode)) {
                Ok(fd) => {
                    let mut f = std::fs::File::from(fd);
                    let written = f.write_all(bytes).and_then(|_| set_mode(&f, mode));
                    if let Err(e) = written {
                        let _ = self.remove(&tmp);
                        return Err(e);
                    }
                    return Ok(tmp);
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(to_io(e)),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ))
    }

    /// Rename `from` to `to`, both in this folder (a link at `to` is replaced, not followed).
    pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        rustix::fs::renameat(&self.fd, from, &self.fd, to).map_err(to_io)
    }

    /// Remove the file `name`.
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        rustix::fs::unlinkat(&self.fd, name, rustix::fs::AtFlags::empty()).map_err(to_io)
    }

    /// Remove the folder `name` if it is empty.
    pub fn remove_dir(&self, name: &str) -> std::io::Result<()> {
        rustix::fs::unlinkat(&self.fd, name, rustix::fs::AtFlags::REMOVEDIR).map_err(to_io)
    }

    /// Flush the folder (its entries) to disk.
    pub fn sync(&self) -> std::io::Result<()> {
        rustix::fs::fsync(&self.fd).map_err(to_io)
    }

    /// Flush the whole filesystem the folder is on.
    pub fn sync_filesystem(&self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            rustix::fs::syncfs(&self.fd).map_err(to_io)
        }
        #[cfg(not(target_os = "linux"))]
        {
            std::process::Command::new("sync").status().map(|_| ())
        }
    }
}

#[cfg(target_os = "linux")]
fn sync_filesystem(f: &std::fs::File) -> std::io::Result<()> {
    rustix::fs::syncfs(f).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(_f: &std::fs::File) -> std::io::Result<()> {
    // No syncfs: flush each staged file the portable (slower) way is not possible here once
    // closed, so fall back to a whole-system sync.
    std::process::Command::new("sync").status().map(|_| ())
}

#[cfg(unix)]
fn set_mode(f: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_f: &std::fs::File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_refuses_to_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, 0o640, Overwrite::Never, |w| w.write_all(b"one")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let e = write_atomic(&p, 0o640, Overwrite::Never, |w| w.write_all(b"two")).unwrap_err();
        assert!(matches!(e, WriteError::Exists { .. }));
        // A failing writer leaves the old content and no temporary file behind.
        let e = write_atomic(&p, 0o640, Overwrite::Always, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&p, 0o640, Overwrite::Always, |w| w.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let q = dir.path().join("q.json");
        let batch = Batch::new();
        batch.stage(&p, b"never", 0o640).unwrap();
        drop(batch);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"two",
            "an uncommitted batch touches nothing"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "and leaves no temporary file"
        );
        let batch = Batch::new();
        batch.stage(&p, b"three", 0o640).unwrap();
        batch.stage(&q, b"four", 0o640).unwrap();
        batch.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        assert_eq!(std::fs::read(&q).unwrap(), b"four");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        }
    }
}
