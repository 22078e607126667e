//! Keyrings of OpenPGP certificates as sequoia reads them: the packer's keys, and the release
//! keys for `--strict` (the cluster's own reading of release keys is `verify::trust`).

use std::path::{Path, PathBuf};

use openpgp::cert::CertParser;
use openpgp::parse::Parse;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

/// Why a packer keyring (`--packer-key`) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read packer key {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("packer key {source_name} is not a valid OpenPGP certificate file: {reason}")]
    Parse { source_name: String, reason: String },
    #[error("packer key {source_name} holds no OpenPGP certificate")]
    Empty { source_name: String },
}

/// A set of trusted OpenPGP certificates.
#[derive(Clone)]
pub struct Keyring {
    certs: Vec<Cert>,
    sources: Vec<String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("fingerprints", &self.fingerprints())
            .field("sources", &self.sources)
            .finish()
    }
}

impl Keyring {
    /// A keyring with no certificates.
    pub fn empty() -> Keyring {
        Keyring {
            certs: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// Load every certificate from each file (armored or binary; several per file allowed).
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Keyring, KeyringError> {
        let mut ring = Keyring::empty();
        for path in paths {
            let path = path.as_ref();
            let bytes = std::fs::read(path).map_err(|source| KeyringError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            ring.add_bytes(&bytes, &path.display().to_string())?;
        }
        Ok(ring)
    }

    /// Add every certificate in `bytes` (armored or binary); `name` names the source in errors.
    pub fn add_bytes(&mut self, bytes: &[u8], name: &str) -> Result<(), KeyringError> {
        let parse_err = |e: openpgp::anyhow::Error| KeyringError::Parse {
            source_name: name.to_string(),
            reason: e.to_string(),
        };
        let parser = CertParser::from_bytes(bytes).map_err(parse_err)?;
        let mut n = 0;
        for cert in parser {
            let cert = cert.map_err(parse_err)?;
            // Secret key material is never needed to verify: keep the public part only.
            self.certs.push(cert.strip_secret_key_material());
            n += 1;
        }
        if n == 0 {
            return Err(KeyringError::Empty {
                source_name: name.to_string(),
            });
        }
        self.sources.push(name.to_string());
        Ok(())
    }

    /// A keyring of these certificates (secret parts dropped), named `source`.
    pub fn from_certs(certs: Vec<Cert>, source: &str) -> Keyring {
        Keyring {
            certs: certs.into_iter().map(Cert::strip_secret_key_material).collect(),
            sources: vec![source.to_string()],
        }
    }

    /// Add every certificate of `other`.
    pub fn extend(&mut self, other: Keyring) {
        self.certs.extend(other.certs);
        self.sources.extend(other.sources);
    }

    /// The certificates.
    pub fn certs(&self) -> &[Cert] {
        &self.certs
    }

    /// Primary-key fingerprints (uppercase hex), in load order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs.iter().map(|c| c.fingerprint().to_hex()).collect()
    }

    /// Where the certificates came from (file paths, or `embedded:…`).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// True when there are no certificates.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_and_empty() {
        let mut ring = Keyring::empty();
        let e = ring.add_bytes(b"not a key", "x.asc").unwrap_err();
        assert!(e.to_string().contains("x.asc"), "{e}");
        let e = Keyring::from_files(&["/nonexistent/key.asc"]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/key.asc"), "{e}");
    }
}
