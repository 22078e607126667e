//! `unpack`: verify a bundle completely, then emit what the cluster needs (ConfigMap files in
//! the exact `oc` format, or YAML). Nothing is written unless verification passed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::bundle::{read_bundle, BundleError, CheckOptions, ReleaseSink, VerifiedBundle};
use crate::configmap::{file_name, ConfigMap, Format};
use crate::digest::Digest;
use crate::fsutil::{Batch, EntryKind, SafeDir, StagedDir, WriteError};
use crate::manifest::Manifest;
use crate::verify::MAX_SIGNATURE_BYTES;

/// Why an unpack step failed.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("cannot open bundle {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Bundle { path: PathBuf, source: BundleError },
    #[error("{path} exists with different content; pass --force to replace it (nothing was written)")]
    Conflict { path: PathBuf },
    #[error("{twin} holds the ConfigMap of {digest} in the other format: `oc apply -f` on the folder would apply both; remove it, or emit with the same --format (nothing was written)")]
    OtherFormat { twin: PathBuf, digest: String },
    #[error("{path} is a {kind}, not a regular file; sigbundle neither writes through links nor replaces anything but files: remove it (nothing was written)")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("cannot look at {path}: {source}")]
    Inspect { path: PathBuf, source: std::io::Error },
    #[error("cannot create {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("the bundle holds no signature {index} of {digest}")]
    NoSuchSignature { digest: Digest, index: usize },
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl UnpackError {
    /// A refused bundle is a verification failure; everything else usage or I/O.
    pub fn exit_class(&self) -> crate::exit::ExitClass {
        match self {
            UnpackError::Bundle { source, .. } => source.exit_class(),
            _ => crate::exit::ExitClass::UsageOrIo,
        }
    }

    /// The problems of a refused bundle (the first ones) and how many more there were.
    pub fn rejection(&self) -> Option<(&[crate::bundle::Problem], u64)> {
        match self {
            UnpackError::Bundle { source, .. } => source.rejection(),
            _ => None,
        }
    }
}

/// Open and verify a bundle file: every check of the format, the packer's signature, and every
/// release signature again; releases go to `sink` as soon as they are verified.
pub fn open_verified(
    path: &Path,
    opts: &CheckOptions,
    sink: Option<&dyn ReleaseSink>,
) -> Result<VerifiedBundle, UnpackError> {
    let file = std::fs::File::open(path).map_err(|source| UnpackError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let counted = Counting {
        inner: file,
        read: 0,
        told: 0,
        progress: opts.progress.clone(),
    };
    read_bundle(std::io::BufReader::with_capacity(1 << 16, counted), opts, sink).map_err(|source| UnpackError::Bundle {
        path: path.to_path_buf(),
        source,
    })
}

/// A reader that tells [`CheckOptions::progress`] how far it has read (every 256 KiB).
struct Counting<R> {
    inner: R,
    read: u64,
    told: u64,
    progress: Option<crate::bundle::ReadProgress>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(p) = &self.progress {
            if self.read - self.told >= 256 << 10 || n == 0 {
                self.told = self.read;
                (p.0)(self.read);
            }
        }
        Ok(n)
    }
}

/// What happened to one emitted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileAction {
    Created,
    Unchanged,
    Replaced,
}

/// One emitted file.
#[derive(Debug, Clone, Serialize)]
pub struct EmittedFile {
    pub path: PathBuf,
    pub digest: String,
    pub signatures: usize,
    pub action: FileAction,
}

/// Writes one ConfigMap file per release into a folder (created if needed), mode 0640 as `oc`
/// writes them, while the bundle is being verified: as a [`ReleaseSink`] it renders each
/// release the moment its signatures are verified and stages it — into a hidden folder beside
/// a folder that does not exist yet ([`StagedDir`]), or as a hidden temporary file beside its
/// final name in one that does ([`Batch`]). [`DirEmitter::commit`] puts everything in place
/// once the whole bundle has passed. Dropped without a commit (the bundle was rejected, or a
/// file could not be written) it removes what it staged and the folders it created: nothing is
/// left behind. Identical files are left alone; a different existing file is a conflict unless
/// `force`.
pub struct DirEmitter {
    dir: PathBuf,
    format: Format,
    force: bool,
    /// How files are staged, once the first release arrived.
    made: Mutex<Option<Made>>,
    batch: Mutex<Batch>,
    files: Mutex<Vec<(usize, EmittedFile)>>,
    /// The failure of the release earliest in the manifest (so the error named does not depend
    /// on which worker came first).
    failure: Mutex<Option<(usize, UnpackError)>>,
}

/// What [`DirEmitter`] set up for its folder.
struct Made {
    /// Parent folders it created (deepest first), removed again if nothing is committed.
    parents: Vec<PathBuf>,
    /// The folder did not exist: it is written whole in a hidden folder beside it and renamed
    /// into place at the end. `None`: it existed, and each file is staged beside its final name.
    fresh: Option<Arc<StagedDir>>,
}

