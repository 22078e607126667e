//! The `--json` documents, as types: what each command prints on stdout for scripts. Every
//! document is described in `docs/json.md`; a release and its signatures have one shape
//! wherever they appear ([`ReleaseView`]), times are RFC 3339, a verdict is a fixed code with
//! the words beside it in `reason`. The printer escapes characters that could act on a
//! terminal as `\u` escapes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use sigbundle::audit::{Destination, Record};
use sigbundle::bundle::{Compression, PackerStatus, Problem, VerifiedBundle};
use sigbundle::digest::Digest;
use sigbundle::manifest::{Manifest, Member, Missing, SignatureEntry};
use sigbundle::packing::{FetchedSignature, PackSummary, ReleaseOutcome};
use sigbundle::unpack::EmittedFile;
use sigbundle::verify::{rfc3339, SignatureReport};

/// One release and its signatures: the same shape in `verify`, `inspect` and `pack --dry-run`.
#[derive(Serialize)]
pub struct ReleaseView<'a> {
    pub digest: &'a Digest,
    /// What was asked for on the command line (digests, pullspecs, versions, channels).
    pub requested: &'a [String],
    /// The store the packed signatures came from (`null` in `verify`, which does not know it,
    /// and for a release no store had).
    pub store: Option<&'a str>,
    pub signatures: Vec<SignatureView<'a>>,
    /// Requests for more signatures that failed after the release was complete.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub incomplete: &'a [String],
    /// Store errors met on the way (`pack` only).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub errors: &'a [String],
    /// Trust entries no valid signature satisfies (`pack` only; the release is missing).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub unsatisfied: &'a [String],
}

/// One signature and its verdict.
#[derive(Serialize)]
pub struct SignatureView<'a> {
    /// Its member path in the bundle (absent in a pack plan, where nothing is written yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// The store and the `signature-N` it was fetched as (`pack` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched: Option<Fetched<'a>>,
    pub size: u64,
    pub sha256: String,
    /// `valid`, `untrusted-signer`, `bad-signature`, `expired-signature`, `revoked-key`,
    /// `bad-payload`, `digest-mismatch` or `strict-refused`.
    pub verdict: &'a str,
    /// The verdict in words; `null` for `valid`.
    pub reason: Option<String>,
    pub signer: Option<&'a str>,
    pub signer_cert: Option<&'a str>,
    /// When it was signed (RFC 3339).
    pub created: Option<String>,
    pub identity: Option<&'a str>,
    pub creator: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub satisfies: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub warnings: &'a [String],
}

/// Where `pack` fetched a signature from.
#[derive(Serialize)]
pub struct Fetched<'a> {
    pub store: &'a str,
    pub index: usize,
}

impl<'a> SignatureView<'a> {
    fn of_report(r: &'a SignatureReport, path: Option<&'a str>, size: u64, sha256: String) -> Self {
        SignatureView {
            path,
            fetched: None,
            size,
            sha256,
            verdict: r.verdict.name(),
            reason: r.verdict.reason(),
            signer: r.signer.as_deref(),
            signer_cert: r.signer_cert.as_deref(),
            created: r.created.map(rfc3339),
            identity: r.identity.as_deref(),
            creator: r.creator.as_deref(),
            satisfies: &r.satisfies,
            warnings: &r.warnings,
        }
    }

    fn of_judged(j: &'a FetchedSignature) -> Self {
        SignatureView {
            fetched: Some(Fetched {
                store: &j.store,
                index: j.index,
            }),
            ..SignatureView::of_report(&j.report, None, j.size, j.sha256.clone())
        }
    }

