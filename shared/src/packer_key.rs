//! Packer keys: the key pair that signs a bundle's manifest on the connected side, so the
//! air-gapped side knows who packed it. Generate, sign (detached, armored), and verify by
//! stricter rules than release signatures: copies of a certificate merged first, validity at
//! the signature's time, no expired or revoked key, no SHA-1, text signatures over CR LF.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::crypto::{KeyPair, Password};
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::{Key, Signature};
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::policy::{HashAlgoSecurity, Policy, StandardPolicy};
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::{HashAlgorithm, KeyFlags, RevocationStatus, SignatureType};
use openpgp::{Cert, KeyHandle, Packet};
use sequoia_openpgp as openpgp;

use crate::fsutil::{write_atomic, Overwrite, WriteError};
use crate::keyring::Keyring;
use crate::verify::{rfc3339, unix};

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
    #[error("secret key {path} is protected by a passphrase; set {PASSPHRASE_ENV}, or run on a terminal to type it")]
    NeedPassphrase { path: PathBuf },
    #[error("cannot unlock secret key {path}: wrong passphrase in {PASSPHRASE_ENV}?")]
    WrongPassphrase { path: PathBuf },
    #[error("cannot generate a packer key: {reason}")]
    Generate { reason: String },
    #[error("cannot sign: {reason}")]
    Sign { reason: String },
    /// `pack cosign` with a key whose certificate already signed the manifest.
    #[error(
        "the manifest is already signed by packer key {fingerprint}: a second signature must come from another key"
    )]
    AlreadySigned { fingerprint: String },
    /// `pack cosign` would put more signatures in `manifest.json.asc` than a reader accepts.
    #[error("manifest.json.asc already holds {held} signature(s); at most {MAX_SIGNATURE_PACKETS} are read")]
    TooManySignatures { held: usize },
    /// The existing `manifest.json.asc` could not be read as signatures.
    #[error("manifest.json.asc: {0}")]
    Existing(PackerVerdict),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// A loaded secret signing key.
pub struct PackerSigner {
    keypair: KeyPair,
    cert_fingerprint: String,
    /// Every key of its certificate, to tell a signature already made by it.
    cert_keys: Vec<KeyHandle>,
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
        let policy = packer_policy();
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
            cert_keys: cert.keys().map(|k| k.key().key_handle()).collect(),
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

impl PackerSigner {
    /// `existing` (an armored `manifest.json.asc`) with a new signature of `data` by this key
    /// appended, armored again: the earlier signature packets are kept byte for byte. Refused
    /// when this key's certificate already signed, or when the result would hold more
    /// signatures than a reader accepts.
    pub fn cosign(&self, existing: &[u8], data: &[u8], created: SystemTime) -> Result<Vec<u8>, PackerError> {
        let old = parse_detached(existing).map_err(PackerError::Existing)?;
        for sig in &old {
            if sig
                .get_issuers()
                .iter()
                .any(|i| self.cert_keys.iter().any(|k| k.aliases(i)))
            {
                return Err(PackerError::AlreadySigned {
                    fingerprint: self.cert_fingerprint.clone(),
                });
            }
        }
        if old.len() >= MAX_SIGNATURE_PACKETS {
            return Err(PackerError::TooManySignatures { held: old.len() });
        }
        let new = parse_detached(&self.sign_detached(data, created)?).map_err(PackerError::Existing)?;
        let err = |e: openpgp::anyhow::Error| PackerError::Sign { reason: e.to_string() };
        let io = |e: std::io::Error| PackerError::Sign { reason: e.to_string() };
        let mut out = Vec::new();
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).map_err(io)?;
        for sig in old.into_iter().chain(new) {
            openpgp::serialize::Serialize::serialize(&Packet::from(sig), &mut w).map_err(err)?;
        }
        w.finalize().map_err(io)?;
        Ok(out)
    }
}

/// The keys each signature packet of a `manifest.json.asc` names (fingerprint where given,
/// else key ID), unverified: what `unpack inspect` shows before anyone checks them.
pub fn signature_issuers(signature: &[u8]) -> Result<Vec<String>, PackerVerdict> {
    Ok(parse_detached(signature)?
        .iter()
        .map(|s| {
            let issuers = s.get_issuers();
            issuers
                .iter()
                .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
                .or(issuers.first())
                .map_or_else(|| "(no issuer)".to_string(), KeyHandle::to_hex)
        })
        .collect())
}