impl DirEmitter {
    pub fn new(dir: &Path, format: Format, force: bool) -> DirEmitter {
        DirEmitter {
            dir: dir.to_path_buf(),
            format,
            force,
            made: Mutex::new(None),
            batch: Mutex::new(Batch::new()),
            files: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
        }
    }

    /// Set the folder up (once): a staged new folder, or the existing one. Returns the staged
    /// folder when there is one.
    fn make_dir(&self) -> Result<Option<Arc<StagedDir>>, UnpackError> {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = made.as_ref() {
            return Ok(m.fresh.clone());
        }
        if self.dir.symlink_metadata().is_ok() {
            *made = Some(Made {
                parents: Vec::new(),
                fresh: None,
            });
            return Ok(None);
        }
        let mut parents = Vec::new();
        let mut at = self.dir.parent();
        while let Some(p) = at.filter(|p| !p.as_os_str().is_empty() && p.symlink_metadata().is_err()) {
            parents.push(p.to_path_buf());
            at = p.parent();
        }
        if let Some(parent) = parents.first() {
            std::fs::create_dir_all(parent).map_err(|source| UnpackError::CreateDir {
                path: parent.clone(),
                source,
            })?;
        }
        let m = made.insert(Made { parents, fresh: None });
        m.fresh = Some(Arc::new(StagedDir::new(&self.dir)?));
        Ok(m.fresh.clone())
    }

    fn fail(&self, index: usize, e: UnpackError) {
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if f.as_ref().is_none_or(|(i, _)| index < *i) {
            *f = Some((index, e));
        }
    }

