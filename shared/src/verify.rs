//! Verification of release signatures exactly as the cluster-version operator does it
//! (library-go `pkg/verify`), and of detached OpenPGP signatures (the packer's), on one core.
//!
//! The rules: the signer must be a key of the trusted keyring (a signature by another key is
//! not fatal, it is `untrusted-signer`); an expired *signature* is rejected, an expired *key* is
//! not (a key is judged as of the signature's creation time); v3 and v4 signature packets are
//! accepted; the JSON payload is decoded strictly (an unknown field anywhere rejects it);
//! `critical.type` must be `atomic container signature`; `critical.image.docker-manifest-digest`
//! must equal the release digest; `critical.identity.docker-reference` must be non-empty.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::crypto::hash::Hash;
use openpgp::crypto::mpi::{self, PublicKey};
use openpgp::packet::key::{KeyParts, KeyRole};
use openpgp::packet::Key;
use openpgp::packet::Signature;
use openpgp::parse::{PacketParserBuilder, PacketParserResult, Parse};
use openpgp::policy::{HashAlgoSecurity, Policy, StandardPolicy};
use openpgp::types::{HashAlgorithm, RevocationStatus, SignatureType};
use openpgp::{KeyHandle, Packet};
use openssl::bn::BigNum;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use sequoia_openpgp as openpgp;

use crate::digest::Digest;
use crate::keyring::Keyring;

/// The largest signature body the cluster reads (it cuts at 50 KiB); sigbundle refuses larger.
pub const MAX_SIGNATURE_BYTES: u64 = 51_200;

/// The `critical.type` every release signature must carry.
pub const SIGNATURE_TYPE: &str = "atomic container signature";

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadProblem {
    /// Not JSON at all.
    NotJson,
    /// A field the cluster does not know (it decodes with unknown fields disallowed).
    UnknownField,
    /// `optional.timestamp` is not an integer, or another field has the wrong JSON type.
    WrongType,
    /// `critical.type` is not `atomic container signature`.
    WrongSignatureType,
    /// `critical.identity.docker-reference` is empty or missing.
    EmptyIdentity,
}

/// The verdict on one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Valid,
    /// Signed by no key of the trusted keyring (or not signed at all).
    UntrustedSigner {
        issuers: Vec<String>,
    },
    /// The bytes are not a well-formed signed message, or the signature does not match them.
    BadSignature {
        reason: String,
    },
    /// The signature itself has expired.
    ExpiredSignature {
        expired_at: u64,
    },
    /// The signing key (or its certificate) is revoked.
    RevokedKey {
        fingerprint: String,
    },
    /// The signed payload breaks the cluster's rules.
    BadPayload {
        problem: PayloadProblem,
        detail: String,
    },
    /// The payload names another digest than the release it is filed under.
    DigestMismatch {
        expected: String,
        got: String,
    },
}

impl Verdict {
    /// The short name of the verdict (`valid`, `untrusted-signer`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::UntrustedSigner { .. } => "untrusted-signer",
            Verdict::BadSignature { .. } => "bad-signature",
            Verdict::ExpiredSignature { .. } => "expired-signature",
            Verdict::RevokedKey { .. } => "revoked-key",
            Verdict::BadPayload { .. } => "bad-payload",
            Verdict::DigestMismatch { .. } => "digest-mismatch",
        }
    }

    /// True for [`Verdict::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Valid => write!(f, "valid"),
            Verdict::UntrustedSigner { issuers } if issuers.is_empty() => {
                write!(f, "untrusted-signer: the message names no signer")
            }
            Verdict::UntrustedSigner { issuers } => write!(
                f,
                "untrusted-signer: signed by {}, not in the trusted keyring",
                issuers.join(", ")
            ),
            Verdict::BadSignature { reason } => write!(f, "bad-signature: {reason}"),
            Verdict::ExpiredSignature { expired_at } => write!(
                f,
                "expired-signature: the signature expired at {}",
                rfc3339(*expired_at)
            ),
            Verdict::RevokedKey { fingerprint } => {
                write!(f, "revoked-key: signing key {fingerprint} is revoked")
            }
            Verdict::BadPayload { problem, detail } => {
                let p = serde_json::to_value(problem).unwrap_or_default();
                write!(f, "bad-payload ({}): {detail}", p.as_str().unwrap_or("?"))
            }
            Verdict::DigestMismatch { expected, got } => {
                write!(f, "digest-mismatch: expected {expected}, signature is for {got}")
            }
        }
    }
}