    /// A signature as the manifest records it (its verdict at pack time).
    fn of_entry(s: &'a SignatureEntry) -> Self {
        SignatureView {
            path: Some(&s.path),
            fetched: None,
            size: s.size,
            sha256: s.sha256.clone(),
            verdict: &s.verdict,
            reason: None,
            signer: s.signer.as_deref(),
            signer_cert: s.signer_cert.as_deref(),
            created: s.created.map(rfc3339),
            identity: s.identity.as_deref(),
            creator: s.creator.as_deref(),
            satisfies: &s.satisfies,
            warnings: &[],
        }
    }
}

/// The releases of a verified bundle, as verified now.
fn verified_releases(b: &VerifiedBundle) -> Vec<ReleaseView<'_>> {
    let sizes: HashMap<&str, u64> = b.manifest.members.iter().map(|m| (m.path.as_str(), m.size)).collect();
    let from_manifest: HashMap<&Digest, &sigbundle::manifest::Release> =
        b.manifest.releases.iter().map(|r| (&r.digest, r)).collect();
    b.releases
        .iter()
        .map(|r| {
            let packed = from_manifest.get(&r.digest);
            ReleaseView {
                digest: &r.digest,
                requested: &r.requested,
                store: packed.map(|p| p.store.as_str()),
                signatures: r
                    .signatures
                    .iter()
                    .map(|s| {
                        let size = sizes.get(s.path.as_str()).copied().unwrap_or(0);
                        SignatureView::of_report(&s.report, Some(&s.path), size, s.sha256.clone())
                    })
                    .collect(),
                incomplete: packed.map_or(&[][..], |p| &p.incomplete),
                errors: &[],
                unsatisfied: &[],
            }
        })
        .collect()
}

/// The releases a manifest claims.
fn claimed_releases(m: &Manifest) -> Vec<ReleaseView<'_>> {
    m.releases
        .iter()
        .map(|r| ReleaseView {
            digest: &r.digest,
            requested: &r.requested,
            store: Some(&r.store),
            signatures: r.signatures.iter().map(SignatureView::of_entry).collect(),
            incomplete: &r.incomplete,
            errors: &[],
            unsatisfied: &[],
        })
        .collect()
}

/// The releases `pack` judged, every signature seen (valid or not).
fn planned_releases(outcomes: &[ReleaseOutcome]) -> Vec<ReleaseView<'_>> {
    outcomes
        .iter()
        .map(|o| ReleaseView {
            digest: &o.digest,
            requested: &o.requested,
            store: o.store.as_deref(),
            signatures: o.signatures.iter().map(SignatureView::of_judged).collect(),
            incomplete: &o.incomplete,
            errors: &o.errors,
            unsatisfied: &o.unsatisfied,
        })
        .collect()
}

/// How the packer's signature was judged.
#[derive(Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum PackerView<'a> {
    /// Signed by a trusted packer key (its certificate's primary fingerprint).
    Verified {
        fingerprint: &'a str,
        /// When the manifest was signed (RFC 3339).
        signed_at: Option<String>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        warnings: &'a [String],
        /// Other trusted packers who signed too (`pack cosign`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        cosigners: Vec<CosignerView<'a>>,
    },
    /// Signed, not checked (no packer key given); `claimed` is what the manifest says.
    NotChecked { claimed: &'a str },
    /// Not signed.
    Unsigned,
}

/// A cosigner: its certificate and when it signed (RFC 3339).
#[derive(Serialize)]
pub struct CosignerView<'a> {
    pub fingerprint: &'a str,
    pub signed_at: String,
}

impl<'a> PackerView<'a> {
    fn of(p: &'a PackerStatus) -> Self {
        match p {
            PackerStatus::Verified {
                fingerprint,
                signed_at,
                warnings,
                cosigners,
            } => PackerView::Verified {
                fingerprint,
                signed_at: signed_at.map(rfc3339),
                warnings,
                cosigners: cosigners
                    .iter()
                    .map(|c| CosignerView {
                        fingerprint: &c.fingerprint,
                        signed_at: rfc3339(c.signed_at),
                    })
                    .collect(),
            },
            PackerStatus::NotChecked { claimed } => PackerView::NotChecked { claimed },
            PackerStatus::Unsigned => PackerView::Unsigned,
        }
    }

