//! sigbundle: carry OpenShift release-image signatures, and nothing else, across an air gap.
//!
//! The library holds all logic; the `pack` and `unpack` binaries only parse arguments, call
//! into it and map its errors to exit codes ([`ExitClass`]).
#![forbid(unsafe_code)]

pub mod audit;
pub mod bundle;
pub mod cli;
pub mod cluster;
pub mod configmap;
pub mod digest;
pub mod fsutil;
pub mod keyring;
pub mod manifest;
pub mod pack;
pub mod packer;
pub mod registry;
pub mod resolve;
pub mod store;
pub mod unpack;
pub mod verify;

/// The version of this tool, recorded in every bundle manifest.
pub const TOOL_VERSION: &str = concat!("sigbundle ", env!("CARGO_PKG_VERSION"));

/// What a failure means for the process: the binaries turn this into their exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// Something did not verify: a signature, a bundle, a digest (exit 1).
    Verification,
    /// Bad usage, or an I/O or network failure (exit 2).
    UsageOrIo,
}

impl ExitClass {
    /// The documented exit code: 1 verification failed, 2 usage or I/O error.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Verification => 1,
            ExitClass::UsageOrIo => 2,
        }
    }
}

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
    Packer(#[from] packer::PackerError),
    #[error(transparent)]
    Pack(#[from] pack::PackError),
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
    /// A usage problem found after argument parsing (e.g. a missing option combination).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Whether this is a verification failure (exit 1) or a usage/I-O failure (exit 2).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            Error::Pack(pack::PackError::NoValidSignature { .. })
            | Error::Unpack(unpack::UnpackError::Bundle {
                source: bundle::BundleError::Rejected { .. },
                ..
            }) => ExitClass::Verification,
            _ => ExitClass::UsageOrIo,
        }
    }
}

/// An error and its sources on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// Escape control characters (and backslashes) so that a name read from untrusted input can be
/// printed to a terminal without its escape sequences taking effect.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Escape raw bytes (possibly not UTF-8) for printing, as [`escape_name`] does.
pub fn escape_bytes(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        out.push_str(&escape_name(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape_name("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(escape_bytes(b"x\xffy\0"), "x\\xffy\\u{0}");
        assert_eq!(escape_name("plain/name-1"), "plain/name-1");
    }
}
