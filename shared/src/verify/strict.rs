//! `--strict`: what a signature must also pass beyond the cluster's own rules — an RFC 9580
//! message as sequoia parses it (one literal, one signature, one-pass packets that agree, no
//! trailing data), a signature by a key of the entry valid under sequoia's standard policy at the
//! signature's creation time (no MD5 or SHA-1, no expired, revoked or unbound key), and a payload
//! in exactly the cluster's JSON (exact field names, no duplicates, valid UTF-8, nothing after it).

use std::time::SystemTime;

use serde::Deserialize;

use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::{Key, Signature};
use openpgp::parse::{PacketParserBuilder, PacketParserResult, Parse};
use openpgp::policy::{HashAlgoSecurity, Policy, StandardPolicy};
use openpgp::types::RevocationStatus;
use openpgp::{KeyHandle, Packet};
use sequoia_openpgp as openpgp;

use super::{unix, PayloadProblem, Verdict, SIGNATURE_TYPE};
use crate::digest::Digest;
use crate::keyring::Keyring;

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
fn strict_payload(body: &[u8]) -> Result<(String, String, Option<String>), Verdict> {
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

/// The literal data and signatures of a message that sequoia's parser accepts as well-formed.
fn parse_message(bytes: &[u8]) -> Result<(Vec<u8>, Vec<openpgp::packet::Signature>), String> {
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
            Packet::OnePassSig(_) | Packet::CompressedData(_) => {}
            Packet::Unknown(u) => return Err(format!("malformed OpenPGP message: {}", u.error())),
            other => return Err(format!("unexpected {} packet in a signed message", other.tag())),
        }
    }
    if let PacketParserResult::EOF(eof) = ppr {
        eof.is_message()
            .map_err(|e| format!("not a well-formed OpenPGP message: {e}"))?;
    }
    let literal = literal.ok_or("the message holds no literal data")?;
    if sigs.len() != 1 {
        return Err(format!("{} signatures in one message", sigs.len()));
    }
    Ok((literal, sigs))
}

/// `Ok` when the signature also passes `--strict`; else what it fails.
pub(super) fn check(certs: &Keyring, bytes: &[u8], expected: &Digest, now: SystemTime) -> Result<(), String> {
    let (literal, sigs) = parse_message(bytes)?;
    let policy = StandardPolicy::new();
    check_any(&policy, certs, &sigs, &literal, now).map_err(|v| match v {
        Verdict::BadSignature { reason } => reason,
        other => other.to_string(),
    })?;
    match strict_payload(&literal) {
        Ok((digest, _, _)) if digest == expected.to_string() => Ok(()),
        Ok((digest, _, _)) => Err(format!("the payload names {digest}")),
        Err(v) => Err(format!("payload: {v}")),
    }
}

/// Check one signature packet over `data` against `keyring` under `policy`, the keys judged as
/// of the signature's creation and the signature's own expiry as of `now`; the verdict that
/// rejects it, if one does.
fn check_one(
    policy: &dyn Policy,
    keyring: &Keyring,
    sig: &Signature,
    data: &[u8],
    now: SystemTime,
) -> Result<(), Verdict> {
    let issuers = sig.get_issuers();
    for cert in keyring.certs() {
        let matching: Vec<_> = cert.keys().key_handles(issuers.iter()).collect();
        if matching.is_empty() {
            continue;
        }
        return check_by_cert(policy, cert, sig, &issuers, data, now);
    }
    Err(Verdict::UntrustedSigner {
        issuers: issuers.iter().map(KeyHandle::to_hex).collect(),
    })
}

/// [`check_one`] by the first certificate that holds a key of the signature's `issuers`: the
/// certificate and the key valid, unrevoked and for signing at the signature's creation.
fn check_by_cert(
    policy: &dyn Policy,
    cert: &openpgp::Cert,
    sig: &Signature,
    issuers: &[KeyHandle],
    data: &[u8],
    now: SystemTime,
) -> Result<(), Verdict> {
    // Judge the key as of the signature's creation: key expiry is not enforced.
    let at = sig.signature_creation_time().unwrap_or(now);
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
        return check_by_key(policy, sig, ka.key(), &fpr, data, now);
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
    Err(Verdict::BadSignature {
        reason: format!(
            "key {} is not a valid signing key of {} at the signature's creation time",
            issuers.first().map(|h| h.to_hex()).unwrap_or_default(),
            cert.fingerprint()
        ),
    })
}

/// [`check_one`] by a signing key (fingerprint `fpr`): the signature's algorithms under
/// `policy`, the signature itself over `data`, and its expiry as of `now`.
fn check_by_key(
    policy: &dyn Policy,
    sig: &Signature,
    key: &Key<PublicParts, UnspecifiedRole>,
    fpr: &str,
    data: &[u8],
    now: SystemTime,
) -> Result<(), Verdict> {
    if let Err(e) = policy.signature(sig, HashAlgoSecurity::CollisionResistance) {
        return Err(Verdict::BadSignature {
            reason: format!("signature algorithm refused: {e}"),
        });
    }
    if let Err(e) = sig.verify_message(key, data) {
        return Err(Verdict::BadSignature {
            reason: format!("signature by {fpr} does not match the signed data ({e})"),
        });
    }
    if let (Some(c), Some(validity)) = (sig.signature_creation_time(), sig.signature_validity_period()) {
        let expires = c + validity;
        if now >= expires {
            return Err(Verdict::ExpiredSignature {
                expired_at: unix(expires),
            });
        }
    }
    Ok(())
}

/// Check `sigs` over `data`: the first signature by a trusted key decides (others are skipped,
/// as the cluster skips signatures by unknown keys).
fn check_any(
    policy: &dyn Policy,
    keyring: &Keyring,
    sigs: &[Signature],
    data: &[u8],
    now: SystemTime,
) -> Result<(), Verdict> {
    let mut untrusted = Vec::new();
    for sig in sigs {
        match check_one(policy, keyring, sig, data, now) {
            Err(Verdict::UntrustedSigner { issuers }) => untrusted.extend(issuers),
            other => return other,
        }
    }
    Err(Verdict::UntrustedSigner { issuers: untrusted })
}