/// What verification found out about one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureReport {
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Fingerprint of the trusted key that made the signature (the key itself, which may be a
    /// subkey), when one was found.
    pub signer: Option<String>,
    /// Fingerprint of the certificate (primary key) the signer belongs to.
    pub signer_cert: Option<String>,
    /// Signature creation time, seconds since the epoch.
    pub created: Option<u64>,
    /// `critical.identity.docker-reference`.
    pub identity: Option<String>,
    /// `optional.creator`.
    pub creator: Option<String>,
    /// Things worth saying that do not reject the signature.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SignatureReport {
    fn new(verdict: Verdict) -> SignatureReport {
        SignatureReport {
            verdict,
            signer: None,
            signer_cert: None,
            created: None,
            identity: None,
            creator: None,
            warnings: Vec::new(),
        }
    }
}

/// The policy sigbundle judges keys and signatures by: sequoia's standard policy, but with
/// SHA-1 accepted as the cluster (Go's openpgp) accepts it.
pub fn policy() -> StandardPolicy<'static> {
    let mut p = StandardPolicy::new();
    p.accept_hash_property(HashAlgorithm::SHA1, HashAlgoSecurity::SecondPreImageResistance);
    p.accept_hash_property(HashAlgorithm::SHA1, HashAlgoSecurity::CollisionResistance);
    p
}

/// Seconds since the epoch of a time (0 before the epoch).
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// RFC 3339 UTC form of seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// A successful check of one OpenPGP signature against a keyring.
struct GoodSignature {
    signer: String,
    signer_cert: String,
    created: Option<u64>,
}

/// Check one signature packet over `data` against `keyring`, as of `now` (for signature
/// expiry only). Returns the facts, or the verdict that rejects it.
fn check_one(
    policy: &dyn Policy,
    keyring: &Keyring,
    sig: &Signature,
    data: &[u8],
    now: SystemTime,
) -> Result<GoodSignature, Verdict> {
    let issuers = sig.get_issuers();
    let created_at = sig.signature_creation_time();
    let created = created_at.map(unix);
    for cert in keyring.certs() {
        let matching: Vec<_> = cert.keys().key_handles(issuers.iter()).collect();
        if matching.is_empty() {
            continue;
        }
        // Judge the key as of the signature's creation: key expiry is not enforced.
        let at = created_at.unwrap_or(now);
        let vc = match cert.with_policy(policy, at) {
            Ok(vc) => vc,
            Err(e) => {
                return Err(Verdict::BadSignature {
                    reason: format!(
                        "key {} is not valid at the signature's creation time: {e}",
                        cert.fingerprint()
                    ),
                })
            }
        };
        if let RevocationStatus::Revoked(_) = vc.revocation_status() {
            return Err(Verdict::RevokedKey {
                fingerprint: cert.fingerprint().to_hex(),
            });
        }
        for ka in vc.keys().key_handles(issuers.iter()) {
            let fpr = ka.key().fingerprint().to_hex();
            if let RevocationStatus::Revoked(_) = ka.revocation_status() {
                return Err(Verdict::RevokedKey { fingerprint: fpr });
            }
            // Like Go's openpgp: a key whose flags are set must have the signing flag.
            if let Some(flags) = ka.key_flags() {
                if !flags.for_signing() {
                    continue;
                }
            }
            if let Err(e) = policy.signature(sig, HashAlgoSecurity::CollisionResistance) {
                return Err(Verdict::BadSignature {
                    reason: format!("signature algorithm refused: {e}"),
                });
            }
            if let Err(e) = verify_message(sig, ka.key(), data) {
                return Err(Verdict::BadSignature {
                    reason: format!("signature by {fpr} does not match the signed data ({e})"),
                });
            }
            if let (Some(c), Some(validity)) = (created_at, sig.signature_validity_period()) {
                let expires = c + validity;
                if now >= expires {
                    return Err(Verdict::ExpiredSignature {
                        expired_at: unix(expires),
                    });
                }
            }
            return Ok(GoodSignature {
                signer: fpr,
                signer_cert: cert.fingerprint().to_hex(),
                created,
            });
        }
        // A key of this certificate matched but none is valid for signing at that time; a
        // revoked subkey is not listed by the policy view: look for a revocation.
        for ka in cert.keys().subkeys().key_handles(issuers.iter()) {
            if let RevocationStatus::Revoked(_) = ka.revocation_status(policy, at) {
                return Err(Verdict::RevokedKey {
                    fingerprint: ka.key().fingerprint().to_hex(),
                });
            }
        }
        return Err(Verdict::BadSignature {
            reason: format!(
                "key {} is not a valid signing key of {} at the signature's creation time",
                issuers.first().map(|h| h.to_hex()).unwrap_or_default(),
                cert.fingerprint()
            ),
        });
    }
    Err(Verdict::UntrustedSigner {
        issuers: issuers.iter().map(KeyHandle::to_hex).collect(),
    })
}