/// How far in this host's future a packer signature may be dated before a warning.
pub const FUTURE_TOLERANCE_SECS: u64 = 3600;

/// The most signature packets a `manifest.json.asc` may hold.
const MAX_SIGNATURE_PACKETS: usize = 8;

/// A packer signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackerCheck {
    /// The signing key's fingerprint (the primary key or a subkey).
    pub signer: String,
    /// The certificate's (primary key's) fingerprint.
    pub signer_cert: String,
    /// When the signature says it was made (seconds since the epoch).
    pub created: u64,
    /// Things worth saying that do not refuse the signature (a date in this host's future).
    pub warnings: Vec<String>,
}

/// Why a packer signature was refused. Packer signatures are sigbundle's own, so the rules are
/// stricter than for release signatures: no SHA-1, no expired or revoked key, validity judged at
/// the signature's creation time with every copy of a certificate merged first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackerVerdict {
    #[error("bad-signature: not a detached OpenPGP signature: {reason}")]
    Malformed { reason: String },
    #[error("untrusted-signer: {}", untrusted(.issuers, .trusted))]
    Untrusted {
        /// The keys the signature names (a signing subkey, usually).
        issuers: Vec<String>,
        /// The trusted packer certificates, by primary fingerprint.
        trusted: Vec<String>,
    },
    #[error("bad-signature: the signature by {} does not match the manifest ({reason})", key_name(.fingerprint, .subkey))]
    BadSignature {
        fingerprint: String,
        subkey: Option<String>,
        reason: String,
    },
    #[error("weak-hash: made with {algorithm}, which a packer signature may not use (SHA-256 or stronger)")]
    WeakHash { algorithm: String },
    #[error("bad-signature: the signature carries no creation time")]
    NoCreationTime,
    #[error("key-not-valid: packer key {fingerprint} is not valid at the signature's time {}: {reason}", rfc3339(*.signed_at))]
    NotValidAtSignatureTime {
        fingerprint: String,
        signed_at: u64,
        reason: String,
    },
    #[error("expired-key: made at {} by {}, which expired {}", rfc3339(*.signed_at), key_name(.fingerprint, .subkey), expired(*.expired_at))]
    KeyExpired {
        fingerprint: String,
        subkey: Option<String>,
        signed_at: u64,
        expired_at: Option<u64>,
    },
    #[error("revoked-key: packer key {fingerprint} is revoked{}", because(.reason))]
    Revoked { fingerprint: String, reason: String },
    #[error("expired-signature: the packer signature expired at {}", rfc3339(*.expired_at))]
    SignatureExpired { expired_at: u64 },
    #[error("bad-signature: {} is not a signing key", key_name(.fingerprint, .subkey))]
    NotSigningKey {
        fingerprint: String,
        subkey: Option<String>,
    },
}

/// A key named as users know it: by its certificate's primary fingerprint (what `pack key
/// generate`, `verify`, `inspect` and receipts print), with the subkey that signed as a detail.
fn key_name(cert: &str, subkey: &Option<String>) -> String {
    match subkey {
        Some(sub) if sub != cert => format!("packer key {cert} (signing subkey {sub})"),
        _ => format!("packer key {cert}"),
    }
}

fn untrusted(issuers: &[String], trusted: &[String]) -> String {
    let signer = if issuers.is_empty() {
        "the signature names no signer".into()
    } else {
        format!(
            "signed by key {}, which is in no trusted packer certificate",
            issuers.join(", ")
        )
    };
    format!("{signer} (trusted: {})", trusted.join(", "))
}

fn expired(at: Option<u64>) -> String {
    at.map_or_else(|| "before then".to_string(), |t| format!("at {}", rfc3339(t)))
}

fn because(r: &str) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(" ({r})")
    }
}

/// The policy packer signatures and keys are judged by: sequoia's standard policy (SHA-1 is
/// refused outright below, whatever a signature's date).
fn packer_policy() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

/// Hash algorithms a packer signature may use.
fn strong_hash(h: HashAlgorithm) -> bool {
    matches!(
        h,
        HashAlgorithm::SHA256
            | HashAlgorithm::SHA384
            | HashAlgorithm::SHA512
            | HashAlgorithm::SHA3_256
            | HashAlgorithm::SHA3_512
    )
}

