//! Packer keys: the key pair that signs a bundle's manifest on the connected side, so the
//! air-gapped side knows who packed it. Generate, sign (detached, armored), verify.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::crypto::{KeyPair, Password};
use openpgp::parse::Parse;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::KeyFlags;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::fsutil::{write_atomic, Overwrite, WriteError};
use crate::keyring::Keyring;
use crate::verify::{self, DetachedCheck, Verdict};

/// The environment variable a secret key's passphrase is read from (never the command line).
pub const PASSPHRASE_ENV: &str = "SIGBUNDLE_KEY_PASSPHRASE";

/// Why a packer key could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum PackerError {
    #[error("cannot read secret key {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not an OpenPGP secret key: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{path} holds no usable signing key with secret key material")]
    NoSigningKey { path: PathBuf },
    #[error("secret key {path} is protected by a passphrase; set {PASSPHRASE_ENV}")]
    NeedPassphrase { path: PathBuf },
    #[error("cannot unlock secret key {path}: wrong passphrase in {PASSPHRASE_ENV}?")]
    WrongPassphrase { path: PathBuf },
    #[error("cannot generate a packer key: {reason}")]
    Generate { reason: String },
    #[error("cannot sign: {reason}")]
    Sign { reason: String },
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// A loaded secret signing key.
pub struct PackerSigner {
    keypair: KeyPair,
    cert_fingerprint: String,
}

impl std::fmt::Debug for PackerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackerSigner")
            .field("cert_fingerprint", &self.cert_fingerprint)
            .finish_non_exhaustive()
    }
}

/// What `generate` wrote.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub fingerprint: String,
    pub secret_path: PathBuf,
    pub public_path: PathBuf,
}

/// Generate a packer key pair named `name`: `PREFIX.key` (armored secret key, 0600, encrypted
/// with `passphrase` when given) and `PREFIX.pub.asc` (armored certificate, 0644).
/// Ed25519, certification-capable primary key with a signing subkey, no expiry.
pub fn generate(
    name: &str,
    prefix: &Path,
    passphrase: Option<&str>,
    overwrite: Overwrite,
) -> Result<GeneratedKey, PackerError> {
    let gen_err = |e: openpgp::anyhow::Error| PackerError::Generate { reason: e.to_string() };
    let (cert, _rev) = CertBuilder::new()
        .add_userid(name)
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_primary_key_flags(KeyFlags::empty().set_certification())
        .add_signing_subkey()
        .set_validity_period(None)
        .set_password(passphrase.map(Password::from))
        .generate()
        .map_err(gen_err)?;
    let secret = cert.as_tsk().armored().to_vec().map_err(gen_err)?;
    let public = cert.armored().to_vec().map_err(gen_err)?;
    let mut secret_path = prefix.as_os_str().to_owned();
    secret_path.push(".key");
    let mut public_path = prefix.as_os_str().to_owned();
    public_path.push(".pub.asc");
    let (secret_path, public_path) = (PathBuf::from(secret_path), PathBuf::from(public_path));
    write_atomic(&secret_path, 0o600, overwrite, |w| w.write_all(&secret))?;
    write_atomic(&public_path, 0o644, overwrite, |w| w.write_all(&public))?;
    Ok(GeneratedKey {
        fingerprint: cert.fingerprint().to_hex(),
        secret_path,
        public_path,
    })
}

impl PackerSigner {
    /// Load the signing key from a secret key file; an encrypted key is unlocked with
    /// `passphrase` (read by the caller from [`PASSPHRASE_ENV`]).
    pub fn from_file(path: &Path, passphrase: Option<&str>) -> Result<PackerSigner, PackerError> {
        let bytes = std::fs::read(path).map_err(|source| PackerError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let cert = Cert::from_bytes(&bytes).map_err(|e| PackerError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let policy = verify::policy();
        let ka = cert
            .keys()
            .with_policy(&policy, None)
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .secret()
            .next()
            .ok_or_else(|| PackerError::NoSigningKey {
                path: path.to_path_buf(),
            })?;
        let mut key = ka.key().clone();
        if !key.has_unencrypted_secret() {
            let pw = passphrase.ok_or_else(|| PackerError::NeedPassphrase {
                path: path.to_path_buf(),
            })?;
            key = key
                .decrypt_secret(&Password::from(pw))
                .map_err(|_| PackerError::WrongPassphrase {
                    path: path.to_path_buf(),
                })?;
        }
        let keypair = key.into_keypair().map_err(|e| PackerError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(PackerSigner {
            keypair,
            cert_fingerprint: cert.fingerprint().to_hex(),
        })
    }

    /// The fingerprint of the certificate (primary key) the signing key belongs to.
    pub fn fingerprint(&self) -> &str {
        &self.cert_fingerprint
    }

    /// An armored detached signature of `data`, dated `created`.
    pub fn sign_detached(&self, data: &[u8], created: SystemTime) -> Result<Vec<u8>, PackerError> {
        let err = |e: openpgp::anyhow::Error| PackerError::Sign { reason: e.to_string() };
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let message = Armorer::new(message)
                .kind(openpgp::armor::Kind::Signature)
                .build()
                .map_err(err)?;
            let mut signer = Signer::new(message, self.keypair.clone())
                .map_err(err)?
                .detached()
                .creation_time(created)
                .build()
                .map_err(err)?;
            signer
                .write_all(data)
                .map_err(|e| PackerError::Sign { reason: e.to_string() })?;
            signer.finalize().map_err(err)?;
        }
        Ok(sink)
    }
}

/// Check a packer's detached signature of `data` against the trusted packer certificates.
pub fn verify_packer_signature(packer_keys: &Keyring, signature: &[u8], data: &[u8]) -> Result<DetachedCheck, Verdict> {
    verify::verify_detached(packer_keys, signature, data, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_sign_verify_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("packer");
        let g = generate("Test Packer <p@example.org>", &prefix, Some("pw"), Overwrite::Never).unwrap();
        assert!(matches!(
            PackerSigner::from_file(&g.secret_path, None),
            Err(PackerError::NeedPassphrase { .. })
        ));
        assert!(matches!(
            PackerSigner::from_file(&g.secret_path, Some("nope")),
            Err(PackerError::WrongPassphrase { .. })
        ));
        let s = PackerSigner::from_file(&g.secret_path, Some("pw")).unwrap();
        assert_eq!(s.fingerprint(), g.fingerprint);
        let sig = s.sign_detached(b"manifest", SystemTime::now()).unwrap();
        assert!(sig.starts_with(b"-----BEGIN PGP SIGNATURE-----"));
        let ring = Keyring::from_files(&[&g.public_path]).unwrap();
        let ok = verify_packer_signature(&ring, &sig, b"manifest").unwrap();
        assert_eq!(ok.signer_cert, g.fingerprint);
        assert!(matches!(
            verify_packer_signature(&ring, &sig, b"manifesT"),
            Err(Verdict::BadSignature { .. })
        ));
        assert!(matches!(
            verify_packer_signature(&Keyring::default_release(), &sig, b"manifest"),
            Err(Verdict::UntrustedSigner { .. })
        ));
    }
}