    fn failed(&self) -> bool {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn emit_one(&self, digest: &Digest, signatures: &[&[u8]]) -> Result<EmittedFile, UnpackError> {
        let fresh = self.make_dir()?;
        let bytes = ConfigMap::for_release(digest, signatures).render(self.format);
        let name = file_name(digest, self.format);
        let path = self.dir.join(&name);
        let action = if let Some(staged) = fresh {
            // A new folder holds nothing to compare with.
            if !self.failed() {
                staged.write(&name, &bytes, 0o640)?;
            }
            FileAction::Created
        } else {
            let other = match self.format {
                Format::OcJson => Format::Yaml,
                Format::Yaml => Format::OcJson,
            };
            let twin = self.dir.join(file_name(digest, other));
            if twin.symlink_metadata().is_ok() {
                return Err(UnpackError::OtherFormat {
                    twin,
                    digest: digest.to_string(),
                });
            }
            let action = match existing(&path)? {
                None => FileAction::Created,
                Some(old) if old == bytes => FileAction::Unchanged,
                Some(_) if self.force => FileAction::Replaced,
                Some(_) => return Err(UnpackError::Conflict { path }),
            };
            // Once anything failed nothing will be committed: only look for earlier failures.
            if action != FileAction::Unchanged && !self.failed() {
                self.batch
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .stage(&path, &bytes, 0o640)?;
            }
            action
        };
        Ok(EmittedFile {
            path,
            digest: digest.to_string(),
            signatures: signatures.len(),
            action,
        })
    }

    /// After the bundle passed: put every file in place (one flush to disk for all) and return
    /// what happened to each, in manifest order. (By reference: the bundle reader held the
    /// emitter as its sink until now.)
    pub fn commit(&self) -> Result<Vec<EmittedFile>, UnpackError> {
        if let Some((_, e)) = self.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        self.make_dir()?;
        let fresh = self
            .made
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .and_then(|m| m.fresh.take());
        match fresh {
            Some(staged) => {
                // The workers are done: this is the only reference left.
                let staged = Arc::into_inner(staged).expect("no worker holds the staged folder");
                staged.commit()?;
            }
            None => std::mem::take(&mut *self.batch.lock().unwrap_or_else(|p| p.into_inner())).commit()?,
        }
        // Committed: the folders stay.
        *self.made.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let mut files = std::mem::take(&mut *self.files.lock().unwrap_or_else(|p| p.into_inner()));
        files.sort_by_key(|(i, _)| *i);
        Ok(files.into_iter().map(|(_, f)| f).collect())
    }
}

impl ReleaseSink for DirEmitter {
    fn release(&self, index: usize, digest: &Digest, signatures: &[&[u8]]) {
        match self.emit_one(digest, signatures) {
            Ok(f) => self.files.lock().unwrap_or_else(|p| p.into_inner()).push((index, f)),
            Err(e) => self.fail(index, e),
        }
    }
}

impl Drop for DirEmitter {
    fn drop(&mut self) {
        self.batch.get_mut().unwrap_or_else(|p| p.into_inner()).discard();
        // The staged folder goes first, then the parents this emitter made (only if empty:
        // never anything else's).
        if let Some(m) = self.made.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            drop(m.fresh);
            for d in m.parents {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

/// What emitting into a signature-store folder wrote.
#[derive(Debug, Clone, Serialize)]
pub struct StoreDirSummary {
    pub files: Vec<EmittedFile>,
    /// The `oc patch` that points a cluster's ClusterVersion at a web server serving the folder.
    pub patch_command: String,
}

/// The `oc patch` command that points ClusterVersion `spec.signatureStores` at `url`.
pub fn signature_stores_patch(url: &str) -> String {
    let patch = serde_json::json!({"spec": {"signatureStores": [{"url": url}]}});
    format!("oc patch clusterversion version --type merge -p '{patch}'")
}

/// The content of the regular file at `path`, `None` when nothing is there; anything else there
/// (a link, dangling or not, a folder, a device) is refused by name. A file larger than any
/// ConfigMap sigbundle writes counts as different.
fn existing(path: &Path) -> Result<Option<Vec<u8>>, UnpackError> {
    let look = |source| UnpackError::Inspect {
        path: path.to_path_buf(),
        source,
    };
    let meta = match path.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(look(e)),
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::Other
        };
        return Err(UnpackError::NotAFile {
            path: path.to_path_buf(),
            kind: kind.name(),
        });
    }
    let (dir, name) = (
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
        path.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
    );
    let old = SafeDir::open(dir).and_then(|d| d.read(name, 16 << 20)).map_err(look)?;
    Ok(Some(old.unwrap_or_default()))
}

/// One file of a store-dir plan.
struct Planned<'a> {
    file: String,
    bytes: &'a [u8],
    action: FileAction,
}

/// Write the signatures in the mirror layout (`DIR/sha256=<hex>/signature-<N>`), for a web
/// server that a cluster's `spec.signatureStores` points at. The whole plan is checked before
/// anything is written: identical files are left alone, a different one is a conflict unless
/// `force`, and a link, folder or device where a folder or file goes is refused. Every name
/// under `DIR` is entered or created without following links.
pub fn emit_store_dir(
    bundle: &VerifiedBundle,
    dir: &Path,
    url: &str,
    force: bool,
) -> Result<StoreDirSummary, UnpackError> {
    let root_made = !dir.exists();
    if root_made {
        std::fs::create_dir_all(dir).map_err(|source| UnpackError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let result = (|| {
        let root = SafeDir::open(dir).map_err(look(dir))?;
        // Plan: look at everything first; then write.
        let plan = bundle
            .releases
            .iter()
            .map(|r| plan_store_folder(&root, dir, r, force))
            .collect::<Result<Vec<_>, _>>()?;
        write_store_dir(&root, dir, &plan)
    })();
    match result {
        Ok(files) => Ok(StoreDirSummary {
            files,
            patch_command: signature_stores_patch(url),
        }),
        Err(e) => {
            if root_made {
                let _ = std::fs::remove_dir(dir);
            }
            Err(e)
        }
    }
}

/// An error looking at `path` in a store folder.
fn look(path: &Path) -> impl FnOnce(std::io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Inspect {
        path: path.to_path_buf(),
        source,
    }
}

/// What one release's `sha256=<hex>` folder needs: its name, whether it must be made, and
/// what happens to each signature file.
struct PlannedFolder<'a> {
    sub: String,
    create: bool,
    files: Vec<Planned<'a>>,
}

/// Look at one release's folder: each `signature-N` is created, unchanged (same bytes),
/// replaced (`force`) or a conflict; anything but a regular file there is refused.
fn plan_store_folder<'a>(
    root: &SafeDir,
    dir: &Path,
    r: &'a crate::bundle::CheckedRelease,
    force: bool,
) -> Result<PlannedFolder<'a>, UnpackError> {
    let sub = format!("sha256={}", r.digest.hex());
    let sub_path = dir.join(&sub);
    let sub_dir = match root.kind(&sub).map_err(look(&sub_path))? {
        EntryKind::Absent => None,
        EntryKind::Dir => Some(root.enter(&sub, false).map_err(look(&sub_path))?.0),
        other => {
            return Err(UnpackError::NotAFile {
                path: sub_path,
                kind: other.name(),
            })
        }
    };
    let mut files = Vec::with_capacity(r.signatures.len());
    for (i, s) in r.signatures.iter().enumerate() {
        let file = format!("signature-{}", i + 1);
        let path = sub_path.join(&file);
        let kind = match &sub_dir {
            None => EntryKind::Absent,
            Some(d) => d.kind(&file).map_err(look(&path))?,
        };
        let action = match kind {
            EntryKind::Absent => FileAction::Created,
            EntryKind::File => {
                let old = sub_dir
                    .as_ref()
                    .map(|d| d.read(&file, MAX_SIGNATURE_BYTES))
                    .transpose()
                    .map_err(look(&path))?
                    .flatten();
                match old {
                    Some(old) if old == s.bytes => FileAction::Unchanged,
                    _ if force => FileAction::Replaced,
                    _ => return Err(UnpackError::Conflict { path }),
                }
            }
            other => {
                return Err(UnpackError::NotAFile {
                    path,
                    kind: other.name(),
                })
            }
        };
        files.push(Planned {
            file,
            bytes: &s.bytes,
            action,
        });
    }
    Ok(PlannedFolder {
        create: sub_dir.is_none(),
        sub,
        files,
    })
}