/// Every certificate of the keyring, the copies of one certificate (several `--packer-key`
/// files, or one file listing it twice) merged into one, so a revocation or a new expiry in any
/// copy counts whatever the order of the files.
fn merged_certs(keys: &Keyring) -> Vec<Cert> {
    let mut by_fpr: std::collections::BTreeMap<openpgp::Fingerprint, Cert> = std::collections::BTreeMap::new();
    for c in keys.certs() {
        let fpr = c.fingerprint();
        let merged = match by_fpr.remove(&fpr) {
            // Copies of one certificate always merge; keep the first should that ever fail.
            Some(prev) => prev.clone().merge_public(c.clone()).unwrap_or(prev),
            None => c.clone(),
        };
        by_fpr.insert(fpr, merged);
    }
    by_fpr.into_values().collect()
}

/// The signature packets of a detached signature (armored or binary). Anything else (a
/// compressed or literal packet, say) is refused without being opened.
fn parse_detached(signature: &[u8]) -> Result<Vec<Signature>, PackerVerdict> {
    let bad = |reason: String| PackerVerdict::Malformed { reason };
    let mut sigs = Vec::new();
    let mut ppr = PacketParser::from_bytes(signature).map_err(|e| bad(e.to_string()))?;
    while let PacketParserResult::Some(pp) = ppr {
        if !matches!(pp.packet, Packet::Signature(_)) {
            return Err(bad(format!(
                "a {} where only signature packets belong",
                pp.packet.tag()
            )));
        }
        if sigs.len() == MAX_SIGNATURE_PACKETS {
            return Err(bad(format!("more than {MAX_SIGNATURE_PACKETS} signature packets")));
        }
        let (packet, next) = pp.next().map_err(|e| bad(e.to_string()))?;
        if let Packet::Signature(s) = packet {
            sigs.push(s);
        }
        ppr = next;
    }
    if sigs.is_empty() {
        return Err(bad("no signature packet".into()));
    }
    Ok(sigs)
}

/// Hash `data` as signature `sig` covers it: as is for a binary signature; for a text
/// signature with every line ending (CR LF, LF or a lone CR) made CR LF, as OpenPGP specifies.
fn hash_document(sig: &Signature, data: &[u8]) -> openpgp::Result<openpgp::crypto::hash::Context> {
    let mut hash = sig.hash_algo().context()?.for_signature(sig.version());
    if let Some(salt) = sig.salt() {
        hash.update(salt);
    }
    match sig.typ() {
        SignatureType::Binary => hash.update(data),
        SignatureType::Text => {
            let mut rest = data;
            while let Some(i) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
                hash.update(&rest[..i]);
                hash.update(b"\r\n");
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[i + skip..];
            }
            hash.update(rest);
        }
        other => {
            return Err(openpgp::Error::UnsupportedSignatureType(other).into());
        }
    }
    Ok(hash)
}

/// Whether a certificate, or its key `handle`, is revoked as of `t`.
fn revoked_at(cert: &Cert, policy: &dyn Policy, issuers: &[KeyHandle], t: SystemTime) -> Option<(String, String)> {
    let why = |revs: &[&Signature]| {
        revs.iter()
            .find_map(|r| r.reason_for_revocation())
            .map(|(code, text)| {
                let text = String::from_utf8_lossy(text);
                if text.is_empty() {
                    code.to_string()
                } else {
                    format!("{code}: {}", crate::text::escape_name(&text))
                }
            })
            .unwrap_or_default()
    };
    if let RevocationStatus::Revoked(revs) = cert.revocation_status(policy, t) {
        return Some((cert.fingerprint().to_hex(), why(&revs)));
    }
    for ka in cert.keys().subkeys().key_handles(issuers.iter()) {
        if let RevocationStatus::Revoked(revs) = ka.revocation_status(policy, t) {
            return Some((ka.key().fingerprint().to_hex(), why(&revs)));
        }
    }
    None
}

