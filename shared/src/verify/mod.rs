//! Release signatures judged exactly as the cluster-version operator judges them, and detached
//! OpenPGP signatures (the packer's).
//!
//! The cluster's verdict comes from library-go `pkg/verify` on Go's `x/crypto/openpgp` and
//! `encoding/json`; [`gopgp`] ports that code path, quirks included, so that "valid" here means
//! "the cluster accepts it" and "refused" that it does not, however strange the input. The rules,
//! in the order the cluster applies them: the bytes must be a binary OpenPGP message whose one-pass
//! signature packet names a usable key of the keyring entry (a key that is revoked, or whose
//! self-signature forbids signing, is not usable; key expiry is not checked); the packet after the
//! literal data must be a signature by that key over the data, hashed with the one-pass packet's
//! algorithm; the signature must not have expired; the payload's first JSON value must decode
//! into the cluster's struct (unknown fields and wrong types refuse it); `critical.type` must be
//! `atomic container signature`, the identity non-empty, the digest the release's. A release
//! needs such a signature for every `verifier-public-key-*` entry of the trust configuration.
//!
//! `--strict` adds sequoia's standard policy and RFC 9580's message grammar on top, and names
//! what it refuses with its own verdict.

pub mod gopgp;
mod strict;
pub mod trust;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::verify::trust::ReleaseTrust;
use gopgp::io::GoErr;
use gopgp::message::{verify_with_keyring, Refusal, Verified};

/// The largest signature body sigbundle reads. The cluster reads a store's answer whole, however
/// long (library-go reads the HTTP body without its 50 KiB limit), and judges it; a real signature
/// is under 2 KiB and a ConfigMap holds at most 1 MiB, so larger bodies are refused as a resource
/// limit (the one place where sigbundle may refuse what the cluster would accept; see
/// `docs/security.md`).
pub const MAX_SIGNATURE_BYTES: u64 = 256 * 1024;

/// The most signatures the cluster reads per release (`signature-1` to `-9`); `pack` fetches no
/// more and a bundle may hold no more.
pub const MAX_SIGNATURES: usize = 9;

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
    /// The cluster accepts it, but `--strict` does not (a weak algorithm, a malformed message).
    StrictRefused {
        reason: String,
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
            Verdict::StrictRefused { .. } => "strict-refused",
        }
    }

    /// What the verdict means for this signature, in words (`None` for `valid`); the verdict is
    /// said as `name: reason`.
    pub fn reason(&self) -> Option<String> {
        Some(match self {
            Verdict::Valid => return None,
            Verdict::UntrustedSigner { issuers } if issuers.is_empty() => "the message names no signer".to_string(),
            Verdict::UntrustedSigner { issuers } => {
                format!("signed by {}, not in the trusted keyring", issuers.join(", "))
            }
            Verdict::BadSignature { reason } => reason.clone(),
            Verdict::ExpiredSignature { expired_at } => {
                format!("the signature expired at {}", rfc3339(*expired_at))
            }
            Verdict::RevokedKey { fingerprint } => format!("signing key {fingerprint} is revoked"),
            Verdict::BadPayload { problem, detail } => {
                let p = serde_json::to_value(problem).unwrap_or_default();
                format!("({}) {detail}", p.as_str().unwrap_or("?"))
            }
            Verdict::DigestMismatch { expected, got } => {
                format!("expected {expected}, signature is for {got}")
            }
            Verdict::StrictRefused { reason } => {
                format!("the cluster accepts it, but --strict does not: {reason}")
            }
        })
    }

    /// True for [`Verdict::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Verdict::BadPayload { problem, detail } = self {
            let p = serde_json::to_value(problem).unwrap_or_default();
            return write!(f, "bad-payload ({}): {detail}", p.as_str().unwrap_or("?"));
        }
        match self.reason() {
            None => f.write_str(self.name()),
            Some(reason) => write!(f, "{}: {reason}", self.name()),
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
    /// The `verifier-public-key-*` entries this signature satisfies (recorded when the trust
    /// configuration has more than one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub satisfies: Vec<String>,
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
            satisfies: Vec::new(),
        }
    }
}

/// Seconds since the epoch of a time (0 before the epoch).
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// RFC 3339 UTC form of seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
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

