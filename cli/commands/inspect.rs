//! `unpack inspect`: what a bundle claims to hold (marked not verified), or with keys a verify
//! that says so.

use sigbundle::audit::{Action, AuditLog};
use sigbundle::step::{audited, StepDone};
use sigbundle::unpack;

use super::{check_options, json_on_failure};
use crate::args::unpack::{CheckArgs, InspectArgs};
use crate::exit::{CommandResult, Outcome};
use crate::json::{Claims, Verified};
use crate::printer::{print_json, write_text};

pub fn run(a: InspectArgs, log: &AuditLog) -> CommandResult {
    if !a.packer_key.is_empty() {
        let check = CheckArgs {
            packer_key: a.packer_key,
            keyring: a.keyring,
            allow_unsigned: false,
            strict: false,
            require_signers: 1,
        };
        let opts = check_options(&check, &a.bundle, false)?;
        let result = audited(log, &a.bundle, Action::Verify, &opts, None, |_| {
            Ok(StepDone::ok((), None))
        });
        let (b, _) = json_on_failure(result, &a.bundle, a.json)?;
        if a.json {
            print_json(&Verified::of(&a.bundle, &b));
        } else {
            super::verify::report(&a.bundle, &b)?;
        }
        return Ok(Outcome::Success);
    }
    let c = unpack::read_claims(&a.bundle)?;
    let m = &c.manifest;
    if a.json {
        print_json(&Claims::of(&a.bundle, m, &c.signers));
    } else {
        write_text(&crate::render::claims(&a.bundle, m, &c.signers));
    }
    Ok(Outcome::Success)
}