/// An RSA public key's modulus and exponent, and an OpenSSL verification context for it
/// (PKCS #1 v1.5 padding, no digest: the caller passes the whole DigestInfo block).
type CachedRsaKey = (Vec<u8>, Vec<u8>, PkeyCtx<Public>);

thread_local! {
    /// RSA verification contexts, built once per thread and key. sequoia's backend builds the
    /// key from its MPIs and a context for it on every verification, which recomputes the
    /// Montgomery constants of the modulus and looks the algorithm up again: about a fifth of
    /// an RSA-4096 verification. A context stays initialized between verifications.
    static RSA_KEYS: std::cell::RefCell<Vec<CachedRsaKey>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `Signature::verify_message` with the RSA key object cached per thread. It does what
/// sequoia does — the signature type must be binary or text, the signature must carry a
/// creation time no earlier than the key's, the digest is taken over the data and the
/// signature's hashed fields, and the PKCS #1 v1.5 block must hold the hash's DigestInfo and
/// that digest — and hands everything else (other algorithms, v6, refusals) to sequoia itself,
/// so the verdicts and their reasons stay sequoia's. `fast_rsa_agrees_with_sequoia` checks
/// both on every vector, on corrupted signatures and on altered data.
fn verify_message<P: KeyParts, R: KeyRole>(sig: &Signature, key: &Key<P, R>, data: &[u8]) -> openpgp::Result<()> {
    let (PublicKey::RSA { e, n }, mpi::Signature::RSA { s }) = (key.mpis(), sig.mpis()) else {
        return sig.verify_message(key, data);
    };
    let typ_ok = matches!(sig.typ(), SignatureType::Binary | SignatureType::Text);
    let time_ok = sig.signature_creation_time().is_some_and(|c| c >= key.creation_time());
    if !typ_ok || !time_ok || sig.version() == 6 || key.version() == 6 {
        return sig.verify_message(key, data);
    }
    let mut hash = sig.hash_algo().context()?.for_signature(sig.version());
    hash.update(data);
    sig.hash(&mut hash)?;
    let mut block = sig.hash_algo().oid()?.to_vec();
    block.extend_from_slice(&hash.into_digest()?);
    let good = RSA_KEYS.with(|cell| -> openpgp::Result<bool> {
        let mut keys = cell.borrow_mut();
        let at = match keys.iter().position(|(kn, ke, _)| kn == n.value() && ke == e.value()) {
            Some(i) => i,
            None => {
                let rsa = Rsa::from_public_components(BigNum::from_slice(n.value())?, BigNum::from_slice(e.value())?)?;
                let key = PKey::from_rsa(rsa)?;
                let mut ctx = PkeyCtx::new(&key)?;
                ctx.verify_init()?;
                ctx.set_rsa_padding(Padding::PKCS1)?;
                keys.push((n.value().to_vec(), e.value().to_vec(), ctx));
                keys.len() - 1
            }
        };
        // No digest set: OpenSSL checks the padding and compares the block as a whole.
        Ok(keys[at].2.verify(&block, s.value()).unwrap_or(false))
    })?;
    if good {
        Ok(())
    } else {
        Err(openpgp::Error::ManipulatedMessage.into())
    }
}

/// One OpenPGP packet as framed on the wire: its tag, its body (partial chunks joined), and
/// whether it was framed with partial body lengths.
struct RawPacket {
    tag: u8,
    body: Vec<u8>,
    partial: bool,
}

/// Split bytes into packets by their headers (old and new format, partial lengths joined).
/// `None` when the framing does not parse; the general parser then reports the problem.
fn raw_packets(bytes: &[u8]) -> Option<Vec<RawPacket>> {
    fn take(b: &[u8], at: &mut usize, n: usize) -> Option<u64> {
        let s = b.get(*at..at.checked_add(n)?)?;
        *at += n;
        Some(s.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let ctb = bytes[at];
        at += 1;
        if ctb & 0x80 == 0 {
            return None;
        }
        if ctb & 0x40 != 0 {
            let tag = ctb & 0x3f;
            let mut body = Vec::new();
            let mut partial = false;
            loop {
                let o1 = take(bytes, &mut at, 1)?;
                let (len, more) = match o1 {
                    0..=191 => (o1, false),
                    192..=223 => (((o1 - 192) << 8) + take(bytes, &mut at, 1)? + 192, false),
                    255 => (take(bytes, &mut at, 4)?, false),
                    _ => (1u64 << (o1 & 0x1f), true),
                };
                let len = usize::try_from(len).ok()?;
                body.extend_from_slice(bytes.get(at..at.checked_add(len)?)?);
                at += len;
                partial |= more;
                if !more {
                    break;
                }
            }
            out.push(RawPacket { tag, body, partial });
        } else {
            let tag = (ctb >> 2) & 0x0f;
            let len = match ctb & 3 {
                0 => take(bytes, &mut at, 1)?,
                1 => take(bytes, &mut at, 2)?,
                2 => take(bytes, &mut at, 4)?,
                _ => (bytes.len() - at) as u64,
            };
            let len = usize::try_from(len).ok()?;
            let body = bytes.get(at..at.checked_add(len)?)?.to_vec();
            at += len;
            out.push(RawPacket {
                tag,
                body,
                partial: false,
            });
        }
    }
    Some(out)
}

/// Serialize a packet with a new-format header and one definite length.
fn frame(out: &mut Vec<u8>, tag: u8, body: &[u8]) -> Option<()> {
    out.push(0xc0 | tag);
    let n = body.len();
    if n < 192 {
        out.push(n as u8);
    } else if n < 8384 {
        let m = n - 192;
        out.extend_from_slice(&[((m >> 8) + 192) as u8, (m & 0xff) as u8]);
    } else {
        out.push(255);
        out.extend_from_slice(&u32::try_from(n).ok()?.to_be_bytes());
    }
    out.extend_from_slice(body);
    Some(())
}

/// Rewrite top-level packets framed with partial body lengths into one definite length.
///
/// Go's openpgp (and so the cluster) accepts a first partial chunk shorter than the 512 bytes
/// RFC 9580 asks for, as old OpenShift CI signatures have; sequoia refuses it. Framing is not
/// covered by the signature (a signature hashes the literal's content), so re-framing keeps the
/// verdict the cluster would give. Returns `None` when nothing needed rewriting or the bytes do
/// not parse as packets (the real parser then reports the problem).
fn reframe_partial_lengths(bytes: &[u8]) -> Option<Vec<u8>> {
    let packets = raw_packets(bytes)?;
    if !packets.iter().any(|p| p.partial) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for p in &packets {
        frame(&mut out, p.tag, &p.body)?;
    }
    Some(out)
}

/// The largest literal a release signature may inflate to (its payload is a few hundred bytes).
const MAX_INFLATED: usize = 1 << 20;

thread_local! {
    /// One raw-deflate and one zlib inflater per thread, reset for each message instead of
    /// allocated (their 32 KiB windows dominated the cost of parsing a signature).
    static INFLATERS: std::cell::RefCell<(flate2::Decompress, flate2::Decompress)> =
        std::cell::RefCell::new((flate2::Decompress::new(false), flate2::Decompress::new(true)));
}

fn inflate(data: &[u8], zlib: bool) -> Option<Vec<u8>> {
    INFLATERS.with(|cell| {
        let mut pair = cell.borrow_mut();
        let d = if zlib { &mut pair.1 } else { &mut pair.0 };
        d.reset(zlib);
        let mut out = Vec::with_capacity(data.len() * 4);
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_INFLATED {
                    return None;
                }
                out.reserve(out.len().max(256));
            }
            let (before_in, before_out) = (d.total_in(), d.total_out());
            let consumed = usize::try_from(before_in).ok()?;
            let status = d
                .decompress_vec(data.get(consumed..)?, &mut out, flate2::FlushDecompress::Finish)
                .ok()?;
            if status == flate2::Status::StreamEnd {
                return Some(out);
            }
            // No progress with room left to write: truncated or corrupt input.
            if d.total_in() == before_in && d.total_out() == before_out && out.len() < out.capacity() {
                return None;
            }
        }
    })
}