/// What the cluster's refusal means, named by the shape of the message where that is the cause.
fn refusal_verdict(r: Refusal, bytes: &[u8], trust_entry: &gopgp::keys::KeyRing) -> Verdict {
    let bad = |reason: String| Verdict::BadSignature { reason };
    match r {
        Refusal::Read(e) => bad(describe_read(&e, bytes)),
        Refusal::NotSigned => bad(if bytes.starts_with(b"-----BEGIN PGP SIGNED MESSAGE") {
            "a cleartext-signed message (the cluster reads binary OpenPGP messages only)".into()
        } else {
            "no one-pass signature packet before the literal data (the cluster calls the message not signed)".into()
        }),
        Refusal::Body(GoErr::Limit(m)) => bad(format!("over sigbundle's resource limit: {m}")),
        Refusal::Body(e) => bad(format!("the signed data cannot be read: {e}")),
        Refusal::Signature(e) => bad(match e {
            GoErr::Eof | GoErr::UnexpectedEof => "no signature packet after the literal data".into(),
            GoErr::Structural(m) if m.contains("not followed by Signature") => {
                "the packet after the literal data is not a signature".into()
            }
            GoErr::Signature(m) if m.contains("hash tag") => {
                "the hash does not match the signature's hash tag (a one-pass packet that names another hash algorithm or sig type than the signature, or altered data)".into()
            }
            GoErr::Signature(m) => format!("the signature does not match the signed data ({m})"),
            GoErr::InvalidArgument(m) => format!("the one-pass packet names a key that did not make this signature ({m})"),
            other => format!("the signature cannot be checked: {other}"),
        }),
        Refusal::UnknownKey { key_id } => match trust_entry.revoked_key(key_id) {
            Some(fingerprint) => Verdict::RevokedKey { fingerprint },
            None => Verdict::UntrustedSigner {
                issuers: vec![format!("{key_id:016X}")],
            },
        },
        Refusal::Expired { at } => Verdict::ExpiredSignature { expired_at: at },
        Refusal::Ambiguous { key } => bad(format!(
            "key {key} has several user ids that disagree on whether it may sign, and the cluster picks one at random (Go map order): its verdict is not determined"
        )),
    }
}

/// A `ReadMessage` failure, named by the message's shape.
fn describe_read(e: &GoErr, bytes: &[u8]) -> String {
    if bytes.starts_with(b"-----BEGIN PGP SIGNED MESSAGE") {
        return "a cleartext-signed message (the cluster reads binary OpenPGP messages only)".into();
    }
    if bytes.starts_with(b"-----BEGIN PGP") {
        return "an ASCII-armored message (the cluster reads binary OpenPGP messages only)".into();
    }
    match e {
        GoErr::Unsupported(m) if m == "nested signatures" => {
            "nested signatures: a one-pass signature packet that is not the last (the cluster refuses nesting)".into()
        }
        GoErr::Eof => "the message ends before its literal data".into(),
        GoErr::KeyIncorrect => "an encrypted message".into(),
        GoErr::Limit(m) => format!("over sigbundle's resource limit: {m}"),
        other => format!("the cluster cannot read the message: {other}"),
    }
}

/// Judge the payload as library-go does; on success (identity, creator).
fn check_payload(content: &[u8], expected: &Digest) -> Result<(String, String), Verdict> {
    let bad = |problem, detail: String| Verdict::BadPayload { problem, detail };
    let p = gopgp::json::decode(content).map_err(|e| match e {
        gopgp::json::JsonError::Syntax(m) => bad(PayloadProblem::NotJson, m),
        e @ gopgp::json::JsonError::UnknownField(_) => bad(PayloadProblem::UnknownField, e.to_string()),
        gopgp::json::JsonError::WrongType(m) => bad(PayloadProblem::WrongType, m),
    })?;
    if p.kind != SIGNATURE_TYPE {
        return Err(bad(
            PayloadProblem::WrongSignatureType,
            format!("critical.type is {:?}, not {SIGNATURE_TYPE:?}", p.kind),
        ));
    }
    if p.identity.is_empty() {
        return Err(bad(
            PayloadProblem::EmptyIdentity,
            "critical.identity.docker-reference is empty".into(),
        ));
    }
    if p.digest != expected.to_string() {
        return Err(Verdict::DigestMismatch {
            expected: expected.to_string(),
            got: p.digest,
        });
    }
    Ok((p.identity, p.creator))
}

