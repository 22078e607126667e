//! One audited step of `unpack` (verify, emit, apply), the way every one is taken: the log must
//! be able to take a record before anything is read (a step that cannot be recorded is not
//! taken); the bundle is opened and verified; the step runs; and exactly one record is appended
//! — `ok`, `refused` (the bundle did not verify), `failed` (it did, the step did not) or
//! `conflict` (`apply` left the cluster's other bytes as they were).

use std::path::Path;

use crate::audit::{Action, AuditLog, Destination, NewRecord, Outcome, RecordRelease};
use crate::bundle::{BundleError, CheckOptions, PackerStatus, ReleaseSink, VerifiedBundle};
use crate::error::Error;
use crate::manifest::Manifest;
use crate::unpack::{open_verified, UnpackError};

/// What a step did: its result, where it wrote, and what it left in conflict.
#[derive(Debug)]
pub struct StepDone<T> {
    pub value: T,
    pub destination: Option<Destination>,
    /// Conflicts left as they were (recorded as `conflict`, a verification failure).
    pub conflicts: Vec<String>,
}

impl<T> StepDone<T> {
    /// A step that did everything it was asked.
    pub fn ok(value: T, destination: Option<Destination>) -> StepDone<T> {
        StepDone {
            value,
            destination,
            conflicts: Vec::new(),
        }
    }
}

/// Open and verify `bundle`, run `step` on it, and record the outcome once. A refused bundle
/// and a failed step are recorded and returned as errors; a record that cannot be written for
/// a failure is said in the error ([`Error::NotRecorded`]), after the failure itself.
pub fn audited<T>(
    log: &AuditLog,
    bundle: &Path,
    action: Action,
    opts: &CheckOptions,
    sink: Option<&dyn ReleaseSink>,
    step: impl FnOnce(&VerifiedBundle) -> Result<StepDone<T>, Error>,
) -> Result<(VerifiedBundle, StepDone<T>), Error> {
    log.ready()?;
    let verified = match open_verified(bundle, opts, sink) {
        Ok(b) => b,
        Err(e) => {
            let record = e.rejection().is_some().then(|| record_refused(bundle, &e, action));
            return Err(with_record(log, record, e.into()));
        }
    };
    match step(&verified) {
        Ok(done) => {
            let mut rec = record_ok(bundle, &verified, action, done.destination.clone());
            if !done.conflicts.is_empty() {
                rec.outcome = Outcome::Conflict;
                rec.problems = done.conflicts.clone();
            }
            log.append(rec)?;
            Ok((verified, done))
        }
        Err(e) => {
            let rec = record_failed(bundle, &verified, action, &e);
            Err(with_record(log, Some(rec), e))
        }
    }
}

/// Append `record` (if any) for a failure; the failure stays the error.
fn with_record(log: &AuditLog, record: Option<NewRecord>, error: Error) -> Error {
    match record.map(|r| log.append(r)) {
        Some(Err(audit)) => Error::NotRecorded {
            error: Box::new(error),
            audit,
        },
        _ => error,
    }
}

/// Each release of a manifest with its signatures' sha256, as the audit log records them.
fn record_releases(m: &Manifest) -> Vec<RecordRelease> {
    m.releases
        .iter()
        .map(|r| RecordRelease {
            digest: r.digest.to_string(),
            signatures: r.signatures.iter().map(|s| s.sha256.clone()).collect(),
        })
        .collect()
}

/// The audit record of a successful step.
fn record_ok(path: &Path, bundle: &VerifiedBundle, action: Action, destination: Option<Destination>) -> NewRecord {
    NewRecord {
        action,
        outcome: Outcome::Ok,
        bundle: path.display().to_string(),
        bundle_sha256: Some(bundle.sha256.clone()),
        packer: bundle.packer.verified_packer(),
        cosigners: match &bundle.packer {
            PackerStatus::Verified { cosigners, .. } => cosigners.iter().map(|c| c.fingerprint.clone()).collect(),
            _ => Vec::new(),
        },
        releases: record_releases(&bundle.manifest),
        destination,
        problems: Vec::new(),
    }
}

/// The audit record of a step that failed after the bundle verified (a conflict, an I/O or a
/// cluster error): what crossed, and why it did not land.
fn record_failed(path: &Path, bundle: &VerifiedBundle, action: Action, err: &Error) -> NewRecord {
    // A cluster that was asked before it failed is where the step went.
    let destination = match err {
        Error::Cluster(c) => c.destination().cloned(),
        _ => None,
    };
    NewRecord {
        outcome: Outcome::Failed,
        problems: vec![err.to_string()],
        ..record_ok(path, bundle, action, destination)
    }
}

