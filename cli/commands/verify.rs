//! `unpack verify`: the full verification, its report (or JSON), one audit record.

use std::path::Path;

use sigbundle::audit::{Action, AuditLog};
use sigbundle::bundle::{PackerStatus, VerifiedBundle};
use sigbundle::error::Error;
use sigbundle::step::{audited, StepDone};
use sigbundle::text::escape_name;

use super::{check_options, json_on_failure};
use crate::args::unpack::VerifyArgs;
use crate::errln;
use crate::exit::{CommandResult, Outcome};
use crate::printer::{print_json, write_text};

pub fn run(a: VerifyArgs, log: &AuditLog) -> CommandResult {
    let opts = check_options(&a.check, &a.bundle, false)?;
    let result = audited(log, &a.bundle, Action::Verify, &opts, None, |_| {
        Ok(StepDone::ok((), None))
    });
    let (b, _) = json_on_failure(result, &a.bundle, a.json)?;
    if a.json {
        print_json(&crate::json::Verified::of(&a.bundle, &b));
    } else {
        report(&a.bundle, &b)?;
    }
    Ok(Outcome::Success)
}

/// The report of a verified bundle: the table on stdout, the packer's warnings and the tally on
/// stderr.
pub fn report(path: &Path, b: &VerifiedBundle) -> Result<(), Error> {
    write_text(&crate::render::verified(path, b));
    if let Some(e) = crate::printer::stdout_failure() {
        return Err(e);
    }
    if let PackerStatus::Verified { warnings, .. } = &b.packer {
        for w in warnings {
            errln!("unpack: warning: {}", escape_name(w));
        }
    }
    let sigs: usize = b.releases.iter().map(|r| r.signatures.len()).sum();
    let sigstore = if b.manifest.format == sigbundle::manifest::FORMAT_V2 {
        let missing = b.manifest.sigstore_missing.len();
        format!(
            "; {} sigstore .sig artifact(s) verified again{}",
            b.sigstore.len(),
            if missing > 0 {
                format!(", {missing} image(s) without one (listed above)")
            } else {
                String::new()
            }
        )
    } else {
        String::new()
    };
    let missing = &b.manifest.missing;
    if missing.is_empty() {
        errln!(
            "OK: {} release(s), {sigs} signature(s) verified{sigstore}",
            b.releases.len()
        );
    } else {
        let first: Vec<String> = missing.iter().take(3).map(|m| m.digest.to_string()).collect();
        let more = missing.len().saturating_sub(first.len());
        errln!(
            "OK: {} release(s), {sigs} signature(s) verified{sigstore}; {} release(s) were packed without a valid signature (--allow-missing) and are not in it: {}{}",
            b.releases.len(),
            missing.len(),
            first.join(", "),
            if more > 0 { format!(" and {more} more (listed above)") } else { String::new() }
        );
    }
    Ok(())
}
