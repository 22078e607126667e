//! The library's one error type, each failure knowing its exit class (1 verification failed, 2
//! usage or I/O), as the binaries' exit policy needs it.

use crate::{
    audit, bundle, carried, cluster, cosign, digest, fsutil, keyring, packer_key, packing, registry, resolve, store,
    unpack, update_path, verify,
};

pub use crate::exit::ExitClass;

/// Any library failure, with the exit class the binaries map it to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Digest(#[from] digest::DigestError),
    #[error(transparent)]
    Keyring(#[from] keyring::KeyringError),
    #[error(transparent)]
    Trust(#[from] verify::trust::TrustError),
    #[error(transparent)]
    Packer(#[from] packer_key::PackerError),
    #[error(transparent)]
    Pack(#[from] packing::PackError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error(transparent)]
    Unpack(#[from] unpack::UnpackError),
    #[error(transparent)]
    Write(#[from] fsutil::WriteError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error(transparent)]
    Cosign(#[from] cosign::CosignError),
    #[error(transparent)]
    UpdatePath(#[from] update_path::PathError),
    #[error(transparent)]
    Carried(#[from] carried::CarriedError),
    /// A usage problem found after argument parsing (e.g. a missing option combination).
    #[error("{0}")]
    Usage(String),
    /// A step failed, and its audit record could not be written either: the step's error is
    /// what the user must see first.
    #[error("{error}")]
    NotRecorded {
        error: Box<Error>,
        audit: audit::AuditError,
    },
}

impl Error {
    /// Whether this is a verification failure (exit 1) or a usage/I-O failure (exit 2): each
    /// concern's error knows its own class.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            Error::Pack(e) => e.exit_class(),
            Error::Unpack(e) => e.exit_class(),
            Error::Cosign(e) => e.exit_class(),
            Error::NotRecorded { error, .. } => error.exit_class(),
            _ => ExitClass::UsageOrIo,
        }
    }

    /// The problems of a refused bundle (the first ones) and how many more there were.
    pub fn rejection(&self) -> Option<(&[bundle::Problem], u64)> {
        match self {
            Error::Unpack(e) => e.rejection(),
            Error::Cosign(e) => e.rejection(),
            Error::NotRecorded { error, .. } => error.rejection(),
            _ => None,
        }
    }
}
