//! `unpack`: verify a bundle completely, then emit what the cluster needs (ConfigMap files in
//! the exact `oc` format, or YAML; or for a fleet engine: kustomize, ACM policies, oc-mirror's
//! ConfigMap). Nothing is written unless verification passed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::bundle::{read_bundle, BundleError, CheckOptions, ReleaseSink, VerifiedBundle};
use crate::configmap::{file_name, ConfigMap, Format};
use crate::digest::Digest;
use crate::fleet::{AcmOptions, FleetError, FleetFile};
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
    #[error("{found} holds {other} output, and emit --format {format} would mix formats in one folder (`oc apply -f` on it would apply both); emit into another folder, or remove it (nothing was written)")]
    MixedFormats {
        found: PathBuf,
        other: &'static str,
        format: &'static str,
    },
    #[error(transparent)]
    Fleet(#[from] FleetError),
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
    /// The release of a file that holds one (absent for a file over several releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub signatures: usize,
    pub action: FileAction,
    /// For a file over several releases (a kustomization, an ACM object, oc-mirror's
    /// ConfigMap): the kind of object it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// For a file over several releases: the releases it covers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<String>,
}

/// What `emit --to-dir` writes into its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirFormat {
    /// One ConfigMap file per release: `oc`'s exact JSON, or YAML.
    PerRelease(Format),
    /// `oc`'s JSON files and a `kustomization.yaml` listing them.
    Kustomize,
    /// ACM Policies, a Placement and a PlacementBinding.
    AcmPolicy(AcmOptions),
    /// oc-mirror v2's `signature-configmap.json` and `.yaml` (and numbered parts).
    OcMirror,
}

impl DirFormat {
    /// Its `--format` name (recorded in the audit log).
    pub fn name(&self) -> &'static str {
        match self {
            DirFormat::PerRelease(Format::OcJson) => "oc-json",
            DirFormat::PerRelease(Format::Yaml) => "yaml",
            DirFormat::Kustomize => "kustomize",
            DirFormat::AcmPolicy(_) => "acm-policy",
            DirFormat::OcMirror => "oc-mirror",
        }
    }

    /// The format of the one-per-release files it writes, if it writes them.
    fn release_files(&self) -> Option<Format> {
        match self {
            DirFormat::PerRelease(f) => Some(*f),
            DirFormat::Kustomize => Some(Format::OcJson),
            DirFormat::AcmPolicy(_) | DirFormat::OcMirror => None,
        }
    }

    /// Whether it needs the signatures' bytes once the bundle is verified (an aggregate over
    /// every release), rather than one release at a time as they are verified.
    pub fn needs_bodies(&self) -> bool {
        self.release_files().is_none()
    }

    /// Whether a file named `name` that another `--format` writes may share its folder: the
    /// formats whose files it may sit beside (`oc-json` and `kustomize` write the same
    /// ConfigMap files; `oc-json` and `yaml` are told apart per release, as before).
    fn may_share(&self, other: &'static str) -> bool {
        let me = self.name();
        other == me
            || matches!(
                (me, other),
                ("oc-json", "yaml") | ("yaml", "oc-json") | ("kustomize", "oc-json")
            )
    }
}