/// The fast path for the common shape — an optional compressed container holding one-pass
/// signatures, one literal and signatures — framed here, so sequoia parses only the signature
/// packets. `None` for anything else; the general parser then handles (or refuses) it.
fn split_common_shape(bytes: &[u8]) -> Option<(Vec<u8>, Vec<Signature>)> {
    let mut packets = raw_packets(bytes)?;
    if packets.len() == 1 && packets[0].tag == 8 {
        let body = &packets[0].body;
        let inner = match body.first()? {
            0 => body[1..].to_vec(),
            1 => inflate(&body[1..], false)?,
            2 => inflate(&body[1..], true)?,
            _ => return None,
        };
        packets = raw_packets(&inner)?;
    }
    let mut literal = None;
    let mut sigs = Vec::new();
    for p in packets {
        match p.tag {
            4 | 10 => {}
            11 => {
                if literal.is_some() {
                    return None;
                }
                // format (1), file name length (1), file name, date (4), data.
                let name_len = usize::from(*p.body.get(1)?);
                let start = 2 + name_len + 4;
                literal = Some(p.body.get(start..)?.to_vec());
            }
            2 => {
                let mut framed = Vec::with_capacity(p.body.len() + 6);
                frame(&mut framed, 2, &p.body)?;
                match Packet::from_bytes(&framed).ok()? {
                    Packet::Signature(s) => sigs.push(s),
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    if sigs.is_empty() {
        return None;
    }
    Some((literal?, sigs))
}

/// Pull the literal data and the signatures out of an inline-signed OpenPGP message.
fn parse_signed_message(bytes: &[u8]) -> Result<(Vec<u8>, Vec<Signature>), String> {
    if let Some(found) = split_common_shape(bytes) {
        return Ok(found);
    }
    let reframed = reframe_partial_lengths(bytes);
    let bytes = reframed.as_deref().unwrap_or(bytes);
    let mut ppr = PacketParserBuilder::from_bytes(bytes)
        .map_err(|e| format!("not an OpenPGP message: {e}"))?
        .buffer_unread_content()
        .build()
        .map_err(|e| format!("not an OpenPGP message: {e}"))?;
    let mut literal: Option<Vec<u8>> = None;
    let mut sigs = Vec::new();
    while let PacketParserResult::Some(pp) = ppr {
        let (packet, next) = pp.recurse().map_err(|e| format!("malformed OpenPGP message: {e}"))?;
        ppr = next;
        match packet {
            Packet::Literal(l) => {
                if literal.is_some() {
                    return Err("more than one literal data packet".into());
                }
                literal = Some(l.body().to_vec());
            }
            Packet::Signature(s) => sigs.push(s),
            Packet::OnePassSig(_) | Packet::CompressedData(_) | Packet::Marker(_) => {}
            Packet::Unknown(u) => {
                return Err(format!("malformed OpenPGP message: {}", u.error()));
            }
            other => return Err(format!("unexpected {} packet in a signed message", other.tag())),
        }
    }
    if let PacketParserResult::EOF(eof) = ppr {
        eof.is_message()
            .map_err(|e| format!("not a well-formed OpenPGP message: {e}"))?;
    }
    let literal = literal.ok_or("the message holds no literal data")?;
    if sigs.is_empty() {
        return Err("the message is not signed".into());
    }
    Ok((literal, sigs))
}

/// Check `sigs` over `data`: the first signature by a trusted key decides (others are skipped,
/// as the cluster skips signatures by unknown keys).
fn check_any(keyring: &Keyring, sigs: &[Signature], data: &[u8], now: SystemTime) -> Result<GoodSignature, Verdict> {
    let policy = policy();
    let mut untrusted = Vec::new();
    for sig in sigs {
        match check_one(&policy, keyring, sig, data, now) {
            Err(Verdict::UntrustedSigner { issuers }) => untrusted.extend(issuers),
            other => return other,
        }
    }
    Err(Verdict::UntrustedSigner { issuers: untrusted })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    #[serde(default)]
    critical: Option<Critical>,
    #[serde(default)]
    optional: Option<Optional>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Critical {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    image: Option<Image>,
    #[serde(default)]
    identity: Option<Identity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Image {
    #[serde(default, rename = "docker-manifest-digest")]
    digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    #[serde(default, rename = "docker-reference")]
    reference: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Optional {
    #[serde(default)]
    creator: Option<String>,
    /// Only its type is checked (an integer), as the cluster checks it.
    #[serde(default, rename = "timestamp")]
    _timestamp: Option<i64>,
}

/// Decode a payload the way the cluster does; on success returns (digest, identity, creator).
fn check_payload(body: &[u8]) -> Result<(String, String, Option<String>), Verdict> {
    let bad = |problem, detail: String| Verdict::BadPayload { problem, detail };
    let payload: Payload = serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let problem = if msg.contains("unknown field") {
            PayloadProblem::UnknownField
        } else if e.is_data() {
            PayloadProblem::WrongType
        } else {
            PayloadProblem::NotJson
        };
        bad(problem, msg)
    })?;
    let critical = payload.critical.unwrap_or(Critical {
        kind: None,
        image: None,
        identity: None,
    });
    let kind = critical.kind.unwrap_or_default();
    if kind != SIGNATURE_TYPE {
        return Err(bad(
            PayloadProblem::WrongSignatureType,
            format!("critical.type is {kind:?}, not {SIGNATURE_TYPE:?}"),
        ));
    }
    let identity = critical.identity.and_then(|i| i.reference).unwrap_or_default();
    if identity.is_empty() {
        return Err(bad(
            PayloadProblem::EmptyIdentity,
            "critical.identity.docker-reference is empty".into(),
        ));
    }
    let digest = critical.image.and_then(|i| i.digest).unwrap_or_default();
    let creator = payload.optional.and_then(|o| o.creator);
    Ok((digest, identity, creator))
}

/// A loose check of the docker reference grammar: lowercase path components, an optional
/// registry host first, an optional tag and digest. The cluster only requires a non-empty
/// identity, so a failure here is a warning, never a rejection.
fn looks_like_docker_reference(s: &str) -> bool {
    let name = s.split_once('@').map_or(s, |(n, _)| n);
    let (path, tag) = match name.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (name, None),
    };
    let mut comps: Vec<&str> = path.split('/').collect();
    if comps.len() > 1 && (comps[0].contains('.') || comps[0].contains(':') || comps[0] == "localhost") {
        comps.remove(0);
    }
    let comp_ok = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.as_bytes()[0].is_ascii_alphanumeric()
    };
    let tag_ok =
        tag.is_none_or(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
    comps.iter().all(|c| comp_ok(c)) && tag_ok
}

/// Verify one release signature (the bytes of a `signature-N` file) for release `expected`,
/// as the cluster would, with `now` as the clock for signature expiry.
pub fn verify_release_signature(
    keyring: &Keyring,
    expected: &Digest,
    bytes: &[u8],
    now: SystemTime,
) -> SignatureReport {
    if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
        return SignatureReport::new(Verdict::BadSignature {
            reason: format!(
                "{} bytes, over the cluster's {MAX_SIGNATURE_BYTES}-byte limit",
                bytes.len()
            ),
        });
    }
    let (body, sigs) = match parse_signed_message(bytes) {
        Ok(x) => x,
        Err(reason) => return SignatureReport::new(Verdict::BadSignature { reason }),
    };
    let good = match check_any(keyring, &sigs, &body, now) {
        Ok(g) => g,
        Err(v) => {
            let mut r = SignatureReport::new(v);
            r.created = sigs.first().and_then(|s| s.signature_creation_time()).map(unix);
            return r;
        }
    };
    let mut report = SignatureReport::new(Verdict::Valid);
    report.signer = Some(good.signer);
    report.signer_cert = Some(good.signer_cert);
    report.created = good.created;
    let (digest, identity, creator) = match check_payload(&body) {
        Ok(x) => x,
        Err(v) => {
            report.verdict = v;
            return report;
        }
    };
    report.creator = creator;
    if !looks_like_docker_reference(&identity) {
        report.warnings.push(format!(
            "identity {identity:?} is not a valid docker reference (the cluster accepts it)"
        ));
    }
    report.identity = Some(identity);
    if digest != expected.to_string() {
        report.verdict = Verdict::DigestMismatch {
            expected: expected.to_string(),
            got: digest,
        };
        return report;
    }
    if let Some(c) = report.created {
        if c > unix(now) + 86_400 {
            report.warnings.push(format!(
                "signature created {} is in this host's future: is the clock wrong?",
                rfc3339(c)
            ));
        }
    }
    report
}

/// The outcome of checking a detached signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedCheck {
    /// The signing key's fingerprint.
    pub signer: String,
    /// The certificate's (primary key's) fingerprint.
    pub signer_cert: String,
    /// Signature creation time.
    pub created: Option<u64>,
}

/// Verify a detached OpenPGP signature (armored or binary) over `data` against `keyring`.
pub fn verify_detached(
    keyring: &Keyring,
    signature: &[u8],
    data: &[u8],
    now: SystemTime,
) -> Result<DetachedCheck, Verdict> {
    let pile = openpgp::PacketPile::from_bytes(signature).map_err(|e| Verdict::BadSignature {
        reason: format!("not an OpenPGP signature: {e}"),
    })?;
    let mut sigs = Vec::new();
    for p in pile.into_children() {
        match p {
            Packet::Signature(s) => sigs.push(s),
            other => {
                return Err(Verdict::BadSignature {
                    reason: format!("unexpected {} packet in a detached signature", other.tag()),
                })
            }
        }
    }
    if sigs.is_empty() {
        return Err(Verdict::BadSignature {
            reason: "no signature packet".into(),
        });
    }
    let g = check_any(keyring, &sigs, data, now)?;
    Ok(DetachedCheck {
        signer: g.signer,
        signer_cert: g.signer_cert,
        created: g.created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_rules() {
        let ok = br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"sha256:x"},"identity":{"docker-reference":"a/b:1"}},"optional":{"creator":"c","timestamp":5}}"#;
        assert!(check_payload(ok).is_ok());
        let cases: &[(&[u8], PayloadProblem)] = &[
            (b"This is not JSON", PayloadProblem::NotJson),
            (br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x"},"identity":{"docker-reference":"a"}},"extra":1}"#, PayloadProblem::UnknownField),
            (br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x","more":1},"identity":{"docker-reference":"a"}}}"#, PayloadProblem::UnknownField),
            (br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x"},"identity":{"docker-reference":"a"}},"optional":{"timestamp":1.5}}"#, PayloadProblem::WrongType),
            (br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x"},"identity":{"docker-reference":"a"}},"optional":{"timestamp":"5"}}"#, PayloadProblem::WrongType),
            (br#"{"critical":{"type":"other","image":{"docker-manifest-digest":"x"},"identity":{"docker-reference":"a"}}}"#, PayloadProblem::WrongSignatureType),
            (br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x"},"identity":{"docker-reference":""}}}"#, PayloadProblem::EmptyIdentity),
            (br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x"}}}"#, PayloadProblem::EmptyIdentity),
        ];
        for (body, want) in cases {
            match check_payload(body) {
                Err(Verdict::BadPayload { problem, .. }) => {
                    assert_eq!(&problem, want, "{}", String::from_utf8_lossy(body))
                }
                _ => panic!("accepted {}", String::from_utf8_lossy(body)),
            }
        }
    }

    /// Every signature file of the vectors: the stores' and the containers-image ones.
    fn vector_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for dir in ["stores/redhat", "stores/redhat-v3", "stores/openshift-ci"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                files.push(e.unwrap().path().join("signature-1"));
            }
        }
        for e in std::fs::read_dir(root.join("malformed/containers-image")).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().contains(".signature") {
                files.push(p);
            }
        }
        files
    }

    /// The general parser's result, without the fast path.
    fn general(bytes: &[u8]) -> Option<(Vec<u8>, Vec<Signature>)> {
        let reframed = reframe_partial_lengths(bytes);
        let bytes = reframed.as_deref().unwrap_or(bytes);
        let pile = openpgp::PacketPile::from_bytes(bytes).ok()?;
        let mut lit = None;
        let mut sigs = Vec::new();
        for p in pile.descendants() {
            match p {
                Packet::Literal(l) => lit = Some(l.body().to_vec()),
                Packet::Signature(s) => sigs.push(s.clone()),
                _ => {}
            }
        }
        Some((lit?, sigs))
    }

    #[test]
    fn fast_path_agrees_with_the_general_parser_on_every_vector() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let files = vector_files(&root);
        let mut fast_hits = 0;
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            if let Some(fast) = split_common_shape(&bytes) {
                fast_hits += 1;
                let slow = general(&bytes).unwrap_or_else(|| panic!("{} parses fast but not generally", f.display()));
                assert_eq!(fast.0, slow.0, "{}: literal differs", f.display());
                assert_eq!(fast.1, slow.1, "{}: signatures differ", f.display());
            }
        }
        assert!(
            fast_hits >= 15,
            "the fast path took only {fast_hits} of {} vectors",
            files.len()
        );
        // Garbage and truncations never take the fast path wrongly: they must not panic.
        let real = std::fs::read(&files[0]).unwrap();
        for cut in 0..real.len() {
            let _ = split_common_shape(&real[..cut]);
        }
    }

    /// Every (signature, key) pair of the vectors, checked by the cached RSA path and by
    /// sequoia's own `verify_message`: as found, over altered data, and with the signature's
    /// last MPI byte changed. The two must agree every time.
    #[test]
    fn fast_rsa_agrees_with_sequoia() {
        use openpgp::serialize::MarshalInto;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let mut keys = Keyring::default_release();
        for e in std::fs::read_dir(root.join("keys")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "asc") {
                keys.add_bytes(&std::fs::read(&p).unwrap(), &p.display().to_string())
                    .unwrap();
            }
        }
        keys.add_bytes(
            &std::fs::read(root.join("malformed/containers-image/pubring.gpg")).unwrap(),
            "pubring.gpg",
        )
        .unwrap();
        let files = vector_files(&root);
        let (mut good, mut checked) = (0, 0);
        for f in &files {
            let Ok((data, sigs)) = parse_signed_message(&std::fs::read(f).unwrap()) else {
                continue;
            };
            let mut altered = data.clone();
            altered[0] ^= 1;
            for sig in &sigs {
                let mut raw = Packet::from(sig.clone()).to_vec().unwrap();
                *raw.last_mut().unwrap() ^= 0x55;
                let Ok(Packet::Signature(broken)) = Packet::from_bytes(&raw) else {
                    panic!("{}: a changed MPI byte no longer parses", f.display());
                };
                for cert in keys.certs() {
                    for ka in cert.keys() {
                        for (s, d) in [(sig, &data), (sig, &altered), (&broken, &data)] {
                            let ours = verify_message(s, ka.key(), d).is_ok();
                            let theirs = s.verify_message(ka.key(), d).is_ok();
                            assert_eq!(ours, theirs, "{} with key {}", f.display(), ka.key().fingerprint());
                            checked += 1;
                            good += usize::from(ours);
                        }
                    }
                }
            }
        }
        // The valid vectors verified (each by its own key, once), and far more pairs refused.
        assert!(good >= 8, "only {good} good of {checked} checks");
        assert!(checked > 200, "only {checked} checks");
    }

    #[test]
    fn docker_references() {
        for ok in [
            "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
            "testing/manifest",
            "registry.svc.ci.openshift.org/ocp/release:4.0.0-0.ci-2019-04-19-181452",
            "localhost:5000/a@sha256:00",
        ] {
            assert!(looks_like_docker_reference(ok), "{ok}");
        }
        for bad in ["UPPERCASEISINVALID", "a//b", "a/b:"] {
            assert!(!looks_like_docker_reference(bad), "{bad}");
        }
    }
}