/// Judge one signature packet by a trusted certificate that holds its issuer.
fn judge(
    policy: &dyn Policy,
    cert: &Cert,
    sig: &Signature,
    issuers: &[KeyHandle],
    data: &[u8],
    now: SystemTime,
) -> Result<PackerCheck, PackerVerdict> {
    if !strong_hash(sig.hash_algo()) {
        return Err(PackerVerdict::WeakHash {
            algorithm: sig.hash_algo().to_string(),
        });
    }
    let created_at = sig.signature_creation_time().ok_or(PackerVerdict::NoCreationTime)?;
    let created = unix(created_at);
    // A revocation in force when the signature was made, or now (a key revoked since then is
    // not trusted for old bundles either: a packer key is revoked because it leaked).
    for t in [created_at, now] {
        if let Some((fingerprint, reason)) = revoked_at(cert, policy, issuers, t) {
            return Err(PackerVerdict::Revoked { fingerprint, reason });
        }
    }
    let vc = cert
        .with_policy(policy, created_at)
        .map_err(|e| PackerVerdict::NotValidAtSignatureTime {
            fingerprint: cert.fingerprint().to_hex(),
            signed_at: created,
            reason: e.to_string(),
        })?;
    if vc.alive().is_err() {
        return Err(PackerVerdict::KeyExpired {
            fingerprint: cert.fingerprint().to_hex(),
            subkey: None,
            signed_at: created,
            expired_at: vc.primary_key().key_expiration_time().map(unix),
        });
    }
    let mut not_signing = None;
    let mut expired_key = None;
    for ka in vc.keys().key_handles(issuers.iter()) {
        let fingerprint = cert.fingerprint().to_hex();
        let subkey = Some(ka.key().fingerprint().to_hex());
        if ka.alive().is_err() {
            expired_key = Some(PackerVerdict::KeyExpired {
                fingerprint,
                subkey,
                signed_at: created,
                expired_at: ka.key_expiration_time().map(unix),
            });
            continue;
        }
        if ka.key_flags().is_some_and(|f| !f.for_signing()) {
            not_signing = Some(PackerVerdict::NotSigningKey { fingerprint, subkey });
            continue;
        }
        verify_by_key(policy, sig, ka.key(), (&fingerprint, &subkey), data, now)?;
        let mut warnings = Vec::new();
        if created > unix(now) + FUTURE_TOLERANCE_SECS {
            warnings.push(format!(
                "the packer signature is dated {}, in this host's future: is a clock wrong?",
                rfc3339(created)
            ));
        }
        return Ok(PackerCheck {
            signer: ka.key().fingerprint().to_hex(),
            signer_cert: fingerprint,
            created,
            warnings,
        });
    }
    Err(expired_key
        .or(not_signing)
        .unwrap_or_else(|| PackerVerdict::NotValidAtSignatureTime {
            fingerprint: cert.fingerprint().to_hex(),
            signed_at: created,
            reason: format!(
                "its key {} is not valid at that time",
                issuers.first().map(KeyHandle::to_hex).unwrap_or_default()
            ),
        }))
}

/// [`judge`] by one signing key (fingerprint `fingerprint`): the signature's algorithms under
/// `policy`, the signature itself over `data`, and its expiry as of `now`.
fn verify_by_key(
    policy: &dyn Policy,
    sig: &Signature,
    key: &Key<PublicParts, UnspecifiedRole>,
    (fingerprint, subkey): (&str, &Option<String>),
    data: &[u8],
    now: SystemTime,
) -> Result<(), PackerVerdict> {
    let bad = |reason: String| PackerVerdict::BadSignature {
        fingerprint: fingerprint.to_string(),
        subkey: subkey.clone(),
        reason,
    };
    policy
        .signature(sig, HashAlgoSecurity::CollisionResistance)
        .map_err(|e| bad(format!("refused by policy: {e}")))?;
    let hash = hash_document(sig, data).map_err(|e| bad(e.to_string()))?;
    sig.verify_hash(key, hash).map_err(|e| bad(e.to_string()))?;
    if let Some(exp) = sig.signature_expiration_time() {
        if now >= exp {
            return Err(PackerVerdict::SignatureExpired { expired_at: unix(exp) });
        }
    }
    Ok(())
}

/// Check a packer's detached signature of `data` (the exact bytes of `manifest.json`) against
/// the trusted packer certificates, as of `now`: the first trusted signer's check (see
/// [`verify_packer_signatures`]).
pub fn verify_packer_signature(
    packer_keys: &Keyring,
    signature: &[u8],
    data: &[u8],
    now: SystemTime,
) -> Result<PackerCheck, PackerVerdict> {
    let mut all = verify_packer_signatures(packer_keys, signature, data, now)?;
    Ok(all.swap_remove(0))
}