/// The `--format` that writes a file of this name, if any does.
fn format_of_file(name: &str) -> Option<&'static str> {
    let release_file = |ext: &str| {
        name.strip_prefix("signature-sha256-")
            .and_then(|r| r.strip_suffix(ext))
            .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if release_file(".json") {
        Some("oc-json")
    } else if release_file(".yaml") {
        Some("yaml")
    } else if name == crate::fleet::KUSTOMIZATION {
        Some("kustomize")
    } else if name.starts_with(crate::fleet::OC_MIRROR_FILE) && (name.ends_with(".json") || name.ends_with(".yaml")) {
        Some("oc-mirror")
    } else if name.starts_with(&format!("{}-", crate::fleet::ACM_PREFIX)) && name.ends_with(".yaml") {
        Some("acm-policy")
    } else {
        None
    }
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
    format: DirFormat,
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
    pub fn new(dir: &Path, format: DirFormat, force: bool) -> DirEmitter {
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

    /// The `--format` name of what it writes.
    pub fn format_name(&self) -> &'static str {
        self.format.name()
    }

    /// Set the folder up (once): a staged new folder, or the existing one. Returns the staged
    /// folder when there is one.
    fn make_dir(&self) -> Result<Option<Arc<StagedDir>>, UnpackError> {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = made.as_ref() {
            return Ok(m.fresh.clone());
        }
        if self.dir.symlink_metadata().is_ok() {
            self.refuse_mixing()?;
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

    /// Refuse an existing folder that holds what another `--format` writes (beyond the
    /// per-release twin check of `oc-json` and `yaml`): a folder applied with `oc apply -f` or
    /// rendered by kustomize would apply both.
    fn refuse_mixing(&self) -> Result<(), UnpackError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            // Not a folder (or unreadable): the writes say so by name.
            Err(_) => return Ok(()),
        };
        let mut found: Option<(String, &'static str)> = None;
        for e in entries {
            let e = e.map_err(|source| UnpackError::Inspect {
                path: self.dir.clone(),
                source,
            })?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(other) = format_of_file(&name).filter(|o| !self.format.may_share(o)) {
                // The first by name, so the error does not depend on the folder's order.
                if found.as_ref().is_none_or(|(n, _)| name < *n) {
                    found = Some((name, other));
                }
            }
        }
        match found {
            Some((name, other)) => Err(UnpackError::MixedFormats {
                found: self.dir.join(name),
                other,
                format: self.format.name(),
            }),
            None => Ok(()),
        }
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

    /// Stage the file `name` (a new folder holds nothing to compare with; in an existing one,
    /// identical bytes are left alone and different ones are a conflict unless `force`).
    fn stage(&self, fresh: Option<&StagedDir>, name: &str, bytes: &[u8], mode: u32) -> Result<FileAction, UnpackError> {
        let path = self.dir.join(name);
        if let Some(staged) = fresh {
            if !self.failed() {
                staged.write(name, bytes, mode)?;
            }
            return Ok(FileAction::Created);
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
                .stage(&path, bytes, mode)?;
        }
        Ok(action)
    }

    fn emit_one(&self, digest: &Digest, signatures: &[&[u8]]) -> Result<Option<EmittedFile>, UnpackError> {
        let fresh = self.make_dir()?;
        // Aggregates are rendered at the commit, from the whole verified bundle.
        let Some(format) = self.format.release_files() else {
            return Ok(None);
        };
        let bytes = ConfigMap::for_release(digest, signatures).render(format);
        let name = file_name(digest, format);
        if fresh.is_none() {
            let other = match format {
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
        }
        let action = self.stage(fresh.as_deref(), &name, &bytes, 0o640)?;
        Ok(Some(EmittedFile {
            path: self.dir.join(name),
            digest: Some(digest.to_string()),
            signatures: signatures.len(),
            action,
            kind: None,
            releases: Vec::new(),
        }))
    }

    /// The files over several releases that the format adds once the bundle passed.
    fn aggregates(&self, bundle: &VerifiedBundle, files: &[EmittedFile]) -> Result<Vec<FleetFile>, UnpackError> {
        use crate::fleet;
        let releases = || bundle.releases.iter().map(|r| r.digest).collect::<Vec<_>>();
        let total = || bundle.releases.iter().map(|r| r.signatures.len()).sum();
        Ok(match &self.format {
            DirFormat::PerRelease(_) => Vec::new(),
            DirFormat::Kustomize => {
                let names: Vec<String> = files
                    .iter()
                    .filter_map(|f| f.path.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect();
                vec![fleet::kustomization(&names, &releases(), total())]
            }
            DirFormat::AcmPolicy(opts) => {
                fleet::acm_policies(&fleet::signatures_of(bundle), opts, fleet::MAX_OBJECT_BYTES)?
            }
            DirFormat::OcMirror => fleet::oc_mirror(
                &fleet::signatures_of(bundle),
                &bundle.manifest.created,
                crate::manifest::TOOL_VERSION,
                fleet::MAX_OBJECT_BYTES,
            )?,
        })
    }

    /// After the bundle passed: put every file in place (one flush to disk for all) and return
    /// what happened to each, in manifest order. (By reference: the bundle reader held the
    /// emitter as its sink until now.)
    pub fn commit(&self, bundle: &VerifiedBundle) -> Result<Vec<EmittedFile>, UnpackError> {
        if let Some((_, e)) = self.failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        let fresh = self.make_dir()?;
        let mut files = std::mem::take(&mut *self.files.lock().unwrap_or_else(|p| p.into_inner()));
        files.sort_by_key(|(i, _)| *i);
        let mut files: Vec<EmittedFile> = files.into_iter().map(|(_, f)| f).collect();
        for a in self.aggregates(bundle, &files)? {
            // Files over several releases are readable as `oc-mirror` writes them (0644).
            let mode = if a.kind == "ConfigMap" { 0o644 } else { 0o640 };
            let action = self.stage(fresh.as_deref(), &a.name, &a.bytes, mode)?;
            files.push(EmittedFile {
                path: self.dir.join(&a.name),
                digest: None,
                signatures: a.signatures,
                action,
                kind: Some(a.kind),
                releases: a.releases.iter().map(|d| d.to_string()).collect(),
            });
        }
        drop(fresh);
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
        Ok(files)
    }
}

impl ReleaseSink for DirEmitter {
    fn release(&self, index: usize, digest: &Digest, signatures: &[&[u8]]) {
        match self.emit_one(digest, signatures) {
            Ok(Some(f)) => self.files.lock().unwrap_or_else(|p| p.into_inner()).push((index, f)),
            Ok(None) => {}
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

/// One file of a folder tree to write: its path under the folder (`/`-separated) and bytes.
pub struct TreeFile<'a> {
    pub path: String,
    pub bytes: &'a [u8],
}

/// Write `files` under `dir` (created if needed), with mode 0644. The whole plan is checked
/// before anything is written: identical files are left alone, a different one is a conflict
/// unless `force` (an existing file over `max_existing` bytes counts as different), and a link,
/// folder or device where a folder or file goes is refused. Every name under `dir` is entered
/// or created without following links. Files are written to hidden temporaries beside their
/// names, flushed once, then renamed; a failure before that removes the temporaries and the
/// folders this run made. Returns each file's action, in order.
pub fn write_tree(
    dir: &Path,
    files: &[TreeFile<'_>],
    force: bool,
    max_existing: u64,
) -> Result<Vec<FileAction>, UnpackError> {
    let root_made = !dir.exists();
    if root_made {
        std::fs::create_dir_all(dir).map_err(|source| UnpackError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let result = plan_and_write(dir, files, force, max_existing);
    if result.is_err() && root_made {
        let _ = std::fs::remove_dir(dir);
    }
    result
}

fn plan_and_write(
    dir: &Path,
    files: &[TreeFile<'_>],
    force: bool,
    max_existing: u64,
) -> Result<Vec<FileAction>, UnpackError> {
    let (folders, actions) = plan_tree(dir, files, force, max_existing)?;
    write_planned(dir, files, &actions, folders)?;
    Ok(actions)
}

/// The folders that exist (absent ones `None`, the root `""`) and what happens to each file:
/// created, unchanged (same bytes), replaced (`force`) or a conflict.
#[allow(clippy::type_complexity)]
fn plan_tree(
    dir: &Path,
    files: &[TreeFile<'_>],
    force: bool,
    max_existing: u64,
) -> Result<(HashMap<String, Option<SafeDir>>, Vec<FileAction>), UnpackError> {
    let look = |path: PathBuf| move |source| UnpackError::Inspect { path, source };
    // Plan: every folder looked at (absent ones are `None`), every file compared.
    let mut folders: HashMap<String, Option<SafeDir>> = HashMap::new();
    folders.insert(
        String::new(),
        Some(SafeDir::open(dir).map_err(look(dir.to_path_buf()))?),
    );
    let mut actions = Vec::with_capacity(files.len());
    for f in files {
        let (folder, name) = f.path.rsplit_once('/').unwrap_or(("", f.path.as_str()));
        let mut at = String::new();
        for c in folder.split('/').filter(|c| !c.is_empty()) {
            let key = if at.is_empty() {
                c.to_string()
            } else {
                format!("{at}/{c}")
            };
            if !folders.contains_key(&key) {
                let child = match folders.get(&at).and_then(Option::as_ref) {
                    None => None,
                    Some(parent) => match parent.kind(c).map_err(look(dir.join(&key)))? {
                        EntryKind::Absent => None,
                        EntryKind::Dir => Some(parent.enter(c, false).map_err(look(dir.join(&key)))?.0),
                        other => {
                            return Err(UnpackError::NotAFile {
                                path: dir.join(&key),
                                kind: other.name(),
                            })
                        }
                    },
                };
                folders.insert(key.clone(), child);
            }
            at = key;
        }
        let path = dir.join(&f.path);
        let kind = match folders.get(folder).and_then(Option::as_ref) {
            None => EntryKind::Absent,
            Some(d) => d.kind(name).map_err(look(path.clone()))?,
        };
        actions.push(match kind {
            EntryKind::Absent => FileAction::Created,
            EntryKind::File => {
                let d = folders
                    .get(folder)
                    .and_then(Option::as_ref)
                    .expect("a file is in a folder");
                match d.read(name, max_existing).map_err(look(path.clone()))? {
                    Some(old) if old == f.bytes => FileAction::Unchanged,
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
        });
    }
    Ok((folders, actions))
}

/// Write what [`plan_tree`] planned: every file to a hidden temporary beside its name, then one
/// flush, then the renames. Dropped before that (an error), the temporaries and new folders go.
fn write_planned(
    dir: &Path,
    files: &[TreeFile<'_>],
    actions: &[FileAction],
    folders: HashMap<String, Option<SafeDir>>,
) -> Result<(), UnpackError> {
    let look = |path: PathBuf| move |source| UnpackError::Inspect { path, source };
    let mut staged = StagedTree {
        folders: HashMap::new(),
        made: Vec::new(),
        temps: Vec::new(),
        done: false,
    };
    for (key, d) in folders {
        if let Some(d) = d {
            staged.folders.insert(key, d);
        }
    }
    for (f, action) in files.iter().zip(actions) {
        if *action == FileAction::Unchanged {
            continue;
        }
        let (folder, name) = f.path.rsplit_once('/').unwrap_or(("", f.path.as_str()));
        let mut at = String::new();
        for c in folder.split('/').filter(|c| !c.is_empty()) {
            let key = if at.is_empty() {
                c.to_string()
            } else {
                format!("{at}/{c}")
            };
            if !staged.folders.contains_key(&key) {
                let parent = staged.folders.get(&at).expect("parents are entered first");
                let (child, made) = parent.enter(c, true).map_err(look(dir.join(&key)))?;
                if made {
                    staged.made.push((at.clone(), c.to_string()));
                }
                staged.folders.insert(key.clone(), child);
            }
            at = key;
        }
        let d = staged.folders.get(folder).expect("entered above");
        let tmp = d.write_temp(name, f.bytes, 0o644).map_err(|source| {
            UnpackError::Write(WriteError::Io {
                path: dir.join(&f.path),
                cause: source,
            })
        })?;
        staged.temps.push((folder.to_string(), tmp, name.to_string()));
    }
    staged.commit(dir)
}

/// What [`write_tree`] staged: the folders (by path under the root, `""` the root), the ones it
/// made (parent, name) in order, and its (folder, temporary, final) files. Dropped before its
/// commit, it removes the temporaries and the folders it made.
struct StagedTree {
    folders: HashMap<String, SafeDir>,
    made: Vec<(String, String)>,
    temps: Vec<(String, String, String)>,
    done: bool,
}

impl StagedTree {
    fn commit(&mut self, dir: &Path) -> Result<(), UnpackError> {
        let io = |path: PathBuf| move |source| UnpackError::Write(WriteError::Io { path, cause: source });
        if self.temps.is_empty() {
            self.done = true;
            return Ok(());
        }
        let root = self.folders.get("").expect("the root is open");
        root.sync_filesystem().map_err(io(dir.to_path_buf()))?;
        let mut touched: Vec<String> = Vec::new();
        for (folder, tmp, file) in std::mem::take(&mut self.temps) {
            let d = self.folders.get(&folder).expect("staged in an open folder");
            d.rename(&tmp, &file).map_err(io(d.path.join(&file)))?;
            if !touched.contains(&folder) {
                touched.push(folder);
            }
        }
        // Deepest first, then the root.
        touched.sort_by_key(|f| std::cmp::Reverse(f.matches('/').count() + usize::from(!f.is_empty())));
        for f in touched.iter().chain(std::iter::once(&String::new())) {
            let d = self.folders.get(f).expect("open");
            d.sync().map_err(io(d.path.clone()))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for StagedTree {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for (folder, tmp, _) in &self.temps {
            if let Some(d) = self.folders.get(folder) {
                let _ = d.remove(tmp);
            }
        }
        for (parent, name) in self.made.iter().rev() {
            if let Some(d) = self.folders.get(parent) {
                let _ = d.remove_dir(name);
            }
        }
    }
}

/// Write the signatures in the mirror layout (`DIR/sha256=<hex>/signature-<N>`), for a web
/// server that a cluster's `spec.signatureStores` points at ([`write_tree`]'s rules).
pub fn emit_store_dir(
    bundle: &VerifiedBundle,
    dir: &Path,
    url: &str,
    force: bool,
) -> Result<StoreDirSummary, UnpackError> {
    let mut files = Vec::new();
    let mut digests = Vec::new();
    for r in &bundle.releases {
        for (i, s) in r.signatures.iter().enumerate() {
            files.push(TreeFile {
                path: format!("sha256={}/signature-{}", r.digest.hex(), i + 1),
                bytes: &s.bytes,
            });
            digests.push(r.digest.to_string());
        }
    }
    let actions = write_tree(dir, &files, force, MAX_SIGNATURE_BYTES)?;
    Ok(StoreDirSummary {
        files: files
            .iter()
            .zip(actions)
            .zip(digests)
            .map(|((f, action), digest)| EmittedFile {
                path: dir.join(&f.path),
                digest: Some(digest),
                signatures: 1,
                action,
                kind: None,
                releases: Vec::new(),
            })
            .collect(),
        patch_command: signature_stores_patch(url),
    })
}

/// Write the bundle's sigstore artifacts as an OCI image layout (`oci-layout`, `index.json`
/// naming each `.sig` manifest by its tag, `blobs/sha256/<hex>`), byte for byte as in the
/// bundle's `sigstore/` folder ([`write_tree`]'s rules). Each blob's digest is its own; the
/// two layout files have none.
pub fn emit_oci_dir(bundle: &VerifiedBundle, dir: &Path, force: bool) -> Result<Vec<EmittedFile>, UnpackError> {
    let entries: Vec<_> = bundle.sigstore.iter().map(|c| c.entry.clone()).collect();
    let artifacts: Vec<&crate::carry::Artifact> = bundle.sigstore.iter().map(|c| &c.artifact).collect();
    let layout = crate::carry::layout_files(&entries, &artifacts);
    let files: Vec<TreeFile> = layout
        .iter()
        .map(|(p, b)| TreeFile {
            path: p.trim_start_matches(crate::manifest::SIGSTORE_DIR).to_string(),
            bytes: b,
        })
        .collect();
    let actions = write_tree(dir, &files, force, crate::sigstore::verify::MAX_MANIFEST_SIZE as u64)?;
    Ok(files
        .iter()
        .zip(actions)
        .map(|(f, action)| EmittedFile {
            path: dir.join(&f.path),
            digest: f.path.strip_prefix("blobs/sha256/").map(|h| format!("sha256:{h}")),
            signatures: usize::from(f.path.starts_with("blobs/")),
            action,
            kind: None,
            releases: Vec::new(),
        })
        .collect())
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
    read_claims(path).map(|c| c.manifest)
}

/// What a bundle claims, unverified: its manifest, and who the packer signature says signed
/// it (each signature packet's issuer; empty when unsigned or unreadable).
pub struct Claims {
    pub manifest: Manifest,
    pub signers: Vec<String>,
}

/// [`Claims`] of the bundle at `path`, read within the reader's limits.
pub fn read_claims(path: &Path) -> Result<Claims, UnpackError> {
    let open_err = |source| UnpackError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(open_err)?;
    let (manifest, sig) =
        crate::bundle::read_claims(std::io::BufReader::new(file)).map_err(|source| UnpackError::Bundle {
            path: path.to_path_buf(),
            source,
        })?;
    let signers = sig
        .and_then(|s| crate::packer_key::signature_issuers(&s).ok())
        .unwrap_or_default();
    Ok(Claims { manifest, signers })
}
