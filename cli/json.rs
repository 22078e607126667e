//! The `--json` documents, as types: what each command prints on stdout for scripts. Their
//! fields are documented in the README's JSON section; the printer escapes characters that
//! could act on a terminal as `\u` escapes.

use std::path::Path;

use serde::Serialize;

use sigbundle::bundle::{PackerStatus, Problem, VerifiedBundle};
use sigbundle::manifest::{Manifest, Missing};
use sigbundle::packing::{PackSummary, ReleaseOutcome};
use sigbundle::unpack::EmittedFile;

/// `unpack verify --json` of a bundle that verified.
#[derive(Serialize)]
pub struct Verified<'a> {
    pub ok: bool,
    pub bundle: &'a Path,
    pub created: &'a str,
    pub tool: &'a str,
    pub verified: &'a VerifiedBundle,
    pub missing: &'a [Missing],
}

impl<'a> Verified<'a> {
    pub fn of(bundle: &'a Path, b: &'a VerifiedBundle) -> Verified<'a> {
        Verified {
            ok: true,
            bundle,
            created: &b.manifest.created,
            tool: &b.manifest.tool,
            verified: b,
            missing: &b.manifest.missing,
        }
    }
}

/// What `--json` prints when a bundle is refused (or cannot be read): the error and, for a
/// refusal, its first problems and how many more there were.
#[derive(Serialize)]
pub struct Refused<'a> {
    pub ok: bool,
    pub bundle: &'a Path,
    pub error: String,
    pub problems: &'a [Problem],
    pub more_problems: u64,
}

/// `unpack inspect --json` with keys: what verified.
#[derive(Serialize)]
pub struct InspectVerified<'a> {
    pub verified: bool,
    pub manifest: &'a Manifest,
    pub packer: &'a PackerStatus,
    pub sha256: &'a str,
}

/// `unpack inspect --json` without keys: the manifest's claims.
#[derive(Serialize)]
pub struct InspectClaims<'a> {
    pub verified: bool,
    pub manifest: &'a Manifest,
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
    #[serde(flatten)]
    pub summary: &'a PackSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<&'a [ReleaseOutcome]>,
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
