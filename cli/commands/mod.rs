//! One module per command, each `run(args, …) -> CommandResult`, and what the commands that act
//! on a bundle share (the trust and check options, the audited step's refusal as JSON).

pub mod apply;
pub mod audit;
pub mod check_path;
pub mod cosign;
pub mod docs;
pub mod emit;
pub mod inspect;
pub mod keys;
pub mod pack;
pub mod pack_key;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sigbundle::bundle::{CheckOptions, Limits, ReadProgress, VerifiedBundle};
use sigbundle::error::Error;
use sigbundle::keyring::Keyring;
use sigbundle::step::StepDone;
use sigbundle::verify::trust::ReleaseTrust;

use crate::args::unpack::CheckArgs;
use crate::errln;
use crate::printer::print_json;

/// The release trust from `--keyring` (default: Red Hat's), its warnings said on stderr.
pub fn release_trust(tool: &str, keyring: &[PathBuf]) -> Result<ReleaseTrust, Error> {
    let trust = ReleaseTrust::from_args(keyring)?;
    for w in &trust.warnings {
        errln!("{tool}: warning: {}", sigbundle::text::escape_name(w));
    }
    Ok(trust)
}

/// How to check a bundle, from the shared options; `keep_bodies` when the step needs the
/// signatures' bytes after verification.
pub fn check_options(a: &CheckArgs, bundle: &Path, keep_bodies: bool) -> Result<CheckOptions, Error> {
    if a.packer_key.is_empty() && !a.allow_unsigned {
        return Err(Error::Usage(
            "give the packer's public key with --packer-key FILE, or accept an unsigned bundle with --allow-unsigned"
                .into(),
        ));
    }
    let packer_keys = if a.packer_key.is_empty() {
        None
    } else {
        Some(Keyring::from_files(&a.packer_key)?)
    };
    let require_signers = usize::from(a.require_signers);
    if require_signers > 1 {
        let mut trusted = packer_keys.as_ref().map(Keyring::fingerprints).unwrap_or_default();
        trusted.sort();
        trusted.dedup();
        if trusted.len() < require_signers {
            return Err(Error::Usage(format!(
                "--require-signers {require_signers} needs at least {require_signers} distinct trusted packer keys (--packer-key), {} given",
                trusted.len()
            )));
        }
    }
    Ok(CheckOptions {
        packer_keys,
        allow_unsigned: a.allow_unsigned,
        release_keys: release_trust("unpack", &a.keyring)?,
        strict: a.strict,
        now: SystemTime::now(),
        limits: Limits::default(),
        keep_bodies,
        progress: reading_bar(bundle),
        require_signers,
    })
}

/// On a terminal, a bar of the bundle read so far: bytes, rate and time left (the signatures
/// are verified as they are read). Cleared when the whole file has been read.
fn reading_bar(bundle: &Path) -> Option<ReadProgress> {
    if !crate::printer::stderr_is_terminal() {
        return None;
    }
    let total = std::fs::metadata(bundle).ok()?.len();
    let style = indicatif::ProgressStyle::with_template(
        "verifying {bar:30} {bytes}/{total_bytes}  {binary_bytes_per_sec}  {elapsed} elapsed, {eta} left",
    )
    .expect("a valid template");
    let bar = indicatif::ProgressBar::new(total)
        .with_style(style)
        .with_finish(indicatif::ProgressFinish::AndClear);
    Some(ReadProgress(std::sync::Arc::new(move |read| {
        bar.set_position(read);
        if read >= total {
            bar.finish_and_clear();
        }
    })))
}

/// An audited step's result; with `--json`, a failure is also said as a JSON document.
pub fn json_on_failure<T>(
    result: Result<(VerifiedBundle, StepDone<T>), Error>,
    bundle: &Path,
    json: bool,
) -> Result<(VerifiedBundle, StepDone<T>), Error> {
    if let (Err(e), true) = (&result, json) {
        let (problems, more_problems) = e.rejection().unwrap_or((&[], 0));
        print_json(&crate::json::Refused::of(
            bundle,
            e.to_string(),
            problems,
            more_problems,
        ));
    }
    result
}