/// The audit record of a refused bundle: its sha256 and its problems (the first ones, and how
/// many more). The releases it claims are recorded only when a trusted packer signed its
/// manifest; an unsigned or unchecked manifest is anyone's word.
fn record_refused(path: &Path, err: &UnpackError, action: Action) -> NewRecord {
    let (sha256, manifest, packer, mut problems, more) = match err {
        UnpackError::Bundle {
            source:
                BundleError::Rejected {
                    sha256,
                    manifest,
                    packer,
                    problems,
                    more_problems,
                },
            ..
        } => (
            sha256.clone(),
            manifest.as_deref(),
            packer.as_deref(),
            problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            *more_problems,
        ),
        other => (None, None, None, vec![other.to_string()], 0),
    };
    if more > 0 {
        problems.push(format!("… and {more} more problem(s)"));
    }
    let verified = matches!(packer, Some(PackerStatus::Verified { .. }));
    NewRecord {
        action,
        outcome: Outcome::Refused,
        bundle: path.display().to_string(),
        bundle_sha256: sha256,
        packer: packer.and_then(PackerStatus::verified_packer),
        cosigners: Vec::new(),
        releases: manifest.filter(|_| verified).map(record_releases).unwrap_or_default(),
        destination: None,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{write_bundle, Compression, Limits};
    use crate::digest::Digest;
    use crate::manifest::{signature_path, Member, Release, SignatureEntry, FORMAT_V1, TOOL_VERSION, UNSIGNED};
    use crate::verify::trust::ReleaseTrust;

    const HEX: &str = "0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";

    /// An unsigned bundle of one real Red Hat signature, written to `dir/b.tar`.
    fn bundle(dir: &Path) -> std::path::PathBuf {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/stores/redhat");
        let sig = std::fs::read(fixtures.join(format!("sha256={HEX}/signature-1"))).unwrap();
        let digest = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        let path = signature_path(&digest, 1);
        let sha = crate::digest::sha256_hex(&sig);
        let manifest = Manifest {
            format: FORMAT_V1.into(),
            tool: TOOL_VERSION.into(),
            created: "2023-11-14T22:13:20Z".into(),
            packer: UNSIGNED.into(),
            releases: vec![Release {
                digest,
                requested: vec![digest.to_string()],
                store: "test".into(),
                signatures: vec![SignatureEntry {
                    path: path.clone(),
                    size: sig.len() as u64,
                    sha256: sha.clone(),
                    verdict: "valid".into(),
                    signer: None,
                    signer_cert: None,
                    created: None,
                    identity: None,
                    creator: None,
                    satisfies: vec![],
                }],
                incomplete: vec![],
            }],
            missing: vec![],
            reduced_against: vec![],
            members: vec![Member {
                path: path.clone(),
                size: sig.len() as u64,
                sha256: sha,
            }],
        };
        let tar = write_bundle(
            Vec::new(),
            Compression::None,
            0,
            &manifest.to_bytes(),
            None,
            &[(path, sig)],
        )
        .unwrap();
        let out = dir.join("b.tar");
        std::fs::write(&out, tar).unwrap();
        out
    }

    fn opts() -> CheckOptions {
        CheckOptions {
            packer_keys: None,
            allow_unsigned: true,
            release_keys: ReleaseTrust::default_release(),
            strict: false,
            now: std::time::SystemTime::now(),
            limits: Limits::default(),
            keep_bodies: true,
            progress: None,
            require_signers: 1,
        }
    }

    fn outcomes(log: &AuditLog) -> Vec<(String, String)> {
        log.read_all()
            .unwrap()
            .into_iter()
            .map(|r| (r.action, r.outcome))
            .collect()
    }

    /// Every way a step ends leaves exactly one record, with the outcome it ended in.
    #[test]
    fn every_step_is_recorded_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.log"));
        let good = bundle(dir.path());
        let ok = audited(&log, &good, Action::Verify, &opts(), None, |_| {
            Ok(StepDone::ok(7, None))
        });
        assert_eq!(ok.unwrap().1.value, 7);
        let failed = audited(
            &log,
            &good,
            Action::Emit,
            &opts(),
            None,
            |_| -> Result<StepDone<()>, Error> { Err(Error::Usage("disk full".into())) },
        );
        assert!(matches!(failed, Err(Error::Usage(_))));
        let conflict = audited(&log, &good, Action::Apply, &opts(), None, |_| {
            Ok(StepDone {
                value: (),
                destination: None,
                conflicts: vec!["sha256-x: other bytes".into()],
            })
        });
        assert_eq!(conflict.unwrap().1.conflicts.len(), 1);
        let bad = dir.path().join("bad.tar");
        std::fs::write(&bad, b"not a bundle").unwrap();
        let mut ran = false;
        let refused = audited(&log, &bad, Action::Emit, &opts(), None, |_| {
            ran = true;
            Ok(StepDone::ok((), None))
        });
        assert!(refused.is_err() && !ran, "a refused bundle runs no step");
        assert_eq!(
            outcomes(&log),
            [
                ("verify", "ok"),
                ("emit", "failed"),
                ("apply", "conflict"),
                ("emit", "refused")
            ]
            .map(|(a, o)| (a.to_string(), o.to_string()))
        );
        let records = log.read_all().unwrap();
        assert_eq!(records[2].problems, ["sha256-x: other bytes"]);
        assert_eq!(records[0].releases.len(), 1);
    }

    /// A log that cannot take a record stops the step before the bundle is read; a record that
    /// cannot be written for a failure is said after the failure.
    #[test]
    fn no_step_without_a_log_that_can_record_it() {
        let dir = tempfile::tempdir().unwrap();
        let good = bundle(dir.path());
        let as_dir = AuditLog::new(dir.path().to_path_buf());
        let mut ran = false;
        let r = audited(&as_dir, &good, Action::Verify, &opts(), None, |_| {
            ran = true;
            Ok(StepDone::ok((), None))
        });
        assert!(matches!(r, Err(Error::Audit(_))) && !ran);
    }
}
