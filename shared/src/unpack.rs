//! `unpack`: verify a bundle completely, then emit what the cluster needs (ConfigMap files in
//! the exact `oc` format, or YAML). Nothing is written unless verification passed.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit::{Destination, NewRecord, RecordRelease};
use crate::bundle::{read_bundle, BundleError, CheckOptions, VerifiedBundle};
use crate::configmap::{file_name, ConfigMap, Format};
use crate::digest::Digest;
use crate::fsutil::{Batch, WriteError};
use crate::manifest::Manifest;

/// Why an unpack step failed.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("cannot open bundle {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Bundle { path: PathBuf, source: BundleError },
    #[error("{path} exists with different content; pass --force to replace it (nothing was written)")]
    Conflict { path: PathBuf },
    #[error("cannot create {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("the bundle holds no signature {index} of {digest}")]
    NoSuchSignature { digest: Digest, index: usize },
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Open and verify a bundle file: every check of the format, the packer's signature, and every
/// release signature again.
pub fn open_verified(path: &Path, opts: &CheckOptions) -> Result<VerifiedBundle, UnpackError> {
    let file = std::fs::File::open(path).map_err(|source| UnpackError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    read_bundle(std::io::BufReader::with_capacity(1 << 16, file), opts).map_err(|source| UnpackError::Bundle {
        path: path.to_path_buf(),
        source,
    })
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

/// Write one ConfigMap file per release into `dir` (created if needed), mode 0640 as `oc`
/// writes them. Identical files are left alone; a different existing file is a conflict unless
/// `force`. Each file is rendered and staged in turn (nothing is held for all releases at
/// once); a conflict drops everything staged, so nothing is written.
pub fn emit_to_dir(
    bundle: &VerifiedBundle,
    dir: &Path,
    format: Format,
    force: bool,
) -> Result<Vec<EmittedFile>, UnpackError> {
    std::fs::create_dir_all(dir).map_err(|source| UnpackError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut batch = Batch::new();
    let mut out = Vec::with_capacity(bundle.releases.len());
    for r in bundle.releases.iter().filter(|r| !r.signatures.is_empty()) {
        let sigs: Vec<&[u8]> = r.signatures.iter().map(|s| s.bytes.as_slice()).collect();
        let bytes = ConfigMap::for_release(&r.digest, &sigs).render(format);
        let path = dir.join(file_name(&r.digest, format));
        let action = match std::fs::read(&path) {
            Ok(old) if old == bytes => FileAction::Unchanged,
            Ok(_) if force => FileAction::Replaced,
            Ok(_) => return Err(UnpackError::Conflict { path }),
            Err(_) if path.symlink_metadata().is_ok() && !force => return Err(UnpackError::Conflict { path }),
            Err(_) => FileAction::Created,
        };
        if action != FileAction::Unchanged {
            batch.stage(&path, &bytes, 0o640)?;
        }
        out.push(EmittedFile {
            path,
            digest: r.digest.to_string(),
            signatures: sigs.len(),
            action,
        });
    }
    batch.commit()?;
    Ok(out)
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

/// Write the signatures in the mirror layout (`DIR/sha256=<hex>/signature-<N>`), for a web
/// server that a cluster's `spec.signatureStores` points at. Identical files are left alone; a
/// different one is a conflict unless `force`; conflicts are found before anything is written.
pub fn emit_store_dir(
    bundle: &VerifiedBundle,
    dir: &Path,
    url: &str,
    force: bool,
) -> Result<StoreDirSummary, UnpackError> {
    let mut plan = Vec::new();
    for r in &bundle.releases {
        for (i, s) in r.signatures.iter().enumerate() {
            let path = dir.join(r.digest.signature_file(i + 1));
            let action = match std::fs::read(&path) {
                Ok(old) if old == s.bytes => FileAction::Unchanged,
                Ok(_) if force => FileAction::Replaced,
                Ok(_) => return Err(UnpackError::Conflict { path }),
                Err(_) => FileAction::Created,
            };
            plan.push((path, r.digest.to_string(), &s.bytes, action));
        }
    }
    let mut batch = Batch::new();
    let mut files = Vec::with_capacity(plan.len());
    for (path, digest, bytes, action) in plan {
        if action != FileAction::Unchanged {
            let parent = path.parent().expect("a signature path has a folder");
            std::fs::create_dir_all(parent).map_err(|source| UnpackError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
            batch.stage(&path, bytes, 0o644)?;
        }
        files.push(EmittedFile {
            path,
            digest,
            signatures: 1,
            action,
        });
    }
    batch.commit()?;
    Ok(StoreDirSummary {
        files,
        patch_command: signature_stores_patch(url),
    })
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

/// Each release of a manifest with its signatures' sha256, as the audit log records them.
fn record_releases(m: &Manifest) -> Vec<RecordRelease> {
    m.releases
        .iter()
        .map(|r| RecordRelease {
            digest: r.digest.to_string(),
            signatures: r.signatures.iter().map(|s| s.sha256.clone()).collect(),
        })
        .collect()
}

/// The audit record of a successful step.
pub fn record_ok(
    path: &Path,
    bundle: &VerifiedBundle,
    action: &'static str,
    destination: Option<Destination>,
) -> NewRecord {
    NewRecord {
        action,
        outcome: "ok",
        bundle: path.display().to_string(),
        bundle_sha256: Some(bundle.sha256.clone()),
        packer: Some(bundle.manifest.packer.clone()),
        releases: record_releases(&bundle.manifest),
        destination,
        problems: Vec::new(),
    }
}

/// The audit record of a step that failed after the bundle verified (a conflict, an I/O or a
/// cluster error): what crossed, and why it did not land.
pub fn record_failed(
    path: &Path,
    bundle: &VerifiedBundle,
    action: &'static str,
    err: &dyn std::fmt::Display,
) -> NewRecord {
    NewRecord {
        outcome: "failed",
        problems: vec![err.to_string()],
        ..record_ok(path, bundle, action, None)
    }
}

/// The audit record of a refused bundle (what could be read of it is recorded).
pub fn record_refused(path: &Path, err: &UnpackError, action: &'static str) -> NewRecord {
    let (sha256, manifest, problems) = match err {
        UnpackError::Bundle {
            source:
                BundleError::Rejected {
                    sha256,
                    manifest,
                    problems,
                },
            ..
        } => (
            sha256.clone(),
            manifest.as_deref(),
            problems.iter().map(|p| p.to_string()).collect(),
        ),
        other => (None, None, vec![other.to_string()]),
    };
    NewRecord {
        action,
        outcome: "refused",
        bundle: path.display().to_string(),
        bundle_sha256: sha256,
        packer: manifest.map(|m| m.packer.clone()),
        releases: manifest.map(record_releases).unwrap_or_default(),
        destination: None,
        problems,
    }
}