    /// What an unverified manifest claims about its packer.
    fn claimed(m: &'a Manifest) -> Self {
        if m.packer == sigbundle::manifest::UNSIGNED {
            PackerView::Unsigned
        } else {
            PackerView::NotChecked { claimed: &m.packer }
        }
    }
}

/// `unpack verify --json` (and `unpack inspect --packer-key … --json`) of a bundle that verified.
#[derive(Serialize)]
pub struct Verified<'a> {
    pub ok: bool,
    /// True: every check passed (the same document as `inspect --json`, where it can be false).
    pub verified: bool,
    pub bundle: &'a Path,
    pub sha256: &'a str,
    pub size: u64,
    pub compression: &'a Compression,
    pub format: &'a str,
    pub tool: &'a str,
    /// When the bundle was packed (RFC 3339, as the manifest records it).
    pub created: &'a str,
    pub packer: PackerView<'a>,
    pub releases: Vec<ReleaseView<'a>>,
    pub missing: &'a [Missing],
    /// The bundles this one was reduced against (`pack --exclude-carried`), by sha256.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub reduced_against: &'a [String],
}

impl<'a> Verified<'a> {
    pub fn of(bundle: &'a Path, b: &'a VerifiedBundle) -> Verified<'a> {
        Verified {
            ok: true,
            verified: true,
            bundle,
            sha256: &b.sha256,
            size: b.size,
            compression: &b.compression,
            format: &b.manifest.format,
            tool: &b.manifest.tool,
            created: &b.manifest.created,
            packer: PackerView::of(&b.packer),
            releases: verified_releases(b),
            missing: &b.manifest.missing,
            reduced_against: &b.manifest.reduced_against,
        }
    }
}

/// `unpack inspect --json` without keys: what the manifest claims, nothing checked.
#[derive(Serialize)]
pub struct Claims<'a> {
    pub ok: bool,
    /// False: nothing here was checked.
    pub verified: bool,
    pub bundle: &'a Path,
    pub format: &'a str,
    pub tool: &'a str,
    pub created: &'a str,
    pub packer: PackerView<'a>,
    /// The keys the packer signature's packets name (often signing subkeys), unverified.
    pub signed_by: &'a [String],
    pub releases: Vec<ReleaseView<'a>>,
    pub missing: &'a [Missing],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub reduced_against: &'a [String],
    pub members: &'a [Member],
}

impl<'a> Claims<'a> {
    pub fn of(bundle: &'a Path, m: &'a Manifest, signed_by: &'a [String]) -> Claims<'a> {
        Claims {
            ok: true,
            verified: false,
            bundle,
            format: &m.format,
            tool: &m.tool,
            created: &m.created,
            packer: PackerView::claimed(m),
            signed_by,
            releases: claimed_releases(m),
            missing: &m.missing,
            reduced_against: &m.reduced_against,
            members: &m.members,
        }
    }
}

/// A problem with a bundle: its code and facts, and the same in words.
#[derive(Serialize)]
pub struct ProblemView<'a> {
    #[serde(flatten)]
    pub problem: &'a Problem,
    pub reason: String,
}

/// What `--json` prints when a bundle is refused (or cannot be read): the error and, for a
/// refusal, its first problems and how many more there were.
#[derive(Serialize)]
pub struct Refused<'a> {
    pub ok: bool,
    pub bundle: &'a Path,
    pub error: String,
    pub problems: Vec<ProblemView<'a>>,
    pub more_problems: u64,
}

impl<'a> Refused<'a> {
    pub fn of(bundle: &'a Path, error: String, problems: &'a [Problem], more: u64) -> Self {
        Refused {
            ok: false,
            bundle,
            error,
            problems: problems
                .iter()
                .map(|p| ProblemView {
                    problem: p,
                    reason: p.to_string(),
                })
                .collect(),
            more_problems: more,
        }
    }
}

