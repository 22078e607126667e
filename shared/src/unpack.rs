//! `unpack`: verify a bundle completely, then emit what the cluster needs (ConfigMap files in
//! the exact `oc` format, or YAML). Nothing is written unless verification passed.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bundle::{read_bundle, BundleError, CheckOptions, VerifiedBundle};
use crate::configmap::{file_name, ConfigMap, Format};
use crate::fsutil::{write_atomic, Overwrite, WriteError};

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

/// The ConfigMap file contents of every release of a verified bundle: (file name, bytes).
pub fn render_configmaps(bundle: &VerifiedBundle, format: Format) -> Vec<(String, String, usize, Vec<u8>)> {
    bundle
        .releases
        .iter()
        .filter(|r| !r.signatures.is_empty())
        .map(|r| {
            let sigs: Vec<&[u8]> = r.signatures.iter().map(|s| s.bytes.as_slice()).collect();
            let cm = ConfigMap::for_release(&r.digest, &sigs);
            (
                file_name(&r.digest, format),
                r.digest.to_string(),
                sigs.len(),
                cm.render(format),
            )
        })
        .collect()
}

/// Write one ConfigMap file per release into `dir` (created if needed), mode 0640 as `oc`
/// writes them. Identical files are left alone; a different existing file is a conflict unless
/// `force`. Conflicts are found before anything is written.
pub fn emit_to_dir(
    bundle: &VerifiedBundle,
    dir: &Path,
    format: Format,
    force: bool,
) -> Result<Vec<EmittedFile>, UnpackError> {
    let files = render_configmaps(bundle, format);
    let mut plan = Vec::with_capacity(files.len());
    for (name, digest, n, bytes) in files {
        let path = dir.join(&name);
        let action = match std::fs::read(&path) {
            Ok(old) if old == bytes => FileAction::Unchanged,
            Ok(_) if force => FileAction::Replaced,
            Ok(_) => return Err(UnpackError::Conflict { path }),
            Err(_) if path.symlink_metadata().is_ok() && !force => return Err(UnpackError::Conflict { path }),
            Err(_) => FileAction::Created,
        };
        plan.push((path, digest, n, bytes, action));
    }
    std::fs::create_dir_all(dir).map_err(|source| UnpackError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::with_capacity(plan.len());
    for (path, digest, signatures, bytes, action) in plan {
        if action != FileAction::Unchanged {
            write_atomic(&path, 0o640, Overwrite::Always, |w| w.write_all(&bytes))?;
        }
        out.push(EmittedFile {
            path,
            digest,
            signatures,
            action,
        });
    }
    Ok(out)
}
