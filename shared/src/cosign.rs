//! `pack cosign`: another packer's signature added to a bundle's `manifest.json.asc` (two-person
//! control), every other byte of the archive kept; the bundle is verified first.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::bundle::{read_archive, read_bundle, write_bundle, BundleError, CheckOptions, PackerStatus, MANIFEST_SIG};
use crate::fsutil::{write_atomic, Overwrite, WriteError};
use crate::manifest::Manifest;
use crate::packer_key::{PackerError, PackerSigner};

/// Why a bundle could not be co-signed.
#[derive(Debug, thiserror::Error)]
pub enum CosignError {
    #[error("cannot read bundle {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {size} bytes is larger than a bundle may be ({limit} bytes)")]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
    #[error("{path}: {source}")]
    Bundle { path: PathBuf, source: BundleError },
    #[error(
        "{path} is not signed by a packer: cosign adds a signature beside the packer's (pack it with --sign-key first)"
    )]
    NotSigned { path: PathBuf },
    #[error("{path}: {source}")]
    Packer { path: PathBuf, source: PackerError },
    #[error("{path}: the signatures would take {size} bytes, more than a reader accepts ({limit})")]
    SignatureTooLarge { path: PathBuf, size: usize, limit: u64 },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot write the receipt: {0}")]
    Receipt(String),
}

impl CosignError {
    /// A bundle that does not verify is a verification failure; the rest is usage or I/O.
    pub fn exit_class(&self) -> crate::exit::ExitClass {
        match self {
            CosignError::Bundle { source, .. } => source.exit_class(),
            _ => crate::exit::ExitClass::UsageOrIo,
        }
    }

    /// The problems of a refused bundle (the first ones) and how many more there were.
    pub fn rejection(&self) -> Option<(&[crate::bundle::Problem], u64)> {
        match self {
            CosignError::Bundle { source, .. } => source.rejection(),
            _ => None,
        }
    }
}

/// A co-signed bundle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cosigned {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The certificate that signed now.
    pub signer: String,
    /// Signature packets now in `manifest.json.asc`.
    pub signatures: usize,
    /// The receipt written beside the bundle (its `bundle_sha256` changed with the bundle).
    pub receipt: String,
}

/// Verify the bundle at `input` with `opts` (integrity, the packer's signature when keys are
/// given, every release signature), add `signer`'s signature of its manifest, and write the
/// result to `output` atomically (the input itself by default), with a new receipt beside it.
/// Only `manifest.json.asc` differs in the archive.
pub fn cosign(
    input: &Path,
    output: &Path,
    signer: &PackerSigner,
    opts: &CheckOptions,
) -> Result<Cosigned, CosignError> {
    let bundle_err = |source| CosignError::Bundle {
        path: input.to_path_buf(),
        source,
    };
    let limit = opts.limits.max_total;
    let size = std::fs::metadata(input)
        .map_err(|source| CosignError::Read {
            path: input.to_path_buf(),
            source,
        })?
        .len();
    if size > limit {
        return Err(CosignError::TooLarge {
            path: input.to_path_buf(),
            size,
            limit,
        });
    }
    // One read: what is verified is what is written again.
    let bytes = std::fs::read(input).map_err(|source| CosignError::Read {
        path: input.to_path_buf(),
        source,
    })?;
    let verified = read_bundle(&bytes[..], opts, None).map_err(bundle_err)?;
    if verified.packer == PackerStatus::Unsigned {
        return Err(CosignError::NotSigned {
            path: input.to_path_buf(),
        });
    }
    let archive = read_archive(&bytes, &opts.limits).map_err(bundle_err)?;
    drop(bytes);
    let (manifest_bytes, old_sig) = match archive.members.as_slice() {
        [(m, mb), (s, sb), ..] if m == crate::bundle::MANIFEST && s == MANIFEST_SIG => (mb, sb),
        _ => {
            return Err(CosignError::NotSigned {
                path: input.to_path_buf(),
            })
        }
    };
    let new_sig = signer
        .cosign(old_sig, manifest_bytes, SystemTime::now())
        .map_err(|source| CosignError::Packer {
            path: input.to_path_buf(),
            source,
        })?;
    if new_sig.len() as u64 > opts.limits.max_manifest_sig {
        return Err(CosignError::SignatureTooLarge {
            path: input.to_path_buf(),
            size: new_sig.len(),
            limit: opts.limits.max_manifest_sig,
        });
    }
    let signatures = crate::packer_key::signature_issuers(&new_sig).map_or(0, |s| s.len());
    let out = write_bundle(
        Vec::with_capacity(size as usize + 1024),
        archive.compression,
        archive.mtime,
        manifest_bytes,
        Some(&new_sig),
        &archive.members[2..],
    )
    .map_err(|source| CosignError::Read {
        path: input.to_path_buf(),
        source,
    })?;
    write_atomic(output, 0o644, Overwrite::Always, |w| w.write_all(&out))?;
    let sha256 = crate::digest::sha256_hex(&out);
    let manifest: &Manifest = &verified.manifest;
    let receipt = crate::packing::write_receipt(output, &sha256, manifest, manifest_bytes)
        .map_err(|e| CosignError::Receipt(e.to_string()))?;
    Ok(Cosigned {
        path: output.to_path_buf(),
        bytes: out.len() as u64,
        sha256,
        signer: signer.fingerprint().to_string(),
        signatures,
        receipt,
    })
}