/// Write the plan: every file to a hidden temporary beside its name, then one flush, then the
/// renames. Dropped before that (an error), the temporaries and new folders go.
fn write_store_dir(root: &SafeDir, dir: &Path, plan: &[PlannedFolder<'_>]) -> Result<Vec<EmittedFile>, UnpackError> {
    let mut staged = StagedStore {
        root,
        dirs: Vec::new(),
        done: false,
    };
    let mut files = Vec::new();
    for folder in plan {
        let digest = folder.sub.trim_start_matches("sha256=");
        let sub_path = dir.join(&folder.sub);
        let needs_write = folder.files.iter().any(|p| p.action != FileAction::Unchanged);
        if needs_write {
            let (d, made) = root.enter(&folder.sub, folder.create).map_err(look(&sub_path))?;
            staged.dirs.push(StagedFolder {
                name: folder.sub.clone(),
                dir: d,
                made,
                temps: Vec::new(),
            });
            let f = staged.dirs.last_mut().expect("just pushed");
            for p in folder.files.iter().filter(|p| p.action != FileAction::Unchanged) {
                let tmp = f.dir.write_temp(&p.file, p.bytes, 0o644).map_err(|source| {
                    UnpackError::Write(WriteError::Io {
                        path: sub_path.join(&p.file),
                        cause: source,
                    })
                })?;
                f.temps.push((tmp, p.file.clone()));
            }
        }
        for p in &folder.files {
            files.push(EmittedFile {
                path: sub_path.join(&p.file),
                digest: format!("sha256:{digest}"),
                signatures: 1,
                action: p.action,
            });
        }
    }
    staged.commit(dir)?;
    Ok(files)
}

/// A folder of a store dir being written: its name, its descriptor, whether this run made it,
/// and its (temporary, final) file names.
struct StagedFolder {
    name: String,
    dir: SafeDir,
    made: bool,
    temps: Vec<(String, String)>,
}

/// What [`emit_store_dir`] staged; dropped before its commit, it removes the temporaries and the
/// folders it made.
struct StagedStore<'a> {
    root: &'a SafeDir,
    dirs: Vec<StagedFolder>,
    done: bool,
}

impl StagedStore<'_> {
    fn commit(&mut self, dir: &Path) -> Result<(), UnpackError> {
        let io = |path: PathBuf| move |source| UnpackError::Write(WriteError::Io { path, cause: source });
        if self.dirs.is_empty() {
            self.done = true;
            return Ok(());
        }
        self.root.sync_filesystem().map_err(io(dir.to_path_buf()))?;
        for f in &mut self.dirs {
            for (tmp, file) in std::mem::take(&mut f.temps) {
                f.dir.rename(&tmp, &file).map_err(io(f.dir.path.join(&file)))?;
            }
            f.dir.sync().map_err(io(f.dir.path.clone()))?;
        }
        self.root.sync().map_err(io(dir.to_path_buf()))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for StagedStore<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for f in &self.dirs {
            for (tmp, _) in &f.temps {
                let _ = f.dir.remove(tmp);
            }
            if f.made {
                let _ = self.root.remove_dir(&f.name);
            }
        }
    }
}

/// The bytes of signature `index` (1-based) of `digest` in a verified bundle.
pub fn signature_bytes<'a>(bundle: &'a VerifiedBundle, digest: &Digest, index: usize) -> Result<&'a [u8], UnpackError> {
    let r = bundle
        .releases
        .iter()
        .find(|r| &r.digest == digest)
        .ok_or(UnpackError::NoSuchSignature { digest: *digest, index })?;
    r.signatures
        .get(index.wrapping_sub(1))
        .map(|s| s.bytes.as_slice())
        .ok_or(UnpackError::NoSuchSignature { digest: *digest, index })
}

/// The manifest alone, read from the first member without any check, for `inspect`.
pub fn read_manifest_unverified(path: &Path) -> Result<Manifest, UnpackError> {
    let open_err = |source| UnpackError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(open_err)?;
    crate::bundle::read_manifest_only(std::io::BufReader::new(file)).map_err(|source| UnpackError::Bundle {
        path: path.to_path_buf(),
        source,
    })
}
