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
        releases: record_releases(&bundle.manifest),
        destination,
        problems: Vec::new(),
    }
}

/// The audit record of a step that failed after the bundle verified (a conflict, an I/O or a
/// cluster error): what crossed, and why it did not land.
fn record_failed(path: &Path, bundle: &VerifiedBundle, action: Action, err: &dyn std::fmt::Display) -> NewRecord {
    NewRecord {
        outcome: Outcome::Failed,
        problems: vec![err.to_string()],
        ..record_ok(path, bundle, action, None)
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
        releases: manifest.filter(|_| verified).map(record_releases).unwrap_or_default(),
        destination: None,
        problems,
    }
}