/// One entry's verdict: the message through `verifySignatureWithKeyring`, then the payload.
fn judge_entry(
    ring: &gopgp::keys::KeyRing,
    expected: &Digest,
    bytes: &[u8],
    now: u64,
) -> Result<(Verified, String, String), (Verdict, Option<u64>)> {
    let v = verify_with_keyring(bytes, ring, now).map_err(|r| (refusal_verdict(r, bytes, ring), None))?;
    match check_payload(&v.content, expected) {
        Ok((identity, creator)) => Ok((v, identity, creator)),
        Err(verdict) => Err((verdict, Some(u64::from(v.created)))),
    }
}

/// Verify one release signature (the bytes of a `signature-N` file) for release `expected`, as
/// the cluster would, with `now` as the clock for signature expiry. Valid when it satisfies at
/// least one entry of `trust` (the release as a whole needs every entry: see
/// [`ReleaseTrust::unsatisfied`]); with `strict`, a valid signature must also pass `--strict`.
pub fn verify_release_signature(
    trust: &ReleaseTrust,
    expected: &Digest,
    bytes: &[u8],
    now: SystemTime,
    strict: bool,
) -> SignatureReport {
    if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
        return SignatureReport::new(Verdict::BadSignature {
            reason: format!(
                "{} bytes, over sigbundle's {MAX_SIGNATURE_BYTES}-byte limit for one signature",
                bytes.len()
            ),
        });
    }
    let secs = unix(now);
    let mut first_refusal: Option<(Verdict, Option<u64>)> = None;
    let mut report: Option<SignatureReport> = None;
    for entry in &trust.entries {
        match judge_entry(&entry.ring, expected, bytes, secs) {
            Ok((v, identity, creator)) => {
                let r = report.get_or_insert_with(|| {
                    let mut r = SignatureReport::new(Verdict::Valid);
                    r.signer = Some(v.signer.clone());
                    r.signer_cert = Some(v.signer_cert.clone());
                    r.created = Some(u64::from(v.created));
                    r.creator = Some(creator).filter(|c| !c.is_empty());
                    if !looks_like_docker_reference(&identity) {
                        r.warnings.push(format!(
                            "identity {identity:?} is not a valid docker reference (the cluster accepts it)"
                        ));
                    }
                    r.identity = Some(identity);
                    if u64::from(v.created) > secs + 86_400 {
                        r.warnings.push(format!(
                            "signature created {} is in this host's future: is the clock wrong?",
                            rfc3339(u64::from(v.created))
                        ));
                    }
                    if strict {
                        if let Err(reason) = strict::check(&entry.certs, bytes, expected, now) {
                            r.verdict = Verdict::StrictRefused { reason };
                        }
                    }
                    r
                });
                if trust.entries.len() > 1 {
                    r.satisfies.push(entry.name.clone());
                }
            }
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    match (report, first_refusal) {
        (Some(r), _) => r,
        (None, Some((verdict, created))) => {
            let mut r = SignatureReport::new(verdict);
            r.created = created;
            r
        }
        (None, None) => SignatureReport::new(Verdict::UntrustedSigner { issuers: Vec::new() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_rules() {
        let d = Digest::parse("sha256:0000000000000000000000000000000000000000000000000000000000000000").unwrap();
        let ok = format!(
            r#"{{"critical":{{"type":"atomic container signature","image":{{"docker-manifest-digest":"{d}"}},"identity":{{"docker-reference":"a/b:1"}}}},"optional":{{"creator":"c","timestamp":5}}}}"#
        );
        assert_eq!(
            check_payload(ok.as_bytes(), &d).unwrap(),
            ("a/b:1".to_string(), "c".to_string())
        );
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
            match check_payload(body, &d) {
                Err(Verdict::BadPayload { problem, .. }) => {
                    assert_eq!(&problem, want, "{}", String::from_utf8_lossy(body))
                }
                other => panic!("{other:?} for {}", String::from_utf8_lossy(body)),
            }
        }
        assert!(matches!(
            check_payload(br#"{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"x"},"identity":{"docker-reference":"a"}}}"#, &d),
            Err(Verdict::DigestMismatch { .. })
        ));
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
