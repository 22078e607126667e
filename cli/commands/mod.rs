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
pub mod push;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sigbundle::bundle::{CheckOptions, Limits, ReadProgress, VerifiedBundle};
use sigbundle::error::Error;
use sigbundle::keyring::Keyring;
use sigbundle::sigstore::{ClusterImagePolicy, PolicyError, PublicKey, Trust};
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

/// The sigstore policy nodes apply: the `openshift` ClusterImagePolicy compiled in (Red Hat's
/// release key), or the one read from `policy_file`; `keys` (PEM files), when given, replace its
/// keys and keep its scopes and identity rule.
pub fn sigstore_policy(keys: &[PathBuf], policy_file: Option<&Path>) -> Result<ClusterImagePolicy, Error> {
    let trust_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::SigstoreTrust { path, source }
    };
    let mut policy = match policy_file {
        None => ClusterImagePolicy::openshift(),
        Some(p) => {
            let text = read_small(p, 4 << 20)?;
            let text = String::from_utf8(text).map_err(|_| Error::SigstoreTrust {
                path: p.to_path_buf(),
                source: PolicyError::Yaml("not UTF-8".into()),
            })?;
            ClusterImagePolicy::from_yaml(&text).map_err(trust_err(p))?
        }
    };
    if !keys.is_empty() {
        let mut parsed = Vec::with_capacity(keys.len());
        for k in keys {
            let pem = read_small(k, 1 << 20)?;
            parsed.push(PublicKey::from_pem(&pem).map_err(|e| Error::SigstoreTrust {
                path: k.clone(),
                source: PolicyError::Key(e),
            })?);
        }
        let identity = policy.trust.identity().clone();
        policy.trust = Trust::new(parsed, identity).map_err(trust_err(&keys[0]))?;
    }
    Ok(policy)
}

/// A small file's bytes (at most `limit`), or the I/O error naming it.
fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let err = |e: std::io::Error| {
        Error::Usage(format!(
            "cannot read {}: {e}",
            sigbundle::text::escape_name(&path.display().to_string())
        ))
    };
    let f = std::fs::File::open(path).map_err(err)?;
    let mut out = Vec::new();
    f.take(limit + 1).read_to_end(&mut out).map_err(err)?;
    if out.len() as u64 > limit {
        return Err(Error::Usage(format!(
            "{}: larger than {limit} bytes",
            sigbundle::text::escape_name(&path.display().to_string())
        )));
    }
    Ok(out)
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
        sigstore_trust: sigstore_policy(&a.sigstore_key, None)?.trust,
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