/// Every trusted signer of `data` in a `manifest.json.asc` that may hold several signatures
/// (`pack cosign`), one check per certificate, in packet order. Every packet by a trusted key
/// must verify (one that does not refuses the whole); packets by other keys are skipped; no
/// trusted packet at all is [`PackerVerdict::Untrusted`].
pub fn verify_packer_signatures(
    packer_keys: &Keyring,
    signature: &[u8],
    data: &[u8],
    now: SystemTime,
) -> Result<Vec<PackerCheck>, PackerVerdict> {
    let sigs = parse_detached(signature)?;
    let certs = merged_certs(packer_keys);
    let policy = packer_policy();
    let mut untrusted = Vec::new();
    let mut checks: Vec<PackerCheck> = Vec::new();
    for sig in &sigs {
        let issuers = sig.get_issuers();
        let holder = certs
            .iter()
            .find(|c| c.keys().key_handles(issuers.iter()).next().is_some());
        match holder {
            Some(cert) => {
                let check = judge(&policy, cert, sig, &issuers, data, now)?;
                if !checks.iter().any(|c| c.signer_cert == check.signer_cert) {
                    checks.push(check);
                }
            }
            None => untrusted.extend(issuers.iter().map(KeyHandle::to_hex)),
        }
    }
    if !checks.is_empty() {
        return Ok(checks);
    }
    // A signature names its key by fingerprint and by key ID: say each key once.
    let named = untrusted.clone();
    untrusted.retain(|id| !named.iter().any(|f| f.len() > id.len() && f.ends_with(id.as_str())));
    untrusted.dedup();
    Err(PackerVerdict::Untrusted {
        issuers: untrusted,
        trusted: certs.iter().map(|c| c.fingerprint().to_hex()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::packet::signature::SignatureBuilder;
    use openpgp::serialize::Serialize as _;
    use openpgp::types::ReasonForRevocation;
    use std::time::Duration;

    const DAY: Duration = Duration::from_secs(86_400);

    fn at(year: i32) -> SystemTime {
        humantime::parse_rfc3339(&format!("{year}-01-10T00:00:00Z")).unwrap()
    }

    /// A packer certificate (Ed25519, signing subkey) made at `created`, valid for `validity`.
    fn cert(created: SystemTime, validity: Option<Duration>) -> Cert {
        CertBuilder::new()
            .add_userid("Test Packer <p@example.org>")
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(created)
            .set_validity_period(validity)
            .add_signing_subkey()
            .generate()
            .unwrap()
            .0
    }

    fn sign(cert: &Cert, typ: SignatureType, hash: HashAlgorithm, when: SystemTime, data: &[u8]) -> Vec<u8> {
        let key = cert.keys().subkeys().secret().next().unwrap().key().clone();
        let mut kp = key.parts_into_secret().unwrap().into_keypair().unwrap();
        let sig = SignatureBuilder::new(typ)
            .set_signature_creation_time(when)
            .unwrap()
            .set_hash_algo(hash)
            .sign_message(&mut kp, data)
            .unwrap();
        let mut out = Vec::new();
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
        Packet::from(sig).serialize(&mut w).unwrap();
        w.finalize().unwrap();
        out
    }

    fn ring(certs: &[&Cert]) -> Keyring {
        let mut r = Keyring::empty();
        for (i, c) in certs.iter().enumerate() {
            r.add_bytes(&c.armored().to_vec().unwrap(), &format!("copy-{i}"))
                .unwrap();
        }
        r
    }

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
        let now = SystemTime::now();
        let sig = s.sign_detached(b"manifest", now).unwrap();
        assert!(sig.starts_with(b"-----BEGIN PGP SIGNATURE-----"));
        let ring = Keyring::from_files(&[&g.public_path]).unwrap();
        let ok = verify_packer_signature(&ring, &sig, b"manifest", now).unwrap();
        assert_eq!(ok.signer_cert, g.fingerprint);
        assert!(ok.warnings.is_empty());
        assert!(matches!(
            verify_packer_signature(&ring, &sig, b"manifesT", now),
            Err(PackerVerdict::BadSignature { .. })
        ));
        assert!(matches!(
            verify_packer_signature(
                &Keyring::from_files(&[concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../tests/fixtures/keys/redhat-release-key-2.asc"
                )])
                .unwrap(),
                &sig,
                b"manifest",
                now
            ),
            Err(PackerVerdict::Untrusted { .. })
        ));
    }

    #[test]
    fn a_key_expired_before_the_signature_is_refused() {
        let c = cert(at(2019), Some(365 * DAY));
        let sig = sign(&c, SignatureType::Binary, HashAlgorithm::SHA512, at(2026), b"m");
        let e = verify_packer_signature(&ring(&[&c]), &sig, b"m", at(2026)).unwrap_err();
        assert!(matches!(e, PackerVerdict::KeyExpired { .. }), "{e}");
        assert!(e.to_string().contains("expired at 2020-01-10"), "{e}");
        // Made while the key was alive, it still verifies today.
        let sig = sign(&c, SignatureType::Binary, HashAlgorithm::SHA512, at(2019) + DAY, b"m");
        verify_packer_signature(&ring(&[&c]), &sig, b"m", at(2026)).unwrap();
        // Dated before the key existed: not valid at that time.
        let sig = sign(&c, SignatureType::Binary, HashAlgorithm::SHA512, at(2018), b"m");
        let e = verify_packer_signature(&ring(&[&c]), &sig, b"m", at(2026)).unwrap_err();
        assert!(matches!(e, PackerVerdict::NotValidAtSignatureTime { .. }), "{e}");
    }

    #[test]
    fn a_revocation_in_any_copy_counts_whatever_the_order() {
        let c = cert(at(2024), None);
        let mut primary = c
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let rev = c
            .revoke(&mut primary, ReasonForRevocation::KeyCompromised, b"leaked")
            .unwrap();
        let revoked = c.clone().insert_packets(rev).unwrap().0;
        let sig = sign(&c, SignatureType::Binary, HashAlgorithm::SHA256, at(2025), b"m");
        for keys in [ring(&[&c, &revoked]), ring(&[&revoked, &c])] {
            let e = verify_packer_signature(&keys, &sig, b"m", at(2026)).unwrap_err();
            assert!(matches!(e, PackerVerdict::Revoked { .. }), "{e}");
            assert!(e.to_string().contains("leaked"), "{e}");
        }
        verify_packer_signature(&ring(&[&c]), &sig, b"m", at(2026)).unwrap();
    }

    #[test]
    fn sha1_is_refused_and_text_signatures_use_canonical_line_endings() {
        let c = cert(at(2024), None);
        let keys = ring(&[&c]);
        let sig = sign(&c, SignatureType::Binary, HashAlgorithm::SHA1, at(2025), b"m");
        let e = verify_packer_signature(&keys, &sig, b"m", at(2026)).unwrap_err();
        assert!(matches!(e, PackerVerdict::WeakHash { .. }), "{e}");
        // A text signature covers the text with CR LF line endings, whatever the file has.
        let sig = sign(
            &c,
            SignatureType::Text,
            HashAlgorithm::SHA256,
            at(2025),
            b"{\r\n  \"a\": 1\r\n}\r\n",
        );
        for data in [
            &b"{\n  \"a\": 1\n}\n"[..],
            b"{\r\n  \"a\": 1\r\n}\r\n",
            b"{\r  \"a\": 1\r}\r",
        ] {
            verify_packer_signature(&keys, &sig, data, at(2026)).unwrap();
        }
        assert!(verify_packer_signature(&keys, &sig, b"{\n  \"a\": 2\n}\n", at(2026)).is_err());
        // A binary signature over the same text does not: bytes are bytes.
        let sig = sign(&c, SignatureType::Binary, HashAlgorithm::SHA256, at(2025), b"a\r\n");
        assert!(verify_packer_signature(&keys, &sig, b"a\n", at(2026)).is_err());
    }

    #[test]
    fn a_signature_from_the_future_verifies_with_a_warning() {
        let c = cert(at(2024), None);
        let sig = sign(
            &c,
            SignatureType::Binary,
            HashAlgorithm::SHA256,
            at(2026) + 3 * DAY,
            b"m",
        );
        let ok = verify_packer_signature(&ring(&[&c]), &sig, b"m", at(2026)).unwrap();
        assert_eq!(ok.warnings.len(), 1, "{:?}", ok.warnings);
        assert!(ok.warnings[0].contains("future"));
    }

    #[test]
    fn anything_but_signature_packets_is_refused_unopened() {
        let c = cert(at(2024), None);
        // A compressed packet (a bomb would be one) where a signature belongs.
        let mut bytes = Vec::new();
        {
            use openpgp::serialize::stream::{Compressor, LiteralWriter};
            let m = Message::new(&mut bytes);
            let m = Compressor::new(m).build().unwrap();
            let mut w = LiteralWriter::new(m).build().unwrap();
            w.write_all(&[0u8; 4096]).unwrap();
            w.finalize().unwrap();
        }
        let e = verify_packer_signature(&ring(&[&c]), &bytes, b"m", at(2026)).unwrap_err();
        assert!(e.to_string().contains("where only signature packets belong"), "{e}");
        let e = verify_packer_signature(&ring(&[&c]), b"", b"m", at(2026)).unwrap_err();
        assert!(matches!(e, PackerVerdict::Malformed { .. }), "{e}");
    }
}