/// `unpack emit --json`: the files written (and, for a store folder, the ClusterVersion patch).
#[derive(Serialize)]
pub struct Emitted<'a> {
    pub ok: bool,
    pub bundle_sha256: &'a str,
    pub files: &'a [EmittedFile],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<&'a str>,
}

/// `pack --json`: the summary, and with `--dry-run` the plan (every release and signature seen).
#[derive(Serialize)]
pub struct Packed<'a> {
    pub ok: bool,
    #[serde(flatten)]
    pub summary: &'a PackSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<ReleaseView<'a>>>,
}

impl<'a> Packed<'a> {
    pub fn of(summary: &'a PackSummary, dry_run: bool) -> Self {
        Packed {
            ok: !summary.would_fail,
            summary,
            plan: dry_run.then(|| planned_releases(&summary.outcomes)),
        }
    }
}

/// `unpack apply --json`: where it applied (or planned) and what it did to each ConfigMap;
/// `ok` is false when a release was left in conflict.
#[derive(Serialize)]
pub struct Applied<'a> {
    pub ok: bool,
    #[serde(flatten)]
    pub report: &'a sigbundle::cluster::ApplyReport,
}

/// `unpack check-path --json`: the start and each hop with the valid signatures the bundle holds
/// of the release it updates to; `ok` is false when a hop has none.
#[derive(Serialize)]
pub struct PathChecked<'a> {
    pub ok: bool,
    pub bundle: &'a Path,
    pub from: &'a sigbundle::update_path::Hop,
    pub hops: &'a [sigbundle::update_path::HopCheck],
}

/// `pack keys --json` and `unpack keys --json`.
#[derive(Serialize)]
pub struct Keys<'a> {
    pub entries: &'a [sigbundle::verify::trust::TrustedEntry],
}

/// `pack --json` when releases have no valid signature: the error, and every release it is
/// about with its reason.
#[derive(Serialize)]
pub struct PackFailed<'a> {
    pub ok: bool,
    pub error: String,
    pub missing: &'a [sigbundle::packing::MissingRelease],
}

/// `unpack audit --by-release --json`: each release that crossed, with every record about it.
#[derive(Serialize)]
pub struct AuditRelease<'a> {
    pub digest: &'a str,
    pub records: Vec<AuditReleaseRecord<'a>>,
}

/// One record as seen from one of its releases.
#[derive(Serialize)]
pub struct AuditReleaseRecord<'a> {
    pub seq: u64,
    pub time: &'a str,
    pub action: &'a str,
    pub outcome: &'a str,
    pub bundle: &'a str,
    pub bundle_sha256: Option<&'a str>,
    pub packer: Option<&'a str>,
    pub destination: Option<&'a Destination>,
    /// The sha256 of each of the release's signatures the record carried.
    pub signatures: &'a [String],
}

/// The records grouped by release: releases in the order they first appear, each release's
/// records in log order.
pub fn audit_by_release(records: &[Record]) -> Vec<AuditRelease<'_>> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<AuditReleaseRecord<'_>>> = BTreeMap::new();
    for r in records {
        for rel in &r.releases {
            let group = groups.entry(&rel.digest).or_insert_with(|| {
                order.push(&rel.digest);
                Vec::new()
            });
            group.push(AuditReleaseRecord {
                seq: r.seq,
                time: &r.time,
                action: &r.action,
                outcome: &r.outcome,
                bundle: &r.bundle,
                bundle_sha256: r.bundle_sha256.as_deref(),
                packer: r.packer.as_deref(),
                destination: r.destination.as_ref(),
                signatures: &rel.signatures,
            });
        }
    }
    order
        .into_iter()
        .map(|d| AuditRelease {
            digest: d,
            records: groups.remove(d).unwrap_or_default(),
        })
        .collect()
}
